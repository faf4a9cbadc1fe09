//! How many NLL evaluations a temperature fit takes on the bench's logits,
//! and how long it takes (15 fits):
//! `cargo run --release -p radlab-metrics --example temperature_iterations -- DIR`.
fn main() {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/bench-data/full".into()),
    );
    let z: ndarray::Array2<f64> =
        ndarray_npy::read_npy(dir.join("temp_logits.npy")).expect("temp_logits.npy");
    let l: ndarray::Array1<i64> =
        ndarray_npy::read_npy(dir.join("temp_labels.npy")).expect("temp_labels.npy");
    let labels: Vec<usize> = l.iter().map(|&v| v as usize).collect();
    let mut times = Vec::new();
    for _ in 0..15 {
        let t0 = std::time::Instant::now();
        let fit = radlab_metrics::calibration::fit_temperature(z.view(), &labels).unwrap();
        times.push(t0.elapsed());
        if times.len() == 1 {
            println!("{fit:?}");
        }
    }
    times.sort();
    println!(
        "15 fits: min {:?}, median {:?}, max {:?}",
        times[0], times[7], times[14]
    );
}
