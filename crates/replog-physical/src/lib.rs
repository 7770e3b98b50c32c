//! replog's native **physical** WAL: page changes of the reference store.
//!
//! The log is a sequence of segments of frames (see `formats/framing.md`);
//! transactions are bracketed by the core BEGIN and COMMIT records, and this
//! crate defines the page records in between (see `formats/physical.md`):
//!
//! | type   | record                        | redo                                  |
//! |--------|-------------------------------|---------------------------------------|
//! | `0x10` | [`PageImage`] (`PAGE_IMAGE`)  | whole page, hole of zeros restored    |
//! | `0x11` | [`PageDelta`] (`PAGE_DELTA`)  | byte ranges replaced                  |
//! | `0x12` | [`PageInit`] (`PAGE_INIT`)    | zeros, page type set                  |
//! | `0x13` | [`PageFree`] (`PAGE_FREE`)    | zeros, page type 0                    |
//! | `0x14` | [`Checkpoint`] (`CHECKPOINT`) | none: tells recovery where to start   |
//!
//! Decoding borrows page bytes from the body (a 4 KiB image is never
//! copied), and every error names an absolute offset. [`redo`] applies one
//! record to one page buffer, idempotently by page LSN (the first 8 bytes of
//! every page; see [`page`]).
//!
//! ```
//! use replog_physical::{PageRef, PhysicalRecord, RedoOutcome, encode_delta, redo, DeltaRange};
//!
//! let mut body = Vec::new();
//! let page = PageRef { txid: 7, page: 3, prev_lsn: 0 };
//! encode_delta(&mut body, &page, &[DeltaRange { offset: 16, data: b"hello" }]).unwrap();
//!
//! // The body of a frame found at file offset 1000 (its LSN is 992 here).
//! let rec = PhysicalRecord::decode(&body, 1000).unwrap();
//! let mut buf = vec![0u8; 4096];
//! assert_eq!(redo(&rec, 992, &mut buf).unwrap(), RedoOutcome::Applied);
//! assert_eq!(&buf[16..21], b"hello");
//! assert_eq!(replog_physical::page::page_lsn(&buf), 992);
//! // Applying it again changes nothing.
//! assert_eq!(redo(&rec, 992, &mut buf).unwrap(), RedoOutcome::Skipped { page_lsn: 992 });
//! ```
#![deny(missing_docs)]

/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
pub mod page;
pub mod record;
mod sample;

pub use page::{RedoOutcome, redo};
pub use record::{
    Checkpoint, DeltaIter, DeltaRange, DeltaRanges, NO_PAGE, PageDelta, PageFree, PageImage,
    PageInit, PageRef, PhysicalRecord, encode_delta, encode_image, rtype,
};
pub use sample::{SAMPLE_LOG_ID, SAMPLE_SALT, sample_options, write_sample};

use replog_core::segment::SegmentHeader;
use replog_core::{Error, ErrorKind, Format, LogKind, Result};

/// The page-format version this crate reads and writes (see [`page`]).
pub const PAGE_FORMAT_VERSION: u16 = 1;

/// Offset of `page_size` (u32) in the segment header.
const HEADER_PAGE_SIZE_AT: u64 = 64;
/// Offset of `page_format` (u16) in the segment header.
const HEADER_PAGE_FORMAT_AT: u64 = 68;
/// Offset of the kind byte in the segment header.
const HEADER_KIND_AT: u64 = 8;

/// The physical format, for [`replog_core::Format`]-generic tools.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhysicalFormat;

impl Format for PhysicalFormat {
    const KIND: LogKind = LogKind::Physical;
    type Record<'a> = PhysicalRecord<'a>;

    fn decode(body: &[u8], offset: u64) -> Result<PhysicalRecord<'_>> {
        PhysicalRecord::decode(body, offset)
    }

    fn type_name(rtype: u8) -> &'static str {
        record::type_name(rtype)
    }

    /// Refuses a segment of another kind, a page-format version other than
    /// [`PAGE_FORMAT_VERSION`], or a page size that is not a power of two in
    /// 512..=65536. Offsets are those of the header fields in the segment.
    fn check_header(header: &SegmentHeader) -> Result<()> {
        check_header(header)
    }
}

/// See [`Format::check_header`] on [`PhysicalFormat`].
pub fn check_header(header: &SegmentHeader) -> Result<()> {
    if header.kind != LogKind::Physical {
        return Err(Error::new(
            ErrorKind::Mismatch,
            HEADER_KIND_AT,
            format!("segment holds a {} log, not a physical one", header.kind),
        ));
    }
    if header.page_format != PAGE_FORMAT_VERSION {
        return Err(Error::new(
            ErrorKind::Unsupported,
            HEADER_PAGE_FORMAT_AT,
            format!(
                "log was written for page format {}; this reader understands page format {PAGE_FORMAT_VERSION}",
                header.page_format
            ),
        ));
    }
    if !page::is_valid_page_size(header.page_size as u64) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            HEADER_PAGE_SIZE_AT,
            format!(
                "page size {} is not supported (a power of two from 512 to 65536 is required)",
                header.page_size
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
