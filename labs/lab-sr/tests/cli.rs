//! lab-sr from the outside: the default run on the sample study (with a
//! real Orthanc), its objects passing dciodvfy, and bad input.

use std::process::Command;

#[test]
fn default_run_round_trips_through_orthanc() {
    let out = tempfile::tempdir().unwrap();
    let v = radlab_tests::run_json(
        env!("CARGO_BIN_EXE_lab-sr"),
        &["--created", "1764547200"],
        out.path(),
    );
    let nodules = v["nodules"].as_array().unwrap();
    // The sample study has three nodules; the segmenter finds them (and
    // may report more, each with the classifier's probability).
    assert!(nodules.len() >= 3, "{v}");
    assert!(v["template_problems"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["rerun_identical"], true);
    let p = &v["pacs"];
    assert_eq!(p["failed"].as_array().unwrap().len(), 0, "{p}");
    assert_eq!(p["stored"], 64 + 2, "64 CT slices, the SEG and the SR: {p}");
    assert_eq!(p["seg_identical"], true);
    assert_eq!(p["sr_identical"], true);
    assert_eq!(p["stopped"], true);
    let mut modalities: Vec<&str> = p["series_found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[0].as_str().unwrap())
        .collect();
    modalities.sort();
    assert_eq!(modalities, ["CT", "SEG", "SR"]);
    // The evidence lists every CT slice and the SEG.
    assert_eq!(v["evidence_instances"], 65);
    for f in ["seg.dcm", "sr.dcm"] {
        let errors = radlab_tests::dciodvfy_errors(&out.path().join(f));
        assert!(errors.is_empty(), "{f}: {errors:#?}");
    }
}

#[test]
fn tracking_uids_are_the_same_in_another_process() {
    let uids = |created: &str| {
        let out = tempfile::tempdir().unwrap();
        let v = radlab_tests::run_json(
            env!("CARGO_BIN_EXE_lab-sr"),
            &["--no-pacs", "--created", created],
            out.path(),
        );
        v["nodules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["group"]["tracking_uid"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (a, b) = (uids("1764547200"), uids("1764633600"));
    assert!(!a.is_empty());
    assert_eq!(a, b, "another process, another content date: the same UIDs");
}

#[test]
fn bad_input_exits_2_and_names_it() {
    for args in [
        vec!["--input", "/no/such/series", "--no-pacs"],
        vec!["--threshold", "1.5", "--no-pacs"],
        vec!["--dicomweb", "ftp://x"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_lab-sr"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(args[1]), "{args:?}: {err}");
    }
}
