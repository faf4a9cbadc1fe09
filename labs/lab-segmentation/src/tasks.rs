//! The tasks as a table of functions: one table for the reference, one for
//! the learner's exercise file, one for the pristine stubs, and (in tests)
//! one per known mistake.

use ndarray::ArrayView3;
use radlab_metrics::segmentation::EmptyPolicy;

/// Dice of a prediction against a reference under an empty-mask policy.
pub type DiceFn = fn(ArrayView3<bool>, ArrayView3<bool>, EmptyPolicy) -> f64;
/// HD95 in mm of a prediction against a reference, spacing `(z, y, x)` mm.
pub type Hd95Fn = fn(ArrayView3<bool>, ArrayView3<bool>, [f64; 3]) -> f64;

/// One implementation of every task.
#[derive(Clone, Copy)]
pub struct Tasks {
    /// What this table is: `reference`, `exercise`, `pristine` or a mutant's name.
    pub name: &'static str,
    /// Dice with an empty-mask policy.
    pub dice: DiceFn,
    /// 95th-percentile Hausdorff distance in mm.
    pub hd95: Hd95Fn,
}

/// The reference implementations, from radlab-metrics.
pub mod reference {
    use super::*;
    use radlab_metrics::segmentation::{Counts, surface_metrics};

    /// Dice from voxel counts; NaN when the shapes differ.
    pub fn dice(pred: ArrayView3<bool>, reference: ArrayView3<bool>, policy: EmptyPolicy) -> f64 {
        Counts::of(pred, reference)
            .map(|c| c.dice(policy))
            .unwrap_or(f64::NAN)
    }

    /// HD95 from the exact distance transform; NaN on bad input.
    pub fn hd95(pred: ArrayView3<bool>, reference: ArrayView3<bool>, spacing: [f64; 3]) -> f64 {
        surface_metrics(pred, reference, spacing, 1.0)
            .map(|m| m.hd95)
            .unwrap_or(f64::NAN)
    }
}

/// The reference table.
pub const REFERENCE: Tasks = Tasks {
    name: "reference",
    dice: reference::dice,
    hd95: reference::hd95,
};

/// The learner's exercise file.
pub const EXERCISE: Tasks = Tasks {
    name: "exercise",
    dice: crate::exercise::dice,
    hd95: crate::exercise::hd95,
};

/// The stubs as shipped (must score 0 without crashing the grader).
pub const PRISTINE: Tasks = Tasks {
    name: "pristine",
    dice: crate::pristine::dice,
    hd95: crate::pristine::hd95,
};
