//! Assertions every lab's grading tests make (used by `lab_grading_tests!`).

use super::{LabMeta, LabSources, Results, sha256_of};

/// `LAB grade --reference --seed SEED` (the lab's binary `exe`, a
/// process of its own because the run seed is process-wide) scores full
/// marks and records the seed: the randomised checks hold for any run
/// seed, not only for the cases the tests see.
pub fn assert_reference_passes_at_seed(exe: &str, seed: u64) {
    let dir = std::env::temp_dir().join(format!("radlab-grade-seed-{}-{seed}", std::process::id()));
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
    assert!(
        !t.passed(),
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
        let e = per.entry(t.task.as_str()).or_default();
        e.1 += t.max_score;
        if t.visibility == crate::Visibility::Visible {
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
            tasks.contains(t.task.as_str()),
            "forwarding through {how}: task {} not flagged",
            t.task
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
