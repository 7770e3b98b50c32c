//! MySQL column types (TABLE_MAP type code, metadata, optional metadata,
//! and the schema history's declaration when there is one) to
//! [`replog_logical::ColumnType`]; and the fix-ups that make row values
//! decoded without optional metadata match the declared type.

use crate::history::{Chars, HistColumn};
use crate::model::TypeSpec;
use replog_binlog::consts::{BINARY_CHARSET, column_type as ct};
use replog_binlog::{Column, Layout};
use replog_core::Value;
use replog_logical::ColumnType;
use std::borrow::Cow;

/// Collation ids of latin1.
pub fn is_latin1(cs: u16) -> bool {
    matches!(cs, 5 | 8 | 15 | 31 | 47 | 48 | 49 | 94)
}

/// Maximum bytes per character of a collation, when known.
fn mbmaxlen(cs: u16) -> Option<u32> {
    match cs {
        BINARY_CHARSET => Some(1),
        c if is_latin1(c) => Some(1),
        11 | 65 | 92 => Some(1), // ascii
        33 | 76 | 83 | 192..=215 | 223 => Some(3),
        45 | 46 | 224..=247 | 255..=323 => Some(4),
        _ => None,
    }
}

fn chars_of(c: &Column, h: Option<&HistColumn>) -> Chars {
    match c.charset {
        Some(BINARY_CHARSET) => Chars::Binary,
        Some(cs) if is_latin1(cs) => Chars::Latin1,
        Some(_) => Chars::Text,
        None => h.map_or(Chars::None, |h| h.chars),
    }
}

/// The logical type of a column.
pub fn column_type(c: &Column, h: Option<&HistColumn>) -> TypeSpec {
    let unsigned = c.unsigned.unwrap_or(false) || h.is_some_and(|h| h.unsigned);
    let chars = chars_of(c, h);
    let hlen = h.and_then(|h| h.length);
    let char_len = |bytes: Option<u32>| -> u32 {
        hlen.or_else(|| {
            let b = bytes?;
            match c.charset.and_then(mbmaxlen) {
                Some(m) => Some(b / m),
                None => Some(b),
            }
        })
        .unwrap_or(0)
    };
    let labels = c
        .labels
        .clone()
        .or_else(|| h.and_then(|h| h.labels.clone()));
    let plain = |t: ColumnType<'static>| TypeSpec::Plain(t);
    match c.real_type {
        ct::TINY => plain(ColumnType::TinyInt { unsigned }),
        ct::SHORT => plain(ColumnType::SmallInt { unsigned }),
        ct::INT24 => plain(ColumnType::MediumInt { unsigned }),
        ct::LONG => plain(ColumnType::Int { unsigned }),
        ct::LONGLONG => plain(ColumnType::BigInt { unsigned }),
        ct::NEWDECIMAL | ct::DECIMAL => match c.layout {
            Layout::Decimal { precision, scale }
                if (1..=65).contains(&precision) && scale <= precision =>
            {
                plain(ColumnType::Decimal { precision, scale })
            }
            _ => TypeSpec::Other("DECIMAL".into()),
        },
        ct::FLOAT => plain(ColumnType::Float),
        ct::DOUBLE => plain(ColumnType::Double),
        ct::STRING => {
            let n = c.max_length;
            if chars == Chars::Binary {
                plain(ColumnType::Binary(hlen.or(n).unwrap_or(0)))
            } else {
                plain(ColumnType::Char(char_len(n)))
            }
        }
        ct::VARCHAR | ct::VAR_STRING | ct::VARCHAR_COMPRESSED => {
            let n = c.max_length.or(Some(u32::from(c.metadata)));
            if chars == Chars::Binary {
                plain(ColumnType::VarBinary(hlen.or(n).unwrap_or(0)))
            } else {
                plain(ColumnType::VarChar(char_len(n)))
            }
        }
        ct::BLOB | ct::TINY_BLOB | ct::MEDIUM_BLOB | ct::LONG_BLOB | ct::BLOB_COMPRESSED => {
            if h.is_some_and(|h| h.json) {
                plain(ColumnType::Json)
            } else if matches!(chars, Chars::Text | Chars::Latin1) {
                plain(ColumnType::Text)
            } else {
                plain(ColumnType::Blob)
            }
        }
        ct::JSON => plain(ColumnType::Json),
        ct::DATE | ct::NEWDATE => plain(ColumnType::Date),
        ct::TIME => plain(ColumnType::Time(0)),
        ct::TIME2 => plain(ColumnType::Time(fsp(c.layout))),
        ct::DATETIME => plain(ColumnType::DateTime(0)),
        ct::DATETIME2 => plain(ColumnType::DateTime(fsp(c.layout))),
        ct::TIMESTAMP => plain(ColumnType::Timestamp(0)),
        ct::TIMESTAMP2 => plain(ColumnType::Timestamp(fsp(c.layout))),
        ct::YEAR => plain(ColumnType::Year),
        ct::ENUM => match labels {
            Some(l) if l.len() <= usize::from(u16::MAX) => TypeSpec::Enum(l),
            _ => TypeSpec::Other("ENUM".into()),
        },
        ct::SET => match labels {
            Some(l) if l.len() <= 64 && !l.iter().any(|s| s.contains(',')) => TypeSpec::Set(l),
            _ => TypeSpec::Other("SET".into()),
        },
        ct::BIT => match c.layout {
            Layout::Bit { bits } if (1..=64).contains(&bits) => plain(ColumnType::Bit(bits as u8)),
            _ => TypeSpec::Other("BIT".into()),
        },
        _ => TypeSpec::Other(c.type_name().to_string()),
    }
}

fn fsp(l: Layout) -> u8 {
    match l {
        Layout::Time2 { fsp } | Layout::DateTime2 { fsp } | Layout::Timestamp2 { fsp } => {
            fsp.min(6)
        }
        _ => 0,
    }
}

fn int_bytes(t: &ColumnType<'_>) -> Option<u32> {
    Some(match t {
        ColumnType::TinyInt { .. } => 1,
        ColumnType::SmallInt { .. } => 2,
        ColumnType::MediumInt { .. } => 3,
        ColumnType::Int { .. } => 4,
        ColumnType::BigInt { .. } => 8,
        _ => return None,
    })
}

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

/// Makes a decoded value match the column's declared type when the table
/// map lacked the optional metadata the decoder needed (signedness, ENUM /
/// SET labels, character sets): negative integers of UNSIGNED columns
/// become their unsigned value, ENUM indexes and SET bitmaps become labels,
/// latin1 / binary / text data is re-read as declared, JSON text becomes
/// JSON. `declared_latin1`: the schema history declares the column latin1.
pub fn fix_value(v: Value<'_>, c: &Column, ty: &TypeSpec, declared_latin1: bool) -> Value<'static> {
    match (ty, fix_kind(v, c, ty, declared_latin1)) {
        (TypeSpec::Plain(ColumnType::Binary(n)), Value::Bytes(b))
            if b.len() < *n as usize && *n <= 255 =>
        {
            // The row image strips BINARY(n)'s trailing zero bytes.
            let mut b = b.into_owned();
            b.resize(*n as usize, 0);
            Value::Bytes(Cow::Owned(b))
        }
        (_, v) => v,
    }
}

fn fix_kind(v: Value<'_>, c: &Column, ty: &TypeSpec, declared_latin1: bool) -> Value<'static> {
    let v = v.into_owned();
    match (ty, v) {
        (TypeSpec::Plain(t), Value::Int(i)) if is_unsigned(t) => {
            let bits = int_bytes(t).unwrap_or(8) * 8;
            let mask = if bits >= 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            Value::UInt((i as u64) & mask)
        }
        (TypeSpec::Plain(ColumnType::Year), Value::Int(y)) if y >= 0 => Value::UInt(y as u64),
        (TypeSpec::Other(_), Value::UInt(i)) if matches!(c.real_type, ct::ENUM | ct::SET) => {
            // Labels unknown: the index / bitmask as text.
            Value::Text(Cow::Owned(i.to_string()))
        }
        (TypeSpec::Enum(l), Value::UInt(i)) => match i {
            0 => Value::Enum(Cow::Borrowed("")),
            i => match l.get(i as usize - 1) {
                Some(s) => Value::Enum(Cow::Owned(s.clone())),
                None => Value::UInt(i),
            },
        },
        (TypeSpec::Set(l), Value::UInt(bits)) => {
            let s: Vec<&str> = l
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1u64 << i) != 0)
                .map(|(_, s)| s.as_str())
                .collect();
            Value::Set(Cow::Owned(s.join(",")))
        }
        (TypeSpec::Plain(t), v) => {
            let declared_latin1 = c.charset.is_none() && declared_latin1;
            match (t, v) {
                (
                    ColumnType::Char(_)
                    | ColumnType::VarChar(_)
                    | ColumnType::Text
                    | ColumnType::Json,
                    Value::Bytes(b),
                ) => {
                    if declared_latin1 {
                        Value::Text(Cow::Owned(latin1(&b)))
                    } else {
                        match String::from_utf8(b.into_owned()) {
                            Ok(s) if matches!(t, ColumnType::Json) => Value::Json(Cow::Owned(s)),
                            Ok(s) => Value::Text(Cow::Owned(s)),
                            Err(e) => Value::Bytes(Cow::Owned(e.into_bytes())),
                        }
                    }
                }
                (
                    ColumnType::Char(_) | ColumnType::VarChar(_) | ColumnType::Text,
                    Value::Text(s),
                ) if declared_latin1 && !s.is_ascii() => {
                    Value::Text(Cow::Owned(latin1(s.as_bytes())))
                }
                (ColumnType::Json, Value::Text(s)) => Value::Json(s),
                (
                    ColumnType::Binary(_) | ColumnType::VarBinary(_) | ColumnType::Blob,
                    Value::Text(s),
                ) => Value::Bytes(Cow::Owned(s.into_owned().into_bytes())),
                (_, v) => v,
            }
        }
        (_, v) => v,
    }
}

fn is_unsigned(t: &ColumnType<'_>) -> bool {
    matches!(
        t,
        ColumnType::TinyInt { unsigned: true }
            | ColumnType::SmallInt { unsigned: true }
            | ColumnType::MediumInt { unsigned: true }
            | ColumnType::Int { unsigned: true }
            | ColumnType::BigInt { unsigned: true }
    )
}
