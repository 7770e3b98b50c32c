//! Zero-copy reader for MySQL and MariaDB binary logs (format v4).
//!
//! - [`Events`] iterates over a binlog held in memory (a `&[u8]`, e.g. a
//!   memory map) and yields `Result<Event>`; it stops after the first error.
//!   Every error carries the absolute file offset.
//! - [`StreamReader`] reads from any `std::io::Read` with memory bounded by
//!   the largest event.
//! - [`RowsEvent::rows`] decodes row images lazily into
//!   [`replog_core::Value`]s using the preceding [`TableMap`].
//!
//! ```no_run
//! use replog_binlog::{Events, EventBody};
//! let data = std::fs::read("mysql-bin.000001").unwrap();
//! for ev in Events::new(&data).unwrap() {
//!     let ev = ev.unwrap();
//!     if let EventBody::Rows(rows) = ev.body() {
//!         for change in rows.rows() {
//!             println!("{} {:?}", ev.position(), change.unwrap());
//!         }
//!     }
//! }
//! ```
//!
//! The layouts are summarised in `formats/binlog.md` at the repository root.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod consts;
pub mod decimal;
pub mod events;
pub mod files;
/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
pub mod json;
pub(crate) mod rd;
pub mod reader;
pub mod rows;
pub mod table_map;
pub mod temporal;

pub use consts::type_name;
pub use events::{
    Event, EventBody, EventHeader, FormatDescription, Framing, GtidEvent, GtidListEvent,
    GtidSetEntry, MariaGtidEvent, QueryEvent, ReadOptions, StatusVar, TransactionPayloadEvent,
    frame_event,
};
pub use reader::{Events, StreamReader};
pub use rows::{Row, RowChange, RowIter, RowsEvent, RowsKind};
pub use table_map::{Column, Layout, TableMap};

/// The four bytes every binlog file starts with.
pub const MAGIC: [u8; 4] = [0xfe, 0x62, 0x69, 0x6e];

/// Whether `data` starts with the binlog magic `FE 62 69 6E`.
pub fn is_binlog(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// Module alias so callers can write `replog_binlog::binlog::is_binlog`.
pub mod binlog {
    pub use crate::is_binlog;
}
