//! The result objects radlab writes (SEG, TID 1500 SR) pass Debian's
//! validators (`dciodvfy` 0 errors, `dsrdump` and `dcmdump` parse them),
//! and radlab's own template check passes them and catches the mistakes the
//! validators let through.

use std::path::{Path, PathBuf};
use std::process::Command;

use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use radlab_results::sr::{Item, Value};
use radlab_results::{Algorithm, Created, Finding, SourceSeries, check, seg, tid1500};

struct Written {
    _dir: tempfile::TempDir,
    seg: PathBuf,
    sr: PathBuf,
    findings: Vec<Finding>,
}

fn write_results(seed: u64, shape: [usize; 3], frames: seg::Frames) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let spec = radlab_synth::CaseSpec {
        shape,
        // The sample's field of view on a coarser grid.
        spacing: radlab_dicom::Spacing::new(
            160.0 / shape[0] as f64,
            345.6 / shape[1] as f64,
            345.6 / shape[2] as f64,
        ),
        nodules: 2,
        ..radlab_synth::CaseSpec::sample(seed)
    };
    let case = radlab_synth::generate_case(&spec);
    let ct = dir.path().join("ct");
    radlab_synth::write_case(&case, &ct).unwrap();
    let vol = radlab_dicom::load_path(&ct, None).unwrap();
    let labels = case.phantom.labels.mapv(u32::from);
    write_for(dir, &vol, labels.view(), frames)
}

/// Write the SEG and SR of `labels` (one finding per label) on `vol`.
fn write_for(
    dir: tempfile::TempDir,
    vol: &radlab_dicom::Volume,
    labels: ndarray::ArrayView3<'_, u32>,
    frames: seg::Frames,
) -> Written {
    let findings = Finding::from_labels(labels, vol, |l| 0.5 + 0.1 * f64::from(l)).unwrap();
    assert!(!findings.is_empty(), "the labels have findings");
    let source = SourceSeries::from_volume(vol).unwrap();
    let alg = Algorithm::from_weights("nodule-segmenter", &"ab".repeat(32));
    let created = Created::from_unix(1_764_547_200);
    let seg_obj = seg::segmentation(&findings, &source, &alg, frames, &created).unwrap();
    let sr_obj = tid1500::report(&findings, &source, &alg, &created).unwrap();
    let (seg, sr) = (dir.path().join("seg.dcm"), dir.path().join("sr.dcm"));
    radlab_dicom::write::write_dicom_atomic(&seg, &seg_obj).unwrap();
    radlab_dicom::write::write_dicom_atomic(&sr, &sr_obj).unwrap();
    Written {
        _dir: dir,
        seg,
        sr,
        findings,
    }
}

fn assert_valid(w: &Written) {
    for f in [&w.seg, &w.sr] {
        let (errors, text) = dciodvfy(f);
        eprintln!("dciodvfy {}:\n{text}", f.display());
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
        tool_ok("dcmdump", f);
    }
    let tree = tool_ok("dsrdump", &w.sr);
    assert!(tree.contains("Imaging Measurement Report"), "{tree}");
    assert_eq!(
        tree.matches("Measurement Group").count(),
        w.findings.len(),
        "{tree}"
    );
    let obj = dicom_object::open_file(&w.sr).unwrap();
    let problems = check::check_report(&obj);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn results_on_the_sample_study_are_valid() {
    let spec = radlab_synth::sample_specs().remove(0);
    let case = radlab_synth::generate_case(&spec);
    let ct = radlab_tests::workspace_root()
        .join("sample_data")
        .join(&spec.id)
        .join("ct");
    let vol = radlab_dicom::load_path(&ct, None).unwrap();
    let labels = case.phantom.labels.mapv(u32::from);
    let w = write_for(
        tempfile::tempdir().unwrap(),
        &vol,
        labels.view(),
        seg::Frames::NonEmpty,
    );
    assert_eq!(w.findings.len(), spec.nodules);
    assert_valid(&w);
}

/// pydicom's CT_small.dcm (a GE CT slice, not written by radlab) as a
/// one-slice source: a threshold blob becomes the finding.
#[test]
fn results_on_a_third_party_ct_are_valid() {
    let tp = radlab_tests::third_party_dir();
    let path =
        find_file(&tp, "CT_small.dcm").expect("pydicom's CT_small.dcm in the third-party corpus");
    let vol = radlab_dicom::load_series(&[path]).unwrap();
    let labels = vol.voxels.mapv(|v| u32::from(v > 200.0));
    let w = write_for(
        tempfile::tempdir().unwrap(),
        &vol,
        labels.view(),
        seg::Frames::All,
    );
    assert_valid(&w);
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

fn dciodvfy(path: &Path) -> (Vec<String>, String) {
    let o = Command::new("dciodvfy")
        .arg(path)
        .output()
        .expect("dciodvfy is not installed: run `cargo xtask test`");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let errors = text
        .lines()
        .filter(|l| l.contains("Error"))
        .map(str::to_string)
        .collect();
    (errors, text)
}

fn tool_ok(tool: &str, path: &Path) -> String {
    let o = Command::new(tool)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{tool} is not installed ({e}): run `cargo xtask test`"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{tool} {}: {text}", path.display());
    assert!(!text.contains("E: "), "{tool} {}: {text}", path.display());
    text
}

#[test]
fn seg_and_sr_pass_dciodvfy_dsrdump_and_dcmdump() {
    for frames in [seg::Frames::NonEmpty, seg::Frames::All] {
        assert_valid(&write_results(11, [24, 64, 72], frames));
    }
}

#[test]
fn template_check_passes_what_radlab_writes() {
    let w = write_results(12, [20, 48, 56], seg::Frames::NonEmpty);
    let obj = dicom_object::open_file(&w.sr).unwrap();
    let problems = check::check_report(&obj);
    assert!(problems.is_empty(), "{problems:#?}");
    // The tree read back carries the finding's numbers.
    let root = Item::decode(&obj, 32).unwrap();
    let im = root.find("126010", "DCM").next().unwrap();
    for (g, f) in im.children.iter().zip(&w.findings) {
        let Value::Num { value, unit } = &g.find("118565006", "SCT").next().unwrap().value else {
            panic!("volume is a NUM")
        };
        assert_eq!(unit.value, "mm3");
        assert!((value.parse::<f64>().unwrap() - f.volume_mm3).abs() <= 1e-6 * f.volume_mm3);
    }
}

/// Rewrite the SR's content after `edit`, then check.
fn problems_after(sr: &Path, edit: impl FnOnce(&mut Item)) -> Vec<check::Problem> {
    let mut obj = dicom_object::open_file(sr).unwrap();
    let mut root = Item::decode(&obj, 32).unwrap();
    edit(&mut root);
    obj.remove_element(tags::CONTENT_SEQUENCE);
    obj.remove_element(tags::CONTENT_TEMPLATE_SEQUENCE);
    root.encode_root(&mut obj);
    check::check_report(&obj)
}

fn group(root: &mut Item) -> &mut Item {
    let i = root
        .children
        .iter()
        .position(|c| c.concept.as_ref().is_some_and(|k| k.is("126010", "DCM")))
        .unwrap();
    &mut root.children[i].children[0]
}

fn drop_concept(it: &mut Item, value: &str) {
    it.children
        .retain(|c| c.concept.as_ref().is_none_or(|k| k.value != value));
}

#[test]
fn template_check_catches_what_validators_miss() {
    let w = write_results(13, [20, 48, 56], seg::Frames::NonEmpty);
    type Edit = Box<dyn FnOnce(&mut Item)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "no tracking UID",
            Box::new(|r| drop_concept(group(r), "112040")),
            "Tracking Unique Identifier",
        ),
        (
            "no observer type",
            Box::new(|r| drop_concept(r, "121005")),
            "Observer Type",
        ),
        (
            "no template identifier",
            Box::new(|r| r.value = Value::Container { template: None }),
            "TID 1500",
        ),
        (
            "mm^3",
            Box::new(|r| {
                for c in &mut group(r).children {
                    if let Value::Num { unit, .. } = &mut c.value {
                        unit.value = "mm^3".into();
                    }
                }
            }),
            "not valid UCUM",
        ),
        (
            "a non-UCUM unit scheme",
            Box::new(|r| {
                if let Value::Num { unit, .. } = &mut group(r).children[8].value {
                    unit.scheme = "99LOCAL".into();
                }
            }),
            "not a UCUM code",
        ),
        (
            "a measurement under HAS PROPERTIES",
            Box::new(|r| {
                group(r).children[8].relationship =
                    Some(radlab_results::sr::Relationship::HasProperties)
            }),
            "cannot be the relationship",
        ),
        (
            "no referenced segment number",
            Box::new(|r| {
                for c in &mut group(r).children {
                    if let Value::Image { segment, .. } = &mut c.value {
                        *segment = None;
                    }
                }
            }),
            "ReferencedSegmentNumber",
        ),
        (
            "a tracking UID that is not a UID",
            Box::new(|r| {
                for c in &mut group(r).children {
                    if let Value::UidRef(u) = &mut c.value {
                        u.push_str(".x");
                    }
                }
            }),
            "not a valid UID",
        ),
    ];
    for (name, edit, want) in cases {
        let problems = problems_after(&w.sr, edit);
        assert!(
            problems.iter().any(|p| p.message.contains(want)),
            "{name}: {problems:#?}"
        );
    }
    // Evidence that misses the SEG.
    let mut obj = dicom_object::open_file(&w.sr).unwrap();
    let mut study =
        radlab_dicom::attrs::items(&obj, tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE)[0]
            .clone();
    let first = radlab_dicom::attrs::items(&study, tags::REFERENCED_SERIES_SEQUENCE)[0].clone();
    study.put(DataElement::new(
        tags::REFERENCED_SERIES_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(vec![first]),
    ));
    obj.put(DataElement::new(
        tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(vec![study]),
    ));
    let problems = check::check_report(&obj);
    assert!(
        problems.iter().any(|p| p.message.contains("does not list")),
        "{problems:#?}"
    );
}

#[test]
fn seg_frames_hold_the_mask_and_uids_are_stable() {
    let a = write_results(14, [16, 40, 48], seg::Frames::NonEmpty);
    let b = write_results(14, [16, 40, 48], seg::Frames::NonEmpty);
    assert_eq!(
        std::fs::read(&a.seg).unwrap(),
        std::fs::read(&b.seg).unwrap()
    );
    assert_eq!(std::fs::read(&a.sr).unwrap(), std::fs::read(&b.sr).unwrap());
    let obj = dicom_object::open_file(&a.seg).unwrap();
    let frames = radlab_dicom::attrs::items(&obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let data = obj.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    let mut count = 0;
    for (i, _) in frames.iter().enumerate() {
        count += seg::unpack_frame(&data, i, 40, 48)
            .iter()
            .filter(|&&b| b)
            .count();
    }
    let total: usize = a.findings.iter().map(|f| f.voxels.len()).sum();
    assert_eq!(count, total);
}

/// The Python that has highdicom: `RADLAB_RESULTS_PYTHON`, which
/// `cargo xtask test` sets after installing tools/results/requirements.txt.
fn highdicom_python() -> PathBuf {
    std::env::var_os("RADLAB_RESULTS_PYTHON")
        .map(PathBuf::from)
        .expect(
            "RADLAB_RESULTS_PYTHON is not set: run `cargo xtask test`, which installs highdicom",
        )
}

#[test]
fn highdicom_reads_back_the_same_values() {
    let w = write_results(15, [24, 64, 72], seg::Frames::NonEmpty);
    let script = radlab_tests::workspace_root().join("tools/results/read_with_highdicom.py");
    let o = Command::new(highdicom_python())
        .arg(&script)
        .arg(&w.seg)
        .arg(&w.sr)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    eprintln!("{got:#}");
    assert_eq!(got["versions"]["highdicom"], "0.28.2");
    let sr = dicom_object::open_file(&w.sr).unwrap();
    let root = Item::decode(&sr, 32).unwrap();
    let groups = &root.find("126010", "DCM").next().unwrap().children;
    let segs = got["segments"].as_array().unwrap();
    let hd_groups = got["groups"].as_array().unwrap();
    assert_eq!(segs.len(), w.findings.len());
    assert_eq!(hd_groups.len(), w.findings.len());
    for ((f, s), (g, mine)) in w
        .findings
        .iter()
        .zip(segs)
        .zip(hd_groups.iter().zip(groups))
    {
        assert_eq!(s["number"], u64::from(f.number));
        assert_eq!(s["voxels"], f.voxels.len() as u64, "segment {}", f.number);
        assert_eq!(s["tracking_id"], f.tracking_id());
        let uid = match &mine.find("112040", "DCM").next().unwrap().value {
            Value::UidRef(u) => u.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            s["tracking_uid"],
            uid.as_str(),
            "SEG and SR agree on the tracking UID"
        );
        assert_eq!(g["tracking_uid"], uid.as_str());
        assert_eq!(g["tracking_id"], f.tracking_id());
        assert_eq!(g["finding"], "27925004");
        assert_eq!(g["finding_sites"], serde_json::json!(["39607008"]));
        assert_eq!(g["referenced_segment"][1], serde_json::json!([f.number]));
        let m = &g["measurements"];
        let close = |key: &str, unit: &str, want: f64| {
            let v = &m[key];
            assert_eq!(v[1], unit, "{key}: {m:#}");
            let x = v[0].as_f64().unwrap();
            assert!(
                (x - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{key}: {x} vs {want}"
            );
        };
        close("Volume", "mm3", f.volume_mm3);
        close("Long Axis", "mm", f.long_axis_mm);
        close("Attenuation Coefficient", "[hnsf'U]", f.mean_hu);
        close("Nodule probability", "1", f.probability);
    }
    // Evidence: every source instance and the SEG.
    let evidence = got["evidence"].as_array().unwrap();
    let seg_obj = dicom_object::open_file(&w.seg).unwrap();
    let seg_uid = radlab_dicom::attrs::string(&seg_obj, tags::SOP_INSTANCE_UID).unwrap();
    assert!(evidence.iter().any(|e| e == seg_uid.as_str()));
    let frames =
        radlab_dicom::attrs::items(&seg_obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).len();
    assert_eq!(evidence.len(), 1 + 24);
    assert_eq!(got["frames"], frames as u64);
}

#[test]
fn secondary_capture_passes_dciodvfy_and_says_not_for_diagnosis() {
    use radlab_imaging::window::{VoiFunction, Window};
    use radlab_results::sc;
    let spec = radlab_synth::sample_specs().remove(0);
    let case = radlab_synth::generate_case(&spec);
    let ct = radlab_tests::workspace_root()
        .join("sample_data")
        .join(&spec.id)
        .join("ct");
    let vol = radlab_dicom::load_path(&ct, None).unwrap();
    let labels = case.phantom.labels.mapv(u32::from);
    let findings = Finding::from_labels(labels.view(), &vol, |_| 0.9).unwrap();
    let source = SourceSeries::from_volume(&vol).unwrap();
    let alg = Algorithm::from_weights("nodule-segmenter", &"cd".repeat(32));
    let f = &findings[0];
    let z = f.voxels[f.voxels.len() / 2][0];
    let [_, rows, cols] = vol.shape();
    let w = Window::new(-600.0, 1500.0, VoiFunction::Linear).unwrap();
    let slice: Vec<f32> = vol
        .voxels
        .index_axis(ndarray::Axis(0), z)
        .iter()
        .copied()
        .collect();
    let mut gray = vec![0u8; slice.len()];
    w.to_u8_slice(&slice, &mut gray);
    let mut pic = sc::Rgb::from_gray(rows, cols, &gray);
    let mut mask = vec![false; rows * cols];
    for v in f.voxels.iter().filter(|v| v[0] == z) {
        mask[v[1] * cols + v[2]] = true;
    }
    pic.outline(&mask, [255, 0, 0]);
    let obj = sc::secondary_capture(
        pic,
        z,
        "outline",
        "nodule outlines",
        &source,
        &alg,
        &Created::from_unix(0),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sc.dcm");
    radlab_dicom::write::write_dicom_atomic(&path, &obj).unwrap();
    let (errors, text) = dciodvfy(&path);
    eprintln!("{text}");
    assert!(errors.is_empty(), "{errors:#?}");
    tool_ok("dcmdump", &path);
    let back = dicom_object::open_file(&path).unwrap();
    let s = |t| radlab_dicom::attrs::string(&back, t).unwrap();
    assert_eq!(s(tags::BURNED_IN_ANNOTATION), "YES");
    assert!(s(tags::SERIES_DESCRIPTION).starts_with(sc::CAUTION));
    let src = &radlab_dicom::attrs::items(&back, tags::SOURCE_IMAGE_SEQUENCE)[0];
    assert_eq!(
        radlab_dicom::attrs::string(src, tags::REFERENCED_SOP_INSTANCE_UID).unwrap(),
        source.instances[z].sop_instance
    );
    // The outline is red in the pixels, and the caution text is burned in
    // (yellow pixels in the top rows).
    let px = back.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    let red = px
        .chunks(3)
        .take(rows * cols)
        .filter(|p| p == &[255, 0, 0])
        .count();
    assert!(red > 0);
    let yellow_top = px[..cols * 12 * 3]
        .chunks(3)
        .filter(|p| p == &[255, 255, 0])
        .count();
    assert!(yellow_top > 50, "{yellow_top}");
}

/// A negative study (no finding): the SR alone, valid for dciodvfy and
/// dsrdump, with no measurement group and no SEG in its evidence (there is
/// no SEG: a SEG needs a segment, and the writer refuses to make one).
#[test]
fn a_negative_report_is_valid_and_names_no_seg() {
    let w = write_results(13, [12, 40, 40], seg::Frames::NonEmpty);
    let vol = radlab_dicom::load_path(w.seg.parent().unwrap().join("ct").as_path(), None).unwrap();
    let source = SourceSeries::from_volume(&vol).unwrap();
    let alg = Algorithm::from_weights("nodule-segmenter", &"ab".repeat(32));
    let created = Created::from_unix(1_764_547_200);
    assert!(seg::segmentation(&[], &source, &alg, seg::Frames::NonEmpty, &created).is_err());
    let sr_obj = tid1500::report(&[], &source, &alg, &created).unwrap();
    let sr = w.seg.parent().unwrap().join("negative-sr.dcm");
    radlab_dicom::write::write_dicom_atomic(&sr, &sr_obj).unwrap();
    let (errors, text) = dciodvfy(&sr);
    assert!(errors.is_empty(), "{errors:#?}\n{text}");
    let tree = tool_ok("dsrdump", &sr);
    assert!(tree.contains("Imaging Measurement Report"), "{tree}");
    assert_eq!(tree.matches("Measurement Group").count(), 0, "{tree}");
    let refs = tid1500::report_references(&[], &source, &alg);
    assert_eq!(refs.len(), source.instances.len());
    let dump = tool_ok("dcmdump", &sr);
    assert!(
        !dump.contains(seg::SEGMENTATION_STORAGE),
        "the evidence names a SEG: {dump}"
    );
}
