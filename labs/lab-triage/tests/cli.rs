//! lab-triage from the outside: the default pipeline on two sample studies
//! (a real Orthanc, dcmtk as the scanner, radlab's node between them), its
//! numbers checked against the rules that produced them (the quiet period,
//! Orthanc's StableAge, the nearest-rank definition), and bad input.

fn nearest_rank(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let k = ((p * s.len() as f64) / 100.0).ceil() as usize;
    s[k.max(1) - 1]
}

#[test]
fn two_studies_through_the_node_three_ways() {
    let out = tempfile::tempdir().unwrap();
    let v = radlab_tests::run_json(
        env!("CARGO_BIN_EXE_lab-triage"),
        &["--studies", "2", "--quiet-s", "1", "--stable-age-s", "1"],
        out.path(),
    );
    let sc = v["scenarios"].as_array().unwrap();
    let quiet = &sc[0];
    assert_eq!(quiet["instances_stored"], 128, "{quiet}");
    assert_eq!(quiet["refused"], 0);
    assert_eq!(
        quiet["results_in_pacs"], 4,
        "a SEG and an SR per study in Orthanc"
    );
    assert_eq!(quiet["alerts"], quiet["webhook_received"]);
    for t in quiet["timelines"].as_array().unwrap() {
        let wait = t["complete"].as_f64().unwrap() - t["last_received"].as_f64().unwrap();
        assert!(
            (1000.0..1500.0).contains(&wait),
            "a 1 s quiet period waited {wait} ms: {t}"
        );
        assert_eq!(t["complete_because"], "quiet");
        assert_eq!(t["attempts"], 1);
    }
    for st in quiet["stages"].as_array().unwrap() {
        let ms: Vec<f64> = st["ms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(
            st["p50_ms"].as_f64().unwrap(),
            nearest_rank(&ms, 50.0),
            "{st}"
        );
        assert_eq!(
            st["p95_ms"].as_f64().unwrap(),
            nearest_rank(&ms, 95.0),
            "{st}"
        );
    }
    let counted = &sc[1];
    let t = &counted["timelines"][0];
    assert_eq!(t["complete_because"], "expected-count", "{t}");
    let wait = t["complete"].as_f64().unwrap() - t["last_received"].as_f64().unwrap();
    assert!(wait < 200.0, "the shortcut waited {wait} ms");
    let f = &v["forwarded"];
    // Orthanc forwards only once the study has been stable for StableAge.
    assert!(f["pacs_wait_ms"].as_f64().unwrap() >= 1000.0, "{f}");
    assert!(f["last_instance_to_sr_ms"].as_f64().unwrap() >= f["pacs_wait_ms"].as_f64().unwrap());
    assert_eq!(v["orthanc_stopped"], true, "{v}");
    // Run again into the same folder: the earlier run's instances must not
    // turn the new ones into duplicates that never complete a study.
    let again = radlab_tests::run_json(
        env!("CARGO_BIN_EXE_lab-triage"),
        &["--studies", "1", "--quiet-s", "0.5", "--stable-age-s", "1"],
        out.path(),
    );
    assert_eq!(again["scenarios"][0]["instances_stored"], 64, "{again}");
    assert_eq!(again["scenarios"][0]["duplicates"], 0);
}

#[test]
fn bad_flags_are_bad_input() {
    for (args, needle) in [
        (vec!["--studies", "9"], "--studies 9"),
        (vec!["--quiet-s", "0"], "--quiet-s 0"),
        (vec!["--stable-age-s", "0"], "--stable-age-s 0"),
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_lab-triage"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{args:?}"
        );
    }
}
