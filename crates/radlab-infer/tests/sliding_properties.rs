//! Properties of sliding-window blending that hold for any model: a model
//! that works voxel by voxel gives the same answer with or without windows,
//! whatever the window size, overlap, blending, batch or padding.

use ndarray::{Array3, Array5, Axis};
use proptest::prelude::*;
use radlab_infer::sliding::window_starts;
use radlab_infer::{Blend, SlidingWindow};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pointwise_models_are_unchanged_by_windowing(
        dims in (1usize..12, 1usize..14, 1usize..13),
        roi in (1usize..9, 1usize..16, 1usize..9),
        overlap in 0.0f64..0.9,
        gaussian in any::<bool>(),
        batch in 1usize..5,
        seed in 0u64..1000,
    ) {
        let volume = Array3::from_shape_fn(dims, |(z, y, x)| {
            ((z * 31 + y * 17 + x * 7) as u64 ^ seed) as f32 % 97.0 - 40.0
        });
        let sw = SlidingWindow {
            roi: [roi.0, roi.1, roi.2],
            overlap,
            blend: if gaussian { Blend::Gaussian { sigma_scale: 0.125 } } else { Blend::Constant },
            batch,
            pad_value: -7.0,
        };
        // Two output channels: 2x + 1 and -x.
        let out = sw
            .run(
                volume.view(),
                &mut |w| {
                    let (b, _, z, y, x) = w.dim();
                    let mut o = Array5::zeros((b, 2, z, y, x));
                    o.index_axis_mut(Axis(1), 0).assign(&w.index_axis(Axis(1), 0).mapv(|v| 2.0 * v + 1.0));
                    o.index_axis_mut(Axis(1), 1).assign(&w.index_axis(Axis(1), 0).mapv(|v| -v));
                    Ok(o)
                },
                &mut |_, _| {},
            )
            .unwrap();
        prop_assert_eq!(out.shape(), &[2, dims.0, dims.1, dims.2]);
        for ((z, y, x), &v) in volume.indexed_iter() {
            let a = out[[0, z, y, x]];
            let b = out[[1, z, y, x]];
            prop_assert!((a - (2.0 * v + 1.0)).abs() <= 1e-3 * (1.0 + v.abs()), "{} vs {}", a, 2.0 * v + 1.0);
            prop_assert!((b + v).abs() <= 1e-3 * (1.0 + v.abs()));
        }
    }

    #[test]
    fn windows_tile_the_volume_in_order(
        dims in (1usize..40, 1usize..40, 1usize..40),
        roi in (1usize..20, 1usize..20, 1usize..20),
        overlap in 0.0f64..0.95,
    ) {
        let image = [dims.0, dims.1, dims.2];
        let roi = [roi.0.min(dims.0), roi.1.min(dims.1), roi.2.min(dims.2)];
        let starts = window_starts(image, roi, overlap);
        // z-major order, strictly increasing.
        for pair in starts.windows(2) {
            prop_assert!(pair[0] < pair[1]);
        }
        for i in 0..3 {
            prop_assert!(starts.iter().any(|s| s[i] == 0));
            prop_assert!(starts.iter().any(|s| s[i] + roi[i] == image[i]));
        }
    }
}
