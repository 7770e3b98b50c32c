//! Reader for PostgreSQL's write-ahead log: segment files of PostgreSQL 13
//! to 18, their pages and records, block references and full-page images.
//!
//! The reader checks what PostgreSQL's own reader checks — page magic,
//! flags and addresses, continuation lengths, record lengths, prev-links,
//! CRC-32C and block reference layout — and classifies damage as a torn
//! tail or corruption (a zeroed tail after the last record is the normal
//! end of a segment being written, not damage). Every error names the file,
//! the byte offset in it and the LSN. The layout is described in
//! `formats/pgwal.md`.
//!
//! ```no_run
//! use replog_pgwal::{WalReader, segment};
//!
//! let files = segment::list_directory("pg_wal".as_ref())?;
//! let mut reader = WalReader::open(&files);
//! while let Some(rec) = reader.next_record()? {
//!     // `rec` borrows from the reader: its bytes are not copied unless the
//!     // record straddles pages.
//!     println!("{} {} {} len {}", rec.lsn, rec.rmgr_name(), rec.record_type().unwrap_or("?"), rec.header.tot_len);
//!     for block in rec.blocks() {
//!         println!("  blkref #{}: rel {} blk {}", block.header.id, block.header.rel, block.header.block);
//!     }
//! }
//! println!("WAL ends at {}", reader.end().map(|e| e.lsn()).unwrap_or_default());
//! # Ok::<(), replog_pgwal::Error>(())
//! ```
#![deny(missing_docs)]

pub mod consts;
mod crc;
pub mod desc;
mod error;
/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
pub mod history;
pub mod image;
pub mod names;
pub mod parallel;
mod reader;
mod record;
pub mod segment;
pub mod stats;

pub use consts::{ImageCompression, PgVersion};
pub use error::{Error, ErrorKind, Result};
pub use reader::{SegmentInput, WalEnd, WalInfo, WalReader};
pub use record::{
    BlockHeader, ImageHeader, Lsn, PaddedLsn, RecordBody, RecordHeader, RelFileLocator,
    decode_record, record_crc,
};

/// One record, borrowed from the [`WalReader`] that read it.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// Where the record starts.
    pub lsn: Lsn,
    /// Where the next record starts (the end of the segment after
    /// XLOG_SWITCH).
    pub end: Lsn,
    /// The fixed header.
    pub header: RecordHeader,
    /// The whole record, header included (`xl_tot_len` bytes): see
    /// [`bytes`](Record::bytes).
    pub(crate) bytes: Bytes<'a>,
    /// Main data, origin, top-level xid and image total.
    pub body: RecordBody,
    /// Block references, in order.
    pub block_headers: &'a [BlockHeader],
    /// Version of the WAL.
    pub version: PgVersion,
    /// Page size (for restoring images).
    pub block_size: u32,
    /// Segment size of the WAL.
    pub segment_size: u32,
    /// File the record starts in.
    pub file: &'a str,
    /// Offset of its first byte in that file.
    pub offset: u64,
    /// Timeline of the segment file the record starts in (from its name;
    /// from the page header when the name is not a segment name).
    pub timeline: u32,
}

/// Where a record's bytes are.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bytes<'a> {
    /// In one piece.
    Whole(&'a [u8]),
    /// In pieces on consecutive pages of the reader's window, gathered into
    /// `cell` (from the reused buffer `spare`) when first asked for.
    Pieces {
        chunk: &'a [u8],
        pieces: &'a [std::ops::Range<usize>],
        cell: &'a std::cell::OnceCell<Vec<u8>>,
        spare: &'a std::cell::RefCell<Vec<u8>>,
    },
}

/// A block reference with its data and image bytes.
#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    /// The block header.
    pub header: &'a BlockHeader,
    /// The manager's data for the block.
    pub data: &'a [u8],
    /// The stored (possibly compressed, hole removed) image.
    pub image: Option<&'a [u8]>,
}

impl<'a> Record<'a> {
    /// The whole record, header included (`xl_tot_len` bytes).
    ///
    /// A record that lies within one page is a slice of the segment. One
    /// that straddles pages is copied together (into a buffer the reader
    /// reuses) only when this is first called for it: the header, block
    /// references, lengths and CRC of the record are known without it, so
    /// statistics and verification copy nothing. [`main_data`](Self::main_data),
    /// [`blocks`](Self::blocks) and [`describe`](Self::describe) call it.
    pub fn bytes(&self) -> &'a [u8] {
        match self.bytes {
            Bytes::Whole(b) => b,
            Bytes::Pieces {
                chunk,
                pieces,
                cell,
                spare,
            } => cell.get_or_init(|| {
                let mut v = std::mem::take(&mut *spare.borrow_mut());
                v.clear();
                for p in pieces {
                    v.extend_from_slice(&chunk[p.clone()]);
                }
                v
            }),
        }
    }

    /// The resource manager's name.
    pub fn rmgr_name(&self) -> std::borrow::Cow<'static, str> {
        names::rmgr_name(self.header.rmid)
    }

    /// The record type's name, `None` when unknown.
    pub fn record_type(&self) -> Option<&'static str> {
        names::record_type(self.version, self.header.rmid, self.header.info)
    }

    /// The main data.
    pub fn main_data(&self) -> &'a [u8] {
        let r = &self.body.main_data;
        &self.bytes()[r.start as usize..r.end as usize]
    }

    /// Length of the record without its full-page images (pg_waldump's
    /// "rec" length).
    pub fn rec_len(&self) -> u32 {
        self.header.tot_len - self.body.fpi_len
    }

    /// The block references with their bytes.
    pub fn blocks(&self) -> impl Iterator<Item = Block<'a>> + 'a {
        let bytes = self.bytes();
        self.block_headers.iter().map(move |h| Block {
            header: h,
            data: &bytes[h.data.start as usize..h.data.end as usize],
            image: h
                .image
                .as_ref()
                .map(|i| &bytes[i.range.start as usize..i.range.end as usize]),
        })
    }

    /// The block reference with id `id`.
    pub fn block(&self, id: u8) -> Option<Block<'a>> {
        self.blocks().find(|b| b.header.id == id)
    }

    /// The rmgr-specific description pg_waldump prints (without block
    /// references).
    pub fn describe(&self) -> String {
        let mut s = String::new();
        desc::describe(self, &mut s);
        s
    }
}
