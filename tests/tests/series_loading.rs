//! Series loading checked against independently computed order and HU.
//!
//! Each case writes files with dicom-object directly: positions along a known
//! normal, shuffled file names, misleading InstanceNumbers, non-axial and
//! oblique orientations, descending positions, slope != 1, unsigned and
//! signed storage. The expected volume is worked out here from the generating
//! index, not by the loader's logic.

#![allow(clippy::needless_range_loop)] // geometry code reads best with axis indices

use proptest::prelude::*;
use radlab_tests::{SliceSpec, Storage, write_series};

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// Orthonormal row/column directions from three angles (covers axial,
/// coronal, sagittal and everything oblique in between).
fn orientation(kind: u8, a: f64, b: f64, c: f64) -> ([f64; 3], [f64; 3]) {
    match kind {
        0 => ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]),  // axial
        1 => ([1.0, 0.0, 0.0], [0.0, 0.0, -1.0]), // coronal
        2 => ([0.0, 1.0, 0.0], [0.0, 0.0, -1.0]), // sagittal
        _ => {
            // Rotation matrix from Z-Y-X Euler angles; rows as directions.
            let (sa, ca) = a.sin_cos();
            let (sb, cb) = b.sin_cos();
            let (sc, cc) = c.sin_cos();
            let r = [cb * cc, cb * sc, -sb];
            let col = [sa * sb * cc - ca * sc, sa * sb * sc + ca * cc, sa * cb];
            (r, col)
        }
    }
}

#[derive(Debug, Clone)]
struct Case {
    kind: u8,
    angles: (f64, f64, f64),
    n: usize,
    rows: u16,
    cols: u16,
    dz: f64,
    descending: bool,
    slope: f64,
    intercept: f64,
    signed: bool,
    bits_stored: u16,
    perm_seed: u64,
    origin: [f64; 3],
}

fn case() -> impl Strategy<Value = Case> {
    (
        0u8..4,
        (-3.0f64..3.0, -1.4f64..1.4, -3.0f64..3.0),
        2usize..7,
        (1u16..6, 1u16..6),
        prop_oneof![Just(0.625), Just(1.0), Just(2.5), 0.3f64..7.0],
        any::<bool>(),
        (
            prop_oneof![Just(1.0), Just(0.5), Just(2.5), Just(0.001)],
            -2048.0f64..100.0,
        ),
        (any::<bool>(), prop_oneof![Just(12u16), Just(16u16)]),
        any::<u64>(),
        (-300.0f64..300.0, -300.0f64..300.0, -300.0f64..300.0),
    )
        .prop_map(
            |(
                kind,
                angles,
                n,
                (rows, cols),
                dz,
                descending,
                (slope, intercept),
                (signed, bits_stored),
                perm_seed,
                o,
            )| Case {
                kind,
                angles,
                n,
                rows,
                cols,
                dz,
                descending,
                slope,
                intercept: intercept.round(),
                signed,
                bits_stored,
                perm_seed,
                origin: [o.0, o.1, o.2],
            },
        )
}

/// A permutation from a seed (Fisher-Yates with a tiny LCG).
fn permutation(n: usize, mut seed: u64) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        p.swap(i, j);
    }
    p
}

fn stored_value(k: usize, i: usize, signed: bool, bits: u16) -> i32 {
    let range = 1i32 << bits;
    let v = ((k * 7919 + i * 104729) % range as usize) as i32;
    if signed { v - range / 2 } else { v }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn loads_any_geometry_in_true_order(c in case()) {
        let (row, col) = orientation(c.kind, c.angles.0, c.angles.1, c.angles.2);
        let normal = cross(row, col);
        let st = Storage { rows: c.rows, cols: c.cols, bits_stored: c.bits_stored, signed: c.signed, pixel_spacing: [0.7, 0.9] };
        // Slice k sits at origin + t_k * normal, t_k = +/- k * dz.
        let t: Vec<f64> = (0..c.n).map(|k| if c.descending { -(k as f64) * c.dz } else { k as f64 * c.dz }).collect();
        let plane = usize::from(c.rows) * usize::from(c.cols);
        let slices: Vec<SliceSpec> = (0..c.n).map(|k| SliceSpec {
            position: [c.origin[0] + t[k] * normal[0], c.origin[1] + t[k] * normal[1], c.origin[2] + t[k] * normal[2]],
            orientation: [row[0], row[1], row[2], col[0], col[1], col[2]],
            // InstanceNumbers deliberately scrambled relative to position.
            instance_number: ((k * 3 + 1) % (c.n + 5)) as i32,
            stored: (0..plane).map(|i| stored_value(k, i, c.signed, c.bits_stored)).collect(),
            slope: c.slope,
            intercept: c.intercept,
        }).collect();
        // File names in a shuffled order unrelated to position.
        let perm = permutation(c.n, c.perm_seed);
        let names: Vec<String> = (0..c.n).map(|k| format!("f{:03}.dcm", perm[k])).collect();
        let dir = tempfile::tempdir().unwrap();
        write_series(dir.path(), "2.25.42", &slices, &st, &names);

        let vol = radlab_dicom::load_path(dir.path(), None).unwrap();

        // Expected order: ascending t (the loader's normal is row x col).
        let mut expected: Vec<usize> = (0..c.n).collect();
        expected.sort_by(|&a, &b| t[a].total_cmp(&t[b]));
        prop_assert_eq!(vol.shape(), [c.n, usize::from(c.rows), usize::from(c.cols)]);
        for (z, &k) in expected.iter().enumerate() {
            for i in 0..plane {
                let want = (f64::from(stored_value(k, i, c.signed, c.bits_stored)) * c.slope + c.intercept) as f32;
                let got = vol.voxels[[z, i / usize::from(c.cols), i % usize::from(c.cols)]];
                prop_assert_eq!(got, want, "z {} (slice {}), pixel {}", z, k, i);
            }
        }
        // Spacing from positions (SliceThickness says 99 and must be ignored).
        prop_assert!((vol.spacing.z - c.dz).abs() < 1e-3, "spacing {:?} vs {}", vol.spacing, c.dz);
        prop_assert!((vol.spacing.y - 0.7).abs() < 1e-9 && (vol.spacing.x - 0.9).abs() < 1e-9);
        // Origin is the slice lowest along the normal.
        let k0 = expected[0];
        for a in 0..3 {
            let want = c.origin[a] + t[k0] * normal[a];
            prop_assert!((vol.origin[a] - want).abs() < 1e-3);
        }
        prop_assert!(vol.warnings.is_empty(), "{:?}", vol.warnings);
        // position() of the last voxel agrees with the last slice's position.
        let last = vol.position((c.n - 1) as f64, 0.0, 0.0);
        let kl = expected[c.n - 1];
        for a in 0..3 {
            prop_assert!((last[a] - (c.origin[a] + t[kl] * normal[a])).abs() < 1e-3);
        }
    }
}

#[test]
fn missing_slice_is_reported_and_loads() {
    let st = Storage {
        rows: 2,
        cols: 2,
        bits_stored: 16,
        signed: true,
        pixel_spacing: [1.0, 1.0],
    };
    let zs = [0.0, 2.0, 4.0, 8.0, 10.0];
    let slices: Vec<SliceSpec> = zs
        .iter()
        .enumerate()
        .map(|(k, &z)| SliceSpec {
            position: [0.0, 0.0, z],
            orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            instance_number: k as i32 + 1,
            stored: vec![k as i32; 4],
            slope: 1.0,
            intercept: 0.0,
        })
        .collect();
    let names: Vec<String> = (0..zs.len()).map(|k| format!("{k}.dcm")).collect();
    let dir = tempfile::tempdir().unwrap();
    write_series(dir.path(), "2.25.9", &slices, &st, &names);
    let vol = radlab_dicom::load_path(dir.path(), None).unwrap();
    assert_eq!(vol.spacing.z, 2.0);
    assert_eq!(
        vol.warnings,
        vec![radlab_dicom::GeometryWarning::MissingSlices {
            after: 2,
            count: 1,
            gap_mm: 4.0,
            spacing_mm: 2.0
        }]
    );
}
