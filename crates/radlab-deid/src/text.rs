//! The identifying values of an object (what the profile removes or
//! replaces) and cleaning them out of free text.

use std::collections::BTreeSet;

use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_object::InMemDicomObject;
use serde::Serialize;

use crate::element::{Repaired, element_path, private_creator, repair_un};
use crate::table::Action;

/// What the search needs of a de-identification profile: the action on a
/// standard attribute and whether a private one is kept.
/// [`crate::Deidentifier`] is one.
pub trait Policy {
    /// The action the profile takes on the attribute `tag` of VR `vr`.
    fn action(&self, tag: Tag, vr: VR) -> Action;
    /// Whether the private element `tag` in a block of `creator` is kept.
    fn keeps_private(&self, tag: Tag, creator: Option<&str>) -> bool;
}

/// An identifying value found in an input, in upper case, with where it was.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Needle {
    /// The value, upper case.
    pub text: String,
    /// How it was derived: `value`, `name part`, or a date format such as `YYYY-MM-DD`.
    pub form: &'static str,
    /// Where it came from: tag path in the input.
    pub origin: String,
}

/// Values too generic to be identifying even where the profile removes them
/// (and radlab's own dummies), compared without separators.
const GENERIC: &[&str] = &[
    "ANONYMIZED",
    "ANONYMOUS",
    "UNKNOWN",
    "NONE",
    "NULL",
    "TEST",
    "19000101",
    "19000101000000",
    "00000000",
];

const TEXT_VRS: &[VR] = &[
    VR::PN,
    VR::LO,
    VR::SH,
    VR::LT,
    VR::ST,
    VR::UT,
    VR::UC,
    VR::AE,
    VR::DA,
    VR::DT,
    VR::UI,
];

/// Every identifying value of `obj` the profile is meant to remove or
/// replace, at any depth and in private blocks, in the forms a leak could
/// take (whole value, each name part of four letters or more, the date in
/// common formats). Values that also appear in attributes the profile keeps
/// are left out: they are not identifying in this object.
pub fn needles(deid: &dyn Policy, obj: &InMemDicomObject) -> Vec<Needle> {
    let (found, kept) = needles_and_kept(deid, obj);
    filter(found, &kept)
}

/// The needles of `obj` before filtering, and the values it keeps (upper
/// case): a folder run filters the needles of all files by the values kept
/// in any file.
pub fn needles_and_kept(
    deid: &dyn Policy,
    obj: &InMemDicomObject,
) -> (Vec<Needle>, BTreeSet<String>) {
    let mut found = Vec::new();
    let mut kept = BTreeSet::new();
    walk(deid, obj, "", &mut found, &mut kept);
    (found, kept)
}

/// Drop needles that are kept values, generic words or shorter than four
/// characters; one needle per distinct text.
pub fn filter(mut found: Vec<Needle>, kept: &BTreeSet<String>) -> Vec<Needle> {
    // A value inside a kept value ("OFFIS E.V." in a kept Manufacturer
    // "OFFIS E.V. DCMTK") is there on purpose, whatever else it is.
    let squeezed_kept: Vec<String> = kept.iter().map(|k| squeeze(k)).collect();
    found.retain(|n: &Needle| {
        let sq = squeeze(&n.text);
        !kept.contains(&n.text)
            && !GENERIC.iter().any(|g| squeeze(g) == sq)
            && n.text.len() >= 4
            && !squeezed_kept.iter().any(|k| k.contains(sq.as_str()))
    });
    found.sort();
    found.dedup_by(|a, b| a.text == b.text);
    found
}

/// The identifying values only (upper case, longest first), for [`scrub`].
pub fn identifying_values(deid: &dyn Policy, obj: &InMemDicomObject) -> Vec<String> {
    let mut v: Vec<String> = needles(deid, obj).into_iter().map(|n| n.text).collect();
    v.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    v
}

fn walk(
    deid: &dyn Policy,
    obj: &InMemDicomObject,
    prefix: &str,
    found: &mut Vec<Needle>,
    kept: &mut BTreeSet<String>,
) {
    for e in obj.iter() {
        let tag = e.header().tag;
        let repaired;
        let e = match repair_un(e) {
            Repaired::Element(r) => {
                repaired = r;
                &repaired
            }
            _ => e,
        };
        let vr = e.vr();
        let private = tag.group() % 2 == 1;
        let action = if private {
            if tag.element() >= 0x1000
                && deid.keeps_private(tag, private_creator(obj, tag).as_deref())
            {
                Action::Keep
            } else {
                Action::Remove
            }
        } else {
            deid.action(tag, vr)
        };
        if let Value::Sequence(seq) = e.value() {
            let name = radlab_dicom::attrs::keyword(tag);
            for (i, item) in seq.items().iter().enumerate() {
                walk(deid, item, &format!("{prefix}{name}[{i}] > "), found, kept);
            }
            continue;
        }
        // Private values are text only when they look like text.
        let values: Vec<String> = if private && !TEXT_VRS.contains(&vr) {
            match radlab_dicom::attrs::un_text(e) {
                Some(t) => t.split('\\').map(str::to_string).collect(),
                None => continue,
            }
        } else if TEXT_VRS.contains(&vr) || vr == VR::CS || vr == VR::TM || vr == VR::AS {
            match e.value().to_multi_str() {
                Ok(v) => v
                    .iter()
                    .map(|s| s.trim_matches(['\0', ' ']).to_string())
                    .collect(),
                Err(_) => continue,
            }
        } else {
            continue;
        };
        // Private creators name software, not people.
        if private && (0x0010..=0x00FF).contains(&tag.element()) {
            if let Ok(v) = e.value().to_str() {
                kept.insert(v.trim_matches(['\0', ' ']).to_ascii_uppercase());
            }
            continue;
        }
        // A private value kept by the safe list is not evidence that its
        // content is harmless: it is neither a needle nor an excuse.
        if private && action == Action::Keep {
            continue;
        }
        // Text the profile cleans (C) stays, scrubbed of the other values:
        // its own words are neither needles nor kept values.
        if action == Action::Clean && !matches!(vr, VR::DA | VR::DT) {
            continue;
        }
        let keep = action == Action::Keep
            || (action == Action::Clean && matches!(vr, VR::TM))
            || vr == VR::CS
            || vr == VR::TM
            || vr == VR::AS;
        for v in values {
            let up = v.to_ascii_uppercase();
            if up.trim().is_empty() {
                continue;
            }
            if keep {
                kept.insert(up.trim().to_string());
                continue;
            }
            let origin = element_path(prefix, tag);
            push_forms(&up, vr, tag, &origin, found);
        }
    }
}

fn push_forms(up: &str, vr: VR, _tag: Tag, origin: &str, found: &mut Vec<Needle>) {
    let mut add = |text: String, form: &'static str| {
        found.push(Needle {
            text,
            form,
            origin: origin.to_string(),
        })
    };
    match vr {
        VR::PN => {
            let joined: String = up
                .split(['^', '='])
                .filter(|p| !p.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            add(up.trim_end_matches('^').to_string(), "value");
            add(joined, "name parts joined");
            for part in up.split(['^', '=', ' ', ',']) {
                if part.len() >= 4 {
                    add(part.to_string(), "name part");
                }
            }
        }
        VR::DA | VR::DT => {
            // A value with non-ASCII bytes may have no char boundary at 8.
            let d = up.get(..8).unwrap_or(up);
            if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
                let (y, m, dd) = (&d[..4], &d[4..6], &d[6..8]);
                add(d.to_string(), "YYYYMMDD");
                add(format!("{y}-{m}-{dd}"), "YYYY-MM-DD");
                add(format!("{y}/{m}/{dd}"), "YYYY/MM/DD");
                add(format!("{dd}.{m}.{y}"), "DD.MM.YYYY");
                add(format!("{m}/{dd}/{y}"), "MM/DD/YYYY");
            }
        }
        _ => add(up.trim().to_string(), "value"),
    }
}

/// Upper-case ASCII letters and digits only: `123-45-6789` and `123 45 6789`
/// both become `123456789`.
pub fn squeeze(s: &str) -> String {
    s.bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_uppercase() as char)
        .collect()
}

/// Replace every occurrence of an identifying value in `s` (ignoring
/// ASCII case) with `*`. `values` are upper case, longest first.
///
/// ```
/// let v = vec!["HALVORSEN".to_string(), "PAT-0042".to_string()];
/// assert_eq!(radlab_deid::text::scrub("CT chest Halvorsen pat-0042", &v), "CT chest * *");
/// ```
pub fn scrub(s: &str, values: &[String]) -> String {
    let mut out = s.to_string();
    for v in values {
        if v.is_empty() {
            continue;
        }
        loop {
            let upper = out.to_ascii_uppercase();
            let Some(at) = upper.find(v.as_str()) else {
                break;
            };
            out.replace_range(at..at + v.len(), "*");
        }
    }
    out
}

#[cfg(test)]
mod fuzz_finds {
    use super::*;

    /// radlab-fuzz: a DA value whose eighth byte starts a two-byte character
    /// (`2001010ÿ`) was sliced at byte 8 and panicked.
    #[test]
    fn dates_with_non_ascii_bytes_do_not_panic() {
        let mut found = Vec::new();
        for v in ["2001010ÿ", "200308\u{fffd}5", "1968070\u{80}", "ü´¥¼"] {
            push_forms(v, VR::DA, Tag(0x0008, 0x0020), "StudyDate", &mut found);
        }
        assert!(found.is_empty(), "{found:?}");
        push_forms(
            "20010101",
            VR::DA,
            Tag(0x0008, 0x0020),
            "StudyDate",
            &mut found,
        );
        assert_eq!(found.len(), 5);
    }
}
