//! Change events of any replog source, and the CDC envelopes they are
//! exported in.
//!
//! - [`event`]: the row changes of any [`replog_core::txn::TxnSource`]
//!   (native logical logs, MySQL/MariaDB binlogs, PostgreSQL WAL and
//!   logical decoding outputs) as one event per row, in commit order, with
//!   the table's columns and types, for every exporter.
//! - [`debezium`]: Debezium's change events (PostgreSQL and MySQL
//!   connector shapes, Kafka Connect's JSON converter);
//! - [`maxwell`]: Maxwell's daemon rows;
//! - [`canal`]: Canal's flat JSON as TiCDC's canal-json writes it;
//! - [`pgcatalog`]: a PostgreSQL catalog file completing pgoutput's
//!   RELATIONs (primary keys, enum labels).
#![deny(missing_docs)]

pub mod canal;
pub mod debezium;
pub mod error;
pub mod event;
mod json;
pub mod maxwell;
pub mod pgcatalog;
mod pgtext;

pub use error::Error;
