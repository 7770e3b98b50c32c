//! The one error of SQL work: what the catalog's DDL interpreter and the
//! reference store's execution report. A kind, MariaDB's message where
//! there is one, the MySQL error number closest to it, and the statement.

use std::fmt;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SqlErrorKind {
    /// SQL text that sqlparser's MySQL dialect does not read (1064).
    Parse,
    /// A statement or clause outside what is implemented.
    Unsupported,
    /// An unqualified name and no default database (1046).
    NoDatabase,
    /// A database that is not there: CREATE TABLE in it, DROP DATABASE
    /// (1049 / 1008).
    UnknownDatabase,
    /// CREATE DATABASE of one that is there (1007).
    DatabaseExists,
    /// ALTER, DROP, RENAME or TRUNCATE of a table that is not there
    /// (1146 / 1051).
    UnknownTable,
    /// CREATE TABLE or RENAME TABLE onto a name in use (1050).
    TableExists,
    /// A key, position, dropped or referenced column that is not there
    /// (1072 / 1054 / 1091).
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
    /// A definition MariaDB refuses (bad type parameters, duplicate column,
    /// two primary keys, invalid default, no primary key where one is
    /// needed, …).
    BadDefinition,
    /// ROLLBACK TO or RELEASE of a savepoint that is not there (1305).
    UnknownSavepoint,
    /// The storage engine failed: damaged pages, a WAL write or commit that
    /// did not succeed (1030, "Got error from storage engine").
    Storage,
    /// A statement longer than `max_allowed_packet` (1153,
    /// ER_NET_PACKET_TOO_LARGE).
    PacketTooLarge,
    /// SET of a variable in a scope where it is read-only (1621).
    ReadOnlyVariable,
    /// A string function's result longer than `max_allowed_packet`, in a
    /// statement that changes rows under strict mode (1301; a query gets
    /// NULL and the warning).
    ResultTooLong,
}

/// An error from interpreting, executing or applying SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    kind: SqlErrorKind,
    message: String,
    statement: Option<String>,
}

impl SqlError {
    /// A new error.
    #[cold]
    pub fn new(kind: SqlErrorKind, message: impl Into<String>) -> SqlError {
        SqlError {
            kind,
            message: message.into(),
            statement: None,
        }
    }

    /// A construct that is not implemented: `unsupported: WHAT`.
    #[cold]
    pub fn unsupported(what: impl fmt::Display) -> SqlError {
        SqlError::new(SqlErrorKind::Unsupported, format!("unsupported: {what}"))
    }

    /// Attaches the statement text (on one line, cut to 200 characters),
    /// unless one is attached already.
    pub fn with_statement(mut self, sql: &str) -> SqlError {
        if self.statement.is_none() {
            self.statement = Some(one_line(sql, 200));
        }
        self
    }

    /// The kind.
    pub fn kind(&self) -> SqlErrorKind {
        self.kind
    }

    /// The message, without the statement.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The statement the error came from, if known.
    pub fn statement(&self) -> Option<&str> {
        self.statement.as_deref()
    }

    /// The MySQL error number closest to this error, if any.
    pub fn mysql_code(&self) -> Option<u16> {
        use SqlErrorKind as K;
        Some(match self.kind {
            K::Parse => 1064,
            K::NoDatabase => 1046,
            K::UnknownDatabase => 1049,
            K::DatabaseExists => 1007,
            K::UnknownTable => 1146,
            K::TableExists => 1050,
            K::UnknownColumn => 1054,
            K::DuplicateKey => 1062,
            K::OutOfRange => 1264,
            K::BadValue => 1366,
            K::NotNull => 1048,
            K::DivisionByZero => 1365,
            K::ColumnCount => 1136,
            K::Storage => 1030,
            K::UnknownSavepoint => 1305,
            K::PacketTooLarge => 1153,
            K::ReadOnlyVariable => 1621,
            K::ResultTooLong => 1301,
            K::Unsupported | K::Conflict | K::BadDefinition => return None,
        })
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.statement {
            write!(f, " (in statement: {s})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SqlError {}

/// `sql` on one line (whitespace runs as one space), cut to `max` characters.
pub fn one_line(sql: &str, max: usize) -> String {
    sql.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}
