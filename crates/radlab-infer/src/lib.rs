//! ONNX inference for radlab.
//!
//! - [`runtime`] finds ONNX Runtime's shared library, installing the pinned
//!   PyPI build into the user's cache when it is missing, and loads it once
//!   per process;
//! - [`device`] turns `--device auto|cpu|cuda` into an execution provider and
//!   says why `auto` fell back to the CPU;
//! - [`card`] reads the model card beside each `.onnx` file;
//! - [`model`] runs a checked session, in batches;
//! - [`sliding`] runs a model over a whole volume in overlapping windows, as
//!   MONAI's `sliding_window_inference` does.
//!
//! Arrays are `[z, y, x]` (volumes) or `[batch, channel, ...]` (model
//! tensors); spacing is carried by the caller and is unchanged by inference.
//!
//! ```no_run
//! use radlab_infer::{Model, ModelOptions};
//! let mut model = Model::load("sample_data/models/nodule_classifier.toml".as_ref(),
//!     &ModelOptions::default())?;
//! println!("running on {}", model.placement());
//! let patches = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[4, 1, 32, 32]));
//! let outputs = model.run(patches.view())?;
//! println!("logits {:?}", outputs[0]);
//! # Ok::<(), radlab_infer::InferError>(())
//! ```

pub mod card;
pub mod cuda;
pub mod device;
pub mod model;
pub mod runtime;
pub mod sliding;

use std::path::PathBuf;

pub use card::ModelCard;
pub use device::{Device, ExecutionProvider, Placement};
pub use model::{Model, ModelOptions, NodePlacement, node_placement};
pub use sliding::{Blend, SlidingWindow};

/// What can go wrong while running a model.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// ONNX Runtime could not be found, installed or loaded.
    #[error("ONNX Runtime: {0}")]
    Runtime(String),
    /// `--device cuda` cannot be honoured here.
    #[error("{0}")]
    CudaUnavailable(String),
    /// A model card is malformed or does not match its model.
    #[error("model card {path}: {message}")]
    Card {
        /// The card.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An input does not have the shape the model takes.
    #[error("model {model}: input '{input}' must have shape {expected}, got {got}")]
    InputShape {
        /// Model name.
        model: String,
        /// Input name.
        input: String,
        /// Shape from the card.
        expected: String,
        /// Shape given.
        got: String,
    },
    /// ONNX Runtime reported an error.
    #[error("ONNX Runtime: {0}")]
    Ort(String),
    /// Invalid settings (sliding window, batch).
    #[error("{0}")]
    Settings(String),
}

impl Model {
    /// Run a segmentation model over a whole volume of model input
    /// (`[z, y, x]`, already preprocessed) in sliding windows; returns the
    /// model's first output blended to `[channel, z, y, x]`.
    pub fn predict_volume(
        &mut self,
        input: ndarray::ArrayView3<'_, f32>,
        settings: &SlidingWindow,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ndarray::Array4<f32>, InferError> {
        settings.run(
            input,
            &mut |windows| {
                let out = self.run(windows.into_dyn())?;
                let first = out.into_iter().next().expect("models have outputs");
                first
                    .into_dimensionality::<ndarray::Ix5>()
                    .map_err(|e| InferError::Settings(format!("model output is not 5-D: {e}")))
            },
            progress,
        )
    }
}
