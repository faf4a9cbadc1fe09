//! A delivered label set (one record per annotated nodule) and the errors
//! real label sets arrive with, planted on purpose for a label-QA pass to
//! find: a mask outside the lungs, a mask on slices where the nodule is
//! not, a nodule delivered twice, and a record pointing at another
//! patient's series.

use ndarray::Array3;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::phantom::NoduleKind;

/// One annotated nodule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRecord {
    /// Record id, unique in the set (`r000`, `r001`, ... as delivered).
    pub id: String,
    /// The patient the annotator meant.
    pub patient_id: String,
    /// The series the mask is drawn on.
    pub series_uid: String,
    /// The box `[z, y, x]` (start, end) in that series' voxels.
    pub roi: [(usize, usize); 3],
    /// The mask inside `roi`, `[z, y, x]`, as '0'/'1' in C order.
    pub mask: String,
    /// The kind said.
    pub kind: NoduleKind,
    /// Suspicion 1-5.
    pub score: u8,
}

impl LabelRecord {
    /// The mask as an array of the roi's shape.
    pub fn mask_array(&self) -> Option<Array3<bool>> {
        let d = self.roi.map(|(a, b)| b.saturating_sub(a));
        let bits: Vec<bool> = self.mask.bytes().map(|b| b == b'1').collect();
        Array3::from_shape_vec((d[0], d[1], d[2]), bits).ok()
    }

    /// Bits of a mask, for [`LabelRecord::mask`].
    pub fn bits(mask: &Array3<bool>) -> String {
        mask.iter().map(|&v| if v { '1' } else { '0' }).collect()
    }
}

/// The kinds of planted error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelError {
    /// The mask was moved out of the lung field.
    OutsideLungs,
    /// The mask was moved to slices where the nodule is not.
    WrongSlices,
    /// A record repeated under a new id.
    Duplicate,
    /// The series UID of another patient's series.
    SwappedSeries,
}

impl LabelError {
    /// The kebab-case name (as serialised).
    pub fn name(self) -> &'static str {
        match self {
            LabelError::OutsideLungs => "outside-lungs",
            LabelError::WrongSlices => "wrong-slices",
            LabelError::Duplicate => "duplicate",
            LabelError::SwappedSeries => "swapped-series",
        }
    }
}

/// Where an error was planted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planted {
    /// The record that carries it.
    pub record: String,
    /// Which error.
    pub error: LabelError,
}

/// Plant one error of each kind in `records` (at least four records are
/// needed), seeded. `series` lists every (patient id, series UID) of the
/// cohort, `shape` is the series' `[z, y, x]` shape (all the same here).
/// Returns where each error went; the records are changed in place and
/// the duplicate is appended.
pub fn plant_errors(
    records: &mut Vec<LabelRecord>,
    series: &[(String, String)],
    shape: [usize; 3],
    seed: u64,
) -> Vec<Planted> {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    if records.len() < 4 || series.len() < 2 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.shuffle(&mut r);
    let mut planted = Vec::new();
    // Outside the lungs: the same box slid to the left edge of the image,
    // outside the body.
    let a = &mut records[order[0]];
    let w = a.roi[2].1 - a.roi[2].0;
    a.roi[2] = (1, 1 + w);
    planted.push(Planted {
        record: a.id.clone(),
        error: LabelError::OutsideLungs,
    });
    // Wrong slices: moved along z by its own depth and a few more slices.
    let b = &mut records[order[1]];
    let depth = b.roi[0].1 - b.roi[0].0;
    let gap = depth + 2 + r.random_range(0..3usize);
    let (z0, z1) = b.roi[0];
    b.roi[0] = if z1 + gap <= shape[0] {
        (z0 + gap, z1 + gap)
    } else {
        (z0.saturating_sub(gap), z0.saturating_sub(gap) + depth)
    };
    planted.push(Planted {
        record: b.id.clone(),
        error: LabelError::WrongSlices,
    });
    // Swapped series: another patient's series.
    let c = &mut records[order[2]];
    let other = series
        .iter()
        .filter(|(p, _)| *p != c.patient_id)
        .nth(r.random_range(0..series.len() - 1))
        .or_else(|| series.iter().find(|(p, _)| *p != c.patient_id));
    if let Some((_, uid)) = other {
        c.series_uid = uid.clone();
        planted.push(Planted {
            record: c.id.clone(),
            error: LabelError::SwappedSeries,
        });
    }
    // Duplicate: the record again, under a new id of the same form
    // (`r` and a number) so that only its content gives it away.
    let mut d = records[order[3]].clone();
    d.id = format!("r{:03}", records.len());
    planted.push(Planted {
        record: d.id.clone(),
        error: LabelError::Duplicate,
    });
    records.push(d);
    planted
}
