//! The tasks as a table of functions: one table for the reference, one for
//! the learner's exercise file, one for the pristine stubs, and (in tests)
//! one per known mistake.

pub use crate::types::*;

/// Cohen's kappa of two readers' labels.
pub type CohenFn = fn(&[u8], &[u8], Weights) -> f64;
/// Fleiss' kappa of a subjects x raters table of labels.
pub type FleissFn = fn(&[Vec<u8>]) -> f64;
/// Krippendorff's alpha of a readers x units table with missing ratings.
pub type AlphaFn = fn(&[Vec<Option<f64>>], Level) -> f64;
/// A seeded 95% bootstrap interval of Fleiss' kappa.
pub type IntervalFn = fn(&[Vec<u8>], usize, u64) -> (f64, f64);
/// Majority vote with the senior reader breaking ties.
pub type AdjudicateFn = fn(&[Vec<bool>], usize) -> Vec<bool>;

radlab_grade::lab_tasks! {
    /// Cohen's kappa, unweighted or weighted.
    cohen_kappa: CohenFn,
    /// Fleiss' kappa.
    fleiss_kappa: FleissFn,
    /// Krippendorff's alpha.
    krippendorff_alpha: AlphaFn,
    /// Bootstrap interval over subjects.
    fleiss_interval: IntervalFn,
    /// Adjudication by majority and senior tie-break.
    adjudicate: AdjudicateFn,
}

/// The reference implementations, from radlab-metrics.
pub mod reference {
    use super::*;
    use radlab_metrics::agreement as ag;

    fn wide(v: &[u8]) -> Vec<usize> {
        v.iter().map(|&x| usize::from(x)).collect()
    }

    /// scikit-learn's cohen_kappa_score; NaN where it is 0 / 0.
    pub fn cohen_kappa(a: &[u8], b: &[u8], weights: Weights) -> f64 {
        let w = match weights {
            Weights::Unweighted => ag::Weights::Unweighted,
            Weights::Linear => ag::Weights::Linear,
            Weights::Quadratic => ag::Weights::Quadratic,
        };
        ag::cohen_kappa(&wide(a), &wide(b), w).unwrap_or(f64::NAN)
    }

    /// statsmodels' fleiss_kappa(aggregate_raters(ratings)[0]).
    pub fn fleiss_kappa(ratings: &[Vec<u8>]) -> f64 {
        let rows: Vec<Vec<usize>> = ratings.iter().map(|r| wide(r)).collect();
        let (table, _) = ag::count_table(&rows);
        ag::fleiss_kappa(table.view(), ag::Chance::Fleiss).unwrap_or(f64::NAN)
    }

    /// krippendorff.alpha at the level asked.
    pub fn krippendorff_alpha(data: &[Vec<Option<f64>>], level: Level) -> f64 {
        let l = match level {
            Level::Nominal => ag::Level::Nominal,
            Level::Ordinal => ag::Level::Ordinal,
            Level::Interval => ag::Level::Interval,
        };
        ag::krippendorff_alpha(data, l).unwrap_or(f64::NAN)
    }

    /// Subjects drawn with replacement (ChaCha8, `random_range(0..n)`),
    /// Fleiss' kappa of each resample, numpy's linear 2.5 and 97.5
    /// percentiles of the defined ones.
    pub fn fleiss_interval(ratings: &[Vec<u8>], resamples: usize, seed: u64) -> (f64, f64) {
        ag::subject_bootstrap(ratings.len(), resamples, 0.95, seed, |idx| {
            let rows: Vec<Vec<u8>> = idx.iter().map(|&i| ratings[i].clone()).collect();
            Some(fleiss_kappa(&rows)).filter(|k| k.is_finite())
        })
        .map(|(lo, hi, _)| (lo, hi))
        .unwrap_or((f64::NAN, f64::NAN))
    }

    /// Positive when more than half the readers say so; on an exact tie,
    /// what the senior reader said.
    pub fn adjudicate(calls: &[Vec<bool>], senior: usize) -> Vec<bool> {
        let n = calls.first().map_or(0, Vec::len);
        (0..n)
            .map(|c| {
                let yes = calls.iter().filter(|r| r[c]).count();
                let no = calls.len() - yes;
                if yes == no {
                    calls[senior][c]
                } else {
                    yes > no
                }
            })
            .collect()
    }
}
