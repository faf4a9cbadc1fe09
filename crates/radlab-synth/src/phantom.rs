//! The chest phantom: anatomy, nodules, blur and noise, on a `[z, y, x]` grid.
//!
//! Geometry: axial slices, head-first supine. Patient coordinates are LPS
//! (x to the patient's left, y posterior, z superior), in mm. Voxel
//! `[z, y, x]` sits at `origin + (x*sx, y*sy, z*sz)` with spacing
//! `(sz, sy, sx)`; the grid is centred on the origin of patient space.

use ndarray::{Array3, Axis};
use radlab_geometry::Spacing;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::Serialize;

use crate::vendor::Vendor;

/// The kind of a nodule, by its density.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoduleKind {
    /// Soft-tissue density throughout (~ +30 HU).
    Solid,
    /// A ground-glass halo with a solid core.
    PartSolid,
    /// Hazy increase in density (~ -550 HU), vessels still visible through it.
    GroundGlass,
}

/// One nodule of the ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Nodule {
    /// Label value of this nodule in the label mask (1, 2, ...).
    pub label: u8,
    /// Centre, LPS mm.
    pub center_mm: [f64; 3],
    /// Centre as a voxel index `[z, y, x]` (fractional).
    pub center_voxel: [f64; 3],
    /// Diameter, mm.
    pub diameter_mm: f64,
    /// Density kind.
    pub kind: NoduleKind,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhantomSpec {
    /// Seed of every random choice.
    pub seed: u64,
    /// Grid shape `[z, y, x]`.
    pub shape: [usize; 3],
    /// Voxel spacing, mm.
    pub spacing: Spacing,
    /// Number of nodules.
    pub nodules: usize,
}

/// A generated phantom: HU values, labels and the nodule list.
#[derive(Debug, Clone)]
pub struct Phantom {
    /// HU, `[z, y, x]`, already quantised to integers in `-1024..=3071`.
    pub hu: Array3<i16>,
    /// Nodule labels, `[z, y, x]`: 0 background, `n` inside nodule `n`.
    pub labels: Array3<u8>,
    /// Ground-truth nodules.
    pub nodules: Vec<Nodule>,
    /// LPS position of voxel `[0, 0, 0]`, mm.
    pub origin: [f64; 3],
    /// Voxel spacing, mm.
    pub spacing: Spacing,
}

struct Vessel {
    a: [f64; 3],
    b: [f64; 3],
    r0: f64,
    r1: f64,
}

struct Anatomy {
    body: (f64, f64),
    lungs: [([f64; 3], [f64; 3]); 2],
    vessels: Vec<Vessel>,
    texture: Vec<([f64; 3], f64)>,
    carina_z: f64,
    rib_z: Vec<f64>,
}

fn dist_to_segment(p: [f64; 3], v: &Vessel) -> (f64, f64) {
    let ab = [v.b[0] - v.a[0], v.b[1] - v.a[1], v.b[2] - v.a[2]];
    let ap = [p[0] - v.a[0], p[1] - v.a[1], p[2] - v.a[2]];
    let len2 = ab[0] * ab[0] + ab[1] * ab[1] + ab[2] * ab[2];
    let t = ((ap[0] * ab[0] + ap[1] * ab[1] + ap[2] * ab[2]) / len2).clamp(0.0, 1.0);
    let d = [ap[0] - t * ab[0], ap[1] - t * ab[1], ap[2] - t * ab[2]];
    ((d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt(), t)
}

/// Smooth step from 1 (inside, d < -w/2) to 0 (outside, d > w/2): partial volume.
fn soft_inside(d: f64, w: f64) -> f64 {
    (0.5 - d / w).clamp(0.0, 1.0)
}

impl Anatomy {
    fn new(rng: &mut ChaCha8Rng, z_extent: f64) -> Self {
        let half_z = z_extent / 2.0;
        let body = (
            150.0 + rng.random_range(-12.0..12.0),
            105.0 + rng.random_range(-8.0..8.0),
        );
        let lz = half_z * 0.95;
        let lungs = [
            ([-72.0, -5.0, 8.0], [52.0, 72.0, lz]),
            ([72.0, -5.0, 8.0], [55.0, 74.0, lz]),
        ];
        let mut vessels = Vec::new();
        for side in [-1.0f64, 1.0] {
            let hilum = [side * 45.0, 5.0, 0.0];
            for _ in 0..14 {
                let mut a = hilum;
                let mut r = rng.random_range(2.2..3.2);
                // A branch of three segments, wandering outward and thinning.
                let mut dir = [
                    side * rng.random_range(0.4..1.0),
                    rng.random_range(-0.8..0.8),
                    rng.random_range(-0.9..0.9),
                ];
                for _ in 0..3 {
                    let n = (dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]).sqrt();
                    let len = rng.random_range(18.0..35.0);
                    let b = [
                        a[0] + dir[0] / n * len,
                        a[1] + dir[1] / n * len,
                        a[2] + dir[2] / n * len,
                    ];
                    let r1 = (r * 0.7f64).max(0.6);
                    vessels.push(Vessel { a, b, r0: r, r1 });
                    a = b;
                    r = r1;
                    dir[0] += side * rng.random_range(-0.1..0.3);
                    dir[1] += rng.random_range(-0.4..0.4);
                    dir[2] += rng.random_range(-0.4..0.4);
                }
            }
        }
        let texture = (0..6)
            .map(|_| {
                (
                    [
                        rng.random_range(-0.12..0.12),
                        rng.random_range(-0.12..0.12),
                        rng.random_range(-0.12..0.12),
                    ],
                    rng.random_range(0.0..std::f64::consts::TAU),
                )
            })
            .collect();
        let first_rib = -half_z + rng.random_range(5.0..15.0);
        let rib_z = (0..12).map(|k| first_rib + 24.0 * k as f64).collect();
        Anatomy {
            body,
            lungs,
            vessels,
            texture,
            carina_z: rng.random_range(10.0..25.0),
            rib_z,
        }
    }

    /// Signed "how far inside" a lung (negative inside), in mm-ish units.
    fn lung_depth(&self, p: [f64; 3]) -> f64 {
        self.lungs
            .iter()
            .map(|(c, r)| {
                let q = [
                    (p[0] - c[0]) / r[0],
                    (p[1] - c[1]) / r[1],
                    (p[2] - c[2]) / r[2],
                ];
                ((q[0] * q[0] + q[1] * q[1] + q[2] * q[2]).sqrt() - 1.0) * r[0].min(r[1])
            })
            .fold(f64::INFINITY, f64::min)
    }

    /// HU of the anatomy (without nodules, blur or noise) at LPS point `p`.
    fn hu(&self, p: [f64; 3]) -> f64 {
        let [x, y, z] = p;
        let (a, b) = self.body;
        let e = ((x / a).powi(2) + (y / b).powi(2)).sqrt();
        if e > 1.0 {
            return -1000.0;
        }
        let depth_from_skin = (1.0 - e) * a.min(b);
        let mut hu = if depth_from_skin < 2.0 {
            30.0 // skin
        } else if depth_from_skin < 14.0 {
            -100.0 // subcutaneous fat
        } else {
            45.0 // muscle and soft tissue
        };
        // Ribs: tubes along an ellipse inside the body wall, sloping downward anteriorly.
        let ang = y.atan2(x); // y > 0 is posterior
        let anterior = (-ang.sin()).max(0.0);
        if anterior < 0.85 {
            let re = ((x / (a - 20.0)).powi(2) + (y / (b - 16.0)).powi(2)).sqrt();
            let radial = (re - 1.0) * (a - 20.0).min(b - 16.0);
            for &rz in &self.rib_z {
                let dz = z - (rz - 14.0 * anterior);
                let d = (radial * radial + dz * dz).sqrt();
                if d < 4.5 {
                    hu = if d > 3.0 { 900.0 } else { 350.0 };
                }
            }
        }
        // Sternum.
        if x.abs() < 14.0 && (y + b - 12.0).abs() < 5.0 {
            hu = 500.0;
        }
        // Spine: vertebral body with cortex; discs every 26 mm; canal behind.
        let (sx, sy) = (0.0, b - 32.0);
        let ds = ((x - sx).powi(2) + (y - sy).powi(2)).sqrt();
        if ds < 17.0 {
            let disc = (z.rem_euclid(26.0) - 13.0).abs() < 2.5;
            hu = if disc {
                90.0
            } else if ds > 14.5 {
                1200.0
            } else {
                320.0
            };
        }
        let dc = ((x - sx).powi(2) + (y - (sy + 24.0)).powi(2)).sqrt();
        if dc < 7.0 {
            hu = 10.0;
        } else if dc < 10.0 && y > sy + 17.0 {
            hu = 800.0;
        }
        // Lungs: aerated parenchyma with smooth texture, and vessels.
        let ld = self.lung_depth(p);
        if ld < 0.0 {
            let mut t = 0.0;
            for (k, ph) in &self.texture {
                t += (k[0] * x + k[1] * y + k[2] * z + ph).sin();
            }
            let lung = -850.0 + 12.0 * t;
            let w = soft_inside(ld, 2.0);
            hu = lung * w + hu * (1.0 - w);
            for v in &self.vessels {
                let (d, t) = dist_to_segment(p, v);
                let r = v.r0 + (v.r1 - v.r0) * t;
                let f = soft_inside(d - r, 1.2);
                if f > 0.0 {
                    hu = hu * (1.0 - f) + 40.0 * f;
                }
            }
        }
        // Heart, aorta, mediastinal fat (between the lungs, anterior-left).
        let heart =
            ((x - 18.0) / 55.0).powi(2) + ((y + 15.0) / 48.0).powi(2) + ((z + 30.0) / 50.0).powi(2);
        if heart < 1.0 {
            hu = if heart > 0.85 { -90.0 } else { 40.0 };
        }
        let aorta_d = ((x - 22.0).powi(2) + (y - 40.0).powi(2)).sqrt();
        if aorta_d < 12.0 && z > -60.0 {
            hu = 42.0;
        }
        // Airway: trachea above the carina, then two main bronchi.
        let tr = 9.0;
        if z > self.carina_z {
            let d = (x.powi(2) + (y + 10.0).powi(2)).sqrt();
            if d < tr - 1.5 {
                hu = -1000.0;
            } else if d < tr {
                hu = 60.0;
            }
        } else if z > self.carina_z - 45.0 {
            let drop = self.carina_z - z;
            for side in [-1.0, 1.0] {
                let cx = side * drop * 0.8;
                let d = ((x - cx).powi(2) + (y + 10.0 - drop * 0.2).powi(2)).sqrt();
                if d < tr * 0.8 - 1.5 {
                    hu = -1000.0;
                } else if d < tr * 0.8 && hu > -500.0 {
                    hu = 60.0;
                }
            }
        }
        hu
    }
}

/// Separable Gaussian blur along one axis, sigma in voxels.
fn blur_axis(a: &mut Array3<f32>, axis: usize, sigma: f64) {
    if sigma < 0.05 {
        return;
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = {
        let k: Vec<f64> = (-radius..=radius)
            .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
            .collect();
        let s: f64 = k.iter().sum();
        k.iter().map(|v| (v / s) as f32).collect()
    };
    let ax = Axis(axis);
    let n = a.len_of(ax) as isize;
    let mut lanes: Vec<_> = a.lanes_mut(ax).into_iter().collect();
    lanes.par_iter_mut().for_each(|lane| {
        let src: Vec<f32> = lane.iter().copied().collect();
        for i in 0..n {
            let mut acc = 0.0f32;
            for (k, w) in kernel.iter().enumerate() {
                let j = (i + k as isize - radius).clamp(0, n - 1);
                acc += w * src[j as usize];
            }
            lane[i as usize] = acc;
        }
    });
}

/// Generate a phantom deterministically from `spec` and a vendor profile.
pub fn generate(spec: &PhantomSpec, vendor: &Vendor) -> Phantom {
    let [nz, ny, nx] = spec.shape;
    let [sz, sy, sx] = spec.spacing.zyx();
    let origin = [
        -((nx as f64 - 1.0) / 2.0) * sx,
        -((ny as f64 - 1.0) / 2.0) * sy,
        -((nz as f64 - 1.0) / 2.0) * sz,
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let anatomy = Anatomy::new(&mut rng, nz as f64 * sz);
    let pos = |z: usize, y: usize, x: usize| {
        [
            origin[0] + x as f64 * sx,
            origin[1] + y as f64 * sy,
            origin[2] + z as f64 * sz,
        ]
    };

    // Nodules: centres well inside a lung, sizes over 3..30 mm, all three kinds.
    let mut nodules = Vec::new();
    let kinds = [
        NoduleKind::Solid,
        NoduleKind::PartSolid,
        NoduleKind::GroundGlass,
    ];
    let mut attempts = 0;
    // Keep nodule centres 10 mm from the first and last slice (less on thin slabs).
    let z_margin = 10.0f64.min(-origin[2] * 0.5);
    while nodules.len() < spec.nodules && attempts < 10_000 {
        attempts += 1;
        let i = nodules.len();
        let diameter: f64 = if i == 0 {
            rng.random_range(12.0..30.0)
        } else {
            rng.random_range(3.0..22.0)
        };
        let kind = kinds[(i + spec.seed as usize) % 3];
        let c = [
            rng.random_range(-130.0..130.0),
            rng.random_range(-80.0..70.0),
            if z_margin > 0.0 {
                rng.random_range(origin[2] + z_margin..-origin[2] - z_margin)
            } else {
                0.0
            },
        ];
        if anatomy.lung_depth(c) > -(diameter / 2.0 + 4.0) {
            continue;
        }
        let overlaps = nodules.iter().any(|n: &Nodule| {
            let d = ((n.center_mm[0] - c[0]).powi(2)
                + (n.center_mm[1] - c[1]).powi(2)
                + (n.center_mm[2] - c[2]).powi(2))
            .sqrt();
            d < (n.diameter_mm + diameter) / 2.0 + 5.0
        });
        if overlaps {
            continue;
        }
        nodules.push(Nodule {
            label: (i + 1) as u8,
            center_mm: c,
            center_voxel: [
                (c[2] - origin[2]) / sz,
                (c[1] - origin[1]) / sy,
                (c[0] - origin[0]) / sx,
            ],
            diameter_mm: (diameter * 10.0).round() / 10.0,
            kind,
        });
    }
    // Lobulation: each nodule's radius varies a little with direction.
    let lobes: Vec<[f64; 4]> = nodules
        .iter()
        .map(|_| {
            [
                rng.random_range(0.0..std::f64::consts::TAU),
                rng.random_range(0.0..std::f64::consts::TAU),
                rng.random_range(0.04..0.12),
                rng.random_range(2.0..4.0f64).floor(),
            ]
        })
        .collect();

    let mut hu = Array3::<f32>::zeros((nz, ny, nx));
    let mut labels = Array3::<u8>::zeros((nz, ny, nx));
    hu.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(labels.axis_iter_mut(Axis(0)).into_par_iter())
        .enumerate()
        .for_each(|(z, (mut hplane, mut lplane))| {
            for y in 0..ny {
                for x in 0..nx {
                    let p = pos(z, y, x);
                    let mut v = anatomy.hu(p);
                    for (n, lobe) in nodules.iter().zip(&lobes) {
                        let d = [
                            p[0] - n.center_mm[0],
                            p[1] - n.center_mm[1],
                            p[2] - n.center_mm[2],
                        ];
                        let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                        let radius = n.diameter_mm / 2.0;
                        if r > radius * 1.3 + 2.0 {
                            continue;
                        }
                        let theta = d[1].atan2(d[0]);
                        let phi = (d[2] / r.max(1e-9)).acos();
                        let shape = 1.0
                            + lobe[2]
                                * (lobe[3] * theta + lobe[0]).sin()
                                * (2.0 * phi + lobe[1]).cos();
                        let edge = r - radius * shape;
                        let f = soft_inside(edge, 1.0);
                        if edge <= 0.0 {
                            lplane[[y, x]] = n.label;
                        }
                        if f > 0.0 {
                            let inside = match n.kind {
                                NoduleKind::Solid => 30.0,
                                NoduleKind::GroundGlass => v.max(-560.0),
                                NoduleKind::PartSolid => {
                                    if r < radius * 0.45 {
                                        20.0
                                    } else {
                                        v.max(-520.0)
                                    }
                                }
                            };
                            v = v * (1.0 - f) + inside * f;
                        }
                    }
                    hplane[[y, x]] = v as f32;
                }
            }
        });

    // The reconstruction kernel: in-plane blur of this vendor, a little along z.
    blur_axis(&mut hu, 2, vendor.blur_mm / sx);
    blur_axis(&mut hu, 1, vendor.blur_mm / sy);
    blur_axis(&mut hu, 0, 0.5 * vendor.blur_mm / sz);

    // Noise: each slice has its own stream, so slices can be made in parallel
    // and the result does not depend on the number of threads.
    let noise = Normal::new(0.0, vendor.noise_hu).expect("positive sigma");
    let mut out = Array3::<i16>::zeros((nz, ny, nx));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(hu.axis_iter(Axis(0)).into_par_iter())
        .enumerate()
        .for_each(|(z, (mut o, h))| {
            let mut r = ChaCha8Rng::seed_from_u64(
                spec.seed ^ 0x9E37_79B9_7F4A_7C15 ^ (z as u64).wrapping_mul(0x1000_0000_01B3),
            );
            for (o, &h) in o.iter_mut().zip(h.iter()) {
                let v = f64::from(h) + noise.sample(&mut r);
                *o = v.round().clamp(-1024.0, 3071.0) as i16;
            }
        });
    Phantom {
        hu: out,
        labels,
        nodules,
        origin,
        spacing: spec.spacing,
    }
}
