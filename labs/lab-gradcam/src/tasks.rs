//! The tasks as a table of functions: one table for the reference, one for
//! the learner's exercise file, one for the pristine stubs, and (in tests)
//! one per known mistake.

pub use crate::types::*;

/// Grad-CAM of one patch from its feature maps `[c, h, w]` and class row.
pub type GradCamFn = fn(ArrayView3<'_, f32>, &[f64]) -> Array2<f64>;
/// Maps `[n, h, w]` scaled to `[0, 1]` for display.
pub type NormaliseFn = fn(ArrayView3<'_, f64>) -> Array3<f64>;
/// A map `[h, w]` resized to `[rows, cols]`, bilinear.
pub type UpsampleFn = fn(ArrayView2<'_, f64>, [usize; 2]) -> Array2<f64>;
/// A heat map blended onto a grey picture, RGB interleaved.
pub type OverlayFn = fn(&[u8], &[f64], f64) -> Vec<u8>;
/// The Secondary Capture's honest attributes.
pub type ScHeaderFn = fn(&str, &SourceImage) -> ScHeader;

radlab_grade::lab_tasks! {
    /// Grad-CAM for a global-average-pool + linear head.
    grad_cam: GradCamFn,
    /// Per-map min-max scaling.
    normalise: NormaliseFn,
    /// Bilinear upsampling, PyTorch's align_corners = False.
    upsample: UpsampleFn,
    /// Colormap and alpha blend.
    overlay: OverlayFn,
    /// Caution, burned-in text, source reference.
    sc_header: ScHeaderFn,
}

/// The reference implementations: radlab-explain's maps, radlab-results'
/// Secondary Capture convention, the pipeline's overlay.
pub mod reference {
    use super::*;

    /// `ReLU(w . A(i, j)) / (h w)`.
    pub fn grad_cam(features: ArrayView3<'_, f32>, weights: &[f64]) -> Array2<f64> {
        radlab_explain::grad_cam(features, weights).expect("the check's shapes fit")
    }

    /// `(v - min) / (max - min)` of each map on its own.
    pub fn normalise(maps: ArrayView3<'_, f64>) -> Array3<f64> {
        let mut out = maps.to_owned();
        for mut m in out.outer_iter_mut() {
            let n = radlab_explain::normalise(m.view());
            m.assign(&n);
        }
        out
    }

    /// Pixel centres aligned (`align_corners = False`).
    pub fn upsample(map: ArrayView2<'_, f64>, out: [usize; 2]) -> Array2<f64> {
        radlab_explain::upsample_bilinear(map, out, false)
    }

    /// The pipeline's blend.
    pub fn overlay(gray: &[u8], heat: &[f64], alpha: f64) -> Vec<u8> {
        crate::pipeline::overlay(gray, heat, alpha)
    }

    /// What radlab-results writes into every Secondary Capture.
    pub fn sc_header(description: &str, source: &SourceImage) -> ScHeader {
        ScHeader {
            series_description: radlab_results::sc::series_description(description),
            burned_in_annotation: "YES".into(),
            image_type: vec!["DERIVED".into(), "SECONDARY".into()],
            conversion_type: "WSD".into(),
            derivation_description: description.into(),
            source_images: vec![source.clone()],
        }
    }
}
