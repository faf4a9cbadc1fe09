//! `radlab listen` as a process: killed with SIGKILL in the middle of a
//! study, every instance it had acknowledged is on disk and the next start
//! finishes the study; SIGTERM stops it cleanly; bad flags exit 2.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use dicom_dictionary_std::uids;
use radlab_pacs::scu::{Association, ScuOptions, split_part10};

fn sample_study() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample_data/case-001/ct");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    v.sort();
    v
}

/// Start `radlab listen` on a free port; its stderr lines arrive on the channel.
fn listen(storage: &Path, extra: &[&str]) -> (Child, u16, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_radlab"))
        .args(["listen", "--port", "0", "--storage"])
        .arg(storage)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = wait_line(&rx, "listening on", Duration::from_secs(60));
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (child, port, rx)
}

fn wait_line(rx: &Receiver<String>, needle: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    while let Ok(l) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if l.contains(needle) {
            return l;
        }
        seen.push(l);
    }
    panic!("no line with {needle:?}; saw: {seen:#?}");
}

fn scu(port: u16) -> Association {
    Association::open(
        &ScuOptions {
            calling_aet: "SCANNER".into(),
            called_aet: "RADLAB".into(),
            address: format!("127.0.0.1:{port}"),
            timeout: Duration::from_secs(10),
        },
        &[uids::CT_IMAGE_STORAGE],
    )
    .unwrap()
}

fn uid(path: &Path) -> String {
    let b = std::fs::read(path).unwrap();
    split_part10(&b)
        .unwrap()
        .0
        .media_storage_sop_instance_uid()
        .trim_end_matches('\0')
        .to_string()
}

#[test]
fn sigkill_mid_study_loses_no_acknowledged_instance_and_the_restart_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("node");
    let files = sample_study();
    let (mut child, port, _rx) = listen(&storage, &["--quiet-s", "600"]);
    // The killer: SIGKILL once 30 instances are on disk, while the sender
    // goes on (so the kill lands in the middle of a transfer or between two).
    let watched = storage.clone();
    let killer = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let n = std::fs::read_dir(&watched)
                .map(|r| {
                    r.filter(|e| {
                        e.as_ref()
                            .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "dcm"))
                    })
                    .count()
                })
                .unwrap_or(0);
            if n >= 30 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    });
    let mut a = scu(port);
    let mut acknowledged = Vec::new();
    for f in files.iter() {
        match a.store_file(f) {
            Ok(0) => acknowledged.push(f.clone()),
            Ok(s) => panic!("status {s:04X} for {}", f.display()),
            Err(_) => break,
        }
    }
    killer.join().unwrap();
    assert!(
        acknowledged.len() >= 29,
        "{} acknowledged",
        acknowledged.len()
    );
    assert!(acknowledged.len() < files.len());
    for f in &acknowledged {
        let p = storage.join(format!("{}.dcm", uid(f)));
        let sent = std::fs::read(f).unwrap();
        let kept = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(split_part10(&sent).unwrap().1 == split_part10(&kept).unwrap().1);
    }
    // The restart resumes the study from disk and finishes it by itself.
    let (mut child, _port, rx) = listen(&storage, &["--quiet-s", "0.5", "--exit-after", "1"]);
    let resumed = wait_line(&rx, "resuming study", Duration::from_secs(30));
    // On disk: every acknowledged instance, and perhaps the one whose
    // success status the kill cut off (durable, never acknowledged).
    let on_disk: usize = resumed
        .split(": ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{resumed}"));
    assert!(
        on_disk == acknowledged.len() || on_disk == acknowledged.len() + 1,
        "{resumed}; {} acknowledged",
        acknowledged.len()
    );
    wait_line(
        &rx,
        "done: last instance to results",
        Duration::from_secs(120),
    );
    let status = child.wait().unwrap();
    assert!(status.success());
    let results: Vec<_> = std::fs::read_dir(storage.join("results"))
        .unwrap()
        .collect();
    assert_eq!(results.len(), 2);
    // Nothing half-written is left behind.
    assert_eq!(
        std::fs::read_dir(storage.join(".incoming"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn sigterm_stops_cleanly_and_says_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("node");
    let files = sample_study();
    let (child, port, rx) = listen(&storage, &["--quiet-s", "600"]);
    let mut a = scu(port);
    for f in &files[..5] {
        assert_eq!(a.store_file(f).unwrap(), 0);
    }
    a.release().unwrap();
    wait_line(
        &rx,
        "ended (released): 5 instances",
        Duration::from_secs(30),
    );
    // SAFETY: kill(2) on our own child's PID.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let line = wait_line(&rx, "stopped:", Duration::from_secs(30));
    assert!(
        line.contains("5 instances stored") && line.contains("left for the next start 1"),
        "{line}"
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "stdout carries alerts only");
}

#[test]
fn bad_flags_exit_2_and_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_radlab"))
            .args(["listen", "--port", "0", "--storage"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap()
    };
    for (args, needle) in [
        (vec!["--quiet-s=-1"], "--quiet-s -1"),
        (vec!["--alert-threshold", "1.5"], "--alert-threshold"),
        (vec!["--pacs-dimse", "127.0.0.1:4242"], "AET@HOST:PORT"),
        (vec!["--rules", "no-such-rules.toml"], "no-such-rules.toml"),
        (vec!["--max-associations", "0"], "--max-associations"),
    ] {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let bad = dir.path().join("rules.toml");
    std::fs::write(
        &bad,
        "[[route]]\nname = \"x\"\nanalysis = \"nodules\"\nmodality = 3\n",
    )
    .unwrap();
    let out = run(&["--rules", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("rules.toml") && err.contains("modality"),
        "{err}"
    );
}
