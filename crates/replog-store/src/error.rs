//! Errors of the store: one type with a kind, a MySQL-compatible error code
//! where one exists, a message, and the statement it came from.

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The SQL text does not parse.
    Parse,
    /// The statement parses but uses a construct outside the supported subset.
    Unsupported,
    /// No default database selected (MySQL 1046).
    NoDatabase,
    /// Unknown database (1049).
    UnknownDatabase,
    /// Database already exists (1007).
    DatabaseExists,
    /// Unknown table (1146 / 1051).
    UnknownTable,
    /// Table already exists (1050).
    TableExists,
    /// Unknown column (1054).
    UnknownColumn,
    /// Duplicate entry for a primary or unique key (1062).
    DuplicateKey,
    /// A value does not fit its column (1264 out of range, 1406 too long).
    OutOfRange,
    /// A value cannot be converted to its column's type (1366 / 1265 / 1292).
    BadValue,
    /// NULL into a NOT NULL column (1048) or no default (1364).
    NotNull,
    /// Division by zero in strict mode (1365).
    DivisionByZero,
    /// A logical change does not apply: missing row or before-image mismatch.
    Conflict,
    /// Column count does not match value count (1136).
    ColumnCount,
    /// Invalid table definition (e.g. no primary key, bad type parameters).
    BadDefinition,
    /// The storage engine failed: damaged pages, a WAL write or commit that
    /// did not succeed (MySQL 1030, "Got error from storage engine").
    Storage,
}

/// An error from parsing, executing or applying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    statement: Option<String>,
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A new error.
    #[cold]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            statement: None,
        }
    }

    /// Shorthand for [`ErrorKind::Unsupported`].
    #[cold]
    pub fn unsupported(what: impl fmt::Display) -> Error {
        Error::new(ErrorKind::Unsupported, format!("unsupported: {what}"))
    }

    /// Attaches the statement text (kept to 200 characters), unless one is
    /// already attached.
    pub fn with_statement(mut self, sql: &str) -> Error {
        if self.statement.is_none() {
            let one_line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let short: String = one_line.chars().take(200).collect();
            self.statement = Some(short);
        }
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without the statement.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The statement the error came from, if known.
    pub fn statement(&self) -> Option<&str> {
        self.statement.as_deref()
    }

    /// The MySQL error number closest to this error, if any.
    pub fn mysql_code(&self) -> Option<u16> {
        Some(match self.kind {
            ErrorKind::Parse => 1064,
            ErrorKind::NoDatabase => 1046,
            ErrorKind::UnknownDatabase => 1049,
            ErrorKind::DatabaseExists => 1007,
            ErrorKind::UnknownTable => 1146,
            ErrorKind::TableExists => 1050,
            ErrorKind::UnknownColumn => 1054,
            ErrorKind::DuplicateKey => 1062,
            ErrorKind::OutOfRange => 1264,
            ErrorKind::BadValue => 1366,
            ErrorKind::NotNull => 1048,
            ErrorKind::DivisionByZero => 1365,
            ErrorKind::ColumnCount => 1136,
            ErrorKind::Storage => 1030,
            ErrorKind::Unsupported | ErrorKind::Conflict | ErrorKind::BadDefinition => {
                return None;
            }
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.statement {
            write!(f, " (in statement: {s})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<replog_schema::catalog::CatalogError> for Error {
    fn from(e: replog_schema::catalog::CatalogError) -> Error {
        use replog_schema::catalog::CatalogErrorKind as K;
        let kind = match e.kind() {
            K::Parse => ErrorKind::Parse,
            K::NoDatabase => ErrorKind::NoDatabase,
            K::UnknownDatabase => ErrorKind::UnknownDatabase,
            K::DatabaseExists => ErrorKind::DatabaseExists,
            K::UnknownTable => ErrorKind::UnknownTable,
            K::TableExists => ErrorKind::TableExists,
            K::UnknownColumn => ErrorKind::UnknownColumn,
            K::BadDefinition => ErrorKind::BadDefinition,
            _ => ErrorKind::Unsupported,
        };
        let err = Error::new(kind, e.message());
        match e.statement() {
            Some(s) => err.with_statement(s),
            None => err,
        }
    }
}
