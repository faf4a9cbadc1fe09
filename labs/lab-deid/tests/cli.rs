//! lab-deid from the outside: the default run, --json keys, determinism,
//! inputs untouched, and bad input (exit 2, one line, nothing written).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

fn lab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lab-deid"))
}

fn sample(case: &str) -> std::path::PathBuf {
    radlab_tests::workspace_root()
        .join("sample_data")
        .join(case)
}

/// sha256 of every file under a folder.
fn hashes(dir: &Path) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            for (k, v) in hashes(&p) {
                m.insert(
                    format!("{}/{k}", p.file_name().unwrap().to_string_lossy()),
                    v,
                );
            }
        } else {
            m.insert(
                p.file_name().unwrap().to_string_lossy().to_string(),
                hex::encode(Sha256::digest(std::fs::read(&p).unwrap())),
            );
        }
    }
    m
}

#[test]
fn default_run_reports_no_leaks_and_an_unchanged_classifier() {
    let out = tempfile::tempdir().unwrap();
    let o = lab().arg("--out").arg(out.path()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "files: 192 written, 64 refused",
        "BurnedInAnnotation is YES",
        "OtherPatientIDsSequence (0010,1002)",
        "MediaStorageSOPInstanceUID (0002,0003)",
        ": 0 found",
        "voxels identical: true; geometry identical: true",
        "identical",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // The audit masks values: the sample patient's name is nowhere in it.
    let case: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sample("case-001").join("case.json")).unwrap(),
    )
    .unwrap();
    let family = case["identity"]["patient_name"]
        .as_str()
        .unwrap()
        .split('^')
        .next()
        .unwrap()
        .to_string();
    assert!(!text.contains(&family));
    let audit = std::fs::read_to_string(out.path().join("audit.json")).unwrap();
    assert!(!audit.contains(&family));
    assert_eq!(
        std::fs::read_dir(out.path().join("deidentified"))
            .unwrap()
            .count(),
        192
    );
}

#[test]
fn json_keys_and_a_second_run_with_the_same_key_gives_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key");
    std::fs::write(&key, "a secret of more than sixteen bytes\n").unwrap();
    let before = hashes(&sample("case-003"));
    let mut outs = Vec::new();
    for run in ["a", "b"] {
        let out = tmp.path().join(run);
        let o = lab()
            .args([
                "--json",
                "--skip-model",
                "--option",
                "retain-modified-dates",
                "--option",
                "113108",
                "--input",
            ])
            .arg(sample("case-003"))
            .arg("--key-file")
            .arg(&key)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        for k in [
            "input",
            "output",
            "options",
            "key_fingerprint",
            "sample_key",
            "table_source",
            "files_written",
            "files_refused",
            "files_skipped",
            "refused",
            "actions",
            "needles",
            "leaks",
            "utility",
            "utility_skipped",
            "mine",
            "artifacts",
        ] {
            assert!(v.get(k).is_some(), "missing key {k}");
        }
        assert_eq!(v["files_written"], 64);
        assert_eq!(v["leaks"].as_array().unwrap().len(), 0);
        assert_eq!(v["sample_key"], false);
        assert_eq!(v["utility"]["voxels_identical"], true);
        let opts: Vec<String> = serde_json::from_value(v["options"].clone()).unwrap();
        assert_eq!(
            opts,
            [
                "retain-patient-characteristics (113108)",
                "retain-modified-dates (113107)"
            ]
        );
        outs.push(hashes(&out.join("deidentified")));
    }
    assert_eq!(
        outs[0], outs[1],
        "same key, same input: same files, same bytes"
    );
    assert_eq!(
        hashes(&sample("case-003")),
        before,
        "the input was modified"
    );
}

#[test]
fn bad_input_exits_2_with_one_line_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let text_file = tmp.path().join("notes.txt");
    std::fs::write(&text_file, "not DICOM").unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let short_key = tmp.path().join("short.key");
    std::fs::write(&short_key, "tiny").unwrap();
    let case = sample("case-001");
    let cases: Vec<(&str, Vec<std::ffi::OsString>, &str)> = vec![
        (
            "not DICOM",
            vec!["--input".into(), text_file.clone().into()],
            "no DICOM files",
        ),
        (
            "empty folder",
            vec!["--input".into(), empty.clone().into()],
            "no DICOM files",
        ),
        (
            "missing",
            vec!["--input".into(), tmp.path().join("nope").into()],
            "no such file",
        ),
        (
            "bad option",
            vec![
                "--input".into(),
                case.clone().into(),
                "--option".into(),
                "retain-everything".into(),
            ],
            "unknown",
        ),
        (
            "both date options",
            vec![
                "--input".into(),
                case.clone().into(),
                "--option".into(),
                "retain-full-dates".into(),
                "--option".into(),
                "retain-modified-dates".into(),
            ],
            "exclude each other",
        ),
        (
            "short key",
            vec![
                "--input".into(),
                case.clone().into(),
                "--key-file".into(),
                short_key.clone().into(),
            ],
            "16 bytes",
        ),
        (
            "bad rect",
            vec![
                "--input".into(),
                case.clone().into(),
                "--clean-rect".into(),
                "5,5,1,1".into(),
            ],
            "X0 < X1",
        ),
        (
            "safe list without option",
            vec![
                "--input".into(),
                case.clone().into(),
                "--safe-private".into(),
                "ACME:0019,01".into(),
            ],
            "retain-safe-private",
        ),
    ];
    for (name, args, words) in cases {
        let out = tmp.path().join(format!("out-{}", name.replace(' ', "-")));
        let o = lab()
            .args(&args)
            .arg("--skip-model")
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: {err}");
        assert!(err.contains(words), "{name}: {err}");
        assert!(o.stdout.is_empty(), "{name}");
        assert!(!out.exists(), "{name}: wrote {}", out.display());
    }
    // An output folder inside the input.
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::copy(case.join("ct/IM00001.dcm"), input.join("a.dcm")).unwrap();
    let o = lab()
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(input.join("o"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("inside the input"));
    assert!(!input.join("o").exists());
}

#[test]
fn hostile_corpus_structural_damage_is_refused_by_name() {
    // De-identification reads headers: structural damage must be refused;
    // poisoned pixel values are a matter for the utility check.
    let key = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key.path(), b"a key for the hostile corpus test").unwrap();
    let key = key.path().to_str().unwrap().to_string();
    radlab_tests::hostile::check_corpus(
        std::path::Path::new(env!("CARGO_BIN_EXE_lab-deid")),
        &["--skip-model", "--key-file", &key],
        false,
        true,
    );
}
