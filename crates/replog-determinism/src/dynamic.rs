//! The dynamic measurement: the log replayed on N replicas, each with its
//! own perturbed environment ([`crate::replica`]), the replicas compared
//! after every transaction.
//!
//! The log is decoded once, by a producer thread, into batches of
//! transactions shared (behind an [`Arc`]) with one thread per replica; a
//! replica sends back, per transaction, its outcome, the per-table digest
//! changes and the statements it executed with their row changes
//! ([`replog_store::CapturedStatement`]). The comparator (the calling
//! thread) compares each table's digest *delta* over the transaction, so
//! that a divergence is reported where it happens and not again at every
//! later transaction, and attributes a difference to the statement whose
//! row changes differ, with the primary keys of the differing rows and each
//! replica's value of them.
//!
//! A statement that differs only because it reads or rewrites rows that
//! had already diverged is marked `inherited`: it is counted as diverged,
//! but not as a statement the static analysis missed.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use replog_core::reader::{LogReader, ReaderOptions};
use replog_core::record::{Record, decode_record};
use replog_core::txn::{TxnEvent, TxnReader};
use replog_logical::LogicalRecord;
use replog_statement::StatementFormat;
use replog_store::dump::format_value;
use replog_store::replay::{Decoded, RowDecoder, captured_statement};
use replog_store::{
    CapturedStatement, CommittedTransaction, ConflictPolicy, MemStorage, Row, RowChange, Store,
    TableDef,
};
use serde::Serialize;

use crate::input::Error;
use crate::replica::{ReplicaEnv, ReplicaSpec, replica_specs};
use crate::report::{LogSource, Report, StatementPosition};

/// Transactions per batch handed to the replicas.
const BATCH: usize = 128;
/// Batches in flight per channel.
const IN_FLIGHT: usize = 4;
/// Differing rows listed per divergence.
const MAX_ROWS: usize = 10;

/// How to run the dynamic measurement.
#[derive(Debug, Clone)]
pub struct DynamicOptions {
    /// Number of replicas (at least 2 to compare anything; 1 replays only).
    pub replicas: usize,
    /// Seed of the replicas' environments ([`crate::replica::replica_specs`]).
    pub seed: u64,
    /// Replay as if the log carried no timestamps, RAND seeds, insert ids,
    /// LAST_INSERT_ID, user variable values or thread ids: each replica
    /// takes them from its own environment and session.
    pub ignore_context: bool,
    /// Pass over the statements about objects the store does not hold
    /// (stored routines, triggers, events, views, users, privileges),
    /// counted in [`DynamicSummary::unsupported_skipped`], instead of
    /// failing the transaction.
    pub skip_unsupported: bool,
}

impl Default for DynamicOptions {
    fn default() -> DynamicOptions {
        DynamicOptions {
            replicas: 5,
            seed: crate::replica::DEFAULT_SEED,
            ignore_context: false,
            skip_unsupported: false,
        }
    }
}

/// One row that differs between replicas after a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowAcrossReplicas {
    /// Its primary key, `col=value, …`.
    pub key: String,
    /// What each replica's statement made of it, by replica number: the row
    /// (`col=value, …`), `(deleted)` or `(not changed)`.
    pub values: Vec<String>,
}

/// A statement (or transaction) after which the replicas disagree.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicaDisagreement {
    /// Ordinal of the transaction among those replayed (1-based).
    pub transaction: u64,
    /// Its id: native txid, binlog GTID, or `file:position`.
    pub tx: String,
    /// The statement's position (the transaction's first statement when
    /// the difference could not be attributed to one).
    pub position: StatementPosition,
    /// Index of the statement in [`Report::statements`], when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_index: Option<usize>,
    /// The statement's SQL (empty for row events of a mixed binlog).
    pub sql: String,
    /// `db.table` whose rows differ (none when only the outcome differs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Replicas whose result differs from replica 0's.
    pub replicas: Vec<usize>,
    /// Differing rows (at most 10 listed).
    pub rows: Vec<RowAcrossReplicas>,
    /// How many rows differ in all.
    pub rows_total: usize,
    /// Per replica, the error the transaction failed with (when the
    /// outcomes differ).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Option<String>>,
    /// The difference follows from rows or tables that had already
    /// diverged (the statement reads or rewrites them).
    pub inherited: bool,
    /// Whether the static analysis flags the statement as unsafe.
    pub flagged: bool,
    /// The statement's ordinal among those replayed.
    #[serde(skip)]
    ordinal: Option<usize>,
}

/// A transaction after which replica 0's store digest (delta) is not the
/// one the log's COMMIT carries (native logs written with state digests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaderMismatch {
    /// Ordinal of the transaction (1-based).
    pub transaction: u64,
    /// Its id.
    pub tx: String,
    /// The COMMIT's digest (its delta once out of step).
    pub expected: u64,
    /// Replica 0's.
    pub actual: u64,
}

/// Counts of a dynamic run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DynamicSummary {
    /// Replicas.
    pub replicas: usize,
    /// The seed the replicas' environments were derived from.
    pub seed: u64,
    /// Whether the log's context was ignored.
    pub ignore_context: bool,
    /// Transactions replayed (committed ones).
    pub transactions: u64,
    /// Statements replayed.
    pub statements: u64,
    /// Transactions after which every replica agreed.
    pub transactions_identical: u64,
    /// `transactions_identical / transactions` (1 for an empty log).
    pub identical_share: f64,
    /// Transactions after which the replicas disagreed.
    pub transactions_diverged: u64,
    /// Statements after which the replicas disagreed.
    pub statements_diverged: u64,
    /// … of which only because of earlier divergence.
    pub statements_diverged_inherited: u64,
    /// Transactions that failed on every replica (the same way).
    pub transactions_failed: u64,
    /// Statements passed over with [`DynamicOptions::skip_unsupported`]
    /// (on replica 0), by statement kind (`CREATE TRIGGER` → count).
    pub unsupported_skipped: std::collections::BTreeMap<String, u64>,
    /// Unsafe (statically) and diverged.
    pub flagged_and_diverged: u64,
    /// Unsafe (statically) but identical on every replica in this run.
    pub flagged_but_stable: u64,
    /// Diverged (not inherited) although the static analysis found it
    /// safe: a bug in the analysis (or in the store).
    pub diverged_not_flagged: u64,
    /// StatementPosition of the first divergence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_divergence: Option<StatementPosition>,
    /// Transactions where replica 0 does not reach the log's own digest.
    pub leader_mismatches: u64,
}

/// The result of one dynamic run.
#[derive(Debug, Clone, Serialize)]
pub struct DynamicRun {
    /// Counts.
    pub summary: DynamicSummary,
    /// The replicas' environments.
    pub replicas: Vec<ReplicaSpec>,
    /// Every divergence, in log order.
    pub divergences: Vec<ReplicaDisagreement>,
    /// Transactions where replica 0 does not reach the log's digest (first
    /// 100).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leader_mismatches: Vec<LeaderMismatch>,
    /// Per statement of the report (by index): `Some(true)` diverged,
    /// `Some(false)` replayed identically, `None` not replayed.
    #[serde(skip)]
    pub statement_diverged: Vec<Option<bool>>,
}

impl DynamicRun {
    /// Whether any divergence (or leader mismatch) was found.
    pub fn diverged(&self) -> bool {
        !self.divergences.is_empty() || self.summary.leader_mismatches > 0
    }
}

/// A statement to replay with where it came from.
#[derive(Debug)]
struct StmtMeta {
    position: StatementPosition,
    /// Ordinal among the statements replayed (0-based).
    ordinal: usize,
}

/// One step of a transaction: statements replayed together, or the encoded
/// logical records of row events (mixed binlogs).
#[derive(Debug)]
enum Step {
    Statements(CommittedTransaction, Vec<StmtMeta>),
    Rows(Vec<Vec<u8>>),
}

/// One transaction, decoded once and shared by every replica.
#[derive(Debug)]
struct Tx {
    label: String,
    begin_us: i64,
    position: StatementPosition,
    steps: Vec<Step>,
    /// The COMMIT's `(state_before, state_after)`.
    expected: Option<(u64, u64)>,
}

impl Tx {
    fn metas(&self) -> impl Iterator<Item = &StmtMeta> {
        self.steps.iter().flat_map(|s| match s {
            Step::Statements(_, m) => m.as_slice(),
            Step::Rows(_) => &[],
        })
    }

    fn statements(&self) -> impl Iterator<Item = &CapturedStatement> {
        self.steps.iter().flat_map(|s| match s {
            Step::Statements(t, _) => t.statements.as_slice(),
            Step::Rows(_) => &[],
        })
    }
}

type Batch = Arc<Vec<Tx>>;

/// A table's digest before and after a transaction (`None`: absent).
#[derive(Debug, Clone)]
struct TableDelta {
    table: String,
    before: Option<u64>,
    after: Option<u64>,
}

impl TableDelta {
    /// What is compared: creation / drop and the digest change.
    fn signature(&self) -> (u8, u64) {
        match (self.before, self.after) {
            (Some(b), Some(a)) => (0, a.wrapping_sub(b)),
            (None, Some(a)) => (1, a),
            (Some(_), None) => (2, 0),
            (None, None) => (0, 0),
        }
    }
}

/// What a replica did with one transaction.
#[derive(Debug)]
struct TxResult {
    error: Option<String>,
    /// Statements passed over (`skip_unsupported`), by kind.
    skipped: Vec<String>,
    deltas: Vec<TableDelta>,
    statements: Vec<CapturedStatement>,
    digest: Option<(u64, u64)>,
}

fn sql_hash(sql: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    sql.hash(&mut h);
    h.finish()
}

/// Numbers the replayed statements and remembers a hash of their text, to
/// match them with the static report's statements afterwards.
#[derive(Debug, Default)]
struct Numbering {
    hashes: Vec<u64>,
}

impl Numbering {
    fn next(&mut self, sql: &str) -> usize {
        self.hashes.push(sql_hash(sql));
        self.hashes.len() - 1
    }

    /// For each replayed statement, its index in `report.statements`: by
    /// text, in order (a statement the report does not have stays
    /// unmatched).
    fn align(&self, report: &Report) -> Vec<Option<usize>> {
        let theirs: Vec<u64> = report.statements.iter().map(|s| sql_hash(&s.sql)).collect();
        let mut next = 0usize;
        self.hashes
            .iter()
            .map(|h| {
                let end = (next + 256).min(theirs.len());
                let i = (next..end).find(|&i| theirs[i] == *h)?;
                next = i + 1;
                Some(i)
            })
            .collect()
    }
}

/// Reads a native statement log into transactions.
fn produce_native(
    paths: &[PathBuf],
    align: &mut Numbering,
    emit: &mut dyn FnMut(Tx) -> bool,
) -> Result<(), Error> {
    let mut txns = TxnReader::new(LogReader::open(paths, ReaderOptions::default())?);
    while let Some(ev) = txns.next() {
        let TxnEvent::Transaction(t) = ev? else {
            continue;
        };
        let begin_us = t.begin.timestamp_us;
        let mut list = Vec::with_capacity(t.records().len());
        let mut metas = Vec::with_capacity(t.records().len());
        for r in t.records() {
            let Record::Data(st) = decode_record::<StatementFormat>(r.body, r.body_offset())?
            else {
                continue;
            };
            list.push(captured_statement(&st, begin_us));
            metas.push(StmtMeta {
                position: StatementPosition::Lsn { lsn: r.lsn },
                ordinal: align.next(st.sql),
            });
        }
        if list.is_empty() {
            continue;
        }
        if let [one] = list.as_mut_slice() {
            one.is_ddl = replog_store::script::is_ddl(&one.sql);
        }
        let c = &t.commit;
        let position = metas[0].position.clone();
        let tx = Tx {
            label: t.txid().to_string(),
            begin_us,
            position,
            steps: vec![Step::Statements(
                CommittedTransaction {
                    txid: t.txid(),
                    timestamp_us: begin_us,
                    statements: list,
                    state_before: c.state_before.unwrap_or(0),
                    state_after: c.state_after.unwrap_or(0),
                },
                metas,
            )],
            expected: c.state_before.zip(c.state_after),
        };
        if !emit(tx) {
            return Ok(());
        }
    }
    // Damage is not the end of the log.
    if let Some(d) = txns.intolerable() {
        return Err(d.to_error().into());
    }
    Ok(())
}

/// Reads MySQL / MariaDB binlogs through the importer: statements with the
/// context the binlog carried, row events (mixed binlogs) as logical
/// records, in binlog order.
fn produce_binlog(
    paths: &[PathBuf],
    align: &mut Numbering,
    emit: &mut dyn FnMut(Tx) -> bool,
) -> Result<(), Error> {
    let mut importer =
        replog_import::Importer::new(paths, &replog_import::ImportOptions::default());
    for tx in importer.by_ref() {
        let tx = tx?;
        let bodies = tx.logical_bodies().map_err(Error::Log)?;
        let mut steps: Vec<Step> = Vec::new();
        for part in tx.parts() {
            match part {
                replog_import::TxPart::Rows(r) => {
                    steps.push(Step::Rows(r.iter().map(|&i| bodies[i].clone()).collect()));
                }
                replog_import::TxPart::Statements(list) => {
                    let mut t = CommittedTransaction {
                        txid: tx.txid,
                        timestamp_us: tx.begin_timestamp_us,
                        statements: Vec::with_capacity(list.len()),
                        state_before: 0,
                        state_after: 0,
                    };
                    let mut metas = Vec::with_capacity(list.len());
                    for i in list {
                        let s = &tx.statements[i];
                        let mut cs = captured_statement(&s.as_statement(), tx.begin_timestamp_us);
                        cs.is_ddl = s.ddl;
                        t.statements.push(cs);
                        // The transaction's position until the statement is
                        // matched with the static report's QUERY event offset.
                        metas.push(StmtMeta {
                            position: StatementPosition::Binlog {
                                file: tx.file.clone(),
                                offset: tx.position,
                            },
                            ordinal: align.next(&s.sql),
                        });
                    }
                    steps.push(Step::Statements(t, metas));
                }
            }
        }
        if steps.is_empty() {
            continue;
        }
        let label = tx
            .gtid
            .clone()
            .unwrap_or_else(|| format!("{}:{}", tx.file, tx.position));
        let position = steps
            .iter()
            .find_map(|s| match s {
                Step::Statements(_, m) => m.first().map(|m| m.position.clone()),
                Step::Rows(_) => None,
            })
            .unwrap_or(StatementPosition::Binlog {
                file: tx.file.clone(),
                offset: tx.position,
            });
        let t = Tx {
            label,
            begin_us: tx.begin_timestamp_us,
            position,
            steps,
            expected: None,
        };
        if !emit(t) {
            return Ok(());
        }
    }
    Ok(())
}

/// One replica: its store, the table digests it last saw, its row decoder.
struct Replica {
    store: Store<MemStorage, ReplicaEnv>,
    digests: HashMap<(String, String), u64>,
    rows: RowDecoder,
    ignore_context: bool,
    skip_unsupported: bool,
    want_digest: bool,
}

fn quote_ident(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}

impl Replica {
    fn new(spec: &ReplicaSpec, ignore_context: bool, skip_unsupported: bool) -> Replica {
        Replica {
            store: Store::new(spec.env()),
            digests: HashMap::new(),
            rows: RowDecoder::default(),
            ignore_context,
            skip_unsupported,
            want_digest: spec.index == 0,
        }
    }

    /// A statement transaction without its captured context: only the
    /// default database is kept (a `USE` when it changes).
    fn replay_bare(
        &mut self,
        tx: &CommittedTransaction,
        skipped: &mut Vec<String>,
    ) -> replog_store::Result<()> {
        let skip = self.skip_unsupported;
        let mut passed_over =
            |s: &CapturedStatement| match replog_schema::objects::non_table_ddl(&s.sql) {
                Some(ddl) if skip => {
                    skipped.push(ddl.to_string());
                    true
                }
                _ => false,
            };
        let run = |store: &mut Store<MemStorage, ReplicaEnv>, s: &CapturedStatement| {
            if let Some(db) = &s.context.database
                && store.database() != Some(db.as_str())
            {
                // A database the statement itself creates does not exist yet.
                let _ = store.execute(&format!("USE {}", quote_ident(db)));
            }
            store.execute(&s.sql).map(|_| ())
        };
        if tx.is_ddl() {
            if passed_over(&tx.statements[0]) {
                return Ok(());
            }
            return run(&mut self.store, &tx.statements[0]);
        }
        self.store.execute("BEGIN")?;
        for s in &tx.statements {
            if passed_over(s) {
                continue;
            }
            if let Err(e) = run(&mut self.store, s) {
                let _ = self.store.execute("ROLLBACK");
                return Err(e);
            }
        }
        self.store.execute("COMMIT").map(|_| ())
    }

    /// Applies the row events of a mixed binlog.
    fn apply_rows(&mut self, bodies: &[Vec<u8>], begin_us: i64) -> Result<(), String> {
        let mut open = false;
        let result = (|| {
            for body in bodies {
                let rec = LogicalRecord::decode(body, 0).map_err(|e| e.to_string())?;
                match self
                    .rows
                    .decode(&self.store, rec, 0)
                    .map_err(|e| e.to_string())?
                {
                    // Objects without rows change no replica's tables.
                    Decoded::Nothing | Decoded::NonTable(_) => {}
                    Decoded::Ddl { database, sql } => {
                        if open {
                            open = false;
                            self.store.apply_end(true).map_err(|e| e.to_string())?;
                        }
                        self.store
                            .apply_ddl(database, sql, begin_us)
                            .map_err(|e| e.to_string())?;
                    }
                    Decoded::Mismatch(m) => return Err(m),
                    Decoded::Table(def) => {
                        self.store.apply_table(def).map_err(|e| e.to_string())?;
                    }
                    Decoded::Changes(changes) => {
                        if !open {
                            self.store.apply_begin(begin_us);
                            open = true;
                        }
                        for c in &changes {
                            match self.store.apply_row_change(c, ConflictPolicy::Abort) {
                                Ok(None) => {}
                                Ok(Some(conflict)) => return Err(format!("{conflict:?}")),
                                Err(e) => return Err(e.to_string()),
                            }
                        }
                    }
                }
            }
            Ok(())
        })();
        if open {
            let r = self.store.apply_end(result.is_ok());
            if result.is_ok() {
                r.map_err(|e| e.to_string())?;
            }
        }
        drop(self.store.take_committed());
        result
    }

    fn transaction(&mut self, tx: &Tx) -> TxResult {
        let before = self
            .want_digest
            .then(|| tx.expected.map(|_| self.store.digest()))
            .flatten();
        let mut error = None;
        let mut all_tables = false;
        let mut statements = Vec::new();
        let mut skipped = Vec::new();
        for step in &tx.steps {
            let r = match step {
                Step::Statements(t, _) => {
                    let r = if self.ignore_context {
                        self.replay_bare(t, &mut skipped)
                    } else {
                        self.store
                            .replay_transaction_skipping(t, self.skip_unsupported)
                            .map(|passed| skipped.extend(passed.iter().map(|d| d.to_string())))
                    };
                    for c in self.store.take_committed() {
                        statements.extend(c.statements);
                    }
                    all_tables |= t.statements.iter().any(|s| s.is_ddl);
                    r.map_err(|e| e.to_string())
                }
                Step::Rows(bodies) => {
                    all_tables = true;
                    self.apply_rows(bodies, tx.begin_us)
                }
            };
            if let Err(e) = r {
                error = Some(e);
                all_tables = true;
                break;
            }
        }
        let mut names: Vec<(String, String)> = if all_tables {
            let mut n: BTreeSet<(String, String)> = self.store.table_names().into_iter().collect();
            n.extend(self.digests.keys().cloned());
            n.into_iter().collect()
        } else {
            let mut n = BTreeSet::new();
            for s in &statements {
                for c in &s.changes {
                    let t = c.table();
                    if !n.contains(&(t.database.as_str(), t.name.as_str())) {
                        n.insert((t.database.as_str(), t.name.as_str()));
                    }
                }
            }
            n.into_iter()
                .map(|(d, t)| (d.to_string(), t.to_string()))
                .collect()
        };
        let mut deltas = Vec::new();
        for key in names.drain(..) {
            let after = self.store.table_digest(&key.0, &key.1).ok();
            let before = self.digests.get(&key).copied();
            if after != before {
                deltas.push(TableDelta {
                    table: format!("{}.{}", key.0, key.1),
                    before,
                    after,
                });
                match after {
                    Some(a) => {
                        self.digests.insert(key, a);
                    }
                    None => {
                        self.digests.remove(&key);
                    }
                }
            }
        }
        TxResult {
            error,
            skipped,
            deltas,
            statements,
            digest: before.map(|b| (b, self.store.digest())),
        }
    }
}

fn worker(
    spec: &ReplicaSpec,
    (ignore_context, skip_unsupported): (bool, bool),
    rx: Receiver<Batch>,
    tx: SyncSender<Vec<TxResult>>,
    recycle: Receiver<Vec<TxResult>>,
) {
    // A panic in the store ends this replica only: its channels close and
    // the comparator reports "a replica stopped early" as an error.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut r = Replica::new(spec, ignore_context, skip_unsupported);
        for batch in rx {
            // Results the comparator is done with are freed here, by the
            // thread that allocated them (cheaper for the allocator).
            while let Ok(old) = recycle.try_recv() {
                drop(old);
            }
            let out: Vec<TxResult> = batch.iter().map(|t| r.transaction(t)).collect();
            if tx.send(out).is_err() {
                return;
            }
        }
    }));
}

fn key_text(def: &TableDef, row: &Row) -> String {
    if def.primary_key.is_empty() {
        return row_text(def, row);
    }
    def.primary_key
        .iter()
        .filter_map(|&i| Some((def.columns.get(i)?, row.get(i)?)))
        .map(|(c, v)| format!("{}={}", c.name, format_value(v, &c.ty)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn row_text(def: &TableDef, row: &Row) -> String {
    def.columns
        .iter()
        .zip(row)
        .map(|(c, v)| format!("{}={}", c.name, format_value(v, &c.ty)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The net effect of a statement on `table`: key → row after it (`None`:
/// deleted).
fn effects(st: Option<&CapturedStatement>, table: &str) -> BTreeMap<String, Option<String>> {
    let mut m = BTreeMap::new();
    let Some(st) = st else { return m };
    for c in &st.changes {
        let def = c.table();
        if def.qualified_name() != table {
            continue;
        }
        match c {
            RowChange::Insert { row, .. } => {
                m.insert(key_text(def, row), Some(row_text(def, row)));
            }
            RowChange::Update { before, after, .. } => {
                let (kb, ka) = (key_text(def, before), key_text(def, after));
                if kb != ka {
                    m.insert(kb, None);
                }
                m.insert(ka, Some(row_text(def, after)));
            }
            RowChange::Delete { before, .. } => {
                m.insert(key_text(def, before), None);
            }
            RowChange::Truncate { .. } => {
                m.clear();
                m.insert("(every row)".into(), None);
            }
        }
    }
    m
}

/// Pairs the statements a replica executed with the transaction's, by SQL
/// text in order.
fn align_executed<'a>(
    input: &[&CapturedStatement],
    executed: &'a [CapturedStatement],
) -> Vec<Option<&'a CapturedStatement>> {
    let mut out = Vec::with_capacity(input.len());
    let mut j = 0;
    for s in input {
        match executed[j..].iter().position(|e| e.sql == s.sql) {
            Some(k) => {
                out.push(Some(&executed[j + k]));
                j += k + 1;
            }
            None => out.push(None),
        }
    }
    out
}

/// Whether `sql` names table `name` (the part after the database) as a word.
fn mentions(sql: &str, name: &str) -> usize {
    let lower = sql.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut from = 0;
    let mut n = 0;
    while let Some(i) = lower[from..].find(&name) {
        let at = from + i;
        let end = at + name.len();
        let before_ok = lower[..at].chars().next_back().is_none_or(|c| !ident(c));
        let after_ok = lower[end..].chars().next().is_none_or(|c| !ident(c));
        if before_ok && after_ok {
            n += 1;
        }
        from = end;
    }
    n
}

/// Compares the replicas' results transaction by transaction.
struct Comparator {
    n: usize,
    /// Per replayed statement (by ordinal): whether it diverged.
    replayed_diverged: Vec<bool>,
    ordinal: u64,
    run: DynamicRun,
    tainted_rows: HashMap<String, HashSet<String>>,
    tainted_tables: HashSet<String>,
    leader_in_sync: bool,
}

impl Comparator {
    /// Whether a divergence of `sql` on `table` (rows `keys`; none when it
    /// could not be attributed to rows) may come from an earlier one: the
    /// table diverged as a whole, one of the rows had already diverged, or
    /// the statement reads a table with diverged rows (another one, or its
    /// own when it names it more than once, as `INSERT … SELECT … FROM`
    /// itself does). A statement whose differing rows were identical on
    /// every replica and that reads no diverged table diverges on its own.
    fn is_inherited(&self, sql: &str, table: &str, keys: &[String]) -> bool {
        if self.tainted_tables.contains(table)
            || self
                .tainted_rows
                .get(table)
                .is_some_and(|t| keys.iter().any(|k| t.contains(k)))
        {
            return true;
        }
        let short = |t: &str| t.rsplit('.').next().unwrap_or(t).to_string();
        let own = short(table);
        self.tainted_tables
            .iter()
            .chain(self.tainted_rows.keys())
            .any(|t| {
                let name = short(t);
                if name.eq_ignore_ascii_case(&own) {
                    keys.is_empty() || mentions(sql, &name) > 1
                } else {
                    mentions(sql, &name) > 0
                }
            })
    }

    /// A disagreement not attributed to one statement of transaction `tx`
    /// (whose statements are `metas`): placed at its first statement,
    /// with `sql`, and nothing else yet.
    fn whole_transaction(&self, tx: &Tx, metas: &[&StmtMeta], sql: String) -> ReplicaDisagreement {
        ReplicaDisagreement {
            transaction: self.ordinal,
            tx: tx.label.clone(),
            position: tx.position.clone(),
            statement_index: None,
            ordinal: metas.first().map(|m| m.ordinal),
            sql,
            table: None,
            replicas: Vec::new(),
            rows: Vec::new(),
            rows_total: 0,
            errors: Vec::new(),
            inherited: false,
            flagged: false,
        }
    }

    fn transaction(&mut self, tx: &Tx, results: &[&TxResult]) {
        self.ordinal += 1;
        let metas: Vec<&StmtMeta> = tx.metas().collect();
        let inputs: Vec<&CapturedStatement> = tx.statements().collect();
        self.run.summary.transactions += 1;
        self.run.summary.statements += inputs.len() as u64;
        self.replayed_diverged.resize(
            metas
                .iter()
                .map(|m| m.ordinal + 1)
                .max()
                .unwrap_or(0)
                .max(self.replayed_diverged.len()),
            false,
        );
        // Replica 0 against the log's own digests.
        if let (Some((eb, ea)), Some((b, a))) = (tx.expected, results[0].digest) {
            let (expected, actual) = if self.leader_in_sync {
                (ea, a)
            } else {
                (ea.wrapping_sub(eb), a.wrapping_sub(b))
            };
            if a == ea {
                self.leader_in_sync = true;
            } else if expected != actual {
                self.leader_in_sync = false;
                self.run.summary.leader_mismatches += 1;
                if self.run.leader_mismatches.len() < 100 {
                    self.run.leader_mismatches.push(LeaderMismatch {
                        transaction: self.ordinal,
                        tx: tx.label.clone(),
                        expected,
                        actual,
                    });
                }
            }
        }
        let before = self.run.divergences.len();
        // Outcomes.
        for kind in &results[0].skipped {
            *self
                .run
                .summary
                .unsupported_skipped
                .entry(kind.clone())
                .or_default() += 1;
        }
        let failed: Vec<bool> = results.iter().map(|r| r.error.is_some()).collect();
        if failed.iter().all(|f| *f) {
            self.run.summary.transactions_failed += 1;
        }
        if failed.iter().any(|f| *f != failed[0]) {
            let sql = inputs.first().map(|s| s.sql.clone()).unwrap_or_default();
            let d = ReplicaDisagreement {
                replicas: (1..self.n).filter(|&r| failed[r] != failed[0]).collect(),
                errors: results.iter().map(|r| r.error.clone()).collect(),
                inherited: !self.tainted_tables.is_empty() || !self.tainted_rows.is_empty(),
                ..self.whole_transaction(tx, &metas, sql)
            };
            self.run.divergences.push(d);
        }
        // Tables whose digest delta differs.
        let mut tables: BTreeSet<&str> = BTreeSet::new();
        for r in results {
            tables.extend(r.deltas.iter().map(|d| d.table.as_str()));
        }
        let sig = |r: &TxResult, t: &str| {
            r.deltas
                .iter()
                .find(|d| d.table == t)
                .map_or((0, 0), TableDelta::signature)
        };
        let differing: Vec<String> = tables
            .into_iter()
            .filter(|t| {
                let s0 = sig(results[0], t);
                results[1..].iter().any(|r| sig(r, t) != s0)
            })
            .map(str::to_string)
            .collect();
        if !differing.is_empty() {
            let executed: Vec<Vec<Option<&CapturedStatement>>> = results
                .iter()
                .map(|r| align_executed(&inputs, &r.statements))
                .collect();
            for table in &differing {
                let mut attributed = false;
                for (j, meta) in metas.iter().enumerate() {
                    let eff: Vec<BTreeMap<String, Option<String>>> =
                        executed.iter().map(|e| effects(e[j], table)).collect();
                    if eff.iter().all(|e| *e == eff[0]) {
                        continue;
                    }
                    attributed = true;
                    let keys: BTreeSet<&String> = eff.iter().flat_map(|e| e.keys()).collect();
                    let show = |v: Option<&Option<String>>| match v {
                        Some(Some(row)) => row.clone(),
                        Some(None) => "(deleted)".to_string(),
                        None => "(not changed)".to_string(),
                    };
                    let diff_keys: Vec<String> = keys
                        .into_iter()
                        .filter(|k| eff.iter().any(|e| e.get(*k) != eff[0].get(*k)))
                        .cloned()
                        .collect();
                    let rows: Vec<RowAcrossReplicas> = diff_keys
                        .iter()
                        .take(MAX_ROWS)
                        .map(|k| RowAcrossReplicas {
                            key: k.clone(),
                            values: eff.iter().map(|e| show(e.get(k))).collect(),
                        })
                        .collect();
                    let sql = &inputs[j].sql;
                    let inherited = self.is_inherited(sql, table, &diff_keys);
                    self.run.divergences.push(ReplicaDisagreement {
                        transaction: self.ordinal,
                        tx: tx.label.clone(),
                        position: meta.position.clone(),
                        statement_index: None,
                        ordinal: Some(meta.ordinal),
                        sql: sql.clone(),
                        table: Some(table.clone()),
                        replicas: (1..self.n).filter(|&r| eff[r] != eff[0]).collect(),
                        rows,
                        rows_total: diff_keys.len(),
                        errors: Vec::new(),
                        inherited,
                        flagged: false,
                    });
                    let t = self.tainted_rows.entry(table.clone()).or_default();
                    t.extend(diff_keys);
                }
                if !attributed {
                    // DDL, row events, or the same row changes with other
                    // effects: reported for the transaction.
                    let sql = inputs.first().map(|s| s.sql.clone()).unwrap_or_default();
                    let inherited = self.is_inherited(&sql, table, &[]);
                    let s0 = sig(results[0], table);
                    let d = ReplicaDisagreement {
                        table: Some(table.clone()),
                        replicas: (1..self.n)
                            .filter(|&r| sig(results[r], table) != s0)
                            .collect(),
                        inherited,
                        ..self.whole_transaction(tx, &metas, sql)
                    };
                    self.run.divergences.push(d);
                    self.tainted_tables.insert(table.clone());
                }
            }
        }
        if self.run.divergences.len() > before {
            self.run.summary.transactions_diverged += 1;
            for d in &self.run.divergences[before..] {
                if let Some(o) = d.ordinal
                    && let Some(v) = self.replayed_diverged.get_mut(o)
                {
                    *v = true;
                }
            }
        } else {
            self.run.summary.transactions_identical += 1;
        }
    }

    /// Joins the run to the static report: statement indexes, binlog
    /// positions, the flags, and the agreement between the two.
    fn finish(mut self, numbering: &Numbering, report: &Report) -> DynamicRun {
        let map = numbering.align(report);
        for d in &mut self.run.divergences {
            d.statement_index = d.ordinal.and_then(|o| map.get(o).copied().flatten());
            if let Some(st) = d.statement_index.and_then(|i| report.statements.get(i)) {
                d.flagged = st.is_unsafe();
                d.position = st.position.clone();
            }
        }
        self.run.statement_diverged = vec![None; report.statements.len()];
        for (o, i) in map.iter().enumerate() {
            if let Some(i) = *i {
                let d = self.replayed_diverged.get(o).copied().unwrap_or(false);
                let e = self.run.statement_diverged[i].get_or_insert(false);
                *e |= d;
            }
        }
        let s = &mut self.run.summary;
        s.first_divergence = self.run.divergences.first().map(|d| d.position.clone());
        s.identical_share = if s.transactions == 0 {
            1.0
        } else {
            s.transactions_identical as f64 / s.transactions as f64
        };
        let mut seen = HashSet::new();
        let mut inherited_only: HashMap<StatementPosition, bool> = HashMap::new();
        for d in &self.run.divergences {
            let e = inherited_only.entry(d.position.clone()).or_insert(true);
            *e &= d.inherited;
            seen.insert(d.position.clone());
        }
        s.statements_diverged = seen.len() as u64;
        s.statements_diverged_inherited = inherited_only.values().filter(|v| **v).count() as u64;
        for (i, st) in report.statements.iter().enumerate() {
            let Some(div) = self.run.statement_diverged[i] else {
                continue;
            };
            let flagged = st.is_unsafe();
            match (flagged, div) {
                (true, true) => s.flagged_and_diverged += 1,
                (true, false) => s.flagged_but_stable += 1,
                (false, true) => {
                    if !inherited_only.get(&st.position).copied().unwrap_or(false) {
                        s.diverged_not_flagged += 1;
                    }
                }
                (false, false) => {}
            }
        }
        self.run
    }
}

/// The replicas' comparison before it is joined to the static report
/// ([`ReplicaRun::finish`]); see [`replay_on_replicas`].
pub struct ReplicaRun {
    cmp: Comparator,
    numbering: Numbering,
}

impl std::fmt::Debug for ReplicaRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaRun")
            .field("transactions", &self.cmp.run.summary.transactions)
            .field("divergences", &self.cmp.run.divergences.len())
            .finish()
    }
}

impl ReplicaRun {
    /// Joins the run to the static report of the same log (made with or
    /// without context, as the run was): statement indexes and positions,
    /// the flags, and the agreement counts.
    pub fn finish(self, report: &Report) -> DynamicRun {
        self.cmp.finish(&self.numbering, report)
    }
}

/// Replays the log `paths` (whose static report is `report`) on
/// `opts.replicas` replicas in parallel and compares them after every
/// transaction.
pub fn run_dynamic(
    paths: &[PathBuf],
    report: &Report,
    opts: &DynamicOptions,
) -> Result<DynamicRun, Error> {
    Ok(replay_on_replicas(paths, report.source, opts)?.finish(report))
}

/// The first half of [`run_dynamic`], which needs no static report (so the
/// static analysis can run meanwhile): replays the log `paths` of kind
/// `source` on the replicas and compares them.
pub fn replay_on_replicas(
    paths: &[PathBuf],
    source: LogSource,
    opts: &DynamicOptions,
) -> Result<ReplicaRun, Error> {
    replay_on_replicas_reporting(paths, source, opts, &mut |_| {})
}

/// [`replay_on_replicas`], calling `compared` on the calling thread with
/// the number of transactions compared so far after every batch (a
/// command shows it as progress).
pub fn replay_on_replicas_reporting(
    paths: &[PathBuf],
    source: LogSource,
    opts: &DynamicOptions,
    compared: &mut dyn FnMut(u64),
) -> Result<ReplicaRun, Error> {
    if paths.is_empty() {
        return Err(Error::NoInput);
    }
    let n = opts.replicas.max(1);
    let specs = replica_specs(n, opts.seed);
    let run = DynamicRun {
        summary: DynamicSummary {
            replicas: n,
            seed: opts.seed,
            ignore_context: opts.ignore_context,
            ..DynamicSummary::default()
        },
        replicas: specs.clone(),
        divergences: Vec::new(),
        leader_mismatches: Vec::new(),
        statement_diverged: Vec::new(),
    };
    let mut cmp = Comparator {
        n,
        replayed_diverged: Vec::new(),
        ordinal: 0,
        run,
        tainted_rows: HashMap::new(),
        tainted_tables: HashSet::new(),
        leader_in_sync: true,
    };
    let produced = std::thread::scope(|scope| -> Result<Numbering, Error> {
        let mut to_replicas = Vec::with_capacity(n);
        let mut from_replicas = Vec::with_capacity(n);
        let mut recycle = Vec::with_capacity(n);
        for spec in &specs {
            let (btx, brx) = sync_channel::<Batch>(IN_FLIGHT);
            let (rtx, rrx) = sync_channel::<Vec<TxResult>>(IN_FLIGHT);
            let (dtx, drx) = std::sync::mpsc::channel::<Vec<TxResult>>();
            let flags = (opts.ignore_context, opts.skip_unsupported);
            replog_store::deep::thread_builder(format!("replica-{}", spec.index))
                .spawn_scoped(scope, move || worker(spec, flags, brx, rtx, drx))
                .map_err(|e| Error::Dynamic(format!("starting a replica thread: {e}")))?;
            to_replicas.push(btx);
            from_replicas.push(rrx);
            recycle.push(dtx);
        }
        let (ctx, crx) = sync_channel::<Batch>(IN_FLIGHT * 4);
        let producer = scope.spawn(move || -> Result<Numbering, Error> {
            let mut align = Numbering::default();
            let mut batch = Vec::with_capacity(BATCH);
            let send = |batch: Vec<Tx>| -> bool {
                let b = Arc::new(batch);
                if ctx.send(b.clone()).is_err() {
                    return false;
                }
                to_replicas.iter().all(|t| t.send(b.clone()).is_ok())
            };
            let mut open = true;
            let mut emit = |t: Tx| {
                batch.push(t);
                if batch.len() >= BATCH {
                    open = send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
                open
            };
            match source {
                LogSource::StatementLog => produce_native(paths, &mut align, &mut emit)?,
                LogSource::Binlog => produce_binlog(paths, &mut align, &mut emit)?,
            }
            if open && !batch.is_empty() {
                send(batch);
            }
            Ok(align)
        });
        let mut done = 0u64;
        for batch in crx {
            done += batch.len() as u64;
            let mut results: Vec<Vec<TxResult>> = Vec::with_capacity(n);
            for r in &from_replicas {
                match r.recv() {
                    Ok(v) if v.len() == batch.len() => results.push(v),
                    Ok(_) => return Err(Error::Dynamic("a replica lost a transaction".into())),
                    Err(_) => return Err(Error::Dynamic("a replica stopped early".into())),
                }
            }
            for (i, tx) in batch.iter().enumerate() {
                let per: Vec<&TxResult> = results.iter().map(|r| &r[i]).collect();
                cmp.transaction(tx, &per);
            }
            for (r, back) in results.into_iter().zip(&recycle) {
                // A replica that has finished frees nothing more.
                let _ = back.send(r);
            }
            compared(done);
        }
        match producer.join() {
            Ok(r) => r,
            Err(_) => Err(Error::Dynamic("the log reader panicked".into())),
        }
    });
    let numbering = produced?;
    Ok(ReplicaRun { cmp, numbering })
}
