//! Calibration: does a predicted 0.8 come true 80 % of the time?
//!
//! Every binned calibration error depends on choices libraries make
//! silently; here each is an explicit option:
//!
//! - **what is binned** ([`Target`]): the top label's confidence (Guo et al.,
//!   torchmetrics multiclass, netcal multiclass), the positive class's
//!   probability (binary torchmetrics, netcal binary, sklearn's
//!   `calibration_curve`, MONAI per channel), or every class separately
//!   (classwise, averaged);
//! - **the bins** ([`Binning`]): how many, equal width or equal mass
//!   (quantiles of the confidences), and which side of an edge a value on it
//!   falls ([`EdgeRule`]), including where `p = 1.0` goes;
//! - **the reduction** ([`Reduction`]): weighted by bin count (ECE), the
//!   unweighted mean over non-empty bins (MONAI's "average"), or the
//!   maximum (MCE).
//!
//! Equal-width edges are computed as numpy's `linspace` computes them
//! (`k * (1 / n)`, the last set to 1), so values on an edge land where
//! numpy-based libraries put them.
//!
//! Temperature scaling ([`fit_temperature`]) divides logits by one `T > 0`
//! fitted by minimising the negative log-likelihood; Platt scaling
//! ([`fit_platt`]) fits `sigmoid(a z + b)` on a binary logit.

use ndarray::{ArrayView2, Axis};

use crate::MetricError;

mod binning;
mod bootstrap;
mod scaling;
mod scores;

pub use binning::*;
pub use bootstrap::*;
pub use scaling::*;
pub use scores::*;

fn check_pairs(conf: &[f64], outcome: &[f64]) -> Result<(), MetricError> {
    if conf.len() != outcome.len() {
        return Err(MetricError::LengthMismatch {
            scores: conf.len(),
            labels: outcome.len(),
        });
    }
    if conf.is_empty() {
        return Err(MetricError::Undefined("no predictions".into()));
    }
    Ok(())
}

/// The first confidence outside [0, 1], as an error.
fn out_of_range(conf: &[f64]) -> Result<(), MetricError> {
    if let Some(i) = conf.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(MetricError::Undefined(format!(
            "prediction {i} is {}, not a probability in [0, 1]",
            conf[i]
        )));
    }
    Ok(())
}

/// One label per row, each one of the `k` classes.
fn check_labels(rows: usize, k: usize, labels: &[usize]) -> Result<(), MetricError> {
    if rows != labels.len() {
        return Err(MetricError::LengthMismatch {
            scores: rows,
            labels: labels.len(),
        });
    }
    if let Some(i) = labels.iter().position(|&l| l >= k) {
        return Err(MetricError::Undefined(format!(
            "label {} of row {i} is not one of {k} classes",
            labels[i]
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The exponential loop of the temperature fit gives the baseline's
    /// bits on every instruction set the processor has, from 0 down past
    /// the underflow at -745.
    #[test]
    fn every_instruction_set_takes_the_same_exponentials() {
        let d: Vec<f64> = (0..100_003).map(|i| -(i as f64) * 0.007_77).collect();
        for beta in [0.1, 1.0, 1.7, 9.5] {
            let mut want = vec![0.0; d.len()];
            scaling::scaled_exp_on(radlab_simd::Isa::Baseline, &d, &mut want, beta);
            for isa in radlab_simd::Isa::supported() {
                let mut got = vec![0.0; d.len()];
                scaling::scaled_exp_on(isa, &d, &mut got, beta);
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{isa}, beta={beta}");
            }
        }
    }

    use super::binning::{EqualWidthLookup, bin_of};
    use super::scaling::nll_beta;
    use super::*;
    use ndarray::Array2;
    use ndarray::array;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn edge_rules_place_edge_values_as_documented() {
        let e = edges(&[], &Binning::equal_width(5, EdgeRule::RightClosed));
        assert_eq!(e[3], 0.6000000000000001); // numpy's linspace: 3 * 0.2
        assert_eq!(bin_of(0.2, &e, EdgeRule::RightClosed), 0);
        assert_eq!(bin_of(0.2, &e, EdgeRule::LeftClosed), 1);
        assert_eq!(bin_of(0.0, &e, EdgeRule::RightClosed), 0);
        assert_eq!(bin_of(1.0, &e, EdgeRule::RightClosed), 4);
        assert_eq!(bin_of(1.0, &e, EdgeRule::LeftClosed), 4);
        assert_eq!(bin_of(1.0, &e, EdgeRule::LeftClosedExtraBin), 5);
        assert_eq!(bin_of(0.6, &e, EdgeRule::LeftClosed), 2); // 0.6 < 0.6000000000000001
    }

    proptest::proptest! {
        #[test]
        fn equal_width_lookup_is_the_search(p in 0.0f64..=1.0, n in 1usize..40, grid in proptest::bool::ANY) {
            // Half the cases sit exactly on a multiple of 1/n.
            let p = if grid { ((p * n as f64).round() / n as f64).min(1.0) } else { p };
            let e = edges(&[], &Binning::equal_width(n, EdgeRule::LeftClosed));
            for rule in [EdgeRule::RightClosed, EdgeRule::LeftClosed, EdgeRule::LeftClosedExtraBin] {
                let lookup = EqualWidthLookup::new(&e);
                proptest::prop_assert_eq!(lookup.bin(p, rule), bin_of(p, &e, rule), "p {} n {} {:?}", p, n, rule);
                // Values outside [0, 1] (refused later) still land in a bin.
                for q in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1.0 + p, -p] {
                    let slots = n + usize::from(rule == EdgeRule::LeftClosedExtraBin);
                    proptest::prop_assert!(lookup.bin(q, rule) < slots);
                }
            }
        }
    }

    #[test]
    fn separable_or_uninformative_logits_are_errors() {
        let z = array![[0.0, 5.0], [0.0, -5.0], [0.0, 3.0], [0.0, -2.0]];
        assert!(
            fit_temperature(z.view(), &[1, 0, 1, 0])
                .unwrap_err()
                .to_string()
                .contains("separate")
        );
        assert!(
            fit_temperature(z.view(), &[0, 1, 0, 1])
                .unwrap_err()
                .to_string()
                .contains("no information")
        );
    }

    #[test]
    fn perfectly_calibrated_bins_give_zero() {
        // In each bin the accuracy equals the mean confidence.
        let c = [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75];
        let o = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0];
        let b = reliability(&c, &o, &Binning::equal_width(10, EdgeRule::LeftClosed)).unwrap();
        assert_eq!(reduce(&b, Reduction::Expected), 0.0);
        assert_eq!(reduce(&b, Reduction::Maximum), 0.0);
    }

    #[test]
    fn reductions_differ_as_defined() {
        // 3 samples at 0.95 all right (gap 0.05), 1 at 0.55 wrong (gap 0.55).
        let c = [0.95, 0.95, 0.95, 0.55];
        let o = [1.0, 1.0, 1.0, 0.0];
        let b = reliability(&c, &o, &Binning::equal_width(10, EdgeRule::RightClosed)).unwrap();
        let ece = reduce(&b, Reduction::Expected);
        assert!((ece - (0.75 * 0.05 + 0.25 * 0.55)).abs() < 1e-12);
        assert!((reduce(&b, Reduction::Average) - 0.3).abs() < 1e-12);
        assert!((reduce(&b, Reduction::Maximum) - 0.55).abs() < 1e-12);
    }

    #[test]
    fn temperature_recovers_a_known_scale_and_keeps_accuracy() {
        // Labels drawn from softmax(z / 2): the fitted T is near 2.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 20000;
        let mut z = Array2::<f64>::zeros((n, 4));
        let mut labels = Vec::with_capacity(n);
        for mut row in z.outer_iter_mut() {
            row.mapv_inplace(|_| rng.random_range(-4.0..4.0));
            let p = softmax(row.view().insert_axis(Axis(0)), 2.0);
            let u: f64 = rng.random();
            let mut acc = 0.0;
            let mut l = 3;
            for k in 0..4 {
                acc += p[[0, k]];
                if u < acc {
                    l = k;
                    break;
                }
            }
            labels.push(l);
        }
        let fit = fit_temperature(z.view(), &labels).unwrap();
        assert!((fit.temperature - 2.0).abs() < 0.1, "{fit:?}");
        assert!(fit.nll_after <= fit.nll_before);
        assert_eq!(fit.accuracy.0, fit.accuracy.1);
        // The derivative is zero there: a nudge either way costs NLL.
        let beta = 1.0 / fit.temperature;
        let f = |b: f64| nll_beta(z.as_slice().unwrap(), 4, &labels, b).0;
        assert!(f(beta * 1.01) > f(beta) && f(beta * 0.99) > f(beta));
    }

    #[test]
    fn confidences_outside_zero_one_are_refused_with_their_index() {
        for n in [10, 200_000] {
            for bad in [1.5, -0.25, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut c: Vec<f64> = (0..n).map(|i| (i % 97) as f64 / 96.0).collect();
                let o = vec![1.0; n];
                c[n - 3] = bad;
                for b in [
                    Binning::equal_width(15, EdgeRule::LeftClosedExtraBin),
                    Binning {
                        bins: 10,
                        spacing: BinSpacing::EqualMass,
                        edge: EdgeRule::RightClosed,
                    },
                ] {
                    let e = reliability(&c, &o, &b).unwrap_err().to_string();
                    assert!(e.contains(&format!("prediction {}", n - 3)), "{e}");
                }
            }
        }
    }

    #[test]
    fn probabilities_are_refused_as_logits() {
        let p = array![[0.2, 0.8], [0.6, 0.4]];
        let e = fit_temperature(p.view(), &[1, 0]).unwrap_err();
        assert!(e.to_string().contains("logits"));
    }

    #[test]
    fn platt_fits_a_known_sigmoid() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let z: Vec<f64> = (0..20000).map(|_| rng.random_range(-6.0..6.0)).collect();
        let y: Vec<bool> = z
            .iter()
            .map(|&x| rng.random::<f64>() < crate::classification::sigmoid(0.5 * x - 1.0))
            .collect();
        let p = fit_platt(&z, &y).unwrap();
        assert!((p.a - 0.5).abs() < 0.05 && (p.b + 1.0).abs() < 0.1, "{p:?}");
    }
}
