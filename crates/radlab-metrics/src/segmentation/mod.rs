//! Segmentation metrics on binary masks indexed `[z, y, x]`, with spacing
//! `(z, y, x)` in mm: overlap (Dice, IoU, sensitivity, precision) with the
//! empty-mask convention made explicit, and surface distances (Hausdorff,
//! its 95th percentile, average symmetric surface distance, surface Dice)
//! in mm, exact: nearest surface points from a tree of boxes, with an
//! exact Euclidean distance transform ([`distance_to`]) for whole volumes.

use crate::MetricError;
use crate::Spacing;

mod components;
mod consensus;
mod distance;
mod overlap;
mod surface;

/// Shared statistics, re-exported where the segmentation metrics first had them.
pub use crate::stats::{nan_mean, percentile, percentile_sorted};
pub use components::*;
pub use consensus::*;
pub use distance::distance_to;
pub use overlap::*;
pub use surface::*;

fn same_shape(a: &[usize], b: &[usize]) -> Result<(), MetricError> {
    if a != b {
        return Err(MetricError::Undefined(format!(
            "masks differ in shape: {a:?} vs {b:?}"
        )));
    }
    Ok(())
}

fn check_spacing(spacing: Spacing) -> Result<(), MetricError> {
    if !spacing.is_positive() {
        return Err(MetricError::Undefined(format!(
            "spacing must be positive and finite, got {spacing:?} (z, y, x mm)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, ArrayView3, Zip};
    use proptest::prelude::*;

    fn brute_distance(mask: &Array3<bool>, spacing: Spacing) -> Array3<f64> {
        let pts: Vec<[usize; 3]> = mask
            .indexed_iter()
            .filter(|(_, m)| **m)
            .map(|((z, y, x), _)| [z, y, x])
            .collect();
        Array3::from_shape_fn(mask.dim(), |(z, y, x)| {
            pts.iter()
                .map(|p| {
                    let d = [
                        (p[0] as f64 - z as f64) * spacing.z,
                        (p[1] as f64 - y as f64) * spacing.y,
                        (p[2] as f64 - x as f64) * spacing.x,
                    ];
                    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
                })
                .fold(f64::INFINITY, f64::min)
        })
    }

    fn mask_strategy() -> impl Strategy<Value = Array3<bool>> {
        (1usize..7, 1usize..7, 1usize..7).prop_flat_map(|(z, y, x)| {
            proptest::collection::vec(proptest::bool::weighted(0.15), z * y * x)
                .prop_map(move |v| Array3::from_shape_vec((z, y, x), v).unwrap())
        })
    }

    /// The voxels of [`surface`] listed in z, y, x order.
    fn surface_list(m: ArrayView3<'_, bool>) -> Vec<[u32; 3]> {
        surface(m)
            .indexed_iter()
            .filter(|(_, v)| **v)
            .map(|((z, y, x), _)| [z as u32, y as u32, x as u32])
            .collect()
    }

    /// Long rows (several of the chunks `surface_points` skips by), dense.
    fn long_row_strategy() -> impl Strategy<Value = Array3<bool>> {
        (1usize..5, 1usize..5, 1usize..140).prop_flat_map(|(z, y, x)| {
            proptest::collection::vec(proptest::bool::weighted(0.8), z * y * x)
                .prop_map(move |v| Array3::from_shape_vec((z, y, x), v).unwrap())
        })
    }

    proptest! {
        #[test]
        fn percentile_matches_the_sorted_definition(
            v in proptest::collection::vec(-50.0f64..50.0, 1..60), q in 0.0f64..=100.0) {
            let mut s = v.clone();
            s.sort_by(f64::total_cmp);
            let pos = q / 100.0 * (s.len() - 1) as f64;
            let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
            let want = s[lo] + (s[hi] - s[lo]) * (pos - lo as f64);
            prop_assert_eq!(percentile(&v, q), want);
            prop_assert_eq!(percentile_sorted(&s, q), want);
        }

        #[test]
        fn surface_points_of_long_rows(m in long_row_strategy()) {
            prop_assert_eq!(surface_points(m.view()), surface_list(m.view()));
        }

        #[test]
        fn surface_points_are_the_surface(m in mask_strategy()) {
            prop_assert_eq!(surface_points(m.view()), surface_list(m.view()));
            // A view whose rows are not contiguous is copied first.
            let t = m.view().reversed_axes();
            prop_assert_eq!(surface_points(t), surface_list(t));
        }

        #[test]
        fn surface_distances_are_the_nearest_surface_point(a in mask_strategy(), seed in 0u64..1000,
                                                           sz in 0.3f64..4.0, sy in 0.3f64..4.0, sx in 0.3f64..4.0) {
            // A second mask of the same shape, from the seed.
            let mut b = a.clone();
            for (i, v) in b.iter_mut().enumerate() {
                if (seed.wrapping_mul(6364136223846793005).wrapping_add((i as u64).wrapping_mul(1442695040888963407)) >> 61) == 0 {
                    *v = !*v;
                }
            }
            let s = [sz, sy, sx];
            let got = directed_surface_distances(a.view(), b.view(), crate::Spacing::from_zyx(s)).unwrap();
            let (sa, sb) = (surface(a.view()), surface(b.view()));
            let want: Vec<f64> = if sb.iter().any(|&v| v) {
                let d = brute_distance(&sb, crate::Spacing::from_zyx(s));
                sa.iter().zip(d.iter()).filter(|(m, _)| **m).map(|(_, &d)| d).collect()
            } else {
                vec![f64::INFINITY; sa.iter().filter(|&&v| v).count()]
            };
            prop_assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g.is_infinite() && w.is_infinite()) || (g - w).abs() < 1e-9, "{g} vs {w}");
            }
            // The tree search and the exact distance transform agree.
            let edt = distance_to(sb.view(), crate::Spacing::from_zyx(s)).unwrap();
            let via_edt: Vec<f64> = sa.iter().zip(edt.iter()).filter(|(m, _)| **m).map(|(_, &d)| d).collect();
            for (g, e) in got.iter().zip(&via_edt) {
                prop_assert!((g.is_infinite() && e.is_infinite()) || (g - e).abs() < 1e-9, "{g} vs {e}");
            }
        }

        #[test]
        fn distance_transform_is_exact(m in mask_strategy(),
                                       sz in 0.3f64..4.0, sy in 0.3f64..4.0, sx in 0.3f64..4.0) {
            let s = [sz, sy, sx];
            let fast = distance_to(m.view(), crate::Spacing::from_zyx(s)).unwrap();
            let slow = brute_distance(&m, crate::Spacing::from_zyx(s));
            for (a, b) in fast.iter().zip(slow.iter()) {
                prop_assert!((a.is_infinite() && b.is_infinite()) || (a - b).abs() < 1e-9, "{a} vs {b}");
            }
        }

        #[test]
        fn cropping_to_the_masks_changes_nothing(a in mask_strategy(), b in mask_strategy()) {
            let (z, y, x) = (a.dim().0.min(b.dim().0), a.dim().1.min(b.dim().1), a.dim().2.min(b.dim().2));
            let (a, b) = (a.slice(ndarray::s![..z, ..y, ..x]), b.slice(ndarray::s![..z, ..y, ..x]));
            let s = [1.5, 0.8, 0.6];
            let m = surface_metrics(a, b, crate::Spacing::from_zyx(s), 1.0).unwrap();
            // The same from the whole arrays, without the bounding-box crop.
            let da = directed_surface_distances(a, b, crate::Spacing::from_zyx(s)).unwrap();
            let db = directed_surface_distances(b, a, crate::Spacing::from_zyx(s)).unwrap();
            if !da.is_empty() && !db.is_empty() {
                // Positions are measured from the crop's corner: rounding may differ in the last bits.
                let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
                let close = |p: f64, q: f64| (p - q).abs() <= 1e-9 * q.abs().max(1.0);
                prop_assert!(close(m.hausdorff, max(&da).max(max(&db))));
                prop_assert!(close(m.hd95, percentile(&da, 95.0).max(percentile(&db, 95.0))));
                let assd = (da.iter().sum::<f64>() + db.iter().sum::<f64>()) / (da.len() + db.len()) as f64;
                prop_assert!((m.assd - assd).abs() < 1e-9);
            }
        }

        #[test]
        fn counts_match_a_plain_loop(a in mask_strategy()) {
            let b = a.mapv(|v| !v);
            let mut c = Counts::default();
            Zip::from(&a).and(&a).for_each(|&x, &y| c.add(x, y));
            prop_assert_eq!(Counts::of(a.view(), a.view()).unwrap(), c);
            let d = Counts::of(a.view(), b.view()).unwrap();
            prop_assert_eq!(d.tp, 0);
            prop_assert_eq!(d.fp + d.fn_, a.len() as u64);
        }

        #[test]
        fn six_connected_labels_are_flood_fills(m in mask_strategy()) {
            let (labels, comps) = components(m.view(), Connectivity::Six, crate::Spacing::isotropic(1.0), None).unwrap();
            // Every pair of face neighbours in the mask shares a label; totals add up.
            let (nz, ny, nx) = m.dim();
            for ((z, y, x), &l) in labels.indexed_iter() {
                prop_assert_eq!(l > 0, m[[z, y, x]]);
                if z + 1 < nz && m[[z + 1, y, x]] && l > 0 { prop_assert_eq!(labels[[z + 1, y, x]], l); }
                if y + 1 < ny && m[[z, y + 1, x]] && l > 0 { prop_assert_eq!(labels[[z, y + 1, x]], l); }
                if x + 1 < nx && m[[z, y, x + 1]] && l > 0 { prop_assert_eq!(labels[[z, y, x + 1]], l); }
            }
            let total: usize = comps.iter().map(|c| c.voxels).sum();
            prop_assert_eq!(total, m.iter().filter(|v| **v).count());
        }
    }

    #[test]
    fn two_points_give_their_distance_in_mm() {
        let mut a = Array3::from_elem((3, 4, 5), false);
        let mut b = a.clone();
        a[[0, 0, 0]] = true;
        b[[2, 3, 4]] = true;
        let s = [2.5, 0.7, 0.7];
        let m = surface_metrics(a.view(), b.view(), crate::Spacing::from_zyx(s), 1.0).unwrap();
        let d = ((2.0 * 2.5f64).powi(2) + (3.0 * 0.7f64).powi(2) + (4.0 * 0.7f64).powi(2)).sqrt();
        assert!((m.hausdorff - d).abs() < 1e-12);
        assert!((m.hd95 - d).abs() < 1e-12);
        assert!((m.assd - d).abs() < 1e-12);
        assert_eq!(m.surface_dice, 0.0);
        // In voxels the answer would be sqrt(4 + 9 + 16) = 5.39, not 5.89 mm.
        assert!((m.hausdorff - 29f64.sqrt()).abs() > 0.4);
    }

    #[test]
    fn hd95_is_not_the_maximum() {
        // A 20-voxel line against the same line with one voxel far away.
        let mut a = Array3::from_elem((1, 1, 60), false);
        for x in 0..20 {
            a[[0, 0, x]] = true;
        }
        let mut b = a.clone();
        b[[0, 0, 59]] = true;
        let m = surface_metrics(a.view(), b.view(), crate::Spacing::isotropic(1.0), 0.5).unwrap();
        assert_eq!(m.hausdorff, 40.0);
        assert!(m.hd95 < m.hausdorff, "{m:?}");
    }

    #[test]
    fn empty_masks_follow_the_policy() {
        let e = Array3::from_elem((2, 2, 2), false);
        let mut f = e.clone();
        f[[0, 0, 0]] = true;
        let both = Counts::of(e.view(), e.view()).unwrap();
        let pred_only = Counts::of(f.view(), e.view()).unwrap();
        assert!(both.dice(EmptyPolicy::IgnoreEmptyReference).is_nan());
        assert!(pred_only.dice(EmptyPolicy::IgnoreEmptyReference).is_nan());
        assert!(both.dice(EmptyPolicy::BothEmptyNan).is_nan());
        assert_eq!(pred_only.dice(EmptyPolicy::BothEmptyNan), 0.0);
        assert_eq!(both.dice(EmptyPolicy::BothEmptyOne), 1.0);
        assert_eq!(pred_only.iou(EmptyPolicy::BothEmptyOne), 0.0);
        assert_eq!(nan_mean(&[f64::NAN, 0.5, 1.0]), 0.75);
        let m = surface_metrics(e.view(), e.view(), crate::Spacing::isotropic(1.0), 1.0).unwrap();
        assert!(m.hd95.is_nan());
        let m = surface_metrics(f.view(), e.view(), crate::Spacing::isotropic(1.0), 1.0).unwrap();
        assert!(m.hd95.is_infinite());
    }

    #[test]
    fn connectivity_decides_whether_a_diagonal_is_one_object() {
        let mut m = Array3::from_elem((3, 3, 3), false);
        for k in 0..3 {
            m[[k, k, k]] = true;
        }
        let n = |c| {
            components(m.view(), c, crate::Spacing::isotropic(1.0), None)
                .unwrap()
                .1
                .len()
        };
        assert_eq!(n(Connectivity::Six), 3);
        assert_eq!(n(Connectivity::Eighteen), 3);
        assert_eq!(n(Connectivity::TwentySix), 1);
        let mut p = Array3::<f32>::zeros((3, 3, 3));
        p[[1, 1, 1]] = 0.9;
        let (_, c) = components(
            m.view(),
            Connectivity::TwentySix,
            crate::Spacing::new(2.0, 1.0, 1.0),
            Some(p.view()),
        )
        .unwrap();
        assert_eq!(c[0].voxels, 3);
        assert_eq!(c[0].volume_mm3, 6.0);
        assert_eq!(c[0].centroid_mm, [2.0, 1.0, 1.0]);
        assert!((c[0].max_probability - 0.9).abs() < 1e-6);
    }
}
