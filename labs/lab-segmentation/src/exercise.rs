//! Your exercises for lab-segmentation. This is the only file you edit.
//!
//! Each function is a task of `cargo run -p lab-segmentation -- grade`.
//! Replace the `todo!()` with your implementation; keep the signatures.
//! Stuck? `cargo run -p lab-segmentation -- hint TASK`. To start over, copy
//! `src/exercise/pristine.rs` (the stubs as shipped) over this file.
//!
//! Masks are `[z, y, x]`; spacing is `(z, y, x)` in mm.

use crate::types::EmptyPolicy;
use ndarray::ArrayView3;

/// Task `dice-empty`: the Dice coefficient `2 |P ∩ R| / (|P| + |R|)` of a
/// prediction `pred` against a reference `reference` (same shape), with the
/// empty-mask convention `policy` (read its documentation: what is Dice
/// when the reference is empty, and when both are?).
pub fn dice(pred: ArrayView3<bool>, reference: ArrayView3<bool>, policy: EmptyPolicy) -> f64 {
    let _ = (pred, reference, policy);
    todo!("dice-empty")
}

/// Task `hd95-mm`: the 95th-percentile Hausdorff distance in mm between the
/// surfaces of `pred` and `reference` (MONAI's definition: the larger of the
/// two directed 95th percentiles), with voxel `spacing` `(z, y, x)` mm.
/// NaN when both masks are empty, infinity when only one is.
/// You may use `radlab_metrics::segmentation::{surface, distance_to, percentile}`.
pub fn hd95(pred: ArrayView3<bool>, reference: ArrayView3<bool>, spacing: [f64; 3]) -> f64 {
    let _ = (pred, reference, spacing);
    todo!("hd95-mm")
}
