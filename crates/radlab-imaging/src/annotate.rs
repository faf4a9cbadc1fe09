//! Labels burned into the 8-bit images radlab writes: the window used and
//! the patient directions at the image edges, as a viewer shows them. A
//! windowed PNG without them cannot be read: is the left of the picture the
//! patient's right?
//!
//! ```
//! use ndarray::Array2;
//! use radlab_imaging::annotate::{edge_letters, label};
//! use radlab_imaging::Plane;
//! // An axial slice of a head-first supine scan: x along L, y along P.
//! let e = edge_letters(Plane::Axial, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], true);
//! assert_eq!(e, ['R', 'L', 'A', 'P']);
//! let mut img = Array2::<u8>::zeros((64, 64));
//! label(&mut img, &["W 1500 L -600"], e);
//! assert!(img.iter().any(|&v| v == 255));
//! ```

use ndarray::Array2;

use crate::Plane;

/// The letter of the patient direction closest to `v` (LPS): `L`/`R` for
/// x, `P`/`A` for y, `S`/`I` for z.
pub fn direction_letter(v: [f64; 3]) -> char {
    let (mut k, mut best) = (0, 0.0f64);
    for (i, c) in v.iter().enumerate() {
        if c.abs() > best {
            (k, best) = (i, c.abs());
        }
    }
    let positive = v[k] >= 0.0;
    match (k, positive) {
        (0, true) => 'L',
        (0, false) => 'R',
        (1, true) => 'P',
        (1, false) => 'A',
        (2, true) => 'S',
        _ => 'I',
    }
}

fn neg(v: [f64; 3]) -> [f64; 3] {
    [-v[0], -v[1], -v[2]]
}

/// The patient directions at the left, right, top and bottom edges of a
/// plane drawn by [`crate::planes::plane_image`] from a volume whose x, y
/// and z axes point along `row_dir`, `col_dir` and `slice_dir` (LPS unit
/// vectors); `slice_dir_superior` as given to `plane_image` (it flips
/// coronal and sagittal images so that superior is up).
pub fn edge_letters(
    plane: Plane,
    row_dir: [f64; 3],
    col_dir: [f64; 3],
    slice_dir: [f64; 3],
    slice_dir_superior: bool,
) -> [char; 4] {
    let (across, down) = match plane {
        Plane::Axial => (row_dir, col_dir),
        Plane::Coronal | Plane::Sagittal => {
            let across = if plane == Plane::Coronal {
                row_dir
            } else {
                col_dir
            };
            let down = if slice_dir_superior {
                neg(slice_dir)
            } else {
                slice_dir
            };
            (across, down)
        }
    };
    [
        direction_letter(neg(across)),
        direction_letter(across),
        direction_letter(neg(down)),
        direction_letter(down),
    ]
}

/// Mark `s` at pixel (`x`, `y`), scaled `scale` times, into `mask`:
/// 2 for the glyphs, 1 for their one-pixel outline (left as is where a
/// glyph already is).
fn text(mask: &mut Array2<u8>, s: &str, x: usize, y: usize, scale: usize) {
    use font8x8::UnicodeFonts;
    let (h, w) = mask.dim();
    for pass in [1u8, 2] {
        for (ci, ch) in s.chars().enumerate() {
            let Some(glyph) = font8x8::BASIC_FONTS.get(ch) else {
                continue;
            };
            for (gy, bits) in glyph.iter().enumerate() {
                for gx in (0..8).filter(|gx| bits & (1 << gx) != 0) {
                    for sy in 0..scale {
                        for sx in 0..scale {
                            let px = x + (ci * 8 + gx) * scale + sx;
                            let py = y + gy * scale + sy;
                            let around: &[(isize, isize)] = if pass == 1 {
                                &[
                                    (-1, -1),
                                    (0, -1),
                                    (1, -1),
                                    (-1, 0),
                                    (1, 0),
                                    (-1, 1),
                                    (0, 1),
                                    (1, 1),
                                ]
                            } else {
                                &[(0, 0)]
                            };
                            for (dx, dy) in around {
                                let (qx, qy) = (px as isize + dx, py as isize + dy);
                                if qx >= 0 && qy >= 0 && (qx as usize) < w && (qy as usize) < h {
                                    let m = &mut mask[[qy as usize, qx as usize]];
                                    *m = (*m).max(pass);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn scale_for(w: usize) -> usize {
    if w > 384 { 2 } else { 1 }
}

/// Burn `lines` into the top-left corner and the `edges` letters (left,
/// right, top, bottom) at the middle of each edge. Text is scaled up on
/// images wider than 384 pixels; an image too small for the text is left
/// as it is.
pub fn label(img: &mut Array2<u8>, lines: &[&str], edges: [char; 4]) {
    let (h, w) = img.dim();
    if h < 24 || w < 24 {
        return;
    }
    let scale = scale_for(w);
    let g = 8 * scale;
    let mut mask = Array2::<u8>::zeros((h, w));
    for (i, line) in lines.iter().enumerate() {
        text(&mut mask, line, 2, 2 + i * (g + 2), scale);
    }
    let mid_y = h / 2 - g / 2;
    let mid_x = w / 2 - g / 2;
    text(&mut mask, &edges[0].to_string(), 2, mid_y, scale);
    text(
        &mut mask,
        &edges[1].to_string(),
        w.saturating_sub(g + 2),
        mid_y,
        scale,
    );
    let top_y = if lines.is_empty() {
        2
    } else {
        2 + lines.len() * (g + 2)
    };
    text(
        &mut mask,
        &edges[2].to_string(),
        mid_x,
        top_y.min(h / 2),
        scale,
    );
    text(
        &mut mask,
        &edges[3].to_string(),
        mid_x,
        h.saturating_sub(g + 2),
        scale,
    );
    for (p, &m) in img.iter_mut().zip(mask.iter()) {
        match m {
            1 => *p = 0,
            2 => *p = 255,
            _ => {}
        }
    }
}

/// A legend in the bottom-left corner of an RGB image `[h, w, 3]`: one line
/// per entry, in the entry's colour on a black outline (e.g. which outline
/// is the reference and which the prediction).
pub fn legend_rgb(img: &mut ndarray::Array3<u8>, entries: &[(&str, [u8; 3])]) {
    let (h, w, _) = img.dim();
    let scale = scale_for(w);
    let g = 8 * scale;
    if h < (g + 2) * entries.len() + 4 || w < 24 {
        return;
    }
    for (i, (line, colour)) in entries.iter().enumerate() {
        let mut mask = Array2::<u8>::zeros((h, w));
        let y = h - (entries.len() - i) * (g + 2) - 2;
        text(&mut mask, line, 3, y, scale);
        for ((yy, xx), &m) in mask.indexed_iter() {
            let px = match m {
                1 => [0, 0, 0],
                2 => *colour,
                _ => continue,
            };
            for k in 0..3 {
                img[[yy, xx, k]] = px[k];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_follow_the_direction_cosines() {
        let (x, y, z) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]);
        assert_eq!(
            edge_letters(Plane::Coronal, x, y, z, true),
            ['R', 'L', 'S', 'I']
        );
        assert_eq!(
            edge_letters(Plane::Sagittal, x, y, z, true),
            ['A', 'P', 'S', 'I']
        );
        // Feet first, slices running inferior: no flip, superior still up.
        assert_eq!(
            edge_letters(Plane::Coronal, x, y, [0.0, 0.0, -1.0], false),
            ['R', 'L', 'S', 'I']
        );
        // A prone scan: rows along R, columns along A.
        assert_eq!(
            edge_letters(Plane::Axial, [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], z, true),
            ['L', 'R', 'P', 'A']
        );
        assert_eq!(direction_letter([0.2, -0.9, 0.1]), 'A');
    }

    #[test]
    fn labels_stay_inside_small_images() {
        let mut img = Array2::<u8>::from_elem((30, 30), 100);
        label(
            &mut img,
            &["a very long line that runs off the edge"],
            ['R', 'L', 'A', 'P'],
        );
        assert!(img.iter().any(|&v| v == 255) && img.iter().any(|&v| v == 0));
        let mut tiny = Array2::<u8>::from_elem((8, 8), 100);
        label(&mut tiny, &["x"], ['R', 'L', 'A', 'P']);
        assert!(tiny.iter().all(|&v| v == 100));
        let mut rgb = ndarray::Array3::<u8>::from_elem((64, 64, 3), 100);
        legend_rgb(&mut rgb, &[("ref", [40, 220, 60]), ("pred", [240, 50, 50])]);
        let px: Vec<[u8; 3]> = rgb
            .outer_iter()
            .flat_map(|row| {
                row.outer_iter()
                    .map(|p| [p[0], p[1], p[2]])
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(px.contains(&[40, 220, 60]) && px.contains(&[240, 50, 50]));
    }
}
