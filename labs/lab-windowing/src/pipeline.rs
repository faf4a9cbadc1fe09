//! The lab's pipeline: a CT series windowed with the chosen presets and VOI
//! function, PNGs of the three planes and a montage, LINEAR against
//! LINEAR_EXACT, isotropic resampling, and the "windowing matters"
//! experiment with the bundled classifier. The binary parses its flags into
//! [`Options`] and narrates the [`Report`].

use std::path::PathBuf;

use anyhow::Result;
use radlab_imaging::planes::{self, Plane};
use radlab_imaging::{PRESETS, VoiFunction, Window};
use radlab_labkit as kit;
use serde::Serialize;

/// What the pipeline is run with (the binary's flags, checked there).
#[derive(Debug, Clone)]
pub struct Options {
    /// A DICOM file or folder; `None`: the bundled sample study.
    pub input: Option<PathBuf>,
    /// SeriesInstanceUID to load when the folder holds several series.
    pub series: Option<String>,
    /// Only this preset.
    pub preset: Option<String>,
    /// A custom window center in HU (with `width`).
    pub center: Option<f64>,
    /// A custom window width in HU (with `center`).
    pub width: Option<f64>,
    /// The VOI LUT function.
    pub function: VoiFunction,
    /// Isotropic spacing to resample to, mm.
    pub isotropic: f64,
    /// Output folder for the PNGs (created).
    pub out: PathBuf,
    /// Window with the exercise functions.
    pub mine: bool,
    /// Skip the experiment with the bundled classifier.
    pub skip_model: bool,
}

/// Loads a bundled model by name (the binary's device settings).
pub use radlab_labkit::ModelLoader as Loader;

pub use radlab_eval::experiments::{ScalingResult, WindowingMatters};

#[derive(Serialize)]
pub struct WindowRow {
    pub preset: String,
    pub center: f64,
    pub width: f64,
    pub function: VoiFunction,
    pub clipped_low_percent: f64,
    pub clipped_high_percent: f64,
    pub rationale: String,
}

#[derive(Serialize)]
pub struct Png {
    pub path: String,
    pub preset: String,
    pub center: f64,
    pub width: f64,
    pub function: VoiFunction,
    pub plane: Plane,
    /// What the image is: "plane" (one slice) or "montage" (a grid of axial slices).
    pub kind: &'static str,
    /// The slice shown (planes), or the first slice of a montage.
    pub slice_index: usize,
    /// Every slice shown, in order (one for a plane).
    pub slices: Vec<usize>,
}

#[derive(Serialize)]
pub struct FunctionComparison {
    pub preset: String,
    pub center: f64,
    pub width: f64,
    pub voxels_differing: usize,
    pub percent_differing: f64,
    pub max_abs_difference: u8,
    pub examples: Vec<(f64, u8, u8, u8)>,
}

#[derive(Serialize)]
pub struct Resampled {
    pub from_spacing_mm: radlab_dicom::Spacing,
    pub to_spacing_mm: radlab_dicom::Spacing,
    pub from_shape: [usize; 3],
    pub to_shape: [usize; 3],
    pub extent_mm_before: [f64; 3],
    pub extent_mm_after: [f64; 3],
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
pub struct Report {
    pub input: String,
    pub modality: String,
    pub shape: [usize; 3],
    pub spacing_mm: radlab_dicom::Spacing,
    pub header_window: Option<(f64, f64)>,
    pub windows: Vec<WindowRow>,
    pub linear_vs_linear_exact: FunctionComparison,
    pub resampled: Resampled,
    pub pngs: Vec<Png>,
    pub warnings: Vec<String>,
    pub windowing_matters: Option<WindowingMatters>,
}

/// Window `values` with the learner's exercise function for `w`'s VOI function.
fn window_mine(w: &Window, values: &[f32], out: &mut [u8]) -> Result<()> {
    let t = &crate::tasks::EXERCISE;
    let f = match w.function() {
        VoiFunction::Linear => t.window_linear,
        VoiFunction::LinearExact => t.window_linear_exact,
        VoiFunction::Sigmoid => t.window_sigmoid,
    };
    let (c, width) = (w.center(), w.width());
    radlab_grade::quietly(|| {
        for (o, &x) in out.iter_mut().zip(values) {
            *o = f(x, c, width);
        }
    })
    .ok_or_else(|| {
        anyhow::anyhow!(
            "--mine: your {} window in src/exercise.rs panicked or is not implemented yet; run `cargo run -p lab-windowing -- grade`",
            w.function()
        )
    })
}

fn chosen_windows(args: &Options) -> Result<Vec<(String, Window, String)>> {
    let f = args.function;
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
/// Run the pipeline; `load` provides the bundled classifier unless
/// `skip_model`.
pub fn run(args: &Options, load: &mut Loader<'_>) -> Result<Report> {
    let windows = chosen_windows(args)?;
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

    let target = radlab_dicom::Spacing::isotropic(args.isotropic);
    let iso = radlab_imaging::resample::resample_volume(&vol, target)?.voxels;
    let iso_shape = [iso.shape()[0], iso.shape()[1], iso.shape()[2]];
    let extent = |s: [usize; 3], sp: radlab_dicom::Spacing| {
        [s[0] as f64 * sp.z, s[1] as f64 * sp.y, s[2] as f64 * sp.x]
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
        Some(windowing_matters(load)?)
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
    Ok(report)
}

/// Run the bundled classifier on the sample cases' labelled patches with
/// the trained window, two wrong windows and raw HU.
fn windowing_matters(load: &mut Loader<'_>) -> Result<WindowingMatters> {
    let mut model = load("nodule_classifier")?;
    Ok(radlab_eval::experiments::windowing_matters(&mut model)?)
}
