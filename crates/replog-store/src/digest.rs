//! State identity: row hashes, table digests and the store digest, as
//! specified in `formats/store.md` §2.
//!
//! `row_hash = xxh3_64(qualified_name ‖ 0x00 ‖ encode(v1) ‖ … ‖ encode(vn))`
//! with `replog_core::Value::encode` of each column value in table order;
//! a table's digest is the wrapping (mod 2^64) sum of its rows' hashes, the
//! store digest the wrapping sum of its tables' digests. Both are
//! independent of insertion order and placement, and are maintained
//! incrementally by adding and subtracting row hashes.

use crate::types::{Row, TableDef};
use xxhash_rust::xxh3::xxh3_64;

/// The hash of one row of `def`.
pub fn row_hash(def: &TableDef, row: &Row) -> u64 {
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(def.database.as_bytes());
    buf.push(b'.');
    buf.extend_from_slice(def.name.as_bytes());
    buf.push(0);
    for v in row {
        // Stored values always encode; a failure would only drop that value.
        let _ = v.encode(&mut buf);
    }
    xxh3_64(&buf)
}

/// The digest of a set of rows of one table.
pub fn table_digest<'a>(def: &TableDef, rows: impl IntoIterator<Item = &'a Row>) -> u64 {
    rows.into_iter()
        .fold(0u64, |acc, r| acc.wrapping_add(row_hash(def, r)))
}
