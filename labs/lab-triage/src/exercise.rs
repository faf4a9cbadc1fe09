//! Your exercises for lab-triage. This is the only file you edit.
//!
//! Each function is a task of `cargo run -p lab-triage -- grade`.
//! Replace the `todo!()` with your implementation; keep the signatures.
//! Stuck? `cargo run -p lab-triage -- hint TASK`. To start over, copy
//! `src/exercise/pristine.rs` (the stubs as shipped) over this file.

use crate::types::{Completeness, Completion, Disk, SeriesSoFar};

/// Task `completeness`: the study has `series` so far, its latest instance
/// arrived at `last_ms`, it is now `now_ms`. Complete with
/// `Completion::ExpectedCount` when the rule allows the shortcut and every
/// series has received at least the count it announces; else with
/// `Completion::Quiet` once `rule.quiet_ms` have passed since `last_ms`;
/// else `None`. A study with no series is never complete.
pub fn is_complete(
    series: &[SeriesSoFar],
    last_ms: u64,
    now_ms: u64,
    rule: Completeness,
) -> Option<Completion> {
    let _ = (series, last_ms, now_ms, rule);
    todo!("completeness")
}

/// Task `wildcard`: does `text` match `pattern`, where `*` matches any run
/// of characters (none included) and `?` exactly one? Case and surrounding
/// spaces are ignored.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let _ = (pattern, text);
    todo!("wildcard")
}

/// Task `percentile`: the nearest-rank `p`-th percentile of `values` (the
/// smallest value with at least `p` % of the values at or below it); `None`
/// for no values or `p` outside `(0, 100]`.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let _ = (values, p);
    todo!("percentile")
}

/// Task `work-order`: jobs arrive in the order of `priorities`; return
/// their indexes in the order they are worked: higher priority first, and
/// among equal priorities first come, first served.
pub fn work_order(priorities: &[i32]) -> Vec<usize> {
    let _ = priorities;
    todo!("work-order")
}

/// Task `durable-ack`: store one instance named `name` with content `bytes`
/// on `disk` and answer the sender with `disk.acknowledge(status)`: 0x0000
/// once it would survive a crash (also when `name` was stored before: keep
/// the first copy), 0xA700 when the disk fails, leaving no temporary file.
pub fn store_instance(disk: &mut dyn Disk, name: &str, bytes: &[u8]) {
    let _ = (disk, name, bytes);
    todo!("durable-ack")
}
