//! Bad inputs to the writers are refused with a message, never a panic.

use radlab_results::{Algorithm, Created, Finding, SourceSeries, sc, seg};

fn volume(dir: &std::path::Path) -> radlab_dicom::Volume {
    let spec = radlab_synth::CaseSpec {
        shape: [6, 32, 32],
        spacing: radlab_dicom::Spacing::new(20.0, 10.8, 10.8),
        nodules: 1,
        ..radlab_synth::CaseSpec::sample(5)
    };
    let case = radlab_synth::generate_case(&spec);
    radlab_synth::write_case(&case, dir).unwrap();
    radlab_dicom::load_path(dir, None).unwrap()
}

#[test]
fn findings_outside_the_grid_or_out_of_range_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let vol = volume(dir.path());
    let e = Finding::new(1, vec![[6, 0, 0]], 0.5, &vol)
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside the volume"), "{e}");
    let e = Finding::new(1, vec![], 0.5, &vol).unwrap_err().to_string();
    assert!(e.contains("no voxels"), "{e}");
    for p in [-0.1, 1.5, f64::NAN] {
        let e = Finding::new(1, vec![[0, 0, 0]], p, &vol)
            .unwrap_err()
            .to_string();
        assert!(e.contains("probability"), "{e}");
    }
    let labels = ndarray::Array3::<u32>::zeros((5, 32, 32));
    let e = Finding::from_labels(labels.view(), &vol, |_| 0.5)
        .unwrap_err()
        .to_string();
    assert!(e.contains("differ in shape"), "{e}");
}

#[test]
fn seg_needs_numbered_findings_and_sc_a_whole_picture() {
    let dir = tempfile::tempdir().unwrap();
    let vol = volume(dir.path());
    let source = SourceSeries::from_volume(&vol).unwrap();
    let alg = Algorithm::from_weights("m", "00");
    let c = Created::from_unix(0);
    let e = seg::segmentation(&[], &source, &alg, seg::Frames::All, &c)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no findings"), "{e}");
    let f = Finding::new(2, vec![[1, 2, 3]], 0.5, &vol).unwrap();
    let e = seg::segmentation(&[f], &source, &alg, seg::Frames::All, &c)
        .unwrap_err()
        .to_string();
    assert!(e.contains("numbered 1, 2"), "{e}");
    let bad = sc::Rgb {
        rows: 32,
        cols: 32,
        data: vec![0; 10],
    };
    let e = sc::secondary_capture(bad, 0, "k", "d", &source, &alg, &c)
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs 3072 bytes"), "{e}");
    let ok = sc::Rgb::from_gray(32, 32, &[0; 1024]);
    let e = sc::secondary_capture(ok, 6, "k", "d", &source, &alg, &c)
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside the source series"), "{e}");
}

#[test]
fn frame_lists_and_bit_packing() {
    let dir = tempfile::tempdir().unwrap();
    let vol = volume(dir.path());
    let f1 = Finding::new(1, vec![[1, 0, 0], [1, 0, 1], [3, 31, 31]], 0.5, &vol).unwrap();
    let f2 = Finding::new(2, vec![[2, 5, 5]], 0.5, &vol).unwrap();
    let fs = [f1, f2];
    let sparse = seg::frame_list(&fs, 6, seg::Frames::NonEmpty);
    let zs: Vec<(u16, usize)> = sparse.iter().map(|f| (f.segment, f.z)).collect();
    assert_eq!(zs, [(1, 1), (1, 3), (2, 2)]);
    assert_eq!(seg::frame_list(&fs, 6, seg::Frames::All).len(), 12);
    let bits = seg::pack_frames(&fs, &sparse, 32, 32);
    assert_eq!(bits.len(), 3 * 32 * 32 / 8);
    // First pixel in the least significant bit (PS3.5 8.1.1).
    assert_eq!(bits[0], 0b0000_0011);
    let last = seg::unpack_frame(&bits, 1, 32, 32);
    assert!(last[32 * 32 - 1] && last.iter().filter(|&&b| b).count() == 1);
    let third = seg::unpack_frame(&bits, 2, 32, 32);
    assert!(third[5 * 32 + 5]);
}
