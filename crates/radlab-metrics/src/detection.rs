//! Lesion detection: candidates, hits, FROC, CPM.
//!
//! A detector gives *candidates* (a position and a score) per scan; the
//! reference gives *lesions*. Whether a candidate hits a lesion is a rule you
//! choose ([`HitRule`]): inside the lesion's mask (CAMELYON16, MONAI's
//! `compute_fp_tp_probs_nd`) or within a radius of its centre (LUNA16).
//! Counting then follows the conventions both challenges share:
//!
//! - several candidates on one lesion count **once** (the best score is the
//!   lesion's score); the others are neither hits nor false positives;
//! - a candidate on no lesion is a false positive, also in scans without any
//!   lesion, and every scan counts in "false positives per scan";
//! - sensitivity is **pooled over lesions** (hit lesions / all lesions), not
//!   averaged per scan.
//!
//! The FROC curve is sensitivity against mean false positives per scan as the
//! score threshold falls; it is summarised by the mean sensitivity at fixed
//! false-positive rates: [`CAMELYON16`] (0.25 to 8, MONAI's default) or
//! [`LUNA16`] (0.125 to 8, the "competition performance metric", CPM).
//! Between curve points sensitivity is interpolated linearly, exactly as
//! `numpy.interp` does in both challenges' scripts.
//!
//! Positions are `(z, y, x)` in mm (index times spacing, or patient
//! coordinates, as long as candidates and lesions use the same frame).
//!
//! ```
//! use radlab_metrics::detection::{froc, ScanResult, LUNA16};
//! // Two scans: one lesion found at score 0.9 with a false positive at 0.4;
//! // a scan without lesions with a false positive at 0.7.
//! let scans = [
//!     ScanResult { fp_scores: vec![0.4], lesion_scores: vec![Some(0.9)] },
//!     ScanResult { fp_scores: vec![0.7], lesion_scores: vec![] },
//! ];
//! let curve = froc(&scans).unwrap();
//! assert_eq!(curve.sensitivity_at(0.125), 1.0);
//! assert_eq!(curve.score(&LUNA16), 1.0);
//! ```

use crate::Spacing;
use ndarray::ArrayView3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::MetricError;
use crate::segmentation::{Connectivity, components};

/// CAMELYON16's operating points (false positives per scan): MONAI's
/// `compute_froc_score` default.
pub const CAMELYON16: [f64; 6] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// LUNA16's operating points; their mean sensitivity is the CPM.
pub const LUNA16: [f64; 7] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// One detection in one scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Index of the scan it belongs to.
    pub scan: usize,
    /// Its voxel `[z, y, x]` (used by [`HitRule::InsideMask`]).
    pub voxel: [usize; 3],
    /// Its position `(z, y, x)` in mm (used by [`HitRule::WithinRadius`]).
    pub position_mm: [f64; 3],
    /// Higher means more suspicious.
    pub score: f64,
    /// Size of the component it came from, mm³ (0 when unknown).
    pub volume_mm3: f64,
}

/// One reference lesion in one scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lesion {
    /// Index of the scan it belongs to.
    pub scan: usize,
    /// Its value in the scan's label mask (for [`HitRule::InsideMask`]).
    pub label: u32,
    /// Centre `(z, y, x)` in mm.
    pub center_mm: [f64; 3],
    /// Hit radius in mm (LUNA16: half the diameter).
    pub radius_mm: f64,
}

/// When a candidate hits a lesion. With the `cli` feature it is a
/// `clap::ValueEnum` (`radius`, `mask`), so a binary takes it as a flag
/// without a mirror enum of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum HitRule {
    /// Within the lesion's radius of its centre (LUNA16); with several such
    /// lesions, the nearest centre.
    #[cfg_attr(feature = "cli", value(name = "radius"))]
    WithinRadius,
    /// The candidate's peak voxel inside the lesion's mask (CAMELYON16, MONAI).
    #[cfg_attr(feature = "cli", value(name = "mask"))]
    InsideMask,
}

/// Where a candidate from a probability map sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CandidatePosition {
    /// The component's most probable voxel.
    Peak,
    /// The component's centroid (rounded to a voxel for the mask rule).
    Centroid,
}

/// Candidates from a probability map `[z, y, x]` (spacing `(z, y, x)` mm):
/// the connected components of `probability >= threshold`, each scored by
/// its highest probability. `scan` is copied into every candidate.
///
/// ```
/// use ndarray::Array3;
/// use radlab_metrics::detection::{candidates_from_probability, CandidatePosition};
/// use radlab_metrics::segmentation::Connectivity;
/// let mut p = Array3::<f32>::zeros((3, 4, 4));
/// p[[1, 1, 1]] = 0.9;
/// p[[1, 1, 2]] = 0.6;
/// p[[2, 3, 3]] = 0.7;
/// let c = candidates_from_probability(p.view(), 0.5, radlab_metrics::Spacing::new(2.0, 1.0, 1.0),
///     Connectivity::TwentySix, CandidatePosition::Peak, 0).unwrap();
/// assert_eq!(c.len(), 2);
/// assert_eq!((c[0].voxel, c[0].score), ([1, 1, 1], 0.8999999761581421));
/// assert_eq!(c[1].position_mm, [4.0, 3.0, 3.0]);
/// ```
pub fn candidates_from_probability(
    probability: ArrayView3<'_, f32>,
    threshold: f32,
    spacing: Spacing,
    connectivity: Connectivity,
    position: CandidatePosition,
    scan: usize,
) -> Result<Vec<Candidate>, MetricError> {
    if !threshold.is_finite() {
        return Err(MetricError::Undefined(format!(
            "threshold {threshold} is not a number"
        )));
    }
    let mask = probability.mapv(|p| p >= threshold);
    let (_, comps) = components(mask.view(), connectivity, spacing, Some(probability))?;
    let dim = probability.dim();
    Ok(comps
        .into_iter()
        .map(|c| {
            let voxel = match position {
                CandidatePosition::Peak => c.peak_voxel,
                CandidatePosition::Centroid => {
                    let r = |v: f64, n: usize| (v.round().max(0.0) as usize).min(n - 1);
                    [
                        r(c.centroid_voxel[0], dim.0),
                        r(c.centroid_voxel[1], dim.1),
                        r(c.centroid_voxel[2], dim.2),
                    ]
                }
            };
            let position_mm = match position {
                CandidatePosition::Peak => [
                    voxel[0] as f64 * spacing.z,
                    voxel[1] as f64 * spacing.y,
                    voxel[2] as f64 * spacing.x,
                ],
                CandidatePosition::Centroid => c.centroid_mm,
            };
            Candidate {
                scan,
                voxel,
                position_mm,
                score: c.max_probability,
                volume_mm3: c.volume_mm3,
            }
        })
        .collect())
}

/// The lesions of a label mask (`0` background, each lesion its own
/// positive value), with centre = centroid in mm and radius = that of a ball
/// of the same volume.
pub fn lesions_from_labels(
    labels: ArrayView3<'_, u32>,
    spacing: Spacing,
    scan: usize,
) -> Vec<Lesion> {
    let mut acc: std::collections::BTreeMap<u32, (usize, [f64; 3])> = Default::default();
    for ((z, y, x), &l) in labels.indexed_iter() {
        if l != 0 {
            let e = acc.entry(l).or_insert((0, [0.0; 3]));
            e.0 += 1;
            e.1[0] += z as f64;
            e.1[1] += y as f64;
            e.1[2] += x as f64;
        }
    }
    let voxel = spacing.z * spacing.y * spacing.x;
    acc.into_iter()
        .map(|(label, (n, s))| {
            let volume = n as f64 * voxel;
            Lesion {
                scan,
                label,
                center_mm: [
                    s[0] / n as f64 * spacing.z,
                    s[1] / n as f64 * spacing.y,
                    s[2] / n as f64 * spacing.x,
                ],
                radius_mm: (3.0 * volume / (4.0 * std::f64::consts::PI)).cbrt(),
            }
        })
        .collect()
}

/// What each candidate of one scan hit: the index into `lesions` or `None`.
///
/// `labels` (the scan's label mask) is needed for [`HitRule::InsideMask`]; a
/// candidate voxel outside it is a miss. Candidates and lesions of other
/// scans are not looked at: pass one scan's.
pub fn assign(
    candidates: &[Candidate],
    lesions: &[Lesion],
    rule: HitRule,
    labels: Option<ArrayView3<'_, u32>>,
) -> Result<Vec<Option<usize>>, MetricError> {
    match rule {
        HitRule::InsideMask => {
            let Some(labels) = labels else {
                return Err(MetricError::Undefined(
                    "the inside-mask hit rule needs the scan's label mask".into(),
                ));
            };
            Ok(candidates
                .iter()
                .map(|c| {
                    let l = labels.get(c.voxel).copied().unwrap_or(0);
                    if l == 0 {
                        None
                    } else {
                        lesions.iter().position(|les| les.label == l)
                    }
                })
                .collect())
        }
        HitRule::WithinRadius => Ok(candidates
            .iter()
            .map(|c| {
                let mut best: Option<(usize, f64)> = None;
                for (i, les) in lesions.iter().enumerate() {
                    let d2: f64 = (0..3)
                        .map(|a| (c.position_mm[a] - les.center_mm[a]).powi(2))
                        .sum();
                    if d2 <= les.radius_mm * les.radius_mm && best.is_none_or(|(_, b)| d2 < b) {
                        best = Some((i, d2));
                    }
                }
                best.map(|(i, _)| i)
            })
            .collect()),
    }
}

/// One scan after matching: the scores of its false positives and the best
/// score on each of its lesions (`None`: missed).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ScanResult {
    /// Scores of candidates that hit no lesion.
    pub fp_scores: Vec<f64>,
    /// Per lesion: the highest score of the candidates that hit it.
    pub lesion_scores: Vec<Option<f64>>,
}

impl ScanResult {
    /// Count one scan: `hits[i]` is what candidate `i` (score `scores[i]`)
    /// hit among `n_lesions` lesions. Several candidates on a lesion keep the
    /// best score and are not false positives.
    pub fn from_hits(
        scores: &[f64],
        hits: &[Option<usize>],
        n_lesions: usize,
    ) -> Result<ScanResult, MetricError> {
        if scores.len() != hits.len() {
            return Err(MetricError::LengthMismatch {
                scores: scores.len(),
                labels: hits.len(),
            });
        }
        let mut r = ScanResult {
            fp_scores: Vec::new(),
            lesion_scores: vec![None; n_lesions],
        };
        for (i, (&s, &h)) in scores.iter().zip(hits).enumerate() {
            if s.is_nan() {
                return Err(MetricError::NaN { index: i });
            }
            match h {
                Some(l) if l < n_lesions => {
                    let best = &mut r.lesion_scores[l];
                    *best = Some(best.map_or(s, |b: f64| b.max(s)));
                }
                Some(l) => {
                    return Err(MetricError::Undefined(format!(
                        "candidate {i} hit lesion {l} of {n_lesions}"
                    )));
                }
                None => r.fp_scores.push(s),
            }
        }
        Ok(r)
    }
}

/// Match every scan's candidates to its lesions. `scans` is the number of
/// scans (scans with no candidates and no lesions still count); `labels(s)`
/// gives scan `s`'s label mask for [`HitRule::InsideMask`].
pub fn evaluate<'a>(
    candidates: &[Candidate],
    lesions: &[Lesion],
    scans: usize,
    rule: HitRule,
    mut labels: impl FnMut(usize) -> Option<ArrayView3<'a, u32>>,
) -> Result<Vec<ScanResult>, MetricError> {
    let mut out = Vec::with_capacity(scans);
    for s in 0..scans {
        let c: Vec<Candidate> = candidates.iter().filter(|c| c.scan == s).cloned().collect();
        let l: Vec<Lesion> = lesions.iter().filter(|l| l.scan == s).cloned().collect();
        let hits = assign(&c, &l, rule, labels(s))?;
        let scores: Vec<f64> = c.iter().map(|c| c.score).collect();
        out.push(ScanResult::from_hits(&scores, &hits, l.len())?);
    }
    if let Some(c) = candidates.iter().find(|c| c.scan >= scans) {
        return Err(MetricError::Undefined(format!(
            "a candidate belongs to scan {} but there are {scans} scans",
            c.scan
        )));
    }
    if let Some(l) = lesions.iter().find(|l| l.scan >= scans) {
        return Err(MetricError::Undefined(format!(
            "a lesion belongs to scan {} but there are {scans} scans",
            l.scan
        )));
    }
    Ok(out)
}

/// One point of a FROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrocPoint {
    /// Candidates with score `>= threshold` are kept (`inf` for the start).
    pub threshold: f64,
    /// Lesions hit.
    pub true_positives: usize,
    /// False positives over all scans.
    pub false_positives: usize,
    /// False positives per scan.
    pub fps_per_scan: f64,
    /// Lesions hit / all lesions.
    pub sensitivity: f64,
}

/// A FROC curve: points from the strictest threshold (0 false positives) to
/// the loosest (every candidate kept).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Froc {
    /// Scans, including those without lesions.
    pub scans: usize,
    /// Lesions over all scans.
    pub lesions: usize,
    /// The curve, false positives ascending.
    pub points: Vec<FrocPoint>,
}

/// The FROC curve of matched scans: one point per distinct score (every
/// candidate kept at the last one), starting at (0, 0).
///
/// Sensitivity is pooled over lesions; false positives are divided by the
/// number of scans, including scans without lesions. Errors: no scans, no
/// lesions, NaN scores.
pub fn froc(scans: &[ScanResult]) -> Result<Froc, MetricError> {
    let (mut lesions, mut fp_count) = (0usize, 0usize);
    // The index of a NaN counts every score in order: a scan's false
    // positives, then its hit lesions, scan after scan.
    let mut index = 0;
    for s in scans {
        lesions += s.lesion_scores.len();
        fp_count += s.fp_scores.len();
        for &v in s.fp_scores.iter().chain(s.lesion_scores.iter().flatten()) {
            if v.is_nan() {
                return Err(MetricError::NaN { index });
            }
            index += 1;
        }
    }
    check_counts(scans.len(), lesions)?;
    let hit_count = index - fp_count;
    // Two sorts of plain integer keys and a merge, rather than one sort of
    // (score, is-hit) pairs: half the bytes moved, and the standard
    // library's branch-free integer sort instead of a sort with a comparison
    // closure (the sort is most of the curve's time).
    let mut fps = Vec::with_capacity(fp_count);
    let mut hits = Vec::with_capacity(hit_count);
    for s in scans {
        fps.extend(s.fp_scores.iter().map(|&v| descending_key(v)));
        hits.extend(s.lesion_scores.iter().flatten().map(|&v| descending_key(v)));
    }
    fps.sort_unstable();
    hits.sort_unstable();
    Ok(Froc {
        scans: scans.len(),
        lesions,
        points: sweep(&fps, &hits, scans.len() as f64, lesions as f64),
    })
}

const SIGN: u64 = 1 << 63;

/// A key whose ascending unsigned order is `x`'s descending `f64::total_cmp`
/// order. The total-order key of `x` is its bit pattern with the sign bit
/// flipped for positive numbers and every bit flipped for negative ones;
/// this is its complement.
fn descending_key(x: f64) -> u64 {
    let b = x.to_bits();
    !(if b & SIGN != 0 { !b } else { b | SIGN })
}

/// The score of a [`descending_key`].
fn score_of(key: u64) -> f64 {
    let k = !key;
    f64::from_bits(if k & SIGN != 0 { k & !SIGN } else { !k })
}

/// Sorts scores descending in `f64::total_cmp` order, through the keys.
#[cfg(test)]
fn sort_descending(v: &mut [f64]) {
    let mut keys: Vec<u64> = v.iter().map(|&x| descending_key(x)).collect();
    keys.sort_unstable();
    for (x, k) in v.iter_mut().zip(keys) {
        *x = score_of(k);
    }
}

fn check_counts(scans: usize, lesions: usize) -> Result<(), MetricError> {
    if scans == 0 {
        return Err(MetricError::Undefined("FROC of no scans".into()));
    }
    if lesions == 0 {
        return Err(MetricError::Undefined(
            "FROC without any lesion: sensitivity is undefined".into(),
        ));
    }
    Ok(())
}

/// Curve points from the false-positive and hit scores as
/// [`descending_key`]s, each sorted ascending (scores descending): one point
/// per distinct threshold (scores that compare equal, 0.0 and -0.0
/// included, are one threshold, the first in total order).
fn sweep(fps: &[u64], hits: &[u64], scans: f64, lesions: f64) -> Vec<FrocPoint> {
    let mut points = vec![FrocPoint {
        threshold: f64::INFINITY,
        true_positives: 0,
        false_positives: 0,
        fps_per_scan: 0.0,
        sensitivity: 0.0,
    }];
    let (mut tp, mut fp) = (0usize, 0usize);
    while fp < fps.len() || tp < hits.len() {
        let first = match (fps.get(fp), hits.get(tp)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => unreachable!("the loop condition"),
        };
        let t = score_of(first);
        while fp < fps.len() && score_of(fps[fp]) == t {
            fp += 1;
        }
        while tp < hits.len() && score_of(hits[tp]) == t {
            tp += 1;
        }
        points.push(FrocPoint {
            threshold: t,
            true_positives: tp,
            false_positives: fp,
            fps_per_scan: fp as f64 / scans,
            sensitivity: tp as f64 / lesions,
        });
    }
    points
}

impl Froc {
    /// Sensitivity at `fps` false positives per scan, interpolated linearly
    /// between curve points as `numpy.interp(fps, xs, ys)` does (at an FP rate
    /// several points share, the highest sensitivity; beyond the curve, its
    /// last sensitivity).
    pub fn sensitivity_at(&self, fps: f64) -> f64 {
        let p = &self.points;
        let below = p.partition_point(|q| q.fps_per_scan <= fps);
        interp_by(
            fps,
            p.len(),
            below,
            |i| p[i].fps_per_scan,
            |i| p[i].sensitivity,
        )
    }

    /// Mean sensitivity at `operating_points` ([`CAMELYON16`], [`LUNA16`]).
    pub fn score(&self, operating_points: &[f64]) -> f64 {
        mean(operating_points.iter().map(|&f| self.sensitivity_at(f)))
    }

    /// LUNA16's competition performance metric: the score at [`LUNA16`].
    pub fn cpm(&self) -> f64 {
        self.score(&LUNA16)
    }
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n as f64
}

/// `numpy.interp(x, xp, fp)` for non-decreasing `xp` (not checked): `fp[0]`
/// left of the data, `fp[last]` right of it; at `x` equal to repeated `xp`
/// values, the last of them; NaN at a NaN `x` or without points.
///
/// ```
/// use radlab_metrics::detection::interp;
/// assert!(interp(f64::NAN, &[0.0, 1.0], &[0.0, 0.4]).is_nan());
/// assert_eq!(interp(0.5, &[0.0, 1.0, 1.0, 2.0], &[0.0, 0.4, 0.6, 1.0]), 0.2);
/// assert_eq!(interp(1.0, &[0.0, 1.0, 1.0, 2.0], &[0.0, 0.4, 0.6, 1.0]), 0.6);
/// assert_eq!(interp(9.0, &[0.0, 1.0], &[0.0, 0.4]), 0.4);
/// ```
pub fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len().min(fp.len());
    interp_by(
        x,
        n,
        xp[..n].partition_point(|&v| v <= x),
        |i| xp[i],
        |i| fp[i],
    )
}

/// [`interp`] over `n` points read through `xp` and `fp`, given `below`, the
/// number of `xp` values `<= x`: the curve's points are interpolated in
/// place rather than copied into two lists per operating point.
fn interp_by(
    x: f64,
    n: usize,
    below: usize,
    xp: impl Fn(usize) -> f64,
    fp: impl Fn(usize) -> f64,
) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if below == 0 {
        return fp(0);
    }
    let j = below - 1;
    if j == n - 1 || xp(j) == x {
        return fp(j);
    }
    let slope = (fp(j + 1) - fp(j)) / (xp(j + 1) - xp(j));
    let y = slope * (x - xp(j)) + fp(j);
    if y.is_nan() {
        let y2 = slope * (x - xp(j + 1)) + fp(j + 1);
        if y2.is_nan() && fp(j) == fp(j + 1) {
            return fp(j);
        }
        return y2;
    }
    y
}

/// MONAI 1.6.1's `compute_froc_curve_data`, kept to show (and test) how it
/// differs from [`froc`]: `tp_probs` holds one score per lesion, 0 for a
/// missed one; thresholds are the distinct scores **except the lowest**, and
/// the point `(0, 0)` is appended. Returns `(fps_per_image, sensitivity)`
/// in MONAI's order (thresholds ascending).
///
/// When every lesion is found, the lowest score is a real candidate's and
/// MONAI drops the point where every candidate is kept; [`froc`] keeps it.
pub fn monai_froc_curve_data(
    fp_probs: &[f64],
    tp_probs: &[f64],
    num_targets: usize,
    num_images: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut all: Vec<f64> = fp_probs.iter().chain(tp_probs).copied().collect();
    all.sort_by(f64::total_cmp);
    all.dedup();
    let mut fps = Vec::new();
    let mut sens = Vec::new();
    for &t in all.iter().skip(1) {
        fps.push(fp_probs.iter().filter(|&&p| p >= t).count() as f64 / num_images as f64);
        sens.push(tp_probs.iter().filter(|&&p| p >= t).count() as f64 / num_targets as f64);
    }
    fps.push(0.0);
    sens.push(0.0);
    (fps, sens)
}

/// MONAI's `compute_froc_score`: the mean of `numpy.interp` at `thresholds`
/// over the curve of [`monai_froc_curve_data`] (reversed to ascending FPs).
pub fn monai_froc_score(fps_per_image: &[f64], sensitivity: &[f64], thresholds: &[f64]) -> f64 {
    let xs: Vec<f64> = fps_per_image.iter().rev().copied().collect();
    let ys: Vec<f64> = sensitivity.iter().rev().copied().collect();
    mean(thresholds.iter().map(|&t| interp(t, &xs, &ys)))
}

/// The counting mistake the hit rules exist to prevent: the same matching
/// as [`evaluate`], but only the best-scoring candidate on a lesion counts
/// as its hit and every other candidate on it is a false positive (a
/// nodule seen on five slices becomes one hit and four false positives).
pub fn evaluate_duplicates_as_fps<'a>(
    candidates: &[Candidate],
    lesions: &[Lesion],
    scans: usize,
    rule: HitRule,
    mut labels: impl FnMut(usize) -> Option<ArrayView3<'a, u32>>,
) -> Result<Vec<ScanResult>, MetricError> {
    let mut out = Vec::with_capacity(scans);
    for s in 0..scans {
        let c: Vec<Candidate> = candidates.iter().filter(|c| c.scan == s).cloned().collect();
        let l: Vec<Lesion> = lesions.iter().filter(|l| l.scan == s).cloned().collect();
        let hits = assign(&c, &l, rule, labels(s))?;
        let mut r = ScanResult {
            fp_scores: Vec::new(),
            lesion_scores: vec![None; l.len()],
        };
        let mut order: Vec<usize> = (0..c.len()).collect();
        order.sort_by(|&a, &b| c[b].score.total_cmp(&c[a].score));
        for i in order {
            match hits[i] {
                Some(k) if r.lesion_scores[k].is_none() => r.lesion_scores[k] = Some(c[i].score),
                _ => r.fp_scores.push(c[i].score),
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// The LUNA16 CPM and the CAMELYON16 score counted MONAI's way from
/// per-scan results: [`monai_froc_curve_data`] over the false positives'
/// scores and every lesion's score (0 for a missed one), then
/// [`monai_froc_score`] at each challenge's operating points.
pub fn monai_scores(results: &[ScanResult]) -> (f64, f64) {
    let fp: Vec<f64> = results
        .iter()
        .flat_map(|r| r.fp_scores.iter().copied())
        .collect();
    let tp: Vec<f64> = results
        .iter()
        .flat_map(|r| r.lesion_scores.iter().map(|v| v.unwrap_or(0.0)))
        .collect();
    let (fps, sens) = monai_froc_curve_data(&fp, &tp, tp.len(), results.len());
    (
        monai_froc_score(&fps, &sens, &LUNA16),
        monai_froc_score(&fps, &sens, &CAMELYON16),
    )
}

/// A bootstrap confidence interval per operating point and for their mean.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrocCi {
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Replicates drawn.
    pub replicates: usize,
    /// Replicates left out because they drew no lesion.
    pub skipped: usize,
    /// Seed of the resampling.
    pub seed: u64,
    /// Per operating point: `(fps, low, high)`.
    pub points: Vec<(f64, f64, f64)>,
    /// The score (mean over operating points): `(low, high)`.
    pub score: (f64, f64),
}

/// Percentile bootstrap over scans: draw `replicates` sets of as many scans
/// with replacement (seeded ChaCha8), compute the curve of each, and take
/// the `(1 - level)/2` and `(1 + level)/2` percentiles (numpy's linear rule)
/// of the sensitivity at each operating point and of their mean. Replicates
/// without any lesion are skipped and counted.
pub fn bootstrap_ci(
    scans: &[ScanResult],
    operating_points: &[f64],
    replicates: usize,
    level: f64,
    seed: u64,
) -> Result<FrocCi, MetricError> {
    froc(scans)?;
    if !(level > 0.0 && level < 1.0) || replicates == 0 {
        return Err(MetricError::Undefined(format!(
            "bootstrap needs 0 < level < 1 and replicates > 0 (got {level}, {replicates})"
        )));
    }
    // Every event once, sorted by score descending, tagged with its scan:
    // a replicate is a count per scan, and its curve is one pass that
    // weights each event by its scan's count.
    let mut events: Vec<(f64, bool, u32)> = Vec::new();
    for (i, s) in scans.iter().enumerate() {
        events.extend(s.fp_scores.iter().map(|&v| (v, false, i as u32)));
        events.extend(
            s.lesion_scores
                .iter()
                .flatten()
                .map(|&v| (v, true, i as u32)),
        );
    }
    events.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let n = scans.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut per_point: Vec<Vec<f64>> = vec![Vec::with_capacity(replicates); operating_points.len()];
    let mut scores = Vec::with_capacity(replicates);
    let mut weight = vec![0u32; n];
    let mut skipped = 0;
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for _ in 0..replicates {
        weight.iter_mut().for_each(|w| *w = 0);
        for _ in 0..n {
            weight[rng.random_range(0..n)] += 1;
        }
        let lesions: u64 = scans
            .iter()
            .zip(&weight)
            .map(|(s, &w)| s.lesion_scores.len() as u64 * u64::from(w))
            .sum();
        if lesions == 0 {
            skipped += 1;
            continue;
        }
        xs.clear();
        ys.clear();
        xs.push(0.0);
        ys.push(0.0);
        let (mut tp, mut fp) = (0u64, 0u64);
        let mut i = 0;
        while i < events.len() {
            let t = events[i].0;
            let mut moved = false;
            while i < events.len() && events[i].0 == t {
                let w = u64::from(weight[events[i].2 as usize]);
                if w > 0 {
                    moved = true;
                    if events[i].1 {
                        tp += w;
                    } else {
                        fp += w;
                    }
                }
                i += 1;
            }
            if moved {
                xs.push(fp as f64 / n as f64);
                ys.push(tp as f64 / lesions as f64);
            }
        }
        let s: Vec<f64> = operating_points
            .iter()
            .map(|&f| interp(f, &xs, &ys))
            .collect();
        for (k, v) in s.iter().enumerate() {
            per_point[k].push(*v);
        }
        scores.push(mean(s.into_iter()));
    }
    let (qlo, qhi) = ((1.0 - level) / 2.0 * 100.0, (1.0 + level) / 2.0 * 100.0);
    let q = |v: &mut Vec<f64>| -> (f64, f64) {
        v.sort_by(f64::total_cmp);
        (
            crate::stats::percentile_sorted(v, qlo),
            crate::stats::percentile_sorted(v, qhi),
        )
    };
    Ok(FrocCi {
        level,
        replicates,
        skipped,
        seed,
        points: operating_points
            .iter()
            .zip(per_point.iter_mut())
            .map(|(&f, v)| {
                let (lo, hi) = q(v);
                (f, lo, hi)
            })
            .collect(),
        score: q(&mut scores),
    })
}

/// A random detection problem for tests and benchmarks: `scans` scans,
/// about `lesion_rate` lesions per scan (some scans have none), and
/// `candidates_per_scan` scores per scan; a lesion is found with probability
/// 0.8 by one to three candidates. Deterministic in `seed`.
pub fn synthetic_scans(
    scans: usize,
    lesion_rate: f64,
    candidates_per_scan: usize,
    seed: u64,
) -> Vec<ScanResult> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..scans)
        .map(|_| {
            let n_les = (0..3)
                .filter(|_| rng.random_bool((lesion_rate / 3.0).min(1.0)))
                .count();
            let mut r = ScanResult {
                fp_scores: Vec::new(),
                lesion_scores: vec![None; n_les],
            };
            for _ in 0..candidates_per_scan {
                if n_les > 0 && rng.random_bool(0.3) {
                    let l = rng.random_range(0..n_les);
                    if rng.random_bool(0.8) {
                        let s = 0.3 + 0.7 * rng.random::<f64>();
                        let b = &mut r.lesion_scores[l];
                        *b = Some(b.map_or(s, |x: f64| x.max(s)));
                        continue;
                    }
                }
                r.fp_scores
                    .push((rng.random::<f64>() * 0.9 * 1000.0).round() / 1000.0);
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;
    use proptest::prelude::*;

    fn brute_sensitivity(scans: &[ScanResult], t: f64) -> (f64, f64) {
        let lesions: usize = scans.iter().map(|s| s.lesion_scores.len()).sum();
        let tp: usize = scans
            .iter()
            .flat_map(|s| s.lesion_scores.iter().flatten())
            .filter(|&&v| v >= t)
            .count();
        let fp: usize = scans
            .iter()
            .flat_map(|s| s.fp_scores.iter())
            .filter(|&&v| v >= t)
            .count();
        (fp as f64 / scans.len() as f64, tp as f64 / lesions as f64)
    }

    #[test]
    fn duplicates_count_once_and_negatives_add_false_positives() {
        // Lesion 0 hit by three candidates; one false positive; a negative scan
        // with two false positives.
        let a = ScanResult::from_hits(&[0.9, 0.8, 0.7, 0.2], &[Some(0), Some(0), Some(0), None], 2)
            .unwrap();
        assert_eq!(a.lesion_scores, vec![Some(0.9), None]);
        assert_eq!(a.fp_scores, vec![0.2]);
        let b = ScanResult::from_hits(&[0.6, 0.1], &[None, None], 0).unwrap();
        let f = froc(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(f.lesions, 2);
        let last = f.points.last().unwrap();
        assert_eq!((last.true_positives, last.false_positives), (1, 3));
        assert_eq!(last.fps_per_scan, 1.5);
        assert_eq!(last.sensitivity, 0.5);
        // Dropping the negative scan halves nothing but the denominator: 3 FPs / 1 scan.
        let g = froc(&[a]).unwrap();
        assert_eq!(g.points.last().unwrap().fps_per_scan, 1.0);
    }

    #[test]
    fn pooled_not_per_scan() {
        // Scan 1: 1 of 1 lesions found; scan 2: 0 of 3. Pooled 1/4, not mean(1, 0) = 1/2.
        let s = [
            ScanResult {
                fp_scores: vec![],
                lesion_scores: vec![Some(0.9)],
            },
            ScanResult {
                fp_scores: vec![],
                lesion_scores: vec![None, None, None],
            },
        ];
        assert_eq!(froc(&s).unwrap().points.last().unwrap().sensitivity, 0.25);
    }

    #[test]
    fn errors_not_panics() {
        assert!(froc(&[]).is_err());
        assert!(froc(&[ScanResult::default()]).is_err());
        assert!(ScanResult::from_hits(&[f64::NAN], &[None], 0).is_err());
        assert!(ScanResult::from_hits(&[0.5], &[Some(3)], 1).is_err());
        assert!(ScanResult::from_hits(&[0.5, 0.1], &[None], 1).is_err());
    }

    #[test]
    fn hit_rules() {
        let mut labels = Array3::<u32>::zeros((4, 4, 4));
        labels[[1, 1, 1]] = 7;
        let lesions = [Lesion {
            scan: 0,
            label: 7,
            center_mm: [1.0, 1.0, 1.0],
            radius_mm: 1.5,
        }];
        let cand = |v: [usize; 3]| Candidate {
            scan: 0,
            voxel: v,
            position_mm: [v[0] as f64, v[1] as f64, v[2] as f64],
            score: 1.0,
            volume_mm3: 0.0,
        };
        let c = [
            cand([1, 1, 1]),
            cand([2, 2, 1]),
            cand([3, 3, 3]),
            cand([9, 9, 9]),
        ];
        let m = assign(&c, &lesions, HitRule::InsideMask, Some(labels.view())).unwrap();
        assert_eq!(m, vec![Some(0), None, None, None]);
        let r = assign(&c, &lesions, HitRule::WithinRadius, None).unwrap();
        assert_eq!(r, vec![Some(0), Some(0), None, None]);
        assert!(assign(&c, &lesions, HitRule::InsideMask, None).is_err());
    }

    /// The curve as the first version built it: one sort of (score, hit)
    /// pairs, one point per run of equal scores.
    fn pairs_curve(scans: &[ScanResult]) -> Vec<(u64, usize, usize)> {
        let mut events: Vec<(f64, bool)> = Vec::new();
        for s in scans {
            events.extend(s.fp_scores.iter().map(|&v| (v, false)));
            events.extend(s.lesion_scores.iter().flatten().map(|&v| (v, true)));
        }
        events.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        let mut out = vec![(f64::INFINITY.to_bits(), 0, 0)];
        let (mut tp, mut fp, mut i) = (0, 0, 0);
        while i < events.len() {
            let t = events[i].0;
            while i < events.len() && events[i].0 == t {
                if events[i].1 {
                    tp += 1
                } else {
                    fp += 1
                }
                i += 1;
            }
            out.push((t.to_bits(), tp, fp));
        }
        out
    }

    /// The key sort orders every kind of f64 (infinities, subnormals, both
    /// zeros, both signs, NaN payloads) as `total_cmp` does, to the bit.
    #[test]
    fn key_sort_is_total_order_descending() {
        let mut v = vec![
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::MAX,
            f64::MIN,
            1.0,
            -1.0,
            0.5,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001),
        ];
        let mut want = v.clone();
        want.sort_by(|a, b| b.total_cmp(a));
        sort_descending(&mut v);
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&v), bits(&want));
    }

    proptest! {
        /// Any f64 values sort as `total_cmp` sorts them.
        #[test]
        fn key_sort_matches_total_cmp(v in proptest::collection::vec(proptest::num::f64::ANY, 0..300)) {
            let mut got = v.clone();
            sort_descending(&mut got);
            let mut want = v;
            want.sort_by(|a, b| b.total_cmp(a));
            let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&got), bits(&want));
        }

        /// Ties, 0.0 against -0.0 and repeated scores give the same points
        /// (thresholds to the bit) as the sort of pairs.
        #[test]
        fn curve_matches_the_sort_of_pairs_with_ties(
            scores in proptest::collection::vec((0usize..6, 0usize..8, proptest::bool::ANY), 1..200),
        ) {
            const VALUES: [f64; 6] = [0.0, -0.0, 0.5, 0.5, 1.0, 0.25];
            let mut scans = vec![ScanResult::default(); 8];
            for &(v, scan, hit) in &scores {
                if hit {
                    scans[scan].lesion_scores.push(Some(VALUES[v]));
                } else {
                    scans[scan].fp_scores.push(VALUES[v]);
                }
            }
            scans[0].lesion_scores.push(None);
            let f = froc(&scans).unwrap();
            let got: Vec<(u64, usize, usize)> = f
                .points
                .iter()
                .map(|p| (p.threshold.to_bits(), p.true_positives, p.false_positives))
                .collect();
            prop_assert_eq!(got, pairs_curve(&scans));
        }

        #[test]
        fn curve_matches_brute_force(seed in 0u64..1000, scans in 1usize..30, per in 0usize..8) {
            let s = synthetic_scans(scans, 1.5, per, seed);
            prop_assume!(s.iter().any(|x| !x.lesion_scores.is_empty()));
            let f = froc(&s).unwrap();
            for p in &f.points[1..] {
                let (fps, sens) = brute_sensitivity(&s, p.threshold);
                prop_assert_eq!(p.fps_per_scan, fps);
                prop_assert_eq!(p.sensitivity, sens);
            }
            // Monotone and ending with everything kept.
            for w in f.points.windows(2) {
                prop_assert!(w[1].fps_per_scan >= w[0].fps_per_scan);
                prop_assert!(w[1].sensitivity >= w[0].sensitivity);
            }
            let (fps, sens) = brute_sensitivity(&s, f64::NEG_INFINITY);
            let last = f.points.last().unwrap();
            prop_assert_eq!((last.fps_per_scan, last.sensitivity), (fps, sens));
            let score = f.cpm();
            prop_assert!((0.0..=1.0).contains(&score));
        }

        #[test]
        fn bootstrap_brackets_and_repeats(seed in 0u64..200) {
            let s = synthetic_scans(40, 1.5, 6, seed);
            prop_assume!(s.iter().any(|x| !x.lesion_scores.is_empty()));
            let a = bootstrap_ci(&s, &LUNA16, 200, 0.95, 7).unwrap();
            let b = bootstrap_ci(&s, &LUNA16, 200, 0.95, 7).unwrap();
            prop_assert_eq!(&a, &b);
            for &(_, lo, hi) in &a.points {
                prop_assert!(lo <= hi && (0.0..=1.0).contains(&lo) && hi <= 1.0);
            }
            prop_assert!(a.score.0 <= a.score.1);
        }
    }

    #[test]
    fn bootstrap_with_all_weights_one_is_the_curve() {
        // The weighted sweep with every scan drawn once reproduces froc():
        // checked through a single-scan problem, where every replicate is the scan itself.
        let s = [ScanResult {
            fp_scores: vec![0.5, 0.2],
            lesion_scores: vec![Some(0.7), Some(0.3), None],
        }];
        let ci = bootstrap_ci(&s, &LUNA16, 50, 0.95, 1).unwrap();
        let f = froc(&s).unwrap();
        for &(fps, lo, hi) in &ci.points {
            assert_eq!(lo, f.sensitivity_at(fps));
            assert_eq!(hi, f.sensitivity_at(fps));
        }
    }

    #[test]
    fn monai_drops_the_lowest_threshold() {
        // Every lesion found: MONAI's curve never keeps the 0.2 false positive
        // and its lowest-scored hit.
        let fp = [0.2, 0.6];
        let tp = [0.9, 0.1];
        let (fps, sens) = monai_froc_curve_data(&fp, &tp, 2, 1);
        assert_eq!(fps, vec![2.0, 1.0, 0.0, 0.0]);
        assert_eq!(sens, vec![0.5, 0.5, 0.5, 0.0]);
        let ours = froc(&[ScanResult {
            fp_scores: fp.to_vec(),
            lesion_scores: vec![Some(0.9), Some(0.1)],
        }])
        .unwrap();
        assert_eq!(ours.points.last().unwrap().sensitivity, 1.0);
    }
}
