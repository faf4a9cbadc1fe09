//! The tasks as a table of functions: one table for the reference, one for
//! the learner's exercise file, one for the pristine stubs, and (in tests)
//! one per known mistake.

pub use crate::types::*;

/// Which nodule each candidate position `(z, y, x)` mm hits.
pub type MatchFn = fn(&[[f64; 3]], &[Nodule]) -> Vec<Option<usize>>;
/// `(false positives per scan, sensitivity)` at a score threshold.
pub type PointFn = fn(&[Scan], f64) -> (f64, f64);
/// The CPM of a FROC curve given as `(fps per scan, sensitivity)` points.
pub type CpmFn = fn(&[(f64, f64)]) -> f64;

radlab_grade::lab_tasks! {
    /// LUNA16's hit rule.
    match_radius: MatchFn,
    /// One FROC point.
    froc_point: PointFn,
    /// The competition performance metric.
    cpm: CpmFn,
}

/// The reference implementations, from radlab-metrics.
pub mod reference {
    use super::*;
    use radlab_metrics::detection::{
        Candidate, HitRule, LUNA16, Lesion, ScanResult, assign, interp,
    };

    /// Nearest nodule whose centre is within half its diameter.
    pub fn match_radius(candidates: &[[f64; 3]], nodules: &[Nodule]) -> Vec<Option<usize>> {
        let c: Vec<Candidate> = candidates
            .iter()
            .map(|&p| Candidate {
                scan: 0,
                voxel: [0; 3],
                position_mm: p,
                score: 0.0,
                volume_mm3: 0.0,
            })
            .collect();
        let l: Vec<Lesion> = nodules
            .iter()
            .map(|&(center_mm, d)| Lesion {
                scan: 0,
                label: 0,
                center_mm,
                radius_mm: d / 2.0,
            })
            .collect();
        assign(&c, &l, HitRule::WithinRadius, None).unwrap_or_default()
    }

    /// Counting with duplicates once, negatives in, sensitivity pooled.
    pub fn froc_point(scans: &[Scan], threshold: f64) -> (f64, f64) {
        let (mut fp, mut tp, mut lesions) = (0usize, 0usize, 0usize);
        for s in scans {
            let scores: Vec<f64> = s.detections.iter().map(|d| d.score).collect();
            let hits: Vec<Option<usize>> = s.detections.iter().map(|d| d.lesion).collect();
            let Ok(r) = ScanResult::from_hits(&scores, &hits, s.lesions) else {
                return (f64::NAN, f64::NAN);
            };
            fp += r.fp_scores.iter().filter(|&&v| v >= threshold).count();
            tp += r
                .lesion_scores
                .iter()
                .flatten()
                .filter(|&&v| v >= threshold)
                .count();
            lesions += s.lesions;
        }
        (fp as f64 / scans.len() as f64, tp as f64 / lesions as f64)
    }

    /// Mean of the linearly interpolated sensitivity at LUNA16's seven points.
    pub fn cpm(curve: &[(f64, f64)]) -> f64 {
        let xs: Vec<f64> = curve.iter().map(|p| p.0).collect();
        let ys: Vec<f64> = curve.iter().map(|p| p.1).collect();
        LUNA16.iter().map(|&f| interp(f, &xs, &ys)).sum::<f64>() / LUNA16.len() as f64
    }
}
