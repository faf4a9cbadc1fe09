//! AUROC and accuracy against independent oracles: brute-force pair
//! counting, and hand-worked examples.

use proptest::prelude::*;
use radlab_metrics::classification::{accuracy, auroc};

/// The definition: over every (positive, negative) pair, 1 if the positive
/// scores higher, 1/2 on a tie.
fn auroc_by_pairs(scores: &[f64], labels: &[bool]) -> f64 {
    let mut total = 0.0;
    let mut pairs = 0.0;
    for (i, &li) in labels.iter().enumerate() {
        for (j, &lj) in labels.iter().enumerate() {
            if li && !lj {
                pairs += 1.0;
                total += if scores[i] > scores[j] {
                    1.0
                } else if scores[i] == scores[j] {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    total / pairs
}

proptest! {
    #[test]
    fn auroc_equals_pair_counting(
        data in prop::collection::vec((0u8..6, any::<bool>()), 2..60)
    ) {
        let scores: Vec<f64> = data.iter().map(|(s, _)| *s as f64 / 5.0).collect();
        let labels: Vec<bool> = data.iter().map(|(_, l)| *l).collect();
        let pos = labels.iter().filter(|&&l| l).count();
        prop_assume!(pos > 0 && pos < labels.len());
        let got = auroc(&scores, &labels).unwrap();
        prop_assert!((got - auroc_by_pairs(&scores, &labels)).abs() < 1e-12);
        // Flipping the scores flips the AUROC.
        let neg: Vec<f64> = scores.iter().map(|s| -s).collect();
        prop_assert!((auroc(&neg, &labels).unwrap() - (1.0 - got)).abs() < 1e-12);
    }
}

#[test]
fn worked_examples() {
    // Perfect, reversed, all tied.
    assert_eq!(
        auroc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]).unwrap(),
        1.0
    );
    assert_eq!(
        auroc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]).unwrap(),
        0.0
    );
    assert_eq!(auroc(&[0.5; 4], &[false, true, false, true]).unwrap(), 0.5);
    assert!(auroc(&[0.1, 0.2], &[true, true]).is_err());
    assert!(auroc(&[0.1, f64::NAN], &[true, false]).is_err());
    assert!(auroc(&[0.1], &[true, false]).is_err());
    // Threshold is strict: a score equal to it counts as negative.
    assert_eq!(accuracy(&[0.5, 0.51], &[false, true], 0.5).unwrap(), 1.0);
}

/// Soft-label AUROC against its definition written out pair by pair (each
/// example once as a positive with weight w, once as a negative with
/// weight 1 - w), on seeded data with ties, and equal to the hard AUROC on
/// 0/1 weights.
#[test]
fn soft_auroc_is_the_weighted_pair_count() {
    use radlab_metrics::classification::{auroc, soft_auroc};
    use rand::{Rng, SeedableRng};
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for _ in 0..50 {
        let n = r.random_range(2..60);
        let s: Vec<f64> = (0..n)
            .map(|_| f64::from(r.random_range(0u8..8)) / 8.0)
            .collect();
        let w: Vec<f64> = (0..n)
            .map(|_| f64::from(r.random_range(0u8..=5)) / 5.0)
            .collect();
        let (mut num, mut pos, mut neg) = (0.0, 0.0, 0.0);
        for i in 0..n {
            pos += w[i];
            neg += 1.0 - w[i];
            for j in 0..n {
                let pair = w[i] * (1.0 - w[j]);
                num += pair
                    * if s[i] > s[j] {
                        1.0
                    } else if s[i] == s[j] {
                        0.5
                    } else {
                        0.0
                    };
            }
        }
        if pos == 0.0 || neg == 0.0 {
            assert!(soft_auroc(&s, &w).is_err());
            continue;
        }
        let got = soft_auroc(&s, &w).unwrap();
        assert!(
            (got - num / (pos * neg)).abs() < 1e-12,
            "{got} vs {}",
            num / (pos * neg)
        );
        let hard: Vec<bool> = w.iter().map(|&w| w >= 0.5).collect();
        let hw: Vec<f64> = hard.iter().map(|&h| f64::from(u8::from(h))).collect();
        if let Ok(a) = auroc(&s, &hard) {
            assert!((soft_auroc(&s, &hw).unwrap() - a).abs() < 1e-12);
        }
    }
    assert!(soft_auroc(&[0.1, 0.2], &[0.5, 1.5]).is_err());
}
