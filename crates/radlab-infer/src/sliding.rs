//! Sliding-window inference over a volume, with the semantics of MONAI's
//! `sliding_window_inference` (1.6.1): the same padding, window positions,
//! window order, importance maps and blending, so the two agree to float
//! rounding on the same model and input.
//!
//! Volumes are `[z, y, x]` (one channel); outputs are `[channel, z, y, x]`
//! on the same grid, so the input's spacing (mm) applies unchanged.

use ndarray::{Array3, Array4, Array5, ArrayView3, ArrayView5, Axis, Zip, s};

use crate::InferError;

/// How overlapping windows are combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Blend {
    /// Every voxel of a window weighs 1 (MONAI `mode="constant"`).
    Constant,
    /// A Gaussian centred on the window, sigma = `sigma_scale` x window size
    /// per axis, floored at max(min, 1e-3) (MONAI `mode="gaussian"`,
    /// `sigma_scale=0.125` by default).
    Gaussian {
        /// Sigma as a fraction of the window size.
        sigma_scale: f64,
    },
}

/// A model as sliding windows see it: `[batch, 1, z, y, x]` in,
/// `[batch, channels, z, y, x]` out.
pub type Predictor<'a> = dyn FnMut(ArrayView5<'_, f32>) -> Result<Array5<f32>, InferError> + 'a;

/// Sliding-window settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SlidingWindow {
    /// Window size `[z, y, x]` in voxels; 0 means the whole axis.
    pub roi: [usize; 3],
    /// Fraction of a window shared with its neighbour, `0 <= overlap < 1`.
    pub overlap: f64,
    /// Blending of overlapping windows.
    pub blend: Blend,
    /// Windows per forward call.
    pub batch: usize,
    /// Value used to pad a volume smaller than the window.
    pub pad_value: f32,
}

impl Default for SlidingWindow {
    fn default() -> Self {
        SlidingWindow {
            roi: [64, 128, 128],
            overlap: 0.25,
            blend: Blend::Constant,
            batch: 1,
            pad_value: 0.0,
        }
    }
}

/// Scan interval per axis: `int(roi * (1 - overlap))`, at least 1, or the
/// window size when the window covers the whole axis.
pub fn scan_interval(image: [usize; 3], roi: [usize; 3], overlap: f64) -> [usize; 3] {
    let mut out = [0; 3];
    for i in 0..3 {
        out[i] = if roi[i] == image[i] {
            roi[i]
        } else {
            (((roi[i] as f64) * (1.0 - overlap)) as usize).max(1)
        };
    }
    out
}

/// Window start positions `[z, y, x]` in MONAI's order (z slowest). The last
/// window on each axis is moved back so it ends at the edge.
///
/// ```
/// # use radlab_infer::sliding::window_starts;
/// // 160 x 256 x 256 with 64 x 128 x 128 windows, overlap 0.25: 27 windows.
/// let starts = window_starts([160, 256, 256], [64, 128, 128], 0.25);
/// assert_eq!(starts.len(), 27);
/// assert_eq!(starts[1], [0, 0, 96]);
/// assert_eq!(starts[26], [96, 128, 128]);
/// ```
pub fn window_starts(image: [usize; 3], roi: [usize; 3], overlap: f64) -> Vec<[usize; 3]> {
    let roi = valid_roi(image, roi);
    let interval = scan_interval(image, roi, overlap);
    let per_axis: Vec<Vec<usize>> = (0..3)
        .map(|i| {
            let num = image[i].div_ceil(interval[i]);
            let count = (0..num)
                .find(|d| d * interval[i] + roi[i] >= image[i])
                .map_or(1, |d| d + 1);
            (0..count)
                .map(|d| {
                    let start = d * interval[i];
                    start - (start + roi[i]).saturating_sub(image[i])
                })
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    for &z in &per_axis[0] {
        for &y in &per_axis[1] {
            for &x in &per_axis[2] {
                out.push([z, y, x]);
            }
        }
    }
    out
}

fn valid_roi(image: [usize; 3], roi: [usize; 3]) -> [usize; 3] {
    let mut out = roi;
    for i in 0..3 {
        if out[i] == 0 {
            out[i] = image[i];
        }
        out[i] = out[i].min(image[i]);
    }
    out
}

/// The weight of each voxel of a window, computed in f32 as MONAI does.
pub fn importance_map(roi: [usize; 3], blend: Blend) -> Array3<f32> {
    match blend {
        Blend::Constant => Array3::ones(roi),
        Blend::Gaussian { sigma_scale } => {
            let axes: Vec<Vec<f32>> = roi
                .iter()
                .map(|&n| {
                    let sigma = n as f64 * sigma_scale;
                    let denom = (-2.0 * sigma * sigma) as f32;
                    let start = -((n as f32) - 1.0) / 2.0;
                    (0..n)
                        .map(|k| {
                            let x = start + k as f32;
                            (x * x / denom).exp()
                        })
                        .collect()
                })
                .collect();
            let mut map =
                Array3::from_shape_fn(roi, |(z, y, x)| axes[0][z] * axes[1][y] * axes[2][x]);
            let min = map.iter().copied().fold(f32::INFINITY, f32::min);
            let floor = (min as f64).max(1e-3) as f32;
            map.mapv_inplace(|v| v.max(floor));
            map
        }
    }
}

impl SlidingWindow {
    /// Check the settings.
    pub fn validate(&self) -> Result<(), InferError> {
        if !(0.0..1.0).contains(&self.overlap) {
            return Err(InferError::Settings(format!(
                "overlap must be >= 0 and < 1, got {}",
                self.overlap
            )));
        }
        if let Blend::Gaussian { sigma_scale } = self.blend
            && !(sigma_scale > 0.0 && sigma_scale.is_finite())
        {
            return Err(InferError::Settings(format!(
                "sigma_scale must be positive, got {sigma_scale}"
            )));
        }
        Ok(())
    }

    /// Run `predictor` over every window of `volume` (`[z, y, x]`) and blend
    /// the results into `[channel, z, y, x]`.
    ///
    /// `predictor` receives `[batch, 1, rz, ry, rx]` and must return
    /// `[batch, channels, rz, ry, rx]`. `progress` gets (done, total)
    /// windows after each call.
    ///
    /// ```
    /// # use radlab_infer::sliding::{SlidingWindow, Blend};
    /// # use ndarray::Array3;
    /// let volume = Array3::from_shape_fn((10, 12, 9), |(z, y, x)| (z * 100 + y * 10 + x) as f32);
    /// let sw = SlidingWindow { roi: [4, 8, 16], overlap: 0.5, blend: Blend::Gaussian { sigma_scale: 0.125 },
    ///     batch: 3, pad_value: 0.0 };
    /// // The identity model gives back its input, whatever the blending.
    /// let out = sw.run(volume.view(), &mut |w| Ok(w.to_owned()), &mut |_, _| {}).unwrap();
    /// for (a, b) in out.index_axis(ndarray::Axis(0), 0).iter().zip(volume.iter()) {
    ///     assert!((a - b).abs() <= 1e-3 * b.abs().max(1.0));
    /// }
    /// ```
    pub fn run(
        &self,
        volume: ArrayView3<'_, f32>,
        predictor: &mut Predictor<'_>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Array4<f32>, InferError> {
        self.validate()?;
        let original = [volume.dim().0, volume.dim().1, volume.dim().2];
        if original.contains(&0) {
            return Err(InferError::Settings(format!(
                "cannot slide a window over an empty volume {original:?}"
            )));
        }
        let roi_req = {
            let mut r = self.roi;
            for i in 0..3 {
                if r[i] == 0 {
                    r[i] = original[i];
                }
            }
            r
        };
        // Pad (constant) so every axis is at least the window size; the
        // smaller half goes before, as in MONAI.
        let mut before = [0usize; 3];
        let mut image = original;
        for i in 0..3 {
            let diff = roi_req[i].saturating_sub(original[i]);
            before[i] = diff / 2;
            image[i] = original[i] + diff;
        }
        let padded;
        let input = if image == original {
            volume
        } else {
            let mut p = Array3::from_elem(image, self.pad_value);
            p.slice_mut(s![
                before[0]..before[0] + original[0],
                before[1]..before[1] + original[1],
                before[2]..before[2] + original[2]
            ])
            .assign(&volume);
            padded = p;
            padded.view()
        };
        let roi = valid_roi(image, roi_req);
        let starts = window_starts(image, roi, self.overlap);
        let weights = importance_map(roi, self.blend);
        let total = starts.len();
        let batch = self.batch.max(1);
        let mut output: Option<Array4<f32>> = None;
        let constant = self.blend == Blend::Constant;
        let mut count = if constant {
            Array3::<f32>::zeros((0, 0, 0))
        } else {
            Array3::<f32>::zeros(image)
        };
        let mut done = 0;
        let mut buffer: Option<Array5<f32>> = None;
        for chunk in starts.chunks(batch) {
            let windows = match buffer.take() {
                Some(b) if b.dim().0 == chunk.len() => b,
                _ => Array5::<f32>::zeros((chunk.len(), 1, roi[0], roi[1], roi[2])),
            };
            let mut windows = windows;
            for (k, st) in chunk.iter().enumerate() {
                windows
                    .slice_mut(s![k, 0, .., .., ..])
                    .assign(&input.slice(s![
                        st[0]..st[0] + roi[0],
                        st[1]..st[1] + roi[1],
                        st[2]..st[2] + roi[2]
                    ]));
            }
            let pred = predictor(windows.view())?;
            buffer = Some(windows);
            let pd = pred.dim();
            if pd.0 != chunk.len() || [pd.2, pd.3, pd.4] != roi || pd.1 == 0 {
                return Err(InferError::Settings(format!(
                    "the model returned {:?} for {} windows of {roi:?}; sliding-window blending needs [windows, channels, {}, {}, {}]",
                    pred.shape(),
                    chunk.len(),
                    roi[0],
                    roi[1],
                    roi[2]
                )));
            }
            let out =
                output.get_or_insert_with(|| Array4::zeros((pd.1, image[0], image[1], image[2])));
            if out.dim().0 != pd.1 {
                return Err(InferError::Settings(
                    "the model's channel count changed between windows".into(),
                ));
            }
            for (k, st) in chunk.iter().enumerate() {
                let region = s![
                    st[0]..st[0] + roi[0],
                    st[1]..st[1] + roi[1],
                    st[2]..st[2] + roi[2]
                ];
                for c in 0..pd.1 {
                    let p = pred.slice(s![k, c, .., .., ..]);
                    accumulate(
                        out.index_axis_mut(Axis(0), c).slice_mut(region),
                        p,
                        if constant { None } else { Some(weights.view()) },
                    );
                }
                if !constant {
                    accumulate(count.slice_mut(region), weights.view(), None);
                }
            }
            done += chunk.len();
            progress(done, total);
        }
        let mut out = output.expect("at least one window");
        if constant {
            // Every weight is 1: the count is the number of windows covering
            // a voxel, the product of the per-axis coverage counts.
            let cover: Vec<Vec<f32>> = (0..3)
                .map(|i| {
                    let mut c = vec![0.0f32; image[i]];
                    let mut axis_starts: Vec<usize> = starts.iter().map(|s| s[i]).collect();
                    axis_starts.sort_unstable();
                    axis_starts.dedup();
                    for s0 in axis_starts {
                        for v in &mut c[s0..s0 + roi[i]] {
                            *v += 1.0;
                        }
                    }
                    c
                })
                .collect();
            use rayon::prelude::*;
            for mut channel in out.axis_iter_mut(Axis(0)) {
                let planes: Vec<_> = channel.axis_iter_mut(Axis(0)).collect();
                planes
                    .into_par_iter()
                    .enumerate()
                    .for_each(|(z, mut plane)| {
                        for (y, mut row) in plane.axis_iter_mut(Axis(0)).enumerate() {
                            let zy = cover[0][z] * cover[1][y];
                            for (o, cx) in row.iter_mut().zip(&cover[2]) {
                                *o /= zy * cx;
                            }
                        }
                    });
            }
        } else {
            for mut channel in out.axis_iter_mut(Axis(0)) {
                Zip::from(&mut channel)
                    .and(&count)
                    .par_for_each(|o, &c| *o /= c);
            }
        }
        if image == original {
            return Ok(out);
        }
        Ok(out
            .slice(s![
                ..,
                before[0]..before[0] + original[0],
                before[1]..before[1] + original[1],
                before[2]..before[2] + original[2]
            ])
            .to_owned())
    }
}

/// `out += pred * weights` (or `out += pred` without weights), row by row
/// over contiguous x runs, planes in parallel.
fn accumulate(
    mut out: ndarray::ArrayViewMut3<'_, f32>,
    pred: ArrayView3<'_, f32>,
    weights: Option<ArrayView3<'_, f32>>,
) {
    use rayon::prelude::*;
    let planes: Vec<_> = out.axis_iter_mut(Axis(0)).collect();
    planes
        .into_par_iter()
        .enumerate()
        .for_each(|(z, mut plane)| {
            for (y, mut row) in plane.axis_iter_mut(Axis(0)).enumerate() {
                let p = pred.slice(s![z, y, ..]);
                match (row.as_slice_mut(), p.as_slice(), weights) {
                    (Some(o), Some(p), None) => {
                        for (o, v) in o.iter_mut().zip(p) {
                            *o += v;
                        }
                    }
                    (Some(o), Some(p), Some(w)) => match w.slice(s![z, y, ..]).to_slice() {
                        Some(w) => {
                            for ((o, v), w) in o.iter_mut().zip(p).zip(w) {
                                *o += v * w;
                            }
                        }
                        None => {
                            let w = w.slice(s![z, y, ..]);
                            for ((o, v), w) in o.iter_mut().zip(p).zip(w.iter()) {
                                *o += v * w;
                            }
                        }
                    },
                    _ => {
                        let w = weights.map(|w| w.slice_move(s![z, y, ..]));
                        for (x, o) in row.iter_mut().enumerate() {
                            *o += p[x] * w.as_ref().map_or(1.0, |w| w[x]);
                        }
                    }
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_cover_every_voxel_and_stay_inside() {
        for (image, roi, overlap) in [
            ([160, 256, 256], [64, 128, 128], 0.25),
            ([7, 33, 20], [3, 10, 20], 0.5),
            ([5, 5, 5], [5, 2, 1], 0.0),
        ] {
            let starts = window_starts(image, roi, overlap);
            let mut hit = Array3::<u8>::zeros(image);
            for st in &starts {
                for i in 0..3 {
                    assert!(st[i] + roi[i] <= image[i]);
                }
                hit.slice_mut(s![
                    st[0]..st[0] + roi[0],
                    st[1]..st[1] + roi[1],
                    st[2]..st[2] + roi[2]
                ])
                .fill(1);
            }
            assert!(hit.iter().all(|&h| h == 1));
        }
    }

    #[test]
    fn gaussian_map_peaks_at_the_centre_and_is_symmetric() {
        let map = importance_map([5, 8, 9], Blend::Gaussian { sigma_scale: 0.125 });
        assert_eq!(map[[2, 3, 4]], map[[2, 4, 4]]);
        assert!(map[[2, 3, 4]] > map[[0, 0, 0]]);
        assert!(map.iter().all(|&v| v >= 1e-3));
        assert_eq!(map[[0, 3, 4]], map[[4, 3, 4]]);
    }

    #[test]
    fn bad_overlap_is_refused() {
        let sw = SlidingWindow {
            overlap: 1.0,
            ..Default::default()
        };
        let v = Array3::<f32>::zeros((2, 2, 2));
        assert!(
            sw.run(v.view(), &mut |w| Ok(w.to_owned()), &mut |_, _| {})
                .is_err()
        );
    }
}
