//! PostgreSQL's pglz decompression: the one implementation, used for
//! compressed datums (inline and TOASTed) and, through `replog-pgwal`, for
//! full-page images.

/// Decompresses PostgreSQL's pglz format into `out`, which must be filled
/// exactly.
///
/// The stream is a sequence of groups: one control byte, then up to eight
/// items, one per control bit from the least significant. A clear bit is
/// one literal byte. A set bit is a back reference of two bytes `a b`
/// (three when the length nibble is 15): length `(a & 0x0F) + 3`, plus the
/// third byte when the nibble is 15; distance `((a & 0xF0) << 4) | b`,
/// counted back from the current end of the output. References may overlap
/// the bytes they produce.
pub fn decompress(src: &[u8], out: &mut [u8]) -> Result<(), String> {
    let mut sp = 0usize;
    let mut dp = 0usize;
    let err = |what: &str, sp: usize| format!("pglz: {what} at input byte {sp}");
    while sp < src.len() && dp < out.len() {
        let ctrl = src[sp];
        sp += 1;
        for bit in 0..8 {
            if sp >= src.len() || dp >= out.len() {
                break;
            }
            if ctrl & (1 << bit) != 0 {
                let (Some(&a), Some(&b)) = (src.get(sp), src.get(sp + 1)) else {
                    return Err(err("back reference cut short", sp));
                };
                sp += 2;
                let mut len = usize::from(a & 0x0F) + 3;
                let off = (usize::from(a & 0xF0) << 4) | usize::from(b);
                if len == 18 {
                    let Some(&extra) = src.get(sp) else {
                        return Err(err("back reference length cut short", sp));
                    };
                    sp += 1;
                    len += usize::from(extra);
                }
                if off == 0 || off > dp {
                    return Err(err(
                        &format!("back reference distance {off} with {dp} bytes produced"),
                        sp,
                    ));
                }
                let len = len.min(out.len() - dp);
                if off >= len {
                    out.copy_within(dp - off..dp - off + len, dp);
                } else {
                    for i in 0..len {
                        out[dp + i] = out[dp + i - off];
                    }
                }
                dp += len;
            } else {
                out[dp] = src[sp];
                sp += 1;
                dp += 1;
            }
        }
    }
    if dp != out.len() || sp != src.len() {
        return Err(err(
            &format!(
                "produced {dp} of {} bytes from {} input bytes",
                out.len(),
                src.len()
            ),
            sp,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pglz_literals_and_overlapping_reference() {
        // ctrl 0b0000_0010: literal 'a', then reference len 3+3=6, distance 1.
        let src = [0x02, b'a', 0x03, 0x01];
        let mut out = [0u8; 7];
        decompress(&src, &mut out).unwrap();
        assert_eq!(&out, b"aaaaaaa");
    }

    #[test]
    fn pglz_long_reference_uses_third_byte() {
        // 'x', 'y', then reference nibble 15 (18) + 2 = 20 bytes at distance 2.
        let src = [0x04, b'x', b'y', 0x0F, 0x02, 0x02];
        let mut out = [0u8; 22];
        decompress(&src, &mut out).unwrap();
        assert_eq!(&out[..], b"xyxyxyxyxyxyxyxyxyxyxy");
    }

    #[test]
    fn pglz_rejects_reference_before_start_and_short_output() {
        let mut out = [0u8; 4];
        let e = decompress(&[0x01, 0x00, 0x05], &mut out).unwrap_err();
        assert!(e.contains("distance 5"), "{e}");
        let e = decompress(&[0x00, b'a'], &mut out).unwrap_err();
        assert!(e.contains("produced 1 of 4"), "{e}");
    }
}
