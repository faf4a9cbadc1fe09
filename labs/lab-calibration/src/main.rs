//! lab-calibration: is a predicted 0.9 right nine times in ten, and what
//! does it take to make it so?
//!
//! Topics I4 (calibration, Platt and temperature scaling) and S10 (low
//! prevalence and heterogeneous scanners at screening scale). Run with no
//! arguments for the bundled nodule classifier on a validation split from
//! the vendors it was trained on and a test split from a vendor it never saw.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args as ClapArgs;
use lab_calibration::pipeline::{Report, Scores};
use radlab_labkit as kit;
use radlab_metrics::calibration::Target;

#[derive(ClapArgs, Debug)]
struct Args {
    /// Your logits: CSV (one row per prediction; one column = a binary logit, k columns = k-class logits) or .npy (float, [n] or [n, k]). Needs --labels.
    #[arg(long, requires = "labels")]
    logits: Option<PathBuf>,
    /// The true labels of --logits: CSV/text (one integer per line) or .npy (integers). Needs --logits.
    #[arg(long, requires = "logits")]
    labels: Option<PathBuf>,
    /// With --logits: the fraction of rows (chosen with --seed) used to fit the scalings; the rest is reported.
    #[arg(long, default_value_t = 0.5)]
    fit_fraction: f64,
    /// Number of equal-width bins of radlab's ECE (the library columns use their own defaults).
    #[arg(long, default_value_t = 15)]
    bins: usize,
    /// Phantom cases per split (validation: trained vendors; test: an unseen vendor).
    #[arg(long, default_value_t = 12)]
    cases: usize,
    /// Bootstrap replicates for the ECE intervals.
    #[arg(long, default_value_t = 500)]
    bootstrap: usize,
    /// Seed of the patch sampling, the split of your data and the bootstrap.
    #[arg(long, default_value_t = 20261130)]
    seed: u64,
    /// Output folder for the diagrams and report.json.
    #[arg(long, default_value = "out/lab-calibration")]
    out: PathBuf,
    /// Print one JSON document on stdout instead of the narrated report.
    #[arg(long)]
    json: bool,
    /// Also run your exercise functions (src/exercise.rs) and compare.
    #[arg(long)]
    mine: bool,
    #[command(flatten)]
    infer: kit::InferArgs,
}

radlab_labkit::lab_main! {
    /// Measure the calibration of the bundled classifier (or your own
    /// predictions) before and after temperature and Platt scaling fitted on a
    /// validation split, reproduce four libraries' ECE conventions side by side,
    /// and draw reliability diagrams. Subcommands grade your exercise file
    /// (src/exercise.rs).
    lab_calibration
}

use radlab_labkit::bad_input as bad;

fn run(args: Args) -> Result<()> {
    args.infer.check()?;
    if args.bins == 0 || args.bins > 1000 {
        bail!(bad(format!("--bins {}: choose 1 to 1000", args.bins)));
    }
    if args.bootstrap == 0 {
        bail!(bad("--bootstrap 0: at least one replicate is needed".into()));
    }
    if args.cases == 0 {
        bail!(bad(
            "--cases 0: at least one phantom per split is needed".into()
        ));
    }
    let opts = lab_calibration::pipeline::Options {
        logits: args.logits.clone(),
        labels: args.labels.clone(),
        fit_fraction: args.fit_fraction,
        bins: args.bins,
        cases: args.cases,
        bootstrap: args.bootstrap,
        seed: args.seed,
        out: args.out.clone(),
        mine: args.mine,
    };
    let report =
        lab_calibration::pipeline::run(&opts, &mut |name| args.infer.load(name), &mut |line| {
            eprintln!("{line}")
        })?;
    kit::write_json(&args.out.join("report.json"), &report).context("report.json")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        narrate(&report);
    }
    if report.mine.as_ref().is_some_and(|m| !m.agrees) {
        bail!(
            "--mine: your ECE or temperature scaling differs from the reference (see above); run `cargo run -p lab-calibration -- grade`"
        );
    }
    Ok(())
}

fn narrate(r: &Report) {
    println!("lab-calibration: {}", r.source);
    if let (Some(m), Some(d)) = (&r.model, &r.device) {
        println!("model {m} on {d}");
    }
    println!(
        "fit on   {}: {} predictions",
        r.validation.name, r.validation.predictions
    );
    println!(
        "report on {}: {} predictions",
        r.test.name, r.test.predictions
    );
    println!(
        "binning: {} equal-width bins [a, b), p = 1.0 in the last; {}",
        r.binning.bins,
        if r.target == Target::PositiveClass {
            "probability of class 1 against the label (binary)"
        } else {
            "top-label confidence against 'argmax was right'"
        }
    );
    println!();
    println!(
        "Temperature fitted on the validation logits: T = {:.4} (validation NLL {:.4} -> {:.4})",
        r.temperature, r.temperature_nll_validation.0, r.temperature_nll_validation.1
    );
    if r.temperature < 1.0 {
        println!(
            "  T < 1: the model is under-confident; dividing its logits by T sharpens the probabilities."
        );
    } else {
        println!(
            "  T > 1: the model is over-confident; dividing its logits by T softens the probabilities."
        );
    }
    if let Some((a, b)) = r.platt {
        println!("Platt scaling fitted on the validation logits: p = sigmoid({a:.4} z + {b:.4})");
    }
    println!();
    println!("On the test split:");
    println!(
        "  {:<18} {:>8} {:>17} {:>7} {:>7} {:>7} {:>8} {:>7} {:>9}",
        "", "ECE", "95% interval", "MCE", "ACE", "Brier", "sklearn", "NLL", "accuracy"
    );
    let row = |name: &str, s: &Scores| {
        println!(
            "  {:<18} {:>8.4} {:>17} {:>7.4} {:>7.4} {:>7.4} {:>8} {:>7.4} {:>9.4}",
            name,
            s.ece,
            format!("[{:.4}, {:.4}]", s.ece_ci.0, s.ece_ci.1),
            s.mce,
            s.ace,
            s.brier,
            s.brier_positive
                .map_or_else(|| "-".to_string(), |b| format!("{b:.4}")),
            s.nll,
            s.accuracy
        );
    };
    row("before", &r.before);
    row("temperature", &r.after_temperature);
    if let Some(p) = &r.after_platt {
        row("Platt", p);
    }
    println!("  (ACE: equal-mass bins, classwise, unweighted mean.");
    println!(
        "   Brier: summed over the classes, mean of sum_k (p_k - y_k)^2; 'sklearn' is scikit-learn's brier_score_loss, (p_1 - y)^2 only, half of it on two classes."
    );
    println!(
        "   Temperature keeps the accuracy by construction (dividing by T > 0 keeps the argmax); Platt does not: its bias moves the 0.5 threshold.)"
    );
    println!();
    println!("The same test predictions, four libraries' ECE conventions:");
    println!(
        "  {:<32} {:<40} {:>8} {:>12}",
        "library", "convention", "before", "temperature"
    );
    for l in &r.libraries {
        println!(
            "  {:<32} {:<40} {:>8.4} {:>12.4}",
            l.library, l.convention, l.before, l.after_temperature
        );
    }
    if let Some(m) = &r.mine {
        println!();
        match (m.ece_before, m.ece_after) {
            (Some(b), Some(a)) => println!(
                "Your ECE before {b:.6} (reference {:.6}), after your temperature scaling {a:.6} (reference {:.6}): {}",
                r.before.ece,
                r.after_temperature.ece,
                if m.agrees { "agrees" } else { "DIFFERS" }
            ),
            _ => println!("Yours: {}", m.note),
        }
    }
    println!();
    println!("Written: {}", r.files.join(", "));
    println!("Exercises: cargo run -p lab-calibration -- grade");
}
