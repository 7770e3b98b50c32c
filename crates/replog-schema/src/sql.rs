//! SQL text for values and names: the one SQL writer of every route, in
//! two dialects ([`Dialect`]): MariaDB (the default, below) and PostgreSQL
//! ([`push_pg_literal`], [`Dialect::push_ident`]).
//!
//! MariaDB literals read back as exactly the value a log carries, on a
//! MariaDB (or MySQL) server and in replog's reference store:
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
//!
//! PostgreSQL literals read back as exactly the value on a PostgreSQL
//! server with `standard_conforming_strings = on` (the default since 9.1),
//! whatever its DateStyle and TimeZone: every value but numbers and
//! booleans is PostgreSQL's own text output of it (`replog_pgtype::to_text`,
//! which its input functions read back; dates ISO, timestamptz with its
//! offset), quoted (`'` doubled, backslashes as they are) and cast to its
//! type when the value or the column names one:
//!
//! | value | literal |
//! |---|---|
//! | NULL, Bool, Int, UInt, Decimal | as MariaDB's (`NULL`, `TRUE`, `-5`, `1.50`) |
//! | NumericSpecial | `'NaN'::numeric`, `'Infinity'::numeric`, `'-Infinity'::numeric` |
//! | F32 / F64 | `'1.5'::real` / `'1e-300'::double precision` (shortest round-trip digits; `'NaN'`, `'Infinity'` too) |
//! | Bytes | `'\x0a0b'::bytea` |
//! | Uuid, PgDate, Time, TimeTz, PgTimestamp, PgTimestampTz, Interval | `'…'::uuid`, `::date`, `::time`, `::timetz`, `::timestamp`, `::timestamptz`, `::interval` |
//! | Text, Enum, Json (and what travels as text: inet, arrays, …) | `'…'`, cast to the column's type without its modifier when it is a built-in type other than the text types (`'{1,2}'::int4[]`, `'10.0.0.0/8'::cidr`, `'1010'::varbit`); enums and other types by name are left to the column (an untyped literal takes the type of the column it is assigned or compared to) |
//! | Date, DateTime, Timestamp (MySQL's kinds) | as MariaDB's, quoted |
//!
//! PostgreSQL has no literal for text holding a NUL character, nor for
//! MySQL's zero dates ([`NoLiteral`]). Identifiers are double-quoted with
//! `"` doubled.

use replog_core::Value;
use replog_core::value::NumericSpecial;
use replog_logical::PgType;
use std::fmt::{self, Write};

/// The SQL dialect written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// MariaDB (and MySQL): backquoted names, the literals of
    /// [`push_literal`].
    #[default]
    MariaDb,
    /// PostgreSQL: double-quoted names, the literals of [`push_pg_literal`].
    Postgres,
}

impl Dialect {
    /// The dialect of a relation's server: PostgreSQL when its columns
    /// have PostgreSQL types, else MariaDB.
    pub fn of(rel: &replog_logical::Relation<'_>) -> Dialect {
        if rel.is_postgres() {
            Dialect::Postgres
        } else {
            Dialect::MariaDb
        }
    }

    /// Appends `name` as a quoted identifier: backquotes for MariaDB,
    /// double quotes for PostgreSQL, the quote character doubled inside.
    pub fn push_ident(self, out: &mut String, name: &str) {
        let q = match self {
            Dialect::MariaDb => '`',
            Dialect::Postgres => '"',
        };
        out.reserve(name.len() + 2);
        out.push(q);
        let mut from = 0;
        for (i, c) in name.char_indices() {
            if c == q {
                out.push_str(&name[from..=i]);
                out.push(q);
                from = i + 1;
            }
        }
        out.push_str(&name[from..]);
        out.push(q);
    }

    /// Appends `db.table` quoted (`table` alone when `database` is empty;
    /// for PostgreSQL the database is the schema).
    pub fn push_qualified(self, out: &mut String, database: &str, table: &str) {
        if !database.is_empty() {
            self.push_ident(out, database);
            out.push('.');
        }
        self.push_ident(out, table);
    }
}

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

/// A value that no SQL literal of the dialect can represent.
#[derive(Debug, Clone, PartialEq)]
pub enum NoLiteral {
    /// MariaDB: a NaN or infinite float (widened to a double).
    Float(f64),
    /// PostgreSQL: what it has no literal for.
    Postgres(&'static str),
}

impl fmt::Display for NoLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoLiteral::Float(v) => write!(
                f,
                "the float {v} has no SQL literal (no MariaDB column can hold it)"
            ),
            NoLiteral::Postgres(what) => {
                write!(
                    f,
                    "{what} has no SQL literal (no PostgreSQL column can hold it)"
                )
            }
        }
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
    Dialect::MariaDb.push_ident(out, name);
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
    Dialect::MariaDb.push_qualified(out, database, table);
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
                return Err(NoLiteral::Float(f64::from(*f)));
            }
            let _ = write!(out, "{f:e}");
        }
        Value::F64(f) => {
            if !f.is_finite() {
                return Err(NoLiteral::Float(*f));
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
            return Err(NoLiteral::Float(match n {
                NumericSpecial::NaN => f64::NAN,
                NumericSpecial::PosInfinity => f64::INFINITY,
                NumericSpecial::NegInfinity => f64::NEG_INFINITY,
            }));
        }
    }
    Ok(())
}

/// Appends the literal of `v` in `dialect`; `cast` is the PostgreSQL cast
/// of its column ([`pg_cast`]), ignored for MariaDB (whose strings are
/// escaped for the default `sql_mode`).
#[inline]
pub fn push_literal_in(
    out: &mut String,
    v: &Value<'_>,
    dialect: Dialect,
    cast: Option<&str>,
) -> Result<(), NoLiteral> {
    match dialect {
        Dialect::MariaDb => push_literal(out, v),
        Dialect::Postgres => push_pg_literal(out, v, cast),
    }
}

/// The cast that names a PostgreSQL column type in a literal: the type
/// without its modifier, `None` for the text types (an untyped literal is
/// already text) and for types known by name only (enums, OTHER), whose
/// column gives an untyped literal its type. `bit(n)` casts to `varbit`:
/// a cast to `bit` would cut the value to one bit.
pub fn pg_cast(t: &PgType<'_>) -> Option<String> {
    use PgType as P;
    // The built-in type's name (`pg_type.typname`) from the one mapping.
    let name = |t: &PgType<'_>| match t {
        P::Bit(_) | P::VarBit(_) => Some("varbit"),
        t => replog_pgtype::type_oid(t)
            .and_then(replog_pgtype::builtin)
            .map(|b| b.name),
    };
    match t {
        P::Text | P::VarChar(_) | P::Char(_) => None,
        P::Array(e) => name(e).map(|n| format!("{n}[]")),
        t => name(t).map(str::to_string),
    }
}

/// Appends `'text'` for PostgreSQL: `'` doubled, every other character as
/// it is (`standard_conforming_strings`); text with a NUL has none.
pub fn push_pg_string(out: &mut String, s: &str) -> Result<(), NoLiteral> {
    if s.contains('\0') {
        return Err(NoLiteral::Postgres("text with a NUL character"));
    }
    push_string_escaped(out, s, Escaping::QuotesOnly);
    Ok(())
}

/// Appends the PostgreSQL literal of `v`, a value of a column whose cast
/// is `cast` ([`pg_cast`]; `None`: none or unknown), as the module's
/// table says.
pub fn push_pg_literal(
    out: &mut String,
    v: &Value<'_>,
    cast: Option<&str>,
) -> Result<(), NoLiteral> {
    let own = match v {
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::UInt(_) | Value::Decimal(_) => {
            return push_literal(out, v);
        }
        Value::Date(_) | Value::DateTime(_) | Value::Set(_) => {
            return push_literal_escaped(out, v, Escaping::QuotesOnly);
        }
        Value::Timestamp(0) => return Err(NoLiteral::Postgres("MySQL's zero TIMESTAMP")),
        Value::Timestamp(_) => return push_literal(out, v),
        Value::NumericSpecial(_) => Some("numeric"),
        Value::F32(_) => Some("real"),
        Value::F64(_) => Some("double precision"),
        Value::Bytes(_) => Some("bytea"),
        Value::Uuid(_) => Some("uuid"),
        Value::PgDate(_) => Some("date"),
        Value::Time(_) => Some("time"),
        Value::TimeTz { .. } => Some("timetz"),
        Value::PgTimestamp(_) => Some("timestamp"),
        Value::PgTimestampTz(_) => Some("timestamptz"),
        Value::Interval(_) => Some("interval"),
        Value::Text(_) | Value::Enum(_) | Value::Json(_) => None,
    };
    let text = match v {
        Value::Text(s) | Value::Enum(s) | Value::Json(s) => std::borrow::Cow::Borrowed(&**s),
        other => std::borrow::Cow::Owned(replog_pgtype::to_text(other)),
    };
    push_pg_string(out, &text)?;
    if let Some(c) = own.or(cast) {
        out.push_str("::");
        out.push_str(c);
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

    fn pg(v: Value<'_>, cast: Option<&str>) -> String {
        let mut s = String::new();
        push_pg_literal(&mut s, &v, cast).unwrap();
        s
    }

    #[test]
    fn postgresql_literals() {
        use replog_core::value::Interval;
        assert_eq!(pg(Value::Null, Some("int4")), "NULL");
        assert_eq!(pg(Value::Bool(true), None), "TRUE");
        assert_eq!(pg(Value::Int(-5), Some("int2")), "-5");
        assert_eq!(pg(Value::Decimal(Cow::Borrowed("1.50")), None), "1.50");
        assert_eq!(
            pg(Value::NumericSpecial(NumericSpecial::NaN), None),
            "'NaN'::numeric"
        );
        assert_eq!(
            pg(Value::F64(f64::NEG_INFINITY), None),
            "'-Infinity'::double precision"
        );
        assert_eq!(pg(Value::F32(1.1), None), "'1.1'::real");
        // Backslashes as they are (standard_conforming_strings).
        assert_eq!(
            pg(Value::Text(Cow::Borrowed("it's a \\ \n")), None),
            "'it''s a \\ \n'"
        );
        assert_eq!(
            pg(Value::Bytes(Cow::Borrowed(&[0x0a, 0xff])), None),
            "'\\x0aff'::bytea"
        );
        assert_eq!(
            pg(Value::PgTimestampTz(0), Some("timestamptz")),
            "'2000-01-01 00:00:00+00'::timestamptz"
        );
        assert_eq!(pg(Value::PgDate(i32::MIN), None), "'-infinity'::date");
        assert_eq!(
            pg(
                Value::Interval(Interval {
                    months: 14,
                    days: 3,
                    micros: 1
                }),
                None
            ),
            "'1 year 2 mons 3 days 00:00:00.000001'::interval"
        );
        // Text forms take the column's cast; enums their column's type.
        assert_eq!(
            pg(Value::Text(Cow::Borrowed("{1,2}")), Some("int4[]")),
            "'{1,2}'::int4[]"
        );
        assert_eq!(pg(Value::Enum(Cow::Borrowed("sad")), None), "'sad'");
        for bad in [Value::Text(Cow::Borrowed("a\0b")), Value::Timestamp(0)] {
            let e = push_pg_literal(&mut String::new(), &bad, None).unwrap_err();
            assert!(e.to_string().contains("no PostgreSQL column"), "{e}");
        }
    }

    #[test]
    fn postgresql_casts_and_identifiers() {
        use PgType as P;
        let cast = |t: P<'_>| pg_cast(&t);
        assert_eq!(cast(P::Text), None);
        assert_eq!(cast(P::VarChar(Some(3))), None);
        assert_eq!(cast(P::Numeric(Some((5, -2)))).as_deref(), Some("numeric"));
        assert_eq!(
            cast(P::TimestampTz(Some(3))).as_deref(),
            Some("timestamptz")
        );
        // bit(n) by varbit: a cast to bit would cut the value to one bit.
        assert_eq!(cast(P::Bit(Some(4))).as_deref(), Some("varbit"));
        assert_eq!(
            cast(P::Array(Box::new(P::Char(Some(2))))).as_deref(),
            Some("bpchar[]")
        );
        let mood = P::Enum {
            name: "mood",
            labels: vec!["sad"],
        };
        assert_eq!(cast(P::Array(Box::new(mood))), None);
        let mut s = String::new();
        Dialect::Postgres.push_qualified(&mut s, "pub\"lic", "t`é");
        assert_eq!(s, "\"pub\"\"lic\".\"t`é\"");
        let mut s = String::new();
        Dialect::MariaDb.push_qualified(&mut s, "pub\"lic", "t`é");
        assert_eq!(s, "`pub\"lic`.`t``é`");
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
