//! `radlab`: the learner's dashboard over every lab.
//!
//! * `radlab list`: labs, tasks, points and your progress;
//! * `radlab grade --all`: grade every lab's exercise file, one summary table;
//! * `radlab watch lab-X`: re-grade each time you save the exercise file;
//! * `radlab reset lab-X`: put the shipped stubs back (after a confirmation);
//! * `radlab listen`: the triage node (DICOM listener, models, results to the PACS).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use radlab_grade::{LabMeta, Progress, Results};
use radlab_labkit as kit;

mod listen;
mod portfolio;

/// A lab of the workspace: a folder `labs/<id>/` with a `lab.toml`.
/// Nothing else names the labs: adding one is adding its folder.
struct Lab {
    id: String,
    dir: PathBuf,
    meta: LabMeta,
}

/// The workspace whose labs are listed, graded and reset:
/// `RADLAB_WORKSPACE` when set, else the one this binary was built from.
fn workspace_root() -> PathBuf {
    match std::env::var_os("RADLAB_WORKSPACE") {
        Some(ws) if !ws.is_empty() => PathBuf::from(ws),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }
}

/// Every `labs/*/lab.toml` of the workspace, in curriculum order (lab.toml's
/// `order`, then the id).
fn labs() -> Result<Vec<Lab>> {
    let root = workspace_root().join("labs");
    let entries = std::fs::read_dir(&root)
        .with_context(|| format!("{}: cannot list the labs", root.display()))?;
    let mut labs = Vec::new();
    for e in entries {
        let dir = e?.path();
        let toml = dir.join("lab.toml");
        if !toml.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&toml)
            .with_context(|| format!("{}: cannot read", toml.display()))?;
        let meta = LabMeta::parse(&text).with_context(|| toml.display().to_string())?;
        let folder = dir.file_name().unwrap_or_default().to_string_lossy();
        if meta.id != folder {
            bail!(
                "{}: id {:?} is not the folder's name {folder:?}",
                toml.display(),
                meta.id
            );
        }
        labs.push(Lab {
            id: meta.id.clone(),
            dir,
            meta,
        });
    }
    labs.sort_by(|a, b| {
        (a.meta.order.unwrap_or(u32::MAX), &a.id).cmp(&(b.meta.order.unwrap_or(u32::MAX), &b.id))
    });
    Ok(labs)
}

fn find(id: &str) -> Result<Lab> {
    let all = labs()?;
    let known = all
        .iter()
        .map(|l| l.id.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    all.into_iter().find(|l| l.id == id).ok_or_else(|| {
        anyhow::Error::new(kit::BadInput(format!("unknown lab {id:?}; labs: {known}")))
    })
}

impl Lab {
    fn exercise_path(&self) -> PathBuf {
        self.dir.join("src/exercise.rs")
    }

    /// The stubs as shipped (`src/exercise/pristine.rs`).
    fn pristine(&self) -> Result<String> {
        let p = self.dir.join("src/exercise/pristine.rs");
        std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read", p.display()))
    }
}

fn cargo() -> std::process::Command {
    let mut c =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

/// Build a lab's binary (so that the saved exercise file is what gets
/// graded) and return its path; Err with cargo's verdict when it does not
/// compile.
fn build_lab(id: &str) -> Result<PathBuf> {
    let out = cargo()
        .args([
            "build",
            "--message-format=json-render-diagnostics",
            "-p",
            id,
            "--bin",
            id,
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo")?;
    if !out.status.success() {
        bail!("{id} does not build (cargo's messages above)");
    }
    let exe = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == id)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from));
    exe.with_context(|| format!("cargo built {id} but named no executable"))
}

/// Grade one lab in its own process: `lab-X grade --json`.
fn grade_lab(id: &str, out: &Path, seed: u64) -> Result<Results> {
    let exe = build_lab(id)?;
    let o = std::process::Command::new(&exe)
        .args(["grade", "--json", "--seed", &seed.to_string(), "--out"])
        .arg(out)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    if !o.status.success() {
        bail!("{id} grade exited with {}", o.status);
    }
    serde_json::from_slice(&o.stdout)
        .with_context(|| format!("{id} grade --json: not a results document"))
}

/// radlab: build and measure the answers to radiology-AI interview questions.
#[derive(Parser)]
#[command(name = "radlab", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Labs, their tasks and points, and your progress.
    List,
    /// Run the triage node: a DICOM listener that analyses complete studies and sends results and alerts (Ctrl-C or SIGTERM stops it).
    Listen(listen::Args),
    /// Grade your exercise files.
    Grade {
        /// Every lab (the only mode for now; name a lab with `cargo run -p lab-X -- grade`).
        #[arg(long)]
        all: bool,
        /// Print one JSON document with every lab's results.
        #[arg(long)]
        json: bool,
        /// Where each lab's grade.json goes: DIR/<lab>/grade.json (the folder `portfolio --results` reads).
        #[arg(long, default_value = "out", value_name = "DIR")]
        out: PathBuf,
        /// Seed of the randomised hidden checks (default: a new one each run, printed).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Re-grade a lab each time its exercise file is saved (Ctrl-C to stop).
    Watch {
        /// The lab, e.g. lab-windowing.
        lab: String,
        /// Check the file's modification time every half second instead of waiting for file events.
        #[arg(long)]
        poll: bool,
    },
    /// Restore a lab's exercise file to the shipped stubs (your file is backed up first).
    Reset {
        /// The lab, e.g. lab-windowing.
        lab: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Collect every lab's latest grade, numbers and pictures into a self-contained page (index.html) and a README.md.
    Portfolio {
        /// Where the labs wrote their outputs (each lab's default is out/<lab>).
        #[arg(long, default_value = "out")]
        results: PathBuf,
        /// Output folder for index.html, README.md and img/.
        #[arg(long, default_value = "portfolio")]
        out: PathBuf,
    },
    /// Install (when missing) and load ONNX Runtime, and say which library and execution provider models get.
    Runtime {
        /// Where models should run: auto, cpu or cuda.
        #[arg(long, default_value = "auto")]
        device: radlab_infer::Device,
        /// Only install the CUDA 13.0 and cuDNN 9 libraries the CUDA build
        /// needs (about 1.4 GB from PyPI), load them and print their
        /// versions; works without a GPU, to provision a machine ahead.
        #[arg(long)]
        install_cuda: bool,
    },
}

fn main() -> ExitCode {
    kit::init_logging(0);
    kit::exit_code(match Cli::parse().cmd {
        Cmd::List => list(),
        Cmd::Listen(args) => listen::run(&args),
        Cmd::Grade {
            all,
            json,
            out,
            seed,
        } => grade_all(
            all,
            json,
            &out,
            seed.unwrap_or_else(radlab_grade::fresh_run_seed),
        ),
        Cmd::Watch { lab, poll } => watch(&lab, poll),
        Cmd::Reset { lab, yes } => reset(&lab, yes),
        Cmd::Runtime {
            device,
            install_cuda,
        } => {
            if install_cuda {
                install_cuda_libraries()
            } else {
                runtime(device)
            }
        }
        Cmd::Portfolio { results, out } => portfolio_command(&results, &out),
    })
}

/// `radlab portfolio`.
fn portfolio_command(results: &Path, out: &Path) -> Result<()> {
    if !results.is_dir() {
        bail!(kit::BadInput(format!(
            "{}: no such folder; run and grade some labs first (e.g. `cargo run -p lab-windowing` and `cargo run -p lab-windowing -- grade`)",
            results.display()
        )));
    }
    let entries: Vec<_> = labs()?
        .into_iter()
        .map(|lab| portfolio::collect(&lab.id, lab.meta, results))
        .collect();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(workspace_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    // A commit with uncommitted changes is not the code that made the page.
    let commit = match git(&["rev-parse", "HEAD"]) {
        Some(head) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{head}-dirty"),
            _ => head,
        },
        None => "unknown (not a git checkout)".into(),
    };
    let prov = portfolio::Provenance {
        toolkit_version: env!("CARGO_PKG_VERSION").into(),
        commit,
        onnxruntime: radlab_infer::runtime::ORT_VERSION.into(),
    };
    kit::prepare_out_dir(out)?;
    let written = portfolio::write(&entries, &prov, out)?;
    let graded = entries.iter().filter(|e| e.grade.is_some()).count();
    let run = entries.iter().filter(|e| e.report.is_some()).count();
    println!(
        "portfolio: {} labs ({graded} graded, {run} with a run's report); {} images",
        entries.len(),
        entries.iter().map(|e| e.images.len()).sum::<usize>()
    );
    for w in written {
        println!("  {}", kit::display_path(&w));
    }
    Ok(())
}

/// Load ONNX Runtime (installing it into the cache when missing), open the
/// bundled models on the requested device and say which provider ran each
/// node; with `--device cuda`, any node that ran elsewhere is an error.
fn runtime(device: radlab_infer::Device) -> Result<()> {
    let args = kit::InferArgs {
        device,
        threads: None,
    };
    let model = args.load("nodule_classifier")?;
    let rt = radlab_infer::runtime::loaded().expect("loading a model loads the runtime");
    println!(
        "ONNX Runtime {} ({} build)",
        radlab_infer::runtime::ORT_VERSION,
        rt.located.flavour.name()
    );
    println!(
        "library:   {} ({:?})",
        rt.located.path.display(),
        rt.located.source
    );
    if let Some(cuda) = &rt.cuda {
        print_cuda(cuda);
    }
    println!("device:    {}", model.placement());
    let provider = model.placement().provider.ort_name();
    let mut elsewhere = Vec::new();
    for card in ["nodule_classifier", "nodule_segmenter"] {
        let path = kit::model_card(card);
        let placement = radlab_infer::node_placement(&path, &args.options())?;
        println!("model:     {} ({placement})", placement.model,);
        elsewhere.extend(
            placement
                .elsewhere(provider)
                .into_iter()
                .map(|n| format!("{}: {n}", placement.model)),
        );
    }
    if device == radlab_infer::Device::Cuda && !elsewhere.is_empty() {
        anyhow::bail!(
            "--device cuda, but {} node(s) ran on another provider: {}",
            elsewhere.len(),
            elsewhere.join("; ")
        );
    }
    Ok(())
}

fn print_cuda(cuda: &radlab_infer::cuda::CudaVersions) {
    use radlab_infer::cuda::{cuda_version_text, cudnn_version_text};
    println!(
        "driver:    {}",
        cuda.driver
            .as_deref()
            .unwrap_or("none (no /proc/driver/nvidia/version)")
    );
    println!(
        "CUDA:      runtime {}, driver supports {}; cuDNN {}",
        cuda_version_text(cuda.runtime),
        cuda.driver_cuda
            .map(cuda_version_text)
            .unwrap_or_else(|| "nothing (libcuda.so.1 absent or no GPU)".into()),
        cudnn_version_text(cuda.cudnn)
    );
    println!("libraries: {}", cuda.dir.display());
}

/// `radlab runtime --install-cuda`.
fn install_cuda_libraries() -> Result<()> {
    let mut say = |line: &str| eprintln!("radlab: {line}");
    let dir = radlab_infer::cuda::install(&mut say)?;
    radlab_infer::cuda::preload(&dir)?;
    let versions = radlab_infer::cuda::versions(&dir)?;
    print_cuda(&versions);
    Ok(())
}

fn list() -> Result<()> {
    let progress = Progress::load(&kit::progress_path())?;
    for lab in labs()? {
        let meta = &lab.meta;
        let p = progress.labs.get(&lab.id);
        let score = p
            .map(|p| format!("{}/{} (graded {})", p.score, p.max_score, p.graded_at))
            .unwrap_or_else(|| "not graded yet".into());
        println!(
            "{:<16} {}  [{}]  {}",
            meta.id,
            meta.title,
            meta.topics.join(", "),
            score
        );
        for t in &meta.tasks {
            let tp = p.and_then(|p| p.tasks.get(&t.id));
            let status = match tp {
                Some(tp) if tp.passed => "passed".to_string(),
                Some(tp) if tp.hints_shown > 0 => format!("{} hint(s) used", tp.hints_shown),
                _ => String::new(),
            };
            println!(
                "    {:<22} {:>4} pts  {:<48} {}",
                t.id, t.points, t.title, status
            );
        }
    }
    Ok(())
}

fn grade_all(all: bool, json: bool, out_root: &Path, seed: u64) -> Result<()> {
    if !all {
        bail!(kit::BadInput(
            "use `radlab grade --all`, or `cargo run -p lab-X -- grade` for one lab".into()
        ));
    }
    // Each lab is built (so the saved exercise file is what is graded) and
    // graded in its own process, which records the learner's progress.
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for lab in labs()? {
        eprintln!("grading {} ...", lab.id);
        match grade_lab(&lab.id, &out_root.join(&lab.id), seed) {
            Ok(r) => results.push(r),
            Err(e) => failed.push(format!("{}: {e:#}", lab.id)),
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return finish(failed);
    }
    println!(
        "{:<16} {:>9}  {:<10} tasks passed",
        "lab", "score", "checks"
    );
    let (mut s, mut m) = (0.0, 0.0);
    for r in &results {
        let passed_checks = r.tests.iter().filter(|t| t.passed()).count();
        let tasks = r.by_task();
        let done = tasks.values().filter(|t| t.2).count();
        println!(
            "{:<16} {:>4}/{:<4}  {:>3}/{:<6} {}/{}{}",
            r.lab,
            radlab_grade::points(r.score),
            radlab_grade::points(r.max_score),
            passed_checks,
            r.tests.len(),
            done,
            tasks.len(),
            if r.checksums.grader_modified {
                "  (grader modified)"
            } else {
                ""
            }
        );
        s += r.score;
        m += r.max_score;
    }
    println!(
        "{:<16} {:>4}/{:<4}",
        "total",
        radlab_grade::points(s),
        radlab_grade::points(m)
    );
    println!(
        "randomised checks: run seed {seed} (`radlab grade --all --seed {seed}` repeats this run)"
    );
    println!(
        "details: cargo run -p lab-X -- grade; results in {}/lab-X/grade.json",
        out_root.display()
    );
    finish(failed)
}

/// A lab that did not build or grade fails the command, after the others
/// were graded.
fn finish(failed: Vec<String>) -> Result<()> {
    if failed.is_empty() {
        return Ok(());
    }
    bail!("not graded:\n{}", failed.join("\n"))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Re-grade through cargo, so the saved exercise file is compiled first.
fn regrade(id: &str) {
    println!("\n== {id}: grading (cargo run -p {id} -- grade) ==");
    let status = cargo()
        .args(["run", "--quiet", "-p", id, "--", "grade"])
        .status();
    if let Err(e) = status {
        println!("could not run cargo: {e}");
    }
}

fn watch(id: &str, poll: bool) -> Result<()> {
    let lab = find(id)?;
    let path = lab.exercise_path();
    if !path.exists() {
        bail!(kit::BadInput(format!(
            "{}: exercise file not found",
            path.display()
        )));
    }
    regrade(&lab.id);
    let mut last = modified(&path);
    if poll {
        println!(
            "watching {} (polling every 0.5 s; Ctrl-C to stop)",
            path.display()
        );
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = modified(&path);
            if now != last {
                last = now;
                regrade(&lab.id);
            }
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx).context("starting the file watcher")?;
    use notify::Watcher;
    let dir = path.parent().unwrap_or(Path::new("."));
    watcher
        .watch(dir, notify::RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    println!("watching {} (Ctrl-C to stop)", path.display());
    let mut suggested = false;
    loop {
        match rx.recv_timeout(Duration::from_secs(2)) {
            Ok(Ok(event))
                if event
                    .paths
                    .iter()
                    .any(|p| p.file_name() == path.file_name()) =>
            {
                // Editors often write twice; grade once the file settles.
                std::thread::sleep(Duration::from_millis(200));
                while rx.try_recv().is_ok() {}
                let now = modified(&path);
                if now != last {
                    last = now;
                    regrade(&lab.id);
                }
            }
            Ok(_) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                // The file changed but no event said so: events do not reach us here.
                if modified(&path) != last && !suggested {
                    println!(
                        "the exercise file changed but no file event arrived (network or container filesystem?): run `radlab watch {id} --poll`"
                    );
                    suggested = true;
                }
            }
            Err(e) => bail!("file watcher stopped: {e}"),
        }
    }
}

fn reset(id: &str, yes: bool) -> Result<()> {
    let lab = find(id)?;
    let path = lab.exercise_path();
    let pristine = lab.pristine()?;
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current == pristine {
        println!(
            "{} is already the shipped stubs; nothing to do",
            path.display()
        );
        return Ok(());
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!(kit::BadInput(
                "reset asks for confirmation; pass --yes to reset without asking".into()
            ));
        }
        print!(
            "replace {} with the shipped stubs? your version is backed up first [y/N] ",
            path.display()
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("left unchanged");
            return Ok(());
        }
    }
    let backup_dir = kit::progress_path()
        .parent()
        .map(|p| p.join("backup"))
        .unwrap_or_else(|| PathBuf::from(".radlab/backup"));
    std::fs::create_dir_all(&backup_dir)?;
    let stamp = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let backup = backup_dir.join(format!("{}-exercise-{stamp}.rs", lab.id));
    radlab_fsio::write_atomic(&backup, current.as_bytes())
        .with_context(|| backup.display().to_string())?;
    radlab_fsio::write_atomic(&path, pristine.as_bytes())
        .with_context(|| path.display().to_string())?;
    println!(
        "restored {} (your version: {})",
        path.display(),
        backup.display()
    );
    Ok(())
}
