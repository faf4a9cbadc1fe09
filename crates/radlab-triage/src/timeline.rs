//! A study's timeline and latency percentiles over many.

use std::time::Duration;

/// Each step of one study, as times since the service's clock origin.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Timeline {
    /// Study Instance UID.
    pub study: String,
    /// Instances received.
    pub instances: usize,
    /// First instance acknowledged.
    #[serde(with = "ms")]
    pub first_received: Duration,
    /// Last instance acknowledged.
    #[serde(with = "ms")]
    pub last_received: Duration,
    /// Judged complete.
    #[serde(with = "ms")]
    pub complete: Duration,
    /// Why complete.
    pub complete_because: Option<crate::complete::Reason>,
    /// Work started (out of the queue).
    #[serde(with = "opt_ms")]
    pub started: Option<Duration>,
    /// Series loaded into volumes.
    #[serde(with = "opt_ms")]
    pub loaded: Option<Duration>,
    /// Models run, result objects made.
    #[serde(with = "opt_ms")]
    pub inferred: Option<Duration>,
    /// Results acknowledged by the destination PACS.
    #[serde(with = "opt_ms")]
    pub stored: Option<Duration>,
    /// Alert sent (only when a finding passed the threshold).
    #[serde(with = "opt_ms")]
    pub alerted: Option<Duration>,
    /// Delivery attempts to the PACS.
    pub attempts: u32,
}

impl Timeline {
    /// The stages as (name, duration) from one step to the next, for a
    /// table: completeness wait, queue wait, load, inference, store, alert;
    /// and end to end (last instance to results stored).
    pub fn stages(&self) -> Vec<(&'static str, Option<Duration>)> {
        let d = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        vec![
            (
                "receive (first to last instance)",
                d(Some(self.first_received), Some(self.last_received)),
            ),
            (
                "completeness wait",
                d(Some(self.last_received), Some(self.complete)),
            ),
            ("queue", d(Some(self.complete), self.started)),
            ("load", d(self.started, self.loaded)),
            ("inference + results", d(self.loaded, self.inferred)),
            ("store in PACS", d(self.inferred, self.stored)),
            ("alert", d(self.stored, self.alerted)),
            (
                "last instance to results in PACS",
                d(Some(self.last_received), self.stored),
            ),
            (
                "same, completeness wait excluded",
                d(Some(self.complete), self.stored),
            ),
        ]
    }
}

/// Percentile by the nearest-rank rule: the smallest value with at least
/// `p` % of the values at or below it (the `ceil(p/100 * n)`-th smallest).
/// Unlike NumPy's default (linear interpolation between ranks) it always
/// returns a measured value. `None` for no values or `p` outside `(0, 100]`.
///
/// ```
/// use radlab_triage::timeline::percentile;
/// let v = [15.0, 20.0, 35.0, 40.0, 50.0];
/// assert_eq!(percentile(&v, 40.0), Some(20.0)); // ceil(2.0) = 2nd
/// assert_eq!(percentile(&v, 50.0), Some(35.0)); // ceil(2.5) = 3rd
/// assert_eq!(percentile(&v, 100.0), Some(50.0));
/// ```
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() || !(p > 0.0 && p <= 100.0) {
        return None;
    }
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    // p * n before dividing: 95 * 20 / 100 is exactly 19, 0.95 * 20 is not.
    let rank = (p * v.len() as f64 / 100.0).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

mod ms {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
    }
}

mod opt_ms {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&((d.as_secs_f64() * 1e6).round() / 1e3)),
            None => s.serialize_none(),
        }
    }
}
