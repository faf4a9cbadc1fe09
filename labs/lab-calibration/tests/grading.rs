//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails at least one check whose message names the mistake.

use lab_calibration::tasks::{BinStat, REFERENCE, Tasks, reference};
use radlab_grade::mutant;
use radlab_metrics::calibration::fit_temperature;
use radlab_metrics::classification::sigmoid;

// ---- mutants: each is the reference with one known mistake ----

fn binned(conf: &[f64], correct: &[bool], bins: usize, keep_one: bool) -> Vec<(usize, f64, f64)> {
    let mut acc = vec![(0usize, 0.0, 0.0); bins];
    for (&p, &c) in conf.iter().zip(correct) {
        let mut k = (p * bins as f64).floor() as usize;
        if k >= bins {
            if !keep_one {
                continue;
            }
            k = bins - 1;
        }
        acc[k].0 += 1;
        acc[k].1 += p;
        acc[k].2 += f64::from(u8::from(c));
    }
    acc
}

/// The unweighted mean of the gaps over non-empty bins.
fn ece_unweighted(conf: &[f64], correct: &[bool], bins: usize) -> f64 {
    let b: Vec<_> = binned(conf, correct, bins, true)
        .into_iter()
        .filter(|b| b.0 > 0)
        .collect();
    b.iter()
        .map(|b| (b.2 / b.0 as f64 - b.1 / b.0 as f64).abs())
        .sum::<f64>()
        / b.len() as f64
}

/// Predictions at exactly 1.0 fall off the end and are dropped.
fn ece_drops_one(conf: &[f64], correct: &[bool], bins: usize) -> f64 {
    let n = conf.len() as f64;
    binned(conf, correct, bins, false)
        .iter()
        .filter(|b| b.0 > 0)
        .map(|b| b.0 as f64 / n * (b.2 / b.0 as f64 - b.1 / b.0 as f64).abs())
        .sum()
}

/// p = 1.0 in a bin of its own, one past the last.
fn ece_extra_bin(conf: &[f64], correct: &[bool], bins: usize) -> f64 {
    let n = conf.len() as f64;
    let mut acc = vec![(0usize, 0.0, 0.0); bins + 1];
    for (&p, &c) in conf.iter().zip(correct) {
        let k = ((p * bins as f64).floor() as usize).min(bins);
        acc[k].0 += 1;
        acc[k].1 += p;
        acc[k].2 += f64::from(u8::from(c));
    }
    acc.iter()
        .filter(|b| b.0 > 0)
        .map(|b| b.0 as f64 / n * (b.2 / b.0 as f64 - b.1 / b.0 as f64).abs())
        .sum()
}

/// Empty bins divided through: 0 / 0 = NaN poisons the sum.
fn ece_nan_empty(conf: &[f64], correct: &[bool], bins: usize) -> f64 {
    let n = conf.len() as f64;
    binned(conf, correct, bins, true)
        .iter()
        .map(|b| b.0 as f64 / n * (b.2 / b.0 as f64 - b.1 / b.0 as f64).abs())
        .sum()
}

fn fit(z: &[f64], y: &[bool]) -> f64 {
    let labels: Vec<usize> = y.iter().map(|&l| usize::from(l)).collect();
    fit_temperature(reference::two_class(z).view(), &labels)
        .unwrap()
        .temperature
}

/// The temperature fitted on the test split.
fn fitted_on_test(_zv: &[f64], _yv: &[bool], zt: &[f64], yt: &[bool]) -> Vec<f64> {
    let t = fit(zt, yt);
    zt.iter().map(|&z| sigmoid(z / t)).collect()
}

/// The temperature applied to the probability, not the logit.
fn applied_to_probabilities(zv: &[f64], yv: &[bool], zt: &[f64], _yt: &[bool]) -> Vec<f64> {
    let t = fit(zv, yv);
    zt.iter().map(|&z| sigmoid(z).powf(1.0 / t)).collect()
}

/// An offset as well (Platt scaling): the threshold moves.
fn with_offset(zv: &[f64], yv: &[bool], zt: &[f64], _yt: &[bool]) -> Vec<f64> {
    let p = radlab_metrics::calibration::fit_platt(zv, yv).unwrap();
    zt.iter().map(|&z| p.apply(z)).collect()
}

/// Equal-mass edges from the labels' quantiles.
fn bins_from_labels(conf: &[f64], correct: &[bool], bins: usize) -> Vec<BinStat> {
    let as_conf: Vec<f64> = correct
        .iter()
        .map(|&c| if c { 0.75 } else { 0.25 })
        .collect();
    let shape = reference::equal_mass_bins(&as_conf, correct, bins);
    let mut out = Vec::new();
    for s in shape {
        let inside: Vec<usize> = (0..conf.len())
            .filter(|&i| conf[i] >= s.lo && (conf[i] < s.hi || s.hi == 1.0))
            .collect();
        let n = inside.len();
        out.push(BinStat {
            lo: s.lo,
            hi: s.hi,
            count: n,
            confidence: inside.iter().map(|&i| conf[i]).sum::<f64>() / n as f64,
            accuracy: inside.iter().filter(|&&i| correct[i]).count() as f64 / n as f64,
        });
    }
    out
}

/// Each mutant with the check that must catch it and words its message must contain.
fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![
        (
            mutant!("ece-unweighted-mean", ece, ece_unweighted),
            "ece/worked",
            "weighs each bin",
        ),
        (
            mutant!("ece-drops-p-equal-1", ece, ece_drops_one),
            "ece/p-equals-one",
            "belongs to the last bin",
        ),
        (
            mutant!("ece-extra-bin-for-one", ece, ece_extra_bin),
            "ece/last-bin-mix",
            "eleventh bin",
        ),
        (
            mutant!("ece-empty-bins-counted", ece, ece_nan_empty),
            "ece/empty-bins",
            "0 / 0",
        ),
        (
            mutant!(
                "temperature-fitted-on-test",
                temperature_scale,
                fitted_on_test
            ),
            "temperature/validation-only",
            "fitted on the test split",
        ),
        (
            mutant!(
                "temperature-on-probabilities",
                temperature_scale,
                applied_to_probabilities
            ),
            "temperature/logits-not-probabilities",
            "divides the logits",
        ),
        (
            mutant!("scaling-moves-the-argmax", temperature_scale, with_offset),
            "temperature/argmax-unchanged",
            "keeps the argmax",
        ),
        (
            mutant!("equal-mass-from-labels", equal_mass_bins, bins_from_labels),
            "bins/equal-mass",
            "never of the labels",
        ),
    ]
}

radlab_grade::lab_grading_tests!(lab_calibration, "lab-calibration");
