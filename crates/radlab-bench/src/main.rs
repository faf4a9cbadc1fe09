//! radlab's side of `cargo xtask bench`.
//!
//! - `radlab-bench gen --data DIR [--tiny]` writes the workload data
//!   (a CT series, a volume to resample, a volume for sliding windows) and
//!   `sizes.json`, deterministically; the Python peer adds the RLE series.
//! - `radlab-bench run WORKLOAD --data DIR --runs N` times one workload and
//!   prints one JSON line: `{"times_s": [...], "peak_rss_mb": .., "check": {..}}`.
//!   The `check` values are compared with the peer's before any timing is
//!   believed.
//! - `radlab-bench baseline --data DIR` measures memory-copy bandwidth and
//!   warm file-read throughput on this machine.
//!
//! Arrays are `[z, y, x]`, spacing `(z, y, x)` in mm.

use radlab_dicom::Spacing;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use ndarray::{Array2, Array3};
use radlab_metrics::calibration::{
    Binning, EdgeRule, Reduction, fit_temperature, reduce, reliability,
};
use radlab_metrics::detection::{CAMELYON16, ScanResult, froc};
use radlab_metrics::segmentation::{Counts, EmptyPolicy, surface_metrics};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Parser)]
#[command(
    name = "radlab-bench",
    about = "radlab's workloads for cargo xtask bench"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the workload data into DIR.
    Gen {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// Tiny sizes (for `cargo xtask bench --check`).
        #[arg(long)]
        tiny: bool,
    },
    /// Time one workload and print a JSON line.
    Run {
        /// load, rle, scan, window, dice, hd95, froc, fleiss, alpha, ece, temperature, resample, process, sliding, classify, gradcam, scp.
        workload: String,
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
        /// Timed repetitions.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Where the models of sliding and classify run: cpu or cuda.
        #[arg(long, default_value = "cpu")]
        device: radlab_infer::Device,
    },
    /// The common C-STORE sender of the receive rows: radlab's SCU (no
    /// Nagle delay), the CT series split round-robin over N associations;
    /// prints {"seconds", "instances", "bytes"} as JSON.
    Send {
        /// Receiver `host:port`.
        #[arg(long)]
        address: String,
        /// Called AE title.
        #[arg(long, default_value = "ANY-SCP")]
        called: String,
        /// Data folder (its `ct/` is sent).
        #[arg(long)]
        data: PathBuf,
        /// Parallel associations.
        #[arg(long, default_value_t = 4)]
        associations: usize,
    },
    /// Memory-copy bandwidth and warm file-read throughput, as JSON.
    Baseline {
        /// Data folder.
        #[arg(long)]
        data: PathBuf,
    },
}

/// Workload sizes, shared with the Python peer through `sizes.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sizes {
    ct_shape: [usize; 3],
    ct_spacing: Spacing,
    rle_slices: usize,
    resample_shape: [usize; 3],
    resample_spacing: Spacing,
    resample_target: Spacing,
    sliding_shape: [usize; 3],
    sliding_roi: [usize; 3],
    sliding_overlap: f64,
    window: (f64, f64),
    /// Two segmentation masks: integer ellipsoids `[cz, cy, cx, rz, ry, rx]`
    /// in voxels (B also has a small ball `[cz, cy, cx, r]`), so that numpy
    /// builds the same masks exactly.
    mask_shape: [usize; 3],
    mask_spacing: Spacing,
    mask_a: [i64; 6],
    mask_b: [i64; 6],
    mask_blob: [i64; 4],
    /// A detection problem (`radlab_metrics::detection::synthetic_scans`):
    /// scans, candidates per scan, seed; written as `froc_fp.npy` and
    /// `froc_lesions.npy` for both sides.
    #[serde(default)]
    froc: (usize, usize, u64),
    /// Calibration: predictions for the ECE row, rows and classes of the
    /// temperature fit, seed; written as `ece_*.npy` and `temp_*.npy`.
    #[serde(default)]
    calibration: (usize, usize, usize, u64),
    /// Agreement: subjects, raters, categories, seed; written as
    /// `agree_ratings.npy` (subjects x raters) and `agree_units.npy`
    /// (raters x units, 5% missing as NaN).
    #[serde(default)]
    agreement: (usize, usize, usize, u64),
}

impl Sizes {
    fn new(tiny: bool) -> Sizes {
        if tiny {
            Sizes {
                ct_shape: [12, 64, 64],
                ct_spacing: Spacing::new(1.0, 0.7, 0.7),
                rle_slices: 6,
                resample_shape: [8, 64, 64],
                resample_spacing: Spacing::new(2.5, 0.7, 0.7),
                resample_target: Spacing::new(1.0, 1.0, 1.0),
                sliding_shape: [20, 40, 40],
                sliding_roi: [8, 16, 16],
                sliding_overlap: 0.25,
                window: (-600.0, 1500.0),
                mask_shape: [12, 40, 40],
                mask_spacing: Spacing::new(1.0, 0.7, 0.7),
                mask_a: [6, 20, 20, 4, 12, 10],
                mask_b: [6, 19, 21, 4, 13, 9],
                mask_blob: [2, 5, 33, 2],
                froc: (20, 5, 7),
                calibration: (2000, 500, 14, 11),
                agreement: (400, 5, 4, 13),
            }
        } else {
            Sizes {
                ct_shape: [300, 512, 512],
                ct_spacing: Spacing::new(1.0, 0.7, 0.7),
                rle_slices: 50,
                resample_shape: [120, 512, 512],
                resample_spacing: Spacing::new(2.5, 0.7, 0.7),
                resample_target: Spacing::new(1.0, 1.0, 1.0),
                sliding_shape: [160, 256, 256],
                sliding_roi: [64, 128, 128],
                sliding_overlap: 0.25,
                window: (-600.0, 1500.0),
                mask_shape: [300, 512, 512],
                mask_spacing: Spacing::new(1.0, 0.7, 0.7),
                mask_a: [150, 256, 256, 90, 150, 120],
                mask_b: [155, 250, 262, 85, 155, 118],
                mask_blob: [40, 100, 420, 10],
                froc: (1000, 10, 7),
                calibration: (1_000_000, 100_000, 14, 11),
                agreement: (10_000, 5, 4, 13),
            }
        }
    }

    fn read(data: &Path) -> Result<Sizes> {
        let path = data.join("sizes.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: run `radlab-bench gen` first", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// What one `run` prints.
#[derive(Serialize)]
struct RunResult {
    times_s: Vec<f64>,
    peak_rss_mb: f64,
    check: BTreeMap<String, f64>,
    /// The instruction-set path the hot loops took (`radlab_simd::Isa`).
    isa: &'static str,
}

fn main() -> std::process::ExitCode {
    match run_cli(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("radlab-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Gen { data, tiny } => generate(&data, tiny),
        Cmd::Run {
            workload,
            data,
            runs,
            device,
        } => {
            let sizes = Sizes::read(&data)?;
            let result = run_workload(&workload, &data, &sizes, runs.max(1), device)?;
            println!("{}", serde_json::to_string(&result)?);
            Ok(())
        }
        Cmd::Baseline { data } => baseline(&data),
        Cmd::Send {
            address,
            called,
            data,
            associations,
        } => {
            let (seconds, instances, bytes) = send_series(&address, &called, &data, associations)?;
            println!(
                "{}",
                serde_json::json!({"seconds": seconds, "instances": instances, "bytes": bytes})
            );
            Ok(())
        }
    }
}

/// The detection problem as two arrays: false positives `[n, 2]` (scan,
/// score) and lesions `[m, 2]` (scan, best score or NaN when missed).
fn write_froc(data: &Path, s: &Sizes) -> Result<()> {
    let (scans, per, seed) = s.froc;
    let problem = radlab_metrics::detection::synthetic_scans(scans, 1.0, per, seed);
    let mut fp = Vec::new();
    let mut les = Vec::new();
    for (i, r) in problem.iter().enumerate() {
        for &v in &r.fp_scores {
            fp.extend([i as f64, v]);
        }
        for v in &r.lesion_scores {
            les.extend([i as f64, v.unwrap_or(f64::NAN)]);
        }
    }
    let fp = Array2::from_shape_vec((fp.len() / 2, 2), fp)?;
    let les = Array2::from_shape_vec((les.len() / 2, 2), les)?;
    ndarray_npy::write_npy(data.join("froc_fp.npy"), &fp)?;
    ndarray_npy::write_npy(data.join("froc_lesions.npy"), &les)?;
    Ok(())
}

/// Agreement inputs: each subject has a true category; each rater gives
/// it with probability 0.7, otherwise a category at random. The units
/// array is the same ratings transposed, one in twenty missing.
fn write_agreement(data: &Path, s: &Sizes) -> Result<()> {
    use rand::{Rng, SeedableRng};
    let (n, r, k, seed) = s.agreement;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut ratings = Array2::<i64>::zeros((n, r));
    let mut units = Array2::<f64>::zeros((r, n));
    for i in 0..n {
        let truth = rng.random_range(0..k as i64);
        for j in 0..r {
            let v = if rng.random::<f64>() < 0.7 {
                truth
            } else {
                rng.random_range(0..k as i64)
            };
            ratings[[i, j]] = v;
            units[[j, i]] = if rng.random::<f64>() < 0.05 {
                f64::NAN
            } else {
                v as f64
            };
        }
    }
    ndarray_npy::write_npy(data.join("agree_ratings.npy"), &ratings)?;
    ndarray_npy::write_npy(data.join("agree_units.npy"), &units)?;
    Ok(())
}

/// Calibration inputs: confidences in [0, 1] (a few exactly 1.0) with
/// outcomes drawn from conf^1.3 (over-confident), and 14-class logits with
/// labels drawn from softmax(z / 1.7).
fn write_calibration(data: &Path, s: &Sizes) -> Result<()> {
    use rand::{Rng, SeedableRng};
    let (n, m, k, seed) = s.calibration;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let conf: Vec<f64> = (0..n)
        .map(|i| {
            if i % 1000 == 0 {
                1.0
            } else {
                rng.random::<f64>()
            }
        })
        .collect();
    let correct: Vec<f64> = conf
        .iter()
        .map(|&p| f64::from(u8::from(rng.random::<f64>() < p.powf(1.3))))
        .collect();
    ndarray_npy::write_npy(data.join("ece_conf.npy"), &ndarray::Array1::from(conf))?;
    ndarray_npy::write_npy(
        data.join("ece_correct.npy"),
        &ndarray::Array1::from(correct),
    )?;
    let mut logits = Array2::<f64>::zeros((m, k));
    let mut labels = Vec::with_capacity(m);
    for mut row in logits.outer_iter_mut() {
        let mut w = Vec::with_capacity(k);
        for v in row.iter_mut() {
            // Sum of uniforms: roughly normal, spread like 2.5 sigma.
            *v = (0..4).map(|_| rng.random::<f64>() - 0.5).sum::<f64>() * 4.3;
            w.push((*v / 1.7).exp());
        }
        let total: f64 = w.iter().sum();
        let mut u = rng.random::<f64>() * total;
        let mut label = k - 1;
        for (j, &x) in w.iter().enumerate() {
            if u < x {
                label = j;
                break;
            }
            u -= x;
        }
        labels.push(label as i64);
    }
    ndarray_npy::write_npy(data.join("temp_logits.npy"), &logits)?;
    ndarray_npy::write_npy(data.join("temp_labels.npy"), &ndarray::Array1::from(labels))?;
    Ok(())
}

/// The detection problem back from its arrays.
fn read_froc(data: &Path, s: &Sizes) -> Result<Vec<ScanResult>> {
    let fp: Array2<f64> = ndarray_npy::read_npy(data.join("froc_fp.npy"))?;
    let les: Array2<f64> = ndarray_npy::read_npy(data.join("froc_lesions.npy"))?;
    let mut out = vec![ScanResult::default(); s.froc.0];
    for r in fp.outer_iter() {
        out[r[0] as usize].fp_scores.push(r[1]);
    }
    for r in les.outer_iter() {
        out[r[0] as usize]
            .lesion_scores
            .push((!r[1].is_nan()).then_some(r[1]));
    }
    Ok(out)
}

/// The two bench masks (see [`Sizes`]): `(z - cz)^2 (ry rx)^2 + ... <= (rz ry rx)^2`
/// in integers, like the peer's numpy expression.
fn bench_masks(s: &Sizes) -> (Array3<bool>, Array3<bool>) {
    let [nz, ny, nx] = s.mask_shape;
    let inside = |e: [i64; 6], z: usize, y: usize, x: usize| {
        let (dz, dy, dx) = (z as i64 - e[0], y as i64 - e[1], x as i64 - e[2]);
        let (a, b, c) = (dz * e[4] * e[5], dy * e[3] * e[5], dx * e[3] * e[4]);
        let r = e[3] * e[4] * e[5];
        a * a + b * b + c * c <= r * r
    };
    let blob = s.mask_blob;
    let mut a = Array3::from_elem((nz, ny, nx), false);
    let mut b = a.clone();
    a.axis_iter_mut(ndarray::Axis(0))
        .into_par_iter()
        .zip(b.axis_iter_mut(ndarray::Axis(0)).into_par_iter())
        .enumerate()
        .for_each(|(z, (mut pa, mut pb))| {
            for y in 0..ny {
                for x in 0..nx {
                    pa[[y, x]] = inside(s.mask_a, z, y, x);
                    let (dz, dy, dx) = (z as i64 - blob[0], y as i64 - blob[1], x as i64 - blob[2]);
                    pb[[y, x]] = inside(s.mask_b, z, y, x)
                        || dz * dz + dy * dy + dx * dx <= blob[3] * blob[3];
                }
            }
        });
    (a, b)
}

/// A body-and-lung pattern with noise: realistic files without the cost of
/// the full phantom at 300 x 512 x 512.
fn pattern(shape: [usize; 3], seed: usize) -> Array3<i16> {
    let [nz, ny, nx] = shape;
    Array3::from_shape_fn((nz, ny, nx), |(z, y, x)| {
        let (fx, fy) = (x as f64 / nx as f64 - 0.5, y as f64 / ny as f64 - 0.5);
        let r = (fx * fx / 0.2 + fy * fy / 0.12).sqrt();
        let noise = ((x * 7919 + y * 104_729 + z * 1_299_709 + seed) % 41) as i16 - 20;
        let vessel = ((x / 9 + y / 7 + z / 5) % 13 == 0) as i16 * 700;
        if r > 1.0 {
            -1000 + noise
        } else if (fx.abs() - 0.2).abs() < 0.12 && fy.abs() < 0.25 {
            -850 + noise + vessel
        } else {
            40 + noise
        }
    })
}

fn generate(data: &Path, tiny: bool) -> Result<()> {
    let sizes = Sizes::new(tiny);
    std::fs::create_dir_all(data)?;
    write_froc(data, &sizes)?;
    write_calibration(data, &sizes)?;
    write_agreement(data, &sizes)?;
    let stamp = data.join("sizes.json");
    let want = serde_json::to_string_pretty(&sizes)?;
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str())
        && data.join("ct").is_dir()
    {
        eprintln!("workload data in {} is up to date", data.display());
        return Ok(());
    }
    let ct = data.join("ct");
    if ct.exists() {
        std::fs::remove_dir_all(&ct)?;
    }
    eprintln!(
        "writing a {:?} CT series to {}",
        sizes.ct_shape,
        ct.display()
    );
    let [nz, ny, nx] = sizes.ct_shape;
    let spacing = sizes.ct_spacing;
    let phantom = radlab_synth::Phantom {
        hu: pattern(sizes.ct_shape, 0),
        labels: Array3::zeros((nz, ny, nx)),
        nodules: Vec::new(),
        origin: [
            -(nx as f64) * spacing.x / 2.0,
            -(ny as f64) * spacing.y / 2.0,
            0.0,
        ],
        spacing,
    };
    let case = radlab_synth::generate_case(&radlab_synth::CaseSpec {
        shape: [1, 8, 8],
        ..radlab_synth::CaseSpec::sample(300)
    });
    radlab_synth::writer::write_series(
        &phantom,
        &radlab_synth::writer::SeriesHeader {
            seed: 300,
            vendor: &radlab_synth::VENDORS[0],
            identity: &case.identity,
            burned_in: false,
        },
        &ct,
    )?;
    eprintln!("writing resample_in.npy {:?}", sizes.resample_shape);
    let resample = pattern(sizes.resample_shape, 1).mapv(f32::from);
    ndarray_npy::write_npy(data.join("resample_in.npy"), &resample)?;
    eprintln!("writing sliding_in.npy {:?}", sizes.sliding_shape);
    let sliding = pattern(sizes.sliding_shape, 2)
        .mapv(|v| radlab_infer::card::window01(f32::from(v), -600.0, 1500.0));
    ndarray_npy::write_npy(data.join("sliding_in.npy"), &sliding)?;
    std::fs::write(&stamp, want)?;
    Ok(())
}

/// Peak resident set size of this process, MB (VmHWM).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    Ok(files)
}

fn hu_check(vol: &radlab_dicom::Volume) -> BTreeMap<String, f64> {
    let v = vol.voxels.as_slice().unwrap_or(&[]);
    let sum: f64 = v.par_iter().map(|&x| x as f64).sum();
    let min = v.par_iter().copied().reduce(|| f32::INFINITY, f32::min);
    let max = v.par_iter().copied().reduce(|| f32::NEG_INFINITY, f32::max);
    BTreeMap::from([
        ("voxels".into(), v.len() as f64),
        ("sum".into(), sum),
        ("min".into(), min as f64),
        ("max".into(), max as f64),
    ])
}

/// Three balls of radius `max(1, x / 40)` voxels at fixed fractions of the
/// grid, labelled 1, 2, 3: the findings of the results row (peers.py makes
/// the same ones).
fn result_labels(shape: [usize; 3]) -> ndarray::Array3<u32> {
    let [nz, ny, nx] = shape;
    let r = (nx / 40).max(1) as i64;
    let centres = [(0.3, 0.4, 0.35), (0.6, 0.55, 0.65), (0.5, 0.3, 0.7)];
    let mut out = ndarray::Array3::zeros((nz, ny, nx));
    for (i, (fz, fy, fx)) in centres.iter().enumerate() {
        let c = [
            (fz * nz as f64) as i64,
            (fy * ny as f64) as i64,
            (fx * nx as f64) as i64,
        ];
        for ((z, y, x), v) in out.indexed_iter_mut() {
            let d = [z as i64 - c[0], y as i64 - c[1], x as i64 - c[2]];
            if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= r * r {
                *v = i as u32 + 1;
            }
        }
    }
    out
}

fn timed<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(Vec<f64>, T)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let out = f()?;
        times.push(t.elapsed().as_secs_f64());
        last = Some(out);
    }
    Ok((times, last.expect("runs >= 1")))
}

/// A bundled model on `device`.
fn bundled_model(card: &str, device: radlab_infer::Device) -> Result<radlab_infer::Model> {
    let card = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../sample_data/models/{card}.toml"));
    Ok(radlab_infer::Model::load(
        &card,
        &radlab_infer::ModelOptions {
            device,
            threads: None,
        },
    )?)
}

/// `n` crops `[n, 1, 32, 32]` taken in raster order from the slices of
/// `volume` (which must be at least 32 x 32 in-plane).
fn classifier_crops(volume: &Array3<f32>, n: usize) -> ndarray::Array4<f32> {
    let (nz, ny, nx) = volume.dim();
    let per_slice = (ny / 32) * (nx / 32);
    let mut out = ndarray::Array4::<f32>::zeros((n, 1, 32, 32));
    for i in 0..n {
        let (z, k) = ((i / per_slice) % nz, i % per_slice);
        let (y, x) = ((k / (nx / 32)) * 32, (k % (nx / 32)) * 32);
        out.slice_mut(ndarray::s![i, 0, .., ..])
            .assign(&volume.slice(ndarray::s![z, y..y + 32, x..x + 32]));
    }
    out
}

/// The workloads' window (PS3.3 LINEAR).
fn bench_window(sizes: &Sizes) -> Result<radlab_imaging::Window> {
    Ok(radlab_imaging::Window::new(
        sizes.window.0,
        sizes.window.1,
        radlab_imaging::VoiFunction::Linear,
    )?)
}

fn window_u8(values: &[f32], sizes: &Sizes) -> Result<Vec<u8>> {
    let mut out = radlab_dicom::volume::zeroed_u8(values.len());
    bench_window(sizes)?.to_u8_slice(values, &mut out);
    Ok(out)
}

fn u8_check(out: &[u8]) -> BTreeMap<String, f64> {
    BTreeMap::from([
        (
            "sum".into(),
            out.par_iter().map(|&b| b as u64).sum::<u64>() as f64,
        ),
        (
            "zeros".into(),
            out.par_iter().filter(|&&b| b == 0).count() as f64,
        ),
        (
            "full".into(),
            out.par_iter().filter(|&&b| b == 255).count() as f64,
        ),
    ])
}

/// Send the data's CT series over `n` associations at once (files dealt
/// round-robin); (seconds from the first connection to the last release,
/// instances, data set bytes).
fn send_series(address: &str, called: &str, data: &Path, n: usize) -> Result<(f64, usize, u64)> {
    use radlab_pacs::scu::{Association, ScuOptions, split_part10};
    let files = sorted_files(&data.join("ct"))?;
    let n = n.clamp(1, 64);
    let t = Instant::now();
    // Threads, not rayon: every association must be open at once whatever
    // the number of cores.
    let one = |k: usize| -> Result<(usize, u64)> {
        let mut a = Association::open(
            &ScuOptions {
                calling_aet: "RADLAB-BENCH".into(),
                called_aet: called.into(),
                address: address.into(),
                timeout: Duration::from_secs(60),
            },
            &[dicom_dictionary_std::uids::CT_IMAGE_STORAGE],
        )?;
        let (mut count, mut bytes) = (0, 0u64);
        for f in files.iter().skip(k).step_by(n) {
            let status = a.store_file(f)?;
            anyhow::ensure!(status == 0, "{}: status {status:04X}", f.display());
            let b = std::fs::read(f)?;
            bytes += split_part10(&b).map(|(_, d)| d.len() as u64).unwrap_or(0);
            count += 1;
        }
        a.release()?;
        Ok((count, bytes))
    };
    let per: Vec<Result<(usize, u64)>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..n).map(|k| sc.spawn(move || one(k))).collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a sender thread panicked")))
            })
            .collect()
    });
    let secs = t.elapsed().as_secs_f64();
    let mut total = (0, 0);
    for r in per {
        let (c, b) = r?;
        total.0 += c;
        total.1 += b;
    }
    Ok((secs, total.0, total.1))
}

/// Receive the CT series into radlab's listener (fresh storage each run),
/// sent by the common sender in its own process.
fn receive_scp(data: &Path, runs: usize) -> Result<(Vec<f64>, BTreeMap<String, f64>)> {
    let mut times = Vec::new();
    let mut check = BTreeMap::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir()?;
        let (scp, _events) =
            radlab_pacs::scp::Scp::start(&radlab_pacs::scp::ScpOptions::new(dir.path()))?;
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["send", "--address"])
            .arg(scp.local_addr().to_string())
            .args(["--called", "RADLAB", "--data"])
            .arg(data)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "sender: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let summary = scp.stop(Duration::from_secs(10));
        let stored = std::fs::read_dir(dir.path())?
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "dcm"))
            })
            .count();
        anyhow::ensure!(
            summary.stored as usize == stored,
            "{summary:?} vs {stored} files"
        );
        times.push(v["seconds"].as_f64().unwrap_or(f64::NAN));
        check = BTreeMap::from([
            ("instances".to_string(), stored as f64),
            ("bytes_sent".to_string(), v["bytes"].as_f64().unwrap_or(0.0)),
        ]);
    }
    Ok((times, check))
}

fn run_workload(
    workload: &str,
    data: &Path,
    sizes: &Sizes,
    runs: usize,
    device: radlab_infer::Device,
) -> Result<RunResult> {
    let (times, check) = match workload {
        "scp" => receive_scp(data, runs)?,
        "load" => {
            let (t, vol) = timed(runs, || {
                Ok(radlab_dicom::load_path(&data.join("ct"), None)?)
            })?;
            (t, hu_check(&vol))
        }
        "rle" => {
            let (t, vol) = timed(runs, || {
                Ok(radlab_dicom::load_path(&data.join("rle"), None)?)
            })?;
            (t, hu_check(&vol))
        }
        "scan" => {
            let files = sorted_files(&data.join("ct"))?;
            let (t, order) = timed(runs, || {
                let headers: Vec<radlab_dicom::header::ImageHeader> = files
                    .par_iter()
                    .map(|p| radlab_dicom::header::ImageHeader::read(p))
                    .collect::<Result<_, _>>()?;
                let placements: Vec<_> = headers.iter().map(|h| h.placements[0].clone()).collect();
                let order = radlab_dicom::geometry::order_slices(&placements)
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                Ok(order
                    .order
                    .iter()
                    .map(|&i| placements[i].instance_number.unwrap_or(0))
                    .collect::<Vec<i64>>())
            })?;
            let weighted: f64 = order
                .iter()
                .enumerate()
                .map(|(k, &n)| k as f64 * n as f64)
                .sum();
            (
                t,
                BTreeMap::from([
                    ("files".into(), order.len() as f64),
                    ("order_weighted_sum".into(), weighted),
                ]),
            )
        }
        "window" => {
            let vol = radlab_dicom::load_path(&data.join("ct"), None)?;
            let values = vol.voxels.as_slice().unwrap_or(&[]);
            // The output buffer is made once, as a viewer re-windowing a
            // volume keeps its display buffer (the peer does the same).
            let w = bench_window(sizes)?;
            let mut out = radlab_dicom::volume::zeroed_u8(values.len());
            let (t, ()) = timed(runs, || {
                w.to_u8_slice(values, &mut out);
                Ok(())
            })?;
            (t, u8_check(&out))
        }
        "dice" => {
            let (a, b) = bench_masks(sizes);
            let (t, (dice, iou, tp)) = timed(runs, || {
                let c = Counts::of(a.view(), b.view())?;
                Ok((
                    c.dice(EmptyPolicy::BothEmptyOne),
                    c.iou(EmptyPolicy::BothEmptyOne),
                    c.tp,
                ))
            })?;
            (
                t,
                BTreeMap::from([
                    ("dice".into(), dice),
                    ("iou".into(), iou),
                    ("tp".into(), tp as f64),
                    ("voxels".into(), a.len() as f64),
                ]),
            )
        }
        "hd95" => {
            let (a, b) = bench_masks(sizes);
            let (t, m) = timed(runs, || {
                Ok(surface_metrics(
                    a.view(),
                    b.view(),
                    sizes.mask_spacing,
                    1.0,
                )?)
            })?;
            (
                t,
                BTreeMap::from([("hd95".into(), m.hd95), ("hausdorff".into(), m.hausdorff)]),
            )
        }
        "froc" => {
            let scans = read_froc(data, sizes)?;
            let (t, (cpm, cam, n)) = timed(runs, || {
                let f = froc(&scans)?;
                Ok((f.cpm(), f.score(&CAMELYON16), f.points.len()))
            })?;
            (
                t,
                BTreeMap::from([
                    ("cpm".into(), cpm),
                    ("camelyon16".into(), cam),
                    ("points".into(), n as f64),
                ]),
            )
        }
        "fleiss" => {
            use radlab_metrics::agreement::{Chance, count_table, fleiss_kappa};
            let r: Array2<i64> = ndarray_npy::read_npy(data.join("agree_ratings.npy"))?;
            let rows: Vec<Vec<usize>> = r
                .outer_iter()
                .map(|row| row.iter().map(|&v| v as usize).collect())
                .collect();
            let (t, k) = timed(runs, || {
                let (table, _) = count_table(&rows);
                Ok(fleiss_kappa(table.view(), Chance::Fleiss)?)
            })?;
            (t, BTreeMap::from([("kappa".into(), k)]))
        }
        "alpha" => {
            use radlab_metrics::agreement::{Level, krippendorff_alpha};
            let u: Array2<f64> = ndarray_npy::read_npy(data.join("agree_units.npy"))?;
            let d: Vec<Vec<Option<f64>>> = u
                .outer_iter()
                .map(|row| row.iter().map(|&v| (!v.is_nan()).then_some(v)).collect())
                .collect();
            let (t, a) = timed(runs, || Ok(krippendorff_alpha(&d, Level::Nominal)?))?;
            (t, BTreeMap::from([("alpha".into(), a)]))
        }
        "ece" => {
            let conf: ndarray::Array1<f64> = ndarray_npy::read_npy(data.join("ece_conf.npy"))?;
            let correct: ndarray::Array1<f64> =
                ndarray_npy::read_npy(data.join("ece_correct.npy"))?;
            let (c, o) = (conf.to_vec(), correct.to_vec());
            let binning = Binning::equal_width(15, EdgeRule::LeftClosedExtraBin);
            let (t, ece) = timed(runs, || {
                Ok(reduce(&reliability(&c, &o, &binning)?, Reduction::Expected))
            })?;
            (t, BTreeMap::from([("ece".into(), ece)]))
        }
        "temperature" => {
            let logits: Array2<f64> = ndarray_npy::read_npy(data.join("temp_logits.npy"))?;
            let labels: ndarray::Array1<i64> = ndarray_npy::read_npy(data.join("temp_labels.npy"))?;
            let labels: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
            let (t, fit) = timed(runs, || Ok(fit_temperature(logits.view(), &labels)?))?;
            (
                t,
                BTreeMap::from([
                    ("temperature".into(), fit.temperature),
                    ("nll_after".into(), fit.nll_after),
                ]),
            )
        }
        "resample" => {
            let input: Array3<f32> = ndarray_npy::read_npy(data.join("resample_in.npy"))?;
            let (t, out) = timed(runs, || {
                Ok(radlab_imaging::resample::resample_linear(
                    input.view(),
                    sizes.resample_spacing,
                    sizes.resample_target,
                )?)
            })?;
            // Interior: output voxels whose sample point lies inside the input
            // grid on every axis (the peer returns 0 past the last centre).
            let dims = input.dim();
            let n_in = [dims.0, dims.1, dims.2];
            let lim: Vec<usize> = (0..3)
                .map(|a| {
                    let ratio = sizes.resample_target.along(a) / sizes.resample_spacing.along(a);
                    (0..out.shape()[a])
                        .take_while(|&i| i as f64 * ratio <= (n_in[a] - 1) as f64 + 1e-9)
                        .count()
                })
                .collect();
            let interior = out.slice(ndarray::s![..lim[0], ..lim[1], ..lim[2]]);
            let sum: f64 = interior.iter().map(|&v| v as f64).sum();
            (
                t,
                BTreeMap::from([
                    ("nz".into(), out.shape()[0] as f64),
                    ("ny".into(), out.shape()[1] as f64),
                    ("nx".into(), out.shape()[2] as f64),
                    ("interior_voxels".into(), interior.len() as f64),
                    ("interior_sum".into(), sum),
                ]),
            )
        }
        "process" => {
            // The whole job a script does: load, window, write the axial mid-slice.
            let (t, sum) = timed(runs, || {
                let vol = radlab_dicom::load_path(&data.join("ct"), None)?;
                let values = vol.voxels.as_slice().unwrap_or(&[]);
                let out = window_u8(values, sizes)?;
                let [nz, ny, nx] = vol.shape();
                let mid = &out[(nz / 2) * ny * nx..(nz / 2 + 1) * ny * nx];
                let img = ndarray::ArrayView2::from_shape((ny, nx), mid)?;
                radlab_imaging::planes::write_png(&data.join("process_radlab.png"), img)?;
                Ok(mid.iter().map(|&b| b as u64).sum::<u64>())
            })?;
            (t, BTreeMap::from([("slice_sum".into(), sum as f64)]))
        }
        "results" => {
            // SEG + TID 1500 SR of three spherical findings on the CT
            // series; the source headers are read before the clock starts
            // (as the peer's pydicom datasets are).
            let vol = radlab_dicom::load_path(&data.join("ct"), None)?;
            let source = radlab_results::SourceSeries::from_volume(&vol)?;
            let labels = result_labels(vol.shape());
            let alg = radlab_results::Algorithm::from_weights("nodule-segmenter", &"0".repeat(64));
            let created = radlab_results::Created::from_unix(0);
            let (t, (n, voxels)) = timed(runs, || {
                let findings = radlab_results::Finding::from_labels(labels.view(), &vol, |_| 0.5)?;
                let seg = radlab_results::seg::segmentation(
                    &findings,
                    &source,
                    &alg,
                    radlab_results::seg::Frames::NonEmpty,
                    &created,
                )?;
                let sr = radlab_results::tid1500::report(&findings, &source, &alg, &created)?;
                let (mut a, mut b) = (Vec::new(), Vec::new());
                seg.write_all(&mut a)?;
                sr.write_all(&mut b)?;
                std::hint::black_box((a, b));
                Ok((
                    findings.len(),
                    findings.iter().map(|f| f.voxels.len()).sum::<usize>(),
                ))
            })?;
            (
                t,
                BTreeMap::from([
                    ("segments".into(), n as f64),
                    ("voxels".into(), voxels as f64),
                ]),
            )
        }
        "sliding" => {
            let input: Array3<f32> = ndarray_npy::read_npy(data.join("sliding_in.npy"))?;
            let mut model = bundled_model("nodule_segmenter", device)?;
            let settings = radlab_infer::SlidingWindow {
                roi: sizes.sliding_roi,
                overlap: sizes.sliding_overlap,
                blend: radlab_infer::Blend::Constant,
                batch: 1,
                pad_value: 0.0,
            };
            let mut forwards = Vec::new();
            let (t, out) = timed(runs, || {
                let mut forward = 0.0;
                let out = settings.run(
                    input.view(),
                    &mut |w| {
                        let t = Instant::now();
                        let o = model.run(w.into_dyn())?;
                        forward += t.elapsed().as_secs_f64();
                        o.into_iter()
                            .next()
                            .expect("one output")
                            .into_dimensionality()
                            .map_err(|e| radlab_infer::InferError::Settings(e.to_string()))
                    },
                    &mut |_, _| {},
                )?;
                forwards.push(forward);
                Ok(out)
            })?;
            ndarray_npy::write_npy(data.join("sliding_radlab.npy"), &out)?;
            let mean = out.iter().map(|&v| v as f64).sum::<f64>() / out.len() as f64;
            let ratio: Vec<f64> = t.iter().zip(&forwards).map(|(a, b)| a / b).collect();
            let mut sorted = ratio.clone();
            sorted.sort_by(f64::total_cmp);
            (
                t,
                BTreeMap::from([
                    ("mean_probability".into(), mean),
                    ("overhead_ratio".into(), sorted[sorted.len() / 2]),
                    (
                        "forwards_s".into(),
                        forwards.iter().sum::<f64>() / forwards.len() as f64,
                    ),
                ]),
            )
        }
        "classify" => {
            // The classifier on 32 x 32 crops of the sliding-window input,
            // batches of 64: the lab-dicom/froc rescoring step.
            let input: Array3<f32> = ndarray_npy::read_npy(data.join("sliding_in.npy"))?;
            let crops = classifier_crops(&input, 1024);
            let mut model = bundled_model("nodule_classifier", device)?;
            let (t, logits) = timed(runs, || {
                Ok(model.run_batched(crops.view().into_dyn(), 64, &mut |_, _| {})?)
            })?;
            let mean = logits[0].iter().map(|&v| v as f64).sum::<f64>() / logits[0].len() as f64;
            (
                t,
                BTreeMap::from([
                    ("mean_logit".into(), mean),
                    ("crops".into(), crops.shape()[0] as f64),
                ]),
            )
        }
        "gradcam" => {
            // What lab-gradcam does per batch: the classifier's forward
            // (logits and features), then Grad-CAM, bilinear upsampling to
            // 32 x 32, per-map min-max and the inferno overlay of each of 64
            // patches. The class row is recovered once, before timing: a
            // deployment knows it (MONAI's peer reads it from the model).
            let input: Array3<f32> = ndarray_npy::read_npy(data.join("sliding_in.npy"))?;
            let crops = classifier_crops(&input, 64);
            let mut model = bundled_model("nodule_classifier", device)?;
            // The row is fitted on the crops and seeded noise patches: the
            // tiny data's crops repeat, and repeated patches do not determine it.
            let fit = {
                use rand::{Rng, SeedableRng};
                let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(20);
                let noise = ndarray::Array4::<f32>::from_shape_fn((96, 1, 32, 32), |_| {
                    r.random_range(0.0..1.0)
                });
                ndarray::concatenate(ndarray::Axis(0), &[crops.view(), noise.view()])?
            };
            let first = model.run(fit.view().into_dyn())?;
            let logits: Vec<f64> = first[0].iter().map(|&v| f64::from(v)).collect();
            let feats = first[1].clone().into_dimensionality::<ndarray::Ix4>()?;
            let row = radlab_explain::class_row(feats.view(), &logits)?;
            let gray: Vec<Vec<u8>> = crops
                .outer_iter()
                .map(|c| {
                    c.iter()
                        .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                        .collect()
                })
                .collect();
            let mut forwards = Vec::new();
            let mut cams = Vec::new();
            let (t, (mean, constant)) = timed(runs, || {
                let t0 = Instant::now();
                let out = model.run(crops.view().into_dyn())?;
                forwards.push(t0.elapsed().as_secs_f64());
                // The maps first (the goal is for these), then the
                // overlays, each timed.
                let t1 = Instant::now();
                let feats = out[1].view().into_dimensionality::<ndarray::Ix4>()?;
                let maps: Vec<Array2<f64>> = feats
                    .outer_iter()
                    .into_par_iter()
                    .with_min_len(16)
                    .map(|a| {
                        let m = radlab_explain::grad_cam(a, &row.weights)?;
                        let mut up = radlab_explain::upsample_bilinear(m.view(), [32, 32], false);
                        radlab_explain::normalise_in_place(&mut up);
                        Ok(up)
                    })
                    .collect::<Result<_, radlab_explain::ExplainError>>()?;
                cams.push(t1.elapsed().as_secs_f64());
                let rgb: Vec<Vec<u8>> = maps
                    .par_iter()
                    .zip(gray.par_iter())
                    .map(|(m, g)| {
                        let heat: Vec<f64> = m.iter().copied().collect();
                        radlab_explain::overlay(g, &heat, 0.6)
                    })
                    .collect();
                std::hint::black_box(&rgb);
                let maps: Vec<(Array2<f64>, ())> = maps.into_iter().map(|m| (m, ())).collect();
                // Mean of the maps that are not constant (a constant map is
                // all zeros here and its own value in MONAI).
                let varying: Vec<&Array2<f64>> = maps
                    .iter()
                    .map(|(m, _)| m)
                    .filter(|m| m.iter().any(|&v| v != m[[0, 0]]))
                    .collect();
                let mean = varying.iter().map(|m| m.mean().unwrap_or(0.0)).sum::<f64>()
                    / varying.len().max(1) as f64;
                std::hint::black_box(&maps);
                Ok((mean, (maps.len() - varying.len()) as f64))
            })?;
            let median = |mut v: Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            // The goal: forward + maps within 1.1x of the forward alone;
            // with the overlays too, reported beside it.
            let cam_ratio = median(
                forwards
                    .iter()
                    .zip(&cams)
                    .map(|(f, c)| (f + c) / f)
                    .collect(),
            );
            let all_ratio = median(t.iter().zip(&forwards).map(|(a, b)| a / b).collect());
            (
                t,
                BTreeMap::from([
                    ("mean_map".into(), mean),
                    ("constant_maps".into(), constant),
                    ("overhead_ratio".into(), cam_ratio),
                    ("with_overlay_ratio".into(), all_ratio),
                    (
                        "forwards_s".into(),
                        forwards.iter().sum::<f64>() / forwards.len() as f64,
                    ),
                ]),
            )
        }
        other => bail!(
            "unknown workload '{other}': load, rle, scan, window, dice, hd95, froc, fleiss, alpha, ece, temperature, resample, process, sliding, classify or gradcam"
        ),
    };
    Ok(RunResult {
        times_s: times,
        peak_rss_mb: peak_rss_mb(),
        check,
        isa: radlab_simd::Isa::active().name(),
    })
}

fn baseline(data: &Path) -> Result<()> {
    // Memory copy: 256 MiB, best of 5 (read + write counted).
    let n = 256usize << 20;
    let src = vec![1u8; n];
    let mut dst = vec![0u8; n];
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        dst.copy_from_slice(&src);
        std::hint::black_box(&dst);
        best = best.min(t.elapsed().as_secs_f64());
    }
    let copy_gbps = 2.0 * n as f64 / best / 1e9;
    // The same copy on every core (the kernels run on all of them): the
    // bandwidth a bandwidth-bound row is measured against.
    let mut best_par = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        dst.par_chunks_mut(1 << 20)
            .zip(src.par_chunks(1 << 20))
            .for_each(|(d, s)| d.copy_from_slice(s));
        std::hint::black_box(&dst);
        best_par = best_par.min(t.elapsed().as_secs_f64());
    }
    let copy_all_gbps = 2.0 * n as f64 / best_par / 1e9;
    // Reading alone on every core (a sum of 64-bit words): the limit of a
    // row that reads much more than it writes, such as windowing. A copy
    // also pays for reading each destination line before writing it.
    let words: Vec<u64> = vec![1u64; n / 8];
    let mut best_read = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        let sum: u64 = words
            .par_chunks(1 << 17)
            .map(|c| c.iter().fold(0u64, |a, &w| a.wrapping_add(w)))
            .sum();
        std::hint::black_box(sum);
        best_read = best_read.min(t.elapsed().as_secs_f64());
    }
    let read_all_gbps = n as f64 / best_read / 1e9;
    // Warm file read of the CT series (read twice, the second timed).
    let files = sorted_files(&data.join("ct"))?;
    let read_all = || -> Result<u64> {
        Ok(files
            .par_iter()
            .map(|p| std::fs::read(p).map(|b| b.len() as u64))
            .collect::<std::io::Result<Vec<u64>>>()?
            .iter()
            .sum())
    };
    read_all()?;
    let t = Instant::now();
    let bytes = read_all()?;
    let read_gbps = bytes as f64 / t.elapsed().as_secs_f64() / 1e9;
    println!(
        "{}",
        serde_json::json!({
            "memcpy_gbps": copy_gbps.max(copy_all_gbps),
            "memory_read_gbps": read_all_gbps,
            "memcpy_one_core_gbps": copy_gbps,
            "memcpy_all_cores_gbps": copy_all_gbps,
            "file_read_gbps": read_gbps,
            "ct_bytes": bytes,
            "cpu_model": radlab_simd::cpu_model(),
            "isa": radlab_simd::Isa::active().name(),
            "isa_features": radlab_simd::Isa::active().features(),
            "isa_supported": radlab_simd::Isa::supported().iter().map(|i| i.name()).collect::<Vec<_>>(),
        })
    );
    Ok(())
}
