//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails at least one check whose message names the mistake.

use dicom_core::Tag;
use dicom_core::value::Value;
use dicom_object::InMemDicomObject;
use lab_dicom::tasks::{IDENTIFYING, REFERENCE, SliceHeader, Tasks};

// ---- mutants: each is the reference with one known mistake ----

fn order_by_instance_number(s: &[SliceHeader]) -> Vec<usize> {
    let mut o: Vec<usize> = (0..s.len()).collect();
    o.sort_by_key(|&i| s[i].instance_number);
    o
}

fn order_by_z(s: &[SliceHeader]) -> Vec<usize> {
    let mut o: Vec<usize> = (0..s.len()).collect();
    o.sort_by(|&a, &b| s[a].position[2].total_cmp(&s[b].position[2]));
    o
}

fn spacing_from_thickness(s: &[SliceHeader]) -> f64 {
    s[0].slice_thickness
}

fn spacing_mean_step(s: &[SliceHeader]) -> f64 {
    let o = (REFERENCE.order_slices)(s);
    let d: Vec<f64> = o.iter().map(|&i| s[i].position[2]).collect();
    (d[d.len() - 1] - d[0]) / (d.len() - 1) as f64
}

fn spacing_first_step(s: &[SliceHeader]) -> f64 {
    let o = (REFERENCE.order_slices)(s);
    let p = |i: usize| s[o[i]].position;
    let v = [p(1)[0] - p(0)[0], p(1)[1] - p(0)[1], p(1)[2] - p(0)[2]];
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

fn lut_no_slope(raw: u16, bits: u16, signed: bool, _slope: f64, intercept: f64) -> f64 {
    (REFERENCE.modality_lut)(raw, bits, signed, 1.0, intercept)
}

fn lut_no_sign_extension(raw: u16, bits: u16, _signed: bool, slope: f64, intercept: f64) -> f64 {
    (REFERENCE.modality_lut)(raw, bits, false, slope, intercept)
}

fn lut_intercept_first(raw: u16, bits: u16, signed: bool, slope: f64, intercept: f64) -> f64 {
    let v = (REFERENCE.modality_lut)(raw, bits, signed, 1.0, 0.0);
    (v + intercept) * slope
}

fn phi_top_level_only(obj: &InMemDicomObject) -> Vec<(usize, Tag)> {
    (REFERENCE.find_identifying)(obj)
        .into_iter()
        .filter(|(d, _)| *d == 0)
        .collect()
}

fn phi_no_private(obj: &InMemDicomObject) -> Vec<(usize, Tag)> {
    (REFERENCE.find_identifying)(obj)
        .into_iter()
        .filter(|(_, t)| t.0 % 2 == 0)
        .collect()
}

fn phi_keeps_empty(obj: &InMemDicomObject) -> Vec<(usize, Tag)> {
    let mut v = (REFERENCE.find_identifying)(obj);
    for e in obj.iter() {
        let t = e.header().tag;
        if IDENTIFYING.contains(&t)
            && !matches!(e.value(), Value::Sequence(_))
            && !v.contains(&(0, t))
        {
            v.push((0, t));
        }
    }
    v
}

use radlab_grade::mutant;

fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![
        (
            mutant!(
                "order-by-instance-number",
                order_slices,
                order_by_instance_number
            ),
            "order/instance-numbers-lie",
            "InstanceNumber",
        ),
        (
            mutant!("order-by-z", order_slices, order_by_z),
            "order/sagittal",
            "project onto the normal",
        ),
        (
            mutant!(
                "spacing-from-slice-thickness",
                slice_spacing,
                spacing_from_thickness
            ),
            "spacing/from-positions",
            "SliceThickness",
        ),
        (
            mutant!("spacing-mean-step", slice_spacing, spacing_mean_step),
            "spacing/missing-slice",
            "median",
        ),
        (
            mutant!("spacing-first-step", slice_spacing, spacing_first_step),
            "spacing/missing-slice",
            "first step",
        ),
        (
            mutant!("lut-without-slope", modality_lut, lut_no_slope),
            "lut/rescale",
            "RescaleSlope",
        ),
        (
            mutant!(
                "lut-without-sign-extension",
                modality_lut,
                lut_no_sign_extension
            ),
            "lut/sign-extension",
            "two's complement",
        ),
        (
            mutant!(
                "lut-intercept-before-slope",
                modality_lut,
                lut_intercept_first
            ),
            "lut/rescale",
            "slope first",
        ),
        (
            mutant!("phi-no-recursion", find_identifying, phi_top_level_only),
            "phi/nested-sequence",
            "Recurse",
        ),
        (
            mutant!("phi-private-ignored", find_identifying, phi_no_private),
            "phi/private-block",
            "Private attributes",
        ),
        (
            mutant!("phi-empty-values", find_identifying, phi_keeps_empty),
            "phi/top-level",
            "empty value",
        ),
    ]
}

radlab_grade::lab_grading_tests!(lab_dicom, "lab-dicom");
