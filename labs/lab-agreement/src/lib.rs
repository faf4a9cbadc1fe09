//! lab-agreement as a library: the learner's exercise file, the reference tasks,
//! the graded checks, the grading entry point the binary uses, and the
//! pipeline the binary narrates.

pub mod checks;
pub mod exercise;
pub mod pipeline;
pub mod tasks;
pub mod types;

#[path = "exercise/pristine.rs"]
#[allow(dead_code)]
mod pristine;

radlab_grade::lab_library!();
