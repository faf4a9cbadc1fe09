//! The tasks as a table of functions: one table for the reference, one for
//! the learner's exercise file, one for the pristine stubs, and (in tests)
//! one per known mistake.

use ndarray::ArrayView3;
use radlab_metrics::segmentation::EmptyPolicy;

/// Dice of a prediction against a reference under an empty-mask policy.
pub type DiceFn = fn(ArrayView3<bool>, ArrayView3<bool>, EmptyPolicy) -> f64;
/// HD95 in mm of a prediction against a reference, spacing `(z, y, x)` mm.
pub type Hd95Fn = fn(ArrayView3<bool>, ArrayView3<bool>, [f64; 3]) -> f64;

radlab_grade::lab_tasks! {
    /// Dice with an empty-mask policy.
    dice: DiceFn,
    /// 95th-percentile Hausdorff distance in mm.
    hd95: Hd95Fn,
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
        surface_metrics(
            pred,
            reference,
            radlab_dicom::Spacing::from_zyx(spacing),
            1.0,
        )
        .map(|m| m.hd95)
        .unwrap_or(f64::NAN)
    }
}
