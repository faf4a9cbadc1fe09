//! Task uid-remap: valid, stable, keyed UIDs whose references follow.

use std::collections::BTreeSet;

use dicom_dictionary_std::tags;
use radlab_dicom::attrs;
use radlab_grade::Outcome;

use super::finish::{pipeline_leaks, planted_study};
use super::probe::{PROBE_UIDS, here_and_there, probe_uids};
use crate::tasks::{Key, Tasks};

pub(super) fn valid_uid(u: &str) -> Result<(), String> {
    if u.is_empty() || u.len() > 64 {
        return Err(format!(
            "{u:?} has {} characters; a UID has 1 to 64 (PS3.5 9.1)",
            u.len()
        ));
    }
    for c in u.split('.') {
        if c.is_empty()
            || !c.bytes().all(|b| b.is_ascii_digit())
            || (c.len() > 1 && c.starts_with('0'))
        {
            return Err(format!(
                "{u:?}: component {c:?} is not a number without leading zeros (PS3.5 9.1)"
            ));
        }
    }
    Ok(())
}

pub(super) fn uid_syntax(t: &'static Tasks) -> Outcome {
    let key = Key::sample();
    for u in [
        "1.2.840.113619.2.55.3.604688119.969.1268071029.320",
        "1.2.3",
        "2.25.0",
    ] {
        let got = (t.remap_uid)(&key, u);
        valid_uid(&got)?;
        if got == u {
            return Err(format!("{u} was returned unchanged"));
        }
    }
    Ok("replacement UIDs are valid (digits, dots, no leading zeros, <= 64)".into())
}

pub(super) fn uid_stable(t: &'static Tasks) -> Outcome {
    let key = Key::sample();
    let u = "1.2.826.0.1.3680043.8.498.12345";
    let first = (t.remap_uid)(&key, u);
    for call in 2..=4 {
        let again = (t.remap_uid)(&key, u);
        if again != first {
            return Err(format!(
                "{u} became {first} on the first call and {again} on call {call}: the same UID must map to the same new UID in every file and every run, or references between files break."
            ));
        }
    }
    Ok("the same UID maps to the same new UID on every call".into())
}

pub(super) fn uid_keyed(t: &'static Tasks) -> Outcome {
    let a = Key::sample();
    let b = Key::new(b"a different key, also secret").expect("long enough");
    let u = "1.2.826.0.1.3680043.8.498.12345";
    if (t.remap_uid)(&a, u) == (t.remap_uid)(&b, u) {
        return Err(format!(
            "{u} maps to the same UID under two keys: the mapping must depend on the secret key, or anyone can recompute it from a guessed original."
        ));
    }
    let mut seen = BTreeSet::new();
    for k in 0..500 {
        let u = format!("1.2.3.4.{k}");
        let got = (t.remap_uid)(&a, &u);
        if got.contains(&u) {
            return Err(format!("{got} still contains the original {u}"));
        }
        if !seen.insert(got.clone()) {
            return Err(format!(
                "two of 500 distinct UIDs map to {got}: collisions merge unrelated objects"
            ));
        }
    }
    Ok("keyed: another key, another mapping; 500 UIDs, 500 distinct replacements".into())
}

/// 200 000 distinct UIDs, 200 000 distinct valid replacements: a hash cut
/// to 32 bits collides a few times at this count (the birthday bound), and
/// a collision merges two unrelated objects.
pub(super) fn uid_many(t: &'static Tasks) -> Outcome {
    let key = Key::sample();
    let mut seen = std::collections::HashMap::with_capacity(200_000);
    for k in 0..200_000u32 {
        let u = format!("1.2.826.0.1.3680043.8.498.{}.{}", k / 1000, k % 1000);
        let got = (t.remap_uid)(&key, &u);
        if k % 997 == 0 {
            valid_uid(&got)?;
        }
        if let Some(other) = seen.insert(got.clone(), u.clone()) {
            return Err(format!(
                "{other} and {u} both became {got} (after {k} UIDs): keep enough of the keyed hash (2.25 with 128 bits, as the reference) that 200 000 UIDs never collide."
            ));
        }
    }
    Ok("200 000 UIDs, no collision".into())
}

/// The same UIDs under the same key in a second run of the program: a
/// random salt drawn once per process, or a map of random replacements kept
/// in memory, agrees with itself but not with yesterday's run.
pub(super) fn uid_fresh_process(t: &'static Tasks) -> Outcome {
    let (here, there) = here_and_there(t, probe_uids, "uids")?;
    if here != there {
        return Err(format!(
            "{} under the same key became {here} in this run and {there} in a second run of the program: the mapping must be a function of the key and the UID alone (no per-process salt, no random values remembered in memory), or the next batch's references point nowhere.",
            PROBE_UIDS.join(" and ")
        ));
    }
    Ok("a second run of the program maps the UIDs the same way".into())
}

pub(super) fn e2e_planted(t: &'static Tasks) -> Outcome {
    let objs = planted_study();
    let outs = pipeline_leaks(t, &objs)?;
    // References follow: file k refers to file k-1, whose new UID it must name.
    for k in 0..outs.len() {
        let prev = attrs::string(&outs[(k + 2) % 3], tags::SOP_INSTANCE_UID).unwrap_or_default();
        let series = attrs::items(&outs[k], tags::REFERENCED_SERIES_SEQUENCE);
        let inst = series
            .first()
            .map(|s| attrs::items(s, tags::REFERENCED_INSTANCE_SEQUENCE))
            .unwrap_or(&[]);
        let refd = inst
            .first()
            .and_then(|i| attrs::string(i, tags::REFERENCED_SOP_INSTANCE_UID));
        if refd.as_deref() != Some(prev.as_str()) {
            return Err(format!(
                "file {k} refers to the previous file as {refd:?}, whose SOPInstanceUID is now {prev}: references must be remapped with the same mapping."
            ));
        }
    }
    let studies: BTreeSet<String> = outs
        .iter()
        .filter_map(|o| attrs::string(o, tags::STUDY_INSTANCE_UID))
        .collect();
    if studies.len() != 1 {
        return Err(format!(
            "three files of one study now have {} StudyInstanceUIDs",
            studies.len()
        ));
    }
    Ok("planted PHI (nested, private, file meta) gone; references between files intact".into())
}
