//! A DICOMweb client (PS3.18): STOW-RS, QIDO-RS, WADO-RS, on `ureq`.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use crate::PacsError;

/// An HTTP agent with a global timeout and HTTP statuses returned, not raised.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Largest answer read into memory (a bound whatever the server sends).
pub const MAX_ANSWER: u64 = 2 << 30;

/// A DICOMweb service at a base URL such as `http://127.0.0.1:8042/dicom-web`.
pub struct DicomWeb {
    base: String,
    agent: ureq::Agent,
}

/// What a STOW-RS store said.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// SOP Instance UIDs stored.
    pub stored: Vec<String>,
    /// SOP Instance UIDs refused, with the failure reason code.
    pub failed: Vec<(String, u16)>,
}

/// The first value of attribute `tag` (8 hex digits) of a DICOM JSON object.
pub fn value_str(obj: &Value, tag: &str) -> Option<String> {
    match obj.get(tag)?.get("Value")?.get(0)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

impl DicomWeb {
    /// A client of `base` (no trailing slash needed).
    pub fn new(base: &str, timeout: Duration) -> DicomWeb {
        DicomWeb {
            base: base.trim_end_matches('/').to_string(),
            agent: agent(timeout),
        }
    }

    fn fail(method: &'static str, url: &str, reason: impl ToString) -> PacsError {
        PacsError::Http {
            method,
            url: url.to_string(),
            reason: reason.to_string(),
        }
    }

    /// STOW-RS: store DICOM files (their bytes, preamble included) in one
    /// multipart/related request.
    pub fn store(&self, files: &[Vec<u8>]) -> Result<Stored, PacsError> {
        let url = format!("{}/studies", self.base);
        let boundary = "radlab-stow-5f3c2a1e9b7d";
        let mut body = Vec::new();
        for f in files {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(f);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut resp = self
            .agent
            .post(&url)
            .header(
                "Content-Type",
                format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
            )
            .header("Accept", "application/dicom+json")
            .send(&body[..])
            .map_err(|e| Self::fail("POST", &url, e))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| Self::fail("POST", &url, e))?;
        if !(200..300).contains(&status) && status != 409 {
            return Err(Self::fail(
                "POST",
                &url,
                format!("HTTP {status}: {}", text.trim()),
            ));
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| PacsError::Answer {
            url: url.clone(),
            reason: format!("not DICOM JSON ({e})"),
        })?;
        let list = |seq: &str| -> Vec<&Value> {
            v.get(seq)
                .and_then(|s| s.get("Value"))
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        };
        // ReferencedSOPSequence (0008,1199) and FailedSOPSequence (0008,1198).
        let stored = list("00081199")
            .into_iter()
            .filter_map(|i| value_str(i, "00081155"))
            .collect();
        let failed = list("00081198")
            .into_iter()
            .map(|i| {
                (
                    value_str(i, "00081155").unwrap_or_default(),
                    value_str(i, "00081197")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                )
            })
            .collect();
        Ok(Stored { stored, failed })
    }

    /// QIDO-RS: `path` relative to the base, e.g. `studies?PatientID=X` or
    /// `studies/{S}/series`; returns the DICOM JSON objects.
    pub fn search(&self, path: &str) -> Result<Vec<Value>, PacsError> {
        let url = format!("{}/{}", self.base, path.trim_start_matches('/'));
        let mut resp = self
            .agent
            .get(&url)
            .header("Accept", "application/dicom+json")
            .call()
            .map_err(|e| Self::fail("GET", &url, e))?;
        let status = resp.status().as_u16();
        if status == 204 {
            return Ok(Vec::new());
        }
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| Self::fail("GET", &url, e))?;
        if status != 200 {
            return Err(Self::fail(
                "GET",
                &url,
                format!("HTTP {status}: {}", text.trim()),
            ));
        }
        serde_json::from_str(&text).map_err(|e| PacsError::Answer {
            url,
            reason: format!("not a DICOM JSON array ({e})"),
        })
    }

    /// WADO-RS: retrieve one instance's bytes (a DICOM file).
    pub fn retrieve_instance(
        &self,
        study: &str,
        series: &str,
        instance: &str,
    ) -> Result<Vec<u8>, PacsError> {
        let url = format!(
            "{}/studies/{study}/series/{series}/instances/{instance}",
            self.base
        );
        let mut resp = self
            .agent
            .get(&url)
            .header("Accept", "multipart/related; type=\"application/dicom\"")
            .call()
            .map_err(|e| Self::fail("GET", &url, e))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut body = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_ANSWER)
            .read_to_end(&mut body)
            .map_err(|e| Self::fail("GET", &url, e))?;
        if status != 200 {
            return Err(Self::fail(
                "GET",
                &url,
                format!("HTTP {status}: {}", String::from_utf8_lossy(&body).trim()),
            ));
        }
        let mut parts =
            multipart_parts(&content_type, &body).map_err(|reason| PacsError::Answer {
                url: url.clone(),
                reason,
            })?;
        if parts.len() != 1 {
            return Err(PacsError::Answer {
                url,
                reason: format!("{} parts for one instance", parts.len()),
            });
        }
        Ok(parts.remove(0))
    }
}

/// The bodies of a multipart/related message (RFC 2046), by hand: a
/// boundary scan is all a DICOMweb retrieve needs.
pub fn multipart_parts(content_type: &str, body: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .ok_or_else(|| format!("no boundary in Content-Type \"{content_type}\""))?;
    let delim = format!("--{boundary}");
    let starts: Vec<usize> = memchr::memmem::find_iter(body, delim.as_bytes()).collect();
    if starts.is_empty() {
        return Err("no part delimiter in the body".into());
    }
    let mut parts = Vec::new();
    for w in starts.windows(2) {
        let part = &body[w[0] + delim.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let head_end = memchr::memmem::find(part, b"\r\n\r\n").ok_or("a part without headers")?;
        let content = &part[head_end + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        parts.push(content.to_vec());
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_of_two_parts() {
        let body = b"--b1\r\nContent-Type: application/dicom\r\n\r\nAB\r\nC\r\n--b1\r\nContent-Type: application/dicom\r\n\r\nxyz\r\n--b1--\r\n";
        let parts = multipart_parts(
            "multipart/related; type=\"application/dicom\"; boundary=\"b1\"",
            body,
        )
        .unwrap();
        assert_eq!(parts, vec![b"AB\r\nC".to_vec(), b"xyz".to_vec()]);
        assert!(multipart_parts("multipart/related", body).is_err());
    }
}
