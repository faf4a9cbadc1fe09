//! Post-hoc recalibration: temperature scaling (one T > 0, Newton on 1/T,
//! where the NLL is convex) and Platt scaling (sigmoid(a z + b)).

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;
use serde::Serialize;

use super::*;
use crate::MetricError;

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
pub(super) fn nll_beta(z: &[f64], k: usize, labels: &[usize], beta: f64) -> (f64, f64, f64) {
    const ROWS: usize = 512;
    let isa = radlab_simd::Isa::active();
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
                e.resize(d.len(), 0.0);
                scaled_exp_on(isa, d, e, beta);
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

radlab_simd::kernel! {
    /// `e[i] = exp(beta * d[i])` for the non-positive shifted logits `d`:
    /// the loop where the fit spends its time, four or eight lanes wide on
    /// AVX2 or AVX-512. [`crate::exp`] uses no fused multiply-add, so the
    /// paths agree to the bit.
    pub(super) fn scaled_exp_on(d: &[f64], e: &mut [f64], beta: f64) {
        for (o, &v) in e.iter_mut().zip(d) {
            *o = crate::exp::exp_nonpositive(beta * v);
        }
    }
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
