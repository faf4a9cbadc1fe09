//! `cargo xtask new-lab NAME`: a new lab folder in the shape every lab has.
//!
//! The scaffold is a working lab, not a skeleton: one task with a reference,
//! stubs, a visible worked example and hidden checks (an exact boundary, the
//! empty case, seeded random cases), one mutant its grading test proves is
//! caught, a pipeline behind an options struct, a narrating `main.rs`, a
//! default run on the bundled sample series, and a lab.toml that declares
//! everything `radlab list`, `radlab grade --all` and `radlab portfolio`
//! need. The workspace's `labs/*` member glob picks it up: nothing outside
//! the new folder changes.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// (path inside the lab, template).
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../templates/new-lab/Cargo.toml.tmpl"),
    ),
    (
        "lab.toml",
        include_str!("../templates/new-lab/lab.toml.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../templates/new-lab/lib.rs.tmpl"),
    ),
    (
        "src/main.rs",
        include_str!("../templates/new-lab/main.rs.tmpl"),
    ),
    (
        "src/types.rs",
        include_str!("../templates/new-lab/types.rs.tmpl"),
    ),
    (
        "src/tasks.rs",
        include_str!("../templates/new-lab/tasks.rs.tmpl"),
    ),
    (
        "src/checks.rs",
        include_str!("../templates/new-lab/checks.rs.tmpl"),
    ),
    (
        "src/pipeline.rs",
        include_str!("../templates/new-lab/pipeline.rs.tmpl"),
    ),
    (
        "src/exercise.rs",
        include_str!("../templates/new-lab/pristine.rs.tmpl"),
    ),
    (
        "src/exercise/pristine.rs",
        include_str!("../templates/new-lab/pristine.rs.tmpl"),
    ),
    (
        "tests/grading.rs",
        include_str!("../templates/new-lab/grading.rs.tmpl"),
    ),
    (
        "tests/cli.rs",
        include_str!("../templates/new-lab/cli.rs.tmpl"),
    ),
];

/// Whether `name` can be a lab: `lab-` then lowercase letters, digits and
/// single hyphens.
fn valid_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("lab-") else {
        return false;
    };
    !rest.is_empty()
        && !rest.starts_with('-')
        && !rest.ends_with('-')
        && !rest.contains("--")
        && rest
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Write `labs/NAME/` from the templates, with its grader checksum.
pub fn new_lab(root: &Path, name: &str, title: Option<&str>) -> Result<()> {
    if !valid_name(name) {
        bail!(
            "{name:?}: a lab's name is `lab-` followed by lowercase letters, digits and single hyphens (e.g. lab-agreement)"
        );
    }
    let dir = root.join("labs").join(name);
    if dir.exists() {
        bail!("{}: already exists", dir.display());
    }
    let krate = name.replace('-', "_");
    let title = title.map_or_else(|| format!("{name}: a new lab"), str::to_string);
    if title.contains(['"', '\\', '\n']) {
        bail!(
            "--title {title:?}: no quotes, backslashes or newlines (it goes into lab.toml and doc comments)"
        );
    }
    // Write into a scratch folder beside labs/ and rename it into place, so
    // a failure leaves no half-made lab for the workspace glob to find.
    let scratch = root.join("target").join(format!("new-lab-{name}"));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    for (path, template) in FILES {
        let text = template
            .replace("__LAB__", name)
            .replace("__CRATE__", &krate)
            .replace("__TITLE__", &title);
        let p = scratch.join(path);
        std::fs::create_dir_all(p.parent().expect("a file in a folder"))?;
        std::fs::write(&p, text).with_context(|| p.display().to_string())?;
    }
    std::fs::write(
        scratch.join("grader.sha256"),
        format!("{}\n", crate::grader_checksum(&scratch)?),
    )?;
    std::fs::rename(&scratch, &dir).with_context(|| {
        format!(
            "moving {} to {} (is target/ on another filesystem?)",
            scratch.display(),
            dir.display()
        )
    })?;
    eprintln!("new-lab: wrote {}", dir.display());
    for (path, _) in FILES {
        eprintln!("  labs/{name}/{path}");
    }
    eprintln!("  labs/{name}/grader.sha256");
    eprintln!(
        "next: `cargo run -p {name}` (the default run), `cargo run -p {name} -- grade` (the stubs score 0), `cargo xtask check-labs` (reference 100 %, stubs 0, the mutant caught); then replace the example task with the lab's own"
    );
    Ok(())
}

/// The scaffold still works (part of `cargo xtask test`): scaffold a lab,
/// lint it, run its tests (its grading tests are the check-labs bar), then
/// remove it and put Cargo.lock back, whatever happened.
pub fn selftest(root: &Path) -> Result<()> {
    const NAME: &str = "lab-scaffold-selftest";
    struct Cleanup<'a> {
        dir: std::path::PathBuf,
        lock: &'a Path,
        lock_text: Option<Vec<u8>>,
    }
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
            if let Some(text) = &self.lock_text {
                let _ = std::fs::write(self.lock, text);
            }
        }
    }
    let lock = root.join("Cargo.lock");
    let dir = root.join("labs").join(NAME);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let _cleanup = Cleanup {
        dir: dir.clone(),
        lock: &lock,
        lock_text: std::fs::read(&lock).ok(),
    };
    new_lab(root, NAME, Some("The scaffold's self-test"))?;
    crate::run(crate::cargo().current_dir(root).args([
        "clippy",
        "-p",
        NAME,
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    crate::run(crate::cargo().current_dir(root).args(["test", "-p", NAME]))?;
    eprintln!("new-lab self-test: {NAME} scaffolded, linted and tested, then removed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["lab-demo", "lab-a1", "lab-drift-psi"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "demo", "lab-", "lab--x", "lab-X", "lab-x-", "lab-x_y", "lab-x/y", "lab-../x",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn every_template_placeholder_is_filled() {
        for (path, template) in FILES {
            let text = template
                .replace("__LAB__", "lab-x")
                .replace("__CRATE__", "lab_x")
                .replace("__TITLE__", "X");
            assert!(!text.contains("__"), "{path}: a placeholder is left");
        }
    }
}
