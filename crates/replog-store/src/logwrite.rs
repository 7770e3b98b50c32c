//! The leader side: encoding [`CommittedTransaction`]s as native statement
//! and logical log records (`formats/store.md` §8), and writing them as
//! they commit.
//!
//! Both logs carry the same transactions with the same txids: BEGIN (txid,
//! time of the first statement, server id, origin `0-<server>-<txid>`), the
//! format records, and COMMIT (time of the last statement, `state_before`
//! and `state_after` digests).
//!
//! ```
//! use replog_core::LogKind;
//! use replog_core::reader::{LogReader, ReaderOptions};
//! use replog_core::writer::{LogWriter, WriterOptions};
//! use replog_store::logwrite::{LogicalEncoder, write_transaction};
//! use replog_store::{SimEnvironment, Store};
//!
//! let mut store = Store::new(SimEnvironment::default());
//! let mut enc = LogicalEncoder::new(1);
//! let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).unwrap();
//! for sql in ["CREATE DATABASE d", "CREATE TABLE d.t (id INT PRIMARY KEY)", "INSERT INTO d.t VALUES (1)"] {
//!     store.execute(sql).unwrap();
//!     for tx in store.take_committed() {
//!         let schema = store.table_defs();
//!         write_transaction(&mut w, &enc.encode(&tx, Some(&schema)).unwrap()).unwrap();
//!     }
//! }
//! let bytes = w.finish().unwrap();
//! let summary = replog_core::reader::scan(
//!     vec![replog_core::reader::SegmentInput::memory("m", bytes)],
//!     ReaderOptions::default(),
//! ).unwrap();
//! assert_eq!(summary.commits, 3);
//! assert_eq!(summary.final_state, Some(store.digest()));
//! ```

use crate::capture::{CapturedStatement, CommittedTransaction, RowChange};
use crate::types::{Datum, Row, TableDef};
use replog_core::Value;
use replog_core::writer::{DirWriter, LogWriter};
use replog_core::{Begin, Commit};
use replog_logical::{
    Ddl, Delete, ImageKind, Insert, LogicalRecord, OldImage, Truncate, TupleBuf, Update,
};
use replog_statement::{Context, RandSeed, Statement};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

/// One transaction ready to be written: BEGIN fields, format record
/// bodies, COMMIT.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedTransaction {
    /// Transaction id (the leader's, the same in every log).
    pub txid: u64,
    /// BEGIN timestamp, µs since the epoch.
    pub begin_us: i64,
    /// Leader server id.
    pub server_id: u32,
    /// BEGIN origin text (`0-<server>-<txid>`, GTID-like).
    pub origin: String,
    /// Format record bodies, in order.
    pub records: Vec<Vec<u8>>,
    /// The COMMIT record.
    pub commit: Commit,
}

/// Where transactions are written: a single segment or a directory log.
pub trait TxSink {
    /// Writes BEGIN; returns its LSN.
    fn begin(&mut self, b: &Begin<'_>) -> replog_core::Result<u64>;
    /// Writes a format record; returns its LSN.
    fn append(&mut self, body: &[u8]) -> replog_core::Result<u64>;
    /// Writes COMMIT; returns its LSN.
    fn commit(&mut self, c: &Commit) -> replog_core::Result<u64>;
}

impl TxSink for DirWriter {
    fn begin(&mut self, b: &Begin<'_>) -> replog_core::Result<u64> {
        DirWriter::begin(self, b)
    }
    fn append(&mut self, body: &[u8]) -> replog_core::Result<u64> {
        DirWriter::append(self, body)
    }
    fn commit(&mut self, c: &Commit) -> replog_core::Result<u64> {
        DirWriter::commit(self, c)
    }
}

impl<W: Write> TxSink for LogWriter<W> {
    fn begin(&mut self, b: &Begin<'_>) -> replog_core::Result<u64> {
        LogWriter::begin(self, b)
    }
    fn append(&mut self, body: &[u8]) -> replog_core::Result<u64> {
        LogWriter::append(self, body)
    }
    fn commit(&mut self, c: &Commit) -> replog_core::Result<u64> {
        LogWriter::commit(self, c)
    }
}

/// Writes one encoded transaction; returns the LSN of its COMMIT.
pub fn write_transaction(w: &mut impl TxSink, tx: &EncodedTransaction) -> replog_core::Result<u64> {
    w.begin(&Begin {
        txid: tx.txid,
        timestamp_us: tx.begin_us,
        server_id: tx.server_id,
        origin: &tx.origin,
    })?;
    for r in &tx.records {
        w.append(r)?;
    }
    w.commit(&tx.commit)
}

fn frame(tx: &CommittedTransaction, server_id: u32, records: Vec<Vec<u8>>) -> EncodedTransaction {
    let commit_us = tx
        .statements
        .iter()
        .map(|s| s.context.timestamp_us)
        .max()
        .unwrap_or(tx.timestamp_us)
        .max(tx.timestamp_us);
    EncodedTransaction {
        txid: tx.txid,
        begin_us: tx.timestamp_us,
        server_id,
        origin: format!("0-{server_id}-{}", tx.txid),
        records,
        commit: Commit {
            txid: tx.txid,
            timestamp_us: commit_us,
            state_before: Some(tx.state_before),
            state_after: Some(tx.state_after),
        },
    }
}

/// An encoding failure (a value or name that does not fit its field).
fn enc_err(what: &str, m: String) -> replog_core::Error {
    replog_core::Error::malformed(0, format!("cannot encode {what}: {m}"))
}

/// The value a user variable holds, in the shared value encoding.
pub fn datum_to_value(d: &Datum) -> Value<'static> {
    match d {
        Datum::Null => Value::Null,
        Datum::Int(i) => Value::Int(*i),
        Datum::UInt(u) => Value::UInt(*u),
        Datum::Double(f) => Value::F64(*f),
        Datum::Dec(x) => Value::Decimal(Cow::Owned(x.to_string())),
        Datum::Str(s) => Value::Text(Cow::Owned(s.clone())),
        Datum::Bytes(b) => Value::Bytes(Cow::Owned(b.clone())),
        Datum::Date(x) => Value::Date(*x),
        Datum::Time(t) => Value::Time(*t),
        Datum::DateTime(x) => Value::DateTime(*x),
    }
}

/// The STATEMENT record body of one captured statement: the SQL text with
/// database, timestamp, RAND seeds, INSERT_ID, LAST_INSERT_ID, the user
/// variables it read (always present, possibly empty), the server id and,
/// when the statement read CONNECTION_ID(), the thread id. UUID() and
/// SYSDATE() values are not captured and so not logged.
pub fn statement_body(s: &CapturedStatement, server_id: u32) -> replog_core::Result<Vec<u8>> {
    let c = &s.context;
    let values: Vec<(String, Value<'static>)> = c
        .user_vars
        .iter()
        .map(|(n, d)| (n.clone(), datum_to_value(d)))
        .collect();
    let mut ctx = Context {
        database: c.database.as_deref(),
        timestamp_us: Some(c.timestamp_us),
        rand_seed: c.rand_seed.map(|r| RandSeed {
            seed1: u64::from(r.seed1),
            seed2: u64::from(r.seed2),
        }),
        insert_id: c.insert_id,
        last_insert_id: c.last_insert_id,
        user_vars: Some(Vec::new()),
        server_id: Some(server_id),
        thread_id: c.thread_id,
        ..Context::default()
    };
    for (n, v) in &values {
        ctx.set_user_var(n, v.clone());
    }
    let mut body = Vec::new();
    Statement::new(&s.sql)
        .with_context(ctx)
        .encode(&mut body)
        .map_err(|m| enc_err("STATEMENT", m))?;
    Ok(body)
}

/// Encodes transactions for the statement log.
#[derive(Debug, Clone)]
pub struct StatementEncoder {
    server_id: u32,
}

impl StatementEncoder {
    /// An encoder for a leader with this server id.
    pub fn new(server_id: u32) -> StatementEncoder {
        StatementEncoder { server_id }
    }

    /// BEGIN, one STATEMENT per captured statement, COMMIT.
    pub fn encode(&mut self, tx: &CommittedTransaction) -> replog_core::Result<EncodedTransaction> {
        let records = tx
            .statements
            .iter()
            .map(|s| statement_body(s, self.server_id))
            .collect::<replog_core::Result<Vec<_>>>()?;
        Ok(frame(tx, self.server_id, records))
    }
}

#[derive(Debug, Clone)]
struct RelState {
    id: u32,
    version: u32,
    def: TableDef,
}

/// Encodes transactions for the logical log, keeping the relation ids and
/// schema versions the log has announced.
///
/// - A RELATION is written before the first row record of a table in the
///   log; after a DDL transaction, RELATIONs for every table it created or
///   altered follow the DDL record in the same transaction (an altered
///   table keeps its id with a higher schema version).
/// - A dropped table's id is retired; a table re-created under the same
///   name gets a new id.
/// - UPDATE and DELETE carry **full** before-images (conflict detection on
///   followers); TRUNCATE TABLE is a TRUNCATE record with RESTART IDENTITY
///   (it is not a schema change, so no DDL record).
#[derive(Debug, Clone)]
pub struct LogicalEncoder {
    server_id: u32,
    relations: BTreeMap<(String, String), RelState>,
    next_id: u32,
    tuple: TupleBuf,
}

impl LogicalEncoder {
    /// An encoder for a leader with this server id and a log that has
    /// announced no relation yet.
    pub fn new(server_id: u32) -> LogicalEncoder {
        LogicalEncoder {
            server_id,
            relations: BTreeMap::new(),
            next_id: 1,
            tuple: TupleBuf::new(),
        }
    }

    /// Encodes one transaction. `schema_after` is the leader's schema right
    /// after the transaction committed ([`crate::Store::table_defs`]); it is
    /// used after DDL to announce created and altered tables and retire
    /// dropped ones. Without it, RELATIONs are only sent lazily before the
    /// first row record that needs them.
    pub fn encode(
        &mut self,
        tx: &CommittedTransaction,
        schema_after: Option<&[TableDef]>,
    ) -> replog_core::Result<EncodedTransaction> {
        let mut records = Vec::new();
        for s in &tx.statements {
            let truncates: Vec<&RowChange> = s
                .changes
                .iter()
                .filter(|c| matches!(c, RowChange::Truncate { .. }))
                .collect();
            if s.is_ddl && truncates.is_empty() {
                let mut body = Vec::new();
                LogicalRecord::Ddl(Ddl {
                    database: s.context.database.as_deref().unwrap_or(""),
                    sql: &s.sql,
                })
                .encode(&mut body)
                .map_err(|m| enc_err("DDL", m))?;
                records.push(body);
                if let Some(schema) = schema_after {
                    self.schema_changed(schema, &mut records)?;
                }
                continue;
            }
            for c in &s.changes {
                self.change(c, &mut records)?;
            }
        }
        Ok(frame(tx, self.server_id, records))
    }

    fn schema_changed(
        &mut self,
        schema: &[TableDef],
        out: &mut Vec<Vec<u8>>,
    ) -> replog_core::Result<()> {
        let now: BTreeMap<(String, String), &TableDef> = schema
            .iter()
            .map(|d| ((d.database.clone(), d.name.clone()), d))
            .collect();
        self.relations.retain(|k, _| now.contains_key(k));
        for def in schema {
            self.relation_for(def, out)?;
        }
        Ok(())
    }

    /// Announces `def` unless the log already has it; returns its id.
    fn relation_for(&mut self, def: &TableDef, out: &mut Vec<Vec<u8>>) -> replog_core::Result<u32> {
        let key = (def.database.clone(), def.name.clone());
        let (id, version) = match self.relations.get(&key) {
            Some(r) if r.def == *def => return Ok(r.id),
            Some(r) => (r.id, def.version.max(r.version + 1)),
            None => {
                let id = self.next_id;
                self.next_id += 1;
                (id, def.version.max(1))
            }
        };
        let mut body = Vec::new();
        LogicalRecord::Relation(def.to_relation(id, version))
            .encode(&mut body)
            .map_err(|m| enc_err("RELATION", m))?;
        out.push(body);
        self.relations.insert(
            key,
            RelState {
                id,
                version,
                def: def.clone(),
            },
        );
        Ok(id)
    }

    fn tuple(&mut self, row: &Row) -> replog_core::Result<TupleBuf> {
        self.tuple.clear();
        for v in row {
            self.tuple
                .push_value(v)
                .map_err(|m| enc_err("row image", m))?;
        }
        Ok(self.tuple.clone())
    }

    fn change(&mut self, c: &RowChange, out: &mut Vec<Vec<u8>>) -> replog_core::Result<()> {
        let relation_id = self.relation_for(c.table(), out)?;
        let rec_body = |r: LogicalRecord<'_>| -> replog_core::Result<Vec<u8>> {
            let mut body = Vec::new();
            r.encode(&mut body)
                .map_err(|m| enc_err(replog_logical::type_name(r.record_type()), m))?;
            Ok(body)
        };
        let body = match c {
            RowChange::Insert { row, .. } => {
                let t = self.tuple(row)?;
                rec_body(LogicalRecord::Insert(Insert {
                    relation_id,
                    new: t.as_tuple(),
                }))?
            }
            RowChange::Update { before, after, .. } => {
                let b = self.tuple(before)?;
                let a = self.tuple(after)?;
                rec_body(LogicalRecord::Update(Update {
                    relation_id,
                    before: Some(OldImage {
                        kind: ImageKind::Full,
                        values: b.as_tuple(),
                    }),
                    after: a.as_tuple(),
                }))?
            }
            RowChange::Delete { before, .. } => {
                let b = self.tuple(before)?;
                rec_body(LogicalRecord::Delete(Delete {
                    relation_id,
                    before: OldImage {
                        kind: ImageKind::Full,
                        values: b.as_tuple(),
                    },
                }))?
            }
            RowChange::Truncate { .. } => rec_body(LogicalRecord::Truncate(Truncate {
                cascade: false,
                restart_identity: true,
                relation_ids: vec![relation_id],
            }))?,
        };
        out.push(body);
        Ok(())
    }
}
