//! Human-readable metadata summaries, grouped as a radiologist would read them,
//! and a finder for attributes that carry identifying data.

use dicom_core::Tag;
use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use serde::Serialize;

use crate::attrs;

/// One attribute shown in a summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Entry {
    /// Tag as `(gggg,eeee)`.
    pub tag: String,
    /// Keyword from the standard dictionary.
    pub keyword: String,
    /// Value as text (multiple values joined with `\`).
    pub value: String,
}

/// A named group of attributes (Patient, Study, ...).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Group {
    /// Group name.
    pub name: &'static str,
    /// Attributes present in the file, in a fixed order.
    pub entries: Vec<Entry>,
}

const GROUPS: &[(&str, &[Tag])] = &[
    (
        "Patient",
        &[
            tags::PATIENT_NAME,
            tags::PATIENT_ID,
            tags::PATIENT_BIRTH_DATE,
            tags::PATIENT_SEX,
            tags::PATIENT_AGE,
            tags::PATIENT_WEIGHT,
        ],
    ),
    (
        "Study",
        &[
            tags::STUDY_INSTANCE_UID,
            tags::STUDY_ID,
            tags::STUDY_DATE,
            tags::STUDY_TIME,
            tags::STUDY_DESCRIPTION,
            tags::ACCESSION_NUMBER,
            tags::REFERRING_PHYSICIAN_NAME,
        ],
    ),
    (
        "Series",
        &[
            tags::SERIES_INSTANCE_UID,
            tags::SERIES_NUMBER,
            tags::MODALITY,
            tags::SERIES_DESCRIPTION,
            tags::SERIES_DATE,
            tags::BODY_PART_EXAMINED,
            tags::PATIENT_POSITION,
            tags::FRAME_OF_REFERENCE_UID,
        ],
    ),
    (
        "Equipment",
        &[
            tags::MANUFACTURER,
            tags::MANUFACTURER_MODEL_NAME,
            tags::STATION_NAME,
            tags::INSTITUTION_NAME,
            tags::SOFTWARE_VERSIONS,
            tags::DEVICE_SERIAL_NUMBER,
        ],
    ),
    (
        "Acquisition",
        &[
            tags::KVP,
            tags::X_RAY_TUBE_CURRENT,
            tags::EXPOSURE_TIME,
            tags::CONVOLUTION_KERNEL,
            tags::SLICE_THICKNESS,
            tags::SPACING_BETWEEN_SLICES,
            tags::MAGNETIC_FIELD_STRENGTH,
            tags::REPETITION_TIME,
            tags::ECHO_TIME,
            tags::CONTRAST_BOLUS_AGENT,
        ],
    ),
    (
        "Image",
        &[
            tags::SOP_CLASS_UID,
            tags::SOP_INSTANCE_UID,
            tags::INSTANCE_NUMBER,
            tags::IMAGE_TYPE,
            tags::ROWS,
            tags::COLUMNS,
            tags::NUMBER_OF_FRAMES,
            tags::BITS_ALLOCATED,
            tags::BITS_STORED,
            tags::PIXEL_REPRESENTATION,
            tags::PHOTOMETRIC_INTERPRETATION,
            tags::PIXEL_SPACING,
            tags::IMAGE_POSITION_PATIENT,
            tags::IMAGE_ORIENTATION_PATIENT,
            tags::RESCALE_SLOPE,
            tags::RESCALE_INTERCEPT,
            tags::WINDOW_CENTER,
            tags::WINDOW_WIDTH,
            tags::BURNED_IN_ANNOTATION,
        ],
    ),
];

/// Text of an element's value: strings joined with `\`, sequences as `[n item(s)]`.
pub fn value_text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let e = obj.get(tag)?;
    if let Some(t) = attrs::un_text(e) {
        return Some(t);
    }
    Some(match e.value() {
        Value::Sequence(s) => format!("[{} item(s)]", s.items().len()),
        Value::PixelSequence(p) => format!("[{} fragment(s)]", p.fragments().len()),
        Value::Primitive(p) => {
            if p.calculate_byte_len() > 256 {
                format!("<{} bytes>", p.calculate_byte_len())
            } else {
                p.to_multi_str()
                    .iter()
                    .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
                    .collect::<Vec<_>>()
                    .join("\\")
            }
        }
    })
}

/// The grouped summary of a file: Patient, Study, Series, Equipment,
/// Acquisition, Image (the transfer syntax is added to Image).
pub fn summarize(obj: &DefaultDicomObject) -> Vec<Group> {
    let mut out = Vec::new();
    for (name, list) in GROUPS {
        let mut entries = Vec::new();
        for &tag in *list {
            if let Some(v) = value_text(obj, tag) {
                entries.push(Entry {
                    tag: attrs::tag_string(tag),
                    keyword: attrs::keyword(tag).to_string(),
                    value: v,
                });
            }
        }
        if *name == "Image" {
            let ts = obj
                .meta()
                .transfer_syntax()
                .trim_end_matches('\0')
                .to_string();
            entries.push(Entry {
                tag: "(0002,0010)".into(),
                keyword: "TransferSyntaxUID".into(),
                value: format!("{ts} ({})", crate::pixels::transfer_syntax_name(&ts)),
            });
        }
        out.push(Group { name, entries });
    }
    out
}

/// Attributes that identify a person, an institution or a time, from the
/// Basic Application Level Confidentiality Profile (PS3.15 Table E.1-1);
/// a representative subset used to point at identifying data, not a de-identifier.
pub const IDENTIFYING: &[Tag] = &[
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    tags::ISSUER_OF_PATIENT_ID,
    tags::PATIENT_BIRTH_DATE,
    tags::PATIENT_BIRTH_TIME,
    tags::PATIENT_SEX,
    tags::PATIENT_AGE,
    tags::PATIENT_WEIGHT,
    tags::PATIENT_SIZE,
    tags::PATIENT_ADDRESS,
    tags::PATIENT_TELEPHONE_NUMBERS,
    tags::PATIENT_MOTHER_BIRTH_NAME,
    Tag(0x0010, 0x1000), // OtherPatientIDs (retired, still common)
    tags::OTHER_PATIENT_NAMES,
    tags::OTHER_PATIENT_I_DS_SEQUENCE,
    tags::MILITARY_RANK,
    Tag(0x0010, 0x2160), // EthnicGroup (retired, still common)
    tags::PATIENT_COMMENTS,
    tags::ACCESSION_NUMBER,
    tags::STUDY_ID,
    tags::STUDY_DATE,
    tags::STUDY_TIME,
    tags::SERIES_DATE,
    tags::SERIES_TIME,
    tags::ACQUISITION_DATE,
    tags::ACQUISITION_TIME,
    tags::ACQUISITION_DATE_TIME,
    tags::CONTENT_DATE,
    tags::CONTENT_TIME,
    tags::INSTANCE_CREATION_DATE,
    tags::INSTANCE_CREATION_TIME,
    tags::STUDY_DESCRIPTION,
    tags::SERIES_DESCRIPTION,
    tags::INSTITUTION_NAME,
    tags::INSTITUTION_ADDRESS,
    tags::INSTITUTIONAL_DEPARTMENT_NAME,
    tags::REFERRING_PHYSICIAN_NAME,
    tags::PERFORMING_PHYSICIAN_NAME,
    tags::NAME_OF_PHYSICIANS_READING_STUDY,
    tags::OPERATORS_NAME,
    tags::PHYSICIANS_OF_RECORD,
    tags::STATION_NAME,
    tags::DEVICE_SERIAL_NUMBER,
    tags::PROTOCOL_NAME,
    tags::REQUESTING_PHYSICIAN,
    tags::ADMITTING_DIAGNOSES_DESCRIPTION,
    tags::STUDY_INSTANCE_UID,
    tags::SERIES_INSTANCE_UID,
    tags::SOP_INSTANCE_UID,
    tags::FRAME_OF_REFERENCE_UID,
];

/// An attribute found by [`find_identifying`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IdentifyingTag {
    /// Path from the top level, e.g. `OtherPatientIDsSequence[0] > PatientID (0010,0020)`.
    pub path: String,
    /// Tag as `(gggg,eeee)`.
    pub tag: String,
    /// Keyword, or `private` for private attributes.
    pub keyword: String,
    /// Why it is listed.
    pub reason: &'static str,
    /// The value (callers mask it before printing; see [`mask`]).
    pub value: String,
}

/// Find every non-empty identifying attribute at any sequence depth, plus
/// every private attribute (which may carry anything).
pub fn find_identifying(obj: &InMemDicomObject) -> Vec<IdentifyingTag> {
    let mut out = Vec::new();
    walk(obj, "", &mut out);
    out
}

fn walk(obj: &InMemDicomObject, prefix: &str, out: &mut Vec<IdentifyingTag>) {
    for e in obj.iter() {
        let tag = e.header().tag;
        let kw = attrs::keyword(tag);
        let name = if tag.group() % 2 == 1 {
            "private".to_string()
        } else if kw.is_empty() {
            attrs::tag_string(tag)
        } else {
            kw.to_string()
        };
        let here = format!("{prefix}{name} {}", attrs::tag_string(tag));
        if let Value::Sequence(seq) = e.value() {
            if IDENTIFYING.contains(&tag) && !seq.items().is_empty() {
                out.push(IdentifyingTag {
                    path: here.clone(),
                    tag: attrs::tag_string(tag),
                    keyword: name.clone(),
                    reason: "sequence of identifiers",
                    value: format!("[{} item(s)]", seq.items().len()),
                });
            }
            for (i, item) in seq.items().iter().enumerate() {
                walk(item, &format!("{prefix}{name}[{i}] > "), out);
            }
            continue;
        }
        let private = tag.group() % 2 == 1 && tag.element() >= 0x1000;
        if !(IDENTIFYING.contains(&tag) || private) {
            continue;
        }
        let value = value_text(obj, tag).unwrap_or_default();
        if value.trim().is_empty() {
            continue;
        }
        out.push(IdentifyingTag {
            path: here,
            tag: attrs::tag_string(tag),
            keyword: name,
            reason: if private {
                "private attribute (may carry anything)"
            } else {
                "PS3.15 Table E.1-1"
            },
            value,
        });
    }
}

/// Mask a value for display: keep the first character and the length.
///
/// ```
/// assert_eq!(radlab_dicom::summary::mask("DOE^JANE"), "D******* (8 chars)");
/// ```
pub fn mask(value: &str) -> String {
    let n = value.chars().count();
    match value.chars().next() {
        Some(c) if n > 1 => format!("{c}{} ({n} chars)", "*".repeat(n - 1)),
        Some(_) => "* (1 char)".into(),
        None => String::new(),
    }
}
