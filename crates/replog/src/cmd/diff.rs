//! `replog diff`: compare two logs record by record (default), by replayed
//! state (`--state`), or as an old and a new leader (`--failover`).

use crate::Verdict;
use crate::input::Inputs;
use crate::output::{JsonArray, OutputFormat, TableSink, ndjson};
use anyhow::{Result, bail};
use replog_convert::diff::{DiffOptions, DiffSummary, FirstDifference, RecordSide, TxDiff, diff};
use replog_convert::failover::{FailoverOptions, FailoverSummary, LostTx, ReusedKey, failover};
use replog_convert::state_diff::{
    Align, DifferingRow, RowStatus, StateInput, StateOptions, StateSummary, TableDiff, load_store,
    state_diff,
};
use serde_json::json;
use std::io::Write;
use std::path::Path;

const HELP: &str = "\
Examples:
  replog diff leader/logical follower/logical
  replog diff a.replog b.replog --format json
  replog diff a.replog b.replog --format ndjson | jq 'select(.status)'
  replog diff --state leader/statement follower/logical
  replog diff --state leader/physical mysql-bin.000001 --align state
  replog diff --state follower1/ follower2/          # two `replay --store` dirs
  replog diff --state leader/logical follower/       # a log and a store
  replog diff --failover old-leader/logical new-leader/logical
  replog diff --failover old/statement new/logical --format json

Record level (default): committed transactions are aligned by txid (and,
where txids stop ascending, by position) and compared record by record:
every record has one encoding, so equal bytes are equal records.
Printed: the first divergent record on both sides (with the columns that
differ, for logical row records), every transaction that differs or is
on one side only, and counts of transactions only in A, only in B,
different and the same. Uncommitted tails are not compared. Both logs
are streamed; memory is bounded by the largest transaction.

State level (--state): A and B are each a log of any format (statement,
logical, physical, or a MySQL/MariaDB binlog) or a store directory saved
by `replog replay --store DIR`. Logs are replayed onto fresh reference
stores (physical WALs are redone by the page engine, each COMMIT's
digest checked against the pages). Two logs are stepped together,
transactions paired by txid (txids that stop ascending fall back to
positions; --align position pairs the n-th with the n-th; --align state
pairs the n-th transaction that changes A's state with the n-th that
changes B's, applying the others unpaired: for logs numbered
differently, such as a binlog, which omits statements that changed
nothing, and a native log), and the store digests compared after every
step: the first transaction after which they differ is printed, with the
tables whose digests differ there. At the end both stores are walked
table by table in primary-key order: tables only on one side, rows only
on one side, and rows that differ, with both values of every differing
column. A transaction that fails on replay is reported and skipped.
Memory: the two stores and one transaction.

Failover report (--failover): A is the old leader's log, B the new
leader's (the replicated prefix of A's transactions, re-logged, then its
own). Each of A's transactions is looked for in B by origin (the BEGIN's
server id and origin, e.g. a GTID; trusted only when B also holds
transactions of another server id, the new leader's own, and not with
--content-only) and by content (the same row changes and DDL, whatever
the format). Printed: A's transactions the new leader does not have
(discarded), those it has under the same origin with other changes
(diverged), and the primary keys that a discarded transaction inserted
and the new leader's own transactions inserted again with other values
(auto-increment reuse). Statement and logical logs (binlogs through
import); physical logs are refused (`replog convert --to logical`
first). Memory: the two stores, plus what the logs do not share (the old
leader's lost tail with the rows it inserted, a fingerprint per
transaction of the new leader's own).

Exit status:
  0  the same committed transactions (--state: the same states after
     every step; --failover: nothing discarded, diverged or reused)
  1  they differ
  2  usage or I/O error, damaged input, logs of different formats (record
     level), a physical log given to --failover";

/// Arguments of `replog diff`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// First log: a file or a directory of segments (--state: or a store
    /// directory; --failover: the old leader's log).
    #[arg(value_name = "A")]
    pub a: String,
    /// Second log (--state: or a store directory; --failover: the new
    /// leader's log).
    #[arg(value_name = "B")]
    pub b: String,
    /// Compare the states the logs (or stores) replay to.
    #[arg(long, conflicts_with = "failover")]
    pub state: bool,
    /// A is the old leader's log, B the new leader's: what a failover
    /// discards and which keys both assigned.
    #[arg(long)]
    pub failover: bool,
    /// --state: how transactions are paired.
    #[arg(long, value_enum, default_value = "txid", requires = "state")]
    pub align: AlignArg,
    /// --failover: match transactions by content only, not by origin.
    #[arg(long, requires = "failover")]
    pub content_only: bool,
    /// Which damage ends a log without an error (both logs).
    #[command(flatten)]
    pub recovery: crate::cmd::common::Recovery,
    /// Output format.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
    /// PostgreSQL WAL only (A or B): the catalog file of the server that
    /// wrote it (formats/pgheap.md).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<std::path::PathBuf>,
}

/// `--align` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AlignArg {
    /// By txid.
    Txid,
    /// By position.
    Position,
    /// By state: transactions that change the state, in order.
    State,
}

fn side(s: &Option<RecordSide>) -> String {
    match s {
        None => "(none)".into(),
        Some(r) => {
            let mut t = match &r.position {
                Some(at) => format!("{at} {}", r.type_name),
                None => format!("LSN {} (offset {}) {}", r.lsn, r.offset, r.type_name),
            };
            if let Some(tb) = &r.table {
                t.push(' ');
                t.push_str(tb);
            }
            t.push_str(": ");
            t.push_str(&r.detail);
            t
        }
    }
}

/// A value cut to 100 characters for the table output (JSON keeps it
/// whole).
fn clip(v: &str) -> String {
    match v.char_indices().nth(100) {
        Some((i, _)) => format!("{}… ({} bytes)", &v[..i], v.len()),
        None => v.to_string(),
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn print_divergence(out: &mut dyn Write, d: &FirstDifference) -> std::io::Result<()> {
    writeln!(
        out,
        "first divergence: transaction {} / {}, record {}",
        d.txid_a.map_or("-".into(), |t| t.to_string()),
        d.txid_b.map_or("-".into(), |t| t.to_string()),
        d.index
    )?;
    writeln!(out, "  A: {}", side(&d.a))?;
    writeln!(out, "  B: {}", side(&d.b))?;
    for c in &d.columns {
        writeln!(
            out,
            "  column {}: A {} | B {}",
            c.column,
            clip(&c.a),
            clip(&c.b)
        )?;
    }
    writeln!(out)
}

/// Runs `replog diff`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    if args.state {
        return run_state(args, out);
    }
    if args.failover {
        return run_failover(args, out);
    }
    let ia = Inputs::resolve_source_with(std::slice::from_ref(&args.a), args.catalog.as_deref())?;
    let ib = Inputs::resolve_source_with(std::slice::from_ref(&args.b), args.catalog.as_deref())?;
    ia.require_transactions("diff")?;
    ib.require_transactions("diff")?;
    if let (Some(ka), Some(kb)) = (ia.kind, ib.kind)
        && ka != kb
    {
        bail!("A is a {ka} log and B a {kb} log; diff compares logs of one format");
    }
    let opts = DiffOptions {
        policy: args.recovery.into(),
    };
    let summary: DiffSummary;
    match args.report.format {
        OutputFormat::Table => {
            let (at_a, at_b) = match (foreign(&ia), foreign(&ib)) {
                (false, false) => ("LSN A", "LSN B"),
                (true, false) => ("POSITION A", "LSN B"),
                (false, true) => ("LSN A", "POSITION B"),
                (true, true) => ("POSITION A", "POSITION B"),
            };
            // LSNs align right, positions (text) left.
            let right: Vec<usize> = [(1, true), (2, true), (3, at_a == "LSN A")]
                .into_iter()
                .chain([(4, at_b == "LSN B"), (5, true)])
                .filter_map(|(c, r)| r.then_some(c))
                .collect();
            let mut sink = TableSink::new(
                vec!["STATUS", "TXID A", "TXID B", at_a, at_b, "RECORD"],
                &right,
            );
            summary = diff(
                ia.txn_input()?,
                ib.txn_input()?,
                &opts,
                &mut |t: &TxDiff, d| {
                    if let Some(d) = d {
                        print_divergence(out, d)?;
                    }
                    let row = vec![
                        t.status.name().to_string(),
                        opt(t.txid_a),
                        opt(t.txid_b),
                        t.position_a.clone().unwrap_or_else(|| opt(t.lsn_a)),
                        t.position_b.clone().unwrap_or_else(|| opt(t.lsn_b)),
                        opt(t.record),
                    ];
                    sink.push(out, row)?;
                    Ok(())
                },
            )?;
            sink.flush(out)?;
            let mut t = crate::output::table(&["", "TRANSACTIONS"]);
            t.add_row(vec!["only in A".to_string(), summary.only_a.to_string()]);
            t.add_row(vec!["only in B".to_string(), summary.only_b.to_string()]);
            t.add_row(vec!["different".to_string(), summary.different.to_string()]);
            t.add_row(vec!["same".to_string(), summary.same.to_string()]);
            if summary.different + summary.only_a + summary.only_b > 0 {
                writeln!(out)?;
            }
            writeln!(out, "{t}")?;
            if summary.positional {
                writeln!(
                    out,
                    "txids do not ascend: transactions were aligned by position"
                )?;
            }
            for (l, u) in [("A", summary.uncommitted_a), ("B", summary.uncommitted_b)] {
                if let Some(t) = u {
                    writeln!(
                        out,
                        "uncommitted tail in {l}: transaction {t} (not compared)"
                    )?;
                }
            }
            writeln!(
                out,
                "result: {}",
                if summary.identical() {
                    "SAME"
                } else {
                    "DIFFERENT"
                }
            )?;
        }
        OutputFormat::Json => {
            out.write_all(b"{\"transactions\": ")?;
            let mut arr = JsonArray::default();
            summary = diff(ia.txn_input()?, ib.txn_input()?, &opts, &mut |t, _| {
                arr.push(out, t)?;
                Ok(())
            })?;
            arr.finish_document(
                out,
                &[
                    ("summary", json!(summary)),
                    ("identical", json!(summary.identical())),
                ],
            )?;
        }
        OutputFormat::Ndjson => {
            summary = diff(ia.txn_input()?, ib.txn_input()?, &opts, &mut |t, _| {
                ndjson(out, t)?;
                Ok(())
            })?;
            ndjson(
                out,
                &json!({ "summary": &summary, "identical": summary.identical() }),
            )?;
        }
    }
    Ok(Verdict::clean_if(summary.identical()))
}

/// One side of `--state`: a store directory or a log (kept alive while its
/// segments are read).
enum Resolved {
    Store(replog_convert::state_diff::LoadedStore),
    Log(Box<Inputs>),
}

fn resolve_side(path: &str, catalog: Option<&Path>) -> Result<Resolved> {
    if let Some(s) = load_store(Path::new(path))? {
        return Ok(Resolved::Store(s));
    }
    let i = Inputs::resolve_source_with(std::slice::from_ref(&path.to_string()), catalog)?;
    i.require_transactions("diff --state")?;
    Ok(Resolved::Log(Box::new(i)))
}

fn state_input(r: Resolved) -> Result<(StateInput, Option<Box<Inputs>>)> {
    Ok(match r {
        Resolved::Store(s) => (StateInput::Store(Box::new(s)), None),
        Resolved::Log(i) => (StateInput::Input(i.txn_input()?), Some(i)),
    })
}

fn row_cells(r: &DifferingRow) -> Vec<Vec<String>> {
    match r.status {
        RowStatus::Different => r
            .columns
            .iter()
            .map(|c| {
                vec![
                    r.table.clone(),
                    r.key.clone(),
                    r.status.name().to_string(),
                    c.column.clone(),
                    clip(&c.a),
                    clip(&c.b),
                ]
            })
            .collect(),
        _ => vec![vec![
            r.table.clone(),
            r.key.clone(),
            r.status.name().to_string(),
            String::new(),
            clip(r.a.as_deref().unwrap_or_default()),
            clip(r.b.as_deref().unwrap_or_default()),
        ]],
    }
}

fn opt_n(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn print_state_summary(out: &mut dyn Write, s: &StateSummary, tables: &[TableDiff]) -> Result<()> {
    if !tables.is_empty() {
        let mut t = crate::output::table(&[
            "TABLE",
            "STATUS",
            "ROWS A",
            "ROWS B",
            "ONLY IN A",
            "ONLY IN B",
            "DIFFERENT",
            "DEFINITION",
        ]);
        for d in tables {
            t.add_row(vec![
                d.table.clone(),
                d.status.name().to_string(),
                opt_n(d.rows_a),
                opt_n(d.rows_b),
                d.rows_only_a.to_string(),
                d.rows_only_b.to_string(),
                d.rows_different.to_string(),
                if d.definition_differs {
                    "differs".into()
                } else {
                    String::new()
                },
            ]);
        }
        writeln!(out, "\n{t}")?;
    }
    for (l, side) in [("A", &s.a), ("B", &s.b)] {
        write!(
            out,
            "{l}: {}, {} transaction(s) applied, digest {}",
            side.source, side.transactions, side.digest
        )?;
        if let Some(t) = side.store_last_txid {
            write!(out, " (store at txid {t})")?;
        }
        writeln!(out)?;
        for (t, f) in &side.failures {
            writeln!(out, "  transaction {t} failed on replay (skipped): {f}")?;
        }
        if side.state_gaps > 0 {
            writeln!(
                out,
                "  {} COMMIT(s) do not start from the previous state (transactions missing)",
                side.state_gaps
            )?;
        }
        if side.state_mismatches > 0 {
            writeln!(
                out,
                "  {} COMMIT digest(s) differ from the redone pages",
                side.state_mismatches
            )?;
        }
        if side.unchanged > 0 {
            writeln!(
                out,
                "  {} transaction(s) left the digest unchanged (not paired)",
                side.unchanged
            )?;
        }
        if let Some(t) = side.uncommitted {
            writeln!(out, "  uncommitted tail: transaction {t} (not applied)")?;
        }
    }
    if s.steps > 0 {
        writeln!(
            out,
            "{} step(s): {} paired, {} only in A, {} only in B{}",
            s.steps,
            s.paired,
            s.only_a,
            s.only_b,
            match (s.align, s.positional) {
                (Align::State, _) => " (aligned by state)",
                (_, true) => " (aligned by position)",
                _ => " (aligned by txid)",
            }
        )?;
    }
    match &s.first_divergence {
        Some(d) => {
            writeln!(
                out,
                "first divergence: after step {} (transaction {} in A, {} in B; {}): digest {} vs {}",
                d.step,
                opt_n(d.txid_a),
                opt_n(d.txid_b),
                match (&d.position_a, &d.position_b) {
                    (None, None) => format!(
                        "COMMIT LSN {} / {}",
                        opt_n(d.commit_lsn_a),
                        opt_n(d.commit_lsn_b)
                    ),
                    (a, b) => format!(
                        "at {} / {}",
                        a.clone()
                            .unwrap_or_else(|| format!("LSN {}", opt_n(d.commit_lsn_a))),
                        b.clone()
                            .unwrap_or_else(|| format!("LSN {}", opt_n(d.commit_lsn_b)))
                    ),
                },
                d.digest_a,
                d.digest_b
            )?;
            if !d.tables.is_empty() {
                writeln!(out, "  tables that differ there: {}", d.tables.join(", "))?;
            }
            writeln!(
                out,
                "  digests differed after {} of {} step(s)",
                s.divergent_steps, s.steps
            )?;
        }
        None if s.steps > 0 => writeln!(out, "the digests are equal after every step")?,
        None => {}
    }
    if s.first_divergence.is_some() && s.same_digest && s.align == Align::Txid {
        writeln!(
            out,
            "hint: the final states are equal; if the logs number transactions differently, try --align state"
        )?;
    }
    let c = &s.stores;
    writeln!(
        out,
        "tables: {} same, {} only in A, {} only in B, {} different; rows: {} only in A, {} only in B, {} different",
        c.tables_same,
        c.tables_only_a,
        c.tables_only_b,
        c.tables_different,
        c.rows_only_a,
        c.rows_only_b,
        c.rows_different
    )?;
    writeln!(
        out,
        "result: {}",
        if s.identical() { "SAME" } else { "DIFFERENT" }
    )?;
    Ok(())
}

fn run_state(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let (ia, _keep_a) = state_input(resolve_side(&args.a, args.catalog.as_deref())?)?;
    let (ib, _keep_b) = state_input(resolve_side(&args.b, args.catalog.as_deref())?)?;
    let opts = StateOptions {
        policy: args.recovery.into(),
        align: match args.align {
            AlignArg::Txid => Align::Txid,
            AlignArg::Position => Align::Position,
            AlignArg::State => Align::State,
        },
    };
    let mut tables: Vec<TableDiff> = Vec::new();
    // Every format collects the tables' verdicts and prints them after the rows.
    let compare = |on_row: &mut dyn FnMut(&DifferingRow) -> replog_convert::Result<()>| {
        let on_table = &mut |t: &TableDiff| {
            tables.push(t.clone());
            Ok(())
        };
        state_diff(ia, ib, &opts, on_table, on_row)
    };
    let summary = match args.report.format {
        OutputFormat::Table => {
            let mut sink = TableSink::new(vec!["TABLE", "KEY", "STATUS", "COLUMN", "A", "B"], &[]);
            let s = compare(&mut |r| {
                for row in row_cells(r) {
                    sink.push(out, row)?;
                }
                Ok(())
            })?;
            sink.flush(out)?;
            print_state_summary(out, &s, &tables)?;
            s
        }
        OutputFormat::Json => {
            out.write_all(b"{\"rows\": ")?;
            let mut arr = JsonArray::default();
            let s = compare(&mut |r| {
                arr.push(out, r)?;
                Ok(())
            })?;
            arr.finish_document(
                out,
                &[
                    ("tables", json!(tables)),
                    ("summary", json!(s)),
                    ("identical", json!(s.identical())),
                ],
            )?;
            s
        }
        OutputFormat::Ndjson => {
            let s = compare(&mut |r| {
                ndjson(out, &json!({ "row": r }))?;
                Ok(())
            })?;
            for t in &tables {
                ndjson(out, &json!({ "table": t }))?;
            }
            ndjson(out, &json!({ "summary": &s, "identical": s.identical() }))?;
            s
        }
    };
    Ok(Verdict::clean_if(summary.identical()))
}

/// Whether `i`'s transactions come from a foreign log whose positions are
/// not LSNs (binlogs: `file:pos`).
fn foreign(i: &Inputs) -> bool {
    i.binlog.is_some() || i.pglogical.is_some()
}

fn lost_row(l: &LostTx) -> Vec<String> {
    let mut fate = l.fate.name().to_string();
    if let Some(b) = l.txid_b {
        fate.push_str(&format!(" (B txid {b})"));
    }
    vec![
        fate,
        l.txid.to_string(),
        l.server_id.to_string(),
        l.origin.clone(),
        l.position.clone().unwrap_or_else(|| l.lsn.to_string()),
        l.changes.to_string(),
        l.summary.clone(),
    ]
}

fn print_failover(out: &mut dyn Write, s: &FailoverSummary, reused: &[ReusedKey]) -> Result<()> {
    if !reused.is_empty() {
        let mut t = crate::output::table(&["TABLE", "KEY", "TXID A", "ROW A", "TXID B", "ROW B"]);
        for r in reused {
            t.add_row(vec![
                r.table.clone(),
                r.key.clone(),
                r.txid_a.to_string(),
                clip(&r.row_a),
                r.txid_b.to_string(),
                clip(&r.row_b),
            ]);
        }
        writeln!(out, "keys both leaders assigned to different rows:")?;
        writeln!(out, "{t}\n")?;
    }
    let mut t = crate::output::table(&["", "TRANSACTIONS"]);
    for (k, v) in [
        ("old leader (A)", s.transactions_a),
        ("new leader (B)", s.transactions_b),
        ("replicated, by origin", s.replicated_by_origin),
        ("replicated, by content", s.replicated_by_content),
        ("diverged (same origin, other changes)", s.diverged),
        ("discarded by the failover", s.discarded),
        ("new leader's own", s.new_leader_own),
    ] {
        t.add_row(vec![k.to_string(), v.to_string()]);
    }
    writeln!(out, "{t}")?;
    writeln!(out, "reused keys: {}", s.reused_keys)?;
    if !s.origin_matching {
        writeln!(out, "transactions matched by content only")?;
    }
    for n in &s.notes {
        writeln!(out, "note: {n}")?;
    }
    for (side, t, f) in &s.failures {
        writeln!(
            out,
            "{side}: transaction {t} failed on replay (skipped): {f}"
        )?;
    }
    writeln!(
        out,
        "result: {}",
        if s.clean() {
            "NOTHING LOST"
        } else {
            "WRITES LOST"
        }
    )?;
    Ok(())
}

fn run_failover(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let ia = Inputs::resolve_source_with(std::slice::from_ref(&args.a), args.catalog.as_deref())?;
    let ib = Inputs::resolve_source_with(std::slice::from_ref(&args.b), args.catalog.as_deref())?;
    ia.require_transactions("diff --failover")?;
    ib.require_transactions("diff --failover")?;
    for (l, i) in [("A", &ia), ("B", &ib)] {
        if i.kind == Some(replog_core::LogKind::Physical) {
            bail!(
                "{} ({l}): the failover report needs row changes; give a statement or logical log (convert a physical log with `replog convert --to logical`)",
                i.files[0].display()
            );
        }
    }
    let opts = FailoverOptions {
        policy: args.recovery.into(),
        content_only: args.content_only,
    };
    let mut open_b = || {
        ib.txn_input()
            .map_err(|e| replog_convert::Error::new(replog_convert::ErrorKind::Io, e.to_string()))
    };
    // Lost transactions are streamed (all of them come before the first
    // reused key); reused keys, at most one per row a lost transaction
    // inserted, are kept for the end.
    let mut reused = Vec::new();
    let mut on_reused = |r: &ReusedKey| {
        reused.push(r.clone());
        Ok(())
    };
    let s = match args.report.format {
        OutputFormat::Table => {
            let mut sink = TableSink::new(
                vec![
                    "FATE",
                    "TXID",
                    "SERVER",
                    "ORIGIN",
                    if foreign(&ia) { "POSITION" } else { "LSN" },
                    "CHANGES",
                    "WHAT",
                ],
                if foreign(&ia) {
                    &[1, 2, 5]
                } else {
                    &[1, 2, 4, 5]
                },
            );
            let mut first = true;
            let s = failover(
                ia.txn_input()?,
                &mut open_b,
                &opts,
                &mut |l| {
                    if std::mem::take(&mut first) {
                        writeln!(
                            out,
                            "old leader's transactions the new leader does not have:"
                        )?;
                    }
                    sink.push(out, lost_row(l))?;
                    Ok(())
                },
                &mut on_reused,
            )?;
            sink.flush(out)?;
            if !first {
                writeln!(out)?;
            }
            print_failover(out, &s, &reused)?;
            s
        }
        OutputFormat::Json => {
            out.write_all(b"{\"lost\": ")?;
            let mut arr = JsonArray::default();
            let s = failover(
                ia.txn_input()?,
                &mut open_b,
                &opts,
                &mut |l| {
                    arr.push(out, l)?;
                    Ok(())
                },
                &mut on_reused,
            )?;
            arr.finish_document(
                out,
                &[
                    ("reused_keys", json!(reused)),
                    ("summary", json!(s)),
                    ("clean", json!(s.clean())),
                ],
            )?;
            s
        }
        OutputFormat::Ndjson => {
            let s = failover(
                ia.txn_input()?,
                &mut open_b,
                &opts,
                &mut |l| {
                    ndjson(out, &json!({ "lost": l }))?;
                    Ok(())
                },
                &mut on_reused,
            )?;
            for r in &reused {
                ndjson(out, &json!({ "reused_key": r }))?;
            }
            ndjson(out, &json!({ "summary": &s, "clean": s.clean() }))?;
            s
        }
    };
    Ok(Verdict::clean_if(s.clean()))
}
