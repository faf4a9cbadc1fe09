//! De-identify a folder with the Basic Profile and the public sample key,
//! then print the counts, refusals and any leaks.
//!
//! `cargo run -p radlab-deid --example deid_folder -- INPUT OUTPUT [OPTION...]`

use radlab_deid::{Config, Deidentifier, Key, ProfileOption, batch};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, options @ ..] = args.as_slice() else {
        return Err("usage: deid_folder INPUT OUTPUT [OPTION...]".into());
    };
    let mut config = Config::basic(Key::sample());
    for o in options {
        config
            .options
            .push(ProfileOption::parse(o).ok_or(format!("unknown option {o}"))?);
    }
    let deid = Deidentifier::new(config)?;
    let report = batch::deidentify_folder(&deid, input.as_ref(), output.as_ref(), &|_, _| {})?;
    for f in report.files.iter().filter(|f| f.status != "written") {
        println!(
            "{}: {} ({})",
            f.input,
            f.status,
            f.reason.as_deref().unwrap_or("")
        );
    }
    for l in &report.leaks {
        let input = report
            .files
            .iter()
            .find(|f| f.output.as_deref() == Some(l.file.as_str()))
            .map_or("?", |f| f.input.as_str());
        println!(
            "LEAK {} (from {input}) at {}: {} ({}, from {})",
            l.file, l.location, l.value, l.form, l.origin
        );
    }
    println!(
        "written {}, refused {}, skipped {}, needles {}, leaks {}",
        report.count("written"),
        report.count("refused"),
        report.count("skipped"),
        report.needles,
        report.leaks.len()
    );
    Ok(())
}
