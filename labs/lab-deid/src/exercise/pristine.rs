//! Your exercises for lab-deid. This is the only file you edit.
//!
//! Each function is a task of `cargo run -p lab-deid -- grade`. Replace the
//! `todo!()` with your implementation; keep the signatures. Stuck?
//! `cargo run -p lab-deid -- hint TASK`. To start over, copy
//! `src/exercise/pristine.rs` (the stubs as shipped) over this file.
//! `cargo run -p lab-deid -- --mine` runs the lab's pipeline on your code.

use dicom_core::{Tag, VR};
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTable;

use crate::types::{Action, CleanElement, Key, ProfileOption, Rule, SafePrivate};

/// Task `resolve-action`: the action for one attribute of PS3.15 Table
/// E.1-1 (`rule`: its Basic Profile code and the code of each option column)
/// when `options` are in force. Combined codes (`X/Z`, `X/D`, `Z/D`, `X/Z/D`,
/// `X/Z/U*`) must become one action that is valid whatever the attribute's
/// Type in the object's IOD.
pub fn action_for(rule: &Rule, vr: VR, options: &[ProfileOption]) -> Action {
    let _ = (rule, vr, options);
    todo!("resolve-action")
}

/// Task `walk-sequences`: a new data set made by passing every element of
/// `obj` to `clean(obj, element)`: `None` drops it, `Some(e)` writes `e`.
/// When the written element is a sequence, each of its items must be cleaned
/// the same way (and theirs, at any depth), with the item as the data set
/// its elements are in.
pub fn clean_dataset(obj: &InMemDicomObject, clean: &CleanElement<'_>) -> InMemDicomObject {
    let _ = (obj, clean);
    todo!("walk-sequences")
}

/// Task `private-tags`: whether the private data element `tag` (odd group,
/// element >= 0x1000), in a block whose Private Creator is `creator`, is
/// kept. `retain_safe_private` says whether the Retain Safe Private option
/// is in force; `safe` lists what it may keep.
pub fn keep_private(
    tag: Tag,
    creator: Option<&str>,
    safe: &[SafePrivate],
    retain_safe_private: bool,
) -> bool {
    let _ = (tag, creator, safe, retain_safe_private);
    todo!("private-tags")
}

/// Task `uid-remap`: the new UID for `uid`, derived from it under `key`
/// (see [`Key`]'s methods for keyed hashing): a valid UID, the same in every
/// file and every run with the same key.
pub fn remap_uid(key: &Key, uid: &str) -> String {
    let _ = (key, uid);
    todo!("uid-remap")
}

/// Task `date-shift`: `date` (`YYYYMMDD`) of the file `sop_instance_uid` of
/// patient `patient_id`, moved back by an offset derived under `key`, for the
/// Retain Longitudinal Temporal Information with Modified Dates option. A
/// value that is not a calendar date becomes the dummy `19000101`.
pub fn shift_date(key: &Key, patient_id: &str, sop_instance_uid: &str, date: &str) -> String {
    let _ = (key, patient_id, sop_instance_uid, date);
    todo!("date-shift")
}

/// Task `finish`: mark the de-identified data set `obj` as such (the
/// attributes PS3.15 E.1.1 asks for, with a code for the profile and each
/// option in `options`) and make its file meta group `meta` agree with it.
pub fn mark_deidentified(
    obj: &mut InMemDicomObject,
    meta: &mut FileMetaTable,
    options: &[ProfileOption],
) {
    let _ = (obj, meta, options);
    todo!("finish")
}
