//! lab-gradcam from the outside: the default run and bad input.

#[test]
fn default_run_measures_the_sample_series() {
    let out = tempfile::tempdir().unwrap();
    let v = radlab_tests::run_json(env!("CARGO_BIN_EXE_lab-gradcam"), &[], out.path());
    let f = v["fraction_in_lung_range"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&f), "{v}");
    assert!(v["voxels"].as_u64().unwrap() > 0, "{v}");
}

#[test]
fn a_missing_input_is_bad_input() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lab-gradcam"))
        .args(["--input", "/no/such/series"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/no/such/series"));
}
