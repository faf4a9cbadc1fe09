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
    #[error("invalid target spacing {spacing}: every component must be a positive number")]
    InvalidSpacing {
        /// The spacing asked for, (z, y, x) mm.
        spacing: radlab_geometry::Spacing,
    },
    /// The resampled volume would not fit the memory budget (the sentence
    /// says the shapes, spacings, bytes and the budget; it starts with the
    /// series' first file when known).
    #[error("{0}")]
    TooLarge(String),
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
