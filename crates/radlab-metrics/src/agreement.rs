//! Agreement between readers, each coefficient with its conventions said.
//!
//! - [`cohen_kappa`]: two readers, unweighted or with linear or quadratic
//!   weights on the category *indices* (as scikit-learn), chance from each
//!   reader's own margins.
//! - [`fleiss_kappa`]: many readers, a subjects x categories count table;
//!   chance from the pooled margins (Fleiss) or uniform over the categories
//!   (Randolph's free-marginal kappa).
//! - [`krippendorff_alpha`]: readers x units with missing ratings, at the
//!   nominal, ordinal, interval or ratio level (the level is required: the
//!   usual Python package defaults to interval even for nominal labels).
//! - [`gwet_ac1`]: many readers, chance from how spread the categories are,
//!   which keeps it stable where kappa collapses at extreme prevalence.
//! - [`percent_agreement`]: the share of agreeing reader pairs.
//! - [`subject_bootstrap`]: a seeded percentile interval for any of them,
//!   resampling *subjects* (never single ratings: a subject's ratings move
//!   together).
//!
//! Categories are `usize` labels; the set of categories is the labels seen
//! (sorted), as scikit-learn and statsmodels take it.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::MetricError;

/// Weights of Cohen's kappa on the category indices `i, j`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// Every disagreement counts 1.
    Unweighted,
    /// `|i - j|`.
    Linear,
    /// `(i - j)^2`.
    Quadratic,
}

fn categories(labels: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut c: Vec<usize> = labels.collect();
    c.sort_unstable();
    c.dedup();
    c
}

fn index(cats: &[usize], v: usize) -> usize {
    cats.binary_search(&v).unwrap_or(0)
}

/// Cohen's kappa of two readers' labels of the same subjects.
///
/// `1 - sum(w * observed) / sum(w * expected)`, expected from the outer
/// product of the two readers' margins. Undefined (an error, where
/// scikit-learn returns NaN with a warning) when chance agreement is total,
/// e.g. both readers give every subject the same one label.
///
/// ```
/// use radlab_metrics::agreement::{cohen_kappa, Weights};
/// let a = [0, 1, 2, 2, 1, 0, 2, 1, 1, 0, 2, 2];
/// let b = [0, 1, 1, 2, 1, 0, 2, 2, 1, 1, 2, 1];
/// assert!((cohen_kappa(&a, &b, Weights::Quadratic).unwrap() - 0.7).abs() < 1e-12);
/// ```
pub fn cohen_kappa(a: &[usize], b: &[usize], weights: Weights) -> Result<f64, MetricError> {
    if a.len() != b.len() {
        return Err(MetricError::LengthMismatch {
            scores: a.len(),
            labels: b.len(),
        });
    }
    if a.is_empty() {
        return Err(MetricError::Undefined("kappa of no subjects".into()));
    }
    let cats = categories(a.iter().chain(b).copied());
    let k = cats.len();
    let mut obs = vec![0.0f64; k * k];
    let (mut ra, mut rb) = (vec![0.0f64; k], vec![0.0f64; k]);
    for (&x, &y) in a.iter().zip(b) {
        let (i, j) = (index(&cats, x), index(&cats, y));
        obs[i * k + j] += 1.0;
        ra[i] += 1.0;
        rb[j] += 1.0;
    }
    let n = a.len() as f64;
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            let d = i.abs_diff(j) as f64;
            let w = match weights {
                Weights::Unweighted => f64::from(u8::from(i != j)),
                Weights::Linear => d,
                Weights::Quadratic => d * d,
            };
            num += w * obs[i * k + j];
            den += w * ra[i] * rb[j] / n;
        }
    }
    if den == 0.0 {
        return Err(MetricError::Undefined(
            "kappa is 0 / 0: chance agreement is total (both readers used one and the same label)"
                .into(),
        ));
    }
    Ok(1.0 - num / den)
}

/// How Fleiss-type kappa counts chance agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chance {
    /// From the pooled category proportions (Fleiss 1971).
    Fleiss,
    /// Uniform over the table's categories: `1 / k` (Randolph 2005).
    FreeMarginal,
}

/// Subjects x readers labels as a subjects x categories count table, with
/// the categories (sorted labels seen), as statsmodels' `aggregate_raters`.
pub fn count_table(ratings: &[Vec<usize>]) -> (Array2<f64>, Vec<usize>) {
    // Labels are usually small integers: a lookup table indexed by the
    // label finds the sorted categories and each label's column in one
    // pass, where sorting every rating would dominate the whole kappa.
    let max = ratings.iter().flatten().copied().max().unwrap_or(0);
    if max < 1 << 16 {
        let mut column = vec![usize::MAX; max + 1];
        for &v in ratings.iter().flatten() {
            column[v] = 0;
        }
        let mut cats = Vec::new();
        for (v, c) in column.iter_mut().enumerate() {
            if *c == 0 {
                *c = cats.len();
                cats.push(v);
            }
        }
        let mut table = Array2::zeros((ratings.len(), cats.len()));
        for (mut row, r) in table.outer_iter_mut().zip(ratings) {
            for &v in r {
                row[column[v]] += 1.0;
            }
        }
        return (table, cats);
    }
    let cats = categories(ratings.iter().flatten().copied());
    let mut table = Array2::zeros((ratings.len(), cats.len()));
    for (mut row, r) in table.outer_iter_mut().zip(ratings) {
        for &v in r {
            row[index(&cats, v)] += 1.0;
        }
    }
    (table, cats)
}

/// Fleiss' kappa (or Randolph's) of a subjects x categories count table in
/// which every subject has the same number of ratings, at least 2.
///
/// ```
/// use radlab_metrics::agreement::{count_table, fleiss_kappa, Chance};
/// let ratings = vec![vec![0, 0, 1], vec![1, 1, 1], vec![2, 2, 1], vec![2, 2, 2]];
/// let (table, _) = count_table(&ratings);
/// assert!(fleiss_kappa(table.view(), Chance::Fleiss).unwrap() > 0.0);
/// ```
pub fn fleiss_kappa(table: ArrayView2<'_, f64>, chance: Chance) -> Result<f64, MetricError> {
    let (pa, n_raters) = mean_pair_agreement(table)?;
    let k = table.ncols();
    let pe = match chance {
        Chance::Fleiss => {
            let total = table.nrows() as f64 * n_raters;
            table
                .sum_axis(ndarray::Axis(0))
                .iter()
                .map(|&c| {
                    let p = c / total;
                    p * p
                })
                .sum()
        }
        Chance::FreeMarginal => 1.0 / k as f64,
    };
    if pe >= 1.0 {
        return Err(MetricError::Undefined(
            "kappa is 0 / 0: every rating is in one category".into(),
        ));
    }
    Ok((pa - pe) / (1.0 - pe))
}

/// Mean over subjects of the share of agreeing ordered reader pairs, and
/// the number of ratings per subject (checked equal).
fn mean_pair_agreement(table: ArrayView2<'_, f64>) -> Result<(f64, f64), MetricError> {
    if table.nrows() == 0 || table.ncols() == 0 {
        return Err(MetricError::Undefined("no subjects".into()));
    }
    let n: f64 = table.row(0).sum();
    if n < 2.0 {
        return Err(MetricError::Undefined(
            "each subject needs at least 2 ratings".into(),
        ));
    }
    let mut sum = 0.0;
    for (i, r) in table.outer_iter().enumerate() {
        let (total, squares) = r.iter().fold((0.0, 0.0), |(t, q), &c| (t + c, q + c * c));
        if total != n {
            return Err(MetricError::Undefined(format!(
                "subject {i} has {total} ratings; subject 0 has {n}"
            )));
        }
        sum += (squares - n) / (n * (n - 1.0));
    }
    Ok((sum / table.nrows() as f64, n))
}

/// The share of agreeing reader pairs, averaged over subjects (Fleiss'
/// observed agreement; for two readers, the fraction of equal labels).
pub fn percent_agreement(table: ArrayView2<'_, f64>) -> Result<f64, MetricError> {
    mean_pair_agreement(table).map(|(p, _)| p)
}

/// Gwet's AC1 (first-order agreement coefficient, Gwet 2008) of a subjects x
/// categories count table: observed agreement as Fleiss', chance
/// `sum_j pi_j (1 - pi_j) / (k - 1)` with `pi_j` the mean share of
/// category `j`. Needs at least 2 categories.
///
/// ```
/// use radlab_metrics::agreement::gwet_ac1;
/// // Two readers, 90 % agreement at 90 % prevalence: kappa 0.44, AC1 0.88.
/// let t = ndarray::Array2::from_shape_fn((100, 2), |(i, j)| match (i, j) {
///     (0..85, 0) | (95.., 1) => 2.0,
///     (85..95, _) => 1.0,
///     _ => 0.0,
/// });
/// assert!((gwet_ac1(t.view()).unwrap() - 0.72 / 0.82).abs() < 1e-12);
/// ```
pub fn gwet_ac1(table: ArrayView2<'_, f64>) -> Result<f64, MetricError> {
    let (pa, n) = mean_pair_agreement(table)?;
    let k = table.ncols();
    if k < 2 {
        return Err(MetricError::Undefined(
            "AC1 needs at least 2 categories".into(),
        ));
    }
    let pe: f64 = table
        .sum_axis(ndarray::Axis(0))
        .iter()
        .map(|&c| {
            let pi = c / n / table.nrows() as f64;
            pi * (1.0 - pi)
        })
        .sum::<f64>()
        / (k as f64 - 1.0);
    Ok((pa - pe) / (1.0 - pe))
}

/// Krippendorff's level of measurement: how far apart two values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Equal or not.
    Nominal,
    /// Ranks: the distance counts the values in between.
    Ordinal,
    /// Squared difference.
    Interval,
    /// Squared difference relative to the sum.
    Ratio,
}

/// Krippendorff's alpha of readers x units ratings (`None` missing), at
/// `level`: `1 - D_o / D_e` over the coincidence matrix, units with fewer
/// than two ratings ignored.
///
/// ```
/// use radlab_metrics::agreement::{krippendorff_alpha, Level};
/// let r = vec![vec![Some(1.0), Some(2.0), Some(3.0)], vec![Some(1.0), Some(2.0), Some(2.0)]];
/// assert!(krippendorff_alpha(&r, Level::Interval).unwrap() > 0.5);
/// ```
pub fn krippendorff_alpha(data: &[Vec<Option<f64>>], level: Level) -> Result<f64, MetricError> {
    let units = data.first().map_or(0, Vec::len);
    if data.iter().any(|r| r.len() != units) {
        return Err(MetricError::Undefined(
            "every reader needs one entry per unit (None when missing)".into(),
        ));
    }
    let Some(values) = distinct_sorted(data) else {
        return Err(MetricError::Undefined("a rating is not finite".into()));
    };
    let k = values.len();
    let at = |v: f64| values.partition_point(|&x| x < v);
    // The coincidence matrix, in fixed blocks of units on the rayon pool,
    // added up in block order: the same sums whatever the thread count.
    // Blocks run a round of one per thread at a time, so memory stays at
    // (threads + 1) k x k matrices however many units there are.
    const BLOCK: usize = 2048;
    let block = |b: usize| {
        let mut o = vec![0.0f64; k * k];
        let mut here: Vec<usize> = Vec::with_capacity(data.len());
        for u in b * BLOCK..((b + 1) * BLOCK).min(units) {
            here.clear();
            here.extend(data.iter().filter_map(|r| r[u]).map(at));
            let m = here.len();
            if m < 2 {
                continue;
            }
            let w = 1.0 / (m as f64 - 1.0);
            for (a, &c) in here.iter().enumerate() {
                for (e, &d) in here.iter().enumerate() {
                    if a != e {
                        o[c * k + d] += w;
                    }
                }
            }
        }
        o
    };
    let all_blocks: Vec<usize> = (0..units.div_ceil(BLOCK)).collect();
    let mut o = vec![0.0f64; k * k];
    for round in all_blocks.chunks(rayon::current_num_threads().max(1)) {
        let partial: Vec<Vec<f64>> = round.par_iter().map(|&b| block(b)).collect();
        for p in &partial {
            for (t, v) in o.iter_mut().zip(p) {
                *t += v;
            }
        }
    }
    let nc: Vec<f64> = (0..k).map(|c| (0..k).map(|d| o[c * k + d]).sum()).collect();
    let n: f64 = nc.iter().sum();
    if n < 2.0 {
        return Err(MetricError::Undefined(
            "alpha needs at least one unit rated twice".into(),
        ));
    }
    let delta = |c: usize, d: usize| -> f64 {
        let (vc, vd) = (values[c], values[d]);
        match level {
            Level::Nominal => f64::from(u8::from(c != d)),
            Level::Interval => (vc - vd).powi(2),
            Level::Ratio => {
                if vc + vd == 0.0 {
                    0.0
                } else {
                    ((vc - vd) / (vc + vd)).powi(2)
                }
            }
            Level::Ordinal => {
                let (lo, hi) = (c.min(d), c.max(d));
                (nc[lo..=hi].iter().sum::<f64>() - (nc[lo] + nc[hi]) / 2.0).powi(2)
            }
        }
    };
    let (mut dobs, mut dexp) = (0.0, 0.0);
    for c in 0..k {
        for d in 0..k {
            let dd = delta(c, d);
            dobs += o[c * k + d] * dd;
            dexp += nc[c] * nc[d] * dd;
        }
    }
    dobs /= n;
    dexp /= n * (n - 1.0);
    if dexp == 0.0 {
        return Err(MetricError::Undefined(
            "alpha is 0 / 0: every rating has the same value".into(),
        ));
    }
    Ok(1.0 - dobs / dexp)
}

/// The distinct rating values, sorted; None when one is not finite.
/// Ratings usually take a handful of values: each reader's are kept in a
/// small sorted list as they come (sorting every rating would cost more
/// than the whole coefficient), readers in parallel, and the lists merged;
/// past 64 distinct values, every rating is sorted instead.
fn distinct_sorted(data: &[Vec<Option<f64>>]) -> Option<Vec<f64>> {
    fn few_of<'a>(values: impl Iterator<Item = &'a f64>) -> Option<Result<Vec<f64>, ()>> {
        let mut few: Vec<f64> = Vec::new();
        for &v in values {
            if !v.is_finite() {
                return None;
            }
            // + 0.0 turns -0.0 into 0.0: one value, as `==` sees it.
            let v = v + 0.0;
            if let Err(i) = few.binary_search_by(|x| x.total_cmp(&v)) {
                if few.len() == 64 {
                    return Some(Err(()));
                }
                few.insert(i, v);
            }
        }
        Some(Ok(few))
    }
    let per_reader: Vec<_> = data
        .par_iter()
        .map(|r| few_of(r.iter().flatten()))
        .collect();
    let mut all = Vec::new();
    for r in per_reader {
        match r? {
            Ok(few) => all.extend(few),
            Err(()) => {
                all = data.iter().flatten().flatten().map(|v| v + 0.0).collect();
                if all.iter().any(|v| !v.is_finite()) {
                    return None;
                }
                break;
            }
        }
    }
    all.sort_by(f64::total_cmp);
    all.dedup();
    Some(all)
}

/// A percentile interval from `resamples` bootstrap resamples of the
/// `subjects` (indices drawn with replacement, seeded ChaCha8). `stat` gets
/// the drawn indices and returns `None` where undefined (those resamples
/// are skipped and counted). Returns (low, high, skipped).
pub fn subject_bootstrap(
    subjects: usize,
    resamples: usize,
    level: f64,
    seed: u64,
    stat: impl Fn(&[usize]) -> Option<f64>,
) -> Result<(f64, f64, usize), MetricError> {
    if subjects == 0 || resamples == 0 || !(level > 0.0 && level < 1.0) {
        return Err(MetricError::Undefined(
            "a bootstrap needs subjects, resamples and a level in (0, 1)".into(),
        ));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut idx = vec![0usize; subjects];
    let mut vals = Vec::with_capacity(resamples);
    let mut skipped = 0;
    for _ in 0..resamples {
        for i in idx.iter_mut() {
            *i = rng.random_range(0..subjects);
        }
        match stat(&idx) {
            Some(v) if v.is_finite() => vals.push(v),
            _ => skipped += 1,
        }
    }
    if vals.is_empty() {
        return Err(MetricError::Undefined(
            "the statistic was undefined on every resample".into(),
        ));
    }
    vals.sort_by(f64::total_cmp);
    let a = (1.0 - level) / 2.0;
    Ok((
        crate::stats::percentile_sorted(&vals, 100.0 * a),
        crate::stats::percentile_sorted(&vals, 100.0 * (1.0 - a)),
        skipped,
    ))
}
