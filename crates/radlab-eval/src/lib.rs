//! # radlab-eval
//!
//! The evaluation pipelines the labs share, on the bundled sample data and
//! models: where the data lives, labelled patches from the sample cases,
//! classifying HU patches with any window, scanning a whole series,
//! segmenting a volume with sliding windows, and labelled scans (sample
//! cases, generated negatives, or a user's series with its mask). No
//! command-line concerns: errors are [`EvalError`], and the caller decides
//! what is the user's fault ([`EvalError::is_bad_input`]).

use std::path::{Path, PathBuf};

use ndarray::{Array3, ArrayView3, Axis, s};
use radlab_infer::Model;
use radlab_infer::card::window01;

/// Why an evaluation step failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Reading DICOM failed.
    #[error(transparent)]
    Dicom(#[from] radlab_dicom::DicomError),
    /// Running a model failed.
    #[error(transparent)]
    Infer(#[from] radlab_infer::InferError),
    /// A sample case's truth or labels could not be read.
    #[error(transparent)]
    Synth(#[from] radlab_synth::SynthError),
    /// Arrays of unexpected shape.
    #[error(transparent)]
    Shape(#[from] ndarray::ShapeError),
    /// A metric could not be computed.
    #[error(transparent)]
    Metric(#[from] radlab_metrics::MetricError),
    /// A window preset is unknown.
    #[error(transparent)]
    Imaging(#[from] radlab_imaging::ImagingError),
    /// A predictions file (logits or labels) is unusable.
    #[error("{}{}: {reason}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Predictions {
        /// The file.
        path: PathBuf,
        /// The 1-based line, for text.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// The sample data folder could not be listed.
    #[error("{path}: {error}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The sample data folder holds no labelled case.
    #[error("no labelled sample cases under {0}")]
    NoSampleCases(PathBuf),
    /// A series and its labels disagree in shape.
    #[error(
        "{labels}: the labels are {labels_shape:?} ([z, y, x]) but the series {series} is {series_shape:?}"
    )]
    LabelsMismatch {
        /// The labels file.
        labels: PathBuf,
        /// Its shape.
        labels_shape: (usize, usize, usize),
        /// The series.
        series: PathBuf,
        /// The series' shape.
        series_shape: (usize, usize, usize),
    },
    /// A label mask file is unusable.
    #[error("{path}: {reason}")]
    Labels {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The series is smaller in plane than the classifier's patch.
    #[error(
        "the series is {rows} x {columns} voxels in plane, smaller than the classifier's {size} x {size} patch"
    )]
    TooSmall {
        /// Rows.
        rows: usize,
        /// Columns.
        columns: usize,
        /// The patch size.
        size: usize,
    },
}

impl EvalError {
    /// Whether the input given is at fault (a user's series or labels),
    /// rather than the machine or radlab's own data. A DICOM or inference
    /// error is left to the caller's rules for those types (see
    /// [`EvalError::dicom`] and [`EvalError::infer`]).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            EvalError::LabelsMismatch { .. }
                | EvalError::Labels { .. }
                | EvalError::Predictions { .. }
                | EvalError::TooSmall { .. }
        )
    }

    /// The DICOM error inside, if that is what this is.
    pub fn dicom(&self) -> Option<&radlab_dicom::DicomError> {
        match self {
            EvalError::Dicom(e) => Some(e),
            _ => None,
        }
    }

    /// The inference error inside, if that is what this is.
    pub fn infer(&self) -> Option<&radlab_infer::InferError> {
        match self {
            EvalError::Infer(e) => Some(e),
            _ => None,
        }
    }
}

/// What this crate's functions return.
pub type Result<T> = std::result::Result<T, EvalError>;

pub mod detect;
pub mod experiments;
pub mod npy;
pub mod phantoms;
pub mod predictions;

/// The workspace's `sample_data/` folder (found from this crate's location,
/// so labs work from any current directory), overridable with `RADLAB_SAMPLE_DATA`.
pub fn sample_data_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("RADLAB_SAMPLE_DATA") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sample_data")
}

/// The bundled models (`sample_data/models/`), overridable with `RADLAB_MODELS`.
pub fn models_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("RADLAB_MODELS") {
        return PathBuf::from(p);
    }
    sample_data_dir().join("models")
}

/// The default input of the labs: the first sample case's CT series.
pub fn default_series_dir() -> PathBuf {
    sample_data_dir().join("case-001").join("ct")
}

fn shape(d: (usize, usize, usize)) -> (usize, usize, usize) {
    d
}

/// Axial HU patches `[n, y, x]` with their labels and provenance.
#[derive(Debug, Clone)]
pub struct LabelledPatches {
    /// HU patches `[n, 32, 32]`.
    pub hu: Array3<f32>,
    /// True where a nodule sits at the patch centre.
    pub labels: Vec<bool>,
    /// Case id of each patch.
    pub case_of: Vec<String>,
    /// The cases used.
    pub cases: Vec<String>,
}

/// The sample case folders (`sample_data/case-*`, sorted).
pub fn sample_case_dirs() -> Result<Vec<PathBuf>> {
    let dir = sample_data_dir();
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|error| EvalError::Io {
            path: dir.clone(),
            error,
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    out.sort();
    Ok(out)
}

/// Load each sample case from its DICOM series and sample labelled patches
/// (three slices through every nodule, `negatives` random patches per case),
/// deterministic in `seed`.
pub fn sample_patches(negatives: usize, seed: u64) -> Result<LabelledPatches> {
    let mut hu = Vec::new();
    let mut labels = Vec::new();
    let mut case_of = Vec::new();
    let mut cases = Vec::new();
    for dir in sample_case_dirs()? {
        let truth = radlab_synth::CaseTruth::read(&dir)?;
        let mask = truth.read_labels(&dir)?;
        let series = dir.join(&truth.series_dir);
        let vol = radlab_dicom::load_path(&series, None)?;
        if vol.voxels.dim() != mask.dim() {
            return Err(EvalError::LabelsMismatch {
                labels: dir.join("labels.npy"),
                labels_shape: shape(mask.dim()),
                series,
                series_shape: shape(vol.voxels.dim()),
            });
        }
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let set = radlab_synth::patches::classification_patches(
            vol.voxels.view(),
            mask.view(),
            &truth.centers(),
            &radlab_synth::patches::PatchOptions {
                negatives,
                seed,
                ..Default::default()
            },
        );
        for (patch, &label) in set.patches.outer_iter().zip(&set.labels) {
            hu.push(patch.to_owned());
            labels.push(label == 1);
            case_of.push(id.clone());
        }
        cases.push(id);
    }
    if hu.is_empty() {
        return Err(EvalError::NoSampleCases(sample_data_dir()));
    }
    let views: Vec<_> = hu.iter().map(|p| p.view()).collect();
    Ok(LabelledPatches {
        hu: ndarray::stack(Axis(0), &views)?,
        labels,
        case_of,
        cases,
    })
}

/// How HU becomes classifier input in an experiment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputScaling {
    /// A linear window to `[0, 1]`: `clamp((HU - (c - w/2)) / w, 0, 1)`.
    Window {
        /// Centre, HU.
        center: f64,
        /// Width, HU.
        width: f64,
    },
    /// HU passed through unchanged.
    RawHu,
}

impl InputScaling {
    /// Apply to one HU value.
    pub fn apply(self, hu: f32) -> f32 {
        match self {
            InputScaling::Window { center, width } => window01(hu, center, width),
            InputScaling::RawHu => hu,
        }
    }
}

/// The classifier's raw nodule logits for HU patches `[n, 32, 32]`.
pub fn classify_logits(
    model: &mut Model,
    hu: ArrayView3<'_, f32>,
    scaling: InputScaling,
) -> Result<Vec<f64>> {
    let (n, h, w) = hu.dim();
    let input = hu
        .mapv(|v| scaling.apply(v))
        .into_shape_with_order((n, 1, h, w))?
        .into_dyn();
    let out = model.run_batched(input.view(), 256, &mut |_, _| {})?;
    Ok(out[0].iter().map(|&l| f64::from(l)).collect())
}

/// Nodule probabilities (sigmoid of the logit) for HU patches `[n, 32, 32]`.
pub fn classify(
    model: &mut Model,
    hu: ArrayView3<'_, f32>,
    scaling: InputScaling,
) -> Result<Vec<f64>> {
    Ok(classify_logits(model, hu, scaling)?
        .into_iter()
        .map(radlab_metrics::classification::sigmoid)
        .collect())
}

/// The most suspicious patch of a scan of a whole series.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeriesScan {
    /// Patches classified.
    pub patches: usize,
    /// Highest nodule probability.
    pub max_probability: f64,
    /// Its patch centre `[z, y, x]`.
    pub at_voxel: [usize; 3],
    /// Patches with probability > 0.5.
    pub above_half: usize,
}

/// Classify axial patches on a grid (every `stride` voxels in y and x,
/// every `slice_step` slices) over a series, with the model card's window.
pub fn scan_series(
    model: &mut Model,
    hu: ArrayView3<'_, f32>,
    stride: usize,
    slice_step: usize,
) -> Result<SeriesScan> {
    let p = model.card().preprocessing.clone();
    let size = *p.patch_size.first().unwrap_or(&32);
    let (nz, ny, nx) = hu.dim();
    if ny < size || nx < size {
        return Err(EvalError::TooSmall {
            rows: ny,
            columns: nx,
            size,
        });
    }
    let mut centers = Vec::new();
    for z in (0..nz).step_by(slice_step.max(1)) {
        for y in (0..=ny - size).step_by(stride.max(1)) {
            for x in (0..=nx - size).step_by(stride.max(1)) {
                centers.push([z, y, x]);
            }
        }
    }
    let mut input = ndarray::Array4::<f32>::zeros((centers.len(), 1, size, size));
    for (k, c) in centers.iter().enumerate() {
        let patch = hu.slice(s![c[0], c[1]..c[1] + size, c[2]..c[2] + size]);
        input
            .slice_mut(s![k, 0, .., ..])
            .assign(&patch.mapv(|v| p.apply(v)));
    }
    let out = model.run_batched(input.into_dyn().view(), 256, &mut |_, _| {})?;
    let probs: Vec<f64> = out[0]
        .iter()
        .map(|&l| radlab_metrics::classification::sigmoid(l as f64))
        .collect();
    let (best, &max) = probs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .expect("at least one patch");
    let c = centers[best];
    Ok(SeriesScan {
        patches: probs.len(),
        max_probability: max,
        at_voxel: [c[0], c[1] + size / 2, c[2] + size / 2],
        above_half: probs.iter().filter(|&&q| q > 0.5).count(),
    })
}

/// One labelled CT scan for the segmentation and detection labs.
#[derive(Debug, Clone)]
pub struct LabelledScan {
    /// Case id (`case-001`, or `negative-901` for a generated scan without nodules).
    pub id: String,
    /// HU, `[z, y, x]`.
    pub hu: Array3<f32>,
    /// Labels `[z, y, x]`: 0 background, `n` inside lesion `n`.
    pub labels: Array3<u32>,
    /// Voxel spacing, mm.
    pub spacing: radlab_geometry::Spacing,
    /// Where it came from (a folder, or the generator and seed).
    pub source: String,
    /// What the loader assumed or ignored (see `radlab_dicom::GeometryWarning`).
    pub warnings: Vec<String>,
}

/// The sample cases read from their DICOM series and `labels.npy`, plus a
/// scan without nodules made by radlab-synth for each of `negative_seeds`
/// (named `negative-SEED`; the same every run), so that empty references
/// and false positives in scans without lesions show up.
pub fn labelled_sample_scans(negative_seeds: &[u64]) -> Result<Vec<LabelledScan>> {
    let mut out = Vec::new();
    for dir in sample_case_dirs()? {
        let truth = radlab_synth::CaseTruth::read(&dir)?;
        let labels = truth.read_labels(&dir)?;
        let series = dir.join(&truth.series_dir);
        let vol = radlab_dicom::load_path(&series, None)?;
        if vol.voxels.dim() != labels.dim() {
            return Err(EvalError::LabelsMismatch {
                labels: dir.join("labels.npy"),
                labels_shape: shape(labels.dim()),
                series,
                series_shape: shape(vol.voxels.dim()),
            });
        }
        out.push(LabelledScan {
            id: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            spacing: vol.spacing,
            warnings: vol.warnings.iter().map(|w| w.to_string()).collect(),
            hu: vol.voxels,
            labels: labels.mapv(u32::from),
            source: display_path(&dir),
        });
    }
    if out.is_empty() {
        return Err(EvalError::NoSampleCases(sample_data_dir()));
    }
    for &seed in negative_seeds {
        let mut spec = radlab_synth::CaseSpec::sample(seed);
        spec.nodules = 0;
        let case = radlab_synth::generate_case(&spec);
        out.push(LabelledScan {
            id: format!("negative-{seed}"),
            hu: case.phantom.hu.mapv(f32::from),
            labels: case.phantom.labels.mapv(u32::from),
            spacing: case.phantom.spacing,
            source: format!("radlab-synth seed {seed}, no nodules"),
            warnings: Vec::new(),
        });
    }
    Ok(out)
}

/// The sliding-window settings the labs use with the bundled segmenter:
/// 32 x 96 x 96 windows, 25 % overlap, Gaussian blending (MONAI's defaults
/// for the blend), two windows per forward call.
pub fn segmenter_windows() -> radlab_infer::SlidingWindow {
    radlab_infer::SlidingWindow {
        roi: [32, 96, 96],
        overlap: 0.25,
        blend: radlab_infer::Blend::Gaussian { sigma_scale: 0.125 },
        batch: 2,
        pad_value: 0.0,
    }
}

/// Nodule probability per voxel of an HU volume `[z, y, x]` (same grid, so
/// the volume's spacing applies), from a segmentation model: the card's
/// window, then sliding windows ([`segmenter_windows`]).
pub fn segment(
    model: &mut Model,
    hu: ArrayView3<'_, f32>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Array3<f32>> {
    let p = model.card().preprocessing.clone();
    let input = hu.mapv(|v| p.apply(v));
    let out = model.predict_volume(input.view(), &segmenter_windows(), progress)?;
    Ok(out.index_axis_move(Axis(0), 0))
}

/// Read a label mask saved with NumPy (`numpy.save`): a 3-D array `[z, y, x]`
/// of bool or (unsigned) integers, C order, 0 background and a positive
/// value per lesion. Negative or non-integer data is refused.
pub fn read_labels_npy(path: &Path) -> Result<Array3<u32>> {
    let bad = |why: &str| EvalError::Labels {
        path: path.to_owned(),
        reason: why.into(),
    };
    if !path.is_file() {
        return Err(bad("no such file"));
    }
    let not = || {
        bad(
            "not a 3-D NumPy array of integers or bools in C order (save it with numpy.save(path, labels.astype(numpy.uint8)))",
        )
    };
    let (a, kind) = npy::read_any(path).ok_or_else(not)?;
    if kind == npy::NpyKind::Float || a.ndim() != 3 {
        return Err(not());
    }
    if a.iter().any(|&v| !(0.0..=f64::from(u32::MAX)).contains(&v)) {
        return Err(bad("label values must be 0 (background) or positive"));
    }
    Ok(a.into_dimensionality::<ndarray::Ix3>()?.mapv(|v| v as u32))
}

/// A user's scan: a loaded series (from `input`) and its label mask
/// (`.npy` at `labels`, see [`read_labels_npy`]) on the same grid.
pub fn user_scan(
    volume: radlab_dicom::Volume,
    input: &Path,
    labels: &Path,
) -> Result<LabelledScan> {
    let mask = read_labels_npy(labels)?;
    if volume.voxels.dim() != mask.dim() {
        return Err(EvalError::LabelsMismatch {
            labels: labels.to_owned(),
            labels_shape: shape(mask.dim()),
            series: input.to_owned(),
            series_shape: shape(volume.voxels.dim()),
        });
    }
    Ok(LabelledScan {
        id: input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into()),
        spacing: volume.spacing,
        warnings: volume.warnings.iter().map(|w| w.to_string()).collect(),
        hu: volume.voxels,
        labels: mask,
        source: display_path(input),
    })
}

/// Show a path relative to the current directory when it is inside it
/// (how labelled scans, and the labs' reports, name files).
pub fn display_path(p: &Path) -> String {
    let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize) {
        if let Ok(rel) = canon.strip_prefix(&cwd) {
            return rel.display().to_string();
        }
    }
    canon.display().to_string()
}
