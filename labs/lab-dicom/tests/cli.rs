//! lab-dicom from the outside: default run, --json keys, any series, bad input.

use std::process::Command;

/// A JSON array of numbers.
fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn lab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lab-dicom"))
}

#[test]
fn default_run_on_sample_data() {
    let out = tempfile::tempdir().unwrap();
    let o = lab().arg("--out").arg(out.path()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "Patient",
        "Geometry",
        "InstanceNumber runs opposite",
        "Identifying data",
        "OtherPatientIDsSequence[0] > PatientID",
        "Labels vs masks",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // Identifying values are masked by default.
    let case: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            radlab_tests::workspace_root().join("sample_data/case-001/case.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let name = case["identity"]["patient_name"].as_str().unwrap();
    assert!(!text.contains(name), "patient name printed unmasked");
    assert!(out.path().join("header.json").exists() && out.path().join("report.json").exists());
}

#[test]
fn json_report_has_stable_keys_and_true_values() {
    let out = tempfile::tempdir().unwrap();
    let o = lab()
        .args(["--json", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["shape"], serde_json::json!([64, 192, 192]));
    assert_eq!(v["spacing_mm"], serde_json::json!([2.5, 1.8, 1.8]));
    for k in ["min", "max", "mean"] {
        assert!(v["hu"][k].is_number());
    }
    assert_eq!(v["hu"]["min"], -1024.0);
    assert_eq!(v["series"].as_array().unwrap().len(), 1);
    let phi = v["phi_tags"].as_array().unwrap();
    for kw in [
        "PatientName",
        "PatientBirthDate",
        "AccessionNumber",
        "InstitutionName",
        "private",
    ] {
        assert!(
            phi.iter().any(|p| p["keyword"] == kw),
            "phi_tags lacks {kw}"
        );
    }
    assert!(v["origin"].is_array());
    // Header JSON is DICOM JSON: tags as keys with vr and Value.
    let header: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("header.json")).unwrap())
            .unwrap();
    assert_eq!(header["00080060"]["vr"], "CS");
    assert_eq!(header["00080060"]["Value"][0], "CT");
    // The classifier's most suspicious patch sits on a nodule of the ground truth.
    let c = &v["classifier"];
    assert!(c["max_probability"].as_f64().unwrap() > 0.5, "{c}");
    let at = floats(&c["at_voxel"]);
    let case: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            radlab_tests::workspace_root().join("sample_data/case-001/case.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let near = case["nodules"].as_array().unwrap().iter().any(|n| {
        let cv = floats(&n["center_voxel"]);
        (cv[0] - at[0]).abs() <= 3.0
            && (cv[1] - at[1]).abs() <= 10.0
            && (cv[2] - at[2]).abs() <= 10.0
    });
    assert!(near, "most suspicious patch {at:?} is on no nodule");
    // at_mm is the same point in patient coordinates.
    let mm = floats(&c["at_mm"]);
    let origin = floats(&v["origin"]);
    assert!((mm[0] - (origin[0] + at[2] * 1.8)).abs() < 1e-6, "{mm:?}");
}

#[test]
fn picks_a_series_from_a_folder_with_two() {
    let tmp = tempfile::tempdir().unwrap();
    radlab_tests::small_synth_series(&tmp.path().join("a"), 41, 3);
    radlab_tests::small_synth_series(&tmp.path().join("b"), 42, 5);
    let b_uid = radlab_dicom::uid::derived(42, "series");
    let o = lab()
        .arg("--input")
        .arg(tmp.path())
        .args(["--series", &b_uid, "--json", "--out"])
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["series_uid"], b_uid.as_str());
    assert_eq!(v["shape"][0], 5);
    assert_eq!(v["series"].as_array().unwrap().len(), 2);
}

#[test]
fn missing_slice_warns_and_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let files = radlab_tests::small_synth_series(tmp.path(), 51, 6);
    std::fs::remove_file(&files[2]).unwrap();
    let o = lab()
        .arg("--input")
        .arg(tmp.path().join("ct"))
        .arg("--out")
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("slice(s) missing"), "{text}");
}

#[test]
fn bad_input_exits_2_with_one_line_and_writes_nothing() {
    radlab_tests::check_bad_inputs(std::path::Path::new(env!("CARGO_BIN_EXE_lab-dicom")));
}

#[test]
fn hostile_corpus_is_refused_by_name_or_read_with_a_warning() {
    radlab_tests::hostile::check_corpus(
        std::path::Path::new(env!("CARGO_BIN_EXE_lab-dicom")),
        &["--skip-model"],
        true,
        false,
    );
}
