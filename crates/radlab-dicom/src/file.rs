//! Opening DICOM Part 10 files, header-only or whole, with errors that name the file.

use std::io::Read;
use std::path::Path;

use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::file::ReadPreamble;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{DefaultDicomObject, FileMetaTable, InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::{DicomError, Result};
use crate::prescan::{FileSource, Layout, Problem, prescan};

const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

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

/// True when the file's first bytes carry a DICOM signature: `DICM` at byte
/// 128 or 0, a meta group at byte 0, or a plausible first data element
/// (files radlab reads as pydicom's `force=True` does). Cheap: reads 132 bytes.
pub fn has_dicom_signature(path: &Path) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = Vec::with_capacity(132);
    if (&mut f).take(132).read_to_end(&mut head).is_err() {
        return false;
    }
    crate::prescan::sniff(&head).is_some()
}

/// `DICM` and a file meta group length (0002,0000) of `len` bytes: the
/// pre-scan measured the group, so a missing or wrong length in the file
/// does not mislead dicom-object's meta parser.
fn meta_prefix(len: usize) -> Vec<u8> {
    let mut v = b"DICM".to_vec();
    v.extend([0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
    v.extend((len as u32).to_le_bytes());
    v
}

/// An opened object with what the pre-scan learnt about its file.
#[derive(Debug)]
pub struct Opened {
    /// The object (without Pixel Data when opened header-only).
    pub obj: DefaultDicomObject,
    /// Framing, lengths, Pixel Data position, quirks read anyway.
    pub layout: Layout,
}

fn malformed(path: &Path, reason: String) -> DicomError {
    DicomError::Malformed {
        path: path.to_owned(),
        reason,
    }
}

/// Walk `path` with [`crate::prescan`] and hand dicom-object only bytes
/// that passed: lengths inside the file, nesting bounded, trailing bytes
/// cut off. `header_only` stops before Pixel Data.
fn open_checked(path: &Path, header_only: bool) -> Result<Opened> {
    let io = |error| DicomError::Io {
        path: path.to_owned(),
        error,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(io(std::io::Error::other("not a regular file")));
    }
    let budget = crate::limits::memory_budget();
    let mut src = FileSource::with_len(file, meta.len());
    let layout = prescan(&mut src, &budget).map_err(|p| match p {
        Problem::NotDicom(reason) => DicomError::NotDicom {
            path: path.to_owned(),
            reason,
        },
        Problem::Malformed(reason) => malformed(path, reason),
    })?;
    for q in &layout.quirks {
        tracing::warn!(file = %path.display(), "{q}");
    }
    let end = match (header_only, layout.pixel_data) {
        (true, Some(pd)) => pd.offset,
        _ => layout.data_end,
    };
    let parse_error = |e: &dyn std::error::Error| malformed(path, error_chain(e));
    let obj = if let Some(inflated) = &layout.inflated {
        let meta_start = layout.meta_elements.unwrap_or(0);
        let meta_len = (layout.dataset_start - meta_start) as usize;
        let meta_bytes = src.read_range(meta_start, meta_len).map_err(io)?;
        let meta = FileMetaTable::from_reader(
            std::io::Cursor::new(meta_prefix(meta_len)).chain(&meta_bytes[..]),
        )
        .map_err(|e| parse_error(&e))?;
        let ts = TransferSyntaxRegistry
            .get(EXPLICIT_VR_LE)
            .expect("explicit VR little endian is registered");
        let end = (end as usize).min(inflated.len());
        InMemDicomObject::read_dataset_with_ts(&inflated[..end], ts)
            .map_err(|e| parse_error(&e))?
            .with_exact_meta(meta)
    } else {
        let want = u128::from(end);
        budget.check(want, 1).map_err(|_| {
            malformed(
                path,
                format!(
                    "the file is {}; {}",
                    crate::limits::human_bytes(want),
                    budget.describe()
                ),
            )
        })?;
        match layout.meta_elements {
            Some(m) => {
                // Header only: hand over Pixel Data's own header too, so that
                // the parser stops at the tag (read_until) instead of running
                // into the end of its input.
                let (upto, options) = match (header_only, layout.pixel_data) {
                    (true, Some(pd)) => (
                        (pd.offset + 12).min(layout.data_end),
                        OpenFileOptions::new().read_until(dicom_dictionary_std::tags::PIXEL_DATA),
                    ),
                    _ => (end, OpenFileOptions::new()),
                };
                let rest = src.reader(m, upto.saturating_sub(m)).map_err(io)?;
                let meta_len = (layout.dataset_start - m) as usize;
                options
                    .read_preamble(ReadPreamble::Never)
                    .from_reader(std::io::Cursor::new(meta_prefix(meta_len)).chain(rest))
                    .map_err(|e| {
                        let reason = error_chain(&e);
                        if reason.contains("meta") || reason.contains("Meta") {
                            DicomError::NotDicom {
                                path: path.to_owned(),
                                reason,
                            }
                        } else {
                            malformed(path, reason)
                        }
                    })?
            }
            None => {
                let ts = TransferSyntaxRegistry
                    .get(&layout.transfer_syntax)
                    .expect("bare data sets are read in a registered transfer syntax");
                let from = layout.dataset_start;
                let bytes = src.reader(from, end.saturating_sub(from)).map_err(io)?;
                InMemDicomObject::read_dataset_with_ts(bytes, ts)
                    .map_err(|e| DicomError::NotDicom {
                        path: path.to_owned(),
                        reason: format!("no DICM prefix, and as a bare data set: {}", error_chain(&e)),
                    })?
                    .with_meta(FileMetaTableBuilder::new().transfer_syntax(&layout.transfer_syntax))
                    .map_err(|e| DicomError::NotDicom {
                        path: path.to_owned(),
                        reason: format!(
                            "no DICM prefix, and the bare data set lacks what a meta group needs: {}",
                            error_chain(&e)
                        ),
                    })?
            }
        }
    };
    Ok(Opened { obj, layout })
}

/// Open a file and read everything before Pixel Data (7FE0,0010).
///
/// Fast: the pixel bytes are not read. Use it to scan folders and to read geometry.
pub fn open_header(path: &Path) -> Result<DefaultDicomObject> {
    open_checked(path, true).map(|o| o.obj)
}

/// Open a whole file, pixel data included.
pub fn open(path: &Path) -> Result<DefaultDicomObject> {
    open_checked(path, false).map(|o| o.obj)
}

/// [`open_header`], with the pre-scan's findings (Pixel Data position and length, quirks).
pub fn open_header_with_layout(path: &Path) -> Result<Opened> {
    open_checked(path, true)
}

/// [`open`], with the pre-scan's findings.
pub fn open_with_layout(path: &Path) -> Result<Opened> {
    open_checked(path, false)
}
