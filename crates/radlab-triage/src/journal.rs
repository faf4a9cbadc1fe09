//! What survives a restart.
//!
//! The listener's storage folder already holds every acknowledged instance
//! (each was fsynced before its success status), so it is the record of what
//! was received. The journal adds what was *finished*: one JSON line per
//! study when its work ends (done, skipped by the routing, or failed),
//! appended and fsynced. At start, any study on disk without a journal line
//! for the same number of instances is resumed; a study that received more
//! instances after it was finished is worked again.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::TriageError;

/// How a study's work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Results made (and stored, when there is a destination).
    Done,
    /// No series matched a route.
    Skipped,
    /// The analysis or the delivery failed for good.
    Failed,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Line {
    /// Study Instance UID.
    pub study: String,
    /// How it ended.
    pub state: State,
    /// Instances of the study when it ended.
    pub instances: usize,
    /// Wall-clock time, ms since the Unix epoch.
    pub unix_ms: u128,
    /// For failures, why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The journal file `<storage>/journal.jsonl`.
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
}

impl Journal {
    /// Open (create) the journal in `storage` and read what it holds: the
    /// last line per study. A torn last line (a crash mid-write) is ignored.
    pub fn open(storage: &Path) -> Result<(Journal, HashMap<String, Line>), TriageError> {
        let path = storage.join("journal.jsonl");
        let io = |e| TriageError::Io {
            path: path.clone(),
            source: e,
        };
        let mut seen = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(&path) {
            for l in text.lines() {
                if let Ok(line) = serde_json::from_str::<Line>(l) {
                    seen.insert(line.study.clone(), line);
                }
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok((Journal { path, file }, seen))
    }

    /// Append a line and fsync it.
    pub fn append(&mut self, line: &Line) -> Result<(), TriageError> {
        let mut text = serde_json::to_string(line).unwrap_or_default();
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .and_then(|_| self.file.sync_data())
            .map_err(|e| TriageError::Io {
                path: self.path.clone(),
                source: e,
            })
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}
