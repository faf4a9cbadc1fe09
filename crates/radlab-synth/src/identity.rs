//! Fake identifying data for the headers: realistic in form, invented in content.
//!
//! Nothing here refers to a real person or institution. The values exist so
//! that de-identification can be practised and checked.

use rand::Rng;
use rand::seq::IndexedRandom;
use serde::Serialize;

/// Everything identifying that the generator writes into a case's headers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    /// PatientName as DICOM PN, `FAMILY^GIVEN`.
    pub patient_name: String,
    /// PatientID.
    pub patient_id: String,
    /// An ID of the same patient at another hospital (OtherPatientIDsSequence).
    pub other_patient_id: String,
    /// PatientBirthDate, `YYYYMMDD`.
    pub birth_date: String,
    /// PatientSex, `F` or `M`.
    pub sex: &'static str,
    /// Age in years at the study date.
    pub age_years: u32,
    /// AccessionNumber.
    pub accession: String,
    /// InstitutionName.
    pub institution: &'static str,
    /// InstitutionAddress.
    pub institution_address: &'static str,
    /// ReferringPhysicianName.
    pub referring_physician: String,
    /// OperatorsName.
    pub operator: String,
    /// StationName.
    pub station: String,
    /// StudyDate, `YYYYMMDD`.
    pub study_date: String,
    /// StudyTime, `HHMMSS`.
    pub study_time: String,
    /// A telephone number (kept in the private block).
    pub phone: String,
}

const FAMILY: &[&str] = &[
    "HALVORSEN",
    "OKAFOR",
    "MARCHETTI",
    "LINDQVIST",
    "ABERNATHY",
    "KOWALCZYK",
    "DUBROVSKY",
    "FAIRWEATHER",
    "NAKASHIMA",
    "VILLANUEVA",
    "ASHWORTH",
    "BRENNAGH",
    "QUINTERO",
    "ELLSWORTH",
];
const GIVEN_F: &[&str] = &[
    "MARGIT", "ADAEZE", "ROSALIND", "INGRID", "CELESTE", "HALINA", "YUKIKO",
];
const GIVEN_M: &[&str] = &[
    "TORVALD", "EMEKA", "LORENZO", "ANSELM", "DESMOND", "PIOTR", "ISIDRO",
];
const INSTITUTIONS: &[(&str, &str)] = &[
    ("NORTHGATE GENERAL HOSPITAL", "14 Harbour Road, Easton 4417"),
    ("ST AGATHA COMMUNITY CLINIC", "2 Mill Lane, Westbury 3302"),
    ("RIVERBEND MEDICAL CENTRE", "88 Quay Street, Lowmoor 5120"),
];
const STAFF: &[&str] = &[
    "PENHALIGON^ARTHUR",
    "ZABEL^GRETA",
    "OYELARAN^TUNDE",
    "MCKAY^FIONA",
];

fn digits<R: Rng>(rng: &mut R, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// Days in a month of the proleptic Gregorian calendar.
fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Make an identity. `sex` and `age_years` are chosen by the caller so that
/// a set of cases can cover subgroups on purpose.
pub fn make<R: Rng>(rng: &mut R, sex: &'static str, age_years: u32) -> Identity {
    let family = FAMILY.choose(rng).copied().unwrap_or("DOE");
    let given = if sex == "F" { GIVEN_F } else { GIVEN_M }
        .choose(rng)
        .copied()
        .unwrap_or("ALEX");
    let study_year = rng.random_range(2019..=2024);
    let study_month = rng.random_range(1..=12u32);
    let study_day = rng.random_range(1..=days_in_month(study_year, study_month));
    // Birthday later in the year than the study date means one more year back.
    let birth_month = rng.random_range(1..=12u32);
    let birth_day_max = days_in_month(study_year - age_years as i32, birth_month);
    let birth_day = rng.random_range(1..=birth_day_max);
    let had_birthday = (birth_month, birth_day) <= (study_month, study_day);
    let birth_year = study_year - age_years as i32 - i32::from(!had_birthday);
    let (institution, institution_address) = *INSTITUTIONS.choose(rng).unwrap_or(&INSTITUTIONS[0]);
    Identity {
        patient_name: format!("{family}^{given}"),
        patient_id: format!("RL{}", digits(rng, 7)),
        other_patient_id: format!("OH-{}", digits(rng, 6)),
        birth_date: format!("{birth_year:04}{birth_month:02}{birth_day:02}"),
        sex,
        age_years,
        accession: format!("A{}", digits(rng, 9)),
        institution,
        institution_address,
        referring_physician: STAFF.choose(rng).copied().unwrap_or("X^Y").to_string(),
        operator: STAFF.choose(rng).copied().unwrap_or("X^Y").to_string(),
        station: format!("CTSTN{}", digits(rng, 2)),
        study_date: format!("{study_year:04}{study_month:02}{study_day:02}"),
        study_time: format!(
            "{:02}{:02}{:02}",
            rng.random_range(7..19),
            rng.random_range(0..60),
            rng.random_range(0..60)
        ),
        phone: format!("+00 {} {}", digits(rng, 3), digits(rng, 4)),
    }
}

impl Identity {
    /// PatientAge as DICOM AS, e.g. `063Y`.
    pub fn age_string(&self) -> String {
        format!("{:03}Y", self.age_years)
    }

    /// The patient's name as it would be spoken: `GIVEN FAMILY`.
    pub fn spoken_name(&self) -> String {
        let mut parts = self.patient_name.split('^');
        let family = parts.next().unwrap_or("");
        let given = parts.next().unwrap_or("");
        format!("{given} {family}")
    }
}
