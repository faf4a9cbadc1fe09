//! Synthetic readers and planted label errors: each character's one habit
//! shows, readings do not depend on the order they are asked for, and
//! every planted error is where the list says.

use ndarray::Array3;
use radlab_synth::labels::{LabelError, LabelRecord, plant_errors};
use radlab_synth::readers::{Asked, Character, READERS, Reading, candidate, outline, read, roi};

fn asked(r: usize, candidate: usize) -> Asked<'static> {
    let reader: &'static Character = &READERS[r];
    Asked {
        seed: 7,
        reader,
        reader_index: r,
        candidate,
    }
}
use radlab_synth::{Nodule, NoduleKind};

fn nodule(kind: NoduleKind, d: f64) -> Nodule {
    Nodule {
        label: 1,
        center_mm: [0.0; 3],
        center_voxel: [8.0, 8.0, 8.0],
        diameter_mm: d,
        kind,
    }
}

#[test]
fn readers_keep_their_characters() {
    let kinds = [
        NoduleKind::Solid,
        NoduleKind::PartSolid,
        NoduleKind::GroundGlass,
    ];
    let cands: Vec<_> = (0..600)
        .map(|i| {
            let n = (i % 3 != 0).then(|| nodule(kinds[i % 3], 4.0 + (i % 7) as f64 * 3.0));
            candidate(7, i, 0, [8, 8, 8], n)
        })
        .collect();
    let calls: Vec<usize> = READERS
        .iter()
        .enumerate()
        .map(|(r, _)| {
            cands
                .iter()
                .enumerate()
                .filter(|(i, c)| read(asked(r, *i), c).present)
                .count()
        })
        .collect();
    // cautious calls least, liberal most.
    assert_eq!(calls.iter().min(), Some(&calls[1]), "{calls:?}");
    assert_eq!(calls.iter().max(), Some(&calls[2]), "{calls:?}");
    // The ggn-misser never calls a ground-glass nodule under 10 mm.
    for (i, c) in cands.iter().enumerate() {
        if let Some(n) = &c.nodule
            && n.kind == NoduleKind::GroundGlass
            && n.diameter_mm < 10.0
        {
            assert!(!read(asked(3, i), c).present);
        }
    }
    // Order does not matter: asked backwards, a reader answers the same.
    let forward: Vec<Reading> = cands
        .iter()
        .enumerate()
        .map(|(i, c)| read(asked(2, i), c))
        .collect();
    for (i, c) in cands.iter().enumerate().rev() {
        assert_eq!(forward[i], read(asked(2, i), c));
    }
    // Scores are 1-5, and 1 exactly when not called.
    for (i, c) in cands.iter().enumerate() {
        let r = read(asked(0, i), c);
        assert!((1..=5).contains(&r.score));
        assert_eq!(r.score == 1, !r.present);
    }
}

#[test]
fn the_loose_outliner_draws_outside_the_nodule() {
    let mut labels = Array3::<u8>::zeros((17, 17, 17));
    for ((z, y, x), v) in labels.indexed_iter_mut() {
        let d =
            ((z as f64 - 8.0).powi(2) + (y as f64 - 8.0).powi(2) + (x as f64 - 8.0).powi(2)).sqrt();
        if d <= 4.0 {
            *v = 1;
        }
    }
    let n = nodule(NoduleKind::Solid, 8.0);
    let b = roi(&n, [1.0; 3], 2, [17, 17, 17]);
    let truth = labels.iter().filter(|&&v| v == 1).count() as f64;
    let called = Reading {
        present: true,
        kind: Some(NoduleKind::Solid),
        score: 3,
    };
    let size = |r: usize| {
        outline(asked(r, 0), &called, labels.view(), 1, b)
            .iter()
            .filter(|&&v| v)
            .count() as f64
    };
    assert!(size(4) > 1.4 * truth, "{} vs {truth}", size(4));
    assert!((size(0) - truth).abs() < 0.2 * truth);
    let missed = Reading {
        present: false,
        kind: None,
        score: 1,
    };
    assert!(
        outline(asked(0, 0), &missed, labels.view(), 1, b)
            .iter()
            .all(|&v| !v)
    );
}

#[test]
fn every_planted_error_is_where_the_list_says() {
    let rec = |i: usize, p: &str| LabelRecord {
        id: format!("r{i:03}"),
        patient_id: p.into(),
        series_uid: format!("uid-{p}"),
        roi: [(10, 14), (20, 26), (30, 36)],
        mask: "1".repeat(4 * 6 * 6),
        kind: NoduleKind::Solid,
        score: 3,
    };
    let mut records: Vec<_> = (0..6)
        .map(|i| rec(i, if i % 2 == 0 { "A" } else { "B" }))
        .collect();
    let before = records.clone();
    let series = vec![
        ("A".to_string(), "uid-A".to_string()),
        ("B".to_string(), "uid-B".to_string()),
    ];
    let planted = plant_errors(&mut records, &series, [64, 192, 192], 3);
    assert_eq!(planted.len(), 4);
    assert_eq!(records.len(), 7);
    let get = |id: &str| records.iter().find(|r| r.id == id).unwrap();
    let old = |id: &str| before.iter().find(|r| r.id == id);
    for p in &planted {
        let r = get(&p.record);
        match p.error {
            LabelError::OutsideLungs => assert_eq!(r.roi[2].0, 1),
            LabelError::WrongSlices => {
                let o = old(&p.record).unwrap();
                assert!(r.roi[0].0 >= o.roi[0].1 || r.roi[0].1 <= o.roi[0].0);
            }
            LabelError::SwappedSeries => {
                assert_ne!(r.series_uid, format!("uid-{}", r.patient_id))
            }
            LabelError::Duplicate => {
                assert!(old(&p.record).is_none());
                assert!(before.iter().any(|b| b.mask == r.mask && b.roi == r.roi));
            }
        }
    }
}
