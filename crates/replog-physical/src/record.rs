//! Physical record layouts: decoding (zero-copy) and encoding.
//!
//! Every page record starts with the same 21-byte prefix:
//!
//! ```text
//! u8 type | u64 txid | u32 page | u64 prev_lsn
//! ```
//!
//! All integers are little-endian. See `formats/physical.md` for the diagrams.

use crate::page::{MAX_PAGE_SIZE, PAGE_LSN_LEN, is_valid_page_size};
use replog_core::codec::{self, Cursor};
use replog_core::{Error, ErrorKind, RecordView, Result};
use serde::Serialize;
use serde::ser::{SerializeSeq, SerializeStruct};
use std::fmt;

/// Record-type bytes of the physical format.
pub mod rtype {
    /// A full page image, optionally with a hole of zeros removed.
    pub const PAGE_IMAGE: u8 = 0x10;
    /// Byte ranges of a page replaced with new bytes.
    pub const PAGE_DELTA: u8 = 0x11;
    /// A page (re)initialised to zeros with a page type.
    pub const PAGE_INIT: u8 = 0x12;
    /// A page released to the free list (zeroed, page type 0).
    pub const PAGE_FREE: u8 = 0x13;
    /// Where recovery starts, and the store's allocation state.
    pub const CHECKPOINT: u8 = 0x14;
}

/// A page number meaning "no page" (for example, no catalog root yet).
/// Page records never name it.
pub const NO_PAGE: u32 = u32::MAX;

/// Length of the prefix shared by every page record
/// (`u8 type | u64 txid | u32 page | u64 prev_lsn`).
pub const PAGE_PREFIX_LEN: usize = 21;
/// Length of a PAGE_IMAGE body before the image bytes.
pub const IMAGE_HEADER_LEN: usize = PAGE_PREFIX_LEN + 12;
/// Length of a PAGE_DELTA body before its first range.
pub const DELTA_HEADER_LEN: usize = PAGE_PREFIX_LEN + 2;
/// Length of one delta range header (`u16 offset | u16 len`).
pub const RANGE_HEADER_LEN: usize = 4;
/// Length of a PAGE_INIT body.
pub const INIT_LEN: usize = PAGE_PREFIX_LEN + 1;
/// Length of a PAGE_FREE body.
pub const FREE_LEN: usize = PAGE_PREFIX_LEN;
/// Length of a CHECKPOINT body.
pub const CHECKPOINT_LEN: usize = 1 + 8 + 8 + 4 + 4 + 4;

/// The name of a physical record type byte (`"unknown"` when not defined).
pub fn type_name(t: u8) -> &'static str {
    match t {
        rtype::PAGE_IMAGE => "PAGE_IMAGE",
        rtype::PAGE_DELTA => "PAGE_DELTA",
        rtype::PAGE_INIT => "PAGE_INIT",
        rtype::PAGE_FREE => "PAGE_FREE",
        rtype::CHECKPOINT => "CHECKPOINT",
        _ => "unknown",
    }
}

/// The identity every page record carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageRef {
    /// Transaction that made the change (equals its BEGIN's txid).
    pub txid: u64,
    /// Page number, from 0; never [`NO_PAGE`].
    pub page: u32,
    /// The page's LSN before this change (0 for a page never written): a
    /// per-page chain like ARIES' pageLSN. Redo of a [`PageDelta`] requires
    /// the page to carry exactly this LSN.
    pub prev_lsn: u64,
}

/// PAGE_IMAGE (`0x10`): the whole page, with an optional hole of zeros left out.
///
/// `prefix | u32 hole_offset | u32 hole_len | u32 image_len | image`.
/// The page is `image[..hole_offset] ++ [0; hole_len] ++ image[hole_offset..]`,
/// so `image_len + hole_len` is the page size. The image is borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageImage<'a> {
    /// Absolute offset of the record's type byte when decoded (0 for a record
    /// built in memory; encoders ignore it). Redo errors point into the record.
    #[serde(skip)]
    pub offset: u64,
    /// Transaction, page and previous page LSN.
    #[serde(flatten)]
    pub page: PageRef,
    /// Where the hole starts, as an offset into the page (and into `image`).
    pub hole_offset: u32,
    /// Length of the hole; 0 for none (then `hole_offset` is 0 too).
    pub hole_len: u32,
    /// The page bytes without the hole.
    #[serde(serialize_with = "ser_bytes")]
    pub image: &'a [u8],
}

/// One byte range of a [`PageDelta`]: `u16 offset | u16 len | bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaRange<'a> {
    /// Offset within the page of the first byte replaced; at least 8 (the
    /// page LSN belongs to redo).
    pub offset: u16,
    /// The new bytes.
    pub data: &'a [u8],
}

/// The validated ranges of a [`PageDelta`], kept as the encoded bytes so that
/// decoding neither copies nor allocates.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeltaRanges<'a> {
    raw: &'a [u8],
    count: u16,
}

/// PAGE_DELTA (`0x11`): byte ranges of a page replaced with new bytes.
///
/// `prefix | u16 count | count × (u16 offset | u16 len | len bytes)`.
/// Ranges apply in order (a later range wins where two overlap). The decoder
/// checks each range against the largest page size (65,536) and the page LSN
/// field; [`crate::redo`] checks them against the real page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageDelta<'a> {
    /// Absolute offset of the record's type byte when decoded (0 for a record
    /// built in memory; encoders ignore it).
    #[serde(skip)]
    pub offset: u64,
    /// Transaction, page and previous page LSN.
    #[serde(flatten)]
    pub page: PageRef,
    /// The ranges.
    pub ranges: DeltaRanges<'a>,
}

/// PAGE_INIT (`0x12`): the page becomes zeros with `page_type` at offset 8.
///
/// `prefix | u8 page_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageInit {
    /// Absolute offset of the record's type byte when decoded.
    #[serde(skip)]
    pub offset: u64,
    /// Transaction, page and previous page LSN.
    #[serde(flatten)]
    pub page: PageRef,
    /// The store's page type; never 0 (which means a free page).
    pub page_type: u8,
}

/// PAGE_FREE (`0x13`): the page is released: zeros, page type 0.
///
/// `prefix` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageFree {
    /// Absolute offset of the record's type byte when decoded.
    #[serde(skip)]
    pub offset: u64,
    /// Transaction, page and previous page LSN.
    #[serde(flatten)]
    pub page: PageRef,
}

/// CHECKPOINT (`0x14`): where replay starts, and the allocation state of the
/// store at that point.
///
/// `u8 type | u64 redo_lsn | u64 next_txid | u32 page_count | u32 catalog_root | u32 free_list_head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// Absolute offset of the record's type byte when decoded.
    #[serde(skip)]
    pub offset: u64,
    /// Replay starts at this LSN: every change logged before it is in the
    /// page store, and no transaction still open began before it. A multiple
    /// of 8.
    pub redo_lsn: u64,
    /// The next transaction id the store will hand out.
    pub next_txid: u64,
    /// Pages allocated so far; the next new page is number `page_count`.
    pub page_count: u32,
    /// Root page of the store's catalog, or [`NO_PAGE`].
    pub catalog_root: u32,
    /// First page of the free list, or [`NO_PAGE`].
    pub free_list_head: u32,
}

/// A decoded physical record, borrowing from its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PhysicalRecord<'a> {
    /// PAGE_IMAGE.
    PageImage(PageImage<'a>),
    /// PAGE_DELTA.
    PageDelta(PageDelta<'a>),
    /// PAGE_INIT.
    PageInit(PageInit),
    /// PAGE_FREE.
    PageFree(PageFree),
    /// CHECKPOINT.
    Checkpoint(Checkpoint),
}

impl<'a> DeltaRanges<'a> {
    /// Number of ranges.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when there are no ranges.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded ranges (without the count).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Total number of new bytes in all ranges.
    pub fn data_len(&self) -> usize {
        self.raw.len() - self.len() * RANGE_HEADER_LEN
    }

    /// The ranges, in order.
    pub fn iter(&self) -> DeltaIter<'a> {
        DeltaIter {
            raw: self.raw,
            pos: 0,
        }
    }

    /// Validates `count` ranges at the start of `c`.
    fn parse(c: &mut Cursor<'a>, count: u16) -> Result<DeltaRanges<'a>> {
        let start = c.rest();
        for _ in 0..count {
            let at = c.offset();
            let off = c.u16("delta range offset")?;
            let len = c.u16("delta range length")?;
            if (off as usize) < PAGE_LSN_LEN {
                return Err(Error::malformed(
                    at,
                    format!("delta range at page offset {off} overlaps the page LSN (bytes 0..8)"),
                ));
            }
            if off as usize + len as usize > MAX_PAGE_SIZE {
                return Err(Error::malformed(
                    at + 2,
                    format!(
                        "delta range {off}+{len} ends past the largest page size ({MAX_PAGE_SIZE})"
                    ),
                ));
            }
            c.bytes(len as usize, "delta range bytes")?;
        }
        let used = start.len() - c.remaining();
        Ok(DeltaRanges {
            raw: start.get(..used).unwrap_or(&[]),
            count,
        })
    }
}

impl<'a> IntoIterator for DeltaRanges<'a> {
    type Item = DeltaRange<'a>;
    type IntoIter = DeltaIter<'a>;
    fn into_iter(self) -> DeltaIter<'a> {
        self.iter()
    }
}

impl fmt::Debug for DeltaRanges<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for DeltaRanges<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for r in self.iter() {
            seq.serialize_element(&RangeJson(r))?;
        }
        seq.end()
    }
}

struct RangeJson<'a>(DeltaRange<'a>);

impl Serialize for RangeJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("DeltaRange", 2)?;
        st.serialize_field("offset", &self.0.offset)?;
        st.serialize_field("data", &BytesJson(self.0.data))?;
        st.end()
    }
}

/// Iterator over the ranges of a [`PageDelta`]. Infallible: the ranges were
/// validated when the record was decoded (or encoded).
#[derive(Debug, Clone)]
pub struct DeltaIter<'a> {
    raw: &'a [u8],
    pos: usize,
}

impl<'a> DeltaIter<'a> {
    /// Position of the next range's header within the encoded ranges.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for DeltaIter<'a> {
    type Item = DeltaRange<'a>;
    fn next(&mut self) -> Option<DeltaRange<'a>> {
        let h = self.raw.get(self.pos..self.pos + RANGE_HEADER_LEN)?;
        let offset = u16::from_le_bytes([h[0], h[1]]);
        let len = u16::from_le_bytes([h[2], h[3]]) as usize;
        let start = self.pos + RANGE_HEADER_LEN;
        let data = self.raw.get(start..start + len)?;
        self.pos = start + len;
        Some(DeltaRange { offset, data })
    }
}

/// How page bytes look in JSON: length, CRC-32C and the first 16 bytes in hex.
struct BytesJson<'a>(&'a [u8]);

/// Bytes shown in a summary and in JSON.
const HEAD_LEN: usize = 16;

impl Serialize for BytesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let b = self.0;
        let mut st = s.serialize_struct("Bytes", 3)?;
        st.serialize_field("len", &b.len())?;
        st.serialize_field("crc32c", &format!("{:08x}", crc32c::crc32c(b)))?;
        let head = b.get(..HEAD_LEN).unwrap_or(b);
        st.serialize_field("head", &replog_core::segment::hex(head))?;
        st.end()
    }
}

fn ser_bytes<S: serde::Serializer>(b: &&[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    BytesJson(b).serialize(s)
}

fn page_prefix(c: &mut Cursor<'_>) -> Result<PageRef> {
    let txid = c.u64("txid")?;
    let page_at = c.offset();
    let page = c.u32("page number")?;
    if page == NO_PAGE {
        return Err(Error::malformed(
            page_at,
            "page number 0xffffffff is reserved (no page)",
        ));
    }
    let lsn_at = c.offset();
    let prev_lsn = c.u64("previous page LSN")?;
    if prev_lsn % 8 != 0 {
        return Err(Error::malformed(
            lsn_at,
            format!("previous page LSN {prev_lsn} is not a multiple of 8"),
        ));
    }
    Ok(PageRef {
        txid,
        page,
        prev_lsn,
    })
}

fn put_prefix(out: &mut Vec<u8>, t: u8, p: &PageRef) {
    out.push(t);
    codec::put_u64(out, p.txid);
    codec::put_u32(out, p.page);
    codec::put_u64(out, p.prev_lsn);
}

/// An error found while encoding: `at` is the offset within the body built so far.
#[cold]
fn encode_error(at: usize, msg: String) -> Error {
    Error::new(ErrorKind::Malformed, at as u64, msg)
}

fn check_prefix(p: &PageRef, start: usize) -> Result<()> {
    if p.page == NO_PAGE {
        return Err(encode_error(
            start + 9,
            "page number 0xffffffff is reserved (no page)".into(),
        ));
    }
    if p.prev_lsn % 8 != 0 {
        return Err(encode_error(
            start + 13,
            format!("previous page LSN {} is not a multiple of 8", p.prev_lsn),
        ));
    }
    Ok(())
}

impl<'a> PhysicalRecord<'a> {
    /// Decodes a body whose first byte (the record type) is at absolute
    /// `offset`. Never copies page bytes: images and ranges borrow `body`.
    pub fn decode(body: &'a [u8], offset: u64) -> Result<PhysicalRecord<'a>> {
        let mut c = Cursor::new(body, offset);
        let t = c.u8("record type")?;
        let rec = match t {
            rtype::PAGE_IMAGE => {
                let page = page_prefix(&mut c)?;
                let hole_at = c.offset();
                let hole_offset = c.u32("hole offset")?;
                let hole_len = c.u32("hole length")?;
                let len_at = c.offset();
                let image_len = c.u32("image length")?;
                let size = image_len as u64 + hole_len as u64;
                if !is_valid_page_size(size) {
                    return Err(Error::malformed(
                        len_at,
                        format!(
                            "image of {image_len} bytes plus a hole of {hole_len} makes {size}, \
                             not a page size (a power of two in 512..=65536)"
                        ),
                    ));
                }
                if hole_offset > image_len || (hole_len == 0 && hole_offset != 0) {
                    return Err(Error::malformed(
                        hole_at,
                        format!(
                            "hole offset {hole_offset} (hole length {hole_len}) does not fit an image of {image_len} bytes"
                        ),
                    ));
                }
                let image = c.bytes(image_len as usize, "page image")?;
                PhysicalRecord::PageImage(PageImage {
                    offset,
                    page,
                    hole_offset,
                    hole_len,
                    image,
                })
            }
            rtype::PAGE_DELTA => {
                let page = page_prefix(&mut c)?;
                let count = c.u16("delta range count")?;
                let ranges = DeltaRanges::parse(&mut c, count)?;
                PhysicalRecord::PageDelta(PageDelta {
                    offset,
                    page,
                    ranges,
                })
            }
            rtype::PAGE_INIT => {
                let page = page_prefix(&mut c)?;
                let at = c.offset();
                let page_type = c.u8("page type")?;
                if page_type == crate::page::PAGE_TYPE_FREE {
                    return Err(Error::malformed(
                        at,
                        "PAGE_INIT with page type 0 (use PAGE_FREE)",
                    ));
                }
                PhysicalRecord::PageInit(PageInit {
                    offset,
                    page,
                    page_type,
                })
            }
            rtype::PAGE_FREE => {
                let page = page_prefix(&mut c)?;
                PhysicalRecord::PageFree(PageFree { offset, page })
            }
            rtype::CHECKPOINT => {
                let at = c.offset();
                let redo_lsn = c.u64("redo LSN")?;
                if redo_lsn % 8 != 0 {
                    return Err(Error::malformed(
                        at,
                        format!("redo LSN {redo_lsn} is not a multiple of 8"),
                    ));
                }
                let next_txid = c.u64("next txid")?;
                let page_count = c.u32("page count")?;
                if page_count == NO_PAGE {
                    return Err(Error::malformed(
                        at + 16,
                        "page count 0xffffffff is too large",
                    ));
                }
                let root_at = c.offset();
                let catalog_root = c.u32("catalog root")?;
                if catalog_root != NO_PAGE && catalog_root >= page_count {
                    return Err(Error::malformed(
                        root_at,
                        format!(
                            "catalog root page {catalog_root} is not below the page count {page_count}"
                        ),
                    ));
                }
                let free_at = c.offset();
                let free_list_head = c.u32("free list head")?;
                if free_list_head != NO_PAGE && free_list_head >= page_count {
                    return Err(Error::malformed(
                        free_at,
                        format!(
                            "free list head page {free_list_head} is not below the page count {page_count}"
                        ),
                    ));
                }
                PhysicalRecord::Checkpoint(Checkpoint {
                    offset,
                    redo_lsn,
                    next_txid,
                    page_count,
                    catalog_root,
                    free_list_head,
                })
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    offset,
                    format!("unknown physical record type 0x{t:02x}"),
                ));
            }
        };
        c.finish(type_name(t))?;
        Ok(rec)
    }

    /// Appends the record's body (type byte first) to `out`.
    ///
    /// Checks what [`PhysicalRecord::decode`] checks, so that whatever encodes
    /// also decodes; an error's offset is relative to the start of this body.
    /// On error `out` is left as it was.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        replog_core::codec::all_or_nothing(out, |out| self.encode_inner(out))
    }

    fn encode_inner(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            PhysicalRecord::PageImage(r) => {
                check_prefix(&r.page, 0)?;
                let size = r.image.len() as u64 + r.hole_len as u64;
                if !is_valid_page_size(size) {
                    return Err(encode_error(
                        29,
                        format!(
                            "image of {} bytes plus a hole of {} is not a page size",
                            r.image.len(),
                            r.hole_len
                        ),
                    ));
                }
                if r.hole_offset as usize > r.image.len() || (r.hole_len == 0 && r.hole_offset != 0)
                {
                    return Err(encode_error(
                        21,
                        format!("hole offset {} does not fit the image", r.hole_offset),
                    ));
                }
                out.reserve(IMAGE_HEADER_LEN + r.image.len());
                put_prefix(out, rtype::PAGE_IMAGE, &r.page);
                codec::put_u32(out, r.hole_offset);
                codec::put_u32(out, r.hole_len);
                codec::put_bytes_u32(out, r.image);
            }
            PhysicalRecord::PageDelta(r) => {
                check_prefix(&r.page, 0)?;
                // Decoded ranges are valid by construction.
                put_prefix(out, rtype::PAGE_DELTA, &r.page);
                codec::put_u16(out, r.ranges.count);
                out.extend_from_slice(r.ranges.raw);
            }
            PhysicalRecord::PageInit(r) => {
                check_prefix(&r.page, 0)?;
                if r.page_type == crate::page::PAGE_TYPE_FREE {
                    return Err(encode_error(
                        21,
                        "PAGE_INIT with page type 0 (use PAGE_FREE)".into(),
                    ));
                }
                put_prefix(out, rtype::PAGE_INIT, &r.page);
                out.push(r.page_type);
            }
            PhysicalRecord::PageFree(r) => {
                check_prefix(&r.page, 0)?;
                put_prefix(out, rtype::PAGE_FREE, &r.page);
            }
            PhysicalRecord::Checkpoint(r) => {
                if r.redo_lsn % 8 != 0 {
                    return Err(encode_error(
                        1,
                        format!("redo LSN {} is not a multiple of 8", r.redo_lsn),
                    ));
                }
                if r.page_count == NO_PAGE {
                    return Err(encode_error(
                        17,
                        "page count 0xffffffff is too large".into(),
                    ));
                }
                if r.catalog_root != NO_PAGE && r.catalog_root >= r.page_count {
                    return Err(encode_error(
                        21,
                        "catalog root is not below the page count".into(),
                    ));
                }
                if r.free_list_head != NO_PAGE && r.free_list_head >= r.page_count {
                    return Err(encode_error(
                        25,
                        "free list head is not below the page count".into(),
                    ));
                }
                out.push(rtype::CHECKPOINT);
                codec::put_u64(out, r.redo_lsn);
                codec::put_u64(out, r.next_txid);
                codec::put_u32(out, r.page_count);
                codec::put_u32(out, r.catalog_root);
                codec::put_u32(out, r.free_list_head);
            }
        }
        Ok(())
    }

    /// The record as a new body.
    pub fn to_body(&self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.encode(&mut v)?;
        Ok(v)
    }

    /// The record-type byte.
    pub fn rtype(&self) -> u8 {
        match self {
            PhysicalRecord::PageImage(_) => rtype::PAGE_IMAGE,
            PhysicalRecord::PageDelta(_) => rtype::PAGE_DELTA,
            PhysicalRecord::PageInit(_) => rtype::PAGE_INIT,
            PhysicalRecord::PageFree(_) => rtype::PAGE_FREE,
            PhysicalRecord::Checkpoint(_) => rtype::CHECKPOINT,
        }
    }

    /// Transaction, page and previous LSN of a page record; `None` for a
    /// CHECKPOINT.
    pub fn page_ref(&self) -> Option<&PageRef> {
        match self {
            PhysicalRecord::PageImage(r) => Some(&r.page),
            PhysicalRecord::PageDelta(r) => Some(&r.page),
            PhysicalRecord::PageInit(r) => Some(&r.page),
            PhysicalRecord::PageFree(r) => Some(&r.page),
            PhysicalRecord::Checkpoint(_) => None,
        }
    }

    /// The page a page record changes.
    pub fn page(&self) -> Option<u32> {
        self.page_ref().map(|p| p.page)
    }

    /// The transaction of a page record.
    pub fn txid(&self) -> Option<u64> {
        self.page_ref().map(|p| p.txid)
    }

    /// Absolute offset of the record's type byte, as given to `decode`.
    pub fn offset(&self) -> u64 {
        match self {
            PhysicalRecord::PageImage(r) => r.offset,
            PhysicalRecord::PageDelta(r) => r.offset,
            PhysicalRecord::PageInit(r) => r.offset,
            PhysicalRecord::PageFree(r) => r.offset,
            PhysicalRecord::Checkpoint(r) => r.offset,
        }
    }
}

fn head_hex(b: &[u8]) -> String {
    let head = b.get(..8).unwrap_or(b);
    let mut s = replog_core::segment::hex(head);
    if b.len() > head.len() {
        s.push('…');
    }
    s
}

impl RecordView for PhysicalRecord<'_> {
    fn type_name(&self) -> &'static str {
        type_name(self.rtype())
    }

    fn summary(&self) -> String {
        match self {
            PhysicalRecord::PageImage(r) => {
                let p = &r.page;
                let mut s = format!(
                    "page={} txid={} prev_lsn={} image={} bytes",
                    p.page,
                    p.txid,
                    p.prev_lsn,
                    r.image.len()
                );
                if r.hole_len > 0 {
                    s.push_str(&format!(" hole={}+{}", r.hole_offset, r.hole_len));
                }
                s
            }
            PhysicalRecord::PageDelta(r) => {
                let p = &r.page;
                let mut s = format!(
                    "page={} txid={} prev_lsn={} ranges=",
                    p.page, p.txid, p.prev_lsn
                );
                for (i, d) in r.ranges.iter().enumerate() {
                    if i == 4 {
                        s.push_str(&format!(",… ({} ranges)", r.ranges.len()));
                        break;
                    }
                    if i > 0 {
                        s.push(',');
                    }
                    s.push_str(&format!(
                        "{}+{}:{}",
                        d.offset,
                        d.data.len(),
                        head_hex(d.data)
                    ));
                }
                s
            }
            PhysicalRecord::PageInit(r) => format!(
                "page={} txid={} prev_lsn={} page_type={}",
                r.page.page, r.page.txid, r.page.prev_lsn, r.page_type
            ),
            PhysicalRecord::PageFree(r) => {
                format!(
                    "page={} txid={} prev_lsn={}",
                    r.page.page, r.page.txid, r.page.prev_lsn
                )
            }
            PhysicalRecord::Checkpoint(r) => {
                let opt = |p: u32| {
                    if p == NO_PAGE {
                        "none".to_string()
                    } else {
                        p.to_string()
                    }
                };
                format!(
                    "redo_lsn={} next_txid={} page_count={} catalog_root={} free_list_head={}",
                    r.redo_lsn,
                    r.next_txid,
                    r.page_count,
                    opt(r.catalog_root),
                    opt(r.free_list_head)
                )
            }
        }
    }
}

/// Encodes a PAGE_DELTA from ranges given in memory (the store's write path).
///
/// Each range must start at page offset 8 or later, hold at most 65,535
/// bytes and end within 65,536; at most 65,535 ranges. An error's offset is
/// relative to the start of this body; on error `out` is left as it was.
pub fn encode_delta(out: &mut Vec<u8>, page: &PageRef, ranges: &[DeltaRange<'_>]) -> Result<()> {
    let start = out.len();
    check_prefix(page, 0)?;
    let count = u16::try_from(ranges.len()).map_err(|_| {
        encode_error(
            PAGE_PREFIX_LEN,
            format!("{} delta ranges (at most 65535)", ranges.len()),
        )
    })?;
    put_prefix(out, rtype::PAGE_DELTA, page);
    codec::put_u16(out, count);
    for r in ranges {
        let at = out.len() - start;
        let bad = if (r.offset as usize) < PAGE_LSN_LEN {
            Some(format!(
                "delta range at page offset {} overlaps the page LSN (bytes 0..8)",
                r.offset
            ))
        } else if r.data.len() > u16::MAX as usize
            || r.offset as usize + r.data.len() > MAX_PAGE_SIZE
        {
            Some(format!(
                "delta range {}+{} does not fit a page",
                r.offset,
                r.data.len()
            ))
        } else {
            None
        };
        if let Some(msg) = bad {
            out.truncate(start);
            return Err(encode_error(at, msg));
        }
        codec::put_u16(out, r.offset);
        codec::put_bytes_u16(out, r.data);
    }
    Ok(())
}

/// Encodes a PAGE_IMAGE of `page_bytes` (a whole page), leaving out the
/// longest run of zero bytes after the page header as the hole (when it is
/// longer than 16 bytes), as PostgreSQL does with the free space of a page.
pub fn encode_image(out: &mut Vec<u8>, page: &PageRef, page_bytes: &[u8]) -> Result<()> {
    let (hole_offset, hole_len) = find_hole(page_bytes);
    let (ho, hl) = (hole_offset as usize, hole_len as usize);
    if hl == 0 {
        let r = PageImage {
            offset: 0,
            page: *page,
            hole_offset: 0,
            hole_len: 0,
            image: page_bytes,
        };
        return PhysicalRecord::PageImage(r).encode(out);
    }
    // The hole lies within the page (find_hole), so only the page size and
    // the prefix need checking; the two parts are written without a copy of
    // the image in between.
    let image_len = page_bytes.len() - hl;
    if !is_valid_page_size(page_bytes.len() as u64) {
        return Err(encode_error(
            29,
            format!("a page of {} bytes is not a page size", page_bytes.len()),
        ));
    }
    check_prefix(page, 0)?;
    out.reserve(IMAGE_HEADER_LEN + image_len);
    put_prefix(out, rtype::PAGE_IMAGE, page);
    codec::put_u32(out, hole_offset);
    codec::put_u32(out, hole_len);
    codec::put_u32(out, image_len as u32);
    out.extend_from_slice(page_bytes.get(..ho).unwrap_or(&[]));
    out.extend_from_slice(page_bytes.get(ho + hl..).unwrap_or(&[]));
    Ok(())
}

/// The longest run of zeros in `page` from offset 16 (after the page header),
/// as `(offset, len)`; `(0, 0)` when no run is longer than 16 bytes.
pub fn find_hole(page: &[u8]) -> (u32, u32) {
    let mut best = (0usize, 0usize);
    let mut run_start = None;
    let from = crate::page::PAGE_HEADER_LEN.min(page.len());
    for i in from..=page.len() {
        let zero = page.get(i) == Some(&0);
        match (zero, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(s)) => {
                if i - s > best.1 {
                    best = (s, i - s);
                }
                run_start = None;
            }
            _ => {}
        }
    }
    if best.1 > 16 {
        (best.0 as u32, best.1 as u32)
    } else {
        (0, 0)
    }
}
