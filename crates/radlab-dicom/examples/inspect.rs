//! Print the grouped header summary of a DICOM file.
//!
//! `cargo run -p radlab-dicom --example inspect -- FILE`

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: inspect FILE");
        std::process::exit(2);
    };
    let path = std::path::PathBuf::from(path);
    match radlab_dicom::open_header(&path) {
        Ok(obj) => {
            for group in radlab_dicom::summary::summarize(&obj) {
                println!("{}", group.name);
                for e in group.entries {
                    println!("  {} {:<28} {}", e.tag, e.keyword, e.value);
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
