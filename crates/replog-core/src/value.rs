//! The value model shared by every replog format.
//!
//! It is lossless for what relational logs carry: integers keep their
//! signedness, decimals stay exact text (never a float), text and raw bytes
//! are different kinds, temporal values keep microseconds, and MySQL's "zero"
//! dates survive. Borrowed values point into the log; [`Value::into_owned`]
//! detaches them.
//!
//! Encoding (every multi-byte integer little-endian), one tag byte then:
//!
//! | tag  | kind      | payload                                             |
//! |------|-----------|-----------------------------------------------------|
//! | 0x00 | NULL      | none                                                |
//! | 0x01 | Bool      | u8 0 or 1                                           |
//! | 0x02 | Int       | i64                                                 |
//! | 0x03 | UInt      | u64                                                 |
//! | 0x04 | F32       | binary32                                            |
//! | 0x05 | F64       | binary64                                            |
//! | 0x06 | Decimal   | u16 length, ASCII `-?[0-9]+(\.[0-9]+)?`             |
//! | 0x07 | Text      | u32 length, UTF-8                                   |
//! | 0x08 | Bytes     | u32 length, bytes                                   |
//! | 0x09 | Date      | u16 year, u8 month, u8 day                          |
//! | 0x0A | Time      | i64 microseconds (signed duration)                  |
//! | 0x0B | DateTime  | u16 year, u8 month, u8 day, u8 hour, u8 minute, u8 second, u8 zero, u32 microsecond |
//! | 0x0C | Timestamp | i64 microseconds since 1970-01-01 00:00:00 UTC      |
//! | 0x0D | Enum      | u16 length, UTF-8 label                             |
//! | 0x0E | Set       | u16 length, UTF-8 labels joined by `,`              |
//! | 0x0F | Json      | u32 length, UTF-8 JSON text                         |
//! | 0x10 | Uuid      | 16 bytes, in RFC 9562 order                         |
//! | 0x11 | Interval  | i32 months, i32 days, i64 microseconds              |
//! | 0x12 | TimeTz    | i64 microseconds of the day, i32 UTC offset in seconds east |
//! | 0x13 | PgDate    | i32 days since 2000-01-01 (i32::MIN/MAX = -/+infinity) |
//! | 0x14 | PgTimestamp   | i64 µs since 2000-01-01 00:00:00 (i64::MIN/MAX = -/+infinity) |
//! | 0x15 | PgTimestampTz | i64 µs since 2000-01-01 00:00:00 UTC (same sentinels) |
//! | 0x16 | NumericSpecial | u8: 0 NaN, 1 +Infinity, 2 -Infinity             |
//!
//! Tags 0x10–0x16 are PostgreSQL's kinds (logical format version 2); they
//! keep PostgreSQL's own epochs and ranges, which the MySQL kinds cannot
//! hold (dates BC, 294276 AD, infinities, intervals that are not normalised).

use crate::codec::{self, Cursor};
use crate::error::{Error, Result};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::borrow::Cow;
use std::fmt;

/// A calendar date. Zero fields are allowed (MySQL's `0000-00-00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, 0..=9999.
    pub year: u16,
    /// Month, 0..=12 (0 only in zero dates).
    pub month: u8,
    /// Day, 0..=31 (0 only in zero dates).
    pub day: u8,
}

/// A date and a time of day with microseconds, without a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    /// The date part.
    pub date: Date,
    /// Hour, 0..=23.
    pub hour: u8,
    /// Minute, 0..=59.
    pub minute: u8,
    /// Second, 0..=59.
    pub second: u8,
    /// Microsecond, 0..=999,999.
    pub micro: u32,
}

/// PostgreSQL's `interval`: months, days and microseconds, kept apart as
/// PostgreSQL keeps them (`1 mon` is not `30 days`, `1 day` is not `24:00:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    /// Months (years are 12 months).
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

impl Interval {
    /// `infinity` (PostgreSQL 17 and later).
    pub const INFINITY: Interval = Interval {
        months: i32::MAX,
        days: i32::MAX,
        micros: i64::MAX,
    };
    /// `-infinity` (PostgreSQL 17 and later).
    pub const NEG_INFINITY: Interval = Interval {
        months: i32::MIN,
        days: i32::MIN,
        micros: i64::MIN,
    };
}

/// Which special value of PostgreSQL's `numeric` (finite values are
/// [`Value::Decimal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NumericSpecial {
    /// `NaN`.
    NaN,
    /// `Infinity`.
    PosInfinity,
    /// `-Infinity`.
    NegInfinity,
}

impl NumericSpecial {
    /// PostgreSQL's spelling: `NaN`, `Infinity`, `-Infinity`.
    pub fn as_str(self) -> &'static str {
        match self {
            NumericSpecial::NaN => "NaN",
            NumericSpecial::PosInfinity => "Infinity",
            NumericSpecial::NegInfinity => "-Infinity",
        }
    }
}

/// PostgreSQL's date and timestamp ranges, in its own epoch (2000-01-01).
pub mod pg {
    /// Days from 1970-01-01 to 2000-01-01.
    pub const EPOCH_DAYS_FROM_UNIX: i64 = 10_957;
    /// Microseconds from 1970-01-01 to 2000-01-01.
    pub const EPOCH_MICROS_FROM_UNIX: i64 = EPOCH_DAYS_FROM_UNIX * 86_400_000_000;
    /// `-infinity` of `date`.
    pub const DATE_NEG_INFINITY: i32 = i32::MIN;
    /// `infinity` of `date`.
    pub const DATE_POS_INFINITY: i32 = i32::MAX;
    /// Smallest finite date: 4714-11-24 BC (Julian day 0).
    pub const DATE_MIN: i32 = -2_451_545;
    /// One past the largest finite date (5874898-01-01).
    pub const DATE_END: i32 = 2_147_483_494 - 2_451_545;
    /// `-infinity` of `timestamp` / `timestamptz`.
    pub const TS_NEG_INFINITY: i64 = i64::MIN;
    /// `infinity` of `timestamp` / `timestamptz`.
    pub const TS_POS_INFINITY: i64 = i64::MAX;
    /// Smallest finite timestamp: 4714-11-24 00:00:00 BC.
    pub const TS_MIN: i64 = -211_813_488_000_000_000;
    /// One past the largest finite timestamp (294277-01-01 00:00:00).
    pub const TS_END: i64 = 9_223_371_331_200_000_000;
    /// Largest time of day: 24:00:00.
    pub const TIME_DAY: i64 = 86_400_000_000;
    /// Largest magnitude of a time-zone offset, in seconds (15:59:59).
    pub const MAX_OFFSET: i32 = 16 * 3600 - 1;

    /// Whether `d` is a finite PostgreSQL date or an infinity.
    pub fn date_ok(d: i32) -> bool {
        d == DATE_NEG_INFINITY || d == DATE_POS_INFINITY || (DATE_MIN..DATE_END).contains(&d)
    }

    /// Whether `t` is a finite PostgreSQL timestamp or an infinity.
    pub fn timestamp_ok(t: i64) -> bool {
        t == TS_NEG_INFINITY || t == TS_POS_INFINITY || (TS_MIN..TS_END).contains(&t)
    }
}

/// Largest magnitude of a TIME value: 838:59:59.999999, as in MySQL.
pub const TIME_MAX_MICROS: i64 = ((838 * 3600 + 59 * 60 + 59) * 1_000_000) + 999_999;

/// One value of a column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// SQL NULL.
    Null,
    /// BOOLEAN.
    Bool(bool),
    /// Signed integer.
    Int(i64),
    /// Unsigned integer.
    UInt(u64),
    /// FLOAT.
    F32(f32),
    /// DOUBLE.
    F64(f64),
    /// Exact decimal as canonical text: `-?digits(.digits)?`.
    Decimal(Cow<'a, str>),
    /// Character data, UTF-8.
    Text(Cow<'a, str>),
    /// Binary data.
    Bytes(Cow<'a, [u8]>),
    /// DATE.
    Date(Date),
    /// TIME, as signed microseconds.
    Time(i64),
    /// DATETIME.
    DateTime(DateTime),
    /// TIMESTAMP, microseconds since the Unix epoch in UTC.
    Timestamp(i64),
    /// ENUM label.
    Enum(Cow<'a, str>),
    /// SET labels, comma-separated.
    Set(Cow<'a, str>),
    /// JSON document as text.
    Json(Cow<'a, str>),
    /// UUID, 16 bytes.
    Uuid([u8; 16]),
    /// PostgreSQL `interval`.
    Interval(Interval),
    /// PostgreSQL `timetz`: time of day (0 ..= 24:00:00) and its UTC offset.
    TimeTz {
        /// Microseconds since midnight, 0 ..= 86,400,000,000.
        micros: i64,
        /// Offset from UTC in seconds, east positive (`+05:30` is 19800).
        offset: i32,
    },
    /// PostgreSQL `date`: days since 2000-01-01, or ±infinity ([`pg`]).
    PgDate(i32),
    /// PostgreSQL `timestamp` (no time zone): µs since 2000-01-01 00:00:00,
    /// or ±infinity ([`pg`]).
    PgTimestamp(i64),
    /// PostgreSQL `timestamptz`: µs since 2000-01-01 00:00:00 UTC, or
    /// ±infinity ([`pg`]).
    PgTimestampTz(i64),
    /// PostgreSQL `numeric` NaN or ±Infinity.
    NumericSpecial(NumericSpecial),
}

/// Tag bytes of the value encoding.
#[allow(missing_docs)]
pub mod tag {
    pub const NULL: u8 = 0x00;
    pub const BOOL: u8 = 0x01;
    pub const INT: u8 = 0x02;
    pub const UINT: u8 = 0x03;
    pub const F32: u8 = 0x04;
    pub const F64: u8 = 0x05;
    pub const DECIMAL: u8 = 0x06;
    pub const TEXT: u8 = 0x07;
    pub const BYTES: u8 = 0x08;
    pub const DATE: u8 = 0x09;
    pub const TIME: u8 = 0x0A;
    pub const DATETIME: u8 = 0x0B;
    pub const TIMESTAMP: u8 = 0x0C;
    pub const ENUM: u8 = 0x0D;
    pub const SET: u8 = 0x0E;
    pub const JSON: u8 = 0x0F;
    pub const UUID: u8 = 0x10;
    pub const INTERVAL: u8 = 0x11;
    pub const TIMETZ: u8 = 0x12;
    pub const PG_DATE: u8 = 0x13;
    pub const PG_TIMESTAMP: u8 = 0x14;
    pub const PG_TIMESTAMPTZ: u8 = 0x15;
    pub const NUMERIC_SPECIAL: u8 = 0x16;
    /// The largest tag.
    pub const LAST: u8 = NUMERIC_SPECIAL;
}

/// The longest decimal literal a value can hold (its length prefix is 16
/// bits): PostgreSQL numerics longer than this are refused by their readers.
pub const MAX_DECIMAL_LEN: usize = u16::MAX as usize;

/// Whether `s` is a canonical decimal literal: `-?[0-9]+(\.[0-9]+)?`.
pub fn is_decimal_literal(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], Some(&b[p + 1..])),
        None => (b, None),
    };
    !int.is_empty()
        && int.iter().all(u8::is_ascii_digit)
        && frac.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit))
}

impl Date {
    fn valid(&self) -> bool {
        self.year <= 9999 && self.month <= 12 && self.day <= 31
    }
}

impl DateTime {
    fn valid(&self) -> bool {
        self.date.valid()
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
            && self.micro < 1_000_000
    }
}

impl<'a> Value<'a> {
    /// Name of the value's kind, as used in JSON output and messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::UInt(_) => "uint",
            Value::F32(_) => "float",
            Value::F64(_) => "double",
            Value::Decimal(_) => "decimal",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::DateTime(_) => "datetime",
            Value::Timestamp(_) => "timestamp",
            Value::Enum(_) => "enum",
            Value::Set(_) => "set",
            Value::Json(_) => "json",
            Value::Uuid(_) => "uuid",
            Value::Interval(_) => "interval",
            Value::TimeTz { .. } => "timetz",
            Value::PgDate(_) => "pgdate",
            Value::PgTimestamp(_) => "pgtimestamp",
            Value::PgTimestampTz(_) => "pgtimestamptz",
            Value::NumericSpecial(_) => "decimal",
        }
    }

    /// Detaches the value from the buffer it was decoded from.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(v) => Value::Bool(v),
            Value::Int(v) => Value::Int(v),
            Value::UInt(v) => Value::UInt(v),
            Value::F32(v) => Value::F32(v),
            Value::F64(v) => Value::F64(v),
            Value::Decimal(v) => Value::Decimal(Cow::Owned(v.into_owned())),
            Value::Text(v) => Value::Text(Cow::Owned(v.into_owned())),
            Value::Bytes(v) => Value::Bytes(Cow::Owned(v.into_owned())),
            Value::Date(v) => Value::Date(v),
            Value::Time(v) => Value::Time(v),
            Value::DateTime(v) => Value::DateTime(v),
            Value::Timestamp(v) => Value::Timestamp(v),
            Value::Enum(v) => Value::Enum(Cow::Owned(v.into_owned())),
            Value::Set(v) => Value::Set(Cow::Owned(v.into_owned())),
            Value::Json(v) => Value::Json(Cow::Owned(v.into_owned())),
            Value::Uuid(v) => Value::Uuid(v),
            Value::Interval(v) => Value::Interval(v),
            Value::TimeTz { micros, offset } => Value::TimeTz { micros, offset },
            Value::PgDate(v) => Value::PgDate(v),
            Value::PgTimestamp(v) => Value::PgTimestamp(v),
            Value::PgTimestampTz(v) => Value::PgTimestampTz(v),
            Value::NumericSpecial(v) => Value::NumericSpecial(v),
        }
    }

    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Appends the value's encoding to `out`.
    ///
    /// Fails (without writing) when a field does not fit its length prefix or
    /// a value is outside its kind's range, so that every encoded value
    /// decodes again.
    pub fn encode(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        match self {
            Value::Null => out.push(tag::NULL),
            Value::Bool(v) => out.extend_from_slice(&[tag::BOOL, u8::from(*v)]),
            Value::Int(v) => {
                out.push(tag::INT);
                codec::put_i64(out, *v);
            }
            Value::UInt(v) => {
                out.push(tag::UINT);
                codec::put_u64(out, *v);
            }
            Value::F32(v) => {
                out.push(tag::F32);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::F64(v) => {
                out.push(tag::F64);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Value::Decimal(s) => {
                if s.len() > MAX_DECIMAL_LEN {
                    return Err(format!(
                        "decimal of {} characters (at most {MAX_DECIMAL_LEN})",
                        s.len()
                    ));
                }
                if !is_decimal_literal(s) {
                    return Err(format!("not a decimal literal: {s:?}"));
                }
                out.push(tag::DECIMAL);
                codec::put_bytes_u16(out, s.as_bytes());
            }
            Value::Text(s) => put_long(out, tag::TEXT, s.as_bytes())?,
            Value::Bytes(b) => put_long(out, tag::BYTES, b)?,
            Value::Json(s) => put_long(out, tag::JSON, s.as_bytes())?,
            Value::Enum(s) | Value::Set(s) => {
                if !codec::fits_u16(s.as_bytes()) {
                    return Err("ENUM/SET label longer than 65535 bytes".into());
                }
                out.push(if matches!(self, Value::Enum(_)) {
                    tag::ENUM
                } else {
                    tag::SET
                });
                codec::put_bytes_u16(out, s.as_bytes());
            }
            Value::Date(d) => {
                if !d.valid() {
                    return Err(format!("date out of range: {d:?}"));
                }
                out.push(tag::DATE);
                put_date(out, d);
            }
            Value::Time(us) => {
                if us.unsigned_abs() > TIME_MAX_MICROS as u64 {
                    return Err(format!("TIME out of range: {us} µs"));
                }
                out.push(tag::TIME);
                codec::put_i64(out, *us);
            }
            Value::DateTime(dt) => {
                if !dt.valid() {
                    return Err(format!("datetime out of range: {dt:?}"));
                }
                out.push(tag::DATETIME);
                put_date(out, &dt.date);
                out.extend_from_slice(&[dt.hour, dt.minute, dt.second, 0]);
                codec::put_u32(out, dt.micro);
            }
            Value::Timestamp(us) => {
                out.push(tag::TIMESTAMP);
                codec::put_i64(out, *us);
            }
            Value::Uuid(b) => {
                out.push(tag::UUID);
                out.extend_from_slice(b);
            }
            Value::Interval(iv) => {
                out.push(tag::INTERVAL);
                codec::put_i32(out, iv.months);
                codec::put_i32(out, iv.days);
                codec::put_i64(out, iv.micros);
            }
            Value::TimeTz { micros, offset } => {
                if !timetz_ok(*micros, *offset) {
                    return Err(format!(
                        "timetz out of range: {micros} µs, offset {offset} s"
                    ));
                }
                out.push(tag::TIMETZ);
                codec::put_i64(out, *micros);
                codec::put_i32(out, *offset);
            }
            Value::PgDate(d) => {
                if !pg::date_ok(*d) {
                    return Err(format!("PostgreSQL date out of range: day {d}"));
                }
                out.push(tag::PG_DATE);
                codec::put_i32(out, *d);
            }
            Value::PgTimestamp(t) | Value::PgTimestampTz(t) => {
                if !pg::timestamp_ok(*t) {
                    return Err(format!("PostgreSQL timestamp out of range: {t} µs"));
                }
                out.push(if matches!(self, Value::PgTimestamp(_)) {
                    tag::PG_TIMESTAMP
                } else {
                    tag::PG_TIMESTAMPTZ
                });
                codec::put_i64(out, *t);
            }
            Value::NumericSpecial(n) => {
                out.push(tag::NUMERIC_SPECIAL);
                out.push(match n {
                    NumericSpecial::NaN => 0,
                    NumericSpecial::PosInfinity => 1,
                    NumericSpecial::NegInfinity => 2,
                });
            }
        }
        Ok(())
    }

    /// Decodes one value at the cursor.
    #[inline]
    pub fn decode(c: &mut Cursor<'a>) -> Result<Value<'a>> {
        let at = c.offset();
        let t = c.u8("value tag")?;
        decode_after_tag(c, t, at)
    }
}

/// Decodes the payload of a value whose tag `t` (found at `at`) has already
/// been read.
#[inline]
pub fn decode_after_tag<'a>(c: &mut Cursor<'a>, t: u8, at: u64) -> Result<Value<'a>> {
    Ok(match t {
        tag::NULL => Value::Null,
        tag::BOOL => match c.u8("bool")? {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            b => {
                return Err(Error::malformed(
                    c.offset() - 1,
                    format!("bool byte {b} is not 0 or 1"),
                ));
            }
        },
        tag::INT => Value::Int(c.i64("int")?),
        tag::UINT => Value::UInt(c.u64("uint")?),
        tag::F32 => Value::F32(c.f32("float")?),
        tag::F64 => Value::F64(c.f64("double")?),
        tag::DECIMAL => {
            let s = c.str_u16("decimal")?;
            if !is_decimal_literal(s) {
                return Err(Error::malformed(
                    at,
                    format!("decimal {s:?} is not -digits[.digits]"),
                ));
            }
            Value::Decimal(Cow::Borrowed(s))
        }
        tag::TEXT => Value::Text(Cow::Borrowed(c.str_u32("text")?)),
        tag::BYTES => Value::Bytes(Cow::Borrowed(c.bytes_u32("bytes")?)),
        tag::DATE => {
            let d = read_date(c)?;
            if !d.valid() {
                return Err(Error::malformed(at, format!("date out of range: {d:?}")));
            }
            Value::Date(d)
        }
        tag::TIME => {
            let us = c.i64("time")?;
            if us.unsigned_abs() > TIME_MAX_MICROS as u64 {
                return Err(Error::malformed(at, format!("TIME out of range: {us} µs")));
            }
            Value::Time(us)
        }
        tag::DATETIME => {
            let date = read_date(c)?;
            let [hour, minute, second, zero] = c.array::<4>("datetime")?;
            let micro = c.u32("datetime microseconds")?;
            let dt = DateTime {
                date,
                hour,
                minute,
                second,
                micro,
            };
            if zero != 0 || !dt.valid() {
                return Err(Error::malformed(
                    at,
                    format!("datetime out of range: {dt:?}"),
                ));
            }
            Value::DateTime(dt)
        }
        tag::TIMESTAMP => Value::Timestamp(c.i64("timestamp")?),
        tag::ENUM => Value::Enum(Cow::Borrowed(c.str_u16("enum label")?)),
        tag::SET => Value::Set(Cow::Borrowed(c.str_u16("set labels")?)),
        tag::JSON => Value::Json(Cow::Borrowed(c.str_u32("json")?)),
        tag::UUID => Value::Uuid(c.array::<16>("uuid")?),
        tag::INTERVAL => Value::Interval(Interval {
            months: c.i32("interval months")?,
            days: c.i32("interval days")?,
            micros: c.i64("interval microseconds")?,
        }),
        tag::TIMETZ => {
            let micros = c.i64("timetz")?;
            let offset = c.i32("timetz offset")?;
            if !timetz_ok(micros, offset) {
                return Err(Error::malformed(
                    at,
                    format!("timetz out of range: {micros} µs, offset {offset} s"),
                ));
            }
            Value::TimeTz { micros, offset }
        }
        tag::PG_DATE => {
            let d = c.i32("date")?;
            if !pg::date_ok(d) {
                return Err(Error::malformed(
                    at,
                    format!("PostgreSQL date out of range: day {d}"),
                ));
            }
            Value::PgDate(d)
        }
        tag::PG_TIMESTAMP | tag::PG_TIMESTAMPTZ => {
            let ts = c.i64("timestamp")?;
            if !pg::timestamp_ok(ts) {
                return Err(Error::malformed(
                    at,
                    format!("PostgreSQL timestamp out of range: {ts} µs"),
                ));
            }
            if t == tag::PG_TIMESTAMP {
                Value::PgTimestamp(ts)
            } else {
                Value::PgTimestampTz(ts)
            }
        }
        tag::NUMERIC_SPECIAL => Value::NumericSpecial(match c.u8("numeric special")? {
            0 => NumericSpecial::NaN,
            1 => NumericSpecial::PosInfinity,
            2 => NumericSpecial::NegInfinity,
            b => {
                return Err(Error::malformed(
                    c.offset() - 1,
                    format!("numeric special {b} is not 0, 1 or 2"),
                ));
            }
        }),
        other => {
            return Err(Error::malformed(
                at,
                format!("unknown value tag 0x{other:02x}"),
            ));
        }
    })
}

fn timetz_ok(micros: i64, offset: i32) -> bool {
    (0..=pg::TIME_DAY).contains(&micros) && offset.unsigned_abs() <= pg::MAX_OFFSET as u32
}

fn put_long(out: &mut Vec<u8>, t: u8, b: &[u8]) -> std::result::Result<(), String> {
    if u32::try_from(b.len()).is_err() {
        return Err("value longer than 4 GiB".into());
    }
    out.push(t);
    codec::put_bytes_u32(out, b);
    Ok(())
}

fn put_date(out: &mut Vec<u8>, d: &Date) {
    codec::put_u16(out, d.year);
    out.extend_from_slice(&[d.month, d.day]);
}

fn read_date(c: &mut Cursor<'_>) -> Result<Date> {
    let year = c.u16("date year")?;
    let [month, day] = c.array::<2>("date")?;
    Ok(Date { year, month, day })
}

/// Days since 1970-01-01 to the civil date (proleptic Gregorian).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats microseconds since the epoch as `YYYY-MM-DD HH:MM:SS[.ffffff]` UTC.
pub fn format_timestamp(us: i64, f: &mut impl fmt::Write) -> fmt::Result {
    let secs = us.div_euclid(1_000_000);
    let micro = us.rem_euclid(1_000_000) as u32;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    if !(0..=9999).contains(&y) {
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            s / 3600,
            s / 60 % 60,
            s % 60
        )?;
        if micro != 0 {
            write!(f, ".{micro:06}")?;
        }
        return Ok(());
    }
    let (h, mi, sec) = ((s / 3600) as u32, (s / 60 % 60) as u32, (s % 60) as u32);
    write_datetime(f, y as u32, m, d, Some((h, mi, sec, micro)))
}

/// Writes `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` with fixed-width digits, without
/// the general formatting machinery (dump and listing hot path).
fn write_datetime(
    f: &mut impl fmt::Write,
    y: u32,
    m: u32,
    d: u32,
    time: Option<(u32, u32, u32, u32)>,
) -> fmt::Result {
    let mut b = [0u8; 26];
    let put = |b: &mut [u8], at: usize, v: u32, n: usize| {
        let mut v = v;
        for i in (0..n).rev() {
            b[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(&mut b, 0, y, 4);
    b[4] = b'-';
    put(&mut b, 5, m, 2);
    b[7] = b'-';
    put(&mut b, 8, d, 2);
    let mut len = 10;
    if let Some((h, mi, s, micro)) = time {
        b[10] = b' ';
        put(&mut b, 11, h, 2);
        b[13] = b':';
        put(&mut b, 14, mi, 2);
        b[16] = b':';
        put(&mut b, 17, s, 2);
        len = 19;
        if micro != 0 {
            b[19] = b'.';
            put(&mut b, 20, micro, 6);
            len = 26;
        }
    }
    // Only ASCII digits and separators were written.
    f.write_str(std::str::from_utf8(&b[..len]).unwrap_or(""))
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.width().is_some() || self.year > 9999 || self.month > 99 || self.day > 99 {
            return f.pad(&format!(
                "{:04}-{:02}-{:02}",
                self.year, self.month, self.day
            ));
        }
        write_datetime(
            f,
            u32::from(self.year),
            u32::from(self.month),
            u32::from(self.day),
            None,
        )
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.date;
        if f.width().is_none()
            && d.year <= 9999
            && d.month <= 99
            && d.day <= 99
            && self.hour <= 99
            && self.minute <= 99
            && self.second <= 99
            && self.micro <= 999_999
        {
            return write_datetime(
                f,
                u32::from(d.year),
                u32::from(d.month),
                u32::from(d.day),
                Some((
                    u32::from(self.hour),
                    u32::from(self.minute),
                    u32::from(self.second),
                    self.micro,
                )),
            );
        }
        write!(
            f,
            "{} {:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        )?;
        if self.micro != 0 {
            write!(f, ".{:06}", self.micro)?;
        }
        Ok(())
    }
}

fn format_time(us: i64, f: &mut impl fmt::Write) -> fmt::Result {
    let sign = if us < 0 { "-" } else { "" };
    let a = us.unsigned_abs();
    let (secs, micro) = (a / 1_000_000, a % 1_000_000);
    write!(
        f,
        "{sign}{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )?;
    if micro != 0 {
        write!(f, ".{micro:06}")?;
    }
    Ok(())
}

/// The canonical text form: what `replog dump` prints and what is compared
/// with a real database's output.
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => f.write_str(if *b { "1" } else { "0" }),
            Value::Int(v) => write!(f, "{v}"),
            Value::UInt(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Decimal(s)
            | Value::Text(s)
            | Value::Enum(s)
            | Value::Set(s)
            | Value::Json(s) => f.write_str(s),
            Value::Bytes(b) => {
                f.write_str("0x")?;
                for x in b.iter() {
                    write!(f, "{x:02X}")?;
                }
                Ok(())
            }
            Value::Date(d) => write!(f, "{d}"),
            Value::Time(us) => format_time(*us, f),
            Value::DateTime(dt) => write!(f, "{dt}"),
            Value::Timestamp(us) => format_timestamp(*us, f),
            Value::Uuid(b) => format_uuid(b, f),
            Value::Interval(iv) => write!(f, "{iv}"),
            Value::TimeTz { micros, offset } => {
                pg_time(*micros, f)?;
                pg_offset(*offset, f)
            }
            Value::PgDate(d) => pg_date(*d, f),
            Value::PgTimestamp(t) => pg_timestamp(*t, None, f),
            Value::PgTimestampTz(t) => pg_timestamp(*t, Some(0), f),
            Value::NumericSpecial(n) => f.write_str(n.as_str()),
        }
    }
}

fn format_uuid(b: &[u8; 16], f: &mut impl fmt::Write) -> fmt::Result {
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            f.write_char('-')?;
        }
        write!(f, "{x:02x}")?;
    }
    Ok(())
}

/// Writes `.ffffff` with trailing zeros removed (nothing for 0), as
/// PostgreSQL prints fractional seconds.
fn pg_fraction(micro: u64, f: &mut impl fmt::Write) -> fmt::Result {
    if micro == 0 {
        return Ok(());
    }
    let mut digits = format!("{micro:06}");
    while digits.ends_with('0') {
        digits.pop();
    }
    write!(f, ".{digits}")
}

/// PostgreSQL's text output of a time of day (`time`, and the time part of
/// `timetz` and timestamps): `HH:MM:SS[.fraction]`, fraction trimmed.
pub fn pg_time(micros: i64, f: &mut impl fmt::Write) -> fmt::Result {
    if micros < 0 {
        f.write_char('-')?;
    }
    pg_hms(micros.unsigned_abs(), f)
}

fn pg_hms(a: u64, f: &mut impl fmt::Write) -> fmt::Result {
    let (secs, micro) = (a / 1_000_000, a % 1_000_000);
    write!(
        f,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )?;
    pg_fraction(micro, f)
}

/// PostgreSQL's text output of a UTC offset in seconds east: `+HH`,
/// `+HH:MM` or `+HH:MM:SS`.
pub fn pg_offset(offset: i32, f: &mut impl fmt::Write) -> fmt::Result {
    let a = offset.unsigned_abs();
    let sign = if offset < 0 { '-' } else { '+' };
    write!(f, "{sign}{:02}", a / 3600)?;
    if a % 3600 != 0 {
        write!(f, ":{:02}", a / 60 % 60)?;
        if a % 60 != 0 {
            write!(f, ":{:02}", a % 60)?;
        }
    }
    Ok(())
}

/// Civil (proleptic Gregorian, astronomical year numbering) date of a day
/// count since 2000-01-01.
pub fn pg_civil(days: i64) -> (i64, u32, u32) {
    civil_from_days(days + pg::EPOCH_DAYS_FROM_UNIX)
}

fn pg_year(y: i64, f: &mut impl fmt::Write) -> fmt::Result {
    // Year 0 is 1 BC, -1 is 2 BC.
    write!(f, "{:04}", if y > 0 { y } else { 1 - y })
}

/// PostgreSQL's text output of a `date` (DateStyle ISO): `YYYY-MM-DD`,
/// ` BC` after years before 1, `infinity` / `-infinity`.
pub fn pg_date(d: i32, f: &mut impl fmt::Write) -> fmt::Result {
    match d {
        pg::DATE_POS_INFINITY => return f.write_str("infinity"),
        pg::DATE_NEG_INFINITY => return f.write_str("-infinity"),
        _ => {}
    }
    let (y, m, day) = pg_civil(i64::from(d));
    pg_year(y, f)?;
    write!(f, "-{m:02}-{day:02}")?;
    if y <= 0 {
        f.write_str(" BC")?;
    }
    Ok(())
}

/// PostgreSQL's text output of a timestamp (DateStyle ISO): with
/// `offset = Some(seconds east)` a `timestamptz` shown in that zone (`+00`
/// for UTC), with `None` a `timestamp`.
pub fn pg_timestamp(t: i64, offset: Option<i32>, f: &mut impl fmt::Write) -> fmt::Result {
    match t {
        pg::TS_POS_INFINITY => return f.write_str("infinity"),
        pg::TS_NEG_INFINITY => return f.write_str("-infinity"),
        _ => {}
    }
    let local = t.saturating_add(i64::from(offset.unwrap_or(0)) * 1_000_000);
    let days = local.div_euclid(86_400_000_000);
    let tod = local.rem_euclid(86_400_000_000);
    let (y, m, d) = pg_civil(days);
    pg_year(y, f)?;
    write!(f, "-{m:02}-{d:02} ")?;
    pg_time(tod, f)?;
    if let Some(o) = offset {
        pg_offset(o, f)?;
    }
    if y <= 0 {
        f.write_str(" BC")?;
    }
    Ok(())
}

/// PostgreSQL's text output (IntervalStyle `postgres`), such as
/// `1 year 2 mons 3 days 04:05:06`, `-1 days +02:00:00`, `00:00:00`.
impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // PostgreSQL 17's infinite intervals: every field at its extreme.
        if *self == Interval::INFINITY {
            return f.write_str("infinity");
        }
        if *self == Interval::NEG_INFINITY {
            return f.write_str("-infinity");
        }
        let mut zero = true;
        let mut before = false;
        let mut part = |f: &mut fmt::Formatter<'_>, v: i64, unit: &str| -> fmt::Result {
            if v == 0 {
                return Ok(());
            }
            let sep = if zero { "" } else { " " };
            let plus = if before && v > 0 { "+" } else { "" };
            let s = if v != 1 { "s" } else { "" };
            write!(f, "{sep}{plus}{v} {unit}{s}")?;
            before = v < 0;
            zero = false;
            Ok(())
        };
        let months = i64::from(self.months);
        part(f, months / 12, "year")?;
        part(f, months % 12, "mon")?;
        part(f, i64::from(self.days), "day")?;
        if zero || self.micros != 0 {
            let sep = if zero { "" } else { " " };
            let sign = if self.micros < 0 {
                "-"
            } else if before {
                "+"
            } else {
                ""
            };
            f.write_str(sep)?;
            f.write_str(sign)?;
            pg_hms(self.micros.unsigned_abs(), f)?;
        }
        Ok(())
    }
}

/// JSON rendering: numbers stay numbers, NULL is `null`, bytes are
/// `{"hex": "..."}`, every other kind is its canonical text.
impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(v) => s.serialize_i64(*v),
            Value::UInt(v) => s.serialize_u64(*v),
            Value::F32(v) if v.is_finite() => s.serialize_f32(*v),
            Value::F64(v) if v.is_finite() => s.serialize_f64(*v),
            Value::Text(t) | Value::Enum(t) | Value::Set(t) => s.serialize_str(t),
            Value::Bytes(b) => {
                let mut m = s.serialize_map(Some(1))?;
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                m.serialize_entry("hex", &hex)?;
                m.end()
            }
            other => s.collect_str(other),
        }
    }
}

/// Property-test strategies for values of every kind, shared by the tests
/// of the record formats; compiled with the `proptest` feature only.
#[cfg(feature = "proptest")]
#[doc(hidden)]
pub mod arb {
    use super::{Date, DateTime, TIME_MAX_MICROS, Value};
    use proptest::prelude::*;
    use std::borrow::Cow;

    /// Dates with every field in its stored range (not only valid dates).
    pub fn date() -> impl Strategy<Value = Date> {
        (0u16..=9999, 0u8..=12, 0u8..=31).prop_map(|(year, month, day)| Date { year, month, day })
    }

    /// Values of every kind (floats never NaN, which never equals itself).
    pub fn value() -> impl Strategy<Value = Value<'static>> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<u64>().prop_map(Value::UInt),
            any::<f32>()
                .prop_filter("NaN never equals itself", |f| !f.is_nan())
                .prop_map(Value::F32),
            any::<f64>()
                .prop_filter("NaN never equals itself", |f| !f.is_nan())
                .prop_map(Value::F64),
            (
                any::<bool>(),
                any::<u64>(),
                proptest::option::of(0u32..1_000_000)
            )
                .prop_map(|(neg, i, f)| {
                    let s = if neg { "-" } else { "" };
                    Value::Decimal(Cow::Owned(match f {
                        Some(f) => format!("{s}{i}.{f}"),
                        None => format!("{s}{i}"),
                    }))
                }),
            any::<String>().prop_map(|s| Value::Text(Cow::Owned(s))),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| Value::Bytes(Cow::Owned(b))),
            date().prop_map(Value::Date),
            (-TIME_MAX_MICROS..=TIME_MAX_MICROS).prop_map(Value::Time),
            (date(), 0u8..24, 0u8..60, 0u8..60, 0u32..1_000_000).prop_map(
                |(date, hour, minute, second, micro)| {
                    Value::DateTime(DateTime {
                        date,
                        hour,
                        minute,
                        second,
                        micro,
                    })
                }
            ),
            any::<i64>().prop_map(Value::Timestamp),
            "[a-z ]{0,10}".prop_map(|s| Value::Enum(Cow::Owned(s))),
            "[a-z,]{0,12}".prop_map(|s| Value::Set(Cow::Owned(s))),
            "\\{\"[a-z]{1,4}\":[0-9]{1,6}\\}".prop_map(|s| Value::Json(Cow::Owned(s))),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: Value<'_>) {
        let mut out = Vec::new();
        v.encode(&mut out).unwrap();
        let mut c = Cursor::new(&out, 0);
        let back = Value::decode(&mut c).unwrap();
        assert!(c.is_empty());
        assert_eq!(back, v);
    }

    #[test]
    fn every_kind_round_trips() {
        let d = Date {
            year: 2024,
            month: 2,
            day: 29,
        };
        for v in [
            Value::Null,
            Value::Bool(true),
            Value::Int(i64::MIN),
            Value::UInt(u64::MAX),
            Value::F32(1.5),
            Value::F64(-0.25),
            Value::Decimal("-12345678901234567890123456789012345.0001".into()),
            Value::Text("héllo".into()),
            Value::Bytes(vec![0u8, 255].into()),
            Value::Date(d),
            Value::Date(Date {
                year: 0,
                month: 0,
                day: 0,
            }),
            Value::Time(-TIME_MAX_MICROS),
            Value::DateTime(DateTime {
                date: d,
                hour: 23,
                minute: 59,
                second: 59,
                micro: 999_999,
            }),
            Value::Timestamp(1_700_000_000_123_456),
            Value::Enum("small".into()),
            Value::Set("a,c".into()),
            Value::Json(r#"{"k":[1,2]}"#.into()),
        ] {
            round_trip(v);
        }
    }

    #[test]
    fn postgres_kinds_round_trip_and_print_as_postgresql() {
        let cases = [
            (
                Value::Uuid([0xa0; 16]),
                "a0a0a0a0-a0a0-a0a0-a0a0-a0a0a0a0a0a0",
            ),
            (
                Value::Interval(Interval {
                    months: 14,
                    days: 3,
                    micros: 14_706_000_000,
                }),
                "1 year 2 mons 3 days 04:05:06",
            ),
            (
                Value::Interval(Interval {
                    months: 0,
                    days: -1,
                    micros: 7_200_000_000,
                }),
                "-1 days +02:00:00",
            ),
            (
                Value::TimeTz {
                    micros: pg::TIME_DAY,
                    offset: -(5 * 3600 + 30 * 60),
                },
                "24:00:00-05:30",
            ),
            (Value::PgDate(0), "2000-01-01"),
            (Value::PgDate(-730_119 - 366), "0001-01-01 BC"),
            (Value::PgDate(pg::DATE_POS_INFINITY), "infinity"),
            (
                Value::PgTimestamp(pg::TS_END - 1),
                "294276-12-31 23:59:59.999999",
            ),
            (Value::PgTimestamp(pg::TS_MIN), "4714-11-24 00:00:00 BC"),
            (Value::PgTimestampTz(1_500_000), "2000-01-01 00:00:01.5+00"),
            (Value::PgTimestampTz(pg::TS_NEG_INFINITY), "-infinity"),
            (Value::NumericSpecial(NumericSpecial::NaN), "NaN"),
            (
                Value::NumericSpecial(NumericSpecial::NegInfinity),
                "-Infinity",
            ),
        ];
        for (v, text) in cases {
            assert_eq!(v.to_string(), text);
            round_trip(v);
        }
        for bad in [
            Value::PgDate(pg::DATE_END),
            Value::PgTimestamp(pg::TS_END),
            Value::PgTimestampTz(pg::TS_MIN - 1),
            Value::TimeTz {
                micros: pg::TIME_DAY + 1,
                offset: 0,
            },
            Value::TimeTz {
                micros: 0,
                offset: pg::MAX_OFFSET + 1,
            },
        ] {
            assert!(bad.encode(&mut Vec::new()).is_err(), "{bad:?}");
        }
        // Decoding checks the same ranges, at the tag's offset.
        let mut b = vec![tag::PG_DATE];
        b.extend_from_slice(&pg::DATE_END.to_le_bytes());
        assert_eq!(
            Value::decode(&mut Cursor::new(&b, 30))
                .unwrap_err()
                .offset(),
            Some(30)
        );
        let e = Value::decode(&mut Cursor::new(&[tag::NUMERIC_SPECIAL, 3], 0)).unwrap_err();
        assert_eq!(e.offset(), Some(1));
    }

    #[test]
    fn rejects_bad_decimal_and_ranges() {
        assert!(
            Value::Decimal("1e5".into())
                .encode(&mut Vec::new())
                .is_err()
        );
        assert!(
            Value::Time(TIME_MAX_MICROS + 1)
                .encode(&mut Vec::new())
                .is_err()
        );
        #[rustfmt::skip]
        let bad_date = [tag::DATE, 0xE8, 0x07, 13, 1]; // month 13
        let e = Value::decode(&mut Cursor::new(&bad_date, 50)).unwrap_err();
        assert_eq!(e.offset(), Some(50));
        let e = Value::decode(&mut Cursor::new(&[0x7f], 9)).unwrap_err();
        assert!(e.to_string().contains("unknown value tag 0x7f"));
    }

    #[test]
    fn canonical_text() {
        assert_eq!(
            Value::Time(-(3600 + 61) * 1_000_000 - 5).to_string(),
            "-01:01:01.000005"
        );
        assert_eq!(Value::Timestamp(0).to_string(), "1970-01-01 00:00:00");
        assert_eq!(
            Value::Timestamp(-1).to_string(),
            "1969-12-31 23:59:59.999999"
        );
        assert_eq!(Value::Bytes(vec![0xab, 1].into()).to_string(), "0xAB01");
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
    }

    #[test]
    fn json_rendering() {
        let v = vec![
            Value::Int(-1),
            Value::Null,
            Value::Bytes(vec![1].into()),
            Value::Decimal("1.50".into()),
        ];
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"[-1,null,{"hex":"01"},"1.50"]"#
        );
    }
}
