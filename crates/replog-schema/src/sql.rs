//! MariaDB text for values and names: the one SQL writer of every route.
//!
//! Literals read back as exactly the value a log carries, on a MariaDB (or
//! MySQL) server and in replog's reference store:
//!
//! | value | literal |
//! |---|---|
//! | NULL | `NULL` |
//! | Bool | `TRUE` / `FALSE` (MariaDB's 1 and 0; also a boolean in every other SQL dialect) |
//! | Int, UInt | decimal digits |
//! | F32, F64 | shortest round-trip digits in exponent form (`1.5e0`), so the server reads a DOUBLE, never a DECIMAL; NaN and infinities have no literal and are refused ([`NoLiteral`]): no server column can hold them, and writing `NULL` instead would change the data silently |
//! | Decimal | the digits as they are |
//! | Text, Enum, Set, Json | `'…'`, escaped per [`Escaping`] |
//! | Bytes | `X'…'` (hex, upper case) |
//! | Date, Time, DateTime | `'2024-05-01'`, `'-12:00:00.5'`, `'2024-05-01 12:00:00.000001'` |
//! | Timestamp | `'YYYY-MM-DD HH:MM:SS[.ffffff]'` in UTC: the session must use `time_zone = '+00:00'`; 0 is the zero timestamp `'0000-00-00 00:00:00'` |
//!
//! Identifiers are backquoted with backquotes doubled; backquotes quote a
//! name whatever the `sql_mode` (`ANSI_QUOTES` only changes `"`).
//!
//! Strings are written by copying the runs between the bytes that need an
//! escape (see BENCHMARKS.md: conversion to SQL spends its time here).

use replog_core::Value;
use replog_core::value::NumericSpecial;
use std::fmt::{self, Write};

/// The `sql_mode` bit that makes a backslash an ordinary character in
/// string literals (`NO_BACKSLASH_ESCAPES`, the same bit in MariaDB and
/// MySQL).
pub const NO_BACKSLASH_ESCAPES: u64 = 1 << 20;

/// How string literals are escaped: it depends on the session's
/// `sql_mode`, which a replayed binlog may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Escaping {
    /// The default `sql_mode`: `'` doubled; `\`, NUL, LF, CR and Ctrl-Z
    /// backslash-escaped (as mysqldump writes them).
    #[default]
    Backslash,
    /// Under `NO_BACKSLASH_ESCAPES`: `'` doubled, every other character
    /// as it is (a backslash escape would be read as two characters).
    QuotesOnly,
}

impl Escaping {
    /// The escaping a session with `sql_mode` reads.
    pub fn for_sql_mode(sql_mode: u64) -> Escaping {
        if sql_mode & NO_BACKSLASH_ESCAPES != 0 {
            Escaping::QuotesOnly
        } else {
            Escaping::Backslash
        }
    }
}

/// A value that no SQL literal can represent: a NaN or infinite float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoLiteral {
    /// The value (widened to a double).
    pub value: f64,
}

impl fmt::Display for NoLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the float {} has no SQL literal (no MariaDB column can hold it)",
            self.value
        )
    }
}

impl std::error::Error for NoLiteral {}

impl From<NoLiteral> for String {
    fn from(e: NoLiteral) -> String {
        e.to_string()
    }
}

/// Appends `name` as a backquoted identifier (backquotes inside doubled).
pub fn push_ident(out: &mut String, name: &str) {
    out.reserve(name.len() + 2);
    out.push('`');
    let mut from = 0;
    for (i, b) in name.bytes().enumerate() {
        if b == b'`' {
            // `i` is on a char boundary: '`' is ASCII.
            out.push_str(&name[from..=i]);
            out.push('`');
            from = i + 1;
        }
    }
    out.push_str(&name[from..]);
    out.push('`');
}

/// The backquoted identifier for `name`.
pub fn ident(name: &str) -> String {
    let mut s = String::new();
    push_ident(&mut s, name);
    s
}

/// Appends a user variable, `@name`: bare when the name is made of the
/// characters MariaDB allows unquoted there (letters, digits, `.`, `_`,
/// `$`), backquoted otherwise.
pub fn push_user_var(out: &mut String, name: &str) {
    out.push('@');
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'$'))
    {
        out.push_str(name);
    } else {
        push_ident(out, name);
    }
}

/// Appends `` `db`.`table` `` (or `` `table` `` when the database is empty).
pub fn push_qualified(out: &mut String, database: &str, table: &str) {
    if !database.is_empty() {
        push_ident(out, database);
        out.push('.');
    }
    push_ident(out, table);
}

/// `` `db`.`table` `` (or `` `table` `` when the database is empty).
pub fn qualified(database: &str, table: &str) -> String {
    let mut s = String::new();
    push_qualified(&mut s, database, table);
    s
}

/// Appends a string literal for the default `sql_mode`
/// ([`Escaping::Backslash`]).
#[inline]
pub fn push_string(out: &mut String, s: &str) {
    push_string_escaped(out, s, Escaping::Backslash);
}

/// Appends a string literal escaped as `escaping` says; the runs between
/// escaped bytes are copied whole.
#[inline]
pub fn push_string_escaped(out: &mut String, s: &str, escaping: Escaping) {
    out.reserve(s.len() + 2);
    out.push('\'');
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match (b, escaping) {
            (b'\'', _) => "''",
            (b'\\', Escaping::Backslash) => "\\\\",
            (0, Escaping::Backslash) => "\\0",
            (b'\n', Escaping::Backslash) => "\\n",
            (b'\r', Escaping::Backslash) => "\\r",
            (0x1a, Escaping::Backslash) => "\\Z",
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
        out.push(char::from(HEX[usize::from(x >> 4)]));
        out.push(char::from(HEX[usize::from(x & 15)]));
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
    for &d in &buf[i..] {
        out.push(char::from(d));
    }
}

#[inline]
fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends the literal for `v` for the default `sql_mode`; fails only for
/// values that have none (NaN and infinite floats).
#[inline]
pub fn push_literal(out: &mut String, v: &Value<'_>) -> Result<(), NoLiteral> {
    push_literal_escaped(out, v, Escaping::Backslash)
}

/// Appends the literal for `v`, strings escaped as `escaping` says; fails
/// only for values that have none (NaN and infinite floats).
#[inline]
pub fn push_literal_escaped(
    out: &mut String,
    v: &Value<'_>,
    escaping: Escaping,
) -> Result<(), NoLiteral> {
    match v {
        Value::Null => out.push_str("NULL"),
        Value::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Value::Int(i) => push_i64(out, *i),
        Value::UInt(u) => push_u64(out, *u),
        Value::F32(f) => {
            if !f.is_finite() {
                return Err(NoLiteral {
                    value: f64::from(*f),
                });
            }
            let _ = write!(out, "{f:e}");
        }
        Value::F64(f) => {
            if !f.is_finite() {
                return Err(NoLiteral { value: *f });
            }
            let _ = write!(out, "{f:e}");
        }
        Value::Decimal(d) => out.push_str(d),
        Value::Text(s) | Value::Enum(s) | Value::Set(s) | Value::Json(s) => {
            push_string_escaped(out, s, escaping);
        }
        Value::Bytes(b) => push_bytes(out, b),
        // MariaDB stores the zero TIMESTAMP as 0 seconds since the epoch;
        // '1970-01-01 00:00:00' UTC itself is outside TIMESTAMP's range.
        Value::Timestamp(0) => out.push_str("'0000-00-00 00:00:00'"),
        Value::Date(_)
        | Value::Time(_)
        | Value::DateTime(_)
        | Value::Timestamp(_)
        | Value::Uuid(_)
        | Value::Interval(_)
        | Value::TimeTz { .. }
        | Value::PgDate(_)
        | Value::PgTimestamp(_)
        | Value::PgTimestampTz(_) => {
            // PostgreSQL's kinds as their canonical text (the PostgreSQL
            // dialect writes typed literals).
            out.push('\'');
            let _ = write!(out, "{v}");
            out.push('\'');
        }
        Value::NumericSpecial(n) => {
            return Err(NoLiteral {
                value: match n {
                    NumericSpecial::NaN => f64::NAN,
                    NumericSpecial::PosInfinity => f64::INFINITY,
                    NumericSpecial::NegInfinity => f64::NEG_INFINITY,
                },
            });
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
        assert_eq!(lit(Value::Bool(true)), "TRUE");
        assert_eq!(lit(Value::Bool(false)), "FALSE");
        assert_eq!(lit(Value::Int(i64::MIN)), "-9223372036854775808");
        assert_eq!(lit(Value::Int(0)), "0");
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
    }

    #[test]
    fn floats_without_a_literal_are_refused() {
        for v in [
            Value::F64(f64::NAN),
            Value::F64(f64::INFINITY),
            Value::F32(f32::NEG_INFINITY),
            Value::F32(f32::NAN),
        ] {
            let mut s = String::from("x");
            let e = push_literal(&mut s, &v).unwrap_err();
            assert_eq!(s, "x", "nothing written for {v:?}");
            assert!(e.to_string().contains("no SQL literal"), "{e}");
        }
    }

    #[test]
    fn floats_read_back_exactly() {
        for f in [0.1f64, 1.0 / 3.0, f64::MIN_POSITIVE, f64::MAX, -7.25e-300] {
            let s = lit(Value::F64(f));
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), f.to_bits(), "{s}");
        }
        for f in [0.1f32, 1.0 / 3.0, f32::MAX, f32::MIN_POSITIVE] {
            let s = lit(Value::F32(f));
            assert_eq!(s.parse::<f32>().unwrap().to_bits(), f.to_bits(), "{s}");
        }
    }

    #[test]
    fn identifiers() {
        assert_eq!(ident("we`ird"), "`we``ird`");
        assert_eq!(ident("``"), "``````");
        assert_eq!(ident("é`x"), "`é``x`");
        assert_eq!(ident(""), "``");
        assert_eq!(qualified("", "t"), "`t`");
        assert_eq!(qualified("d`", "t"), "`d```.`t`");
        let mut s = String::new();
        push_user_var(&mut s, "a.b_c$1");
        push_user_var(&mut s, "a b");
        push_user_var(&mut s, "");
        assert_eq!(s, "@a.b_c$1@`a b`@``");
    }

    /// The escaping rules one character at a time: the reference.
    fn reference(s: &str, escaping: Escaping) -> String {
        let mut out = String::from("'");
        for ch in s.chars() {
            match (ch, escaping) {
                ('\'', _) => out.push_str("''"),
                ('\\', Escaping::Backslash) => out.push_str("\\\\"),
                ('\0', Escaping::Backslash) => out.push_str("\\0"),
                ('\n', Escaping::Backslash) => out.push_str("\\n"),
                ('\r', Escaping::Backslash) => out.push_str("\\r"),
                ('\u{1a}', Escaping::Backslash) => out.push_str("\\Z"),
                (c, _) => out.push(c),
            }
        }
        out.push('\'');
        out
    }

    /// How MariaDB reads a string literal back under each escaping (the
    /// subset of its lexer the writer can produce).
    fn read_back(lit: &str, escaping: Escaping) -> String {
        let inner = &lit[1..lit.len() - 1];
        let mut out = String::new();
        let mut it = inner.chars();
        while let Some(c) = it.next() {
            match (c, escaping) {
                ('\'', _) => {
                    assert_eq!(it.next(), Some('\''), "lone quote in {lit}");
                    out.push('\'');
                }
                ('\\', Escaping::Backslash) => out.push(match it.next().unwrap() {
                    '0' => '\0',
                    'n' => '\n',
                    'r' => '\r',
                    'Z' => '\u{1a}',
                    c => c,
                }),
                (c, _) => out.push(c),
            }
        }
        out
    }

    #[test]
    fn escapes_match_the_reference_and_read_back() {
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
            "\\'",
            "tab\there",
        ] {
            for e in [Escaping::Backslash, Escaping::QuotesOnly] {
                let mut out = String::new();
                push_string_escaped(&mut out, s, e);
                assert_eq!(out, reference(s, e), "{s:?} {e:?}");
                assert_eq!(read_back(&out, e), s, "{s:?} {e:?}");
            }
        }
    }

    #[test]
    fn escaping_follows_sql_mode() {
        assert_eq!(Escaping::for_sql_mode(0), Escaping::Backslash);
        // STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,
        // NO_ENGINE_SUBSTITUTION: MariaDB 10.11's default.
        assert_eq!(Escaping::for_sql_mode(1_411_383_296), Escaping::Backslash);
        assert_eq!(
            Escaping::for_sql_mode(NO_BACKSLASH_ESCAPES | 4),
            Escaping::QuotesOnly
        );
        let mut s = String::new();
        push_literal_escaped(
            &mut s,
            &Value::Text(Cow::Borrowed("a\\'b")),
            Escaping::QuotesOnly,
        )
        .unwrap();
        assert_eq!(s, "'a\\''b'");
    }
}
