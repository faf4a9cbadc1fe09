//! Binary Segmentation (SEG): one segment per finding.
//!
//! Frames: by default only the slices where a segment has voxels
//! ([`Frames::NonEmpty`]). A 300-slice CT with three small nodules would
//! otherwise carry 900 frames that are all zero; readers rebuild the empty
//! ones from the per-frame positions, as highdicom does by default. Every
//! frame names its source instance (Derivation Image Sequence) and its
//! position, so either choice places the mask exactly.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject};

use crate::dataset::{ds, put, put_at, put_code, put_ds, put_seq, put_strs, put_ul, put_us};
use crate::{Algorithm, Code, Created, Finding, ResultsError, SourceSeries};

/// Segmentation Storage.
pub const SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.4";

/// Which source slices get a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Frames {
    /// Only slices where the segment has voxels (the default).
    #[default]
    NonEmpty,
    /// Every source slice, for every segment.
    All,
}

/// The SEG's Series Instance UID.
pub fn series_uid(source: &SourceSeries, algorithm: &Algorithm) -> String {
    crate::result_uid(source, algorithm, "seg-series")
}

/// The SEG's SOP Instance UID.
pub fn instance_uid(source: &SourceSeries, algorithm: &Algorithm) -> String {
    crate::result_uid(source, algorithm, "seg-instance")
}

/// One frame: which segment, which source slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef {
    /// Segment number (1-based).
    pub segment: u16,
    /// Source slice index `z`.
    pub z: usize,
}

/// The frames a SEG of `findings` holds, in order (by segment, then z).
pub fn frame_list(findings: &[Finding], slices: usize, frames: Frames) -> Vec<FrameRef> {
    let mut out = Vec::new();
    for f in findings {
        let mut zs: Vec<usize> = match frames {
            Frames::All => (0..slices).collect(),
            Frames::NonEmpty => f.voxels.iter().map(|v| v[0]).collect(),
        };
        zs.dedup();
        out.extend(zs.into_iter().map(|z| FrameRef {
            segment: f.number,
            z,
        }));
    }
    out
}

fn segment_item(f: &Finding, source: &SourceSeries, algorithm: &Algorithm) -> InMemDicomObject {
    let mut s = InMemDicomObject::new_empty();
    put_us(&mut s, tags::SEGMENT_NUMBER, &[f.number]);
    put(&mut s, tags::SEGMENT_LABEL, VR::LO, &f.tracking_id());
    put(&mut s, tags::SEGMENT_ALGORITHM_TYPE, VR::CS, "AUTOMATIC");
    put(
        &mut s,
        tags::SEGMENT_ALGORITHM_NAME,
        VR::LO,
        &algorithm.name,
    );
    put_code(
        &mut s,
        tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE,
        &Code::new("49755003", "SCT", "Morphologically Altered Structure"),
    );
    put_code(
        &mut s,
        tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE,
        &crate::tid1500::codes::nodule(),
    );
    put_code(
        &mut s,
        tags::ANATOMIC_REGION_SEQUENCE,
        &crate::tid1500::codes::lung(),
    );
    let mut alg = InMemDicomObject::new_empty();
    put_code(
        &mut alg,
        tags::ALGORITHM_FAMILY_CODE_SEQUENCE,
        &Code::new("123110", "DCM", "Artificial Intelligence"),
    );
    put(&mut alg, tags::ALGORITHM_NAME, VR::LO, &algorithm.name);
    put(
        &mut alg,
        tags::ALGORITHM_VERSION,
        VR::LO,
        &algorithm.version,
    );
    put_seq(
        &mut s,
        tags::SEGMENTATION_ALGORITHM_IDENTIFICATION_SEQUENCE,
        vec![alg],
    );
    put(&mut s, tags::TRACKING_ID, VR::UT, &f.tracking_id());
    put(
        &mut s,
        tags::TRACKING_UID,
        VR::UI,
        &f.tracking_uid(source, algorithm),
    );
    s
}

/// The SEG as a DICOM file.
pub fn segmentation(
    findings: &[Finding],
    source: &SourceSeries,
    algorithm: &Algorithm,
    frames: Frames,
    created: &Created,
) -> Result<DefaultDicomObject, ResultsError> {
    if findings.is_empty() {
        return Err(ResultsError::Input(
            "a SEG needs at least one segment: there are no findings".into(),
        ));
    }
    if let Some((i, f)) = findings
        .iter()
        .enumerate()
        .find(|(i, f)| usize::from(f.number) != i + 1)
    {
        return Err(ResultsError::Input(format!(
            "finding {} is number {}: segments are numbered 1, 2, ... in order",
            i + 1,
            f.number
        )));
    }
    let [rows, cols] = source.rows_cols;
    let slices = source.instances.len();
    if let Some(f) = findings.iter().find(|f| {
        f.voxels
            .iter()
            .any(|v| v[0] >= slices || v[1] >= rows || v[2] >= cols)
    }) {
        return Err(ResultsError::Input(format!(
            "finding {} has voxels outside the source grid [{slices}, {rows}, {cols}]",
            f.number
        )));
    }
    let list = frame_list(findings, slices, frames);
    let mut o = InMemDicomObject::new_empty();
    let sop = instance_uid(source, algorithm);
    crate::common_module(
        &mut o,
        source,
        algorithm,
        SEGMENTATION_STORAGE,
        &sop,
        created,
    );
    crate::dataset::series(
        &mut o,
        "SEG",
        &series_uid(source, algorithm),
        "9001",
        "AI nodule segmentation",
    );
    put(
        &mut o,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        &source.frame_of_reference_uid,
    );
    crate::dataset::put_empty(&mut o, tags::POSITION_REFERENCE_INDICATOR, VR::LO);
    if let Some(b) = &source.body_part {
        put(&mut o, tags::BODY_PART_EXAMINED, VR::CS, b);
    }
    put_strs(
        &mut o,
        tags::IMAGE_TYPE,
        VR::CS,
        &["DERIVED".into(), "PRIMARY".into()],
    );
    put(&mut o, tags::CONTENT_LABEL, VR::CS, "NODULES");
    put(
        &mut o,
        tags::CONTENT_DESCRIPTION,
        VR::LO,
        "Lung nodules found by the model",
    );
    crate::dataset::put_empty(&mut o, tags::CONTENT_CREATOR_NAME, VR::PN);
    put_us(&mut o, tags::SAMPLES_PER_PIXEL, &[1]);
    put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put_us(&mut o, tags::ROWS, &[rows as u16]);
    put_us(&mut o, tags::COLUMNS, &[cols as u16]);
    put_us(&mut o, tags::BITS_ALLOCATED, &[1]);
    put_us(&mut o, tags::BITS_STORED, &[1]);
    put_us(&mut o, tags::HIGH_BIT, &[0]);
    put_us(&mut o, tags::PIXEL_REPRESENTATION, &[0]);
    put(&mut o, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    put(&mut o, tags::SEGMENTATION_TYPE, VR::CS, "BINARY");
    put_seq(
        &mut o,
        tags::SEGMENT_SEQUENCE,
        findings
            .iter()
            .map(|f| segment_item(f, source, algorithm))
            .collect(),
    );
    put(
        &mut o,
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        &list.len().to_string(),
    );

    // Dimensions: segment number, then position.
    let dim_uid = crate::result_uid(source, algorithm, "seg-dimensions");
    let mut org = InMemDicomObject::new_empty();
    put(&mut org, tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dim_uid);
    put_seq(&mut o, tags::DIMENSION_ORGANIZATION_SEQUENCE, vec![org]);
    let dim = |pointer, group, label: &str| {
        let mut d = InMemDicomObject::new_empty();
        put(&mut d, tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dim_uid);
        put_at(&mut d, tags::DIMENSION_INDEX_POINTER, pointer);
        put_at(&mut d, tags::FUNCTIONAL_GROUP_POINTER, group);
        put(&mut d, tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, label);
        d
    };
    put_seq(
        &mut o,
        tags::DIMENSION_INDEX_SEQUENCE,
        vec![
            dim(
                tags::REFERENCED_SEGMENT_NUMBER,
                tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                "ReferencedSegmentNumber",
            ),
            dim(
                tags::IMAGE_POSITION_PATIENT,
                tags::PLANE_POSITION_SEQUENCE,
                "ImagePositionPatient",
            ),
        ],
    );

    // Shared functional groups: pixel measures and orientation.
    let mut shared = InMemDicomObject::new_empty();
    let mut pm = InMemDicomObject::new_empty();
    put_ds(&mut pm, tags::PIXEL_SPACING, &source.pixel_spacing);
    put(
        &mut pm,
        tags::SLICE_THICKNESS,
        VR::DS,
        &ds(source.slice_spacing),
    );
    put(
        &mut pm,
        tags::SPACING_BETWEEN_SLICES,
        VR::DS,
        &ds(source.slice_spacing),
    );
    put_seq(&mut shared, tags::PIXEL_MEASURES_SEQUENCE, vec![pm]);
    let mut po = InMemDicomObject::new_empty();
    put_ds(
        &mut po,
        tags::IMAGE_ORIENTATION_PATIENT,
        &source.orientation,
    );
    put_seq(&mut shared, tags::PLANE_ORIENTATION_SEQUENCE, vec![po]);
    put_seq(
        &mut o,
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![shared],
    );

    // Per-frame groups. The position index counts the distinct slices used,
    // in z order, from 1.
    let mut used: Vec<usize> = list.iter().map(|f| f.z).collect();
    used.sort_unstable();
    used.dedup();
    let per_frame = list
        .iter()
        .map(|fr| {
            let src = &source.instances[fr.z];
            let mut g = InMemDicomObject::new_empty();
            let mut fc = InMemDicomObject::new_empty();
            let pos = used.binary_search(&fr.z).expect("z is in the list") as u32 + 1;
            put_ul(
                &mut fc,
                tags::DIMENSION_INDEX_VALUES,
                &[u32::from(fr.segment), pos],
            );
            put_seq(&mut g, tags::FRAME_CONTENT_SEQUENCE, vec![fc]);
            let mut pp = InMemDicomObject::new_empty();
            put_ds(&mut pp, tags::IMAGE_POSITION_PATIENT, &src.position);
            put_seq(&mut g, tags::PLANE_POSITION_SEQUENCE, vec![pp]);
            let si = crate::dataset::source_image_item(&src.sop_class, &src.sop_instance);
            let mut di = InMemDicomObject::new_empty();
            put_seq(&mut di, tags::SOURCE_IMAGE_SEQUENCE, vec![si]);
            put_code(
                &mut di,
                tags::DERIVATION_CODE_SEQUENCE,
                &Code::new("113076", "DCM", "Segmentation"),
            );
            put_seq(&mut g, tags::DERIVATION_IMAGE_SEQUENCE, vec![di]);
            let mut sid = InMemDicomObject::new_empty();
            put_us(&mut sid, tags::REFERENCED_SEGMENT_NUMBER, &[fr.segment]);
            put_seq(&mut g, tags::SEGMENT_IDENTIFICATION_SEQUENCE, vec![sid]);
            g
        })
        .collect();
    put_seq(
        &mut o,
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        per_frame,
    );

    // Common Instance Reference: the source series and its instances.
    let mut series = InMemDicomObject::new_empty();
    put(
        &mut series,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &source.series_uid,
    );
    put_seq(
        &mut series,
        tags::REFERENCED_INSTANCE_SEQUENCE,
        source
            .instances
            .iter()
            .map(|i| crate::dataset::sop_ref(&i.sop_class, &i.sop_instance))
            .collect(),
    );
    put_seq(&mut o, tags::REFERENCED_SERIES_SEQUENCE, vec![series]);

    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(pack_frames(findings, &list, rows, cols).into()),
    ));
    crate::to_file(o, "SEG")
}

/// Frames as one bit stream, pixel after pixel, frame after frame, the
/// first pixel in the least significant bit (PS3.5 8.1.1, BitsAllocated 1);
/// padded to an even length.
pub fn pack_frames(findings: &[Finding], list: &[FrameRef], rows: usize, cols: usize) -> Vec<u8> {
    let per = rows * cols;
    let bits = per * list.len();
    let mut out = vec![0u8; bits.div_ceil(8).next_multiple_of(2)];
    for (i, fr) in list.iter().enumerate() {
        let f = &findings[usize::from(fr.segment) - 1];
        // voxels are sorted, so this slice's voxels are one run.
        let start = f.voxels.partition_point(|v| v[0] < fr.z);
        for v in f.voxels[start..].iter().take_while(|v| v[0] == fr.z) {
            let bit = i * per + v[1] * cols + v[2];
            out[bit / 8] |= 1 << (bit % 8);
        }
    }
    out
}

/// Unpack frame `i` of a [`pack_frames`] stream into a `rows * cols` mask.
pub fn unpack_frame(data: &[u8], i: usize, rows: usize, cols: usize) -> Vec<bool> {
    let per = rows * cols;
    (0..per)
        .map(|p| {
            let bit = i * per + p;
            data.get(bit / 8).is_some_and(|b| b & (1 << (bit % 8)) != 0)
        })
        .collect()
}
