//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails at least one check whose message names the mistake.

use lab_froc::tasks::{Nodule, REFERENCE, Scan, Tasks};
use radlab_grade::mutant;
use radlab_metrics::detection::{CAMELYON16, LUNA16, interp};

// ---- mutants: each is the reference with one known mistake ----

fn dist2(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|k| (a[k] - b[k]).powi(2)).sum()
}

/// The diameter used as the hit radius.
fn diameter_as_radius(c: &[[f64; 3]], n: &[Nodule]) -> Vec<Option<usize>> {
    let doubled: Vec<Nodule> = n.iter().map(|&(p, d)| (p, 2.0 * d)).collect();
    (REFERENCE.match_radius)(c, &doubled)
}

/// Strictly inside the radius: a candidate exactly on it misses.
fn radius_exclusive(c: &[[f64; 3]], n: &[Nodule]) -> Vec<Option<usize>> {
    nearest_by(c, n, |d2, r2| d2 < r2, |d2, best| d2 < best)
}

/// On a tie the later nodule wins.
fn tie_to_last(c: &[[f64; 3]], n: &[Nodule]) -> Vec<Option<usize>> {
    nearest_by(c, n, |d2, r2| d2 <= r2, |d2, best| d2 <= best)
}

fn nearest_by(
    c: &[[f64; 3]],
    n: &[Nodule],
    hit: fn(f64, f64) -> bool,
    better: fn(f64, f64) -> bool,
) -> Vec<Option<usize>> {
    c.iter()
        .map(|&p| {
            let mut best: Option<(usize, f64)> = None;
            for (i, &(q, d)) in n.iter().enumerate() {
                let d2 = dist2(p, q);
                if hit(d2, (d / 2.0).powi(2)) && best.is_none_or(|(_, b)| better(d2, b)) {
                    best = Some((i, d2));
                }
            }
            best.map(|(i, _)| i)
        })
        .collect()
}

/// The first nodule in range, not the nearest.
fn first_in_range(c: &[[f64; 3]], n: &[Nodule]) -> Vec<Option<usize>> {
    c.iter()
        .map(|&p| {
            n.iter()
                .position(|&(q, d)| dist2(p, q) <= (d / 2.0).powi(2))
        })
        .collect()
}

fn count(scans: &[Scan], dup_fp: bool, keep: impl Fn(f64) -> bool) -> (usize, usize, usize) {
    let (mut fp, mut tp, mut lesions) = (0, 0, 0);
    for s in scans {
        let mut found = vec![false; s.lesions];
        let mut ds = s.detections.clone();
        ds.sort_by(|a, b| b.score.total_cmp(&a.score));
        for d in ds.iter().filter(|d| keep(d.score)) {
            match d.lesion {
                Some(l) if !found[l] => found[l] = true,
                Some(_) if !dup_fp => {}
                _ => fp += 1,
            }
        }
        tp += found.iter().filter(|&&f| f).count();
        lesions += s.lesions;
    }
    (fp, tp, lesions)
}

/// Extra detections on a found lesion counted as false positives.
fn duplicates_as_fps(scans: &[Scan], t: f64) -> (f64, f64) {
    let (fp, tp, l) = count(scans, true, |s| s >= t);
    (fp as f64 / scans.len() as f64, tp as f64 / l as f64)
}

/// Sensitivity averaged per scan (scans with lesions) instead of pooled.
fn per_scan_sensitivity(scans: &[Scan], t: f64) -> (f64, f64) {
    let (fps, _) = (REFERENCE.froc_point)(scans, t);
    let per: Vec<f64> = scans
        .iter()
        .filter(|s| s.lesions > 0)
        .map(|s| {
            let (_, tp, l) = count(std::slice::from_ref(s), false, |x| x >= t);
            tp as f64 / l as f64
        })
        .collect();
    (fps, per.iter().sum::<f64>() / per.len() as f64)
}

/// Scans without lesions dropped.
fn negatives_dropped(scans: &[Scan], t: f64) -> (f64, f64) {
    let pos: Vec<Scan> = scans.iter().filter(|s| s.lesions > 0).cloned().collect();
    (REFERENCE.froc_point)(&pos, t)
}

/// Strictly greater than the threshold.
fn exclusive_threshold(scans: &[Scan], t: f64) -> (f64, f64) {
    let (fp, tp, l) = count(scans, false, |s| s > t);
    (fp as f64 / scans.len() as f64, tp as f64 / l as f64)
}

fn at(points: &[f64], curve: &[(f64, f64)]) -> f64 {
    let xs: Vec<f64> = curve.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = curve.iter().map(|p| p.1).collect();
    points.iter().map(|&f| interp(f, &xs, &ys)).sum::<f64>() / points.len() as f64
}

/// CAMELYON16's six operating points reported as the CPM.
fn camelyon_points(curve: &[(f64, f64)]) -> f64 {
    at(&CAMELYON16, curve)
}

/// A step function: the last curve point at or before each operating point.
fn step_not_linear(curve: &[(f64, f64)]) -> f64 {
    LUNA16
        .iter()
        .map(|&f| curve.iter().rev().find(|p| p.0 <= f).map_or(0.0, |p| p.1))
        .sum::<f64>()
        / 7.0
}

/// Zero sensitivity beyond the end of the curve.
fn zero_beyond(curve: &[(f64, f64)]) -> f64 {
    let last = curve.last().map_or(0.0, |p| p.0);
    let xs: Vec<f64> = curve.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = curve.iter().map(|p| p.1).collect();
    LUNA16
        .iter()
        .map(|&f| if f > last { 0.0 } else { interp(f, &xs, &ys) })
        .sum::<f64>()
        / 7.0
}

/// Each mutant with the check that must catch it and words its message must contain.
fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![
        (
            mutant!("diameter-as-radius", match_radius, diameter_as_radius),
            "match/worked",
            "half the diameter",
        ),
        (
            mutant!("first-not-nearest", match_radius, first_in_range),
            "match/nearest",
            "nearest",
        ),
        (
            mutant!("radius-exclusive", match_radius, radius_exclusive),
            "match/radius-and-ties",
            "includes the radius",
        ),
        (
            mutant!("tie-to-the-last", match_radius, tie_to_last),
            "match/radius-and-ties",
            "first of them",
        ),
        (
            mutant!(
                "duplicates-as-false-positives",
                froc_point,
                duplicates_as_fps
            ),
            "froc/duplicates-once",
            "not false positives",
        ),
        (
            mutant!("sensitivity-per-scan", froc_point, per_scan_sensitivity),
            "froc/pooled-sensitivity",
            "pooled over lesions",
        ),
        (
            mutant!("negative-scans-dropped", froc_point, negatives_dropped),
            "froc/negative-scans",
            "every scan",
        ),
        (
            mutant!("threshold-exclusive", froc_point, exclusive_threshold),
            "froc/threshold-inclusive",
            ">= threshold",
        ),
        (
            mutant!("camelyon16-points", cpm, camelyon_points),
            "cpm/operating-points",
            "seven",
        ),
        (
            mutant!("step-not-linear", cpm, step_not_linear),
            "cpm/interpolation",
            "linearly",
        ),
        (
            mutant!("zero-beyond-the-curve", cpm, zero_beyond),
            "cpm/beyond-the-curve",
            "last value",
        ),
    ]
}

radlab_grade::lab_grading_tests!(lab_froc, "lab-froc");
