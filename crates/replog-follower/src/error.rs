//! The follower's errors: each names the file or directory it is about,
//! and says its cause once (the cause's text is part of the message, so it
//! is not repeated as a `source`).

use std::fmt;
use std::path::{Path, PathBuf};

/// Result of the follower's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a follower could not be opened, seeded, read or written.
#[derive(Debug)]
pub enum Error {
    /// A log, a snapshot, or a store's WAL or pages could not be read or
    /// are damaged (the cause names the offset).
    Log {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        cause: replog_core::Error,
    },
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// Writing into the follower's store failed.
    Write(String),
    /// The request cannot be met as asked (the text says why).
    Refused {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl Error {
    pub(crate) fn log(path: &Path, cause: replog_core::Error) -> Error {
        Error::Log {
            path: path.to_path_buf(),
            cause,
        }
    }

    pub(crate) fn io(path: &Path, cause: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            cause,
        }
    }

    pub(crate) fn refused(path: &Path, reason: String) -> Error {
        Error::Refused {
            path: path.to_path_buf(),
            reason,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Log { path, cause } => {
                // The cause may already start with the path.
                let text = cause.to_string();
                let p = path.display().to_string();
                if text.starts_with(&p) {
                    f.write_str(&text)
                } else {
                    write!(f, "{p}: {text}")
                }
            }
            Error::Io { path, cause } => write!(f, "{}: {cause}", path.display()),
            Error::Write(m) => write!(f, "writing the store: {m}"),
            Error::Refused { path, reason } => write!(f, "{}: {reason}", path.display()),
        }
    }
}

impl std::error::Error for Error {}
