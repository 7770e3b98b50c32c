//! A MySQL/MariaDB replication client: replog as a replica.
//!
//! It connects to a server ([`client::Client`]: handshake,
//! `mysql_native_password`), asks for its binlog from a file
//! ([`url::Source`], COM_REGISTER_SLAVE, COM_BINLOG_DUMP, checksums and
//! heartbeats negotiated) and hands the events over as binlog files
//! ([`feed::Dump`], a [`replog_binlog::files::Feed`]), so that the
//! events go through replog's own binlog reader and importer, as the
//! same events read from files would. The wire subset is specified in
//! `formats/mysql-replication.md`.
//!
//! ```no_run
//! use replog_binlog::files::Feed;
//! let src = replog_mysqlrepl::url::Source::parse("mysql://repl@127.0.0.1:3306?server-id=99")
//!     .unwrap();
//! let mut dump = replog_mysqlrepl::feed::Dump::new(src, b"secret".to_vec(), false);
//! while let Some((name, mut file)) = dump.next_file(Default::default()).unwrap() {
//!     while let Some(ev) = file.next_event() {
//!         let ev = ev.unwrap();
//!         println!("{name}:{} {}", ev.position(), ev.type_name());
//!     }
//! }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod client;
pub mod feed;
/// Fuzz-target bodies: compiled for tests and with the `fuzzing` feature
/// (which `fuzz/` enables); not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz_support;
pub mod url;
pub mod wire;
