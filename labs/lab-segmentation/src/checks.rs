//! The graded checks of lab-segmentation. Messages name the convention
//! broken and show expected vs got on a small example.

use std::sync::OnceLock;

use ndarray::{Array3, s};
use radlab_grade::{Check, Kind, Outcome, Visibility};
use radlab_metrics::segmentation::EmptyPolicy::{self, *};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::tasks::{REFERENCE, Tasks};

/// Equal as metric values: both NaN, the same infinity, or within 1e-9 (relative).
fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn line(n: usize, on: &[usize]) -> Array3<bool> {
    Array3::from_shape_fn((1, 1, n), |(_, _, x)| on.contains(&x))
}

fn ball(shape: (usize, usize, usize), c: [f64; 3], r: f64, spacing: [f64; 3]) -> Array3<bool> {
    Array3::from_shape_fn(shape, |(z, y, x)| {
        let d = [
            (z as f64 - c[0]) * spacing[0],
            (y as f64 - c[1]) * spacing[1],
            (x as f64 - c[2]) * spacing[2],
        ];
        d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= r * r
    })
}

fn dice_cases(
    t: &'static Tasks,
    p: &Array3<bool>,
    r: &Array3<bool>,
    want: &[(EmptyPolicy, f64)],
    what: &str,
    rule: &str,
) -> Outcome {
    for &(policy, w) in want {
        let got = (t.dice)(p.view(), r.view(), policy);
        if !same(got, w) {
            return Err(format!(
                "{what}, policy {policy:?} ({}): expected {w}, got {got}.\n{rule}",
                policy.name()
            ));
        }
    }
    Ok(format!("{} policies give the expected value", want.len()))
}

fn dice_worked(t: &'static Tasks) -> Outcome {
    let p = line(8, &[0, 1, 2, 3]);
    let r = line(8, &[1, 2, 3, 4]);
    dice_cases(
        t,
        &p,
        &r,
        &[
            (IgnoreEmptyReference, 0.75),
            (BothEmptyNan, 0.75),
            (BothEmptyOne, 0.75),
        ],
        "pred = voxels 0-3, reference = voxels 1-4 (TP 3, FP 1, FN 1)",
        "Dice = 2 TP / (2 TP + FP + FN) = 6 / 8.",
    )
}

fn dice_both_empty(t: &'static Tasks) -> Outcome {
    let e = line(8, &[]);
    dice_cases(
        t,
        &e,
        &e,
        &[
            (IgnoreEmptyReference, f64::NAN),
            (BothEmptyNan, f64::NAN),
            (BothEmptyOne, 1.0),
        ],
        "both masks empty",
        "Both empty: 0/0. monai-ignore-empty and nnunet say NaN (left out of the mean); empty-is-one (MONAI ignore_empty=False) says 1, a perfect \"nothing there\".",
    )
}

fn dice_empty_reference(t: &'static Tasks) -> Outcome {
    let p = line(8, &[2, 3]);
    let e = line(8, &[]);
    dice_cases(
        t,
        &p,
        &e,
        &[
            (IgnoreEmptyReference, f64::NAN),
            (BothEmptyNan, 0.0),
            (BothEmptyOne, 0.0),
        ],
        "empty reference, two false-positive voxels",
        "An empty reference with a non-empty prediction is a false positive: 0 for nnunet and empty-is-one. monai-ignore-empty returns NaN for every empty reference, so such scans drop out of its mean.",
    )
}

fn dice_empty_prediction(t: &'static Tasks) -> Outcome {
    let r = line(8, &[2, 3]);
    let e = line(8, &[]);
    dice_cases(
        t,
        &e,
        &r,
        &[
            (IgnoreEmptyReference, 0.0),
            (BothEmptyNan, 0.0),
            (BothEmptyOne, 0.0),
        ],
        "empty prediction, reference of two voxels",
        "A missed lesion is Dice 0 under every convention (TP = 0, denominator FN > 0).",
    )
}

fn random_masks(r: &mut ChaCha8Rng) -> (Array3<bool>, Array3<bool>, [f64; 3]) {
    let shape = (
        r.random_range(1..8usize),
        r.random_range(1..10usize),
        r.random_range(1..10usize),
    );
    let (fa, fb) = if r.random_bool(0.15) {
        (0.0, r.random_range(0.0..0.4))
    } else if r.random_bool(0.1) {
        (0.0, 0.0)
    } else {
        (r.random_range(0.05..0.5), r.random_range(0.05..0.5))
    };
    let a = Array3::from_shape_simple_fn(shape, || r.random_bool(fa));
    let b = Array3::from_shape_simple_fn(shape, || r.random_bool(fb));
    let sp = [
        r.random_range(0.5..3.0),
        r.random_range(0.5..3.0),
        r.random_range(0.5..3.0),
    ];
    if r.random_bool(0.5) {
        (a, b, sp)
    } else {
        (b, a, sp)
    }
}

fn dice_random(t: &'static Tasks) -> Outcome {
    let seed_note_501 = radlab_grade::seed_note(501);
    let mut r = radlab_grade::check_rng(501);
    for case in 0..200 {
        let (p, q, _) = random_masks(&mut r);
        for policy in EmptyPolicy::ALL {
            let got = (t.dice)(p.view(), q.view(), policy);
            let want = (REFERENCE.dice)(p.view(), q.view(), policy);
            if !same(got, want) {
                return Err(format!(
                    "seeded case {case} ({seed_note_501}), shape {:?}, policy {}: expected {want}, got {got}",
                    p.dim(),
                    policy.name()
                ));
            }
        }
    }
    Ok("200 seeded mask pairs x 3 policies match the reference".into())
}

/// case-001's nodule mask from sample_data, as booleans, with its spacing.
fn sample_mask() -> &'static Option<(Array3<bool>, [f64; 3])> {
    static M: OnceLock<Option<(Array3<bool>, [f64; 3])>> = OnceLock::new();
    M.get_or_init(|| {
        let dir = radlab_labkit::sample_data_dir().join("case-001");
        let truth = radlab_synth::CaseTruth::read(&dir).ok()?;
        let l = truth.read_labels(&dir).ok()?;
        Some((l.mapv(|v| v > 0), truth.spacing_mm.zyx()))
    })
}

fn shifted(m: &Array3<bool>, dz: usize, dx: usize) -> Array3<bool> {
    let mut out = Array3::from_elem(m.dim(), false);
    let (nz, _, nx) = m.dim();
    out.slice_mut(s![dz.., .., dx..])
        .assign(&m.slice(s![..nz - dz, .., ..nx - dx]));
    out
}

fn sample_check(t: &'static Tasks, dz: usize, dx: usize, hd: bool) -> Outcome {
    let Some((m, sp)) = sample_mask() else {
        return Err("sample_data/case-001 (case.json, labels.npy) could not be read".into());
    };
    let p = shifted(m, dz, dx);
    let (got, want) = if hd {
        (
            (t.hd95)(p.view(), m.view(), *sp),
            (REFERENCE.hd95)(p.view(), m.view(), *sp),
        )
    } else {
        (
            (t.dice)(p.view(), m.view(), IgnoreEmptyReference),
            (REFERENCE.dice)(p.view(), m.view(), IgnoreEmptyReference),
        )
    };
    if !same(got, want) {
        return Err(format!(
            "case-001's nodules against themselves shifted by {dz} slice(s) and {dx} column(s) ({:?} mm spacing): expected {want}, got {got}",
            sp
        ));
    }
    Ok(format!("case-001 shifted: {got:.6} as expected"))
}

fn dice_sample(t: &'static Tasks) -> Outcome {
    sample_check(t, 0, 1, false)
}

fn hd_expect(
    t: &'static Tasks,
    p: &Array3<bool>,
    r: &Array3<bool>,
    sp: [f64; 3],
    want: f64,
    what: &str,
    rule: &str,
) -> Outcome {
    let got = (t.hd95)(p.view(), r.view(), sp);
    if same(got, want) {
        Ok(format!("{what}: {got}"))
    } else {
        Err(format!("{what}: expected {want}, got {got}.\n{rule}"))
    }
}

fn hd_two_points(t: &'static Tasks) -> Outcome {
    let mut p = Array3::from_elem((3, 2, 2), false);
    let mut r = p.clone();
    p[[0, 0, 0]] = true;
    r[[2, 0, 0]] = true;
    hd_expect(
        t,
        &p,
        &r,
        [2.5, 0.7, 0.7],
        5.0,
        "one voxel at slice 0, one at slice 2, slices 2.5 mm apart",
        "Distances are in mm: two slices at 2.5 mm is 5 mm, not 2 (voxels). Multiply each index difference by that axis's spacing before squaring; spacing is (z, y, x), the first number belongs to the slices.",
    )
    .and_then(|_| {
        hd_expect(
            t,
            &p.clone().permuted_axes([2, 1, 0]).as_standard_layout().to_owned(),
            &r.clone().permuted_axes([2, 1, 0]).as_standard_layout().to_owned(),
            [0.7, 0.7, 2.5],
            5.0,
            "the same along x with x spacing 2.5 mm",
            "Spacing is (z, y, x): the third number belongs to the last axis.",
        )
    })
    .map(|_| "5 mm both ways".into())
}

fn outlier_pair() -> (Array3<bool>, Array3<bool>, [f64; 3]) {
    let sp = [2.0, 1.0, 1.0];
    let r = ball((12, 30, 40), [5.0, 14.0, 12.0], 8.0, sp);
    let mut p = r.clone();
    p[[5, 14, 36]] = true; // one stray voxel 16 mm outside the ball
    (p, r, sp)
}

fn hd_not_max(t: &'static Tasks) -> Outcome {
    let (p, r, sp) = outlier_pair();
    let want = (REFERENCE.hd95)(p.view(), r.view(), sp);
    hd_expect(
        t,
        &p,
        &r,
        sp,
        want,
        "a ball and the same ball plus one stray voxel 16 mm from its surface",
        "HD95 is the 95th percentile of the surface distances (numpy's linear rule), not the maximum: one stray voxel sets the Hausdorff distance (16 mm here) but barely moves HD95.",
    )
}

fn hd_both_directions(t: &'static Tasks) -> Outcome {
    let sp = [1.0, 1.0, 1.0];
    let p = ball((10, 24, 24), [5.0, 6.0, 6.0], 3.0, sp);
    let mut r = p.clone();
    r.slice_mut(s![2..8, 14..20, 14..20]).fill(true);
    let want = (REFERENCE.hd95)(p.view(), r.view(), sp);
    hd_expect(
        t,
        &p,
        &r,
        sp,
        want,
        "a prediction that finds one of two reference lesions",
        "Every predicted surface point is on the reference, so pred -> reference distances are all 0; the missed lesion only shows from reference -> pred. HD95 is the larger of the two directed 95th percentiles.",
    )
}

fn hd_empty(t: &'static Tasks) -> Outcome {
    let e = Array3::from_elem((3, 3, 3), false);
    let mut m = e.clone();
    m[[1, 1, 1]] = true;
    let sp = [1.0; 3];
    let rule = "No surface to measure: both empty is NaN (undefined), one empty is infinity (MONAI returns inf with a warning and leaves it to you to exclude it).";
    hd_expect(t, &e, &e, sp, f64::NAN, "both masks empty", rule)?;
    hd_expect(t, &m, &e, sp, f64::INFINITY, "empty reference", rule)?;
    hd_expect(t, &e, &m, sp, f64::INFINITY, "empty prediction", rule)?;
    Ok("NaN and infinity where they belong".into())
}

fn hd_random(t: &'static Tasks) -> Outcome {
    let seed_note_502 = radlab_grade::seed_note(502);
    let mut r = radlab_grade::check_rng(502);
    for case in 0..120 {
        let (p, q, sp) = random_masks(&mut r);
        let got = (t.hd95)(p.view(), q.view(), sp);
        let want = (REFERENCE.hd95)(p.view(), q.view(), sp);
        if !same(got, want) {
            return Err(format!(
                "seeded case {case} ({seed_note_502}), shape {:?}, spacing {sp:?} mm: expected {want}, got {got}",
                p.dim()
            ));
        }
    }
    Ok("120 seeded mask pairs with anisotropic spacing match the reference".into())
}

fn hd_sample(t: &'static Tasks) -> Outcome {
    sample_check(t, 2, 0, true)
}

/// Every check, in the order the table shows them.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "dice-empty" => {
            "dice/worked": 1.0, Visible, WorkedExample, dice_worked;
            "dice/both-empty": 1.0, Visible, WorkedExample, dice_both_empty;
            "dice/empty-reference": 1.0, Visible, WorkedExample, dice_empty_reference;
            "dice/empty-prediction": 0.5, Visible, WorkedExample, dice_empty_prediction;
            "dice/random-vs-reference": 1.0, Hidden, Property, dice_random;
            "dice/sample-case": 0.5, Hidden, EndToEnd, dice_sample;
        }
        "hd95-mm" => {
            "hd95/two-points-in-mm": 1.0, Visible, WorkedExample, hd_two_points;
            "hd95/not-the-maximum": 1.0, Visible, WorkedExample, hd_not_max;
            "hd95/both-directions": 0.5, Visible, WorkedExample, hd_both_directions;
            "hd95/empty-masks": 0.5, Visible, WorkedExample, hd_empty;
            "hd95/random-vs-reference": 1.5, Hidden, Property, hd_random;
            "hd95/sample-case": 0.5, Hidden, EndToEnd, hd_sample;
        }
    ]
}
