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
        Self::load_with(card_path, options, None)
    }

    /// [`Model::load`], with ONNX Runtime's profiler writing to files named
    /// from `profile` when given (see [`node_placement`]).
    fn load_with(
        card_path: &Path,
        options: &ModelOptions,
        profile: Option<&Path>,
    ) -> Result<Model, InferError> {
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
        let builder = match profile {
            Some(prefix) => builder
                .with_profiling(prefix)
                .map_err(|e| ort_error("profiling", e))?,
            None => builder,
        };
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

/// Which execution provider ran each node of a model's graph.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodePlacement {
    /// The model.
    pub model: String,
    /// Provider name -> the nodes it ran, as `name (op type)`, sorted.
    pub by_provider: std::collections::BTreeMap<String, Vec<String>>,
}

impl NodePlacement {
    /// Nodes run by `provider` (an ONNX Runtime name such as
    /// `CUDAExecutionProvider`).
    pub fn count(&self, provider: &str) -> usize {
        self.by_provider.get(provider).map_or(0, Vec::len)
    }

    /// Nodes run by any provider.
    pub fn total(&self) -> usize {
        self.by_provider.values().map(Vec::len).sum()
    }

    /// The nodes that did not run on `provider`, as `node (op) on provider`.
    pub fn elsewhere(&self, provider: &str) -> Vec<String> {
        self.by_provider
            .iter()
            .filter(|(p, _)| p.as_str() != provider)
            .flat_map(|(p, nodes)| nodes.iter().map(move |n| format!("{n} on {p}")))
            .collect()
    }
}

impl std::fmt::Display for NodePlacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .by_provider
            .iter()
            .map(|(p, n)| format!("{} on {p}", n.len()))
            .collect();
        write!(f, "{} nodes: {}", self.total(), parts.join(", "))
    }
}

/// Load the model a card describes on `options.device`, run it once on
/// zeros (batch 1; free dimensions take the card's patch size, else 16)
/// with ONNX Runtime's profiler on, and read from the profile which
/// provider ran each node. ONNX Runtime assigns nodes the CUDA provider
/// cannot run to the CPU without saying so; this is how `--device cuda`
/// proves that nothing fell back.
pub fn node_placement(
    card_path: &Path,
    options: &ModelOptions,
) -> Result<NodePlacement, InferError> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("radlab-profile-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| InferError::Io {
        path: dir.clone(),
        source: e,
    })?;
    let result = (|| {
        let mut model = Model::load_with(card_path, options, Some(&dir.join("profile")))?;
        let shape = probe_shape(&model.card);
        model.run(ndarray::ArrayD::<f32>::zeros(shape).view())?;
        let file = model
            .session
            .end_profiling()
            .map_err(|e| ort_error("ending the profile", e))?;
        // ONNX Runtime names the file relative to the working directory
        // unless the prefix was absolute, as here.
        let text = std::fs::read_to_string(&file).map_err(|e| InferError::Io {
            path: file.clone().into(),
            source: e,
        })?;
        let _ = std::fs::remove_file(&file);
        parse_profile(&model.card.name, &text)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn probe_shape(card: &ModelCard) -> Vec<usize> {
    let dims = &card.inputs[0].shape;
    let free = dims.iter().skip(1).filter(|&&d| d < 0).count();
    let patch = &card.preprocessing.patch_size;
    let mut from_patch = patch.iter().copied();
    dims.iter()
        .enumerate()
        .map(|(i, &d)| match (i, d) {
            (_, d) if d >= 0 => d as usize,
            (0, _) => 1,
            _ if patch.len() == free => from_patch.next().unwrap_or(16),
            _ => 16,
        })
        .collect()
}

/// Node events of an ONNX Runtime profile (a JSON array of trace events;
/// node events have `"cat": "Node"` and `args.provider`, `args.op_name`).
/// Each node is counted once, under the provider that ran it.
pub fn parse_profile(model: &str, text: &str) -> Result<NodePlacement, InferError> {
    let events: Vec<serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| ort_error("reading the profile", format!("not a JSON array: {e}")))?;
    let mut by_provider: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for e in &events {
        if e["cat"] != "Node" {
            continue;
        }
        let (Some(provider), Some(name)) = (e["args"]["provider"].as_str(), e["name"].as_str())
        else {
            continue;
        };
        // Each node appears as name_fence_before, name_kernel_time and
        // name_fence_after; the kernel event names the node.
        let Some(node) = name.strip_suffix("_kernel_time") else {
            continue;
        };
        let op = e["args"]["op_name"].as_str().unwrap_or("?");
        by_provider
            .entry(provider.to_string())
            .or_default()
            .insert(format!("{node} ({op})"));
    }
    if by_provider.is_empty() {
        return Err(ort_error(
            "reading the profile",
            "no node events: the profile format changed",
        ));
    }
    Ok(NodePlacement {
        model: model.to_string(),
        by_provider: by_provider
            .into_iter()
            .map(|(p, n)| (p, n.into_iter().collect()))
            .collect(),
    })
}
