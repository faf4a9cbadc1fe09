//! Model cards: the TOML file beside each `.onnx` that says what the model
//! expects, how its input was prepared, what it was trained on and how well
//! it did on held-out data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::InferError;

/// One input or output tensor. `shape` uses `-1` for a dimension that may
/// vary (the batch, or the spatial size of a fully convolutional model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorSpec {
    /// Name in the ONNX graph.
    pub name: String,
    /// Dimensions; `-1` where any size is accepted.
    pub shape: Vec<i64>,
    /// Element type; radlab models use `float32`.
    pub dtype: String,
    /// What the tensor holds, in words.
    #[serde(default)]
    pub description: String,
}

impl TensorSpec {
    /// Whether a concrete shape fits this spec.
    pub fn accepts(&self, shape: &[usize]) -> bool {
        shape.len() == self.shape.len()
            && self
                .shape
                .iter()
                .zip(shape)
                .all(|(&want, &got)| want < 0 || want as usize == got)
    }

    /// The shape written as `[-1, 1, 32, 32]` → `[N, 1, 32, 32]`.
    pub fn shape_text(&self) -> String {
        let dims: Vec<String> = self
            .shape
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                if d >= 0 {
                    d.to_string()
                } else if i == 0 {
                    "N".to_string()
                } else {
                    "*".to_string()
                }
            })
            .collect();
        format!("[{}]", dims.join(", "))
    }
}

/// How CT in HU becomes model input: a linear window clipped to `[0, 1]`,
/// `x = clamp((hu - (center - width / 2)) / width, 0, 1)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Window centre, HU.
    pub window_center: f64,
    /// Window width, HU.
    pub window_width: f64,
    /// Patch or window size in voxels, `[y, x]` or `[z, y, x]`.
    #[serde(default)]
    pub patch_size: Vec<usize>,
    /// Voxel spacing the model was trained at, mm, same order as `patch_size`.
    #[serde(default)]
    pub spacing_mm: Vec<f64>,
    /// Anything else about the input, in words.
    #[serde(default)]
    pub notes: String,
}

impl Preprocessing {
    /// Map one HU value to model input.
    ///
    /// ```
    /// # use radlab_infer::card::Preprocessing;
    /// let p = Preprocessing { window_center: -600.0, window_width: 1500.0,
    ///     patch_size: vec![], spacing_mm: vec![], notes: String::new() };
    /// assert_eq!(p.apply(-1350.0), 0.0);
    /// assert_eq!(p.apply(-600.0), 0.5);
    /// assert_eq!(p.apply(150.0), 1.0);
    /// ```
    pub fn apply(&self, hu: f32) -> f32 {
        window01(hu, self.window_center, self.window_width)
    }
}

/// `clamp((hu - (center - width / 2)) / width, 0, 1)` in f32, the input
/// scaling every radlab model uses (the Python training code does the same).
pub fn window01(hu: f32, center: f64, width: f64) -> f32 {
    let low = (center - width / 2.0) as f32;
    let width = width as f32;
    ((hu - low) / width).clamp(0.0, 1.0)
}

/// Where the model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// Seed of the training run (weights, batches, augmentation).
    pub seed: u64,
    /// What it was trained on.
    pub data: String,
    /// Seeds of the synthetic cases used for training.
    #[serde(default)]
    pub train_case_seeds: Vec<u64>,
    /// Seeds of the held-out validation cases.
    #[serde(default)]
    pub val_case_seeds: Vec<u64>,
    /// Training examples.
    #[serde(default)]
    pub train_examples: usize,
    /// Validation examples.
    #[serde(default)]
    pub val_examples: usize,
    /// Epochs or iterations, as the trainer counts them.
    #[serde(default)]
    pub epochs: usize,
    /// Library versions used (torch, onnx, onnxruntime).
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
}

/// A model card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// Short name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// `classification` or `segmentation`.
    pub task: String,
    /// The ONNX file, relative to the card.
    pub file: String,
    /// sha256 of that file, hex.
    pub sha256: String,
    /// ONNX opset.
    pub opset: i64,
    /// Class or label names, by output index.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Inputs, in graph order.
    pub inputs: Vec<TensorSpec>,
    /// Outputs, in graph order.
    pub outputs: Vec<TensorSpec>,
    /// How HU becomes input.
    pub preprocessing: Preprocessing,
    /// Provenance.
    pub training: Training,
    /// Validation metrics (name → value).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// The card's own path (not in the file).
    #[serde(skip)]
    pub path: PathBuf,
}

impl ModelCard {
    /// Read a card (`.toml`).
    pub fn read(path: &Path) -> Result<ModelCard, InferError> {
        let text = std::fs::read_to_string(path).map_err(|source| InferError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut card: ModelCard = toml::from_str(&text).map_err(|e| InferError::Card {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        card.path = path.to_path_buf();
        if card.inputs.is_empty() || card.outputs.is_empty() {
            return Err(InferError::Card {
                path: path.to_path_buf(),
                message: "a card must list at least one input and one output".into(),
            });
        }
        Ok(card)
    }

    /// The ONNX file beside the card.
    pub fn model_path(&self) -> PathBuf {
        self.path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&self.file)
    }

    /// Check the ONNX file's sha256 against the card.
    pub fn verify_file(&self) -> Result<(), InferError> {
        let model = self.model_path();
        let digest = crate::runtime::sha256_file(&model)?;
        if digest != self.sha256 {
            return Err(InferError::Card {
                path: self.path.clone(),
                message: format!(
                    "{} has sha256 {digest} but the card says {}; the model and its card do not belong together",
                    model.display(),
                    self.sha256
                ),
            });
        }
        Ok(())
    }

    /// The index of a named output.
    pub fn output_index(&self, name: &str) -> Option<usize> {
        self.outputs.iter().position(|o| o.name == name)
    }
}
