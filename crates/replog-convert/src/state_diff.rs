//! State-level diff: two logs of any formats (or two stores) replayed into
//! reference stores and compared by content.
//!
//! - Statement and logical logs are replayed transaction by transaction
//!   onto `Store::new(SimEnvironment::default())` ([`LogReplayer`]);
//!   physical WALs are redone into the page engine with every COMMIT's
//!   `state_after` checked against the redone pages, so the COMMIT digests
//!   (or, where redo found a mismatch, the pages' own digest) give the
//!   store digest after each of its transactions.
//! - Both logs are stepped together, aligned by txid (by position once a
//!   log's txids stop ascending, or with [`Align::Position`]); after each
//!   step the two store digests are compared, which finds the first
//!   transaction after which the states differ. Digests are maintained
//!   incrementally by the stores, so this costs nothing per row.
//! - At the end both stores are walked table by table in primary-key
//!   order ([`compare_stores`]): tables only on one side, rows only on one
//!   side, and rows that differ with the columns that differ. Tables whose
//!   definitions and digests are equal are passed over without reading a
//!   row.
//!
//! Memory is bounded by the two stores and the largest transaction.
//! Stores saved by `replog replay --store DIR` are loaded by
//! [`load_store`], the one place that knows store directory formats.

use crate::diff::ColumnDiff;
use crate::error::{Error, ErrorKind, Result};
use crate::invert::Shared;
use replog_core::reader::{Event, LogReader, ReaderOptions, SegmentInput, Source};
use replog_core::recovery::RecoveryPolicy;
use replog_core::txn::{Transaction, TxnEvent, TxnReader, TxnSource};
use replog_core::{LogKind, Value};
use replog_logical::LogicalRecord;
use replog_pagestore::{Options as PageOptions, PageStore, RedoOptions};
use replog_statement::Statement;
use replog_store::capture::CommittedTransaction;
use replog_store::replay::{Decoded, RowDecoder, captured_statement};
use replog_store::snapshot::{self, AppliedPosition};
use replog_store::storage::{MemStorage, Storage, primary_key};
use replog_store::{ConflictPolicy, RowChange, SimEnvironment, Store, TableDef};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

/// How the transactions of the two logs are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    /// By txid (the same transaction has the same txid in every log of one
    /// leader); by position from where a log's txids stop ascending.
    #[default]
    Txid,
    /// By position: the n-th committed transaction of A with the n-th of B.
    Position,
    /// By state: the n-th transaction of A that changes its store's state
    /// with the n-th of B that changes B's; transactions that leave the
    /// state as it was are applied without being paired. For logs whose
    /// txids are numbered differently (a MySQL/MariaDB binlog, which does
    /// not log a statement that changed nothing, against a native log).
    State,
}

/// How to diff states.
#[derive(Debug, Clone, Copy, Default)]
pub struct StateOptions {
    /// Which damage of either log ends it without an error.
    pub policy: RecoveryPolicy,
    /// How transactions are paired.
    pub align: Align,
}

/// A reference store over any of the storage engines.
pub enum RefStore {
    /// In-memory rows (replayed statement or logical log, snapshot).
    Mem(Box<Store<MemStorage, SimEnvironment>>),
    /// Pages rebuilt from a physical WAL.
    Page(Box<Store<PageStore, SimEnvironment>>),
}

impl RefStore {
    /// The store digest.
    pub fn digest(&self) -> u64 {
        match self {
            RefStore::Mem(s) => s.digest(),
            RefStore::Page(s) => s.digest(),
        }
    }

    /// The storage, to read tables and rows.
    pub fn storage(&self) -> &dyn Storage {
        match self {
            RefStore::Mem(s) => s.storage(),
            RefStore::Page(s) => s.storage(),
        }
    }
}

/// A store read from a directory.
pub struct LoadedStore {
    /// The store.
    pub store: RefStore,
    /// What it is (`snapshot DIR/store.snapshot`).
    pub description: String,
    /// Where it stands in the log it was built from, when recorded.
    pub position: Option<AppliedPosition>,
}

/// Loads the store kept in directory `dir`, or `None` when `dir` holds no
/// store this code knows. Every store directory format is recognised
/// here:
///
/// - a page store (`DIR/wal/`, the store's own physical WAL, and its page
///   image, written by `replog replay --store DIR`): recovered read-only
///   by `PageStore::read_dir` (nothing in the directory is cut or
///   rewritten; a torn tail is left out), with the position it records;
/// - a snapshot (`DIR/store.snapshot`, earlier versions of
///   `replog replay --store DIR`).
pub fn load_store(dir: &Path) -> Result<Option<LoadedStore>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    if PageStore::is_store_dir(dir) {
        return load_page_store(dir).map(Some);
    }
    if snapshot::path_in(dir).is_file() {
        let Some((pos, st)) = snapshot::load(dir).map_err(|e| {
            Error::new(
                ErrorKind::Malformed,
                format!("{}: {e}", snapshot::path_in(dir).display()),
            )
        })?
        else {
            return Ok(None);
        };
        return Ok(Some(LoadedStore {
            store: RefStore::Mem(Box::new(Store::with_storage(st, SimEnvironment::default()))),
            description: format!("snapshot {}", snapshot::path_in(dir).display()),
            position: Some(pos),
        }));
    }
    Ok(None)
}

fn load_page_store(dir: &Path) -> Result<LoadedStore> {
    let named = |e: &dyn std::fmt::Display| {
        Error::new(
            ErrorKind::Malformed,
            format!("{}: page store: {e}", dir.display()),
        )
    };
    let page_size = PageStore::dir_page_size(dir)
        .map_err(|e| named(&e))?
        .unwrap_or(PageOptions::default().page_size);
    // Read-only recovery: nothing in the directory is cut or rewritten.
    let (pages, rec) =
        PageStore::read_dir(dir, &PageOptions::with_page_size(page_size)).map_err(|e| named(&e))?;
    let position = pages.position();
    let mut description = format!("page store {}", dir.display());
    if let Some(t) = &rec.torn_tail {
        description.push_str(&format!(" (torn WAL tail left out: {t})"));
    }
    Ok(LoadedStore {
        store: RefStore::Page(Box::new(Store::with_storage(
            pages,
            SimEnvironment::default(),
        ))),
        description,
        position,
    })
}

/// One side of a state diff.
pub enum StateInput {
    /// A native log (statement, logical or physical), its segments in order.
    Log(Vec<SegmentInput>),
    /// Any log source (`crate::source::LogInput`: a native log, binlogs,
    /// PostgreSQL WAL with its catalog, a logical decoding capture), opened
    /// with the comparison's recovery policy.
    Input(crate::source::LogInput),
    /// A store.
    Store(Box<LoadedStore>),
}

/// One committed transaction as a replayer applied it.
#[derive(Debug, Clone, Default)]
pub struct AppliedTx {
    /// Transaction id (BEGIN).
    pub txid: u64,
    /// Server id (BEGIN).
    pub server_id: u32,
    /// Origin text (BEGIN), e.g. a GTID.
    pub origin: String,
    /// LSN of the BEGIN.
    pub lsn: u64,
    /// LSN of the COMMIT.
    pub commit_lsn: u64,
    /// Its position in the foreign log it came from (`file:pos (GTID g)`
    /// for a binlog); `None` for a replog log.
    pub position: Option<String>,
    /// The store digest after it.
    pub digest: u64,
    /// The COMMIT's `state_after`, when it carries one.
    pub state_after: Option<u64>,
    /// Its row changes in order (kept when asked for).
    pub changes: Vec<RowChange>,
    /// Its DDL statements, `database` then text (kept when asked for).
    pub ddl: Vec<(String, String)>,
    /// Why it could not be applied (the store is left as before it).
    pub failure: Option<String>,
}

/// Replays a native statement or logical log one committed transaction at
/// a time onto a fresh reference store: [`LogReplayer::peek`] reads the
/// next transaction, [`LogReplayer::apply`] applies it. A transaction that
/// fails (a statement error, a row conflict) is rolled back and reported
/// in [`AppliedTx::failure`]; replay goes on. Memory: the store and one
/// transaction.
pub struct LogReplayer {
    label: String,
    txns: Box<dyn TxnSource>,
    kind: Option<LogKind>,
    applier: Applier,
    /// A transaction was read ahead ([`TxnReader::current`]) and not yet applied.
    pending: Option<u64>,
    done: bool,
}

/// The store side of a [`LogReplayer`].
struct Applier {
    store: Store<MemStorage, SimEnvironment>,
    rows: RowDecoder,
    keep_changes: bool,
}

/// Shares the segments' sources, so that the first header can be probed
/// and the log then read from the start (twice for a physical log: redo,
/// then its transactions).
fn share(inputs: Vec<SegmentInput>) -> (Vec<SegmentInput>, Vec<Rc<dyn Source>>) {
    let sources: Vec<(String, Rc<dyn Source>)> = inputs
        .into_iter()
        .map(|i| (i.name, Rc::from(i.source)))
        .collect();
    let segs = sources
        .iter()
        .map(|(n, s)| SegmentInput {
            name: n.clone(),
            source: Box::new(Shared(s.clone())),
        })
        .collect();
    (segs, sources.into_iter().map(|(_, s)| s).collect())
}

/// Reader options of a replayed log: state gaps are differences, not
/// the end.
pub(crate) fn reader_options(policy: RecoveryPolicy) -> ReaderOptions {
    ReaderOptions {
        policy,
        // State gaps are differences to show; other damage still stops.
        continue_after_damage: true,
        buffer_size: 0,
    }
}

impl LogReplayer {
    /// A replayer of the log `segments` (named `label` in errors).
    /// `keep_changes`: return each transaction's row changes and DDL.
    pub fn new(
        label: &str,
        segments: Vec<SegmentInput>,
        policy: RecoveryPolicy,
        keep_changes: bool,
    ) -> LogReplayer {
        LogReplayer::from_source(
            label,
            Box::new(TxnReader::new(LogReader::new(
                segments,
                reader_options(policy),
            ))),
            keep_changes,
        )
    }

    /// A replayer of the transactions of `txns`, an open source (a native
    /// log read with state gaps as differences, or an imported binlog).
    pub fn from_source(label: &str, txns: Box<dyn TxnSource>, keep_changes: bool) -> LogReplayer {
        LogReplayer {
            label: label.to_string(),
            txns,
            kind: None,
            applier: Applier {
                store: Store::new(SimEnvironment::default()),
                rows: RowDecoder::default(),
                keep_changes,
            },
            pending: None,
            done: false,
        }
    }

    /// The kind of the log, once its first segment header was read.
    pub fn kind(&self) -> Option<LogKind> {
        self.kind
    }

    /// The store as replayed so far.
    pub fn store(&self) -> &Store<MemStorage, SimEnvironment> {
        &self.applier.store
    }

    /// The store, giving up the replayer.
    pub fn into_store(self) -> Store<MemStorage, SimEnvironment> {
        self.applier.store
    }

    /// COMMITs that did not start from the previous transaction's state
    /// (transactions missing from the log).
    pub fn state_gaps(&self) -> u64 {
        self.txns.state_gaps()
    }

    /// The txid of an uncommitted transaction at the end of the log, once
    /// the end was reached.
    pub fn uncommitted(&self) -> Option<u64> {
        self.txns.summary().uncommitted.as_ref().map(|u| u.txid)
    }

    /// Reads the first segment header (the log's kind) without applying
    /// anything.
    /// A physical log is reported as such here (and refused by
    /// [`LogReplayer::peek`] and [`LogReplayer::apply`]).
    pub fn probe(&mut self) -> Result<Option<LogKind>> {
        match self.peek() {
            Err(_) if self.kind == Some(LogKind::Physical) => Ok(self.kind),
            Err(e) => Err(e),
            Ok(_) => Ok(self.kind),
        }
    }

    /// The txid of the next committed transaction, read but not applied;
    /// `None` at the end of the log.
    pub fn peek(&mut self) -> Result<Option<u64>> {
        if self.pending.is_none() && !self.done {
            self.pending = self.read_tx()?;
            self.done = self.pending.is_none();
        }
        Ok(self.pending)
    }

    fn read_tx(&mut self) -> Result<Option<u64>> {
        while let Some(ev) = self.txns.next() {
            match ev? {
                TxnEvent::Segment { header, name, .. } => match self.kind {
                    None if header.kind == LogKind::Physical => {
                        self.kind = Some(LogKind::Physical);
                        return Err(Error::new(
                            ErrorKind::Mismatch,
                            format!(
                                "{name}: a physical log is redone by the page engine, not replayed"
                            ),
                        ));
                    }
                    None => self.kind = Some(header.kind),
                    // A segment of another kind is damage (a
                    // discontinuity), reported by the reader.
                    Some(_) => {}
                },
                // A COMMIT whose state_before is not the previous
                // state_after: its transaction comes next, with its gap.
                TxnEvent::Damage(d) => crate::error::stop_at_damage(&self.label, d)?,
                TxnEvent::Transaction(t) => return Ok(Some(t.txid())),
            }
        }
        if let Some(d) = self.txns.intolerable() {
            return Err(crate::error::damaged_log(&self.label, d));
        }
        Ok(None)
    }

    /// Applies the next committed transaction; `None` at the end of the
    /// log.
    pub fn apply(&mut self) -> Result<Option<AppliedTx>> {
        self.peek()?;
        if self.pending.take().is_none() {
            return Ok(None);
        }
        let Some(tx) = self.txns.current() else {
            return Ok(None);
        };
        let mut out = AppliedTx {
            txid: tx.txid(),
            server_id: tx.begin.server_id,
            origin: tx.begin.origin.to_string(),
            lsn: tx.begin_lsn,
            commit_lsn: tx.commit_lsn,
            position: tx.foreign_position(),
            state_after: tx.commit.state_after,
            ..AppliedTx::default()
        };
        match self.kind.unwrap_or(LogKind::Statement) {
            LogKind::Logical => self.applier.logical(&tx, &mut out)?,
            _ => self.applier.statement(&tx, &mut out)?,
        }
        out.digest = self.applier.store.digest();
        Ok(Some(out))
    }
}

impl Applier {
    fn statement(&mut self, tx: &Transaction<'_>, out: &mut AppliedTx) -> Result<()> {
        let c = &tx.commit;
        let mut statements = Vec::with_capacity(tx.records().len());
        for r in tx.records() {
            let st = Statement::decode(r.body, 0)
                .map_err(|e| Error::from(e.context(tx.record_position(r.lsn))))?;
            statements.push(captured_statement(&st, tx.begin.timestamp_us));
        }
        if let [one] = statements.as_mut_slice() {
            one.is_ddl = replog_store::script::is_ddl(&one.sql);
        }
        let captured = CommittedTransaction {
            txid: tx.txid(),
            timestamp_us: tx.begin.timestamp_us,
            statements,
            state_before: c.state_before.unwrap_or(0),
            state_after: c.state_after.unwrap_or(0),
        };
        if let Err(e) = self.store.replay_transaction(&captured) {
            out.failure = Some(match tx.foreign_position() {
                Some(at) => format!("{at}: {e}"),
                None => e.to_string(),
            });
        }
        let committed = self.store.take_committed();
        if self.keep_changes && out.failure.is_none() {
            for t in committed {
                for s in t.statements {
                    if s.is_ddl && s.changes.is_empty() {
                        out.ddl
                            .push((s.context.database.clone().unwrap_or_default(), s.sql));
                    } else {
                        out.changes.extend(s.changes);
                    }
                }
            }
        }
        Ok(())
    }

    fn logical(&mut self, tx: &Transaction<'_>, out: &mut AppliedTx) -> Result<()> {
        let has_ddl = tx
            .records()
            .any(|r| r.body.first() == Some(&replog_logical::rtype::DDL));
        if !has_ddl {
            self.store.apply_begin(tx.begin.timestamp_us);
        }
        let mut failure = None;
        'records: for r in tx.records() {
            let lsn = &r.lsn;
            let rec = LogicalRecord::decode(r.body, 0)
                .map_err(|e| Error::from(e.context(tx.record_position(*lsn))))?;
            let decoded = self
                .rows
                .decode(&self.store, rec, *lsn)
                .map_err(Error::from)?;
            match decoded {
                // Objects without rows change no table state.
                Decoded::Nothing | Decoded::NonTable(_) => {}
                Decoded::Ddl { database, sql } => {
                    if let Err(e) = self.store.apply_ddl(database, sql, tx.begin.timestamp_us) {
                        failure = Some(format!("{}: {e}", tx.record_position(*lsn)));
                        break;
                    }
                    if self.keep_changes {
                        out.ddl
                            .push((database.unwrap_or("").to_string(), sql.to_string()));
                    }
                }
                Decoded::Mismatch(m) => {
                    failure = Some(format!("{}: {m}", tx.record_position(*lsn)));
                    break;
                }
                // A PostgreSQL table's RELATION is its definition.
                Decoded::Table(def) => {
                    if let Err(e) = self.store.apply_table(def) {
                        failure = Some(format!("{}: {e}", tx.record_position(*lsn)));
                        break;
                    }
                }
                Decoded::Changes(changes) => {
                    for ch in &changes {
                        match self.store.apply_row_change(ch, ConflictPolicy::Abort) {
                            Ok(None) => {}
                            Ok(Some(conflict)) => {
                                failure = Some(format!("{}: {conflict}", tx.record_position(*lsn)));
                                break 'records;
                            }
                            Err(e) => {
                                failure = Some(format!("{}: {e}", tx.record_position(*lsn)));
                                break 'records;
                            }
                        }
                    }
                    if self.keep_changes {
                        out.changes.extend(changes);
                    }
                }
            }
        }
        if !has_ddl {
            let r = self.store.apply_end(failure.is_none());
            if failure.is_none()
                && let Err(e) = r
            {
                failure = Some(e.to_string());
            }
        }
        drop(self.store.take_committed());
        if failure.is_some() {
            out.changes.clear();
            out.ddl.clear();
        }
        out.failure = failure;
        Ok(())
    }
}

/// The transactions of a physical WAL with the store digest after each,
/// after a full redo into the page engine.
struct PhysicalSteps {
    txns: TxnReader,
    label: String,
    /// Txid → the redone pages' digest, where it differs from the COMMIT's.
    actual: HashMap<u64, u64>,
    pending: Option<AppliedTx>,
    done: bool,
}

impl PhysicalSteps {
    fn peek(&mut self) -> Result<Option<u64>> {
        if self.pending.is_none() && !self.done {
            self.pending = self.read_tx()?;
            self.done = self.pending.is_none();
        }
        Ok(self.pending.as_ref().map(|p| p.txid))
    }

    fn read_tx(&mut self) -> Result<Option<AppliedTx>> {
        while let Some(ev) = self.txns.next() {
            match ev? {
                TxnEvent::Segment { .. } => {}
                TxnEvent::Damage(d) => crate::error::stop_at_damage(&self.label, d)?,
                // Txid 0 creates the empty store.
                TxnEvent::Transaction(t) if t.txid() == 0 => {}
                TxnEvent::Transaction(t) => {
                    let c = &t.commit;
                    let digest = self.actual.get(&t.txid()).copied().or(c.state_after);
                    return Ok(Some(AppliedTx {
                        txid: t.txid(),
                        server_id: t.begin.server_id,
                        origin: t.begin.origin.to_string(),
                        lsn: t.begin_lsn,
                        commit_lsn: t.commit_lsn,
                        position: t.foreign_position(),
                        digest: digest.unwrap_or(0),
                        state_after: c.state_after,
                        ..AppliedTx::default()
                    }));
                }
            }
        }
        Ok(None)
    }
}

enum Stepper {
    Replay(Box<LogReplayer>),
    Physical(
        Box<PhysicalSteps>,
        Option<Box<Store<PageStore, SimEnvironment>>>,
    ),
    Store(Option<Box<LoadedStore>>),
}

impl Stepper {
    fn peek(&mut self) -> Result<Option<u64>> {
        match self {
            Stepper::Replay(r) => r.peek(),
            Stepper::Physical(p, _) => p.peek(),
            Stepper::Store(_) => Ok(None),
        }
    }

    fn apply(&mut self) -> Result<Option<AppliedTx>> {
        match self {
            Stepper::Replay(r) => r.apply(),
            Stepper::Physical(p, _) => {
                p.peek()?;
                Ok(p.pending.take())
            }
            Stepper::Store(_) => Ok(None),
        }
    }

    fn table_digests(&self) -> Option<Vec<(String, u64)>> {
        match self {
            Stepper::Replay(r) => {
                let st = r.store().storage();
                Some(
                    st.tables()
                        .into_iter()
                        .filter_map(|id| st.def(id).map(|d| (d.qualified_name(), st.digest(id))))
                        .collect(),
                )
            }
            _ => None,
        }
    }

    fn into_store(self) -> RefStore {
        match self {
            Stepper::Replay(r) => RefStore::Mem(Box::new(r.into_store())),
            Stepper::Physical(_, s) => RefStore::Page(s.expect("physical store taken once")),
            Stepper::Store(s) => s.expect("store taken once").store,
        }
    }
}

/// What one side is and what replaying it found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SideSummary {
    /// `statement log`, `logical log`, `physical log` or a store's
    /// description.
    pub source: String,
    /// Committed transactions applied (or redone).
    pub transactions: u64,
    /// Transactions that failed on replay (not applied): txid and why.
    pub failures: Vec<(u64, String)>,
    /// COMMITs that do not start from the previous state (the reader's
    /// state gaps: transactions missing from the log).
    pub state_gaps: u64,
    /// Physical logs: COMMITs whose `state_after` is not the redone pages'
    /// digest.
    pub state_mismatches: u64,
    /// Txid of an uncommitted tail (not applied).
    pub uncommitted: Option<u64>,
    /// Where a store stands in its log (txid of its last transaction).
    pub store_last_txid: Option<u64>,
    /// [`Align::State`]: transactions that left the state as it was,
    /// applied without being paired.
    pub unchanged: u64,
    /// The final store digest.
    pub digest: String,
}

/// The first transaction after which the two stores' digests differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateDivergence {
    /// 1-based step of the paired walk.
    pub step: u64,
    /// The transaction of A applied at that step (none: only B moved).
    pub txid_a: Option<u64>,
    /// The transaction of B applied at that step.
    pub txid_b: Option<u64>,
    /// LSN of A's COMMIT.
    pub commit_lsn_a: Option<u64>,
    /// LSN of B's COMMIT.
    pub commit_lsn_b: Option<u64>,
    /// A's transaction's position in its foreign log (a binlog's
    /// `file:pos (GTID g)`); absent for a replog log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_a: Option<String>,
    /// B's transaction's position in its foreign log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_b: Option<String>,
    /// A's store digest after the step.
    pub digest_a: String,
    /// B's.
    pub digest_b: String,
    /// Tables whose digests differ there (known when both logs are
    /// replayed, not redone).
    pub tables: Vec<String>,
}

/// How a table compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    /// Only in A.
    OnlyA,
    /// Only in B.
    OnlyB,
    /// On both sides with different rows or definitions.
    Different,
}

impl TableStatus {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            TableStatus::OnlyA => "only in A",
            TableStatus::OnlyB => "only in B",
            TableStatus::Different => "different",
        }
    }
}

/// A table that is not the same on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDiff {
    /// `database.table`.
    pub table: String,
    /// How it compares.
    pub status: TableStatus,
    /// Rows in A.
    pub rows_a: Option<u64>,
    /// Rows in B.
    pub rows_b: Option<u64>,
    /// The definitions differ (columns, types, keys).
    pub definition_differs: bool,
    /// Rows only in A.
    pub rows_only_a: u64,
    /// Rows only in B.
    pub rows_only_b: u64,
    /// Rows on both sides that differ.
    pub rows_different: u64,
}

/// How a row compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowStatus {
    /// Its key is only in A.
    OnlyA,
    /// Only in B.
    OnlyB,
    /// The same key on both sides, other values.
    Different,
}

impl RowStatus {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            RowStatus::OnlyA => "only in A",
            RowStatus::OnlyB => "only in B",
            RowStatus::Different => "different",
        }
    }
}

/// A row that is not the same on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DifferingRow {
    /// `database.table`.
    pub table: String,
    /// How it compares.
    pub status: RowStatus,
    /// The primary key, `col=value, …`.
    pub key: String,
    /// The row in A, `col=value, …`.
    pub a: Option<String>,
    /// The row in B.
    pub b: Option<String>,
    /// The columns that differ (Different only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnDiff>,
}

/// Counts of a store comparison.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreComparison {
    /// Tables on both sides with the same definition and digest.
    pub tables_same: u64,
    /// Tables only in A.
    pub tables_only_a: u64,
    /// Tables only in B.
    pub tables_only_b: u64,
    /// Tables on both sides that differ.
    pub tables_different: u64,
    /// Rows only in A (in tables on both sides).
    pub rows_only_a: u64,
    /// Rows only in B.
    pub rows_only_b: u64,
    /// Rows that differ.
    pub rows_different: u64,
}

impl StoreComparison {
    /// True when the stores hold the same tables and rows.
    pub fn same(&self) -> bool {
        self.tables_only_a == 0 && self.tables_only_b == 0 && self.tables_different == 0
    }
}

/// What the state diff found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StateSummary {
    /// Side A.
    pub a: SideSummary,
    /// Side B.
    pub b: SideSummary,
    /// Pairing used.
    pub align: Align,
    /// Alignment fell back to positions because txids stopped ascending.
    pub positional: bool,
    /// Steps of the paired walk (0 when a side is a store).
    pub steps: u64,
    /// Transactions paired with one of the other side.
    pub paired: u64,
    /// Transactions only in A (by txid).
    pub only_a: u64,
    /// Transactions only in B.
    pub only_b: u64,
    /// The first transaction after which the digests differ.
    pub first_divergence: Option<StateDivergence>,
    /// Steps after which the digests differed.
    pub divergent_steps: u64,
    /// The final stores compared.
    pub stores: StoreComparison,
    /// The final digests are equal.
    pub same_digest: bool,
}

impl StateSummary {
    /// True when the final states are equal and no step diverged.
    pub fn identical(&self) -> bool {
        self.same_digest && self.stores.same() && self.first_divergence.is_none()
    }
}

fn stepper(label: &str, input: StateInput, policy: RecoveryPolicy) -> Result<(Stepper, String)> {
    let segs = match input {
        StateInput::Store(s) => {
            let d = s.description.clone();
            return Ok((Stepper::Store(Some(s)), d));
        }
        StateInput::Log(segs) | StateInput::Input(crate::source::LogInput::Native(segs)) => segs,
        StateInput::Input(input) => {
            let txns = replog_core::txn::TxnInput::open(input, reader_options(policy))?;
            let r = LogReplayer::from_source(label, txns, false);
            let what = r
                .txns
                .kind()
                .map_or("log".to_string(), |k| format!("{k} log"));
            return Ok((Stepper::Replay(Box::new(r)), what));
        }
    };
    let names: Vec<String> = segs.iter().map(|s| s.name.clone()).collect();
    let (segs, sources) = share(segs);
    // The first segment header tells the kind.
    let mut probe = LogReader::new(segs, reader_options(policy));
    let header = loop {
        match probe.next() {
            Some(Ok(Event::Segment { header, .. })) => break header.clone(),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => {
                return Err(Error::new(
                    ErrorKind::Malformed,
                    format!("log {label}: no readable segment header"),
                ));
            }
        }
    };
    drop(probe);
    let again = |sources: &[Rc<dyn Source>]| -> Vec<SegmentInput> {
        sources
            .iter()
            .zip(&names)
            .map(|(s, name)| SegmentInput {
                name: name.clone(),
                source: Box::new(Shared(s.clone())),
            })
            .collect()
    };
    if header.kind != LogKind::Physical {
        let r = LogReplayer::new(label, again(&sources), policy, false);
        return Ok((Stepper::Replay(Box::new(r)), format!("{} log", header.kind)));
    }
    replog_physical::check_header(&header)
        .map_err(|e| Error::new(ErrorKind::Mismatch, format!("log {label}: {e}")))?;
    let reader = LogReader::new(again(&sources), reader_options(policy));
    let (pages, report) = PageStore::from_wal_with(
        reader,
        &PageOptions::with_page_size(header.page_size as usize),
        &RedoOptions {
            until: None,
            check_states: true,
        },
    )
    .map_err(|e| {
        Error::new(
            ErrorKind::Malformed,
            format!("log {label}: physical redo: {e}"),
        )
    })?;
    let actual = report
        .state_mismatches
        .iter()
        .map(|m| (m.txid, m.actual))
        .collect();
    let steps = PhysicalSteps {
        txns: TxnReader::new(LogReader::new(again(&sources), reader_options(policy))),
        label: label.to_string(),
        actual,
        pending: None,
        done: false,
    };
    let desc = format!(
        "physical log ({} page records redone, {} COMMIT digest mismatch(es))",
        report.applied,
        report.state_mismatches.len()
    );
    Ok((
        Stepper::Physical(
            Box::new(steps),
            Some(Box::new(Store::with_storage(
                pages,
                SimEnvironment::default(),
            ))),
        ),
        desc,
    ))
}

/// Replays `a` and `b` in step and compares their states; `on_table` and
/// `on_row` are called for every table and row that differ at the end (in
/// table, then key order).
pub fn state_diff(
    a: StateInput,
    b: StateInput,
    opts: &StateOptions,
    on_table: &mut dyn FnMut(&TableDiff) -> Result<()>,
    on_row: &mut dyn FnMut(&DifferingRow) -> Result<()>,
) -> Result<StateSummary> {
    let (mut sa, desc_a) = stepper("A", a, opts.policy)?;
    let (mut sb, desc_b) = stepper("B", b, opts.policy)?;
    let mut s = StateSummary {
        align: opts.align,
        positional: opts.align != Align::Txid,
        ..StateSummary::default()
    };
    s.a.source = desc_a;
    s.b.source = desc_b;
    let both_logs = !matches!(sa, Stepper::Store(_)) && !matches!(sb, Stepper::Store(_));
    let (mut last_a, mut last_b): (Option<u64>, Option<u64>) = (None, None);
    let (mut dig_a, mut dig_b) = (0u64, 0u64);
    if both_logs {
        loop {
            let (ta, tb) = if opts.align == Align::State {
                let ta = next_change(&mut sa, &mut s.a, dig_a)?;
                let tb = next_change(&mut sb, &mut s.b, dig_b)?;
                if ta.is_none() && tb.is_none() {
                    break;
                }
                (ta, tb)
            } else {
                let (pa, pb) = (sa.peek()?, sb.peek()?);
                if pa.is_some_and(|t| last_a.is_some_and(|l| t <= l))
                    || pb.is_some_and(|t| last_b.is_some_and(|l| t <= l))
                {
                    s.positional = true;
                }
                let (move_a, move_b) = match (pa, pb) {
                    (None, None) => break,
                    (Some(_), None) => (true, false),
                    (None, Some(_)) => (false, true),
                    (Some(x), Some(y)) if s.positional || x == y => (true, true),
                    (Some(x), Some(y)) => (x < y, y < x),
                };
                let ta = if move_a { sa.apply()? } else { None };
                let tb = if move_b { sb.apply()? } else { None };
                (ta, tb)
            };
            s.steps += 1;
            for (t, side, last, dig) in [
                (&ta, &mut s.a, &mut last_a, &mut dig_a),
                (&tb, &mut s.b, &mut last_b, &mut dig_b),
            ] {
                if let Some(t) = t {
                    side.transactions += 1;
                    *last = Some(t.txid);
                    *dig = t.digest;
                    if let Some(f) = &t.failure {
                        side.failures.push((t.txid, f.clone()));
                    }
                }
            }
            match (&ta, &tb) {
                (Some(_), Some(_)) => s.paired += 1,
                (Some(_), None) => s.only_a += 1,
                _ => s.only_b += 1,
            }
            if dig_a != dig_b {
                s.divergent_steps += 1;
                if s.first_divergence.is_none() {
                    let tables = match (sa.table_digests(), sb.table_digests()) {
                        (Some(x), Some(y)) => differing_tables(&x, &y),
                        _ => Vec::new(),
                    };
                    s.first_divergence = Some(StateDivergence {
                        step: s.steps,
                        txid_a: ta.as_ref().map(|t| t.txid),
                        txid_b: tb.as_ref().map(|t| t.txid),
                        commit_lsn_a: ta.as_ref().map(|t| t.commit_lsn),
                        commit_lsn_b: tb.as_ref().map(|t| t.commit_lsn),
                        position_a: ta.as_ref().and_then(|t| t.position.clone()),
                        position_b: tb.as_ref().and_then(|t| t.position.clone()),
                        digest_a: format!("{dig_a:016x}"),
                        digest_b: format!("{dig_b:016x}"),
                        tables,
                    });
                }
            }
        }
    } else {
        // A store has no transactions to step through: drain the log.
        for (st, side) in [(&mut sa, &mut s.a), (&mut sb, &mut s.b)] {
            while let Some(t) = st.apply()? {
                side.transactions += 1;
                if let Some(f) = t.failure {
                    side.failures.push((t.txid, f));
                }
            }
        }
    }
    for (st, side) in [(&sa, &mut s.a), (&sb, &mut s.b)] {
        match st {
            Stepper::Replay(r) => {
                side.state_gaps = r.state_gaps();
                side.uncommitted = r.uncommitted();
            }
            Stepper::Physical(p, _) => {
                side.state_mismatches = p.actual.len() as u64;
                side.uncommitted = p.txns.summary().uncommitted.as_ref().map(|u| u.txid);
            }
            Stepper::Store(Some(l)) => side.store_last_txid = l.position.map(|p| p.last_txid),
            Stepper::Store(None) => {}
        }
    }
    let (ra, rb) = (sa.into_store(), sb.into_store());
    let (da, db) = (ra.digest(), rb.digest());
    s.a.digest = format!("{da:016x}");
    s.b.digest = format!("{db:016x}");
    s.same_digest = da == db;
    s.stores = compare_stores(ra.storage(), rb.storage(), on_table, on_row)?;
    Ok(s)
}

/// [`Align::State`]: applies transactions until one changes the digest
/// from `digest` (returned) or the log ends; the others are counted.
fn next_change(st: &mut Stepper, side: &mut SideSummary, digest: u64) -> Result<Option<AppliedTx>> {
    while let Some(t) = st.apply()? {
        if t.digest != digest {
            return Ok(Some(t));
        }
        side.transactions += 1;
        side.unchanged += 1;
        if let Some(f) = t.failure {
            side.failures.push((t.txid, f));
        }
    }
    Ok(None)
}

fn differing_tables(a: &[(String, u64)], b: &[(String, u64)]) -> Vec<String> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                if x.1 != y.1 {
                    out.push(x.0.clone());
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                out.push(x.0.clone());
                i += 1;
            }
            (Some(_), Some(y)) => {
                out.push(y.0.clone());
                j += 1;
            }
            (Some(x), None) => {
                out.push(x.0.clone());
                i += 1;
            }
            (None, Some(y)) => {
                out.push(y.0.clone());
                j += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// `col=value, …` of the primary-key columns of `row`.
pub fn key_text(def: &TableDef, row: &[Value<'static>]) -> String {
    def.primary_key
        .iter()
        .filter_map(|&i| {
            let c = def.columns.get(i)?;
            let v = row.get(i)?;
            Some(format!(
                "{}={}",
                c.name,
                replog_store::dump::format_value(v, &c.ty)
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `col=value, …` of every column of `row`.
pub fn row_text(def: &TableDef, row: &[Value<'static>]) -> String {
    def.columns
        .iter()
        .zip(row)
        .map(|(c, v)| format!("{}={}", c.name, replog_store::dump::format_value(v, &c.ty)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Columns whose values differ between `a` (of `da`) and `b` (of `db`),
/// matched by column name; a column on one side only shows `(absent)`.
pub fn column_diffs(
    da: &TableDef,
    a: &[Value<'static>],
    db: &TableDef,
    b: &[Value<'static>],
) -> Vec<ColumnDiff> {
    let show = |d: &TableDef, r: &[Value<'static>], i: usize| {
        r.get(i).map_or_else(
            || "(absent)".to_string(),
            |v| replog_store::dump::format_value(v, &d.columns[i].ty),
        )
    };
    let mut out = Vec::new();
    for (i, c) in da.columns.iter().enumerate() {
        match db.column_index(&c.name) {
            Some(j) => {
                let (x, y) = (show(da, a, i), show(db, b, j));
                if a.get(i) != b.get(j) || x != y {
                    out.push(ColumnDiff {
                        column: c.name.clone(),
                        a: x,
                        b: y,
                    });
                }
            }
            None => out.push(ColumnDiff {
                column: c.name.clone(),
                a: show(da, a, i),
                b: "(absent)".into(),
            }),
        }
    }
    for (j, c) in db.columns.iter().enumerate() {
        if da.column_index(&c.name).is_none() {
            out.push(ColumnDiff {
                column: c.name.clone(),
                a: "(absent)".into(),
                b: show(db, b, j),
            });
        }
    }
    out
}

/// Compares two stores table by table (in `database.table` order) and row
/// by row (in primary-key order); calls `on_table` for every table that is
/// not the same and `on_row` for every row that is not. A table whose
/// definition and digest are equal on both sides is not read.
pub fn compare_stores(
    a: &dyn Storage,
    b: &dyn Storage,
    on_table: &mut dyn FnMut(&TableDiff) -> Result<()>,
    on_row: &mut dyn FnMut(&DifferingRow) -> Result<()>,
) -> Result<StoreComparison> {
    let named = |s: &dyn Storage| -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = s
            .tables()
            .into_iter()
            .filter_map(|id| s.def(id).map(|d| (d.qualified_name(), id)))
            .collect();
        v.sort();
        v
    };
    let (ta, tb) = (named(a), named(b));
    let mut c = StoreComparison::default();
    let (mut i, mut j) = (0, 0);
    while i < ta.len() || j < tb.len() {
        let order = match (ta.get(i), tb.get(j)) {
            (Some(x), Some(y)) => x.0.cmp(&y.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => break,
        };
        match order {
            std::cmp::Ordering::Less => {
                let (name, id) = &ta[i];
                c.tables_only_a += 1;
                on_table(&TableDiff {
                    table: name.clone(),
                    status: TableStatus::OnlyA,
                    rows_a: Some(a.row_count(*id) as u64),
                    rows_b: None,
                    definition_differs: false,
                    rows_only_a: 0,
                    rows_only_b: 0,
                    rows_different: 0,
                })?;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                let (name, id) = &tb[j];
                c.tables_only_b += 1;
                on_table(&TableDiff {
                    table: name.clone(),
                    status: TableStatus::OnlyB,
                    rows_a: None,
                    rows_b: Some(b.row_count(*id) as u64),
                    definition_differs: false,
                    rows_only_a: 0,
                    rows_only_b: 0,
                    rows_different: 0,
                })?;
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (name, ia) = &ta[i];
                let ib = tb[j].1;
                i += 1;
                j += 1;
                let (Some(da), Some(db)) = (a.def(*ia), b.def(ib)) else {
                    continue;
                };
                let definition_differs = !same_definition(da, db);
                if !definition_differs && a.digest(*ia) == b.digest(ib) {
                    c.tables_same += 1;
                    continue;
                }
                let mut t = TableDiff {
                    table: name.clone(),
                    status: TableStatus::Different,
                    rows_a: Some(a.row_count(*ia) as u64),
                    rows_b: Some(b.row_count(ib) as u64),
                    definition_differs,
                    rows_only_a: 0,
                    rows_only_b: 0,
                    rows_different: 0,
                };
                compare_rows(a, *ia, da, b, ib, db, &mut t, on_row)?;
                if !definition_differs && t.rows_only_a + t.rows_only_b + t.rows_different == 0 {
                    // Equal rows, different digests: impossible for one
                    // digest function; counted as the same.
                    c.tables_same += 1;
                    continue;
                }
                c.tables_different += 1;
                c.rows_only_a += t.rows_only_a;
                c.rows_only_b += t.rows_only_b;
                c.rows_different += t.rows_different;
                on_table(&t)?;
            }
        }
    }
    Ok(c)
}

fn same_definition(a: &TableDef, b: &TableDef) -> bool {
    a.primary_key == b.primary_key
        && a.columns.len() == b.columns.len()
        && a.columns
            .iter()
            .zip(&b.columns)
            .all(|(x, y)| x.name == y.name && x.ty == y.ty && x.nullable == y.nullable)
}

#[allow(clippy::too_many_arguments)]
fn compare_rows(
    a: &dyn Storage,
    ia: u64,
    da: &TableDef,
    b: &dyn Storage,
    ib: u64,
    db: &TableDef,
    t: &mut TableDiff,
    on_row: &mut dyn FnMut(&DifferingRow) -> Result<()>,
) -> Result<()> {
    let (ka, kb) = (a.keys(ia), b.keys(ib));
    let (mut i, mut j) = (0, 0);
    while i < ka.len() || j < kb.len() {
        let order = match (ka.get(i), kb.get(j)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => break,
        };
        match order {
            std::cmp::Ordering::Less => {
                if let Some(r) = a.get(ia, &ka[i]) {
                    t.rows_only_a += 1;
                    on_row(&DifferingRow {
                        table: t.table.clone(),
                        status: RowStatus::OnlyA,
                        key: key_text(da, &r),
                        a: Some(row_text(da, &r)),
                        b: None,
                        columns: Vec::new(),
                    })?;
                }
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                if let Some(r) = b.get(ib, &kb[j]) {
                    t.rows_only_b += 1;
                    on_row(&DifferingRow {
                        table: t.table.clone(),
                        status: RowStatus::OnlyB,
                        key: key_text(db, &r),
                        a: None,
                        b: Some(row_text(db, &r)),
                        columns: Vec::new(),
                    })?;
                }
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                if let (Some(x), Some(y)) = (a.get(ia, &ka[i]), b.get(ib, &kb[j])) {
                    let columns = column_diffs(da, &x, db, &y);
                    if !columns.is_empty() {
                        t.rows_different += 1;
                        on_row(&DifferingRow {
                            table: t.table.clone(),
                            status: RowStatus::Different,
                            key: key_text(da, &x),
                            a: Some(row_text(da, &x)),
                            b: Some(row_text(db, &y)),
                            columns,
                        })?;
                    }
                }
                i += 1;
                j += 1;
            }
        }
    }
    Ok(())
}

/// The primary key of `row` in `def`, encoded as the storage orders it.
pub fn encoded_key(def: &TableDef, row: &[Value<'static>]) -> Vec<u8> {
    primary_key(def, &row.to_vec())
}
