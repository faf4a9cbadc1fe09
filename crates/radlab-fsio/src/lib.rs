//! # radlab-fsio
//!
//! One job: write a file so that a reader never sees half of it. The bytes
//! go to a temporary file next to the target (same folder, so the rename
//! cannot cross file systems), which is then renamed over it. A failure
//! leaves the old file, if any, as it was and removes the temporary file.
//!
//! Errors are [`std::io::Error`]s that keep the operating system's kind and
//! name the file: a failed write is the machine's problem (exit code 1 in
//! the labs), never the user's input.

use std::io;
use std::path::{Path, PathBuf};

/// The temporary name for `path`: hidden, in the same folder, unique to
/// this process.
fn temp_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// Write `bytes` to `path` via a temporary file and a rename.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("report.json");
/// radlab_fsio::write_atomic(&p, b"{}\n").unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"{}\n");
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let named =
        |e: io::Error| io::Error::new(e.kind(), format!("{}: cannot write: {e}", path.display()));
    let tmp = temp_name(path);
    std::fs::write(&tmp, bytes).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        named(e)
    })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        named(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, b"old").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_failure_names_the_file_and_keeps_the_kind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-folder").join("a.txt");
        let e = write_atomic(&p, b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("missing-folder"), "{e}");
        // A folder in the way of the rename: the old content is untouched.
        let d = dir.path().join("taken");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("x"), b"keep").unwrap();
        assert!(write_atomic(&d, b"x").is_err());
        assert_eq!(std::fs::read(d.join("x")).unwrap(), b"keep");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
