//! lab-windowing: from Hounsfield units to pixels a radiologist can read.
//!
//! Topic I1 (preprocessing for a lung-nodule pipeline: HU windowing and
//! isotropic resampling). Run with no arguments for the bundled sample study.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use lab_windowing::pipeline::{Report, WindowingMatters};
use radlab_imaging::VoiFunction;
use radlab_labkit as kit;

#[derive(ClapArgs, Debug)]
struct Args {
    /// A DICOM file or folder (searched recursively). Default: the bundled sample study.
    #[arg(long)]
    input: Option<PathBuf>,
    /// SeriesInstanceUID to load when the folder holds several series.
    #[arg(long)]
    series: Option<String>,
    /// Only this preset (lung, mediastinum, bone, brain, subdural, stroke, liver, abdomen).
    #[arg(long, conflicts_with_all = ["center", "width"])]
    preset: Option<String>,
    /// A custom window center in HU (needs --width).
    #[arg(long, requires = "width", allow_hyphen_values = true)]
    center: Option<f64>,
    /// A custom window width in HU (needs --center).
    #[arg(long, requires = "center")]
    width: Option<f64>,
    /// VOI LUT function (PS3.3 C.11.2.1.2).
    #[arg(long, value_enum, default_value = "linear")]
    function: VoiFunction,
    /// Resample to this isotropic spacing in mm.
    #[arg(long, default_value_t = 1.0)]
    isotropic: f64,
    /// Output folder for PNGs and report.json.
    #[arg(long, default_value = "out/lab-windowing")]
    out: PathBuf,
    /// Print one JSON document on stdout instead of the narrated report.
    #[arg(long)]
    json: bool,
    /// Window with your exercise functions (src/exercise.rs) instead of the reference.
    #[arg(long)]
    mine: bool,
    /// Skip the "windowing matters" experiment with the bundled classifier (no ONNX Runtime needed).
    #[arg(long)]
    skip_model: bool,
    #[command(flatten)]
    infer: kit::InferArgs,
}

radlab_labkit::lab_main! {
    /// Window a CT series with clinical presets, write PNGs of the three planes,
    /// compare the standard's VOI functions and resample to isotropic voxels.
    /// Subcommands grade your exercise file (src/exercise.rs).
    lab_windowing
}

fn run(args: Args) -> Result<()> {
    if !args.skip_model {
        args.infer.check()?;
    }
    if !(args.isotropic.is_finite() && args.isotropic > 0.0) {
        bail!(kit::BadInput(format!(
            "--isotropic {}: the spacing must be a positive number of mm",
            args.isotropic
        )));
    }
    let opts = lab_windowing::pipeline::Options {
        input: args.input.clone(),
        series: args.series.clone(),
        preset: args.preset.clone(),
        center: args.center,
        width: args.width,
        function: args.function,
        isotropic: args.isotropic,
        out: args.out.clone(),
        mine: args.mine,
        skip_model: args.skip_model,
    };
    let report = lab_windowing::pipeline::run(&opts, &mut |name| args.infer.load(name))?;
    kit::write_json(&args.out.join("report.json"), &report)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_report(&report);
    Ok(())
}

fn print_report(r: &Report) {
    println!("lab-windowing: HU to display pixels (topic I1)");
    println!("input: {}", r.input);
    println!(
        "volume [z, y, x] = {:?}, spacing (z, y, x) = [{:.3}, {:.3}, {:.3}] mm",
        r.shape, r.spacing_mm.z, r.spacing_mm.y, r.spacing_mm.x
    );
    if let Some((c, w)) = r.header_window {
        println!("header window (first of the stored values): center {c}, width {w}");
    }
    if r.modality != "CT" {
        println!(
            "note: modality {} stores no Hounsfield units; the presets are CT windows, so read the numbers as a demonstration",
            r.modality
        );
    }
    for w in &r.warnings {
        println!("warning: {w}");
    }
    println!();
    println!("Windows (percent of voxels forced to black / white)");
    println!(
        "  {:<12} {:>8} {:>8} {:<13} {:>9} {:>9}",
        "preset", "center", "width", "function", "low %", "high %"
    );
    for w in &r.windows {
        println!(
            "  {:<12} {:>8} {:>8} {:<13} {:>9.2} {:>9.2}",
            w.preset,
            w.center,
            w.width,
            w.function.name(),
            w.clipped_low_percent,
            w.clipped_high_percent
        );
    }
    for w in &r.windows {
        println!("  {}: {}", w.preset, w.rationale);
    }
    println!();
    let c = &r.linear_vs_linear_exact;
    println!(
        "LINEAR vs LINEAR_EXACT on {} (c={}, w={}): {} voxels ({:.2}%) differ, by at most {} grey level(s)",
        c.preset, c.center, c.width, c.voxels_differing, c.percent_differing, c.max_abs_difference
    );
    println!(
        "  LINEAR centres the ramp at c - 0.5 and spans w - 1; LINEAR_EXACT uses c and w as given."
    );
    println!(
        "  {:>10} {:>7} {:>13} {:>5}",
        "HU", "LINEAR", "LINEAR_EXACT", "diff"
    );
    for (x, a, b, d) in &c.examples {
        println!("  {x:>10.1} {a:>7} {b:>13} {d:>5}");
    }
    println!();
    let s = &r.resampled;
    println!(
        "Resampled to {:.2} mm isotropic (trilinear): {:?} -> {:?}; extent {:.1} x {:.1} x {:.1} mm -> {:.1} x {:.1} x {:.1} mm",
        s.to_spacing_mm.z,
        s.from_shape,
        s.to_shape,
        s.extent_mm_before[0],
        s.extent_mm_before[1],
        s.extent_mm_before[2],
        s.extent_mm_after[0],
        s.extent_mm_after[1],
        s.extent_mm_after[2]
    );
    println!();
    println!("PNGs written ({}):", r.pngs.len());
    for p in &r.pngs {
        if p.kind == "montage" {
            println!(
                "  {}  ({} montage of {} axial slices)",
                p.path,
                p.preset,
                p.slices.len()
            );
        } else {
            println!(
                "  {}  ({} {}, slice {})",
                p.path,
                p.preset,
                p.plane.name(),
                p.slice_index
            );
        }
    }
    if let Some(e) = &r.windowing_matters {
        print_windowing_matters(e);
    }
}

fn print_windowing_matters(e: &WindowingMatters) {
    println!();
    println!(
        "Windowing matters: {} on {} patches of {} ({} with a nodule at the centre)",
        e.model,
        e.patches,
        e.cases.join(", "),
        e.patches_with_nodule
    );
    println!(
        "  trained with the window c={} w={}; running on {}",
        e.trained_window.0, e.trained_window.1, e.device
    );
    println!(
        "  {:<20} {:>9} {:>7} {:>16} {:>19}",
        "input", "accuracy", "AUROC", "mean p (nodule)", "mean p (no nodule)"
    );
    for r in &e.results {
        println!(
            "  {:<20} {:>9.3} {:>7.3} {:>16.3} {:>19.3}",
            r.name, r.accuracy, r.auroc, r.mean_probability_nodule, r.mean_probability_no_nodule
        );
    }
    println!(
        "  A model only knows the input scaling it was trained with: the same pixels under another window, or raw HU, are a different input."
    );
}
