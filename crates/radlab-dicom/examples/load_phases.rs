//! Time the phases of loading a series: header scan, whole-file parse, decode.
//!
//! `cargo run --release -p radlab-dicom --example load_phases -- DIR`

use std::time::Instant;

use rayon::prelude::*;

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: load_phases DIR");
        std::process::exit(2);
    };
    let dir = std::path::PathBuf::from(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for _ in 0..3 {
        let t = Instant::now();
        let _: Vec<_> = files
            .par_iter()
            .map(|p| radlab_dicom::header::ImageHeader::read(p).unwrap())
            .collect();
        let headers = t.elapsed();
        let t = Instant::now();
        let _: Vec<_> = files
            .par_iter()
            .map(|p| std::fs::read(p).unwrap().len())
            .collect();
        let raw = t.elapsed();
        let t = Instant::now();
        let n: usize = files
            .par_iter()
            .map(|p| radlab_dicom::open(p).unwrap().iter().count())
            .sum();
        let parse = t.elapsed();
        let t = Instant::now();
        let mut buf = vec![0f32; 300 * 512 * 512];
        buf.par_chunks_mut(512 * 512).for_each(|c| c.fill(1.0));
        std::hint::black_box(&buf);
        drop(buf);
        println!(
            "allocate + first touch of 300x512x512 f32: {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let t = Instant::now();
        let mut buf = radlab_dicom::volume::zeroed_f32(300 * 512 * 512);
        buf.par_chunks_mut(512 * 512).for_each(|c| c.fill(1.0));
        std::hint::black_box(&buf);
        drop(buf);
        println!(
            "same with huge pages advised: {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let t = Instant::now();
        let v = radlab_dicom::load_series(&files).unwrap();
        let load = t.elapsed();
        println!(
            "headers {:.1} ms, read bytes {:.1} ms, full parse {:.1} ms ({n} elements), load_series {:.1} ms {:?}",
            headers.as_secs_f64() * 1e3,
            raw.as_secs_f64() * 1e3,
            parse.as_secs_f64() * 1e3,
            load.as_secs_f64() * 1e3,
            v.shape()
        );
    }
}
