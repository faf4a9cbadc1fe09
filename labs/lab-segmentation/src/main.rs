//! lab-segmentation: what Dice, IoU and HD95 say about a nodule segmenter,
//! and what they hide.
//!
//! Topics B2 (voxel masks vs image labels) and W1 (Dice evaluation in an
//! end-to-end pipeline). Run with no arguments for the bundled sample cases
//! plus generated scans without nodules.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args as ClapArgs, Parser};
use ndarray::{ArrayView3, Axis};
use radlab_imaging::planes::{overlay_outlines, write_rgb_png};
use radlab_imaging::{VoiFunction, Window};
use radlab_labkit as kit;
use radlab_labkit::models::LabelledScan;
use radlab_metrics::segmentation::{
    Connectivity, Counts, EmptyPolicy, components, nan_mean, surface_metrics,
};
use serde::Serialize;

/// Segment nodules with the bundled model, score the masks against the
/// ground truth (Dice, IoU, sensitivity, precision, HD95, ASSD, surface
/// Dice, all in mm), compare the empty-mask conventions and draw overlays.
/// Subcommands grade your exercise file (src/exercise.rs).
#[derive(Parser, Debug)]
#[command(name = "lab-segmentation", version, about, long_about = None, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<kit::LabCommand>,
    /// Show library log messages on stderr (-v warnings, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(flatten)]
    run: Args,
}

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

/// One scan's scores.
#[derive(Serialize)]
struct CaseRow {
    id: String,
    source: String,
    shape: [usize; 3],
    spacing_mm: [f64; 3],
    reference_voxels: u64,
    predicted_voxels: u64,
    reference_lesions: usize,
    /// Components of the prediction kept (at least `min_volume_mm3`).
    predicted_components: usize,
    /// Components removed for being smaller than `min_volume_mm3`.
    removed_components: usize,
    /// Voxels of the removed components that lie on a reference nodule.
    removed_true_voxels: u64,
    /// Voxels of the removed components elsewhere.
    removed_false_voxels: u64,
    /// Dice under each empty-mask policy, by policy name.
    dice: Vec<(String, f64)>,
    iou: Vec<(String, f64)>,
    sensitivity: f64,
    precision: f64,
    hausdorff_mm: f64,
    hd95_mm: f64,
    assd_mm: f64,
    surface_dice: f64,
    max_probability: f64,
    overlay: String,
    overlay_slice: usize,
    mine: Option<Mine>,
}

/// The learner's numbers next to the reference's.
#[derive(Serialize, Clone)]
struct Mine {
    dice: Option<f64>,
    hd95_mm: Option<f64>,
    agrees: bool,
}

#[derive(Serialize)]
struct PolicyMean {
    policy: String,
    description: &'static str,
    mean_dice: f64,
    mean_iou: f64,
    cases_counted: usize,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
struct Report {
    model: String,
    device: String,
    threshold: f32,
    tolerance_mm: f64,
    min_volume_mm3: f64,
    cases: Vec<CaseRow>,
    means: Vec<PolicyMean>,
    mean_hd95_mm: f64,
    hd95_cases_counted: usize,
    warnings: Vec<String>,
}

radlab_labkit::lab_main!(lab_segmentation);

fn policy_description(p: EmptyPolicy) -> &'static str {
    match p {
        EmptyPolicy::IgnoreEmptyReference => {
            "MONAI DiceMetric default: empty reference -> NaN, skipped"
        }
        EmptyPolicy::BothEmptyNan => "nnU-Net: both empty -> NaN, false positives on empty -> 0",
        EmptyPolicy::BothEmptyOne => "MONAI ignore_empty=False: both empty -> 1",
    }
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

/// A thresholded prediction after removing its small components.
struct Cleaned {
    kept: ndarray::Array3<bool>,
    components_kept: usize,
    components_removed: usize,
    true_voxels_removed: u64,
    false_voxels_removed: u64,
}

/// Remove the 26-connected components of `mask` smaller than `min_mm3`,
/// counting what went on and off the reference.
fn remove_small(
    mask: &ndarray::Array3<bool>,
    reference: ArrayView3<bool>,
    spacing: [f64; 3],
    min_mm3: f64,
) -> Result<Cleaned> {
    let (labels, comps) = components(mask.view(), Connectivity::TwentySix, spacing, None)?;
    // Label l (1-based) is kept when its component is large enough.
    let keep: Vec<bool> = std::iter::once(false)
        .chain(comps.iter().map(|c| c.volume_mm3 >= min_mm3))
        .collect();
    let (mut on, mut off) = (0u64, 0u64);
    let kept = ndarray::Zip::from(&labels)
        .and(reference)
        .map_collect(|&l, &r| {
            let k = keep[l as usize];
            if l > 0 && !k {
                if r {
                    on += 1;
                } else {
                    off += 1;
                }
            }
            k
        });
    let components_kept = keep.iter().filter(|&&k| k).count();
    Ok(Cleaned {
        kept,
        components_kept,
        components_removed: comps.len() - components_kept,
        true_voxels_removed: on,
        false_voxels_removed: off,
    })
}

/// Run a learner function, turning a panic into `None`.
fn quietly<T>(f: impl FnOnce() -> T) -> Option<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok();
    std::panic::set_hook(hook);
    r
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// The axial slice to draw: most reference voxels, else most predicted, else the middle.
fn overlay_slice(reference: ArrayView3<bool>, pred: ArrayView3<bool>) -> usize {
    let count = |m: ArrayView3<bool>| -> Vec<usize> {
        m.axis_iter(Axis(0))
            .map(|s| s.iter().filter(|&&v| v).count())
            .collect()
    };
    for c in [count(reference), count(pred)] {
        if let Some((z, &n)) = c
            .iter()
            .enumerate()
            .max_by_key(|(z, n)| (**n, usize::MAX - z))
        {
            if n > 0 {
                return z;
            }
        }
    }
    reference.dim().0 / 2
}

fn run(args: Args) -> Result<()> {
    args.infer.check()?;
    if !(args.threshold > 0.0 && args.threshold < 1.0) {
        bail!(kit::BadInput(format!(
            "--threshold {}: must be strictly between 0 and 1",
            args.threshold
        )));
    }
    if !(args.min_volume.is_finite() && args.min_volume >= 0.0) {
        bail!(kit::BadInput(format!(
            "--min-volume {}: must be a volume in mm³, 0 or more",
            args.min_volume
        )));
    }
    if !(args.tolerance.is_finite() && args.tolerance > 0.0) {
        bail!(kit::BadInput(format!(
            "--tolerance {}: must be a positive number of mm",
            args.tolerance
        )));
    }
    let scans: Vec<LabelledScan> = match (&args.input, &args.labels) {
        (Some(i), Some(l)) => vec![kit::models::user_scan(i, args.series.as_deref(), l)?],
        _ => kit::models::labelled_sample_scans(&args.negatives)?,
    };
    let mut model = args.infer.load("nodule_segmenter")?;
    let card = model.card().clone();
    let mut warnings: Vec<String> = scans
        .iter()
        .flat_map(|s| s.warnings.iter().map(move |w| format!("{}: {w}", s.id)))
        .collect();
    let want = card.preprocessing.spacing_mm.clone();
    for s in &scans {
        if want.len() == 3 && (0..3).any(|a| (s.spacing[a] - want[a]).abs() > 0.1 * want[a]) {
            warnings.push(format!(
                "{}: spacing {:?} mm differs from the model's training spacing {:?} mm; the model runs on the native grid and may do worse",
                s.id, s.spacing, want
            ));
        }
    }
    kit::prepare_out_dir(&args.out)?;
    let lung = Window::new(-600.0, 1500.0, VoiFunction::Linear)?;
    let mut rows = Vec::new();
    for s in &scans {
        let (nz, ny, nx) = s.hu.dim();
        eprintln!("segmenting {} ({nz} x {ny} x {nx})", s.id);
        let prob = kit::models::segment(&mut model, s.hu.view(), &mut |_, _| {})?;
        let reference = s.labels.mapv(|l| l > 0);
        let raw = prob.mapv(|p| p >= args.threshold);
        let small = remove_small(&raw, reference.view(), s.spacing, args.min_volume)?;
        let pred = small.kept;
        let counts = Counts::of(pred.view(), reference.view())?;
        let surf = surface_metrics(pred.view(), reference.view(), s.spacing, args.tolerance)?;
        let lesions = {
            let mut l: Vec<u32> = s.labels.iter().copied().filter(|&v| v > 0).collect();
            l.sort_unstable();
            l.dedup();
            l.len()
        };
        // Overlay: lung window, reference outline green, prediction red.
        let z = overlay_slice(reference.view(), pred.view());
        let slice = s.hu.index_axis(Axis(0), z);
        let mut gray = ndarray::Array2::<u8>::zeros(slice.dim());
        for (g, &v) in gray.iter_mut().zip(slice.iter()) {
            *g = lung.to_u8(f64::from(v));
        }
        let mut img = overlay_outlines(
            gray.view(),
            &[
                (reference.index_axis(Axis(0), z), [40, 220, 60]),
                (pred.index_axis(Axis(0), z), [240, 50, 50]),
            ],
            2,
        );
        let caption = format!("{} slice {z}", s.id);
        radlab_imaging::annotate::legend_rgb(
            &mut img,
            &[
                (caption.as_str(), [255, 255, 255]),
                ("reference", [40, 220, 60]),
                ("prediction", [240, 50, 50]),
            ],
        );
        let png = args.out.join(format!("{}-overlay.png", s.id));
        write_rgb_png(&png, img.view())?;
        let mine = args.mine.then(|| {
            let t = &lab_segmentation::tasks::EXERCISE;
            let d = quietly(|| (t.dice)(pred.view(), reference.view(), EmptyPolicy::BothEmptyNan));
            let h = quietly(|| (t.hd95)(pred.view(), reference.view(), s.spacing));
            let agrees = d.is_some_and(|d| same(d, counts.dice(EmptyPolicy::BothEmptyNan)))
                && h.is_some_and(|h| same(h, surf.hd95));
            Mine {
                dice: d,
                hd95_mm: h,
                agrees,
            }
        });
        rows.push(CaseRow {
            id: s.id.clone(),
            source: s.source.clone(),
            shape: [nz, ny, nx],
            spacing_mm: s.spacing,
            reference_voxels: counts.tp + counts.fn_,
            predicted_voxels: counts.tp + counts.fp,
            reference_lesions: lesions,
            predicted_components: small.components_kept,
            removed_components: small.components_removed,
            removed_true_voxels: small.true_voxels_removed,
            removed_false_voxels: small.false_voxels_removed,
            dice: EmptyPolicy::ALL
                .iter()
                .map(|&p| (p.name().to_string(), counts.dice(p)))
                .collect(),
            iou: EmptyPolicy::ALL
                .iter()
                .map(|&p| (p.name().to_string(), counts.iou(p)))
                .collect(),
            sensitivity: counts.sensitivity(),
            precision: counts.precision(),
            hausdorff_mm: surf.hausdorff,
            hd95_mm: surf.hd95,
            assd_mm: surf.assd,
            surface_dice: surf.surface_dice,
            max_probability: prob.iter().copied().fold(0.0f32, f32::max).into(),
            overlay: kit::display_path(&png),
            overlay_slice: z,
            mine,
        });
    }
    let means = EmptyPolicy::ALL
        .iter()
        .enumerate()
        .map(|(k, &p)| {
            let d: Vec<f64> = rows.iter().map(|r| r.dice[k].1).collect();
            let i: Vec<f64> = rows.iter().map(|r| r.iou[k].1).collect();
            PolicyMean {
                policy: p.name().into(),
                description: policy_description(p),
                mean_dice: nan_mean(&d),
                mean_iou: nan_mean(&i),
                cases_counted: d.iter().filter(|v| !v.is_nan()).count(),
            }
        })
        .collect();
    let finite: Vec<f64> = rows
        .iter()
        .map(|r| r.hd95_mm)
        .filter(|v| v.is_finite())
        .collect();
    let report = Report {
        model: card.name.clone(),
        device: model.placement().to_string(),
        threshold: args.threshold,
        tolerance_mm: args.tolerance,
        min_volume_mm3: args.min_volume,
        mean_hd95_mm: nan_mean(&finite),
        hd95_cases_counted: finite.len(),
        cases: rows,
        means,
        warnings,
    };
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
