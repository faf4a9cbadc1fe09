//! Errors of the imaging crate.

use std::path::PathBuf;

/// Everything that can go wrong in pixel work.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// A window that the chosen VOI function does not allow.
    #[error("invalid window: center {center}, width {width} for {function}: {reason}")]
    InvalidWindow {
        /// Window center.
        center: f64,
        /// Window width.
        width: f64,
        /// VOI LUT function name.
        function: &'static str,
        /// The rule broken (PS3.3 C.11.2.1.2).
        reason: &'static str,
    },
    /// Unknown preset name.
    #[error("unknown window preset {name:?}; known presets: {known}")]
    UnknownPreset {
        /// The name asked for.
        name: String,
        /// The names available.
        known: String,
    },
    /// Target spacing not positive.
    #[error("invalid target spacing {spacing:?} mm: every component must be a positive number")]
    InvalidSpacing {
        /// The spacing asked for, (z, y, x) mm.
        spacing: [f64; 3],
    },
    /// The resampled volume would not fit the memory budget.
    #[error(
        "{file}resampling {shape:?} voxels at spacing {spacing:?} mm to {target:?} mm would make {out} voxels ([z, y, x]), {bytes}; {limit}"
    )]
    TooLarge {
        /// `"PATH: "` of the series' first file when known (its PixelSpacing
        /// (0028,0030) and slice positions gave the spacing), else empty.
        file: String,
        /// Input shape `[z, y, x]`.
        shape: [usize; 3],
        /// Input spacing `(z, y, x)` mm.
        spacing: [f64; 3],
        /// Target spacing `(z, y, x)` mm.
        target: [f64; 3],
        /// Output shape as computed (may be astronomically large).
        out: String,
        /// Bytes the largest pass would need, in words.
        bytes: String,
        /// The budget, in words.
        limit: String,
    },
    /// Writing a PNG failed.
    #[error("{path}: cannot write PNG: {reason}")]
    Png {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = ImagingError> = std::result::Result<T, E>;
