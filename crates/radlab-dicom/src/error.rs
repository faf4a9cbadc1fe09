//! Typed errors for everything that reads or writes DICOM.

use std::path::PathBuf;

/// Everything that can go wrong while reading, grouping or writing DICOM.
///
/// Each variant carries the file (or folder) it is about, so that a binary can
/// print one line that names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum DicomError {
    /// The path could not be read at all (missing, permission, not a file).
    //
    // The I/O error is part of the message and deliberately not a `source`:
    // an error chain printed with `{:#}` would otherwise say it twice.
    #[error("{path}: cannot read: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying I/O error.
        error: std::io::Error,
    },
    /// The file is not a DICOM Part 10 file (no `DICM` prefix or unreadable meta group).
    #[error("{path}: not a DICOM file ({reason})")]
    NotDicom {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The file starts as DICOM but its data set could not be parsed (often a truncated file).
    #[error("{path}: damaged or truncated DICOM data set ({reason})")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The object has no Pixel Data (7FE0,0010), e.g. a structured report.
    #[error("{path}: no Pixel Data (7FE0,0010) in this object (SOP class {sop_class})")]
    NoPixelData {
        /// The file.
        path: PathBuf,
        /// SOP Class UID, to tell the user what the object is.
        sop_class: String,
    },
    /// The pixel data uses a transfer syntax that radlab cannot decode in pure Rust.
    #[error(
        "{path}: cannot decode pixel data in transfer syntax {name} ({uid}); convert it first, e.g. `gdcmconv --raw IN OUT` or `dcmdjpls IN OUT`"
    )]
    UnsupportedTransferSyntax {
        /// The file.
        path: PathBuf,
        /// Transfer Syntax UID.
        uid: String,
        /// Its name from the registry, or "unknown".
        name: String,
    },
    /// The pixel data is of a kind a volume cannot hold (colour, 1-bit, float...).
    #[error("{path}: unsupported image: {reason}")]
    UnsupportedImage {
        /// The file.
        path: PathBuf,
        /// Which property is unsupported and why.
        reason: String,
    },
    /// The codec failed on this file's pixel data.
    #[error("{path}: pixel data could not be decoded: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// A required attribute is missing.
    #[error("{path}: missing required attribute {tag} {keyword}")]
    MissingAttribute {
        /// The file.
        path: PathBuf,
        /// Tag as `(gggg,eeee)`.
        tag: String,
        /// The attribute's keyword.
        keyword: &'static str,
    },
    /// An attribute has a value that cannot be used.
    #[error("{path}: invalid value for {tag} {keyword}: '{value}' ({reason})")]
    InvalidValue {
        /// The file.
        path: PathBuf,
        /// Tag as `(gggg,eeee)`.
        tag: String,
        /// The attribute's keyword.
        keyword: &'static str,
        /// The value found.
        value: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A folder holds no readable DICOM image.
    #[error("{path}: no DICOM image found{detail}")]
    NoImages {
        /// The folder.
        path: PathBuf,
        /// Extra detail (e.g. how many files were skipped and why).
        detail: String,
    },
    /// A folder holds several series and none was chosen.
    #[error("{path}: {count} series found; choose one with --series UID: {uids}")]
    AmbiguousSeries {
        /// The folder.
        path: PathBuf,
        /// How many series.
        count: usize,
        /// Their UIDs with a short description, comma separated.
        uids: String,
    },
    /// The requested series is not in the folder.
    #[error("{path}: no series with SeriesInstanceUID {uid}")]
    SeriesNotFound {
        /// The folder.
        path: PathBuf,
        /// The UID asked for.
        uid: String,
    },
    /// The slices cannot be stacked into one volume.
    #[error("{path}: cannot build a volume: {reason}")]
    Geometry {
        /// A file of the series (the one where the problem shows).
        path: PathBuf,
        /// What is inconsistent.
        reason: String,
    },
    /// Writing a file failed.
    #[error("{path}: cannot write: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

impl DicomError {
    /// The file or folder the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            DicomError::Io { path, .. }
            | DicomError::NotDicom { path, .. }
            | DicomError::Malformed { path, .. }
            | DicomError::NoPixelData { path, .. }
            | DicomError::UnsupportedTransferSyntax { path, .. }
            | DicomError::UnsupportedImage { path, .. }
            | DicomError::Decode { path, .. }
            | DicomError::MissingAttribute { path, .. }
            | DicomError::InvalidValue { path, .. }
            | DicomError::NoImages { path, .. }
            | DicomError::AmbiguousSeries { path, .. }
            | DicomError::SeriesNotFound { path, .. }
            | DicomError::Geometry { path, .. }
            | DicomError::Write { path, .. } => path,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = DicomError> = std::result::Result<T, E>;
