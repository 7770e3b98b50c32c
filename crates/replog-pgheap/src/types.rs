//! An attribute of the catalog file as a PostgreSQL column type, by
//! `replog-pgtype` (the one PostgreSQL type mapping), which also decodes
//! its datums.

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

/// The logical column type of `a`.
pub fn column_type(a: &Attr) -> ColumnType<'_> {
    ColumnType::Pg(pg_type(a))
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
