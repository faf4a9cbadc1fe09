//! lab-triage: a triage node between a scanner and a PACS, with the time to
//! alert measured step by step.
//!
//! Topics I10 (deploying behind a DICOM listener), W3 and W4 (the clinical
//! workflow and ingestion), A9 and S6. Run with no arguments: Orthanc (the
//! PACS) and radlab's triage node start on loopback, dcmtk's dcmsend plays
//! the scanner with the four sample studies, and the lab narrates each
//! study's timeline and the stages' P50/P95 under three completeness
//! setups: a quiet period, the expected-count shortcut, and Orthanc's own
//! routing of stable studies.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args as ClapArgs;
use lab_triage::pipeline::{MinePercentiles, Options, Report, Scenario};
use radlab_labkit as kit;

#[derive(ClapArgs, Debug)]
struct Args {
    /// How many of the sample studies the scanner sends (1 to 4).
    #[arg(long, default_value_t = 4)]
    studies: usize,
    /// The node's quiet period in the first scenario, seconds (0.1 to 120).
    #[arg(long, default_value_t = 2.0)]
    quiet_s: f64,
    /// Orthanc's StableAge in the routing scenario, seconds (1 to 120).
    #[arg(long, default_value_t = 2)]
    stable_age_s: u32,
    /// Output folder for report.json (the nodes' storage goes under work/, cleared at each run).
    #[arg(long, default_value = "out/lab-triage")]
    out: PathBuf,
    /// Print one JSON document on stdout instead of the narrated report.
    #[arg(long)]
    json: bool,
    /// Also compute the end-to-end P50 and P95 with your exercise's percentile.
    #[arg(long)]
    mine: bool,
}

radlab_labkit::lab_main! {
    /// Run a triage node between a scanner (dcmtk) and a PACS (Orthanc) on
    /// loopback: completeness by quiet period, by expected count, and by
    /// Orthanc's routing of stable studies; each study's timeline and the
    /// stages' P50/P95. Subcommands grade your exercise file (src/exercise.rs).
    lab_triage
}

fn run(args: Args) -> Result<()> {
    if !(1..=4).contains(&args.studies) {
        bail!(kit::bad_input(format!(
            "--studies {}: the sample has 4 studies; send 1 to 4",
            args.studies
        )));
    }
    if !(0.1..=120.0).contains(&args.quiet_s) {
        bail!(kit::bad_input(format!(
            "--quiet-s {}: a quiet period from 0.1 to 120 seconds",
            args.quiet_s
        )));
    }
    if !(1..=120).contains(&args.stable_age_s) {
        bail!(kit::bad_input(format!(
            "--stable-age-s {}: Orthanc's StableAge from 1 to 120 seconds",
            args.stable_age_s
        )));
    }
    let cases = radlab_eval::sample_case_dirs()?;
    let opts = Options {
        studies: cases
            .iter()
            .take(args.studies)
            .map(|c| c.join("ct"))
            .collect(),
        quiet: Duration::from_secs_f64(args.quiet_s),
        stable_age_s: args.stable_age_s,
        work: args.out.join("work"),
    };
    kit::prepare_out_dir(&args.out)?;
    let json = args.json;
    let mut say = |s: &str| {
        if !json {
            eprintln!("{s}");
        }
    };
    let mut report = lab_triage::pipeline::run(&opts, &mut say)?;
    if args.mine {
        let e2e: Vec<f64> = report.scenarios[0]
            .timelines
            .iter()
            .filter_map(|t| t.stored.map(|s| (s - t.last_received).as_secs_f64() * 1e3))
            .collect();
        let mine =
            |p| radlab_grade::quietly(|| lab_triage::exercise::percentile(&e2e, p)).flatten();
        report.mine = Some(MinePercentiles {
            mine: [mine(50.0), mine(95.0)],
            radlab: [
                radlab_triage::timeline::percentile(&e2e, 50.0),
                radlab_triage::timeline::percentile(&e2e, 95.0),
            ],
        });
    }
    kit::write_json(&args.out.join("report.json"), &report)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_report(&report, &args);
    println!(
        "report: {}",
        kit::display_path(&args.out.join("report.json"))
    );
    Ok(())
}

fn cell(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.0}")).unwrap_or_else(|| "-".into())
}

fn print_scenario(s: &Scenario) {
    println!();
    println!(
        "== {} (quiet period {} s, expected-count shortcut {}) ==",
        s.name,
        s.quiet_s,
        if s.expected_count { "on" } else { "off" }
    );
    println!(
        "listener: {} instances stored ({} duplicates, {} refused); studies finished: {}; results series in Orthanc: {}; alerts: {} ({} received by the webhook)",
        s.instances_stored,
        s.duplicates,
        s.refused,
        s.timelines.len(),
        s.results_in_pacs,
        s.alerts,
        s.webhook_received
    );
    println!(
        "{:<40} {:>9} {:>9}   per study (ms)",
        "stage", "P50 ms", "P95 ms"
    );
    for st in &s.stages {
        let each: Vec<String> = st.ms.iter().map(|v| format!("{v:.0}")).collect();
        println!(
            "{:<40} {:>9} {:>9}   {}",
            st.stage,
            cell(st.p50_ms),
            cell(st.p95_ms),
            each.join(" ")
        );
    }
    for t in &s.timelines {
        println!(
            "  study ...{}: complete because {}",
            &t.study[t.study.len().saturating_sub(8)..],
            t.complete_because
                .map(|r| r.to_string())
                .unwrap_or_default()
        );
    }
}

fn stage(s: &Scenario, name: &str) -> Option<f64> {
    s.stages
        .iter()
        .find(|x| x.stage == name)
        .and_then(|x| x.p50_ms)
}

fn print_report(r: &Report, args: &Args) {
    println!(
        "sent: {} sample studies, {} instances",
        r.studies.len(),
        r.instances.iter().sum::<usize>()
    );
    for s in &r.scenarios {
        print_scenario(s);
    }
    println!(
        "P50 and P95 are nearest-rank over {} studies: with so few, P95 is the slowest study.",
        r.scenarios[0].timelines.len()
    );
    let f = &r.forwarded;
    println!();
    println!(
        "== Orthanc routes (StableAge {} s, its Lua OnStableStudy hook forwards the study) ==",
        f.stable_age_s
    );
    println!(
        "last instance into Orthanc -> first at the node: {:.0} ms (the StableAge wait and the forwarding job)",
        f.pacs_wait_ms
    );
    println!(
        "first instance at the node -> results back in Orthanc: {:.0} ms",
        f.node_ms
    );
    println!(
        "last instance into Orthanc -> SR found by QIDO: {:.0} ms; with Orthanc's default StableAge of 60 s: about {:.0} ms",
        f.last_instance_to_sr_ms, f.projected_with_default_stable_age_ms
    );
    if let (Some(wait), Some(work)) = (
        stage(&r.scenarios[0], "completeness wait"),
        stage(&r.scenarios[0], "same, completeness wait excluded"),
    ) {
        let e = r
            .scenarios
            .get(1)
            .and_then(|s| stage(s, "completeness wait"));
        println!();
        println!(
            "the lesson: with a {} s quiet period the completeness wait (P50 {wait:.0} ms) is {:.0} % of last-instance-to-results; the work itself is {work:.0} ms. A series that announces its count cuts the wait to {} ms.",
            args.quiet_s,
            100.0 * wait / (wait + work),
            cell(e)
        );
    }
    if let Some(m) = &r.mine {
        println!(
            "your percentile of end to end: P50 {} P95 {} (radlab: {} {})",
            cell(m.mine[0]),
            cell(m.mine[1]),
            cell(m.radlab[0]),
            cell(m.radlab[1])
        );
    }
    println!(
        "Orthanc processes {:?} {}",
        r.orthanc_pids,
        if r.orthanc_stopped {
            "stopped"
        } else {
            "STILL RUNNING"
        }
    );
}
