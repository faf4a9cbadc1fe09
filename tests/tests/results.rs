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
    let findings = Finding::from_labels(labels.view(), &vol, |l| 0.5 + 0.1 * f64::from(l)).unwrap();
    assert_eq!(findings.len(), 2);
    let source = SourceSeries::from_volume(&vol).unwrap();
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
        let w = write_results(11, [24, 64, 72], frames);
        for f in [&w.seg, &w.sr] {
            let (errors, text) = dciodvfy(f);
            eprintln!("dciodvfy {}:\n{text}", f.display());
            assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
            tool_ok("dcmdump", f);
        }
        let tree = tool_ok("dsrdump", &w.sr);
        assert!(tree.contains("Imaging Measurement Report"), "{tree}");
        assert_eq!(tree.matches("Measurement Group").count(), 2, "{tree}");
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
