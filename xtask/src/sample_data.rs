//! `cargo xtask sample-data`: regenerate the committed sample set and its manifest.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// sha256 of every file under `dir`, keyed by path relative to `dir` (sorted).
pub fn hash_tree(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e?;
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e
            .path()
            .strip_prefix(dir)?
            .to_string_lossy()
            .replace('\\', "/");
        if rel == "MANIFEST.json" || rel == "README.md" {
            continue;
        }
        let bytes =
            std::fs::read(e.path()).with_context(|| format!("reading {}", e.path().display()))?;
        out.push((rel, hex::encode(Sha256::digest(&bytes))));
    }
    Ok(out)
}

/// Generate every sample case into `root` (replacing the case folders) and write MANIFEST.json.
pub fn generate(root: &Path) -> Result<()> {
    let specs = radlab_synth::sample_specs();
    for spec in &specs {
        let dir = root.join(&spec.id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        eprintln!(
            "generating {} (seed {}, {:?})",
            spec.id, spec.seed, spec.shape
        );
        let case = radlab_synth::generate_case(spec);
        radlab_synth::write_case(&case, &dir)
            .with_context(|| format!("writing {}", dir.display()))?;
    }
    let files = hash_tree(root)?;
    let manifest = serde_json::json!({
        "generator": "radlab-synth",
        "generator_version": radlab_synth::GENERATOR_VERSION,
        "command": "cargo xtask sample-data",
        "cases": specs,
        "files": files.iter().map(|(p, h)| serde_json::json!({"path": p, "sha256": h})).collect::<Vec<_>>(),
    });
    let path = root.join("MANIFEST.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    let total: u64 = files
        .iter()
        .map(|(p, _)| {
            std::fs::metadata(root.join(p))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    eprintln!(
        "{} files, {:.1} MB, manifest at {}",
        files.len(),
        total as f64 / 1e6,
        path.display()
    );
    Ok(())
}

/// The workspace's sample_data folder.
pub fn sample_dir(root: &Path) -> PathBuf {
    root.join("sample_data")
}
