//! The tasks as a table of functions: one table for the reference, one for
//! the learner's exercise file, one for the pristine stubs, and (in tests)
//! one per known mistake.

pub use crate::types::*;

/// A TID 1411 measurement group from what it reports.
pub type GroupFn = fn(&Group) -> Item;
/// A tracking UID from the series, the device and the voxels.
pub type TrackingFn = fn(&str, &str, &[[usize; 3]]) -> String;
/// The evidence hierarchy of the instances a report depends on.
pub type EvidenceFn = fn(&[Reference]) -> Vec<EvidenceStudy>;

radlab_grade::lab_tasks! {
    /// One measurement group.
    measurement_group: GroupFn,
    /// A tracking UID stable across reruns.
    tracking_uid: TrackingFn,
    /// Current Requested Procedure Evidence.
    evidence: EvidenceFn,
}

/// The reference implementations, from radlab-results.
pub mod reference {
    use super::*;

    /// radlab-results' TID 1411 group.
    pub fn measurement_group(g: &Group) -> Item {
        radlab_results::tid1500::group_item(g)
    }

    /// SHA-256 of series, device and sorted voxels, as a `2.25.` UID.
    pub fn tracking_uid(series_uid: &str, device_uid: &str, voxels: &[[usize; 3]]) -> String {
        radlab_results::finding::tracking_uid_of(series_uid, device_uid, voxels)
    }

    /// Study, series, instance; each once, in first-appearance order.
    pub fn evidence(refs: &[Reference]) -> Vec<EvidenceStudy> {
        radlab_results::tid1500::evidence(refs)
    }
}
