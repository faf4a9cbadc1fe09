//! The bins of a binned calibration error: equal width (numpy's linspace
//! edges) or equal mass, which side of an edge a value falls, and the
//! reliability diagram's bins.

use rayon::prelude::*;
use serde::Serialize;

use super::*;
use crate::MetricError;

/// Where bin edges lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinSpacing {
    /// Edges `k / n` (numpy's `linspace`).
    EqualWidth,
    /// Edges at the `k / n` quantiles of the confidences (numpy's linear
    /// percentile), the first and last replaced by 0 and 1.
    EqualMass,
}

/// Which bin a value exactly on an edge joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EdgeRule {
    /// Bins `(a, b]`, the first `[0, b]` (sklearn's `calibration_curve`,
    /// MONAI's `calibration_binning`).
    RightClosed,
    /// Bins `[a, b)`, the last `[a, 1]` (netcal, numpy's histogram).
    LeftClosed,
    /// Bins `[a, b)`, and `p >= 1` in an extra bin of its own after the last
    /// (torchmetrics: `bucketize(right=True) - 1` over `n + 1` slots).
    LeftClosedExtraBin,
}

/// How to bin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Binning {
    /// Number of bins (the extra bin of [`EdgeRule::LeftClosedExtraBin`] not counted).
    pub bins: usize,
    /// Equal width or equal mass.
    pub spacing: BinSpacing,
    /// Edge rule.
    pub edge: EdgeRule,
}

impl Binning {
    /// Equal-width bins with an edge rule.
    pub fn equal_width(bins: usize, edge: EdgeRule) -> Binning {
        Binning {
            bins,
            spacing: BinSpacing::EqualWidth,
            edge,
        }
    }
}

/// How per-bin gaps `|accuracy - confidence|` become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reduction {
    /// Weighted by the fraction of samples in each bin: ECE.
    Expected,
    /// Unweighted mean over non-empty bins (MONAI's "average"; with
    /// equal-mass classwise bins, Nixon et al.'s ACE).
    Average,
    /// The largest gap over non-empty bins: MCE.
    Maximum,
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bin {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Samples in the bin.
    pub count: usize,
    /// Mean confidence (NaN when empty).
    pub confidence: f64,
    /// Fraction correct (NaN when empty).
    pub accuracy: f64,
}

/// The bin edges for `conf` (`bins + 1` values, from 0 to 1).
pub fn edges(conf: &[f64], binning: &Binning) -> Vec<f64> {
    let n = binning.bins;
    match binning.spacing {
        BinSpacing::EqualWidth => {
            let step = 1.0 / n as f64;
            let mut e: Vec<f64> = (0..=n).map(|k| k as f64 * step).collect();
            e[n] = 1.0;
            e
        }
        BinSpacing::EqualMass => {
            let mut sorted = conf.to_vec();
            sorted.sort_by(f64::total_cmp);
            let mut e: Vec<f64> = (0..=n)
                .map(|k| crate::stats::percentile_sorted(&sorted, 100.0 * k as f64 / n as f64))
                .collect();
            e[0] = 0.0;
            e[n] = 1.0;
            e
        }
    }
}

/// [`bin_of`] for numpy-linspace edges, without a search or a branch: a
/// first guess `floor(p n)`, then one step down or up where rounding put
/// `p` on the other side of an edge, read from per-bin copies of the edges
/// (with infinities at the ends so that no bounds need testing). Branches
/// here would be mispredicted for every value in the last bin.
pub(super) struct EqualWidthLookup {
    /// Lower edge of each bin (`-inf` for the first).
    lo: Vec<f64>,
    /// Upper edge of each bin (`+inf` for the last).
    hi: Vec<f64>,
    /// The last edge (1).
    top: f64,
}

impl EqualWidthLookup {
    pub(super) fn new(edges: &[f64]) -> Self {
        let n = edges.len() - 1;
        EqualWidthLookup {
            lo: (0..n)
                .map(|k| if k == 0 { f64::NEG_INFINITY } else { edges[k] })
                .collect(),
            hi: (0..n)
                .map(|k| {
                    if k + 1 == n {
                        f64::INFINITY
                    } else {
                        edges[k + 1]
                    }
                })
                .collect(),
            top: edges[n],
        }
    }

    /// The bin of `p` (any value, NaN included, gives some bin in range).
    #[cfg(test)]
    pub(super) fn bin(&self, p: f64, rule: EdgeRule) -> usize {
        match rule {
            EdgeRule::RightClosed => self.bin_with::<RIGHT_CLOSED>(p),
            EdgeRule::LeftClosed => self.bin_with::<LEFT_CLOSED>(p),
            EdgeRule::LeftClosedExtraBin => self.bin_with::<EXTRA_BIN>(p),
        }
    }

    /// [`Self::bin`] with the rule fixed at compile time (the hot loop of
    /// [`reliability`] is compiled once per rule).
    #[inline(always)]
    fn bin_with<const RULE: u8>(&self, p: f64) -> usize {
        let n = self.lo.len();
        let nf = n as f64;
        let guess = ((p * nf).min(nf - 1.0).max(0.0) as usize).min(n - 1);
        // (+inf is the one value that steps past the last bin.)
        let mut k =
            (guess + usize::from(p >= self.hi[guess]) - usize::from(p < self.lo[guess])).min(n - 1);
        if RULE == RIGHT_CLOSED {
            // (Saturating: -inf equals the first bin's lower edge.)
            k = k.saturating_sub(usize::from(p == self.lo[k]));
        }
        if RULE == EXTRA_BIN && p >= self.top {
            k = n;
        }
        k
    }
}

/// [`EdgeRule`] as a const parameter of [`EqualWidthLookup::bin_with`].
const RIGHT_CLOSED: u8 = 0;

const LEFT_CLOSED: u8 = 1;

const EXTRA_BIN: u8 = 2;

/// Per-bin sums `(count, sum of confidences, sum of outcomes)` over a run
/// of predictions, in order, and whether every confidence was in [0, 1]
/// (checked in the same pass: a value outside only lands in some wrong
/// bin, and the sums are then thrown away).
#[inline(always)]
fn bin_sums(
    conf: &[f64],
    outcome: &[f64],
    slots: usize,
    bin: impl Fn(f64) -> usize,
) -> (Vec<(usize, f64, f64)>, bool) {
    // One record per bin keeps a bin's three sums on one cache line.
    let mut acc = vec![(0usize, 0.0f64, 0.0f64); slots];
    let mut valid = true;
    for (&p, &o) in conf.iter().zip(outcome) {
        valid &= (0.0..=1.0).contains(&p);
        let a = &mut acc[bin(p)];
        a.0 += 1;
        a.1 += p;
        a.2 += o;
    }
    (acc, valid)
}

/// The bin of `p` among `edges` under `rule` (`edges.len() - 1` for the
/// extra bin).
pub(super) fn bin_of(p: f64, edges: &[f64], rule: EdgeRule) -> usize {
    let n = edges.len() - 1;
    let inner = &edges[1..n];
    match rule {
        EdgeRule::RightClosed => inner.partition_point(|&e| e < p),
        EdgeRule::LeftClosed => inner.partition_point(|&e| e <= p).min(n - 1),
        EdgeRule::LeftClosedExtraBin => {
            if p >= edges[n] {
                n
            } else {
                inner.partition_point(|&e| e <= p)
            }
        }
    }
}

/// Reliability-diagram data: per bin, count, mean confidence and accuracy.
/// `outcome[i]` is 1.0 when prediction `i` came true, else 0.0. With
/// [`EdgeRule::LeftClosedExtraBin`] there is one more bin, `[1, 1]`.
///
/// ```
/// use radlab_metrics::calibration::{reliability, Binning, EdgeRule};
/// let b = reliability(&[0.1, 0.2, 0.9, 1.0], &[0.0, 1.0, 1.0, 1.0],
///                     &Binning::equal_width(5, EdgeRule::RightClosed)).unwrap();
/// assert_eq!(b[0].count, 2); // 0.2 sits on an edge: (0, 0.2] keeps it in the first bin
/// assert_eq!(b[4].count, 2);
/// ```
pub fn reliability(
    conf: &[f64],
    outcome: &[f64],
    binning: &Binning,
) -> Result<Vec<Bin>, MetricError> {
    check_pairs(conf, outcome)?;
    if binning.bins == 0 {
        return Err(MetricError::Undefined("at least one bin is needed".into()));
    }
    let e = edges(conf, binning);
    let slots = binning.bins + usize::from(binning.edge == EdgeRule::LeftClosedExtraBin);
    let equal_width = binning.spacing == BinSpacing::EqualWidth;
    let lookup = EqualWidthLookup::new(&e);
    let accumulate = |c: &[f64], o: &[f64]| match (equal_width, binning.edge) {
        (true, EdgeRule::RightClosed) => {
            bin_sums(c, o, slots, |p| lookup.bin_with::<RIGHT_CLOSED>(p))
        }
        (true, EdgeRule::LeftClosed) => {
            bin_sums(c, o, slots, |p| lookup.bin_with::<LEFT_CLOSED>(p))
        }
        (true, EdgeRule::LeftClosedExtraBin) => {
            bin_sums(c, o, slots, |p| lookup.bin_with::<EXTRA_BIN>(p))
        }
        (false, rule) => bin_sums(c, o, slots, |p| bin_of(p, &e, rule)),
    };
    // Small inputs in one sequential pass (the summation order of numpy's
    // bincount); large ones in fixed chunks on every core, added in order.
    const CHUNK: usize = 1 << 16;
    let (total, valid) = if conf.len() <= CHUNK {
        accumulate(conf, outcome)
    } else {
        let parts: Vec<_> = conf
            .par_chunks(CHUNK)
            .zip(outcome.par_chunks(CHUNK))
            .map(|(c, o)| accumulate(c, o))
            .collect();
        let mut total = vec![(0usize, 0.0f64, 0.0f64); slots];
        let mut valid = true;
        for (acc, v) in parts {
            valid &= v;
            for (t, a) in total.iter_mut().zip(acc) {
                t.0 += a.0;
                t.1 += a.1;
                t.2 += a.2;
            }
        }
        (total, valid)
    };
    if !valid {
        out_of_range(conf)?;
    }
    let count: Vec<usize> = total.iter().map(|t| t.0).collect();
    let sum_c: Vec<f64> = total.iter().map(|t| t.1).collect();
    let sum_o: Vec<f64> = total.iter().map(|t| t.2).collect();
    Ok((0..slots)
        .map(|k| {
            let (lo, hi) = if k < binning.bins {
                (e[k], e[k + 1])
            } else {
                (1.0, 1.0)
            };
            let n = count[k] as f64;
            Bin {
                lo,
                hi,
                count: count[k],
                confidence: if count[k] == 0 {
                    f64::NAN
                } else {
                    sum_c[k] / n
                },
                accuracy: if count[k] == 0 {
                    f64::NAN
                } else {
                    sum_o[k] / n
                },
            }
        })
        .collect())
}

/// Reduce reliability bins to one number; empty bins never count.
pub fn reduce(bins: &[Bin], reduction: Reduction) -> f64 {
    let full: Vec<&Bin> = bins.iter().filter(|b| b.count > 0).collect();
    let gap = |b: &Bin| (b.accuracy - b.confidence).abs();
    match reduction {
        Reduction::Expected => {
            let n: usize = full.iter().map(|b| b.count).sum();
            full.iter()
                .map(|b| b.count as f64 / n as f64 * gap(b))
                .sum()
        }
        Reduction::Average => full.iter().map(|b| gap(b)).sum::<f64>() / full.len() as f64,
        Reduction::Maximum => full.iter().map(|b| gap(b)).fold(0.0, f64::max),
    }
}
