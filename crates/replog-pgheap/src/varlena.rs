//! Varlena contents: inline (1-byte or 4-byte header), inline-compressed
//! (pglz or lz4) or external (a TOAST pointer whose chunks the caller
//! reassembles).

use std::borrow::Cow;

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
    /// The value's bytes.
    Bytes(Cow<'a, [u8]>),
    /// Stored out of line.
    External(ToastPointer),
}

/// Largest value decompressed (PostgreSQL's own limit is 1 GB).
const MAX_RAW: usize = 1 << 30;

/// Reads the varlena `v` (header included; its length already checked by
/// [`crate::tuple::varlena_len`]).
pub fn var_data(v: &[u8]) -> Result<VarData<'_>, String> {
    let first = *v.first().ok_or("empty varlena")?;
    if first == 0x01 {
        let p = v.get(2..18).ok_or("short TOAST pointer")?;
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
    if first & 0x03 == 0x02 {
        let info = v.get(4..8).ok_or("short compressed varlena")?;
        let info = u32::from_le_bytes(info.try_into().map_err(|_| "short compressed varlena")?);
        let out = decompress(&v[8..], info & 0x3FFF_FFFF, (info >> 30) as u8)?;
        return Ok(VarData::Bytes(Cow::Owned(out)));
    }
    Ok(VarData::Bytes(Cow::Borrowed(
        v.get(4..).ok_or("short varlena")?,
    )))
}

/// Decompresses `src` into `rawsize` bytes with method `method` (0 pglz,
/// 1 lz4).
pub fn decompress(src: &[u8], rawsize: u32, method: u8) -> Result<Vec<u8>, String> {
    let n = rawsize as usize;
    if n > MAX_RAW {
        return Err(format!("compressed value claims {n} bytes (over 1 GB)"));
    }
    // A pglz stream expands at most ~8x per input byte... bound by input.
    if n > src.len().saturating_mul(256).saturating_add(64) {
        return Err(format!(
            "compressed value of {} bytes claims {n} bytes decompressed",
            src.len()
        ));
    }
    let mut out = vec![0u8; n];
    match method {
        0 => replog_pgwal::image::pglz_decompress(src, &mut out)
            .map_err(|e| format!("pglz: {}", e.message()))?,
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
