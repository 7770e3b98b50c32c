//! Heap tuples as WAL records carry them: `xl_heap_header` (infomask2,
//! infomask, t_hoff) and the bytes of the tuple from its null bitmap
//! (`t_bits`, offset 23 of `HeapTupleHeaderData`) to its end; split into
//! one raw datum per attribute by the catalog's layout.
//!
//! Alignment is relative to the start of the user data (`t_hoff` bytes
//! from the tuple start, a multiple of 8), so it equals PostgreSQL's
//! alignment of absolute addresses. A varlena whose first byte is not zero
//! is not aligned (a 1-byte header or a TOAST pointer); zero bytes before
//! it are padding.

use crate::catalog::{Attr, RelInfo};
use replog_pgtype::varlena::varlena_len;

/// Offset of `t_bits` in `HeapTupleHeaderData`.
pub const T_BITS_OFFSET: usize = 23;
/// `HEAP_HASNULL` in `t_infomask`.
const HEAP_HASNULL: u16 = 0x0001;
/// `HEAP_NATTS_MASK` in `t_infomask2`.
const HEAP_NATTS_MASK: u16 = 0x07FF;

/// A tuple from a WAL record.
#[derive(Debug, Clone, Copy)]
pub struct HeapTuple<'a> {
    /// `t_infomask2`.
    pub infomask2: u16,
    /// `t_infomask`.
    pub infomask: u16,
    /// `t_hoff`.
    pub hoff: u8,
    /// From `t_bits` to the end of the tuple.
    pub bytes: &'a [u8],
}

/// One attribute's raw datum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datum<'a> {
    /// SQL NULL (null bitmap).
    Null,
    /// Not stored: the tuple was written before the column was added.
    Missing,
    /// A fixed-length value (`attlen` bytes, by value or by reference).
    Fixed(&'a [u8]),
    /// A varlena, header included (1-byte, 4-byte, compressed or a TOAST
    /// pointer).
    Varlena(&'a [u8]),
    /// A C string (`attlen` -2), without its terminating zero.
    CString(&'a [u8]),
}

fn align(off: usize, a: u8) -> usize {
    let a = usize::from(a.max(1));
    off.div_ceil(a) * a
}

impl<'a> HeapTuple<'a> {
    /// Reads `xl_heap_header` (5 bytes) and takes the rest as the tuple.
    pub fn from_header(b: &'a [u8]) -> Option<HeapTuple<'a>> {
        let h = b.get(..5)?;
        Some(HeapTuple {
            infomask2: u16::from_le_bytes([h[0], h[1]]),
            infomask: u16::from_le_bytes([h[2], h[3]]),
            hoff: h[4],
            bytes: &b[5..],
        })
    }

    /// A tuple as stored on a page (`HeapTupleHeaderData` and data).
    pub fn from_page_item(item: &'a [u8]) -> Option<HeapTuple<'a>> {
        if item.len() < T_BITS_OFFSET {
            return None;
        }
        Some(HeapTuple {
            infomask2: u16::from_le_bytes([item[18], item[19]]),
            infomask: u16::from_le_bytes([item[20], item[21]]),
            hoff: item[22],
            bytes: &item[T_BITS_OFFSET..],
        })
    }

    /// Number of attributes stored.
    pub fn natts(&self) -> usize {
        usize::from(self.infomask2 & HEAP_NATTS_MASK)
    }

    /// The user data (after the bitmap and padding).
    pub fn data(&self) -> Result<&'a [u8], String> {
        let start = usize::from(self.hoff)
            .checked_sub(T_BITS_OFFSET)
            .ok_or_else(|| format!("t_hoff {} is below the header size 23", self.hoff))?;
        self.bytes.get(start..).ok_or_else(|| {
            format!(
                "t_hoff {} is past the end of the {}-byte tuple",
                self.hoff,
                self.bytes.len() + T_BITS_OFFSET
            )
        })
    }

    /// Splits the tuple into one datum per attribute of `rel` (dropped
    /// attributes included, as [`Datum`]s the caller skips). Attributes
    /// past the tuple's count are [`Datum::Missing`].
    pub fn datums(&self, rel: &RelInfo, out: &mut Vec<Datum<'a>>) -> Result<(), String> {
        out.clear();
        let natts = self.natts();
        if natts > rel.attrs.len() {
            return Err(format!(
                "tuple has {natts} attributes, the catalog's {} has {}",
                rel.qualified_name(),
                rel.attrs.len()
            ));
        }
        let has_nulls = self.infomask & HEAP_HASNULL != 0;
        let bitmap_len = natts.div_ceil(8);
        if has_nulls && bitmap_len + T_BITS_OFFSET > usize::from(self.hoff) {
            return Err(format!(
                "null bitmap of {natts} attributes does not fit before t_hoff {}",
                self.hoff
            ));
        }
        let data = self.data()?;
        let mut off = 0usize;
        for (i, a) in rel.attrs.iter().enumerate() {
            if i >= natts {
                out.push(Datum::Missing);
                continue;
            }
            if has_nulls && self.bytes[i / 8] & (1 << (i % 8)) == 0 {
                out.push(Datum::Null);
                continue;
            }
            let (d, next) = read_attr(data, off, a).ok_or_else(|| {
                format!(
                    "attribute {} ({}) runs past the tuple's end (offset {off} of {})",
                    a.num,
                    a.name,
                    data.len()
                )
            })?;
            out.push(d);
            off = next;
        }
        Ok(())
    }
}

/// Reads the attribute at `off` (before alignment): the datum and the
/// offset after it.
fn read_attr<'a>(data: &'a [u8], off: usize, a: &Attr) -> Option<(Datum<'a>, usize)> {
    match a.len {
        -1 => {
            let at = if data.get(off).is_some_and(|&b| b != 0) {
                off
            } else {
                align(off, a.align)
            };
            let rest = data.get(at..)?;
            let len = varlena_len(rest)?;
            Some((Datum::Varlena(&rest[..len]), at + len))
        }
        -2 => {
            let at = align(off, a.align);
            let rest = data.get(at..)?;
            let nul = rest.iter().position(|&b| b == 0)?;
            Some((Datum::CString(&rest[..nul]), at + nul + 1))
        }
        n => {
            let n = usize::try_from(n).ok()?;
            let at = align(off, a.align);
            let b = data.get(at..at.checked_add(n)?)?;
            Some((Datum::Fixed(b), at + n))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz_support::fuzz_catalog;

    /// Builds a tuple as PostgreSQL lays it out: header fields, then from
    /// t_bits: the null bitmap, padding to t_hoff, the data.
    fn tuple(natts: u16, nulls: Option<&[u8]>, data: &[u8]) -> Vec<u8> {
        let bitmap = nulls.map_or(0, <[u8]>::len);
        let hoff = (T_BITS_OFFSET + bitmap).next_multiple_of(8);
        let mut b = Vec::new();
        b.extend_from_slice(&natts.to_le_bytes());
        b.extend_from_slice(&u16::from(nulls.is_some()).to_le_bytes());
        b.push(hoff as u8);
        b.extend_from_slice(nulls.unwrap_or(&[]));
        b.resize(5 + hoff - T_BITS_OFFSET, 0);
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn splits_by_alignment_null_bitmap_and_varlena_headers() {
        let cat = fuzz_catalog();
        let rel = &cat.relations[0];
        // id int4 = 7 | v text 'ab' (1-byte header 0x07) | n int8 NULL |
        // nm name | x dropped int2 | b bytea (4-byte header, 2-aligned pad)
        let mut data = Vec::new();
        data.extend_from_slice(&7i32.to_le_bytes());
        data.extend_from_slice(&[0x07, b'a', b'b']);
        let mut name = [0u8; 64];
        name[..3].copy_from_slice(b"abc");
        data.extend_from_slice(&name);
        data.push(0); // int2 alignment
        data.extend_from_slice(&(-3i16).to_le_bytes());
        data.extend_from_slice(&[0, 0]); // to 4-byte alignment: the 4-byte header
        data.extend_from_slice(&((6u32) << 2).to_le_bytes());
        data.extend_from_slice(&[1, 2]);
        let t = tuple(6, Some(&[0b0011_1011]), &data);
        let t = HeapTuple::from_header(&t).expect("header");
        let mut out = Vec::new();
        t.datums(rel, &mut out).expect("datums");
        assert_eq!(out[0], Datum::Fixed(&7i32.to_le_bytes()));
        assert_eq!(out[1], Datum::Varlena(&[0x07, b'a', b'b']));
        assert_eq!(out[2], Datum::Null);
        assert_eq!(out[3], Datum::Fixed(&name));
        assert_eq!(out[4], Datum::Fixed(&(-3i16).to_le_bytes()));
        let Datum::Varlena(v) = out[5] else {
            panic!("{:?}", out[5])
        };
        assert_eq!(v, &[24, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn attributes_past_the_stored_count_are_missing() {
        let cat = fuzz_catalog();
        let t = tuple(1, None, &5i32.to_le_bytes());
        let t = HeapTuple::from_header(&t).expect("header");
        let mut out = Vec::new();
        t.datums(&cat.relations[0], &mut out).expect("datums");
        assert_eq!(out.len(), 6);
        assert_eq!(out[0], Datum::Fixed(&5i32.to_le_bytes()));
        assert!(out[1..].iter().all(|d| *d == Datum::Missing));
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let cat = fuzz_catalog();
        let rel = &cat.relations[0];
        let mut out = Vec::new();
        // More attributes than the catalog knows.
        let t = tuple(9, None, &[0; 16]);
        let e = HeapTuple::from_header(&t)
            .expect("h")
            .datums(rel, &mut out)
            .unwrap_err();
        assert!(e.contains("9 attributes") && e.contains("public.f"), "{e}");
        // A varlena longer than the tuple.
        let mut data = 1i32.to_le_bytes().to_vec();
        data.push(0x7F);
        let t = tuple(2, None, &data);
        let e = HeapTuple::from_header(&t)
            .expect("h")
            .datums(rel, &mut out)
            .unwrap_err();
        assert!(e.contains("attribute 2 (v) runs past"), "{e}");
        // t_hoff below the header.
        let mut t = tuple(1, None, &[0; 4]);
        t[4] = 8;
        let e = HeapTuple::from_header(&t)
            .expect("h")
            .datums(rel, &mut out)
            .unwrap_err();
        assert!(e.contains("t_hoff 8"), "{e}");
    }

    #[test]
    fn fuzz_smoke() {
        let mut x: u64 = 0x1234_5678;
        for len in 0..2000usize {
            let mut b = Vec::with_capacity(len % 200);
            for _ in 0..len % 200 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.push(x as u8);
            }
            if b.len() > 5 {
                b[0] = (b[0] % 8) + 1;
                b[4] = 24 + (b[4] % 3) * 8;
            }
            crate::fuzz_support::fuzz_tuple(&b);
        }
    }
}
