//! lab-deid: de-identify a study after PS3.15 Annex E, prove with a leak
//! hunter that nothing identifying is left, and check that the pixels and
//! the classifier's outputs did not change.
//!
//! Topics B4 (privacy, removing PHI) and W4 (automated de-identification at
//! ingestion). Run with no arguments for the bundled sample study.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Parser};
use radlab_deid::batch::{self, BatchReport};
use radlab_deid::{Config, Deidentifier, Key, ProfileOption, Rect, SafePrivate};
use radlab_labkit as kit;
use serde::Serialize;

/// De-identify DICOM files with the PS3.15 Basic Application Level
/// Confidentiality Profile and its options, then hunt the outputs for every
/// identifying value of the inputs. Inputs are never modified. Subcommands
/// grade your exercise file (src/exercise.rs).
#[derive(Parser, Debug)]
#[command(name = "lab-deid", version, about, long_about = None, args_conflicts_with_subcommands = true)]
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
    /// A DICOM file or a folder (searched recursively). Default: the bundled sample cases.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Output folder: de-identified files go to OUT/deidentified/ (replaced on each run), the audit to OUT/audit.json.
    /// Must not be inside the input.
    #[arg(long, default_value = "out/lab-deid")]
    out: PathBuf,
    /// A profile option, by name or CID 7050 code (repeatable): retain-safe-private,
    /// retain-uids, retain-device-identity, retain-institution-identity,
    /// retain-patient-characteristics, retain-full-dates, retain-modified-dates,
    /// clean-descriptors, clean-structured-content, clean-graphics, clean-pixel-data.
    #[arg(long = "option", value_name = "OPTION")]
    options: Vec<String>,
    /// A rectangle of pixels to blank with clean-pixel-data: X0,Y0,X1,Y1 (columns X0..X1, rows Y0..Y1). Repeatable.
    #[arg(long = "clean-rect", value_name = "X0,Y0,X1,Y1")]
    clean_rects: Vec<String>,
    /// A private attribute kept by retain-safe-private: CREATOR:GGGG,XX (e.g. "ACME 1.1:0019,01"). Repeatable.
    #[arg(long = "safe-private", value_name = "CREATOR:GGGG,XX")]
    safe_private: Vec<String>,
    /// File holding the secret key of the UID, date and ID mappings (16 bytes or more).
    /// Default: radlab's public sample key, fine for the sample data and nothing else.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Print one JSON document on stdout instead of the narrated report.
    #[arg(long)]
    json: bool,
    /// Also run the pipeline built from your exercise functions and hunt its outputs.
    #[arg(long)]
    mine: bool,
    /// Skip the classifier utility check (no ONNX Runtime needed).
    #[arg(long)]
    skip_model: bool,
    #[command(flatten)]
    infer: kit::InferArgs,
}

/// The utility check: the de-identified series against the original.
#[derive(Serialize)]
struct Utility {
    series: String,
    voxels_identical: bool,
    geometry_identical: bool,
    /// Classifier scan before and after (None when skipped).
    classifier_before: Option<kit::models::SeriesScan>,
    classifier_after: Option<kit::models::SeriesScan>,
    classifier_identical: Option<bool>,
    classifier_skipped: Option<String>,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
struct Report {
    input: String,
    output: String,
    options: Vec<String>,
    key_fingerprint: String,
    sample_key: bool,
    table_source: Vec<String>,
    files_written: usize,
    files_refused: usize,
    files_skipped: usize,
    refused: Vec<(String, String)>,
    /// Files without a DICOM signature, with the reason.
    skipped: Vec<(String, String)>,
    actions: BTreeMap<char, usize>,
    needles: usize,
    leaks: Vec<radlab_deid::hunt::Leak>,
    utility: Option<Utility>,
    /// Why the utility check did not run, when it did not.
    utility_skipped: Option<String>,
    mine: Option<Vec<String>>,
    artifacts: Vec<String>,
}

radlab_labkit::lab_main!(lab_deid);

fn bad(msg: String) -> anyhow::Error {
    anyhow::Error::new(kit::BadInput(msg))
}

fn parse_rect(s: &str) -> Result<Rect> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            bad(format!(
                "--clean-rect {s:?}: expected four whole numbers X0,Y0,X1,Y1"
            ))
        })?;
    match v.as_slice() {
        &[x0, y0, x1, y1] if x0 < x1 && y0 < y1 => Ok(Rect { x0, y0, x1, y1 }),
        _ => Err(bad(format!(
            "--clean-rect {s:?}: expected X0,Y0,X1,Y1 with X0 < X1 and Y0 < Y1"
        ))),
    }
}

fn parse_safe(s: &str) -> Result<SafePrivate> {
    let err = || {
        bad(format!(
            "--safe-private {s:?}: expected CREATOR:GGGG,XX, e.g. \"ACME 1.1:0019,01\""
        ))
    };
    let (creator, rest) = s.rsplit_once(':').ok_or_else(err)?;
    let (g, e) = rest.split_once(',').ok_or_else(err)?;
    let group = u16::from_str_radix(g.trim(), 16).map_err(|_| err())?;
    let element = u8::from_str_radix(e.trim(), 16).map_err(|_| err())?;
    if group % 2 == 0 {
        return Err(bad(format!(
            "--safe-private {s:?}: group {group:04X} is even, not private"
        )));
    }
    Ok(SafePrivate {
        creator: creator.trim().to_string(),
        group,
        element,
    })
}

fn config(args: &Args) -> Result<(Config, bool)> {
    let (key, sample) = match &args.key_file {
        Some(p) => (Key::from_file(p).map_err(|e| bad(e.to_string()))?, false),
        None => (Key::sample(), true),
    };
    let mut config = Config::basic(key);
    for o in &args.options {
        config.options.push(ProfileOption::parse(o).ok_or_else(|| {
            bad(format!(
                "--option {o:?}: unknown; use one of {}",
                ProfileOption::ALL.map(|o| o.name()).join(", ")
            ))
        })?);
    }
    config.pixel_rects = args
        .clean_rects
        .iter()
        .map(|r| parse_rect(r))
        .collect::<Result<_>>()?;
    config.safe_private = args
        .safe_private
        .iter()
        .map(|s| parse_safe(s))
        .collect::<Result<_>>()?;
    if !config.pixel_rects.is_empty() && !config.has(ProfileOption::CleanPixelData) {
        config.options.push(ProfileOption::CleanPixelData);
    }
    if !config.safe_private.is_empty() && !config.has(ProfileOption::RetainSafePrivate) {
        return Err(bad(
            "--safe-private lists attributes but --option retain-safe-private is not given".into(),
        ));
    }
    Ok((config, sample))
}

fn run(args: Args) -> Result<()> {
    if !args.skip_model {
        args.infer.check()?;
    }
    let input = args.input.clone().unwrap_or_else(kit::sample_data_dir);
    if !input.exists() {
        bail!(bad(format!("{}: no such file or folder", input.display())));
    }
    let (config, sample_key) = config(&args)?;
    let deid = Deidentifier::new(config).map_err(|e| bad(e.to_string()))?;
    let out_dir = args.out.join("deidentified");
    batch::check_folders(&input, &args.out).map_err(|e| bad(e.to_string()))?;
    // Nothing is written unless there is something to de-identify.
    let files = batch::list_files(&input);
    if !files
        .iter()
        .any(|f| radlab_dicom::file::has_dicom_signature(f))
    {
        bail!(bad(format!(
            "{}: no DICOM files found ({} file(s), none with a DICOM signature)",
            input.display(),
            files.len()
        )));
    }
    if sample_key && args.input.is_some() && !args.json {
        eprintln!(
            "warning: no --key-file: using radlab's public sample key. Anyone can recompute its UID and date mappings; use your own key for real data."
        );
    }
    // Start clean: stale outputs of an earlier run would be hunted too.
    if out_dir.exists() {
        std::fs::remove_dir_all(&out_dir)
            .with_context(|| format!("{}: cannot clear the old output", out_dir.display()))?;
    }
    let bar = progress_bar(args.json);
    let report = batch::deidentify_folder(&deid, &input, &out_dir, &|done, total| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    })
    .map_err(|e| match e {
        radlab_deid::DeidError::Paths { .. } | radlab_deid::DeidError::Options(_) => {
            bad(e.to_string())
        }
        other => anyhow::Error::new(other),
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // Pixels radlab cannot decode (JPEG-LS, colour) make the check
    // impossible, not the de-identification wrong: say so and go on.
    let (utility, utility_skipped) = if report.count("written") > 0 {
        match utility_check(&input, &out_dir, &report, &args) {
            Ok(u) => (Some(u), None),
            Err(e) if kit::is_bad_input(&e) => (None, Some(format!("{e:#}"))),
            Err(e) => return Err(e),
        }
    } else {
        (None, Some("no file was written".into()))
    };
    let mine = if args.mine {
        Some(run_mine(&input, &deid)?)
    } else {
        None
    };

    let audit = args.out.join("audit.json");
    kit::write_json(&audit, &report.files)?;
    let mut actions = BTreeMap::new();
    for f in &report.files {
        for c in &f.changes {
            *actions.entry(c.action).or_insert(0) += 1;
        }
    }
    let r = Report {
        input: kit::display_path(&input),
        output: kit::display_path(&out_dir),
        options: deid
            .config()
            .options
            .iter()
            .map(|o| format!("{} ({})", o.name(), o.code()))
            .collect(),
        key_fingerprint: deid.config().key.fingerprint(),
        sample_key,
        table_source: deid.table().source.clone(),
        files_written: report.count("written"),
        files_refused: report.count("refused"),
        files_skipped: report.count("skipped"),
        refused: report
            .files
            .iter()
            .filter(|f| f.status == "refused")
            .map(|f| (f.input.clone(), f.reason.clone().unwrap_or_default()))
            .collect(),
        skipped: report
            .files
            .iter()
            .filter(|f| f.status == "skipped")
            .map(|f| (f.input.clone(), f.reason.clone().unwrap_or_default()))
            .collect(),
        actions,
        needles: report.needles,
        leaks: report.leaks.clone(),
        utility,
        utility_skipped,
        mine,
        artifacts: vec![
            kit::display_path(&out_dir),
            kit::display_path(&audit),
            kit::display_path(&args.out.join("report.json")),
        ],
    };
    kit::write_json(&args.out.join("report.json"), &r)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        narrate(&r, &report);
    }
    if !r.leaks.is_empty() {
        bail!(
            "{} identifying value(s) found in the outputs (see above); do not release them",
            r.leaks.len()
        );
    }
    if r.files_written == 0 {
        let first = r
            .refused
            .first()
            .or(r.skipped.first())
            .map(|(f, why)| format!("; first: {f}: {why}"))
            .unwrap_or_default();
        bail!(bad(format!(
            "{}: nothing was de-identified: {} file(s) refused, {} skipped{first}",
            r.input, r.files_refused, r.files_skipped
        )));
    }
    if let Some(u) = &r.utility
        && (!u.voxels_identical || !u.geometry_identical || u.classifier_identical == Some(false))
    {
        bail!("de-identification changed the images or the classifier's output");
    }
    Ok(())
}

fn progress_bar(json: bool) -> Option<indicatif::ProgressBar> {
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new(0);
    b.set_style(
        indicatif::ProgressStyle::with_template("de-identifying [{bar:30}] {pos}/{len} files")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    Some(b)
}

/// Load the first written series before and after; compare voxels, geometry
/// and the classifier's scan.
fn utility_check(
    input: &Path,
    out_dir: &Path,
    report: &BatchReport,
    args: &Args,
) -> Result<Utility> {
    let first = report
        .files
        .iter()
        .find(|f| f.status == "written")
        .expect("at least one written");
    let base = if input.is_file() {
        input.parent().unwrap_or(Path::new("."))
    } else {
        input
    };
    let src = base.join(&first.input);
    let header = radlab_dicom::file::open_header(&src)?;
    let series =
        radlab_dicom::attrs::string(&header, dicom_dictionary_std::tags::SERIES_INSTANCE_UID)
            .unwrap_or_default();
    // The inputs of that series, and their outputs.
    let mut before_files = Vec::new();
    let mut after_files = Vec::new();
    for f in report.files.iter().filter(|f| f.status == "written") {
        let p = base.join(&f.input);
        let same = radlab_dicom::file::open_header(&p)
            .ok()
            .and_then(|h| {
                radlab_dicom::attrs::string(&h, dicom_dictionary_std::tags::SERIES_INSTANCE_UID)
            })
            .is_some_and(|s| s == series);
        if same {
            before_files.push(p);
            after_files.push(out_dir.join(f.output.as_deref().unwrap_or_default()));
        }
    }
    let before = radlab_dicom::load_series(&before_files)?;
    let after = radlab_dicom::load_series(&after_files)?;
    let voxels_identical = before.voxels == after.voxels;
    let geometry_identical = before.spacing == after.spacing
        && before.origin == after.origin
        && before.row_dir == after.row_dir
        && before.col_dir == after.col_dir
        && before.slice_dir == after.slice_dir;
    let mut u = Utility {
        series: radlab_dicom::summary::mask(&series),
        voxels_identical,
        geometry_identical,
        classifier_before: None,
        classifier_after: None,
        classifier_identical: None,
        classifier_skipped: None,
    };
    if args.skip_model {
        u.classifier_skipped = Some("--skip-model".into());
    } else if before.modality != "CT" {
        u.classifier_skipped = Some(format!(
            "the classifier reads CT in HU; this series is {}",
            before.modality
        ));
    } else {
        let mut model = args.infer.load("nodule_classifier")?;
        let a = kit::models::scan_series(&mut model, before.voxels.view(), 16, 2)?;
        let b = kit::models::scan_series(&mut model, after.voxels.view(), 16, 2)?;
        u.classifier_identical = Some(
            a.max_probability.to_bits() == b.max_probability.to_bits()
                && a.at_voxel == b.at_voxel
                && a.above_half == b.above_half
                && a.patches == b.patches,
        );
        u.classifier_before = Some(a);
        u.classifier_after = Some(b);
    }
    Ok(u)
}

/// The pipeline built from the learner's functions, on every readable input, hunted.
fn run_mine(input: &Path, deid: &Deidentifier) -> Result<Vec<String>> {
    let key = deid.config().key.clone();
    let settings = lab_deid::tasks::PipelineSettings {
        key: &key,
        options: &deid.config().options,
        safe_private: &deid.config().safe_private,
    };
    let mut lines = Vec::new();
    let mut leaks = 0;
    let mut done = 0;
    for p in batch::list_files(input) {
        let Ok(obj) = radlab_dicom::file::open(&p) else {
            continue;
        };
        let needles = radlab_deid::text::needles(deid, &obj);
        let out = std::panic::catch_unwind(|| {
            lab_deid::tasks::deidentify(&lab_deid::tasks::EXERCISE, &settings, &obj)
        });
        let Ok(out) = out else {
            lines.push(format!(
                "{}: your pipeline panicked (a stub left in src/exercise.rs?)",
                kit::display_path(&p)
            ));
            break;
        };
        let mut bytes = Vec::new();
        out.write_all(&mut bytes)?;
        let found = radlab_deid::hunt::hunt(&kit::display_path(&p), &bytes, &out, &needles);
        for l in found.iter().take(3) {
            lines.push(format!(
                "{}: leak {} at {} (from {})",
                l.file, l.value, l.location, l.origin
            ));
        }
        leaks += found.len();
        done += 1;
    }
    lines.push(format!(
        "your pipeline: {done} file(s) de-identified, {leaks} leak(s)"
    ));
    Ok(lines)
}

fn narrate(r: &Report, report: &BatchReport) {
    println!("lab-deid: PS3.15 Annex E de-identification of {}", r.input);
    println!(
        "  profile: Basic Application Level Confidentiality Profile{}",
        if r.options.is_empty() {
            String::new()
        } else {
            format!(" + {}", r.options.join(", "))
        }
    );
    println!(
        "  key: {} (fingerprint {}){}",
        if r.sample_key {
            "public sample key"
        } else {
            "from --key-file"
        },
        r.key_fingerprint,
        if r.sample_key {
            " - use --key-file for real data"
        } else {
            ""
        }
    );
    println!(
        "  table: {}",
        r.table_source
            .get(2)
            .map(String::as_str)
            .unwrap_or("bundled")
    );
    println!(
        "\nfiles: {} written, {} refused, {} skipped (not DICOM)",
        r.files_written, r.files_refused, r.files_skipped
    );
    // Every refused and skipped file by name, grouped by reason (the first
    // eight names of each group here, all of them in report.json).
    for (label, list) in [("refused", &r.refused), ("skipped", &r.skipped)] {
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for (file, why) in list {
            match groups.iter_mut().find(|(w, _)| *w == why.as_str()) {
                Some((_, names)) => names.push(file),
                None => groups.push((why, vec![file])),
            }
        }
        for (why, names) in groups {
            println!("  {label} {}: {why}", names.len());
            let shown: Vec<&str> = names.iter().take(8).copied().collect();
            let more = match names.len().saturating_sub(8) {
                0 => String::new(),
                n => format!(" and {n} more (report.json)"),
            };
            println!("    {}{more}", shown.join(", "));
        }
    }
    if let Some(f) = report.files.iter().find(|f| f.status == "written") {
        println!(
            "\naudit of {} (values masked; all files in audit.json):",
            f.input
        );
        println!(
            "  {:<58} {:>3}  {:<22} -> after",
            "tag path", "act", "before"
        );
        for c in f.changes.iter().take(40) {
            let after: String = c.after.chars().take(40).collect();
            println!(
                "  {:<58} {:>3}  {:<22} -> {after}",
                c.path, c.action, c.before
            );
        }
        if f.changes.len() > 40 {
            println!("  ... {} more", f.changes.len() - 40);
        }
    }
    let total: usize = r.actions.values().sum();
    println!(
        "\nchanges over all files: {total} ({})",
        r.actions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "\nleak hunt: {} identifying values (names, IDs, dates in 5 formats, UIDs) searched in every element, the file meta and the raw bytes of every output: {} found",
        r.needles,
        r.leaks.len()
    );
    for l in r.leaks.iter().take(20) {
        println!(
            "  LEAK {} at {}: {} ({}, from {})",
            l.file, l.location, l.value, l.form, l.origin
        );
    }
    if let Some(why) = &r.utility_skipped {
        println!("\nutility check skipped: {why}");
    }
    if let Some(u) = &r.utility {
        println!("\nutility check on one series:");
        println!(
            "  voxels identical: {}; geometry identical: {}",
            u.voxels_identical, u.geometry_identical
        );
        match (
            &u.classifier_before,
            &u.classifier_after,
            &u.classifier_skipped,
        ) {
            (Some(a), Some(b), _) => println!(
                "  classifier max probability {:.6} at {:?} before, {:.6} at {:?} after: {}",
                a.max_probability,
                a.at_voxel,
                b.max_probability,
                b.at_voxel,
                if u.classifier_identical == Some(true) {
                    "identical"
                } else {
                    "DIFFERENT"
                }
            ),
            (_, _, Some(why)) => println!("  classifier skipped: {why}"),
            _ => {}
        }
    }
    if let Some(m) = &r.mine {
        println!("\n--mine:");
        for l in m {
            println!("  {l}");
        }
    }
    println!("\nartifacts: {}", r.artifacts.join(", "));
    if r.files_refused > 0 {
        println!(
            "try: --option clean-pixel-data --clean-rect 0,0,192,48 blanks the text burned into case-004"
        );
    }
}
