//! PostgreSQL's logical decoding outputs read as replog log sources.
//!
//! PostgreSQL's logical replication and the CDC pipelines built on it speak
//! one of three output plugins; this crate reads the files people have of
//! each and turns them into replog's logical transactions:
//!
//! - **pgoutput**, protocol versions 1–4 ([`pgoutput`]: zero-copy message
//!   decoding), from `pg_recvlogical -P pgoutput -f FILE` or a COPY (text or
//!   CSV) of `pg_logical_slot_{get,peek}_binary_changes`;
//! - **test_decoding** text, from `pg_recvlogical` or a COPY of
//!   `pg_logical_slot_{get,peek}_changes`;
//! - **wal2json** format 1 and 2, from the same.
//!
//! [`file::sniff`] recognises a file from its first bytes;
//! [`source::PgLogicalInput`] opens it as a
//! [`replog_core::txn::TxnSource`] whose transactions come in commit order
//! (streamed and prepared transactions assembled, aborted ones dropped and
//! counted) with PostgreSQL's LSNs, xids and commit times. Every error
//! names the absolute byte offset in the file and, where known, the LSN.
//! The accepted files and the mapping to logical records are specified in
//! `formats/pglogical.md`.
#![deny(missing_docs)]

pub mod assemble;
pub mod coltype;
pub mod file;
/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
pub mod pgoutput;
pub mod source;
pub mod stream;
mod text;

pub use file::{Container, Detected, Plugin, sniff};
pub use source::{PgLogicalInput, PgLogicalSource};
pub use stream::{FedMessage, MessageFeed, PgStreamSource, stream_source};
