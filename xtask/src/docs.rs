//! `cargo xtask docs`: build the book with mdbook (installed with cargo into
//! target/tools when missing) and run every command of the code blocks
//! marked `<!-- run -->` (the line before the fence), from the workspace
//! root, failing on the first non-zero exit with the page and line.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cargo;
use crate::provision::run;

/// The mdbook release the book is built with.
const MDBOOK_VERSION: &str = "0.5.4";

/// One command of a marked block.
#[derive(Debug, PartialEq)]
pub struct DocCommand {
    /// The page, relative to the book's src/.
    pub page: String,
    /// 1-based line in the page.
    pub line: usize,
    /// The command, without a trailing `# comment`.
    pub command: String,
}

/// The commands of the marked blocks of one page's text.
pub fn marked_commands(page: &str, text: &str) -> Vec<DocCommand> {
    let mut out = Vec::new();
    let mut marked = false;
    let mut inside = false;
    let mut take = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if !inside && t.starts_with("```") {
            inside = true;
            take = marked;
            marked = false;
            continue;
        }
        if inside && t.starts_with("```") {
            inside = false;
            take = false;
            continue;
        }
        if inside {
            if take && !t.is_empty() {
                let command = t.split(" # ").next().unwrap_or(t).trim().to_string();
                out.push(DocCommand {
                    page: page.to_string(),
                    line: i + 1,
                    command,
                });
            }
            continue;
        }
        if !t.is_empty() {
            marked = t == "<!-- run -->";
        }
    }
    out
}

fn mdbook(root: &Path) -> Result<PathBuf> {
    let local = crate::provision::target_dir(root).join("tools/bin/mdbook");
    for candidate in [PathBuf::from("mdbook"), local.clone()] {
        let ok = Command::new(&candidate)
            .arg("--version")
            .output()
            .is_ok_and(|o| {
                o.status.success() && String::from_utf8_lossy(&o.stdout).contains(MDBOOK_VERSION)
            });
        if ok {
            return Ok(candidate);
        }
    }
    eprintln!("docs: installing mdbook {MDBOOK_VERSION} into target/tools (a few minutes, once)");
    run(cargo()
        .args([
            "install",
            "mdbook",
            "--locked",
            "--version",
            MDBOOK_VERSION,
            "--root",
        ])
        .arg(crate::provision::target_dir(root).join("tools")))?;
    Ok(local)
}

/// Build the book, then run every marked command.
pub fn docs(root: &Path) -> Result<()> {
    let book = root.join("notebooks-free-docs");
    run(Command::new(mdbook(root)?).arg("build").arg(&book))?;
    let src = book.join("src");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&src)
        .with_context(|| format!("{}: cannot list", src.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    let mut commands = Vec::new();
    for p in &pages {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        commands.extend(marked_commands(&name, &text));
    }
    if commands.is_empty() {
        bail!("no marked command blocks in {}", src.display());
    }
    for (k, c) in commands.iter().enumerate() {
        eprintln!(
            "docs [{}/{}] {}:{}: {}",
            k + 1,
            commands.len(),
            c.page,
            c.line,
            c.command
        );
        let o = Command::new("sh")
            .args(["-c", &c.command])
            .current_dir(root)
            .stdout(std::process::Stdio::null())
            .output()
            .with_context(|| format!("running {}", c.command))?;
        if !o.status.success() {
            bail!(
                "{}:{}: `{}` exited with {}:\n{}",
                c.page,
                c.line,
                c.command,
                o.status,
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
    eprintln!(
        "docs: book built, {} documented commands ran",
        commands.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_marked_blocks_are_taken() {
        let text = "Intro\n\n<!-- run -->\n```sh\ncargo run -p a   # comment\n\ncargo run -p b -- --x\n```\n\n```sh\ncargo run -p never\n```\n<!-- run -->\n\n```text\nout\n```\n";
        let c = marked_commands("p.md", text);
        assert_eq!(
            c,
            vec![
                DocCommand {
                    page: "p.md".into(),
                    line: 5,
                    command: "cargo run -p a".into()
                },
                DocCommand {
                    page: "p.md".into(),
                    line: 7,
                    command: "cargo run -p b -- --x".into()
                },
                DocCommand {
                    page: "p.md".into(),
                    line: 16,
                    command: "out".into()
                },
            ]
        );
    }
}
