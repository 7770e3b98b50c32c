//! MySQL text for values and names: literals that read back as exactly the
//! value the log carries, and backquoted identifiers.
//!
//! | value | literal |
//! |---|---|
//! | NULL | `NULL` |
//! | Bool | `1` / `0` |
//! | Int, UInt | decimal digits |
//! | F32, F64 | shortest round-trip digits in exponent form (`1.5e0`), so MySQL reads a DOUBLE, never a DECIMAL; NaN and infinities have no literal and are refused |
//! | Decimal | the digits as they are |
//! | Text, Enum, Set, Json | `'…'` with `'` doubled and `\`, NUL, LF, CR, Ctrl-Z backslash-escaped (as mysqldump) |
//! | Bytes | `X'…'` (hex, upper case) |
//! | Date, Time, DateTime | `'2024-05-01'`, `'-12:00:00.5'`, `'2024-05-01 12:00:00.000001'` |
//! | Timestamp | `'YYYY-MM-DD HH:MM:SS[.ffffff]'` in UTC: the session must use `time_zone = '+00:00'`; 0 is MySQL's zero timestamp `'0000-00-00 00:00:00'` |

use replog_core::Value;
use std::fmt::Write;

/// Appends `name` as a backquoted identifier (backquotes inside doubled).
pub fn push_ident(out: &mut String, name: &str) {
    out.push('`');
    if name.contains('`') {
        out.push_str(&name.replace('`', "``"));
    } else {
        out.push_str(name);
    }
    out.push('`');
}

/// `` `db`.`table` `` (or `` `table` `` when the database is empty).
pub fn qualified(database: &str, table: &str) -> String {
    let mut s = String::new();
    if !database.is_empty() {
        push_ident(&mut s, database);
        s.push('.');
    }
    push_ident(&mut s, table);
    s
}

/// Appends a string literal: quotes doubled, backslash, NUL, newline,
/// carriage return and Ctrl-Z escaped; runs between them copied whole.
#[inline]
pub fn push_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('\'');
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'\'' => "''",
            b'\\' => "\\\\",
            0 => "\\0",
            b'\n' => "\\n",
            b'\r' => "\\r",
            0x1a => "\\Z",
            _ => continue,
        };
        // The escaped bytes are ASCII: `from..i` ends on a char boundary.
        out.push_str(&s[from..i]);
        out.push_str(esc);
        from = i + 1;
    }
    out.push_str(&s[from..]);
    out.push('\'');
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `X'…'`.
pub fn push_bytes(out: &mut String, b: &[u8]) {
    out.reserve(b.len() * 2 + 3);
    out.push_str("X'");
    for &x in b {
        out.push(HEX[usize::from(x >> 4)] as char);
        out.push(HEX[usize::from(x & 15)] as char);
    }
    out.push('\'');
}

#[inline]
fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

#[inline]
fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends the MySQL literal for `v`; fails only for values that have none
/// (NaN and infinite floats).
#[inline]
pub fn push_literal(out: &mut String, v: &Value<'_>) -> Result<(), String> {
    match v {
        Value::Null => out.push_str("NULL"),
        Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
        Value::Int(i) => push_i64(out, *i),
        Value::UInt(u) => push_u64(out, *u),
        Value::F32(f) => {
            if !f.is_finite() {
                return Err(format!("the float {f} has no SQL literal"));
            }
            let _ = write!(out, "{f:e}");
        }
        Value::F64(f) => {
            if !f.is_finite() {
                return Err(format!("the double {f} has no SQL literal"));
            }
            let _ = write!(out, "{f:e}");
        }
        Value::Decimal(d) => out.push_str(d),
        Value::Text(s) | Value::Enum(s) | Value::Set(s) | Value::Json(s) => push_string(out, s),
        Value::Bytes(b) => push_bytes(out, b),
        // MySQL stores the zero TIMESTAMP as 0 seconds since the epoch;
        // '1970-01-01 00:00:00' UTC itself is outside TIMESTAMP's range.
        Value::Timestamp(0) => out.push_str("'0000-00-00 00:00:00'"),
        Value::Date(_) | Value::Time(_) | Value::DateTime(_) | Value::Timestamp(_) => {
            out.push('\'');
            let _ = write!(out, "{v}");
            out.push('\'');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_core::value::{Date, DateTime};
    use std::borrow::Cow;

    fn lit(v: Value<'_>) -> String {
        let mut s = String::new();
        push_literal(&mut s, &v).unwrap();
        s
    }

    #[test]
    fn every_value_kind() {
        assert_eq!(lit(Value::Null), "NULL");
        assert_eq!(lit(Value::Bool(true)), "1");
        assert_eq!(lit(Value::Int(i64::MIN)), "-9223372036854775808");
        assert_eq!(lit(Value::UInt(u64::MAX)), "18446744073709551615");
        assert_eq!(lit(Value::F32(1.1)), "1.1e0");
        assert_eq!(lit(Value::F64(-2.5e300)), "-2.5e300");
        assert_eq!(lit(Value::F64(0.0)), "0e0");
        assert_eq!(lit(Value::Decimal(Cow::Borrowed("-0.010"))), "-0.010");
        assert_eq!(
            lit(Value::Text(Cow::Borrowed("it's a \\ \n\0\u{1a} é"))),
            "'it''s a \\\\ \\n\\0\\Z é'"
        );
        assert_eq!(lit(Value::Bytes(Cow::Borrowed(&[0, 0xab]))), "X'00AB'");
        assert_eq!(lit(Value::Bytes(Cow::Borrowed(&[]))), "X''");
        let d = Date {
            year: 2024,
            month: 5,
            day: 1,
        };
        assert_eq!(lit(Value::Date(d)), "'2024-05-01'");
        assert_eq!(
            lit(Value::DateTime(DateTime {
                date: d,
                hour: 1,
                minute: 2,
                second: 3,
                micro: 4
            })),
            "'2024-05-01 01:02:03.000004'"
        );
        assert_eq!(lit(Value::Time(-1_500_000)), "'-00:00:01.500000'");
        assert_eq!(lit(Value::Timestamp(0)), "'0000-00-00 00:00:00'");
        assert_eq!(
            lit(Value::Timestamp(1_500_000)),
            "'1970-01-01 00:00:01.500000'"
        );
        assert_eq!(lit(Value::Enum(Cow::Borrowed("a"))), "'a'");
        assert_eq!(lit(Value::Json(Cow::Borrowed("{\"a\":1}"))), "'{\"a\":1}'");
        assert!(push_literal(&mut String::new(), &Value::F64(f64::NAN)).is_err());
        let mut s = String::new();
        push_ident(&mut s, "we`ird");
        assert_eq!(s, "`we``ird`");
        assert_eq!(qualified("", "t"), "`t`");
    }
}

#[cfg(test)]
mod string_tests {
    use super::push_string;

    /// The escaping rules one character at a time: the reference.
    fn reference(s: &str) -> String {
        let mut out = String::from("'");
        for ch in s.chars() {
            match ch {
                '\'' => out.push_str("''"),
                '\\' => out.push_str("\\\\"),
                '\0' => out.push_str("\\0"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\u{1a}' => out.push_str("\\Z"),
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    }

    #[test]
    fn escapes_match_the_reference() {
        for s in [
            "",
            "plain",
            "it's",
            "'",
            "a\\b\0c\nd\re\u{1a}f",
            "héllo 'wörld' ✓\n",
            "''\\\\",
            "end with quote'",
            "\u{1a}",
        ] {
            let mut out = String::new();
            push_string(&mut out, s);
            assert_eq!(out, reference(s), "{s:?}");
        }
    }
}
