//! Time loading a CT series into HU and windowing it to 8 bits.
//!
//! `cargo run --release -p radlab-imaging --example series_timing -- [DIR] [RUNS]`
//!
//! Without DIR, a 300-slice 512 x 512 int16 CT series (Explicit VR Little
//! Endian, seeded values) is written once to `target/bench-data/ct-300`.
//! The formal side-by-side comparison with Python peers is `cargo xtask bench`.

use std::path::PathBuf;
use std::time::Instant;

use radlab_imaging::{VoiFunction, Window};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = match args.next() {
        Some(d) => PathBuf::from(d),
        None => {
            let d =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data/ct-300");
            if !d.join("DONE").exists() {
                eprintln!("writing 300 slices of 512 x 512 to {}", d.display());
                let spec = radlab_synth::CaseSpec {
                    shape: [300, 512, 512],
                    spacing: radlab_geometry::Spacing::new(1.0, 0.7, 0.7),
                    nodules: 0,
                    ..radlab_synth::CaseSpec::sample(300)
                };
                write_fast_series(&d, &spec)?;
                std::fs::write(d.join("DONE"), "")?;
            }
            d.join("ct")
        }
    };
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);
    let window = Window::new(-600.0, 1500.0, VoiFunction::Linear)?;
    let mut load_ms = Vec::new();
    let mut win_ms = Vec::new();
    let mut copy_ms = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let vol = radlab_dicom::load_path(&dir, None)?;
        load_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let values = vol.voxels.as_slice().expect("contiguous");
        // Timed with the allocation of the output, as a peer that returns a new array is.
        let t = Instant::now();
        let mut out = radlab_dicom::volume::zeroed_u8(values.len());
        window.to_u8_slice(values, &mut out);
        win_ms.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(&out);
        // For scale: one parallel pass that reads the volume and writes bytes.
        let t = Instant::now();
        {
            use rayon::prelude::*;
            values
                .par_chunks(1 << 15)
                .zip(out.par_chunks_mut(1 << 15))
                .for_each(|(v, o)| {
                    o.iter_mut()
                        .zip(v)
                        .for_each(|(o, &x)| *o = x.to_bits() as u8)
                });
        }
        copy_ms.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(&out);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{} runs: load median {:.1} ms (min {:.1}), window median {:.1} ms (min {:.1}), bare f32->u8 pass {:.1} ms; {} threads",
        runs,
        med(&mut load_ms),
        load_ms[0],
        med(&mut win_ms),
        win_ms[0],
        med(&mut copy_ms),
        rayon::current_num_threads()
    );
    Ok(())
}

/// The full phantom is slow to generate at this size; the timing only needs
/// realistic files, so write a simple body-and-lung pattern with the same headers.
fn write_fast_series(
    dir: &std::path::Path,
    spec: &radlab_synth::CaseSpec,
) -> Result<(), Box<dyn std::error::Error>> {
    let [nz, ny, nx] = spec.shape;
    let hu = ndarray::Array3::from_shape_fn((nz, ny, nx), |(z, y, x)| {
        let (fx, fy) = (x as f64 / nx as f64 - 0.5, y as f64 / ny as f64 - 0.5);
        let r = (fx * fx / 0.2 + fy * fy / 0.12).sqrt();
        let noise = ((x * 7919 + y * 104_729 + z * 1_299_709) % 41) as i16 - 20;
        if r > 1.0 {
            -1000 + noise
        } else if (fx.abs() - 0.2).abs() < 0.12 && fy.abs() < 0.25 {
            -850 + noise
        } else {
            40 + noise
        }
    });
    let phantom = radlab_synth::Phantom {
        labels: ndarray::Array3::zeros((nz, ny, nx)),
        nodules: Vec::new(),
        origin: [
            -(nx as f64) * spec.spacing.x / 2.0,
            -(ny as f64) * spec.spacing.y / 2.0,
            0.0,
        ],
        spacing: spec.spacing,
        hu,
    };
    let case = radlab_synth::generate_case(&radlab_synth::CaseSpec {
        shape: [1, 8, 8],
        ..spec.clone()
    });
    radlab_synth::writer::write_series(
        &phantom,
        &radlab_synth::writer::SeriesHeader {
            seed: spec.seed,
            vendor: &radlab_synth::VENDORS[0],
            identity: &case.identity,
            burned_in: false,
        },
        &dir.join("ct"),
    )?;
    Ok(())
}
