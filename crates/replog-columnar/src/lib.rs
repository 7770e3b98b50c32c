//! Change events of any replog source as Arrow data: Parquet change tables
//! for engines that scale out (Spark, Trino, DuckDB, DataFusion), and SQL
//! over a log's changes in process with DataFusion.
//!
//! Every source replog reads (native logical logs, MySQL/MariaDB ROW and
//! MIXED binlogs, PostgreSQL WAL with its catalog, logical decoding
//! captures) is a [`replog_core::txn::TxnSource`]; [`changes::read_changes`]
//! walks its committed transactions and hands each row change, with its
//! position, commit time and transaction, to a [`changes::ChangeSink`]:
//!
//! - [`parquet_out::export_parquet`] writes the generic `changes` dataset
//!   (rows as JSON) and one typed dataset per table, hive-partitioned by
//!   table and commit date;
//! - [`query::query`] runs SQL over the table `changes`, streamed from the
//!   log.
//!
//! The datasets' layout and columns are specified in `formats/columnar.md`.
#![deny(missing_docs)]

pub mod batch;
pub mod changes;
pub mod error;
pub mod parquet_out;
pub mod query;
pub mod schema;

pub use error::{Error, Result};
