//! The triage service: listener -> completeness -> routing -> priority
//! queue -> analysis -> PACS -> alert, with a timeline per study.
//!
//! Three kinds of threads: the listener's own ([`radlab_pacs::scp`]); a
//! tracker that turns acknowledged instances into studies and judges them
//! complete; one worker that takes studies off the queue, highest priority
//! first, and runs the analysis (one at a time: the models use every core).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use dicom_dictionary_std::tags;
use radlab_pacs::scp::{Scp, ScpEvent, ScpOptions, ScpSummary};

use crate::TriageError;
use crate::alert::Alert;
use crate::analyze::Analyzer;
use crate::complete::{Progress, Reason, Rule};
use crate::deliver::{Destination, Retry};
use crate::journal::{Journal, Line, State};
use crate::queue::Queue;
use crate::rules::{Routes, SeriesFacts};
use crate::timeline::Timeline;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The listener.
    pub scp: ScpOptions,
    /// When a study is complete.
    pub rule: Rule,
    /// Which series are analysed.
    pub routes: Routes,
    /// Where results go; `None` keeps them in `<storage>/results/` only.
    pub destination: Option<Destination>,
    /// Retries of the delivery.
    pub retry: Retry,
    /// A URL the alert is POSTed to.
    pub webhook: Option<String>,
    /// A finding at or above this probability raises an alert. Default 0.5.
    pub alert_threshold: f64,
}

impl Options {
    /// Loopback defaults storing into `storage`: a 2 s quiet period with
    /// the expected-count shortcut, the shipped chest CT route, no
    /// destination, no webhook.
    pub fn new(storage: impl Into<PathBuf>) -> Options {
        Options {
            scp: ScpOptions::new(storage),
            rule: Rule::default(),
            routes: Routes::default_chest_ct(),
            destination: None,
            retry: Retry::default(),
            webhook: None,
            alert_threshold: 0.5,
        }
    }
}

/// What the service reports, as it happens.
#[derive(Debug, Clone)]
pub enum Event {
    /// An event of the listener (associations, instances stored or refused).
    Listener(ScpEvent),
    /// A study found on disk unfinished at start, resumed.
    Resumed {
        /// Study Instance UID.
        study: String,
        /// Instances on disk.
        instances: usize,
    },
    /// A study judged complete.
    Complete {
        /// Study Instance UID.
        study: String,
        /// Why.
        reason: Reason,
        /// Instances.
        instances: usize,
    },
    /// A series matched a route and was queued.
    Routed {
        /// Study Instance UID.
        study: String,
        /// What the rules saw.
        facts: SeriesFacts,
        /// The route's name.
        route: String,
        /// Its priority.
        priority: i32,
    },
    /// A series matched no route.
    NotRouted {
        /// Study Instance UID.
        study: String,
        /// What the rules saw.
        facts: SeriesFacts,
        /// Each route and why it did not match.
        why: Vec<(String, String)>,
    },
    /// A delivery attempt failed; another follows after `wait`.
    Retrying {
        /// Study Instance UID.
        study: String,
        /// Failures so far.
        failures: u32,
        /// The error.
        reason: String,
        /// Wait before the next attempt.
        wait: Duration,
    },
    /// An alert was raised (the JSON line is also on stdout when asked).
    Alert(Alert),
    /// The webhook could not be reached (the alert line was still printed).
    WebhookFailed {
        /// Study Instance UID.
        study: String,
        /// Why.
        reason: String,
    },
    /// A study is finished.
    Done(Timeline),
    /// A study failed for good.
    Failed {
        /// Study Instance UID.
        study: String,
        /// Why.
        reason: String,
    },
}

/// Counters at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The listener's counters.
    pub listener: ScpSummary,
    /// Studies finished with results.
    pub done: u64,
    /// Studies that failed.
    pub failed: u64,
    /// Studies still queued or incomplete at stop (resumed at next start).
    pub left: u64,
}

struct StudyState {
    progress: Progress,
    /// (series, path) per instance.
    files: Vec<(String, PathBuf)>,
}

struct Job {
    study: String,
    timeline: Timeline,
    series: Vec<(SeriesFacts, Vec<PathBuf>, String)>,
}

struct Shared {
    queue: Mutex<Queue<Job>>,
    ready: Condvar,
    stop: AtomicBool,
    journal: Mutex<Journal>,
    done: Mutex<(u64, u64)>,
}

/// A running service.
pub struct Service {
    clock: Instant,
    scp: Option<Scp>,
    address: SocketAddr,
    shared: Arc<Shared>,
    tracker: Option<std::thread::JoinHandle<u64>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

/// Header facts of one stored instance the tracker needs.
fn instance_facts(path: &std::path::Path) -> Option<(String, String, Option<usize>)> {
    let obj = radlab_dicom::open_header(path).ok()?;
    let text = |t| radlab_dicom::attrs::string(&obj, t);
    let expected = [
        tags::IMAGES_IN_ACQUISITION,
        tags::NUMBER_OF_SERIES_RELATED_INSTANCES,
    ]
    .into_iter()
    .find_map(|t| radlab_dicom::attrs::int(&obj, t))
    .and_then(|n| usize::try_from(n).ok())
    .filter(|&n| n > 0);
    Some((
        text(tags::STUDY_INSTANCE_UID)?,
        text(tags::SERIES_INSTANCE_UID)?,
        expected,
    ))
}

impl Service {
    /// Resume what the storage folder holds unfinished, start the listener
    /// and the threads. Events arrive on the receiver.
    pub fn start(
        opts: Options,
        analyzer: Box<dyn Analyzer>,
    ) -> Result<(Service, Receiver<Event>), TriageError> {
        let clock = Instant::now();
        let storage = opts.scp.storage.clone();
        std::fs::create_dir_all(&storage).map_err(|e| TriageError::Io {
            path: storage.clone(),
            source: e,
        })?;
        let (journal, finished) = Journal::open(&storage)?;
        let (tx, rx) = channel();
        // Studies on disk not finished with the same instance count: resumed.
        let mut studies: HashMap<String, StudyState> = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(&storage) {
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "dcm") && p.is_file())
                .collect();
            paths.sort();
            for p in paths {
                if let Some((study, series, expected)) = instance_facts(&p) {
                    let s = studies.entry(study).or_insert_with(|| StudyState {
                        progress: Progress::default(),
                        files: Vec::new(),
                    });
                    s.progress.add(&series, expected, Duration::ZERO);
                    s.files.push((series, p));
                }
            }
        }
        studies.retain(|study, s| {
            let keep = finished
                .get(study)
                .is_none_or(|l| l.instances != s.files.len());
            if keep {
                let _ = tx.send(Event::Resumed {
                    study: study.clone(),
                    instances: s.files.len(),
                });
            }
            keep
        });
        let (scp, scp_rx) = Scp::start(&opts.scp)?;
        let address = scp.local_addr();
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            stop: AtomicBool::new(false),
            journal: Mutex::new(journal),
            done: Mutex::new((0, 0)),
        });
        let opts = Arc::new(opts);
        let tracker = {
            let (shared, tx, opts) = (shared.clone(), tx.clone(), opts.clone());
            std::thread::Builder::new()
                .name("radlab-triage-tracker".into())
                .spawn(move || track(&opts, clock, studies, &scp_rx, &tx, &shared))
                .map_err(|e| TriageError::Analysis(e.to_string()))?
        };
        let worker = {
            let (shared, opts) = (shared.clone(), opts.clone());
            let mut analyzer = analyzer;
            std::thread::Builder::new()
                .name("radlab-triage-worker".into())
                .spawn(move || work(&opts, clock, analyzer.as_mut(), &tx, &shared))
                .map_err(|e| TriageError::Analysis(e.to_string()))?
        };
        Ok((
            Service {
                clock,
                scp: Some(scp),
                address,
                shared,
                tracker: Some(tracker),
                worker: Some(worker),
            },
            rx,
        ))
    }

    /// The listener's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The clock origin of every [`Timeline`] time (the service's start).
    pub fn clock(&self) -> Instant {
        self.clock
    }

    /// Stop: the listener first (associations in progress get `grace`),
    /// then the tracker; the worker finishes the study in hand. What is
    /// incomplete or queued stays on disk and is resumed at the next start.
    pub fn stop(mut self, grace: Duration) -> Summary {
        let listener = self.scp.take().map(|s| s.stop(grace)).unwrap_or_default();
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.ready.notify_all();
        let incomplete = self.tracker.take().and_then(|h| h.join().ok()).unwrap_or(0);
        if let Some(h) = self.worker.take() {
            let _ = h.join();
        }
        let queued = self.shared.queue.lock().map(|q| q.len()).unwrap_or(0) as u64;
        let (done, failed) = self.shared.done.lock().map(|d| *d).unwrap_or((0, 0));
        Summary {
            listener,
            done,
            failed,
            left: incomplete + queued,
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(s) = self.scp.take() {
            s.stop(Duration::ZERO);
        }
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.ready.notify_all();
        if let Some(h) = self.tracker.take() {
            let _ = h.join();
        }
        if let Some(h) = self.worker.take() {
            let _ = h.join();
        }
    }
}

fn journal(shared: &Shared, line: Line, tx: &Sender<Event>) {
    let r = shared.journal.lock().map(|mut j| j.append(&line));
    if let Ok(Err(e)) = r {
        tracing::warn!(error = %e, "journal write failed");
        let _ = tx.send(Event::Failed {
            study: line.study,
            reason: format!("journal write failed: {e}"),
        });
    }
}

/// The tracker: instances into studies, studies into jobs. Returns the
/// number of studies still incomplete when it stops.
fn track(
    opts: &Options,
    clock: Instant,
    mut studies: HashMap<String, StudyState>,
    scp_rx: &Receiver<ScpEvent>,
    tx: &Sender<Event>,
    shared: &Shared,
) -> u64 {
    // Studies handed to the worker in this run, with their files: an
    // instance arriving later reopens the whole study, not just itself.
    let mut finished: HashMap<String, Vec<(String, PathBuf)>> = HashMap::new();
    // Resumed studies start their quiet period now.
    let now = clock.elapsed();
    for s in studies.values_mut() {
        s.progress.first = now;
        s.progress.last = now;
    }
    loop {
        let stopping = shared.stop.load(Ordering::SeqCst);
        match scp_rx.recv_timeout(Duration::from_millis(20)) {
            Ok(ev) => {
                if let ScpEvent::Stored(st) = &ev {
                    if !st.duplicate {
                        let at = clock.elapsed();
                        let expected = instance_facts(&st.path).and_then(|f| f.2);
                        let s = studies.entry(st.study.clone()).or_insert_with(|| {
                            let mut s = StudyState {
                                progress: Progress::default(),
                                files: Vec::new(),
                            };
                            for (series, p) in finished.remove(&st.study).unwrap_or_default() {
                                s.progress.add(&series, None, at);
                                s.files.push((series, p));
                            }
                            s
                        });
                        s.progress.add(&st.series, expected, at);
                        s.files.push((st.series.clone(), st.path.clone()));
                    }
                }
                let _ = tx.send(Event::Listener(ev));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                if stopping {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if stopping {
            // Drain what the listener already acknowledged, then stop.
            while let Ok(ev) = scp_rx.try_recv() {
                let _ = tx.send(Event::Listener(ev));
            }
            break;
        }
        let now = clock.elapsed();
        let complete: Vec<(String, Reason)> = studies
            .iter()
            .filter_map(|(k, s)| opts.rule.check(&s.progress, now).map(|r| (k.clone(), r)))
            .collect();
        for (study, reason) in complete {
            let Some(s) = studies.remove(&study) else {
                continue;
            };
            finished.insert(study.clone(), s.files.clone());
            enqueue(opts, study, reason, s, now, tx, shared);
        }
    }
    studies.len() as u64
}

fn enqueue(
    opts: &Options,
    study: String,
    reason: Reason,
    s: StudyState,
    now: Duration,
    tx: &Sender<Event>,
    shared: &Shared,
) {
    let instances = s.files.len();
    let _ = tx.send(Event::Complete {
        study: study.clone(),
        reason,
        instances,
    });
    let mut by_series: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for (series, p) in s.files {
        by_series.entry(series).or_default().push(p);
    }
    let mut routed = Vec::new();
    let mut priority = i32::MIN;
    for (series, files) in by_series {
        let Some(obj) = files
            .first()
            .and_then(|p| radlab_dicom::open_header(p).ok())
        else {
            continue;
        };
        let facts = SeriesFacts::from_header(&obj, &series, files.len());
        match opts.routes.select(&facts) {
            Ok(route) => {
                priority = priority.max(route.priority);
                let _ = tx.send(Event::Routed {
                    study: study.clone(),
                    facts: facts.clone(),
                    route: route.name.clone(),
                    priority: route.priority,
                });
                routed.push((facts, files, route.name.clone()));
            }
            Err(why) => {
                let _ = tx.send(Event::NotRouted {
                    study: study.clone(),
                    facts,
                    why,
                });
            }
        }
    }
    if routed.is_empty() {
        journal(
            shared,
            Line {
                study,
                state: State::Skipped,
                instances,
                unix_ms: crate::journal::unix_ms(),
                reason: None,
            },
            tx,
        );
        return;
    }
    let timeline = Timeline {
        study: study.clone(),
        instances,
        first_received: s.progress.first,
        last_received: s.progress.last,
        complete: now,
        complete_because: Some(reason),
        ..Timeline::default()
    };
    if let Ok(mut q) = shared.queue.lock() {
        q.push(
            priority,
            Job {
                study,
                timeline,
                series: routed,
            },
        );
    }
    shared.ready.notify_one();
}

fn work(
    opts: &Options,
    clock: Instant,
    analyzer: &mut dyn Analyzer,
    tx: &Sender<Event>,
    shared: &Shared,
) {
    loop {
        let job = {
            let Ok(mut q) = shared.queue.lock() else {
                return;
            };
            loop {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Some(j) = q.pop() {
                    break j;
                }
                q = match shared.ready.wait_timeout(q, Duration::from_millis(100)) {
                    Ok((q, _)) => q,
                    Err(_) => return,
                };
            }
        };
        let study = job.study.clone();
        let instances = job.timeline.instances;
        let (state, reason) = match run_job(opts, clock, analyzer, job, tx, shared) {
            Ok(t) => {
                let _ = tx.send(Event::Done(t));
                if let Ok(mut d) = shared.done.lock() {
                    d.0 += 1;
                }
                (State::Done, None)
            }
            Err(e) => {
                tracing::warn!(%study, error = %e, "study failed");
                let _ = tx.send(Event::Failed {
                    study: study.clone(),
                    reason: e.to_string(),
                });
                if let Ok(mut d) = shared.done.lock() {
                    d.1 += 1;
                }
                (State::Failed, Some(e.to_string()))
            }
        };
        // A delivery cut short by shutdown is not journalled: it resumes.
        if state == State::Failed && shared.stop.load(Ordering::SeqCst) {
            continue;
        }
        journal(
            shared,
            Line {
                study,
                state,
                instances,
                unix_ms: crate::journal::unix_ms(),
                reason,
            },
            tx,
        );
    }
}

fn run_job(
    opts: &Options,
    clock: Instant,
    analyzer: &mut dyn Analyzer,
    job: Job,
    tx: &Sender<Event>,
    shared: &Shared,
) -> Result<Timeline, TriageError> {
    let mut t = job.timeline;
    t.started = Some(clock.elapsed());
    let mut outcomes = Vec::new();
    for (facts, mut files, _route) in job.series {
        files.sort();
        let vol = analyzer.load(&files)?;
        t.loaded = Some(clock.elapsed());
        let out = analyzer.infer(&vol)?;
        t.inferred = Some(clock.elapsed());
        outcomes.push((facts, out));
    }
    // Results are kept beside the instances whether or not they go out.
    let results = opts.scp.storage.join("results");
    std::fs::create_dir_all(&results).map_err(|e| TriageError::Io {
        path: results.clone(),
        source: e,
    })?;
    for (facts, out) in &outcomes {
        for (i, b) in out.objects.iter().enumerate() {
            let p = results.join(format!("{}-{i}.dcm", facts.series));
            radlab_fsio_write(&p, b)?;
        }
    }
    if let Some(dest) = &opts.destination {
        let all: Vec<Vec<u8>> = outcomes
            .iter()
            .flat_map(|(_, o)| o.objects.iter().cloned())
            .collect();
        let study = t.study.clone();
        let attempts = crate::deliver::send(
            dest,
            &all,
            &opts.retry,
            &|| shared.stop.load(Ordering::SeqCst),
            &mut |failures, reason, wait| {
                let _ = tx.send(Event::Retrying {
                    study: study.clone(),
                    failures,
                    reason: reason.to_string(),
                    wait,
                });
            },
        )?;
        t.attempts = attempts;
        t.stored = Some(clock.elapsed());
    }
    for (facts, out) in &outcomes {
        if let Some((max, above)) = Alert::for_findings(&out.findings, opts.alert_threshold) {
            let now = clock.elapsed();
            let alert = Alert {
                source: "radlab-triage",
                analysis: "nodules".into(),
                study: t.study.clone(),
                accession: out.accession.clone(),
                series: facts.series.clone(),
                max_probability: max,
                threshold: opts.alert_threshold,
                findings: above,
                sr_instance: out.sr_instance.clone(),
                ms_since_last_instance: (now.saturating_sub(t.last_received).as_secs_f64() * 1e3),
            };
            if let Some(url) = &opts.webhook {
                if let Err(reason) = crate::alert::post(url, &alert, Duration::from_secs(5)) {
                    let _ = tx.send(Event::WebhookFailed {
                        study: t.study.clone(),
                        reason,
                    });
                }
            }
            t.alerted = Some(clock.elapsed());
            let _ = tx.send(Event::Alert(alert));
        }
    }
    Ok(t)
}

fn radlab_fsio_write(p: &std::path::Path, b: &[u8]) -> Result<(), TriageError> {
    radlab_fsio::write_atomic(p, b).map_err(|e| TriageError::Io {
        path: p.to_owned(),
        source: e,
    })
}
