//! The tasks as a table of functions: one table for the reference, one for
//! the learner's exercise file, one for the pristine stubs, and (in tests)
//! one per known mistake.

use ndarray::{Array3, ArrayView3};

pub use crate::types::*;

/// One implementation of every task.
#[derive(Clone, Copy)]
pub struct Tasks {
    /// What this table is: `reference`, `exercise`, `pristine` or a mutant's name.
    pub name: &'static str,
    /// LINEAR window to 8 bits.
    pub window_linear: fn(f32, f64, f64) -> u8,
    /// LINEAR_EXACT window to 8 bits.
    pub window_linear_exact: fn(f32, f64, f64) -> u8,
    /// SIGMOID window to 8 bits.
    pub window_sigmoid: fn(f32, f64, f64) -> u8,
    /// Preset name for a finding.
    pub choose_preset: fn(Finding) -> &'static str,
    /// Label-mask resampling, `[z, y, x]`, spacing `(z, y, x)` mm.
    pub resample_labels: fn(ArrayView3<u8>, [f64; 3], [f64; 3]) -> Array3<u8>,
}

/// The reference implementations, from radlab's crates.
pub mod reference {
    use super::*;
    use radlab_imaging::{VoiFunction, Window};

    fn window(f: VoiFunction, hu: f32, c: f64, w: f64) -> u8 {
        Window::new(c, w, f)
            .map(|win| win.to_u8(f64::from(hu)))
            .unwrap_or(0)
    }

    /// LINEAR.
    pub fn window_linear(hu: f32, c: f64, w: f64) -> u8 {
        window(VoiFunction::Linear, hu, c, w)
    }

    /// LINEAR_EXACT.
    pub fn window_linear_exact(hu: f32, c: f64, w: f64) -> u8 {
        window(VoiFunction::LinearExact, hu, c, w)
    }

    /// SIGMOID.
    pub fn window_sigmoid(hu: f32, c: f64, w: f64) -> u8 {
        window(VoiFunction::Sigmoid, hu, c, w)
    }

    /// The preset a reader would use.
    pub fn choose_preset(f: Finding) -> &'static str {
        match f {
            Finding::LungNodule | Finding::Emphysema => "lung",
            Finding::MediastinalLymphNode => "mediastinum",
            Finding::RibFracture => "bone",
            Finding::SubduralHaematoma => "subdural",
            Finding::EarlyIschaemicStroke => "stroke",
            Finding::LiverMetastasis => "liver",
            Finding::Appendicitis => "abdomen",
        }
    }

    /// Nearest-neighbour resampling.
    pub fn resample_labels(
        labels: ArrayView3<u8>,
        spacing: [f64; 3],
        target: [f64; 3],
    ) -> Array3<u8> {
        radlab_imaging::resample::resample_nearest(labels, spacing, target)
            .unwrap_or_else(|_| Array3::zeros((0, 0, 0)))
    }
}

/// The reference table.
pub const REFERENCE: Tasks = Tasks {
    name: "reference",
    window_linear: reference::window_linear,
    window_linear_exact: reference::window_linear_exact,
    window_sigmoid: reference::window_sigmoid,
    choose_preset: reference::choose_preset,
    resample_labels: reference::resample_labels,
};

/// The learner's exercise file.
pub const EXERCISE: Tasks = Tasks {
    name: "exercise",
    window_linear: crate::exercise::window_linear,
    window_linear_exact: crate::exercise::window_linear_exact,
    window_sigmoid: crate::exercise::window_sigmoid,
    choose_preset: crate::exercise::choose_preset,
    resample_labels: crate::exercise::resample_labels,
};

/// The stubs as shipped (must score 0 without crashing the grader).
pub const PRISTINE: Tasks = Tasks {
    name: "pristine",
    window_linear: crate::pristine::window_linear,
    window_linear_exact: crate::pristine::window_linear_exact,
    window_sigmoid: crate::pristine::window_sigmoid,
    choose_preset: crate::pristine::choose_preset,
    resample_labels: crate::pristine::resample_labels,
};
