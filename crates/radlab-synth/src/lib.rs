//! # radlab-synth
//!
//! Deterministic synthetic chest-CT phantoms: body wall, lungs with vessels
//! and texture, heart and aorta, airway, spine, ribs and sternum, and lung
//! nodules (solid, part-solid, ground-glass; 3-30 mm) with a label mask and a
//! nodule list. Three fictional scanner vendors differ in noise, blur and
//! header identity. Headers carry invented identifying data for the
//! de-identification lab; one option burns identifying text into the pixels.
//!
//! Everything comes from a seed: the same seed gives the same bytes.
//! Arrays are `[z, y, x]`, spacing a [`Spacing`] in mm, positions LPS mm.
//!
//! ```
//! use radlab_synth::{CaseSpec, Spacing, generate_case};
//! let spec = CaseSpec { shape: [8, 48, 48], spacing: Spacing::new(5.0, 7.0, 7.0), ..CaseSpec::sample(1) };
//! let case = generate_case(&spec);
//! assert_eq!(case.phantom.hu.shape(), &[8, 48, 48]);
//! ```

pub mod identity;
pub mod labels;
pub mod patches;
pub mod phantom;
pub mod readers;
pub mod vendor;
pub mod writer;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use identity::Identity;
pub use phantom::{Nodule, NoduleKind, Phantom, PhantomSpec};
/// Voxel spacing `[z, y, x]` in mm, as the generated cases carry it.
pub use radlab_geometry::Spacing;
pub use vendor::{VENDORS, Vendor};

/// Errors while writing synthetic data.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A file or folder could not be written.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// Building or encoding a DICOM object failed.
    #[error("DICOM: {0}")]
    Dicom(String),
}

/// The version of the generator; recorded in every manifest.
pub const GENERATOR_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything that defines one synthetic case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseSpec {
    /// Case id, used as the folder name.
    pub id: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// Grid shape `[z, y, x]`.
    pub shape: [usize; 3],
    /// Voxel spacing, mm.
    pub spacing: Spacing,
    /// Index into [`VENDORS`].
    pub vendor: usize,
    /// Number of nodules.
    pub nodules: usize,
    /// PatientSex, `F` or `M`.
    pub sex: &'static str,
    /// Age at the study, years.
    pub age_years: u32,
    /// Burn identifying text into the pixels (and set BurnedInAnnotation YES).
    pub burned_in: bool,
}

impl CaseSpec {
    /// A sample-sized case (192 x 192 x 64, 1.8 mm in plane, 2.5 mm slices).
    pub fn sample(seed: u64) -> Self {
        CaseSpec {
            id: format!("case-{seed:03}"),
            seed,
            shape: [64, 192, 192],
            spacing: Spacing::new(2.5, 1.8, 1.8),
            vendor: (seed as usize + 2) % VENDORS.len(),
            nodules: 3,
            sex: if seed % 2 == 0 { "M" } else { "F" },
            age_years: 40 + (seed as u32 * 11) % 45,
            burned_in: false,
        }
    }
}

/// A generated case: the phantom plus its identity.
#[derive(Debug, Clone)]
pub struct Case {
    /// What was asked for.
    pub spec: CaseSpec,
    /// HU, labels, nodules and geometry.
    pub phantom: Phantom,
    /// The invented patient and visit.
    pub identity: Identity,
}

/// Generate a case deterministically.
pub fn generate_case(spec: &CaseSpec) -> Case {
    use rand::SeedableRng;
    let vendor = &VENDORS[spec.vendor % VENDORS.len()];
    let phantom = phantom::generate(
        &PhantomSpec {
            seed: spec.seed,
            shape: spec.shape,
            spacing: spec.spacing,
            nodules: spec.nodules,
        },
        vendor,
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed.wrapping_add(0xA11CE));
    let identity = identity::make(&mut rng, spec.sex, spec.age_years);
    Case {
        spec: spec.clone(),
        phantom,
        identity,
    }
}

/// The ground truth written beside the series as `case.json`.
#[derive(Debug, Serialize)]
pub struct CaseRecord<'a> {
    /// Generator version.
    pub generator_version: &'static str,
    /// The spec (seed included).
    pub spec: &'a CaseSpec,
    /// Scanner profile.
    pub vendor: &'a Vendor,
    /// LPS position of voxel `[0, 0, 0]`, mm.
    pub origin_mm: [f64; 3],
    /// Voxel spacing, mm.
    pub spacing_mm: Spacing,
    /// Ground-truth nodules.
    pub nodules: &'a [Nodule],
    /// The identifying values written into the headers (all invented).
    pub identity: &'a Identity,
    /// Text burned into pixels, if any.
    pub burned_in_text: Vec<String>,
    /// Where the label mask is: a NumPy `.npy` file of u8, `[z, y, x]`, z ascending (inferior to superior).
    pub labels_file: &'static str,
    /// Folder of the DICOM series.
    pub series_dir: &'static str,
}

/// Write a case into `dir`: `ct/` (the DICOM series), `labels.npy` and `case.json`.
pub fn write_case(case: &Case, dir: &Path) -> Result<Vec<PathBuf>, SynthError> {
    use ndarray_npy::WriteNpyExt;
    let io = |path: &Path, e: String| SynthError::Io {
        path: path.to_owned(),
        reason: e,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e.to_string()))?;
    let vendor = &VENDORS[case.spec.vendor % VENDORS.len()];
    let mut files = writer::write_series(
        &case.phantom,
        &writer::SeriesHeader {
            seed: case.spec.seed,
            vendor,
            identity: &case.identity,
            burned_in: case.spec.burned_in,
        },
        &dir.join("ct"),
    )?;
    let labels_path = dir.join("labels.npy");
    let mut npy = Vec::new();
    case.phantom
        .labels
        .write_npy(&mut npy)
        .map_err(|e| io(&labels_path, e.to_string()))?;
    radlab_dicom::write::write_atomic(&labels_path, &npy)
        .map_err(|e| io(&labels_path, e.to_string()))?;
    files.push(labels_path);
    let record = CaseRecord {
        generator_version: GENERATOR_VERSION,
        spec: &case.spec,
        vendor,
        origin_mm: case.phantom.origin,
        spacing_mm: case.phantom.spacing,
        nodules: &case.phantom.nodules,
        identity: &case.identity,
        burned_in_text: if case.spec.burned_in {
            writer::burned_in_lines(&case.identity)
        } else {
            Vec::new()
        },
        labels_file: "labels.npy",
        series_dir: "ct",
    };
    let json_path = dir.join("case.json");
    let mut text =
        serde_json::to_string_pretty(&record).map_err(|e| io(&json_path, e.to_string()))?;
    text.push('\n');
    radlab_dicom::write::write_atomic(&json_path, text.as_bytes())
        .map_err(|e| io(&json_path, e.to_string()))?;
    files.push(json_path);
    Ok(files)
}

/// The ground truth read back from a case folder's `case.json`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct CaseTruth {
    /// Nodules (centres in LPS mm and as `[z, y, x]` voxel indices).
    pub nodules: Vec<Nodule>,
    /// Voxel spacing, mm.
    pub spacing_mm: Spacing,
    /// LPS position of voxel `[0, 0, 0]`, mm.
    pub origin_mm: [f64; 3],
    /// The label mask file, relative to the case folder.
    pub labels_file: String,
    /// The DICOM series folder, relative to the case folder.
    pub series_dir: String,
}

impl CaseTruth {
    /// Read `case.json` from a case folder.
    pub fn read(case_dir: &Path) -> Result<CaseTruth, SynthError> {
        let path = case_dir.join("case.json");
        let text = std::fs::read_to_string(&path).map_err(|e| SynthError::Io {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| SynthError::Io {
            path,
            reason: format!("not a radlab case.json: {e}"),
        })
    }

    /// Read the label mask (`[z, y, x]`, 0 background, n inside nodule n).
    pub fn read_labels(&self, case_dir: &Path) -> Result<ndarray::Array3<u8>, SynthError> {
        let path = case_dir.join(&self.labels_file);
        ndarray_npy::read_npy(&path).map_err(|e| SynthError::Io {
            path,
            reason: e.to_string(),
        })
    }

    /// Nodule centres as `[z, y, x]` voxel indices.
    pub fn centers(&self) -> Vec<[f64; 3]> {
        self.nodules.iter().map(|n| n.center_voxel).collect()
    }
}

/// The committed sample set: four cases, three vendors, both sexes, a range
/// of ages, and one case with identifying text burned into its pixels.
pub fn sample_specs() -> Vec<CaseSpec> {
    let mut specs: Vec<CaseSpec> = (1..=4).map(CaseSpec::sample).collect();
    specs[1].nodules = 4;
    specs[3].burned_in = true;
    specs
}
