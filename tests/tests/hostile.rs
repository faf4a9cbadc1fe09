//! The hostile corpus (tests/src/hostile.rs) through the library itself: on
//! a worker thread with a small stack, every case refuses with a typed error
//! naming the file, or loads; nothing panics, and every loaded volume is finite.

use radlab_tests::hostile::{Expect, corpus};

#[test]
fn every_case_refuses_or_loads_on_a_small_stack() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = corpus(tmp.path());
    assert!(cases.len() >= 40, "{} cases", cases.len());
    // 256 KiB is an eighth of a rayon worker's default stack: the depth
    // limit must hold well inside it.
    let handle = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let mut failures = Vec::new();
            for case in &cases {
                let r = std::panic::catch_unwind(|| radlab_dicom::load_path(&case.input, None));
                let name = case
                    .names
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                match (r, &case.expect) {
                    (Err(_), _) => failures.push(format!("{}: panicked", case.name)),
                    (Ok(Err(e)), Expect::Refuse(words)) => {
                        let msg = e.to_string();
                        if !msg.contains(&name) || words.iter().any(|w| !msg.contains(w)) {
                            failures.push(format!("{}: {msg}", case.name));
                        }
                    }
                    (Ok(Ok(v)), Expect::Warn(words)) => {
                        let all: String = v.warnings.iter().map(|w| format!("{w}\n")).collect();
                        if words.iter().any(|w| !all.contains(w)) {
                            failures.push(format!("{}: warnings {all:?}", case.name));
                        }
                        assert!(v.voxels.iter().all(|x| x.is_finite()), "{}", case.name);
                    }
                    (Ok(Ok(v)), Expect::Load) => {
                        assert!(v.voxels.iter().all(|x| x.is_finite()), "{}", case.name);
                    }
                    (Ok(Ok(_)), Expect::Refuse(_)) => {
                        failures.push(format!("{}: loaded", case.name))
                    }
                    (Ok(Err(e)), _) => failures.push(format!("{}: refused: {e}", case.name)),
                }
            }
            failures
        })
        .unwrap();
    let failures = handle.join().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn header_scan_and_deidentifier_survive_the_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = corpus(tmp.path());
    let key = radlab_deid::Key::new(b"hostile corpus test key").unwrap();
    let deid = radlab_deid::Deidentifier::new(radlab_deid::Config::basic(key)).unwrap();
    for case in &cases {
        if case.input.is_dir() {
            let _ = radlab_dicom::scan(&case.input);
            continue;
        }
        let _ = radlab_dicom::header::ImageHeader::read(&case.input);
        if let Ok(obj) = radlab_dicom::file::open(&case.input) {
            let _ = deid.deidentify(&case.name, &obj);
        }
    }
}
