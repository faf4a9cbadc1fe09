//! radlab's TID 1500 / TID 1411 template check and UCUM grammar check.
//!
//! `dciodvfy` checks the IOD (modules, attributes, value representations)
//! and `dsrdump` the SR relationships, but neither reads templates: a report
//! without a tracking UID, an observer type or a template identifier, or
//! with the unit `mm^3`, passes both. This module checks what a TID 1500
//! consumer relies on. Each problem names the content item by its position
//! (`1.6.1.3`, as `dsrdump` numbers them) and the template row.

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::dataset::{get, items};
use crate::sr::{Item, Relationship as R, Value};

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Content item position (`1` is the root), or `dataset`.
    pub at: String,
    /// What is wrong, naming the template row.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.at, self.message)
    }
}

struct Row {
    name: &'static str,
    code: (&'static str, &'static str),
    rel: R,
    vt: &'static str,
    min: usize,
    max: usize,
}

const fn row(
    name: &'static str,
    code: (&'static str, &'static str),
    rel: R,
    vt: &'static str,
    min: usize,
    max: usize,
) -> Row {
    Row {
        name,
        code,
        rel,
        vt,
        min,
        max,
    }
}

/// The rows of TID 1500 radlab checks (TID 1001 observer context as
/// radlab writes it: a device observer).
const ROOT_ROWS: &[Row] = &[
    row(
        "Language of Content Item and Descendants",
        ("121049", "DCM"),
        R::HasConceptMod,
        "CODE",
        1,
        1,
    ),
    row(
        "Observer Type",
        ("121005", "DCM"),
        R::HasObsContext,
        "CODE",
        1,
        1,
    ),
    row(
        "Device Observer UID",
        ("121012", "DCM"),
        R::HasObsContext,
        "UIDREF",
        1,
        1,
    ),
    row(
        "Procedure reported",
        ("121058", "DCM"),
        R::HasConceptMod,
        "CODE",
        1,
        usize::MAX,
    ),
    row(
        "Imaging Measurements",
        ("126010", "DCM"),
        R::Contains,
        "CONTAINER",
        1,
        1,
    ),
];

/// The rows of TID 1411 radlab checks (a volumetric group referencing a
/// SEG segment).
const GROUP_ROWS: &[Row] = &[
    row(
        "Tracking Identifier",
        ("112039", "DCM"),
        R::HasObsContext,
        "TEXT",
        1,
        1,
    ),
    row(
        "Tracking Unique Identifier",
        ("112040", "DCM"),
        R::HasObsContext,
        "UIDREF",
        1,
        1,
    ),
    row("Finding", ("121071", "DCM"), R::Contains, "CODE", 1, 1),
    row(
        "Finding Site",
        ("363698007", "SCT"),
        R::HasConceptMod,
        "CODE",
        0,
        usize::MAX,
    ),
    row(
        "Algorithm Name",
        ("111001", "DCM"),
        R::HasConceptMod,
        "TEXT",
        0,
        1,
    ),
    row(
        "Algorithm Version",
        ("111003", "DCM"),
        R::HasConceptMod,
        "TEXT",
        0,
        1,
    ),
    row(
        "Referenced Segment",
        ("121191", "DCM"),
        R::Contains,
        "IMAGE",
        1,
        1,
    ),
    row(
        "Source series for segmentation",
        ("121232", "DCM"),
        R::Contains,
        "UIDREF",
        1,
        1,
    ),
];

fn p(at: &str, message: String) -> Problem {
    Problem {
        at: at.to_string(),
        message,
    }
}

fn check_rows(it: &Item, at: &str, template: &str, rows: &[Row], out: &mut Vec<Problem>) {
    for r in rows {
        let found: Vec<(usize, &Item)> = it
            .children
            .iter()
            .enumerate()
            .filter(|(_, c)| c.concept.as_ref().is_some_and(|k| k.is(r.code.0, r.code.1)))
            .collect();
        if found.len() < r.min {
            out.push(p(
                at,
                format!(
                    "TID {template}: \"{}\" ({}, {}) is required and missing",
                    r.name, r.code.0, r.code.1
                ),
            ));
        }
        if found.len() > r.max {
            out.push(p(
                at,
                format!(
                    "TID {template}: \"{}\" appears {} times, at most {} allowed",
                    r.name,
                    found.len(),
                    r.max
                ),
            ));
        }
        for (i, c) in found {
            let cat = format!("{at}.{}", i + 1);
            if c.relationship != Some(r.rel) {
                out.push(p(
                    &cat,
                    format!(
                        "TID {template}: \"{}\" must be {} its parent, not {}",
                        r.name,
                        r.rel.term(),
                        c.relationship.map(|x| x.term()).unwrap_or("a root")
                    ),
                ));
            }
            if c.value.type_term() != r.vt {
                out.push(p(
                    &cat,
                    format!(
                        "TID {template}: \"{}\" must be a {}, not a {}",
                        r.name,
                        r.vt,
                        c.value.type_term()
                    ),
                ));
            }
            if let Value::UidRef(u) = &c.value {
                if !is_uid(u) {
                    out.push(p(
                        &cat,
                        format!("\"{}\" is not a valid UID: \"{u}\"", r.name),
                    ));
                }
            }
        }
    }
}

/// True for a UID: 1-64 characters, dot-separated numbers without leading
/// zeros (PS3.5 9.1).
pub fn is_uid(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && u.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

fn template_of(it: &Item) -> Option<&str> {
    match &it.value {
        Value::Container { template } => template.as_deref(),
        _ => None,
    }
}

/// Check a decoded content tree against TID 1500 / TID 1411 and every NUM
/// against UCUM.
pub fn check_tree(root: &Item) -> Vec<Problem> {
    let mut out = Vec::new();
    if !root.concept.as_ref().is_some_and(|c| c.is("126000", "DCM")) {
        out.push(p(
            "1",
            "TID 1500: the root concept must be (126000, DCM, \"Imaging Measurement Report\")"
                .into(),
        ));
    }
    if !matches!(root.value, Value::Container { .. }) {
        out.push(p("1", "TID 1500: the root must be a CONTAINER".into()));
    }
    if template_of(root) != Some("1500") {
        out.push(p(
            "1",
            "the root has no ContentTemplateSequence naming DCMR TID 1500".into(),
        ));
    }
    check_rows(root, "1", "1500", ROOT_ROWS, &mut out);
    if let Some((i, ot)) = root
        .children
        .iter()
        .enumerate()
        .find(|(_, c)| c.concept.as_ref().is_some_and(|k| k.is("121005", "DCM")))
    {
        if let Value::Code(c) = &ot.value {
            if !c.is("121007", "DCM") && !c.is("121006", "DCM") {
                out.push(p(
                    &format!("1.{}", i + 1),
                    format!("TID 1002: Observer Type must be Person or Device, not {c}"),
                ));
            }
        }
    }
    for (i, im) in root.children.iter().enumerate() {
        if !im.concept.as_ref().is_some_and(|k| k.is("126010", "DCM")) {
            continue;
        }
        let im_at = format!("1.{}", i + 1);
        for (j, g) in im.children.iter().enumerate() {
            let at = format!("{im_at}.{}", j + 1);
            if !g.concept.as_ref().is_some_and(|k| k.is("125007", "DCM")) {
                continue;
            }
            if template_of(g) != Some("1411") {
                out.push(p(
                    &at,
                    "a Measurement Group without a ContentTemplateSequence naming TID 1411".into(),
                ));
            }
            check_rows(g, &at, "1411", GROUP_ROWS, &mut out);
            let has = |code: &str| g.find(code, "DCM").next().is_some();
            if has("111001") != has("111003") {
                out.push(p(
                    &at,
                    "TID 4019: Algorithm Name and Algorithm Version go together".into(),
                ));
            }
            if let Some(Item {
                value: Value::Image { segment: None, .. },
                ..
            }) = g.find("121191", "DCM").next()
            {
                out.push(p(
                    &at,
                    "TID 1411: Referenced Segment without a ReferencedSegmentNumber".into(),
                ));
            }
            if !g
                .children
                .iter()
                .any(|c| matches!(c.value, Value::Num { .. }))
            {
                out.push(p(
                    &at,
                    "TID 1411: a Measurement Group with no measurement (NUM)".into(),
                ));
            }
        }
    }
    walk(root, "1", &mut out);
    out
}

/// Rules on every item: NUM units are UCUM with valid grammar, values are
/// finite numbers; a CONTAINER's children are never INFERRED FROM,
/// SELECTED FROM or HAS PROPERTIES (the part of the SR relationship rules
/// a TID 1500 tree can break; dsrdump checks the whole table).
fn walk(it: &Item, at: &str, out: &mut Vec<Problem>) {
    if let Value::Num { value, unit } = &it.value {
        let name = it
            .concept
            .as_ref()
            .map(|c| c.meaning.as_str())
            .unwrap_or("a NUM");
        if unit.scheme != "UCUM" {
            out.push(p(
                at,
                format!("\"{name}\": unit {unit} is not a UCUM code (CID 82 units are UCUM)"),
            ));
        } else if let Err(e) = ucum(&unit.value) {
            out.push(p(
                at,
                format!("\"{name}\": unit \"{}\" is not valid UCUM: {e}", unit.value),
            ));
        }
        if !value.trim().parse::<f64>().is_ok_and(f64::is_finite) {
            out.push(p(
                at,
                format!("\"{name}\": Numeric Value \"{value}\" is not a finite number"),
            ));
        }
    }
    for (i, c) in it.children.iter().enumerate() {
        let cat = format!("{at}.{}", i + 1);
        if matches!(it.value, Value::Container { .. })
            && matches!(
                c.relationship,
                Some(R::InferredFrom | R::SelectedFrom | R::HasProperties)
            )
        {
            out.push(p(
                &cat,
                format!(
                    "{} cannot be the relationship of a CONTAINER's child",
                    c.relationship.map(|r| r.term()).unwrap_or("")
                ),
            ));
        }
        walk(c, &cat, out);
    }
}

/// Check a TID 1500 SR data set: the tree, plus that every instance an
/// IMAGE item references is listed in CurrentRequestedProcedureEvidenceSequence.
pub fn check_report(o: &InMemDicomObject) -> Vec<Problem> {
    let root = match Item::decode(o, 32) {
        Ok(r) => r,
        Err(e) => return vec![p("dataset", e)],
    };
    let mut out = check_tree(&root);
    let mut listed = std::collections::HashSet::new();
    for study in items(o, tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE) {
        for series in items(study, tags::REFERENCED_SERIES_SEQUENCE) {
            for sop in items(series, tags::REFERENCED_SOP_SEQUENCE) {
                if let Some(u) = get(sop, tags::REFERENCED_SOP_INSTANCE_UID) {
                    listed.insert(u);
                }
            }
        }
    }
    let mut refs = Vec::new();
    collect_refs(&root, "1", &mut refs);
    for (at, uid) in refs {
        if !listed.contains(&uid) {
            out.push(p(&at, format!("references {uid}, which CurrentRequestedProcedureEvidenceSequence does not list")));
        }
    }
    out
}

fn collect_refs(it: &Item, at: &str, out: &mut Vec<(String, String)>) {
    if let Value::Image { sop_instance, .. } = &it.value {
        out.push((at.to_string(), sop_instance.clone()));
    }
    for (i, c) in it.children.iter().enumerate() {
        collect_refs(c, &format!("{at}.{}", i + 1), out);
    }
}

/// UCUM atoms radlab accepts (metric ones take a prefix). A subset of the
/// UCUM tables: the units of imaging measurements, by hand because no
/// maintained Rust crate parses UCUM.
const METRIC: &[&str] = &[
    "m", "g", "s", "L", "l", "mol", "K", "Cel", "Bq", "Gy", "Sv", "Pa", "Hz", "N", "J", "W", "A",
    "V", "T", "eq", "U", "cd", "rad", "sr", "[iU]", "[IU]",
];
const NON_METRIC: &[&str] = &[
    "%", "[hnsf'U]", "min", "h", "d", "wk", "mo", "a", "deg", "[ppm]", "[ppb]", "mm[Hg]", "[in_i]",
    "[lb_av]", "[arb'U]", "[cnt]",
];
const PREFIXES: &[&str] = &[
    "da", "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "d", "c", "m", "u", "n", "p", "f", "a", "z",
    "y",
];

/// Check a unit string against UCUM's grammar (case-sensitive form), for
/// the atoms in radlab's table. `mm3`, `mm2`, `[hnsf'U]`, `1`, `mg/mL`,
/// `/s`, `{ratio}` pass; `mm^3`, `HU`, `cc`, `mm 3` do not.
///
/// ```
/// use radlab_results::check::ucum;
/// assert!(ucum("mm3").is_ok() && ucum("[hnsf'U]").is_ok() && ucum("1").is_ok());
/// assert!(ucum("mm^3").is_err() && ucum("HU").is_err());
/// ```
pub fn ucum(unit: &str) -> Result<(), String> {
    if unit.is_empty() {
        return Err("empty".into());
    }
    let mut s = unit;
    if let Some(rest) = s.strip_prefix('/') {
        s = rest;
    }
    term(s)
}

fn term(s: &str) -> Result<(), String> {
    // Split on '.' and '/' outside brackets, braces and parentheses.
    let mut depth = 0i32;
    let mut start = 0;
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'[' | b'(' | b'{' => depth += 1,
            b']' | b')' | b'}' => depth -= 1,
            b'.' | b'/' if depth == 0 => {
                component(&s[start..i])?;
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(format!("unbalanced '{}'", c as char));
        }
    }
    if depth != 0 {
        return Err("an unclosed bracket".into());
    }
    component(&s[start..])
}

fn component(c: &str) -> Result<(), String> {
    if c.is_empty() {
        return Err("an empty component".into());
    }
    if let Some(inner) = c.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        return term(inner);
    }
    // A trailing annotation {..} is allowed on any component, or alone.
    let c = match c.find('{') {
        Some(i) => {
            let ann = &c[i..];
            if !ann.ends_with('}') || ann[1..ann.len() - 1].contains(['{', '}']) {
                return Err(format!("bad annotation \"{ann}\""));
            }
            if !ann.is_ascii() {
                return Err("annotations are ASCII".into());
            }
            if i == 0 {
                return Ok(());
            }
            &c[..i]
        }
        None => c,
    };
    if c.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(()); // an integer factor, e.g. "1" or "10"
    }
    // Exponent: trailing digits, optionally signed; not for bracketed atoms' insides.
    let body_end = c
        .trim_end_matches(|ch: char| ch.is_ascii_digit())
        .trim_end_matches(['+', '-'])
        .len();
    let (atom, exp) = c.split_at(body_end);
    if !exp.is_empty()
        && !exp
            .trim_start_matches(['+', '-'])
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Err(format!("bad exponent \"{exp}\""));
    }
    if exp.starts_with(['+', '-']) && exp.len() == 1 {
        return Err(format!("a sign without an exponent in \"{c}\""));
    }
    if NON_METRIC.contains(&atom) || METRIC.contains(&atom) {
        return Ok(());
    }
    for p in PREFIXES {
        if let Some(rest) = atom.strip_prefix(p) {
            if METRIC.contains(&rest) {
                return Ok(());
            }
        }
    }
    Err(format!(
        "\"{atom}\" is not a UCUM unit radlab knows (is it written with '^', a space, or a non-UCUM name?)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucum_accepts_and_refuses() {
        for ok in [
            "mm", "mm3", "mm2", "cm3", "[hnsf'U]", "1", "%", "mg/mL", "/s", "{ratio}", "m.s-2",
            "kg/(m2)", "ug", "10", "mL/min",
        ] {
            assert!(ucum(ok).is_ok(), "{ok}: {:?}", ucum(ok));
        }
        for bad in [
            "", "mm^3", "HU", "cc", "mm 3", "mm3)", "{a", "m.", "/", "qm", "mm+",
        ] {
            assert!(ucum(bad).is_err(), "{bad} passed");
        }
    }

    #[test]
    fn uid_grammar() {
        assert!(is_uid("1.2.840.10008.1.2") && is_uid("2.25.0"));
        assert!(!is_uid("") && !is_uid("1..2") && !is_uid("1.02") && !is_uid("1.2a"));
        assert!(!is_uid(&"1.".repeat(40)));
    }
}
