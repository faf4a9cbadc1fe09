//! Synthetic phantom -> DICOM files -> radlab's loader gives back exactly the
//! generator's HU volume and geometry.

#![allow(clippy::needless_range_loop)] // geometry code reads best with axis indices

#[test]
fn synth_roundtrip_is_exact() {
    let spec = radlab_synth::CaseSpec {
        shape: [12, 40, 52],
        spacing: radlab_dicom::Spacing::new(2.5, 6.5, 6.5),
        nodules: 2,
        ..radlab_synth::CaseSpec::sample(11)
    };
    let case = radlab_synth::generate_case(&spec);
    let dir = tempfile::tempdir().unwrap();
    radlab_synth::write_case(&case, dir.path()).unwrap();
    let vol = radlab_dicom::load_path(&dir.path().join("ct"), None).unwrap();
    assert_eq!(vol.shape(), [12, 40, 52]);
    for (got, want) in vol.voxels.iter().zip(case.phantom.hu.iter()) {
        assert_eq!(*got, f32::from(*want));
    }
    assert_eq!(vol.spacing, radlab_dicom::Spacing::new(2.5, 6.5, 6.5));
    for a in 0..3 {
        assert!((vol.origin[a] - case.phantom.origin[a]).abs() < 1e-9);
    }
    assert_eq!(vol.slice_dir, [0.0, 0.0, 1.0]);
    assert!(vol.warnings.is_empty());
    assert_eq!(vol.header_window, Some((-600.0, 1500.0)));
    // Nodule centres map back to their voxel indices through the volume's geometry.
    for n in &case.phantom.nodules {
        let idx = vol.index_of(n.center_mm);
        for a in 0..3 {
            assert!((idx[a] - n.center_voxel[a]).abs() < 1e-9);
        }
    }
}

#[test]
fn synth_is_deterministic_and_seed_sensitive() {
    let spec = radlab_synth::CaseSpec {
        shape: [6, 32, 32],
        spacing: radlab_dicom::Spacing::new(3.0, 9.0, 9.0),
        ..radlab_synth::CaseSpec::sample(5)
    };
    let a = radlab_synth::generate_case(&spec);
    let b = radlab_synth::generate_case(&spec);
    assert_eq!(a.phantom.hu, b.phantom.hu);
    assert_eq!(a.identity, b.identity);
    let c = radlab_synth::generate_case(&radlab_synth::CaseSpec { seed: 6, ..spec });
    assert_ne!(a.phantom.hu, c.phantom.hu);
}

#[test]
fn phantom_tissues_are_in_their_hu_ranges() {
    let spec = radlab_synth::CaseSpec::sample(1);
    let case = radlab_synth::generate_case(&spec);
    let hu = &case.phantom.hu;
    let frac = |lo: i16, hi: i16| {
        hu.iter().filter(|&&v| v >= lo && v <= hi).count() as f64 / hu.len() as f64
    };
    assert!(frac(-1024, -950) > 0.2, "air outside the body");
    assert!(frac(-900, -780) > 0.05, "aerated lung around -850");
    assert!(frac(-150, -50) > 0.01, "fat");
    assert!(frac(300, 1500) > 0.002, "bone 300-1500");
    // Each nodule's label mask is non-empty and its kind shows in the HU inside it.
    for n in &case.phantom.nodules {
        let inside: Vec<i16> = hu
            .iter()
            .zip(case.phantom.labels.iter())
            .filter(|(_, l)| **l == n.label)
            .map(|(h, _)| *h)
            .collect();
        assert!(!inside.is_empty(), "nodule {} has voxels", n.label);
        let mean = inside.iter().map(|&v| f64::from(v)).sum::<f64>() / inside.len() as f64;
        assert!(
            mean > -750.0,
            "nodule {} ({:?}) is denser than lung: mean {mean}",
            n.label,
            n.kind
        );
        assert!((3.0..=30.0).contains(&n.diameter_mm));
    }
}
