//! Segment files: the 80-byte header that starts every segment, and the
//! naming rule that sorts segments by position.
//!
//! ```text
//! 0        8    9    10        12        16                32        40        48        56        64        68   70   72        76        80
//! | magic  |kind|ver | hdr len | seq     | log id (16)     | store id| salt    | start   | start   | page    |pfmt|flag| reserved| CRC-32C |
//! |        |    |    | u16     | u32     |                 | u64     | u64     | lsn u64 | state   | size u32|u16 |u16 | u32 = 0 | of 0..76|
//! ```

use crate::codec::Cursor;
use crate::error::{Error, ErrorKind, Result};
use crate::record::LogKind;
use serde::Serialize;

/// The eight bytes every segment starts with: `89 52 50 4C 0D 0A 1A 0A`
/// (`\x89RPL\r\n\x1a\n`, the PNG trick: high bit, line-ending and EOF bytes
/// reveal transfers that mangle binary files).
pub const MAGIC: [u8; 8] = [0x89, b'R', b'P', b'L', 0x0D, 0x0A, 0x1A, 0x0A];
/// Length of the segment header, and offset of the first frame.
pub const HEADER_LEN: usize = 80;
/// The format version writers use by default: framing version 1 and every
/// format's version-1 records.
pub const FORMAT_VERSION: u8 = 1;
/// Version 2: the same framing; a logical log may also hold PostgreSQL's
/// value tags (0x10–0x16) and column type descriptors (`0x19`). Writers put
/// it only in logs that may hold them, so MySQL logs stay version 1.
pub const FORMAT_VERSION_PG: u8 = 2;
/// The newest version this crate reads; it reads every version from 1.
pub const MAX_FORMAT_VERSION: u8 = FORMAT_VERSION_PG;
/// Header flag: `start_state` is meaningful.
pub const FLAG_HAS_START_STATE: u16 = 0x0001;
/// File name extension of segment files.
pub const EXTENSION: &str = "replog";

/// A segment header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentHeader {
    /// Which format the frames hold.
    pub kind: LogKind,
    /// Format version (1 or 2, see [`FORMAT_VERSION_PG`]).
    pub version: u8,
    /// Position of this segment in its log, from 0.
    pub seq: u32,
    /// Identity of the log; the same in every segment of one log.
    #[serde(serialize_with = "ser_hex")]
    pub log_id: [u8; 16],
    /// Identity of the store that wrote the log (0 when unknown).
    pub store_id: u64,
    /// Generation salt; seeds every frame checksum of this segment.
    pub salt: u64,
    /// Log position (LSN) of the first frame.
    pub start_lsn: u64,
    /// Content digest of the store before the first transaction, if known.
    pub start_state: Option<u64>,
    /// Page size of the store (physical logs; 0 otherwise).
    pub page_size: u32,
    /// Page-format version of the store (physical logs; 0 otherwise).
    pub page_format: u16,
}

fn ser_hex<S: serde::Serializer>(id: &[u8; 16], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&hex(id))
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

impl SegmentHeader {
    /// The header of the native log a producer stands for without writing
    /// it (binlogs imported, PostgreSQL WAL or a capture decoded): one
    /// segment from LSN 0 whose identity (log id and salt) is derived from
    /// the names of the files read, so the same input always gives the
    /// same log.
    pub fn of_virtual_log<'a>(
        kind: LogKind,
        version: u8,
        names: impl IntoIterator<Item = &'a [u8]>,
        start_state: Option<u64>,
    ) -> SegmentHeader {
        let names: Vec<u8> = names.into_iter().flatten().copied().collect();
        let a = xxhash_rust::xxh3::xxh3_64_with_seed(&names, 0x6269_6e6c_6f67);
        let b = xxhash_rust::xxh3::xxh3_64_with_seed(&names, a);
        let mut log_id = [0u8; 16];
        log_id[..8].copy_from_slice(&a.to_le_bytes());
        log_id[8..].copy_from_slice(&b.to_le_bytes());
        SegmentHeader {
            kind,
            version,
            seq: 0,
            log_id,
            store_id: 0,
            salt: xxhash_rust::xxh3::xxh3_64_with_seed(b"salt", b),
            start_lsn: 0,
            start_state,
            page_size: 0,
            page_format: 0,
        }
    }

    /// Encodes the header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        let mut v = Vec::with_capacity(HEADER_LEN);
        v.extend_from_slice(&MAGIC);
        v.push(self.kind.code());
        v.push(self.version);
        v.extend_from_slice(&(HEADER_LEN as u16).to_le_bytes());
        v.extend_from_slice(&self.seq.to_le_bytes());
        v.extend_from_slice(&self.log_id);
        v.extend_from_slice(&self.store_id.to_le_bytes());
        v.extend_from_slice(&self.salt.to_le_bytes());
        v.extend_from_slice(&self.start_lsn.to_le_bytes());
        v.extend_from_slice(&self.start_state.unwrap_or(0).to_le_bytes());
        v.extend_from_slice(&self.page_size.to_le_bytes());
        v.extend_from_slice(&self.page_format.to_le_bytes());
        let flags = if self.start_state.is_some() {
            FLAG_HAS_START_STATE
        } else {
            0
        };
        v.extend_from_slice(&flags.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        let crc = crc32c::crc32c(&v);
        v.extend_from_slice(&crc.to_le_bytes());
        h.copy_from_slice(&v);
        h
    }

    /// Parses a header from the start of `data`, which is at absolute offset
    /// `base` (0 for a file).
    pub fn parse(data: &[u8], base: u64) -> Result<SegmentHeader> {
        if data.len() < MAGIC.len() || data.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            if data.len() < MAGIC.len() && MAGIC.starts_with(data) {
                return Err(Error::eof(
                    base + data.len() as u64,
                    (MAGIC.len() - data.len()) as u64,
                    "segment magic",
                ));
            }
            return Err(Error::new(
                ErrorKind::BadMagic,
                base,
                "not a replog segment (bad magic)",
            ));
        }
        let Some(bytes) = data.get(..HEADER_LEN) else {
            return Err(Error::eof(
                base + data.len() as u64,
                (HEADER_LEN - data.len()) as u64,
                "segment header",
            ));
        };
        let mut c = Cursor::new(bytes, base);
        c.bytes(8, "magic")?;
        let kind_at = c.offset();
        let kind_b = c.u8("kind")?;
        let version = c.u8("version")?;
        let hlen = c.u16("header length")?;
        let seq = c.u32("segment sequence")?;
        let log_id = c.array::<16>("log id")?;
        let store_id = c.u64("store id")?;
        let salt = c.u64("salt")?;
        let start_lsn = c.u64("start lsn")?;
        let start_state = c.u64("start state")?;
        let page_size = c.u32("page size")?;
        let page_format = c.u16("page format")?;
        let flags_at = c.offset();
        let flags = c.u16("flags")?;
        let reserved = c.u32("reserved")?;
        let crc_at = c.offset();
        let stored = c.u32("header crc")?;
        let actual = crc32c::crc32c(bytes.get(..HEADER_LEN - 4).unwrap_or(&[]));
        if stored != actual {
            return Err(Error::new(
                ErrorKind::Checksum {
                    expected: stored,
                    actual,
                },
                crc_at,
                "segment header checksum mismatch",
            ));
        }
        let kind = LogKind::from_code(kind_b).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                kind_at,
                format!("unknown log kind {kind_b}"),
            )
        })?;
        if !(FORMAT_VERSION..=MAX_FORMAT_VERSION).contains(&version) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                kind_at + 1,
                format!(
                    "format version {version} is not supported (this reader knows {FORMAT_VERSION} to {MAX_FORMAT_VERSION})"
                ),
            ));
        }
        if hlen as usize != HEADER_LEN {
            return Err(Error::malformed(
                kind_at + 2,
                format!("header length {hlen}, expected {HEADER_LEN}"),
            ));
        }
        if flags & !FLAG_HAS_START_STATE != 0 || reserved != 0 {
            return Err(Error::malformed(flags_at, "reserved header bits are set"));
        }
        if start_lsn % 8 != 0 {
            return Err(Error::malformed(
                base + 48,
                "start LSN is not a multiple of 8",
            ));
        }
        Ok(SegmentHeader {
            kind,
            version,
            seq,
            log_id,
            store_id,
            salt,
            start_lsn,
            start_state: (flags & FLAG_HAS_START_STATE != 0).then_some(start_state),
            page_size,
            page_format,
        })
    }

    /// The file name of this segment: its start LSN as 16 hex digits, so that
    /// names sort by position.
    pub fn file_name(&self) -> String {
        segment_file_name(self.start_lsn)
    }
}

/// File name of the segment starting at `start_lsn`.
pub fn segment_file_name(start_lsn: u64) -> String {
    format!("{start_lsn:016x}.{EXTENSION}")
}

/// True when `bytes` starts with the segment magic.
pub fn has_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SegmentHeader {
        SegmentHeader {
            kind: LogKind::Logical,
            version: 1,
            seq: 3,
            log_id: [7; 16],
            store_id: 9,
            salt: 0x1122_3344_5566_7788,
            start_lsn: 4096,
            start_state: Some(42),
            page_size: 0,
            page_format: 0,
        }
    }

    #[test]
    fn round_trip_and_crc() {
        let h = sample();
        let mut b = h.encode();
        assert_eq!(SegmentHeader::parse(&b, 0).unwrap(), h);
        assert_eq!(h.file_name(), "0000000000001000.replog");
        b[33] ^= 1;
        let e = SegmentHeader::parse(&b, 0).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Checksum { .. }));
        assert_eq!(e.offset(), Some(76));
    }

    #[test]
    fn reads_versions_1_and_2_only() {
        let mut h = sample();
        for v in [FORMAT_VERSION, FORMAT_VERSION_PG] {
            h.version = v;
            assert_eq!(SegmentHeader::parse(&h.encode(), 0).unwrap().version, v);
        }
        h.version = MAX_FORMAT_VERSION + 1;
        let e = SegmentHeader::parse(&h.encode(), 0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(e.offset(), Some(9));
    }

    #[test]
    fn short_and_foreign_input() {
        let b = sample().encode();
        assert_eq!(
            SegmentHeader::parse(&b[..20], 0).unwrap_err().offset(),
            Some(20)
        );
        assert_eq!(
            SegmentHeader::parse(&b[..3], 0).unwrap_err().kind(),
            ErrorKind::UnexpectedEof { needed: 5 }
        );
        assert_eq!(
            SegmentHeader::parse(b"\xfebin", 0).unwrap_err().kind(),
            ErrorKind::BadMagic
        );
    }
}
