//! # radlab-labkit
//!
//! The command-line plumbing every lab shares, so each lab's `main.rs` only
//! narrates its own pipeline:
//!
//! * the arguments every lab has: `grade`/`hint`/`solution` ([`LabCommand`],
//!   [`lab_main!`]) and where models run ([`InferArgs`]);
//! * where the bundled sample data lives ([`sample_data_dir`], from radlab-eval);
//! * loading a volume with a progress bar when stderr is a terminal ([`load_volume`]);
//! * exit codes: 2 for bad input (unreadable DICOM, bad window), 1 for anything else ([`exit_code`]);
//! * creating the output folder only once the input has been read ([`prepare_out_dir`]);
//! * writing JSON reports atomically ([`write_json`]).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

pub use radlab_eval::{default_series_dir, display_path, models_dir, sample_data_dir};

/// Where and how the bundled models run; flatten into a lab's clap struct.
#[derive(Debug, Clone, clap::Args)]
pub struct InferArgs {
    /// Where models run: auto (CUDA when available, else CPU, saying why), cpu or cuda (an error when CUDA is unavailable).
    #[arg(long, default_value = "auto", value_name = "auto|cpu|cuda")]
    pub device: radlab_infer::Device,
    /// ONNX Runtime threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl InferArgs {
    /// Refuse `--device cuda` on a machine without CUDA before any work is
    /// done, so a lab whose model step comes late (or is optional) cannot
    /// finish with exit code 0 after ignoring the request.
    pub fn check(&self) -> Result<()> {
        radlab_infer::device::flavour_for(self.device)?;
        Ok(())
    }

    /// Load one of the bundled models by card name (e.g. `nodule_classifier`),
    /// saying on stderr where it runs.
    pub fn load(&self, card: &str) -> Result<radlab_infer::Model> {
        let model = radlab_infer::Model::load(&model_card(card), &self.options())?;
        eprintln!("model {} on {}", model.card().name, model.placement());
        Ok(model)
    }

    /// The options these arguments stand for.
    pub fn options(&self) -> radlab_infer::ModelOptions {
        radlab_infer::ModelOptions {
            device: self.device,
            threads: self.threads,
        }
    }
}

/// The card of a bundled model (e.g. `nodule_classifier`).
pub fn model_card(card: &str) -> std::path::PathBuf {
    models_dir().join(format!("{card}.toml"))
}

/// Start logging to stderr: silent by default, so that a bad input gives
/// one line (radlab's own) and not the libraries' warnings before it.
/// `verbose` 1 shows warnings, 2 debug, 3 or more trace; `RUST_LOG` overrides.
/// No colour codes unless stderr is a terminal.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "off",
        1 => "warn",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Load a file or folder into a volume, with a progress bar on a terminal.
///
/// For a folder, the scan (every series found, files skipped) comes back
/// too, so a lab that reports it does not scan twice.
pub fn load_volume(
    input: &Path,
    series: Option<&str>,
) -> Result<(radlab_dicom::Volume, Option<radlab_dicom::ScanReport>), radlab_dicom::DicomError> {
    let meta = std::fs::metadata(input).map_err(|error| radlab_dicom::DicomError::Io {
        path: input.to_owned(),
        error,
    })?;
    if meta.is_file() {
        return Ok((load_files(&[input.to_owned()])?, None));
    }
    let scan = radlab_dicom::scan(input)?;
    let chosen = radlab_dicom::scan::choose_series(input, &scan, series)?;
    let files: Vec<PathBuf> = chosen.instances.iter().map(|i| i.path.clone()).collect();
    let volume = load_files(&files)?;
    Ok((volume, Some(scan)))
}

/// Load the files of one series, with a progress bar on a terminal.
pub fn load_files(files: &[PathBuf]) -> Result<radlab_dicom::Volume, radlab_dicom::DicomError> {
    if !std::io::stderr().is_terminal() {
        return radlab_dicom::load_series(files);
    }
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} files")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("decoding");
    let cb = |done: usize, _total: usize| bar.set_position(done as u64);
    let options = radlab_dicom::LoadOptions {
        progress: Some(&cb),
    };
    let result = radlab_dicom::load_series_with(files, &options);
    bar.finish_and_clear();
    result
}

/// Create the output folder, refusing one that is an existing file.
pub fn prepare_out_dir(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create output folder", out.display()))
}

/// Write pretty JSON atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    radlab_fsio::write_atomic(path, text.as_bytes())?;
    Ok(())
}

/// Whether an error is the user's input being unusable (exit code 2).
pub fn is_bad_input(e: &anyhow::Error) -> bool {
    // A failed write is the machine's problem (exit 1), not the input's.
    let dicom = |e: &radlab_dicom::DicomError| !matches!(e, radlab_dicom::DicomError::Write { .. });
    let infer = |e: &radlab_infer::InferError| {
        matches!(
            e,
            radlab_infer::InferError::CudaUnavailable(_)
                | radlab_infer::InferError::InputShape { .. }
                | radlab_infer::InferError::Settings(_)
        )
    };
    e.chain().any(|c| {
        c.downcast_ref::<radlab_dicom::DicomError>()
            .is_some_and(dicom)
            || c.downcast_ref::<radlab_imaging::ImagingError>()
                .is_some_and(|e| !matches!(e, radlab_imaging::ImagingError::Png { .. }))
            || c.is::<BadInput>()
            || c.downcast_ref::<radlab_infer::InferError>()
                .is_some_and(infer)
            || c.downcast_ref::<radlab_eval::EvalError>().is_some_and(|e| {
                e.is_bad_input() || e.dicom().is_some_and(dicom) || e.infer().is_some_and(infer)
            })
    })
}

/// A [`BadInput`] error (exit code 2) with this message.
pub fn bad_input(msg: String) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg))
}

/// `--flag value` must be a probability strictly between 0 and 1 (a
/// threshold at 0 or 1 keeps everything or nothing); bad input otherwise.
///
/// ```
/// assert!(radlab_labkit::check_open_probability("--threshold", 0.5).is_ok());
/// assert!(radlab_labkit::check_open_probability("--threshold", 1.0).is_err());
/// assert!(radlab_labkit::check_open_probability("--threshold", f64::NAN).is_err());
/// ```
pub fn check_open_probability(flag: &str, value: f64) -> Result<()> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(bad_input(format!(
            "{flag} {value}: choose a probability strictly between 0 and 1"
        )))
    }
}

/// `--flag value` must be a finite number of 0 or more (`what` names it:
/// "a volume"); bad input otherwise.
pub fn check_non_negative(flag: &str, value: f64, what: &str) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(bad_input(format!(
            "{flag} {value}: choose {what} of 0 or more"
        )))
    }
}

/// How a lab's pipeline gets a bundled model by name: the binary passes a
/// closure over its `--device`/`--threads` settings ([`InferArgs::load`]).
pub type ModelLoader<'a> = dyn FnMut(&str) -> Result<radlab_infer::Model> + 'a;

/// A bad-input error raised by a lab itself (e.g. conflicting flags).
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Print the error on one line and choose the exit code: 2 for bad input, 1 otherwise.
pub fn exit_code(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if is_bad_input(&e) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Format a number of bytes for humans.
pub fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// Where progress is kept: `$RADLAB_HOME/progress.json`, by default
/// `.radlab/progress.json` at the workspace root.
pub fn progress_path() -> PathBuf {
    std::env::var_os("RADLAB_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.radlab"))
        .join("progress.json")
}

/// The `grade` subcommand shared by labs: print the table (or JSON), write
/// `grade.json` into `out`, and record the learner's progress. Failing tasks
/// are a normal outcome (exit code 0), as in a test report.
pub fn grade_command(
    results: &radlab_grade::Results,
    meta: &radlab_grade::LabMeta,
    out: &Path,
    json: bool,
) -> Result<()> {
    prepare_out_dir(out)?;
    write_json(&out.join("grade.json"), results)?;
    if results.implementation == "exercise" {
        let path = progress_path();
        let mut progress = radlab_grade::Progress::load(&path)?;
        progress.record(results);
        progress.save(&path)?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(results)?);
    } else {
        radlab_grade::print_table(results, meta);
        println!("  results: {}", display_path(&out.join("grade.json")));
    }
    Ok(())
}

/// The `hint TASK` subcommand: the next step of the task's hint ladder.
pub fn hint_command(meta: &radlab_grade::LabMeta, task: &str) -> Result<()> {
    let path = progress_path();
    let mut progress = radlab_grade::Progress::load(&path)?;
    let (step, text) = progress
        .next_hint(meta, task)
        .map_err(|e| BadInput(e.to_string()))?;
    progress.save(&path)?;
    println!("hint {step}/3 for {task}:");
    println!("  {text}");
    if step < 3 {
        println!("(run the same command again for the next hint)");
    }
    Ok(())
}

/// The `solution TASK` subcommand: shown only once the task has passed.
pub fn solution_command(meta: &radlab_grade::LabMeta, task: &str) -> Result<()> {
    let t = meta.task(task).map_err(|e| BadInput(e.to_string()))?;
    let progress = radlab_grade::Progress::load(&progress_path())?;
    if !progress.passed(&meta.id, task) {
        anyhow::bail!(BadInput(format!(
            "the solution of {task} opens once the task passes: run `cargo run -p {} -- grade` (try `hint {task}` first)",
            meta.id
        )));
    }
    println!("{} — {}", t.id, t.title);
    println!("{}", t.solution.trim());
    Ok(())
}

/// The subcommands every lab has besides its default run.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum LabCommand {
    /// Grade src/exercise.rs (or the reference with --reference).
    Grade {
        /// Grade the reference implementation instead (must score 100%).
        #[arg(long)]
        reference: bool,
        /// Print the results JSON instead of the table.
        #[arg(long)]
        json: bool,
        /// Output folder for grade.json (default: out/<lab>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed of the randomised hidden checks: by default a new one each
        /// run (printed, and kept in grade.json); 0 gives the cases the
        /// checks' messages name without a run seed.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Show the next hint for a task (the task ids are listed by `grade`).
    Hint {
        /// Task id.
        task: String,
    },
    /// Show a task's solution notes (after the task passes).
    Solution {
        /// Task id.
        task: String,
    },
}

/// Run a lab's subcommand. `grade(reference)` grades the exercise file or the reference.
pub fn lab_command(
    cmd: LabCommand,
    sources: &radlab_grade::LabSources,
    grade: impl Fn(bool) -> radlab_grade::Results,
) -> Result<()> {
    let meta = radlab_grade::LabMeta::parse(sources.lab_toml)?;
    match cmd {
        LabCommand::Grade {
            reference,
            json,
            out,
            seed,
        } => {
            radlab_grade::set_run_seed(seed.unwrap_or_else(radlab_grade::fresh_run_seed));
            if !reference {
                let rebuild = format!("cargo run -p {} -- grade", meta.id);
                if let Some(why) = radlab_grade::stale_exercise(sources, &meta.id, &rebuild) {
                    anyhow::bail!(BadInput(why));
                }
            }
            let out = out.unwrap_or_else(|| PathBuf::from("out").join(&meta.id));
            grade_command(&grade(reference), &meta, &out, json)
        }
        LabCommand::Hint { task } => hint_command(&meta, &task),
        LabCommand::Solution { task } => solution_command(&meta, &task),
    }
}

/// The `main` of a lab binary and its command line: logging, then either
/// the lab's run (no subcommand) or `grade` / `hint` / `solution` on the
/// lab's library crate. The doc comment given to the macro is the command's
/// `--help` text; `Args` (the lab's own flags, a `clap::Args`) and
/// `fn run(Args) -> anyhow::Result<()>` must be in scope.
///
/// ```text
/// radlab_labkit::lab_main! {
///     /// Window CT slices for display. Subcommands grade your exercise file.
///     lab_windowing
/// }
/// ```
#[macro_export]
macro_rules! lab_main {
    ($(#[$doc:meta])* $lib:ident) => {
        $(#[$doc])*
        #[derive(clap::Parser, Debug)]
        #[command(
            name = env!("CARGO_PKG_NAME"),
            version,
            about,
            long_about = None,
            args_conflicts_with_subcommands = true
        )]
        struct Cli {
            #[command(subcommand)]
            cmd: Option<$crate::LabCommand>,
            /// Show library log messages on stderr (-v warnings, -vv debug); RUST_LOG overrides.
            #[arg(short, long, action = clap::ArgAction::Count, global = true)]
            verbose: u8,
            #[command(flatten)]
            run: Args,
        }

        fn main() -> std::process::ExitCode {
            // A grader's second process (a check of cross-process stability).
            if $lib::serve_probe(&[]) {
                return std::process::ExitCode::SUCCESS;
            }
            let cli = <Cli as clap::Parser>::parse();
            $crate::init_logging(cli.verbose);
            $crate::exit_code(match cli.cmd {
                None => run(cli.run),
                Some(cmd) => $crate::lab_command(cmd, &$lib::SOURCES, |reference| {
                    $lib::grade(if reference {
                        &$lib::tasks::REFERENCE
                    } else {
                        &$lib::tasks::EXERCISE
                    })
                }),
            })
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_is_not_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let into_missing = dir.path().join("no-such-folder").join("report.json");
        let e = write_json(&into_missing, &1).unwrap_err();
        assert!(!is_bad_input(&e), "{e:#}");
        assert!(format!("{e:#}").contains("no-such-folder"), "{e:#}");
        let write = anyhow::Error::new(radlab_dicom::DicomError::Write {
            path: into_missing.clone(),
            reason: "disk full".into(),
        });
        assert!(!is_bad_input(&write));
        assert!(is_bad_input(&anyhow::Error::new(BadInput(
            "--threshold 2".into()
        ))));
    }
}
