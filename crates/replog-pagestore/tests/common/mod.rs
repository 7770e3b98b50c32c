//! Shared helpers of the integration tests.
#![allow(dead_code)]

use replog_core::Value;
use replog_pagestore::PageStore;
use replog_store::types::UniqueKey;
use replog_store::{Column, ColumnDefault, MemStorage, SqlType, Storage, TableDef};
use std::borrow::Cow;

/// Asserts that two engines hold the same databases, tables, rows,
/// counters and digests.
pub fn assert_same(p: &PageStore, m: &MemStorage, dbs: &[&str], ctx: &str) {
    for d in dbs {
        assert_eq!(p.database_exists(d), m.database_exists(d), "{ctx}: db {d}");
    }
    assert_eq!(p.tables(), m.tables(), "{ctx}: tables");
    for id in m.tables() {
        assert_eq!(p.def(id), m.def(id), "{ctx}: def of {id}");
        let keys = m.keys(id);
        let def = m.def(id).unwrap();
        if def.primary_key.is_empty() {
            // A long row identity is stored cut and hashed (store.md §7.6),
            // which orders such rows by the hash after the cut.
            let max = replog_pagestore::btree::max_key(p.page_size());
            let mut want: Vec<Vec<u8>> = keys
                .iter()
                .map(|k| replog_pagestore::catalog::stored_key(def, k, max).into_owned())
                .collect();
            let mut got = p.keys(id);
            want.sort();
            got.sort();
            assert_eq!(got, want, "{ctx}: keys of {id}");
        } else {
            assert_eq!(p.keys(id), keys, "{ctx}: keys of {id}");
        }
        for k in &keys {
            assert_eq!(p.get(id, k), m.get(id, k), "{ctx}: row {k:?} of {id}");
        }
        assert_eq!(p.row_count(id), m.row_count(id), "{ctx}: count of {id}");
        assert_eq!(p.digest(id), m.digest(id), "{ctx}: digest of {id}");
        assert_eq!(
            p.auto_increment(id),
            m.auto_increment(id),
            "{ctx}: auto-increment of {id}"
        );
    }
}

pub fn col(name: &str, ty: SqlType, nullable: bool) -> Column {
    Column {
        name: name.into(),
        ty,
        nullable,
        default: if nullable {
            ColumnDefault::Value(Value::Null)
        } else {
            ColumnDefault::Missing
        },
        auto_increment: false,
    }
}

pub const INT: SqlType = SqlType::Int {
    bytes: 4,
    unsigned: false,
    boolean: false,
};

/// `id INT PRIMARY KEY, code VARCHAR(40) UNIQUE, body MEDIUMTEXT`.
pub fn table_a(db: &str, name: &str) -> TableDef {
    let mut id = col("id", INT, false);
    id.auto_increment = true;
    TableDef {
        database: db.into(),
        name: name.into(),
        columns: vec![
            id,
            col("code", SqlType::VarChar(40), true),
            col("body", SqlType::Text(16 << 20), true),
        ],
        primary_key: vec![0],
        unique_keys: vec![UniqueKey {
            name: "code".into(),
            columns: vec![1],
        }],
        version: 1,
    }
}

/// `k VARCHAR(30), n INT, v BLOB, PRIMARY KEY (k, n)`.
pub fn table_b(db: &str, name: &str) -> TableDef {
    TableDef {
        database: db.into(),
        name: name.into(),
        columns: vec![
            col("k", SqlType::VarChar(30), false),
            col("n", INT, false),
            col("v", SqlType::Blob(1 << 24), true),
        ],
        primary_key: vec![0, 1],
        unique_keys: vec![],
        version: 1,
    }
}

/// `tag VARCHAR(10), n INT UNIQUE, note TEXT` with no primary key: rows
/// identical in every column are copies (`formats/store.md` §4.1).
pub fn table_c(db: &str, name: &str) -> TableDef {
    TableDef {
        database: db.into(),
        name: name.into(),
        columns: vec![
            col("tag", SqlType::VarChar(10), true),
            col("n", INT, true),
            col("note", SqlType::Text(1 << 16), true),
        ],
        primary_key: vec![],
        unique_keys: vec![UniqueKey {
            name: "n".into(),
            columns: vec![1],
        }],
        version: 1,
    }
}

pub fn text(s: impl Into<String>) -> Value<'static> {
    Value::Text(Cow::Owned(s.into()))
}

pub fn bytes(b: Vec<u8>) -> Value<'static> {
    Value::Bytes(Cow::Owned(b))
}
