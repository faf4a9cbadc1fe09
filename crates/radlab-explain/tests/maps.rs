//! The display helpers against independent numbers: matplotlib's inferno
//! table, and PyTorch's bilinear formula worked by hand.

use ndarray::{Array2, array};
use radlab_explain::{inferno, upsample_bilinear};

#[test]
fn inferno_is_matplotlibs_table() {
    // matplotlib's inferno: #000004 at 0, #57106e at 64/255, #bc3754 at
    // 128/255, #f98e09 at 192/255, #fcffa4 at 1. colorous' spline through
    // those colours, cut to integers, is within 1 of them.
    for (t, want) in [
        (0.0, [0x00, 0x00, 0x04]),
        (64.0 / 255.0, [0x57, 0x10, 0x6e]),
        (128.0 / 255.0, [0xbc, 0x37, 0x54]),
        (192.0 / 255.0, [0xf9, 0x8e, 0x09]),
        (1.0, [0xfc, 0xff, 0xa4]),
    ] {
        let got = inferno(t);
        for k in 0..3 {
            assert!(
                got[k].abs_diff(want[k]) <= 1,
                "t = {t}: {got:?} vs {want:?}"
            );
        }
    }
    assert_eq!(inferno(1.0), [252, 255, 164]);
    // 0.5 is colour 127.5, rounded up to 128; out of range is clamped.
    assert_eq!(inferno(0.5), inferno(128.0 / 255.0));
    assert_eq!(inferno(-3.0), inferno(0.0));
    assert_eq!(inferno(f64::NAN), inferno(0.0));
}

#[test]
fn align_corners_true_as_pytorch_gives_it() {
    // interpolate([[1, 2], [3, 4]], size=(4, 4), align_corners=True): the
    // corners stay, the steps are a third.
    let m = array![[1.0, 2.0], [3.0, 4.0]];
    let got = upsample_bilinear(m.view(), [4, 4], true);
    let t = [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0];
    let want = Array2::from_shape_fn((4, 4), |(y, x)| 1.0 + t[x] + 2.0 * t[y]);
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() < 1e-12, "{got} vs {want}");
    }
    // One output pixel per axis sits on the first source pixel.
    assert_eq!(upsample_bilinear(m.view(), [1, 1], true)[[0, 0]], 1.0);
    // align_corners = False on the same: centres aligned, edges clamped.
    let f = upsample_bilinear(m.view(), [4, 4], false);
    assert_eq!(f.row(0).to_vec(), vec![1.0, 1.25, 1.75, 2.0]);
}

#[test]
fn an_empty_map_upsamples_to_zeros() {
    let m = Array2::<f64>::zeros((0, 3));
    let got = upsample_bilinear(m.view(), [2, 4], false);
    assert_eq!(got, Array2::<f64>::zeros((2, 4)));
}

#[test]
fn align_corners_true_on_three_to_five() {
    // Source x = d * (3 - 1) / (5 - 1) = d / 2.
    let m = array![[0.0, 10.0, 40.0]];
    let got = upsample_bilinear(m.view(), [1, 5], true);
    assert_eq!(got.row(0).to_vec(), vec![0.0, 5.0, 10.0, 25.0, 40.0]);
}

#[test]
fn normalise_is_min_max_per_map() {
    let got = radlab_explain::normalise(array![[2.0, 3.0], [4.0, 6.0]].view());
    assert_eq!(got, array![[0.0, 0.25], [0.5, 1.0]]);
    let flat = radlab_explain::normalise(array![[7.0, 7.0]].view());
    assert_eq!(flat, array![[0.0, 0.0]]);
}
