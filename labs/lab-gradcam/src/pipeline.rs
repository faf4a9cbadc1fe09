//! What lab-gradcam does, behind an options struct: find the nodules with
//! the bundled segmenter, explain the classifier's score of each with
//! Grad-CAM (radlab-explain, from the model's own outputs), test the map
//! (does it change when the weights are randomised? does deleting what it
//! points at lower the score faster than deleting at random?), draw it on
//! the windowed slice as a Secondary Capture (radlab-results), and send the
//! pictures with their source slices to a PACS by C-STORE: an Orthanc
//! started on loopback (radlab-pacs), read back by WADO-RS. The binary
//! builds [`Options`], calls [`run`] and narrates the [`Report`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dicom_dictionary_std::tags;
use ndarray::{Array2, Array3, Array4, ArrayView2, Axis, Ix4, s};
use radlab_explain::{ClassRow, class_row, grad_cam, normalise, spearman, upsample_bilinear};
use radlab_infer::Model;
use radlab_pacs::orthanc::{Orthanc, OrthancOptions};
use radlab_pacs::scu::{Association, ScuOptions};
use radlab_results::sc::{self, Rgb};
use radlab_results::{Algorithm, Created, SourceSeries};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Where the pictures go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pacs {
    /// Start an Orthanc on loopback (installed by radlab when missing),
    /// C-STORE, read back by WADO-RS, stop it.
    Orthanc,
    /// Write the files only.
    None,
}

/// What the pipeline is run with (the binary's flags, checked there).
#[derive(Debug, Clone)]
pub struct Options {
    /// The CT series (folder or file).
    pub input: PathBuf,
    /// Probability at or above which a voxel is nodule (the segmenter).
    pub threshold: f32,
    /// Components smaller than this (mm³) are not explained.
    pub min_volume_mm3: f64,
    /// Opacity of the heat map where it is 1.
    pub alpha: f64,
    /// Steps of the deletion and insertion curves.
    pub steps: usize,
    /// Seed of the random baselines (random pixel orders, random heads,
    /// the patches the class row is recovered from).
    pub seed: u64,
    /// Where the pictures are sent.
    pub pacs: Pacs,
    /// Content date and time of the objects.
    pub created: Created,
    /// Output folder (created).
    pub out: PathBuf,
    /// Also run the exercise functions and compare.
    pub mine: bool,
}

/// The blend of a heat map onto a grey picture (radlab-explain's
/// [`radlab_explain::overlay`]: opacity `alpha * h`, colour `inferno(h)`).
pub use radlab_explain::overlay;

/// Area under a curve sampled at equal steps of `[0, 1]` (trapezoids).
pub fn auc(curve: &[f64]) -> f64 {
    if curve.len() < 2 {
        return curve.first().copied().unwrap_or(f64::NAN);
    }
    let n = (curve.len() - 1) as f64;
    curve.windows(2).map(|w| (w[0] + w[1]) / 2.0).sum::<f64>() / n
}

/// Pixel indices from the most to the least salient. Ties (a rectified map
/// is zero over much of the patch; occlusion gives blocks of equal values)
/// are broken by `tie` (larger first), then by index: with a seeded random
/// `tie` the order among equals is random, not raster order.
pub fn order_by(map: ArrayView2<'_, f64>, tie: &[f64]) -> Vec<usize> {
    let v: Vec<f64> = map.iter().copied().collect();
    let mut idx: Vec<usize> = (0..v.len()).collect();
    let t = |i: usize| tie.get(i).copied().unwrap_or(0.0);
    idx.sort_by(|&a, &b| {
        v[b].total_cmp(&v[a])
            .then(t(b).total_cmp(&t(a)))
            .then(a.cmp(&b))
    });
    idx
}

/// One curve's areas: what happens to the probability as the pixels are
/// deleted (replaced by air) or inserted (into an all-air patch) in an order.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Faithfulness {
    /// Area under the deletion curve: lower is more faithful.
    pub deletion_auc: f64,
    /// Area under the insertion curve: higher is more faithful.
    pub insertion_auc: f64,
}

/// One explained nodule.
#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    /// 1-based, in the order the segmenter's components were found.
    pub number: usize,
    /// The component's most probable voxel `[z, y, x]`: the patch centre.
    pub peak_voxel: [usize; 3],
    /// Top-left corner `[y, x]` of the 32 x 32 patch on its slice.
    pub patch_origin: [usize; 2],
    pub volume_mm3: f64,
    /// The classifier's logit and probability on the patch.
    pub logit: f64,
    pub probability: f64,
    /// The logit rebuilt from the features with the recovered class row
    /// (`w . mean A + b`): equal to the model's to float noise.
    pub logit_from_row: f64,
    /// Where the upsampled Grad-CAM is largest `[y, x]` in the patch;
    /// whether that pixel is in the segment on that slice, and whether the
    /// feature cell it lies in (the map's own resolution: a cell is
    /// `patch / grid` pixels a side) touches the segment (the pointing game).
    pub map_peak: [usize; 2],
    pub map_peak_in_segment: bool,
    pub map_peak_cell_touches_segment: bool,
    /// Share of the map's mass (sum of the normalised map) inside the segment.
    pub mass_in_segment: f64,
    /// |Spearman| of the signed map `w . A` with the same map after
    /// randomising: the head (mean over random heads; the sign of a random
    /// head is arbitrary, so the absolute value), the head and the last
    /// convolution.
    pub spearman_random_head: f64,
    pub spearman_random_conv3: Option<f64>,
    /// Deletion and insertion, by Grad-CAM's order, occlusion's order and
    /// at random (the mean over the random orders).
    pub gradcam: Faithfulness,
    pub occlusion: Faithfulness,
    pub random: Faithfulness,
    /// The probability after each deletion step, by Grad-CAM's order.
    pub deletion_curve: Vec<f64>,
    /// The Secondary Capture it is drawn in.
    pub sc_file: String,
}

/// One Secondary Capture written.
#[derive(Debug, Clone, Serialize)]
pub struct Picture {
    pub z: usize,
    pub file: String,
    pub png: String,
    pub sop_instance_uid: String,
    pub source_sop_instance_uid: String,
    pub nodules: Vec<usize>,
}

/// What the PACS round trip showed.
#[derive(Debug, Clone, Serialize)]
pub struct PacsRow {
    /// `127.0.0.1:port` and the called AE title.
    pub address: String,
    pub aet: String,
    pub orthanc_pid: Option<u32>,
    /// Each proposed SOP class and the transfer syntax accepted (or not).
    pub negotiated: Vec<String>,
    /// C-ECHO status.
    pub echo_status: u16,
    /// C-STORE statuses: CT slices and pictures stored with status 0.
    pub ct_stored: usize,
    pub sc_stored: usize,
    /// Non-zero statuses, by SOP instance.
    pub failed: Vec<(String, u16)>,
    /// Pictures retrieved by WADO-RS whose pixels, source reference and
    /// caution equal what was written.
    pub read_back_identical: usize,
    /// Instances QIDO-RS lists in the pictures' series.
    pub sc_series_instances: usize,
    pub stopped: bool,
}

/// The learner's functions on the same nodules.
#[derive(Debug, Clone, Serialize)]
pub struct Mine {
    /// Largest difference from the reference's upsampled normalised map.
    pub max_map_difference: Option<f64>,
    /// The overlays are byte-identical to the reference's.
    pub same_overlay: Option<bool>,
    /// The SC header follows the rules the checks grade (caution,
    /// burned-in flag, image type, source); what is wrong if not.
    pub same_header: Option<bool>,
    pub header_problem: Option<String>,
    /// What did not run.
    pub note: String,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub input: String,
    pub shape: [usize; 3],
    pub spacing_mm: radlab_dicom::Spacing,
    pub segmenter: String,
    /// The classifier as named in the pictures (IHE AIR device).
    pub classifier: Algorithm,
    pub device_uid: String,
    /// The class row recovered from the outputs: patches used, largest
    /// residual, channels never active.
    pub class_row_patches: usize,
    pub class_row_max_residual: f64,
    /// The feature grid `[h, w]` Grad-CAM is computed on.
    pub feature_grid: [usize; 2],
    /// Pixels a side of one feature cell in the patch.
    pub cell_pixels: usize,
    pub silent_channels: Vec<usize>,
    pub components: usize,
    pub dropped_small: usize,
    pub nodules: Vec<Explained>,
    pub pictures: Vec<Picture>,
    /// Means over the nodules.
    pub mean_spearman_random_head: f64,
    pub mean_spearman_random_conv3: Option<f64>,
    pub mean_gradcam: Faithfulness,
    pub mean_occlusion: Faithfulness,
    pub mean_random: Faithfulness,
    pub pointing_hits: usize,
    pub pointing_cell_hits: usize,
    pub pacs: Option<PacsRow>,
    pub mine: Option<Mine>,
}

/// The classifier's logits and features `[n, c, h, w]` on windowed patches.
fn forward(model: &mut Model, x: &Array3<f32>) -> Result<(Vec<f64>, Array4<f32>)> {
    let (n, h, w) = x.dim();
    let input = x.clone().into_shape_with_order((n, 1, h, w))?.into_dyn();
    let out = model.run_batched(input.view(), 256, &mut |_, _| {})?;
    if out.len() < 2 {
        bail!(
            "{}: Grad-CAM needs the last convolution's feature maps as a second output",
            model.card().name
        );
    }
    let logits = out[0].iter().map(|&v| f64::from(v)).collect();
    let feats = out[1]
        .clone()
        .into_dimensionality::<Ix4>()
        .context("the features output is [n, c, h, w]")?;
    Ok((logits, feats))
}

/// The classifier's card pointed at another ONNX file of the same graph
/// (the fixture with the head and last convolution randomised).
fn load_variant(file: &Path, dir: &Path, opts: &radlab_infer::ModelOptions) -> Result<Model> {
    let card = radlab_eval::models_dir().join("nodule_classifier.toml");
    let sha = radlab_infer::runtime::sha256_file(file)?;
    let text: String = std::fs::read_to_string(&card)
        .with_context(|| card.display().to_string())?
        .lines()
        .map(|l| {
            if l.starts_with("file = ") {
                format!("file = {:?}", file.display().to_string())
            } else if l.starts_with("sha256 = ") {
                format!("sha256 = \"{sha}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let p = dir.join("classifier_random_head_conv3.toml");
    std::fs::write(&p, text)?;
    Ok(Model::load(&p, opts)?)
}

/// The 32 x 32 upsampled, normalised Grad-CAM of every patch.
fn maps(feats: &Array4<f32>, row: &ClassRow, size: usize) -> Result<Vec<Array2<f64>>> {
    feats
        .axis_iter(Axis(0))
        .map(|a| {
            let g = grad_cam(a, &row.weights)?;
            Ok(normalise(
                upsample_bilinear(g.view(), [size, size], false).view(),
            ))
        })
        .collect()
}

/// Pictures narrower than this are enlarged by a whole factor (nearest
/// neighbour: no pixel is invented), so the burned-in caution and the heat
/// map stay legible on a small matrix such as the sample's 192 x 192.
pub const MIN_PICTURE: usize = 384;

fn upscale(p: Rgb) -> Rgb {
    let side = p.rows.max(p.cols).max(1);
    let k = MIN_PICTURE.div_ceil(side).clamp(1, 4);
    if k == 1 {
        return p;
    }
    let (rows, cols) = (p.rows * k, p.cols * k);
    let mut data = Vec::with_capacity(rows * cols * 3);
    for y in 0..rows {
        for x in 0..cols {
            data.extend_from_slice(&p.data[((y / k) * p.cols + x / k) * 3..][..3]);
        }
    }
    Rgb { rows, cols, data }
}

/// The signed Grad-CAM sum `w . A(i, j)` (before the ReLU), upsampled: what
/// the sanity check compares, since a random head can make the rectified
/// map zero everywhere, and a constant map has no ranks.
fn signed_maps(feats: &Array4<f32>, row: &ClassRow, size: usize) -> Result<Vec<Array2<f64>>> {
    feats
        .axis_iter(Axis(0))
        .map(|a| {
            let m = radlab_explain::cam(a, &row.weights, 0.0)?;
            Ok(upsample_bilinear(m.view(), [size, size], false))
        })
        .collect()
}

/// Find, explain, test, draw, store.
pub fn run(
    opts: &Options,
    load: &mut dyn FnMut(&str) -> Result<Model>,
    model_options: &radlab_infer::ModelOptions,
    say: &mut dyn FnMut(&str),
) -> Result<Report> {
    let (volume, _) = radlab_labkit::load_volume(&opts.input, None)?;
    let source = SourceSeries::from_volume(&volume)?;
    let mut segmenter = load("nodule_segmenter")?;
    let mut classifier = load("nodule_classifier")?;
    let alg = Algorithm::from_weights(&classifier.card().name, &classifier.card().sha256);
    let pre = classifier.card().preprocessing.clone();
    let size = pre.patch_size.first().copied().unwrap_or(32);
    let win = |v: f32| radlab_infer::card::window01(v, pre.window_center, pre.window_width);
    let air = win(-1000.0);
    let (nz, ny, nx) = volume.voxels.dim();

    say(&format!(
        "segmenting {nz} slices with {}",
        segmenter.card().name
    ));
    let prob = radlab_eval::segment(&mut segmenter, volume.voxels.view(), &mut |_, _| {})?;
    let spacing =
        radlab_metrics::Spacing::new(volume.spacing.z, volume.spacing.y, volume.spacing.x);
    // Components at the threshold, the small ones dropped, relabelled 1..
    let (labels, kept, all_components) =
        radlab_eval::detect::nodules(prob.view(), opts.threshold, opts.min_volume_mm3, spacing)?;

    // The class row, from the outputs on the nodules' patches and on
    // seeded patches from anywhere in the scan.
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let peaks: Vec<[usize; 3]> = kept.iter().map(|c| c.peak_voxel).collect();
    let mut fit_voxels = peaks.clone();
    for _ in 0..96 {
        fit_voxels.push([
            rng.random_range(0..nz),
            rng.random_range(0..ny),
            rng.random_range(0..nx),
        ]);
    }
    let (hu_patches, origins) =
        radlab_eval::detect::axial_patches(volume.voxels.view(), &fit_voxels, size)?;
    let x_all = hu_patches.mapv(win);
    say(&format!(
        "classifying {} patches ({} nodules, {} seeded) to recover the class row",
        fit_voxels.len(),
        peaks.len(),
        fit_voxels.len() - peaks.len()
    ));
    let (logits_all, feats_all) = forward(&mut classifier, &x_all)?;
    let row = class_row(feats_all.view(), &logits_all)?;
    if row.max_residual > 1e-3 {
        bail!(
            "{}: its logit is not linear in the pooled features (largest residual {:.2e}): Grad-CAM as computed here needs a global-average-pool + linear head",
            classifier.card().name,
            row.max_residual
        );
    }
    let n = peaks.len();
    let (_, _, gh, gw) = feats_all.dim();
    let cell = size / gh.max(1);
    let x = x_all.slice(s![..n, .., ..]).to_owned();
    let feats = feats_all.slice(s![..n, .., .., ..]).to_owned();
    let gmaps = maps(&feats, &row, size)?;
    let pooled = radlab_explain::pooled(feats.view());

    // Sanity: random heads (the same spread as the learned one), and the
    // fixture with the head and the last convolution randomised.
    let sd = {
        let m = row.weights.iter().sum::<f64>() / row.weights.len() as f64;
        (row.weights.iter().map(|w| (w - m).powi(2)).sum::<f64>() / row.weights.len() as f64).sqrt()
    };
    let heads: Vec<ClassRow> = (0..8)
        .map(|_| ClassRow {
            weights: row
                .weights
                .iter()
                .map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal) * sd)
                .collect(),
            bias: 0.0,
            max_residual: 0.0,
            silent_channels: vec![],
        })
        .collect();
    let flat = |m: &Array2<f64>| m.iter().copied().collect::<Vec<f64>>();
    let learned = signed_maps(&feats, &row, size)?;
    let mut head_rho = vec![0.0; n];
    for h in &heads {
        for (k, m) in signed_maps(&feats, h, size)?.iter().enumerate() {
            head_rho[k] += spearman(&flat(&learned[k]), &flat(m)).abs() / heads.len() as f64;
        }
    }
    let conv3_file =
        radlab_eval::sample_data_dir().join("fixtures/cam/classifier_random_head_conv3.onnx");
    let conv3_rho: Option<Vec<f64>> = if conv3_file.exists() && n > 0 {
        let tmp = tempfile::tempdir()?;
        let mut m = load_variant(&conv3_file, tmp.path(), model_options)?;
        let (l, f) = forward(&mut m, &x_all)?;
        let r = class_row(f.view(), &l)?;
        let f = f.slice(s![..n, .., .., ..]).to_owned();
        let rm = signed_maps(&f, &r, size)?;
        Some(
            (0..n)
                .map(|k| spearman(&flat(&learned[k]), &flat(&rm[k])).abs())
                .collect(),
        )
    } else {
        None
    };

    // Faithfulness: deletion and insertion in Grad-CAM's order, occlusion's
    // order and random orders, every curve in one batch.
    let steps = opts.steps.max(1);
    let px = size * size;
    let random_orders = 8;
    let orders_per = 2 + random_orders;
    let mut occl_orders = Vec::with_capacity(n);
    for k in 0..n {
        let mut score =
            |b: ndarray::ArrayView3<'_, f32>| -> Result<Vec<f64>, radlab_explain::ExplainError> {
                let (l, _) = forward(&mut classifier, &b.to_owned())
                    .map_err(|e| radlab_explain::ExplainError::Shape(e.to_string()))?;
                Ok(l)
            };
        let occ = radlab_explain::occlusion(x.index_axis(Axis(0), k), 8, 4, air, &mut score)?;
        let tie: Vec<f64> = (0..size * size).map(|_| rng.random()).collect();
        occl_orders.push(order_by(occ.view(), &tie));
    }
    let mut batch = Array3::<f32>::zeros((n * orders_per * 2 * (steps + 1), size, size));
    let mut b = 0;
    for k in 0..n {
        let patch: Vec<f32> = x.index_axis(Axis(0), k).iter().copied().collect();
        // Grad-CAM's ties (its zeros) broken by the signed map, then at random.
        let signed: Vec<f64> = learned[k].iter().copied().collect();
        let mut orders = vec![order_by(gmaps[k].view(), &signed), occl_orders[k].clone()];
        for _ in 0..random_orders {
            let mut o: Vec<usize> = (0..px).collect();
            o.shuffle(&mut rng);
            orders.push(o);
        }
        for o in &orders {
            for deletion in [true, false] {
                for step in 0..=steps {
                    let cut = step * px / steps;
                    let mut img = if deletion {
                        patch.clone()
                    } else {
                        vec![air; px]
                    };
                    for &i in &o[..cut] {
                        img[i] = if deletion { air } else { patch[i] };
                    }
                    batch
                        .index_axis_mut(Axis(0), b)
                        .iter_mut()
                        .zip(img)
                        .for_each(|(d, v)| *d = v);
                    b += 1;
                }
            }
        }
    }
    say(&format!(
        "deletion and insertion curves: {} patches through the classifier",
        batch.dim().0
    ));
    let curve_p: Vec<f64> = if n > 0 {
        forward(&mut classifier, &batch)?
            .0
            .into_iter()
            .map(radlab_metrics::classification::sigmoid)
            .collect()
    } else {
        vec![]
    };
    let curve = |k: usize, order: usize, deletion: bool| -> &[f64] {
        let start = ((k * orders_per + order) * 2 + usize::from(!deletion)) * (steps + 1);
        &curve_p[start..start + steps + 1]
    };
    let faith = |k: usize, order: usize| Faithfulness {
        deletion_auc: auc(curve(k, order, true)),
        insertion_auc: auc(curve(k, order, false)),
    };

    // The pictures: one Secondary Capture per slice with a nodule's patch
    // centre, every nodule of that slice drawn in it.
    radlab_labkit::prepare_out_dir(&opts.out)?;
    let window = radlab_imaging::window::Window::new(
        pre.window_center,
        pre.window_width,
        radlab_imaging::window::VoiFunction::Linear,
    )?;
    let mut by_slice: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, p) in peaks.iter().enumerate() {
        by_slice.entry(p[0]).or_default().push(k);
    }
    // One series: its description is the same on every picture; what
    // differs (slice, nodules, probabilities) is the burned-in caption.
    let description = format!("Grad-CAM {}", alg.name);
    let mut pictures = Vec::new();
    let mut sc_objects = Vec::new();
    let mut sc_of = vec![String::new(); n];
    for (i, (&z, ks)) in by_slice.iter().enumerate() {
        let hu: Vec<f32> = volume
            .voxels
            .index_axis(Axis(0), z)
            .iter()
            .copied()
            .collect();
        let mut gray = vec![0u8; hu.len()];
        window.to_u8_slice(&hu, &mut gray);
        let mut heat = vec![0.0f64; hu.len()];
        for &k in ks {
            let [y0, x0] = origins[k];
            for ((y, xx), &v) in gmaps[k].indexed_iter() {
                let h = &mut heat[(y0 + y) * nx + x0 + xx];
                *h = h.max(v);
            }
        }
        let mut rgb = Rgb {
            rows: ny,
            cols: nx,
            data: overlay(&gray, &heat, opts.alpha),
        };
        // The segment's outline on this slice, so map and segment can be compared.
        for &k in ks {
            let label = kept[k].label;
            let mask: Vec<bool> = labels
                .index_axis(Axis(0), z)
                .iter()
                .map(|&l| l == label)
                .collect();
            rgb.outline(&mask, [0, 255, 255]);
        }
        let names: Vec<String> = ks
            .iter()
            .map(|&k| {
                format!(
                    "nodule {} p={:.2}",
                    k + 1,
                    radlab_metrics::classification::sigmoid(logits_all[k])
                )
            })
            .collect();
        let mut rgb = upscale(rgb);
        rgb.caption(
            &[&format!(
                "slice {}: {}; cyan: segment",
                z + 1,
                names.join(", ")
            )],
            [255, 255, 0],
        );
        let (rows, cols) = (rgb.rows, rgb.cols);
        let obj = sc::secondary_capture(
            rgb,
            z,
            "gradcam",
            &description,
            &source,
            &alg,
            &opts.created,
        )?;
        // The PNG shows exactly the SC's pixels, burned-in caution included.
        let pixels = obj.element(tags::PIXEL_DATA)?.to_bytes()?;
        let png_rgb = Array3::from_shape_vec(
            (rows, cols, 3),
            pixels.get(..rows * cols * 3).unwrap_or_default().to_vec(),
        )?;
        let file = opts.out.join(format!("sc-{:03}.dcm", z + 1));
        radlab_dicom::write::write_dicom_atomic(&file, &obj)?;
        let png = opts.out.join(format!("gradcam-{}.png", i + 1));
        radlab_imaging::planes::write_rgb_png(&png, png_rgb.view())?;
        for &k in ks {
            sc_of[k] = radlab_labkit::display_path(&file);
        }
        pictures.push(Picture {
            z,
            file: radlab_labkit::display_path(&file),
            png: radlab_labkit::display_path(&png),
            sop_instance_uid: sc::instance_uid(&source, &alg, "gradcam", z),
            source_sop_instance_uid: source.instances[z].sop_instance.clone(),
            nodules: ks.iter().map(|k| k + 1).collect(),
        });
        sc_objects.push((z, file, obj));
    }

    let mut nodules = Vec::with_capacity(n);
    for (k, c) in kept.iter().enumerate() {
        let [y0, x0] = origins[k];
        let z = peaks[k][0];
        let signed: Vec<f64> = learned[k].iter().copied().collect();
        let order = order_by(gmaps[k].view(), &signed);
        let (py, pxx) = (order[0] / size, order[0] % size);
        let in_seg = |y: usize, xx: usize| labels[[z, y0 + y, x0 + xx]] == c.label;
        let (cy, cx) = ((py / cell) * cell, (pxx / cell) * cell);
        let cell_hit = (cy..(cy + cell).min(size))
            .any(|y| (cx..(cx + cell).min(size)).any(|xx| in_seg(y, xx)));
        let total: f64 = gmaps[k].sum();
        let inside: f64 = gmaps[k]
            .indexed_iter()
            .filter(|((y, xx), _)| in_seg(*y, *xx))
            .map(|(_, v)| *v)
            .sum();
        let mut random = Faithfulness {
            deletion_auc: 0.0,
            insertion_auc: 0.0,
        };
        for o in 0..random_orders {
            let f = faith(k, 2 + o);
            random.deletion_auc += f.deletion_auc / random_orders as f64;
            random.insertion_auc += f.insertion_auc / random_orders as f64;
        }
        let logit_from_row = row
            .weights
            .iter()
            .zip(pooled.row(k))
            .map(|(w, a)| w * a)
            .sum::<f64>()
            + row.bias;
        nodules.push(Explained {
            number: k + 1,
            peak_voxel: peaks[k],
            patch_origin: origins[k],
            volume_mm3: c.volume_mm3,
            logit: logits_all[k],
            probability: radlab_metrics::classification::sigmoid(logits_all[k]),
            logit_from_row,
            map_peak: [py, pxx],
            map_peak_in_segment: in_seg(py, pxx),
            map_peak_cell_touches_segment: cell_hit,
            mass_in_segment: if total > 0.0 { inside / total } else { 0.0 },
            spearman_random_head: head_rho[k],
            spearman_random_conv3: conv3_rho.as_ref().map(|r| r[k]),
            gradcam: faith(k, 0),
            occlusion: faith(k, 1),
            random,
            deletion_curve: curve(k, 0, true).to_vec(),
            sc_file: sc_of[k].clone(),
        });
    }

    let mine = opts
        .mine
        .then(|| mine_report(&feats, &row, &gmaps, &source, opts.alpha));

    let pacs = match opts.pacs {
        Pacs::None => None,
        // Nothing to send: no association is opened for nothing.
        Pacs::Orthanc if sc_objects.is_empty() => None,
        Pacs::Orthanc => {
            say("starting Orthanc on loopback");
            radlab_pacs::orthanc::ensure_installed()?;
            let mut o = Orthanc::start(&OrthancOptions::default())?;
            let pid = o.pid();
            let row = store_and_read_back(&o, &volume, &source, &alg, &sc_objects, say);
            o.stop(Duration::from_secs(10));
            let mut row = row?;
            row.orthanc_pid = pid;
            row.stopped = pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists());
            Some(row)
        }
    };

    let mean = |f: &dyn Fn(&Explained) -> f64| {
        if nodules.is_empty() {
            f64::NAN
        } else {
            nodules.iter().map(f).sum::<f64>() / nodules.len() as f64
        }
    };
    let mean_faith = |f: &dyn Fn(&Explained) -> Faithfulness| Faithfulness {
        deletion_auc: mean(&|e| f(e).deletion_auc),
        insertion_auc: mean(&|e| f(e).insertion_auc),
    };
    Ok(Report {
        input: radlab_labkit::display_path(&opts.input),
        shape: [nz, ny, nx],
        spacing_mm: volume.spacing,
        segmenter: format!(
            "{} ({})",
            segmenter.card().name,
            &segmenter.card().sha256[..16]
        ),
        device_uid: alg.device_uid(),
        classifier: alg.clone(),
        class_row_patches: fit_voxels.len(),
        class_row_max_residual: row.max_residual,
        feature_grid: [gh, gw],
        cell_pixels: cell,
        silent_channels: row.silent_channels.clone(),
        components: all_components,
        dropped_small: all_components - kept.len(),
        mean_spearman_random_head: mean(&|e| e.spearman_random_head),
        mean_spearman_random_conv3: conv3_rho
            .as_ref()
            .map(|_| mean(&|e| e.spearman_random_conv3.unwrap_or(f64::NAN))),
        mean_gradcam: mean_faith(&|e| e.gradcam),
        mean_occlusion: mean_faith(&|e| e.occlusion),
        mean_random: mean_faith(&|e| e.random),
        pointing_hits: nodules.iter().filter(|e| e.map_peak_in_segment).count(),
        pointing_cell_hits: nodules
            .iter()
            .filter(|e| e.map_peak_cell_touches_segment)
            .count(),
        nodules,
        pictures,
        pacs,
        mine,
    })
}

/// C-ECHO, C-STORE the pictures' source slices and the pictures, then read
/// each picture back by WADO-RS and compare what matters.
fn store_and_read_back(
    o: &Orthanc,
    volume: &radlab_dicom::Volume,
    source: &SourceSeries,
    alg: &Algorithm,
    pictures: &[(usize, PathBuf, dicom_object::DefaultDicomObject)],
    say: &mut dyn FnMut(&str),
) -> Result<PacsRow> {
    let opts = ScuOptions {
        calling_aet: "RADLAB".into(),
        called_aet: o.aet.clone(),
        address: format!("127.0.0.1:{}", o.dicom_port),
        timeout: Duration::from_secs(30),
    };
    let ct_class = source
        .instances
        .first()
        .map(|i| i.sop_class.clone())
        .unwrap_or_default();
    say(&format!(
        "C-STORE to {} at {}: {} picture(s) and their source slices",
        opts.called_aet,
        opts.address,
        pictures.len()
    ));
    let mut assoc = Association::open(&opts, &[ct_class.as_str(), sc::SECONDARY_CAPTURE])?;
    let negotiated = assoc.negotiated.iter().map(|n| n.to_string()).collect();
    let echo_status = assoc.echo()?;
    let mut failed = Vec::new();
    let (mut ct_stored, mut sc_stored) = (0, 0);
    let mut sent: Vec<&Path> = Vec::new();
    for (z, _, _) in pictures {
        let path = &volume.slices[*z].0;
        if sent.contains(&path.as_path()) {
            continue;
        }
        sent.push(path);
        let obj = dicom_object::open_file(path).with_context(|| path.display().to_string())?;
        match assoc.store(&obj)? {
            0 => ct_stored += 1,
            st => failed.push((source.instances[*z].sop_instance.clone(), st)),
        }
    }
    for (z, _, obj) in pictures {
        match assoc.store(obj)? {
            0 => sc_stored += 1,
            st => failed.push((sc::instance_uid(source, alg, "gradcam", *z), st)),
        }
    }
    assoc.release()?;

    let web = radlab_pacs::dicomweb::DicomWeb::new(&o.dicomweb_url(), Duration::from_secs(60));
    let series = sc::series_uid(source, alg, "gradcam");
    let mut read_back_identical = 0;
    for (z, _, obj) in pictures {
        let bytes = web.retrieve_instance(
            &source.study_uid,
            &series,
            &sc::instance_uid(source, alg, "gradcam", *z),
        )?;
        let back = dicom_object::from_reader(bytes.get(128..).unwrap_or_default())
            .context("reading back a picture retrieved by WADO-RS")?;
        if same_picture(obj, &back) {
            read_back_identical += 1;
        }
    }
    let sc_series_instances = web
        .search(&format!(
            "studies/{}/series/{series}/instances",
            source.study_uid
        ))?
        .len();
    Ok(PacsRow {
        address: opts.address,
        aet: opts.called_aet,
        orthanc_pid: None,
        negotiated,
        echo_status,
        ct_stored,
        sc_stored,
        failed,
        read_back_identical,
        sc_series_instances,
        stopped: false,
    })
}

/// Pixels, source reference, caution and burned-in flag equal.
fn same_picture(
    a: &dicom_object::DefaultDicomObject,
    b: &dicom_object::DefaultDicomObject,
) -> bool {
    let bytes = |o: &dicom_object::DefaultDicomObject, t| {
        o.element(t)
            .ok()
            .and_then(|e| e.to_bytes().ok().map(|b| b.to_vec()))
    };
    let text = |o: &dicom_object::DefaultDicomObject, t| {
        o.element(t).ok().and_then(|e| {
            e.to_str()
                .ok()
                .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        })
    };
    let source_ref = |o: &dicom_object::DefaultDicomObject| {
        o.element(tags::SOURCE_IMAGE_SEQUENCE)
            .ok()
            .and_then(|e| e.items().map(|i| i.to_vec()))
            .and_then(|items| {
                items.first().and_then(|i| {
                    i.element(tags::REFERENCED_SOP_INSTANCE_UID)
                        .ok()
                        .and_then(|e| e.to_str().ok().map(|s| s.to_string()))
                })
            })
    };
    let pix = bytes(a, tags::PIXEL_DATA);
    pix.is_some()
        && pix == bytes(b, tags::PIXEL_DATA)
        && source_ref(a).is_some()
        && source_ref(a) == source_ref(b)
        && text(a, tags::SERIES_DESCRIPTION) == text(b, tags::SERIES_DESCRIPTION)
        && text(b, tags::BURNED_IN_ANNOTATION).as_deref() == Some("YES")
}

/// The exercise functions on the same nodules, compared with the reference.
fn mine_report(
    feats: &Array4<f32>,
    row: &ClassRow,
    gmaps: &[Array2<f64>],
    source: &SourceSeries,
    alpha: f64,
) -> Mine {
    use crate::exercise;
    let size = gmaps.first().map_or(32, |m| m.dim().0);
    let mine: Option<Vec<Array2<f64>>> = radlab_grade::quietly(|| {
        let raw: Vec<Array2<f64>> = feats
            .axis_iter(Axis(0))
            .map(|a| exercise::upsample(exercise::grad_cam(a, &row.weights).view(), [size, size]))
            .collect();
        let mut stack = Array3::<f64>::zeros((raw.len(), size, size));
        for (k, m) in raw.iter().enumerate() {
            stack.index_axis_mut(Axis(0), k).assign(m);
        }
        let n = exercise::normalise(stack.view());
        n.outer_iter().map(|m| m.to_owned()).collect()
    });
    let max_map_difference = mine.as_ref().map(|m| {
        m.iter()
            .zip(gmaps)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold(0.0, f64::max)
    });
    let same_overlay = radlab_grade::quietly(|| {
        gmaps.iter().all(|m| {
            let heat: Vec<f64> = m.iter().copied().collect();
            let gray: Vec<u8> = (0..heat.len()).map(|i| (i * 37 % 256) as u8).collect();
            exercise::overlay(&gray, &heat, alpha) == overlay(&gray, &heat, alpha)
        })
    });
    let src = crate::types::SourceImage {
        sop_class: source
            .instances
            .first()
            .map(|i| i.sop_class.clone())
            .unwrap_or_default(),
        sop_instance: source
            .instances
            .first()
            .map(|i| i.sop_instance.clone())
            .unwrap_or_default(),
    };
    let header_problem = radlab_grade::quietly(|| {
        let h = exercise::sc_header("Grad-CAM", &src);
        crate::checks::header_problem(&h, "Grad-CAM", &src)
    });
    let same_header = header_problem.as_ref().map(|p| p.is_none());
    let mut note = String::new();
    for (name, ran) in [
        ("grad-cam, upsample or normalise", mine.is_some()),
        ("overlay", same_overlay.is_some()),
        ("sc-header", same_header.is_some()),
    ] {
        if !ran {
            note.push_str(&format!("{name} did not finish; "));
        }
    }
    Mine {
        max_map_difference,
        same_overlay,
        same_header,
        header_problem: header_problem.flatten(),
        note,
    }
}
