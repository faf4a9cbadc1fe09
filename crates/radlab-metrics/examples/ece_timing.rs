//! Time the binned calibration error on the bench's 1M predictions:
//! `cargo run --release -p radlab-metrics --example ece_timing -- DIR`.
use radlab_metrics::calibration::{Binning, EdgeRule, Reduction, reduce, reliability};
fn main() {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/bench-data/full".into()),
    );
    let c: ndarray::Array1<f64> =
        ndarray_npy::read_npy(dir.join("ece_conf.npy")).expect("ece_conf.npy");
    let o: ndarray::Array1<f64> =
        ndarray_npy::read_npy(dir.join("ece_correct.npy")).expect("ece_correct.npy");
    let (c, o) = (c.to_vec(), o.to_vec());
    let b = Binning::equal_width(15, EdgeRule::LeftClosedExtraBin);
    let mut times = Vec::new();
    for _ in 0..21 {
        let t0 = std::time::Instant::now();
        let e = reduce(&reliability(&c, &o, &b).unwrap(), Reduction::Expected);
        times.push(t0.elapsed());
        if times.len() == 1 {
            println!("ECE {e}");
        }
    }
    times.sort();
    println!(
        "21 runs: min {:?}, median {:?}, max {:?}",
        times[0], times[10], times[20]
    );
}
