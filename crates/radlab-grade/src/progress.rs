//! The learner's progress over every lab (`.radlab/progress.json`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{GradeError, LabMeta, Results};

/// A learner's progress over all labs, kept in `.radlab/progress.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    /// Per lab id.
    pub labs: BTreeMap<String, LabProgress>,
}

/// Progress in one lab.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LabProgress {
    /// Latest score of the learner's exercise file.
    pub score: f64,
    /// Points possible.
    pub max_score: f64,
    /// When it was last graded.
    pub graded_at: String,
    /// Per task id.
    pub tasks: BTreeMap<String, TaskProgress>,
}

/// Progress in one task.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TaskProgress {
    /// All its checks passed at the last grading.
    pub passed: bool,
    /// How many hints of the ladder have been shown.
    pub hints_shown: usize,
}

impl Progress {
    /// Load from `path`; a missing file is empty progress.
    pub fn load(path: &Path) -> Result<Self, GradeError> {
        match std::fs::read_to_string(path) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| GradeError::Io {
                path: path.to_owned(),
                reason: format!("not valid progress JSON ({e}); delete it to start over"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Progress::default()),
            Err(e) => Err(GradeError::Io {
                path: path.to_owned(),
                reason: e.to_string(),
            }),
        }
    }

    /// Save to `path` (pretty JSON, written atomically).
    pub fn save(&self, path: &Path) -> Result<(), GradeError> {
        let io = |reason: String| GradeError::Io {
            path: path.to_owned(),
            reason,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(e.to_string()))?;
        }
        let mut text = serde_json::to_string_pretty(self).map_err(|e| io(e.to_string()))?;
        text.push('\n');
        radlab_fsio::write_atomic(path, text.as_bytes()).map_err(|e| io(e.to_string()))
    }

    /// Record a grading of the learner's exercise file.
    pub fn record(&mut self, results: &Results) {
        let lab = self.labs.entry(results.lab.clone()).or_default();
        lab.score = results.score;
        lab.max_score = results.max_score;
        lab.graded_at = results.timestamp.clone();
        for (task, (_, _, ok)) in results.by_task() {
            lab.tasks.entry(task).or_default().passed = ok;
        }
    }

    /// The next hint of a task's ladder (advancing it), and its 1-based step.
    pub fn next_hint<'a>(
        &mut self,
        meta: &'a LabMeta,
        task: &str,
    ) -> Result<(usize, &'a str), GradeError> {
        let t = meta.task(task)?;
        let p = self
            .labs
            .entry(meta.id.clone())
            .or_default()
            .tasks
            .entry(task.to_string())
            .or_default();
        let step = (p.hints_shown + 1).min(t.hints.len());
        p.hints_shown = step;
        Ok((step, &t.hints[step - 1]))
    }

    /// Whether the task passed at the last grading.
    pub fn passed(&self, lab: &str, task: &str) -> bool {
        self.labs
            .get(lab)
            .and_then(|l| l.tasks.get(task))
            .is_some_and(|t| t.passed)
    }
}
