//! A tiny forward reader over a borrowed slice that reports absolute offsets.
//!
//! Every length read from the input is checked against the bytes that remain
//! before anything is sliced, so no input can make the reader panic or
//! allocate.

use replog_core::{Error, Result};

/// Forward-only reader; `base` is the absolute offset of `data[0]`.
#[derive(Debug, Clone)]
pub(crate) struct Rd<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Rd<'a> {
    #[inline]
    pub(crate) fn new(data: &'a [u8], base: u64) -> Rd<'a> {
        Rd { data, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    #[inline]
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    #[cold]
    pub(crate) fn eof(&self, n: usize, what: &str) -> Error {
        Error::eof(self.offset(), (n - self.remaining().min(n)) as u64, what)
    }

    #[inline]
    pub(crate) fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        match self.data.get(self.pos..).and_then(|r| r.get(..n)) {
            Some(b) => {
                self.pos += n;
                Ok(b)
            }
            None => Err(self.eof(n, what)),
        }
    }

    #[inline]
    pub(crate) fn skip(&mut self, n: usize, what: &str) -> Result<()> {
        self.bytes(n, what).map(|_| ())
    }

    #[inline]
    pub(crate) fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let b = self.bytes(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    #[inline]
    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.eof(1, what)),
        }
    }

    #[inline]
    pub(crate) fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    #[inline]
    pub(crate) fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    #[inline]
    pub(crate) fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Little-endian unsigned integer of `n` (0..=8) bytes.
    #[inline]
    pub(crate) fn uint_n(&mut self, n: usize, what: &str) -> Result<u64> {
        let b = self.bytes(n, what)?;
        Ok(le_uint(b))
    }

    /// MySQL's packed ("length-encoded") integer: < 251 in one byte, then
    /// 0xFC + u16, 0xFD + u24, 0xFE + u64.
    #[inline]
    pub(crate) fn packed(&mut self, what: &str) -> Result<u64> {
        let at = self.offset();
        match self.u8(what)? {
            b @ 0..=250 => Ok(u64::from(b)),
            0xfc => self.uint_n(2, what),
            0xfd => self.uint_n(3, what),
            0xfe => self.u64(what),
            b => Err(Error::malformed(
                at,
                format!("invalid packed integer prefix 0x{b:02x} in {what}"),
            )),
        }
    }

    /// A packed integer used as a length, checked against the bytes left.
    #[inline]
    pub(crate) fn packed_len(&mut self, what: &str) -> Result<usize> {
        let v = self.packed(what)?;
        if v > self.remaining() as u64 {
            return Err(Error::eof(self.offset(), v - self.remaining() as u64, what));
        }
        Ok(v as usize)
    }

    /// Bytes prefixed by a packed length.
    #[inline]
    pub(crate) fn packed_bytes(&mut self, what: &str) -> Result<&'a [u8]> {
        let n = self.packed_len(what)?;
        self.bytes(n, what)
    }
}

/// Little-endian unsigned integer from up to 8 bytes.
#[inline]
pub(crate) fn le_uint(b: &[u8]) -> u64 {
    let mut v = 0u64;
    for (i, &x) in b.iter().take(8).enumerate() {
        v |= u64::from(x) << (8 * i);
    }
    v
}

/// Big-endian unsigned integer from up to 8 bytes.
#[inline]
pub(crate) fn be_uint(b: &[u8]) -> u64 {
    let mut v = 0u64;
    for &x in b.iter().take(8) {
        v = (v << 8) | u64::from(x);
    }
    v
}

/// Whether bit `i` (LSB first within each byte) is set in `bitmap`.
#[inline]
pub(crate) fn bit(bitmap: &[u8], i: usize) -> bool {
    bitmap.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// Lossy UTF-8 rendering of a name read from the log.
pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_integers() {
        #[rustfmt::skip]
        let data = [
            0x05,                   // 5
            0xfc, 0x34, 0x12,       // 0x1234
            0xfd, 0x01, 0x02, 0x03, // 0x030201
            0xfb,                   // invalid (NULL marker)
        ];
        let mut r = Rd::new(&data, 100);
        assert_eq!(r.packed("a").unwrap(), 5);
        assert_eq!(r.packed("b").unwrap(), 0x1234);
        assert_eq!(r.packed("c").unwrap(), 0x030201);
        let e = r.packed("d").unwrap_err();
        assert_eq!(e.offset(), Some(108));
    }

    #[test]
    fn packed_len_checks_remaining() {
        let data = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        let mut r = Rd::new(&data, 0);
        assert!(r.packed_len("blob").is_err());
    }
}
