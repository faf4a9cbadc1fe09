//! lab-sr: how an AI result reaches the radiologist's PACS.
//!
//! Topics B3 (DICOM SR and SEG) and I6 (results back into the PACS). Run
//! with no arguments for the bundled sample CT: the segmenter and the
//! classifier find the nodules, radlab writes a SEG and a TID 1500
//! Measurement Report, checks the report against the template, and stores
//! both in an Orthanc it starts on loopback (STOW-RS), finds them again
//! (QIDO-RS) and retrieves them (WADO-RS).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args as ClapArgs, ValueEnum};
use lab_sr::pipeline::{Options, Pacs, Report};
use radlab_labkit as kit;
use radlab_labkit::bad_input as bad;

/// Which source slices get a SEG frame.
#[derive(Copy, Clone, Debug, ValueEnum)]
enum FramesArg {
    /// Only slices where the segment has voxels.
    NonEmpty,
    /// Every source slice, for every segment.
    All,
}

#[derive(ClapArgs, Debug)]
struct Args {
    /// A CT series folder or file (default: the bundled sample study case-001).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Probability at or above which a voxel is nodule.
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
    /// Components smaller than this volume (mm3) are not reported.
    #[arg(long, default_value_t = 10.0)]
    min_volume_mm3: f64,
    /// SEG frames: only the slices a segment touches (default; a PACS rebuilds the rest from the positions), or every slice.
    #[arg(long, value_enum, default_value_t = FramesArg::NonEmpty)]
    frames: FramesArg,
    /// Store in this DICOMweb server instead of an Orthanc started on loopback (e.g. http://127.0.0.1:8042/dicom-web).
    #[arg(long, conflicts_with = "no_pacs")]
    dicomweb: Option<String>,
    /// Write the files only; no PACS.
    #[arg(long)]
    no_pacs: bool,
    /// Content date/time as Unix seconds (default: now); UIDs never depend on it.
    #[arg(long)]
    created: Option<u64>,
    /// Output folder for seg.dcm, sr.dcm and report.json.
    #[arg(long, default_value = "out/lab-sr")]
    out: PathBuf,
    /// Print one JSON document on stdout instead of the narrated report.
    #[arg(long)]
    json: bool,
    /// Also build the report with your exercise functions (src/exercise.rs) and check it.
    #[arg(long)]
    mine: bool,
    #[command(flatten)]
    infer: kit::InferArgs,
}

radlab_labkit::lab_main! {
    /// Turn the bundled models' findings into a DICOM SEG and a TID 1500
    /// Measurement Report, check the report's template rows and UCUM units,
    /// and round-trip both through a real PACS (Orthanc on loopback:
    /// STOW-RS, QIDO-RS, WADO-RS). Subcommands grade your exercise file
    /// (src/exercise.rs).
    lab_sr
}

fn run(args: Args) -> Result<()> {
    args.infer.check()?;
    kit::check_open_probability("--threshold", args.threshold.into())?;
    kit::check_non_negative("--min-volume-mm3", args.min_volume_mm3, "a volume")?;
    let pacs = match (&args.dicomweb, args.no_pacs) {
        (_, true) => Pacs::None,
        (Some(u), _) => {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                bail!(bad(format!(
                    "--dicomweb {u}: expected an http:// or https:// URL"
                )));
            }
            Pacs::DicomWeb(u.trim_end_matches('/').to_string())
        }
        (None, false) => Pacs::Orthanc,
    };
    let opts = Options {
        input: args.input.clone().unwrap_or_else(kit::default_series_dir),
        threshold: args.threshold,
        min_volume_mm3: args.min_volume_mm3,
        frames: match args.frames {
            FramesArg::NonEmpty => radlab_results::seg::Frames::NonEmpty,
            FramesArg::All => radlab_results::seg::Frames::All,
        },
        pacs,
        created: args.created.map_or_else(
            radlab_results::Created::now_utc,
            radlab_results::Created::from_unix,
        ),
        out: args.out.clone(),
        mine: args.mine,
    };
    let report = lab_sr::pipeline::run(&opts, &mut |name| args.infer.load(name), &mut |line| {
        eprintln!("{line}")
    })?;
    kit::write_json(&args.out.join("report.json"), &report)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        narrate(&report);
    }
    if !report.template_problems.is_empty() {
        bail!("the report radlab wrote fails its own template check (see above)");
    }
    if let Some(p) = &report.pacs {
        if !p.failed.is_empty() || !p.seg_identical || !p.sr_identical {
            bail!("the PACS round trip lost or changed an object (see above)");
        }
    }
    if let Some(m) = &report.mine {
        if !m.problems.is_empty()
            || m.same_tracking_uids != Some(true)
            || m.same_evidence != Some(true)
        {
            bail!(
                "--mine: your report differs from the reference (see above); run `cargo run -p lab-sr -- grade`"
            );
        }
    }
    Ok(())
}

fn narrate(r: &Report) {
    println!("lab-sr: {}", r.input);
    println!(
        "  {} slices, [z, y, x] {:?}, spacing {:?} mm",
        r.shape[0], r.shape, r.spacing_mm
    );
    println!(
        "  segmenter {} version {}; classifier {}",
        r.segmenter.name, r.segmenter.version, r.classifier
    );
    println!(
        "  Device UID {} (IHE AIR: Contributing Equipment, tied to the weights' SHA-256: new weights, new device)",
        r.device_uid
    );
    println!();
    println!(
        "Found {} component(s) at probability >= {}; {} smaller than {} mm3 dropped; {} nodule(s) reported.",
        r.components,
        r.threshold,
        r.dropped_small,
        r.min_volume_mm3,
        r.nodules.len()
    );
    for n in &r.nodules {
        let g = &n.group;
        println!(
            "  {} (segment {}), tracking UID {}",
            g.tracking_id, g.number, g.tracking_uid
        );
        println!(
            "    volume    {:>10.2} mm3       {}",
            g.volume_mm3, n.volume_from
        );
        println!(
            "    long axis {:>10.2} mm        {}",
            g.long_axis_mm, n.long_axis_from
        );
        println!(
            "    mean      {:>10.2} [hnsf'U]  the mean HU over the segment's voxels",
            g.mean_hu
        );
        println!(
            "    p(nodule) {:>10.4}           {}",
            g.probability, n.probability_from
        );
    }
    println!();
    println!(
        "Wrote {} (SEG, {} frame(s), {})",
        r.seg_file, r.seg_frames, r.seg_uid
    );
    println!(
        "Wrote {} (Comprehensive 3D SR, TID 1500, {})",
        r.sr_file, r.sr_uid
    );
    println!(
        "  evidence: {} series, {} instances (every CT slice and the SEG); written again from the same inputs: {}",
        r.evidence_series,
        r.evidence_instances,
        if r.rerun_identical {
            "byte-identical"
        } else {
            "DIFFERENT"
        }
    );
    println!();
    println!("The SR content tree (as dsrdump numbers it):");
    for line in r.tree.lines() {
        println!("  {line}");
    }
    println!();
    if r.template_problems.is_empty() {
        println!(
            "radlab's TID 1500/1411 template check: no problem (rows, value types, relationship types, UCUM units)."
        );
    } else {
        println!("radlab's TID 1500/1411 template check:");
        for p in &r.template_problems {
            println!("  {p}");
        }
    }
    match &r.pacs {
        None => println!("No PACS (--no-pacs)."),
        Some(p) => {
            println!();
            match p.orthanc_pid {
                Some(pid) => println!("Orthanc (PID {pid}) on loopback: {}", p.url),
                None => println!("DICOMweb server: {}", p.url),
            }
            println!(
                "  STOW-RS: {} instance(s) stored, {} refused{}",
                p.stored,
                p.failed.len(),
                p.failed
                    .iter()
                    .map(|(u, c)| format!("\n    {u}: failure reason {c:#06x}"))
                    .collect::<String>()
            );
            println!("  QIDO-RS: the study's series:");
            for (m, s) in &p.series_found {
                println!("    {m:<4} {s}");
            }
            println!(
                "  WADO-RS: SEG {}, SR {} (compared byte for byte with the files written)",
                if p.seg_identical {
                    "identical"
                } else {
                    "DIFFERENT"
                },
                if p.sr_identical {
                    "identical"
                } else {
                    "DIFFERENT"
                }
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
        println!("Your report (--mine):");
        if m.problems.is_empty() {
            println!("  template check on your measurement groups: no problem");
        }
        for p in &m.problems {
            println!("  {p}");
        }
        let word = |b: Option<bool>| match b {
            Some(true) => "same as the reference",
            Some(false) => "DIFFERENT",
            None => "did not run",
        };
        println!("  tracking UIDs: {}", word(m.same_tracking_uids));
        println!("  evidence: {}", word(m.same_evidence));
        if !m.note.is_empty() {
            println!("  {}", m.note);
        }
    }
    println!();
    println!("Exercises: cargo run -p lab-sr -- grade");
}
