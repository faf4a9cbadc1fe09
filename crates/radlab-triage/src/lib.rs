//! # radlab-triage
//!
//! A triage node as hospitals run them: a DICOM listener receives studies
//! from the scanner or the PACS, a rule decides when each is complete,
//! routing rules pick the series worth analysing, a priority queue orders
//! the work, the models run, the results (SEG and TID 1500 SR) go back to
//! the PACS with retries, and a finding above a threshold raises an alert.
//! Every study gets a [`timeline::Timeline`] of each step.
//!
//! * [`complete`]: the completeness rule (quiet period, expected count);
//! * [`rules`]: routing rules in TOML;
//! * [`queue`]: priority queue, first come first served among equals;
//! * [`analyze`]: the nodule analysis (and the [`analyze::Analyzer`] trait);
//! * [`deliver`]: C-STORE or STOW-RS with exponential backoff;
//! * [`alert`]: the alert line and its webhook;
//! * [`journal`]: what survives a restart;
//! * [`timeline`]: timelines and nearest-rank percentiles;
//! * [`service`]: the whole, on threads.

pub mod alert;
pub mod analyze;
pub mod complete;
pub mod deliver;
pub mod journal;
pub mod queue;
pub mod rules;
pub mod service;
pub mod timeline;

pub use service::{Event, Options, Service, Summary};

/// What can go wrong in the triage service.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// The rules file cannot be read or is wrong.
    #[error("{path}: {reason}")]
    Rules {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong, naming the route and the key.
        reason: String,
    },
    /// Reading the study failed.
    #[error(transparent)]
    Dicom(#[from] radlab_dicom::DicomError),
    /// Loading or running a model failed.
    #[error(transparent)]
    Infer(#[from] radlab_infer::InferError),
    /// An evaluation step failed.
    #[error(transparent)]
    Eval(#[from] radlab_eval::EvalError),
    /// Making a result object failed.
    #[error(transparent)]
    Results(#[from] radlab_results::ResultsError),
    /// The listener or the PACS client failed.
    #[error(transparent)]
    Pacs(#[from] radlab_pacs::PacsError),
    /// Another analysis failure, in words.
    #[error("analysis: {0}")]
    Analysis(String),
    /// The destination did not take the results.
    #[error("{destination}: {attempts} attempt(s) failed; last: {reason}")]
    Delivery {
        /// Where.
        destination: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        reason: String,
    },
    /// Local I/O.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
}
