//! Every cell of `fixtures/postgres/types` (PostgreSQL 15's own output for a
//! table of every mapped type with edge values, written by its generate.sh):
//! the text output, the send form and the on-disk datum decode to the same
//! value, which the value encoding carries exactly and which prints back
//! as the server's text output; and the column types map to the server's
//! `format_type` spelling.

use replog_pgtype::{
    Datum, PgType, Value, column_type_or_enum, from_binary, from_datum, from_text, to_text,
};
use replog_test_support::postgres::{type_cells, type_columns, type_enums};

struct Col {
    name: String,
    ty: PgType<'static>,
    format_type: String,
}

/// The columns of the fixture table, typed as a source would type them:
/// built-in OIDs by the mapping, enums by name and labels.
fn columns(labels: &'static [&'static str]) -> Vec<Col> {
    type_columns()
        .into_iter()
        .map(|c| {
            let name: &'static str = Box::leak(c.typname.into_boxed_str());
            let ty = column_type_or_enum(c.oid, c.typmod, name, c.elem, labels);
            Col {
                name: c.name,
                ty,
                format_type: c.format_type,
            }
        })
        .collect()
}

fn show(v: &Value<'_>) -> String {
    format!("{:?}", v.clone().into_owned())
}

#[test]
fn column_types_spell_as_the_server() {
    let labels: Vec<&'static str> = type_enums()
        .into_iter()
        .map(|(_, l)| &*Box::leak(l.into_boxed_str()))
        .collect();
    let cols = columns(Box::leak(labels.into_boxed_slice()));
    assert_eq!(cols.len(), 50);
    for c in &cols {
        let mine = c.ty.to_string();
        // interval's fields restriction (DAY TO SECOND) is not kept.
        let want = c.format_type.replace("interval day to second", "interval");
        assert_eq!(mine, want, "{}", c.name);
    }
}

#[test]
fn text_binary_and_datum_agree_with_the_server() {
    let en = type_enums();
    let labels: Vec<&'static str> = en
        .iter()
        .map(|(_, l)| &*Box::leak(l.clone().into_boxed_str()))
        .collect();
    let cols = columns(Box::leak(labels.into_boxed_slice()));
    let (mut cells, mut external, mut compressed) = (0, 0, 0);
    for cell in type_cells() {
        let col = &cols[cell.attnum - 1];
        let at = format!("row {} column {} ({})", cell.id, col.name, col.ty);
        let (Some(text), Some(send), Some(raw)) = (&cell.text, &cell.send, &cell.datum) else {
            assert!(
                cell.text.is_none() && cell.send.is_none() && cell.datum.is_none(),
                "{at}"
            );
            continue;
        };
        cells += 1;
        let v = from_text(&col.name, &col.ty, text).unwrap_or_else(|e| panic!("{at}: {e}"));
        assert_eq!(&to_text(&v), text, "{at}: text output");
        // The value encoding (logical.md §3.2) carries it exactly.
        let mut enc = Vec::new();
        v.encode(&mut enc).unwrap_or_else(|e| panic!("{at}: {e}"));
        let mut c = replog_core::codec::Cursor::new(&enc, 0);
        let back = Value::decode(&mut c).unwrap_or_else(|e| panic!("{at}: {e}"));
        assert!(c.is_empty(), "{at}: trailing bytes");
        assert_eq!(show(&back), show(&v), "{at}: value encoding");

        let b = from_binary(&col.name, &col.ty, send).unwrap_or_else(|e| panic!("{at}: {e}"));
        assert_eq!(show(&b), show(&v), "{at}: send form");

        if raw.first().is_some_and(|&x| x & 0x03 == 0x02) && raw.len() >= 8 {
            compressed += 1;
        }
        match from_datum(&col.name, &col.ty, raw, &en).unwrap_or_else(|e| panic!("{at}: {e}")) {
            Datum::Value(d) => assert_eq!(show(&d), show(&v), "{at}: datum"),
            Datum::External(p) => {
                external += 1;
                // Text and bytea: the raw size is the value's bytes and a
                // 4-byte header; any value goes out of line above ~2 kB.
                match &v {
                    Value::Bytes(b) => assert_eq!(p.rawsize as usize, b.len() + 4, "{at}"),
                    Value::Text(t) if col.ty == PgType::Text => {
                        assert_eq!(p.rawsize as usize, t.len() + 4, "{at}")
                    }
                    _ => assert!(p.rawsize > 2000, "{at}"),
                }
            }
        }
    }
    assert!(cells > 180, "{cells} cells");
    // Large values: out of line, and compressed inline (pglz and lz4).
    assert!(
        external >= 2 && compressed >= 2,
        "{external} external, {compressed} compressed"
    );
}
