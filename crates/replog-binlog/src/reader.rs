//! Event iterators: [`Events`] over a borrowed buffer (zero-copy) and
//! [`StreamReader`] over any `std::io::Read` with bounded memory. Both use
//! [`frame_event`] to find an event's extent and the same parser for its
//! content.

use crate::events::{
    Context, Event, FormatDescription, Framing, ReadOptions, frame_event, parse_event,
};
use crate::table_map::TableMap;
use crate::{MAGIC, is_binlog};
use replog_core::{Error, ErrorKind, Result};
use std::io::Read;
use std::sync::Arc;

/// A fallible iterator over the events of a binlog held in memory. It
/// yields `Result<Event>` and stops after the first error; trailing bytes
/// that do not form a whole event are an error at the event's offset.
#[derive(Debug, Clone)]
pub struct Events<'a> {
    data: &'a [u8],
    base: u64,
    off: usize,
    ctx: Context,
    done: bool,
    /// For events inside a transaction payload: the payload event's position.
    outer: Option<u64>,
}

impl<'a> Events<'a> {
    /// Iterates over a whole binlog file (starting with the magic bytes),
    /// verifying checksums.
    pub fn new(file: &'a [u8]) -> Result<Events<'a>> {
        Events::with_options(file, ReadOptions::default())
    }

    /// Like [`Events::new`] with explicit options.
    pub fn with_options(file: &'a [u8], opts: ReadOptions) -> Result<Events<'a>> {
        if !is_binlog(file) {
            return Err(Error::new(
                ErrorKind::BadMagic,
                0,
                "not a binlog: missing magic FE 62 69 6E",
            ));
        }
        Ok(Events {
            data: file,
            base: 0,
            off: MAGIC.len(),
            ctx: Context::new(opts),
            done: false,
            outer: None,
        })
    }

    /// Iterates over events in `data`, a window of a binlog whose first byte
    /// is at absolute offset `base` and starts on an event boundary. `format`
    /// is the file's FORMAT_DESCRIPTION when the window does not contain it
    /// (table maps must still precede the rows events that use them).
    pub fn resume(
        data: &'a [u8],
        base: u64,
        format: Option<Arc<FormatDescription>>,
        opts: ReadOptions,
    ) -> Events<'a> {
        let mut ctx = Context::new(opts);
        if let Some(f) = format {
            ctx.crc = f.has_crc32();
            ctx.fde = f;
        }
        Events {
            data,
            base,
            off: 0,
            ctx,
            done: false,
            outer: None,
        }
    }

    pub(crate) fn inner(data: &'a [u8], ctx: Context, outer: u64) -> Events<'a> {
        Events {
            data,
            base: 0,
            off: 0,
            ctx,
            done: false,
            outer: Some(outer),
        }
    }

    /// Absolute offset of the next event.
    pub fn position(&self) -> u64 {
        self.base + self.off as u64
    }

    /// The format description in force.
    pub fn format(&self) -> &Arc<FormatDescription> {
        &self.ctx.fde
    }

    /// The table map last seen for `table_id`.
    pub fn table(&self, table_id: u64) -> Option<&Arc<TableMap>> {
        self.ctx.tables.get(&table_id)
    }

    fn next_event(&mut self) -> Result<Event<'a>> {
        let pos = self.base + self.off as u64;
        let rest = self.data.get(self.off..).unwrap_or(&[]);
        match frame_event(rest, pos, self.ctx.opts.max_event_size)? {
            Framing::NeedMore { needed } => {
                let what = if rest.len() < crate::events::HEADER_LEN {
                    "event header"
                } else {
                    "event"
                };
                Err(Error::new(
                    ErrorKind::UnexpectedEof {
                        needed: needed as u64,
                    },
                    pos,
                    format!(
                        "truncated {what} at offset {pos}: {} bytes present, {needed} more needed",
                        rest.len()
                    ),
                ))
            }
            Framing::Complete { len } => {
                let ev = parse_event(&rest[..len], pos, &mut self.ctx)?;
                self.off += len;
                Ok(ev)
            }
        }
    }
}

impl<'a> Iterator for Events<'a> {
    type Item = Result<Event<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.off >= self.data.len() {
            return None;
        }
        match self.next_event() {
            Ok(ev) => Some(Ok(ev)),
            Err(e) => {
                self.done = true;
                Some(Err(match self.outer {
                    Some(outer) => {
                        let inner = e.offset().unwrap_or(0);
                        e.with_offset(outer).context(format!(
                            "in transaction payload at {outer}, inner offset {inner}"
                        ))
                    }
                    None => e,
                }))
            }
        }
    }
}

/// Reads events from any `Read` with memory bounded by the largest event
/// (never more than `max_event_size`, checked before the buffer grows).
///
/// It is a lending reader: each event borrows the internal buffer until the
/// next call.
#[derive(Debug)]
pub struct StreamReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: u64,
    ctx: Context,
    done: bool,
}

impl<R: Read> StreamReader<R> {
    /// Reads and checks the magic, then positions at the first event.
    pub fn new(inner: R) -> Result<StreamReader<R>> {
        StreamReader::with_options(inner, ReadOptions::default())
    }

    /// Like [`StreamReader::new`] with explicit options.
    pub fn with_options(mut inner: R, opts: ReadOptions) -> Result<StreamReader<R>> {
        let mut magic = [0u8; 4];
        let n = read_full(&mut inner, &mut magic, 0)?;
        if n < 4 || magic != MAGIC {
            return Err(Error::new(
                ErrorKind::BadMagic,
                0,
                "not a binlog: missing magic FE 62 69 6E",
            ));
        }
        Ok(StreamReader {
            inner,
            buf: Vec::with_capacity(64 * 1024),
            pos: 4,
            ctx: Context::new(opts),
            done: false,
        })
    }

    /// Absolute offset of the next event.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The format description in force.
    pub fn format(&self) -> &Arc<FormatDescription> {
        &self.ctx.fde
    }

    /// Capacity of the internal buffer (grows only to the largest event).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The next event, `None` at a clean end of input. After an error every
    /// call returns `None`.
    #[allow(clippy::should_implement_trait)]
    pub fn next_event(&mut self) -> Option<Result<Event<'_>>> {
        if self.done {
            return None;
        }
        match self.fill() {
            Ok(Some(len)) => {
                let pos = self.pos;
                self.pos += len as u64;
                match parse_event(&self.buf[..len], pos, &mut self.ctx) {
                    Ok(ev) => Some(Ok(ev)),
                    Err(e) => {
                        self.done = true;
                        Some(Err(e))
                    }
                }
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    /// Reads one whole event into the buffer; returns its length.
    fn fill(&mut self) -> Result<Option<usize>> {
        let pos = self.pos;
        self.buf.clear();
        self.buf.resize(crate::events::HEADER_LEN, 0);
        let n = read_full(&mut self.inner, &mut self.buf[..], pos)?;
        if n == 0 {
            return Ok(None);
        }
        self.buf.truncate(n);
        match frame_event(&self.buf, pos, self.ctx.opts.max_event_size)? {
            Framing::Complete { len } => Ok(Some(len)),
            Framing::NeedMore { needed } if n < crate::events::HEADER_LEN => Err(Error::new(
                ErrorKind::UnexpectedEof {
                    needed: needed as u64,
                },
                pos,
                format!(
                    "truncated event header at offset {pos}: {n} bytes present, {needed} more needed"
                ),
            )),
            Framing::NeedMore { needed } => {
                // The length was checked against the limit by frame_event.
                let len = n + needed;
                self.buf.resize(len, 0);
                let got = read_full(&mut self.inner, &mut self.buf[n..], pos)?;
                if got < needed {
                    return Err(Error::new(
                        ErrorKind::UnexpectedEof {
                            needed: (needed - got) as u64,
                        },
                        pos,
                        format!(
                            "truncated event at offset {pos}: {} bytes present, {} more needed",
                            n + got,
                            needed - got
                        ),
                    ));
                }
                Ok(Some(len))
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8], pos: u64) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(
                    Error::io(e, format!("reading binlog at offset {pos}")).with_offset(pos)
                );
            }
        }
    }
    Ok(n)
}
