//! The grader discriminates: the reference passes every check, the pristine
//! stubs score 0 without crashing the grader, and every common mistake
//! (a mutant) fails the check whose message names the mistake.

use lab_triage::tasks::{REFERENCE, Tasks};
use lab_triage::types::{Completeness, Completion, Disk, SeriesSoFar};
use radlab_grade::mutant;

fn counts_in(series: &[SeriesSoFar], any: bool, none_ok: bool) -> bool {
    let done = |s: &SeriesSoFar| match s.expected {
        Some(e) => s.received >= e,
        None => none_ok,
    };
    if any {
        series.iter().any(done)
    } else {
        series.iter().all(done)
    }
}

/// `now - last > quiet`: the boundary left out.
fn strict_boundary(
    series: &[SeriesSoFar],
    last: u64,
    now: u64,
    r: Completeness,
) -> Option<Completion> {
    if series.is_empty() {
        return None;
    }
    if r.expected_count && counts_in(series, false, false) {
        return Some(Completion::ExpectedCount);
    }
    (now.saturating_sub(last) > r.quiet_ms).then_some(Completion::Quiet)
}

/// The shortcut once any series has its count.
fn any_series(series: &[SeriesSoFar], last: u64, now: u64, r: Completeness) -> Option<Completion> {
    if series.is_empty() {
        return None;
    }
    if r.expected_count && counts_in(series, true, false) {
        return Some(Completion::ExpectedCount);
    }
    (now.saturating_sub(last) >= r.quiet_ms).then_some(Completion::Quiet)
}

/// `all` over no series is true: an empty study is "complete".
fn vacuous_all(series: &[SeriesSoFar], last: u64, now: u64, r: Completeness) -> Option<Completion> {
    if r.expected_count && counts_in(series, false, false) {
        return Some(Completion::ExpectedCount);
    }
    if series.is_empty() {
        return None;
    }
    (now.saturating_sub(last) >= r.quiet_ms).then_some(Completion::Quiet)
}

/// A series without a count counts as complete.
fn missing_count_ok(
    series: &[SeriesSoFar],
    last: u64,
    now: u64,
    r: Completeness,
) -> Option<Completion> {
    if series.is_empty() {
        return None;
    }
    if r.expected_count && counts_in(series, false, true) {
        return Some(Completion::ExpectedCount);
    }
    (now.saturating_sub(last) >= r.quiet_ms).then_some(Completion::Quiet)
}

/// `now - last` wrapping when the clock reads before the last instance.
fn wrapping_clock(
    series: &[SeriesSoFar],
    last: u64,
    now: u64,
    r: Completeness,
) -> Option<Completion> {
    if series.is_empty() {
        return None;
    }
    if r.expected_count && counts_in(series, false, false) {
        return Some(Completion::ExpectedCount);
    }
    (now.wrapping_sub(last) >= r.quiet_ms).then_some(Completion::Quiet)
}

/// `*` takes as little as it can and never gives back.
fn greedy_star(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.trim().to_uppercase().chars().collect();
    let t: Vec<char> = text.trim().to_uppercase().chars().collect();
    let (mut i, mut j) = (0, 0);
    while i < p.len() {
        match p[i] {
            '*' => {
                // Skip to the next literal of the pattern, once.
                if let Some(&next) = p.get(i + 1) {
                    while j < t.len() && t[j] != next && next != '?' {
                        j += 1;
                    }
                } else {
                    return true;
                }
                i += 1;
            }
            c => {
                if j >= t.len() || (c != '?' && c != t[j]) {
                    return false;
                }
                i += 1;
                j += 1;
            }
        }
    }
    j == t.len()
}

fn matcher(p: &[char], t: &[char], q_empty: bool) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some('*'), _) => {
            matcher(&p[1..], t, q_empty) || (!t.is_empty() && matcher(p, &t[1..], q_empty))
        }
        (Some('?'), Some(_)) => {
            matcher(&p[1..], &t[1..], q_empty) || (q_empty && matcher(&p[1..], t, q_empty))
        }
        (Some('?'), None) => q_empty && matcher(&p[1..], t, q_empty),
        (Some(a), Some(b)) => a == b && matcher(&p[1..], &t[1..], q_empty),
        _ => false,
    }
}

/// Case and padding matter.
fn case_sensitive(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    matcher(&p, &t, false)
}

/// `?` may match nothing.
fn question_may_be_empty(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.trim().to_uppercase().chars().collect();
    let t: Vec<char> = text.trim().to_uppercase().chars().collect();
    matcher(&p, &t, true)
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

fn valid(v: &[f64], p: f64) -> bool {
    !v.is_empty() && p > 0.0 && p <= 100.0
}

/// floor instead of ceiling.
fn floor_rank(v: &[f64], p: f64) -> Option<f64> {
    if !valid(v, p) {
        return None;
    }
    let s = sorted(v);
    let r = (p * s.len() as f64 / 100.0).floor() as usize;
    Some(s[r.clamp(1, s.len()) - 1])
}

/// NumPy's default: linear interpolation between ranks.
fn linear(v: &[f64], p: f64) -> Option<f64> {
    if !valid(v, p) {
        return None;
    }
    let s = sorted(v);
    let h = (s.len() - 1) as f64 * p / 100.0;
    let (lo, frac) = (h.floor() as usize, h - h.floor());
    Some(s[lo] + frac * (s[(lo + 1).min(s.len() - 1)] - s[lo]))
}

/// p / 100 * n in floating point.
fn float_rank(v: &[f64], p: f64) -> Option<f64> {
    if !valid(v, p) {
        return None;
    }
    let s = sorted(v);
    let r = (p / 100.0 * s.len() as f64).ceil() as usize;
    Some(s[r.clamp(1, s.len()) - 1])
}

/// Ranks taken on the values as they arrived.
fn unsorted(v: &[f64], p: f64) -> Option<f64> {
    if !valid(v, p) {
        return None;
    }
    let r = (p * v.len() as f64 / 100.0).ceil() as usize;
    Some(v[r.clamp(1, v.len()) - 1])
}

/// A max-heap of (priority, arrival): among equals the latest comes first.
fn heap_lifo(prios: &[i32]) -> Vec<usize> {
    let mut h: std::collections::BinaryHeap<(i32, usize)> =
        prios.iter().copied().zip(0..).collect();
    std::iter::from_fn(|| h.pop().map(|(_, i)| i)).collect()
}

/// Lowest priority first.
fn ascending(prios: &[i32]) -> Vec<usize> {
    let mut v: Vec<(i32, usize)> = prios.iter().copied().zip(0..).collect();
    v.sort_by_key(|&(p, _)| p);
    v.into_iter().map(|(_, i)| i).collect()
}

/// Success sent before the data is on disk.
fn ack_before_fsync(disk: &mut dyn Disk, name: &str, bytes: &[u8]) {
    let Ok(f) = disk.create_temp() else {
        return disk.acknowledge(0xA700);
    };
    if disk.write(f, bytes).is_err() {
        disk.remove_temp(f);
        return disk.acknowledge(0xA700);
    }
    disk.acknowledge(0);
    let _ = disk.fsync(f);
    let _ = disk.link(f, name);
    disk.remove_temp(f);
    let _ = disk.fsync_dir();
}

/// The folder never fsynced: the new name can vanish in a crash.
fn no_dir_fsync(disk: &mut dyn Disk, name: &str, bytes: &[u8]) {
    let Ok(f) = disk.create_temp() else {
        return disk.acknowledge(0xA700);
    };
    if disk.write(f, bytes).and_then(|_| disk.fsync(f)).is_err() {
        disk.remove_temp(f);
        return disk.acknowledge(0xA700);
    }
    let fresh = disk.link(f, name);
    disk.remove_temp(f);
    disk.acknowledge(if fresh.is_ok() { 0 } else { 0xA700 });
}

/// Written straight under the final name.
fn in_place(disk: &mut dyn Disk, name: &str, bytes: &[u8]) {
    let Ok(f) = disk.create_temp() else {
        return disk.acknowledge(0xA700);
    };
    let _ = disk.link(f, name);
    disk.remove_temp(f);
    let _ = disk.fsync_dir();
    if disk.write(f, bytes).and_then(|_| disk.fsync(f)).is_err() {
        return disk.acknowledge(0xA700);
    }
    disk.acknowledge(0);
}

/// A duplicate answered with a failure.
fn duplicate_fails(disk: &mut dyn Disk, name: &str, bytes: &[u8]) {
    let Ok(f) = disk.create_temp() else {
        return disk.acknowledge(0xA700);
    };
    if disk.write(f, bytes).and_then(|_| disk.fsync(f)).is_err() {
        disk.remove_temp(f);
        return disk.acknowledge(0xA700);
    }
    let fresh = disk.link(f, name);
    disk.remove_temp(f);
    let _ = disk.fsync_dir();
    disk.acknowledge(if fresh == Ok(true) { 0 } else { 0xA700 });
}

/// A failed write still acknowledged.
fn ignores_write_error(disk: &mut dyn Disk, name: &str, bytes: &[u8]) {
    let Ok(f) = disk.create_temp() else {
        return disk.acknowledge(0xA700);
    };
    let _ = disk.write(f, bytes);
    let _ = disk.fsync(f);
    let _ = disk.link(f, name);
    disk.remove_temp(f);
    let _ = disk.fsync_dir();
    disk.acknowledge(0);
}

/// The temporary name never removed.
fn leaves_temp(disk: &mut dyn Disk, name: &str, bytes: &[u8]) {
    let Ok(f) = disk.create_temp() else {
        return disk.acknowledge(0xA700);
    };
    if disk.write(f, bytes).and_then(|_| disk.fsync(f)).is_err() {
        return disk.acknowledge(0xA700);
    }
    let _ = disk.link(f, name);
    let _ = disk.fsync_dir();
    disk.acknowledge(0);
}

/// Mutants: (table, the check that must catch it, words its message must contain).
fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)> {
    vec![
        (
            mutant!("strict-boundary", is_complete, strict_boundary),
            "completeness/exact-boundary",
            "now - last >= quiet",
        ),
        (
            mutant!("any-series", is_complete, any_series),
            "completeness/every-series",
            "not any",
        ),
        (
            mutant!("vacuous-all", is_complete, vacuous_all),
            "completeness/every-series",
            "nothing to be complete",
        ),
        (
            mutant!("missing-count-ok", is_complete, missing_count_ok),
            "completeness/every-series",
            "announces no count",
        ),
        (
            mutant!("wrapping-clock", is_complete, wrapping_clock),
            "completeness/exact-boundary",
            "saturate",
        ),
        (
            mutant!("greedy-star", wildcard, greedy_star),
            "wildcard/backtracking",
            "give back",
        ),
        (
            mutant!("case-sensitive", wildcard, case_sensitive),
            "wildcard/case-and-spaces",
            "ignored",
        ),
        (
            mutant!("question-may-be-empty", wildcard, question_may_be_empty),
            "wildcard/question-is-one",
            "exactly one",
        ),
        (
            mutant!("floor-rank", percentile, floor_rank),
            "percentile/rank-is-a-ceiling",
            "not floor",
        ),
        (
            mutant!("linear-interpolation", percentile, linear),
            "percentile/rank-is-a-ceiling",
            "not an interpolation",
        ),
        (
            mutant!("float-rank", percentile, float_rank),
            "percentile/rank-in-integers",
            "p * n before dividing",
        ),
        (
            mutant!("unsorted", percentile, unsorted),
            "percentile/unsorted",
            "sort first",
        ),
        (
            mutant!("heap-lifo", work_order, heap_lifo),
            "order/fifo-among-equals",
            "arrival order",
        ),
        (
            mutant!("ascending", work_order, ascending),
            "order/worked",
            "priority-5 job first",
        ),
        (
            mutant!("ack-before-fsync", store_instance, ack_before_fsync),
            "durable/every-crash-point",
            "acknowledged but not durable",
        ),
        (
            mutant!("no-dir-fsync", store_instance, no_dir_fsync),
            "durable/every-crash-point",
            "acknowledged but not durable",
        ),
        (
            mutant!("in-place", store_instance, in_place),
            "durable/every-crash-point",
            "half-written",
        ),
        (
            mutant!("duplicate-fails", store_instance, duplicate_fails),
            "durable/duplicate-kept-once",
            "duplicate is success",
        ),
        (
            mutant!("ignores-write-error", store_instance, ignores_write_error),
            "durable/disk-full",
            "must not be acknowledged",
        ),
        (
            mutant!("leaves-temp", store_instance, leaves_temp),
            "durable/every-crash-point",
            "left behind",
        ),
    ]
}

radlab_grade::lab_grading_tests!(lab_triage, "lab-triage");
