//! The graded checks of lab-windowing. Messages name the convention broken
//! and show expected vs got on a small example.

use std::sync::OnceLock;

use ndarray::Array3;
use radlab_grade::{Check, Kind, Outcome, Visibility};
use rand::Rng;

use crate::tasks::{Finding, REFERENCE, Tasks};

type F = fn(f32, f64, f64) -> u8;

/// Compare a window function with expected values; the message quotes the first miss.
fn expect_window(f: F, cases: &[(f32, f64, f64, u8)], rule: &str) -> Outcome {
    for &(x, c, w, want) in cases {
        let got = f(x, c, w);
        if got != want {
            return Err(format!(
                "c = {c}, w = {w}, HU {x}: expected {want}, got {got}.\n{rule}"
            ));
        }
    }
    Ok(format!("{} worked values match", cases.len()))
}

/// Random (x, c, w) triples from a seed, covering narrow and wide windows.
fn random_cases(seed: u64, n: usize, min_width: f64) -> Vec<(f32, f64, f64)> {
    let mut r = radlab_grade::check_rng(seed);
    (0..n)
        .map(|_| {
            let c = f64::from(r.random_range(-1200i32..1200));
            let w = if r.random_bool(0.2) {
                min_width.max(1.0) + f64::from(r.random_range(0u8..4))
            } else {
                f64::from(r.random_range(2i32..4000))
            };
            let x = if r.random_bool(0.5) {
                r.random_range(-1024i32..3072) as f32
            } else {
                (c + r.random_range(-w..=w)) as f32
            };
            (x, c, w)
        })
        .collect()
}

fn against_reference(f: F, reference: F, seed: u64, min_width: f64, what: &str) -> Outcome {
    let cases = random_cases(seed, 4000, min_width);
    for &(x, c, w) in &cases {
        let (got, want) = (f(x, c, w), reference(x, c, w));
        if got != want {
            return Err(format!(
                "{what}: on seeded random inputs ({}) c = {c}, w = {w}, HU {x}: expected {want}, got {got}",
                radlab_grade::seed_note(seed)
            ));
        }
    }
    Ok(format!(
        "{} seeded random values agree with the reference ({})",
        cases.len(),
        radlab_grade::seed_note(seed)
    ))
}

const LINEAR_RULE: &str = "LINEAR (PS3.3 C.11.2.1.2.1) uses c - 0.5 and w - 1: y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255, clipped to [0, 255], rounded to nearest.";

fn linear_standard_notes(t: &'static Tasks) -> Outcome {
    // Notes 1-4 of C.11.2.1.2.1 (output 0..255).
    expect_window(
        t.window_linear,
        &[
            (0.0, 2048.0, 4096.0, 0),
            (4095.0, 2048.0, 4096.0, 255),
            (2048.0, 2048.0, 4096.0, 128), // ((2048-2047.5)/4095 + 0.5)*255 = 127.53
            (-50.0, 0.0, 100.0, 0),
            (49.0, 0.0, 100.0, 255),
            (0.0, 0.0, 100.0, 129), // (0.5/99 + 0.5)*255 = 128.79
            (2047.0, 2048.0, 1.0, 0),
            (2048.0, 2048.0, 1.0, 255),
            (-1.0, 0.0, 1.0, 0),
            (0.0, 0.0, 1.0, 255),
        ],
        LINEAR_RULE,
    )
}

/// Every half-HU step across and beyond the window, for narrow and wide
/// windows, against PS3.3's formula evaluated in exact integer arithmetic:
/// with x = X / 2 and d = w - 1, y + 1/2 = ((X - 2c + 1) * 255 + 255 d + d) / (2 d).
/// Exact boundaries and exact halves are where float shortcuts go wrong.
fn linear_exact_sweep(t: &'static Tasks) -> Outcome {
    for (c, w) in [
        (40i64, 1i64),
        (40, 2),
        (40, 3),
        (7, 10),
        (-600, 1500),
        (2048, 4096),
    ] {
        let d = w - 1;
        for x2 in 2 * (c - w) - 4..=2 * (c + w) + 4 {
            let want: i64 = if d == 0 {
                if x2 < 2 * c { 0 } else { 255 }
            } else if x2 <= 2 * c - 1 - d {
                0
            } else if x2 > 2 * c - 1 + d {
                255
            } else {
                ((x2 - 2 * c + 1) * 255 + 255 * d + d)
                    .div_euclid(2 * d)
                    .clamp(0, 255)
            };
            let x = x2 as f64 / 2.0;
            let got = (t.window_linear)(x as f32, c as f64, w as f64);
            if i64::from(got) != want {
                return Err(format!(
                    "LINEAR at x = {x}, c = {c}, w = {w}: expected {want}, got {got}.\n{LINEAR_RULE} Check the exact edges c - 0.5 -/+ (w - 1)/2 and values that land exactly on a half."
                ));
            }
        }
    }
    Ok("every half-HU step of six windows (w = 1 to 4096) matches PS3.3 exactly".into())
}

fn linear_offsets(t: &'static Tasks) -> Outcome {
    // c = 40, w = 400: limits -160 and 239; LINEAR_EXACT would give 254 at 239.
    expect_window(
        t.window_linear,
        &[
            (239.0, 40.0, 400.0, 255),
            (-159.0, 40.0, 400.0, 1),
            (-160.0, 40.0, 400.0, 0),
        ],
        "The LINEAR window's upper limit is c - 0.5 + (w - 1)/2 = 239 for c = 40, w = 400: HU 239 is already white. Dropping the -0.5 and -1 terms gives LINEAR_EXACT, not LINEAR.",
    )
}

fn linear_rounding(t: &'static Tasks) -> Outcome {
    expect_window(
        t.window_linear,
        &[
            (40.0, 40.0, 400.0, 128),
            (-600.0, -600.0, 1500.0, 128),
            (100.0, 40.0, 400.0, 166),
        ],
        "Round to the nearest grey level: ((40 - 39.5)/399 + 0.5) * 255 = 127.82 is 128, not 127 (truncation darkens every pixel by up to one level).",
    )
}

fn linear_clipping(t: &'static Tasks) -> Outcome {
    expect_window(
        t.window_linear,
        &[
            (-3000.0, 40.0, 400.0, 0),
            (3000.0, 40.0, 400.0, 255),
            (32000.0, -1000.0, 400.0, 255),
            (-32000.0, 1000.0, 400.0, 0),
        ],
        "Values outside the window must clip to 0 and 255 before converting to 8 bits (MONAI's ScaleIntensityRange leaves them unclipped unless clip=True; a wrapped cast turns bright bone black). Compute in f64, not i16: 32000 - (-1000) overflows i16.",
    )
}

fn linear_random(t: &'static Tasks) -> Outcome {
    against_reference(t.window_linear, REFERENCE.window_linear, 101, 1.0, "LINEAR")
}

fn sample_volume() -> &'static Option<radlab_dicom::Volume> {
    static VOL: OnceLock<Option<radlab_dicom::Volume>> = OnceLock::new();
    VOL.get_or_init(|| radlab_dicom::load_path(&radlab_labkit::default_series_dir(), None).ok())
}

fn linear_sample_slice(t: &'static Tasks) -> Outcome {
    let Some(vol) = sample_volume() else {
        return Err(
            "the bundled sample study could not be loaded (is sample_data/ present?)".into(),
        );
    };
    let z = vol.shape()[0] / 2;
    let slice = vol.voxels.index_axis(ndarray::Axis(0), z);
    let mut differing = 0;
    for &x in slice.iter() {
        if (t.window_linear)(x, -600.0, 1500.0) != (REFERENCE.window_linear)(x, -600.0, 1500.0) {
            differing += 1;
        }
    }
    if differing == 0 {
        Ok(format!(
            "lung window of sample slice {z}: all {} pixels match",
            slice.len()
        ))
    } else {
        Err(format!(
            "lung window of sample slice {z}: {differing} of {} pixels differ from the reference",
            slice.len()
        ))
    }
}

fn linear_speed(t: &'static Tasks) -> Outcome {
    let cases = random_cases(7, 200_000, 1.0);
    let time = |f: F| {
        let start = std::time::Instant::now();
        let mut acc = 0u64;
        for &(x, c, w) in &cases {
            acc += u64::from(f(x, c, w));
        }
        std::hint::black_box(acc);
        start.elapsed().as_secs_f64()
    };
    let reference = time(REFERENCE.window_linear).max(1e-6);
    let mine = time(t.window_linear);
    let ratio = mine / reference;
    if ratio <= 50.0 {
        Ok(format!("{:.1}x the reference's time on 200k values", ratio))
    } else {
        Err(format!(
            "{ratio:.0}x slower than the reference on 200k values (allowed: 50x); avoid allocating or formatting per value"
        ))
    }
}

fn exact_worked(t: &'static Tasks) -> Outcome {
    expect_window(
        t.window_linear_exact,
        &[
            (-120.0, 40.0, 400.0, 26), // (-160/400 + 0.5) * 255 = 25.5, halves round up
            (239.0, 40.0, 400.0, 254),
            (40.0, 40.0, 400.0, 128),
            (-160.0, 40.0, 400.0, 0),
            (240.0, 40.0, 400.0, 255),
            (0.125, 0.0, 0.5, 191), // (0.25 + 0.5) * 255 = 191.25
            (-5000.0, 0.0, 100.0, 0),
        ],
        "LINEAR_EXACT (C.11.2.1.3.2): x <= c - w/2 is 0, x > c + w/2 is 255, else ((x - c)/w + 0.5) * 255 rounded to nearest, halves up. Multiply before dividing ((x - c) * 255 / w + 127.5): dividing first turns the exact 25.5 into 25.4999...",
    )
}

fn exact_random(t: &'static Tasks) -> Outcome {
    against_reference(
        t.window_linear_exact,
        REFERENCE.window_linear_exact,
        202,
        0.5,
        "LINEAR_EXACT",
    )
}

fn sigmoid_worked(t: &'static Tasks) -> Outcome {
    expect_window(
        t.window_sigmoid,
        &[
            (140.0, 40.0, 400.0, 186),
            (40.0, 40.0, 400.0, 128),
            (-60.0, 40.0, 400.0, 69),
            (-5000.0, 40.0, 400.0, 0),
        ],
        "SIGMOID (C.11.2.1.3.1): y = 255 / (1 + exp(-4 (x - c) / w)); at x = c + w/4 that is 255 / (1 + e^-1) = 186.4.",
    )
}

fn sigmoid_random(t: &'static Tasks) -> Outcome {
    against_reference(
        t.window_sigmoid,
        REFERENCE.window_sigmoid,
        303,
        0.5,
        "SIGMOID",
    )
}

fn presets(t: &'static Tasks, findings: &[Finding]) -> Outcome {
    for &f in findings {
        let (got, want) = ((t.choose_preset)(f), (REFERENCE.choose_preset)(f));
        if got != want {
            let p = radlab_imaging::preset(want)
                .map(|p| p.rationale)
                .unwrap_or("");
            return Err(format!("{f:?}: expected {want}, got {got:?}. {want}: {p}"));
        }
    }
    Ok(format!(
        "{} findings matched to their window",
        findings.len()
    ))
}

fn preset_chest(t: &'static Tasks) -> Outcome {
    presets(
        t,
        &[
            Finding::LungNodule,
            Finding::Emphysema,
            Finding::MediastinalLymphNode,
            Finding::RibFracture,
        ],
    )
}

fn preset_other(t: &'static Tasks) -> Outcome {
    presets(
        t,
        &[
            Finding::SubduralHaematoma,
            Finding::EarlyIschaemicStroke,
            Finding::LiverMetastasis,
            Finding::Appendicitis,
        ],
    )
}

fn resample_shape(t: &'static Tasks) -> Outcome {
    for (shape, sp, tg, want) in [
        ((4, 5, 6), [2.5, 0.7, 0.7], [1.0, 1.0, 1.0], [10, 4, 4]),
        ((3, 3, 3), [1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [2, 2, 2]),
        ((1, 2, 7), [5.0, 0.5, 0.3], [1.0, 0.25, 1.0], [5, 4, 2]),
    ] {
        let v = Array3::<u8>::zeros(shape);
        let got = (t.resample_labels)(v.view(), sp, tg);
        if got.shape() != want {
            return Err(format!(
                "shape {shape:?} at {sp:?} mm -> {tg:?} mm: expected {want:?}, got {:?}. The output keeps the physical extent: n' = max(1, round(n * s / s')).",
                got.shape()
            ));
        }
    }
    Ok("output shapes keep the physical extent".into())
}

fn resample_no_new_labels(t: &'static Tasks) -> Outcome {
    let v = Array3::from_shape_fn((3, 4, 5), |(z, y, x)| [0u8, 3, 7][(z + 2 * y + x) % 3]);
    let got = (t.resample_labels)(v.view(), [2.0, 1.5, 1.0], [0.7, 0.6, 0.45]);
    if let Some(bad) = got.iter().find(|l| ![0u8, 3, 7].contains(l)) {
        return Err(format!(
            "label {bad} appears in the output but the mask only holds 0, 3 and 7: interpolating labels invents classes. Use nearest neighbour for masks."
        ));
    }
    Ok("only labels of the input appear".into())
}

fn resample_worked(t: &'static Tasks) -> Outcome {
    // One row [0, 0, 5, 5] at 2 mm, resampled to 1 mm: samples at 0, 0.5, 1, ... 3.5 (rounded half up, clamped).
    let v = Array3::from_shape_vec((1, 1, 4), vec![0u8, 0, 5, 5]).map_err(|e| e.to_string())?;
    let got = (t.resample_labels)(v.view(), [1.0, 1.0, 2.0], [1.0, 1.0, 1.0]);
    let want = [0u8, 0, 0, 5, 5, 5, 5, 5];
    if got.iter().copied().eq(want) {
        Ok("worked example matches".into())
    } else {
        Err(format!(
            "[0, 0, 5, 5] at 2 mm to 1 mm: expected {want:?}, got {:?}. Output voxel i samples input i * 1/2, rounded to the nearest voxel (halves up) and clamped to the last one.",
            got.iter().collect::<Vec<_>>()
        ))
    }
}

fn resample_random(t: &'static Tasks) -> Outcome {
    let seed_note_404 = radlab_grade::seed_note(404);
    let mut r = radlab_grade::check_rng(404);
    for case in 0..40 {
        let shape = (
            r.random_range(1..7),
            r.random_range(1..9),
            r.random_range(1..9),
        );
        let sp = [
            r.random_range(0.4..4.0),
            r.random_range(0.4..3.0),
            r.random_range(0.4..3.0),
        ];
        let tg = [
            r.random_range(0.4..4.0),
            r.random_range(0.4..3.0),
            r.random_range(0.4..3.0),
        ];
        let v = Array3::from_shape_fn(shape, |_| r.random_range(0u8..4));
        let got = (t.resample_labels)(v.view(), sp, tg);
        let want = (REFERENCE.resample_labels)(v.view(), sp, tg);
        if got != want {
            return Err(format!(
                "seeded case {case} ({seed_note_404}): {shape:?} at {sp:?} mm -> {tg:?} mm differs from the reference (shape {:?} vs {:?})",
                got.shape(),
                want.shape()
            ));
        }
    }
    Ok("40 seeded random masks match the reference".into())
}

/// Every check, in the order the table shows them.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "window-linear" => {
            "linear/standard-notes": 1.0, Visible, WorkedExample, linear_standard_notes;
            "linear/c-0.5-and-w-1": 1.0, Visible, WorkedExample, linear_offsets;
            "linear/rounding": 0.5, Visible, WorkedExample, linear_rounding;
            "linear/clipping": 0.5, Visible, WorkedExample, linear_clipping;
            "linear/exact-sweep": 1.0, Hidden, WorkedExample, linear_exact_sweep;
            "linear/random-vs-reference": 1.0, Hidden, Property, linear_random;
            "linear/sample-slice": 0.5, Hidden, EndToEnd, linear_sample_slice;
            "linear/speed": 0.5, Visible, Speed, linear_speed;
        }
        "window-linear-exact" => {
            "linear-exact/worked": 1.0, Visible, WorkedExample, exact_worked;
            "linear-exact/random-vs-reference": 1.0, Hidden, Property, exact_random;
        }
        "window-sigmoid" => {
            "sigmoid/worked": 1.0, Visible, WorkedExample, sigmoid_worked;
            "sigmoid/random-vs-reference": 1.0, Hidden, Property, sigmoid_random;
        }
        "choose-preset" => {
            "preset/chest": 1.0, Visible, WorkedExample, preset_chest;
            "preset/head-and-abdomen": 1.0, Hidden, WorkedExample, preset_other;
        }
        "resample-labels" => {
            "resample/shape": 1.0, Visible, WorkedExample, resample_shape;
            "resample/no-new-labels": 1.0, Visible, Property, resample_no_new_labels;
            "resample/worked": 1.0, Visible, WorkedExample, resample_worked;
            "resample/random-vs-reference": 1.0, Hidden, Property, resample_random;
        }
    ]
}
