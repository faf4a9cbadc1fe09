//! The types the exercise works with and the colormap it draws with. The
//! exercise, the reference and the checks all depend on this file, and it
//! depends on none of them.

pub use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

/// The words a Secondary Capture of a result must start its series
/// description with (and burn into its pixels): there is no DICOM attribute
/// for "not for diagnostic use", only this convention.
pub const CAUTION: &str = "CAUTION: Not for Diagnostic Use";

/// The heat colormap: colorous' `INFERNO`, perceptually uniform from black
/// through red to pale yellow, as 256 colours: `t` (clamped to `[0, 1]`,
/// NaN as 0) picks colour `round(255 t)`. Returns `[r, g, b]`.
///
/// ```
/// assert_eq!(lab_gradcam::types::inferno(0.0), [0, 0, 4]);
/// ```
pub use radlab_explain::inferno;

/// One entry of the Source Image Sequence: the image a picture was made from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceImage {
    /// Its SOP Class UID.
    pub sop_class: String,
    /// Its SOP Instance UID.
    pub sop_instance: String,
}

/// The attributes that make a Secondary Capture an honest picture of a
/// result: what it is, that it is not for diagnosis, what it was made from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScHeader {
    /// Series Description (0008,103E), LO: at most 64 characters.
    pub series_description: String,
    /// Burned In Annotation (0028,0301): `YES` or `NO`.
    pub burned_in_annotation: String,
    /// Image Type (0008,0008): its values, e.g. `ORIGINAL`, `PRIMARY`.
    pub image_type: Vec<String>,
    /// Conversion Type (0008,0064), e.g. `WSD` (workstation).
    pub conversion_type: String,
    /// Derivation Description (0008,2111): how the picture was made.
    pub derivation_description: String,
    /// Source Image Sequence (0008,2112).
    pub source_images: Vec<SourceImage>,
}
