//! Writing files safely: to a temporary name in the target folder, then renamed.

use std::path::Path;

use dicom_object::DefaultDicomObject;

use crate::error::{DicomError, Result};

fn temp_name(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// Write bytes to `path` via a temporary file and a rename, so that a reader
/// never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_name(path);
    let err = |reason: String| DicomError::Write {
        path: path.to_owned(),
        reason,
    };
    std::fs::write(&tmp, bytes).map_err(|e| err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e.to_string())
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
