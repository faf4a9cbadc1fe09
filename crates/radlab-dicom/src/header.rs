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
}

fn required_u16(path: &Path, obj: &InMemDicomObject, tag: dicom_core::Tag) -> Result<u16> {
    let v = attrs::int(obj, tag).ok_or_else(|| DicomError::MissingAttribute {
        path: path.to_owned(),
        tag: attrs::tag_string(tag),
        keyword: attrs::keyword(tag),
    })?;
    u16::try_from(v).map_err(|_| DicomError::InvalidValue {
        path: path.to_owned(),
        tag: attrs::tag_string(tag),
        keyword: attrs::keyword(tag),
        value: v.to_string(),
        reason: "out of range".into(),
    })
}

fn arr3(v: Vec<f64>) -> Option<[f64; 3]> {
    (v.len() >= 3).then(|| [v[0], v[1], v[2]])
}

fn arr6(v: Vec<f64>) -> Option<[f64; 6]> {
    (v.len() >= 6).then(|| [v[0], v[1], v[2], v[3], v[4], v[5]])
}

impl ImageHeader {
    /// Read the header facts from an object opened with or without pixel data.
    pub fn from_object(path: &Path, obj: &dicom_object::DefaultDicomObject) -> Result<Self> {
        let sop_class_uid = attrs::string(obj, tags::SOP_CLASS_UID).unwrap_or_else(|| {
            obj.meta()
                .media_storage_sop_class_uid()
                .trim_end_matches('\0')
                .to_string()
        });
        if obj.get(tags::ROWS).is_none() {
            return Err(DicomError::NoPixelData {
                path: path.to_owned(),
                sop_class: sop_class_uid,
            });
        }
        let rows = required_u16(path, obj, tags::ROWS)?;
        let cols = required_u16(path, obj, tags::COLUMNS)?;
        let bits_allocated = required_u16(path, obj, tags::BITS_ALLOCATED)?;
        let bits_stored =
            attrs::int(obj, tags::BITS_STORED).unwrap_or(bits_allocated.into()) as u16;
        let high_bit = attrs::int(obj, tags::HIGH_BIT).unwrap_or(i64::from(bits_stored) - 1) as u16;
        let signed = attrs::int(obj, tags::PIXEL_REPRESENTATION).unwrap_or(0) == 1;
        let samples_per_pixel = attrs::int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1) as u16;
        let photometric = attrs::string(obj, tags::PHOTOMETRIC_INTERPRETATION)
            .unwrap_or_else(|| "MONOCHROME2".into());
        let bad = |reason: String| DicomError::UnsupportedImage {
            path: path.to_owned(),
            reason,
        };
        if rows == 0 || cols == 0 {
            return Err(bad(format!("image is {rows}x{cols}")));
        }
        if samples_per_pixel != 1 || !photometric.starts_with("MONOCHROME") {
            return Err(bad(format!(
                "{photometric} with {samples_per_pixel} sample(s) per pixel; a volume holds one grayscale value per voxel (MONOCHROME1/2)"
            )));
        }
        if ![8, 16, 32].contains(&bits_allocated) {
            return Err(bad(format!(
                "BitsAllocated {bits_allocated}; volumes are read from 8, 16 or 32-bit pixels"
            )));
        }
        if bits_stored == 0
            || bits_stored > bits_allocated
            || high_bit >= bits_allocated
            || high_bit + 1 < bits_stored
        {
            return Err(bad(format!(
                "inconsistent BitsAllocated {bits_allocated} / BitsStored {bits_stored} / HighBit {high_bit}"
            )));
        }
        let frames = attrs::int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as usize;

        let mut placements = Vec::with_capacity(frames);
        let mut rescales = Vec::with_capacity(frames);
        let instance_number = attrs::int(obj, tags::INSTANCE_NUMBER);
        for f in 0..frames {
            let position = attrs::functional(obj, f, tags::PLANE_POSITION_SEQUENCE, |o| {
                attrs::floats(o, tags::IMAGE_POSITION_PATIENT).and_then(arr3)
            });
            let orientation = attrs::functional(obj, f, tags::PLANE_ORIENTATION_SEQUENCE, |o| {
                attrs::floats(o, tags::IMAGE_ORIENTATION_PATIENT).and_then(arr6)
            });
            let slope = attrs::functional(obj, f, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE, |o| {
                attrs::float(o, tags::RESCALE_SLOPE)
            });
            let intercept =
                attrs::functional(obj, f, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE, |o| {
                    attrs::float(o, tags::RESCALE_INTERCEPT)
                });
            // A single-frame file keeps its InstanceNumber; frames of one file keep their order.
            let number = if frames == 1 { instance_number } else { None };
            placements.push(Placement {
                position,
                orientation,
                instance_number: number,
            });
            rescales.push(Rescale {
                slope: slope.filter(|s| *s != 0.0).unwrap_or(1.0),
                intercept: intercept.unwrap_or(0.0),
            });
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
        let two = |v: Vec<f64>| (v.len() >= 2 && v[0] > 0.0 && v[1] > 0.0).then(|| [v[0], v[1]]);
        let pixel_spacing = attrs::functional(obj, 0, tags::PIXEL_MEASURES_SEQUENCE, |o| {
            attrs::floats(o, tags::PIXEL_SPACING).and_then(two)
        })
        .map(|s| (s, "PixelSpacing"))
        .or_else(|| {
            attrs::floats(obj, tags::IMAGER_PIXEL_SPACING)
                .and_then(two)
                .map(|s| (s, "ImagerPixelSpacing"))
        });
        let spacing_between_slices =
            attrs::functional(obj, 0, tags::PIXEL_MEASURES_SEQUENCE, |o| {
                attrs::float(o, tags::SPACING_BETWEEN_SLICES)
            })
            .filter(|v| *v > 0.0);
        let slice_thickness = attrs::functional(obj, 0, tags::PIXEL_MEASURES_SEQUENCE, |o| {
            attrs::float(o, tags::SLICE_THICKNESS)
        })
        .filter(|v| *v > 0.0);
        let window = attrs::functional(obj, 0, tags::FRAME_VOILUT_SEQUENCE, |o| {
            match (
                attrs::float(o, tags::WINDOW_CENTER),
                attrs::float(o, tags::WINDOW_WIDTH),
            ) {
                (Some(c), Some(w)) => Some((c, w)),
                _ => None,
            }
        });
        Ok(ImageHeader {
            path: path.to_owned(),
            transfer_syntax: obj
                .meta()
                .transfer_syntax()
                .trim_end_matches('\0')
                .to_string(),
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
        })
    }

    /// Open `path` without its pixel data and read the header facts.
    pub fn read(path: &Path) -> Result<Self> {
        let obj = crate::file::open_header(path)?;
        Self::from_object(path, &obj)
    }
}
