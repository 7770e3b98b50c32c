//! One module per subcommand.

pub mod binlog;
pub mod common;
pub mod determinism;
pub mod dump;
pub mod inspect;
pub mod record;
pub mod replay;
pub mod verify;
