//! The types the exercise works with: the SR content items and codes of
//! radlab-results, and the inputs of each task. The exercise, the reference
//! and the checks all depend on this file, and it depends on none of them.

pub use radlab_results::Code;
pub use radlab_results::dataset::ds;
pub use radlab_results::sr::{Item, Relationship, Value};
pub use radlab_results::tid1500::{EvidenceSeries, EvidenceStudy, Group, Reference};

/// SOP Class UID of Segmentation Storage (the Referenced Segment's class).
pub const SEGMENTATION_STORAGE: &str = radlab_results::seg::SEGMENTATION_STORAGE;

/// The concept names of TID 1411 (what each content item is). The units
/// are yours to write: UCUM, case-sensitive.
pub mod concepts {
    pub use radlab_results::tid1500::codes::{
        algorithm_name, algorithm_version, attenuation, derivation, finding, finding_site,
        long_axis, lung, mean, measurement_group, nodule, probability, referenced_segment,
        source_series, tracking_id, tracking_uid, volume,
    };
}
