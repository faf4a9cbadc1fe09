//! What a second process must reproduce, for the checks of cross-process stability.

use crate::tasks::{Key, Tasks};

/// What a second run of the lab must reproduce: keyed UIDs and a keyed
/// date of fixed inputs under the sample key, as `uids=...;date=...`. Each
/// part is computed on its own, so a panic in one task leaves the other.
pub fn probe(t: &'static Tasks) -> String {
    let quiet = |f: fn(&'static Tasks) -> String| {
        std::panic::catch_unwind(|| f(t)).unwrap_or_else(|_| "!panicked".into())
    };
    format!("uids={};date={}", quiet(probe_uids), quiet(probe_date))
}

pub(super) const PROBE_UIDS: [&str; 2] = ["1.2.826.0.1.3680043.8.498.12345", "1.2.3"];

pub(super) fn probe_uids(t: &'static Tasks) -> String {
    let key = Key::sample();
    PROBE_UIDS
        .iter()
        .map(|u| (t.remap_uid)(&key, u))
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn probe_date(t: &'static Tasks) -> String {
    (t.shift_date)(&Key::sample(), "PAT-0042", "1.2.3.100", "20240110")
}

/// This process's answer (`part` run here, panics left to the grader) and
/// a new process's answer for the probe part `name`.
pub(super) fn here_and_there(
    t: &'static Tasks,
    part: fn(&'static Tasks) -> String,
    name: &str,
) -> Result<(String, String), String> {
    let here = part(t);
    let there = radlab_grade::fresh::probe_in_fresh_process(env!("CARGO_PKG_NAME"), t.name)
        .map_err(|e| format!("could not run the check in a second process: {e}"))?;
    let there = there
        .split(';')
        .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or(&there)
        .to_string();
    Ok((here, there))
}
