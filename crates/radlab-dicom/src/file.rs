//! Opening DICOM Part 10 files, header-only or whole, with errors that name the file.

use std::io::Read;
use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, OpenFileOptions};

use crate::error::{DicomError, Result};

/// Render an error and its chain of causes on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}

/// Check the 128-byte preamble and `DICM` prefix of a Part 10 file.
///
/// Returns [`DicomError::NotDicom`] for anything that is not a Part 10 file,
/// [`DicomError::Io`] when the file cannot be read.
pub fn check_part10(path: &Path) -> Result<()> {
    let mut f = std::fs::File::open(path).map_err(|source| DicomError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut head = [0u8; 132];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(source) => {
                return Err(DicomError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
    if got < 132 {
        return Err(DicomError::NotDicom {
            path: path.to_owned(),
            reason: format!("file is {got} bytes, shorter than the 132-byte preamble and prefix"),
        });
    }
    if &head[128..132] != b"DICM" {
        return Err(DicomError::NotDicom {
            path: path.to_owned(),
            reason: "no 'DICM' prefix at byte 128".into(),
        });
    }
    Ok(())
}

fn open_with(path: &Path, options: OpenFileOptions) -> Result<DefaultDicomObject> {
    check_part10(path)?;
    options.open_file(path).map_err(|e| {
        let reason = error_chain(&e);
        if reason.contains("meta") || reason.contains("Meta") {
            DicomError::NotDicom {
                path: path.to_owned(),
                reason,
            }
        } else {
            DicomError::Malformed {
                path: path.to_owned(),
                reason,
            }
        }
    })
}

/// Open a file and read everything before Pixel Data (7FE0,0010).
///
/// Fast: the pixel bytes are not read. Use it to scan folders and to read geometry.
pub fn open_header(path: &Path) -> Result<DefaultDicomObject> {
    open_with(path, OpenFileOptions::new().read_until(tags::PIXEL_DATA))
}

/// Open a whole file, pixel data included.
pub fn open(path: &Path) -> Result<DefaultDicomObject> {
    open_with(path, OpenFileOptions::new())
}
