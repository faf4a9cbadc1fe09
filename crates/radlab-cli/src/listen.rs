//! `radlab listen`: the triage node in the foreground.
//!
//! The narrative goes to stderr (one line per association, study, route,
//! retry and result); stdout carries only the alert JSON lines, so that a
//! pager or a script can read them. SIGINT or SIGTERM stops it gracefully:
//! associations in progress get a few seconds, the study being analysed is
//! finished, what is queued or incomplete stays on disk for the next start.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use radlab_labkit as kit;
use radlab_pacs::scp::ScpEvent;
use radlab_triage::deliver::Destination;
use radlab_triage::rules::Routes;
use radlab_triage::{Event, Options, Service};

/// Flags of `radlab listen`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where received instances, results and the journal are kept.
    #[arg(long, default_value = "out/listener", value_name = "DIR")]
    storage: PathBuf,
    /// Address to listen on (loopback unless you mean it).
    #[arg(long, default_value = "127.0.0.1")]
    address: IpAddr,
    /// DICOM port (0 picks a free one and prints it).
    #[arg(long, default_value_t = 11112)]
    port: u16,
    /// Our AE title.
    #[arg(long, default_value = "RADLAB")]
    ae_title: String,
    /// Accept associations only from this calling AE title (repeat for more; default: anyone).
    #[arg(long = "allow", value_name = "AET")]
    allow: Vec<String>,
    /// Accept any SOP class, not only the storage classes radlab reads.
    #[arg(long)]
    promiscuous: bool,
    /// Associations served at once (more wait in the backlog).
    #[arg(long, default_value_t = 16)]
    max_associations: usize,
    /// Seconds without a new instance after which a study is complete.
    #[arg(long, default_value_t = 2.0)]
    quiet_s: f64,
    /// Do not call a study complete early when every series has the instance count it announces.
    #[arg(long)]
    no_expected_count: bool,
    /// Routing rules (TOML, see the lab-triage chapter); default: axial chest CT, 0.5-3 mm, at least 16 slices.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Send results by C-STORE to AET@HOST:PORT.
    #[arg(long, value_name = "AET@HOST:PORT", conflicts_with = "pacs_dicomweb")]
    pacs_dimse: Option<String>,
    /// Send results by STOW-RS to this DICOMweb root.
    #[arg(long, value_name = "URL")]
    pacs_dicomweb: Option<String>,
    /// POST each alert (JSON) to this URL.
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
    /// A finding at or above this probability raises an alert.
    #[arg(long, default_value_t = 0.5)]
    alert_threshold: f64,
    /// Socket read/write timeout per association, seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout_s: f64,
    /// Stop by itself after this many studies are finished (for scripts and tests).
    #[arg(long, value_name = "N")]
    exit_after: Option<u64>,
}

fn seconds(flag: &str, v: f64) -> Result<Duration> {
    if (0.0..=86_400.0).contains(&v) {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(kit::bad_input(format!(
            "{flag} {v}: must be a number of seconds from 0 to 86400"
        )))
    }
}

fn destination(args: &Args) -> Result<Option<Destination>> {
    if let Some(d) = &args.pacs_dimse {
        let (aet, addr) = d
            .split_once('@')
            .ok_or_else(|| kit::bad_input(format!("--pacs-dimse {d:?}: expected AET@HOST:PORT")))?;
        if aet.is_empty() || aet.len() > 16 || addr.rsplit_once(':').is_none() {
            return Err(kit::bad_input(format!(
                "--pacs-dimse {d:?}: expected AET@HOST:PORT with an AE title of 1 to 16 characters"
            )));
        }
        return Ok(Some(Destination::Dimse {
            address: addr.to_string(),
            called_aet: aet.to_string(),
            calling_aet: args.ae_title.clone(),
        }));
    }
    Ok(args.pacs_dicomweb.clone().map(Destination::DicomWeb))
}

/// Run the node until a signal (or `--exit-after`).
pub fn run(args: &Args) -> Result<()> {
    kit::check_open_probability("--alert-threshold", args.alert_threshold)?;
    let quiet = seconds("--quiet-s", args.quiet_s)?;
    let timeout = seconds("--timeout-s", args.timeout_s)?;
    if args.max_associations == 0 {
        return Err(kit::bad_input(
            "--max-associations 0: must be at least 1".into(),
        ));
    }
    let routes = match &args.rules {
        Some(p) => Routes::read(p).map_err(|e| kit::bad_input(e.to_string()))?,
        None => Routes::default_chest_ct(),
    };
    let mut opts = Options::new(&args.storage);
    opts.scp.address = SocketAddr::new(args.address, args.port);
    opts.scp.ae_title = args.ae_title.clone();
    opts.scp.allowed_calling = args.allow.clone();
    opts.scp.promiscuous = args.promiscuous;
    opts.scp.max_associations = args.max_associations;
    opts.scp.timeout = timeout.max(Duration::from_millis(100));
    opts.rule.quiet = quiet;
    opts.rule.expected_count = !args.no_expected_count;
    opts.routes = routes;
    opts.destination = destination(args)?;
    opts.webhook = args.webhook.clone();
    opts.alert_threshold = args.alert_threshold;

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing a signal handler")?;
    }
    eprintln!("loading the models");
    let analyzer = radlab_triage::analyze::Nodules::load_models()?;
    let (service, events) = Service::start(opts.clone(), Box::new(analyzer))?;
    eprintln!(
        "listening on {} as {} (storage {}); results: {}; Ctrl-C stops",
        service.address(),
        opts.scp.ae_title,
        args.storage.display(),
        opts.destination
            .as_ref()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "kept in the storage folder only".into())
    );
    let mut finished = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let Ok(ev) = events.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        narrate(&ev);
        if matches!(ev, Event::Done(_) | Event::Failed { .. }) {
            finished += 1;
            if args.exit_after.is_some_and(|n| finished >= n) {
                break;
            }
        }
    }
    eprintln!("stopping");
    let s = service.stop(Duration::from_secs(5));
    while let Ok(ev) = events.try_recv() {
        narrate(&ev);
    }
    eprintln!(
        "stopped: {} associations, {} instances stored ({} duplicates), {} refused; studies done {}, failed {}, left for the next start {}",
        s.listener.associations,
        s.listener.stored,
        s.listener.duplicates,
        s.listener.refused,
        s.done,
        s.failed,
        s.left
    );
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn narrate(ev: &Event) {
    match ev {
        Event::Listener(ScpEvent::Associated {
            id,
            calling_aet,
            contexts,
        }) => {
            let accepted = contexts
                .iter()
                .filter(|c| c.transfer_syntax.is_some())
                .count();
            eprintln!(
                "association {id} from {calling_aet}: {accepted} of {} contexts accepted",
                contexts.len()
            );
        }
        Event::Listener(ScpEvent::Rejected { peer, reason }) => {
            eprintln!("association from {peer} refused: {reason}")
        }
        Event::Listener(ScpEvent::Refused {
            id,
            sop_instance,
            status,
            reason,
        }) => eprintln!(
            "association {id}: instance {sop_instance} refused with status {status:04X}: {reason}"
        ),
        Event::Listener(ScpEvent::Closed {
            id, stored, how, ..
        }) => eprintln!("association {id} ended ({how}): {stored} instances"),
        Event::Listener(_) => {}
        Event::Resumed { study, instances } => {
            eprintln!("resuming study {study}: {instances} instances on disk from an earlier run")
        }
        Event::Complete {
            study,
            reason,
            instances,
        } => eprintln!("study {study} complete ({reason}): {instances} instances"),
        Event::Routed {
            facts,
            route,
            priority,
            ..
        } => eprintln!(
            "  series {} ({} {}, {} instances) -> {route} (priority {priority})",
            facts.series, facts.modality, facts.description, facts.instances
        ),
        Event::NotRouted { facts, why, .. } => {
            let reasons: Vec<String> = why.iter().map(|(r, m)| format!("{r}: {m}")).collect();
            eprintln!(
                "  series {} not analysed: {}",
                facts.series,
                if reasons.is_empty() {
                    "no routes".to_string()
                } else {
                    reasons.join("; ")
                }
            );
        }
        Event::Retrying {
            study,
            failures,
            reason,
            wait,
        } => eprintln!(
            "study {study}: delivery attempt {failures} failed ({reason}); again in {}",
            ms(*wait)
        ),
        Event::Alert(a) => println!("{}", a.json()),
        Event::WebhookFailed { study, reason } => {
            eprintln!("study {study}: webhook failed: {reason}")
        }
        Event::Done(t) => {
            let end = t.stored.or(t.inferred).unwrap_or_default();
            eprintln!(
                "study {} done: last instance to results {}, of which completeness wait {}",
                t.study,
                ms(end.saturating_sub(t.last_received)),
                ms(t.complete.saturating_sub(t.last_received))
            );
        }
        Event::Failed { study, reason } => eprintln!("study {study} failed: {reason}"),
    }
}
