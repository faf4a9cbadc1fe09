//! A folder in, a folder out: every DICOM file de-identified, named by its
//! new SOP Instance UID (input names and folders can carry names and IDs),
//! then every output searched for every identifying value of every input.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::DeidError;
use crate::hunt::{Leak, hunt};
use crate::profile::{Change, Deidentifier};
use crate::text::{Needle, filter, needles_and_kept};

/// What happened to one input file.
#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    /// The input, relative to the input folder.
    pub input: String,
    /// The output file name, when written.
    pub output: Option<String>,
    /// `written`, `refused` (a DICOM file the profile cannot make safe) or
    /// `skipped` (not a DICOM file radlab can read).
    pub status: &'static str,
    /// Why it was refused or skipped.
    pub reason: Option<String>,
    /// Every change made (values masked).
    pub changes: Vec<Change>,
}

/// The result of a folder run.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    /// One entry per input file, in path order.
    pub files: Vec<FileOutcome>,
    /// Identifying values searched for (distinct values and forms).
    pub needles: usize,
    /// Every identifying value found in an output: must be empty.
    pub leaks: Vec<Leak>,
}

impl BatchReport {
    /// Number of files with each status.
    pub fn count(&self, status: &str) -> usize {
        self.files.iter().filter(|f| f.status == status).count()
    }
}

/// Refuse an output folder that is the input folder or inside it (a second
/// run would read its own outputs), before anything is written.
pub fn check_folders(input: &Path, out: &Path) -> Result<(), DeidError> {
    let canon_in = input.canonicalize().map_err(|e| DeidError::Paths {
        path: input.to_owned(),
        reason: format!("cannot read the input: {e}"),
    })?;
    // The output may not exist yet: resolve its nearest existing ancestor.
    let mut probe = out.to_path_buf();
    let mut tail = Vec::new();
    let canon_out = loop {
        match probe.canonicalize() {
            Ok(c) => break tail.iter().rev().fold(c, |acc: PathBuf, t| acc.join(t)),
            Err(_) => {
                let Some(name) = probe.file_name().map(|n| n.to_owned()) else {
                    break out.to_path_buf();
                };
                tail.push(name);
                if !probe.pop() || probe.as_os_str().is_empty() {
                    probe = PathBuf::from(".");
                }
            }
        }
    };
    if canon_out.starts_with(&canon_in) {
        return Err(DeidError::Paths {
            path: out.to_owned(),
            reason: format!(
                "the output folder is inside the input folder {}; choose a folder outside it",
                input.display()
            ),
        });
    }
    Ok(())
}

/// Files under `input` (a file or a folder), hidden ones left out, sorted.
pub fn list_files(input: &Path) -> Vec<PathBuf> {
    if input.is_file() {
        return vec![input.to_owned()];
    }
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(input)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    v.sort();
    v
}

/// Media Storage Directory Storage (DICOMDIR).
const DICOMDIR: &str = "1.2.840.10008.1.3.10";

/// An encoded output, its new SOP Instance UID and the changes made.
struct Written {
    bytes: Vec<u8>,
    sop: String,
    changes: Vec<Change>,
}

struct Done {
    rel: String,
    result: Result<Written, (&'static str, String)>,
    needles: Vec<Needle>,
    kept: std::collections::BTreeSet<String>,
}

/// De-identify every file under `input` into `out` (created if needed) and
/// hunt for leaks. `progress(done, total)` is called as files finish.
///
/// Outputs are named `<new SOP Instance UID>.dcm` (`-2`, `-3`... when two
/// inputs share a SOP Instance UID), written to a temporary name and renamed.
pub fn deidentify_folder(
    deid: &Deidentifier,
    input: &Path,
    out: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<BatchReport, DeidError> {
    check_folders(input, out)?;
    let files = list_files(input);
    std::fs::create_dir_all(out).map_err(|e| DeidError::Paths {
        path: out.to_owned(),
        reason: format!("cannot create the output folder: {e}"),
    })?;
    let total = files.len();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let base = if input.is_file() {
        input.parent().unwrap_or(Path::new(".")).to_owned()
    } else {
        input.to_owned()
    };
    let done: Vec<Done> = files
        .par_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(&base)
                .unwrap_or(path)
                .to_string_lossy()
                .to_string();
            let d = one_file(deid, path, rel);
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(n, total);
            d
        })
        .collect();

    // A value some file keeps on purpose (a body part that is also another
    // file's description) is not identifying: only values the profile
    // removes wherever they occur are searched for.
    let kept: std::collections::BTreeSet<String> =
        done.iter().flat_map(|d| d.kept.iter().cloned()).collect();
    let all_needles = filter(done.iter().flat_map(|d| d.needles.clone()).collect(), &kept);
    // Whole values are searched for in every output; short ones (name parts
    // such as "SOFT") only in the output of their own input, where a match
    // is not a coincidence between unrelated files.
    let global: Vec<Needle> = all_needles
        .iter()
        .filter(|n| n.text.len() >= 8)
        .cloned()
        .collect();
    let mut report = BatchReport {
        files: Vec::new(),
        needles: all_needles.len(),
        leaks: Vec::new(),
    };
    let mut used = std::collections::BTreeSet::new();
    for d in done {
        match d.result {
            Ok(Written {
                bytes,
                sop,
                changes,
            }) => {
                let mut name = format!("{sop}.dcm");
                let mut k = 2;
                while !used.insert(name.clone()) {
                    name = format!("{sop}-{k}.dcm");
                    k += 1;
                }
                let target = out.join(&name);
                radlab_dicom::write::write_atomic(&target, &bytes)?;
                let parsed = match radlab_dicom::file::open(&target) {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = std::fs::remove_file(&target);
                        report.files.push(FileOutcome {
                            input: d.rel,
                            output: None,
                            status: "refused",
                            reason: Some(format!("the result does not read back: {e}")),
                            changes: Vec::new(),
                        });
                        continue;
                    }
                };
                let mut mine = global.clone();
                mine.extend(
                    filter(d.needles, &kept)
                        .into_iter()
                        .filter(|n| n.text.len() < 8),
                );
                report.leaks.extend(hunt(&name, &bytes, &parsed, &mine));
                report.files.push(FileOutcome {
                    input: d.rel,
                    output: Some(name),
                    status: "written",
                    reason: None,
                    changes,
                });
            }
            Err((status, reason)) => report.files.push(FileOutcome {
                input: d.rel,
                output: None,
                status,
                reason: Some(reason),
                changes: Vec::new(),
            }),
        }
    }
    Ok(report)
}

fn one_file(deid: &Deidentifier, path: &Path, rel: String) -> Done {
    let obj = match radlab_dicom::file::open(path) {
        Ok(o) => o,
        Err(e) => {
            // No DICOM signature: skipped. A signature but a data set that
            // cannot be parsed: refused, with the parser's reason.
            let status = match e {
                radlab_dicom::DicomError::NotDicom { .. } | radlab_dicom::DicomError::Io { .. }
                    if !radlab_dicom::file::has_dicom_signature(path) =>
                {
                    "skipped"
                }
                _ => "refused",
            };
            return Done {
                rel,
                result: Err((status, strip_path(&e.to_string(), path))),
                needles: Vec::new(),
                kept: Default::default(),
            };
        }
    };
    if obj
        .meta()
        .media_storage_sop_class_uid
        .trim_end_matches(['\0', ' '])
        == DICOMDIR
    {
        return Done {
            rel,
            result: Err((
                "refused",
                "a DICOMDIR indexes files by path and byte offset; make a new one from the de-identified files"
                    .into(),
            )),
            needles: Vec::new(),
            kept: Default::default(),
        };
    }
    let (found, mut kept) = needles_and_kept(deid, &obj);
    // The file meta group names software, not people: its UIDs stay.
    let meta = obj.meta();
    for v in [
        &meta.implementation_class_uid,
        &meta.media_storage_sop_class_uid,
        &meta.transfer_syntax,
    ] {
        kept.insert(v.trim_end_matches(['\0', ' ']).to_ascii_uppercase());
    }
    let result = match deid.deidentify(&rel, &obj) {
        Ok((clean, changes)) => {
            let mut bytes = Vec::new();
            match clean.write_all(&mut bytes) {
                Ok(()) => {
                    // The first value, if it is a plain UID; anything else
                    // (several values, odd characters) gets a keyed name.
                    let first = clean
                        .meta()
                        .media_storage_sop_instance_uid
                        .split('\\')
                        .next()
                        .unwrap_or("")
                        .trim_end_matches(['\0', ' '])
                        .to_string();
                    let plain = !first.is_empty()
                        && first.len() <= 64
                        && first.bytes().all(|b| b.is_ascii_digit() || b == b'.');
                    let sop = if plain {
                        first
                    } else {
                        deid.config().key.uid(&rel)
                    };
                    Ok(Written {
                        bytes,
                        sop,
                        changes,
                    })
                }
                Err(e) => Err(("refused", format!("cannot encode the result: {e}"))),
            }
        }
        Err(e) => Err(("refused", strip_path(&e.to_string(), Path::new(&rel)))),
    };
    Done {
        rel,
        result,
        needles: found,
        kept,
    }
}

/// Error texts start with the path; the report already names the file.
fn strip_path(msg: &str, path: &Path) -> String {
    let p = path.display().to_string();
    msg.strip_prefix(&p)
        .map(|m| m.trim_start_matches(':').trim().to_string())
        .unwrap_or_else(|| msg.to_string())
}
