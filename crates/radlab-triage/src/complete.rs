//! When is a study complete?
//!
//! DIMSE has no "end of study" message: a scanner opens associations, sends
//! instances, releases, and may send more later. A listener decides by rule.
//! The common rule (Orthanc's `StableAge`, 60 s by default) is a quiet
//! period: complete when nothing new has arrived for that long. It costs its
//! whole length on every study, which often makes it the largest term of
//! time-to-alert. When each series says how many instances it has (Images
//! in Acquisition, or Number of Series Related Instances), the study can be
//! called complete as soon as every series has them all.
//!
//! Times are [`Duration`]s since a clock origin the caller chooses (the
//! service's start), so the rule is a pure function and can be tested with
//! made-up times.

use std::collections::BTreeMap;
use std::time::Duration;

/// The completeness rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Complete after this long with no new instance.
    pub quiet: Duration,
    /// Complete as soon as every series has the instance count it announces.
    pub expected_count: bool,
}

impl Default for Rule {
    /// A 2 s quiet period and the expected-count shortcut.
    fn default() -> Self {
        Rule {
            quiet: Duration::from_secs(2),
            expected_count: true,
        }
    }
}

/// Instances of one series so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesCount {
    /// Distinct instances received.
    pub received: usize,
    /// The count the series announces, if any.
    pub expected: Option<usize>,
}

/// What has arrived of one study.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// First instance received.
    pub first: Duration,
    /// Latest instance received.
    pub last: Duration,
    /// Per series (by Series Instance UID).
    pub series: BTreeMap<String, SeriesCount>,
}

/// Why a study was judged complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Every series has the instance count it announced.
    ExpectedCount,
    /// Nothing new for the quiet period.
    Quiet,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reason::ExpectedCount => "every series has the instances it announced",
            Reason::Quiet => "nothing new for the quiet period",
        })
    }
}

impl Progress {
    /// Record one new instance of `series` at `at` (announcing `expected`).
    pub fn add(&mut self, series: &str, expected: Option<usize>, at: Duration) {
        if self.series.is_empty() {
            self.first = at;
        }
        self.first = self.first.min(at);
        self.last = self.last.max(at);
        let s = self.series.entry(series.to_string()).or_default();
        s.received += 1;
        if expected.is_some() {
            s.expected = expected;
        }
    }

    /// Instances received in all series.
    pub fn instances(&self) -> usize {
        self.series.values().map(|s| s.received).sum()
    }
}

impl Rule {
    /// `Some(reason)` when the study counts as complete at `now`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use radlab_triage::complete::{Progress, Reason, Rule};
    /// let s = Duration::from_secs;
    /// let rule = Rule { quiet: s(60), expected_count: true };
    /// let mut p = Progress::default();
    /// p.add("1.2.3", Some(2), s(10));
    /// assert_eq!(rule.check(&p, s(11)), None);
    /// p.add("1.2.3", Some(2), s(11));
    /// assert_eq!(rule.check(&p, s(11)), Some(Reason::ExpectedCount));
    /// // Without the shortcut it waits the full quiet period.
    /// let quiet = Rule { expected_count: false, ..rule };
    /// assert_eq!(quiet.check(&p, s(70)), None);
    /// assert_eq!(quiet.check(&p, s(71)), Some(Reason::Quiet));
    /// ```
    pub fn check(&self, p: &Progress, now: Duration) -> Option<Reason> {
        if p.series.is_empty() {
            return None;
        }
        if self.expected_count
            && p.series
                .values()
                .all(|s| s.expected.is_some_and(|e| s.received >= e))
        {
            return Some(Reason::ExpectedCount);
        }
        (now.saturating_sub(p.last) >= self.quiet).then_some(Reason::Quiet)
    }

    /// When the quiet period of `p` ends (the latest time to look again).
    pub fn due(&self, p: &Progress) -> Duration {
        p.last + self.quiet
    }
}
