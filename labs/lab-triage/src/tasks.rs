//! The tasks as tables of functions: the reference, the learner's exercise
//! file, the pristine stubs, and (in tests) one per known mistake.

use crate::types::{Completeness, Completion, Disk, SeriesSoFar};

radlab_grade::lab_tasks! {
    /// `completeness`: is the study complete, and why.
    is_complete: fn(&[SeriesSoFar], u64, u64, Completeness) -> Option<Completion>,
    /// `wildcard`: DICOM's `*` and `?` matching, ignoring case.
    wildcard: fn(&str, &str) -> bool,
    /// `percentile`: nearest-rank percentile.
    percentile: fn(&[f64], f64) -> Option<f64>,
    /// `work-order`: the order jobs of these priorities are worked in.
    work_order: fn(&[i32]) -> Vec<usize>,
    /// `durable-ack`: store one instance so that an acknowledged one survives a crash.
    store_instance: fn(&mut dyn Disk, &str, &[u8]),
}

/// The reference implementations.
pub mod reference {
    use super::*;

    /// radlab-triage's rule on the same facts.
    pub fn is_complete(
        series: &[SeriesSoFar],
        last_ms: u64,
        now_ms: u64,
        rule: Completeness,
    ) -> Option<Completion> {
        crate::pipeline::is_complete(series, last_ms, now_ms, rule)
    }

    /// radlab-triage's matcher.
    pub fn wildcard(pattern: &str, text: &str) -> bool {
        radlab_triage::rules::wildcard(pattern, text)
    }

    /// radlab-triage's nearest rank.
    pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
        radlab_triage::timeline::percentile(values, p)
    }

    /// The order radlab-triage's queue pops them.
    pub fn work_order(priorities: &[i32]) -> Vec<usize> {
        crate::pipeline::work_order(priorities)
    }

    /// The listener's order: write, fsync, link, fsync the folder, then ack.
    pub fn store_instance(disk: &mut dyn Disk, name: &str, bytes: &[u8]) {
        crate::pipeline::store_instance(disk, name, bytes)
    }
}
