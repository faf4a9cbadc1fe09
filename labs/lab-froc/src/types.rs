//! The types the exercise works with. The exercise file, the reference and
//! the checks all depend on this file, and it depends on none of them, so
//! the one file the learner owns is not part of a cycle.

use serde::Serialize;

/// One candidate after matching: its score and the lesion it hit, if any.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    /// Higher means more suspicious.
    pub score: f64,
    /// Index of the lesion of its scan it hit, or `None` (a false positive).
    pub lesion: Option<usize>,
}

/// One scan after matching.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scan {
    /// Every candidate of the scan.
    pub detections: Vec<Detection>,
    /// Number of reference lesions in the scan (0 for a scan without any).
    pub lesions: usize,
}

/// A reference lesion as LUNA16 lists it: centre `(z, y, x)` in mm and diameter in mm.
pub type Nodule = ([f64; 3], f64);
