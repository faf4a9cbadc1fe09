//! lab-agreement: readers who disagree, which coefficient to quote, what
//! the reference standard does to a model's measured AUROC, and a label
//! set worth trusting.
//!
//! Topics I9 (inter-reader variability), S9 (building a reference
//! standard) and W7 (label quality). Run with no arguments: five seeded
//! readers with characters read the candidates of generated phantoms.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use lab_agreement::pipeline::{Coefficient, Report};
use radlab_labkit as kit;
use radlab_labkit::bad_input as bad;

#[derive(ClapArgs, Debug)]
struct Args {
    /// Phantoms generated (2 to 4 nodules each).
    #[arg(long, default_value_t = 16)]
    cases: usize,
    /// Spots that are not nodules, per phantom (half in lung, among the vessels).
    #[arg(long, default_value_t = 8)]
    negatives: usize,
    /// Bootstrap resamples (of subjects) per interval.
    #[arg(long, default_value_t = 1000)]
    resamples: usize,
    /// Seed of the candidates, the readers, the planted label errors and the bootstrap.
    #[arg(long, default_value_t = 20261206)]
    seed: u64,
    /// Output folder: report.json, the label set versions and the audit log.
    #[arg(long, default_value = "out/lab-agreement")]
    out: PathBuf,
    /// Print one JSON document on stdout instead of the narrated report.
    #[arg(long)]
    json: bool,
    /// Also run your exercise functions (src/exercise.rs) on the same readings and compare.
    #[arg(long)]
    mine: bool,
    #[command(flatten)]
    infer: kit::InferArgs,
}

radlab_labkit::lab_main! {
    /// Five synthetic readers read generated phantoms: every agreement
    /// coefficient with its interval and when it misleads, the prevalence
    /// paradox, outlines fused by STAPLE, the classifier's AUROC against
    /// six reference standards, and a label-QA pass that writes a
    /// hash-chained label set with an audit log. Subcommands grade your
    /// exercise file (src/exercise.rs).
    lab_agreement
}

fn run(args: Args) -> Result<()> {
    args.infer.check()?;
    if args.cases < 2 || args.cases > 200 {
        bail!(bad(format!(
            "--cases {}: choose 2 to 200 (a swapped series needs two patients)",
            args.cases
        )));
    }
    if args.negatives == 0 || args.negatives > 100 {
        bail!(bad(format!(
            "--negatives {}: choose 1 to 100",
            args.negatives
        )));
    }
    if args.resamples < 10 || args.resamples > 100_000 {
        bail!(bad(format!(
            "--resamples {}: choose 10 to 100000",
            args.resamples
        )));
    }
    let opts = lab_agreement::pipeline::Options {
        cases: args.cases,
        negatives: args.negatives,
        resamples: args.resamples,
        seed: args.seed,
        out: args.out.clone(),
    };
    let (report, data) =
        lab_agreement::pipeline::run(&opts, &mut |name| args.infer.load(name), &mut |line| {
            eprintln!("{line}")
        })?;
    let mine = args
        .mine
        .then(|| lab_agreement::pipeline::mine(&data, &report));
    kit::write_json(&args.out.join("report.json"), &report)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        narrate(&report);
    }
    if let Some(m) = mine {
        println!();
        println!("Your exercise functions on the same readings:");
        for line in &m.lines {
            println!("  {line}");
        }
        if !m.agrees {
            bail!(
                "--mine: your functions differ from the reference (see above); run `cargo run -p lab-agreement -- grade`"
            );
        }
    }
    Ok(())
}

fn ci(c: &Coefficient) -> String {
    format!("[{:.3}, {:.3}]", c.interval.0, c.interval.1)
}

fn narrate(r: &Report) {
    println!(
        "lab-agreement: {} phantoms, {} candidates ({} nodules, {} spots that are not), classifier {} on {}",
        r.cases,
        r.candidates,
        r.nodules,
        r.candidates - r.nodules,
        r.model,
        r.device
    );
    println!();
    println!(
        "The readers (sensitivity and specificity of their calls; STAPLE's estimate from the calls alone):"
    );
    println!(
        "  {:<15} {:<46} {:>6} {:>6} {:>6} {:>11} {:>11}",
        "reader", "habit", "called", "sens", "spec", "STAPLE sens", "STAPLE spec"
    );
    for x in &r.readers {
        println!(
            "  {:<15} {:<46} {:>6} {:>6.3} {:>6.3} {:>11.3} {:>11.3}",
            x.name,
            x.habit,
            x.called,
            x.sensitivity,
            x.specificity,
            x.staple_sensitivity,
            x.staple_specificity
        );
    }
    println!();
    println!(
        "Agreement on presence (95% intervals from {} bootstrap resamples of the candidates):",
        r.resamples
    );
    for c in &r.presence {
        println!(
            "  {:<44} {:>6.3} {:<17} {}",
            c.name,
            c.value,
            ci(c),
            c.caveat
        );
    }
    println!();
    println!("Cohen's kappa, reader x reader (presence):");
    print!("  {:<15}", "");
    for x in &r.readers {
        print!(" {:>8.8}", x.name);
    }
    println!();
    for (a, row) in r.pairwise_kappa.iter().enumerate() {
        print!("  {:<15}", r.readers[a].name);
        for v in row {
            print!(" {v:>8.3}");
        }
        println!();
    }
    println!();
    println!("The prevalence paradox: the same readers, the same readings, two pools:");
    println!(
        "  {:<48} {:>10} {:>8} {:>10} {:>9} {:>7} {:>6}",
        "pool", "candidates", "nodules", "prevalence", "agreement", "Fleiss", "AC1"
    );
    for p in &r.paradox {
        println!(
            "  {:<48} {:>10} {:>8} {:>10.3} {:>9.3} {:>7.3} {:>6.3}",
            p.name, p.candidates, p.nodules, p.prevalence, p.percent_agreement, p.fleiss, p.ac1
        );
    }
    if let [a, b] = &r.paradox[..] {
        println!(
            "  Raw agreement {:.3} -> {:.3}, yet Fleiss' kappa {:.3} -> {:.3}: kappa's chance term grows when one answer dominates. AC1 {:.3} -> {:.3}.",
            a.percent_agreement, b.percent_agreement, a.fleiss, b.fleiss, a.ac1, b.ac1
        );
    }
    println!();
    println!(
        "Suspicion scores on the nodules (2-5 from a reader who called it; none, missing, from one who did not):"
    );
    for c in &r.scores {
        println!(
            "  {:<52} {:>6.3} {:<17} {}",
            c.name,
            c.value,
            ci(c),
            c.caveat
        );
    }
    println!(
        "  {:<52} {:>6.3} {:<17} {}",
        r.kinds.name,
        r.kinds.value,
        ci(&r.kinds),
        r.kinds.caveat
    );
    println!("  Cohen's kappa on the scores both gave: unweighted / linear / quadratic");
    for (name, u, l, q) in &r.score_kappa {
        println!("    {name:<28} {u:>6.3} {l:>6.3} {q:>6.3}");
    }
    println!();
    println!("Outlines: mean Dice between two readers' outlines, over the nodules both called:");
    print!("  {:<15}", "");
    for x in &r.readers {
        print!(" {:>8.8}", x.name);
    }
    println!();
    for (a, row) in r.pairwise_dice.iter().enumerate() {
        print!("  {:<15}", r.readers[a].name);
        for v in row {
            print!(" {v:>8.3}");
        }
        println!();
    }
    println!(
        "Each reader's outlines against the true nodules (the nodules they called), and STAPLE's estimate of them per nodule:"
    );
    println!(
        "  {:<15} {:>12} {:>12} {:>12}",
        "reader", "Dice truth", "STAPLE sens", "STAPLE spec"
    );
    for x in &r.readers {
        println!(
            "  {:<15} {:>12.3} {:>12.3} {:>12.4}",
            x.name, x.outline_dice, x.outline_sensitivity, x.outline_specificity
        );
    }
    println!(
        "  consensus outlines vs the true nodules: majority vote Dice {:.3}, STAPLE Dice {:.3}",
        r.consensus_dice.0, r.consensus_dice.1
    );
    println!();
    println!("The same classifier, the same predictions, six reference standards:");
    println!(
        "  {:<32} {:>9} {:>12} {:>7} {:<17}",
        "reference standard", "positives", "label errors", "AUROC", "95% interval"
    );
    for s in &r.standards {
        println!(
            "  {:<32} {:>9.1} {:>12.1} {:>7.3} [{:.3}, {:.3}]",
            s.name, s.positives, s.label_errors, s.auroc, s.interval.0, s.interval.1
        );
    }
    println!(
        "  A model is measured against a reference standard, never against the truth: say which one."
    );
    println!();
    let q = &r.qa;
    println!(
        "Label QA on the delivered label set ({} records: one per nodule at least two readers outlined, plus the planted duplicate; {} errors planted):",
        q.delivered,
        q.planted.len()
    );
    for f in &q.findings {
        println!(
            "  {} {}: {}; {}",
            f.record,
            f.problem.name(),
            f.evidence,
            f.action
        );
    }
    println!(
        "  found {}/{} planted errors, {} false findings; corrected set {} records; a second pass finds {}",
        q.found,
        q.planted.len(),
        q.false_findings,
        q.corrected,
        q.second_pass_findings
    );
    println!(
        "  labels-v1.json sha256 {}..., labels-v2.json sha256 {}...; audit chain {}",
        &q.versions[0][..12],
        &q.versions[1][..12],
        if q.chain_verified {
            "verified"
        } else {
            "BROKEN"
        }
    );
    println!();
    println!("Written: {}, report.json", r.files.join(", "));
    println!("Exercises: cargo run -p lab-agreement -- grade");
}
