//! lab-dicom: what is inside a DICOM study, and how a pipeline turns it into a volume.
//!
//! Topics B1 (DICOM as file and metadata format) and B2 (image labels vs voxel masks).
//! Run with no arguments for the bundled sample study; `--help` for options.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use lab_dicom::pipeline::Report;
use radlab_labkit as kit;

#[derive(ClapArgs, Debug)]
struct Args {
    /// A DICOM file or a folder (searched recursively). Default: the bundled sample study.
    #[arg(long)]
    input: Option<PathBuf>,
    /// SeriesInstanceUID to load when the folder holds several series.
    #[arg(long)]
    series: Option<String>,
    /// Output folder for header.json and report.json.
    #[arg(long, default_value = "out/lab-dicom")]
    out: PathBuf,
    /// Print one JSON document on stdout instead of the narrated report.
    #[arg(long)]
    json: bool,
    /// Show identifying values in full instead of masked.
    #[arg(long)]
    show_phi: bool,
    /// Also run your exercise functions (src/exercise.rs) on this study and compare them with the reference.
    #[arg(long)]
    mine: bool,
    /// Skip the bundled nodule classifier (no ONNX Runtime needed).
    #[arg(long)]
    skip_model: bool,
    #[command(flatten)]
    infer: kit::InferArgs,
}

radlab_labkit::lab_main! {
    /// Inspect a DICOM file or folder: grouped metadata, series, geometry, HU
    /// statistics and the attributes that identify the patient. Subcommands grade
    /// your exercise file (src/exercise.rs).
    lab_dicom
}

fn run(args: Args) -> Result<()> {
    if !args.skip_model {
        args.infer.check()?;
    }
    let input = args.input.clone().unwrap_or_else(kit::default_series_dir);
    let opts = lab_dicom::pipeline::Options {
        input: input.clone(),
        series: args.series.clone(),
        out: args.out.clone(),
        show_phi: args.show_phi,
        mine: args.mine,
        skip_model: args.skip_model,
    };
    let report = lab_dicom::pipeline::run(&opts, &mut |name| args.infer.load(name))?;
    kit::write_json(&args.out.join("report.json"), &report)?;

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_report(&report);
    Ok(())
}

fn print_report(r: &Report) {
    println!("lab-dicom: what a DICOM study holds (topics B1, B2)");
    println!("input: {}", r.input);
    println!();
    println!("Series found");
    println!(
        "  {:<64} {:<4} {:>5} {:>6} {:>9}  description",
        "SeriesInstanceUID", "mod", "files", "frames", "size"
    );
    for s in &r.series {
        let size = match (s.rows, s.columns) {
            (Some(a), Some(b)) => format!("{a}x{b}"),
            _ => "-".into(),
        };
        println!(
            "  {:<64} {:<4} {:>5} {:>6} {:>9}  {}",
            s.uid, s.modality, s.files, s.frames, size, s.description
        );
    }
    if !r.skipped_files.is_empty() {
        println!(
            "  ({} file(s) skipped, e.g. {})",
            r.skipped_files.len(),
            r.skipped_files[0].1
        );
    }
    println!();
    for g in &r.metadata {
        println!("{}", g.name);
        for e in &g.entries {
            println!("  {} {:<28} {}", e.tag, e.keyword, e.value);
        }
    }
    println!();
    println!(
        "Geometry (arrays and spacing in array order [z, y, x]; patient positions and directions (x, y, z) in LPS mm)"
    );
    println!("  shape [z, y, x]       {:?}", r.shape);
    println!(
        "  spacing [z, y, x] mm  [{:.4}, {:.4}, {:.4}]",
        r.spacing_mm.z, r.spacing_mm.y, r.spacing_mm.x
    );
    println!(
        "  origin (x, y, z) LPS  ({:.2}, {:.2}, {:.2}) mm",
        r.origin[0], r.origin[1], r.origin[2]
    );
    println!(
        "  row / col / normal (x, y, z)  {:?} / {:?} / {:?}  ({})",
        r.row_dir, r.col_dir, r.slice_dir, r.plane
    );
    println!(
        "  slice order      {}; InstanceNumber {}",
        r.slice_order, r.instance_number_order
    );
    println!("  transfer syntax  {}", r.transfer_syntaxes.join(", "));
    if r.warnings.is_empty() {
        println!(
            "  checks           uniform spacing, one orientation, no duplicate or missing slices"
        );
    }
    for w in &r.warnings {
        println!("  warning          {w}");
    }
    println!();
    println!("Values after the modality LUT (HU for CT)");
    println!(
        "  min {:.1}  max {:.1}  mean {:.2}  std {:.2}",
        r.hu.min, r.hu.max, r.hu.mean, r.hu.std
    );
    println!();
    println!(
        "Identifying data ({} attribute(s); values masked unless --show-phi)",
        r.phi_tags.len()
    );
    for p in &r.phi_tags {
        println!("  {:<58} {:<38} {}", p.path, p.reason, p.value);
    }
    if let Some(m) = &r.mask {
        println!();
        println!("Labels vs masks (B2)");
        println!("  image-level label: nodule present = {}", m.nodules > 0);
        println!(
            "  voxel mask {}: {} labelled object(s)",
            m.labels_file, m.nodules
        );
        for ((l, n), (_, mm3)) in m.voxels_per_label.iter().zip(&m.volume_mm3_per_label) {
            println!("    label {l}: {n} voxels = {mm3:.0} mm3");
        }
    }
    if let Some(mine) = &r.mine {
        println!();
        println!("Your code (src/exercise.rs) on this study");
        for l in mine {
            println!("  {l}");
        }
    }
    if let Some(c) = &r.classifier {
        println!();
        println!(
            "Nodule classifier on this series ({}, {})",
            c.model, c.device
        );
        println!(
            "  {} axial patches; highest nodule probability {:.3} at voxel [z, y, x] = {:?} = LPS ({:.1}, {:.1}, {:.1}) mm; {} patch(es) above 0.5",
            c.patches,
            c.max_probability,
            c.at_voxel,
            c.at_mm[0],
            c.at_mm[1],
            c.at_mm[2],
            c.patches_above_half
        );
        for n in &c.notes {
            println!("  note: {n}");
        }
    }
    if let Some(why) = &r.classifier_skipped {
        println!();
        println!("Nodule classifier not run: {why}");
    }
    println!();
    println!("Artifacts");
    for a in &r.artifacts {
        println!("  {a}");
    }
}
