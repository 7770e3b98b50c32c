//! An attribute of the catalog file as a PostgreSQL column type, by
//! `replog-pgtype` (the one PostgreSQL type mapping), which also decodes
//! its datums.
//!
//! Two types per attribute: the one its datums are decoded with
//! ([`pg_type`]: an enum with its labels, a domain's base type) and the one
//! the RELATION describes ([`column_type`]). A type outside the built-in
//! mapping is described by its name ([`replog_pgtype::type_name`]) and
//! its values travel as their text output ([`described_value`]), as every
//! logical decoding stream gives them, so that rows decoded from WAL equal
//! rows decoded by the server.

use crate::catalog::Attr;
use replog_core::Value;
use replog_logical::{ColumnType, PgType};

/// The type whose datum format the attribute has (a domain's base type).
fn datum_type(a: &Attr) -> u32 {
    a.basetype.unwrap_or(a.typid)
}

/// The PostgreSQL column type of `a`.
pub fn pg_type(a: &Attr) -> PgType<'_> {
    if a.typtype == b'e' {
        return PgType::Enum {
            name: &a.typname,
            labels: a.enum_labels.iter().map(|(_, l)| l.as_str()).collect(),
        };
    }
    if a.elem.is_some() && !a.enum_labels.is_empty() {
        let name = a.typname.strip_prefix('_').unwrap_or(&a.typname);
        return PgType::Array(Box::new(PgType::Enum {
            name,
            labels: a.enum_labels.iter().map(|(_, l)| l.as_str()).collect(),
        }));
    }
    replog_pgtype::column_type(datum_type(a), a.typmod).unwrap_or(PgType::Other(&a.typname))
}

/// Whether `a`'s type is outside the built-in mapping (an enum, a domain,
/// an array of an enum, a composite, …).
pub fn is_named(a: &Attr) -> bool {
    replog_pgtype::column_type(a.typid, a.typmod).is_none()
}

/// The name of `a`'s type when it is outside the built-in mapping, as
/// `format_type` spells it (an array of one as `name[]`).
pub fn type_name(a: &Attr) -> String {
    let ns = a.typnamespace.as_deref().unwrap_or("");
    match a.typname.strip_prefix('_').filter(|_| a.elem.is_some()) {
        Some(elem) => format!("{}[]", replog_pgtype::type_name(ns, elem)),
        None => replog_pgtype::type_name(ns, &a.typname),
    }
}

/// The logical column type of `a`: its built-in type, or its name
/// ([`Attr::named_type`]).
pub fn column_type(a: &Attr) -> ColumnType<'_> {
    match &a.named_type {
        Some(n) => ColumnType::Pg(PgType::Other(n)),
        None => ColumnType::Pg(
            replog_pgtype::column_type(a.typid, a.typmod).unwrap_or(PgType::Other(&a.typname)),
        ),
    }
}

/// The value of an attribute whose type is outside the built-in mapping
/// ([`is_named`]) as it travels: its text output.
pub fn described_value(v: Value<'_>) -> Value<'_> {
    match v {
        Value::Null | Value::Text(_) => v,
        Value::Enum(l) => Value::Text(l),
        other => Value::Text(std::borrow::Cow::Owned(replog_pgtype::to_text(&other))),
    }
}

/// The value of an attribute a tuple does not store (added later with a
/// default): `attmissingval` as PostgreSQL prints it, a one-element array
/// (`{5}`, `{"a b"}`), parsed by the type's text form.
pub fn missing_value(a: &Attr, text: &str) -> Result<Value<'static>, String> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| format!("attmissingval `{text}` is not an array"))?;
    let element = match inner.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(q) => {
            let mut s = String::with_capacity(q.len());
            let mut it = q.chars();
            while let Some(c) = it.next() {
                s.push(if c == '\\' { it.next().unwrap_or(c) } else { c });
            }
            s
        }
        None if inner == "NULL" => return Ok(Value::Null),
        None => inner.to_string(),
    };
    let ty = pg_type(a);
    replog_pgtype::from_text(&a.name, &ty, &element)
        .map(Value::into_owned)
        .map_err(|e| e.to_string())
}
