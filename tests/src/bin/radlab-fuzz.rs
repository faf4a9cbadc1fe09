//! radlab-fuzz: mutation fuzzing of radlab's DICOM readers on stable Rust.
//!
//! Seeds (sample data, third-party files, the hostile corpus) are mutated
//! (bit flips, interesting bytes, element length fields, poisoned numeric
//! values, truncation, splices of elements from other files, deleted and
//! repeated chunks) and fed in-process to the header scan, the volume
//! loader, DICOM JSON export and the de-identifier (object out to bytes).
//!
//! A supervisor runs the work in a child process under an address-space
//! limit, so that an abort, a stack overflow or a failed allocation kills
//! only the child: the input it was on is kept as a reproducer under
//! `OUT/crashes/` and a new child goes on. Panics are caught in the child
//! and kept the same way; an input that runs longer than the hang limit is
//! kept as a hang. Usually started by `cargo xtask fuzz [--seconds N]`.
//!
//! Written by hand rather than with cargo-fuzz or AFL because both need a
//! nightly compiler or an instrumenting toolchain; this needs neither, at
//! the price of no coverage feedback (the mutations are structure-aware
//! instead: they aim at element headers and values).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const HANG_SECONDS: u64 = 20;
const MAX_SEED_BYTES: u64 = 4 << 20;
/// Address-space limit of the child (bytes): the hostile-input report's 8 GiB.
const CHILD_AS_LIMIT: u64 = 8 << 30;

struct Options {
    seconds: u64,
    seed: u64,
    out: PathBuf,
    seeds: Vec<PathBuf>,
    worker: bool,
    start: u64,
    replay: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: radlab-fuzz [--seconds N] [--seed S] [--out DIR] [SEED_FILE_OR_DIR...]\n\
         \x20      radlab-fuzz --replay FILE_OR_DIR...\n\
         Mutates the seed files and feeds them to radlab's readers; crashes go to DIR/crashes.\n\
         --replay runs the readers once on each given file (a reproducer) and reports panics.\n\
         Defaults: 60 seconds, seed 1, DIR target/fuzz."
    );
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut o = Options {
        seconds: 60,
        seed: 1,
        out: PathBuf::from("target/fuzz"),
        seeds: Vec::new(),
        worker: false,
        start: 0,
        replay: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> u64 {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("radlab-fuzz: {what} needs a whole number");
                usage()
            })
        };
        match a.as_str() {
            "--seconds" => o.seconds = num("--seconds"),
            "--seed" => o.seed = num("--seed"),
            "--start" => o.start = num("--start"),
            "--worker" => o.worker = true,
            "--replay" => o.replay = true,
            "--out" => o.out = args.next().map(PathBuf::from).unwrap_or_else(|| usage()),
            "-h" | "--help" => usage(),
            s if s.starts_with('-') => {
                eprintln!("radlab-fuzz: unknown option {s}");
                usage()
            }
            s => o.seeds.push(PathBuf::from(s)),
        }
    }
    o
}

fn collect_seeds(paths: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = paths
        .iter()
        .flat_map(|p| radlab_tests::hostile::files_under(p))
        .collect();
    files.sort();
    let mut seeds = Vec::new();
    for f in files {
        let small = std::fs::metadata(&f).is_ok_and(|m| m.len() <= MAX_SEED_BYTES && m.len() > 0);
        if !small || !radlab_dicom::file::has_dicom_signature(&f) {
            continue;
        }
        if let Ok(b) = std::fs::read(&f) {
            seeds.push((f.display().to_string(), b));
        }
    }
    seeds
}

/// Offsets in `b` that look like explicit-VR element headers (tag, VR).
fn element_offsets(b: &[u8]) -> Vec<usize> {
    const VRS: [&[u8; 2]; 34] = [
        b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
        b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US", b"OB", b"OD", b"OF", b"OL", b"OV",
        b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV",
    ];
    let mut v = Vec::new();
    let end = b.len().min(256 << 10);
    let mut i = 0;
    while i + 8 <= end {
        let vr = [b[i + 4], b[i + 5]];
        if b[i] % 2 == 0 && VRS.iter().any(|x| **x == vr) {
            v.push(i);
        }
        i += 2;
    }
    v
}

fn long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"SV"
            | b"UV"
    )
}

const POISON: [&str; 14] = [
    "NaN",
    "-inf",
    "inf",
    "1e39",
    "-1e308",
    "0",
    "-0",
    "",
    "minus1024",
    "1\\2",
    "2147483647",
    "-5",
    "1e-320",
    "65535",
];

fn mutate(rng: &mut ChaCha8Rng, seeds: &[(String, Vec<u8>)]) -> Vec<u8> {
    let (_, base) = &seeds[rng.random_range(0..seeds.len())];
    let mut b = base.clone();
    let rounds = rng.random_range(1..=4);
    for _ in 0..rounds {
        if b.len() < 16 {
            break;
        }
        let offs = element_offsets(&b);
        match rng.random_range(0..9) {
            0 => {
                let i = rng.random_range(0..b.len());
                b[i] ^= 1 << rng.random_range(0..8);
            }
            1 => {
                let i = rng.random_range(0..b.len());
                b[i] = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE][rng.random_range(0..6)];
            }
            2 if !offs.is_empty() => {
                // An element's length field.
                let o = offs[rng.random_range(0..offs.len())];
                let vr = [b[o + 4], b[o + 5]];
                let interesting: [u32; 9] = [
                    0,
                    1,
                    2,
                    0xFFFF_FFFF,
                    0x7FFF_FFFF,
                    0xFFFF_FFFE,
                    0x8000_0000,
                    0xFFFF,
                    4097,
                ];
                let v = if rng.random_bool(0.7) {
                    interesting[rng.random_range(0..interesting.len())]
                } else {
                    rng.random_range(0..(b.len() as u32 * 2).max(2))
                };
                if long_vr(vr) && o + 12 <= b.len() {
                    b[o + 8..o + 12].copy_from_slice(&v.to_le_bytes());
                } else {
                    b[o + 6..o + 8].copy_from_slice(&(v as u16).to_le_bytes());
                }
            }
            3 if !offs.is_empty() => {
                // A numeric text value poisoned, the element rebuilt.
                let texty: Vec<usize> = offs
                    .iter()
                    .copied()
                    .filter(|&o| matches!(&[b[o + 4], b[o + 5]], b"DS" | b"IS"))
                    .collect();
                if let Some(&o) = texty.get(rng.random_range(0..texty.len().max(1))) {
                    let len = u16::from_le_bytes([b[o + 6], b[o + 7]]) as usize;
                    if o + 8 + len <= b.len() {
                        let mut val = POISON[rng.random_range(0..POISON.len())]
                            .as_bytes()
                            .to_vec();
                        if val.len() % 2 == 1 {
                            val.push(b' ');
                        }
                        let mut el = b[o..o + 6].to_vec();
                        el.extend((val.len() as u16).to_le_bytes());
                        el.extend(val);
                        b.splice(o..o + 8 + len, el);
                    }
                }
            }
            4 if !offs.is_empty() => {
                // A US value (Rows, Columns, bits, representation...).
                let us: Vec<usize> = offs
                    .iter()
                    .copied()
                    .filter(|&o| &[b[o + 4], b[o + 5]] == b"US" && o + 10 <= b.len())
                    .collect();
                if let Some(&o) = us.get(rng.random_range(0..us.len().max(1))) {
                    let v: u16 = [0, 1, 2, 7, 8, 15, 16, 17, 32, 33, 64, 0x7FFF, 0xFFFF]
                        [rng.random_range(0..13)];
                    b[o + 8..o + 10].copy_from_slice(&v.to_le_bytes());
                }
            }
            5 => {
                let cut = rng.random_range(0..b.len());
                b.truncate(cut);
            }
            6 if !offs.is_empty() => {
                // Splice a run of elements from another seed.
                let (_, other) = &seeds[rng.random_range(0..seeds.len())];
                let oo = element_offsets(other);
                if !oo.is_empty() {
                    let s = oo[rng.random_range(0..oo.len())];
                    let n = rng.random_range(8..512).min(other.len() - s);
                    let at = offs[rng.random_range(0..offs.len())];
                    let chunk = other[s..s + n].to_vec();
                    b.splice(at..at, chunk);
                }
            }
            7 => {
                let s = rng.random_range(0..b.len());
                let n = rng.random_range(1..256).min(b.len() - s);
                b.drain(s..s + n);
            }
            _ => {
                let s = rng.random_range(0..b.len());
                let n = rng.random_range(1..256).min(b.len() - s);
                let chunk = b[s..s + n].to_vec();
                let times = rng.random_range(1..8);
                for _ in 0..times {
                    b.splice(s..s, chunk.iter().copied());
                }
            }
        }
    }
    b
}

/// Every reader radlab exposes to a file from outside.
fn targets(path: &Path, deid: &radlab_deid::Deidentifier) {
    let _ = radlab_dicom::header::ImageHeader::read(path);
    if let Ok(v) = radlab_dicom::load_series(&[path.to_owned()]) {
        assert!(
            v.voxels.iter().all(|x| x.is_finite()),
            "a loaded volume holds non-finite values"
        );
    }
    if let Ok(obj) = radlab_dicom::file::open_header(path) {
        let _ = radlab_dicom::json::to_dicom_json(&obj);
        let _ = radlab_dicom::summary::summarize(&obj);
    }
    if let Ok(obj) = radlab_dicom::file::open(path) {
        if let Ok((out, _)) = deid.deidentify("fuzz input", &obj) {
            let mut bytes = Vec::new();
            let _ = out.write_all(&mut bytes);
        }
    }
}

fn short_hash(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(b)[..6])
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn worker(o: &Options, seeds: &[(String, Vec<u8>)]) {
    let work = o.out.join("work");
    let crashes = o.out.join("crashes");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&crashes).unwrap();
    let input = work.join("input.dcm");
    let key = radlab_deid::Key::new(b"radlab fuzzing key, not for data").unwrap();
    let deid = radlab_deid::Deidentifier::new(radlab_deid::Config::basic(key)).unwrap();
    // Panics are recorded, not printed.
    static MESSAGE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut m) = MESSAGE.lock() {
            *m = info.to_string();
        }
    }));
    static STARTED: AtomicU64 = AtomicU64::new(0);
    std::thread::spawn(|| {
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let s = STARTED.load(Ordering::Relaxed);
            if s != 0 && now_ms().saturating_sub(s) > HANG_SECONDS * 1000 {
                let _ = std::io::stderr().write_all(b"radlab-fuzz worker: hang\n");
                std::process::exit(86);
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let mut stdout = std::io::stdout().lock();
    let mut i = o.start;
    while Instant::now() < deadline {
        let mut rng = ChaCha8Rng::seed_from_u64(o.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i);
        let bytes = mutate(&mut rng, seeds);
        std::fs::write(&input, &bytes).unwrap();
        // The supervisor learns which input is running before it runs.
        stdout.write_all(&i.to_le_bytes()).unwrap();
        stdout.flush().unwrap();
        STARTED.store(now_ms(), Ordering::Relaxed);
        let r = std::panic::catch_unwind(|| targets(&input, &deid));
        STARTED.store(0, Ordering::Relaxed);
        if r.is_err() {
            let h = short_hash(&bytes);
            let _ = std::fs::write(crashes.join(format!("panic-{h}.dcm")), &bytes);
            let msg = MESSAGE.lock().map(|m| m.clone()).unwrap_or_default();
            let _ = std::fs::write(crashes.join(format!("panic-{h}.txt")), msg);
        }
        i += 1;
    }
}

fn limit_child(cmd: &mut std::process::Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: CHILD_AS_LIMIT,
                    rlim_max: CHILD_AS_LIMIT,
                };
                libc::setrlimit(libc::RLIMIT_AS, &lim);
                Ok(())
            });
        }
    }
}

fn supervise(o: &Options, seeds: &[(String, Vec<u8>)]) -> i32 {
    let exe = std::env::current_exe().expect("own path");
    let crashes = o.out.join("crashes");
    std::fs::create_dir_all(&crashes).unwrap();
    let before: usize = std::fs::read_dir(&crashes).map(|d| d.count()).unwrap_or(0);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let mut next = 0u64;
    let mut execs = 0u64;
    let mut aborts = 0u64;
    let mut hangs = 0u64;
    let mut restarts = 0u64;
    eprintln!(
        "radlab-fuzz: {} seed file(s), {} s, seed {}, crashes to {}",
        seeds.len(),
        o.seconds,
        o.seed,
        crashes.display()
    );
    while Instant::now() < deadline {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_secs()
            .max(1);
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("--worker")
            .arg("--seconds")
            .arg(left.to_string())
            .arg("--seed")
            .arg(o.seed.to_string())
            .arg("--start")
            .arg(next.to_string())
            .arg("--out")
            .arg(&o.out)
            .args(&o.seeds)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        limit_child(&mut cmd);
        let mut child = cmd.spawn().expect("start a fuzz worker");
        let mut out = child.stdout.take().unwrap();
        let mut last = None;
        let mut buf = [0u8; 8];
        while out.read_exact(&mut buf).is_ok() {
            last = Some(u64::from_le_bytes(buf));
            execs += 1;
        }
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        let status = child.wait().expect("wait for the worker");
        match last {
            Some(i) => next = i + 1,
            None if !status.success() => {
                eprintln!("radlab-fuzz: the worker failed before its first input: {err}");
                return 1;
            }
            None => {}
        }
        if !status.success() {
            restarts += 1;
            let hang = status.code() == Some(86);
            if hang {
                hangs += 1;
            } else {
                aborts += 1;
            }
            let input = o.out.join("work/input.dcm");
            let bytes = std::fs::read(&input).unwrap_or_default();
            let kind = if hang { "hang" } else { "abort" };
            let h = short_hash(&bytes);
            let _ = std::fs::write(crashes.join(format!("{kind}-{h}.dcm")), &bytes);
            let tail: String = err.lines().rev().take(20).collect::<Vec<_>>().join("\n");
            let _ = std::fs::write(
                crashes.join(format!("{kind}-{h}.txt")),
                format!("{status}\n{tail}\n"),
            );
            eprintln!(
                "radlab-fuzz: {kind} on input {} ({status}); kept as {kind}-{h}.dcm",
                next - 1
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let after: usize = std::fs::read_dir(&crashes).map(|d| d.count()).unwrap_or(0);
    let new_files = after.saturating_sub(before);
    let panics = std::fs::read_dir(&crashes)
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().to_string();
                    n.starts_with("panic-") && n.ends_with(".dcm")
                })
                .count()
        })
        .unwrap_or(0);
    let summary = serde_json::json!({
        "seconds": secs,
        "seed": o.seed,
        "seed_files": seeds.len(),
        "executions": execs,
        "executions_per_second": execs as f64 / secs,
        "aborts": aborts,
        "hangs": hangs,
        "panic_reproducers_in_folder": panics,
        "worker_restarts": restarts,
        "new_crash_files": new_files,
    });
    let _ = std::fs::write(
        o.out.join("summary.json"),
        serde_json::to_string_pretty(&summary).unwrap(),
    );
    println!(
        "radlab-fuzz: {execs} executions in {secs:.0} s ({:.0}/s) over {} seed file(s): {aborts} abort(s), {hangs} hang(s), {panics} panic reproducer(s) in {}",
        execs as f64 / secs,
        seeds.len(),
        crashes.display()
    );
    if new_files > 0 { 1 } else { 0 }
}

fn replay(paths: &[PathBuf]) -> i32 {
    let key = radlab_deid::Key::new(b"radlab fuzzing key, not for data").unwrap();
    let deid = radlab_deid::Deidentifier::new(radlab_deid::Config::basic(key)).unwrap();
    let mut failed = 0;
    let mut n = 0;
    for f in paths
        .iter()
        .flat_map(|p| radlab_tests::hostile::files_under(p))
    {
        if f.extension().is_some_and(|e| e == "txt") {
            continue;
        }
        n += 1;
        if std::panic::catch_unwind(|| targets(&f, &deid)).is_err() {
            failed += 1;
            eprintln!("radlab-fuzz: {} still panics", f.display());
        }
    }
    println!("radlab-fuzz: replayed {n} file(s), {failed} panicked");
    i32::from(failed > 0)
}

fn main() {
    let mut o = parse_args();
    if o.replay {
        std::process::exit(replay(&o.seeds));
    }
    if !o.worker {
        // The hostile corpus joins the seeds: its files sit right at the edges.
        let d = o.out.join("hostile-seeds");
        let _ = std::fs::remove_dir_all(&d);
        radlab_tests::hostile::corpus(&d);
        o.seeds.push(d);
    }
    let seeds = collect_seeds(&o.seeds);
    if seeds.is_empty() {
        eprintln!("radlab-fuzz: no seed file with a DICOM signature (give files or folders)");
        std::process::exit(2);
    }
    if o.worker {
        worker(&o, &seeds);
        return;
    }
    std::process::exit(supervise(&o, &seeds));
}
