//! Offline decoding of PostgreSQL heap WAL into row changes (issue 14).
//!
//! A catalog file (the output of `fixtures/postgres/catalog.sql` on the
//! server that wrote the WAL) maps relation files to tables and describes
//! each attribute's layout. [`decode::Decoder`] turns Heap / Heap2 records
//! into logical INSERT / UPDATE / DELETE / TRUNCATE records, reassembles
//! TOAST values from the chunks inserted in the same transaction, ties
//! subtransactions to their top-level transaction and hands out only
//! committed transactions, in commit order. [`source::PgWalSource`] makes
//! that a `TxnSource`, so every command that reads a logical log reads
//! WAL. The layouts are described in `formats/pgheap.md`.
#![deny(missing_docs)]

pub mod catalog;
pub mod decode;
/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
pub mod heap;
pub mod history;
pub mod relmap;
pub mod source;
pub mod tuple;
pub mod types;

pub use catalog::{Attr, Catalog, CatalogError, RelInfo};
pub use decode::{Decoder, Report, Undecoded};
pub use source::{PgWalInput, PgWalSource};
