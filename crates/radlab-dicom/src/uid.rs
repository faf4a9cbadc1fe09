//! UID generation.
//!
//! radlab makes UIDs under the `2.25` arc (PS3.5 B.2): `2.25.` followed by
//! the decimal form of a 128-bit number. Derived from a seed and a name with
//! SHA-256, they are reproducible: the same seed and name give the same UID.

use sha2::{Digest, Sha256};

/// A UID under `2.25` derived deterministically from a seed and a name.
///
/// ```
/// let a = radlab_dicom::uid::derived(7, "study");
/// assert!(a.starts_with("2.25.") && a.len() <= 64);
/// assert_eq!(a, radlab_dicom::uid::derived(7, "study"));
/// assert_ne!(a, radlab_dicom::uid::derived(8, "study"));
/// ```
pub fn derived(seed: u64, name: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"radlab-uid\0");
    h.update(seed.to_le_bytes());
    h.update(name.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    // Like a version-4 UUID's number: clear the top bit so the value is < 2^127.
    b[0] &= 0x7f;
    let n = u128::from_be_bytes(b).max(1);
    format!("2.25.{n}")
}
