//! Time the surface metrics on the bench's two 300 x 512 x 512 masks
//! (the same ellipsoids and blob as `radlab-bench gen`), stage by stage:
//! `cargo run --release -p radlab-metrics --example hd95_timing`.
use ndarray::Array3;
use radlab_metrics::segmentation::{directed_surface_distances, surface_metrics, surface_points};
use std::time::Instant;

fn ellipsoid(e: [i64; 6], z: usize, y: usize, x: usize) -> bool {
    let (dz, dy, dx) = (z as i64 - e[0], y as i64 - e[1], x as i64 - e[2]);
    let (a, b, c) = (dz * e[4] * e[5], dy * e[3] * e[5], dx * e[3] * e[4]);
    let r = e[3] * e[4] * e[5];
    a * a + b * b + c * c <= r * r
}

fn main() {
    let shape = (300, 512, 512);
    let spacing = [1.0, 0.7, 0.7];
    let (ea, eb, blob) = (
        [150, 256, 256, 90, 150, 120],
        [155, 250, 262, 85, 155, 118],
        [40i64, 100, 420, 10],
    );
    let a = Array3::from_shape_fn(shape, |(z, y, x)| ellipsoid(ea, z, y, x));
    let b = Array3::from_shape_fn(shape, |(z, y, x)| {
        let (dz, dy, dx) = (z as i64 - blob[0], y as i64 - blob[1], x as i64 - blob[2]);
        ellipsoid(eb, z, y, x) || dz * dz + dy * dy + dx * dx <= blob[3] * blob[3]
    });
    for _ in 0..3 {
        let t = Instant::now();
        let (pa, pb) = (surface_points(a.view()), surface_points(b.view()));
        let t_surface = t.elapsed();
        let t = Instant::now();
        let d = directed_surface_distances(
            a.view(),
            b.view(),
            radlab_metrics::Spacing::from_zyx(spacing),
        )
        .unwrap();
        let t_directed = t.elapsed();

        let t = Instant::now();
        let m = surface_metrics(
            a.view(),
            b.view(),
            radlab_metrics::Spacing::from_zyx(spacing),
            1.0,
        )
        .unwrap();
        let t_all = t.elapsed();
        println!(
            "surfaces {} + {} points in {t_surface:?}; one direction ({} distances) {t_directed:?}; all metrics {t_all:?}: hd95 {:.6} hausdorff {:.6} assd {:.6}",
            pa.len(),
            pb.len(),
            d.len(),
            m.hd95,
            m.hausdorff,
            m.assd
        );
    }
}
