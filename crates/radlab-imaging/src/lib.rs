//! # radlab-imaging
//!
//! Pixel work on radlab volumes: DICOM windowing (PS3.3 C.11.2.1.2) with
//! LINEAR, LINEAR_EXACT and SIGMOID, named CT presets, resampling to a new
//! spacing, and PNG export of planes and montages.
//!
//! Arrays are `[z, y, x]`; spacing is `(z, y, x)` in mm.

pub mod error;
pub mod planes;
pub mod presets;
pub mod resample;
pub mod window;

pub mod annotate;
pub use error::{ImagingError, Result};
pub use planes::Plane;
pub use presets::{PRESETS, Preset, preset};
pub use window::{VoiFunction, Window};
