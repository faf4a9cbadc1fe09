//! Time the pre-scan, a header-only open and dicom-object's own header read
//! over a folder of single-file slices (e.g. the bench's CT):
//! `cargo run --release -p radlab-dicom --example scan_timing -- target/bench-data/full/ct`.

fn main() {
    let dir =
        std::path::PathBuf::from(std::env::args_os().nth(1).expect("a folder of DICOM files"));
    let dir = dir.as_path();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let budget = radlab_dicom::limits::memory_budget();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        for f in &files {
            let file = std::fs::File::open(f).unwrap();
            let mut src = radlab_dicom::prescan::FileSource::new(file).unwrap();
            radlab_dicom::prescan::prescan(&mut src, &budget).unwrap();
        }
        let a = t.elapsed();
        let t = std::time::Instant::now();
        for f in &files {
            radlab_dicom::file::open_header(f).unwrap();
        }
        let b = t.elapsed();
        let t = std::time::Instant::now();
        for f in &files {
            radlab_dicom::header::ImageHeader::read(f).unwrap();
        }
        let c = t.elapsed();
        let t = std::time::Instant::now();
        for f in &files {
            dicom_object::OpenFileOptions::new()
                .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
                .open_file(f)
                .unwrap();
        }
        let d = t.elapsed();
        println!(
            "prescan {a:?}  open_header {b:?}  ImageHeader::read {c:?}  dicom-object alone {d:?}"
        );
    }
}
