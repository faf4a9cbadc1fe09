//! What is binned (top label, positive class, every class), the calibration
//! errors built on the bins, and the proper scores (Brier, NLL).

use ndarray::{Array2, ArrayView2, Axis};
use serde::Serialize;

use super::*;
use crate::MetricError;

/// What is compared with the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Target {
    /// The highest probability of each row against "the argmax was right".
    TopLabel,
    /// The probability of class 1 against "the label is 1" (binary problems).
    PositiveClass,
    /// Every class's probability against "the label is this class"; the
    /// error is the mean over classes.
    Classwise,
}

/// Confidences and outcomes (1.0 right, 0.0 wrong), index by index.
pub type ConfidenceSet = (Vec<f64>, Vec<f64>);

/// `(confidence, outcome)` sets of a probability matrix `[n, classes]` for a
/// [`Target`]: one set, or one per class for [`Target::Classwise`].
pub fn confidence_sets(
    probs: ArrayView2<'_, f64>,
    labels: &[usize],
    target: Target,
) -> Result<Vec<ConfidenceSet>, MetricError> {
    let (n, k) = probs.dim();
    check_labels(n, k, labels)?;
    Ok(match target {
        Target::TopLabel => {
            let (mut c, mut o) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for (row, &l) in probs.outer_iter().zip(labels) {
                let (arg, &p) = row
                    .iter()
                    .enumerate()
                    .fold(
                        (0, &f64::NEG_INFINITY),
                        |a, b| if b.1 > a.1 { b } else { a },
                    );
                c.push(p);
                o.push(if arg == l { 1.0 } else { 0.0 });
            }
            vec![(c, o)]
        }
        Target::PositiveClass => {
            if k != 2 {
                return Err(MetricError::Undefined(format!(
                    "positive-class calibration needs 2 classes, not {k}"
                )));
            }
            vec![(
                probs.column(1).to_vec(),
                labels.iter().map(|&l| l as f64).collect(),
            )]
        }
        Target::Classwise => (0..k)
            .map(|c| {
                (
                    probs.column(c).to_vec(),
                    labels
                        .iter()
                        .map(|&l| f64::from(u8::from(l == c)))
                        .collect(),
                )
            })
            .collect(),
    })
}

/// A binned calibration error of a probability matrix `[n, classes]`.
///
/// ```
/// use ndarray::array;
/// use radlab_metrics::calibration::*;
/// let p = array![[0.2, 0.8], [0.3, 0.7], [0.9, 0.1], [0.4, 0.6]];
/// let ece = calibration_error(p.view(), &[1, 0, 0, 1], Target::TopLabel,
///     &Binning::equal_width(10, EdgeRule::LeftClosed), Reduction::Expected).unwrap();
/// // bins 0.6-0.7: {0.6 right}, 0.7-0.8: {0.7 wrong}, 0.8-0.9: {0.8 right}, 0.9-1: {0.9 right}
/// assert!((ece - (0.4 + 0.7 + 0.2 + 0.1) / 4.0).abs() < 1e-12);
/// ```
pub fn calibration_error(
    probs: ArrayView2<'_, f64>,
    labels: &[usize],
    target: Target,
    binning: &Binning,
    reduction: Reduction,
) -> Result<f64, MetricError> {
    let sets = confidence_sets(probs, labels, target)?;
    let mut total = 0.0;
    for (c, o) in &sets {
        total += reduce(&reliability(c, o, binning)?, reduction);
    }
    Ok(total / sets.len() as f64)
}

/// Brier score: the mean over rows of `sum_k (p_k - [k = label])^2`
/// (binary problems as two columns give twice the one-column score).
pub fn brier(probs: ArrayView2<'_, f64>, labels: &[usize]) -> Result<f64, MetricError> {
    confidence_sets(probs, labels, Target::TopLabel)?;
    let n = labels.len() as f64;
    Ok(probs
        .outer_iter()
        .zip(labels)
        .map(|(row, &l)| {
            row.iter()
                .enumerate()
                .map(|(k, &p)| (p - f64::from(u8::from(k == l))).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n)
}

/// Negative log-likelihood: the mean of `-ln p_label`, with `p` clipped to
/// `[1e-15, 1]` so a confident mistake costs 34.5, not infinity.
pub fn nll(probs: ArrayView2<'_, f64>, labels: &[usize]) -> Result<f64, MetricError> {
    confidence_sets(probs, labels, Target::TopLabel)?;
    Ok(probs
        .outer_iter()
        .zip(labels)
        .map(|(row, &l)| -row[l].max(1e-15).ln())
        .sum::<f64>()
        / labels.len() as f64)
}

/// Softmax of `logits / temperature`, row by row (max subtracted first).
pub fn softmax(logits: ArrayView2<'_, f64>, temperature: f64) -> Array2<f64> {
    let mut out = logits.to_owned();
    out.axis_iter_mut(Axis(0)).for_each(|mut row| {
        let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|z| ((z - m) / temperature).exp());
        let s = row.sum();
        row.mapv_inplace(|v| v / s);
    });
    out
}

/// Whether a matrix looks like probabilities (rows in [0, 1] summing to 1):
/// what a temperature fit must not be given.
pub fn looks_like_probabilities(m: ArrayView2<'_, f64>) -> bool {
    m.outer_iter()
        .all(|row| row.iter().all(|v| (0.0..=1.0).contains(v)) && (row.sum() - 1.0).abs() < 1e-6)
}
