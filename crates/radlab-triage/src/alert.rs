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

/// A loopback webhook that records what is POSTed to it: the receiving end
/// of the alerts in the lab and the tests. Written by hand (a few lines over
/// `std::net`) since it only ever reads one small JSON body per connection
/// and answers `204 No Content`.
pub struct WebhookSink {
    addr: std::net::SocketAddr,
    received: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl WebhookSink {
    /// Listen on 127.0.0.1 (a free port).
    pub fn start() -> std::io::Result<WebhookSink> {
        use std::io::{BufRead, Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = std::io::BufReader::new(stream);
                let mut len = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                // Alerts are small; anything larger is cut at 1 MiB.
                let mut body = vec![0u8; len.min(1 << 20)];
                if reader.read_exact(&mut body).is_ok() {
                    if let Ok(mut v) = r.lock() {
                        v.push(String::from_utf8_lossy(&body).into_owned());
                    }
                }
                let mut stream = reader.into_inner();
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            }
        });
        Ok(WebhookSink {
            addr,
            received,
            stop,
            handle: Some(handle),
        })
    }

    /// The URL to POST to.
    pub fn url(&self) -> String {
        format!("http://{}/alerts", self.addr)
    }

    /// The bodies received so far.
    pub fn received(&self) -> Vec<String> {
        self.received.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
