//! # radlab-grade
//!
//! The grading engine behind every lab's `grade` command.
//!
//! A lab describes its tasks in `lab.toml` ([`LabMeta`]) and its checks as
//! [`Check`]s over the lab's task trait `T`. [`grade`] runs each check on one
//! implementation of `T` (the reference, the learner's exercise file, or a
//! known-wrong mutant) in its own thread, under `catch_unwind` and a time
//! limit: an unfinished stub, a panic or an endless loop is a failed check with a
//! message, never a crash of the grader. [`Results`] is shaped after
//! Gradescope's `results.json`, plus the lab's identity and checksums of the
//! exercise and grader sources, so an edited grader is visible.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod fresh;
pub mod integrity;

/// The share of each task's points its visible checks carry; the hidden
/// checks (randomised properties, edge cases, end-to-end runs) carry the
/// rest, so that answers hard-coded for what the learner sees score at most
/// this much.
pub const VISIBLE_SHARE: f64 = 0.25;

/// The seed of this grading run's randomised checks (see [`check_rng`]).
static RUN_SEED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Set the seed of the randomised checks for the rest of this process.
/// 0 (the default, and what the lab's own tests use) gives the cases the
/// checks name in their messages; a lab's `grade` command draws a new seed
/// each run, so that hidden cases cannot be answered from the checks'
/// source.
pub fn set_run_seed(seed: u64) {
    RUN_SEED.store(seed, std::sync::atomic::Ordering::Relaxed);
}

/// The seed set by [`set_run_seed`] (0 unless set).
pub fn run_seed() -> u64 {
    RUN_SEED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A new non-zero run seed from the operating system's hasher keys and the
/// clock (no generator crate needed for one number).
pub fn fresh_run_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    // Small enough to type back after `--seed`.
    (h.finish() % 1_000_000_000).max(1)
}

/// The generator of one randomised check: `stream` names the check's
/// sequence of cases; the run seed moves every stream at once. With run
/// seed 0 it is `ChaCha8Rng::seed_from_u64(stream)`.
pub fn check_rng(stream: u64) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    let mixed = match run_seed() {
        0 => stream,
        s => stream ^ s.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    };
    rand_chacha::ChaCha8Rng::seed_from_u64(mixed)
}

/// How a check's message names its cases: `seed 601`, or `seed 601 of run
/// seed 12345` (and `grade --seed 12345` repeats them).
pub fn seed_note(stream: u64) -> String {
    match run_seed() {
        0 => format!("seed {stream}"),
        s => format!("seed {stream} of run seed {s}; `grade --seed {s}` repeats it"),
    }
}

/// Errors of the grading engine.
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    /// lab.toml could not be parsed.
    #[error("lab.toml: {0}")]
    LabToml(String),
    /// A task id that lab.toml does not define.
    #[error("unknown task {task:?}; tasks of {lab}: {known}")]
    UnknownTask {
        /// The lab.
        lab: String,
        /// The id asked for.
        task: String,
        /// The ids available.
        known: String,
    },
    /// Reading or writing progress or results failed.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// Whether the learner sees a check's name and message before passing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Shown with its message.
    Visible,
    /// Counted, shown by name only after the task's visible checks pass.
    Hidden,
}

/// What kind of evidence a check uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Numbers worked from the standard or the literature.
    WorkedExample,
    /// Seeded random inputs compared with the reference implementation.
    Property,
    /// The bundled sample data, end to end.
    EndToEnd,
    /// Speed within a generous factor of the reference.
    Speed,
}

/// A check's verdict: `Ok(detail)` or `Err(message)` naming the convention broken.
pub type Outcome = Result<String, String>;

/// One graded check over implementations of the lab's task trait `T`.
pub struct Check<T: ?Sized + 'static> {
    /// Stable id, e.g. `linear/standard-note-3`.
    pub id: &'static str,
    /// The task it belongs to (an id from lab.toml).
    pub task: &'static str,
    /// Points when it passes.
    pub points: f64,
    /// Visible or hidden.
    pub visibility: Visibility,
    /// What kind of evidence.
    pub kind: Kind,
    /// The check itself.
    pub run: fn(&'static T) -> Outcome,
}

/// One entry of `tests` in the results (Gradescope's shape).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TestResult {
    /// Check id.
    pub name: String,
    /// 1-based position.
    pub number: String,
    /// Points earned.
    pub score: f64,
    /// Points possible.
    pub max_score: f64,
    /// `passed` or `failed`.
    pub status: String,
    /// The message: what was expected and what came out.
    pub output: String,
    /// Task id and check kind.
    pub tags: Vec<String>,
    /// `visible` or `hidden` (Gradescope's `after_published` is not used).
    pub visibility: String,
}

/// SHA-256 checksums that make edits visible.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checksums {
    /// Of the exercise file as compiled.
    pub exercise_sha256: String,
    /// Of the grader sources as compiled (checks and tasks).
    pub grader_sha256: String,
    /// Of the grader sources shipped with this version of radlab.
    pub grader_sha256_shipped: String,
    /// True when the compiled grader differs from the shipped one.
    pub grader_modified: bool,
}

/// The results of grading one implementation, shaped after Gradescope's results.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Results {
    /// Points earned.
    pub score: f64,
    /// Points possible.
    pub max_score: f64,
    /// Seconds spent grading.
    pub execution_time: f64,
    /// One entry per check.
    pub tests: Vec<TestResult>,
    /// Lab id.
    pub lab: String,
    /// Interview topic ids the lab answers.
    pub topics: Vec<String>,
    /// radlab's version.
    pub toolkit_version: String,
    /// What was graded: `exercise`, `reference`, or a mutant's name.
    pub implementation: String,
    /// Checksums of exercise and grader.
    pub checksums: Checksums,
    /// When, RFC 3339 UTC.
    pub timestamp: String,
    /// Tasks whose exercise function reaches the reference implementations
    /// (each scores 0).
    #[serde(default)]
    pub integrity: Vec<integrity::Finding>,
    /// The seed of the randomised checks ([`run_seed`]; 0: the shipped cases).
    #[serde(default)]
    pub run_seed: u64,
}

impl Results {
    /// Per task: (points earned, points possible, all checks passed).
    pub fn by_task(&self) -> BTreeMap<String, (f64, f64, bool)> {
        let mut m: BTreeMap<String, (f64, f64, bool)> = BTreeMap::new();
        for t in &self.tests {
            let e = m.entry(t.tags[0].clone()).or_insert((0.0, 0.0, true));
            e.0 += t.score;
            e.1 += t.max_score;
            e.2 &= t.status == "passed";
        }
        m
    }

    /// The failed checks.
    pub fn failed(&self) -> impl Iterator<Item = &TestResult> {
        self.tests.iter().filter(|t| t.status != "passed")
    }
}

/// A task as described in lab.toml.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TaskMeta {
    /// Task id, e.g. `window-linear`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Points (the checks' points add up to this).
    pub points: f64,
    /// Three hints, from a gentle nudge to nearly the answer.
    pub hints: Vec<String>,
    /// The explanation shown by `solution` once the task passes.
    pub solution: String,
}

/// A lab's lab.toml.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct LabMeta {
    /// Lab id, e.g. `lab-windowing`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Topic ids from TOPICS (B1, I1, ...).
    pub topics: Vec<String>,
    /// Where the lab comes in the curriculum: `radlab list` and the
    /// portfolio sort by it (labs without one come last, by id).
    #[serde(default)]
    pub order: Option<u32>,
    /// Tasks.
    pub tasks: Vec<TaskMeta>,
    /// What an exercise may not name.
    #[serde(default)]
    pub integrity: IntegrityMeta,
    /// What the portfolio shows of the lab.
    #[serde(default)]
    pub portfolio: PortfolioMeta,
}

/// lab.toml's `[portfolio]`: the story `radlab portfolio` tells of the lab.
///
/// Texts (`value`, card lines) may quote the lab's `report.json` with
/// placeholders: `{/json/pointer}` (a number with no decimals, or the value
/// as it is), `{/json/pointer:3}` (three decimals), `{len /json/pointer}`
/// (the length of an array). A value the report does not have reads
/// "(run the lab)".
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PortfolioMeta {
    /// The images (file names in the lab's output folder) that tell the
    /// lab's story, in the order the page shows them.
    #[serde(default)]
    pub images: Vec<String>,
    /// The learner's measured numbers, in the order shown.
    #[serde(default)]
    pub measured: Vec<MeasuredMeta>,
    /// How radlab's numbers compare with the peer libraries (tests that run in CI).
    #[serde(default)]
    pub parity: Vec<ParityMeta>,
    /// Interview answer outlines: one per topic of the lab; `topic = "*"`
    /// serves every topic without a card of its own.
    #[serde(default)]
    pub cards: Vec<CardMeta>,
}

/// One row of `[[portfolio.measured]]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MeasuredMeta {
    /// What the number is.
    pub label: String,
    /// The number, as a template over report.json (see [`PortfolioMeta`]).
    pub value: String,
}

/// One row of `[[portfolio.parity]]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParityMeta {
    /// The peer (library and version, or the standard).
    pub peer: String,
    /// How close radlab's numbers are, and where that is tested.
    pub agreement: String,
}

/// One `[[portfolio.cards]]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CardMeta {
    /// A topic id of the lab, or `*` for the others.
    pub topic: String,
    /// The outline, each line a template over report.json (see [`PortfolioMeta`]).
    pub lines: Vec<String>,
}

impl PortfolioMeta {
    /// The card of `topic`: its own, else the `*` card.
    pub fn card(&self, topic: &str) -> Option<&CardMeta> {
        self.cards
            .iter()
            .find(|c| c.topic == topic)
            .or_else(|| self.cards.iter().find(|c| c.topic == "*"))
    }
}

/// Fill a portfolio template (see [`PortfolioMeta`]) from a lab's report;
/// `None` (the lab has not run) fills every placeholder with "(run the lab)".
///
/// ```
/// let report = serde_json::json!({"cpm": 0.34123, "scans": [1, 2, 3], "shape": [2, 3]});
/// let text = radlab_grade::fill_template("CPM {/cpm:3} on {len /scans} scans {/shape}", Some(&report));
/// assert_eq!(text, "CPM 0.341 on 3 scans [2, 3]");
/// ```
pub fn fill_template(template: &str, report: Option<&serde_json::Value>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&placeholder(&rest[open + 1..close], report));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The first placeholder of a template that is not one of the three forms.
fn bad_placeholder(template: &str) -> Option<String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            return Some(rest[open + 1..].to_string());
        };
        let spec = &rest[open + 1..close];
        let pointer = spec.strip_prefix("len ").unwrap_or(spec);
        let pointer = match pointer.rsplit_once(':') {
            Some((p, d)) if d.parse::<usize>().is_ok() && !spec.starts_with("len ") => p,
            _ => pointer,
        };
        if !pointer.starts_with('/') || pointer.contains(char::is_whitespace) {
            return Some(spec.to_string());
        }
        rest = &rest[close + 1..];
    }
    None
}

fn placeholder(spec: &str, report: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    const MISSING: &str = "(run the lab)";
    if let Some(pointer) = spec.strip_prefix("len ") {
        return match report.and_then(|r| r.pointer(pointer.trim())) {
            Some(Value::Array(a)) => a.len().to_string(),
            _ => MISSING.into(),
        };
    }
    let (pointer, digits) = match spec.rsplit_once(':') {
        Some((p, d)) if d.parse::<usize>().is_ok() => (p, d.parse().unwrap_or(0)),
        _ => (spec, 0),
    };
    match report.and_then(|r| r.pointer(pointer)) {
        Some(Value::Number(n)) => n
            .as_f64()
            .map_or_else(|| n.to_string(), |v| format!("{v:.digits$}")),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Array(a)) => {
            let parts: Vec<String> = a.iter().map(|v| v.to_string()).collect();
            format!("[{}]", parts.join(", "))
        }
        _ => MISSING.into(),
    }
}

/// lab.toml's `[integrity]`: the paths of the implementations the tasks
/// mirror (besides [`integrity::ALWAYS_FORBIDDEN`]), and the types under
/// them an exercise may still use.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct IntegrityMeta {
    /// E.g. `radlab_imaging`.
    #[serde(default)]
    pub forbidden: Vec<String>,
    /// E.g. `radlab_metrics::segmentation::EmptyPolicy`.
    #[serde(default)]
    pub allowed: Vec<String>,
}

impl LabMeta {
    /// Parse lab.toml text.
    pub fn parse(text: &str) -> Result<Self, GradeError> {
        let meta: LabMeta = toml::from_str(text).map_err(|e| GradeError::LabToml(e.to_string()))?;
        for t in &meta.tasks {
            if t.hints.len() != 3 {
                return Err(GradeError::LabToml(format!(
                    "task {} needs exactly 3 hints",
                    t.id
                )));
            }
        }
        let pf = &meta.portfolio;
        for c in &pf.cards {
            if c.topic != "*" && !meta.topics.contains(&c.topic) {
                return Err(GradeError::LabToml(format!(
                    "portfolio card for topic {:?}: not one of the lab's topics {:?} (or \"*\")",
                    c.topic, meta.topics
                )));
            }
        }
        let texts = pf.measured.iter().map(|m| m.value.as_str()).chain(
            pf.cards
                .iter()
                .flat_map(|c| c.lines.iter().map(String::as_str)),
        );
        for text in texts {
            if let Some(bad) = bad_placeholder(text) {
                return Err(GradeError::LabToml(format!(
                    "portfolio text {text:?}: placeholder {{{bad}}} is not {{/pointer}}, {{/pointer:digits}} or {{len /pointer}}"
                )));
            }
        }
        Ok(meta)
    }

    /// A task by id.
    pub fn task(&self, id: &str) -> Result<&TaskMeta, GradeError> {
        self.tasks
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| GradeError::UnknownTask {
                lab: self.id.clone(),
                task: id.to_string(),
                known: self
                    .tasks
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// Hex SHA-256 of some texts, concatenated in order.
pub fn sha256_of(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

thread_local! {
    /// Set while this thread runs learner code under [`quietly`].
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Install, once per process, a panic hook that stays silent on threads
/// running learner code and defers to the previous hook everywhere else.
/// (Swapping the process-wide hook around each run, as a first version did,
/// also silenced unrelated threads: a failing test next to a grading one
/// lost its message.)
fn install_quiet_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
}

/// Run `f` (learner code: a stub's `todo!()`, a mutant) with its panics
/// caught and kept off stderr; the panic's message is the error.
pub fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_quiet_hook();
    let was = QUIET.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    r.map_err(|p| panic_message(p.as_ref()))
}

/// [`catch_quietly`] without the message: `None` when `f` panicked. The
/// labs' `--mine` paths run the learner's exercise through it.
///
/// ```
/// assert_eq!(radlab_grade::quietly(|| 2 + 2), Some(4));
/// let stub = || -> u8 { todo!("a task") };
/// assert_eq!(radlab_grade::quietly(stub), None);
/// ```
pub fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_quietly(f).ok()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-text payload".into());
    if let Some(task) = msg.strip_prefix("not yet implemented: ") {
        format!("not implemented yet: the stub of task {task} is still in the exercise file")
    } else if msg == "not yet implemented" {
        "not implemented yet: a stub is still in the exercise file".into()
    } else {
        format!("panicked: {msg}")
    }
}

/// Run one check in its own thread with a time limit; a panic or a hang is a failure.
pub fn run_one<T: ?Sized + Sync + 'static>(
    check: &Check<T>,
    imp: &'static T,
    limit: Duration,
) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let run = check.run;
    let spawned = std::thread::Builder::new()
        .name(format!("check {}", check.id))
        .spawn(move || {
            let r = catch_quietly(|| run(imp));
            let _ = tx.send(r.unwrap_or_else(Err));
        });
    if let Err(e) = spawned {
        return Err(format!("could not start the check: {e}"));
    }
    match rx.recv_timeout(limit) {
        Ok(outcome) => outcome,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "did not finish within {:.0} s: an endless loop, or far too slow",
            limit.as_secs_f64()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("the check's thread died".into()),
    }
}

/// Who is being graded and against which grader sources.
pub struct Subject<'a> {
    /// The lab's metadata.
    pub meta: &'a LabMeta,
    /// `exercise`, `reference` or a mutant's name.
    pub implementation: &'a str,
    /// The exercise file as compiled.
    pub exercise_source: &'a str,
    /// The shipped stubs (their `todo!("task")` say which function is which task).
    pub pristine_source: &'a str,
    /// The grader sources as compiled.
    pub grader_sources: &'a [&'a str],
    /// SHA-256 of the grader sources as shipped (recorded at release).
    pub grader_sha256_shipped: &'a str,
}

/// Grade one implementation with every check; panics are silenced while grading.
pub fn grade<T: ?Sized + Sync + 'static>(
    subject: &Subject<'_>,
    checks: &[Check<T>],
    imp: &'static T,
    limit: Duration,
) -> Results {
    let start = Instant::now();
    let weights = check_points(checks);
    let findings = if subject.implementation == "exercise" {
        integrity::scan(
            subject.exercise_source,
            subject.pristine_source,
            &subject.meta.integrity.forbidden,
            &subject.meta.integrity.allowed,
        )
    } else {
        Vec::new()
    };
    let mut tests = Vec::new();
    for (i, c) in checks.iter().enumerate() {
        let points = weights[i];
        let outcome = match findings.iter().find(|f| f.task == c.task) {
            Some(f) => Err(format!(
                "not graded: {}() reaches `{}` ({}), the implementation this task is graded against; the task scores 0 until the exercise solves it itself",
                f.function, f.through, f.via
            )),
            None => run_one(c, imp, limit),
        };
        let (score, status, output) = match outcome {
            Ok(detail) => (points, "passed", detail),
            Err(msg) => (0.0, "failed", msg),
        };
        tests.push(TestResult {
            name: c.id.to_string(),
            number: (i + 1).to_string(),
            score,
            max_score: points,
            status: status.to_string(),
            output,
            tags: vec![
                c.task.to_string(),
                serde_json::to_value(c.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ],
            visibility: match c.visibility {
                Visibility::Visible => "visible".into(),
                Visibility::Hidden => "hidden".into(),
            },
        });
    }
    let grader_sha = sha256_of(subject.grader_sources);
    Results {
        score: tests.iter().map(|t| t.score).sum(),
        max_score: tests.iter().map(|t| t.max_score).sum(),
        execution_time: start.elapsed().as_secs_f64(),
        tests,
        lab: subject.meta.id.clone(),
        topics: subject.meta.topics.clone(),
        toolkit_version: env!("CARGO_PKG_VERSION").to_string(),
        implementation: subject.implementation.to_string(),
        checksums: Checksums {
            exercise_sha256: sha256_of(&[subject.exercise_source]),
            grader_modified: grader_sha != subject.grader_sha256_shipped,
            grader_sha256: grader_sha,
            grader_sha256_shipped: subject.grader_sha256_shipped.to_string(),
        },
        timestamp: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        integrity: findings,
        run_seed: run_seed(),
    }
}

/// The points each check is worth: a task's visible checks share
/// [`VISIBLE_SHARE`] of the task's points and its hidden checks the rest,
/// each in proportion to its declared `points`. A task with checks of one
/// visibility only keeps the declared points.
pub fn check_points<T: ?Sized>(checks: &[Check<T>]) -> Vec<f64> {
    let mut sums: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for c in checks {
        let e = sums.entry(c.task).or_default();
        match c.visibility {
            Visibility::Visible => e.0 += c.points,
            Visibility::Hidden => e.1 += c.points,
        }
    }
    checks
        .iter()
        .map(|c| {
            let (v, h) = sums[c.task];
            if v == 0.0 || h == 0.0 {
                return c.points;
            }
            let total = v + h;
            let share = match c.visibility {
                Visibility::Visible => VISIBLE_SHARE * total / v,
                Visibility::Hidden => (1.0 - VISIBLE_SHARE) * total / h,
            };
            c.points * share
        })
        .collect()
}

/// Print the per-check table a learner reads.
///
/// Hidden checks show their message only once every visible check of their
/// task passes; before that they say which task to finish first.
pub fn print_table(results: &Results, meta: &LabMeta) {
    println!(
        "{} ({}) — grading {}",
        meta.title, meta.id, results.implementation
    );
    println!(
        "  {:<4} {:<40} {:<22} {:>11}  result",
        "#", "check", "task", "points"
    );
    let by_task = results.by_task();
    let visible_done = |task: &str| {
        results
            .tests
            .iter()
            .filter(|t| t.tags[0] == task && t.visibility == "visible")
            .all(|t| t.status == "passed")
    };
    for t in &results.tests {
        let mark = if t.status == "passed" { "ok" } else { "FAIL" };
        println!(
            "  {:<4} {:<40} {:<22} {:>5}/{:<5}  {mark}{}",
            t.number,
            t.name,
            t.tags[0],
            points(t.score),
            points(t.max_score),
            if t.visibility == "hidden" {
                " (hidden)"
            } else {
                ""
            }
        );
        if t.status != "passed" {
            if t.visibility == "hidden" && !visible_done(&t.tags[0]) {
                println!("         finish the visible checks of {} first", t.tags[0]);
            } else {
                for line in t.output.lines() {
                    println!("         {line}");
                }
            }
        }
    }
    println!();
    for task in &meta.tasks {
        let (s, m, ok) = by_task.get(&task.id).copied().unwrap_or((0.0, 0.0, false));
        println!(
            "  {:<22} {:>5}/{:<5} {}",
            task.id,
            points(s),
            points(m),
            if ok { "passed" } else { "" }
        );
    }
    println!(
        "  score {}/{}",
        points(results.score),
        points(results.max_score)
    );
    if results.run_seed != 0 {
        println!(
            "  randomised checks: run seed {} (`grade --seed {}` repeats this run)",
            results.run_seed, results.run_seed
        );
    }
    for f in &results.integrity {
        println!(
            "  not graded: task {} ({}() reaches `{}`): 0 points",
            f.task, f.function, f.through
        );
    }
    if results.checksums.grader_modified {
        println!(
            "  note: the grader differs from the one shipped with radlab {}",
            results.toolkit_version
        );
    }
}

/// Points as a learner reads them: at most two decimals, no trailing zeros.
pub fn points(p: f64) -> String {
    let s = format!("{p:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A learner's progress over all labs, kept in `.radlab/progress.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    /// Per lab id.
    pub labs: BTreeMap<String, LabProgress>,
}

/// Progress in one lab.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LabProgress {
    /// Latest score of the learner's exercise file.
    pub score: f64,
    /// Points possible.
    pub max_score: f64,
    /// When it was last graded.
    pub graded_at: String,
    /// Per task id.
    pub tasks: BTreeMap<String, TaskProgress>,
}

/// Progress in one task.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TaskProgress {
    /// All its checks passed at the last grading.
    pub passed: bool,
    /// How many hints of the ladder have been shown.
    pub hints_shown: usize,
}

impl Progress {
    /// Load from `path`; a missing file is empty progress.
    pub fn load(path: &Path) -> Result<Self, GradeError> {
        match std::fs::read_to_string(path) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| GradeError::Io {
                path: path.to_owned(),
                reason: format!("not valid progress JSON ({e}); delete it to start over"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::default()),
            Err(e) => Err(GradeError::Io {
                path: path.to_owned(),
                reason: e.to_string(),
            }),
        }
    }

    /// Save to `path` (pretty JSON, written atomically).
    pub fn save(&self, path: &Path) -> Result<(), GradeError> {
        let io = |reason: String| GradeError::Io {
            path: path.to_owned(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(e.to_string()))?;
        }
        let mut text = serde_json::to_string_pretty(self).map_err(|e| io(e.to_string()))?;
        text.push('\n');
        radlab_fsio::write_atomic(path, text.as_bytes()).map_err(|e| io(e.to_string()))
    }

    /// Record a grading of the learner's exercise file.
    pub fn record(&mut self, results: &Results) {
        let lab = self.labs.entry(results.lab.clone()).or_default();
        lab.score = results.score;
        lab.max_score = results.max_score;
        lab.graded_at = results.timestamp.clone();
        for (task, (_, _, ok)) in results.by_task() {
            lab.tasks.entry(task).or_default().passed = ok;
        }
    }

    /// The next hint of a task's ladder (advancing it), and its 1-based step.
    pub fn next_hint<'a>(
        &mut self,
        meta: &'a LabMeta,
        task: &str,
    ) -> Result<(usize, &'a str), GradeError> {
        let t = meta.task(task)?;
        let p = self
            .labs
            .entry(meta.id.clone())
            .or_default()
            .tasks
            .entry(task.to_string())
            .or_default();
        let step = (p.hints_shown + 1).min(t.hints.len());
        p.hints_shown = step;
        Ok((step, &t.hints[step - 1]))
    }

    /// Whether the task passed at the last grading.
    pub fn passed(&self, lab: &str, task: &str) -> bool {
        self.labs
            .get(lab)
            .and_then(|l| l.tasks.get(task))
            .is_some_and(|t| t.passed)
    }
}

/// The sources a lab compiles into its grader (each from `include_str!`).
pub struct LabSources {
    /// lab.toml.
    pub lab_toml: &'static str,
    /// The learner's exercise file.
    pub exercise: &'static str,
    /// The stubs as shipped.
    pub pristine: &'static str,
    /// The grader's own sources (checks, tasks, types, lab.toml).
    pub grader: &'static [&'static str],
    /// The recorded SHA-256 of the shipped grader sources.
    pub grader_sha256_shipped: &'static str,
    /// Where the exercise file was compiled from.
    pub exercise_path: &'static str,
}

/// Grade `imp` (named `implementation`) with a lab's checks, 20 s per check.
pub fn grade_lab<T: ?Sized + Sync + 'static>(
    sources: &LabSources,
    checks: &[Check<T>],
    imp: &'static T,
    implementation: &str,
) -> Results {
    let exercise = if implementation == "pristine" {
        sources.pristine
    } else {
        sources.exercise
    };
    grade_lab_source(sources, checks, imp, implementation, exercise)
}

/// [`grade_lab`] with the exercise source given: what the integrity scan
/// reads and the checksum records (tests use it to grade a forwarding
/// solution's text).
pub fn grade_lab_source<T: ?Sized + Sync + 'static>(
    sources: &LabSources,
    checks: &[Check<T>],
    imp: &'static T,
    implementation: &str,
    exercise_source: &str,
) -> Results {
    let meta =
        LabMeta::parse(sources.lab_toml).expect("lab.toml is valid (checked by the lab's tests)");
    grade(
        &Subject {
            meta: &meta,
            implementation,
            exercise_source,
            pristine_source: sources.pristine,
            grader_sources: sources.grader,
            grader_sha256_shipped: sources.grader_sha256_shipped.trim(),
        },
        checks,
        imp,
        Duration::from_secs(20),
    )
}

/// The exercise file on disk: `$RADLAB_WORKSPACE/labs/<lab>/src/exercise.rs`
/// when that variable is set, else the file the lab was compiled from.
pub fn exercise_file(sources: &LabSources, lab: &str) -> PathBuf {
    match std::env::var_os("RADLAB_WORKSPACE") {
        Some(ws) if !ws.is_empty() => PathBuf::from(ws)
            .join("labs")
            .join(lab)
            .join("src/exercise.rs"),
        _ => PathBuf::from(sources.exercise_path),
    }
}

/// Why grading this binary would grade old code: the exercise file on disk
/// differs from the one compiled in. None when they match or the file is not
/// there to compare (a binary run away from its workspace).
pub fn stale_exercise(sources: &LabSources, lab: &str, rebuild: &str) -> Option<String> {
    let path = exercise_file(sources, lab);
    let on_disk = std::fs::read_to_string(&path).ok()?;
    if on_disk == sources.exercise {
        return None;
    }
    Some(format!(
        "{}: changed since this binary was built (sha256 on disk {}, compiled {}), so grading it would grade the old code. Run `{rebuild}`: cargo rebuilds, then grades",
        path.display(),
        &sha256_of(&[&on_disk])[..12],
        &sha256_of(&[sources.exercise])[..12],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct T;
    static IMP: T = T;

    fn ok(_: &'static T) -> Outcome {
        Ok("fine".into())
    }
    fn stub(_: &'static T) -> Outcome {
        // The message a `todo` stub for "some-task" panics with.
        panic!("not yet implemented: some-task")
    }
    fn boom(_: &'static T) -> Outcome {
        panic!("index out of bounds")
    }
    fn hang(_: &'static T) -> Outcome {
        loop {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn check(id: &'static str, run: fn(&'static T) -> Outcome) -> Check<T> {
        Check {
            id,
            task: "t",
            points: 1.0,
            visibility: Visibility::Visible,
            kind: Kind::WorkedExample,
            run,
        }
    }

    const TOML: &str = r#"
id = "lab-x"
title = "X"
topics = ["B1"]
[[tasks]]
id = "t"
title = "T"
points = 4
hints = ["one", "two", "three"]
solution = "s"
"#;

    #[test]
    fn panics_todos_and_hangs_are_failed_checks() {
        let d = Duration::from_secs(10); // printing a panic with a backtrace can be slow
        assert_eq!(run_one(&check("a", ok), &IMP, d), Ok("fine".into()));
        assert!(
            run_one(&check("b", stub), &IMP, d)
                .unwrap_err()
                .contains("stub of task some-task")
        );
        assert!(
            run_one(&check("c", boom), &IMP, d)
                .unwrap_err()
                .contains("index out of bounds")
        );
        assert!(
            run_one(&check("d", hang), &IMP, Duration::from_millis(200))
                .unwrap_err()
                .contains("did not finish")
        );
    }

    #[test]
    fn results_progress_and_hint_ladder() {
        let meta = LabMeta::parse(TOML).unwrap();
        let subject = Subject {
            meta: &meta,
            implementation: "exercise",
            exercise_source: "x",
            pristine_source: "",
            grader_sources: &["g"],
            grader_sha256_shipped: &sha256_of(&["g"]),
        };
        let r = grade(
            &subject,
            &[check("a", ok), check("b", boom)],
            &IMP,
            Duration::from_secs(5),
        );
        assert_eq!((r.score, r.max_score), (1.0, 2.0));
        assert!(!r.checksums.grader_modified);
        assert_eq!(r.by_task()["t"], (1.0, 2.0, false));
        let mut p = Progress::default();
        p.record(&r);
        assert!(!p.passed("lab-x", "t"));
        let steps: Vec<usize> = (0..4).map(|_| p.next_hint(&meta, "t").unwrap().0).collect();
        assert_eq!(steps, [1, 2, 3, 3]);
        assert!(p.next_hint(&meta, "nope").is_err());
        let r = grade(&subject, &[check("a", ok)], &IMP, Duration::from_secs(5));
        p.record(&r);
        assert!(p.passed("lab-x", "t"));
        // A modified grader shows in the checksums.
        let edited = Subject {
            grader_sources: &["g2"],
            ..subject
        };
        assert!(
            grade(&edited, &[check("a", ok)], &IMP, Duration::from_secs(5))
                .checksums
                .grader_modified
        );
    }

    #[test]
    fn lab_toml_needs_three_hints() {
        assert!(LabMeta::parse(&TOML.replace(r#", "three""#, "")).is_err());
    }
}

/// Assertions every lab's `tests/grading.rs` makes, shared so that each lab
/// only lists its mutants.
pub mod testing {
    use super::{LabMeta, LabSources, Results, sha256_of};

    /// `LAB grade --reference --seed SEED` (the lab's binary `exe`, a
    /// process of its own because the run seed is process-wide) scores full
    /// marks and records the seed: the randomised checks hold for any run
    /// seed, not only for the cases the tests see.
    pub fn assert_reference_passes_at_seed(exe: &str, seed: u64) {
        let dir =
            std::env::temp_dir().join(format!("radlab-grade-seed-{}-{seed}", std::process::id()));
        let out = std::process::Command::new(exe)
            .args(["grade", "--reference", "--json", "--seed"])
            .arg(seed.to_string())
            .arg("--out")
            .arg(&dir)
            .output()
            .expect("the lab binary runs");
        let _ = std::fs::remove_dir_all(&dir);
        let text = String::from_utf8_lossy(&out.stdout);
        let r: Results = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("grade --json at seed {seed}: {e}: {text}"));
        let failed: Vec<String> = r
            .failed()
            .map(|t| format!("{}: {}", t.name, t.output))
            .collect();
        assert!(
            failed.is_empty(),
            "the reference fails at run seed {seed}: {failed:#?}"
        );
        assert_eq!(r.run_seed, seed);
        assert!(out.status.success());
    }

    /// The reference passes every check, and the checks' points add up to
    /// each task's points in lab.toml.
    pub fn assert_reference_passes(results: &Results, sources: &LabSources) {
        let failed: Vec<String> = results
            .failed()
            .map(|t| format!("{}: {}", t.name, t.output))
            .collect();
        assert!(failed.is_empty(), "the reference fails: {failed:#?}");
        assert_eq!(results.score, results.max_score);
        assert!(results.integrity.is_empty(), "{:?}", results.integrity);
        let meta = LabMeta::parse(sources.lab_toml).expect("lab.toml parses");
        let by_task = results.by_task();
        for task in &meta.tasks {
            let max = by_task.get(&task.id).map(|t| t.1).unwrap_or(0.0);
            assert!(
                (max - task.points).abs() < 1e-9,
                "checks of {} add up to {max}, lab.toml says {}",
                task.id,
                task.points
            );
        }
    }

    /// The shipped stubs score 0, every check saying the task is not implemented.
    pub fn assert_stubs_score_zero(results: &Results) {
        assert_eq!(results.score, 0.0);
        for t in &results.tests {
            assert!(
                t.output.contains("not implemented yet"),
                "{}: {:?}",
                t.name,
                t.output
            );
        }
    }

    /// A mutant fails `check`, whose message contains `words`.
    pub fn assert_mutant_caught(results: &Results, check: &str, words: &str) {
        let t = results
            .tests
            .iter()
            .find(|t| t.name == check)
            .unwrap_or_else(|| panic!("no check {check}"));
        assert_eq!(
            t.status, "failed",
            "mutant {} passed {check}",
            results.implementation
        );
        assert!(
            t.output.contains(words),
            "mutant {}: {check} says {:?}, lacking {words:?}",
            results.implementation,
            t.output
        );
    }

    /// Each task's visible checks carry at most [`crate::VISIBLE_SHARE`] of
    /// its points, and every task has hidden checks.
    pub fn assert_visible_share(results: &Results) {
        let mut per: std::collections::BTreeMap<&str, (f64, f64)> = Default::default();
        for t in &results.tests {
            let e = per.entry(t.tags[0].as_str()).or_default();
            e.1 += t.max_score;
            if t.visibility == "visible" {
                e.0 += t.max_score;
            }
        }
        for (task, (v, total)) in per {
            assert!(
                v <= crate::VISIBLE_SHARE * total + 1e-9 && v < total,
                "{task}: visible checks carry {v} of {total} points"
            );
        }
    }

    /// Exercise texts that forward every task to the reference, each a
    /// different way: the reference table by path, a `use` alias, a helper,
    /// each path of lab.toml's `[integrity] forbidden`, an `include!`.
    pub fn forwarding_sources(sources: &LabSources) -> Vec<(String, String)> {
        let meta = LabMeta::parse(sources.lab_toml).expect("lab.toml parses");
        let stubs = sources.pristine;
        let with = |call: &str| -> String {
            let mut out = String::new();
            let mut rest = stubs;
            while let Some(p) = rest.find("todo!(") {
                out.push_str(&rest[..p]);
                let tail = &rest[p..];
                let end = tail.find(')').map_or(tail.len(), |e| e + 1);
                out.push_str(call);
                rest = &tail[end..];
            }
            out.push_str(rest);
            out
        };
        let mut v = vec![
            (
                "the reference table by path".to_string(),
                with("(crate::tasks::REFERENCE.f)(args)"),
            ),
            (
                "a use alias".to_string(),
                format!("use crate::tasks::REFERENCE as R;\n{}", with("(R.f)(args)")),
            ),
            (
                "a helper function".to_string(),
                format!(
                    "fn helper() -> crate::tasks::Tasks {{ crate::tasks::REFERENCE }}\n{}",
                    with("(helper().f)(args)")
                ),
            ),
            (
                "an include of tasks.rs".to_string(),
                format!(
                    "mod copy {{ include!(\"tasks.rs\"); }}\n{}",
                    with("copy::reference::f(args)")
                ),
            ),
        ];
        for f in &meta.integrity.forbidden {
            v.push((
                format!("{f} called directly"),
                with(&format!("{f}::f(args)")),
            ));
        }
        v
    }

    /// A forwarding exercise scores 0, every task named in `integrity`.
    pub fn assert_forwarding_scores_zero(results: &Results, how: &str) {
        assert_eq!(results.score, 0.0, "forwarding through {how} scored");
        let tasks: std::collections::BTreeSet<&str> =
            results.integrity.iter().map(|f| f.task.as_str()).collect();
        for t in &results.tests {
            assert!(
                tasks.contains(t.tags[0].as_str()),
                "forwarding through {how}: task {} not flagged",
                t.tags[0]
            );
        }
    }

    /// The recorded grader checksum is the checksum of the grader sources.
    pub fn assert_checksum_recorded(sources: &LabSources, lab: &str) {
        let computed = sha256_of(sources.grader);
        assert_eq!(
            sources.grader_sha256_shipped.trim(),
            computed,
            "the grader changed (its checksum is now {computed}): run `cargo xtask check-labs`, which rewrites labs/{lab}/grader.sha256"
        );
    }
}

/// A lab's `SOURCES` and `grade`, for its `lib.rs` (which declares the
/// modules `checks`, `exercise`, `tasks` and `pristine`). The files are read
/// relative to the invoking `lib.rs`: `../lab.toml`, `exercise.rs`,
/// `exercise/pristine.rs`, `checks.rs`, `tasks.rs`, `../grader.sha256`.
#[macro_export]
macro_rules! lab_library {
    () => {
        $crate::lab_library!(probe = None);
    };
    (probe = $probe:expr) => {
        /// What the grader is built from.
        pub const SOURCES: $crate::LabSources = $crate::LabSources {
            lab_toml: include_str!("../lab.toml"),
            exercise: include_str!("exercise.rs"),
            pristine: include_str!("exercise/pristine.rs"),
            grader: &[
                include_str!("checks.rs"),
                include_str!("tasks.rs"),
                include_str!("types.rs"),
                include_str!("../lab.toml"),
            ],
            grader_sha256_shipped: include_str!("../grader.sha256"),
            exercise_path: concat!(env!("CARGO_MANIFEST_DIR"), "/src/exercise.rs"),
        };

        /// Grade one table of task implementations.
        pub fn grade(tasks: &'static tasks::Tasks) -> $crate::Results {
            $crate::grade_lab(&SOURCES, &checks::checks(), tasks, tasks.name)
        }

        /// In a second process started by a check of cross-process
        /// stability ([`radlab_grade::fresh`]): print the probe of the
        /// named table (the reference, the exercise, the stubs or one of
        /// `extra`) and return `true`; in any other process, `false`.
        pub fn serve_probe(extra: &[&'static tasks::Tasks]) -> bool {
            let probe: Option<fn(&'static tasks::Tasks) -> String> = $probe;
            let mut tables: Vec<&'static tasks::Tasks> =
                vec![&tasks::REFERENCE, &tasks::EXERCISE, &tasks::PRISTINE];
            tables.extend_from_slice(extra);
            $crate::fresh::serve_probe(env!("CARGO_PKG_NAME"), &tables, |t| t.name, probe)
        }
    };
}

/// A lab's tables of task implementations from one list of its tasks: the
/// `Tasks` struct (a `name` and one function pointer per task), `REFERENCE`
/// (from the lab's `reference` module), `EXERCISE` (from `crate::exercise`)
/// and `PRISTINE` (from `crate::pristine`, the stubs as shipped). Each task
/// is named once; the three tables cannot disagree about which tasks exist.
///
/// ```text
/// radlab_grade::lab_tasks! {
///     /// LINEAR window to 8 bits.
///     window_linear: fn(f32, f64, f64) -> u8,
/// }
/// pub mod reference { pub fn window_linear(hu: f32, c: f64, w: f64) -> u8 { ... } }
/// ```
#[macro_export]
// `crate::exercise` and `crate::pristine` are the calling lab's modules.
#[allow(clippy::crate_in_macro_def)]
macro_rules! lab_tasks {
    ($($(#[$doc:meta])* $task:ident : $ty:ty),+ $(,)?) => {
        /// One implementation of every task.
        #[derive(Clone, Copy)]
        pub struct Tasks {
            /// What this table is: `reference`, `exercise`, `pristine` or a mutant's name.
            pub name: &'static str,
            $($(#[$doc])* pub $task: $ty,)+
        }

        /// The reference table.
        pub const REFERENCE: Tasks = Tasks {
            name: "reference",
            $($task: reference::$task,)+
        };

        /// The learner's exercise file.
        pub const EXERCISE: Tasks = Tasks {
            name: "exercise",
            $($task: crate::exercise::$task,)+
        };

        /// The stubs as shipped (must score 0 without crashing the grader).
        pub const PRISTINE: Tasks = Tasks {
            name: "pristine",
            $($task: crate::pristine::$task,)+
        };
    };
}

/// A lab's check registry, grouped by task:
///
/// ```text
/// radlab_grade::check_table![
///     "dice-empty" => {
///         "dice/worked": 1.0, Visible, WorkedExample, dice_worked;
///         "dice/random": 3.0, Hidden, Property, dice_random;
///     }
/// ]
/// ```
///
/// is a `Vec<Check<Tasks>>` in that order (ids, task, points, visibility,
/// kind, the check function).
#[macro_export]
macro_rules! check_table {
    ($($task:literal => { $($id:literal : $points:expr, $vis:expr, $kind:expr, $run:expr;)+ })+) => {
        vec![$($($crate::Check {
            id: $id,
            task: $task,
            points: $points,
            visibility: $vis,
            kind: $kind,
            run: $run,
        },)+)+]
    };
}

/// A mutant for a lab's `tests/grading.rs`: the lab's `REFERENCE` table of
/// `Tasks` (both in scope where it is used) with one field replaced.
///
/// `mutant!("no-recursion", clean_dataset, no_recursion)` is a
/// `&'static Tasks` named `no-recursion`.
#[macro_export]
macro_rules! mutant {
    ($name:literal, $field:ident, $f:expr) => {{
        // A lab of one task replaces its only field.
        #[allow(clippy::needless_update)]
        static M: Tasks = Tasks {
            name: $name,
            $field: $f,
            ..REFERENCE
        };
        &M
    }};
}

/// The grading tests every lab has: the reference passes, the stubs score 0,
/// every mutant is caught, the grader checksum is recorded. Use in a lab's
/// `tests/grading.rs` after defining `fn mutants() -> Vec<(&'static Tasks, &'static str, &'static str)>`
/// (mutant, the check that must catch it, words its message must contain).
#[macro_export]
macro_rules! lab_grading_tests {
    ($lab:ident, $dir:literal) => {
        #[test]
        fn reference_passes_every_check() {
            $crate::testing::assert_reference_passes(
                &$lab::grade(&$lab::tasks::REFERENCE),
                &$lab::SOURCES,
            );
        }

        #[test]
        fn pristine_stubs_score_zero_without_crashing() {
            $crate::testing::assert_stubs_score_zero(&$lab::grade(&$lab::tasks::PRISTINE));
        }

        #[test]
        fn every_mutant_is_caught_by_its_check() {
            for (m, check, words) in mutants() {
                $crate::testing::assert_mutant_caught(&$lab::grade(m), check, words);
            }
        }

        #[test]
        fn forwarding_to_the_reference_scores_zero() {
            for (how, src) in $crate::testing::forwarding_sources(&$lab::SOURCES) {
                let r = $crate::grade_lab_source(
                    &$lab::SOURCES,
                    &$lab::checks::checks(),
                    &$lab::tasks::REFERENCE,
                    "exercise",
                    &src,
                );
                $crate::testing::assert_forwarding_scores_zero(&r, &how);
            }
            // The shipped stubs' text (imports included) is not flagged.
            let clean = $crate::grade_lab_source(
                &$lab::SOURCES,
                &$lab::checks::checks(),
                &$lab::tasks::REFERENCE,
                "exercise",
                $lab::SOURCES.pristine,
            );
            assert!(clean.integrity.is_empty(), "{:?}", clean.integrity);
            assert_eq!(clean.score, clean.max_score);
        }

        /// Answers a check of cross-process stability from a second run of
        /// this test binary (see `radlab_grade::fresh`); does nothing otherwise.
        #[test]
        fn probe_child() {
            let tables: Vec<_> = mutants().into_iter().map(|(m, _, _)| m).collect();
            $lab::serve_probe(&tables);
        }

        #[test]
        fn hidden_checks_carry_most_of_each_task() {
            $crate::testing::assert_visible_share(&$lab::grade(&$lab::tasks::REFERENCE));
        }

        #[test]
        fn reference_passes_at_other_run_seeds() {
            for seed in [1, 2, 987_654_321] {
                $crate::testing::assert_reference_passes_at_seed(
                    env!(concat!("CARGO_BIN_EXE_", $dir)),
                    seed,
                );
            }
        }

        #[test]
        fn grader_checksum_matches_the_shipped_one() {
            $crate::testing::assert_checksum_recorded(&$lab::SOURCES, $dir);
        }
    };
}
