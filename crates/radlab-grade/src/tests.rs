use super::*;
use std::time::Duration;

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
