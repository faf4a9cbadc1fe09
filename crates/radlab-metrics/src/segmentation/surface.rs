//! Surfaces of masks and the distances between them: Hausdorff, HD95, average
//! symmetric surface distance, surface Dice, in mm.

use crate::Spacing;
use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;
use serde::Serialize;

use super::{check_spacing, same_shape};
use crate::MetricError;
use crate::stats::percentile;

/// The surface of a mask: its voxels with at least one of the six face
/// neighbours outside the mask; outside the array counts as outside. (The
/// same as `mask & !binary_erosion(mask)` with scipy's default border.)
pub fn surface(mask: ArrayView3<'_, bool>) -> Array3<bool> {
    let (nz, ny, nx) = mask.dim();
    let mut out = Array3::from_elem((nz, ny, nx), false);
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(z, mut plane)| {
            for y in 0..ny {
                for x in 0..nx {
                    if !mask[[z, y, x]] {
                        continue;
                    }
                    let inside = |dz: isize, dy: isize, dx: isize| {
                        let (zz, yy, xx) = (z as isize + dz, y as isize + dy, x as isize + dx);
                        zz >= 0
                            && yy >= 0
                            && xx >= 0
                            && (zz as usize) < nz
                            && (yy as usize) < ny
                            && (xx as usize) < nx
                            && mask[[zz as usize, yy as usize, xx as usize]]
                    };
                    let interior = inside(-1, 0, 0)
                        && inside(1, 0, 0)
                        && inside(0, -1, 0)
                        && inside(0, 1, 0)
                        && inside(0, 0, -1)
                        && inside(0, 0, 1);
                    plane[[y, x]] = !interior;
                }
            }
        });
    out
}

/// The voxels of [`surface`] as `[z, y, x]` indices, in z, y, x order,
/// without building the surface array (one parallel pass over the planes,
/// reading rows as slices).
///
/// ```
/// let mut m = ndarray::Array3::from_elem((3, 3, 3), true);
/// let p = radlab_metrics::segmentation::surface_points(m.view());
/// assert_eq!(p.len(), 26); // every voxel but the centre
/// m[[1, 1, 1]] = false;
/// assert_eq!(radlab_metrics::segmentation::surface_points(m.view()).len(), 26);
/// ```
pub fn surface_points(mask: ArrayView3<'_, bool>) -> Vec<[u32; 3]> {
    let (nz, ny, nx) = mask.dim();
    // Rows are read as slices; any other layout is copied once.
    let mask = mask.as_standard_layout();
    let isa = radlab_simd::Isa::active();
    let planes: Vec<Vec<[u32; 3]>> = (0..nz)
        .into_par_iter()
        .map_init(Vec::new, |scratch: &mut Vec<bool>, z| {
            let mut out = Vec::new();
            let row = |zz: usize, yy: usize| {
                mask.slice(ndarray::s![zz, yy, ..])
                    .to_slice()
                    .expect("standard layout has contiguous rows")
            };
            for y in 0..ny {
                let here = row(z, y);
                if !any_true(here) {
                    continue;
                }
                let (z, y) = (z as u32, y as u32);
                let edge = y == 0 || y as usize + 1 == ny || z == 0 || z as usize + 1 == nz;
                if edge || nx < 3 {
                    // Every voxel of an edge row touches the outside.
                    push_true(&mut out, z, y, here);
                    continue;
                }
                let (zz, yy) = (z as usize, y as usize);
                let (u, d, f, b) = (
                    row(zz, yy - 1),
                    row(zz, yy + 1),
                    row(zz - 1, yy),
                    row(zz + 1, yy),
                );
                scratch.clear();
                scratch.resize(nx, false);
                surface_row_on(isa, scratch, [here, u, d, f, b]);
                push_true(&mut out, z, y, scratch);
            }
            out
        })
        .collect();
    planes.concat()
}

radlab_simd::kernel! {
    /// The surface voxels of one interior row (not on the volume's faces,
    /// at least 3 long): `[here, up, down, front, back]` are the row and
    /// its four neighbours across y and z. A voxel is on the surface when
    /// it is set and one of its six neighbours is not. Written without
    /// branches so that it vectorises.
    fn surface_row_on(out: &mut [bool], rows: [&[bool]; 5]) {
        let [here, u, d, f, b] = rows;
        let nx = here.len();
        out[0] = here[0];
        out[nx - 1] = here[nx - 1];
        for x in 1..nx - 1 {
            let interior = here[x - 1] & here[x + 1] & u[x] & d[x] & f[x] & b[x];
            out[x] = here[x] & !interior;
        }
    }
}

/// Whether a row holds any `true`, in chunks that vectorise.
fn any_true(row: &[bool]) -> bool {
    row.chunks(64)
        .any(|c| c.iter().fold(false, |acc, &v| acc | v))
}

/// Appends `[z, y, x]` for every `true` of `row`, skipping empty chunks.
fn push_true(out: &mut Vec<[u32; 3]>, z: u32, y: u32, row: &[bool]) {
    for (i, chunk) in row.chunks(32).enumerate() {
        if !chunk.iter().fold(false, |acc, &v| acc | v) {
            continue;
        }
        for (j, &v) in chunk.iter().enumerate() {
            if v {
                out.push([z, y, (i * 32 + j) as u32]);
            }
        }
    }
}

/// Distances in mm from every surface voxel of `from` to the nearest
/// surface voxel of `to` (`from`'s surface order: z, then y, then x).
pub fn directed_surface_distances(
    from: ArrayView3<'_, bool>,
    to: ArrayView3<'_, bool>,
    spacing: Spacing,
) -> Result<Vec<f64>, MetricError> {
    same_shape(from.shape(), to.shape())?;
    distances_between_points(&surface_points(from), &surface_points(to), spacing)
}

/// Distances in mm from every point of `from` (`[z, y, x]` indices) to the
/// nearest point of `to`, in `from`'s order.
///
/// Only surface points matter, so this searches a tree of the target points
/// (see [`crate::nearest`]) rather than transforming the whole box; the
/// distances are exact, computed from integer index differences. Empty
/// target: infinity for every source point.
fn distances_between_points(
    from: &[[u32; 3]],
    to: &[[u32; 3]],
    spacing: Spacing,
) -> Result<Vec<f64>, MetricError> {
    check_spacing(spacing)?;
    if to.is_empty() {
        return Ok(vec![f64::INFINITY; from.len()]);
    }
    Ok(crate::nearest::LatticeTree::new(to, spacing).distances(from))
}

/// Surface-distance metrics of a prediction against a reference, in mm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SurfaceMetrics {
    /// Hausdorff distance: the larger of the two directed maxima.
    pub hausdorff: f64,
    /// The larger of the two directed 95th percentiles (MONAI's
    /// `compute_hausdorff_distance(percentile=95)`); not the 95th percentile
    /// of the pooled distances.
    pub hd95: f64,
    /// Average symmetric surface distance: the mean of both directions'
    /// distances pooled.
    pub assd: f64,
    /// Surface Dice at `tolerance_mm`: the share of both surfaces within the
    /// tolerance of the other.
    pub surface_dice: f64,
    /// The tolerance used for `surface_dice`, mm.
    pub tolerance_mm: f64,
}

/// All surface metrics at once. Both masks empty: NaN everywhere (no
/// surface to measure); one empty: infinity for the distances, 0 surface Dice.
pub fn surface_metrics(
    pred: ArrayView3<'_, bool>,
    reference: ArrayView3<'_, bool>,
    spacing: Spacing,
    tolerance_mm: f64,
) -> Result<SurfaceMetrics, MetricError> {
    same_shape(pred.shape(), reference.shape())?;
    check_spacing(spacing)?;
    let (sp, sr) = rayon::join(|| surface_points(pred), || surface_points(reference));
    // The two directions (each a tree build, then queries) run side by side.
    let (a, b) = rayon::join(
        || distances_between_points(&sp, &sr, spacing),
        || distances_between_points(&sr, &sp, spacing),
    );
    let (a, b) = (a?, b?);
    if a.is_empty() && b.is_empty() {
        return Ok(SurfaceMetrics {
            hausdorff: f64::NAN,
            hd95: f64::NAN,
            assd: f64::NAN,
            surface_dice: f64::NAN,
            tolerance_mm,
        });
    }
    if a.is_empty() || b.is_empty() {
        return Ok(SurfaceMetrics {
            hausdorff: f64::INFINITY,
            hd95: f64::INFINITY,
            assd: f64::INFINITY,
            surface_dice: 0.0,
            tolerance_mm,
        });
    }
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let within = |v: &[f64]| v.iter().filter(|&&d| d <= tolerance_mm).count();
    Ok(SurfaceMetrics {
        hausdorff: max(&a).max(max(&b)),
        hd95: percentile(&a, 95.0).max(percentile(&b, 95.0)),
        assd: (a.iter().sum::<f64>() + b.iter().sum::<f64>()) / (a.len() + b.len()) as f64,
        surface_dice: (within(&a) + within(&b)) as f64 / (a.len() + b.len()) as f64,
        tolerance_mm,
    })
}

#[cfg(test)]
mod isa_tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The row kernel marks the same voxels on every instruction set the
    /// processor has, for every density and for lengths that leave partial
    /// vectors.
    #[test]
    fn every_instruction_set_finds_the_same_surface() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(18);
        for nx in [3usize, 4, 31, 32, 33, 64, 65, 511, 512, 1025] {
            for density in [0.05, 0.5, 0.95, 1.0] {
                let rows: Vec<Vec<bool>> = (0..5)
                    .map(|_| (0..nx).map(|_| rng.random_bool(density)).collect())
                    .collect();
                let r = [&rows[0][..], &rows[1], &rows[2], &rows[3], &rows[4]];
                let mut want = vec![false; nx];
                surface_row_on(radlab_simd::Isa::Baseline, &mut want, r);
                for isa in radlab_simd::Isa::supported() {
                    let mut got = vec![false; nx];
                    surface_row_on(isa, &mut got, r);
                    assert_eq!(got, want, "{isa}, nx={nx}, density={density}");
                }
            }
        }
    }
}
