//! Labelled patches of generated phantoms from chosen scanner vendors,
//! classified: the validation and test splits of a calibration study
//! (trained vendors for fitting, an unseen one for testing).

use ndarray::{Array3, Axis};
use radlab_infer::Model;

use crate::{InputScaling, Result, classify_logits};

/// One split: the classifier's raw logits and the patch labels.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomSplit {
    /// Raw nodule logits, one per patch (raw, because converting
    /// probabilities back would lose every logit whose sigmoid rounds to 1).
    pub logits: Vec<f64>,
    /// 1 where a nodule sits at the patch centre, else 0.
    pub labels: Vec<usize>,
}

/// Classify patches of `cases` phantoms (seeds `first_seed`, `first_seed +
/// 1`, ...; vendor indices cycled from `vendors`; 2 to 4 nodules each; 24
/// negatives, 2 slices per nodule, 3 voxels of jitter, patch seed `seed ^
/// case seed`) in the window of the classifier's card.
pub fn phantom_split(
    model: &mut Model,
    cases: usize,
    first_seed: u64,
    vendors: &[usize],
    seed: u64,
) -> Result<PhantomSplit> {
    let p = model.card().preprocessing.clone();
    let scaling = InputScaling::Window {
        center: p.window_center,
        width: p.window_width,
    };
    let mut patches = Vec::new();
    let mut labels = Vec::new();
    for k in 0..cases {
        let case_seed = first_seed + k as u64;
        let mut spec = radlab_synth::CaseSpec::sample(case_seed);
        spec.vendor = vendors.get(k % vendors.len().max(1)).copied().unwrap_or(0);
        spec.nodules = 2 + k % 3;
        let case = radlab_synth::generate_case(&spec);
        let centers: Vec<[f64; 3]> = case
            .phantom
            .nodules
            .iter()
            .map(|n| n.center_voxel)
            .collect();
        let set = radlab_synth::patches::classification_patches(
            case.phantom.hu.mapv(f32::from).view(),
            case.phantom.labels.view(),
            &centers,
            &radlab_synth::patches::PatchOptions {
                negatives: 24,
                per_slice: 2,
                jitter: 3,
                seed: seed ^ case_seed,
                ..Default::default()
            },
        );
        for (patch, &l) in set.patches.outer_iter().zip(&set.labels) {
            patches.push(patch.to_owned());
            labels.push(usize::from(l));
        }
    }
    let views: Vec<_> = patches.iter().map(|p| p.view()).collect();
    let hu: Array3<f32> = ndarray::stack(Axis(0), &views)?;
    Ok(PhantomSplit {
        logits: classify_logits(model, hu.view(), scaling)?,
        labels,
    })
}
