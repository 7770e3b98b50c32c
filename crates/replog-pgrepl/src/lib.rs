//! A client of PostgreSQL's streaming replication protocol.
//!
//! - [`url`]: `postgres://user@host:port/db?slot=…&publication=…` and where
//!   the password comes from (never the command line);
//! - [`conn`]: the connection (TCP or unix socket), startup with
//!   `replication=database` or `replication=true`, authentication (trust,
//!   password, MD5, SCRAM-SHA-256 through `postgres-protocol`), simple
//!   queries and replication commands;
//! - [`copy`]: the CopyData messages of streaming (XLogData, keepalive,
//!   standby status update), zero-copy, every error at an absolute byte
//!   offset of the connection's stream;
//! - [`logical`]: a slot's pgoutput messages fed into
//!   [`replog_pglogical`]'s decoder and assembler (the same as for capture
//!   files), transactions confirmed to the server only once consumed;
//! - [`physical`]: WAL received into segment files as `pg_receivewal`
//!   writes them.
//!
//! The subset of the protocol used is specified in
//! `formats/pg-replication.md`.
//!
//! ```no_run
//! use replog_core::txn::{TxnEvent, TxnSource};
//! use replog_pgrepl::{logical, url::{Password, PgUrl}};
//! let url = PgUrl::parse("postgres://rep@127.0.0.1:5432/app?slot=s&publication=p")?;
//! let mut src = logical::open_logical(&url, &Password::Environment, &Default::default())?;
//! while let Some(ev) = src.next() {
//!     if let TxnEvent::Transaction(tx) = ev? {
//!         println!("{} records at {}", tx.records().len(), tx.position());
//!     }
//! }
//! # Ok::<(), replog_core::error::Error>(())
//! ```
#![deny(missing_docs)]

pub mod conn;
pub mod copy;
/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
pub mod logical;
pub mod physical;
pub mod url;
