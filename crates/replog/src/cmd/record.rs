//! `replog record`: run a SQL workload on a fresh in-memory reference store
//! as a leader, writing its native statement and logical logs.

use crate::Outcome;
use crate::cmd::common::parse_time;
use crate::output::{OutputFormat, ndjson, table};
use anyhow::{Context, Result, bail};
use replog_core::LogKind;
use replog_core::writer::{DirWriter, Durability, WriterOptions};
use replog_store::logwrite::{LogicalEncoder, StatementEncoder, write_transaction};
use replog_store::storage::Storage;
use replog_store::{SimEnvironment, Store};
use serde_json::json;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const HELP: &str = "\
Examples:
  replog record fixtures/mariadb/workloads/dml.sql --out /tmp/dml
  replog record w.sql --out logs --formats logical --durability os
  replog record w.sql --out logs --format json --continue-on-error

The workload runs on a fresh in-memory store whose clock, random numbers and
UUIDs come from a simulated environment (--seed, --start-time), so a run is
reproducible. Every committed transaction is written, as it commits, to
OUT/statement/ (BEGIN, one STATEMENT per statement with its replay context,
COMMIT) and OUT/logical/ (RELATION, DDL, INSERT/UPDATE/DELETE with full
before-images, TRUNCATE), with the same txids and the store's state digests
in every COMMIT. Rolled-back transactions and failed statements write
nothing; a transaction still open when the workload ends is not written.

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
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Logs to write, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "statement,logical"
    )]
    pub formats: Vec<LogFormat>,
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
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub start_time: Option<i64>,
    /// When commits are forced to stable storage.
    #[arg(long, value_enum, default_value = "commit")]
    pub durability: DurabilityArg,
    /// Start a new segment after a COMMIT once a segment reaches this size.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub segment_size: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
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

fn open_log(out: &Path, format: LogFormat, args: &Args) -> Result<Log> {
    let (kind, sub) = match format {
        LogFormat::Statement => (LogKind::Statement, "statement"),
        LogFormat::Logical => (LogKind::Logical, "logical"),
    };
    let dir = out.join(sub);
    if dir.is_dir()
        && std::fs::read_dir(&dir)?
            .any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "replog")))
    {
        bail!(
            "{}: already holds log segments; record writes a new log (choose another --out)",
            dir.display()
        );
    }
    let mut opts = WriterOptions::new(kind);
    opts.store_id = u64::from(args.server_id);
    opts.start_state = Some(0);
    opts.segment_size = args.segment_size.max(1);
    opts.durability = match args.durability {
        DurabilityArg::Commit => Durability::Commit,
        DurabilityArg::Os => Durability::Os,
    };
    let writer = DirWriter::create(&dir, opts).map_err(anyhow::Error::new)?;
    Ok(Log {
        format,
        dir,
        writer,
    })
}

/// Runs `replog record`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let sql = read_workload(&args.workload)?;
    let statements = replog_store::script::split(&sql)
        .map_err(|e| anyhow::anyhow!("{}: cannot split into statements: {e}", args.workload))?;
    let mut formats = args.formats.clone();
    formats.dedup();
    let mut logs = formats
        .iter()
        .map(|f| open_log(&args.out, *f, args))
        .collect::<Result<Vec<_>>>()?;
    let env = SimEnvironment::new(args.start_time.unwrap_or(1_700_000_000_000_000), args.seed);
    let mut store = Store::new(env);
    let mut stmt_enc = StatementEncoder::new(args.server_id);
    let mut logical_enc = LogicalEncoder::new(args.server_id);
    let (mut txs, mut captured, mut changes) = (0u64, 0u64, 0u64);
    let mut failed = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        if let Err(e) = store.execute(s) {
            let line = line_of(&sql, s);
            if !args.continue_on_error {
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
                    LogFormat::Logical => logical_enc.encode(&tx, schema.as_deref()),
                }
                .map_err(|e| anyhow::Error::new(e).context(format!("transaction {}", tx.txid)))?;
                write_transaction(&mut log.writer, &enc)
                    .map_err(|e| anyhow::Error::new(e).context(log.dir.display().to_string()))?;
            }
        }
    }
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
    match args.format {
        OutputFormat::Table => {
            writeln!(
                out,
                "recorded {txs} transaction(s), {captured} statement(s), {changes} row change(s) from {} statement(s)",
                statements.len()
            )?;
            for (f, dir, end) in &log_info {
                let name = match f {
                    LogFormat::Statement => "statement log",
                    LogFormat::Logical => "logical log",
                };
                writeln!(out, "{name}: {} (LSN 0 to {end})", dir.display())?;
            }
            if open {
                writeln!(
                    out,
                    "note: a transaction was still open at the end of the workload; it was not committed and is not in the logs"
                )?;
            }
            for f in &failed {
                writeln!(
                    out,
                    "failed: statement {} (line {}): {}",
                    f["statement"],
                    f["line"],
                    f["error"].as_str().unwrap_or_default()
                )?;
            }
            writeln!(out, "store digest: {digest:016x}")?;
            if !tables.is_empty() {
                let mut t = table(&["table", "rows", "digest"]);
                for (name, rows, d) in &tables {
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
                "transactions": txs,
                "statements": captured,
                "row_changes": changes,
                "open_transaction_not_logged": open,
                "failed": failed,
                "logs": log_info.iter().map(|(f, dir, end)| json!({
                    "kind": match f { LogFormat::Statement => "statement", LogFormat::Logical => "logical" },
                    "dir": dir.display().to_string(),
                    "end_lsn": end,
                })).collect::<Vec<_>>(),
                "digest": format!("{digest:016x}"),
                "tables": tables.iter().map(|(n, r, d)| json!({
                    "table": n, "rows": r, "digest": format!("{d:016x}"),
                })).collect::<Vec<_>>(),
            });
            if args.format == OutputFormat::Json {
                serde_json::to_writer_pretty(&mut *out, &v)?;
                writeln!(out)?;
            } else {
                ndjson(out, &v)?;
            }
        }
    }
    Ok(if failed.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Found
    })
}
