//! Orthanc on loopback: install, configure, start, wait, stop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::PacsError;

/// Where Debian puts the server and the DICOMweb plugin.
pub const ORTHANC: &str = "/usr/sbin/Orthanc";
/// The DICOMweb plugin.
pub const DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";

/// True when Orthanc and its DICOMweb plugin are installed.
pub fn installed() -> bool {
    Path::new(ORTHANC).exists() && Path::new(DICOMWEB_PLUGIN).exists()
}

/// Install Debian's `orthanc` and `orthanc-dicomweb` with apt-get when they
/// are missing (as root, or through `sudo -n`). Installing starts no daemon.
pub fn ensure_installed() -> Result<(), PacsError> {
    if installed() {
        return Ok(());
    }
    apt_install(&["orthanc", "orthanc-dicomweb"])?;
    if installed() {
        Ok(())
    } else {
        Err(PacsError::NotInstalled(format!(
            "apt-get installed the packages but {ORTHANC} or {DICOMWEB_PLUGIN} is missing"
        )))
    }
}

/// Install Debian packages with apt-get (as root, or through `sudo -n`),
/// for the PACS side's tools (Orthanc, dcmtk).
pub fn apt_install(packages: &[&str]) -> Result<(), PacsError> {
    let root = unsafe { libc::geteuid() } == 0;
    let apt = |args: &[&str]| -> Result<(), PacsError> {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "apt-get"]);
            c
        };
        let shown = format!("apt-get {}", args.join(" "));
        tracing::info!("{shown}");
        let o = c
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| PacsError::NotInstalled(format!("cannot run {shown}: {e}")))?;
        if !o.status.success() {
            return Err(PacsError::NotInstalled(format!(
                "{shown} failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )));
        }
        Ok(())
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(packages);
    apt(&args)
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> Result<u16, PacsError> {
    let l = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| PacsError::Start(format!("no free port: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| PacsError::Start(e.to_string()))
}

/// How to run Orthanc.
#[derive(Debug, Clone)]
pub struct OrthancOptions {
    /// Its DICOM AE title.
    pub aet: String,
    /// Seconds without a new instance before a study is "stable".
    pub stable_age_s: u32,
    /// How long to wait for it to answer.
    pub start_timeout: Duration,
    /// Auto-routing as hospitals set it up: when a study becomes stable,
    /// Orthanc's built-in Lua hook (`OnStableStudy`) sends it to this
    /// modality, `(AE title, port on 127.0.0.1)`.
    pub forward_stable_to: Option<(String, u16)>,
}

impl Default for OrthancOptions {
    fn default() -> Self {
        OrthancOptions {
            aet: "RADLABPACS".into(),
            stable_age_s: 2,
            start_timeout: Duration::from_secs(60),
            forward_stable_to: None,
        }
    }
}

/// A running Orthanc. Dropping it stops the process (SIGTERM, then
/// SIGKILL after 20 s) and removes its storage.
pub struct Orthanc {
    child: Option<Child>,
    /// HTTP port on 127.0.0.1.
    pub http_port: u16,
    /// DICOM port on 127.0.0.1.
    pub dicom_port: u16,
    /// AE title.
    pub aet: String,
    dir: tempfile::TempDir,
}

impl Orthanc {
    /// Start Orthanc with a generated configuration on free loopback ports
    /// and a fresh storage folder; returns once `GET /system` answers.
    pub fn start(opts: &OrthancOptions) -> Result<Orthanc, PacsError> {
        ensure_installed()?;
        let dir = tempfile::Builder::new()
            .prefix("radlab-orthanc-")
            .tempdir()
            .map_err(|e| PacsError::Start(format!("no temporary folder: {e}")))?;
        let (http_port, dicom_port) = (free_port()?, free_port()?);
        let db = dir.path().join("db");
        let config = serde_json::json!({
            "Name": "RADLAB-PACS",
            "StorageDirectory": db,
            "IndexDirectory": db,
            "Plugins": [DICOMWEB_PLUGIN],
            "HttpServerEnabled": true,
            "HttpPort": http_port,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": false,
            "DicomServerEnabled": true,
            "DicomAet": opts.aet,
            "DicomPort": dicom_port,
            "DicomCheckCalledAet": false,
            "DicomAlwaysAllowEcho": true,
            "DicomAlwaysAllowStore": true,
            "UnknownSopClassAccepted": true,
            "StableAge": opts.stable_age_s,
            "SaveJobs": false,
            "DicomWeb": {
                "Enable": true,
                "Root": "/dicom-web/",
                "EnableWado": true,
                "WadoRoot": "/wado",
                "Host": format!("127.0.0.1:{http_port}"),
                "Ssl": false
            }
        });
        let mut config = config;
        if let Some((aet, port)) = &opts.forward_stable_to {
            let lua = dir.path().join("forward.lua");
            // Asynchronous: Orthanc queues a job and returns, as a site does.
            let script = "function OnStableStudy(studyId, tags, metadata)\n  \
                 RestApiPost('/modalities/triage/store', studyId)\nend\n";
            std::fs::write(&lua, script).map_err(|source| PacsError::Io {
                path: lua.clone(),
                source,
            })?;
            config["LuaScripts"] = serde_json::json!([lua]);
            config["DicomModalities"] = serde_json::json!({"triage": [aet, "127.0.0.1", port]});
        }
        let config_path = dir.path().join("orthanc.json");
        std::fs::write(
            &config_path,
            serde_json::to_vec_pretty(&config).expect("json"),
        )
        .map_err(|source| PacsError::Io {
            path: config_path.clone(),
            source,
        })?;
        let log_path = dir.path().join("orthanc.log");
        let log = std::fs::File::create(&log_path).map_err(|source| PacsError::Io {
            path: log_path.clone(),
            source,
        })?;
        let err = log.try_clone().map_err(|source| PacsError::Io {
            path: log_path.clone(),
            source,
        })?;
        let child = Command::new(ORTHANC)
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| PacsError::Start(format!("cannot run {ORTHANC}: {e}")))?;
        let mut o = Orthanc {
            child: Some(child),
            http_port,
            dicom_port,
            aet: opts.aet.clone(),
            dir,
        };
        o.wait_ready(opts.start_timeout)?;
        tracing::info!(
            "Orthanc up: http 127.0.0.1:{http_port}, DICOM {} @ 127.0.0.1:{dicom_port}",
            o.aet
        );
        Ok(o)
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), PacsError> {
        let agent = crate::dicomweb::agent(Duration::from_secs(2));
        let url = format!("{}/system", self.http_url());
        let t0 = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(PacsError::Start(format!(
                        "Orthanc exited with {status}; its log:\n{}",
                        self.log_tail()
                    )));
                }
            }
            if agent.get(&url).call().is_ok() {
                return Ok(());
            }
            if t0.elapsed() > timeout {
                return Err(PacsError::Start(format!(
                    "no answer from {url} after {timeout:?}; its log:\n{}",
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines of Orthanc's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("orthanc.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The DICOMweb root, `http://127.0.0.1:PORT/dicom-web`.
    pub fn dicomweb_url(&self) -> String {
        format!("{}/dicom-web", self.http_url())
    }

    /// The process ID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The storage folder.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("db")
    }

    /// Stop the process: SIGTERM, wait for it (Orthanc takes a few seconds
    /// to flush), SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The PID is our own child's, not yet reaped: it cannot be reused.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let t0 = Instant::now();
        while t0.elapsed() < grace {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(20));
    }
}
