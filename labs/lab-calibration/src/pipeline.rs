//! The lab's pipeline: validation and test logits (the bundled classifier on
//! generated phantoms, or the user's files), temperature and Platt scaling
//! fitted on validation, and every score before and after, with bootstrap
//! intervals and reliability diagrams. The binary parses its flags into
//! [`Options`] and narrates the [`Report`].

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use ndarray::{Array2, Axis};
use radlab_charts::{Chart, Series, write_chart};
use radlab_labkit as kit;
use radlab_metrics::calibration::{
    Bin, BinSpacing, Binning, Bootstrap, EdgeRule, Reduction, Target, brier, calibration_error,
    calibration_error_ci, confidence_sets, fit_platt, fit_temperature, nll, reliability,
};
use radlab_metrics::classification::sigmoid;
use serde::Serialize;

/// What the pipeline is run with (the binary's flags, checked there).
#[derive(Debug, Clone)]
pub struct Options {
    /// The user's logits (CSV or .npy), with `labels`.
    pub logits: Option<PathBuf>,
    /// The user's labels.
    pub labels: Option<PathBuf>,
    /// With `logits`: the fraction of rows used to fit the scalings.
    pub fit_fraction: f64,
    /// Equal-width bins of the ECE.
    pub bins: usize,
    /// Phantom cases per split.
    pub cases: usize,
    /// Bootstrap replicates for the ECE intervals.
    pub bootstrap: usize,
    /// Seed of the patch sampling, the split and the bootstrap.
    pub seed: u64,
    /// Output folder for the diagrams (created).
    pub out: PathBuf,
    /// Also run the exercise functions.
    pub mine: bool,
}

/// Loads a bundled model by name (the binary's device settings).
pub use radlab_labkit::ModelLoader as Loader;

use radlab_labkit::bad_input as bad;

/// Logits and labels of one split.
struct Split {
    name: String,
    logits: Array2<f64>,
    labels: Vec<usize>,
}

#[derive(Serialize, Clone)]
pub struct Scores {
    pub ece: f64,
    pub ece_ci: (f64, f64),
    pub mce: f64,
    pub ace: f64,
    /// Summed over the classes: `mean_i sum_k (p_ik - y_ik)^2`.
    pub brier: f64,
    /// Binary problems only: scikit-learn's `brier_score_loss`,
    /// `mean_i (p_i1 - y_i)^2`, half of `brier`.
    pub brier_positive: Option<f64>,
    pub nll: f64,
    pub accuracy: f64,
}

#[derive(Serialize)]
pub struct LibraryRow {
    pub library: &'static str,
    pub convention: &'static str,
    pub before: f64,
    pub after_temperature: f64,
}

#[derive(Serialize)]
pub struct Diagram {
    pub name: &'static str,
    pub bins: Vec<Bin>,
}

#[derive(Serialize)]
pub struct MineRow {
    pub ece_before: Option<f64>,
    pub ece_after: Option<f64>,
    pub agrees: bool,
    pub note: String,
}

/// The machine-readable report (`--json`); keys are stable.
#[derive(Serialize)]
pub struct Report {
    pub source: String,
    /// Seed of the patch sampling, the split of your data and the bootstrap.
    pub seed: u64,
    pub model: Option<String>,
    pub device: Option<String>,
    pub classes: usize,
    pub target: Target,
    pub binning: Binning,
    pub validation: SplitInfo,
    pub test: SplitInfo,
    pub temperature: f64,
    pub temperature_nll_validation: (f64, f64),
    pub platt: Option<(f64, f64)>,
    pub before: Scores,
    pub after_temperature: Scores,
    pub after_platt: Option<Scores>,
    pub libraries: Vec<LibraryRow>,
    pub diagrams: Vec<Diagram>,
    pub files: Vec<String>,
    pub mine: Option<MineRow>,
}

#[derive(Serialize)]
pub struct SplitInfo {
    pub name: String,
    pub predictions: usize,
    pub positives_or_classes: usize,
}

/// Patches of `cases` generated phantoms per split: the validation split
/// from the vendors the classifier was trained on (northwind, helios), the
/// test split from meridian, which it never saw.
fn phantom_splits(
    args: &Options,
    load: &mut Loader<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<(Split, Split, String, String)> {
    let mut model = load("nodule_classifier")?;
    let mut make = |name: &str, first_seed: u64, vendors: &[usize]| -> Result<Split> {
        let split = radlab_eval::phantoms::phantom_split(
            &mut model, args.cases, first_seed, vendors, args.seed,
        )?;
        progress(&format!(
            "{name}: {} patches from {} phantoms",
            split.logits.len(),
            args.cases
        ));
        Ok(Split {
            name: name.into(),
            logits: two_class(&split.logits),
            labels: split.labels,
        })
    };
    let val = make("validation (northwind, helios)", 700, &[0, 1])?;
    let test = make("test (meridian: a vendor the model never saw)", 800, &[2])?;
    Ok((
        val,
        test,
        model.card().name.clone(),
        model.placement().to_string(),
    ))
}

/// Binary logits as two-class logits `[0, z]`: softmax gives sigmoid(z).
fn two_class(z: &[f64]) -> Array2<f64> {
    Array2::from_shape_fn((z.len(), 2), |(i, k)| if k == 1 { z[i] } else { 0.0 })
}

fn user_splits(args: &Options, logits: &Path, labels: &Path) -> Result<(Split, Split)> {
    let m = radlab_eval::predictions::read_logits(logits)?;
    // One column of values all inside [0, 1] is a column of sigmoid outputs,
    // not logits: a real logit column goes negative for every negative case.
    if m.ncols() == 1 && m.iter().all(|v| (0.0..=1.0).contains(v)) {
        bail!(bad(format!(
            "{}: every value of its one column is in [0, 1]; these look like sigmoid probabilities, and temperature scaling needs logits (pass log(p / (1 - p)), or the model's raw outputs)",
            logits.display()
        )));
    }
    let m = if m.ncols() == 1 {
        two_class(&m.column(0).to_vec())
    } else {
        m
    };
    let l = radlab_eval::predictions::read_labels(labels, m.ncols())?;
    if l.len() != m.nrows() {
        bail!(bad(format!(
            "{} has {} rows but {} has {} labels",
            logits.display(),
            m.nrows(),
            labels.display(),
            l.len()
        )));
    }
    if radlab_metrics::calibration::looks_like_probabilities(m.view()) {
        bail!(bad(format!(
            "{}: every row is in [0, 1] and sums to 1; these look like probabilities, and temperature scaling needs logits (take logs, or pass the model's raw outputs)",
            logits.display()
        )));
    }
    if !(args.fit_fraction > 0.0 && args.fit_fraction < 1.0) {
        bail!(bad(format!(
            "--fit-fraction {}: must be strictly between 0 and 1",
            args.fit_fraction
        )));
    }
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut idx: Vec<usize> = (0..l.len()).collect();
    idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(args.seed));
    let cut = ((l.len() as f64) * args.fit_fraction).round() as usize;
    if cut < 2 || l.len() - cut < 2 {
        bail!(bad(format!(
            "{}: too few rows to split for fitting and reporting",
            logits.display()
        )));
    }
    let take = |ix: &[usize], name: &str| Split {
        name: name.into(),
        logits: m.select(Axis(0), ix),
        labels: ix.iter().map(|&i| l[i]).collect(),
    };
    Ok((
        take(
            &idx[..cut],
            &format!("fit ({cut} rows, seed {})", args.seed),
        ),
        take(&idx[cut..], &format!("report ({} rows)", l.len() - cut)),
    ))
}

fn scores(
    probs: &Array2<f64>,
    labels: &[usize],
    target: Target,
    b: &Binning,
    args: &Options,
) -> Result<Scores> {
    let ece = calibration_error(probs.view(), labels, target, b, Reduction::Expected)?;
    let ci = calibration_error_ci(
        probs.view(),
        labels,
        target,
        b,
        Reduction::Expected,
        &Bootstrap {
            replicates: args.bootstrap,
            level: 0.95,
            seed: args.seed,
        },
    )?;
    let ace_binning = Binning {
        bins: b.bins,
        spacing: BinSpacing::EqualMass,
        edge: EdgeRule::LeftClosed,
    };
    let sets = confidence_sets(probs.view(), labels, Target::TopLabel)?;
    let accuracy = sets[0].1.iter().sum::<f64>() / labels.len() as f64;
    Ok(Scores {
        ece,
        ece_ci: ci,
        mce: calibration_error(probs.view(), labels, target, b, Reduction::Maximum)?,
        ace: calibration_error(
            probs.view(),
            labels,
            Target::Classwise,
            &ace_binning,
            Reduction::Average,
        )?,
        brier: brier(probs.view(), labels)?,
        brier_positive: (probs.ncols() == 2).then(|| {
            probs
                .column(1)
                .iter()
                .zip(labels)
                .map(|(&p, &l)| (p - f64::from(u8::from(l == 1))).powi(2))
                .sum::<f64>()
                / labels.len() as f64
        }),
        nll: nll(probs.view(), labels)?,
        accuracy,
    })
}

fn softmax_t(logits: &Array2<f64>, t: f64) -> Array2<f64> {
    radlab_metrics::calibration::softmax(logits.view(), t)
}
/// Run the pipeline; `load` provides the bundled classifier in phantom mode
/// and `progress` hears of each split as it is made.
pub fn run(
    args: &Options,
    load: &mut Loader<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    let (val, test, source, model, device) = match (&args.logits, &args.labels) {
        (Some(z), Some(l)) => {
            let (v, t) = user_splits(args, z, l)?;
            (
                v,
                t,
                format!("{} + {}", kit::display_path(z), kit::display_path(l)),
                None,
                None,
            )
        }
        _ => {
            let (v, t, m, d) = phantom_splits(args, load, progress)?;
            (
                v,
                t,
                "bundled classifier on generated phantom patches".to_string(),
                Some(m),
                Some(d),
            )
        }
    };
    let classes = val.logits.ncols();
    let target = if classes == 2 {
        Target::PositiveClass
    } else {
        Target::TopLabel
    };
    let binning = Binning::equal_width(args.bins, EdgeRule::LeftClosed);

    // Fit on validation only; report on test.
    let fit = fit_temperature(val.logits.view(), &val.labels)?;
    let t = fit.temperature;
    let before_p = softmax_t(&test.logits, 1.0);
    let after_p = softmax_t(&test.logits, t);
    let before = scores(&before_p, &test.labels, target, &binning, args)?;
    let after = scores(&after_p, &test.labels, target, &binning, args)?;
    if before.accuracy != after.accuracy {
        bail!(
            "temperature scaling changed the accuracy ({} -> {}): this cannot happen for T > 0",
            before.accuracy,
            after.accuracy
        );
    }
    let (platt, after_platt, platt_p) = if classes == 2 {
        let zv: Vec<f64> = val.logits.column(1).to_vec();
        let yv: Vec<bool> = val.labels.iter().map(|&l| l == 1).collect();
        let pl = fit_platt(&zv, &yv)?;
        let p1: Vec<f64> = test.logits.column(1).iter().map(|&z| pl.apply(z)).collect();
        let probs = Array2::from_shape_fn(
            (p1.len(), 2),
            |(i, k)| if k == 1 { p1[i] } else { 1.0 - p1[i] },
        );
        let s = scores(&probs, &test.labels, target, &binning, args)?;
        (Some((pl.a, pl.b)), Some(s), Some(probs))
    } else {
        (None, None, None)
    };

    // Four libraries' conventions, on the same test predictions.
    let conv = |probs: &Array2<f64>, bins: usize, edge: EdgeRule| -> Result<f64> {
        Ok(calibration_error(
            probs.view(),
            &test.labels,
            target,
            &Binning::equal_width(bins, edge),
            Reduction::Expected,
        )?)
    };
    let libraries = vec![
        LibraryRow {
            library: "scikit-learn calibration_curve",
            convention: "5 bins (a, b]; ECE from its curve",
            before: conv(&before_p, 5, EdgeRule::RightClosed)?,
            after_temperature: conv(&after_p, 5, EdgeRule::RightClosed)?,
        },
        LibraryRow {
            library: "netcal ECE",
            convention: "10 bins [a, b), last closed",
            before: conv(&before_p, 10, EdgeRule::LeftClosed)?,
            after_temperature: conv(&after_p, 10, EdgeRule::LeftClosed)?,
        },
        LibraryRow {
            library: "torchmetrics CalibrationError",
            convention: "15 bins [a, b), p = 1 in an extra bin",
            before: conv(&before_p, 15, EdgeRule::LeftClosedExtraBin)?,
            after_temperature: conv(&after_p, 15, EdgeRule::LeftClosedExtraBin)?,
        },
        LibraryRow {
            library: "MONAI CalibrationErrorMetric",
            convention: "20 bins (a, b]",
            before: conv(&before_p, 20, EdgeRule::RightClosed)?,
            after_temperature: conv(&after_p, 20, EdgeRule::RightClosed)?,
        },
    ];

    // Reliability diagrams.
    let bins_of = |probs: &Array2<f64>| -> Result<Vec<Bin>> {
        let s = confidence_sets(probs.view(), &test.labels, target)?;
        Ok(reliability(&s[0].0, &s[0].1, &binning)?)
    };
    let mut diagrams = vec![
        Diagram {
            name: "before",
            bins: bins_of(&before_p)?,
        },
        Diagram {
            name: "after temperature",
            bins: bins_of(&after_p)?,
        },
    ];
    if let Some(p) = &platt_p {
        diagrams.push(Diagram {
            name: "after Platt",
            bins: bins_of(p)?,
        });
    }
    let mine = args
        .mine
        .then(|| mine_row(&val, &test, &before, &after, args.bins));

    kit::prepare_out_dir(&args.out)?;
    let mut files = Vec::new();
    let what = if target == Target::PositiveClass {
        "positive-class probability"
    } else {
        "top-label confidence"
    };
    let colors = [(200, 40, 40), (30, 80, 200), (20, 150, 60)];
    let mut series = vec![Series::new(
        "perfect calibration",
        vec![(0.0, 0.0), (1.0, 1.0)],
        (150, 150, 150),
        true,
        0,
    )];
    for (k, (d, c)) in diagrams.iter().zip(colors).enumerate() {
        let bins: Vec<&Bin> = d.bins.iter().filter(|b| b.count > 0).collect();
        // Each bin's count beside the first diagram's points: a bin of 2
        // predictions can set the MCE and must not look like a bin of 200.
        let labels = if k == 0 {
            bins.iter().map(|b| format!(" n={}", b.count)).collect()
        } else {
            Vec::new()
        };
        let name = if k == 0 {
            format!("{} (n: predictions in the bin)", d.name)
        } else {
            d.name.to_string()
        };
        series.push(Series {
            labels,
            ..Series::new(
                &name,
                bins.iter().map(|b| (b.confidence, b.accuracy)).collect(),
                c,
                true,
                4,
            )
        });
    }
    let chart = Chart {
        title: format!("Reliability on {} ({} bins)", test.name, args.bins),
        x_label: format!("mean {what} in the bin"),
        y_label: "observed frequency".into(),
        x_range: (0.0, 1.0),
        y_range: (0.0, 1.0),
        log_x: false,
        series,
        bands: Vec::new(),
    };
    let (png, svg) = (
        args.out.join("reliability.png"),
        args.out.join("reliability.svg"),
    );
    write_chart(&chart, &png, Some(&svg), (720, 640))?;
    files.push(kit::display_path(&png));
    files.push(kit::display_path(&svg));

    let report = Report {
        source,
        seed: args.seed,
        model,
        device,
        classes,
        target,
        binning,
        validation: SplitInfo {
            name: val.name.clone(),
            predictions: val.labels.len(),
            positives_or_classes: if classes == 2 {
                val.labels.iter().filter(|&&l| l == 1).count()
            } else {
                classes
            },
        },
        test: SplitInfo {
            name: test.name.clone(),
            predictions: test.labels.len(),
            positives_or_classes: if classes == 2 {
                test.labels.iter().filter(|&&l| l == 1).count()
            } else {
                classes
            },
        },
        temperature: t,
        temperature_nll_validation: (fit.nll_before, fit.nll_after),
        platt,
        before,
        after_temperature: after,
        after_platt,
        libraries,
        diagrams,
        files,
        mine,
    };
    Ok(report)
}

fn mine_row(val: &Split, test: &Split, before: &Scores, after: &Scores, bins: usize) -> MineRow {
    let t = &crate::tasks::EXERCISE;
    if val.logits.ncols() != 2 {
        return MineRow {
            ece_before: None,
            ece_after: None,
            agrees: true,
            note: "--mine needs binary predictions".into(),
        };
    }
    let r = radlab_grade::quietly(|| {
        let zv: Vec<f64> = val.logits.column(1).to_vec();
        let yv: Vec<bool> = val.labels.iter().map(|&l| l == 1).collect();
        let zt: Vec<f64> = test.logits.column(1).to_vec();
        let yt: Vec<bool> = test.labels.iter().map(|&l| l == 1).collect();
        let p0: Vec<f64> = zt.iter().map(|&z| sigmoid(z)).collect();
        let p1 = (t.temperature_scale)(&zv, &yv, &zt, &yt);
        ((t.ece)(&p0, &yt, bins), (t.ece)(&p1, &yt, bins))
    });
    match r {
        Some((b, a)) => {
            let ok = (b - before.ece).abs() < 1e-9 && (a - after.ece).abs() < 1e-6;
            MineRow { ece_before: Some(b), ece_after: Some(a), agrees: ok, note: "your ece on sigmoid(z), and on your temperature_scale's output".into() }
        }
        None => MineRow { ece_before: None, ece_after: None, agrees: false, note: "your exercise functions panicked or are not implemented yet: run `cargo run -p lab-calibration -- grade`".into() },
    }
}
