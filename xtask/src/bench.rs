//! `cargo xtask bench`: radlab and its Python peers on the same data, in the
//! same run, alternating, with every output checked for equality before its
//! time is believed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::provision;

/// Options from the command line.
pub struct Options {
    /// Tiny sizes, one round: proves the harness and the equality checks.
    pub check: bool,
    /// Also time MONAI (needs torch; uses target/models-venv).
    pub with_monai: bool,
    /// Alternating rounds.
    pub rounds: usize,
    /// Timed repetitions inside each process.
    pub runs: usize,
    /// Also time the dispatched rows on every supported instruction set.
    pub paths: bool,
    /// Only the rows whose radlab workload is named here (empty: every
    /// row); results then go to target/bench-only, leaving bench/ alone.
    pub only: Vec<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug)]
struct RunResult {
    times_s: Vec<f64>,
    peak_rss_mb: f64,
    check: BTreeMap<String, f64>,
    /// radlab's instruction-set path (peers print none).
    #[serde(default)]
    isa: Option<String>,
}

/// How a row is judged.
#[derive(Clone, Copy, Debug, Serialize)]
enum Goal {
    /// radlab's median must be at most this many seconds.
    Seconds(f64),
    /// radlab's total must be at most this multiple of its raw ONNX Runtime forwards.
    OverheadRatio(f64),
}

/// Bytes a row moves, from radlab's check values and the CT series' size.
type BytesMoved = fn(&BTreeMap<String, f64>, f64) -> f64;

struct Row {
    name: &'static str,
    /// The radlab workload, or None when radlab's part is not built yet.
    radlab: Option<&'static str>,
    /// (label, peer workload, needs MONAI).
    peers: Vec<(&'static str, &'static str, bool)>,
    goal: Goal,
    /// Relative tolerance of the equality check.
    tolerance: f64,
    /// Time the whole process from outside (start-up and imports included).
    whole_process: bool,
    /// Check keys that are measurements, not results.
    not_compared: &'static [&'static str],
    /// Bytes the row must move through memory at least (read + written),
    /// from radlab's check values, for rows bound by memory bandwidth.
    bytes: Option<BytesMoved>,
    /// Whether radlab's hot loop is dispatched by instruction set.
    dispatched: bool,
}

/// The rows `opts.only` selects.
fn selected_rows(opts: &Options) -> Vec<Row> {
    rows()
        .into_iter()
        .filter(|r| {
            opts.only.is_empty() || r.radlab.is_some_and(|w| opts.only.iter().any(|o| o == w))
        })
        .collect()
}

fn rows() -> Vec<Row> {
    let row = |name, radlab, peers, goal, tolerance| Row {
        name,
        radlab,
        peers,
        goal,
        tolerance,
        whole_process: false,
        not_compared: &[],
        bytes: None,
        dispatched: false,
    };
    vec![
        row(
            // Goal: >= 10x highdicom (issue 20), judged with the ratio.
            "SEG + TID 1500 SR of 3 nodules on the CT series",
            Some("results"),
            vec![("highdicom", "results_highdicom", false)],
            // highdicom took 0.74-1.0 s on the development machine.
            Goal::Seconds(0.075),
            0.0,
        ),
        Row {
            // The files read (int16) and the f32 volume written.
            bytes: Some(|c, ct_bytes| ct_bytes + 4.0 * c.get("voxels").copied().unwrap_or(0.0)),
            dispatched: true,
            ..row(
                "CT series -> f32 HU volume (uncompressed)",
                Some("load"),
                vec![
                    ("pydicom + numpy", "load", false),
                    ("SimpleITK", "load_sitk", false),
                ],
                Goal::Seconds(0.150),
                0.0,
            )
        },
        row(
            "same, RLE Lossless slices",
            Some("rle"),
            vec![("pydicom + pylibjpeg-rle", "rle", false)],
            Goal::Seconds(0.040),
            0.0,
        ),
        row(
            "header-only scan and sort",
            Some("scan"),
            vec![("pydicom", "scan", false)],
            Goal::Seconds(0.030),
            0.0,
        ),
        Row {
            // f32 read (twice the int16 pixel bytes) + u8 written (half of them).
            bytes: Some(|_, ct_bytes| 2.5 * ct_bytes),
            dispatched: true,
            ..row(
                "window f32 HU -> u8 (lung), into a reused buffer",
                Some("window"),
                vec![("numpy, preallocated buffers", "window", false)],
                Goal::Seconds(0.040),
                1e-6,
            )
        },
        Row {
            dispatched: true,
            ..row(
                "resample to 1 mm isotropic, trilinear",
                Some("resample"),
                vec![("SimpleITK", "resample", false)],
                Goal::Seconds(0.6),
                1e-5,
            )
        },
        Row {
            // Two masks of one byte per voxel, read once.
            bytes: Some(|c, _| 2.0 * c.get("voxels").copied().unwrap_or(0.0)),
            dispatched: true,
            ..row(
                "Dice + IoU, two masks",
                Some("dice"),
                vec![("numpy", "dice", false)],
                Goal::Seconds(0.015),
                1e-12,
            )
        },
        Row {
            // The surface extraction is dispatched; the nearest-neighbour search is not.
            dispatched: true,
            ..row(
                "HD95 in mm",
                Some("hd95"),
                vec![
                    ("scipy KD-tree", "hd95", false),
                    ("MONAI", "hd95_monai", true),
                ],
                Goal::Seconds(0.2),
                1e-6,
            )
        },
        row(
            "FROC + CPM, 1000 scans x 10 candidates",
            Some("froc"),
            vec![
                ("numpy, sorted cumulative counts", "froc", false),
                ("MONAI compute_froc_curve_data + score", "froc_monai", true),
            ],
            Goal::Seconds(0.005),
            1e-12,
        ),
        row(
            // Issue 22: >= 20x the peer, judged with the ratio.
            "Fleiss' kappa, 10k subjects x 5 raters",
            Some("fleiss"),
            vec![(
                "statsmodels aggregate_raters + fleiss_kappa",
                "fleiss",
                false,
            )],
            Goal::Seconds(0.002),
            1e-9,
        ),
        row(
            // Issue 22: >= 20x the peer, judged with the ratio.
            "Krippendorff's alpha (nominal, 5% missing), 5 raters x 10k units",
            Some("alpha"),
            vec![("krippendorff package", "alpha", false)],
            Goal::Seconds(0.005),
            1e-9,
        ),
        row(
            "ECE, 1M predictions, 15 bins",
            Some("ece"),
            vec![
                ("numpy bincount", "ece", false),
                ("torchmetrics", "ece_torchmetrics", true),
            ],
            Goal::Seconds(0.005),
            1e-9,
        ),
        Row {
            dispatched: true,
            ..row(
                "temperature scaling fit, 100k x 14 logits",
                Some("temperature"),
                vec![
                    ("scipy bounded scalar", "temperature", false),
                    ("torch LBFGS", "temperature_torch", true),
                ],
                Goal::Seconds(0.030),
                1e-4,
            )
        },
        Row {
            not_compared: &["overhead_ratio", "forwards_s"],
            ..row(
                "sliding window (segmenter)",
                Some("sliding"),
                vec![("MONAI + onnxruntime", "sliding", true)],
                Goal::OverheadRatio(1.05),
                1e-5,
            )
        },
        Row {
            not_compared: &["overhead_ratio", "with_overlay_ratio", "forwards_s"],
            ..row(
                "Grad-CAM + upsample + normalise (+ overlay), 64 patches",
                Some("gradcam"),
                vec![("MONAI GradCAM (torch, no overlay)", "gradcam_monai", true)],
                // Issue 20: forward + maps at most 1.1x the classifier's own
                // forward (with_overlay_ratio adds the 64 overlays).
                Goal::OverheadRatio(1.1),
                1e-4,
            )
        },
        row(
            // Issue 21: throughput >= dcmtk storescp and >= 5x pynetdicom's,
            // the same sender (radlab-bench send, 4 associations) for all.
            "C-STORE receive of the CT series, 4 associations, fsync per instance",
            Some("scp"),
            vec![
                ("dcmtk storescp (no fsync)", "scp_dcmtk", false),
                ("pynetdicom storescp", "scp_pynetdicom", false),
            ],
            Goal::Seconds(1.0),
            0.0,
        ),
        Row {
            whole_process: true,
            dispatched: true,
            ..row(
                "whole process: load + window + PNG",
                Some("process"),
                vec![("python script", "process", false)],
                Goal::Seconds(0.3),
                0.0,
            )
        },
    ]
}

fn run_json(cmd: &mut Command) -> Result<(RunResult, f64)> {
    let start = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    let wall = start.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .with_context(|| format!("{cmd:?} printed no JSON"))?;
    Ok((serde_json::from_str(line)?, wall))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        f64::NAN
    } else {
        s[s.len() / 2]
    }
}

#[derive(Serialize)]
struct PeerResult {
    peer: String,
    median_s: f64,
    min_s: f64,
    max_s: f64,
    peak_rss_mb: f64,
    ratio_peer_over_radlab: f64,
    equal: bool,
    differences: Vec<String>,
    check: BTreeMap<String, f64>,
}

#[derive(Serialize)]
struct RowResult {
    workload: String,
    built: bool,
    radlab_median_s: Option<f64>,
    radlab_min_s: Option<f64>,
    radlab_max_s: Option<f64>,
    radlab_peak_rss_mb: Option<f64>,
    radlab_check: BTreeMap<String, f64>,
    peers: Vec<PeerResult>,
    goal: Goal,
    /// "pass", "FAIL", "not built", "wrong answer" or "check only".
    verdict: String,
    fraction_of_memory_bandwidth: Option<f64>,
    /// Memory-bandwidth time / radlab's median: 1.0 is the physical limit.
    bandwidth_time_s: Option<f64>,
    /// The instruction-set path of radlab's hot loop, or "baseline build"
    /// for rows whose code is not dispatched.
    path: String,
    /// The best peer's median over radlab's.
    best_peer_ratio: Option<f64>,
}

/// Run the benchmark.
pub fn bench(root: &Path, opts: &Options) -> Result<()> {
    provision::run(crate::cargo().current_dir(root).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "radlab-bench",
    ]))?;
    let exe = crate::provision::target_dir(root).join("release/radlab-bench");
    let data = crate::provision::target_dir(root)
        .join("bench-data")
        .join(if opts.check { "tiny" } else { "full" });
    let mut generate = Command::new(&exe);
    generate.args(["gen", "--data"]).arg(&data);
    if opts.check {
        generate.arg("--tiny");
    }
    provision::run(&mut generate)?;
    let py = provision::venv(
        root,
        "bench-venv",
        &root.join("tools/bench/requirements.txt"),
    )?;
    let peers_py = root.join("tools/bench/peers.py");
    provision::run(Command::new(&py).arg(&peers_py).arg("gen-rle").arg(&data))?;
    provision::onnx_runtime(root)?;
    let monai_py = if opts.with_monai {
        Some(provision::venv(
            root,
            "models-venv",
            &root.join("tools/models/requirements.txt"),
        )?)
    } else {
        None
    };
    let (rounds, runs) = if opts.check {
        (1, 1)
    } else {
        (opts.rounds.max(1), opts.runs.max(1))
    };

    let base_out = Command::new(&exe)
        .args(["baseline", "--data"])
        .arg(&data)
        .output()?;
    let base: serde_json::Value = serde_json::from_slice(&base_out.stdout).unwrap_or_default();
    let memcpy_gbps = base["memcpy_gbps"].as_f64().unwrap_or(f64::NAN);
    let memory_read_gbps = base["memory_read_gbps"].as_f64().unwrap_or(f64::NAN);
    // The faster of copying and reading on every core: the bound a
    // bandwidth-bound row is held to.
    let bandwidth_gbps = memcpy_gbps.max(memory_read_gbps);
    let read_gbps = base["file_read_gbps"].as_f64().unwrap_or(f64::NAN);
    let ct_bytes = base["ct_bytes"].as_f64().unwrap_or(0.0);
    let machine = Machine {
        cpu: base["cpu_model"].as_str().unwrap_or("unknown").to_string(),
        isa: base["isa"].as_str().unwrap_or("?").to_string(),
        isa_features: base["isa_features"].as_str().unwrap_or("?").to_string(),
        memcpy_gbps,
        memory_read_gbps,
        read_gbps,
    };
    eprintln!(
        "machine: {}; hot loops on {} ({}); memory copy {memcpy_gbps:.1} GB/s (read + write), memory read {memory_read_gbps:.1} GB/s (all cores), warm file read {read_gbps:.1} GB/s; {rounds} round(s) x {runs} run(s)",
        machine.cpu, machine.isa, machine.isa_features
    );

    let mut results = Vec::new();
    for row in selected_rows(opts) {
        let Some(workload) = row.radlab else {
            eprintln!("{}: not built", row.name);
            results.push(RowResult {
                workload: row.name.into(),
                built: false,
                radlab_median_s: None,
                radlab_min_s: None,
                radlab_max_s: None,
                radlab_peak_rss_mb: None,
                radlab_check: BTreeMap::new(),
                peers: vec![],
                goal: row.goal,
                verdict: "not built".into(),
                fraction_of_memory_bandwidth: None,
                bandwidth_time_s: None,
                path: String::new(),
                best_peer_ratio: None,
            });
            continue;
        };
        eprintln!("{} ...", row.name);
        let per_call = if row.whole_process { 1 } else { runs };
        let calls = if row.whole_process {
            rounds * runs
        } else {
            rounds
        };
        let mut radlab_times = Vec::new();
        let mut radlab_last: Option<RunResult> = None;
        let mut peer_times: Vec<Vec<f64>> = vec![Vec::new(); row.peers.len()];
        let mut peer_last: Vec<Option<RunResult>> = vec![None; row.peers.len()];
        for _ in 0..calls {
            for (k, (_, peer_workload, needs_monai)) in row.peers.iter().enumerate() {
                let python = match (needs_monai, &monai_py) {
                    (true, Some(p)) => p,
                    (true, None) => continue,
                    (false, _) => &py,
                };
                let (r, wall) = run_json(
                    Command::new(python)
                        .arg(&peers_py)
                        .args(["run", peer_workload])
                        .arg(&data)
                        .arg(per_call.to_string())
                        // The receive rows' common sender.
                        .env("RADLAB_BENCH_EXE", &exe),
                )?;
                if row.whole_process {
                    peer_times[k].push(wall);
                } else {
                    peer_times[k].extend(&r.times_s);
                }
                peer_last[k] = Some(r);
            }
            let (r, wall) = run_json(
                Command::new(&exe)
                    .args(["run", workload, "--data"])
                    .arg(&data)
                    .args(["--runs", &per_call.to_string()]),
            )?;
            if row.whole_process {
                radlab_times.push(wall);
            } else {
                radlab_times.extend(&r.times_s);
            }
            radlab_last = Some(r);
        }
        let radlab = radlab_last.expect("at least one call");
        let radlab_median = median(&radlab_times);
        let mut peers = Vec::new();
        let mut all_equal = true;
        for (k, (label, _, _)) in row.peers.iter().enumerate() {
            let Some(p) = &peer_last[k] else {
                continue;
            };
            // Every value the peer reports must match; a peer may report a
            // subset (MONAI's HD95 call gives no Hausdorff), never nothing.
            let mut differences = Vec::new();
            let mut compared = 0;
            for (key, &a) in &radlab.check {
                if row.not_compared.contains(&key.as_str()) {
                    continue;
                }
                match p.check.get(key) {
                    Some(&b) if (a - b).abs() <= row.tolerance * b.abs().max(1.0) => compared += 1,
                    Some(&b) => differences.push(format!("{key}: radlab {a} vs {b}")),
                    None => {}
                }
            }
            for key in p.check.keys() {
                if !radlab.check.contains_key(key) && !row.not_compared.contains(&key.as_str()) {
                    differences.push(format!("{key}: radlab did not report it"));
                }
            }
            if compared == 0 && differences.is_empty() {
                differences.push("no value in common to compare".into());
            }
            all_equal &= differences.is_empty();
            let pm = median(&peer_times[k]);
            peers.push(PeerResult {
                peer: label.to_string(),
                median_s: pm,
                min_s: peer_times[k].iter().copied().fold(f64::INFINITY, f64::min),
                max_s: peer_times[k].iter().copied().fold(0.0, f64::max),
                peak_rss_mb: p.peak_rss_mb,
                ratio_peer_over_radlab: pm / radlab_median,
                equal: differences.is_empty(),
                differences,
                check: p.check.clone(),
            });
        }
        let met = match row.goal {
            Goal::Seconds(s) => radlab_median <= s,
            Goal::OverheadRatio(r) => radlab.check.get("overhead_ratio").is_some_and(|&x| x <= r),
        };
        let verdict = if !all_equal {
            "wrong answer"
        } else if opts.check {
            "check only"
        } else if met {
            "pass"
        } else {
            "FAIL"
        };
        let bandwidth_time = row
            .bytes
            .map(|bytes| bytes(&radlab.check, ct_bytes) / 1e9 / bandwidth_gbps);
        let fraction = bandwidth_time.map(|t| t / radlab_median);
        let path = if row.dispatched {
            radlab.isa.clone().unwrap_or_else(|| "?".into())
        } else {
            "baseline build".into()
        };
        let best_peer_ratio = peers
            .iter()
            .map(|p| p.ratio_peer_over_radlab)
            .filter(|r| r.is_finite())
            .reduce(f64::min);
        results.push(RowResult {
            workload: row.name.into(),
            built: true,
            radlab_median_s: Some(radlab_median),
            radlab_min_s: Some(radlab_times.iter().copied().fold(f64::INFINITY, f64::min)),
            radlab_max_s: Some(radlab_times.iter().copied().fold(0.0, f64::max)),
            radlab_peak_rss_mb: Some(radlab.peak_rss_mb),
            radlab_check: radlab.check.clone(),
            peers,
            goal: row.goal,
            verdict: verdict.into(),
            fraction_of_memory_bandwidth: fraction,
            bandwidth_time_s: bandwidth_time,
            path,
            best_peer_ratio,
        });
    }

    let supported: Vec<String> = base["isa_supported"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut path_rows = Vec::new();
    if opts.paths {
        for (row, result) in selected_rows(opts).iter().zip(&results) {
            let Some(workload) = row.radlab.filter(|_| row.dispatched && !row.whole_process) else {
                continue;
            };
            eprintln!("{} on each instruction set ...", row.name);
            let mut per_isa = Vec::new();
            for isa in &supported {
                let mut times = Vec::new();
                let mut same = true;
                for _ in 0..rounds {
                    let (r, _) = run_json(
                        Command::new(&exe)
                            .args(["run", workload, "--data"])
                            .arg(&data)
                            .args(["--runs", &runs.to_string()])
                            .env("RADLAB_SIMD", isa),
                    )?;
                    times.extend(&r.times_s);
                    // Every path must compute the default path's values exactly.
                    same &= r.check.iter().all(|(k, v)| {
                        row.not_compared.contains(&k.as_str())
                            || result
                                .radlab_check
                                .get(k)
                                .is_some_and(|w| w.to_bits() == v.to_bits())
                    });
                    same &= r.isa.as_deref() == Some(isa.as_str());
                }
                per_isa.push(PathResult {
                    isa: isa.clone(),
                    median_s: median(&times),
                    min_s: times.iter().copied().fold(f64::INFINITY, f64::min),
                    same_values: same,
                });
            }
            path_rows.push((row.name.to_string(), per_isa));
        }
    }
    let table = markdown(&results, &machine, opts, &path_rows);
    println!("{table}");
    let out_dir = if opts.check {
        crate::provision::target_dir(root).join("bench-check")
    } else if !opts.only.is_empty() {
        crate::provision::target_dir(root).join("bench-only")
    } else {
        root.join("bench")
    };
    std::fs::create_dir_all(&out_dir)?;
    let json = serde_json::json!({
        "machine": {"cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                    "cpu_model": machine.cpu, "isa": machine.isa, "isa_features": machine.isa_features,
                    "isa_supported": base["isa_supported"],
                    "memcpy_gbps": memcpy_gbps, "memory_read_gbps": memory_read_gbps,
                    "memcpy_one_core_gbps": base["memcpy_one_core_gbps"],
                    "file_read_gbps": read_gbps},
        "rounds": rounds, "runs_per_process": runs, "tiny": opts.check, "with_monai": opts.with_monai,
        "rows": results,
        "paths": path_rows.iter().map(|(w, p)| serde_json::json!({"workload": w, "paths": p})).collect::<Vec<_>>(),
    });
    write(
        &out_dir.join("results.json"),
        &(serde_json::to_string_pretty(&json)? + "\n"),
    )?;
    write(&out_dir.join("results.md"), &table)?;
    eprintln!("wrote {}", out_dir.join("results.md").display());
    let wrong: Vec<&str> = results
        .iter()
        .filter(|r| r.verdict == "wrong answer")
        .map(|r| r.workload.as_str())
        .collect();
    if !wrong.is_empty() {
        bail!("radlab and its peers disagree on: {}", wrong.join("; "));
    }
    let differing: Vec<String> = path_rows
        .iter()
        .flat_map(|(w, p)| {
            p.iter()
                .filter(|r| !r.same_values)
                .map(move |r| format!("{w} on {}", r.isa))
        })
        .collect();
    if !differing.is_empty() {
        bail!(
            "instruction-set paths compute different values: {}",
            differing.join("; ")
        );
    }
    Ok(())
}

/// One dispatched row timed on one instruction set.
#[derive(Serialize)]
struct PathResult {
    isa: String,
    median_s: f64,
    min_s: f64,
    /// The check values equal the default path's, bit for bit.
    same_values: bool,
}

/// The machine a run measured, as the report names it.
struct Machine {
    cpu: String,
    isa: String,
    isa_features: String,
    memcpy_gbps: f64,
    memory_read_gbps: f64,
    read_gbps: f64,
}

fn write(path: &PathBuf, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn markdown(
    results: &[RowResult],
    m: &Machine,
    opts: &Options,
    paths: &[(String, Vec<PathResult>)],
) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "radlab vs Python peers ({}; {}, {} cores; radlab's dispatched loops on {} = {}; memory copy {:.1} GB/s, memory read {:.1} GB/s on all cores, warm file read {:.1} GB/s)\n\n",
        if opts.check { "tiny sizes, harness check only" } else { "full sizes" },
        m.cpu,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        m.isa,
        m.isa_features,
        m.memcpy_gbps,
        m.memory_read_gbps,
        m.read_gbps,
    ));
    s.push_str("| workload | peer | peer median | radlab median (min-max) | peer / radlab | radlab path | radlab peak MB | goal | result |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for r in results {
        let goal = match r.goal {
            Goal::Seconds(x) => format!("<= {:.0} ms", x * 1e3),
            Goal::OverheadRatio(x) => format!("<= {x}x forwards"),
        };
        if !r.built {
            s.push_str(&format!(
                "| {} | | | not built | | | | {goal} | not built |\n",
                r.workload
            ));
            continue;
        }
        let radlab = format!(
            "{:.1} ms ({:.1}-{:.1})",
            r.radlab_median_s.unwrap_or(f64::NAN) * 1e3,
            r.radlab_min_s.unwrap_or(f64::NAN) * 1e3,
            r.radlab_max_s.unwrap_or(f64::NAN) * 1e3
        );
        let mut extra = String::new();
        if let (Some(f), Some(t)) = (r.fraction_of_memory_bandwidth, r.bandwidth_time_s) {
            extra.push_str(&format!(
                "; {:.0}% of memory bandwidth ({:.2}x the {:.1} ms its bytes take)",
                f * 100.0,
                1.0 / f,
                t * 1e3
            ));
        }
        if let Some(b) = r.best_peer_ratio {
            extra.push_str(&format!(
                "; {b:.1}x the best peer{}",
                if b >= 5.0 { "" } else { " (goal 5x)" }
            ));
        }
        if let Some(x) = r.radlab_check.get("overhead_ratio") {
            extra.push_str(&format!("; total = {x:.3}x forwards"));
        }
        if let Some(x) = r.radlab_check.get("with_overlay_ratio") {
            extra.push_str(&format!(" ({x:.3}x with the overlays)"));
        }
        let verdict = format!("{}{extra}", r.verdict);
        let peak = r.radlab_peak_rss_mb.unwrap_or(0.0);
        if r.peers.is_empty() {
            s.push_str(&format!(
                "| {} | (peer not run{}) | | {radlab} | | {} | {peak:.0} | {goal} | {verdict} |\n",
                r.workload,
                if r.workload.starts_with("sliding") {
                    ": add --with-monai"
                } else {
                    ""
                },
                r.path
            ));
        }
        for p in &r.peers {
            s.push_str(&format!(
                "| {} | {} | {:.1} ms | {radlab} | {:.2} | {} | {peak:.0} (peer {:.0}) | {goal} | {verdict}{} |\n",
                r.workload,
                p.peer,
                p.median_s * 1e3,
                p.ratio_peer_over_radlab,
                r.path,
                p.peak_rss_mb,
                if p.equal { "" } else { "; DIFFERS" }
            ));
        }
    }
    if let Some((_, first)) = paths.first() {
        s.push_str("\nradlab's dispatched rows on each instruction set (RADLAB_SIMD), median (min):\n\n| workload |");
        for p in first {
            s.push_str(&format!(" {} |", p.isa));
        }
        s.push_str(" widest / baseline | same values |\n|---|");
        for _ in first {
            s.push_str("---|");
        }
        s.push_str("---|---|\n");
        for (w, per) in paths {
            s.push_str(&format!("| {w} |"));
            for p in per {
                s.push_str(&format!(
                    " {:.1} ms ({:.1}) |",
                    p.median_s * 1e3,
                    p.min_s * 1e3
                ));
            }
            let speedup = match (per.first(), per.last()) {
                (Some(b), Some(t)) => b.median_s / t.median_s,
                _ => f64::NAN,
            };
            let same = per.iter().all(|p| p.same_values);
            s.push_str(&format!(
                " {speedup:.2}x | {} |\n",
                if same { "yes" } else { "NO" }
            ));
        }
    }
    s
}
