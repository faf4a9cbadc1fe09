//! A corpus of hostile and quirky DICOM, built byte by byte (a writer such
//! as dicom-object's would refuse or repair most of these), and the check
//! that runs a lab binary over it.
//!
//! Each case says what a lab must do with it: refuse it with exit code 2 and
//! one stderr line naming the file and the attribute (or structure) at
//! fault, or load it and say, in a warning, what it assumed or ignored.

use std::path::{Path, PathBuf};

/// What a lab must do with a case.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Exit 2, one stderr line holding the named file and each of these words.
    Refuse(Vec<&'static str>),
    /// Exit 0, and the output (stdout or stderr) holds these words.
    Warn(Vec<&'static str>),
    /// Exit 0, nothing to say.
    Load,
}

/// One hostile input on disk.
#[derive(Debug, Clone)]
pub struct Case {
    /// Category and short name, e.g. `lengths/pixel-data-4GiB`.
    pub name: String,
    /// What to pass as `--input`.
    pub input: PathBuf,
    /// The file the one-line error must name (the input itself, or the
    /// damaged file of a folder).
    pub names: PathBuf,
    /// What must happen.
    pub expect: Expect,
    /// True when the damage is in the file's structure (lengths, nesting,
    /// truncation), so that even a header-only tool (de-identification)
    /// must refuse it; false for values that only matter to pixels and geometry.
    pub structural: bool,
}

/// Explicit VR Little Endian.
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const RLE: &str = "1.2.840.10008.1.2.5";
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// One element, explicit VR little endian unless told otherwise.
#[derive(Debug, Clone)]
pub struct El {
    /// (group, element).
    pub tag: (u16, u16),
    /// Two-letter VR.
    pub vr: [u8; 2],
    /// Value bytes (already padded).
    pub value: Vec<u8>,
    /// Override the length field (for bad lengths).
    pub length: Option<u32>,
}

fn long_vr(vr: &[u8; 2]) -> bool {
    matches!(
        vr,
        b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"UC" | b"UN" | b"UR" | b"UT"
    )
}

impl El {
    /// A text element, padded to even length with a space (a NUL for UI).
    pub fn text(tag: (u16, u16), vr: &[u8; 2], text: &str) -> El {
        let mut value = text.as_bytes().to_vec();
        if value.len() % 2 == 1 {
            value.push(if vr == b"UI" { 0 } else { b' ' });
        }
        El {
            tag,
            vr: *vr,
            value,
            length: None,
        }
    }

    /// A US element.
    pub fn us(tag: (u16, u16), v: u16) -> El {
        El {
            tag,
            vr: *b"US",
            value: v.to_le_bytes().to_vec(),
            length: None,
        }
    }

    /// Encode explicit VR little endian.
    pub fn explicit(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(self.tag.0.to_le_bytes());
        v.extend(self.tag.1.to_le_bytes());
        v.extend(self.vr);
        let len = self.length.unwrap_or(self.value.len() as u32);
        if long_vr(&self.vr) {
            v.extend([0, 0]);
            v.extend(len.to_le_bytes());
        } else {
            v.extend((len as u16).to_le_bytes());
        }
        v.extend(&self.value);
        v
    }

    /// Encode implicit VR little endian.
    pub fn implicit(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(self.tag.0.to_le_bytes());
        v.extend(self.tag.1.to_le_bytes());
        v.extend(self.length.unwrap_or(self.value.len() as u32).to_le_bytes());
        v.extend(&self.value);
        v
    }
}

/// The meta group for a transfer syntax (explicit VR LE, with its group length).
pub fn meta(ts: &str, with_length: bool) -> Vec<u8> {
    let els = [
        El {
            tag: (0x0002, 0x0001),
            vr: *b"OB",
            value: vec![0, 1],
            length: None,
        },
        El::text((0x0002, 0x0002), b"UI", "1.2.840.10008.5.1.4.1.1.2"),
        El::text((0x0002, 0x0003), b"UI", "2.25.4242"),
        El::text((0x0002, 0x0010), b"UI", ts),
        El::text((0x0002, 0x0012), b"UI", "2.25.7"),
    ];
    let body: Vec<u8> = els.iter().flat_map(El::explicit).collect();
    let mut out = Vec::new();
    if with_length {
        out.extend(
            El {
                tag: (0x0002, 0x0000),
                vr: *b"UL",
                value: (body.len() as u32).to_le_bytes().to_vec(),
                length: None,
            }
            .explicit(),
        );
    }
    out.extend(body);
    out
}

/// A small, valid CT slice (8 x 8, 16-bit signed) at z = `z`, as elements in tag order.
pub fn ct_slice(z: f64, sop: &str) -> Vec<El> {
    let pixels: Vec<u8> = (0..64i16)
        .flat_map(|i| (i * 10 - 300).to_le_bytes())
        .collect();
    vec![
        El::text((0x0008, 0x0016), b"UI", "1.2.840.10008.5.1.4.1.1.2"),
        El::text((0x0008, 0x0018), b"UI", sop),
        El::text((0x0008, 0x0060), b"CS", "CT"),
        El::text((0x0010, 0x0010), b"PN", "HOSTILE^TEST"),
        El::text((0x0018, 0x0050), b"DS", "1"),
        El::text(
            (0x0020, 0x000D),
            b"UI",
            "2.25.314159265358979323846264338327950288",
        ),
        El::text(
            (0x0020, 0x000E),
            b"UI",
            "2.25.271828182845904523536028747135266249",
        ),
        El::text((0x0020, 0x0013), b"IS", "1"),
        El::text((0x0020, 0x0032), b"DS", &format!("-4\\-4\\{z}")),
        El::text((0x0020, 0x0037), b"DS", "1\\0\\0\\0\\1\\0"),
        El::us((0x0028, 0x0002), 1),
        El::text((0x0028, 0x0004), b"CS", "MONOCHROME2"),
        El::us((0x0028, 0x0010), 8),
        El::us((0x0028, 0x0011), 8),
        El::text((0x0028, 0x0030), b"DS", "0.5\\0.5"),
        El::us((0x0028, 0x0100), 16),
        El::us((0x0028, 0x0101), 16),
        El::us((0x0028, 0x0102), 15),
        El::us((0x0028, 0x0103), 1),
        El::text((0x0028, 0x1052), b"DS", "-1024"),
        El::text((0x0028, 0x1053), b"DS", "1"),
        El {
            tag: (0x7FE0, 0x0010),
            vr: *b"OW",
            value: pixels,
            length: None,
        },
    ]
}

/// Replace (or insert, in tag order) an element.
pub fn set(els: &mut Vec<El>, e: El) {
    match els.binary_search_by_key(&e.tag, |x| x.tag) {
        Ok(i) => els[i] = e,
        Err(i) => els.insert(i, e),
    }
}

/// Remove an element.
pub fn remove(els: &mut Vec<El>, tag: (u16, u16)) {
    els.retain(|e| e.tag != tag);
}

/// A Part 10 file: preamble, DICM, meta, data set in explicit VR LE.
pub fn part10(ts: &str, els: &[El]) -> Vec<u8> {
    let mut f = vec![0u8; 128];
    f.extend(b"DICM");
    f.extend(meta(ts, true));
    for e in els {
        f.extend(e.explicit());
    }
    f
}

fn nested_sequence(levels: usize) -> El {
    // (0040,A730) Content Sequence, undefined lengths all the way down.
    let mut v = Vec::new();
    for k in 0..levels {
        if k > 0 {
            v.extend([0x40, 0x00, 0x30, 0xA7]);
            v.extend(b"SQ\0\0");
            v.extend(UNDEFINED.to_le_bytes());
        }
        v.extend([0xFE, 0xFF, 0x00, 0xE0]);
        v.extend(UNDEFINED.to_le_bytes());
    }
    for _ in 0..levels {
        v.extend([0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        v.extend([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    }
    // The outermost delimiter is the element's own end.
    El {
        tag: (0x0040, 0xA730),
        vr: *b"SQ",
        value: v,
        length: Some(UNDEFINED),
    }
}

fn encapsulated(fragments: &[&[u8]]) -> El {
    let mut v = Vec::new();
    v.extend([0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0]); // empty offset table
    for f in fragments {
        v.extend([0xFE, 0xFF, 0x00, 0xE0]);
        v.extend((f.len() as u32).to_le_bytes());
        v.extend(*f);
    }
    v.extend([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    El {
        tag: (0x7FE0, 0x0010),
        vr: *b"OB",
        value: v,
        length: Some(UNDEFINED),
    }
}

struct Builder {
    root: PathBuf,
    cases: Vec<Case>,
}

impl Builder {
    fn file(&mut self, name: &str, bytes: &[u8], expect: Expect, structural: bool) {
        let (cat, short) = name.split_once('/').expect("category/name");
        let dir = self.root.join(cat);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{short}.dcm"));
        std::fs::write(&path, bytes).unwrap();
        self.cases.push(Case {
            name: name.into(),
            input: path.clone(),
            names: path,
            expect,
            structural,
        });
    }

    fn slice_with(&mut self, name: &str, edit: impl FnOnce(&mut Vec<El>), expect: Expect) {
        let mut els = ct_slice(0.0, "2.25.161803398874989484820458683436563811");
        edit(&mut els);
        let bytes = part10(EXPLICIT_LE, &els);
        self.file(name, &bytes, expect, false);
    }
}

fn refuse(words: &[&'static str]) -> Expect {
    Expect::Refuse(words.to_vec())
}

/// A DS element.
pub fn ds(tag: (u16, u16), text: &str) -> El {
    El::text(tag, b"DS", text)
}

const IPP: (u16, u16) = (0x0020, 0x0032);
const IOP: (u16, u16) = (0x0020, 0x0037);
const SPACING: (u16, u16) = (0x0028, 0x0030);
const SLOPE: (u16, u16) = (0x0028, 0x1053);
const INTERCEPT: (u16, u16) = (0x0028, 0x1052);
const FRAMES: (u16, u16) = (0x0028, 0x0008);

/// Build the whole corpus under `root` (a fresh folder).
pub fn corpus(root: &Path) -> Vec<Case> {
    let mut b = Builder {
        root: root.to_owned(),
        cases: Vec::new(),
    };
    let good = part10(
        EXPLICIT_LE,
        &ct_slice(0.0, "2.25.161803398874989484820458683436563811"),
    );

    // Truncations.
    b.file(
        "truncation/in-pixel-data",
        &good[..good.len() - 40],
        refuse(&["(7FE0,0010)", "truncated"]),
        true,
    );
    // Cut inside PatientName's value.
    let mut upto = 132 + meta(EXPLICIT_LE, true).len();
    for e in &ct_slice(0.0, "2.25.161803398874989484820458683436563811")[..3] {
        upto += e.explicit().len();
    }
    b.file(
        "truncation/in-header",
        &good[..upto + 8 + 5],
        refuse(&["truncated"]),
        true,
    );
    b.file("truncation/in-meta", &good[..150], refuse(&["meta"]), true);

    // Lengths.
    let mut els = ct_slice(0.0, "2.25.161803398874989484820458683436563811");
    els[3].length = Some(0xFFFF_FFF0);
    els[3].vr = *b"UT";
    b.file(
        "lengths/huge-patient-name",
        &part10(EXPLICIT_LE, &els),
        refuse(&["(0010,0010)"]),
        true,
    );
    let mut els = ct_slice(0.0, "2.25.161803398874989484820458683436563811");
    let last = els.len() - 1;
    els[last].length = Some(0xFFFF_FFFE);
    b.file(
        "lengths/pixel-data-4GiB",
        &part10(EXPLICIT_LE, &els),
        refuse(&["(7FE0,0010)", "4294967294"]),
        true,
    );
    let mut els = ct_slice(0.0, "2.25.161803398874989484820458683436563811");
    els[2] = El {
        tag: (0x0008, 0x0060),
        vr: *b"UN",
        value: b"CT".to_vec(),
        length: Some(UNDEFINED),
    };
    b.file(
        "lengths/undefined-length-value",
        &part10(EXPLICIT_LE, &els),
        refuse(&["offset"]),
        true,
    );

    // Found by radlab-fuzz: a UN element of undefined length whose items
    // are implicit VR (as PS3.5 6.2.2 has it) in an explicit-VR file; the
    // parser reads the items as explicit and took the next item header for
    // a 3.7 GB length. Both readers now read them the same way: refused.
    let mut inner = Vec::new();
    inner.extend([0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    inner.extend([0x08, 0x00, 0x15, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
    inner.extend([0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    inner.extend(El::text((0x0008, 0x1150), b"UI", "1.2.840.10008.5.1.4.1.1.2").implicit());
    inner.extend([
        0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0,
    ]);
    inner.extend([
        0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0,
    ]);
    let mut els = ct_slice(0.0, "2.25.161803398874989484820458683436563811");
    set(
        &mut els,
        El {
            tag: (0x0009, 0x1010),
            vr: *b"UN",
            value: inner,
            length: Some(UNDEFINED),
        },
    );
    b.file(
        "lengths/un-with-implicit-items",
        &part10(EXPLICIT_LE, &els),
        refuse(&["(0008,1115)"]),
        true,
    );

    // Nesting.
    for (levels, expect) in [
        (5000, refuse(&["nested"])),
        (65, refuse(&["nested"])),
        (12, Expect::Load),
    ] {
        let mut els = ct_slice(0.0, "2.25.161803398874989484820458683436563811");
        set(&mut els, nested_sequence(levels));
        let bytes = part10(EXPLICIT_LE, &els);
        b.file(
            &format!("nesting/depth-{levels}"),
            &bytes,
            expect.clone(),
            levels > 64,
        );
    }

    // Declared sizes.
    b.slice_with(
        "sizes/frames-2147483647",
        |e| set(e, El::text(FRAMES, b"IS", "2147483647")),
        refuse(&["NumberOfFrames"]),
    );
    b.slice_with(
        "sizes/rows-columns-65535",
        |e| {
            set(e, El::us((0x0028, 0x0010), 65535));
            set(e, El::us((0x0028, 0x0011), 65535));
        },
        refuse(&["Rows"]),
    );
    for v in ["-5", "0", "many"] {
        b.slice_with(
            &format!("sizes/frames-{v}"),
            |e| set(e, El::text(FRAMES, b"IS", v)),
            refuse(&["NumberOfFrames"]),
        );
    }

    // Geometry and rescale poison.
    for (name, v) in [
        ("nan", "NaN\\0\\0"),
        ("inf", "inf\\0\\0"),
        ("two-values", "1\\2"),
        ("text", "left\\0\\0"),
    ] {
        b.slice_with(
            &format!("geometry/position-{name}"),
            |e| set(e, ds(IPP, v)),
            refuse(&["ImagePositionPatient"]),
        );
    }
    b.slice_with(
        "geometry/position-empty",
        |e| set(e, ds(IPP, "")),
        Expect::Warn(vec!["no ImagePositionPatient"]),
    );
    for (name, v) in [
        ("five-values", "1\\0\\0\\0\\1"),
        ("nan", "1\\0\\0\\0\\NaN\\0"),
        ("not-unit", "2\\0\\0\\0\\1\\0"),
        ("not-orthogonal", "1\\0\\0\\1\\0\\0"),
    ] {
        b.slice_with(
            &format!("geometry/orientation-{name}"),
            |e| set(e, ds(IOP, v)),
            refuse(&["ImageOrientationPatient"]),
        );
    }
    for (name, v) in [
        ("zero", "0\\0"),
        ("negative", "-1\\-1"),
        ("nan", "NaN\\NaN"),
    ] {
        b.slice_with(
            &format!("geometry/spacing-{name}"),
            |e| set(e, ds(SPACING, v)),
            refuse(&["PixelSpacing"]),
        );
    }
    b.slice_with(
        "geometry/spacing-absent",
        |e| remove(e, SPACING),
        Expect::Warn(vec!["no PixelSpacing"]),
    );
    for (name, v) in [("zero", "0"), ("nan", "NaN"), ("minus-inf", "-inf")] {
        b.slice_with(
            &format!("rescale/slope-{name}"),
            |e| set(e, ds(SLOPE, v)),
            refuse(&["RescaleSlope"]),
        );
    }
    for (name, v) in [("text", "minus1024"), ("1e39", "1e39")] {
        b.slice_with(
            &format!("rescale/intercept-{name}"),
            |e| set(e, ds(INTERCEPT, v)),
            refuse(&["RescaleIntercept"]),
        );
    }

    // Found by an independent review of the corpus above.
    b.slice_with(
        "geometry/spacing-1e-300",
        |e| set(e, ds(SPACING, "1e-300\\1e-300")),
        refuse(&["PixelSpacing"]),
    );
    b.slice_with(
        "geometry/position-1e308",
        |e| set(e, ds(IPP, "-1.7976931348623157e308\\0\\0")),
        refuse(&["ImagePositionPatient"]),
    );
    let mut meta_only = vec![0u8; 128];
    meta_only.extend(b"DICM");
    meta_only.extend(meta(EXPLICIT_LE, true));
    b.file(
        "truncation/meta-group-only",
        &meta_only,
        refuse(&["no data set"]),
        true,
    );
    b.slice_with(
        "rescale/slope-two-values",
        |e| set(e, ds(SLOPE, "1\\2")),
        refuse(&["RescaleSlope"]),
    );
    b.slice_with(
        "rescale/slope-1e-45",
        |e| set(e, ds(SLOPE, "1e-45")),
        refuse(&["RescaleSlope"]),
    );
    b.slice_with(
        "rescale/intercept-control-bytes",
        |e| set(e, ds(INTERCEPT, "\u{1}\u{2}garbage")),
        refuse(&["RescaleIntercept", "\\x01"]),
    );
    b.slice_with(
        "sizes/frames-two-values",
        |e| set(e, El::text(FRAMES, b"IS", "1\\1")),
        refuse(&["NumberOfFrames"]),
    );
    b.slice_with(
        "pixels/rows-missing",
        |e| remove(e, (0x0028, 0x0010)),
        refuse(&["Rows", "missing"]),
    );
    b.slice_with(
        "pixels/rows-fewer-than-the-data",
        |e| set(e, El::us((0x0028, 0x0010), 4)),
        Expect::Warn(vec!["the rest is ignored"]),
    );
    b.slice_with(
        "pixels/photometric-missing",
        |e| remove(e, (0x0028, 0x0004)),
        Expect::Warn(vec!["MONOCHROME2 assumed"]),
    );
    let mut els = ct_slice(0.0, "2.25.161803398874989484820458683436563811");
    els[12].value = vec![8, 0, 0];
    b.file(
        "lengths/odd-length-us",
        &part10(EXPLICIT_LE, &els),
        refuse(&["(0028,0010)", "multiple of 2"]),
        true,
    );
    // RLE: a 100-byte fragment cannot hold a 4096 x 4096 frame.
    let mut els = ct_slice(0.0, "2.25.161803398874989484820458683436563811");
    set(&mut els, El::us((0x0028, 0x0010), 4096));
    set(&mut els, El::us((0x0028, 0x0011), 4096));
    let mut rle = vec![0u8; 64];
    rle[0] = 2;
    rle[4] = 64;
    rle[8] = 82;
    rle.extend([
        0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0,
    ]);
    rle.extend([
        0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0, 0x81, 0,
    ]);
    set(&mut els, encapsulated(&[&rle]));
    b.file(
        "sizes/rle-fragment-tiny-for-its-frame",
        &part10(RLE, &els),
        refuse(&["RLE", "64 times"]),
        false,
    );
    let mut cut = good.clone();
    let upto = 132
        + meta(EXPLICIT_LE, true).len()
        + ct_slice(0.0, "x")[..3]
            .iter()
            .map(|e| e.explicit().len())
            .sum::<usize>();
    cut.truncate(upto + 5);
    b.file(
        "truncation/in-an-element-header",
        &cut,
        refuse(&["truncated"]),
        true,
    );
    let mut no_meta = vec![0u8; 128];
    no_meta.extend(b"DICM");
    no_meta.extend(
        ct_slice(0.0, "2.25.161803398874989484820458683436563811")
            .iter()
            .flat_map(El::explicit),
    );
    b.file(
        "quirks/dicm-without-meta-group",
        &no_meta,
        Expect::Warn(vec!["no file meta group"]),
        false,
    );

    // The pixel module.
    b.slice_with(
        "pixels/representation-2",
        |e| set(e, El::us((0x0028, 0x0103), 2)),
        refuse(&["PixelRepresentation"]),
    );
    b.slice_with(
        "pixels/bits-stored-17",
        |e| set(e, El::us((0x0028, 0x0101), 17)),
        refuse(&["BitsStored"]),
    );
    b.slice_with(
        "pixels/high-bit-20",
        |e| set(e, El::us((0x0028, 0x0102), 20)),
        refuse(&["HighBit"]),
    );
    b.slice_with(
        "pixels/samples-0",
        |e| set(e, El::us((0x0028, 0x0002), 0)),
        refuse(&["SamplesPerPixel"]),
    );

    // Transfer syntax against the Pixel Data encoding.
    let mut els = ct_slice(0.0, "2.25.161803398874989484820458683436563811");
    let raw = els.last().unwrap().value.clone();
    set(&mut els, encapsulated(&[&raw]));
    b.file(
        "syntax/fragments-under-native",
        &part10(EXPLICIT_LE, &els),
        refuse(&["TransferSyntaxUID", "encapsulated"]),
        false,
    );
    b.file(
        "syntax/native-under-rle",
        &part10(
            RLE,
            &ct_slice(0.0, "2.25.161803398874989484820458683436563811"),
        ),
        refuse(&["TransferSyntaxUID", "RLE"]),
        false,
    );
    b.file(
        "syntax/unknown",
        &part10(
            "1.2.3.4.5.6",
            &ct_slice(0.0, "2.25.161803398874989484820458683436563811"),
        ),
        refuse(&["1.2.3.4.5.6"]),
        false,
    );

    // Quirks of real files, read with a warning.
    let mut padded = good.clone();
    padded.extend(vec![0u8; 2_500_000]);
    b.file(
        "quirks/zero-padding-after-pixel-data",
        &padded,
        Expect::Warn(vec!["2500000 byte(s) after the last complete data element"]),
        false,
    );
    b.file(
        "quirks/no-preamble",
        &good[128..],
        Expect::Warn(vec!["no 128-byte preamble"]),
        false,
    );
    let bare: Vec<u8> = ct_slice(0.0, "2.25.161803398874989484820458683436563811")
        .iter()
        .flat_map(El::explicit)
        .collect();
    b.file(
        "quirks/bare-explicit",
        &bare,
        Expect::Warn(vec!["bare data set"]),
        false,
    );
    let bare: Vec<u8> = ct_slice(0.0, "2.25.161803398874989484820458683436563811")
        .iter()
        .flat_map(El::implicit)
        .collect();
    b.file(
        "quirks/bare-implicit",
        &bare,
        Expect::Warn(vec!["bare data set", "Implicit VR"]),
        false,
    );
    let mut no_len = vec![0u8; 128];
    no_len.extend(b"DICM");
    no_len.extend(meta(EXPLICIT_LE, false));
    no_len.extend(
        ct_slice(0.0, "2.25.161803398874989484820458683436563811")
            .iter()
            .flat_map(El::explicit),
    );
    b.file(
        "quirks/meta-without-group-length",
        &no_len,
        Expect::Warn(vec!["group length"]),
        false,
    );

    // Series poison: folders.
    let series = |dir: &Path, zs: &[f64]| -> Vec<PathBuf> {
        std::fs::create_dir_all(dir).unwrap();
        zs.iter()
            .enumerate()
            .map(|(k, z)| {
                let p = dir.join(format!("IM{k:04}.dcm"));
                std::fs::write(
                    &p,
                    part10(
                        EXPLICIT_LE,
                        &ct_slice(*z, &format!("2.25.141421356237309504880168872420969{k:03}")),
                    ),
                )
                .unwrap();
                p
            })
            .collect()
    };
    let dir = root.join("series/same-position-twice");
    let files = series(&dir, &[0.0, 1.0, 1.0, 3.0]);
    b.cases.push(Case {
        name: "series/same-position-twice".into(),
        input: dir,
        names: files[2].clone(),
        expect: refuse(&["same position"]),
        structural: false,
    });
    let dir = root.join("series/sizes-mixed");
    series(&dir, &[0.0, 1.0, 2.0]);
    let mut els = ct_slice(3.0, "2.25.173205080756887729352744634150587236");
    set(&mut els, El::us((0x0028, 0x0010), 4));
    let last = els.len() - 1;
    els[last].value.truncate(4 * 8 * 2);
    std::fs::write(dir.join("IM0003.dcm"), part10(EXPLICIT_LE, &els)).unwrap();
    b.cases.push(Case {
        name: "series/sizes-mixed".into(),
        input: dir.clone(),
        names: dir.join("IM0003.dcm"),
        expect: refuse(&["mixed image sizes"]),
        structural: false,
    });
    let dir = root.join("series/mixed-pixel-spacing");
    series(&dir, &[0.0, 1.0, 2.0]);
    let mut els = ct_slice(3.0, "2.25.173205080756887729352744634150587299");
    set(&mut els, ds(SPACING, "0.7\\0.7"));
    std::fs::write(dir.join("IM0003.dcm"), part10(EXPLICIT_LE, &els)).unwrap();
    b.cases.push(Case {
        name: "series/mixed-pixel-spacing".into(),
        input: dir.clone(),
        names: dir.join("IM0003.dcm"),
        expect: refuse(&["mixed in-plane spacing"]),
        structural: false,
    });
    let dir = root.join("series/one-damaged-slice");
    let files = series(&dir, &[0.0, 1.0, 2.0, 3.0]);
    let bytes = std::fs::read(&files[1]).unwrap();
    std::fs::write(&files[1], &bytes[..bytes.len() - 30]).unwrap();
    b.cases.push(Case {
        name: "series/one-damaged-slice".into(),
        input: dir,
        names: files[1].clone(),
        expect: refuse(&["damaged", "(7FE0,0010)"]),
        structural: true,
    });
    let dir = root.join("series/odd-files-beside");
    series(&dir, &[0.0, 1.0, 2.0]);
    std::fs::write(dir.join("README.txt"), "notes about this scan\n").unwrap();
    std::fs::write(dir.join("empty.dcm"), b"").unwrap();
    std::fs::write(
        dir.join(".DS_Store"),
        [0u8, 0, 0, 1, b'B', b'u', b'd', b'1'],
    )
    .unwrap();
    #[cfg(unix)]
    {
        let _ = std::os::unix::fs::symlink(".", dir.join("loop"));
    }
    b.cases.push(Case {
        name: "series/odd-files-beside".into(),
        input: dir.clone(),
        names: dir,
        expect: Expect::Load,
        structural: false,
    });
    b.cases
}

/// Run `bin` (a lab binary) with `--input CASE --out DIR` plus `extra` on
/// every case of a fresh corpus, under a 60 s timeout and an 8 GiB
/// address-space limit, and check each outcome. `loads`: also check the
/// cases that must load (labs that need more than a slice skip them).
/// `header_only`: the lab reads headers only (de-identification), so only
/// structural damage must be refused.
pub fn check_corpus(bin: &Path, extra: &[&str], loads: bool, header_only: bool) {
    let tmp = std::env::temp_dir().join(format!(
        "radlab-hostile-{}-{}",
        std::process::id(),
        bin.file_name().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let cases = corpus(&tmp.join("corpus"));
    let mut failures = Vec::new();
    let mut checked = 0;
    for (i, case) in cases.iter().enumerate() {
        if header_only && case.input.is_dir() {
            continue; // a folder is a batch: its partial outcomes are checked elsewhere
        }
        let expect = match (&case.expect, header_only) {
            (Expect::Refuse(_), true) if !case.structural => continue,
            (Expect::Warn(_) | Expect::Load, true) => continue,
            (Expect::Warn(_) | Expect::Load, false) if !loads => continue,
            (e, _) => e.clone(),
        };
        checked += 1;
        let out = tmp.join(format!("out-{i}"));
        let before = snapshot(&case.input);
        let o = run_limited(bin, &case.input, &out, extra);
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        let stdout = String::from_utf8_lossy(&o.stdout).to_string();
        let code = o.status.code();
        // `timeout` reports a kill as 124 and a signal as 128 + its number.
        if stderr.contains("panicked") || code.is_none() || code.is_some_and(|c| c >= 124) {
            failures.push(format!("{}: crashed ({:?}): {stderr}", case.name, o.status));
            continue;
        }
        if snapshot(&case.input) != before {
            failures.push(format!("{}: the input changed", case.name));
        }
        match &expect {
            Expect::Refuse(words) => {
                let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
                let name = case
                    .names
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                if code != Some(2) {
                    failures.push(format!(
                        "{}: exit {code:?}, want 2; stderr: {stderr}",
                        case.name
                    ));
                } else if lines.len() != 1 {
                    failures.push(format!(
                        "{}: {} stderr lines: {stderr}",
                        case.name,
                        lines.len()
                    ));
                } else if !lines[0].contains(&name) {
                    failures.push(format!(
                        "{}: {:?} does not name {name}",
                        case.name, lines[0]
                    ));
                } else if let Some(w) = words.iter().find(|w| !lines[0].contains(*w)) {
                    failures.push(format!("{}: {:?} lacks {w:?}", case.name, lines[0]));
                } else if lines[0].chars().any(|c| c.is_control()) {
                    failures.push(format!(
                        "{}: control characters in {:?}",
                        case.name, lines[0]
                    ));
                }
            }
            Expect::Warn(words) => {
                let all = format!("{stdout}{stderr}");
                if code != Some(0) {
                    failures.push(format!(
                        "{}: exit {code:?}, want 0; stderr: {stderr}",
                        case.name
                    ));
                } else if let Some(w) = words.iter().find(|w| !all.contains(*w)) {
                    failures.push(format!("{}: no warning with {w:?}", case.name));
                }
            }
            Expect::Load => {
                if code != Some(0) {
                    failures.push(format!(
                        "{}: exit {code:?}, want 0; stderr: {stderr}",
                        case.name
                    ));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(checked >= 5, "only {checked} case(s) checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} hostile case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{}: {checked} hostile cases handled", bin.display());
}

fn snapshot(p: &Path) -> Vec<(PathBuf, u64, Vec<u8>)> {
    let mut v = Vec::new();
    if p.is_file() {
        v.push((p.to_owned(), 0, std::fs::read(p).unwrap_or_default()));
        return v;
    }
    for e in files_under(p) {
        let bytes = std::fs::read(&e).unwrap_or_default();
        v.push((e, bytes.len() as u64, bytes));
    }
    v
}

/// Every regular file under `p` (or `p` itself), sorted; links are not followed.
pub fn files_under(p: &Path) -> Vec<PathBuf> {
    if p.is_file() {
        return vec![p.to_owned()];
    }
    let mut out = Vec::new();
    let mut stack = vec![p.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Run with a timeout of 60 s and an 8 GiB address-space limit (`ulimit -v`).
fn run_limited(bin: &Path, input: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new("timeout");
    cmd.arg("60")
        .arg("sh")
        .arg("-c")
        .arg("ulimit -v 8388608; exec \"$@\"")
        .arg("sh")
        .arg(bin)
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env_remove("RUST_LOG");
    cmd.output().expect("run the lab under timeout and ulimit")
}
