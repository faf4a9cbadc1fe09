//! Connected components of a mask, and the post-processing step that removes
//! the small ones.

use crate::Spacing;
use ndarray::{Array3, ArrayView3};
use serde::Serialize;

use super::{check_spacing, same_shape};
use crate::MetricError;

/// Which neighbours touch in [`components`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Connectivity {
    /// Faces only.
    Six,
    /// Faces and edges.
    Eighteen,
    /// Faces, edges and corners.
    TwentySix,
}

impl Connectivity {
    fn offsets(self) -> Vec<[isize; 3]> {
        let mut v = Vec::new();
        for dz in -1isize..=1 {
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    let n = dz.abs() + dy.abs() + dx.abs();
                    let ok = match self {
                        Connectivity::Six => n == 1,
                        Connectivity::Eighteen => n == 1 || n == 2,
                        Connectivity::TwentySix => n >= 1,
                    };
                    if ok {
                        v.push([dz, dy, dx]);
                    }
                }
            }
        }
        v
    }
}

/// One connected component of a mask.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// 1-based label in the label array.
    pub label: u32,
    /// Number of voxels.
    pub voxels: usize,
    /// Volume in mm³.
    pub volume_mm3: f64,
    /// Centroid `[z, y, x]` in voxel indices.
    pub centroid_voxel: [f64; 3],
    /// Centroid `(z, y, x)` in mm from the array origin (index times spacing).
    pub centroid_mm: [f64; 3],
    /// Highest value of the probability map in the component (NaN without one).
    pub max_probability: f64,
    /// Where that highest value is, `[z, y, x]` (the first voxel in z, y, x
    /// order among ties; the component's first voxel without a map).
    pub peak_voxel: [usize; 3],
}

/// Label the connected components of `mask` (labels 1.., in the order their
/// first voxel appears in z, y, x order) and describe each; `probability`, if
/// given, must have the mask's shape.
pub fn components(
    mask: ArrayView3<'_, bool>,
    connectivity: Connectivity,
    spacing: Spacing,
    probability: Option<ArrayView3<'_, f32>>,
) -> Result<(Array3<u32>, Vec<Component>), MetricError> {
    check_spacing(spacing)?;
    if let Some(p) = &probability {
        same_shape(p.shape(), mask.shape())?;
    }
    let (nz, ny, nx) = mask.dim();
    let mut labels = Array3::<u32>::zeros((nz, ny, nx));
    let offsets = connectivity.offsets();
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                if !mask[[z, y, x]] || labels[[z, y, x]] != 0 {
                    continue;
                }
                let label = out.len() as u32 + 1;
                labels[[z, y, x]] = label;
                stack.push([z, y, x]);
                let (mut n, mut sum, mut pmax) = (0usize, [0.0f64; 3], f64::NEG_INFINITY);
                let mut peak = [z, y, x];
                while let Some([cz, cy, cx]) = stack.pop() {
                    n += 1;
                    sum[0] += cz as f64;
                    sum[1] += cy as f64;
                    sum[2] += cx as f64;
                    if let Some(p) = &probability {
                        let v = f64::from(p[[cz, cy, cx]]);
                        if v > pmax || (v == pmax && [cz, cy, cx] < peak) {
                            pmax = v;
                            peak = [cz, cy, cx];
                        }
                    }
                    for o in &offsets {
                        let (qz, qy, qx) =
                            (cz as isize + o[0], cy as isize + o[1], cx as isize + o[2]);
                        if qz < 0 || qy < 0 || qx < 0 {
                            continue;
                        }
                        let q = [qz as usize, qy as usize, qx as usize];
                        if q[0] < nz && q[1] < ny && q[2] < nx && mask[q] && labels[q] == 0 {
                            labels[q] = label;
                            stack.push(q);
                        }
                    }
                }
                let c = [sum[0] / n as f64, sum[1] / n as f64, sum[2] / n as f64];
                out.push(Component {
                    label,
                    voxels: n,
                    volume_mm3: n as f64 * spacing.z * spacing.y * spacing.x,
                    centroid_voxel: c,
                    centroid_mm: [c[0] * spacing.z, c[1] * spacing.y, c[2] * spacing.x],
                    max_probability: if probability.is_some() {
                        pmax
                    } else {
                        f64::NAN
                    },
                    peak_voxel: peak,
                });
            }
        }
    }
    Ok((labels, out))
}

/// What [`remove_small_components`] keeps and removes.
#[derive(Debug, Clone)]
pub struct Pruned {
    /// The mask without the small components.
    pub kept: Array3<bool>,
    /// The components that stay (labels as in [`components`]).
    pub stay: Vec<Component>,
    /// The components removed.
    pub removed: Vec<Component>,
}

/// Post-processing: the mask without its connected components smaller
/// than `min_mm3` (a component of exactly `min_mm3` stays); `min_mm3` 0
/// keeps everything.
///
/// ```
/// use ndarray::Array3;
/// use radlab_metrics::segmentation::{Connectivity, remove_small_components};
/// let mut m = Array3::from_elem((1, 4, 4), false);
/// m[[0, 0, 0]] = true; // 1 mm³
/// m[[0, 2, 2]] = true; // 2 mm³ with its neighbour
/// m[[0, 2, 3]] = true;
/// let p = remove_small_components(m.view(), Connectivity::TwentySix, radlab_metrics::Spacing::isotropic(1.0), 2.0).unwrap();
/// assert_eq!((p.stay.len(), p.removed.len()), (1, 1));
/// assert!(!p.kept[[0, 0, 0]] && p.kept[[0, 2, 2]]);
/// ```
pub fn remove_small_components(
    mask: ArrayView3<'_, bool>,
    connectivity: Connectivity,
    spacing: Spacing,
    min_mm3: f64,
) -> Result<Pruned, MetricError> {
    if !(min_mm3.is_finite() && min_mm3 >= 0.0) {
        return Err(MetricError::Undefined(format!(
            "minimum component volume {min_mm3} mm³: must be 0 or more"
        )));
    }
    let (labels, comps) = components(mask, connectivity, spacing, None)?;
    // Label l (1-based) stays when its component is large enough.
    let keep: Vec<bool> = std::iter::once(false)
        .chain(comps.iter().map(|c| c.volume_mm3 >= min_mm3))
        .collect();
    let kept = labels.mapv(|l| keep[l as usize]);
    let (stay, removed) = comps.into_iter().partition(|c| c.volume_mm3 >= min_mm3);
    Ok(Pruned {
        kept,
        stay,
        removed,
    })
}
