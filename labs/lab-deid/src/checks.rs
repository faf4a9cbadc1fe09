//! The graded checks of lab-deid. Messages name the clause or convention
//! broken and show expected vs got on a small example.

use std::collections::BTreeSet;

use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use radlab_deid::keyed::days_between;
use radlab_dicom::attrs;
use radlab_grade::{Check, Kind, Outcome, Visibility};

use crate::tasks::{
    Action, Key, PipelineSettings, ProfileOption, REFERENCE, SafePrivate, Table, Tasks, put,
};

fn table() -> Table {
    Table::standard()
}

fn act(t: &'static Tasks, tag: Tag, vr: VR, options: &[ProfileOption]) -> Action {
    let table = table();
    let rule = table.rule(tag).expect("tag in Table E.1-1");
    (t.action_for)(rule, vr, options)
}

fn expect_actions(
    t: &'static Tasks,
    cases: &[(Tag, VR, &[ProfileOption], Action, &str)],
    rule: &str,
) -> Outcome {
    for (tag, vr, options, want, name) in cases {
        let got = act(t, *tag, *vr, options);
        if got != *want {
            return Err(format!(
                "{name} {} with options {:?}: expected {:?} ({}), got {:?} ({}).\n{rule}",
                attrs::tag_string(*tag),
                options.iter().map(|o| o.name()).collect::<Vec<_>>(),
                want,
                want.letter(),
                got,
                got.letter()
            ));
        }
    }
    Ok(format!(
        "{} attributes resolved as Table E.1-1 says",
        cases.len()
    ))
}

fn action_worked(t: &'static Tasks) -> Outcome {
    expect_actions(
        t,
        &[
            (
                tags::PATIENT_NAME,
                VR::PN,
                &[],
                Action::Zero,
                "Patient's Name",
            ),
            (
                tags::ACCESSION_NUMBER,
                VR::SH,
                &[],
                Action::Zero,
                "Accession Number",
            ),
            (
                tags::STUDY_INSTANCE_UID,
                VR::UI,
                &[],
                Action::Uid,
                "Study Instance UID",
            ),
            (
                tags::OTHER_PATIENT_I_DS_SEQUENCE,
                VR::SQ,
                &[],
                Action::Remove,
                "Other Patient IDs Sequence",
            ),
            (
                tags::PATIENT_AGE,
                VR::AS,
                &[],
                Action::Remove,
                "Patient's Age",
            ),
            (
                tags::REQUESTED_PROCEDURE_DESCRIPTION,
                VR::LO,
                &[],
                Action::Zero,
                "Requested Procedure Description (X/Z)",
            ),
        ],
        "Read the Basic Prof. column of PS3.15 Table E.1-1; X/Z becomes Z (a Type 2 attribute must stay, empty).",
    )
}

fn action_type1(t: &'static Tasks) -> Outcome {
    expect_actions(
        t,
        &[
            (
                tags::INSTITUTION_NAME,
                VR::LO,
                &[],
                Action::Dummy,
                "Institution Name (X/Z/D)",
            ),
            (
                tags::PATIENT_ID,
                VR::LO,
                &[],
                Action::Dummy,
                "Patient ID (Z/D)",
            ),
            (
                tags::CONTENT_DATE,
                VR::DA,
                &[],
                Action::Dummy,
                "Content Date (X/D)",
            ),
            (
                tags::STATION_NAME,
                VR::SH,
                &[],
                Action::Dummy,
                "Station Name (X/Z/D)",
            ),
        ],
        "A code that allows D must give D when the IOD is unknown: a Type 1 attribute removed (X) or emptied (Z) makes the object invalid; replace it by a dummy.",
    )
}

fn action_options(t: &'static Tasks) -> Outcome {
    use ProfileOption::*;
    expect_actions(
        t,
        &[
            (
                tags::STUDY_DATE,
                VR::DA,
                &[RetainModifiedDates],
                Action::Clean,
                "Study Date",
            ),
            (
                tags::STUDY_DATE,
                VR::DA,
                &[RetainFullDates],
                Action::Keep,
                "Study Date",
            ),
            (
                tags::PATIENT_AGE,
                VR::AS,
                &[RetainPatientCharacteristics],
                Action::Keep,
                "Patient's Age",
            ),
            (
                tags::STUDY_INSTANCE_UID,
                VR::UI,
                &[RetainUids],
                Action::Keep,
                "Study Instance UID",
            ),
            (
                tags::STATION_NAME,
                VR::SH,
                &[RetainDeviceIdentity],
                Action::Keep,
                "Station Name",
            ),
            (
                tags::STUDY_DESCRIPTION,
                VR::LO,
                &[CleanDescriptors],
                Action::Clean,
                "Study Description",
            ),
            (
                tags::PATIENT_NAME,
                VR::PN,
                &[RetainModifiedDates, CleanDescriptors],
                Action::Zero,
                "Patient's Name",
            ),
        ],
        "An option column's code replaces the Basic Profile's for the attributes it names; other attributes keep the Basic Profile's action.",
    )
}

fn action_every_row(t: &'static Tasks) -> Outcome {
    use ProfileOption::*;
    let sets: [&[ProfileOption]; 5] = [
        &[],
        &[RetainFullDates, CleanDescriptors],
        &[
            RetainModifiedDates,
            RetainPatientCharacteristics,
            RetainDeviceIdentity,
        ],
        &[
            RetainUids,
            RetainInstitutionIdentity,
            CleanStructuredContent,
            CleanGraphics,
        ],
        &[CleanDescriptors, RetainModifiedDates],
    ];
    let table = table();
    let mut n = 0;
    for rule in table.rules() {
        for vr in [VR::UI, VR::LO, VR::SQ] {
            for options in sets {
                let (got, want) = (
                    (t.action_for)(rule, vr, options),
                    (REFERENCE.action_for)(rule, vr, options),
                );
                if got != want {
                    return Err(format!(
                        "{} {} ({}) as {vr:?} with {:?}: expected {want:?}, got {got:?}",
                        rule.name,
                        attrs::tag_string(rule.tag.tag),
                        rule.basic,
                        options.iter().map(|o| o.name()).collect::<Vec<_>>()
                    ));
                }
                n += 1;
            }
        }
    }
    Ok(format!(
        "{n} (row, VR, options) combinations agree with the reference"
    ))
}

/// Every pair of options, in both orders, on every row: where two options
/// both name an attribute, which one wins (K beats C) must not depend on
/// the order they were given in.
fn action_option_pairs(t: &'static Tasks) -> Outcome {
    let table = table();
    let all = ProfileOption::ALL;
    let mut n = 0;
    for rule in table.rules() {
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                for options in [[*a, *b], [*b, *a]] {
                    let vr = VR::LO;
                    let (got, want) = (
                        (t.action_for)(rule, vr, &options),
                        (REFERENCE.action_for)(rule, vr, &options),
                    );
                    if got != want {
                        return Err(format!(
                            "{} {} with options {:?} (in this order): expected {want:?}, got {got:?}. When two options both name an attribute, keeping (K) beats cleaning (C), whatever their order.",
                            rule.name,
                            attrs::tag_string(rule.tag.tag),
                            options.iter().map(|o| o.name()).collect::<Vec<_>>()
                        ));
                    }
                    n += 1;
                }
            }
        }
    }
    Ok(format!("{n} (row, option pair) combinations agree"))
}

/// A cleaner that empties Patient ID wherever it is and drops Patient's Name.
fn phi_cleaner(
    _: &InMemDicomObject,
    e: &dicom_object::mem::InMemElement,
) -> Option<dicom_object::mem::InMemElement> {
    let tag = e.header().tag;
    if tag == tags::PATIENT_NAME {
        return None;
    }
    if tag == tags::PATIENT_ID {
        return Some(DataElement::new(tag, VR::LO, PrimitiveValue::from("CLEAN")));
    }
    Some(e.clone())
}

fn with_item(tag: Tag, item: InMemDicomObject) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(vec![item]))
}

/// Every Patient ID value at any depth, and whether a Patient's Name is left.
fn ids_and_names(obj: &InMemDicomObject, ids: &mut Vec<String>, names: &mut usize) {
    for e in obj.iter() {
        let tag = e.header().tag;
        if tag == tags::PATIENT_ID {
            ids.push(
                e.value()
                    .to_str()
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default(),
            );
        }
        if tag == tags::PATIENT_NAME {
            *names += 1;
        }
        if let Value::Sequence(s) = e.value() {
            for i in s.items() {
                ids_and_names(i, ids, names);
            }
        }
    }
}

fn walk_top(t: &'static Tasks) -> Outcome {
    let mut obj = InMemDicomObject::new_empty();
    put(&mut obj, tags::PATIENT_NAME, VR::PN, "HALVORSEN^INGRID");
    put(&mut obj, tags::PATIENT_ID, VR::LO, "PAT-0042");
    put(&mut obj, tags::MODALITY, VR::CS, "CT");
    let out = (t.clean_dataset)(&obj, &phi_cleaner);
    let (mut ids, mut names) = (Vec::new(), 0);
    ids_and_names(&out, &mut ids, &mut names);
    if names != 0
        || ids != ["CLEAN"]
        || attrs::string(&out, tags::MODALITY).as_deref() != Some("CT")
    {
        return Err(format!(
            "a flat data set: expected Patient's Name dropped, Patient ID \"CLEAN\", Modality kept; got names {names}, ids {ids:?}, modality {:?}",
            attrs::string(&out, tags::MODALITY)
        ));
    }
    Ok("top-level elements cleaned, dropped and kept as the cleaner says".into())
}

fn walk_nested(t: &'static Tasks) -> Outcome {
    let mut item = InMemDicomObject::new_empty();
    put(&mut item, tags::PATIENT_ID, VR::LO, "OH-219541");
    put(
        &mut item,
        tags::ISSUER_OF_PATIENT_ID,
        VR::LO,
        "OTHER HOSPITAL",
    );
    let mut obj = InMemDicomObject::new_empty();
    put(&mut obj, tags::PATIENT_ID, VR::LO, "PAT-0042");
    obj.put(with_item(tags::OTHER_PATIENT_I_DS_SEQUENCE, item));
    let out = (t.clean_dataset)(&obj, &phi_cleaner);
    let (mut ids, mut names) = (Vec::new(), 0);
    ids_and_names(&out, &mut ids, &mut names);
    if ids != ["CLEAN", "CLEAN"] {
        return Err(format!(
            "OtherPatientIDsSequence[0] holds a second Patient ID: expected both cleaned, got {ids:?}.\nRecurse into the items of every sequence the cleaner keeps."
        ));
    }
    Ok("the Patient ID inside OtherPatientIDsSequence was cleaned".into())
}

fn walk_deep(t: &'static Tasks) -> Outcome {
    // Three levels down, in two items, next to a sequence the cleaner drops.
    let mut deepest = InMemDicomObject::new_empty();
    put(&mut deepest, tags::PATIENT_NAME, VR::PN, "OKAFOR^CHIDI");
    put(&mut deepest, tags::PATIENT_ID, VR::LO, "DEEP-1");
    let mut mid = InMemDicomObject::new_empty();
    mid.put(with_item(
        tags::REFERENCED_PATIENT_SEQUENCE,
        deepest.clone(),
    ));
    let mut top_item = InMemDicomObject::new_empty();
    top_item.put(DataElement::new(
        tags::REFERENCED_STUDY_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![mid.clone(), mid]),
    ));
    let mut obj = InMemDicomObject::new_empty();
    obj.put(with_item(tags::REQUEST_ATTRIBUTES_SEQUENCE, top_item));
    obj.put(with_item(tags::OTHER_PATIENT_I_DS_SEQUENCE, deepest));
    let drop_other = |ds: &InMemDicomObject, e: &dicom_object::mem::InMemElement| {
        if e.header().tag == tags::OTHER_PATIENT_I_DS_SEQUENCE {
            None
        } else {
            phi_cleaner(ds, e)
        }
    };
    let out = (t.clean_dataset)(&obj, &drop_other);
    let (mut ids, mut names) = (Vec::new(), 0);
    ids_and_names(&out, &mut ids, &mut names);
    if names != 0
        || ids != ["CLEAN", "CLEAN"]
        || out.get(tags::OTHER_PATIENT_I_DS_SEQUENCE).is_some()
    {
        return Err(format!(
            "PHI three sequences deep, in two items: expected 2 cleaned IDs, no names, the dropped sequence gone; got ids {ids:?}, {names} name(s), dropped sequence present: {}",
            out.get(tags::OTHER_PATIENT_I_DS_SEQUENCE).is_some()
        ));
    }
    Ok("three levels, two items each cleaned; a dropped sequence stays dropped".into())
}

/// A private block reserved in a sequence item is read from that item: the
/// Private Creator of (gggg,xxee) is (gggg,00xx) of the same data set
/// (PS3.5 7.8.1), not of the object's top level or of the parent item.
fn walk_item_context(t: &'static Tasks) -> Outcome {
    let private = |obj: &mut InMemDicomObject, creator: Option<&str>, value: &str| {
        if let Some(c) = creator {
            put(obj, Tag(0x0019, 0x0010), VR::LO, c);
        }
        put(obj, Tag(0x0019, 0x1001), VR::LO, value);
    };
    let mut orphan = InMemDicomObject::new_empty();
    private(&mut orphan, None, "ORPHAN IN THE INNER ITEM");
    let mut item = InMemDicomObject::new_empty();
    private(&mut item, Some("SAFE VENDOR"), "SAFE VALUE IN THE ITEM");
    item.put(with_item(tags::REFERENCED_SOP_SEQUENCE, orphan));
    let mut obj = InMemDicomObject::new_empty();
    private(&mut obj, Some("OTHER VENDOR"), "TOP-LEVEL SECRET");
    obj.put(with_item(tags::REFERENCED_IMAGE_SEQUENCE, item));
    // Keeps a private element only when its block belongs to SAFE VENDOR
    // in the data set the element is in.
    let cleaner = |ds: &InMemDicomObject, e: &dicom_object::mem::InMemElement| {
        let tag = e.header().tag;
        if tag.group() % 2 == 1 && tag.element() >= 0x1000 {
            let creator = radlab_deid::profile::private_creator(ds, tag);
            return (creator.as_deref() == Some("SAFE VENDOR")).then(|| e.clone());
        }
        Some(e.clone())
    };
    let out = (t.clean_dataset)(&obj, &cleaner);
    let mut kept = Vec::new();
    fn values(o: &InMemDicomObject, kept: &mut Vec<String>) {
        for e in o.iter() {
            if e.header().tag == Tag(0x0019, 0x1001) {
                kept.push(e.value().to_str().unwrap_or_default().trim().to_string());
            }
            if let Value::Sequence(s) = e.value() {
                for i in s.items() {
                    values(i, kept);
                }
            }
        }
    }
    values(&out, &mut kept);
    if kept != ["SAFE VALUE IN THE ITEM"] {
        return Err(format!(
            "(0019,1001) at three depths: the top level's block belongs to OTHER VENDOR, the item's to SAFE VENDOR, the inner item has no creator. A cleaner that keeps only SAFE VENDOR's elements should leave just the item's; got {kept:?}.\nPass each item (the data set the element is in) to the cleaner: a Private Creator is read from the element's own data set."
        ));
    }
    Ok("each item was the cleaner's data set: private blocks read from their own item".into())
}

fn safe(creator: &str, group: u16, element: u8) -> SafePrivate {
    SafePrivate {
        creator: creator.into(),
        group,
        element,
    }
}

fn private_default(t: &'static Tasks) -> Outcome {
    let list = [safe("ACME 1.1", 0x0019, 0x01)];
    if (t.keep_private)(Tag(0x0019, 0x1001), Some("ACME 1.1"), &list, false) {
        return Err("(0019,1001) of ACME 1.1 was kept without the Retain Safe Private option: the Basic Profile removes every private attribute (Table E.1-1, private attributes: X).".into());
    }
    if (t.keep_private)(Tag(0x0029, 0x1010), Some("SIEMENS CSA HEADER"), &[], true) {
        return Err("(0029,1010) was kept although the safe list is empty: Retain Safe Private keeps only listed attributes.".into());
    }
    Ok("private attributes removed by default".into())
}

fn private_listed(t: &'static Tasks) -> Outcome {
    let list = [safe("ACME 1.1", 0x0019, 0x01)];
    let cases = [
        (
            Tag(0x0019, 0x1001),
            Some("ACME 1.1"),
            true,
            "listed: creator, group and element byte match",
        ),
        (
            Tag(0x0019, 0x1101),
            Some("ACME 1.1"),
            true,
            "listed, in the block reserved at (0019,0011)",
        ),
        (
            Tag(0x0019, 0x1001),
            Some("OTHER VENDOR"),
            false,
            "same numbers, another creator",
        ),
        (
            Tag(0x0019, 0x1002),
            Some("ACME 1.1"),
            false,
            "another element of the block",
        ),
        (
            Tag(0x0021, 0x1001),
            Some("ACME 1.1"),
            false,
            "another group",
        ),
    ];
    for (tag, creator, want, why) in cases {
        let got = (t.keep_private)(tag, creator, &list, true);
        if got != want {
            return Err(format!(
                "{} of {creator:?} with the safe list {{ACME 1.1, (0019,xx01)}}: expected keep = {want} ({why}), got {got}. Match the Private Creator too: element numbers mean nothing without it.",
                attrs::tag_string(tag)
            ));
        }
    }
    Ok("only the safe-listed attribute of the listed creator is kept".into())
}

fn private_orphan(t: &'static Tasks) -> Outcome {
    let list = [safe("ACME 1.1", 0x0019, 0x01)];
    if (t.keep_private)(Tag(0x0019, 0x1001), None, &list, true) {
        return Err("a private element without a Private Creator in its data set was kept: nobody can say what it holds, so it goes.".into());
    }
    if (t.keep_private)(Tag(0x0019, 0x1001), Some("ACME 1.1 "), &list, true) {
        Ok("orphans removed; trailing padding of the creator ignored".into())
    } else {
        Err("Private Creator \"ACME 1.1 \" (padded to even length, as on disk) did not match \"ACME 1.1\": trim the value before comparing.".into())
    }
}

fn valid_uid(u: &str) -> Result<(), String> {
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

fn uid_syntax(t: &'static Tasks) -> Outcome {
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

fn uid_stable(t: &'static Tasks) -> Outcome {
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

fn uid_keyed(t: &'static Tasks) -> Outcome {
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
fn uid_many(t: &'static Tasks) -> Outcome {
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

/// What a second run of the lab must reproduce: keyed UIDs and a keyed
/// date of fixed inputs under the sample key, as `uids=...;date=...`. Each
/// part is computed on its own, so a panic in one task leaves the other.
pub fn probe(t: &'static Tasks) -> String {
    let quiet = |f: fn(&'static Tasks) -> String| {
        std::panic::catch_unwind(|| f(t)).unwrap_or_else(|_| "!panicked".into())
    };
    format!("uids={};date={}", quiet(probe_uids), quiet(probe_date))
}

const PROBE_UIDS: [&str; 2] = ["1.2.826.0.1.3680043.8.498.12345", "1.2.3"];

fn probe_uids(t: &'static Tasks) -> String {
    let key = Key::sample();
    PROBE_UIDS
        .iter()
        .map(|u| (t.remap_uid)(&key, u))
        .collect::<Vec<_>>()
        .join(",")
}

fn probe_date(t: &'static Tasks) -> String {
    (t.shift_date)(&Key::sample(), "PAT-0042", "1.2.3.100", "20240110")
}

/// This process's answer (`part` run here, panics left to the grader) and
/// a new process's answer for the probe part `name`.
fn here_and_there(
    t: &'static Tasks,
    part: fn(&'static Tasks) -> String,
    name: &str,
) -> Result<(String, String), String> {
    let here = part(t);
    let there = radlab_grade::fresh::probe_in_fresh_process(env!("CARGO_PKG_NAME"), t.name)
        .map_err(|e| format!("could not run the check in a second process: {e}"))?;
    let there = there
        .split(';')
        .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or(&there)
        .to_string();
    Ok((here, there))
}

/// The same UIDs under the same key in a second run of the program: a
/// random salt drawn once per process, or a map of random replacements kept
/// in memory, agrees with itself but not with yesterday's run.
fn uid_fresh_process(t: &'static Tasks) -> Outcome {
    let (here, there) = here_and_there(t, probe_uids, "uids")?;
    if here != there {
        return Err(format!(
            "{} under the same key became {here} in this run and {there} in a second run of the program: the mapping must be a function of the key and the UID alone (no per-process salt, no random values remembered in memory), or the next batch's references point nowhere.",
            PROBE_UIDS.join(" and ")
        ));
    }
    Ok("a second run of the program maps the UIDs the same way".into())
}

/// The same date offset for a patient in a second run of the program.
fn date_fresh_process(t: &'static Tasks) -> Outcome {
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
fn date_century(t: &'static Tasks) -> Outcome {
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

fn date_valid(t: &'static Tasks) -> Outcome {
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
fn date_never_zero(t: &'static Tasks) -> Outcome {
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
fn date_not_a_date(t: &'static Tasks) -> Outcome {
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

fn date_per_patient(t: &'static Tasks) -> Outcome {
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

fn date_intervals(t: &'static Tasks) -> Outcome {
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

fn date_patients_differ(t: &'static Tasks) -> Outcome {
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

fn meta_for(obj: &InMemDicomObject) -> dicom_object::meta::FileMetaTable {
    FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.1")
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
        .media_storage_sop_instance_uid(
            attrs::string(obj, tags::SOP_INSTANCE_UID).unwrap_or_else(|| "1.2.3.4".into()),
        )
        .build()
        .expect("complete meta")
}

fn finish_identity(t: &'static Tasks) -> Outcome {
    let mut obj = InMemDicomObject::new_empty();
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, "2.25.1234");
    let mut meta = meta_for(&obj);
    let options = [
        ProfileOption::RetainModifiedDates,
        ProfileOption::CleanDescriptors,
    ];
    (t.mark_deidentified)(&mut obj, &mut meta, &options);
    if attrs::string(&obj, tags::PATIENT_IDENTITY_REMOVED).as_deref() != Some("YES") {
        return Err(format!(
            "PatientIdentityRemoved (0012,0062) is {:?}; PS3.15 E.1.1 requires YES on a de-identified object",
            attrs::string(&obj, tags::PATIENT_IDENTITY_REMOVED)
        ));
    }
    let codes: BTreeSet<String> = attrs::items(&obj, tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .iter()
        .filter_map(|i| attrs::string(i, tags::CODE_VALUE))
        .collect();
    let want: BTreeSet<String> = ["113100", "113107", "113105"].map(String::from).into();
    if codes != want {
        return Err(format!(
            "DeidentificationMethodCodeSequence (0012,0064) codes {codes:?}; expected {want:?}: 113100 for the Basic Profile and one CID 7050 code per option"
        ));
    }
    Ok("PatientIdentityRemoved YES and one method code per profile and option".into())
}

fn finish_meta(t: &'static Tasks) -> Outcome {
    let mut obj = InMemDicomObject::new_empty();
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, "1.2.826.0.1.99.7");
    let mut meta = meta_for(&obj);
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, "2.25.987654321");
    (t.mark_deidentified)(&mut obj, &mut meta, &[]);
    let m = meta.media_storage_sop_instance_uid.trim_end_matches('\0');
    if m != "2.25.987654321" {
        return Err(format!(
            "the data set's SOPInstanceUID is 2.25.987654321 but the file meta's MediaStorageSOPInstanceUID (0002,0003) is {m}: it must follow, or the original UID leaks in the file's first bytes."
        ));
    }
    Ok("the file meta follows the new SOP Instance UID".into())
}

/// Three objects of one patient that refer to each other, with PHI planted
/// where tools have missed it: nested sequences, a private block, SR-like
/// person names, the file meta.
pub fn planted_study() -> Vec<DefaultDicomObject> {
    let study = "1.2.826.0.1.3680043.10.1.1";
    (0..3)
        .map(|k| {
            let mut o = InMemDicomObject::new_empty();
            put(
                &mut o,
                tags::SOP_CLASS_UID,
                VR::UI,
                "1.2.840.10008.5.1.4.1.1.2",
            );
            put(
                &mut o,
                tags::SOP_INSTANCE_UID,
                VR::UI,
                &format!("{study}.3.{k}"),
            );
            put(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, study);
            put(
                &mut o,
                tags::SERIES_INSTANCE_UID,
                VR::UI,
                &format!("{study}.2"),
            );
            put(&mut o, tags::PATIENT_NAME, VR::PN, "QUINTERO^ROSALIND");
            put(&mut o, tags::PATIENT_ID, VR::LO, "HX-77120");
            put(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, "19580214");
            put(&mut o, tags::STUDY_DATE, VR::DA, "20240310");
            put(&mut o, tags::INSTITUTION_NAME, VR::LO, "WESTBURY GENERAL");
            put(&mut o, tags::MODALITY, VR::CS, "CT");
            let mut other = InMemDicomObject::new_empty();
            put(&mut other, tags::PATIENT_ID, VR::LO, "MRN-5550199");
            put(
                &mut other,
                tags::ISSUER_OF_PATIENT_ID,
                VR::LO,
                "ELLSWORTH CLINIC",
            );
            o.put(with_item(tags::OTHER_PATIENT_I_DS_SEQUENCE, other));
            // A reference to the previous file, two levels down.
            let mut inst = InMemDicomObject::new_empty();
            put(
                &mut inst,
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                "1.2.840.10008.5.1.4.1.1.2",
            );
            put(
                &mut inst,
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                &format!("{study}.3.{}", (k + 2) % 3),
            );
            let mut series = InMemDicomObject::new_empty();
            series.put(with_item(tags::REFERENCED_INSTANCE_SEQUENCE, inst));
            put(
                &mut series,
                tags::SERIES_INSTANCE_UID,
                VR::UI,
                &format!("{study}.2"),
            );
            o.put(with_item(tags::REFERENCED_SERIES_SEQUENCE, series));
            // Private block with the phone number.
            put(&mut o, Tag(0x0011, 0x0010), VR::LO, "WESTBURY RIS");
            put(&mut o, Tag(0x0011, 0x1001), VR::LO, "+00 555 0199 ROSALIND");
            let meta = meta_for(&o);
            o.with_exact_meta(meta)
        })
        .collect()
}

fn pipeline_leaks(
    t: &'static Tasks,
    objs: &[DefaultDicomObject],
) -> Result<Vec<DefaultDicomObject>, String> {
    let key = Key::sample();
    let settings = PipelineSettings {
        key: &key,
        options: &[],
        safe_private: &[],
    };
    let hunter = radlab_deid::Deidentifier::new(radlab_deid::Config::basic(Key::sample()))
        .expect("basic profile");
    let mut needles = Vec::new();
    for o in objs {
        needles.extend(radlab_deid::text::needles(&hunter, o));
    }
    let mut outs = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        let out = crate::tasks::deidentify(t, &settings, o);
        let mut bytes = Vec::new();
        out.write_all(&mut bytes)
            .map_err(|e| format!("file {i}: cannot encode: {e}"))?;
        let leaks = radlab_deid::hunt::hunt(&format!("file {i}"), &bytes, &out, &needles);
        if let Some(l) = leaks.first() {
            return Err(format!(
                "{} leak(s); first: {} at {} (from {}). Every identifying value must be gone, at every depth and in the file meta.",
                leaks.len(),
                l.value,
                l.location,
                l.origin
            ));
        }
        outs.push(out);
    }
    Ok(outs)
}

fn e2e_planted(t: &'static Tasks) -> Outcome {
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

fn e2e_sample(t: &'static Tasks) -> Outcome {
    let dir = radlab_labkit::sample_data_dir().join("case-002/ct");
    let mut objs = Vec::new();
    for name in ["IM00001.dcm", "IM00032.dcm", "IM00064.dcm"] {
        objs.push(radlab_dicom::file::open(&dir.join(name)).map_err(|e| e.to_string())?);
    }
    pipeline_leaks(t, &objs)?;
    Ok("three files of sample case-002: no identifying value left".into())
}

/// Every check of the lab.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "resolve-action" => {
            "action/basic-profile": 0.75, Visible, WorkedExample, action_worked;
            "action/type-1-dummy": 0.75, Visible, WorkedExample, action_type1;
            "action/options": 0.75, Visible, WorkedExample, action_options;
            "action/option-pairs": 1.0, Hidden, Property, action_option_pairs;
            "action/every-row": 0.75, Hidden, Property, action_every_row;
        }
        "walk-sequences" => {
            "walk/top-level": 1.0, Visible, WorkedExample, walk_top;
            "walk/nested-sequence": 1.0, Visible, WorkedExample, walk_nested;
            "walk/three-deep": 1.0, Hidden, WorkedExample, walk_deep;
            "walk/private-creator-in-item": 1.0, Hidden, WorkedExample, walk_item_context;
        }
        "private-tags" => {
            "private/removed-by-default": 0.75, Visible, WorkedExample, private_default;
            "private/safe-list": 0.75, Visible, WorkedExample, private_listed;
            "private/orphans-and-padding": 0.5, Hidden, WorkedExample, private_orphan;
        }
        "uid-remap" => {
            "uid/valid": 0.75, Visible, WorkedExample, uid_syntax;
            "uid/same-everywhere": 0.75, Visible, Property, uid_stable;
            "uid/keyed-distinct": 0.75, Visible, Property, uid_keyed;
            "uid/references-follow": 0.75, Hidden, EndToEnd, e2e_planted;
            "uid/many-no-collision": 1.0, Hidden, Property, uid_many;
            "uid/same-in-a-new-process": 1.0, Hidden, Property, uid_fresh_process;
        }
        "date-shift" => {
            "date/century-years": 1.0, Hidden, WorkedExample, date_century;
            "date/calendar": 0.75, Visible, WorkedExample, date_valid;
            "date/per-patient": 0.75, Visible, WorkedExample, date_per_patient;
            "date/intervals": 0.75, Visible, WorkedExample, date_intervals;
            "date/never-zero": 1.0, Hidden, Property, date_never_zero;
            "date/not-a-date": 1.0, Hidden, WorkedExample, date_not_a_date;
            "date/patients-differ": 0.75, Hidden, Property, date_patients_differ;
            "date/same-in-a-new-process": 1.0, Hidden, Property, date_fresh_process;
        }
        "finish" => {
            "finish/identity-removed": 0.5, Visible, WorkedExample, finish_identity;
            "finish/file-meta": 0.5, Visible, WorkedExample, finish_meta;
            "finish/sample-no-leaks": 1.0, Hidden, EndToEnd, e2e_sample;
        }
    ]
}
