//! Orthogonal planes, montages and 8-bit grayscale PNG files.
//!
//! Input volumes are `[z, y, x]` with spacing `(z, y, x)` in mm. Coronal and
//! sagittal planes are stretched vertically by `spacing.z / spacing.x` (or
//! `/ spacing.y`) so that anatomy keeps its true aspect ratio, and flipped so
//! that the patient's head is at the top when the slice axis points superior.

use std::path::Path;

use ndarray::{Array2, ArrayView2, ArrayView3, Axis, s};
use serde::Serialize;

use crate::error::{ImagingError, Result};

/// An anatomical plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Plane {
    /// Constant z: a slice as acquired.
    Axial,
    /// Constant y: front view.
    Coronal,
    /// Constant x: side view.
    Sagittal,
}

impl Plane {
    /// All three planes.
    pub const ALL: [Plane; 3] = [Plane::Axial, Plane::Coronal, Plane::Sagittal];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Plane::Axial => "axial",
            Plane::Coronal => "coronal",
            Plane::Sagittal => "sagittal",
        }
    }

    /// The index of the middle plane in a volume of this shape.
    pub fn middle(self, shape: [usize; 3]) -> usize {
        match self {
            Plane::Axial => shape[0] / 2,
            Plane::Coronal => shape[1] / 2,
            Plane::Sagittal => shape[2] / 2,
        }
    }
}

/// Stretch an image vertically by `factor` with linear interpolation.
fn stretch_rows(img: ArrayView2<u8>, factor: f64) -> Array2<u8> {
    let (h, w) = img.dim();
    if h == 0 || (factor - 1.0).abs() < 1e-6 {
        return img.to_owned();
    }
    // Display planes are stretched to at most 8192 rows, so that an extreme
    // spacing ratio cannot ask for an absurd image.
    let nh = (h as f64 * factor)
        .round()
        .clamp(1.0, 8192.0_f64.max(h as f64)) as usize;
    let factor = nh as f64 / h as f64;
    let mut out = Array2::<u8>::zeros((nh, w));
    for r in 0..nh {
        // Centre-aligned: output row r covers input (r + 0.5)/factor - 0.5.
        let u = ((r as f64 + 0.5) / factor - 0.5).clamp(0.0, (h - 1) as f64);
        let r0 = u.floor() as usize;
        let r1 = (r0 + 1).min(h - 1);
        let t = u - r0 as f64;
        for c in 0..w {
            let v = f64::from(img[[r0, c]]) * (1.0 - t) + f64::from(img[[r1, c]]) * t;
            out[[r, c]] = (v + 0.5) as u8;
        }
    }
    out
}

/// Extract one plane of an 8-bit volume for display.
///
/// `slice_dir_superior` should be true when the volume's z axis points toward
/// the head (LPS z component of `slice_dir` > 0), so coronal and sagittal
/// views are flipped to put the head at the top.
pub fn plane_image(
    vol: ArrayView3<u8>,
    spacing: radlab_geometry::Spacing,
    plane: Plane,
    index: usize,
    slice_dir_superior: bool,
) -> Array2<u8> {
    match plane {
        Plane::Axial => vol.index_axis(Axis(0), index).to_owned(),
        Plane::Coronal | Plane::Sagittal => {
            let (axis, inplane) = if plane == Plane::Coronal {
                (Axis(1), spacing.x)
            } else {
                (Axis(2), spacing.y)
            };
            let img = vol.index_axis(axis, index);
            let img = if slice_dir_superior {
                img.slice(s![..;-1, ..]).to_owned()
            } else {
                img.to_owned()
            };
            stretch_rows(img.view(), spacing.z / inplane)
        }
    }
}

/// The z indices a montage of `tiles` tiles shows for a volume of `nz` slices:
/// evenly spaced, each centred in one of `tiles` equal parts.
pub fn montage_indices(nz: usize, tiles: usize) -> Vec<usize> {
    let tiles = tiles.clamp(1, nz.max(1));
    (0..tiles)
        .map(|t| (((t as f64 + 0.5) * nz as f64 / tiles as f64) as usize).min(nz.saturating_sub(1)))
        .collect()
}

/// A grid of evenly spaced axial slices (see [`montage_indices`]), `cols` tiles wide.
pub fn montage(vol: ArrayView3<u8>, tiles: usize, cols: usize) -> Array2<u8> {
    let (nz, h, w) = vol.dim();
    let tiles = tiles.clamp(1, nz.max(1));
    let cols = cols.clamp(1, tiles);
    let rows = tiles.div_ceil(cols);
    let mut out = Array2::<u8>::zeros((rows * h, cols * w));
    if nz == 0 {
        return out;
    }
    for (t, z) in montage_indices(nz, tiles).into_iter().enumerate() {
        let (r, c) = (t / cols, t % cols);
        out.slice_mut(s![r * h..(r + 1) * h, c * w..(c + 1) * w])
            .assign(&vol.index_axis(Axis(0), z));
    }
    out
}

/// Encode an 8-bit grayscale image as PNG bytes.
pub fn encode_png(img: ArrayView2<u8>) -> std::result::Result<Vec<u8>, String> {
    let (h, w) = img.dim();
    let mut buf = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut buf, w as u32, h as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        let data: Vec<u8> = img.iter().copied().collect();
        writer.write_image_data(&data).map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

/// Write an 8-bit grayscale PNG atomically (temporary file, then rename).
pub fn write_png(path: &Path, img: ArrayView2<u8>) -> Result<()> {
    let err = |reason: String| ImagingError::Png {
        path: path.to_owned(),
        reason,
    };
    let bytes = encode_png(img).map_err(err)?;
    radlab_dicom::write::write_atomic(path, &bytes).map_err(|e| err(e.to_string()))
}

/// Encode an RGB image `[height, width, 3]` as PNG bytes.
pub fn encode_rgb_png(img: ndarray::ArrayView3<u8>) -> std::result::Result<Vec<u8>, String> {
    let (h, w, c) = img.dim();
    if c != 3 {
        return Err(format!("an RGB image needs 3 channels, not {c}"));
    }
    let mut buf = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut buf, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        let data: Vec<u8> = img.iter().copied().collect();
        writer.write_image_data(&data).map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

/// Write an RGB PNG `[height, width, 3]` atomically (temporary file, then rename).
pub fn write_rgb_png(path: &Path, img: ndarray::ArrayView3<u8>) -> Result<()> {
    let err = |reason: String| ImagingError::Png {
        path: path.to_owned(),
        reason,
    };
    let bytes = encode_rgb_png(img).map_err(err)?;
    radlab_dicom::write::write_atomic(path, &bytes).map_err(|e| err(e.to_string()))
}

/// The outline of a 2-D mask: its pixels with a 4-neighbour outside it
/// (outside the image counts as outside).
///
/// ```
/// use ndarray::Array2;
/// let mut m = Array2::from_elem((5, 5), false);
/// m.slice_mut(ndarray::s![1..4, 1..4]).fill(true);
/// let o = radlab_imaging::planes::outline(m.view());
/// assert_eq!(o.iter().filter(|&&v| v).count(), 8); // the ring, not the centre
/// ```
pub fn outline(mask: ArrayView2<bool>) -> Array2<bool> {
    let (h, w) = mask.dim();
    Array2::from_shape_fn((h, w), |(y, x)| {
        mask[[y, x]]
            && (y == 0
                || x == 0
                || y + 1 == h
                || x + 1 == w
                || !mask[[y - 1, x]]
                || !mask[[y + 1, x]]
                || !mask[[y, x - 1]]
                || !mask[[y, x + 1]])
    })
}

/// An 8-bit slice as RGB `[height * scale, width * scale, 3]` (nearest
/// neighbour), with the outlines of `layers` drawn over it, each in its
/// colour, later layers on top.
pub fn overlay_outlines(
    gray: ArrayView2<u8>,
    layers: &[(ArrayView2<bool>, [u8; 3])],
    scale: usize,
) -> ndarray::Array3<u8> {
    let (h, w) = gray.dim();
    let s = scale.max(1);
    let mut out = ndarray::Array3::<u8>::zeros((h * s, w * s, 3));
    let outlines: Vec<(Array2<bool>, [u8; 3])> = layers
        .iter()
        .map(|(m, c)| (outline(m.view()), *c))
        .collect();
    for y in 0..h * s {
        for x in 0..w * s {
            let (sy, sx) = (y / s, x / s);
            let g = gray[[sy, sx]];
            let mut px = [g, g, g];
            for (o, c) in &outlines {
                if o.get((sy, sx)).copied().unwrap_or(false) {
                    px = *c;
                }
            }
            for k in 0..3 {
                out[[y, x, k]] = px[k];
            }
        }
    }
    out
}
