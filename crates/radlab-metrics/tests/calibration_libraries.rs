//! Each library's calibration number, reproduced by choosing radlab's
//! options: `sample_data/fixtures/metrics/calibration_libraries.json`, made
//! by `tools/metrics/make_calibration_fixture.py` (versions inside).
//!
//! | library | what is binned | bins | edges |
//! |---|---|---|---|
//! | scikit-learn `calibration_curve` | positive class (or what you pass) | 5, uniform or quantile | `(a, b]` |
//! | netcal `ECE` | positive class (binary), top label | 10 | `[a, b)`, last closed |
//! | torchmetrics `*_calibration_error` | positive class (binary), top label | 15 | `[a, b)`, `p = 1` in an extra bin |
//! | MONAI `CalibrationErrorMetric` | each channel | 20 | `(a, b]` in effect (float32 edges) |
//!
//! Tolerances: 1e-9, except where a library works in float32 (MONAI;
//! torchmetrics' multiclass path): 1e-6; fitted temperatures: 1e-4 between
//! optimisers.

use ndarray::Array2;
use radlab_metrics::calibration::{
    BinSpacing, Binning, EdgeRule, Reduction, Target, calibration_error, confidence_sets,
    fit_temperature, reliability, softmax,
};
use serde_json::Value;

fn fixture() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../sample_data/fixtures/metrics/calibration_libraries.json"
    );
    serde_json::from_str(&std::fs::read_to_string(p).expect("fixture present")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: radlab {got}, library {want}"
    );
}

fn binary(doc: &Value) -> (Array2<f64>, Vec<usize>) {
    let b = &doc["binary"];
    let p: Vec<f64> = b["q1024"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q.as_f64().unwrap() / 1024.0)
        .collect();
    let labels: Vec<usize> = b["labels"]
        .as_str()
        .unwrap()
        .bytes()
        .map(|c| usize::from(c - b'0'))
        .collect();
    let probs = Array2::from_shape_fn(
        (p.len(), 2),
        |(i, k)| if k == 1 { p[i] } else { 1.0 - p[i] },
    );
    (probs, labels)
}

fn multiclass(doc: &Value) -> (Array2<f64>, Vec<usize>) {
    let m = &doc["multiclass"];
    let rows: Vec<Vec<f64>> = m["logits"].as_array().unwrap().iter().map(floats).collect();
    let z = Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, k)| rows[i][k]);
    let labels = m["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    (z, labels)
}

/// sklearn's `prob_true` / `prob_pred`: the non-empty bins, right-closed.
fn check_sklearn(conf: &[f64], outcome: &[f64], curves: &Value, what: &str) {
    for (strategy, spacing) in [
        ("uniform", BinSpacing::EqualWidth),
        ("quantile", BinSpacing::EqualMass),
    ] {
        let b = reliability(
            conf,
            outcome,
            &Binning {
                bins: 5,
                spacing,
                edge: EdgeRule::RightClosed,
            },
        )
        .unwrap();
        let full: Vec<_> = b.iter().filter(|b| b.count > 0).collect();
        let want_true = floats(&curves[strategy]["prob_true"]);
        let want_pred = floats(&curves[strategy]["prob_pred"]);
        assert_eq!(
            full.len(),
            want_true.len(),
            "{what} {strategy}: non-empty bins"
        );
        for (k, bin) in full.iter().enumerate() {
            close(
                bin.accuracy,
                want_true[k],
                1e-12,
                &format!("{what} {strategy} bin {k} prob_true"),
            );
            close(
                bin.confidence,
                want_pred[k],
                1e-12,
                &format!("{what} {strategy} bin {k} prob_pred"),
            );
        }
    }
}

#[test]
fn binary_predictions_every_library() {
    let doc = fixture();
    let (probs, labels) = binary(&doc);
    let b = &doc["binary"];
    let sets = confidence_sets(probs.view(), &labels, Target::PositiveClass).unwrap();
    let (conf, outcome) = &sets[0];
    check_sklearn(conf, outcome, &b["sklearn"], "sklearn binary");

    let ce = |bins, edge, red| {
        calibration_error(
            probs.view(),
            &labels,
            Target::PositiveClass,
            &Binning::equal_width(bins, edge),
            red,
        )
        .unwrap()
    };
    use EdgeRule::*;
    use Reduction::*;
    close(
        ce(10, LeftClosed, Expected),
        b["netcal_ece_10"].as_f64().unwrap(),
        1e-9,
        "netcal ECE",
    );
    close(
        ce(10, LeftClosed, Maximum),
        b["netcal_mce_10"].as_f64().unwrap(),
        1e-9,
        "netcal MCE",
    );
    close(
        ce(15, LeftClosedExtraBin, Expected),
        b["torchmetrics_ece_15"].as_f64().unwrap(),
        1e-9,
        "torchmetrics ECE",
    );
    close(
        ce(15, LeftClosedExtraBin, Maximum),
        b["torchmetrics_mce_15"].as_f64().unwrap(),
        1e-9,
        "torchmetrics MCE",
    );
    // The extra bin matters: torchmetrics' number is not the plain left-closed one.
    assert!((ce(15, LeftClosed, Expected) - ce(15, LeftClosedExtraBin, Expected)).abs() > 1e-6);
    for (name, red) in [
        ("expected", Expected),
        ("average", Average),
        ("maximum", Maximum),
    ] {
        close(
            ce(20, RightClosed, red),
            b["monai_20"][name].as_f64().unwrap(),
            1e-6,
            &format!("MONAI {name}"),
        );
    }
}

#[test]
fn multiclass_top_label_and_temperature() {
    let doc = fixture();
    let (z, labels) = multiclass(&doc);
    let m = &doc["multiclass"];
    let probs = softmax(z.view(), 1.0);
    let sets = confidence_sets(probs.view(), &labels, Target::TopLabel).unwrap();
    check_sklearn(
        &sets[0].0,
        &sets[0].1,
        &m["sklearn_top_label"],
        "sklearn top label",
    );
    let ce = |bins, edge| {
        calibration_error(
            probs.view(),
            &labels,
            Target::TopLabel,
            &Binning::equal_width(bins, edge),
            Reduction::Expected,
        )
        .unwrap()
    };
    close(
        ce(10, EdgeRule::LeftClosed),
        m["netcal_ece_10"].as_f64().unwrap(),
        1e-9,
        "netcal ECE",
    );
    // torchmetrics' multiclass path computes in float32.
    close(
        ce(15, EdgeRule::LeftClosedExtraBin),
        m["torchmetrics_ece_15"].as_f64().unwrap(),
        1e-6,
        "torchmetrics ECE",
    );

    let fit = fit_temperature(z.view(), &labels).unwrap();
    let scipy = &m["temperature_scipy"];
    close(
        fit.temperature,
        scipy["temperature"].as_f64().unwrap(),
        1e-4,
        "T vs scipy",
    );
    close(
        fit.temperature,
        m["temperature_torch_lbfgs"].as_f64().unwrap(),
        1e-4,
        "T vs torch LBFGS",
    );
    close(
        fit.nll_before,
        scipy["nll_before"].as_f64().unwrap(),
        1e-9,
        "NLL at T = 1",
    );
    close(
        fit.nll_after,
        scipy["nll_after"].as_f64().unwrap(),
        1e-9,
        "NLL at the fit",
    );
    assert_eq!(fit.accuracy.0, fit.accuracy.1);
}
