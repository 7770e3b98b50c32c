//! One transaction's byte buffer, which moves to a temporary file.
//!
//! [`SpillBuf`] is one transaction's append-only byte buffer (truncated
//! only when a subtransaction rolls back): [`SpillBuf::spill`] moves the bytes held in memory to the end of
//! an anonymous temporary file (deleted by the system when closed), and
//! [`SpillBuf::into_vec`] gives back the whole buffer — file part, then
//! memory part — when the transaction commits. Offsets into the buffer
//! count from its start whichever part holds them, so a spill changes no
//! offset. [`crate::Reorder`] decides when to spill.

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
