//! The binlog importer: MySQL / MariaDB binary logs to replog's native
//! **statement** and **logical** logs, and to executable SQL.
//!
//! - [`Importer`] reads binlog files in order and yields one owned
//!   [`ImportedTransaction`] at a time (memory bounded by the largest
//!   transaction). Each holds the STATEMENT records (QUERY events with their
//!   INTVAR / RAND / USER_VAR events and status variables as context) and the
//!   logical records (RELATION, INSERT / UPDATE / DELETE from row events,
//!   TRUNCATE, DDL) of one binlog transaction.
//! - [`import`] drives an importer into any [`LogSink`]s (a
//!   [`replog_core::writer::LogWriter`] or [`replog_core::writer::DirWriter`]);
//!   [`write_statements`] / [`write_logical`] write one transaction.
//! - [`to_sql`] / [`SqlWriter`] render transactions as SQL to replay into a
//!   server.
//!
//! Column names and keys come from TABLE_MAP optional metadata when the
//! server logged it (`binlog_row_metadata=FULL`), else from a schema
//! history rebuilt from the DDL earlier in the same log, else they are
//! `@1..@n` (with a note in the [`ImportReport`]). The mapping rules are in
//! `formats/import.md` at the repository root.
//!
//! ```no_run
//! use replog_import::{ImportOptions, import};
//! use replog_core::writer::{LogWriter, WriterOptions};
//! use replog_core::LogKind;
//! use std::path::PathBuf;
//!
//! let mut logical = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical))?;
//! let report = import(
//!     &[PathBuf::from("mariadb-bin.000001")],
//!     &ImportOptions::default(),
//!     None,
//!     Some(&mut logical),
//! )?;
//! println!("{} transactions, notes: {:?}", report.transactions, report.notes);
//! let bytes = logical.finish()?;
//! # Ok::<(), replog_core::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod history;
mod importer;
mod model;
mod sql;
mod types;

pub use importer::{BinlogShape, Checkpoint, DamagePlace, Importer, classify};
pub use model::{
    Cell, ColumnDef, ImportedStatement, ImportedTransaction, LogicalOp, NamesFrom, RelationDef,
    TxPart, TypeSpec,
};
pub use sql::{SqlWriter, to_sql};

use replog_binlog::ReadOptions;
use replog_core::writer::{DirWriter, LogWriter};
use replog_core::{Begin, Commit, Error, Result};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Transaction id of the first transaction (default 1); the following
    /// ones count up in binlog order.
    pub first_txid: u64,
    /// Binlog reader options (checksum verification, event size limit).
    pub read: ReadOptions,
    /// Decode row events into INSERT / UPDATE / DELETE records (default).
    /// When false, row events still define their tables (RELATION records
    /// and the relation ids are the same as with decoding) but their rows
    /// are not decoded: a cheap first pass that finds transaction
    /// boundaries and [`Checkpoint`]s, whose transactions are then decoded
    /// by an importer [resumed](Importer::resume) at a checkpoint.
    pub decode_rows: bool,
    /// Follow the binlogs as the server writes them
    /// ([`replog_binlog::files`]): the last file's end waits for more, and
    /// the importer goes on into each successor, until a stop is requested
    /// ([`replog_core::follow::request_stop`]); it then ends at the last
    /// whole event read, the transaction still open left out.
    pub follow: Option<replog_core::follow::Follow>,
}

impl Default for ImportOptions {
    fn default() -> ImportOptions {
        ImportOptions {
            first_txid: 1,
            read: ReadOptions::default(),
            decode_rows: true,
            follow: None,
        }
    }
}

/// One table seen in row events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableReport {
    /// `database.table`.
    pub name: String,
    /// Relation id in the logical output.
    pub relation_id: u32,
    /// Highest schema version sent.
    pub schema_versions: u32,
    /// Where the column names came from (latest definition).
    pub names_from: NamesFrom,
    /// Whether key columns are known (latest definition).
    pub has_key: bool,
    /// Row changes imported.
    pub row_changes: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Binlog files read (names only).
    pub files: Vec<String>,
    /// Transactions imported.
    pub transactions: u64,
    /// STATEMENT records (QUERY events other than BEGIN / COMMIT / ROLLBACK).
    pub statements: u64,
    /// Statements with INSERT_ID or LAST_INSERT_ID context (INTVAR events).
    pub statements_with_intvar: u64,
    /// Statements with RAND seeds (RAND events).
    pub statements_with_rand: u64,
    /// Statements with user variables (USER_VAR events).
    pub statements_with_user_vars: u64,
    /// DDL statements (also DDL / TRUNCATE records of the logical output).
    pub ddl: u64,
    /// Row changes (INSERT + UPDATE + DELETE records).
    pub row_changes: u64,
    /// INSERT records.
    pub inserts: u64,
    /// UPDATE records.
    pub updates: u64,
    /// DELETE records.
    pub deletes: u64,
    /// Row changes that the statement output does not contain (row events
    /// of ROW and MIXED logs).
    pub rows_not_in_statement_log: u64,
    /// DML statements that the logical output does not contain.
    pub statements_not_in_logical_log: u64,
    /// Transactions not committed at the end of the input (left out).
    pub incomplete_transactions: u64,
    /// Tables seen in row events.
    pub tables: Vec<TableReport>,
    /// Notes (each once), e.g. where column names are unknown.
    pub notes: Vec<String>,
}

/// Where native log records go: a [`LogWriter`] or a [`DirWriter`].
pub trait LogSink {
    /// Writes a BEGIN.
    fn begin(&mut self, b: &Begin<'_>) -> Result<u64>;
    /// Writes a format record body.
    fn append(&mut self, body: &[u8]) -> Result<u64>;
    /// Writes a COMMIT.
    fn commit(&mut self, c: &Commit) -> Result<u64>;
}

impl<W: Write> LogSink for LogWriter<W> {
    fn begin(&mut self, b: &Begin<'_>) -> Result<u64> {
        LogWriter::begin(self, b)
    }
    fn append(&mut self, body: &[u8]) -> Result<u64> {
        LogWriter::append(self, body)
    }
    fn commit(&mut self, c: &Commit) -> Result<u64> {
        LogWriter::commit(self, c)
    }
}

impl LogSink for DirWriter {
    fn begin(&mut self, b: &Begin<'_>) -> Result<u64> {
        DirWriter::begin(self, b)
    }
    fn append(&mut self, body: &[u8]) -> Result<u64> {
        DirWriter::append(self, body)
    }
    fn commit(&mut self, c: &Commit) -> Result<u64> {
        DirWriter::commit(self, c)
    }
}

fn frame(
    sink: &mut dyn LogSink,
    tx: &ImportedTransaction,
    bodies: impl Iterator<Item = std::result::Result<Vec<u8>, String>>,
) -> Result<()> {
    let origin = tx.origin();
    sink.begin(&Begin {
        txid: tx.txid,
        timestamp_us: tx.begin_timestamp_us,
        server_id: tx.server_id,
        origin: &origin,
    })?;
    for b in bodies {
        let b = b.map_err(|m| {
            Error::malformed(tx.position, m).context(format!("binlog {} transaction", tx.file))
        })?;
        sink.append(&b)?;
    }
    sink.commit(&Commit {
        txid: tx.txid,
        timestamp_us: tx.commit_timestamp_us,
        state_before: None,
        state_after: None,
    })?;
    Ok(())
}

/// Writes the transaction's STATEMENT records framed by BEGIN / COMMIT.
/// Transactions without statements are not written (returns false).
pub fn write_statements(sink: &mut dyn LogSink, tx: &ImportedTransaction) -> Result<bool> {
    if tx.statements.is_empty() {
        return Ok(false);
    }
    frame(
        sink,
        tx,
        tx.statements.iter().map(|s| {
            let mut b = Vec::new();
            s.as_statement().encode(&mut b).map(|_| b)
        }),
    )?;
    Ok(true)
}

/// Writes the transaction's logical records framed by BEGIN / COMMIT.
/// Transactions without logical records are not written (returns false).
pub fn write_logical(sink: &mut dyn LogSink, tx: &ImportedTransaction) -> Result<bool> {
    if tx.logical.is_empty() {
        return Ok(false);
    }
    frame(
        sink,
        tx,
        tx.logical.iter().map(|op| {
            let mut b = Vec::new();
            op.encode(&mut b).map(|_| b)
        }),
    )?;
    Ok(true)
}

/// Imports `paths` (binlog files of one server, in order) into the given
/// outputs and returns the report. The sinks are not finished: call
/// `finish` on the writers.
pub fn import(
    paths: &[PathBuf],
    opts: &ImportOptions,
    mut statement_out: Option<&mut dyn LogSink>,
    mut logical_out: Option<&mut dyn LogSink>,
) -> Result<ImportReport> {
    let mut imp = Importer::new(paths, opts);
    for tx in imp.by_ref() {
        let tx = tx?;
        if let Some(s) = statement_out.as_deref_mut() {
            write_statements(s, &tx)?;
        }
        if let Some(s) = logical_out.as_deref_mut() {
            write_logical(s, &tx)?;
        }
    }
    Ok(imp.into_report())
}
