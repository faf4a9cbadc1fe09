//! Explanation maps of radlab's nodule classifier, from its ONNX outputs
//! alone.
//!
//! The classifier ends in global average pooling and one linear layer:
//! `logit = w . mean_ij A(i, j) + b`, where `A` is the last convolution's
//! feature maps (the model's `features` output, `[c, h, w]`). So:
//!
//! * **CAM** (Zhou et al. 2016) is `M(i, j) = w . A(i, j) + b`; its mean over
//!   the plane is the logit itself ([`cam`]).
//! * **Grad-CAM** (Selvaraju et al. 2017) weighs channel `k` by the mean of
//!   `d logit / d A_k(i, j) = w_k / (h w)`, so it is
//!   `ReLU(w . A(i, j)) / (h w)`: CAM without the bias, scaled and
//!   rectified ([`grad_cam`]). No gradient has to be computed.
//! * The class row `(w, b)` is read from the outputs too: over many patches
//!   the logit is linear in the pooled features, so a least-squares fit
//!   recovers it exactly up to float noise ([`class_row`]).
//!
//! Maps are `[y, x]`, upsampled to a patch or image grid with
//! [`upsample_bilinear`] (PyTorch's `align_corners` convention made
//! explicit). [`occlusion`] is the model-agnostic second explainer and
//! [`spearman`] the rank correlation the sanity checks use. [`overlay`]
//! blends a normalised map onto a grey picture through [`inferno`].

use ndarray::{Array2, ArrayView2, ArrayView3, ArrayView4, Axis};

/// Why an explanation could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// Shapes that do not fit together.
    #[error("shape: {0}")]
    Shape(String),
    /// Too few patches, or patches too alike, to recover the class row.
    #[error("class row: {0}")]
    ClassRow(String),
    /// A non-finite value where a number is needed.
    #[error("not a number: {0}")]
    NotFinite(String),
}

/// The linear head `logit = w . pooled + b`, recovered from outputs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassRow {
    /// One weight per feature channel.
    pub weights: Vec<f64>,
    /// The bias.
    pub bias: f64,
    /// Largest |fitted - actual| logit over the patches used.
    pub max_residual: f64,
    /// Channels that were zero on every patch (their weight cannot be
    /// recovered and is set to 0: they add nothing to a map where they are
    /// zero too).
    pub silent_channels: Vec<usize>,
}

/// Global average of each channel: `[n, c, h, w] -> [n, c]`.
pub fn pooled(features: ArrayView4<'_, f32>) -> Array2<f64> {
    let (n, c, h, w) = features.dim();
    let mut out = Array2::<f64>::zeros((n, c));
    for i in 0..n {
        for k in 0..c {
            let s: f64 = features
                .slice(ndarray::s![i, k, .., ..])
                .iter()
                .map(|&v| f64::from(v))
                .sum();
            out[[i, k]] = s / (h * w) as f64;
        }
    }
    out
}

/// Recover the class row from `features` `[n, c, h, w]` and the `logits` of
/// the same `n` patches, by least squares on the pooled features (normal
/// equations in f64, solved by Gaussian elimination with partial pivoting:
/// written here because a `c + 1` unknown solve does not justify a
/// linear-algebra dependency). Needs `n > c` patches that differ.
// The normal equations are indexed by row and column on purpose: the
// arithmetic reads as the algebra does.
#[allow(clippy::needless_range_loop)]
pub fn class_row(features: ArrayView4<'_, f32>, logits: &[f64]) -> Result<ClassRow, ExplainError> {
    let (n, c, _, _) = features.dim();
    if logits.len() != n {
        return Err(ExplainError::Shape(format!(
            "{n} feature maps but {} logits",
            logits.len()
        )));
    }
    if logits.iter().any(|l| !l.is_finite()) {
        return Err(ExplainError::NotFinite("a logit".into()));
    }
    let x = pooled(features);
    let silent: Vec<usize> = (0..c)
        .filter(|&k| x.column(k).iter().all(|&v| v == 0.0))
        .collect();
    let live: Vec<usize> = (0..c).filter(|k| !silent.contains(k)).collect();
    let m = live.len() + 1;
    if n < m {
        return Err(ExplainError::ClassRow(format!(
            "{n} patches for {m} unknowns: give at least {m}"
        )));
    }
    // Normal equations [X 1]^T [X 1] beta = [X 1]^T y.
    let col = |i: usize, j: usize| if j < live.len() { x[[i, live[j]]] } else { 1.0 };
    let mut a = vec![vec![0.0f64; m + 1]; m];
    for i in 0..n {
        for r in 0..m {
            let xr = col(i, r);
            for s in 0..m {
                a[r][s] += xr * col(i, s);
            }
            a[r][m] += xr * logits[i];
        }
    }
    let scale = (0..m)
        .map(|r| a[r][r].abs())
        .fold(0.0, f64::max)
        .max(1e-300);
    for p in 0..m {
        let best = (p..m)
            .max_by(|&i, &j| a[i][p].abs().total_cmp(&a[j][p].abs()))
            .unwrap_or(p);
        a.swap(p, best);
        if a[p][p].abs() <= 1e-13 * scale {
            return Err(ExplainError::ClassRow(
                "the pooled features of the patches are linearly dependent: use more, and more varied, patches".into(),
            ));
        }
        for i in 0..m {
            if i != p {
                let f = a[i][p] / a[p][p];
                if f != 0.0 {
                    for j in p..=m {
                        a[i][j] -= f * a[p][j];
                    }
                }
            }
        }
    }
    let beta: Vec<f64> = (0..m).map(|r| a[r][m] / a[r][r]).collect();
    let mut weights = vec![0.0; c];
    for (j, &k) in live.iter().enumerate() {
        weights[k] = beta[j];
    }
    let bias = beta[m - 1];
    let max_residual = (0..n)
        .map(|i| {
            let f: f64 = (0..c).map(|k| weights[k] * x[[i, k]]).sum::<f64>() + bias;
            (f - logits[i]).abs()
        })
        .fold(0.0, f64::max);
    Ok(ClassRow {
        weights,
        bias,
        max_residual,
        silent_channels: silent,
    })
}

fn weighted(features: ArrayView3<'_, f32>, weights: &[f64]) -> Result<Array2<f64>, ExplainError> {
    let (c, h, w) = features.dim();
    if weights.len() != c {
        return Err(ExplainError::Shape(format!(
            "{c} feature channels but {} weights",
            weights.len()
        )));
    }
    let mut m = Array2::<f64>::zeros((h, w));
    for (k, a) in features.axis_iter(Axis(0)).enumerate() {
        let wk = weights[k];
        m.zip_mut_with(&a, |o, &v| *o += wk * f64::from(v));
    }
    Ok(m)
}

/// Class activation map of one patch: `w . A(i, j) + b` over the feature
/// grid `[h, w]` (MONAI's `CAM` with its fully connected layer; the bias is
/// included, so the map's mean is the logit).
///
/// ```
/// use ndarray::Array3;
/// let a = Array3::<f32>::from_shape_fn((2, 2, 2), |(k, y, x)| (k + y + x) as f32);
/// let m = radlab_explain::cam(a.view(), &[1.0, -0.5], 0.25).unwrap();
/// assert_eq!(m[[1, 1]], 2.0 - 0.5 * 3.0 + 0.25);
/// ```
pub fn cam(
    features: ArrayView3<'_, f32>,
    weights: &[f64],
    bias: f64,
) -> Result<Array2<f64>, ExplainError> {
    Ok(weighted(features, weights)? + bias)
}

/// Grad-CAM of one patch for a global-average-pool + linear head:
/// `ReLU(w . A(i, j)) / (h w)`, the channel weights being the mean gradient
/// `w_k / (h w)`. Equal to MONAI's `GradCAM` before post-processing.
pub fn grad_cam(
    features: ArrayView3<'_, f32>,
    weights: &[f64],
) -> Result<Array2<f64>, ExplainError> {
    let (_, h, w) = features.dim();
    let n = (h * w) as f64;
    Ok(weighted(features, weights)?.mapv(|v| v.max(0.0) / n))
}

/// Bilinear upsampling of `map` `[h, w]` to `[oh, ow]`. With
/// `align_corners = false` (PyTorch's and MONAI's default) pixel centres
/// line up: source coordinate `(d + 0.5) * h / oh - 0.5`, clamped at 0.
/// With `true` the corner pixels line up: `d * (h - 1) / (oh - 1)`.
pub fn upsample_bilinear(
    map: ArrayView2<'_, f64>,
    out: [usize; 2],
    align_corners: bool,
) -> Array2<f64> {
    let (h, w) = map.dim();
    if h == 0 || w == 0 {
        return Array2::zeros((out[0], out[1]));
    }
    // Per output row and column: the two source indices and the weight of
    // the second, computed once per axis rather than once per pixel.
    let taps = |n_in: usize, n_out: usize| -> Vec<(usize, usize, f64)> {
        (0..n_out)
            .map(|d| {
                let s = if align_corners {
                    if n_out <= 1 {
                        0.0
                    } else {
                        d as f64 * (n_in as f64 - 1.0) / (n_out as f64 - 1.0)
                    }
                } else {
                    ((d as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5).max(0.0)
                };
                let i0 = (s.floor() as usize).min(n_in - 1);
                ((i0), (i0 + 1).min(n_in - 1), s - i0 as f64)
            })
            .collect()
    };
    let (ty, tx) = (taps(h, out[0]), taps(w, out[1]));
    // Separable: every source row interpolated along x once, then output
    // rows blended from two of those. The same products and sums as
    // interpolating each output pixel from its four neighbours.
    let across: Vec<Vec<f64>> = map
        .rows()
        .into_iter()
        .map(|r| {
            tx.iter()
                .map(|&(x0, x1, fx)| r[x0] * (1.0 - fx) + r[x1] * fx)
                .collect()
        })
        .collect();
    let mut data = Vec::with_capacity(out[0] * out[1]);
    for &(y0, y1, fy) in &ty {
        let (top, bottom) = (&across[y0], &across[y1]);
        data.extend(top.iter().zip(bottom).map(|(t, b)| t * (1.0 - fy) + b * fy));
    }
    Array2::from_shape_vec((out[0], out[1]), data).expect("rows x cols values")
}

/// `(v - min) / (max - min)` per map: 0 at the least and 1 at the most
/// salient place; all zeros for a constant map.
pub fn normalise(map: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut m = map.to_owned();
    normalise_in_place(&mut m);
    m
}

/// [`normalise`] without a second array: the map is scaled where it is.
///
/// ```
/// let mut m = ndarray::array![[2.0, 4.0], [3.0, 6.0]];
/// radlab_explain::normalise_in_place(&mut m);
/// assert_eq!(m, ndarray::array![[0.0, 0.5], [0.25, 1.0]]);
/// ```
pub fn normalise_in_place(map: &mut Array2<f64>) {
    let lo = map.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = map.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        map.fill(0.0);
        return;
    }
    map.mapv_inplace(|v| (v - lo) / (hi - lo));
}

/// MONAI 1.6.1's `default_normalizer`: `ScaleIntensity(minv=1.0, maxv=0.0)`,
/// i.e. `1 - normalise(map)`. It maps the maximum to 0 and so inverts the
/// map: the most salient place comes out darkest unless the colormap is
/// reversed too. Kept for the parity fixture; radlab uses [`normalise`].
pub fn monai_default_normalizer(map: ArrayView2<'_, f64>) -> Array2<f64> {
    let lo = map.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = map.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        // ScaleIntensity on a constant image returns it times minv: here, itself.
        return map.to_owned();
    }
    map.mapv(|v| 1.0 - (v - lo) / (hi - lo))
}

/// The heat colormap: colorous' `INFERNO`, perceptually uniform from black
/// through red to pale yellow, so equal steps of saliency look like equal
/// steps of colour (a rainbow "jet" invents edges where there are none).
/// As a display uses it, as 256 colours: `t` (clamped to `[0, 1]`, NaN as
/// 0) picks colour `round(255 t)` of colorous' spline sampled at `i / 255`
/// (within 1 of matplotlib's 256-colour table, tests/maps.rs).
/// Returns `[r, g, b]`.
///
/// ```
/// assert_eq!(radlab_explain::inferno(0.0), [0, 0, 4]);
/// assert_eq!(radlab_explain::inferno(2.0), radlab_explain::inferno(1.0));
/// ```
pub fn inferno(t: f64) -> [u8; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    table()[round_non_negative(t * 255.0) as usize & 255]
}

/// colorous' 256 inferno colours. A table, not colorous' spline per pixel:
/// the overlay of a batch of maps must stay small next to the classifier's
/// forward (`cargo xtask bench`, the Grad-CAM row).
fn table() -> &'static [[u8; 3]; 256] {
    static TABLE: std::sync::OnceLock<[[u8; 3]; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|i| {
            let c = colorous::INFERNO.eval_rational(i, 256);
            [c.r, c.g, c.b]
        })
    })
}

/// `x.round()` for `0 <= x < 2^31`, written out: on the baseline x86-64
/// target `f64::round` is a library call, four of them per overlay pixel.
/// Halves round up, as `round` does for non-negative numbers.
#[inline]
fn round_non_negative(x: f64) -> i32 {
    // i32, not u64: SSE2 converts doubles to 32-bit signed integers two at
    // a time, and to unsigned ones in several instructions each.
    let t = x as i32;
    t + i32::from(x - f64::from(t) >= 0.5)
}

/// The blend of a heat map onto a grey picture: opacity `alpha * h`,
/// colour `inferno(h)`, `h` clamped to `[0, 1]` (NaN as 0); RGB bytes,
/// `R G B R G B ...`, one triple per grey pixel: each channel
/// `round((1 - a) * grey + a * colour)`.
///
/// ```
/// let rgb = radlab_explain::overlay(&[100, 100], &[0.0, 1.0], 1.0);
/// assert_eq!(&rgb[..3], &[100, 100, 100]);
/// assert_eq!(&rgb[3..], &radlab_explain::inferno(1.0));
/// ```
pub fn overlay(gray: &[u8], heat: &[f64], alpha: f64) -> Vec<u8> {
    let table = table();
    let n = gray.len().min(heat.len());
    let mut out = vec![0u8; n * 3];
    // In blocks, in two passes: the clamp, opacity and colour index of a
    // block first (no lookups, so the compiler vectorises it), then the
    // lookups and the blend.
    const B: usize = 64;
    let (mut a, mut idx) = ([0.0f64; B], [0i32; B]);
    for ((o, g), h) in out
        .chunks_mut(3 * B)
        .zip(gray[..n].chunks(B))
        .zip(heat[..n].chunks(B))
    {
        for ((ai, ii), &h) in a.iter_mut().zip(idx.iter_mut()).zip(h) {
            let h = if h.is_nan() { 0.0 } else { h.clamp(0.0, 1.0) };
            *ai = alpha * h;
            *ii = round_non_negative(h * 255.0);
        }
        for (((px, &g), &ai), &ii) in o.chunks_exact_mut(3).zip(g).zip(&a).zip(&idx) {
            if ai == 0.0 {
                // (1 - 0) g + 0 k = g exactly: where the map is zero (much
                // of a rectified map) the image shows through.
                px.fill(g);
                continue;
            }
            let c = table[(ii & 255) as usize];
            let base = (1.0 - ai) * f64::from(g);
            for (o, k) in px.iter_mut().zip(c) {
                // Between 0 and 255 whenever alpha is in [0, 1].
                let v = (base + ai * f64::from(k)).clamp(0.0, 255.0);
                *o = round_non_negative(v) as u8;
            }
        }
    }
    out
}

/// A model as [`occlusion`] sees it: images `[n, y, x]` in, one score each out.
pub type Scorer<'a> = dyn FnMut(ArrayView3<'_, f32>) -> Result<Vec<f64>, ExplainError> + 'a;

/// Occlusion sensitivity of one `[y, x]` image: slide a `size x size`
/// square by `stride`, fill it with `fill`, score every occluded copy with
/// `score` (a batch in, one score each out), and give each pixel the mean
/// drop `base - occluded` over the squares that covered it. Model-agnostic:
/// it needs only the score.
pub fn occlusion(
    image: ArrayView2<'_, f32>,
    size: usize,
    stride: usize,
    fill: f32,
    score: &mut Scorer<'_>,
) -> Result<Array2<f64>, ExplainError> {
    let (h, w) = image.dim();
    if size == 0 || stride == 0 || size > h || size > w {
        return Err(ExplainError::Shape(format!(
            "occlusion square {size} with stride {stride} on a {h} x {w} image"
        )));
    }
    let starts = |n: usize| -> Vec<usize> {
        let mut v: Vec<usize> = (0..=n - size).step_by(stride).collect();
        if *v.last().unwrap_or(&0) != n - size {
            v.push(n - size);
        }
        v
    };
    let (ys, xs) = (starts(h), starts(w));
    let mut batch = ndarray::Array3::<f32>::zeros((1 + ys.len() * xs.len(), h, w));
    batch.index_axis_mut(Axis(0), 0).assign(&image);
    let mut k = 1;
    for &y in &ys {
        for &x in &xs {
            let mut b = batch.index_axis_mut(Axis(0), k);
            b.assign(&image);
            b.slice_mut(ndarray::s![y..y + size, x..x + size])
                .fill(fill);
            k += 1;
        }
    }
    let s = score(batch.view())?;
    if s.len() != batch.len_of(Axis(0)) {
        return Err(ExplainError::Shape(format!(
            "{} images scored, {} scores back",
            batch.len_of(Axis(0)),
            s.len()
        )));
    }
    let (mut sum, mut count) = (Array2::<f64>::zeros((h, w)), Array2::<f64>::zeros((h, w)));
    let mut k = 1;
    for &y in &ys {
        for &x in &xs {
            let drop = s[0] - s[k];
            sum.slice_mut(ndarray::s![y..y + size, x..x + size])
                .mapv_inplace(|v| v + drop);
            count
                .slice_mut(ndarray::s![y..y + size, x..x + size])
                .mapv_inplace(|v| v + 1.0);
            k += 1;
        }
    }
    Ok(sum / count)
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = mid;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation of two equally long samples (ties get their
/// mean rank, as scipy.stats.spearmanr does); NaN when either is constant.
///
/// ```
/// let r = radlab_explain::spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 20.0, 40.0]);
/// assert!((r - 0.9486832980505138).abs() < 1e-12);
/// ```
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() || a.len() < 2 {
        return f64::NAN;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        return f64::NAN;
    }
    sab / (saa * sbb).sqrt()
}
