//! The lab's pipeline: a DICOM file or folder read into a volume, its
//! series, geometry, HU statistics and identifying attributes, the header
//! as DICOM JSON, a mask next to it if there is one, and the bundled
//! classifier on the volume. The binary parses its flags into [`Options`]
//! and narrates the [`Report`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use radlab_dicom::Volume;
use radlab_dicom::summary::{self, IdentifyingTag};
use radlab_labkit as kit;
use serde::Serialize;

/// What the pipeline is run with (the binary's flags, checked there).
#[derive(Debug, Clone)]
pub struct Options {
    /// A DICOM file or folder.
    pub input: PathBuf,
    /// SeriesInstanceUID to load when the folder holds several series.
    pub series: Option<String>,
    /// Output folder for header.json (created).
    pub out: PathBuf,
    /// Print identifying values in full instead of masked.
    pub show_phi: bool,
    /// Also run the exercise functions.
    pub mine: bool,
    /// Skip the classifier.
    pub skip_model: bool,
}

/// Loads a bundled model by name (the binary's device settings).
pub use radlab_labkit::ModelLoader as Loader;

/// The bundled nodule classifier run over the loaded series.
#[derive(Serialize)]
pub struct ClassifierRow {
    pub model: String,
    pub device: String,
    pub series_uid: String,
    /// Axial patches classified (a grid every 16 voxels, every second slice).
    pub patches: usize,
    pub max_probability: f64,
    /// Centre of the most suspicious patch, `[z, y, x]` voxels.
    pub at_voxel: [usize; 3],
    /// The same point in patient coordinates (LPS, mm).
    pub at_mm: [f64; 3],
    pub patches_above_half: usize,
    pub notes: Vec<String>,
}

#[derive(Serialize)]
pub struct SeriesRow {
    pub uid: String,
    pub modality: String,
    pub description: String,
    pub number: Option<i64>,
    pub files: usize,
    pub frames: usize,
    pub rows: Option<u16>,
    pub columns: Option<u16>,
}

#[derive(Serialize)]
pub struct HuStats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub std: f64,
}

#[derive(Serialize)]
pub struct PhiRow {
    pub path: String,
    pub tag: String,
    pub keyword: String,
    pub reason: &'static str,
    pub value: String,
}

#[derive(Serialize)]
pub struct MaskInfo {
    pub labels_file: String,
    pub nodules: usize,
    pub voxels_per_label: Vec<(u8, usize)>,
    pub volume_mm3_per_label: Vec<(u8, f64)>,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
pub struct Report {
    pub input: String,
    pub series_uid: String,
    pub modality: String,
    pub shape: [usize; 3],
    pub spacing_mm: radlab_dicom::Spacing,
    pub origin: [f64; 3],
    pub row_dir: [f64; 3],
    pub col_dir: [f64; 3],
    pub slice_dir: [f64; 3],
    pub plane: &'static str,
    pub transfer_syntaxes: Vec<String>,
    pub hu: HuStats,
    pub warnings: Vec<String>,
    pub instance_number_order: &'static str,
    /// Where the slice order came from.
    pub slice_order: String,
    pub series: Vec<SeriesRow>,
    pub skipped_files: Vec<(String, String)>,
    pub metadata: Vec<summary::Group>,
    pub phi_tags: Vec<PhiRow>,
    pub mask: Option<MaskInfo>,
    pub mine: Option<Vec<String>>,
    pub classifier: Option<ClassifierRow>,
    /// Why the classifier did not run, when it did not.
    pub classifier_skipped: Option<String>,
    pub artifacts: Vec<String>,
}

/// Run the classifier over the series, or say why it was not run (it was
/// trained on CT in HU, on 32 x 32 patches).
fn classify_series(vol: &Volume, load: &mut Loader<'_>) -> Result<Result<ClassifierRow, String>> {
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
    let mut model = load("nodule_classifier")?;
    let scan = radlab_eval::scan_series(&mut model, vol.voxels.view(), 16, 2)?;
    let trained = model.card().preprocessing.spacing_mm.clone();
    let mut notes = Vec::new();
    if let Some(&t) = trained.first() {
        let here = vol.spacing.y.max(vol.spacing.x);
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
    use crate::tasks::{EXERCISE, REFERENCE, SliceHeader};
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
    let try_run = |what: &str, f: &dyn Fn() -> String| {
        radlab_grade::quietly(f).unwrap_or_else(|| {
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
    lines
}

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
    let voxel_mm3 = vol.spacing.voxel_volume_mm3();
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
/// Run the pipeline; `load` provides the bundled classifier unless
/// `skip_model`.
pub fn run(args: &Options, load: &mut Loader<'_>) -> Result<Report> {
    let input = args.input.as_path();
    // Read everything first: bad input must fail before anything is written.
    let (vol, scan) = kit::load_volume(input, args.series.as_deref())?;
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
    let mask = mask_info(input, &vol);
    let mine = args.mine.then(|| run_mine(&vol, &header_obj));
    let (classifier, classifier_skipped) = if args.skip_model {
        (None, Some("--skip-model".to_string()))
    } else {
        match classify_series(&vol, load)? {
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
        input: kit::display_path(input),
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
    Ok(report)
}
