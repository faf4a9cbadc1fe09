//! Task resolve-action: the Basic Profile's action for one attribute, with options.

use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use radlab_dicom::attrs;
use radlab_grade::Outcome;

use crate::tasks::{Action, ProfileOption, REFERENCE, Table, Tasks};

pub(super) fn table() -> Table {
    Table::standard()
}

pub(super) fn act(t: &'static Tasks, tag: Tag, vr: VR, options: &[ProfileOption]) -> Action {
    let table = table();
    let rule = table.rule(tag).expect("tag in Table E.1-1");
    (t.action_for)(rule, vr, options)
}

pub(super) fn expect_actions(
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

pub(super) fn action_worked(t: &'static Tasks) -> Outcome {
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

pub(super) fn action_type1(t: &'static Tasks) -> Outcome {
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

pub(super) fn action_options(t: &'static Tasks) -> Outcome {
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

pub(super) fn action_every_row(t: &'static Tasks) -> Outcome {
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
pub(super) fn action_option_pairs(t: &'static Tasks) -> Outcome {
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
