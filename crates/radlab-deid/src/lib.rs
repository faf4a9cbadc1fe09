//! De-identification of DICOM objects after PS3.15 Annex E.
//!
//! * [`table`]: Table E.1-1 (bundled as `data/annex_e.tsv`), its action codes
//!   and the profile options with their CID 7050 codes.
//! * [`profile`]: applying the Basic Profile and options to an object at every
//!   sequence depth, private blocks and the file meta group included.
//! * [`keyed`]: keyed, deterministic UIDs, date offsets and pseudonyms.
//! * [`text`] and [`hunt`]: the identifying values of the inputs, and the leak
//!   hunter that searches every output for them.
//! * [`batch`]: a folder in, a folder out, with an audit and a leak hunt.
//!
//! ```
//! use radlab_deid::{Config, Deidentifier, Key};
//! let deid = Deidentifier::new(Config::basic(Key::sample())).unwrap();
//! // Patient's Name (0010,0010) is emptied (Z) by the Basic Profile.
//! let a = deid.action(dicom_core::Tag(0x0010, 0x0010), dicom_core::VR::PN);
//! assert_eq!(a.letter(), 'Z');
//! ```

pub mod batch;
pub mod element;
pub mod hunt;
pub mod keyed;
pub mod profile;
pub mod table;
pub mod text;

pub use keyed::Key;
pub use profile::{Change, Config, Deidentifier, Rect, SafePrivate};
pub use table::{Action, Code, ProfileOption, Table};

use std::path::PathBuf;

/// What can go wrong while de-identifying.
#[derive(Debug, thiserror::Error)]
pub enum DeidError {
    /// The object says it has text burned into its pixels.
    #[error(
        "{name}: BurnedInAnnotation is YES: the pixels may show identifying text; refused (use the clean-pixel-data option with rectangles to blank)"
    )]
    BurnedIn {
        /// The file.
        name: String,
    },
    /// The Clean Pixel Data option could not be applied.
    #[error("{name}: cannot clean pixel data: {reason}")]
    PixelClean {
        /// The file.
        name: String,
        /// Why.
        reason: String,
    },
    /// A bad key or key file.
    #[error("key: {0}")]
    Key(String),
    /// Options that cannot be combined, or a bad option.
    #[error("options: {0}")]
    Options(String),
    /// Input and output folders that must not be used together.
    #[error("{path}: {reason}")]
    Paths {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Reading or writing DICOM.
    #[error(transparent)]
    Dicom(#[from] radlab_dicom::DicomError),
}
