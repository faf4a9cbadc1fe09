//! Time sliding-window inference of the bundled segmenter over a
//! 160 x 256 x 256 phantom (roi 64 x 128 x 128, overlap 0.25: 27 windows)
//! and compare the total with the sum of the raw ONNX Runtime forward calls
//! inside it. Writes the windowed input to `target/bench-data/` so the
//! Python peer (MONAI, `tools/bench/peers.py sliding`) can run on the same data.
//!
//! ```text
//! cargo run --release -p radlab-infer --example sliding_timing -- [RUNS] [BATCH]
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use radlab_infer::card::window01;
use radlab_infer::{Blend, Device, Model, ModelOptions, SlidingWindow};

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(3);
    let batch: usize = std::env::args()
        .nth(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let spec = radlab_synth::CaseSpec {
        shape: [160, 256, 256],
        spacing: radlab_synth::Spacing::new(2.5, 1.8, 1.8),
        ..radlab_synth::CaseSpec::sample(7)
    };
    let case = radlab_synth::generate_case(&spec);
    let input = case
        .phantom
        .hu
        .mapv(|v| window01(f32::from(v), -600.0, 1500.0));
    let out_dir = root.join("target/bench-data");
    std::fs::create_dir_all(&out_dir)?;
    ndarray_npy::write_npy(out_dir.join("sliding_input.npy"), &input)?;

    let mut model = Model::load(
        &root.join("sample_data/models/nodule_segmenter.toml"),
        &ModelOptions {
            device: Device::Cpu,
            threads: None,
        },
    )?;
    let settings = SlidingWindow {
        roi: [64, 128, 128],
        overlap: 0.25,
        blend: Blend::Constant,
        batch,
        pad_value: 0.0,
    };
    println!("sliding window 160x256x256, roi 64x128x128, overlap 0.25, batch {batch}");
    let mut totals = Vec::new();
    for run in 0..runs {
        let mut forward = Duration::ZERO;
        let mut calls = 0;
        let start = Instant::now();
        let out = settings.run(
            input.view(),
            &mut |w| {
                let t = Instant::now();
                let o = model.run(w.into_dyn())?;
                forward += t.elapsed();
                calls += 1;
                Ok(o.into_iter()
                    .next()
                    .expect("one output")
                    .into_dimensionality()
                    .expect("5-D output"))
            },
            &mut |_, _| {},
        )?;
        let total = start.elapsed();
        let mean = out.mean().unwrap_or(0.0);
        println!(
            "run {}: total {:.3} s, forwards {:.3} s in {calls} calls, ratio {:.3}, mean probability {mean:.5}",
            run + 1,
            total.as_secs_f64(),
            forward.as_secs_f64(),
            total.as_secs_f64() / forward.as_secs_f64()
        );
        totals.push((total, forward));
        if run == 0 {
            ndarray_npy::write_npy(out_dir.join("sliding_radlab.npy"), &out)?;
        }
    }
    totals.sort();
    let (t, f) = totals[totals.len() / 2];
    println!(
        "median run: total {:.3} s, forwards {:.3} s, overhead ratio {:.3}",
        t.as_secs_f64(),
        f.as_secs_f64(),
        t.as_secs_f64() / f.as_secs_f64()
    );
    Ok(())
}
