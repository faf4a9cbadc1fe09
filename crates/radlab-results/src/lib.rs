//! # radlab-results
//!
//! The DICOM objects an AI result travels back to the PACS in:
//!
//! * [`seg`]: a binary Segmentation, one segment per finding, frames
//!   referencing their source CT instances;
//! * [`tid1500`]: a TID 1500 Imaging Measurement Report as Comprehensive 3D
//!   SR, one TID 1411 measurement group per finding;
//! * [`sc`]: a Secondary Capture picture of a result, marked not for
//!   diagnostic use, referencing its source slice;
//! * [`check`]: radlab's own TID 1500/1411 template and UCUM-grammar checker
//!   (the offline validators check IODs, not templates).
//!
//! Every UID is derived from the inputs and the algorithm's version, so a
//! rerun on the same series with the same model writes the same objects.
//! Arrays are `[z, y, x]`, spacing `(z, y, x)` in mm, positions LPS.

pub mod check;
pub mod dataset;
pub mod finding;
pub mod sc;
pub mod seg;
pub mod source;
pub mod sr;
pub mod tid1500;

use std::path::PathBuf;

pub use finding::Finding;
pub use source::SourceSeries;

/// A coded concept: (value, coding scheme designator, meaning).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Code {
    /// Code Value (or Long Code Value).
    pub value: String,
    /// Coding Scheme Designator, e.g. `DCM`, `SCT`, `UCUM`.
    pub scheme: String,
    /// Code Meaning.
    pub meaning: String,
}

impl Code {
    /// A code from its three parts.
    pub fn new(value: &str, scheme: &str, meaning: &str) -> Code {
        Code {
            value: value.into(),
            scheme: scheme.into(),
            meaning: meaning.into(),
        }
    }

    /// True when value and scheme match (the meaning is free text).
    pub fn is(&self, value: &str, scheme: &str) -> bool {
        self.value == value && self.scheme == scheme
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {}, \"{}\")", self.value, self.scheme, self.meaning)
    }
}

/// The algorithm that produced a result, as the result objects name it.
///
/// The model cards carry no separate version string: the version is the
/// first 16 hex digits of the ONNX file's sha256, so new weights are a new
/// version and a new Device UID (as IHE AI Results asks).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Algorithm {
    /// Algorithm and device name, e.g. `nodule-segmenter`.
    pub name: String,
    /// Algorithm version.
    pub version: String,
    /// Manufacturer written in the equipment modules.
    pub manufacturer: String,
}

impl Algorithm {
    /// An algorithm named `name` whose weights hash to `sha256` (hex).
    pub fn from_weights(name: &str, sha256: &str) -> Algorithm {
        Algorithm {
            name: name.into(),
            version: format!("sha256:{}", &sha256[..sha256.len().min(16)]),
            manufacturer: "radlab".into(),
        }
    }

    /// The Device UID: derived from name and version only.
    pub fn device_uid(&self) -> String {
        radlab_dicom::uid::derived(0, &format!("device|{}|{}", self.name, self.version))
    }
}

/// Why a result object could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// A source file could not be read.
    #[error("{path}: {reason}")]
    Source {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An input does not fit the source series.
    #[error("{0}")]
    Input(String),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] radlab_dicom::DicomError),
    /// The object could not be encoded.
    #[error("encoding {what}: {reason}")]
    Encode {
        /// Which object.
        what: &'static str,
        /// The encoder's words.
        reason: String,
    },
}

/// UIDs of the result objects: one derivation, so every writer agrees.
pub fn result_uid(source: &SourceSeries, algorithm: &Algorithm, what: &str) -> String {
    radlab_dicom::uid::derived(
        0,
        &format!(
            "result|{}|{}|{what}",
            source.series_uid,
            algorithm.device_uid()
        ),
    )
}

/// A DICOM date (`YYYYMMDD`) and time (`HHMMSS`) for the content of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// DA.
    pub date: String,
    /// TM.
    pub time: String,
}

impl Created {
    /// Now, in UTC. By hand from `SystemTime` (days to civil date, Howard
    /// Hinnant's algorithm) because the workspace's chrono has no clock.
    pub fn now_utc() -> Created {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Created::from_unix(secs)
    }

    /// From seconds since 1970-01-01T00:00:00Z.
    ///
    /// ```
    /// let c = radlab_results::Created::from_unix(951_782_400 + 3_723);
    /// assert_eq!((c.date.as_str(), c.time.as_str()), ("20000229", "010203"));
    /// ```
    pub fn from_unix(secs: u64) -> Created {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Created {
            date: format!("{y:04}{m:02}{d:02}"),
            time: format!("{:02}{:02}{:02}", rem / 3600, rem / 60 % 60, rem % 60),
        }
    }
}

/// Common parts of every result object: SOP Common, patient and study,
/// equipment (General and Enhanced General), and the contributing algorithm.
///
/// Contributing Equipment convention: Purpose of Reference is DICOM's own
/// (109102, DCM, "Processing Equipment") from CID 7005, not IHE AI
/// Results' provisional (Newcode1, 99IHE, "Processing Algorithm"): a code
/// defined in PS3.16 is one every reader knows, and highdicom accepts it.
/// Device UID is written there as IHE AIR asks, derived from the model's
/// version ([`Algorithm::device_uid`]).
pub(crate) fn common_module(
    o: &mut dicom_object::InMemDicomObject,
    source: &SourceSeries,
    algorithm: &Algorithm,
    sop_class: &str,
    sop_instance: &str,
    created: &Created,
) {
    use dataset::*;
    use dicom_core::VR;
    use dicom_dictionary_std::tags;
    put(o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    put(o, tags::SOP_CLASS_UID, VR::UI, sop_class);
    put(o, tags::SOP_INSTANCE_UID, VR::UI, sop_instance);
    put(o, tags::INSTANCE_CREATION_DATE, VR::DA, &created.date);
    put(o, tags::INSTANCE_CREATION_TIME, VR::TM, &created.time);
    put(o, tags::CONTENT_DATE, VR::DA, &created.date);
    put(o, tags::CONTENT_TIME, VR::TM, &created.time);
    for e in source.patient_study.iter() {
        o.put(e.clone());
    }
    put(o, tags::MANUFACTURER, VR::LO, &algorithm.manufacturer);
    put(o, tags::MANUFACTURER_MODEL_NAME, VR::LO, &algorithm.name);
    put(o, tags::DEVICE_SERIAL_NUMBER, VR::LO, &algorithm.version);
    put(o, tags::SOFTWARE_VERSIONS, VR::LO, &algorithm.version);
    let mut eq = dicom_object::InMemDicomObject::new_empty();
    put(&mut eq, tags::MANUFACTURER, VR::LO, &algorithm.manufacturer);
    put(
        &mut eq,
        tags::MANUFACTURER_MODEL_NAME,
        VR::LO,
        &algorithm.name,
    );
    put(&mut eq, tags::SOFTWARE_VERSIONS, VR::LO, &algorithm.version);
    put(&mut eq, tags::DEVICE_UID, VR::UI, &algorithm.device_uid());
    put_code(
        &mut eq,
        tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
        &Code::new("109102", "DCM", "Processing Equipment"),
    );
    put_seq(o, tags::CONTRIBUTING_EQUIPMENT_SEQUENCE, vec![eq]);
}

/// Wrap a data set with its file meta group (Explicit VR Little Endian) and
/// encode it.
pub(crate) fn to_file(
    o: dicom_object::InMemDicomObject,
    what: &'static str,
) -> Result<dicom_object::DefaultDicomObject, ResultsError> {
    let meta = dicom_object::FileMetaTableBuilder::new()
        .transfer_syntax(dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .implementation_class_uid(radlab_dicom::uid::derived(0, "radlab implementation"))
        .implementation_version_name("RADLAB_0_1");
    o.with_meta(meta).map_err(|e| ResultsError::Encode {
        what,
        reason: e.to_string(),
    })
}
