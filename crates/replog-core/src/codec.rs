//! Little-endian primitives shared by the native formats.
//!
//! [`Cursor`] reads fields out of a borrowed body and reports every error at
//! an absolute offset; the `put_*` functions append the same layouts to a
//! `Vec<u8>`. All lengths read from the input are checked against the bytes
//! that remain before anything is sliced, so no input can make a reader
//! allocate or panic.

use crate::error::{Error, Result};
use nom::number::complete as num;

type NomErr<'a> = nom::error::Error<&'a [u8]>;

/// A forward-only reader over a borrowed byte slice that knows the absolute
/// offset of its first byte.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

macro_rules! prim {
    ($(#[$m:meta])* $name:ident, $ty:ty, $parser:ident, $n:expr) => {
        $(#[$m])*
        #[inline]
        pub fn $name(&mut self, what: &str) -> Result<$ty> {
            let rest = self.rest();
            match num::$parser::<_, NomErr<'a>>(rest) {
                Ok((_, v)) => {
                    self.pos += $n;
                    Ok(v)
                }
                Err(_) => Err(self.eof_error($n, what)),
            }
        }
    };
}

impl<'a> Cursor<'a> {
    /// A cursor over `data`, whose first byte is at absolute offset `base`.
    pub fn new(data: &'a [u8], base: u64) -> Cursor<'a> {
        Cursor { data, pos: 0, base }
    }

    /// Absolute offset of the next byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes not yet read.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    /// Number of bytes not yet read.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// True when every byte has been read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    #[cold]
    fn eof_error(&self, n: usize, what: &str) -> Error {
        Error::eof(self.offset(), (n - self.remaining()) as u64, what)
    }

    prim!(
        /// One byte.
        u8, u8, u8, 1
    );
    prim!(
        /// Little-endian u16.
        u16, u16, le_u16, 2
    );
    prim!(
        /// Little-endian u32.
        u32, u32, le_u32, 4
    );
    prim!(
        /// Little-endian u64.
        u64, u64, le_u64, 8
    );
    prim!(
        /// Little-endian i32.
        i32, i32, le_i32, 4
    );
    prim!(
        /// Little-endian i64.
        i64, i64, le_i64, 8
    );
    prim!(
        /// Little-endian IEEE-754 binary32.
        f32, f32, le_f32, 4
    );
    prim!(
        /// Little-endian IEEE-754 binary64.
        f64, f64, le_f64, 8
    );

    prim!(
        /// Big-endian i16 (network byte order, for foreign formats such as
        /// PostgreSQL's pgoutput).
        be_i16, i16, be_i16, 2
    );
    prim!(
        /// Big-endian u32.
        be_u32, u32, be_u32, 4
    );
    prim!(
        /// Big-endian i32.
        be_i32, i32, be_i32, 4
    );
    prim!(
        /// Big-endian u64.
        be_u64, u64, be_u64, 8
    );
    prim!(
        /// Big-endian i64.
        be_i64, i64, be_i64, 8
    );

    /// The next byte, not consumed.
    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// A NUL-terminated UTF-8 string (the NUL is consumed, not returned).
    pub fn cstr(&mut self, what: &str) -> Result<&'a str> {
        let at = self.offset();
        let rest = self.rest();
        let Some(n) = rest.iter().position(|&b| b == 0) else {
            return Err(Error::eof(at + rest.len() as u64, 1, what));
        };
        let s = utf8(&rest[..n], at, what)?;
        self.pos += n + 1;
        Ok(s)
    }

    /// `n` raw bytes, borrowed.
    #[inline]
    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        match self.data.get(self.pos..).and_then(|r| r.get(..n)) {
            Some(b) => {
                self.pos += n;
                Ok(b)
            }
            None => Err(self.eof_error(n, what)),
        }
    }

    /// A fixed-size array.
    #[inline]
    pub fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let b = self.bytes(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// Bytes prefixed by a u16 length.
    #[inline]
    pub fn bytes_u16(&mut self, what: &str) -> Result<&'a [u8]> {
        let n = self.u16(what)?;
        self.bytes(n as usize, what)
    }

    /// Bytes prefixed by a u32 length.
    #[inline]
    pub fn bytes_u32(&mut self, what: &str) -> Result<&'a [u8]> {
        let n = self.u32(what)?;
        self.bytes(n as usize, what)
    }

    /// UTF-8 text prefixed by a u16 length.
    #[inline]
    pub fn str_u16(&mut self, what: &str) -> Result<&'a str> {
        let at = self.offset() + 2;
        let b = self.bytes_u16(what)?;
        utf8(b, at, what)
    }

    /// UTF-8 text prefixed by a u32 length.
    #[inline]
    pub fn str_u32(&mut self, what: &str) -> Result<&'a str> {
        let at = self.offset() + 4;
        let b = self.bytes_u32(what)?;
        utf8(b, at, what)
    }

    /// Fails unless every byte has been consumed: trailing bytes are an error.
    pub fn finish(&self, what: &str) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::malformed(
                self.offset(),
                format!("{} trailing bytes after {what}", self.remaining()),
            ))
        }
    }
}

/// Checks that `b` (found at absolute offset `at`) is UTF-8.
#[inline]
pub fn utf8<'a>(b: &'a [u8], at: u64, what: &str) -> Result<&'a str> {
    std::str::from_utf8(b).map_err(|e| {
        Error::malformed(
            at + e.valid_up_to() as u64,
            format!("{what} is not valid UTF-8"),
        )
    })
}

/// Appends to `out` what `encode` writes, or nothing: on an error `out` is
/// cut back to where it was (every record encoder's contract).
pub fn all_or_nothing<E>(
    out: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let start = out.len();
    let r = encode(out);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// Appends one byte.
#[inline]
pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}
/// Appends a little-endian u16.
#[inline]
pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
/// Appends a little-endian u32.
#[inline]
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
/// Appends a little-endian u64.
#[inline]
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
/// Appends a little-endian i32.
#[inline]
pub fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_le_bytes());
}
/// Appends a little-endian i64.
#[inline]
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends bytes prefixed by a u16 length. Panics if `b` is longer than
/// 65,535 bytes: writers check their inputs first (see [`fits_u16`]).
#[inline]
pub fn put_bytes_u16(out: &mut Vec<u8>, b: &[u8]) {
    let n = u16::try_from(b.len()).expect("u16-prefixed field longer than 65535 bytes");
    put_u16(out, n);
    out.extend_from_slice(b);
}

/// Appends bytes prefixed by a u32 length. Panics past 4 GiB.
#[inline]
pub fn put_bytes_u32(out: &mut Vec<u8>, b: &[u8]) {
    let n = u32::try_from(b.len()).expect("u32-prefixed field longer than 4 GiB");
    put_u32(out, n);
    out.extend_from_slice(b);
}

/// True when `b` fits a u16-prefixed field.
#[inline]
pub fn fits_u16(b: &[u8]) -> bool {
    b.len() <= u16::MAX as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn reads_little_endian_and_reports_absolute_offsets() {
        #[rustfmt::skip]
        let data = [
            0x01,                   // u8 = 1
            0x34, 0x12,             // u16 = 0x1234
            0x03, 0x00, b'a', b'b', // str_u16 "ab" (declares 3, only 2 present)
        ];
        let mut c = Cursor::new(&data, 1000);
        assert_eq!(c.u8("a").unwrap(), 1);
        assert_eq!(c.u16("b").unwrap(), 0x1234);
        let e = c.str_u16("name").unwrap_err();
        assert_eq!(e.offset(), Some(1005));
        assert_eq!(e.kind(), ErrorKind::UnexpectedEof { needed: 1 });
    }

    #[test]
    fn huge_length_does_not_allocate_or_panic() {
        let data = [0xff, 0xff, 0xff, 0xff, 0x00];
        let mut c = Cursor::new(&data, 0);
        let e = c.bytes_u32("blob").unwrap_err();
        assert_eq!(e.offset(), Some(4));
    }

    #[test]
    fn invalid_utf8_points_at_the_bad_byte() {
        let data = [0x02, 0x00, b'a', 0xff];
        let e = Cursor::new(&data, 10).str_u16("name").unwrap_err();
        assert_eq!(e.offset(), Some(13));
    }

    #[test]
    fn finish_rejects_trailing_bytes() {
        let data = [1, 2];
        let mut c = Cursor::new(&data, 0);
        c.u8("x").unwrap();
        assert_eq!(c.finish("record").unwrap_err().offset(), Some(1));
    }
}
