//! The alert for a finding above the threshold: one JSON object, printed as
//! a line and posted to a webhook.

use std::time::Duration;

use crate::analyze::FindingSummary;

/// What an alert says.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alert {
    /// Always `"radlab-triage"`.
    pub source: &'static str,
    /// The analysis, e.g. `nodules`.
    pub analysis: String,
    /// Study Instance UID.
    pub study: String,
    /// Accession Number (may be empty).
    pub accession: String,
    /// The series analysed.
    pub series: String,
    /// The highest probability among the findings.
    pub max_probability: f64,
    /// The threshold it passed.
    pub threshold: f64,
    /// Findings at or above the threshold.
    pub findings: Vec<FindingSummary>,
    /// SOP Instance UID of the SR in the PACS.
    pub sr_instance: String,
    /// Milliseconds from the study's last instance received to this alert.
    pub ms_since_last_instance: f64,
}

impl Alert {
    /// The alert for `findings` when one reaches `threshold`, else `None`.
    pub fn for_findings(
        findings: &[FindingSummary],
        threshold: f64,
    ) -> Option<(f64, Vec<FindingSummary>)> {
        let above: Vec<FindingSummary> = findings
            .iter()
            .filter(|f| f.probability >= threshold)
            .cloned()
            .collect();
        let max = above
            .iter()
            .map(|f| f.probability)
            .fold(f64::NEG_INFINITY, f64::max);
        (!above.is_empty()).then_some((max, above))
    }

    /// The JSON line.
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// POST the alert to `url` (JSON body); `Err` in words.
pub fn post(url: &str, alert: &Alert, timeout: Duration) -> Result<(), String> {
    let agent = radlab_pacs::dicomweb::agent(timeout);
    let r = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(alert.json())
        .map_err(|e| format!("POST {url}: {e}"))?;
    let s = r.status().as_u16();
    if (200..300).contains(&s) {
        Ok(())
    } else {
        Err(format!("POST {url}: HTTP {s}"))
    }
}
