//! Agreement coefficients against their peers (scikit-learn, statsmodels,
//! the krippendorff package: sample_data/fixtures/metrics/agreement_peers.json,
//! made by tools/metrics/make_agreement_fixture.py), Krippendorff's own
//! published example, the prevalence paradox worked by hand, and the
//! deliberate differences.

use radlab_metrics::agreement::{
    Chance, Level, Weights, cohen_kappa, count_table, fleiss_kappa, gwet_ac1, krippendorff_alpha,
    percent_agreement, subject_bootstrap,
};
use serde_json::Value;

fn fixture() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample_data/fixtures/metrics/agreement_peers.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn labels(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9, "{what}: radlab {a}, peer {b}");
}

#[test]
fn cohen_matches_scikit_learn() {
    let f = fixture();
    for (i, c) in f["cohen"].as_array().unwrap().iter().enumerate() {
        let (a, b) = (labels(&c["a"]), labels(&c["b"]));
        for (w, key) in [
            (Weights::Unweighted, "unweighted"),
            (Weights::Linear, "linear"),
            (Weights::Quadratic, "quadratic"),
        ] {
            close(
                cohen_kappa(&a, &b, w).unwrap(),
                c[key].as_f64().unwrap(),
                &format!("case {i} {key}"),
            );
        }
    }
    // The values in the notes, to their 6 digits.
    let c = &f["cohen"][0];
    let (a, b) = (labels(&c["a"]), labels(&c["b"]));
    assert!((cohen_kappa(&a, &b, Weights::Unweighted).unwrap() - 0.489362).abs() < 5e-7);
    assert!((cohen_kappa(&a, &b, Weights::Linear).unwrap() - 0.586207).abs() < 5e-7);
}

#[test]
fn fleiss_and_randolph_match_statsmodels() {
    for (i, c) in fixture()["fleiss"].as_array().unwrap().iter().enumerate() {
        let ratings: Vec<Vec<usize>> = c["ratings"]
            .as_array()
            .unwrap()
            .iter()
            .map(labels)
            .collect();
        let (table, cats) = count_table(&ratings);
        assert_eq!(cats, labels(&c["categories"]));
        close(
            fleiss_kappa(table.view(), Chance::Fleiss).unwrap(),
            c["fleiss"].as_f64().unwrap(),
            &format!("case {i} fleiss"),
        );
        close(
            fleiss_kappa(table.view(), Chance::FreeMarginal).unwrap(),
            c["randolph"].as_f64().unwrap(),
            &format!("case {i} randolph"),
        );
    }
}

#[test]
fn krippendorff_matches_the_package_and_the_published_example() {
    let f = fixture();
    for (i, c) in f["krippendorff"].as_array().unwrap().iter().enumerate() {
        let data: Vec<Vec<Option<f64>>> = c["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().iter().map(Value::as_f64).collect())
            .collect();
        for (level, key) in [
            (Level::Nominal, "nominal"),
            (Level::Ordinal, "ordinal"),
            (Level::Interval, "interval"),
            (Level::Ratio, "ratio"),
        ] {
            close(
                krippendorff_alpha(&data, level).unwrap(),
                c[key].as_f64().unwrap(),
                &format!("case {i} {key}"),
            );
        }
        // The package's default level is interval, whatever the data.
        close(
            c["package_default"].as_f64().unwrap(),
            c["interval"].as_f64().unwrap(),
            "default",
        );
        if i == 0 {
            // Krippendorff (2011), 4 observers x 12 units: the published values.
            for (level, want) in [
                (Level::Nominal, 0.743),
                (Level::Ordinal, 0.815),
                (Level::Interval, 0.849),
                (Level::Ratio, 0.797),
            ] {
                let got = krippendorff_alpha(&data, level).unwrap();
                assert!(
                    (got - want).abs() < 5e-4,
                    "{level:?}: {got} vs published {want}"
                );
            }
        }
    }
}

/// The prevalence paradox: the same 90 % agreement, two prevalences. By
/// hand: balanced, pe = 0.5, kappa = 0.8; 90 % prevalence, pe = 0.82,
/// kappa = 0.08 / 0.18; AC1's chance is 2 * 0.9 * 0.1 = 0.18 there, so
/// AC1 = 0.72 / 0.82.
#[test]
fn the_prevalence_paradox_worked_by_hand() {
    let pairs = |a: usize, b: usize, c: usize, d: usize| {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (n, l, r) in [(a, 1, 1), (b, 1, 0), (c, 0, 1), (d, 0, 0)] {
            x.extend(std::iter::repeat_n(l, n));
            y.extend(std::iter::repeat_n(r, n));
        }
        (x, y)
    };
    let (a1, b1) = pairs(45, 5, 5, 45);
    let (a2, b2) = pairs(85, 5, 5, 5);
    let k1 = cohen_kappa(&a1, &b1, Weights::Unweighted).unwrap();
    let k2 = cohen_kappa(&a2, &b2, Weights::Unweighted).unwrap();
    assert!((k1 - 0.8).abs() < 1e-12, "{k1}");
    assert!((k2 - 0.08 / 0.18).abs() < 1e-12, "{k2}");
    let table = |a: &[usize], b: &[usize]| {
        count_table(
            &a.iter()
                .zip(b)
                .map(|(&x, &y)| vec![x, y])
                .collect::<Vec<_>>(),
        )
        .0
    };
    let (t1, t2) = (table(&a1, &b1), table(&a2, &b2));
    assert!((percent_agreement(t1.view()).unwrap() - 0.9).abs() < 1e-12);
    assert!((percent_agreement(t2.view()).unwrap() - 0.9).abs() < 1e-12);
    assert!((gwet_ac1(t2.view()).unwrap() - 0.72 / 0.82).abs() < 1e-12);
    assert!((gwet_ac1(t1.view()).unwrap() - 0.8).abs() < 1e-12);
}

/// Where radlab differs on purpose: scikit-learn returns NaN with a warning
/// for two identical constant readers; radlab says why it is undefined.
/// Ratings of unequal count per subject are refused, not averaged.
#[test]
fn deliberate_differences() {
    let e = cohen_kappa(&[2, 2, 2], &[2, 2, 2], Weights::Unweighted).unwrap_err();
    assert!(e.to_string().contains("0 / 0"), "{e}");
    let e = fleiss_kappa(
        ndarray::array![[2.0, 0.0], [1.0, 1.0], [3.0, 0.0]].view(),
        Chance::Fleiss,
    )
    .unwrap_err();
    assert!(e.to_string().contains("subject 2"), "{e}");
    assert!(krippendorff_alpha(&[vec![Some(1.0)], vec![None]], Level::Nominal).is_err());
}

/// Resampling subjects: seeded (the same interval twice), the point value
/// inside, and wider with fewer subjects.
#[test]
fn bootstrap_over_subjects_is_seeded_and_covers_the_value() {
    let f = fixture();
    let c = &f["cohen"][1];
    let (a, b) = (labels(&c["a"]), labels(&c["b"]));
    let kappa = |idx: &[usize]| {
        let (x, y): (Vec<usize>, Vec<usize>) = idx.iter().map(|&i| (a[i], b[i])).unzip();
        cohen_kappa(&x, &y, Weights::Quadratic).ok()
    };
    let point = cohen_kappa(&a, &b, Weights::Quadratic).unwrap();
    let r1 = subject_bootstrap(a.len(), 500, 0.95, 7, kappa).unwrap();
    let r2 = subject_bootstrap(a.len(), 500, 0.95, 7, kappa).unwrap();
    assert_eq!(r1, r2);
    assert!(r1.0 < point && point < r1.1, "{r1:?} vs {point}");
    let few = |idx: &[usize]| kappa(&idx.iter().map(|&i| i % 40).collect::<Vec<_>>());
    let r3 = subject_bootstrap(40, 500, 0.95, 7, few).unwrap();
    assert!(r3.1 - r3.0 > r1.1 - r1.0, "{r3:?} vs {r1:?}");
}

/// Labels of any size: the table of labels 70000 and up (past the lookup
/// table of small labels) is the table of the same labels shifted down.
#[test]
fn large_labels_count_like_small_ones() {
    let small = vec![vec![0, 1, 1], vec![2, 2, 2], vec![0, 0, 2], vec![1, 2, 0]];
    let large: Vec<Vec<usize>> = small
        .iter()
        .map(|r| r.iter().map(|&v| v + 70_000).collect())
        .collect();
    let (ts, cs) = count_table(&small);
    let (tl, cl) = count_table(&large);
    assert_eq!(ts, tl);
    assert_eq!(cl, cs.iter().map(|&c| c + 70_000).collect::<Vec<_>>());
    assert_eq!(ts.sum(), 12.0);
}

/// Refusals on the paths ordinary data does not take: a non-finite rating
/// among many distinct values, and a bootstrap with no subjects, no
/// resamples or a level outside (0, 1).
#[test]
fn refusals_off_the_common_path() {
    let mut row: Vec<Option<f64>> = (0..100).map(|v| Some(f64::from(v) / 10.0)).collect();
    let other = row.clone();
    row[70] = Some(f64::INFINITY);
    assert!(krippendorff_alpha(&[row, other], Level::Interval).is_err());
    let stat = |_: &[usize]| Some(0.5);
    assert!(subject_bootstrap(0, 10, 0.95, 1, stat).is_err());
    assert!(subject_bootstrap(10, 0, 0.95, 1, stat).is_err());
    assert!(subject_bootstrap(10, 10, 1.5, 1, stat).is_err());
    assert!(subject_bootstrap(10, 10, 0.0, 1, stat).is_err());
    assert!(subject_bootstrap(10, 10, 0.95, 1, stat).is_ok());
}
