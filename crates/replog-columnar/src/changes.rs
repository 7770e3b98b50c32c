//! Row changes as the change tables hold them: the change events of
//! [`replog_export::event`] (one per row, in commit order, from any
//! source) with the metadata columns every row carries ([`TxMeta`]) and
//! each table's Arrow columns ([`TableColumns`], prepared once per table).

use crate::error::{Error, Result};
use crate::schema::{Conv, SchemaRef, table_schema};
use replog_core::txn::TxnSource;
use replog_export::event::{self, ChangeEvents, Op, Position, Table, Txn};
use replog_logical::Tuple;
use std::rc::Rc;

/// The `op` column: `insert`, `update`, `delete` or `truncate` (None for
/// events that are not row changes: DDL, snapshot rows).
pub fn op_name(op: Op) -> Option<&'static str> {
    match op {
        Op::Create => Some("insert"),
        Op::Update => Some("update"),
        Op::Delete => Some("delete"),
        Op::Truncate => Some("truncate"),
        Op::Ddl | Op::Read => None,
    }
}

/// A table's columns in the change tables, prepared once per table.
#[derive(Debug)]
pub struct TableColumns {
    /// How each column's values become Arrow values, in table order.
    pub convs: Vec<Conv>,
    /// The columns that identify a row (the key; for a PostgreSQL table
    /// without one, every column), as the `key` JSON holds them.
    pub identity: Vec<usize>,
    /// The typed dataset's schema ([`table_schema`]).
    pub schema: SchemaRef,
}

impl TableColumns {
    /// The columns of `t`.
    pub fn of(t: &Table) -> TableColumns {
        let relation = t.relation();
        let convs: Vec<Conv> = relation.columns.iter().map(|c| Conv::of(&c.ty)).collect();
        let schema = table_schema(
            t.columns
                .iter()
                .map(|c| c.name.as_str())
                .zip(convs.iter().copied()),
        );
        TableColumns {
            identity: relation.identity_columns(),
            convs,
            schema,
        }
    }
}

/// Where and when a transaction committed: the metadata columns every one
/// of its changes carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxMeta {
    /// The file the transaction was read from, without its directory: the
    /// binlog, the native log's segment, the capture or WAL segment.
    pub source_file: String,
    /// The transaction's position: `file:pos` of its first event in a
    /// binlog, the commit LSN (`X/X`) of a PostgreSQL transaction, `LSN n`
    /// of a native log's COMMIT.
    pub position: String,
    /// The binlog transaction's GTID.
    pub gtid: Option<String>,
    /// Commit time on the leader, µs since the Unix epoch (UTC).
    pub commit_us: i64,
    /// Transaction id.
    pub txid: i64,
}

impl TxMeta {
    /// The metadata of `tx`, read from one of `files` (the inputs in
    /// order; the transaction's segment indexes them).
    pub fn of(tx: &Txn<'_>, files: &[String]) -> TxMeta {
        let segment_file = || {
            files
                .get(tx.tx.segment)
                .map(|f| base_name(f).to_string())
                .unwrap_or_default()
        };
        let (source_file, position, gtid) = match tx.position {
            Position::Binlog { file, pos, gtid } => (
                base_name(file).to_string(),
                format!("{file}:{pos}"),
                gtid.map(str::to_string),
            ),
            Position::Postgres { commit_lsn, .. } => (
                segment_file(),
                format!("{:X}/{:X}", commit_lsn >> 32, commit_lsn & 0xffff_ffff),
                None,
            ),
            Position::Native { commit_lsn } => (segment_file(), format!("LSN {commit_lsn}"), None),
        };
        TxMeta {
            source_file,
            position,
            gtid,
            commit_us: tx.commit_time_us(),
            // No source replog reads has transaction ids above i64::MAX
            // (binlog imports, PostgreSQL xids and native txids are far
            // below); one would saturate rather than wrap.
            txid: i64::try_from(tx.txid()).unwrap_or(i64::MAX),
        }
    }
}

/// The last component of a path (the whole string when it has none).
fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// One row change, as the change tables hold it.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Its transaction's metadata.
    pub tx: &'a TxMeta,
    /// LSN of its record (a binlog's: the LSN of the native log its import
    /// stands for).
    pub lsn: u64,
    /// Its index among the transaction's changes, from 0.
    pub seq: u64,
    /// `insert`, `update`, `delete` or `truncate`.
    pub op: &'static str,
    /// Its table.
    pub table: &'a Rc<Table>,
    /// The table's columns.
    pub columns: &'a Rc<TableColumns>,
    /// The row before (UPDATE when the log has it, DELETE): key-only or
    /// full.
    pub before: Option<Tuple<'a>>,
    /// The row after (INSERT, UPDATE).
    pub after: Option<Tuple<'a>>,
}

/// Receives the row changes of a log.
pub trait RowSink {
    /// One row change, in commit order.
    fn row(&mut self, row: &Row<'_>) -> Result<()>;
}

/// What [`read_rows`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Transactions with at least one change.
    pub transactions: u64,
    /// Row changes handed to the sink.
    pub rows: u64,
    /// Damage the recovery policy accepted as the end of the log (its
    /// message, with offset and LSN).
    pub tolerated_damage: Vec<String>,
}

/// Adapts a [`RowSink`] to the change events.
struct Rows<'s> {
    sink: &'s mut dyn RowSink,
    files: &'s [String],
    columns: Vec<Option<Rc<TableColumns>>>,
    meta: TxMeta,
    stats: ReadStats,
}

impl event::ChangeSink for Rows<'_> {
    type Error = Error;

    fn begin(&mut self, tx: &Txn<'_>) -> Result<()> {
        self.meta = TxMeta::of(tx, self.files);
        self.stats.transactions += 1;
        Ok(())
    }

    fn change(&mut self, _tx: &Txn<'_>, c: &event::Change<'_>) -> Result<()> {
        let (Some(op), Some(table)) = (op_name(c.op), c.table) else {
            return Ok(());
        };
        let serial = table.serial();
        if self.columns.len() <= serial {
            self.columns.resize(serial + 1, None);
        }
        let columns = self.columns[serial].get_or_insert_with(|| Rc::new(TableColumns::of(table)));
        self.stats.rows += 1;
        self.sink.row(&Row {
            tx: &self.meta,
            lsn: c.lsn,
            seq: c.index,
            op,
            table,
            columns,
            before: c.before.map(|b| b.values),
            after: c.after,
        })
    }
}

/// Reads every committed transaction of `source` through `events` (a
/// fresh [`ChangeEvents`], with the caller's relation hints) and hands its
/// row changes to `sink`, in commit order. `files` are the inputs in order
/// (for `source_file`). Fails as [`ChangeEvents::run`] does: at damage the
/// source's recovery policy does not accept (the rows handed over before
/// are the log's valid prefix), on a statement log, on a row record that
/// does not decode or fit its table.
pub fn read_rows(
    events: &mut ChangeEvents,
    source: &mut dyn TxnSource,
    files: &[String],
    sink: &mut dyn RowSink,
) -> Result<ReadStats> {
    let mut rows = Rows {
        sink,
        files,
        columns: Vec::new(),
        meta: TxMeta::default(),
        stats: ReadStats::default(),
    };
    let delivered = events.run(source, &mut rows)?;
    let mut stats = rows.stats;
    stats.tolerated_damage = delivered
        .tolerated_damage
        .iter()
        .map(|d| d.to_error().to_string())
        .collect();
    Ok(stats)
}
