//! Several readers' masks of one structure: how much they agree (pairwise
//! Dice) and a consensus that weighs each reader by how good they are
//! (STAPLE, Warfield et al. 2004).
//!
//! STAPLE is an EM algorithm: it alternates between a consensus
//! probability per voxel and a sensitivity and specificity per reader.
//! [`staple`] follows the binary algorithm as ITK's `STAPLEImageFilter`
//! (SimpleITK's `STAPLE`) runs it, so its numbers can be checked against
//! that peer: the start is the mean of the masks, the prior is the mean of
//! that start (times a confidence weight), and the iteration stops when no
//! reader's sensitivity or specificity moved by more than 1e-7 (squared
//! change <= 1e-14) since the previous pass.
//!
//! Written by hand, not bound to ITK: radlab has no C++ toolchain
//! dependency, and the voxel loop collapses to the distinct vote patterns
//! (at most `2^readers` of them), which makes each EM pass independent of
//! the volume size.

use std::collections::HashMap;

use ndarray::{Array3, ArrayView3, Zip};
use serde::Serialize;

use super::{Counts, EmptyPolicy, same_shape};
use crate::MetricError;

/// Settings of [`staple`], with ITK's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StapleOptions {
    /// Multiplies the prior (the mean of the first consensus); ITK's
    /// `ConfidenceWeight`, default 1.
    pub confidence_weight: f64,
    /// Upper bound on EM passes (ITK's default is `u32::MAX`: run to
    /// convergence).
    pub max_iterations: u32,
}

impl Default for StapleOptions {
    fn default() -> Self {
        Self {
            confidence_weight: 1.0,
            max_iterations: u32::MAX,
        }
    }
}

/// What [`staple`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Staple {
    /// Probability that each voxel belongs to the structure, `[z, y, x]`.
    #[serde(skip)]
    pub probability: Array3<f64>,
    /// Per reader, in input order: the fraction of the consensus they marked.
    pub sensitivity: Vec<f64>,
    /// Per reader: the fraction of the consensus background they left unmarked.
    pub specificity: Vec<f64>,
    /// The prior probability of foreground used throughout.
    pub prior: f64,
    /// EM passes run (ITK's `ElapsedIterations` is one less: it counts
    /// from 0).
    pub passes: u32,
}

impl Staple {
    /// The consensus mask: probability > `threshold` (0.5 is the usual choice).
    pub fn mask(&self, threshold: f64) -> Array3<bool> {
        self.probability.mapv(|p| p > threshold)
    }
}

/// STAPLE consensus of binary masks of the same shape.
///
/// Errors when fewer than two masks are given, when they differ in shape,
/// when more than 64 readers are given, or when nothing is marked anywhere
/// (or everything everywhere): sensitivity (or specificity) is then 0 / 0.
///
/// ```
/// use ndarray::Array3;
/// use radlab_metrics::segmentation::{staple, StapleOptions};
/// let mut a = Array3::from_elem((1, 4, 4), false);
/// a.slice_mut(ndarray::s![.., 1..3, 1..3]).fill(true);
/// let b = a.clone();
/// let mut c = a.clone();
/// c[[0, 0, 0]] = true; // one reader marks one extra voxel
/// let s = staple(&[a.view(), b.view(), c.view()], StapleOptions::default()).unwrap();
/// assert!(s.mask(0.5) == a);
/// assert!(s.specificity[2] < 1.0 && s.sensitivity[0] > 0.99);
/// ```
pub fn staple(
    masks: &[ArrayView3<'_, bool>],
    options: StapleOptions,
) -> Result<Staple, MetricError> {
    let r = masks.len();
    if r < 2 {
        return Err(MetricError::Undefined(format!(
            "STAPLE needs at least two readers' masks, got {r}"
        )));
    }
    if r > 64 {
        return Err(MetricError::Undefined(format!(
            "STAPLE here takes at most 64 readers, got {r}"
        )));
    }
    for m in &masks[1..] {
        same_shape(masks[0].shape(), m.shape())?;
    }
    let dim = masks[0].dim();
    // Each voxel's votes as a bit pattern; the EM only ever needs how many
    // voxels share each pattern.
    let mut keys = Array3::<u64>::zeros(dim);
    for (i, m) in masks.iter().enumerate() {
        Zip::from(&mut keys).and(m).for_each(|k, &v| {
            if v {
                *k |= 1 << i;
            }
        });
    }
    let mut count: HashMap<u64, f64> = HashMap::new();
    for &k in &keys {
        *count.entry(k).or_insert(0.0) += 1.0;
    }
    let mut patterns: Vec<(u64, f64)> = count.into_iter().collect();
    patterns.sort_unstable_by_key(|p| p.0);
    let voxels = keys.len() as f64;
    let votes = |k: u64| f64::from(k.count_ones()) / r as f64;
    // Start: the mean of the masks; prior: its mean.
    let mut w: Vec<f64> = patterns.iter().map(|&(k, _)| votes(k)).collect();
    let prior = patterns
        .iter()
        .zip(&w)
        .map(|(&(_, n), &w)| n * w)
        .sum::<f64>()
        / voxels
        * options.confidence_weight;
    let mut p = vec![0.0; r];
    let mut q = vec![0.0; r];
    let mut last_p = vec![-10.0; r];
    let mut last_q = vec![-10.0; r];
    let mut passes = 0u32;
    for iter in 0..options.max_iterations {
        passes = iter + 1;
        let fg: f64 = patterns.iter().zip(&w).map(|(&(_, n), &w)| n * w).sum();
        let bg: f64 = patterns
            .iter()
            .zip(&w)
            .map(|(&(_, n), &w)| n * (1.0 - w))
            .sum();
        if !(fg > 0.0 && bg > 0.0) {
            return Err(MetricError::Undefined(format!(
                "STAPLE: the consensus is {} everywhere, so sensitivity or specificity is 0 / 0",
                if fg > 0.0 { "foreground" } else { "background" }
            )));
        }
        for i in 0..r {
            let (mut pn, mut qn) = (0.0, 0.0);
            for (&(k, n), &w) in patterns.iter().zip(&w) {
                if k >> i & 1 == 1 {
                    pn += n * w;
                } else {
                    qn += n * (1.0 - w);
                }
            }
            p[i] = pn / fg;
            q[i] = qn / bg;
        }
        for (&(k, _), w) in patterns.iter().zip(w.iter_mut()) {
            let (mut a, mut b) = (1.0, 1.0);
            for i in 0..r {
                if k >> i & 1 == 1 {
                    a *= p[i];
                    b *= 1.0 - q[i];
                } else {
                    a *= 1.0 - p[i];
                    b *= q[i];
                }
            }
            *w = prior * a / (prior * a + (1.0 - prior) * b);
        }
        let moved = (0..r)
            .any(|i| (p[i] - last_p[i]).powi(2) > 1e-14 || (q[i] - last_q[i]).powi(2) > 1e-14);
        last_p.copy_from_slice(&p);
        last_q.copy_from_slice(&q);
        if iter != 0 && !moved {
            break;
        }
    }
    let by_key: HashMap<u64, f64> = patterns.iter().map(|p| p.0).zip(w).collect();
    let probability = keys.mapv(|k| by_key[&k]);
    Ok(Staple {
        probability,
        sensitivity: p,
        specificity: q,
        prior,
        passes,
    })
}

/// Dice between every pair of readers' masks: an `r x r` symmetric matrix
/// with 1 on the diagonal, under the given empty-mask `policy` (two
/// readers who both marked nothing agree perfectly only under
/// [`EmptyPolicy::BothEmptyOne`]).
///
/// ```
/// use ndarray::array;
/// use radlab_metrics::segmentation::{pairwise_dice, EmptyPolicy};
/// let a = array![[[true, true, false, false]]];
/// let b = array![[[true, false, false, false]]];
/// let d = pairwise_dice(&[a.view(), b.view()], EmptyPolicy::BothEmptyOne).unwrap();
/// assert!((d[0][1] - 2.0 / 3.0).abs() < 1e-12 && d[1][0] == d[0][1]);
/// ```
pub fn pairwise_dice(
    masks: &[ArrayView3<'_, bool>],
    policy: EmptyPolicy,
) -> Result<Vec<Vec<f64>>, MetricError> {
    let r = masks.len();
    let mut out = vec![vec![1.0; r]; r];
    for i in 0..r {
        for j in i + 1..r {
            let d = Counts::of(masks[i], masks[j])?.dice(policy);
            out[i][j] = d;
            out[j][i] = d;
        }
    }
    Ok(out)
}
