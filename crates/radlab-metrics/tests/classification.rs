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
