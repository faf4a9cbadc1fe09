//! # radlab-dicom
//!
//! DICOM in and out for radlab: open files, summarise and export headers
//! (DICOM JSON), scan folders into series, and load a series into a
//! [`Volume`] of modality values (HU for CT) with exact geometry.
//!
//! Conventions used everywhere in radlab:
//! * arrays are indexed `[z, y, x]`;
//! * spacing is `(z, y, x)` in millimetres;
//! * positions are DICOM patient coordinates (LPS), in millimetres.
//!
//! ```no_run
//! let vol = radlab_dicom::load_path(std::path::Path::new("sample_data/case-001/ct"), None)?;
//! println!("{:?} voxels, spacing {:?} mm", vol.shape(), vol.spacing);
//! # Ok::<(), radlab_dicom::DicomError>(())
//! ```

pub mod attrs;
pub mod error;
pub mod file;
pub mod geometry;
pub mod header;
pub mod json;
pub mod limits;
pub mod pixels;
pub mod prescan;
pub mod rle;
pub mod scan;
pub mod summary;
pub mod uid;
pub mod volume;
pub mod write;

pub use error::{DicomError, Result};
pub use file::{open, open_header};
pub use geometry::GeometryWarning;
/// Voxel spacing `[z, y, x]` in mm, as [`Volume::spacing`] holds it.
pub use radlab_geometry::Spacing;
pub use scan::{ScanReport, SeriesInfo, scan};
pub use volume::{
    LoadOptions, Stats, Volume, load_path, load_path_with, load_series, load_series_with,
};
