//! Write the training, validation and shifted-vendor data sets the bundled
//! models are trained on, as `.npy` files (HU patches and labels) plus
//! `manifest.json`. Used by `cargo xtask models`; deterministic.
//!
//! ```text
//! cargo run --release -p radlab-synth --example training_data -- OUT_DIR
//! ```

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array3, Array4, Axis, concatenate};
use ndarray_npy::write_npy;
use radlab_synth::patches::{PatchOptions, classification_patches, segmentation_patches};
use radlab_synth::{CaseSpec, VENDORS, generate_case};
use rayon::prelude::*;

/// One split: which cases, and how densely to sample them.
struct Split {
    name: &'static str,
    seeds: Vec<u64>,
    vendors: Vec<usize>,
    dense: bool,
}

struct CaseData {
    cls: (Array3<f32>, Vec<u8>),
    seg: (Array4<f32>, Array4<u8>),
}

fn case_data(seed: u64, vendor: usize, dense: bool) -> CaseData {
    // One case in three carries burned-in text, as sample case-004 and real
    // secondary captures do: bright glyphs in the air are not nodules.
    let spec = CaseSpec {
        vendor,
        nodules: 5,
        burned_in: seed % 3 == 0,
        ..CaseSpec::sample(seed)
    };
    let case = generate_case(&spec);
    let hu = radlab_synth::writer::hu_as_written(&case).mapv(f32::from);
    let centers: Vec<[f64; 3]> = case
        .phantom
        .nodules
        .iter()
        .map(|n| n.center_voxel)
        .collect();
    let options = if dense {
        PatchOptions {
            per_slice: 3,
            jitter: 3,
            negatives: 45,
            seed,
            ..Default::default()
        }
    } else {
        PatchOptions {
            negatives: 15,
            seed,
            ..Default::default()
        }
    };
    let mut set = classification_patches(hu.view(), case.phantom.labels.view(), &centers, &options);
    // Hard negatives for the classifier too: axial patches centred on vessel
    // branches, the lung wall and burned-in glyphs, where the segmenter's
    // false positives are (the classifier exists to reject them).
    let hard2d = hard_spots(
        hu.view(),
        case.phantom.labels.view(),
        [1, 32, 32],
        if dense { 30 } else { 10 },
        seed ^ 0xC1A5,
    );
    for c in hard2d {
        let p = hu.slice(ndarray::s![
            c[0],
            c[1] - 16..c[1] + 16,
            c[2] - 16..c[2] + 16
        ]);
        set.patches.push(Axis(0), p).expect("patch shape");
        set.labels.push(0);
    }
    // As many patches without a nodule as with: the segmenter runs on whole
    // scans, where almost every window holds vessels, ribs and air only.
    let (with, without) = if dense { (8, 12) } else { (4, 4) };
    let seg = segmentation_patches(
        hu.view(),
        case.phantom.labels.view(),
        &centers,
        [16, 48, 48],
        with,
        without,
        seed ^ 0x5E6,
    );
    let hard = hard_negatives(
        hu.view(),
        case.phantom.labels.view(),
        [16, 48, 48],
        if dense { 12 } else { 4 },
        seed ^ 0x4A7D,
    );
    let seg = (
        concatenate(Axis(0), &[seg.0.view(), hard.0.view()]).expect("same patch shape"),
        concatenate(Axis(0), &[seg.1.view(), hard.1.view()]).expect("same patch shape"),
    );
    CaseData {
        cls: (set.patches, set.labels),
        seg,
    }
}

/// Patches centred on vessel branches and the lung wall away from every
/// nodule: voxels of soft-tissue density with aerated lung 6 voxels to one
/// side. Random crops rarely hold one, and they are what a segmenter
/// trained without them marks on scans with no nodule at all.
fn hard_negatives(
    hu: ndarray::ArrayView3<'_, f32>,
    labels: ndarray::ArrayView3<'_, u8>,
    size: [usize; 3],
    n: usize,
    seed: u64,
) -> (Array4<f32>, Array4<u8>) {
    let half = [size[0] / 2, size[1] / 2, size[2] / 2];
    let mut x = Array4::<f32>::zeros((0, size[0], size[1], size[2]));
    let mut y = Array4::<u8>::zeros((0, size[0], size[1], size[2]));
    for c in hard_spots(hu, labels, size, n, seed) {
        let region = ndarray::s![
            c[0] - half[0]..c[0] - half[0] + size[0],
            c[1] - half[1]..c[1] - half[1] + size[1],
            c[2] - half[2]..c[2] - half[2] + size[2]
        ];
        x.push(Axis(0), hu.slice(region)).expect("patch shape");
        y.push(
            Axis(0),
            labels.slice(region).mapv(|v| u8::from(v > 0)).view(),
        )
        .expect("patch shape");
    }
    (x, y)
}

/// Up to `n` centres of `size` boxes around such voxels, with no nodule
/// voxel in the box, chosen with `seed`.
fn hard_spots(
    hu: ndarray::ArrayView3<'_, f32>,
    labels: ndarray::ArrayView3<'_, u8>,
    size: [usize; 3],
    n: usize,
    seed: u64,
) -> Vec<[usize; 3]> {
    use rand::{Rng, SeedableRng};
    let (nz, ny, nx) = hu.dim();
    let half = [size[0] / 2, size[1] / 2, size[2] / 2];
    let mut spots = Vec::new();
    if nz < size[0] || ny < size[1] || nx < size[2] {
        return Vec::new();
    }
    // Centres whose box [c - half, c - half + size) lies inside the volume.
    for z in (half[0]..=nz + half[0] - size[0]).step_by(2) {
        for y in (half[1]..ny.saturating_sub(half[1])).step_by(3) {
            for x in (half[2].max(6)..nx.saturating_sub(half[2].max(6))).step_by(3) {
                let v = hu[[z, y, x]];
                let air = hu[[z, y, x - 6]] < -700.0 || hu[[z, y, x + 6]] < -700.0;
                if v > -300.0 && air {
                    spots.push([z, y, x]);
                }
            }
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut tries = 0;
    while out.len() < n && !spots.is_empty() && tries < 50 * n {
        tries += 1;
        let c = spots[rng.random_range(0..spots.len())];
        let region = ndarray::s![
            c[0] - half[0]..c[0] - half[0] + size[0],
            c[1] - half[1]..c[1] - half[1] + size[1],
            c[2] - half[2]..c[2] - half[2] + size[2]
        ];
        if labels.slice(region).iter().any(|&v| v > 0) {
            continue; // a nodule in view: not a negative
        }
        out.push(c);
    }
    out
}

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/models-data".into()),
    );
    std::fs::create_dir_all(&out)?;
    let splits = [
        Split {
            name: "train",
            seeds: (101..=130).collect(),
            vendors: vec![0, 1],
            dense: true,
        },
        Split {
            name: "val",
            seeds: (201..=210).collect(),
            vendors: vec![0, 1],
            dense: false,
        },
        Split {
            name: "shift",
            seeds: (301..=310).collect(),
            vendors: vec![2],
            dense: false,
        },
    ];
    let mut manifest = serde_json::Map::new();
    for split in &splits {
        let cases: Vec<(u64, usize)> = split
            .seeds
            .iter()
            .enumerate()
            .map(|(i, &s)| (s, split.vendors[i % split.vendors.len()]))
            .collect();
        let data: Vec<CaseData> = cases
            .par_iter()
            .map(|&(s, v)| case_data(s, v, split.dense))
            .collect();
        let cls_x = concatenate(
            Axis(0),
            &data.iter().map(|d| d.cls.0.view()).collect::<Vec<_>>(),
        )?;
        let cls_y = Array1::from(
            data.iter()
                .flat_map(|d| d.cls.1.iter().copied())
                .collect::<Vec<u8>>(),
        );
        let seg_x = concatenate(
            Axis(0),
            &data.iter().map(|d| d.seg.0.view()).collect::<Vec<_>>(),
        )?;
        let seg_y = concatenate(
            Axis(0),
            &data.iter().map(|d| d.seg.1.view()).collect::<Vec<_>>(),
        )?;
        let write = |name: &str| -> PathBuf { out.join(format!("{}_{name}.npy", split.name)) };
        write_npy(write("cls_x"), &cls_x)?;
        write_npy(write("cls_y"), &cls_y)?;
        write_npy(write("seg_x"), &seg_x)?;
        write_npy(write("seg_y"), &seg_y)?;
        println!(
            "{}: {} cases, {} patches ({} with a nodule), {} 3-D patches",
            split.name,
            cases.len(),
            cls_y.len(),
            cls_y.iter().filter(|&&l| l == 1).count(),
            seg_x.dim().0
        );
        manifest.insert(
            split.name.into(),
            serde_json::json!({
                "case_seeds": split.seeds,
                "vendors": split.vendors.iter().map(|&v| VENDORS[v].id).collect::<Vec<_>>(),
                "classification_patches": cls_y.len(),
                "segmentation_patches": seg_x.dim().0,
            }),
        );
    }
    // A crop of a validation case around a nodule, for the sliding-window
    // parity fixture (MONAI versus radlab on the same model and input).
    let case = generate_case(&CaseSpec {
        vendor: 0,
        nodules: 5,
        ..CaseSpec::sample(201)
    });
    let c = case.phantom.nodules[0].center_voxel;
    let size = [20usize, 60, 44];
    let dim = case.phantom.hu.dim();
    let dims = [dim.0, dim.1, dim.2];
    let st: Vec<usize> = (0..3)
        .map(|i| {
            (c[i].round() as isize - size[i] as isize / 2).clamp(0, (dims[i] - size[i]) as isize)
                as usize
        })
        .collect();
    let crop = case
        .phantom
        .hu
        .slice(ndarray::s![
            st[0]..st[0] + size[0],
            st[1]..st[1] + size[1],
            st[2]..st[2] + size[2]
        ])
        .mapv(f32::from);
    write_npy(out.join("parity_hu.npy"), &crop)?;
    manifest.insert(
        "parity_crop".into(),
        serde_json::json!({"case_seed": 201, "start": st, "size": size}),
    );
    manifest.insert("patch_size".into(), serde_json::json!([32, 32]));
    manifest.insert(
        "segmentation_patch_size".into(),
        serde_json::json!([16, 48, 48]),
    );
    manifest.insert("spacing_mm".into(), serde_json::json!([2.5, 1.8, 1.8]));
    write_manifest(
        &out.join("manifest.json"),
        &serde_json::Value::Object(manifest),
    )
}

fn write_manifest(path: &Path, value: &serde_json::Value) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")?;
    Ok(())
}
