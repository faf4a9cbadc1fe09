//! What a result object needs from its source series.

use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use radlab_dicom::Volume;

use crate::ResultsError;
use crate::dataset::get;

/// Patient and study attributes copied into every result object (all Type 2
/// in the Patient and General Study modules, so missing ones stay empty).
pub const PATIENT_STUDY: &[(dicom_core::Tag, VR)] = &[
    (tags::PATIENT_NAME, VR::PN),
    (tags::PATIENT_ID, VR::LO),
    (tags::PATIENT_BIRTH_DATE, VR::DA),
    (tags::PATIENT_SEX, VR::CS),
    (tags::STUDY_INSTANCE_UID, VR::UI),
    (tags::STUDY_DATE, VR::DA),
    (tags::STUDY_TIME, VR::TM),
    (tags::REFERRING_PHYSICIAN_NAME, VR::PN),
    (tags::STUDY_ID, VR::SH),
    (tags::ACCESSION_NUMBER, VR::SH),
];

/// One source instance (a slice of the volume).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInstance {
    /// SOP Class UID.
    pub sop_class: String,
    /// SOP Instance UID.
    pub sop_instance: String,
    /// LPS position (mm) of its first pixel's centre.
    pub position: [f64; 3],
}

/// The source series of a result: geometry from the loaded volume, UIDs and
/// the patient/study attributes from its files.
#[derive(Debug, Clone)]
pub struct SourceSeries {
    /// Study Instance UID.
    pub study_uid: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// Frame of Reference UID.
    pub frame_of_reference_uid: String,
    /// Patient and study attributes of the first file, as found.
    pub patient_study: InMemDicomObject,
    /// Body Part Examined, when the source says.
    pub body_part: Option<String>,
    /// One per z slice of the volume, in volume order.
    pub instances: Vec<SourceInstance>,
    /// `[rows, columns]` of a slice.
    pub rows_cols: [usize; 2],
    /// Pixel spacing (row, column) in mm, i.e. `(y, x)`.
    pub pixel_spacing: [f64; 2],
    /// Spacing between slices, mm.
    pub slice_spacing: f64,
    /// ImageOrientationPatient: row then column direction cosines.
    pub orientation: [f64; 6],
}

impl SourceSeries {
    /// Read what the writers need from the files `volume` came from.
    pub fn from_volume(volume: &Volume) -> Result<SourceSeries, ResultsError> {
        if volume.slices.is_empty() {
            return Err(ResultsError::Input("the volume has no slices".into()));
        }
        let mut instances = Vec::with_capacity(volume.slices.len());
        let mut first: Option<InMemDicomObject> = None;
        for (z, (path, frame)) in volume.slices.iter().enumerate() {
            let obj = radlab_dicom::open_header(path).map_err(|e| ResultsError::Source {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let need = |tag, name: &str| {
                get(&obj, tag).ok_or_else(|| ResultsError::Source {
                    path: path.clone(),
                    reason: format!("{name} is missing"),
                })
            };
            if *frame != 0 {
                return Err(ResultsError::Input(format!(
                    "{}: frame {frame} of a multi-frame file; result objects reference single-frame sources only",
                    path.display()
                )));
            }
            instances.push(SourceInstance {
                sop_class: need(tags::SOP_CLASS_UID, "SOPClassUID (0008,0016)")?,
                sop_instance: need(tags::SOP_INSTANCE_UID, "SOPInstanceUID (0008,0018)")?,
                position: volume.position(z as f64, 0.0, 0.0),
            });
            if first.is_none() {
                first = Some((*obj).clone());
            }
        }
        let first = first.expect("at least one slice");
        let path0 = &volume.slices[0].0;
        let need0 = |tag, name: &str| {
            get(&first, tag).ok_or_else(|| ResultsError::Source {
                path: path0.clone(),
                reason: format!("{name} is missing"),
            })
        };
        let study_uid = need0(tags::STUDY_INSTANCE_UID, "StudyInstanceUID (0020,000D)")?;
        let frame_of_reference_uid = need0(
            tags::FRAME_OF_REFERENCE_UID,
            "FrameOfReferenceUID (0020,0052)",
        )?;
        let mut patient_study = InMemDicomObject::new_empty();
        crate::dataset::copy_attrs(&first, &mut patient_study, PATIENT_STUDY);
        let s = volume.shape();
        let (r, c) = (volume.row_dir, volume.col_dir);
        Ok(SourceSeries {
            study_uid,
            series_uid: volume.series_uid.clone(),
            frame_of_reference_uid,
            patient_study,
            body_part: get(&first, tags::BODY_PART_EXAMINED),
            instances,
            rows_cols: [s[1], s[2]],
            pixel_spacing: [volume.spacing.y, volume.spacing.x],
            slice_spacing: volume.spacing.z,
            orientation: [r[0], r[1], r[2], c[0], c[1], c[2]],
        })
    }
}
