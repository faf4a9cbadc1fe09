//! lab-segmentation from the outside: default run, a user's series + labels,
//! bad input.

use std::path::PathBuf;

fn sample(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample_data")
        .join(p)
}

fn run_json(args: &[&str], out: &std::path::Path) -> serde_json::Value {
    radlab_tests::run_json(env!("CARGO_BIN_EXE_lab-segmentation"), args, out)
}

#[test]
fn default_run_scores_every_case_under_each_convention() {
    let out = tempfile::tempdir().unwrap();
    let v = run_json(&[], out.path());
    let cases = v["cases"].as_array().unwrap();
    let ids: Vec<&str> = cases.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "case-001",
            "case-002",
            "case-003",
            "case-004",
            "negative-901",
            "negative-908"
        ]
    );
    let with_reference = cases
        .iter()
        .filter(|c| c["reference_voxels"].as_u64().unwrap() > 0)
        .count();
    assert_eq!(with_reference, 4);
    for c in cases {
        let dice: Vec<f64> = c["dice"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d[1].as_f64().unwrap_or(f64::NAN))
            .collect();
        let iou: Vec<f64> = c["iou"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d[1].as_f64().unwrap_or(f64::NAN))
            .collect();
        // IoU = Dice / (2 - Dice) whenever both are numbers.
        for (d, j) in dice.iter().zip(&iou) {
            if !d.is_nan() {
                assert!((j - d / (2.0 - d)).abs() < 1e-12, "{c}");
            }
        }
        if c["reference_voxels"].as_u64().unwrap() > 0 {
            let (hd95, hd) = (
                c["hd95_mm"].as_f64().unwrap(),
                c["hausdorff_mm"].as_f64().unwrap(),
            );
            assert!(hd95 > 0.0 && hd95 <= hd, "{c}");
            assert!(dice.iter().all(|&d| (0.0..=1.0).contains(&d)));
        } else {
            // No reference: MONAI's default leaves the scan out (null = NaN in JSON).
            assert!(dice[0].is_nan(), "{c}");
        }
        let png = PathBuf::from(c["overlay"].as_str().unwrap());
        let bytes = std::fs::read(out.path().join(png.file_name().unwrap())).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
    let means = v["means"].as_array().unwrap();
    assert_eq!(means[0]["policy"], "monai-ignore-empty");
    assert_eq!(means[0]["cases_counted"], 4);
    // The lesson of the default run: one negative with a false positive and
    // one where nothing is predicted, so the three conventions part ways.
    let case = |id: &str| cases.iter().find(|c| c["id"] == id).unwrap();
    assert!(case("negative-901")["predicted_voxels"].as_u64().unwrap() > 0);
    assert_eq!(case("negative-908")["predicted_voxels"], 0);
    let m: Vec<f64> = means
        .iter()
        .map(|m| m["mean_dice"].as_f64().unwrap())
        .collect();
    assert!(m[0] != m[1] && m[1] != m[2] && m[0] != m[2], "{m:?}");
    assert_eq!(
        means
            .iter()
            .map(|m| &m["cases_counted"])
            .collect::<Vec<_>>(),
        [4, 5, 6]
    );
    // The post-processing step is reported.
    assert_eq!(v["min_volume_mm3"], 113.0);
    let removed: u64 = cases
        .iter()
        .map(|c| c["removed_components"].as_u64().unwrap())
        .sum();
    assert!(removed > 0);
    assert!(out.path().join("report.json").is_file());
}

#[test]
fn a_users_series_and_labels_give_the_same_numbers_as_the_sample_run() {
    let out = tempfile::tempdir().unwrap();
    let a = run_json(&["--negatives"], out.path());
    let series = sample("case-002/ct");
    let labels = sample("case-002/labels.npy");
    let b = run_json(
        &[
            "--input",
            series.to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
        ],
        &out.path().join("mine"),
    );
    let cases = b["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1);
    for k in [
        "dice",
        "iou",
        "hd95_mm",
        "assd_mm",
        "surface_dice",
        "reference_voxels",
        "predicted_voxels",
    ] {
        assert_eq!(cases[0][k], a["cases"][1][k], "{k}");
    }
}

#[test]
fn bad_input_is_exit_2_with_the_file_named_and_nothing_written() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("x");
    let series = sample("case-001/ct");
    let check = |args: &[&str], words: &str| {
        radlab_tests::assert_exit_2(env!("CARGO_BIN_EXE_lab-segmentation"), args, &target, words)
    };
    check(&["--threshold", "1.5"], "--threshold 1.5");
    check(&["--tolerance", "0"], "--tolerance");
    check(&["--input", series.to_str().unwrap()], "--labels");
    let missing = out.path().join("nope.npy");
    check(
        &[
            "--input",
            series.to_str().unwrap(),
            "--labels",
            missing.to_str().unwrap(),
        ],
        "nope.npy: no such file",
    );
    // A mask of the wrong shape: a valid 2 x 2 x 2 uint8 .npy written by hand.
    let small = out.path().join("small.npy");
    let mut header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }".to_vec();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&header);
    bytes.extend_from_slice(&[0u8; 8]);
    std::fs::write(&small, bytes).unwrap();
    check(
        &[
            "--input",
            series.to_str().unwrap(),
            "--labels",
            small.to_str().unwrap(),
        ],
        "(2, 2, 2)",
    );
    let text = out.path().join("text.npy");
    std::fs::write(&text, "not numpy").unwrap();
    check(
        &[
            "--input",
            series.to_str().unwrap(),
            "--labels",
            text.to_str().unwrap(),
        ],
        "text.npy: not a 3-D NumPy array",
    );
}

#[test]
fn hostile_corpus_is_refused_by_name() {
    // The segmenter needs more than an 8 x 8 slice: only refusals are checked
    // here. The labels are read first and are fine (an empty 1 x 8 x 8 mask).
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.npy");
    let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 8, 8), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + header.len() + 1) % 64;
    let text = format!("{header}{}\n", " ".repeat(pad));
    npy.extend((text.len() as u16).to_le_bytes());
    npy.extend(text.as_bytes());
    npy.extend([0u8; 64]);
    std::fs::write(&labels, npy).unwrap();
    radlab_tests::hostile::check_corpus(
        std::path::Path::new(env!("CARGO_BIN_EXE_lab-segmentation")),
        &["--labels", labels.to_str().unwrap()],
        false,
        false,
    );
}
