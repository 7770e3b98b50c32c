//! replog's native **logical** (row-based) format, modelled on PostgreSQL's
//! pgoutput and MySQL's row events.
//!
//! A logical log is a sequence of transactions, each framed as
//! `BEGIN, record*, COMMIT` (BEGIN and COMMIT come from
//! [`replog_core::record`]). The records are:
//!
//! | type | record | content |
//! |------|--------|---------|
//! | 0x10 | [`Relation`] | relation id → `database.table`, schema version, columns with [`ColumnType`]s |
//! | 0x11 | [`Insert`] | relation id, new [`Tuple`] |
//! | 0x12 | [`Update`] | relation id, optional before-image (key-only or full), after tuple |
//! | 0x13 | [`Delete`] | relation id, before-image (key-only or full) |
//! | 0x14 | [`Truncate`] | relation ids |
//! | 0x15 | [`Ddl`] | database and DDL text |
//! | 0x16 | [`Message`] | application message |
//!
//! Decoding is zero-copy: a [`Tuple`] is a column count over the raw bytes
//! of its columns, and [`Tuple::values`] validates and yields them lazily
//! without allocating. The byte layout is specified in `formats/logical.md`.
//!
//! ```
//! use replog_logical::{Insert, LogicalRecord, TupleBuf, ColumnValue};
//! use replog_core::Value;
//!
//! let row = TupleBuf::from_values([Value::Int(1), Value::Text("widget".into()), Value::Null]).unwrap();
//! let mut body = Vec::new();
//! LogicalRecord::Insert(Insert { relation_id: 7, new: row.as_tuple() }).encode(&mut body).unwrap();
//!
//! let LogicalRecord::Insert(ins) = LogicalRecord::decode(&body, 0).unwrap() else { unreachable!() };
//! let values: Vec<_> = ins.new.values().collect::<Result<_, _>>().unwrap();
//! assert_eq!(values[1], ColumnValue::Value(Value::Text("widget".into())));
//! ```
#![deny(missing_docs)]

/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
mod record;
pub mod relation;
pub mod sample;
mod tuple;

pub use record::{
    Ddl, Delete, IMAGE_FULL, IMAGE_KEY, IMAGE_NONE, ImageKind, Insert, LogicalRecord,
    MESSAGE_TRANSACTIONAL, Message, OldImage, TRUNCATE_CASCADE, TRUNCATE_RESTART_IDENTITY,
    Truncate, Update,
};
pub use relation::{Column, ColumnType, PgType, Relation};
pub use tuple::{ColumnValue, Tuple, TupleBuf, TupleValues, UNCHANGED};

use replog_core::Result;
use replog_core::record::{Format, LogKind};

/// Record-type bytes of the logical format.
pub mod rtype {
    /// Binds a relation id to a table and its columns.
    pub const RELATION: u8 = 0x10;
    /// A new row.
    pub const INSERT: u8 = 0x11;
    /// A changed row.
    pub const UPDATE: u8 = 0x12;
    /// A removed row.
    pub const DELETE: u8 = 0x13;
    /// Every row of some relations removed.
    pub const TRUNCATE: u8 = 0x14;
    /// A schema change as SQL text.
    pub const DDL: u8 = 0x15;
    /// An application message.
    pub const MESSAGE: u8 = 0x16;
}

/// Name of a logical record type byte (`"unknown"` when not defined).
pub fn type_name(t: u8) -> &'static str {
    match t {
        rtype::RELATION => "RELATION",
        rtype::INSERT => "INSERT",
        rtype::UPDATE => "UPDATE",
        rtype::DELETE => "DELETE",
        rtype::TRUNCATE => "TRUNCATE",
        rtype::DDL => "DDL",
        rtype::MESSAGE => "MESSAGE",
        _ => "unknown",
    }
}

/// The logical format, for generic readers (`replog_core::Format`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogicalFormat;

impl Format for LogicalFormat {
    const KIND: LogKind = LogKind::Logical;
    type Record<'a> = LogicalRecord<'a>;

    #[inline]
    fn decode(body: &[u8], offset: u64) -> Result<LogicalRecord<'_>> {
        LogicalRecord::decode(body, offset)
    }

    fn type_name(rtype: u8) -> &'static str {
        type_name(rtype)
    }
}

#[cfg(test)]
mod tests;
