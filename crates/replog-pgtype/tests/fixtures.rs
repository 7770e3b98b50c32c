//! Every cell of `fixtures/postgres/types` (PostgreSQL 15's own output for a
//! table of every mapped type with edge values, written by its generate.sh):
//! the text output, the send form and the on-disk datum decode to the same
//! value, the value prints back as the server's text output, and the
//! column types map to the server's `format_type` spelling.

use replog_pgtype::{
    Datum, PgType, Value, column_type, from_binary, from_datum, from_text, to_text,
};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/postgres/types")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

struct Col {
    name: String,
    ty: PgType<'static>,
    format_type: String,
}

/// The columns of the fixture table, typed as a source would type them:
/// built-in OIDs by the mapping, enums by name and labels.
fn columns(labels: &'static [&'static str]) -> Vec<Col> {
    read("columns.tsv")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let (oid, typmod): (u32, i32) = (f[2].parse().unwrap(), f[3].parse().unwrap());
            let elem: u32 = f[9].parse().unwrap();
            let name: &'static str = Box::leak(f[5].to_string().into_boxed_str());
            let ty = column_type(oid, typmod).unwrap_or_else(|| {
                let e = PgType::Enum {
                    name: name.trim_start_matches('_'),
                    labels: labels.to_vec(),
                };
                if elem != 0 {
                    PgType::Array(Box::new(e))
                } else {
                    e
                }
            });
            Col {
                name: f[1].to_string(),
                ty,
                format_type: f[4].to_string(),
            }
        })
        .collect()
}

fn enums() -> Vec<(u32, String)> {
    read("enums.tsv")
        .lines()
        .map(|l| {
            let (o, label) = l.split_once('\t').unwrap();
            (o.parse().unwrap(), label.to_string())
        })
        .collect()
}

fn show(v: &Value<'_>) -> String {
    format!("{:?}", v.clone().into_owned())
}

#[test]
fn column_types_spell_as_the_server() {
    let labels: Vec<&'static str> = enums()
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
    let en = enums();
    let labels: Vec<&'static str> = en
        .iter()
        .map(|(_, l)| &*Box::leak(l.clone().into_boxed_str()))
        .collect();
    let cols = columns(Box::leak(labels.into_boxed_slice()));
    let (mut cells, mut external, mut compressed) = (0, 0, 0);
    for line in read("values.tsv").lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (id, attnum) = (f[0], f[1].parse::<usize>().unwrap());
        let col = &cols[attnum - 1];
        let at = format!("row {id} column {} ({})", col.name, col.ty);
        if f[2] == "-" {
            assert!(f[3] == "-" && f[4] == "-", "{at}");
            continue;
        }
        cells += 1;
        let text = String::from_utf8(unhex(f[2])).unwrap();
        let v = from_text(&col.name, &col.ty, &text).unwrap_or_else(|e| panic!("{at}: {e}"));
        assert_eq!(to_text(&v), text, "{at}: text output");
        let mut enc = Vec::new();
        v.encode(&mut enc).unwrap_or_else(|e| panic!("{at}: {e}"));

        let send = unhex(f[3]);
        let b = from_binary(&col.name, &col.ty, &send).unwrap_or_else(|e| panic!("{at}: {e}"));
        assert_eq!(show(&b), show(&v), "{at}: send form");

        let raw = unhex(f[4]);
        if raw.first().is_some_and(|&x| x & 0x03 == 0x02) && raw.len() >= 8 {
            compressed += 1;
        }
        match from_datum(&col.name, &col.ty, &raw, &en).unwrap_or_else(|e| panic!("{at}: {e}")) {
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
