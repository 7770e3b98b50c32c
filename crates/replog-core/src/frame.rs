//! Frames: `u32 body_len | u32 CRC-32C | body | zero padding to 8 bytes`.
//!
//! The checksum covers the segment's salt, the frame's LSN, the body length
//! and the body, in that order: a frame copied to another position, or left
//! over from an older generation of the file, never validates. The padding
//! is not checksummed but must be zero.

use serde::Serialize;

/// Length of a frame header.
pub const FRAME_HEADER_LEN: usize = 8;
/// Largest body a reader accepts (64 MiB): bounds the memory a damaged
/// length field can make a reader ask for.
pub const MAX_BODY_LEN: u32 = 64 << 20;

/// A frame found in a log, borrowing its body.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Absolute file offset of the frame header.
    pub offset: u64,
    /// Log position of the frame.
    pub lsn: u64,
    /// The body; its first byte is the record type.
    pub body: &'a [u8],
}

impl Frame<'_> {
    /// The record-type byte.
    #[inline]
    pub fn record_type(&self) -> u8 {
        self.body.first().copied().unwrap_or(0)
    }

    /// Absolute offset of the body's first byte.
    #[inline]
    pub fn body_offset(&self) -> u64 {
        self.offset + FRAME_HEADER_LEN as u64
    }

    /// Bytes the frame takes on disk, padding included.
    #[inline]
    pub fn disk_len(&self) -> u64 {
        padded_len(self.body.len()) as u64
    }
}

/// On-disk size of a frame with a body of `body_len` bytes.
#[inline]
pub const fn padded_len(body_len: usize) -> usize {
    (FRAME_HEADER_LEN + body_len + 7) & !7
}

/// Per-segment checksum state: the CRC-32C of the salt, computed once.
#[derive(Debug, Clone, Copy)]
pub struct Checksummer {
    seed: u32,
}

impl Checksummer {
    /// State for a segment with `salt`.
    pub fn new(salt: u64) -> Checksummer {
        Checksummer {
            seed: crc32c::crc32c(&salt.to_le_bytes()),
        }
    }

    /// The checksum of a frame at `lsn` with `body`.
    #[inline]
    pub fn frame_crc(&self, lsn: u64, body: &[u8]) -> u32 {
        let mut pre = [0u8; 12];
        pre[..8].copy_from_slice(&lsn.to_le_bytes());
        pre[8..].copy_from_slice(&(body.len() as u32).to_le_bytes());
        crc32c::crc32c_append(crc32c::crc32c_append(self.seed, &pre), body)
    }
}

/// Appends a frame to `out`.
pub fn encode_frame(out: &mut Vec<u8>, ck: &Checksummer, lsn: u64, body: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&ck.frame_crc(lsn, body).to_le_bytes());
    out.extend_from_slice(body);
    out.resize(start + padded_len(body.len()), 0);
}

/// Why a frame could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FrameFault {
    /// Fewer than 8 bytes were left for a frame header.
    ShortHeader {
        /// Bytes that were left.
        available: u64,
    },
    /// The header declares a length of zero (as in a zero-filled tail).
    ZeroLength,
    /// The declared body length exceeds [`MAX_BODY_LEN`].
    TooLarge {
        /// Declared body length.
        len: u32,
    },
    /// The frame extends past the end of the file.
    ShortBody {
        /// Declared body length.
        len: u32,
        /// Bytes available after the header.
        available: u64,
    },
    /// The checksum does not match.
    Checksum {
        /// Stored checksum.
        expected: u32,
        /// Computed checksum.
        actual: u32,
    },
    /// A padding byte is not zero.
    BadPadding,
}

impl std::fmt::Display for FrameFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameFault::ShortHeader { available } => {
                write!(f, "incomplete frame header ({available} of 8 bytes)")
            }
            FrameFault::ZeroLength => f.write_str("frame length is zero"),
            FrameFault::TooLarge { len } => {
                write!(f, "frame length {len} exceeds the 64 MiB limit")
            }
            FrameFault::ShortBody { len, available } => {
                write!(
                    f,
                    "frame of {len} bytes extends past the end of the file ({available} available)"
                )
            }
            FrameFault::Checksum { expected, actual } => {
                write!(
                    f,
                    "frame checksum mismatch (stored {expected:#010x}, computed {actual:#010x})"
                )
            }
            FrameFault::BadPadding => f.write_str("non-zero padding after frame body"),
        }
    }
}

/// The result of looking for a frame at one position.
#[derive(Debug)]
pub enum Step<'a> {
    /// A valid frame, and how many bytes it takes.
    Frame(Frame<'a>),
    /// The window ends before the frame does; `needed` bytes from the frame's
    /// start are required (only when the window does not reach end of file).
    NeedMore {
        /// Bytes needed from the start of the window.
        needed: usize,
    },
    /// The window is empty and reaches end of file.
    End,
    /// No valid frame here.
    Fault(FrameFault),
}

/// Looks for a frame at the start of `window`, whose first byte is at
/// absolute offset `offset` and log position `lsn`. `at_eof` says whether the
/// window reaches the end of the file.
#[inline]
pub fn read_frame<'a>(
    window: &'a [u8],
    offset: u64,
    lsn: u64,
    ck: &Checksummer,
    at_eof: bool,
) -> Step<'a> {
    let Some(hdr) = window.get(..FRAME_HEADER_LEN) else {
        return if window.is_empty() && at_eof {
            Step::End
        } else if at_eof {
            Step::Fault(FrameFault::ShortHeader {
                available: window.len() as u64,
            })
        } else {
            Step::NeedMore {
                needed: FRAME_HEADER_LEN,
            }
        };
    };
    let len = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
    let stored = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    if len == 0 {
        return Step::Fault(FrameFault::ZeroLength);
    }
    if len > MAX_BODY_LEN {
        return Step::Fault(FrameFault::TooLarge { len });
    }
    let total = padded_len(len as usize);
    let Some(whole) = window.get(..total) else {
        return if at_eof {
            Step::Fault(FrameFault::ShortBody {
                len,
                available: (window.len() - FRAME_HEADER_LEN) as u64,
            })
        } else {
            Step::NeedMore { needed: total }
        };
    };
    let body_end = FRAME_HEADER_LEN + len as usize;
    let body = &whole[FRAME_HEADER_LEN..body_end];
    let actual = ck.frame_crc(lsn, body);
    if actual != stored {
        return Step::Fault(FrameFault::Checksum {
            expected: stored,
            actual,
        });
    }
    if whole[body_end..].iter().any(|&b| b != 0) {
        return Step::Fault(FrameFault::BadPadding);
    }
    Step::Frame(Frame { offset, lsn, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_layout_and_faults() {
        let ck = Checksummer::new(5);
        let mut out = Vec::new();
        encode_frame(&mut out, &ck, 16, &[0x10, 0xAA, 0xBB]);
        assert_eq!(out.len(), 16);
        assert_eq!(&out[..4], &[3, 0, 0, 0]);
        assert_eq!(&out[8..16], &[0x10, 0xAA, 0xBB, 0, 0, 0, 0, 0]);
        match read_frame(&out, 100, 16, &ck, true) {
            Step::Frame(f) => assert_eq!(f.body, &[0x10, 0xAA, 0xBB]),
            other => panic!("{other:?}"),
        }
        // Same bytes at another LSN, or under another salt, do not validate.
        assert!(matches!(
            read_frame(&out, 100, 24, &ck, true),
            Step::Fault(FrameFault::Checksum { .. })
        ));
        assert!(matches!(
            read_frame(&out, 100, 16, &Checksummer::new(6), true),
            Step::Fault(FrameFault::Checksum { .. })
        ));
        assert!(matches!(
            read_frame(&out[..10], 0, 16, &ck, false),
            Step::NeedMore { needed: 16 }
        ));
        assert!(matches!(
            read_frame(&out[..10], 0, 16, &ck, true),
            Step::Fault(FrameFault::ShortBody {
                len: 3,
                available: 2
            })
        ));
        assert!(matches!(
            read_frame(&out[..5], 0, 16, &ck, true),
            Step::Fault(FrameFault::ShortHeader { available: 5 })
        ));
        assert!(matches!(read_frame(&[], 0, 16, &ck, true), Step::End));
        let mut padded = out.clone();
        padded[15] = 1;
        assert!(matches!(
            read_frame(&padded, 0, 16, &ck, true),
            Step::Fault(FrameFault::BadPadding)
        ));
        assert!(matches!(
            read_frame(&[0; 16], 0, 16, &ck, true),
            Step::Fault(FrameFault::ZeroLength)
        ));
        let huge = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert!(matches!(
            read_frame(&huge, 0, 16, &ck, true),
            Step::Fault(FrameFault::TooLarge { .. })
        ));
    }
}

/// Zero-copy iterator over the frames of a whole segment held in memory.
///
/// Yields `Result<Frame>`; stops after the first error, whose offset is
/// absolute. An empty remainder ends the iteration; anything else that is
/// not a valid frame (including a zero-filled tail) is an error: callers that
/// want torn tails told apart from corruption use
/// [`LogReader`](crate::reader::LogReader).
#[derive(Debug, Clone)]
pub struct FrameIter<'a> {
    data: &'a [u8],
    base: u64,
    pos: usize,
    start_lsn: u64,
    ck: Checksummer,
    record: u64,
    done: bool,
}

impl<'a> FrameIter<'a> {
    /// Parses the segment header of `data` (a whole segment file, whose
    /// first byte is at absolute offset `base`) and iterates its frames.
    pub fn new(
        data: &'a [u8],
        base: u64,
    ) -> crate::Result<(crate::segment::SegmentHeader, FrameIter<'a>)> {
        let header = crate::segment::SegmentHeader::parse(data, base)?;
        let it = FrameIter {
            data,
            base,
            pos: crate::segment::HEADER_LEN,
            start_lsn: header.start_lsn,
            ck: Checksummer::new(header.salt),
            record: 0,
            done: false,
        };
        Ok((header, it))
    }
}

impl<'a> Iterator for FrameIter<'a> {
    type Item = crate::Result<Frame<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.base + self.pos as u64;
        let lsn = self.start_lsn + (self.pos - crate::segment::HEADER_LEN) as u64;
        let window = self.data.get(self.pos..).unwrap_or(&[]);
        match read_frame(window, offset, lsn, &self.ck, true) {
            Step::End => {
                self.done = true;
                None
            }
            Step::Frame(f) => {
                self.pos += padded_len(f.body.len());
                self.record += 1;
                Some(Ok(f))
            }
            Step::Fault(fault) => {
                self.done = true;
                Some(Err(fault.to_error(offset).with_record(self.record)))
            }
            Step::NeedMore { .. } => {
                self.done = true;
                None
            }
        }
    }
}

impl FrameFault {
    /// An error for this fault at `offset`.
    pub fn to_error(&self, offset: u64) -> crate::Error {
        use crate::ErrorKind;
        let kind = match *self {
            FrameFault::Checksum { expected, actual } => ErrorKind::Checksum { expected, actual },
            FrameFault::ShortHeader { available } => ErrorKind::UnexpectedEof {
                needed: 8 - available,
            },
            FrameFault::ShortBody { len, available } => ErrorKind::UnexpectedEof {
                needed: (padded_len(len as usize) - FRAME_HEADER_LEN) as u64 - available,
            },
            FrameFault::TooLarge { .. } => ErrorKind::TooLarge,
            FrameFault::ZeroLength | FrameFault::BadPadding => ErrorKind::Malformed,
        };
        let msg = match self {
            FrameFault::Checksum { .. } => "frame checksum mismatch".to_string(),
            other => other.to_string(),
        };
        crate::Error::new(kind, offset, msg)
    }
}
