//! The tasks as a table of functions: the reference, the learner's exercise
//! file, the pristine stubs, and (in tests) one table per known mistake.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;

pub use crate::types::*;

radlab_grade::lab_tasks! {
    /// Order along the normal.
    order_slices: fn(&[SliceHeader]) -> Vec<usize>,
    /// Spacing along the normal, mm.
    slice_spacing: fn(&[SliceHeader]) -> f64,
    /// Stored value to modality value.
    modality_lut: fn(u16, u16, bool, f64, f64) -> f64,
    /// Identifying attributes as (depth, tag).
    find_identifying: fn(&InMemDicomObject) -> Vec<(usize, Tag)>,
}

/// The reference implementations, from radlab-dicom.
pub mod reference {
    use super::*;
    use radlab_dicom::geometry::{Placement, order_slices as order};
    use radlab_dicom::pixels::{PixelLayout, stored_value};

    fn placements(s: &[SliceHeader]) -> Vec<Placement> {
        s.iter()
            .map(|h| Placement {
                position: Some(h.position),
                orientation: Some(h.orientation),
                instance_number: Some(h.instance_number),
            })
            .collect()
    }

    /// Ascending along the normal.
    pub fn order_slices(s: &[SliceHeader]) -> Vec<usize> {
        order(&placements(s)).map(|o| o.order).unwrap_or_default()
    }

    /// Median step along the normal.
    pub fn slice_spacing(s: &[SliceHeader]) -> f64 {
        order(&placements(s))
            .ok()
            .and_then(|o| o.spacing_mm)
            .unwrap_or(f64::NAN)
    }

    /// Mask, sign-extend, rescale.
    pub fn modality_lut(
        raw: u16,
        bits_stored: u16,
        signed: bool,
        slope: f64,
        intercept: f64,
    ) -> f64 {
        let layout = PixelLayout {
            rows: 1,
            cols: 1,
            bits_allocated: 16,
            bits_stored: bits_stored.clamp(1, 16),
            high_bit: bits_stored.clamp(1, 16) - 1,
            signed,
        };
        stored_value(u32::from(raw), &layout) as f64 * slope + intercept
    }

    /// Every identifying attribute at any depth.
    pub fn find_identifying(obj: &InMemDicomObject) -> Vec<(usize, Tag)> {
        radlab_dicom::summary::find_identifying(obj)
            .iter()
            .map(|t| (t.path.matches(" > ").count(), parse_tag(&t.tag)))
            .collect()
    }

    fn parse_tag(s: &str) -> Tag {
        let g = u16::from_str_radix(&s[1..5], 16).unwrap_or(0);
        let e = u16::from_str_radix(&s[6..10], 16).unwrap_or(0);
        Tag(g, e)
    }
}
