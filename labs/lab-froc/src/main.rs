//! lab-froc: from a probability map to a FROC curve and a CPM, and how each
//! counting convention moves the number.
//!
//! Topic I1 (evaluating a lung-nodule detector: per-nodule sensitivity,
//! FROC). Run with no arguments for the bundled segmenter on the sample
//! cases plus generated scans without nodules; or score your own detections
//! with `--candidates` and `--annotations` (LUNA16's CSV layout).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Parser, ValueEnum};
use radlab_labkit as kit;
use radlab_labkit::charts::{Band, Chart, Series, write_chart};
use radlab_metrics::detection::{
    CAMELYON16, Candidate, CandidatePosition, Froc, FrocCi, HitRule, LUNA16, Lesion, ScanResult,
    bootstrap_ci, candidates_from_probability, evaluate, froc, lesions_from_labels,
    monai_froc_curve_data, monai_froc_score,
};
use radlab_metrics::segmentation::Connectivity;
use serde::Serialize;

/// Detect nodules with the bundled segmenter (components of its probability
/// map), match them to the reference, draw the FROC curve and report
/// sensitivity at LUNA16's and CAMELYON16's operating points with bootstrap
/// intervals, the CPM, and the same detections scored under other
/// conventions. Subcommands grade your exercise file (src/exercise.rs).
#[derive(Parser, Debug)]
#[command(name = "lab-froc", version, about, long_about = None, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<kit::LabCommand>,
    /// Show library log messages on stderr (-v warnings, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(flatten)]
    run: Args,
}

#[derive(Copy, Clone, Debug, PartialEq, ValueEnum)]
enum Rule {
    /// Within the lesion's radius of its centre (LUNA16).
    Radius,
    /// The candidate's peak voxel inside the lesion's mask (CAMELYON16, MONAI).
    Mask,
}

impl From<Rule> for HitRule {
    fn from(r: Rule) -> Self {
        match r {
            Rule::Radius => HitRule::WithinRadius,
            Rule::Mask => HitRule::InsideMask,
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Score {
    /// The bundled classifier's nodule probability on an axial patch at the candidate (false-positive reduction).
    Classifier,
    /// The segmenter's highest probability in the component.
    Peak,
}

/// How the probability map becomes candidates in model mode.
#[derive(Copy, Clone, Debug, PartialEq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Detections {
    /// Per axial slice, as a 2-D detector reports them: a nodule seen on
    /// five slices is five candidates (the duplicates the hit rules must handle).
    Slice,
    /// Per 3-D component: one candidate per connected region.
    Volume,
}

#[derive(ClapArgs, Debug)]
struct Args {
    /// Your detections, LUNA16 layout: a CSV with columns seriesuid, coordX, coordY, coordZ (mm), probability. Needs --annotations.
    #[arg(long, requires = "annotations")]
    candidates: Option<PathBuf>,
    /// The reference nodules, LUNA16 layout: seriesuid, coordX, coordY, coordZ, diameter_mm. Needs --candidates.
    #[arg(long, requires = "candidates")]
    annotations: Option<PathBuf>,
    /// Every scan evaluated, one seriesuid per line (a "seriesuid" header is allowed); without it, the scans named in the two CSVs.
    #[arg(long, requires = "annotations")]
    seriesuids: Option<PathBuf>,
    /// Generated scans without nodules added to the sample cases (seeds 901, 902, ...).
    #[arg(long, default_value_t = 4)]
    negatives: usize,
    /// Probability at or above which voxels form candidates.
    #[arg(long, default_value_t = 0.2)]
    candidate_threshold: f32,
    /// How candidates are scored (ranked) in model mode.
    #[arg(long, value_enum, default_value = "classifier")]
    score: Score,
    /// How candidates are found in model mode: per axial slice (a 2-D detector) or per 3-D component.
    #[arg(long, value_enum, default_value = "slice")]
    detections: Detections,
    /// When a candidate hits a lesion.
    #[arg(long, value_enum, default_value = "radius")]
    hit_rule: Rule,
    /// Bootstrap replicates (resampling scans) for the confidence intervals.
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 20261129)]
    seed: u64,
    /// Output folder for the curve (PNG, SVG), the CSVs and report.json.
    #[arg(long, default_value = "out/lab-froc")]
    out: PathBuf,
    /// Print one JSON document on stdout instead of the narrated report.
    #[arg(long)]
    json: bool,
    /// Also compute the CPM with your exercise functions (src/exercise.rs) and compare.
    #[arg(long)]
    mine: bool,
    #[command(flatten)]
    infer: kit::InferArgs,
}

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
struct ScanRow {
    id: String,
    lesions: usize,
    candidates: usize,
    lesions_found: usize,
    false_positives: usize,
    duplicate_hits: usize,
}

#[derive(Serialize)]
struct OperatingPoint {
    fps_per_scan: f64,
    sensitivity: f64,
    ci_low: f64,
    ci_high: f64,
    luna16: bool,
    camelyon16: bool,
}

#[derive(Serialize)]
struct Convention {
    name: &'static str,
    what: String,
    cpm: f64,
    camelyon16: f64,
}

#[derive(Serialize)]
struct MineRow {
    cpm: Option<f64>,
    agrees: bool,
    note: String,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
struct Report {
    source: String,
    model: Option<String>,
    device: Option<String>,
    hit_rule: HitRule,
    candidate_threshold: Option<f32>,
    /// How candidates were found (model mode).
    detections: Option<Detections>,
    scans: Vec<ScanRow>,
    lesions: usize,
    candidates: usize,
    curve: Froc,
    operating_points: Vec<OperatingPoint>,
    cpm: f64,
    cpm_ci: (f64, f64),
    camelyon16: f64,
    camelyon16_ci: (f64, f64),
    bootstrap: BootstrapInfo,
    pooled_vs_per_scan: (f64, f64),
    conventions: Vec<Convention>,
    files: Vec<String>,
    warnings: Vec<String>,
    mine: Option<MineRow>,
}

#[derive(Serialize)]
struct BootstrapInfo {
    replicates: usize,
    skipped: usize,
    seed: u64,
    level: f64,
}

radlab_labkit::lab_main!(lab_froc);

fn bad(msg: String) -> anyhow::Error {
    anyhow::Error::new(kit::BadInput(msg))
}

/// Read a CSV into rows of named columns, naming the file and line on errors.
fn read_csv(path: &Path, columns: &[&str]) -> Result<Vec<(usize, Vec<String>)>> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let header = r
        .headers()
        .map_err(|e| bad(format!("{}: {e}", path.display())))?
        .clone();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            header.iter().position(|h| h == *c).ok_or_else(|| {
                bad(format!(
                    "{}: no column {c:?} (the header has: {})",
                    path.display(),
                    header.iter().collect::<Vec<_>>().join(", ")
                ))
            })
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| bad(format!("{} line {line}: {e}", path.display())))?;
        out.push((
            line,
            idx.iter()
                .map(|&k| rec.get(k).unwrap_or("").to_string())
                .collect(),
        ));
    }
    Ok(out)
}

fn number(path: &Path, line: usize, col: &str, v: &str) -> Result<f64> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(bad(format!(
            "{} line {line}: {col} {v:?} is not a finite number",
            path.display()
        ))),
    }
}

/// LUNA16's CSVs: positions (x, y, z) mm become radlab's (z, y, x).
fn problem_from_csv(
    cands: &Path,
    annots: &Path,
    uids: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<Problem> {
    let a = read_csv(
        annots,
        &["seriesuid", "coordX", "coordY", "coordZ", "diameter_mm"],
    )?;
    let c = read_csv(
        cands,
        &["seriesuid", "coordX", "coordY", "coordZ", "probability"],
    )?;
    let mut ids: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut add = |id: &str, ids: &mut Vec<String>| -> usize {
        *index.entry(id.to_string()).or_insert_with(|| {
            ids.push(id.to_string());
            ids.len() - 1
        })
    };
    let listed = if let Some(u) = uids {
        let text = std::fs::read_to_string(u).map_err(|e| bad(format!("{}: {e}", u.display())))?;
        for l in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "seriesuid")
        {
            add(l, &mut ids);
        }
        if ids.is_empty() {
            bail!(bad(format!("{}: no seriesuid listed", u.display())));
        }
        true
    } else {
        false
    };
    let mut lookup = |id: &str, path: &Path, line: usize, ids: &mut Vec<String>| -> Result<usize> {
        if listed {
            ids.iter().position(|x| x == id).ok_or_else(|| {
                bad(format!(
                    "{} line {line}: seriesuid {id} is not in the --seriesuids list",
                    path.display()
                ))
            })
        } else {
            Ok(add(id, ids))
        }
    };
    let mut lesions = Vec::new();
    for (line, row) in &a {
        let scan = lookup(&row[0], annots, *line, &mut ids)?;
        let (x, y, z) = (
            number(annots, *line, "coordX", &row[1])?,
            number(annots, *line, "coordY", &row[2])?,
            number(annots, *line, "coordZ", &row[3])?,
        );
        let d = number(annots, *line, "diameter_mm", &row[4])?;
        if d <= 0.0 {
            bail!(bad(format!(
                "{} line {line}: diameter_mm {d} must be positive",
                annots.display()
            )));
        }
        lesions.push(Lesion {
            scan,
            label: 0,
            center_mm: [z, y, x],
            radius_mm: d / 2.0,
        });
    }
    let mut candidates = Vec::new();
    for (line, row) in &c {
        let scan = lookup(&row[0], cands, *line, &mut ids)?;
        let (x, y, z) = (
            number(cands, *line, "coordX", &row[1])?,
            number(cands, *line, "coordY", &row[2])?,
            number(cands, *line, "coordZ", &row[3])?,
        );
        candidates.push(Candidate {
            scan,
            voxel: [0; 3],
            position_mm: [z, y, x],
            score: number(cands, *line, "probability", &row[4])?,
            volume_mm3: 0.0,
        });
    }
    if lesions.is_empty() {
        bail!(bad(format!(
            "{}: no nodules listed; sensitivity is undefined",
            annots.display()
        )));
    }
    if !listed {
        warnings.push(
            "no --seriesuids list: only scans named in the CSVs are counted; a scan with neither nodules nor candidates adds nothing to false positives per scan".into(),
        );
    }
    Ok(Problem {
        scan_ids: ids,
        candidates,
        lesions,
        labels: None,
        source: format!(
            "{} + {}",
            kit::display_path(cands),
            kit::display_path(annots)
        ),
        model: None,
    })
}

fn problem_from_model(args: &Args) -> Result<Problem> {
    let scans = kit::models::labelled_sample_scans(
        &(0..args.negatives as u64)
            .map(|k| 901 + k)
            .collect::<Vec<_>>(),
    )?;
    let mut model = args.infer.load("nodule_segmenter")?;
    let mut classifier = match args.score {
        Score::Classifier => Some(args.infer.load("nodule_classifier")?),
        Score::Peak => None,
    };
    let mut candidates = Vec::new();
    let mut lesions = Vec::new();
    let mut labels = Vec::new();
    let mut ids = Vec::new();
    for (i, s) in scans.iter().enumerate() {
        let (nz, ny, nx) = s.hu.dim();
        eprintln!("segmenting {} ({nz} x {ny} x {nx})", s.id);
        let prob = kit::models::segment(&mut model, s.hu.view(), &mut |_, _| {})?;
        let mut found = match args.detections {
            Detections::Volume => candidates_from_probability(
                prob.view(),
                args.candidate_threshold,
                s.spacing,
                Connectivity::TwentySix,
                CandidatePosition::Peak,
                i,
            )?,
            Detections::Slice => {
                // Each slice alone (a one-slice volume: 26-connectivity is
                // 8-connectivity in the plane), moved back to its z.
                let mut all = Vec::new();
                for z in 0..nz {
                    let one = prob.slice(ndarray::s![z..z + 1, .., ..]);
                    for mut c in candidates_from_probability(
                        one,
                        args.candidate_threshold,
                        s.spacing,
                        Connectivity::TwentySix,
                        CandidatePosition::Peak,
                        i,
                    )? {
                        c.voxel[0] = z;
                        c.position_mm[0] = z as f64 * s.spacing[0];
                        all.push(c);
                    }
                }
                all
            }
        };
        if let Some(c) = classifier.as_mut() {
            rescore(c, s.hu.view(), &mut found)?;
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
            scans.len() - args.negatives,
            args.negatives,
            match args.score {
                Score::Classifier => "the bundled classifier",
                Score::Peak => "the segmenter's peak probability",
            }
        ),
        model: Some((model.card().name.clone(), model.placement().to_string())),
    })
}

/// Score each candidate by the classifier's nodule probability on the axial
/// patch centred on its peak (shifted inside the image at the borders).
fn rescore(
    model: &mut radlab_infer::Model,
    hu: ndarray::ArrayView3<f32>,
    cands: &mut [Candidate],
) -> Result<()> {
    if cands.is_empty() {
        return Ok(());
    }
    let p = model.card().preprocessing.clone();
    let size = p.patch_size.first().copied().unwrap_or(32);
    let (_, ny, nx) = hu.dim();
    if ny < size || nx < size {
        bail!(bad(format!(
            "the series is {ny} x {nx} in plane, smaller than the classifier's {size} x {size} patch"
        )));
    }
    let mut patches = ndarray::Array3::<f32>::zeros((cands.len(), size, size));
    for (k, c) in cands.iter().enumerate() {
        let y0 = c.voxel[1].saturating_sub(size / 2).min(ny - size);
        let x0 = c.voxel[2].saturating_sub(size / 2).min(nx - size);
        patches
            .index_axis_mut(ndarray::Axis(0), k)
            .assign(&hu.slice(ndarray::s![c.voxel[0], y0..y0 + size, x0..x0 + size]));
    }
    let probs = kit::models::classify(
        model,
        patches.view(),
        kit::models::InputScaling::Window {
            center: p.window_center,
            width: p.window_width,
        },
    )?;
    for (c, q) in cands.iter_mut().zip(probs) {
        c.score = q;
    }
    Ok(())
}

fn results(p: &Problem, rule: HitRule) -> Result<Vec<ScanResult>> {
    if rule == HitRule::InsideMask && p.labels.is_none() {
        bail!(bad("--hit-rule mask needs label masks; with --candidates/--annotations use --hit-rule radius".into()));
    }
    Ok(evaluate(
        &p.candidates,
        &p.lesions,
        p.scan_ids.len(),
        rule,
        |s| p.labels.as_ref().and_then(|l| l.get(s)).map(|m| m.view()),
    )?)
}

/// The same matches with every extra hit on a lesion counted as a false positive.
fn duplicates_as_fps(p: &Problem, rule: HitRule) -> Result<Vec<ScanResult>> {
    let mut out = Vec::new();
    for s in 0..p.scan_ids.len() {
        let c: Vec<Candidate> = p
            .candidates
            .iter()
            .filter(|c| c.scan == s)
            .cloned()
            .collect();
        let l: Vec<Lesion> = p.lesions.iter().filter(|l| l.scan == s).cloned().collect();
        let hits = radlab_metrics::detection::assign(
            &c,
            &l,
            rule,
            p.labels.as_ref().and_then(|m| m.get(s)).map(|m| m.view()),
        )?;
        let mut r = ScanResult {
            fp_scores: Vec::new(),
            lesion_scores: vec![None; l.len()],
        };
        let mut order: Vec<usize> = (0..c.len()).collect();
        order.sort_by(|&a, &b| c[b].score.total_cmp(&c[a].score));
        for i in order {
            match hits[i] {
                Some(k) if r.lesion_scores[k].is_none() => r.lesion_scores[k] = Some(c[i].score),
                _ => r.fp_scores.push(c[i].score),
            }
        }
        out.push(r);
    }
    Ok(out)
}

fn monai_style(res: &[ScanResult]) -> (f64, f64) {
    let fp: Vec<f64> = res
        .iter()
        .flat_map(|r| r.fp_scores.iter().copied())
        .collect();
    let tp: Vec<f64> = res
        .iter()
        .flat_map(|r| r.lesion_scores.iter().map(|v| v.unwrap_or(0.0)))
        .collect();
    let (fps, sens) = monai_froc_curve_data(&fp, &tp, tp.len(), res.len());
    (
        monai_froc_score(&fps, &sens, &LUNA16),
        monai_froc_score(&fps, &sens, &CAMELYON16),
    )
}

/// The learner's CPM: their hit rule (radius), their counting at every threshold, their CPM.
fn mine(p: &Problem, rule: HitRule, reference_cpm: f64) -> MineRow {
    use lab_froc::tasks::{Detection, EXERCISE, Scan};
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| {
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
    std::panic::set_hook(hook);
    match r {
        Ok(v) => MineRow {
            cpm: Some(v),
            agrees: (v - reference_cpm).abs() <= 1e-9,
            note: "your match-radius, froc-count at every threshold and cpm".into(),
        },
        Err(_) => MineRow {
            cpm: None,
            agrees: false,
            note: "your exercise functions panicked or are not implemented yet: run `cargo run -p lab-froc -- grade`".into(),
        },
    }
}

fn write_csvs(p: &Problem, out: &Path) -> Result<Vec<PathBuf>> {
    let mut cand = String::from("seriesuid,coordX,coordY,coordZ,probability\n");
    for c in &p.candidates {
        let q = c.position_mm;
        cand.push_str(&format!(
            "{},{},{},{},{}\n",
            p.scan_ids[c.scan], q[2], q[1], q[0], c.score
        ));
    }
    let mut ann = String::from("seriesuid,coordX,coordY,coordZ,diameter_mm\n");
    for l in &p.lesions {
        let q = l.center_mm;
        ann.push_str(&format!(
            "{},{},{},{},{}\n",
            p.scan_ids[l.scan],
            q[2],
            q[1],
            q[0],
            2.0 * l.radius_mm
        ));
    }
    let mut uids = String::from("seriesuid\n");
    for id in &p.scan_ids {
        uids.push_str(id);
        uids.push('\n');
    }
    let files = [
        ("candidates.csv", cand),
        ("annotations.csv", ann),
        ("seriesuids.csv", uids),
    ];
    let mut paths = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        radlab_dicom::write::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("{}: cannot write", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}

fn run(args: Args) -> Result<()> {
    args.infer.check()?;
    if !(args.candidate_threshold > 0.0 && args.candidate_threshold < 1.0) {
        bail!(bad(format!(
            "--candidate-threshold {}: must be strictly between 0 and 1",
            args.candidate_threshold
        )));
    }
    if args.bootstrap == 0 {
        bail!(bad("--bootstrap 0: at least one replicate is needed".into()));
    }
    let rule: HitRule = args.hit_rule.into();
    let mut warnings = Vec::new();
    let csv_mode = args.candidates.is_some();
    if csv_mode && rule == HitRule::InsideMask {
        bail!(bad("--hit-rule mask needs label masks; with --candidates/--annotations use --hit-rule radius".into()));
    }
    let p = match (&args.candidates, &args.annotations) {
        (Some(c), Some(a)) => problem_from_csv(c, a, args.seriesuids.as_deref(), &mut warnings)?,
        _ => problem_from_model(&args)?,
    };
    let res = results(&p, rule)?;
    let curve = froc(&res)?;
    let level = 0.95;
    let ci_l = bootstrap_ci(&res, &LUNA16, args.bootstrap, level, args.seed)?;
    let ci_c = bootstrap_ci(&res, &CAMELYON16, args.bootstrap, level, args.seed)?;
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
    let dup = froc(&duplicates_as_fps(&p, rule)?)?;
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
    let (m_l, m_c) = monai_style(&res);
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

    kit::prepare_out_dir(&args.out)?;
    let mut files = Vec::new();
    if !csv_mode {
        files.extend(write_csvs(&p, &args.out)?);
    }
    let png = args.out.join("froc.png");
    let svg = args.out.join("froc.svg");
    write_chart(
        &chart(&curve, &operating_points),
        &png,
        Some(&svg),
        (800, 560),
    )?;
    files.push(png);
    files.push(svg);
    let mine = args.mine.then(|| mine(&p, rule, curve.cpm()));
    let report = Report {
        source: p.source.clone(),
        model: p.model.as_ref().map(|m| m.0.clone()),
        device: p.model.as_ref().map(|m| m.1.clone()),
        hit_rule: rule,
        candidate_threshold: (!csv_mode).then_some(args.candidate_threshold),
        detections: (!csv_mode).then_some(args.detections),
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
    kit::write_json(&args.out.join("report.json"), &report)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        narrate(&report, &ci_l);
    }
    if report.mine.as_ref().is_some_and(|m| !m.agrees) {
        bail!(
            "--mine: your CPM differs from the reference (see above); run `cargo run -p lab-froc -- grade`"
        );
    }
    Ok(())
}

fn rule_name(r: HitRule) -> &'static str {
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

/// The scans behind each difference of the conventions table, named.
fn why_conventions_differ(r: &Report) -> Vec<String> {
    let list = |f: &dyn Fn(&ScanRow) -> usize| -> (usize, String) {
        let hits: Vec<String> = r
            .scans
            .iter()
            .filter(|s| f(s) > 0)
            .map(|s| format!("{} {}", s.id, f(s)))
            .collect();
        (r.scans.iter().map(f).sum(), hits.join(", "))
    };
    let cpm = |name: &str| r.conventions.iter().find(|c| c.name == name).map(|c| c.cpm);
    let base = r.cpm;
    let mut out = Vec::new();
    let (dups, where_dups) = list(&|s| s.duplicate_hits);
    if dups > 0 {
        out.push(format!(
            "Duplicates: {dups} extra candidates on lesions already found ({where_dups}); counted once they are ignored, counted as false positives they cost CPM {:.3} -> {:.3}.",
            base,
            cpm("duplicates as FPs").unwrap_or(f64::NAN)
        ));
    } else {
        out.push("Duplicates: no lesion has a second candidate, so counting duplicates as false positives changes nothing.".into());
    }
    let (neg_fp, where_neg) = list(&|s| if s.lesions == 0 { s.false_positives } else { 0 });
    if neg_fp > 0 {
        out.push(format!(
            "Negatives: {neg_fp} false positives on scans without lesions ({where_neg}); dropping those scans removes them and their share of the denominator: CPM {:.3} -> {:.3}.",
            base,
            cpm("negatives dropped").unwrap_or(f64::NAN)
        ));
    }
    if let Some(o) = cpm("other hit rule") {
        out.push(if (o - base).abs() < 5e-4 {
            "Hit rule: every candidate within a lesion's radius also lies inside its mask here, so the two rules agree.".to_string()
        } else {
            format!("Hit rule: some candidates within a lesion's radius lie outside its mask (or the reverse): CPM {base:.3} -> {o:.3}.")
        });
    }
    if let Some(m) = cpm("MONAI curve") {
        out.push(if (m - base).abs() < 5e-4 {
            "MONAI curve: it never thresholds at the lowest score, so it only lacks the curve's last point (every candidate kept); the operating points up to 8 FPs/scan lie before that point here, so the CPM is the same.".to_string()
        } else {
            format!("MONAI curve: without a threshold at the lowest score its curve ends one point early, and that point is within the operating points here: CPM {base:.3} -> {m:.3}.")
        });
    }
    out
}

fn narrate(r: &Report, ci: &FrocCi) {
    println!("lab-froc: {}", r.source);
    if let (Some(m), Some(d)) = (&r.model, &r.device) {
        println!(
            "model {m} on {d}; candidates: p >= {}, {}, each at its peak voxel",
            r.candidate_threshold.unwrap_or(f32::NAN),
            match r.detections {
                Some(Detections::Volume) => "3-D components (26-connected)",
                _ =>
                    "per axial slice (2-D components, 8-connected, as a 2-D detector reports them)",
            },
        );
    }
    println!("hit rule: {}", rule_name(r.hit_rule));
    for w in &r.warnings {
        println!("warning: {w}");
    }
    println!();
    println!(
        "{:<16} {:>7} {:>10} {:>6} {:>8} {:>10}",
        "scan", "lesions", "candidates", "found", "FPs", "duplicates"
    );
    for s in &r.scans {
        println!(
            "{:<16} {:>7} {:>10} {:>6} {:>8} {:>10}",
            s.id, s.lesions, s.candidates, s.lesions_found, s.false_positives, s.duplicate_hits
        );
    }
    println!();
    println!(
        "Sensitivity at each operating point ({}% bootstrap interval over scans, {} replicates, seed {}{}):",
        (ci.level * 100.0).round(),
        ci.replicates,
        ci.seed,
        if ci.skipped > 0 {
            format!(", {} without lesions skipped", ci.skipped)
        } else {
            String::new()
        }
    );
    println!(
        "  {:>10} {:>11} {:>17}  used by",
        "FPs/scan", "sensitivity", "interval"
    );
    for o in &r.operating_points {
        let by = match (o.luna16, o.camelyon16) {
            (true, true) => "LUNA16, CAMELYON16",
            (true, false) => "LUNA16",
            _ => "CAMELYON16",
        };
        println!(
            "  {:>10} {:>11.3} {:>17}  {by}",
            o.fps_per_scan,
            o.sensitivity,
            format!("[{:.3}, {:.3}]", o.ci_low, o.ci_high)
        );
    }
    println!(
        "CPM (LUNA16, 7 points) {:.3} [{:.3}, {:.3}];  CAMELYON16 score (6 points, MONAI's default) {:.3} [{:.3}, {:.3}]",
        r.cpm, r.cpm_ci.0, r.cpm_ci.1, r.camelyon16, r.camelyon16_ci.0, r.camelyon16_ci.1
    );
    println!(
        "With every candidate kept: sensitivity pooled over lesions {:.3}; averaged per scan {:.3}.",
        r.pooled_vs_per_scan.0, r.pooled_vs_per_scan.1
    );
    println!();
    println!("The same detections under other conventions:");
    println!(
        "  {:<20} {:>6} {:>11}  what changes",
        "convention", "CPM", "CAMELYON16"
    );
    for c in &r.conventions {
        println!(
            "  {:<20} {:>6.3} {:>11.3}  {}",
            c.name, c.cpm, c.camelyon16, c.what
        );
    }
    for line in why_conventions_differ(r) {
        println!("  {line}");
    }
    if let Some(m) = &r.mine {
        println!();
        match m.cpm {
            Some(v) => println!(
                "Your CPM: {v:.6} (reference {:.6}): {}; {}",
                r.cpm,
                if m.agrees { "agrees" } else { "DIFFERS" },
                m.note
            ),
            None => println!("Your CPM: {}", m.note),
        }
    }
    println!();
    println!("Written: {}", r.files.join(", "));
    println!("Exercises: cargo run -p lab-froc -- grade");
}
