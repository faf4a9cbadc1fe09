//! Detection parity with MONAI 1.6.1 and scipy on the scans of
//! `sample_data/fixtures/metrics/detection_monai.json` (made by
//! `tools/metrics/make_detection_fixture.py`; its header says how).
//!
//! Where radlab counts differently on purpose, the test asserts the
//! difference:
//! - MONAI's curve skips the lowest score as a threshold. With a missed
//!   lesion that score is the 0 MONAI stores for it, and nothing changes;
//!   when every lesion is found it is a real candidate's, and MONAI never
//!   reports the point where every candidate is kept. radlab keeps it.
//! - MONAI counts every label value from 1 to the largest as a target, so a
//!   value absent from the mask (labels 1 and 3) is a lesion nobody can
//!   find. radlab counts the lesions present in the mask.

use ndarray::Array3;
use radlab_metrics::detection::{
    CAMELYON16, CandidatePosition, HitRule, LUNA16, ScanResult, assign,
    candidates_from_probability, froc, lesions_from_labels, monai_froc_curve_data,
    monai_froc_score,
};
use radlab_metrics::segmentation::Connectivity;
use serde_json::Value;

fn fixture() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../sample_data/fixtures/metrics/detection_monai.json"
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

fn close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: {a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-9, "{what}: {a:?} vs {b:?}");
    }
}

#[test]
fn candidates_hits_and_froc_agree_with_monai() {
    let doc = fixture();
    let shape: Vec<usize> = doc["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let dim = (shape[0], shape[1], shape[2]);
    let threshold = doc["threshold"].as_f64().unwrap() as f32;
    let mut seen = Vec::new();
    for sc in doc["scenarios"].as_array().unwrap() {
        let name = sc["name"].as_str().unwrap();
        let scans = sc["scans"].as_array().unwrap();
        let mut results = Vec::new();
        let (mut all_fp, mut all_tp, mut monai_targets) = (Vec::new(), Vec::new(), 0usize);
        let mut missed_any = false;
        for (s, scan) in scans.iter().enumerate() {
            let labels: Vec<u32> = scan["labels"]
                .as_str()
                .unwrap()
                .bytes()
                .map(|b| u32::from(b - b'0'))
                .collect();
            let labels = Array3::from_shape_vec(dim, labels).unwrap();
            let q = scan["q"].as_str().unwrap().as_bytes();
            let prob: Vec<f32> = q
                .chunks(2)
                .map(|h| {
                    u8::from_str_radix(std::str::from_utf8(h).unwrap(), 16).unwrap() as f32 / 256.0
                })
                .collect();
            let prob = Array3::from_shape_vec(dim, prob).unwrap();

            // Candidates: the same components, peaks and scores as scipy.
            let cands = candidates_from_probability(
                prob.view(),
                threshold,
                radlab_metrics::Spacing::new(1.0, 1.0, 1.0),
                Connectivity::TwentySix,
                CandidatePosition::Peak,
                s,
            )
            .unwrap();
            let want = scan["scipy_candidates"].as_array().unwrap();
            assert_eq!(cands.len(), want.len(), "{name} scan {s}: candidate count");
            for (c, w) in cands.iter().zip(want) {
                let v: Vec<usize> = w["voxel"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as usize)
                    .collect();
                assert_eq!(c.voxel.to_vec(), v, "{name} scan {s}: peak voxel");
                assert_eq!(
                    c.score,
                    w["score"].as_f64().unwrap(),
                    "{name} scan {s}: score"
                );
            }

            // Hits inside the mask: MONAI's false positives, in candidate order.
            let lesions = lesions_from_labels(
                labels.view(),
                radlab_metrics::Spacing::from_zyx([1.0; 3]),
                s,
            );
            let hits = assign(&cands, &lesions, HitRule::InsideMask, Some(labels.view())).unwrap();
            let scores: Vec<f64> = cands.iter().map(|c| c.score).collect();
            let r = ScanResult::from_hits(&scores, &hits, lesions.len()).unwrap();
            close(
                &r.fp_scores,
                &floats(&scan["monai_fp_probs"]),
                "false positives",
            );

            // Each present label's best score (0 for a miss) is MONAI's tp_probs entry.
            let tp = floats(&scan["monai_tp_probs"]);
            for (les, got) in lesions.iter().zip(&r.lesion_scores) {
                let want = tp[les.label as usize - 1];
                assert_eq!(
                    got.unwrap_or(0.0),
                    want,
                    "{name} scan {s}: lesion {}",
                    les.label
                );
                missed_any |= got.is_none();
            }
            let targets = scan["monai_num_targets"].as_u64().unwrap() as usize;
            if name.contains("gap") {
                assert!(
                    targets > lesions.len(),
                    "{name}: MONAI counts the absent label"
                );
            } else {
                assert_eq!(targets, lesions.len(), "{name} scan {s}: targets");
            }
            monai_targets += targets;
            all_fp.extend(r.fp_scores.iter().copied());
            all_tp.extend(tp);
            results.push(r);
        }

        // MONAI's own curve and score, reproduced.
        let (fps, sens) = monai_froc_curve_data(&all_fp, &all_tp, monai_targets, scans.len());
        close(
            &fps,
            &floats(&sc["monai_fps_per_image"]),
            "MONAI fps per image",
        );
        close(
            &sens,
            &floats(&sc["monai_sensitivity"]),
            "MONAI sensitivity",
        );
        let cam = sc["monai_froc_camelyon16"].as_f64().unwrap();
        let luna = sc["monai_froc_luna16"].as_f64().unwrap();
        assert!((monai_froc_score(&fps, &sens, &CAMELYON16) - cam).abs() <= 1e-9);
        assert!((monai_froc_score(&fps, &sens, &LUNA16) - luna).abs() <= 1e-9);

        // radlab's curve: the same numbers, except where it differs on purpose.
        let ours = froc(&results).unwrap();
        let (oc, ol) = (ours.score(&CAMELYON16), ours.cpm());
        if name.contains("gap") {
            assert!(
                oc > cam && ol > luna,
                "{name}: fewer targets, higher sensitivity"
            );
            seen.push("gap");
        } else if missed_any {
            assert!(
                (oc - cam).abs() <= 1e-9 && (ol - luna).abs() <= 1e-9,
                "{name}: {oc} {ol} vs {cam} {luna}"
            );
            seen.push("same");
        } else {
            // Every lesion found: MONAI loses the last point, radlab keeps it.
            let last = ours.points.last().unwrap();
            assert_eq!(last.sensitivity, 1.0);
            let lowest = fps
                .iter()
                .zip(&sens)
                .all(|(&f, &v)| (f, v) != (last.fps_per_scan, last.sensitivity));
            assert!(
                lowest,
                "{name}: MONAI's curve lacks radlab's last point {last:?}: {fps:?} {sens:?}"
            );
            // Here the lowest score is a false positive's at 1 FP per scan:
            // beyond its last point numpy.interp holds the sensitivity, so
            // the scores agree although the curves do not.
            assert!(
                oc >= cam - 1e-12 && ol >= luna - 1e-12,
                "{name}: {oc} {ol} vs {cam} {luna}"
            );
            seen.push("all found");
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["all found", "gap", "same"],
        "every scenario exercised"
    );
}
