//! Debezium's change events (3.x): the PostgreSQL connector's shape for
//! PostgreSQL tables, the MySQL connector's for MySQL/MariaDB tables, as
//! Kafka Connect's JSON converter writes them.
//!
//! One line per record: `{"topic":…,"key":…,"value":…}`, or the value
//! alone ([`Options::value_only`]). With schemas ([`Options::schemas`]) the
//! key and the value are the converter's `{"schema":…,"payload":…}`;
//! without, the payload alone.
//!
//! - a row change: key = the key columns (null for a table without one),
//!   value = the envelope `before`, `after`, `source`, `transaction`, `op`,
//!   `ts_ms`/`ts_us`/`ts_ns`; topic `<prefix>.<schema or database>.<table>`;
//! - a DELETE is followed by a tombstone (same key, null value) unless
//!   [`Options::tombstones`] is off; an UPDATE that changes the key is a
//!   DELETE of the old key, its tombstone and a CREATE of the new one, as
//!   the connectors emit it;
//! - TRUNCATE is op `t` with a null key (PostgreSQL's connector emits it
//!   once `skipped.operations` lets it through);
//! - with [`Options::transactions`] (`provide.transaction.metadata`), a
//!   BEGIN and an END record on `<prefix>.transaction` around each
//!   transaction's events, END with its counts per table, and each event's
//!   `transaction` block.
//!
//! **Every time comes from the log**: `source.ts_ms` (and `ts_us`,
//! `ts_ns`) is the commit time, as the connectors have it; the envelope's
//! own `ts_ms`, which Debezium sets to the time it processed the event, is
//! the commit time here too (an export has no processing time worth
//! keeping).
//!
//! The PostgreSQL shape is checked field for field against Debezium's own
//! output (`fixtures/debezium/`); the MySQL shape follows Debezium's
//! documentation (its data type mapping and the `source` fields), as no
//! MySQL server can run here. In the MySQL `source` block, `pos` is the
//! position of the transaction's first event (the GTID event; the binlog
//! source does not keep each row event's position) and `row` the change's
//! ordinal in its transaction; `thread` and `query` are null (the binlog
//! source does not carry them); the transaction id is the GTID.

use crate::error::Error;
use crate::event::{Change, ChangeSink, Op, PerTable, Position, Table, Txn, TxnCounts};
use crate::json;
use crate::pgtext::{self, Elem};
use replog_core::Value;
use replog_core::value::{Interval, NumericSpecial, pg};
use replog_logical::{ColumnType, ColumnValue, ImageKind, PgType, Tuple};
use std::io::Write;
use std::rc::Rc;

/// `decimal.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecimalMode {
    /// `org.apache.kafka.connect.data.Decimal`: the unscaled value's bytes
    /// in base64 (unconstrained `numeric`: `io.debezium.data.VariableScaleDecimal`).
    #[default]
    Precise,
    /// The decimal's text.
    String,
    /// A double (inexact).
    Double,
}

/// `time.precision.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePrecision {
    /// Milliseconds or microseconds by the column's precision
    /// (`io.debezium.time.Time`/`MicroTime`, `Timestamp`/`MicroTimestamp`);
    /// PostgreSQL's default.
    Adaptive,
    /// As adaptive, TIME always `MicroTime`; MySQL's default.
    AdaptiveTimeMicroseconds,
    /// Kafka Connect's own `Time`, `Date`, `Timestamp` (milliseconds).
    Connect,
}

/// What the Debezium writer writes.
#[derive(Debug, Clone)]
pub struct Options {
    /// `topic.prefix`: the topics' first part and `source.name`.
    pub prefix: String,
    /// `decimal.handling.mode`.
    pub decimal: DecimalMode,
    /// `time.precision.mode`; None: each connector's default (adaptive for
    /// PostgreSQL, adaptive_time_microseconds for MySQL).
    pub time: Option<TimePrecision>,
    /// The converter's `schemas.enable`: key and value as
    /// `{"schema":…,"payload":…}`.
    pub schemas: bool,
    /// A tombstone after each DELETE (`tombstones.on.delete`).
    pub tombstones: bool,
    /// BEGIN/END records and each event's `transaction` block
    /// (`provide.transaction.metadata`).
    pub transactions: bool,
    /// `source.db` of PostgreSQL events (pgoutput and WAL do not name the
    /// database).
    pub database: String,
    /// `source.version`.
    pub version: String,
    /// Write each record's value alone (tombstones as `null`), not
    /// `{"topic":…,"key":…,"value":…}`.
    pub value_only: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            prefix: "replog".into(),
            decimal: DecimalMode::Precise,
            time: None,
            schemas: true,
            tombstones: true,
            transactions: false,
            database: String::new(),
            version: concat!("replog-", env!("CARGO_PKG_VERSION")).into(),
            value_only: false,
        }
    }
}

/// The string Debezium puts where PostgreSQL did not send an unchanged
/// TOAST value (`unavailable.value.placeholder`).
pub const UNAVAILABLE: &str = "__debezium_unavailable_value";

/// How one column is written.
#[derive(Debug, Clone, PartialEq)]
enum Conv {
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Bool,
    /// A string, with its semantic name and parameters.
    Str(Option<&'static str>, Option<(&'static str, String)>),
    Bytes,
    /// `io.debezium.data.Bits` of `len` bits; `fixed`: MySQL's size
    /// (`ceil(len/8)` bytes) rather than PostgreSQL's (BitSet, minimal).
    Bits {
        len: u32,
        fixed: bool,
    },
    /// A bit(1) as a boolean (text `1`/`0`, or an integer).
    BitBool,
    /// A decimal of a fixed scale (`precision` None: no precision
    /// parameter, as `money`'s); `money`: the value is money's text.
    Decimal {
        precision: Option<u32>,
        scale: u32,
        money: bool,
    },
    /// PostgreSQL's unconstrained numeric.
    VarDecimal,
    /// Days since 1970.
    Date {
        connect: bool,
    },
    /// Time of day: µs (`MicroTime`), or ms (`Time`, or Connect's).
    Time {
        micros: bool,
        connect: bool,
    },
    /// A local timestamp: µs (`MicroTimestamp`) or ms.
    Timestamp {
        micros: bool,
        connect: bool,
    },
    /// An instant as ISO text in UTC, `digits` fraction digits.
    ZonedTimestamp {
        digits: u8,
    },
    /// A time with time zone as ISO text in UTC.
    ZonedTime,
    /// `io.debezium.time.MicroDuration`.
    Duration,
    /// `io.debezium.time.Year`.
    Year,
    /// A PostgreSQL array of the element.
    Array(Box<Conv>, Option<PgType<'static>>),
}

fn time_of(p: Option<u8>) -> u8 {
    p.unwrap_or(6)
}

impl Conv {
    fn of(ty: &ColumnType<'_>, o: &Options) -> Conv {
        match ty {
            ColumnType::Pg(t) => Conv::of_pg(t, o),
            _ => Conv::of_mysql(ty, o),
        }
    }

    fn decimal(o: &Options, precision: Option<u32>, scale: u32, money: bool) -> Conv {
        match o.decimal {
            DecimalMode::Precise => Conv::Decimal {
                precision,
                scale,
                money,
            },
            // The text (money's as a plain decimal) or a double: the value
            // decides, the schema is string / double.
            _ => Conv::Decimal {
                precision,
                scale,
                money,
            },
        }
    }

    fn of_pg(t: &PgType<'_>, o: &Options) -> Conv {
        let mode = o.time.unwrap_or(TimePrecision::Adaptive);
        let connect = mode == TimePrecision::Connect;
        match t {
            PgType::Int2 => Conv::Int16,
            PgType::Int4 => Conv::Int32,
            PgType::Int8 | PgType::Oid => Conv::Int64,
            PgType::Float4 => Conv::Float32,
            PgType::Float8 => Conv::Float64,
            PgType::Bool => Conv::Bool,
            PgType::Numeric(Some((p, s))) if *s >= 0 => {
                Conv::decimal(o, Some(u32::from(*p)), *s as u32, false)
            }
            PgType::Numeric(_) => Conv::VarDecimal,
            PgType::Money => Conv::decimal(o, None, 2, true),
            PgType::Bytea => Conv::Bytes,
            PgType::Date => Conv::Date { connect },
            PgType::Time(p) => Conv::Time {
                micros: !connect
                    && (mode == TimePrecision::AdaptiveTimeMicroseconds || time_of(*p) > 3),
                connect,
            },
            PgType::Timestamp(p) => Conv::Timestamp {
                micros: !connect && time_of(*p) > 3,
                connect,
            },
            PgType::TimestampTz(p) => Conv::ZonedTimestamp {
                digits: time_of(*p),
            },
            PgType::TimeTz(_) => Conv::ZonedTime,
            PgType::Interval(_) => Conv::Duration,
            PgType::Uuid => Conv::Str(Some("io.debezium.data.Uuid"), None),
            PgType::Json | PgType::Jsonb => Conv::Str(Some("io.debezium.data.Json"), None),
            PgType::Xml => Conv::Str(Some("io.debezium.data.Xml"), None),
            PgType::Bit(Some(1)) => Conv::BitBool,
            PgType::Bit(n) | PgType::VarBit(n) => Conv::Bits {
                len: n.unwrap_or(i32::MAX as u32),
                fixed: false,
            },
            PgType::Enum { labels, .. } => Conv::Str(
                Some("io.debezium.data.Enum"),
                Some(("allowed", labels.join(","))),
            ),
            PgType::Array(e) => {
                let elem = Conv::of_pg(e, o);
                Conv::Array(Box::new(elem), e.without_names())
            }
            plain => {
                debug_assert!(plain.is_plain_text(), "{plain:?}");
                Conv::Str(None, None)
            }
        }
    }

    fn of_mysql(ty: &ColumnType<'_>, o: &Options) -> Conv {
        let mode = o.time.unwrap_or(TimePrecision::AdaptiveTimeMicroseconds);
        let connect = mode == TimePrecision::Connect;
        match ty {
            ColumnType::TinyInt { .. } => Conv::Int16,
            ColumnType::SmallInt { unsigned: false } => Conv::Int16,
            ColumnType::SmallInt { unsigned: true } | ColumnType::MediumInt { .. } => Conv::Int32,
            ColumnType::Int { unsigned: false } => Conv::Int32,
            ColumnType::Int { unsigned: true } | ColumnType::BigInt { .. } => Conv::Int64,
            ColumnType::Decimal { precision, scale } => {
                Conv::decimal(o, Some(u32::from(*precision)), u32::from(*scale), false)
            }
            ColumnType::Float => Conv::Float32,
            ColumnType::Double => Conv::Float64,
            ColumnType::Char(_) | ColumnType::VarChar(_) | ColumnType::Text => {
                Conv::Str(None, None)
            }
            ColumnType::Blob
            | ColumnType::Binary(_)
            | ColumnType::VarBinary(_)
            | ColumnType::Other(_) => Conv::Bytes,
            ColumnType::Date => Conv::Date { connect },
            ColumnType::Time(p) => Conv::Time {
                micros: !connect && (mode == TimePrecision::AdaptiveTimeMicroseconds || *p > 3),
                connect,
            },
            ColumnType::DateTime(p) => Conv::Timestamp {
                micros: !connect && *p > 3,
                connect,
            },
            ColumnType::Timestamp(p) => Conv::ZonedTimestamp { digits: *p },
            ColumnType::Year => Conv::Year,
            ColumnType::Enum(labels) => Conv::Str(
                Some("io.debezium.data.Enum"),
                Some(("allowed", labels.join(","))),
            ),
            ColumnType::Set(labels) => Conv::Str(
                Some("io.debezium.data.EnumSet"),
                Some(("allowed", labels.join(","))),
            ),
            ColumnType::Bit(1) | ColumnType::Boolean => Conv::BitBool,
            ColumnType::Bit(n) => Conv::Bits {
                len: u32::from(*n),
                fixed: true,
            },
            ColumnType::Json => Conv::Str(Some("io.debezium.data.Json"), None),
            ColumnType::Pg(t) => Conv::of_pg(t, o),
        }
    }
}

/// The schema of one field (or array item, `field` None).
fn schema_of(out: &mut Vec<u8>, c: &Conv, o: &Options, optional: bool, field: Option<&str>) {
    let ty = |out: &mut Vec<u8>, t: &str| {
        out.extend_from_slice(b"{\"type\":");
        json::string(out, t);
    };
    let named = |out: &mut Vec<u8>, t: &str, name: &str| {
        ty(out, t);
        out.extend_from_slice(b",\"optional\":");
        out.extend_from_slice(if optional { b"true" } else { b"false" });
        out.extend_from_slice(b",\"name\":");
        json::string(out, name);
        out.extend_from_slice(b",\"version\":1");
    };
    let plain = |out: &mut Vec<u8>, t: &str| {
        ty(out, t);
        out.extend_from_slice(b",\"optional\":");
        out.extend_from_slice(if optional { b"true" } else { b"false" });
    };
    let var_decimal = |out: &mut Vec<u8>| {
        out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],\"optional\":");
        out.extend_from_slice(if optional { b"true" } else { b"false" });
        out.extend_from_slice(
            b",\"name\":\"io.debezium.data.VariableScaleDecimal\",\"version\":1,\"doc\":\"Variable scaled decimal\"",
        );
    };
    let connect = |out: &mut Vec<u8>, t: &str, name: &str| named(out, t, name);
    match c {
        Conv::Int16 => plain(out, "int16"),
        Conv::Int32 => plain(out, "int32"),
        Conv::Int64 => plain(out, "int64"),
        Conv::Float32 => plain(out, "float"),
        Conv::Float64 => plain(out, "double"),
        Conv::Bool | Conv::BitBool => plain(out, "boolean"),
        Conv::Str(None, _) => plain(out, "string"),
        Conv::Str(Some(name), param) => {
            named(out, "string", name);
            if let Some((k, v)) = param {
                out.extend_from_slice(b",\"parameters\":{");
                json::string(out, k);
                out.push(b':');
                json::string(out, v);
                out.push(b'}');
            }
        }
        Conv::Bytes => plain(out, "bytes"),
        Conv::Bits { len, .. } => {
            named(out, "bytes", "io.debezium.data.Bits");
            out.extend_from_slice(b",\"parameters\":{\"length\":");
            json::string(out, itoa::Buffer::new().format(*len));
            out.push(b'}');
        }
        Conv::Decimal {
            precision, scale, ..
        } => match o.decimal {
            DecimalMode::Precise => {
                named(out, "bytes", "org.apache.kafka.connect.data.Decimal");
                out.extend_from_slice(b",\"parameters\":{\"scale\":");
                json::string(out, itoa::Buffer::new().format(*scale));
                if let Some(p) = precision {
                    out.extend_from_slice(b",\"connect.decimal.precision\":");
                    json::string(out, itoa::Buffer::new().format(*p));
                }
                out.push(b'}');
            }
            DecimalMode::String => plain(out, "string"),
            DecimalMode::Double => plain(out, "double"),
        },
        Conv::VarDecimal => match o.decimal {
            DecimalMode::Precise => var_decimal(out),
            DecimalMode::String => plain(out, "string"),
            DecimalMode::Double => plain(out, "double"),
        },
        Conv::Date { connect: true } => connect(out, "int32", "org.apache.kafka.connect.data.Date"),
        Conv::Date { connect: false } => named(out, "int32", "io.debezium.time.Date"),
        Conv::Time { connect: true, .. } => {
            connect(out, "int32", "org.apache.kafka.connect.data.Time")
        }
        Conv::Time { micros: true, .. } => named(out, "int64", "io.debezium.time.MicroTime"),
        Conv::Time { .. } => named(out, "int32", "io.debezium.time.Time"),
        Conv::Timestamp { connect: true, .. } => {
            connect(out, "int64", "org.apache.kafka.connect.data.Timestamp")
        }
        Conv::Timestamp { micros: true, .. } => {
            named(out, "int64", "io.debezium.time.MicroTimestamp")
        }
        Conv::Timestamp { .. } => named(out, "int64", "io.debezium.time.Timestamp"),
        Conv::ZonedTimestamp { .. } => named(out, "string", "io.debezium.time.ZonedTimestamp"),
        Conv::ZonedTime => named(out, "string", "io.debezium.time.ZonedTime"),
        Conv::Duration => named(out, "int64", "io.debezium.time.MicroDuration"),
        Conv::Year => named(out, "int32", "io.debezium.time.Year"),
        Conv::Array(e, _) => {
            out.extend_from_slice(b"{\"type\":\"array\",\"items\":");
            schema_of(out, e, o, true, None);
            out.extend_from_slice(b",\"optional\":");
            out.extend_from_slice(if optional { b"true" } else { b"false" });
        }
    }
    if let Some(f) = field {
        out.extend_from_slice(b",\"field\":");
        json::string(out, f);
    }
    out.push(b'}');
}

/// A value that does not fit its column.
struct Bad(String);

type R<T = ()> = Result<T, Bad>;

fn bad<T>(what: impl Into<String>) -> R<T> {
    Err(Bad(what.into()))
}

/// µs since 1970 of a PostgreSQL timestamp (µs since 2000).
fn unix_us(t: i64) -> i64 {
    t.saturating_add(pg::EPOCH_MICROS_FROM_UNIX)
}

/// Floor division.
fn div_floor(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

/// Writes `HH:MM:SS[.f]` with the fraction as Java's ISO formatters do:
/// `digits` fixed digits, or (None) as few as needed, none when zero.
fn push_clock(out: &mut Vec<u8>, day_us: i64, digits: Option<u8>) {
    let s = day_us / 1_000_000;
    let frac = day_us % 1_000_000;
    let two = |out: &mut Vec<u8>, v: i64| {
        out.push(b'0' + (v / 10) as u8);
        out.push(b'0' + (v % 10) as u8);
    };
    two(out, s / 3600);
    out.push(b':');
    two(out, s / 60 % 60);
    out.push(b':');
    two(out, s % 60);
    let text = format!("{frac:06}");
    match digits {
        Some(0) => {}
        Some(d) => {
            out.push(b'.');
            out.extend_from_slice(&text.as_bytes()[..usize::from(d.min(6))]);
        }
        None if frac == 0 => {}
        None => {
            out.push(b'.');
            out.extend_from_slice(text.trim_end_matches('0').as_bytes());
        }
    }
}

/// `YYYY-MM-DD` of days since 1970 (years beyond 9999 with a sign, as
/// Java prints them).
fn push_date(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = replog_core::value::civil_from_days(days);
    if y > 9999 {
        out.push(b'+');
    }
    if y < 0 {
        out.extend_from_slice(format!("-{:04}", -y).as_bytes());
    } else {
        out.extend_from_slice(format!("{y:04}").as_bytes());
    }
    out.extend_from_slice(format!("-{m:02}-{d:02}").as_bytes());
}

/// PostgreSQL's `interval` as Debezium's MicroDuration: months at 365.25/12
/// days, computed in doubles in the connector's order.
fn micro_duration(iv: &Interval) -> i64 {
    const DAYS_PER_MONTH: f64 = 365.25 / 12.0;
    let hours = iv.micros / 3_600_000_000;
    let rest = iv.micros % 3_600_000_000;
    let minutes = rest / 60_000_000;
    let seconds = (rest % 60_000_000) as f64 / 1e6;
    let days = f64::from(iv.months) * DAYS_PER_MONTH + f64::from(iv.days);
    let secs = ((days * 24.0 + hours as f64) * 60.0 + minutes as f64) * 60.0 + seconds;
    (secs * 1e6) as i64
}

/// Writes the payload of one value.
fn value(out: &mut Vec<u8>, c: &Conv, v: &Value<'_>, o: &Options) -> R {
    if matches!(v, Value::Null) {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    match (c, v) {
        (Conv::Int16 | Conv::Int32 | Conv::Int64 | Conv::Year, Value::Int(i)) => json::int(out, *i),
        (Conv::Int16 | Conv::Int32 | Conv::Int64 | Conv::Year, Value::UInt(u)) => {
            // BIGINT UNSIGNED as a long (bigint.unsigned.handling.mode=long).
            json::int(out, *u as i64)
        }
        (Conv::Float32, Value::F32(f)) => json::f32(out, *f),
        (Conv::Float64, Value::F64(f)) => json::f64(out, *f),
        (Conv::Float64, Value::F32(f)) => json::f64(out, f64::from(*f)),
        (Conv::Bool, Value::Bool(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        (Conv::BitBool, Value::Bool(b)) => {
            out.extend_from_slice(if *b { b"true" } else { b"false" })
        }
        (Conv::BitBool, Value::Text(t)) => {
            out.extend_from_slice(if t.as_ref() == "1" { b"true" } else { b"false" })
        }
        (Conv::BitBool, Value::UInt(u)) => {
            out.extend_from_slice(if *u != 0 { b"true" } else { b"false" })
        }
        (Conv::BitBool, Value::Int(i)) => {
            out.extend_from_slice(if *i != 0 { b"true" } else { b"false" })
        }
        (
            Conv::Str(..),
            Value::Text(s) | Value::Enum(s) | Value::Set(s) | Value::Json(s) | Value::Decimal(s),
        ) => json::string(out, s),
        (Conv::Str(..), Value::Uuid(_)) => json::string(out, &v.to_string()),
        (Conv::Bytes, Value::Bytes(b)) => json::base64(out, b),
        (Conv::Bytes, Value::Text(t)) => json::base64(out, t.as_bytes()),
        (Conv::Bits { .. }, Value::Text(t)) => json::base64(out, &pgtext::bits_le(t).map_err(Bad)?),
        (Conv::Bits { len, .. }, Value::UInt(u)) => {
            let n = (*len as usize).div_ceil(8).min(8);
            json::base64(out, &u.to_le_bytes()[..n])
        }
        (
            Conv::Decimal {
                scale, money: true, ..
            },
            Value::Text(t),
        ) => {
            let d = pgtext::money_decimal(t).map_err(Bad)?;
            decimal(out, &d, Some(*scale), o)?
        }
        (Conv::Decimal { scale, .. }, Value::Decimal(d)) => decimal(out, d, Some(*scale), o)?,
        (Conv::VarDecimal, Value::Decimal(d)) => decimal(out, d, None, o)?,
        (Conv::Decimal { .. } | Conv::VarDecimal, Value::NumericSpecial(s)) => match o.decimal {
            DecimalMode::Double => json::f64(
                out,
                match s {
                    NumericSpecial::NaN => f64::NAN,
                    NumericSpecial::PosInfinity => f64::INFINITY,
                    NumericSpecial::NegInfinity => f64::NEG_INFINITY,
                },
            ),
            // The connector's names of the special values.
            DecimalMode::String => json::string(
                out,
                match s {
                    NumericSpecial::NaN => "NAN",
                    NumericSpecial::PosInfinity => "POSITIVE_INFINITY",
                    NumericSpecial::NegInfinity => "NEGATIVE_INFINITY",
                },
            ),
            // No unscaled integer: Debezium writes null.
            DecimalMode::Precise => out.extend_from_slice(b"null"),
        },
        // In the connector's int32 (±infinity wrap around, as its do).
        (Conv::Date { .. }, Value::PgDate(d)) => json::int(
            out,
            i64::from(d.wrapping_add(pg::EPOCH_DAYS_FROM_UNIX as i32)),
        ),
        (Conv::Date { .. }, Value::Date(d)) => json::int(
            out,
            replog_core::value::days_from_civil(
                i64::from(d.year),
                u32::from(d.month),
                u32::from(d.day),
            ),
        ),
        (Conv::Time { micros, .. }, Value::Time(t)) => {
            json::int(out, if *micros { *t } else { div_floor(*t, 1000) })
        }
        // ±infinity as the PostgreSQL JDBC driver's sentinels, which the
        // connector passes on unconverted.
        (Conv::Timestamp { micros, .. }, Value::PgTimestamp(pg::TS_POS_INFINITY)) => {
            json::int(out, 9_223_372_036_825_200 * if *micros { 1000 } else { 1 })
        }
        (Conv::Timestamp { micros, .. }, Value::PgTimestamp(pg::TS_NEG_INFINITY)) => {
            json::int(out, -9_223_372_036_832_400 * if *micros { 1000 } else { 1 })
        }
        (Conv::Timestamp { micros, .. }, Value::PgTimestamp(t)) => {
            let us = unix_us(*t);
            json::int(out, if *micros { us } else { div_floor(us, 1000) })
        }
        (Conv::Timestamp { micros, .. }, Value::DateTime(dt)) => {
            let days = replog_core::value::days_from_civil(
                i64::from(dt.date.year),
                u32::from(dt.date.month),
                u32::from(dt.date.day),
            );
            let us = (days * 86_400
                + i64::from(dt.hour) * 3600
                + i64::from(dt.minute) * 60
                + i64::from(dt.second))
                * 1_000_000
                + i64::from(dt.micro);
            json::int(out, if *micros { us } else { div_floor(us, 1000) })
        }
        (Conv::ZonedTimestamp { digits }, Value::PgTimestampTz(t) | Value::Timestamp(t)) => {
            let us = if matches!(v, Value::PgTimestampTz(_)) {
                if *t == pg::TS_POS_INFINITY {
                    json::string(out, "infinity");
                    return Ok(());
                }
                if *t == pg::TS_NEG_INFINITY {
                    json::string(out, "-infinity");
                    return Ok(());
                }
                unix_us(*t)
            } else {
                *t
            };
            out.push(b'"');
            push_date(out, div_floor(us, 86_400_000_000));
            out.push(b'T');
            push_clock(out, us.rem_euclid(86_400_000_000), Some(*digits));
            out.extend_from_slice(b"Z\"");
        }
        (Conv::ZonedTime, Value::TimeTz { micros, offset }) => {
            let utc = (micros - i64::from(*offset) * 1_000_000).rem_euclid(86_400_000_000);
            out.push(b'"');
            push_clock(out, utc, None);
            out.extend_from_slice(b"Z\"");
        }
        (Conv::Duration, Value::Interval(iv)) => json::int(out, micro_duration(iv)),
        (Conv::Array(e, ty), Value::Text(t)) => {
            let elems = pgtext::parse_array(t, b',').map_err(Bad)?;
            array(out, e, ty.as_ref(), &elems, o)?
        }
        (c, v) => return bad(format!("a {} value for a {c:?} column", v.kind_name())),
    }
    Ok(())
}

fn array(
    out: &mut Vec<u8>,
    e: &Conv,
    ty: Option<&PgType<'static>>,
    elems: &[Elem],
    o: &Options,
) -> R {
    out.push(b'[');
    for (i, el) in elems.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match el {
            Elem::Null => out.extend_from_slice(b"null"),
            Elem::Array(sub) => array(out, e, ty, sub, o)?,
            Elem::Text(t) => match ty {
                Some(ty) => {
                    let v = replog_pgtype::from_text("element", ty, t)
                        .map_err(|err| Bad(err.to_string()))?;
                    value(out, e, &v, o)?
                }
                None => json::string(out, t),
            },
        }
    }
    out.push(b']');
    Ok(())
}

fn decimal(out: &mut Vec<u8>, d: &str, scale: Option<u32>, o: &Options) -> R {
    match o.decimal {
        DecimalMode::String => json::string(out, d),
        DecimalMode::Double => match d.parse::<f64>() {
            Ok(f) => json::f64(out, f),
            Err(_) => return bad(format!("{d:?} is not a decimal")),
        },
        DecimalMode::Precise => match scale {
            Some(s) => json::base64(out, &pgtext::unscaled_bytes(d, s as usize).map_err(Bad)?),
            None => {
                // The connector drops trailing fraction zeros (never into
                // a negative scale): `7.000` is 7 at scale 0.
                let d = match d.split_once('.') {
                    Some((i, f)) => match f.trim_end_matches('0') {
                        "" => i,
                        f2 => &d[..i.len() + 1 + f2.len()],
                    },
                    None => d,
                };
                let d = if d == "-0" { "0" } else { d };
                let s = pgtext::scale_of(d);
                out.extend_from_slice(b"{\"scale\":");
                json::uint(out, s as u64);
                out.extend_from_slice(b",\"value\":");
                json::base64(out, &pgtext::unscaled_bytes(d, s).map_err(Bad)?);
                out.push(b'}');
            }
        },
    }
    Ok(())
}

/// What is prepared once per table.
struct Prepared {
    topic: Vec<u8>,
    data_collection: String,
    names: Vec<String>,
    convs: Vec<Conv>,
    keys: Vec<usize>,
    /// `"schema":<key schema>,"payload":` (with schemas), else empty.
    key_head: Vec<u8>,
    /// `"schema":<envelope schema>,"payload":`, else empty.
    value_head: Vec<u8>,
    postgres: bool,
}

impl Prepared {
    fn new(t: &Table, o: &Options) -> Prepared {
        let rel = t.relation();
        let convs: Vec<Conv> = rel.columns.iter().map(|c| Conv::of(&c.ty, o)).collect();
        let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        let keys = t.keys.clone();
        let topic_name = format!("{}.{}.{}", o.prefix, t.database, t.table);
        let mut topic = Vec::new();
        json::string(&mut topic, &topic_name);
        let mut key_head = Vec::new();
        let mut value_head = Vec::new();
        if o.schemas {
            key_head.extend_from_slice(b"\"schema\":{\"type\":\"struct\",\"fields\":[");
            for (n, &k) in keys.iter().enumerate() {
                if n > 0 {
                    key_head.push(b',');
                }
                schema_of(&mut key_head, &convs[k], o, false, Some(&names[k]));
            }
            key_head.extend_from_slice(b"],\"optional\":false,\"name\":");
            json::string(&mut key_head, &format!("{topic_name}.Key"));
            key_head.extend_from_slice(b"},\"payload\":");

            let mut row = Vec::new();
            row.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
            for (i, c) in convs.iter().enumerate() {
                if i > 0 {
                    row.push(b',');
                }
                let optional = t.columns[i].nullable;
                schema_of(&mut row, c, o, optional, Some(&names[i]));
            }
            row.extend_from_slice(b"],\"optional\":true,\"name\":");
            json::string(&mut row, &format!("{topic_name}.Value"));
            value_head.extend_from_slice(b"\"schema\":{\"type\":\"struct\",\"fields\":[");
            value_head.extend_from_slice(&row);
            value_head.extend_from_slice(b",\"field\":\"before\"},");
            value_head.extend_from_slice(&row);
            value_head.extend_from_slice(b",\"field\":\"after\"},");
            value_head.extend_from_slice(if t.postgres {
                PG_SOURCE_SCHEMA.as_bytes()
            } else {
                MYSQL_SOURCE_SCHEMA.as_bytes()
            });
            value_head.extend_from_slice(TAIL_SCHEMA.as_bytes());
            json::string(&mut value_head, &format!("{topic_name}.Envelope"));
            value_head.extend_from_slice(b",\"version\":2},\"payload\":");
        }
        Prepared {
            topic,
            data_collection: format!("{}.{}", t.database, t.table),
            names,
            convs,
            keys,
            key_head,
            value_head,
            postgres: t.postgres,
        }
    }
}

const PG_SOURCE_SCHEMA: &str = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":false,"field":"schema"},{"type":"string","optional":false,"field":"table"},{"type":"int64","optional":true,"field":"txId"},{"type":"int64","optional":true,"field":"lsn"},{"type":"int64","optional":true,"field":"xmin"},{"type":"string","optional":true,"field":"origin"},{"type":"int64","optional":true,"field":"origin_lsn"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"},"#;

const MYSQL_SOURCE_SCHEMA: &str = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},{"type":"string","optional":true,"field":"table"},{"type":"int64","optional":false,"field":"server_id"},{"type":"string","optional":true,"field":"gtid"},{"type":"string","optional":false,"field":"file"},{"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"},{"type":"int64","optional":true,"field":"thread"},{"type":"string","optional":true,"field":"query"}],"optional":false,"name":"io.debezium.connector.mysql.Source","version":1,"field":"source"},"#;

const TAIL_SCHEMA: &str = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"},{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":"#;

const TX_KEY_SCHEMA: &str = r#""schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataKey","version":1},"payload":"#;

const TX_VALUE_SCHEMA: &str = r#""schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"status"},{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":true,"field":"event_count"},{"type":"array","items":{"type":"struct","fields":[{"type":"string","optional":false,"field":"data_collection"},{"type":"int64","optional":false,"field":"event_count"}],"optional":true,"name":"event.collection","version":1},"optional":true,"field":"data_collections"},{"type":"int64","optional":false,"field":"ts_ms"}],"optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue","version":1},"payload":"#;

/// Writes Debezium records as NDJSON (see the module docs).
pub struct Debezium<W: Write> {
    out: json::Lines<W>,
    o: Options,
    tables: PerTable<Prepared>,
    line: Vec<u8>,
    /// The key of the change being written.
    scratch: Vec<u8>,
    /// Its value.
    value_buf: Vec<u8>,
    /// The END LSN of the previous transaction (PostgreSQL's
    /// `sequence[0]`, the last commit LSN).
    last_commit: Option<u64>,
    /// Events of the open transaction (`total_order`).
    total: u64,
    /// Per table of the open transaction: (serial, events so far).
    per_table: Vec<(usize, u64)>,
    /// Whether the open transaction's BEGIN was written.
    begun: bool,
}

impl<W: Write> Debezium<W> {
    /// A writer of records to `out`.
    pub fn new(out: W, o: Options) -> Debezium<W> {
        Debezium {
            out: json::Lines::new(out),
            o,
            tables: PerTable::default(),
            line: Vec::with_capacity(4096),
            scratch: Vec::new(),
            value_buf: Vec::new(),
            last_commit: None,
            total: 0,
            per_table: Vec::new(),
            begun: false,
        }
    }

    /// Records written so far (tombstones and transaction records
    /// included).
    pub fn records(&self) -> u64 {
        self.out.written()
    }

    /// The output, flushed.
    pub fn finish(self) -> std::io::Result<W> {
        self.out.finish()
    }

    fn prepared(&mut self, t: &Rc<Table>) -> usize {
        let o = &self.o;
        self.tables.prepare(t, |t| Prepared::new(t, o))
    }

    /// Writes one record: `topic`, key (`None`: null) and value (`None`:
    /// a tombstone), each already rendered with its schema head.
    fn emit(
        &mut self,
        topic: &[u8],
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> std::io::Result<()> {
        self.line.clear();
        if self.o.value_only {
            self.line.extend_from_slice(value.unwrap_or(b"null"));
        } else {
            self.line.extend_from_slice(b"{\"topic\":");
            self.line.extend_from_slice(topic);
            self.line.extend_from_slice(b",\"key\":");
            self.line.extend_from_slice(key.unwrap_or(b"null"));
            self.line.extend_from_slice(b",\"value\":");
            self.line.extend_from_slice(value.unwrap_or(b"null"));
            self.line.push(b'}');
        }
        self.out.write(&mut self.line)
    }

    fn tx_id(tx: &Txn<'_>, lsn: u64) -> String {
        match tx.position {
            Position::Binlog { gtid: Some(g), .. } => g.to_string(),
            Position::Binlog { file, pos, .. } => format!("file={file},pos={pos}"),
            _ => format!("{}:{lsn}", tx.txid()),
        }
    }

    fn tx_record(
        &mut self,
        tx: &Txn<'_>,
        id: &str,
        end: Option<&TxnCounts<'_>>,
    ) -> Result<(), Error> {
        let mut topic = Vec::new();
        json::string(&mut topic, &format!("{}.transaction", self.o.prefix));
        let mut key = Vec::new();
        let mut value = Vec::new();
        if self.o.schemas {
            key.extend_from_slice(b"{");
            key.extend_from_slice(TX_KEY_SCHEMA.as_bytes());
            value.extend_from_slice(b"{");
            value.extend_from_slice(TX_VALUE_SCHEMA.as_bytes());
        }
        key.extend_from_slice(b"{\"id\":");
        json::string(&mut key, id);
        key.push(b'}');
        value.extend_from_slice(b"{\"status\":");
        json::string(&mut value, if end.is_some() { "END" } else { "BEGIN" });
        value.extend_from_slice(b",\"id\":");
        json::string(&mut value, id);
        match end {
            None => value.extend_from_slice(b",\"event_count\":null,\"data_collections\":null"),
            Some(c) => {
                value.extend_from_slice(b",\"event_count\":");
                json::uint(&mut value, self.total);
                value.extend_from_slice(b",\"data_collections\":[");
                let mut names: Vec<(String, u64)> = Vec::new();
                for (t, n) in c.tables {
                    let s = self.prepared(t);
                    let name = self
                        .tables
                        .get(s)
                        .map(|p| p.data_collection.clone())
                        .unwrap_or_default();
                    // Debezium counts emitted events: a key change is two.
                    let n = self
                        .per_table
                        .iter()
                        .find(|(x, _)| *x == s)
                        .map_or(*n, |(_, k)| *k);
                    names.push((name, n));
                }
                for (i, (name, n)) in java_hash_order(names).into_iter().enumerate() {
                    if i > 0 {
                        value.push(b',');
                    }
                    value.extend_from_slice(b"{\"data_collection\":");
                    json::string(&mut value, &name);
                    value.extend_from_slice(b",\"event_count\":");
                    json::uint(&mut value, n);
                    value.push(b'}');
                }
                value.push(b']');
            }
        }
        value.extend_from_slice(b",\"ts_ms\":");
        json::int(&mut value, div_floor(tx.commit_time_us(), 1000));
        value.push(b'}');
        if self.o.schemas {
            key.push(b'}');
            value.push(b'}');
        }
        self.emit(&topic, Some(&key), Some(&value))?;
        Ok(())
    }

    /// Renders the key of row `t` (its key columns) into `scratch`.
    fn key(&mut self, s: usize, row: &Tuple<'_>, lsn: u64) -> Result<bool, Error> {
        let p = self.tables.get(s).expect("prepared");
        self.scratch.clear();
        if p.keys.is_empty() {
            return Ok(false);
        }
        if self.o.schemas {
            self.scratch.push(b'{');
            self.scratch.extend_from_slice(&p.key_head);
        }
        self.scratch.push(b'{');
        let mut k = 0;
        for (i, v) in row.values().enumerate() {
            let v = v?;
            if p.keys.get(k) != Some(&i) {
                continue;
            }
            if k > 0 {
                self.scratch.push(b',');
            }
            k += 1;
            json::string(&mut self.scratch, &p.names[i]);
            self.scratch.push(b':');
            match v {
                ColumnValue::Value(v) => value(&mut self.scratch, &p.convs[i], &v, &self.o)
                    .map_err(|Bad(what)| value_error(p, i, what, lsn))?,
                ColumnValue::Unchanged => self.scratch.extend_from_slice(b"null"),
            }
        }
        self.scratch.push(b'}');
        if self.o.schemas {
            self.scratch.push(b'}');
        }
        Ok(true)
    }

    /// One envelope.
    #[allow(clippy::too_many_arguments)]
    fn envelope(
        &mut self,
        tx: &Txn<'_>,
        c: &Change<'_>,
        s: usize,
        op: &str,
        before: Option<(&Tuple<'_>, bool)>,
        after: Option<&Tuple<'_>>,
        key: Option<&Tuple<'_>>,
    ) -> Result<(), Error> {
        let has_key = match key {
            Some(k) => self.key(s, k, c.lsn)?,
            None => false,
        };
        let mut v = std::mem::take(&mut self.value_buf);
        v.clear();
        let p = self.tables.get(s).expect("prepared");
        if self.o.schemas {
            v.push(b'{');
            v.extend_from_slice(&p.value_head);
        }
        v.extend_from_slice(b"{\"before\":");
        match before {
            None => v.extend_from_slice(b"null"),
            Some((row, _)) => row_json(&mut v, p, row, &self.o, c.lsn, false)?,
        }
        v.extend_from_slice(b",\"after\":");
        match after {
            None => v.extend_from_slice(b"null"),
            Some(row) => row_json(&mut v, p, row, &self.o, c.lsn, true)?,
        }
        v.extend_from_slice(b",\"source\":");
        let commit_us = tx.commit_time_us();
        let version = &self.o.version;
        v.extend_from_slice(b"{\"version\":");
        json::string(&mut v, version);
        v.extend_from_slice(if p.postgres {
            b",\"connector\":\"postgresql\",\"name\":"
        } else {
            b",\"connector\":\"mysql\",\"name\":"
        });
        json::string(&mut v, &self.o.prefix);
        v.extend_from_slice(b",\"ts_ms\":");
        json::int(&mut v, div_floor(commit_us, 1000));
        v.extend_from_slice(b",\"snapshot\":");
        v.extend_from_slice(if c.op == Op::Read {
            b"\"true\""
        } else {
            b"\"false\""
        });
        v.extend_from_slice(b",\"db\":");
        let table = c.table.expect("a row change has a table");
        if p.postgres {
            json::string(&mut v, &self.o.database);
            v.extend_from_slice(b",\"sequence\":");
            let mut seq = String::from("[");
            match self.last_commit {
                Some(l) => seq.push_str(&format!("\"{l}\"")),
                None => seq.push_str("null"),
            }
            seq.push_str(&format!(",\"{}\"]", c.lsn));
            json::string(&mut v, &seq);
        } else {
            json::string(&mut v, &table.database);
            v.extend_from_slice(b",\"sequence\":null");
        }
        v.extend_from_slice(b",\"ts_us\":");
        json::int(&mut v, commit_us);
        v.extend_from_slice(b",\"ts_ns\":");
        json::int(&mut v, commit_us.saturating_mul(1000));
        if p.postgres {
            v.extend_from_slice(b",\"schema\":");
            json::string(&mut v, &table.database);
            v.extend_from_slice(b",\"table\":");
            json::string(&mut v, &table.table);
            v.extend_from_slice(b",\"txId\":");
            json::uint(&mut v, tx.txid());
            v.extend_from_slice(b",\"lsn\":");
            json::uint(&mut v, c.lsn);
            v.extend_from_slice(b",\"xmin\":null,\"origin\":null,\"origin_lsn\":null}");
        } else {
            v.extend_from_slice(b",\"table\":");
            json::string(&mut v, &table.table);
            v.extend_from_slice(b",\"server_id\":");
            json::uint(&mut v, u64::from(tx.server_id()));
            let (gtid, file, pos) = match tx.position {
                Position::Binlog { file, pos, gtid } => (gtid, file, pos),
                _ => (None, "", tx.tx.commit_lsn),
            };
            v.extend_from_slice(b",\"gtid\":");
            match gtid {
                Some(g) => json::string(&mut v, g),
                None => v.extend_from_slice(b"null"),
            }
            v.extend_from_slice(b",\"file\":");
            json::string(&mut v, file);
            v.extend_from_slice(b",\"pos\":");
            json::uint(&mut v, pos);
            // The binlog source keeps the transaction's position, not each
            // row event's: `row` is the change's ordinal in the
            // transaction, so (pos, row) still names one change.
            v.extend_from_slice(b",\"row\":");
            json::uint(&mut v, c.index);
            v.extend_from_slice(b",\"thread\":null,\"query\":null}");
        }
        // Snapshot rows belong to no transaction.
        if self.o.transactions && c.op != Op::Read {
            self.total += 1;
            let order = match self.per_table.iter_mut().find(|(x, _)| *x == s) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    self.per_table.push((s, 1));
                    1
                }
            };
            v.extend_from_slice(b",\"transaction\":{\"id\":");
            json::string(&mut v, &Self::tx_id(tx, c.lsn));
            v.extend_from_slice(b",\"total_order\":");
            json::uint(&mut v, self.total);
            v.extend_from_slice(b",\"data_collection_order\":");
            json::uint(&mut v, order);
            v.push(b'}');
        } else {
            v.extend_from_slice(b",\"transaction\":null");
        }
        v.extend_from_slice(b",\"op\":");
        json::string(&mut v, op);
        v.extend_from_slice(b",\"ts_ms\":");
        json::int(&mut v, div_floor(commit_us, 1000));
        v.extend_from_slice(b",\"ts_us\":");
        json::int(&mut v, commit_us);
        v.extend_from_slice(b",\"ts_ns\":");
        json::int(&mut v, commit_us.saturating_mul(1000));
        v.push(b'}');
        if self.o.schemas {
            v.push(b'}');
        }
        let key = std::mem::take(&mut self.scratch);
        let topic = std::mem::take(&mut self.tables.get_mut(s).expect("prepared").topic);
        let mut r = self.emit(&topic, has_key.then_some(&key[..]), Some(&v));
        if r.is_ok() && op == "d" && self.o.tombstones && has_key {
            r = self.emit(&topic, Some(&key), None);
        }
        self.tables.get_mut(s).expect("prepared").topic = topic;
        self.scratch = key;
        self.value_buf = v;
        r?;
        Ok(())
    }
}

fn value_error(p: &Prepared, i: usize, what: String, lsn: u64) -> Error {
    Error::Value {
        column: format!("{}.{}", p.data_collection, p.names[i]),
        what,
        lsn,
    }
}

/// A row as a JSON object; `after`: an unchanged (unsent) value is
/// Debezium's placeholder, in a before-image it is null.
fn row_json(
    out: &mut Vec<u8>,
    p: &Prepared,
    row: &Tuple<'_>,
    o: &Options,
    lsn: u64,
    after: bool,
) -> Result<(), Error> {
    out.push(b'{');
    for (i, v) in row.values().enumerate() {
        let v = v?;
        if i > 0 {
            out.push(b',');
        }
        json::string(out, &p.names[i]);
        out.push(b':');
        match v {
            ColumnValue::Value(v) => {
                value(out, &p.convs[i], &v, o).map_err(|Bad(what)| value_error(p, i, what, lsn))?
            }
            ColumnValue::Unchanged if after => unavailable(out, &p.convs[i]),
            ColumnValue::Unchanged => out.extend_from_slice(b"null"),
        }
    }
    out.push(b'}');
    Ok(())
}

fn unavailable(out: &mut Vec<u8>, c: &Conv) {
    match c {
        Conv::Bytes => json::base64(out, UNAVAILABLE.as_bytes()),
        Conv::Array(..) => {
            out.push(b'[');
            json::string(out, UNAVAILABLE);
            out.push(b']');
        }
        _ => json::string(out, UNAVAILABLE),
    }
}

/// The order in which a `java.util.HashMap<String, Long>` holding these
/// names (inserted in this order) iterates: Debezium's END record lists
/// its counts per table that way.
fn java_hash_order(entries: Vec<(String, u64)>) -> Vec<(String, u64)> {
    let hash = |s: &str| -> u32 {
        let mut h: u32 = 0;
        for u in s.encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(u32::from(u));
        }
        h ^ (h >> 16)
    };
    // The table grows (doubling from 16) past 0.75 of its capacity.
    let mut cap = 16usize;
    while entries.len() > cap * 3 / 4 {
        cap *= 2;
    }
    let mut keyed: Vec<(usize, usize, (String, u64))> = entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| ((hash(&e.0) as usize) & (cap - 1), i, e))
        .collect();
    keyed.sort_by_key(|(bucket, i, _)| (*bucket, *i));
    keyed.into_iter().map(|(_, _, e)| e).collect()
}

impl<W: Write> Debezium<W> {
    /// A DELETE (or the delete half of a key change): the row before,
    /// keyed by its old key, and its tombstone.
    fn delete(&mut self, tx: &Txn<'_>, c: &Change<'_>, s: usize) -> Result<(), Error> {
        let b = c
            .before
            .expect("a delete and a key change have a row before");
        self.envelope(
            tx,
            c,
            s,
            "d",
            Some((&b.values, true)),
            None,
            Some(&b.values),
        )
    }
}

impl<W: Write> ChangeSink for Debezium<W> {
    type Error = Error;

    fn begin(&mut self, _tx: &Txn<'_>) -> Result<(), Error> {
        self.total = 0;
        self.per_table.clear();
        self.begun = false;
        Ok(())
    }

    fn change(&mut self, tx: &Txn<'_>, c: &Change<'_>) -> Result<(), Error> {
        let Some(t) = c.table else {
            // DDL: the connectors put it on a schema-change topic, not
            // modelled here.
            return Ok(());
        };
        let s = self.prepared(t);
        // BEGIN before the first event: a transaction of DDL alone has
        // none (the connectors report schema changes elsewhere).
        if self.o.transactions && !self.begun && c.op != Op::Read {
            self.begun = true;
            let id = Self::tx_id(tx, tx.begin_lsn());
            self.tx_record(tx, &id, None)?;
        }
        match c.op {
            Op::Create | Op::Read => {
                let after = c.after.expect("an insert has a row");
                self.envelope(tx, c, s, c.op.code(), None, Some(&after), Some(&after))
            }
            Op::Delete => self.delete(tx, c, s),
            Op::Update => {
                let after = c.after.expect("an update has a row");
                if c.key_changed()? {
                    self.delete(tx, c, s)?;
                    return self.envelope(tx, c, s, "c", None, Some(&after), Some(&after));
                }
                // A key-only before-image is no row image: Debezium writes
                // null unless the table sends the full row.
                let before = c
                    .before
                    .filter(|b| b.kind == ImageKind::Full)
                    .map(|b| b.values);
                self.envelope(
                    tx,
                    c,
                    s,
                    "u",
                    before.as_ref().map(|b| (b, true)),
                    Some(&after),
                    Some(&after),
                )
            }
            Op::Truncate => self.envelope(tx, c, s, "t", None, None, None),
            Op::Ddl => Ok(()),
        }
    }

    fn end(&mut self, tx: &Txn<'_>, counts: &TxnCounts<'_>) -> Result<(), Error> {
        if self.o.transactions && self.begun {
            let id = Self::tx_id(tx, tx.end_lsn());
            self.tx_record(tx, &id, Some(counts))?;
        }
        self.last_commit = Some(tx.end_lsn());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_the_connector_computes_them() {
        let iv = |months, days, micros| Interval {
            months,
            days,
            micros,
        };
        // 1 year 2 mons 3 days 04:05:06.5
        assert_eq!(
            micro_duration(&iv(14, 3, 14_706_500_000)),
            37_091_106_500_000
        );
        // -1 days -00:00:01.25
        assert_eq!(micro_duration(&iv(0, -1, -1_250_000)), -86_401_250_000);
    }

    #[test]
    fn java_hash_map_order_of_two_tables() {
        // Debezium listed public.types_t before public.full_t although
        // full_t was changed first (fixtures/debezium, transaction 749).
        let got = java_hash_order(vec![
            ("public.full_t".into(), 2),
            ("public.types_t".into(), 1),
        ]);
        assert_eq!(got[0].0, "public.types_t");
    }
}
