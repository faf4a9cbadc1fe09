//! lab-dicom: what is inside a DICOM study, and how a pipeline turns it into a volume.
//!
//! Topics B1 (DICOM as file and metadata format) and B2 (image labels vs voxel masks).
//! Run with no arguments for the bundled sample study; `--help` for options.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, Parser};
use radlab_dicom::Volume;
use radlab_dicom::summary::{self, IdentifyingTag};
use radlab_labkit as kit;
use serde::Serialize;

/// Inspect a DICOM file or folder: grouped metadata, series, geometry, HU
/// statistics and the attributes that identify the patient. Subcommands grade
/// your exercise file (src/exercise.rs).
#[derive(Parser, Debug)]
#[command(name = "lab-dicom", version, about, long_about = None, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<kit::LabCommand>,
    /// Show library log messages on stderr (-v warnings, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(flatten)]
    run: Args,
}

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

/// The bundled nodule classifier run over the loaded series.
#[derive(Serialize)]
struct ClassifierRow {
    model: String,
    device: String,
    series_uid: String,
    /// Axial patches classified (a grid every 16 voxels, every second slice).
    patches: usize,
    max_probability: f64,
    /// Centre of the most suspicious patch, `[z, y, x]` voxels.
    at_voxel: [usize; 3],
    /// The same point in patient coordinates (LPS, mm).
    at_mm: [f64; 3],
    patches_above_half: usize,
    notes: Vec<String>,
}

#[derive(Serialize)]
struct SeriesRow {
    uid: String,
    modality: String,
    description: String,
    number: Option<i64>,
    files: usize,
    frames: usize,
    rows: Option<u16>,
    columns: Option<u16>,
}

#[derive(Serialize)]
struct HuStats {
    min: f64,
    max: f64,
    mean: f64,
    std: f64,
}

#[derive(Serialize)]
struct PhiRow {
    path: String,
    tag: String,
    keyword: String,
    reason: &'static str,
    value: String,
}

#[derive(Serialize)]
struct MaskInfo {
    labels_file: String,
    nodules: usize,
    voxels_per_label: Vec<(u8, usize)>,
    volume_mm3_per_label: Vec<(u8, f64)>,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
struct Report {
    input: String,
    series_uid: String,
    modality: String,
    shape: [usize; 3],
    spacing_mm: [f64; 3],
    origin: [f64; 3],
    row_dir: [f64; 3],
    col_dir: [f64; 3],
    slice_dir: [f64; 3],
    plane: &'static str,
    transfer_syntaxes: Vec<String>,
    hu: HuStats,
    warnings: Vec<String>,
    instance_number_order: &'static str,
    /// Where the slice order came from.
    slice_order: String,
    series: Vec<SeriesRow>,
    skipped_files: Vec<(String, String)>,
    metadata: Vec<summary::Group>,
    phi_tags: Vec<PhiRow>,
    mask: Option<MaskInfo>,
    mine: Option<Vec<String>>,
    classifier: Option<ClassifierRow>,
    /// Why the classifier did not run, when it did not.
    classifier_skipped: Option<String>,
    artifacts: Vec<String>,
}

/// Run the classifier over the series, or say why it was not run (it was
/// trained on CT in HU, on 32 x 32 patches).
fn classify_series(vol: &Volume, infer: &kit::InferArgs) -> Result<Result<ClassifierRow, String>> {
    if vol.modality != "CT" {
        return Ok(Err(format!(
            "the nodule classifier was trained on CT; this series is {}",
            vol.modality
        )));
    }
    let [_, ny, nx] = vol.shape();
    if ny < 32 || nx < 32 {
        return Ok(Err(format!(
            "the series is {ny} x {nx} voxels in plane, smaller than the classifier's 32 x 32 patch"
        )));
    }
    let mut model = infer.load("nodule_classifier")?;
    let scan = kit::models::scan_series(&mut model, vol.voxels.view(), 16, 2)?;
    let trained = model.card().preprocessing.spacing_mm.clone();
    let mut notes = Vec::new();
    if let Some(&t) = trained.first() {
        let here = vol.spacing[1].max(vol.spacing[2]);
        if (here - t).abs() > 0.2 * t {
            notes.push(format!(
                "the classifier was trained at {t} mm in plane; this series is {here:.2} mm, so read its output with care (resample first for real use)"
            ));
        }
    }
    let c = scan.at_voxel;
    Ok(Ok(ClassifierRow {
        model: model.card().name.clone(),
        device: model.placement().to_string(),
        series_uid: vol.series_uid.clone(),
        patches: scan.patches,
        max_probability: scan.max_probability,
        at_voxel: c,
        at_mm: vol.position(c[0] as f64, c[1] as f64, c[2] as f64),
        patches_above_half: scan.above_half,
        notes,
    }))
}

/// Run the learner's slice-order and identifying-data functions on this study.
fn run_mine(vol: &Volume, header: &dicom_object::InMemDicomObject) -> Vec<String> {
    use lab_dicom::tasks::{EXERCISE, REFERENCE, SliceHeader};
    let mut lines = Vec::new();
    let headers: Vec<SliceHeader> = vol
        .slices
        .iter()
        .rev() // present them in reverse, so a no-op ordering cannot pass
        .filter_map(|(p, _)| radlab_dicom::header::ImageHeader::read(p).ok())
        .filter_map(|h| {
            let p = h.placements.first()?;
            Some(SliceHeader {
                position: p.position?,
                orientation: p.orientation?,
                instance_number: p.instance_number.unwrap_or(0),
                slice_thickness: h.slice_thickness.unwrap_or(0.0),
            })
        })
        .collect();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let try_run = |what: &str, f: &dyn Fn() -> String| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
            format!("{what}: your function panicked or is not implemented yet (todo!)")
        })
    };
    if headers.len() >= 2 {
        lines.push(try_run("slice-order", &|| {
            let same = (EXERCISE.order_slices)(&headers) == (REFERENCE.order_slices)(&headers);
            format!(
                "slice-order: your order {} the reference's",
                if same { "matches" } else { "DIFFERS from" }
            )
        }));
        lines.push(try_run("slice-spacing", &|| {
            format!(
                "slice-spacing: yours {:.4} mm, reference {:.4} mm",
                (EXERCISE.slice_spacing)(&headers),
                (REFERENCE.slice_spacing)(&headers)
            )
        }));
    }
    lines.push(try_run("find-identifying", &|| {
        format!(
            "find-identifying: you found {}, the reference {}",
            (EXERCISE.find_identifying)(header).len(),
            (REFERENCE.find_identifying)(header).len()
        )
    }));
    std::panic::set_hook(hook);
    lines
}

radlab_labkit::lab_main!(lab_dicom);

/// How InstanceNumber relates to the true (position) order of the slices.
/// InstanceNumbers come from the folder scan when there was one.
fn instance_order(vol: &Volume, scan: Option<&radlab_dicom::ScanReport>) -> Result<&'static str> {
    let scanned: std::collections::HashMap<&Path, Option<i64>> = scan
        .map(|s| {
            s.series
                .iter()
                .flat_map(|se| {
                    se.instances
                        .iter()
                        .map(|i| (i.path.as_path(), i.instance_number))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut numbers = Vec::new();
    for (path, frame) in &vol.slices {
        if *frame != 0 {
            return Ok("not applicable (multi-frame)");
        }
        let number = match scanned.get(path.as_path()) {
            Some(n) => *n,
            None => radlab_dicom::header::ImageHeader::read(path)?.placements[0].instance_number,
        };
        match number {
            Some(n) => numbers.push(n),
            None => return Ok("absent"),
        }
    }
    if numbers.len() < 2 {
        return Ok("not applicable (one slice)");
    }
    let up = numbers.windows(2).all(|w| w[0] < w[1]);
    let down = numbers.windows(2).all(|w| w[0] > w[1]);
    Ok(if up {
        "agrees with position"
    } else if down {
        "runs opposite to position (sorting by it would flip the volume)"
    } else {
        "disagrees with position (sorting by it would scramble slices)"
    })
}

fn mask_info(input: &Path, vol: &Volume) -> Option<MaskInfo> {
    let dir = if input.is_dir() {
        input
    } else {
        input.parent()?
    };
    let labels_path = dir.parent()?.join("labels.npy");
    let labels: ndarray::Array3<u8> = ndarray_npy::read_npy(&labels_path).ok()?;
    if labels.shape() != vol.voxels.shape() {
        return None;
    }
    let mut counts = [0usize; 256];
    for &l in labels.iter() {
        counts[l as usize] += 1;
    }
    let voxel_mm3 = vol.spacing.iter().product::<f64>();
    let per: Vec<(u8, usize)> = (1..=255u8)
        .filter(|&l| counts[l as usize] > 0)
        .map(|l| (l, counts[l as usize]))
        .collect();
    Some(MaskInfo {
        labels_file: kit::display_path(&labels_path),
        nodules: per.len(),
        volume_mm3_per_label: per
            .iter()
            .map(|&(l, n)| (l, n as f64 * voxel_mm3))
            .collect(),
        voxels_per_label: per,
    })
}

fn run(args: Args) -> Result<()> {
    if !args.skip_model {
        args.infer.check()?;
    }
    let input = args.input.clone().unwrap_or_else(kit::default_series_dir);
    // Read everything first: bad input must fail before anything is written.
    let (vol, scan) = kit::load_volume(&input, args.series.as_deref())?;
    let (series_rows, skipped) = if let Some(scan) = &scan {
        let rows = scan
            .series
            .iter()
            .map(|s| SeriesRow {
                uid: s.uid.clone(),
                modality: s.modality.clone(),
                description: s.description.clone(),
                number: s.number,
                files: s.instances.len(),
                frames: s.frames(),
                rows: s.size.map(|x| x.0),
                columns: s.size.map(|x| x.1),
            })
            .collect::<Vec<_>>();
        let skipped = scan
            .skipped
            .iter()
            .map(|(p, why)| (kit::display_path(p), why.clone()))
            .collect::<Vec<_>>();
        (rows, skipped)
    } else {
        (Vec::new(), Vec::new())
    };
    let first = &vol.slices[0].0;
    let header_obj = radlab_dicom::open_header(first)?;
    let metadata = summary::summarize(&header_obj);
    let phi: Vec<IdentifyingTag> = summary::find_identifying(&header_obj);
    let header_json = radlab_dicom::json::to_dicom_json(&header_obj);
    let stats = vol.stats();
    let order = instance_order(&vol, scan.as_ref())?;
    let mask = mask_info(&input, &vol);
    let mine = args.mine.then(|| run_mine(&vol, &header_obj));
    let (classifier, classifier_skipped) = if args.skip_model {
        (None, Some("--skip-model".to_string()))
    } else {
        match classify_series(&vol, &args.infer)? {
            Ok(row) => (Some(row), None),
            Err(why) => (None, Some(why)),
        }
    };
    let series_rows = if series_rows.is_empty() {
        vec![SeriesRow {
            uid: vol.series_uid.clone(),
            modality: vol.modality.clone(),
            description: String::new(),
            number: None,
            files: 1,
            frames: vol.shape()[0],
            rows: Some(vol.shape()[1] as u16),
            columns: Some(vol.shape()[2] as u16),
        }]
    } else {
        series_rows
    };

    kit::prepare_out_dir(&args.out)?;
    let header_path = args.out.join("header.json");
    kit::write_json(&header_path, &header_json).context("writing header.json")?;
    let report_path = args.out.join("report.json");
    let show = |v: &str| {
        if args.show_phi {
            v.to_string()
        } else {
            summary::mask(v)
        }
    };
    let report = Report {
        input: kit::display_path(&input),
        series_uid: vol.series_uid.clone(),
        modality: vol.modality.clone(),
        shape: vol.shape(),
        spacing_mm: vol.spacing,
        origin: vol.origin,
        row_dir: vol.row_dir,
        col_dir: vol.col_dir,
        slice_dir: vol.slice_dir,
        plane: vol.plane_name(),
        transfer_syntaxes: vol.transfer_syntaxes.clone(),
        hu: HuStats {
            min: stats.min,
            max: stats.max,
            mean: stats.mean,
            std: stats.std,
        },
        warnings: vol.warnings.iter().map(|w| w.to_string()).collect(),
        instance_number_order: order,
        slice_order: vol
            .warnings
            .iter()
            .find_map(|w| match w {
                radlab_dicom::GeometryWarning::NoPositions { order_from, .. } => {
                    Some(format!("by {order_from} (no ImagePositionPatient)"))
                }
                radlab_dicom::GeometryWarning::OriginAssumed => {
                    Some("one slice, no ImagePositionPatient".to_string())
                }
                _ => None,
            })
            .unwrap_or_else(|| "by ImagePositionPatient along the normal".to_string()),
        series: series_rows,
        skipped_files: skipped,
        metadata: metadata
            .iter()
            .map(|g| summary::Group {
                name: g.name,
                entries: g
                    .entries
                    .iter()
                    .map(|e| {
                        let identifying = phi.iter().any(|p| p.tag == e.tag);
                        summary::Entry {
                            value: if identifying {
                                show(&e.value)
                            } else {
                                e.value.clone()
                            },
                            ..e.clone()
                        }
                    })
                    .collect(),
            })
            .collect(),
        phi_tags: phi
            .iter()
            .map(|p| PhiRow {
                path: p.path.clone(),
                tag: p.tag.clone(),
                keyword: p.keyword.clone(),
                reason: p.reason,
                value: if p.reason == "sequence of identifiers" {
                    p.value.clone()
                } else {
                    show(&p.value)
                },
            })
            .collect(),
        mask,
        mine,
        classifier,
        classifier_skipped,
        artifacts: vec![
            kit::display_path(&header_path),
            kit::display_path(&report_path),
        ],
    };
    kit::write_json(&report_path, &report)?;

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
        r.spacing_mm[0], r.spacing_mm[1], r.spacing_mm[2]
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
