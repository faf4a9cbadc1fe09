//! Answers computed in a second process, for checks of cross-process
//! stability.
//!
//! A keyed UID or date offset must come out the same in every run with the
//! same key. An implementation that draws a random salt once per process, or
//! remembers random answers in a map, agrees with itself for as long as one
//! process lives, so no check inside the grader's own process can see the
//! mistake. [`probe_in_fresh_process`] starts the running executable again
//! with [`PROBE_ENV`] naming a table of tasks; the new process prints that
//! table's probe (a lab-defined string of answers to fixed inputs) and exits.
//! The check then compares it with the probe computed in its own process.
//!
//! Two executables answer: the lab's binary (its `main`, through
//! `radlab_labkit::lab_main!`, calls the lab's `serve_probe` before parsing
//! arguments) and the lab's `tests/grading.rs` (the `probe_child` test that
//! [`crate::lab_grading_tests!`] adds; the harness arguments this module
//! passes select it and are ignored by the lab binary).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the table whose probe a child prints.
pub const PROBE_ENV: &str = "RADLAB_GRADE_PROBE";

/// What starts the probe's line on the child's stdout.
const PREFIX: &str = "radlab-grade-probe:";

/// How long a child may take.
const LIMIT: Duration = Duration::from_secs(60);

/// In a child started by [`probe_in_fresh_process`]: if [`PROBE_ENV`] is
/// `LAB/TABLE` with this `lab`, print the probe of the table named `TABLE`
/// (searched in `tables`) and return `true`. Otherwise, or without a
/// `probe`, return `false` at once. `name` gives a table's name.
pub fn serve_probe<T: ?Sized>(
    lab: &str,
    tables: &[&'static T],
    name: fn(&T) -> &str,
    probe: Option<fn(&'static T) -> String>,
) -> bool {
    let (Ok(var), Some(probe)) = (std::env::var(PROBE_ENV), probe) else {
        return false;
    };
    let Some(wanted) = var
        .split_once('/')
        .filter(|(l, _)| *l == lab)
        .map(|(_, t)| t.to_string())
    else {
        return false;
    };
    let answer = match tables.iter().find(|t| name(t) == wanted) {
        None => format!("!no table named {wanted:?}"),
        Some(t) => crate::quietly(|| probe(t)).unwrap_or_else(|| "!the task panicked".into()),
    };
    // One line (the probe may not contain a newline); a test harness may
    // print its own text before it on that line.
    println!("{PREFIX}{}", answer.replace('\n', "\\n"));
    true
}

/// The probe of the table `table` of `lab` (its package name), computed by
/// a new run of this executable. `Err` says why there is none (the child could not start,
/// timed out, or printed no probe line); a task that panicked in the child
/// comes back as `Ok` starting with `!`.
pub fn probe_in_fresh_process(lab: &str, table: &str) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let mut child = Command::new(&exe)
        .env(PROBE_ENV, format!("{lab}/{table}"))
        // Selects the probe test in a test binary (the harness's name
        // filter); the lab binary returns before it reads its arguments.
        .args(["probe_child", "--nocapture", "--test-threads=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the second process ran past {} s", LIMIT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for the second process: {e}")),
        }
    }
    let out = reader.join().unwrap_or_default();
    out.lines()
        .find_map(|l| l.split_once(PREFIX).map(|(_, probe)| probe))
        .map(str::to_string)
        .ok_or_else(|| format!("{} printed no probe for table {table:?}", exe.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Table {
        name: &'static str,
    }
    static A: Table = Table { name: "a" };

    #[test]
    fn no_variable_no_probe() {
        // The variable is not set in the test's own process.
        if std::env::var(PROBE_ENV).is_err() {
            assert!(!serve_probe(
                "l",
                &[&A],
                |t| t.name,
                Some(|t| t.name.into())
            ));
        }
        assert!(!serve_probe("l", &[&A], |t| t.name, None));
    }

    /// Answers in a child (this test binary run again): the harness runs
    /// this test alone there, and it prints the probe.
    #[test]
    fn probe_child() {
        serve_probe(
            "l",
            &[&A],
            |t| t.name,
            Some(|t| format!("{}-{}", t.name, 42)),
        );
    }

    #[test]
    fn a_second_process_answers() {
        if std::env::var(PROBE_ENV).is_ok() {
            return;
        }
        assert_eq!(probe_in_fresh_process("l", "a").as_deref(), Ok("a-42"));
        assert_eq!(
            probe_in_fresh_process("l", "b").as_deref(),
            Ok("!no table named \"b\"")
        );
        // Another lab's name: nobody answers.
        assert!(probe_in_fresh_process("m", "a").is_err());
    }
}
