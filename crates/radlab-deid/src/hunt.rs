//! The leak hunter: search de-identified files for every identifying value
//! of the inputs, element by element at every depth (file meta and private
//! blocks included) and in the raw bytes of the file.

use dicom_core::VR;
use dicom_core::value::Value;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use memchr::memmem;
use serde::Serialize;

use crate::element::element_path;
use crate::text::{Needle, squeeze};

/// One identifying value found in an output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leak {
    /// The output file (as the caller names it).
    pub file: String,
    /// Where: a tag path, or `raw bytes at offset N`.
    pub location: String,
    /// The value, masked (first character and length).
    pub value: String,
    /// The form that matched (`value`, `name part`, `YYYY-MM-DD`, ...).
    pub form: &'static str,
    /// Where the value was in the input.
    pub origin: String,
}

/// Search one output file (`bytes` as written, `obj` as parsed) for `needles`.
pub fn hunt(file: &str, bytes: &[u8], obj: &DefaultDicomObject, needles: &[Needle]) -> Vec<Leak> {
    let mut leaks = Vec::new();
    // Element values, squeezed so that separators do not hide a match.
    let squeezed: Vec<(String, &Needle)> = needles
        .iter()
        .map(|n| (squeeze(&n.text), n))
        .filter(|(s, _)| s.len() >= 4)
        .collect();
    let mut elements = Vec::new();
    for e in obj.meta().to_element_iter() {
        if let Ok(s) = e.value().to_str() {
            elements.push((
                format!(
                    "file meta {}",
                    radlab_dicom::attrs::tag_string(e.header().tag)
                ),
                s.to_string(),
            ));
        }
    }
    collect(obj, "", &mut elements);
    for (path, value) in &elements {
        let sq = squeeze(value);
        // A UID's digits would contain short numbers by chance: compare a
        // UID-like value only with whole UIDs.
        let uid_like = value.contains('.')
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'\\' || b == 0 || b == b' ');
        let words = words_of(value);
        for (s, n) in &squeezed {
            let hit = if uid_like {
                n.text.contains('.')
                    && value
                        .split('\\')
                        .any(|v| v.trim_matches(['\0', ' ']) == n.text)
            } else if is_short(n) {
                // A short value (a name part) counts only as a whole word:
                // "MARK" is not in "MARKER".
                let nw = words_of(&n.text);
                !nw.is_empty() && words.windows(nw.len()).any(|w| w == nw.as_slice())
            } else {
                sq.contains(s.as_str())
            };
            if hit {
                leaks.push(Leak {
                    file: file.to_string(),
                    location: path.clone(),
                    value: radlab_dicom::summary::mask(&n.text),
                    form: n.form,
                    origin: n.origin.clone(),
                });
            }
        }
    }
    // Raw bytes, upper-cased: catches what the parser does not show.
    let upper: Vec<u8> = bytes.iter().map(u8::to_ascii_uppercase).collect();
    // All-digit values (dates as YYYYMMDD, numeric IDs) are left to the
    // element search: the digits of radlab's own 2.25 UIDs would match them.
    for n in needles
        .iter()
        .filter(|n| !n.text.bytes().all(|b| b.is_ascii_digit()))
    {
        let short = is_short(n);
        let found = memmem::find_iter(&upper, n.text.as_bytes()).find(|&at| {
            let end = at + n.text.len();
            !short
                || ((at == 0 || !upper[at - 1].is_ascii_alphanumeric())
                    && (end == upper.len() || !upper[end].is_ascii_alphanumeric()))
        });
        if let Some(at) = found {
            let already = leaks
                .iter()
                .any(|l| l.origin == n.origin && l.form == n.form);
            if !already {
                leaks.push(Leak {
                    file: file.to_string(),
                    location: format!("raw bytes at offset {at}"),
                    value: radlab_dicom::summary::mask(&n.text),
                    form: n.form,
                    origin: n.origin.clone(),
                });
            }
        }
    }
    leaks
}

/// Needles shorter than 8 characters match whole words only.
fn is_short(n: &Needle) -> bool {
    n.text.len() < 8
}

/// Upper-case alphanumeric words of a value.
fn words_of(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_uppercase())
        .collect()
}

fn collect(obj: &InMemDicomObject, prefix: &str, out: &mut Vec<(String, String)>) {
    for e in obj.iter() {
        let tag = e.header().tag;
        match e.value() {
            Value::Sequence(seq) => {
                let name = radlab_dicom::attrs::keyword(tag);
                for (i, item) in seq.items().iter().enumerate() {
                    collect(item, &format!("{prefix}{name}[{i}] > "), out);
                }
            }
            Value::Primitive(p) => {
                // Text-bearing values only: numbers (DS, IS) cannot hold a
                // name, and their digits would match numeric IDs by chance.
                let numeric = matches!(e.vr(), VR::DS | VR::IS)
                    || (e.vr() == VR::UN
                        && matches!(crate::element::dictionary_vr(tag), Some(VR::DS | VR::IS)));
                if numeric {
                    continue;
                }
                let text = match radlab_dicom::attrs::un_text(e) {
                    Some(t) => t,
                    None if !matches!(e.vr(), VR::DS | VR::IS)
                        && matches!(
                            p,
                            dicom_core::PrimitiveValue::Str(_)
                                | dicom_core::PrimitiveValue::Strs(_)
                        ) =>
                    {
                        p.to_str().to_string()
                    }
                    None => continue,
                };
                out.push((element_path(prefix, tag), text));
            }
            Value::PixelSequence(_) => {}
        }
    }
}
