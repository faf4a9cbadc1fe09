//! The service's pure parts against independent oracles: properties of the
//! completeness rule, the wildcard matcher against a recursive definition,
//! the queue against a stable sort, percentiles against their definition,
//! the plane of standard orientations, the rules file's errors.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;
use radlab_triage::complete::{Progress, Reason, Rule};
use radlab_triage::queue::Queue;
use radlab_triage::rules::{Orientation, Routes, SeriesFacts, wildcard};
use radlab_triage::timeline::percentile;

/// PS3.4 C.2.2.2.4 wildcard matching, written as its recursive definition.
fn wildcard_oracle(p: &[char], t: &[char]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some('*'), _) => {
            wildcard_oracle(&p[1..], t) || (!t.is_empty() && wildcard_oracle(p, &t[1..]))
        }
        (Some('?'), Some(_)) => wildcard_oracle(&p[1..], &t[1..]),
        (Some(a), Some(b)) => a == b && wildcard_oracle(&p[1..], &t[1..]),
        _ => false,
    }
}

proptest! {
    #[test]
    fn wildcard_is_its_definition(p in "[AB*?]{0,7}", t in "[AB]{0,9}") {
        let (pc, tc): (Vec<char>, Vec<char>) = (p.chars().collect(), t.chars().collect());
        prop_assert_eq!(wildcard(&p, &t), wildcard_oracle(&pc, &tc), "{} vs {}", p, t);
    }

    /// Quiet: never before `last + quiet`, always from then on.
    #[test]
    fn the_quiet_period_is_exact(
        times in proptest::collection::vec(0u64..10_000, 1..20),
        quiet in 1u64..5_000,
        probe in 0u64..20_000,
    ) {
        let rule = Rule { quiet: Duration::from_millis(quiet), expected_count: false };
        let mut p = Progress::default();
        for (i, t) in times.iter().enumerate() {
            p.add(if i % 2 == 0 { "1.2" } else { "1.3" }, Some(1), Duration::from_millis(*t));
        }
        let last = *times.iter().max().unwrap();
        let now = Duration::from_millis(probe);
        let got = rule.check(&p, now);
        if probe >= last + quiet {
            prop_assert_eq!(got, Some(Reason::Quiet));
        } else {
            prop_assert_eq!(got, None);
        }
        prop_assert_eq!(rule.due(&p), Duration::from_millis(last + quiet));
    }

    /// The queue pops as a stable sort by descending priority would order.
    #[test]
    fn the_queue_is_a_stable_priority_order(prios in proptest::collection::vec(-3i32..3, 0..40)) {
        let mut q = Queue::default();
        for (i, p) in prios.iter().enumerate() {
            q.push(*p, i);
        }
        let mut want: Vec<(i32, usize)> = prios.iter().copied().zip(0..).collect();
        want.sort_by_key(|&(p, _)| std::cmp::Reverse(p));
        let got: Vec<usize> = std::iter::from_fn(|| q.pop()).collect();
        prop_assert_eq!(got, want.into_iter().map(|(_, i)| i).collect::<Vec<_>>());
    }

    /// Nearest rank: at least p % of the values are <= the result, and
    /// fewer than p % are < it.
    #[test]
    fn percentile_is_nearest_rank(v in proptest::collection::vec(-100i32..100, 1..50), p in 1u32..=100) {
        let v: Vec<f64> = v.into_iter().map(f64::from).collect();
        let r = percentile(&v, f64::from(p)).unwrap();
        prop_assert!(v.contains(&r));
        let n = v.len() as f64;
        let at_or_below = v.iter().filter(|&&x| x <= r).count() as f64;
        let below = v.iter().filter(|&&x| x < r).count() as f64;
        prop_assert!(at_or_below * 100.0 >= f64::from(p) * n);
        prop_assert!(below * 100.0 < f64::from(p) * n);
    }
}

#[test]
fn expected_count_completes_at_the_last_instance_and_not_before() {
    let s = Duration::from_secs;
    let rule = Rule {
        quiet: s(60),
        expected_count: true,
    };
    let mut p = Progress::default();
    for i in 0..63 {
        p.add("1.2.3", Some(64), s(i));
        assert_eq!(rule.check(&p, s(i)), None, "at instance {i}");
    }
    // A second series without a count holds the shortcut back.
    let mut q = p.clone();
    q.add("1.2.4", None, s(63));
    p.add("1.2.3", Some(64), s(63));
    assert_eq!(rule.check(&p, s(63)), Some(Reason::ExpectedCount));
    q.add("1.2.3", Some(64), s(63));
    assert_eq!(rule.check(&q, s(63)), None);
    assert_eq!(rule.check(&q, s(123)), Some(Reason::Quiet));
    // No instances: never complete.
    assert_eq!(rule.check(&Progress::default(), s(1000)), None);
}

#[test]
fn percentile_worked_values() {
    // The nearest-rank example of the definition: 5 values.
    let v = [15.0, 20.0, 35.0, 40.0, 50.0];
    assert_eq!(percentile(&v, 5.0), Some(15.0));
    assert_eq!(percentile(&v, 30.0), Some(20.0));
    assert_eq!(percentile(&v, 40.0), Some(20.0));
    assert_eq!(percentile(&v, 50.0), Some(35.0));
    assert_eq!(percentile(&v, 100.0), Some(50.0));
    // 20 values: P95 is the 19th, not an interpolation with the 20th.
    let w: Vec<f64> = (1..=20).map(f64::from).collect();
    assert_eq!(percentile(&w, 95.0), Some(19.0));
    assert_eq!(percentile(&w, 0.0), None);
    assert_eq!(percentile(&[], 50.0), None);
}

#[test]
fn planes_of_standard_orientations() {
    assert_eq!(
        Orientation::from_cosines(&[1., 0., 0., 0., 1., 0.]),
        Orientation::Axial
    );
    assert_eq!(
        Orientation::from_cosines(&[1., 0., 0., 0., 0., -1.]),
        Orientation::Coronal
    );
    assert_eq!(
        Orientation::from_cosines(&[0., 1., 0., 0., 0., -1.]),
        Orientation::Sagittal
    );
    let c = std::f64::consts::FRAC_1_SQRT_2;
    assert_eq!(
        Orientation::from_cosines(&[1., 0., 0., 0., c, c]),
        Orientation::Oblique
    );
    // 30 degrees of gantry tilt is still axial (normal z = cos 30 = 0.87).
    let (a, b) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
    assert_eq!(
        Orientation::from_cosines(&[1., 0., 0., 0., a, b]),
        Orientation::Axial
    );
}

fn facts() -> SeriesFacts {
    SeriesFacts {
        series: "1.2.3".into(),
        modality: "CT".into(),
        body_part: "CHEST".into(),
        orientation: Some(Orientation::Axial),
        slice_thickness_mm: Some(2.5),
        description: "CT CHEST LUNG 2.5MM".into(),
        instances: 64,
    }
}

#[test]
fn routes_match_first_and_say_why_not() {
    let text = r#"
        [[route]]
        name = "stroke"
        modality = "CT"
        body_part = ["HEAD", "BRAIN"]
        priority = 9
        analysis = "nodules"

        [[route]]
        name = "chest thin"
        modality = "ct"
        body_part = ["chest"]
        orientation = "axial"
        slice_thickness_mm = [0.5, 2.5]
        description = "*LUNG*"
        min_instances = 64
        priority = 1
        analysis = "nodules"
    "#;
    let r = Routes::parse(text, Path::new("rules.toml")).unwrap();
    let f = facts();
    assert_eq!(r.select(&f).unwrap().name, "chest thin");
    // Boundaries are inclusive.
    let mut g = f.clone();
    g.slice_thickness_mm = Some(2.5000001);
    let why = r.select(&g).unwrap_err();
    assert!(why[0].1.contains("body part"), "{why:?}");
    assert!(why[1].1.contains("slice thickness 2.5000001 mm"), "{why:?}");
    let mut h = f.clone();
    h.instances = 63;
    assert!(r.select(&h).unwrap_err()[1].1.contains("63 instances"));
    let mut k = f;
    k.body_part = "HEAD".into();
    assert_eq!(r.select(&k).unwrap().name, "stroke");
    assert_eq!(
        Routes::default_chest_ct()
            .select(&facts())
            .unwrap()
            .priority,
        1
    );
}

#[test]
fn a_wrong_rules_file_names_the_file_the_route_and_the_key() {
    let p = Path::new("site/rules.toml");
    let e = Routes::parse(
        "[[route]]\nname = \"x\"\nanalysis = \"nodules\"\nmodaliy = \"CT\"\n",
        p,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("site/rules.toml") && e.contains("modaliy"),
        "{e}"
    );
    let e = Routes::parse(
        "[[route]]\nname = \"x\"\nanalysis = \"nodules\"\nslice_thickness_mm = [3.0, 1.0]\n",
        p,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("\"x\"") && e.contains("[3, 1]"), "{e}");
    let e = Routes::parse("[[route]]\nname = \"y\"\nanalysis = \"brains\"\n", p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("brains"), "{e}");
}
