//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails at least one check whose message names the mistake.

use lab_agreement::tasks::{Level, REFERENCE, Tasks, Weights, reference};
use radlab_grade::mutant;
use rand::{Rng, SeedableRng};

// ---- mutants: each is the reference with one known mistake ----

fn cats(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut c: Vec<u8> = a.iter().chain(b).copied().collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// Weighted kappa with a chosen chance model and weight scale.
fn kappa_with(a: &[u8], b: &[u8], w: Weights, pooled: bool, on_values: bool) -> f64 {
    let c = cats(a, b);
    let k = c.len();
    let n = a.len() as f64;
    let at = |v: u8| c.iter().position(|&x| x == v).unwrap_or(0);
    let mut obs = vec![vec![0.0; k]; k];
    let (mut pa, mut pb) = (vec![0.0; k], vec![0.0; k]);
    for (&x, &y) in a.iter().zip(b) {
        obs[at(x)][at(y)] += 1.0 / n;
        pa[at(x)] += 1.0 / n;
        pb[at(y)] += 1.0 / n;
    }
    if pooled {
        let m: Vec<f64> = pa.iter().zip(&pb).map(|(x, y)| (x + y) / 2.0).collect();
        pa = m.clone();
        pb = m;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            let d = if on_values {
                f64::from(c[i]) - f64::from(c[j])
            } else {
                i as f64 - j as f64
            };
            let wij = match w {
                Weights::Unweighted => f64::from(u8::from(i != j)),
                Weights::Linear => d.abs(),
                Weights::Quadratic => d * d,
            };
            num += wij * obs[i][j];
            den += wij * pa[i] * pb[j];
        }
    }
    1.0 - num / den
}

/// Chance from the two readers' labels pooled: Scott's pi.
fn cohen_pooled(a: &[u8], b: &[u8], w: Weights) -> f64 {
    kappa_with(a, b, w, true, false)
}

/// Weights on the label values instead of the category indices.
fn cohen_on_values(a: &[u8], b: &[u8], w: Weights) -> f64 {
    kappa_with(a, b, w, false, true)
}

/// Ordinal scores treated as categories: the weights ignored.
fn cohen_unweighted(a: &[u8], b: &[u8], _w: Weights) -> f64 {
    reference::cohen_kappa(a, b, Weights::Unweighted)
}

/// 0 / 0 reported as perfect agreement.
fn cohen_constant_one(a: &[u8], b: &[u8], w: Weights) -> f64 {
    let k = reference::cohen_kappa(a, b, w);
    if k.is_nan() { 1.0 } else { k }
}

/// The table built from ratings[rater][subject].
fn fleiss_transposed(r: &[Vec<u8>]) -> f64 {
    let raters = r.first().map_or(0, Vec::len);
    let t: Vec<Vec<u8>> = (0..raters)
        .map(|j| r.iter().map(|row| row[j]).collect())
        .collect();
    reference::fleiss_kappa(&t)
}

fn fleiss_parts(r: &[Vec<u8>], squared: bool) -> (f64, Vec<f64>) {
    let n = r.first().map_or(0, Vec::len) as f64;
    let mut pooled = vec![0.0; 256];
    let mut pa = 0.0;
    for row in r {
        let mut c = vec![0.0; 256];
        for &v in row {
            c[usize::from(v)] += 1.0;
            pooled[usize::from(v)] += 1.0;
        }
        pa += if squared {
            c.iter().map(|x| x * x).sum::<f64>() / (n * n)
        } else {
            c.iter().map(|x| x * (x - 1.0)).sum::<f64>() / (n * (n - 1.0))
        };
    }
    (pa / r.len() as f64, pooled)
}

/// Chance 1/k: Randolph's kappa.
fn fleiss_randolph(r: &[Vec<u8>]) -> f64 {
    let (pa, pooled) = fleiss_parts(r, false);
    let k = pooled.iter().filter(|&&x| x > 0.0).count() as f64;
    (pa - 1.0 / k) / (1.0 - 1.0 / k)
}

/// n^2 pairs per subject (a rater paired with themself).
fn fleiss_n_squared(r: &[Vec<u8>]) -> f64 {
    let (pa, pooled) = fleiss_parts(r, true);
    let total: f64 = pooled.iter().sum();
    let pe: f64 = pooled.iter().map(|x| (x / total).powi(2)).sum();
    (pa - pe) / (1.0 - pe)
}

/// The krippendorff package's default level, whatever was asked.
fn alpha_always_interval(d: &[Vec<Option<f64>>], _l: Level) -> f64 {
    reference::krippendorff_alpha(d, Level::Interval)
}

/// Single-rated units counted into n and the value totals.
fn alpha_keeps_singles(d: &[Vec<Option<f64>>], level: Level) -> f64 {
    if level == Level::Ordinal {
        return reference::krippendorff_alpha(d, level);
    }
    let mut vals: Vec<f64> = d.iter().flatten().flatten().copied().collect();
    vals.sort_by(f64::total_cmp);
    vals.dedup();
    let k = vals.len();
    let at = |v: f64| vals.iter().position(|&x| x == v).unwrap_or(0);
    let mut o = vec![vec![0.0; k]; k];
    let mut extra = vec![0.0; k];
    for u in 0..d.first().map_or(0, Vec::len) {
        let here: Vec<f64> = d.iter().filter_map(|r| r[u]).collect();
        if here.len() == 1 {
            extra[at(here[0])] += 1.0;
            continue;
        }
        let m = here.len() as f64;
        for (i, &x) in here.iter().enumerate() {
            for (j, &y) in here.iter().enumerate() {
                if i != j {
                    o[at(x)][at(y)] += 1.0 / (m - 1.0);
                }
            }
        }
    }
    let nc: Vec<f64> = (0..k)
        .map(|c| o[c].iter().sum::<f64>() + extra[c])
        .collect();
    let n: f64 = nc.iter().sum();
    let delta = |c: usize, e: usize| match level {
        Level::Nominal => f64::from(u8::from(c != e)),
        _ => (vals[c] - vals[e]).powi(2),
    };
    let (mut dobs, mut dexp) = (0.0, 0.0);
    for c in 0..k {
        for e in 0..k {
            dobs += o[c][e] * delta(c, e);
            dexp += nc[c] * nc[e] * delta(c, e);
        }
    }
    1.0 - (dobs / n) / (dexp / (n * (n - 1.0)))
}

fn percentile(v: &[f64], q: f64) -> f64 {
    let pos = q / 100.0 * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Resampling single ratings: each cell drawn from the same rater's column.
fn interval_over_ratings(r: &[Vec<u8>], resamples: usize, seed: u64) -> (f64, f64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = r.len();
    let raters = r.first().map_or(0, Vec::len);
    let mut v = Vec::new();
    for _ in 0..resamples {
        let rows: Vec<Vec<u8>> = (0..n)
            .map(|_| (0..raters).map(|j| r[rng.random_range(0..n)][j]).collect())
            .collect();
        let k = reference::fleiss_kappa(&rows);
        if k.is_finite() {
            v.push(k);
        }
    }
    v.sort_by(f64::total_cmp);
    (percentile(&v, 2.5), percentile(&v, 97.5))
}

fn subject_kappas(r: &[Vec<u8>], resamples: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = r.len();
    (0..resamples)
        .map(|_| {
            let rows: Vec<Vec<u8>> = (0..n).map(|_| r[rng.random_range(0..n)].clone()).collect();
            reference::fleiss_kappa(&rows)
        })
        .collect()
}

/// Undefined resamples counted as perfect agreement.
fn interval_nan_as_one(r: &[Vec<u8>], resamples: usize, seed: u64) -> (f64, f64) {
    let mut v: Vec<f64> = subject_kappas(r, resamples, seed)
        .into_iter()
        .map(|k| if k.is_finite() { k } else { 1.0 })
        .collect();
    v.sort_by(f64::total_cmp);
    (percentile(&v, 2.5), percentile(&v, 97.5))
}

/// 5th and 95th percentiles: a 90% interval.
fn interval_90(r: &[Vec<u8>], resamples: usize, seed: u64) -> (f64, f64) {
    let mut v: Vec<f64> = subject_kappas(r, resamples, seed)
        .into_iter()
        .filter(|k| k.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    (percentile(&v, 5.0), percentile(&v, 95.0))
}

/// Ties sent to positive.
fn adjudicate_ties_positive(calls: &[Vec<bool>], _senior: usize) -> Vec<bool> {
    let n = calls.first().map_or(0, Vec::len);
    (0..n)
        .map(|c| 2 * calls.iter().filter(|r| r[c]).count() >= calls.len())
        .collect()
}

/// The senior reader decides everything.
fn adjudicate_senior_only(calls: &[Vec<bool>], senior: usize) -> Vec<bool> {
    calls[senior].clone()
}

/// Each mutant with the check that must catch it and words its message must contain.
fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![
        (
            mutant!("cohen-pooled-margins", cohen_kappa, cohen_pooled),
            "cohen/own-margins",
            "own margins",
        ),
        (
            mutant!("cohen-weights-on-values", cohen_kappa, cohen_on_values),
            "cohen/weights-on-indices",
            "indices",
        ),
        (
            mutant!("cohen-ordinal-unweighted", cohen_kappa, cohen_unweighted),
            "cohen/worked",
            "need weights",
        ),
        (
            mutant!("cohen-undefined-as-one", cohen_kappa, cohen_constant_one),
            "cohen/constant-readers",
            "0 / 0",
        ),
        (
            mutant!("fleiss-raters-by-subjects", fleiss_kappa, fleiss_transposed),
            "fleiss/worked",
            "raters x subjects",
        ),
        (
            mutant!("fleiss-randolph-chance", fleiss_kappa, fleiss_randolph),
            "fleiss/worked",
            "Randolph",
        ),
        (
            mutant!("fleiss-n-squared-pairs", fleiss_kappa, fleiss_n_squared),
            "fleiss/worked",
            "n^2",
        ),
        (
            mutant!(
                "alpha-always-interval",
                krippendorff_alpha,
                alpha_always_interval
            ),
            "alpha/level-matters",
            "defaults to interval",
        ),
        (
            mutant!(
                "alpha-single-ratings-counted",
                krippendorff_alpha,
                alpha_keeps_singles
            ),
            "alpha/single-ratings",
            "no pairs",
        ),
        (
            mutant!(
                "bootstrap-over-ratings",
                fleiss_interval,
                interval_over_ratings
            ),
            "interval/resample-subjects",
            "never single ratings",
        ),
        (
            mutant!(
                "bootstrap-undefined-as-one",
                fleiss_interval,
                interval_nan_as_one
            ),
            "interval/undefined-skipped",
            "Skip them",
        ),
        (
            mutant!("bootstrap-90-percent", fleiss_interval, interval_90),
            "interval/resample-subjects",
            "97.5th",
        ),
        (
            mutant!(
                "adjudicate-ties-positive",
                adjudicate,
                adjudicate_ties_positive
            ),
            "adjudicate/ties-to-senior",
            "senior reader decides",
        ),
        (
            mutant!(
                "adjudicate-senior-overrules",
                adjudicate,
                adjudicate_senior_only
            ),
            "adjudicate/senior-breaks-ties-only",
            "ties only",
        ),
    ]
}

radlab_grade::lab_grading_tests!(lab_agreement, "lab-agreement");
