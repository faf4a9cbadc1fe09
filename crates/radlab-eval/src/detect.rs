//! Detection from the segmenter's probability map: candidates per 3-D
//! component or per axial slice (as a 2-D detector reports them), and
//! false-positive reduction by rescoring each candidate with the classifier.

use ndarray::{Array3, ArrayView3, Axis, s};
use radlab_infer::Model;
use radlab_metrics::detection::{Candidate, CandidatePosition, candidates_from_probability};
use radlab_metrics::segmentation::Connectivity;
use serde::Serialize;

use crate::{EvalError, InputScaling, Result, classify};

/// How the probability map becomes candidates. With the `cli` feature it
/// is a `clap::ValueEnum` (`slice`, `volume`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Detections {
    /// Per axial slice, as a 2-D detector reports them: a nodule seen on
    /// five slices is five candidates (the duplicates the hit rules must handle).
    Slice,
    /// Per 3-D component: one candidate per connected region.
    Volume,
}

/// Candidates of one scan (index `scan`) from its probability map: voxels
/// at or above `threshold`, grouped as `how` says, each placed at its peak
/// and scored by the peak probability. `spacing` `(z, y, x)` mm.
pub fn find_candidates(
    probability: ArrayView3<'_, f32>,
    threshold: f32,
    spacing: radlab_geometry::Spacing,
    how: Detections,
    scan: usize,
) -> Result<Vec<Candidate>> {
    let find = |p: ArrayView3<'_, f32>| {
        candidates_from_probability(
            p,
            threshold,
            spacing,
            Connectivity::TwentySix,
            CandidatePosition::Peak,
            scan,
        )
    };
    Ok(match how {
        Detections::Volume => find(probability)?,
        Detections::Slice => {
            // Each slice alone (a one-slice volume: 26-connectivity is
            // 8-connectivity in the plane), moved back to its z.
            let mut all = Vec::new();
            for z in 0..probability.len_of(Axis(0)) {
                for mut c in find(probability.slice(s![z..z + 1, .., ..]))? {
                    c.voxel[0] = z;
                    c.position_mm[0] = z as f64 * spacing.z;
                    all.push(c);
                }
            }
            all
        }
    })
}

/// The `size x size` axial patches `[n, size, size]` (HU) centred on each
/// voxel `[z, y, x]`, shifted inside the image at the borders, with each
/// patch's top-left corner `[y0, x0]` on its slice. The classifier's
/// patches: [`rescore`] scores these.
pub fn axial_patches(
    hu: ArrayView3<'_, f32>,
    voxels: &[[usize; 3]],
    size: usize,
) -> Result<(Array3<f32>, Vec<[usize; 2]>)> {
    let (nz, ny, nx) = hu.dim();
    if ny < size || nx < size {
        return Err(EvalError::TooSmall {
            rows: ny,
            columns: nx,
            size,
        });
    }
    let mut patches = Array3::<f32>::zeros((voxels.len(), size, size));
    let mut origins = Vec::with_capacity(voxels.len());
    for (k, v) in voxels.iter().enumerate() {
        let z = v[0].min(nz.saturating_sub(1));
        let y0 = v[1].saturating_sub(size / 2).min(ny - size);
        let x0 = v[2].saturating_sub(size / 2).min(nx - size);
        patches
            .index_axis_mut(Axis(0), k)
            .assign(&hu.slice(s![z, y0..y0 + size, x0..x0 + size]));
        origins.push([y0, x0]);
    }
    Ok((patches, origins))
}

/// Score each candidate by the classifier's nodule probability on the axial
/// patch centred on its peak (shifted inside the image at the borders), in
/// the window of the classifier's card.
pub fn rescore(model: &mut Model, hu: ArrayView3<'_, f32>, cands: &mut [Candidate]) -> Result<()> {
    if cands.is_empty() {
        return Ok(());
    }
    let p = model.card().preprocessing.clone();
    let size = p.patch_size.first().copied().unwrap_or(32);
    let voxels: Vec<[usize; 3]> = cands.iter().map(|c| c.voxel).collect();
    let (patches, _) = axial_patches(hu, &voxels, size)?;
    let probs = classify(
        model,
        patches.view(),
        InputScaling::Window {
            center: p.window_center,
            width: p.window_width,
        },
    )?;
    for (c, q) in cands.iter_mut().zip(probs) {
        c.score = q;
    }
    Ok(())
}

/// The nodules the segmenter reports in a probability map: 26-connected
/// components of the voxels at or above `threshold`, those of at least
/// `min_volume_mm3` kept. Returns the label array with the kept components
/// relabelled `1..` in the order found (others 0), the kept components
/// (their `label` updated to match), and how many components there were in
/// all. `spacing` `(z, y, x)` mm. What lab-sr reports and lab-gradcam
/// explains.
pub fn nodules(
    probability: ArrayView3<'_, f32>,
    threshold: f32,
    min_volume_mm3: f64,
    spacing: radlab_geometry::Spacing,
) -> Result<(
    Array3<u32>,
    Vec<radlab_metrics::segmentation::Component>,
    usize,
)> {
    let (labels, comps) = radlab_metrics::segmentation::components(
        probability.mapv(|p| p >= threshold).view(),
        Connectivity::TwentySix,
        spacing,
        Some(probability),
    )?;
    let mut relabel = vec![0u32; comps.len() + 1];
    let mut kept = Vec::new();
    for c in &comps {
        if c.volume_mm3 >= min_volume_mm3 {
            let mut c = c.clone();
            relabel[c.label as usize] = kept.len() as u32 + 1;
            c.label = kept.len() as u32 + 1;
            kept.push(c);
        }
    }
    let labels = labels.mapv(|l| relabel.get(l as usize).copied().unwrap_or(0));
    Ok((labels, kept, comps.len()))
}
