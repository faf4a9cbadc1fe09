//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails the check whose message names the mistake.

use lab_gradcam::tasks::{
    Array2, Array3, ArrayView2, ArrayView3, REFERENCE, ScHeader, SourceImage, Tasks, inferno,
    reference,
};
use radlab_grade::mutant;

// ---- grad-cam ----

/// `w . A(i, j) / (h w)` without the ReLU: negative evidence kept.
fn no_relu(a: ArrayView3<'_, f32>, w: &[f64]) -> Array2<f64> {
    let (_, h, wd) = a.dim();
    Array2::from_shape_fn((h, wd), |(y, x)| {
        w.iter()
            .enumerate()
            .map(|(k, wk)| wk * f64::from(a[[k, y, x]]))
            .sum::<f64>()
            / (h * wd) as f64
    })
}

/// The channel weight taken as `w_k`, not the mean gradient `w_k / (h w)`.
fn no_grid_mean(a: ArrayView3<'_, f32>, w: &[f64]) -> Array2<f64> {
    let (_, h, wd) = a.dim();
    reference::grad_cam(a, w).mapv(|v| v * (h * wd) as f64)
}

/// The map of the other class: the row negated.
fn other_class(a: ArrayView3<'_, f32>, w: &[f64]) -> Array2<f64> {
    let neg: Vec<f64> = w.iter().map(|v| -v).collect();
    reference::grad_cam(a, &neg)
}

/// Channel weights from the activations (their means), not the class row.
fn activation_weights(a: ArrayView3<'_, f32>, _w: &[f64]) -> Array2<f64> {
    let means: Vec<f64> = a
        .outer_iter()
        .map(|c| c.iter().map(|&v| f64::from(v)).sum::<f64>() / c.len() as f64)
        .collect();
    reference::grad_cam(a, &means)
}

/// Rows and columns swapped on a non-square grid.
fn transposed(a: ArrayView3<'_, f32>, w: &[f64]) -> Array2<f64> {
    let m = reference::grad_cam(a, w);
    if m.nrows() == m.ncols() {
        m
    } else {
        m.t().to_owned()
    }
}

// ---- normalise ----

/// One min and max over the whole batch.
fn batch_wide(maps: ArrayView3<'_, f64>) -> Array3<f64> {
    let lo = maps.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = maps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi > lo {
        maps.mapv(|v| (v - lo) / (hi - lo))
    } else {
        Array3::zeros(maps.dim())
    }
}

/// MONAI 1.6.1's default normaliser: the maximum comes out 0.
fn inverted(maps: ArrayView3<'_, f64>) -> Array3<f64> {
    reference::normalise(maps).mapv(|v| 1.0 - v)
}

/// 0 / 0 on a constant map.
fn constant_nan(maps: ArrayView3<'_, f64>) -> Array3<f64> {
    let mut out = maps.to_owned();
    for mut m in out.outer_iter_mut() {
        let lo = m.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = m.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        m.mapv_inplace(|v| (v - lo) / (hi - lo));
    }
    out
}

// ---- upsample ----

/// align_corners = True.
fn corners_aligned(map: ArrayView2<'_, f64>, out: [usize; 2]) -> Array2<f64> {
    let (h, w) = map.dim();
    let src = |d: usize, n_in: usize, n_out: usize| {
        if n_out <= 1 {
            0.0
        } else {
            d as f64 * (n_in as f64 - 1.0) / (n_out as f64 - 1.0)
        }
    };
    Array2::from_shape_fn((out[0], out[1]), |(y, x)| {
        let (sy, sx) = (src(y, h, out[0]), src(x, w, out[1]));
        let (y0, x0) = (sy.floor() as usize, sx.floor() as usize);
        let (y1, x1) = ((y0 + 1).min(h - 1), (x0 + 1).min(w - 1));
        let (fy, fx) = (sy - y0 as f64, sx - x0 as f64);
        let top = map[[y0, x0]] * (1.0 - fx) + map[[y0, x1]] * fx;
        let bottom = map[[y1, x0]] * (1.0 - fx) + map[[y1, x1]] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

/// Nearest neighbour: blocks.
fn nearest(map: ArrayView2<'_, f64>, out: [usize; 2]) -> Array2<f64> {
    let (h, w) = map.dim();
    Array2::from_shape_fn((out[0], out[1]), |(y, x)| {
        map[[y * h / out[0], x * w / out[1]]]
    })
}

/// The coordinate before the first centre not clamped: extrapolated.
fn no_clamp(map: ArrayView2<'_, f64>, out: [usize; 2]) -> Array2<f64> {
    let (h, w) = map.dim();
    let src =
        |d: usize, n_in: usize, n_out: usize| (d as f64 + 0.5) * n_in as f64 / n_out as f64 - 0.5;
    Array2::from_shape_fn((out[0], out[1]), |(y, x)| {
        let (sy, sx) = (src(y, h, out[0]), src(x, w, out[1]));
        let (y0, x0) = (
            (sy.floor().max(0.0) as usize).min(h - 1),
            (sx.floor().max(0.0) as usize).min(w - 1),
        );
        let (y1, x1) = ((y0 + 1).min(h - 1), (x0 + 1).min(w - 1));
        let (fy, fx) = (sy - y0 as f64, sx - x0 as f64);
        let top = map[[y0, x0]] * (1.0 - fx) + map[[y0, x1]] * fx;
        let bottom = map[[y1, x0]] * (1.0 - fx) + map[[y1, x1]] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

// ---- overlay ----

/// An image library's B G R order.
fn bgr(gray: &[u8], heat: &[f64], alpha: f64) -> Vec<u8> {
    let mut v = reference::overlay(gray, heat, alpha);
    for px in v.chunks_mut(3) {
        px.swap(0, 2);
    }
    v
}

/// The opacity `alpha` everywhere, not `alpha * h`.
fn flat_alpha(gray: &[u8], heat: &[f64], alpha: f64) -> Vec<u8> {
    gray.iter()
        .zip(heat)
        .flat_map(|(&g, &h)| {
            let c = inferno(h);
            c.map(|k| ((1.0 - alpha) * f64::from(g) + alpha * f64::from(k)).round() as u8)
        })
        .collect()
}

/// No clamp: heat above 1 or below 0 used as it is.
fn unclamped(gray: &[u8], heat: &[f64], alpha: f64) -> Vec<u8> {
    gray.iter()
        .zip(heat)
        .flat_map(|(&g, &h)| {
            let a = alpha * h;
            let c = inferno(h);
            c.map(|k| ((1.0 - a) * f64::from(g) + a * f64::from(k)).round() as u8)
        })
        .collect()
}

// ---- sc-header ----

fn no_source(d: &str, s: &SourceImage) -> ScHeader {
    ScHeader {
        source_images: vec![],
        ..reference::sc_header(d, s)
    }
}

fn burned_in_no(d: &str, s: &SourceImage) -> ScHeader {
    ScHeader {
        burned_in_annotation: "NO".into(),
        ..reference::sc_header(d, s)
    }
}

/// The description first and the caution after it.
fn caution_last(d: &str, s: &SourceImage) -> ScHeader {
    ScHeader {
        series_description: format!("{d} ({})", lab_gradcam::types::CAUTION)
            .chars()
            .take(64)
            .collect(),
        ..reference::sc_header(d, s)
    }
}

/// Not cut to an LO's 64 characters.
fn too_long(d: &str, s: &SourceImage) -> ScHeader {
    ScHeader {
        series_description: format!("{} - {d}", lab_gradcam::types::CAUTION),
        ..reference::sc_header(d, s)
    }
}

fn original_primary(d: &str, s: &SourceImage) -> ScHeader {
    ScHeader {
        image_type: vec!["ORIGINAL".into(), "PRIMARY".into()],
        ..reference::sc_header(d, s)
    }
}

/// Mutants: (table, the check that must catch it, words its message must contain).
fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![
        (
            mutant!("gradcam-no-relu", grad_cam, no_relu),
            "gradcam/worked",
            "ReLU",
        ),
        (
            mutant!("gradcam-no-grid-mean", grad_cam, no_grid_mean),
            "gradcam/worked",
            "w_k / (h w)",
        ),
        (
            mutant!("gradcam-other-class", grad_cam, other_class),
            "gradcam/worked",
            "other class",
        ),
        (
            mutant!("gradcam-activation-weights", grad_cam, activation_weights),
            "gradcam/worked",
            "not something computed from the activations",
        ),
        (
            mutant!("gradcam-transposed", grad_cam, transposed),
            "gradcam/grid",
            "[h, w]",
        ),
        (
            mutant!("normalise-batch-wide", normalise, batch_wide),
            "normalise/worked",
            "each map on its own",
        ),
        (
            mutant!("normalise-inverted-monai", normalise, inverted),
            "normalise/worked",
            "default_normalizer",
        ),
        (
            mutant!("normalise-constant-nan", normalise, constant_nan),
            "normalise/worked",
            "NaN",
        ),
        (
            mutant!("upsample-align-corners", upsample, corners_aligned),
            "upsample/pytorch",
            "align_corners = True",
        ),
        (
            mutant!("upsample-nearest", upsample, nearest),
            "upsample/pytorch",
            "nearest-neighbour",
        ),
        (
            mutant!("upsample-no-clamp", upsample, no_clamp),
            "upsample/pytorch",
            "clamped at 0",
        ),
        (
            mutant!("overlay-bgr", overlay, bgr),
            "overlay/worked",
            "B G R",
        ),
        (
            mutant!("overlay-flat-alpha", overlay, flat_alpha),
            "overlay/worked",
            "heat 0 must show the image unchanged",
        ),
        (
            mutant!("overlay-unclamped", overlay, unclamped),
            "overlay/range",
            "1.5 as 1",
        ),
        (
            mutant!("sc-without-source-reference", sc_header, no_source),
            "sc/source-reference",
            "no Source Image Sequence",
        ),
        (
            mutant!("sc-burned-in-no", sc_header, burned_in_no),
            "sc/caution",
            "YES",
        ),
        (
            mutant!("sc-caution-last", sc_header, caution_last),
            "sc/caution",
            "must start with",
        ),
        (
            mutant!("sc-description-too-long", sc_header, too_long),
            "sc/caution",
            "at most 64",
        ),
        (
            mutant!("sc-original-primary", sc_header, original_primary),
            "sc/caution",
            "DERIVED",
        ),
    ]
}

radlab_grade::lab_grading_tests!(lab_gradcam, "lab-gradcam");
