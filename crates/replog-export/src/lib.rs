//! Change events of any replog source, and the CDC envelopes they are
//! exported in.
//!
//! - [`event`]: the row changes of any [`replog_core::txn::TxnSource`]
//!   (native logical logs, MySQL/MariaDB binlogs, PostgreSQL WAL and
//!   logical decoding outputs) as one event per row, in commit order, with
//!   the table's columns and types, for every exporter.
#![deny(missing_docs)]

pub mod event;
