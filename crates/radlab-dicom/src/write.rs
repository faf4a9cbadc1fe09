//! Writing files safely (radlab-fsio's temporary file and rename), with
//! the errors as [`DicomError::Write`].

use std::path::Path;

use dicom_object::DefaultDicomObject;

use crate::error::{DicomError, Result};

/// Write bytes to `path` via a temporary file and a rename, so that a reader
/// never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    radlab_fsio::write_atomic(path, bytes).map_err(|e| DicomError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Write a DICOM file (preamble, meta group, data set) atomically.
pub fn write_dicom_atomic(path: &Path, obj: &DefaultDicomObject) -> Result<()> {
    let mut buf = Vec::new();
    obj.write_all(&mut buf).map_err(|e| DicomError::Write {
        path: path.to_owned(),
        reason: crate::file::error_chain(&e),
    })?;
    write_atomic(path, &buf)
}
