//! The error of an export: the log's, the output's, or a value an envelope
//! cannot carry.

use std::fmt;

/// What stopped an export.
#[derive(Debug)]
pub enum Error {
    /// Reading or decoding the log (its message names the offset and LSN).
    Log(replog_core::Error),
    /// Writing the output.
    Io(std::io::Error),
    /// A value that does not fit its column's type in the envelope.
    Value {
        /// `schema.table.column`.
        column: String,
        /// What was wrong.
        what: String,
        /// LSN of the record.
        lsn: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Log(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "writing the output: {e}"),
            Error::Value { column, what, lsn } => write!(f, "LSN {lsn}: column {column}: {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Log(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Value { .. } => None,
        }
    }
}

impl From<replog_core::Error> for Error {
    fn from(e: replog_core::Error) -> Error {
        Error::Log(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e)
    }
}
