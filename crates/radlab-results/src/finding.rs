//! A finding (one nodule) and the measurements the report carries.

use ndarray::ArrayView3;
use radlab_dicom::Volume;
use sha2::{Digest, Sha256};

use crate::{Algorithm, ResultsError, SourceSeries};

/// One finding: its voxels and what the model said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// 1-based number: the SEG segment number and the measurement group order.
    pub number: u16,
    /// Voxels `[z, y, x]`, sorted.
    pub voxels: Vec<[usize; 3]>,
    /// The model's probability that this is a nodule, in `[0, 1]`.
    pub probability: f64,
    /// Volume, mm³ (voxel count times voxel volume).
    pub volume_mm3: f64,
    /// Longest distance between two voxel centres, mm (0 for one voxel).
    pub long_axis_mm: f64,
    /// Mean HU over the voxels.
    pub mean_hu: f64,
}

impl Finding {
    /// A finding from its voxels on `volume`'s grid. Errors on no voxels, a
    /// voxel outside the grid or a probability outside `[0, 1]`.
    pub fn new(
        number: u16,
        mut voxels: Vec<[usize; 3]>,
        probability: f64,
        volume: &Volume,
    ) -> Result<Finding, ResultsError> {
        let shape = volume.shape();
        if voxels.is_empty() {
            return Err(ResultsError::Input(format!(
                "finding {number} has no voxels"
            )));
        }
        if let Some(v) = voxels
            .iter()
            .find(|v| v[0] >= shape[0] || v[1] >= shape[1] || v[2] >= shape[2])
        {
            return Err(ResultsError::Input(format!(
                "finding {number}: voxel {v:?} is outside the volume {shape:?}"
            )));
        }
        if !(0.0..=1.0).contains(&probability) {
            return Err(ResultsError::Input(format!(
                "finding {number}: probability {probability} is outside [0, 1]"
            )));
        }
        voxels.sort_unstable();
        voxels.dedup();
        let [sz, sy, sx] = volume.spacing.zyx();
        let mean_hu = voxels
            .iter()
            .map(|&[z, y, x]| f64::from(volume.voxels[[z, y, x]]))
            .sum::<f64>()
            / voxels.len() as f64;
        Ok(Finding {
            number,
            probability,
            volume_mm3: voxels.len() as f64 * sz * sy * sx,
            long_axis_mm: long_axis(&voxels, [sz, sy, sx]),
            mean_hu,
            voxels,
        })
    }

    /// One finding per label value `1..=max` of `labels` (a label with no
    /// voxels is skipped), numbered in label order; `probability(label)`
    /// gives the model's probability.
    pub fn from_labels(
        labels: ArrayView3<'_, u32>,
        volume: &Volume,
        mut probability: impl FnMut(u32) -> f64,
    ) -> Result<Vec<Finding>, ResultsError> {
        if labels.shape() != volume.voxels.shape() {
            return Err(ResultsError::Input(format!(
                "labels {:?} and volume {:?} differ in shape",
                labels.shape(),
                volume.voxels.shape()
            )));
        }
        let mut by_label: std::collections::BTreeMap<u32, Vec<[usize; 3]>> = Default::default();
        let [_, ny, nx] = [labels.shape()[0], labels.shape()[1], labels.shape()[2]];
        match labels.as_slice() {
            // Most of a label volume is 0: skip zero blocks of 64 with a
            // test the compiler vectorises, then look at the voxels.
            Some(flat) => {
                for (b, block) in flat.chunks(64).enumerate() {
                    if block.iter().all(|&l| l == 0) {
                        continue;
                    }
                    for (k, &l) in block.iter().enumerate() {
                        if l != 0 {
                            let i = b * 64 + k;
                            by_label.entry(l).or_default().push([
                                i / (ny * nx),
                                i / nx % ny,
                                i % nx,
                            ]);
                        }
                    }
                }
            }
            None => {
                for ((z, y, x), &l) in labels.indexed_iter() {
                    if l != 0 {
                        by_label.entry(l).or_default().push([z, y, x]);
                    }
                }
            }
        }
        if by_label.len() > usize::from(u16::MAX) {
            return Err(ResultsError::Input(format!(
                "{} findings: a SEG holds at most 65535 segments",
                by_label.len()
            )));
        }
        by_label
            .into_iter()
            .enumerate()
            .map(|(i, (l, v))| Finding::new(i as u16 + 1, v, probability(l), volume))
            .collect()
    }

    /// Tracking Identifier: human-readable, per report.
    pub fn tracking_id(&self) -> String {
        format!("Nodule {}", self.number)
    }

    /// Tracking Unique Identifier: the same for the same voxels of the same
    /// series found by the same algorithm version, whatever the run.
    pub fn tracking_uid(&self, source: &SourceSeries, algorithm: &Algorithm) -> String {
        tracking_uid_of(&source.series_uid, &algorithm.device_uid(), &self.voxels)
    }
}

/// The Tracking Unique Identifier of the finding made of `voxels` (a set:
/// order and repeats do not matter) on series `series_uid`, found by the
/// device `device_uid` (which changes with the model version): a
/// `2.25.` UID from a SHA-256 of the three, the same in every run and
/// process.
///
/// ```
/// use radlab_results::finding::tracking_uid_of;
/// let a = tracking_uid_of("1.2.3", "2.25.9", &[[0, 1, 2], [3, 4, 5]]);
/// assert_eq!(a, tracking_uid_of("1.2.3", "2.25.9", &[[3, 4, 5], [0, 1, 2]]));
/// assert_ne!(a, tracking_uid_of("1.2.3", "2.25.8", &[[0, 1, 2], [3, 4, 5]]));
/// assert!(a.starts_with("2.25.") && a.len() <= 64);
/// ```
pub fn tracking_uid_of(series_uid: &str, device_uid: &str, voxels: &[[usize; 3]]) -> String {
    let mut sorted = voxels.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut h = Sha256::new();
    for v in &sorted {
        for c in v {
            h.update((*c as u64).to_le_bytes());
        }
    }
    let voxels = hex::encode(h.finalize());
    radlab_dicom::uid::derived(0, &format!("tracking|{series_uid}|{device_uid}|{voxels}"))
}

/// Surface voxels compared pair by pair at most (about 3.4e7 pairs, well
/// under a second); past this, [`long_axis`] compares only the extreme
/// voxels along [`DIRECTIONS`] directions.
pub const EXACT_LIMIT: usize = 8192;

/// Directions (a Fibonacci sphere) whose extreme voxels a large finding's
/// long axis is taken from.
pub const DIRECTIONS: usize = 1024;

/// Longest distance between voxel centres. The two farthest points of a
/// finite set are vertices of its convex hull, and a hull vertex is never an
/// interior voxel (one with all six face neighbours in the set), so only
/// surface voxels are compared: by hand, because it is a dozen lines.
/// A finding with more than [`EXACT_LIMIT`] surface voxels (a large
/// false positive, say) is measured between the voxels extreme along
/// [`DIRECTIONS`] directions: the time stays bounded and the result is a
/// lower bound, exact when both ends of the longest segment are extreme
/// along some sampled direction (a box's corners are; a test checks it).
fn long_axis(voxels: &[[usize; 3]], spacing: [f64; 3]) -> f64 {
    let set: std::collections::HashSet<[usize; 3]> = voxels.iter().copied().collect();
    let inside = |v: [usize; 3], d: usize, up: bool| {
        let mut n = v;
        if up {
            n[d] += 1;
        } else if n[d] == 0 {
            return false;
        } else {
            n[d] -= 1;
        }
        set.contains(&n)
    };
    let mut points: Vec<[f64; 3]> = voxels
        .iter()
        .filter(|&&v| (0..3).any(|d| !inside(v, d, true) || !inside(v, d, false)))
        .map(|v| {
            [
                v[0] as f64 * spacing[0],
                v[1] as f64 * spacing[1],
                v[2] as f64 * spacing[2],
            ]
        })
        .collect();
    if points.len() > EXACT_LIMIT {
        let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
        let mut keep: Vec<usize> = (0..DIRECTIONS)
            .map(|i| {
                let z = 1.0 - 2.0 * (i as f64 + 0.5) / DIRECTIONS as f64;
                let r = (1.0 - z * z).sqrt();
                let t = golden * i as f64;
                let d = [z, r * t.sin(), r * t.cos()];
                let dot = |p: &[f64; 3]| p[0] * d[0] + p[1] * d[1] + p[2] * d[2];
                (0..points.len())
                    .max_by(|&a, &b| dot(&points[a]).total_cmp(&dot(&points[b])))
                    .expect("points is not empty")
            })
            .collect();
        keep.sort_unstable();
        keep.dedup();
        points = keep.into_iter().map(|i| points[i]).collect();
    }
    let mut best = 0.0f64;
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            let d = (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2);
            best = best.max(d);
        }
    }
    best.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_axis_of_a_bar_and_of_one_voxel() {
        let bar: Vec<[usize; 3]> = (0..5).map(|x| [0, 0, x]).collect();
        assert_eq!(long_axis(&bar, [2.0, 1.0, 0.5]), 2.0);
        assert_eq!(long_axis(&[[3, 3, 3]], [1.0; 3]), 0.0);
        // A solid 3x3x3 cube: corner to corner, spacing respected.
        let cube: Vec<[usize; 3]> = (0..27).map(|i| [i / 9, i / 3 % 3, i % 3]).collect();
        let want = (4.0f64 * 4.0 + 4.0 + 1.0).sqrt(); // 2*2mm, 2*1mm, 2*0.5mm
        assert!((long_axis(&cube, [2.0, 1.0, 0.5]) - want).abs() < 1e-12);
    }

    #[test]
    fn a_large_box_is_measured_in_bounded_time_and_exactly() {
        // 60 x 80 x 100 voxels: ~40k surface voxels, past the exact limit.
        // A box's diameter is corner to corner; the extreme voxels along
        // the sampled directions include the corners.
        let (a, b, c) = (60usize, 80usize, 100usize);
        let voxels: Vec<[usize; 3]> = (0..a * b * c)
            .map(|i| [i / (b * c), i / c % b, i % c])
            .collect();
        let want =
            (((a - 1) as f64).powi(2) + ((b - 1) as f64).powi(2) + ((c - 1) as f64).powi(2)).sqrt();
        let t0 = std::time::Instant::now();
        let got = long_axis(&voxels, [1.0; 3]);
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        assert!(t0.elapsed().as_secs() < 30);
    }
}
