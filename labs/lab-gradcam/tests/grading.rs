//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails the check whose message names the mistake.

use lab_gradcam::tasks::{REFERENCE, Tasks};
use radlab_grade::mutant;

/// The ends left out: `lo < v < hi`.
fn ends_excluded(hu: &[f32], lo: f32, hi: f32) -> f64 {
    if hu.is_empty() {
        return f64::NAN;
    }
    hu.iter().filter(|&&v| lo < v && v < hi).count() as f64 / hu.len() as f64
}

/// Mutants: (table, the check that must catch it, words its message must contain).
fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![(
        mutant!("ends-excluded", fraction_in_range, ends_excluded),
        "fraction/both-ends-count",
        "Both ends are included",
    )]
}

radlab_grade::lab_grading_tests!(lab_gradcam, "lab-gradcam");
