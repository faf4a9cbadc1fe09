//! Named CT windows with the reason each exists.
//!
//! Values are the usual teaching values (center/level and width in HU); sites
//! tune them, but these are what an interviewer expects you to know.

use serde::Serialize;

use crate::error::{ImagingError, Result};
use crate::window::{VoiFunction, Window};

/// A named CT window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Preset {
    /// Short name used on the command line.
    pub name: &'static str,
    /// Window center (level), HU.
    pub center: f64,
    /// Window width, HU.
    pub width: f64,
    /// One line on why these numbers.
    pub rationale: &'static str,
}

impl Preset {
    /// The preset as a [`Window`] with the given VOI function.
    pub fn window(&self, function: VoiFunction) -> Window {
        Window::new(self.center, self.width, function).expect("presets have valid widths")
    }
}

/// All presets, in display order.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "lung",
        center: -600.0,
        width: 1500.0,
        rationale: "spans air (-1000) to soft tissue so nodules, vessels and emphysema show against aerated lung",
    },
    Preset {
        name: "mediastinum",
        center: 50.0,
        width: 350.0,
        rationale: "fat (-100) to enhanced vessels (+200): separates nodes, vessels and fat in the chest",
    },
    Preset {
        name: "bone",
        center: 400.0,
        width: 1800.0,
        rationale: "wide and high so cortex and trabecular bone keep detail instead of saturating white",
    },
    Preset {
        name: "brain",
        center: 40.0,
        width: 80.0,
        rationale: "narrow around brain tissue: grey (~40) and white matter (~25) differ by only a few HU",
    },
    Preset {
        name: "subdural",
        center: 75.0,
        width: 215.0,
        rationale: "wider than brain so a thin bleed next to the bright skull is not lost in white",
    },
    Preset {
        name: "stroke",
        center: 40.0,
        width: 40.0,
        rationale: "very narrow to exaggerate the small drop in HU of early ischaemic grey matter",
    },
    Preset {
        name: "liver",
        center: 30.0,
        width: 150.0,
        rationale: "narrow around parenchyma (~60 enhanced) to make subtle low-density lesions visible",
    },
    Preset {
        name: "abdomen",
        center: 50.0,
        width: 400.0,
        rationale: "general soft tissue: fat, fluid, muscle and enhanced organs all stay distinguishable",
    },
];

/// Look up a preset by name (case-insensitive).
///
/// ```
/// let p = radlab_imaging::presets::preset("LUNG").unwrap();
/// assert_eq!((p.center, p.width), (-600.0, 1500.0));
/// ```
pub fn preset(name: &str) -> Result<&'static Preset> {
    PRESETS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| ImagingError::UnknownPreset {
            name: name.to_string(),
            known: PRESETS
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}
