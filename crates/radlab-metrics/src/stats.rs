//! Statistics shared by the metric modules: numpy's linear percentile and
//! the NaN-skipping mean that MONAI and nnU-Net average per-case scores with.

/// Mean of the values that are not NaN (NaN when all are): how MONAI and
/// nnU-Net average per-case scores.
pub fn nan_mean(values: &[f64]) -> f64 {
    let kept: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    kept.iter().sum::<f64>() / kept.len() as f64
}

/// [`percentile`] of values already sorted ascending (no copy).
///
/// ```
/// assert_eq!(radlab_metrics::stats::percentile_sorted(&[1.0, 2.0, 3.0, 4.0], 25.0), 1.75);
/// ```
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 100.0) / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// `numpy.percentile` with its default linear interpolation (`q` in
/// percent; values outside [0, 100] are taken as the nearest end).
///
/// ```
/// assert_eq!(radlab_metrics::stats::percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
/// ```
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    let pos = q.clamp(0.0, 100.0) / 100.0 * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    // Only the two order statistics around `pos` are needed: a selection,
    // not a sort.
    let (_, &mut below, above) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let next = if pos > lo as f64 {
        above
            .iter()
            .copied()
            .min_by(f64::total_cmp)
            .unwrap_or(below)
    } else {
        below
    };
    below + (next - below) * (pos - lo as f64)
}
