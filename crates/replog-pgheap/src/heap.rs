//! Heap and Heap2 records → row changes with raw tuples.
//!
//! | record | main data | block 0 data |
//! |---|---|---|
//! | Heap INSERT (0x00) | `xl_heap_insert`: offnum u16, flags u8 | `xl_heap_header` + tuple |
//! | Heap DELETE (0x10) | `xl_heap_delete`: xmax u32, offnum u16, infobits u8, flags u8; then old key/tuple (`xl_heap_header` + tuple) | — |
//! | Heap UPDATE (0x20), HOT_UPDATE (0x40) | `xl_heap_update`: old_xmax u32, old_offnum u16, old_infobits u8, flags u8, new_xmax u32, new_offnum u16; then old key/tuple | [prefix u16] [suffix u16] `xl_heap_header` + new tuple (bitmap, then the data without prefix and suffix) |
//! | Heap TRUNCATE (0x30) | `xl_heap_truncate`: dbid u32, nrelids u32, flags u8, pad, relids u32[] | — |
//! | Heap2 MULTI_INSERT (0x50) | `xl_heap_multi_insert`: flags u8, pad, ntuples u16, offsets u16[] (absent with INIT_PAGE) | per tuple, 2-aligned: datalen u16, infomask2 u16, infomask u16, t_hoff u8, datalen bytes |
//!
//! When a block carries a full-page image and no data (the record data is
//! left out when the image is taken, unless the relation is logically
//! logged), the tuple is read from the restored image at its offset.
//! These layouts are the same in PostgreSQL 13 to 18.

use crate::tuple::HeapTuple;
use replog_pgwal::{Record, RelFileLocator, consts::rmgr};

/// `XLH_INSERT_CONTAINS_NEW_TUPLE`.
const XLH_INSERT_CONTAINS_NEW_TUPLE: u8 = 0x08;
/// `XLH_INSERT_IS_SPECULATIVE`.
const XLH_INSERT_IS_SPECULATIVE: u8 = 0x04;
/// `XLH_DELETE_CONTAINS_OLD_TUPLE`.
const XLH_DELETE_CONTAINS_OLD_TUPLE: u8 = 0x02;
/// `XLH_DELETE_CONTAINS_OLD_KEY`.
const XLH_DELETE_CONTAINS_OLD_KEY: u8 = 0x04;
/// `XLH_DELETE_IS_SUPER` (a speculative insertion killed).
const XLH_DELETE_IS_SUPER: u8 = 0x08;
/// `XLH_UPDATE_CONTAINS_OLD_TUPLE`.
const XLH_UPDATE_CONTAINS_OLD_TUPLE: u8 = 0x04;
/// `XLH_UPDATE_CONTAINS_OLD_KEY`.
const XLH_UPDATE_CONTAINS_OLD_KEY: u8 = 0x08;
/// `XLH_UPDATE_PREFIX_FROM_OLD`.
const XLH_UPDATE_PREFIX_FROM_OLD: u8 = 0x20;
/// `XLH_UPDATE_SUFFIX_FROM_OLD`.
const XLH_UPDATE_SUFFIX_FROM_OLD: u8 = 0x40;
/// `XLOG_HEAP_INIT_PAGE`.
const XLOG_HEAP_INIT_PAGE: u8 = 0x80;

/// A before-image from the record.
#[derive(Debug, Clone, Copy)]
pub struct OldTuple<'a> {
    /// Only the replica identity's columns are meaningful (the others are
    /// NULL in the tuple).
    pub key_only: bool,
    /// The tuple.
    pub tuple: HeapTuple<'a>,
}

/// One row change of a record, its tuples borrowed from the record (or
/// from a restored page).
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A new row.
    Insert {
        /// The relation file.
        rel: RelFileLocator,
        /// The row.
        new: HeapTuple<'a>,
        /// A speculative insertion (INSERT ... ON CONFLICT): its block and
        /// offset, which a super-delete names if the insertion loses.
        speculative: Option<(u32, u16)>,
        /// The record says it carries the tuple for logical decoding
        /// (`XLH_INSERT_CONTAINS_NEW_TUPLE`): always so for a user table's
        /// rows with `wal_level=logical`, except the copies a table rewrite
        /// writes (`HEAP_INSERT_NO_LOGICAL`), which are no row change.
        logical: bool,
    },
    /// A speculative insertion that lost (`XLH_DELETE_IS_SUPER`): the
    /// insert at this block and offset is not a change.
    SuperDelete {
        /// The relation file.
        rel: RelFileLocator,
        /// Block of the tuple.
        block: u32,
        /// Offset of the tuple.
        off: u16,
    },
    /// A changed row.
    Update {
        /// The relation file.
        rel: RelFileLocator,
        /// The before-image, per replica identity.
        old: Option<OldTuple<'a>>,
        /// The row after the change.
        new: HeapTuple<'a>,
        /// A HOT update.
        hot: bool,
    },
    /// A removed row.
    Delete {
        /// The relation file.
        rel: RelFileLocator,
        /// The before-image, per replica identity (`None` with replica
        /// identity NOTHING or `wal_level=replica`).
        old: Option<OldTuple<'a>>,
    },
    /// A row change of `rel` whose tuple is not in the record (left out
    /// for a full-page image that is absent, or compressed against the old
    /// row on a page the WAL range does not hold).
    Undecodable {
        /// The relation file.
        rel: RelFileLocator,
        /// Why.
        reason: &'static str,
    },
    /// Relations emptied.
    Truncate {
        /// The database OID.
        db: u32,
        /// `relids` as little-endian u32s.
        relids: &'a [u8],
        /// CASCADE.
        cascade: bool,
        /// RESTART IDENTITY.
        restart: bool,
    },
}

/// Decodes the row changes of a Heap or Heap2 record and hands each to
/// `f`. Other records give none. `page` is a reused buffer for restored
/// images. Errors say what is wrong (the caller adds the position).
pub fn changes<'r>(
    rec: &Record<'r>,
    page: &mut Vec<u8>,
    mut f: impl FnMut(Change<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let info = rec.header.info;
    match (rec.header.rmid, info & 0x70) {
        (rmgr::HEAP, 0x00) => insert(rec, page, &mut f),
        (rmgr::HEAP, 0x10) => delete(rec, &mut f),
        (rmgr::HEAP, op @ (0x20 | 0x40)) => update(rec, page, op == 0x40, &mut f),
        (rmgr::HEAP, 0x30) => {
            let d = rec.main_data();
            let n = u32_at(d, 4)? as usize;
            let flags = *d.get(8).ok_or("xl_heap_truncate: short")?;
            let relids = n
                .checked_mul(4)
                .and_then(|l| d.get(12..12 + l))
                .ok_or_else(|| format!("xl_heap_truncate: {n} relids do not fit"))?;
            f(Change::Truncate {
                db: u32_at(d, 0)?,
                relids,
                cascade: flags & 0x01 != 0,
                restart: flags & 0x02 != 0,
            })
        }
        (rmgr::HEAP2, 0x50) => multi_insert(rec, page, &mut f),
        _ => Ok(()),
    }
}

fn u16_at(d: &[u8], at: usize) -> Result<u16, String> {
    d.get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or_else(|| format!("main data of {} bytes too short", d.len()))
}

fn u32_at(d: &[u8], at: usize) -> Result<u32, String> {
    d.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("main data of {} bytes too short", d.len()))
}

/// The block with id 0.
fn block0<'r>(rec: &Record<'r>) -> Result<replog_pgwal::Block<'r>, String> {
    rec.block(0)
        .ok_or_else(|| "no block reference 0".to_string())
}

/// Restores the image of `b` into `page`; false when it has none.
fn restore(
    rec: &Record<'_>,
    b: &replog_pgwal::Block<'_>,
    page: &mut Vec<u8>,
) -> Result<bool, String> {
    let (Some(h), Some(stored)) = (&b.header.image, b.image) else {
        return Ok(false);
    };
    replog_pgwal::image::restore_page(h, stored, rec.block_size, page).map_err(|e| {
        format!(
            "full-page image of block {}: {}",
            b.header.block,
            e.message()
        )
    })?;
    Ok(true)
}

/// The tuple at line pointer `off` (1-based) of a restored page.
fn page_tuple(page: &[u8], off: u16) -> Result<HeapTuple<'_>, String> {
    let lp = 24 + 4 * (usize::from(off).checked_sub(1).ok_or("offset 0")?);
    let w = page
        .get(lp..lp + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("line pointer {off} past the page"))?;
    let (lp_off, flags, len) = ((w & 0x7FFF) as usize, (w >> 15) & 0x3, (w >> 17) as usize);
    if flags != 1 {
        return Err(format!(
            "line pointer {off} is not a normal item (flags {flags})"
        ));
    }
    let item = page
        .get(lp_off..lp_off + len)
        .ok_or_else(|| format!("item {off} past the page"))?;
    HeapTuple::from_page_item(item).ok_or_else(|| format!("item {off} shorter than a tuple header"))
}

fn insert(
    rec: &Record<'_>,
    page: &mut Vec<u8>,
    f: &mut impl FnMut(Change<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let d = rec.main_data();
    let off = u16_at(d, 0)?;
    let flags = *d.get(2).ok_or("xl_heap_insert: short")?;
    let b = block0(rec)?;
    let rel = b.header.rel;
    let speculative = (flags & XLH_INSERT_IS_SPECULATIVE != 0).then_some((b.header.block, off));
    if !b.data.is_empty() {
        let t = HeapTuple::from_header(b.data).ok_or("insert: tuple shorter than its header")?;
        return f(Change::Insert {
            rel,
            new: t,
            speculative,
            logical: flags & XLH_INSERT_CONTAINS_NEW_TUPLE != 0,
        });
    }
    if restore(rec, &b, page)? {
        let t = page_tuple(page, off)?;
        return f(Change::Insert {
            rel,
            new: t,
            speculative,
            logical: flags & XLH_INSERT_CONTAINS_NEW_TUPLE != 0,
        });
    }
    if flags & XLH_INSERT_CONTAINS_NEW_TUPLE != 0 {
        return Err("insert says it contains the tuple but block 0 has no data".to_string());
    }
    f(Change::Undecodable {
        rel,
        reason: "cannot decode: insert without the tuple or a page image (wal_level=replica?)",
    })
}

fn old_tuple(
    d: &[u8],
    at: usize,
    flags: u8,
    tuple_bit: u8,
    key_bit: u8,
) -> Result<Option<OldTuple<'_>>, String> {
    if flags & (tuple_bit | key_bit) == 0 {
        return Ok(None);
    }
    let t = d
        .get(at..)
        .and_then(HeapTuple::from_header)
        .ok_or("old tuple shorter than its header")?;
    Ok(Some(OldTuple {
        key_only: flags & tuple_bit == 0,
        tuple: t,
    }))
}

fn delete(
    rec: &Record<'_>,
    f: &mut impl FnMut(Change<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let d = rec.main_data();
    let flags = *d.get(7).ok_or("xl_heap_delete: short")?;
    let b = block0(rec)?;
    let rel = b.header.rel;
    if flags & XLH_DELETE_IS_SUPER != 0 {
        return f(Change::SuperDelete {
            rel,
            block: b.header.block,
            off: u16_at(d, 4)?,
        });
    }
    let old = old_tuple(
        d,
        8,
        flags,
        XLH_DELETE_CONTAINS_OLD_TUPLE,
        XLH_DELETE_CONTAINS_OLD_KEY,
    )?;
    f(Change::Delete { rel, old })
}

fn update(
    rec: &Record<'_>,
    page: &mut Vec<u8>,
    hot: bool,
    f: &mut impl FnMut(Change<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let d = rec.main_data();
    let flags = *d.get(7).ok_or("xl_heap_update: short")?;
    let new_off = u16_at(d, 12)?;
    let old = old_tuple(
        d,
        14,
        flags,
        XLH_UPDATE_CONTAINS_OLD_TUPLE,
        XLH_UPDATE_CONTAINS_OLD_KEY,
    )?;
    let b = block0(rec)?;
    let rel = b.header.rel;
    if !b.data.is_empty() {
        if flags & (XLH_UPDATE_PREFIX_FROM_OLD | XLH_UPDATE_SUFFIX_FROM_OLD) != 0 {
            return f(Change::Undecodable {
                rel,
                reason: "cannot decode: prefix/suffix-compressed update without a page image \
                         of the old row",
            });
        }
        let t =
            HeapTuple::from_header(b.data).ok_or("update: new tuple shorter than its header")?;
        return f(Change::Update {
            rel,
            old,
            new: t,
            hot,
        });
    }
    if restore(rec, &b, page)? {
        let t = page_tuple(page, new_off)?;
        return f(Change::Update {
            rel,
            old,
            new: t,
            hot,
        });
    }
    f(Change::Undecodable {
        rel,
        reason: "cannot decode: update without the new tuple or a page image (wal_level=replica?)",
    })
}

fn multi_insert(
    rec: &Record<'_>,
    page: &mut Vec<u8>,
    f: &mut impl FnMut(Change<'_>) -> Result<(), String>,
) -> Result<(), String> {
    let d = rec.main_data();
    let flags = *d.first().ok_or("xl_heap_multi_insert: short")?;
    let n = usize::from(u16_at(d, 2)?);
    let b = block0(rec)?;
    let rel = b.header.rel;
    if b.data.is_empty() {
        // The image replaced the data: the tuples are at the offsets given
        // (or 1..=n on a new page).
        if !restore(rec, &b, page)? {
            return f(Change::Undecodable {
                rel,
                reason: "cannot decode: multi-insert without the tuples or a page image \
                         (wal_level=replica?)",
            });
        }
        for i in 0..n {
            let off = if rec.header.info & XLOG_HEAP_INIT_PAGE != 0 {
                u16::try_from(i + 1).map_err(|_| "too many tuples")?
            } else {
                u16_at(d, 4 + 2 * i)?
            };
            f(Change::Insert {
                rel,
                new: page_tuple(page, off)?,
                speculative: None,
                logical: flags & XLH_INSERT_CONTAINS_NEW_TUPLE != 0,
            })?;
        }
        return Ok(());
    }
    let data = b.data;
    let mut at = 0usize;
    for i in 0..n {
        at = at.next_multiple_of(2);
        let h = data
            .get(at..at + 7)
            .ok_or_else(|| format!("multi-insert tuple {i} of {n}: header past the block data"))?;
        let len = usize::from(u16::from_le_bytes([h[0], h[1]]));
        let bytes = data.get(at + 7..at + 7 + len).ok_or_else(|| {
            format!("multi-insert tuple {i} of {n}: {len} bytes past the block data")
        })?;
        let t = HeapTuple {
            infomask2: u16::from_le_bytes([h[2], h[3]]),
            infomask: u16::from_le_bytes([h[4], h[5]]),
            hoff: h[6],
            bytes,
        };
        f(Change::Insert {
            rel,
            new: t,
            speculative: None,
            logical: flags & XLH_INSERT_CONTAINS_NEW_TUPLE != 0,
        })?;
        at += 7 + len;
    }
    Ok(())
}
