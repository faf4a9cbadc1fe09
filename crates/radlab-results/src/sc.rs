//! Secondary Capture: an RGB picture of a result (outlines or a heat map
//! on the windowed slice) for the many viewers that show no SEG.
//!
//! DICOM has no "not for diagnostic use" attribute; the convention written
//! here is the one in use: SeriesDescription starting "CAUTION: Not for
//! Diagnostic Use", the same words burned into the pixels, and
//! BurnedInAnnotation YES. The image references its source slice.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject};

use crate::dataset::{put, put_seq, put_strs, put_us};
use crate::{Algorithm, Created, ResultsError, SourceSeries};

/// Secondary Capture Image Storage.
pub const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";

/// The words burned in and leading the series description.
pub const CAUTION: &str = "CAUTION: Not for Diagnostic Use";

/// The Series Description of a picture described as `description`: the
/// caution first, cut to the 64 characters of an LO.
///
/// ```
/// let d = radlab_results::sc::series_description(&"x".repeat(80));
/// assert!(d.starts_with(radlab_results::sc::CAUTION));
/// assert_eq!(d.chars().count(), 64);
/// assert!(!radlab_results::sc::series_description("a\\b").contains('\\'));
/// ```
pub fn series_description(description: &str) -> String {
    // A backslash separates values: an LO cannot hold one (nor controls).
    format!("{CAUTION} - {description}")
        .chars()
        .map(|c| if c == '\\' || c.is_control() { ' ' } else { c })
        .take(64)
        .collect()
}

/// The SC series UID.
pub fn series_uid(source: &SourceSeries, algorithm: &Algorithm, kind: &str) -> String {
    crate::result_uid(source, algorithm, &format!("sc-series|{kind}"))
}

/// The SC instance UID of slice `z`.
pub fn instance_uid(source: &SourceSeries, algorithm: &Algorithm, kind: &str, z: usize) -> String {
    crate::result_uid(source, algorithm, &format!("sc-instance|{kind}|{z}"))
}

/// An RGB image `[rows, cols]`, pixel-interleaved (`R G B R G B ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows * cols * 3` bytes.
    pub data: Vec<u8>,
}

impl Rgb {
    /// A grey picture from 8-bit values.
    pub fn from_gray(rows: usize, cols: usize, gray: &[u8]) -> Rgb {
        Rgb {
            rows,
            cols,
            data: gray.iter().flat_map(|&g| [g, g, g]).collect(),
        }
    }

    /// Colour the pixels on the edge of `mask` (`rows * cols`): a mask
    /// pixel with a 4-neighbour outside the mask or on the border.
    pub fn outline(&mut self, mask: &[bool], color: [u8; 3]) {
        let (r, c) = (self.rows, self.cols);
        for y in 0..r {
            for x in 0..c {
                if !mask[y * c + x] {
                    continue;
                }
                let edge = y == 0
                    || x == 0
                    || y + 1 == r
                    || x + 1 == c
                    || !mask[(y - 1) * c + x]
                    || !mask[(y + 1) * c + x]
                    || !mask[y * c + x - 1]
                    || !mask[y * c + x + 1];
                if edge {
                    self.data[(y * c + x) * 3..][..3].copy_from_slice(&color);
                }
            }
        }
    }

    /// Burn lines of text (8x8 glyphs, with a dark box behind) at the top
    /// left. A line wider than the picture is wrapped at spaces (a word
    /// longer than a line is cut), so the caution is never cropped.
    pub fn burn_text(&mut self, lines: &[&str], color: [u8; 3]) {
        let per_line = (self.cols.saturating_sub(4) / 8).max(1);
        self.burn_lines(&wrap(lines, per_line), color, 2);
    }

    /// Burn lines of text at the bottom left (wrapped as [`Rgb::burn_text`]
    /// wraps them): a caption that differs from picture to picture while
    /// the series description stays the same.
    pub fn caption(&mut self, lines: &[&str], color: [u8; 3]) {
        let per_line = (self.cols.saturating_sub(4) / 8).max(1);
        let lines = wrap(lines, per_line);
        let y0 = self.rows.saturating_sub(lines.len() * 10 + 2);
        self.burn_lines(&lines, color, y0);
    }

    fn burn_lines(&mut self, lines: &[String], color: [u8; 3], y0: usize) {
        use font8x8::UnicodeFonts;
        let (r, c) = (self.rows, self.cols);
        for (li, line) in lines.iter().enumerate() {
            for (ci, ch) in line.chars().enumerate() {
                let glyph = font8x8::BASIC_FONTS.get(ch).unwrap_or([0; 8]);
                for gy in 0..10 {
                    for gx in 0..8 {
                        let (x, y) = (2 + ci * 8 + gx, y0 + li * 10 + gy);
                        if x >= c || y >= r {
                            continue;
                        }
                        let on = glyph.get(gy).is_some_and(|row| row & (1 << gx) != 0);
                        let px = &mut self.data[(y * c + x) * 3..][..3];
                        px.copy_from_slice(if on { &color } else { &[0, 0, 0] });
                    }
                }
            }
        }
    }
}

/// Lines wrapped at spaces to at most `width` characters.
fn wrap(lines: &[&str], width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        let mut cur = String::new();
        for word in line.split(' ') {
            let word: String = word.chars().take(width).collect();
            let len = cur.chars().count();
            if len > 0 && len + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(&word);
        }
        out.push(cur);
    }
    out
}

/// PatientOrientation letters of a direction (LPS): the dominant axes, as
/// PS3.3 C.7.6.1.1.1 writes them (e.g. `L`, `P`, `FP` for oblique).
fn orientation_letters(v: &[f64]) -> String {
    let mut axes: Vec<(f64, char)> = [
        (v[0], if v[0] >= 0.0 { 'L' } else { 'R' }),
        (v[1], if v[1] >= 0.0 { 'P' } else { 'A' }),
        (v[2], if v[2] >= 0.0 { 'H' } else { 'F' }),
    ]
    .into_iter()
    .filter(|(c, _)| c.abs() > 1e-3)
    .collect();
    axes.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    axes.into_iter().map(|(_, l)| l).collect()
}

/// The SC of slice `z`: `picture` is drawn on (the caution line is burned
/// in here) and written with its source reference. `kind` names the
/// picture (`outline`, `gradcam`): one series per kind.
pub fn secondary_capture(
    mut picture: Rgb,
    z: usize,
    kind: &str,
    description: &str,
    source: &SourceSeries,
    algorithm: &Algorithm,
    created: &Created,
) -> Result<DefaultDicomObject, ResultsError> {
    let src = source.instances.get(z).ok_or_else(|| {
        ResultsError::Input(format!(
            "slice {z} is outside the source series ({} slices)",
            source.instances.len()
        ))
    })?;
    if picture.data.len() != picture.rows * picture.cols * 3 || picture.rows == 0 {
        return Err(ResultsError::Input(format!(
            "an RGB picture of {} x {} needs {} bytes, not {}",
            picture.rows,
            picture.cols,
            picture.rows * picture.cols * 3,
            picture.data.len()
        )));
    }
    if picture.rows > usize::from(u16::MAX) || picture.cols > usize::from(u16::MAX) {
        return Err(ResultsError::Input(
            "a picture larger than 65535 pixels a side".into(),
        ));
    }
    picture.burn_text(&[CAUTION, description], [255, 255, 0]);
    let mut o = InMemDicomObject::new_empty();
    let sop = instance_uid(source, algorithm, kind, z);
    crate::common_module(&mut o, source, algorithm, SECONDARY_CAPTURE, &sop, created);
    put(&mut o, tags::MODALITY, VR::CS, "OT");
    put(
        &mut o,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &series_uid(source, algorithm, kind),
    );
    put(&mut o, tags::SERIES_NUMBER, VR::IS, "9003");
    put(
        &mut o,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        &series_description(description),
    );
    put(
        &mut o,
        tags::BODY_PART_EXAMINED,
        VR::CS,
        source.body_part.as_deref().unwrap_or("CHEST"),
    );
    put(&mut o, tags::CONVERSION_TYPE, VR::CS, "WSD");
    put(&mut o, tags::INSTANCE_NUMBER, VR::IS, &(z + 1).to_string());
    put_strs(
        &mut o,
        tags::PATIENT_ORIENTATION,
        VR::CS,
        &[
            orientation_letters(&source.orientation[..3]),
            orientation_letters(&source.orientation[3..]),
        ],
    );
    put_strs(
        &mut o,
        tags::IMAGE_TYPE,
        VR::CS,
        &["DERIVED".into(), "SECONDARY".into()],
    );
    put(&mut o, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    put(&mut o, tags::DERIVATION_DESCRIPTION, VR::ST, description);
    put_seq(
        &mut o,
        tags::SOURCE_IMAGE_SEQUENCE,
        vec![crate::dataset::source_image_item(
            &src.sop_class,
            &src.sop_instance,
        )],
    );
    put_us(&mut o, tags::SAMPLES_PER_PIXEL, &[3]);
    put(&mut o, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB");
    put_us(&mut o, tags::PLANAR_CONFIGURATION, &[0]);
    put_us(&mut o, tags::ROWS, &[picture.rows as u16]);
    put_us(&mut o, tags::COLUMNS, &[picture.cols as u16]);
    put_us(&mut o, tags::BITS_ALLOCATED, &[8]);
    put_us(&mut o, tags::BITS_STORED, &[8]);
    put_us(&mut o, tags::HIGH_BIT, &[7]);
    put_us(&mut o, tags::PIXEL_REPRESENTATION, &[0]);
    let mut data = picture.data;
    if data.len() % 2 == 1 {
        data.push(0);
    }
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(data.into()),
    ));
    crate::to_file(o, "Secondary Capture")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orientation_letters_of_axial_and_oblique() {
        assert_eq!(orientation_letters(&[1.0, 0.0, 0.0]), "L");
        assert_eq!(orientation_letters(&[0.0, -1.0, 0.0]), "A");
        assert_eq!(orientation_letters(&[0.0, 0.6, -0.8]), "FP");
    }

    #[test]
    fn long_lines_wrap_at_spaces() {
        assert_eq!(
            wrap(&[CAUTION, "x"], 16),
            ["CAUTION: Not for", "Diagnostic Use", "x"]
        );
        assert_eq!(wrap(&["abcdefghij"], 4), ["abcd"]);
        // Every character of the caution is burned into a 192-pixel picture.
        let mut img = Rgb::from_gray(64, 192, &[0; 64 * 192]);
        img.burn_text(&[CAUTION], [255, 255, 0]);
        let lit_rows = (0..64)
            .filter(|y| (0..192).any(|x| img.data[(y * 192 + x) * 3] == 255))
            .count();
        assert!(lit_rows > 10, "two lines of text: {lit_rows} rows lit");
    }

    #[test]
    fn outline_marks_the_edge_only() {
        let mut img = Rgb::from_gray(5, 5, &[0; 25]);
        let mask: Vec<bool> = (0..25)
            .map(|i| (1..4).contains(&(i / 5)) && (1..4).contains(&(i % 5)))
            .collect();
        img.outline(&mask, [255, 0, 0]);
        let red = |y: usize, x: usize| img.data[(y * 5 + x) * 3] == 255;
        assert!(red(1, 1) && red(1, 2) && red(3, 3));
        assert!(!red(2, 2) && !red(0, 0));
    }
}
