//! Segmentation metrics on binary masks indexed `[z, y, x]`, with spacing
//! `(z, y, x)` in mm: overlap (Dice, IoU, sensitivity, precision) with the
//! empty-mask convention made explicit, and surface distances (Hausdorff,
//! its 95th percentile, average symmetric surface distance, surface Dice)
//! in mm, exact: nearest surface points from a tree of boxes, with an
//! exact Euclidean distance transform ([`distance_to`]) for whole volumes.

use ndarray::{Array3, ArrayView3, Axis, Zip};
use rayon::prelude::*;
use serde::Serialize;

use crate::MetricError;

/// What an overlap score is when a mask is empty. Libraries disagree; say
/// which one you report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EmptyPolicy {
    /// MONAI `DiceMetric(ignore_empty=True)` (its default): an empty
    /// reference gives NaN, left out of means, whatever the prediction.
    IgnoreEmptyReference,
    /// nnU-Net: both empty gives NaN (left out); an empty reference with a
    /// non-empty prediction gives 0.
    BothEmptyNan,
    /// MONAI `ignore_empty=False`: both empty gives 1 (a perfect "nothing
    /// there"); an empty reference with a non-empty prediction gives 0.
    BothEmptyOne,
}

impl EmptyPolicy {
    /// Every policy, for side-by-side reports.
    pub const ALL: [EmptyPolicy; 3] = [
        EmptyPolicy::IgnoreEmptyReference,
        EmptyPolicy::BothEmptyNan,
        EmptyPolicy::BothEmptyOne,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            EmptyPolicy::IgnoreEmptyReference => "monai-ignore-empty",
            EmptyPolicy::BothEmptyNan => "nnunet",
            EmptyPolicy::BothEmptyOne => "empty-is-one",
        }
    }
}

/// Voxel counts of a prediction against a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Predicted and in the reference.
    pub tp: u64,
    /// Predicted, not in the reference.
    pub fp: u64,
    /// In the reference, not predicted.
    pub fn_: u64,
}

impl Counts {
    /// Count over two masks of the same shape (parallel over chunks).
    ///
    /// ```
    /// use ndarray::array;
    /// let p = array![[[true, true, false]]];
    /// let r = array![[[true, false, true]]];
    /// let c = radlab_metrics::segmentation::Counts::of(p.view(), r.view()).unwrap();
    /// assert_eq!((c.tp, c.fp, c.fn_), (1, 1, 1));
    /// ```
    pub fn of(
        pred: ArrayView3<'_, bool>,
        reference: ArrayView3<'_, bool>,
    ) -> Result<Counts, MetricError> {
        same_shape(pred.shape(), reference.shape())?;
        let (p, r) = match (pred.as_slice(), reference.as_slice()) {
            (Some(p), Some(r)) => (p, r),
            _ => {
                let mut c = Counts::default();
                Zip::from(&pred)
                    .and(&reference)
                    .for_each(|&a, &b| c.add(a, b));
                return Ok(c);
            }
        };
        Ok(p.par_chunks(1 << 16)
            .zip(r.par_chunks(1 << 16))
            .map(|(a, b)| {
                // u32 sums vectorise; a chunk of 65 536 cannot overflow them.
                let (mut both, mut pa, mut rb) = (0u32, 0u32, 0u32);
                for (&x, &y) in a.iter().zip(b) {
                    let (x, y) = (u32::from(x), u32::from(y));
                    both += x & y;
                    pa += x;
                    rb += y;
                }
                Counts {
                    tp: u64::from(both),
                    fp: u64::from(pa - both),
                    fn_: u64::from(rb - both),
                }
            })
            .reduce(Counts::default, |a, b| Counts {
                tp: a.tp + b.tp,
                fp: a.fp + b.fp,
                fn_: a.fn_ + b.fn_,
            }))
    }

    fn add(&mut self, p: bool, r: bool) {
        match (p, r) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            _ => {}
        }
    }

    fn empty_case(&self, policy: EmptyPolicy) -> Option<f64> {
        let reference_empty = self.tp + self.fn_ == 0;
        let pred_empty = self.tp + self.fp == 0;
        match policy {
            EmptyPolicy::IgnoreEmptyReference if reference_empty => Some(f64::NAN),
            EmptyPolicy::BothEmptyNan if reference_empty && pred_empty => Some(f64::NAN),
            EmptyPolicy::BothEmptyOne if reference_empty && pred_empty => Some(1.0),
            _ if reference_empty => Some(0.0),
            _ => None,
        }
    }

    /// Dice `2 TP / (2 TP + FP + FN)` under an empty-mask policy.
    ///
    /// ```
    /// use radlab_metrics::segmentation::{Counts, EmptyPolicy::*};
    /// let empty = Counts::default();
    /// assert!(empty.dice(IgnoreEmptyReference).is_nan());
    /// assert!(empty.dice(BothEmptyNan).is_nan());
    /// assert_eq!(empty.dice(BothEmptyOne), 1.0);
    /// let c = Counts { tp: 3, fp: 1, fn_: 1 };
    /// assert_eq!(c.dice(BothEmptyOne), 0.75);
    /// ```
    pub fn dice(&self, policy: EmptyPolicy) -> f64 {
        self.empty_case(policy)
            .unwrap_or_else(|| 2.0 * self.tp as f64 / (2 * self.tp + self.fp + self.fn_) as f64)
    }

    /// IoU (Jaccard) `TP / (TP + FP + FN)` under an empty-mask policy.
    pub fn iou(&self, policy: EmptyPolicy) -> f64 {
        self.empty_case(policy)
            .unwrap_or_else(|| self.tp as f64 / (self.tp + self.fp + self.fn_) as f64)
    }

    /// Sensitivity (recall) `TP / (TP + FN)`; NaN for an empty reference.
    pub fn sensitivity(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_) as f64
    }

    /// Precision `TP / (TP + FP)`; NaN for an empty prediction.
    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp) as f64
    }
}

/// Mean of the values that are not NaN (NaN when all are): how MONAI and
/// nnU-Net average per-case scores.
pub fn nan_mean(values: &[f64]) -> f64 {
    let kept: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    kept.iter().sum::<f64>() / kept.len() as f64
}

fn same_shape(a: &[usize], b: &[usize]) -> Result<(), MetricError> {
    if a != b {
        return Err(MetricError::Undefined(format!(
            "masks differ in shape: {a:?} vs {b:?}"
        )));
    }
    Ok(())
}

fn check_spacing(spacing: [f64; 3]) -> Result<(), MetricError> {
    if spacing.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(MetricError::Undefined(format!(
            "spacing must be positive and finite, got {spacing:?} (z, y, x mm)"
        )));
    }
    Ok(())
}

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
                scratch[0] = here[0];
                scratch[nx - 1] = here[nx - 1];
                // Written without branches so that it vectorises.
                for x in 1..nx - 1 {
                    let interior = here[x - 1] & here[x + 1] & u[x] & d[x] & f[x] & b[x];
                    scratch[x] = here[x] & !interior;
                }
                push_true(&mut out, z, y, scratch);
            }
            out
        })
        .collect();
    planes.concat()
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

/// Squared distance transform along one line (Felzenszwalb & Huttenlocher,
/// "Distance Transforms of Sampled Functions", 2012): `f` holds squared
/// distances so far (infinity where unknown), `step` the spacing of this axis
/// in mm; `f` is overwritten with the lower envelope.
fn edt_1d(f: &mut [f64], step: f64, v: &mut Vec<usize>, z: &mut Vec<f64>, out: &mut Vec<f64>) {
    let n = f.len();
    v.clear();
    z.clear();
    out.clear();
    out.resize(n, f64::INFINITY);
    let pos = |q: usize| q as f64 * step;
    for q in 0..n {
        if f[q].is_infinite() {
            continue;
        }
        loop {
            let Some(&p) = v.last() else {
                v.push(q);
                z.push(f64::NEG_INFINITY);
                break;
            };
            // Where the parabolas of p and q meet.
            let s =
                ((f[q] + pos(q) * pos(q)) - (f[p] + pos(p) * pos(p))) / (2.0 * (pos(q) - pos(p)));
            if s <= *z.last().expect("paired with v") {
                v.pop();
                z.pop();
            } else {
                v.push(q);
                z.push(s);
                break;
            }
        }
    }
    if v.is_empty() {
        f.copy_from_slice(out);
        return;
    }
    let mut k = 0;
    for (q, o) in out.iter_mut().enumerate() {
        while k + 1 < v.len() && z[k + 1] < pos(q) {
            k += 1;
        }
        let d = pos(q) - pos(v[k]);
        *o = d * d + f[v[k]];
    }
    f.copy_from_slice(out);
}

/// Exact Euclidean distance in mm from every voxel to the nearest `true`
/// voxel of `mask` (0 on the mask; infinity everywhere when it is empty),
/// with anisotropic `spacing` `(z, y, x)` mm. Separable: one exact 1-D pass
/// per axis on squared distances.
///
/// ```
/// use ndarray::Array3;
/// let mut m = Array3::from_elem((1, 1, 5), false);
/// m[[0, 0, 0]] = true;
/// let d = radlab_metrics::segmentation::distance_to(m.view(), [1.0, 1.0, 0.5]).unwrap();
/// assert_eq!(d[[0, 0, 4]], 2.0);
/// ```
pub fn distance_to(
    mask: ArrayView3<'_, bool>,
    spacing: [f64; 3],
) -> Result<Array3<f64>, MetricError> {
    let mut d = squared_distance_to(mask, spacing)?;
    d.mapv_inplace(f64::sqrt);
    Ok(d)
}

/// Buffers one worker reuses across lanes.
#[derive(Default)]
struct Scratch {
    lanes: Vec<f64>,
    v: Vec<usize>,
    z: Vec<f64>,
    out: Vec<f64>,
}

/// The exact lower envelope along axis 0 of a 2-D view `[a, b]` (every
/// column), through a transposed copy so that each lane is contiguous.
fn envelope_along_rows(mut view: ndarray::ArrayViewMut2<'_, f64>, step: f64, s: &mut Scratch) {
    let (na, nb) = view.dim();
    s.lanes.clear();
    s.lanes.resize(na * nb, 0.0);
    for a in 0..na {
        for b in 0..nb {
            s.lanes[b * na + a] = view[[a, b]];
        }
    }
    for lane in s.lanes.chunks_mut(na) {
        edt_1d(lane, step, &mut s.v, &mut s.z, &mut s.out);
    }
    for a in 0..na {
        for b in 0..nb {
            view[[a, b]] = s.lanes[b * na + a];
        }
    }
}

/// Squared distances in mm² ([`distance_to`] without the square root).
///
/// Pass 1 (x, contiguous) is a two-sweep nearest-feature search on the
/// binary input; passes 2 (y) and 3 (z) are the exact lower envelope, each
/// run on a transposed copy of a plane or slab so that memory is read in
/// order rather than with a stride of a row or a whole plane.
fn squared_distance_to(
    mask: ArrayView3<'_, bool>,
    spacing: [f64; 3],
) -> Result<Array3<f64>, MetricError> {
    check_spacing(spacing)?;
    let (nz, ny, nx) = mask.dim();
    let mut d = Array3::<f64>::from_elem((nz, ny, nx), f64::INFINITY);
    if d.is_empty() {
        return Ok(d);
    }
    // Pass 1: along x.
    let sx = spacing[2];
    d.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(mask.axis_iter(Axis(0)).into_par_iter())
        .for_each(|(mut plane, m)| {
            for y in 0..ny {
                let mut last: Option<usize> = None;
                for x in 0..nx {
                    if m[[y, x]] {
                        last = Some(x);
                    }
                    if let Some(l) = last {
                        let t = (x - l) as f64 * sx;
                        plane[[y, x]] = t * t;
                    }
                }
                last = None;
                for x in (0..nx).rev() {
                    if m[[y, x]] {
                        last = Some(x);
                    }
                    if let Some(l) = last {
                        let t = (l - x) as f64 * sx;
                        if t * t < plane[[y, x]] {
                            plane[[y, x]] = t * t;
                        }
                    }
                }
            }
        });
    // Pass 2: along y, plane by plane ([y, x] at one z).
    d.axis_iter_mut(Axis(0))
        .into_par_iter()
        .for_each_init(Scratch::default, |scratch, plane| {
            envelope_along_rows(plane, spacing[1], scratch)
        });
    // Pass 3: along z, slab by slab ([z, x] at one y).
    d.axis_iter_mut(Axis(1))
        .into_par_iter()
        .for_each_init(Scratch::default, |scratch, slab| {
            envelope_along_rows(slab, spacing[0], scratch)
        });
    Ok(d)
}

/// Distances in mm from every surface voxel of `from` to the nearest
/// surface voxel of `to` (`from`'s surface order: z, then y, then x).
pub fn directed_surface_distances(
    from: ArrayView3<'_, bool>,
    to: ArrayView3<'_, bool>,
    spacing: [f64; 3],
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
    spacing: [f64; 3],
) -> Result<Vec<f64>, MetricError> {
    check_spacing(spacing)?;
    if to.is_empty() {
        return Ok(vec![f64::INFINITY; from.len()]);
    }
    Ok(crate::nearest::LatticeTree::new(to, spacing).distances(from))
}

/// [`percentile`] of values already sorted ascending (no copy).
///
/// ```
/// assert_eq!(radlab_metrics::segmentation::percentile_sorted(&[1.0, 2.0, 3.0, 4.0], 25.0), 1.75);
/// ```
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 100.0) / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// `numpy.percentile` with its default linear interpolation (`q` in
/// percent; values outside [0, 100] are taken as the nearest end).
///
/// ```
/// assert_eq!(radlab_metrics::segmentation::percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
/// ```
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    let pos = q.clamp(0.0, 100.0) / 100.0 * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    // Only the two order statistics around `pos` are needed: a selection,
    // not a sort.
    let (_, &mut below, above) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let next = if pos > lo as f64 {
        above
            .iter()
            .copied()
            .min_by(f64::total_cmp)
            .unwrap_or(below)
    } else {
        below
    };
    below + (next - below) * (pos - lo as f64)
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
    spacing: [f64; 3],
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
    spacing: [f64; 3],
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
                    volume_mm3: n as f64 * spacing[0] * spacing[1] * spacing[2],
                    centroid_voxel: c,
                    centroid_mm: [c[0] * spacing[0], c[1] * spacing[1], c[2] * spacing[2]],
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
/// let p = remove_small_components(m.view(), Connectivity::TwentySix, [1.0; 3], 2.0).unwrap();
/// assert_eq!((p.stay.len(), p.removed.len()), (1, 1));
/// assert!(!p.kept[[0, 0, 0]] && p.kept[[0, 2, 2]]);
/// ```
pub fn remove_small_components(
    mask: ArrayView3<'_, bool>,
    connectivity: Connectivity,
    spacing: [f64; 3],
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn brute_distance(mask: &Array3<bool>, spacing: [f64; 3]) -> Array3<f64> {
        let pts: Vec<[usize; 3]> = mask
            .indexed_iter()
            .filter(|(_, m)| **m)
            .map(|((z, y, x), _)| [z, y, x])
            .collect();
        Array3::from_shape_fn(mask.dim(), |(z, y, x)| {
            pts.iter()
                .map(|p| {
                    let d = [
                        (p[0] as f64 - z as f64) * spacing[0],
                        (p[1] as f64 - y as f64) * spacing[1],
                        (p[2] as f64 - x as f64) * spacing[2],
                    ];
                    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
                })
                .fold(f64::INFINITY, f64::min)
        })
    }

    fn mask_strategy() -> impl Strategy<Value = Array3<bool>> {
        (1usize..7, 1usize..7, 1usize..7).prop_flat_map(|(z, y, x)| {
            proptest::collection::vec(proptest::bool::weighted(0.15), z * y * x)
                .prop_map(move |v| Array3::from_shape_vec((z, y, x), v).unwrap())
        })
    }

    /// The voxels of [`surface`] listed in z, y, x order.
    fn surface_list(m: ArrayView3<'_, bool>) -> Vec<[u32; 3]> {
        surface(m)
            .indexed_iter()
            .filter(|(_, v)| **v)
            .map(|((z, y, x), _)| [z as u32, y as u32, x as u32])
            .collect()
    }

    /// Long rows (several of the chunks `surface_points` skips by), dense.
    fn long_row_strategy() -> impl Strategy<Value = Array3<bool>> {
        (1usize..5, 1usize..5, 1usize..140).prop_flat_map(|(z, y, x)| {
            proptest::collection::vec(proptest::bool::weighted(0.8), z * y * x)
                .prop_map(move |v| Array3::from_shape_vec((z, y, x), v).unwrap())
        })
    }

    proptest! {
        #[test]
        fn percentile_matches_the_sorted_definition(
            v in proptest::collection::vec(-50.0f64..50.0, 1..60), q in 0.0f64..=100.0) {
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            let pos = q / 100.0 * (s.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            let want = s[lo] + (s[hi] - s[lo]) * (pos - lo as f64);
            prop_assert_eq!(percentile(&v, q), want);
            prop_assert_eq!(percentile_sorted(&s, q), want);
        }

        #[test]
        fn surface_points_of_long_rows(m in long_row_strategy()) {
            prop_assert_eq!(surface_points(m.view()), surface_list(m.view()));
        }

        #[test]
        fn surface_points_are_the_surface(m in mask_strategy()) {
            prop_assert_eq!(surface_points(m.view()), surface_list(m.view()));
            // A view whose rows are not contiguous is copied first.
            let t = m.view().reversed_axes();
            prop_assert_eq!(surface_points(t), surface_list(t));
        }

        #[test]
        fn surface_distances_are_the_nearest_surface_point(a in mask_strategy(), seed in 0u64..1000,
                                                           sz in 0.3f64..4.0, sy in 0.3f64..4.0, sx in 0.3f64..4.0) {
            // A second mask of the same shape, from the seed.
            let mut b = a.clone();
            for (i, v) in b.iter_mut().enumerate() {
                if (seed.wrapping_mul(6364136223846793005).wrapping_add((i as u64).wrapping_mul(1442695040888963407)) >> 61) == 0 {
                    *v = !*v;
                }
            }
            let s = [sz, sy, sx];
            let got = directed_surface_distances(a.view(), b.view(), s).unwrap();
            let (sa, sb) = (surface(a.view()), surface(b.view()));
            let want: Vec<f64> = if sb.iter().any(|&v| v) {
                let d = brute_distance(&sb, s);
                sa.iter().zip(d.iter()).filter(|(m, _)| **m).map(|(_, &d)| d).collect()
            } else {
                vec![f64::INFINITY; sa.iter().filter(|&&v| v).count()]
            };
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g.is_infinite() && w.is_infinite()) || (g - w).abs() < 1e-9, "{g} vs {w}");
            }
            // The tree search and the exact distance transform agree.
            let edt = distance_to(sb.view(), s).unwrap();
            let via_edt: Vec<f64> = sa.iter().zip(edt.iter()).filter(|(m, _)| **m).map(|(_, &d)| d).collect();
            for (g, e) in got.iter().zip(&via_edt) {
                prop_assert!((g.is_infinite() && e.is_infinite()) || (g - e).abs() < 1e-9, "{g} vs {e}");
            }
        }

        #[test]
        fn distance_transform_is_exact(m in mask_strategy(),
                                       sz in 0.3f64..4.0, sy in 0.3f64..4.0, sx in 0.3f64..4.0) {
            let s = [sz, sy, sx];
            let fast = distance_to(m.view(), s).unwrap();
            let slow = brute_distance(&m, s);
            for (a, b) in fast.iter().zip(slow.iter()) {
                prop_assert!((a.is_infinite() && b.is_infinite()) || (a - b).abs() < 1e-9, "{a} vs {b}");
            }
        }

        #[test]
        fn cropping_to_the_masks_changes_nothing(a in mask_strategy(), b in mask_strategy()) {
            let (z, y, x) = (a.dim().0.min(b.dim().0), a.dim().1.min(b.dim().1), a.dim().2.min(b.dim().2));
            let (a, b) = (a.slice(ndarray::s![..z, ..y, ..x]), b.slice(ndarray::s![..z, ..y, ..x]));
            let s = [1.5, 0.8, 0.6];
            let m = surface_metrics(a, b, s, 1.0).unwrap();
            // The same from the whole arrays, without the bounding-box crop.
            let da = directed_surface_distances(a, b, s).unwrap();
            let db = directed_surface_distances(b, a, s).unwrap();
            if !da.is_empty() && !db.is_empty() {
                // Positions are measured from the crop's corner: rounding may differ in the last bits.
                let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
                let close = |p: f64, q: f64| (p - q).abs() <= 1e-9 * q.abs().max(1.0);
                prop_assert!(close(m.hausdorff, max(&da).max(max(&db))));
                prop_assert!(close(m.hd95, percentile(&da, 95.0).max(percentile(&db, 95.0))));
                let assd = (da.iter().sum::<f64>() + db.iter().sum::<f64>()) / (da.len() + db.len()) as f64;
                prop_assert!((m.assd - assd).abs() < 1e-9);
            }
        }

        #[test]
        fn counts_match_a_plain_loop(a in mask_strategy()) {
            let b = a.mapv(|v| !v);
            let mut c = Counts::default();
            Zip::from(&a).and(&a).for_each(|&x, &y| c.add(x, y));
            prop_assert_eq!(Counts::of(a.view(), a.view()).unwrap(), c);
            let d = Counts::of(a.view(), b.view()).unwrap();
            prop_assert_eq!(d.tp, 0);
            prop_assert_eq!(d.fp + d.fn_, a.len() as u64);
        }

        #[test]
        fn six_connected_labels_are_flood_fills(m in mask_strategy()) {
            let (labels, comps) = components(m.view(), Connectivity::Six, [1.0; 3], None).unwrap();
            // Every pair of face neighbours in the mask shares a label; totals add up.
            let (nz, ny, nx) = m.dim();
            for ((z, y, x), &l) in labels.indexed_iter() {
                prop_assert_eq!(l > 0, m[[z, y, x]]);
                if z + 1 < nz && m[[z + 1, y, x]] && l > 0 { prop_assert_eq!(labels[[z + 1, y, x]], l); }
                if y + 1 < ny && m[[z, y + 1, x]] && l > 0 { prop_assert_eq!(labels[[z, y + 1, x]], l); }
                if x + 1 < nx && m[[z, y, x + 1]] && l > 0 { prop_assert_eq!(labels[[z, y, x + 1]], l); }
            }
            let total: usize = comps.iter().map(|c| c.voxels).sum();
            prop_assert_eq!(total, m.iter().filter(|v| **v).count());
        }
    }

    #[test]
    fn two_points_give_their_distance_in_mm() {
        let mut a = Array3::from_elem((3, 4, 5), false);
        let mut b = a.clone();
        a[[0, 0, 0]] = true;
        b[[2, 3, 4]] = true;
        let s = [2.5, 0.7, 0.7];
        let m = surface_metrics(a.view(), b.view(), s, 1.0).unwrap();
        let d = ((2.0 * 2.5f64).powi(2) + (3.0 * 0.7f64).powi(2) + (4.0 * 0.7f64).powi(2)).sqrt();
        assert!((m.hausdorff - d).abs() < 1e-12);
        assert!((m.hd95 - d).abs() < 1e-12);
        assert!((m.assd - d).abs() < 1e-12);
        assert_eq!(m.surface_dice, 0.0);
        // In voxels the answer would be sqrt(4 + 9 + 16) = 5.39, not 5.89 mm.
        assert!((m.hausdorff - 29f64.sqrt()).abs() > 0.4);
    }

    #[test]
    fn hd95_is_not_the_maximum() {
        // A 20-voxel line against the same line with one voxel far away.
        let mut a = Array3::from_elem((1, 1, 60), false);
        for x in 0..20 {
            a[[0, 0, x]] = true;
        }
        let mut b = a.clone();
        b[[0, 0, 59]] = true;
        let m = surface_metrics(a.view(), b.view(), [1.0; 3], 0.5).unwrap();
        assert_eq!(m.hausdorff, 40.0);
        assert!(m.hd95 < m.hausdorff, "{m:?}");
    }

    #[test]
    fn empty_masks_follow_the_policy() {
        let e = Array3::from_elem((2, 2, 2), false);
        let mut f = e.clone();
        f[[0, 0, 0]] = true;
        let both = Counts::of(e.view(), e.view()).unwrap();
        let pred_only = Counts::of(f.view(), e.view()).unwrap();
        assert!(both.dice(EmptyPolicy::IgnoreEmptyReference).is_nan());
        assert!(pred_only.dice(EmptyPolicy::IgnoreEmptyReference).is_nan());
        assert!(both.dice(EmptyPolicy::BothEmptyNan).is_nan());
        assert_eq!(pred_only.dice(EmptyPolicy::BothEmptyNan), 0.0);
        assert_eq!(both.dice(EmptyPolicy::BothEmptyOne), 1.0);
        assert_eq!(pred_only.iou(EmptyPolicy::BothEmptyOne), 0.0);
        assert_eq!(nan_mean(&[f64::NAN, 0.5, 1.0]), 0.75);
        let m = surface_metrics(e.view(), e.view(), [1.0; 3], 1.0).unwrap();
        assert!(m.hd95.is_nan());
        let m = surface_metrics(f.view(), e.view(), [1.0; 3], 1.0).unwrap();
        assert!(m.hd95.is_infinite());
    }

    #[test]
    fn connectivity_decides_whether_a_diagonal_is_one_object() {
        let mut m = Array3::from_elem((3, 3, 3), false);
        for k in 0..3 {
            m[[k, k, k]] = true;
        }
        let n = |c| components(m.view(), c, [1.0; 3], None).unwrap().1.len();
        assert_eq!(n(Connectivity::Six), 3);
        assert_eq!(n(Connectivity::Eighteen), 3);
        assert_eq!(n(Connectivity::TwentySix), 1);
        let mut p = Array3::<f32>::zeros((3, 3, 3));
        p[[1, 1, 1]] = 0.9;
        let (_, c) = components(
            m.view(),
            Connectivity::TwentySix,
            [2.0, 1.0, 1.0],
            Some(p.view()),
        )
        .unwrap();
        assert_eq!(c[0].voxels, 3);
        assert_eq!(c[0].volume_mm3, 6.0);
        assert_eq!(c[0].centroid_mm, [2.0, 1.0, 1.0]);
        assert!((c[0].max_probability - 0.9).abs() < 1e-6);
    }
}
