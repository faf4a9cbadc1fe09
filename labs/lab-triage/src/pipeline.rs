//! The lab's pipeline: a triage node between a scanner and a PACS, run for
//! real on loopback, three ways.
//!
//! 1. **Quiet period.** dcmtk's `dcmsend` plays the scanner and sends the
//!    sample studies back to back to radlab's listener; each study is called
//!    complete after the quiet period, analysed (segmenter + classifier ->
//!    SEG + TID 1500 SR), the results are C-STOREd into Orthanc, and a
//!    finding above the threshold raises an alert (a JSON line and a POST
//!    to a loopback webhook).
//! 2. **Expected count.** The same first study, its slices marked by dcmtk's
//!    `dcmodify` with Images in Acquisition (what some scanners send): the
//!    node calls it complete at its last slice and waits for nothing.
//! 3. **Orthanc routes.** As many hospitals set it up: the scanner sends to
//!    the PACS only, and Orthanc's own hook on a stable study (Lua
//!    `OnStableStudy`, after `StableAge`) forwards it to the node.
//!
//! Every study gets a timeline; the stages are summarised as P50 and P95
//! (nearest rank) over the studies.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use radlab_pacs::orthanc::{Orthanc, OrthancOptions};
use radlab_triage::alert::WebhookSink;
use radlab_triage::analyze::Nodules;
use radlab_triage::deliver::Destination;
use radlab_triage::timeline::{Timeline, percentile};
use radlab_triage::{Event, Options as NodeOptions, Service};
use serde::Serialize;

use crate::types::{Completeness, Completion, Disk, SeriesSoFar};

/// The reference of task `completeness`: radlab-triage's rule.
pub fn is_complete(
    series: &[SeriesSoFar],
    last_ms: u64,
    now_ms: u64,
    rule: Completeness,
) -> Option<Completion> {
    let mut p = radlab_triage::complete::Progress::default();
    for (i, s) in series.iter().enumerate() {
        let uid = format!("1.2.{i}");
        for _ in 0..s.received {
            p.add(&uid, s.expected, Duration::from_millis(last_ms));
        }
        if s.received == 0 {
            // A series known but with nothing received yet (its count only).
            p.series.insert(
                uid,
                radlab_triage::complete::SeriesCount {
                    received: 0,
                    expected: s.expected,
                },
            );
            p.last = Duration::from_millis(last_ms);
        }
    }
    radlab_triage::complete::Rule {
        quiet: Duration::from_millis(rule.quiet_ms),
        expected_count: rule.expected_count,
    }
    .check(&p, Duration::from_millis(now_ms))
}

/// The reference of task `work-order`: the order radlab-triage's queue pops.
pub fn work_order(priorities: &[i32]) -> Vec<usize> {
    let mut q = radlab_triage::queue::Queue::default();
    for (i, p) in priorities.iter().enumerate() {
        q.push(*p, i);
    }
    std::iter::from_fn(|| q.pop()).collect()
}

/// The reference of task `durable-ack`: the order radlab-pacs' listener
/// follows (`scp::finish`): write the temporary file, fsync it, link it
/// under its name without replacing anything, drop the temporary name,
/// fsync the folder, and only then answer success.
pub fn store_instance(disk: &mut dyn Disk, name: &str, bytes: &[u8]) {
    let Ok(f) = disk.create_temp() else {
        disk.acknowledge(0xA700);
        return;
    };
    if disk.write(f, bytes).and_then(|_| disk.fsync(f)).is_err() {
        disk.remove_temp(f);
        disk.acknowledge(0xA700);
        return;
    }
    let linked = disk.link(f, name);
    disk.remove_temp(f);
    match linked {
        Ok(true) => match disk.fsync_dir() {
            Ok(()) => disk.acknowledge(0x0000),
            Err(_) => disk.acknowledge(0xA700),
        },
        // Stored before: the first copy stays, the sender hears success.
        Ok(false) => disk.acknowledge(0x0000),
        Err(_) => disk.acknowledge(0xA700),
    }
}

/// What the pipeline is run with.
#[derive(Debug, Clone)]
pub struct Options {
    /// The sample studies' CT folders, sent in this order.
    pub studies: Vec<PathBuf>,
    /// The node's quiet period in scenario 1.
    pub quiet: Duration,
    /// Orthanc's StableAge in scenario 3, seconds.
    pub stable_age_s: u32,
    /// Work folder (storage of the nodes, marked copies).
    pub work: PathBuf,
}

/// One stage's latency over the studies of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    /// Its name.
    pub stage: String,
    /// Each study's value, ms.
    pub ms: Vec<f64>,
    /// Nearest-rank P50.
    pub p50_ms: Option<f64>,
    /// Nearest-rank P95.
    pub p95_ms: Option<f64>,
}

/// One scenario's run.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// What it shows.
    pub name: String,
    /// The node's quiet period, s.
    pub quiet_s: f64,
    /// The expected-count shortcut on or off.
    pub expected_count: bool,
    /// Each study's timeline.
    pub timelines: Vec<Timeline>,
    /// Stages over the studies.
    pub stages: Vec<Stage>,
    /// Alerts raised (and received by the webhook).
    pub alerts: usize,
    /// Alerts the webhook received.
    pub webhook_received: usize,
    /// Instances the listener stored.
    pub instances_stored: u64,
    /// Duplicates among them.
    pub duplicates: u64,
    /// Instances refused.
    pub refused: u64,
    /// Results series found in Orthanc afterwards (SEG and SR per study).
    pub results_in_pacs: usize,
}

/// Scenario 3's extra measurements.
#[derive(Debug, Clone, Serialize)]
pub struct Forwarded {
    /// Orthanc's StableAge, s.
    pub stable_age_s: u32,
    /// Last instance into Orthanc to the first instance at the node, ms
    /// (Orthanc's StableAge wait plus its forwarding job).
    pub pacs_wait_ms: f64,
    /// First instance at the node to its results stored back, ms.
    pub node_ms: f64,
    /// Last instance into Orthanc to the SR found in Orthanc by QIDO, ms.
    pub last_instance_to_sr_ms: f64,
    /// The same, projected with Orthanc's default StableAge of 60 s.
    pub projected_with_default_stable_age_ms: f64,
}

/// Everything the lab prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The studies sent (folders).
    pub studies: Vec<String>,
    /// Instances per study.
    pub instances: Vec<usize>,
    /// Scenario 1 and 2.
    pub scenarios: Vec<Scenario>,
    /// Scenario 3.
    pub forwarded: Forwarded,
    /// Orthanc's PID, and whether it was gone at the end.
    pub orthanc_pids: Vec<u32>,
    /// Every Orthanc process had exited when the pipeline returned.
    pub orthanc_stopped: bool,
    /// The learner's percentiles of scenario 1's end-to-end latency, when `--mine`.
    pub mine: Option<MinePercentiles>,
}

/// `--mine`: the exercise's percentiles next to the reference's.
#[derive(Debug, Clone, Serialize)]
pub struct MinePercentiles {
    /// The exercise's P50 and P95 of scenario 1's end to end.
    pub mine: [Option<f64>; 2],
    /// radlab's.
    pub radlab: [Option<f64>; 2],
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn dcm_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    v.sort();
    if v.is_empty() {
        bail!(radlab_labkit::bad_input(format!(
            "{}: no .dcm files",
            dir.display()
        )));
    }
    Ok(v)
}

/// dcmtk's `dcmsend`, the scanner.
fn dcmsend(aec: &str, port: u16, files: &[PathBuf]) -> Result<()> {
    let out = Command::new("dcmsend")
        .args(["-aet", "SCANNER", "-aec", aec, "127.0.0.1"])
        .arg(port.to_string())
        .args(files)
        .output()
        .context("running dcmtk's dcmsend (installed with dcmtk)")?;
    if !out.status.success() {
        bail!(
            "dcmsend to {aec} on port {port} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// dcmtk (dcmsend, dcmodify) from Debian, installed when missing.
fn ensure_dcmtk() -> Result<()> {
    let have = Command::new("dcmsend").arg("--version").output().is_ok()
        && Command::new("dcmodify").arg("--version").output().is_ok();
    if have {
        return Ok(());
    }
    radlab_pacs::orthanc::apt_install(&["dcmtk"]).context("installing dcmtk")
}

fn stages(timelines: &[Timeline]) -> Vec<Stage> {
    let Some(first) = timelines.first() else {
        return Vec::new();
    };
    first
        .stages()
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let v: Vec<f64> = timelines
                .iter()
                .filter_map(|t| t.stages()[i].1.map(ms))
                .collect();
            Stage {
                stage: name.to_string(),
                p50_ms: percentile(&v, 50.0),
                p95_ms: percentile(&v, 95.0),
                ms: v,
            }
        })
        .collect()
}

/// Run one node until `n` studies are finished (bounded); the events narrated.
fn node_run(
    opts: NodeOptions,
    n: usize,
    send: &mut dyn FnMut(&Service) -> Result<()>,
    say: &mut dyn FnMut(&str),
) -> Result<(Vec<Timeline>, usize, radlab_triage::Summary, Instant)> {
    let (svc, rx) = Service::start(opts, Box::new(Nodules::load_models()?))?;
    let clock = svc.clock();
    send(&svc)?;
    let mut timelines = Vec::new();
    let mut alerts = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while timelines.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = rx.recv_timeout(left).map_err(|_| {
            anyhow::anyhow!(
                "the node finished {} of {n} studies in 300 s",
                timelines.len()
            )
        })?;
        match ev {
            Event::Complete {
                study,
                reason,
                instances,
            } => say(&format!(
                "  complete: study ...{} ({instances} instances): {reason}",
                tail(&study)
            )),
            Event::Alert(a) => {
                alerts += 1;
                say(&format!(
                    "  ALERT study ...{}: {} finding(s) >= {}, max p = {:.2}",
                    tail(&a.study),
                    a.findings.len(),
                    a.threshold,
                    a.max_probability
                ));
            }
            Event::Retrying { reason, .. } => say(&format!("  retrying delivery: {reason}")),
            Event::Failed { study, reason } => bail!("study {study} failed: {reason}"),
            Event::Done(t) => timelines.push(t),
            _ => {}
        }
    }
    let summary = svc.stop(Duration::from_secs(5));
    Ok((timelines, alerts, summary, clock))
}

fn tail(uid: &str) -> &str {
    &uid[uid.len().saturating_sub(8)..]
}

fn count_results(pacs: &Orthanc, studies: &[String]) -> Result<usize> {
    let web = radlab_pacs::dicomweb::DicomWeb::new(&pacs.dicomweb_url(), Duration::from_secs(30));
    let mut n = 0;
    for s in studies {
        let series = web.search(&format!("studies/{s}/series"))?;
        n += series
            .iter()
            .filter(|x| {
                matches!(
                    radlab_pacs::dicomweb::value_str(x, "00080060").as_deref(),
                    Some("SEG" | "SR")
                )
            })
            .count();
    }
    Ok(n)
}

fn node_options(storage: PathBuf, pacs: &Orthanc, quiet: Duration, expected: bool) -> NodeOptions {
    let mut o = NodeOptions::new(storage);
    o.rule.quiet = quiet;
    o.rule.expected_count = expected;
    o.destination = Some(Destination::Dimse {
        address: format!("127.0.0.1:{}", pacs.dicom_port),
        called_aet: pacs.aet.clone(),
        calling_aet: "RADLAB".into(),
    });
    o
}

/// Run the three scenarios.
pub fn run(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Report> {
    ensure_dcmtk()?;
    radlab_pacs::orthanc::ensure_installed()?;
    let studies: Vec<Vec<PathBuf>> = opts
        .studies
        .iter()
        .map(|d| dcm_files(d))
        .collect::<Result<_>>()?;
    let all: Vec<PathBuf> = studies.iter().flatten().cloned().collect();
    // A fresh node every run: instances kept from an earlier run would be
    // duplicates now, and a duplicate does not reopen a finished study.
    if opts.work.exists() {
        std::fs::remove_dir_all(&opts.work)
            .with_context(|| format!("{}: cannot clear the work folder", opts.work.display()))?;
    }
    radlab_labkit::prepare_out_dir(&opts.work)?;
    let hook = WebhookSink::start().context("starting the loopback webhook")?;
    let mut pids = Vec::new();

    // 1 and 2: the scanner sends to the node, the node to the PACS.
    say("starting Orthanc (the PACS) on loopback");
    let mut pacs = Orthanc::start(&OrthancOptions::default())?;
    pids.extend(pacs.pid());
    let mut scenarios = Vec::new();
    let mut study_uids = Vec::new();
    for (name, quiet, expected, files) in [
        ("quiet period", opts.quiet, false, all.clone()),
        (
            "expected count",
            Duration::from_secs(60),
            true,
            marked_copy(&studies[0], &opts.work)?,
        ),
    ] {
        say(&format!(
            "scenario {:?}: quiet period {} s, expected-count shortcut {}; dcmsend -> radlab listener -> Orthanc",
            name,
            quiet.as_secs_f64(),
            if expected { "on" } else { "off" }
        ));
        let storage = opts.work.join(name.replace(' ', "-"));
        let mut o = node_options(storage, &pacs, quiet, expected);
        o.webhook = Some(hook.url());
        let before = hook.received().len();
        let n = if expected { 1 } else { studies.len() };
        let (timelines, alerts, summary, _) = node_run(
            o,
            n,
            &mut |svc| dcmsend("RADLAB", svc.address().port(), &files),
            say,
        )?;
        let uids: Vec<String> = timelines.iter().map(|t| t.study.clone()).collect();
        study_uids.extend(uids.iter().cloned());
        scenarios.push(Scenario {
            name: name.into(),
            quiet_s: quiet.as_secs_f64(),
            expected_count: expected,
            stages: stages(&timelines),
            results_in_pacs: count_results(&pacs, &uids)?,
            timelines,
            alerts,
            webhook_received: hook.received().len() - before,
            instances_stored: summary.listener.stored,
            duplicates: summary.listener.duplicates,
            refused: summary.listener.refused,
        });
    }
    pacs.stop(Duration::from_secs(10));

    // 3: the scanner sends to the PACS; Orthanc forwards stable studies.
    let node_port = radlab_pacs::orthanc::free_port()?;
    say(&format!(
        "scenario \"Orthanc routes\": dcmsend -> Orthanc (StableAge {} s, Lua OnStableStudy) -> radlab listener -> Orthanc",
        opts.stable_age_s
    ));
    let mut routing = Orthanc::start(&OrthancOptions {
        stable_age_s: opts.stable_age_s,
        forward_stable_to: Some(("RADLAB".into(), node_port)),
        ..OrthancOptions::default()
    })?;
    pids.extend(routing.pid());
    let mut o = node_options(
        opts.work.join("orthanc-routes"),
        &routing,
        Duration::from_millis(500),
        true,
    );
    o.scp.address = ([127, 0, 0, 1], node_port).into();
    let mut sent_at = None;
    let first = studies[0].clone();
    let routing_port = routing.dicom_port;
    let routing_aet = routing.aet.clone();
    let (timelines, _, _, clock) = node_run(
        o,
        1,
        &mut |_svc| {
            dcmsend(&routing_aet, routing_port, &first)?;
            sent_at = Some(Instant::now());
            Ok(())
        },
        say,
    )?;
    let t = &timelines[0];
    let sent = sent_at.unwrap_or(clock);
    let sr_found = wait_sr(&routing, &t.study, Duration::from_secs(30))?;
    routing.stop(Duration::from_secs(10));
    let first_at_node = clock + t.first_received;
    let stored_at = clock + t.stored.unwrap_or(t.inferred.unwrap_or_default());
    let last_to_sr = ms(sr_found.saturating_duration_since(sent));
    let forwarded = Forwarded {
        stable_age_s: opts.stable_age_s,
        pacs_wait_ms: ms(first_at_node.saturating_duration_since(sent)),
        node_ms: ms(stored_at.saturating_duration_since(first_at_node)),
        last_instance_to_sr_ms: last_to_sr,
        projected_with_default_stable_age_ms: last_to_sr
            + 1000.0 * (60.0 - f64::from(opts.stable_age_s)),
    };
    let stopped = pids
        .iter()
        .all(|p| !Path::new(&format!("/proc/{p}")).exists());
    Ok(Report {
        studies: opts
            .studies
            .iter()
            .map(|p| radlab_labkit::display_path(p))
            .collect(),
        instances: studies.iter().map(Vec::len).collect(),
        scenarios,
        forwarded,
        orthanc_pids: pids,
        orthanc_stopped: stopped,
        mine: None,
    })
}

/// Poll Orthanc's QIDO until the study has an SR series.
fn wait_sr(pacs: &Orthanc, study: &str, limit: Duration) -> Result<Instant> {
    let web = radlab_pacs::dicomweb::DicomWeb::new(&pacs.dicomweb_url(), Duration::from_secs(10));
    let deadline = Instant::now() + limit;
    loop {
        let series = web
            .search(&format!("studies/{study}/series"))
            .unwrap_or_default();
        if series
            .iter()
            .any(|s| radlab_pacs::dicomweb::value_str(s, "00080060").as_deref() == Some("SR"))
        {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!("no SR for study {study} in Orthanc after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Copies of one study with Images in Acquisition set by dcmtk's dcmodify,
/// as a scanner that announces its counts sends them.
fn marked_copy(files: &[PathBuf], work: &Path) -> Result<Vec<PathBuf>> {
    let dir = work.join("announced");
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let mut out = Vec::new();
    for f in files {
        let p = dir.join(f.file_name().unwrap_or_default());
        std::fs::copy(f, &p).with_context(|| format!("copying {}", f.display()))?;
        out.push(p);
    }
    let r = Command::new("dcmodify")
        .args(["-nb", "-i"])
        .arg(format!("(0020,1002)={}", files.len()))
        .args(&out)
        .output()
        .context("running dcmtk's dcmodify")?;
    if !r.status.success() {
        bail!("dcmodify failed: {}", String::from_utf8_lossy(&r.stderr));
    }
    Ok(out)
}
