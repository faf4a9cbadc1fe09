//! The types the exercise works with. The exercise file, the reference and
//! the checks all depend on this file, and it depends on none of them, so
//! the one file the learner owns is not part of a cycle.

/// The attributes the `find-identifying` task looks for.
pub use radlab_dicom::summary::IDENTIFYING;

/// What the slice tasks get from one slice's header.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceHeader {
    /// ImagePositionPatient, LPS mm.
    pub position: [f64; 3],
    /// ImageOrientationPatient: row direction cosines, then column direction cosines.
    pub orientation: [f64; 6],
    /// InstanceNumber.
    pub instance_number: i64,
    /// SliceThickness, mm.
    pub slice_thickness: f64,
}
