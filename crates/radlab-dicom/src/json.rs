//! DICOM JSON (PS3.18 Annex F) export of headers.

use dicom_object::DefaultDicomObject;

/// The header of a file as a DICOM JSON object (PS3.18 F.2).
///
/// Pass an object opened with [`crate::file::open_header`] to leave the pixel
/// data out; the file meta group is included as dicom-json writes it.
pub fn to_dicom_json(obj: &DefaultDicomObject) -> serde_json::Value {
    dicom_json::to_value(obj).unwrap_or(serde_json::Value::Null)
}
