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

fn num(report: Option<&Value>, pointer: &str, digits: usize) -> String {
    match report.and_then(|r| r.pointer(pointer)) {
        Some(Value::Number(n)) => n
            .as_f64()
            .map_or_else(|| n.to_string(), |v| format!("{v:.digits$}")),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Array(a)) => {
            let parts: Vec<String> = a.iter().map(|v| v.to_string()).collect();
            format!("[{}]", parts.join(", "))
        }
        _ => "(run the lab)".into(),
    }
}

/// The learner's measured numbers of a lab, as (label, value) pairs.
pub fn measured(entry: &LabEntry) -> Vec<(String, String)> {
    let r = entry.report.as_ref();
    let n = |p: &str, d: usize| num(r, p, d);
    let rows: Vec<(&str, String)> = match entry.id.as_str() {
        "lab-dicom" => vec![
            ("series shape [z, y, x]", n("/shape", 0)),
            ("modality", n("/modality", 0)),
        ],
        "lab-windowing" => vec![
            (
                "voxels where LINEAR and LINEAR_EXACT differ (%)",
                n("/linear_vs_linear_exact/percent_differing", 2),
            ),
            (
                "classifier AUROC, trained window",
                n("/windowing_matters/results/0/auroc", 3),
            ),
            (
                "classifier AUROC, raw HU",
                n("/windowing_matters/results/3/auroc", 3),
            ),
        ],
        "lab-deid" => vec![
            ("files written", n("/files_written", 0)),
            ("identifying values hunted", n("/needles", 0)),
            (
                "voxels identical after de-identification",
                n("/utility/voxels_identical", 0),
            ),
        ],
        "lab-segmentation" => vec![
            (
                "mean Dice, MONAI default (empty reference skipped)",
                n("/means/0/mean_dice", 4),
            ),
            ("mean Dice, nnU-Net convention", n("/means/1/mean_dice", 4)),
            ("mean HD95 (mm)", n("/mean_hd95_mm", 2)),
        ],
        "lab-froc" => vec![
            ("CPM (LUNA16, 7 points)", n("/cpm", 3)),
            (
                "CPM 95% interval",
                format!("{} - {}", n("/cpm_ci/0", 3), n("/cpm_ci/1", 3)),
            ),
            ("CAMELYON16 score", n("/camelyon16", 3)),
            (
                "lesions / scans",
                format!(
                    "{} / {}",
                    n("/lesions", 0),
                    r.and_then(|r| r["scans"].as_array())
                        .map_or("?".into(), |a| a.len().to_string())
                ),
            ),
        ],
        "lab-calibration" => vec![
            ("test ECE before", n("/before/ece", 4)),
            ("test ECE after temperature", n("/after_temperature/ece", 4)),
            ("temperature T", n("/temperature", 4)),
            (
                "test NLL before -> after",
                format!(
                    "{} -> {}",
                    n("/before/nll", 4),
                    n("/after_temperature/nll", 4)
                ),
            ),
        ],
        _ => vec![],
    };
    rows.into_iter().map(|(a, b)| (a.to_string(), b)).collect()
}

/// How radlab's numbers compare with the reference libraries (tests that
/// run in CI).
pub fn parity(id: &str) -> Vec<(&'static str, &'static str)> {
    match id {
        "lab-dicom" => vec![(
            "pydicom 3.0.2 on ~300 third-party files",
            "headers and pixel statistics agree (fixture)",
        )],
        "lab-windowing" => vec![
            ("PS3.3 C.11.2.1.2 worked notes", "exact"),
            ("SimpleITK resampling", "bench equality check, 1e-5"),
        ],
        "lab-deid" => vec![(
            "dicognito 0.19.0",
            "compared attribute by attribute (fixture)",
        )],
        "lab-segmentation" => vec![(
            "MONAI 1.6.1 Dice/IoU/HD/HD95/ASSD/surface Dice",
            "1e-6 on 6 cases",
        )],
        "lab-froc" => vec![
            (
                "MONAI 1.6.1 compute_fp_tp_probs_nd / froc curve / score",
                "1e-9, differences asserted",
            ),
            ("scipy ndimage candidates", "identical"),
        ],
        "lab-calibration" => vec![
            ("scikit-learn, netcal, torchmetrics", "1e-9"),
            ("MONAI (float32)", "1e-6"),
            ("scipy / torch temperature", "1e-4"),
        ],
        _ => vec![],
    }
}

/// An interview answer outline per topic, filled with the learner's numbers.
pub fn cards(entry: &LabEntry) -> Vec<(String, Vec<String>)> {
    let r = entry.report.as_ref();
    let n = |p: &str, d: usize| num(r, p, d);
    entry
        .meta
        .topics
        .iter()
        .map(|t| {
            let lines: Vec<String> = match (entry.id.as_str(), t.as_str()) {
                ("lab-calibration", "I4") => vec![
                    "Say how you measured: reliability diagram plus ECE with its binning (equal-width, bin count, where p = 1 goes).".into(),
                    format!("Number: test ECE {} before, {} after temperature scaling (T = {}) fitted on the validation split only.", n("/before/ece", 4), n("/after_temperature/ece", 4), n("/temperature", 3)),
                    "Temperature scaling keeps the accuracy by construction (T > 0 keeps the argmax); Platt scaling does not: its offset moves the 0.5 threshold.".into(),
                ],
                ("lab-calibration", "S10") => vec![
                    "Screening means low prevalence and many scanners: PPV depends on calibrated probabilities.".into(),
                    format!("Evidence: the classifier, scored on a vendor it never saw, had ECE {}; a temperature fitted on the trained vendors gave {} there: check calibration on every new scanner, never assume it transfers.", n("/before/ece", 4), n("/after_temperature/ece", 4)),
                ],
                ("lab-froc", "I1") => vec![
                    "Pipeline: candidates from the segmenter, false-positive reduction by a classifier, matching by LUNA16's radius rule.".into(),
                    format!("Result: CPM {} (95% bootstrap {} - {}), CAMELYON16 score {}.", n("/cpm", 3), n("/cpm_ci/0", 3), n("/cpm_ci/1", 3), n("/camelyon16", 3)),
                    "Counting: duplicates once, every scan counted, sensitivity pooled over lesions, numpy.interp between points.".into(),
                ],
                ("lab-segmentation", "W1") => vec![
                    "End to end: DICOM series -> HU -> the model's window -> sliding windows -> threshold -> mask -> Dice and HD95 against the reference.".into(),
                    format!("Report the convention with the number: mean Dice {} (MONAI default) vs {} (nnU-Net), mean HD95 {} mm.", n("/means/0/mean_dice", 3), n("/means/1/mean_dice", 3), n("/mean_hd95_mm", 1)),
                ],
                ("lab-segmentation", _) => vec![
                    "Voxel masks answer 'where' and 'how big'; image labels only 'whether'.".into(),
                    format!("Dice: {} with MONAI's default (empty references skipped), {} when false positives on scans without nodules count as 0.", n("/means/0/mean_dice", 3), n("/means/1/mean_dice", 3)),
                    format!("Surface: mean HD95 {} mm; Dice hides far-away false-positive blobs, HD95 does not.", n("/mean_hd95_mm", 1)),
                ],
                ("lab-windowing", _) => vec![
                    "HU windowing per PS3.3 (LINEAR has the -0.5 and w - 1 terms), then isotropic resampling (trilinear for images, nearest for labels).".into(),
                    format!("Evidence: the classifier's AUROC is {} in its trained window and {} on raw HU.", n("/windowing_matters/results/0/auroc", 3), n("/windowing_matters/results/3/auroc", 3)),
                ],
                ("lab-deid", "B4") => vec![
                    "Law sets the bar (HIPAA Safe Harbor's 18 identifiers, GDPR's pseudonymised data is still personal data); PS3.15 Annex E is how DICOM meets it: the Basic Profile plus options, each a choice between privacy and what the data set can still answer.".into(),
                    format!("Proof, not promise: {} files written, {} identifying values hunted in every output byte, pixels identical: {}.", n("/files_written", 0), n("/needles", 0), n("/utility/voxels_identical", 0)),
                    "Headers are half of it: burned-in text is refused or blanked, and head scans need defacing, which changes pixels and so the model's input.".into(),
                ],
                ("lab-deid", _) => vec![
                    "In an ingestion pipeline, de-identification runs on every file as it arrives, before storage and labelling, and must be repeatable: the same key gives the same UIDs and date shifts in every batch, so studies stay linked.".into(),
                    format!("Measured here: {} files written, {} refused, {} skipped as not DICOM; keyed UIDs and per-patient date shifts; the audit lists every action per attribute.", n("/files_written", 0), n("/files_refused", 0), n("/files_skipped", 0)),
                    "What goes wrong at scale: a new vendor's private tags, a secondary capture with text in the pixels, a file that is not DICOM at all; each must be refused by name, never passed through.".into(),
                ],
                ("lab-dicom", "B2") => vec![
                    "Image-level label: 'a nodule somewhere' (one number per study or patch); voxel mask: where it is and how big (a label per voxel, labels.npy here).".into(),
                    "Masks cost far more to annotate but allow segmentation metrics (Dice, HD95) and detection metrics (FROC); labels allow only ROC-type evaluation.".into(),
                ],
                ("lab-dicom", _) => vec![
                    "A DICOM study is files plus metadata: patient, study, series, geometry; slices ordered by position along the normal, not by InstanceNumber.".into(),
                    format!("Evidence: the sample series, shape [z, y, x] {}, modality {}.", n("/shape", 0), n("/modality", 0)),
                ],
                _ => vec!["Point at this lab's numbers above and say which convention each uses.".into()],
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
            radlab_dicom::write::write_atomic(&img.join(&name), &bytes)?;
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
        let p = parity(&e.id);
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
        radlab_dicom::write::write_atomic(&p, text.as_bytes())?;
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
