//! The Arrow schemas of change events: the generic `changes` table (every
//! table's changes, rows as JSON text) and one typed table per source table
//! (`before_<column>` / `after_<column>` in the column's own Arrow type).
//!
//! The column lists are specified in `formats/columnar.md`; a change here
//! changes that file.

pub use arrow::datatypes::SchemaRef;
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use replog_logical::{ColumnType, PgType};
use std::sync::Arc;

/// The time zone of every UTC timestamp column (`commit_time`, TIMESTAMP,
/// `timestamptz`), as an offset (a named zone needs arrow's chrono-tz
/// feature): Spark and DataFusion read such a column as instants.
pub const UTC: &str = "+00:00";

/// The metadata columns every change row starts with, in order: where the
/// change is, when it committed, which transaction, what it did to which
/// table. The generic table follows them with `key`, `before` and `after`
/// (JSON text); a typed table with its `before_*` and `after_*` columns.
pub fn metadata_fields() -> Vec<Field> {
    vec![
        Field::new("source_file", DataType::Utf8, false),
        Field::new("position", DataType::Utf8, false),
        Field::new("gtid", DataType::Utf8, true),
        Field::new("lsn", DataType::Int64, false),
        Field::new(
            "commit_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            false,
        ),
        Field::new("txid", DataType::Int64, false),
        Field::new("seq", DataType::Int32, false),
        Field::new("op", DataType::Utf8, false),
        Field::new("database_name", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
    ]
}

/// Number of [`metadata_fields`].
pub const METADATA_COLUMNS: usize = 10;

/// The generic `changes` table: metadata, then the primary key, the row
/// before and the row after as JSON objects (text; `null` when absent).
pub fn changes_schema() -> SchemaRef {
    let mut fields = metadata_fields();
    fields.push(Field::new("key", DataType::Utf8, true));
    fields.push(Field::new("before", DataType::Utf8, true));
    fields.push(Field::new("after", DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// How one source column's values become Arrow values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// Signed integers (and YEAR): Int64.
    Int,
    /// Unsigned integers, BIT, `oid`: UInt64.
    UInt,
    /// BOOLEAN: Boolean.
    Bool,
    /// FLOAT / `real`: Float32.
    F32,
    /// DOUBLE / `double precision`: Float64.
    F64,
    /// DECIMAL(p, s) / `numeric(p, s)` with p ≤ 38: Decimal128(p, s).
    Decimal(u8, i8),
    /// Binary strings: Binary.
    Bytes,
    /// DATE: Date32 (days since 1970-01-01).
    Date,
    /// DATETIME / `timestamp`: Timestamp(µs) without a time zone.
    LocalTime,
    /// TIMESTAMP / `timestamptz`: Timestamp(µs, UTC).
    UtcTime,
    /// Everything else: Utf8, the value's canonical text.
    Text,
}

impl Conv {
    /// The Arrow type of the column.
    pub fn data_type(self) -> DataType {
        match self {
            Conv::Int => DataType::Int64,
            Conv::UInt => DataType::UInt64,
            Conv::Bool => DataType::Boolean,
            Conv::F32 => DataType::Float32,
            Conv::F64 => DataType::Float64,
            Conv::Decimal(p, s) => DataType::Decimal128(p, s),
            Conv::Bytes => DataType::Binary,
            Conv::Date => DataType::Date32,
            Conv::LocalTime => DataType::Timestamp(TimeUnit::Microsecond, None),
            Conv::UtcTime => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            Conv::Text => DataType::Utf8,
        }
    }

    /// The conversion of a column declared as `ty`.
    pub fn of(ty: &ColumnType<'_>) -> Conv {
        match ty {
            ColumnType::TinyInt { unsigned }
            | ColumnType::SmallInt { unsigned }
            | ColumnType::MediumInt { unsigned }
            | ColumnType::Int { unsigned }
            | ColumnType::BigInt { unsigned } => {
                if *unsigned {
                    Conv::UInt
                } else {
                    Conv::Int
                }
            }
            ColumnType::Year => Conv::Int,
            ColumnType::Bit(_) => Conv::UInt,
            ColumnType::Boolean => Conv::Bool,
            ColumnType::Float => Conv::F32,
            ColumnType::Double => Conv::F64,
            ColumnType::Decimal { precision, scale } => {
                decimal(u16::from(*precision), (*scale).into())
            }
            ColumnType::Blob | ColumnType::Binary(_) | ColumnType::VarBinary(_) => Conv::Bytes,
            ColumnType::Date => Conv::Date,
            ColumnType::DateTime(_) => Conv::LocalTime,
            ColumnType::Timestamp(_) => Conv::UtcTime,
            ColumnType::Pg(p) => match p {
                PgType::Int2 | PgType::Int4 | PgType::Int8 => Conv::Int,
                PgType::Oid => Conv::UInt,
                PgType::Bool => Conv::Bool,
                PgType::Float4 => Conv::F32,
                PgType::Float8 => Conv::F64,
                PgType::Numeric(Some((p, s))) => decimal(*p, *s),
                PgType::Bytea => Conv::Bytes,
                PgType::Date => Conv::Date,
                PgType::Timestamp(_) => Conv::LocalTime,
                PgType::TimestampTz(_) => Conv::UtcTime,
                _ => Conv::Text,
            },
            _ => Conv::Text,
        }
    }
}

/// Decimal128 when it holds every value of DECIMAL(p, s), else text.
fn decimal(precision: u16, scale: i16) -> Conv {
    match (u8::try_from(precision), i8::try_from(scale)) {
        (Ok(p), Ok(s)) if (1..=38).contains(&p) && s >= 0 && i16::from(s) <= i16::from(p) => {
            Conv::Decimal(p, s)
        }
        _ => Conv::Text,
    }
}

/// The typed table of a relation whose columns are `columns` (name and
/// conversion): metadata, then `before_<name>` for every column, then
/// `after_<name>`; every value column is nullable (a row image may be
/// absent, key-only, or leave a column unchanged).
pub fn table_schema<'c>(columns: impl Iterator<Item = (&'c str, Conv)> + Clone) -> SchemaRef {
    let mut fields = metadata_fields();
    for side in ["before_", "after_"] {
        for (name, conv) in columns.clone() {
            fields.push(Field::new(format!("{side}{name}"), conv.data_type(), true));
        }
    }
    Arc::new(Schema::new(fields))
}
