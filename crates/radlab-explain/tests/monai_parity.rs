//! radlab's CAM and Grad-CAM of the bundled classifier against MONAI
//! 1.6.1's on the same network (fixture: sample_data/fixtures/cam, made by
//! tools/results/make_cam_fixture.py), and the class row recovered from the
//! ONNX outputs against the initializers the ONNX file holds.

use ndarray::{Array2, Array4, ArrayD, Axis, Ix2, Ix4, s};
use ndarray_npy::read_npy;
use radlab_explain::{
    cam, class_row, grad_cam, monai_default_normalizer, normalise, upsample_bilinear,
};
use rand::{Rng, SeedableRng};

fn fixture(name: &str) -> ArrayD<f32> {
    let p = radlab_eval::sample_data_dir()
        .join("fixtures/cam")
        .join(name);
    read_npy::<_, ArrayD<f32>>(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn model() -> radlab_infer::Model {
    radlab_infer::Model::load(
        &radlab_eval::models_dir().join("nodule_classifier.toml"),
        &radlab_infer::ModelOptions::default(),
    )
    .unwrap()
}

/// Logits and features of windowed patches `[n, 1, 32, 32]`.
fn forward(m: &mut radlab_infer::Model, x: &Array4<f32>) -> (Vec<f64>, Array4<f32>) {
    let out = m.run(x.view().into_dyn()).unwrap();
    let logits = out[0].iter().map(|&v| f64::from(v)).collect();
    (logits, out[1].clone().into_dimensionality::<Ix4>().unwrap())
}

/// The fixture's patches and 56 more seeded ones (noise and blobs), enough
/// to pin 33 unknowns.
fn many_patches() -> Array4<f32> {
    let fx = fixture("inputs.npy").into_dimensionality::<Ix4>().unwrap();
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(20261203);
    let extra = Array4::from_shape_fn((56, 1, 32, 32), |_| 0.0f32);
    let mut all = ndarray::concatenate(Axis(0), &[fx.view(), extra.view()]).unwrap();
    for i in 8..64 {
        let (cy, cx, rad, amp) = (
            r.random_range(2.0..30.0),
            r.random_range(2.0..30.0),
            r.random_range(1.0..9.0),
            r.random_range(0.1..0.9),
        );
        let base: f64 = r.random_range(0.0..0.5);
        for y in 0..32 {
            for x in 0..32 {
                let d2 = (y as f64 - cy).powi(2) + (x as f64 - cx).powi(2);
                let v = base + amp * (-d2 / (2.0 * rad * rad)).exp() + 0.05 * r.random::<f64>();
                all[[i, 0, y, x]] = v.clamp(0.0, 1.0) as f32;
            }
        }
    }
    all
}

fn max_abs(a: &Array2<f64>, b: ndarray::ArrayView2<'_, f32>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - f64::from(*y)).abs())
        .fold(0.0, f64::max)
}

#[test]
fn the_class_row_comes_back_from_the_outputs() {
    let mut m = model();
    let (logits, feats) = forward(&mut m, &many_patches());
    let row = class_row(feats.view(), &logits).unwrap();
    let w = fixture("head_weight.npy");
    let b = fixture("head_bias.npy");
    let worst = row
        .weights
        .iter()
        .zip(w.iter())
        .enumerate()
        .filter(|(k, _)| !row.silent_channels.contains(k))
        .map(|(_, (a, b))| (a - f64::from(*b)).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "class row from 64 patches: max |w - head.weight| = {worst:.2e}, |b - head.bias| = {:.2e}, max residual {:.2e}, silent channels {:?}",
        (row.bias - f64::from(b[[0]])).abs(),
        row.max_residual,
        row.silent_channels
    );
    assert!(worst < 2e-3, "{worst}");
    assert!((row.bias - f64::from(b[[0]])).abs() < 2e-3);
    assert!(row.max_residual < 1e-4, "{}", row.max_residual);
}

#[test]
fn cam_and_grad_cam_match_monai() {
    let mut m = model();
    let x = fixture("inputs.npy").into_dimensionality::<Ix4>().unwrap();
    let (logits, feats) = forward(&mut m, &x);
    let w: Vec<f64> = fixture("head_weight.npy")
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let b = f64::from(fixture("head_bias.npy")[[0]]);
    let (cam_raw, cam_norm, grad_raw, grad_norm) = (
        fixture("monai_cam_raw.npy")
            .into_dimensionality::<Ix4>()
            .unwrap(),
        fixture("monai_cam.npy")
            .into_dimensionality::<Ix4>()
            .unwrap(),
        fixture("monai_gradcam_raw.npy")
            .into_dimensionality::<Ix4>()
            .unwrap(),
        fixture("monai_gradcam.npy")
            .into_dimensionality::<Ix4>()
            .unwrap(),
    );
    let mut worst = [0.0f64; 4];
    for (i, &logit) in logits.iter().enumerate() {
        let a = feats.index_axis(Axis(0), i);
        let c = cam(a, &w, b).unwrap();
        // The map's mean is the logit: global average pooling commutes with the linear head.
        let mean = c.mean().unwrap();
        assert!((mean - logit).abs() < 1e-4, "patch {i}: {mean} vs {logit}");
        let g = grad_cam(a, &w).unwrap();
        // Grad-CAM = ReLU(CAM - b) / (h w) for this head.
        for (gv, cv) in g.iter().zip(c.iter()) {
            assert!((gv - (cv - b).max(0.0) / 64.0).abs() < 1e-12);
        }
        let cu = upsample_bilinear(c.view(), [32, 32], false);
        let gu = upsample_bilinear(g.view(), [32, 32], false);
        worst[0] = worst[0].max(max_abs(&cu, cam_raw.slice(s![i, 0, .., ..])));
        worst[1] = worst[1].max(max_abs(
            &monai_default_normalizer(cu.view()),
            cam_norm.slice(s![i, 0, .., ..]),
        ));
        // MONAI's raw Grad-CAM of a batch of n is n times the per-patch map:
        // its class score `logits[:, class_idx]` with one index per sample
        // is an n x n block, whose sum counts every logit n times. The
        // normalised maps do not see the factor.
        let n = x.len_of(Axis(0)) as f64;
        worst[2] = worst[2].max(max_abs(&(&gu * n), grad_raw.slice(s![i, 0, .., ..])));
        if gu.iter().any(|&v| v > 1e-3) {
            assert!(max_abs(&gu, grad_raw.slice(s![i, 0, .., ..])) > 1e-2);
        }
        worst[3] = worst[3].max(max_abs(
            &monai_default_normalizer(gu.view()),
            grad_norm.slice(s![i, 0, .., ..]),
        ));
        // MONAI's normaliser inverts: its darkest pixel is radlab's brightest.
        let ours = normalise(cu.view());
        let argmax = |a: &Array2<f64>| {
            a.indexed_iter()
                .max_by(|x, y| x.1.total_cmp(y.1))
                .map(|(p, _)| p)
                .unwrap()
        };
        let monai = cam_norm.slice(s![i, 0, .., ..]).mapv(|v| -f64::from(v));
        assert_eq!(argmax(&ours), argmax(&monai), "patch {i}");
        // align_corners = true is another map.
        let corners = upsample_bilinear(c.view(), [32, 32], true);
        assert!(max_abs(&corners, cam_raw.slice(s![i, 0, .., ..])) > 1e-3);
    }
    eprintln!(
        "max |radlab - MONAI| over 8 patches: CAM raw {:.2e}, CAM normalised {:.2e}, Grad-CAM raw (x batch size) {:.2e}, Grad-CAM normalised {:.2e}",
        worst[0], worst[1], worst[2], worst[3]
    );
    assert!(worst[0] < 1e-4 && worst[2] < 1e-4, "{worst:?}");
    assert!(worst[1] < 1e-4 && worst[3] < 1e-4, "{worst:?}");
}

#[test]
fn occlusion_finds_the_blob() {
    let mut m = model();
    let x = fixture("inputs.npy").into_dimensionality::<Ix4>().unwrap();
    let img = x.slice(s![0, 0, .., ..]).to_owned();
    let mut score = |b: ndarray::ArrayView3<'_, f32>| {
        let (n, h, w) = b.dim();
        let input = b.to_owned().into_shape_with_order((n, 1, h, w)).unwrap();
        Ok(m.run(input.view().into_dyn()).unwrap()[0]
            .iter()
            .map(|&v| f64::from(v))
            .collect())
    };
    let occ = radlab_explain::occlusion(img.view(), 8, 4, 0.15, &mut score).unwrap();
    assert_eq!(occ.dim(), (32, 32));
    // Occluding the bright blob lowers the nodule logit most: the map's
    // peak is on the blob (the patch's brightest quarter).
    let (py, px) = occ
        .indexed_iter()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(p, _)| p)
        .unwrap();
    let mut sorted: Vec<f32> = img.iter().copied().collect();
    sorted.sort_by(f32::total_cmp);
    let q75 = sorted[sorted.len() * 3 / 4];
    let _ = Array2::<f64>::zeros((1, 1)).into_dimensionality::<Ix2>();
    assert!(
        img[[py, px]] >= q75,
        "peak at ({py}, {px}) value {}",
        img[[py, px]]
    );
}
