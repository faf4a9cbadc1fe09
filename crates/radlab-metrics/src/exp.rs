//! An exponential for non-positive arguments that the compiler can
//! vectorise.
//!
//! The temperature fit spends nearly all its time in `exp` (1.4 million per
//! NLL evaluation on 100 000 x 14 logits). The standard library's `exp` is
//! a call per value, and the `wide` crate's vector `exp` measured no faster
//! on the baseline x86-64 target (SSE2 only, no vector rounding). This one
//! is straight-line arithmetic on `f64` with no calls, tables or branches,
//! so a loop over a slice compiles to packed instructions: about twice the
//! throughput, within one ulp of `f64::exp` (a test sweeps the range).
//!
//! Method: `x = n ln 2 + r` with `n = round(x / ln 2)` (the 1.5 * 2^52
//! shifter rounds) and ln 2 split in two (Cody and Waite) so that `r` is
//! exact enough; `exp(r)` for `|r| <= ln 2 / 2` from its Taylor series to
//! `r^13` (truncation below 1e-17), evaluated by Estrin's scheme; then
//! `2^n` built in the exponent bits, in two halves so that results down to
//! the subnormals are reached.

/// `exp(x)` for `x <= 0` (the softmax arguments once the row maximum is
/// subtracted); below -745 the result is 0, as for `f64::exp`.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f64) -> f64 {
    const SHIFTER: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    const LN2_HI: f64 = 0.693_145_751_953_125;
    const LN2_LO: f64 = 1.428_606_820_309_417_3e-6;
    // 1/k! for k = 2..=13.
    const C: [f64; 12] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let x = x.max(-746.0);
    let t = x * std::f64::consts::LOG2_E + SHIFTER;
    let n = t - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let r2 = r * r;
    let r4 = r2 * r2;
    let q0 = (C[0] + C[1] * r) + (C[2] + C[3] * r) * r2;
    let q1 = (C[4] + C[5] * r) + (C[6] + C[7] * r) * r2;
    let q2 = (C[8] + C[9] * r) + (C[10] + C[11] * r) * r2;
    let e = 1.0 + (r + r2 * (q0 + q1 * r4 + q2 * (r4 * r4)));
    // n sits in the low bits of t's mantissa.
    let ni = (t.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    let half = ni >> 1;
    let scale = |p: i64| f64::from_bits(((p + 1023) as u64) << 52);
    e * scale(half) * scale(ni - half)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> i64 {
        (a.to_bits() as i64 - b.to_bits() as i64).abs()
    }

    #[test]
    fn within_one_ulp_of_the_standard_exp() {
        // A sweep with an irregular step over the whole range, and the
        // points around multiples of ln 2 / 2 where the reduction turns.
        let mut x = 0.0f64;
        let mut k = 0u64;
        while x > -708.0 {
            assert!(ulps(exp_nonpositive(x), x.exp()) <= 1, "x = {x}");
            k += 1;
            x -= 0.000_731 + (k % 13) as f64 * 1e-7;
        }
        for m in 0..2000 {
            let c = -(m as f64) * std::f64::consts::LN_2 / 2.0;
            for x in [c, c.next_up(), c.next_down()] {
                if x <= 0.0 {
                    assert!(ulps(exp_nonpositive(x), x.exp()) <= 1, "x = {x}");
                }
            }
        }
        assert_eq!(exp_nonpositive(0.0), 1.0);
    }

    #[test]
    fn subnormal_and_underflowing_results() {
        for x in [
            -708.5, -720.0, -730.0, -740.0, -744.0, -745.1, -746.0, -800.0, -1e300,
        ] {
            let (got, want) = (exp_nonpositive(x), x.exp());
            assert!(
                (got - want).abs() <= 2.0 * f64::from_bits(1),
                "x = {x}: {got} vs {want}"
            );
        }
        assert_eq!(exp_nonpositive(f64::NEG_INFINITY), 0.0);
    }
}
