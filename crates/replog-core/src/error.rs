//! Errors with absolute byte offsets.
//!
//! Every error a reader returns names the absolute offset in the file (or in
//! the stream) where the problem was found, and where it is known, the index of
//! the record being decoded. Checksum failures carry the expected and actual
//! values.

use std::fmt;

/// Result type of every replog reader.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. Kept small so that `Result<T>` stays one pointer wide.
#[derive(Debug)]
pub struct Error {
    inner: Box<ErrorInner>,
}

#[derive(Debug)]
struct ErrorInner {
    kind: ErrorKind,
    offset: Option<u64>,
    record: Option<u64>,
    message: String,
    source: Option<std::io::Error>,
}

/// The category of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended inside a structure; `needed` more bytes were expected.
    UnexpectedEof {
        /// How many more bytes the structure needed.
        needed: u64,
    },
    /// The file does not start with the expected magic bytes.
    BadMagic,
    /// A version, kind or page format this reader does not support.
    Unsupported,
    /// A checksum did not match.
    Checksum {
        /// The checksum stored in the input.
        expected: u32,
        /// The checksum computed over the input.
        actual: u32,
    },
    /// A field holds a value that its layout does not allow.
    Malformed,
    /// A length field is larger than the data or than a reader limit.
    TooLarge,
    /// Positions, segments or state digests do not follow on from each other.
    Discontinuity,
    /// The log does not fit the reader or applier (kind, page format).
    Mismatch,
    /// An I/O error from the operating system.
    Io,
}

impl ErrorKind {
    /// Whether the error is about the input's bytes — a structure cut
    /// short, malformed or too long, a bad magic or checksum, positions
    /// that do not follow on — rather than about what the reader supports,
    /// whether the log fits the command, or the operating system: damage,
    /// which a recovery policy may accept as the end of the log.
    pub fn is_damage(self) -> bool {
        matches!(
            self,
            ErrorKind::UnexpectedEof { .. }
                | ErrorKind::BadMagic
                | ErrorKind::Checksum { .. }
                | ErrorKind::Malformed
                | ErrorKind::TooLarge
                | ErrorKind::Discontinuity
        )
    }
}

impl Error {
    /// A new error of `kind` at absolute `offset`.
    #[cold]
    pub fn new(kind: ErrorKind, offset: u64, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(ErrorInner {
                kind,
                offset: Some(offset),
                record: None,
                message: message.into(),
                source: None,
            }),
        }
    }

    /// An error of `kind` about no one place in the input (a conversion
    /// that cannot go on, a mismatch of inputs): its message says what.
    #[cold]
    pub fn unplaced(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(ErrorInner {
                kind,
                offset: None,
                record: None,
                message: message.into(),
                source: None,
            }),
        }
    }

    /// A malformed-field error at `offset`.
    #[cold]
    pub fn malformed(offset: u64, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Malformed, offset, message)
    }

    /// The input ended at `offset` while `needed` more bytes were expected.
    #[cold]
    pub fn eof(offset: u64, needed: u64, what: &str) -> Error {
        Error::new(
            ErrorKind::UnexpectedEof { needed },
            offset,
            format!("unexpected end of input in {what}: {needed} more bytes needed"),
        )
    }

    /// An I/O error, optionally tied to an offset.
    #[cold]
    pub fn io(err: std::io::Error, context: impl Into<String>) -> Error {
        let message = format!("{}: {err}", context.into());
        Error {
            inner: Box::new(ErrorInner {
                kind: ErrorKind::Io,
                offset: None,
                record: None,
                message,
                source: Some(err),
            }),
        }
    }

    /// Attach the index of the record being decoded.
    #[must_use]
    pub fn with_record(mut self, record: u64) -> Error {
        self.inner.record = Some(record);
        self
    }

    /// Replace the offset (used when a relative parser is rebased).
    #[must_use]
    pub fn with_offset(mut self, offset: u64) -> Error {
        self.inner.offset = Some(offset);
        self
    }

    /// Prefix the message with context, such as the file name.
    #[must_use]
    pub fn context(mut self, context: impl fmt::Display) -> Error {
        self.inner.message = format!("{context}: {}", self.inner.message);
        self
    }

    /// The error's category.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Absolute byte offset at which the problem was found, if known.
    pub fn offset(&self) -> Option<u64> {
        self.inner.offset
    }

    /// Index of the record being decoded, if known.
    pub fn record(&self) -> Option<u64> {
        self.inner.record
    }

    /// The message without the offset suffix.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// What went wrong without where: the message and, for a checksum
    /// mismatch, both values (for reports that print the offset
    /// themselves, so it is not said twice).
    pub fn cause(&self) -> String {
        match self.inner.kind {
            ErrorKind::Checksum { expected, actual } => format!(
                "{} (stored {expected:#010x}, computed {actual:#010x})",
                self.inner.message
            ),
            _ => self.inner.message.clone(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cause())?;
        match (self.inner.offset, self.inner.record) {
            (Some(o), Some(r)) => write!(f, " (at offset {o}, 0x{o:x}, record {r})"),
            (Some(o), None) => write!(f, " (at offset {o}, 0x{o:x})"),
            (None, Some(r)) => write!(f, " (record {r})"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_offset_and_record() {
        let e = Error::malformed(4096, "bad tag").with_record(7);
        assert_eq!(e.to_string(), "bad tag (at offset 4096, 0x1000, record 7)");
        assert_eq!(e.offset(), Some(4096));
        assert_eq!(
            std::mem::size_of::<Result<()>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn checksum_shows_both_values() {
        let e = Error::new(
            ErrorKind::Checksum {
                expected: 1,
                actual: 2,
            },
            8,
            "frame checksum mismatch",
        );
        assert!(
            e.to_string()
                .contains("stored 0x00000001, computed 0x00000002")
        );
    }
}
