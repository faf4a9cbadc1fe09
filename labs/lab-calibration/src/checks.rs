//! The graded checks of lab-calibration. Messages name the convention
//! broken and show expected vs got on a small example.

use radlab_grade::{Check, Kind, Outcome, Visibility};
use radlab_metrics::classification::sigmoid;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::tasks::{REFERENCE, Tasks};

fn same(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol * b.abs().max(1.0)
}

fn expect_ece(
    t: &'static Tasks,
    conf: &[f64],
    correct: &[bool],
    bins: usize,
    want: f64,
    what: &str,
    rule: &str,
) -> Outcome {
    let got = (t.ece)(conf, correct, bins);
    if same(got, want, 1e-12) {
        Ok(format!("{what}: {got}"))
    } else {
        Err(format!(
            "{what}, {bins} bins: expected {want}, got {got}.\n{rule}"
        ))
    }
}

fn ece_worked(t: &'static Tasks) -> Outcome {
    expect_ece(
        t,
        &[0.95, 0.95, 0.95, 0.55],
        &[true, true, true, false],
        10,
        0.75 * 0.05 + 0.25 * 0.55,
        "three right at 0.95, one wrong at 0.55",
        "ECE weighs each bin's gap by the fraction of predictions in it: 0.75 x 0.05 + 0.25 x 0.55 = 0.175. The unweighted mean over bins (0.30) is MONAI's 'average', a different metric.",
    )
}

fn ece_one(t: &'static Tasks) -> Outcome {
    expect_ece(
        t,
        &[1.0, 1.0, 1.0, 1.0, 0.5, 0.5],
        &[true, true, false, false, true, false],
        10,
        4.0 / 6.0 * 0.5,
        "four predictions at exactly 1.0 (half right), two at 0.5 (half right)",
        "A confidence of exactly 1.0 belongs to the last bin: floor(1.0 x 10) = 10 is one past the end. Dropping those predictions hides the worst over-confidence there is.",
    )
}

/// The last bin holds predictions at exactly 1.0 (over-confident) and just
/// below it (under-confident): one bin, so their gaps partly cancel. An
/// extra bin for p = 1.0 adds the two gaps instead.
fn ece_last_bin_mix(t: &'static Tasks) -> Outcome {
    let last: f64 = (2.0 + 3.0 * 0.92) / 5.0 - 4.0 / 5.0;
    expect_ece(
        t,
        &[1.0, 1.0, 0.92, 0.92, 0.92, 0.35],
        &[true, false, true, true, true, true],
        10,
        5.0 / 6.0 * last.abs() + 1.0 / 6.0 * 0.65,
        "two predictions at 1.0 (one right), three at 0.92 (all right), one at 0.35 (right)",
        "[0.9, 1.0] is one bin, closed at 1.0: its five predictions have mean confidence 0.952 and accuracy 0.8. A separate bin for p = 1.0 (an eleventh bin) changes the ECE whenever the last bin holds other predictions too.",
    )
}

fn ece_empty(t: &'static Tasks) -> Outcome {
    expect_ece(
        t,
        &[0.12, 0.15, 0.85, 0.88],
        &[false, true, true, true],
        10,
        0.5 * (0.5 - 0.135f64).abs() + 0.5 * (1.0 - 0.865f64).abs(),
        "predictions in two of ten bins",
        "Empty bins have no mean (0 / 0 is NaN) and no weight: skip them. Counting them turns the whole ECE into NaN or drags it toward 0.",
    )
}

/// Confidences on and next to the edges where `floor(p * bins)` and the
/// linspace edges `k * (1 / bins)` disagree (0.3 with 10 bins is below
/// 3 * 0.1 = 0.30000000000000004), each bin's accuracy set so a
/// misplaced prediction changes the ECE.
fn ece_edges(t: &'static Tasks) -> Outcome {
    let conf = [0.3, 0.3, 0.6, 0.7, 0.8999999999999999, 0.35, 0.15];
    let correct = [true, true, false, true, false, true, false];
    for bins in [10usize, 20] {
        let want = (REFERENCE.ece)(&conf, &correct, bins);
        expect_ece(
            t,
            &conf,
            &correct,
            bins,
            want,
            "confidences on the bin edges (0.3, 0.6, 0.7, 0.15, ...)",
            "The edges are k * (1.0 / bins), as numpy.linspace computes them, and 3 * (1.0 / 10) = 0.30000000000000004: p = 0.3 falls in bin 2, not in bin floor(0.3 * 10) = 3. Compare p with the edges rather than trusting floor(p * bins).",
        )?;
    }
    Ok("edge confidences binned as linspace's edges say".into())
}

fn random_predictions(r: &mut ChaCha8Rng) -> (Vec<f64>, Vec<bool>) {
    let n = r.random_range(1..300);
    let skew: f64 = r.random_range(0.5..2.0);
    let conf: Vec<f64> = (0..n)
        .map(|_| match r.random_range(0..20) {
            0 => 1.0,
            1 => 0.0,
            2 => f64::from(r.random_range(0u8..=10)) / 10.0,
            _ => r.random::<f64>(),
        })
        .collect();
    let correct = conf
        .iter()
        .map(|&p| r.random::<f64>() < p.powf(skew))
        .collect();
    (conf, correct)
}

fn ece_random(t: &'static Tasks) -> Outcome {
    let seed_note_701 = radlab_grade::seed_note(701);
    let mut r = radlab_grade::check_rng(701);
    for case in 0..200 {
        let (c, y) = random_predictions(&mut r);
        let bins = r.random_range(1..25);
        let (got, want) = ((t.ece)(&c, &y, bins), (REFERENCE.ece)(&c, &y, bins));
        if !same(got, want, 1e-12) {
            return Err(format!(
                "seeded case {case} ({seed_note_701}): {} predictions, {bins} bins: expected {want}, got {got}",
                c.len()
            ));
        }
    }
    Ok("200 seeded prediction sets (with 0, 1 and values on edges) match the reference".into())
}

/// A validation and a test split of binary logits, over-confident by `scale`.
fn splits(seed: u64, n: usize, scale: f64) -> (Vec<f64>, Vec<bool>, Vec<f64>, Vec<bool>) {
    let mut r = radlab_grade::check_rng(seed);
    let mut draw = |n: usize| -> (Vec<f64>, Vec<bool>) {
        let z: Vec<f64> = (0..n).map(|_| r.random_range(-6.0..6.0)).collect();
        let y = z
            .iter()
            .map(|&z| r.random::<f64>() < sigmoid(z / scale))
            .collect();
        (z, y)
    };
    let (zv, yv) = draw(n);
    let (zt, yt) = draw(n);
    (zv, yv, zt, yt)
}

fn temperature_validation_only(t: &'static Tasks) -> Outcome {
    let (zv, yv, zt, yt) = splits(711, 400, 2.0);
    let flipped: Vec<bool> = yt
        .iter()
        .enumerate()
        .map(|(i, &y)| if i % 3 == 0 { !y } else { y })
        .collect();
    let a = (t.temperature_scale)(&zv, &yv, &zt, &yt);
    let b = (t.temperature_scale)(&zv, &yv, &zt, &flipped);
    let want = (REFERENCE.temperature_scale)(&zv, &yv, &zt, &yt);
    if a.len() != zt.len() {
        return Err(format!(
            "expected {} test probabilities, got {}",
            zt.len(),
            a.len()
        ));
    }
    if a.iter().zip(&b).any(|(x, y)| !same(*x, *y, 1e-12)) {
        return Err("the calibrated test probabilities change when the test labels change: the temperature was fitted on the test split. Fit on the validation split only; the test split measures the result.".into());
    }
    if let Some(i) = (0..a.len()).find(|&i| !same(a[i], want[i], 1e-6)) {
        return Err(format!(
            "test logit {}: expected {}, got {} (T fitted on the validation split by minimum NLL)",
            zt[i], want[i], a[i]
        ));
    }
    Ok("independent of the test labels and equal to the reference".into())
}

fn temperature_logits(t: &'static Tasks) -> Outcome {
    let (zv, yv, zt, yt) = splits(712, 300, 0.5);
    let got = (t.temperature_scale)(&zv, &yv, &zt, &yt);
    let want = (REFERENCE.temperature_scale)(&zv, &yv, &zt, &yt);
    for i in 0..zt.len().min(got.len()) {
        if !same(got[i], want[i], 1e-6) {
            return Err(format!(
                "an under-confident model (T < 1 expected): test logit {}: expected sigmoid(z / T) = {}, got {}.\nTemperature scaling divides the logits: sigmoid(z / T). Scaling the probability (sigmoid(z) / T, or sigmoid(z)^(1/T)) is not temperature scaling and can leave [0, 1].",
                zt[i], want[i], got[i]
            ));
        }
    }
    if got.len() != zt.len() {
        return Err(format!(
            "expected {} test probabilities, got {}",
            zt.len(),
            got.len()
        ));
    }
    Ok("sigmoid(z / T) on every test logit".into())
}

fn temperature_argmax(t: &'static Tasks) -> Outcome {
    let (zv, mut yv, zt, yt) = splits(713, 400, 1.5);
    // A validation split with a prevalence shift tempts an offset.
    for (i, y) in yv.iter_mut().enumerate() {
        if i % 5 == 0 {
            *y = true;
        }
    }
    let got = (t.temperature_scale)(&zv, &yv, &zt, &yt);
    for (i, (&z, &p)) in zt.iter().zip(&got).enumerate() {
        if z != 0.0 && ((z > 0.0) != (p > 0.5)) {
            return Err(format!(
                "test logit {z} (index {i}) is classified {} before scaling and {} after (p = {p}).\nA temperature T > 0 keeps the argmax: sigmoid(z / T) > 0.5 exactly when z > 0. An offset (sigmoid(a z + b), Platt scaling) moves the decision threshold.",
                if z > 0.0 { "positive" } else { "negative" },
                if p > 0.5 { "positive" } else { "negative" }
            ));
        }
    }
    if got.len() != zt.len() {
        return Err(format!(
            "expected {} test probabilities, got {}",
            zt.len(),
            got.len()
        ));
    }
    Ok("every decision unchanged".into())
}

fn temperature_random(t: &'static Tasks) -> Outcome {
    for seed in 720..730u64 {
        let scale = 0.4 + (seed - 720) as f64 * 0.35;
        let (zv, yv, zt, yt) = splits(seed, 200, scale);
        let got = (t.temperature_scale)(&zv, &yv, &zt, &yt);
        let want = (REFERENCE.temperature_scale)(&zv, &yv, &zt, &yt);
        if got.len() != want.len() || got.iter().zip(&want).any(|(a, b)| !same(*a, *b, 1e-6)) {
            return Err(format!(
                "seeded splits ({}, true temperature {scale}): the calibrated probabilities differ from the reference",
                radlab_grade::seed_note(seed)
            ));
        }
    }
    Ok("10 seeded split pairs match the reference".into())
}

fn bins_equal_mass(t: &'static Tasks) -> Outcome {
    let conf = [0.05, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.9, 0.95, 1.0];
    let correct = [
        false, false, true, false, true, true, false, true, true, true,
    ];
    let got = (t.equal_mass_bins)(&conf, &correct, 5);
    let want = (REFERENCE.equal_mass_bins)(&conf, &correct, 5);
    if got.len() != want.len() {
        return Err(format!("expected {} bins, got {}", want.len(), got.len()));
    }
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        let ok = same(g.lo, w.lo, 1e-12)
            && same(g.hi, w.hi, 1e-12)
            && g.count == w.count
            && same(g.confidence, w.confidence, 1e-12)
            && same(g.accuracy, w.accuracy, 1e-12);
        if !ok {
            return Err(format!(
                "ten predictions, five equal-mass bins: bin {k} expected {w:?}, got {g:?}.\nEdges are quantiles of the confidences (numpy's linear percentile at 0, 20, ..., 100 %), first 0 and last 1, never of the labels: where a bin starts must not depend on the outcome."
            ));
        }
    }
    Ok("five bins of two predictions each, as expected".into())
}

fn bins_random(t: &'static Tasks) -> Outcome {
    let seed_note_731 = radlab_grade::seed_note(731);
    let mut r = radlab_grade::check_rng(731);
    for case in 0..150 {
        let (c, y) = random_predictions(&mut r);
        let bins = r.random_range(1..12);
        let got = (t.equal_mass_bins)(&c, &y, bins);
        let want = (REFERENCE.equal_mass_bins)(&c, &y, bins);
        let ok = got.len() == want.len()
            && got.iter().zip(&want).all(|(g, w)| {
                same(g.lo, w.lo, 1e-12)
                    && same(g.hi, w.hi, 1e-12)
                    && g.count == w.count
                    && same(g.confidence, w.confidence, 1e-12)
                    && same(g.accuracy, w.accuracy, 1e-12)
            });
        if !ok {
            return Err(format!(
                "seeded case {case} ({seed_note_731}): {} predictions, {bins} bins differ from the reference",
                c.len()
            ));
        }
    }
    Ok("150 seeded prediction sets match the reference".into())
}

/// Every check, in the order the table shows them.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "ece" => {
            "ece/worked": 1.0, Visible, WorkedExample, ece_worked;
            "ece/p-equals-one": 1.0, Visible, WorkedExample, ece_one;
            "ece/last-bin-mix": 1.0, Hidden, WorkedExample, ece_last_bin_mix;
            "ece/empty-bins": 1.0, Visible, WorkedExample, ece_empty;
            "ece/linspace-edges": 1.0, Hidden, Property, ece_edges;
            "ece/random-vs-reference": 1.0, Hidden, Property, ece_random;
        }
        "temperature" => {
            "temperature/validation-only": 1.5, Visible, Property, temperature_validation_only;
            "temperature/logits-not-probabilities": 1.0, Visible, WorkedExample, temperature_logits;
            "temperature/argmax-unchanged": 1.0, Visible, Property, temperature_argmax;
            "temperature/random-vs-reference": 0.5, Hidden, Property, temperature_random;
        }
        "reliability-bins" => {
            "bins/equal-mass": 1.0, Visible, WorkedExample, bins_equal_mass;
            "bins/random-vs-reference": 1.0, Hidden, Property, bins_random;
        }
    ]
}
