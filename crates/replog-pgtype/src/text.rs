//! PostgreSQL's text output form (what test_decoding, wal2json and pgoutput
//! in text mode carry; DateStyle ISO, IntervalStyle postgres) to and from
//! replog values.

use crate::TypeError;
use replog_core::value::{
    Interval, NumericSpecial, Value, days_from_civil, is_decimal_literal, pg, pg_time,
};
use replog_logical::PgType;
use std::borrow::Cow;
use std::fmt::Write as _;

type R<T> = std::result::Result<T, String>;

/// Parses `text`, the text output of a value of type `ty` in column
/// `column`, into a value. Text-like types borrow from `text`.
pub fn parse<'a>(column: &str, ty: &PgType<'_>, text: &'a str) -> Result<Value<'a>, TypeError> {
    parse_inner(ty, text).map_err(|what| TypeError::new(column, ty, what))
}

fn parse_inner<'a>(ty: &PgType<'_>, s: &'a str) -> R<Value<'a>> {
    Ok(match ty {
        PgType::Int2 => Value::Int(int_in(s, i64::from(i16::MIN), i64::from(i16::MAX))?),
        PgType::Int4 => Value::Int(int_in(s, i64::from(i32::MIN), i64::from(i32::MAX))?),
        PgType::Int8 => Value::Int(int_in(s, i64::MIN, i64::MAX)?),
        PgType::Oid => Value::UInt(int_in(s, 0, i64::from(u32::MAX))? as u64),
        PgType::Numeric(_) => numeric(s)?,
        PgType::Float4 => Value::F32(float(s)?),
        PgType::Float8 => Value::F64(float(s)?),
        PgType::Bool => match s {
            "t" | "true" => Value::Bool(true),
            "f" | "false" => Value::Bool(false),
            _ => return Err(format!("{s:?} is not a boolean (t or f)")),
        },
        PgType::Bytea => Value::Bytes(Cow::Owned(bytea(s)?)),
        PgType::Date => Value::PgDate(date(s)?),
        PgType::Time(_) => {
            let (t, rest) = time(s)?;
            if !rest.is_empty() {
                return Err(format!("unexpected {rest:?} after the time"));
            }
            Value::Time(t)
        }
        PgType::TimeTz(_) => {
            let (micros, rest) = time(s)?;
            let (offset, rest) = offset(rest)?;
            if !rest.is_empty() {
                return Err(format!("unexpected {rest:?} after the time zone"));
            }
            Value::TimeTz { micros, offset }
        }
        PgType::Timestamp(_) => Value::PgTimestamp(timestamp(s, false)?),
        PgType::TimestampTz(_) => Value::PgTimestampTz(timestamp(s, true)?),
        PgType::Interval(_) => Value::Interval(interval(s)?),
        PgType::Uuid => Value::Uuid(uuid(s)?),
        PgType::Json | PgType::Jsonb => Value::Json(Cow::Borrowed(s)),
        PgType::Enum { labels, .. } => {
            if !labels.is_empty() && !labels.contains(&s) {
                return Err(format!("{s:?} is not a label of the enum"));
            }
            Value::Enum(Cow::Borrowed(s))
        }
        // Every other type is held as its text: the plain strings
        // (`PgType::is_plain_text`: a new type is classified there), and
        // money, xml, bit strings and arrays, whose text is their value.
        other => {
            debug_assert!(
                other.is_plain_text()
                    || matches!(
                        other,
                        PgType::Money
                            | PgType::Xml
                            | PgType::Bit(_)
                            | PgType::VarBit(_)
                            | PgType::Array(_)
                    ),
                "{other:?}"
            );
            Value::Text(Cow::Borrowed(s))
        }
    })
}

/// The bytes as UTF-8 text, borrowed or owned as they come.
pub(crate) fn utf8(b: Cow<'_, [u8]>) -> R<Cow<'_, str>> {
    match b {
        Cow::Borrowed(b) => std::str::from_utf8(b)
            .map(Cow::Borrowed)
            .map_err(|e| format!("text is not UTF-8: {e}")),
        Cow::Owned(v) => String::from_utf8(v)
            .map(Cow::Owned)
            .map_err(|e| format!("text is not UTF-8: {}", e.utf8_error())),
    }
}

fn int_in(s: &str, min: i64, max: i64) -> R<i64> {
    let v: i64 = s.parse().map_err(|_| format!("{s:?} is not an integer"))?;
    if v < min || v > max {
        return Err(format!("{v} is out of range {min}..={max}"));
    }
    Ok(v)
}

fn numeric(s: &str) -> R<Value<'_>> {
    Ok(match s {
        "NaN" => Value::NumericSpecial(NumericSpecial::NaN),
        "Infinity" => Value::NumericSpecial(NumericSpecial::PosInfinity),
        "-Infinity" => Value::NumericSpecial(NumericSpecial::NegInfinity),
        _ if is_decimal_literal(s) => {
            crate::binary::decimal_fits(s.len())?;
            Value::Decimal(Cow::Borrowed(s))
        }
        _ => {
            return Err(format!(
                "{s:?} is not a numeric (digits[.digits], NaN, ±Infinity)"
            ));
        }
    })
}

fn float<F: std::str::FromStr>(s: &str) -> R<F> {
    let ok = match s {
        "NaN" | "Infinity" | "-Infinity" => true,
        _ => s
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e')),
    };
    ok.then(|| s.parse().ok())
        .flatten()
        .ok_or_else(|| format!("{s:?} is not a floating-point number"))
}

/// Decodes bytea's hex (`\x0a0b`) or escape (`a\\b\001`) output.
pub(crate) fn bytea(s: &str) -> R<Vec<u8>> {
    let b = s.as_bytes();
    if let Some(hex) = s.strip_prefix("\\x") {
        let h = hex.as_bytes();
        if h.len() % 2 != 0 {
            return Err("bytea hex with an odd number of digits".into());
        }
        return h
            .chunks_exact(2)
            .map(|p| {
                let d = |c: u8| (c as char).to_digit(16);
                match (d(p[0]), d(p[1])) {
                    (Some(a), Some(b)) => Ok((a * 16 + b) as u8),
                    _ => Err(format!(
                        "bytea: {:?} is not hex",
                        String::from_utf8_lossy(p)
                    )),
                }
            })
            .collect();
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let oct = b
                .get(i + 1..i + 4)
                .filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c)) && o[0] <= b'3')
                .ok_or_else(|| format!("bytea: bad escape at byte {i}"))?;
            out.push((oct[0] - b'0') * 64 + (oct[1] - b'0') * 8 + (oct[2] - b'0'));
            i += 4;
        }
    }
    Ok(out)
}

fn digits(s: &str, what: &str) -> R<u64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("{what} {s:?} is not a number"));
    }
    s.parse()
        .map_err(|_| format!("{what} {s:?} is not a number"))
}

/// `YYYY-MM-DD` (year of 4 or more digits): (year, month, day), and the
/// rest. A `bc` year's leap day follows the proleptic calendar: 1 BC is
/// year 0, so 5 BC, 2345 BC… have a February 29.
fn ymd(s: &str, bc: bool) -> R<((i64, u32, u32), &str)> {
    let d1 = s
        .find('-')
        .ok_or_else(|| format!("{s:?} is not YYYY-MM-DD"))?;
    let y = digits(&s[..d1], "year")? as i64;
    let rest = &s[d1 + 1..];
    let m = digits(rest.get(..2).ok_or("month missing")?, "month")? as u32;
    if rest.as_bytes().get(2) != Some(&b'-') {
        return Err(format!("{s:?} is not YYYY-MM-DD"));
    }
    let d = digits(rest.get(3..5).ok_or("day missing")?, "day")? as u32;
    let astronomical = if bc { 1 - y } else { y };
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(astronomical, m) {
        return Err(format!("no such date: {s:?}"));
    }
    Ok(((y, m, d), &rest[5..]))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 2000-01-01; BC years are 1-based (1 BC = year 0).
fn pg_days(y: i64, m: u32, d: u32, bc: bool) -> R<i64> {
    if y == 0 {
        return Err("year 0 does not exist".into());
    }
    let y = if bc { 1 - y } else { y };
    Ok(days_from_civil(y, m, d) - pg::EPOCH_DAYS_FROM_UNIX)
}

fn date(s: &str) -> R<i32> {
    match s {
        "infinity" => return Ok(pg::DATE_POS_INFINITY),
        "-infinity" => return Ok(pg::DATE_NEG_INFINITY),
        _ => {}
    }
    let (body, bc) = match s.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (s, false),
    };
    let ((y, m, d), rest) = ymd(body, bc)?;
    if !rest.is_empty() {
        return Err(format!("unexpected {rest:?} after the date"));
    }
    let days = pg_days(y, m, d, bc)?;
    i32::try_from(days)
        .ok()
        .filter(|d| pg::date_ok(*d) && *d != pg::DATE_POS_INFINITY && *d != pg::DATE_NEG_INFINITY)
        .ok_or_else(|| format!("date {s:?} is out of PostgreSQL's range"))
}

/// `HH:MM:SS[.ffffff]` → microseconds (up to 24:00:00), and the rest.
fn time(s: &str) -> R<(i64, &str)> {
    let b = s.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return Err(format!("{s:?} is not HH:MM:SS"));
    }
    let h = digits(&s[..2], "hour")? as i64;
    let mi = digits(&s[3..5], "minute")? as i64;
    let sec = digits(&s[6..8], "second")? as i64;
    let mut rest = &s[8..];
    let mut micro = 0i64;
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 6 {
            return Err(format!("fraction of {s:?} has {n} digits (1 to 6)"));
        }
        micro = digits(&f[..n], "fraction")? as i64 * 10i64.pow(6 - n as u32);
        rest = &f[n..];
    }
    let us = ((h * 60 + mi) * 60 + sec) * 1_000_000 + micro;
    if mi > 59 || sec > 59 || us > pg::TIME_DAY {
        return Err(format!("time {s:?} out of range"));
    }
    Ok((us, rest))
}

/// `+HH[:MM[:SS]]` → seconds east, and the rest.
fn offset(s: &str) -> R<(i32, &str)> {
    let sign = match s.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(format!("{s:?} is not a UTC offset (+HH[:MM[:SS]])")),
    };
    let mut rest = &s[1..];
    let mut secs = 0i64;
    for (i, unit) in [3600, 60, 1].into_iter().enumerate() {
        if i > 0 {
            match rest.strip_prefix(':') {
                Some(r) => rest = r,
                None => break,
            }
        }
        let part = rest
            .get(..2)
            .ok_or_else(|| format!("offset {s:?} is cut short"))?;
        secs += digits(part, "offset")? as i64 * unit;
        rest = &rest[2..];
    }
    let o = sign * secs;
    if o.unsigned_abs() > pg::MAX_OFFSET as u64 {
        return Err(format!("offset {s:?} out of range"));
    }
    Ok((o as i32, rest))
}

fn timestamp(s: &str, tz: bool) -> R<i64> {
    match s {
        "infinity" => return Ok(pg::TS_POS_INFINITY),
        "-infinity" => return Ok(pg::TS_NEG_INFINITY),
        _ => {}
    }
    let (body, bc) = match s.strip_suffix(" BC") {
        Some(b) => (b, true),
        None => (s, false),
    };
    let ((y, m, d), rest) = ymd(body, bc)?;
    let rest = rest
        .strip_prefix(' ')
        .ok_or_else(|| format!("{s:?} has no time part"))?;
    let (us, rest) = time(rest)?;
    let (off, rest) = if tz { offset(rest)? } else { (0, rest) };
    if !rest.is_empty() {
        return Err(format!("unexpected {rest:?} in timestamp {s:?}"));
    }
    let t = i128::from(pg_days(y, m, d, bc)?) * 86_400_000_000 + i128::from(us)
        - i128::from(off) * 1_000_000;
    i64::try_from(t)
        .ok()
        .filter(|t| (pg::TS_MIN..pg::TS_END).contains(t))
        .ok_or_else(|| format!("timestamp {s:?} is out of PostgreSQL's range"))
}

/// IntervalStyle `postgres`: `[N year[s]] [N mon[s]] [N day[s]] [[+-]HH:MM:SS[.f]]`.
fn interval(s: &str) -> R<Interval> {
    match s {
        "infinity" => return Ok(Interval::INFINITY),
        "-infinity" => return Ok(Interval::NEG_INFINITY),
        _ => {}
    }
    let mut iv = Interval {
        months: 0,
        days: 0,
        micros: 0,
    };
    let bad = || format!("{s:?} is not an interval (IntervalStyle postgres)");
    let mut words = s.split(' ').peekable();
    let mut any = false;
    while let Some(w) = words.next() {
        any = true;
        if w.contains(':') {
            let (neg, t) = match w.as_bytes().first() {
                Some(b'-') => (true, &w[1..]),
                Some(b'+') => (false, &w[1..]),
                _ => (false, w),
            };
            // Hours may exceed 24 and have more than two digits.
            let c = t.find(':').ok_or_else(bad)?;
            let h = digits(&t[..c], "hours")? as i64;
            let padded = format!("00{}", &t[c..]);
            let (rest_us, tail) = time(&padded)?;
            if !tail.is_empty() || words.peek().is_some() {
                return Err(bad());
            }
            // In i128: the most negative interval has one more microsecond
            // than the most positive.
            let us = i128::from(h) * 3_600_000_000 + i128::from(rest_us);
            iv.micros = i64::try_from(if neg { -us } else { us }).map_err(|_| bad())?;
            break;
        }
        let n: i64 = w.parse().map_err(|_| bad())?;
        let unit = words.next().ok_or_else(bad)?;
        let n32 = |n: i64| i32::try_from(n).map_err(|_| bad());
        match unit {
            "year" | "years" => {
                iv.months = n32(n.checked_mul(12).ok_or_else(bad)? + i64::from(iv.months))?
            }
            "mon" | "mons" => iv.months = n32(n + i64::from(iv.months))?,
            "day" | "days" => iv.days = n32(n)?,
            _ => return Err(bad()),
        }
    }
    if !any {
        return Err(bad());
    }
    Ok(iv)
}

fn uuid(s: &str) -> R<[u8; 16]> {
    let hex: Vec<u8> = s.bytes().filter(|c| *c != b'-').collect();
    let b = s.as_bytes();
    let dashes_ok = b.len() == 36 && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-');
    if hex.len() != 32 || !(dashes_ok || b.len() == 32) {
        return Err(format!("{s:?} is not a UUID"));
    }
    let mut out = [0u8; 16];
    for (i, p) in hex.chunks_exact(2).enumerate() {
        let d = |c: u8| (c as char).to_digit(16);
        match (d(p[0]), d(p[1])) {
            (Some(a), Some(b)) => out[i] = (a * 16 + b) as u8,
            _ => return Err(format!("{s:?} is not a UUID")),
        }
    }
    Ok(out)
}

/// Writes PostgreSQL's text output of `v` (a value of a PostgreSQL column) — what
/// the server prints (DateStyle ISO, TimeZone UTC, IntervalStyle
/// postgres, extra_float_digits 1). NULL writes nothing; the caller
/// decides how to show it.
pub fn format(v: &Value<'_>, out: &mut String) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Time(us) => {
            let _ = pg_time(*us, out);
        }
        Value::F32(x) => float_out(f64::from(*x), Some(*x), out),
        Value::F64(x) => float_out(*x, None, out),
        Value::Bytes(b) => {
            out.push_str("\\x");
            for x in b.iter() {
                let _ = write!(out, "{x:02x}");
            }
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// PostgreSQL's float output: the shortest digits that read back exactly,
/// in exponent form (`1e+20`, `1.5e-05`) when the decimal exponent is
/// below -4 or at least 15 (6 for `real`).
fn float_out(x: f64, single: Option<f32>, out: &mut String) {
    if x.is_nan() {
        out.push_str("NaN");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // Shortest round-trip digits, from Rust's `{:e}` (also shortest).
    let sci = match single {
        Some(f) => format!("{f:e}"),
        None => format!("{x:e}"),
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let limit = if single.is_some() { 6 } else { 15 };
    if exp < -4 || exp >= limit {
        let _ = write!(
            out,
            "{mant}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else {
        match single {
            Some(f) => {
                let _ = write!(out, "{f}");
            }
            None => {
                let _ = write!(out, "{x}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(ty: PgType<'_>, s: &str) -> Value<'static> {
        let v = parse("c", &ty, s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let mut out = String::new();
        format(&v, &mut out);
        assert_eq!(out, s, "{ty}");
        let mut enc = Vec::new();
        v.encode(&mut enc).unwrap();
        v.into_owned()
    }

    #[test]
    fn text_forms_round_trip() {
        rt(PgType::Int2, "-32768");
        rt(PgType::Int8, "9223372036854775807");
        rt(PgType::Numeric(None), "NaN");
        rt(PgType::Numeric(None), "-Infinity");
        rt(PgType::Numeric(Some((12, 2))), "-1234.50");
        rt(PgType::Float8, "1e+20");
        rt(PgType::Float8, "0.1");
        rt(PgType::Float8, "1.5e-05");
        rt(PgType::Float8, "-Infinity");
        rt(PgType::Float4, "3.1415927");
        rt(PgType::Bool, "t");
        rt(PgType::Bytea, "\\x0a0b");
        rt(PgType::Date, "2024-02-29");
        rt(PgType::Date, "0044-03-15 BC");
        // Leap days of BC years (1 BC is year 0): 5 BC and 2345 BC have one,
        // 2 BC has none.
        rt(PgType::Date, "0005-02-29 BC");
        rt(PgType::Timestamp(None), "2345-02-29 05:44:34.953216 BC");
        assert!(parse("c", &PgType::Date, "0002-02-29 BC").is_err());
        rt(PgType::Date, "infinity");
        rt(PgType::Date, "5874897-12-31");
        rt(PgType::Time(None), "24:00:00");
        rt(PgType::Time(None), "04:05:06.5");
        rt(PgType::TimeTz(None), "04:05:06.123+05:30");
        rt(PgType::TimeTz(None), "00:00:00-15:59:59");
        rt(PgType::Timestamp(None), "2024-01-02 03:04:05.123456");
        rt(PgType::Timestamp(None), "294276-12-31 23:59:59.999999");
        rt(PgType::Timestamp(None), "4714-11-24 00:00:00 BC");
        rt(PgType::TimestampTz(None), "2024-01-02 03:04:05.123456+00");
        rt(PgType::TimestampTz(None), "-infinity");
        rt(PgType::Interval(None), "1 year 2 mons 3 days 04:05:06");
        rt(PgType::Interval(None), "00:00:00");
        // The extremes of the time field (i64 microseconds).
        rt(PgType::Interval(None), "-2562047788:00:54.775808");
        rt(PgType::Interval(None), "2562047788:00:54.775807");
        assert!(parse("c", &PgType::Interval(None), "2562047788:00:54.775808").is_err());
        rt(
            PgType::Interval(None),
            "-1 years -2 mons +3 days -04:05:06.5",
        );
        rt(PgType::Interval(None), "1 day -00:00:01");
        rt(PgType::Interval(None), "1000:00:00");
        rt(PgType::Interval(None), "-infinity");
        rt(PgType::Uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
        rt(PgType::Array(Box::new(PgType::Text)), "{\"a b\",c,NULL}");
    }

    #[test]
    fn offsets_convert_to_utc() {
        let a = parse("c", &PgType::TimestampTz(None), "2024-01-02 03:04:05+02").unwrap();
        let b = parse("c", &PgType::TimestampTz(None), "2024-01-02 01:04:05+00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2024-01-02 01:04:05+00");
    }

    #[test]
    fn errors_name_the_column() {
        for (ty, s) in [
            (PgType::Int2, "32768"),
            (PgType::Int4, "1.5"),
            (PgType::Numeric(None), "1e5"),
            (PgType::Bool, "yes"),
            (PgType::Bytea, "\\x0"),
            (PgType::Date, "2023-02-29"),
            (PgType::Date, "0000-01-01"),
            (PgType::Time(None), "24:00:01"),
            (PgType::Timestamp(None), "294277-01-01 00:00:00"),
            (PgType::TimestampTz(None), "2024-01-01 00:00:00+16"),
            (PgType::Interval(None), "3 fortnights"),
            (PgType::Uuid, "a0eebc99"),
        ] {
            let e = parse("price", &ty, s).unwrap_err().to_string();
            assert!(e.starts_with(&format!("column price ({ty}): ")), "{e}");
        }
    }
}
