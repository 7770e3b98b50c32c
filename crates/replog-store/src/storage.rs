//! Storage behind a trait: the catalog, rows keyed by an order-preserving
//! encoding of the primary key, unique secondary indexes, auto-increment
//! counters and incrementally maintained table digests.
//!
//! The engine above ([`crate::Store`]) owns transactions: it keeps an undo
//! log of the [`Storage`] calls it made and undoes them through the same
//! trait, so an implementation needs no transaction support of its own.
//! It still tells the storage where transactions end ([`Storage::commit`],
//! [`Storage::rollback`]), so a logging engine can write one log
//! transaction per store transaction.
//! [`MemStorage`] keeps everything in `BTreeMap`s; a page-based engine can
//! implement the same trait.

use crate::digest;
use crate::error::{Error, ErrorKind, Result};
use crate::text;
use crate::types::{Row, SqlType, TableDef};
use replog_core::Value;
use replog_core::value::NumericSpecial;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Bound, RangeBounds};

/// Identifies a table for as long as it exists (never reused).
pub type TableId = u64;

/// What a store engine provides to the SQL layer.
pub trait Storage {
    /// Creates a database; fails if it exists.
    fn create_database(&mut self, name: &str) -> Result<()>;
    /// Whether a database exists.
    fn database_exists(&self, name: &str) -> bool;
    /// Every database in name order (by default: those holding tables).
    fn databases(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .tables()
            .into_iter()
            .filter_map(|id| self.def(id).map(|d| d.database.clone()))
            .collect();
        v.dedup();
        v
    }
    /// The table called `db.name`.
    fn lookup(&self, db: &str, name: &str) -> Option<TableId>;
    /// A table's definition.
    fn def(&self, id: TableId) -> Option<&TableDef>;
    /// Every table, ordered by database then name.
    fn tables(&self) -> Vec<TableId>;
    /// Creates an empty table (the database must exist, the name be free).
    fn create_table(&mut self, def: TableDef) -> Result<TableId>;
    /// Drops a table and its rows.
    fn drop_table(&mut self, id: TableId) -> Result<()>;
    /// Drops a database and every table in it (the database exists). The
    /// default refuses: a storage without it cannot forget a database.
    fn drop_database(&mut self, name: &str) -> Result<()> {
        Err(Error::unsupported(format!(
            "DROP DATABASE {name} on this storage engine"
        )))
    }
    /// Gives a table another database and name (RENAME TABLE; the target
    /// database exists and the name is free); returns its id, which may
    /// change. The default copies the definition, the rows and the
    /// auto-increment counter into a new table and drops the old one.
    fn rename_table(&mut self, id: TableId, db: &str, name: &str) -> Result<TableId> {
        let mut def = self
            .def(id)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::UnknownTable, format!("no table with id {id}")))?;
        def.database = db.to_string();
        def.name = name.to_string();
        let rows: Vec<Row> = self
            .keys(id)
            .into_iter()
            .filter_map(|k| self.get(id, &k))
            .collect();
        let auto_inc = self.auto_increment(id);
        let new = self.create_table(def)?;
        for r in rows {
            self.insert(new, r)?;
        }
        self.set_auto_increment(new, auto_inc);
        self.drop_table(id)?;
        Ok(new)
    }
    /// Replaces a table's definition and all its rows (ALTER TABLE); keeps
    /// the id and the auto-increment counter.
    fn replace_table(&mut self, id: TableId, def: TableDef, rows: Vec<Row>) -> Result<()>;
    /// Removes every row (TRUNCATE: the auto-increment counter restarts at 1).
    fn truncate(&mut self, id: TableId) -> Result<()>;
    /// The row with primary key `key`.
    fn get(&self, id: TableId, key: &[u8]) -> Option<Row>;
    /// The row with primary key `key`, borrowed when the storage holds it
    /// as a [`Row`] (the default copies it: [`Storage::get`]).
    fn get_ref(&self, id: TableId, key: &[u8]) -> Option<Cow<'_, Row>> {
        self.get(id, key).map(Cow::Owned)
    }
    /// Every primary key of the table, in key order.
    fn keys(&self, id: TableId) -> Vec<Vec<u8>>;
    /// The primary keys `scan` asks for. The default filters
    /// [`Storage::keys`].
    fn key_range(&self, id: TableId, scan: KeyScan<'_>) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = self
            .keys(id)
            .into_iter()
            .filter(|k| (scan.start, scan.end).contains(k.as_slice()))
            .collect();
        if scan.reverse {
            keys.reverse();
        }
        keys.truncate(scan.max);
        keys
    }
    /// The primary keys of the rows whose unique key number `index` has an
    /// encoding `scan` asks for, in the order of those encodings. The
    /// default scans the table.
    fn unique_range(&self, id: TableId, index: usize, scan: KeyScan<'_>) -> Vec<Vec<u8>> {
        let Some(cols) = self.def(id).and_then(|d| d.unique_keys.get(index)) else {
            return Vec::new();
        };
        let cols = cols.columns.clone();
        let mut found: Vec<(Vec<u8>, Vec<u8>)> = self
            .keys(id)
            .into_iter()
            .filter_map(|k| {
                let u = unique_key(&cols, &self.get(id, &k)?)?;
                (scan.start, scan.end)
                    .contains(u.as_slice())
                    .then_some((u, k))
            })
            .collect();
        found.sort();
        if scan.reverse {
            found.reverse();
        }
        found.into_iter().take(scan.max).map(|(_, k)| k).collect()
    }
    /// Whether every integer column of the primary key and of the unique
    /// keys holds values of its own signedness only (a row change applied
    /// from a log may carry the other one, whose encoding sorts elsewhere):
    /// then the order of key encodings is the order of the values, and a
    /// range of values is one range of encodings. `false` when the storage
    /// cannot tell (the default).
    fn canonical_int_keys(&self, id: TableId) -> bool {
        let _ = id;
        false
    }
    /// Number of rows.
    fn row_count(&self, id: TableId) -> usize;
    /// The first existing row that `row` would collide with, checking the
    /// primary key first and then the unique keys in declaration order,
    /// ignoring the row whose primary key is `except`.
    fn find_conflict(&self, id: TableId, row: &Row, except: Option<&[u8]>) -> Option<KeyConflict>;
    /// Inserts a row; returns its primary key. Fails with
    /// [`ErrorKind::DuplicateKey`] on a collision.
    fn insert(&mut self, id: TableId, row: Row) -> Result<Vec<u8>>;
    /// Deletes the row with primary key `key` and returns it.
    fn delete(&mut self, id: TableId, key: &[u8]) -> Result<Row>;
    /// Replaces the row with primary key `key` by `row` (whose key may
    /// differ); returns the old row. Fails on a collision with another row.
    fn update(&mut self, id: TableId, key: &[u8], row: Row) -> Result<Row>;
    /// The next auto-increment value (1 for a new table).
    fn auto_increment(&self, id: TableId) -> u64;
    /// Sets the next auto-increment value.
    fn set_auto_increment(&mut self, id: TableId, next: u64);
    /// The table digest (see `formats/store.md`).
    fn digest(&self, id: TableId) -> u64;
    /// The primary key of the row whose unique key number `index` (in
    /// [`TableDef::unique_keys`] order) has the encoding `key` (see
    /// [`unique_key`]). The default scans the table.
    fn unique_lookup(&self, id: TableId, index: usize, key: &[u8]) -> Option<Vec<u8>> {
        let cols = &self.def(id)?.unique_keys.get(index)?.columns;
        self.keys(id).into_iter().find(|k| {
            self.get(id, k)
                .is_some_and(|r| unique_key(cols, &r).as_deref() == Some(key))
        })
    }

    /// Transaction hook: [`crate::Store`] has committed transaction
    /// `c.txid` (one with statements, a DDL statement's own transaction, or
    /// a follower's applied transaction). Everything changed since the last
    /// `commit` or `rollback` belongs to it. An error means the transaction
    /// is not durable: the store rolls it back (DML) and reports it. The
    /// default does nothing (in-memory storage).
    fn commit(&mut self, c: &StorageCommit) -> Result<()> {
        let _ = c;
        Ok(())
    }

    /// Transaction hook: [`crate::Store`] has rolled back (explicit
    /// ROLLBACK, a failed autocommit statement, a failed apply) and has
    /// already undone every row change through this trait; the storage may
    /// drop whatever it kept for the transaction, without logging it.
    /// Auto-increment counters are not rolled back (as in InnoDB). The
    /// default does nothing.
    fn rollback(&mut self) {}

    /// Follower hook: the replication position the *next* [`Storage::commit`]
    /// reaches (the source log, the LSN just past the COMMIT being
    /// applied, its txid; `digest` is filled in from that commit's
    /// `state_after`). A persistent storage writes it in the same durable
    /// transaction as the applied changes, so that the position it reports
    /// after a crash ([`Storage::position`]) is exactly that of its data.
    /// A [`Storage::rollback`] drops a staged position. Takes `&self` so a
    /// replayer holding the store can call it through `Store::storage()`.
    /// The default ignores it (in-memory storage: the caller saves the
    /// position itself).
    fn stage_position(&self, pos: &crate::snapshot::AppliedPosition) {
        let _ = pos;
    }

    /// The replication position stored with the committed data (written by
    /// a commit that followed [`Storage::stage_position`]); `None` when the
    /// storage keeps none (the default) or nothing was applied yet.
    fn position(&self) -> Option<crate::snapshot::AppliedPosition> {
        None
    }
}

/// Appends the order-preserving encoding of one key value.
///
/// Byte-wise comparison of encodings follows SQL order within one column
/// type; text is compared by its case-insensitive collation key.
pub fn encode_key_value(v: &Value<'_>, out: &mut Vec<u8>) {
    let escaped = escaped_key_bytes;
    match v {
        Value::Null => out.push(0x00),
        Value::Bool(b) => {
            out.push(0x01);
            out.extend_from_slice(&(i64::from(*b) as u64 ^ (1 << 63)).to_be_bytes());
        }
        Value::Int(i) => {
            out.push(0x01);
            out.extend_from_slice(&((*i as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::UInt(u) => {
            out.push(0x01);
            out.extend_from_slice(&u.to_be_bytes());
        }
        Value::F32(f) => {
            out.push(0x02);
            out.extend_from_slice(&sortable_f64(f64::from(*f)).to_be_bytes());
        }
        Value::F64(f) => {
            out.push(0x02);
            out.extend_from_slice(&sortable_f64(*f).to_be_bytes());
        }
        Value::Decimal(s) => {
            out.push(0x03);
            let (neg, body) = match s.strip_prefix('-') {
                Some(b) => (true, b),
                None => (false, s.as_ref()),
            };
            let (int, frac) = body.split_once('.').unwrap_or((body, ""));
            let int = int.trim_start_matches('0');
            let zero = int.is_empty() && frac.bytes().all(|b| b == b'0');
            let class = if zero {
                1u8
            } else if neg {
                0
            } else {
                2
            };
            out.push(class);
            let len = u16::try_from(int.len()).unwrap_or(u16::MAX);
            let flip = |b: u8| if class == 0 { 0xFF - b } else { b };
            for b in len.to_be_bytes() {
                out.push(flip(b));
            }
            for b in int.bytes().chain(frac.bytes()) {
                out.push(flip(b));
            }
        }
        Value::Text(s) | Value::Enum(s) | Value::Set(s) | Value::Json(s) => {
            out.push(0x04);
            escaped(text::ci_fold(s).as_bytes(), out);
        }
        Value::Bytes(b) => {
            out.push(0x05);
            escaped(b, out);
        }
        Value::Date(d) => {
            out.push(0x06);
            out.extend_from_slice(&d.year.to_be_bytes());
            out.extend_from_slice(&[d.month, d.day]);
        }
        Value::Time(t) => {
            out.push(0x07);
            out.extend_from_slice(&((*t as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::DateTime(dt) => {
            out.push(0x08);
            out.extend_from_slice(&dt.date.year.to_be_bytes());
            out.extend_from_slice(&[dt.date.month, dt.date.day, dt.hour, dt.minute, dt.second]);
            out.extend_from_slice(&dt.micro.to_be_bytes());
        }
        Value::Timestamp(t) => {
            out.push(0x09);
            out.extend_from_slice(&((*t as u64) ^ (1 << 63)).to_be_bytes());
        }
        // PostgreSQL's kinds: each in its own class, in PostgreSQL's order.
        Value::NumericSpecial(n) => {
            out.push(0x03);
            match n {
                // Below every negative number: class 0 with the largest
                // (flipped) integer-part length and no digits.
                NumericSpecial::NegInfinity => out.extend_from_slice(&[0, 0, 0]),
                NumericSpecial::PosInfinity => out.push(3),
                NumericSpecial::NaN => out.push(4),
            }
        }
        Value::Uuid(b) => {
            out.push(0x0A);
            out.extend_from_slice(b);
        }
        Value::Interval(iv) => {
            out.push(0x0B);
            out.extend_from_slice(&((iv.months as u32) ^ (1 << 31)).to_be_bytes());
            out.extend_from_slice(&((iv.days as u32) ^ (1 << 31)).to_be_bytes());
            out.extend_from_slice(&((iv.micros as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::TimeTz { micros, offset } => {
            // PostgreSQL orders by the UTC time, then by the offset.
            out.push(0x0C);
            let utc = micros - i64::from(*offset) * 1_000_000;
            out.extend_from_slice(&((utc as u64) ^ (1 << 63)).to_be_bytes());
            out.extend_from_slice(&((*offset as u32) ^ (1 << 31)).to_be_bytes());
        }
        Value::PgDate(d) => {
            out.push(0x0D);
            out.extend_from_slice(&((*d as u32) ^ (1 << 31)).to_be_bytes());
        }
        Value::PgTimestamp(t) | Value::PgTimestampTz(t) => {
            out.push(if matches!(v, Value::PgTimestamp(_)) {
                0x0E
            } else {
                0x0F
            });
            out.extend_from_slice(&((*t as u64) ^ (1 << 63)).to_be_bytes());
        }
    }
}

fn sortable_f64(f: f64) -> u64 {
    let f = if f == 0.0 { 0.0 } else { f };
    let b = f.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The primary-key encoding of a row of `def`: MySQL's columns by
/// [`encode_key_value`], PostgreSQL's by [`pg_key_value`]. A table without
/// a primary key has an implicit row identity: its whole content
/// ([`row_identity`]); identical rows share it, and a storage keeps how
/// many there are.
pub fn primary_key(def: &TableDef, row: &Row) -> Vec<u8> {
    if def.primary_key.is_empty() {
        return row_identity(def, row);
    }
    let mut k = Vec::new();
    for &i in &def.primary_key {
        let v = row.get(i).unwrap_or(&Value::Null);
        match def.columns.get(i).map(|c| &c.ty) {
            Some(SqlType::Pg(d)) => pg_key_value(v, d, &mut k),
            _ => encode_key_value(v, &mut k),
        }
    }
    k
}

/// The implicit row identity of a row of a table without a primary key:
/// every column by [`encode_key_value`] (so rows sort as `ORDER BY` every
/// column does), then the exact bytes of every text value (the key
/// encoding compares text case-insensitively; rows differing only in case
/// are different rows). Rows with equal identities are identical in every
/// column: a storage keeps one row and its count (MariaDB keeps
/// duplicates in a table without keys).
pub fn row_identity(def: &TableDef, row: &Row) -> Vec<u8> {
    let mut k = Vec::new();
    for (i, c) in def.columns.iter().enumerate() {
        let v = row.get(i).unwrap_or(&Value::Null);
        match &c.ty {
            SqlType::Pg(d) => pg_key_value(v, d, &mut k),
            _ => encode_key_value(v, &mut k),
        }
    }
    for v in row {
        if let Value::Text(s) | Value::Enum(s) | Value::Set(s) | Value::Json(s) = v {
            escaped_key_bytes(s.as_bytes(), &mut k);
        }
    }
    k
}

/// The order-preserving key encoding of a value of a PostgreSQL column
/// whose type descriptor is `descriptor`, equal where PostgreSQL's
/// equality holds: text exactly (deterministic collations, no case
/// folding), `character(n)` without trailing spaces (bpchar ignores
/// them), numeric by value (`1.5` = `1.50`: trailing fractional zeros
/// dropped, and a negative number's digits end in `0xFF` so that `-1.5`
/// sorts above `-1.51`); every other kind as [`encode_key_value`].
pub fn pg_key_value(v: &Value<'_>, descriptor: &[u8], out: &mut Vec<u8>) {
    match v {
        Value::Text(s) | Value::Enum(s) | Value::Json(s) => {
            let s = if descriptor.first() == Some(&replog_logical::relation::pgcode::CHAR) {
                s.trim_end_matches(' ')
            } else {
                s
            };
            out.push(0x04);
            escaped_key_bytes(s.as_bytes(), out);
        }
        Value::Decimal(s) => {
            let n = match s.split_once('.') {
                Some((int, frac)) => match frac.trim_end_matches('0') {
                    "" => int,
                    _ => s.trim_end_matches('0'),
                },
                None => s,
            };
            encode_key_value(&Value::Decimal(n.into()), out);
            if n.starts_with('-') && n.bytes().any(|b| matches!(b, b'1'..=b'9')) {
                out.push(0xFF);
            }
        }
        _ => encode_key_value(v, out),
    }
}

/// Bytes in a key, order-preserving: every 0 byte followed by 0xFF, then
/// the terminator 0 0.
fn escaped_key_bytes(b: &[u8], out: &mut Vec<u8>) {
    for &x in b {
        out.push(x);
        if x == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// The encoding of a unique key's columns, `None` when one is NULL (NULLs
/// never collide).
pub fn unique_key(cols: &[usize], row: &Row) -> Option<Vec<u8>> {
    let mut k = Vec::new();
    for &i in cols {
        let v = row.get(i)?;
        if v.is_null() {
            return None;
        }
        encode_key_value(v, &mut k);
    }
    Some(k)
}

#[derive(Debug, Clone)]
struct MemTable {
    def: TableDef,
    rows: BTreeMap<Vec<u8>, Row>,
    /// A table without a primary key: how many more copies of a row
    /// there are (rows identical in every column share one key).
    copies: BTreeMap<Vec<u8>, usize>,
    uniques: Vec<BTreeMap<Vec<u8>, Vec<u8>>>,
    auto_inc: u64,
    digest: u64,
    /// Rows with an integer key column holding a value of the other
    /// signedness ([`Storage::canonical_int_keys`]).
    foreign_ints: usize,
}

impl MemTable {
    fn new(def: TableDef) -> MemTable {
        let n = def.unique_keys.len();
        MemTable {
            def,
            rows: BTreeMap::new(),
            copies: BTreeMap::new(),
            uniques: vec![BTreeMap::new(); n],
            auto_inc: 1,
            digest: 0,
            foreign_ints: 0,
        }
    }

    /// Whether an integer column of the primary key or of a unique key of
    /// `row` holds a value of the other signedness (or not an integer; a
    /// boolean encodes as a signed integer).
    fn foreign_int(&self, row: &Row) -> bool {
        let foreign = |c: usize| match (self.def.columns.get(c).map(|col| &col.ty), row.get(c)) {
            (Some(SqlType::Int { unsigned, .. }), Some(v)) => !matches!(
                (unsigned, v),
                (true, Value::UInt(_)) | (false, Value::Int(_) | Value::Bool(_)) | (_, Value::Null)
            ),
            _ => false,
        };
        self.def.primary_key.iter().any(|&c| foreign(c))
            || self
                .def
                .unique_keys
                .iter()
                .any(|u| u.columns.iter().any(|&c| foreign(c)))
    }

    fn conflict(&self, row: &Row, except: Option<&[u8]>) -> Option<KeyConflict> {
        let pk = primary_key(&self.def, row);
        if self.rows.contains_key(&pk) && except != Some(pk.as_slice()) && !self.keyless() {
            return Some(KeyConflict {
                key_name: "PRIMARY".into(),
                existing: pk,
            });
        }
        for (u, idx) in self.def.unique_keys.iter().zip(&self.uniques) {
            if let Some(k) = unique_key(&u.columns, row)
                && let Some(owner) = idx.get(&k)
                && except != Some(owner.as_slice())
            {
                return Some(KeyConflict {
                    key_name: u.name.clone(),
                    existing: owner.clone(),
                });
            }
        }
        None
    }

    fn dup_error(&self, name: &str, row: &Row) -> Error {
        duplicate_key_error(&self.def, name, row)
    }

    fn link(&mut self, pk: &[u8], row: &Row) {
        for (u, idx) in self.def.unique_keys.iter().zip(self.uniques.iter_mut()) {
            if let Some(k) = unique_key(&u.columns, row) {
                idx.insert(k, pk.to_vec());
            }
        }
        if self.foreign_int(row) {
            self.foreign_ints += 1;
        }
        self.digest = self.digest.wrapping_add(digest::row_hash(&self.def, row));
    }

    fn unlink(&mut self, row: &Row) {
        for (u, idx) in self.def.unique_keys.iter().zip(self.uniques.iter_mut()) {
            if let Some(k) = unique_key(&u.columns, row) {
                idx.remove(&k);
            }
        }
        if self.foreign_int(row) {
            self.foreign_ints -= 1;
        }
        self.digest = self.digest.wrapping_sub(digest::row_hash(&self.def, row));
    }

    fn keyless(&self) -> bool {
        self.def.primary_key.is_empty()
    }

    fn insert(&mut self, row: Row) -> Result<Vec<u8>> {
        if let Some(KeyConflict { key_name: name, .. }) = self.conflict(&row, None) {
            return Err(self.dup_error(&name, &row));
        }
        let pk = primary_key(&self.def, &row);
        if self.rows.contains_key(&pk) {
            // Another copy of a row of a table without a primary key.
            *self.copies.entry(pk.clone()).or_default() += 1;
            self.digest = self.digest.wrapping_add(digest::row_hash(&self.def, &row));
            return Ok(pk);
        }
        self.link(&pk, &row);
        self.rows.insert(pk.clone(), row);
        Ok(pk)
    }

    /// Removes one copy of the row at `key`.
    fn remove(&mut self, key: &[u8]) -> Result<Row> {
        if let Some(n) = self.copies.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.copies.remove(key);
            }
            let row = self.rows.get(key).cloned().ok_or_else(missing_row)?;
            self.digest = self.digest.wrapping_sub(digest::row_hash(&self.def, &row));
            return Ok(row);
        }
        let row = self.rows.remove(key).ok_or_else(missing_row)?;
        self.unlink(&row);
        Ok(row)
    }

    fn count(&self, key: &[u8]) -> usize {
        usize::from(self.rows.contains_key(key)) + self.copies.get(key).copied().unwrap_or(0)
    }
}

/// The names a storage resolves: its databases, and the id of each table
/// by database and name. Every storage checks its CREATE, DROP and RENAME
/// against one, so that all refuse the same things with the same messages.
#[derive(Debug, Clone, Default)]
pub struct Namespace {
    databases: BTreeSet<String>,
    tables: BTreeMap<(String, String), TableId>,
}

impl Namespace {
    /// Adds database `name`; fails if it exists.
    pub fn create_database(&mut self, name: &str) -> Result<()> {
        if !self.databases.insert(name.to_string()) {
            return Err(Error::new(
                ErrorKind::DatabaseExists,
                format!("Can't create database '{name}'; database exists"),
            ));
        }
        Ok(())
    }

    /// Whether database `name` exists.
    pub fn has_database(&self, name: &str) -> bool {
        self.databases.contains(name)
    }

    /// Every database, in name order.
    pub fn databases(&self) -> Vec<String> {
        self.databases.iter().cloned().collect()
    }

    /// The table called `db.name`.
    pub fn lookup(&self, db: &str, name: &str) -> Option<TableId> {
        self.tables
            .get(&(db.to_string(), name.to_string()))
            .copied()
    }

    /// Every table, ordered by database then name.
    pub fn tables(&self) -> Vec<TableId> {
        self.tables.values().copied().collect()
    }

    /// Checks that a table may be called `db.name`: the database exists
    /// and no table has that name.
    pub fn check_free(&self, db: &str, name: &str) -> Result<()> {
        if !self.databases.contains(db) {
            return Err(Error::new(
                ErrorKind::UnknownDatabase,
                format!("Unknown database '{db}'"),
            ));
        }
        if self.lookup(db, name).is_some() {
            return Err(Error::new(
                ErrorKind::TableExists,
                format!("Table '{name}' already exists"),
            ));
        }
        Ok(())
    }

    /// Gives table `id` the name `db.name`; returns the table that had it.
    pub fn insert(&mut self, db: &str, name: &str, id: TableId) -> Option<TableId> {
        self.tables.insert((db.to_string(), name.to_string()), id)
    }

    /// Forgets the name `db.name`.
    pub fn remove(&mut self, db: &str, name: &str) {
        self.tables.remove(&(db.to_string(), name.to_string()));
    }

    /// The tables of database `name`, which DROP DATABASE drops before
    /// [`Namespace::drop_database`]; fails if the database does not exist.
    pub fn tables_to_drop(&self, name: &str) -> Result<Vec<TableId>> {
        if !self.databases.contains(name) {
            return Err(Error::new(
                ErrorKind::UnknownDatabase,
                format!("Can't drop database '{name}'; database doesn't exist"),
            ));
        }
        Ok(self
            .tables
            .iter()
            .filter(|((d, _), _)| d == name)
            .map(|(_, &id)| id)
            .collect())
    }

    /// Forgets database `name` (its tables are dropped first).
    pub fn drop_database(&mut self, name: &str) {
        self.databases.remove(name);
    }
}

/// The in-memory storage engine.
#[derive(Debug, Clone, Default)]
pub struct MemStorage {
    names: Namespace,
    tables: BTreeMap<TableId, MemTable>,
    next_id: TableId,
}

impl MemStorage {
    /// An empty store: no databases.
    pub fn new() -> MemStorage {
        MemStorage::default()
    }

    fn table(&self, id: TableId) -> Result<&MemTable> {
        self.tables
            .get(&id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownTable, format!("no table with id {id}")))
    }

    fn table_mut(&mut self, id: TableId) -> Result<&mut MemTable> {
        self.tables
            .get_mut(&id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownTable, format!("no table with id {id}")))
    }
}

#[cold]
fn missing_row() -> Error {
    Error::new(ErrorKind::Conflict, "no row with that primary key")
}

impl Storage for MemStorage {
    fn create_database(&mut self, name: &str) -> Result<()> {
        self.names.create_database(name)
    }

    fn database_exists(&self, name: &str) -> bool {
        self.names.has_database(name)
    }

    fn databases(&self) -> Vec<String> {
        self.names.databases()
    }

    fn lookup(&self, db: &str, name: &str) -> Option<TableId> {
        self.names.lookup(db, name)
    }

    fn def(&self, id: TableId) -> Option<&TableDef> {
        self.tables.get(&id).map(|t| &t.def)
    }

    fn tables(&self) -> Vec<TableId> {
        self.names.tables()
    }

    fn create_table(&mut self, def: TableDef) -> Result<TableId> {
        self.names.check_free(&def.database, &def.name)?;
        self.next_id += 1;
        let id = self.next_id;
        self.names.insert(&def.database, &def.name, id);
        self.tables.insert(id, MemTable::new(def));
        Ok(id)
    }

    fn drop_table(&mut self, id: TableId) -> Result<()> {
        let t = self.tables.remove(&id).ok_or_else(missing_row)?;
        self.names.remove(&t.def.database, &t.def.name);
        Ok(())
    }

    fn drop_database(&mut self, name: &str) -> Result<()> {
        for id in self.names.tables_to_drop(name)? {
            self.drop_table(id)?;
        }
        self.names.drop_database(name);
        Ok(())
    }

    fn rename_table(&mut self, id: TableId, db: &str, name: &str) -> Result<TableId> {
        self.names.check_free(db, name)?;
        let t = self.table_mut(id)?;
        let old = std::mem::replace(&mut t.def.database, db.to_string());
        let old_name = std::mem::replace(&mut t.def.name, name.to_string());
        self.names.remove(&old, &old_name);
        self.names.insert(db, name, id);
        Ok(id)
    }

    fn replace_table(&mut self, id: TableId, def: TableDef, rows: Vec<Row>) -> Result<()> {
        let old = self.table(id)?;
        let auto_inc = old.auto_inc;
        let mut t = MemTable::new(def);
        t.auto_inc = auto_inc;
        for r in rows {
            t.insert(r)?;
        }
        self.tables.insert(id, t);
        Ok(())
    }

    fn truncate(&mut self, id: TableId) -> Result<()> {
        let t = self.table_mut(id)?;
        let def = t.def.clone();
        *t = MemTable::new(def);
        Ok(())
    }

    fn get(&self, id: TableId, key: &[u8]) -> Option<Row> {
        self.tables.get(&id)?.rows.get(key).cloned()
    }

    fn get_ref(&self, id: TableId, key: &[u8]) -> Option<Cow<'_, Row>> {
        self.tables.get(&id)?.rows.get(key).map(Cow::Borrowed)
    }

    fn keys(&self, id: TableId) -> Vec<Vec<u8>> {
        let Some(t) = self.tables.get(&id) else {
            return Vec::new();
        };
        if t.copies.is_empty() {
            return t.rows.keys().cloned().collect();
        }
        // Every copy of a row of a table without a primary key.
        t.rows
            .keys()
            .flat_map(|k| std::iter::repeat_n(k, t.count(k)))
            .cloned()
            .collect()
    }

    fn key_range(&self, id: TableId, scan: KeyScan<'_>) -> Vec<Vec<u8>> {
        let KeyScan {
            start,
            end,
            reverse,
            max,
        } = scan;
        let Some(t) = self.tables.get(&id) else {
            return Vec::new();
        };
        if scan.is_empty() {
            // BTreeMap::range panics on an empty or inverted range.
            return Vec::new();
        }
        let range = t.rows.range::<[u8], _>((start, end));
        // Every copy of a row of a table without a primary key.
        let copies = |(k, _): (&'_ Vec<u8>, &'_ Row)| std::iter::repeat_n(k.clone(), t.count(k));
        if reverse {
            range.rev().flat_map(copies).take(max).collect()
        } else {
            range.flat_map(copies).take(max).collect()
        }
    }

    fn unique_range(&self, id: TableId, index: usize, scan: KeyScan<'_>) -> Vec<Vec<u8>> {
        let Some(idx) = self.tables.get(&id).and_then(|t| t.uniques.get(index)) else {
            return Vec::new();
        };
        if scan.is_empty() {
            // BTreeMap::range panics on an empty or inverted range.
            return Vec::new();
        }
        let range = idx.range::<[u8], _>((scan.start, scan.end));
        if scan.reverse {
            range
                .rev()
                .take(scan.max)
                .map(|(_, pk)| pk.clone())
                .collect()
        } else {
            range.take(scan.max).map(|(_, pk)| pk.clone()).collect()
        }
    }

    fn canonical_int_keys(&self, id: TableId) -> bool {
        self.tables.get(&id).is_some_and(|t| t.foreign_ints == 0)
    }

    fn row_count(&self, id: TableId) -> usize {
        self.tables
            .get(&id)
            .map_or(0, |t| t.rows.len() + t.copies.values().sum::<usize>())
    }

    fn find_conflict(&self, id: TableId, row: &Row, except: Option<&[u8]>) -> Option<KeyConflict> {
        self.tables.get(&id)?.conflict(row, except)
    }

    fn insert(&mut self, id: TableId, row: Row) -> Result<Vec<u8>> {
        self.table_mut(id)?.insert(row)
    }

    fn delete(&mut self, id: TableId, key: &[u8]) -> Result<Row> {
        self.table_mut(id)?.remove(key)
    }

    fn update(&mut self, id: TableId, key: &[u8], row: Row) -> Result<Row> {
        let t = self.table_mut(id)?;
        if !t.rows.contains_key(key) {
            return Err(missing_row());
        }
        if let Some(KeyConflict { key_name: name, .. }) = t.conflict(&row, Some(key)) {
            return Err(t.dup_error(&name, &row));
        }
        let old = t.remove(key)?;
        t.insert(row)?;
        Ok(old)
    }

    fn auto_increment(&self, id: TableId) -> u64 {
        self.tables.get(&id).map_or(1, |t| t.auto_inc)
    }

    fn set_auto_increment(&mut self, id: TableId, next: u64) {
        if let Some(t) = self.tables.get_mut(&id) {
            t.auto_inc = next;
        }
    }

    fn digest(&self, id: TableId) -> u64 {
        self.tables.get(&id).map_or(0, |t| t.digest)
    }

    fn unique_lookup(&self, id: TableId, index: usize, key: &[u8]) -> Option<Vec<u8>> {
        self.tables.get(&id)?.uniques.get(index)?.get(key).cloned()
    }
}

/// A transaction the store has committed, as [`Storage::commit`] is told
/// of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageCommit {
    /// The store's transaction id.
    pub txid: u64,
    /// Its time, µs since the epoch.
    pub timestamp_us: i64,
    /// The store digest at its start.
    pub state_before: u64,
    /// The store digest now.
    pub state_after: u64,
}

/// One scan of a table's primary keys ([`Storage::key_range`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyScan<'a> {
    /// The keys' lower bound.
    pub start: Bound<&'a [u8]>,
    /// Their upper bound.
    pub end: Bound<&'a [u8]>,
    /// In reverse key order (then from the last such key), else in key
    /// order.
    pub reverse: bool,
    /// At most this many keys.
    pub max: usize,
}

impl<'a> KeyScan<'a> {
    /// Every key `k` with `start <= k < end` (`end` `None`: no upper
    /// bound), in key order.
    pub fn forward(start: &'a [u8], end: Option<&'a [u8]>) -> KeyScan<'a> {
        KeyScan {
            start: Bound::Included(start),
            end: end.map_or(Bound::Unbounded, Bound::Excluded),
            reverse: false,
            max: usize::MAX,
        }
    }

    /// Whether the bounds admit no key (an empty or inverted range).
    pub fn is_empty(&self) -> bool {
        use Bound::{Excluded, Included};
        match (self.start, self.end) {
            (Included(s), Included(e)) => s > e,
            (Included(s) | Excluded(s), Included(e) | Excluded(e)) => s >= e,
            _ => false,
        }
    }
}

/// An existing row that a row would collide with
/// ([`Storage::find_conflict`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyConflict {
    /// The key they collide on: `PRIMARY` or a unique key's name.
    pub key_name: String,
    /// The existing row's primary key.
    pub existing: Vec<u8>,
}

/// MySQL's error for a row that collides on key `name` (`PRIMARY` or a
/// unique key's name): `Duplicate entry 'v1-v2' for key 'name'`. Every
/// storage engine reports collisions with it, so the engines agree to the
/// letter.
pub fn duplicate_key_error(def: &TableDef, name: &str, row: &Row) -> Error {
    let cols: Vec<usize> = if name == "PRIMARY" {
        def.primary_key.clone()
    } else {
        def.unique_keys
            .iter()
            .find(|u| u.name == name)
            .map(|u| u.columns.clone())
            .unwrap_or_default()
    };
    let shown: Vec<String> = cols
        .iter()
        .map(|&i| row.get(i).map_or(String::new(), ToString::to_string))
        .collect();
    Error::new(
        ErrorKind::DuplicateKey,
        format!("Duplicate entry '{}' for key '{}'", shown.join("-"), name),
    )
}
