//! Limits that no header may push radlab past: a memory budget for every
//! buffer whose size comes from a file, and the deepest sequence nesting
//! accepted.
//!
//! The memory budget is half of the machine's physical memory unless the
//! environment variable `RADLAB_MAX_MEMORY` says otherwise (bytes, or with a
//! `K`, `M`, `G` or `T` suffix, powers of 1024: `RADLAB_MAX_MEMORY=8G`).
//!
//! ```
//! let budget = radlab_dicom::limits::memory_budget();
//! assert!(budget.bytes > 0);
//! // 1000 x 1000 x 1000 f32 voxels is 4 GB: refused under a 1 GiB budget.
//! let small = radlab_dicom::limits::Budget { bytes: 1 << 30, from: "a test" };
//! assert!(small.check(1000 * 1000 * 1000, 4).is_err());
//! ```

/// Sequences nested deeper than this are refused before any parser sees
/// them. Real IODs stay below about ten levels (an enhanced multi-frame
/// object's functional groups reach four or five).
pub const MAX_SEQUENCE_DEPTH: usize = 64;

/// Smallest pixel or slice spacing accepted, mm (0.1 um; whole-slide
/// microscopy is about 0.25 um).
pub const MIN_SPACING_MM: f64 = 1e-4;

/// Largest pixel or slice spacing accepted, mm (100 m).
pub const MAX_SPACING_MM: f64 = 1e5;

/// True when `mm` is a usable spacing: finite and within
/// [`MIN_SPACING_MM`]..=[`MAX_SPACING_MM`].
pub fn plausible_spacing(mm: f64) -> bool {
    mm.is_finite() && (MIN_SPACING_MM..=MAX_SPACING_MM).contains(&mm)
}

/// Tolerance on ImageOrientationPatient: each direction cosine vector must
/// have unit length, and the two must be orthogonal, within this much.
pub const ORIENTATION_TOLERANCE: f64 = 1e-2;

/// The memory budget in force, with where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Largest single buffer radlab will allocate from header values, bytes.
    pub bytes: u64,
    /// Where the number came from (`RADLAB_MAX_MEMORY` or physical memory).
    pub from: &'static str,
}

impl Budget {
    /// Check that `count` elements of `elem_bytes` bytes each fit the budget;
    /// `Err` carries the size asked for in bytes (saturating) when they do not.
    pub fn check(&self, count: u128, elem_bytes: u128) -> Result<usize, u128> {
        let want = count.saturating_mul(elem_bytes);
        if want > u128::from(self.bytes) || count > usize::MAX as u128 {
            Err(want)
        } else {
            Ok(count as usize)
        }
    }

    /// A clause for error messages: `the memory limit is 12.0 GiB (half of physical memory; ...)`.
    pub fn describe(&self) -> String {
        format!("the memory limit is {}", self.limit())
    }

    /// The limit alone: `12.0 GiB (half of physical memory; set RADLAB_MAX_MEMORY to change it)`.
    pub fn limit(&self) -> String {
        format!(
            "{} ({}; set RADLAB_MAX_MEMORY to change it)",
            human_bytes(u128::from(self.bytes)),
            self.from
        )
    }
}

/// Bytes in binary units, e.g. `4.0 GiB`.
pub fn human_bytes(b: u128) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Parse `RADLAB_MAX_MEMORY`-style sizes: `123`, `512M`, `8G`, `1.5T`.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, mul) = match t.chars().last()?.to_ascii_uppercase() {
        'K' => (&t[..t.len() - 1], 1u64 << 10),
        'M' => (&t[..t.len() - 1], 1 << 20),
        'G' => (&t[..t.len() - 1], 1 << 30),
        'T' => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v > 0.0 && v * (mul as f64) < u64::MAX as f64)
        .then_some((v * mul as f64) as u64)
}

fn physical_memory() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads system configuration values.
        let (pages, size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && size > 0 {
            return Some((pages as u64).saturating_mul(size as u64));
        }
    }
    None
}

/// The budget: `RADLAB_MAX_MEMORY` when set and valid, else half of physical
/// memory (4 GiB when that cannot be read). Read once per process.
pub fn memory_budget() -> Budget {
    static BUDGET: std::sync::OnceLock<Budget> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(read_budget)
}

fn read_budget() -> Budget {
    if let Some(b) = std::env::var("RADLAB_MAX_MEMORY")
        .ok()
        .and_then(|v| parse_size(&v))
    {
        return Budget {
            bytes: b,
            from: "RADLAB_MAX_MEMORY",
        };
    }
    let physical = physical_memory().map(|m| (m / 2, "half of physical memory"));
    let address_space = address_space_limit().map(|m| (m / 2, "half of the address-space limit"));
    match (physical, address_space) {
        (Some(p), Some(a)) if a.0 < p.0 => Budget {
            bytes: a.0,
            from: a.1,
        },
        (Some(p), _) => Budget {
            bytes: p.0,
            from: p.1,
        },
        (None, Some(a)) => Budget {
            bytes: a.0,
            from: a.1,
        },
        (None, None) => Budget {
            bytes: 4 << 30,
            from: "default, physical memory unknown",
        },
    }
}

/// The soft RLIMIT_AS of this process, when one is set.
fn address_space_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } == 0
            && lim.rlim_cur != libc::RLIM_INFINITY
        {
            // rlim_t is u64 on Linux, not on every Unix.
            #[allow(clippy::unnecessary_cast)]
            return Some(lim.rlim_cur as u64);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("-1G"), None);
        assert_eq!(parse_size("lots"), None);
    }

    #[test]
    fn budget_refuses_overflowing_requests() {
        let b = Budget {
            bytes: 1 << 20,
            from: "test",
        };
        assert_eq!(b.check(1 << 18, 4), Ok(1 << 18));
        assert!(b.check((1 << 18) + 1, 4).is_err());
        assert!(b.check(u128::MAX, 4).is_err());
    }
}
