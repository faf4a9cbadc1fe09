//! The tasks as a table of functions: one table for the reference, one for
//! the learner's exercise file, one for the pristine stubs, and (in tests)
//! one per known mistake.

use ndarray::{Array3, ArrayView3};

pub use crate::types::*;

radlab_grade::lab_tasks! {
    /// LINEAR window to 8 bits.
    window_linear: fn(f32, f64, f64) -> u8,
    /// LINEAR_EXACT window to 8 bits.
    window_linear_exact: fn(f32, f64, f64) -> u8,
    /// SIGMOID window to 8 bits.
    window_sigmoid: fn(f32, f64, f64) -> u8,
    /// Preset name for a finding.
    choose_preset: fn(Finding) -> &'static str,
    /// Label-mask resampling, `[z, y, x]`, spacing `(z, y, x)` mm.
    resample_labels: fn(ArrayView3<u8>, [f64; 3], [f64; 3]) -> Array3<u8>,
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
        radlab_imaging::resample::resample_nearest(
            labels,
            radlab_dicom::Spacing::from_zyx(spacing),
            radlab_dicom::Spacing::from_zyx(target),
        )
        .unwrap_or_else(|_| Array3::zeros((0, 0, 0)))
    }
}
