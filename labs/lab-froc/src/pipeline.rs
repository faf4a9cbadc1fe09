//! The lab's pipeline: detections (from the bundled models or LUNA16 CSVs)
//! matched to the reference, the FROC curve with bootstrap intervals, the
//! CPM under each counting convention, the CSVs and the chart. The binary
//! parses its flags into [`Options`] and narrates the [`Report`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use radlab_charts::{Band, Chart, Series, write_chart};
use radlab_labkit as kit;
use radlab_metrics::detection::{
    CAMELYON16, Candidate, Froc, FrocCi, HitRule, LUNA16, Lesion, ScanResult, bootstrap_ci,
    evaluate, evaluate_duplicates_as_fps, froc, lesions_from_labels, monai_scores,
};
use serde::Serialize;

/// What the pipeline is run with (the binary's flags, checked there).
#[derive(Debug, Clone)]
pub struct Options {
    /// Detections in LUNA16's layout (with `annotations`): CSV mode.
    pub candidates: Option<PathBuf>,
    /// Reference nodules in LUNA16's layout.
    pub annotations: Option<PathBuf>,
    /// Every scan evaluated, one seriesuid per line.
    pub seriesuids: Option<PathBuf>,
    /// Generated scans without nodules (seeds 901, 902, ...), model mode.
    pub negatives: usize,
    /// Probability at or above which voxels form candidates.
    pub candidate_threshold: f32,
    /// How candidates are scored.
    pub score: Score,
    /// How candidates are found.
    pub detections: Detections,
    /// When a candidate hits a lesion.
    pub hit_rule: HitRule,
    /// Bootstrap replicates.
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Output folder for the CSVs and the chart (created).
    pub out: PathBuf,
    /// Also compute the CPM with the exercise functions.
    pub mine: bool,
}

/// Loads a bundled model by name (the binary's device settings).
pub use radlab_labkit::ModelLoader as Loader;

use radlab_labkit::bad_input as bad;

#[derive(Copy, Clone, Debug, PartialEq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Score {
    /// The bundled classifier's nodule probability on an axial patch at the candidate (false-positive reduction).
    Classifier,
    /// The segmenter's highest probability in the component.
    Peak,
}

/// How the probability map becomes candidates in model mode.
pub use radlab_eval::detect::Detections;

/// Detections and reference of every scan, in one frame (mm).
struct Problem {
    scan_ids: Vec<String>,
    candidates: Vec<Candidate>,
    lesions: Vec<Lesion>,
    /// Label masks (model mode only), for the inside-mask rule.
    labels: Option<Vec<ndarray::Array3<u32>>>,
    source: String,
    model: Option<(String, String)>,
}

#[derive(Serialize)]
pub struct ScanRow {
    pub id: String,
    pub lesions: usize,
    pub candidates: usize,
    pub lesions_found: usize,
    pub false_positives: usize,
    pub duplicate_hits: usize,
}

#[derive(Serialize)]
pub struct OperatingPoint {
    pub fps_per_scan: f64,
    pub sensitivity: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub luna16: bool,
    pub camelyon16: bool,
}

#[derive(Serialize)]
pub struct Convention {
    pub name: &'static str,
    pub what: String,
    pub cpm: f64,
    pub camelyon16: f64,
}

#[derive(Serialize)]
pub struct MineRow {
    pub cpm: Option<f64>,
    pub agrees: bool,
    pub note: String,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
pub struct Report {
    pub source: String,
    pub model: Option<String>,
    pub device: Option<String>,
    pub hit_rule: HitRule,
    pub candidate_threshold: Option<f32>,
    /// How candidates were found (model mode).
    pub detections: Option<Detections>,
    pub scans: Vec<ScanRow>,
    pub lesions: usize,
    pub candidates: usize,
    pub curve: Froc,
    pub operating_points: Vec<OperatingPoint>,
    pub cpm: f64,
    pub cpm_ci: (f64, f64),
    pub camelyon16: f64,
    pub camelyon16_ci: (f64, f64),
    pub bootstrap: BootstrapInfo,
    pub pooled_vs_per_scan: (f64, f64),
    pub conventions: Vec<Convention>,
    pub files: Vec<String>,
    pub warnings: Vec<String>,
    pub mine: Option<MineRow>,
}

#[derive(Serialize)]
pub struct BootstrapInfo {
    pub replicates: usize,
    pub skipped: usize,
    pub seed: u64,
    pub level: f64,
}

/// LUNA16's CSVs (read by radlab-metrics, which names the file, line and
/// column of any problem).
fn problem_from_csv(
    cands: &Path,
    annots: &Path,
    uids: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<Problem> {
    let l = radlab_metrics::luna16::read(cands, annots, uids).map_err(|e| bad(e.to_string()))?;
    if !l.listed {
        warnings.push(
            "no seriesuid list: only scans named in the CSVs are counted; a scan with neither nodules nor candidates adds nothing to false positives per scan".into(),
        );
    }
    Ok(Problem {
        scan_ids: l.scan_ids,
        candidates: l.candidates,
        lesions: l.lesions,
        labels: None,
        source: format!(
            "{} + {}",
            kit::display_path(cands),
            kit::display_path(annots)
        ),
        model: None,
    })
}

fn problem_from_model(
    opts: &Options,
    load: &mut Loader<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<Problem> {
    let scans = radlab_eval::labelled_sample_scans(
        &(0..opts.negatives as u64)
            .map(|k| 901 + k)
            .collect::<Vec<_>>(),
    )?;
    let mut model = load("nodule_segmenter")?;
    let mut classifier = match opts.score {
        Score::Classifier => Some(load("nodule_classifier")?),
        Score::Peak => None,
    };
    let mut candidates = Vec::new();
    let mut lesions = Vec::new();
    let mut labels = Vec::new();
    let mut ids = Vec::new();
    for (i, s) in scans.iter().enumerate() {
        let (nz, ny, nx) = s.hu.dim();
        progress(&format!("segmenting {} ({nz} x {ny} x {nx})", s.id));
        let prob = radlab_eval::segment(&mut model, s.hu.view(), &mut |_, _| {})?;
        let mut found = radlab_eval::detect::find_candidates(
            prob.view(),
            opts.candidate_threshold,
            s.spacing,
            opts.detections,
            i,
        )?;
        if let Some(c) = classifier.as_mut() {
            radlab_eval::detect::rescore(c, s.hu.view(), &mut found)?;
        }
        candidates.extend(found);
        lesions.extend(lesions_from_labels(s.labels.view(), s.spacing, i));
        labels.push(s.labels.clone());
        ids.push(s.id.clone());
    }
    Ok(Problem {
        scan_ids: ids,
        candidates,
        lesions,
        labels: Some(labels),
        source: format!(
            "bundled segmenter on {} sample cases + {} generated scans without nodules; candidates scored by {}",
            scans.len() - opts.negatives,
            opts.negatives,
            match opts.score {
                Score::Classifier => "the bundled classifier",
                Score::Peak => "the segmenter's peak probability",
            }
        ),
        model: Some((model.card().name.clone(), model.placement().to_string())),
    })
}

fn results(p: &Problem, rule: HitRule) -> Result<Vec<ScanResult>> {
    if rule == HitRule::InsideMask && p.labels.is_none() {
        bail!(bad(
            "the inside-mask hit rule needs label masks, which LUNA16 CSVs do not have; use the within-radius rule".into()
        ));
    }
    Ok(evaluate(
        &p.candidates,
        &p.lesions,
        p.scan_ids.len(),
        rule,
        |s| p.labels.as_ref().and_then(|l| l.get(s)).map(|m| m.view()),
    )?)
}

/// The learner's CPM: their hit rule (radius), their counting at every threshold, their CPM.
fn mine(p: &Problem, rule: HitRule, reference_cpm: f64) -> MineRow {
    use crate::tasks::{Detection, EXERCISE, Scan};
    let r = radlab_grade::quietly(|| {
        let mut scans = Vec::new();
        for s in 0..p.scan_ids.len() {
            let c: Vec<&Candidate> = p.candidates.iter().filter(|c| c.scan == s).collect();
            let l: Vec<&Lesion> = p.lesions.iter().filter(|l| l.scan == s).collect();
            let hits = if rule == HitRule::WithinRadius {
                let pos: Vec<[f64; 3]> = c.iter().map(|c| c.position_mm).collect();
                let nod: Vec<([f64; 3], f64)> =
                    l.iter().map(|l| (l.center_mm, 2.0 * l.radius_mm)).collect();
                (EXERCISE.match_radius)(&pos, &nod)
            } else {
                let owned: Vec<Candidate> = c.iter().map(|c| (*c).clone()).collect();
                let les: Vec<Lesion> = l.iter().map(|l| (*l).clone()).collect();
                radlab_metrics::detection::assign(
                    &owned,
                    &les,
                    rule,
                    p.labels.as_ref().and_then(|m| m.get(s)).map(|m| m.view()),
                )
                .unwrap_or_default()
            };
            scans.push(Scan {
                detections: c
                    .iter()
                    .zip(hits)
                    .map(|(c, h)| Detection {
                        score: c.score,
                        lesion: h,
                    })
                    .collect(),
                lesions: l.len(),
            });
        }
        let mut thresholds: Vec<f64> = p.candidates.iter().map(|c| c.score).collect();
        thresholds.sort_by(|a, b| b.total_cmp(a));
        thresholds.dedup();
        let mut curve = vec![(0.0, 0.0)];
        curve.extend(thresholds.iter().map(|&t| (EXERCISE.froc_point)(&scans, t)));
        (EXERCISE.cpm)(&curve)
    });
    match r {
        Some(v) => MineRow {
            cpm: Some(v),
            agrees: (v - reference_cpm).abs() <= 1e-9,
            note: "your match-radius, froc-count at every threshold and cpm".into(),
        },
        None => MineRow {
            cpm: None,
            agrees: false,
            note: "your exercise functions panicked or are not implemented yet: run `cargo run -p lab-froc -- grade`".into(),
        },
    }
}

fn write_csvs(p: &Problem, out: &Path) -> Result<Vec<PathBuf>> {
    let csv = radlab_metrics::luna16::to_csv(&p.scan_ids, &p.candidates, &p.lesions);
    let files = [
        ("candidates.csv", csv.candidates),
        ("annotations.csv", csv.annotations),
        ("seriesuids.csv", csv.seriesuids),
    ];
    let mut paths = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        radlab_fsio::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}
/// Run the pipeline; `load` provides the bundled models in model mode and
/// `progress` hears of each scan as it starts. Returns the report and the
/// LUNA16 bootstrap intervals the narration draws on.
pub fn run(
    opts: &Options,
    load: &mut Loader<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(Report, FrocCi)> {
    let rule = opts.hit_rule;
    let mut warnings = Vec::new();
    let csv_mode = opts.candidates.is_some();
    let p = match (&opts.candidates, &opts.annotations) {
        (Some(c), Some(a)) => problem_from_csv(c, a, opts.seriesuids.as_deref(), &mut warnings)?,
        _ => problem_from_model(opts, load, progress)?,
    };
    let res = results(&p, rule)?;
    let curve = froc(&res)?;
    let level = 0.95;
    let ci_l = bootstrap_ci(&res, &LUNA16, opts.bootstrap, level, opts.seed)?;
    let ci_c = bootstrap_ci(&res, &CAMELYON16, opts.bootstrap, level, opts.seed)?;
    let operating_points: Vec<OperatingPoint> = ci_l
        .points
        .iter()
        .map(|&(f, lo, hi)| OperatingPoint {
            fps_per_scan: f,
            sensitivity: curve.sensitivity_at(f),
            ci_low: lo,
            ci_high: hi,
            luna16: true,
            camelyon16: CAMELYON16.contains(&f),
        })
        .collect();

    // The same detections under other conventions.
    let mut conventions = vec![Convention {
        name: "radlab",
        what: format!(
            "{} hit rule, duplicates once, every scan counted, sensitivity pooled over lesions",
            rule_name(rule)
        ),
        cpm: curve.cpm(),
        camelyon16: curve.score(&CAMELYON16),
    }];
    if !csv_mode {
        let other = if rule == HitRule::WithinRadius {
            HitRule::InsideMask
        } else {
            HitRule::WithinRadius
        };
        let o = froc(&results(&p, other)?)?;
        conventions.push(Convention {
            name: "other hit rule",
            what: format!("{} hit rule instead", rule_name(other)),
            cpm: o.cpm(),
            camelyon16: o.score(&CAMELYON16),
        });
    }
    let dup = froc(&evaluate_duplicates_as_fps(
        &p.candidates,
        &p.lesions,
        p.scan_ids.len(),
        rule,
        |s| p.labels.as_ref().and_then(|l| l.get(s)).map(|m| m.view()),
    )?)?;
    conventions.push(Convention {
        name: "duplicates as FPs",
        what: "every extra candidate on a found lesion counted as a false positive".into(),
        cpm: dup.cpm(),
        camelyon16: dup.score(&CAMELYON16),
    });
    let positives: Vec<ScanResult> = res
        .iter()
        .filter(|r| !r.lesion_scores.is_empty())
        .cloned()
        .collect();
    let pos = froc(&positives)?;
    conventions.push(Convention {
        name: "negatives dropped",
        what: format!(
            "the {} scans without lesions left out",
            res.len() - positives.len()
        ),
        cpm: pos.cpm(),
        camelyon16: pos.score(&CAMELYON16),
    });
    let (m_l, m_c) = monai_scores(&res);
    conventions.push(Convention {
        name: "MONAI curve",
        what: "MONAI 1.6.1 compute_froc_curve_data (lowest score never a threshold) + compute_froc_score".into(),
        cpm: m_l,
        camelyon16: m_c,
    });

    // Pooled vs per-scan sensitivity with every candidate kept.
    let last = curve.points.last().map_or(f64::NAN, |p| p.sensitivity);
    let per_scan: Vec<f64> = positives
        .iter()
        .map(|r| r.lesion_scores.iter().flatten().count() as f64 / r.lesion_scores.len() as f64)
        .collect();
    let per_scan_mean = per_scan.iter().sum::<f64>() / per_scan.len() as f64;

    let scans: Vec<ScanRow> = res
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let n = p.candidates.iter().filter(|c| c.scan == i).count();
            let found = r.lesion_scores.iter().flatten().count();
            ScanRow {
                id: p.scan_ids[i].clone(),
                lesions: r.lesion_scores.len(),
                candidates: n,
                lesions_found: found,
                false_positives: r.fp_scores.len(),
                duplicate_hits: n - r.fp_scores.len() - found,
            }
        })
        .collect();

    kit::prepare_out_dir(&opts.out)?;
    let mut files = Vec::new();
    if !csv_mode {
        files.extend(write_csvs(&p, &opts.out)?);
    }
    let png = opts.out.join("froc.png");
    let svg = opts.out.join("froc.svg");
    write_chart(
        &chart(&curve, &operating_points),
        &png,
        Some(&svg),
        (800, 560),
    )?;
    files.push(png);
    files.push(svg);
    let mine = opts.mine.then(|| mine(&p, rule, curve.cpm()));
    let report = Report {
        source: p.source.clone(),
        model: p.model.as_ref().map(|m| m.0.clone()),
        device: p.model.as_ref().map(|m| m.1.clone()),
        hit_rule: rule,
        candidate_threshold: (!csv_mode).then_some(opts.candidate_threshold),
        detections: (!csv_mode).then_some(opts.detections),
        lesions: curve.lesions,
        candidates: p.candidates.len(),
        scans,
        cpm: curve.cpm(),
        cpm_ci: ci_l.score,
        camelyon16: curve.score(&CAMELYON16),
        camelyon16_ci: ci_c.score,
        bootstrap: BootstrapInfo {
            replicates: ci_l.replicates,
            skipped: ci_l.skipped,
            seed: ci_l.seed,
            level,
        },
        operating_points,
        pooled_vs_per_scan: (last, per_scan_mean),
        conventions,
        files: files.iter().map(|f| kit::display_path(f)).collect(),
        warnings,
        curve,
        mine,
    };
    Ok((report, ci_l))
}

/// How the report names a hit rule.
pub fn rule_name(r: HitRule) -> &'static str {
    match r {
        HitRule::WithinRadius => "within-radius (LUNA16)",
        HitRule::InsideMask => "inside-mask (CAMELYON16, MONAI)",
    }
}

fn chart(curve: &Froc, ops: &[OperatingPoint]) -> Chart {
    let pts: Vec<(f64, f64)> = curve
        .points
        .iter()
        .map(|p| (p.fps_per_scan, p.sensitivity))
        .collect();
    // The axis covers the whole curve (every candidate kept can mean many
    // false positives per scan), and at least LUNA16's 1/8..8.
    let max_fp = pts.iter().map(|p| p.0).fold(8.0f64, f64::max);
    let x_max = 2f64.powf(max_fp.log2().ceil()).max(16.0);
    let at = |ops: &[f64]| {
        ops.iter()
            .map(|&f| (f, curve.sensitivity_at(f)))
            .collect::<Vec<_>>()
    };
    Chart {
        title: format!(
            "FROC: {} lesions, {} scans; CPM {:.3}",
            curve.lesions,
            curve.scans,
            curve.cpm()
        ),
        x_label: "false positives per scan (log scale)".into(),
        y_label: "sensitivity (lesions found / all lesions)".into(),
        x_range: (1.0 / 16.0, x_max),
        y_range: (0.0, 1.02),
        log_x: true,
        series: vec![
            Series::new("FROC curve", pts, (200, 40, 40), true, 0),
            Series::new("LUNA16 points (CPM)", at(&LUNA16), (30, 80, 200), false, 6),
            Series::new(
                "CAMELYON16 points",
                at(&CAMELYON16),
                (240, 150, 20),
                false,
                3,
            ),
        ],
        bands: vec![Band {
            name: "95% bootstrap interval (scans resampled)".into(),
            points: ops
                .iter()
                .map(|o| (o.fps_per_scan, o.ci_low, o.ci_high))
                .collect(),
            color: (30, 80, 200),
        }],
    }
}
