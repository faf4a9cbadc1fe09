//! lab-deid: de-identify a study after PS3.15 Annex E, prove with a leak
//! hunter that nothing identifying is left, and check that the pixels and
//! the classifier's outputs did not change.
//!
//! Topics B4 (privacy, removing PHI) and W4 (automated de-identification at
//! ingestion). Run with no arguments for the bundled sample study.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use lab_deid::pipeline::Report;
use radlab_deid::batch::BatchReport;
use radlab_deid::{Config, Deidentifier, Key, ProfileOption, Rect, SafePrivate};
use radlab_labkit as kit;

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

radlab_labkit::lab_main! {
    /// De-identify DICOM files with the PS3.15 Basic Application Level
    /// Confidentiality Profile and its options, then hunt the outputs for every
    /// identifying value of the inputs. Inputs are never modified. Subcommands
    /// grade your exercise file (src/exercise.rs).
    lab_deid
}

use radlab_labkit::bad_input as bad;

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
    let opts = lab_deid::pipeline::Options {
        input,
        out: args.out.clone(),
        user_input: args.input.is_some(),
        sample_key,
        mine: args.mine,
        skip_model: args.skip_model,
    };
    let bar = progress_bar(args.json);
    let (r, report) = lab_deid::pipeline::run(
        &opts,
        &deid,
        &mut |name| args.infer.load(name),
        &|done, total| {
            if let Some(b) = &bar {
                b.set_length(total as u64);
                b.set_position(done as u64);
            }
        },
        &mut |warning| {
            if !args.json {
                eprintln!("warning: {warning}");
            }
        },
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
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
