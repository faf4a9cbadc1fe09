//! Fixture builders shared by radlab's tests.
//!
//! They make small DICOM series and broken files in a folder the test owns,
//! using dicom-object directly (not radlab's own readers), so that the code
//! under test is checked against files it did not shape.

pub mod hostile;

use std::path::{Path, PathBuf};

use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_owned()
}

/// Where `cargo xtask test` unpacks third-party DICOM (pydicom, pydicom-data, deid-data).
///
/// Panics with instructions when it is missing: these tests never skip.
pub fn third_party_dir() -> PathBuf {
    // A relative RADLAB_THIRD_PARTY is taken from the workspace root (tests run in their package folder).
    let dir = std::env::var_os("RADLAB_THIRD_PARTY")
        .map(|p| workspace_root().join(p))
        .unwrap_or_else(|| workspace_root().join("target/third-party"));
    assert!(
        dir.join("READY").exists(),
        "third-party DICOM is not provisioned at {}: run `cargo xtask test` (or `cargo xtask fetch-data`)",
        dir.display()
    );
    dir
}

/// One slice of a hand-made series.
#[derive(Debug, Clone)]
pub struct SliceSpec {
    /// ImagePositionPatient, LPS mm.
    pub position: [f64; 3],
    /// ImageOrientationPatient.
    pub orientation: [f64; 6],
    /// InstanceNumber written to the header.
    pub instance_number: i32,
    /// Stored values, row-major `rows x cols`.
    pub stored: Vec<i32>,
    /// RescaleSlope.
    pub slope: f64,
    /// RescaleIntercept.
    pub intercept: f64,
}

/// Layout of the stored values of a hand-made series.
#[derive(Debug, Clone, Copy)]
pub struct Storage {
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
    /// Bits stored (<= 16; allocated is always 16).
    pub bits_stored: u16,
    /// Two's complement.
    pub signed: bool,
    /// Pixel spacing (row, column) mm.
    pub pixel_spacing: [f64; 2],
}

fn put(o: &mut InMemDicomObject, tag: Tag, vr: VR, v: impl Into<PrimitiveValue>) {
    o.put(DataElement::new(tag, vr, v.into()));
}

fn ds_list(v: &[f64]) -> PrimitiveValue {
    PrimitiveValue::Strs(
        v.iter()
            .map(|x| {
                format!("{x:.10}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            })
            .map(|s| if s.len() > 16 { s[..16].to_string() } else { s })
            .collect(),
    )
}

/// Build one slice object (without file meta).
pub fn slice_object(
    series_uid: &str,
    sop_uid: &str,
    s: &SliceSpec,
    st: &Storage,
) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE);
    put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop_uid);
    put(&mut o, tags::MODALITY, VR::CS, "CT");
    put(&mut o, tags::PATIENT_NAME, VR::PN, "TEST^PERSON");
    put(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, "2.25.1");
    put(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, series_uid);
    put(
        &mut o,
        tags::INSTANCE_NUMBER,
        VR::IS,
        s.instance_number.to_string(),
    );
    o.put(DataElement::new(
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        ds_list(&s.position),
    ));
    o.put(DataElement::new(
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        ds_list(&s.orientation),
    ));
    o.put(DataElement::new(
        tags::PIXEL_SPACING,
        VR::DS,
        ds_list(&st.pixel_spacing),
    ));
    put(&mut o, tags::SLICE_THICKNESS, VR::DS, "99"); // deliberately wrong: spacing must come from positions
    put(
        &mut o,
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(1u16),
    );
    put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put(&mut o, tags::ROWS, VR::US, PrimitiveValue::from(st.rows));
    put(&mut o, tags::COLUMNS, VR::US, PrimitiveValue::from(st.cols));
    put(
        &mut o,
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(16u16),
    );
    put(
        &mut o,
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(st.bits_stored),
    );
    put(
        &mut o,
        tags::HIGH_BIT,
        VR::US,
        PrimitiveValue::from(st.bits_stored - 1),
    );
    put(
        &mut o,
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(u16::from(st.signed)),
    );
    o.put(DataElement::new(
        tags::RESCALE_SLOPE,
        VR::DS,
        ds_list(&[s.slope]),
    ));
    o.put(DataElement::new(
        tags::RESCALE_INTERCEPT,
        VR::DS,
        ds_list(&[s.intercept]),
    ));
    let mask = if st.bits_stored == 16 {
        0xFFFF
    } else {
        (1u32 << st.bits_stored) - 1
    };
    let words: Vec<u16> = s.stored.iter().map(|&v| (v as u32 & mask) as u16).collect();
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(words.into()),
    ));
    o
}

/// Write `obj` as a Part 10 file with the given transfer syntax.
pub fn write_file(path: &Path, obj: InMemDicomObject, ts: &str) {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(ts)
        .implementation_class_uid("2.25.7");
    let file = obj.with_meta(meta).expect("meta");
    file.write_to_file(path).expect("write");
}

/// Write a series of slices as `name_k.dcm` files (k in the given order).
pub fn write_series(
    dir: &Path,
    series_uid: &str,
    slices: &[SliceSpec],
    st: &Storage,
    names: &[String],
) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    slices
        .iter()
        .zip(names)
        .enumerate()
        .map(|(k, (s, name))| {
            let path = dir.join(name);
            let obj = slice_object(series_uid, &format!("{series_uid}.{k}"), s, st);
            write_file(&path, obj, uids::EXPLICIT_VR_LITTLE_ENDIAN);
            path
        })
        .collect()
}

/// A small synthetic CT series written with radlab-synth into `dir/ct`; returns the files.
pub fn small_synth_series(dir: &Path, seed: u64, slices: usize) -> Vec<PathBuf> {
    let spec = radlab_synth::CaseSpec {
        shape: [slices, 40, 48],
        spacing: radlab_dicom::Spacing::new(3.0, 8.0, 8.0),
        nodules: 1,
        ..radlab_synth::CaseSpec::sample(seed)
    };
    let case = radlab_synth::generate_case(&spec);
    let mut files = radlab_synth::write_case(&case, dir).expect("write case");
    files.retain(|p| p.extension().is_some_and(|e| e == "dcm"));
    files.sort();
    files
}

/// Rewrite a DICOM file without its Pixel Data.
pub fn strip_pixel_data(path: &Path) {
    let mut obj = dicom_object::open_file(path).expect("open");
    obj.remove_element(tags::PIXEL_DATA);
    obj.write_to_file(path).expect("write");
}

/// Rewrite a DICOM file as if it were JPEG-LS compressed (encapsulated, one
/// fragment of garbage): a transfer syntax radlab cannot decode in pure Rust.
pub fn make_jpeg_ls(path: &Path) {
    let obj = dicom_object::open_file(path).expect("open");
    let mut inner: InMemDicomObject = (*obj).clone();
    inner.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(
            vec![],
            vec![vec![0xFF, 0xD8, 0xFF, 0xF7, 0, 0]],
        )),
    ));
    write_file(path, inner, uids::JPEGLS_LOSSLESS);
}

/// One kind of bad input, built on disk, with the words its error must contain.
#[derive(Debug)]
pub struct BadInput {
    /// Short name for test messages.
    pub name: &'static str,
    /// The file or folder to pass as `--input`.
    pub path: PathBuf,
    /// Extra arguments (e.g. none, or `--series`).
    pub args: Vec<String>,
    /// Text the one-line error must contain (besides the path).
    pub expect: &'static str,
}

/// Build every bad input under `root`: a non-DICOM file, a truncated file, a
/// file without pixel data, an empty folder, a folder with two series, and a
/// file in a transfer syntax that cannot be decoded in pure Rust.
pub fn bad_inputs(root: &Path) -> Vec<BadInput> {
    let mut out = Vec::new();
    let text = root.join("notes.txt");
    std::fs::write(&text, "this is not DICOM\n").unwrap();
    out.push(BadInput {
        name: "non-DICOM file",
        path: text,
        args: vec![],
        expect: "not a DICOM file",
    });

    let series = small_synth_series(&root.join("good"), 21, 4);
    let truncated = root.join("truncated.dcm");
    let bytes = std::fs::read(&series[0]).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    out.push(BadInput {
        name: "truncated file",
        path: truncated,
        args: vec![],
        expect: "truncated",
    });

    let no_pixels = root.join("no_pixels.dcm");
    std::fs::copy(&series[1], &no_pixels).unwrap();
    strip_pixel_data(&no_pixels);
    out.push(BadInput {
        name: "no pixel data",
        path: no_pixels,
        args: vec![],
        expect: "no Pixel Data",
    });

    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    out.push(BadInput {
        name: "empty folder",
        path: empty,
        args: vec![],
        expect: "folder is empty",
    });

    let two = root.join("two_series");
    small_synth_series(&two.join("a"), 31, 3);
    small_synth_series(&two.join("b"), 32, 3);
    out.push(BadInput {
        name: "two series",
        path: two,
        args: vec![],
        expect: "choose one with --series",
    });

    let jls = root.join("jpeg_ls.dcm");
    std::fs::copy(&series[2], &jls).unwrap();
    make_jpeg_ls(&jls);
    out.push(BadInput {
        name: "unsupported transfer syntax",
        path: jls,
        args: vec![],
        expect: "JPEG-LS",
    });
    out
}

/// Check a finished command against a bad input: exit code 2, one line on
/// stderr naming the file and the problem, no panic, nothing on stdout.
pub fn assert_bad_input(case: &BadInput, output: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}: exit code; stderr: {stderr}",
        case.name
    );
    assert!(
        !stderr.contains("panicked"),
        "{}: panicked: {stderr}",
        case.name
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "{}: expected one line, got: {stderr}",
        case.name
    );
    assert!(
        lines[0].contains(case.expect),
        "{}: {:?} lacks {:?}",
        case.name,
        lines[0],
        case.expect
    );
    let name = case.path.file_name().unwrap().to_string_lossy();
    assert!(
        lines[0].contains(name.as_ref()),
        "{}: {:?} does not name {name}",
        case.name,
        lines[0]
    );
    assert!(output.stdout.is_empty(), "{}: wrote to stdout", case.name);
}

/// Run a lab binary on every [`bad_inputs`] case and check each refusal with
/// [`assert_bad_input`], and that no output folder was created.
pub fn check_bad_inputs(bin: &Path) {
    let tmp = std::env::temp_dir().join(format!(
        "radlab-bad-inputs-{}-{}",
        std::process::id(),
        bin.file_name().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    for case in bad_inputs(&tmp) {
        let out = tmp.join(format!("out-{}", case.name.replace(' ', "-")));
        let o = std::process::Command::new(bin)
            .arg("--input")
            .arg(&case.path)
            .args(&case.args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_bad_input(&case, &o);
        assert!(!out.exists(), "{}: output folder was created", case.name);
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The error lines dicom3tools' `dciodvfy` prints for a file (empty when it
/// conforms). Panics with instructions when dciodvfy is not installed.
pub fn dciodvfy_errors(path: &Path) -> Vec<String> {
    let o = std::process::Command::new("dciodvfy")
        .arg(path)
        .output()
        .expect("dciodvfy is not installed: run `cargo xtask test` (it installs dicom3tools)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    text.lines()
        .filter(|l| l.contains("Error"))
        .map(str::to_string)
        .collect()
}

/// Run a lab binary with `args --json --out OUT`, assert it succeeded
/// (showing its stderr otherwise) and parse the JSON it printed.
pub fn run_json(exe: &str, args: &[&str], out: &Path) -> serde_json::Value {
    let o = std::process::Command::new(exe)
        .args(args)
        .arg("--json")
        .arg("--out")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("{exe}: {e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON document on stdout")
}

/// Run a lab binary with `args --out TARGET` and assert a bad-input
/// failure: exit code 2, `words` in stderr, nothing written at `target`.
pub fn assert_exit_2(exe: &str, args: &[&str], target: &Path, words: &str) {
    let o = std::process::Command::new(exe)
        .args(args)
        .arg("--out")
        .arg(target)
        .output()
        .unwrap_or_else(|e| panic!("{exe}: {e}"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(words), "{args:?}: {err}");
    assert!(!target.exists(), "{args:?} wrote output");
}
