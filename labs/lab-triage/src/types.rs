//! The types the exercise works with. The exercise file, the reference and
//! the checks all depend on this file, and it depends on none of them, so
//! the one file the learner owns is not part of a cycle.

/// Why a study was judged complete (radlab-triage's own type).
pub use radlab_triage::complete::Reason as Completion;

/// One series of a study, as far as it has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesSoFar {
    /// Distinct instances received.
    pub received: usize,
    /// The count the series announces (Images in Acquisition), if any.
    pub expected: Option<usize>,
}

/// The completeness rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completeness {
    /// Complete after this many milliseconds with no new instance.
    pub quiet_ms: u64,
    /// Complete as soon as every series has the count it announces.
    pub expected_count: bool,
}

/// A handle on a temporary file of [`Disk`].
pub type TempFile = u32;

/// The listener's disk, as the durable-acknowledgement task sees it. A
/// write reaches the platter only at `fsync` of its file; a link (a new
/// name in the folder) survives a crash only after `fsync_dir`.
pub trait Disk {
    /// A new, empty temporary file in the storage folder.
    fn create_temp(&mut self) -> Result<TempFile, String>;
    /// Append bytes to a temporary file (may fail: disk full).
    fn write(&mut self, file: TempFile, bytes: &[u8]) -> Result<(), String>;
    /// Flush a file's data to stable storage.
    fn fsync(&mut self, file: TempFile) -> Result<(), String>;
    /// Give the file its final `name` without replacing anything: `Ok(false)`
    /// when the name exists already (the first copy is kept).
    fn link(&mut self, file: TempFile, name: &str) -> Result<bool, String>;
    /// Remove a temporary file (its name, not a linked final name).
    fn remove_temp(&mut self, file: TempFile);
    /// Flush the storage folder (new names survive a crash after this).
    fn fsync_dir(&mut self) -> Result<(), String>;
    /// Send the C-STORE response with this status (0 success, A700 out of
    /// resources).
    fn acknowledge(&mut self, status: u16);
}
