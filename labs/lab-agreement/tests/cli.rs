//! lab-agreement from the outside: the default run shows what the chapter
//! says it shows, the label set's hash chain catches tampering, bad flags
//! are bad input.

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_lab-agreement")
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[test]
fn the_default_run_shows_the_chapter_s_claims() {
    let out = tempfile::tempdir().unwrap();
    let v = radlab_tests::run_json(exe(), &[], out.path());
    // Every presence coefficient lies inside its own interval.
    for c in v["presence"].as_array().unwrap() {
        let (x, lo, hi) = (f(&c["value"]), f(&c["interval"][0]), f(&c["interval"][1]));
        assert!(lo <= x && x <= hi, "{c}");
    }
    // The paradox: raw agreement within 0.03, kappa down by more than 0.2,
    // AC1 not down.
    let (a, b) = (&v["paradox"][0], &v["paradox"][1]);
    assert!(
        (f(&a["percent_agreement"]) - f(&b["percent_agreement"])).abs() < 0.03,
        "{a} {b}"
    );
    assert!(f(&a["fleiss"]) - f(&b["fleiss"]) > 0.2, "{a} {b}");
    assert!(f(&b["ac1"]) >= f(&a["ac1"]) - 0.02, "{a} {b}");
    // Scores: the ordinal level above the nominal one.
    assert!(
        f(&v["scores"][0]["value"]) > f(&v["scores"][2]["value"]) + 0.1,
        "{}",
        v["scores"]
    );
    // The readers' characters show: the cautious one calls least, the
    // liberal one most and has the lowest specificity; STAPLE's estimate of
    // it is within 0.05 of the truth; the loose outliner has the worst
    // outline Dice and outline specificity.
    let r = v["readers"].as_array().unwrap();
    let called: Vec<u64> = r.iter().map(|x| x["called"].as_u64().unwrap()).collect();
    assert_eq!(called.iter().min(), Some(&called[1]), "{called:?}");
    assert_eq!(called.iter().max(), Some(&called[2]), "{called:?}");
    assert!((f(&r[2]["staple_specificity"]) - f(&r[2]["specificity"])).abs() < 0.05);
    for k in 0..4 {
        assert!(f(&r[4]["outline_dice"]) < f(&r[k]["outline_dice"]) - 0.1);
        assert!(f(&r[4]["outline_specificity"]) < f(&r[k]["outline_specificity"]));
    }
    // Reference standards: every reader-made one scores the classifier
    // below the truth; soft labels lowest.
    let s = v["standards"].as_array().unwrap();
    let truth = f(&s[0]["auroc"]);
    for x in &s[1..] {
        assert!(f(&x["auroc"]) < truth, "{x}");
        assert!(f(&x["label_errors"]) > 0.0, "{x}");
    }
    assert!(s[1..5].iter().all(|x| f(&s[5]["auroc"]) < f(&x["auroc"])));
    // Label QA: every planted error found, the corrected set clean, the chain holds.
    let q = &v["qa"];
    assert_eq!(q["planted"].as_array().unwrap().len(), 4, "{q}");
    assert_eq!(q["found"], 4, "{q}");
    assert_eq!(q["second_pass_findings"], 0, "{q}");
    assert_eq!(q["chain_verified"], true, "{q}");
    assert!(lab_agreement::pipeline::verify_chain(out.path()).unwrap());
    // One changed byte in any of the three files breaks the chain.
    for (file, at) in [
        ("labels-v1.json", "\"score\": "),
        ("labels-v2.json", "\"score\": "),
        ("audit.jsonl", "\"version\":"),
    ] {
        let p = out.path().join(file);
        let before = std::fs::read(&p).unwrap();
        let text = String::from_utf8_lossy(&before);
        let i = text.find(at).unwrap_or_else(|| panic!("{file}")) + at.len();
        let mut bytes = before.clone();
        bytes[i] = if bytes[i] == b'7' { b'8' } else { b'7' };
        std::fs::write(&p, &bytes).unwrap();
        assert!(
            !lab_agreement::pipeline::verify_chain(out.path()).unwrap(),
            "{file}"
        );
        std::fs::write(&p, &before).unwrap();
        assert!(lab_agreement::pipeline::verify_chain(out.path()).unwrap());
    }
}

#[test]
fn out_of_range_flags_are_bad_input() {
    let out = tempfile::tempdir().unwrap();
    for (args, words) in [
        (&["--cases", "1"][..], "--cases 1"),
        (&["--resamples", "0"][..], "--resamples 0"),
        (&["--negatives", "0"][..], "--negatives 0"),
    ] {
        radlab_tests::assert_exit_2(exe(), args, &out.path().join("never"), words);
    }
}
