//! Varlena headers of on-disk datums (little-endian builds): inline with a
//! 1-byte or 4-byte header, compressed inline (pglz or lz4), or external (a
//! TOAST pointer whose chunks the caller reassembles).
//!
//! ```text
//! first byte  xxxxxxx1  1-byte header, length (header included) = byte >> 1
//!             00000001  external: a tag byte (18 = on disk), then the pointer
//!             xxxxxx00  4-byte header, length = u32 >> 2, uncompressed
//!             xxxxxx10  4-byte header, compressed: u32 raw size (30 bits)
//!                       | method (2 bits: 0 pglz, 1 lz4), then the stream
//! ```

use std::borrow::Cow;

/// The tag of an on-disk TOAST pointer (`VARTAG_ONDISK`).
pub const VARTAG_ONDISK: u8 = 18;
/// Largest value decompressed (PostgreSQL's own limit is 1 GB).
pub const MAX_RAW: usize = 1 << 30;

/// A TOAST pointer (`varatt_external`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ToastPointer {
    /// `va_rawsize`: size of the original datum, header included.
    pub rawsize: u32,
    /// Size of the stored (possibly compressed) data.
    pub extsize: u32,
    /// Compression method bits (0 pglz, 1 lz4) when compressed.
    pub method: u8,
    /// `va_valueid`: the `chunk_id` of the chunks.
    pub valueid: u32,
    /// `va_toastrelid`: OID of the TOAST table.
    pub toastrelid: u32,
}

impl ToastPointer {
    /// Whether the stored data is compressed.
    pub fn compressed(&self) -> bool {
        self.extsize < self.rawsize.saturating_sub(4)
    }
}

/// What a varlena holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarData<'a> {
    /// The value's bytes (header removed, decompressed).
    Bytes(Cow<'a, [u8]>),
    /// Stored out of line: fetch the chunks, then [`decompress`] if
    /// [`ToastPointer::compressed`].
    External(ToastPointer),
}

/// Length of the varlena starting at `b[0]` (header included), or `None`
/// when its header is cut short or claims more bytes than `b` holds.
pub fn varlena_len(b: &[u8]) -> Option<usize> {
    let first = *b.first()?;
    let n = if first == 0x01 {
        // External: 2 header bytes and the pointer, whose size its tag gives.
        match *b.get(1)? {
            VARTAG_ONDISK => 18,
            // Expanded and indirect pointers never reach disk.
            _ => return None,
        }
    } else if first & 0x01 == 0x01 {
        usize::from(first >> 1)
    } else {
        let h = u32::from_le_bytes(b.get(..4)?.try_into().ok()?);
        (h >> 2) as usize
    };
    (n >= 1 && n <= b.len()).then_some(n)
}

/// Reads the varlena `v` (exactly its bytes, header included).
pub fn var_data(v: &[u8]) -> Result<VarData<'_>, String> {
    let n = varlena_len(v)
        .ok_or_else(|| format!("varlena header does not fit its {} bytes", v.len()))?;
    if n != v.len() {
        return Err(format!("varlena of {n} bytes in a datum of {}", v.len()));
    }
    let first = v[0];
    if first == 0x01 {
        let p = &v[2..18];
        let u = |i: usize| u32::from_le_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
        let ext = u(4);
        return Ok(VarData::External(ToastPointer {
            rawsize: u(0),
            extsize: ext & 0x3FFF_FFFF,
            method: (ext >> 30) as u8,
            valueid: u(8),
            toastrelid: u(12),
        }));
    }
    if first & 0x01 == 0x01 {
        return Ok(VarData::Bytes(Cow::Borrowed(&v[1..])));
    }
    if v.len() < 4 {
        return Err("varlena shorter than its 4-byte header".into());
    }
    if first & 0x03 == 0x02 {
        let info = v
            .get(4..8)
            .ok_or("compressed varlena without its size word")?;
        let info = u32::from_le_bytes([info[0], info[1], info[2], info[3]]);
        let out = decompress(&v[8..], info & 0x3FFF_FFFF, (info >> 30) as u8)?;
        return Ok(VarData::Bytes(Cow::Owned(out)));
    }
    Ok(VarData::Bytes(Cow::Borrowed(&v[4..])))
}

/// Decompresses `src` into `rawsize` bytes with method `method` (0 pglz,
/// 1 lz4). The size is checked against [`MAX_RAW`] and against what `src`
/// can expand to before anything is allocated.
pub fn decompress(src: &[u8], rawsize: u32, method: u8) -> Result<Vec<u8>, String> {
    let n = rawsize as usize;
    if n > MAX_RAW {
        return Err(format!("compressed value claims {n} bytes (over 1 GB)"));
    }
    // pglz: each control byte and its at most 8 three-byte references
    // produce at most 8 × 273 bytes; lz4 expands at most 255× per byte.
    if n > src.len().saturating_mul(255).saturating_add(64) {
        return Err(format!(
            "compressed value of {} bytes claims {n} bytes decompressed",
            src.len()
        ));
    }
    let mut out = vec![0u8; n];
    match method {
        0 => crate::pglz::decompress(src, &mut out)?,
        1 => {
            let got =
                lz4_flex::block::decompress_into(src, &mut out).map_err(|e| format!("lz4: {e}"))?;
            if got != n {
                return Err(format!("lz4: {got} bytes where {n} were expected"));
            }
        }
        m => return Err(format!("unknown compression method {m}")),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(varlena_len(&[0x07, b'a', b'b', b'c']), Some(3));
        assert_eq!(
            var_data(&[0x07, b'a', b'b']).unwrap(),
            VarData::Bytes(Cow::Borrowed(b"ab"))
        );
        assert_eq!(varlena_len(&[0x09, b'a']), None);
        let four = [0x18, 0, 0, 0, b'x', b'y'];
        assert_eq!(
            var_data(&four).unwrap(),
            VarData::Bytes(Cow::Borrowed(b"xy"))
        );
        assert!(var_data(&[0x01, 0x05, 0, 0]).is_err());
        assert!(decompress(&[0; 4], 1 << 31, 0).is_err());
        assert!(decompress(&[0; 4], 100_000, 0).is_err());
        assert!(decompress(&[0; 4], 4, 2).is_err());
    }
}
