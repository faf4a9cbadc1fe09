//! Write the hostile corpus to a folder, to try a lab on it by hand:
//! `cargo run -p radlab-tests --example hostile_corpus -- /tmp/hostile`
//! then e.g. `cargo run -p lab-dicom -- --input /tmp/hostile/rescale/slope-zero.dcm`.

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("target/hostile-corpus"));
    let _ = std::fs::remove_dir_all(&dir);
    let cases = radlab_tests::hostile::corpus(&dir);
    for c in &cases {
        println!("{:<45} {:?}", c.name, c.expect);
    }
    eprintln!("{} cases in {}", cases.len(), dir.display());
}
