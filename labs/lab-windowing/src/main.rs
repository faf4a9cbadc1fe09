//! lab-windowing: from Hounsfield units to pixels a radiologist can read.
//!
//! Topic I1 (preprocessing for a lung-nodule pipeline: HU windowing and
//! isotropic resampling). Run with no arguments for the bundled sample study.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args as ClapArgs, Parser, ValueEnum};
use radlab_imaging::planes::{self, Plane};
use radlab_imaging::{PRESETS, VoiFunction, Window};
use radlab_labkit as kit;
use serde::Serialize;

#[derive(Copy, Clone, Debug, ValueEnum)]
enum Function {
    Linear,
    LinearExact,
    Sigmoid,
}

impl From<Function> for VoiFunction {
    fn from(f: Function) -> Self {
        match f {
            Function::Linear => VoiFunction::Linear,
            Function::LinearExact => VoiFunction::LinearExact,
            Function::Sigmoid => VoiFunction::Sigmoid,
        }
    }
}

/// Window a CT series with clinical presets, write PNGs of the three planes,
/// compare the standard's VOI functions and resample to isotropic voxels.
/// Subcommands grade your exercise file (src/exercise.rs).
#[derive(Parser, Debug)]
#[command(name = "lab-windowing", version, about, long_about = None, args_conflicts_with_subcommands = true)]
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
    function: Function,
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

/// One way of turning HU into classifier input, and how the classifier did.
#[derive(Serialize)]
struct ScalingResult {
    name: &'static str,
    input: String,
    accuracy: f64,
    auroc: f64,
    mean_probability_nodule: f64,
    mean_probability_no_nodule: f64,
}

/// "Windowing matters": the bundled nodule classifier on labelled patches of
/// the sample cases, fed the window it was trained with, wrong windows, and raw HU.
#[derive(Serialize)]
struct WindowingMatters {
    model: String,
    device: String,
    trained_window: (f64, f64),
    cases: Vec<String>,
    patches: usize,
    patches_with_nodule: usize,
    results: Vec<ScalingResult>,
}

#[derive(Serialize)]
struct WindowRow {
    preset: String,
    center: f64,
    width: f64,
    function: VoiFunction,
    clipped_low_percent: f64,
    clipped_high_percent: f64,
    rationale: String,
}

#[derive(Serialize)]
struct Png {
    path: String,
    preset: String,
    center: f64,
    width: f64,
    function: VoiFunction,
    plane: Plane,
    /// What the image is: "plane" (one slice) or "montage" (a grid of axial slices).
    kind: &'static str,
    /// The slice shown (planes), or the first slice of a montage.
    slice_index: usize,
    /// Every slice shown, in order (one for a plane).
    slices: Vec<usize>,
}

#[derive(Serialize)]
struct FunctionComparison {
    preset: String,
    center: f64,
    width: f64,
    voxels_differing: usize,
    percent_differing: f64,
    max_abs_difference: u8,
    examples: Vec<(f64, u8, u8, u8)>,
}

#[derive(Serialize)]
struct Resampled {
    from_spacing_mm: [f64; 3],
    to_spacing_mm: [f64; 3],
    from_shape: [usize; 3],
    to_shape: [usize; 3],
    extent_mm_before: [f64; 3],
    extent_mm_after: [f64; 3],
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
struct Report {
    input: String,
    modality: String,
    shape: [usize; 3],
    spacing_mm: [f64; 3],
    header_window: Option<(f64, f64)>,
    windows: Vec<WindowRow>,
    linear_vs_linear_exact: FunctionComparison,
    resampled: Resampled,
    pngs: Vec<Png>,
    warnings: Vec<String>,
    windowing_matters: Option<WindowingMatters>,
}

radlab_labkit::lab_main!(lab_windowing);

/// Window `values` with the learner's exercise function for `w`'s VOI function.
fn window_mine(w: &Window, values: &[f32], out: &mut [u8]) -> Result<()> {
    let t = &lab_windowing::tasks::EXERCISE;
    let f = match w.function() {
        VoiFunction::Linear => t.window_linear,
        VoiFunction::LinearExact => t.window_linear_exact,
        VoiFunction::Sigmoid => t.window_sigmoid,
    };
    let (c, width) = (w.center(), w.width());
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for (o, &x) in out.iter_mut().zip(values) {
            *o = f(x, c, width);
        }
    }));
    std::panic::set_hook(hook);
    r.map_err(|_| {
        anyhow::anyhow!(
            "--mine: your {} window in src/exercise.rs panicked or is not implemented yet; run `cargo run -p lab-windowing -- grade`",
            w.function()
        )
    })
}

fn chosen_windows(args: &Args) -> Result<Vec<(String, Window, String)>> {
    let f: VoiFunction = args.function.into();
    if let (Some(c), Some(w)) = (args.center, args.width) {
        return Ok(vec![(
            "custom".into(),
            Window::new(c, w, f)?,
            "your window".into(),
        )]);
    }
    if let Some(name) = &args.preset {
        let p = radlab_imaging::preset(name)?;
        return Ok(vec![(p.name.into(), p.window(f), p.rationale.into())]);
    }
    Ok(["lung", "mediastinum", "bone", "abdomen"]
        .iter()
        .filter_map(|n| PRESETS.iter().find(|p| p.name == *n))
        .map(|p| (p.name.to_string(), p.window(f), p.rationale.to_string()))
        .collect())
}

/// The caption burned into a windowed PNG, short enough for 192 pixels:
/// `lung W1500 L-600`, with the VOI function when it is not LINEAR.
fn window_caption(name: &str, w: &radlab_imaging::Window) -> String {
    let f = match w.function() {
        radlab_imaging::VoiFunction::Linear => "",
        radlab_imaging::VoiFunction::LinearExact => " EXACT",
        radlab_imaging::VoiFunction::Sigmoid => " SIGMOID",
    };
    format!("{name} W{} L{}{f}", w.width(), w.center())
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
    let windows = chosen_windows(&args)?;
    let input = args.input.clone().unwrap_or_else(kit::default_series_dir);
    let (vol, _) = kit::load_volume(&input, args.series.as_deref())?;
    let values = vol.voxels.as_slice().unwrap_or(&[]);
    let shape = vol.shape();
    let superior = vol.slice_dir[2] > 0.0;

    // Window every chosen preset; keep the 8-bit volumes for the PNGs.
    let mut rows = Vec::new();
    let mut u8_volumes = Vec::new();
    for (name, w, why) in &windows {
        let (lo, hi) = w.clipped_fractions(values);
        rows.push(WindowRow {
            preset: name.clone(),
            center: w.center(),
            width: w.width(),
            function: w.function(),
            clipped_low_percent: 100.0 * lo,
            clipped_high_percent: 100.0 * hi,
            rationale: why.clone(),
        });
        let mut out = radlab_dicom::volume::zeroed_u8(values.len());
        if args.mine {
            window_mine(w, values, &mut out)?;
        } else {
            w.to_u8_slice(values, &mut out);
        }
        u8_volumes.push(ndarray::Array3::from_shape_vec(shape, out)?);
    }

    // Where LINEAR and LINEAR_EXACT disagree, on the first window.
    let (name0, w0, _) = &windows[0];
    let lin = Window::new(w0.center(), w0.width().max(1.0), VoiFunction::Linear)?;
    let exact = Window::new(w0.center(), w0.width(), VoiFunction::LinearExact)?;
    let mut a = vec![0u8; values.len()];
    let mut b = vec![0u8; values.len()];
    lin.to_u8_slice(values, &mut a);
    exact.to_u8_slice(values, &mut b);
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    let max_diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0);
    let (c, w) = (w0.center(), w0.width());
    let examples = [
        c - w / 2.0,
        c - w / 2.0 + 0.5,
        c - 0.5,
        c,
        c + w / 2.0 - 1.0,
        c + w / 2.0,
    ]
    .iter()
    .map(|&x| {
        (
            x,
            lin.to_u8(x),
            exact.to_u8(x),
            lin.to_u8(x).abs_diff(exact.to_u8(x)),
        )
    })
    .collect();
    let comparison = FunctionComparison {
        preset: name0.clone(),
        center: c,
        width: w,
        voxels_differing: differing,
        percent_differing: 100.0 * differing as f64 / values.len().max(1) as f64,
        max_abs_difference: max_diff,
        examples,
    };

    let target = [args.isotropic; 3];
    let iso = radlab_imaging::resample::resample_volume(&vol, target)?.voxels;
    let iso_shape = [iso.shape()[0], iso.shape()[1], iso.shape()[2]];
    let extent = |s: [usize; 3], sp: [f64; 3]| {
        [
            s[0] as f64 * sp[0],
            s[1] as f64 * sp[1],
            s[2] as f64 * sp[2],
        ]
    };
    let resampled = Resampled {
        from_spacing_mm: vol.spacing,
        to_spacing_mm: target,
        from_shape: shape,
        to_shape: iso_shape,
        extent_mm_before: extent(shape, vol.spacing),
        extent_mm_after: extent(iso_shape, target),
    };
    drop(iso);

    // The model experiment (fails before anything is written, e.g. --device cuda without CUDA).
    let windowing_matters = if args.skip_model {
        None
    } else {
        Some(windowing_matters(&args.infer)?)
    };

    // Everything is computed: now write.
    kit::prepare_out_dir(&args.out)?;
    let mut pngs = Vec::new();
    for ((name, w, _), v8) in windows.iter().zip(&u8_volumes) {
        for plane in Plane::ALL {
            let index = plane.middle(shape);
            let mut img = planes::plane_image(v8.view(), vol.spacing, plane, index, superior);
            let caption = window_caption(name, w);
            radlab_imaging::annotate::label(
                &mut img,
                &[caption.as_str()],
                radlab_imaging::annotate::edge_letters(
                    plane,
                    vol.row_dir,
                    vol.col_dir,
                    vol.slice_dir,
                    superior,
                ),
            );
            let path = args.out.join(format!("{name}_{}.png", plane.name()));
            planes::write_png(&path, img.view())?;
            pngs.push(Png {
                path: kit::display_path(&path),
                preset: name.clone(),
                center: w.center(),
                width: w.width(),
                function: w.function(),
                plane,
                kind: "plane",
                slice_index: index,
                slices: vec![index],
            });
        }
    }
    let mut montage = planes::montage(u8_volumes[0].view(), 16, 4);
    {
        let (name, w, _) = &windows[0];
        let e = radlab_imaging::annotate::edge_letters(
            Plane::Axial,
            vol.row_dir,
            vol.col_dir,
            vol.slice_dir,
            superior,
        );
        let caption = format!("{}; axial, {} at left", window_caption(name, w), e[0]);
        radlab_imaging::annotate::label(&mut montage, &[caption.as_str()], [' '; 4]);
    }
    let montage_path = args.out.join(format!("{}_montage.png", windows[0].0));
    planes::write_png(&montage_path, montage.view())?;
    let shown = planes::montage_indices(shape[0], 16);
    pngs.push(Png {
        path: kit::display_path(&montage_path),
        preset: windows[0].0.clone(),
        center: windows[0].1.center(),
        width: windows[0].1.width(),
        function: windows[0].1.function(),
        plane: Plane::Axial,
        kind: "montage",
        slice_index: shown[0],
        slices: shown,
    });

    let report = Report {
        input: kit::display_path(&input),
        modality: vol.modality.clone(),
        shape,
        spacing_mm: vol.spacing,
        header_window: vol.header_window,
        windows: rows,
        linear_vs_linear_exact: comparison,
        resampled,
        pngs,
        warnings: vol.warnings.iter().map(|w| w.to_string()).collect(),
        windowing_matters,
    };
    kit::write_json(&args.out.join("report.json"), &report)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_report(&report);
    Ok(())
}

/// Run the bundled classifier on the sample cases' labelled patches with
/// the trained window, two wrong windows and raw HU.
fn windowing_matters(infer: &kit::InferArgs) -> Result<WindowingMatters> {
    use kit::models::{InputScaling, classify, sample_patches};
    use radlab_metrics::classification::{accuracy, auroc};
    let mut model = infer.load("nodule_classifier")?;
    let p = model.card().preprocessing.clone();
    let data = sample_patches(12, 7)?;
    let mediastinum = radlab_imaging::preset("mediastinum")?;
    let bone = radlab_imaging::preset("bone")?;
    let variants = [
        (
            "trained window",
            InputScaling::Window {
                center: p.window_center,
                width: p.window_width,
            },
        ),
        (
            "mediastinum window",
            InputScaling::Window {
                center: mediastinum.center,
                width: mediastinum.width,
            },
        ),
        (
            "bone window",
            InputScaling::Window {
                center: bone.center,
                width: bone.width,
            },
        ),
        ("raw HU", InputScaling::RawHu),
    ];
    let mut results = Vec::new();
    for (name, scaling) in variants {
        let probs = classify(&mut model, data.hu.view(), scaling)?;
        let mean = |want: bool| {
            let v: Vec<f64> = probs
                .iter()
                .zip(&data.labels)
                .filter(|(_, l)| **l == want)
                .map(|(p, _)| *p)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        results.push(ScalingResult {
            name,
            input: match scaling {
                InputScaling::Window { center, width } => {
                    format!("clamp((HU - ({center} - {width}/2)) / {width}, 0, 1)")
                }
                InputScaling::RawHu => "HU unchanged".into(),
            },
            accuracy: accuracy(&probs, &data.labels, 0.5)?,
            auroc: auroc(&probs, &data.labels)?,
            mean_probability_nodule: mean(true),
            mean_probability_no_nodule: mean(false),
        });
    }
    Ok(WindowingMatters {
        model: model.card().name.clone(),
        device: model.placement().to_string(),
        trained_window: (p.window_center, p.window_width),
        cases: data.cases.clone(),
        patches: data.labels.len(),
        patches_with_nodule: data.labels.iter().filter(|&&l| l).count(),
        results,
    })
}

fn print_report(r: &Report) {
    println!("lab-windowing: HU to display pixels (topic I1)");
    println!("input: {}", r.input);
    println!(
        "volume [z, y, x] = {:?}, spacing (z, y, x) = [{:.3}, {:.3}, {:.3}] mm",
        r.shape, r.spacing_mm[0], r.spacing_mm[1], r.spacing_mm[2]
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
        s.to_spacing_mm[0],
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
