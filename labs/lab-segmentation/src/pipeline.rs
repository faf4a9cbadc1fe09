//! The lab's pipeline: segment each scan with the bundled model, remove
//! small components, score the mask against the reference under every
//! empty-mask convention and draw an overlay. The binary parses its flags
//! into [`Options`] and narrates the [`Report`].

use std::path::PathBuf;

use anyhow::Result;
use ndarray::{ArrayView3, Axis};
use radlab_eval::LabelledScan;
use radlab_imaging::planes::{overlay_outlines, write_rgb_png};
use radlab_imaging::{VoiFunction, Window};
use radlab_labkit as kit;
use radlab_metrics::segmentation::{
    Connectivity, Counts, EmptyPolicy, nan_mean, remove_small_components, surface_metrics,
};
use serde::Serialize;

/// What the pipeline is run with (the binary's flags, checked there).
#[derive(Debug, Clone)]
pub struct Options {
    /// Probability at or above which a voxel is called nodule.
    pub threshold: f32,
    /// Surface Dice tolerance in mm.
    pub tolerance_mm: f64,
    /// Predicted components smaller than this (mm³) are removed.
    pub min_volume_mm3: f64,
    /// Folder for the overlays (it is created).
    pub out: PathBuf,
    /// Also score with the exercise functions.
    pub mine: bool,
}

/// One scan's scores.
#[derive(Serialize)]
pub struct CaseRow {
    pub id: String,
    pub source: String,
    pub shape: [usize; 3],
    pub spacing_mm: radlab_dicom::Spacing,
    pub reference_voxels: u64,
    pub predicted_voxels: u64,
    pub reference_lesions: usize,
    /// Components of the prediction kept (at least `min_volume_mm3`).
    pub predicted_components: usize,
    /// Components removed for being smaller than `min_volume_mm3`.
    pub removed_components: usize,
    /// Voxels of the removed components that lie on a reference nodule.
    pub removed_true_voxels: u64,
    /// Voxels of the removed components elsewhere.
    pub removed_false_voxels: u64,
    /// Dice under each empty-mask policy, by policy name.
    pub dice: Vec<(String, f64)>,
    pub iou: Vec<(String, f64)>,
    pub sensitivity: f64,
    pub precision: f64,
    pub hausdorff_mm: f64,
    pub hd95_mm: f64,
    pub assd_mm: f64,
    pub surface_dice: f64,
    pub max_probability: f64,
    pub overlay: String,
    pub overlay_slice: usize,
    pub mine: Option<Mine>,
}

/// The learner's numbers next to the reference's.
#[derive(Serialize, Clone)]
pub struct Mine {
    pub dice: Option<f64>,
    pub hd95_mm: Option<f64>,
    pub agrees: bool,
}

#[derive(Serialize)]
pub struct PolicyMean {
    pub policy: String,
    pub description: &'static str,
    pub mean_dice: f64,
    pub mean_iou: f64,
    pub cases_counted: usize,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
pub struct Report {
    pub model: String,
    pub device: String,
    pub threshold: f32,
    pub tolerance_mm: f64,
    pub min_volume_mm3: f64,
    pub cases: Vec<CaseRow>,
    pub means: Vec<PolicyMean>,
    pub mean_hd95_mm: f64,
    pub hd95_cases_counted: usize,
    pub warnings: Vec<String>,
}

/// What each convention does, in a line.
pub fn policy_description(p: EmptyPolicy) -> &'static str {
    match p {
        EmptyPolicy::IgnoreEmptyReference => {
            "MONAI DiceMetric default: empty reference -> NaN, skipped"
        }
        EmptyPolicy::BothEmptyNan => "nnU-Net: both empty -> NaN, false positives on empty -> 0",
        EmptyPolicy::BothEmptyOne => "MONAI ignore_empty=False: both empty -> 1",
    }
}

/// A thresholded prediction after removing its small components.
struct Cleaned {
    kept: ndarray::Array3<bool>,
    components_kept: usize,
    components_removed: usize,
    true_voxels_removed: u64,
    false_voxels_removed: u64,
}

/// Remove the 26-connected components of `mask` smaller than `min_mm3`
/// (radlab-metrics' post-processing), counting what went on and off the
/// reference.
fn remove_small(
    mask: &ndarray::Array3<bool>,
    reference: ArrayView3<bool>,
    spacing: radlab_dicom::Spacing,
    min_mm3: f64,
) -> Result<Cleaned> {
    let p = remove_small_components(mask.view(), Connectivity::TwentySix, spacing, min_mm3)?;
    let (mut on, mut off) = (0u64, 0u64);
    ndarray::Zip::from(mask)
        .and(&p.kept)
        .and(reference)
        .for_each(|&m, &k, &r| {
            if m && !k {
                if r {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        });
    Ok(Cleaned {
        components_kept: p.stay.len(),
        components_removed: p.removed.len(),
        kept: p.kept,
        true_voxels_removed: on,
        false_voxels_removed: off,
    })
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

/// Run the pipeline on `scans` with `model` (the bundled segmenter or
/// another with its card); `progress` hears of each scan as it starts.
pub fn run(
    opts: &Options,
    scans: &[LabelledScan],
    model: &mut radlab_infer::Model,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    let card = model.card().clone();
    let mut warnings: Vec<String> = scans
        .iter()
        .flat_map(|s| s.warnings.iter().map(move |w| format!("{}: {w}", s.id)))
        .collect();
    let want = card.preprocessing.spacing_mm.clone();
    for s in scans {
        if want.len() == 3 && (0..3).any(|a| (s.spacing.along(a) - want[a]).abs() > 0.1 * want[a]) {
            warnings.push(format!(
                "{}: spacing {:?} mm differs from the model's training spacing {:?} mm; the model runs on the native grid and may do worse",
                s.id, s.spacing, want
            ));
        }
    }
    kit::prepare_out_dir(&opts.out)?;
    let lung = Window::new(-600.0, 1500.0, VoiFunction::Linear)?;
    let mut rows = Vec::new();
    for s in scans {
        let (nz, ny, nx) = s.hu.dim();
        progress(&format!("segmenting {} ({nz} x {ny} x {nx})", s.id));
        let prob = radlab_eval::segment(model, s.hu.view(), &mut |_, _| {})?;
        let reference = s.labels.mapv(|l| l > 0);
        let raw = prob.mapv(|p| p >= opts.threshold);
        let small = remove_small(&raw, reference.view(), s.spacing, opts.min_volume_mm3)?;
        let pred = small.kept;
        let counts = Counts::of(pred.view(), reference.view())?;
        let surf = surface_metrics(pred.view(), reference.view(), s.spacing, opts.tolerance_mm)?;
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
        let png = opts.out.join(format!("{}-overlay.png", s.id));
        write_rgb_png(&png, img.view())?;
        let mine = opts.mine.then(|| {
            let t = &crate::tasks::EXERCISE;
            let d = radlab_grade::quietly(|| {
                (t.dice)(pred.view(), reference.view(), EmptyPolicy::BothEmptyNan)
            });
            let h =
                radlab_grade::quietly(|| (t.hd95)(pred.view(), reference.view(), s.spacing.zyx()));
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
        threshold: opts.threshold,
        tolerance_mm: opts.tolerance_mm,
        min_volume_mm3: opts.min_volume_mm3,
        mean_hd95_mm: nan_mean(&finite),
        hd95_cases_counted: finite.len(),
        cases: rows,
        means,
        warnings,
    };
    Ok(report)
}
