//! Task walk-sequences: cleaning reaches every item of every sequence.

use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use radlab_dicom::attrs;
use radlab_grade::Outcome;

use crate::tasks::{Tasks, put};

use super::with_item;

/// A cleaner that empties Patient ID wherever it is and drops Patient's Name.
pub(super) fn phi_cleaner(
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

/// Every Patient ID value at any depth, and whether a Patient's Name is left.
pub(super) fn ids_and_names(obj: &InMemDicomObject, ids: &mut Vec<String>, names: &mut usize) {
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

pub(super) fn walk_top(t: &'static Tasks) -> Outcome {
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

pub(super) fn walk_nested(t: &'static Tasks) -> Outcome {
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

pub(super) fn walk_deep(t: &'static Tasks) -> Outcome {
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
pub(super) fn walk_item_context(t: &'static Tasks) -> Outcome {
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
