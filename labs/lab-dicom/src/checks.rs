//! The graded checks of lab-dicom. Messages name the convention broken and
//! show expected vs got on a small example.

use std::collections::BTreeSet;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use radlab_grade::{Check, Kind, Outcome, Visibility};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::tasks::{REFERENCE, SliceHeader, Tasks};

const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
const SAGITTAL: [f64; 6] = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0];

fn slice(position: [f64; 3], orientation: [f64; 6], instance_number: i64) -> SliceHeader {
    SliceHeader {
        position,
        orientation,
        instance_number,
        slice_thickness: 5.0,
    }
}

/// A random orthonormal orientation and `n` slices along its normal, shuffled.
fn random_series(r: &mut ChaCha8Rng) -> Vec<SliceHeader> {
    let (a, b, c): (f64, f64, f64) = (
        r.random_range(-3.0..3.0),
        r.random_range(-1.4..1.4),
        r.random_range(-3.0..3.0),
    );
    let (sa, ca) = a.sin_cos();
    let (sb, cb) = b.sin_cos();
    let (sc, cc) = c.sin_cos();
    let row = [cb * cc, cb * sc, -sb];
    let col = [sa * sb * cc - ca * sc, sa * sb * sc + ca * cc, sa * cb];
    let n = radlab_dicom::geometry::cross(row, col);
    let step = r.random_range(0.5..6.0);
    let count = r.random_range(2..9);
    let o = [
        r.random_range(-200.0..200.0),
        r.random_range(-200.0..200.0),
        r.random_range(-200.0..200.0),
    ];
    let mut s: Vec<SliceHeader> = (0..count)
        .map(|k| {
            let t = k as f64 * step * if r.random_bool(0.5) { 1.0 } else { -1.0 };
            slice(
                [o[0] + t * n[0], o[1] + t * n[1], o[2] + t * n[2]],
                [row[0], row[1], row[2], col[0], col[1], col[2]],
                r.random_range(1..100),
            )
        })
        .collect();
    for i in (1..s.len()).rev() {
        let j = r.random_range(0..=i);
        s.swap(i, j);
    }
    s
}

fn expect_order(t: &'static Tasks, s: &[SliceHeader], want: &[usize], rule: &str) -> Outcome {
    let got = (t.order_slices)(s);
    if got == want {
        Ok("order matches".into())
    } else {
        Err(format!(
            "positions {:?}: expected order {want:?}, got {got:?}.\n{rule}",
            s.iter().map(|h| h.position).collect::<Vec<_>>()
        ))
    }
}

fn order_axial(t: &'static Tasks) -> Outcome {
    let s = [
        slice([0.0, 0.0, 10.0], AXIAL, 1),
        slice([0.0, 0.0, 0.0], AXIAL, 2),
        slice([0.0, 0.0, 5.0], AXIAL, 3),
        slice([0.0, 0.0, 15.0], AXIAL, 4),
    ];
    expect_order(
        t,
        &s,
        &[1, 2, 0, 3],
        "Order by position along the normal, never by InstanceNumber: here InstanceNumber disagrees with anatomy.",
    )
}

fn order_sagittal(t: &'static Tasks) -> Outcome {
    // Normal = (0,1,0) x (0,0,-1) = (-1, 0, 0): ascending along it means decreasing x.
    let s = [
        slice([3.0, 0.0, 0.0], SAGITTAL, 1),
        slice([1.0, 0.0, 0.0], SAGITTAL, 2),
        slice([2.0, 0.0, 0.0], SAGITTAL, 3),
    ];
    expect_order(
        t,
        &s,
        &[0, 2, 1],
        "For sagittal slices the normal row x col is (-1, 0, 0): sorting by the z coordinate (or by x) is wrong; project onto the normal.",
    )
}

fn order_random(t: &'static Tasks) -> Outcome {
    let seed_note_11 = radlab_grade::seed_note(11);
    let mut r = radlab_grade::check_rng(11);
    for case in 0..200 {
        let s = random_series(&mut r);
        let (got, want) = ((t.order_slices)(&s), (REFERENCE.order_slices)(&s));
        if got != want {
            return Err(format!(
                "seeded oblique series {case} ({seed_note_11}): expected {want:?}, got {got:?}"
            ));
        }
    }
    Ok("200 seeded oblique series ordered like the reference".into())
}

fn sample_headers() -> Result<Vec<SliceHeader>, String> {
    let dir = radlab_labkit::default_series_dir();
    let scan = radlab_dicom::scan(&dir).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for s in &scan.series {
        for i in &s.instances {
            let h = radlab_dicom::header::ImageHeader::read(&i.path).map_err(|e| e.to_string())?;
            let p = &h.placements[0];
            out.push(SliceHeader {
                position: p.position.ok_or("no position")?,
                orientation: p.orientation.ok_or("no orientation")?,
                instance_number: p.instance_number.unwrap_or(0),
                slice_thickness: h.slice_thickness.unwrap_or(0.0),
            });
        }
    }
    Ok(out)
}

fn order_sample(t: &'static Tasks) -> Outcome {
    let s = sample_headers()?;
    let (got, want) = ((t.order_slices)(&s), (REFERENCE.order_slices)(&s));
    if got == want {
        Ok(format!(
            "the {} slices of the sample series are in anatomical order",
            s.len()
        ))
    } else {
        Err(
            "the sample series (InstanceNumber runs head to feet) is not ordered along the normal"
                .into(),
        )
    }
}

fn expect_spacing(t: &'static Tasks, s: &[SliceHeader], want: f64, rule: &str) -> Outcome {
    let got = (t.slice_spacing)(s);
    if (got - want).abs() < 1e-6 {
        Ok(format!("{want} mm"))
    } else {
        Err(format!(
            "slices at {:?} mm (SliceThickness 5): expected {want} mm, got {got}.\n{rule}",
            s.iter().map(|h| h.position[2]).collect::<Vec<_>>()
        ))
    }
}

fn spacing_positions(t: &'static Tasks) -> Outcome {
    let s: Vec<SliceHeader> = [7.5, 0.0, 2.5, 5.0]
        .iter()
        .enumerate()
        .map(|(k, &z)| slice([0.0, 0.0, z], AXIAL, k as i64))
        .collect();
    expect_spacing(
        t,
        &s,
        2.5,
        "Spacing comes from the distance between positions; SliceThickness is the slab width (here 5 mm, overlapping slices every 2.5 mm).",
    )
}

fn spacing_gap(t: &'static Tasks) -> Outcome {
    let s: Vec<SliceHeader> = [0.0, 4.0, 6.0, 8.0, 10.0]
        .iter()
        .enumerate()
        .map(|(k, &z)| slice([0.0, 0.0, z], AXIAL, k as i64))
        .collect();
    expect_spacing(
        t,
        &s,
        2.0,
        "One missing slice must not change the spacing: take the median of the steps between sorted slices, not the mean or the first step.",
    )
}

fn spacing_random(t: &'static Tasks) -> Outcome {
    let seed_note_12 = radlab_grade::seed_note(12);
    let mut r = radlab_grade::check_rng(12);
    for case in 0..200 {
        let s = random_series(&mut r);
        let (got, want) = ((t.slice_spacing)(&s), (REFERENCE.slice_spacing)(&s));
        if (got - want).abs() > 1e-6 {
            return Err(format!(
                "seeded oblique series {case} ({seed_note_12}): expected {want} mm, got {got} mm"
            ));
        }
    }
    Ok("200 seeded oblique series: spacing matches".into())
}

fn expect_lut(t: &'static Tasks, cases: &[(u16, u16, bool, f64, f64, f64)], rule: &str) -> Outcome {
    for &(raw, bits, signed, slope, intercept, want) in cases {
        let got = (t.modality_lut)(raw, bits, signed, slope, intercept);
        if (got - want).abs() > 1e-9 {
            return Err(format!(
                "raw {raw:#06x}, BitsStored {bits}, {}, slope {slope}, intercept {intercept}: expected {want}, got {got}.\n{rule}",
                if signed { "signed" } else { "unsigned" }
            ));
        }
    }
    Ok(format!("{} worked values match", cases.len()))
}

fn lut_rescale(t: &'static Tasks) -> Outcome {
    expect_lut(
        t,
        &[
            (1000, 16, true, 1.0, -1024.0, -24.0),
            (0, 16, false, 1.0, -1024.0, -1024.0),
            (400, 16, false, 2.5, -1000.0, 0.0),
            (3, 12, false, 0.5, 1.0, 2.5),
        ],
        "HU = stored * RescaleSlope + RescaleIntercept (slope first, then intercept).",
    )
}

fn lut_sign(t: &'static Tasks) -> Outcome {
    expect_lut(
        t,
        &[
            (0x0FFF, 12, true, 1.0, 0.0, -1.0),
            (0x0800, 12, true, 1.0, 0.0, -2048.0),
            (0xF7FF, 12, true, 1.0, 0.0, 2047.0),
            (0xFFFF, 16, true, 1.0, 0.0, -1.0),
            (0xFFFF, 12, false, 1.0, 0.0, 4095.0),
        ],
        "Keep only the BitsStored low bits; with PixelRepresentation 1 they are two's complement, so 0x0FFF in 12 bits is -1.",
    )
}

fn lut_random(t: &'static Tasks) -> Outcome {
    let mut r = radlab_grade::check_rng(13);
    for _ in 0..5000 {
        let (raw, bits, signed) = (
            r.random::<u16>(),
            r.random_range(8u16..=16),
            r.random_bool(0.5),
        );
        let (slope, intercept) = (
            [1.0, 0.5, 2.0, 0.25][r.random_range(0..4)],
            f64::from(r.random_range(-2048i32..100)),
        );
        let (got, want) = (
            (t.modality_lut)(raw, bits, signed, slope, intercept),
            (REFERENCE.modality_lut)(raw, bits, signed, slope, intercept),
        );
        if (got - want).abs() > 1e-9 {
            return Err(format!(
                "seeded (13): raw {raw:#06x}, BitsStored {bits}, signed {signed}, slope {slope}, intercept {intercept}: expected {want}, got {got}"
            ));
        }
    }
    Ok("5000 seeded samples match the reference".into())
}

fn put(o: &mut InMemDicomObject, tag: Tag, vr: VR, v: &str) {
    o.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
}

fn expect_phi(t: &'static Tasks, obj: &InMemDicomObject, rule: &str) -> Outcome {
    let got: BTreeSet<(usize, Tag)> = (t.find_identifying)(obj).into_iter().collect();
    let want: BTreeSet<(usize, Tag)> = (REFERENCE.find_identifying)(obj).into_iter().collect();
    if got == want {
        return Ok(format!("{} identifying attributes found", want.len()));
    }
    let missing: Vec<_> = want
        .difference(&got)
        .map(|(d, t)| format!("depth {d} ({:04X},{:04X})", t.0, t.1))
        .collect();
    let extra: Vec<_> = got
        .difference(&want)
        .map(|(d, t)| format!("depth {d} ({:04X},{:04X})", t.0, t.1))
        .collect();
    Err(format!(
        "missing {missing:?}; not identifying but reported {extra:?}.\n{rule}"
    ))
}

fn phi_top(t: &'static Tasks) -> Outcome {
    let mut o = InMemDicomObject::new_empty();
    put(&mut o, tags::PATIENT_NAME, VR::PN, "HALVORSEN^MARGIT");
    put(&mut o, tags::PATIENT_ID, VR::LO, "RL1234567");
    put(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, "");
    put(&mut o, tags::MODALITY, VR::CS, "CT");
    expect_phi(
        t,
        &o,
        "Report non-empty attributes from IDENTIFYING; an empty value identifies nobody, Modality is not identifying.",
    )
}

fn phi_nested(t: &'static Tasks) -> Outcome {
    let mut item = InMemDicomObject::new_empty();
    put(&mut item, tags::PATIENT_ID, VR::LO, "OH-555111");
    put(
        &mut item,
        tags::ISSUER_OF_PATIENT_ID,
        VR::LO,
        "ST AGATHA MRN",
    );
    let mut o = InMemDicomObject::new_empty();
    o.put(DataElement::new(
        tags::OTHER_PATIENT_I_DS_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![item]),
    ));
    put(
        &mut o,
        tags::STUDY_DESCRIPTION,
        VR::LO,
        "CT CHEST MARGIT HALVORSEN",
    );
    expect_phi(
        t,
        &o,
        "Recurse into sequences: the PatientID inside OtherPatientIDsSequence is at depth 1, and the non-empty sequence itself counts at depth 0.",
    )
}

fn phi_private(t: &'static Tasks) -> Outcome {
    let mut o = InMemDicomObject::new_empty();
    put(&mut o, Tag(0x0009, 0x0010), VR::LO, "RADLAB SYNTH PHI");
    put(
        &mut o,
        Tag(0x0009, 0x1001),
        VR::LO,
        "HALVORSEN^MARGIT RL1234567",
    );
    put(&mut o, Tag(0x0029, 0x1010), VR::LO, "+00 123 4567");
    put(&mut o, tags::PATIENT_NAME, VR::PN, "HALVORSEN^MARGIT");
    expect_phi(
        t,
        &o,
        "Private attributes (odd group, element >= 0x1000) may carry anything and count as identifying; the private creator (gggg,0010) itself does not.",
    )
}

fn phi_sample(t: &'static Tasks) -> Outcome {
    let dir = radlab_labkit::default_series_dir();
    let first = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .min()
        .ok_or("empty sample folder")?;
    let obj = radlab_dicom::open_header(&first).map_err(|e| e.to_string())?;
    expect_phi(t, &obj, "On a real header from the sample study.")
}

/// Every check, in the order the table shows them.
pub fn checks() -> Vec<Check<Tasks>> {
    use Kind::*;
    use Visibility::*;
    radlab_grade::check_table![
        "slice-order" => {
            "order/instance-numbers-lie": 1.0, Visible, WorkedExample, order_axial;
            "order/sagittal": 1.0, Visible, WorkedExample, order_sagittal;
            "order/oblique-random": 1.0, Hidden, Property, order_random;
            "order/sample-series": 1.0, Hidden, EndToEnd, order_sample;
        }
        "slice-spacing" => {
            "spacing/from-positions": 1.0, Visible, WorkedExample, spacing_positions;
            "spacing/missing-slice": 1.0, Visible, WorkedExample, spacing_gap;
            "spacing/oblique-random": 1.0, Hidden, Property, spacing_random;
        }
        "modality-lut" => {
            "lut/rescale": 1.0, Visible, WorkedExample, lut_rescale;
            "lut/sign-extension": 1.0, Visible, WorkedExample, lut_sign;
            "lut/random-vs-reference": 1.0, Hidden, Property, lut_random;
        }
        "find-identifying" => {
            "phi/top-level": 1.0, Visible, WorkedExample, phi_top;
            "phi/nested-sequence": 1.0, Visible, WorkedExample, phi_nested;
            "phi/private-block": 1.0, Visible, WorkedExample, phi_private;
            "phi/sample-header": 1.0, Hidden, EndToEnd, phi_sample;
        }
    ]
}
