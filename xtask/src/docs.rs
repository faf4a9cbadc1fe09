//! `cargo xtask docs`: build the book with mdbook (installed with cargo into
//! target/tools when missing) and run every command of the code blocks
//! marked `<!-- run -->` (the line before the fence), from the workspace
//! root, failing on the first non-zero exit with the page and line.
//!
//! A block of program output quoted in the book is marked
//! `<!-- output: COMMAND -->`: COMMAND is run and its stdout must match the
//! block, where `[..]` in a line stands for any text (timings, paths, the
//! device) and a line `...` for any number of lines. So a figure in the book
//! cannot drift from the program. The matcher is written here rather than
//! taken from snapbox: two rules, and its message must name the page and
//! line of the book.

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

/// A quoted output block: the command after `<!-- output: ` and the block.
#[derive(Debug, PartialEq)]
pub struct QuotedOutput {
    /// The page, relative to the book's src/.
    pub page: String,
    /// 1-based line of the block's first line.
    pub line: usize,
    /// The command whose stdout the block quotes.
    pub command: String,
    /// The block's lines.
    pub expected: Vec<String>,
}

/// The quoted output blocks of one page's text.
pub fn quoted_outputs(page: &str, text: &str) -> Vec<QuotedOutput> {
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    let mut current: Option<QuotedOutput> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(block) = current.as_mut() {
            if t.starts_with("```") {
                out.extend(current.take());
            } else {
                block.expected.push(line.to_string());
            }
            continue;
        }
        if t.starts_with("```") {
            if let Some(command) = pending.take() {
                current = Some(QuotedOutput {
                    page: page.to_string(),
                    line: i + 2,
                    command,
                    expected: Vec::new(),
                });
            }
            continue;
        }
        if let Some(c) = t
            .strip_prefix("<!-- output:")
            .and_then(|r| r.strip_suffix("-->"))
        {
            pending = Some(c.trim().to_string());
        } else if !t.is_empty() {
            pending = None;
        }
    }
    out
}

/// Does `actual` match `pattern`, where `[..]` is any text?
fn line_matches(pattern: &str, actual: &str) -> bool {
    let pattern = pattern.trim_end();
    let actual = actual.trim_end();
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == actual;
    }
    let mut rest = actual;
    for (k, part) in parts.iter().enumerate() {
        if k == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if k == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(p) = rest.find(part) else {
                return false;
            };
            rest = &rest[p + part.len()..];
        }
    }
    true
}

/// Where `actual` stops matching `expected` (`...` lines are any number
/// of lines): None when it matches, else (expected line index, actual line
/// index) of the first line that could not be matched.
pub fn first_mismatch(expected: &[String], actual: &[&str]) -> Option<(usize, usize)> {
    // reach[i][j]: expected[..i] matches actual[..j].
    let (n, m) = (expected.len(), actual.len());
    let mut reach = vec![vec![false; m + 1]; n + 1];
    reach[0][0] = true;
    for i in 0..n {
        let any = expected[i].trim() == "...";
        for j in 0..=m {
            if !reach[i][j] {
                continue;
            }
            if any {
                for r in reach[i + 1].iter_mut().skip(j) {
                    *r = true;
                }
            } else if j < m && line_matches(&expected[i], actual[j]) {
                reach[i + 1][j + 1] = true;
            }
        }
    }
    if reach[n][m] {
        return None;
    }
    // The furthest expected line reached, and the actual line there.
    for i in (0..=n).rev() {
        if let Some(j) = (0..=m).rev().find(|&j| reach[i][j]) {
            return Some((i, j));
        }
    }
    Some((0, 0))
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

/// Run a command of the book from the workspace root; an exit other than 0
/// is an error naming the page and line. Stdout is kept when `keep_stdout`.
fn run_documented(
    root: &Path,
    page: &str,
    line: usize,
    command: &str,
    keep_stdout: bool,
) -> Result<std::process::Output> {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", command]).current_dir(root);
    if !keep_stdout {
        cmd.stdout(std::process::Stdio::null());
    }
    let o = cmd.output().with_context(|| format!("running {command}"))?;
    if !o.status.success() {
        bail!(
            "{page}:{line}: `{command}` exited with {}:\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
    }
    Ok(o)
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
    let mut quoted = Vec::new();
    for p in &pages {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        commands.extend(marked_commands(&name, &text));
        quoted.extend(quoted_outputs(&name, &text));
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
        run_documented(root, &c.page, c.line, &c.command, false)?;
    }
    for (k, q) in quoted.iter().enumerate() {
        eprintln!(
            "docs: quoted output [{}/{}] {}:{}: {}",
            k + 1,
            quoted.len(),
            q.page,
            q.line,
            q.command
        );
        let o = run_documented(root, &q.page, q.line, &q.command, true)?;
        let stdout = String::from_utf8_lossy(&o.stdout);
        let actual: Vec<&str> = stdout.lines().collect();
        if let Some((i, j)) = first_mismatch(&q.expected, &actual) {
            bail!(
                "{}:{}: the quoted output of `{}` differs from a run.\n  book:    {}\n  program: {}\nThe whole run (paste it into the block, with [..] for what varies):\n{}",
                q.page,
                q.line + i,
                q.command,
                q.expected.get(i).map_or("(end of block)", String::as_str),
                actual.get(j).copied().unwrap_or("(end of output)"),
                stdout
            );
        }
    }
    eprintln!(
        "docs: book built, {} documented commands ran, {} quoted outputs match a run",
        commands.len(),
        quoted.len()
    );
    if quoted.is_empty() {
        bail!(
            "no quoted output is checked: mark the book's output blocks with <!-- output: COMMAND -->"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_outputs_match_with_wildcards() {
        let page = "x\n<!-- output: cargo run -q -p a -->\n```text\nmodel on [..] (asked: auto)\n...\nscore 3/4\n```\n\n```text\nnot marked\n```\n";
        let q = quoted_outputs("p.md", page);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].command, "cargo run -q -p a");
        assert_eq!(q[0].line, 4);
        let e = &q[0].expected;
        assert_eq!(
            first_mismatch(e, &["model on CPU (asked: auto)", "a", "b", "score 3/4"]),
            None
        );
        assert_eq!(
            first_mismatch(e, &["model on CPU (asked: auto)", "score 3/4"]),
            None
        );
        assert_eq!(
            first_mismatch(e, &["model on CPU (asked: cpu)", "score 3/4"]),
            Some((0, 0))
        );
        assert_eq!(
            first_mismatch(e, &["model on CPU (asked: auto)", "score 2/4"]),
            Some((2, 2))
        );
        assert!(line_matches("a [..] b [..] c", "a 1 b 2 c"));
        assert!(!line_matches("a [..] b", "a 1 c"));
        assert!(line_matches("same  ", "same"));
        // A figure that drifted is a mismatch, not a wildcard.
        assert!(!line_matches("CPM 0.297", "CPM 0.812"));
    }

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
