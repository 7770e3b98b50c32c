//! The one place this crate meets the PostgreSQL type mapping: type OIDs
//! and modifiers → column types, text and binary output → values.
//!
//! Until `replog-pgtype` is in the workspace this is a small stand-in with
//! the same shape (built-in integers, floats, bool, text types, bytea and
//! json map to their logical types; every other type travels as its text
//! output under an `OTHER` column type named after it). It is meant to be
//! replaced by calls to `replog-pgtype`, not extended.

use replog_core::Value;
use replog_logical::ColumnType;
use std::borrow::Cow;

/// Built-in type OIDs this crate needs by name.
#[allow(missing_docs)]
pub mod oids {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const NUMERIC: u32 = 1700;
    pub const JSONB: u32 = 3802;
}

/// PostgreSQL's `format_type` names (what test_decoding and wal2json print)
/// of the built-in types, with their OIDs and array OIDs.
const NAMES: &[(&str, u32, u32)] = &[
    ("boolean", 16, 1000),
    ("bytea", 17, 1001),
    ("\"char\"", 18, 1002),
    ("name", 19, 1003),
    ("bigint", 20, 1016),
    ("smallint", 21, 1005),
    ("integer", 23, 1007),
    ("text", 25, 1009),
    ("oid", 26, 1028),
    ("json", 114, 199),
    ("xml", 142, 143),
    ("cidr", 650, 651),
    ("real", 700, 1021),
    ("double precision", 701, 1022),
    ("macaddr8", 774, 775),
    ("money", 790, 791),
    ("macaddr", 829, 1040),
    ("inet", 869, 1041),
    ("character", 1042, 1014),
    ("character varying", 1043, 1015),
    ("date", 1082, 1182),
    ("time without time zone", 1083, 1183),
    ("timestamp without time zone", 1114, 1115),
    ("timestamp with time zone", 1184, 1185),
    ("interval", 1186, 1187),
    ("time with time zone", 1266, 1270),
    ("bit", 1560, 1561),
    ("bit varying", 1562, 1563),
    ("numeric", 1700, 1231),
    ("uuid", 2950, 2951),
    ("jsonb", 3802, 3807),
];

/// A column's type as this crate keeps it: the OID and modifier, and the
/// type's name when the stream named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgColumnType {
    /// Type OID (0 when only the name is known).
    pub oid: u32,
    /// Type modifier, -1 when none.
    pub typmod: i32,
    /// The name (`format_type`'s, or a Type message's), when known.
    pub name: Option<String>,
}

impl PgColumnType {
    /// A type known by OID.
    pub fn from_oid(oid: u32, typmod: i32) -> PgColumnType {
        PgColumnType {
            oid,
            typmod,
            name: None,
        }
    }

    /// A type known by its `format_type` name (test_decoding, wal2json),
    /// such as `integer`, `character varying(10)`, `text[]` or `mood`.
    pub fn from_name(name: &str) -> PgColumnType {
        let (base, array) = match name.strip_suffix("[]") {
            Some(b) => (b, true),
            None => (name, false),
        };
        // A modifier in parentheses (wal2json's include-typmod) is dropped
        // from the lookup: `numeric(5,2)`, `timestamp(3) without time zone`.
        let plain: String = match (base.find('('), base.find(')')) {
            (Some(a), Some(b)) if a < b => {
                let mut s = String::with_capacity(base.len());
                s.push_str(&base[..a]);
                s.push_str(&base[b + 1..]);
                s
            }
            _ => base.to_string(),
        };
        let oid = NAMES
            .iter()
            .find(|(n, _, _)| *n == plain)
            .map(|&(_, o, a)| if array { a } else { o })
            .unwrap_or(0);
        PgColumnType {
            oid,
            typmod: -1,
            name: Some(name.to_string()),
        }
    }

    /// The type's name: the one given, or the built-in's `format_type` name.
    pub fn name(&self) -> Cow<'_, str> {
        if let Some(n) = &self.name {
            return Cow::Borrowed(n);
        }
        if let Some((n, _, _)) = NAMES.iter().find(|(_, o, _)| *o == self.oid) {
            return Cow::Borrowed(n);
        }
        if let Some((n, _, _)) = NAMES.iter().find(|(_, _, a)| *a == self.oid) {
            return Cow::Owned(format!("{n}[]"));
        }
        Cow::Owned(format!("oid {}", self.oid))
    }

    /// The logical format's column type.
    pub fn column_type<'a>(&self, name: &'a str) -> ColumnType<'a> {
        match self.oid {
            oids::BOOL => ColumnType::Boolean,
            oids::INT2 => ColumnType::SmallInt { unsigned: false },
            oids::INT4 => ColumnType::Int { unsigned: false },
            oids::INT8 => ColumnType::BigInt { unsigned: false },
            oids::FLOAT4 => ColumnType::Float,
            oids::FLOAT8 => ColumnType::Double,
            oids::TEXT | oids::VARCHAR | oids::BPCHAR => ColumnType::Text,
            oids::BYTEA => ColumnType::Blob,
            oids::JSON | oids::JSONB => ColumnType::Json,
            _ => ColumnType::Other(name),
        }
    }

    /// The value of a column whose text output is `text`.
    pub fn from_text<'a>(&self, text: &'a str) -> Result<Value<'a>, String> {
        let bad = |what: &str| format!("{what} {text:?} of type {}", self.name());
        Ok(match self.oid {
            oids::BOOL => match text {
                "t" | "true" => Value::Bool(true),
                "f" | "false" => Value::Bool(false),
                _ => return Err(bad("boolean")),
            },
            oids::INT2 | oids::INT4 | oids::INT8 => {
                Value::Int(text.parse().map_err(|_| bad("integer"))?)
            }
            oids::FLOAT4 => Value::F32(parse_float(text).ok_or_else(|| bad("real"))? as f32),
            oids::FLOAT8 => Value::F64(parse_float(text).ok_or_else(|| bad("double"))?),
            oids::BYTEA => Value::Bytes(Cow::Owned(
                unhex_bytea(text).ok_or_else(|| bad("bytea (hex output)"))?,
            )),
            oids::JSON | oids::JSONB => Value::Json(Cow::Borrowed(text)),
            _ => Value::Text(Cow::Borrowed(text)),
        })
    }

    /// The value of a column whose binary (send) output is `b`.
    pub fn from_binary<'a>(&self, b: &'a [u8]) -> Result<Value<'a>, String> {
        let bad = || format!("{} bytes of binary {} output", b.len(), self.name());
        let fixed = |n: usize| -> Result<&'a [u8], String> {
            if b.len() == n { Ok(b) } else { Err(bad()) }
        };
        Ok(match self.oid {
            oids::BOOL => Value::Bool(fixed(1)?[0] != 0),
            oids::INT2 => Value::Int(i64::from(i16::from_be_bytes(
                fixed(2)?.try_into().map_err(|_| bad())?,
            ))),
            oids::INT4 => Value::Int(i64::from(i32::from_be_bytes(
                fixed(4)?.try_into().map_err(|_| bad())?,
            ))),
            oids::INT8 => Value::Int(i64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?)),
            oids::FLOAT4 => {
                Value::F32(f32::from_be_bytes(fixed(4)?.try_into().map_err(|_| bad())?))
            }
            oids::FLOAT8 => {
                Value::F64(f64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?))
            }
            oids::BYTEA => Value::Bytes(Cow::Borrowed(b)),
            oids::TEXT | oids::VARCHAR | oids::BPCHAR | oids::JSON => {
                Value::Text(Cow::Borrowed(std::str::from_utf8(b).map_err(|_| bad())?))
            }
            _ => {
                return Err(format!(
                    "binary output of type {} is not decoded (use pgoutput without binary)",
                    self.name()
                ));
            }
        })
    }
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

fn unhex_bytea(s: &str) -> Option<Vec<u8>> {
    let h = s.strip_prefix("\\x")?.as_bytes();
    if h.len() % 2 != 0 {
        return None;
    }
    h.chunks_exact(2)
        .map(|p| Some((hexval(p[0])? << 4) | hexval(p[1])?))
        .collect()
}

pub(crate) fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
