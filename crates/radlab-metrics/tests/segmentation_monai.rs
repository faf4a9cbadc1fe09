//! Segmentation metrics against MONAI 1.6.1 on the cases of
//! `sample_data/fixtures/metrics/segmentation_monai.json` (made by
//! `tools/metrics/make_segmentation_fixture.py`): anisotropic spacing,
//! masks touching the border, noise, and the empty-mask cases.

use ndarray::Array3;
use radlab_metrics::segmentation::{Counts, EmptyPolicy, surface_metrics};

fn fixture() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample_data/fixtures/metrics/segmentation_monai.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn mask(shape: &[usize], bits: &str) -> Array3<bool> {
    Array3::from_shape_vec(
        (shape[0], shape[1], shape[2]),
        bits.bytes().map(|b| b == b'1').collect(),
    )
    .unwrap()
}

fn value(v: &serde_json::Value) -> f64 {
    match v.as_str() {
        Some("nan") => f64::NAN,
        Some("inf") => f64::INFINITY,
        _ => v.as_f64().unwrap(),
    }
}

/// MONAI returns float32: agree to float32 precision.
fn same(ours: f64, theirs: f64) -> bool {
    (ours.is_nan() && theirs.is_nan()) || (ours - theirs).abs() <= 1e-6 * theirs.abs().max(1.0)
}

#[test]
fn every_case_agrees_with_monai() {
    let fx = fixture();
    assert_eq!(fx["monai"], "1.6.1");
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let shape: Vec<usize> = serde_json::from_value(c["shape"].clone()).unwrap();
        let spacing: [f64; 3] = serde_json::from_value(c["spacing"].clone()).unwrap();
        let (p, r) = (
            mask(&shape, c["pred"].as_str().unwrap()),
            mask(&shape, c["reference"].as_str().unwrap()),
        );
        let counts = Counts::of(p.view(), r.view()).unwrap();
        for (key, ours) in [
            (
                "dice_ignore_empty",
                counts.dice(EmptyPolicy::IgnoreEmptyReference),
            ),
            ("dice_count_empty", counts.dice(EmptyPolicy::BothEmptyOne)),
            (
                "iou_ignore_empty",
                counts.iou(EmptyPolicy::IgnoreEmptyReference),
            ),
            ("iou_count_empty", counts.iou(EmptyPolicy::BothEmptyOne)),
        ] {
            let theirs = value(&c[key]);
            assert!(
                same(ours, theirs),
                "{name} {key}: radlab {ours}, MONAI {theirs}"
            );
        }
        if c.get("hd95").is_none() {
            continue;
        }
        let m = surface_metrics(
            p.view(),
            r.view(),
            radlab_metrics::Spacing::from_zyx(spacing),
            value(&c["tolerance_mm"]),
        )
        .unwrap();
        for (key, ours) in [
            ("hausdorff", m.hausdorff),
            ("hd95", m.hd95),
            ("assd", m.assd),
            ("surface_dice", m.surface_dice),
        ] {
            let theirs = value(&c[key]);
            assert!(
                same(ours, theirs),
                "{name} {key}: radlab {ours}, MONAI {theirs}"
            );
        }
    }
}
