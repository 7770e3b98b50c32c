//! The PostgreSQL type oracles (`fixtures/postgres/types/`, written by its
//! generate.sh from PostgreSQL 15): the fixture table's columns, its enum
//! labels and every cell's text output, send form and on-disk datum.

use std::path::PathBuf;

/// The directory of the type oracles.
pub fn types_dir() -> PathBuf {
    crate::root().join("fixtures/postgres/types")
}

fn read(name: &str) -> String {
    let p = types_dir().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Bytes of a hex string (the fixtures' encoding of binary fields).
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// One column of the fixture table (`columns.tsv`).
#[derive(Debug, Clone)]
pub struct TypeColumn {
    /// attnum, from 1.
    pub attnum: usize,
    /// Column name.
    pub name: String,
    /// Type OID.
    pub oid: u32,
    /// Type modifier (-1: none).
    pub typmod: i32,
    /// `format_type(oid, typmod)`.
    pub format_type: String,
    /// `pg_type.typname` (`_mood` for an array of enum `mood`).
    pub typname: String,
    /// Element type OID of an array type, 0 otherwise.
    pub elem: u32,
    /// The type's output function (`int4out`).
    pub output: String,
}

/// The fixture table's columns, in attnum order.
pub fn type_columns() -> Vec<TypeColumn> {
    read("columns.tsv")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            TypeColumn {
                attnum: f[0].parse().expect("attnum"),
                name: f[1].to_string(),
                oid: f[2].parse().expect("oid"),
                typmod: f[3].parse().expect("typmod"),
                format_type: f[4].to_string(),
                typname: f[5].to_string(),
                elem: f[9].parse().expect("typelem"),
                output: f[14].to_string(),
            }
        })
        .collect()
}

/// `(label OID, label)` of every enum, in sort order (`enums.tsv`).
pub fn type_enums() -> Vec<(u32, String)> {
    read("enums.tsv")
        .lines()
        .map(|l| {
            let (o, label) = l.split_once('\t').expect("enums.tsv: two fields");
            (o.parse().expect("label OID"), label.to_string())
        })
        .collect()
}

/// One cell of the fixture table (`values.tsv`); the three forms are
/// `None` for SQL NULL.
#[derive(Debug, Clone)]
pub struct TypeCell {
    /// The row's `id` column.
    pub id: i32,
    /// The column's attnum.
    pub attnum: usize,
    /// The type's text output.
    pub text: Option<String>,
    /// The send form.
    pub send: Option<Vec<u8>>,
    /// The on-disk datum (not detoasted).
    pub datum: Option<Vec<u8>>,
}

/// Every cell, by row then column.
pub fn type_cells() -> Vec<TypeCell> {
    let opt = |s: &str| (s != "-").then(|| unhex(s));
    read("values.tsv")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            TypeCell {
                id: f[0].parse().expect("id"),
                attnum: f[1].parse().expect("attnum"),
                text: opt(f[2]).map(|b| String::from_utf8(b).expect("UTF-8 text output")),
                send: opt(f[3]),
                datum: opt(f[4]),
            }
        })
        .collect()
}
