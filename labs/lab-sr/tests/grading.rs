//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails at least one check whose message names the mistake.

use std::hash::{DefaultHasher, Hash, Hasher};

use lab_sr::tasks::{
    Code, EvidenceSeries, EvidenceStudy, Group, Item, REFERENCE, Reference, Relationship, Tasks,
    Value, concepts, reference,
};
use radlab_grade::mutant;

// ---- mutants: each is the reference with one known mistake ----

fn edit(g: &Group, f: impl Fn(&mut Item)) -> Item {
    let mut it = reference::measurement_group(g);
    f(&mut it);
    it
}

fn is(it: &Item, c: &Code) -> bool {
    it.concept.as_ref() == Some(c)
}

fn set_unit(it: &mut Item, c: &Code, unit: &str) {
    for k in it.children.iter_mut().filter(|k| is(k, c)) {
        if let Value::Num { unit: u, .. } = &mut k.value {
            u.value = unit.into();
        }
    }
}

/// Finding Site as content of the group instead of a modifier.
fn site_contains(g: &Group) -> Item {
    edit(g, |it| {
        for k in it
            .children
            .iter_mut()
            .filter(|k| is(k, &concepts::finding_site()))
        {
            k.relationship = Some(Relationship::Contains);
        }
    })
}

/// `mm^3`, the way a plot label writes it.
fn caret_unit(g: &Group) -> Item {
    edit(g, |it| set_unit(it, &concepts::volume(), "mm^3"))
}

/// `HU` for Hounsfield units: not a UCUM unit.
fn hu_unit(g: &Group) -> Item {
    edit(g, |it| set_unit(it, &concepts::attenuation(), "HU"))
}

/// No Tracking Unique Identifier (dciodvfy and dsrdump pass it).
fn no_tracking_uid(g: &Group) -> Item {
    edit(g, |it| {
        it.children.retain(|k| !is(k, &concepts::tracking_uid()))
    })
}

/// Numbers written with `{}`: past 16 characters, not a DS.
fn not_ds(g: &Group) -> Item {
    edit(g, |it| {
        for k in &mut it.children {
            if let Value::Num { value, .. } = &mut k.value {
                let v: f64 = value.parse().unwrap();
                let exact = [g.volume_mm3, g.long_axis_mm, g.mean_hu, g.probability]
                    .into_iter()
                    .find(|x| radlab_results::dataset::ds(*x) == *value)
                    .unwrap_or(v);
                *value = format!("{exact}");
            }
        }
    })
}

/// The mean attenuation without its Derivation = Mean modifier.
fn no_derivation(g: &Group) -> Item {
    edit(g, |it| {
        for k in it
            .children
            .iter_mut()
            .filter(|k| is(k, &concepts::attenuation()))
        {
            k.children.clear();
        }
    })
}

fn hash_uid(parts: impl Hash) -> String {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    format!("2.25.{}", h.finish().max(1))
}

/// A fresh random UID per call.
fn random_uid(_: &str, _: &str, _: &[[usize; 3]]) -> String {
    format!("2.25.{}", rand::random::<u64>().max(1))
}

/// The voxels hashed in the order given.
fn order_sensitive(s: &str, d: &str, v: &[[usize; 3]]) -> String {
    hash_uid((s, d, v))
}

/// Only the voxel count hashed: two nodules of the same size collide.
fn count_only(s: &str, d: &str, v: &[[usize; 3]]) -> String {
    hash_uid((s, d, v.len()))
}

/// The model version left out.
fn no_device(s: &str, _d: &str, v: &[[usize; 3]]) -> String {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    hash_uid((s, v))
}

fn sorted_hash(s: &str, d: &str, v: &[[usize; 3]]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut h = DefaultHasher::new();
    (s, d, v).hash(&mut h);
    h.finish()
}

/// The hash in hexadecimal after 2.25.
fn hex_uid(s: &str, d: &str, v: &[[usize; 3]]) -> String {
    format!("2.25.{:x}", sorted_hash(s, d, v))
}

/// All 256 bits of a hash in decimal: past 64 characters.
fn too_long(s: &str, d: &str, v: &[[usize; 3]]) -> String {
    let h = sorted_hash(s, d, v);
    format!("2.25.{}{:020}{:020}{:020}", h.max(1), h, !h, h ^ 7)
}

/// A 16-bit hash: collisions by the thousand.
fn short_hash(s: &str, d: &str, v: &[[usize; 3]]) -> String {
    format!("2.25.{}", (sorted_hash(s, d, v) & 0xffff) + 1)
}

/// Only the images: the SEG the groups reference is left out.
fn images_only(refs: &[Reference]) -> Vec<EvidenceStudy> {
    let keep: Vec<Reference> = refs
        .iter()
        .filter(|r| r.sop_class != lab_sr::types::SEGMENTATION_STORAGE)
        .cloned()
        .collect();
    reference::evidence(&keep)
}

/// Repeats kept.
fn repeats_kept(refs: &[Reference]) -> Vec<EvidenceStudy> {
    let mut out = reference::evidence(refs);
    for st in &mut out {
        for se in &mut st.series {
            se.instances = refs
                .iter()
                .filter(|r| r.series_uid == se.series_uid && r.study_uid == st.study_uid)
                .map(|r| (r.sop_class.clone(), r.sop_instance.clone()))
                .collect();
        }
    }
    out
}

/// One series item per instance.
fn series_per_instance(refs: &[Reference]) -> Vec<EvidenceStudy> {
    let mut out = reference::evidence(refs);
    for st in &mut out {
        st.series = st
            .series
            .iter()
            .flat_map(|se| {
                se.instances.iter().map(|i| EvidenceSeries {
                    series_uid: se.series_uid.clone(),
                    instances: vec![i.clone()],
                })
            })
            .collect();
    }
    out
}

/// Each mutant with the check that must catch it and words its message must contain.
fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![
        (
            mutant!("finding-site-as-content", measurement_group, site_contains),
            "group/relationships",
            "HAS CONCEPT MOD",
        ),
        (
            mutant!("unit-mm-caret-3", measurement_group, caret_unit),
            "group/units",
            "not UCUM",
        ),
        (
            mutant!("unit-HU", measurement_group, hu_unit),
            "group/units",
            "[hnsf'U]",
        ),
        (
            mutant!("no-tracking-uid", measurement_group, no_tracking_uid),
            "group/template",
            "Tracking Unique Identifier",
        ),
        (
            mutant!("number-not-a-ds", measurement_group, not_ds),
            "group/values",
            "16 characters",
        ),
        (
            mutant!("mean-without-derivation", measurement_group, no_derivation),
            "group/values",
            "Derivation = Mean",
        ),
        (
            mutant!("tracking-uid-random", tracking_uid, random_uid),
            "tracking/stable",
            "never from a random number",
        ),
        (
            mutant!("tracking-uid-voxel-order", tracking_uid, order_sensitive),
            "tracking/stable",
            "sort them",
        ),
        (
            mutant!("tracking-uid-voxel-count", tracking_uid, count_only),
            "tracking/distinct",
            "one voxel moved",
        ),
        (
            mutant!("tracking-uid-no-model-version", tracking_uid, no_device),
            "tracking/distinct",
            "model version",
        ),
        (
            mutant!("tracking-uid-hex", tracking_uid, hex_uid),
            "tracking/valid-uid",
            "digits and dots",
        ),
        (
            mutant!("tracking-uid-too-long", tracking_uid, too_long),
            "tracking/valid-uid",
            "64 characters",
        ),
        (
            mutant!("tracking-uid-16-bit", tracking_uid, short_hash),
            "tracking/many",
            "128",
        ),
        (
            mutant!("evidence-images-only", evidence, images_only),
            "evidence/worked",
            "the SEG its groups reference",
        ),
        (
            mutant!("evidence-repeats", evidence, repeats_kept),
            "evidence/worked",
            "listed twice",
        ),
        (
            mutant!(
                "evidence-series-per-instance",
                evidence,
                series_per_instance
            ),
            "evidence/worked",
            "one Referenced Series item per series",
        ),
    ]
}

radlab_grade::lab_grading_tests!(lab_sr, "lab-sr");
