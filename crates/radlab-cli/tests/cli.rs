//! The `radlab` command from the outside.

use std::process::Command;

fn radlab(home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_radlab"));
    c.env("RADLAB_HOME", home);
    c
}

#[test]
fn grade_all_summarises_every_lab_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let o = radlab(tmp.path())
        .args(["grade", "--all"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("lab-dicom")
            && text.contains("lab-windowing")
            && text.contains("lab-deid")
            && text.contains("total"),
        "{text}"
    );
    assert!(tmp.path().join("out/lab-windowing/grade.json").exists());
    let progress: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("progress.json")).unwrap())
            .unwrap();
    assert!(progress["labs"]["lab-dicom"]["max_score"].as_f64().unwrap() > 0.0);
    let o = radlab(tmp.path()).arg("list").output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("window-linear"));
}

#[test]
fn reset_backs_up_and_restores_the_stubs() {
    let tmp = tempfile::tempdir().unwrap();
    // A workspace of one lab: its declaration, its stubs, the learner's file.
    let real = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../labs/lab-windowing");
    let ws = tmp.path().join("ws");
    let lab = ws.join("labs/lab-windowing");
    std::fs::create_dir_all(lab.join("src/exercise")).unwrap();
    std::fs::copy(real.join("lab.toml"), lab.join("lab.toml")).unwrap();
    let pristine = std::fs::read_to_string(real.join("src/exercise/pristine.rs")).unwrap();
    std::fs::write(lab.join("src/exercise/pristine.rs"), &pristine).unwrap();
    let ex = lab.join("src/exercise.rs");
    std::fs::write(&ex, "// my work\n").unwrap();
    // Without a terminal and without --yes it refuses.
    let o = radlab(tmp.path())
        .args(["reset", "lab-windowing"])
        .env("RADLAB_WORKSPACE", &ws)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&ex).unwrap(), "// my work\n");
    let o = radlab(tmp.path())
        .args(["reset", "lab-windowing", "--yes"])
        .env("RADLAB_WORKSPACE", &ws)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&ex).unwrap(), pristine);
    let backups: Vec<_> = std::fs::read_dir(tmp.path().join("backup"))
        .unwrap()
        .collect();
    assert_eq!(backups.len(), 1);
}

#[test]
fn unknown_lab_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [["reset", "lab-nope"], ["watch", "lab-nope"]] {
        let o = radlab(tmp.path()).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("unknown lab"));
    }
}

#[test]
fn runtime_reports_library_and_provider() {
    let tmp = tempfile::tempdir().unwrap();
    let o = radlab(tmp.path())
        .args(["runtime", "--device", "cpu"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("ONNX Runtime 1.31.1"), "{out}");
    assert!(out.contains("libonnxruntime.so.1.31.1"), "{out}");
    assert!(out.contains("CPUExecutionProvider (asked: cpu)"), "{out}");
    // Every node of both bundled models, read from ONNX Runtime's profile.
    assert!(
        out.contains("nodule-classifier (8 nodes: 8 on CPUExecutionProvider)"),
        "{out}"
    );
    assert!(
        out.contains("nodule-segmenter (5 nodes: 5 on CPUExecutionProvider)"),
        "{out}"
    );
    // auto on a machine without CUDA says why it chose the CPU.
    let o = radlab(tmp.path())
        .args(["runtime", "--device", "auto"])
        .env("RADLAB_NO_CUDA", "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("CPU because RADLAB_NO_CUDA is set"), "{out}");
}

#[test]
fn runtime_errors_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let o = radlab(tmp.path())
        .args(["runtime", "--device", "cuda"])
        .env("RADLAB_NO_CUDA", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--device cuda was asked for"));
    let o = radlab(tmp.path())
        .args(["runtime", "--device", "cpu"])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("ORT_DYLIB_PATH is set to /nonexistent/libonnxruntime.so"),
        "{err}"
    );
}
