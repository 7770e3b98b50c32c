//! `replog convert`: a logical log as a statement log or as plain SQL.

use crate::Outcome;
use crate::cmd::common::RecoveryArg;
use crate::input::{Detected, Inputs};
use crate::output::{OutputFormat, ndjson};
use anyhow::{Result, bail};
use replog_convert::atomic::AtomicFile;
use replog_convert::to_statement::{
    ConvertReport, NativeStatementSink, SqlTextSink, StatementSink, ToStatementOptions,
    logical_to_statement,
};
use std::io::Write;
use std::path::PathBuf;

const HELP: &str = "\
Examples:
  replog convert /tmp/dml/logical --to statement -o /tmp/dml/converted.replog
  replog replay /tmp/dml/converted.replog --memory      # same digests as the leader
  replog convert log.replog --to sql | mysql --database shop
  replog convert log.replog --to sql -o undo.sql --allow-imprecise

Each row change becomes one executable statement with literal values:
  INSERT  INSERT INTO `db`.`t` (`a`, `b`) VALUES (1, 'x')
  UPDATE  UPDATE `db`.`t` SET <changed columns> WHERE `id` = <old key>
  DELETE  DELETE FROM `db`.`t` WHERE `id` = <old key>
TRUNCATE becomes TRUNCATE TABLE, DDL keeps its SQL (run in its database),
RELATION records are not needed, MESSAGE records are dropped (noted).
Transactions keep their txids, timestamps and state digests, so replaying
the statement log checks every COMMIT against the leader's digest.
TIMESTAMP values are written in UTC (statements carry time_zone +00:00;
the SQL text starts with SET time_zone = '+00:00').

Not carried exactly, and reported: a key-only before-image (the WHERE uses
the key, which is enough); unchanged columns (left out of SET); a table
without key columns, whose UPDATE/DELETE cannot be targeted exactly: an
error naming the record, unless --allow-imprecise (every column of the full
before-image with <=>, LIMIT 1).

The output is written under a temporary name next to OUT and renamed when
complete: damaged input, or a record that cannot be converted, stops the
conversion with its offset and leaves no OUT behind.

Exit status:
  0  every record carried exactly
  1  converted; some records were not carried exactly (listed)
  2  nothing written: damaged input, a record that cannot be converted,
     usage or I/O error";

/// Target of `replog convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// A native statement log (one segment file).
    Statement,
    /// Plain SQL text: START TRANSACTION; ...; COMMIT; per transaction.
    Sql,
}

/// Arguments of `replog convert`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// A logical log: files or directories of segments, together one log.
    #[arg(required = true, value_name = "LOG")]
    pub paths: Vec<String>,
    /// What to convert to.
    #[arg(long, value_enum)]
    pub to: Target,
    /// Output file (required for --to statement; SQL goes to standard
    /// output without it).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Target UPDATE/DELETE of tables without key columns by every column
    /// of the full before-image (LIMIT 1) instead of refusing.
    #[arg(long)]
    pub allow_imprecise: bool,
    /// Which damage ends the input without an error.
    #[arg(long, value_enum, default_value = "strict")]
    pub recovery: RecoveryArg,
    /// Format of the report.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// Runs `replog convert`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let inputs = Inputs::resolve(&args.paths)?;
    if inputs.detected == Detected::Binlog {
        bail!(
            "{}: converting MySQL/MariaDB binlogs is not supported yet",
            inputs.files[0].display()
        );
    }
    inputs.require_native("convert")?;
    match inputs.kind {
        Some(replog_core::LogKind::Logical) | None => {}
        Some(k) => bail!(
            "{}: a {k} log; replog convert reads logical logs (statement → logical needs the store, not yet)",
            inputs.files[0].display()
        ),
    }
    let opts = ToStatementOptions {
        policy: args.recovery.into(),
        allow_imprecise: args.allow_imprecise,
    };
    let segments = inputs.segments()?;
    let report = match (args.to, &args.output) {
        (Target::Statement, None) => {
            bail!("--to statement writes a binary log: give the output file with -o OUT")
        }
        (Target::Statement, Some(path)) => {
            let file = AtomicFile::create(path)?;
            let mut sink = NativeStatementSink::new(file);
            let report = logical_to_statement(segments, &opts, &mut sink)?;
            sink.finish()?;
            match sink.into_inner() {
                Some(f) => f.commit()?,
                None => bail!("writing {} failed", path.display()),
            }
            report
        }
        (Target::Sql, Some(path)) => {
            let file = AtomicFile::create(path)?;
            let mut sink = SqlTextSink::new(file);
            let report = logical_to_statement(segments, &opts, &mut sink)?;
            sink.into_inner().commit()?;
            report
        }
        (Target::Sql, None) => {
            // The SQL is the output; the report goes to standard error.
            let mut sink = SqlTextSink::new(&mut *out);
            let report = logical_to_statement(segments, &opts, &mut sink)?;
            let mut err = std::io::stderr();
            print_report(&mut err, args, &report)?;
            return Ok(outcome(&report));
        }
    };
    print_report(out, args, &report)?;
    Ok(outcome(&report))
}

fn outcome(r: &ConvertReport) -> Outcome {
    if r.notes_total > 0 {
        Outcome::Found
    } else {
        Outcome::Clean
    }
}

fn print_report(out: &mut dyn Write, args: &Args, r: &ConvertReport) -> Result<()> {
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, r)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => ndjson(out, r)?,
        OutputFormat::Table => {
            let target = match (&args.output, args.to) {
                (Some(p), Target::Statement) => format!("statement log {}", p.display()),
                (Some(p), Target::Sql) => format!("SQL file {}", p.display()),
                (None, _) => "SQL on standard output".to_string(),
            };
            writeln!(out, "converted logical log to {target}")?;
            writeln!(
                out,
                "{} transactions, {} statements: {} inserts, {} updates, {} deletes, {} truncates, {} DDL",
                r.transactions, r.statements, r.inserts, r.updates, r.deletes, r.truncates, r.ddl
            )?;
            if r.key_only_images > 0 {
                writeln!(
                    out,
                    "{} key-only before-images: WHERE on the key only",
                    r.key_only_images
                )?;
            }
            if r.unchanged_columns > 0 {
                writeln!(
                    out,
                    "{} unchanged (not sent) columns left out of SET",
                    r.unchanged_columns
                )?;
            }
            for n in &r.notes {
                writeln!(out, "note: LSN {}, txid {}: {}", n.lsn, n.txid, n.message)?;
            }
            if r.notes_total > r.notes.len() as u64 {
                writeln!(
                    out,
                    "... and {} more notes",
                    r.notes_total - r.notes.len() as u64
                )?;
            }
            if let Some(u) = &r.uncommitted {
                writeln!(
                    out,
                    "uncommitted tail: transaction {} from LSN {} ({} records) not converted",
                    u.txid, u.lsn, u.frames
                )?;
            }
            for d in &r.damage {
                writeln!(
                    out,
                    "input ends at damage accepted by policy: offset {} of {}, LSN {}: {}",
                    d.offset, d.segment, d.lsn, d.kind
                )?;
            }
            if let Some(s) = r.final_state {
                writeln!(out, "final state digest: {s:016x}")?;
            }
        }
    }
    Ok(())
}
