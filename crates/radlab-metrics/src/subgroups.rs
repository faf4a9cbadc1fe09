//! Metrics per subgroup and the gaps between subgroups.
//!
//! A metric here is any function of the indices of the cases it covers
//! (`Fn(&[usize]) -> Option<f64>`, `None` where undefined, e.g. a TPR with
//! no positives), so AUROC, sensitivity at a threshold or a calibration
//! error all work per group. Gaps follow fairlearn's `between_groups`
//! convention: difference = max - min over the groups, ratio = min / max.
//! Intervals resample *within* each group (a stratified bootstrap), so
//! every resample keeps each group's size: a small group's interval is as
//! wide as its size makes it, and no resample loses a group.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};

use crate::MetricError;

/// The indices of each group's cases, groups in sorted order.
pub fn members<G: Ord + Clone>(groups: &[G]) -> BTreeMap<G, Vec<usize>> {
    let mut m: BTreeMap<G, Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        m.entry(g.clone()).or_default().push(i);
    }
    m
}

/// `metric` on each group's cases.
pub fn by_group<G: Ord + Clone>(
    groups: &[G],
    metric: impl Fn(&[usize]) -> Option<f64>,
) -> BTreeMap<G, Option<f64>> {
    members(groups)
        .into_iter()
        .map(|(g, idx)| {
            let v = metric(&idx);
            (g, v)
        })
        .collect()
}

fn defined<G>(values: &BTreeMap<G, Option<f64>>) -> Result<Vec<f64>, MetricError> {
    let v: Vec<f64> = values.values().map(|x| x.unwrap_or(f64::NAN)).collect();
    if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
        return Err(MetricError::Undefined(
            "a gap needs the metric defined in every group".into(),
        ));
    }
    Ok(v)
}

/// Largest minus smallest group value (fairlearn's `difference()`).
pub fn difference<G>(values: &BTreeMap<G, Option<f64>>) -> Result<f64, MetricError> {
    let v = defined(values)?;
    Ok(v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - v.iter().copied().fold(f64::INFINITY, f64::min))
}

/// Smallest over largest group value (fairlearn's `ratio()`); 0 / 0 is
/// undefined, and 1 when every value is 0 would hide that: an error too.
pub fn ratio<G>(values: &BTreeMap<G, Option<f64>>) -> Result<f64, MetricError> {
    let v = defined(values)?;
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == 0.0 {
        return Err(MetricError::Undefined("ratio of zeros".into()));
    }
    Ok(v.iter().copied().fold(f64::INFINITY, f64::min) / max)
}

/// True positive rate (sensitivity) of binary decisions on `idx`.
pub fn tpr(truth: &[bool], decision: &[bool], idx: &[usize]) -> Option<f64> {
    let pos: Vec<usize> = idx.iter().copied().filter(|&i| truth[i]).collect();
    (!pos.is_empty())
        .then(|| pos.iter().filter(|&&i| decision[i]).count() as f64 / pos.len() as f64)
}

/// False positive rate (1 - specificity) on `idx`.
pub fn fpr(truth: &[bool], decision: &[bool], idx: &[usize]) -> Option<f64> {
    let neg: Vec<usize> = idx.iter().copied().filter(|&i| !truth[i]).collect();
    (!neg.is_empty())
        .then(|| neg.iter().filter(|&&i| decision[i]).count() as f64 / neg.len() as f64)
}

/// Share of positive decisions on `idx` (demographic parity's rate).
pub fn selection_rate(decision: &[bool], idx: &[usize]) -> Option<f64> {
    (!idx.is_empty())
        .then(|| idx.iter().filter(|&&i| decision[i]).count() as f64 / idx.len() as f64)
}

/// Equalized odds: the TPR gap and the FPR gap between groups, as
/// (worst case = the larger, mean = their average), fairlearn's
/// `equalized_odds_difference` with `agg='worst_case'` and `agg='mean'`.
pub fn equalized_odds<G: Ord + Clone>(
    truth: &[bool],
    decision: &[bool],
    groups: &[G],
) -> Result<(f64, f64), MetricError> {
    let t = difference(&by_group(groups, |i| tpr(truth, decision, i)))?;
    let f = difference(&by_group(groups, |i| fpr(truth, decision, i)))?;
    Ok((t.max(f), (t + f) / 2.0))
}

/// Per-group percentile intervals from a bootstrap stratified by group:
/// `resamples` times, each group's cases are drawn with replacement to the
/// group's own size (seeded ChaCha8, groups in sorted order); `metric` runs
/// on each group's draw. Returns group -> (low, high); resamples where the
/// metric is undefined for a group are left out of that group's interval.
pub fn group_intervals<G: Ord + Clone>(
    groups: &[G],
    resamples: usize,
    level: f64,
    seed: u64,
    metric: impl Fn(&[usize]) -> Option<f64>,
) -> Result<BTreeMap<G, (f64, f64)>, MetricError> {
    if resamples == 0 || !(level > 0.0 && level < 1.0) {
        return Err(MetricError::Undefined(
            "a bootstrap needs resamples and a level in (0, 1)".into(),
        ));
    }
    let m = members(groups);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut vals: BTreeMap<G, Vec<f64>> = m.keys().map(|g| (g.clone(), Vec::new())).collect();
    let mut draw = Vec::new();
    for _ in 0..resamples {
        for (g, idx) in &m {
            draw.clear();
            draw.extend((0..idx.len()).map(|_| idx[rng.random_range(0..idx.len())]));
            if let Some(v) = metric(&draw).filter(|v| v.is_finite()) {
                vals.get_mut(g).expect("every group").push(v);
            }
        }
    }
    let a = (1.0 - level) / 2.0;
    vals.into_iter()
        .map(|(g, mut v)| {
            if v.is_empty() {
                return Err(MetricError::Undefined(
                    "the metric was undefined on every resample of a group".into(),
                ));
            }
            v.sort_by(f64::total_cmp);
            Ok((
                g,
                (
                    crate::stats::percentile_sorted(&v, 100.0 * a),
                    crate::stats::percentile_sorted(&v, 100.0 * (1.0 - a)),
                ),
            ))
        })
        .collect()
}

/// The operating threshold that reaches sensitivity `target` on the cases
/// `idx`: the highest `t` such that deciding `score >= t` finds at least
/// `target` of their positives, i.e. the score of the `k`-th highest
/// positive with `k` the least count whose share `k / P` reaches the
/// target (compared as `k as f64 / P as f64 >= target`, as scikit-learn
/// compares its `tpr` array). It is the first threshold scikit-learn's
/// `roc_curve(drop_intermediate=False)` lists with `tpr >= target`. None
/// without positives, or for a target outside (0, 1].
///
/// Chosen per group on a *validation* split, such thresholds equalise
/// sensitivity across groups; their price is the false positive rate each
/// group pays for it, which differs.
///
/// ```
/// use radlab_metrics::subgroups::threshold_for_sensitivity;
/// let s = [0.9, 0.8, 0.7, 0.6, 0.2];
/// let y = [true, false, true, true, false];
/// // Two of three positives: 0.7 (0.9 and 0.7 are at or above it).
/// assert_eq!(threshold_for_sensitivity(&s, &y, &[0, 1, 2, 3, 4], 0.6), Some(0.7));
/// ```
pub fn threshold_for_sensitivity(
    scores: &[f64],
    truth: &[bool],
    idx: &[usize],
    target: f64,
) -> Option<f64> {
    if !(target > 0.0 && target <= 1.0) {
        return None;
    }
    let mut pos: Vec<f64> = idx
        .iter()
        .filter(|&&i| truth[i])
        .map(|&i| scores[i])
        .collect();
    if pos.is_empty() {
        return None;
    }
    pos.sort_by(|a, b| b.total_cmp(a));
    let p = pos.len() as f64;
    let k = (1..=pos.len()).find(|&k| k as f64 / p >= target)?;
    Some(pos[k - 1])
}
