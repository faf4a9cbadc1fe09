//! Helpers for one data element of a data set: the Private Creator of a
//! private element, a standard attribute stored as UN read with its real
//! VR, and the path by which reports name an element. Both the profile and
//! the identifying-value search use them, so they depend on neither.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;
use radlab_dicom::attrs;

/// A standard attribute stored with VR UN, read again with the dictionary's VR.
pub enum Repaired {
    /// Not UN, private, or not text: use the element as it is.
    AsIs,
    /// The same value with its real (string) VR.
    Element(InMemElement),
    /// A sequence stored as UN: its items cannot be reached.
    OpaqueSequence,
}

/// The dictionary's VR of a standard tag, when it has exactly one.
pub fn dictionary_vr(tag: Tag) -> Option<VR> {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
    match dicom_dictionary_std::StandardDataDictionary
        .by_tag(tag)?
        .vr()
    {
        VirtualVr::Exact(vr) => Some(vr),
        _ => None,
    }
}

/// Read a standard attribute stored as UN with its real VR (see [`Repaired`]).
pub fn repair_un(e: &InMemElement) -> Repaired {
    let tag = e.header().tag;
    if e.vr() != VR::UN || tag.group() % 2 == 1 {
        return Repaired::AsIs;
    }
    let Some(vr) = dictionary_vr(tag) else {
        return Repaired::AsIs;
    };
    if vr == VR::SQ {
        return Repaired::OpaqueSequence;
    }
    let string_vr = matches!(
        vr,
        VR::AE
            | VR::AS
            | VR::CS
            | VR::DA
            | VR::DS
            | VR::DT
            | VR::IS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::ST
            | VR::TM
            | VR::UC
            | VR::UI
            | VR::UR
            | VR::UT
    );
    if !string_vr {
        return Repaired::AsIs;
    }
    let Ok(bytes) = e.to_bytes() else {
        return Repaired::AsIs;
    };
    let text = String::from_utf8_lossy(&bytes);
    let values: Vec<String> = text
        .trim_end_matches(['\0', ' '])
        .split('\\')
        .map(|v| v.trim_matches(['\0', ' ']).to_string())
        .collect();
    let value = if bytes.is_empty() {
        PrimitiveValue::Empty
    } else {
        strs(values)
    };
    Repaired::Element(DataElement::new(tag, vr, value))
}

/// The Private Creator of the block holding `tag`, from the same data set.
pub fn private_creator(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let block = tag.element() >> 8;
    if block < 0x10 {
        return None;
    }
    let creator = obj.get(Tag(tag.group(), block))?;
    creator
        .value()
        .to_str()
        .ok()
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
}

pub(crate) fn seq_name(tag: Tag) -> String {
    let kw = attrs::keyword(tag);
    if kw.is_empty() {
        attrs::tag_string(tag)
    } else {
        kw.to_string()
    }
}

/// `prefix` + `Keyword (gggg,eeee)` (or `private (gggg,eeee)`).
pub fn element_path(prefix: &str, tag: Tag) -> String {
    let kw = attrs::keyword(tag);
    let name = if tag.group() % 2 == 1 {
        "private"
    } else if kw.is_empty() {
        "unknown"
    } else {
        kw
    };
    format!("{prefix}{name} {}", attrs::tag_string(tag))
}

fn strs(v: Vec<String>) -> PrimitiveValue {
    if v.is_empty() {
        PrimitiveValue::Empty
    } else {
        PrimitiveValue::Strs(v.into_iter().collect())
    }
}
