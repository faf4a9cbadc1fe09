//! Task finish: identity attributes, the file meta, and a pipeline run with nothing left behind.

use std::collections::BTreeSet;

use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use radlab_dicom::attrs;
use radlab_grade::Outcome;

use crate::tasks::{Key, PipelineSettings, ProfileOption, Tasks, put};

use super::with_item;

pub(super) fn meta_for(obj: &InMemDicomObject) -> dicom_object::meta::FileMetaTable {
    FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.1")
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
        .media_storage_sop_instance_uid(
            attrs::string(obj, tags::SOP_INSTANCE_UID).unwrap_or_else(|| "1.2.3.4".into()),
        )
        .build()
        .expect("complete meta")
}

pub(super) fn finish_identity(t: &'static Tasks) -> Outcome {
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

pub(super) fn finish_meta(t: &'static Tasks) -> Outcome {
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

pub(super) fn pipeline_leaks(
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

pub(super) fn e2e_sample(t: &'static Tasks) -> Outcome {
    let dir = radlab_labkit::sample_data_dir().join("case-002/ct");
    let mut objs = Vec::new();
    for name in ["IM00001.dcm", "IM00032.dcm", "IM00064.dcm"] {
        objs.push(radlab_dicom::file::open(&dir.join(name)).map_err(|e| e.to_string())?);
    }
    pipeline_leaks(t, &objs)?;
    Ok("three files of sample case-002: no identifying value left".into())
}
