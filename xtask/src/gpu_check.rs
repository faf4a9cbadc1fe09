//! `cargo xtask gpu-check`: the one script a session with a GPU runs.
//!
//! It builds what it needs in release mode, then (1) `radlab runtime
//! --device D` (installs the CUDA build and CUDA/cuDNN from PyPI, names the
//! driver and versions, and fails if any node of the bundled models runs
//! off the device), (2) the device equality test against the golden CPU
//! outputs, (3) the sliding-window and classifier bench rows on D and on
//! the CPU, and writes `target/gpu-check/report.md` and `report.json`.
//! `--device cpu` runs the same steps on the CPU provider, which is how the
//! script is tried on a machine without a GPU.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::provision::{self, target_dir};

/// Options of `cargo xtask gpu-check`.
pub struct Options {
    /// `cuda` (the real check) or `cpu` (the trial).
    pub device: String,
    /// Timed runs of each bench row.
    pub runs: usize,
}

struct Step {
    name: String,
    ok: bool,
    seconds: f64,
    output: String,
}

fn capture(name: &str, cmd: &mut Command) -> Result<Step> {
    eprintln!("$ {cmd:?}");
    let start = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{text}");
    Ok(Step {
        name: name.to_string(),
        ok: out.status.success(),
        seconds: start.elapsed().as_secs_f64(),
        output: text,
    })
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

/// When `RADLAB_CUDA_DIR` is unset and the machine's `python3` has NVIDIA's
/// CUDA 13 and cuDNN wheels installed (as PyTorch's cu130 build brings
/// them), a folder of links to their libraries, so the check needs neither
/// the 1.4 GB download nor a network. radlab still checks that every
/// library it needs is there, and the report prints the versions loaded.
fn python_cuda_dir(out_dir: &Path) -> Result<Option<std::path::PathBuf>> {
    if std::env::var_os("RADLAB_CUDA_DIR").is_some() {
        return Ok(None);
    }
    let Ok(out) = Command::new("python3")
        .args(["-c", "import nvidia; print('\\n'.join(nvidia.__path__))"])
        .output()
    else {
        return Ok(None);
    };
    if !out.status.success() {
        return Ok(None);
    }
    let roots: Vec<std::path::PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(std::path::PathBuf::from)
        .collect();
    let links = out_dir.join("cuda-lib");
    let _ = std::fs::remove_dir_all(&links);
    std::fs::create_dir_all(&links)?;
    let mut n = 0;
    for root in &roots {
        for sub in ["cu13/lib", "cudnn/lib"] {
            let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().contains(".so") && !links.join(&name).exists() {
                    std::os::unix::fs::symlink(e.path(), links.join(&name))?;
                    n += 1;
                }
            }
        }
    }
    if n == 0 {
        return Ok(None);
    }
    eprintln!(
        "using the {n} CUDA/cuDNN libraries of python3's NVIDIA wheels ({}) through {}",
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        links.display()
    );
    Ok(Some(links))
}

/// Run the check and write the report.
pub fn gpu_check(root: &Path, opts: &Options) -> Result<()> {
    if !matches!(opts.device.as_str(), "cuda" | "cpu") {
        bail!("--device must be cuda or cpu, not '{}'", opts.device);
    }
    let cuda = opts.device == "cuda";
    let target = target_dir(root);
    let out_dir = target.join("gpu-check");
    std::fs::create_dir_all(&out_dir)?;
    provision::run(
        crate::cargo()
            .current_dir(root)
            .args(["build", "--release", "--quiet"])
            .args(["-p", "radlab-cli", "-p", "radlab-bench"]),
    )?;
    let release = target.join("release");
    let data = target.join("bench-data/full");
    provision::run(
        Command::new(release.join("radlab-bench"))
            .args(["gen", "--data"])
            .arg(&data),
    )?;

    let cuda_dir = if cuda {
        python_cuda_dir(&out_dir)?
    } else {
        None
    };
    let with_cuda_dir = |cmd: &mut Command| {
        if let Some(dir) = &cuda_dir {
            cmd.env("RADLAB_CUDA_DIR", dir);
        }
    };
    let mut steps = Vec::new();
    let mut runtime = Command::new(release.join("radlab"));
    runtime.args(["runtime", "--device", &opts.device]);
    with_cuda_dir(&mut runtime);
    steps.push(capture("radlab runtime", &mut runtime)?);
    let mut test = crate::cargo();
    test.current_dir(root)
        .args([
            "test",
            "--release",
            "-p",
            "radlab-infer",
            "--test",
            "device_equality",
        ])
        .args(["--", "--nocapture", "--test-threads", "1"])
        .env("RADLAB_TEST_DEVICE", &opts.device);
    if cuda {
        test.env("RADLAB_REQUIRE_CUDA", "1");
    }
    with_cuda_dir(&mut test);
    steps.push(capture("equality with the CPU goldens", &mut test)?);

    // Bench rows: the device, then the CPU for the ratio.
    let mut rows = BTreeMap::new();
    let devices: &[&str] = if cuda { &["cuda", "cpu"] } else { &["cpu"] };
    for workload in ["sliding", "classify"] {
        for device in devices {
            let mut cmd = Command::new(release.join("radlab-bench"));
            cmd.args(["run", workload, "--data"]).arg(&data).args([
                "--runs",
                &opts.runs.to_string(),
                "--device",
                device,
            ]);
            with_cuda_dir(&mut cmd);
            let step = capture(&format!("bench {workload} on {device}"), &mut cmd)?;
            if step.ok {
                let line = step
                    .output
                    .lines()
                    .rev()
                    .find(|l| l.starts_with('{'))
                    .context("no JSON line from radlab-bench")?;
                let v: serde_json::Value = serde_json::from_str(line)?;
                let times: Vec<f64> = v["times_s"]
                    .as_array()
                    .context("times_s")?
                    .iter()
                    .filter_map(|t| t.as_f64())
                    .collect();
                rows.insert(
                    format!("{workload}/{device}"),
                    serde_json::json!({"median_s": median(&times), "times_s": times, "check": v["check"]}),
                );
            }
            steps.push(step);
        }
    }

    let device_line = steps[0]
        .output
        .lines()
        .filter(|l| {
            ["driver:", "CUDA:", "device:", "model:"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let gpu = Command::new("nvidia-smi")
        .args([
            "--query-gpu=name,driver_version,memory.total",
            "--format=csv,noheader",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "no nvidia-smi".into());
    let mut md = format!(
        "# GPU check (--device {})\n\nGPU: {gpu}\n\n```\n{device_line}\n```\n\n| step | result | seconds |\n|---|---|---|\n",
        opts.device
    );
    for s in &steps {
        md += &format!(
            "| {} | {} | {:.1} |\n",
            s.name,
            if s.ok { "pass" } else { "FAIL" },
            s.seconds
        );
    }
    md += "\n| row | median | check |\n|---|---|---|\n";
    for (k, v) in &rows {
        md += &format!(
            "| {k} | {:.1} ms | {} |\n",
            v["median_s"].as_f64().unwrap_or(f64::NAN) * 1e3,
            v["check"]
        );
    }
    if cuda {
        for w in ["sliding", "classify"] {
            if let (Some(g), Some(c)) = (
                rows.get(&format!("{w}/cuda")),
                rows.get(&format!("{w}/cpu")),
            ) {
                md += &format!(
                    "\n{w}: CPU / CUDA = {:.2}x",
                    c["median_s"].as_f64().unwrap_or(f64::NAN)
                        / g["median_s"].as_f64().unwrap_or(f64::NAN)
                );
            }
        }
        md += "\n";
    }
    let equality = steps
        .iter()
        .find(|s| s.name.starts_with("equality"))
        .map(|s| {
            s.output
                .lines()
                .filter(|l| l.contains("largest differences") || l.contains(" nodes: "))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    md += &format!("\n```\n{equality}\n```\n");
    let json = serde_json::json!({
        "device": opts.device,
        "gpu": gpu,
        "steps": steps.iter().map(|s| serde_json::json!({"name": s.name, "ok": s.ok, "seconds": s.seconds, "output": s.output})).collect::<Vec<_>>(),
        "rows": rows,
    });
    radlab_fsio::write_atomic(&out_dir.join("report.md"), md.as_bytes())?;
    radlab_fsio::write_atomic(
        &out_dir.join("report.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    println!("{md}");
    eprintln!("wrote {}", out_dir.join("report.md").display());
    let failed: Vec<&str> = steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| s.name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("gpu-check failed: {}", failed.join(", "));
    }
    Ok(())
}
