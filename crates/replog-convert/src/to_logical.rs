//! Statement → logical: execute on the reference store and capture the row
//! changes, the way a MySQL server produces row events.
//!
//! Two inputs:
//!
//! - a native **statement log** ([`statement_to_logical`]): every committed
//!   transaction's statements are replayed on an in-memory
//!   [`replog_store::Store`] with the context the log captured (timestamp,
//!   RAND seeds, INSERT_ID, LAST_INSERT_ID, user variables, default
//!   database);
//! - MySQL/MariaDB **binlogs** in any format ([`binlog_to_logical`]): a
//!   transaction's QUERY events are executed like statements and its row
//!   events are applied as they are, in binlog order, so a MIXED binlog
//!   becomes one logical log.
//!
//! The output is a native logical log with the input's transactions: the
//! same txids, BEGIN times, server ids and origins, and COMMIT times. Its
//! row images are the store's (full before-images), and its COMMITs carry
//! the store's digests before and after each transaction, so replaying the
//! output checks every transaction against the rows this conversion
//! produced. When the input carries the leader's digests and the store
//! ends a transaction elsewhere, that transaction is reported as a
//! divergence: the rows are the converter's, not the leader's.
//!
//! Nothing lossy happens silently. Statements whose rows depended on what
//! the converter's environment supplied rather than the log are listed
//! (SYSDATE(), UUID(), USER(), row visits without ORDER BY; RAND(),
//! LAST_INSERT_ID(), auto-increment values and user variables the log did
//! not capture; time functions without a captured timestamp), as are
//! digest divergences. The converter's environment is the default
//! [`SimEnvironment`] with the clock at each transaction's BEGIN time.
//!
//! Memory: the store holds the whole database the log builds (the same as a
//! follower), plus one transaction.

use crate::error::{Error, ErrorKind, Result};
use crate::to_statement::derived_options;
use replog_core::reader::{Damage, ReaderOptions, UncommittedTail};
use replog_core::recovery::RecoveryPolicy;
use replog_core::txn::{Transaction, TxnEvent, TxnInput, TxnSource};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, LogKind};
use replog_logical::LogicalRecord;
use replog_statement::Statement;
use replog_store::logwrite::{EncodedTransaction, LogicalEncoder, write_transaction};
use replog_store::replay::{Decoded, RowDecoder, captured_statement};
use replog_store::snapshot::AppliedPosition;
use replog_store::{
    CapturedStatement, CommittedTransaction, ConflictPolicy, MemStorage, SimEnvironment, Store,
};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

pub use replog_store::capture::{Dependence, DependentStatement, MAX_LISTED};

/// A transaction after which the store's digest is not the one the input
/// log's COMMIT carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DigestDivergence {
    /// Transaction id.
    pub txid: u64,
    /// LSN of the input's COMMIT.
    pub lsn: u64,
    /// The input's `state_after`.
    pub expected: u64,
    /// The store's digest after the transaction.
    pub actual: u64,
    /// True when both are the transaction's digest delta (`after −
    /// before`), compared after an earlier divergence.
    pub delta: bool,
}

/// A log that does not continue from the base's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StartMismatch {
    /// The first transaction converted.
    pub txid: u64,
    /// The digest its COMMIT says it starts from.
    pub log: u64,
    /// The base's digest.
    pub base: u64,
}

/// What a conversion to logical did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ToLogicalReport {
    /// Transactions converted.
    pub transactions: u64,
    /// Statements executed.
    pub statements: u64,
    /// Row changes taken over from row events (binlogs).
    pub row_events: u64,
    /// Row changes in the output (INSERT, UPDATE, DELETE, one per table of
    /// a TRUNCATE).
    pub row_changes: u64,
    /// Statements whose rows depended on the converter's environment
    /// (`dependent`, at most [`MAX_LISTED`]; `dependent_total`).
    #[serde(flatten)]
    pub dependence: Dependence,
    /// Transactions whose digest differs from the input's.
    pub divergences: Vec<DigestDivergence>,
    /// Transactions passed over because the base already holds them.
    pub already_in_base: u64,
    /// DDL about objects that hold no rows (stored routines, events, views,
    /// users, privileges; triggers only in row records), passed over, by
    /// statement kind (`CREATE PROCEDURE` → count).
    pub non_table_ddl: std::collections::BTreeMap<String, u64>,
    /// Statements about such objects the store would refuse (triggers),
    /// passed over with [`ExecOptions::skip_unsupported`], by kind.
    pub unsupported_skipped: std::collections::BTreeMap<String, u64>,
    /// The first converted transaction does not start from the base's
    /// digest: the log does not continue from the base.
    pub start_mismatch: Option<StartMismatch>,
    /// The open transaction at the end of the input, not converted.
    pub uncommitted: Option<UncommittedTail>,
    /// Damage the recovery policy accepted.
    pub damage: Vec<Damage>,
    /// The store's digest after the last transaction.
    pub final_state: Option<u64>,
}

impl ToLogicalReport {
    /// True when every row came from the log alone and matched the leader.
    pub fn exact(&self) -> bool {
        self.dependence.dependent_total == 0
            && self.divergences.is_empty()
            && self.start_mismatch.is_none()
    }
}

/// One piece of an input transaction, in execution order.
pub(crate) enum Step<'a> {
    /// Statements executed together (one transaction on the store).
    Statements(Vec<CapturedStatement>),
    /// Encoded logical records applied as row changes.
    Rows(Vec<&'a [u8]>),
}

/// The store, its logical encoder, and the report.
pub(crate) struct Executor {
    store: Store<MemStorage, SimEnvironment>,
    encoder: LogicalEncoder,
    rows: RowDecoder,
    pub(crate) report: ToLogicalReport,
    /// Whether the store is at the leader's digest.
    in_sync: bool,
    /// The base's position, until the first transaction is converted.
    start: Option<AppliedPosition>,
    /// [`ExecOptions::skip_unsupported`].
    skip_unsupported: bool,
}

/// How a log is executed on the reference store.
#[derive(Default)]
pub struct ExecOptions {
    /// The store the log continues from (`--base SNAPSHOT`); empty without.
    pub base: Option<Base>,
    /// Pass over the statements about objects the store does not hold
    /// that it would otherwise refuse (a trigger: its row changes are not
    /// in the log), counted in [`ToLogicalReport::unsupported_skipped`],
    /// instead of failing the conversion.
    pub skip_unsupported: bool,
}

/// The store a log continues from (`--base SNAPSHOT`): a snapshot's
/// position and contents ([`replog_store::snapshot::decode`]).
#[derive(Debug)]
pub struct Base {
    /// Where the snapshot stands in its leader's history.
    pub position: AppliedPosition,
    /// Its tables and rows.
    pub storage: MemStorage,
}

impl Base {
    /// Reads a snapshot file.
    pub fn load(path: &std::path::Path) -> Result<Base> {
        let bytes =
            std::fs::read(path).map_err(|e| Error::io(e, format!("reading {}", path.display())))?;
        let (position, storage) = replog_store::snapshot::decode(&bytes).map_err(|e| {
            Error::new(
                ErrorKind::Malformed,
                format!("{}: not a usable snapshot: {e}", path.display()),
            )
        })?;
        Ok(Base { position, storage })
    }
}

/// Where an input transaction came from.
pub(crate) struct TxMeta<'a> {
    pub(crate) begin: Begin<'a>,
    pub(crate) commit_us: i64,
    /// The leader's digests before and after the transaction, when the
    /// input has them.
    pub(crate) expected: Option<(u64, u64)>,
    /// LSN of the COMMIT (native input), for divergences.
    pub(crate) commit_lsn: u64,
    /// Position label for notes.
    pub(crate) position: String,
}

/// Whether `sql` names a time function that reads the statement time.
fn reads_statement_time(sql: &str) -> bool {
    let up = sql.to_ascii_uppercase();
    [
        "NOW(",
        "CURRENT_TIMESTAMP",
        "LOCALTIME",
        "CURDATE(",
        "CURRENT_DATE",
        "CURTIME(",
        "CURRENT_TIME",
        "UNIX_TIMESTAMP(",
    ]
    .iter()
    .any(|f| up.contains(f))
}

impl Executor {
    /// Whether the store starts from a base snapshot.
    pub(crate) fn continues_base(&self) -> bool {
        self.start.is_some()
    }

    /// The store's digest.
    pub(crate) fn digest(&self) -> u64 {
        self.store.digest()
    }

    pub(crate) fn new(opts: ExecOptions) -> Executor {
        let (storage, start) = match opts.base {
            Some(b) => (b.storage, Some(b.position)),
            None => (MemStorage::default(), None),
        };
        Executor {
            start,
            store: Store::with_storage(storage, SimEnvironment::default()),
            encoder: LogicalEncoder::new(1),
            rows: RowDecoder::default(),
            report: ToLogicalReport::default(),
            in_sync: true,
            skip_unsupported: opts.skip_unsupported,
        }
    }

    /// Executes one input transaction and encodes the rows it produced.
    pub(crate) fn transaction(
        &mut self,
        meta: &TxMeta<'_>,
        steps: Vec<Step<'_>>,
    ) -> Result<Option<EncodedTransaction>> {
        let before = self.store.digest();
        if let Some(p) = self.start {
            if p.last_txid > 0 && meta.begin.txid <= p.last_txid {
                self.report.already_in_base += 1;
                return Ok(None);
            }
            self.start = None;
            if let Some((leader_before, _)) = meta.expected
                && leader_before != before
            {
                self.report.start_mismatch = Some(StartMismatch {
                    txid: meta.begin.txid,
                    log: leader_before,
                    base: before,
                });
                self.in_sync = false;
            }
        }
        self.store.env_mut().set_now(meta.begin.timestamp_us);
        let mut statements: Vec<CapturedStatement> = Vec::new();
        let mut has_ddl = false;
        for step in steps {
            match step {
                Step::Statements(mut list) => {
                    // DDL about objects without rows: passed over and
                    // counted, except a trigger (whose row changes the
                    // log does not carry), left for the store to refuse.
                    list.retain(|st| match replog_schema::objects::non_table_ddl(&st.sql) {
                        Some(ddl) if st.is_ddl && !ddl.object.runs_on_statement_followers() => {
                            *self
                                .report
                                .non_table_ddl
                                .entry(ddl.to_string())
                                .or_default() += 1;
                            false
                        }
                        Some(ddl) if self.skip_unsupported => {
                            *self
                                .report
                                .unsupported_skipped
                                .entry(ddl.to_string())
                                .or_default() += 1;
                            false
                        }
                        _ => true,
                    });
                    if list.is_empty() {
                        continue;
                    }
                    let carried: Vec<CapturedStatement> = list.clone();
                    self.report.statements += list.len() as u64;
                    let tx = CommittedTransaction {
                        txid: meta.begin.txid,
                        timestamp_us: meta.begin.timestamp_us,
                        statements: list,
                        state_before: 0,
                        state_after: 0,
                    };
                    if let Err(e) = self.store.replay_transaction(&tx) {
                        return Err(Error::new(
                            ErrorKind::CannotConvert,
                            format!(
                                "{}: transaction {} failed on the reference store: {e}",
                                meta.position, meta.begin.txid
                            ),
                        ));
                    }
                    let executed: Vec<CapturedStatement> = self
                        .store
                        .take_committed()
                        .into_iter()
                        .flat_map(|t| t.statements)
                        .collect();
                    for (i, st) in executed.iter().enumerate() {
                        has_ddl |= st.is_ddl;
                        let input = carried
                            .get(i)
                            .filter(|c| c.sql == st.sql)
                            .or_else(|| carried.iter().find(|c| c.sql == st.sql));
                        self.note_dependence(meta, st, input);
                    }
                    statements.extend(executed);
                }
                Step::Rows(bodies) => {
                    let changes = self.apply_rows(meta, &bodies, &mut has_ddl)?;
                    if !changes.is_empty() {
                        statements.push(CapturedStatement {
                            sql: String::new(),
                            context: Default::default(),
                            is_ddl: false,
                            changes,
                            unsafe_reasons: Vec::new(),
                        });
                    }
                }
            }
        }
        let after = self.store.digest();
        if let Some((leader_before, leader_after)) = meta.expected {
            // Compared whole while in step with the leader, then by the
            // transaction's own delta (one divergence is reported once).
            let (expected, actual) = if self.in_sync {
                (leader_after, after)
            } else {
                (
                    leader_after.wrapping_sub(leader_before),
                    after.wrapping_sub(before),
                )
            };
            if expected != actual {
                self.report.divergences.push(DigestDivergence {
                    txid: meta.begin.txid,
                    lsn: meta.commit_lsn,
                    expected,
                    actual,
                    delta: !self.in_sync,
                });
            }
            self.in_sync = leader_after == after;
        }
        let tx = CommittedTransaction {
            txid: meta.begin.txid,
            timestamp_us: meta.begin.timestamp_us,
            statements,
            state_before: before,
            state_after: after,
        };
        self.report.row_changes += tx
            .statements
            .iter()
            .map(|s| s.changes.len() as u64)
            .sum::<u64>();
        let schema = has_ddl.then(|| self.store.table_defs());
        let mut enc = self.encoder.encode(&tx, schema.as_deref())?;
        enc.server_id = meta.begin.server_id;
        enc.origin = meta.begin.origin.to_string();
        enc.begin_us = meta.begin.timestamp_us;
        enc.commit.timestamp_us = meta.commit_us;
        self.report.transactions += 1;
        self.report.final_state = Some(after);
        Ok(Some(enc))
    }

    /// Applies row-event records (RELATION, INSERT, UPDATE, DELETE,
    /// TRUNCATE) as one store transaction; returns the changes applied.
    fn apply_rows(
        &mut self,
        meta: &TxMeta<'_>,
        bodies: &[&[u8]],
        has_ddl: &mut bool,
    ) -> Result<Vec<replog_store::RowChange>> {
        let fail = |m: String| {
            Error::new(
                ErrorKind::CannotConvert,
                format!(
                    "{}: row event of transaction {}: {m}",
                    meta.position, meta.begin.txid
                ),
            )
        };
        let mut out = Vec::new();
        let mut open = false;
        for body in bodies {
            let rec = LogicalRecord::decode(body, 0)?;
            match self.rows.decode(&self.store, rec, 0)? {
                Decoded::Nothing => {}
                Decoded::NonTable(ddl) => {
                    *self
                        .report
                        .non_table_ddl
                        .entry(ddl.to_string())
                        .or_default() += 1;
                }
                Decoded::Ddl { database, sql } => {
                    // DDL travels as a statement; a DDL record here (a
                    // logical input) is executed in its own transaction.
                    if open {
                        self.store
                            .apply_end(true)
                            .map_err(|e| fail(e.to_string()))?;
                        open = false;
                    }
                    self.store
                        .apply_ddl(database, sql, meta.begin.timestamp_us)
                        .map_err(|e| fail(e.to_string()))?;
                    drop(self.store.take_committed());
                    *has_ddl = true;
                }
                Decoded::Table(def) => {
                    self.store
                        .apply_table(def)
                        .map_err(|e| fail(e.to_string()))?;
                }
                Decoded::Mismatch(m) => {
                    if open {
                        let _ = self.store.apply_end(false);
                    }
                    return Err(fail(m));
                }
                Decoded::Changes(changes) => {
                    if !open {
                        self.store.apply_begin(meta.begin.timestamp_us);
                        open = true;
                    }
                    for c in changes {
                        match self.store.apply_row_change(&c, ConflictPolicy::Abort) {
                            Ok(None) => {}
                            Ok(Some(conflict)) => {
                                let _ = self.store.apply_end(false);
                                return Err(fail(format!("conflict: {conflict}")));
                            }
                            Err(e) => {
                                let _ = self.store.apply_end(false);
                                return Err(fail(e.to_string()));
                            }
                        }
                        self.report.row_events += 1;
                        out.push(c);
                    }
                }
            }
        }
        if open {
            self.store
                .apply_end(true)
                .map_err(|e| fail(e.to_string()))?;
        }
        Ok(out)
    }

    /// Lists a statement whose result depended on what the converter
    /// supplied: `st` as executed (its context records what it used),
    /// `input` as the log carried it.
    fn note_dependence(
        &mut self,
        meta: &TxMeta<'_>,
        st: &CapturedStatement,
        input: Option<&CapturedStatement>,
    ) {
        if let Some(d) = DependentStatement::of(
            meta.begin.txid,
            || meta.position.clone(),
            st,
            input,
            "the converter",
        ) {
            self.report.dependence.note(d);
        }
    }
}

/// Converts a native statement log (the segments `inputs`, one log) to a
/// logical log written to `out`, by executing it on the reference store
/// (empty, or `base`: then transactions the base already holds, by txid,
/// are passed over, and the first one converted must start from the base's
/// digest when the log carries digests).
/// Damage the `policy` does not accept, a statement the store cannot
/// execute, or a non-statement input is an error; the caller discards
/// `out` then (write it through [`crate::atomic::AtomicFile`]).
pub fn statement_to_logical<W: Write>(
    inputs: impl TxnInput,
    policy: RecoveryPolicy,
    exec: ExecOptions,
    out: W,
) -> Result<(ToLogicalReport, W)> {
    let mut txns = inputs.open(ReaderOptions {
        policy,
        continue_after_damage: false,
        buffer_size: 0,
    })?;
    let mut exec = Executor::new(exec);
    let mut out = Some(out);
    let mut writer: Option<LogWriter<W>> = None;
    while let Some(ev) = txns.next() {
        match ev? {
            TxnEvent::Segment { header, name, .. } => {
                if header.kind != LogKind::Statement {
                    return Err(Error::new(
                        ErrorKind::Mismatch,
                        format!("{name}: a {} log, not a statement log", header.kind),
                    ));
                }
                if let Some(o) = out.take() {
                    let mut opts = derived_options(header, LogKind::Logical, b"statement->logical");
                    if exec.start.is_some() {
                        // The output continues from the base.
                        opts.start_state = Some(exec.store.digest());
                    }
                    writer = Some(LogWriter::new(o, &opts)?);
                }
            }
            TxnEvent::Damage(d) => {
                crate::error::stop_unless_tolerated(d)?;
                exec.report.damage.push(d.clone());
            }
            TxnEvent::Transaction(t) => {
                let c = &t.commit;
                let begin_us = t.begin.timestamp_us;
                let mut list = Vec::with_capacity(t.records().len());
                for r in t.records() {
                    let st = Statement::decode(r.body, 0)
                        .map_err(|e| Error::from(e).at(r.lsn, r.offset))?;
                    // Without a timestamp the statement runs at the
                    // BEGIN time (noted below when it reads the time).
                    let cs = captured_statement(&st, begin_us);
                    list.push((cs, st.context.timestamp_us.is_none()));
                }
                let meta = TxMeta {
                    begin: t.begin,
                    commit_us: c.timestamp_us,
                    expected: c.state_before.zip(c.state_after),
                    commit_lsn: t.commit_lsn,
                    position: format!("LSN {}", t.record(0).map_or(t.commit_lsn, |r| r.lsn)),
                };
                let missing_time: Vec<bool> = list.iter().map(|(_, m)| *m).collect();
                let mut statements: Vec<CapturedStatement> =
                    list.into_iter().map(|(cs, _)| cs).collect();
                if let [one] = statements.as_mut_slice() {
                    one.is_ddl = replog_store::script::is_ddl(&one.sql);
                }
                let steps = if statements.is_empty() {
                    Vec::new()
                } else {
                    vec![Step::Statements(statements)]
                };
                let before_notes = exec.report.dependence.dependent_total;
                let Some(enc) = exec
                    .transaction(&meta, steps)
                    .map_err(|e| e.at(t.commit_lsn, t.commit_offset))?
                else {
                    continue;
                };
                if missing_time.iter().any(|m| *m) {
                    exec.note_missing_time(&meta, &t, &missing_time, before_notes);
                }
                let Some(w) = writer.as_mut() else {
                    return Err(Error::new(ErrorKind::Damage, "a frame before any segment"));
                };
                write_transaction(w, &enc)?;
            }
        }
    }
    crate::error::stop_if_intolerable(txns.intolerable())?;
    let Some(w) = writer else {
        return Err(Error::new(
            ErrorKind::Damage,
            "the input holds no valid segment",
        ));
    };
    exec.report.uncommitted = txns.summary().uncommitted.clone();
    Ok((exec.report, w.finish()?))
}

impl Executor {
    /// Adds "no timestamp in the log" to the notes of statements that read
    /// the statement time without a captured timestamp.
    fn note_missing_time(
        &mut self,
        meta: &TxMeta<'_>,
        tx: &Transaction<'_>,
        missing: &[bool],
        from: u64,
    ) {
        const WHY: &str = "statement time from the transaction's BEGIN (no timestamp in the log)";
        for (r, miss) in tx.records().zip(missing) {
            let lsn = r.lsn;
            let Ok(st) = Statement::decode(r.body, 0) else {
                continue;
            };
            if !*miss || !reads_statement_time(st.sql) {
                continue;
            }
            let sql = replog_store::capture::short_sql(st.sql);
            let listed = self
                .report
                .dependence
                .dependent
                .iter_mut()
                .skip(usize::try_from(from).unwrap_or(usize::MAX))
                .find(|d| d.txid == meta.begin.txid && d.sql == sql);
            match listed {
                Some(d) => d.reasons.push(WHY.into()),
                None => self.report.dependence.note(DependentStatement {
                    txid: meta.begin.txid,
                    position: format!("LSN {lsn}"),
                    sql,
                    reasons: vec![WHY.into()],
                }),
            }
        }
    }
}

/// Converts MySQL/MariaDB binlogs of one server (`paths`, in order) to a
/// logical log written to `out`: QUERY events are executed on the
/// reference store with the context the binlog captured, row events are
/// applied as logged, in binlog order (so a MIXED binlog yields one log).
/// The store starts empty, or from `base`: the binlogs must create what
/// they change, or continue from the base. A writer over
/// [`crate::source::BinlogSource`] (the one place binlogs are executed).
/// `seen` is shown each transaction once it is written (progress).
pub fn binlog_to_logical<W: Write>(
    paths: &[PathBuf],
    exec: ExecOptions,
    out: W,
    seen: impl FnMut(&Transaction<'_>),
) -> Result<(ToLogicalReport, replog_import::ImportReport, W)> {
    let input = crate::source::BinlogInput::unclassified(paths);
    binlog_input_to_logical(input, exec, out, seen)
}

/// [`binlog_to_logical`] of binlogs however they come (files, a server's,
/// standard input).
pub fn binlog_input_to_logical<W: Write>(
    input: crate::source::BinlogInput,
    exec: ExecOptions,
    out: W,
    mut seen: impl FnMut(&Transaction<'_>),
) -> Result<(ToLogicalReport, replog_import::ImportReport, W)> {
    let mut source = input.open_executed(exec);
    let h = source.producer().header();
    let mut opts = WriterOptions::new(LogKind::Logical);
    opts.log_id = h.log_id;
    opts.salt = h.salt;
    opts.start_state = h.start_state;
    let mut w = LogWriter::new(out, &opts)?;
    while let Some(ev) = source.next() {
        if let TxnEvent::Transaction(t) = ev? {
            w.write_transaction(&t)?;
            seen(&t);
        }
    }
    let (import, exec) = source.into_producer().into_reports();
    Ok((exec.unwrap_or_default(), import, w.finish()?))
}

crate::error::input_end!(ToLogicalReport);

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(sql: &str, is_ddl: bool) -> CapturedStatement {
        CapturedStatement {
            sql: sql.into(),
            context: replog_store::StatementContext {
                database: Some("d".into()),
                ..Default::default()
            },
            is_ddl,
            changes: Vec::new(),
            unsafe_reasons: Vec::new(),
        }
    }

    fn run(exec: &mut Executor, txid: u64, sql: &str, is_ddl: bool) -> Result<()> {
        let meta = TxMeta {
            begin: Begin {
                txid,
                timestamp_us: 0,
                server_id: 1,
                origin: "",
            },
            commit_us: 0,
            expected: None,
            commit_lsn: 0,
            position: format!("transaction {txid}"),
        };
        exec.transaction(&meta, vec![Step::Statements(vec![statement(sql, is_ddl)])])
            .map(|_| ())
    }

    /// A trigger's DDL stops the conversion (its row changes are not in
    /// the log) unless `skip_unsupported`, which passes it over, counted
    /// apart from the routines' DDL passed over always.
    #[test]
    fn a_trigger_stops_the_conversion_unless_skipped() {
        for skip in [false, true] {
            let mut exec = Executor::new(ExecOptions {
                base: None,
                skip_unsupported: skip,
            });
            run(&mut exec, 1, "CREATE DATABASE d", true).unwrap();
            run(&mut exec, 2, "CREATE TABLE d.t (id INT PRIMARY KEY)", true).unwrap();
            run(&mut exec, 3, "CREATE PROCEDURE d.p() SELECT 1", true).unwrap();
            let trigger = run(
                &mut exec,
                4,
                "CREATE TRIGGER d.tr AFTER INSERT ON d.t FOR EACH ROW SET @x = 1",
                true,
            );
            assert_eq!(exec.report.non_table_ddl["CREATE PROCEDURE"], 1);
            if skip {
                trigger.unwrap();
                assert_eq!(exec.report.unsupported_skipped["CREATE TRIGGER"], 1);
                run(&mut exec, 5, "INSERT INTO d.t VALUES (1)", false).unwrap();
                assert_eq!(exec.report.row_changes, 1);
            } else {
                let e = trigger.unwrap_err().to_string();
                assert!(e.contains("unsupported: CREATE TRIGGER"), "{e}");
                assert!(exec.report.unsupported_skipped.is_empty());
            }
        }
    }
}
