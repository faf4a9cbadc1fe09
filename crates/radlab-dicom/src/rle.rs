//! RLE Lossless (PS3.5 Annex G) decoding of grayscale frames.
//!
//! Written here rather than taken from `dicom-transfer-syntax-registry`
//! because the loader wants two things that adapter does not give: decoding
//! into a reused per-thread buffer (a fresh 512 KB allocation per slice costs
//! more in page faults than the decoding itself), and 32-bit samples (RT Dose).
//!
//! A frame is a 64-byte header (the number of segments, then 15 byte offsets)
//! followed by the segments. Each segment is one byte plane of the image, most
//! significant byte first, compressed with PackBits:
//! a header byte `n` in `0..=127` copies the next `n + 1` bytes, `n` in
//! `-127..=-1` repeats the next byte `1 - n` times, and `-128` is skipped.

/// Decode one PackBits segment into `out`, filling it exactly.
///
/// Returns the number of bytes produced when the segment ends early; output
/// beyond `out.len()` (an encoder's padding) is ignored.
///
/// ```
/// // The worked example from Apple's PackBits note (TN1023).
/// let packed = [0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A,
///               0x22, 0xF7, 0xAA];
/// let mut out = [0u8; 24];
/// assert_eq!(radlab_dicom::rle::unpack_bits(&packed, &mut out), 24);
/// assert_eq!(&out[..8], &[0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA]);
/// ```
pub fn unpack_bits(src: &[u8], out: &mut [u8]) -> usize {
    let (mut i, mut o) = (0usize, 0usize);
    while i < src.len() && o < out.len() {
        let n = src[i] as i8;
        i += 1;
        if n >= 0 {
            let len = (n as usize + 1).min(src.len() - i).min(out.len() - o);
            out[o..o + len].copy_from_slice(&src[i..i + len]);
            i += n as usize + 1;
            o += len;
        } else if n != -128 {
            let Some(&b) = src.get(i) else { break };
            i += 1;
            let len = (1 - n as isize) as usize;
            let len = len.min(out.len() - o);
            out[o..o + len].fill(b);
            o += len;
        }
    }
    o
}

/// Decode one RLE Lossless frame of a single-sample image into
/// little-endian stored values (`bytes_per_sample` bytes per pixel).
///
/// `raw` is resized to `pixels * bytes_per_sample`; `planes` is scratch space.
/// The error names what is wrong with the frame.
pub fn decode_frame(
    frame: &[u8],
    pixels: usize,
    bytes_per_sample: usize,
    planes: &mut Vec<u8>,
    raw: &mut Vec<u8>,
) -> Result<(), String> {
    if !matches!(bytes_per_sample, 1 | 2 | 4) {
        return Err(format!(
            "RLE decoding supports 8, 16 and 32-bit samples, not {} bits",
            8 * bytes_per_sample
        ));
    }
    if frame.len() < 64 {
        return Err(format!(
            "RLE frame is {} bytes, shorter than its 64-byte header",
            frame.len()
        ));
    }
    let word = |k: usize| {
        u32::from_le_bytes([
            frame[4 * k],
            frame[4 * k + 1],
            frame[4 * k + 2],
            frame[4 * k + 3],
        ]) as usize
    };
    let segments = word(0);
    if segments != bytes_per_sample {
        return Err(format!(
            "RLE header lists {segments} segment(s); a single-sample image of {} bits needs {bytes_per_sample}",
            8 * bytes_per_sample
        ));
    }
    // A replicate run turns 2 bytes into at most 128, so a frame cannot
    // decode to more than 64 times its size: refuse before allocating.
    let want = pixels.saturating_mul(bytes_per_sample);
    if want / 64 > frame.len() {
        return Err(format!(
            "an RLE frame of {} bytes cannot hold {pixels} pixels of {} bits (RLE expands at most 64 times)",
            frame.len(),
            8 * bytes_per_sample
        ));
    }
    if planes.len() < want {
        planes
            .try_reserve_exact(want - planes.len())
            .map_err(|_| format!("cannot allocate {want} bytes for the RLE frame"))?;
    }
    if raw.len() < want {
        raw.try_reserve_exact(want - raw.len())
            .map_err(|_| format!("cannot allocate {want} bytes for the RLE frame"))?;
    }
    planes.resize(want, 0);
    for s in 0..segments {
        let start = word(s + 1);
        let end = if s + 1 < segments {
            word(s + 2)
        } else {
            frame.len()
        };
        if start < 64 || start > end || end > frame.len() {
            return Err(format!(
                "RLE segment {s} spans bytes {start}..{end} of a {}-byte frame",
                frame.len()
            ));
        }
        let plane = &mut planes[s * pixels..(s + 1) * pixels];
        let got = unpack_bits(&frame[start..end], plane);
        if got < pixels {
            return Err(format!(
                "RLE segment {s} decodes to {got} bytes, the image has {pixels} pixels"
            ));
        }
    }
    // Segment 0 holds the most significant bytes; stored values are little endian.
    raw.resize(pixels * bytes_per_sample, 0);
    match bytes_per_sample {
        1 => raw.copy_from_slice(planes),
        2 => {
            let (hi, lo) = planes.split_at(pixels);
            for ((w, &h), &l) in raw.chunks_exact_mut(2).zip(hi).zip(lo) {
                w[0] = l;
                w[1] = h;
            }
        }
        _ => {
            for (k, w) in raw.chunks_exact_mut(bytes_per_sample).enumerate() {
                for (b, byte) in w.iter_mut().enumerate() {
                    *byte = planes[(bytes_per_sample - 1 - b) * pixels + k];
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A straightforward PackBits encoder (runs of 3+ become repeats).
    fn pack_bits(src: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < src.len() {
            let mut run = 1;
            while i + run < src.len() && src[i + run] == src[i] && run < 128 {
                run += 1;
            }
            if run >= 3 {
                out.push((1 - run as isize) as i8 as u8);
                out.push(src[i]);
                i += run;
            } else {
                let start = i;
                while i < src.len() && i - start < 128 {
                    if i + 2 < src.len() && src[i] == src[i + 1] && src[i] == src[i + 2] {
                        break;
                    }
                    i += 1;
                }
                out.push((i - start - 1) as u8);
                out.extend_from_slice(&src[start..i]);
            }
        }
        out
    }

    fn encode_frame(values: &[u8], bytes_per_sample: usize) -> Vec<u8> {
        let pixels = values.len() / bytes_per_sample;
        let mut segs = Vec::new();
        for s in 0..bytes_per_sample {
            // Segment s is byte (bps - 1 - s) of each little-endian sample.
            let plane: Vec<u8> = (0..pixels)
                .map(|k| values[k * bytes_per_sample + bytes_per_sample - 1 - s])
                .collect();
            let mut seg = pack_bits(&plane);
            if seg.len() % 2 == 1 {
                seg.push(0x80); // padding: the no-op header
            }
            segs.push(seg);
        }
        let mut frame = vec![0u8; 64];
        frame[..4].copy_from_slice(&(bytes_per_sample as u32).to_le_bytes());
        let mut off = 64u32;
        for (s, seg) in segs.iter().enumerate() {
            frame[4 * (s + 1)..4 * (s + 2)].copy_from_slice(&off.to_le_bytes());
            off += seg.len() as u32;
        }
        for seg in segs {
            frame.extend(seg);
        }
        frame
    }

    #[test]
    fn tn1023_example_decodes_in_full() {
        let packed = [
            0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7,
            0xAA,
        ];
        let expected = [
            0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22,
            0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        ];
        let mut out = [0u8; 24];
        assert_eq!(unpack_bits(&packed, &mut out), 24);
        assert_eq!(out, expected);
        // A short output buffer takes what fits; a long one reports the shortfall.
        let mut short = [0u8; 5];
        assert_eq!(unpack_bits(&packed, &mut short), 5);
        assert_eq!(short, expected[..5]);
        let mut long = [0u8; 30];
        assert_eq!(unpack_bits(&packed, &mut long), 24);
    }

    #[test]
    fn round_trips_8_16_and_32_bit_frames() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for bps in [1usize, 2, 4] {
            let pixels = 777;
            // Runs and noise mixed, as in a CT slice.
            let values: Vec<u8> = (0..pixels * bps)
                .map(|k| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if (k / 40) % 2 == 0 { 7 } else { state as u8 }
                })
                .collect();
            let frame = encode_frame(&values, bps);
            let (mut planes, mut raw) = (Vec::new(), Vec::new());
            decode_frame(&frame, pixels, bps, &mut planes, &mut raw).unwrap();
            assert_eq!(raw, values, "{bps} bytes per sample");
        }
    }

    #[test]
    fn damaged_frames_are_errors_not_panics() {
        let values: Vec<u8> = (0..200u32).map(|k| (k * 7) as u8).collect();
        let frame = encode_frame(&values, 2);
        let (mut planes, mut raw) = (Vec::new(), Vec::new());
        for cut in [0, 10, 63, 64, 70, frame.len() - 3] {
            let e = decode_frame(&frame[..cut], 100, 2, &mut planes, &mut raw).unwrap_err();
            assert!(e.contains("RLE"), "{e}");
        }
        let e = decode_frame(&frame, 100, 1, &mut planes, &mut raw).unwrap_err();
        assert!(e.contains("2 segment(s)"), "{e}");
        let mut bad = frame.clone();
        bad[8..12].copy_from_slice(&10_000u32.to_le_bytes());
        assert!(decode_frame(&bad, 100, 2, &mut planes, &mut raw).is_err());
    }
}
