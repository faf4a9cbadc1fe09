//! Calibration: does a predicted 0.8 come true 80 % of the time?
//!
//! Every binned calibration error depends on choices libraries make
//! silently; here each is an explicit option:
//!
//! - **what is binned** ([`Target`]): the top label's confidence (Guo et al.,
//!   torchmetrics multiclass, netcal multiclass), the positive class's
//!   probability (binary torchmetrics, netcal binary, sklearn's
//!   `calibration_curve`, MONAI per channel), or every class separately
//!   (classwise, averaged);
//! - **the bins** ([`Binning`]): how many, equal width or equal mass
//!   (quantiles of the confidences), and which side of an edge a value on it
//!   falls ([`EdgeRule`]), including where `p = 1.0` goes;
//! - **the reduction** ([`Reduction`]): weighted by bin count (ECE), the
//!   unweighted mean over non-empty bins (MONAI's "average"), or the
//!   maximum (MCE).
//!
//! Equal-width edges are computed as numpy's `linspace` computes them
//! (`k * (1 / n)`, the last set to 1), so values on an edge land where
//! numpy-based libraries put them.
//!
//! Temperature scaling ([`fit_temperature`]) divides logits by one `T > 0`
//! fitted by minimising the negative log-likelihood; Platt scaling
//! ([`fit_platt`]) fits `sigmoid(a z + b)` on a binary logit.

use ndarray::{Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::MetricError;

/// What is compared with the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Target {
    /// The highest probability of each row against "the argmax was right".
    TopLabel,
    /// The probability of class 1 against "the label is 1" (binary problems).
    PositiveClass,
    /// Every class's probability against "the label is this class"; the
    /// error is the mean over classes.
    Classwise,
}

/// Where bin edges lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Spacing {
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
    pub spacing: Spacing,
    /// Edge rule.
    pub edge: EdgeRule,
}

impl Binning {
    /// Equal-width bins with an edge rule.
    pub fn equal_width(bins: usize, edge: EdgeRule) -> Binning {
        Binning {
            bins,
            spacing: Spacing::EqualWidth,
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
        Spacing::EqualWidth => {
            let step = 1.0 / n as f64;
            let mut e: Vec<f64> = (0..=n).map(|k| k as f64 * step).collect();
            e[n] = 1.0;
            e
        }
        Spacing::EqualMass => {
            let mut sorted = conf.to_vec();
            sorted.sort_by(f64::total_cmp);
            let mut e: Vec<f64> = (0..=n)
                .map(|k| {
                    crate::segmentation::percentile_sorted(&sorted, 100.0 * k as f64 / n as f64)
                })
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
struct EqualWidthLookup {
    /// Lower edge of each bin (`-inf` for the first).
    lo: Vec<f64>,
    /// Upper edge of each bin (`+inf` for the last).
    hi: Vec<f64>,
    /// The last edge (1).
    top: f64,
}

impl EqualWidthLookup {
    fn new(edges: &[f64]) -> Self {
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
    fn bin(&self, p: f64, rule: EdgeRule) -> usize {
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
fn bin_of(p: f64, edges: &[f64], rule: EdgeRule) -> usize {
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

fn check_pairs(conf: &[f64], outcome: &[f64]) -> Result<(), MetricError> {
    if conf.len() != outcome.len() {
        return Err(MetricError::LengthMismatch {
            scores: conf.len(),
            labels: outcome.len(),
        });
    }
    if conf.is_empty() {
        return Err(MetricError::Undefined("no predictions".into()));
    }
    Ok(())
}

/// The first confidence outside [0, 1], as an error.
fn out_of_range(conf: &[f64]) -> Result<(), MetricError> {
    if let Some(i) = conf.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(MetricError::Undefined(format!(
            "prediction {i} is {}, not a probability in [0, 1]",
            conf[i]
        )));
    }
    Ok(())
}

/// One label per row, each one of the `k` classes.
fn check_labels(rows: usize, k: usize, labels: &[usize]) -> Result<(), MetricError> {
    if rows != labels.len() {
        return Err(MetricError::LengthMismatch {
            scores: rows,
            labels: labels.len(),
        });
    }
    if let Some(i) = labels.iter().position(|&l| l >= k) {
        return Err(MetricError::Undefined(format!(
            "label {} of row {i} is not one of {k} classes",
            labels[i]
        )));
    }
    Ok(())
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
    let equal_width = binning.spacing == Spacing::EqualWidth;
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

/// Confidences and outcomes (1.0 right, 0.0 wrong), index by index.
pub type ConfidenceSet = (Vec<f64>, Vec<f64>);

/// `(confidence, outcome)` sets of a probability matrix `[n, classes]` for a
/// [`Target`]: one set, or one per class for [`Target::Classwise`].
pub fn confidence_sets(
    probs: ArrayView2<'_, f64>,
    labels: &[usize],
    target: Target,
) -> Result<Vec<ConfidenceSet>, MetricError> {
    let (n, k) = probs.dim();
    check_labels(n, k, labels)?;
    Ok(match target {
        Target::TopLabel => {
            let (mut c, mut o) = (Vec::with_capacity(n), Vec::with_capacity(n));
            for (row, &l) in probs.outer_iter().zip(labels) {
                let (arg, &p) = row
                    .iter()
                    .enumerate()
                    .fold(
                        (0, &f64::NEG_INFINITY),
                        |a, b| if b.1 > a.1 { b } else { a },
                    );
                c.push(p);
                o.push(if arg == l { 1.0 } else { 0.0 });
            }
            vec![(c, o)]
        }
        Target::PositiveClass => {
            if k != 2 {
                return Err(MetricError::Undefined(format!(
                    "positive-class calibration needs 2 classes, not {k}"
                )));
            }
            vec![(
                probs.column(1).to_vec(),
                labels.iter().map(|&l| l as f64).collect(),
            )]
        }
        Target::Classwise => (0..k)
            .map(|c| {
                (
                    probs.column(c).to_vec(),
                    labels
                        .iter()
                        .map(|&l| f64::from(u8::from(l == c)))
                        .collect(),
                )
            })
            .collect(),
    })
}

/// A binned calibration error of a probability matrix `[n, classes]`.
///
/// ```
/// use ndarray::array;
/// use radlab_metrics::calibration::*;
/// let p = array![[0.2, 0.8], [0.3, 0.7], [0.9, 0.1], [0.4, 0.6]];
/// let ece = calibration_error(p.view(), &[1, 0, 0, 1], Target::TopLabel,
///     &Binning::equal_width(10, EdgeRule::LeftClosed), Reduction::Expected).unwrap();
/// // bins 0.6-0.7: {0.6 right}, 0.7-0.8: {0.7 wrong}, 0.8-0.9: {0.8 right}, 0.9-1: {0.9 right}
/// assert!((ece - (0.4 + 0.7 + 0.2 + 0.1) / 4.0).abs() < 1e-12);
/// ```
pub fn calibration_error(
    probs: ArrayView2<'_, f64>,
    labels: &[usize],
    target: Target,
    binning: &Binning,
    reduction: Reduction,
) -> Result<f64, MetricError> {
    let sets = confidence_sets(probs, labels, target)?;
    let mut total = 0.0;
    for (c, o) in &sets {
        total += reduce(&reliability(c, o, binning)?, reduction);
    }
    Ok(total / sets.len() as f64)
}

/// Brier score: the mean over rows of `sum_k (p_k - [k = label])^2`
/// (binary problems as two columns give twice the one-column score).
pub fn brier(probs: ArrayView2<'_, f64>, labels: &[usize]) -> Result<f64, MetricError> {
    confidence_sets(probs, labels, Target::TopLabel)?;
    let n = labels.len() as f64;
    Ok(probs
        .outer_iter()
        .zip(labels)
        .map(|(row, &l)| {
            row.iter()
                .enumerate()
                .map(|(k, &p)| (p - f64::from(u8::from(k == l))).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n)
}

/// Negative log-likelihood: the mean of `-ln p_label`, with `p` clipped to
/// `[1e-15, 1]` so a confident mistake costs 34.5, not infinity.
pub fn nll(probs: ArrayView2<'_, f64>, labels: &[usize]) -> Result<f64, MetricError> {
    confidence_sets(probs, labels, Target::TopLabel)?;
    Ok(probs
        .outer_iter()
        .zip(labels)
        .map(|(row, &l)| -row[l].max(1e-15).ln())
        .sum::<f64>()
        / labels.len() as f64)
}

/// Softmax of `logits / temperature`, row by row (max subtracted first).
pub fn softmax(logits: ArrayView2<'_, f64>, temperature: f64) -> Array2<f64> {
    let mut out = logits.to_owned();
    out.axis_iter_mut(Axis(0)).for_each(|mut row| {
        let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|z| ((z - m) / temperature).exp());
        let s = row.sum();
        row.mapv_inplace(|v| v / s);
    });
    out
}

/// Whether a matrix looks like probabilities (rows in [0, 1] summing to 1):
/// what a temperature fit must not be given.
pub fn looks_like_probabilities(m: ArrayView2<'_, f64>) -> bool {
    m.outer_iter()
        .all(|row| row.iter().all(|v| (0.0..=1.0).contains(v)) && (row.sum() - 1.0).abs() < 1e-6)
}

/// The result of a temperature fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TemperatureFit {
    /// The fitted temperature (> 1 softens over-confident predictions).
    pub temperature: f64,
    /// NLL at T = 1.
    pub nll_before: f64,
    /// NLL at the fitted T.
    pub nll_after: f64,
    /// Accuracy at T = 1 and at the fitted T (always equal: T > 0 keeps the argmax).
    pub accuracy: (f64, f64),
    /// Evaluations of the NLL over all rows, the one at T = 1 included
    /// (those on the subset that gives the first guess not counted).
    pub iterations: usize,
}

/// Mean NLL of `softmax(beta z)` over the rows of `z` (row-major, `k`
/// columns, one label per row) and its first two derivatives in `beta`:
/// the mean of `log sum exp(beta z) - beta z_label`, of `E[z] - z_label`
/// and of `Var[z]`, the expectations under `softmax(beta z)`.
///
/// Each row is shifted by its maximum so that no `exp` overflows; the
/// exponentials of a chunk of rows are taken in one flat loop that the
/// compiler vectorises (see [`crate::exp`]). Fixed chunks of rows, their
/// sums added in order: the same bits on any number of threads.
fn nll_beta(z: &[f64], k: usize, labels: &[usize], beta: f64) -> (f64, f64, f64) {
    const ROWS: usize = 512;
    let parts: Vec<[f64; 3]> = z
        .par_chunks(ROWS * k)
        .zip(labels.par_chunks(ROWS))
        .map_init(
            || (Vec::new(), Vec::new()),
            |(d, e): &mut (Vec<f64>, Vec<f64>), (zc, lc)| {
                d.clear();
                for row in zc.chunks_exact(k) {
                    let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                    d.extend(row.iter().map(|&v| v - m));
                }
                e.clear();
                e.extend(d.iter().map(|&v| crate::exp::exp_nonpositive(beta * v)));
                let (mut f, mut g, mut h) = (0.0, 0.0, 0.0);
                for ((dr, er), &l) in d.chunks_exact(k).zip(e.chunks_exact(k)).zip(lc) {
                    let (mut s, mut s1, mut s2) = (0.0, 0.0, 0.0);
                    for (&x, &w) in dr.iter().zip(er) {
                        s += w;
                        s1 += w * x;
                        s2 += w * x * x;
                    }
                    let mean = s1 / s;
                    f += s.ln() - beta * dr[l];
                    g += mean - dr[l];
                    h += (s2 / s - mean * mean).max(0.0);
                }
                [f, g, h]
            },
        )
        .collect();
    let n = labels.len() as f64;
    let t = parts
        .iter()
        .fold([0.0; 3], |a, p| [a[0] + p[0], a[1] + p[1], a[2] + p[2]]);
    (t[0] / n, t[1] / n, t[2] / n)
}

fn accuracy(logits: ArrayView2<'_, f64>, labels: &[usize], beta: f64) -> f64 {
    let ok = logits
        .axis_iter(Axis(0))
        .into_par_iter()
        .zip(labels.par_iter())
        .filter(|(row, l)| {
            let arg = row
                .iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |a, (k, &z)| {
                    if beta * z > a.1 { (k, beta * z) } else { a }
                })
                .0;
            arg == **l
        })
        .count();
    ok as f64 / labels.len() as f64
}

/// Where the derivative of the NLL in `beta` is known to change sign.
#[derive(Debug, Clone, Copy)]
struct Bracket {
    lo: f64,
    hi: f64,
}

/// An NLL and its first two derivatives in `beta`, at `beta`.
type NllAt<'a> = &'a dyn Fn(f64) -> (f64, f64, f64);

/// [`newton_from`] with nothing known about the bracket.
fn newton_on_beta(
    eval: NllAt<'_>,
    start: f64,
    first: Option<(f64, f64, f64)>,
) -> Result<(f64, f64, usize), MetricError> {
    let open = Bracket {
        lo: 0.0,
        hi: f64::INFINITY,
    };
    newton_from(eval, start, open, first)
}

/// Newton steps on `beta = 1/T` from `start`, kept inside the bracket where
/// the derivative changes sign (bisection when a step leaves it, doubling
/// while no upper end is known). `first`: the evaluation at `start`, when
/// already known.
///
/// Stops once the Newton step is below `1e-3 beta` and takes that last
/// step: Newton's error is then of the order of the step squared (about
/// 1e-6 of `beta`, far inside the temperature's sampling uncertainty), and
/// the NLL there comes from the same quadratic model (its error of the
/// order of the step cubed, about 1e-9 of the NLL's curvature). The
/// step, not the derivative, decides: on separable data the derivative
/// vanishes as `T -> 0` while the steps grow. Returns `beta`, the NLL there
/// and the number of evaluations.
fn newton_from(
    eval: NllAt<'_>,
    start: f64,
    mut bracket: Bracket,
    mut first: Option<(f64, f64, f64)>,
) -> Result<(f64, f64, usize), MetricError> {
    let mut beta = start;
    let mut evaluations = 0;
    while evaluations < 200 {
        let (f, g, h) = first.take().unwrap_or_else(|| eval(beta));
        evaluations += 1;
        if g == 0.0 {
            return Ok((beta, f, evaluations));
        }
        if g > 0.0 {
            bracket.hi = beta;
        } else {
            bracket.lo = beta;
        }
        let newton = beta - g / h;
        let inside = h > 0.0 && newton > bracket.lo && newton < bracket.hi;
        if inside && (g / h).abs() <= 1e-3 * beta {
            return Ok((newton, f - g * g / (2.0 * h), evaluations));
        }
        let next = if inside {
            newton
        } else if bracket.hi.is_finite() {
            0.5 * (bracket.lo + bracket.hi)
        } else {
            2.0 * beta
        };
        if next > 1e6 {
            return Err(MetricError::Undefined(
                "the NLL keeps falling as T -> 0: the logits separate the classes perfectly".into(),
            ));
        }
        if bracket.hi < 1e-6 {
            return Err(MetricError::Undefined(
                "the NLL keeps falling as T grows: the logits carry no information".into(),
            ));
        }
        beta = next;
    }
    Err(MetricError::Undefined(format!(
        "the temperature fit did not converge in {evaluations} steps (last T = {})",
        1.0 / beta
    )))
}

/// Fit a temperature on logits `[n, classes]` by minimising the NLL of
/// `softmax(logits / T)`. The NLL is convex in `1/T`, so the zero of its
/// derivative is found by Newton steps kept inside a bracket (bisection
/// when a step leaves it), started from a fit on a subset of the rows when
/// there are many, and stopped when the step falls below `1e-3 / T`
/// (after taking it: the temperature is then good to about 1e-6).
///
/// Refuses a matrix that looks like probabilities: scaling probabilities is
/// not temperature scaling (and silently fits the wrong thing).
pub fn fit_temperature(
    logits: ArrayView2<'_, f64>,
    labels: &[usize],
) -> Result<TemperatureFit, MetricError> {
    let (n, k) = logits.dim();
    check_labels(n, k, labels)?;
    if labels.is_empty() {
        return Err(MetricError::Undefined("no predictions".into()));
    }
    let all_finite = logits
        .axis_iter(Axis(0))
        .into_par_iter()
        .all(|row| row.iter().all(|v| v.is_finite()));
    if !all_finite {
        let i = logits.iter().position(|v| !v.is_finite()).unwrap_or(0);
        return Err(MetricError::NaN { index: i });
    }
    if looks_like_probabilities(logits) {
        return Err(MetricError::Undefined(
            "these look like probabilities (rows in [0, 1] summing to 1): temperature scaling needs logits".into(),
        ));
    }
    let separable = logits
        .outer_iter()
        .zip(labels)
        .all(|(row, &l)| row.iter().enumerate().all(|(k, &z)| k == l || z < row[l]));
    if separable {
        return Err(MetricError::Undefined(
            "the NLL keeps falling as T -> 0: the logits separate the classes perfectly".into(),
        ));
    }
    // Rows as slices: any other layout is copied once.
    let standard = logits.as_standard_layout();
    let z = standard.as_slice().unwrap_or(&[]);
    let full = |beta: f64| nll_beta(z, k, labels, beta);
    let at_one = full(1.0);
    let before = at_one.0;
    // A first guess from every m-th row (about 8192 rows): its Newton steps
    // cost a fraction of a full evaluation each, and the full steps then
    // start close. Any trouble on the subset (it may separate the classes
    // when the whole set does not) just means starting from T = 1.
    const SUBSET: usize = 8192;
    let guess = if n >= 4 * SUBSET {
        let step = n / SUBSET;
        let rows: Vec<usize> = (0..n).step_by(step).collect();
        let zs: Vec<f64> = rows
            .iter()
            .flat_map(|&r| z[r * k..(r + 1) * k].iter().copied())
            .collect();
        let ls: Vec<usize> = rows.iter().map(|&r| labels[r]).collect();
        newton_on_beta(&|b| nll_beta(&zs, k, &ls, b), 1.0, None)
            .ok()
            .map(|(b, _, _)| b)
    } else {
        None
    };
    // Newton on beta = 1/T (see `newton_from`): from the subset's guess,
    // inside the bracket that the derivative at T = 1 already gives, or
    // from T = 1 itself.
    let (beta, after, iterations) = match guess {
        Some(b) if b != 1.0 => {
            let (lo, hi) = if at_one.1 > 0.0 {
                (0.0, 1.0)
            } else {
                (1.0, f64::INFINITY)
            };
            let bracket = Bracket { lo, hi };
            let (beta, after, steps) = newton_from(&full, b, bracket, None)?;
            (beta, after, steps + 1)
        }
        _ => newton_on_beta(&full, 1.0, Some(at_one))?,
    };
    Ok(TemperatureFit {
        temperature: 1.0 / beta,
        nll_before: before,
        nll_after: after,
        accuracy: rayon::join(
            || accuracy(logits, labels, 1.0),
            || accuracy(logits, labels, beta),
        ),
        iterations,
    })
}

/// Platt scaling of a binary logit: `p = sigmoid(a z + b)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Platt {
    /// Slope on the logit.
    pub a: f64,
    /// Offset.
    pub b: f64,
    /// Mean NLL at the fit.
    pub nll: f64,
}

impl Platt {
    /// The calibrated probability of a logit.
    pub fn apply(&self, z: f64) -> f64 {
        crate::classification::sigmoid(self.a * z + self.b)
    }
}

/// Fit Platt scaling by maximum likelihood (Newton's method on `(a, b)`
/// with step halving), on logits `z` and binary outcomes.
pub fn fit_platt(z: &[f64], positive: &[bool]) -> Result<Platt, MetricError> {
    if z.len() != positive.len() {
        return Err(MetricError::LengthMismatch {
            scores: z.len(),
            labels: positive.len(),
        });
    }
    if !positive.iter().any(|&p| p) || positive.iter().all(|&p| p) {
        return Err(MetricError::Undefined(
            "Platt scaling needs both outcomes".into(),
        ));
    }
    if let Some(i) = z.iter().position(|v| !v.is_finite()) {
        return Err(MetricError::NaN { index: i });
    }
    let loss = |a: f64, b: f64| -> f64 {
        z.iter()
            .zip(positive)
            .map(|(&x, &y)| {
                let t = a * x + b;
                // -log sigmoid(t) = softplus(-t); -log(1 - sigmoid(t)) = softplus(t)
                let sp = |u: f64| {
                    if u > 0.0 {
                        u + (-u).exp().ln_1p()
                    } else {
                        u.exp().ln_1p()
                    }
                };
                if y { sp(-t) } else { sp(t) }
            })
            .sum::<f64>()
            / z.len() as f64
    };
    let (mut a, mut b) = (1.0, 0.0);
    let mut f = loss(a, b);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (&x, &y) in z.iter().zip(positive) {
            let p = crate::classification::sigmoid(a * x + b);
            let r = p - f64::from(u8::from(y));
            let w = p * (1.0 - p);
            ga += r * x;
            gb += r;
            haa += w * x * x;
            hab += w * x;
            hbb += w;
        }
        let n = z.len() as f64;
        let (ga, gb, haa, hab, hbb) = (ga / n, gb / n, haa / n + 1e-12, hab / n, hbb / n + 1e-12);
        if ga.abs().max(gb.abs()) < 1e-12 {
            break;
        }
        let det = haa * hbb - hab * hab;
        let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
        let mut step = 1.0;
        loop {
            let (na, nb) = (a - step * da, b - step * db);
            let nf = loss(na, nb);
            if nf <= f || step < 1e-10 {
                a = na;
                b = nb;
                f = nf;
                break;
            }
            step *= 0.5;
        }
    }
    Ok(Platt { a, b, nll: f })
}

/// Settings of a percentile bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bootstrap {
    /// Resamples drawn.
    pub replicates: usize,
    /// Confidence level, e.g. 0.95.
    pub level: f64,
    /// Seed of the resampling (ChaCha8).
    pub seed: u64,
}

/// Percentile bootstrap interval of a calibration error: resample rows with
/// replacement.
pub fn calibration_error_ci(
    probs: ArrayView2<'_, f64>,
    labels: &[usize],
    target: Target,
    binning: &Binning,
    reduction: Reduction,
    bootstrap: &Bootstrap,
) -> Result<(f64, f64), MetricError> {
    let Bootstrap {
        replicates,
        level,
        seed,
    } = *bootstrap;
    calibration_error(probs, labels, target, binning, reduction)?;
    if replicates == 0 || !(level > 0.0 && level < 1.0) {
        return Err(MetricError::Undefined(format!(
            "bootstrap needs 0 < level < 1 and replicates > 0 (got {level}, {replicates})"
        )));
    }
    let n = labels.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draws: Vec<Vec<usize>> = (0..replicates)
        .map(|_| (0..n).map(|_| rng.random_range(0..n)).collect())
        .collect();
    let mut values: Vec<f64> = draws
        .par_iter()
        .map(|idx| {
            let p = probs.select(Axis(0), idx);
            let l: Vec<usize> = idx.iter().map(|&i| labels[i]).collect();
            calibration_error(p.view(), &l, target, binning, reduction).unwrap_or(f64::NAN)
        })
        .collect();
    values.sort_by(f64::total_cmp);
    let q = |x: f64| crate::segmentation::percentile_sorted(&values, x);
    Ok((
        q((1.0 - level) / 2.0 * 100.0),
        q((1.0 + level) / 2.0 * 100.0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn edge_rules_place_edge_values_as_documented() {
        let e = edges(&[], &Binning::equal_width(5, EdgeRule::RightClosed));
        assert_eq!(e[3], 0.6000000000000001); // numpy's linspace: 3 * 0.2
        assert_eq!(bin_of(0.2, &e, EdgeRule::RightClosed), 0);
        assert_eq!(bin_of(0.2, &e, EdgeRule::LeftClosed), 1);
        assert_eq!(bin_of(0.0, &e, EdgeRule::RightClosed), 0);
        assert_eq!(bin_of(1.0, &e, EdgeRule::RightClosed), 4);
        assert_eq!(bin_of(1.0, &e, EdgeRule::LeftClosed), 4);
        assert_eq!(bin_of(1.0, &e, EdgeRule::LeftClosedExtraBin), 5);
        assert_eq!(bin_of(0.6, &e, EdgeRule::LeftClosed), 2); // 0.6 < 0.6000000000000001
    }

    proptest::proptest! {
        #[test]
        fn equal_width_lookup_is_the_search(p in 0.0f64..=1.0, n in 1usize..40, grid in proptest::bool::ANY) {
            // Half the cases sit exactly on a multiple of 1/n.
            let p = if grid { ((p * n as f64).round() / n as f64).min(1.0) } else { p };
            let e = edges(&[], &Binning::equal_width(n, EdgeRule::LeftClosed));
            for rule in [EdgeRule::RightClosed, EdgeRule::LeftClosed, EdgeRule::LeftClosedExtraBin] {
                let lookup = EqualWidthLookup::new(&e);
                proptest::prop_assert_eq!(lookup.bin(p, rule), bin_of(p, &e, rule), "p {} n {} {:?}", p, n, rule);
                // Values outside [0, 1] (refused later) still land in a bin.
                for q in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1.0 + p, -p] {
                    let slots = n + usize::from(rule == EdgeRule::LeftClosedExtraBin);
                    proptest::prop_assert!(lookup.bin(q, rule) < slots);
                }
            }
        }
    }

    #[test]
    fn separable_or_uninformative_logits_are_errors() {
        let z = array![[0.0, 5.0], [0.0, -5.0], [0.0, 3.0], [0.0, -2.0]];
        assert!(
            fit_temperature(z.view(), &[1, 0, 1, 0])
                .unwrap_err()
                .to_string()
                .contains("separate")
        );
        assert!(
            fit_temperature(z.view(), &[0, 1, 0, 1])
                .unwrap_err()
                .to_string()
                .contains("no information")
        );
    }

    #[test]
    fn perfectly_calibrated_bins_give_zero() {
        // In each bin the accuracy equals the mean confidence.
        let c = [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75];
        let o = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0];
        let b = reliability(&c, &o, &Binning::equal_width(10, EdgeRule::LeftClosed)).unwrap();
        assert_eq!(reduce(&b, Reduction::Expected), 0.0);
        assert_eq!(reduce(&b, Reduction::Maximum), 0.0);
    }

    #[test]
    fn reductions_differ_as_defined() {
        // 3 samples at 0.95 all right (gap 0.05), 1 at 0.55 wrong (gap 0.55).
        let c = [0.95, 0.95, 0.95, 0.55];
        let o = [1.0, 1.0, 1.0, 0.0];
        let b = reliability(&c, &o, &Binning::equal_width(10, EdgeRule::RightClosed)).unwrap();
        let ece = reduce(&b, Reduction::Expected);
        assert!((ece - (0.75 * 0.05 + 0.25 * 0.55)).abs() < 1e-12);
        assert!((reduce(&b, Reduction::Average) - 0.3).abs() < 1e-12);
        assert!((reduce(&b, Reduction::Maximum) - 0.55).abs() < 1e-12);
    }

    #[test]
    fn temperature_recovers_a_known_scale_and_keeps_accuracy() {
        // Labels drawn from softmax(z / 2): the fitted T is near 2.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 20000;
        let mut z = Array2::<f64>::zeros((n, 4));
        let mut labels = Vec::with_capacity(n);
        for mut row in z.outer_iter_mut() {
            row.mapv_inplace(|_| rng.random_range(-4.0..4.0));
            let p = softmax(row.view().insert_axis(Axis(0)), 2.0);
            let u: f64 = rng.random();
            let mut acc = 0.0;
            let mut l = 3;
            for k in 0..4 {
                acc += p[[0, k]];
                if u < acc {
                    l = k;
                    break;
                }
            }
            labels.push(l);
        }
        let fit = fit_temperature(z.view(), &labels).unwrap();
        assert!((fit.temperature - 2.0).abs() < 0.1, "{fit:?}");
        assert!(fit.nll_after <= fit.nll_before);
        assert_eq!(fit.accuracy.0, fit.accuracy.1);
        // The derivative is zero there: a nudge either way costs NLL.
        let beta = 1.0 / fit.temperature;
        let f = |b: f64| nll_beta(z.as_slice().unwrap(), 4, &labels, b).0;
        assert!(f(beta * 1.01) > f(beta) && f(beta * 0.99) > f(beta));
    }

    #[test]
    fn confidences_outside_zero_one_are_refused_with_their_index() {
        for n in [10, 200_000] {
            for bad in [1.5, -0.25, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut c: Vec<f64> = (0..n).map(|i| (i % 97) as f64 / 96.0).collect();
                let o = vec![1.0; n];
                c[n - 3] = bad;
                for b in [
                    Binning::equal_width(15, EdgeRule::LeftClosedExtraBin),
                    Binning {
                        bins: 10,
                        spacing: Spacing::EqualMass,
                        edge: EdgeRule::RightClosed,
                    },
                ] {
                    let e = reliability(&c, &o, &b).unwrap_err().to_string();
                    assert!(e.contains(&format!("prediction {}", n - 3)), "{e}");
                }
            }
        }
    }

    #[test]
    fn probabilities_are_refused_as_logits() {
        let p = array![[0.2, 0.8], [0.6, 0.4]];
        let e = fit_temperature(p.view(), &[1, 0]).unwrap_err();
        assert!(e.to_string().contains("logits"));
    }

    #[test]
    fn platt_fits_a_known_sigmoid() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let z: Vec<f64> = (0..20000).map(|_| rng.random_range(-6.0..6.0)).collect();
        let y: Vec<bool> = z
            .iter()
            .map(|&x| rng.random::<f64>() < crate::classification::sigmoid(0.5 * x - 1.0))
            .collect();
        let p = fit_platt(&z, &y).unwrap();
        assert!((p.a - 0.5).abs() < 0.05 && (p.b + 1.0).abs() < 0.1, "{p:?}");
    }
}
