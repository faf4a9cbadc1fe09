//! radlab's project automation. Run `cargo xtask --help`.

mod bench;
mod docs;
mod gpu_check;
mod new_lab;
mod portfolio_check;
mod provision;
mod sample_data;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use provision::run;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "radlab project automation")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Provision what the tests need, then run fmt check, clippy and every test.
    Test {
        /// Skip `cargo fmt --check` and clippy.
        #[arg(long)]
        no_lint: bool,
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// For every lab: the shipped exercise is the stubs, grader.sha256 is up to date (rewritten if not), the pristine stubs score 0, the reference scores 100%, every mutant fails.
    CheckLabs,
    /// Scaffold a throw-away lab, lint and test it, remove it (a step of `test`).
    #[command(hide = true)]
    NewLabSelftest,
    /// Scaffold labs/NAME: a working one-task lab (reference, stubs, checks, a caught mutant,
    /// a pipeline, a default run, lab.toml) that builds and passes check-labs; nothing outside
    /// its folder changes.
    NewLab {
        /// The lab's name, e.g. lab-agreement.
        name: String,
        /// Its title in lab.toml and `radlab list`.
        #[arg(long)]
        title: Option<String>,
    },
    /// Build the mdBook in notebooks-free-docs/ (mdbook installed into target/tools when
    /// missing) and run every command of the code blocks marked `<!-- run -->`.
    Docs,
    /// Build `radlab portfolio` from two freshly graded labs and load it in headless Chromium
    /// (installed with apt-get when missing): no console message, every image decoded, a screenshot.
    PortfolioCheck,
    /// Download and unpack the third-party DICOM used by tests into target/third-party.
    FetchData,
    /// Regenerate sample_data/ from the seeded generator and rewrite MANIFEST.json.
    SampleData,
    /// Recompute the peer-library fixtures in sample_data/fixtures with tools/ (maintainers).
    Fixtures,
    /// Retrain the bundled models on fresh phantoms and remake their golden outputs and the
    /// MONAI fixtures (sliding window, segmentation metrics) (maintainers; needs torch and MONAI, installed into
    /// target/models-venv; CI never trains).
    Models,
    /// Install ONNX Runtime into the user cache when missing and check it loads.
    Runtime,
    /// Mutation-fuzz the DICOM readers (header scan, loader, JSON export, de-identifier) on
    /// the sample data, the third-party files and the hostile corpus; crashes are kept as
    /// reproducers under target/fuzz/crashes and make the command fail.
    Fuzz {
        /// How long to fuzz.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Seed of the mutations (a run is reproducible from its seed and start).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Time radlab against its Python peers (pydicom, SimpleITK, numpy, MONAI) on the same
    /// data, alternating, after checking both computed the same result. Writes bench/results.*.
    Bench {
        /// Tiny sizes, one round: prove the harness and the equality checks (used by CI).
        #[arg(long)]
        check: bool,
        /// Also time MONAI's sliding window (installs torch and MONAI into target/models-venv).
        #[arg(long)]
        with_monai: bool,
        /// Alternating rounds (each runs the peer, then radlab).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Timed repetitions inside each process.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Also time every dispatched row on each instruction set this processor has
        /// (RADLAB_SIMD=baseline, avx2, avx512) and check that they compute the same values.
        #[arg(long)]
        paths: bool,
        /// Only these rows, by radlab workload (e.g. `--only fleiss,alpha`); results go to
        /// target/bench-only instead of bench/.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// The GPU check a session with an NVIDIA GPU runs once: `radlab runtime --device cuda`
    /// (driver, CUDA and cuDNN versions, every node on the GPU), the equality test against
    /// the CPU goldens, and the sliding-window and classifier rows on CUDA and CPU. Writes
    /// target/gpu-check/report.md. `--device cpu` tries the same steps without a GPU.
    GpuCheck {
        /// cuda, or cpu for the trial run.
        #[arg(long, default_value = "cuda")]
        device: String,
        /// Timed runs of each bench row.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn main() -> std::process::ExitCode {
    match run_cli(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli(cli: Cli) -> Result<()> {
    let root = workspace_root();
    match cli.cmd {
        Cmd::Test {
            no_lint,
            cargo_args,
        } => {
            if !no_lint {
                run(cargo().current_dir(&root).args(["fmt", "--all", "--check"]))?;
                run(cargo().current_dir(&root).args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]))?;
            }
            check_labs(&root, Checksums::Verify)?;
            // `cargo xtask new-lab` still makes a lab that passes the same bar.
            new_lab::selftest(&root)?;
            provision::onnx_runtime(&root)?;
            provision::validators()?;
            provision::orthanc()?;
            let tp = provision::third_party(&root)?;
            // highdicom, which reads radlab's SEG and SR back.
            let results_py = provision::venv(
                &root,
                "results-venv",
                &root.join("tools/results/requirements.txt"),
            )?;
            run(cargo()
                .current_dir(&root)
                .args(["test", "--workspace"])
                .args(&cargo_args)
                .env("RADLAB_THIRD_PARTY", &tp)
                .env("RADLAB_RESULTS_PYTHON", &results_py))?;
            // The benchmark harness on tiny sizes: proves it runs and that
            // radlab and its peers agree (timings are not judged here).
            bench::bench(
                &root,
                &bench::Options {
                    check: true,
                    with_monai: false,
                    rounds: 1,
                    runs: 1,
                    paths: true,
                    only: Vec::new(),
                },
            )?;
            // A short fuzzing run of the readers (reproducers under target/fuzz).
            fuzz(&root, 60, 1)?;
            // The portfolio page in headless Chromium.
            portfolio_check::check(&root)?;
            // The book builds and every documented command runs.
            docs::docs(&root)?;
            eprintln!("cargo xtask test: all steps passed");
            Ok(())
        }
        Cmd::CheckLabs => check_labs(&root, Checksums::Rewrite),
        Cmd::NewLabSelftest => new_lab::selftest(&root),
        Cmd::NewLab { name, title } => new_lab::new_lab(&root, &name, title.as_deref()),
        Cmd::PortfolioCheck => portfolio_check::check(&root),
        Cmd::Docs => docs::docs(&root),
        Cmd::FetchData => {
            provision::third_party(&root).map(|d| eprintln!("ready: {}", d.display()))
        }
        Cmd::Models => models(&root),
        Cmd::Runtime => provision::onnx_runtime(&root),
        Cmd::Fuzz { seconds, seed } => fuzz(&root, seconds, seed),
        Cmd::Bench {
            check,
            with_monai,
            rounds,
            runs,
            paths,
            only,
        } => bench::bench(
            &root,
            &bench::Options {
                check,
                with_monai,
                rounds,
                runs,
                paths,
                only,
            },
        ),
        Cmd::GpuCheck { device, runs } => {
            gpu_check::gpu_check(&root, &gpu_check::Options { device, runs })
        }
        Cmd::SampleData => sample_data::generate(&sample_data::sample_dir(&root)),
        Cmd::Fixtures => {
            let tp = provision::third_party(&root)?;
            let py = provision::venv(&root, "tools-venv", &root.join("tools/requirements.txt"))?;
            run(Command::new(&py)
                .arg(root.join("tools/make_pydicom_fixture.py"))
                .arg(&tp)
                .arg(root.join("sample_data/fixtures/pydicom_files.json")))?;
            run(Command::new(&py)
                .arg(root.join("tools/make_quirks_fixture.py"))
                .arg(&tp)
                .arg(root.join("sample_data/fixtures/pydicom_quirks.json")))?;
            run(Command::new(&py)
                .arg(root.join("tools/deid/compare_dicognito.py"))
                .arg(&tp)
                .arg(root.join("sample_data/fixtures/deid_dicognito.json")))
        }
    }
}

/// Phantom data -> trained ONNX models with cards -> golden outputs and the
/// MONAI sliding-window fixture.
fn models(root: &std::path::Path) -> Result<()> {
    let data = crate::provision::target_dir(root).join("models-data");
    run(cargo()
        .current_dir(root)
        .args([
            "run",
            "--release",
            "-p",
            "radlab-synth",
            "--example",
            "training_data",
            "--",
        ])
        .arg(&data))?;
    let py = provision::venv(
        root,
        "models-venv",
        &root.join("tools/models/requirements.txt"),
    )?;
    let models = root.join("sample_data/models");
    run(Command::new(&py)
        .arg(root.join("tools/models/train_models.py"))
        .arg(&data)
        .arg(&models))?;
    run(Command::new(&py)
        .arg(root.join("tools/models/make_fixtures.py"))
        .arg(&data)
        .arg(&models)
        .arg(root.join("sample_data/fixtures/models")))?;
    run(Command::new(&py)
        .arg(root.join("tools/metrics/make_segmentation_fixture.py"))
        .arg(root.join("sample_data/fixtures/metrics/segmentation_monai.json")))?;
    run(Command::new(&py)
        .arg(root.join("tools/metrics/make_detection_fixture.py"))
        .arg(root.join("sample_data/fixtures/metrics/detection_monai.json")))?;
    // MONAI's CAM / GradCAM of the classifier and the randomised variants
    // of the sanity check (radlab-explain's tests).
    run(Command::new(&py)
        .arg(root.join("tools/results/make_cam_fixture.py"))
        .arg(models.join("nodule_classifier.onnx"))
        .arg(root.join("sample_data/fixtures/cam")))?;
    run(Command::new(&py)
        .arg(root.join("tools/metrics/make_calibration_fixture.py"))
        .arg(root.join("sample_data/fixtures/metrics/calibration_libraries.json")))
}

/// Build radlab-fuzz and run it on the sample data and the third-party files.
fn fuzz(root: &std::path::Path, seconds: u64, seed: u64) -> Result<()> {
    run(cargo().current_dir(root).args([
        "build",
        "-q",
        "-p",
        "radlab-tests",
        "--bin",
        "radlab-fuzz",
    ]))?;
    let tp = provision::third_party(root)?;
    let exe = crate::provision::target_dir(root).join("debug/radlab-fuzz");
    let mut cmd = Command::new(&exe);
    cmd.current_dir(root)
        .args([
            "--seconds",
            &seconds.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .arg("--out")
        .arg(crate::provision::target_dir(root).join("fuzz"))
        .arg(root.join("sample_data/case-001"))
        .arg(root.join("sample_data/case-004"));
    for sub in [
        "pydicom/pydicom/data/test_files",
        "pydicom-data/data_store/data",
        "deid",
    ] {
        cmd.arg(tp.join(sub));
    }
    run(&mut cmd).map_err(|e| {
        anyhow::anyhow!(
            "{e:#}: radlab-fuzz kept reproducers in target/fuzz/crashes (see their .txt files)"
        )
    })
}

/// Run each lab's grading test (stubs, reference, mutants).
/// What `check-labs` does with a grader checksum that no longer matches.
#[derive(Clone, Copy, PartialEq)]
enum Checksums {
    /// Write the new one (`cargo xtask check-labs`, a developer's command).
    Rewrite,
    /// Fail and name the command (`cargo xtask test`: CI must not hide a
    /// stale checksum that learners would see as a modified grader).
    Verify,
}

/// The files of a lab's grader in the order `radlab_grade::lab_library!`
/// compiles them: the checks (`src/checks.rs`, or `src/checks/mod.rs` and
/// then the other files of `src/checks/` sorted by name), `src/tasks.rs`,
/// `src/types.rs`, `lab.toml`.
pub(crate) fn grader_files(lab_dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    let single = lab_dir.join("src/checks.rs");
    if single.exists() {
        files.push(single);
    } else {
        let dir = lab_dir.join("src/checks");
        files.push(dir.join("mod.rs"));
        let mut rest = Vec::new();
        for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("mod.rs") {
                rest.push(path);
            }
        }
        rest.sort();
        files.extend(rest);
    }
    for f in ["src/tasks.rs", "src/types.rs", "lab.toml"] {
        files.push(lab_dir.join(f));
    }
    Ok(files)
}

/// A lab's grader checksum: SHA-256 of its grader files ([`grader_files`])
/// as `radlab_grade::sha256_of` computes it over the compiled sources.
pub(crate) fn grader_checksum(lab_dir: &std::path::Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for f in grader_files(lab_dir)? {
        h.update(std::fs::read(&f).with_context(|| f.display().to_string())?);
    }
    Ok(hex::encode(h.finalize()))
}

/// Before a lab's grading tests: its shipped exercise file must be the
/// pristine stubs, and its grader.sha256 must match its grader sources.
fn lab_files_in_order(root: &std::path::Path, lab: &str, mode: Checksums) -> Result<()> {
    let dir = root.join("labs").join(lab);
    let exercise = std::fs::read(dir.join("src/exercise.rs"))?;
    let pristine = std::fs::read(dir.join("src/exercise/pristine.rs"))?;
    if exercise != pristine {
        bail!(
            "labs/{lab}/src/exercise.rs differs from src/exercise/pristine.rs: the exercise file ships as the stubs (copy pristine.rs over it, or change both)"
        );
    }
    let want = grader_checksum(&dir)?;
    let path = dir.join("grader.sha256");
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have.trim() != want {
        match mode {
            Checksums::Rewrite => {
                std::fs::write(&path, format!("{want}\n"))?;
                eprintln!("check-labs: labs/{lab}/grader.sha256 updated to {want}");
            }
            Checksums::Verify => bail!(
                "labs/{lab}/grader.sha256 is {:?} but the grader sources hash to {want}: run `cargo xtask check-labs` and commit the file",
                have.trim()
            ),
        }
    }
    Ok(())
}

fn check_labs(root: &std::path::Path, mode: Checksums) -> Result<()> {
    let mut labs: Vec<String> = std::fs::read_dir(root.join("labs"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("tests/grading.rs").exists())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    labs.sort();
    for lab in &labs {
        lab_files_in_order(root, lab, mode)?;
    }
    for lab in &labs {
        run(cargo()
            .current_dir(root)
            .args(["test", "-p", lab, "--test", "grading"]))?;
    }
    eprintln!(
        "check-labs: {} lab(s) checked: {}",
        labs.len(),
        labs.join(", ")
    );
    Ok(())
}
