//! Deterministic patch sampling for the bundled models: 2-D axial patches
//! labelled "nodule" / "no nodule" for the classifier, and 3-D patches with
//! their masks for the segmentation network.
//!
//! The same sampler feeds the training scripts (through the
//! `training_data` example) and the labs (on volumes loaded from DICOM), so
//! the labs see patches exactly like the ones the models learned from.
//! Inputs are HU `[z, y, x]`; nothing here depends on the spacing, which
//! the caller keeps (the models were trained at 1.8 mm in plane, 2.5 mm
//! between slices).

use ndarray::{Array3, Array4, ArrayView3, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Options for [`classification_patches`].
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOptions {
    /// Patch side in voxels (square, axial).
    pub size: usize,
    /// Slices used per nodule: the centre slice and this many either side
    /// (only slices that cut the nodule's labelled voxels are used).
    pub slices_each_side: usize,
    /// Patches per nodule slice; the first is centred, the rest are moved by
    /// up to `jitter` voxels in y and x.
    pub per_slice: usize,
    /// Largest in-plane shift of a positive patch, voxels.
    pub jitter: usize,
    /// Negative patches per volume.
    pub negatives: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for PatchOptions {
    fn default() -> Self {
        PatchOptions {
            size: 32,
            slices_each_side: 1,
            per_slice: 1,
            jitter: 0,
            negatives: 12,
            seed: 0,
        }
    }
}

/// Patches with their labels and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchSet {
    /// HU patches `[n, y, x]`.
    pub patches: Array3<f32>,
    /// 1 = a nodule at the centre, 0 = none.
    pub labels: Vec<u8>,
    /// Patch centre `[z, y, x]` in the volume.
    pub centers: Vec<[usize; 3]>,
}

/// Sample classification patches from one volume.
///
/// Positives are centred (± jitter) on each nodule's centre voxel, on the
/// slices through it. Negatives are random patches whose central half holds
/// no nodule voxel; half of them are centred in lung (HU < -500), where the
/// vessels make them hard, the rest anywhere in the body (HU > -900).
/// `nodule_centers` are `[z, y, x]` voxel positions (fractional allowed).
pub fn classification_patches(
    hu: ArrayView3<'_, f32>,
    labels: ArrayView3<'_, u8>,
    nodule_centers: &[[f64; 3]],
    options: &PatchOptions,
) -> PatchSet {
    let (nz, ny, nx) = hu.dim();
    let size = options.size;
    let half = size / 2;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut patches: Vec<f32> = Vec::new();
    let mut out_labels = Vec::new();
    let mut centers = Vec::new();
    let fits = |y: usize, x: usize| {
        y >= half && x >= half && y + size - half <= ny && x + size - half <= nx
    };
    let mut push = |z: usize, y: usize, x: usize, label: u8, patches: &mut Vec<f32>| {
        let patch = hu.slice(s![z, y - half..y - half + size, x - half..x - half + size]);
        patches.extend(patch.iter());
        out_labels.push(label);
        centers.push([z, y, x]);
    };
    for center in nodule_centers {
        let cz = center[0].round() as isize;
        let cy = center[1].round() as isize;
        let cx = center[2].round() as isize;
        let here = |z: isize| {
            (0..nz as isize).contains(&z)
                && (0..ny as isize).contains(&cy)
                && (0..nx as isize).contains(&cx)
                && labels[[z as usize, cy as usize, cx as usize]] > 0
        };
        let k = options.slices_each_side as isize;
        for z in cz - k..=cz + k {
            if !here(z) {
                continue;
            }
            for j in 0..options.per_slice {
                let (dy, dx) = if j == 0 || options.jitter == 0 {
                    (0, 0)
                } else {
                    let r = options.jitter as i64;
                    (
                        rng.random_range(-r..=r) as isize,
                        rng.random_range(-r..=r) as isize,
                    )
                };
                let (y, x) = (cy + dy, cx + dx);
                if y < 0 || x < 0 || !fits(y as usize, x as usize) {
                    continue;
                }
                push(z as usize, y as usize, x as usize, 1, &mut patches);
            }
        }
    }
    let quarter = size / 4;
    let clear = |z: usize, y: usize, x: usize| {
        labels
            .slice(s![z, y - quarter..y + quarter, x - quarter..x + quarter])
            .iter()
            .all(|&l| l == 0)
    };
    let mut found = 0;
    let mut attempts = 0;
    while found < options.negatives && attempts < options.negatives * 400 && ny > size && nx > size
    {
        attempts += 1;
        let z = rng.random_range(0..nz);
        let y = rng.random_range(half..ny - (size - half));
        let x = rng.random_range(half..nx - (size - half));
        let v = hu[[z, y, x]];
        let want_lung = found % 2 == 0;
        let ok = if want_lung {
            v < -500.0 && v > -990.0
        } else {
            v > -900.0
        };
        if ok && clear(z, y, x) {
            push(z, y, x, 0, &mut patches);
            found += 1;
        }
    }
    let n = out_labels.len();
    PatchSet {
        patches: Array3::from_shape_vec((n, size, size), patches)
            .expect("patch buffer matches its shape"),
        labels: out_labels,
        centers,
    }
}

/// 3-D patches `[n, z, y, x]` of HU and their nodule masks (0/1) for the
/// segmentation network: `with_nodule` centred near nodules (± a quarter of
/// the patch), `without` at random positions.
pub fn segmentation_patches(
    hu: ArrayView3<'_, f32>,
    labels: ArrayView3<'_, u8>,
    nodule_centers: &[[f64; 3]],
    size: [usize; 3],
    with_nodule: usize,
    without: usize,
    seed: u64,
) -> (Array4<f32>, Array4<u8>) {
    let dim = [hu.dim().0, hu.dim().1, hu.dim().2];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut starts: Vec<[usize; 3]> = Vec::new();
    let clamp_start = |c: isize, i: usize| -> usize {
        let max = dim[i].saturating_sub(size[i]) as isize;
        (c - size[i] as isize / 2).clamp(0, max) as usize
    };
    if !nodule_centers.is_empty() {
        for k in 0..with_nodule {
            let c = nodule_centers[k % nodule_centers.len()];
            let mut st = [0; 3];
            for i in 0..3 {
                let r = (size[i] / 4) as i64;
                let shift = if r > 0 {
                    rng.random_range(-r..=r) as isize
                } else {
                    0
                };
                st[i] = clamp_start(c[i].round() as isize + shift, i);
            }
            starts.push(st);
        }
    }
    for _ in 0..without {
        let mut st = [0; 3];
        for i in 0..3 {
            st[i] = rng.random_range(0..=dim[i].saturating_sub(size[i]));
        }
        starts.push(st);
    }
    let n = starts.len();
    let mut x = Array4::<f32>::zeros((n, size[0], size[1], size[2]));
    let mut y = Array4::<u8>::zeros((n, size[0], size[1], size[2]));
    for (k, st) in starts.iter().enumerate() {
        let region = s![
            st[0]..st[0] + size[0],
            st[1]..st[1] + size[1],
            st[2]..st[2] + size[2]
        ];
        x.slice_mut(s![k, .., .., ..]).assign(&hu.slice(region));
        y.slice_mut(s![k, .., .., ..])
            .assign(&labels.slice(region).mapv(|l| u8::from(l > 0)));
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CaseSpec, generate_case};

    #[test]
    fn positives_sit_on_nodules_and_negatives_do_not() {
        let case = generate_case(&CaseSpec::sample(1));
        let hu = case.phantom.hu.mapv(f32::from);
        let centers: Vec<[f64; 3]> = case
            .phantom
            .nodules
            .iter()
            .map(|n| n.center_voxel)
            .collect();
        let sample = || {
            classification_patches(
                hu.view(),
                case.phantom.labels.view(),
                &centers,
                &PatchOptions {
                    negatives: 20,
                    seed: 3,
                    ..Default::default()
                },
            )
        };
        let set = sample();
        assert!(set.labels.iter().filter(|&&l| l == 1).count() >= case.phantom.nodules.len());
        assert_eq!(set.labels.iter().filter(|&&l| l == 0).count(), 20);
        for (c, &l) in set.centers.iter().zip(&set.labels) {
            let inside = case.phantom.labels[*c] > 0;
            assert_eq!(inside, l == 1, "patch at {c:?} labelled {l}");
        }
        // Deterministic.
        assert_eq!(set, sample());
    }
}
