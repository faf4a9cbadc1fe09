//! Print what the pre-scan makes of a file: `cargo run -p radlab-dicom --example prescan_dump FILE`.
fn main() {
    let path = std::env::args_os().nth(1).expect("a file");
    let f = std::fs::File::open(&path).expect("open");
    let mut src = radlab_dicom::prescan::FileSource::new(f).expect("size");
    let budget = radlab_dicom::limits::memory_budget();
    match radlab_dicom::prescan::prescan(&mut src, &budget) {
        Ok(l) => println!(
            "{:?} meta {:?} data set at {} ({}), data end {}, depth {}, pixel data {:?}\nquirks: {:?}",
            l.framing,
            l.meta_start,
            l.dataset_start,
            l.transfer_syntax,
            l.data_end,
            l.max_depth,
            l.pixel_data,
            l.quirks
        ),
        Err(p) => println!("{p:?}"),
    }
}
