//! The types the exercise works with. The exercise file, the reference and
//! the checks all depend on this file, and it depends on none of them, so
//! the one file the learner owns is not part of a cycle.

/// How Dice treats empty masks (the `dice-empty` task takes one).
pub use radlab_metrics::segmentation::EmptyPolicy;
