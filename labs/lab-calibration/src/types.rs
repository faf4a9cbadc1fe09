//! The types the exercise works with. The exercise file, the reference and
//! the checks all depend on this file, and it depends on none of them, so
//! the one file the learner owns is not part of a cycle.

use serde::Serialize;

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BinStat {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Predictions in the bin.
    pub count: usize,
    /// Their mean confidence (NaN when empty).
    pub confidence: f64,
    /// The fraction of them that were right (NaN when empty).
    pub accuracy: f64,
}
