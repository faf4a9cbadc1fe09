//! The sanity check of Adebayo et al. (2018): an explanation that depends
//! on what the model learned must change when the learned weights are
//! randomised. The bundled classifier, then the same with its head
//! randomised, then with the head and the last convolution randomised
//! (ONNX files made by tools/results/make_cam_fixture.py); CAM of each on
//! the same patches, compared by Spearman rank correlation.

use ndarray::{Array4, Axis, Ix4};
use ndarray_npy::read_npy;
use radlab_explain::{cam, class_row, spearman, upsample_bilinear};

fn fixture_dir() -> std::path::PathBuf {
    radlab_eval::sample_data_dir().join("fixtures/cam")
}

/// The classifier's card pointed at another ONNX file of the same graph.
fn load_variant(onnx: Option<&str>, dir: &std::path::Path) -> radlab_infer::Model {
    let card = radlab_eval::models_dir().join("nodule_classifier.toml");
    let path = match onnx {
        None => card,
        Some(name) => {
            let file = fixture_dir().join(name);
            let sha = radlab_infer::runtime::sha256_file(&file).unwrap();
            let text: String = std::fs::read_to_string(&card)
                .unwrap()
                .lines()
                .map(|l| {
                    if l.starts_with("file = ") {
                        format!("file = {:?}", file.display().to_string())
                    } else if l.starts_with("sha256 = ") {
                        format!("sha256 = \"{sha}\"")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            let p = dir.join(format!("{name}.toml"));
            std::fs::write(&p, text).unwrap();
            p
        }
    };
    radlab_infer::Model::load(&path, &radlab_infer::ModelOptions::default()).unwrap()
}

/// Upsampled CAM of every patch, each flattened, with the class row
/// recovered from the model's own outputs.
fn maps(m: &mut radlab_infer::Model, x: &Array4<f32>, fit: &Array4<f32>) -> Vec<Vec<f64>> {
    let run = |m: &mut radlab_infer::Model, x: &Array4<f32>| {
        let out = m.run(x.view().into_dyn()).unwrap();
        let logits: Vec<f64> = out[0].iter().map(|&v| f64::from(v)).collect();
        (logits, out[1].clone().into_dimensionality::<Ix4>().unwrap())
    };
    let (l, f) = run(m, fit);
    let row = class_row(f.view(), &l).unwrap();
    assert!(row.max_residual < 1e-3, "{}", row.max_residual);
    let (_, feats) = run(m, x);
    feats
        .axis_iter(Axis(0))
        .map(|a| {
            let c = cam(a, &row.weights, row.bias).unwrap();
            upsample_bilinear(c.view(), [32, 32], false)
                .iter()
                .copied()
                .collect()
        })
        .collect()
}

#[test]
fn cam_changes_when_the_learned_weights_are_randomised() {
    let dir = tempfile::tempdir().unwrap();
    let x: Array4<f32> = read_npy::<_, ndarray::ArrayD<f32>>(fixture_dir().join("inputs.npy"))
        .unwrap()
        .into_dimensionality()
        .unwrap();
    // Patches to recover each model's class row from: shifted and scaled
    // copies of the fixture's, 64 in all.
    let fit = Array4::from_shape_fn((64, 1, 32, 32), |(i, _, y, xx)| {
        let src = x[[i % 8, 0, (y + i / 8) % 32, (xx + 3 * (i / 8)) % 32]];
        (src * (0.6 + 0.05 * (i / 8) as f32)).clamp(0.0, 1.0)
    });
    let trained = maps(&mut load_variant(None, dir.path()), &x, &fit);
    let mut report = Vec::new();
    for variant in [
        "classifier_random_head.onnx",
        "classifier_random_head_conv3.onnx",
    ] {
        let other = maps(&mut load_variant(Some(variant), dir.path()), &x, &fit);
        let rho: Vec<f64> = trained
            .iter()
            .zip(&other)
            .map(|(a, b)| spearman(a, b))
            .filter(|r| r.is_finite())
            .collect();
        let mean = rho.iter().sum::<f64>() / rho.len() as f64;
        report.push((variant, mean, rho));
    }
    for (v, mean, rho) in &report {
        eprintln!("Spearman(trained CAM, {v} CAM): mean {mean:.3}, per patch {rho:.3?}");
    }
    // The same model twice: 1.
    let again = maps(&mut load_variant(None, dir.path()), &x, &fit);
    assert!((spearman(&trained[1], &again[1]) - 1.0).abs() < 1e-12);
    // Randomising what was learned must move the maps away from the
    // trained ones. The head alone leaves the features, so some structure
    // stays (measured: mean 0.44); with the last convolution too, the rank
    // correlation falls to about zero (measured: -0.15). Bounds with margin:
    let (head, cascade) = (report[0].1, report[1].1);
    assert!(
        head.abs() < 0.6,
        "random head: mean rank correlation {head}"
    );
    assert!(
        cascade.abs() < 0.3,
        "random head + conv3: mean rank correlation {cascade}"
    );
    assert!(
        cascade.abs() < head.abs(),
        "the cascade moves the maps further"
    );
}

/// The overlay's hand-written rounding and its zero-opacity shortcut give
/// what the definition says: `round((1 - a) g + a c)` with `f64::round`.
#[test]
fn overlay_is_its_definition() {
    use rand::{Rng, SeedableRng};
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for _ in 0..200 {
        let n = r.random_range(1..500);
        let gray: Vec<u8> = (0..n).map(|_| r.random()).collect();
        let heat: Vec<f64> = (0..n)
            .map(|_| match r.random_range(0..10) {
                0 => 0.0,
                1 => f64::NAN,
                2 => r.random_range(-1.0..2.0),
                3 => f64::from(r.random_range(0..=255u8)) / 255.0,
                _ => r.random_range(0.0..1.0),
            })
            .collect();
        let alpha = if r.random_bool(0.1) {
            1.0
        } else {
            r.random_range(0.0..1.0)
        };
        let want: Vec<u8> = gray
            .iter()
            .zip(&heat)
            .flat_map(|(&g, &h)| {
                let h = if h.is_nan() { 0.0 } else { h.clamp(0.0, 1.0) };
                let a = alpha * h;
                radlab_explain::inferno(h)
                    .map(|k| ((1.0 - a) * f64::from(g) + a * f64::from(k)).round() as u8)
            })
            .collect();
        assert_eq!(radlab_explain::overlay(&gray, &heat, alpha), want);
    }
    // Halves round up, as f64::round does: inferno(1) is [252, 255, 164],
    // so grey 1 at opacity 0.5 is 126.5, 128 and 82.5.
    assert_eq!(radlab_explain::inferno(1.0), [252, 255, 164]);
    assert_eq!(radlab_explain::overlay(&[1], &[1.0], 0.5), [127, 128, 83]);
}
