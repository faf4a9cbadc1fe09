//! Results to the destination PACS, by C-STORE or STOW-RS, retried with
//! exponential backoff while the PACS is away.

use std::time::{Duration, Instant};

use radlab_pacs::dicomweb::DicomWeb;
use radlab_pacs::scu::{Association, ScuOptions};

use crate::TriageError;

/// Where results go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// DIMSE C-STORE to `address` (`host:port`) as `calling_aet` to `called_aet`.
    Dimse {
        /// `host:port`.
        address: String,
        /// The PACS's AE title.
        called_aet: String,
        /// Ours.
        calling_aet: String,
    },
    /// STOW-RS to a DICOMweb root (e.g. `http://127.0.0.1:8042/dicom-web`).
    DicomWeb(String),
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Dimse {
                address,
                called_aet,
                ..
            } => write!(f, "C-STORE to {called_aet}@{address}"),
            Destination::DicomWeb(u) => write!(f, "STOW-RS to {u}"),
        }
    }
}

/// Retry policy: the first wait, doubled each time up to `max_wait`, for at
/// most `give_up_after` in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Wait after the first failure.
    pub first_wait: Duration,
    /// Longest wait between two attempts.
    pub max_wait: Duration,
    /// Stop trying after this long.
    pub give_up_after: Duration,
}

impl Default for Retry {
    /// 0.25 s doubling to 4 s, for up to 5 minutes.
    fn default() -> Self {
        Retry {
            first_wait: Duration::from_millis(250),
            max_wait: Duration::from_secs(4),
            give_up_after: Duration::from_secs(300),
        }
    }
}

impl Retry {
    /// The wait before attempt `n + 1` after `n` failures (n >= 1).
    ///
    /// ```
    /// use std::time::Duration;
    /// let r = radlab_triage::deliver::Retry::default();
    /// assert_eq!(r.wait(1), Duration::from_millis(250));
    /// assert_eq!(r.wait(3), Duration::from_secs(1));
    /// assert_eq!(r.wait(30), Duration::from_secs(4));
    /// ```
    pub fn wait(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(20);
        self.first_wait.saturating_mul(factor).min(self.max_wait)
    }
}

/// Send `objects` once; `Err` names what failed.
pub fn send_once(dest: &Destination, objects: &[Vec<u8>]) -> Result<(), String> {
    match dest {
        Destination::Dimse {
            address,
            called_aet,
            calling_aet,
        } => {
            let mut parsed = Vec::with_capacity(objects.len());
            let mut classes = Vec::new();
            for b in objects {
                let o = dicom_object::OpenFileOptions::new()
                    .from_reader(b.get(128..).ok_or("a result object under 128 bytes")?)
                    .map_err(|e| format!("a result object does not read back: {e}"))?;
                classes.push(
                    o.meta()
                        .media_storage_sop_class_uid()
                        .trim_end_matches('\0')
                        .to_string(),
                );
                parsed.push(o);
            }
            let class_refs: Vec<&str> = classes.iter().map(String::as_str).collect();
            let mut a = Association::open(
                &ScuOptions {
                    calling_aet: calling_aet.clone(),
                    called_aet: called_aet.clone(),
                    address: address.clone(),
                    timeout: Duration::from_secs(30),
                },
                &class_refs,
            )
            .map_err(|e| e.to_string())?;
            for o in &parsed {
                let status = a.store(o).map_err(|e| e.to_string())?;
                if status != 0 && !(0xB000..=0xBFFF).contains(&status) {
                    return Err(format!(
                        "the PACS answered C-STORE with status {status:04X}"
                    ));
                }
            }
            a.release().map_err(|e| e.to_string())
        }
        Destination::DicomWeb(url) => {
            let web = DicomWeb::new(url, Duration::from_secs(30));
            let r = web.store(objects).map_err(|e| e.to_string())?;
            if r.failed.is_empty() {
                Ok(())
            } else {
                Err(format!("STOW-RS refused {:?}", r.failed))
            }
        }
    }
}

/// Send with retries until success or the policy gives up; `stop` is
/// polled between attempts (shutting down ends the retries early). Returns
/// the attempts made.
pub fn send(
    dest: &Destination,
    objects: &[Vec<u8>],
    retry: &Retry,
    stop: &dyn Fn() -> bool,
    on_failure: &mut dyn FnMut(u32, &str, Duration),
) -> Result<u32, TriageError> {
    let started = Instant::now();
    let mut failures = 0u32;
    loop {
        match send_once(dest, objects) {
            Ok(()) => return Ok(failures + 1),
            Err(e) => {
                failures += 1;
                let wait = retry.wait(failures);
                if started.elapsed() + wait > retry.give_up_after || stop() {
                    return Err(TriageError::Delivery {
                        destination: dest.to_string(),
                        attempts: failures,
                        reason: e,
                    });
                }
                on_failure(failures, &e, wait);
                let until = Instant::now() + wait;
                while Instant::now() < until {
                    if stop() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20).min(wait));
                }
            }
        }
    }
}
