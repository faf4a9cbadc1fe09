//! lab-froc: from a probability map to a FROC curve and a CPM, and how each
//! counting convention moves the number.
//!
//! Topic I1 (evaluating a lung-nodule detector: per-nodule sensitivity,
//! FROC). Run with no arguments for the bundled segmenter on the sample
//! cases plus generated scans without nodules; or score your own detections
//! with `--candidates` and `--annotations` (LUNA16's CSV layout).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use lab_froc::pipeline::{Detections, Report, ScanRow, Score, rule_name};
use radlab_labkit as kit;
use radlab_metrics::detection::FrocCi;
use radlab_metrics::detection::HitRule;

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
    hit_rule: HitRule,
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

radlab_labkit::lab_main! {
    /// Detect nodules with the bundled segmenter (components of its probability
    /// map), match them to the reference, draw the FROC curve and report
    /// sensitivity at LUNA16's and CAMELYON16's operating points with bootstrap
    /// intervals, the CPM, and the same detections scored under other
    /// conventions. Subcommands grade your exercise file (src/exercise.rs).
    lab_froc
}

use radlab_labkit::bad_input as bad;

fn run(args: Args) -> Result<()> {
    args.infer.check()?;
    kit::check_open_probability("--candidate-threshold", args.candidate_threshold.into())?;
    if args.bootstrap == 0 {
        bail!(bad("--bootstrap 0: at least one replicate is needed".into()));
    }
    if args.candidates.is_some() && args.hit_rule == HitRule::InsideMask {
        bail!(bad(
            "--hit-rule mask needs label masks, which LUNA16 CSVs do not have; with --candidates/--annotations use --hit-rule radius".into()
        ));
    }
    let opts = lab_froc::pipeline::Options {
        candidates: args.candidates.clone(),
        annotations: args.annotations.clone(),
        seriesuids: args.seriesuids.clone(),
        negatives: args.negatives,
        candidate_threshold: args.candidate_threshold,
        score: args.score,
        detections: args.detections,
        hit_rule: args.hit_rule,
        bootstrap: args.bootstrap,
        seed: args.seed,
        out: args.out.clone(),
        mine: args.mine,
    };
    let (report, ci_l) =
        lab_froc::pipeline::run(&opts, &mut |name| args.infer.load(name), &mut |line| {
            eprintln!("{line}")
        })?;
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
        if w.starts_with("no seriesuid list") {
            println!(
                "         (--seriesuids FILE lists every scan evaluated, one seriesuid per line)"
            );
        }
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
