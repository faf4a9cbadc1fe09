//! LUNA16's CSV layout for detections and reference nodules, read into
//! radlab's detection types and written back.
//!
//! LUNA16 gives positions as `coordX, coordY, coordZ` in mm (world
//! coordinates) and nodules by their diameter; radlab keeps positions
//! `(z, y, x)` mm and hit radii, so reading swaps the axes and halves the
//! diameter, and writing undoes both. A third file, one `seriesuid` per
//! line, lists every scan evaluated: without it a scan with neither nodules
//! nor candidates is invisible, and false positives per scan come out too
//! high.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::detection::{Candidate, Lesion};

/// Why LUNA16 CSVs could not be read. Every variant names the file, and
/// the line where there is one.
#[derive(Debug, thiserror::Error)]
pub enum Luna16Error {
    /// The file could not be opened or read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        message: String,
    },
    /// A row is not valid CSV.
    #[error("{path} line {line}: {message}")]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line (the header is line 1).
        line: usize,
        /// What the reader said.
        message: String,
    },
    /// The header lacks a column.
    #[error("{path}: no column {column:?} (the header has: {header})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column wanted.
        column: String,
        /// The header as found.
        header: String,
    },
    /// A value is not a finite number.
    #[error("{path} line {line}: {column} {value:?} is not a finite number")]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The column.
        column: String,
        /// The text found.
        value: String,
    },
    /// A nodule's diameter is zero or negative.
    #[error("{path} line {line}: diameter_mm {diameter} must be positive")]
    Diameter {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The diameter found.
        diameter: f64,
    },
    /// A row names a scan the seriesuid list does not have.
    #[error("{path} line {line}: seriesuid {uid} is not in the seriesuid list {list}")]
    UnlistedScan {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The scan named.
        uid: String,
        /// The list.
        list: PathBuf,
    },
    /// The seriesuid list names no scan.
    #[error("{path}: no seriesuid listed")]
    EmptyList {
        /// The list.
        path: PathBuf,
    },
    /// The annotations list no nodule: sensitivity is undefined.
    #[error("{path}: no nodules listed; sensitivity is undefined")]
    NoNodules {
        /// The annotations file.
        path: PathBuf,
    },
}

/// Detections and reference nodules of a set of scans, in radlab's frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Luna16 {
    /// The scans, by seriesuid; `scan` fields index this list.
    pub scan_ids: Vec<String>,
    /// Candidates with their scores (`voxel` is unknown: `[0, 0, 0]`).
    pub candidates: Vec<Candidate>,
    /// Reference nodules (hit radius = diameter / 2; `label` 0).
    pub lesions: Vec<Lesion>,
    /// Whether a seriesuid list was read (else the scans are those the CSVs name).
    pub listed: bool,
}

fn read_csv(path: &Path, columns: &[&str]) -> Result<Vec<(usize, Vec<String>)>, Luna16Error> {
    let read = |e: csv::Error| Luna16Error::Read {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(read)?;
    let header = r.headers().map_err(read)?.clone();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            header
                .iter()
                .position(|h| h == *c)
                .ok_or_else(|| Luna16Error::MissingColumn {
                    path: path.to_owned(),
                    column: c.to_string(),
                    header: header.iter().collect::<Vec<_>>().join(", "),
                })
        })
        .collect::<Result<_, _>>()?;
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| Luna16Error::Row {
            path: path.to_owned(),
            line,
            message: e.to_string(),
        })?;
        out.push((
            line,
            idx.iter()
                .map(|&k| rec.get(k).unwrap_or("").to_string())
                .collect(),
        ));
    }
    Ok(out)
}

fn number(path: &Path, line: usize, column: &str, v: &str) -> Result<f64, Luna16Error> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(Luna16Error::NotANumber {
            path: path.to_owned(),
            line,
            column: column.into(),
            value: v.into(),
        }),
    }
}

fn position(path: &Path, line: usize, row: &[String]) -> Result<[f64; 3], Luna16Error> {
    let x = number(path, line, "coordX", &row[1])?;
    let y = number(path, line, "coordY", &row[2])?;
    let z = number(path, line, "coordZ", &row[3])?;
    Ok([z, y, x])
}

/// Read LUNA16's candidates (`seriesuid, coordX, coordY, coordZ,
/// probability`) and annotations (`seriesuid, coordX, coordY, coordZ,
/// diameter_mm`), and optionally the list of every scan evaluated (one
/// seriesuid per line; a `seriesuid` header line is skipped). Columns are
/// found by name, in any order, among others.
pub fn read(
    candidates: &Path,
    annotations: &Path,
    seriesuids: Option<&Path>,
) -> Result<Luna16, Luna16Error> {
    let a = read_csv(
        annotations,
        &["seriesuid", "coordX", "coordY", "coordZ", "diameter_mm"],
    )?;
    let c = read_csv(
        candidates,
        &["seriesuid", "coordX", "coordY", "coordZ", "probability"],
    )?;
    let mut ids: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    if let Some(list) = seriesuids {
        let text = std::fs::read_to_string(list).map_err(|e| Luna16Error::Read {
            path: list.to_owned(),
            message: e.to_string(),
        })?;
        for uid in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && *l != "seriesuid")
        {
            index.entry(uid.to_string()).or_insert_with(|| {
                ids.push(uid.to_string());
                ids.len() - 1
            });
        }
        if ids.is_empty() {
            return Err(Luna16Error::EmptyList {
                path: list.to_owned(),
            });
        }
    }
    let mut scan_of = |uid: &str, path: &Path, line: usize| -> Result<usize, Luna16Error> {
        if let Some(&s) = index.get(uid) {
            return Ok(s);
        }
        if let Some(list) = seriesuids {
            return Err(Luna16Error::UnlistedScan {
                path: path.to_owned(),
                line,
                uid: uid.into(),
                list: list.to_owned(),
            });
        }
        ids.push(uid.to_string());
        index.insert(uid.to_string(), ids.len() - 1);
        Ok(ids.len() - 1)
    };
    let mut lesions = Vec::new();
    for (line, row) in &a {
        let scan = scan_of(&row[0], annotations, *line)?;
        let center_mm = position(annotations, *line, row)?;
        let diameter = number(annotations, *line, "diameter_mm", &row[4])?;
        if diameter <= 0.0 {
            return Err(Luna16Error::Diameter {
                path: annotations.to_owned(),
                line: *line,
                diameter,
            });
        }
        lesions.push(Lesion {
            scan,
            label: 0,
            center_mm,
            radius_mm: diameter / 2.0,
        });
    }
    let mut cands = Vec::new();
    for (line, row) in &c {
        let scan = scan_of(&row[0], candidates, *line)?;
        cands.push(Candidate {
            scan,
            voxel: [0; 3],
            position_mm: position(candidates, *line, row)?,
            score: number(candidates, *line, "probability", &row[4])?,
            volume_mm3: 0.0,
        });
    }
    if lesions.is_empty() {
        return Err(Luna16Error::NoNodules {
            path: annotations.to_owned(),
        });
    }
    Ok(Luna16 {
        scan_ids: ids,
        candidates: cands,
        lesions,
        listed: seriesuids.is_some(),
    })
}

/// The three files' text, in LUNA16's layout: what [`read`] reads back.
#[derive(Debug, Clone, PartialEq)]
pub struct Luna16Csv {
    /// `candidates.csv`.
    pub candidates: String,
    /// `annotations.csv`.
    pub annotations: String,
    /// `seriesuids.csv`.
    pub seriesuids: String,
}

/// Write detections and reference in LUNA16's layout (positions back to
/// `coordX, coordY, coordZ`, radii back to diameters).
///
/// ```
/// use radlab_metrics::detection::{Candidate, Lesion};
/// let csv = radlab_metrics::luna16::to_csv(
///     &["1.2.3".to_string()],
///     &[Candidate { scan: 0, voxel: [0; 3], position_mm: [30.0, 20.0, 10.0], score: 0.9, volume_mm3: 0.0 }],
///     &[Lesion { scan: 0, label: 1, center_mm: [30.0, 20.0, 10.0], radius_mm: 3.0 }],
/// );
/// assert_eq!(csv.candidates, "seriesuid,coordX,coordY,coordZ,probability\n1.2.3,10,20,30,0.9\n");
/// assert_eq!(csv.annotations, "seriesuid,coordX,coordY,coordZ,diameter_mm\n1.2.3,10,20,30,6\n");
/// ```
pub fn to_csv(scan_ids: &[String], candidates: &[Candidate], lesions: &[Lesion]) -> Luna16Csv {
    let mut cand = String::from("seriesuid,coordX,coordY,coordZ,probability\n");
    for c in candidates {
        let q = c.position_mm;
        cand.push_str(&format!(
            "{},{},{},{},{}\n",
            scan_ids[c.scan], q[2], q[1], q[0], c.score
        ));
    }
    let mut ann = String::from("seriesuid,coordX,coordY,coordZ,diameter_mm\n");
    for l in lesions {
        let q = l.center_mm;
        ann.push_str(&format!(
            "{},{},{},{},{}\n",
            scan_ids[l.scan],
            q[2],
            q[1],
            q[0],
            2.0 * l.radius_mm
        ));
    }
    let mut uids = String::from("seriesuid\n");
    for id in scan_ids {
        uids.push_str(id);
        uids.push('\n');
    }
    Luna16Csv {
        candidates: cand,
        annotations: ann,
        seriesuids: uids,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn round_trip_and_axis_order() {
        let dir = tempfile::tempdir().unwrap();
        let ids = vec!["a".to_string(), "b".to_string(), "empty".to_string()];
        let cands = vec![Candidate {
            scan: 1,
            voxel: [0; 3],
            position_mm: [3.5, -2.0, 1.25],
            score: 0.75,
            volume_mm3: 0.0,
        }];
        let lesions = vec![Lesion {
            scan: 0,
            label: 0,
            center_mm: [10.0, 20.0, 30.0],
            radius_mm: 2.5,
        }];
        let csv = to_csv(&ids, &cands, &lesions);
        let c = write(dir.path(), "c.csv", &csv.candidates);
        let a = write(dir.path(), "a.csv", &csv.annotations);
        let u = write(dir.path(), "u.csv", &csv.seriesuids);
        let back = read(&c, &a, Some(&u)).unwrap();
        assert_eq!(back.scan_ids, ids);
        assert_eq!(back.candidates, cands);
        assert_eq!(back.lesions, lesions);
        assert!(back.listed);
        // coordX is the last of radlab's (z, y, x).
        assert!(csv.annotations.contains("a,30,20,10,5"));
        // Without the list, the scan with nothing is not known.
        assert_eq!(read(&c, &a, None).unwrap().scan_ids, ["a", "b"]);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.csv",
            "seriesuid,coordX,coordY,coordZ,diameter_mm\ns,1,2,3,0\n",
        );
        let c = write(
            dir.path(),
            "c.csv",
            "seriesuid,coordX,coordY,coordZ,probability\ns,1,2,nan,0.5\n",
        );
        let e = read(&c, &a, None).unwrap_err().to_string();
        assert!(
            e.contains("a.csv line 2: diameter_mm 0 must be positive"),
            "{e}"
        );
        let a = write(
            dir.path(),
            "a.csv",
            "seriesuid,coordX,coordY,coordZ,diameter_mm\ns,1,2,3,4\n",
        );
        let e = read(&c, &a, None).unwrap_err().to_string();
        assert!(
            e.contains("c.csv line 2: coordZ \"nan\" is not a finite number"),
            "{e}"
        );
        let u = write(dir.path(), "u.csv", "seriesuid\nother\n");
        let e = read(&c, &a, Some(&u)).unwrap_err().to_string();
        assert!(
            e.contains("seriesuid s is not in the seriesuid list"),
            "{e}"
        );
        let bad = write(dir.path(), "x.csv", "seriesuid,coordX\ns,1\n");
        let e = read(&c, &bad, None).unwrap_err().to_string();
        assert!(e.contains("no column \"coordY\""), "{e}");
    }
}
