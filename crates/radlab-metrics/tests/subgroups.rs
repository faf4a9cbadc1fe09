//! Subgroup metrics against fairlearn 0.15.0's MetricFrame and gap
//! functions (sample_data/fixtures/metrics/fairness_peers.json, made by
//! tools/metrics/make_fairness_fixture.py), and the stratified bootstrap's
//! properties.

use radlab_metrics::subgroups::{
    by_group, difference, equalized_odds, fpr, group_intervals, members, ratio, selection_rate, tpr,
};
use serde_json::Value;

fn fixture() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample_data/fixtures/metrics/fairness_peers.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn bools(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_bool().unwrap())
        .collect()
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-12, "{what}: radlab {a}, fairlearn {b}");
}

#[test]
fn by_group_gaps_and_equalized_odds_match_fairlearn() {
    let f = fixture();
    let groups: Vec<String> = f["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    let (truth, decision) = (bools(&f["truth"]), bools(&f["decision"]));
    let tprs = by_group(&groups, |i| tpr(&truth, &decision, i));
    let fprs = by_group(&groups, |i| fpr(&truth, &decision, i));
    let sel = by_group(&groups, |i| selection_rate(&decision, i));
    for (name, values) in [("tpr", &tprs), ("fpr", &fprs), ("selection", &sel)] {
        for (g, v) in values {
            close(
                v.unwrap(),
                f["by_group"][name][g].as_f64().unwrap(),
                &format!("{name} {g}"),
            );
        }
        close(
            difference(values).unwrap(),
            f["difference"][name].as_f64().unwrap(),
            &format!("{name} difference"),
        );
        close(
            ratio(values).unwrap(),
            f["ratio"][name].as_f64().unwrap(),
            &format!("{name} ratio"),
        );
    }
    let (worst, mean) = equalized_odds(&truth, &decision, &groups).unwrap();
    close(
        worst,
        f["equalized_odds_worst"].as_f64().unwrap(),
        "equalized odds, worst case",
    );
    close(
        mean,
        f["equalized_odds_mean"].as_f64().unwrap(),
        "equalized odds, mean",
    );
    close(
        difference(&sel).unwrap(),
        f["demographic_parity"].as_f64().unwrap(),
        "demographic parity",
    );
    close(
        difference(&tprs).unwrap(),
        f["equal_opportunity"].as_f64().unwrap(),
        "equal opportunity",
    );
}

/// Stratified: every resample keeps each group's size, the intervals are
/// seeded, contain the point value, and the smallest group's is the widest.
#[test]
fn stratified_intervals_are_seeded_cover_the_value_and_widen_with_fewer_cases() {
    let f = fixture();
    let groups: Vec<String> = f["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    let (truth, decision) = (bools(&f["truth"]), bools(&f["decision"]));
    let sizes: Vec<usize> = members(&groups).values().map(Vec::len).collect();
    let seen = std::cell::RefCell::new(Vec::new());
    let metric = |i: &[usize]| {
        seen.borrow_mut().push(i.len());
        selection_rate(&decision, i)
    };
    let a = group_intervals(&groups, 400, 0.95, 11, metric).unwrap();
    assert!(
        seen.borrow().chunks(3).all(|c| c == sizes.as_slice()),
        "a resample changed a group's size"
    );
    let b = group_intervals(&groups, 400, 0.95, 11, |i| selection_rate(&decision, i)).unwrap();
    assert_eq!(a, b);
    let point = by_group(&groups, |i| selection_rate(&decision, i));
    for (g, (lo, hi)) in &a {
        let p = point[g].unwrap();
        assert!(*lo <= p && p <= *hi, "{g}: {p} outside [{lo}, {hi}]");
    }
    let width = |g: &str| a[g].1 - a[g].0;
    assert!(width("c") > width("a"), "{a:?}");
    // A TPR with no positives is undefined: said, not 0.
    assert_eq!(tpr(&truth, &decision, &[]), None);
}

/// Per-group thresholds for a target sensitivity against scikit-learn
/// 1.9.1's roc_curve (sample_data/fixtures/metrics/threshold_peers.json,
/// made by tools/metrics/make_threshold_fixture.py), ties included, and
/// the target reached at the threshold and missed just above it.
#[test]
fn thresholds_for_a_target_sensitivity_match_roc_curve() {
    use radlab_metrics::subgroups::threshold_for_sensitivity;
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample_data/fixtures/metrics/threshold_peers.json");
    let f: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let groups: Vec<String> = f["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    let truth = bools(&f["truth"]);
    let scores: Vec<f64> = f["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let targets: Vec<f64> = f["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (g, idx) in members(&groups) {
        for (t, want) in targets.iter().zip(f["thresholds"][&g].as_array().unwrap()) {
            let got = threshold_for_sensitivity(&scores, &truth, &idx, *t).unwrap();
            assert_eq!(got, want.as_f64().unwrap(), "group {g}, target {t}");
            let sens = |th: f64| {
                let pos: Vec<&usize> = idx.iter().filter(|&&i| truth[i]).collect();
                pos.iter().filter(|&&&i| scores[i] >= th).count() as f64 / pos.len() as f64
            };
            assert!(sens(got) >= *t);
            assert!(sens(got + 1e-9) < *t);
        }
    }
    assert_eq!(threshold_for_sensitivity(&scores, &truth, &[], 0.9), None);
    assert_eq!(
        threshold_for_sensitivity(&scores, &truth, &[0, 1], 0.0),
        None
    );
}
