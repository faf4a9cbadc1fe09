//! Small typed accessors for attributes, including the functional groups of
//! enhanced multi-frame objects.

use dicom_core::header::HasLength;
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_object::{InMemDicomObject, mem::InMemElement};

/// Format a tag as `(gggg,eeee)`.
pub fn tag_string(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.group(), tag.element())
}

/// The keyword of a tag from the standard dictionary, or `""`.
pub fn keyword(tag: Tag) -> &'static str {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.alias())
        .unwrap_or("")
}

/// The text of an element stored with VR UN (explicit VR files that did not
/// know the attribute keep its original implicit-VR bytes): `Some` when the
/// bytes are printable text such as a DS, IS or CS value.
pub fn un_text(e: &InMemElement) -> Option<String> {
    if e.vr() != VR::UN {
        return None;
    }
    let bytes = e.to_bytes().ok()?;
    if bytes.is_empty() || !bytes.iter().all(|b| (0x20..0x7f).contains(b) || *b == 0) {
        return None;
    }
    Some(
        String::from_utf8_lossy(&bytes)
            .trim_end_matches(['\0', ' '])
            .to_string(),
    )
}

/// A string value, trimmed of padding; `None` when absent or empty.
pub fn string(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let e = obj.get(tag)?;
    if let Some(t) = un_text(e) {
        let t = t.trim().to_string();
        return if t.is_empty() { None } else { Some(t) };
    }
    let s = e.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == ' ' || c == '\0').to_string();
    if s.is_empty() { None } else { Some(s) }
}

/// All values of a multi-valued string attribute, each trimmed.
pub fn strings(obj: &InMemDicomObject, tag: Tag) -> Vec<String> {
    if let Some(t) = obj.get(tag).and_then(un_text) {
        return t.split('\\').map(|v| v.trim().to_string()).collect();
    }
    match obj.get(tag).and_then(|e| e.to_multi_str().ok()) {
        Some(v) => v.iter().map(|s| s.trim().to_string()).collect(),
        None => Vec::new(),
    }
}

/// First numeric value; `None` when absent, empty or not a number.
pub fn float(obj: &InMemDicomObject, tag: Tag) -> Option<f64> {
    floats(obj, tag).and_then(|v| v.first().copied())
}

/// All numeric values; `None` when absent, empty or not numbers.
pub fn floats(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let e = obj.get(tag)?;
    let v = match un_text(e) {
        Some(t) => t
            .split('\\')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .ok()?,
        None => e.to_multi_float64().ok()?,
    };
    if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
        None
    } else {
        Some(v)
    }
}

/// First integer value.
pub fn int(obj: &InMemDicomObject, tag: Tag) -> Option<i64> {
    let e = obj.get(tag)?;
    if let Some(t) = un_text(e) {
        return t
            .split('\\')
            .next()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.fract() == 0.0)
            .map(|v| v as i64);
    }
    if let Ok(v) = e.to_int::<i64>() {
        return Some(v);
    }
    // IS with stray decimals, e.g. "3.0"
    float(obj, tag)
        .filter(|v| v.fract() == 0.0)
        .map(|v| v as i64)
}

/// The items of a sequence attribute (empty when absent or not a sequence).
pub fn items(obj: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    match obj.get(tag).map(|e| e.value()) {
        Some(Value::Sequence(seq)) => seq.items(),
        _ => &[],
    }
}

/// Look up `tag` inside the functional group macro `group_seq` (e.g. Plane
/// Position Sequence) of one frame: the per-frame item first, then the shared
/// item, then the top level of the object.
pub fn functional<T>(
    obj: &InMemDicomObject,
    frame: usize,
    group_seq: Tag,
    get: impl Fn(&InMemDicomObject) -> Option<T>,
) -> Option<T> {
    use dicom_dictionary_std::tags;
    let per_frame = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    if let Some(frame_item) = per_frame.get(frame) {
        if let Some(inner) = items(frame_item, group_seq).first() {
            if let Some(v) = get(inner) {
                return Some(v);
            }
        }
    }
    let shared = items(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    if let Some(shared_item) = shared.first() {
        if let Some(inner) = items(shared_item, group_seq).first() {
            if let Some(v) = get(inner) {
                return Some(v);
            }
        }
    }
    get(obj)
}

/// The raw text of an element for error messages (at most 64 characters).
pub fn raw_text(e: &InMemElement) -> String {
    let t = match un_text(e) {
        Some(t) => t,
        None => match e.to_str() {
            Ok(s) => s.to_string(),
            Err(_) => format!("{:?}", e.value()),
        },
    };
    let t = t.trim_matches(|c: char| c == ' ' || c == '\0');
    let t: String = if t.chars().count() > 64 {
        format!("{}...", t.chars().take(64).collect::<String>())
    } else {
        t.to_string()
    };
    printable(&t)
}

/// Text from a file made safe for one line on a terminal: control and
/// non-ASCII characters escaped (`\x01`, `\u{fffd}`), backslashes kept.
pub fn printable(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        if c.is_ascii_graphic() || c == ' ' {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out
}

/// Numeric values of an attribute, checked: `Ok(None)` when absent or
/// empty, `Err(raw text)` when present but not all finite numbers.
pub fn numbers(obj: &InMemDicomObject, tag: Tag) -> Result<Option<Vec<f64>>, String> {
    let Some(e) = obj.get(tag) else {
        return Ok(None);
    };
    if e.is_empty() {
        return Ok(None);
    }
    let parsed = match un_text(e) {
        Some(t) if t.trim().is_empty() => return Ok(None),
        Some(t) => t
            .split('\\')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .ok(),
        None => e.to_multi_float64().ok(),
    };
    match parsed {
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.iter().all(|x| x.is_finite()) => Ok(Some(v)),
        _ => Err(raw_text(e)),
    }
}

/// An integer attribute, checked: `Ok(None)` when absent or empty,
/// `Err(raw text)` when present but not a whole number.
pub fn integer(obj: &InMemDicomObject, tag: Tag) -> Result<Option<i64>, String> {
    let Some(e) = obj.get(tag) else {
        return Ok(None);
    };
    if e.is_empty() {
        return Ok(None);
    }
    // One value only: these attributes have a value multiplicity of 1.
    let multi = match un_text(e) {
        Some(t) => t.split('\\').count() > 1,
        None => e.value().multiplicity() > 1,
    };
    if multi {
        return Err(raw_text(e));
    }
    if un_text(e).is_none() {
        if let Ok(v) = e.to_int::<i64>() {
            return Ok(Some(v));
        }
    }
    match numbers(obj, tag) {
        Ok(Some(v)) if v[0].fract() == 0.0 && v[0].abs() < 9.0e15 => Ok(Some(v[0] as i64)),
        Ok(None) => Ok(None),
        _ => Err(raw_text(e)),
    }
}

/// The object that holds `tag` for one frame, looked up as [`functional`]
/// does: the per-frame item of `group_seq`, then the shared item, then the
/// top level. `None` when no level has the attribute.
pub fn functional_holder(
    obj: &InMemDicomObject,
    frame: usize,
    group_seq: Tag,
    tag: Tag,
) -> Option<&InMemDicomObject> {
    use dicom_dictionary_std::tags;
    let has = |o: &InMemDicomObject| o.get(tag).is_some_and(|e| !e.is_empty());
    let per_frame = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    if let Some(inner) = per_frame
        .get(frame)
        .and_then(|f| items(f, group_seq).first())
    {
        if has(inner) {
            return Some(inner);
        }
    }
    if let Some(inner) = items(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .first()
        .and_then(|s| items(s, group_seq).first())
    {
        if has(inner) {
            return Some(inner);
        }
    }
    has(obj).then_some(obj)
}
