//! The graded checks of lab-triage: a worked example per task the learner
//! sees, and hidden checks (exact boundaries, ties, the empty case, large
//! counts, every crash point of a simulated disk, randomised cases against
//! the reference) that carry most of the points.

use std::collections::HashMap;

use radlab_grade::{Check, Kind, Outcome, Visibility};
use rand::Rng;

use crate::tasks::Tasks;
use crate::types::{Completeness, Completion, Disk, SeriesSoFar, TempFile};

fn s(received: usize, expected: Option<usize>) -> SeriesSoFar {
    SeriesSoFar { received, expected }
}

fn rule(quiet_ms: u64, expected_count: bool) -> Completeness {
    Completeness {
        quiet_ms,
        expected_count,
    }
}

fn expect_complete(
    t: &'static Tasks,
    series: &[SeriesSoFar],
    last: u64,
    now: u64,
    r: Completeness,
    want: Option<Completion>,
    why: &str,
) -> Outcome {
    let got = (t.is_complete)(series, last, now, r);
    if got == want {
        Ok(format!(
            "{series:?}, last {last} ms, now {now} ms, {r:?}: {got:?}"
        ))
    } else {
        Err(format!(
            "{series:?}, last instance at {last} ms, now {now} ms, {r:?}: expected {want:?}, got {got:?}. {why}"
        ))
    }
}

fn complete_worked(t: &'static Tasks) -> Outcome {
    let one = [s(64, None)];
    expect_complete(
        t,
        &one,
        1000,
        2999,
        rule(2000, true),
        None,
        "1,999 ms of quiet is not 2,000.",
    )?;
    expect_complete(
        t,
        &one,
        1000,
        3500,
        rule(2000, true),
        Some(Completion::Quiet),
        "2,500 ms without a new instance: past the quiet period.",
    )
}

fn complete_boundary(t: &'static Tasks) -> Outcome {
    let one = [s(10, None)];
    expect_complete(
        t,
        &one,
        1000,
        3000,
        rule(2000, false),
        Some(Completion::Quiet),
        "Exactly the quiet period has passed: complete (now - last >= quiet).",
    )?;
    expect_complete(
        t,
        &one,
        500,
        500,
        rule(0, false),
        Some(Completion::Quiet),
        "A quiet period of 0 completes at once (now - last >= quiet).",
    )?;
    expect_complete(
        t,
        &one,
        5000,
        4000,
        rule(100, false),
        None,
        "A clock that reads before the last instance has had no quiet at all (saturate, do not wrap).",
    )
}

fn complete_every_series(t: &'static Tasks) -> Outcome {
    let r = rule(60_000, true);
    expect_complete(
        t,
        &[],
        0,
        1_000_000,
        r,
        None,
        "No series at all: nothing to be complete (an `all` over nothing is true, which is the trap).",
    )?;
    expect_complete(
        t,
        &[s(64, Some(64)), s(10, Some(20))],
        1000,
        1000,
        r,
        None,
        "The second series has 10 of 20: every series must be complete, not any.",
    )?;
    expect_complete(
        t,
        &[s(64, Some(64)), s(3, None)],
        1000,
        1000,
        r,
        None,
        "One series announces no count: the shortcut needs every series' count, so wait for the quiet period.",
    )?;
    expect_complete(
        t,
        &[s(64, Some(64)), s(21, Some(20))],
        1000,
        1000,
        r,
        Some(Completion::ExpectedCount),
        "Every series has at least its count (more, when a slice was resent): complete now.",
    )?;
    expect_complete(
        t,
        &[s(64, Some(64))],
        1000,
        1000,
        rule(60_000, false),
        None,
        "The rule says no shortcut: wait for the quiet period even when the counts are in.",
    )?;
    expect_complete(
        t,
        &[s(64, Some(64))],
        1000,
        70_000,
        r,
        Some(Completion::ExpectedCount),
        "When both hold, the counts are the reason (checked first).",
    )
}

/// The rule as its definition, written apart from the reference so that a
/// change to either is caught.
fn complete_oracle(
    series: &[SeriesSoFar],
    last: u64,
    now: u64,
    r: Completeness,
) -> Option<Completion> {
    if series.is_empty() {
        return None;
    }
    let counted = series
        .iter()
        .all(|s| matches!(s.expected, Some(e) if s.received >= e));
    if r.expected_count && counted {
        Some(Completion::ExpectedCount)
    } else if now >= last && now - last >= r.quiet_ms {
        Some(Completion::Quiet)
    } else {
        None
    }
}

fn complete_random(t: &'static Tasks) -> Outcome {
    let mut rng = radlab_grade::check_rng(811);
    for case in 0..500 {
        let n = rng.random_range(0..4);
        let series: Vec<SeriesSoFar> = (0..n)
            .map(|_| {
                let e = rng.random_range(1..6usize);
                s(rng.random_range(0..8), rng.random_bool(0.7).then_some(e))
            })
            .collect();
        let last = rng.random_range(0..5000u64);
        let now = last + rng.random_range(0..3000u64);
        let r = rule(rng.random_range(0..3000), rng.random_bool(0.5));
        let want = complete_oracle(&series, last, now, r);
        let got = (t.is_complete)(&series, last, now, r);
        if got != want {
            return Err(format!(
                "case {case} ({}): {series:?}, last {last}, now {now}, {r:?}: expected {want:?}, got {got:?}",
                radlab_grade::seed_note(811)
            ));
        }
    }
    Ok("500 random cases agree".into())
}

fn expect_match(t: &'static Tasks, cases: &[(&str, &str, bool)], why: &str) -> Outcome {
    for &(p, text, want) in cases {
        let got = (t.wildcard)(p, text);
        if got != want {
            return Err(format!(
                "{p:?} against {text:?}: expected {want}, got {got}. {why}"
            ));
        }
    }
    Ok(format!("{} cases", cases.len()))
}

fn wildcard_worked(t: &'static Tasks) -> Outcome {
    expect_match(
        t,
        &[
            ("*CHEST*", "CT CHEST 1.25MM", true),
            ("*LUNG", "LUNG WINDOW", false),
        ],
        "`*` matches any run of characters; the pattern must cover the whole text.",
    )
}

fn wildcard_backtracking(t: &'static Tasks) -> Outcome {
    expect_match(
        t,
        &[
            ("*AB", "AAB", true),
            ("A*B*C", "AXBXBC", true),
            ("*SE*SE", "SERIES SE", true),
            ("A*B", "AXBXC", false),
        ],
        "A `*` must give back characters when what follows fails (try every split, not the first).",
    )
}

fn wildcard_case_spaces(t: &'static Tasks) -> Outcome {
    expect_match(
        t,
        &[("*chest*", "CT CHEST", true), ("Lung", " LUNG ", true)],
        "Case and surrounding spaces are ignored (DICOM pads values with spaces).",
    )
}

fn wildcard_question(t: &'static Tasks) -> Outcome {
    expect_match(
        t,
        &[
            ("?", "", false),
            ("A?", "A", false),
            ("A?C", "ABC", true),
            ("", "", true),
            ("*", "", true),
        ],
        "`?` is exactly one character; `*` may be none.",
    )
}

/// PS3.4 C.2.2.2.4 matching as its recursive definition.
fn wildcard_oracle(p: &[u8], t: &[u8]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            wildcard_oracle(&p[1..], t) || (!t.is_empty() && wildcard_oracle(p, &t[1..]))
        }
        (Some(b'?'), Some(_)) => wildcard_oracle(&p[1..], &t[1..]),
        (Some(a), Some(b)) => a == b && wildcard_oracle(&p[1..], &t[1..]),
        _ => false,
    }
}

fn wildcard_random(t: &'static Tasks) -> Outcome {
    let mut rng = radlab_grade::check_rng(823);
    let pick = |rng: &mut rand_chacha::ChaCha8Rng, alphabet: &[u8], n: usize| -> String {
        (0..n)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
            .collect()
    };
    for case in 0..2000 {
        let pn = rng.random_range(0..7);
        let tn = rng.random_range(0..9);
        let p = pick(&mut rng, b"AB*?", pn);
        let text = pick(&mut rng, b"AB", tn);
        let want = wildcard_oracle(p.as_bytes(), text.as_bytes());
        let got = (t.wildcard)(&p, &text);
        if got != want {
            return Err(format!(
                "case {case} ({}): {p:?} against {text:?}: expected {want}, got {got}",
                radlab_grade::seed_note(823)
            ));
        }
    }
    Ok("2,000 random cases agree".into())
}

fn expect_pct(t: &'static Tasks, v: &[f64], p: f64, want: Option<f64>, why: &str) -> Outcome {
    let got = (t.percentile)(v, p);
    if got == want {
        Ok(format!("P{p} of {} values: {got:?}", v.len()))
    } else {
        Err(format!(
            "P{p} of {v:?}: expected {want:?}, got {got:?}. {why}"
        ))
    }
}

fn pct_worked(t: &'static Tasks) -> Outcome {
    expect_pct(
        t,
        &[15.0, 20.0, 35.0, 40.0, 50.0],
        50.0,
        Some(35.0),
        "Nearest rank: the ceil(50 / 100 * 5) = 3rd smallest.",
    )
}

fn pct_ceiling(t: &'static Tasks) -> Outcome {
    let v = [15.0, 20.0, 35.0, 40.0, 50.0];
    expect_pct(
        t,
        &v,
        30.0,
        Some(20.0),
        "The rank is ceil(p / 100 * n): ceil(1.5) = 2, the 2nd smallest; not floor, not an interpolation.",
    )?;
    expect_pct(
        t,
        &v,
        40.0,
        Some(20.0),
        "p / 100 * n = 2 exactly: the 2nd smallest, not the 3rd.",
    )
}

fn pct_integer_rank(t: &'static Tasks) -> Outcome {
    let v: Vec<f64> = (1..=25).map(f64::from).collect();
    expect_pct(
        t,
        &v,
        28.0,
        Some(7.0),
        "28 * 25 / 100 is exactly 7, the 7th smallest; 0.28 * 25 in floating point is 7.000000000000001 and its ceiling 8 (compute p * n before dividing).",
    )?;
    let w: Vec<f64> = (1..=20).map(f64::from).collect();
    expect_pct(
        t,
        &w,
        95.0,
        Some(19.0),
        "P95 of 20 values is the 19th, not an interpolation towards the 20th.",
    )
}

fn pct_unsorted(t: &'static Tasks) -> Outcome {
    expect_pct(
        t,
        &[50.0, 15.0, 40.0, 20.0, 35.0],
        80.0,
        Some(40.0),
        "Latencies arrive in any order: sort first.",
    )
}

fn pct_none(t: &'static Tasks) -> Outcome {
    expect_pct(t, &[], 50.0, None, "No values, no percentile.")?;
    expect_pct(t, &[1.0], 0.0, None, "P0 is outside (0, 100].")?;
    expect_pct(t, &[1.0], 100.5, None, "Above 100 is outside (0, 100].")
}

/// Nearest rank in integers: the smallest k with 100 k >= p n.
fn pct_oracle(v: &[f64], p: u32) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len() as u64;
    let k = (1..=n).find(|&k| 100 * k >= u64::from(p) * n)?;
    Some(s[k as usize - 1])
}

fn pct_random(t: &'static Tasks) -> Outcome {
    let mut rng = radlab_grade::check_rng(829);
    for case in 0..500 {
        let n = rng.random_range(1..40);
        let v: Vec<f64> = (0..n)
            .map(|_| f64::from(rng.random_range(0..50u32)))
            .collect();
        let pi = rng.random_range(1..=100u32);
        let p = f64::from(pi);
        let want = pct_oracle(&v, pi);
        let got = (t.percentile)(&v, p);
        if got != want {
            return Err(format!(
                "case {case} ({}): P{p} of {v:?}: expected {want:?}, got {got:?}",
                radlab_grade::seed_note(829)
            ));
        }
    }
    Ok("500 random cases agree".into())
}

/// A stable sort by descending priority: the order by definition.
fn order_oracle(prios: &[i32]) -> Vec<usize> {
    let mut v: Vec<usize> = (0..prios.len()).collect();
    v.sort_by_key(|&i| std::cmp::Reverse(prios[i]));
    v
}

fn expect_order(t: &'static Tasks, prios: &[i32], why: &str) -> Outcome {
    let want = order_oracle(prios);
    let got = (t.work_order)(prios);
    if got == want {
        Ok(format!("{} jobs in order", prios.len()))
    } else {
        let first = got
            .iter()
            .zip(&want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        Err(format!(
            "{} jobs of priorities {:?}{}: first difference at position {first}: expected job {:?}, got {:?}. {why}",
            prios.len(),
            &prios[..prios.len().min(12)],
            if prios.len() > 12 { "..." } else { "" },
            want.get(first),
            got.get(first)
        ))
    }
}

fn order_worked(t: &'static Tasks) -> Outcome {
    expect_order(
        t,
        &[0, 5, 0],
        "The priority-5 job first, then the two others in arrival order.",
    )
}

fn order_fifo(t: &'static Tasks) -> Outcome {
    let prios: Vec<i32> = (0..50).map(|i| i % 2).collect();
    expect_order(
        t,
        &prios,
        "Equal priorities keep their arrival order (a heap by priority alone does not).",
    )
}

fn order_higher_first(t: &'static Tasks) -> Outcome {
    expect_order(
        t,
        &[-3, 2, -1, 7, 2],
        "Higher first, negative priorities included.",
    )
}

fn order_large(t: &'static Tasks) -> Outcome {
    let mut rng = radlab_grade::check_rng(839);
    let prios: Vec<i32> = (0..10_000).map(|_| rng.random_range(-2..3)).collect();
    expect_order(t, &prios, "10,000 jobs of five priorities.")?;
    expect_order(t, &[], "No jobs, no order.")
}

/// One operation on the simulated disk.
#[derive(Debug, Clone)]
enum Op {
    Create(TempFile),
    Write(TempFile, Vec<u8>),
    Fsync(TempFile),
    Link(TempFile, String, bool),
    Remove(TempFile),
    FsyncDir,
    Ack(u16),
}

/// A disk that records every operation, so that a crash after any of them
/// can be replayed: file data survives only up to its last `fsync`, a new
/// name only once the folder was `fsync`ed after it.
#[derive(Default)]
struct SimDisk {
    ops: Vec<Op>,
    next: TempFile,
    live: HashMap<TempFile, Vec<u8>>,
    temps: Vec<TempFile>,
    names: HashMap<String, TempFile>,
    /// Names (and content) stored before this instance, durable.
    before: HashMap<String, Vec<u8>>,
    fail_write: bool,
    fail_fsync: bool,
}

impl Disk for SimDisk {
    fn create_temp(&mut self) -> Result<TempFile, String> {
        self.next += 1;
        self.live.insert(self.next, Vec::new());
        self.temps.push(self.next);
        self.ops.push(Op::Create(self.next));
        Ok(self.next)
    }
    fn write(&mut self, f: TempFile, bytes: &[u8]) -> Result<(), String> {
        if self.fail_write {
            return Err("No space left on device".into());
        }
        self.live
            .get_mut(&f)
            .ok_or("no such file")?
            .extend_from_slice(bytes);
        self.ops.push(Op::Write(f, bytes.to_vec()));
        Ok(())
    }
    fn fsync(&mut self, f: TempFile) -> Result<(), String> {
        if self.fail_fsync {
            return Err("Input/output error".into());
        }
        self.ops.push(Op::Fsync(f));
        Ok(())
    }
    fn link(&mut self, f: TempFile, name: &str) -> Result<bool, String> {
        let fresh = !self.names.contains_key(name) && !self.before.contains_key(name);
        if fresh {
            self.names.insert(name.to_string(), f);
        }
        self.ops.push(Op::Link(f, name.to_string(), fresh));
        Ok(fresh)
    }
    fn remove_temp(&mut self, f: TempFile) {
        self.temps.retain(|&t| t != f);
        self.ops.push(Op::Remove(f));
    }
    fn fsync_dir(&mut self) -> Result<(), String> {
        self.ops.push(Op::FsyncDir);
        Ok(())
    }
    fn acknowledge(&mut self, status: u16) {
        self.ops.push(Op::Ack(status));
    }
}

impl SimDisk {
    /// What a crash after the first `k` operations leaves under `name`.
    fn after_crash(&self, k: usize, name: &str) -> Option<Vec<u8>> {
        if let Some(b) = self.before.get(name) {
            return Some(b.clone());
        }
        let mut written: HashMap<TempFile, Vec<u8>> = HashMap::new();
        let mut synced: HashMap<TempFile, Vec<u8>> = HashMap::new();
        let mut linked: Option<TempFile> = None;
        let mut durable: Option<TempFile> = None;
        for op in &self.ops[..k] {
            match op {
                Op::Write(f, b) => written.entry(*f).or_default().extend_from_slice(b),
                Op::Fsync(f) => {
                    synced.insert(*f, written.get(f).cloned().unwrap_or_default());
                }
                Op::Link(f, n, true) if n == name => linked = Some(*f),
                Op::FsyncDir => durable = durable.or(linked),
                _ => {}
            }
        }
        durable.map(|f| synced.get(&f).cloned().unwrap_or_default())
    }

    fn acks(&self) -> Vec<(usize, u16)> {
        self.ops
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                Op::Ack(s) => Some((i, *s)),
                _ => None,
            })
            .collect()
    }

    fn trace(&self) -> String {
        let names: Vec<String> = self
            .ops
            .iter()
            .map(|o| match o {
                Op::Create(f) => format!("create_temp() -> #{f}"),
                Op::Write(_, b) => format!("write({} B)", b.len()),
                Op::Fsync(_) => "fsync".into(),
                Op::Link(_, _, fresh) => format!("link({})", if *fresh { "new" } else { "exists" }),
                Op::Remove(f) => format!("remove_temp(#{f})"),
                Op::FsyncDir => "fsync_dir".into(),
                Op::Ack(s) => format!("acknowledge({s:04X})"),
            })
            .collect();
        names.join(", ")
    }
}

const NAME: &str = "1.2.826.0.1.3680043.2.1125.1.dcm";

fn instance(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

fn run_store(t: &'static Tasks, disk: &mut SimDisk, bytes: &[u8]) -> Result<(), String> {
    // A panic (a stub's todo!) is the grader's to catch and report.
    (t.store_instance)(disk, NAME, bytes);
    Ok(())
}

fn one_ack(disk: &SimDisk) -> Result<(usize, u16), String> {
    match disk.acks()[..] {
        [a] => Ok(a),
        ref v => Err(format!(
            "the sender must get exactly one answer, it got {}: {}",
            v.len(),
            disk.trace()
        )),
    }
}

fn durable_worked(t: &'static Tasks) -> Outcome {
    let bytes = instance(1000);
    let mut d = SimDisk::default();
    run_store(t, &mut d, &bytes)?;
    let (_, status) = one_ack(&d)?;
    if status != 0 {
        return Err(format!(
            "a plain store answered {status:04X}, not success: {}",
            d.trace()
        ));
    }
    match d.names.get(NAME).and_then(|f| d.live.get(f)) {
        Some(b) if *b == bytes => Ok(format!("stored: {}", d.trace())),
        _ => Err(format!(
            "after the store, {NAME} does not hold the instance: {}",
            d.trace()
        )),
    }
}

fn durable_every_crash_point(t: &'static Tasks) -> Outcome {
    let bytes = instance(4000);
    let mut d = SimDisk::default();
    run_store(t, &mut d, &bytes)?;
    let (ack_at, status) = one_ack(&d)?;
    if status != 0 {
        return Err(format!("answered {status:04X}: {}", d.trace()));
    }
    for k in 0..=d.ops.len() {
        let left = d.after_crash(k, NAME);
        if let Some(b) = &left {
            if *b != bytes {
                return Err(format!(
                    "a crash after operation {k} leaves {NAME} with {} of {} bytes: a half-written instance under its final name (write and fsync the data before the link). Operations: {}",
                    b.len(),
                    bytes.len(),
                    d.trace()
                ));
            }
        }
        if k > ack_at && left.is_none() {
            return Err(format!(
                "a crash after operation {k}, after the success answer, loses the instance: acknowledged but not durable (fsync the file, link, fsync the folder, then acknowledge). Operations: {}",
                d.trace()
            ));
        }
    }
    if !d.temps.is_empty() {
        return Err(format!("a temporary file is left behind: {}", d.trace()));
    }
    Ok(format!(
        "every one of {} crash points is safe: {}",
        d.ops.len() + 1,
        d.trace()
    ))
}

fn durable_duplicate(t: &'static Tasks) -> Outcome {
    let first = instance(500);
    let mut d = SimDisk::default();
    d.before.insert(NAME.to_string(), first.clone());
    run_store(t, &mut d, &instance(700))?;
    let (_, status) = one_ack(&d)?;
    if status != 0 {
        return Err(format!(
            "a duplicate SOP Instance UID answered {status:04X}: a duplicate is success (the first copy is kept), else the sender retries forever: {}",
            d.trace()
        ));
    }
    if !d.temps.is_empty() {
        return Err(format!(
            "the duplicate's temporary file is left behind: {}",
            d.trace()
        ));
    }
    Ok(format!("duplicate kept once: {}", d.trace()))
}

fn durable_disk_full(t: &'static Tasks) -> Outcome {
    for (what, full, io) in [
        ("a full disk (write fails)", true, false),
        ("an fsync error", false, true),
    ] {
        let mut d = SimDisk {
            fail_write: full,
            fail_fsync: io,
            ..SimDisk::default()
        };
        run_store(t, &mut d, &instance(300))?;
        let (_, status) = one_ack(&d)?;
        if status != 0xA700 {
            return Err(format!(
                "{what}: answered {status:04X}, expected A700 (out of resources): a failed write must not be acknowledged as stored: {}",
                d.trace()
            ));
        }
        if d.names.contains_key(NAME) {
            return Err(format!(
                "{what}: the failed instance got its final name: {}",
                d.trace()
            ));
        }
        if !d.temps.is_empty() {
            return Err(format!(
                "{what}: a temporary file is left behind: {}",
                d.trace()
            ));
        }
    }
    Ok("disk full and fsync error: A700, nothing left".into())
}

/// Every check of the lab.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "completeness" => {
            "completeness/worked": 1.0, Visible, WorkedExample, complete_worked;
            "completeness/exact-boundary": 1.0, Hidden, WorkedExample, complete_boundary;
            "completeness/every-series": 1.0, Hidden, WorkedExample, complete_every_series;
            "completeness/random": 1.0, Hidden, Property, complete_random;
        }
        "wildcard" => {
            "wildcard/worked": 1.0, Visible, WorkedExample, wildcard_worked;
            "wildcard/backtracking": 1.0, Hidden, WorkedExample, wildcard_backtracking;
            "wildcard/case-and-spaces": 0.5, Hidden, WorkedExample, wildcard_case_spaces;
            "wildcard/question-is-one": 0.5, Hidden, WorkedExample, wildcard_question;
            "wildcard/random": 1.0, Hidden, Property, wildcard_random;
        }
        "percentile" => {
            "percentile/worked": 1.0, Visible, WorkedExample, pct_worked;
            "percentile/rank-is-a-ceiling": 1.0, Hidden, WorkedExample, pct_ceiling;
            "percentile/rank-in-integers": 0.5, Hidden, WorkedExample, pct_integer_rank;
            "percentile/unsorted": 0.5, Hidden, WorkedExample, pct_unsorted;
            "percentile/none": 0.5, Hidden, WorkedExample, pct_none;
            "percentile/random": 0.5, Hidden, Property, pct_random;
        }
        "work-order" => {
            "order/worked": 1.0, Visible, WorkedExample, order_worked;
            "order/fifo-among-equals": 1.0, Hidden, WorkedExample, order_fifo;
            "order/higher-first": 1.0, Hidden, WorkedExample, order_higher_first;
            "order/large": 1.0, Hidden, Property, order_large;
        }
        "durable-ack" => {
            "durable/worked": 1.0, Visible, WorkedExample, durable_worked;
            "durable/every-crash-point": 1.5, Hidden, Property, durable_every_crash_point;
            "durable/duplicate-kept-once": 0.5, Hidden, WorkedExample, durable_duplicate;
            "durable/disk-full": 1.0, Hidden, WorkedExample, durable_disk_full;
        }
    ]
}
