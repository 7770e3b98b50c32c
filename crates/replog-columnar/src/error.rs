//! The errors of columnar work: reading the log, a value that does not fit
//! its column, writing files, running a query.

use std::fmt;

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The log: damage, a malformed record (the core error names the
    /// offset and LSN).
    Log(replog_core::Error),
    /// The log's content, found while reading changes: a row change of an
    /// unknown relation, a value of the wrong kind for its column (the
    /// message names the LSN and offset).
    Content(String),
    /// A file could not be written or read.
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Arrow or Parquet refused a batch or a file.
    Arrow(String),
    /// A query failed (planning or execution).
    Query(String),
}

/// The result of columnar work.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A content error.
    #[cold]
    pub fn log(message: String) -> Error {
        Error::Content(message)
    }

    /// Whether this is damage of the log (a [`replog_core::Error`] whose
    /// kind [is damage](replog_core::ErrorKind::is_damage)), not a failure
    /// of the command.
    pub fn is_damage(&self) -> bool {
        matches!(self, Error::Log(e) if e.kind().is_damage())
    }

    /// An I/O error while `context`.
    #[cold]
    pub fn io(source: std::io::Error, context: impl Into<String>) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Log(e) => write!(f, "{e}"),
            Error::Content(m) | Error::Arrow(m) | Error::Query(m) => f.write_str(m),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Log(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<replog_core::Error> for Error {
    fn from(e: replog_core::Error) -> Error {
        Error::Log(e)
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Error {
        Error::Arrow(e.to_string())
    }
}

impl From<parquet::errors::ParquetError> for Error {
    fn from(e: parquet::errors::ParquetError) -> Error {
        Error::Arrow(e.to_string())
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Error {
        Error::Query(e.to_string())
    }
}
