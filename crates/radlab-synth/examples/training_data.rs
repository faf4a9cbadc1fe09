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
    let set = classification_patches(hu.view(), case.phantom.labels.view(), &centers, &options);
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
    CaseData {
        cls: (set.patches, set.labels),
        seg,
    }
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
