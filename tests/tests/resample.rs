//! Resampling properties: constants stay constant, linear ramps are
//! reproduced, extent is kept, label masks get no new labels.

#![allow(clippy::needless_range_loop)] // geometry code reads best with axis indices

use ndarray::Array3;
use proptest::prelude::*;
use radlab_imaging::resample::{resample_linear, resample_nearest, resampled_shape};

fn dims() -> impl Strategy<Value = ([usize; 3], [f64; 3], [f64; 3])> {
    (
        (1usize..9, 1usize..9, 1usize..9),
        (0.3f64..4.0, 0.3f64..4.0, 0.3f64..4.0),
        (0.3f64..4.0, 0.3f64..4.0, 0.3f64..4.0),
    )
        .prop_map(|(s, a, b)| ([s.0, s.1, s.2], [a.0, a.1, a.2], [b.0, b.1, b.2]))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn extent_is_preserved((shape, sp, target) in dims()) {
        let out = resampled_shape(shape, radlab_dicom::Spacing::from_zyx(sp), radlab_dicom::Spacing::from_zyx(target)).unwrap();
        for a in 0..3 {
            let before = shape[a] as f64 * sp[a];
            let after = out[a] as f64 * target[a];
            prop_assert!((before - after).abs() <= target[a] / 2.0 + 1e-9 || out[a] == 1);
        }
    }

    #[test]
    fn constant_stays_constant((shape, sp, target) in dims(), c in -1000.0f32..1000.0) {
        let v = Array3::from_elem(shape, c);
        let r = resample_linear(v.view(), radlab_dicom::Spacing::from_zyx(sp), radlab_dicom::Spacing::from_zyx(target)).unwrap();
        prop_assert!(r.iter().all(|&x| (x - c).abs() <= 1e-3 * c.abs().max(1.0)));
    }

    #[test]
    fn linear_ramp_is_reproduced_inside((shape, sp, target) in dims(), g in (-5.0f64..5.0, -5.0f64..5.0, -5.0f64..5.0)) {
        // f(p) = g . p in mm is linear, so trilinear interpolation is exact
        // wherever the sample lies inside the input grid.
        let f = |z: f64, y: f64, x: f64| g.0 * z + g.1 * y + g.2 * x;
        let v = Array3::from_shape_fn(shape, |(z, y, x)| f(z as f64 * sp[0], y as f64 * sp[1], x as f64 * sp[2]) as f32);
        let r = resample_linear(v.view(), radlab_dicom::Spacing::from_zyx(sp), radlab_dicom::Spacing::from_zyx(target)).unwrap();
        for ((z, y, x), &got) in r.indexed_iter() {
            let p = [z as f64 * target[0], y as f64 * target[1], x as f64 * target[2]];
            let inside = (0..3).all(|a| p[a] <= (shape[a] - 1) as f64 * sp[a] + 1e-9);
            if inside {
                let want = f(p[0], p[1], p[2]);
                prop_assert!((f64::from(got) - want).abs() < 1e-3 * want.abs().max(1.0), "{:?}: {} vs {}", (z, y, x), got, want);
            }
        }
    }

    #[test]
    fn nearest_invents_no_label((shape, sp, target) in dims(), seed in any::<u64>()) {
        let v = Array3::from_shape_fn(shape, |(z, y, x)| [0u8, 3, 7][((z * 31 + y * 17 + x * 7) as u64 ^ seed) as usize % 3]);
        let r = resample_nearest(v.view(), radlab_dicom::Spacing::from_zyx(sp), radlab_dicom::Spacing::from_zyx(target)).unwrap();
        prop_assert!(r.iter().all(|l| [0u8, 3, 7].contains(l)));
        // Downsampling-then-identity: with the same spacing, output equals input.
        let same = resample_nearest(v.view(), radlab_dicom::Spacing::from_zyx(sp), radlab_dicom::Spacing::from_zyx(sp)).unwrap();
        prop_assert_eq!(same, v.clone());
    }
}

#[test]
fn trilinear_on_a_mask_would_invent_labels() {
    // Why masks use nearest: averaging labels 0 and 2 makes a 1 that was never drawn.
    let mut v = Array3::<f32>::zeros((1, 1, 2));
    v[[0, 0, 1]] = 2.0;
    let r = resample_linear(
        v.view(),
        radlab_dicom::Spacing::new(1.0, 1.0, 2.0),
        radlab_dicom::Spacing::new(1.0, 1.0, 1.0),
    )
    .unwrap();
    assert_eq!(r.as_slice().unwrap(), &[0.0, 1.0, 2.0, 2.0]);
}
