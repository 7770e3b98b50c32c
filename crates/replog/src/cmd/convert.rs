//! `replog convert`: a logical log as a statement log or as plain SQL.

use crate::Verdict;
use crate::input::{Detected, Inputs};
use crate::output::{OutputFormat, json_doc, ndjson};
use anyhow::{Result, bail};
use replog_convert::atomic::AtomicFile;
use replog_convert::to_logical::ToLogicalReport;
use replog_convert::to_statement::{
    ConvertReport, NativeStatementSink, SqlTextSink, StatementSink, ToStatementOptions,
};
use std::io::Write;
use std::path::PathBuf;

const HELP: &str = "\
Examples:
  replog convert /tmp/dml/logical --to statement -o /tmp/dml/converted.replog
  replog replay /tmp/dml/converted.replog --memory      # same digests as the leader
  replog convert log.replog --to sql | mysql --database shop
  replog convert log.replog --to sql -o undo.sql --allow-imprecise
  replog convert mariadb-bin.000001 mariadb-bin.000002 --to logical -o rows.replog
  replog convert mysql-bin.000042 --to statement -o statements.replog
  replog convert mysql-bin.000042 --to sql | mariadb    # replay into a server
  replog convert /tmp/dml/logical --to physical -o /tmp/dml/wal   # a directory
  replog convert mariadb-bin.000001 --to physical -o wal/
  replog convert /tmp/dml/statement --to logical -o rows.replog
  replog convert mariadb-bin.000001 --to logical -o rows.replog   # MIXED too
  replog convert statement/ --to logical --base at-txid-10.snapshot -o rest.replog
  replog convert /tmp/dml/physical --to logical -o decoded.replog   # logical decoding
  replog convert /tmp/dml/physical --to statement -o decoded-sql.replog
  replog convert pg_wal/ --catalog catalog.tsv --to logical -o rows.replog   # PostgreSQL
  replog convert rows.replog --to sql | psql -d shop   # PostgreSQL's tables: its SQL
  replog convert log.replog --to sql --dialect postgres

PostgreSQL WAL (a directory such as pg_wal, or segment files) converts to
a logical log with --to logical, decoded offline with the catalog file of
the server that wrote it (--catalog; produce it with
  psql -X -A -F \"$(printf '\\t')\" -P footer=off -d DBNAME -f fixtures/postgres/catalog.sql > catalog.tsv
formats/pgheap.md): only committed transactions, in commit order; what
cannot be decoded is listed with its relation and LSN (exit 1). Every
command that reads transactions of a logical log (dump, replay, diff)
reads WAL the same way with --catalog.

--to logical of a statement log, or of a STATEMENT or MIXED binlog,
executes the statements on the reference store (empty at the start) with
the context the log captured and writes the row changes they make, the
way a MySQL server produces row events; a MIXED binlog's row events are
applied as logged, in binlog order, so it becomes one logical log. The
output keeps the input's txids, times, server ids and origins; its
COMMITs carry the store's digests. Listed (exit 1): statements whose rows
came from the converter rather than the log (UUID(), SYSDATE(), USER(),
row visits without ORDER BY, RAND() or auto-increment values or user
variables the log did not capture), and transactions after which the
store's digest is not the one the input's COMMIT carries. With --base
SNAPSHOT (a store snapshot, formats/store.md) the statements run on the
snapshot's contents: transactions it already holds (by txid) are passed
over, and a log that does not start from its digest is reported.

--to physical replays the input (a statement or logical log, or a ROW or
STATEMENT binlog) into the reference store's page engine and writes the page
changes it makes as a physical WAL: a log of the same transactions, with the
same txids and state digests, tied to one page format (--page-size). The
directory is built under a temporary name and renamed when complete.

--to logical of a physical WAL is logical decoding: the row changes,
schema changes included, are recovered from the page changes alone, with
the catalog the pages hold (table definitions, tree roots, digests). A
transaction's DDL comes first (CREATE DATABASE, DROP/CREATE TABLE, ALTER
TABLE ADD/DROP COLUMN, rendered from the catalog), then TRUNCATEs, then
its rows table by table: DELETEs, UPDATEs (full before-images), INSERTs,
each in key order. COMMITs keep the WAL's txids, times and digests, so
replaying the output checks every one. Page changes hold only the net
effect of a transaction, so these are never carried (listed in every
report): the order of the changes inside a transaction, rows inserted and
deleted in the same transaction, intermediate versions of a row, key
changes (a DELETE and an INSERT), the DDL's own text, auto-increment
counters. Counted and noted (exit 1): UPDATEs that swap UNIQUE values in a
cycle (written as DELETE + INSERT), tables re-created for a definition
change no ALTER expresses, ALTERs whose rows needed UPDATEs. --to
statement and --to sql of a physical WAL go through logical (decoded,
then one statement per row change).

Binlogs (rules in formats/import.md): QUERY events become STATEMENT records
with the context the binlog captured (INTVAR, RAND, USER_VAR, timestamp,
session settings); row events become INSERT/UPDATE/DELETE records whose
column names and key come from the table map's metadata, else from the
CREATE/ALTER TABLE statements earlier in the same binlog, else @1..@n (noted).
In a mixed binlog each output holds what its format can carry; the rest is
counted in the report. --to sql writes executable SQL with the SET lines
each statement needs and no trailing ROLLBACK.

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

PostgreSQL's tables (RELATIONs of PostgreSQL types; --dialect postgres
forces it, --dialect mariadb writes MariaDB's SQL instead) are written in
PostgreSQL's SQL:
\"schema\".\"table\", each value as its type's text output cast to it
('…'::timestamptz, '\\x0a'::bytea, '{1,2}'::int4[], 'NaN'::numeric), the
text first SET TimeZone = 'UTC', TRUNCATE with its RESTART IDENTITY and
CASCADE, and a keyless row (--allow-imprecise) targeted as
ctid = (SELECT ctid FROM … WHERE … IS NOT DISTINCT FROM … LIMIT 1).

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
    /// A native logical log (one segment file), from a statement log or a
    /// binlog (statements executed on the reference store).
    Logical,
    /// A physical WAL (a directory of segments): the log replayed into the
    /// reference store's page engine, whose page changes are captured.
    Physical,
}

/// Arguments of `replog convert`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The log read, and which damage ends it without an error.
    #[command(flatten)]
    pub log: crate::cmd::common::ReadLog,
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
    /// --to physical from a statement log: pass over statements about
    /// stored routines, triggers, events and views (which the store does
    /// not run), counted, instead of stopping at them. --to logical
    /// passes them over always (counted as passed over), except a
    /// trigger, whose row changes the log does not carry: with this flag
    /// it is passed over too (counted as skipped), without it the
    /// conversion stops there.
    #[arg(long)]
    pub skip_unsupported: bool,
    /// With --to statement of a ROW or MIXED binlog: write its statements
    /// alone, dropping the row changes a statement log cannot carry (the
    /// run then exits 1). Without it such a conversion is refused and
    /// nothing is written.
    #[arg(long)]
    pub drop_row_changes: bool,
    /// Output format.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
    /// A store snapshot the input continues from (--to logical of
    /// statement logs and binlogs): the log's statements run on its
    /// contents instead of an empty store.
    #[arg(long, value_name = "SNAPSHOT")]
    pub base: Option<PathBuf>,
    /// SQL dialect of --to sql; by default PostgreSQL's when the log's
    /// tables are PostgreSQL's (their RELATIONs have PostgreSQL types),
    /// else MariaDB's.
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub dialect: Option<SqlDialect>,
    /// Page size of the physical WAL (--to physical).
    #[arg(long, default_value_t = 8192, value_name = "BYTES")]
    pub page_size: usize,
}

/// The SQL dialect of `replog convert --to sql --dialect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqlDialect {
    /// MariaDB and MySQL.
    Mariadb,
    /// PostgreSQL.
    Postgres,
}

/// The dialect of the statements written: the flag's for --to sql (`None`:
/// the log's), MariaDB's for a statement log (replayed by the reference
/// store).
fn dialect(args: &Args) -> Result<Option<replog_schema::sql::Dialect>> {
    use replog_schema::sql::Dialect;
    Ok(match (args.to, args.dialect) {
        (Target::Sql, d) => d.map(|d| match d {
            SqlDialect::Mariadb => Dialect::MariaDb,
            SqlDialect::Postgres => Dialect::Postgres,
        }),
        (_, None) => Some(Dialect::MariaDb),
        (_, Some(_)) => bail!("--dialect goes with --to sql"),
    })
}

/// Runs `replog convert`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    if args.to == Target::Physical {
        return convert_to_physical(args, out);
    }
    let inputs = args.log.input.resolve()?;
    if inputs.detected == Detected::Binlog {
        return convert_binlog(args, &inputs, out);
    }
    let inputs = if inputs.detected == Detected::PgWal {
        if args.to == Target::Logical || args.log.input.catalog.is_none() {
            return convert_pgwal(args, out);
        }
        // Rows decoded with the catalog, then written as from any logical
        // log (SQL in PostgreSQL's dialect, statements).
        args.log.input.resolve_source()?
    } else {
        inputs
    };
    if let (Some(p), Target::Logical) = (&inputs.pglogical, args.to) {
        return convert_pglogical(args, p, out);
    }
    inputs.require_native("convert")?;
    if inputs.kind == Some(replog_core::LogKind::Physical) {
        return physical_to_logical(args, &inputs, out);
    }
    if args.to == Target::Logical {
        return match inputs.kind {
            Some(replog_core::LogKind::Statement) => statement_to_logical(args, &inputs, out),
            Some(replog_core::LogKind::Logical) => {
                bail!("{}: already a logical log", inputs.files[0].display())
            }
            _ => bail!(
                "{}: --to logical reads statement logs and MySQL/MariaDB binlogs",
                inputs.files[0].display()
            ),
        };
    }
    let opts = ToStatementOptions {
        policy: args.log.recovery.into(),
        allow_imprecise: args.allow_imprecise,
        dialect: dialect(args)?,
    };
    let segments = match inputs.kind {
        Some(replog_core::LogKind::Logical) | None => {
            crate::output::with_progress(inputs.segments()?)
        }
        // A statement log is executed on the reference store first (as
        // --to logical does, in memory), and its row changes written as SQL.
        Some(replog_core::LogKind::Statement) if args.to == Target::Sql => {
            let (_, logical) = replog_convert::to_logical::statement_to_logical(
                crate::output::with_progress(inputs.segments()?),
                args.log.recovery.into(),
                exec_options(args)?,
                Vec::new(),
            )?;
            vec![replog_core::reader::SegmentInput::memory(
                inputs.name(0),
                logical,
            )]
        }
        Some(k) => bail!(
            "{}: already a {k} log (--to sql renders it as SQL; --to logical or physical converts it)",
            inputs.name(0)
        ),
    };
    match args.to {
        Target::Logical => bail!("--to logical reads MySQL/MariaDB binlogs"),
        Target::Physical => bail!("--to physical is handled before"),
        Target::Statement | Target::Sql => {}
    }
    let mut txns = replog_core::txn::TxnInput::open(
        segments,
        replog_core::reader::ReaderOptions {
            policy: opts.policy,
            continue_after_damage: false,
            buffer_size: 0,
        },
    )?;
    let (report, sql_on_stdout) = write_statements(args, &mut *txns, &opts, out)?;
    if sql_on_stdout {
        // The SQL is the output; the report goes to standard error.
        print_report(&mut std::io::stderr(), args, &report)?;
        return Ok(outcome(&report));
    }
    print_report(out, args, &report)?;
    Ok(outcome(&report))
}

/// Writes the statements of the logical transactions of `txns`: `--to
/// statement` as a native statement log, `--to sql` as SQL text, to `-o`
/// or standard output. True when the SQL went to standard output (the
/// report then goes to standard error).
fn write_statements(
    args: &Args,
    txns: &mut dyn replog_core::txn::TxnSource,
    opts: &ToStatementOptions,
    out: &mut dyn Write,
) -> Result<(ConvertReport, bool)> {
    use replog_convert::to_statement::source_to_statement;
    Ok(match (args.to, &args.output) {
        (Target::Statement, None) => {
            bail!("--to statement writes a binary log: give the output file with -o OUT")
        }
        (Target::Statement, Some(path)) => {
            let file = AtomicFile::create(path)?;
            let mut sink = NativeStatementSink::new(file);
            let report = source_to_statement(txns, opts, &mut sink)?;
            sink.finish()?;
            match sink.into_inner() {
                Some(f) => f.commit()?,
                None => bail!("writing {} failed", path.display()),
            }
            (report, false)
        }
        (Target::Sql, Some(path)) => {
            let file = AtomicFile::create(path)?;
            let mut sink = SqlTextSink::new(file);
            let report = source_to_statement(txns, opts, &mut sink)?;
            sink.into_inner().commit()?;
            (report, false)
        }
        (Target::Sql, None) => {
            let mut sink = SqlTextSink::new(&mut *out);
            (source_to_statement(txns, opts, &mut sink)?, true)
        }
        (t, _) => bail!("--to {t:?} does not write statements"),
    })
}

fn outcome(r: &ConvertReport) -> Verdict {
    if r.notes_total > 0 {
        Verdict::Found
    } else {
        Verdict::Clean
    }
}

fn print_report(out: &mut dyn Write, args: &Args, r: &ConvertReport) -> Result<()> {
    match args.report.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, r)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => ndjson(out, r)?,
        OutputFormat::Table => {
            let target = match (&args.output, args.to) {
                (Some(p), Target::Statement) => format!("statement log {}", p.display()),
                (Some(p), Target::Sql) => format!("SQL file {}", p.display()),
                (Some(p), Target::Logical) => format!("logical log {}", p.display()),
                (Some(p), Target::Physical) => format!("physical WAL {}", p.display()),
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
            print_tail(out, &r.notes, r.notes_total, r.tail())?;
        }
    }
    Ok(())
}

/// `replog convert --to logical` of a native statement log: executed on the
/// reference store, its row changes captured.
fn statement_to_logical(args: &Args, inputs: &Inputs, out: &mut dyn Write) -> Result<Verdict> {
    let Some(path) = &args.output else {
        bail!("--to logical writes a binary log: give the output file with -o OUT");
    };
    let file = AtomicFile::create(path)?;
    let (report, file) = replog_convert::to_logical::statement_to_logical(
        crate::output::with_progress(inputs.segments()?),
        args.log.recovery.into(),
        exec_options(args)?,
        file,
    )?;
    file.commit()?;
    print_executed(out, args, path, &report, None)
}

/// The end of a conversion report for people: notes (and how many more),
/// the uncommitted tail left out, damage accepted as the end, the final
/// state digest.
fn print_tail(
    out: &mut dyn Write,
    notes: &[replog_convert::to_statement::Note],
    notes_total: u64,
    tail: replog_convert::error::InputEnd<'_>,
) -> Result<()> {
    let replog_convert::error::InputEnd {
        uncommitted,
        damage,
        final_state,
    } = tail;
    for n in notes {
        writeln!(out, "note: LSN {}, txid {}: {}", n.lsn, n.txid, n.message)?;
    }
    if notes_total > notes.len() as u64 {
        writeln!(
            out,
            "... and {} more notes",
            notes_total - notes.len() as u64
        )?;
    }
    if let Some(u) = uncommitted {
        writeln!(
            out,
            "uncommitted tail: transaction {} from LSN {} ({} records) not converted",
            u.txid, u.lsn, u.frames
        )?;
    }
    for d in damage {
        writeln!(
            out,
            "input ends at damage accepted by policy: offset {} of {}, LSN {}: {}",
            d.offset, d.segment, d.lsn, d.kind
        )?;
    }
    if let Some(s) = final_state {
        writeln!(out, "final state digest: {s:016x}")?;
    }
    Ok(())
}

/// How the reference store executes the log: from the `--base`
/// snapshot when given, passing over what `--skip-unsupported` names.
fn exec_options(args: &Args) -> Result<replog_convert::to_logical::ExecOptions> {
    Ok(replog_convert::to_logical::ExecOptions {
        base: match &args.base {
            Some(p) => Some(replog_convert::to_logical::Base::load(p)?),
            None => None,
        },
        skip_unsupported: args.skip_unsupported,
    })
}

/// Prints the report of a conversion executed on the reference store.
fn print_executed(
    out: &mut dyn Write,
    args: &Args,
    path: &std::path::Path,
    r: &ToLogicalReport,
    import: Option<&replog_import::ImportReport>,
) -> Result<Verdict> {
    match args.report.format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            let doc = serde_json::json!({ "executed": r, "import": import });
            json_doc(out, args.report.format, &doc)?;
        }
        OutputFormat::Table => {
            writeln!(
                out,
                "executed on the reference store into logical log {}: {} transactions, {} statements executed, {} row events applied, {} row changes written",
                path.display(),
                r.transactions,
                r.statements,
                r.row_events,
                r.row_changes
            )?;
            crate::cmd::common::print_dependence(out, &r.dependence, "the converter's")?;
            for d in &r.divergences {
                let what = if d.delta { "digest change" } else { "digest" };
                writeln!(
                    out,
                    "divergence: after txid {} (COMMIT at LSN {}) the leader's {what} is {:016x}, the converter's {:016x}",
                    d.txid, d.lsn, d.expected, d.actual
                )?;
            }
            if r.already_in_base > 0 {
                writeln!(
                    out,
                    "{} transactions passed over: the base already holds them",
                    r.already_in_base
                )?;
            }
            crate::cmd::common::print_counted(
                out,
                crate::cmd::common::PASSED_OVER,
                &r.non_table_ddl,
            )?;
            crate::cmd::common::print_counted(
                out,
                crate::cmd::common::SKIPPED_UNSUPPORTED,
                &r.unsupported_skipped,
            )?;
            if let Some(m) = &r.start_mismatch {
                writeln!(
                    out,
                    "the log does not continue from the base: transaction {} starts from digest {:016x}, the base is at {:016x}",
                    m.txid, m.log, m.base
                )?;
            }
            print_tail(out, &[], 0, r.tail())?;
            if let Some(i) = import {
                for n in &i.notes {
                    writeln!(out, "note: {n}")?;
                }
            }
        }
    }
    Ok(
        if r.exact() && import.is_none_or(|i| i.notes.is_empty() && i.incomplete_transactions == 0)
        {
            Verdict::Clean
        } else {
            Verdict::Found
        },
    )
}

/// `replog convert` of MySQL/MariaDB binlogs, through `replog-import`.
/// PostgreSQL WAL → logical log (`--to logical -o OUT --catalog FILE`).
fn convert_pgwal(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let inputs = args.log.input.resolve_source()?;
    let Some(input) = &inputs.pgwal else {
        bail!("{}: not PostgreSQL WAL", inputs.name(0));
    };
    let (Target::Logical, Some(path)) = (args.to, &args.output) else {
        bail!("--to logical writes a binary log: give the output file with -o OUT");
    };
    let mut src = replog_pgheap::source::open(input)?;
    let file = AtomicFile::create(path)?;
    let mut progress = crate::output::Progress::counting("transactions decoded");
    let file = replog_core::writer::write_source(&mut src, file, |n| progress.update(n))?;
    progress.finish();
    file.commit()?;
    let r = src.producer().report();
    match args.report.format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            let doc = serde_json::json!({ "output": path.display().to_string(), "decoded": r });
            json_doc(out, args.report.format, &doc)?;
        }
        OutputFormat::Table => {
            writeln!(
                out,
                "decoded PostgreSQL WAL into logical log {}: {} transactions, {} row changes; \
                 {} rolled back ({} changes dropped), {} without row changes, {} open at the end; \
                 {} TOAST values not in range (written as unchanged), {} changes without a \
                 before-image (not written)",
                path.display(),
                r.committed,
                r.changes,
                r.aborted,
                r.dropped_changes,
                r.empty,
                r.open_at_end,
                r.toast_unknown,
                r.missing_old
            )?;
            for u in &r.undecoded {
                writeln!(
                    out,
                    "  not decoded: {} change(s) of {} at LSN {}..{}: {}",
                    u.count, u.relation, u.lsn, u.last_lsn, u.reason
                )?;
            }
        }
    }
    Ok(Verdict::clean_if(r.undecoded.is_empty()))
}

/// A logical decoding output → logical log (`--to logical -o OUT`).
fn convert_pglogical(
    args: &Args,
    input: &replog_pglogical::PgLogicalInput,
    out: &mut dyn Write,
) -> Result<Verdict> {
    let Some(path) = &args.output else {
        bail!("--to logical writes a binary log: give the output file with -o OUT");
    };
    let (log, c) = input.to_logical_log()?;
    let mut file = AtomicFile::create(path)?;
    file.write_all(&log)?;
    file.commit()?;
    let d = input.detected();
    match args.report.format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            let doc = serde_json::json!({
                "output": path.display().to_string(),
                "plugin": d.plugin.name(),
                "container": d.container.name(),
                "bytes": log.len(),
                "decoded": c,
            });
            json_doc(out, args.report.format, &doc)?;
        }
        OutputFormat::Table => writeln!(
            out,
            "decoded {} ({}) into logical log {}: {c}",
            d.plugin.name(),
            d.container.name(),
            path.display(),
        )?,
    }
    Ok(Verdict::Clean)
}

fn convert_binlog(args: &Args, inputs: &Inputs, out: &mut dyn Write) -> Result<Verdict> {
    use replog_convert::source::BinlogInput;
    use replog_core::LogKind;
    use replog_core::writer::{LogWriter, WriterOptions};
    let files = &inputs.files;
    // A binlog on standard input is read once, as it comes (the importer
    // below, or the executing import of --to logical).
    let stdin = inputs.stdin_binlog();
    let opts = replog_import::ImportOptions::default();
    let mut importer = match &stdin {
        Some(stdin) => replog_import::Importer::from_feed((stdin.open)(), &opts),
        None => replog_import::Importer::new(files, &opts),
    };
    let mut sql_notes = Vec::new();
    let mut progress = crate::output::BinlogProgress::new(files);
    match (args.to, &args.output) {
        (Target::Physical, _) => bail!("--to physical is handled before"),
        (Target::Statement | Target::Logical, None) => {
            bail!(
                "--to statement and --to logical write a binary log: give the output file with -o OUT"
            )
        }
        (Target::Statement | Target::Logical, Some(path)) => {
            let kind = if args.to == Target::Statement {
                LogKind::Statement
            } else {
                LogKind::Logical
            };
            if kind == LogKind::Logical
                && (stdin.is_some() || BinlogInput::new(files)?.shape().dml_statements > 0)
            {
                // A statement or mixed binlog (found by a classification
                // pass that decodes no rows; a binlog on standard input,
                // read once, is not classified first): its statements'
                // rows come from executing them on the reference store, in
                // the one import.
                let input = match stdin {
                    Some(stdin) => BinlogInput::remote(stdin),
                    None => BinlogInput::unclassified(files),
                };
                let file = AtomicFile::create(path)?;
                let (report, import, file) = replog_convert::to_logical::binlog_input_to_logical(
                    input,
                    exec_options(args)?,
                    file,
                    |t| progress.at_origin(t.begin.origin),
                )?;
                progress.finish();
                file.commit()?;
                return print_executed(out, args, path, &report, Some(&import));
            }
            let file = AtomicFile::create(path)?;
            let mut w = LogWriter::new(file, &WriterOptions::new(kind))?;
            for tx in importer.by_ref() {
                let tx = tx?;
                progress.at(&tx.file, tx.position);
                if kind == LogKind::Statement {
                    replog_import::write_statements(&mut w, &tx)?;
                } else {
                    replog_import::write_logical(&mut w, &tx)?;
                }
            }
            let dropped = importer.report().rows_not_in_statement_log;
            if kind == LogKind::Statement && dropped > 0 && !args.drop_row_changes {
                // The staged file is removed when dropped uncommitted.
                drop(w);
                bail!(
                    "{dropped} row change(s) of the binlog cannot be carried by a statement log \
                     (row events have no statement); nothing written. Use --to logical or \
                     --to sql to keep them, or --drop-row-changes to write the statements alone"
                );
            }
            w.finish()?.commit()?;
        }
        (Target::Sql, output) => {
            let mut writer = replog_import::SqlWriter::new();
            let mut text = String::new();
            let mut file = match output {
                Some(path) => Some(AtomicFile::create(path)?),
                None => None,
            };
            for tx in importer.by_ref() {
                let tx = tx?;
                progress.at(&tx.file, tx.position);
                text.clear();
                writer.write(&tx, &mut text)?;
                match file.as_mut() {
                    Some(f) => f.write_all(text.as_bytes())?,
                    None => out.write_all(text.as_bytes())?,
                }
            }
            sql_notes = writer.notes().to_vec();
            if let Some(f) = file {
                f.commit()?;
            }
        }
    }
    progress.finish();
    let mut report = importer.into_report();
    report.notes.extend(sql_notes);
    // With SQL on standard output, the report goes to standard error.
    let mut err = std::io::stderr();
    let dest: &mut dyn Write = if args.to == Target::Sql && args.output.is_none() {
        &mut err
    } else {
        out
    };
    match args.report.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *dest, &report)?;
            writeln!(dest)?;
        }
        OutputFormat::Ndjson => ndjson(dest, &report)?,
        OutputFormat::Table => {
            writeln!(
                dest,
                "{} transactions: {} statements ({} with INTVAR, {} with RAND, {} with user variables), {} DDL, {} row changes ({} inserts, {} updates, {} deletes)",
                report.transactions,
                report.statements,
                report.statements_with_intvar,
                report.statements_with_rand,
                report.statements_with_user_vars,
                report.ddl,
                report.row_changes,
                report.inserts,
                report.updates,
                report.deletes
            )?;
            // What the target could not carry (SQL carries both).
            if args.to == Target::Statement && report.rows_not_in_statement_log > 0 {
                writeln!(
                    dest,
                    "{} row changes are not in the statement log (row events carry no statement)",
                    report.rows_not_in_statement_log
                )?;
            }
            if args.to == Target::Logical && report.statements_not_in_logical_log > 0 {
                writeln!(
                    dest,
                    "{} statements are not in the logical log (statement events carry no rows)",
                    report.statements_not_in_logical_log
                )?;
            }
            for n in &report.notes {
                writeln!(dest, "note: {n}")?;
            }
        }
    }
    Ok(
        if report.notes.is_empty()
            && report.incomplete_transactions == 0
            && !(args.to == Target::Statement && report.rows_not_in_statement_log > 0)
        {
            Verdict::Clean
        } else {
            Verdict::Found
        },
    )
}

/// `replog convert --to physical`: replay into the page engine and keep the
/// WAL it writes.
fn convert_to_physical(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    use replog_core::reader::ReaderOptions;
    use replog_core::txn::TxnInput;
    use replog_pagestore::{Options as PageOptions, PageStore};
    use replog_store::replay::{ReplayOptions, replay_source};
    use replog_store::snapshot::AppliedPosition;
    let Some(target) = &args.output else {
        bail!("--to physical writes a directory of segments: give it with -o DIR");
    };
    if target.exists() {
        bail!(
            "{}: already exists; --to physical writes a new directory",
            target.display()
        );
    }
    let inputs = args.log.input.resolve_source()?;
    inputs.require_transactions("convert")?;
    if inputs.kind == Some(replog_core::LogKind::Physical) {
        bail!("{}: already a physical log", inputs.files[0].display());
    }
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let staging = replog_convert::atomic::staging_dir(parent).map_err(|e| {
        anyhow::anyhow!("creating a staging directory in {}: {e}", parent.display())
    })?;
    let wal_dir = staging.path().join("wal");
    let page_opts = PageOptions {
        page_size: args.page_size,
        ..PageOptions::default()
    };
    let pages = PageStore::create_dir(&wal_dir, page_opts).map_err(anyhow::Error::new)?;
    let mut store = replog_store::Store::with_storage(pages, replog_follower::environment());
    let mut txns = inputs.txn_input_with_progress()?.open(ReaderOptions {
        policy: args.log.recovery.into(),
        continue_after_damage: false,
        buffer_size: 0,
    })?;
    // Divergences from the log's digests are reported, not the end of
    // the conversion (as --to logical reports them): a statement log's
    // statements that used the converter's own values cannot reach them.
    let report = replay_source(
        &mut store,
        AppliedPosition::default(),
        &mut *txns,
        &ReplayOptions {
            keep_going: true,
            executor: Some("the converter"),
            skip_unsupported: args.skip_unsupported,
            ..ReplayOptions::default()
        },
    )
    .map_err(anyhow::Error::new)?;
    if let Some(cause) = crate::cmd::replay::stop_cause(&report) {
        bail!("conversion stopped: {cause}; nothing written");
    }
    if let Some(d) = report.damage.iter().find(|d| !d.tolerated) {
        return Err(anyhow::Error::new(d.to_error()).context("damaged input; nothing written"));
    }
    let pages = store.into_storage();
    let stats = pages.wal_stats();
    pages.finish().map_err(anyhow::Error::new)?;
    std::fs::rename(&wal_dir, target)
        .map_err(|e| anyhow::anyhow!("moving the WAL to {}: {e}", target.display()))?;
    // A statement log's statements that used the converter's own values
    // (as --to logical lists them): the WAL holds other data than the
    // leader's store.
    let clean = report.clean() && report.dependence.dependent_total == 0;
    let doc = serde_json::json!({
        "output": target.display().to_string(),
        "transactions": report.applied,
        "statements": report.statements,
        "row_changes": report.changes,
        "ddl": report.ddl,
        "page_size": args.page_size,
        "wal": {
            "commits": stats.commits,
            "page_images": stats.images,
            "page_deltas": stats.deltas,
            "page_inits": stats.inits,
            "page_frees": stats.frees,
            "checkpoints": stats.checkpoints,
            "record_bytes": stats.body_bytes,
        },
        "clean": clean,
        "divergences": report.divergences.len(),
        "conflicts": report.conflicts.len(),
        "unsupported_skipped": report.unsupported_skipped,
        "dependent": report.dependence.dependent,
        "dependent_total": report.dependence.dependent_total,
        "non_table_ddl_passed_over": report.non_table_ddl,
    });
    match args.report.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => ndjson(out, &doc)?,
        OutputFormat::Table => {
            writeln!(
                out,
                "converted {} transactions ({} statements, {} row changes, {} DDL) into the physical WAL {} ({} B pages){}",
                report.applied,
                report.statements,
                report.changes,
                report.ddl,
                target.display(),
                args.page_size,
                if report.clean() {
                    ""
                } else {
                    "; the replay was not clean (divergences or conflicts)"
                }
            )?;
            crate::cmd::common::print_counted(
                out,
                crate::cmd::common::PASSED_OVER,
                &report.non_table_ddl,
            )?;
            crate::cmd::common::print_counted(
                out,
                crate::cmd::common::SKIPPED_UNSUPPORTED,
                &report.unsupported_skipped,
            )?;
            crate::cmd::common::print_dependence(out, &report.dependence, "the converter's")?;
        }
    }
    Ok(Verdict::clean_if(clean))
}

/// `replog convert` of a physical WAL: logical decoding, then (for --to
/// statement and --to sql) logical → statement.
fn physical_to_logical(args: &Args, inputs: &Inputs, out: &mut dyn Write) -> Result<Verdict> {
    use replog_convert::from_physical::{
        FromPhysicalOptions, FromPhysicalSource, physical_to_logical,
    };
    let opts = FromPhysicalOptions {
        policy: args.log.recovery.into(),
    };
    let (decoded, converted) = match (args.to, &args.output) {
        (Target::Physical, _) => bail!("{}: already a physical log", inputs.files[0].display()),
        (Target::Logical | Target::Statement, None) => {
            bail!(
                "--to {} writes a binary log: give the output file with -o OUT",
                match args.to {
                    Target::Logical => "logical",
                    _ => "statement",
                }
            )
        }
        (Target::Logical, Some(path)) => {
            let file = AtomicFile::create(path)?;
            let segments = crate::output::with_progress(inputs.segments()?);
            let (report, file) = physical_to_logical(segments, &opts, file)?;
            file.commit()?;
            (report, None)
        }
        (Target::Statement | Target::Sql, _) => {
            // Decoded transaction by transaction, each converted as it is.
            let segments = crate::output::with_progress(inputs.segments()?);
            let mut source = FromPhysicalSource::open(segments, &opts);
            let sopts = ToStatementOptions {
                policy: replog_core::recovery::RecoveryPolicy::Strict,
                allow_imprecise: false,
                dialect: dialect(args)?,
            };
            let (report, sql_on_stdout) = write_statements(args, &mut source, &sopts, out)?;
            let decoded = source.finish()?;
            if sql_on_stdout {
                return print_decoded(&mut std::io::stderr(), args, &decoded, Some(&report));
            }
            (decoded, Some(report))
        }
    };
    print_decoded(out, args, &decoded, converted.as_ref())
}

/// Prints the report of a logical decoding (and of the conversion of its
/// output to statements).
fn print_decoded(
    out: &mut dyn Write,
    args: &Args,
    r: &replog_convert::from_physical::FromPhysicalReport,
    statements: Option<&ConvertReport>,
) -> Result<Verdict> {
    match args.report.format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            let doc = serde_json::json!({ "decoded": r, "statements": statements });
            json_doc(out, args.report.format, &doc)?;
        }
        OutputFormat::Table => {
            let target = match &args.output {
                Some(p) => p.display().to_string(),
                None => "standard output".to_string(),
            };
            writeln!(
                out,
                "decoded physical WAL ({} B pages, {} page records, {} transactions) into {target}: {} transactions, {} inserts, {} updates, {} deletes, {} truncates, {} DDL, {} relations",
                r.page_size,
                r.page_records,
                r.transactions,
                r.written,
                r.inserts,
                r.updates,
                r.deletes,
                r.truncates,
                r.ddl,
                r.relations
            )?;
            if let Some(s) = statements {
                writeln!(
                    out,
                    "then one statement per row change: {} transactions, {} statements",
                    s.transactions, s.statements
                )?;
            }
            writeln!(out, "not carried by page changes:")?;
            for n in &r.not_carried {
                writeln!(out, "  {n}")?;
            }
            print_tail(out, &r.notes, r.notes_total, r.tail())?;
        }
    }
    let exact = r.exact() && statements.is_none_or(|s| s.notes_total == 0);
    Ok(Verdict::clean_if(exact))
}
