//! The portfolio in a real browser: run two labs and grade them into a
//! scratch folder, build `radlab portfolio` from them, load the page in
//! headless Chromium (Debian's package, installed when missing) and fail on
//! any console message or image that did not decode. A screenshot is kept
//! in `target/portfolio-check/portfolio.png` for review.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cargo;
use crate::provision::{self, run};

const FLAGS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Build a portfolio from fresh lab outputs and check it in Chromium.
pub fn check(root: &Path) -> Result<()> {
    provision::debian(&[("chromium", "chromium")], "Chromium (portfolio check)")?;
    let base = crate::provision::target_dir(root).join("portfolio-check");
    if base.exists() {
        std::fs::remove_dir_all(&base)
            .with_context(|| format!("{}: cannot clear", base.display()))?;
    }
    let out = base.join("out");
    let lab = |args: &[&str], name: &str| -> Result<()> {
        run(cargo()
            .current_dir(root)
            .args(["run", "--quiet", "-p", name, "--"])
            .args(args)
            .arg("--out")
            .arg(out.join(name)))
    };
    lab(&["--skip-model"], "lab-windowing")?;
    lab(&["grade", "--reference"], "lab-windowing")?;
    lab(&["--cases", "3", "--bootstrap", "50"], "lab-calibration")?;
    lab(&["grade", "--reference"], "lab-calibration")?;
    let page_dir = base.join("portfolio");
    run(cargo()
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "-p",
            "radlab-cli",
            "--",
            "portfolio",
            "--results",
        ])
        .arg(&out)
        .arg("--out")
        .arg(&page_dir))?;
    let page = format!(
        "file://{}",
        page_dir.join("index.html").canonicalize()?.display()
    );
    let profile = base.join("chromium-profile");
    let o = Command::new("chromium")
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(&page)
        .output()
        .context("running chromium")?;
    if !o.status.success() {
        bail!(
            "chromium --dump-dom failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let dom = String::from_utf8_lossy(&o.stdout);
    let attr = |name: &str| -> Option<usize> {
        let key = format!("{name}=\"");
        let i = dom.find(&key)? + key.len();
        dom[i..].split('"').next()?.parse().ok()
    };
    let (images, broken) = (attr("data-images"), attr("data-broken-images"));
    let console: Vec<String> = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    if !console.is_empty() {
        bail!(
            "the portfolio page logged to the console:\n{}",
            console.join("\n")
        );
    }
    match (images, broken) {
        (Some(n), Some(0)) if n > 0 => {
            eprintln!("portfolio check: {n} images decoded, no console messages")
        }
        _ => bail!(
            "portfolio page {page}: images {images:?}, broken {broken:?} (the page's load handler did not report every image decoded)"
        ),
    }
    let shot = base.join("portfolio.png");
    run(Command::new("chromium")
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--window-size=1280,2400")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&page))?;
    eprintln!("portfolio check: screenshot {}", shot.display());
    Ok(())
}
