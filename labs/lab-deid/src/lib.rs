//! lab-deid as a library: the learner's exercise file, the reference tasks,
//! the pipeline built from them, the graded checks and the grading entry
//! point the binary uses.

pub mod checks;
pub mod exercise;
pub mod tasks;

#[path = "exercise/pristine.rs"]
#[allow(dead_code)]
mod pristine;

/// What the grader is built from.
pub const SOURCES: radlab_grade::LabSources = radlab_grade::LabSources {
    lab_toml: include_str!("../lab.toml"),
    exercise: include_str!("exercise.rs"),
    pristine: include_str!("exercise/pristine.rs"),
    grader: &[
        include_str!("checks.rs"),
        include_str!("tasks.rs"),
        include_str!("../lab.toml"),
    ],
    grader_sha256_shipped: include_str!("../grader.sha256"),
};

/// Grade one table of task implementations.
pub fn grade(tasks: &'static tasks::Tasks) -> radlab_grade::Results {
    radlab_grade::grade_lab(&SOURCES, &checks::checks(), tasks, tasks.name)
}
