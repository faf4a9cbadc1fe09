//! The triage service end to end, on loopback: the bundled sample study
//! sent by dcmtk or radlab's SCU, the real models, Orthanc (or a second
//! radlab listener) as the destination PACS, a webhook receiving alerts.
//! Every wait is bounded; every server is stopped by the test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use radlab_pacs::scp::{Scp, ScpEvent, ScpOptions};
use radlab_pacs::scu::{Association, ScuOptions};
use radlab_triage::alert::WebhookSink;
use radlab_triage::analyze::Nodules;
use radlab_triage::complete::Reason;
use radlab_triage::deliver::{Destination, Retry};
use radlab_triage::timeline::Timeline;
use radlab_triage::{Event, Options, Service};

fn sample_study() -> Vec<PathBuf> {
    let dir = radlab_eval::sample_data_dir().join("case-001").join("ct");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    v.sort();
    assert_eq!(v.len(), 64, "{}", dir.display());
    v
}

fn send(addr: std::net::SocketAddr, files: &[PathBuf]) {
    let mut a = Association::open(
        &ScuOptions {
            calling_aet: "SCANNER".into(),
            called_aet: "RADLAB".into(),
            address: addr.to_string(),
            timeout: Duration::from_secs(30),
        },
        &[uids::CT_IMAGE_STORAGE],
    )
    .unwrap();
    for f in files {
        assert_eq!(a.store_file(f).unwrap(), 0, "{}", f.display());
    }
    a.release().unwrap();
}

/// Events until `stop` says so or `limit` passes (then panic with them).
fn wait_for(
    rx: &Receiver<Event>,
    limit: Duration,
    mut stop: impl FnMut(&Event) -> bool,
) -> Vec<Event> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) => {
                let done = stop(&e);
                out.push(e);
                if done {
                    return out;
                }
            }
            Err(_) => panic!("timed out; events: {:#?}", summary(&out)),
        }
    }
}

/// Events without the per-instance ones, for failure messages.
fn summary(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .filter(|e| !matches!(e, Event::Listener(ScpEvent::Stored(_))))
        .map(|e| format!("{e:?}").chars().take(300).collect())
        .collect()
}

fn done(ev: &[Event]) -> Vec<&Timeline> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Done(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn models() -> Box<Nodules> {
    Box::new(Nodules::load_models().unwrap())
}

fn monotone(t: &Timeline) {
    let steps = [
        Some(t.first_received),
        Some(t.last_received),
        Some(t.complete),
        t.started,
        t.loaded,
        t.inferred,
        t.stored,
        t.alerted,
    ];
    let present: Vec<Duration> = steps.into_iter().flatten().collect();
    assert!(present.windows(2).all(|w| w[0] <= w[1]), "{t:#?}");
}

/// dcmtk's dcmsend plays the scanner; Orthanc is the PACS; the SEG and SR
/// come back into Orthanc and the alert reaches the webhook.
#[test]
fn a_study_from_dcmsend_comes_back_into_orthanc_as_seg_and_sr_with_an_alert() {
    use radlab_pacs::orthanc::{Orthanc, OrthancOptions};
    let dir = tempfile::tempdir().unwrap();
    let files = sample_study();
    let mut pacs = Orthanc::start(&OrthancOptions::default()).unwrap();
    let hook = WebhookSink::start().unwrap();
    let mut o = Options::new(dir.path().join("node"));
    o.rule.quiet = Duration::from_millis(800);
    o.destination = Some(Destination::Dimse {
        address: format!("127.0.0.1:{}", pacs.dicom_port),
        called_aet: pacs.aet.clone(),
        calling_aet: "RADLAB".into(),
    });
    o.webhook = Some(hook.url());
    let (svc, rx) = Service::start(o, models()).unwrap();
    // The scanner sends the study to the PACS and to the AI node.
    for (aec, port) in [
        (pacs.aet.as_str(), pacs.dicom_port),
        ("RADLAB", svc.address().port()),
    ] {
        let out = Command::new("dcmsend")
            .args(["-aet", "SCANNER", "-aec", aec, "127.0.0.1"])
            .arg(port.to_string())
            .args(&files)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ev = wait_for(&rx, Duration::from_secs(180), |e| {
        matches!(e, Event::Done(_) | Event::Failed { .. })
    });
    let s = svc.stop(Duration::from_secs(5));
    let t = done(&ev);
    assert_eq!(t.len(), 1, "{:#?}", summary(&ev));
    let t = t[0];
    monotone(t);
    assert_eq!(t.instances, 64);
    assert_eq!(t.complete_because, Some(Reason::Quiet));
    // The quiet period is waited, and not much more (the tracker looks every 20 ms).
    let wait = t.complete - t.last_received;
    assert!(
        wait >= Duration::from_millis(800) && wait < Duration::from_millis(1500),
        "{wait:?}"
    );
    assert_eq!(t.attempts, 1);
    // The SR and the SEG are in Orthanc, in the study.
    let web = radlab_pacs::dicomweb::DicomWeb::new(&pacs.dicomweb_url(), Duration::from_secs(30));
    let study = &t.study;
    let series = web.search(&format!("studies/{study}/series")).unwrap();
    let mut modalities: Vec<String> = series
        .iter()
        .filter_map(|s| radlab_pacs::dicomweb::value_str(s, "00080060"))
        .collect();
    modalities.sort();
    assert_eq!(modalities, ["CT", "SEG", "SR"]);
    pacs.stop(Duration::from_secs(10));
    // The alert: on stdout's channel and at the webhook, the same JSON.
    let alert = ev
        .iter()
        .find_map(|e| match e {
            Event::Alert(a) => Some(a.clone()),
            _ => None,
        })
        .expect("the sample study has nodules above 0.5");
    assert!(alert.findings.iter().all(|f| f.probability >= 0.5));
    assert!(alert.max_probability >= 0.5 && alert.max_probability <= 1.0);
    let got = hook.received();
    assert_eq!(got, vec![alert.json()]);
    let v: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(v["study"], study.as_str());
    assert_eq!((s.done, s.failed, s.left), (1, 0, 0));
    assert_eq!(s.listener.stored, 64);
}

/// A copy of the study whose slices announce their count (Images in
/// Acquisition, 0020,1002): complete at the 64th, not after the quiet period.
#[test]
fn the_expected_count_shortcut_skips_a_long_quiet_period() {
    let dir = tempfile::tempdir().unwrap();
    let copies = dir.path().join("announced");
    std::fs::create_dir_all(&copies).unwrap();
    let files: Vec<PathBuf> = sample_study()
        .iter()
        .map(|f| {
            let mut o = dicom_object::open_file(f).unwrap();
            o.put(DataElement::new(
                tags::IMAGES_IN_ACQUISITION,
                VR::IS,
                PrimitiveValue::from("64"),
            ));
            let p = copies.join(f.file_name().unwrap());
            o.write_to_file(&p).unwrap();
            p
        })
        .collect();
    let mut o = Options::new(dir.path().join("node"));
    o.rule.quiet = Duration::from_secs(60);
    let (svc, rx) = Service::start(o, models()).unwrap();
    let started = Instant::now();
    send(svc.address(), &files);
    let ev = wait_for(&rx, Duration::from_secs(50), |e| {
        matches!(e, Event::Done(_))
    });
    assert!(started.elapsed() < Duration::from_secs(50));
    let t = done(&ev)[0];
    assert_eq!(t.complete_because, Some(Reason::ExpectedCount));
    assert!(
        t.complete - t.last_received < Duration::from_millis(500),
        "{t:#?}"
    );
    // The results are kept beside the instances when there is no destination.
    let results: Vec<_> = std::fs::read_dir(dir.path().join("node/results"))
        .unwrap()
        .collect();
    assert_eq!(results.len(), 2);
    svc.stop(Duration::from_secs(5));
}

/// Stopped with half a study received (quiet period not over): the next
/// start resumes it from disk and finishes it; the start after that has
/// nothing to do.
#[test]
fn a_restart_resumes_an_unfinished_study_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("node");
    let files = sample_study();
    let mut o = Options::new(&node);
    o.rule.quiet = Duration::from_secs(60);
    o.rule.expected_count = false;
    let (svc, rx) = Service::start(o.clone(), models()).unwrap();
    send(svc.address(), &files[..40]);
    wait_for(&rx, Duration::from_secs(30), |e| {
        matches!(e, Event::Listener(ScpEvent::Closed { .. }))
    });
    let s = svc.stop(Duration::from_secs(5));
    assert_eq!((s.done, s.left), (0, 1));
    // More of the study arrives after the restart; it all goes in one job.
    o.rule.quiet = Duration::from_millis(500);
    let (svc, rx) = Service::start(o.clone(), models()).unwrap();
    send(svc.address(), &files[40..]);
    let ev = wait_for(&rx, Duration::from_secs(120), |e| {
        matches!(e, Event::Done(_))
    });
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::Resumed { instances: 40, .. })),
        "{:#?}",
        summary(&ev)
    );
    assert_eq!(done(&ev)[0].instances, 64);
    svc.stop(Duration::from_secs(5));
    let (svc, rx) = Service::start(o, models()).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let later: Vec<Event> = rx.try_iter().collect();
    assert!(
        !later
            .iter()
            .any(|e| matches!(e, Event::Resumed { .. } | Event::Done(_))),
        "{:#?}",
        summary(&later)
    );
    svc.stop(Duration::from_secs(5));
}

/// The destination PACS is down when the results are ready: retried with
/// backoff, delivered once it is up.
#[test]
fn results_reach_a_pacs_that_was_down() {
    let dir = tempfile::tempdir().unwrap();
    let port = radlab_pacs::orthanc::free_port().unwrap();
    let mut o = Options::new(dir.path().join("node"));
    o.rule.quiet = Duration::from_millis(500);
    o.destination = Some(Destination::Dimse {
        address: format!("127.0.0.1:{port}"),
        called_aet: "PACS".into(),
        calling_aet: "RADLAB".into(),
    });
    o.retry = Retry {
        first_wait: Duration::from_millis(200),
        max_wait: Duration::from_millis(800),
        give_up_after: Duration::from_secs(60),
    };
    let (svc, rx) = Service::start(o, models()).unwrap();
    send(svc.address(), &sample_study());
    let mut failures = 0;
    let _ = wait_for(&rx, Duration::from_secs(120), |e| {
        failures += matches!(e, Event::Retrying { .. }) as usize;
        failures >= 2
    });
    // The PACS comes back (a radlab listener standing in for it).
    let mut po = ScpOptions::new(dir.path().join("pacs"));
    po.address = ([127, 0, 0, 1], port).into();
    po.ae_title = "PACS".into();
    let (pacs, pacs_rx) = Scp::start(&po).unwrap();
    let ev = wait_for(&rx, Duration::from_secs(60), |e| {
        matches!(e, Event::Done(_) | Event::Failed { .. })
    });
    let t = done(&ev);
    assert_eq!(t.len(), 1, "{:#?}", summary(&ev));
    assert!(t[0].attempts >= 3, "{:#?}", t[0]);
    svc.stop(Duration::from_secs(5));
    let got: Vec<String> = pacs_rx
        .try_iter()
        .filter_map(|e| match e {
            ScpEvent::Stored(s) => Some(s.sop_class),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        [uids::SEGMENTATION_STORAGE, uids::COMPREHENSIVE3_DSR_STORAGE]
    );
    pacs.stop(Duration::from_secs(5));
}

/// A series the routing does not want (5 mm slices): said why, journalled
/// as skipped, no model run.
#[test]
fn a_series_outside_the_routes_is_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let spec = radlab_synth::CaseSpec {
        shape: [20, 48, 48],
        spacing: radlab_dicom::Spacing::new(5.0, 6.0, 6.0),
        ..radlab_synth::CaseSpec::sample(4)
    };
    let case = radlab_synth::generate_case(&spec);
    let mut files = radlab_synth::write_case(&case, &dir.path().join("thick")).unwrap();
    files.retain(|p| p.extension().is_some_and(|e| e == "dcm"));
    struct NoModels;
    impl radlab_triage::analyze::Analyzer for NoModels {
        fn infer(
            &mut self,
            _: &radlab_dicom::Volume,
        ) -> Result<radlab_triage::analyze::Outcome, radlab_triage::TriageError> {
            panic!("no model should run for a skipped series")
        }
    }
    let mut o = Options::new(dir.path().join("node"));
    o.rule.quiet = Duration::from_millis(300);
    let (svc, rx) = Service::start(o, Box::new(NoModels)).unwrap();
    send(svc.address(), &files);
    let ev = wait_for(&rx, Duration::from_secs(30), |e| {
        matches!(e, Event::NotRouted { .. })
    });
    let why = ev
        .iter()
        .find_map(|e| match e {
            Event::NotRouted { why, .. } => Some(why.clone()),
            _ => None,
        })
        .unwrap();
    assert!(why[0].1.contains("slice thickness 5 mm"), "{why:?}");
    svc.stop(Duration::from_secs(5));
    let journal = std::fs::read_to_string(dir.path().join("node/journal.jsonl")).unwrap();
    assert!(journal.contains("\"state\":\"skipped\""), "{journal}");
    assert!(!Path::new(&dir.path().join("node/results")).exists());
}

/// 20 scanners at once, 100 instances each (20 studies), into one node:
/// every instance stored once and byte for byte, every study analysed, and
/// every study's SEG and SR in Orthanc.
#[test]
fn twenty_concurrent_senders_every_study_back_in_orthanc() {
    use radlab_pacs::orthanc::{Orthanc, OrthancOptions};
    let dir = tempfile::tempdir().unwrap();
    let studies: Vec<Vec<PathBuf>> = (0..20u64)
        .map(|i| {
            let spec = radlab_synth::CaseSpec {
                id: format!("load-{i}"),
                shape: [100, 24, 24],
                spacing: radlab_dicom::Spacing::new(2.5, 7.0, 7.0),
                nodules: 2,
                ..radlab_synth::CaseSpec::sample(300 + i)
            };
            let case = radlab_synth::generate_case(&spec);
            let mut f = radlab_synth::write_case(&case, &dir.path().join(format!("s{i}"))).unwrap();
            f.retain(|p| p.extension().is_some_and(|e| e == "dcm"));
            assert_eq!(f.len(), 100);
            f
        })
        .collect();
    let mut pacs = Orthanc::start(&OrthancOptions::default()).unwrap();
    let mut o = Options::new(dir.path().join("node"));
    o.rule.quiet = Duration::from_millis(500);
    o.destination = Some(Destination::Dimse {
        address: format!("127.0.0.1:{}", pacs.dicom_port),
        called_aet: pacs.aet.clone(),
        calling_aet: "RADLAB".into(),
    });
    let (svc, rx) = Service::start(o, models()).unwrap();
    let addr = svc.address();
    let started = Instant::now();
    std::thread::scope(|s| {
        for files in &studies {
            s.spawn(move || send(addr, files));
        }
    });
    let sent_in = started.elapsed();
    let mut finished = 0;
    let ev = wait_for(&rx, Duration::from_secs(600), |e| {
        finished += matches!(e, Event::Done(_) | Event::Failed { .. }) as usize;
        finished == studies.len()
    });
    let s = svc.stop(Duration::from_secs(5));
    let t = done(&ev);
    assert_eq!(t.len(), 20, "{:#?}", summary(&ev));
    assert_eq!(
        (s.listener.stored, s.listener.duplicates, s.listener.refused),
        (2000, 0, 0)
    );
    for files in &studies {
        for f in files {
            let b = std::fs::read(f).unwrap();
            let (meta, data) = radlab_pacs::scu::split_part10(&b).unwrap();
            let uid = meta
                .media_storage_sop_instance_uid()
                .trim_end_matches('\0')
                .to_string();
            let kept = std::fs::read(dir.path().join(format!("node/{uid}.dcm"))).unwrap();
            assert!(
                radlab_pacs::scu::split_part10(&kept).unwrap().1 == data,
                "{uid}"
            );
        }
    }
    let web = radlab_pacs::dicomweb::DicomWeb::new(&pacs.dicomweb_url(), Duration::from_secs(30));
    for tl in &t {
        let series = web.search(&format!("studies/{}/series", tl.study)).unwrap();
        let mut m: Vec<String> = series
            .iter()
            .filter_map(|x| radlab_pacs::dicomweb::value_str(x, "00080060"))
            .collect();
        m.sort();
        // A study with no finding gets its SR and no SEG.
        assert!(
            m == ["SEG", "SR"] || m == ["SR"],
            "study {}: {m:?}",
            tl.study
        );
    }
    pacs.stop(Duration::from_secs(10));
    let e2e: Vec<f64> = t
        .iter()
        .map(|x| (x.stored.unwrap() - x.last_received).as_secs_f64())
        .collect();
    eprintln!(
        "2000 instances from 20 senders in {:.2} s, stored 2000, lost 0; last instance to results P50 {:.2} s, P95 {:.2} s",
        sent_in.as_secs_f64(),
        radlab_triage::timeline::percentile(&e2e, 50.0).unwrap(),
        radlab_triage::timeline::percentile(&e2e, 95.0).unwrap()
    );
}

/// Instances that arrive after their study was judged complete reopen the
/// whole study: it is analysed again with every instance, not with the
/// late ones alone.
#[test]
fn late_instances_reopen_the_whole_study() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample_study();
    let mut o = Options::new(dir.path().join("node"));
    o.rule.quiet = Duration::from_millis(400);
    o.rule.expected_count = false;
    let (svc, rx) = Service::start(o, models()).unwrap();
    send(svc.address(), &files[..40]);
    let first = wait_for(&rx, Duration::from_secs(120), |e| {
        matches!(e, Event::Done(_))
    });
    assert_eq!(done(&first)[0].instances, 40);
    send(svc.address(), &files[40..]);
    let second = wait_for(&rx, Duration::from_secs(120), |e| {
        matches!(e, Event::Done(_))
    });
    assert_eq!(done(&second)[0].instances, 64, "{:#?}", summary(&second));
    svc.stop(Duration::from_secs(5));
}
