//! The macros a lab is built from: `lab_library!`, `lab_tasks!`,
//! `check_table!`, `mutant!`, `lab_grading_tests!`.

/// A lab's `SOURCES` and `grade`, for its `lib.rs` (which declares the
/// modules `checks`, `exercise`, `tasks` and `pristine`). The files are read
/// relative to the invoking `lib.rs`: `../lab.toml`, `exercise.rs`,
/// `exercise/pristine.rs`, the checks, `tasks.rs`, `../grader.sha256`.
///
/// The checks are `checks.rs` unless `checks = [...]` lists them: a lab
/// whose checks are one file per task names `checks/mod.rs` and then the
/// other files of `src/checks/` in sorted order, the order in which
/// `cargo xtask check-labs` hashes them.
#[macro_export]
macro_rules! lab_library {
    () => {
        $crate::lab_library!(probe = None);
    };
    (probe = $probe:expr) => {
        $crate::lab_library!(probe = $probe, checks = ["checks.rs"]);
    };
    (probe = $probe:expr, checks = [$($grader_file:literal),+ $(,)?]) => {
        /// What the grader is built from.
        pub const SOURCES: $crate::LabSources = $crate::LabSources {
            lab_toml: include_str!("../lab.toml"),
            exercise: include_str!("exercise.rs"),
            pristine: include_str!("exercise/pristine.rs"),
            grader: &[
                $(include_str!($grader_file),)*
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
