//! One WAL record: the fixed header, block references, main data, and the
//! CRC-32C that covers them.
//!
//! [`decode_record`] works on the bytes of one whole record (header
//! included), however they were gathered; it never allocates except to
//! append block headers to the caller's reused vector.

use std::fmt;
use std::ops::Range;

use crate::consts::*;
use crate::error::{Error, ErrorKind, Result};

/// A WAL position: the byte offset in the endless WAL stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// Parses PostgreSQL's `X/X` notation.
    pub fn parse(s: &str) -> Option<Lsn> {
        let (hi, lo) = s.trim().split_once('/')?;
        let hi = u32::from_str_radix(hi, 16).ok()?;
        let lo = u32::from_str_radix(lo, 16).ok()?;
        Some(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }

    /// Printed with the low half zero-padded to 8 digits, as pg_waldump's
    /// listing does (`0/00600100`).
    pub fn padded(self) -> PaddedLsn {
        PaddedLsn(self)
    }

    /// Appends `X/X` to `out` (what `Display` prints, without the
    /// formatting machinery: listings print millions).
    pub fn push_to(self, out: &mut String) {
        push_hex(out, (self.0 >> 32) as u32);
        out.push('/');
        push_hex(out, self.0 as u32);
    }
}

/// Appends `v` in upper-case hexadecimal without leading zeros.
fn push_hex(out: &mut String, v: u32) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut buf = [0u8; 8];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = DIGITS[(v & 0xF) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).expect("hex digits"));
}

/// Appends the decimal digits of `v` (without the formatting machinery).
pub fn push_u32(out: &mut String, v: u32) {
    out.push_str(itoa::Buffer::new().format(v));
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 as u32)
    }
}

impl serde::Serialize for Lsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An [`Lsn`] displayed as `X/XXXXXXXX`.
#[derive(Debug, Clone, Copy)]
pub struct PaddedLsn(Lsn);

impl fmt::Display for PaddedLsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:08X}", self.0.0 >> 32, self.0.0 as u32)
    }
}

/// The fixed 24-byte record header (`XLogRecord`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// `xl_tot_len`: length of the whole record, header included.
    pub tot_len: u32,
    /// `xl_xid`: transaction id (0 when none).
    pub xid: u32,
    /// `xl_prev`: LSN of the previous record.
    pub prev: Lsn,
    /// `xl_info`: low 4 bits for the WAL machinery, high 4 for the manager.
    pub info: u8,
    /// `xl_rmid`: resource manager id.
    pub rmid: u8,
    /// `xl_crc`: CRC-32C of the body then the header's first 20 bytes.
    pub crc: u32,
}

impl RecordHeader {
    /// Reads the header from the first 24 bytes of `b` (`b` must hold them).
    pub fn parse(b: &[u8]) -> Option<RecordHeader> {
        let b: &[u8; RECORD_HEADER] = b.get(..RECORD_HEADER)?.try_into().ok()?;
        Some(RecordHeader {
            tot_len: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            xid: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            prev: Lsn(u64::from_le_bytes([
                b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15],
            ])),
            info: b[16],
            rmid: b[17],
            crc: u32::from_le_bytes([b[20], b[21], b[22], b[23]]),
        })
    }
}

/// CRC-32C of a whole record as PostgreSQL computes it: over the bytes
/// after the header first, then over the header up to (not including)
/// `xl_crc`.
pub fn record_crc(record: &[u8]) -> u32 {
    let body = record.get(RECORD_HEADER..).unwrap_or(&[]);
    let head = &record[..record.len().min(20)];
    crate::crc::crc32c_append(crate::crc::crc32c(body), head)
}

/// The relation a block belongs to (`RelFileLocator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
pub struct RelFileLocator {
    /// Tablespace oid.
    pub spc: u32,
    /// Database oid.
    pub db: u32,
    /// Relation file number.
    pub rel: u32,
}

impl fmt::Display for RelFileLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.spc, self.db, self.rel)
    }
}

/// A full-page image's header (`XLogRecordBlockImageHeader`), with the hole
/// length worked out as PostgreSQL does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageHeader {
    /// Bytes of image data stored in the record.
    pub length: u16,
    /// Offset of the hole (bytes left out of the page).
    pub hole_offset: u16,
    /// Length of the hole.
    pub hole_length: u16,
    /// Raw `bimg_info` flags.
    pub info: u8,
    /// Compression of the stored bytes.
    pub compression: ImageCompression,
    /// Whether replay restores the image.
    pub apply: bool,
    /// Position of the image bytes within the record.
    #[serde(skip)]
    pub range: Range<u32>,
}

/// One block reference of a record (`XLogRecordBlockHeader` and what
/// follows it), with the positions of its image and data in the record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BlockHeader {
    /// Block reference id (0 to 32), the order the manager registered it.
    pub id: u8,
    /// Fork number (0 main, 1 fsm, 2 vm, 3 init).
    pub fork: u8,
    /// Raw `fork_flags`.
    pub flags: u8,
    /// The relation.
    pub rel: RelFileLocator,
    /// Block number within the fork.
    pub block: u32,
    /// The full-page image, when the block carries one.
    pub image: Option<ImageHeader>,
    /// Position of the block's manager-specific data within the record.
    #[serde(skip)]
    pub data: Range<u32>,
}

impl BlockHeader {
    /// Whether redo re-initialises the page (`BKPBLOCK_WILL_INIT`).
    pub fn will_init(&self) -> bool {
        self.flags & BKPBLOCK_WILL_INIT != 0
    }

    /// Length of the block's data.
    pub fn data_len(&self) -> u32 {
        self.data.end - self.data.start
    }
}

/// What [`decode_record`] finds besides the block references.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordBody {
    /// Position of the main data within the record.
    pub main_data: Range<u32>,
    /// Replication origin, when the record names one.
    pub origin: Option<u16>,
    /// Top-level transaction id, when a subtransaction's record names it.
    pub toplevel_xid: Option<u32>,
    /// Sum of the image lengths (what pg_waldump calls the FPI length).
    pub fpi_len: u32,
}

struct Cursor<'a> {
    /// The first bytes of the record (all of it, or its head).
    b: &'a [u8],
    pos: usize,
    /// Length of the whole record.
    end: usize,
    /// A read went past `b` but not past `end`: the head was too short.
    short: bool,
}

impl Cursor<'_> {
    fn take<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        match self.b.get(self.pos..self.pos + N) {
            Some(s) => {
                self.pos += N;
                Ok(s.try_into().expect("slice of N bytes"))
            }
            None => {
                self.short = self.pos + N <= self.end;
                Err(bad(self.pos, format!("record ends inside {what}")))
            }
        }
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take::<2>(what)?))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take::<4>(what)?))
    }
}

/// An error at `pos` bytes into the record; the reader turns that into a
/// file offset and LSN.
#[cold]
fn bad(pos: usize, message: String) -> Error {
    Error::new(ErrorKind::Record, message).at(pos as u64, crate::Lsn(pos as u64))
}

/// Decodes the block references and main data of one whole record
/// (`record` starts with the 24-byte header and is exactly `xl_tot_len`
/// long), appending the block headers to `blocks` (cleared first).
///
/// `block_size` is the data page size used to work out image holes.
/// Checks everything PostgreSQL's `DecodeXLogRecord` checks. An error's
/// [`offset`](Error::offset) is relative to the start of the record.
pub fn decode_record(
    record: &[u8],
    version: PgVersion,
    block_size: u32,
    blocks: &mut Vec<BlockHeader>,
) -> Result<RecordBody> {
    let body = decode_head(record, record.len(), version, block_size, blocks)?;
    Ok(body.expect("the whole record is there"))
}

/// [`decode_record`] from the first bytes of a record of `tot_len` bytes
/// (the payloads are not read, only laid out): `Ok(None)` when the block
/// headers run past `head`, so the whole record is needed.
pub(crate) fn decode_head(
    head: &[u8],
    tot_len: usize,
    version: PgVersion,
    block_size: u32,
    blocks: &mut Vec<BlockHeader>,
) -> Result<Option<RecordBody>> {
    let mut c = Cursor {
        b: head,
        pos: RECORD_HEADER,
        end: tot_len,
        short: false,
    };
    match decode_headers(&mut c, version, block_size, blocks) {
        Err(_) if c.short => Ok(None),
        r => r.map(Some),
    }
}

fn decode_headers(
    c: &mut Cursor<'_>,
    version: PgVersion,
    block_size: u32,
    blocks: &mut Vec<BlockHeader>,
) -> Result<RecordBody> {
    blocks.clear();
    if c.end < RECORD_HEADER {
        return Err(bad(
            0,
            format!("record of {} bytes is shorter than its header", c.end),
        ));
    }
    let mut body = RecordBody::default();
    let mut data_total: u64 = 0;
    let mut main_len: u32 = 0;
    let mut last_rel: Option<RelFileLocator> = None;
    let mut max_id: i32 = -1;
    let end = c.end;
    // Headers continue while more bytes remain than the payloads announced
    // so far (a record without main data has no terminating id).
    while (end - c.pos) as u64 > data_total {
        let at = c.pos;
        let id = c.u8("a block id")?;
        match id {
            XLR_BLOCK_ID_DATA_SHORT => {
                main_len = u32::from(c.u8("the main data length")?);
                break;
            }
            XLR_BLOCK_ID_DATA_LONG => {
                main_len = c.u32("the main data length")?;
                break;
            }
            XLR_BLOCK_ID_ORIGIN => body.origin = Some(c.u16("the replication origin")?),
            XLR_BLOCK_ID_TOPLEVEL_XID => body.toplevel_xid = Some(c.u32("the top-level xid")?),
            0..=XLR_MAX_BLOCK_ID => {
                if i32::from(id) <= max_id {
                    return Err(bad(at, format!("out-of-order block id {id}")));
                }
                max_id = i32::from(id);
                let flags = c.u8("a block header")?;
                let data_len = c.u16("a block header")?;
                let has_data = flags & BKPBLOCK_HAS_DATA != 0;
                if has_data && data_len == 0 {
                    return Err(bad(at, format!("block {id} has data flag set but no data")));
                }
                if !has_data && data_len != 0 {
                    return Err(bad(
                        at,
                        format!("block {id} has no data flag but {data_len} bytes of data"),
                    ));
                }
                data_total += u64::from(data_len);
                let mut image = None;
                if flags & BKPBLOCK_HAS_IMAGE != 0 {
                    let length = c.u16("an image header")?;
                    let hole_offset = c.u16("an image header")?;
                    let info = c.u8("an image header")?;
                    if info & !version.image_flags_mask() != 0 {
                        return Err(bad(
                            at,
                            format!("block {id} image has unknown flags 0x{info:02X}"),
                        ));
                    }
                    let compression = version.image_compression(info);
                    let has_hole = info & BKPIMAGE_HAS_HOLE != 0;
                    let hole_length = if compression != ImageCompression::None {
                        if has_hole {
                            c.u16("an image hole length")?
                        } else {
                            0
                        }
                    } else if has_hole {
                        (block_size as u16).wrapping_sub(length)
                    } else {
                        0
                    };
                    let bs = block_size;
                    if has_hole && (hole_offset == 0 || hole_length == 0 || u32::from(length) == bs)
                    {
                        return Err(bad(
                            at,
                            format!(
                                "block {id} image: hole offset {hole_offset}, length {hole_length}, image length {length}"
                            ),
                        ));
                    }
                    if !has_hole && (hole_offset != 0 || hole_length != 0) {
                        return Err(bad(
                            at,
                            format!("block {id} image: hole offset {hole_offset} without a hole"),
                        ));
                    }
                    if compression != ImageCompression::None && u32::from(length) == bs {
                        return Err(bad(
                            at,
                            format!("block {id} image compressed to a whole page"),
                        ));
                    }
                    if !has_hole && compression == ImageCompression::None && u32::from(length) != bs
                    {
                        return Err(bad(
                            at,
                            format!("block {id} image of {length} bytes has no hole"),
                        ));
                    }
                    if u32::from(hole_offset) + u32::from(hole_length) > bs {
                        return Err(bad(at, format!("block {id} image hole runs past the page")));
                    }
                    data_total += u64::from(length);
                    body.fpi_len += u32::from(length);
                    image = Some(ImageHeader {
                        length,
                        hole_offset,
                        hole_length,
                        info,
                        compression,
                        apply: version.image_apply(info),
                        range: 0..0,
                    });
                }
                let rel = if flags & BKPBLOCK_SAME_REL != 0 {
                    match last_rel {
                        Some(r) => r,
                        None => {
                            return Err(bad(
                                at,
                                format!("block {id}: same relation as no previous block"),
                            ));
                        }
                    }
                } else {
                    RelFileLocator {
                        spc: c.u32("a relation")?,
                        db: c.u32("a relation")?,
                        rel: c.u32("a relation")?,
                    }
                };
                last_rel = Some(rel);
                let block = c.u32("a block number")?;
                blocks.push(BlockHeader {
                    id,
                    fork: flags & BKPBLOCK_FORK_MASK,
                    flags,
                    rel,
                    block,
                    image,
                    data: 0..u32::from(data_len),
                });
            }
            _ => return Err(bad(at, format!("invalid block id {id}"))),
        }
    }
    let headers_end = c.pos;
    let expected = headers_end as u64 + data_total + u64::from(main_len);
    if expected != end as u64 {
        return Err(bad(
            headers_end,
            format!(
                "record of {end} bytes announces {expected} bytes (headers {headers_end}, block data {data_total}, main data {main_len})"
            ),
        ));
    }
    // Lay out the payloads: per block its image then its data, then main data.
    let mut pos = headers_end as u32;
    for b in blocks.iter_mut() {
        if let Some(img) = &mut b.image {
            img.range = pos..pos + u32::from(img.length);
            pos += u32::from(img.length);
        }
        let n = b.data.end;
        b.data = pos..pos + n;
        pos += n;
    }
    body.main_data = pos..pos + main_len;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_push_to_prints_what_display_prints() {
        for v in [
            0u64,
            0x10,
            0x0000_0001_0000_0000,
            0x1234_5678_9ABC_DEF0,
            u64::MAX,
        ] {
            let mut s = String::new();
            Lsn(v).push_to(&mut s);
            assert_eq!(s, Lsn(v).to_string());
        }
    }
}
