//! What lab-sr does, behind an options struct: segment the CT with the
//! bundled segmenter, score each nodule with the bundled classifier, write
//! the SEG and the TID 1500 SR (radlab-results), check the report against
//! the template, and send both to a PACS: an Orthanc started on loopback
//! (radlab-pacs) by default, STOW-RS, found again by QIDO-RS and retrieved
//! by WADO-RS for a byte-for-byte comparison. The binary builds
//! [`Options`], calls [`run`] and narrates the [`Report`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use dicom_object::DefaultDicomObject;
use radlab_infer::Model;
use radlab_pacs::dicomweb::{DicomWeb, value_str};
use radlab_pacs::orthanc::{Orthanc, OrthancOptions};
use radlab_results::tid1500::{self, Group};
use radlab_results::{Algorithm, Created, Finding, SourceSeries, check, seg, sr};
use serde::Serialize;

/// Where the results go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pacs {
    /// Start an Orthanc on loopback (installed by radlab when missing),
    /// store, query, retrieve, stop it.
    Orthanc,
    /// A DICOMweb server of yours (base URL, e.g. `http://127.0.0.1:8042/dicom-web`).
    DicomWeb(String),
    /// Write the files only.
    None,
}

/// What the pipeline is run with (the binary's flags, checked there).
#[derive(Debug, Clone)]
pub struct Options {
    /// The CT series (folder or file).
    pub input: PathBuf,
    /// Probability at or above which a voxel is nodule.
    pub threshold: f32,
    /// Components smaller than this (mm³) are not reported.
    pub min_volume_mm3: f64,
    /// Which slices get SEG frames.
    pub frames: seg::Frames,
    /// Where the SEG and SR are sent.
    pub pacs: Pacs,
    /// Content date and time of the objects.
    pub created: Created,
    /// Output folder (created).
    pub out: PathBuf,
    /// Also build the report with the exercise functions and check it.
    pub mine: bool,
}

/// One nodule and where each of its numbers came from.
#[derive(Debug, Clone, Serialize)]
pub struct NoduleRow {
    /// The measurement group's values.
    pub group: Group,
    /// Voxels in the segment.
    pub voxels: usize,
    /// `voxels x dz x dy x dx = volume`.
    pub volume_from: String,
    /// Where the long axis was measured.
    pub long_axis_from: String,
    /// Where the probability came from.
    pub probability_from: String,
    /// The component's most probable voxel `[z, y, x]`.
    pub peak_voxel: [usize; 3],
}

/// What the PACS round trip showed.
#[derive(Debug, Clone, Serialize)]
pub struct PacsRow {
    /// The DICOMweb base URL used.
    pub url: String,
    /// The Orthanc process (when radlab started one).
    pub orthanc_pid: Option<u32>,
    /// Instances sent by STOW-RS and accepted.
    pub stored: usize,
    /// Instances refused, with their failure reason codes.
    pub failed: Vec<(String, u16)>,
    /// Series QIDO-RS found in the study: `(modality, Series Instance UID)`.
    pub series_found: Vec<(String, String)>,
    /// The SEG as retrieved by WADO-RS equals the file written.
    pub seg_identical: bool,
    /// The SR as retrieved by WADO-RS equals the file written.
    pub sr_identical: bool,
    /// Orthanc was stopped and its PID is gone.
    pub stopped: bool,
}

/// The learner's report, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Mine {
    /// The template check's problems with the learner's groups.
    pub problems: Vec<String>,
    /// The learner's tracking UIDs equal the reference's.
    pub same_tracking_uids: Option<bool>,
    /// The learner's evidence lists the same instances.
    pub same_evidence: Option<bool>,
    /// What did not run.
    pub note: String,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The series read.
    pub input: String,
    /// Its shape `[z, y, x]` and spacing.
    pub shape: [usize; 3],
    pub spacing_mm: radlab_dicom::Spacing,
    /// The segmenter and classifier as named in the objects.
    pub segmenter: Algorithm,
    pub classifier: String,
    /// Device UID (IHE AIR contributing equipment) of the segmenter.
    pub device_uid: String,
    pub threshold: f32,
    pub min_volume_mm3: f64,
    /// Components found and those dropped for being small.
    pub components: usize,
    pub dropped_small: usize,
    pub nodules: Vec<NoduleRow>,
    /// Files written and their SOP Instance UIDs.
    pub seg_file: String,
    pub seg_uid: String,
    pub seg_frames: usize,
    pub sr_file: String,
    pub sr_uid: String,
    /// The SR content as dsrdump shows it.
    pub tree: String,
    /// radlab's TID 1500/1411 template check on the SR as written.
    pub template_problems: Vec<String>,
    /// Evidence: series and instances listed.
    pub evidence_series: usize,
    pub evidence_instances: usize,
    /// The SR written again from the same inputs is byte-identical.
    pub rerun_identical: bool,
    pub pacs: Option<PacsRow>,
    pub mine: Option<Mine>,
}

fn encode(o: &DefaultDicomObject) -> Result<Vec<u8>> {
    let mut b = Vec::new();
    o.write_all(&mut b).context("encoding a result object")?;
    Ok(b)
}

/// Segment, measure, write, check, store.
pub fn run(
    opts: &Options,
    load: &mut dyn FnMut(&str) -> Result<Model>,
    say: &mut dyn FnMut(&str),
) -> Result<Report> {
    let (volume, _) = radlab_labkit::load_volume(&opts.input, None)?;
    let source = SourceSeries::from_volume(&volume)?;
    let mut segmenter = load("nodule_segmenter")?;
    let mut classifier = load("nodule_classifier")?;
    let alg = Algorithm::from_weights(&segmenter.card().name, &segmenter.card().sha256);
    say(&format!(
        "segmenting {} slices with {}",
        volume.voxels.dim().0,
        alg.name
    ));
    let prob = radlab_eval::segment(&mut segmenter, volume.voxels.view(), &mut |_, _| {})?;
    let spacing =
        radlab_metrics::Spacing::new(volume.spacing.z, volume.spacing.y, volume.spacing.x);
    // Components at the threshold, the small ones dropped, relabelled 1..
    let (labels, kept, all_components) =
        radlab_eval::detect::nodules(prob.view(), opts.threshold, opts.min_volume_mm3, spacing)?;
    // The classifier on the axial patch centred on each component's peak.
    let mut cands: Vec<radlab_metrics::detection::Candidate> = kept
        .iter()
        .map(|c| radlab_metrics::detection::Candidate {
            scan: 0,
            voxel: c.peak_voxel,
            position_mm: [0.0; 3],
            score: 0.0,
            volume_mm3: c.volume_mm3,
        })
        .collect();
    radlab_eval::detect::rescore(&mut classifier, volume.voxels.view(), &mut cands)?;
    let findings = Finding::from_labels(labels.view(), &volume, |l| cands[l as usize - 1].score)?;
    let [sz, sy, sx] = volume.spacing.zyx();
    let nodules: Vec<NoduleRow> = findings
        .iter()
        .zip(&kept)
        .map(|(f, c)| NoduleRow {
            group: Group::of(f, &source, &alg),
            voxels: f.voxels.len(),
            volume_from: format!(
                "{} voxels x {sz} x {sy} x {sx} mm = {:.2} mm3",
                f.voxels.len(),
                f.volume_mm3
            ),
            long_axis_from: "the longest distance between two voxel centres of the segment, in mm with the spacing".into(),
            probability_from: format!(
                "{}: sigmoid of its logit on the 32 x 32 axial patch (lung window) centred on voxel {:?}",
                classifier.card().name,
                c.peak_voxel
            ),
            peak_voxel: c.peak_voxel,
        })
        .collect();

    radlab_labkit::prepare_out_dir(&opts.out)?;
    let seg_obj = seg::segmentation(&findings, &source, &alg, opts.frames, &opts.created)?;
    let sr_obj = tid1500::report(&findings, &source, &alg, &opts.created)?;
    let (seg_path, sr_path) = (opts.out.join("seg.dcm"), opts.out.join("sr.dcm"));
    radlab_dicom::write::write_dicom_atomic(&seg_path, &seg_obj)?;
    radlab_dicom::write::write_dicom_atomic(&sr_path, &sr_obj)?;
    let (seg_bytes, sr_bytes) = (std::fs::read(&seg_path)?, std::fs::read(&sr_path)?);
    let again = encode(&tid1500::report(&findings, &source, &alg, &opts.created)?)?;
    let rerun_identical = again == encode(&sr_obj)?;

    let problems: Vec<String> = check::check_report(&sr_obj)
        .iter()
        .map(|p| p.to_string())
        .collect();
    let content =
        sr::Item::decode(&sr_obj, 16).map_err(|e| anyhow::anyhow!("reading back the SR: {e}"))?;
    let ev = tid1500::evidence(&tid1500::references(&source, &alg));
    let seg_frames = seg_obj
        .element(dicom_dictionary_std::tags::NUMBER_OF_FRAMES)
        .ok()
        .and_then(|e| e.to_int::<usize>().ok())
        .unwrap_or(0);

    let mine = opts.mine.then(|| mine_report(&findings, &source, &alg));

    let pacs = match &opts.pacs {
        Pacs::None => None,
        Pacs::Orthanc => {
            say("starting Orthanc on loopback");
            radlab_pacs::orthanc::ensure_installed()?;
            let mut o = Orthanc::start(&OrthancOptions::default())?;
            let pid = o.pid();
            let row = round_trip(
                &o.dicomweb_url(),
                &volume,
                &source,
                &alg,
                &seg_bytes,
                &sr_bytes,
                say,
            );
            o.stop(Duration::from_secs(10));
            let mut row = row?;
            row.orthanc_pid = pid;
            row.stopped = pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists());
            Some(row)
        }
        Pacs::DicomWeb(url) => Some(round_trip(
            url, &volume, &source, &alg, &seg_bytes, &sr_bytes, say,
        )?),
    };

    let (seg_uid, sr_uid) = (
        seg::instance_uid(&source, &alg),
        tid1500::instance_uid(&source, &alg),
    );
    Ok(Report {
        input: radlab_labkit::display_path(&opts.input),
        shape: {
            let (z, y, x) = volume.voxels.dim();
            [z, y, x]
        },
        spacing_mm: volume.spacing,
        device_uid: alg.device_uid(),
        segmenter: alg,
        classifier: format!(
            "{} ({})",
            classifier.card().name,
            &classifier.card().sha256[..16]
        ),
        threshold: opts.threshold,
        min_volume_mm3: opts.min_volume_mm3,
        components: all_components,
        dropped_small: all_components - kept.len(),
        nodules,
        seg_file: radlab_labkit::display_path(&seg_path),
        seg_uid,
        seg_frames,
        sr_file: radlab_labkit::display_path(&sr_path),
        sr_uid,
        tree: sr::dump(&content),
        template_problems: problems,
        evidence_series: ev.iter().map(|s| s.series.len()).sum(),
        evidence_instances: ev
            .iter()
            .flat_map(|s| &s.series)
            .map(|s| s.instances.len())
            .sum(),
        rerun_identical,
        pacs,
        mine,
    })
}

/// STOW the CT, the SEG and the SR; QIDO the study's series; WADO the two
/// results back and compare them with the files.
fn round_trip(
    url: &str,
    volume: &radlab_dicom::Volume,
    source: &SourceSeries,
    alg: &Algorithm,
    seg_bytes: &[u8],
    sr_bytes: &[u8],
    say: &mut dyn FnMut(&str),
) -> Result<PacsRow> {
    let web = DicomWeb::new(url, Duration::from_secs(60));
    // A multi-frame file holds many slices: each file is sent once.
    let mut paths: Vec<&Path> = volume.slices.iter().map(|(p, _)| p.as_path()).collect();
    paths.sort();
    paths.dedup();
    let mut all = Vec::with_capacity(paths.len() + 2);
    for p in paths {
        all.push(std::fs::read(p).with_context(|| format!("{}", p.display()))?);
    }
    all.push(seg_bytes.to_vec());
    all.push(sr_bytes.to_vec());
    say(&format!("STOW-RS: {} instances to {url}", all.len()));
    let stored = web.store(&all)?;
    let series = web.search(&format!("studies/{}/series", source.study_uid))?;
    let series_found = series
        .iter()
        .map(|s| {
            (
                value_str(s, "00080060").unwrap_or_default(),
                value_str(s, "0020000E").unwrap_or_default(),
            )
        })
        .collect();
    let seg_back = web.retrieve_instance(
        &source.study_uid,
        &seg::series_uid(source, alg),
        &seg::instance_uid(source, alg),
    )?;
    let sr_back = web.retrieve_instance(
        &source.study_uid,
        &tid1500::series_uid(source, alg),
        &tid1500::instance_uid(source, alg),
    )?;
    Ok(PacsRow {
        url: url.into(),
        orthanc_pid: None,
        stored: stored.stored.len(),
        failed: stored.failed,
        series_found,
        seg_identical: seg_back == seg_bytes,
        sr_identical: sr_back == sr_bytes,
        stopped: false,
    })
}

/// The report built with the learner's exercise functions, checked by the
/// template check and compared with the reference's UIDs and evidence.
fn mine_report(findings: &[Finding], source: &SourceSeries, alg: &Algorithm) -> Mine {
    use crate::exercise;
    let groups: Option<Vec<sr::Item>> = findings
        .iter()
        .map(|f| radlab_grade::quietly(|| exercise::measurement_group(&Group::of(f, source, alg))))
        .collect();
    let problems = match &groups {
        Some(g) => check::check_tree(&tid1500::root(g.clone(), alg))
            .iter()
            .map(|p| p.to_string())
            .collect(),
        None => vec![],
    };
    let same_tracking_uids = findings
        .iter()
        .map(|f| {
            radlab_grade::quietly(|| {
                exercise::tracking_uid(&source.series_uid, &alg.device_uid(), &f.voxels)
            })
            .map(|u| u == f.tracking_uid(source, alg))
        })
        .collect::<Option<Vec<bool>>>()
        .map(|v| v.into_iter().all(|b| b));
    let refs = tid1500::references(source, alg);
    let same_evidence =
        radlab_grade::quietly(|| exercise::evidence(&refs)).map(|e| e == tid1500::evidence(&refs));
    let mut note = String::new();
    if groups.is_none() {
        note.push_str("measurement-group did not finish; ");
    }
    if same_tracking_uids.is_none() {
        note.push_str("tracking-uid did not finish; ");
    }
    if same_evidence.is_none() {
        note.push_str("evidence did not finish; ");
    }
    Mine {
        problems,
        same_tracking_uids,
        same_evidence,
        note,
    }
}
