//! Pixel decoding: stored values -> modality values (HU for CT), written
//! straight into the caller's slice buffers.

use std::path::Path;

use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::DefaultDicomObject;
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::{DicomError, Result};
use crate::file::error_chain;
use crate::rle;

/// How stored pixel values are laid out, from the Image Pixel module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelLayout {
    /// Rows (0028,0010).
    pub rows: usize,
    /// Columns (0028,0011).
    pub cols: usize,
    /// Bits Allocated (0028,0100): 8, 16 or 32.
    pub bits_allocated: u16,
    /// Bits Stored (0028,0101).
    pub bits_stored: u16,
    /// High Bit (0028,0102).
    pub high_bit: u16,
    /// Pixel Representation (0028,0103) is 1: two's complement.
    pub signed: bool,
}

/// Modality LUT as a linear rescale: `value = stored * slope + intercept`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rescale {
    /// RescaleSlope (0028,1053), 1 when absent.
    pub slope: f64,
    /// RescaleIntercept (0028,1052), 0 when absent.
    pub intercept: f64,
}

impl Default for Rescale {
    fn default() -> Self {
        Rescale {
            slope: 1.0,
            intercept: 0.0,
        }
    }
}

impl PixelLayout {
    /// Bytes per frame of native (uncompressed) data.
    pub fn frame_bytes(&self) -> usize {
        self.rows * self.cols * usize::from(self.bits_allocated / 8)
    }
}

/// Interpret one stored sample: drop bits above High Bit, sign-extend when signed.
#[inline(always)]
fn sample(raw: u32, shift: u32, bits: u32, signed: bool) -> i64 {
    let v = (raw >> shift) & (((1u64 << bits) - 1) as u32);
    if signed && bits < 32 {
        let s = 32 - bits;
        (((v << s) as i32) >> s) as i64
    } else if signed {
        v as i32 as i64
    } else {
        v as i64
    }
}

/// The integer a stored sample holds: bits above High Bit dropped,
/// sign-extended from Bits Stored when the layout is signed.
///
/// ```
/// use radlab_dicom::pixels::{PixelLayout, stored_value};
/// let l = PixelLayout { rows: 1, cols: 1, bits_allocated: 16, bits_stored: 12, high_bit: 11, signed: true };
/// assert_eq!(stored_value(0x0FFF, &l), -1);
/// ```
pub fn stored_value(raw: u32, layout: &PixelLayout) -> i64 {
    let shift = u32::from(layout.high_bit + 1).saturating_sub(u32::from(layout.bits_stored));
    sample(
        raw,
        shift,
        u32::from(layout.bits_stored).clamp(1, 32),
        layout.signed,
    )
}

/// Convert one frame of little-endian stored samples into modality values.
///
/// `raw` must hold at least `out.len()` samples of `layout.bits_allocated` bits.
pub fn convert_frame(raw: &[u8], layout: &PixelLayout, rescale: Rescale, out: &mut [f32]) {
    convert_frame_on(radlab_simd::Isa::active(), raw, layout, rescale, out)
}

radlab_simd::kernel! {
    /// [`convert_frame`] compiled for the instruction set `isa` (the same
    /// values on every path).
    pub fn convert_frame_on(raw: &[u8], layout: &PixelLayout, rescale: Rescale, out: &mut [f32]) {
        let (slope, intercept) = (rescale.slope, rescale.intercept);
        let shift = u32::from(layout.high_bit + 1).saturating_sub(u32::from(layout.bits_stored));
        let bits = u32::from(layout.bits_stored).clamp(1, 32);
        match layout.bits_allocated {
            16 if bits == 16 && shift == 0 => {
                // Fast path: whole 16-bit words, the common CT and MR layout.
                let words = raw.chunks_exact(2);
                // The usual CT rescale (slope 1, integer intercept) is exact in f32.
                let simple =
                    slope == 1.0 && intercept.fract() == 0.0 && intercept.abs() < f64::from(1u32 << 20);
                if simple {
                    let b = intercept as f32;
                    if layout.signed {
                        for (o, w) in out.iter_mut().zip(words) {
                            *o = f32::from(i16::from_le_bytes([w[0], w[1]])) + b;
                        }
                    } else {
                        for (o, w) in out.iter_mut().zip(words) {
                            *o = f32::from(u16::from_le_bytes([w[0], w[1]])) + b;
                        }
                    }
                } else if layout.signed {
                    for (o, w) in out.iter_mut().zip(words) {
                        let v = i16::from_le_bytes([w[0], w[1]]);
                        *o = (f64::from(v) * slope + intercept) as f32;
                    }
                } else {
                    for (o, w) in out.iter_mut().zip(words) {
                        let v = u16::from_le_bytes([w[0], w[1]]);
                        *o = (f64::from(v) * slope + intercept) as f32;
                    }
                }
            }
            16 => {
                for (o, w) in out.iter_mut().zip(raw.chunks_exact(2)) {
                    let v = sample(
                        u32::from(u16::from_le_bytes([w[0], w[1]])),
                        shift,
                        bits,
                        layout.signed,
                    );
                    *o = (v as f64 * slope + intercept) as f32;
                }
            }
            8 => {
                for (o, &b) in out.iter_mut().zip(raw) {
                    let v = sample(u32::from(b), shift, bits, layout.signed);
                    *o = (v as f64 * slope + intercept) as f32;
                }
            }
            _ => {
                for (o, w) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    let v = sample(
                        u32::from_le_bytes([w[0], w[1], w[2], w[3]]),
                        shift,
                        bits,
                        layout.signed,
                    );
                    *o = (v as f64 * slope + intercept) as f32;
                }
            }
        }
    }
}

/// RLE Lossless, decoded by [`crate::rle`].
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

thread_local! {
    /// Per-thread RLE buffers (byte planes, interleaved samples), reused across files.
    static RLE_SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// The transfer syntax's name, or "unknown transfer syntax".
pub fn transfer_syntax_name(uid: &str) -> String {
    TransferSyntaxRegistry
        .get(uid.trim_end_matches('\0'))
        .map(|ts| ts.name().to_string())
        .unwrap_or_else(|| "unknown transfer syntax".to_string())
}

/// Whether radlab can decode pixel data in this transfer syntax.
pub fn can_decode(uid: &str) -> bool {
    TransferSyntaxRegistry
        .get(uid.trim_end_matches('\0'))
        .is_some_and(|ts| ts.can_decode_all())
}

/// Decode the requested frames of a whole (pixel data included) object.
///
/// `targets` pairs a frame index (0-based) with the buffer for that frame
/// (`rows * cols` values) and the frame's rescale.
pub fn decode_frames(
    path: &Path,
    obj: &DefaultDicomObject,
    layout: &PixelLayout,
    number_of_frames: usize,
    targets: Vec<(usize, &mut [f32], Rescale)>,
) -> Result<()> {
    let ts_uid = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    let pixel = obj
        .get(tags::PIXEL_DATA)
        .ok_or_else(|| DicomError::NoPixelData {
            path: path.to_owned(),
            sop_class: obj.meta().media_storage_sop_class_uid().to_string(),
        })?;
    let unsupported = || DicomError::UnsupportedTransferSyntax {
        path: path.to_owned(),
        uid: ts_uid.clone(),
        name: transfer_syntax_name(&ts_uid),
    };
    match pixel.value() {
        Value::Primitive(p) => {
            let mut bytes = p.to_bytes();
            // Big endian OW is read as 16-bit words; 32-bit samples need their
            // two words swapped, 8-bit samples their two bytes.
            if ts_uid == "1.2.840.10008.1.2.2" && matches!(p, dicom_core::PrimitiveValue::U16(_)) {
                let mut owned = bytes.into_owned();
                match layout.bits_allocated {
                    32 => owned.chunks_exact_mut(4).for_each(|c| {
                        c.swap(0, 2);
                        c.swap(1, 3);
                    }),
                    8 => owned.chunks_exact_mut(2).for_each(|c| c.swap(0, 1)),
                    _ => {}
                }
                bytes = std::borrow::Cow::Owned(owned);
            }
            let fb = layout.frame_bytes();
            if bytes.len() < fb * number_of_frames {
                return Err(DicomError::Malformed {
                    path: path.to_owned(),
                    reason: format!(
                        "Pixel Data holds {} bytes, {} frame(s) of {}x{} at {} bits need {}",
                        bytes.len(),
                        number_of_frames,
                        layout.rows,
                        layout.cols,
                        layout.bits_allocated,
                        fb * number_of_frames
                    ),
                });
            }
            for (frame, out, rescale) in targets {
                convert_frame(&bytes[frame * fb..(frame + 1) * fb], layout, rescale, out);
            }
            Ok(())
        }
        Value::PixelSequence(seq) if ts_uid == RLE_LOSSLESS => {
            let fragments = seq.fragments();
            let bps = usize::from(layout.bits_allocated / 8);
            let pixels = layout.rows * layout.cols;
            // PS3.5 A.4.2: each RLE frame is exactly one fragment.
            let joined;
            let frame_data = |frame: usize| -> Option<&[u8]> {
                if fragments.len() == number_of_frames {
                    fragments.get(frame).map(|f| f.as_slice())
                } else {
                    None
                }
            };
            let single: Option<&[u8]> = if number_of_frames == 1 && fragments.len() > 1 {
                joined = fragments.concat();
                Some(&joined)
            } else {
                None
            };
            RLE_SCRATCH.with_borrow_mut(|(planes, raw)| {
                for (frame, out, rescale) in targets {
                    let data = single.or_else(|| frame_data(frame)).ok_or_else(|| {
                        DicomError::Decode {
                            path: path.to_owned(),
                            reason: format!(
                                "RLE Lossless: {} fragment(s) for {number_of_frames} frame(s); each frame must be one fragment",
                                fragments.len()
                            ),
                        }
                    })?;
                    rle::decode_frame(data, pixels, bps, planes, raw).map_err(|reason| {
                        DicomError::Decode {
                            path: path.to_owned(),
                            reason: format!("frame {frame}: {reason}"),
                        }
                    })?;
                    convert_frame(raw, layout, rescale, out);
                }
                Ok(())
            })
        }
        Value::PixelSequence(seq) => {
            if !can_decode(&ts_uid) {
                return Err(unsupported());
            }
            // A codestream that declares a bigger image than Rows x Columns
            // would make the codec allocate for it: compare before decoding.
            let fragments = seq.fragments();
            for (frame, _, _) in &targets {
                let first = if fragments.len() == number_of_frames {
                    fragments.get(*frame)
                } else if *frame == 0 {
                    fragments.first()
                } else {
                    None
                };
                if let Some((w, h, c)) = first.and_then(|f| codestream_size(f)) {
                    if (w, h) != (layout.cols as u32, layout.rows as u32) || c != 1 {
                        return Err(DicomError::Decode {
                            path: path.to_owned(),
                            reason: format!(
                                "frame {frame}: the {} codestream is {w} x {h} with {c} component(s), but Columns x Rows say {} x {} with 1 sample",
                                transfer_syntax_name(&ts_uid),
                                layout.cols,
                                layout.rows
                            ),
                        });
                    }
                }
            }
            for (frame, out, rescale) in targets {
                let decoded =
                    obj.decode_pixel_data_frame(frame as u32)
                        .map_err(|e| DicomError::Decode {
                            path: path.to_owned(),
                            reason: format!(
                                "frame {frame} in {} ({ts_uid}): {}",
                                transfer_syntax_name(&ts_uid),
                                error_chain(&e)
                            ),
                        })?;
                let data = decoded.data();
                let need = layout.rows * layout.cols * usize::from(layout.bits_allocated / 8);
                if data.len() < need {
                    return Err(DicomError::Decode {
                        path: path.to_owned(),
                        reason: format!(
                            "frame {frame}: codec returned {} bytes, expected {need}",
                            data.len()
                        ),
                    });
                }
                convert_frame(&data[..need], layout, rescale, out);
            }
            Ok(())
        }
        Value::Sequence(_) => Err(DicomError::Malformed {
            path: path.to_owned(),
            reason: "Pixel Data is encoded as a sequence".into(),
        }),
    }
}

/// Width, height and components a JPEG or JPEG 2000 codestream declares
/// (from its SOF or SIZ marker), or `None` when it is neither or the marker
/// cannot be found in its first 64 KiB.
pub fn codestream_size(data: &[u8]) -> Option<(u32, u32, u32)> {
    let head = &data[..data.len().min(64 << 10)];
    let be16 = |i: usize| -> Option<u32> {
        Some(u32::from(u16::from_be_bytes([
            *head.get(i)?,
            *head.get(i + 1)?,
        ])))
    };
    let be32 = |i: usize| -> Option<u32> {
        Some(u32::from_be_bytes([
            *head.get(i)?,
            *head.get(i + 1)?,
            *head.get(i + 2)?,
            *head.get(i + 3)?,
        ]))
    };
    // JPEG 2000: SOC (FF4F) then SIZ (FF51), possibly after JP2 boxes.
    if let Some(i) = head.windows(4).position(|w| w == [0xFF, 0x4F, 0xFF, 0x51]) {
        let siz = i + 4;
        let (xsiz, ysiz) = (be32(siz + 4)?, be32(siz + 8)?);
        let (xo, yo) = (be32(siz + 12)?, be32(siz + 16)?);
        let csiz = be16(siz + 36)?;
        return Some((xsiz.checked_sub(xo)?, ysiz.checked_sub(yo)?, csiz));
    }
    // JPEG: SOI (FFD8), then segments until a start-of-frame marker.
    if head.len() < 4 || head[0] != 0xFF || head[1] != 0xD8 {
        return None;
    }
    let mut i = 2;
    while i + 4 <= head.len() {
        if head[i] != 0xFF {
            return None;
        }
        let marker = head[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = be16(i + 2)? as usize;
        let sof = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xF7);
        if sof {
            let y = be16(i + 5)?;
            let x = be16(i + 7)?;
            let n = u32::from(*head.get(i + 9)?);
            return Some((x, y, n));
        }
        if marker == 0xDA || len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every instruction set the processor has gives the baseline's bits,
    /// for every layout branch and for simple, fractional and huge rescales.
    #[test]
    fn every_instruction_set_converts_to_the_same_bits() {
        // A fixed xorshift stream: arbitrary words, no dependency for it.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let raw: Vec<u8> = (0..4 * 70_001)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let layouts = [
            (16, 16, 15),
            (16, 12, 11),
            (16, 12, 15),
            (8, 8, 7),
            (8, 6, 5),
            (32, 32, 31),
            (32, 20, 19),
        ];
        let rescales = [
            (1.0, -1024.0),
            (1.0, 0.0),
            (2.5, -1024.0),
            (0.000_123, 7.25),
            (1.0, 0.5),
            (1e30, -1e30),
        ];
        for (alloc, stored, high) in layouts {
            for signed in [false, true] {
                let layout = PixelLayout {
                    rows: 1,
                    cols: 70_001,
                    bits_allocated: alloc,
                    bits_stored: stored,
                    high_bit: high,
                    signed,
                };
                for (slope, intercept) in rescales {
                    let rescale = Rescale { slope, intercept };
                    let mut want = vec![0f32; 70_001];
                    convert_frame_on(
                        radlab_simd::Isa::Baseline,
                        &raw,
                        &layout,
                        rescale,
                        &mut want,
                    );
                    for isa in radlab_simd::Isa::supported() {
                        let mut got = vec![0f32; 70_001];
                        convert_frame_on(isa, &raw, &layout, rescale, &mut got);
                        let same = got
                            .iter()
                            .zip(&want)
                            .all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(
                            same,
                            "{isa}: {alloc}/{stored}/{high} signed={signed} slope={slope} intercept={intercept}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn sign_extends_12_bit_values() {
        // 12 bits stored in 16: 0x0FFF is -1, 0x0800 is -2048.
        let layout = PixelLayout {
            rows: 1,
            cols: 3,
            bits_allocated: 16,
            bits_stored: 12,
            high_bit: 11,
            signed: true,
        };
        let raw = [0xFF, 0x0F, 0x00, 0x08, 0xFF, 0x07];
        let mut out = [0.0; 3];
        convert_frame(&raw, &layout, Rescale::default(), &mut out);
        assert_eq!(out, [-1.0, -2048.0, 2047.0]);
        // Unsigned with junk above the high bit: masked off.
        let layout = PixelLayout {
            signed: false,
            ..layout
        };
        let raw = [0xFF, 0xFF, 0x00, 0x00, 0x34, 0x12];
        convert_frame(&raw, &layout, Rescale::default(), &mut out);
        assert_eq!(out, [4095.0, 0.0, 0x234 as f32]);
    }

    #[test]
    fn applies_rescale() {
        let layout = PixelLayout {
            rows: 1,
            cols: 2,
            bits_allocated: 16,
            bits_stored: 16,
            high_bit: 15,
            signed: false,
        };
        let raw = [0x00, 0x00, 0xE8, 0x03]; // 0, 1000
        let mut out = [0.0; 2];
        convert_frame(
            &raw,
            &layout,
            Rescale {
                slope: 2.5,
                intercept: -1024.0,
            },
            &mut out,
        );
        assert_eq!(out, [-1024.0, 1476.0]);
    }
}
