//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails at least one check whose message names the mistake.

use lab_windowing::tasks::{Finding, REFERENCE, Tasks};
use ndarray::{Array3, ArrayView3};

// ---- mutants: each is the reference with one known mistake ----

/// LINEAR without the -0.5 / -1 terms (that is LINEAR_EXACT).
fn linear_no_offsets(x: f32, c: f64, w: f64) -> u8 {
    let y = ((f64::from(x) - c) / w + 0.5) * 255.0;
    (y.clamp(0.0, 255.0) + 0.5).floor() as u8
}

/// No clipping, then a wrapping cast (MONAI's ScaleIntensityRange default clip=False).
fn linear_unclipped(x: f32, c: f64, w: f64) -> u8 {
    let y = ((f64::from(x) - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0;
    (y + 0.5).floor() as i64 as u8
}

/// Truncation instead of rounding.
fn linear_truncated(x: f32, c: f64, w: f64) -> u8 {
    let y = ((f64::from(x) - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0;
    y.clamp(0.0, 255.0) as u8
}

/// Arithmetic in i16: x - c overflows for extreme values.
fn linear_i16(x: f32, c: f64, w: f64) -> u8 {
    let d = (x as i16).wrapping_sub(c as i16);
    let y = ((f64::from(d) + 0.5) / (w - 1.0) + 0.5) * 255.0;
    (y.clamp(0.0, 255.0) + 0.5).floor() as u8
}

/// SIGMOID with -2 instead of -4.
fn sigmoid_factor_2(x: f32, c: f64, w: f64) -> u8 {
    let y = 255.0 / (1.0 + (-2.0 * (f64::from(x) - c) / w).exp());
    (y + 0.5).floor() as u8
}

/// LINEAR_EXACT with truncation (LINEAR_EXACT's halves must round up).
fn exact_truncated(x: f32, c: f64, w: f64) -> u8 {
    let y = ((f64::from(x) - c) / w + 0.5) * 255.0;
    y.clamp(0.0, 255.0) as u8
}

/// Nodules read in the mediastinal window.
fn preset_lung_as_mediastinum(f: Finding) -> &'static str {
    match f {
        Finding::LungNodule => "mediastinum",
        other => (REFERENCE.choose_preset)(other),
    }
}

/// A stroke read in the ordinary brain window.
fn preset_stroke_as_brain(f: Finding) -> &'static str {
    match f {
        Finding::EarlyIschaemicStroke => "brain",
        other => (REFERENCE.choose_preset)(other),
    }
}

/// Trilinear interpolation of a label mask, rounded back to integers.
fn resample_trilinear(l: ArrayView3<u8>, s: [f64; 3], t: [f64; 3]) -> Array3<u8> {
    let f = l.mapv(f32::from);
    let r = radlab_imaging::resample::resample_linear(
        f.view(),
        radlab_dicom::Spacing::from_zyx(s),
        radlab_dicom::Spacing::from_zyx(t),
    )
    .unwrap();
    r.mapv(|v| v.round() as u8)
}

/// Output shape with floor instead of round (loses the last partial voxel).
fn resample_floor_shape(l: ArrayView3<u8>, s: [f64; 3], t: [f64; 3]) -> Array3<u8> {
    let r = (REFERENCE.resample_labels)(l, s, t);
    let shape: Vec<usize> = (0..3)
        .map(|a| ((l.shape()[a] as f64 * s[a] / t[a]).floor() as usize).max(1))
        .collect();
    r.slice(ndarray::s![
        ..shape[0].min(r.shape()[0]),
        ..shape[1].min(r.shape()[1]),
        ..shape[2].min(r.shape()[2])
    ])
    .to_owned()
}

use radlab_grade::mutant;

/// Each mutant with the check that must catch it and a word its message must contain.
fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![
        (
            mutant!("linear-without-offsets", window_linear, linear_no_offsets),
            "linear/c-0.5-and-w-1",
            "-0.5",
        ),
        (
            mutant!("linear-unclipped", window_linear, linear_unclipped),
            "linear/clipping",
            "clip",
        ),
        (
            mutant!("linear-truncated", window_linear, linear_truncated),
            "linear/rounding",
            "truncation",
        ),
        (
            mutant!("linear-i16-overflow", window_linear, linear_i16),
            "linear/clipping",
            "overflows i16",
        ),
        (
            mutant!("sigmoid-factor-2", window_sigmoid, sigmoid_factor_2),
            "sigmoid/worked",
            "exp(-4",
        ),
        (
            mutant!(
                "linear-exact-truncated",
                window_linear_exact,
                exact_truncated
            ),
            "linear-exact/worked",
            "halves up",
        ),
        (
            mutant!(
                "lung-nodule-in-mediastinum",
                choose_preset,
                preset_lung_as_mediastinum
            ),
            "preset/chest",
            "LungNodule",
        ),
        (
            mutant!(
                "stroke-in-brain-window",
                choose_preset,
                preset_stroke_as_brain
            ),
            "preset/head-and-abdomen",
            "EarlyIschaemicStroke",
        ),
        (
            mutant!("trilinear-label-mask", resample_labels, resample_trilinear),
            "resample/no-new-labels",
            "nearest neighbour",
        ),
        (
            mutant!("floor-shape", resample_labels, resample_floor_shape),
            "resample/shape",
            "round",
        ),
    ]
}

radlab_grade::lab_grading_tests!(lab_windowing, "lab-windowing");

#[test]
fn a_hang_or_panic_in_learner_code_is_a_failed_check() {
    fn hangs(_: f32, _: f64, _: f64) -> u8 {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    static HANG: Tasks = Tasks {
        name: "hang",
        window_linear: hangs,
        ..REFERENCE
    };
    let check = lab_windowing::checks::checks()
        .into_iter()
        .find(|c| c.id == "linear/standard-notes")
        .unwrap();
    let out = radlab_grade::run_one(&check, &HANG, std::time::Duration::from_millis(300));
    assert!(out.unwrap_err().contains("did not finish"));
}
