//! The `replog` command-line tool, as a library: every subcommand is a
//! function that writes to any `impl Write`, so tests need no subprocess.
#![deny(missing_docs)]

pub mod cmd;
pub mod input;
pub mod output;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Exit status: nothing found.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status: damage or a difference was found.
pub const EXIT_FOUND: u8 = 1;
/// Exit status: usage or I/O error.
pub const EXIT_ERROR: u8 = 2;
/// Exit status: stopped by SIGINT or SIGTERM (128 + SIGINT, as shells
/// report an interrupted command).
pub const EXIT_INTERRUPTED: u8 = 130;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  clean: nothing damaged or different
  1  damage or a difference was found
  2  usage or I/O error
  130  interrupted (SIGINT or SIGTERM; nothing partial is left behind)

Environment:
  REPLOG_PROGRESS=always  show progress on standard error even when it is not
                          a terminal (by default only on a terminal)";

/// replog: inspect, verify, convert, diff and replay database replication logs.
///
/// replog reads its own native logs (statement, logical row-based and
/// physical WAL) and MySQL and MariaDB binlogs (binlog format v4).
#[derive(Debug, Parser)]
#[command(name = "replog", version, after_help = EXIT_STATUS_HELP, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the records of a log, or statistics per record type.
    Inspect(cmd::inspect::Args),
    /// Check every checksum, the frame chain and segment continuity.
    Verify(cmd::verify::Args),
    /// Measure how deterministic a statement log is: static flags and
    /// replays on perturbed replicas.
    Determinism(cmd::determinism::Args),
    /// Run a SQL workload on the reference store, writing its native logs.
    Record(cmd::record::Args),
    /// Apply a statement, logical or physical log to a reference store as a
    /// follower.
    Replay(cmd::replay::Args),
    /// Print every table of a log's final state or of a follower store.
    Dump(cmd::dump::Args),
    /// Write a snapshot of a follower store, with the position it stands at.
    Snapshot(cmd::snapshot::Args),
    /// Convert a log (native or binlog) to another format: statement,
    /// logical, physical or SQL.
    Convert(cmd::convert::Args),
    /// Write the logical log that undoes a logical log (flashback).
    Invert(cmd::invert::Args),
    /// Export a log's row changes as CDC envelopes: Debezium, Maxwell,
    /// Canal JSON (NDJSON).
    Export(cmd::export::Args),
    /// Compare two logs: record by record, by replayed state (--state), or
    /// as old and new leader after a failover (--failover).
    Diff(cmd::diff::Args),
    /// How far a follower store stands behind the binlogs it follows
    /// (files or a server): transactions, bytes, seconds.
    Lag(cmd::lag::Args),
    /// Stream a PostgreSQL server's WAL into segment files, as
    /// pg_receivewal does.
    ReceiveWal(cmd::pglive::ReceiveArgs),
    /// Run SQL over the change events of a log (the table `changes`), in
    /// process.
    Query(cmd::query::Args),
}

/// What a command found: decides the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing damaged or different.
    Clean,
    /// Damage or a difference was found.
    Found,
}

impl Verdict {
    /// Clean when `clean`, else Found.
    pub fn clean_if(clean: bool) -> Verdict {
        if clean {
            Verdict::Clean
        } else {
            Verdict::Found
        }
    }
}

/// Runs a parsed command line, writing results to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    match cli.command {
        Command::Inspect(a) => cmd::inspect::run(&a, out),
        Command::Verify(a) => cmd::verify::run(&a, out),
        Command::Determinism(a) => cmd::determinism::run(&a, out),
        Command::Record(a) => cmd::record::run(&a, out),
        Command::Replay(a) => cmd::replay::run(&a, out),
        Command::Dump(a) => cmd::dump::run(&a, out),
        Command::Snapshot(a) => cmd::snapshot::run(&a, out),
        Command::Convert(a) => cmd::convert::run(&a, out),
        Command::Invert(a) => cmd::invert::run(&a, out),
        Command::Export(a) => cmd::export::run(&a, out),
        Command::Diff(a) => cmd::diff::run(&a, out),
        Command::Lag(a) => cmd::lag::run(&a, out),
        Command::ReceiveWal(a) => cmd::pglive::receive(&a, out),
        Command::Query(a) => cmd::query::run(&a, out),
    }
}

/// Parses `args`, runs the command on standard output and returns the exit
/// status. A closed pipe ends the command quietly.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_CLEAN
            });
        }
    };
    // Stopped by SIGINT or SIGTERM: remove what was being staged (a partial
    // output never reaches its final name; its staging copy must not stay
    // either), then end as an interrupted command.
    let _ = ctrlc::set_handler(|| {
        // A follower (--follow) stops at its next whole transaction and
        // ends cleanly with the position it reached.
        if replog_core::follow::request_stop() {
            return;
        }
        replog_convert::atomic::remove_own_staging();
        let _ = writeln!(std::io::stderr(), "replog: interrupted");
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    });
    // Commands run statements: on a thread whose stack fits the deepest
    // expression the store accepts (see replog_store::deep).
    let work = move || {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
        run(cli, &mut out).and_then(|o| {
            out.flush()?;
            Ok(o)
        })
    };
    let result = match replog_store::deep::thread_builder("replog").spawn(work) {
        Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
        Err(e) => Err(anyhow::Error::new(e).context("starting the command's thread")),
    };
    match result {
        Ok(Verdict::Clean) => ExitCode::from(EXIT_CLEAN),
        Ok(Verdict::Found) => ExitCode::from(EXIT_FOUND),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(EXIT_CLEAN),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "replog: error: {}", error_text(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// An error and its causes, each said once: a cause whose text the
/// message already holds (`opening x: No such file or directory` caused by
/// `No such file or directory`) is not repeated.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if text.contains(&s) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&s);
    }
    text
}

/// Whether `e` is damage of the log (a [`replog_core::Error`] in its chain
/// whose kind [is damage](replog_core::ErrorKind::is_damage)), not a failure
/// of the command.
pub(crate) fn is_damage(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<replog_core::Error>()
            .is_some_and(|x| x.kind().is_damage())
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
