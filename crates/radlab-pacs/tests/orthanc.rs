//! A real Orthanc on loopback: radlab's SEG and SR stored by STOW-RS, found
//! by QIDO-RS, retrieved by WADO-RS byte for byte; the process is gone
//! after stop. One Orthanc for the whole test binary.

use std::time::Duration;

use radlab_pacs::dicomweb::{DicomWeb, value_str};
use radlab_pacs::orthanc::{Orthanc, OrthancOptions};
use radlab_pacs::scu::{Association, ScuOptions};
use radlab_results::{Algorithm, Created, Finding, SourceSeries, seg, tid1500};

#[test]
fn stow_qido_wado_round_trip_and_clean_stop() {
    let dir = tempfile::tempdir().unwrap();
    let spec = radlab_synth::CaseSpec {
        shape: [12, 48, 48],
        spacing: radlab_dicom::Spacing::new(160.0 / 12.0, 7.2, 7.2),
        nodules: 2,
        ..radlab_synth::CaseSpec::sample(21)
    };
    let case = radlab_synth::generate_case(&spec);
    let ct = dir.path().join("ct");
    let mut files = radlab_synth::write_case(&case, &ct).unwrap();
    files.retain(|p| p.extension().is_some_and(|e| e == "dcm"));
    let vol = radlab_dicom::load_path(&ct, None).unwrap();
    let labels = case.phantom.labels.mapv(u32::from);
    let findings = Finding::from_labels(labels.view(), &vol, |_| 0.8).unwrap();
    let source = SourceSeries::from_volume(&vol).unwrap();
    let alg = Algorithm::from_weights("nodule-segmenter", &"ef".repeat(32));
    let created = Created::from_unix(1_764_547_200);
    let encode = |o: &dicom_object::DefaultDicomObject| {
        let mut b = Vec::new();
        o.write_all(&mut b).unwrap();
        b
    };
    let seg_bytes = encode(
        &seg::segmentation(&findings, &source, &alg, seg::Frames::NonEmpty, &created).unwrap(),
    );
    let sr_bytes = encode(&tid1500::report(&findings, &source, &alg, &created).unwrap());

    let mut pacs = Orthanc::start(&OrthancOptions::default()).unwrap();
    let pid = pacs.pid().unwrap();
    let web = DicomWeb::new(&pacs.dicomweb_url(), Duration::from_secs(30));
    let mut all: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    all.push(seg_bytes.clone());
    all.push(sr_bytes.clone());
    let stored = web.store(&all).unwrap();
    assert!(stored.failed.is_empty(), "{:?}", stored.failed);
    assert_eq!(stored.stored.len(), all.len());

    let studies = web
        .search(&format!("studies?StudyInstanceUID={}", source.study_uid))
        .unwrap();
    assert_eq!(studies.len(), 1);
    let series = web
        .search(&format!("studies/{}/series", source.study_uid))
        .unwrap();
    let mut modalities: Vec<String> = series
        .iter()
        .filter_map(|s| value_str(s, "00080060"))
        .collect();
    modalities.sort();
    assert_eq!(modalities, ["CT", "SEG", "SR"]);
    let (sr_series, sr_uid) = (
        tid1500::series_uid(&source, &alg),
        tid1500::instance_uid(&source, &alg),
    );
    let inst = web
        .search(&format!(
            "studies/{}/series/{sr_series}/instances",
            source.study_uid
        ))
        .unwrap();
    assert_eq!(
        value_str(&inst[0], "00080018").as_deref(),
        Some(sr_uid.as_str())
    );
    let back = web
        .retrieve_instance(&source.study_uid, &sr_series, &sr_uid)
        .unwrap();
    assert!(
        back == sr_bytes,
        "the SR came back changed ({} vs {} bytes)",
        back.len(),
        sr_bytes.len()
    );
    let seg_back = web
        .retrieve_instance(
            &source.study_uid,
            &seg::series_uid(&source, &alg),
            &seg::instance_uid(&source, &alg),
        )
        .unwrap();
    assert!(seg_back == seg_bytes, "the SEG came back changed");
    // An unknown study is an empty answer, not an error.
    assert!(
        web.search("studies?StudyInstanceUID=1.2.3.4")
            .unwrap()
            .is_empty()
    );

    // DIMSE: C-ECHO, then C-STORE of a Secondary Capture, found by QIDO.
    let mut gray = vec![0u8; 48 * 48];
    gray[..48].fill(200);
    let sc = radlab_results::sc::secondary_capture(
        radlab_results::sc::Rgb::from_gray(48, 48, &gray),
        3,
        "outline",
        "test picture",
        &source,
        &alg,
        &created,
    )
    .unwrap();
    let opts = ScuOptions {
        calling_aet: "RADLAB".into(),
        called_aet: pacs.aet.clone(),
        address: format!("127.0.0.1:{}", pacs.dicom_port),
        timeout: Duration::from_secs(30),
    };
    let mut assoc = Association::open(&opts, &[radlab_results::sc::SECONDARY_CAPTURE]).unwrap();
    for n in &assoc.negotiated {
        eprintln!("{n}");
        assert!(n.transfer_syntax.is_some(), "{n}");
    }
    assert_eq!(assoc.echo().unwrap(), 0);
    assert_eq!(assoc.store(&sc).unwrap(), 0);
    // A class that was not proposed is refused by name, before any byte is sent.
    let seg_obj = seg::segmentation(&findings, &source, &alg, seg::Frames::All, &created).unwrap();
    let err = assoc.store(&seg_obj).unwrap_err().to_string();
    assert!(
        err.contains("Segmentation Storage (SEG) was not proposed"),
        "{err}"
    );
    assoc.release().unwrap();
    let sc_series = radlab_results::sc::series_uid(&source, &alg, "outline");
    let found = web
        .search(&format!(
            "studies/{}/series/{sc_series}/instances",
            source.study_uid
        ))
        .unwrap();
    assert_eq!(found.len(), 1);

    pacs.stop(Duration::from_secs(20));
    let alive = unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    assert!(!alive, "Orthanc {pid} outlived stop()");
}
