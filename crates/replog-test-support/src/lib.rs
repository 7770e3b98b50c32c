//! Test helpers of the replog workspace, kept out of every published
//! crate's API: golden-file checks ([`bless`]), the harness that runs
//! `replog` commands in-process ([`cli_harness!`]) and the oracle fixtures
//! of [`mariadb`] and [`postgres`].
//!
//! A dev-dependency only (`publish = false`).
#![deny(missing_docs)]

pub mod bless;
mod cli;
pub mod mariadb;
pub mod mariadb_server;
pub mod postgres;
mod smoke_rng;

pub use smoke_rng::{SmokeRng, smoke};

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}
