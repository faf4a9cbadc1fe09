//! Small helpers for building data sets with dicom-object.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::Code;

/// Put one string value.
pub fn put(o: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    o.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

/// Put a multi-valued string attribute.
pub fn put_strs(o: &mut InMemDicomObject, tag: Tag, vr: VR, values: &[String]) {
    o.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(values.iter().cloned().collect()),
    ));
}

/// Put an empty (Type 2) attribute.
pub fn put_empty(o: &mut InMemDicomObject, tag: Tag, vr: VR) {
    o.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
}

/// Put unsigned shorts.
pub fn put_us(o: &mut InMemDicomObject, tag: Tag, values: &[u16]) {
    o.put(DataElement::new(
        tag,
        VR::US,
        PrimitiveValue::U16(values.iter().copied().collect()),
    ));
}

/// Put unsigned longs.
pub fn put_ul(o: &mut InMemDicomObject, tag: Tag, values: &[u32]) {
    o.put(DataElement::new(
        tag,
        VR::UL,
        PrimitiveValue::U32(values.iter().copied().collect()),
    ));
}

/// Put attribute tags (AT).
pub fn put_at(o: &mut InMemDicomObject, tag: Tag, value: Tag) {
    o.put(DataElement::new(
        tag,
        VR::AT,
        PrimitiveValue::Tags(std::iter::once(value).collect()),
    ));
}

/// Put a sequence.
pub fn put_seq(o: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    o.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

/// A decimal string (DS) of at most 16 characters.
pub fn ds(v: f64) -> String {
    for digits in (0..=10).rev() {
        let s = format!("{v:.digits$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        if s.len() <= 16 {
            return if s == "-0" { "0".into() } else { s };
        }
    }
    format!("{v:.3e}")
}

/// Put a multi-valued DS.
pub fn put_ds(o: &mut InMemDicomObject, tag: Tag, values: &[f64]) {
    let v: Vec<String> = values.iter().map(|&x| ds(x)).collect();
    put_strs(o, tag, VR::DS, &v);
}

/// A code sequence item (Code Value, or Long Code Value past 16 characters).
pub fn code_item(c: &Code) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    if c.value.len() > 16 {
        put(&mut o, tags::LONG_CODE_VALUE, VR::UC, &c.value);
    } else {
        put(&mut o, tags::CODE_VALUE, VR::SH, &c.value);
    }
    put(&mut o, tags::CODING_SCHEME_DESIGNATOR, VR::SH, &c.scheme);
    put(&mut o, tags::CODE_MEANING, VR::LO, &c.meaning);
    o
}

/// Put a one-item code sequence.
pub fn put_code(o: &mut InMemDicomObject, tag: Tag, c: &Code) {
    put_seq(o, tag, vec![code_item(c)]);
}

/// A string attribute, trimmed.
pub fn get(o: &InMemDicomObject, tag: Tag) -> Option<String> {
    radlab_dicom::attrs::string(o, tag)
}

/// The items of a sequence (none when absent).
pub fn items(o: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    radlab_dicom::attrs::items(o, tag)
}

/// The code in the first item of a code sequence.
pub fn get_code(o: &InMemDicomObject, tag: Tag) -> Option<Code> {
    let item = items(o, tag).first()?;
    Some(Code {
        value: get(item, tags::CODE_VALUE).or_else(|| get(item, tags::LONG_CODE_VALUE))?,
        scheme: get(item, tags::CODING_SCHEME_DESIGNATOR)?,
        meaning: get(item, tags::CODE_MEANING).unwrap_or_default(),
    })
}

/// Copy the listed attributes that `from` has; `Type 2` ones become empty
/// when missing.
pub fn copy_attrs(from: &InMemDicomObject, to: &mut InMemDicomObject, list: &[(Tag, VR)]) {
    for &(tag, vr) in list {
        match from.element_opt(tag).ok().flatten() {
            Some(e) => {
                to.put(e.clone());
            }
            None => put_empty(to, tag, vr),
        }
    }
}

/// A referenced-SOP item: Referenced SOP Class and Instance UIDs.
pub fn sop_ref(class: &str, instance: &str) -> InMemDicomObject {
    let mut r = InMemDicomObject::new_empty();
    put(&mut r, tags::REFERENCED_SOP_CLASS_UID, VR::UI, class);
    put(&mut r, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, instance);
    r
}

/// A Source Image Sequence item: the instance and the purpose
/// (121322, DCM, "Source image for image processing operation").
pub fn source_image_item(class: &str, instance: &str) -> InMemDicomObject {
    let mut si = sop_ref(class, instance);
    put_code(
        &mut si,
        tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
        &Code::new(
            "121322",
            "DCM",
            "Source image for image processing operation",
        ),
    );
    si
}

/// The series attributes of a result: Modality, Series Instance UID,
/// Series Number, Series Description, Instance Number 1 unless set later.
pub fn series(
    o: &mut InMemDicomObject,
    modality: &str,
    uid: &str,
    number: &str,
    description: &str,
) {
    put(o, tags::MODALITY, VR::CS, modality);
    put(o, tags::SERIES_INSTANCE_UID, VR::UI, uid);
    put(o, tags::SERIES_NUMBER, VR::IS, number);
    put(o, tags::SERIES_DESCRIPTION, VR::LO, description);
    put(o, tags::INSTANCE_NUMBER, VR::IS, "1");
}
