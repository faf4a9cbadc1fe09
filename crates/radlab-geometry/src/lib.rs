//! The voxel grid's conventions in types.
//!
//! radlab keeps volumes as `[z, y, x]` arrays (slice, row, column). Their
//! spacing is three numbers in that order, and a `[f64; 3]` written the other
//! way round (`[x, y, z]`, the order of DICOM's Pixel Spacing pair plus slice
//! spacing, or of ITK) compiles just as well and gives wrong volumes and
//! distances on every anisotropic scan. [`Spacing`] names the three fields,
//! the way ndarray's `Axis` newtype keeps an axis from being confused with
//! a length.

use serde::{Deserialize, Serialize};

/// Voxel spacing in millimetres, by axis of a `[z, y, x]` volume: `z`
/// between slices, `y` between rows, `x` between columns.
///
/// It serialises as the array `[z, y, x]`, the order of the volume's
/// indices, so JSON reports keep one convention.
///
/// ```
/// use radlab_geometry::Spacing;
///
/// // 2.5 mm slices of 0.7 mm square pixels.
/// let s = Spacing::new(2.5, 0.7, 0.7);
/// assert_eq!(s.zyx(), [2.5, 0.7, 0.7]);
/// assert!((s.voxel_volume_mm3() - 1.225).abs() < 1e-12);
/// assert_eq!(serde_json::to_string(&s).unwrap(), "[2.5,0.7,0.7]");
/// ```
#[derive(Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f64; 3]", into = "[f64; 3]")]
pub struct Spacing {
    /// Between slices (the volume's first axis), mm.
    pub z: f64,
    /// Between rows (the second axis), mm.
    pub y: f64,
    /// Between columns (the third axis), mm.
    pub x: f64,
}

impl Spacing {
    /// From the three spacings, in the volume's axis order.
    pub const fn new(z: f64, y: f64, x: f64) -> Self {
        Self { z, y, x }
    }

    /// The same spacing `mm` along every axis.
    pub const fn isotropic(mm: f64) -> Self {
        Self::new(mm, mm, mm)
    }

    /// From an array in `[z, y, x]` order.
    pub const fn from_zyx([z, y, x]: [f64; 3]) -> Self {
        Self::new(z, y, x)
    }

    /// As an array in `[z, y, x]` order, for indexing by axis number.
    pub const fn zyx(self) -> [f64; 3] {
        [self.z, self.y, self.x]
    }

    /// The spacing along axis `axis` (0 = z, 1 = y, 2 = x).
    ///
    /// # Panics
    /// If `axis` is 3 or more.
    pub const fn along(self, axis: usize) -> f64 {
        self.zyx()[axis]
    }

    /// One voxel's volume, mm³.
    pub fn voxel_volume_mm3(self) -> f64 {
        self.z * self.y * self.x
    }

    /// Whether all three are finite and greater than zero.
    pub fn is_positive(self) -> bool {
        self.zyx().iter().all(|s| s.is_finite() && *s > 0.0)
    }
}

impl From<[f64; 3]> for Spacing {
    /// Reads the array as `[z, y, x]`.
    fn from(a: [f64; 3]) -> Self {
        Self::from_zyx(a)
    }
}

impl From<Spacing> for [f64; 3] {
    fn from(s: Spacing) -> Self {
        s.zyx()
    }
}

impl std::fmt::Debug for Spacing {
    /// `[z, y, x]`, like the array it replaces and like its JSON, so that a
    /// message quoting a spacing reads the same in every crate.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.zyx().fmt(f)
    }
}

impl std::fmt::Display for Spacing {
    /// `z x y x x mm`, e.g. `2.5 x 0.7 x 0.7 mm`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} x {} x {} mm", self.z, self.y, self.x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_array_form_is_z_y_x_both_ways() {
        let s = Spacing::new(3.0, 2.0, 1.0);
        assert_eq!(s.along(0), 3.0);
        assert_eq!(s.along(2), 1.0);
        let back: Spacing = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert_eq!(<[f64; 3]>::from(s), [3.0, 2.0, 1.0]);
        assert_eq!(format!("{s:?}"), format!("{:?}", [3.0, 2.0, 1.0]));
    }

    #[test]
    fn positive_means_finite_and_above_zero() {
        assert!(Spacing::isotropic(1.0).is_positive());
        assert!(!Spacing::new(0.0, 1.0, 1.0).is_positive());
        assert!(!Spacing::new(1.0, f64::NAN, 1.0).is_positive());
        assert!(!Spacing::new(1.0, 1.0, f64::INFINITY).is_positive());
    }
}
