//! Slice ordering and spacing: the pure geometry behind series loading.
//!
//! Patient coordinates are DICOM's LPS, in millimetres. Slices are ordered by
//! projecting each ImagePositionPatient onto the slice normal
//! `n = row_dir x col_dir` (from ImageOrientationPatient), never by
//! InstanceNumber or file name. Slice spacing is derived from those
//! projections, never from SliceThickness.

use serde::Serialize;

/// Where one frame sits in space, as read from its header.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// ImagePositionPatient: centre of the first transmitted pixel, LPS mm.
    pub position: Option<[f64; 3]>,
    /// ImageOrientationPatient: row direction cosines then column direction cosines.
    pub orientation: Option<[f64; 6]>,
    /// InstanceNumber (only used when positions are absent).
    pub instance_number: Option<i64>,
}

/// A warning about the geometry of a series that still loads.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeometryWarning {
    /// Gaps of about `count` slices after sorted slice `after` (0-based).
    MissingSlices {
        /// Index (sorted) of the slice before the gap.
        after: usize,
        /// Estimated number of missing slices.
        count: usize,
        /// The gap in mm.
        gap_mm: f64,
        /// The nominal spacing in mm.
        spacing_mm: f64,
    },
    /// Spacing varies by more than the tolerance, without being a whole-slice gap.
    NonUniformSpacing {
        /// Smallest step in mm.
        min_mm: f64,
        /// Largest step in mm.
        max_mm: f64,
        /// The spacing used (median step) in mm.
        spacing_mm: f64,
    },
    /// Slice origins move within the slice plane (e.g. gantry tilt); the volume is approximate.
    InPlaneDrift {
        /// Largest in-plane offset from the first slice's line, in mm.
        max_mm: f64,
    },
    /// No positions: order and spacing come from weaker sources.
    NoPositions {
        /// Where the slice order came from.
        order_from: String,
        /// Where the spacing came from.
        spacing_from: String,
    },
    /// PixelSpacing (0028,0030) is absent: in-plane spacing comes from elsewhere.
    PixelSpacingAssumed {
        /// Where the in-plane spacing came from.
        from: String,
    },
    /// Only one slice: the z spacing comes from another attribute.
    SingleSlice {
        /// Where the spacing came from.
        spacing_from: String,
    },
    /// No ImagePositionPatient on the first slice: the origin is assumed.
    OriginAssumed,
    /// A file was read with an assumption or a quirk (not geometry proper).
    File {
        /// The first file it applies to.
        path: String,
        /// In how many of the series' files.
        count: usize,
        /// What was assumed or ignored.
        what: String,
    },
}

impl std::fmt::Display for GeometryWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GeometryWarning::MissingSlices {
                after,
                count,
                gap_mm,
                spacing_mm,
            } => write!(
                f,
                "about {count} slice(s) missing after sorted slice {after}: gap {gap_mm:.3} mm where spacing is {spacing_mm:.3} mm"
            ),
            GeometryWarning::NonUniformSpacing {
                min_mm,
                max_mm,
                spacing_mm,
            } => write!(
                f,
                "non-uniform slice spacing: steps from {min_mm:.3} to {max_mm:.3} mm; using the median {spacing_mm:.3} mm"
            ),
            GeometryWarning::InPlaneDrift { max_mm } => write!(
                f,
                "slice origins drift {max_mm:.3} mm within the slice plane (gantry tilt?); geometry is approximate"
            ),
            GeometryWarning::NoPositions {
                order_from,
                spacing_from,
            } => write!(
                f,
                "no ImagePositionPatient: slices ordered by {order_from}, spacing from {spacing_from}"
            ),
            GeometryWarning::PixelSpacingAssumed { from } => {
                write!(f, "no PixelSpacing: in-plane spacing from {from}")
            }
            GeometryWarning::SingleSlice { spacing_from } => {
                write!(f, "single slice: z spacing from {spacing_from}")
            }
            GeometryWarning::OriginAssumed => write!(
                f,
                "no ImagePositionPatient: origin assumed (0, 0, 0) and positions are not patient coordinates"
            ),
            GeometryWarning::File { path, count, what } => {
                if *count > 1 {
                    write!(f, "{path} and {} more file(s): {what}", count - 1)
                } else {
                    write!(f, "{path}: {what}")
                }
            }
        }
    }
}

/// Why frames cannot be stacked.
#[derive(Debug, Clone, PartialEq)]
pub enum GeometryProblem {
    /// Frame `index` has an orientation different from frame 0.
    MixedOrientation {
        /// Index of the frame (input order).
        index: usize,
    },
    /// Frames `a` and `b` sit at the same position along the normal.
    DuplicatePosition {
        /// First frame (input order).
        a: usize,
        /// Second frame (input order).
        b: usize,
        /// Their position along the normal, mm.
        at_mm: f64,
    },
    /// Some frames have a position and some do not.
    PartialPositions {
        /// A frame without position (input order).
        index: usize,
    },
    /// The orientation vectors are not unit length or not orthogonal.
    BadOrientation {
        /// Index of the frame.
        index: usize,
    },
}

impl std::fmt::Display for GeometryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GeometryProblem::MixedOrientation { .. } => {
                write!(f, "mixed ImageOrientationPatient within the series")
            }
            GeometryProblem::DuplicatePosition { at_mm, .. } => write!(
                f,
                "two slices at the same position ({at_mm:.3} mm along the normal); is this several echoes or phases in one series?"
            ),
            GeometryProblem::PartialPositions { .. } => {
                write!(f, "some slices have ImagePositionPatient and some do not")
            }
            GeometryProblem::BadOrientation { .. } => write!(
                f,
                "ImageOrientationPatient is not two orthogonal unit vectors"
            ),
        }
    }
}

/// The result of ordering: which frame goes where, and the derived spacing.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceOrder {
    /// `order[k]` is the input index of the frame placed at z index `k`.
    pub order: Vec<usize>,
    /// Spacing between slices along the normal, mm (median step), or `None`
    /// when it could not be derived from positions.
    pub spacing_mm: Option<f64>,
    /// Unit row direction (x axis), LPS.
    pub row_dir: [f64; 3],
    /// Unit column direction (y axis), LPS.
    pub col_dir: [f64; 3],
    /// Unit slice normal `row_dir x col_dir` (z axis), LPS.
    pub normal: [f64; 3],
    /// Position along the normal of each sorted slice, mm (empty without positions).
    pub along_normal_mm: Vec<f64>,
    /// Warnings: the series still loads.
    pub warnings: Vec<GeometryWarning>,
}

/// Dot product of two 3-vectors.
pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Cross product of two 3-vectors.
pub fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

fn normalize(a: [f64; 3]) -> [f64; 3] {
    let n = norm(a);
    [a[0] / n, a[1] / n, a[2] / n]
}

/// Median of a non-empty slice.
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Tolerance in mm under which two slice steps count as equal.
pub const SPACING_TOLERANCE_MM: f64 = 0.01;

/// Order frames along the slice normal and derive their spacing.
///
/// Frames without any position are kept in InstanceNumber order (then input
/// order) with a [`GeometryWarning::NoPositions`]. Orientation defaults to the
/// identity (axial) when absent.
pub fn order_slices(frames: &[Placement]) -> Result<SliceOrder, GeometryProblem> {
    let identity = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let first_orientation = frames
        .iter()
        .find_map(|f| f.orientation)
        .unwrap_or(identity);
    let row = [
        first_orientation[0],
        first_orientation[1],
        first_orientation[2],
    ];
    let col = [
        first_orientation[3],
        first_orientation[4],
        first_orientation[5],
    ];
    if (norm(row) - 1.0).abs() > 1e-2
        || (norm(col) - 1.0).abs() > 1e-2
        || dot(row, col).abs() > 1e-2
    {
        return Err(GeometryProblem::BadOrientation { index: 0 });
    }
    let row_dir = normalize(row);
    let col_dir = normalize(col);
    let normal = normalize(cross(row_dir, col_dir));

    for (i, f) in frames.iter().enumerate() {
        if let Some(o) = f.orientation {
            let r = normalize([o[0], o[1], o[2]]);
            let c = normalize([o[3], o[4], o[5]]);
            if dot(r, row_dir) < 0.9999 || dot(c, col_dir) < 0.9999 {
                return Err(GeometryProblem::MixedOrientation { index: i });
            }
        }
    }

    let with_pos = frames.iter().filter(|f| f.position.is_some()).count();
    if with_pos == 0 {
        let mut order: Vec<usize> = (0..frames.len()).collect();
        let has_numbers = frames.iter().all(|f| f.instance_number.is_some());
        if has_numbers {
            order.sort_by_key(|&i| (frames[i].instance_number, i));
        }
        let mut warnings = Vec::new();
        if frames.len() > 1 {
            warnings.push(GeometryWarning::NoPositions {
                order_from: if has_numbers {
                    "InstanceNumber".into()
                } else {
                    "frame order in the file".into()
                },
                spacing_from: "SpacingBetweenSlices or SliceThickness".into(),
            });
        }
        return Ok(SliceOrder {
            order,
            spacing_mm: None,
            row_dir,
            col_dir,
            normal,
            along_normal_mm: Vec::new(),
            warnings,
        });
    }
    if with_pos < frames.len() {
        let index = frames
            .iter()
            .position(|f| f.position.is_none())
            .unwrap_or(0);
        return Err(GeometryProblem::PartialPositions { index });
    }

    let d: Vec<f64> = frames
        .iter()
        .map(|f| dot(f.position.unwrap_or_default(), normal))
        .collect();
    let mut order: Vec<usize> = (0..frames.len()).collect();
    order.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(a.cmp(&b)));
    let along: Vec<f64> = order.iter().map(|&i| d[i]).collect();

    for k in 1..order.len() {
        if (along[k] - along[k - 1]).abs() < 1e-3 {
            return Err(GeometryProblem::DuplicatePosition {
                a: order[k - 1],
                b: order[k],
                at_mm: along[k],
            });
        }
    }

    let mut warnings = Vec::new();
    if frames.len() == 1 {
        warnings.push(GeometryWarning::SingleSlice {
            spacing_from: "SpacingBetweenSlices or SliceThickness".into(),
        });
        return Ok(SliceOrder {
            order,
            spacing_mm: None,
            row_dir,
            col_dir,
            normal,
            along_normal_mm: along,
            warnings,
        });
    }

    let steps: Vec<f64> = along.windows(2).map(|w| w[1] - w[0]).collect();
    // The nominal spacing is the median step; whole-multiple steps are gaps.
    let spacing = median(&steps);
    let tol = SPACING_TOLERANCE_MM.max(0.01 * spacing);
    let mut irregular = false;
    for (k, &s) in steps.iter().enumerate() {
        if (s - spacing).abs() <= tol {
            continue;
        }
        let ratio = s / spacing;
        let whole = ratio.round();
        if whole >= 2.0 && (s - whole * spacing).abs() <= tol * whole {
            warnings.push(GeometryWarning::MissingSlices {
                after: k,
                count: whole as usize - 1,
                gap_mm: s,
                spacing_mm: spacing,
            });
        } else {
            irregular = true;
        }
    }
    if irregular {
        let min = steps.iter().copied().fold(f64::INFINITY, f64::min);
        let max = steps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        warnings.push(GeometryWarning::NonUniformSpacing {
            min_mm: min,
            max_mm: max,
            spacing_mm: spacing,
        });
    }

    // In-plane drift: offset of each origin from the line through the first
    // origin along the normal.
    let p0 = frames[order[0]].position.unwrap_or_default();
    let mut drift: f64 = 0.0;
    for &i in &order {
        let p = frames[i].position.unwrap_or_default();
        let v = [p[0] - p0[0], p[1] - p0[1], p[2] - p0[2]];
        let along_n = dot(v, normal);
        let perp = [
            v[0] - along_n * normal[0],
            v[1] - along_n * normal[1],
            v[2] - along_n * normal[2],
        ];
        drift = drift.max(norm(perp));
    }
    if drift > 0.01 {
        warnings.push(GeometryWarning::InPlaneDrift { max_mm: drift });
    }

    Ok(SliceOrder {
        order,
        spacing_mm: Some(spacing),
        row_dir,
        col_dir,
        normal,
        along_normal_mm: along,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axial(z: f64, n: i64) -> Placement {
        Placement {
            position: Some([-100.0, -100.0, z]),
            orientation: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            instance_number: Some(n),
        }
    }

    #[test]
    fn orders_by_position_not_instance_number() {
        // InstanceNumbers say the opposite of the positions.
        let frames = vec![axial(10.0, 1), axial(0.0, 3), axial(5.0, 2)];
        let o = order_slices(&frames).unwrap();
        assert_eq!(o.order, vec![1, 2, 0]);
        assert_eq!(o.spacing_mm, Some(5.0));
        assert!(o.warnings.is_empty());
    }

    #[test]
    fn reports_missing_slice() {
        let frames = vec![axial(0.0, 1), axial(2.0, 2), axial(6.0, 3), axial(8.0, 4)];
        let o = order_slices(&frames).unwrap();
        assert_eq!(o.spacing_mm, Some(2.0));
        assert_eq!(
            o.warnings,
            vec![GeometryWarning::MissingSlices {
                after: 1,
                count: 1,
                gap_mm: 4.0,
                spacing_mm: 2.0
            }]
        );
    }

    #[test]
    fn rejects_duplicates_and_mixed_orientation() {
        let frames = vec![axial(0.0, 1), axial(0.0, 2)];
        assert!(matches!(
            order_slices(&frames),
            Err(GeometryProblem::DuplicatePosition { .. })
        ));
        let mut b = axial(2.0, 2);
        b.orientation = Some([1.0, 0.0, 0.0, 0.0, 0.0, -1.0]);
        assert!(matches!(
            order_slices(&[axial(0.0, 1), b]),
            Err(GeometryProblem::MixedOrientation { index: 1 })
        ));
    }
}
