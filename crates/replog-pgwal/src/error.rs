//! Errors of the WAL reader: every one names where it happened.

use std::fmt;
use std::sync::Arc;

use replog_core::recovery::DamageClass;

use crate::Lsn;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading a file failed.
    Io,
    /// The page magic is not one of a supported PostgreSQL version.
    UnknownVersion,
    /// A page header is invalid (flags, address, timeline, sizes).
    PageHeader,
    /// A record header or its block references are invalid.
    Record,
    /// A record's CRC-32C does not match.
    Checksum,
    /// A record continued on the next page does not continue there.
    Continuation,
    /// Segments are missing between two files, or belong to other clusters.
    Gap,
    /// The input ends inside a record.
    Truncated,
    /// A full-page image cannot be decompressed or restored.
    Image,
    /// A timeline history file is malformed or contradicts another, or a
    /// page's timeline contradicts the history.
    History,
    /// A file name or argument is not usable.
    Usage,
}

/// An error with the file, absolute byte offset in it and LSN where it was
/// found.
#[derive(Debug, Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    place: Place,
}

/// Where the error was found, and what kind of damage it is; filled in as
/// the error travels out of the reader.
#[derive(Debug, Clone, Default)]
struct Place {
    file: Option<Arc<str>>,
    offset: Option<u64>,
    lsn: Option<Lsn>,
    class: Option<DamageClass>,
}

impl Error {
    /// An error of `kind`.
    #[cold]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        let (message, place) = (message.into(), Place::default());
        Error {
            inner: Box::new(Inner {
                kind,
                message,
                place,
            }),
        }
    }

    /// An I/O error while reading `file`.
    #[cold]
    pub fn io(err: std::io::Error, file: &str) -> Error {
        Error::new(ErrorKind::Io, err.to_string()).in_file(Some(Arc::from(file)))
    }

    pub(crate) fn in_file(mut self, file: Option<Arc<str>>) -> Error {
        if self.inner.place.file.is_none() {
            self.inner.place.file = file;
        }
        self
    }

    pub(crate) fn at(mut self, offset: u64, lsn: Lsn) -> Error {
        self.inner.place.offset = Some(offset);
        self.inner.place.lsn = Some(lsn);
        self
    }

    pub(crate) fn note(mut self, note: String) -> Error {
        self.inner.message.push_str("; ");
        self.inner.message.push_str(&note);
        self
    }

    pub(crate) fn classed(mut self, class: DamageClass) -> Error {
        self.inner.place.class = Some(class);
        self
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message, without the position.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The file the error was found in, when known.
    pub fn file(&self) -> Option<&str> {
        self.inner.place.file.as_deref()
    }

    /// Absolute byte offset in the file.
    pub fn offset(&self) -> Option<u64> {
        self.inner.place.offset
    }

    /// WAL position of the damage.
    pub fn lsn(&self) -> Option<Lsn> {
        self.inner.place.lsn
    }

    /// For damage found while reading: torn tail or corruption.
    pub fn damage_class(&self) -> Option<DamageClass> {
        self.inner.place.class
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.inner.place;
        if let Some(class) = p.class {
            write!(f, "{}: ", class.describe())?;
        }
        f.write_str(&self.inner.message)?;
        match (&p.file, p.offset, p.lsn) {
            (Some(file), Some(off), Some(lsn)) => {
                write!(f, " (in {file} at offset {off}, LSN {lsn})")
            }
            (None, Some(off), Some(lsn)) => write!(f, " (at offset {off}, LSN {lsn})"),
            (Some(file), _, _) => write!(f, " (in {file})"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for Error {}

/// Result with the reader's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
