//! Your exercises for lab-dicom. This is the only file you edit.
//!
//! Each function is a task of `cargo run -p lab-dicom -- grade`. Replace the
//! `todo!()` with your implementation; keep the signatures. Stuck?
//! `cargo run -p lab-dicom -- hint TASK`. To start over, copy
//! `src/exercise/pristine.rs` (the stubs as shipped) over this file.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;

use crate::types::SliceHeader;

/// Task `slice-order`: indices of `slices` in order of increasing position
/// along the slice normal `row x col` (from ImageOrientationPatient).
pub fn order_slices(slices: &[SliceHeader]) -> Vec<usize> {
    let _ = slices;
    todo!("slice-order")
}

/// Task `slice-spacing`: the distance in mm between neighbouring slices along
/// the normal (the median step; at least two slices are given).
pub fn slice_spacing(slices: &[SliceHeader]) -> f64 {
    let _ = slices;
    todo!("slice-spacing")
}

/// Task `modality-lut`: the modality value (HU for CT) of one stored sample
/// `raw` with `bits_stored` significant low bits, two's complement when
/// `signed`, and the rescale `slope` and `intercept`.
pub fn modality_lut(raw: u16, bits_stored: u16, signed: bool, slope: f64, intercept: f64) -> f64 {
    let _ = (raw, bits_stored, signed, slope, intercept);
    todo!("modality-lut")
}

/// Task `find-identifying`: `(depth, tag)` of every identifying attribute:
/// each non-empty attribute whose tag is in [`crate::types::IDENTIFYING`],
/// each private attribute (odd group) with element >= 0x1000, and each
/// IDENTIFYING sequence that has items; depth 0 is the top level, items of a
/// sequence are one level deeper. Order does not matter.
pub fn find_identifying(obj: &InMemDicomObject) -> Vec<(usize, Tag)> {
    let _ = obj;
    todo!("find-identifying")
}
