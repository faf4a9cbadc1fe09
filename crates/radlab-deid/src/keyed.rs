//! Keyed, deterministic replacements: UIDs, per-patient date offsets and
//! pseudonymous IDs, all from HMAC-SHA256 under a secret key.
//!
//! The same key maps the same input to the same output in every file and
//! every run, so references between files survive; without the key the
//! mapping cannot be recomputed (a plain hash of a UID or a Patient ID could
//! be reversed by trying the candidates).

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::DeidError;

/// A secret key for the keyed mappings (at least 16 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Key({} bytes, fingerprint {})",
            self.0.len(),
            self.fingerprint()
        )
    }
}

/// The key radlab uses on its own sample data when no key file is given.
/// It is public: never use it on real data.
pub const SAMPLE_KEY: &[u8] = b"radlab public sample key: not for real data";

impl Key {
    /// A key from bytes; fewer than 16 bytes is refused.
    pub fn new(bytes: &[u8]) -> Result<Key, DeidError> {
        if bytes.len() < 16 {
            return Err(DeidError::Key(format!(
                "a key needs at least 16 bytes, got {}",
                bytes.len()
            )));
        }
        Ok(Key(bytes.to_vec()))
    }

    /// The public sample key ([`SAMPLE_KEY`]).
    pub fn sample() -> Key {
        Key(SAMPLE_KEY.to_vec())
    }

    /// Read a key file: its bytes, with surrounding whitespace trimmed.
    pub fn from_file(path: &Path) -> Result<Key, DeidError> {
        let bytes =
            std::fs::read(path).map_err(|e| DeidError::Key(format!("{}: {e}", path.display())))?;
        let trimmed = bytes.trim_ascii();
        // Key::new's message already says "key: ..."; add only the file.
        Key::new(trimmed).map_err(|e| match e {
            DeidError::Key(why) => DeidError::Key(format!("{}: {why}", path.display())),
            other => other,
        })
    }

    /// A short public fingerprint (first 12 hex digits of a keyed hash of a
    /// fixed label), for audit logs: two runs with the same fingerprint used
    /// the same key.
    pub fn fingerprint(&self) -> String {
        hex::encode(&self.mac(b"fingerprint", b"")[..6])
    }

    fn mac(&self, domain: &[u8], data: &[u8]) -> [u8; 32] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(domain);
        m.update(&[0]);
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// The replacement for a UID: `2.25.` and a 127-bit number (PS3.5 B.2),
    /// at most 44 characters.
    ///
    /// ```
    /// use radlab_deid::Key;
    /// let k = Key::sample();
    /// let a = k.uid("1.2.840.113619.2.55.3.1234");
    /// assert!(a.starts_with("2.25.") && a.len() <= 64);
    /// assert_eq!(a, k.uid("1.2.840.113619.2.55.3.1234"));
    /// assert_ne!(a, k.uid("1.2.840.113619.2.55.3.1235"));
    /// ```
    pub fn uid(&self, uid: &str) -> String {
        let d = self.mac(b"uid", uid.trim_end_matches(['\0', ' ']).as_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        b[0] &= 0x7f;
        format!("2.25.{}", u128::from_be_bytes(b).max(1))
    }

    /// The number of days to move a patient's dates back: 1 to 3652 (up to
    /// ten years), the same for every file of the patient.
    ///
    /// ```
    /// let k = radlab_deid::Key::sample();
    /// let d = k.date_offset_days("PAT-0001");
    /// assert!((1..=3652).contains(&d));
    /// assert_eq!(d, k.date_offset_days("PAT-0001"));
    /// ```
    pub fn date_offset_days(&self, patient: &str) -> i64 {
        let d = self.mac(b"date-offset", patient.trim().as_bytes());
        let n = u64::from_be_bytes(d[..8].try_into().expect("8 bytes"));
        1 + (n % 3652) as i64
    }

    /// A pseudonymous ID for a value such as a Patient ID: `RL` and 14
    /// upper-case hex digits (16 characters, fits SH and LO).
    pub fn pseudonym(&self, value: &str) -> String {
        let d = self.mac(b"pseudonym", value.trim().as_bytes());
        format!("RL{}", hex::encode_upper(&d[..7]))
    }
}

/// Move a DICOM date (`YYYYMMDD`) by `days` (negative: earlier).
/// `None` when the text is not a valid date.
///
/// ```
/// use radlab_deid::keyed::shift_date;
/// assert_eq!(shift_date("20240301", -1).as_deref(), Some("20240229"));
/// assert_eq!(shift_date("20230101", -365).as_deref(), Some("20220101"));
/// assert_eq!(shift_date("2023-01-01", -1), None);
/// ```
pub fn shift_date(date: &str, days: i64) -> Option<String> {
    let moved = parse_date(date)?.checked_add_signed(chrono::TimeDelta::try_days(days)?)?;
    if !(0..=9999).contains(&moved.year()) {
        return None;
    }
    Some(moved.format("%Y%m%d").to_string())
}

/// A DICOM DA value: exactly eight digits forming a proleptic Gregorian
/// date (chrono's calendar: month lengths and the 400-year leap rule).
fn parse_date(date: &str) -> Option<NaiveDate> {
    let d = date.trim();
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::from_ymd_opt(
        d[..4].parse().ok()?,
        d[4..6].parse().ok()?,
        d[6..].parse().ok()?,
    )
}

/// Days from `a` to `b` (both `YYYYMMDD`), for checking that intervals survive.
pub fn days_between(a: &str, b: &str) -> Option<i64> {
    Some((parse_date(b)? - parse_date(a)?).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn calendar_worked_examples() {
        assert_eq!(days_between("19700101", "20000301"), Some(11017));
        assert_eq!(shift_date("20000229", 1).as_deref(), Some("20000301"));
        assert_eq!(shift_date("19000301", -1).as_deref(), Some("19000228")); // 1900: no leap day
        assert_eq!(shift_date("20231231", 1).as_deref(), Some("20240101"));
        assert_eq!(shift_date("20230230", 0), None);
        assert_eq!(days_between("20240101", "20241231"), Some(365));
    }

    #[test]
    fn keys_shorter_than_16_bytes_are_refused() {
        assert!(Key::new(b"short").is_err());
        assert!(Key::new(&[7u8; 16]).is_ok());
    }

    #[test]
    fn different_keys_give_different_mappings() {
        let a = Key::new(b"0123456789abcdef").unwrap();
        let b = Key::new(b"0123456789abcdeg").unwrap();
        assert_ne!(a.uid("1.2.3"), b.uid("1.2.3"));
        assert_ne!(a.pseudonym("X"), b.pseudonym("X"));
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    proptest! {
        #[test]
        fn shifting_preserves_intervals(y in 1900i64..2090, m in 1i64..13, d in 1i64..29,
                                        gap in 0i64..4000, off in -4000i64..4000) {
            let a = format!("{y:04}{m:02}{d:02}");
            let b = shift_date(&a, gap).unwrap();
            let (sa, sb) = (shift_date(&a, off).unwrap(), shift_date(&b, off).unwrap());
            prop_assert_eq!(days_between(&sa, &sb), Some(gap));
            prop_assert_eq!(shift_date(&sa, -off), Some(a));
        }

        #[test]
        fn uids_are_valid(s in "[0-9.]{1,64}") {
            let u = Key::sample().uid(&s);
            prop_assert!(u.len() <= 64);
            prop_assert!(u.split('.').all(|c| !c.is_empty() && (c == "0" || !c.starts_with('0'))));
        }
    }
}
