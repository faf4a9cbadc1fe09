//! Task date-shift: one keyed offset per patient on a real calendar.

use std::collections::BTreeSet;

use radlab_deid::keyed::days_between;
use radlab_grade::Outcome;

use super::probe::{here_and_there, probe_date};
use crate::tasks::{Key, Tasks};

/// The same date offset for a patient in a second run of the program.
pub(super) fn date_fresh_process(t: &'static Tasks) -> Outcome {
    let (here, there) = here_and_there(t, probe_date, "date")?;
    if here != there {
        return Err(format!(
            "PAT-0042's 20240110 became {here} in this run and {there} in a second run: a patient's offset must come from the key and the patient alone, so that next month's studies keep their intervals to this month's."
        ));
    }
    Ok("a second run of the program shifts the patient's date the same way".into())
}

/// One patient's dates around century years: 1900 and 2100 are not leap
/// years, 2000 is. A calendar that counts every fourth year as leap moves
/// some dates by a different number of days than others.
pub(super) fn date_century(t: &'static Tasks) -> Outcome {
    let key = Key::sample();
    let dates = [
        "19500615", "19000301", "19000228", "20000301", "20000229", "21000301", "21000228",
        "19010101",
    ];
    let mut offsets = Vec::new();
    for d in dates {
        let got = (t.shift_date)(&key, "PAT-1900", "1.2.3.4", d);
        if radlab_deid::keyed::shift_date(&got, 0).is_none() {
            return Err(format!(
                "{d} became {got:?}, not a calendar date (1900 and 2100 have no 29 February; 2000 has one)."
            ));
        }
        offsets.push((d, days_between(d, &got)));
    }
    let first = offsets[0].1;
    if let Some((d, n)) = offsets.iter().find(|(_, n)| *n != first) {
        return Err(format!(
            "one patient's dates moved by different numbers of days: {} by {first:?}, {d} by {n:?}. Century years are leap years only when divisible by 400 (1900 and 2100 are not, 2000 is).",
            offsets[0].0
        ));
    }
    Ok(format!(
        "dates around 1900, 2000 and 2100 all moved by {first:?} days"
    ))
}

pub(super) fn date_valid(t: &'static Tasks) -> Outcome {
    let key = Key::sample();
    for d in ["20240131", "20240301", "20231231", "20000229", "19700101"] {
        let got = (t.shift_date)(&key, "PAT-0042", "1.2.3", d);
        if radlab_deid::keyed::shift_date(&got, 0).is_none() {
            return Err(format!(
                "{d} became {got:?}, not a calendar date: move dates on the calendar (month lengths, leap years), not by subtracting from the digits."
            ));
        }
        match days_between(d, &got) {
            Some(n) if (-3652..=-1).contains(&n) => {}
            n => {
                return Err(format!(
                    "{d} became {got}: a shift of {n:?} days; expected 1 to 3652 days back"
                ));
            }
        }
    }
    Ok("shifted dates are valid calendar dates, 1 to 3652 days back".into())
}

/// 40 000 patients: no offset is 0 (an unshifted date is the real one) and
/// none is beyond ten years. At this count an offset of 0 that one patient
/// in 3652 would get (a range 0..3651 instead of 1..3652) shows up.
pub(super) fn date_never_zero(t: &'static Tasks) -> Outcome {
    let key = Key::sample();
    for k in 0..40_000u32 {
        let patient = format!("PAT-{k:05}");
        let got = (t.shift_date)(&key, &patient, "1.2.3", "20240110");
        match days_between("20240110", &got) {
            Some(n) if (-3652..=-1).contains(&n) => {}
            n => {
                return Err(format!(
                    "{patient}'s 20240110 became {got:?}, a shift of {n:?} days; every patient must move 1 to 3652 days back. An offset of 0 leaves the real date (derive the offset as 1 + h mod 3652, not h mod 3652)."
                ));
            }
        }
    }
    Ok("40 000 patients, every offset 1 to 3652 days".into())
}

/// Values that are not calendar dates cannot be shifted and must not be
/// kept: the exercise's contract says they become 19000101.
pub(super) fn date_not_a_date(t: &'static Tasks) -> Outcome {
    let key = Key::sample();
    for bad in [
        "2024011",
        "202401100",
        "20241310",
        "20240010",
        "20240132",
        "20230229",
        "19000229",
        "20240431",
        "2024-01-10",
        "UNKNOWN",
    ] {
        let got = (t.shift_date)(&key, "PAT-0042", "1.2.3", bad);
        if got != "19000101" {
            return Err(format!(
                "{bad:?} is not a calendar date (YYYYMMDD, month 1 to 12, a day the month has); expected the dummy 19000101, got {got:?}. Shifting the digits anyway, or keeping the value, lets a malformed date through."
            ));
        }
    }
    // ... while a real leap day is a date like any other.
    let (a, b) = (
        (t.shift_date)(&key, "PAT-0042", "1.2.3", "20240228"),
        (t.shift_date)(&key, "PAT-0042", "1.2.3", "20240229"),
    );
    if days_between(&a, &b) != Some(1) {
        return Err(format!(
            "20240228 and 20240229 (2024 is a leap year) became {a:?} and {b:?}: a real leap day is shifted like every other date, one day after the 28th."
        ));
    }
    Ok("values that are not dates become 19000101; 29 February 2024 is shifted".into())
}

pub(super) fn date_per_patient(t: &'static Tasks) -> Outcome {
    let key = Key::sample();
    let a = (t.shift_date)(&key, "PAT-0042", "1.2.3.100", "20240110");
    let b = (t.shift_date)(&key, "PAT-0042", "1.2.3.200", "20240110");
    if a != b {
        return Err(format!(
            "one patient's date 20240110 in two files became {a} and {b}: the offset must be one per patient, not per file (key it on the Patient ID)."
        ));
    }
    Ok("two files of one patient shift the same date the same way".into())
}

pub(super) fn date_intervals(t: &'static Tasks) -> Outcome {
    let key = Key::sample();
    let pairs = [
        ("20230105", "20230405"),
        ("20191231", "20200301"),
        ("20240228", "20240301"),
    ];
    for (x, y) in pairs {
        let (sx, sy) = (
            (t.shift_date)(&key, "PAT-7", "1.2.3.1", x),
            (t.shift_date)(&key, "PAT-7", "1.2.3.1", y),
        );
        let (before, after) = (days_between(x, y), days_between(&sx, &sy));
        if before != after {
            return Err(format!(
                "{x} -> {y} is {before:?} days; after shifting, {sx} -> {sy} is {after:?} days: modified dates must keep intervals."
            ));
        }
    }
    Ok("intervals between a patient's dates are kept".into())
}

pub(super) fn date_patients_differ(t: &'static Tasks) -> Outcome {
    let key = Key::sample();
    let offsets: BTreeSet<Option<i64>> = (0..30)
        .map(|k| {
            days_between(
                "20240110",
                &(t.shift_date)(&key, &format!("PAT-{k:04}"), "1.2.3", "20240110"),
            )
        })
        .collect();
    if offsets.len() < 20 {
        return Err(format!(
            "30 patients got only {} distinct offsets: derive the offset from the patient with the key, so that one known date does not reveal everyone's.",
            offsets.len()
        ));
    }
    Ok(format!("30 patients, {} distinct offsets", offsets.len()))
}
