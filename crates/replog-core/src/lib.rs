//! Shared foundations of replog's native log formats.
//!
//! - [`error`]: errors that carry absolute byte offsets;
//! - [`value`]: the lossless value model every format uses;
//! - [`codec`]: little-endian field readers and writers;
//! - [`segment`]: segment headers and file naming;
//! - [`record`]: transaction boundaries and the [`Format`] trait;
//! - [`frame`]: frames with salted CRC-32C and the zero-copy [`frame::FrameIter`];
//! - [`reader`]: the streaming [`reader::LogReader`] that classifies damage;
//! - [`txn`]: the one transaction assembler ([`txn::TxnReader`]) every
//!   consumer of whole committed transactions reads through;
//! - [`writer`]: single-segment and rotating directory writers;
//! - [`recovery`]: the recovery policies every reader takes;
//! - [`follow`]: reading logs that are still being written (`--follow`).
//!
//! The byte layouts are specified in `formats/framing.md`.
//!
//! ```
//! use replog_core::reader::{Event, LogReader, ReaderOptions};
//! use replog_core::writer::{LogWriter, WriterOptions};
//! use replog_core::{Begin, Commit, LogKind};
//!
//! // Write one transaction with one (format-defined) record.
//! let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Statement))?;
//! w.begin(&Begin { txid: 1, timestamp_us: 0, server_id: 1, origin: "" })?;
//! w.append(&[0x10, 0xAB])?;
//! w.commit(&Commit { txid: 1, timestamp_us: 0, state_before: None, state_after: None })?;
//! let mut bytes = w.finish()?;
//!
//! // Tear the last frame, as a crash during an append would.
//! bytes.truncate(bytes.len() - 3);
//! let mut r = LogReader::from_bytes(bytes, ReaderOptions::default());
//! let mut frames = 0;
//! while let Some(ev) = r.next() {
//!     match ev? {
//!         Event::Frame(_) => frames += 1,
//!         Event::Damage(d) => println!("{}", d.to_error()),
//!         Event::Segment { .. } => {}
//!     }
//! }
//! assert_eq!(frames, 2);
//! assert_eq!(r.summary().damage[0].class, replog_core::recovery::DamageClass::TornTail);
//! assert_eq!(r.summary().uncommitted.as_ref().map(|u| u.txid), Some(1));
//! # Ok::<(), replog_core::Error>(())
//! ```
#![deny(missing_docs)]

pub mod codec;
pub mod error;
pub mod record;
pub mod segment;
pub mod value;

pub use error::{Error, ErrorKind, Result};
pub use record::{Begin, Commit, Format, LogKind, Record, RecordView, TableRef};
pub use segment::SegmentHeader;
pub use value::Value;
pub mod follow;
pub mod frame;
/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
pub mod reader;
pub mod recovery;
pub mod txn;
pub mod writer;
