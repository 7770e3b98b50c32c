//! One module per subcommand.

pub mod binlog;
pub mod common;
pub mod convert;
pub mod determinism;
pub mod diff;
pub mod dump;
pub mod export;
pub mod inspect;
pub mod invert;
pub mod lag;
pub mod parquet;
pub mod pglive;
pub mod pgwal;
pub mod query;
pub mod record;
pub mod replay;
pub mod rows;
pub mod snapshot;
pub mod verify;
