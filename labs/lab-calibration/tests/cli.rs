//! lab-calibration from the outside: the phantom run, your own logits, bad input.

fn run_json(args: &[&str], out: &std::path::Path) -> serde_json::Value {
    radlab_tests::run_json(env!("CARGO_BIN_EXE_lab-calibration"), args, out)
}

#[test]
fn phantom_run_improves_after_scaling_fitted_on_validation() {
    let dir = tempfile::tempdir().unwrap();
    let v = run_json(&["--cases", "8", "--bootstrap", "100"], dir.path());
    assert_eq!(v["classes"], 2);
    let before = &v["before"];
    let after = &v["after_temperature"];
    // Temperature scaling keeps the accuracy and lowers the test NLL and ECE here.
    assert_eq!(before["accuracy"], after["accuracy"]);
    assert!(
        after["nll"].as_f64().unwrap() < before["nll"].as_f64().unwrap(),
        "{v}"
    );
    assert!(
        after["ece"].as_f64().unwrap() < before["ece"].as_f64().unwrap(),
        "{v}"
    );
    // The four library conventions.
    let libs = v["libraries"].as_array().unwrap();
    assert_eq!(libs.len(), 4);
    let t = v["temperature"].as_f64().unwrap();
    assert!(t > 0.0 && t.is_finite());
    // Validation NLL falls at the fitted temperature.
    let (a, b) = (
        v["temperature_nll_validation"][0].as_f64().unwrap(),
        v["temperature_nll_validation"][1].as_f64().unwrap(),
    );
    assert!(b <= a);
    // Diagram bins cover every test prediction.
    let n = v["test"]["predictions"].as_u64().unwrap();
    for d in v["diagrams"].as_array().unwrap() {
        let total: u64 = d["bins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum();
        assert_eq!(total, n);
    }
    let png = std::fs::read(dir.path().join("reliability.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert!(dir.path().join("reliability.svg").is_file());
}

#[test]
fn your_own_three_class_logits_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    // Three classes, over-confident logits: labels follow softmax(z / 2).
    let mut logits = String::from("a,b,c\n");
    let mut labels = String::new();
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..600 {
        let z: Vec<f64> = (0..3).map(|_| next() * 8.0 - 4.0).collect();
        let w: Vec<f64> = z.iter().map(|v| (v / 2.0).exp()).collect();
        let s: f64 = w.iter().sum();
        let u = next() * s;
        let label = if u < w[0] {
            0
        } else if u < w[0] + w[1] {
            1
        } else {
            2
        };
        logits.push_str(&format!("{},{},{}\n", z[0], z[1], z[2]));
        labels.push_str(&format!("{label}\n"));
    }
    let (zp, lp) = (dir.path().join("z.csv"), dir.path().join("y.txt"));
    std::fs::write(&zp, logits).unwrap();
    std::fs::write(&lp, labels).unwrap();
    let v = run_json(
        &[
            "--logits",
            zp.to_str().unwrap(),
            "--labels",
            lp.to_str().unwrap(),
            "--bootstrap",
            "50",
        ],
        &dir.path().join("out"),
    );
    assert_eq!(v["classes"], 3);
    assert_eq!(v["target"], "TopLabel");
    let t = v["temperature"].as_f64().unwrap();
    assert!((1.4..2.8).contains(&t), "T = {t}, made with 2");
    assert!(v["after_platt"].is_null());
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
    let probs = write("p.csv", "0.2,0.8\n0.6,0.4\n0.5,0.5\n0.9,0.1\n");
    let logits = write("z.csv", "1.5\n-0.3\n2.0\nx\n");
    let good = write("g.csv", "1.5\n-0.3\n2.0\n0.1\n");
    let labels = write("y.txt", "1\n0\n1\n0\n");
    let bad_labels = write("yb.txt", "1\n0\n7\n0\n");
    let short = write("ys.txt", "1\n0\n");
    let check = |args: &[&str], words: &str| {
        radlab_tests::assert_exit_2(env!("CARGO_BIN_EXE_lab-calibration"), args, &target, words)
    };
    check(
        &["--logits", &probs, "--labels", &labels],
        "look like probabilities",
    );
    check(&["--logits", &logits, "--labels", &labels], "z.csv line 4");
    check(&["--logits", &good, "--labels", &bad_labels], "label 7");
    check(&["--logits", &good, "--labels", &short], "has 4 rows but");
    check(
        &[
            "--logits",
            &good,
            "--labels",
            &labels,
            "--fit-fraction",
            "1.5",
        ],
        "--fit-fraction",
    );
    check(&["--bins", "0"], "--bins 0");
    check(&["--logits", &good], "--labels");
}
