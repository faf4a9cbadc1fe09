//! Which series go to which analysis: routing rules in a small TOML file.
//!
//! ```toml
//! [[route]]
//! name = "chest CT, thin slices"
//! modality = "CT"
//! body_part = ["CHEST", "LUNG"]
//! orientation = "axial"
//! slice_thickness_mm = [0.5, 3.0]
//! description = "*CHEST*"
//! min_instances = 16
//! priority = 2
//! analysis = "nodules"
//! ```
//!
//! A series goes to the first route whose every stated condition holds; an
//! unstated condition matches anything. Text conditions ignore case and
//! surrounding spaces. `description` is a pattern with DICOM's own wildcards
//! (`*` any run of characters, `?` one character, PS3.4 C.2.2.2.4), matched
//! by a few lines of radlab's own rather than a regular-expression engine so
//! that a rule reads like the C-FIND query a PACS administrator writes.

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::TriageError;

/// Image plane from Image Orientation (Patient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Orientation {
    /// Normal along the patient's feet-head axis.
    Axial,
    /// Normal along anterior-posterior.
    Coronal,
    /// Normal along left-right.
    Sagittal,
    /// Tilted so that no axis dominates (|component| < 0.8 for all).
    Oblique,
}

impl Orientation {
    /// The plane of a slice from its row and column direction cosines: the
    /// largest component of their cross product (the slice normal), when it
    /// is at least 0.8; else oblique.
    pub fn from_cosines(iop: &[f64; 6]) -> Orientation {
        let (r, c) = ([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
        let n = [
            r[1] * c[2] - r[2] * c[1],
            r[2] * c[0] - r[0] * c[2],
            r[0] * c[1] - r[1] * c[0],
        ];
        let a = n.map(f64::abs);
        let (i, m) = a
            .iter()
            .enumerate()
            .fold((0, 0.0), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
        if m < 0.8 {
            return Orientation::Oblique;
        }
        [
            Orientation::Sagittal,
            Orientation::Coronal,
            Orientation::Axial,
        ][i]
    }
}

/// What a rule looks at, read from a series' first instance and its count.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SeriesFacts {
    /// Series Instance UID.
    pub series: String,
    /// Modality (0008,0060).
    pub modality: String,
    /// Body Part Examined (0018,0015).
    pub body_part: String,
    /// From Image Orientation (Patient) (0020,0037); `None` when absent.
    pub orientation: Option<Orientation>,
    /// Slice Thickness (0018,0050), mm.
    pub slice_thickness_mm: Option<f64>,
    /// Series Description (0008,103E).
    pub description: String,
    /// Instances received.
    pub instances: usize,
}

impl SeriesFacts {
    /// Facts of a series from one of its instances' header.
    pub fn from_header(obj: &InMemDicomObject, series: &str, instances: usize) -> SeriesFacts {
        let text = |t| radlab_dicom::attrs::string(obj, t).unwrap_or_default();
        let iop = radlab_dicom::attrs::floats(obj, tags::IMAGE_ORIENTATION_PATIENT)
            .filter(|v| v.len() == 6 && v.iter().all(|x| x.is_finite()))
            .map(|v| Orientation::from_cosines(&[v[0], v[1], v[2], v[3], v[4], v[5]]));
        SeriesFacts {
            series: series.to_string(),
            modality: text(tags::MODALITY),
            body_part: text(tags::BODY_PART_EXAMINED),
            orientation: iop,
            slice_thickness_mm: radlab_dicom::attrs::float(obj, tags::SLICE_THICKNESS)
                .filter(|v| v.is_finite()),
            description: text(tags::SERIES_DESCRIPTION),
            instances,
        }
    }
}

/// One route.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// A name for the logs and the timeline.
    pub name: String,
    /// Modality, e.g. `CT`.
    #[serde(default)]
    pub modality: Option<String>,
    /// Any of these Body Part Examined values.
    #[serde(default)]
    pub body_part: Option<Vec<String>>,
    /// Image plane.
    #[serde(default)]
    pub orientation: Option<Orientation>,
    /// Slice thickness range `[min, max]` in mm, both included.
    #[serde(default)]
    pub slice_thickness_mm: Option<[f64; 2]>,
    /// Series Description pattern (`*`, `?`).
    #[serde(default)]
    pub description: Option<String>,
    /// At least this many instances.
    #[serde(default)]
    pub min_instances: Option<usize>,
    /// Larger runs sooner. Default 0.
    #[serde(default)]
    pub priority: i32,
    /// The analysis to run (`nodules`).
    pub analysis: String,
}

/// The routing table.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// Routes, first match wins.
    #[serde(default)]
    pub route: Vec<Route>,
}

/// Why a condition failed, for the log ("no route: slice thickness 5 mm is
/// outside [0.5, 3]").
pub type Mismatch = String;

/// Case-insensitive match of `text` against `pattern` with `*` and `?`.
///
/// ```
/// use radlab_triage::rules::wildcard;
/// assert!(wildcard("*chest*", "CT CHEST 1.25MM"));
/// assert!(wildcard("CT?CHEST", "ct chest"));
/// assert!(!wildcard("*LUNG", "LUNG WINDOW"));
/// ```
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.trim().to_uppercase().chars().collect();
    let t: Vec<char> = text.trim().to_uppercase().chars().collect();
    // Iterative match with one backtrack point: the last `*` seen.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl Route {
    /// `Ok(())` when every condition holds, else the first that failed.
    pub fn matches(&self, f: &SeriesFacts) -> Result<(), Mismatch> {
        if let Some(m) = &self.modality {
            if !same(m, &f.modality) {
                return Err(format!("modality {:?} is not {m}", f.modality));
            }
        }
        if let Some(parts) = &self.body_part {
            if !parts.iter().any(|p| same(p, &f.body_part)) {
                return Err(format!(
                    "body part {:?} is not one of {}",
                    f.body_part,
                    parts.join(", ")
                ));
            }
        }
        if let Some(o) = self.orientation {
            if f.orientation != Some(o) {
                return Err(format!("orientation {:?} is not {o:?}", f.orientation));
            }
        }
        if let Some([lo, hi]) = self.slice_thickness_mm {
            match f.slice_thickness_mm {
                Some(t) if t >= lo && t <= hi => {}
                Some(t) => return Err(format!("slice thickness {t} mm is outside [{lo}, {hi}]")),
                None => return Err("no Slice Thickness".into()),
            }
        }
        if let Some(d) = &self.description {
            if !wildcard(d, &f.description) {
                return Err(format!(
                    "description {:?} does not match {d:?}",
                    f.description
                ));
            }
        }
        if let Some(n) = self.min_instances {
            if f.instances < n {
                return Err(format!("{} instances, fewer than {n}", f.instances));
            }
        }
        Ok(())
    }
}

impl Routes {
    /// Parse a rules file's text.
    pub fn parse(text: &str, path: &Path) -> Result<Routes, TriageError> {
        let r: Routes = toml::from_str(text).map_err(|e| TriageError::Rules {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        for route in &r.route {
            if let Some([lo, hi]) = route.slice_thickness_mm {
                if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                    return Err(TriageError::Rules {
                        path: path.to_owned(),
                        reason: format!(
                            "route {:?}: slice_thickness_mm [{lo}, {hi}] is not a range",
                            route.name
                        ),
                    });
                }
            }
            if route.analysis != "nodules" {
                return Err(TriageError::Rules {
                    path: path.to_owned(),
                    reason: format!(
                        "route {:?}: analysis {:?} is unknown (known: nodules)",
                        route.name, route.analysis
                    ),
                });
            }
        }
        Ok(r)
    }

    /// Read a rules file.
    pub fn read(path: &Path) -> Result<Routes, TriageError> {
        let text = std::fs::read_to_string(path).map_err(|e| TriageError::Rules {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Routes::parse(&text, path)
    }

    /// The routing radlab ships: axial chest CT with slices of 0.5 to 3 mm
    /// and at least 16 instances goes to the nodule analysis.
    pub fn default_chest_ct() -> Routes {
        Routes {
            route: vec![Route {
                name: "chest CT for nodules".into(),
                modality: Some("CT".into()),
                body_part: Some(vec!["CHEST".into(), "LUNG".into(), "THORAX".into()]),
                orientation: Some(Orientation::Axial),
                slice_thickness_mm: Some([0.5, 3.0]),
                description: None,
                min_instances: Some(16),
                priority: 1,
                analysis: "nodules".into(),
            }],
        }
    }

    /// The first route matching `f`, or every route's reason for not.
    pub fn select(&self, f: &SeriesFacts) -> Result<&Route, Vec<(String, Mismatch)>> {
        let mut why = Vec::new();
        for r in &self.route {
            match r.matches(f) {
                Ok(()) => return Ok(r),
                Err(m) => why.push((r.name.clone(), m)),
            }
        }
        Err(why)
    }
}
