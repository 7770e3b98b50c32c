//! `replog record`: run a SQL workload on a fresh reference store as a
//! leader, writing its native statement and logical logs and, through the
//! page engine, its physical WAL.

use crate::Verdict;
use crate::cmd::common::parse_time;
use crate::output::{OutputFormat, Progress, json_doc, table};
use anyhow::{Context, Result, bail};
use replog_core::LogKind;
use replog_core::writer::{DirWriter, Durability, WriterOptions};
use replog_pagestore::{Options as PageOptions, PageStore};
use replog_store::logwrite::{LogicalEncoder, StatementEncoder, write_transaction};
use replog_store::storage::Storage;
use replog_store::{SimEnvironment, Store};
use serde_json::json;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const HELP: &str = "\
Examples:
  replog record fixtures/mariadb/workloads/dml.sql -o /tmp/dml
  replog record w.sql -o logs --formats logical --durability os
  replog record w.sql -o logs --formats physical --page-size 4096
  replog record w.sql -o logs --format json --continue-on-error

The workload runs once on a fresh store whose clock, random numbers and
UUIDs come from a simulated environment (--seed, --clock-start), so a run is
reproducible. Every committed transaction is written, as it commits, to
OUT/statement/ (BEGIN, one STATEMENT per statement with its replay context,
COMMIT), OUT/logical/ (RELATION, DDL, INSERT/UPDATE/DELETE with full
before-images, TRUNCATE) and OUT/physical/ (the page engine's WAL:
PAGE_INIT/DELTA/IMAGE/FREE records, CHECKPOINTs between transactions), with
the same txids and the store's state digests in every COMMIT. The physical
log also holds transaction 0, which creates the store's header page and
catalog. Rolled-back transactions and failed statements write nothing; a
transaction still open when the workload ends is not written.

With physical among --formats the store is the page engine (pages of
--page-size bytes, a power of two from 512 to 65536); otherwise it is the
in-memory engine. Both give the same results and digests.

Durability: with --durability commit (the default) every COMMIT is
fdatasync'ed before the next statement runs, and the directory is synced
when a segment is created: a recorded transaction survives a power loss.
With --durability os commits are handed to the operating system only
(survives a crash of replog, not of the machine; much faster).

Exit status:
  0  every statement ran and both logs are written
  1  some statements failed and were skipped (--continue-on-error)
  2  a statement failed (the error names it), usage or I/O error";

/// Which native logs to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// The statement log (`OUT/statement/`).
    Statement,
    /// The logical row log (`OUT/logical/`).
    Logical,
    /// The physical WAL of the page engine (`OUT/physical/`).
    Physical,
}

impl LogFormat {
    fn name(self) -> &'static str {
        match self {
            LogFormat::Statement => "statement",
            LogFormat::Logical => "logical",
            LogFormat::Physical => "physical",
        }
    }
}

/// `--durability` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DurabilityArg {
    /// fdatasync at every COMMIT.
    Commit,
    /// Leave flushing to the operating system.
    Os,
}

/// Arguments of `replog record`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// SQL workload: statements separated by `;` (`-` for standard input).
    #[arg(value_name = "WORKLOAD.sql")]
    pub workload: String,
    /// Directory to write the logs into (`statement/`, `logical/`).
    #[arg(short = 'o', long = "output", alias = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Logs to write, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "statement,logical,physical"
    )]
    pub formats: Vec<LogFormat>,
    /// Page size of the page engine (physical log), in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 8192)]
    pub page_size: usize,
    /// Report failing statements and go on instead of stopping.
    #[arg(long)]
    pub continue_on_error: bool,
    /// Server id of the leader (BEGIN records, segment store id).
    #[arg(long, default_value_t = 1)]
    pub server_id: u32,
    /// Seed of the simulated environment (RAND seeds, UUIDs).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Start of the simulated clock (UTC); default 2023-11-14 22:13:20.
    /// It sets the clock; it selects nothing (unlike inspect's time filters).
    #[arg(long = "clock-start", alias = "start-time", value_name = "TIME", value_parser = parse_time)]
    pub start_time: Option<i64>,
    /// When commits are forced to stable storage.
    #[arg(long, value_enum, default_value = "commit")]
    pub durability: DurabilityArg,
    /// Start a new segment after a COMMIT once a segment reaches this size.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub segment_size: u64,
    /// Output format.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
}

struct Log {
    format: LogFormat,
    dir: PathBuf,
    writer: DirWriter,
}

fn line_of(sql: &str, stmt: &str) -> usize {
    let off = (stmt.as_ptr() as usize).saturating_sub(sql.as_ptr() as usize);
    sql.get(..off).map_or(0, |s| s.matches('\n').count()) + 1
}

fn read_workload(path: &str) -> Result<String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the workload from standard input")?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {path}"))
}

fn fresh_dir(out: &Path, sub: &str) -> Result<PathBuf> {
    let dir = out.join(sub);
    if dir.is_dir()
        && std::fs::read_dir(&dir)?
            .any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "replog")))
    {
        bail!(
            "{}: already holds log segments; record writes a new log (choose another --output)",
            dir.display()
        );
    }
    Ok(dir)
}

fn writer_options(kind: LogKind, args: &Args) -> WriterOptions {
    let mut opts = WriterOptions::new(kind);
    opts.store_id = u64::from(args.server_id);
    opts.start_state = Some(0);
    opts.segment_size = args.segment_size.max(1);
    opts.durability = match args.durability {
        DurabilityArg::Commit => Durability::Commit,
        DurabilityArg::Os => Durability::Os,
    };
    opts
}

fn open_log(out: &Path, format: LogFormat, args: &Args) -> Result<Log> {
    let kind = match format {
        LogFormat::Statement => LogKind::Statement,
        LogFormat::Logical => LogKind::Logical,
        LogFormat::Physical => LogKind::Physical,
    };
    let dir = fresh_dir(out, format.name())?;
    let writer = DirWriter::create(&dir, writer_options(kind, args)).map_err(anyhow::Error::new)?;
    Ok(Log {
        format,
        dir,
        writer,
    })
}

/// Runs `replog record`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let sql = read_workload(&args.workload)?;
    let statements = replog_store::script::split(&sql)
        .map_err(|e| anyhow::anyhow!("{}: cannot split into statements: {e}", args.workload))?;
    let mut formats = args.formats.clone();
    formats.sort_by_key(|f| *f as u8);
    formats.dedup();
    let physical = formats.contains(&LogFormat::Physical);
    let page_opts = PageOptions {
        server_id: args.server_id,
        writer: writer_options(LogKind::Physical, args),
        ..PageOptions::with_page_size(args.page_size)
    };
    let physical_dir = if physical {
        Some(fresh_dir(&args.out, "physical")?)
    } else {
        None
    };
    let logs = formats
        .iter()
        .filter(|f| **f != LogFormat::Physical)
        .map(|f| open_log(&args.out, *f, args))
        .collect::<Result<Vec<_>>>()?;
    let env = SimEnvironment::new(args.start_time.unwrap_or(1_700_000_000_000_000), args.seed);
    match &physical_dir {
        Some(dir) => {
            let pages = PageStore::create_dir(dir, page_opts)
                .map_err(|e| anyhow::Error::new(e).context(dir.display().to_string()))?;
            let store = Store::with_storage(pages, env);
            let r = drive(args, &sql, &statements, store, logs, out)?;
            let pages = r.store.into_storage();
            let (stats, end) = (pages.wal_stats(), pages.wal_end_lsn());
            pages
                .finish()
                .map_err(|e| anyhow::Error::new(e).context(dir.display().to_string()))?;
            let mut log_info = r.log_info;
            log_info.push((LogFormat::Physical, dir.clone(), end));
            report(args, out, &statements, r.summary, &log_info, Some(stats))
        }
        None => {
            let r = drive(args, &sql, &statements, Store::new(env), logs, out)?;
            report(args, out, &statements, r.summary, &r.log_info, None)
        }
    }
}

/// What running the workload found.
struct Summary {
    txs: u64,
    captured: u64,
    changes: u64,
    failed: Vec<serde_json::Value>,
    open: bool,
    tables: Vec<(String, usize, u64)>,
    digest: u64,
}

impl Summary {
    /// How many of the workload's `statements` no log carries: every
    /// statement is logged, failed, or changed nothing a log carries (USE,
    /// SET, BEGIN/COMMIT, SELECT, a rolled-back or unfinished transaction).
    fn not_logged(&self, statements: usize) -> u64 {
        (statements as u64)
            .saturating_sub(self.captured)
            .saturating_sub(self.failed.len() as u64)
    }
}

struct Driven<S: Storage> {
    store: Store<S, SimEnvironment>,
    summary: Summary,
    log_info: Vec<(LogFormat, PathBuf, u64)>,
}

/// Runs the workload on `store`, writing the statement and logical logs
/// from the capture (the page engine writes the physical one itself).
fn drive<S: Storage>(
    args: &Args,
    sql: &str,
    statements: &[&str],
    mut store: Store<S, SimEnvironment>,
    mut logs: Vec<Log>,
    _out: &mut dyn Write,
) -> Result<Driven<S>> {
    let mut stmt_enc = StatementEncoder::new(args.server_id);
    let mut logical_enc = LogicalEncoder::new(args.server_id);
    let (mut txs, mut captured, mut changes) = (0u64, 0u64, 0u64);
    let mut failed = Vec::new();
    // Progress over the workload's bytes, on standard error when it is a
    // terminal.
    let mut progress = Progress::new(sql.len() as u64);
    for (i, s) in statements.iter().enumerate() {
        let end = (s.as_ptr() as usize + s.len()).saturating_sub(sql.as_ptr() as usize);
        progress.update(end as u64);
        if let Err(e) = store.execute(s) {
            let line = line_of(sql, s);
            if !args.continue_on_error {
                progress.finish();
                bail!(
                    "{}: statement {} (line {line}) failed: {e}",
                    args.workload,
                    i + 1
                );
            }
            failed.push(json!({"statement": i + 1, "line": line, "error": e.to_string()}));
        }
        for tx in store.take_committed() {
            txs += 1;
            captured += tx.statements.len() as u64;
            changes += tx.changes().count() as u64;
            let schema = tx.is_ddl().then(|| store.table_defs());
            for log in &mut logs {
                let enc = match log.format {
                    LogFormat::Statement => stmt_enc.encode(&tx),
                    LogFormat::Logical | LogFormat::Physical => {
                        logical_enc.encode(&tx, schema.as_deref())
                    }
                }
                .map_err(|e| anyhow::Error::new(e).context(format!("transaction {}", tx.txid)))?;
                write_transaction(&mut log.writer, &enc)
                    .map_err(|e| anyhow::Error::new(e).context(log.dir.display().to_string()))?;
            }
        }
    }
    progress.finish();
    let open = store.in_transaction();
    let mut log_info = Vec::new();
    for log in logs {
        let end = log.writer.next_lsn();
        log.writer.finish().map_err(anyhow::Error::new)?;
        log_info.push((log.format, log.dir, end));
    }
    let mut tables = Vec::new();
    for (db, t) in store.table_names() {
        let rows = store
            .storage()
            .lookup(&db, &t)
            .map_or(0, |id| store.storage().row_count(id));
        let digest = store.table_digest(&db, &t).unwrap_or(0);
        tables.push((format!("{db}.{t}"), rows, digest));
    }
    let digest = store.digest();
    Ok(Driven {
        store,
        summary: Summary {
            txs,
            captured,
            changes,
            failed,
            open,
            tables,
            digest,
        },
        log_info,
    })
}

fn report(
    args: &Args,
    out: &mut dyn Write,
    statements: &[&str],
    s: Summary,
    log_info: &[(LogFormat, PathBuf, u64)],
    wal: Option<replog_pagestore::WalStats>,
) -> Result<Verdict> {
    let not_logged = s.not_logged(statements.len());
    match args.report.format {
        OutputFormat::Table => {
            write!(
                out,
                "ran {} statement(s): {} logged in {} transaction(s) with {} row change(s)",
                statements.len(),
                s.captured,
                s.txs,
                s.changes
            )?;
            if !s.failed.is_empty() {
                write!(out, ", {} failed", s.failed.len())?;
            }
            if not_logged > 0 {
                write!(
                    out,
                    ", {not_logged} not logged (session or transaction control, queries, rolled back)"
                )?;
            }
            writeln!(out)?;
            for (f, dir, end) in log_info {
                writeln!(out, "{} log: {} (LSN 0 to {end})", f.name(), dir.display())?;
            }
            if let Some(w) = &wal {
                writeln!(
                    out,
                    "physical log: {} page size, {} page image(s), {} delta(s), {} init(s), {} free(s), {} checkpoint(s), {} bytes of page records",
                    args.page_size,
                    w.images,
                    w.deltas,
                    w.inits,
                    w.frees,
                    w.checkpoints,
                    w.body_bytes
                )?;
            }
            if s.open {
                writeln!(
                    out,
                    "note: a transaction was still open at the end of the workload; it was not committed and is not in the logs"
                )?;
            }
            for f in &s.failed {
                writeln!(
                    out,
                    "failed: statement {} (line {}): {}",
                    f["statement"],
                    f["line"],
                    f["error"].as_str().unwrap_or_default()
                )?;
            }
            writeln!(out, "store digest: {:016x}", s.digest)?;
            if !s.tables.is_empty() {
                let mut t = table(&["table", "rows", "digest"]);
                for (name, rows, d) in &s.tables {
                    t.add_row(vec![name.clone(), rows.to_string(), format!("{d:016x}")]);
                }
                if let Some(c) = t.column_mut(1) {
                    c.set_cell_alignment(comfy_table::CellAlignment::Right);
                }
                writeln!(out, "{t}")?;
            }
        }
        OutputFormat::Json | OutputFormat::Ndjson => {
            let v = json!({
                "workload": args.workload,
                "statements_in_workload": statements.len(),
                "transactions": s.txs,
                "statements": s.captured,
                "statements_not_logged": not_logged,
                "row_changes": s.changes,
                "open_transaction_not_logged": s.open,
                "failed": s.failed,
                "logs": log_info.iter().map(|(f, dir, end)| json!({
                    "kind": f.name(),
                    "dir": dir.display().to_string(),
                    "end_lsn": end,
                })).collect::<Vec<_>>(),
                "digest": format!("{:016x}", s.digest),
                "physical": wal.map(|w| json!({
                    "page_size": args.page_size,
                    "page_images": w.images, "page_deltas": w.deltas,
                    "page_inits": w.inits, "page_frees": w.frees,
                    "checkpoints": w.checkpoints, "page_record_bytes": w.body_bytes,
                })),
                "tables": s.tables.iter().map(|(n, r, d)| json!({
                    "table": n, "rows": r, "digest": format!("{d:016x}"),
                })).collect::<Vec<_>>(),
            });
            json_doc(out, args.report.format, &v)?;
        }
    }
    Ok(Verdict::clean_if(s.failed.is_empty()))
}
