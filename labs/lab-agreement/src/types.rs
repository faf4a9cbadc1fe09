//! The types the exercise works with. The exercise file, the reference and
//! the checks all depend on this file, and it depends on none of them, so
//! the one file the learner owns is not part of a cycle.

use serde::Serialize;

/// Weights of Cohen's kappa on the category *indices* (the position of a
/// label among the sorted labels either reader used), as scikit-learn's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Weights {
    /// Every disagreement costs 1.
    Unweighted,
    /// A disagreement of `i` vs `j` costs `|i - j|`.
    Linear,
    /// It costs `(i - j)^2`.
    Quadratic,
}

/// The level of measurement of Krippendorff's alpha: what a disagreement
/// between two values costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Level {
    /// Categories: any two different values cost 1.
    Nominal,
    /// Ranks: the cost grows with how many ratings lie between the two values.
    Ordinal,
    /// Numbers: `(a - b)^2`.
    Interval,
}
