//! Your exercises for lab-calibration. This is the only file you edit.
//!
//! Each function is a task of `cargo run -p lab-calibration -- grade`.
//! Replace the `todo!()` with your implementation; keep the signatures.
//! Stuck? `cargo run -p lab-calibration -- hint TASK`. To start over, copy
//! `src/exercise/pristine.rs` (the stubs as shipped) over this file.

use crate::types::BinStat;

/// Task `ece`: the expected calibration error of predictions with
/// confidence `conf[i]` in [0, 1] that were right when `correct[i]`, with
/// `bins` equal-width bins `[edge[k], edge[k+1])` with `edge[k] = k as f64 *
/// (1.0 / bins as f64)`, the edges numpy's `linspace(0, 1, bins + 1)` and
/// torchmetrics compute (a confidence of exactly 1.0 belongs to the last
/// bin): the sum over non-empty bins of
/// `(bin count / total) * |accuracy - mean confidence|`.
pub fn ece(conf: &[f64], correct: &[bool], bins: usize) -> f64 {
    let _ = (conf, correct, bins);
    todo!("ece")
}

/// Task `temperature`: calibrated probabilities for the test split. Fit one
/// temperature `T > 0` on the validation split's binary logits and labels by
/// minimising the negative log-likelihood of `sigmoid(z / T)`, then return
/// `sigmoid(z / T)` for every test logit. (`test_labels` is given; think
/// about whether you may use it.) You may use
/// `radlab_metrics::calibration::fit_temperature` on two-class logits `[0, z]`.
pub fn temperature_scale(
    val_logits: &[f64],
    val_labels: &[bool],
    test_logits: &[f64],
    test_labels: &[bool],
) -> Vec<f64> {
    let _ = (val_logits, val_labels, test_logits, test_labels);
    todo!("temperature")
}

/// Task `reliability-bins`: `bins` equal-mass bins for a reliability
/// diagram. Edges at the `k / bins` quantiles of the confidences (numpy's
/// linear percentile), the first edge 0 and the last 1; bins `[lo, hi)`,
/// the last one closed; per bin the count, mean confidence and accuracy
/// (NaN when empty).
pub fn equal_mass_bins(conf: &[f64], correct: &[bool], bins: usize) -> Vec<BinStat> {
    let _ = (conf, correct, bins);
    todo!("reliability-bins")
}
