//! A model: an ONNX Runtime session checked against its card.

use std::path::Path;

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use crate::InferError;
use crate::card::{ModelCard, TensorSpec};
use crate::device::{self, Device, Placement};
use crate::runtime;

/// How to run a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelOptions {
    /// Where to run it.
    pub device: Device,
    /// ONNX Runtime intra-op threads (None: ONNX Runtime's default, one per core).
    pub threads: Option<usize>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            device: Device::Auto,
            threads: None,
        }
    }
}

/// A loaded model. The session is created once and reused for every call.
pub struct Model {
    session: Session,
    card: ModelCard,
    placement: Placement,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("card", &self.card.name)
            .field("placement", &self.placement)
            .finish()
    }
}

fn ort_error(context: &str, e: impl std::fmt::Display) -> InferError {
    InferError::Ort(format!("{context}: {e}"))
}

impl Model {
    /// Load the model a card describes: check the file's sha256, start ONNX
    /// Runtime (installing it when needed), create the session on the
    /// requested device and check the graph's inputs and outputs against
    /// the card.
    pub fn load(card_path: &Path, options: &ModelOptions) -> Result<Model, InferError> {
        let card = ModelCard::read(card_path)?;
        card.verify_file()?;
        let (flavour, reason) = device::flavour_for(options.device)?;
        let rt = runtime::runtime(flavour)?;
        let mut builder = Session::builder(&rt.env).map_err(|e| ort_error("session options", e))?;
        if let Some(threads) = options.threads {
            builder = builder
                .with_intra_threads(threads.max(1))
                .map_err(|e| ort_error("thread count", e))?;
        }
        // ONNX Runtime's idle threads spin after each call by default,
        // taking the cores the caller needs between calls (blending windows,
        // preparing the next batch); radlab turns that off.
        let builder = builder
            .with_intra_op_spinning(false)
            .map_err(|e| ort_error("thread spinning", e))?
            .with_inter_op_spinning(false)
            .map_err(|e| ort_error("thread spinning", e))?;
        let (mut builder, placement) = device::configure(builder, options.device, rt, reason)?;
        let model_path = card.model_path();
        let session = builder
            .commit_from_file(&model_path)
            .map_err(|e| ort_error(&format!("loading {}", model_path.display()), e))?;
        check_outlets(&card, "input", &card.inputs, session.inputs())?;
        check_outlets(&card, "output", &card.outputs, session.outputs())?;
        if card.inputs.len() != 1 {
            return Err(InferError::Card {
                path: card.path.clone(),
                message: format!(
                    "radlab runs single-input models; this card lists {}",
                    card.inputs.len()
                ),
            });
        }
        tracing::info!(model = %card.name, placement = %placement, "model loaded");
        Ok(Model {
            session,
            card,
            placement,
        })
    }

    /// The card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Where it runs, and why when that is not what was asked for.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// Check an input shape against the card, with a message naming both.
    pub fn check_input(&self, shape: &[usize]) -> Result<(), InferError> {
        let spec = &self.card.inputs[0];
        if spec.accepts(shape) && shape.iter().all(|&d| d > 0) {
            Ok(())
        } else {
            Err(InferError::InputShape {
                model: self.card.name.clone(),
                input: spec.name.clone(),
                expected: spec.shape_text(),
                got: format!("{shape:?}"),
            })
        }
    }

    /// Run one batch (axis 0 is the batch). Returns every output in card
    /// order. The input is checked against the card first, so a wrong shape
    /// is a clear error rather than an ONNX Runtime failure.
    pub fn run(&mut self, input: ArrayViewD<'_, f32>) -> Result<Vec<ArrayD<f32>>, InferError> {
        self.check_input(input.shape())?;
        let owned;
        let input = if input.is_standard_layout() {
            input
        } else {
            owned = input.as_standard_layout().into_owned();
            owned.view()
        };
        let tensor = TensorRef::from_array_view(input).map_err(|e| ort_error("input tensor", e))?;
        let outputs = self
            .session
            .run(ort::inputs![tensor])
            .map_err(|e| ort_error(&format!("running {}", self.card.name), e))?;
        self.card
            .outputs
            .iter()
            .map(|spec| {
                let value = outputs.get(spec.name.as_str()).ok_or_else(|| {
                    ort_error("outputs", format!("no output named {}", spec.name))
                })?;
                let view = value
                    .try_extract_array::<f32>()
                    .map_err(|e| ort_error(&format!("output {}", spec.name), e))?;
                Ok(view.to_owned())
            })
            .collect()
    }

    /// Run many examples in batches of `batch` along axis 0 and join the
    /// outputs. `progress` is called with (done, total) after each batch.
    pub fn run_batched(
        &mut self,
        input: ArrayViewD<'_, f32>,
        batch: usize,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<ArrayD<f32>>, InferError> {
        let n = input.shape().first().copied().unwrap_or(0);
        if n == 0 {
            return Err(InferError::InputShape {
                model: self.card.name.clone(),
                input: self.card.inputs[0].name.clone(),
                expected: self.card.inputs[0].shape_text(),
                got: format!("{:?}", input.shape()),
            });
        }
        let batch = batch.max(1);
        let mut parts: Vec<Vec<ArrayD<f32>>> = Vec::new();
        let mut start = 0;
        while start < n {
            let end = (start + batch).min(n);
            let chunk = input.slice_axis(Axis(0), (start..end).into());
            parts.push(self.run(chunk)?);
            progress(end, n);
            start = end;
        }
        let outputs = self.card.outputs.len();
        (0..outputs)
            .map(|o| {
                let views: Vec<_> = parts.iter().map(|p| p[o].view()).collect();
                ndarray::concatenate(Axis(0), &views).map_err(|e| ort_error("joining batches", e))
            })
            .collect()
    }
}

fn check_outlets(
    card: &ModelCard,
    kind: &str,
    specs: &[TensorSpec],
    outlets: &[ort::value::Outlet],
) -> Result<(), InferError> {
    let mismatch = |message: String| InferError::Card {
        path: card.path.clone(),
        message,
    };
    if specs.len() != outlets.len() {
        return Err(mismatch(format!(
            "the card lists {} {kind}s, the ONNX graph has {}",
            specs.len(),
            outlets.len()
        )));
    }
    for (spec, outlet) in specs.iter().zip(outlets) {
        if spec.name != outlet.name() {
            return Err(mismatch(format!(
                "{kind} '{}' in the card is '{}' in the graph",
                spec.name,
                outlet.name()
            )));
        }
        match outlet.dtype() {
            ValueType::Tensor { ty, shape, .. } => {
                if *ty != TensorElementType::Float32 || spec.dtype != "float32" {
                    return Err(mismatch(format!(
                        "{kind} '{}' is {ty:?} in the graph and {} in the card; radlab runs float32 models",
                        spec.name, spec.dtype
                    )));
                }
                let graph: Vec<i64> = shape.iter().copied().collect();
                let agree = graph.len() == spec.shape.len()
                    && graph
                        .iter()
                        .zip(&spec.shape)
                        .all(|(&g, &c)| g < 0 || c < 0 || g == c);
                if !agree {
                    return Err(mismatch(format!(
                        "{kind} '{}' has shape {graph:?} in the graph and {:?} in the card",
                        spec.name, spec.shape
                    )));
                }
            }
            other => {
                return Err(mismatch(format!(
                    "{kind} '{}' is not a tensor ({other:?})",
                    spec.name
                )));
            }
        }
    }
    Ok(())
}

/// Shape helper: `[n, rest...]`.
pub fn batch_shape(n: usize, rest: &[usize]) -> IxDyn {
    let mut dims = vec![n];
    dims.extend_from_slice(rest);
    IxDyn(&dims)
}
