//! The evaluation value [`Datum`] and the conversion of a datum into a
//! column's stored [`Value`] (MySQL's "store in strict mode" rules). The
//! table model (column types, table definitions) is `replog_schema::table`,
//! re-exported here.

use crate::decimal::Decimal;
use crate::error::{Error, ErrorKind, Result};
use crate::text;
use replog_core::Value;
use replog_core::value::{Date, DateTime, TIME_MAX_MICROS, days_from_civil};
use std::borrow::Cow;

pub use replog_schema::table::{Column, ColumnDefault, SqlType, TableDef, UniqueKey};

/// A row: one stored value per column, in table order.
pub type Row = Vec<Value<'static>>;

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    /// NULL.
    Null,
    /// Signed integer.
    Int(i64),
    /// Unsigned integer.
    UInt(u64),
    /// Double.
    Double(f64),
    /// Exact decimal.
    Dec(Decimal),
    /// Character string.
    Str(String),
    /// Binary string.
    Bytes(Vec<u8>),
    /// DATE.
    Date(Date),
    /// TIME in microseconds.
    Time(i64),
    /// DATETIME (and TIMESTAMP, shown in UTC).
    DateTime(DateTime),
}

const ZERO_DATE: Date = Date {
    year: 0,
    month: 0,
    day: 0,
};

/// The zero DATETIME `0000-00-00 00:00:00`.
pub const ZERO_DATETIME: DateTime = DateTime {
    date: ZERO_DATE,
    hour: 0,
    minute: 0,
    second: 0,
    micro: 0,
};

impl Datum {
    /// The datum of a stored value.
    pub fn from_value(v: &Value<'_>) -> Datum {
        match v {
            Value::Null => Datum::Null,
            Value::Bool(b) => Datum::Int(i64::from(*b)),
            Value::Int(i) => Datum::Int(*i),
            Value::UInt(u) => Datum::UInt(*u),
            Value::F32(f) => Datum::Double(f64::from(*f)),
            Value::F64(f) => Datum::Double(*f),
            Value::Decimal(s) => Decimal::parse(s).map_or(Datum::Null, Datum::Dec),
            Value::Text(s) | Value::Enum(s) | Value::Set(s) | Value::Json(s) => {
                Datum::Str(s.to_string())
            }
            Value::Bytes(b) => Datum::Bytes(b.to_vec()),
            Value::Date(d) => Datum::Date(*d),
            Value::Time(t) => Datum::Time(*t),
            Value::DateTime(dt) => Datum::DateTime(*dt),
            Value::Timestamp(us) => Datum::DateTime(timestamp_to_datetime(*us)),
            // PostgreSQL's kinds are evaluated as their canonical text.
            Value::Uuid(_)
            | Value::Interval(_)
            | Value::TimeTz { .. }
            | Value::PgDate(_)
            | Value::PgTimestamp(_)
            | Value::PgTimestampTz(_)
            | Value::NumericSpecial(_) => Datum::Str(v.to_string()),
        }
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// Numeric value as a double (strings parsed by their numeric prefix).
    pub fn to_f64(&self) -> f64 {
        match self {
            Datum::Null => 0.0,
            Datum::Int(i) => *i as f64,
            Datum::UInt(u) => *u as f64,
            Datum::Double(f) => *f,
            Datum::Dec(d) => d.to_f64(),
            Datum::Str(s) => text::numeric_prefix(s).parse().unwrap_or(0.0),
            Datum::Bytes(b) => text::numeric_prefix(&String::from_utf8_lossy(b))
                .parse()
                .unwrap_or(0.0),
            Datum::Date(d) => {
                f64::from(d.year) * 10000.0 + f64::from(d.month) * 100.0 + f64::from(d.day)
            }
            Datum::Time(t) => {
                let a = t.unsigned_abs();
                let (s, us) = (a / 1_000_000, a % 1_000_000);
                let v =
                    ((s / 3600) * 10000 + (s / 60 % 60) * 100 + s % 60) as f64 + us as f64 / 1e6;
                if *t < 0 { -v } else { v }
            }
            Datum::DateTime(dt) => {
                let d = &dt.date;
                (f64::from(d.year) * 1e10
                    + f64::from(d.month) * 1e8
                    + f64::from(d.day) * 1e6
                    + f64::from(dt.hour) * 1e4
                    + f64::from(dt.minute) * 100.0
                    + f64::from(dt.second))
                    + f64::from(dt.micro) / 1e6
            }
        }
    }

    /// Exact numeric value when the datum is exact (integers, decimals,
    /// decimal-looking strings); `None` for doubles and non-numbers.
    pub fn to_decimal(&self) -> Option<Decimal> {
        match self {
            Datum::Int(i) => Some(Decimal::from_i64(*i)),
            Datum::UInt(u) => Some(Decimal::from_u64(*u)),
            Datum::Dec(d) => Some(d.clone()),
            Datum::Double(f) => Decimal::from_f64(*f),
            Datum::Str(s) => {
                let p = text::numeric_prefix(s);
                Decimal::parse(p).or_else(|| p.parse::<f64>().ok().and_then(Decimal::from_f64))
            }
            Datum::Null => None,
            other => Decimal::from_f64(other.to_f64()),
        }
    }

    /// Integer value, rounding half away from zero and saturating.
    pub fn to_i64(&self) -> i64 {
        match self {
            Datum::Int(i) => *i,
            Datum::UInt(u) => i64::try_from(*u).unwrap_or(i64::MAX),
            _ => match self.to_decimal().and_then(|d| d.to_i128()) {
                Some(v) => i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }),
                None => 0,
            },
        }
    }

    /// SQL truth: NULL is unknown (`None`), zero is false.
    pub fn truth(&self) -> Option<bool> {
        match self {
            Datum::Null => None,
            Datum::Int(i) => Some(*i != 0),
            Datum::UInt(u) => Some(*u != 0),
            Datum::Dec(d) => Some(!d.is_zero()),
            other => Some(other.to_f64() != 0.0),
        }
    }

    /// The text form (what CONCAT and string comparison see). `None` for
    /// NULL.
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Datum::Null => return None,
            Datum::Int(i) => i.to_string(),
            Datum::UInt(u) => u.to_string(),
            Datum::Double(f) => text::format_double(*f, false),
            Datum::Dec(d) => d.to_string(),
            Datum::Str(s) => s.clone(),
            Datum::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Datum::Date(d) => d.to_string(),
            Datum::Time(t) => text::format_time(*t, if t % 1_000_000 == 0 { 0 } else { 6 }),
            Datum::DateTime(dt) => text::format_datetime(dt, if dt.micro == 0 { 0 } else { 6 }),
        })
    }

    /// The bytes of the text form (binary strings as they are).
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Datum::Bytes(b) => Some(b.clone()),
            other => other.to_text().map(String::into_bytes),
        }
    }
}

/// Converts UTC microseconds since the epoch to a DATETIME; 0 is the zero
/// timestamp and gives `0000-00-00 00:00:00`.
pub fn timestamp_to_datetime(us: i64) -> DateTime {
    if us == 0 {
        return ZERO_DATETIME;
    }
    let secs = us.div_euclid(1_000_000);
    let micro = us.rem_euclid(1_000_000) as u32;
    let (y, m, d) = replog_core::value::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    DateTime {
        date: Date {
            year: u16::try_from(y).unwrap_or(0),
            month: m as u8,
            day: d as u8,
        },
        hour: (s / 3600) as u8,
        minute: (s / 60 % 60) as u8,
        second: (s % 60) as u8,
        micro,
    }
}

/// UTC microseconds of a DATETIME.
pub fn datetime_to_micros(dt: &DateTime) -> i64 {
    let days = days_from_civil(
        i64::from(dt.date.year),
        u32::from(dt.date.month),
        u32::from(dt.date.day),
    );
    (days * 86_400 + i64::from(dt.hour) * 3600 + i64::from(dt.minute) * 60 + i64::from(dt.second))
        * 1_000_000
        + i64::from(dt.micro)
}

const TIMESTAMP_MIN_US: i64 = 1_000_000;
const TIMESTAMP_MAX_US: i64 = 2_147_483_647_999_999;

fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Whether a date is acceptable under the fixtures' sql_mode (zero dates
/// and zero parts allowed, impossible days rejected).
pub fn date_ok(d: &Date) -> bool {
    d.year <= 9999
        && d.month <= 12
        && d.day <= 31
        && (d.month == 0 || d.day == 0 || d.day <= days_in_month(d.year, d.month))
}

/// Context for store errors: which column, which row (1-based).
pub struct StoreAt<'a> {
    /// Column.
    pub column: &'a Column,
    /// Row number within the statement, 1-based.
    pub row: usize,
}

impl StoreAt<'_> {
    #[cold]
    fn out_of_range(&self) -> Error {
        Error::new(
            ErrorKind::OutOfRange,
            format!(
                "Out of range value for column '{}' at row {}",
                self.column.name, self.row
            ),
        )
    }
    #[cold]
    fn too_long(&self) -> Error {
        Error::new(
            ErrorKind::OutOfRange,
            format!(
                "Data too long for column '{}' at row {}",
                self.column.name, self.row
            ),
        )
    }
    #[cold]
    fn bad(&self, what: &str, v: &Datum) -> Error {
        let shown = v.to_text().unwrap_or_else(|| "NULL".into());
        Error::new(
            ErrorKind::BadValue,
            format!(
                "Incorrect {what} value: '{shown}' for column '{}' at row {}",
                self.column.name, self.row
            ),
        )
    }
}

/// Converts a datum into the value column `at.column` stores, with MySQL's
/// strict-mode checks. NULL handling (NOT NULL) is the caller's job; NULL
/// here gives `Value::Null`.
pub fn store(v: &Datum, at: &StoreAt<'_>) -> Result<Value<'static>> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    match &at.column.ty {
        // The store refuses such columns at CREATE TABLE.
        SqlType::Other(t) => Err(Error::unsupported(format!("column type {t}"))),
        // PostgreSQL's columns are written by row changes only (their
        // values as the log carries them), never by SQL statements here.
        SqlType::Pg(_) => Err(Error::unsupported(format!(
            "column '{}' of PostgreSQL type {}: the store writes it from row changes only",
            at.column.name,
            at.column.ty.to_column_type()
        ))),
        SqlType::Int {
            bytes, unsigned, ..
        } => {
            let n = integer_of(v, at)?;
            let bits = u32::from(*bytes) * 8;
            if *unsigned {
                let max: i128 = (1i128 << bits) - 1;
                if n < 0 || n > max {
                    return Err(at.out_of_range());
                }
                Ok(Value::UInt(n as u64))
            } else {
                let max: i128 = (1i128 << (bits - 1)) - 1;
                if n < -max - 1 || n > max {
                    return Err(at.out_of_range());
                }
                Ok(Value::Int(n as i64))
            }
        }
        SqlType::Decimal {
            precision,
            scale,
            unsigned,
        } => {
            let d = match v {
                Datum::Str(s) => Decimal::parse(s)
                    .or_else(|| s.trim().parse::<f64>().ok().and_then(Decimal::from_f64))
                    .ok_or_else(|| at.bad("decimal", v))?,
                other => other.to_decimal().ok_or_else(|| at.bad("decimal", v))?,
            };
            let r = d.round_to(u32::from(*scale));
            if (*unsigned && r.is_negative()) || !r.fits(u32::from(*precision), u32::from(*scale)) {
                return Err(at.out_of_range());
            }
            Ok(Value::Decimal(Cow::Owned(r.to_string())))
        }
        SqlType::Float => {
            let f = float_of(v, at)?;
            if f.is_finite() && f.abs() > f64::from(f32::MAX) {
                return Err(at.out_of_range());
            }
            Ok(Value::F32(f as f32))
        }
        SqlType::Double => Ok(Value::F64(float_of(v, at)?)),
        SqlType::Char(n) | SqlType::VarChar(n) => {
            let mut s = text_of(v, at)?;
            if matches!(at.column.ty, SqlType::Char(_)) {
                let t = s.trim_end_matches(' ').len();
                s.truncate(t);
            }
            if s.chars().count() > *n as usize {
                return Err(at.too_long());
            }
            Ok(Value::Text(Cow::Owned(s)))
        }
        SqlType::Text(max) => {
            let s = text_of(v, at)?;
            if s.len() as u64 > *max {
                return Err(at.too_long());
            }
            Ok(Value::Text(Cow::Owned(s)))
        }
        SqlType::Json => {
            let s = text_of(v, at)?;
            if !text::json_valid(&s) {
                return Err(Error::new(
                    ErrorKind::BadValue,
                    format!(
                        "CONSTRAINT `{}` failed: invalid JSON text at row {}",
                        at.column.name, at.row
                    ),
                ));
            }
            Ok(Value::Json(Cow::Owned(s)))
        }
        SqlType::Binary(n) => {
            let mut b = v.to_bytes().unwrap_or_default();
            if b.len() > *n as usize {
                return Err(at.too_long());
            }
            b.resize(*n as usize, 0);
            Ok(Value::Bytes(Cow::Owned(b)))
        }
        SqlType::VarBinary(n) => {
            let b = v.to_bytes().unwrap_or_default();
            if b.len() > *n as usize {
                return Err(at.too_long());
            }
            Ok(Value::Bytes(Cow::Owned(b)))
        }
        SqlType::Blob(max) => {
            let b = v.to_bytes().unwrap_or_default();
            if b.len() as u64 > *max {
                return Err(at.too_long());
            }
            Ok(Value::Bytes(Cow::Owned(b)))
        }
        SqlType::Date => {
            let dt = datetime_of(v, at, "date")?;
            Ok(Value::Date(dt.date))
        }
        SqlType::DateTime(fsp) => {
            let mut dt = datetime_of(v, at, "datetime")?;
            dt.micro = truncate_micros(dt.micro, *fsp);
            Ok(Value::DateTime(dt))
        }
        SqlType::Timestamp(fsp) => {
            let mut dt = datetime_of(v, at, "datetime")?;
            dt.micro = truncate_micros(dt.micro, *fsp);
            if dt.date == ZERO_DATE && dt.hour == 0 && dt.minute == 0 && dt.second == 0 {
                return Ok(Value::Timestamp(0));
            }
            if dt.date.month == 0 || dt.date.day == 0 {
                return Err(at.bad("datetime", v));
            }
            let us = datetime_to_micros(&dt);
            if !(TIMESTAMP_MIN_US..=TIMESTAMP_MAX_US).contains(&us) {
                return Err(at.bad("datetime", v));
            }
            Ok(Value::Timestamp(us))
        }
        SqlType::Time(fsp) => {
            let us = match v {
                Datum::Time(t) => *t,
                Datum::DateTime(dt) => {
                    (i64::from(dt.hour) * 3600 + i64::from(dt.minute) * 60 + i64::from(dt.second))
                        * 1_000_000
                        + i64::from(dt.micro)
                }
                Datum::Str(s) => text::parse_time(s).ok_or_else(|| at.bad("time", v))?,
                other => {
                    let n = other.to_decimal().ok_or_else(|| at.bad("time", v))?;
                    text::parse_time(&n.to_string()).ok_or_else(|| at.bad("time", v))?
                }
            };
            if us.abs() > TIME_MAX_MICROS {
                return Err(at.out_of_range());
            }
            let sign = if us < 0 { -1 } else { 1 };
            let a = us.abs();
            let micro = truncate_micros((a % 1_000_000) as u32, *fsp);
            Ok(Value::Time(sign * (a - a % 1_000_000 + i64::from(micro))))
        }
        SqlType::Year => {
            let n: i128 = match v {
                Datum::Str(s) => {
                    let t = s.trim();
                    let n: i128 = t.parse().map_err(|_| at.bad("integer", v))?;
                    if t.len() <= 2 {
                        // Two-digit years: 00-69 -> 2000-2069, 70-99 -> 1970-1999.
                        if n < 70 { 2000 + n } else { 1900 + n }
                    } else {
                        n
                    }
                }
                other => {
                    let n = integer_of(other, at)?;
                    if (1..70).contains(&n) {
                        2000 + n
                    } else if (70..100).contains(&n) {
                        1900 + n
                    } else {
                        n
                    }
                }
            };
            if n != 0 && !(1901..=2155).contains(&n) {
                return Err(at.out_of_range());
            }
            Ok(Value::UInt(n as u64))
        }
        SqlType::Enum(labels) => {
            let label = match v {
                Datum::Int(_) | Datum::UInt(_) | Datum::Dec(_) | Datum::Double(_) => {
                    let i = integer_of(v, at)?;
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| i.checked_sub(1))
                        .and_then(|i| labels.get(i))
                        .cloned()
                }
                other => {
                    let s = other.to_text().unwrap_or_default();
                    let s = s.trim_end_matches(' ');
                    labels.iter().find(|l| text::ci_eq(l, s)).cloned()
                }
            };
            let label = label.ok_or_else(|| {
                Error::new(
                    ErrorKind::BadValue,
                    format!(
                        "Data truncated for column '{}' at row {}",
                        at.column.name, at.row
                    ),
                )
            })?;
            Ok(Value::Enum(Cow::Owned(label)))
        }
        SqlType::Set(labels) => {
            let mut mask: u64 = 0;
            match v {
                Datum::Int(_) | Datum::UInt(_) | Datum::Dec(_) | Datum::Double(_) => {
                    let i = integer_of(v, at)?;
                    let limit = if labels.len() >= 64 {
                        u64::MAX
                    } else {
                        (1u64 << labels.len()) - 1
                    };
                    let m = u64::try_from(i).map_err(|_| at.bad("set", v))?;
                    if m & !limit != 0 {
                        return Err(at.bad("set", v));
                    }
                    mask = m;
                }
                other => {
                    let s = other.to_text().unwrap_or_default();
                    if !s.is_empty() {
                        for part in s.split(',') {
                            let part = part.trim_end_matches(' ');
                            let i = labels
                                .iter()
                                .position(|l| text::ci_eq(l, part))
                                .ok_or_else(|| at.bad("set", v))?;
                            mask |= 1u64 << i;
                        }
                    }
                }
            }
            let joined: Vec<&str> = labels
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1u64 << i) != 0)
                .map(|(_, l)| l.as_str())
                .collect();
            Ok(Value::Set(Cow::Owned(joined.join(","))))
        }
        SqlType::Bit(n) => {
            let bits = match v {
                Datum::Bytes(b) => {
                    let b = &b[b.iter().take_while(|&&x| x == 0).count()..];
                    if b.len() > 8 {
                        return Err(at.too_long());
                    }
                    b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
                }
                other => {
                    let i = integer_of(other, at)?;
                    u64::try_from(i).map_err(|_| at.too_long())?
                }
            };
            if *n < 64 && bits >> n != 0 {
                return Err(at.too_long());
            }
            Ok(Value::UInt(bits))
        }
    }
}

fn truncate_micros(micro: u32, fsp: u8) -> u32 {
    let div = 10u32.pow(6 - u32::from(fsp.min(6)));
    micro - micro % div
}

fn integer_of(v: &Datum, at: &StoreAt<'_>) -> Result<i128> {
    match v {
        Datum::Int(i) => Ok(i128::from(*i)),
        Datum::UInt(u) => Ok(i128::from(*u)),
        Datum::Double(f) => {
            if !f.is_finite() || f.abs() > 1.8e19 {
                return Err(at.out_of_range());
            }
            Ok(f.round_ties_even() as i128)
        }
        Datum::Str(s) => {
            let t = s.trim();
            if let Ok(i) = t.parse::<i128>() {
                return Ok(i);
            }
            let d = Decimal::parse(t)
                .or_else(|| t.parse::<f64>().ok().and_then(Decimal::from_f64))
                .ok_or_else(|| at.bad("integer", v))?;
            d.to_i128().ok_or_else(|| at.out_of_range())
        }
        Datum::Bytes(b) => {
            let s = String::from_utf8_lossy(b).into_owned();
            integer_of(&Datum::Str(s), at)
        }
        other => other
            .to_decimal()
            .and_then(|d| d.to_i128())
            .ok_or_else(|| at.out_of_range()),
    }
}

fn float_of(v: &Datum, at: &StoreAt<'_>) -> Result<f64> {
    match v {
        Datum::Str(s) => s.trim().parse::<f64>().map_err(|_| at.bad("double", v)),
        other => Ok(other.to_f64()),
    }
}

fn text_of(v: &Datum, at: &StoreAt<'_>) -> Result<String> {
    match v {
        Datum::Bytes(b) => String::from_utf8(b.clone()).map_err(|_| at.bad("string", v)),
        other => Ok(other.to_text().unwrap_or_default()),
    }
}

fn datetime_of(v: &Datum, at: &StoreAt<'_>, what: &str) -> Result<DateTime> {
    let dt = match v {
        Datum::DateTime(dt) => *dt,
        Datum::Date(d) => DateTime {
            date: *d,
            ..ZERO_DATETIME
        },
        Datum::Str(s) => text::parse_datetime(s).ok_or_else(|| at.bad(what, v))?,
        Datum::Int(_) | Datum::UInt(_) => {
            let n = integer_of(v, at)?;
            text::datetime_from_number(n).ok_or_else(|| at.bad(what, v))?
        }
        _ => return Err(at.bad(what, v)),
    };
    if !date_ok(&dt.date) {
        return Err(at.bad(what, v));
    }
    Ok(dt)
}

/// The DATETIME at midnight of a date.
pub fn datetime_of_date(d: &Date) -> DateTime {
    DateTime {
        date: *d,
        ..ZERO_DATETIME
    }
}
