//! STAPLE against SimpleITK 2.5.7's STAPLEImageFilter
//! (sample_data/fixtures/metrics/staple_peers.json, made by
//! tools/metrics/make_staple_fixture.py), and pairwise Dice's properties.

use ndarray::Array3;
use radlab_metrics::segmentation::{EmptyPolicy, StapleOptions, pairwise_dice, staple};
use serde_json::Value;

fn fixture() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample_data/fixtures/metrics/staple_peers.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn masks(case: &Value) -> Vec<Array3<bool>> {
    let s: Vec<usize> = case["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    case["masks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let bits: Vec<bool> = m.as_str().unwrap().bytes().map(|b| b == b'1').collect();
            Array3::from_shape_vec((s[0], s[1], s[2]), bits).unwrap()
        })
        .collect()
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9, "{what}: radlab {a}, SimpleITK {b}");
}

#[test]
fn staple_matches_simpleitk() {
    let f = fixture();
    for (c, case) in f["cases"].as_array().unwrap().iter().enumerate() {
        let m = masks(case);
        let views: Vec<_> = m.iter().map(|m| m.view()).collect();
        let max = case["max_iterations"].as_u64().unwrap() as u32;
        let s = staple(
            &views,
            StapleOptions {
                confidence_weight: case["confidence_weight"].as_f64().unwrap(),
                max_iterations: max,
            },
        )
        .unwrap();
        for (i, (a, b)) in s
            .sensitivity
            .iter()
            .zip(floats(&case["sensitivity"]))
            .enumerate()
        {
            close(*a, b, &format!("case {c} reader {i} sensitivity"));
        }
        for (i, (a, b)) in s
            .specificity
            .iter()
            .zip(floats(&case["specificity"]))
            .enumerate()
        {
            close(*a, b, &format!("case {c} reader {i} specificity"));
        }
        // ITK counts its passes from 0 when it stops on convergence.
        let elapsed = case["elapsed_iterations"].as_u64().unwrap() as u32;
        assert!(
            s.passes == elapsed + 1 || (elapsed == max && s.passes == max),
            "case {c}: {} passes, ITK elapsed {elapsed}",
            s.passes
        );
        let prob: Vec<f64> = s.probability.iter().copied().collect();
        close(
            prob.iter().sum(),
            case["probability_sum"].as_f64().unwrap(),
            &format!("case {c} probability sum"),
        );
        for (k, want) in floats(&case["probability_sample"]).into_iter().enumerate() {
            close(prob[k * 37], want, &format!("case {c} voxel {}", k * 37));
        }
        assert_eq!(
            s.mask(0.5).iter().filter(|&&v| v).count() as u64,
            case["consensus_voxels"].as_u64().unwrap(),
            "case {c} consensus size"
        );
    }
}

#[test]
fn staple_refuses_what_it_cannot_estimate() {
    let a = Array3::from_elem((2, 3, 3), false);
    assert!(staple(&[a.view()], StapleOptions::default()).is_err());
    // Nobody marked anything: sensitivity is 0 / 0.
    assert!(staple(&[a.view(), a.view()], StapleOptions::default()).is_err());
    let b = Array3::from_elem((2, 3, 4), true);
    assert!(staple(&[a.view(), b.view()], StapleOptions::default()).is_err());
}

#[test]
fn pairwise_dice_is_symmetric_with_a_unit_diagonal() {
    let f = fixture();
    let m = masks(&f["cases"][1]);
    let views: Vec<_> = m.iter().map(|m| m.view()).collect();
    let d = pairwise_dice(&views, EmptyPolicy::BothEmptyOne).unwrap();
    for (i, row) in d.iter().enumerate() {
        assert_eq!(row[i], 1.0);
        for (j, &v) in row.iter().enumerate() {
            assert_eq!(v, d[j][i]);
            assert!((0.0..=1.0).contains(&v));
        }
    }
    // Reader 4 is the truth and reader 2 its upper half only: Dice = 2|half| / (|half| + |truth|).
    let (t, h) = (
        m[4].iter().filter(|&&v| v).count() as f64,
        m[2].iter().filter(|&&v| v).count() as f64,
    );
    assert!((d[2][4] - 2.0 * h / (h + t)).abs() < 1e-12);
}
