//! A lab's declaration, `lab.toml`: tasks, integrity rules, the portfolio
//! story and its templates.

use serde::{Deserialize, Serialize};

use crate::GradeError;

/// A task as described in lab.toml.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct TaskMeta {
    /// Task id, e.g. `window-linear`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Points (the checks' points add up to this).
    pub points: f64,
    /// Three hints, from a gentle nudge to nearly the answer.
    pub hints: Vec<String>,
    /// The explanation shown by `solution` once the task passes.
    pub solution: String,
}

/// A lab's lab.toml.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct LabMeta {
    /// Lab id, e.g. `lab-windowing`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Topic ids from TOPICS (B1, I1, ...).
    pub topics: Vec<String>,
    /// Where the lab comes in the curriculum: `radlab list` and the
    /// portfolio sort by it (labs without one come last, by id).
    #[serde(default)]
    pub order: Option<u32>,
    /// Tasks.
    pub tasks: Vec<TaskMeta>,
    /// What an exercise may not name.
    #[serde(default)]
    pub integrity: IntegrityMeta,
    /// What the portfolio shows of the lab.
    #[serde(default)]
    pub portfolio: PortfolioMeta,
}

/// lab.toml's `[portfolio]`: the story `radlab portfolio` tells of the lab.
///
/// Texts (`value`, card lines) may quote the lab's `report.json` with
/// placeholders: `{/json/pointer}` (a number with no decimals, or the value
/// as it is), `{/json/pointer:3}` (three decimals), `{len /json/pointer}`
/// (the length of an array). A value the report does not have reads
/// "(run the lab)".
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PortfolioMeta {
    /// The images (file names in the lab's output folder) that tell the
    /// lab's story, in the order the page shows them.
    #[serde(default)]
    pub images: Vec<String>,
    /// The learner's measured numbers, in the order shown.
    #[serde(default)]
    pub measured: Vec<MeasuredMeta>,
    /// How radlab's numbers compare with the peer libraries (tests that run in CI).
    #[serde(default)]
    pub parity: Vec<ParityMeta>,
    /// Interview answer outlines: one per topic of the lab; `topic = "*"`
    /// serves every topic without a card of its own.
    #[serde(default)]
    pub cards: Vec<CardMeta>,
}

/// One row of `[[portfolio.measured]]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MeasuredMeta {
    /// What the number is.
    pub label: String,
    /// The number, as a template over report.json (see [`PortfolioMeta`]).
    pub value: String,
}

/// One row of `[[portfolio.parity]]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParityMeta {
    /// The peer (library and version, or the standard).
    pub peer: String,
    /// How close radlab's numbers are, and where that is tested.
    pub agreement: String,
}

/// One `[[portfolio.cards]]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CardMeta {
    /// A topic id of the lab, or `*` for the others.
    pub topic: String,
    /// The outline, each line a template over report.json (see [`PortfolioMeta`]).
    pub lines: Vec<String>,
}

impl PortfolioMeta {
    /// The card of `topic`: its own, else the `*` card.
    pub fn card(&self, topic: &str) -> Option<&CardMeta> {
        self.cards
            .iter()
            .find(|c| c.topic == topic)
            .or_else(|| self.cards.iter().find(|c| c.topic == "*"))
    }
}

/// Fill a portfolio template (see [`PortfolioMeta`]) from a lab's report;
/// `None` (the lab has not run) fills every placeholder with "(run the lab)".
///
/// ```
/// let report = serde_json::json!({"cpm": 0.34123, "scans": [1, 2, 3], "shape": [2, 3]});
/// let text = radlab_grade::fill_template("CPM {/cpm:3} on {len /scans} scans {/shape}", Some(&report));
/// assert_eq!(text, "CPM 0.341 on 3 scans [2, 3]");
/// ```
pub fn fill_template(template: &str, report: Option<&serde_json::Value>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&placeholder(&rest[open + 1..close], report));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The first placeholder of a template that is not one of the three forms.
fn bad_placeholder(template: &str) -> Option<String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            return Some(rest[open + 1..].to_string());
        };
        let spec = &rest[open + 1..close];
        let pointer = spec.strip_prefix("len ").unwrap_or(spec);
        let pointer = match pointer.rsplit_once(':') {
            Some((p, d)) if d.parse::<usize>().is_ok() && !spec.starts_with("len ") => p,
            _ => pointer,
        };
        if !pointer.starts_with('/') || pointer.contains(char::is_whitespace) {
            return Some(spec.to_string());
        }
        rest = &rest[close + 1..];
    }
    None
}

fn placeholder(spec: &str, report: Option<&serde_json::Value>) -> String {
    use serde_json::Value;
    const MISSING: &str = "(run the lab)";
    if let Some(pointer) = spec.strip_prefix("len ") {
        return match report.and_then(|r| r.pointer(pointer.trim())) {
            Some(Value::Array(a)) => a.len().to_string(),
            _ => MISSING.into(),
        };
    }
    let (pointer, digits) = match spec.rsplit_once(':') {
        Some((p, d)) if d.parse::<usize>().is_ok() => (p, d.parse().unwrap_or(0)),
        _ => (spec, 0),
    };
    match report.and_then(|r| r.pointer(pointer)) {
        Some(Value::Number(n)) => n
            .as_f64()
            .map_or_else(|| n.to_string(), |v| format!("{v:.digits$}")),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Array(a)) => {
            let parts: Vec<String> = a.iter().map(|v| v.to_string()).collect();
            format!("[{}]", parts.join(", "))
        }
        _ => MISSING.into(),
    }
}

/// lab.toml's `[integrity]`: the paths of the implementations the tasks
/// mirror (besides [`integrity::ALWAYS_FORBIDDEN`]), and the types under
/// them an exercise may still use.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct IntegrityMeta {
    /// E.g. `radlab_imaging`.
    #[serde(default)]
    pub forbidden: Vec<String>,
    /// E.g. `radlab_metrics::segmentation::EmptyPolicy`.
    #[serde(default)]
    pub allowed: Vec<String>,
}

impl LabMeta {
    /// Parse lab.toml text.
    pub fn parse(text: &str) -> Result<Self, GradeError> {
        let meta: LabMeta = toml::from_str(text).map_err(|e| GradeError::LabToml(e.to_string()))?;
        for t in &meta.tasks {
            if t.hints.len() != 3 {
                return Err(GradeError::LabToml(format!(
                    "task {} needs exactly 3 hints",
                    t.id
                )));
            }
        }
        let pf = &meta.portfolio;
        for c in &pf.cards {
            if c.topic != "*" && !meta.topics.contains(&c.topic) {
                return Err(GradeError::LabToml(format!(
                    "portfolio card for topic {:?}: not one of the lab's topics {:?} (or \"*\")",
                    c.topic, meta.topics
                )));
            }
        }
        let texts = pf.measured.iter().map(|m| m.value.as_str()).chain(
            pf.cards
                .iter()
                .flat_map(|c| c.lines.iter().map(String::as_str)),
        );
        for text in texts {
            if let Some(bad) = bad_placeholder(text) {
                return Err(GradeError::LabToml(format!(
                    "portfolio text {text:?}: placeholder {{{bad}}} is not {{/pointer}}, {{/pointer:digits}} or {{len /pointer}}"
                )));
            }
        }
        Ok(meta)
    }

    /// A task by id.
    pub fn task(&self, id: &str) -> Result<&TaskMeta, GradeError> {
        self.tasks
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| GradeError::UnknownTask {
                lab: self.id.clone(),
                task: id.to_string(),
                known: self
                    .tasks
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}
