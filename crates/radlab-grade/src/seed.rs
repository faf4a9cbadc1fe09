//! The run seed of the randomised checks, and the generators it moves.

/// The seed of this grading run's randomised checks (see [`check_rng`]).
static RUN_SEED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Set the seed of the randomised checks for the rest of this process.
/// 0 (the default, and what the lab's own tests use) gives the cases the
/// checks name in their messages; a lab's `grade` command draws a new seed
/// each run, so that hidden cases cannot be answered from the checks'
/// source.
pub fn set_run_seed(seed: u64) {
    RUN_SEED.store(seed, std::sync::atomic::Ordering::Relaxed);
}

/// The seed set by [`set_run_seed`] (0 unless set).
pub fn run_seed() -> u64 {
    RUN_SEED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A new non-zero run seed from the operating system's hasher keys and the
/// clock (no generator crate needed for one number).
pub fn fresh_run_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    // Small enough to type back after `--seed`.
    (h.finish() % 1_000_000_000).max(1)
}

/// The generator of one randomised check: `stream` names the check's
/// sequence of cases; the run seed moves every stream at once. With run
/// seed 0 it is `ChaCha8Rng::seed_from_u64(stream)`.
pub fn check_rng(stream: u64) -> rand_chacha::ChaCha8Rng {
    use rand::SeedableRng;
    let mixed = match run_seed() {
        0 => stream,
        s => stream ^ s.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    };
    rand_chacha::ChaCha8Rng::seed_from_u64(mixed)
}

/// How a check's message names its cases: `seed 601`, or `seed 601 of run
/// seed 12345` (and `grade --seed 12345` repeats them).
pub fn seed_note(stream: u64) -> String {
    match run_seed() {
        0 => format!("seed {stream}"),
        s => format!("seed {stream} of run seed {s}; `grade --seed {s}` repeats it"),
    }
}
