//! One module per subcommand.

pub mod binlog;
pub mod common;
pub mod inspect;
pub mod verify;
pub mod record;
pub mod replay;
pub mod dump;
