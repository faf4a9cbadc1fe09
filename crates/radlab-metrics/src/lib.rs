//! Metrics radlab reports, each with its conventions spelled out.
//!
//! - [`agreement`]: Cohen's kappa (unweighted, linear, quadratic), Fleiss'
//!   and Randolph's kappa, Krippendorff's alpha at four levels, Gwet's AC1,
//!   percent agreement, bootstrap intervals over subjects.
//! - [`subgroups`]: any metric per group, gaps (fairlearn's between-groups
//!   difference and ratio), equalized odds, stratified bootstrap intervals.
//! - [`classification`]: accuracy at a threshold, AUROC (rank-sum, ties
//!   counted half), the logistic function.
//! - [`segmentation`]: Dice, IoU, sensitivity, precision with an explicit
//!   empty-mask policy; Hausdorff, HD95, ASSD and surface Dice in mm from an
//!   exact nearest-surface search (and an exact distance transform);
//!   3-D connected components.
//! - [`calibration`]: binned calibration errors (ECE, MCE, average) with
//!   every library's binning as an option, reliability bins, Brier, NLL,
//!   temperature and Platt scaling, bootstrap intervals.
//! - [`detection`]: candidates from a probability map, hit rules (inside
//!   the mask, within a radius), FROC pooled over lesions, CAMELYON16 and
//!   LUNA16 (CPM) operating points, seeded bootstrap intervals.

pub mod agreement;
pub mod calibration;
pub mod classification;
pub mod detection;
mod exp;
pub mod luna16;
mod nearest;
pub mod segmentation;
pub mod stats;
pub mod subgroups;

/// Voxel spacing `[z, y, x]` in mm, as every volume metric takes it.
pub use radlab_geometry::Spacing;

/// What can go wrong computing a metric.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricError {
    /// Scores and labels differ in length.
    #[error("{scores} scores but {labels} labels")]
    LengthMismatch {
        /// Number of scores.
        scores: usize,
        /// Number of labels.
        labels: usize,
    },
    /// The metric is undefined for this input (e.g. AUROC with one class).
    #[error("{0}")]
    Undefined(String),
    /// A score is NaN.
    #[error("score {index} is NaN")]
    NaN {
        /// Its position.
        index: usize,
    },
}
