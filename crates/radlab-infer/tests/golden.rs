//! The bundled models in radlab reproduce Python onnxruntime 1.31.1's outputs
//! (golden files), and sliding-window inference reproduces MONAI 1.6.1's
//! `sliding_window_inference` on the same model and input. Fixtures come
//! from tools/models/make_fixtures.py (`cargo xtask models`).
//!
//! These tests load the real ONNX Runtime library; `cargo xtask test`
//! installs it first. If it cannot be installed they fail, never skip.

use std::path::PathBuf;

use ndarray::{ArrayD, Axis};
use ndarray_npy::read_npy;
use radlab_infer::{Blend, Device, InferError, Model, ModelOptions, SlidingWindow};

fn sample_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sample_data")
}

fn fixture(name: &str) -> ArrayD<f32> {
    let path = sample_data().join("fixtures/models").join(name);
    read_npy(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load(card: &str) -> Model {
    Model::load(
        &sample_data().join("models").join(format!("{card}.toml")),
        &ModelOptions {
            device: Device::Cpu,
            threads: Some(1),
        },
    )
    .unwrap_or_else(|e| panic!("loading {card}: {e}"))
}

fn assert_close(what: &str, got: &ArrayD<f32>, want: &ArrayD<f32>, tol: f32) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let worst = got
        .iter()
        .zip(want.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= tol, "{what}: largest difference {worst} > {tol}");
}

#[test]
fn fixtures_belong_to_the_bundled_models() {
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sample_data().join("fixtures/models/fixtures.json")).unwrap(),
    )
    .unwrap();
    for card in ["nodule_classifier", "nodule_segmenter"] {
        let card = radlab_infer::ModelCard::read(
            &sample_data().join("models").join(format!("{card}.toml")),
        )
        .unwrap();
        card.verify_file().unwrap();
        assert_eq!(
            record["models"][&card.file].as_str(),
            Some(card.sha256.as_str()),
            "fixtures were made with another {}; rerun `cargo xtask models`",
            card.file
        );
    }
}

#[test]
fn classifier_matches_python_onnxruntime() {
    let mut model = load("nodule_classifier");
    let input = fixture("classifier_input.npy");
    let out = model.run(input.view()).unwrap();
    assert_close("logit", &out[0], &fixture("classifier_logit.npy"), 1e-5);
    assert_close(
        "features",
        &out[1],
        &fixture("classifier_features.npy"),
        1e-5,
    );
    // Batching changes nothing.
    let batched = model.run_batched(input.view(), 5, &mut |_, _| {}).unwrap();
    assert_close("batched logit", &batched[0], &out[0], 1e-5);
    assert_close("batched features", &batched[1], &out[1], 1e-5);
}

#[test]
fn segmenter_matches_python_onnxruntime() {
    let mut model = load("nodule_segmenter");
    let out = model.run(fixture("segmenter_input.npy").view()).unwrap();
    assert_close(
        "probability",
        &out[0],
        &fixture("segmenter_probability.npy"),
        1e-5,
    );
}

#[test]
fn sliding_window_matches_monai() {
    let mut model = load("nodule_segmenter");
    let input = fixture("sliding_input.npy")
        .into_dimensionality::<ndarray::Ix3>()
        .unwrap();
    for (name, blend) in [
        ("sliding_constant.npy", Blend::Constant),
        (
            "sliding_gaussian.npy",
            Blend::Gaussian { sigma_scale: 0.125 },
        ),
    ] {
        // roi x (48) is larger than the crop (44): padding is exercised too.
        let settings = SlidingWindow {
            roi: [16, 32, 48],
            overlap: 0.25,
            blend,
            batch: 3,
            pad_value: 0.0,
        };
        let mut calls = 0;
        let out = model
            .predict_volume(input.view(), &settings, &mut |_, _| calls += 1)
            .unwrap();
        assert!(calls > 1);
        assert_close(name, &out.into_dyn(), &fixture(name), 1e-5);
    }
    // The two blendings really differ, so matching both means something.
    let a = fixture("sliding_constant.npy");
    let b = fixture("sliding_gaussian.npy");
    let gap = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(
        gap > 1e-3,
        "constant and gaussian fixtures differ by only {gap}"
    );
}

#[test]
fn wrong_input_shapes_are_clear_errors() {
    let mut model = load("nodule_classifier");
    for shape in [
        vec![2, 1, 31, 32],
        vec![1, 32, 32],
        vec![0, 1, 32, 32],
        vec![2, 3, 32, 32],
    ] {
        let input = ArrayD::<f32>::zeros(shape.clone());
        match model.run(input.view()) {
            Err(InferError::InputShape { expected, got, .. }) => {
                assert_eq!(expected, "[N, 1, 32, 32]");
                assert_eq!(got, format!("{shape:?}"));
            }
            other => panic!("{shape:?}: expected an input-shape error, got {other:?}"),
        }
    }
    // A non-contiguous view is accepted (copied to standard layout).
    let input = ArrayD::<f32>::zeros(vec![32, 32, 1, 3]);
    let view = input.view().reversed_axes();
    assert_eq!(model.run(view).unwrap()[0].len_of(Axis(0)), 3);
}

#[test]
fn a_card_that_does_not_match_its_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let models = sample_data().join("models");
    std::fs::copy(
        models.join("nodule_classifier.onnx"),
        dir.path().join("nodule_classifier.onnx"),
    )
    .unwrap();
    let card = std::fs::read_to_string(models.join("nodule_classifier.toml")).unwrap();
    // A changed sha256.
    let bad = card.replace("sha256 = \"", "sha256 = \"0");
    std::fs::write(dir.path().join("a.toml"), bad).unwrap();
    let err = Model::load(&dir.path().join("a.toml"), &ModelOptions::default()).unwrap_err();
    assert!(err.to_string().contains("do not belong together"), "{err}");
    // A renamed input.
    let bad = card.replacen("name = \"patch\"", "name = \"image\"", 1);
    std::fs::write(dir.path().join("b.toml"), bad).unwrap();
    let err = Model::load(&dir.path().join("b.toml"), &ModelOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("'image' in the card is 'patch' in the graph"),
        "{err}"
    );
    // A wrong fixed dimension.
    let bad = card.replacen("shape = [-1, 1, 32, 32]", "shape = [-1, 1, 64, 64]", 1);
    std::fs::write(dir.path().join("c.toml"), bad).unwrap();
    let err = Model::load(&dir.path().join("c.toml"), &ModelOptions::default()).unwrap_err();
    assert!(err.to_string().contains("has shape"), "{err}");
}
