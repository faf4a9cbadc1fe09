//! The graded checks of lab-gradcam. Grad-CAM, the normaliser and the
//! upsampler are judged on worked examples (the numbers PyTorch and MONAI
//! give, worked by hand here) and on seeded random inputs against the
//! reference; the overlay on the colormap's own colours; the Secondary
//! Capture's attributes on the rules of PS3.3 and the caution convention.

use radlab_grade::{Check, Kind, Outcome, Visibility};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::tasks::{Array2, Array3, CAUTION, REFERENCE, ScHeader, SourceImage, Tasks, inferno};

fn close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) -> bool {
    a.dim() == b.dim() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

fn show(a: &Array2<f64>) -> String {
    a.outer_iter()
        .map(|r| {
            r.iter()
                .map(|v| format!("{v:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

// ---- grad-cam ----

/// Two channels on a 2 x 3 grid, worked by hand: `w . A = A0 - A1`.
fn worked_features() -> (ndarray::Array3<f32>, Vec<f64>) {
    let a = ndarray::Array3::from_shape_vec(
        (2, 2, 3),
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 3.0, 1.0, 1.0, 7.0, 2.0],
    )
    .expect("2 x 2 x 3");
    (a, vec![1.0, -1.0])
}

fn gradcam_worked(t: &'static Tasks) -> Outcome {
    let (a, w) = worked_features();
    let got = (t.grad_cam)(a.view(), &w);
    // w . A = [[1, -1, 2], [3, -2, 4]]; ReLU; / (h w) = 6.
    let sixth = |v: &[f64]| {
        Array2::from_shape_vec((2, 3), v.iter().map(|x| x / 6.0).collect()).expect("2 x 3")
    };
    let want = sixth(&[1.0, 0.0, 2.0, 3.0, 0.0, 4.0]);
    if close(&got, &want, 1e-12) {
        return Ok("ReLU(w . A) / (h w) on the worked 2 x 3 example".into());
    }
    let linear = sixth(&[1.0, -1.0, 2.0, 3.0, -2.0, 4.0]);
    let unscaled = want.mapv(|v| v * 6.0);
    let other_class = sixth(&[0.0, 1.0, 0.0, 0.0, 2.0, 0.0]);
    let why = if got.dim() != (2, 3) {
        "features [2, 2, 3] give a map [2, 3] ([h, w], rows first)"
    } else if close(&got, &linear, 1e-12) {
        "the map has negative values: Grad-CAM keeps only what pushes the class score up (a ReLU after the weighted sum)"
    } else if close(&got, &unscaled, 1e-12) {
        "the values are 6 times too large: the gradient of the logit with respect to A_k(i, j) is w_k / (h w), because the head averages over the h w = 6 grid cells"
    } else if close(&got, &other_class, 1e-12) {
        "this is the map of the other class: the weights are the nodule row as given, not negated"
    } else {
        "Grad-CAM is ReLU(sum_k (w_k / (h w)) A_k(i, j)): the class row `weights` (not something computed from the activations), summed over the channels, then one ReLU, rows first"
    };
    Err(format!(
        "features A0 = [[1, 2, 3], [4, 5, 6]], A1 = [[0, 3, 1], [1, 7, 2]], weights [1, -1]: expected [{}], got [{}]: {why}",
        show(&want),
        show(&got)
    ))
}

fn random_features(r: &mut ChaCha8Rng, c: usize, h: usize, w: usize) -> (Array3<f32>, Vec<f64>) {
    let a = Array3::from_shape_fn((c, h, w), |_| {
        if r.random_bool(0.3) {
            0.0
        } else {
            r.random_range(0.0f32..3.0)
        }
    });
    let wt = (0..c).map(|_| r.random_range(-1.0..1.0)).collect();
    (a, wt)
}

fn gradcam_grid(t: &'static Tasks) -> Outcome {
    // A 3 x 5 grid: rows and columns are not interchangeable.
    let mut r = radlab_grade::check_rng(611);
    let (a, w) = random_features(&mut r, 4, 3, 5);
    let (got, want) = (
        (t.grad_cam)(a.view(), &w),
        (REFERENCE.grad_cam)(a.view(), &w),
    );
    if got.dim() != (3, 5) {
        return Err(format!(
            "features [4, 3, 5] give a map [3, 5] ([h, w]), not {:?}",
            got.dim()
        ));
    }
    if !close(&got, &want, 1e-9) {
        return Err(format!(
            "a 4-channel 3 x 5 grid ({}): expected [{}], got [{}]",
            radlab_grade::seed_note(611),
            show(&want),
            show(&got)
        ));
    }
    Ok("a non-square grid, every cell".into())
}

fn gradcam_random(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(612);
    for case in 0..200 {
        let (c, h, w) = (
            r.random_range(1..=64),
            r.random_range(1..=12),
            r.random_range(1..=12),
        );
        let (a, wt) = random_features(&mut r, c, h, w);
        let (got, want) = (
            (t.grad_cam)(a.view(), &wt),
            (REFERENCE.grad_cam)(a.view(), &wt),
        );
        if !close(&got, &want, 1e-9) {
            return Err(format!(
                "seeded case {case} ({}: {c} channels, {h} x {w}): your map differs from Grad-CAM's",
                radlab_grade::seed_note(612)
            ));
        }
    }
    Ok("200 seeded feature stacks (1-64 channels, grids up to 12 x 12)".into())
}

// ---- normalise ----

fn normalise_worked(t: &'static Tasks) -> Outcome {
    let maps = Array3::from_shape_vec((2, 2, 2), vec![2.0, 3.0, 4.0, 6.0, 10.0, 10.0, 10.0, 10.0])
        .expect("2 x 2 x 2");
    let got = (t.normalise)(maps.view());
    if got.dim() != (2, 2, 2) {
        return Err(format!("two 2 x 2 maps in, {:?} out", got.dim()));
    }
    let first = got.index_axis(ndarray::Axis(0), 0).to_owned();
    let second = got.index_axis(ndarray::Axis(0), 1).to_owned();
    let want = Array2::from_shape_vec((2, 2), vec![0.0, 0.25, 0.5, 1.0]).expect("2 x 2");
    if close(&first, &want.mapv(|v| 1.0 - v), 1e-12) {
        return Err("the most salient place came out 0 and the least 1: this is MONAI 1.6.1's default_normalizer (ScaleIntensity(minv=1, maxv=0)), which inverts the map; the maximum must be 1".into());
    }
    if close(
        &first,
        &Array2::from_shape_vec((2, 2), vec![0.0, 0.125, 0.25, 0.5]).expect("2 x 2"),
        1e-12,
    ) {
        return Err("the first map [[2, 3], [4, 6]] was scaled with the batch's maximum (10, from the second map): normalise each map on its own, or a patch's map depends on the other patches in the batch".into());
    }
    if !close(&first, &want, 1e-12) {
        return Err(format!(
            "[[2, 3], [4, 6]]: expected [{}] ((v - min) / (max - min)), got [{}]",
            show(&want),
            show(&first)
        ));
    }
    if second.iter().any(|v| v.is_nan()) {
        return Err(
            "a constant map came out NaN (0 / 0): it has no salient place, so it is all zeros"
                .into(),
        );
    }
    if second.iter().any(|&v| v != 0.0) {
        return Err(format!(
            "a constant map [[10, 10], [10, 10]] has no salient place: all zeros, not [{}]",
            show(&second)
        ));
    }
    Ok("min 0, max 1, each map on its own; a constant map all zeros".into())
}

fn normalise_random(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(613);
    for case in 0..100 {
        let (n, h, w) = (
            r.random_range(1..=6),
            r.random_range(1..=9),
            r.random_range(1..=9),
        );
        let scale = r.random_range(1e-6..1e3);
        let maps = Array3::from_shape_fn((n, h, w), |_| r.random_range(-1.0..1.0) * scale);
        let (got, want) = (
            (t.normalise)(maps.view()),
            (REFERENCE.normalise)(maps.view()),
        );
        let same =
            got.dim() == want.dim() && got.iter().zip(&want).all(|(a, b)| (a - b).abs() <= 1e-9);
        if !same {
            return Err(format!(
                "seeded case {case} ({}: {n} maps of {h} x {w}): differs from per-map min-max",
                radlab_grade::seed_note(613)
            ));
        }
    }
    Ok("100 seeded batches".into())
}

// ---- upsample ----

fn upsample_worked(t: &'static Tasks) -> Outcome {
    let m = Array2::from_shape_vec((2, 2), vec![1.0, 2.0, 3.0, 4.0]).expect("2 x 2");
    let got = (t.upsample)(m.view(), [4, 4]);
    // torch.nn.functional.interpolate(x, size=(4, 4), mode="bilinear",
    // align_corners=False) on [[1, 2], [3, 4]], worked by hand: source
    // coordinates (d + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25.
    let row = [1.0, 1.25, 1.75, 2.0];
    let want = Array2::from_shape_fn((4, 4), |(y, x)| row[x] + 2.0 * (row[y] - 1.0));
    if close(&got, &want, 1e-12) {
        // One row of three to six: source x = (d + 0.5) / 2 - 0.5, so
        // -0.25 (clamped), 0.25, 0.75, 1.25, 1.75, 2.25 (the last neighbour
        // clamped to the edge).
        let row = Array2::from_shape_vec((1, 3), vec![0.0, 10.0, 40.0]).expect("1 x 3");
        let got = (t.upsample)(row.view(), [1, 6]);
        let want =
            Array2::from_shape_vec((1, 6), vec![0.0, 2.5, 7.5, 17.5, 32.5, 40.0]).expect("1 x 6");
        if !close(&got, &want, 1e-12) {
            return Err(format!(
                "[[0, 10, 40]] to 1 x 6: expected [{}], got [{}]: each output pixel interpolates between the two source pixels around (d + 0.5) * 3 / 6 - 0.5, with the weight of the second equal to the coordinate's fraction",
                show(&want),
                show(&got)
            ));
        }
        return Ok("[[1, 2], [3, 4]] to 4 x 4 and [[0, 10, 40]] to 1 x 6 as PyTorch gives them (align_corners = False)".into());
    }
    let third = 1.0 / 3.0;
    let corners = [1.0, 1.0 + third, 1.0 + 2.0 * third, 2.0];
    let aligned = Array2::from_shape_fn((4, 4), |(y, x)| corners[x] + 2.0 * (corners[y] - 1.0));
    let near = [1.0, 1.0, 2.0, 2.0];
    let nearest = Array2::from_shape_fn((4, 4), |(y, x)| near[x] + 2.0 * (near[y] - 1.0));
    let why = if close(&got, &aligned, 1e-9) {
        "this is align_corners = True (the corner pixels line up): PyTorch's and MONAI's default is False, where pixel centres line up and the map shifts by a quarter of a cell"
    } else if close(&got, &nearest, 1e-12) {
        "this is nearest-neighbour: blocks of the feature grid, not a bilinear map"
    } else {
        "the source coordinate of output pixel d is (d + 0.5) * h / rows - 0.5, clamped at 0; interpolate between its two neighbours"
    };
    Err(format!(
        "[[1, 2], [3, 4]] to 4 x 4: expected [{}], got [{}]: {why}",
        show(&want),
        show(&got)
    ))
}

fn upsample_random(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(614);
    let mut cases: Vec<([usize; 2], [usize; 2])> =
        vec![([8, 8], [32, 32]), ([1, 1], [4, 4]), ([3, 5], [7, 11])];
    for _ in 0..60 {
        let (h, w) = (r.random_range(1..=10), r.random_range(1..=10));
        cases.push((
            [h, w],
            [h * r.random_range(1..=5), w + r.random_range(0..=20)],
        ));
    }
    for (k, ([h, w], out)) in cases.into_iter().enumerate() {
        let m = Array2::from_shape_fn((h, w), |_| r.random_range(-2.0..2.0));
        let (got, want) = (
            (t.upsample)(m.view(), out),
            (REFERENCE.upsample)(m.view(), out),
        );
        if !close(&got, &want, 1e-9) {
            return Err(format!(
                "case {k} ({}): {h} x {w} to {} x {}: differs from bilinear with align_corners = False{}",
                radlab_grade::seed_note(614),
                out[0],
                out[1],
                if got.dim() != want.dim() {
                    format!(" (shape {:?}, expected {:?})", got.dim(), want.dim())
                } else {
                    String::new()
                }
            ));
        }
    }
    Ok("63 sizes, the classifier's 8 x 8 to 32 x 32 among them, non-square and 1 x 1 too".into())
}

// ---- overlay ----

fn overlay_worked(t: &'static Tasks) -> Outcome {
    let gray = [100u8, 100, 100, 0];
    let heat = [0.0, 1.0, 0.5, 1.0];
    let got = (t.overlay)(&gray, &heat, 0.5);
    if got.len() != 12 {
        return Err(format!(
            "4 grey pixels give 12 RGB bytes (R G B interleaved), not {}",
            got.len()
        ));
    }
    // Worked by hand from inferno's colours (matplotlib's table: #fcffa4 at
    // 1, #bc3754 at 0.5, which is colour round(127.5) = 128 of 256):
    // heat 1 at opacity 0.5 on grey 100 is 50 + [126, 127.5, 82], on grey 0
    // [126, 127.5, 82]; heat 0.5 at opacity 0.25 is 75 + [47, 13.75, 21].
    // Halves round up.
    let want = vec![100, 100, 100, 176, 178, 132, 122, 89, 96, 126, 128, 82];
    if got == want {
        // The same four pixels 50 times over: 200 pixels, one after another.
        let (g50, h50) = (gray.repeat(50), heat.repeat(50));
        let got = (t.overlay)(&g50, &h50, 0.5);
        if got != want.repeat(50) {
            let first = got
                .chunks(3)
                .zip(want.repeat(50).chunks(3))
                .position(|(a, b)| a != b)
                .unwrap_or(got.len() / 3);
            return Err(format!(
                "the 4 worked pixels repeated 50 times: pixel {first} differs (or {} bytes instead of 600): every pixel is blended on its own, whatever its position",
                got.len()
            ));
        }
        return Ok(
            "colour, channel order, opacity and rounding on 4 worked pixels, and 200 in a row"
                .into(),
        );
    }
    let hot = inferno(1.0);
    if got[..3] != [100, 100, 100] {
        return Err(format!(
            "a pixel with heat 0 must show the image unchanged (opacity alpha * 0 = 0): got {:?} for grey 100",
            &got[..3]
        ));
    }
    if got[3..6] == [want[5], want[4], want[3]] {
        return Err(format!(
            "the channels are in B G R order: inferno(1) is [r, g, b] = {hot:?}, and DICOM's RGB is R first"
        ));
    }
    Err(format!(
        "grey [100, 100, 100, 0], heat [0, 1, 0.5, 1], alpha 0.5: expected {want:?}, got {got:?} (each channel round((1 - a) * grey + a * colour) with a = alpha * heat)"
    ))
}

fn overlay_range(t: &'static Tasks) -> Outcome {
    let gray = [50u8, 50, 50, 50];
    let heat = [1.5, -0.2, f64::NAN, 1.0];
    let got = match radlab_grade::catch_quietly(|| (t.overlay)(&gray, &heat, 0.6)) {
        Ok(g) => g,
        Err(e) => {
            return Err(format!(
                "heat [1.5, -0.2, NaN, 1] made your overlay fail ({e}): clamp to [0, 1], NaN as 0"
            ));
        }
    };
    let want = (REFERENCE.overlay)(&gray, &heat, 0.6);
    if got != want {
        return Err(format!(
            "heat [1.5, -0.2, NaN, 1] on grey 50, alpha 0.6: expected {want:?} (1.5 as 1, -0.2 and NaN as 0), got {got:?}"
        ));
    }
    Ok("heat above 1, below 0 and NaN".into())
}

fn overlay_random(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(615);
    for case in 0..50 {
        let n = r.random_range(1..300);
        let gray: Vec<u8> = (0..n).map(|_| r.random()).collect();
        let heat: Vec<f64> = (0..n).map(|_| r.random_range(0.0..1.0)).collect();
        let alpha = r.random_range(0.0..1.0);
        if (t.overlay)(&gray, &heat, alpha) != (REFERENCE.overlay)(&gray, &heat, alpha) {
            return Err(format!(
                "seeded case {case} ({}): differs from the reference blend",
                radlab_grade::seed_note(615)
            ));
        }
    }
    Ok("50 seeded pictures".into())
}

// ---- sc-header ----

fn source() -> SourceImage {
    SourceImage {
        sop_class: "1.2.840.10008.5.1.4.1.1.2".into(),
        sop_instance: "1.2.826.0.1.3680043.10.543.7".into(),
    }
}

fn header(t: &'static Tasks, d: &str) -> Result<ScHeader, String> {
    radlab_grade::catch_quietly(|| (t.sc_header)(d, &source()))
}

fn sc_caution(t: &'static Tasks) -> Outcome {
    caution_rules(
        t,
        &["Grad-CAM of nodule 1", &"a long description ".repeat(5)],
        &source(),
    )
}

fn caution_rules(t: &'static Tasks, descriptions: &[&str], src: &SourceImage) -> Outcome {
    for d in descriptions {
        let h = radlab_grade::catch_quietly(|| (t.sc_header)(d, src))?;
        if let Some(e) = caution_problem(&h) {
            return Err(e);
        }
    }
    Ok("caution first within 64 characters, YES, DERIVED\\SECONDARY, WSD".into())
}

/// What is wrong with a header's caution, burned-in flag, image type,
/// conversion type and derivation, if anything.
fn caution_problem(h: &ScHeader) -> Option<String> {
    if !h.series_description.starts_with(CAUTION) {
        return Some(format!(
            "Series Description {:?}: it must start with {CAUTION:?}. DICOM has no attribute for it; a viewer shows the description, so the caution goes first",
            h.series_description
        ));
    }
    if h.series_description.chars().count() > 64 {
        return Some(format!(
            "Series Description of {} characters: an LO holds at most 64 (cut the description, keep the caution)",
            h.series_description.chars().count()
        ));
    }
    if h.burned_in_annotation != "YES" {
        return Some(format!(
            "Burned In Annotation {:?}: the caution is burned into the pixels, so YES (a de-identifier relies on it)",
            h.burned_in_annotation
        ));
    }
    if h.image_type.first().map(String::as_str) != Some("DERIVED")
        || h.image_type.get(1).map(String::as_str) != Some("SECONDARY")
    {
        return Some(format!(
            "Image Type {:?}: a picture made from another image is DERIVED, and a secondary capture SECONDARY",
            h.image_type
        ));
    }
    if h.conversion_type != "WSD" {
        return Some(format!(
            "Conversion Type {:?}: a picture made by software on a workstation is WSD",
            h.conversion_type
        ));
    }
    if h.derivation_description.is_empty() {
        return Some("Derivation Description is empty: say how the picture was made".into());
    }
    None
}

/// What the graded checks would say about a header made for
/// `description` from `src` (the same rules, for `--mine`).
pub fn header_problem(h: &ScHeader, description: &str, src: &SourceImage) -> Option<String> {
    if let Some(e) = caution_problem(h) {
        return Some(e);
    }
    if h.source_images != [src.clone()] {
        return Some(format!(
            "Source Image Sequence {:?}: one item, the source image's SOP class and instance",
            h.source_images
        ));
    }
    if !h.derivation_description.contains(description) {
        return Some(format!(
            "Derivation Description {:?} does not hold the description {description:?}",
            h.derivation_description
        ));
    }
    None
}

fn sc_random(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(616);
    let words = [
        "Grad-CAM",
        "nodule",
        "occlusion",
        "of",
        "slice",
        "µm",
        "p=0.93",
        "left lower lobe",
    ];
    for case in 0..100 {
        let n = r.random_range(1..20);
        let d: Vec<&str> = (0..n)
            .map(|_| words[r.random_range(0..words.len())])
            .collect();
        let d = d.join(" ");
        let src = SourceImage {
            sop_class: "1.2.840.10008.5.1.4.1.1.2".into(),
            sop_instance: format!("2.25.{}", r.random::<u64>()),
        };
        caution_rules(t, &[d.as_str()], &src).map_err(|e| {
            format!(
                "seeded description {case} ({}) {d:?}: {e}",
                radlab_grade::seed_note(616)
            )
        })?;
        let h = radlab_grade::catch_quietly(|| (t.sc_header)(&d, &src))?;
        if h.source_images != vec![src.clone()] {
            return Err(format!(
                "seeded case {case} ({}): the Source Image Sequence must be the one image given, {:?}",
                radlab_grade::seed_note(616),
                src.sop_instance
            ));
        }
        if !h.derivation_description.contains(&d) {
            return Err(format!(
                "seeded case {case}: Derivation Description {:?}: say how the picture was made: it holds the description given ({d:?})",
                h.derivation_description
            ));
        }
    }
    Ok("100 seeded descriptions and sources".into())
}

fn sc_source(t: &'static Tasks) -> Outcome {
    let h = header(t, "Grad-CAM of nodule 1")?;
    if h.source_images.is_empty() {
        return Err("no Source Image Sequence: a viewer cannot open the CT slice the heat map was drawn on, and nobody can tell which image it explains".into());
    }
    if h.source_images != vec![source()] {
        return Err(format!(
            "Source Image Sequence {:?}: one item, the source image's SOP class and instance, exactly",
            h.source_images
        ));
    }
    Ok("the one source image, class and instance".into())
}

/// Every check, in the order the table shows them.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "grad-cam" => {
            "gradcam/worked": 1.0, Visible, WorkedExample, gradcam_worked;
            "gradcam/grid": 1.0, Visible, Property, gradcam_grid;
            "gradcam/random-vs-reference": 1.0, Hidden, Property, gradcam_random;
        }
        "normalise" => {
            "normalise/worked": 1.0, Visible, WorkedExample, normalise_worked;
            "normalise/random-vs-reference": 1.0, Hidden, Property, normalise_random;
        }
        "upsample" => {
            "upsample/pytorch": 1.0, Visible, WorkedExample, upsample_worked;
            "upsample/random-vs-reference": 1.0, Hidden, Property, upsample_random;
        }
        "overlay" => {
            "overlay/worked": 0.5, Visible, WorkedExample, overlay_worked;
            "overlay/range": 0.5, Visible, Property, overlay_range;
            "overlay/random-vs-reference": 1.0, Hidden, Property, overlay_random;
        }
        "sc-header" => {
            "sc/caution": 0.25, Visible, WorkedExample, sc_caution;
            "sc/source-reference": 0.25, Visible, WorkedExample, sc_source;
            "sc/random-descriptions": 0.5, Hidden, Property, sc_random;
        }
    ]
}
