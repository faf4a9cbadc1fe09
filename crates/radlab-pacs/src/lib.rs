//! # radlab-pacs
//!
//! The PACS a result goes back to, run for real on loopback:
//!
//! * [`orthanc`]: find (or install, from Debian's packages) Orthanc and its
//!   DICOMweb plugin, start it on free loopback ports with a temporary
//!   storage folder, wait until it answers, stop it by its PID;
//! * [`dicomweb`]: a DICOMweb client on `ureq`: STOW-RS, QIDO-RS, WADO-RS;
//! * [`scu`]: C-ECHO and C-STORE as a client;
//! * [`scp`]: a C-STORE listener that acknowledges an instance only once it
//!   is durable on disk.
//!
//! Orthanc has no bind-address option: it listens on every interface.
//! radlab only ever talks to it on 127.0.0.1.

pub mod dicomweb;
pub mod orthanc;
pub mod scp;
pub mod scu;

/// Implementation Version Name of received files.
pub const IMPLEMENTATION_VERSION_NAME: &str = "RADLAB_SCP_1";

/// What went wrong on the PACS side.
#[derive(Debug, thiserror::Error)]
pub enum PacsError {
    /// Orthanc is not installed and could not be.
    #[error("Orthanc is not available: {0}")]
    NotInstalled(String),
    /// Orthanc did not start or answer.
    #[error("Orthanc did not start: {0}")]
    Start(String),
    /// An HTTP exchange failed.
    #[error("{method} {url}: {reason}")]
    Http {
        /// GET, POST...
        method: &'static str,
        /// The URL.
        url: String,
        /// Status or transport error, in words.
        reason: String,
    },
    /// The PACS answered something radlab cannot read.
    #[error("{url}: unexpected answer: {reason}")]
    Answer {
        /// The URL.
        url: String,
        /// What was wrong.
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
