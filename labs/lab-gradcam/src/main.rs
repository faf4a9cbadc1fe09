//! lab-gradcam: a heat map a radiologist can open on the PACS, and whether
//! it can be trusted.
//!
//! Topics A10 (explainability), W5 (showing AI output to clinicians) and
//! S2 (a result a viewer can display). Run with no arguments for the
//! bundled sample CT: the segmenter finds the nodules, radlab explains the
//! classifier's score of each with Grad-CAM, tests the map (randomised
//! weights, deletion and insertion against occlusion and random orders),
//! draws it on the windowed slice as a Secondary Capture marked not for
//! diagnostic use, and stores the pictures and their source slices in an
//! Orthanc on loopback by C-STORE, reading each back by WADO-RS.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use lab_gradcam::pipeline::{Faithfulness, Options, Pacs, Report};
use radlab_labkit as kit;
use radlab_labkit::bad_input as bad;

#[derive(ClapArgs, Debug)]
struct Args {
    /// A CT series folder or file (default: the bundled sample study case-001).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Probability at or above which a voxel is nodule (the segmenter).
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
    /// Components smaller than this volume (mm3) are not explained.
    #[arg(long, default_value_t = 10.0)]
    min_volume_mm3: f64,
    /// Opacity of the heat map where it is strongest (0 to 1).
    #[arg(long, default_value_t = 0.6)]
    alpha: f64,
    /// Steps of the deletion and insertion curves, 1 to 1024 (each step deletes or inserts 1024 / steps of the patch's pixels).
    #[arg(long, default_value_t = 16)]
    steps: usize,
    /// Seed of the random baselines (pixel orders, random heads, the class-row patches).
    #[arg(long, default_value_t = 20261203)]
    seed: u64,
    /// Write the files only; no PACS.
    #[arg(long)]
    no_pacs: bool,
    /// Content date/time as Unix seconds (default: now); UIDs never depend on it.
    #[arg(long)]
    created: Option<u64>,
    /// Output folder for the Secondary Captures, the PNGs and report.json.
    #[arg(long, default_value = "out/lab-gradcam")]
    out: PathBuf,
    /// Print one JSON document on stdout instead of the narrated report.
    #[arg(long)]
    json: bool,
    /// Also run your exercise functions (src/exercise.rs) on the same nodules and compare.
    #[arg(long)]
    mine: bool,
    #[command(flatten)]
    infer: kit::InferArgs,
}

radlab_labkit::lab_main! {
    /// Explain the bundled classifier's nodule scores with Grad-CAM, test
    /// the maps (randomised weights; deletion and insertion against
    /// occlusion and random orders), draw them as Secondary Captures marked
    /// not for diagnostic use, and C-STORE them with their source slices
    /// into a real PACS (Orthanc on loopback), read back by WADO-RS.
    /// Subcommands grade your exercise file (src/exercise.rs).
    lab_gradcam
}

fn run(args: Args) -> Result<()> {
    args.infer.check()?;
    kit::check_open_probability("--threshold", args.threshold.into())?;
    kit::check_non_negative("--min-volume-mm3", args.min_volume_mm3, "a volume")?;
    if !(0.0..=1.0).contains(&args.alpha) {
        bail!(bad(format!(
            "--alpha {}: an opacity is between 0 and 1",
            args.alpha
        )));
    }
    if !(1..=1024).contains(&args.steps) {
        bail!(bad(format!(
            "--steps {}: choose 1 to 1024 (a 32 x 32 patch has 1024 pixels)",
            args.steps
        )));
    }
    let opts = Options {
        input: args.input.clone().unwrap_or_else(kit::default_series_dir),
        threshold: args.threshold,
        min_volume_mm3: args.min_volume_mm3,
        alpha: args.alpha,
        steps: args.steps,
        seed: args.seed,
        pacs: if args.no_pacs {
            Pacs::None
        } else {
            Pacs::Orthanc
        },
        created: args.created.map_or_else(
            radlab_results::Created::now_utc,
            radlab_results::Created::from_unix,
        ),
        out: args.out.clone(),
        mine: args.mine,
    };
    let report = lab_gradcam::pipeline::run(
        &opts,
        &mut |name| args.infer.load(name),
        &args.infer.options(),
        &mut |line| eprintln!("{line}"),
    )?;
    kit::write_json(&args.out.join("report.json"), &report)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        narrate(&report, &opts);
    }
    if let Some(p) = &report.pacs {
        if !p.failed.is_empty() || p.read_back_identical != report.pictures.len() {
            bail!("the PACS round trip lost or changed a picture (see above)");
        }
    }
    if let Some(m) = &report.mine {
        if !m.note.is_empty() {
            bail!(
                "--mine: {}(a todo!() not replaced yet?); run `cargo run -p lab-gradcam -- grade`",
                m.note
            );
        }
        if m.max_map_difference.is_none_or(|d| d > 1e-9)
            || m.same_overlay != Some(true)
            || m.same_header != Some(true)
        {
            bail!(
                "--mine: your functions differ from the reference (see above); run `cargo run -p lab-gradcam -- grade`"
            );
        }
    }
    Ok(())
}

fn faith(label: &str, f: &Faithfulness) -> String {
    format!(
        "{label:<10} deletion {:.3}  insertion {:.3}",
        f.deletion_auc, f.insertion_auc
    )
}

fn narrate(r: &Report, opts: &Options) {
    println!("lab-gradcam: {}", r.input);
    println!(
        "  {} slices, [z, y, x] {:?}, spacing {:?} mm",
        r.shape[0], r.shape, r.spacing_mm
    );
    println!(
        "  segmenter {}; explained: {} version {}",
        r.segmenter, r.classifier.name, r.classifier.version
    );
    println!();
    println!(
        "The class row (w, b) of the classifier's last layer, recovered from its outputs on {} patches",
        r.class_row_patches
    );
    println!(
        "  (logit = w . mean(A) + b is linear in the pooled features): largest residual {:.1e}; {} channel(s) never active.",
        r.class_row_max_residual,
        r.silent_channels.len()
    );
    println!(
        "  Grad-CAM = ReLU(w . A(i, j)) / ({} x {}): no gradient has to be computed for this head.",
        r.feature_grid[0], r.feature_grid[1]
    );
    println!();
    println!(
        "{} component(s) at probability >= {}; {} smaller than {} mm3 dropped; {} nodule(s) explained.",
        r.components,
        opts.threshold,
        r.dropped_small,
        opts.min_volume_mm3,
        r.nodules.len()
    );
    if r.nodules.is_empty() {
        println!();
        println!("No nodule found: nothing to explain, no picture written, nothing sent.");
        println!("(Lower --threshold or --min-volume-mm3 to explain smaller findings.)");
        return;
    }
    for n in &r.nodules {
        println!(
            "  Nodule {}: voxel {:?}, {:.1} mm3, p = {:.3} (logit {:.3}; from the class row {:.3})",
            n.number, n.peak_voxel, n.volume_mm3, n.probability, n.logit, n.logit_from_row
        );
        println!(
            "    map peak at patch pixel {:?}: {}; {:.0}% of the map's mass inside the segment",
            n.map_peak,
            if n.map_peak_in_segment {
                "inside the segment"
            } else if n.map_peak_cell_touches_segment {
                "outside the segment, but its feature cell touches it"
            } else {
                "outside the segment and its feature cell"
            },
            100.0 * n.mass_in_segment
        );
        println!(
            "    sanity (|Spearman| of the signed map with it after randomising): head {:.2}{}",
            n.spearman_random_head,
            n.spearman_random_conv3.map_or(String::new(), |v| format!(
                ", head + last convolution {v:.2}"
            ))
        );
        println!("    {}", faith("Grad-CAM", &n.gradcam));
        println!("    {}", faith("occlusion", &n.occlusion));
        println!("    {}", faith("random", &n.random));
    }
    println!();
    println!(
        "Pointing game: the map's peak falls in the segment for {} of {} nodules, and within one feature cell of it ({} x {} pixels, the map's own resolution) for {}.",
        r.pointing_hits,
        r.nodules.len(),
        r.cell_pixels,
        r.cell_pixels,
        r.pointing_cell_hits
    );
    println!(
        "Sanity (Adebayo et al. 2018): a map that explains what the model learned must change when the weights are randomised.\n  mean |Spearman|: random head {:.2}{}. Near 1 would mean the map does not depend on the learned weights: it shows the image, not the model.",
        r.mean_spearman_random_head,
        r.mean_spearman_random_conv3
            .map_or(String::new(), |v| format!(
                ", random head and last convolution {v:.2}"
            ))
    );
    println!(
        "Faithfulness, means over the nodules ({} steps; deleted pixels become air, -1000 HU; lower deletion and higher insertion are better):",
        opts.steps
    );
    println!("  {}", faith("Grad-CAM", &r.mean_gradcam));
    println!("  {}", faith("occlusion", &r.mean_occlusion));
    println!("  {}", faith("random", &r.mean_random));
    println!();
    for p in &r.pictures {
        println!(
            "Wrote {} (Secondary Capture of slice {}, nodule(s) {:?}; source {}) and {}",
            p.file,
            p.z + 1,
            p.nodules,
            p.source_sop_instance_uid,
            p.png
        );
    }
    println!(
        "  Series Description \"{} - ...\", the same words burned in, Burned In Annotation YES.",
        radlab_results::sc::CAUTION
    );
    match &r.pacs {
        None => println!("No PACS (--no-pacs)."),
        Some(p) => {
            println!();
            match p.orthanc_pid {
                Some(pid) => println!(
                    "Orthanc (PID {pid}) on loopback, AE {} at {}",
                    p.aet, p.address
                ),
                None => println!("PACS AE {} at {}", p.aet, p.address),
            }
            for n in &p.negotiated {
                println!("  {n}");
            }
            println!("  C-ECHO: status {:#06x}", p.echo_status);
            println!(
                "  C-STORE: {} source slice(s) and {} picture(s) stored, {} refused{}",
                p.ct_stored,
                p.sc_stored,
                p.failed.len(),
                p.failed
                    .iter()
                    .map(|(u, c)| format!("\n    {u}: status {c:#06x}"))
                    .collect::<String>()
            );
            println!(
                "  WADO-RS: {} of {} picture(s) read back with the same pixels, source reference and caution; QIDO-RS lists {} in the series",
                p.read_back_identical,
                r.pictures.len(),
                p.sc_series_instances
            );
            if p.orthanc_pid.is_some() {
                println!(
                    "  Orthanc stopped: {}",
                    if p.stopped {
                        "yes, its PID is gone"
                    } else {
                        "NO"
                    }
                );
            }
        }
    }
    if let Some(m) = &r.mine {
        println!();
        println!("Your functions (--mine):");
        match m.max_map_difference {
            Some(d) => println!("  maps: largest difference from the reference {d:.2e}"),
            None => println!("  maps: did not run"),
        }
        let word = |b: Option<bool>| match b {
            Some(true) => "same as the reference",
            Some(false) => "DIFFERENT",
            None => "did not run",
        };
        println!("  overlay: {}", word(m.same_overlay));
        println!(
            "  SC header: {}",
            match (m.same_header, &m.header_problem) {
                (Some(true), _) => "follows the rules the checks grade".to_string(),
                (Some(false), Some(p)) => format!("WRONG: {p}"),
                (Some(false), None) => "WRONG".to_string(),
                (None, _) => "did not run".to_string(),
            }
        );
        if !m.note.is_empty() {
            println!("  {}", m.note);
        }
    }
    println!();
    println!("Exercises: cargo run -p lab-gradcam -- grade");
}
