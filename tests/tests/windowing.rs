//! Windowing against the standard's formulas (PS3.3 C.11.2.1.2 and C.11.2.1.3),
//! with values worked by hand below each assertion.

use radlab_imaging::window::{I16Lut, VoiFunction, Window};

fn w(c: f64, width: f64, f: VoiFunction) -> Window {
    Window::new(c, width, f).unwrap()
}

#[test]
fn linear_hand_computed_mediastinum() {
    // c = 40, w = 400: limits are 40 - 0.5 -/+ 199.5 = -160 and 239.
    let win = w(40.0, 400.0, VoiFunction::Linear);
    assert_eq!(win.limits(), (-160.0, 239.0));
    assert_eq!(win.to_u8(-160.0), 0);
    assert_eq!(win.to_u8(-1000.0), 0);
    assert_eq!(win.to_u8(239.0), 255);
    assert_eq!(win.to_u8(240.0), 255);
    // x = 40: ((40 - 39.5)/399 + 0.5) * 255 = 127.8195... -> 128
    assert_eq!(win.to_u8(40.0), 128);
    // x = 0: ((0 - 39.5)/399 + 0.5) * 255 = 102.2556... -> 102
    assert_eq!(win.to_u8(0.0), 102);
    // x = -159: ((-159 - 39.5)/399 + 0.5) * 255 = 0.6391 -> 1
    assert_eq!(win.to_u8(-159.0), 1);
}

#[test]
fn linear_exact_hand_computed_and_boundary() {
    // LINEAR_EXACT c = 40, w = 400: limits -160 and 240, no offsets.
    let win = w(40.0, 400.0, VoiFunction::LinearExact);
    assert_eq!(win.limits(), (-160.0, 240.0));
    // x = 40: ((40-40)/400 + 0.5) * 255 = 127.5 -> rounds half up to 128
    assert_eq!(win.apply(40.0, 0.0, 255.0), 127.5);
    assert_eq!(win.to_u8(40.0), 128);
    // x = 0: (-40/400 + 0.5) * 255 = 102 exactly
    assert_eq!(win.apply(0.0, 0.0, 255.0), 102.0);
    // x = -120: (-160/400 + 0.5) * 255 = 25.5 exactly -> 26 (halves round up)
    assert_eq!(win.to_u8(-120.0), 26);
    // x = 239: ((239-40)/400 + 0.5)*255 = 254.3625 -> 254; LINEAR gives 255 there.
    assert_eq!(win.to_u8(239.0), 254);
    assert_eq!(w(40.0, 400.0, VoiFunction::Linear).to_u8(239.0), 255);
    // Width below 1 is allowed for LINEAR_EXACT, not for LINEAR.
    assert!(Window::new(0.0, 0.5, VoiFunction::LinearExact).is_ok());
    assert!(Window::new(0.0, 0.5, VoiFunction::Linear).is_err());
    assert!(Window::new(0.0, 0.0, VoiFunction::LinearExact).is_err());
}

#[test]
fn linear_width_one_note_4() {
    // PS3.3 Note 4: c = 0, w = 1: x <= -0.5 -> 0, x > -0.5 -> 255.
    let win = w(0.0, 1.0, VoiFunction::Linear);
    assert_eq!(win.to_u8(-0.5), 0);
    assert_eq!(win.to_u8(-0.49), 255);
    assert_eq!(win.to_u8(0.0), 255);
    assert_eq!(win.to_u8(-1.0), 0);
    let mut out = [7u8; 4];
    win.to_u8_slice(&[-1.0, -0.5, -0.49, 3.0], &mut out);
    assert_eq!(out, [0, 0, 255, 255]);
}

#[test]
fn sigmoid_hand_computed() {
    // y = 255 / (1 + exp(-4 (x - c) / w)); at x = c it is 127.5.
    let win = w(40.0, 400.0, VoiFunction::Sigmoid);
    assert_eq!(win.apply(40.0, 0.0, 255.0), 127.5);
    // x = 140: 255 / (1 + e^-1) = 186.4199...
    assert!((win.apply(140.0, 0.0, 255.0) - 186.419_937_5).abs() < 1e-6);
    assert_eq!(win.to_u8(140.0), 186);
    // never quite reaches the ends
    assert!(win.apply(-5000.0, 0.0, 255.0) > 0.0);
}

/// Every path the processor supports (baseline, AVX2, AVX-512) gives the
/// bytes of the definition, so the paths agree with each other too.
#[test]
fn fast_paths_match_the_definition_on_every_int16_on_every_instruction_set() {
    // Every int16 (the table path) plus halves and odd fractions (the computed path).
    let mut all: Vec<f32> = (i16::MIN..=i16::MAX).map(f32::from).collect();
    all.extend((-3000..3000).map(|i| i as f32 + 0.5));
    all.extend((-3000..3000).map(|i| i as f32 * 0.37));
    // Values near the ramp's ends and beyond, and the non-numbers.
    all.extend((-40_000..40_000).map(|i| i as f32 * 0.9999));
    all.extend([
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1e30,
        -1e30,
        3e9,
        -3e9,
    ]);
    for (c, width) in [
        (40.0, 400.0),
        (-600.0, 1500.0),
        (0.0, 1.0),
        (2048.0, 4096.0),
        (35.5, 2.0),
        (-0.25, 7.0),
        // Narrow windows far from zero: f32 alone is not exact there.
        (3000.0, 2.0),
        (-20_000.5, 3.0),
        (40.3, 401.7),
        (1e5, 2e5),
    ] {
        for f in [
            VoiFunction::Linear,
            VoiFunction::LinearExact,
            VoiFunction::Sigmoid,
        ] {
            let win = w(c, width, f);
            let want: Vec<u8> = all.iter().map(|x| win.to_u8(f64::from(*x))).collect();
            for isa in radlab_simd::Isa::supported() {
                let mut out = vec![0u8; all.len()];
                win.to_u8_slice_on(isa, &all, &mut out);
                for ((x, o), want) in all.iter().zip(&out).zip(&want) {
                    assert_eq!(o, want, "{isa}: {f} c={c} w={width} x={x}");
                }
            }
        }
    }
}

#[test]
fn int16_lut_folds_rescale_and_window() {
    let win = w(-600.0, 1500.0, VoiFunction::Linear);
    let lut = I16Lut::new(1.0, -1024.0, &win);
    let stored: Vec<i16> = (i16::MIN..=i16::MAX).step_by(7).collect();
    let mut out = vec![0u8; stored.len()];
    lut.apply(&stored, &mut out);
    for (s, o) in stored.iter().zip(&out) {
        assert_eq!(*o, win.to_u8(f64::from(*s) - 1024.0));
    }
}
