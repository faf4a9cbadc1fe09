//! lab-froc from the outside: the model run, the LUNA16 CSV round trip,
//! bad input.

use std::process::Command;

fn lab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lab-froc"))
}

fn run_json(args: &[&str], out: &std::path::Path) -> serde_json::Value {
    radlab_tests::run_json(env!("CARGO_BIN_EXE_lab-froc"), args, out)
}

#[test]
fn model_run_then_the_same_detections_from_its_csvs() {
    let dir = tempfile::tempdir().unwrap();
    let a = run_json(&["--negatives", "1", "--bootstrap", "200"], dir.path());
    let scans = a["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 5);
    assert_eq!(scans[4]["id"], "negative-901");
    assert_eq!(scans[4]["lesions"], 0);
    let lesions: u64 = scans.iter().map(|s| s["lesions"].as_u64().unwrap()).sum();
    assert_eq!(a["lesions"].as_u64().unwrap(), lesions);
    assert_eq!(lesions, 13, "3 + 4 + 3 + 3 nodules in the sample cases");
    // Operating points: LUNA16's seven, CAMELYON16's six among them, CI brackets.
    let ops = a["operating_points"].as_array().unwrap();
    assert_eq!(ops.len(), 7);
    assert_eq!(ops.iter().filter(|o| o["camelyon16"] == true).count(), 6);
    let mean: f64 = ops
        .iter()
        .map(|o| o["sensitivity"].as_f64().unwrap())
        .sum::<f64>()
        / 7.0;
    assert!((mean - a["cpm"].as_f64().unwrap()).abs() < 1e-12);
    let (lo, hi) = (
        a["cpm_ci"][0].as_f64().unwrap(),
        a["cpm_ci"][1].as_f64().unwrap(),
    );
    assert!(lo <= hi && (0.0..=1.0).contains(&lo) && hi <= 1.0);
    // Counting extra hits as false positives only adds false positives: the
    // CPM cannot rise. (Dropping scans without lesions can move it either
    // way: fewer false positives, divided by fewer scans.)
    let conv = a["conventions"].as_array().unwrap();
    let cpm_of = |n: &str| {
        conv.iter().find(|c| c["name"] == n).unwrap()["cpm"]
            .as_f64()
            .unwrap()
    };
    assert!(cpm_of("negatives dropped").is_finite());
    assert!(cpm_of("duplicates as FPs") <= cpm_of("radlab"));
    for f in [
        "froc.png",
        "froc.svg",
        "candidates.csv",
        "annotations.csv",
        "seriesuids.csv",
        "report.json",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let png = std::fs::read(dir.path().join("froc.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    // The CSVs it wrote, scored as a user's LUNA16 files: the same curve.
    let csv = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let b = run_json(
        &[
            "--candidates",
            &csv("candidates.csv"),
            "--annotations",
            &csv("annotations.csv"),
            "--seriesuids",
            &csv("seriesuids.csv"),
            "--bootstrap",
            "200",
        ],
        &dir.path().join("csv"),
    );
    assert_eq!(a["cpm"], b["cpm"]);
    assert_eq!(a["cpm_ci"], b["cpm_ci"]);
    assert_eq!(a["curve"]["points"], b["curve"]["points"]);
    // Without the scan list, the scans named in the CSVs (here all of them,
    // since the scan without lesions has candidates) and a warning.
    let c = run_json(
        &[
            "--candidates",
            &csv("candidates.csv"),
            "--annotations",
            &csv("annotations.csv"),
            "--bootstrap",
            "50",
        ],
        &dir.path().join("csv2"),
    );
    assert!(
        c["warnings"][0]
            .as_str()
            .unwrap()
            .contains("no seriesuid list")
    );
    assert_eq!(c["cpm"], a["cpm"]);
}

#[test]
fn bad_input_is_exit_2_naming_the_file_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let ann = write(
        "ann.csv",
        "seriesuid,coordX,coordY,coordZ,diameter_mm\ns1,1,2,3,6\n",
    );
    let cand = write(
        "cand.csv",
        "seriesuid,coordX,coordY,coordZ,probability\ns1,1,2,3,0.9\ns2,0,0,0,0.5\n",
    );
    let no_prob = write(
        "noprob.csv",
        "seriesuid,coordX,coordY,coordZ,score\ns1,1,2,3,0.9\n",
    );
    let not_num = write(
        "notnum.csv",
        "seriesuid,coordX,coordY,coordZ,probability\ns1,1,two,3,0.9\n",
    );
    let uids = write("uids.csv", "seriesuid\ns1\n");
    let check = |args: &[&str], words: &str| {
        radlab_tests::assert_exit_2(env!("CARGO_BIN_EXE_lab-froc"), args, &target, words)
    };
    check(
        &["--candidates", &no_prob, "--annotations", &ann],
        "noprob.csv: no column \"probability\"",
    );
    check(
        &["--candidates", &not_num, "--annotations", &ann],
        "notnum.csv line 2: coordY \"two\"",
    );
    check(
        &[
            "--candidates",
            &cand,
            "--annotations",
            &ann,
            "--seriesuids",
            &uids,
        ],
        "seriesuid s2 is not in the seriesuid list",
    );
    check(
        &[
            "--candidates",
            &cand,
            "--annotations",
            &ann,
            "--hit-rule",
            "mask",
        ],
        "needs label masks",
    );
    check(&["--candidates", &cand], "--annotations");
    check(&["--candidate-threshold", "0"], "--candidate-threshold 0");
    let missing = dir.path().join("none.csv");
    check(
        &[
            "--candidates",
            missing.to_str().unwrap(),
            "--annotations",
            &ann,
        ],
        "none.csv",
    );
    // A valid pair works: s1's nodule found at 0.9, s2 a false positive.
    let o = lab()
        .args([
            "--candidates",
            &cand,
            "--annotations",
            &ann,
            "--bootstrap",
            "20",
            "--json",
            "--out",
        ])
        .arg(dir.path().join("ok"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["curve"]["points"].as_array().unwrap().len(), 3);
    // 1 FP over 2 scans = 0.5 per scan: sensitivity 1 from 0 FPs on.
    assert_eq!(v["cpm"], 1.0);
}
