//! The graded checks of lab-froc. Messages name the convention broken and
//! show expected vs got on a small example.

use radlab_grade::{Check, Kind, Outcome, Visibility};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::tasks::{Detection, Nodule, REFERENCE, Scan, Tasks};

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn d(score: f64, lesion: Option<usize>) -> Detection {
    Detection { score, lesion }
}

fn expect_matches(
    t: &'static Tasks,
    c: &[[f64; 3]],
    n: &[Nodule],
    want: &[Option<usize>],
    what: &str,
    rule: &str,
) -> Outcome {
    let got = (t.match_radius)(c, n);
    if got == want {
        Ok(format!("{what}: {got:?}"))
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}.\n{rule}"))
    }
}

fn match_worked(t: &'static Tasks) -> Outcome {
    expect_matches(
        t,
        &[
            [0.0, 0.0, 4.9],
            [0.0, 0.0, 5.1],
            [3.0, 0.0, 3.0],
            [0.0, 7.0, 0.0],
        ],
        &[([0.0, 0.0, 0.0], 10.0)],
        &[Some(0), None, Some(0), None],
        "one nodule of diameter 10 mm at the origin; candidates 4.9, 5.1, 4.24 and 7 mm away",
        "LUNA16: a hit is within the nodule's radius of its centre, and the radius is half the diameter (5 mm here). Distances are Euclidean in mm over all three axes.",
    )
}

fn match_nearest(t: &'static Tasks) -> Outcome {
    expect_matches(
        t,
        &[[0.0, 0.0, 6.0], [0.0, 0.0, -3.0]],
        &[([0.0, 0.0, 0.0], 20.0), ([0.0, 0.0, 8.0], 10.0)],
        &[Some(1), Some(0)],
        "nodule 0 (diameter 20 mm) at x = 0 and nodule 1 (10 mm) at x = 8; candidates at x = 6 and x = -3",
        "The candidate at x = 6 is within range of both: it belongs to the nearest centre (nodule 1, 2 mm away), not the first in the list.",
    )
}

/// Exactly on the radius (3-4-5: the squared distance 25 is exact in
/// floating point) and exactly halfway between two centres.
fn match_edges(t: &'static Tasks) -> Outcome {
    expect_matches(
        t,
        &[[0.0, 3.0, 4.0], [0.0, 0.0, 20.0], [0.0, 0.0, 23.0 + 1e-9]],
        &[
            ([0.0, 0.0, 0.0], 10.0),
            ([0.0, 0.0, 16.0], 10.0),
            ([0.0, 0.0, 24.0], 10.0),
        ],
        &[Some(0), Some(1), Some(2)],
        "nodules of diameter 10 mm at x = 0, 16 and 24; candidates 5 mm from the first (exactly its radius), at x = 20 (4 mm from the second and the third) and just past x = 23",
        "\"At most the radius\" includes the radius itself (<=, not <). A candidate equally near two centres goes to the first of them in the list; a strictly nearer one always wins.",
    )
}

fn match_random(t: &'static Tasks) -> Outcome {
    let seed_note_601 = radlab_grade::seed_note(601);
    let mut r = radlab_grade::check_rng(601);
    for case in 0..100 {
        let nodules: Vec<Nodule> = (0..r.random_range(0..5))
            .map(|_| {
                (
                    [
                        r.random_range(0.0..40.0),
                        r.random_range(0.0..40.0),
                        r.random_range(0.0..40.0),
                    ],
                    r.random_range(3.0..30.0),
                )
            })
            .collect();
        let cands: Vec<[f64; 3]> = (0..r.random_range(0..12))
            .map(|_| {
                [
                    r.random_range(0.0..40.0),
                    r.random_range(0.0..40.0),
                    r.random_range(0.0..40.0),
                ]
            })
            .collect();
        let (got, want) = (
            (t.match_radius)(&cands, &nodules),
            (REFERENCE.match_radius)(&cands, &nodules),
        );
        if got != want {
            return Err(format!(
                "seeded case {case} ({seed_note_601}): {} candidates, {} nodules: expected {want:?}, got {got:?}",
                cands.len(),
                nodules.len()
            ));
        }
    }
    Ok("100 seeded cases match the reference".into())
}

fn expect_point(
    t: &'static Tasks,
    scans: &[Scan],
    threshold: f64,
    want: (f64, f64),
    what: &str,
    rule: &str,
) -> Outcome {
    let got = (t.froc_point)(scans, threshold);
    if same(got.0, want.0) && same(got.1, want.1) {
        Ok(format!("{what}: {got:?}"))
    } else {
        Err(format!(
            "{what}, threshold {threshold}: expected (fps per scan, sensitivity) = {want:?}, got {got:?}.\n{rule}"
        ))
    }
}

fn froc_duplicates(t: &'static Tasks) -> Outcome {
    let scans = [Scan {
        detections: vec![
            d(0.9, Some(0)),
            d(0.8, Some(0)),
            d(0.7, Some(0)),
            d(0.6, None),
        ],
        lesions: 2,
    }];
    expect_point(
        t,
        &scans,
        0.5,
        (1.0, 0.5),
        "one scan, two lesions: three detections on lesion 0, one false positive",
        "Several detections on one lesion find it once (1 of 2 lesions) and are not false positives (1 false positive, not 3).",
    )
}

fn froc_negatives(t: &'static Tasks) -> Outcome {
    let scans = [
        Scan {
            detections: vec![d(0.9, Some(0))],
            lesions: 1,
        },
        Scan {
            detections: vec![d(0.8, None), d(0.7, None)],
            lesions: 0,
        },
        Scan {
            detections: vec![],
            lesions: 0,
        },
    ];
    expect_point(
        t,
        &scans,
        0.5,
        (2.0 / 3.0, 1.0),
        "three scans, two without lesions, two false positives in one of those",
        "Scans without lesions count: their candidates are false positives and every scan is in the denominator of \"false positives per scan\" (2 / 3 here, not 2 / 1).",
    )
}

fn froc_pooled(t: &'static Tasks) -> Outcome {
    let scans = [
        Scan {
            detections: vec![d(0.9, Some(0))],
            lesions: 1,
        },
        Scan {
            detections: vec![d(0.2, Some(1))],
            lesions: 3,
        },
    ];
    expect_point(
        t,
        &scans,
        0.5,
        (0.0, 0.25),
        "scan 1 finds its only lesion, scan 2 finds none of its three",
        "Sensitivity is pooled over lesions: 1 found of 4 = 0.25. Averaging per scan (1 and 0) gives 0.5 and weighs a one-nodule scan like a three-nodule scan.",
    )
}

fn froc_inclusive(t: &'static Tasks) -> Outcome {
    let scans = [Scan {
        detections: vec![d(0.5, Some(0)), d(0.5, None)],
        lesions: 1,
    }];
    expect_point(
        t,
        &scans,
        0.5,
        (1.0, 1.0),
        "two detections scored exactly at the threshold",
        "Detections with score >= threshold are kept (the threshold itself included), as in every FROC script.",
    )
}

fn random_scans(r: &mut ChaCha8Rng) -> Vec<Scan> {
    (0..r.random_range(1..12))
        .map(|_| {
            let lesions = if r.random_bool(0.3) {
                0
            } else {
                r.random_range(1..4)
            };
            let detections = (0..r.random_range(0..8))
                .map(|_| {
                    let hit =
                        (lesions > 0 && r.random_bool(0.4)).then(|| r.random_range(0..lesions));
                    d((r.random_range(0..20) as f64) / 20.0, hit)
                })
                .collect();
            Scan {
                detections,
                lesions,
            }
        })
        .collect()
}

fn froc_random(t: &'static Tasks) -> Outcome {
    let seed_note_602 = radlab_grade::seed_note(602);
    let mut r = radlab_grade::check_rng(602);
    let mut done = 0;
    for case in 0..200 {
        let scans = random_scans(&mut r);
        if scans.iter().all(|s| s.lesions == 0) {
            continue;
        }
        let th = (r.random_range(0..21) as f64) / 20.0;
        let (got, want) = (
            (t.froc_point)(&scans, th),
            (REFERENCE.froc_point)(&scans, th),
        );
        if !(same(got.0, want.0) && same(got.1, want.1)) {
            return Err(format!(
                "seeded case {case} ({seed_note_602}): {} scans, threshold {th}: expected {want:?}, got {got:?}",
                scans.len()
            ));
        }
        done += 1;
    }
    Ok(format!("{done} seeded scan sets match the reference"))
}

/// `want` is worked by hand from numpy.interp's rule, not taken from the
/// reference, so a mistake in the reference's interpolation fails too.
fn expect_cpm(
    t: &'static Tasks,
    curve: &[(f64, f64)],
    want: f64,
    what: &str,
    rule: &str,
) -> Outcome {
    let got = (t.cpm)(curve);
    if same(got, want) {
        Ok(format!("{what}: {got}"))
    } else {
        Err(format!("{what}: expected {want}, got {got}.\n{rule}"))
    }
}

fn cpm_points(t: &'static Tasks) -> Outcome {
    expect_cpm(
        t,
        &[
            (0.0, 0.0),
            (0.125, 0.1),
            (0.25, 0.2),
            (0.5, 0.3),
            (1.0, 0.4),
            (2.0, 0.5),
            (4.0, 0.6),
            (8.0, 0.7),
        ],
        0.4,
        "a curve passing through every operating point (0.125 -> 0.1 ... 8 -> 0.7)",
        "The CPM averages LUNA16's seven operating points: 1/8, 1/4, 1/2, 1, 2, 4 and 8 FPs per scan (mean 0.4 here). CAMELYON16's six (1/4 to 8, MONAI's default) give 0.45.",
    )
}

fn cpm_interpolation(t: &'static Tasks) -> Outcome {
    expect_cpm(
        t,
        &[(0.0, 0.0), (0.1, 0.5), (1.5, 0.8), (10.0, 0.9)],
        {
            // (x - 0.1) / 1.4 of the way from 0.5 to 0.8, then (x - 1.5) / 8.5 from 0.8 to 0.9.
            let low = |x: f64| 0.5 + 0.3 * (x - 0.1) / 1.4;
            let high = |x: f64| 0.8 + 0.1 * (x - 1.5) / 8.5;
            (low(0.125) + low(0.25) + low(0.5) + low(1.0) + high(2.0) + high(4.0) + high(8.0)) / 7.0
        },
        "a curve with points at 0.1, 1.5 and 10 FPs per scan",
        "Between curve points, interpolate linearly like numpy.interp: at 1 FP per scan, 0.5 + (0.8 - 0.5) * (1 - 0.1) / (1.5 - 0.1). Taking the previous point (a step) or the nearest point is a different metric.",
    )
}

fn cpm_beyond(t: &'static Tasks) -> Outcome {
    expect_cpm(
        t,
        &[(0.0, 0.0), (0.25, 0.4), (1.0, 0.6)],
        (0.2 + 0.4 + (0.4 + 0.2 * 0.25 / 0.75) + 0.6 * 4.0) / 7.0,
        "a curve that ends at 1 FP per scan",
        "Beyond the last curve point the sensitivity stays at its last value (numpy.interp's right edge): 0.6 at 2, 4 and 8 FPs per scan, not 0 and not extrapolated.",
    )
}

fn cpm_random(t: &'static Tasks) -> Outcome {
    let seed_note_603 = radlab_grade::seed_note(603);
    let mut r = radlab_grade::check_rng(603);
    for case in 0..200 {
        let mut x = 0.0;
        let mut y = 0.0;
        let mut curve = vec![(0.0, 0.0)];
        for _ in 0..r.random_range(1..15) {
            if r.random_bool(0.7) {
                x += r.random_range(0.0..2.0);
            }
            y = f64::min(1.0, y + r.random_range(0.0..0.2));
            curve.push((x, y));
        }
        let (got, want) = ((t.cpm)(&curve), (REFERENCE.cpm)(&curve));
        if !same(got, want) {
            return Err(format!(
                "seeded case {case} ({seed_note_603}), curve {curve:?}: expected {want}, got {got}"
            ));
        }
    }
    Ok("200 seeded curves (some with repeated FP rates) match the reference".into())
}

/// Every check, in the order the table shows them.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "match-radius" => {
            "match/worked": 1.0, Visible, WorkedExample, match_worked;
            "match/nearest": 1.0, Visible, WorkedExample, match_nearest;
            "match/radius-and-ties": 1.0, Hidden, WorkedExample, match_edges;
            "match/random-vs-reference": 1.0, Hidden, Property, match_random;
        }
        "froc-count" => {
            "froc/duplicates-once": 1.0, Visible, WorkedExample, froc_duplicates;
            "froc/negative-scans": 1.0, Visible, WorkedExample, froc_negatives;
            "froc/pooled-sensitivity": 1.0, Visible, WorkedExample, froc_pooled;
            "froc/threshold-inclusive": 0.5, Visible, WorkedExample, froc_inclusive;
            "froc/random-vs-reference": 0.5, Hidden, Property, froc_random;
        }
        "cpm" => {
            "cpm/operating-points": 1.0, Visible, WorkedExample, cpm_points;
            "cpm/interpolation": 1.0, Visible, WorkedExample, cpm_interpolation;
            "cpm/beyond-the-curve": 0.5, Visible, WorkedExample, cpm_beyond;
            "cpm/random-vs-reference": 0.5, Hidden, Property, cpm_random;
        }
    ]
}
