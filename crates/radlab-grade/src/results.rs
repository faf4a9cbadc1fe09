//! What grading produces (Gradescope's `results.json` shape) and how it is
//! printed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{LabMeta, Visibility, integrity};

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
    pub status: Status,
    /// The message: what was expected and what came out.
    pub output: String,
    /// The task the check belongs to (an id from lab.toml).
    #[serde(default)]
    pub task: String,
    /// Task id and check kind (Gradescope's tags; [`TestResult::task`] is the typed one).
    pub tags: Vec<String>,
    /// `visible` or `hidden` (Gradescope's `after_published` is not used).
    pub visibility: Visibility,
}

/// A check's verdict in the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every point of the check earned.
    Passed,
    /// None earned; the output says why.
    Failed,
}

impl TestResult {
    /// Whether the check passed.
    pub fn passed(&self) -> bool {
        self.status == Status::Passed
    }
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
            let e = m.entry(t.task.clone()).or_insert((0.0, 0.0, true));
            e.0 += t.score;
            e.1 += t.max_score;
            e.2 &= t.passed();
        }
        m
    }

    /// The failed checks.
    pub fn failed(&self) -> impl Iterator<Item = &TestResult> {
        self.tests.iter().filter(|t| !t.passed())
    }
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
            .filter(|t| t.task == task && t.visibility == Visibility::Visible)
            .all(TestResult::passed)
    };
    for t in &results.tests {
        let mark = if t.passed() { "ok" } else { "FAIL" };
        println!(
            "  {:<4} {:<40} {:<22} {:>5}/{:<5}  {mark}{}",
            t.number,
            t.name,
            t.task,
            points(t.score),
            points(t.max_score),
            if t.visibility == Visibility::Hidden {
                " (hidden)"
            } else {
                ""
            }
        );
        if !t.passed() {
            if t.visibility == Visibility::Hidden && !visible_done(&t.task) {
                println!("         finish the visible checks of {} first", t.task);
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
