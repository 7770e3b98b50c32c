//! Event iterators: [`Events`] over a borrowed buffer (zero-copy) and
//! [`StreamReader`] over any `std::io::Read` with bounded memory. Both use
//! [`frame_event`] to find an event's extent and the same parser for its
//! content.

use crate::consts::event_type as et;
use crate::events::{CHECKSUM_LEN, HEADER_LEN};
use crate::events::{
    Context, Event, FormatDescription, Framing, ReadOptions, frame_event, parse_event,
};
use crate::table_map::TableMap;
use crate::{MAGIC, is_binlog};
use replog_core::{Error, ErrorKind, Result};
use std::io::{Read, Seek, SeekFrom};
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
        let mut ctx = Context::new(opts);
        ctx.expect_fde = true;
        Ok(Events {
            data: file,
            base: 0,
            off: MAGIC.len(),
            ctx,
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
                        "truncated {what}: {} bytes present, {needed} more needed",
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
        let mut ctx = Context::new(opts);
        ctx.expect_fde = true;
        Ok(StreamReader {
            inner,
            buf: Vec::with_capacity(64 * 1024),
            pos: 4,
            ctx,
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

    /// The input read from.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The table maps read so far (by table id), as rows events find them.
    pub fn table_maps(&self) -> impl Iterator<Item = &Arc<TableMap>> {
        self.ctx.tables.values()
    }

    /// Makes a table map known as if its TABLE_MAP event had been read:
    /// for a reader positioned inside a statement (between a TABLE_MAP and
    /// its rows events) by [`StreamReader::skip_to`].
    pub fn remember_table(&mut self, map: Arc<TableMap>) {
        self.ctx.tables.insert(map.table_id, map);
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
                format!("truncated event header: {n} bytes present, {needed} more needed"),
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
                            "truncated event: {} bytes present, {} more needed",
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

impl<R: Read + Seek> StreamReader<R> {
    /// After damage, finds the first offset at or after `from` where a
    /// plausible chain of events starts, as a binlog reader that lost its
    /// place must: a known event type, a length within the file and the
    /// limit (with room for the checksum when the file has them), a
    /// next-position consistent with the length (this event's end, or —
    /// as relay logs carry the source's positions — the next event's
    /// next-position minus its length), a valid CRC32 when the file has
    /// checksums, and the event after it plausible too (unless it ends
    /// exactly at the end of the file). `None`: nothing valid follows, so
    /// the damage is a torn tail.
    ///
    /// Reads the rest of the input in 1 MiB windows; memory stays bounded.
    /// The reader is left positioned anywhere: call
    /// [`StreamReader::skip_to`] next.
    pub fn find_next_event(&mut self, from: u64) -> Result<Option<u64>> {
        let end = self
            .inner
            .seek(SeekFrom::End(0))
            .map_err(|e| Error::io(e, "seeking to the end of the binlog").with_offset(from))?;
        let crc = self.ctx.crc;
        let max = self.ctx.opts.max_event_size;
        const WINDOW: usize = 1 << 20;
        let mut window = vec![0u8; WINDOW + HEADER_LEN];
        let mut at = from;
        while at + HEADER_LEN as u64 <= end {
            self.seek_to(at)?;
            let want = (end - at).min(window.len() as u64) as usize;
            let n = read_full(&mut self.inner, &mut window[..want], at)?;
            if n < HEADER_LEN {
                break;
            }
            for i in 0..=n - HEADER_LEN {
                let y = at + i as u64;
                let Some(a) = plausible(&window[i..i + HEADER_LEN], y, end, crc, max) else {
                    continue;
                };
                if self.confirm(y, a, end, crc, max)? {
                    return Ok(Some(y));
                }
            }
            at += (n - HEADER_LEN + 1) as u64;
        }
        Ok(None)
    }

    /// Positions the reader at `pos`, an event boundary found by
    /// [`StreamReader::find_next_event`], keeping the format description
    /// and table maps read so far, and clears the error state.
    pub fn skip_to(&mut self, pos: u64) -> Result<()> {
        self.seek_to(pos)?;
        self.pos = pos;
        self.done = false;
        Ok(())
    }

    fn seek_to(&mut self, pos: u64) -> Result<()> {
        self.inner
            .seek(SeekFrom::Start(pos))
            .map_err(|e| Error::io(e, format!("seeking to offset {pos}")).with_offset(pos))?;
        Ok(())
    }

    /// Whether the candidate at `y` checks out: its CRC32 (with checksums)
    /// and its successor.
    fn confirm(&mut self, y: u64, a: Candidate, end: u64, crc: bool, max: u32) -> Result<bool> {
        if crc {
            self.seek_to(y)?;
            let mut ev = vec![0u8; a.len as usize];
            if read_full(&mut self.inner, &mut ev, y)? < ev.len()
                || crate::events::verify_crc(&ev, y, true).is_err()
            {
                return Ok(false);
            }
        }
        let a_end = y + u64::from(a.len);
        let chained = u64::from(a.next) == a_end;
        if a_end == end {
            return Ok(chained || (a.next == 0 && a.type_code == et::ROTATE));
        }
        let mut h = [0u8; HEADER_LEN];
        self.seek_to(a_end)?;
        if read_full(&mut self.inner, &mut h, a_end)? < HEADER_LEN {
            return Ok(false);
        }
        let Some(b) = plausible(&h, a_end, end, crc, max) else {
            return Ok(false);
        };
        Ok(chained
            || (a.next != 0 && u64::from(b.next) == u64::from(a.next) + u64::from(b.len))
            || (a.next == 0 && b.next == 0))
    }
}

/// The header fields of a candidate event.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    type_code: u8,
    len: u32,
    next: u32,
}

/// Whether 19 bytes at absolute `at` can be an event header: a known type
/// code, a length that fits the header (and checksum) and the file, and a
/// next-position that is 0 or past the event's own length.
fn plausible(h: &[u8], at: u64, end: u64, crc: bool, max: u32) -> Option<Candidate> {
    let type_code = h[4];
    if type_code == 0 || crate::consts::type_name(type_code) == "Unknown" {
        return None;
    }
    let len = u32::from_le_bytes([h[9], h[10], h[11], h[12]]);
    let next = u32::from_le_bytes([h[13], h[14], h[15], h[16]]);
    let min = HEADER_LEN as u32 + if crc { CHECKSUM_LEN as u32 } else { 0 };
    if len < min || len > max || at + u64::from(len) > end {
        return None;
    }
    if next != 0 && next < len {
        return None;
    }
    Some(Candidate {
        type_code,
        len,
        next,
    })
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8], pos: u64) -> Result<usize> {
    replog_core::reader::read_full(r, buf)
        .map_err(|e| Error::io(e, format!("reading binlog at offset {pos}")).with_offset(pos))
}
