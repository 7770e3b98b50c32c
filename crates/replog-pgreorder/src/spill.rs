//! One transaction's byte buffer, which moves to a temporary file.
//!
//! [`SpillBuf`] is one transaction's append-only byte buffer (truncated
//! only when a subtransaction rolls back): [`SpillBuf::spill`] moves the bytes held in memory to the end of
//! an anonymous temporary file (deleted by the system when closed), and
//! [`SpillBuf::into_vec`] gives back the whole buffer — file part, then
//! memory part — when the transaction commits, or [`SpillReader`] reads it
//! back a range at a time through a window of bounded size. Offsets into
//! the buffer count from its start whichever part holds them, so a spill
//! changes no offset. [`crate::Reorder`] decides when to spill.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

/// The default limit of bytes buffered in memory for open transactions.
pub const DEFAULT_LIMIT: usize = 256 << 20;

/// One transaction's byte buffer (see the module docs).
#[derive(Debug, Default)]
pub struct SpillBuf {
    file: Option<File>,
    spilled: u64,
    mem: Vec<u8>,
}

impl SpillBuf {
    /// Bytes in the buffer (file and memory).
    pub fn len(&self) -> u64 {
        self.spilled + self.mem.len() as u64
    }

    /// Whether the buffer holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held in memory.
    pub fn in_memory(&self) -> usize {
        self.mem.len()
    }

    /// Bytes moved to the file so far.
    pub fn spilled(&self) -> u64 {
        self.spilled
    }

    /// The memory part, to append to.
    pub fn tail(&mut self) -> &mut Vec<u8> {
        &mut self.mem
    }

    /// Moves the memory part to the end of the file (created on first
    /// use); returns how many bytes were moved.
    pub fn spill(&mut self) -> std::io::Result<usize> {
        let n = self.mem.len();
        if n == 0 {
            return Ok(0);
        }
        let f = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(tempfile::tempfile()?),
        };
        // After a truncation the file position may be past the end.
        f.seek(SeekFrom::Start(self.spilled))?;
        f.write_all(&self.mem)?;
        self.spilled += n as u64;
        self.mem = Vec::new();
        Ok(n)
    }

    /// Cuts the buffer to its first `len` bytes (nothing when it is not
    /// longer), whichever part holds them.
    pub fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        if len >= self.spilled {
            let keep = usize::try_from(len - self.spilled).unwrap_or(usize::MAX);
            self.mem.truncate(keep);
            return Ok(());
        }
        if let Some(f) = &mut self.file {
            f.set_len(len)?;
        }
        self.spilled = len;
        self.mem = Vec::new();
        Ok(())
    }

    /// The whole buffer in memory: the file part read back, then the
    /// memory part.
    pub fn into_vec(self) -> std::io::Result<Vec<u8>> {
        let total = self.len();
        let Some(mut f) = self.file else {
            return Ok(self.mem);
        };
        let total = usize::try_from(total)
            .map_err(|_| std::io::Error::other("spilled transaction larger than memory"))?;
        let mut out = Vec::with_capacity(total);
        f.seek(SeekFrom::Start(0))?;
        (&mut f).take(self.spilled).read_to_end(&mut out)?;
        if out.len() as u64 != self.spilled {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "spill file holds {} bytes of {} written",
                    out.len(),
                    self.spilled
                ),
            ));
        }
        out.extend_from_slice(&self.mem);
        Ok(out)
    }

    /// Appends the whole of `other` (read back if spilled) to the memory
    /// part; returns its length.
    pub fn append(&mut self, other: SpillBuf) -> std::io::Result<u64> {
        let n = other.len();
        if self.is_empty() && other.file.is_some() {
            *self = other;
            return Ok(n);
        }
        let v = other.into_vec()?;
        self.mem.extend_from_slice(&v);
        Ok(n)
    }
}

/// Bytes of the file part read at once by a [`SpillReader`] (more when
/// one range is longer).
pub const READ_WINDOW: usize = 1 << 20;

/// A [`SpillBuf`] read back range by range: ranges in the memory part are
/// borrowed from it, ranges in the file part come through a window of
/// [`READ_WINDOW`] bytes (or one range's length, when longer) read ahead
/// from the range's start. Memory is so bounded by the memory part plus
/// the window, whatever the file holds; ranges read in increasing order
/// read the file once.
#[derive(Debug)]
pub struct SpillReader {
    buf: SpillBuf,
    window: Vec<u8>,
    /// Offset of `window[0]` in the buffer.
    at: u64,
}

impl SpillReader {
    /// A reader of `buf`.
    pub fn new(buf: SpillBuf) -> SpillReader {
        SpillReader {
            buf,
            window: Vec::new(),
            at: 0,
        }
    }

    /// Bytes in the buffer (file and memory).
    pub fn len(&self) -> u64 {
        self.buf.len()
    }

    /// Whether the buffer holds no byte.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes of the buffer in its file.
    pub fn spilled(&self) -> u64 {
        self.buf.spilled
    }

    /// The `len` bytes at `start` of the buffer; an error when they are
    /// not all there (the file shorter than written, or past the end).
    pub fn get(&mut self, start: u64, len: usize) -> std::io::Result<&[u8]> {
        let total = self.buf.len();
        let short = || {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("spill buffer of {total} bytes has no range of {len} bytes at {start}"),
            )
        };
        let end = start
            .checked_add(len as u64)
            .filter(|&e| e <= total)
            .ok_or_else(short)?;
        let spilled = self.buf.spilled;
        if start >= spilled {
            let s = usize::try_from(start - spilled).map_err(|_| short())?;
            return self.buf.mem.get(s..s + len).ok_or_else(short);
        }
        let in_window = start >= self.at && end <= self.at + self.window.len() as u64;
        if !in_window {
            // From `start`: the file part up to the window's size (or the
            // range's), then, for a range that runs on into memory, the rest.
            let from_file = (spilled - start).min(READ_WINDOW.max(len) as u64) as usize;
            let f = self.buf.file.as_mut().ok_or_else(short)?;
            self.window.clear();
            self.window.resize(from_file, 0);
            f.seek(SeekFrom::Start(start))?;
            f.read_exact(&mut self.window).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("spill file: {from_file} bytes at {start} of {spilled} written: {e}"),
                )
            })?;
            if end > spilled {
                let rest = usize::try_from(end - spilled).map_err(|_| short())?;
                self.window
                    .extend_from_slice(self.buf.mem.get(..rest).ok_or_else(short)?);
            }
            self.at = start;
        }
        let s = (start - self.at) as usize;
        self.window.get(s..s + len).ok_or_else(short)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_bytes_come_back_in_order_with_the_memory_part() {
        let mut b = SpillBuf::default();
        b.tail().extend_from_slice(b"abc");
        assert_eq!(b.spill().unwrap(), 3);
        b.tail().extend_from_slice(b"de");
        assert_eq!(b.spill().unwrap(), 2);
        assert_eq!(b.spill().unwrap(), 0);
        b.tail().extend_from_slice(b"f");
        assert_eq!((b.len(), b.in_memory(), b.spilled()), (6, 1, 5));
        let mut a = SpillBuf::default();
        a.tail().extend_from_slice(b"01");
        a.append(b).unwrap();
        let mut c = SpillBuf::default();
        c.tail().extend_from_slice(b"xy");
        c.spill().unwrap();
        a.append(c).unwrap();
        assert_eq!(a.into_vec().unwrap(), b"01abcdefxy");
        // An empty buffer takes a spilled one over without reading it.
        let mut e = SpillBuf::default();
        let mut s = SpillBuf::default();
        s.tail().extend_from_slice(b"zz");
        s.spill().unwrap();
        e.append(s).unwrap();
        assert_eq!((e.spilled(), e.into_vec().unwrap()), (2, b"zz".to_vec()));
    }

    #[test]
    fn a_reader_gives_every_range_of_both_parts() {
        // Three spills of different sizes, then a memory part; ranges
        // within each part, across spills and across the file/memory edge.
        let whole: Vec<u8> = (0..3 * READ_WINDOW + 100)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut b = SpillBuf::default();
        b.tail().extend_from_slice(&whole[..10]);
        b.spill().unwrap();
        b.tail().extend_from_slice(&whole[10..2 * READ_WINDOW + 7]);
        b.spill().unwrap();
        b.tail()
            .extend_from_slice(&whole[2 * READ_WINDOW + 7..3 * READ_WINDOW]);
        b.spill().unwrap();
        b.tail().extend_from_slice(&whole[3 * READ_WINDOW..]);
        let mut r = SpillReader::new(b);
        let spilled = 3 * READ_WINDOW;
        assert_eq!(r.spilled(), spilled as u64);
        let ranges = [
            (0, 10),
            (5, 20),
            (READ_WINDOW - 3, 6),
            (READ_WINDOW + 5, 2 * READ_WINDOW),
            (spilled - 4, 4),
            (spilled - 4, 50),
            (spilled + 1, 99),
            (0, 1),
            (spilled, 0),
        ];
        for (start, len) in ranges {
            assert_eq!(
                r.get(start as u64, len).unwrap(),
                &whole[start..start + len],
                "{start}+{len}"
            );
        }
        assert!(
            r.window.capacity() <= 2 * READ_WINDOW + 64,
            "window bounded by the longest range"
        );
        assert!(r.get(whole.len() as u64 - 2, 3).is_err());
        assert!(r.get(u64::MAX, 3).is_err());
    }

    #[test]
    fn truncation_cuts_the_file_part_or_the_memory_part() {
        let mut b = SpillBuf::default();
        b.tail().extend_from_slice(b"abcdef");
        b.spill().unwrap();
        b.tail().extend_from_slice(b"gh");
        b.truncate(7).unwrap();
        assert_eq!((b.spilled(), b.in_memory()), (6, 1));
        b.truncate(3).unwrap();
        assert_eq!((b.spilled(), b.in_memory()), (3, 0));
        // Later bytes go after the cut, in memory and in the file.
        b.tail().extend_from_slice(b"XY");
        b.spill().unwrap();
        b.tail().extend_from_slice(b"Z");
        b.truncate(100).unwrap();
        assert_eq!(b.into_vec().unwrap(), b"abcXYZ");
    }
}
