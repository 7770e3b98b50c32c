//! `replog replay`: apply a native statement or logical log to a reference
//! store as a follower, or rebuild one from a physical WAL by page redo,
//! checking every COMMIT's state digest.

use crate::Verdict;
use crate::cmd::common::parse_time;
use crate::input::Inputs;
use crate::output::{OutputFormat, json_doc, table};
use anyhow::{Result, bail};
use replog_core::LogKind;
use replog_core::reader::ReaderOptions;
use replog_core::recovery::RecoveryPolicy;
use replog_core::segment::hex;
use replog_core::txn::TxnInput;
use replog_core::writer::Durability;
use replog_follower::{PageFollower, PhysicalReplay};
use replog_pagestore::DirRecovery;
use replog_store::replay::{ReplayOptions, ReplayReport, Until, replay_source};
use replog_store::snapshot::{self, AppliedPosition};
use replog_store::storage::Storage;
use replog_store::{ConflictPolicy, Environment, Store};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

const HELP: &str = "\
Examples:
  replog replay /tmp/dml/logical --memory
  replog replay /tmp/dml/statement --memory --dump
  replog replay log/ --memory --until txid:12        # stop after transaction 12
  replog replay log/ --memory --until '2023-11-14 22:13:21'
  replog replay log/ --memory --until lsn:4096       # commits before LSN 4096
  replog replay log/ --store follower/               # apply into a page store
  replog replay log/ --store follower/               # later: catch up from it
  replog snapshot follower/ -o f.snapshot
  replog replay log/ --store new/ --from-snapshot f.snapshot   # a new follower
  replog replay log/ --store follower/ --durability os  # no fsync per commit
  replog replay log/ --memory --on-conflict overwrite --format json
  replog replay mariadb-bin.000001 --memory --skip-unsupported
  replog replay /tmp/dml/physical --memory --dump   # page redo of the WAL
  replog replay 'postgres://rep@127.0.0.1:5432/app?slot=s&publication=p' --store follower/

The kind of log (statement, logical or physical) is read from its segment
header.

A physical log (the page engine's WAL, `replog record --formats physical`)
is replayed by redo: every committed transaction's page records are applied
to empty pages (up to --until), then the catalog and every tree are loaded
and checked (order, row decoding, row counts, table digests, unique
indexes). After every COMMIT the digest of the redone catalog is compared
with the COMMIT's state_after, and state_before with the previous
state_after. The page size is the log's (--page-size, if given, must equal
it); a log of another page format or page size is refused (exit 2). A
torn tail or an uncommitted transaction at the end is reported and not
applied. --on-conflict and --keep-going do not apply. With --store DIR the
rebuilt store's contents are written into DIR as a new page store, in one
transaction of its WAL with the position (which names the physical log, so
the statement or logical log of the same leader can catch up from it by
txid); DIR must not hold a store yet, since a physical log is redone from
its start and cannot continue a store.

Statement and logical logs: transactions are
applied one at a time when their COMMIT is read; an uncommitted tail is
reported and not applied. After each transaction the store's digest is
compared with the COMMIT's state_after: a difference is a divergence (the
transaction and its COMMIT's LSN are named) and stops replay unless
--keep-going (later transactions are then compared by their own digest
delta).

Conflicts (logical logs: a duplicate key on insert, a missing row, a row
that differs from the before-image):
  abort      stop; the transaction is rolled back, the store stays at the
             last committed transaction (default)
  skip       leave the follower's row alone and go on (reported)
  overwrite  force the leader's image: replace colliding rows, insert a
             missing updated row, apply despite a before-image mismatch
A statement that fails on replay stops replay; with skip, a statement
transaction that fails with a duplicate key is skipped (reported).
Statements about objects the store does not hold (CREATE/ALTER/DROP
PROCEDURE, FUNCTION, TRIGGER, EVENT, VIEW; users, GRANT) stop a statement
log's replay as `unsupported: CREATE TRIGGER at statement N`, at the
transaction's position; --skip-unsupported passes them over and counts
them (the rest of their transaction is applied; what a skipped trigger
would have changed is missing, which a digest check reports).
Statement logs carry no row images, so overwrite is refused for them.

--store DIR keeps the follower in DIR as a page store (formats/store.md
§11): DIR/wal/ is the store's own physical WAL, and the store is what
redo of that WAL gives. A new DIR is created (pages of --page-size bytes,
default 8192). An existing one is recovered first: its committed
transactions are redone and checked; whatever follows the last COMMIT (a
transaction cut short by a crash, a torn or garbled last frame) is cut
from the files and reported; damage with valid frames after it is refused
(exit 2), as is a WAL of another page format or page size. Each applied
transaction is one transaction of the store's WAL, and the follower's
position (source log, LSN just past the applied COMMIT, txid, digest) is
written in that same transaction: after a crash the store holds exactly
the transactions up to its position, never part of one. Re-running
catches up from there: transactions the store has are passed over (by
LSN for the same log, by txid for another log of the same leader), and
the first new one must start from its digest (else replay stops, unless
--keep-going). A store made from one log can catch up from the other log
of the same leader. `replog dump DIR` prints it; `replog replay DIR/wal
--memory` redoes its WAL. Opening starts from DIR/pages.image, the
committed pages at a checkpoint (rewritten atomically as the WAL grows), and
redoes only the WAL from the segment (4 MiB) holding its position on.

Durability (--durability, with --store): commit (the default) fdatasyncs
each COMMIT of the store's WAL before the next transaction is applied, so
an applied transaction survives a power loss; os hands it to the
operating system (it survives a crash of replog, not of the machine).

From a PostgreSQL server, a URL
postgres://USER@HOST:PORT/DBNAME?slot=SLOT&publication=PUB[&proto=N][&streaming=on][&create=1]
(HOST may be an escaped unix socket directory; create=1 makes the slot and
the publication FOR ALL TABLES when missing; the password from
--password-file, PGPASSWORD or ~/.pgpass; formats/pg-replication.md):
the slot's pgoutput stream is applied up to the server's WAL end at the
start. The store's position is the end LSN of the last applied transaction,
and streaming resumes there (nothing is applied twice or lost after a
kill); each transaction is confirmed to the server only once the store has
committed it. A store following another server, database or slot, or a
slot already confirmed past the store's position, is refused.

A DIR holding store.snapshot (the snapshot file of earlier versions,
formats/store.md §10) keeps that format: it is loaded, caught up, and
rewritten atomically (temporary file, fsync, rename) at the end.

Exit status:
  0  every transaction applied (up to --until) and matched the leader
  1  a conflict, divergence, failed transaction or damage was found
  2  usage or I/O error";

/// `--on-conflict` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ConflictArg {
    /// Stop at the first conflict.
    Abort,
    /// Skip the conflicting change.
    Skip,
    /// Force the leader's row image.
    Overwrite,
}

impl From<ConflictArg> for ConflictPolicy {
    fn from(a: ConflictArg) -> ConflictPolicy {
        match a {
            ConflictArg::Abort => ConflictPolicy::Abort,
            ConflictArg::Skip => ConflictPolicy::Skip,
            ConflictArg::Overwrite => ConflictPolicy::Overwrite,
        }
    }
}

/// Parses `--until`: `lsn:N` (or a bare number), `txid:N`, or a time.
pub fn parse_until(s: &str) -> Result<Until, String> {
    let num = |v: &str| {
        v.trim()
            .parse::<u64>()
            .map_err(|_| format!("bad number {v:?} in --until {s:?}"))
    };
    if let Some(v) = s.strip_prefix("txid:") {
        return num(v).map(Until::Txid);
    }
    if let Some(v) = s.strip_prefix("lsn:").or_else(|| s.strip_prefix("pos:")) {
        return num(v).map(Until::Lsn);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return num(s).map(Until::Lsn);
    }
    parse_time(s)
        .map(Until::Time)
        .map_err(|e| format!("{e}; or lsn:N, txid:N"))
}

/// Arguments of `replog replay`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["memory", "store"])))]
pub struct Args {
    /// The log read, and which damage ends it without an error.
    #[command(flatten)]
    pub log: crate::cmd::common::ReadLog,
    /// Replay into a fresh in-memory store.
    #[arg(long)]
    pub memory: bool,
    /// Replay into the follower kept in DIR (created if needed).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Stop at a point: `lsn:N` (or N), `txid:N`, or a time (UTC).
    #[arg(long, value_name = "POINT", value_parser = parse_until)]
    pub until: Option<Until>,
    /// What to do about a conflicting row change.
    #[arg(long, value_enum, default_value = "abort")]
    pub on_conflict: ConflictArg,
    /// Go on after a divergence.
    #[arg(long)]
    pub keep_going: bool,
    /// Statement logs: pass over statements about stored routines,
    /// triggers, events and views (which the store does not run), counted
    /// in the report, instead of stopping at them.
    #[arg(long)]
    pub skip_unsupported: bool,
    /// Print the store's tables after replay (canonical TSV).
    #[arg(long)]
    pub dump: bool,
    /// Physical logs: the page size the log must have (default: the log's).
    /// With --store: the page size of a new store (an existing store's
    /// must equal it).
    #[arg(long, value_name = "BYTES")]
    pub page_size: Option<usize>,
    /// With --store: when each applied transaction is forced to disk.
    #[arg(long, value_enum, default_value = "commit")]
    pub durability: crate::cmd::record::DurabilityArg,
    /// With --store DIR, a new follower: start it from this snapshot
    /// (`replog snapshot`), then catch up from the position it records.
    #[arg(long, value_name = "FILE", requires = "store")]
    pub from_snapshot: Option<PathBuf>,
    /// Output format.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
    /// Binlogs and PostgreSQL URLs: keep replaying as the server writes.
    #[command(flatten)]
    pub follow: crate::cmd::common::FollowArg,
}

fn durability(a: crate::cmd::record::DurabilityArg) -> Durability {
    match a {
        crate::cmd::record::DurabilityArg::Commit => Durability::Commit,
        crate::cmd::record::DurabilityArg::Os => Durability::Os,
    }
}

/// Replays the native statement or logical log `inputs` into `store`
/// (standing at `start`).
pub fn replay_inputs<S: Storage, E: Environment>(
    inputs: &Inputs,
    store: &mut Store<S, E>,
    start: AppliedPosition,
    opts: &ReplayOptions,
    recovery: RecoveryPolicy,
) -> Result<ReplayReport> {
    inputs.require_transactions("replay")?;
    match inputs.kind {
        None => bail!(
            "{}: the segment header is damaged{}; cannot tell which format the log holds (try `replog verify`)",
            inputs.name(0),
            inputs
                .first_damage()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        Some(LogKind::Physical) => bail!(
            "{}: a physical log is replayed by page redo (`replog replay --memory` or `replog dump`), not into this store",
            inputs.name(0)
        ),
        Some(LogKind::Statement) if opts.on_conflict == ConflictPolicy::Overwrite => bail!(
            "--on-conflict overwrite needs row images; a statement log has none (use abort or skip)"
        ),
        Some(_) => {}
    }
    let mut txns = inputs.txn_input_with_progress()?.open(ReaderOptions {
        policy: recovery,
        continue_after_damage: false,
        buffer_size: 0,
    })?;
    replay_source(store, start, &mut *txns, opts).map_err(anyhow::Error::new)
}

fn stop_text(r: &ReplayReport) -> Option<String> {
    let s = r.stopped?;
    Some(match s {
        replog_store::replay::Stop::Until => "stopped at --until".into(),
        replog_store::replay::Stop::Gap => {
            format!("stopped: {}", stop_cause(r).unwrap_or_default())
        }
        other => format!(
            "stopped at this {} (nothing after it applied)",
            other.name()
        ),
    })
}

/// Why replay stopped before the end of the log, with the transaction, the
/// LSN and the cause (the failing statement and its error, the conflict, or
/// the digests that differ); None when it did not stop or stopped at
/// --until.
pub fn stop_cause(r: &ReplayReport) -> Option<String> {
    use replog_store::replay::Stop;
    let s = r.stopped?;
    let text = match s {
        Stop::Until => return None,
        Stop::Failure => r.failures.last().map(|f| {
            format!(
                "transaction {} failed at {}: {}",
                f.txid,
                where_(f.at.as_deref(), f.lsn),
                f.message
            )
        }),
        Stop::Divergence => r.divergences.last().map(|d| {
            format!(
                "transaction {} diverged (COMMIT at {}): the log's COMMIT says state {:016x}, replay reached {:016x}",
                d.txid,
                where_(d.at.as_deref(), d.lsn),
                d.expected,
                d.actual
            )
        }),
        Stop::Conflict => r.conflicts.last().map(|c| {
            format!(
                "transaction {} conflicts at {}: {} (--on-conflict abort)",
                c.txid,
                where_(c.at.as_deref(), c.lsn),
                c.conflict
            )
        }),
        Stop::Gap => Some(format!(
            "the log does not continue from the store's state (after txid {})",
            r.position.last_txid
        )),
    };
    Some(text.unwrap_or_else(|| s.name().to_string()))
}

/// Where a replay event is: the binlog position when the log is one, else
/// the LSN.
fn where_(at: Option<&str>, lsn: u64) -> String {
    match at {
        Some(p) => p.to_string(),
        None => format!("LSN {lsn}"),
    }
}

/// The report as JSON.
pub fn report_json(r: &ReplayReport, digest: u64) -> serde_json::Value {
    json!({
        "clean": r.clean(),
        "kind": r.kind.map(|k| k.name()),
        "log_id": hex(&r.log_id),
        "applied": r.applied,
        "already_applied": r.already_applied,
        "statements": r.statements,
        "changes": r.changes,
        "ddl": r.ddl,
        "non_table_ddl_passed_over": r.non_table_ddl,
        "unsupported_skipped": r.unsupported_skipped,
        "stopped": r.stopped.map(|s| s.name()),
        "applied_lsn": r.position.applied_lsn,
        "binlog_position": r.source_position,
        "last_txid": r.position.last_txid,
        "digest": format!("{digest:016x}"),
        "expected_digest": r.expected_digest.map(|d| format!("{d:016x}")),
        "conflicts": r.conflicts.iter().map(|c| {
            let mut v = c.conflict.to_json();
            v["txid"] = json!(c.txid);
            v["lsn"] = json!(c.lsn);
            if let Some(at) = &c.at {
                v["binlog_position"] = json!(at);
            }
            v
        }).collect::<Vec<_>>(),
        "divergences": r.divergences.iter().map(|d| json!({
            "txid": d.txid, "lsn": d.lsn, "binlog_position": d.at, "delta": d.delta,
            "expected": format!("{:016x}", d.expected),
            "actual": format!("{:016x}", d.actual),
        })).collect::<Vec<_>>(),
        "failures": r.failures.iter().map(|f| json!({
            "txid": f.txid, "lsn": f.lsn, "binlog_position": f.at, "message": f.message,
        })).collect::<Vec<_>>(),
        "uncommitted": r.uncommitted.as_ref().map(|u| json!({
            "txid": u.txid, "lsn": u.lsn, "frames": u.frames,
        })),
        "damage": r.damage.iter().map(|d| json!({
            "segment": d.segment, "offset": d.offset, "lsn": d.lsn,
            "message": d.kind.to_string(), "tolerated": d.tolerated,
        })).collect::<Vec<_>>(),
        "dependent": r.dependence.dependent,
        "dependent_total": r.dependence.dependent_total,
    })
}

/// Prints the report for people.
pub fn print_report(out: &mut dyn Write, r: &ReplayReport, digest: u64) -> Result<()> {
    let kind = r.kind.map_or("unknown", |k| k.name());
    write!(out, "{kind} log: applied {} transaction(s)", r.applied)?;
    if r.already_applied > 0 {
        write!(out, ", {} already in the store", r.already_applied)?;
    }
    writeln!(
        out,
        "; {} statement(s), {} row change(s), {} DDL",
        r.statements, r.changes, r.ddl
    )?;
    crate::cmd::common::print_counted(out, crate::cmd::common::PASSED_OVER, &r.non_table_ddl)?;
    crate::cmd::common::print_counted(
        out,
        crate::cmd::common::SKIPPED_UNSUPPORTED,
        &r.unsupported_skipped,
    )?;
    match &r.source_position {
        Some(p) => writeln!(
            out,
            "position: after the transaction at {p} (last txid {})",
            r.position.last_txid
        )?,
        None => writeln!(
            out,
            "position: LSN {} (last txid {})",
            r.position.applied_lsn, r.position.last_txid
        )?,
    }
    if !r.conflicts.is_empty() {
        let mut t = table(&["txid", "lsn", "conflict", "resolution"]);
        for c in &r.conflicts {
            t.add_row(vec![
                c.txid.to_string(),
                c.at.clone().unwrap_or_else(|| c.lsn.to_string()),
                c.conflict.to_string(),
                c.conflict.resolution.name().to_string(),
            ]);
        }
        writeln!(out, "{t}")?;
    }
    for d in &r.divergences {
        writeln!(
            out,
            "divergence: transaction {} (COMMIT at {}): {}expected {:016x}, store has {:016x}",
            d.txid,
            where_(d.at.as_deref(), d.lsn),
            if d.delta { "digest delta " } else { "" },
            d.expected,
            d.actual
        )?;
    }
    crate::cmd::common::print_dependence(out, &r.dependence, "this follower's")?;
    for f in &r.failures {
        writeln!(
            out,
            "failed: transaction {} at {}: {}",
            f.txid,
            where_(f.at.as_deref(), f.lsn),
            f.message
        )?;
    }
    if let Some(u) = &r.uncommitted {
        writeln!(
            out,
            "uncommitted tail: transaction {} from LSN {} ({} frame(s)), not applied",
            u.txid, u.lsn, u.frames
        )?;
    }
    // Why replay stopped comes after what stopped it.
    if let Some(s) = stop_text(r) {
        writeln!(out, "{s}")?;
    }
    for d in &r.damage {
        writeln!(
            out,
            "{}: {} at offset {} (LSN {}){}",
            d.segment,
            d.kind,
            d.offset,
            d.lsn,
            if d.tolerated {
                ", accepted as the end of the log"
            } else {
                ""
            }
        )?;
    }
    write!(out, "store digest: {digest:016x}")?;
    match r.expected_digest {
        Some(e) if e == digest => writeln!(out, " (matches the leader)")?,
        Some(e) => writeln!(out, " (leader: {e:016x})")?,
        None => writeln!(out)?,
    }
    Ok(())
}

/// Rebuilds a store from the physical WAL at `inputs` by page redo (its
/// reading shown on a terminal).
pub fn replay_physical(
    inputs: &Inputs,
    until: Option<Until>,
    page_size: Option<usize>,
    recovery: RecoveryPolicy,
) -> Result<PhysicalReplay> {
    Ok(replog_follower::replay_physical(
        Path::new(&inputs.name(0)),
        || {
            inputs
                .segments()
                .map(crate::output::with_progress)
                .map_err(|e| std::io::Error::other(format!("{e:#}")))
        },
        until,
        page_size,
        recovery,
    )?)
}

/// The physical replay report as JSON.
pub fn physical_json(p: &PhysicalReplay) -> serde_json::Value {
    let r = &p.report;
    let digest = p.store.digest();
    let pos = p.position();
    json!({
        "clean": p.clean(),
        "kind": "physical",
        "log_id": hex(&p.log_id),
        "page_size": r.page_size,
        "applied": r.transactions,
        "page_records_applied": r.applied,
        "page_records_skipped": r.skipped,
        "wal_bytes": r.frame_bytes,
        "stopped": r.stopped_at_until.then_some("until"),
        "applied_lsn": pos.applied_lsn,
        "last_txid": pos.last_txid,
        "digest": format!("{digest:016x}"),
        "expected_digest": p.expected_digest().map(|d| format!("{d:016x}")),
        "states_checked": r.states_checked,
        "divergences": r.state_mismatches.iter().map(|d| json!({
            "txid": d.txid, "lsn": d.lsn,
            "expected": format!("{:016x}", d.expected),
            "actual": format!("{:016x}", d.actual),
        })).collect::<Vec<_>>(),
        "state_gaps": r.state_gaps.iter().map(|(t, l)| json!({"txid": t, "lsn": l})).collect::<Vec<_>>(),
        "uncommitted": r.uncommitted_txid.map(|t| json!({"txid": t})),
        "torn_tail": r.torn_tail,
    })
}

/// Prints the physical replay report for people.
pub fn print_physical(out: &mut dyn Write, p: &PhysicalReplay) -> Result<()> {
    let r = &p.report;
    writeln!(
        out,
        "physical log: redid {} transaction(s) (txid 0 creates the store); {} page record(s) applied, {} skipped; {}-byte pages; {} bytes of WAL",
        r.transactions, r.applied, r.skipped, r.page_size, r.frame_bytes
    )?;
    let pos = p.position();
    writeln!(
        out,
        "position: LSN {} (last txid {})",
        pos.applied_lsn, pos.last_txid
    )?;
    if r.stopped_at_until {
        writeln!(out, "stopped at --until")?;
    }
    writeln!(
        out,
        "state digests: {} COMMIT(s) checked against the redone pages, {} mismatch(es), {} gap(s)",
        r.states_checked,
        r.state_mismatches.len(),
        r.state_gaps.len()
    )?;
    for d in &r.state_mismatches {
        writeln!(
            out,
            "divergence: transaction {} (COMMIT at LSN {}): expected {:016x}, pages have {:016x}",
            d.txid, d.lsn, d.expected, d.actual
        )?;
    }
    for (t, l) in &r.state_gaps {
        writeln!(
            out,
            "gap: transaction {t} (COMMIT at LSN {l}) does not start from the previous state"
        )?;
    }
    if let Some(t) = r.uncommitted_txid {
        writeln!(out, "uncommitted tail: transaction {t}, not applied")?;
    }
    if let Some(t) = &r.torn_tail {
        writeln!(out, "torn tail: {t}, accepted as the end of the log")?;
    }
    let digest = p.store.digest();
    write!(out, "store digest: {digest:016x}")?;
    match p.expected_digest() {
        Some(e) if e == digest => writeln!(out, " (matches the leader)")?,
        Some(e) => writeln!(out, " (leader: {e:016x})")?,
        None => writeln!(out)?,
    }
    Ok(())
}

fn run_physical(args: &Args, inputs: &Inputs, out: &mut dyn Write) -> Result<Verdict> {
    if let Some(dir) = &args.store
        && replog_follower::holds_data(dir)?
    {
        bail!(
            "{}: already holds a store; a physical log is redone from its start and cannot continue a store (use an empty --store directory, --memory, or the statement or logical log to catch up)",
            dir.display()
        );
    }
    let p = replay_physical(inputs, args.until, args.page_size, args.log.recovery.into())?;
    if let Some(dir) = &args.store {
        let f = replog_follower::open_page_store(dir, None, durability(args.durability))?;
        let mut ps = f.store.into_storage();
        replog_follower::copy_store(p.store.storage(), &mut ps, &p.position())?;
        ps.finish().map_err(anyhow::Error::new)?;
    }
    match args.report.format {
        OutputFormat::Table => {
            print_physical(out, &p)?;
            if args.dump {
                p.store.dump(&mut &mut *out)?;
            }
        }
        OutputFormat::Json | OutputFormat::Ndjson => {
            let mut v = physical_json(&p);
            if args.dump {
                let mut d = Vec::new();
                p.store.dump(&mut d)?;
                v["dump"] = json!(String::from_utf8_lossy(&d));
            }
            json_doc(out, args.report.format, &v)?;
        }
    }
    Ok(Verdict::clean_if(p.clean()))
}

/// What opening a page store recovered, for people (None: nothing notable).
fn recovery_text(rec: &DirRecovery) -> Option<String> {
    if rec.created {
        return Some("store created".into());
    }
    let mut parts = Vec::new();
    if let Some(t) = rec.redo.uncommitted_txid {
        parts.push(format!("uncommitted store transaction {t} discarded"));
    }
    if let Some(t) = &rec.torn_tail {
        parts.push(format!("torn tail cut ({t})"));
    }
    if parts.is_empty() {
        None
    } else {
        Some(format!(
            "store recovered at WAL LSN {}: {}",
            rec.end_lsn,
            parts.join("; ")
        ))
    }
}

fn recovery_json(rec: &DirRecovery) -> serde_json::Value {
    json!({
        "created": rec.created,
        "wal_end_lsn": rec.end_lsn,
        "image_lsn": rec.image_lsn,
        "wal_transactions_read": rec.redo.transactions,
        "uncommitted_discarded": rec.redo.uncommitted_txid,
        "torn_tail": rec.torn_tail,
    })
}

/// Runs `replog replay`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let follow = args.follow.start();
    let from = match crate::cmd::pglive::server_url(&args.log.input)? {
        Some(url) => ReplayFrom::Server(url, follow.is_some()),
        None => ReplayFrom::Files(args.log.input.resolve_following(follow)?),
    };
    if let ReplayFrom::Files(inputs) = &from
        && inputs.detected != crate::input::Detected::Binlog
        && inputs.kind == Some(LogKind::Physical)
    {
        return run_physical(args, inputs, out);
    }
    let opts = ReplayOptions {
        on_conflict: args.on_conflict.into(),
        until: args.until,
        keep_going: args.keep_going,
        executor: None,
        skip_unsupported: args.skip_unsupported,
    };
    match &args.store {
        Some(dir) if !snapshot::path_in(dir).exists() => {
            let durability = durability(args.durability);
            let PageFollower {
                mut store,
                position,
                recovery,
            } = match &args.from_snapshot {
                Some(file) => {
                    replog_follower::seed_from_snapshot(dir, file, args.page_size, durability)?
                }
                None => replog_follower::open_page_store(dir, args.page_size, durability)?,
            };
            let report = replay_from(&from, args, &mut store, position, &opts)?;
            let outcome = write_outcome(args, &store, &report, Some(&recovery), out)?;
            store.into_storage().finish().map_err(anyhow::Error::new)?;
            Ok(outcome)
        }
        _ => {
            if args.from_snapshot.is_some() {
                bail!(
                    "--from-snapshot starts a new follower: the --store directory already holds one"
                );
            }
            let (mut store, start) = replog_follower::open_store(args.store.as_deref())?;
            let report = replay_from(&from, args, &mut store, start, &opts)?;
            if let Some(dir) = &args.store {
                snapshot::save(dir, &store, &report.position).map_err(anyhow::Error::new)?;
            }
            write_outcome(args, &store, &report, None, out)
        }
    }
}

/// What replay reads: log files, or a PostgreSQL server's slot.
enum ReplayFrom {
    Files(Inputs),
    /// The URL, and whether to follow it past its WAL end at the start.
    Server(replog_pgrepl::url::PgUrl, bool),
}

fn replay_from<S: Storage, E: Environment>(
    from: &ReplayFrom,
    args: &Args,
    store: &mut Store<S, E>,
    start: AppliedPosition,
    opts: &ReplayOptions,
) -> Result<ReplayReport> {
    match from {
        ReplayFrom::Files(inputs) => {
            replay_inputs(inputs, store, start, opts, args.log.recovery.into())
        }
        ReplayFrom::Server(url, follow) => {
            crate::cmd::pglive::replay(url, &args.log.input, *follow, store, start, opts)
        }
    }
}

fn write_outcome<S: Storage, E: Environment>(
    args: &Args,
    store: &Store<S, E>,
    report: &ReplayReport,
    rec: Option<&DirRecovery>,
    out: &mut dyn Write,
) -> Result<Verdict> {
    let digest = store.digest();
    if args.follow.follow {
        match &report.source_position {
            Some(p) => eprintln!("replog: stopped following after the transaction at {p}"),
            None => eprintln!("replog: stopped following before the first transaction"),
        }
    }
    match args.report.format {
        OutputFormat::Table => {
            if let Some(t) = rec.and_then(recovery_text) {
                writeln!(out, "{t}")?;
            }
            print_report(out, report, digest)?;
            if args.dump {
                store.dump(&mut &mut *out)?;
            }
        }
        OutputFormat::Json | OutputFormat::Ndjson => {
            let mut v = report_json(report, digest);
            if let Some(r) = rec {
                v["store"] = recovery_json(r);
            }
            if args.dump {
                let mut d = Vec::new();
                store.dump(&mut d)?;
                v["dump"] = json!(String::from_utf8_lossy(&d));
            }
            json_doc(out, args.report.format, &v)?;
        }
    }
    Ok(Verdict::clean_if(report.clean()))
}
