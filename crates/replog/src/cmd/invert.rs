//! `replog invert`: the logical log that undoes a logical log (flashback).

use crate::Verdict;
use crate::input::Detected;
use crate::output::{OutputFormat, ndjson};
use anyhow::{Result, bail};
use replog_convert::atomic::AtomicFile;
use replog_convert::invert::{InvertOptions, InvertReport, Selection, invert, invert_binlog};
use replog_core::reader::ReaderOptions;
use std::io::Write;
use std::path::PathBuf;

const HELP: &str = "\
Examples:
  replog invert /tmp/dml/logical -o /tmp/dml/undo.replog
  replog invert /tmp/dml/logical --skip-ddl -o undo.replog
  replog invert /tmp/dml/logical --txid 12 -o undo-12.replog   # one transaction
  replog invert mariadb-bin.000001 --gtid 0-1-42 -o undo.replog
  replog invert LOG --start-datetime '2023-11-14 22:13:21' -o undo.replog
  replog replay /tmp/dml/logical --store follower/    # the follower at the end
  replog replay undo.replog --store follower/        # ... and back again
  replog convert undo.replog --to sql                # the undo as SQL

Transactions are undone in reverse order, each in its own transaction:
INSERT becomes DELETE, DELETE becomes INSERT, UPDATE swaps its images.
This needs full before-images (MySQL binlog_row_image=FULL, PostgreSQL
REPLICA IDENTITY FULL): the first record with a key-only or missing
before-image is named (LSN, offset, table) and nothing is written.
TRUNCATE is refused likewise (the removed rows are not in the log). A
CREATE TABLE (without SELECT) is undone by DROP TABLE: undone in reverse
order, the table is empty again when its CREATE is reached. Other DDL
cannot be undone from the log; it is left out and listed (exit 1), as
every DDL is with --skip-ddl. MESSAGE records are dropped.

Selecting what to undo, as `mysqlbinlog --flashback` users do: --txid
(repeatable), --gtid (repeatable; a binlog transaction's GTID),
--start-position/--stop-position (LSNs of a native log: BEGIN at or after
the start, COMMIT before the stop), --start-datetime/--stop-datetime (when
the transaction began, UTC). Only the selected transactions are undone;
their inverse COMMITs carry no state digests, since the store they are
applied to keeps the later transactions that were not selected.

Inverse transactions get new txids after the input's largest (so a follower
that applied the input takes them as new; --first-txid to choose), origin
undo:TXID, the original timestamps, and the original state digests swapped:
replaying the inverse checks at every COMMIT that the store is back where
it was. Inverting the inverse gives the original row records back.

The input is read twice: once to check it and note where each transaction
starts, then backwards by position; memory is bounded by the largest
transaction. A binlog is read straight (no intermediate log): first without
decoding rows, then stretch by stretch (8 MiB of binlog) last first; a
binlog with data-changing statements (STATEMENT or MIXED format) is first
converted to a logical log in memory by executing them on the reference
store. The output appears under OUT only when complete.

Exit status:
  0  every committed transaction inverted
  1  inverted, with DDL or messages left out (listed)
  2  nothing written: a record that cannot be inverted, damaged input,
     usage or I/O error";

/// Arguments of `replog invert`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The log read, and which damage ends it without an error.
    #[command(flatten)]
    pub log: crate::cmd::common::ReadLog,
    /// Output file (one segment).
    #[arg(short = 'o', long = "output", value_name = "OUT", required = true)]
    pub output: PathBuf,
    /// Leave every DDL out (only row changes are undone); by default a
    /// CREATE TABLE is undone by DROP TABLE and other DDL is left out and
    /// listed.
    #[arg(long)]
    pub skip_ddl: bool,
    /// Only this transaction (repeatable).
    #[arg(long, value_name = "TXID")]
    pub txid: Vec<u64>,
    /// Only the transaction with this GTID (repeatable; binlogs).
    #[arg(long, value_parser = crate::cmd::inspect::parse_gtid)]
    pub gtid: Vec<String>,
    /// Only transactions whose BEGIN is at or after this LSN (native logs).
    #[arg(long, value_name = "LSN")]
    pub start_position: Option<u64>,
    /// Only transactions whose COMMIT is before this LSN (native logs).
    #[arg(long, value_name = "LSN")]
    pub stop_position: Option<u64>,
    /// Only transactions that began at or after this time (UTC).
    #[arg(long, value_name = "TIME", value_parser = crate::cmd::common::parse_time)]
    pub start_datetime: Option<i64>,
    /// Only transactions that began before this time (UTC).
    #[arg(long, value_name = "TIME", value_parser = crate::cmd::common::parse_time)]
    pub stop_datetime: Option<i64>,
    /// Txid of the first inverse transaction (default: the input's largest + 1).
    #[arg(long, value_name = "N")]
    pub first_txid: Option<u64>,
    /// Output format.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
}

/// Runs `replog invert`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let inputs = args.log.input.resolve()?;
    let binlog = inputs.detected == Detected::Binlog;
    if binlog {
        inputs.require_files(
            "invert",
            "reads a binlog backwards, from its last event, and standard input cannot be read backwards",
        )?;
    }
    if binlog && (args.start_position.is_some() || args.stop_position.is_some()) {
        bail!(
            "--start-position and --stop-position are LSNs of a native log; select binlog transactions with --gtid or --start-datetime/--stop-datetime"
        );
    }
    // A binlog is read as binlog events (below); any other input as
    // transactions (PostgreSQL WAL with its --catalog, a capture).
    let inputs = if binlog {
        inputs
    } else {
        let inputs = args.log.input.resolve_source()?;
        inputs.require_transactions("invert")?;
        inputs
    };
    let opts = InvertOptions {
        policy: args.log.recovery.into(),
        skip_ddl: args.skip_ddl,
        first_txid: args.first_txid,
        select: Selection {
            txids: args.txid.clone(),
            origins: args.gtid.clone(),
            start_lsn: args.start_position,
            stop_lsn: args.stop_position,
            start_time: args.start_datetime,
            stop_time: args.stop_datetime,
        },
        binlog_stretch: None,
        // Errors name a PostgreSQL source's transactions by its LSNs.
        name_by_origin: matches!(inputs.detected, Detected::PgWal | Detected::PgLogical(_)),
    };
    let file = AtomicFile::create(&args.output)?;
    // A binlog is inverted from the binlog itself (flashback): no
    // intermediate log.
    let (report, file) = if binlog {
        invert_binlog(&inputs.files, &opts, file)?
    } else {
        // Any other source (PostgreSQL WAL with its catalog, a logical
        // decoding capture) is read as the native log it stands for.
        let segments = inputs.txn_input()?.into_segments(ReaderOptions {
            policy: opts.policy,
            ..ReaderOptions::default()
        })?;
        invert(segments, &opts, file)?
    };
    file.commit()?;
    match args.report.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => ndjson(out, &report)?,
        OutputFormat::Table => print_text(out, args, &report)?,
    }
    Ok(Verdict::clean_if(
        !(report.ddl_skipped > 0 || report.messages_dropped > 0),
    ))
}

fn print_text(out: &mut dyn Write, args: &Args, r: &InvertReport) -> Result<()> {
    writeln!(
        out,
        "inverted {} committed transactions into {}: {} transactions, {} row changes, {} RELATION records",
        r.input_transactions,
        args.output.display(),
        r.transactions,
        r.rows,
        r.relations
    )?;
    if let Some((a, b)) = r.txids {
        writeln!(out, "inverse txids {a} to {b}")?;
    }
    if r.empty_skipped > 0 {
        writeln!(
            out,
            "{} transactions without row changes not written",
            r.empty_skipped
        )?;
    }
    if r.not_selected > 0 {
        writeln!(
            out,
            "{} committed transactions not selected, left as they are",
            r.not_selected
        )?;
    }
    if r.ddl_inverted > 0 {
        writeln!(out, "{} CREATE TABLE undone by DROP TABLE", r.ddl_inverted)?;
    }
    if args.skip_ddl && r.ddl_skipped > 0 {
        writeln!(out, "{} DDL records left out (--skip-ddl)", r.ddl_skipped)?;
    }
    for d in &r.ddl_left_out {
        writeln!(
            out,
            "DDL left out (cannot be undone from the log): transaction {} at LSN {}: {}",
            d.txid,
            d.lsn,
            d.sql.split_whitespace().collect::<Vec<_>>().join(" ")
        )?;
    }
    if r.messages_dropped > 0 {
        writeln!(out, "{} MESSAGE records dropped", r.messages_dropped)?;
    }
    if let (Some(a), Some(b)) = (r.start_state, r.final_state) {
        writeln!(out, "state digest {a:016x} -> {b:016x}")?;
    }
    if let Some(u) = &r.uncommitted {
        writeln!(
            out,
            "uncommitted tail: transaction {} from LSN {} not inverted",
            u.txid, u.lsn
        )?;
    }
    writeln!(
        out,
        "largest transaction: {}",
        crate::output::human_bytes(r.largest_transaction)
    )?;
    Ok(())
}
