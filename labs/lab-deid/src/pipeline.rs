//! The lab's pipeline: a folder de-identified with a profile, the outputs
//! hunted for every identifying value of the inputs, the images and the
//! classifier's output compared before and after, and (with `mine`) the
//! learner's pipeline run and hunted the same way. The binary builds the
//! profile from its flags, and narrates the [`Report`] and exit codes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use radlab_deid::Deidentifier;
use radlab_deid::batch::{self, BatchReport};
use radlab_labkit as kit;
use serde::Serialize;

/// What the pipeline is run with (the binary's flags, checked there).
#[derive(Debug, Clone)]
pub struct Options {
    /// A file or folder to de-identify.
    pub input: PathBuf,
    /// Output folder (`deidentified/`, audit.json).
    pub out: PathBuf,
    /// Whether `input` is the user's (not the bundled sample data).
    pub user_input: bool,
    /// Whether the profile's key is radlab's public sample key.
    pub sample_key: bool,
    /// Also run the learner's pipeline.
    pub mine: bool,
    /// Skip the classifier comparison.
    pub skip_model: bool,
}

/// Loads a bundled model by name (the binary's device settings).
pub use radlab_labkit::ModelLoader as Loader;

use radlab_labkit::bad_input as bad;

/// The utility check: the de-identified series against the original.
#[derive(Serialize)]
pub struct Utility {
    pub series: String,
    pub voxels_identical: bool,
    pub geometry_identical: bool,
    /// Classifier scan before and after (None when skipped).
    pub classifier_before: Option<radlab_eval::SeriesScan>,
    pub classifier_after: Option<radlab_eval::SeriesScan>,
    pub classifier_identical: Option<bool>,
    pub classifier_skipped: Option<String>,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
pub struct Report {
    pub input: String,
    pub output: String,
    pub options: Vec<String>,
    pub key_fingerprint: String,
    pub sample_key: bool,
    pub table_source: Vec<String>,
    pub files_written: usize,
    pub files_refused: usize,
    pub files_skipped: usize,
    pub refused: Vec<(String, String)>,
    /// Files without a DICOM signature, with the reason.
    pub skipped: Vec<(String, String)>,
    pub actions: BTreeMap<char, usize>,
    pub needles: usize,
    pub leaks: Vec<radlab_deid::hunt::Leak>,
    pub utility: Option<Utility>,
    /// Why the utility check did not run, when it did not.
    pub utility_skipped: Option<String>,
    pub mine: Option<Vec<String>>,
    pub artifacts: Vec<String>,
}

/// Run the pipeline with the profile `deid`; `progress(done, total)` hears
/// of each file, `notice` of what the user should know (the sample key).
pub fn run(
    args: &Options,
    deid: &Deidentifier,
    load: &mut Loader<'_>,
    progress: &(dyn Fn(usize, usize) + Sync),
    notice: &mut dyn FnMut(&str),
) -> Result<(Report, BatchReport)> {
    let input = args.input.as_path();
    if !input.exists() {
        bail!(bad(format!("{}: no such file or folder", input.display())));
    }
    let out_dir = args.out.join("deidentified");
    batch::check_folders(input, &args.out).map_err(|e| bad(e.to_string()))?;
    // Nothing is written unless there is something to de-identify.
    let files = batch::list_files(input);
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
    if args.sample_key && args.user_input {
        notice(
            "no --key-file: using radlab's public sample key. Anyone can recompute its UID and date mappings; use your own key for real data.",
        );
    }
    // Start clean: stale outputs of an earlier run would be hunted too.
    if out_dir.exists() {
        std::fs::remove_dir_all(&out_dir)
            .with_context(|| format!("{}: cannot clear the old output", out_dir.display()))?;
    }
    let report =
        batch::deidentify_folder(deid, input, &out_dir, progress).map_err(|e| match e {
            radlab_deid::DeidError::Paths { .. } | radlab_deid::DeidError::Options(_) => {
                bad(e.to_string())
            }
            other => anyhow::Error::new(other),
        })?;
    // Pixels radlab cannot decode (JPEG-LS, colour) make the check
    // impossible, not the de-identification wrong: say so and go on.
    let (utility, utility_skipped) = if report.count("written") > 0 {
        match utility_check(input, &out_dir, &report, args, load) {
            Ok(u) => (Some(u), None),
            Err(e) if kit::is_bad_input(&e) => (None, Some(format!("{e:#}"))),
            Err(e) => return Err(e),
        }
    } else {
        (None, Some("no file was written".into()))
    };
    let mine = if args.mine {
        Some(run_mine(input, deid)?)
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
        input: kit::display_path(input),
        output: kit::display_path(&out_dir),
        options: deid
            .config()
            .options
            .iter()
            .map(|o| format!("{} ({})", o.name(), o.code()))
            .collect(),
        key_fingerprint: deid.config().key.fingerprint(),
        sample_key: args.sample_key,
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
    Ok((r, report))
}

/// Load the first written series before and after; compare voxels, geometry
/// and the classifier's scan.
fn utility_check(
    input: &Path,
    out_dir: &Path,
    report: &BatchReport,
    args: &Options,
    load: &mut Loader<'_>,
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
        let mut model = load("nodule_classifier")?;
        let a = radlab_eval::scan_series(&mut model, before.voxels.view(), 16, 2)?;
        let b = radlab_eval::scan_series(&mut model, after.voxels.view(), 16, 2)?;
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
    let settings = crate::tasks::PipelineSettings {
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
        let out = radlab_grade::quietly(|| {
            crate::tasks::deidentify(&crate::tasks::EXERCISE, &settings, &obj)
        });
        let Some(out) = out else {
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
