//! What radlab writes passes Debian's DICOM validators: dicom3tools'
//! `dciodvfy` (IOD conformance) and dcmtk's `dcmdump` (parsing).
//! `cargo xtask test` installs both; without them these tests fail.

use std::process::Command;

#[test]
fn sample_series_pass_dciodvfy_and_dcmdump() {
    let root = radlab_tests::workspace_root().join("sample_data");
    for case in ["case-001", "case-002", "case-003", "case-004"] {
        let dir = root.join(case).join("ct");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in [&files[0], &files[files.len() / 2], &files[files.len() - 1]] {
            let errors = radlab_tests::dciodvfy_errors(f);
            assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
            let o = Command::new("dcmdump")
                .arg(f)
                .output()
                .expect("dcmdump is not installed: run `cargo xtask test`");
            assert!(
                o.status.success(),
                "dcmdump {}: {}",
                f.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            let dump = String::from_utf8_lossy(&o.stdout);
            assert!(
                dump.contains("CTImageStorage") && dump.contains("(0028,1052)"),
                "{}",
                f.display()
            );
        }
    }
}

#[test]
fn freshly_generated_series_pass_dciodvfy() {
    let tmp = tempfile::tempdir().unwrap();
    let files = radlab_tests::small_synth_series(tmp.path(), 77, 3);
    for f in &files {
        let errors = radlab_tests::dciodvfy_errors(f);
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
    }
}
