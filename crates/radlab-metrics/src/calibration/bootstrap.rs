//! Percentile-bootstrap intervals of a calibration error, seeded.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::*;
use crate::MetricError;

/// Settings of a percentile bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bootstrap {
    /// Resamples drawn.
    pub replicates: usize,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Seed of the resampling (ChaCha8).
    pub seed: u64,
}

/// Percentile bootstrap interval of a calibration error: resample rows with
/// replacement.
pub fn calibration_error_ci(
    probs: ArrayView2<'_, f64>,
    labels: &[usize],
    target: Target,
    binning: &Binning,
    reduction: Reduction,
    bootstrap: &Bootstrap,
) -> Result<(f64, f64), MetricError> {
    let Bootstrap {
        replicates,
        level,
        seed,
    } = *bootstrap;
    calibration_error(probs, labels, target, binning, reduction)?;
    if replicates == 0 || !(level > 0.0 && level < 1.0) {
        return Err(MetricError::Undefined(format!(
            "bootstrap needs 0 < level < 1 and replicates > 0 (got {level}, {replicates})"
        )));
    }
    let n = labels.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draws: Vec<Vec<usize>> = (0..replicates)
        .map(|_| (0..n).map(|_| rng.random_range(0..n)).collect())
        .collect();
    let mut values: Vec<f64> = draws
        .par_iter()
        .map(|idx| {
            let p = probs.select(Axis(0), idx);
            let l: Vec<usize> = idx.iter().map(|&i| labels[i]).collect();
            calibration_error(p.view(), &l, target, binning, reduction).unwrap_or(f64::NAN)
        })
        .collect();
    values.sort_by(f64::total_cmp);
    let q = |x: f64| crate::stats::percentile_sorted(&values, x);
    Ok((
        q((1.0 - level) / 2.0 * 100.0),
        q((1.0 + level) / 2.0 * 100.0),
    ))
}
