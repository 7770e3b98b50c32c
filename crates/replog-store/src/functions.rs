//! Built-in functions beyond the core of [`crate::eval`]: string padding
//! and searching, math, bit operators, hashes, regular expressions and
//! INTERVAL arithmetic, with MariaDB's NULL and edge-case rules.
//!
//! Every function here is deterministic: none reads the clock, the
//! random generator or the session (`crate::eval` keeps those). Results
//! that could grow without bound (`LPAD`, `SPACE`, `INSERT`, `REPLACE`)
//! are limited to the session's `max_allowed_packet` bytes, past which
//! MariaDB returns NULL with warning 1301 ([`result_too_long`]).

use crate::error::{Error, ErrorKind, Result};
use crate::text;
use crate::types::{Datum, datetime_of_date, datetime_to_micros, timestamp_to_datetime};
use replog_core::value::{Date, DateTime, civil_from_days, days_from_civil};
use std::cmp::Ordering;

/// MariaDB 10.11's default `max_allowed_packet`, 16 MiB: the store's
/// default limit on a statement's length and on a string function's result.
pub const DEFAULT_MAX_ALLOWED_PACKET: u64 = 16 << 20;

/// The largest `max_allowed_packet` MariaDB accepts (1 GiB); also its
/// `slave_max_allowed_packet`, the limit on a replicated statement.
pub const MAX_MAX_ALLOWED_PACKET: u64 = 1 << 30;

/// The smallest `max_allowed_packet` MariaDB accepts (1 KiB).
pub const MIN_MAX_ALLOWED_PACKET: u64 = 1024;

/// Whether a warning is [`result_too_long`]'s.
pub(crate) fn is_result_too_long(warning: &str) -> bool {
    warning.starts_with("Result of ") && warning.contains(") was larger than max_allowed_packet (")
}

/// MariaDB's answer to a string function whose result would be longer
/// than `max_allowed_packet` (`limit`): NULL, with warning 1301.
pub(crate) fn result_too_long(warnings: &mut Vec<String>, f: &str, limit: u64) -> Datum {
    warnings.push(format!(
        "Result of {f}() was larger than max_allowed_packet ({limit}) - truncated"
    ));
    Datum::Null
}

fn chars_of(d: &Datum) -> Option<Vec<char>> {
    d.to_text().map(|s| s.chars().collect())
}

fn int_arg(d: &Datum) -> Option<i64> {
    (!d.is_null()).then(|| d.to_i64())
}

fn out_of_range(what: &str) -> Error {
    Error::new(
        ErrorKind::OutOfRange,
        format!("{what} value is out of range"),
    )
}

fn double(v: f64) -> Result<Datum> {
    if v.is_finite() {
        Ok(Datum::Double(v))
    } else {
        Err(out_of_range("DOUBLE"))
    }
}

/// Checks that the native function `name` was called with `n` arguments:
/// MySQL's error otherwise.
pub(crate) fn arity(name: &str, args: &[Datum], n: usize) -> Result<()> {
    if args.len() == n {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Parse,
            format!("Incorrect parameter count in the call to native function '{name}'"),
        ))
    }
}

/// A function of this module, or `None` when `name` is not one.
/// `limit` is the session's `max_allowed_packet`.
pub(crate) fn call(
    name: &str,
    args: &[Datum],
    warnings: &mut Vec<String>,
    limit: u64,
) -> Option<Result<Datum>> {
    let arity = |n: usize| arity(name, args, n);
    let any_null = args.iter().any(Datum::is_null);
    macro_rules! need {
        ($n:expr) => {{
            if let Err(e) = arity($n) {
                return Some(Err(e));
            }
            if any_null {
                return Some(Ok(Datum::Null));
            }
        }};
    }
    let too_big = |warnings: &mut Vec<String>, f: &str| result_too_long(warnings, f, limit);
    Some(Ok(match name {
        "LPAD" | "RPAD" => {
            need!(3);
            let (s, pad) = (chars_of(&args[0])?, chars_of(&args[2])?);
            let n = args[1].to_i64();
            if n < 0 {
                return Some(Ok(Datum::Null));
            }
            let n = n as u64;
            // MariaDB bounds the characters at 4 bytes each (utf8mb4).
            if n.saturating_mul(4) > limit {
                return Some(Ok(too_big(warnings, &name.to_ascii_lowercase())));
            }
            let n = n as usize;
            if n <= s.len() {
                return Some(Ok(Datum::Str(s[..n].iter().collect())));
            }
            if pad.is_empty() {
                return Some(Ok(Datum::Null));
            }
            let fill: String = pad.iter().cycle().take(n - s.len()).collect();
            let s: String = s.iter().collect();
            Datum::Str(if name == "LPAD" { fill + &s } else { s + &fill })
        }
        "SPACE" => {
            need!(1);
            let n = args[0].to_i64().max(0) as u64;
            if n > limit {
                return Some(Ok(too_big(warnings, "space")));
            }
            Datum::Str(" ".repeat(n as usize))
        }
        "LEFT" | "RIGHT" => {
            need!(2);
            let s = chars_of(&args[0])?;
            let n = args[1].to_i64().clamp(0, s.len() as i64) as usize;
            Datum::Str(if name == "LEFT" {
                s[..n].iter().collect()
            } else {
                s[s.len() - n..].iter().collect()
            })
        }
        "LTRIM" | "RTRIM" => {
            need!(1);
            let s = args[0].to_text()?;
            Datum::Str(if name == "LTRIM" {
                s.trim_start_matches(' ').to_string()
            } else {
                s.trim_end_matches(' ').to_string()
            })
        }
        "REPLACE" => {
            need!(3);
            let (s, from, to) = (args[0].to_text()?, args[1].to_text()?, args[2].to_text()?);
            if from.is_empty() {
                return Some(Ok(Datum::Str(s)));
            }
            let count = s.matches(from.as_str()).count();
            let len = (s.len() - count * from.len()).saturating_add(count.saturating_mul(to.len()));
            if len as u64 > limit {
                return Some(Ok(too_big(warnings, "replace")));
            }
            Datum::Str(s.replace(from.as_str(), &to))
        }
        "REVERSE" => {
            need!(1);
            Datum::Str(args[0].to_text()?.chars().rev().collect())
        }
        "INSTR" => {
            need!(2);
            Datum::Int(locate(&args[1].to_text()?, &args[0].to_text()?, 1))
        }
        "LOCATE" => {
            if args.len() == 2 {
                need!(2);
                Datum::Int(locate(&args[0].to_text()?, &args[1].to_text()?, 1))
            } else {
                need!(3);
                Datum::Int(locate(
                    &args[0].to_text()?,
                    &args[1].to_text()?,
                    args[2].to_i64(),
                ))
            }
        }
        "STRCMP" => {
            need!(2);
            Datum::Int(
                match text::ci_cmp(&args[0].to_text()?, &args[1].to_text()?) {
                    Ordering::Less => -1,
                    Ordering::Equal => 0,
                    Ordering::Greater => 1,
                },
            )
        }
        "ASCII" | "ORD" => {
            need!(1);
            let b = args[0].to_bytes()?;
            if name == "ORD" {
                // ORD: the first character's bytes as a big-endian number.
                let s = String::from_utf8_lossy(&b);
                let n = s.chars().next().map_or(0, |c| {
                    let mut buf = [0u8; 4];
                    c.encode_utf8(&mut buf)
                        .bytes()
                        .fold(0i64, |a, x| (a << 8) | i64::from(x))
                });
                Datum::Int(n)
            } else {
                Datum::Int(b.first().map_or(0, |&x| i64::from(x)))
            }
        }
        "CONV" => {
            need!(3);
            let (n, from, to) = (args[0].to_text()?, args[1].to_i64(), args[2].to_i64());
            let (from, to) = (from.unsigned_abs(), to.unsigned_abs());
            if !(2..=36).contains(&from) || !(2..=36).contains(&to) {
                return Some(Ok(Datum::Null));
            }
            // The longest prefix of digits of the base, as MariaDB reads it.
            let t = n.trim();
            let (neg, digits) = match t.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, t),
            };
            let mut v: u64 = 0;
            for c in digits.chars() {
                let Some(d) = c.to_digit(36).filter(|&d| u64::from(d) < from) else {
                    break;
                };
                v = v.saturating_mul(from).saturating_add(u64::from(d));
            }
            if neg {
                v = v.wrapping_neg();
            }
            let mut out = Vec::new();
            loop {
                let d = (v % to) as u32;
                out.push(char::from_digit(d, 36)?.to_ascii_uppercase());
                v /= to;
                if v == 0 {
                    break;
                }
            }
            Datum::Str(out.into_iter().rev().collect())
        }
        "CHAR" => {
            // CHAR(n, …): the bytes of each integer, NULLs skipped.
            let mut out = Vec::new();
            for a in args.iter().filter(|a| !a.is_null()) {
                let v = a.to_i64() as u64;
                let bytes = v.to_be_bytes();
                let first = bytes.iter().position(|&b| b != 0).unwrap_or(7);
                out.extend_from_slice(&bytes[first..]);
            }
            Datum::Bytes(out)
        }
        "UNHEX" => {
            need!(1);
            let s = args[0].to_text()?;
            let s = if s.len() % 2 == 1 { format!("0{s}") } else { s };
            let mut out = Vec::with_capacity(s.len() / 2);
            for i in (0..s.len()).step_by(2) {
                match s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => out.push(b),
                    None => return Some(Ok(Datum::Null)),
                }
            }
            Datum::Bytes(out)
        }
        "INSERT" => {
            need!(4);
            let s = chars_of(&args[0])?;
            let (pos, len) = (args[1].to_i64(), args[2].to_i64());
            let new = args[3].to_text()?;
            if pos < 1 || pos as usize > s.len() {
                return Some(Ok(Datum::Str(s.iter().collect())));
            }
            let start = pos as usize - 1;
            let end = if len < 0 {
                s.len()
            } else {
                start.saturating_add(len as usize).min(s.len())
            };
            let kept: usize = s[..start]
                .iter()
                .chain(&s[end..])
                .map(|c| c.len_utf8())
                .sum();
            if kept.saturating_add(new.len()) as u64 > limit {
                return Some(Ok(too_big(warnings, "insert")));
            }
            let mut out: String = s[..start].iter().collect();
            out.push_str(&new);
            out.extend(&s[end..]);
            Datum::Str(out)
        }
        "ELT" => {
            let Some((n, rest)) = args.split_first() else {
                return Some(arity(2).map(|_| Datum::Null));
            };
            match int_arg(n) {
                Some(i) if i >= 1 && (i as usize) <= rest.len() => rest[i as usize - 1].clone(),
                _ => Datum::Null,
            }
        }
        "FIELD" => {
            let Some((x, rest)) = args.split_first() else {
                return Some(arity(2).map(|_| Datum::Null));
            };
            if x.is_null() {
                return Some(Ok(Datum::Int(0)));
            }
            let i = rest
                .iter()
                .position(|y| crate::eval::compare(x, y) == Some(Ordering::Equal));
            Datum::Int(i.map_or(0, |i| i as i64 + 1))
        }
        "FIND_IN_SET" => {
            need!(2);
            let (x, set) = (args[0].to_text()?, args[1].to_text()?);
            if x.contains(',') {
                return Some(Ok(Datum::Int(0)));
            }
            let i = set.split(',').position(|p| text::ci_eq(p, &x));
            Datum::Int(if set.is_empty() {
                0
            } else {
                i.map_or(0, |i| i as i64 + 1)
            })
        }
        "SUBSTRING_INDEX" => {
            need!(3);
            let (s, delim, n) = (args[0].to_text()?, args[1].to_text()?, args[2].to_i64());
            if delim.is_empty() || n == 0 {
                return Some(Ok(Datum::Str(String::new())));
            }
            let parts: Vec<&str> = s.split(delim.as_str()).collect();
            let k = n.unsigned_abs() as usize;
            Datum::Str(if k >= parts.len() {
                s
            } else if n > 0 {
                parts[..k].join(&delim)
            } else {
                parts[parts.len() - k..].join(&delim)
            })
        }
        "QUOTE" => {
            if let Err(e) = arity(1) {
                return Some(Err(e));
            }
            let Some(s) = args[0].to_text() else {
                return Some(Ok(Datum::Str("NULL".into())));
            };
            let mut out = String::with_capacity(s.len() + 2);
            out.push('\'');
            for c in s.chars() {
                match c {
                    '\'' => out.push_str("\\'"),
                    '\\' => out.push_str("\\\\"),
                    '\0' => out.push_str("\\0"),
                    '\u{1a}' => out.push_str("\\Z"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            Datum::Str(out)
        }
        "ISNULL" => {
            if let Err(e) = arity(1) {
                return Some(Err(e));
            }
            Datum::Int(i64::from(args[0].is_null()))
        }
        // ----- date parts -------------------------------------------------
        "YEAR" | "MONTH" | "DAY" | "DAYOFMONTH" | "DAYOFWEEK" | "WEEKDAY" | "DAYOFYEAR"
        | "QUARTER" | "TO_DAYS" | "LAST_DAY" | "DATE" | "DAYNAME" | "MONTHNAME" => {
            need!(1);
            let Some(dt) = datetime_of(&args[0]) else {
                return Some(Ok(Datum::Null));
            };
            let d = dt.date;
            let (y, m) = (i64::from(d.year), u32::from(d.month));
            let days = days_from_civil(y, m, u32::from(d.day));
            // 1970-01-01 was a Thursday (WEEKDAY 3).
            let weekday = (days + 3).rem_euclid(7);
            match name {
                "YEAR" => Datum::Int(y),
                "MONTH" => Datum::Int(i64::from(m)),
                "DAY" | "DAYOFMONTH" => Datum::Int(i64::from(d.day)),
                "DAYOFWEEK" => Datum::Int((weekday + 1) % 7 + 1),
                "WEEKDAY" => Datum::Int(weekday),
                "DAYOFYEAR" => Datum::Int(days - days_from_civil(y, 1, 1) + 1),
                "QUARTER" => Datum::Int((i64::from(m) + 2) / 3),
                "DAYNAME" => Datum::Str(crate::dates::DAY_NAMES[weekday as usize].into()),
                "MONTHNAME" => Datum::Str(
                    crate::dates::MONTH_NAMES
                        .get((m as usize).wrapping_sub(1))?
                        .to_string(),
                ),
                // Days since year 0 (MySQL's TO_DAYS('0000-01-01') is 1).
                "TO_DAYS" => Datum::Int(days + 719_528),
                "LAST_DAY" => Datum::Date(Date {
                    day: days_in_month(y, m) as u8,
                    ..d
                }),
                _ => Datum::Date(d),
            }
        }
        "HOUR" | "MINUTE" | "SECOND" | "TIME" => {
            need!(1);
            let us = match &args[0] {
                Datum::Time(t) => Some(*t),
                Datum::DateTime(dt) => Some(datetime_to_micros(dt).rem_euclid(86_400_000_000)),
                other => other.to_text().and_then(|s| {
                    if s.contains('-') {
                        text::parse_datetime(&s)
                            .map(|dt| datetime_to_micros(&dt).rem_euclid(86_400_000_000))
                    } else {
                        text::parse_time(&s)
                    }
                }),
            };
            let Some(us) = us else {
                return Some(Ok(Datum::Null));
            };
            if name == "TIME" {
                return Some(Ok(Datum::Time(us)));
            }
            let s = us.unsigned_abs() / 1_000_000;
            Datum::Int(match name {
                "HOUR" => (s / 3600) as i64,
                "MINUTE" => (s / 60 % 60) as i64,
                _ => (s % 60) as i64,
            })
        }
        "DATEDIFF" => {
            need!(2);
            let (Some(a), Some(b)) = (datetime_of(&args[0]), datetime_of(&args[1])) else {
                return Some(Ok(Datum::Null));
            };
            let day =
                |d: &Date| days_from_civil(i64::from(d.year), u32::from(d.month), u32::from(d.day));
            Datum::Int(day(&a.date) - day(&b.date))
        }
        // ----- math -------------------------------------------------------
        "POW" | "POWER" => {
            need!(2);
            return Some(double(args[0].to_f64().powf(args[1].to_f64())));
        }
        "SQRT" => {
            need!(1);
            let x = args[0].to_f64();
            if x < 0.0 {
                Datum::Null
            } else {
                Datum::Double(x.sqrt())
            }
        }
        "EXP" => {
            need!(1);
            return Some(double(args[0].to_f64().exp()));
        }
        "LN" | "LOG10" | "LOG2" => {
            need!(1);
            let x = args[0].to_f64();
            if x <= 0.0 {
                warnings.push("Invalid argument for logarithm".into());
                return Some(Ok(Datum::Null));
            }
            Datum::Double(match name {
                "LN" => x.ln(),
                "LOG10" => x.log10(),
                _ => x.log2(),
            })
        }
        "LOG" => match args {
            [x] => return call("LN", std::slice::from_ref(x), warnings, limit),
            [b, x] => {
                need!(2);
                let (b, x) = (b.to_f64(), x.to_f64());
                if x <= 0.0 || b <= 0.0 || b == 1.0 {
                    warnings.push("Invalid argument for logarithm".into());
                    return Some(Ok(Datum::Null));
                }
                Datum::Double(x.ln() / b.ln())
            }
            _ => return Some(arity(2).map(|_| Datum::Null)),
        },
        "SIGN" => {
            need!(1);
            Datum::Int(match &args[0] {
                Datum::Int(i) => i.signum(),
                Datum::UInt(u) => i64::from(*u > 0),
                Datum::Dec(d) => {
                    if d.is_zero() {
                        0
                    } else if d.is_negative() {
                        -1
                    } else {
                        1
                    }
                }
                d => {
                    let v = d.to_f64();
                    if v > 0.0 {
                        1
                    } else if v < 0.0 {
                        -1
                    } else {
                        0
                    }
                }
            })
        }
        "GREATEST" | "LEAST" => {
            if args.len() < 2 {
                return Some(arity(2).map(|_| Datum::Null));
            }
            if any_null {
                return Some(Ok(Datum::Null));
            }
            let mut best = &args[0];
            for a in &args[1..] {
                let o = crate::eval::compare(a, best).unwrap_or(Ordering::Equal);
                if (name == "GREATEST" && o == Ordering::Greater)
                    || (name == "LEAST" && o == Ordering::Less)
                {
                    best = a;
                }
            }
            best.clone()
        }
        "RADIANS" | "DEGREES" | "SIN" | "COS" | "TAN" | "ASIN" | "ACOS" | "ATAN" | "COT" => {
            need!(1);
            let x = args[0].to_f64();
            let v = match name {
                "RADIANS" => x.to_radians(),
                "DEGREES" => x.to_degrees(),
                "SIN" => x.sin(),
                "COS" => x.cos(),
                "TAN" => x.tan(),
                "ASIN" | "ACOS" if !(-1.0..=1.0).contains(&x) => return Some(Ok(Datum::Null)),
                "ASIN" => x.asin(),
                "ACOS" => x.acos(),
                "ATAN" => x.atan(),
                _ => 1.0 / x.tan(),
            };
            return Some(double(v));
        }
        "BIT_COUNT" => {
            need!(1);
            Datum::Int(i64::from(bits(&args[0]).count_ones()))
        }
        "BIN" | "OCT" => {
            need!(1);
            let v = bits(&args[0]);
            Datum::Str(if name == "BIN" {
                format!("{v:b}")
            } else {
                format!("{v:o}")
            })
        }
        // ----- hashes -----------------------------------------------------
        "MD5" => {
            need!(1);
            Datum::Str(hex(&digest::<md5::Md5>(&args[0].to_bytes()?)))
        }
        "SHA1" | "SHA" => {
            need!(1);
            Datum::Str(hex(&digest::<sha1::Sha1>(&args[0].to_bytes()?)))
        }
        "SHA2" => {
            need!(2);
            let b = args[0].to_bytes()?;
            match args[1].to_i64() {
                0 | 256 => Datum::Str(hex(&digest::<sha2::Sha256>(&b))),
                224 => Datum::Str(hex(&digest::<sha2::Sha224>(&b))),
                384 => Datum::Str(hex(&digest::<sha2::Sha384>(&b))),
                512 => Datum::Str(hex(&digest::<sha2::Sha512>(&b))),
                _ => Datum::Null,
            }
        }
        "CRC32" => {
            need!(1);
            Datum::UInt(u64::from(crc32fast::hash(&args[0].to_bytes()?)))
        }
        _ => return crate::dates::call(name, args, warnings),
    }))
}

/// A number's text (`-1234.5`) with `decimals` digits after the point
/// (padded with zeros, or cut) and its integer digits grouped by three
/// with commas (`-1,234.50`): FORMAT's en_US form.
pub(crate) fn group_thousands(text: &str, decimals: usize) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut out = String::with_capacity(text.len() + int.len() / 3 + decimals + 2);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if decimals > 0 {
        out.push('.');
        out.extend(frac.chars().chain(std::iter::repeat('0')).take(decimals));
    }
    out
}

/// A DATE or DATETIME operand (strings parsed); `None` for anything else
/// and for zero dates.
pub(crate) fn datetime_of(d: &Datum) -> Option<DateTime> {
    let dt = match d {
        Datum::Date(x) => datetime_of_date(x),
        Datum::DateTime(x) => *x,
        other => text::parse_datetime(&other.to_text()?)?,
    };
    (dt.date.month != 0 && dt.date.day != 0).then_some(dt)
}

/// MySQL's bit operators' operand: the value as 64 unsigned bits.
pub(crate) fn bits(d: &Datum) -> u64 {
    match d {
        Datum::Int(i) => *i as u64,
        Datum::UInt(u) => *u,
        other => {
            let v = other.to_f64().round();
            if v >= 18_446_744_073_709_551_615.0 {
                u64::MAX
            } else if v <= -9_223_372_036_854_775_808.0 {
                i64::MIN as u64
            } else if v < 0.0 {
                (v as i64) as u64
            } else {
                v as u64
            }
        }
    }
}

fn digest<D: sha2::Digest>(b: &[u8]) -> Vec<u8> {
    D::digest(b).to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// LOCATE(sub, s, pos): 1-based position of `sub` in `s` at or after
/// character `pos`, case-insensitively; 0 when absent.
fn locate(sub: &str, s: &str, pos: i64) -> i64 {
    if pos < 1 {
        return 0;
    }
    let hay: Vec<char> = s.chars().collect();
    let needle: Vec<char> = sub.chars().collect();
    let start = pos as usize - 1;
    if start > hay.len() {
        return 0;
    }
    if needle.is_empty() {
        return pos;
    }
    let fold = |c: &char| c.to_uppercase().next().unwrap_or(*c);
    (start..=hay.len().saturating_sub(needle.len()))
        .find(|&i| {
            hay.get(i..i + needle.len())
                .is_some_and(|w| w.iter().map(fold).eq(needle.iter().map(fold)))
        })
        .map_or(0, |i| i as i64 + 1)
}

// ----- INTERVAL arithmetic ----------------------------------------------

/// An INTERVAL: whole months and microseconds, and whether the unit is a
/// day or larger (a DATE stays a DATE).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interval {
    months: i64,
    micros: i128,
    date_only: bool,
}

/// The interval `value` `unit` (`unit` as MySQL spells it: `DAY`,
/// `HOUR_MINUTE`, …); `None` for NULL or a value that does not read.
pub(crate) fn interval(value: &Datum, unit: &str) -> Result<Option<Interval>> {
    if value.is_null() {
        return Ok(None);
    }
    let unit = unit.to_ascii_uppercase();
    let unit = unit.trim_end_matches('S');
    let simple = |months: i64, micros: i128| Interval {
        months,
        micros,
        date_only: micros % 86_400_000_000 == 0,
    };
    const S: i128 = 1_000_000;
    let one = |scale: i128| -> Option<i128> {
        match value {
            Datum::Int(i) => Some(i128::from(*i) * scale),
            Datum::UInt(u) => Some(i128::from(*u) * scale),
            d => {
                let v = d.to_decimal()?;
                Some(v.round_to(0).to_i128()? * scale)
            }
        }
    };
    // Composite units: the value's numbers, right-aligned to its fields.
    let fields: &[i128] = match unit {
        "YEAR_MONTH" => &[-12, -1],
        "DAY_HOUR" => &[86_400 * S, 3600 * S],
        "DAY_MINUTE" => &[86_400 * S, 3600 * S, 60 * S],
        "DAY_SECOND" => &[86_400 * S, 3600 * S, 60 * S, S],
        "HOUR_MINUTE" => &[3600 * S, 60 * S],
        "HOUR_SECOND" => &[3600 * S, 60 * S, S],
        "MINUTE_SECOND" => &[60 * S, S],
        "DAY_MICROSECOND" => &[86_400 * S, 3600 * S, 60 * S, S, 1],
        "HOUR_MICROSECOND" => &[3600 * S, 60 * S, S, 1],
        "MINUTE_MICROSECOND" => &[60 * S, S, 1],
        "SECOND_MICROSECOND" => &[S, 1],
        _ => &[],
    };
    if !fields.is_empty() {
        let Some(s) = value.to_text() else {
            return Ok(None);
        };
        let s = s.trim();
        let (neg, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let nums: Vec<i128> = s
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<i128>().unwrap_or(0).min(1 << 60))
            .collect();
        if nums.is_empty() || nums.len() > fields.len() {
            return Ok(None);
        }
        let mut months = 0i64;
        let mut micros = 0i128;
        for (n, f) in nums.iter().rev().zip(fields.iter().rev()) {
            if *f < 0 {
                months += (*n as i64).saturating_mul(-(*f as i64));
            } else {
                micros += n * f;
            }
        }
        if neg {
            months = -months;
            micros = -micros;
        }
        let date_only = unit == "YEAR_MONTH";
        return Ok(Some(Interval {
            months,
            micros,
            date_only,
        }));
    }
    Ok(match unit {
        "YEAR" => one(1).map(|n| simple((n * 12) as i64, 0)),
        "QUARTER" => one(1).map(|n| simple((n * 3) as i64, 0)),
        "MONTH" => one(1).map(|n| simple(n as i64, 0)),
        "WEEK" => one(7 * 86_400 * S).map(|m| simple(0, m)),
        "DAY" => one(86_400 * S).map(|m| simple(0, m)),
        "HOUR" => one(3600 * S).map(|m| simple(0, m)),
        "MINUTE" => one(60 * S).map(|m| simple(0, m)),
        "SECOND" => value
            .to_decimal()
            .and_then(|d| {
                d.round_to(6)
                    .to_string()
                    .replace('.', "")
                    .parse::<i128>()
                    .ok()
            })
            .map(|m| Interval {
                months: 0,
                micros: m,
                date_only: false,
            }),
        "MICROSECOND" => one(1).map(|m| Interval {
            months: 0,
            micros: m,
            date_only: false,
        }),
        other => return Err(Error::unsupported(format!("INTERVAL unit {other}"))),
    })
}

pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (days_from_civil(next.0, next.1, 1) - days_from_civil(y, m, 1)) as u32
}

/// `d + iv` (`sign` -1 for subtraction), MariaDB's way: months first,
/// clamping the day to the month's last; then days and time. A DATE (or a
/// date-only string) with a day-or-larger unit gives a DATE; NULL when the
/// result leaves years 0..9999 or the operand is not a date.
pub(crate) fn add_interval(d: &Datum, iv: Option<Interval>, sign: i64) -> Datum {
    let Some(iv) = iv else {
        return Datum::Null;
    };
    let (dt, was_date) = match d {
        Datum::Date(x) => (datetime_of_date(x), true),
        Datum::DateTime(x) => (*x, false),
        Datum::Null => return Datum::Null,
        other => {
            let Some(s) = other.to_text() else {
                return Datum::Null;
            };
            let Some(x) = text::parse_datetime(&s) else {
                return Datum::Null;
            };
            (x, !s.trim().contains([' ', 'T', ':']))
        }
    };
    if dt.date.month == 0 || dt.date.day == 0 {
        return Datum::Null;
    }
    let months = iv.months * sign;
    let total = i64::from(dt.date.year) * 12 + i64::from(dt.date.month) - 1 + months;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    if !(0..=9999).contains(&y) {
        return Datum::Null;
    }
    let day = u32::from(dt.date.day).min(days_in_month(y, m));
    let base = DateTime {
        date: Date {
            year: y as u16,
            month: m as u8,
            day: day as u8,
        },
        ..dt
    };
    let us = i128::from(datetime_to_micros(&base)) + iv.micros * i128::from(sign);
    let Ok(us) = i64::try_from(us) else {
        return Datum::Null;
    };
    let days = us.div_euclid(86_400_000_000);
    let (ry, _, _) = civil_from_days(days);
    if !(0..=9999).contains(&ry) {
        return Datum::Null;
    }
    let out = timestamp_to_datetime_any(us);
    if was_date && iv.date_only {
        Datum::Date(out.date)
    } else {
        Datum::DateTime(out)
    }
}

/// Microseconds since the epoch to a DATETIME, for any instant in years
/// 0..9999 (unlike [`timestamp_to_datetime`], which reads 0 as the zero
/// timestamp).
pub(crate) fn timestamp_to_datetime_any(us: i64) -> DateTime {
    if us != 0 {
        return timestamp_to_datetime(us);
    }
    DateTime {
        date: Date {
            year: 1970,
            month: 1,
            day: 1,
        },
        hour: 0,
        minute: 0,
        second: 0,
        micro: 0,
    }
}
