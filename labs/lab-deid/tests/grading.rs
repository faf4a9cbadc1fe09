//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails at least one check whose message names the mistake.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTable;
use lab_deid::tasks::{
    Action, CleanElement, Code, Key, ProfileOption, REFERENCE, Rule, SafePrivate, Tasks,
};
use sha2::{Digest, Sha256};

// ---- mutants: each is the reference with one known mistake ----

/// X/D and X/Z/D read as X: a Type 1 attribute removed instead of replaced.
fn type1_removed(rule: &Rule, vr: VR, options: &[ProfileOption]) -> Action {
    match rule.code_with(options) {
        Code::RemoveOrDummy | Code::RemoveZeroOrDummy => Action::Remove,
        Code::ZeroOrDummy => Action::Zero,
        c => c.resolve(vr),
    }
}

/// The Basic Profile column only.
fn options_ignored(rule: &Rule, vr: VR, _options: &[ProfileOption]) -> Action {
    rule.basic.resolve(vr)
}

/// Sequences copied as they are: no recursion.
fn no_recursion(obj: &InMemDicomObject, clean: &CleanElement<'_>) -> InMemDicomObject {
    let mut out = InMemDicomObject::new_empty();
    for e in obj.iter() {
        if matches!(e.value(), Value::Sequence(_)) {
            out.put(e.clone());
        } else if let Some(n) = clean(obj, e) {
            out.put(n);
        }
    }
    out
}

/// Recursion into the first item only.
fn first_item_only(obj: &InMemDicomObject, clean: &CleanElement<'_>) -> InMemDicomObject {
    let mut out = InMemDicomObject::new_empty();
    for e in obj.iter() {
        let Some(n) = clean(obj, e) else { continue };
        if let Value::Sequence(seq) = n.value() {
            let items: Vec<InMemDicomObject> = seq
                .items()
                .iter()
                .enumerate()
                .map(|(i, it)| {
                    if i == 0 {
                        first_item_only(it, clean)
                    } else {
                        it.clone()
                    }
                })
                .collect();
            out.put(DataElement::new(
                n.header().tag,
                VR::SQ,
                DataSetSequence::from(items),
            ));
        } else {
            out.put(n);
        }
    }
    out
}

fn private_kept(_: Tag, _: Option<&str>, _: &[SafePrivate], _: bool) -> bool {
    true
}

/// Matches group and element byte, never the creator.
fn creator_ignored(tag: Tag, _c: Option<&str>, safe: &[SafePrivate], retain: bool) -> bool {
    retain
        && safe
            .iter()
            .any(|s| s.group == tag.group() && s.element == (tag.element() & 0xFF) as u8)
}

static CALLS: AtomicU64 = AtomicU64::new(0);

/// A fresh UID per call, as a map made anew for every file would give.
fn uid_per_file(key: &Key, uid: &str) -> String {
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    key.uid(&format!("{uid}#{n}"))
}

/// A plain hash of the UID: the same for every key, reversible by guessing.
fn uid_unkeyed(_key: &Key, uid: &str) -> String {
    let d = Sha256::digest(uid.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[0] &= 0x7f;
    format!("2.25.{}", u128::from_be_bytes(b))
}

/// The offset keyed on the file instead of the patient.
fn date_per_file(key: &Key, _patient: &str, sop: &str, date: &str) -> String {
    radlab_deid::keyed::shift_date(date, -key.date_offset_days(sop)).unwrap_or_default()
}

/// Subtracting from the day digits, borrowing a month as 30 days.
fn date_digits(key: &Key, patient: &str, _sop: &str, date: &str) -> String {
    let days = key.date_offset_days(patient);
    let (y, m, d): (i64, i64, i64) = (
        date[..4].parse().unwrap_or(0),
        date[4..6].parse().unwrap_or(1),
        date[6..8].parse().unwrap_or(1),
    );
    let total = (y * 12 + (m - 1)) * 30 + (d - 1) - days;
    let (ym, dd) = (total.div_euclid(30), total.rem_euclid(30) + 1);
    format!(
        "{:04}{:02}{:02}",
        ym.div_euclid(12),
        ym.rem_euclid(12) + 1,
        dd
    )
}

/// The keyed hash cut to 32 bits: fine for a few hundred UIDs, collisions
/// by the hundred thousand.
fn uid_32_bits(key: &Key, uid: &str) -> String {
    let full = key.uid(uid);
    let n: u128 = full.trim_start_matches("2.25.").parse().unwrap_or(0);
    format!("2.25.{}", n % (1u128 << 32))
}

/// Every fourth year a leap year (1900 and 2100 too), days counted on that calendar.
fn date_julian_leap(key: &Key, patient: &str, _sop: &str, date: &str) -> String {
    let leap = |y: i64| y % 4 == 0;
    let month_days = |y: i64, m: i64| match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let (mut y, mut m, mut d): (i64, i64, i64) = (
        date[..4].parse().unwrap_or(2000),
        date[4..6].parse().unwrap_or(1),
        date[6..8].parse().unwrap_or(1),
    );
    for _ in 0..key.date_offset_days(patient) {
        d -= 1;
        if d == 0 {
            m -= 1;
            if m == 0 {
                m = 12;
                y -= 1;
            }
            d = month_days(y, m);
        }
    }
    format!("{y:04}{m:02}{d:02}")
}

/// A random replacement per UID, remembered in memory: stable for as long
/// as the process lives, different in the next run.
fn uid_random_remembered(key: &Key, uid: &str) -> String {
    use std::collections::HashMap;
    use std::hash::BuildHasher;
    static SEEN: Mutex<Option<HashMap<(String, String), String>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    seen.get_or_insert_with(HashMap::new)
        .entry((key.fingerprint(), uid.to_string()))
        .or_insert_with(|| {
            let r = std::collections::hash_map::RandomState::new();
            let n = (u128::from(r.hash_one(uid)) << 63) | u128::from(r.hash_one(1u8) >> 1);
            format!("2.25.{}", n.max(1))
        })
        .clone()
}

/// The patient's offset salted once per process.
fn date_salt_per_process(key: &Key, patient: &str, _sop: &str, date: &str) -> String {
    use std::hash::BuildHasher;
    static SALT: OnceLock<u64> = OnceLock::new();
    let salt = SALT.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0u8));
    let days = key.date_offset_days(&format!("{salt}/{patient}"));
    radlab_deid::keyed::shift_date(date, -days).unwrap_or_default()
}

/// Recursion that hands the cleaner the top-level data set at every depth.
fn root_context(obj: &InMemDicomObject, clean: &CleanElement<'_>) -> InMemDicomObject {
    fn walk(
        root: &InMemDicomObject,
        obj: &InMemDicomObject,
        clean: &CleanElement<'_>,
    ) -> InMemDicomObject {
        let mut out = InMemDicomObject::new_empty();
        for e in obj.iter() {
            let Some(n) = clean(root, e) else { continue };
            if let Value::Sequence(seq) = n.value() {
                let items: Vec<InMemDicomObject> =
                    seq.items().iter().map(|i| walk(root, i, clean)).collect();
                out.put(DataElement::new(
                    n.header().tag,
                    VR::SQ,
                    DataSetSequence::from(items),
                ));
            } else {
                out.put(n);
            }
        }
        out
    }
    walk(obj, obj, clean)
}

/// The first option that names the attribute wins, whatever its code.
fn first_option_wins(rule: &Rule, vr: VR, options: &[ProfileOption]) -> Action {
    for o in options {
        let alone = (REFERENCE.action_for)(rule, vr, std::slice::from_ref(o));
        if alone != (REFERENCE.action_for)(rule, vr, &[]) {
            return alone;
        }
    }
    (REFERENCE.action_for)(rule, vr, options)
}

fn meta_left(obj: &mut InMemDicomObject, meta: &mut FileMetaTable, options: &[ProfileOption]) {
    let keep = meta.media_storage_sop_instance_uid.clone();
    (REFERENCE.mark_deidentified)(obj, meta, options);
    meta.media_storage_sop_instance_uid = keep;
}

fn identity_flag_missing(
    obj: &mut InMemDicomObject,
    meta: &mut FileMetaTable,
    options: &[ProfileOption],
) {
    (REFERENCE.mark_deidentified)(obj, meta, options);
    obj.remove_element(tags::PATIENT_IDENTITY_REMOVED);
}

use radlab_grade::mutant;

fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![
        (
            mutant!("type-1-removed", action_for, type1_removed),
            "action/type-1-dummy",
            "Type 1",
        ),
        (
            mutant!("options-ignored", action_for, options_ignored),
            "action/options",
            "option column",
        ),
        (
            mutant!("no-recursion", clean_dataset, no_recursion),
            "walk/nested-sequence",
            "Recurse",
        ),
        (
            mutant!("first-item-only", clean_dataset, first_item_only),
            "walk/three-deep",
            "two items",
        ),
        (
            mutant!("private-tags-kept", keep_private, private_kept),
            "private/removed-by-default",
            "removes every private",
        ),
        (
            mutant!("private-creator-ignored", keep_private, creator_ignored),
            "private/safe-list",
            "Private Creator",
        ),
        (
            mutant!("uid-map-per-file", remap_uid, uid_per_file),
            "uid/same-everywhere",
            "same new UID",
        ),
        (
            mutant!("uid-unkeyed", remap_uid, uid_unkeyed),
            "uid/keyed-distinct",
            "secret key",
        ),
        (
            mutant!("date-shift-per-file", shift_date, date_per_file),
            "date/per-patient",
            "one per patient",
        ),
        (
            mutant!("date-digits", shift_date, date_digits),
            "date/intervals",
            "keep intervals",
        ),
        (
            mutant!("uid-hash-32-bits", remap_uid, uid_32_bits),
            "uid/many-no-collision",
            "never collide",
        ),
        (
            mutant!("date-every-fourth-year-leap", shift_date, date_julian_leap),
            "date/century-years",
            "divisible by 400",
        ),
        (
            mutant!("uid-random-remembered", remap_uid, uid_random_remembered),
            "uid/same-in-a-new-process",
            "second run",
        ),
        (
            mutant!("date-salt-per-process", shift_date, date_salt_per_process),
            "date/same-in-a-new-process",
            "second run",
        ),
        (
            mutant!("walk-root-context", clean_dataset, root_context),
            "walk/private-creator-in-item",
            "own data set",
        ),
        (
            mutant!("first-option-wins", action_for, first_option_wins),
            "action/option-pairs",
            "whatever their order",
        ),
        (
            mutant!("file-meta-uid-left", mark_deidentified, meta_left),
            "finish/file-meta",
            "MediaStorageSOPInstanceUID",
        ),
        (
            mutant!(
                "identity-removed-missing",
                mark_deidentified,
                identity_flag_missing
            ),
            "finish/identity-removed",
            "PatientIdentityRemoved",
        ),
    ]
}

/// The end-to-end checks catch the mistakes that leak, too.
#[test]
fn leaking_mutants_fail_the_end_to_end_checks() {
    for (m, check) in [
        (
            mutant!("e2e-no-recursion", clean_dataset, no_recursion),
            "uid/references-follow",
        ),
        (
            mutant!("e2e-private-kept", keep_private, private_kept),
            "uid/references-follow",
        ),
        (
            mutant!("e2e-meta-left", mark_deidentified, meta_left),
            "finish/sample-no-leaks",
        ),
    ] {
        let r = lab_deid::grade(m);
        let t = r
            .tests
            .iter()
            .find(|t| t.name == check)
            .expect("check exists");
        assert!(!t.passed(), "{} passed {check}", m.name);
    }
}

radlab_grade::lab_grading_tests!(lab_deid, "lab-deid");
