//! The tasks as a table of functions: one table for the reference, one for
//! the learner's exercise file, one for the pristine stubs, and (in tests)
//! one per known mistake.

pub use crate::types::*;

/// ECE of confidences and outcomes with equal-width bins.
pub type EceFn = fn(&[f64], &[bool], usize) -> f64;
/// Calibrated test probabilities from validation logits and labels.
pub type ScaleFn = fn(&[f64], &[bool], &[f64], &[bool]) -> Vec<f64>;
/// Equal-mass reliability bins.
pub type BinsFn = fn(&[f64], &[bool], usize) -> Vec<BinStat>;

radlab_grade::lab_tasks! {
    /// Expected calibration error.
    ece: EceFn,
    /// Temperature scaling from validation to test.
    temperature_scale: ScaleFn,
    /// Equal-mass reliability bins.
    equal_mass_bins: BinsFn,
}

/// The reference implementations, from radlab-metrics.
pub mod reference {
    use super::*;
    use ndarray::Array2;
    use radlab_metrics::calibration::{
        BinSpacing, Binning, EdgeRule, Reduction, fit_temperature, reduce, reliability,
    };
    use radlab_metrics::classification::sigmoid;

    fn outcomes(correct: &[bool]) -> Vec<f64> {
        correct.iter().map(|&c| f64::from(u8::from(c))).collect()
    }

    /// Weighted mean gap over non-empty `[a, b)` bins, 1.0 in the last.
    pub fn ece(conf: &[f64], correct: &[bool], bins: usize) -> f64 {
        reliability(
            conf,
            &outcomes(correct),
            &Binning::equal_width(bins, EdgeRule::LeftClosed),
        )
        .map(|b| reduce(&b, Reduction::Expected))
        .unwrap_or(f64::NAN)
    }

    /// Binary logits as two-class logits `[0, z]`.
    pub fn two_class(z: &[f64]) -> Array2<f64> {
        Array2::from_shape_fn((z.len(), 2), |(i, k)| if k == 1 { z[i] } else { 0.0 })
    }

    /// Fit T on the validation split only; apply sigmoid(z / T) to the test logits.
    pub fn temperature_scale(
        val_logits: &[f64],
        val_labels: &[bool],
        test_logits: &[f64],
        _test_labels: &[bool],
    ) -> Vec<f64> {
        let labels: Vec<usize> = val_labels.iter().map(|&l| usize::from(l)).collect();
        let t = fit_temperature(two_class(val_logits).view(), &labels)
            .map(|f| f.temperature)
            .unwrap_or(f64::NAN);
        test_logits.iter().map(|&z| sigmoid(z / t)).collect()
    }

    /// Edges at the quantiles of the confidences; `[a, b)` bins, the last closed.
    pub fn equal_mass_bins(conf: &[f64], correct: &[bool], bins: usize) -> Vec<BinStat> {
        reliability(
            conf,
            &outcomes(correct),
            &Binning {
                bins,
                spacing: BinSpacing::EqualMass,
                edge: EdgeRule::LeftClosed,
            },
        )
        .map(|b| {
            b.into_iter()
                .map(|b| BinStat {
                    lo: b.lo,
                    hi: b.hi,
                    count: b.count,
                    confidence: b.confidence,
                    accuracy: b.accuracy,
                })
                .collect()
        })
        .unwrap_or_default()
    }
}
