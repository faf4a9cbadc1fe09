//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails at least one check whose message names the mistake.

use lab_segmentation::tasks::{REFERENCE, Tasks};
use ndarray::ArrayView3;
use radlab_grade::mutant;
use radlab_metrics::segmentation::{
    Counts, EmptyPolicy, directed_surface_distances, percentile, surface_metrics,
};

// ---- mutants: each is the reference with one known mistake ----

/// Both empty is NaN even where the convention says 1.
fn dice_nan_not_one(p: ArrayView3<bool>, r: ArrayView3<bool>, policy: EmptyPolicy) -> f64 {
    let c = Counts::of(p, r).unwrap();
    if c.tp + c.fp + c.fn_ == 0 {
        return f64::NAN;
    }
    (REFERENCE.dice)(p, r, policy)
}

/// The formula with a zero guard: both empty is 0.
fn dice_both_empty_zero(p: ArrayView3<bool>, r: ArrayView3<bool>, _: EmptyPolicy) -> f64 {
    let c = Counts::of(p, r).unwrap();
    let d = 2 * c.tp + c.fp + c.fn_;
    if d == 0 {
        0.0
    } else {
        2.0 * c.tp as f64 / d as f64
    }
}

/// MONAI's default applied whatever the policy: every empty reference is NaN.
fn dice_always_monai(p: ArrayView3<bool>, r: ArrayView3<bool>, _: EmptyPolicy) -> f64 {
    (REFERENCE.dice)(p, r, EmptyPolicy::IgnoreEmptyReference)
}

/// Distances in voxels: spacing ignored.
fn hd95_voxels(p: ArrayView3<bool>, r: ArrayView3<bool>, _: [f64; 3]) -> f64 {
    (REFERENCE.hd95)(p, r, [1.0, 1.0, 1.0])
}

/// The maximum reported as HD95.
fn hd95_is_max(p: ArrayView3<bool>, r: ArrayView3<bool>, s: [f64; 3]) -> f64 {
    surface_metrics(p, r, radlab_dicom::Spacing::from_zyx(s), 1.0)
        .unwrap()
        .hausdorff
}

/// One direction only (prediction to reference).
fn hd95_one_direction(p: ArrayView3<bool>, r: ArrayView3<bool>, s: [f64; 3]) -> f64 {
    let full = (REFERENCE.hd95)(p, r, s);
    if !full.is_finite() {
        return full;
    }
    percentile(
        &directed_surface_distances(p, r, radlab_dicom::Spacing::from_zyx(s)).unwrap(),
        95.0,
    )
}

/// Spacing read as (x, y, z).
fn hd95_spacing_reversed(p: ArrayView3<bool>, r: ArrayView3<bool>, s: [f64; 3]) -> f64 {
    (REFERENCE.hd95)(p, r, [s[2], s[1], s[0]])
}

/// Each mutant with the check that must catch it and words its message must contain.
fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![
        (
            mutant!("dice-nan-where-one", dice, dice_nan_not_one),
            "dice/both-empty",
            "empty-is-one",
        ),
        (
            mutant!("dice-both-empty-zero", dice, dice_both_empty_zero),
            "dice/both-empty",
            "NaN",
        ),
        (
            mutant!("dice-policy-ignored", dice, dice_always_monai),
            "dice/empty-reference",
            "false positive",
        ),
        (
            mutant!("hd95-in-voxels", hd95, hd95_voxels),
            "hd95/two-points-in-mm",
            "in mm",
        ),
        (
            mutant!("hd95-is-the-maximum", hd95, hd95_is_max),
            "hd95/not-the-maximum",
            "95th percentile",
        ),
        (
            mutant!("hd95-one-direction", hd95, hd95_one_direction),
            "hd95/both-directions",
            "directed",
        ),
        (
            mutant!("hd95-spacing-xyz", hd95, hd95_spacing_reversed),
            "hd95/two-points-in-mm",
            "(z, y, x)",
        ),
    ]
}

radlab_grade::lab_grading_tests!(lab_segmentation, "lab-segmentation");
