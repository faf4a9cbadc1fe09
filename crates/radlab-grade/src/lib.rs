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

use std::path::PathBuf;

mod engine;
pub mod fresh;
pub mod integrity;
mod macros;
mod meta;
mod progress;
mod results;
mod seed;
/// Assertions every lab's `tests/grading.rs` makes, shared so that each lab
/// only lists its mutants.
pub mod testing;
#[cfg(test)]
mod tests;

pub use engine::*;
pub use meta::*;
pub use progress::*;
pub use results::*;
pub use seed::*;

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
