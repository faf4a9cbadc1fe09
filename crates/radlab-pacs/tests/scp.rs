//! radlab's C-STORE listener against real senders (radlab's SCU, dcmtk's
//! `dcmsend` and `echoscu`, Orthanc forwarding SEG and 3D SR) and against
//! senders that misbehave (fragmented commands, aborts, garbage, hostile
//! data sets, idle peers, too much data). Loopback only; every listener is
//! stopped by the test; every wait is bounded.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use dicom_core::{DataElement, PrimitiveValue, VR, dicom_value};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::association::client::ClientAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use radlab_pacs::scp::{Scp, ScpEvent, ScpOptions, Stored, status};
use radlab_pacs::scu::{Association, ScuOptions, split_part10};

/// A small synthetic CT series (`slices` files), written under `dir`.
fn series(dir: &Path, seed: u64, slices: usize) -> Vec<PathBuf> {
    let spec = radlab_synth::CaseSpec {
        shape: [slices, 24, 24],
        spacing: radlab_dicom::Spacing::new(2.5, 6.0, 6.0),
        nodules: 1,
        ..radlab_synth::CaseSpec::sample(seed)
    };
    let case = radlab_synth::generate_case(&spec);
    let out = dir.join(format!("ct-{seed}"));
    let mut files = radlab_synth::write_case(&case, &out).unwrap();
    files.retain(|p| p.extension().is_some_and(|e| e == "dcm"));
    files.sort();
    assert_eq!(files.len(), slices);
    files
}

fn start(storage: &Path, tune: impl FnOnce(&mut ScpOptions)) -> (Scp, Receiver<ScpEvent>) {
    let mut o = ScpOptions::new(storage);
    o.timeout = Duration::from_secs(5);
    tune(&mut o);
    Scp::start(&o).unwrap()
}

fn scu(scp: &Scp, calling: &str) -> ScuOptions {
    ScuOptions {
        calling_aet: calling.into(),
        called_aet: "RADLAB".into(),
        address: scp.local_addr().to_string(),
        timeout: Duration::from_secs(10),
    }
}

/// Events until `n` associations have closed (bounded wait).
fn events_until_closed(rx: &Receiver<ScpEvent>, n: usize) -> Vec<ScpEvent> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = Vec::new();
    let mut closed = 0;
    while closed < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) => {
                closed += matches!(e, ScpEvent::Closed { .. }) as usize;
                out.push(e);
            }
            Err(_) => panic!("only {closed} of {n} associations closed; events: {out:#?}"),
        }
    }
    out
}

fn stored(events: &[ScpEvent]) -> Vec<&Stored> {
    events
        .iter()
        .filter_map(|e| match e {
            ScpEvent::Stored(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// Files in the storage folder (the temporary folder apart) and in it.
fn listing(storage: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let list = |d: &Path| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| e.unwrap().path())
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    (list(storage), list(&storage.join(".incoming")))
}

fn data_set(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    split_part10(&bytes).unwrap().1.to_vec()
}

fn instance_uid(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    split_part10(&bytes)
        .unwrap()
        .0
        .media_storage_sop_instance_uid()
        .trim_end_matches('\0')
        .to_string()
}

fn dcmtk(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

#[test]
fn echo_answers_the_message_it_was_asked_and_dcmtk_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let (scp, rx) = start(dir.path(), |_| {});
    let mut a = Association::open(&scu(&scp, "ECHOER"), &[]).unwrap();
    // The client checks Message ID Being Responded To against each request.
    for _ in 0..3 {
        assert_eq!(a.echo().unwrap(), 0);
    }
    a.release().unwrap();
    assert!(
        dcmtk("echoscu"),
        "dcmtk's echoscu is needed (cargo xtask test installs dcmtk)"
    );
    let out = Command::new("echoscu")
        .args(["-v", "-aet", "DCMTK", "-aec", "RADLAB", "127.0.0.1"])
        .arg(scp.local_addr().port().to_string())
        .output()
        .unwrap();
    let log =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Received Echo Response (Success)"), "{log}");
    let ev = events_until_closed(&rx, 2);
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, ScpEvent::Echo { .. }))
            .count(),
        4
    );
    let s = scp.stop(Duration::from_secs(5));
    assert_eq!((s.associations, s.aborted), (2, 0));
}

#[test]
fn a_series_is_stored_durably_byte_for_byte_and_a_duplicate_once() {
    let dir = tempfile::tempdir().unwrap();
    let files = series(dir.path(), 3, 6);
    let storage = dir.path().join("store");
    let (scp, rx) = start(&storage, |_| {});
    let mut a = Association::open(&scu(&scp, "SCANNER"), &[uids::CT_IMAGE_STORAGE]).unwrap();
    for f in &files {
        assert_eq!(a.store_file(f).unwrap(), 0, "{}", f.display());
    }
    // The same instance again: success, kept once.
    assert_eq!(a.store_file(&files[0]).unwrap(), 0);
    a.release().unwrap();
    let ev = events_until_closed(&rx, 1);
    let st = stored(&ev);
    assert_eq!(st.len(), 7);
    assert_eq!(st.iter().filter(|s| s.duplicate).count(), 1);
    assert!(st[6].duplicate && st[6].sop_instance == st[0].sop_instance);
    let (kept, partial) = listing(&storage);
    assert_eq!(kept.len(), 6, "{kept:?}");
    assert!(partial.is_empty(), "{partial:?}");
    for f in &files {
        let uid = instance_uid(f);
        let p = storage.join(format!("{uid}.dcm"));
        assert!(
            data_set(&p) == data_set(f),
            "{uid}: the data set differs from the one sent"
        );
        // What radlab wrote is a Part 10 file radlab reads, naming the study.
        let back = radlab_dicom::open_header(&p).unwrap();
        let study = back
            .element(tags::STUDY_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(study.trim_end_matches('\0'), st[0].study);
    }
    let ctx = ev
        .iter()
        .find_map(|e| match e {
            ScpEvent::Associated { contexts, .. } => Some(contexts.clone()),
            _ => None,
        })
        .unwrap();
    let ct = ctx
        .iter()
        .find(|c| c.abstract_syntax == uids::CT_IMAGE_STORAGE)
        .unwrap();
    assert_eq!(
        ct.transfer_syntax.as_deref(),
        Some(uids::EXPLICIT_VR_LITTLE_ENDIAN)
    );
    let s = scp.stop(Duration::from_secs(5));
    assert_eq!((s.stored, s.duplicates, s.refused), (7, 1, 0));
}

/// dcmtk's `dcmsend` proposes each file's own class and transfer syntax:
/// a CT series, a SEG and a Comprehensive 3D SR made by radlab-results.
#[test]
fn dcmsend_delivers_ct_seg_and_sr() {
    assert!(
        dcmtk("dcmsend"),
        "dcmtk's dcmsend is needed (cargo xtask test installs dcmtk)"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut files = series(dir.path(), 5, 8);
    files.extend(result_objects(dir.path(), &files));
    let storage = dir.path().join("store");
    let (scp, rx) = start(&storage, |_| {});
    let out = Command::new("dcmsend")
        .args(["-aet", "DCMSEND", "-aec", "RADLAB", "127.0.0.1"])
        .arg(scp.local_addr().port().to_string())
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev = events_until_closed(&rx, 1);
    let st = stored(&ev);
    assert_eq!(st.len(), files.len(), "{ev:#?}");
    let classes: std::collections::BTreeSet<&str> =
        st.iter().map(|s| s.sop_class.as_str()).collect();
    assert!(classes.contains(uids::SEGMENTATION_STORAGE), "{classes:?}");
    assert!(
        classes.contains(uids::COMPREHENSIVE3_DSR_STORAGE),
        "{classes:?}"
    );
    // dcmtk re-encodes sequences with explicit lengths as it sends, so the
    // bytes differ from the file; the elements and their values do not.
    for f in &files {
        let p = storage.join(format!("{}.dcm", instance_uid(f)));
        assert_eq!(elements(&p), elements(f), "{}", f.display());
    }
    scp.stop(Duration::from_secs(5));
}

/// Every element (tag, VR, value; sequences item by item) as text, the
/// encoding of lengths aside.
fn elements(path: &Path) -> Vec<String> {
    fn walk(obj: &InMemDicomObject, prefix: &str, out: &mut Vec<String>) {
        for e in obj {
            let tag = format!("{prefix}{}", e.header().tag);
            match e.value() {
                dicom_core::DicomValue::Sequence(seq) => {
                    for (i, item) in seq.items().iter().enumerate() {
                        walk(item, &format!("{tag}[{i}]."), out);
                    }
                }
                dicom_core::DicomValue::Primitive(v) => {
                    out.push(format!("{tag} {:?} {:?}", e.vr(), v.to_bytes()))
                }
                dicom_core::DicomValue::PixelSequence(p) => {
                    out.push(format!("{tag} {:?}", p.fragments()))
                }
            }
        }
    }
    let obj = dicom_object::open_file(path).unwrap();
    let mut out = Vec::new();
    walk(&obj, "", &mut out);
    out
}

/// radlab's SEG and TID 1500 SR for the series in `files`, written beside.
fn result_objects(dir: &Path, files: &[PathBuf]) -> Vec<PathBuf> {
    use radlab_results::{Algorithm, Created, Finding, SourceSeries, seg, tid1500};
    let ct = files[0].parent().unwrap();
    let vol = radlab_dicom::load_path(ct, None).unwrap();
    let mut labels = ndarray::Array3::<u32>::zeros(vol.shape());
    labels.slice_mut(ndarray::s![2..5, 8..14, 8..14]).fill(1);
    let findings = Finding::from_labels(labels.view(), &vol, |_| 0.8).unwrap();
    let source = SourceSeries::from_volume(&vol).unwrap();
    let alg = Algorithm::from_weights("nodule-segmenter", &"ab".repeat(32));
    let created = Created::from_unix(1_764_547_200);
    let seg_obj =
        seg::segmentation(&findings, &source, &alg, seg::Frames::NonEmpty, &created).unwrap();
    let sr_obj = tid1500::report(&findings, &source, &alg, &created).unwrap();
    let (a, b) = (dir.join("seg.dcm"), dir.join("sr.dcm"));
    seg_obj.write_to_file(&a).unwrap();
    sr_obj.write_to_file(&b).unwrap();
    vec![a, b]
}

/// The hospital's way: Orthanc (the PACS) forwards a study to a modality,
/// here radlab's listener, SEG and 3D SR included.
#[test]
fn orthanc_forwards_a_study_with_seg_and_3d_sr() {
    use radlab_pacs::orthanc::{Orthanc, OrthancOptions};
    let dir = tempfile::tempdir().unwrap();
    let mut files = series(dir.path(), 7, 6);
    files.extend(result_objects(dir.path(), &files));
    let storage = dir.path().join("store");
    let (scp, rx) = start(&storage, |_| {});
    let mut pacs = Orthanc::start(&OrthancOptions::default()).unwrap();
    let http = radlab_pacs::dicomweb::agent(Duration::from_secs(30));
    let base = pacs.http_url();
    let mut ids = Vec::new();
    for f in &files {
        let body = std::fs::read(f).unwrap();
        let text = http
            .post(&format!("{base}/instances"))
            .send(&body[..])
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        ids.push(r["ID"].as_str().unwrap().to_string());
    }
    let port = scp.local_addr().port();
    http.put(&format!("{base}/modalities/radlab"))
        .send(serde_json::json!({"AET": "RADLAB", "Host": "127.0.0.1", "Port": port}).to_string())
        .unwrap();
    let r = http
        .post(&format!("{base}/modalities/radlab/store"))
        .send(serde_json::json!({"Resources": ids, "Synchronous": true}).to_string())
        .unwrap();
    assert_eq!(r.status(), 200);
    // Orthanc opens a new association when an instance's class was not in
    // the contexts it proposed: collect until every instance is in.
    let mut ev = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while stored(&ev).len() < files.len() && Instant::now() < deadline {
        if let Ok(e) = rx.recv_timeout(Duration::from_millis(200)) {
            ev.push(e);
        }
    }
    pacs.stop(Duration::from_secs(10));
    let st = stored(&ev);
    assert_eq!(st.len(), files.len(), "{ev:#?}");
    for f in &files {
        let p = storage.join(format!("{}.dcm", instance_uid(f)));
        assert!(p.exists(), "{} was not forwarded", f.display());
    }
    let calling: Vec<&str> = st.iter().map(|s| s.calling_aet.as_str()).collect();
    assert!(calling.iter().all(|c| *c == pacs.aet), "{calling:?}");
    scp.stop(Duration::from_secs(5));
}

/// A hand-driven association: radlab's own PDUs, for what a normal client
/// never sends.
struct Raw {
    assoc: dicom_ul::ClientAssociation<TcpStream>,
    pc: u8,
    ts: String,
}

impl Raw {
    fn open(scp: &Scp) -> Raw {
        let assoc = ClientAssociationOptions::new()
            .calling_ae_title("RAW")
            .called_ae_title("RADLAB")
            .read_timeout(Duration::from_secs(10))
            .with_presentation_context(
                uids::CT_IMAGE_STORAGE,
                vec![uids::EXPLICIT_VR_LITTLE_ENDIAN],
            )
            .establish_with(&format!("RADLAB@{}", scp.local_addr()))
            .unwrap();
        let pc = assoc.presentation_contexts()[0].id;
        Raw {
            assoc,
            pc,
            ts: uids::EXPLICIT_VR_LITTLE_ENDIAN.to_string(),
        }
    }

    fn command_bytes(class: &str, instance: &str, mid: u16) -> Vec<u8> {
        let cmd = InMemDicomObject::command_from_element_iter([
            DataElement::new(
                tags::AFFECTED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from(class),
            ),
            DataElement::new(tags::COMMAND_FIELD, VR::US, dicom_value!(U16, [0x0001])),
            DataElement::new(tags::MESSAGE_ID, VR::US, dicom_value!(U16, [mid])),
            DataElement::new(tags::PRIORITY, VR::US, dicom_value!(U16, [0])),
            DataElement::new(tags::COMMAND_DATA_SET_TYPE, VR::US, dicom_value!(U16, [0])),
            DataElement::new(
                tags::AFFECTED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(instance),
            ),
        ]);
        let mut b = Vec::new();
        cmd.write_dataset_with_ts(&mut b, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
            .unwrap();
        b
    }

    fn pdv(&mut self, kind: PDataValueType, last: bool, data: &[u8]) {
        self.assoc
            .send(&Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: self.pc,
                    value_type: kind,
                    is_last: last,
                    data: data.to_vec(),
                }],
            })
            .unwrap();
    }

    /// C-STORE `data` under `instance`, the command cut into `pieces`
    /// fragments (each its own PDU); returns (status, message id answered).
    fn store(&mut self, instance: &str, data: &[u8], mid: u16, pieces: usize) -> (u16, u16) {
        let cmd = Raw::command_bytes(uids::CT_IMAGE_STORAGE, instance, mid);
        let step = cmd.len().div_ceil(pieces);
        let chunks: Vec<&[u8]> = cmd.chunks(step).collect();
        for (i, c) in chunks.iter().enumerate() {
            self.pdv(PDataValueType::Command, i + 1 == chunks.len(), c);
        }
        for (i, c) in data.chunks(4000).enumerate() {
            self.pdv(PDataValueType::Data, (i + 1) * 4000 >= data.len(), c);
        }
        self.response()
    }

    fn response(&mut self) -> (u16, u16) {
        match self.assoc.receive().unwrap() {
            Pdu::PData { data } => {
                let bytes: Vec<u8> = data.into_iter().flat_map(|v| v.data).collect();
                let obj = InMemDicomObject::read_dataset_with_ts(
                    &bytes[..],
                    &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
                )
                .unwrap();
                let g = |t| obj.element(t).unwrap().to_int::<u16>().unwrap();
                (g(tags::STATUS), g(tags::MESSAGE_ID_BEING_RESPONDED_TO))
            }
            other => panic!("expected a response, got {other:?}"),
        }
    }

    /// The data set of `file` re-encoded with the SOP Instance UID changed.
    fn data_with_uid(&self, file: &Path, uid: &str) -> Vec<u8> {
        let mut obj = dicom_object::open_file(file).unwrap().into_inner();
        obj.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(uid),
        ));
        let mut b = Vec::new();
        obj.write_dataset_with_ts(&mut b, TransferSyntaxRegistry.get(&self.ts).unwrap())
            .unwrap();
        b
    }
}

#[test]
fn fragmented_commands_are_joined_and_hostile_data_sets_refused_while_the_association_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let files = series(dir.path(), 9, 3);
    let storage = dir.path().join("store");
    let (scp, rx) = start(&storage, |_| {});
    let mut raw = Raw::open(&scp);
    let good = data_set(&files[0]);
    let uid0 = instance_uid(&files[0]);
    // A command in five fragments, each its own PDU.
    assert_eq!(raw.store(&uid0, &good, 11, 5), (status::SUCCESS, 11));
    // The data set names another instance than the command.
    let other = raw.data_with_uid(&files[1], "1.2.3.4.5");
    assert_eq!(
        raw.store(&instance_uid(&files[1]), &other, 12, 1).0,
        status::DATA_SET_MISMATCH
    );
    // A truncated data set: the last element runs past the end.
    let cut = &data_set(&files[1])[..good.len() / 2];
    assert_eq!(
        raw.store(&instance_uid(&files[1]), cut, 13, 1).0,
        status::CANNOT_UNDERSTAND
    );
    // A UID made to climb out of the storage folder.
    assert_eq!(
        raw.store("../../etc/x", &good, 14, 2).0,
        status::CANNOT_UNDERSTAND
    );
    // Sequences nested 5,000 deep (a parser that recurses overflows its stack).
    let mut deep = Vec::new();
    for _ in 0..5000 {
        deep.extend_from_slice(&[
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        deep.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    assert_eq!(
        raw.store(&instance_uid(&files[2]), &deep, 15, 1).0,
        status::CANNOT_UNDERSTAND
    );
    // Still serving on the same association.
    assert_eq!(
        raw.store(&instance_uid(&files[2]), &data_set(&files[2]), 16, 1),
        (0, 16)
    );
    raw.assoc.release().unwrap();
    let ev = events_until_closed(&rx, 1);
    let refused: Vec<(u16, String)> = ev
        .iter()
        .filter_map(|e| match e {
            ScpEvent::Refused { status, reason, .. } => Some((*status, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(refused.len(), 4, "{refused:#?}");
    assert!(refused[0].1.contains("1.2.3.4.5"), "{refused:?}");
    let (kept, partial) = listing(&storage);
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(partial.is_empty());
    scp.stop(Duration::from_secs(5));
}

#[test]
fn an_abort_or_a_broken_connection_mid_instance_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = series(dir.path(), 11, 2);
    let storage = dir.path().join("store");
    let (scp, rx) = start(&storage, |_| {});
    let data = data_set(&files[0]);
    let uid = instance_uid(&files[0]);
    // A-ABORT after half the data set.
    let mut raw = Raw::open(&scp);
    let cmd = Raw::command_bytes(uids::CT_IMAGE_STORAGE, &uid, 1);
    raw.pdv(PDataValueType::Command, true, &cmd);
    raw.pdv(PDataValueType::Data, false, &data[..data.len() / 2]);
    raw.assoc.abort().unwrap();
    // The TCP connection dropped after half the data set.
    let mut raw = Raw::open(&scp);
    raw.pdv(PDataValueType::Command, true, &cmd);
    raw.pdv(PDataValueType::Data, false, &data[..data.len() / 2]);
    drop(raw);
    let ev = events_until_closed(&rx, 2);
    assert!(stored(&ev).is_empty());
    let (kept, partial) = listing(&storage);
    assert!(
        kept.is_empty() && partial.is_empty(),
        "{kept:?} {partial:?}"
    );
    // And the listener still serves.
    let mut a = Association::open(&scu(&scp, "AFTER"), &[uids::CT_IMAGE_STORAGE]).unwrap();
    assert_eq!(a.store_file(&files[0]).unwrap(), 0);
    a.release().unwrap();
    let s = scp.stop(Duration::from_secs(5));
    assert_eq!((s.aborted, s.stored), (2, 1));
}

/// A seeded sender of bad bytes: garbage, association requests with bytes
/// flipped, a PDU over the maximum length, a PDV on a context never
/// accepted, a data fragment with no command. Each connection ends; the
/// listener answers C-ECHO after every one.
#[test]
fn a_fuzzing_sender_never_stops_the_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (scp, rx) = start(dir.path(), |o| o.timeout = Duration::from_secs(1));
    let addr = scp.local_addr();
    let rq = association_rq_bytes();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let started = Instant::now();
    let cases = 60;
    for case in 0..cases {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let bytes: Vec<u8> = match case % 3 {
            0 => (0..(next() % 300) as usize).map(|_| next() as u8).collect(),
            1 => {
                let mut b = rq.clone();
                for _ in 0..1 + next() % 4 {
                    let i = (next() as usize) % b.len();
                    b[i] ^= 1 << (next() % 8);
                }
                b
            }
            _ => {
                let mut b = rq.clone();
                // After a valid request: one of several bad PDUs.
                b.extend(match next() % 3 {
                    0 => {
                        let mut p = vec![0x04, 0];
                        p.extend(10_000_000u32.to_be_bytes());
                        p
                    }
                    1 => pdata(99, 0x02, b"\x00\x00"),
                    _ => pdata(1, 0x00, &[0u8; 64]),
                });
                b
            }
        };
        let _ = s.write_all(&bytes);
        // Read whatever comes back until the listener closes the connection.
        let mut sink = [0u8; 4096];
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            match s.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        drop(s);
        if case % 10 == 9 {
            let mut a = Association::open(&scu(&scp, "CHECK"), &[]).unwrap();
            assert_eq!(a.echo().unwrap(), 0, "after case {case}");
            a.release().unwrap();
        }
    }
    assert!(started.elapsed() < Duration::from_secs(90));
    let mut a = Association::open(&scu(&scp, "CHECK"), &[]).unwrap();
    assert_eq!(a.echo().unwrap(), 0);
    a.release().unwrap();
    let s = scp.stop(Duration::from_secs(5));
    assert_eq!(s.stored, 0);
    drop(rx);
}

/// A-ASSOCIATE-RQ for Verification and CT (presentation context 1).
fn association_rq_bytes() -> Vec<u8> {
    use dicom_ul::pdu::*;
    let pdu = Pdu::AssociationRQ(AssociationRQ {
        protocol_version: 1,
        calling_ae_title: "FUZZ".into(),
        called_ae_title: "RADLAB".into(),
        application_context_name: "1.2.840.10008.3.1.1.1".into(),
        presentation_contexts: vec![PresentationContextProposed {
            id: 1,
            abstract_syntax: uids::CT_IMAGE_STORAGE.into(),
            transfer_syntaxes: vec![uids::EXPLICIT_VR_LITTLE_ENDIAN.into()],
        }],
        user_variables: vec![UserVariableItem::MaxLength(16384)],
    });
    let mut b = Vec::new();
    dicom_ul::pdu::write_pdu(&mut b, &pdu).unwrap();
    b
}

/// A P-DATA-TF PDU with one PDV (header byte: bit 0 command, bit 1 last).
fn pdata(pc: u8, header: u8, data: &[u8]) -> Vec<u8> {
    let mut b = vec![0x04, 0];
    b.extend(((data.len() + 6) as u32).to_be_bytes());
    b.extend(((data.len() + 2) as u32).to_be_bytes());
    b.push(pc);
    b.push(header);
    b.extend_from_slice(data);
    b
}

#[test]
fn the_allow_list_refuses_other_callers_and_an_idle_peer_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let (scp, rx) = start(dir.path(), |o| {
        o.allowed_calling = vec!["SCANNER1".into()];
        o.timeout = Duration::from_millis(800);
    });
    assert!(Association::open(&scu(&scp, "INTRUDER"), &[]).is_err());
    let mut a = Association::open(&scu(&scp, "SCANNER1"), &[]).unwrap();
    assert_eq!(a.echo().unwrap(), 0);
    std::thread::sleep(Duration::from_millis(1500));
    // The listener gave up on the idle association.
    assert!(a.echo().is_err());
    let ev = events_until_closed(&rx, 1);
    assert!(
        ev.iter().any(|e| matches!(e, ScpEvent::Rejected { reason, .. } if reason.to_lowercase().contains("reject"))),
        "{ev:#?}"
    );
    let s = scp.stop(Duration::from_secs(5));
    assert_eq!((s.associations, s.aborted), (1, 1));
}

#[test]
fn too_large_or_unwritable_instances_fail_with_out_of_resources_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = series(dir.path(), 13, 2);
    let storage = dir.path().join("store");
    let (scp, rx) = start(&storage, |o| o.max_instance_bytes = 1000);
    let mut a = Association::open(&scu(&scp, "BIG"), &[uids::CT_IMAGE_STORAGE]).unwrap();
    assert_eq!(a.store_file(&files[0]).unwrap(), status::OUT_OF_RESOURCES);
    a.release().unwrap();
    events_until_closed(&rx, 1);
    scp.stop(Duration::from_secs(5));
    assert_eq!(listing(&storage), (vec![], vec![]));

    // A write error: the temporary folder replaced by a file.
    let (scp, rx) = start(&storage, |_| {});
    std::fs::remove_dir(storage.join(".incoming")).unwrap();
    std::fs::write(storage.join(".incoming"), b"in the way").unwrap();
    let mut a = Association::open(&scu(&scp, "FULL"), &[uids::CT_IMAGE_STORAGE]).unwrap();
    assert_eq!(a.store_file(&files[1]).unwrap(), status::OUT_OF_RESOURCES);
    std::fs::remove_file(storage.join(".incoming")).unwrap();
    std::fs::create_dir(storage.join(".incoming")).unwrap();
    // Once the disk is back, the same instance goes through.
    assert_eq!(a.store_file(&files[1]).unwrap(), 0);
    a.release().unwrap();
    let ev = events_until_closed(&rx, 1);
    assert!(
        ev.iter()
            .any(|e| matches!(e, ScpEvent::Refused { reason, .. } if reason.contains(".incoming"))),
        "{ev:#?}"
    );
    let (kept, partial) = listing(&storage);
    assert_eq!((kept.len(), partial.len()), (1, 0));
    scp.stop(Duration::from_secs(5));
}

/// 20 senders at once, 100 instances each, into a listener that serves 16
/// associations at a time: every instance stored exactly once, byte for byte.
#[test]
fn twenty_concurrent_senders_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let senders = 20;
    let per = 100;
    let studies: Vec<Vec<PathBuf>> = (0..senders)
        .map(|i| series(dir.path(), 100 + i as u64, per))
        .collect();
    let storage = dir.path().join("store");
    let (scp, rx) = start(&storage, |o| o.max_associations = 16);
    let started = Instant::now();
    std::thread::scope(|s| {
        for (i, files) in studies.iter().enumerate() {
            let opts = scu(&scp, &format!("SENDER{i}"));
            s.spawn(move || {
                let mut a = Association::open(
                    &ScuOptions {
                        timeout: Duration::from_secs(60),
                        ..opts
                    },
                    &[uids::CT_IMAGE_STORAGE],
                )
                .unwrap();
                for f in files {
                    assert_eq!(a.store_file(f).unwrap(), 0);
                }
                a.release().unwrap();
            });
        }
    });
    let took = started.elapsed();
    let ev = events_until_closed(&rx, senders);
    let st = stored(&ev);
    assert_eq!(st.len(), senders * per);
    assert!(st.iter().all(|s| !s.duplicate));
    let (kept, partial) = listing(&storage);
    assert_eq!((kept.len(), partial.len()), (senders * per, 0));
    for files in &studies {
        for f in files {
            let p = storage.join(format!("{}.dcm", instance_uid(f)));
            assert!(data_set(&p) == data_set(f), "{}", p.display());
        }
    }
    let s = scp.stop(Duration::from_secs(5));
    assert_eq!(
        (s.stored, s.aborted, s.refused),
        ((senders * per) as u64, 0, 0)
    );
    eprintln!(
        "{} instances from {senders} senders in {:.2} s ({:.0}/s), lost 0",
        senders * per,
        took.as_secs_f64(),
        (senders * per) as f64 / took.as_secs_f64()
    );
}
