//! Real third-party DICOM (the pydicom and pydicom-data wheels, unpacked by
//! `cargo xtask test`) against reference values computed with pydicom by
//! tools/make_pydicom_fixture.py (fixture: sample_data/fixtures/pydicom_files.json).

use std::path::Path;

use radlab_dicom::DicomError;

fn fixture() -> serde_json::Value {
    let p = radlab_tests::workspace_root().join("sample_data/fixtures/pydicom_files.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

/// Files whose pixel data radlab deliberately refuses, with the words of the refusal.
fn refused(name: &str) -> Option<&'static str> {
    match name {
        // A non-linear Modality LUT Sequence: radlab applies only linear rescales.
        "mlut_18.dcm" => Some("Modality LUT Sequence"),
        // 12-bit extended JPEG: the pure-Rust JPEG decoder stops at 8-bit precision.
        "JPGExtended.dcm" => Some("SamplePrecision(12)"),
        _ => None,
    }
}

#[test]
fn every_file_loads_or_is_refused_with_a_reason() {
    let tp = radlab_tests::third_party_dir();
    let fx = fixture();
    assert_eq!(fx["pydicom"], "3.0.2");
    let mut loaded = 0;
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for e in fx["files"].as_array().unwrap() {
        let rel = e["path"].as_str().unwrap();
        let path = tp.join(rel);
        let name = Path::new(rel)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let category = e["category"].as_str().unwrap();
        if name == "emri_small_jpeg_2k_lossless_too_short.dcm" {
            continue; // pydicom drops its pixel data; compared with its intact twin below
        }
        let result =
            std::panic::catch_unwind(|| radlab_dicom::load_series(std::slice::from_ref(&path)));
        let Ok(result) = result else {
            failures.push(format!("{name}: panicked"));
            continue;
        };
        match (category, result) {
            ("image", Ok(vol)) if refused(&name).is_none() => {
                loaded += 1;
                let frames = e["frames"].as_u64().unwrap() as usize;
                let shape = [
                    frames,
                    e["rows"].as_u64().unwrap() as usize,
                    e["columns"].as_u64().unwrap() as usize,
                ];
                if vol.shape() != shape {
                    failures.push(format!("{name}: shape {:?} vs {:?}", vol.shape(), shape));
                    continue;
                }
                if let Some(m) = e["modality"].as_str() {
                    assert_eq!(vol.modality, m, "{name}");
                }
                if let Some(s) = e["series_uid"].as_str() {
                    assert_eq!(vol.series_uid, s, "{name}");
                }
                let st = vol.stats();
                // Lossless data must agree to float precision; lossy codecs may
                // differ between decoder builds by a grey level here and there.
                let tol = if e["lossy"].as_bool().unwrap_or(false) {
                    2e-3
                } else {
                    1e-6
                };
                let (min, max, mean) = (
                    e["min"].as_f64().unwrap(),
                    e["max"].as_f64().unwrap(),
                    e["mean"].as_f64().unwrap(),
                );
                if !(close(st.min, min, tol)
                    && close(st.max, max, tol)
                    && close(st.mean, mean, tol))
                {
                    failures.push(format!(
                        "{name}: min/max/mean {:.4}/{:.4}/{:.6} vs pydicom {min:.4}/{max:.4}/{mean:.6}",
                        st.min, st.max, st.mean
                    ));
                    continue;
                }
                // Per-frame means, matched through the volume's slice -> frame map.
                let fm = e["frame_means"].as_array().unwrap();
                for (z, (_, frame)) in vol.slices.iter().enumerate() {
                    let want = fm[*frame].as_f64().unwrap();
                    let got = radlab_dicom::volume::stats_of(
                        vol.voxels
                            .index_axis(ndarray::Axis(0), z)
                            .as_slice()
                            .unwrap(),
                    )
                    .mean;
                    if !close(got, want, tol) {
                        failures.push(format!(
                            "{name}: z {z} (frame {frame}) mean {got} vs {want}"
                        ));
                    }
                }
                report.push(format!(
                    "{name}: ok {:?} {}",
                    vol.shape(),
                    vol.transfer_syntaxes.join(",")
                ));
            }
            ("image", Err(err)) if refused(&name).is_some_and(|w| err.to_string().contains(w)) => {
                report.push(format!("{name}: refused as expected: {err}"));
            }
            ("jpeg-ls", Err(DicomError::UnsupportedTransferSyntax { name: ts, .. }))
                if ts.contains("JPEG-LS") =>
            {
                report.push(format!("{name}: refused (JPEG-LS)"));
            }
            ("bit-depth", Err(DicomError::UnsupportedImage { .. })) => {
                report.push(format!("{name}: refused ({category})"));
            }
            ("colour", Err(err)) => {
                // Mostly "unsupported image"; a few files dicom-rs cannot parse at all.
                assert!(
                    err.to_string().contains(&name),
                    "{name}: error does not name the file: {err}"
                );
                report.push(format!("{name}: refused (colour): {err}"));
            }
            ("no-pixels", Err(err)) | ("unreadable", Err(err)) => {
                assert!(
                    err.to_string().contains(&name),
                    "{name}: error does not name the file: {err}"
                );
                report.push(format!("{name}: refused ({category}): {err}"));
            }
            ("peer-cannot-decode" | "peer-error", r) => {
                // pydicom could not decode these; radlab must not panic, whatever it decides.
                report.push(format!(
                    "{name}: {category}; radlab: {}",
                    match r {
                        Ok(v) => format!("loaded {:?}", v.shape()),
                        Err(e) => e.to_string(),
                    }
                ));
            }
            (c, Ok(v)) => failures.push(format!("{name}: {c} but radlab loaded {:?}", v.shape())),
            (c, Err(err)) => failures.push(format!("{name}: {c}: {err}")),
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(loaded >= 40, "only {loaded} images loaded");
}

#[test]
fn emri_small_series_in_every_pure_rust_transfer_syntax_is_identical() {
    let tp = radlab_tests::third_party_dir();
    let dir = tp.join("pydicom-data/data_store/data");
    let base = radlab_dicom::load_series(&[dir.join("emri_small.dcm")]).unwrap();
    for variant in [
        "emri_small_RLE.dcm",
        "emri_small_big_endian.dcm",
        "emri_small_jpeg_2k_lossless.dcm",
    ] {
        let v = radlab_dicom::load_series(&[dir.join(variant)]).unwrap();
        assert_eq!(v.voxels, base.voxels, "{variant}");
    }
    // The copy whose last fragment lacks its sequence delimiter still decodes to the same frames.
    let short = radlab_dicom::load_series(&[dir.join("emri_small_jpeg_2k_lossless_too_short.dcm")])
        .unwrap();
    assert_eq!(short.voxels, base.voxels);
    // No positions in this anonymised file: frames keep file order, spacing from SpacingBetweenSlices.
    assert_eq!(base.spacing.z, 1.2);
    assert!(!base.warnings.is_empty());
}

/// Files with quirks (no preamble, no meta group, no group length, zero
/// padding after Pixel Data) against what pydicom 3.0.2 reads from them
/// (tools/make_quirks_fixture.py, fixture sample_data/fixtures/pydicom_quirks.json).
#[test]
fn quirky_files_read_as_pydicom_reads_them() {
    let tp = radlab_tests::third_party_dir();
    let p = radlab_tests::workspace_root().join("sample_data/fixtures/pydicom_quirks.json");
    let fx: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    assert_eq!(fx["pydicom"], "3.0.2");
    let tmp = tempfile::tempdir().unwrap();
    let files = fx["files"].as_array().unwrap();
    assert!(files.len() >= 4);
    for e in files {
        let rel = e["path"].as_str().unwrap();
        let mut path = tp.join(rel);
        if let Some(pad) = e["padding"].as_u64() {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.extend(vec![0u8; pad as usize]);
            path = tmp.path().join("padded.dcm");
            std::fs::write(&path, bytes).unwrap();
        }
        let opened = radlab_dicom::file::open_with_layout(&path)
            .unwrap_or_else(|err| panic!("{rel}: {err}"));
        assert!(!opened.layout.quirks.is_empty(), "{rel}: no quirk reported");
        let obj = &opened.obj;
        let text = |tag| radlab_dicom::attrs::string(obj, tag);
        use dicom_dictionary_std::tags;
        for (key, tag) in [
            ("sop_class_uid", tags::SOP_CLASS_UID),
            ("sop_instance_uid", tags::SOP_INSTANCE_UID),
            ("patient_name", tags::PATIENT_NAME),
            ("modality", tags::MODALITY),
            ("study_instance_uid", tags::STUDY_INSTANCE_UID),
        ] {
            assert_eq!(text(tag).as_deref(), e[key].as_str(), "{rel}: {key}");
        }
        let top = obj
            .iter()
            .filter(|el| el.header().tag.group() != 0x0002)
            .count();
        assert_eq!(
            top as u64,
            e["top_level_elements"].as_u64().unwrap(),
            "{rel}: elements"
        );
        if let Some(little) = e["little_endian"].as_bool() {
            let big = opened.layout.transfer_syntax == "1.2.840.10008.1.2.2";
            assert_eq!(!big, little, "{rel}: byte order");
            let implicit = opened.layout.transfer_syntax == "1.2.840.10008.1.2";
            assert_eq!(implicit, e["implicit_vr"].as_bool().unwrap(), "{rel}: VR");
        }
        if let Some(mean) = e["mean"].as_f64() {
            let v = radlab_dicom::load_series(std::slice::from_ref(&path)).unwrap();
            let st = v.stats();
            assert_eq!(
                v.shape()[1..],
                [
                    e["rows"].as_u64().unwrap() as usize,
                    e["columns"].as_u64().unwrap() as usize
                ]
            );
            assert!(
                close(st.mean, mean, 1e-6)
                    && close(st.min, e["min"].as_f64().unwrap(), 1e-6)
                    && close(st.max, e["max"].as_f64().unwrap(), 1e-6),
                "{rel}: {st:?}"
            );
            assert!(
                v.warnings.iter().any(|w| w
                    .to_string()
                    .contains("after the last complete data element")),
                "{rel}: {:?}",
                v.warnings
            );
        }
    }
}
