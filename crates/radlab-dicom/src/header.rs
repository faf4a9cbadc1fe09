//! What radlab reads from one file's header to place and decode its frames.

use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::attrs;
use crate::error::{DicomError, Result};
use crate::geometry::Placement;
use crate::pixels::{PixelLayout, Rescale};

/// Per-file facts needed to build a volume (read without pixel data).
#[derive(Debug, Clone)]
pub struct ImageHeader {
    /// The file.
    pub path: PathBuf,
    /// Transfer Syntax UID from the file meta group.
    pub transfer_syntax: String,
    /// SOP Class UID.
    pub sop_class_uid: String,
    /// SOP Instance UID.
    pub sop_instance_uid: String,
    /// Series Instance UID (empty when absent).
    pub series_uid: String,
    /// Modality (empty when absent).
    pub modality: String,
    /// Photometric Interpretation, e.g. MONOCHROME2.
    pub photometric: String,
    /// Samples per Pixel.
    pub samples_per_pixel: u16,
    /// Stored pixel layout.
    pub layout: PixelLayout,
    /// Number of Frames (1 when absent).
    pub frames: usize,
    /// Placement of each frame.
    pub placements: Vec<Placement>,
    /// Rescale of each frame.
    pub rescales: Vec<Rescale>,
    /// In-plane spacing (row spacing = y, column spacing = x), mm, and where it came from.
    pub pixel_spacing: Option<([f64; 2], &'static str)>,
    /// SpacingBetweenSlices (0018,0088), mm.
    pub spacing_between_slices: Option<f64>,
    /// SliceThickness (0018,0050), mm.
    pub slice_thickness: Option<f64>,
    /// First WindowCenter / WindowWidth pair from the header, if any.
    pub window: Option<(f64, f64)>,
    /// What was assumed for a missing value, or a quirk of the file read anyway.
    pub warnings: Vec<String>,
}

fn required_u16(path: &Path, obj: &InMemDicomObject, tag: dicom_core::Tag) -> Result<u16> {
    let v = attrs::integer(obj, tag)
        .map_err(|raw| invalid(path, tag, raw, "not a whole number".into()))?
        .ok_or_else(|| DicomError::MissingAttribute {
            path: path.to_owned(),
            tag: attrs::tag_string(tag),
            keyword: attrs::keyword(tag),
        })?;
    u16::try_from(v).map_err(|_| invalid(path, tag, v.to_string(), "out of range".into()))
}

fn invalid(path: &Path, tag: dicom_core::Tag, value: String, reason: String) -> DicomError {
    DicomError::InvalidValue {
        path: path.to_owned(),
        tag: attrs::tag_string(tag),
        keyword: attrs::keyword(tag),
        value,
        reason,
    }
}

/// Transfer syntaxes whose Pixel Data is native (not encapsulated).
const NATIVE_SYNTAXES: [&str; 5] = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.8.1",
];

/// An optional u16 attribute, refused when present but not a value in `0..=u16::MAX`.
fn optional_u16(path: &Path, obj: &InMemDicomObject, tag: dicom_core::Tag) -> Result<Option<u16>> {
    match attrs::integer(obj, tag) {
        Ok(None) => Ok(None),
        Ok(Some(v)) => u16::try_from(v)
            .map(Some)
            .map_err(|_| invalid(path, tag, v.to_string(), "out of range".into())),
        Err(raw) => Err(invalid(path, tag, raw, "not a whole number".into())),
    }
}

/// Numbers of `tag` for one frame (per-frame, shared, then top level),
/// refused when present but not `count` finite numbers.
fn frame_numbers(
    path: &Path,
    obj: &InMemDicomObject,
    frame: usize,
    group_seq: dicom_core::Tag,
    tag: dicom_core::Tag,
    count: usize,
) -> Result<Option<Vec<f64>>> {
    let Some(holder) = attrs::functional_holder(obj, frame, group_seq, tag) else {
        return Ok(None);
    };
    let what = match count {
        1 => "a finite number".to_string(),
        n => format!("{n} finite numbers"),
    };
    match attrs::numbers(holder, tag) {
        Ok(Some(v)) if v.len() == count => Ok(Some(v)),
        Ok(Some(v)) => Err(invalid(
            path,
            tag,
            attrs::raw_text(holder.get(tag).expect("holder has the tag")),
            format!("{} value(s) where {what} are required", v.len()),
        )),
        Ok(None) => Ok(None),
        Err(raw) => Err(invalid(path, tag, raw, format!("not {what}"))),
    }
}

impl ImageHeader {
    /// Read the header facts from an object opened with or without pixel data.
    ///
    /// `layout` (from the pre-scan) lets the declared sizes be checked
    /// against the Pixel Data really present; without it they are checked
    /// against the memory budget only.
    pub fn from_object(
        path: &Path,
        obj: &dicom_object::DefaultDicomObject,
        layout: Option<&crate::prescan::Layout>,
    ) -> Result<Self> {
        let sop_class_uid = attrs::string(obj, tags::SOP_CLASS_UID).unwrap_or_else(|| {
            obj.meta()
                .media_storage_sop_class_uid()
                .trim_end_matches('\0')
                .to_string()
        });
        let pixel_data = layout.and_then(|l| l.pixel_data);
        if obj.get(tags::ROWS).is_none() {
            if pixel_data.is_some() {
                return Err(DicomError::MissingAttribute {
                    path: path.to_owned(),
                    tag: attrs::tag_string(tags::ROWS),
                    keyword: attrs::keyword(tags::ROWS),
                });
            }
            return Err(DicomError::NoPixelData {
                path: path.to_owned(),
                sop_class: sop_class_uid,
            });
        }
        if layout.is_some() && pixel_data.is_none() {
            return Err(DicomError::NoPixelData {
                path: path.to_owned(),
                sop_class: sop_class_uid,
            });
        }
        let mut warnings = Vec::new();
        let rows = required_u16(path, obj, tags::ROWS)?;
        let cols = required_u16(path, obj, tags::COLUMNS)?;
        if rows == 0 {
            return Err(invalid(
                path,
                tags::ROWS,
                "0".into(),
                "an image has at least one row".into(),
            ));
        }
        if cols == 0 {
            return Err(invalid(
                path,
                tags::COLUMNS,
                "0".into(),
                "an image has at least one column".into(),
            ));
        }
        let bits_allocated = required_u16(path, obj, tags::BITS_ALLOCATED)?;
        let bits_stored = optional_u16(path, obj, tags::BITS_STORED)?.unwrap_or(bits_allocated);
        let high_bit =
            optional_u16(path, obj, tags::HIGH_BIT)?.unwrap_or(bits_stored.saturating_sub(1));
        let signed = match optional_u16(path, obj, tags::PIXEL_REPRESENTATION)? {
            Some(0) => false,
            Some(1) => true,
            Some(v) => {
                return Err(invalid(
                    path,
                    tags::PIXEL_REPRESENTATION,
                    v.to_string(),
                    "must be 0 (unsigned) or 1 (two's complement)".into(),
                ));
            }
            None => {
                warnings.push(
                    "no PixelRepresentation (0028,0103): pixels read as unsigned".to_string(),
                );
                false
            }
        };
        let samples_per_pixel = optional_u16(path, obj, tags::SAMPLES_PER_PIXEL)?.unwrap_or(1);
        if samples_per_pixel == 0 {
            return Err(invalid(
                path,
                tags::SAMPLES_PER_PIXEL,
                "0".into(),
                "a pixel has at least one sample".into(),
            ));
        }
        let photometric = match attrs::string(obj, tags::PHOTOMETRIC_INTERPRETATION) {
            Some(p) => attrs::printable(&p),
            None => {
                warnings.push(
                    "no PhotometricInterpretation (0028,0004): MONOCHROME2 assumed".to_string(),
                );
                "MONOCHROME2".into()
            }
        };
        let bad = |reason: String| DicomError::UnsupportedImage {
            path: path.to_owned(),
            reason,
        };
        if samples_per_pixel != 1 || !photometric.starts_with("MONOCHROME") {
            return Err(bad(format!(
                "PhotometricInterpretation (0028,0004) '{photometric}' with SamplesPerPixel (0028,0002) {samples_per_pixel}; a volume holds one grayscale value per voxel (MONOCHROME1/2)"
            )));
        }
        if ![8, 16, 32].contains(&bits_allocated) {
            return Err(bad(format!(
                "BitsAllocated {bits_allocated}; volumes are read from 8, 16 or 32-bit pixels"
            )));
        }
        if bits_stored == 0 || bits_stored > bits_allocated {
            return Err(invalid(
                path,
                tags::BITS_STORED,
                bits_stored.to_string(),
                format!("must be between 1 and BitsAllocated ({bits_allocated})"),
            ));
        }
        if high_bit >= bits_allocated || high_bit + 1 < bits_stored {
            return Err(invalid(
                path,
                tags::HIGH_BIT,
                high_bit.to_string(),
                format!(
                    "inconsistent with BitsAllocated {bits_allocated} and BitsStored {bits_stored} (HighBit is normally BitsStored - 1)"
                ),
            ));
        }
        let frames = match attrs::integer(obj, tags::NUMBER_OF_FRAMES) {
            Ok(None) => 1usize,
            Ok(Some(n)) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
            Ok(Some(n)) => {
                return Err(invalid(
                    path,
                    tags::NUMBER_OF_FRAMES,
                    n.to_string(),
                    "must be 1 or more".into(),
                ));
            }
            Err(raw) => {
                return Err(invalid(
                    path,
                    tags::NUMBER_OF_FRAMES,
                    raw,
                    "not a whole number".into(),
                ));
            }
        };
        let ts = obj
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_string();
        let native = NATIVE_SYNTAXES.contains(&ts.as_str());
        let frame_bytes = u128::from(rows) * u128::from(cols) * u128::from(bits_allocated / 8);
        if let Some(pd) = pixel_data {
            if pd.encapsulated && native {
                return Err(invalid(
                    path,
                    dicom_core::Tag(0x0002, 0x0010),
                    ts.clone(),
                    format!(
                        "{} is a native transfer syntax but Pixel Data (7FE0,0010) is encapsulated in {} fragment(s)",
                        crate::pixels::transfer_syntax_name(&ts),
                        pd.fragments
                    ),
                ));
            }
            if !pd.encapsulated && !native {
                return Err(invalid(
                    path,
                    dicom_core::Tag(0x0002, 0x0010),
                    ts.clone(),
                    format!(
                        "{} compresses pixel data, but Pixel Data (7FE0,0010) holds {} native bytes, not fragments",
                        crate::pixels::transfer_syntax_name(&ts),
                        pd.value_len
                    ),
                ));
            }
            if pd.encapsulated {
                if pd.fragments == 0 {
                    return Err(DicomError::Malformed {
                        path: path.to_owned(),
                        reason: "encapsulated Pixel Data (7FE0,0010) holds no fragment".into(),
                    });
                }
                if frames > pd.fragments {
                    return Err(invalid(
                        path,
                        tags::NUMBER_OF_FRAMES,
                        frames.to_string(),
                        format!(
                            "the encapsulated Pixel Data has only {} fragment(s), and each frame needs at least one",
                            pd.fragments
                        ),
                    ));
                }
            } else {
                let need = frame_bytes * frames as u128;
                if need > u128::from(pd.value_len) {
                    let reason = format!(
                        "{frames} frame(s) of {rows} x {cols} at {bits_allocated} bits need {need} bytes, but Pixel Data (7FE0,0010) holds {}",
                        pd.value_len
                    );
                    return Err(if frames > 1 {
                        invalid(path, tags::NUMBER_OF_FRAMES, frames.to_string(), reason)
                    } else {
                        DicomError::InvalidValue {
                            path: path.to_owned(),
                            tag: "(0028,0010)/(0028,0011)/(0028,0100)".into(),
                            keyword: "Rows x Columns x BitsAllocated",
                            value: format!("{rows} x {cols} x {bits_allocated}"),
                            reason,
                        }
                    });
                }
                // One byte of padding to an even length is normal; more means
                // the header describes less than the file holds.
                if u128::from(pd.value_len) > need + 1 {
                    warnings.push(format!(
                        "Pixel Data (7FE0,0010) holds {} bytes; {frames} frame(s) of {rows} x {cols} at {bits_allocated} bits use the first {need}, the rest is ignored",
                        pd.value_len
                    ));
                }
            }
        }
        let budget = crate::limits::memory_budget();
        let voxels = u128::from(rows) * u128::from(cols) * frames as u128;
        if budget.check(voxels, 4).is_err() {
            return Err(invalid(
                path,
                if frames > 1 {
                    tags::NUMBER_OF_FRAMES
                } else {
                    tags::ROWS
                },
                if frames > 1 {
                    frames.to_string()
                } else {
                    rows.to_string()
                },
                format!(
                    "{frames} frame(s) of {rows} x {cols} would need {} as 32-bit values; {}",
                    crate::limits::human_bytes(voxels * 4),
                    budget.describe()
                ),
            ));
        }
        let stored_range = if signed {
            (
                -(2f64.powi(i32::from(bits_stored) - 1)),
                2f64.powi(i32::from(bits_stored) - 1) - 1.0,
            )
        } else {
            (0.0, 2f64.powi(i32::from(bits_stored)) - 1.0)
        };

        let mut placements = Vec::with_capacity(frames.min(1 << 16));
        let mut rescales = Vec::with_capacity(frames.min(1 << 16));
        let instance_number = attrs::int(obj, tags::INSTANCE_NUMBER);
        let ct = attrs::string(obj, tags::MODALITY).as_deref() == Some("CT");
        for f in 0..frames {
            let position = frame_numbers(
                path,
                obj,
                f,
                tags::PLANE_POSITION_SEQUENCE,
                tags::IMAGE_POSITION_PATIENT,
                3,
            )?
            .map(|v| [v[0], v[1], v[2]]);
            // Patient coordinates beyond 10 km are no patient's: arithmetic
            // on them would also overflow to infinity.
            if let Some(p) = position.filter(|p| p.iter().any(|x| x.abs() > 1e7)) {
                return Err(invalid(
                    path,
                    tags::IMAGE_POSITION_PATIENT,
                    format!("{:e}\\{:e}\\{:e}", p[0], p[1], p[2]),
                    "a coordinate beyond 1e7 mm".into(),
                ));
            }
            let orientation = frame_numbers(
                path,
                obj,
                f,
                tags::PLANE_ORIENTATION_SEQUENCE,
                tags::IMAGE_ORIENTATION_PATIENT,
                6,
            )?
            .map(|v| [v[0], v[1], v[2], v[3], v[4], v[5]]);
            if let Some(o) = orientation {
                let tol = crate::limits::ORIENTATION_TOLERANCE;
                let r = [o[0], o[1], o[2]];
                let c = [o[3], o[4], o[5]];
                let unit = |v: [f64; 3]| (crate::geometry::dot(v, v).sqrt() - 1.0).abs() <= tol;
                if !unit(r) || !unit(c) || crate::geometry::dot(r, c).abs() > tol {
                    let holder = attrs::functional_holder(
                        obj,
                        f,
                        tags::PLANE_ORIENTATION_SEQUENCE,
                        tags::IMAGE_ORIENTATION_PATIENT,
                    )
                    .expect("orientation was read from a holder");
                    return Err(invalid(
                        path,
                        tags::IMAGE_ORIENTATION_PATIENT,
                        attrs::raw_text(
                            holder
                                .get(tags::IMAGE_ORIENTATION_PATIENT)
                                .expect("present"),
                        ),
                        format!("not two orthogonal unit vectors (tolerance {tol})"),
                    ));
                }
            }
            let slope = frame_numbers(
                path,
                obj,
                f,
                tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                tags::RESCALE_SLOPE,
                1,
            )?
            .map(|v| v[0]);
            let intercept = frame_numbers(
                path,
                obj,
                f,
                tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                tags::RESCALE_INTERCEPT,
                1,
            )?
            .map(|v| v[0]);
            if slope == Some(0.0) {
                return Err(invalid(
                    path,
                    tags::RESCALE_SLOPE,
                    "0".into(),
                    "a slope of 0 maps every pixel to the intercept".into(),
                ));
            }
            // A slope so small that 32-bit values cannot tell stored values apart.
            if let Some(sl) = slope.filter(|sl| sl.abs() < 1e-20) {
                return Err(invalid(
                    path,
                    tags::RESCALE_SLOPE,
                    format!("{sl:e}"),
                    "too small: in 32-bit floats every pixel would equal the intercept".into(),
                ));
            }
            if f == 0 && ct && (slope.is_none() || intercept.is_none()) {
                warnings.push(format!(
                    "CT without {}: assumed slope 1 and intercept 0",
                    match (slope, intercept) {
                        (None, None) => "RescaleSlope or RescaleIntercept",
                        (None, _) => "RescaleSlope",
                        _ => "RescaleIntercept",
                    }
                ));
            }
            let rescale = Rescale {
                slope: slope.unwrap_or(1.0),
                intercept: intercept.unwrap_or(0.0),
            };
            let reach = (rescale.slope * stored_range.0 + rescale.intercept)
                .abs()
                .max((rescale.slope * stored_range.1 + rescale.intercept).abs());
            // `reach` is finite here (finite slope and intercept), so `>=` is the whole test.
            if reach >= f64::from(f32::MAX) {
                let (tag, value) = if rescale.intercept.abs() >= rescale.slope.abs() {
                    (tags::RESCALE_INTERCEPT, rescale.intercept)
                } else {
                    (tags::RESCALE_SLOPE, rescale.slope)
                };
                return Err(invalid(
                    path,
                    tag,
                    format!("{value:e}"),
                    format!(
                        "maps {bits_stored}-bit stored values to magnitudes up to {reach:e}, beyond a 32-bit float"
                    ),
                ));
            }
            // A single-frame file keeps its InstanceNumber; frames of one file keep their order.
            let number = if frames == 1 { instance_number } else { None };
            placements.push(Placement {
                position,
                orientation,
                instance_number: number,
            });
            rescales.push(rescale);
        }
        // Multi-frame objects without per-frame positions (legacy multi-frame,
        // RT Dose) repeat the one top-level position for every frame; RT Dose
        // places its frames with GridFrameOffsetVector (PS3.3 C.8.8.3.2).
        let per_frame_positions = attrs::items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
            .first()
            .is_some_and(|f| !attrs::items(f, tags::PLANE_POSITION_SEQUENCE).is_empty());
        if frames > 1 && !per_frame_positions {
            let offsets =
                attrs::floats(obj, tags::GRID_FRAME_OFFSET_VECTOR).filter(|o| o.len() == frames);
            let base = placements[0].position;
            let normal = placements[0]
                .orientation
                .map(|o| crate::geometry::cross([o[0], o[1], o[2]], [o[3], o[4], o[5]]));
            for (k, p) in placements.iter_mut().enumerate() {
                p.position = match (&offsets, base, normal) {
                    (Some(off), Some(b), Some(n)) if off[0] == 0.0 => Some([
                        b[0] + off[k] * n[0],
                        b[1] + off[k] * n[1],
                        b[2] + off[k] * n[2],
                    ]),
                    // A non-zero first offset holds absolute z positions (axial only).
                    (Some(off), Some(b), Some(n)) if n[2].abs() > 0.9999 => {
                        Some([b[0], b[1], off[k]])
                    }
                    _ => None,
                };
            }
        }
        if obj.get(tags::MODALITY_LUT_SEQUENCE).is_some() {
            return Err(bad(
                "a Modality LUT Sequence (a non-linear table) maps its stored values; radlab applies only linear RescaleSlope/RescaleIntercept".into(),
            ));
        }
        // Projection radiographs often write 0\\0 for "unknown"; a volume
        // from a cross-sectional modality cannot do without its spacing.
        let modality = attrs::string(obj, tags::MODALITY).unwrap_or_default();
        let volumetric = matches!(modality.as_str(), "CT" | "MR" | "PT" | "NM");
        let mut zero_spacing = None;
        let mut spacing_pair =
            |holder: &InMemDicomObject, tag: dicom_core::Tag| -> Result<Option<[f64; 2]>> {
                match attrs::numbers(holder, tag) {
                    Ok(None) => Ok(None),
                    Ok(Some(v))
                        if v.len() == 2
                            && crate::limits::plausible_spacing(v[0])
                            && crate::limits::plausible_spacing(v[1]) =>
                    {
                        Ok(Some([v[0], v[1]]))
                    }
                    Ok(Some(v)) if v.len() == 2 && v[0] == 0.0 && v[1] == 0.0 && !volumetric => {
                        zero_spacing = Some(attrs::keyword(tag));
                        Ok(None)
                    }
                    Ok(Some(_)) | Err(_) => Err(invalid(
                        path,
                        tag,
                        attrs::raw_text(holder.get(tag).expect("present")),
                        format!(
                            "needs two numbers (row spacing, column spacing) between {} and {} mm",
                            crate::limits::MIN_SPACING_MM,
                            crate::limits::MAX_SPACING_MM
                        ),
                    )),
                }
            };
        let pixel_spacing = match attrs::functional_holder(
            obj,
            0,
            tags::PIXEL_MEASURES_SEQUENCE,
            tags::PIXEL_SPACING,
        ) {
            Some(h) => spacing_pair(h, tags::PIXEL_SPACING)?.map(|s| (s, "PixelSpacing")),
            None => None,
        };
        let pixel_spacing = match pixel_spacing {
            Some(p) => Some(p),
            None => {
                spacing_pair(obj, tags::IMAGER_PIXEL_SPACING)?.map(|s| (s, "ImagerPixelSpacing"))
            }
        };
        if let (Some(k), None) = (zero_spacing, pixel_spacing) {
            warnings.push(format!(
                "{k} is 0\\0 (unknown spacing, as {modality} files often write it)"
            ));
        }
        // Slice spacing attributes are fallbacks (positions come first): a
        // value that cannot be a spacing is set aside with a warning.
        let mut positive = |tag: dicom_core::Tag| -> Result<Option<f64>> {
            let v =
                frame_numbers(path, obj, 0, tags::PIXEL_MEASURES_SEQUENCE, tag, 1)?.map(|v| v[0]);
            match v {
                Some(x) if crate::limits::plausible_spacing(x) => Ok(Some(x)),
                Some(x) => {
                    warnings.push(format!(
                        "{} {} ({}) is not a spacing between {} and {} mm; not used",
                        attrs::keyword(tag),
                        attrs::tag_string(tag),
                        x,
                        crate::limits::MIN_SPACING_MM,
                        crate::limits::MAX_SPACING_MM
                    ));
                    Ok(None)
                }
                None => Ok(None),
            }
        };
        let spacing_between_slices = positive(tags::SPACING_BETWEEN_SLICES)?;
        let slice_thickness = positive(tags::SLICE_THICKNESS)?;
        let window = attrs::functional(obj, 0, tags::FRAME_VOILUT_SEQUENCE, |o| {
            match (
                attrs::float(o, tags::WINDOW_CENTER),
                attrs::float(o, tags::WINDOW_WIDTH),
            ) {
                (Some(c), Some(w)) => Some((c, w)),
                _ => None,
            }
        });
        // PS3.3 C.11.2.1.2: WindowWidth is at least 1.
        let window = match window {
            Some((c, w)) if w >= 1.0 => Some((c, w)),
            Some((c, w)) => {
                warnings.push(format!(
                    "the header window (center {c}, width {w}) has a width below 1; ignored"
                ));
                None
            }
            None => None,
        };
        if placements.iter().all(|p| p.orientation.is_none()) {
            warnings
                .push("no ImageOrientationPatient (0020,0037): axial slices assumed".to_string());
        }
        Ok(ImageHeader {
            path: path.to_owned(),
            transfer_syntax: ts,
            sop_instance_uid: attrs::string(obj, tags::SOP_INSTANCE_UID).unwrap_or_default(),
            sop_class_uid,
            series_uid: attrs::string(obj, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
            modality: attrs::string(obj, tags::MODALITY).unwrap_or_default(),
            photometric,
            samples_per_pixel,
            layout: PixelLayout {
                rows: rows.into(),
                cols: cols.into(),
                bits_allocated,
                bits_stored,
                high_bit,
                signed,
            },
            frames,
            placements,
            rescales,
            pixel_spacing,
            spacing_between_slices,
            slice_thickness,
            window,
            warnings,
        })
    }

    /// Open `path` without its pixel data and read the header facts.
    pub fn read(path: &Path) -> Result<Self> {
        let opened = crate::file::open_header_with_layout(path)?;
        let mut h = Self::from_object(path, &opened.obj, Some(&opened.layout))?;
        h.warnings
            .splice(0..0, opened.layout.quirks.iter().cloned());
        Ok(h)
    }
}
