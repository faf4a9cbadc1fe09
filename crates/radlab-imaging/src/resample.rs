//! Resampling volumes to a new voxel spacing.
//!
//! Arrays are `[z, y, x]`, spacing `(z, y, x)` in mm. The origin (centre of
//! voxel `[0, 0, 0]`) and the axes are kept; the new shape along each axis is
//! `max(1, round(n * s / s'))`, so the physical extent `n * s` is preserved to
//! within half an output voxel. Output voxel `i` samples input coordinate
//! `i * s' / s`; samples past the last input voxel centre take the edge value.
//!
//! Images use trilinear interpolation (done as three separable 1-D passes,
//! which is the same thing). Label masks use nearest neighbour, so no label
//! is ever invented by averaging two others.

use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

use radlab_geometry::Spacing;

use crate::error::{ImagingError, Result};

/// Output shape (`[z, y, x]`) for resampling `shape` from `spacing` to `target`.
pub fn resampled_shape(shape: [usize; 3], spacing: Spacing, target: Spacing) -> Result<[usize; 3]> {
    if !(target.is_positive() && spacing.is_positive()) {
        return Err(ImagingError::InvalidSpacing { spacing: target });
    }
    let (spacing, target) = (spacing.zyx(), target.zyx());
    // Check the size before anything is allocated: a header spacing of
    // 1000 mm or 1e308 mm resampled to 1 mm asks for absurd shapes. The
    // separable passes hold at most max(in, out) voxels along each axis.
    let want: Vec<f64> = (0..3)
        .map(|a| (shape[a] as f64 * spacing[a] / target[a]).round().max(1.0))
        .collect();
    let largest: f64 = (0..3).map(|a| want[a].max(shape[a] as f64)).product();
    let budget = radlab_dicom::limits::memory_budget();
    let bytes = largest * 4.0;
    if !bytes.is_finite() || bytes > budget.bytes as f64 {
        return Err(ImagingError::TooLarge(format!(
            "resampling {shape:?} voxels at spacing {spacing:?} mm to {target:?} mm would make {:.4e} x {:.4e} x {:.4e} voxels ([z, y, x]), {bytes:.3e} bytes; {}",
            want[0],
            want[1],
            want[2],
            budget.describe()
        )));
    }
    Ok([want[0] as usize, want[1] as usize, want[2] as usize])
}

/// For each output index, the two input indices and the weight of the second.
fn linear_taps(n_in: usize, n_out: usize, ratio: f64) -> Vec<(usize, usize, f32)> {
    (0..n_out)
        .map(|i| {
            let u = (i as f64 * ratio).clamp(0.0, (n_in - 1) as f64);
            let i0 = u.floor() as usize;
            let i1 = (i0 + 1).min(n_in - 1);
            (i0, i1, (u - i0 as f64) as f32)
        })
        .collect()
}

fn nearest_taps(n_in: usize, n_out: usize, ratio: f64) -> Vec<usize> {
    (0..n_out)
        .map(|i| ((i as f64 * ratio).round() as usize).min(n_in - 1))
        .collect()
}

/// One separable linear pass along `axis`.
fn linear_pass(input: ArrayView3<f32>, axis: usize, n_out: usize, ratio: f64) -> Array3<f32> {
    let isa = radlab_simd::Isa::active();
    let mut shape = [input.shape()[0], input.shape()[1], input.shape()[2]];
    let n_in = shape[axis];
    shape[axis] = n_out;
    let taps = linear_taps(n_in, n_out, ratio);
    // Zeroed pages backed by huge pages where the kernel allows: each pass
    // writes a volume of up to a few hundred MB, whose first touch otherwise
    // costs one page fault per 4 KB.
    let mut out = Array3::from_shape_vec(
        shape,
        radlab_dicom::volume::zeroed_f32(shape.iter().product()),
    )
    .expect("the buffer has the shape's length");
    match axis {
        0 => {
            out.axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(taps.par_iter())
                .for_each(|(mut plane, &(i0, i1, t))| {
                    let a = input.index_axis(Axis(0), i0);
                    let b = input.index_axis(Axis(0), i1);
                    match (plane.as_slice_mut(), a.as_slice(), b.as_slice()) {
                        (Some(o), Some(a), Some(b)) => lerp_on(isa, o, a, b, t),
                        _ => ndarray::Zip::from(&mut plane)
                            .and(&a)
                            .and(&b)
                            .for_each(|o, &a, &b| *o = lerp(a, b, t)),
                    }
                });
        }
        1 => {
            out.axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(input.axis_iter(Axis(0)).into_par_iter())
                .for_each(|(mut o, i)| {
                    for (y, &(i0, i1, t)) in taps.iter().enumerate() {
                        let a = i.row(i0);
                        let b = i.row(i1);
                        let mut orow = o.row_mut(y);
                        match (orow.as_slice_mut(), a.as_slice(), b.as_slice()) {
                            (Some(o), Some(a), Some(b)) => lerp_on(isa, o, a, b, t),
                            _ => ndarray::Zip::from(orow)
                                .and(&a)
                                .and(&b)
                                .for_each(|o, &a, &b| *o = lerp(a, b, t)),
                        }
                    }
                });
        }
        _ => {
            out.axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(input.axis_iter(Axis(0)).into_par_iter())
                .for_each(|(mut o, i)| {
                    for (mut orow, irow) in o.rows_mut().into_iter().zip(i.rows()) {
                        match (orow.as_slice_mut(), irow.as_slice()) {
                            (Some(o), Some(r)) => lerp_taps_on(isa, o, r, &taps),
                            _ => {
                                for (ov, &(i0, i1, t)) in orow.iter_mut().zip(&taps) {
                                    *ov = lerp(irow[i0], irow[i1], t);
                                }
                            }
                        }
                    }
                });
        }
    }
    out
}

/// `a + (b - a) * t` in f32: one rounding per operation, no fused
/// multiply-add, so every instruction set gives the same value.
#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

radlab_simd::kernel! {
    /// `out[i] = lerp(a[i], b[i], t)`: one output row or plane between two
    /// input ones.
    fn lerp_on(out: &mut [f32], a: &[f32], b: &[f32], t: f32) {
        for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
            *o = lerp(a, b, t);
        }
    }
}

radlab_simd::kernel! {
    /// `out[i] = lerp(row[i0], row[i1], t)` for the taps `(i0, i1, t)`
    /// along a row.
    fn lerp_taps_on(out: &mut [f32], row: &[f32], taps: &[(usize, usize, f32)]) {
        for (o, &(i0, i1, t)) in out.iter_mut().zip(taps) {
            *o = lerp(row[i0], row[i1], t);
        }
    }
}

/// Trilinear resampling of an image from `spacing` to `target` (`(z, y, x)`, mm).
///
/// ```
/// use ndarray::Array3;
/// use radlab_geometry::Spacing;
/// let v = Array3::from_shape_fn((4, 2, 2), |(z, _, _)| z as f32 * 10.0);
/// let r = radlab_imaging::resample::resample_linear(v.view(), Spacing::new(2.0, 1.0, 1.0), Spacing::isotropic(1.0)).unwrap();
/// assert_eq!(r.shape(), &[8, 2, 2]);
/// assert_eq!(r[[1, 0, 0]], 5.0); // halfway between slices 0 and 1
/// ```
pub fn resample_linear(
    input: ArrayView3<f32>,
    spacing: Spacing,
    target: Spacing,
) -> Result<Array3<f32>> {
    let shape = [input.shape()[0], input.shape()[1], input.shape()[2]];
    let out_shape = resampled_shape(shape, spacing, target)?;
    let (spacing, target) = (spacing.zyx(), target.zyx());
    if shape.contains(&0) {
        return Ok(Array3::zeros(out_shape));
    }
    // Shrink-first order keeps the intermediate arrays small.
    let mut axes = [0usize, 1, 2];
    axes.sort_by(|&a, &b| {
        let ra = out_shape[a] as f64 / shape[a] as f64;
        let rb = out_shape[b] as f64 / shape[b] as f64;
        ra.total_cmp(&rb)
    });
    let mut cur: Option<Array3<f32>> = None;
    for &a in &axes {
        let ratio = target[a] / spacing[a];
        let view = cur.as_ref().map(|c| c.view()).unwrap_or(input);
        if out_shape[a] == view.shape()[a] && ratio == 1.0 {
            continue;
        }
        cur = Some(linear_pass(view, a, out_shape[a], ratio));
    }
    Ok(cur.unwrap_or_else(|| input.to_owned()))
}

/// Nearest-neighbour resampling, for label masks (never invents a label).
pub fn resample_nearest<T: Copy + Send + Sync + Default>(
    input: ArrayView3<T>,
    spacing: Spacing,
    target: Spacing,
) -> Result<Array3<T>> {
    let shape = [input.shape()[0], input.shape()[1], input.shape()[2]];
    let out_shape = resampled_shape(shape, spacing, target)?;
    let (spacing, target) = (spacing.zyx(), target.zyx());
    if shape.contains(&0) {
        return Ok(Array3::from_elem(out_shape, T::default()));
    }
    let tz = nearest_taps(shape[0], out_shape[0], target[0] / spacing[0]);
    let ty = nearest_taps(shape[1], out_shape[1], target[1] / spacing[1]);
    let tx = nearest_taps(shape[2], out_shape[2], target[2] / spacing[2]);
    let mut out = Array3::from_elem(out_shape, T::default());
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(tz.par_iter())
        .for_each(|(mut plane, &z)| {
            let src = input.index_axis(Axis(0), z);
            for (y, mut row) in plane.rows_mut().into_iter().enumerate() {
                let srow = src.row(ty[y]);
                for (o, &x) in row.iter_mut().zip(&tx) {
                    *o = srow[x];
                }
            }
        });
    Ok(out)
}

/// Resample a [`radlab_dicom::Volume`] (trilinear), keeping origin and axes.
/// The per-slice file list is dropped, since output slices no longer map to files.
pub fn resample_volume(
    vol: &radlab_dicom::Volume,
    target: Spacing,
) -> Result<radlab_dicom::Volume> {
    let voxels = resample_linear(vol.voxels.view(), vol.spacing, target).map_err(|e| match e {
        ImagingError::TooLarge(what) => ImagingError::TooLarge(match vol.slices.first() {
            Some((p, _)) => format!(
                "{}: PixelSpacing (0028,0030) and slice positions give a spacing where {what}",
                p.display()
            ),
            None => what,
        }),
        other => other,
    })?;
    Ok(radlab_dicom::Volume {
        voxels,
        spacing: target,
        slices: Vec::new(),
        ..vol.clone_without_voxels()
    })
}

#[cfg(test)]
mod size_tests {
    /// The interpolation kernels give the baseline's bits on every
    /// instruction set the processor has, NaN and infinities included, on
    /// lengths that leave partial vectors.
    #[test]
    fn every_instruction_set_interpolates_to_the_same_bits() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for n in [0usize, 1, 7, 8, 15, 16, 17, 63, 64, 65, 1000, 4099] {
            let mut v = || -> Vec<f32> {
                (0..n)
                    .map(|i| match i % 97 {
                        0 => f32::NAN,
                        1 => f32::INFINITY,
                        2 => -1e30,
                        _ => (next() % 200_000) as f32 * 0.0173 - 1500.0,
                    })
                    .collect()
            };
            let (a, b) = (v(), v());
            let last = n.saturating_sub(1);
            let taps: Vec<(usize, usize, f32)> = (0..n)
                .map(|i| {
                    let i0 = (i * 7 / 5).min(last);
                    (i0, (i0 + 1).min(last), (i % 10) as f32 / 10.0)
                })
                .collect();
            let mut want_taps = vec![0f32; n];
            lerp_taps_on(radlab_simd::Isa::Baseline, &mut want_taps, &a, &taps);
            for t in [0.0f32, 0.25, 1.0 / 3.0, 0.999_999] {
                let mut want = vec![0f32; n];
                lerp_on(radlab_simd::Isa::Baseline, &mut want, &a, &b, t);
                for isa in radlab_simd::Isa::supported() {
                    let mut got = vec![0f32; n];
                    lerp_on(isa, &mut got, &a, &b, t);
                    assert_eq!(bits(&got), bits(&want), "{isa}, n={n}, t={t}");
                    lerp_taps_on(isa, &mut got, &a, &taps);
                    assert_eq!(bits(&got), bits(&want_taps), "{isa} taps, n={n}");
                }
            }
        }
    }

    use super::*;

    #[test]
    fn absurd_spacings_are_refused_before_allocating() {
        // 1e308 mm voxels to 1 mm: an infinite shape.
        let e = resampled_shape(
            [1, 512, 512],
            radlab_geometry::Spacing::new(1.0, 1e308, 1e308),
            radlab_geometry::Spacing::isotropic(1.0),
        )
        .unwrap_err();
        assert!(matches!(e, ImagingError::TooLarge(_)), "{e}");
        // 1000 mm voxels: 512 000 x 512 000 in plane, far past any budget.
        let e = resampled_shape(
            [4, 512, 512],
            radlab_geometry::Spacing::new(1.0, 1000.0, 1000.0),
            radlab_geometry::Spacing::isotropic(1.0),
        )
        .unwrap_err();
        assert!(e.to_string().contains("5.1200e5 x 5.1200e5"), "{e}");
        assert_eq!(
            resampled_shape(
                [10, 20, 20],
                radlab_geometry::Spacing::new(2.0, 0.5, 0.5),
                radlab_geometry::Spacing::isotropic(1.0)
            )
            .unwrap(),
            [20, 10, 10]
        );
    }
}
