//! The follower side: applying a native statement or logical log to a
//! store, transaction by transaction, checking every COMMIT's state digest
//! (`formats/store.md` §9).
//!
//! Only committed transactions are applied: records are buffered from
//! BEGIN and applied when their COMMIT is read; an uncommitted tail is
//! reported and left alone. After each transaction the store digest is
//! compared with the COMMIT's `state_after`; a difference is a
//! [`DigestMismatch`]. Row-change conflicts are resolved by a
//! [`ConflictPolicy`].

use crate::capture::{CapturedStatement, CommittedTransaction, RowChange, StatementContext};
use crate::conflict::{Conflict, ConflictPolicy, Resolution};
use crate::env::{Environment, MyRnd};
use crate::error::ErrorKind;
use crate::snapshot::AppliedPosition;
use crate::storage::Storage;
use crate::types::{Datum, Row, TableDef};
use crate::{Store, script};
use replog_core::reader::{Damage, LogReader, UncommittedTail};
use replog_core::txn::{Consume, Flow, SourceKind, Transaction, TxnReader, TxnSource, drive};
use replog_core::{Commit, LogKind, SegmentHeader, Value};
use replog_logical::{ColumnValue, LogicalRecord, Tuple};
use replog_statement::Statement;
use std::collections::HashMap;
use std::sync::Arc;

/// Where replay stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Apply transactions whose COMMIT frame starts before this LSN.
    Lsn(u64),
    /// Apply transactions up to and including this txid.
    Txid(u64),
    /// Apply transactions committed before this time (µs since the epoch).
    Time(i64),
}

/// How to replay.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayOptions {
    /// What to do about a conflicting row change.
    pub on_conflict: ConflictPolicy,
    /// Where to stop.
    pub until: Option<Until>,
    /// Go on after a divergence (later transactions are then checked by
    /// their own digest delta, `state_after − state_before`). Implied by an
    /// `on_conflict` other than abort.
    pub keep_going: bool,
    /// Who executes a statement log's statements, in the reasons of
    /// [`ReplayReport::dependence`]: "the follower" unless said
    /// ("the converter").
    pub executor: Option<&'static str>,
    /// Pass over a statement log's statements about objects the store does
    /// not hold (stored routines, triggers, events, views, users,
    /// privileges), counted in [`ReplayReport::unsupported_skipped`],
    /// instead of failing on them. The rest of their transaction is
    /// applied; what a skipped trigger would have changed is then missing,
    /// which the next digest check reports.
    pub skip_unsupported: bool,
}

/// A transaction after which the store's digest is not the leader's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMismatch {
    /// Transaction id.
    pub txid: u64,
    /// LSN of its COMMIT.
    pub lsn: u64,
    /// The digest the COMMIT carries (for a delta check: the leader's delta).
    pub expected: u64,
    /// The store's (delta).
    pub actual: u64,
    /// True when compared by delta, after an earlier divergence.
    pub delta: bool,
    /// The transaction's position in a foreign log (a binlog's
    /// `file:pos (GTID g)`), when it came from one.
    pub at: Option<String>,
}

/// A conflict at a log position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictAt {
    /// Transaction id.
    pub txid: u64,
    /// LSN of the row record.
    pub lsn: u64,
    /// The conflict and what was done.
    pub conflict: Conflict,
    /// The transaction's position in a foreign log (a binlog's
    /// `file:pos (GTID g)`), when it came from one.
    pub at: Option<String>,
}

/// A transaction that could not be applied (or, under `skip`, a statement
/// transaction that was skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Transaction id.
    pub txid: u64,
    /// LSN of the record that failed (the COMMIT for whole-transaction
    /// failures).
    pub lsn: u64,
    /// Why.
    pub message: String,
    /// The transaction's position in a foreign log (a binlog's
    /// `file:pos (GTID g)`), when it came from one.
    pub at: Option<String>,
}

/// Why replay ended before the end of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The `until` point was reached.
    Until,
    /// A conflict under policy abort.
    Conflict,
    /// A divergence (without keep-going).
    Divergence,
    /// A transaction could not be applied.
    Failure,
    /// The log does not continue from the store's state.
    Gap,
}

impl Stop {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Stop::Until => "until",
            Stop::Conflict => "conflict",
            Stop::Divergence => "divergence",
            Stop::Failure => "failure",
            Stop::Gap => "gap",
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default)]
pub struct ReplayReport {
    /// Kind of the log.
    pub kind: Option<LogKind>,
    /// Its log id.
    pub log_id: [u8; 16],
    /// Transactions applied.
    pub applied: u64,
    /// Committed transactions passed over because the store already had
    /// them (catch-up from a snapshot).
    pub already_applied: u64,
    /// Statements whose results were this follower's own, not the
    /// leader's (UUID(), SYSDATE(), USER(), rows chosen by LIMIT without
    /// ORDER BY, context the log did not carry): a statement log's
    /// follower then holds other data than its leader.
    pub dependence: crate::capture::Dependence,
    /// Statements replayed (statement log).
    pub statements: u64,
    /// Row changes applied: a logical log's row records, and the rows a
    /// statement log's statements changed (DDL not included).
    pub changes: u64,
    /// DDL statements applied (either kind of log).
    pub ddl: u64,
    /// DDL records of a logical log about objects that hold no rows,
    /// passed over ([`Decoded::NonTable`]), by statement kind
    /// (`CREATE PROCEDURE` → count).
    pub non_table_ddl: std::collections::BTreeMap<String, u64>,
    /// Statements of a statement log the store cannot run (stored
    /// routines, triggers, events, views, …), passed over under
    /// [`ReplayOptions::skip_unsupported`], by statement kind
    /// (`CREATE TRIGGER` → count).
    pub unsupported_skipped: std::collections::BTreeMap<String, u64>,
    /// Why replay stopped early.
    pub stopped: Option<Stop>,
    /// Conflicts met (and resolved, unless the stop is a conflict).
    pub conflicts: Vec<ConflictAt>,
    /// Divergences found.
    pub divergences: Vec<DigestMismatch>,
    /// Failed or skipped transactions.
    pub failures: Vec<Failure>,
    /// The open transaction left at the end of the log, not applied.
    pub uncommitted: Option<UncommittedTail>,
    /// Damage the reader reported.
    pub damage: Vec<Damage>,
    /// The store's position afterwards.
    pub position: AppliedPosition,
    /// The leader's digest after the last applied transaction.
    pub expected_digest: Option<u64>,
    /// Where the last applied transaction is in a foreign log (a binlog's
    /// `file:pos (GTID g)`), when the log is one: what messages name
    /// rather than the LSN.
    pub source_position: Option<String>,
}

impl ReplayReport {
    fn note_non_table_ddl(&mut self, ddl: replog_schema::objects::NonTableDdl) {
        *self.non_table_ddl.entry(ddl.to_string()).or_default() += 1;
    }

    /// True when nothing went wrong: no conflict, divergence, failure or
    /// intolerable damage.
    pub fn clean(&self) -> bool {
        self.conflicts.is_empty()
            && self.divergences.is_empty()
            && self.failures.is_empty()
            && self.damage.iter().all(|d| d.tolerated)
            && !matches!(
                self.stopped,
                Some(Stop::Conflict | Stop::Failure | Stop::Gap | Stop::Divergence)
            )
    }
}

/// A replay error that is not about the log's content (I/O, a physical
/// log, a malformed record).
pub type Error = replog_core::Error;

#[derive(Debug, Clone)]
struct ReplayRelation {
    database: String,
    table: String,
    ncols: usize,
    key: Vec<usize>,
    def: Option<Arc<TableDef>>,
}

/// Replays the log read by `reader` into `store`, which stands at `start`
/// (`AppliedPosition::default()` for an empty store). The reader's recovery policy
/// decides which damage ends the log.
pub fn replay<S: Storage, E: Environment>(
    store: &mut Store<S, E>,
    start: AppliedPosition,
    reader: &mut LogReader,
    opts: &ReplayOptions,
) -> Result<ReplayReport, Error> {
    replay_source(store, start, &mut TxnReader::new(reader), opts)
}

/// Replays the transactions of `txns` (a native log's [`TxnReader`], or an
/// imported binlog) into `store`, which stands at `start`.
pub fn replay_source<S: Storage, E: Environment>(
    store: &mut Store<S, E>,
    start: AppliedPosition,
    txns: &mut dyn TxnSource,
    opts: &ReplayOptions,
) -> Result<ReplayReport, Error> {
    let mut r = Replayer {
        store,
        opts: *opts,
        keep_going: opts.keep_going || opts.on_conflict != ConflictPolicy::Abort,
        rows: RowDecoder::default(),
        in_sync: true,
        first: true,
        report: ReplayReport {
            position: start,
            ..ReplayReport::default()
        },
        start,
    };
    let read_to_end = drive(txns, &mut r)?;
    let summary = txns.summary();
    r.report.damage = summary.damage.clone();
    if read_to_end {
        r.report.uncommitted = summary.uncommitted.clone();
    }
    Ok(r.report)
}

impl<S: Storage, E: Environment> Consume for Replayer<'_, S, E> {
    type Error = Error;

    fn segment(&mut self, _index: usize, name: &str, header: &SegmentHeader) -> Result<(), Error> {
        if header.kind == LogKind::Physical {
            return Err(Error::malformed(
                0,
                format!("{name}: physical replay needs the page engine (not yet)"),
            ));
        }
        // A segment of another kind is damage (a discontinuity), reported
        // by the reader.
        if self.report.kind.is_none() {
            self.report.kind = Some(header.kind);
            self.report.log_id = header.log_id;
        }
        Ok(())
    }

    fn transaction(&mut self, tx: &Transaction<'_>) -> Result<Flow, Error> {
        let r = &self.report;
        let before = (
            r.applied,
            r.failures.len(),
            r.conflicts.len(),
            r.divergences.len(),
        );
        let stop = self.transaction(tx)?;
        if tx.source != SourceKind::Native {
            // Messages about a foreign log name its positions.
            let at = tx.position();
            let r = &mut self.report;
            for f in r.failures.iter_mut().skip(before.1) {
                f.at.get_or_insert_with(|| at.clone());
            }
            for c in r.conflicts.iter_mut().skip(before.2) {
                c.at.get_or_insert_with(|| at.clone());
            }
            for d in r.divergences.iter_mut().skip(before.3) {
                d.at.get_or_insert_with(|| at.clone());
            }
            if r.applied > before.0 {
                r.source_position = Some(at);
            }
        }
        Ok(if stop { Flow::Stop } else { Flow::Continue })
    }
}

struct Replayer<'s, S: Storage, E: Environment> {
    store: &'s mut Store<S, E>,
    opts: ReplayOptions,
    keep_going: bool,
    rows: RowDecoder,
    in_sync: bool,
    first: bool,
    report: ReplayReport,
    start: AppliedPosition,
}

fn to_row(t: &Tuple<'_>) -> Result<Vec<Option<Value<'static>>>, Error> {
    t.values()
        .map(|v| {
            v.map(|c| match c {
                ColumnValue::Unchanged => None,
                ColumnValue::Value(v) => Some(v.into_owned()),
            })
        })
        .collect()
}

fn full(cols: Vec<Option<Value<'static>>>, fill: Option<&Row>, lsn: u64) -> Result<Row, Error> {
    cols.into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(v) => Ok(v),
            None => fill.and_then(|r| r.get(i).cloned()).ok_or_else(|| {
                Error::malformed(lsn, "unchanged column with no row to take it from")
            }),
        })
        .collect()
}

impl<S: Storage, E: Environment> Replayer<'_, S, E> {
    /// Handles one committed transaction; true to stop reading.
    fn transaction(&mut self, tx: &Transaction<'_>) -> Result<bool, Error> {
        let (c, lsn, end) = (&tx.commit, tx.commit_lsn, tx.end_lsn);
        let kind = self.report.kind.unwrap_or(LogKind::Statement);
        // Already in the store?
        let same_log = self.start.kind == Some(kind) && self.start.log_id == self.report.log_id;
        if (same_log && lsn < self.start.applied_lsn)
            || (!same_log && self.start.last_txid > 0 && tx.txid() <= self.start.last_txid)
        {
            self.report.already_applied += 1;
            // The store stands after this transaction: name it in the
            // foreign log's terms (a binlog's file:pos, PostgreSQL's LSN).
            self.report.source_position = tx.foreign_position();
            if !same_log {
                // Seeded from another log (a snapshot of a follower of the
                // statement log): the position is now this log's.
                self.report.position = AppliedPosition {
                    kind: Some(kind),
                    log_id: self.report.log_id,
                    applied_lsn: end,
                    last_txid: tx.txid(),
                    digest: self.store.digest(),
                };
            }
            if kind == LogKind::Logical {
                // Later transactions may use relations announced here.
                for r in tx.records() {
                    if r.body.first() == Some(&replog_logical::rtype::RELATION) {
                        let rec = LogicalRecord::decode(r.body, 0)
                            .map_err(|e| e.context(format!("LSN {}", r.lsn)))?;
                        if let LogicalRecord::Relation(rel) = rec {
                            self.rows.relation(&rel);
                        }
                    }
                }
            }
            return Ok(false);
        }
        match self.opts.until {
            Some(Until::Lsn(n)) if lsn >= n => return self.stop(Stop::Until),
            Some(Until::Txid(n)) if tx.txid() > n => return self.stop(Stop::Until),
            Some(Until::Time(t)) if c.timestamp_us >= t => return self.stop(Stop::Until),
            _ => {}
        }
        let before = self.store.digest();
        if self.first {
            self.first = false;
            if let Some(sb) = c.state_before
                && sb != before
            {
                self.report.failures.push(Failure {
                    txid: tx.txid(),
                    lsn,
                    at: None,
                    message: format!(
                        "the log does not continue from the store's state: transaction {} starts from digest {sb:016x}, the store is at {before:016x}",
                        tx.txid()
                    ),
                });
                self.in_sync = false;
                if !self.keep_going {
                    return self.stop(Stop::Gap);
                }
            }
        }
        // A persistent storage keeps this position with the transaction's
        // changes, in one durable commit (a rollback drops it).
        self.store.storage().stage_position(&AppliedPosition {
            kind: Some(kind),
            log_id: self.report.log_id,
            applied_lsn: end,
            last_txid: tx.txid(),
            digest: 0,
        });
        let txid = tx.txid();
        let ok = match kind {
            LogKind::Logical => self.logical(tx)?,
            _ => self.statement(tx, c, lsn)?,
        };
        // Followers do not keep their own capture; a statement log's row
        // changes are counted from it.
        let committed = self.store.take_committed();
        if kind != LogKind::Logical && ok {
            for t in &committed {
                self.report.changes += t.changes().count() as u64;
                self.report.ddl += t.statements.iter().filter(|s| s.is_ddl).count() as u64;
            }
        }
        drop(committed);
        // Not applied: stop when replay stopped; a skipped statement
        // transaction goes on.
        if !ok && self.report.stopped.is_some() {
            return Ok(true);
        }
        let after = self.store.digest();
        self.report.applied += u64::from(ok);
        self.report.position = AppliedPosition {
            kind: Some(kind),
            log_id: self.report.log_id,
            applied_lsn: end,
            last_txid: txid,
            digest: after,
        };
        if let (Some(sb), Some(sa)) = (c.state_before, c.state_after) {
            self.report.expected_digest = Some(sa);
            if after == sa {
                // Back at (or still at) the leader's state.
                self.in_sync = true;
                return Ok(false);
            }
            let (expected, actual, delta) = if self.in_sync {
                (sa, after, false)
            } else {
                (sa.wrapping_sub(sb), after.wrapping_sub(before), true)
            };
            if expected != actual {
                self.in_sync = false;
                self.report.divergences.push(DigestMismatch {
                    txid,
                    lsn,
                    expected,
                    actual,
                    delta,
                    at: None,
                });
                if !self.keep_going {
                    return self.stop(Stop::Divergence);
                }
            }
        }
        Ok(false)
    }

    fn stop(&mut self, why: Stop) -> Result<bool, Error> {
        self.report.stopped = Some(why);
        Ok(true)
    }

    /// Replays a statement transaction; false when it was not applied.
    fn statement(&mut self, tx: &Transaction<'_>, c: &Commit, lsn: u64) -> Result<bool, Error> {
        let begin_us = tx.begin.timestamp_us;
        let mut statements = Vec::with_capacity(tx.records().len());
        for r in tx.records() {
            let st =
                Statement::decode(r.body, 0).map_err(|e| e.context(format!("LSN {}", r.lsn)))?;
            statements.push(captured_statement(&st, begin_us));
        }
        if let [one] = statements.as_mut_slice() {
            one.is_ddl = script::is_ddl(&one.sql);
        }
        let n = statements.len() as u64;
        let captured = CommittedTransaction {
            txid: tx.txid(),
            timestamp_us: begin_us,
            statements,
            state_before: c.state_before.unwrap_or(0),
            state_after: c.state_after.unwrap_or(0),
        };
        match self
            .store
            .replay_transaction_skipping(&captured, self.opts.skip_unsupported)
        {
            Ok(skipped) => {
                self.report.statements += n - skipped.len() as u64;
                for ddl in skipped {
                    *self
                        .report
                        .unsupported_skipped
                        .entry(ddl.to_string())
                        .or_default() += 1;
                }
                for t in self.store.committed() {
                    for (i, st) in t.statements.iter().enumerate() {
                        // Executed in log order: the i-th as logged, unless
                        // the store captured a different list.
                        let carried = captured
                            .statements
                            .get(i)
                            .filter(|c| c.sql == st.sql)
                            .or_else(|| captured.statements.iter().find(|c| c.sql == st.sql));
                        if let Some(d) = crate::capture::DependentStatement::of(
                            tx.txid(),
                            || tx.position(),
                            st,
                            carried,
                            self.opts.executor.unwrap_or("the follower"),
                        ) {
                            self.report.dependence.note(d);
                        }
                    }
                }
                Ok(true)
            }
            Err(e) => {
                let f = Failure {
                    txid: tx.txid(),
                    lsn,
                    message: e.to_string(),
                    at: None,
                };
                self.report.failures.push(f);
                let conflict_like =
                    matches!(e.kind(), ErrorKind::DuplicateKey | ErrorKind::Conflict);
                if conflict_like && self.opts.on_conflict == ConflictPolicy::Skip {
                    Ok(false)
                } else {
                    self.report.stopped = Some(Stop::Failure);
                    Ok(false)
                }
            }
        }
    }

    /// Applies a logical transaction; false when it was rolled back.
    fn logical(&mut self, tx: &Transaction<'_>) -> Result<bool, Error> {
        let (txid, begin_us) = (tx.txid(), tx.begin.timestamp_us);
        let has_ddl = tx
            .records()
            .any(|r| r.body.first() == Some(&replog_logical::rtype::DDL));
        if !has_ddl {
            self.store.apply_begin(begin_us);
        }
        for r in tx.records() {
            let lsn = &r.lsn;
            let rec =
                LogicalRecord::decode(r.body, 0).map_err(|e| e.context(format!("LSN {lsn}")))?;
            let change = match self.rows.decode(&*self.store, rec, *lsn)? {
                Decoded::Nothing => continue,
                Decoded::Ddl { database, sql } => {
                    if let Err(e) = self.store.apply_ddl(database, sql, begin_us) {
                        return self.fail(txid, *lsn, e.to_string(), false);
                    }
                    self.report.ddl += 1;
                    continue;
                }
                Decoded::NonTable(ddl) => {
                    self.report.note_non_table_ddl(ddl);
                    continue;
                }
                Decoded::Mismatch(m) => return self.fail(txid, *lsn, m, !has_ddl),
                Decoded::Table(def) => {
                    if let Err(e) = self.store.apply_table(def) {
                        return self.fail(txid, *lsn, e.to_string(), !has_ddl);
                    }
                    continue;
                }
                Decoded::Changes(c) => c,
            };
            for ch in &change {
                match self.store.apply_row_change(ch, self.opts.on_conflict) {
                    Ok(None) => self.report.changes += 1,
                    Ok(Some(conflict)) => {
                        let abort = conflict.resolution == Resolution::Aborted;
                        self.report.conflicts.push(ConflictAt {
                            txid,
                            lsn: *lsn,
                            conflict,
                            at: None,
                        });
                        if abort {
                            if !has_ddl {
                                let _ = self.store.apply_end(false);
                            }
                            self.report.stopped = Some(Stop::Conflict);
                            return Ok(false);
                        }
                        self.report.changes += 1;
                    }
                    Err(e) => return self.fail(txid, *lsn, e.to_string(), !has_ddl),
                }
            }
        }
        if !has_ddl && let Err(e) = self.store.apply_end(true) {
            let lsn = tx.records().last().map_or(0, |r| r.lsn);
            return self.fail(txid, lsn, e.to_string(), false);
        }
        Ok(true)
    }

    fn fail(
        &mut self,
        txid: u64,
        lsn: u64,
        message: String,
        rollback: bool,
    ) -> Result<bool, Error> {
        if rollback {
            let _ = self.store.apply_end(false);
        }
        self.report.failures.push(Failure {
            txid,
            lsn,
            message,
            at: None,
        });
        self.report.stopped = Some(Stop::Failure);
        Ok(false)
    }
}

/// A native STATEMENT record as the store replays it: its SQL with the
/// context the log captured (default database, timestamp, RAND seeds,
/// INSERT_ID, LAST_INSERT_ID, user variables, thread id). `default_us` (the
/// transaction's BEGIN time) stands in for a missing timestamp.
pub fn captured_statement(st: &Statement<'_>, default_us: i64) -> CapturedStatement {
    let cx = &st.context;
    CapturedStatement {
        sql: st.sql.to_string(),
        context: StatementContext {
            database: cx.database.map(str::to_string),
            timestamp_us: cx.timestamp_us.unwrap_or(default_us),
            rand_seed: cx.rand_seed.map(|r| MyRnd::new(r.seed1, r.seed2)),
            insert_id: cx.insert_id,
            last_insert_id: cx.last_insert_id,
            user_vars: cx
                .user_vars
                .iter()
                .flatten()
                .map(|v| (v.name.to_string(), Datum::from_value(&v.value)))
                .collect(),
            thread_id: cx.thread_id,
        },
        is_ddl: false,
        changes: Vec::new(),
        unsafe_reasons: Vec::new(),
    }
}

/// What one logical record means to a store ([`RowDecoder::decode`]).
#[derive(Debug)]
pub enum Decoded<'r> {
    /// Nothing to apply (RELATION, MESSAGE).
    Nothing,
    /// A DDL statement to execute in `database`.
    Ddl {
        /// Its default database.
        database: Option<&'r str>,
        /// Its text.
        sql: &'r str,
    },
    /// A DDL statement about an object that holds no rows (a stored
    /// routine, trigger, event, view, user, privileges): a row-based
    /// follower passes it over (the row records carry what such objects
    /// changed) and counts it.
    NonTable(replog_schema::objects::NonTableDdl),
    /// Row changes to apply, with the store's table definitions.
    Changes(Vec<RowChange>),
    /// A table to create or alter ([`Store::apply_table`]): the RELATION of
    /// a log whose source carries no DDL (PostgreSQL types).
    Table(TableDef),
    /// The record's relation does not match the store's table (missing
    /// table, other columns or key): why.
    Mismatch(String),
}

/// Turns logical-log records into the store's [`RowChange`]s: keeps the
/// log's RELATIONs, checks each against the store's table definition,
/// fills unchanged columns and key-only before-images from the store's
/// current rows.
#[derive(Debug, Default)]
pub struct RowDecoder {
    rels: HashMap<u32, ReplayRelation>,
}

impl RowDecoder {
    /// Learns (or replaces) a relation.
    pub fn relation(&mut self, rel: &replog_logical::Relation<'_>) {
        self.rels.insert(
            rel.relation_id,
            ReplayRelation {
                database: rel.database.to_string(),
                table: rel.table.to_string(),
                ncols: rel.columns.len(),
                key: rel.key_columns().collect(),
                def: None,
            },
        );
    }

    fn rel(&self, id: u32, lsn: u64) -> Result<&ReplayRelation, Error> {
        self.rels
            .get(&id)
            .ok_or_else(|| Error::malformed(lsn, format!("relation {id} used before its RELATION")))
    }

    /// The store's definition of relation `id`, checked against it.
    fn rel_def<S: Storage, E: Environment>(
        &mut self,
        store: &Store<S, E>,
        id: u32,
        lsn: u64,
    ) -> Result<Result<Arc<TableDef>, String>, Error> {
        let rel = self.rel(id, lsn)?;
        if let Some(d) = &rel.def {
            return Ok(Ok(d.clone()));
        }
        let Some(def) = store.table_def(&rel.database, &rel.table) else {
            return Ok(Err(format!(
                "table {}.{} of relation {id} does not exist here",
                rel.database, rel.table
            )));
        };
        if def.columns.len() != rel.ncols || def.primary_key != rel.key {
            return Ok(Err(format!(
                "schema mismatch on {}.{}: {} columns here, {} in the log's RELATION",
                rel.database,
                rel.table,
                def.columns.len(),
                rel.ncols
            )));
        }
        let d = Arc::new(def.clone());
        if let Some(r) = self.rels.get_mut(&id) {
            r.def = Some(d.clone());
        }
        Ok(Ok(d))
    }

    /// Decodes one record (at `lsn`, for error messages) against `store`'s
    /// current schema and rows. A DDL record forgets the checked table
    /// definitions (the DDL may change them).
    pub fn decode<'r, S: Storage, E: Environment>(
        &mut self,
        store: &Store<S, E>,
        rec: LogicalRecord<'r>,
        lsn: u64,
    ) -> Result<Decoded<'r>, Error> {
        macro_rules! table {
            ($id:expr) => {
                match self.rel_def(store, $id, lsn)? {
                    Ok(t) => t,
                    Err(m) => return Ok(Decoded::Mismatch(m)),
                }
            };
        }
        Ok(Decoded::Changes(match rec {
            LogicalRecord::Relation(rel) => {
                self.relation(&rel);
                if rel.is_postgres() {
                    return Ok(Decoded::Table(TableDef::from_relation(&rel)));
                }
                return Ok(Decoded::Nothing);
            }
            LogicalRecord::Ddl(d) => {
                if let Some(ddl) = replog_schema::objects::non_table_ddl(d.sql) {
                    return Ok(Decoded::NonTable(ddl));
                }
                for r in self.rels.values_mut() {
                    r.def = None;
                }
                return Ok(Decoded::Ddl {
                    database: (!d.database.is_empty()).then_some(d.database),
                    sql: d.sql,
                });
            }
            LogicalRecord::Message(_) => return Ok(Decoded::Nothing),
            LogicalRecord::Truncate(t) => {
                let mut out = Vec::with_capacity(t.relation_ids.len());
                for id in &t.relation_ids {
                    out.push(RowChange::Truncate { table: table!(*id) });
                }
                out
            }
            LogicalRecord::Insert(i) => {
                let table = table!(i.relation_id);
                let row = full(to_row(&i.new)?, None, lsn)?;
                vec![RowChange::Insert { table, row }]
            }
            LogicalRecord::Update(u) => {
                let table = table!(u.relation_id);
                let after = to_row(&u.after)?;
                let before = match &u.before {
                    Some(b) if b.kind == replog_logical::ImageKind::Full => {
                        full(to_row(&b.values)?, None, lsn)?
                    }
                    other => {
                        // Key-only or no before-image: the key columns name
                        // the row; the rest is the store's.
                        let cols = match other {
                            Some(b) => to_row(&b.values)?,
                            None => after.clone(),
                        };
                        let probe: Row = cols
                            .iter()
                            .map(|v| v.clone().unwrap_or(Value::Null))
                            .collect();
                        store
                            .row_by_key(&table.database, &table.name, &probe)
                            .unwrap_or(probe)
                    }
                };
                let after = full(after, Some(&before), lsn)?;
                vec![RowChange::Update {
                    table,
                    before,
                    after,
                }]
            }
            LogicalRecord::Delete(d) => {
                let table = table!(d.relation_id);
                let cols = to_row(&d.before.values)?;
                let before = if d.before.kind == replog_logical::ImageKind::Full {
                    full(cols, None, lsn)?
                } else {
                    let probe: Row = cols.into_iter().map(|v| v.unwrap_or(Value::Null)).collect();
                    store
                        .row_by_key(&table.database, &table.name, &probe)
                        .unwrap_or(probe)
                };
                vec![RowChange::Delete { table, before }]
            }
        }))
    }
}
