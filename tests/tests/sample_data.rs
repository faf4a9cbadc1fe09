//! The committed sample data is exactly what the seeded generator makes.

use sha2::{Digest, Sha256};

#[test]
fn generator_reproduces_committed_bytes() {
    let root = radlab_tests::workspace_root().join("sample_data");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("MANIFEST.json")).unwrap())
            .unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert!(files.len() > 100);
    // The committed files match the manifest...
    for f in files {
        let path = root.join(f["path"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            f["sha256"].as_str().unwrap(),
            "{}",
            path.display()
        );
    }
    // ...and regenerating from the seeds gives the same bytes.
    let tmp = tempfile::tempdir().unwrap();
    let specs = radlab_synth::sample_specs();
    assert_eq!(specs.len(), manifest["cases"].as_array().unwrap().len());
    for spec in &specs {
        let case = radlab_synth::generate_case(spec);
        radlab_synth::write_case(&case, &tmp.path().join(&spec.id)).unwrap();
    }
    let mut regenerated = 0;
    for f in files {
        let rel = f["path"].as_str().unwrap();
        let bytes = std::fs::read(tmp.path().join(rel))
            .unwrap_or_else(|_| panic!("generator did not write {rel}"));
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            f["sha256"].as_str().unwrap(),
            "{rel} differs"
        );
        regenerated += 1;
    }
    assert_eq!(regenerated, files.len());
}
