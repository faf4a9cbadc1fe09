//! Writing a phantom as a DICOM CT series (CT Image Storage, Explicit VR Little Endian).

use std::path::{Path, PathBuf};

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use ndarray::Axis;
use rayon::prelude::*;

use crate::SynthError;
use crate::identity::Identity;
use crate::phantom::Phantom;
use crate::vendor::Vendor;

/// RescaleIntercept of every synthetic series: stored value = HU + 1024.
pub const RESCALE_INTERCEPT: f64 = -1024.0;

/// The private creator of the block that carries identifying data on purpose.
pub const PRIVATE_CREATOR: &str = "RADLAB SYNTH PHI";

/// Everything the series writer needs besides the voxels.
#[derive(Debug, Clone)]
pub struct SeriesHeader<'a> {
    /// Seed the UIDs derive from.
    pub seed: u64,
    /// The scanner.
    pub vendor: &'a Vendor,
    /// The fake patient and visit.
    pub identity: &'a Identity,
    /// Whether identifying text is burned into the pixels.
    pub burned_in: bool,
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) {
    obj.put(DataElement::new(tag, vr, value.into()));
}

fn put_multi(obj: &mut InMemDicomObject, tag: Tag, vr: VR, values: &[String]) {
    obj.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(values.iter().cloned().collect()),
    ));
}

/// Format a decimal string (DS) without exceeding 16 characters.
fn ds(v: f64) -> String {
    let s = format!("{v}");
    if s.len() <= 16 { s } else { format!("{v:.6}") }
}

/// Draw text into a slice of stored values with the 8x8 bitmap font.
fn burn_text(pixels: &mut [i16], cols: usize, rows: usize, lines: &[String], value: i16) {
    use font8x8::UnicodeFonts;
    for (li, line) in lines.iter().enumerate() {
        for (ci, ch) in line.chars().enumerate() {
            let Some(glyph) = font8x8::BASIC_FONTS.get(ch) else {
                continue;
            };
            for (gy, bits) in glyph.iter().enumerate() {
                for gx in 0..8 {
                    if bits & (1 << gx) != 0 {
                        let x = 4 + ci * 8 + gx;
                        let y = 4 + li * 10 + gy;
                        if x < cols && y < rows {
                            pixels[y * cols + x] = value;
                        }
                    }
                }
            }
        }
    }
}

/// The HU volume as the written DICOM pixels show it: with the case's
/// identifying lines burned into every slice at 1900 HU when
/// `spec.burned_in` is set (as [`crate::write_case`] does), else unchanged.
pub fn hu_as_written(case: &crate::Case) -> ndarray::Array3<i16> {
    let mut hu = case.phantom.hu.clone();
    if case.spec.burned_in {
        let lines = burned_in_lines(&case.identity);
        let (_, ny, nx) = hu.dim();
        for mut slice in hu.outer_iter_mut() {
            if let Some(px) = slice.as_slice_mut() {
                burn_text(px, nx, ny, &lines, 1900);
            }
        }
    }
    hu
}

/// The identifying lines burned into pixels when asked.
pub fn burned_in_lines(identity: &Identity) -> Vec<String> {
    vec![
        identity.patient_name.replace('^', " "),
        format!("ID {}", identity.patient_id),
        format!("DOB {}", identity.birth_date),
    ]
}

/// The file names of a series of `n` slices, in z order.
pub fn slice_file_name(instance_number: usize) -> String {
    format!("IM{instance_number:05}.dcm")
}

/// Write the phantom as one file per axial slice into `dir` (created if needed).
///
/// InstanceNumber 1 is the most superior slice, as a head-first scan
/// acquires it; file names follow InstanceNumber. Files are written to a
/// temporary name and renamed.
pub fn write_series(
    phantom: &Phantom,
    header: &SeriesHeader<'_>,
    dir: &Path,
) -> Result<Vec<PathBuf>, SynthError> {
    std::fs::create_dir_all(dir).map_err(|e| SynthError::Io {
        path: dir.to_owned(),
        reason: e.to_string(),
    })?;
    let [nz, ny, nx] = [
        phantom.hu.shape()[0],
        phantom.hu.shape()[1],
        phantom.hu.shape()[2],
    ];
    let id = header.identity;
    let v = header.vendor;
    let seed = header.seed;
    let study_uid = radlab_dicom::uid::derived(seed, "study");
    let series_uid = radlab_dicom::uid::derived(seed, "series");
    let for_uid = radlab_dicom::uid::derived(seed, "frame-of-reference");
    let impl_uid = radlab_dicom::uid::derived(0, "radlab implementation");
    let lines = burned_in_lines(id);

    (0..nz)
        .into_par_iter()
        .map(|z| {
            let instance = nz - z;
            let sop_uid = radlab_dicom::uid::derived(seed, &format!("instance-{instance}"));
            let mut o = InMemDicomObject::new_empty();
            put(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100");
            put_multi(
                &mut o,
                tags::IMAGE_TYPE,
                VR::CS,
                &["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
            );
            put(
                &mut o,
                tags::INSTANCE_CREATION_DATE,
                VR::DA,
                id.study_date.as_str(),
            );
            put(
                &mut o,
                tags::INSTANCE_CREATION_TIME,
                VR::TM,
                id.study_time.as_str(),
            );
            put(&mut o, tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE);
            put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop_uid.as_str());
            put(&mut o, tags::STUDY_DATE, VR::DA, id.study_date.as_str());
            put(&mut o, tags::SERIES_DATE, VR::DA, id.study_date.as_str());
            put(
                &mut o,
                tags::ACQUISITION_DATE,
                VR::DA,
                id.study_date.as_str(),
            );
            put(&mut o, tags::CONTENT_DATE, VR::DA, id.study_date.as_str());
            put(&mut o, tags::STUDY_TIME, VR::TM, id.study_time.as_str());
            put(&mut o, tags::SERIES_TIME, VR::TM, id.study_time.as_str());
            put(
                &mut o,
                tags::ACQUISITION_TIME,
                VR::TM,
                id.study_time.as_str(),
            );
            put(&mut o, tags::CONTENT_TIME, VR::TM, id.study_time.as_str());
            put(
                &mut o,
                tags::ACCESSION_NUMBER,
                VR::SH,
                id.accession.as_str(),
            );
            put(&mut o, tags::MODALITY, VR::CS, "CT");
            put(&mut o, tags::MANUFACTURER, VR::LO, v.manufacturer);
            put(&mut o, tags::INSTITUTION_NAME, VR::LO, id.institution);
            put(
                &mut o,
                tags::INSTITUTION_ADDRESS,
                VR::ST,
                id.institution_address,
            );
            put(
                &mut o,
                tags::REFERRING_PHYSICIAN_NAME,
                VR::PN,
                id.referring_physician.as_str(),
            );
            put(&mut o, tags::STATION_NAME, VR::SH, id.station.as_str());
            put(
                &mut o,
                tags::STUDY_DESCRIPTION,
                VR::LO,
                format!("CT CHEST FOLLOW-UP {}", id.spoken_name()),
            );
            put(
                &mut o,
                tags::SERIES_DESCRIPTION,
                VR::LO,
                format!("CHEST {} 2.5MM", v.kernel),
            );
            put(&mut o, tags::OPERATORS_NAME, VR::PN, id.operator.as_str());
            put(&mut o, tags::MANUFACTURER_MODEL_NAME, VR::LO, v.model);
            put(&mut o, tags::PATIENT_NAME, VR::PN, id.patient_name.as_str());
            put(&mut o, tags::PATIENT_ID, VR::LO, id.patient_id.as_str());
            put(
                &mut o,
                tags::PATIENT_BIRTH_DATE,
                VR::DA,
                id.birth_date.as_str(),
            );
            put(&mut o, tags::PATIENT_SEX, VR::CS, id.sex);
            let mut other = InMemDicomObject::new_empty();
            put(
                &mut other,
                tags::PATIENT_ID,
                VR::LO,
                id.other_patient_id.as_str(),
            );
            put(
                &mut other,
                tags::ISSUER_OF_PATIENT_ID,
                VR::LO,
                "ST AGATHA MRN",
            );
            put(&mut other, tags::TYPE_OF_PATIENT_ID, VR::CS, "TEXT");
            o.put(DataElement::new(
                tags::OTHER_PATIENT_I_DS_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![other]),
            ));
            put(&mut o, tags::PATIENT_AGE, VR::AS, id.age_string());
            put(&mut o, tags::BODY_PART_EXAMINED, VR::CS, "CHEST");
            put(&mut o, tags::SLICE_THICKNESS, VR::DS, ds(phantom.spacing.z));
            put(&mut o, tags::KVP, VR::DS, ds(v.kvp));
            put(
                &mut o,
                tags::DEVICE_SERIAL_NUMBER,
                VR::LO,
                format!("SN{:06}", seed % 1_000_000),
            );
            put(
                &mut o,
                tags::SOFTWARE_VERSIONS,
                VR::LO,
                concat!("radlab-synth ", env!("CARGO_PKG_VERSION")),
            );
            put(&mut o, tags::CONVOLUTION_KERNEL, VR::SH, v.kernel);
            put(&mut o, tags::PATIENT_POSITION, VR::CS, "HFS");
            put(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, study_uid.as_str());
            put(
                &mut o,
                tags::SERIES_INSTANCE_UID,
                VR::UI,
                series_uid.as_str(),
            );
            put(
                &mut o,
                tags::STUDY_ID,
                VR::SH,
                format!("{}", seed % 100_000),
            );
            put(&mut o, tags::SERIES_NUMBER, VR::IS, "2");
            put(&mut o, tags::ACQUISITION_NUMBER, VR::IS, "1");
            put(&mut o, tags::INSTANCE_NUMBER, VR::IS, instance.to_string());
            let p = [
                phantom.origin[0],
                phantom.origin[1],
                phantom.origin[2] + z as f64 * phantom.spacing.z,
            ];
            put_multi(
                &mut o,
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                &[ds(p[0]), ds(p[1]), ds(p[2])],
            );
            put_multi(
                &mut o,
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                &[
                    "1".into(),
                    "0".into(),
                    "0".into(),
                    "0".into(),
                    "1".into(),
                    "0".into(),
                ],
            );
            put(
                &mut o,
                tags::FRAME_OF_REFERENCE_UID,
                VR::UI,
                for_uid.as_str(),
            );
            put(&mut o, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
            put(&mut o, tags::SLICE_LOCATION, VR::DS, ds(p[2]));
            put(
                &mut o,
                tags::SAMPLES_PER_PIXEL,
                VR::US,
                PrimitiveValue::from(1u16),
            );
            put(
                &mut o,
                tags::PHOTOMETRIC_INTERPRETATION,
                VR::CS,
                "MONOCHROME2",
            );
            put(&mut o, tags::ROWS, VR::US, PrimitiveValue::from(ny as u16));
            put(
                &mut o,
                tags::COLUMNS,
                VR::US,
                PrimitiveValue::from(nx as u16),
            );
            put_multi(
                &mut o,
                tags::PIXEL_SPACING,
                VR::DS,
                &[ds(phantom.spacing.y), ds(phantom.spacing.x)],
            );
            put(
                &mut o,
                tags::BITS_ALLOCATED,
                VR::US,
                PrimitiveValue::from(16u16),
            );
            put(
                &mut o,
                tags::BITS_STORED,
                VR::US,
                PrimitiveValue::from(16u16),
            );
            put(&mut o, tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16));
            put(
                &mut o,
                tags::PIXEL_REPRESENTATION,
                VR::US,
                PrimitiveValue::from(1u16),
            );
            put(
                &mut o,
                tags::BURNED_IN_ANNOTATION,
                VR::CS,
                if header.burned_in { "YES" } else { "NO" },
            );
            put_multi(
                &mut o,
                tags::WINDOW_CENTER,
                VR::DS,
                &["-600".into(), "40".into()],
            );
            put_multi(
                &mut o,
                tags::WINDOW_WIDTH,
                VR::DS,
                &["1500".into(), "400".into()],
            );
            put(
                &mut o,
                tags::RESCALE_INTERCEPT,
                VR::DS,
                ds(RESCALE_INTERCEPT),
            );
            put(&mut o, tags::RESCALE_SLOPE, VR::DS, "1");
            put(&mut o, tags::RESCALE_TYPE, VR::LO, "HU");
            put_multi(
                &mut o,
                tags::WINDOW_CENTER_WIDTH_EXPLANATION,
                VR::LO,
                &["LUNG".into(), "MEDIASTINUM".into()],
            );
            // A private block that carries identifying data, as some scanners do.
            put(&mut o, Tag(0x0009, 0x0010), VR::LO, PRIVATE_CREATOR);
            put(
                &mut o,
                Tag(0x0009, 0x1001),
                VR::LO,
                format!("{} {}", id.patient_name, id.patient_id),
            );
            put(&mut o, Tag(0x0009, 0x1002), VR::DA, id.birth_date.as_str());
            put(&mut o, Tag(0x0009, 0x1003), VR::LO, id.phone.as_str());

            let mut stored: Vec<i16> = phantom
                .hu
                .index_axis(Axis(0), z)
                .iter()
                .map(|&h| (i32::from(h) - RESCALE_INTERCEPT as i32) as i16)
                .collect();
            if header.burned_in {
                burn_text(
                    &mut stored,
                    nx,
                    ny,
                    &lines,
                    (1900.0 - RESCALE_INTERCEPT) as i16,
                );
            }
            let words: Vec<u16> = stored.iter().map(|&s| s as u16).collect();
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(words.into()),
            ));

            let meta = FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .implementation_class_uid(impl_uid.as_str())
                .implementation_version_name("RADLAB_0_1");
            let file = o
                .with_meta(meta)
                .map_err(|e| SynthError::Dicom(e.to_string()))?;
            let path = dir.join(slice_file_name(instance));
            radlab_dicom::write::write_dicom_atomic(&path, &file)
                .map_err(|e| SynthError::Dicom(e.to_string()))?;
            Ok(path)
        })
        .collect()
}
