//! lab-gradcam from the outside: the default run on the sample study (with
//! a real Orthanc), its pictures passing dciodvfy and read back by pydicom,
//! the same pictures from another process, and bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

use dicom_dictionary_std::tags;
use sha2::Digest;

fn pictures(v: &serde_json::Value) -> Vec<PathBuf> {
    v["pictures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p["file"].as_str().unwrap()))
        .collect()
}

fn text(o: &dicom_object::DefaultDicomObject, t: dicom_core::Tag) -> String {
    o.element(t)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches(['\0', ' '])
        .to_string()
}

fn pixels(path: &Path) -> Vec<u8> {
    let o = dicom_object::open_file(path).unwrap();
    let (r, c) = (
        o.element(tags::ROWS).unwrap().to_int::<usize>().unwrap(),
        o.element(tags::COLUMNS).unwrap().to_int::<usize>().unwrap(),
    );
    let b = o.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    b[..r * c * 3].to_vec()
}

#[test]
fn default_run_explains_tests_and_round_trips_through_orthanc() {
    let out = tempfile::tempdir().unwrap();
    let v = radlab_tests::run_json(
        env!("CARGO_BIN_EXE_lab-gradcam"),
        &["--created", "1764547200"],
        out.path(),
    );
    let nodules = v["nodules"].as_array().unwrap();
    assert!(
        nodules.len() >= 3,
        "the sample's three phantom nodules: {v}"
    );
    // The class row recovered from the outputs rebuilds every logit.
    assert!(v["class_row_max_residual"].as_f64().unwrap() < 1e-3, "{v}");
    for n in nodules {
        let (a, b) = (
            n["logit"].as_f64().unwrap(),
            n["logit_from_row"].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-3, "{n}");
        let curve = n["deletion_curve"].as_array().unwrap();
        assert_eq!(curve.len(), 17, "16 steps and the start");
        // The first point is the untouched patch: the model's probability.
        assert!((curve[0].as_f64().unwrap() - n["probability"].as_f64().unwrap()).abs() < 1e-6);
    }
    // What the lesson claims: Grad-CAM's order deletes the evidence faster
    // than random orders, and the map falls apart as the cascade
    // randomises more of the model (head, then the last convolution too).
    let del = |k: &str| v[k]["deletion_auc"].as_f64().unwrap();
    assert!(del("mean_gradcam") < del("mean_random"), "{v}");
    let head = v["mean_spearman_random_head"].as_f64().unwrap();
    let conv3 = v["mean_spearman_random_conv3"].as_f64().unwrap();
    assert!(
        (0.0..=1.0).contains(&head) && conv3 < head && conv3 < 0.5,
        "{head} {conv3}"
    );
    // The pointing game's cell rule includes the strict one.
    for n in nodules {
        if n["map_peak_in_segment"] == true {
            assert_eq!(n["map_peak_cell_touches_segment"], true, "{n}");
        }
    }

    let p = &v["pacs"];
    assert_eq!(p["failed"].as_array().unwrap().len(), 0, "{p}");
    let files = pictures(&v);
    assert!(!files.is_empty());
    assert_eq!(p["sc_stored"], files.len() as u64);
    assert_eq!(
        p["ct_stored"],
        files.len() as u64,
        "one source slice per picture: {p}"
    );
    assert_eq!(p["read_back_identical"], files.len() as u64);
    assert_eq!(p["sc_series_instances"], files.len() as u64);
    assert_eq!(p["echo_status"], 0);
    assert_eq!(p["stopped"], true);

    // Every picture passes dciodvfy, and its caution, source reference and
    // header are what the sc-header task's reference says.
    for (f, pic) in files.iter().zip(v["pictures"].as_array().unwrap()) {
        let errors = radlab_tests::dciodvfy_errors(f);
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
        let o = dicom_object::open_file(f).unwrap();
        let src = lab_gradcam::types::SourceImage {
            sop_class: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance: pic["source_sop_instance_uid"].as_str().unwrap().into(),
        };
        let want =
            lab_gradcam::tasks::reference::sc_header(&text(&o, tags::DERIVATION_DESCRIPTION), &src);
        assert_eq!(text(&o, tags::SERIES_DESCRIPTION), want.series_description);
        assert_eq!(
            text(&o, tags::BURNED_IN_ANNOTATION),
            want.burned_in_annotation
        );
        assert_eq!(text(&o, tags::IMAGE_TYPE), want.image_type.join("\\"));
        assert_eq!(text(&o, tags::CONVERSION_TYPE), want.conversion_type);
        let item = &o
            .element(tags::SOURCE_IMAGE_SEQUENCE)
            .unwrap()
            .items()
            .unwrap()[0];
        let r = |t| {
            item.element(t)
                .unwrap()
                .to_str()
                .unwrap()
                .trim_end_matches('\0')
                .to_string()
        };
        assert_eq!(
            r(tags::REFERENCED_SOP_CLASS_UID),
            want.source_images[0].sop_class
        );
        assert_eq!(
            r(tags::REFERENCED_SOP_INSTANCE_UID),
            want.source_images[0].sop_instance
        );
        // The PNG is the SC's pixels.
        let png = out
            .path()
            .join(Path::new(pic["png"].as_str().unwrap()).file_name().unwrap());
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(
            &buf[..info.buffer_size()],
            pixels(f).as_slice(),
            "{}",
            png.display()
        );
    }

    // pydicom, a peer, decodes the same RGB pixels and attributes.
    let py = std::env::var_os("RADLAB_RESULTS_PYTHON")
        .expect("RADLAB_RESULTS_PYTHON is not set: run `cargo xtask test`, which installs pydicom");
    let script = radlab_tests::workspace_root().join("tools/results/read_sc_with_pydicom.py");
    let o = Command::new(py).arg(&script).args(&files).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for (f, g) in files.iter().zip(got["pictures"].as_array().unwrap()) {
        assert_eq!(g["photometric"], "RGB");
        assert_eq!(g["burned_in"], "YES");
        assert_eq!(g["samples"], 3);
        assert!(
            g["series_description"]
                .as_str()
                .unwrap()
                .starts_with("CAUTION: Not for Diagnostic Use")
        );
        let sha = hex_of(&sha2::Sha256::digest(pixels(f)));
        assert_eq!(g["pixels_sha256"], sha.as_str(), "{}", f.display());
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn another_process_draws_the_same_pictures() {
    let run = |created: &str| {
        let out = tempfile::tempdir().unwrap();
        let v = radlab_tests::run_json(
            env!("CARGO_BIN_EXE_lab-gradcam"),
            &["--no-pacs", "--created", created],
            out.path(),
        );
        let uids: Vec<String> = v["pictures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["sop_instance_uid"].as_str().unwrap().to_string())
            .collect();
        let px: Vec<Vec<u8>> = pictures(&v).iter().map(|f| pixels(f)).collect();
        (
            uids,
            px,
            v["mean_gradcam"].clone(),
            v["mean_random"].clone(),
        )
    };
    let (a, b) = (run("1764547200"), run("1764633600"));
    assert!(!a.0.is_empty());
    assert_eq!(a.0, b.0, "another process, another date: the same UIDs");
    assert!(a.1 == b.1, "the same pixels");
    assert_eq!(a.2, b.2, "the same faithfulness numbers");
    assert_eq!(a.3, b.3, "the same seeded random baseline");
}

#[test]
fn no_nodule_means_nothing_written_and_nothing_sent() {
    let out = tempfile::tempdir().unwrap();
    let v = radlab_tests::run_json(
        env!("CARGO_BIN_EXE_lab-gradcam"),
        &["--min-volume-mm3", "1e12"],
        out.path(),
    );
    assert_eq!(v["nodules"].as_array().unwrap().len(), 0, "{v}");
    assert!(v["pictures"].as_array().unwrap().is_empty());
    assert!(v["pacs"].is_null(), "no association for nothing: {v}");
}

#[test]
fn bad_input_exits_2_and_names_it() {
    for args in [
        vec!["--input", "/no/such/series", "--no-pacs"],
        vec!["--threshold", "1.5", "--no-pacs"],
        vec!["--alpha", "1.5", "--no-pacs"],
        vec!["--steps", "0", "--no-pacs"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_lab-gradcam"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(args[1]), "{args:?}: {err}");
    }
}
