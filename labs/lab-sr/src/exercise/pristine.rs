//! Your exercises for lab-sr. This is the only file you edit.
//!
//! Each function is a task of `cargo run -p lab-sr -- grade`. Replace the
//! `todo!()` with your implementation; keep the signatures. Stuck?
//! `cargo run -p lab-sr -- hint TASK`. To start over, copy
//! `src/exercise/pristine.rs` (the stubs as shipped) over this file.

#[allow(unused_imports)]
use crate::types::{
    Code, EvidenceSeries, EvidenceStudy, Group, Item, Reference, Relationship,
    SEGMENTATION_STORAGE, Value, concepts, ds,
};

/// Task `measurement-group`: the TID 1411 measurement group of `g`: a
/// CONTAINER (concept `concepts::measurement_group()`, template `1411`,
/// relationship CONTAINS) whose children say, each with the relationship
/// type TID 1411 gives it: the tracking identifier (TEXT) and tracking UID
/// (UIDREF); the finding (CODE, `concepts::nodule()`) and its finding site
/// (CODE, `concepts::lung()`); the algorithm name and version (TEXT); the
/// referenced segment (IMAGE of the SEG, segment `g.number`); the source
/// series (UIDREF); and four NUM items with UCUM units: volume (mm³), long
/// axis (mm), attenuation (HU, with a Derivation = Mean modifier) and the
/// model's probability (no units). Numbers are written as DS text: `ds(v)`.
pub fn measurement_group(g: &Group) -> Item {
    let _ = g;
    todo!("measurement-group")
}

/// Task `tracking-uid`: a Tracking Unique Identifier for the finding made
/// of `voxels` (`[z, y, x]`, a set: order and repeats do not matter) on the
/// series `series_uid`, found by the device `device_uid` (it changes with
/// the model version). It must be a valid DICOM UID, the same whenever and
/// wherever it is computed again, and different when any input differs.
pub fn tracking_uid(series_uid: &str, device_uid: &str, voxels: &[[usize; 3]]) -> String {
    let _ = (series_uid, device_uid, voxels);
    todo!("tracking-uid")
}

/// Task `evidence`: the Current Requested Procedure Evidence of a report
/// that depends on the instances `refs` (repeats possible): one entry per
/// study, inside it one per series, inside that each instance
/// `(SOP class, SOP instance)` once.
pub fn evidence(refs: &[Reference]) -> Vec<EvidenceStudy> {
    let _ = refs;
    todo!("evidence")
}
