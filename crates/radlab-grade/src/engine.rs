//! The grading engine: checks, running one under a time limit and
//! `catch_unwind`, grading a table of implementations, a lab's compiled
//! sources.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Checksums, LabMeta, Results, Status, TestResult, integrity, run_seed};

/// The share of each task's points its visible checks carry; the hidden
/// checks (randomised properties, edge cases, end-to-end runs) carry the
/// rest, so that answers hard-coded for what the learner sees score at most
/// this much.
pub const VISIBLE_SHARE: f64 = 0.25;

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
            Ok(detail) => (points, Status::Passed, detail),
            Err(msg) => (0.0, Status::Failed, msg),
        };
        tests.push(TestResult {
            name: c.id.to_string(),
            number: (i + 1).to_string(),
            score,
            max_score: points,
            status,
            output,
            task: c.task.to_string(),
            tags: vec![
                c.task.to_string(),
                serde_json::to_value(c.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ],
            visibility: c.visibility,
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
