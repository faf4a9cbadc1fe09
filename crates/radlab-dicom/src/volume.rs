//! `Volume`: a series as one 3D array of modality values (HU for CT) with its geometry.

use radlab_geometry::Spacing;
use std::path::{Path, PathBuf};

use ndarray::Array3;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{DicomError, Result};
use crate::geometry::{self, GeometryProblem, GeometryWarning, order_slices};
use crate::header::ImageHeader;
use crate::pixels::{self, Rescale};

/// A stack of slices in patient space.
///
/// * `voxels` is indexed `[z, y, x]`: `z` along the slice normal, `y` down the
///   rows (column direction), `x` along a row (row direction).
/// * `spacing` is `(z, y, x)` in millimetres.
/// * `origin` is the LPS position (mm) of the centre of voxel `[0, 0, 0]`.
/// * `row_dir`, `col_dir`, `slice_dir` are unit LPS vectors of the x, y and z axes.
///
/// The LPS position of voxel `[z, y, x]` is
/// `origin + x*spacing.x*row_dir + y*spacing.y*col_dir + z*spacing.z*slice_dir`
/// (see [`Volume::position`]).
#[derive(Debug, Clone)]
pub struct Volume {
    /// Modality values (Hounsfield units for CT), `[z, y, x]`.
    pub voxels: Array3<f32>,
    /// Voxel spacing in mm, by axis.
    pub spacing: Spacing,
    /// LPS position of the centre of voxel `[0, 0, 0]`, mm.
    pub origin: [f64; 3],
    /// Unit LPS direction of increasing x (a row, left to right on screen).
    pub row_dir: [f64; 3],
    /// Unit LPS direction of increasing y (down a column).
    pub col_dir: [f64; 3],
    /// Unit LPS direction of increasing z (`row_dir x col_dir`).
    pub slice_dir: [f64; 3],
    /// The file each z slice came from, and its frame index in that file.
    pub slices: Vec<(PathBuf, usize)>,
    /// Series Instance UID.
    pub series_uid: String,
    /// Modality, e.g. "CT".
    pub modality: String,
    /// True for MONOCHROME1 data: low values display bright.
    pub monochrome1: bool,
    /// First window (center, width) found in the header, if any.
    pub header_window: Option<(f64, f64)>,
    /// Transfer syntaxes seen, by UID.
    pub transfer_syntaxes: Vec<String>,
    /// Geometry warnings; the volume loaded anyway.
    pub warnings: Vec<GeometryWarning>,
}

/// Summary statistics of a volume's values.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Stats {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
}

impl Volume {
    /// Shape `[z, y, x]`.
    pub fn shape(&self) -> [usize; 3] {
        let s = self.voxels.shape();
        [s[0], s[1], s[2]]
    }

    /// LPS position (mm) of the centre of voxel `[z, y, x]` (fractional indices allowed).
    pub fn position(&self, z: f64, y: f64, x: f64) -> [f64; 3] {
        let [sz, sy, sx] = self.spacing.zyx();
        let mut p = self.origin;
        for (i, p_i) in p.iter_mut().enumerate() {
            *p_i +=
                x * sx * self.row_dir[i] + y * sy * self.col_dir[i] + z * sz * self.slice_dir[i];
        }
        p
    }

    /// Fractional index `[z, y, x]` of an LPS point (mm); the inverse of [`Volume::position`].
    pub fn index_of(&self, p: [f64; 3]) -> [f64; 3] {
        let v = [
            p[0] - self.origin[0],
            p[1] - self.origin[1],
            p[2] - self.origin[2],
        ];
        [
            geometry::dot(v, self.slice_dir) / self.spacing.z,
            geometry::dot(v, self.col_dir) / self.spacing.y,
            geometry::dot(v, self.row_dir) / self.spacing.x,
        ]
    }

    /// The anatomical plane of the slices from the slice normal: `axial`,
    /// `coronal`, `sagittal`, or `oblique` when no axis dominates (|cos| < 0.9).
    pub fn plane_name(&self) -> &'static str {
        let n = self.slice_dir;
        let (ax, ay, az) = (n[0].abs(), n[1].abs(), n[2].abs());
        if az >= 0.9 {
            "axial"
        } else if ay >= 0.9 {
            "coronal"
        } else if ax >= 0.9 {
            "sagittal"
        } else {
            "oblique"
        }
    }

    /// A copy of everything but the voxels (which are left empty, shape `[0, 0, 0]`).
    pub fn clone_without_voxels(&self) -> Volume {
        Volume {
            voxels: Array3::zeros((0, 0, 0)),
            spacing: self.spacing,
            origin: self.origin,
            row_dir: self.row_dir,
            col_dir: self.col_dir,
            slice_dir: self.slice_dir,
            slices: self.slices.clone(),
            series_uid: self.series_uid.clone(),
            modality: self.modality.clone(),
            monochrome1: self.monochrome1,
            header_window: self.header_window,
            transfer_syntaxes: self.transfer_syntaxes.clone(),
            warnings: self.warnings.clone(),
        }
    }

    /// Min, max, mean and standard deviation of all voxels (computed in f64).
    pub fn stats(&self) -> Stats {
        stats_of(self.voxels.as_slice_memory_order().unwrap_or(&[]))
    }
}

/// Min, max, mean and standard deviation of values (computed in f64, in parallel).
pub fn stats_of(values: &[f32]) -> Stats {
    if values.is_empty() {
        return Stats {
            min: f64::NAN,
            max: f64::NAN,
            mean: f64::NAN,
            std: f64::NAN,
        };
    }
    let (min, max, sum, sq) = values
        .par_chunks(1 << 16)
        .map(|c| {
            let mut mn = f32::INFINITY;
            let mut mx = f32::NEG_INFINITY;
            let mut s = 0.0f64;
            let mut q = 0.0f64;
            for &v in c {
                mn = mn.min(v);
                mx = mx.max(v);
                s += f64::from(v);
                q += f64::from(v) * f64::from(v);
            }
            (mn, mx, s, q)
        })
        .reduce(
            || (f32::INFINITY, f32::NEG_INFINITY, 0.0, 0.0),
            |a, b| (a.0.min(b.0), a.1.max(b.1), a.2 + b.2, a.3 + b.3),
        );
    let n = values.len() as f64;
    let mean = sum / n;
    Stats {
        min: f64::from(min),
        max: f64::from(max),
        mean,
        std: (sq / n - mean * mean).max(0.0).sqrt(),
    }
}

/// Advise the kernel to back a large allocation with transparent huge pages,
/// and fault it in at once.
///
/// The first touch of a 300 x 512 x 512 f32 volume otherwise costs ~77 000
/// page faults, which on a virtual machine took longer (~180 ms) than reading
/// and decoding the whole series. No effect off Linux or on small buffers.
fn advise_huge_pages<T>(v: &[T], populate: bool) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = std::mem::size_of_val(v);
        if bytes >= 4 * HUGE {
            let start = v.as_ptr() as usize;
            let aligned = start.next_multiple_of(HUGE);
            let end = (start + bytes) / HUGE * HUGE;
            if end > aligned {
                // SAFETY: the range lies inside this slice's own allocation;
                // MADV_HUGEPAGE only changes how the kernel backs the pages
                // (their contents are kept), and a failure is harmless.
                // MADV_POPULATE_WRITE (Linux 5.14+) then faults the range in
                // one call instead of one fault per page on first touch
                // (older kernels refuse it, harmlessly).
                const MADV_POPULATE_WRITE: libc::c_int = 23;
                unsafe {
                    libc::madvise(
                        aligned as *mut libc::c_void,
                        end - aligned,
                        libc::MADV_HUGEPAGE,
                    );
                    if populate {
                        libc::madvise(
                            aligned as *mut libc::c_void,
                            end - aligned,
                            MADV_POPULATE_WRITE,
                        );
                    }
                }
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// A zeroed `f32` buffer of `len` values, backed by huge pages where possible.
pub fn zeroed_f32(len: usize) -> Vec<f32> {
    let v = vec![0f32; len];
    // Not populated: the loader's threads fault their own slices in parallel,
    // which measured faster (75 ms vs 100 ms for 300 x 512 x 512) than one
    // populating call up front.
    advise_huge_pages(&v, false);
    v
}

/// A zeroed `f32` buffer of `len` values, or `None` when the allocator
/// refuses it (an address-space limit, say) instead of aborting the process.
///
/// Zeroed pages come from the kernel untouched, as with `vec![0.0; len]`.
pub fn try_zeroed_f32(len: usize) -> Option<Vec<f32>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<f32>(len).ok()?;
    // SAFETY: the layout has a non-zero size; a null pointer is handled.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<f32>();
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` comes from the global allocator with the layout of
    // `len` f32 values (what Vec uses for that capacity), and zeroed bytes
    // are valid f32 values (0.0).
    let v = unsafe { Vec::from_raw_parts(ptr, len, len) };
    advise_huge_pages(&v, false);
    Some(v)
}

/// A zeroed `u8` buffer of `len` values, backed by huge pages where possible.
pub fn zeroed_u8(len: usize) -> Vec<u8> {
    let v = vec![0u8; len];
    // Populated: windowing writes it in one pass right after, and faulting
    // it in one call cut a 300 x 512 x 512 window from ~120 to ~40 ms.
    advise_huge_pages(&v, true);
    v
}

/// Options for [`load_series_with`].
#[derive(Default)]
pub struct LoadOptions<'a> {
    /// Called with (files decoded, total files) as decoding progresses.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
}

/// Load the files of one series into a [`Volume`].
///
/// Slices are ordered by their position along the slice normal; each slice's
/// own RescaleSlope/RescaleIntercept is applied; spacing comes from positions.
/// Multi-frame files contribute one slice per frame. Files are decoded in
/// parallel, each straight into its place in the volume.
pub fn load_series(paths: &[PathBuf]) -> Result<Volume> {
    load_series_with(paths, &LoadOptions::default())
}

/// [`load_series`] with options (progress reporting).
pub fn load_series_with(paths: &[PathBuf], options: &LoadOptions<'_>) -> Result<Volume> {
    let Some(first_path) = paths.first() else {
        return Err(DicomError::NoImages {
            path: PathBuf::from("."),
            detail: " (empty file list)".into(),
        });
    };
    let headers: Vec<ImageHeader> = paths
        .par_iter()
        .map(|p| ImageHeader::read(p))
        .collect::<Result<_>>()?;
    let h0 = &headers[0];
    for h in &headers[1..] {
        if (h.layout.rows, h.layout.cols) != (h0.layout.rows, h0.layout.cols) {
            return Err(DicomError::Geometry {
                path: h.path.clone(),
                reason: format!(
                    "mixed image sizes: {} is {}x{} but {} is {}x{}",
                    h.path.display(),
                    h.layout.rows,
                    h.layout.cols,
                    h0.path.display(),
                    h0.layout.rows,
                    h0.layout.cols
                ),
            });
        }
    }

    // One in-plane spacing for the whole volume.
    for h in &headers[1..] {
        let same = match (h.pixel_spacing, h0.pixel_spacing) {
            (Some((a, _)), Some((b, _))) => {
                (0..2).all(|k| (a[k] - b[k]).abs() <= 1e-4 * b[k].abs().max(1e-3))
            }
            (None, None) => true,
            _ => false,
        };
        if !same {
            let show = |p: Option<([f64; 2], &str)>| match p {
                Some((s, from)) => format!("{} {}\\{}", from, s[0], s[1]),
                None => "no PixelSpacing".to_string(),
            };
            return Err(DicomError::Geometry {
                path: h.path.clone(),
                reason: format!(
                    "mixed in-plane spacing: {} has {} but {} has {}",
                    h.path.display(),
                    show(h.pixel_spacing),
                    h0.path.display(),
                    show(h0.pixel_spacing)
                ),
            });
        }
    }

    // One entry per frame: (file index, frame index).
    let mut frames = Vec::new();
    let mut placements = Vec::new();
    for (fi, h) in headers.iter().enumerate() {
        for (k, p) in h.placements.iter().enumerate() {
            frames.push((fi, k));
            placements.push(p.clone());
        }
    }
    let order = order_slices(&placements).map_err(|problem| {
        let index = match &problem {
            GeometryProblem::MixedOrientation { index }
            | GeometryProblem::PartialPositions { index }
            | GeometryProblem::BadOrientation { index } => *index,
            GeometryProblem::DuplicatePosition { b, .. } => *b,
        };
        let (fi, _) = frames[index];
        let mut reason = problem.to_string();
        if let GeometryProblem::DuplicatePosition { a, .. } = problem {
            reason.push_str(&format!(" (also {})", headers[frames[a].0].path.display()));
        }
        DicomError::Geometry {
            path: headers[fi].path.clone(),
            reason,
        }
    })?;

    if let Some(sp) = order
        .spacing_mm
        .filter(|s| !crate::limits::plausible_spacing(*s))
    {
        return Err(DicomError::Geometry {
            path: h0.path.clone(),
            reason: format!(
                "ImagePositionPatient (0020,0032) puts the slices {sp:e} mm apart; a spacing must lie between {} and {} mm",
                crate::limits::MIN_SPACING_MM,
                crate::limits::MAX_SPACING_MM
            ),
        });
    }
    let mut warnings = order.warnings.clone();
    let (z_spacing, z_from) = match order.spacing_mm {
        Some(s) => (s, "positions"),
        None => match (h0.spacing_between_slices, h0.slice_thickness) {
            (Some(s), _) => (s, "SpacingBetweenSlices"),
            (None, Some(t)) => (t, "SliceThickness"),
            (None, None) => (1.0, "nothing (assumed 1 mm)"),
        },
    };
    for w in warnings.iter_mut() {
        match w {
            GeometryWarning::NoPositions { spacing_from, .. }
            | GeometryWarning::SingleSlice { spacing_from } => *spacing_from = z_from.to_string(),
            _ => {}
        }
    }
    let (pixel_spacing, ps_from) = h0
        .pixel_spacing
        .unwrap_or(([1.0, 1.0], "nothing (assumed 1 mm)"));
    if ps_from != "PixelSpacing" {
        warnings.push(GeometryWarning::PixelSpacingAssumed {
            from: ps_from.to_string(),
        });
    }

    // Assumptions and quirks of single files, one line per kind.
    let mut seen: Vec<(String, usize, String)> = Vec::new();
    for h in &headers {
        for w in &h.warnings {
            match seen.iter_mut().find(|(what, _, _)| what == w) {
                Some(e) => e.1 += 1,
                None => seen.push((w.clone(), 1, h.path.display().to_string())),
            }
        }
    }
    warnings.extend(
        seen.into_iter()
            .map(|(what, count, path)| GeometryWarning::File { path, count, what }),
    );
    if placements[order.order[0]].position.is_none() {
        warnings.push(GeometryWarning::OriginAssumed);
    }

    let (rows, cols) = (h0.layout.rows, h0.layout.cols);
    let nz = order.order.len();
    let plane = rows * cols;
    let budget = crate::limits::memory_budget();
    let len = budget
        .check(nz as u128 * plane as u128, 4)
        .map_err(|want| DicomError::Geometry {
            path: h0.path.clone(),
            reason: format!(
                "{nz} slice(s) of {rows} x {cols} make a volume of {}; {}",
                crate::limits::human_bytes(want),
                budget.describe()
            ),
        })?;
    let mut data = try_zeroed_f32(len).ok_or_else(|| DicomError::Geometry {
        path: h0.path.clone(),
        reason: format!(
            "{nz} slice(s) of {rows} x {cols} need {} and the allocation failed (a memory limit of this process?)",
            crate::limits::human_bytes(len as u128 * 4)
        ),
    })?;

    // Hand each slab of the output to the file it comes from.
    let mut per_file: Vec<Vec<(usize, &mut [f32], Rescale)>> =
        (0..headers.len()).map(|_| Vec::new()).collect();
    for (slab, &fidx) in data.chunks_mut(plane).zip(&order.order) {
        let (fi, k) = frames[fidx];
        per_file[fi].push((k, slab, headers[fi].rescales[k]));
    }
    let done = std::sync::atomic::AtomicUsize::new(0);
    let total = headers.len();
    per_file
        .into_par_iter()
        .enumerate()
        .try_for_each(|(fi, targets)| -> Result<()> {
            let h = &headers[fi];
            let obj = crate::file::open(&h.path)?;
            pixels::decode_frames(&h.path, &obj, &h.layout, h.frames, targets)?;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if let Some(cb) = options.progress {
                cb(n, total);
            }
            Ok(())
        })?;

    let voxels = Array3::from_shape_vec((nz, rows, cols), data).expect("shape matches buffer");
    let first = frames[order.order[0]];
    let origin = placements[order.order[0]].position.unwrap_or([0.0; 3]);
    let mut transfer_syntaxes: Vec<String> =
        headers.iter().map(|h| h.transfer_syntax.clone()).collect();
    transfer_syntaxes.sort();
    transfer_syntaxes.dedup();
    Ok(Volume {
        voxels,
        spacing: Spacing::new(z_spacing, pixel_spacing[0], pixel_spacing[1]),
        origin,
        row_dir: order.row_dir,
        col_dir: order.col_dir,
        slice_dir: order.normal,
        slices: order
            .order
            .iter()
            .map(|&i| (headers[frames[i].0].path.clone(), frames[i].1))
            .collect(),
        series_uid: headers[first.0].series_uid.clone(),
        modality: h0.modality.clone(),
        monochrome1: h0.photometric == "MONOCHROME1",
        header_window: h0.window,
        transfer_syntaxes,
        warnings,
    })
    .inspect(
        |_| tracing::debug!(files = paths.len(), first = %first_path.display(), "series loaded"),
    )
}

/// Load a file (one series, possibly multi-frame) or a folder.
///
/// For a folder, `series` picks a SeriesInstanceUID; without it the folder
/// must hold exactly one image series.
pub fn load_path(path: &Path, series: Option<&str>) -> Result<Volume> {
    load_path_with(path, series, &LoadOptions::default())
}

/// [`load_path`] with options.
pub fn load_path_with(
    path: &Path,
    series: Option<&str>,
    options: &LoadOptions<'_>,
) -> Result<Volume> {
    let meta = std::fs::metadata(path).map_err(|error| DicomError::Io {
        path: path.to_owned(),
        error,
    })?;
    if meta.is_file() {
        return load_series_with(&[path.to_owned()], options);
    }
    let scan = crate::scan::scan(path)?;
    let chosen = crate::scan::choose_series(path, &scan, series)?;
    let files: Vec<PathBuf> = chosen.instances.iter().map(|i| i.path.clone()).collect();
    load_series_with(&files, options)
}
