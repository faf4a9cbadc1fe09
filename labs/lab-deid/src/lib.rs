//! lab-deid as a library: the learner's exercise file, the reference tasks,
//! the pipeline built from them, the graded checks and the grading entry
//! point the binary uses.

pub mod checks;
pub mod exercise;
pub mod pipeline;
pub mod tasks;
pub mod types;

#[path = "exercise/pristine.rs"]
#[allow(dead_code)]
mod pristine;

radlab_grade::lab_library!(
    probe = Some(checks::probe),
    checks = [
        "checks/mod.rs",
        "checks/action.rs",
        "checks/date.rs",
        "checks/finish.rs",
        "checks/private.rs",
        "checks/probe.rs",
        "checks/uid.rs",
        "checks/walk.rs",
    ]
);
