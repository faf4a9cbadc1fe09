//! Scanning folders: find DICOM files recursively and group them by series.

use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use rayon::prelude::*;
use serde::Serialize;

use crate::attrs;
use crate::error::{DicomError, Result};

/// One instance found by a scan (header facts only).
#[derive(Debug, Clone, Serialize)]
pub struct InstanceInfo {
    /// The file.
    pub path: PathBuf,
    /// SOP Instance UID.
    pub sop_instance_uid: String,
    /// SOP Class UID.
    pub sop_class_uid: String,
    /// InstanceNumber, if present.
    pub instance_number: Option<i64>,
    /// Whether the header describes an image (has Rows).
    pub is_image: bool,
    /// Number of frames (1 when absent).
    pub frames: usize,
}

/// A series found by a scan.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesInfo {
    /// Series Instance UID.
    pub uid: String,
    /// Study Instance UID.
    pub study_uid: String,
    /// Modality.
    pub modality: String,
    /// Series Description.
    pub description: String,
    /// Series Number.
    pub number: Option<i64>,
    /// Rows x Columns of the first image, if any.
    pub size: Option<(u16, u16)>,
    /// Instances, in path order.
    pub instances: Vec<InstanceInfo>,
}

impl SeriesInfo {
    /// True when the series holds at least one image.
    pub fn is_image(&self) -> bool {
        self.instances.iter().any(|i| i.is_image)
    }

    /// Total frames over all instances.
    pub fn frames(&self) -> usize {
        self.instances.iter().map(|i| i.frames).sum()
    }
}

/// The result of scanning a folder.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// Series, sorted by (study, series number, UID).
    pub series: Vec<SeriesInfo>,
    /// Files that are not DICOM (no signature, or not an object with a
    /// series, such as a DICOMDIR), with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Files that look like DICOM but cannot be read (truncated, bad
    /// lengths, poisoned structure), with the reason. A folder with one is
    /// refused by [`choose_series`]: a damaged slice is never left out silently.
    pub damaged: Vec<(PathBuf, String)>,
}

struct Found {
    path: PathBuf,
    series_uid: String,
    study_uid: String,
    modality: String,
    description: String,
    number: Option<i64>,
    size: Option<(u16, u16)>,
    instance: InstanceInfo,
}

enum Failure {
    Skipped(String),
    Damaged(String),
}

fn read_one(path: &Path) -> std::result::Result<Found, Failure> {
    let obj = crate::file::open_header(path).map_err(|e| match e {
        DicomError::NotDicom { .. } | DicomError::Io { .. } => Failure::Skipped(e.to_string()),
        DicomError::Malformed { reason, .. } => Failure::Damaged(reason),
        _ => Failure::Damaged(e.to_string()),
    })?;
    let series_uid = attrs::string(&obj, tags::SERIES_INSTANCE_UID).ok_or_else(|| {
        Failure::Skipped(format!(
            "{}: no SeriesInstanceUID (a DICOMDIR or a non-image object?)",
            path.display()
        ))
    })?;
    let rows = attrs::int(&obj, tags::ROWS).and_then(|v| u16::try_from(v).ok());
    let cols = attrs::int(&obj, tags::COLUMNS).and_then(|v| u16::try_from(v).ok());
    let size = match (rows, cols) {
        (Some(r), Some(c)) => Some((r, c)),
        _ => None,
    };
    Ok(Found {
        path: path.to_owned(),
        study_uid: attrs::string(&obj, tags::STUDY_INSTANCE_UID).unwrap_or_default(),
        modality: attrs::string(&obj, tags::MODALITY).unwrap_or_default(),
        description: attrs::string(&obj, tags::SERIES_DESCRIPTION).unwrap_or_default(),
        number: attrs::int(&obj, tags::SERIES_NUMBER),
        size,
        instance: InstanceInfo {
            path: path.to_owned(),
            sop_instance_uid: attrs::string(&obj, tags::SOP_INSTANCE_UID).unwrap_or_default(),
            sop_class_uid: attrs::string(&obj, tags::SOP_CLASS_UID).unwrap_or_default(),
            instance_number: attrs::int(&obj, tags::INSTANCE_NUMBER),
            is_image: size.is_some(),
            frames: attrs::int(&obj, tags::NUMBER_OF_FRAMES)
                .and_then(|v| usize::try_from(v).ok())
                .unwrap_or(1)
                .max(1),
        },
        series_uid,
    })
}

/// Scan a folder recursively (following no symlinks) and group DICOM files by series.
///
/// Headers are read in parallel without pixel data. A folder with no file at
/// all is an error; non-DICOM files are listed in [`ScanReport::skipped`].
pub fn scan(dir: &Path) -> Result<ScanReport> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| DicomError::Io {
            path: e
                .path()
                .map(Path::to_owned)
                .unwrap_or_else(|| dir.to_owned()),
            error: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk failed")),
        })?;
        if entry.file_type().is_file() {
            files.push(entry.into_path());
        }
    }
    if files.is_empty() {
        return Err(DicomError::NoImages {
            path: dir.to_owned(),
            detail: " (the folder is empty)".into(),
        });
    }
    let results: Vec<std::result::Result<Found, (PathBuf, Failure)>> = files
        .par_iter()
        .map(|p| read_one(p).map_err(|e| (p.clone(), e)))
        .collect();
    let mut series: Vec<SeriesInfo> = Vec::new();
    let mut skipped = Vec::new();
    let mut damaged = Vec::new();
    let mut index = std::collections::HashMap::new();
    for r in results {
        match r {
            Ok(f) => {
                let i = *index.entry(f.series_uid.clone()).or_insert_with(|| {
                    series.push(SeriesInfo {
                        uid: f.series_uid.clone(),
                        study_uid: f.study_uid.clone(),
                        modality: f.modality.clone(),
                        description: f.description.clone(),
                        number: f.number,
                        size: f.size,
                        instances: Vec::new(),
                    });
                    series.len() - 1
                });
                if series[i].size.is_none() {
                    series[i].size = f.size;
                }
                let _ = &f.path;
                series[i].instances.push(f.instance);
            }
            Err((p, Failure::Skipped(why))) => skipped.push((p, why)),
            Err((p, Failure::Damaged(why))) => damaged.push((p, why)),
        }
    }
    series.sort_by(|a, b| (&a.study_uid, a.number, &a.uid).cmp(&(&b.study_uid, b.number, &b.uid)));
    Ok(ScanReport {
        series,
        skipped,
        damaged,
    })
}

/// Pick the image series to load from a scan: the one named by `uid`, or the
/// only image series in the folder.
///
/// A folder that holds a damaged DICOM file is refused, naming it: the file
/// cannot be placed in a series, so loading without it could drop a slice
/// (or a whole end of the scan) without a trace.
pub fn choose_series<'a>(
    dir: &Path,
    scan: &'a ScanReport,
    uid: Option<&str>,
) -> Result<&'a SeriesInfo> {
    if let Some((path, why)) = scan.damaged.first() {
        let more = match scan.damaged.len() {
            1 => String::new(),
            n => format!(" ({} more damaged file(s) in the folder)", n - 1),
        };
        let why = why
            .strip_prefix(&format!("{}: ", path.display()))
            .unwrap_or(why);
        return Err(DicomError::Malformed {
            path: path.clone(),
            reason: format!(
                "{why}; a folder with a damaged file is not loaded, since the series could lose a slice{more}"
            ),
        });
    }
    let images: Vec<&SeriesInfo> = scan.series.iter().filter(|s| s.is_image()).collect();
    if let Some(uid) = uid {
        return scan.series.iter().find(|s| s.uid == uid).ok_or_else(|| {
            DicomError::SeriesNotFound {
                path: dir.to_owned(),
                uid: uid.to_string(),
            }
        });
    }
    match images.len() {
        0 => Err(DicomError::NoImages {
            path: dir.to_owned(),
            detail: if scan.skipped.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} file(s) skipped; first: {})",
                    scan.skipped.len(),
                    scan.skipped[0].1
                )
            },
        }),
        1 => Ok(images[0]),
        n => Err(DicomError::AmbiguousSeries {
            path: dir.to_owned(),
            count: n,
            uids: images
                .iter()
                .map(|s| {
                    format!(
                        "{} ({} {}, {} file(s))",
                        s.uid,
                        s.modality,
                        s.description,
                        s.instances.len()
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}
