//! Converters between replog's native log formats, and comparisons.
//!
//! - [`to_statement`]: a logical (row) log → a statement log (or plain SQL
//!   text) whose statements are executable, with literal values and a key
//!   `WHERE`, in the original transactions and with their state digests;
//! - [`invert`]: a logical log with full before-images → the log that undoes
//!   it, transaction by transaction in reverse order (MariaDB's flashback),
//!   reading the input twice with memory bounded by its largest transaction;
//! - [`diff`]: two logs of the same format compared record by record,
//!   aligned by transaction id;
//! - [`state_diff`]: two logs of any formats (or stores) replayed in step,
//!   the first transaction after which their digests differ, and the
//!   tables and rows that differ at the end;
//! - [`failover`]: the old leader's transactions a failover discards and
//!   the primary keys both leaders assigned to different rows;
//! - [`source`]: what commands read transactions from: a native log's
//!   segments or MySQL/MariaDB binlogs imported as they are read;
//! - [`atomic`]: output files that appear under their final name only when
//!   complete.
//!
//! ```
//! use replog_convert::to_statement::{ToStatementOptions, logical_bytes_to_statement};
//!
//! use replog_core::writer::LogWriter;
//! use replog_logical::sample::{sample_options, write_sample};
//!
//! let mut w = LogWriter::new(Vec::new(), &sample_options()).unwrap();
//! write_sample(&mut w).unwrap();
//! let log = w.finish().unwrap();
//! let (statement_log, report) =
//!     logical_bytes_to_statement(log, &ToStatementOptions { allow_imprecise: false, ..Default::default() }).unwrap();
//! assert_eq!(report.transactions, 7);
//! assert_eq!(report.messages_dropped, 2);
//! assert!(!statement_log.is_empty());
//! ```
#![deny(missing_docs)]

pub mod atomic;
pub mod diff;
pub mod error;
pub mod failover;
pub mod from_physical;
pub mod invert;
pub mod relations;
pub mod source;
pub mod state_diff;
pub mod to_logical;
pub mod to_statement;

pub use error::{Error, ErrorKind, Result};
