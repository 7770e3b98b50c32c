//! Logical → statement: every row change becomes one executable SQL
//! statement with literal values and a key `WHERE`, grouped in the
//! original transactions.
//!
//! | logical record | statement |
//! |---|---|
//! | INSERT | `INSERT INTO `db`.`t` (`a`, `b`) VALUES (…)` |
//! | UPDATE | `UPDATE `db`.`t` SET <changed columns> WHERE <key> = <old key>` |
//! | DELETE | `DELETE FROM `db`.`t` WHERE <key> = <old key>` |
//! | TRUNCATE | `TRUNCATE TABLE `db`.`t`` per relation |
//! | DDL | its SQL, with the DDL's database as the statement's database |
//! | RELATION | nothing (the statement log names tables in the SQL) |
//! | MESSAGE | nothing (dropped, with a note) |
//!
//! Memory is bounded by the largest transaction: a transaction's statements
//! are buffered until its COMMIT is read, so an uncommitted tail is never
//! written.

use crate::error::{Error, ErrorKind, Result};
use crate::relations::{Relations, SqlRelation};
use replog_core::reader::{Damage, ReaderOptions, SegmentInput, UncommittedTail};
use replog_core::recovery::RecoveryPolicy;
use replog_core::txn::{TxnEvent, TxnInput, TxnSource};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, LogKind, SegmentHeader, Value};
use replog_logical::{ColumnValue, ImageKind, LogicalRecord, Tuple};
use replog_schema::sql::Dialect;
use replog_statement::{Context, Statement};
use serde::Serialize;
use std::io::Write;
use std::ops::Range;

/// How to convert.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToStatementOptions {
    /// Which damage of the input ends it without an error.
    pub policy: RecoveryPolicy,
    /// For tables without key columns, target UPDATE and DELETE by every
    /// column of the full before-image (`<=>`, `LIMIT 1`) instead of
    /// refusing: exact unless the table holds duplicate rows.
    pub allow_imprecise: bool,
    /// The SQL dialect; `None`: PostgreSQL's when the log's first
    /// RELATION is a PostgreSQL table's, else MariaDB's.
    pub dialect: Option<Dialect>,
}

/// A remark about something that was not carried exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// LSN of the record.
    pub lsn: u64,
    /// Its transaction.
    pub txid: u64,
    /// What happened.
    pub message: String,
}

/// What a conversion did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConvertReport {
    /// Committed transactions converted.
    pub transactions: u64,
    /// Statements written.
    pub statements: u64,
    /// INSERT records converted.
    pub inserts: u64,
    /// UPDATE records converted.
    pub updates: u64,
    /// DELETE records converted.
    pub deletes: u64,
    /// TRUNCATE records converted.
    pub truncates: u64,
    /// DDL records carried.
    pub ddl: u64,
    /// MESSAGE records dropped (a statement log has no place for them).
    pub messages_dropped: u64,
    /// UPDATE and DELETE records whose before-image held only the key.
    pub key_only_images: u64,
    /// Unchanged (not sent) columns left out of an UPDATE's SET.
    pub unchanged_columns: u64,
    /// UPDATE and DELETE records targeted by every column (`--allow-imprecise`).
    pub imprecise: u64,
    /// Remarks, the first 100.
    pub notes: Vec<Note>,
    /// Remarks in all.
    pub notes_total: u64,
    /// Bytes of input frames read.
    pub input_bytes: u64,
    /// The transaction left open at the end of the input, not converted.
    pub uncommitted: Option<UncommittedTail>,
    /// Damage the recovery policy accepted as the end of the input.
    pub damage: Vec<Damage>,
    /// State digest after the last converted transaction, when the log carries digests.
    pub final_state: Option<u64>,
}

impl ConvertReport {
    fn note(&mut self, lsn: u64, txid: u64, message: String) {
        self.notes_total += 1;
        if self.notes.len() < 100 {
            self.notes.push(Note { lsn, txid, message });
        }
    }
}

#[derive(Debug, Clone)]
struct Span {
    sql: Range<usize>,
    db: Option<Range<usize>>,
    utc: bool,
}

/// One converted transaction, handed to a [`StatementSink`] at its COMMIT.
#[derive(Debug, Default)]
pub struct StatementTx {
    /// Transaction id.
    pub txid: u64,
    /// BEGIN timestamp, µs since the epoch.
    pub timestamp_us: i64,
    /// BEGIN server id.
    pub server_id: u32,
    /// BEGIN origin.
    pub origin: String,
    /// The dialect of the statements.
    pub dialect: Dialect,
    arena: String,
    spans: Vec<Span>,
}

/// One statement of a [`StatementTx`].
#[derive(Debug, Clone, Copy)]
pub struct TxStatement<'a> {
    /// The SQL, without a trailing `;`.
    pub sql: &'a str,
    /// The database the statement must run in (DDL), if any.
    pub database: Option<&'a str>,
    /// The statement holds TIMESTAMP literals written in UTC.
    pub utc: bool,
}

impl StatementTx {
    fn reset(&mut self, b: &Begin<'_>) {
        self.txid = b.txid;
        self.timestamp_us = b.timestamp_us;
        self.server_id = b.server_id;
        self.origin.clear();
        self.origin.push_str(b.origin);
        self.arena.clear();
        self.spans.clear();
    }

    /// The statements in order.
    pub fn statements(&self) -> impl Iterator<Item = TxStatement<'_>> {
        self.spans.iter().map(|s| TxStatement {
            sql: &self.arena[s.sql.clone()],
            database: s.db.clone().map(|r| &self.arena[r]),
            utc: s.utc,
        })
    }

    /// The BEGIN record.
    pub fn begin(&self) -> Begin<'_> {
        Begin {
            txid: self.txid,
            timestamp_us: self.timestamp_us,
            server_id: self.server_id,
            origin: &self.origin,
        }
    }

    fn push_text(&mut self, sql: &str, db: Option<&str>) {
        let s = self.arena.len();
        self.arena
            .push_str(sql.trim_end().trim_end_matches(';').trim_end());
        let sql = s..self.arena.len();
        let db = db.filter(|d| !d.is_empty()).map(|d| {
            let s = self.arena.len();
            self.arena.push_str(d);
            s..self.arena.len()
        });
        self.spans.push(Span {
            sql,
            db,
            utc: false,
        });
    }
}

/// Where converted transactions go.
pub trait StatementSink {
    /// The first segment header of the input was read.
    fn start(&mut self, input: &SegmentHeader) -> Result<()>;
    /// A committed transaction.
    fn transaction(&mut self, tx: &StatementTx, commit: &Commit) -> Result<()>;
    /// The input ended; flush everything.
    fn finish(&mut self) -> Result<()>;
}

/// Writes a native statement log (one segment) to `W`.
#[derive(Debug)]
pub struct NativeStatementSink<W: Write> {
    out: Option<W>,
    writer: Option<LogWriter<W>>,
    body: Vec<u8>,
}

impl<W: Write> NativeStatementSink<W> {
    /// A sink writing to `out` once the input's header is known.
    pub fn new(out: W) -> Self {
        NativeStatementSink {
            out: Some(out),
            writer: None,
            body: Vec::with_capacity(1024),
        }
    }

    /// The inner writer, after [`StatementSink::finish`].
    pub fn into_inner(self) -> Option<W> {
        match self.writer {
            Some(w) => w.finish().ok(),
            None => self.out,
        }
    }
}

/// Writer options for a log derived from `input` (a converted or inverted
/// log): a log id and salt computed from the input's, so that converting the
/// same log twice gives the same bytes.
pub fn derived_options(input: &SegmentHeader, kind: LogKind, what: &[u8]) -> WriterOptions {
    let mut opts = derived_from(&input.log_id, input.salt, kind, what);
    opts.store_id = input.store_id;
    opts.start_state = input.start_state;
    if kind == LogKind::Logical && input.kind == LogKind::Logical {
        // A log derived from one that may hold PostgreSQL types may too.
        opts.version = input.version;
    }
    opts
}

/// Writer options with a log id and salt derived from an input's log id
/// and salt and `what` (the route).
pub(crate) fn derived_from(
    log_id: &[u8; 16],
    salt: u64,
    kind: LogKind,
    what: &[u8],
) -> WriterOptions {
    let mut opts = WriterOptions::new(kind);
    let seed = xxhash_rust::xxh3::xxh3_64_with_seed(log_id, salt);
    let a = xxhash_rust::xxh3::xxh3_64_with_seed(what, seed);
    let b = xxhash_rust::xxh3::xxh3_64_with_seed(what, a);
    opts.log_id[..8].copy_from_slice(&a.to_le_bytes());
    opts.log_id[8..].copy_from_slice(&b.to_le_bytes());
    opts.salt = xxhash_rust::xxh3::xxh3_64_with_seed(b"salt", b);
    opts
}

impl<W: Write> StatementSink for NativeStatementSink<W> {
    fn start(&mut self, input: &SegmentHeader) -> Result<()> {
        if let Some(out) = self.out.take() {
            let opts = derived_options(input, LogKind::Statement, b"logical->statement");
            self.writer = Some(LogWriter::new(out, &opts)?);
        }
        Ok(())
    }

    fn transaction(&mut self, tx: &StatementTx, commit: &Commit) -> Result<()> {
        let Some(w) = self.writer.as_mut() else {
            return Err(Error::new(ErrorKind::Io, "statement sink not started"));
        };
        w.begin(&tx.begin())?;
        for st in tx.statements() {
            self.body.clear();
            let ctx = Context {
                database: st.database,
                time_zone: st.utc.then_some("+00:00"),
                ..Context::default()
            };
            Statement::new(st.sql)
                .with_context(ctx)
                .encode(&mut self.body)
                .map_err(|e| Error::new(ErrorKind::CannotConvert, e))?;
            w.append(&self.body)?;
        }
        w.commit(commit)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(w) = self.writer.as_mut() {
            w.flush()?;
        }
        Ok(())
    }
}

/// Writes plain SQL text: `START TRANSACTION; …; COMMIT;` per transaction,
/// `USE` before DDL that needs a database, no trailing implicit ROLLBACK.
#[derive(Debug)]
pub struct SqlTextSink<W: Write> {
    out: W,
    database: Option<String>,
    preamble: bool,
}

impl<W: Write> SqlTextSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        SqlTextSink {
            out,
            database: None,
            preamble: false,
        }
    }

    /// The inner writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

fn io(e: std::io::Error) -> Error {
    Error::io(e, "writing SQL")
}

impl<W: Write> SqlTextSink<W> {
    /// The lines before the first transaction (written with it, or at the
    /// end of an empty log): the dialect is known once a RELATION was read.
    fn preamble(&mut self, dialect: Dialect) -> Result<()> {
        if std::mem::replace(&mut self.preamble, true) {
            return Ok(());
        }
        self.out
            .write_all(match dialect {
                Dialect::MariaDb => {
                    b"-- Converted by replog from a logical log: one statement per row change.\n\
                      -- TIMESTAMP literals are UTC.\n\
                      SET time_zone = '+00:00';\n"
                }
                Dialect::Postgres => {
                    b"-- Converted by replog from a logical log: one statement per row change.\n\
                      -- PostgreSQL literals; timestamptz with its offset.\n\
                      SET TimeZone = 'UTC';\n"
                }
            })
            .map_err(io)
    }
}

impl<W: Write> StatementSink for SqlTextSink<W> {
    fn start(&mut self, _input: &SegmentHeader) -> Result<()> {
        Ok(())
    }

    fn transaction(&mut self, tx: &StatementTx, commit: &Commit) -> Result<()> {
        self.preamble(tx.dialect)?;
        let mut when = String::new();
        let _ = replog_core::value::format_timestamp(tx.timestamp_us, &mut when);
        let mut head = format!(
            "\n-- txid {} at {when} UTC, server {}",
            tx.txid, tx.server_id
        );
        if !tx.origin.is_empty() {
            head.push_str(", origin ");
            head.push_str(&tx.origin.replace(['\n', '\r'], " "));
        }
        if let (Some(b), Some(a)) = (commit.state_before, commit.state_after) {
            head.push_str(&format!(", state {b:016x} -> {a:016x}"));
        }
        head.push_str("\nSTART TRANSACTION;\n");
        self.out.write_all(head.as_bytes()).map_err(io)?;
        for st in tx.statements() {
            if let Some(db) = st.database
                && self.database.as_deref() != Some(db)
            {
                let mut u = String::from(match tx.dialect {
                    Dialect::MariaDb => "USE ",
                    Dialect::Postgres => "SET search_path TO ",
                });
                tx.dialect.push_ident(&mut u, db);
                u.push_str(";\n");
                self.out.write_all(u.as_bytes()).map_err(io)?;
                self.database = Some(db.to_string());
            }
            self.out.write_all(st.sql.as_bytes()).map_err(io)?;
            self.out.write_all(b";\n").map_err(io)?;
        }
        self.out.write_all(b"COMMIT;\n").map_err(io)
    }

    fn finish(&mut self) -> Result<()> {
        self.preamble(Dialect::MariaDb)?;
        self.out.flush().map_err(io)
    }
}

/// Converts the logical log in `inputs` to statements, handing each
/// committed transaction to `sink`.
pub fn logical_to_statement(
    inputs: impl TxnInput,
    opts: &ToStatementOptions,
    sink: &mut dyn StatementSink,
) -> Result<ConvertReport> {
    let mut txns = inputs.open(ReaderOptions {
        policy: opts.policy,
        continue_after_damage: false,
        buffer_size: 0,
    })?;
    source_to_statement(&mut *txns, opts, sink)
}

/// [`logical_to_statement`] of a source already open (its recovery policy
/// is the source's): the logical transactions of an imported binlog or of
/// a physical WAL being decoded ([`crate::from_physical::FromPhysicalSource`]).
pub fn source_to_statement(
    txns: &mut dyn TxnSource,
    opts: &ToStatementOptions,
    sink: &mut dyn StatementSink,
) -> Result<ConvertReport> {
    let mut conv = Converter {
        opts: *opts,
        catalog: Relations::default(),
        report: ConvertReport::default(),
    };
    let mut tx = StatementTx::default();
    let mut started = false;
    while let Some(ev) = txns.next() {
        match ev? {
            TxnEvent::Segment { header, name, .. } => {
                if header.kind != LogKind::Logical {
                    return Err(Error::new(
                        ErrorKind::Mismatch,
                        format!("{name}: a {} log, not a logical log", header.kind),
                    ));
                }
                if !started {
                    sink.start(header)?;
                    started = true;
                }
            }
            TxnEvent::Damage(d) => {
                crate::error::stop_unless_tolerated(d)?;
                conv.report.damage.push(d.clone());
            }
            TxnEvent::Transaction(t) => {
                tx.reset(&t.begin);
                for r in t.records() {
                    let rec = LogicalRecord::decode(r.body, r.body_offset())
                        .map_err(|e| Error::from(e).prefixed(r.lsn))?;
                    conv.record(&rec, r.body, r.lsn, r.offset, &mut tx)?;
                }
                let c = &t.commit;
                tx.dialect = conv.opts.dialect.unwrap_or_default();
                sink.transaction(&tx, c)?;
                conv.report.transactions += 1;
                conv.report.statements += tx.spans.len() as u64;
                if c.state_after.is_some() {
                    conv.report.final_state = c.state_after;
                }
            }
        }
    }
    crate::error::stop_if_intolerable(txns.intolerable())?;
    if !started {
        return Err(Error::new(
            ErrorKind::Damage,
            "the input holds no valid segment",
        ));
    }
    let summary = txns.summary();
    conv.report.input_bytes = summary.frame_bytes;
    conv.report.uncommitted = summary.uncommitted.clone();
    sink.finish()?;
    Ok(conv.report)
}

struct Converter {
    opts: ToStatementOptions,
    catalog: Relations,
    report: ConvertReport,
}

impl Converter {
    /// Notes a row statement on a table without key columns: it targets
    /// the row by every column, LIMIT 1 (`what`: "UPDATE of", "DELETE
    /// from").
    fn keyless(&mut self, rel: &SqlRelation, what: &str, lsn: u64, txid: u64) {
        if rel.keys.is_empty() {
            self.report.imprecise += 1;
            self.report.note(
                lsn,
                txid,
                format!(
                    "{what} {}: no key columns; targeted by every column, LIMIT 1",
                    rel.name
                ),
            );
        }
    }
}

fn cannot(lsn: u64, offset: u64, msg: String) -> Error {
    Error::new(ErrorKind::CannotConvert, msg).at(lsn, offset)
}

fn values<'a>(
    t: &Tuple<'a>,
    rel: &SqlRelation,
    lsn: u64,
    what: &str,
) -> Result<Vec<ColumnValue<'a>>> {
    rel.check_arity(t, lsn, what)?;
    t.to_vec().map_err(|e| Error::from(e).prefixed(lsn))
}

impl Converter {
    fn rel(&self, id: u32, lsn: u64, offset: u64) -> Result<std::rc::Rc<SqlRelation>> {
        self.catalog.get(id).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::Malformed,
                format!("relation {id} is used before any RELATION defines it"),
            )
            .at(lsn, offset)
        })
    }

    fn record(
        &mut self,
        rec: &LogicalRecord<'_>,
        body: &[u8],
        lsn: u64,
        offset: u64,
        tx: &mut StatementTx,
    ) -> Result<()> {
        let txid = tx.txid;
        match rec {
            LogicalRecord::Relation(r) => {
                let dialect = *self.opts.dialect.get_or_insert(Dialect::of(r));
                self.catalog.define(r, body, dialect);
            }
            LogicalRecord::Insert(ins) => {
                let rel = self.rel(ins.relation_id, lsn, offset)?;
                if ins.new.len() != rel.columns.len() {
                    return Err(Error::new(
                        ErrorKind::Malformed,
                        format!(
                            "INSERT into {} has {} columns, its RELATION {}",
                            rel.name,
                            ins.new.len(),
                            rel.columns.len()
                        ),
                    )
                    .at(lsn, offset));
                }
                let start = tx.arena.len();
                let out = &mut tx.arena;
                out.push_str(&rel.insert_prefix);
                let mut utc = false;
                for (i, v) in ins.new.values().enumerate() {
                    let v = v.map_err(|e| Error::from(e).prefixed(lsn))?;
                    if i > 0 {
                        out.push_str(", ");
                    }
                    match v {
                        ColumnValue::Value(v) => {
                            utc |= matches!(v, Value::Timestamp(_));
                            rel.literal(i, &v, out).map_err(|m| {
                                cannot(lsn, offset, format!("INSERT into {}: {m}", rel.name))
                            })?;
                        }
                        ColumnValue::Unchanged => {
                            return Err(Error::new(
                                ErrorKind::Malformed,
                                format!(
                                    "INSERT into {} marks column {} unchanged",
                                    rel.name, rel.columns[i]
                                ),
                            )
                            .at(lsn, offset));
                        }
                    }
                }
                out.push(')');
                tx.spans.push(Span {
                    sql: start..tx.arena.len(),
                    db: None,
                    utc,
                });
                self.report.inserts += 1;
            }
            LogicalRecord::Update(u) => {
                let rel = self.rel(u.relation_id, lsn, offset)?;
                let after = values(&u.after, &rel, lsn, "UPDATE after-image")?;
                let before = match &u.before {
                    Some(b) => Some((b.kind, values(&b.values, &rel, lsn, "UPDATE before-image")?)),
                    None => None,
                };
                let start = tx.arena.len();
                let out = &mut tx.arena;
                out.push_str("UPDATE ");
                out.push_str(&rel.sql_name);
                out.push_str(" SET ");
                let mut utc = false;
                let mut set = 0;
                let mut unchanged = 0;
                for (i, a) in after.iter().enumerate() {
                    let ColumnValue::Value(v) = a else {
                        unchanged += 1;
                        continue;
                    };
                    let same = match &before {
                        Some((_, b)) => b[i] == *a,
                        None => rel.keys.contains(&i),
                    };
                    if same {
                        continue;
                    }
                    if set > 0 {
                        out.push_str(", ");
                    }
                    set += 1;
                    out.push_str(&rel.sql_columns[i]);
                    out.push_str(" = ");
                    utc |= matches!(v, Value::Timestamp(_));
                    rel.literal(i, v, out)
                        .map_err(|m| cannot(lsn, offset, format!("UPDATE of {}: {m}", rel.name)))?;
                }
                if set == 0 {
                    // Nothing changed: keep one statement per row change
                    // with a no-op assignment of the first sent column.
                    let first = rel
                        .keys
                        .iter()
                        .copied()
                        .chain(0..after.len())
                        .find(|&i| matches!(after[i], ColumnValue::Value(_)));
                    if let Some(i) = first
                        && let ColumnValue::Value(v) = &after[i]
                    {
                        out.push_str(&rel.sql_columns[i]);
                        out.push_str(" = ");
                        rel.literal(i, v, out).map_err(|m| {
                            cannot(lsn, offset, format!("UPDATE of {}: {m}", rel.name))
                        })?;
                    }
                }
                if unchanged > 0 {
                    self.report.unchanged_columns += unchanged;
                }
                let image = match &before {
                    Some((kind, b)) => {
                        if *kind == ImageKind::Key {
                            self.report.key_only_images += 1;
                        }
                        (*kind, b.as_slice())
                    }
                    None => (ImageKind::Key, after.as_slice()),
                };
                let full = before.as_ref().is_some_and(|(k, _)| *k == ImageKind::Full);
                utc |= where_clause(
                    out,
                    &rel,
                    image.1,
                    full,
                    self.opts.allow_imprecise,
                    "UPDATE",
                    lsn,
                    offset,
                )?;
                self.keyless(&rel, "UPDATE of", lsn, txid);
                tx.spans.push(Span {
                    sql: start..tx.arena.len(),
                    db: None,
                    utc,
                });
                self.report.updates += 1;
            }
            LogicalRecord::Delete(d) => {
                let rel = self.rel(d.relation_id, lsn, offset)?;
                let before = values(&d.before.values, &rel, lsn, "DELETE before-image")?;
                if d.before.kind == ImageKind::Key {
                    self.report.key_only_images += 1;
                }
                let start = tx.arena.len();
                let out = &mut tx.arena;
                out.push_str("DELETE FROM ");
                out.push_str(&rel.sql_name);
                let utc = where_clause(
                    out,
                    &rel,
                    &before,
                    d.before.kind == ImageKind::Full,
                    self.opts.allow_imprecise,
                    "DELETE",
                    lsn,
                    offset,
                )?;
                self.keyless(&rel, "DELETE from", lsn, txid);
                tx.spans.push(Span {
                    sql: start..tx.arena.len(),
                    db: None,
                    utc,
                });
                self.report.deletes += 1;
            }
            LogicalRecord::Truncate(t) => {
                let mut postgres = false;
                for &id in &t.relation_ids {
                    let rel = self.rel(id, lsn, offset)?;
                    let mut sql = format!("TRUNCATE TABLE {}", rel.sql_name);
                    if rel.dialect == Dialect::Postgres {
                        // PostgreSQL says what MySQL's TRUNCATE cannot.
                        postgres = true;
                        if t.restart_identity {
                            sql.push_str(" RESTART IDENTITY");
                        }
                        if t.cascade {
                            sql.push_str(" CASCADE");
                        }
                    }
                    tx.push_text(&sql, None);
                }
                if !postgres && t.cascade {
                    self.report.note(
                        lsn,
                        txid,
                        "TRUNCATE ... CASCADE: MySQL has no cascading TRUNCATE; only the listed tables are truncated".into(),
                    );
                }
                if !postgres && !t.restart_identity {
                    self.report.note(
                        lsn,
                        txid,
                        "TRUNCATE without RESTART IDENTITY: MySQL's TRUNCATE TABLE always resets auto-increment counters".into(),
                    );
                }
                self.report.truncates += 1;
            }
            LogicalRecord::Ddl(d) => {
                tx.push_text(d.sql, Some(d.database));
                self.report.ddl += 1;
            }
            LogicalRecord::Message(m) => {
                self.report.messages_dropped += 1;
                self.report.note(
                    lsn,
                    txid,
                    format!(
                        "MESSAGE (prefix {:?}, {} bytes) dropped: a statement log has no messages",
                        m.prefix,
                        m.content.len()
                    ),
                );
            }
        }
        Ok(())
    }
}

/// Appends ` WHERE …` targeting the row whose image is `image`; returns
/// whether a TIMESTAMP literal was written.
#[allow(clippy::too_many_arguments)]
fn where_clause(
    out: &mut String,
    rel: &SqlRelation,
    image: &[ColumnValue<'_>],
    full: bool,
    allow_imprecise: bool,
    what: &str,
    lsn: u64,
    offset: u64,
) -> Result<bool> {
    let mut utc = false;
    out.push_str(" WHERE ");
    if rel.keys.is_empty() {
        if !full {
            return Err(cannot(
                lsn,
                offset,
                format!(
                    "{what} on {}: the table has no key columns in its RELATION and the record has no full before-image, so the row cannot be targeted",
                    rel.name
                ),
            ));
        }
        if !allow_imprecise {
            return Err(cannot(
                lsn,
                offset,
                format!(
                    "{what} on {}: the table has no key columns in its RELATION, so the row cannot be targeted exactly (--allow-imprecise matches every column of the before-image, LIMIT 1)",
                    rel.name
                ),
            ));
        }
        // PostgreSQL has no LIMIT in UPDATE and DELETE: the first matching
        // row by its ctid.
        let (same, end) = match rel.dialect {
            Dialect::MariaDb => (" <=> ", " LIMIT 1"),
            Dialect::Postgres => {
                out.push_str("ctid = (SELECT ctid FROM ");
                out.push_str(&rel.sql_name);
                out.push_str(" WHERE ");
                (" IS NOT DISTINCT FROM ", " LIMIT 1)")
            }
        };
        for (i, v) in image.iter().enumerate() {
            let ColumnValue::Value(v) = v else { continue };
            if i > 0 {
                out.push_str(" AND ");
            }
            out.push_str(&rel.sql_columns[i]);
            out.push_str(same);
            utc |= matches!(v, Value::Timestamp(_));
            rel.literal(i, v, out)
                .map_err(|m| cannot(lsn, offset, format!("{what} on {}: {m}", rel.name)))?;
        }
        out.push_str(end);
        return Ok(utc);
    }
    for (n, &k) in rel.keys.iter().enumerate() {
        if n > 0 {
            out.push_str(" AND ");
        }
        out.push_str(&rel.sql_columns[k]);
        match &image[k] {
            ColumnValue::Value(Value::Null) => out.push_str(" IS NULL"),
            ColumnValue::Value(v) => {
                out.push_str(" = ");
                utc |= matches!(v, Value::Timestamp(_));
                rel.literal(k, v, out)
                    .map_err(|m| cannot(lsn, offset, format!("{what} on {}: {m}", rel.name)))?;
            }
            ColumnValue::Unchanged => {
                return Err(Error::new(
                    ErrorKind::Malformed,
                    format!(
                        "{what} on {}: key column {} is marked unchanged in the image that identifies the row",
                        rel.name, rel.columns[k]
                    ),
                )
                .at(lsn, offset));
            }
        }
    }
    Ok(utc)
}

/// Converts a whole logical log held in memory to a native statement log in
/// memory: the convenience form of [`logical_to_statement`].
pub fn logical_bytes_to_statement(
    log: Vec<u8>,
    opts: &ToStatementOptions,
) -> Result<(Vec<u8>, ConvertReport)> {
    let mut sink = NativeStatementSink::new(Vec::new());
    let report = logical_to_statement(vec![SegmentInput::memory("input", log)], opts, &mut sink)?;
    let out = sink.into_inner().unwrap_or_default();
    Ok((out, report))
}

crate::error::input_end!(ConvertReport);
