//! Attribute type → logical column type, and datum bytes → [`Value`].
//!
//! TRANSITIONAL: the one PostgreSQL type mapping is `replog-pgtype`
//! (issue 14); until it is in the workspace, this module covers the types
//! the fixtures' tables use (integers, oid, bool, floats, text family,
//! bytea, json) and refuses the others by name. It is to be replaced by
//! calls into `replog-pgtype`, not extended.

use crate::catalog::Attr;
use replog_core::Value;
use replog_logical::ColumnType;
use std::borrow::Cow;

/// Built-in type OIDs used here.
mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
}

/// The type whose datum format the attribute has (a domain's base type).
fn datum_type(a: &Attr) -> u32 {
    a.basetype.unwrap_or(a.typid)
}

/// The logical column type of `a`.
pub fn column_type(a: &Attr) -> ColumnType<'_> {
    let len = |m: i32| u32::try_from(m - 4).unwrap_or(0);
    match datum_type(a) {
        oid::BOOL => ColumnType::Boolean,
        oid::INT2 => ColumnType::SmallInt { unsigned: false },
        oid::INT4 => ColumnType::Int { unsigned: false },
        oid::INT8 => ColumnType::BigInt { unsigned: false },
        oid::OID => ColumnType::Int { unsigned: true },
        oid::FLOAT4 => ColumnType::Float,
        oid::FLOAT8 => ColumnType::Double,
        oid::TEXT | oid::NAME | oid::CHAR => ColumnType::Text,
        oid::VARCHAR if a.typmod >= 4 => ColumnType::VarChar(len(a.typmod)),
        oid::VARCHAR => ColumnType::Text,
        oid::BPCHAR if a.typmod >= 4 => ColumnType::Char(len(a.typmod)),
        oid::BPCHAR => ColumnType::Text,
        oid::BYTEA => ColumnType::Blob,
        oid::JSON => ColumnType::Json,
        _ => ColumnType::Other(&a.typname),
    }
}

fn fixed<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("{} bytes where {N} were expected", b.len()))
}

fn text(b: Cow<'_, [u8]>) -> Result<Value<'_>, String> {
    match b {
        Cow::Borrowed(b) => std::str::from_utf8(b)
            .map(|s| Value::Text(Cow::Borrowed(s)))
            .map_err(|_| "text is not UTF-8".to_string()),
        Cow::Owned(v) => String::from_utf8(v)
            .map(|s| Value::Text(Cow::Owned(s)))
            .map_err(|_| "text is not UTF-8".to_string()),
    }
}

/// A fixed-length datum's value.
pub fn fixed_value<'a>(a: &Attr, b: &'a [u8]) -> Result<Value<'a>, String> {
    Ok(match datum_type(a) {
        oid::BOOL => Value::Bool(fixed::<1>(b)?[0] != 0),
        oid::INT2 => Value::Int(i16::from_le_bytes(fixed(b)?).into()),
        oid::INT4 => Value::Int(i32::from_le_bytes(fixed(b)?).into()),
        oid::INT8 => Value::Int(i64::from_le_bytes(fixed(b)?)),
        oid::OID => Value::UInt(u32::from_le_bytes(fixed(b)?).into()),
        oid::FLOAT4 => Value::F32(f32::from_le_bytes(fixed(b)?)),
        oid::FLOAT8 => Value::F64(f64::from_le_bytes(fixed(b)?)),
        oid::CHAR => text(Cow::Borrowed(fixed::<1>(b).map(|_| b)?))?,
        oid::NAME => {
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            text(Cow::Borrowed(&b[..end]))?
        }
        _ => return Err(unsupported(a)),
    })
}

/// A varlena's value from its (detoasted, decompressed) bytes.
pub fn var_value<'a>(a: &Attr, b: Cow<'a, [u8]>) -> Result<Value<'a>, String> {
    Ok(match datum_type(a) {
        oid::TEXT | oid::VARCHAR | oid::BPCHAR => text(b)?,
        oid::BYTEA => Value::Bytes(b),
        oid::JSON => match text(b)? {
            Value::Text(s) => Value::Json(s),
            v => v,
        },
        _ => return Err(unsupported(a)),
    })
}

fn unsupported(a: &Attr) -> String {
    format!(
        "type {} (OID {}) is not decoded yet (the PostgreSQL type mapping replog-pgtype \
         will decode it)",
        a.typname, a.typid
    )
}

/// The value of an attribute a tuple does not store (added later with a
/// default): `attmissingval` as PostgreSQL prints it, a one-element array
/// (`{5}`, `{"a b"}`).
pub fn missing_value<'a>(a: &Attr, text: &'a str) -> Result<Value<'a>, String> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| format!("attmissingval `{text}` is not an array"))?;
    let unquoted = inner
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .map(|t| Cow::Owned(t.replace("\\\"", "\"").replace("\\\\", "\\")))
        .unwrap_or(Cow::Borrowed(inner));
    let bad = || {
        format!(
            "attmissingval `{text}` of type {} not understood",
            a.typname
        )
    };
    Ok(match datum_type(a) {
        oid::BOOL => Value::Bool(unquoted == "t"),
        oid::INT2 | oid::INT4 | oid::INT8 => Value::Int(unquoted.parse().map_err(|_| bad())?),
        oid::OID => Value::UInt(unquoted.parse().map_err(|_| bad())?),
        oid::FLOAT4 => Value::F32(unquoted.parse().map_err(|_| bad())?),
        oid::FLOAT8 => Value::F64(unquoted.parse().map_err(|_| bad())?),
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::CHAR => {
            Value::Text(match unquoted {
                Cow::Borrowed(s) => Cow::Borrowed(s),
                Cow::Owned(s) => Cow::Owned(s),
            })
        }
        _ => return Err(unsupported(a)),
    })
}
