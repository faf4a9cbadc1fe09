//! Your exercises for lab-froc. This is the only file you edit.
//!
//! Each function is a task of `cargo run -p lab-froc -- grade`. Replace the
//! `todo!()` with your implementation; keep the signatures. Stuck?
//! `cargo run -p lab-froc -- hint TASK`. To start over, copy
//! `src/exercise/pristine.rs` (the stubs as shipped) over this file.
//!
//! Positions are `(z, y, x)` in mm.

use crate::types::{Nodule, Scan};

/// Task `match-radius`: for each candidate position, the index of the
/// nodule it hits under LUNA16's rule (its distance to the nodule's centre
/// is at most the nodule's radius; `Nodule` is `(centre, diameter)`), the
/// nearest centre when several qualify (the first of them in `nodules` when
/// two are equally near), `None` when none does.
pub fn match_radius(candidates: &[[f64; 3]], nodules: &[Nodule]) -> Vec<Option<usize>> {
    let _ = (candidates, nodules);
    todo!("match-radius")
}

/// Task `froc-count`: keep the detections with `score >= threshold` and
/// return `(false positives per scan, sensitivity)` over all `scans`.
/// Several detections on one lesion find it once and are not false
/// positives; every scan counts, with or without lesions; sensitivity is
/// lesions found / all lesions.
pub fn froc_point(scans: &[Scan], threshold: f64) -> (f64, f64) {
    let _ = (scans, threshold);
    todo!("froc-count")
}

/// Task `cpm`: LUNA16's competition performance metric of a FROC curve given
/// as `(false positives per scan, sensitivity)` points sorted by false
/// positives (ascending, starting at `(0, 0)`): the mean sensitivity at its
/// seven operating points, interpolated linearly between curve points like
/// `numpy.interp`.
pub fn cpm(curve: &[(f64, f64)]) -> f64 {
    let _ = curve;
    todo!("cpm")
}
