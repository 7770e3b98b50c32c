//! The one PostgreSQL type mapping of replog.
//!
//! - [`oid`]: built-in type OIDs and type modifiers → the logical format's
//!   [`PgType`] ([`column_type`]);
//! - [`text`]: PostgreSQL's text output form ↔ [`Value`] ([`from_text`],
//!   [`to_text`]); what test_decoding, wal2json and pgoutput in text mode
//!   carry;
//! - [`binary`]: pgoutput's binary columns (send/recv forms) → [`Value`]
//!   ([`from_binary`]);
//! - [`datum`]: heap tuples' on-disk datums → [`Value`] ([`from_datum`]),
//!   with [`varlena`] headers, TOAST pointers and [`pglz`] / lz4
//!   decompression.
//!
//! Which value kind each type holds is specified in `formats/logical.md`
//! section 3.2 and `formats/pgtypes.md`. Errors name the column and its type
//! and say what was wrong; callers add the byte offset and LSN.

pub mod binary;
pub mod datum;
/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
pub mod oid;
pub mod pglz;
pub mod text;
mod textout;
pub mod varlena;

pub use datum::{Datum, EnumLabels, Layout, NoEnums, from_datum, from_payload, layout};
pub use oid::{Builtin, builtin, column_type, column_type_or_enum, oids, type_name, type_oid};
pub use replog_core::value::Value;
pub use replog_logical::PgType;

use std::fmt;

/// A value that does not fit its column's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    /// The column's name.
    pub column: String,
    /// The column's type, as PostgreSQL spells it.
    pub ty: String,
    /// What was wrong.
    pub what: String,
}

impl TypeError {
    /// An error about column `column` of type `ty`.
    pub fn new(column: &str, ty: &PgType<'_>, what: impl Into<String>) -> TypeError {
        TypeError {
            column: column.to_string(),
            ty: ty.to_string(),
            what: what.into(),
        }
    }
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {} ({}): {}", self.column, self.ty, self.what)
    }
}

impl std::error::Error for TypeError {}

/// Parses the text output of a value of type `ty` in column `column`.
pub fn from_text<'a>(column: &str, ty: &PgType<'_>, text: &'a str) -> Result<Value<'a>, TypeError> {
    text::parse(column, ty, text)
}

/// Decodes the send form (pgoutput's binary columns) of a value of type
/// `ty` in column `column`.
pub fn from_binary<'a>(
    column: &str,
    ty: &PgType<'_>,
    bytes: &'a [u8],
) -> Result<Value<'a>, TypeError> {
    binary::parse(column, ty, bytes)
}

/// PostgreSQL's text output of a value of a PostgreSQL column.
pub fn to_text(v: &Value<'_>) -> String {
    let mut s = String::new();
    text::format(v, &mut s);
    s
}
