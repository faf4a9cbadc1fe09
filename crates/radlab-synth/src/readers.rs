//! Synthetic readers: seeded radiologists with characters, reading the
//! candidates of generated phantoms.
//!
//! Each candidate (a true nodule, or a spot in the lung that is not one)
//! has a *conspicuity*: how much it looks like a nodule. A reader sees it
//! with their own noise, calls it present above their own threshold, says
//! what kind it is (confusing part-solid and ground-glass now and then)
//! and gives a 1-5 suspicion score; for a nodule they call, they outline
//! it. The characters differ in exactly one habit each, so a lab can show
//! what each habit does to every agreement coefficient:
//!
//! - `senior`: the least noise; the tie-breaker.
//! - `cautious`: a high threshold; misses faint nodules, few false calls.
//! - `liberal`: a low threshold; calls readily, false calls included.
//! - `ggn-misser`: does not see ground-glass nodules under 10 mm.
//! - `loose-outliner`: outlines one voxel outside the nodule all round.
//!
//! Every reading depends on `(seed, reader, candidate)` only, never on
//! the order of the calls, so a subset of readers or candidates reads the
//! same.

use ndarray::{Array3, ArrayView3, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use crate::phantom::{Nodule, NoduleKind};

/// A reader's habits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Character {
    /// Short name.
    pub name: &'static str,
    /// What the habit is, in words.
    pub habit: &'static str,
    /// Standard deviation of the reader's perception noise.
    pub noise: f64,
    /// Conspicuity above which the reader calls a candidate present.
    pub threshold: f64,
    /// Ground-glass nodules smaller than this (mm) are not seen at all.
    pub blind_to_ggn_under_mm: f64,
    /// Voxels added (positive) or removed (negative) around the true outline.
    pub outline_voxels: i32,
    /// Added to the latent suspicion before it is rounded to 1-5.
    pub score_shift: f64,
    /// Probability of calling a part-solid nodule ground-glass and back.
    pub kind_confusion: f64,
}

/// The five readers, senior first.
pub const READERS: [Character; 5] = [
    Character {
        name: "senior",
        habit: "least noise; breaks ties",
        noise: 0.3,
        threshold: 0.0,
        blind_to_ggn_under_mm: 0.0,
        outline_voxels: 0,
        score_shift: 0.0,
        kind_confusion: 0.05,
    },
    Character {
        name: "cautious",
        habit: "calls a nodule only when sure",
        noise: 0.5,
        threshold: 0.7,
        blind_to_ggn_under_mm: 0.0,
        outline_voxels: 0,
        score_shift: -0.4,
        kind_confusion: 0.1,
    },
    Character {
        name: "liberal",
        habit: "calls readily, false calls included",
        noise: 0.5,
        threshold: -0.7,
        blind_to_ggn_under_mm: 0.0,
        outline_voxels: 0,
        score_shift: 0.5,
        kind_confusion: 0.1,
    },
    Character {
        name: "ggn-misser",
        habit: "does not see ground-glass nodules under 10 mm",
        noise: 0.5,
        threshold: 0.0,
        blind_to_ggn_under_mm: 10.0,
        outline_voxels: 0,
        score_shift: 0.0,
        kind_confusion: 0.1,
    },
    Character {
        name: "loose-outliner",
        habit: "outlines one voxel outside the nodule",
        noise: 0.5,
        threshold: 0.0,
        blind_to_ggn_under_mm: 0.0,
        outline_voxels: 1,
        score_shift: 0.0,
        kind_confusion: 0.1,
    },
];

/// Something a reader is asked about: a true nodule or a spot that is not one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Which phantom (index into the caller's list).
    pub case: usize,
    /// Voxel `[z, y, x]` of its centre.
    pub center: [usize; 3],
    /// The nodule, when it is one.
    pub nodule: Option<Nodule>,
    /// How much it looks like a nodule (reader-independent).
    pub conspicuity: f64,
    /// The latent suspicion of malignancy, on the 1-5 scale before rounding.
    pub suspicion: f64,
}

/// Conspicuity and suspicion of the candidates, seeded.
///
/// A nodule's conspicuity grows with the log of its diameter and is
/// lowest for ground-glass; a spot that is not a nodule draws a low
/// conspicuity (a vessel seen end-on is sometimes convincing). Suspicion
/// grows with size and solidity (roughly as Lung-RADS does).
pub fn candidate(
    seed: u64,
    index: usize,
    case: usize,
    center: [usize; 3],
    nodule: Option<Nodule>,
) -> Candidate {
    let mut r = rng(seed, u64::MAX, index as u64);
    let jitter: f64 = Normal::new(0.0, 0.3).expect("finite").sample(&mut r);
    let (conspicuity, suspicion) = match &nodule {
        Some(n) => {
            let density = match n.kind {
                NoduleKind::Solid => 1.0,
                NoduleKind::PartSolid => 0.8,
                NoduleKind::GroundGlass => 0.55,
            };
            let solid_bonus = match n.kind {
                NoduleKind::Solid => 0.6,
                NoduleKind::PartSolid => 1.0,
                NoduleKind::GroundGlass => 0.0,
            };
            (
                density * (n.diameter_mm / 4.0).ln() * 1.4 - 0.2 + jitter,
                1.2 + 2.4 * ((n.diameter_mm - 3.0) / 27.0).max(0.0).sqrt() + solid_bonus + jitter,
            )
        }
        None => (-1.2 + 1.6 * jitter, 1.0 + jitter.abs()),
    };
    Candidate {
        case,
        center,
        nodule,
        conspicuity,
        suspicion,
    }
}

/// One reader's reading of one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Reading {
    /// Called present.
    pub present: bool,
    /// The kind said (None when not called).
    pub kind: Option<NoduleKind>,
    /// Suspicion: 2-5 when called, 1 when not.
    pub score: u8,
}

fn rng(seed: u64, reader: u64, candidate: u64) -> ChaCha8Rng {
    // SplitMix-style mixing of the three parts into one stream seed.
    let mut z = seed ^ reader.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ candidate.rotate_left(29);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ChaCha8Rng::seed_from_u64(z ^ (z >> 31))
}

/// Who is asked about what: a reader (and their place in the panel) and a
/// candidate's number, under a seed. Every random draw of a reading or an
/// outline comes from these four.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// Seed of the whole reading session.
    pub seed: u64,
    /// The reader's habits.
    pub reader: &'a Character,
    /// The reader's place in the panel.
    pub reader_index: usize,
    /// The candidate's number.
    pub candidate: usize,
}

/// What the reader says about the candidate.
pub fn read(asked: Asked<'_>, c: &Candidate) -> Reading {
    let Asked {
        seed,
        reader,
        reader_index,
        candidate: index,
    } = asked;
    let mut r = rng(seed, reader_index as u64, index as u64);
    let noise = Normal::new(0.0, reader.noise).expect("finite");
    let mut seen = c.conspicuity + noise.sample(&mut r);
    if let Some(n) = &c.nodule
        && n.kind == NoduleKind::GroundGlass
        && n.diameter_mm < reader.blind_to_ggn_under_mm
    {
        seen = f64::NEG_INFINITY;
    }
    let score_noise = noise.sample(&mut r);
    let confuse = r.random::<f64>() < reader.kind_confusion;
    if seen <= reader.threshold {
        return Reading {
            present: false,
            kind: None,
            score: 1,
        };
    }
    let kind = match c.nodule.as_ref().map(|n| n.kind) {
        Some(NoduleKind::PartSolid) if confuse => NoduleKind::GroundGlass,
        Some(NoduleKind::GroundGlass) if confuse => NoduleKind::PartSolid,
        Some(k) => k,
        None => NoduleKind::Solid,
    };
    let score = (c.suspicion + reader.score_shift + score_noise)
        .round()
        .clamp(2.0, 5.0) as u8;
    Reading {
        present: true,
        kind: Some(kind),
        score,
    }
}

/// The box `[z0..z1, y0..y1, x0..x1]` around a nodule, `margin` voxels
/// beyond its radius, clipped to `shape`.
pub fn roi(n: &Nodule, spacing: [f64; 3], margin: usize, shape: [usize; 3]) -> [(usize, usize); 3] {
    let mut out = [(0, 0); 3];
    for a in 0..3 {
        let half = (n.diameter_mm / 2.0 / spacing[a]).ceil() as usize + margin;
        let c = n.center_voxel[a].round().max(0.0) as usize;
        out[a] = (c.saturating_sub(half), (c + half + 1).min(shape[a]));
    }
    out
}

/// One step of 6-neighbour dilation (grow) or erosion (shrink).
/// One step of 6-neighbour dilation of a mask (outside the array counts as
/// background).
pub fn grow(m: &Array3<bool>) -> Array3<bool> {
    step(m, true)
}

fn step(m: &Array3<bool>, grow: bool) -> Array3<bool> {
    let (nz, ny, nx) = m.dim();
    Array3::from_shape_fn((nz, ny, nx), |(z, y, x)| {
        let at = |dz: isize, dy: isize, dx: isize| {
            let (zz, yy, xx) = (z as isize + dz, y as isize + dy, x as isize + dx);
            if zz < 0
                || yy < 0
                || xx < 0
                || zz >= nz as isize
                || yy >= ny as isize
                || xx >= nx as isize
            {
                false
            } else {
                m[[zz as usize, yy as usize, xx as usize]]
            }
        };
        let n = [
            at(1, 0, 0),
            at(-1, 0, 0),
            at(0, 1, 0),
            at(0, -1, 0),
            at(0, 0, 1),
            at(0, 0, -1),
        ];
        if grow {
            m[[z, y, x]] || n.iter().any(|&v| v)
        } else {
            m[[z, y, x]] && n.iter().all(|&v| v)
        }
    })
}

/// The reader's outline of a nodule inside its `roi`: the true label
/// `label` of `labels` (cropped), grown or shrunk by the reader's habit,
/// with a seeded one-voxel wobble: a tenth of the voxels next to the
/// boundary, either side, flipped.
/// Empty when the reader did not call the nodule.
pub fn outline(
    asked: Asked<'_>,
    reading: &Reading,
    labels: ArrayView3<'_, u8>,
    label: u8,
    roi: [(usize, usize); 3],
) -> Array3<bool> {
    let Asked {
        seed,
        reader,
        reader_index,
        candidate: index,
    } = asked;
    let crop = labels.slice(s![
        roi[0].0..roi[0].1,
        roi[1].0..roi[1].1,
        roi[2].0..roi[2].1
    ]);
    let truth = crop.mapv(|v| v == label);
    if !reading.present {
        return Array3::from_elem(truth.dim(), false);
    }
    let mut m = truth.clone();
    for _ in 0..reader.outline_voxels.unsigned_abs() {
        m = step(&m, reader.outline_voxels > 0);
    }
    let grown = step(&m, true);
    let shrunk = step(&m, false);
    let mut r = rng(seed.rotate_left(17), reader_index as u64, index as u64);
    ndarray::Zip::from(&mut m)
        .and(&grown)
        .and(&shrunk)
        .for_each(|v, &g, &s| {
            if g != s && r.random::<f64>() < 0.1 {
                *v = !*v;
            }
        });
    m
}
