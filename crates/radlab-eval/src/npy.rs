//! NumPy `.npy` arrays of any common dtype, read once into `f64` with the
//! kind of data they held, so that each reader checks shape and values
//! itself instead of trying each dtype in turn.

use std::path::Path;

use ndarray::ArrayD;
use ndarray_npy::read_npy;

/// What an array held before conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyKind {
    /// float32 or float64.
    Float,
    /// A signed or unsigned integer type (every value exact in `f64`: at most 32 bits, or i64).
    Integer,
    /// bool (0.0 and 1.0).
    Bool,
}

/// Read an `.npy` file (C order) of float32/64, (u)int8/16/32, int64 or
/// bool into `f64`. `None` when it is none of these (or not an array).
pub fn read_any(path: &Path) -> Option<(ArrayD<f64>, NpyKind)> {
    macro_rules! try_as {
        ($t:ty, $kind:expr) => {
            if let Ok(a) = read_npy::<_, ArrayD<$t>>(path) {
                return Some((a.mapv(|v| v as f64), $kind));
            }
        };
    }
    try_as!(f64, NpyKind::Float);
    try_as!(f32, NpyKind::Float);
    try_as!(u8, NpyKind::Integer);
    try_as!(u16, NpyKind::Integer);
    try_as!(u32, NpyKind::Integer);
    try_as!(i8, NpyKind::Integer);
    try_as!(i16, NpyKind::Integer);
    try_as!(i32, NpyKind::Integer);
    try_as!(i64, NpyKind::Integer);
    if let Ok(a) = read_npy::<_, ArrayD<bool>>(path) {
        return Some((a.mapv(|v| f64::from(u8::from(v))), NpyKind::Bool));
    }
    None
}
