//! The replog **reference store**: an embedded, MySQL-flavoured SQL engine
//! whose every source of nondeterminism is injected, and which captures per
//! committed transaction what the three kinds of replication log need.
//!
//! - [`Store`] executes a MySQL subset (parsed by sqlparser's MySQL dialect)
//!   over a [`Storage`] engine ([`MemStorage`] for now), with transactions,
//!   statement-level atomicity and MySQL's strict-mode value rules.
//! - [`Environment`] supplies the clock, random numbers, UUIDs, the
//!   connection id and the order of unordered row visits; [`SimEnvironment`]
//!   is a deterministic one. RAND() is MySQL's own `my_rnd` ([`MyRnd`]).
//! - [`CommittedTransaction`]s carry the statements with their replay
//!   [`StatementContext`] (statement log) and the [`RowChange`]s (logical
//!   log), plus the state digests before and after.
//! - Followers replay statements ([`Store::replay_transaction`]) or apply row
//!   changes ([`Store::apply_transaction`]); both reach the same
//!   [`Store::digest`].
//! - [`Store::dump_table`] prints rows in the MariaDB fixtures' TSV form.
//!
//! Digests and dumps are specified in `formats/store.md`.
//!
//! ```
//! use replog_store::{SimEnvironment, Store};
//!
//! let mut leader = Store::new(SimEnvironment::default());
//! leader.execute_script("
//!     CREATE DATABASE shop; USE shop;
//!     CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, price DECIMAL(8,2));
//!     INSERT INTO items (price) VALUES (1.005), (RAND() * 10);
//! ").unwrap();
//!
//! // Statement-based follower: same SQL, same captured context.
//! let mut follower = Store::new(SimEnvironment::new(0, 99));
//! for tx in leader.committed() {
//!     follower.replay_transaction(tx).unwrap();
//! }
//! assert_eq!(follower.digest(), leader.digest());
//! assert_eq!(leader.dump_table("shop", "items").unwrap().lines().next(), Some("1\t1.01"));
//! ```
#![deny(missing_docs)]

pub mod capture;
pub mod conflict;
mod dates;
pub mod decimal;
pub mod deep;
pub mod digest;
pub mod dump;
mod engine;
pub mod env;
pub mod error;
pub mod eval;
mod functions;
/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
mod json;
pub mod logwrite;
mod lookup;
pub mod parse_cache;
pub mod replay;
pub mod script;
pub mod snapshot;
pub mod storage;
pub mod text;
pub mod types;

pub use capture::{CapturedStatement, CommittedTransaction, RowChange, StatementContext};
pub use conflict::{Conflict, ConflictKind, ConflictPolicy, Resolution};
pub use engine::{MAX_RECURSION_ROUNDS, MAX_RELATION_VALUES, ResultSet, StatementResult, Store};
pub use env::{Environment, MyRnd, SimEnvironment, VisitOrder};
pub use error::{Error, ErrorKind, Result};
pub use functions::{DEFAULT_MAX_ALLOWED_PACKET, MAX_MAX_ALLOWED_PACKET, MIN_MAX_ALLOWED_PACKET};
pub use storage::{MemStorage, Namespace, Storage, TableId};
pub use types::{Column, ColumnDefault, Datum, Row, SqlType, TableDef};
