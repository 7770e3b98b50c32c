//! The page-format contract shared by the log and the store, and the redo of
//! one record onto one page.
//!
//! Page-format version 1 ([`crate::PAGE_FORMAT_VERSION`]):
//!
//! ```text
//! 0          8      9            16                                page_size
//! | page LSN | type | reserved    | store-defined contents ...        |
//! | u64 LE   | u8   | 7 bytes     |                                   |
//! ```
//!
//! - bytes `0..8`: the **page LSN**, the LSN of the last record applied to the
//!   page (0 for a page never written). Only redo writes it; PAGE_DELTA ranges
//!   may not touch it, and the first 8 bytes of a PAGE_IMAGE are replaced by
//!   the record's LSN when applied.
//! - byte `8`: the page type; 0 is a free page (PAGE_FREE), anything else is
//!   the store's (set by PAGE_INIT).
//! - bytes `9..16`: reserved for the store's page header; the log treats them
//!   as content.
//!
//! Redo is idempotent: a record whose LSN is not greater than the page LSN is
//! skipped, so replaying a log twice, or from an earlier checkpoint, is safe.

use crate::record::{DELTA_HEADER_LEN, PhysicalRecord};
use replog_core::{Error, ErrorKind, Result};

/// Bytes of the page LSN at the start of every page.
pub const PAGE_LSN_LEN: usize = 8;
/// Offset of the page-type byte.
pub const PAGE_TYPE_OFFSET: usize = 8;
/// Length of the page header the log knows about (LSN, type, reserved).
pub const PAGE_HEADER_LEN: usize = 16;
/// The page type of a free page.
pub const PAGE_TYPE_FREE: u8 = 0;
/// The smallest page size.
pub const MIN_PAGE_SIZE: usize = 512;
/// The largest page size.
pub const MAX_PAGE_SIZE: usize = 65536;

/// True when `n` is a page size: a power of two in 512..=65536.
#[inline]
pub fn is_valid_page_size(n: u64) -> bool {
    n.is_power_of_two() && (MIN_PAGE_SIZE as u64..=MAX_PAGE_SIZE as u64).contains(&n)
}

/// The page LSN stored in the first 8 bytes of `page` (0 if `page` is shorter).
#[inline]
pub fn page_lsn(page: &[u8]) -> u64 {
    match page.first_chunk::<8>() {
        Some(b) => u64::from_le_bytes(*b),
        None => 0,
    }
}

/// Stores `lsn` as the page LSN of `page` (no-op if `page` is shorter than 8).
#[inline]
pub fn set_page_lsn(page: &mut [u8], lsn: u64) {
    if let Some(b) = page.first_chunk_mut::<8>() {
        *b = lsn.to_le_bytes();
    }
}

/// The page-type byte of `page` (0 if `page` is too short).
#[inline]
pub fn page_type(page: &[u8]) -> u8 {
    page.get(PAGE_TYPE_OFFSET)
        .copied()
        .unwrap_or(PAGE_TYPE_FREE)
}

/// What [`redo`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedoOutcome {
    /// The record was applied; the page LSN is now the record's LSN.
    Applied,
    /// The page already holds this change or a later one.
    Skipped {
        /// The page's LSN, which is at least the record's.
        page_lsn: u64,
    },
    /// The record changes no page (CHECKPOINT).
    NotAPageRecord,
}

/// Applies `record`, found at log position `lsn`, to `page`, a buffer of the
/// log's page size holding the current contents of page `record.page()`
/// (zeros for a page never written). The caller picks the buffer; redo does
/// not check the page number.
///
/// Rules (page-format version 1):
/// - a record with `lsn <= page_lsn(page)` is skipped;
/// - PAGE_IMAGE replaces the page (the hole becomes zeros); the image's
///   length plus hole must equal `page.len()`;
/// - PAGE_DELTA requires `page_lsn(page) == prev_lsn` (a smaller page LSN
///   means a change to this page is missing) and every range inside the
///   page; nothing is written unless every range fits;
/// - PAGE_INIT zeroes the page and sets the page type; PAGE_FREE zeroes it
///   (type 0);
/// - then the page LSN becomes `lsn`.
///
/// Errors carry the absolute offset of the offending field of the record
/// (from the offset it was decoded at): a page buffer that is not a page size
/// ([`ErrorKind::Mismatch`]), an image of the wrong size (`Mismatch`), a
/// delta range past the end of the page ([`ErrorKind::Malformed`]), a
/// previous-LSN gap ([`ErrorKind::Discontinuity`]).
pub fn redo(record: &PhysicalRecord<'_>, lsn: u64, page: &mut [u8]) -> Result<RedoOutcome> {
    let at = record.offset();
    if record.page_ref().is_none() {
        return Ok(RedoOutcome::NotAPageRecord);
    }
    if !is_valid_page_size(page.len() as u64) {
        return Err(Error::new(
            ErrorKind::Mismatch,
            at,
            format!(
                "page buffer of {} bytes is not a page size (a power of two in 512..=65536)",
                page.len()
            ),
        ));
    }
    let current = page_lsn(page);
    if lsn <= current {
        return Ok(RedoOutcome::Skipped { page_lsn: current });
    }
    match record {
        PhysicalRecord::PageImage(r) => {
            let size = r.image.len() + r.hole_len as usize;
            if size != page.len() {
                return Err(Error::new(
                    ErrorKind::Mismatch,
                    at + 29,
                    format!(
                        "PAGE_IMAGE of page {} is {size} bytes with its hole; the log's pages are {} bytes",
                        r.page.page,
                        page.len()
                    ),
                ));
            }
            let ho = r.hole_offset as usize;
            let hole_end = ho + r.hole_len as usize;
            // Sizes were checked: ho <= image.len() and image.len() + hole == page.len().
            let (before, after) = r.image.split_at(ho);
            if let Some(dst) = page.get_mut(..ho) {
                dst.copy_from_slice(before);
            }
            if let Some(dst) = page.get_mut(ho..hole_end) {
                dst.fill(0);
            }
            if let Some(dst) = page.get_mut(hole_end..) {
                dst.copy_from_slice(after);
            }
        }
        PhysicalRecord::PageDelta(r) => {
            if current != r.page.prev_lsn {
                return Err(Error::new(
                    ErrorKind::Discontinuity,
                    at + 13,
                    format!(
                        "PAGE_DELTA of page {} expects page LSN {} but the page has {current}: \
                         a change to this page is missing",
                        r.page.page, r.page.prev_lsn
                    ),
                ));
            }
            let mut it = r.ranges.iter();
            loop {
                let pos = it.position();
                let Some(d) = it.next() else { break };
                let end = d.offset as usize + d.data.len();
                if end > page.len() {
                    return Err(Error::malformed(
                        at + (DELTA_HEADER_LEN + pos) as u64,
                        format!(
                            "PAGE_DELTA range {}+{} of page {} ends past the page size {}",
                            d.offset,
                            d.data.len(),
                            r.page.page,
                            page.len()
                        ),
                    ));
                }
            }
            for d in r.ranges.iter() {
                let start = d.offset as usize;
                if let Some(dst) = page.get_mut(start..start + d.data.len()) {
                    dst.copy_from_slice(d.data);
                }
            }
        }
        PhysicalRecord::PageInit(r) => {
            page.fill(0);
            if let Some(b) = page.get_mut(PAGE_TYPE_OFFSET) {
                *b = r.page_type;
            }
        }
        PhysicalRecord::PageFree(_) => page.fill(0),
        PhysicalRecord::Checkpoint(_) => return Ok(RedoOutcome::NotAPageRecord),
    }
    set_page_lsn(page, lsn);
    Ok(RedoOutcome::Applied)
}
