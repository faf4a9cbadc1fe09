//! Runtime choice of the instruction set for radlab's hot loops.
//!
//! radlab ships one build for the baseline x86-64 target (SSE2), so that the
//! same binary runs on a candidate's laptop and on CI. The loops that are
//! bound by memory bandwidth (windowing, mask overlap, the HU conversion)
//! are compiled a second and a third time with AVX2+FMA and with AVX-512
//! enabled, and [`Isa::active`] picks the widest one the processor has when
//! the program starts.
//!
//! Every version is the same Rust code: the compiler only widens the
//! vectors. Rust never fuses a multiply and an add on its own and never
//! reorders floating-point sums, so the versions give the same bits; the
//! tests of each kernel run every version the machine supports against the
//! baseline to prove it.
//!
//! Written by hand rather than with a dispatch crate because the two
//! candidates do not fit: `multiversion` hides the per-target functions,
//! so a test cannot call each one, and `pulp` asks for the kernels to be
//! rewritten in its SIMD types. The macro below is the whole of it.
//!
//! `RADLAB_SIMD=baseline|avx2|avx512` forces a path (the bench uses it to
//! compare them); a path the processor lacks falls back to the widest one it
//! has.

use std::sync::OnceLock;

/// An instruction set a kernel is compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Isa {
    /// The target's baseline (SSE2 on x86-64; whatever the target is elsewhere).
    Baseline,
    /// AVX2 and FMA (x86-64 processors since about 2013).
    Avx2,
    /// AVX-512 F, BW and VL, with AVX2 and FMA.
    Avx512,
}

impl Isa {
    /// Every instruction set, narrowest first.
    pub const ALL: [Isa; 3] = [Isa::Baseline, Isa::Avx2, Isa::Avx512];

    /// The name `RADLAB_SIMD` accepts and the bench prints.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Baseline => "baseline",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// The processor features the path uses, as the bench reports them.
    pub fn features(self) -> &'static str {
        match self {
            Isa::Baseline if cfg!(target_arch = "x86_64") => "sse2",
            Isa::Baseline => "target baseline",
            Isa::Avx2 => "avx2+fma",
            Isa::Avx512 => "avx512f+avx512bw+avx512vl+avx2+fma",
        }
    }

    /// Whether this processor can run the path.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                Isa::Avx2.is_supported()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The paths this processor can run, narrowest first.
    pub fn supported() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_supported()).collect()
    }

    /// The widest supported path, or the one `RADLAB_SIMD` asks for (the
    /// widest supported one at or below it). Decided once per process.
    pub fn active() -> Isa {
        static ACTIVE: OnceLock<Isa> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let asked = std::env::var("RADLAB_SIMD")
                .ok()
                .and_then(|v| Isa::ALL.into_iter().find(|i| i.name() == v.trim()));
            Self::choose(asked, &Isa::supported())
        })
    }

    /// The widest of `supported` at or below `asked` (all of them when
    /// nothing is asked).
    fn choose(asked: Option<Isa>, supported: &[Isa]) -> Isa {
        supported
            .iter()
            .copied()
            .filter(|&i| asked.is_none_or(|a| i <= a))
            .max()
            .unwrap_or(Isa::Baseline)
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The processor's model name, for reports (`/proc/cpuinfo` on Linux).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Define a kernel compiled once per [`Isa`]. The function gets a leading
/// `isa: Isa` argument and runs the widest version at or below it that the
/// processor supports; pass [`Isa::active()`] in production code and each
/// of [`Isa::supported()`] in tests.
///
/// Put the macro around the innermost serial loop: a closure handed to
/// rayon is compiled on its own, outside the enabled features, so dispatch
/// inside it, once per chunk.
///
/// ```
/// radlab_simd::kernel! {
///     /// Sum of squares, in order.
///     pub fn sum_sq(v: &[f32]) -> f32 {
///         v.iter().fold(0.0, |a, x| a + x * x)
///     }
/// }
/// use radlab_simd::Isa;
/// let v: Vec<f32> = (0..1000).map(|i| i as f32 * 0.1).collect();
/// let base = sum_sq(Isa::Baseline, &v);
/// for isa in Isa::supported() {
///     assert_eq!(sum_sq(isa, &v).to_bits(), base.to_bits());
/// }
/// ```
#[macro_export]
macro_rules! kernel {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        #[allow(unused_unsafe)]
        $vis fn $name(isa: $crate::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
            unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }

            match isa {
                #[cfg(target_arch = "x86_64")]
                $crate::Isa::Avx512 if $crate::Isa::Avx512.is_supported() => {
                    // SAFETY: the processor has every feature the version enables.
                    unsafe { avx512($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                $crate::Isa::Avx512 | $crate::Isa::Avx2 if $crate::Isa::Avx2.is_supported() => {
                    // SAFETY: as above.
                    unsafe { avx2($($arg),*) }
                }
                _ => body($($arg),*),
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_asked_for_is_capped_by_what_the_processor_has() {
        let all = [Isa::Baseline, Isa::Avx2, Isa::Avx512];
        let some = [Isa::Baseline, Isa::Avx2];
        assert_eq!(Isa::choose(None, &all), Isa::Avx512);
        assert_eq!(Isa::choose(Some(Isa::Avx512), &some), Isa::Avx2);
        assert_eq!(Isa::choose(Some(Isa::Baseline), &all), Isa::Baseline);
        assert_eq!(Isa::choose(None, &[Isa::Baseline]), Isa::Baseline);
    }

    #[test]
    fn baseline_is_always_there_and_the_active_path_is_supported() {
        assert!(Isa::supported().contains(&Isa::Baseline));
        assert!(Isa::active().is_supported());
    }

    kernel! {
        fn bytes_equal(a: &[u8], b: &[u8]) -> usize {
            a.iter().zip(b).filter(|(x, y)| x == y).count()
        }
    }

    #[test]
    fn every_path_runs_and_agrees() {
        let a: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let b: Vec<u8> = (0..10_000u32).map(|i| (i * 11 % 251) as u8).collect();
        let want = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        for isa in Isa::ALL {
            assert_eq!(bytes_equal(isa, &a, &b), want, "{isa}");
        }
    }
}
