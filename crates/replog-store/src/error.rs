//! Errors of the store: the one error of SQL work
//! ([`replog_schema::SqlError`]), shared with the catalog's DDL interpreter:
//! a kind, a MySQL-compatible error code where one exists, a message, and
//! the statement it came from.

pub use replog_schema::error::{SqlError as Error, SqlErrorKind as ErrorKind};

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
