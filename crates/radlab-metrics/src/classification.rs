//! Binary classification metrics.

use crate::MetricError;

/// The logistic function `1 / (1 + e^-x)`, computed without overflow.
///
/// ```
/// # use radlab_metrics::classification::sigmoid;
/// assert_eq!(sigmoid(0.0), 0.5);
/// assert!(sigmoid(-1000.0) >= 0.0 && sigmoid(1000.0) <= 1.0);
/// ```
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn check(scores: &[f64], labels: &[bool]) -> Result<(), MetricError> {
    if scores.len() != labels.len() {
        return Err(MetricError::LengthMismatch {
            scores: scores.len(),
            labels: labels.len(),
        });
    }
    if let Some(index) = scores.iter().position(|s| s.is_nan()) {
        return Err(MetricError::NaN { index });
    }
    Ok(())
}

/// Fraction of examples where `score > threshold` equals the label.
///
/// ```
/// # use radlab_metrics::classification::accuracy;
/// let acc = accuracy(&[0.9, 0.2, 0.6, 0.4], &[true, false, false, false], 0.5).unwrap();
/// assert_eq!(acc, 0.75);
/// ```
pub fn accuracy(scores: &[f64], labels: &[bool], threshold: f64) -> Result<f64, MetricError> {
    check(scores, labels)?;
    if scores.is_empty() {
        return Err(MetricError::Undefined("accuracy of no examples".into()));
    }
    let right = scores
        .iter()
        .zip(labels)
        .filter(|(s, l)| (**s > threshold) == **l)
        .count();
    Ok(right as f64 / scores.len() as f64)
}

/// Area under the ROC curve: the probability that a random positive scores
/// higher than a random negative, ties counting one half (the Mann-Whitney
/// U statistic over n_pos x n_neg; equal to scikit-learn's
/// `roc_auc_score`). Undefined, and an error, when one class is absent.
///
/// ```
/// # use radlab_metrics::classification::auroc;
/// assert_eq!(auroc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap(), 0.75);
/// ```
pub fn auroc(scores: &[f64], labels: &[bool]) -> Result<f64, MetricError> {
    check(scores, labels)?;
    let n_pos = labels.iter().filter(|&&l| l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(MetricError::Undefined(format!(
            "AUROC needs both classes; got {n_pos} positive and {n_neg} negative examples"
        )));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Mid-ranks (1-based) over runs of tied scores.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += mid * order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Ok(u / (n_pos as f64 * n_neg as f64))
}

/// AUROC against soft labels: example `i` counts as a positive with weight
/// `w[i]` and as a negative with weight `1 - w[i]` (the fraction of readers
/// who called it positive, say). Tied scores count one half, the pair of an
/// example with itself included, so this equals scikit-learn's
/// `roc_auc_score` on the data written out twice (once labelled 1 with
/// weight `w`, once labelled 0 with weight `1 - w`); with labels 0 and 1
/// only it equals [`auroc`].
///
/// ```
/// use radlab_metrics::classification::{auroc, soft_auroc};
/// let s = [0.9, 0.2, 0.6, 0.4];
/// let hard = soft_auroc(&s, &[1.0, 0.0, 1.0, 0.0]).unwrap();
/// assert_eq!(hard, auroc(&s, &[true, false, true, false]).unwrap());
/// assert!(soft_auroc(&s, &[0.8, 0.0, 0.6, 0.4]).unwrap() < hard);
/// ```
pub fn soft_auroc(scores: &[f64], weights: &[f64]) -> Result<f64, MetricError> {
    if scores.len() != weights.len() {
        return Err(MetricError::LengthMismatch {
            scores: scores.len(),
            labels: weights.len(),
        });
    }
    if let Some(index) = scores.iter().position(|s| s.is_nan()) {
        return Err(MetricError::NaN { index });
    }
    if let Some(i) = weights.iter().position(|w| !(0.0..=1.0).contains(w)) {
        return Err(MetricError::Undefined(format!(
            "soft label {i} is {}: weights must lie in [0, 1]",
            weights[i]
        )));
    }
    let (pos, neg): (f64, f64) = weights
        .iter()
        .fold((0.0, 0.0), |(p, n), &w| (p + w, n + 1.0 - w));
    if pos <= 0.0 || neg <= 0.0 {
        return Err(MetricError::Undefined(format!(
            "AUROC needs weight on both classes; got {pos} positive and {neg} negative"
        )));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Walk the runs of tied scores upward: each run's positive weight beats
    // all negative weight below it and ties half of its own.
    let (mut below, mut sum, mut i) = (0.0, 0.0, 0);
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let (p, n) = order[i..=j].iter().fold((0.0, 0.0), |(p, n), &k| {
            (p + weights[k], n + 1.0 - weights[k])
        });
        sum += p * (below + 0.5 * n);
        below += n;
        i = j + 1;
    }
    Ok(sum / (pos * neg))
}
