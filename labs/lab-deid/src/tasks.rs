//! The tasks as a table of functions (the reference, the learner's exercise
//! file, the pristine stubs and, in tests, one table per known mistake) and
//! the de-identification pipeline assembled from any such table.

use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;
use dicom_object::meta::FileMetaTable;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use radlab_dicom::attrs;

pub use crate::types::*;

radlab_grade::lab_tasks! {
    /// The action for an attribute of Table E.1-1 with options in force.
    action_for: fn(&Rule, VR, &[ProfileOption]) -> Action,
    /// Apply a per-element cleaner at every sequence depth.
    clean_dataset: fn(&InMemDicomObject, &CleanElement<'_>) -> InMemDicomObject,
    /// Whether a private data element is kept.
    keep_private: fn(Tag, Option<&str>, &[SafePrivate], bool) -> bool,
    /// The keyed replacement of a UID.
    remap_uid: fn(&Key, &str) -> String,
    /// The shifted date (`YYYYMMDD`) of a patient's file.
    shift_date: fn(&Key, &str, &str, &str) -> String,
    /// Mark an object de-identified and fix its file meta group.
    mark_deidentified: fn(&mut InMemDicomObject, &mut FileMetaTable, &[ProfileOption]),
}

/// The reference implementations, from radlab-deid.
pub mod reference {
    use super::*;

    /// The option's code if it names the attribute (K beats C), else the
    /// Basic Profile's; combined codes resolve to what suits a Type 1 attribute.
    pub fn action_for(rule: &Rule, vr: VR, options: &[ProfileOption]) -> Action {
        rule.code_with(options).resolve(vr)
    }

    /// Every element through `clean`; kept sequences rebuilt from their
    /// items, cleaned the same way, at every depth.
    pub fn clean_dataset(obj: &InMemDicomObject, clean: &CleanElement<'_>) -> InMemDicomObject {
        let mut out = InMemDicomObject::new_empty();
        for e in obj.iter() {
            let Some(new) = clean(obj, e) else { continue };
            if let Value::Sequence(seq) = new.value() {
                let items: Vec<InMemDicomObject> = seq
                    .items()
                    .iter()
                    .map(|item| clean_dataset(item, clean))
                    .collect();
                out.put(DataElement::new(
                    new.header().tag,
                    VR::SQ,
                    DataSetSequence::from(items),
                ));
            } else {
                out.put(new);
            }
        }
        out
    }

    /// Kept only with the option, a creator, and an entry of the safe list
    /// matching creator, group and element byte.
    pub fn keep_private(
        tag: Tag,
        creator: Option<&str>,
        safe: &[SafePrivate],
        retain_safe_private: bool,
    ) -> bool {
        let Some(creator) = creator else {
            return false;
        };
        retain_safe_private
            && safe.iter().any(|s| {
                s.group == tag.group()
                    && s.element == (tag.element() & 0xFF) as u8
                    && s.creator.trim() == creator.trim()
            })
    }

    /// `2.25.` + a 127-bit HMAC-SHA256 of the UID under the key.
    pub fn remap_uid(key: &Key, uid: &str) -> String {
        key.uid(uid)
    }

    /// Back by the patient's keyed offset (1 to 3652 days), on the calendar.
    pub fn shift_date(key: &Key, patient_id: &str, _sop_instance_uid: &str, date: &str) -> String {
        radlab_deid::keyed::shift_date(date, -key.date_offset_days(patient_id))
            .unwrap_or_else(|| "19000101".into())
    }

    /// PatientIdentityRemoved, the method and its codes, the temporal flag,
    /// and the file meta's SOP Instance UID.
    pub fn mark_deidentified(
        obj: &mut InMemDicomObject,
        meta: &mut FileMetaTable,
        options: &[ProfileOption],
    ) {
        put(obj, tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES");
        put(
            obj,
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            "lab-deid pipeline",
        );
        let mut codes = vec![code_item(
            "113100",
            "Basic Application Confidentiality Profile",
        )];
        codes.extend(options.iter().map(|o| code_item(o.code(), o.meaning())));
        obj.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(codes),
        ));
        if let Some(sop) = attrs::string(obj, tags::SOP_INSTANCE_UID) {
            meta.media_storage_sop_instance_uid = sop;
        }
    }
}

/// Put a string value.
pub fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str) {
    obj.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::from(v.to_string()),
    ));
}

/// A code sequence item (CodeValue, CodingSchemeDesignator DCM, CodeMeaning).
pub fn code_item(value: &str, meaning: &str) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    put(&mut item, tags::CODE_VALUE, VR::SH, value);
    put(&mut item, tags::CODING_SCHEME_DESIGNATOR, VR::SH, "DCM");
    put(&mut item, tags::CODE_MEANING, VR::LO, meaning);
    item
}

/// What the pipeline is run with.
pub struct PipelineSettings<'a> {
    /// Key of the mappings.
    pub key: &'a Key,
    /// Options on top of the Basic Profile.
    pub options: &'a [ProfileOption],
    /// Private attributes to keep with Retain Safe Private.
    pub safe_private: &'a [SafePrivate],
}

/// De-identify one object with the tasks of `t`: the learner's pipeline
/// (`--mine`) and the end-to-end checks run this. radlab-deid's
/// `Deidentifier` is the production version of the same steps.
pub fn deidentify(
    t: &Tasks,
    s: &PipelineSettings<'_>,
    obj: &DefaultDicomObject,
) -> DefaultDicomObject {
    let table = Table::standard();
    let patient = attrs::string(obj, tags::PATIENT_ID).unwrap_or_default();
    let sop = attrs::string(obj, tags::SOP_INSTANCE_UID).unwrap_or_default();
    let retain = s.options.contains(&ProfileOption::RetainSafePrivate);
    let clean = |ds: &InMemDicomObject, e: &InMemElement| -> Option<InMemElement> {
        let tag = e.header().tag;
        let vr = e.vr();
        if tag.element() == 0 {
            return None;
        }
        if tag.group() % 2 == 1 {
            if (0x10..=0xFF).contains(&tag.element()) {
                // A creator stays when some element of its block may stay.
                let creator = e
                    .value()
                    .to_str()
                    .ok()?
                    .trim_end_matches(['\0', ' '])
                    .to_string();
                let block = Tag(tag.group(), tag.element() << 8);
                let any = s.safe_private.iter().any(|sp| {
                    (t.keep_private)(
                        Tag(block.group(), block.element() | u16::from(sp.element)),
                        Some(&creator),
                        s.safe_private,
                        retain,
                    )
                });
                return any.then(|| e.clone());
            }
            let creator = radlab_deid::profile::private_creator(ds, tag);
            return (t.keep_private)(tag, creator.as_deref(), s.safe_private, retain)
                .then(|| e.clone());
        }
        let Some(rule) = table.rule(tag) else {
            return Some(e.clone());
        };
        let action = (t.action_for)(rule, vr, s.options);
        let values = || -> Vec<String> {
            e.value()
                .to_multi_str()
                .map(|v| {
                    v.iter()
                        .map(|x| x.trim_end_matches(['\0', ' ']).to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let new = |v: PrimitiveValue| Some(DataElement::new(tag, vr, v));
        let strs = |v: Vec<String>| {
            if v.is_empty() {
                PrimitiveValue::Empty
            } else {
                PrimitiveValue::Strs(v.into_iter().collect())
            }
        };
        if vr == VR::SQ {
            return match action {
                Action::Remove => None,
                Action::Zero | Action::Dummy => Some(DataElement::new(
                    tag,
                    VR::SQ,
                    DataSetSequence::from(Vec::<InMemDicomObject>::new()),
                )),
                _ => Some(e.clone()),
            };
        }
        match action {
            Action::Keep => Some(e.clone()),
            Action::Remove => None,
            Action::Zero => new(PrimitiveValue::Empty),
            Action::Uid => new(strs(
                values().iter().map(|u| (t.remap_uid)(s.key, u)).collect(),
            )),
            Action::Clean if matches!(vr, VR::DA) => new(strs(
                values()
                    .iter()
                    .map(|d| (t.shift_date)(s.key, &patient, &sop, d))
                    .collect(),
            )),
            Action::Clean => Some(e.clone()),
            Action::Dummy => new(match vr {
                VR::UI => strs(values().iter().map(|u| (t.remap_uid)(s.key, u)).collect()),
                VR::DA => PrimitiveValue::from("19000101"),
                VR::DT => PrimitiveValue::from("19000101000000"),
                VR::TM => PrimitiveValue::from("000000"),
                VR::PN => PrimitiveValue::from("ANONYMIZED^ANONYMIZED"),
                VR::IS | VR::DS => PrimitiveValue::from("0"),
                VR::AS => PrimitiveValue::from("000Y"),
                VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC | VR::AE | VR::CS => {
                    PrimitiveValue::from("ANONYMIZED")
                }
                _ => PrimitiveValue::Empty,
            }),
        }
    };
    let mut out = (t.clean_dataset)(obj, &clean);
    let mut meta = obj.meta().clone();
    (t.mark_deidentified)(&mut out, &mut meta, s.options);
    let uid = meta
        .media_storage_sop_instance_uid
        .trim_end_matches('\0')
        .to_string();
    meta.media_storage_sop_instance_uid = if uid.len() % 2 == 1 {
        format!("{uid}\0")
    } else {
        uid
    };
    meta.update_information_group_length();
    out.with_exact_meta(meta)
}
