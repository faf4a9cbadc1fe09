//! Your exercises for lab-agreement. This is the only file you edit.
//!
//! Each function is a task of `cargo run -p lab-agreement -- grade`.
//! Replace the `todo!()` with your implementation; keep the signatures.
//! Stuck? `cargo run -p lab-agreement -- hint TASK`. To start over, copy
//! `src/exercise/pristine.rs` (the stubs as shipped) over this file.

use crate::types::{Level, Weights};

/// Task `cohen-kappa`: Cohen's kappa of readers `a` and `b` (one label per
/// subject each), as scikit-learn's `cohen_kappa_score`. The categories
/// are the labels either reader used, sorted; weights act on their
/// *indices* in that list. `1 - sum(w * observed) / sum(w * expected)`,
/// observed the joint proportions, expected the product of each reader's
/// own margins. NaN when that is 0 / 0.
pub fn cohen_kappa(a: &[u8], b: &[u8], weights: Weights) -> f64 {
    let _ = (a, b, weights);
    todo!("cohen-kappa")
}

/// Task `fleiss-kappa`: Fleiss' kappa of `ratings[subject][rater]`
/// (every subject rated by the same number of raters), as statsmodels'
/// `fleiss_kappa(aggregate_raters(ratings)[0])`. NaN when undefined.
pub fn fleiss_kappa(ratings: &[Vec<u8>]) -> f64 {
    let _ = ratings;
    todo!("fleiss-kappa")
}

/// Task `krippendorff-alpha`: Krippendorff's alpha of `data[reader][unit]`
/// (`None`: that reader did not rate that unit) at `level`, as the
/// `krippendorff` package's `alpha(data, level_of_measurement=...)`. NaN
/// when undefined.
pub fn krippendorff_alpha(data: &[Vec<Option<f64>>], level: Level) -> f64 {
    let _ = (data, level);
    todo!("krippendorff-alpha")
}

/// Task `bootstrap-interval`: a 95% percentile bootstrap interval of
/// Fleiss' kappa of `ratings[subject][rater]`. Seed
/// `rand_chacha::ChaCha8Rng::seed_from_u64(seed)`; for each of the
/// `resamples` resamples draw `n = ratings.len()` indices, one after the
/// other, with `rng.random_range(0..n)`, and compute kappa of those rows;
/// skip resamples where kappa is undefined; return numpy's linear 2.5th
/// and 97.5th percentiles of the rest.
pub fn fleiss_interval(ratings: &[Vec<u8>], resamples: usize, seed: u64) -> (f64, f64) {
    let _ = (ratings, resamples, seed);
    todo!("bootstrap-interval")
}

/// Task `adjudicate`: one reference label per candidate from
/// `calls[reader][candidate]`: positive when more than half of the readers
/// called it, negative when fewer than half did, and on an exact tie
/// whatever reader `senior` said.
pub fn adjudicate(calls: &[Vec<bool>], senior: usize) -> Vec<bool> {
    let _ = (calls, senior);
    todo!("adjudicate")
}
