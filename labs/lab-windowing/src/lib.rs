//! lab-windowing as a library: the learner's exercise file, the reference
//! tasks, the graded checks and the grading entry points the binary uses.

pub mod checks;
pub mod exercise;
pub mod tasks;

#[path = "exercise/pristine.rs"]
#[allow(dead_code)]
mod pristine;

/// lab.toml, as compiled.
pub const LAB_TOML: &str = include_str!("../lab.toml");
/// The exercise file as compiled.
pub const EXERCISE_SOURCE: &str = include_str!("exercise.rs");
/// The pristine stubs, for `radlab reset`.
pub const PRISTINE_SOURCE: &str = include_str!("exercise/pristine.rs");
/// The grader's sources as compiled.
pub const GRADER_SOURCES: [&str; 3] = [
    include_str!("checks.rs"),
    include_str!("tasks.rs"),
    include_str!("../lab.toml"),
];
/// SHA-256 of the grader sources as shipped (see `grader.sha256`).
pub const GRADER_SHA256_SHIPPED: &str = include_str!("../grader.sha256");

/// Grade one table of task implementations.
pub fn grade(tasks: &'static tasks::Tasks) -> radlab_grade::Results {
    let meta = radlab_grade::LabMeta::parse(LAB_TOML).expect("lab.toml is valid");
    let source = if tasks.name == "pristine" {
        PRISTINE_SOURCE
    } else {
        EXERCISE_SOURCE
    };
    radlab_grade::grade(
        &radlab_grade::Subject {
            meta: &meta,
            implementation: tasks.name,
            exercise_source: source,
            grader_sources: &GRADER_SOURCES,
            grader_sha256_shipped: GRADER_SHA256_SHIPPED.trim(),
        },
        &checks::checks(),
        tasks,
        std::time::Duration::from_secs(20),
    )
}
