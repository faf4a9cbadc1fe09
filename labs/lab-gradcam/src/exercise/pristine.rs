//! Your exercises for lab-gradcam. This is the only file you edit.
//!
//! Each function is a task of `cargo run -p lab-gradcam -- grade`. Replace
//! the `todo!()` with your implementation; keep the signatures. Stuck?
//! `cargo run -p lab-gradcam -- hint TASK`. To start over, copy
//! `src/exercise/pristine.rs` (the stubs as shipped) over this file.

#[allow(unused_imports)]
use crate::types::{
    Array2, Array3, ArrayView2, ArrayView3, CAUTION, ScHeader, SourceImage, inferno,
};

/// Task `grad-cam`: the Grad-CAM map `[h, w]` of one patch whose last
/// convolution gave `features` `[c, h, w]`, for a model that ends in global
/// average pooling and one linear layer with `weights` (one per channel):
/// `logit = sum_k weights[k] * mean_ij features[k, i, j] + bias`.
/// Grad-CAM weighs channel k by the mean over the grid of the gradient of
/// the logit with respect to `features[k, i, j]`, sums the weighted
/// channels, and keeps only what pushes the logit up.
pub fn grad_cam(features: ArrayView3<'_, f32>, weights: &[f64]) -> Array2<f64> {
    let _ = (features, weights);
    todo!("grad-cam")
}

/// Task `normalise`: maps `[n, h, w]` (one per patch) scaled for display,
/// so that in each map the most salient place is 1 and the least is 0. A
/// map with no salient place (constant) is all zeros.
pub fn normalise(maps: ArrayView3<'_, f64>) -> Array3<f64> {
    let _ = maps;
    todo!("normalise")
}

/// Task `upsample`: `map` `[h, w]` resized to `out` `[rows, cols]` by
/// bilinear interpolation with PyTorch's default convention
/// (`align_corners = False`, what MONAI's Grad-CAM uses): pixel centres line
/// up, and a source coordinate before the first centre is clamped to it.
pub fn upsample(map: ArrayView2<'_, f64>, out: [usize; 2]) -> Array2<f64> {
    let _ = (map, out);
    todo!("upsample")
}

/// Task `overlay`: blend the normalised heat map `heat` (one value per
/// pixel, meant to be in `[0, 1]`) onto the 8-bit grey picture `gray`, as
/// RGB bytes `R G B R G B ...`. Each pixel takes the colour `inferno(h)`
/// with opacity `alpha * h` (h clamped to `[0, 1]`, NaN as 0), so a place
/// the model ignored shows the image unchanged:
/// `round((1 - a) * gray + a * colour)` per channel.
pub fn overlay(gray: &[u8], heat: &[f64], alpha: f64) -> Vec<u8> {
    let _ = (gray, heat, alpha);
    todo!("overlay")
}

/// Task `sc-header`: the attributes of the Secondary Capture that shows a
/// heat map made from the image `source`, described as `description`:
/// say it is not for diagnosis (the series description starts with
/// `CAUTION`, within an LO's 64 characters), that text is burned into the
/// pixels, that the image is derived and secondary, made on a workstation
/// (`WSD`), how it was made (the derivation description holds
/// `description`), and which image it was made from.
pub fn sc_header(description: &str, source: &SourceImage) -> ScHeader {
    let _ = (description, source);
    todo!("sc-header")
}
