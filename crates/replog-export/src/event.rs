//! Change events: the row changes of any [`TxnSource`], one event per row,
//! in commit order, for every exporter (CDC envelopes, Parquet, SQL over
//! changes).
//!
//! Every source reaches this layer the same way, as logical records in
//! committed [`Transaction`]s: native logical logs, MySQL/MariaDB binlogs
//! (`BinlogSource`), PostgreSQL WAL (`PgWalSource`) and logical decoding
//! outputs (`PgLogicalSource`). Statement logs hold no rows: a source whose
//! segment is not a logical log is refused ([`ChangeEvents::run`]); run
//! its statements first (`replog_convert::to_logical`, as `convert --to
//! logical` does).
//!
//! # What it guarantees
//!
//! - **Order**: transactions in the order the source commits them; inside
//!   one, changes in log order. A TRUNCATE of several tables is one event
//!   per table, in the record's order.
//! - **Whole transactions only**: the source's assembler hands over
//!   committed transactions; an uncommitted tail is never seen. A
//!   transaction is announced ([`ChangeSink::begin`]) just before its first
//!   change and closed ([`ChangeSink::end`]) with its counts per table;
//!   a transaction without changes (only RELATIONs or messages) is not
//!   announced at all.
//! - **Damage**: [`ChangeEvents::run`] stops at the first damage the
//!   source's recovery policy does not accept, with its offset; damage the
//!   policy accepts ends the log and is left in the source's summary.
//! - **Relations**: each change carries the [`Table`] its RELATION record
//!   bound (names, types, key columns, as of that change). A row record
//!   whose relation id was never bound, or whose tuple does not have one
//!   value per column, is an error naming its LSN and offset.
//! - **Cost**: no allocation per change. Row images are the record's
//!   [`Tuple`]s, borrowed from the source's arena and decoded lazily
//!   ([`Tuple::values`] yields borrowed [`replog_core::Value`]s); a
//!   [`Table`] is built once per distinct RELATION and shared; its
//!   [`Table::serial`] lets a consumer keep what it prepares per table in
//!   a `Vec` (no hashing per change).
//!
//! ```
//! use replog_core::txn::{TxnInput, TxnSource};
//! use replog_export::event::{Change, ChangeEvents, ChangeSink, Txn};
//!
//! struct Count(u64);
//! impl ChangeSink for Count {
//!     type Error = replog_core::Error;
//!     fn change(&mut self, _tx: &Txn<'_>, _c: &Change<'_>) -> Result<(), Self::Error> {
//!         self.0 += 1;
//!         Ok(())
//!     }
//! }
//! let mut log = Vec::new();
//! let mut w = replog_core::writer::LogWriter::new(&mut log, &replog_logical::sample::sample_options())?;
//! replog_logical::sample::write_sample(&mut w)?;
//! w.finish()?;
//! let mut source = vec![replog_core::reader::SegmentInput::memory("sample", log)]
//!     .open(Default::default())?;
//! let mut count = Count(0);
//! ChangeEvents::new().run(&mut *source, &mut count)?;
//! assert!(count.0 > 0);
//! # Ok::<(), replog_core::Error>(())
//! ```

use replog_core::error::{Error, ErrorKind, Result};
use replog_core::reader::Damage;
use replog_core::txn::{SourceKind, Transaction, TxnEvent, TxnSource};
use replog_core::{LogKind, Value};
use replog_logical::{ColumnType, ColumnValue, Ddl, LogicalRecord, OldImage, Relation, Tuple};
use std::collections::HashMap;
use std::rc::Rc;

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// A row was inserted.
    Create,
    /// A row was changed.
    Update,
    /// A row was removed.
    Delete,
    /// Every row of a table was removed.
    Truncate,
    /// A schema change (DDL text; MySQL/MariaDB logs).
    Ddl,
    /// A row of an initial state (snapshot), not a change.
    Read,
}

impl Op {
    /// Debezium's letter: `c`, `u`, `d`, `t`, `r`; DDL is `ddl`.
    pub fn code(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Truncate => "t",
            Op::Ddl => "ddl",
            Op::Read => "r",
        }
    }
}

/// One column of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    /// Column name.
    pub name: String,
    /// Part of the primary key (replica identity).
    pub key: bool,
    /// Accepts NULL.
    pub nullable: bool,
}

/// A table as one RELATION record described it, owned and shared by the
/// changes that use it.
#[derive(Debug)]
pub struct Table {
    serial: usize,
    /// Relation id in the log.
    pub id: u32,
    /// Schema version.
    pub version: u32,
    /// Database (MySQL) or schema (PostgreSQL); may be empty.
    pub database: String,
    /// Table name.
    pub table: String,
    /// Columns in table order: one value per column in every row image.
    pub columns: Vec<ColumnMeta>,
    /// Indexes of the key columns.
    pub keys: Vec<usize>,
    /// Whether the columns have PostgreSQL types.
    pub postgres: bool,
    body: Box<[u8]>,
    /// The RELATION as the log had it (before [`RelationHints`]).
    source_body: Box<[u8]>,
}

impl Table {
    /// Builds the table of a RELATION record body; `serial` numbers it
    /// among the tables of one [`ChangeEvents`].
    fn new(serial: usize, r: &Relation<'_>, body: &[u8]) -> Table {
        Table {
            serial,
            id: r.relation_id,
            version: r.schema_version,
            database: r.database.to_string(),
            table: r.table.to_string(),
            columns: r
                .columns
                .iter()
                .map(|c| ColumnMeta {
                    name: c.name.to_string(),
                    key: c.key,
                    nullable: c.nullable,
                })
                .collect(),
            keys: r.key_columns().collect(),
            postgres: r.is_postgres(),
            body: body.into(),
            source_body: body.into(),
        }
    }

    /// A number unique to this table among those one [`ChangeEvents`]
    /// made, dense from 0: index a `Vec` of what a consumer prepares per
    /// table (a schema, a topic name) with it.
    pub fn serial(&self) -> usize {
        self.serial
    }

    /// `database.table`, or `table` without a database.
    pub fn qualified_name(&self) -> String {
        if self.database.is_empty() {
            self.table.clone()
        } else {
            format!("{}.{}", self.database, self.table)
        }
    }

    /// The RELATION with its column types, decoded from the record it was
    /// built from (it was valid then): for what a consumer prepares once
    /// per table, not per change.
    pub fn relation(&self) -> Relation<'_> {
        match LogicalRecord::decode(&self.body, 0) {
            Ok(LogicalRecord::Relation(r)) => r,
            // Unreachable: the body was decoded as this RELATION before.
            _ => Relation {
                relation_id: self.id,
                schema_version: self.version,
                database: &self.database,
                table: &self.table,
                columns: Vec::new(),
            },
        }
    }

    /// Each column's declared type, in table order (decoded from the
    /// RELATION: once per table).
    pub fn column_types(&self) -> Vec<ColumnType<'_>> {
        self.relation().columns.into_iter().map(|c| c.ty).collect()
    }

    /// The RELATION record body the table was built from.
    pub fn relation_body(&self) -> &[u8] {
        &self.body
    }
}

/// What a consumer prepares once per [`Table`] (a schema, a topic name),
/// found by the table's serial: no hashing per change.
#[derive(Debug)]
pub struct PerTable<T>(Vec<Option<T>>);

impl<T> Default for PerTable<T> {
    fn default() -> PerTable<T> {
        PerTable(Vec::new())
    }
}

impl<T> PerTable<T> {
    /// Prepares `t` with `make` unless done already; returns its serial
    /// (for [`PerTable::get`] / [`PerTable::get_mut`]).
    pub fn prepare(&mut self, t: &Table, make: impl FnOnce(&Table) -> T) -> usize {
        let s = t.serial();
        if self.0.len() <= s {
            self.0.resize_with(s + 1, || None);
        }
        if self.0[s].is_none() {
            self.0[s] = Some(make(t));
        }
        s
    }

    /// What was prepared for the table of serial `s`.
    pub fn get(&self, s: usize) -> Option<&T> {
        self.0.get(s)?.as_ref()
    }

    /// What was prepared for the table of serial `s`, to change.
    pub fn get_mut(&mut self, s: usize) -> Option<&mut T> {
        self.0.get_mut(s)?.as_mut()
    }
}

/// Where a transaction is in the log it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position<'t> {
    /// A replog log: the LSN of the COMMIT frame.
    Native {
        /// LSN of the COMMIT.
        commit_lsn: u64,
    },
    /// A MySQL/MariaDB binlog: the file and position of the transaction's
    /// first event, and its GTID when the server logged one.
    Binlog {
        /// Binlog file name.
        file: &'t str,
        /// Position of the transaction's first event.
        pos: u64,
        /// GTID (`domain-server-seq` for MariaDB, `uuid:n` for MySQL).
        gtid: Option<&'t str>,
    },
    /// PostgreSQL (logical decoding output or WAL): the WAL LSN of the
    /// commit record and the transaction id.
    Postgres {
        /// LSN of the commit record, PostgreSQL's.
        commit_lsn: u64,
        /// The top-level transaction id.
        xid: u64,
    },
}

/// Parses PostgreSQL's `X/X` LSN text.
pub fn parse_pg_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.split_once('/')?;
    let hi = u32::from_str_radix(hi, 16).ok()?;
    let lo = u32::from_str_radix(lo, 16).ok()?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}

impl<'t> Position<'t> {
    /// The position of `tx`, from its source kind and origin.
    pub fn of(tx: &Transaction<'t>) -> Position<'t> {
        let origin = tx.begin.origin;
        match tx.source {
            SourceKind::Binlog => {
                let (gtid, at) = match origin.rsplit_once(' ') {
                    Some((g, at)) => (Some(g), at),
                    None => (None, origin),
                };
                let (file, pos) = match at.rsplit_once(':') {
                    Some((f, p)) => (f, p.parse().unwrap_or(tx.begin_offset)),
                    None => (at, tx.begin_offset),
                };
                Position::Binlog { file, pos, gtid }
            }
            // pglogical: `<X/X> xid <n>[ …]`; PostgreSQL WAL decoded with
            // its catalog, and a native log written from it: `<X/X> xid <n>`.
            SourceKind::Postgres | SourceKind::PostgresWal | SourceKind::Native => {
                let first = origin.split(' ').next().unwrap_or("");
                match parse_pg_lsn(first) {
                    Some(commit_lsn) => Position::Postgres {
                        commit_lsn,
                        xid: tx.txid(),
                    },
                    None => Position::Native {
                        commit_lsn: tx.commit_lsn,
                    },
                }
            }
        }
    }
}

/// A transaction whose changes are being delivered.
#[derive(Debug, Clone, Copy)]
pub struct Txn<'t> {
    /// The transaction as the source handed it over (times, ids, LSNs,
    /// offsets, origin).
    pub tx: Transaction<'t>,
    /// Its position in the log it came from.
    pub position: Position<'t>,
    /// Its ordinal among the transactions delivered (0 for the first).
    pub ordinal: u64,
}

impl Txn<'_> {
    /// Whether the transaction comes from PostgreSQL WAL decoded with its
    /// catalog: its records' LSNs are the native log's, its position's
    /// commit LSN is PostgreSQL's.
    fn is_decoded_pg_wal(&self) -> bool {
        matches!(self.position, Position::Postgres { .. }) && self.tx.source != SourceKind::Postgres
    }

    /// The LSN where the transaction starts, in its source's terms
    /// (PostgreSQL: its first record's when the capture says, else the
    /// commit LSN).
    pub fn begin_lsn(&self) -> u64 {
        match self.position {
            Position::Postgres { commit_lsn, .. } if self.is_decoded_pg_wal() => commit_lsn,
            _ => self.tx.begin_lsn,
        }
    }

    /// The LSN just past the transaction's commit, in its source's terms
    /// (PostgreSQL: the commit record's end when the capture says, else
    /// the commit LSN).
    pub fn end_lsn(&self) -> u64 {
        match self.position {
            Position::Postgres { commit_lsn, .. } if self.is_decoded_pg_wal() => commit_lsn,
            _ => self.tx.end_lsn,
        }
    }

    /// Transaction id (PostgreSQL: the xid; binlogs: the importer's).
    pub fn txid(&self) -> u64 {
        self.tx.txid()
    }

    /// Commit time, microseconds since the Unix epoch, as the log has it.
    pub fn commit_time_us(&self) -> i64 {
        self.tx.commit.timestamp_us
    }

    /// Begin time, microseconds since the Unix epoch, as the log has it.
    pub fn begin_time_us(&self) -> i64 {
        self.tx.begin.timestamp_us
    }

    /// Server id of the leader (binlogs; 0 when the log has none).
    pub fn server_id(&self) -> u32 {
        self.tx.begin.server_id
    }
}

/// One row change (or TRUNCATE, or DDL) of a transaction.
#[derive(Debug, Clone, Copy)]
pub struct Change<'e> {
    /// What it did.
    pub op: Op,
    /// The table (None for DDL).
    pub table: Option<&'e Rc<Table>>,
    /// The row before (UPDATE when the log sent it; DELETE always):
    /// every column, or only the key columns
    /// ([`replog_logical::ImageKind`]).
    pub before: Option<OldImage<'e>>,
    /// The row after (INSERT, UPDATE, a snapshot row).
    pub after: Option<Tuple<'e>>,
    /// DDL: its database and text.
    pub ddl: Option<Ddl<'e>>,
    /// TRUNCATE: CASCADE and RESTART IDENTITY were given.
    pub truncate: Option<(bool, bool)>,
    /// LSN of the change in its source's terms: PostgreSQL's for
    /// PostgreSQL sources (the change's own when the capture carries one,
    /// as COPY output of the decoding functions does; else its
    /// transaction's commit LSN, as for a `pg_recvlogical` file or WAL
    /// decoded with its catalog), the log's for native logs and binlogs
    /// (the LSN of the native log the import stands for).
    pub lsn: u64,
    /// Absolute offset of the record's frame (binlogs: its event's
    /// position).
    pub offset: u64,
    /// Ordinal of the change in its transaction (0 for the first).
    pub index: u64,
    /// Ordinal of the change among its table's changes in the transaction
    /// (0 for the first).
    pub table_index: u64,
}

impl<'e> Change<'e> {
    /// The values of the row after, one per column (`Unchanged` where the
    /// log did not send a value).
    pub fn after_values(&self) -> impl Iterator<Item = Result<ColumnValue<'e>>> + 'e {
        self.after.into_iter().flat_map(|t| t.values())
    }

    /// The values of the row before.
    pub fn before_values(&self) -> impl Iterator<Item = Result<ColumnValue<'e>>> + 'e {
        self.before.into_iter().flat_map(|b| b.values.values())
    }

    /// Whether an UPDATE changed the key: its before-image carries key
    /// values that differ from the after-image's (false when the log sent
    /// no before-image, which it does only when the key did not change).
    pub fn key_changed(&self) -> Result<bool> {
        let (Op::Update, Some(t), Some(b), Some(a)) =
            (self.op, self.table, self.before, self.after)
        else {
            return Ok(false);
        };
        if t.keys.is_empty() {
            return Ok(false);
        }
        let mut k = 0;
        for (i, (bv, av)) in b.values.values().zip(a.values()).enumerate() {
            if t.keys.get(k) != Some(&i) {
                continue;
            }
            k += 1;
            match (bv?, av?) {
                (ColumnValue::Value(x), ColumnValue::Value(y)) if !same_value(&x, &y) => {
                    return Ok(true);
                }
                _ => {}
            }
            if k == t.keys.len() {
                break;
            }
        }
        Ok(false)
    }
}

/// Equality of values, floats by bits (a NaN key is the same key).
fn same_value(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// The changes of one transaction per table, handed to
/// [`ChangeSink::end`].
#[derive(Debug, Clone, Copy)]
pub struct TxnCounts<'e> {
    /// `(table, changes)` in the order the tables were first changed (a
    /// table is one entry by its name, even when its RELATION changed in
    /// the transaction: the entry holds the first); DDL events are not
    /// counted here.
    pub tables: &'e [(Rc<Table>, u64)],
    /// Every event delivered for the transaction (DDL included).
    pub total: u64,
}

/// What receives the change events ([`ChangeEvents::run`]).
pub trait ChangeSink {
    /// The sink's error; errors of the log convert into it.
    type Error: From<Error>;

    /// A transaction starts: called before its first change.
    fn begin(&mut self, tx: &Txn<'_>) -> std::result::Result<(), Self::Error> {
        let _ = tx;
        Ok(())
    }

    /// One change.
    fn change(&mut self, tx: &Txn<'_>, change: &Change<'_>)
    -> std::result::Result<(), Self::Error>;

    /// The transaction ends: its changes counted per table.
    fn end(
        &mut self,
        tx: &Txn<'_>,
        counts: &TxnCounts<'_>,
    ) -> std::result::Result<(), Self::Error> {
        let _ = (tx, counts);
        Ok(())
    }
}

/// What a run delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Transactions announced (those with at least one change).
    pub transactions: u64,
    /// Change events (DDL and TRUNCATE included).
    pub changes: u64,
    /// Application messages passed over (no envelope carries them).
    pub messages: u64,
    /// Damage the recovery policy accepted as the end of the log.
    pub tolerated_damage: Vec<Damage>,
}

/// What completes a table's RELATION with facts its log does not carry
/// ([`ChangeEvents::with_hints`]).
pub trait RelationHints {
    /// Completes `r` in place (the result may borrow from `self`); true
    /// when something changed.
    fn refine<'a>(&'a self, r: &mut Relation<'a>) -> bool;
}

/// Turns transactions into change events (see the module docs). Keeps the
/// tables bound so far; reuse it for one log.
#[derive(Default)]
pub struct ChangeEvents {
    tables: HashMap<u32, Rc<Table>>,
    hints: Option<Box<dyn RelationHints>>,
    made: usize,
    counts: Vec<(Rc<Table>, u64)>,
    ordinal: u64,
    delivered: Delivered,
    /// INSERTs are rows of a snapshot ([`ChangeEvents::run_snapshot`]).
    snapshot: bool,
}

impl std::fmt::Debug for ChangeEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeEvents")
            .field("tables", &self.tables.len())
            .field("delivered", &self.delivered)
            .finish()
    }
}

impl ChangeEvents {
    /// No table bound yet.
    pub fn new() -> ChangeEvents {
        ChangeEvents::default()
    }

    /// What was delivered so far.
    pub fn delivered(&self) -> &Delivered {
        &self.delivered
    }

    /// The table relation id `id` is bound to now.
    pub fn table(&self, id: u32) -> Option<&Rc<Table>> {
        self.tables.get(&id)
    }

    /// Completes the tables with what their RELATIONs cannot say (the
    /// primary key of a REPLICA IDENTITY FULL table, enum labels: pgoutput
    /// carries neither), from `hints`.
    pub fn with_hints(mut self, hints: Box<dyn RelationHints>) -> ChangeEvents {
        self.hints = Some(hints);
        self
    }

    /// Binds a RELATION (body `body`) unless the id is bound to the same
    /// one already; returns the table.
    pub fn bind(&mut self, r: &Relation<'_>, body: &[u8]) -> &Rc<Table> {
        let same = self
            .tables
            .get(&r.relation_id)
            .is_some_and(|t| *t.source_body == *body);
        if !same {
            let mut refined = r.clone();
            let changed = self.hints.as_ref().is_some_and(|h| h.refine(&mut refined));
            let mut encoded = Vec::new();
            let mut t = if changed
                && LogicalRecord::Relation(refined.clone())
                    .encode(&mut encoded)
                    .is_ok()
            {
                Table::new(self.made, &refined, &encoded)
            } else {
                Table::new(self.made, r, body)
            };
            t.source_body = body.into();
            self.made += 1;
            self.tables.insert(r.relation_id, Rc::new(t));
        }
        &self.tables[&r.relation_id]
    }

    /// Delivers the rows of an initial state as [`Op::Read`] events: the
    /// INSERTs of `source` (a logical log holding a snapshot's tables and
    /// rows) are rows read, not changes. Then [`ChangeEvents::run`] the log
    /// that continues from it.
    pub fn run_snapshot<S: ChangeSink>(
        &mut self,
        source: &mut dyn TxnSource,
        sink: &mut S,
    ) -> std::result::Result<Delivered, S::Error> {
        self.snapshot = true;
        let r = self.run(source, sink);
        self.snapshot = false;
        r
    }

    /// Delivers every change of the log `source` reads to `sink`, in
    /// commit order; stops at damage its recovery policy does not accept.
    pub fn run<S: ChangeSink>(
        &mut self,
        source: &mut dyn TxnSource,
        sink: &mut S,
    ) -> std::result::Result<Delivered, S::Error> {
        while let Some(ev) = source.next() {
            match ev? {
                TxnEvent::Segment { header, name, .. } => {
                    if header.kind != LogKind::Logical {
                        return Err(Error::unplaced(
                            ErrorKind::Mismatch,
                            format!(
                                "{name}: a {} log holds no row changes; convert it to a logical log first (replog convert --to logical)",
                                header.kind
                            ),
                        )
                        .into());
                    }
                }
                TxnEvent::Damage(d) => {
                    if !d.tolerated {
                        return Err(damaged(d).into());
                    }
                    self.delivered.tolerated_damage.push(d.clone());
                }
                TxnEvent::Transaction(tx) => self.transaction(&tx, sink)?,
            }
        }
        if let Some(d) = source.intolerable() {
            return Err(damaged(d).into());
        }
        Ok(self.delivered.clone())
    }

    /// Delivers the changes of one transaction to `sink`.
    pub fn transaction<S: ChangeSink>(
        &mut self,
        tx: &Transaction<'_>,
        sink: &mut S,
    ) -> std::result::Result<(), S::Error> {
        let txn = Txn {
            tx: *tx,
            position: Position::of(tx),
            ordinal: self.ordinal,
        };
        self.counts.clear();
        let mut index = 0u64;
        let commit_lsn = match txn.position {
            Position::Postgres { commit_lsn, .. } if txn.is_decoded_pg_wal() => Some(commit_lsn),
            _ => None,
        };
        for rec in tx.records() {
            let at = rec.body_offset();
            let placed = |e: Error| at_lsn(e, rec.lsn);
            let record = LogicalRecord::decode(rec.body, at).map_err(placed)?;
            let mut base = Change {
                op: Op::Create,
                table: None,
                before: None,
                after: None,
                ddl: None,
                truncate: None,
                lsn: commit_lsn.unwrap_or(rec.lsn),
                offset: rec.offset,
                index,
                table_index: 0,
            };
            match record {
                LogicalRecord::Relation(r) => {
                    self.bind(&r, rec.body);
                    continue;
                }
                LogicalRecord::Message(_) => {
                    self.delivered.messages += 1;
                    continue;
                }
                LogicalRecord::Ddl(d) => {
                    base.op = Op::Ddl;
                    base.ddl = Some(d);
                    self.emit(&txn, &base, None, sink)?;
                }
                LogicalRecord::Insert(r) => {
                    let t = self.bound(r.relation_id, &rec)?;
                    arity(&t, &r.new, "the row", &rec)?;
                    if self.snapshot {
                        base.op = Op::Read;
                    }
                    base.after = Some(r.new);
                    self.emit(&txn, &base, Some(t), sink)?;
                }
                LogicalRecord::Update(r) => {
                    let t = self.bound(r.relation_id, &rec)?;
                    arity(&t, &r.after, "the row after", &rec)?;
                    if let Some(b) = &r.before {
                        arity(&t, &b.values, "the row before", &rec)?;
                    }
                    base.op = Op::Update;
                    base.before = r.before;
                    base.after = Some(r.after);
                    self.emit(&txn, &base, Some(t), sink)?;
                }
                LogicalRecord::Delete(r) => {
                    let t = self.bound(r.relation_id, &rec)?;
                    arity(&t, &r.before.values, "the row before", &rec)?;
                    base.op = Op::Delete;
                    base.before = Some(r.before);
                    self.emit(&txn, &base, Some(t), sink)?;
                }
                LogicalRecord::Truncate(r) => {
                    base.op = Op::Truncate;
                    base.truncate = Some((r.cascade, r.restart_identity));
                    for id in &r.relation_ids {
                        let t = self.bound(*id, &rec)?;
                        base.index = index;
                        self.emit(&txn, &base, Some(t), sink)?;
                        index += 1;
                    }
                    continue;
                }
            }
            index += 1;
        }
        if index > 0 {
            let counts = TxnCounts {
                tables: &self.counts,
                total: index,
            };
            sink.end(&txn, &counts)?;
            self.ordinal += 1;
            self.delivered.transactions += 1;
        }
        Ok(())
    }

    fn bound(&self, id: u32, rec: &replog_core::txn::TxRecord<'_>) -> Result<Rc<Table>> {
        self.tables.get(&id).cloned().ok_or_else(|| {
            Error::malformed(
                rec.body_offset(),
                format!("relation id {id} is used before any RELATION binds it"),
            )
            .context(format_args!("LSN {}", rec.lsn))
        })
    }

    fn emit<S: ChangeSink>(
        &mut self,
        txn: &Txn<'_>,
        change: &Change<'_>,
        table: Option<Rc<Table>>,
        sink: &mut S,
    ) -> std::result::Result<(), S::Error> {
        if change.index == 0 {
            sink.begin(txn)?;
        }
        let mut c = *change;
        if let Some(t) = &table {
            // By name: a table whose RELATION changed inside the
            // transaction is still one table.
            let same = |x: &Rc<Table>| {
                Rc::ptr_eq(x, t) || (x.table == t.table && x.database == t.database)
            };
            let n = match self.counts.iter_mut().find(|(x, _)| same(x)) {
                Some((_, n)) => n,
                None => {
                    self.counts.push((t.clone(), 0));
                    &mut self.counts.last_mut().expect("just pushed").1
                }
            };
            c.table_index = *n;
            *n += 1;
        }
        c.table = table.as_ref();
        self.delivered.changes += 1;
        sink.change(txn, &c)
    }
}

/// Fails unless `t` has one value per column of `table`.
fn arity(
    table: &Table,
    t: &Tuple<'_>,
    what: &str,
    rec: &replog_core::txn::TxRecord<'_>,
) -> Result<()> {
    if t.len() == table.columns.len() {
        return Ok(());
    }
    Err(Error::malformed(
        t.offset(),
        format!(
            "{what} of {} has {} columns, its RELATION {}",
            table.qualified_name(),
            t.len(),
            table.columns.len()
        ),
    )
    .context(format_args!("LSN {}", rec.lsn)))
}

/// The error `e` of a record at `lsn`: its message names the LSN.
fn at_lsn(e: Error, lsn: u64) -> Error {
    e.context(format_args!("LSN {lsn}"))
}

/// The error of damage the recovery policy does not accept. It names the
/// damage only: the command reading the events says what stopped.
fn damaged(d: &Damage) -> Error {
    d.to_error().context("the log is damaged")
}
