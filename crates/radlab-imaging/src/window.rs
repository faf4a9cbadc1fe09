//! VOI windowing as defined in PS3.3 C.11.2.1.2 (Window Center and Window Width).
//!
//! * **LINEAR** (C.11.2.1.2.1): the classic window. The standard centres it at
//!   `c - 0.5` and spans `w - 1`, so that integer-valued stored pixels map the
//!   way old 12-bit lookup tables did:
//!   `x <= c - 0.5 - (w-1)/2 -> ymin`, `x > c - 0.5 + (w-1)/2 -> ymax`,
//!   else `y = ((x - (c - 0.5)) / (w-1) + 0.5) * (ymax - ymin) + ymin`. Needs `w >= 1`.
//! * **LINEAR_EXACT** (C.11.2.1.3.2): no offsets:
//!   `x <= c - w/2 -> ymin`, `x > c + w/2 -> ymax`,
//!   else `y = ((x - c) / w + 0.5) * (ymax - ymin) + ymin`. Needs `w > 0`.
//! * **SIGMOID** (C.11.2.1.3.1): `y = (ymax - ymin) / (1 + exp(-4 (x - c) / w)) + ymin`. Needs `w > 0`.
//!
//! Output to 8 bits uses `ymin = 0`, `ymax = 255` and rounds to the nearest
//! integer (halves up).

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{ImagingError, Result};

/// The VOI LUT Function (0028,1056). With the `cli` feature it is a
/// `clap::ValueEnum` (`linear`, `linear-exact`, `sigmoid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum VoiFunction {
    /// LINEAR: the default, with the `c - 0.5` / `w - 1` terms.
    #[serde(rename = "LINEAR")]
    Linear,
    /// LINEAR_EXACT: no offsets.
    #[serde(rename = "LINEAR_EXACT")]
    LinearExact,
    /// SIGMOID: a smooth S-curve, never quite clipping.
    #[serde(rename = "SIGMOID")]
    Sigmoid,
}

impl VoiFunction {
    /// The defined term as written in DICOM.
    pub fn name(self) -> &'static str {
        match self {
            VoiFunction::Linear => "LINEAR",
            VoiFunction::LinearExact => "LINEAR_EXACT",
            VoiFunction::Sigmoid => "SIGMOID",
        }
    }
}

impl std::fmt::Display for VoiFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A window: center, width and VOI function, checked on construction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Window {
    center: f64,
    width: f64,
    function: VoiFunction,
}

impl Window {
    /// Make a window, checking the width against the function's rule.
    ///
    /// ```
    /// use radlab_imaging::window::{VoiFunction, Window};
    /// let lung = Window::new(-600.0, 1500.0, VoiFunction::Linear).unwrap();
    /// assert_eq!(lung.to_u8(-600.0), 128);
    /// assert!(Window::new(40.0, 0.5, VoiFunction::Linear).is_err()); // LINEAR needs w >= 1
    /// ```
    pub fn new(center: f64, width: f64, function: VoiFunction) -> Result<Self> {
        let bad = |reason| ImagingError::InvalidWindow {
            center,
            width,
            function: function.name(),
            reason,
        };
        if !center.is_finite() || !width.is_finite() {
            return Err(bad("center and width must be finite numbers"));
        }
        match function {
            VoiFunction::Linear if width < 1.0 => Err(bad("LINEAR requires width >= 1")),
            VoiFunction::LinearExact | VoiFunction::Sigmoid if width <= 0.0 => {
                Err(bad("LINEAR_EXACT and SIGMOID require width > 0"))
            }
            _ => Ok(Window {
                center,
                width,
                function,
            }),
        }
    }

    /// Window center.
    pub fn center(&self) -> f64 {
        self.center
    }

    /// Window width.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// VOI function.
    pub fn function(&self) -> VoiFunction {
        self.function
    }

    /// Map a modality value to the output range `[ymin, ymax]` (exact, f64).
    pub fn apply(&self, x: f64, ymin: f64, ymax: f64) -> f64 {
        let (c, w) = (self.center, self.width);
        match self.function {
            VoiFunction::Linear => {
                if x <= c - 0.5 - (w - 1.0) / 2.0 {
                    ymin
                } else if x > c - 0.5 + (w - 1.0) / 2.0 {
                    ymax
                } else {
                    // ((x - (c - 0.5)) / (w - 1) + 0.5) * (ymax - ymin) + ymin, with the
                    // multiplication done before the division so that exact halves stay exact.
                    (x - c + 0.5) * (ymax - ymin) / (w - 1.0) + (ymax - ymin) / 2.0 + ymin
                }
            }
            VoiFunction::LinearExact => {
                if x <= c - w / 2.0 {
                    ymin
                } else if x > c + w / 2.0 {
                    ymax
                } else {
                    // ((x - c) / w + 0.5) * (ymax - ymin) + ymin, multiplication first.
                    (x - c) * (ymax - ymin) / w + (ymax - ymin) / 2.0 + ymin
                }
            }
            VoiFunction::Sigmoid => (ymax - ymin) / (1.0 + (-4.0 * (x - c) / w).exp()) + ymin,
        }
    }

    /// Map a modality value to 0..=255, rounding halves up.
    ///
    /// For the linear functions the rounding is exact: the grey level is
    /// `floor(y + 1/2)` of the exact rational `y`, so a value that lands on a
    /// half (e.g. 25.5) always rounds up, whatever the floating-point error
    /// of a division would have been.
    pub fn to_u8(&self, x: f64) -> u8 {
        match self.ramp() {
            Some(r) => r.grey(x),
            None => (self.apply(x, 0.0, 255.0) + 0.5).floor().clamp(0.0, 255.0) as u8,
        }
    }

    /// The linear ramp of LINEAR (w > 1) and LINEAR_EXACT; `None` for SIGMOID
    /// and for LINEAR with w = 1, which is a threshold.
    fn ramp(&self) -> Option<Ramp> {
        let (c, w) = (self.center, self.width);
        match self.function {
            VoiFunction::Linear if w > 1.0 => Some(Ramp::new(c, 0.5, w - 1.0)),
            VoiFunction::LinearExact => Some(Ramp::new(c, 0.0, w)),
            _ => None,
        }
    }

    /// The input values at and below which the output is `ymin`, and above
    /// which it is `ymax` (for SIGMOID: the points where the rounded 8-bit
    /// output first and last saturates are not defined, so the linear
    /// `c -/+ w/2` limits are returned).
    pub fn limits(&self) -> (f64, f64) {
        let (c, w) = (self.center, self.width);
        match self.function {
            VoiFunction::Linear => (c - 0.5 - (w - 1.0) / 2.0, c - 0.5 + (w - 1.0) / 2.0),
            VoiFunction::LinearExact | VoiFunction::Sigmoid => (c - w / 2.0, c + w / 2.0),
        }
    }

    /// Window a slice of modality values into 8-bit output, in parallel.
    ///
    /// Gives exactly the same bytes as calling [`Window::to_u8`] on each value.
    pub fn to_u8_slice(&self, values: &[f32], out: &mut [u8]) {
        self.to_u8_slice_on(radlab_simd::Isa::active(), values, out)
    }

    /// [`Self::to_u8_slice`] with the hot loop compiled for `isa` (or the
    /// widest path below it that the processor has): the same bytes on
    /// every path.
    pub fn to_u8_slice_on(&self, isa: radlab_simd::Isa, values: &[f32], out: &mut [u8]) {
        assert_eq!(values.len(), out.len(), "input and output lengths differ");
        const CHUNK: usize = 1 << 15;
        match self.ramp() {
            Some(r) => {
                let (lo, hi) = self.limits();
                let first = lo.floor().max(-1e6) as i32;
                let last = hi.ceil().min(1e6) as i32;
                // A 4-lane f32 ramp. Rounding in f32 is monotone, so if it
                // gives the exact grey level for every integer from `first`
                // to `last` (checked here, once per window), it is exact for
                // every integer value, which is what CT holds. The rare
                // non-integer values inside the ramp are redone exactly.
                let shift = (r.offset - r.c) as f32;
                let a = (255.0 * r.inv) as f32;
                let exact_on_integers =
                    (first..=last).all(|i| ramp_f32(i as f32, shift, a) == r.grey(f64::from(i)));
                let (first_f, last_f) = (first as f32, last as f32);
                if exact_on_integers {
                    values
                        .par_chunks(CHUNK)
                        .zip(out.par_chunks_mut(CHUNK))
                        .for_each(|(v, o)| {
                            let fractional = ramp_chunk_on(isa, v, o, shift, a, first_f, last_f);
                            if fractional > 0 {
                                for (o, &x) in o.iter_mut().zip(v) {
                                    if x > first_f && x < last_f && x.fract() != 0.0 {
                                        *o = r.grey(f64::from(x));
                                    }
                                }
                            }
                        });
                    return;
                }
                // Otherwise: a table of the exact ramp for integers, the
                // exact ramp for the rest.
                let table: Vec<u8> = (first..=last).map(|i| r.grey(f64::from(i))).collect();
                values
                    .par_chunks(CHUNK)
                    .zip(out.par_chunks_mut(CHUNK))
                    .for_each(|(v, o)| {
                        for (o, &x) in o.iter_mut().zip(v) {
                            *o = if x < first_f {
                                0
                            } else if x > last_f {
                                255
                            } else {
                                let i = x as i32;
                                if i as f32 == x {
                                    table[(i - first) as usize]
                                } else {
                                    r.grey(f64::from(x))
                                }
                            };
                        }
                    });
            }
            None => {
                values
                    .par_chunks(CHUNK)
                    .zip(out.par_chunks_mut(CHUNK))
                    .for_each(|(v, o)| {
                        for (o, &x) in o.iter_mut().zip(v) {
                            *o = self.to_u8(f64::from(x));
                        }
                    });
            }
        }
    }

    /// Fractions of the values this window shows as pure black (output 0)
    /// and pure white (output 255), measured on the output of [`Self::to_u8`]
    /// so they hold for every function: SIGMOID reaches 0 and 255 only far
    /// outside LINEAR's limits.
    ///
    /// ```
    /// use radlab_imaging::{VoiFunction, Window};
    /// let w = Window::new(40.0, 400.0, VoiFunction::Linear).unwrap();
    /// assert_eq!(w.clipped_fractions(&[-1000.0, 40.0, 40.0, 3000.0]), (0.25, 0.25));
    /// let s = Window::new(40.0, 400.0, VoiFunction::Sigmoid).unwrap();
    /// assert_eq!(s.clipped_fractions(&[-200.0, 40.0, 280.0]), (0.0, 0.0));
    /// ```
    pub fn clipped_fractions(&self, values: &[f32]) -> (f64, f64) {
        if values.is_empty() {
            return (0.0, 0.0);
        }
        let (l, h) = values
            .par_chunks(1 << 16)
            .map(|c| {
                let mut out = vec![0u8; c.len()];
                self.to_u8_slice(c, &mut out);
                out.iter().fold((0usize, 0usize), |(l, h), &y| {
                    (l + usize::from(y == 0), h + usize::from(y == 255))
                })
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let n = values.len() as f64;
        (l as f64 / n, h as f64 / n)
    }
}

/// The 4-byte float ramp of [`Window::to_u8_slice`]: `(x + shift) * a + 128`,
/// clamped to [0, 255] and truncated. Two roundings in f32, no fused
/// multiply-add, so every instruction set gives the same byte.
#[inline(always)]
fn ramp_f32(x: f32, shift: f32, a: f32) -> u8 {
    let y = (x + shift) * a + 128.0;
    // SAFETY: max/min map every input, NaN included, into [0, 255], so the
    // conversion is in range. (clamp would keep NaN, which is why it is
    // not used.)
    #[allow(clippy::manual_clamp)]
    let q: i32 = unsafe { y.max(0.0).min(255.0).to_int_unchecked() };
    q as u8
}

radlab_simd::kernel! {
    /// One chunk of the float ramp; returns how many values lie strictly
    /// inside the ramp without being whole numbers (they are redone
    /// exactly by the caller).
    pub(crate) fn ramp_chunk_on(
        v: &[f32],
        o: &mut [u8],
        shift: f32,
        a: f32,
        first_f: f32,
        last_f: f32,
    ) -> u32 {
        let mut fractional = 0u32;
        for (o, &x) in o.iter_mut().zip(v) {
            *o = ramp_f32(x, shift, a);
            let inside = (x > first_f) & (x < last_f);
            // SAFETY: inside the ramp |x| < 1e6 + 1.
            let whole = inside && unsafe { x.to_int_unchecked::<i32>() } as f32 == x;
            fractional += u32::from(inside & !whole);
        }
        fractional
    }
}

/// `y + 1/2 = ((x - c + offset) * 255 + 128 * span) / span`, rounded down
/// exactly without a division per value: a reciprocal estimate corrected by
/// two exact comparisons. Branch-free, so the loop vectorises.
#[derive(Debug, Clone, Copy)]
struct Ramp {
    c: f64,
    offset: f64,
    span: f64,
    inv: f64,
}

impl Ramp {
    fn new(c: f64, offset: f64, span: f64) -> Self {
        Ramp {
            c,
            offset,
            span,
            inv: 1.0 / span,
        }
    }

    #[inline(always)]
    fn grey(self, x: f64) -> u8 {
        let num = (x - self.c + self.offset) * 255.0 + 128.0 * self.span;
        // Round to nearest with the 1.5 * 2^52 trick (exact for |v| < 2^51),
        // then correct to the exact floor of num / span.
        const MAGIC: f64 = 6_755_399_441_055_744.0;
        let v = (num * self.inv).clamp(-1.0, 256.0);
        let mut q = (v + MAGIC) - MAGIC;
        q += if (q + 1.0) * self.span <= num {
            1.0
        } else {
            0.0
        };
        q -= if q * self.span > num { 1.0 } else { 0.0 };
        q.clamp(0.0, 255.0) as u8
    }
}

/// A 65536-entry table from stored int16 values straight to 8-bit output:
/// the modality rescale and the window folded into one lookup.
///
/// ```
/// use radlab_imaging::window::{I16Lut, VoiFunction, Window};
/// let w = Window::new(40.0, 400.0, VoiFunction::Linear).unwrap();
/// let lut = I16Lut::new(1.0, -1024.0, &w);
/// assert_eq!(lut.get(1024 + 40), w.to_u8(40.0));
/// ```
pub struct I16Lut {
    table: Vec<u8>,
}

impl I16Lut {
    /// Build the table for `value = stored * slope + intercept`, then `window`.
    pub fn new(slope: f64, intercept: f64, window: &Window) -> Self {
        let table = (0..=u16::MAX)
            .map(|i| {
                let stored = i as i16;
                window.to_u8(f64::from(stored) * slope + intercept)
            })
            .collect();
        I16Lut { table }
    }

    /// Look up one stored value.
    #[inline]
    pub fn get(&self, stored: i16) -> u8 {
        self.table[stored as u16 as usize]
    }

    /// Apply the table to many stored values, in parallel.
    pub fn apply(&self, stored: &[i16], out: &mut [u8]) {
        assert_eq!(stored.len(), out.len(), "input and output lengths differ");
        stored
            .par_chunks(1 << 15)
            .zip(out.par_chunks_mut(1 << 15))
            .for_each(|(s, o)| {
                for (o, &v) in o.iter_mut().zip(s) {
                    *o = self.table[v as u16 as usize];
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lin(c: f64, w: f64) -> Window {
        Window::new(c, w, VoiFunction::Linear).unwrap()
    }

    // Notes 1-4 of PS3.3 C.11.2.1.2.1, output range 0..255.
    #[test]
    fn standard_note_1_c2048_w4096() {
        let w = lin(2048.0, 4096.0);
        assert_eq!(w.apply(0.0, 0.0, 255.0), 0.0);
        assert_eq!(w.apply(4095.0, 0.0, 255.0), 255.0);
        assert_eq!(w.apply(4096.0, 0.0, 255.0), 255.0);
        let x = 1000.0;
        let expected = ((x - 2047.5) / 4095.0 + 0.5) * 255.0;
        assert!((w.apply(x, 0.0, 255.0) - expected).abs() < 1e-12);
    }

    #[test]
    fn standard_note_2_width_one_is_a_threshold() {
        let w = lin(2048.0, 1.0);
        assert_eq!(w.to_u8(2047.0), 0);
        assert_eq!(w.to_u8(2047.5), 0);
        assert_eq!(w.to_u8(2047.5001), 255);
        assert_eq!(w.to_u8(2048.0), 255);
    }

    #[test]
    fn standard_note_3_c0_w100() {
        let w = lin(0.0, 100.0);
        assert_eq!(w.apply(-50.0, 0.0, 255.0), 0.0);
        assert_eq!(w.apply(49.0, 0.0, 255.0), 255.0);
        assert_eq!(w.apply(49.5, 0.0, 255.0), 255.0);
        let expected = ((10.0 + 0.5) / 99.0 + 0.5) * 255.0;
        assert!((w.apply(10.0, 0.0, 255.0) - expected).abs() < 1e-12);
    }
}
