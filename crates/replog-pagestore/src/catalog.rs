//! The catalog's encodings (`formats/store.md` §7.6): catalog B+tree keys,
//! table entries (tree roots, counters, and the table definition in its one
//! encoding, `replog_schema::table`, §13) and rows;
//! and the catalog reader ([`read_catalog`]) over any [`PageSource`].

use crate::btree;
use crate::read::PageSource;
use replog_core::codec::{self, Cursor};
use replog_core::{Result, Value};
use replog_store::digest::row_hash;
use replog_store::snapshot::AppliedPosition;
use replog_store::storage::{primary_key, unique_key};
use replog_store::{Namespace, Row, TableDef, TableId};
use std::collections::BTreeMap;

/// Catalog key of a database: `0x01 ‖ name`.
pub fn db_key(name: &str) -> Vec<u8> {
    let mut k = vec![0x01];
    k.extend_from_slice(name.as_bytes());
    k
}

/// Catalog key of a table: `0x02 ‖ id (u64 big-endian)`.
pub fn table_key(id: TableId) -> Vec<u8> {
    let mut k = vec![0x02];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Catalog key of the follower's replication position:
/// `0x03 ‖ "position"` (at most one; absent until a follower applies a
/// transaction, so a leader's catalog never holds it).
pub const POSITION_KEY: &[u8] = b"\x03position";

/// A catalog key, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogKey<'a> {
    /// `0x01 ‖ name`: a database.
    Database(&'a str),
    /// `0x02 ‖ id`: a table entry.
    Table(TableId),
    /// [`POSITION_KEY`]: the follower's replication position.
    Position,
}

impl<'a> CatalogKey<'a> {
    /// Parses a catalog key; `Err` says what is wrong with it.
    pub fn parse(k: &'a [u8]) -> std::result::Result<CatalogKey<'a>, &'static str> {
        match k.split_first() {
            Some((0x01, name)) => std::str::from_utf8(name)
                .map(CatalogKey::Database)
                .map_err(|_| "database name is not UTF-8"),
            Some((0x02, id)) => id
                .try_into()
                .map(|b| CatalogKey::Table(u64::from_be_bytes(b)))
                .map_err(|_| "table key is not 0x02 and 8 bytes"),
            _ if k == POSITION_KEY => Ok(CatalogKey::Position),
            _ => Err("unknown catalog key"),
        }
    }
}

/// Length of an encoded position.
pub const POSITION_LEN: usize = 42;

/// Encodes a replication position (`formats/store.md` §11.3): version 1
/// (u8), log kind code (u8, 0: none), log id (16 bytes), applied LSN,
/// last txid and store digest (u64 little-endian each).
pub fn encode_position(p: &replog_store::snapshot::AppliedPosition) -> Vec<u8> {
    let mut v = Vec::with_capacity(POSITION_LEN);
    v.push(1);
    v.push(p.kind.map_or(0, replog_core::LogKind::code));
    v.extend_from_slice(&p.log_id);
    codec::put_u64(&mut v, p.applied_lsn);
    codec::put_u64(&mut v, p.last_txid);
    codec::put_u64(&mut v, p.digest);
    v
}

/// Decodes [`encode_position`]'s bytes; `at` is their absolute offset.
pub fn decode_position(b: &[u8], at: u64) -> Result<replog_store::snapshot::AppliedPosition> {
    let mut c = Cursor::new(b, at);
    let vat = c.offset();
    let version = c.u8("position version")?;
    if version != 1 {
        return Err(replog_core::Error::malformed(
            vat,
            format!("position version {version}; this replog reads version 1"),
        ));
    }
    let kat = c.offset();
    let kind =
        match c.u8("log kind")? {
            0 => None,
            k => Some(replog_core::LogKind::from_code(k).ok_or_else(|| {
                replog_core::Error::malformed(kat, format!("unknown log kind {k}"))
            })?),
        };
    let p = replog_store::snapshot::AppliedPosition {
        kind,
        log_id: c.array::<16>("log id")?,
        applied_lsn: c.u64("applied LSN")?,
        last_txid: c.u64("last txid")?,
        digest: c.u64("digest")?,
    };
    c.finish("position")?;
    Ok(p)
}

/// A table's catalog entry.
#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry {
    /// Definition.
    pub def: TableDef,
    /// Root of the primary-key tree.
    pub pk_root: u32,
    /// Roots of the unique-key trees, in `def.unique_keys` order.
    pub unique_roots: Vec<u32>,
    /// Next auto-increment value.
    pub auto_inc: u64,
    /// Table digest.
    pub digest: u64,
    /// Number of rows.
    pub rows: u64,
}

fn put_count(out: &mut Vec<u8>, n: usize) -> std::result::Result<(), String> {
    let n = u16::try_from(n).map_err(|_| format!("{n} items (at most 65535)"))?;
    codec::put_u16(out, n);
    Ok(())
}

/// Encodes an entry.
pub fn encode_entry(e: &TableEntry) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(128);
    codec::put_u32(&mut out, e.pk_root);
    codec::put_u64(&mut out, e.auto_inc);
    codec::put_u64(&mut out, e.digest);
    codec::put_u64(&mut out, e.rows);
    put_count(&mut out, e.unique_roots.len())?;
    for r in &e.unique_roots {
        codec::put_u32(&mut out, *r);
    }
    e.def
        .encode(&mut out)
        .map_err(|e| e.message().to_string())?;
    Ok(out)
}

/// A table entry's fields before the definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHead {
    /// Root of the primary-key tree.
    pub pk_root: u32,
    /// Next auto-increment value.
    pub auto_inc: u64,
    /// Table digest.
    pub digest: u64,
    /// Number of rows.
    pub rows: u64,
    /// Roots of the unique-key trees.
    pub unique_roots: Vec<u32>,
    /// Where the table definition starts in the entry.
    pub def_at: usize,
}

/// Decodes an entry's fields up to the definition (`at`: offset for errors).
pub fn decode_entry_head(b: &[u8], at: u64) -> Result<EntryHead> {
    let mut c = Cursor::new(b, at);
    let pk_root = c.u32("primary-key root")?;
    let auto_inc = c.u64("auto-increment")?;
    let digest = c.u64("digest")?;
    let rows = c.u64("row count")?;
    let n = c.u16("unique roots")?;
    let mut unique_roots = Vec::with_capacity(n.into());
    for _ in 0..n {
        unique_roots.push(c.u32("unique root")?);
    }
    Ok(EntryHead {
        pk_root,
        auto_inc,
        digest,
        rows,
        unique_roots,
        def_at: (c.offset() - at) as usize,
    })
}

/// Decodes an entry (`at`: offset for errors).
pub fn decode_entry(b: &[u8], at: u64) -> Result<TableEntry> {
    let h = decode_entry_head(b, at)?;
    let mut c = Cursor::new(b.get(h.def_at..).unwrap_or_default(), at + h.def_at as u64);
    let def = TableDef::decode(&mut c)?;
    c.finish("table entry")?;
    if def.unique_keys.len() != h.unique_roots.len() {
        return Err(replog_core::Error::malformed(
            at + 28,
            "unique-root count differs from the definition's unique keys",
        ));
    }
    Ok(TableEntry {
        def,
        pk_root: h.pk_root,
        unique_roots: h.unique_roots,
        auto_inc: h.auto_inc,
        digest: h.digest,
        rows: h.rows,
    })
}

/// Encodes a row: `Value::encode` of each column in order.
pub fn encode_row(row: &Row, out: &mut Vec<u8>) -> std::result::Result<(), String> {
    for v in row {
        v.encode(out)?;
    }
    Ok(())
}

/// Decodes a row of `ncols` values.
pub fn decode_row(b: &[u8], ncols: usize, at: u64) -> Result<Row> {
    let mut c = Cursor::new(b, at);
    let mut row = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        row.push(Value::decode(&mut c)?.into_owned());
    }
    c.finish("row")?;
    Ok(row)
}

/// The key a row of `def` is stored under in a tree whose keys are at
/// most `max` bytes ([`crate::btree::max_key`]): its primary-key encoding
/// ([`primary_key`]), except that the row identity of a table without a
/// primary key (its whole content) longer than `max` is cut to `max - 16`
/// bytes followed by the 128-bit XXH3 of the whole identity
/// (`formats/store.md` §7.6). A key already in that form is returned as it
/// is, so keys read from a tree can be given back.
pub fn stored_key<'k>(def: &TableDef, key: &'k [u8], max: usize) -> std::borrow::Cow<'k, [u8]> {
    if !def.primary_key.is_empty() || key.len() <= max || max < 16 {
        return std::borrow::Cow::Borrowed(key);
    }
    let mut k = Vec::with_capacity(max);
    k.extend_from_slice(&key[..max - 16]);
    k.extend_from_slice(&xxhash_rust::xxh3::xxh3_128(key).to_be_bytes());
    std::borrow::Cow::Owned(k)
}

/// The key row `row` of `def` is stored under ([`stored_key`]).
pub fn row_key(def: &TableDef, row: &Row, max: usize) -> Vec<u8> {
    let k = primary_key(def, row);
    match stored_key(def, &k, max) {
        std::borrow::Cow::Borrowed(_) => k,
        std::borrow::Cow::Owned(o) => o,
    }
}

/// Appends the copy count of a stored row of a table without a primary
/// key (`formats/store.md` §7.6): nothing for one copy, else the number of
/// identical rows the table holds as u32 LE (at least 2).
pub fn put_copies(out: &mut Vec<u8>, copies: u32) {
    if copies > 1 {
        codec::put_u32(out, copies);
    }
}

/// Splits the value stored under a key of a table's tree into the row's
/// encoded values and how many identical rows it stands for: always one in
/// a table with a primary key; in a table without one, the count that
/// [`put_copies`] appended (one where nothing follows the values). A value
/// that is not `ncols` values, optionally followed by a count of at least
/// 2 in a keyless table, is an error naming offset `at`.
pub fn split_stored(b: &[u8], ncols: usize, keyless: bool, at: u64) -> Result<(&[u8], u32)> {
    let mut c = Cursor::new(b, at);
    for _ in 0..ncols {
        Value::decode(&mut c)?;
    }
    let end = b.len() - c.remaining();
    if keyless && c.remaining() == 4 {
        let n = c.u32("copy count")?;
        if n < 2 {
            return Err(replog_core::Error::new(
                replog_core::ErrorKind::Malformed,
                at + end as u64,
                format!("copy count {n} of a stored row (at least 2 when present)"),
            ));
        }
        return Ok((&b[..end], n));
    }
    c.finish("row")?;
    Ok((b, 1))
}

/// Decodes a stored row ([`split_stored`]) and its copy count.
pub fn decode_stored(b: &[u8], ncols: usize, keyless: bool, at: u64) -> Result<(Row, u32)> {
    let (row, n) = split_stored(b, ncols, keyless, at)?;
    Ok((decode_row(row, ncols, at)?, n))
}

// ----- reading the catalog from pages ---------------------------------------

/// The catalog's contents.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    /// The databases, and the table ids by database and name.
    pub names: Namespace,
    /// Table entries by id.
    pub tables: BTreeMap<TableId, TableEntry>,
    /// The follower's replication position (catalog key 0x03).
    pub position: Option<AppliedPosition>,
}

impl Catalog {
    /// The store digest: the sum of the table digests (`formats/store.md` §2).
    pub fn digest(&self) -> u64 {
        self.tables
            .values()
            .fold(0u64, |a, t| a.wrapping_add(t.digest))
    }
}

/// Reads the catalog tree at `root` of the pages of `src`;
/// `last_table_id` is the header's. With `verify`, also checks every
/// table's trees: structure and order, row decoding, row count, digest,
/// unique indexes.
pub fn read_catalog<'a, S: PageSource<'a>>(
    src: S,
    root: u32,
    last_table_id: u64,
    verify: bool,
) -> std::result::Result<Catalog, String> {
    let mut cat = Catalog::default();
    let mut err: Option<String> = None;
    if verify {
        btree::check(src, root).map_err(|e| format!("catalog: {e}"))?;
    }
    btree::scan(src, root, &mut |k, v| {
        let val = crate::read::read_value(src, v)?;
        match CatalogKey::parse(k) {
            Ok(CatalogKey::Database(n)) => {
                if cat.names.create_database(n).is_err() {
                    err = Some(format!("database {n} listed twice"));
                }
            }
            Ok(CatalogKey::Table(id)) => match decode_entry(&val, 0) {
                Ok(e) => {
                    if cat.names.insert(&e.def.database, &e.def.name, id).is_some() {
                        err = Some(format!("table name of id {id} used twice"));
                    }
                    cat.tables.insert(id, e);
                }
                Err(e) => err = Some(format!("table {id}: {e}")),
            },
            Ok(CatalogKey::Position) => match decode_position(&val, 0) {
                Ok(p) => cat.position = Some(p),
                Err(e) => err = Some(format!("replication position: {e}")),
            },
            Err(m) => err = Some(m.into()),
        }
        Ok(())
    })
    .map_err(|e| format!("catalog: {e}"))?;
    if let Some(e) = err {
        return Err(e);
    }
    if last_table_id < cat.tables.keys().next_back().copied().unwrap_or(0) {
        return Err("a table id is above the last one handed out".into());
    }
    if verify {
        for (id, t) in &cat.tables {
            verify_table(src, t)
                .map_err(|e| format!("table {id} ({}): {e}", t.def.qualified_name()))?;
            if !cat.names.has_database(&t.def.database) {
                return Err(format!("table {id} is in a database that does not exist"));
            }
        }
    }
    Ok(cat)
}

fn verify_table<'a, S: PageSource<'a>>(src: S, t: &TableEntry) -> std::result::Result<(), String> {
    btree::check(src, t.pk_root).map_err(|e| e.to_string())?;
    let mut digest = 0u64;
    let mut uniques: Vec<BTreeMap<Vec<u8>, Vec<u8>>> = vec![BTreeMap::new(); t.unique_roots.len()];
    let mut problem = None;
    let keyless = t.def.primary_key.is_empty();
    let mut rows = 0u64;
    btree::scan(src, t.pk_root, &mut |k, v| {
        let b = crate::read::read_value(src, v)?;
        match decode_stored(&b, t.def.columns.len(), keyless, 0) {
            Ok((row, copies)) => {
                if row_key(&t.def, &row, crate::btree::max_key(src.page_size())) != k {
                    problem = Some("a row is filed under another key".to_string());
                }
                rows += u64::from(copies);
                let h = row_hash(&t.def, &row);
                digest = digest.wrapping_add(h.wrapping_mul(u64::from(copies)));
                for (u, m) in t.def.unique_keys.iter().zip(uniques.iter_mut()) {
                    if let Some(uk) = unique_key(&u.columns, &row) {
                        m.insert(uk, k.to_vec());
                    }
                }
            }
            Err(e) => problem = Some(format!("row does not decode: {e}")),
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    if let Some(p) = problem {
        return Err(p);
    }
    if rows != t.rows {
        return Err(format!(
            "{rows} rows in the tree, {} in the catalog",
            t.rows
        ));
    }
    if digest != t.digest {
        return Err(format!(
            "digest of the rows {digest:016x} differs from the catalog's {:016x}",
            t.digest
        ));
    }
    for ((u, &root), want) in t.def.unique_keys.iter().zip(&t.unique_roots).zip(&uniques) {
        btree::check(src, root).map_err(|e| format!("unique key {}: {e}", u.name))?;
        let mut got = BTreeMap::new();
        btree::scan(src, root, &mut |k, v| {
            got.insert(k.to_vec(), crate::read::read_value(src, v)?.into_owned());
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        if &got != want {
            return Err(format!("unique key {} does not match the rows", u.name));
        }
    }
    Ok(())
}
