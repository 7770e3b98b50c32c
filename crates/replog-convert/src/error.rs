//! Errors of the converters: what went wrong, and where in the input log
//! (LSN, segment and absolute offset) when it concerns a record.

use std::fmt;

/// Result type of the converters.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The category of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input log is damaged (checksum, torn tail, structure) where the
    /// recovery policy does not accept it.
    Damage,
    /// A record body could not be decoded.
    Malformed,
    /// A record cannot be carried into the target format exactly (and the
    /// caller did not allow an imprecise conversion).
    CannotConvert,
    /// A record cannot be inverted (DDL, TRUNCATE, a before-image without
    /// every column).
    CannotInvert,
    /// The inputs do not fit the operation (wrong kind of log, two logs of
    /// different kinds).
    Mismatch,
    /// Reading or writing failed.
    Io,
}

/// What went wrong, and where.
#[derive(Debug)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    lsn: Option<u64>,
    offset: Option<u64>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    /// The message already names the offset (errors of the readers).
    offset_in_message: bool,
}

impl Error {
    /// A new error.
    #[cold]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                lsn: None,
                offset: None,
                source: None,
                offset_in_message: false,
            }),
        }
    }

    /// Attaches the LSN and absolute file offset of the record concerned.
    #[cold]
    pub fn at(mut self, lsn: u64, offset: u64) -> Error {
        self.inner.lsn = Some(lsn);
        self.inner.offset = Some(offset);
        self.inner.offset_in_message = false;
        self
    }

    /// Prefixes the message with the LSN of the record concerned.
    #[cold]
    pub fn prefixed(mut self, lsn: u64) -> Error {
        self.inner.message = format!("LSN {lsn}: {}", self.inner.message);
        if self.inner.lsn.is_none() && self.inner.offset_in_message {
            self.inner.lsn = Some(lsn);
        }
        self
    }

    /// An I/O error with what was being done.
    #[cold]
    pub fn io(e: std::io::Error, what: impl Into<String>) -> Error {
        let mut err = Error::new(ErrorKind::Io, format!("{}: {e}", what.into()));
        err.inner.source = Some(Box::new(e));
        err
    }

    /// The category.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// LSN of the record concerned, when there is one.
    pub fn lsn(&self) -> Option<u64> {
        self.inner.lsn
    }

    /// Absolute offset in the segment file, when known.
    pub fn offset(&self) -> Option<u64> {
        self.inner.offset
    }

    /// The message without the position.
    pub fn message(&self) -> &str {
        &self.inner.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        match (self.inner.lsn, self.inner.offset) {
            (Some(_), Some(_)) if self.inner.offset_in_message => Ok(()),
            (Some(l), Some(o)) => write!(f, " (at LSN {l}, offset {o})"),
            (None, Some(_)) if self.inner.offset_in_message => Ok(()),
            (None, Some(o)) => write!(f, " (at offset {o})"),
            (Some(l), None) => write!(f, " (at LSN {l})"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<replog_core::Error> for Error {
    #[cold]
    fn from(e: replog_core::Error) -> Error {
        let kind = match e.kind() {
            replog_core::ErrorKind::Io => ErrorKind::Io,
            replog_core::ErrorKind::Checksum { .. }
            | replog_core::ErrorKind::Discontinuity
            | replog_core::ErrorKind::UnexpectedEof { .. } => ErrorKind::Damage,
            replog_core::ErrorKind::Mismatch => ErrorKind::Mismatch,
            _ => ErrorKind::Malformed,
        };
        // The core error's text already names its offset.
        let mut err = Error::new(kind, e.to_string());
        err.inner.offset = e.offset();
        err.inner.offset_in_message = true;
        err.inner.source = Some(Box::new(e));
        err
    }
}

impl From<std::io::Error> for Error {
    #[cold]
    fn from(e: std::io::Error) -> Error {
        Error::io(e, "writing output")
    }
}

impl From<Error> for replog_core::Error {
    /// The error as a source of transactions hands it over: a reader's
    /// error as it was, any other with its kind, message and position.
    #[cold]
    fn from(e: Error) -> replog_core::Error {
        let text = e.to_string();
        // The text names the LSN and offset already.
        let Inner { kind, source, .. } = *e.inner;
        if let Some(core) = source.and_then(|s| s.downcast::<replog_core::Error>().ok())
            && core.to_string() == text
        {
            return *core;
        }
        let kind = match kind {
            ErrorKind::Mismatch => replog_core::ErrorKind::Mismatch,
            ErrorKind::CannotConvert | ErrorKind::CannotInvert => {
                replog_core::ErrorKind::Unsupported
            }
            _ => replog_core::ErrorKind::Malformed,
        };
        replog_core::Error::unplaced(kind, text)
    }
}

/// Ends a conversion at damage its recovery policy does not accept.
pub fn stop_unless_tolerated(d: &replog_core::reader::Damage) -> Result<()> {
    if d.tolerated {
        Ok(())
    } else {
        stop_if_intolerable(Some(d))
    }
}

/// Ends a conversion if its input ended at damage the recovery policy does
/// not accept ([`replog_core::txn::TxnSource::intolerable`]).
pub fn stop_if_intolerable(d: Option<&replog_core::reader::Damage>) -> Result<()> {
    match d {
        None => Ok(()),
        Some(d) => Err(Error::new(
            ErrorKind::Damage,
            format!("input is damaged; conversion stopped: {}", d.to_error()),
        )),
    }
}

/// How a converter's input ended: the transaction left open, the damage
/// the recovery policy accepted, the state after the last transaction
/// converted. Every conversion report has one ([`InputEnd`] of it).
#[derive(Debug, Clone, Copy)]
pub struct InputEnd<'a> {
    /// The transaction left open at the end of the input, not converted.
    pub uncommitted: Option<&'a replog_core::reader::UncommittedTail>,
    /// Damage the recovery policy accepted as the end of the input.
    pub damage: &'a [replog_core::reader::Damage],
    /// State digest after the last converted transaction.
    pub final_state: Option<u64>,
}

/// Implements `tail()` for reports with `uncommitted`, `damage` and
/// `final_state` fields.
macro_rules! input_end {
    ($($t:ty),*) => {$(
        impl $t {
            /// How the input ended.
            pub fn tail(&self) -> $crate::error::InputEnd<'_> {
                $crate::error::InputEnd {
                    uncommitted: self.uncommitted.as_ref(),
                    damage: &self.damage,
                    final_state: self.final_state,
                }
            }
        }
    )*};
}
pub(crate) use input_end;

/// Ends the comparison of log `label` (A or B) at damage its recovery
/// policy does not accept. A state gap is not such damage: a comparison
/// reports it as a difference (its transaction comes next).
pub(crate) fn stop_at_damage(label: &str, d: &replog_core::reader::Damage) -> Result<()> {
    if d.tolerated || matches!(d.kind, replog_core::reader::DamageKind::StateGap { .. }) {
        Ok(())
    } else {
        Err(damaged_log(label, d))
    }
}

/// The error of a compared log (`label`: A or B) damaged where its
/// recovery policy does not accept it.
#[cold]
pub(crate) fn damaged_log(label: &str, d: &replog_core::reader::Damage) -> Error {
    Error::new(
        ErrorKind::Damage,
        format!("log {label} is damaged: {}", d.to_error()),
    )
}
