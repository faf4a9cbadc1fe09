//! A walk over a file's element stream before any parser sees it.
//!
//! dicom-object's parser trusts the file: it recurses once per nested
//! sequence (a few thousand levels overflow a thread's stack) and allocates
//! whatever a value length declares. This module walks the same bytes
//! iteratively, reading only element headers, and answers what the parser
//! must not be asked blindly:
//!
//! * how the file is framed: a Part 10 file (preamble, `DICM`, meta group),
//!   a meta group without the preamble, or a bare data set (implicit or
//!   explicit VR) as pydicom's `force=True` and dcmtk read them;
//! * whether every declared length fits inside its sequence, item and the
//!   file (a value that runs past the end is a truncated file, refused);
//! * how deeply sequences nest (refused past [`MAX_SEQUENCE_DEPTH`]);
//! * where the last complete top-level element ends: bytes after it that do
//!   not form an element (zero padding after Pixel Data, say) are ignored
//!   with a warning, as pydicom and dcmtk do;
//! * where Pixel Data is, how long it is, and whether it is encapsulated.
//!
//! Written by hand rather than with `dicom-parser`'s token reader because
//! that reader allocates each value as it goes, which is the thing to avoid.

use std::io::Read;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;

use crate::limits::{Budget, MAX_SEQUENCE_DEPTH};

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: u32 = 0xFFFE_E000;
const ITEM_END: u32 = 0xFFFE_E00D;
const SEQ_END: u32 = 0xFFFE_E0DD;
const PIXEL_DATA: u32 = 0x7FE0_0010;

/// Transfer syntaxes whose data set is encoded in a particular way.
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED: [&str; 2] = ["1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1"];

/// How the file starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// 128-byte preamble, `DICM`, file meta group: a Part 10 file.
    Part10,
    /// `DICM` and the meta group at byte 0 (no preamble).
    NoPreamble,
    /// The meta group at byte 0 without `DICM` or preamble.
    MetaOnly,
    /// A bare data set, no meta group at all.
    DataSetOnly,
}

/// Where Pixel Data (7FE0,0010) sits at the top level of the data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelDataInfo {
    /// Offset of the element's header (in the data set bytes).
    pub offset: u64,
    /// True when the value is a sequence of fragments (undefined length).
    pub encapsulated: bool,
    /// Native: the value length. Encapsulated: bytes in all fragments but the offset table.
    pub value_len: u64,
    /// Encapsulated: fragments after the Basic Offset Table.
    pub fragments: usize,
}

/// What the walk found.
#[derive(Debug, Clone)]
pub struct Layout {
    /// How the file starts.
    pub framing: Framing,
    /// Offset of the first meta group element (after `DICM`), if there is a meta group.
    pub meta_start: Option<u64>,
    /// Offset of the first meta element after the group length (0002,0000).
    pub meta_elements: Option<u64>,
    /// Offset where the data set starts (in the file).
    pub dataset_start: u64,
    /// Transfer Syntax UID (from the meta group, or inferred for a bare data set).
    pub transfer_syntax: String,
    /// For deflated transfer syntaxes: the inflated data set (explicit VR little endian).
    pub inflated: Option<Vec<u8>>,
    /// End of the last complete top-level element (offset in the data set
    /// bytes: in the file, or in `inflated`).
    pub data_end: u64,
    /// Pixel Data at the top level, if any.
    pub pixel_data: Option<PixelDataInfo>,
    /// Deepest sequence nesting seen.
    pub max_depth: usize,
    /// Quirks read anyway, each a sentence for a warning.
    pub quirks: Vec<String>,
}

/// Why a file cannot be walked. `NotDicom` when nothing in it looks like
/// DICOM; `Malformed` when it does but its structure is broken.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// No DICOM signature and the bytes do not form a data set.
    NotDicom(String),
    /// Broken structure: lengths, nesting, truncation.
    Malformed(String),
}

/// Random access to the bytes being walked.
pub trait Source {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Fill `buf` from `offset`; `Err` when the range is past the end or unreadable.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
    /// True when the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| eof())?;
        let end = start.checked_add(buf.len()).ok_or_else(eof)?;
        let src = self.get(start..end).ok_or_else(eof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

fn eof() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "past the end")
}

/// A file read in 64 KiB blocks, so that walking headers costs few system calls.
pub struct FileSource {
    file: std::fs::File,
    len: u64,
    block_start: u64,
    block: Vec<u8>,
}

impl FileSource {
    /// Wrap an open file.
    pub fn new(file: std::fs::File) -> std::io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self::with_len(file, len))
    }

    /// Wrap an open file whose length is known (saves a `stat`).
    pub fn with_len(file: std::fs::File, len: u64) -> Self {
        FileSource {
            file,
            len,
            block_start: 0,
            block: Vec::new(),
        }
    }

    /// Read `len` bytes at `offset` into a new buffer (the caller checked the size).
    pub fn read_range(&mut self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        self.read_at(offset, &mut v)?;
        Ok(v)
    }

    /// A reader of the `len` bytes at `offset`: from the block already read
    /// when it holds them (a header), else streamed from the file, so that a
    /// large value goes from the file straight into the parser's buffer
    /// without an intermediate copy.
    pub fn reader(&mut self, offset: u64, len: u64) -> std::io::Result<Box<dyn Read + '_>> {
        let end = offset.checked_add(len).ok_or_else(eof)?;
        if offset >= self.block_start && end <= self.block_start + self.block.len() as u64 {
            let s = (offset - self.block_start) as usize;
            return Ok(Box::new(&self.block[s..s + len as usize]));
        }
        use std::io::{Seek, SeekFrom};
        let mut f = &self.file;
        f.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(std::io::BufReader::with_capacity(
            16 << 10,
            f.take(len),
        )))
    }
}

fn pread(file: &std::fs::File, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Seek, SeekFrom};
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let end = offset.checked_add(buf.len() as u64).ok_or_else(eof)?;
        if end > self.len {
            return Err(eof());
        }
        let in_block =
            offset >= self.block_start && end <= self.block_start + self.block.len() as u64;
        if !in_block {
            // Small blocks: a header walk touches a few KiB, then jumps past Pixel Data.
            const BLOCK: u64 = 16 << 10;
            let n = (self.len - offset).min(BLOCK.max(buf.len() as u64)) as usize;
            self.block.resize(n, 0);
            pread(&self.file, offset, &mut self.block)?;
            self.block_start = offset;
        }
        let s = (offset - self.block_start) as usize;
        buf.copy_from_slice(&self.block[s..s + buf.len()]);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Enc {
    explicit: bool,
    big: bool,
}

const VRS_LONG: [&[u8; 2]; 13] = [
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV",
];
const VRS_SHORT: [&[u8; 2]; 21] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
    b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
];

struct Header {
    tag: u32,
    vr: Option<[u8; 2]>,
    len: u32,
    header_len: u64,
}

enum Bad {
    /// The bytes at this offset are not an element header.
    Garbage(String),
    /// Reading failed (past the end).
    Short,
}

fn u16_of(b: [u8; 2], big: bool) -> u16 {
    if big {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

fn u32_of(b: [u8; 4], big: bool) -> u32 {
    if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

fn tag_text(tag: u32) -> String {
    format!("({:04X},{:04X})", tag >> 16, tag & 0xFFFF)
}

fn read_header(src: &mut dyn Source, pos: u64, enc: Enc) -> Result<Header, Bad> {
    let mut b = [0u8; 8];
    src.read_at(pos, &mut b).map_err(|_| Bad::Short)?;
    let group = u16_of([b[0], b[1]], enc.big);
    let element = u16_of([b[2], b[3]], enc.big);
    let tag = (u32::from(group) << 16) | u32::from(element);
    if group == 0xFFFE || !enc.explicit {
        return Ok(Header {
            tag,
            vr: None,
            len: u32_of([b[4], b[5], b[6], b[7]], enc.big),
            header_len: 8,
        });
    }
    let vr = [b[4], b[5]];
    if VRS_LONG.iter().any(|v| **v == vr) {
        let mut l = [0u8; 4];
        src.read_at(pos + 8, &mut l).map_err(|_| Bad::Short)?;
        Ok(Header {
            tag,
            vr: Some(vr),
            len: u32_of(l, enc.big),
            header_len: 12,
        })
    } else if VRS_SHORT.iter().any(|v| **v == vr) {
        Ok(Header {
            tag,
            vr: Some(vr),
            len: u32::from(u16_of([b[6], b[7]], enc.big)),
            header_len: 8,
        })
    } else {
        Err(Bad::Garbage(format!(
            "element {} has no valid VR (bytes {:02X} {:02X})",
            tag_text(tag),
            vr[0],
            vr[1]
        )))
    }
}

/// Bytes per value of a binary VR: its values are read whole, so a length
/// that is not a multiple leaves the parser out of step with the stream.
fn binary_unit(vr: [u8; 2]) -> Option<u32> {
    match &vr {
        b"US" | b"SS" | b"OW" => Some(2),
        b"UL" | b"SL" | b"FL" | b"AT" | b"OL" | b"OF" => Some(4),
        b"FD" | b"SV" | b"UV" | b"OD" | b"OV" => Some(8),
        _ => None,
    }
}

/// The dictionary says this tag is a sequence (for implicit VR streams).
fn dictionary_sequence(tag: u32) -> bool {
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(Tag((tag >> 16) as u16, (tag & 0xFFFF) as u16))
        .is_some_and(|e| e.vr().relaxed() == VR::SQ)
}

enum Frame {
    /// A sequence: items until its end or its delimiter.
    Seq { end: Option<u64>, enc: Enc },
    /// An item: elements until its end or its delimiter.
    Item { end: Option<u64>, enc: Enc },
    /// Encapsulated pixel data: fragments until the delimiter.
    Pixel { top: bool },
}

struct Walk {
    data_end: u64,
    pixel_data: Option<PixelDataInfo>,
    max_depth: usize,
    quirks: Vec<String>,
}

fn all_zero(src: &mut dyn Source, from: u64) -> bool {
    let mut pos = from;
    let mut buf = [0u8; 4096];
    while pos < src.len() {
        let n = (src.len() - pos).min(buf.len() as u64) as usize;
        if src.read_at(pos, &mut buf[..n]).is_err() || buf[..n].iter().any(|&b| b != 0) {
            return false;
        }
        pos += n as u64;
    }
    true
}

/// Walk a data set from `start` to the end of `src`.
fn walk(src: &mut dyn Source, start: u64, enc0: Enc) -> Result<Walk, String> {
    let file_len = src.len();
    let mut stack: Vec<Frame> = Vec::new();
    let mut pos = start;
    let mut depth = 0usize;
    let mut max_depth = 0usize;
    let mut pixel: Option<PixelDataInfo> = None;
    let mut in_pixel_seen_bot = false;
    let mut quirks = Vec::new();
    let mut data_end = start;
    let trailing = |quirks: &mut Vec<String>, at: u64, why: String| {
        quirks.push(format!(
            "{} byte(s) after the last complete data element (offset {at}) ignored: {why}",
            file_len - at
        ));
    };
    loop {
        // Close containers whose defined length is used up.
        let end_here = match stack.last() {
            Some(Frame::Seq { end: Some(e), .. } | Frame::Item { end: Some(e), .. }) => Some(*e),
            _ => None,
        };
        if let Some(e) = end_here {
            if pos == e {
                if matches!(stack.pop(), Some(Frame::Seq { .. })) {
                    depth -= 1;
                }
                if stack.is_empty() {
                    data_end = pos;
                }
                continue;
            }
            if pos > e {
                return Err(format!(
                    "an element ends at offset {pos}, past the end of its enclosing sequence or item (offset {e})"
                ));
            }
        }
        let enc = match stack.last() {
            Some(Frame::Seq { enc, .. } | Frame::Item { enc, .. }) => *enc,
            Some(Frame::Pixel { .. }) => Enc {
                explicit: enc0.explicit,
                big: enc0.big,
            },
            None => enc0,
        };
        if stack.is_empty() {
            data_end = pos;
            if pos >= file_len {
                break;
            }
            if file_len - pos < 8 {
                if pixel.is_some() || all_zero(src, pos) {
                    trailing(&mut quirks, pos, "too short for an element header".into());
                    break;
                }
                return Err(format!(
                    "the file ends {} byte(s) into an element header at offset {pos} (truncated?)",
                    file_len - pos
                ));
            }
        } else if pos >= file_len {
            if let Some(Frame::Pixel { top: true }) = stack.last() {
                if stack.len() == 1 {
                    quirks.push(
                        "encapsulated Pixel Data ends without its sequence delimiter (FFFE,E0DD)"
                            .into(),
                    );
                    data_end = pos;
                    break;
                }
            }
            return Err(format!(
                "the file ends at offset {file_len} inside a sequence (truncated?)"
            ));
        }
        let h = match read_header(src, pos, enc) {
            Ok(h) => h,
            Err(Bad::Short) => {
                if stack.is_empty() && (pixel.is_some() || all_zero(src, pos)) {
                    trailing(&mut quirks, pos, "too short for an element header".into());
                    break;
                }
                if stack.is_empty() {
                    return Err(format!(
                        "the file ends inside the element header at offset {pos} (truncated?)"
                    ));
                }
                return Err(format!(
                    "the file ends at offset {file_len} inside a sequence (truncated?)"
                ));
            }
            Err(Bad::Garbage(why)) => {
                if stack.is_empty() && (pixel.is_some() || all_zero(src, pos)) {
                    trailing(&mut quirks, pos, why);
                    break;
                }
                return Err(format!("offset {pos}: {why}"));
            }
        };
        let value_start = pos + h.header_len;
        let limit = match stack.iter().rev().find_map(|f| match f {
            Frame::Seq { end: Some(e), .. } | Frame::Item { end: Some(e), .. } => Some(*e),
            _ => None,
        }) {
            Some(e) => e.min(file_len),
            None => file_len,
        };
        let defined_end = |len: u32| -> Result<u64, String> {
            let e = value_start + u64::from(len);
            if e > limit {
                let room = limit.saturating_sub(value_start);
                Err(if limit == file_len {
                    format!(
                        "element {} at offset {pos} declares {len} bytes but the file holds {room} more (truncated file or bad length)",
                        tag_text(h.tag)
                    )
                } else {
                    format!(
                        "element {} at offset {pos} declares {len} bytes but its enclosing sequence or item has {room} left",
                        tag_text(h.tag)
                    )
                })
            } else {
                Ok(e)
            }
        };
        match stack.last() {
            Some(Frame::Seq { enc: senc, .. }) => {
                let senc = *senc;
                match h.tag {
                    ITEM => {
                        let end = if h.len == UNDEFINED {
                            None
                        } else {
                            Some(defined_end(h.len)?)
                        };
                        stack.push(Frame::Item { end, enc: senc });
                        pos = value_start;
                    }
                    SEQ_END => {
                        stack.pop();
                        depth -= 1;
                        pos = value_start;
                    }
                    t => {
                        return Err(format!(
                            "offset {pos}: {} inside a sequence where an Item (FFFE,E000) was expected",
                            tag_text(t)
                        ));
                    }
                }
                continue;
            }
            Some(Frame::Pixel { top }) => {
                let top = *top;
                match h.tag {
                    ITEM if h.len != UNDEFINED => {
                        let e = defined_end(h.len)?;
                        if top {
                            if let Some(p) = pixel.as_mut() {
                                if in_pixel_seen_bot {
                                    p.fragments += 1;
                                    p.value_len += u64::from(h.len);
                                }
                            }
                            in_pixel_seen_bot = true;
                        }
                        pos = e;
                    }
                    SEQ_END => {
                        stack.pop();
                        pos = value_start;
                    }
                    t => {
                        return Err(format!(
                            "offset {pos}: {} inside encapsulated pixel data where a fragment item was expected",
                            tag_text(t)
                        ));
                    }
                }
                continue;
            }
            _ => {}
        }
        // In an item or at the top level: a data element or an item delimiter.
        let top = stack.is_empty();
        if h.tag == ITEM_END && !top {
            stack.pop();
            pos = value_start;
            continue;
        }
        if top {
            let group = h.tag >> 16;
            let suspicious = if group == 0 {
                Some(format!(
                    "group 0000 element {} in a data set",
                    tag_text(h.tag)
                ))
            } else if group == 0xFFFE {
                Some(format!(
                    "delimiter {} outside any sequence",
                    tag_text(h.tag)
                ))
            } else if pixel.is_some() && h.tag < PIXEL_DATA {
                Some(format!(
                    "element {} out of order after Pixel Data",
                    tag_text(h.tag)
                ))
            } else {
                None
            };
            if let Some(why) = suspicious {
                if pixel.is_some() || all_zero(src, pos) {
                    trailing(&mut quirks, pos, why);
                    break;
                }
                return Err(format!("offset {pos}: {why}"));
            }
        } else if (h.tag >> 16) == 0xFFFE {
            return Err(format!(
                "offset {pos}: delimiter {} where a data element was expected",
                tag_text(h.tag)
            ));
        }
        let vr = h.vr;
        let is_pixel = h.tag == PIXEL_DATA;
        let sq_by_vr = vr == Some(*b"SQ");
        let undefined = h.len == UNDEFINED;
        if undefined && is_pixel {
            if top {
                pixel = Some(PixelDataInfo {
                    offset: pos,
                    encapsulated: true,
                    value_len: 0,
                    fragments: 0,
                });
                in_pixel_seen_bot = false;
            }
            stack.push(Frame::Pixel { top });
            pos = value_start;
            continue;
        }
        let is_seq =
            sq_by_vr || (undefined && !is_pixel) || (vr.is_none() && dictionary_sequence(h.tag));
        if is_seq {
            depth += 1;
            max_depth = max_depth.max(depth);
            if depth > MAX_SEQUENCE_DEPTH {
                return Err(format!(
                    "sequences nested more than {MAX_SEQUENCE_DEPTH} levels deep (at {}, offset {pos}); real objects nest fewer than 10",
                    tag_text(h.tag)
                ));
            }
            // PS3.5 6.2.2 says a UN element of undefined length holds
            // implicit-VR items, but dicom-object's parser reads them in the
            // file's own encoding; the walk must agree with the parser that
            // will consume the bytes, so it does the same.
            let inner = enc;
            let end = if undefined {
                None
            } else {
                Some(defined_end(h.len)?)
            };
            stack.push(Frame::Seq { end, enc: inner });
            pos = value_start;
            continue;
        }
        if undefined {
            return Err(format!(
                "offset {pos}: element {} has an undefined length",
                tag_text(h.tag)
            ));
        }
        if let Some(unit) = vr.and_then(binary_unit) {
            if h.len % unit != 0 {
                return Err(format!(
                    "element {} at offset {pos} is {} with {} bytes, not a multiple of {unit}",
                    tag_text(h.tag),
                    String::from_utf8_lossy(&vr.unwrap_or_default()),
                    h.len
                ));
            }
        }
        let e = defined_end(h.len)?;
        if top && is_pixel {
            pixel = Some(PixelDataInfo {
                offset: pos,
                encapsulated: false,
                value_len: u64::from(h.len),
                fragments: 0,
            });
        }
        pos = e;
    }
    Ok(Walk {
        data_end,
        pixel_data: pixel,
        max_depth,
        quirks,
    })
}

struct Meta {
    ts: String,
    /// First meta element after the group length (or `start` without one).
    elements_start: u64,
    dataset_start: u64,
    quirk: Option<String>,
}

/// Read the file meta group (explicit VR little endian) from `start`.
fn walk_meta(src: &mut dyn Source, start: u64) -> Result<Meta, String> {
    let enc = Enc {
        explicit: true,
        big: false,
    };
    let mut pos = start;
    let mut ts = None;
    let mut elements_start = start;
    let mut declared_length = None;
    loop {
        if pos + 8 > src.len() {
            break;
        }
        let h = match read_header(src, pos, enc) {
            Ok(h) => h,
            Err(Bad::Short) => break,
            Err(Bad::Garbage(why)) => {
                if (pos - start) == 0 {
                    return Err(format!("file meta group: {why}"));
                }
                break;
            }
        };
        if h.tag >> 16 != 0x0002 {
            break;
        }
        if h.len == UNDEFINED {
            return Err(format!(
                "file meta group: element {} has an undefined length",
                tag_text(h.tag)
            ));
        }
        let value_start = pos + h.header_len;
        let end = value_start + u64::from(h.len);
        if end > src.len() {
            return Err(format!(
                "file meta group: element {} declares {} bytes past the end of the file",
                tag_text(h.tag),
                h.len
            ));
        }
        if h.tag == 0x0002_0000 && pos == start && h.len == 4 {
            let mut v = [0u8; 4];
            src.read_at(value_start, &mut v)
                .map_err(|e| format!("file meta group: {e}"))?;
            declared_length = Some(u32::from_le_bytes(v));
            elements_start = end;
        }
        if h.tag == 0x0002_0010 {
            if h.len > 256 {
                return Err(format!(
                    "file meta group: TransferSyntaxUID (0002,0010) is {} bytes long",
                    h.len
                ));
            }
            let mut v = vec![0u8; h.len as usize];
            src.read_at(value_start, &mut v)
                .map_err(|e| format!("file meta group: {e}"))?;
            ts = Some(
                String::from_utf8_lossy(&v)
                    .trim_end_matches(['\0', ' '])
                    .trim()
                    .to_string(),
            );
        }
        pos = end;
    }
    let ts =
        ts.ok_or_else(|| "file meta group has no TransferSyntaxUID (0002,0010)".to_string())?;
    let actual = pos - elements_start;
    let quirk = match declared_length {
        None => Some("the file meta group has no group length (0002,0000)".to_string()),
        Some(d) if u64::from(d) != actual => Some(format!(
            "the file meta group length (0002,0000) says {d} bytes, the group holds {actual}"
        )),
        Some(_) => None,
    };
    Ok(Meta {
        ts,
        elements_start,
        dataset_start: pos,
        quirk,
    })
}

fn encoding_of(ts: &str) -> Option<Enc> {
    match ts {
        IMPLICIT_LE => Some(Enc {
            explicit: false,
            big: false,
        }),
        EXPLICIT_BE => Some(Enc {
            explicit: true,
            big: true,
        }),
        _ => Some(Enc {
            explicit: true,
            big: false,
        }),
    }
}

/// Guess the encoding of a bare data set from its first element, as
/// pydicom's `force=True` does: a plausible group in little or big endian,
/// then a valid VR or not.
fn guess_bare(src: &mut dyn Source, at: u64) -> Option<(Enc, &'static str)> {
    let mut b = [0u8; 8];
    src.read_at(at, &mut b).ok()?;
    let le = u16::from_le_bytes([b[0], b[1]]);
    let be = u16::from_be_bytes([b[0], b[1]]);
    let plausible = |g: u16| matches!(g, 0x0008 | 0x0010 | 0x0018 | 0x0020 | 0x0028);
    let vr = [b[4], b[5]];
    let valid_vr = VRS_LONG.iter().chain(VRS_SHORT.iter()).any(|v| **v == vr);
    if plausible(le) {
        if valid_vr {
            Some((
                Enc {
                    explicit: true,
                    big: false,
                },
                EXPLICIT_LE,
            ))
        } else {
            Some((
                Enc {
                    explicit: false,
                    big: false,
                },
                IMPLICIT_LE,
            ))
        }
    } else if plausible(be) && valid_vr {
        Some((
            Enc {
                explicit: true,
                big: true,
            },
            EXPLICIT_BE,
        ))
    } else {
        None
    }
}

/// Inflate a deflated data set (raw deflate), refusing output beyond the budget.
fn inflate(src: &mut dyn Source, start: u64, budget: &Budget) -> Result<Vec<u8>, String> {
    let len = src.len().saturating_sub(start);
    let n = usize::try_from(len).map_err(|_| "deflated data set too large".to_string())?;
    let mut compressed = vec![0u8; n];
    src.read_at(start, &mut compressed)
        .map_err(|e| format!("reading the deflated data set: {e}"))?;
    let mut out = Vec::new();
    // Deflate reaches about 1000:1 on zeros; real data sets compress far
    // less. Beyond 100:1 plus 64 MiB a data set is treated as a bomb, so
    // that a small file cannot take the whole budget.
    let limit = budget.bytes.min((64 << 20) + 100 * n as u64);
    let mut dec = flate2::read::DeflateDecoder::new(&compressed[..]).take(limit + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| format!("the deflated data set does not inflate: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!(
            "the deflated data set of {n} bytes inflates past {} (100 times its size plus 64 MiB, within the memory limit of {})",
            crate::limits::human_bytes(u128::from(limit)),
            budget.limit()
        ));
    }
    Ok(out)
}

/// How a file's first bytes frame it, or `None` when they carry no DICOM
/// signature at all: no `DICM`, no meta group, no plausible first element.
pub fn sniff(head: &[u8]) -> Option<Framing> {
    if head.len() >= 132 && &head[128..132] == b"DICM" {
        Some(Framing::Part10)
    } else if head.len() >= 4 && &head[..4] == b"DICM" {
        Some(Framing::NoPreamble)
    } else if head.len() >= 8
        && head[..2] == [0x02, 0x00]
        && head[4..6].iter().all(u8::is_ascii_uppercase)
    {
        Some(Framing::MetaOnly)
    } else {
        let mut s: &[u8] = head;
        guess_bare(&mut s, 0).map(|_| Framing::DataSetOnly)
    }
}

/// Walk a whole file (or its bytes) and describe its structure.
pub fn prescan(src: &mut dyn Source, budget: &Budget) -> Result<Layout, Problem> {
    let len = src.len();
    let mut head = [0u8; 132];
    let n = len.min(132) as usize;
    src.read_at(0, &mut head[..n])
        .map_err(|e| Problem::NotDicom(e.to_string()))?;
    let mut quirks = Vec::new();
    let (framing, meta_start) = if n == 132 && &head[128..132] == b"DICM" {
        (Framing::Part10, Some(132))
    } else if n >= 4 && &head[..4] == b"DICM" {
        quirks.push("no 128-byte preamble: `DICM` at byte 0".to_string());
        (Framing::NoPreamble, Some(4))
    } else if n >= 8 && head[..2] == [0x02, 0x00] && head[4..6].iter().all(u8::is_ascii_uppercase) {
        quirks.push("no preamble and no `DICM` prefix: the file starts with its meta group".into());
        (Framing::MetaOnly, Some(0))
    } else {
        (Framing::DataSetOnly, None)
    };
    let mut meta_elements = None;
    // `DICM` followed straight by the data set (no meta group): read the data
    // set as a bare one, from there.
    let mut bare_from = 0;
    let mut framing = framing;
    let mut meta_start = meta_start;
    if let Some(m) = meta_start {
        let mut g = [0u8; 2];
        if src.read_at(m, &mut g).is_ok() && g != [0x02, 0x00] {
            quirks.push("`DICM` but no file meta group: the data set is read as a bare one".into());
            bare_from = m;
            meta_start = None;
            framing = Framing::DataSetOnly;
        }
    }
    let (ts, dataset_start, enc) = match meta_start {
        Some(m) => {
            let meta = walk_meta(src, m).map_err(|e| match framing {
                Framing::Part10 | Framing::NoPreamble => Problem::Malformed(e),
                _ => Problem::NotDicom(e),
            })?;
            quirks.extend(meta.quirk);
            meta_elements = Some(meta.elements_start);
            let enc = encoding_of(&meta.ts).expect("every transfer syntax has an encoding");
            (meta.ts, meta.dataset_start, enc)
        }
        None => {
            if len < bare_from + 8 {
                return Err(Problem::NotDicom(format!(
                    "file is {len} bytes, too short for a DICOM file"
                )));
            }
            let Some((enc, ts)) = guess_bare(src, bare_from) else {
                return Err(Problem::NotDicom(
                    "no 'DICM' prefix at byte 128 and the bytes do not start a data set".into(),
                ));
            };
            quirks.push(format!(
                "no preamble and no file meta group: read as a bare data set in {}",
                crate::pixels::transfer_syntax_name(ts)
            ));
            (ts.to_string(), bare_from, enc)
        }
    };
    if dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(&ts)
        .is_none()
    {
        return Err(Problem::Malformed(format!(
            "TransferSyntaxUID (0002,0010) '{ts}' is not a transfer syntax radlab knows"
        )));
    }
    let bare = framing == Framing::DataSetOnly;
    let (walked, inflated) = if DEFLATED.contains(&ts.as_str()) {
        let bytes = inflate(src, dataset_start, budget).map_err(Problem::Malformed)?;
        let mut s: &[u8] = &bytes;
        let w = walk(
            &mut s,
            0,
            Enc {
                explicit: true,
                big: false,
            },
        )
        .map_err(Problem::Malformed)?;
        (w, Some(bytes))
    } else {
        let w = walk(src, dataset_start, enc).map_err(|e| {
            if bare {
                Problem::NotDicom(format!(
                    "not a DICOM file: no 'DICM' prefix, and as a bare data set: {e}"
                ))
            } else {
                Problem::Malformed(e)
            }
        })?;
        (w, None)
    };
    if bare && walked.data_end <= dataset_start {
        return Err(Problem::NotDicom(
            "no 'DICM' prefix and no data element".into(),
        ));
    }
    if !bare && inflated.is_none() && walked.data_end <= dataset_start {
        return Err(Problem::Malformed(
            "the file holds a meta group and no data set after it".into(),
        ));
    }
    quirks.extend(walked.quirks);
    Ok(Layout {
        framing,
        meta_start,
        meta_elements,
        dataset_start,
        transfer_syntax: ts,
        inflated,
        data_end: walked.data_end,
        pixel_data: walked.pixel_data,
        max_depth: walked.max_depth,
        quirks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(tag.0.to_le_bytes());
        v.extend(tag.1.to_le_bytes());
        v.extend(vr);
        if VRS_LONG.contains(&vr) {
            v.extend([0, 0]);
            v.extend((value.len() as u32).to_le_bytes());
        } else {
            v.extend((value.len() as u16).to_le_bytes());
        }
        v.extend(value);
        v
    }

    fn part10(dataset: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 128];
        f.extend(b"DICM");
        f.extend(el((0x0002, 0x0010), b"UI", b"1.2.840.10008.1.2.1\0"));
        f.extend(dataset);
        f
    }

    fn budget() -> Budget {
        Budget {
            bytes: 1 << 30,
            from: "test",
        }
    }

    fn nested(levels: usize) -> Vec<u8> {
        // (0040,A730) SQ undefined length, item undefined length, repeated.
        let mut v = Vec::new();
        for _ in 0..levels {
            v.extend([0x40, 0x00, 0x30, 0xA7]);
            v.extend(b"SQ\0\0");
            v.extend(UNDEFINED.to_le_bytes());
            v.extend([0xFE, 0xFF, 0x00, 0xE0]);
            v.extend(UNDEFINED.to_le_bytes());
        }
        for _ in 0..levels {
            v.extend([0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
            v.extend([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        }
        v
    }

    #[test]
    fn depth_is_bounded_without_recursion() {
        let ok = part10(&nested(MAX_SEQUENCE_DEPTH));
        let mut s: &[u8] = &ok;
        assert_eq!(
            prescan(&mut s, &budget()).unwrap().max_depth,
            MAX_SEQUENCE_DEPTH
        );
        let deep = part10(&nested(100_000));
        let mut s: &[u8] = &deep;
        match prescan(&mut s, &budget()) {
            Err(Problem::Malformed(m)) => assert!(m.contains("nested"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn declared_lengths_past_the_end_are_truncation() {
        let mut ds = el((0x0008, 0x0060), b"CS", b"CT");
        ds.extend([0xE0, 0x7F, 0x10, 0x00]);
        ds.extend(b"OW\0\0");
        ds.extend(u32::MAX.wrapping_sub(1).to_le_bytes());
        ds.extend([0u8; 16]);
        let f = part10(&ds);
        let mut s: &[u8] = &f;
        match prescan(&mut s, &budget()) {
            Err(Problem::Malformed(m)) => assert!(m.contains("(7FE0,0010)"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn zero_padding_after_pixel_data_is_ignored() {
        let mut ds = el((0x0008, 0x0060), b"CS", b"CT");
        ds.extend(el((0x7FE0, 0x0010), b"OW", &[1, 2, 3, 4]));
        let mut f = part10(&ds);
        let data_len = f.len() as u64;
        f.extend(vec![0u8; 10_000]);
        let mut s: &[u8] = &f;
        let l = prescan(&mut s, &budget()).unwrap();
        assert_eq!(l.data_end, data_len);
        assert!(
            l.quirks.iter().any(|q| q.contains("10000 byte(s)")),
            "{:?}",
            l.quirks
        );
        assert_eq!(l.pixel_data.unwrap().value_len, 4);
    }

    #[test]
    fn bare_data_sets_are_recognised() {
        let ds = el((0x0008, 0x0060), b"CS", b"CT");
        let mut s: &[u8] = &ds;
        let l = prescan(&mut s, &budget()).unwrap();
        assert_eq!(l.framing, Framing::DataSetOnly);
        assert_eq!(l.transfer_syntax, EXPLICIT_LE);
        let text = b"hello, this is not DICOM at all".to_vec();
        let mut s: &[u8] = &text;
        assert!(matches!(
            prescan(&mut s, &budget()),
            Err(Problem::NotDicom(_))
        ));
    }
}
