//! The graded checks of lab-sr. A measurement group is judged by radlab's
//! TID 1500/1411 template check (the rows, value types and relationship
//! types no offline validator reads) and by the values it must carry; a
//! tracking UID by the properties a PACS relies on; the evidence by what it
//! must list.

use std::collections::{BTreeMap, BTreeSet};

use radlab_grade::{Check, Kind, Outcome, Visibility};
use radlab_results::check::{check_tree, is_uid, ucum};
use radlab_results::{Algorithm, tid1500};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::tasks::{Group, Item, REFERENCE, Reference, Relationship, Tasks, Value};

fn group(r: &mut ChaCha8Rng, number: u16) -> Group {
    let uid = |r: &mut ChaCha8Rng| format!("2.25.{}", r.random_range(1u64..u64::MAX));
    Group {
        number,
        tracking_id: format!("Nodule {number}"),
        tracking_uid: uid(r),
        volume_mm3: r.random_range(1.0..5e5),
        long_axis_mm: r.random_range(1.0..120.0),
        mean_hu: r.random_range(-900.0..300.0),
        probability: r.random_range(0.0..1.0),
        seg_instance_uid: uid(r),
        source_series_uid: uid(r),
        algorithm_name: "nodule-segmenter".into(),
        algorithm_version: format!("sha256:{:016x}", r.random::<u64>()),
    }
}

/// A worked group: the sample's first nodule as radlab measured it.
fn worked() -> Group {
    Group {
        number: 2,
        tracking_id: "Nodule 2".into(),
        tracking_uid: "2.25.301842447609152391849025811873245667318".into(),
        volume_mm3: 1234.5678901234567,
        long_axis_mm: 14.2,
        mean_hu: -35.25,
        probability: 0.9375,
        seg_instance_uid: "2.25.1234567".into(),
        source_series_uid: "1.2.826.0.1.3680043.10.1".into(),
        algorithm_name: "nodule-segmenter".into(),
        algorithm_version: "sha256:38ebe0ab3fda9a77".into(),
    }
}

fn alg() -> Algorithm {
    Algorithm::from_weights("nodule-segmenter", &"ab".repeat(32))
}

/// The learner's group inside a whole report, through the template check.
fn template_problems(t: &'static Tasks, g: &Group) -> Vec<String> {
    let root = tid1500::root(vec![(t.measurement_group)(g)], &alg());
    check_tree(&root).iter().map(|p| p.to_string()).collect()
}

fn group_template(t: &'static Tasks) -> Outcome {
    let p = template_problems(t, &worked());
    if p.is_empty() {
        Ok("the template check finds no problem".into())
    } else {
        Err(format!(
            "radlab's TID 1500/1411 template check, on a report holding your group:\n  {}\nEach row of TID 1411 has a concept, a value type and a relationship type; a viewer looks a value up by all three. (dciodvfy and dsrdump pass all of these.)",
            p.join("\n  ")
        ))
    }
}

fn child<'a>(it: &'a Item, c: &crate::tasks::Code) -> Option<&'a Item> {
    it.children.iter().find(|k| {
        k.concept
            .as_ref()
            .is_some_and(|k| k.is(&c.value, &c.scheme))
    })
}

fn group_relationships(t: &'static Tasks) -> Outcome {
    let g = worked();
    let (got, want) = ((t.measurement_group)(&g), (REFERENCE.measurement_group)(&g));
    if got.relationship != Some(Relationship::Contains) {
        return Err("the measurement group is CONTAINS of Imaging Measurements".into());
    }
    for w in &want.children {
        let c = w.concept.as_ref().expect("concept");
        let Some(k) = child(&got, c) else {
            return Err(format!(
                "no child item \"{}\" in the group: TID 1411 has a row for it",
                c.meaning
            ));
        };
        if k.relationship != w.relationship {
            return Err(format!(
                "\"{}\" is related to the group by {}, not {}.\nTracking identifier and UID are observation context (HAS OBS CONTEXT); finding site and the algorithm modify the finding (HAS CONCEPT MOD); the finding, the segment, the source series and the measurements are its content (CONTAINS).",
                c.meaning,
                w.relationship.map_or("-", |r| r.term()),
                k.relationship.map_or("nothing", |r| r.term()),
            ));
        }
    }
    Ok("every row with its relationship type".into())
}

fn num_of<'a>(
    it: &'a Item,
    c: &crate::tasks::Code,
) -> Option<(&'a String, &'a crate::tasks::Code)> {
    match &child(it, c)?.value {
        Value::Num { value, unit } => Some((value, unit)),
        _ => None,
    }
}

fn group_units(t: &'static Tasks) -> Outcome {
    let g = worked();
    let (got, want) = ((t.measurement_group)(&g), (REFERENCE.measurement_group)(&g));
    for w in want
        .children
        .iter()
        .filter(|w| matches!(w.value, Value::Num { .. }))
    {
        let c = w.concept.as_ref().expect("concept");
        let Value::Num { unit: wu, .. } = &w.value else {
            continue;
        };
        let Some((_, u)) = num_of(&got, c) else {
            return Err(format!("\"{}\" is not a NUM item", c.meaning));
        };
        if let Err(why) = ucum(&u.value) {
            return Err(format!(
                "\"{}\": the unit \"{}\" is not UCUM ({why}). Units in DICOM SR are UCUM codes, case-sensitive: mm3 (not mm^3 or cc), [hnsf'U] for Hounsfield units (not HU), 1 for a number without units.",
                c.meaning, u.value
            ));
        }
        if u.scheme != "UCUM" || u.value != wu.value {
            return Err(format!(
                "\"{}\": expected the unit ({}, {}), got ({}, {}). The group's values are in mm³, mm, HU and none; say so in UCUM with the scheme designator UCUM.",
                c.meaning, wu.value, wu.scheme, u.value, u.scheme
            ));
        }
    }
    Ok("mm3, mm, [hnsf'U] and 1, all UCUM".into())
}

/// The values of `g` in the learner's group, as numbers.
fn values_match(got: &Item, want: &Item, g: &Group) -> Result<(), String> {
    for w in &want.children {
        let c = w.concept.as_ref().expect("concept");
        let k = child(got, c).ok_or_else(|| format!("no \"{}\" item", c.meaning))?;
        match (&w.value, &k.value) {
            (Value::Num { value: wv, .. }, Value::Num { value: kv, .. }) => {
                if kv.len() > 16 {
                    return Err(format!(
                        "\"{}\" = \"{kv}\": a NUM's value is a DS, at most 16 characters; {} is written \"{wv}\" (ds() rounds to fit).",
                        c.meaning, kv
                    ));
                }
                let (a, b) = (kv.trim().parse::<f64>(), wv.parse::<f64>());
                match (a, b) {
                    (Ok(a), Ok(b)) if (a - b).abs() <= 1e-9 * b.abs().max(1e-3) => {}
                    _ => {
                        return Err(format!(
                            "\"{}\": expected {wv}, got \"{kv}\" (the value of the group, in its unit)",
                            c.meaning
                        ));
                    }
                }
                if *c == crate::tasks::concepts::attenuation() {
                    let derived = child(k, &crate::tasks::concepts::derivation());
                    if !derived
                        .is_some_and(|d| d.value == Value::Code(crate::tasks::concepts::mean()))
                    {
                        return Err("the attenuation is the mean over the nodule's voxels: it needs a HAS CONCEPT MOD Derivation = Mean child, or a reader cannot tell a mean from a maximum".into());
                    }
                }
            }
            (wv, kv) if wv != kv => {
                return Err(format!("\"{}\": expected {wv:?}, got {kv:?}", c.meaning));
            }
            _ => {}
        }
    }
    let _ = g;
    Ok(())
}

fn group_values(t: &'static Tasks) -> Outcome {
    let g = worked();
    values_match(
        &(t.measurement_group)(&g),
        &(REFERENCE.measurement_group)(&g),
        &g,
    )?;
    Ok("tracking, segment, series, volume, long axis, mean HU and probability as given".into())
}

fn group_random(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(801);
    for case in 0..100 {
        let number = r.random_range(1..500);
        let g = group(&mut r, number);
        let p = template_problems(t, &g);
        if !p.is_empty() {
            return Err(format!(
                "seeded group {case} ({}): {}",
                radlab_grade::seed_note(801),
                p.join("; ")
            ));
        }
        values_match(
            &(t.measurement_group)(&g),
            &(REFERENCE.measurement_group)(&g),
            &g,
        )
        .map_err(|e| {
            format!(
                "seeded group {case} ({}): {e}",
                radlab_grade::seed_note(801)
            )
        })?;
    }
    Ok(
        "100 seeded groups (volumes up to 5e5 mm3) pass the template check with their values"
            .into(),
    )
}

fn voxels(r: &mut ChaCha8Rng, n: usize) -> Vec<[usize; 3]> {
    let mut v: Vec<[usize; 3]> = (0..n)
        .map(|_| {
            [
                r.random_range(0..300),
                r.random_range(0..512),
                r.random_range(0..512),
            ]
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

const SERIES: &str = "1.2.826.0.1.3680043.10.511.3.9281";
const DEVICE: &str = "2.25.1102361742378920611";

fn tracking_valid(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(811);
    for _ in 0..50 {
        let n = r.random_range(1..300);
        let v = voxels(&mut r, n);
        let u = (t.tracking_uid)(SERIES, DEVICE, &v);
        if !is_uid(&u) {
            return Err(format!(
                "\"{u}\" ({} characters) is not a DICOM UID: digits and dots only, at most 64 characters, no empty component and no component with a leading zero. A hash as a UID: take 128 bits of it as one decimal number after the root 2.25.",
                u.len()
            ));
        }
    }
    Ok("50 UIDs, all valid".into())
}

fn tracking_stable(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(812);
    let v = voxels(&mut r, 200);
    let a = (t.tracking_uid)(SERIES, DEVICE, &v);
    let b = (t.tracking_uid)(SERIES, DEVICE, &v);
    if a != b {
        return Err(format!(
            "the same finding gave \"{a}\" and then \"{b}\". A tracking UID follows the nodule across reports: derive it from the inputs (a hash), never from a random number, the clock or the process."
        ));
    }
    let mut shuffled = v.clone();
    shuffled.reverse();
    shuffled.push(v[0]);
    let c = (t.tracking_uid)(SERIES, DEVICE, &shuffled);
    if a != c {
        return Err(format!(
            "the same voxels in another order (one repeated) gave \"{c}\", not \"{a}\": the voxels are a set; sort them before hashing"
        ));
    }
    Ok("the same inputs, in any order, give the same UID".into())
}

fn tracking_distinct(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(813);
    let v = voxels(&mut r, 150);
    let a = (t.tracking_uid)(SERIES, DEVICE, &v);
    let mut moved = v.clone();
    moved[0][2] += 1;
    if moved[0] == v[1] {
        moved[0][1] += 1;
    }
    let cases = [
        (
            (t.tracking_uid)(SERIES, DEVICE, &moved),
            "one voxel moved (same count)",
        ),
        (
            (t.tracking_uid)("1.2.826.0.1.3680043.10.511.3.9282", DEVICE, &v),
            "another series",
        ),
        (
            (t.tracking_uid)(SERIES, "2.25.1102361742378920612", &v),
            "another model version (device UID)",
        ),
    ];
    for (u, what) in cases {
        if u == a {
            return Err(format!(
                "{what} gave the same UID \"{a}\": a tracking UID must change when the finding, the series or the model version does, or two different nodules share an identity"
            ));
        }
    }
    Ok("voxels, series and model version all change the UID".into())
}

fn tracking_many(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(814);
    let mut seen = BTreeSet::new();
    for k in 0..3000 {
        let n = r.random_range(1..20);
        let v = voxels(&mut r, n);
        let u = (t.tracking_uid)(SERIES, DEVICE, &v);
        if !is_uid(&u) {
            return Err(format!("seeded finding {k}: \"{u}\" is not a valid UID"));
        }
        if u != (t.tracking_uid)(SERIES, DEVICE, &v) {
            return Err(format!("seeded finding {k}: two calls gave two UIDs"));
        }
        seen.insert(u);
    }
    if seen.len() < 2990 {
        return Err(format!(
            "3000 seeded small findings gave only {} distinct UIDs: hash the voxels themselves, with enough bits (128) that collisions do not happen",
            seen.len()
        ));
    }
    Ok("3000 small findings, distinct valid UIDs".into())
}

type Tree = BTreeMap<String, BTreeMap<String, Vec<(String, String)>>>;

fn as_tree(e: &[crate::tasks::EvidenceStudy]) -> Result<Tree, String> {
    let mut out = Tree::new();
    for st in e {
        if out.contains_key(&st.study_uid) {
            return Err(format!(
                "study {} is listed twice: one item per study, its series inside",
                st.study_uid
            ));
        }
        let s = out.entry(st.study_uid.clone()).or_default();
        for se in &st.series {
            if s.contains_key(&se.series_uid) {
                return Err(format!(
                    "series {} is listed twice in its study: one Referenced Series item per series, every instance inside",
                    se.series_uid
                ));
            }
            let mut seen = BTreeSet::new();
            for i in &se.instances {
                if !seen.insert(i) {
                    return Err(format!(
                        "instance {} is listed twice in series {}: each instance once",
                        i.1, se.series_uid
                    ));
                }
            }
            let mut inst = se.instances.clone();
            inst.sort();
            s.insert(se.series_uid.clone(), inst);
        }
    }
    Ok(out)
}

fn refs(r: &mut ChaCha8Rng) -> Vec<Reference> {
    let studies = r.random_range(1..3);
    let mut out = Vec::new();
    for st in 0..studies {
        for se in 0..r.random_range(1..4) {
            let class = if se == 0 {
                "1.2.840.10008.5.1.4.1.1.2".to_string()
            } else {
                crate::types::SEGMENTATION_STORAGE.to_string()
            };
            for i in 0..r.random_range(1..30) {
                out.push(Reference {
                    study_uid: format!("1.2.{}", st + 1),
                    series_uid: format!("1.2.{}.{}", st + 1, se + 1),
                    sop_class: class.clone(),
                    sop_instance: format!("1.2.{}.{}.{}", st + 1, se + 1, i + 1),
                });
            }
        }
    }
    // Repeats, as a report's content references instances more than once.
    for _ in 0..r.random_range(0..10) {
        let k = r.random_range(0..out.len());
        out.push(out[k].clone());
    }
    let n = out.len();
    for i in 0..n {
        out.swap(i, r.random_range(0..n));
    }
    out
}

fn expect_evidence(t: &'static Tasks, refs: &[Reference], what: &str) -> Outcome {
    let got = as_tree(&(t.evidence)(refs)).map_err(|e| format!("{what}: {e}"))?;
    let want = as_tree(&(REFERENCE.evidence)(refs)).expect("the reference is well formed");
    for (st, series) in &want {
        let Some(gs) = got.get(st) else {
            return Err(format!("{what}: study {st} is missing"));
        };
        for (se, inst) in series {
            match gs.get(se) {
                None => {
                    return Err(format!(
                        "{what}: series {se} ({}) is missing. Every instance the report depends on is evidence, the SEG its groups reference as well as the images.",
                        inst[0].0
                    ));
                }
                Some(g) if g != inst => {
                    return Err(format!(
                        "{what}: series {se} lists {} instances, expected {} (every referenced instance, each once, under its own series)",
                        g.len(),
                        inst.len()
                    ));
                }
                _ => {}
            }
        }
        if gs.len() != series.len() {
            return Err(format!("{what}: series that nothing references are listed"));
        }
    }
    if got.len() != want.len() {
        return Err(format!(
            "{what}: studies that nothing references are listed"
        ));
    }
    Ok(format!("{what}: complete, grouped, each once"))
}

fn r(st: &str, se: &str, class: &str, i: &str) -> Reference {
    Reference {
        study_uid: st.into(),
        series_uid: se.into(),
        sop_class: class.into(),
        sop_instance: i.into(),
    }
}

fn evidence_worked(t: &'static Tasks) -> Outcome {
    let ct = "1.2.840.10008.5.1.4.1.1.2";
    let seg = crate::types::SEGMENTATION_STORAGE;
    let refs = [
        r("1.2.9", "1.2.9.1", ct, "1.2.9.1.1"),
        r("1.2.9", "1.2.9.1", ct, "1.2.9.1.2"),
        r("1.2.9", "1.2.9.1", ct, "1.2.9.1.3"),
        r("1.2.9", "1.2.9.7", seg, "1.2.9.7.1"),
        r("1.2.9", "1.2.9.7", seg, "1.2.9.7.1"),
    ];
    expect_evidence(
        t,
        &refs,
        "a CT of three slices and its SEG referenced twice",
    )
}

fn evidence_random(t: &'static Tasks) -> Outcome {
    let mut g = radlab_grade::check_rng(821);
    for case in 0..100 {
        let rs = refs(&mut g);
        expect_evidence(
            t,
            &rs,
            &format!("seeded case {case} ({})", radlab_grade::seed_note(821)),
        )?;
    }
    Ok("100 seeded reference sets (several studies and series, repeats)".into())
}

/// Every check, in the order the table shows them.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "measurement-group" => {
            "group/template": 1.0, Visible, WorkedExample, group_template;
            "group/relationships": 1.0, Visible, WorkedExample, group_relationships;
            "group/units": 1.0, Visible, WorkedExample, group_units;
            "group/values": 1.0, Visible, WorkedExample, group_values;
            "group/random-vs-reference": 1.0, Hidden, Property, group_random;
        }
        "tracking-uid" => {
            "tracking/valid-uid": 1.0, Visible, Property, tracking_valid;
            "tracking/stable": 1.0, Visible, Property, tracking_stable;
            "tracking/distinct": 0.5, Visible, Property, tracking_distinct;
            "tracking/many": 0.5, Hidden, Property, tracking_many;
        }
        "evidence" => {
            "evidence/worked": 1.0, Visible, WorkedExample, evidence_worked;
            "evidence/random-vs-reference": 1.0, Hidden, Property, evidence_random;
        }
    ]
}
