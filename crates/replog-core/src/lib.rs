//! Shared foundations of replog's native log formats.
//!
//! - [`error`]: errors that carry absolute byte offsets;
//! - [`value`]: the lossless value model every format uses;
//! - [`codec`]: little-endian field readers and writers;
//! - [`segment`]: segment headers and file naming;
//! - [`record`]: transaction boundaries and the [`Format`] trait.
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
pub mod frame;
pub mod reader;
pub mod recovery;
pub mod writer;
