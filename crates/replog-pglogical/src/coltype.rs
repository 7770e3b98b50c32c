//! A column's type as the decoding streams give it, through the one
//! PostgreSQL type mapping, `replog-pgtype`.
//!
//! pgoutput names a column's type by OID and modifier (and sends a Type
//! message with the name of each non-built-in type); test_decoding and
//! wal2json name it as `format_type` spells it (`integer`, `character
//! varying`, `numeric(5,2)` with wal2json's include-typmod, `text[]`,
//! `public.mood`). Built-in types become [`PgType`]s by
//! [`replog_pgtype::column_type`]; a name is matched against the spellings
//! of those same types (the logical format's `Display`), so no second table
//! of types lives here. Any other type (enums, domains, composites: the
//! streams do not say which) keeps its name and travels as its text output.

use replog_core::Value;
use replog_logical::PgType;
use replog_pgtype::oid::BUILTINS;
use std::borrow::Cow;

/// A column's type (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColType {
    /// A built-in type or an array of one.
    Builtin(PgType<'static>),
    /// Any other type, by name.
    Named(String),
}

impl ColType {
    /// The type with OID `oid` and modifier `typmod`; `name` names it when
    /// it is not a built-in one (a Type message's).
    pub fn from_oid(oid: u32, typmod: i32, name: Option<&str>) -> ColType {
        match replog_pgtype::column_type(oid, typmod) {
            Some(t) => ColType::Builtin(t),
            None => ColType::Named(name.map_or_else(|| format!("oid {oid}"), str::to_string)),
        }
    }

    /// The type `format_type` spells `name`.
    pub fn from_name(name: &str) -> ColType {
        let (base, array) = match name.strip_suffix("[]") {
            Some(b) => (b, true),
            None => (name, false),
        };
        let Some(t) = builtin_named(base) else {
            return ColType::Named(name.to_string());
        };
        ColType::Builtin(if array { PgType::Array(Box::new(t)) } else { t })
    }

    /// The logical format's type.
    pub fn pg(&self) -> Cow<'_, PgType<'_>> {
        match self {
            ColType::Builtin(t) => Cow::Borrowed(t),
            ColType::Named(n) => Cow::Owned(PgType::Other(n)),
        }
    }

    /// The value whose text output is `text` (column `column`).
    pub fn from_text<'a>(&self, column: &str, text: &'a str) -> Result<Value<'a>, String> {
        match self {
            ColType::Builtin(t) => replog_pgtype::from_text(column, t, text),
            ColType::Named(n) => replog_pgtype::from_text(column, &PgType::Other(n), text),
        }
        .map_err(|e| e.to_string())
    }

    /// The value whose send (binary) form is `b` (column `column`).
    pub fn from_binary<'a>(&self, column: &str, b: &'a [u8]) -> Result<Value<'a>, String> {
        match self {
            ColType::Builtin(t) => replog_pgtype::from_binary(column, t, b),
            ColType::Named(n) => replog_pgtype::from_binary(column, &PgType::Other(n), b),
        }
        .map_err(|e| e.to_string())
    }
}

/// `s` without its parenthesised modifier.
fn without_modifier(s: &str) -> Cow<'_, str> {
    match (s.find('('), s.find(')')) {
        (Some(a), Some(b)) if a < b => Cow::Owned(format!("{}{}", &s[..a], &s[b + 1..])),
        _ => Cow::Borrowed(s),
    }
}

/// The built-in type spelled `name` (no `[]`), with its modifier when the
/// name carries one the mapping reproduces.
fn builtin_named(name: &str) -> Option<PgType<'static>> {
    let plain = without_modifier(name);
    // Each type's spelling without a modifier, and with one (bpchar without
    // a length is spelled `character` by format_type).
    let oid = BUILTINS.iter().map(|b| b.oid).find(|&oid| {
        [-1, 5].iter().any(|&m| {
            replog_pgtype::column_type(oid, m)
                .is_some_and(|t| without_modifier(&t.to_string()) == plain)
        })
    })?;
    if plain.len() == name.len() {
        return replog_pgtype::column_type(oid, -1);
    }
    // The modifier's numbers, turned into the typmod whose spelling is
    // `name`: n (times, bits), n + 4 (character lengths), (p << 16 | s) + 4
    // (numeric), the full interval range with precision n.
    let inner = &name[name.find('(')? + 1..name.find(')')?];
    let mut nums = inner.split(',').map(|n| n.trim().parse::<i32>().ok());
    let a = nums.next().flatten()?;
    let b = nums.next().flatten().unwrap_or(0);
    [
        a,
        a.checked_add(4)?,
        ((a << 16) | (b & 0x7FF)).checked_add(4)?,
        (0x7FFF << 16) | a,
    ]
    .into_iter()
    .filter_map(|m| replog_pgtype::column_type(oid, m))
    .find(|t| t.to_string() == name)
    .or_else(|| replog_pgtype::column_type(oid, -1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_format_type_spells_them() {
        let b = |n: &str| match ColType::from_name(n) {
            ColType::Builtin(t) => t,
            ColType::Named(n) => panic!("{n} not recognised"),
        };
        assert_eq!(b("integer"), PgType::Int4);
        assert_eq!(b("character varying"), PgType::VarChar(None));
        assert_eq!(b("character varying(10)"), PgType::VarChar(Some(10)));
        assert_eq!(b("character"), PgType::Char(None));
        assert_eq!(b("character(4)"), PgType::Char(Some(4)));
        assert_eq!(b("numeric"), PgType::Numeric(None));
        assert_eq!(b("numeric(5,2)"), PgType::Numeric(Some((5, 2))));
        assert_eq!(
            b("timestamp(3) without time zone"),
            PgType::Timestamp(Some(3))
        );
        assert_eq!(b("timestamp with time zone"), PgType::TimestampTz(None));
        assert_eq!(b("time with time zone"), PgType::TimeTz(None));
        assert_eq!(b("interval"), PgType::Interval(None));
        assert_eq!(b("text[]"), PgType::Array(Box::new(PgType::Text)));
        assert_eq!(b("double precision"), PgType::Float8);
        assert_eq!(b("bit varying(8)"), PgType::VarBit(Some(8)));
        assert_eq!(
            ColType::from_name("public.mood"),
            ColType::Named("public.mood".into())
        );
        // Every built-in's own spelling comes back to it.
        for bt in BUILTINS {
            if let Some(t) = replog_pgtype::column_type(bt.oid, -1) {
                if !matches!(t, PgType::Other(_)) {
                    assert_eq!(b(&t.to_string()), t);
                }
            }
        }
    }

    #[test]
    fn oids_through_the_mapping() {
        assert_eq!(
            ColType::from_oid(1043, 14, None),
            ColType::Builtin(PgType::VarChar(Some(10)))
        );
        assert_eq!(
            ColType::from_oid(16_390, -1, Some("public.mood")),
            ColType::Named("public.mood".into())
        );
        assert_eq!(
            ColType::from_oid(16_390, -1, None),
            ColType::Named("oid 16390".into())
        );
    }
}
