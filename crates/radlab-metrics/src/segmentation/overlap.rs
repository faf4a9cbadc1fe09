//! Overlap of two masks: voxel counts, and Dice, IoU, sensitivity and
//! precision under an explicit empty-mask convention.

use ndarray::{ArrayView3, Zip};
use rayon::prelude::*;
use serde::Serialize;

use super::same_shape;
use crate::MetricError;

/// What an overlap score is when a mask is empty. Libraries disagree; say
/// which one you report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EmptyPolicy {
    /// MONAI `DiceMetric(ignore_empty=True)` (its default): an empty
    /// reference gives NaN, left out of means, whatever the prediction.
    IgnoreEmptyReference,
    /// nnU-Net: both empty gives NaN (left out); an empty reference with a
    /// non-empty prediction gives 0.
    BothEmptyNan,
    /// MONAI `ignore_empty=False`: both empty gives 1 (a perfect "nothing
    /// there"); an empty reference with a non-empty prediction gives 0.
    BothEmptyOne,
}

impl EmptyPolicy {
    /// Every policy, for side-by-side reports.
    pub const ALL: [EmptyPolicy; 3] = [
        EmptyPolicy::IgnoreEmptyReference,
        EmptyPolicy::BothEmptyNan,
        EmptyPolicy::BothEmptyOne,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            EmptyPolicy::IgnoreEmptyReference => "monai-ignore-empty",
            EmptyPolicy::BothEmptyNan => "nnunet",
            EmptyPolicy::BothEmptyOne => "empty-is-one",
        }
    }
}

/// Voxel counts of a prediction against a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Predicted and in the reference.
    pub tp: u64,
    /// Predicted, not in the reference.
    pub fp: u64,
    /// In the reference, not predicted.
    pub fn_: u64,
}

impl Counts {
    /// Count over two masks of the same shape (parallel over chunks).
    ///
    /// ```
    /// use ndarray::array;
    /// let p = array![[[true, true, false]]];
    /// let r = array![[[true, false, true]]];
    /// let c = radlab_metrics::segmentation::Counts::of(p.view(), r.view()).unwrap();
    /// assert_eq!((c.tp, c.fp, c.fn_), (1, 1, 1));
    /// ```
    pub fn of(
        pred: ArrayView3<'_, bool>,
        reference: ArrayView3<'_, bool>,
    ) -> Result<Counts, MetricError> {
        same_shape(pred.shape(), reference.shape())?;
        let (p, r) = match (pred.as_slice(), reference.as_slice()) {
            (Some(p), Some(r)) => (p, r),
            _ => {
                let mut c = Counts::default();
                Zip::from(&pred)
                    .and(&reference)
                    .for_each(|&a, &b| c.add(a, b));
                return Ok(c);
            }
        };
        Ok(Self::of_slices(radlab_simd::Isa::active(), p, r))
    }

    /// [`Counts::of`] on two equal-length slices, with the counting loop
    /// compiled for `isa` (or the widest path below it that the processor
    /// has): the same counts on every path.
    ///
    /// # Panics
    /// If the slices differ in length.
    pub fn of_slices(isa: radlab_simd::Isa, p: &[bool], r: &[bool]) -> Counts {
        assert_eq!(p.len(), r.len(), "masks differ in length");
        p.par_chunks(1 << 16)
            .zip(r.par_chunks(1 << 16))
            .map(|(a, b)| {
                let (both, pa, rb) = chunk_counts_on(isa, a, b);
                Counts {
                    tp: u64::from(both),
                    fp: u64::from(pa - both),
                    fn_: u64::from(rb - both),
                }
            })
            .reduce(Counts::default, |a, b| Counts {
                tp: a.tp + b.tp,
                fp: a.fp + b.fp,
                fn_: a.fn_ + b.fn_,
            })
    }

    pub(super) fn add(&mut self, p: bool, r: bool) {
        match (p, r) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            _ => {}
        }
    }

    fn empty_case(&self, policy: EmptyPolicy) -> Option<f64> {
        let reference_empty = self.tp + self.fn_ == 0;
        let pred_empty = self.tp + self.fp == 0;
        match policy {
            EmptyPolicy::IgnoreEmptyReference if reference_empty => Some(f64::NAN),
            EmptyPolicy::BothEmptyNan if reference_empty && pred_empty => Some(f64::NAN),
            EmptyPolicy::BothEmptyOne if reference_empty && pred_empty => Some(1.0),
            _ if reference_empty => Some(0.0),
            _ => None,
        }
    }

    /// Dice `2 TP / (2 TP + FP + FN)` under an empty-mask policy.
    ///
    /// ```
    /// use radlab_metrics::segmentation::{Counts, EmptyPolicy::*};
    /// let empty = Counts::default();
    /// assert!(empty.dice(IgnoreEmptyReference).is_nan());
    /// assert!(empty.dice(BothEmptyNan).is_nan());
    /// assert_eq!(empty.dice(BothEmptyOne), 1.0);
    /// let c = Counts { tp: 3, fp: 1, fn_: 1 };
    /// assert_eq!(c.dice(BothEmptyOne), 0.75);
    /// ```
    pub fn dice(&self, policy: EmptyPolicy) -> f64 {
        self.empty_case(policy)
            .unwrap_or_else(|| 2.0 * self.tp as f64 / (2 * self.tp + self.fp + self.fn_) as f64)
    }

    /// IoU (Jaccard) `TP / (TP + FP + FN)` under an empty-mask policy.
    pub fn iou(&self, policy: EmptyPolicy) -> f64 {
        self.empty_case(policy)
            .unwrap_or_else(|| self.tp as f64 / (self.tp + self.fp + self.fn_) as f64)
    }

    /// Sensitivity (recall) `TP / (TP + FN)`; NaN for an empty reference.
    pub fn sensitivity(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_) as f64
    }

    /// Precision `TP / (TP + FP)`; NaN for an empty prediction.
    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp) as f64
    }
}

radlab_simd::kernel! {
    /// (both, first, second): how many positions are true in both chunks,
    /// in the first, in the second. A chunk is at most 65 536 long, so the
    /// u32 sums cannot overflow; u32 lanes are what the compiler widens.
    fn chunk_counts_on(a: &[bool], b: &[bool]) -> (u32, u32, u32) {
        let (mut both, mut pa, mut rb) = (0u32, 0u32, 0u32);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (u32::from(x), u32::from(y));
            both += x & y;
            pa += x;
            rb += y;
        }
        (both, pa, rb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Every instruction set the processor has counts what a plain loop
    /// counts, on masks of every density and on lengths that leave partial
    /// vectors and a partial last chunk.
    #[test]
    fn every_instruction_set_counts_the_same() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(18);
        for (n, density) in [
            (0, 0.5),
            (1, 1.0),
            (63, 0.5),
            (65_536, 1.0),
            (65_537, 0.3),
            (200_003, 0.01),
            (300_001, 0.99),
        ] {
            let p: Vec<bool> = (0..n).map(|_| rng.random_bool(density)).collect();
            let r: Vec<bool> = (0..n).map(|_| rng.random_bool(density)).collect();
            let mut want = Counts::default();
            for (&a, &b) in p.iter().zip(&r) {
                want.add(a, b);
            }
            for isa in radlab_simd::Isa::supported() {
                assert_eq!(
                    Counts::of_slices(isa, &p, &r),
                    want,
                    "{isa}, n={n}, density={density}"
                );
            }
        }
    }
}
