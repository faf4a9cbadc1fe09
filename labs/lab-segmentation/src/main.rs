//! lab-segmentation: what Dice, IoU and HD95 say about a nodule segmenter,
//! and what they hide.
//!
//! Topics B2 (voxel masks vs image labels) and W1 (Dice evaluation in an
//! end-to-end pipeline). Run with no arguments for the bundled sample cases
//! plus generated scans without nodules.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use lab_segmentation::pipeline::{CaseRow, Report};
use radlab_eval::LabelledScan;
use radlab_labkit as kit;

#[derive(ClapArgs, Debug)]
struct Args {
    /// Your CT series (a DICOM file or folder); needs --labels. Default: the sample cases.
    #[arg(long, requires = "labels")]
    input: Option<PathBuf>,
    /// SeriesInstanceUID to load when the folder holds several series.
    #[arg(long, requires = "input")]
    series: Option<String>,
    /// The label mask of --input: a NumPy .npy array [z, y, x] on the series' grid, 0 background, a positive value per lesion.
    #[arg(long, requires = "input")]
    labels: Option<PathBuf>,
    /// Probability at or above which a voxel is called nodule.
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
    /// Surface Dice tolerance in mm.
    #[arg(long, default_value_t = 2.0)]
    tolerance: f64,
    /// Seeds of generated scans without nodules added to the sample cases,
    /// comma-separated; `--negatives` alone adds none. The default pair shows
    /// both kinds of empty reference: the model marks a spot in 901 and
    /// nothing it keeps in 908.
    #[arg(long, value_delimiter = ',', num_args = 0.., default_values_t = [901u64, 908])]
    negatives: Vec<u64>,
    /// Predicted components smaller than this many mm³ are removed before
    /// scoring (113 mm³, a 6 mm sphere, is where Lung-RADS v2022 starts
    /// following a solid nodule); 0 keeps every component.
    #[arg(long, default_value_t = 113.0, value_name = "MM3")]
    min_volume: f64,
    /// Output folder for overlays and report.json.
    #[arg(long, default_value = "out/lab-segmentation")]
    out: PathBuf,
    /// Print one JSON document on stdout instead of the narrated report.
    #[arg(long)]
    json: bool,
    /// Also score with your exercise functions (src/exercise.rs) and compare.
    #[arg(long)]
    mine: bool,
    #[command(flatten)]
    infer: kit::InferArgs,
}

radlab_labkit::lab_main! {
    /// Segment nodules with the bundled model, score the masks against the
    /// ground truth (Dice, IoU, sensitivity, precision, HD95, ASSD, surface
    /// Dice, all in mm), compare the empty-mask conventions and draw overlays.
    /// Subcommands grade your exercise file (src/exercise.rs).
    lab_segmentation
}

/// The cases that make the three means differ, named: scans without a
/// reference nodule are where the conventions part ways.
fn why_means_differ(cases: &[CaseRow]) -> Vec<String> {
    let ids = |f: &dyn Fn(&CaseRow) -> bool| -> Vec<&str> {
        cases
            .iter()
            .filter(|c| f(c))
            .map(|c| c.id.as_str())
            .collect()
    };
    let both_empty = ids(&|c| c.reference_voxels == 0 && c.predicted_voxels == 0);
    let false_alarm = ids(&|c| c.reference_voxels == 0 && c.predicted_voxels > 0);
    let list = |v: &[&str]| v.join(", ");
    let mut out = Vec::new();
    if both_empty.is_empty() && false_alarm.is_empty() {
        out.push("Every scan has a reference nodule, so the three conventions agree: they differ only on empty references.".to_string());
        return out;
    }
    out.push(format!(
        "Why they differ: monai-ignore-empty skips every scan without a reference nodule ({}).",
        list(&ids(&|c| c.reference_voxels == 0))
    ));
    if !false_alarm.is_empty() {
        out.push(format!(
            "  nnunet and empty-is-one count the false positives on {} as Dice 0.",
            list(&false_alarm)
        ));
    }
    if both_empty.is_empty() {
        out.push(
            "  No scan has both masks empty, so nnunet and empty-is-one agree here.".to_string(),
        );
    } else {
        out.push(format!(
            "  Where both masks are empty ({}), nnunet skips the scan and empty-is-one counts it as Dice 1.",
            list(&both_empty)
        ));
    }
    out
}

fn run(args: Args) -> Result<()> {
    args.infer.check()?;
    kit::check_open_probability("--threshold", args.threshold.into())?;
    kit::check_non_negative("--min-volume", args.min_volume, "a volume in mm³")?;
    if !(args.tolerance.is_finite() && args.tolerance > 0.0) {
        bail!(kit::BadInput(format!(
            "--tolerance {}: must be a positive number of mm",
            args.tolerance
        )));
    }
    let scans: Vec<LabelledScan> = match (&args.input, &args.labels) {
        (Some(i), Some(l)) => vec![radlab_eval::user_scan(
            kit::load_volume(i, args.series.as_deref())?.0,
            i,
            l,
        )?],
        _ => radlab_eval::labelled_sample_scans(&args.negatives)?,
    };
    let mut model = args.infer.load("nodule_segmenter")?;
    let report = lab_segmentation::pipeline::run(
        &lab_segmentation::pipeline::Options {
            threshold: args.threshold,
            tolerance_mm: args.tolerance,
            min_volume_mm3: args.min_volume,
            out: args.out.clone(),
            mine: args.mine,
        },
        &scans,
        &mut model,
        &mut |line| eprintln!("{line}"),
    )?;
    kit::write_json(&args.out.join("report.json"), &report)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        narrate(&report, &args);
    }
    if args.mine
        && report
            .cases
            .iter()
            .any(|c| c.mine.as_ref().is_some_and(|m| !m.agrees))
    {
        bail!(
            "--mine: your Dice or HD95 differs from the reference on at least one case (see the table); run `cargo run -p lab-segmentation -- grade`"
        );
    }
    Ok(())
}

fn num(v: f64, digits: usize) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        "inf".into()
    } else {
        format!("{v:.digits$}")
    }
}

fn narrate(r: &Report, args: &Args) {
    println!(
        "lab-segmentation: {} on {}, threshold {}, components under {} mm³ removed",
        r.model, r.device, r.threshold, r.min_volume_mm3
    );
    for w in &r.warnings {
        println!("warning: {w}");
    }
    println!();
    println!(
        "{:<14} {:>7} {:>10} {:>7} {:>7} {:>6} {:>9} {:>8} {:>8} {:>8}",
        "case",
        "lesions",
        "components",
        "Dice",
        "IoU",
        "sens",
        "HD95 mm",
        "ASSD mm",
        "HD mm",
        format!("SD@{}mm", r.tolerance_mm)
    );
    for c in &r.cases {
        // Dice and IoU under the nnU-Net convention in the table; all three below.
        println!(
            "{:<14} {:>7} {:>10} {:>7} {:>7} {:>6} {:>9} {:>8} {:>8} {:>8}",
            c.id,
            c.reference_lesions,
            c.predicted_components,
            num(c.dice[1].1, 3),
            num(c.iou[1].1, 3),
            num(c.sensitivity, 2),
            num(c.hd95_mm, 2),
            num(c.assd_mm, 2),
            num(c.hausdorff_mm, 1),
            num(c.surface_dice, 3),
        );
    }
    println!(
        "(lesions: reference nodules; components: connected regions of the prediction kept, 26-connected, not lesions matched; Dice/IoU here use the nnU-Net convention)"
    );
    let removed: usize = r.cases.iter().map(|c| c.removed_components).sum();
    if removed > 0 {
        let on: u64 = r.cases.iter().map(|c| c.removed_true_voxels).sum();
        let off: u64 = r.cases.iter().map(|c| c.removed_false_voxels).sum();
        println!(
            "Post-processing removed {removed} components under {} mm³: {off} voxels off the reference nodules and {on} on them (--min-volume 0 keeps them).",
            r.min_volume_mm3
        );
    }
    println!();
    println!("Mean over cases under each empty-mask convention:");
    for m in &r.means {
        println!(
            "  {:<20} Dice {:>6}  IoU {:>6}  over {} of {} cases  ({})",
            m.policy,
            num(m.mean_dice, 4),
            num(m.mean_iou, 4),
            m.cases_counted,
            r.cases.len(),
            m.description
        );
    }
    for line in why_means_differ(&r.cases) {
        println!("  {line}");
    }
    println!(
        "Mean HD95 {} mm over the {} cases where both masks are non-empty (HD95 is infinite or undefined otherwise).",
        num(r.mean_hd95_mm, 2),
        r.hd95_cases_counted
    );
    if r.cases.iter().any(|c| c.mine.is_some()) {
        println!();
        println!("Your exercise functions (nnU-Net convention for Dice):");
        for c in &r.cases {
            if let Some(m) = &c.mine {
                let show = |v: Option<f64>, d| v.map_or("panicked".to_string(), |v| num(v, d));
                println!(
                    "  {:<14} Dice {} (reference {})  HD95 {} (reference {})  {}",
                    c.id,
                    show(m.dice, 4),
                    num(c.dice[1].1, 4),
                    show(m.hd95_mm, 3),
                    num(c.hd95_mm, 3),
                    if m.agrees { "agrees" } else { "DIFFERS" }
                );
            }
        }
    }
    println!();
    println!(
        "Overlays (lung window; reference outline green, prediction red) and report.json in {}",
        kit::display_path(&args.out)
    );
    println!("Exercises: cargo run -p lab-segmentation -- grade");
}
