//! SQL over the change events of a log, in process, with DataFusion.
//!
//! The log is the table `changes` (the generic dataset's columns,
//! [`crate::schema::changes_schema`]). It is streamed: every scan of the
//! table opens the log again on a thread of its own, which reads it and
//! hands over batches of rows through a channel of two batches, so memory
//! is bounded by what the query itself keeps (an aggregate's groups, a
//! sort's rows), never by the size of the log.

use crate::batch::ChangesBuilder;
use crate::changes::{Row, RowSink, read_rows};
use crate::error::{Error, Result};
use crate::schema::{SchemaRef, changes_schema};
use arrow::array::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{SessionConfig, SessionContext};
use replog_core::txn::TxnSource;
use replog_export::event::ChangeEvents;
use std::sync::{Arc, Mutex};

/// Opens the log once more: called on the thread that reads it, once per
/// scan of `changes`.
pub type OpenLog = Arc<dyn Fn() -> Result<Box<dyn TxnSource>> + Send + Sync>;

/// The name of the table of change events.
pub const CHANGES_TABLE: &str = "changes";

/// One log of a query.
#[derive(Clone)]
pub struct LogSpec {
    /// Opens the log (with the caller's recovery policy).
    pub open: OpenLog,
    /// The log's input files, in order (for `source_file`).
    pub files: Vec<String>,
}

/// The logs to query: the table `changes` holds the changes of each, one
/// log after the other.
#[derive(Clone)]
pub struct QueryLog {
    /// The logs, in order.
    pub logs: Vec<LogSpec>,
    /// Stack size of the reading thread (a binlog of statements executes
    /// them: give it what the statement engine needs).
    pub stack_size: usize,
    /// Rows per batch handed to the query.
    pub batch_rows: usize,
}

impl std::fmt::Debug for QueryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let files: Vec<&Vec<String>> = self.logs.iter().map(|l| &l.files).collect();
        f.debug_struct("QueryLog")
            .field("files", &files)
            .finish_non_exhaustive()
    }
}

/// The rows of the table `changes`: one partition, read afresh by each
/// scan.
#[derive(Debug)]
struct ChangesPartition {
    log: QueryLog,
    schema: SchemaRef,
    /// Damage the recovery policy accepted as the end of a log, found by
    /// the scans (each place once).
    tolerated: Arc<Mutex<Vec<String>>>,
}

/// Hands batches to the query; stops reading (with [`STOPPED`]) when the
/// query no longer wants rows.
struct Sender {
    rows: ChangesBuilder,
    batch_rows: usize,
    tx: tokio::sync::mpsc::Sender<std::result::Result<RecordBatch, DataFusionError>>,
}

/// The message of the error that ends a read the query stopped consuming.
const STOPPED: &str = "the query stopped reading";

impl Sender {
    fn send(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let batch = self.rows.finish()?;
        self.tx
            .blocking_send(Ok(batch))
            .map_err(|_| Error::Query(STOPPED.into()))
    }
}

impl RowSink for Sender {
    fn row(&mut self, c: &Row<'_>) -> Result<()> {
        self.rows.push(c)?;
        if self.rows.len() >= self.batch_rows {
            self.send()?;
        }
        Ok(())
    }
}

impl PartitionStream for ChangesPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let log = self.log.clone();
        let tolerated = self.tolerated.clone();
        let spawned = std::thread::Builder::new()
            .name("replog-changes".into())
            .stack_size(log.stack_size)
            .spawn(move || {
                let errors = tx.clone();
                let mut sender = Sender {
                    rows: ChangesBuilder::new(),
                    batch_rows: log.batch_rows.max(1),
                    tx,
                };
                let result = log
                    .logs
                    .iter()
                    .try_for_each(|l| {
                        let mut source = (l.open)()?;
                        let stats = read_rows(
                            &mut ChangeEvents::new(),
                            &mut *source,
                            &l.files,
                            &mut sender,
                        )?;
                        if let Ok(mut seen) = tolerated.lock() {
                            for d in stats.tolerated_damage {
                                if !seen.contains(&d) {
                                    seen.push(d);
                                }
                            }
                        }
                        Ok(())
                    })
                    .and_then(|()| sender.send());
                match result {
                    Err(Error::Query(m)) if m == STOPPED => {}
                    Err(e) => {
                        let _ = errors.blocking_send(Err(DataFusionError::External(Box::new(e))));
                    }
                    Ok(()) => {}
                }
            });
        if let Err(e) = spawned {
            let e = DataFusionError::Execution(format!("starting the log reader: {e}"));
            let failed = futures::stream::once(async move { Err(e) });
            return Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), failed));
        }
        let stream =
            futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

/// A query's result.
#[derive(Debug)]
pub struct QueryResult {
    /// Its columns.
    pub schema: SchemaRef,
    /// Its rows.
    pub batches: Vec<RecordBatch>,
    /// Damage the logs' recovery policy accepted as their end (each
    /// message names the offset): the rows are those of the logs' valid
    /// prefixes.
    pub tolerated_damage: Vec<String>,
}

/// Runs `sql` over the change events of `log` (the table `changes`).
pub fn query(sql: &str, log: QueryLog) -> Result<QueryResult> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::io(e, "starting the query runtime"))?;
    rt.block_on(async move {
        // One partition: the log is one ordered stream, read once per
        // scan; more partitions would only shuffle its rows.
        let config = SessionConfig::new().with_target_partitions(1);
        let ctx = SessionContext::new_with_config(config);
        let schema = changes_schema();
        let tolerated = Arc::new(Mutex::new(Vec::new()));
        let partition = Arc::new(ChangesPartition {
            log,
            schema: schema.clone(),
            tolerated: tolerated.clone(),
        });
        let table = StreamingTable::try_new(schema, vec![partition])?;
        ctx.register_table(CHANGES_TABLE, Arc::new(table))?;
        let df = ctx.sql(sql).await?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let tolerated_damage = tolerated.lock().map(|t| t.clone()).unwrap_or_default();
        Ok(QueryResult {
            schema,
            batches,
            tolerated_damage,
        })
    })
    .map_err(|e: DataFusionError| unwrap_external(e))
}

/// The columnar error a query failed with, when the log reader's error
/// reached DataFusion as an external error.
fn unwrap_external(e: DataFusionError) -> Error {
    match e {
        DataFusionError::External(inner) => match inner.downcast::<Error>() {
            Ok(e) => *e,
            Err(other) => Error::Query(other.to_string()),
        },
        DataFusionError::Context(_, inner) => unwrap_external(*inner),
        DataFusionError::Shared(s) => Error::Query(s.to_string()),
        other => Error::Query(other.to_string()),
    }
}

/// A result value as JSON: numbers and booleans as themselves (a float
/// that is not finite as text), NULL as `null`, everything else as the
/// text the table output shows.
pub fn json_value(col: &dyn arrow::array::Array, row: usize) -> Result<serde_json::Value> {
    use arrow::array::AsArray;
    use arrow::datatypes::{self as t, DataType};
    use serde_json::Value as J;
    if col.is_null(row) {
        return Ok(J::Null);
    }
    Ok(match col.data_type() {
        DataType::Boolean => J::Bool(col.as_boolean().value(row)),
        DataType::Int8 => J::from(col.as_primitive::<t::Int8Type>().value(row)),
        DataType::Int16 => J::from(col.as_primitive::<t::Int16Type>().value(row)),
        DataType::Int32 => J::from(col.as_primitive::<t::Int32Type>().value(row)),
        DataType::Int64 => J::from(col.as_primitive::<t::Int64Type>().value(row)),
        DataType::UInt8 => J::from(col.as_primitive::<t::UInt8Type>().value(row)),
        DataType::UInt16 => J::from(col.as_primitive::<t::UInt16Type>().value(row)),
        DataType::UInt32 => J::from(col.as_primitive::<t::UInt32Type>().value(row)),
        DataType::UInt64 => J::from(col.as_primitive::<t::UInt64Type>().value(row)),
        DataType::Float32 | DataType::Float64 => {
            let v = if let DataType::Float32 = col.data_type() {
                f64::from(col.as_primitive::<t::Float32Type>().value(row))
            } else {
                col.as_primitive::<t::Float64Type>().value(row)
            };
            serde_json::Number::from_f64(v).map_or_else(|| J::String(v.to_string()), J::Number)
        }
        _ => J::String(cell_text(col, row)?),
    })
}

/// A result value as the table output shows it (`NULL` for null;
/// timestamps as `YYYY-MM-DDTHH:MM:SS[.ffffff]` followed by their zone).
pub fn cell_text(col: &dyn arrow::array::Array, row: usize) -> Result<String> {
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    if col.is_null(row) {
        return Ok("NULL".into());
    }
    let opts = FormatOptions::default().with_null("NULL");
    let f = ArrayFormatter::try_new(col, &opts)?;
    Ok(f.value(row).to_string())
}
