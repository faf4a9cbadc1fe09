//! Fictional scanner vendors: each has its own header identity, noise and blur.

use serde::Serialize;

/// A fictional CT scanner profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Vendor {
    /// Short id used in file names and reports.
    pub id: &'static str,
    /// Manufacturer (0008,0070).
    pub manufacturer: &'static str,
    /// ManufacturerModelName (0008,1090).
    pub model: &'static str,
    /// ConvolutionKernel (0018,1210).
    pub kernel: &'static str,
    /// KVP (0018,0060).
    pub kvp: f64,
    /// Standard deviation of the added noise, HU.
    pub noise_hu: f64,
    /// Gaussian blur sigma in the slice plane, mm (the reconstruction kernel's softness).
    pub blur_mm: f64,
}

/// The vendors the generator knows (all names are invented).
pub const VENDORS: &[Vendor] = &[
    Vendor {
        id: "northwind",
        manufacturer: "Northwind Imaging",
        model: "NW Spiral 64",
        kernel: "SOFT-B30",
        kvp: 120.0,
        noise_hu: 12.0,
        blur_mm: 0.9,
    },
    Vendor {
        id: "helios",
        manufacturer: "Helios Medical Systems",
        model: "Helios CT 128",
        kernel: "LUNG-SHARP",
        kvp: 100.0,
        noise_hu: 25.0,
        blur_mm: 0.4,
    },
    Vendor {
        id: "meridian",
        manufacturer: "Meridian Diagnostics",
        model: "Meridian Aquila 16",
        kernel: "STD-C",
        kvp: 140.0,
        noise_hu: 8.0,
        blur_mm: 1.4,
    },
];
