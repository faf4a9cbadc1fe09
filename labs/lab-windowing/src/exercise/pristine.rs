//! Your exercises for lab-windowing. This is the only file you edit.
//!
//! Each function is a task of `cargo run -p lab-windowing -- grade`. Replace
//! the `todo!()` with your implementation; keep the signatures. Stuck?
//! `cargo run -p lab-windowing -- hint TASK`. To start over, copy
//! `src/exercise/pristine.rs` (the stubs as shipped) over this file.

use ndarray::{Array3, ArrayView3};

use crate::types::Finding;

/// Task `window-linear`: map a value in HU to 0..=255 with the DICOM LINEAR
/// VOI function (PS3.3 C.11.2.1.2.1), window `center` and `width` (>= 1).
/// Round to the nearest grey level (halves up).
pub fn window_linear(hu: f32, center: f64, width: f64) -> u8 {
    let _ = (hu, center, width);
    todo!("window-linear")
}

/// Task `window-linear-exact`: the same with LINEAR_EXACT (C.11.2.1.3.2), `width` > 0.
pub fn window_linear_exact(hu: f32, center: f64, width: f64) -> u8 {
    let _ = (hu, center, width);
    todo!("window-linear-exact")
}

/// Task `window-sigmoid`: the same with SIGMOID (C.11.2.1.3.1), `width` > 0.
pub fn window_sigmoid(hu: f32, center: f64, width: f64) -> u8 {
    let _ = (hu, center, width);
    todo!("window-sigmoid")
}

/// Task `choose-preset`: the name of the preset (one of lung, mediastinum,
/// bone, brain, subdural, stroke, liver, abdomen) a reader would use to look
/// for `finding`.
pub fn choose_preset(finding: Finding) -> &'static str {
    let _ = finding;
    todo!("choose-preset")
}

/// Task `resample-labels`: resample a label mask `[z, y, x]` from `spacing` to
/// `target` (both `(z, y, x)` mm) without inventing labels. Output shape per
/// axis: `max(1, round(n * spacing / target))`; output voxel `i` samples input
/// coordinate `i * target / spacing` (same origin).
pub fn resample_labels(labels: ArrayView3<u8>, spacing: [f64; 3], target: [f64; 3]) -> Array3<u8> {
    let _ = (labels, spacing, target);
    todo!("resample-labels")
}
