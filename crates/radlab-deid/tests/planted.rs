//! PHI planted where de-identifiers have missed it: standard attributes
//! stored as UN, a sequence stored as UN, private blocks inside sequence
//! items, multi-valued UIDs, free text that repeats the patient's name.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use radlab_deid::{Config, Deidentifier, Key, ProfileOption};
use radlab_dicom::attrs;

fn put(o: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str) {
    o.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::from(v.to_string()),
    ));
}

fn un(o: &mut InMemDicomObject, tag: Tag, bytes: &[u8]) {
    o.put(DataElement::new(
        tag,
        VR::UN,
        PrimitiveValue::U8(bytes.to_vec().into()),
    ));
}

fn planted() -> DefaultDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put(
        &mut o,
        tags::SOP_CLASS_UID,
        VR::UI,
        "1.2.840.10008.5.1.4.1.1.7",
    );
    put(
        &mut o,
        tags::SOP_INSTANCE_UID,
        VR::UI,
        "1.2.826.0.1.3680043.10.9.1",
    );
    put(&mut o, tags::PATIENT_ID, VR::LO, "MRN-443322");
    put(&mut o, tags::STUDY_DATE, VR::DA, "20240310");
    put(
        &mut o,
        tags::ACQUISITION_DATE_TIME,
        VR::DT,
        "20240310101500",
    );
    put(
        &mut o,
        tags::STUDY_DESCRIPTION,
        VR::LO,
        "CT chest for Villanueva follow-up",
    );
    // Patient's Name stored as UN (explicit VR files written by tools that
    // did not know the attribute).
    un(&mut o, tags::PATIENT_NAME, b"VILLANUEVA^ESPERANZA");
    // A sequence stored as UN: its items cannot be parsed.
    un(
        &mut o,
        tags::REFERENCED_STUDY_SEQUENCE,
        b"\xfe\xff\x00\xe0\x10\x00\x00\x00secret 1.2.3.4.5",
    );
    // A private block inside a sequence item.
    let mut item = InMemDicomObject::new_empty();
    put(&mut item, tags::PATIENT_ID, VR::LO, "OTHER-9911");
    put(&mut item, Tag(0x0029, 0x0010), VR::LO, "VENDOR X");
    put(
        &mut item,
        Tag(0x0029, 0x1001),
        VR::LO,
        "ESPERANZA VILLANUEVA",
    );
    o.put(DataElement::new(
        tags::OTHER_PATIENT_I_DS_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![item.clone()]),
    ));
    o.put(DataElement::new(
        tags::ANATOMIC_REGION_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![item]),
    ));
    // Two UIDs in one value.
    o.put(DataElement::new(
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::Strs(
            ["1.2.3.4.5.6".to_string(), "1.2.3.4.5.7".to_string()]
                .into_iter()
                .collect(),
        ),
    ));
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.1")
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
        .media_storage_sop_instance_uid("1.2.826.0.1.3680043.10.9.1")
        .source_application_entity_title("WESTBURY_CT1")
        .build()
        .unwrap();
    o.with_exact_meta(meta)
}

fn bytes_of(o: &DefaultDicomObject) -> Vec<u8> {
    let mut b = Vec::new();
    o.write_all(&mut b).unwrap();
    b
}

fn contains(hay: &[u8], needle: &str) -> bool {
    let up: Vec<u8> = hay.iter().map(u8::to_ascii_uppercase).collect();
    up.windows(needle.len())
        .any(|w| w == needle.to_ascii_uppercase().as_bytes())
}

#[test]
fn planted_phi_is_gone_and_the_hunter_agrees() {
    let deid = Deidentifier::new(Config::basic(Key::sample())).unwrap();
    let input = planted();
    let (out, changes) = deid.deidentify("planted", &input).unwrap();
    let bytes = bytes_of(&out);
    for phi in [
        "VILLANUEVA",
        "ESPERANZA",
        "MRN-443322",
        "OTHER-9911",
        "20240310",
        "1.2.826.0.1.3680043.10.9.1",
        "1.2.3.4.5.6",
        "1.2.3.4.5",
        "WESTBURY_CT1",
        "secret",
    ] {
        assert!(!contains(&bytes, phi), "{phi} left in the output");
    }
    // UN repaired, then emptied by its real action; the UN sequence removed.
    assert_eq!(out.element(tags::PATIENT_NAME).unwrap().vr(), VR::PN);
    assert!(out.get(tags::REFERENCED_STUDY_SEQUENCE).is_none());
    assert!(
        changes
            .iter()
            .any(|c| c.path.starts_with("ReferencedStudySequence") && c.after.contains("UN"))
    );
    // Both referenced UIDs mapped, each the same way as anywhere else.
    let refs = attrs::strings(&out, tags::REFERENCED_SOP_INSTANCE_UID);
    assert_eq!(
        refs,
        [
            Key::sample().uid("1.2.3.4.5.6"),
            Key::sample().uid("1.2.3.4.5.7")
        ]
    );
    // The private block inside the kept sequence's item is gone, creator too.
    let items = attrs::items(&out, tags::ANATOMIC_REGION_SEQUENCE);
    assert_eq!(items.len(), 1);
    assert!(items[0].iter().all(|e| e.header().tag.group() % 2 == 0));
    // And the leak hunter, fed the input's identifying values, finds nothing.
    let needles = radlab_deid::text::needles(&deid, &input);
    assert!(needles.len() >= 8, "{needles:?}");
    let leaks = radlab_deid::hunt::hunt("planted", &bytes, &out, &needles);
    assert!(leaks.is_empty(), "{leaks:#?}");
}

#[test]
fn the_hunter_finds_what_a_careless_copy_leaves() {
    // The input itself, written out unchanged, must be full of leaks in
    // every place the planted values sit: the hunter is not blind.
    let deid = Deidentifier::new(Config::basic(Key::sample())).unwrap();
    let input = planted();
    let bytes = bytes_of(&input);
    let needles = radlab_deid::text::needles(&deid, &input);
    let leaks = radlab_deid::hunt::hunt("copy", &bytes, &input, &needles);
    for place in [
        "PatientID (0010,0020)",
        "OtherPatientIDsSequence[0] > private (0029,1001)",
        "file meta (0002,0003)",
        "StudyDate (0008,0020)",
    ] {
        assert!(
            leaks.iter().any(|l| l.location == place),
            "nothing found at {place}: {leaks:#?}"
        );
    }
}

#[test]
fn modified_dates_shift_dates_and_date_times_clean_descriptors_scrubs_names() {
    let mut config = Config::basic(Key::sample());
    config.options = vec![
        ProfileOption::RetainModifiedDates,
        ProfileOption::CleanDescriptors,
    ];
    let deid = Deidentifier::new(config).unwrap();
    let input = planted();
    let (out, _) = deid.deidentify("planted", &input).unwrap();
    let off = deid.date_offset(&input);
    let want = radlab_deid::keyed::shift_date("20240310", off).unwrap();
    assert_eq!(attrs::string(&out, tags::STUDY_DATE), Some(want.clone()));
    assert_eq!(
        attrs::string(&out, tags::ACQUISITION_DATE_TIME),
        Some(format!("{want}101500"))
    );
    assert_eq!(
        attrs::string(&out, tags::STUDY_DESCRIPTION).as_deref(),
        Some("CT chest for * follow-up")
    );
    assert_eq!(
        attrs::string(&out, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED).as_deref(),
        Some("MODIFIED")
    );
    let methods = attrs::strings(&out, tags::DEIDENTIFICATION_METHOD);
    assert_eq!(methods.len(), 3);
    assert!(methods.iter().all(|m| m.len() <= 64));
}
