//! The exact Euclidean distance transform (Felzenszwalb and Huttenlocher:
//! separable, one pass per axis on squared distances), in mm.

use crate::Spacing;
use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

use super::check_spacing;
use crate::MetricError;

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
/// let d = radlab_metrics::segmentation::distance_to(m.view(), radlab_metrics::Spacing::new(1.0, 1.0, 0.5)).unwrap();
/// assert_eq!(d[[0, 0, 4]], 2.0);
/// ```
pub fn distance_to(
    mask: ArrayView3<'_, bool>,
    spacing: Spacing,
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
    spacing: Spacing,
) -> Result<Array3<f64>, MetricError> {
    check_spacing(spacing)?;
    let (nz, ny, nx) = mask.dim();
    let mut d = Array3::<f64>::from_elem((nz, ny, nx), f64::INFINITY);
    if d.is_empty() {
        return Ok(d);
    }
    // Pass 1: along x.
    let sx = spacing.x;
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
            envelope_along_rows(plane, spacing.y, scratch)
        });
    // Pass 3: along z, slab by slab ([z, x] at one y).
    d.axis_iter_mut(Axis(1))
        .into_par_iter()
        .for_each_init(Scratch::default, |scratch, slab| {
            envelope_along_rows(slab, spacing.z, scratch)
        });
    Ok(d)
}
