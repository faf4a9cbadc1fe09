//! `radlab portfolio`: every lab's latest grade, numbers and pictures on one
//! self-contained page (images copied beside it, no external assets) and a
//! README.md that renders on a code host.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use radlab_grade::{LabMeta, Results};
use serde_json::Value;

/// What the portfolio knows about one lab.
pub struct LabEntry {
    /// Lab id.
    pub id: String,
    /// lab.toml.
    pub meta: LabMeta,
    /// The latest `grade.json`, if the lab was graded.
    pub grade: Option<Results>,
    /// The latest run's `report.json`, if the lab was run.
    pub report: Option<Value>,
    /// Pictures the lab wrote (PNG), copied into the portfolio.
    pub images: Vec<PathBuf>,
}

/// Read one lab's outputs from `results/<lab>/` (the labs' default `out/<lab>`).
pub fn collect(id: &str, meta: LabMeta, results: &Path) -> LabEntry {
    let dir = results.join(id);
    let read = |name: &str| -> Option<Value> {
        std::fs::read_to_string(dir.join(name))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
    };
    let grade = read("grade.json").and_then(|v| serde_json::from_value(v).ok());
    // The images lab.toml names, in its order; a lab that names none shows
    // its first six pictures.
    let mut images: Vec<PathBuf> = if meta.portfolio.images.is_empty() {
        let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "png"))
                    .collect()
            })
            .unwrap_or_default();
        all.sort();
        all
    } else {
        meta.portfolio
            .images
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.is_file())
            .collect()
    };
    images.truncate(6);
    LabEntry {
        id: id.to_string(),
        meta,
        grade,
        report: read("report.json"),
        images,
    }
}

/// The learner's measured numbers of a lab, as (label, value) pairs, from
/// lab.toml's `[[portfolio.measured]]`.
pub fn measured(entry: &LabEntry) -> Vec<(String, String)> {
    let r = entry.report.as_ref();
    entry
        .meta
        .portfolio
        .measured
        .iter()
        .map(|m| (m.label.clone(), radlab_grade::fill_template(&m.value, r)))
        .collect()
}

/// How radlab's numbers compare with the peer libraries, from lab.toml's
/// `[[portfolio.parity]]`.
pub fn parity(entry: &LabEntry) -> Vec<(&str, &str)> {
    entry
        .meta
        .portfolio
        .parity
        .iter()
        .map(|p| (p.peer.as_str(), p.agreement.as_str()))
        .collect()
}

/// An interview answer outline per topic of the lab, filled with the
/// learner's numbers (lab.toml's `[[portfolio.cards]]`).
pub fn cards(entry: &LabEntry) -> Vec<(String, Vec<String>)> {
    let r = entry.report.as_ref();
    entry
        .meta
        .topics
        .iter()
        .map(|t| {
            let lines = match entry.meta.portfolio.card(t) {
                Some(card) => card
                    .lines
                    .iter()
                    .map(|l| radlab_grade::fill_template(l, r))
                    .collect(),
                None => vec![
                    "Point at this lab's numbers above and say which convention each uses.".into(),
                ],
            };
            (t.clone(), lines)
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The reproducibility facts of the whole portfolio.
pub struct Provenance {
    /// radlab's version.
    pub toolkit_version: String,
    /// `git rev-parse HEAD` of the workspace, when it is a git checkout.
    pub commit: String,
    /// ONNX Runtime version radlab is built for.
    pub onnxruntime: String,
}

/// Write `out/index.html`, `out/README.md` and `out/img/*` (atomically per file).
pub fn write(entries: &[LabEntry], prov: &Provenance, out: &Path) -> Result<Vec<PathBuf>> {
    let img = out.join("img");
    std::fs::create_dir_all(&img).with_context(|| format!("{}: cannot create", img.display()))?;
    let mut written = Vec::new();
    let mut copied: Vec<Vec<String>> = Vec::new();
    for e in entries {
        let mut names = Vec::new();
        for p in &e.images {
            let name = format!(
                "{}-{}",
                e.id,
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            );
            let bytes =
                std::fs::read(p).with_context(|| format!("{}: cannot read", p.display()))?;
            radlab_fsio::write_atomic(&img.join(&name), &bytes)
                .with_context(|| img.join(&name).display().to_string())?;
            names.push(name);
        }
        copied.push(names);
    }
    let mut html = String::new();
    let mut md = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>radlab portfolio</title>\n<style>\
body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}\
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:left}}\
.pass{{color:#176d2c}}.fail{{color:#a31515}}img{{max-width:340px;margin:.3em;border:1px solid #ddd}}\
section{{border-top:2px solid #444;margin-top:2em}}code{{background:#f3f3f3}}</style></head><body>\n\
<h1>radlab portfolio</h1>\n<p>Every lab's latest grade and measured numbers, from the labs' output folders (<code>radlab portfolio --results</code>, default <code>out/</code>).</p>\n"
    );
    let _ = writeln!(
        md,
        "# radlab portfolio\n\nEvery lab's latest grade and measured numbers.\n"
    );
    let _ = writeln!(
        html,
        "<h2>Reproducibility</h2><table><tr><th>toolkit</th><td>radlab {}</td></tr><tr><th>git commit</th><td><code>{}</code></td></tr><tr><th>ONNX Runtime</th><td>{}</td></tr></table>",
        esc(&prov.toolkit_version),
        esc(&prov.commit),
        esc(&prov.onnxruntime)
    );
    let _ = writeln!(
        md,
        "## Reproducibility\n\n| | |\n|---|---|\n| toolkit | radlab {} |\n| git commit | `{}` |\n| ONNX Runtime | {} |\n",
        prov.toolkit_version, prov.commit, prov.onnxruntime
    );
    for (e, imgs) in entries.iter().zip(&copied) {
        let _ = writeln!(
            html,
            "<section id=\"{0}\"><h2>{0}: {1}</h2>",
            esc(&e.id),
            esc(&e.meta.title)
        );
        let _ = writeln!(md, "## {}: {}\n", e.id, e.meta.title);
        let _ = writeln!(html, "<p>Topics: {}</p>", esc(&e.meta.topics.join(", ")));
        let _ = writeln!(md, "Topics: {}\n", e.meta.topics.join(", "));
        match &e.grade {
            Some(g) => {
                let by = g.by_task();
                let _ = writeln!(
                    html,
                    "<p>Score <b>{}/{}</b> ({} graded, {}).</p><table><tr><th>task</th><th>points</th><th>status</th></tr>",
                    g.score,
                    g.max_score,
                    esc(&g.implementation),
                    esc(&g.timestamp)
                );
                let _ = writeln!(
                    md,
                    "Score **{}/{}** ({} graded, {}).\n\n| task | points | status |\n|---|---|---|",
                    g.score, g.max_score, g.implementation, g.timestamp
                );
                for t in &e.meta.tasks {
                    let (got, max, ok) = by.get(&t.id).copied().unwrap_or((0.0, t.points, false));
                    let status = if ok { "passed" } else { "not yet" };
                    let _ = writeln!(
                        html,
                        "<tr><td>{}</td><td>{got}/{max}</td><td class=\"{}\">{status}</td></tr>",
                        esc(&t.id),
                        if ok { "pass" } else { "fail" }
                    );
                    let _ = writeln!(md, "| {} | {got}/{max} | {status} |", t.id);
                }
                let _ = writeln!(html, "</table>");
                let c = &g.checksums;
                let _ = writeln!(
                    html,
                    "<p>Checksums: exercise <code>{}</code>, grader <code>{}</code>; grader modified: <b>{}</b>.</p>",
                    esc(&c.exercise_sha256.chars().take(16).collect::<String>()),
                    esc(&c.grader_sha256.chars().take(16).collect::<String>()),
                    c.grader_modified
                );
                let _ = writeln!(
                    md,
                    "\nChecksums: exercise `{}`, grader `{}`; grader modified: **{}**.\n",
                    c.exercise_sha256.chars().take(16).collect::<String>(),
                    c.grader_sha256.chars().take(16).collect::<String>(),
                    c.grader_modified
                );
            }
            None => {
                let cmd = format!("cargo run -p {} -- grade", e.id);
                let _ = writeln!(html, "<p>Not graded yet: <code>{}</code>.</p>", esc(&cmd));
                let _ = writeln!(md, "Not graded yet: `{cmd}`.\n");
            }
        }
        let m = measured(e);
        if !m.is_empty() {
            let _ = writeln!(html, "<h3>Measured</h3><table>");
            let _ = writeln!(md, "### Measured\n\n| | |\n|---|---|");
            for (k, v) in &m {
                let _ = writeln!(html, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
                let _ = writeln!(md, "| {k} | {v} |");
            }
            let _ = writeln!(html, "</table>");
            let _ = writeln!(md);
        }
        let p = parity(e);
        if !p.is_empty() {
            let _ = writeln!(
                html,
                "<h3>Compared with reference libraries</h3><table><tr><th>peer</th><th>agreement</th></tr>"
            );
            let _ = writeln!(
                md,
                "### Compared with reference libraries\n\n| peer | agreement |\n|---|---|"
            );
            for (a, b) in &p {
                let _ = writeln!(html, "<tr><td>{}</td><td>{}</td></tr>", esc(a), esc(b));
                let _ = writeln!(md, "| {a} | {b} |");
            }
            let _ = writeln!(html, "</table>");
            let _ = writeln!(md);
        }
        if let Some(r) = &e.report {
            let device = r.get("device").and_then(Value::as_str).unwrap_or("");
            if !device.is_empty() {
                let _ = writeln!(html, "<p>Execution provider: {}</p>", esc(device));
                let _ = writeln!(md, "Execution provider: {device}\n");
            }
            let seed = r.get("seed").or_else(|| r.pointer("/bootstrap/seed"));
            if let Some(s) = seed {
                let _ = writeln!(html, "<p>Seed: {}</p>", esc(&s.to_string()));
                let _ = writeln!(md, "Seed: {s}\n");
            }
        }
        for name in imgs {
            let _ = writeln!(html, "<img src=\"img/{0}\" alt=\"{0}\">", esc(name));
            let _ = writeln!(md, "![{name}](img/{name})");
        }
        if !imgs.is_empty() {
            let _ = writeln!(md);
        }
        for (topic, lines) in cards(e) {
            let _ = writeln!(html, "<h3>Interview card: {}</h3><ul>", esc(&topic));
            let _ = writeln!(md, "### Interview card: {topic}\n");
            for l in lines {
                let _ = writeln!(html, "<li>{}</li>", esc(&l));
                let _ = writeln!(md, "- {l}");
            }
            let _ = writeln!(html, "</ul>");
            let _ = writeln!(md);
        }
        let _ = writeln!(html, "</section>");
    }
    // A self-check the browser test reads: every image decoded.
    let _ = writeln!(
        html,
        "<script>window.addEventListener('load',function(){{var bad=[].filter.call(document.images,function(i){{return !(i.complete&&i.naturalWidth>0)}});document.body.setAttribute('data-images',document.images.length);document.body.setAttribute('data-broken-images',bad.length);}});</script>\n</body></html>"
    );
    for (name, text) in [("index.html", html), ("README.md", md)] {
        let p = out.join(name);
        radlab_fsio::write_atomic(&p, text.as_bytes()).with_context(|| p.display().to_string())?;
        written.push(p);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_is_self_contained_and_lists_every_lab() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("out");
        std::fs::create_dir_all(results.join("lab-x")).unwrap();
        // A tiny valid PNG (1 x 1 grey) as a lab's picture, and a report.
        let png = radlab_imaging::planes::encode_png(
            ndarray::Array2::<u8>::from_elem((1, 1), 128).view(),
        )
        .unwrap();
        std::fs::write(results.join("lab-x/pic.png"), png).unwrap();
        std::fs::write(
            results.join("lab-x/report.json"),
            r#"{"shape": [2, 3, 4], "device": "CPU"}"#,
        )
        .unwrap();
        let meta =
            LabMeta::parse("id = \"lab-x\"\ntitle = \"X <lab>\"\ntopics = [\"B1\"]\ntasks = []\n")
                .unwrap();
        let entries = vec![collect("lab-x", meta, &results)];
        let prov = Provenance {
            toolkit_version: "0".into(),
            commit: "abc".into(),
            onnxruntime: "1".into(),
        };
        let written = write(&entries, &prov, &dir.path().join("p")).unwrap();
        let html = std::fs::read_to_string(&written[0]).unwrap();
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external assets"
        );
        assert!(html.contains("X &lt;lab&gt;"), "titles are escaped");
        assert!(html.contains("img/lab-x-pic.png"));
        assert!(dir.path().join("p/img/lab-x-pic.png").is_file());
        assert!(html.contains("Not graded yet"));
        let md = std::fs::read_to_string(&written[1]).unwrap();
        assert!(md.contains("![lab-x-pic.png](img/lab-x-pic.png)"));
    }
}
