//! "Windowing matters": the bundled nodule classifier on labelled patches
//! of the sample cases, fed the window it was trained with, two wrong
//! windows, and raw HU.

use radlab_infer::Model;
use radlab_metrics::classification::{accuracy, auroc};
use serde::Serialize;

use crate::{InputScaling, Result, classify, sample_patches};

/// One way of turning HU into classifier input, and how the classifier did.
#[derive(Debug, Clone, Serialize)]
pub struct ScalingResult {
    /// Short name, e.g. `trained window`.
    pub name: &'static str,
    /// The formula applied to HU.
    pub input: String,
    /// Accuracy at 0.5.
    pub accuracy: f64,
    /// AUROC.
    pub auroc: f64,
    /// Mean probability on patches with a nodule.
    pub mean_probability_nodule: f64,
    /// Mean probability on patches without.
    pub mean_probability_no_nodule: f64,
}

/// The experiment's result.
#[derive(Debug, Clone, Serialize)]
pub struct WindowingMatters {
    /// The model card's name.
    pub model: String,
    /// Where it ran.
    pub device: String,
    /// The card's window (center, width).
    pub trained_window: (f64, f64),
    /// The sample cases the patches came from.
    pub cases: Vec<String>,
    /// Patches classified.
    pub patches: usize,
    /// Of which with a nodule at the centre.
    pub patches_with_nodule: usize,
    /// One row per input scaling, the trained window first.
    pub results: Vec<ScalingResult>,
}

/// Run the classifier on the sample cases' labelled patches (12 negatives
/// per case, seed 7) with its trained window, the mediastinum and bone
/// windows, and raw HU.
pub fn windowing_matters(model: &mut Model) -> Result<WindowingMatters> {
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
        let probs = classify(model, data.hu.view(), scaling)?;
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
