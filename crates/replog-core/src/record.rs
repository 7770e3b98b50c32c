//! Records shared by every format: transaction boundaries, and the trait each
//! format implements for its own records.
//!
//! A frame's body starts with a record-type byte. Types below
//! [`rtype::FIRST_FORMAT`] belong to the framing layer and mean the same in
//! every format; types from `0x10` up are defined by each format.

use crate::codec::{self, Cursor};
use crate::error::{Error, Result};
use crate::segment::SegmentHeader;
use serde::Serialize;

/// Which of the three native formats a log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    /// SQL statements with their replay context.
    Statement,
    /// Row changes (inserts, updates, deletes) with before images.
    Logical,
    /// Page changes of the reference store.
    Physical,
}

impl LogKind {
    /// The byte that names the kind in a segment header.
    pub fn code(self) -> u8 {
        match self {
            LogKind::Statement => 1,
            LogKind::Logical => 2,
            LogKind::Physical => 3,
        }
    }

    /// The kind named by a header byte.
    pub fn from_code(b: u8) -> Option<LogKind> {
        match b {
            1 => Some(LogKind::Statement),
            2 => Some(LogKind::Logical),
            3 => Some(LogKind::Physical),
            _ => None,
        }
    }

    /// Whether a record of this type may stand outside a BEGIN/COMMIT
    /// bracket (framing.md §4.3): only the physical format's CHECKPOINT
    /// (`0x14`, physical.md §2.6), written between transactions. Any other
    /// record outside a transaction is structure damage, never skipped.
    pub fn allows_outside_transactions(self, record_type: u8) -> bool {
        /// physical.md §2: CHECKPOINT.
        const PHYSICAL_CHECKPOINT: u8 = 0x14;
        matches!(self, LogKind::Physical) && record_type == PHYSICAL_CHECKPOINT
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            LogKind::Statement => "statement",
            LogKind::Logical => "logical",
            LogKind::Physical => "physical",
        }
    }
}

impl std::fmt::Display for LogKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Record-type bytes of the framing layer.
pub mod rtype {
    /// Starts a transaction.
    pub const BEGIN: u8 = 0x01;
    /// Ends a transaction; everything after the last COMMIT is an uncommitted tail.
    pub const COMMIT: u8 = 0x02;
    /// The first record type a format may define.
    pub const FIRST_FORMAT: u8 = 0x10;
}

/// BEGIN: `u8 type=0x01 | u64 txid | i64 timestamp_us | u32 server_id | u16 len + UTF-8 origin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Begin<'a> {
    /// Transaction id, unique within the log.
    pub txid: u64,
    /// When the transaction started on the leader, µs since the Unix epoch.
    pub timestamp_us: i64,
    /// Server id of the leader that ran the transaction.
    pub server_id: u32,
    /// Free-form origin, such as a GTID (`0-1-42`) or `file:position`.
    pub origin: &'a str,
}

/// COMMIT flag: the state digests are meaningful.
pub const COMMIT_HAS_STATE: u8 = 0x01;

/// COMMIT: `u8 type=0x02 | u8 flags | u64 txid | i64 timestamp_us | u64 state_before | u64 state_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Commit {
    /// Transaction id; equals the BEGIN's.
    pub txid: u64,
    /// Commit time on the leader, µs since the Unix epoch.
    pub timestamp_us: i64,
    /// Content digest of the whole store before the transaction, when known.
    pub state_before: Option<u64>,
    /// Content digest of the whole store after the transaction, when known.
    pub state_after: Option<u64>,
}

impl<'a> Begin<'a> {
    /// Encodes the whole body, type byte included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(rtype::BEGIN);
        codec::put_u64(out, self.txid);
        codec::put_i64(out, self.timestamp_us);
        codec::put_u32(out, self.server_id);
        let o = self.origin.as_bytes();
        codec::put_bytes_u16(out, o.get(..o.len().min(u16::MAX as usize)).unwrap_or(o));
    }

    /// Decodes a BEGIN body whose first byte is at absolute `offset`.
    pub fn decode(body: &'a [u8], offset: u64) -> Result<Begin<'a>> {
        let mut c = Cursor::new(body, offset);
        let t = c.u8("record type")?;
        debug_assert_eq!(t, rtype::BEGIN);
        let b = Begin {
            txid: c.u64("txid")?,
            timestamp_us: c.i64("timestamp")?,
            server_id: c.u32("server id")?,
            origin: c.str_u16("origin")?,
        };
        c.finish("BEGIN")?;
        Ok(b)
    }
}

impl Commit {
    /// Encodes the whole body, type byte included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(rtype::COMMIT);
        let has = self.state_before.is_some() && self.state_after.is_some();
        out.push(if has { COMMIT_HAS_STATE } else { 0 });
        codec::put_u64(out, self.txid);
        codec::put_i64(out, self.timestamp_us);
        codec::put_u64(out, self.state_before.filter(|_| has).unwrap_or(0));
        codec::put_u64(out, self.state_after.filter(|_| has).unwrap_or(0));
    }

    /// Decodes a COMMIT body whose first byte is at absolute `offset`.
    pub fn decode(body: &[u8], offset: u64) -> Result<Commit> {
        let mut c = Cursor::new(body, offset);
        c.u8("record type")?;
        let flags_at = c.offset();
        let flags = c.u8("flags")?;
        if flags & !COMMIT_HAS_STATE != 0 {
            return Err(Error::malformed(
                flags_at,
                format!("unknown COMMIT flags 0x{flags:02x}"),
            ));
        }
        let txid = c.u64("txid")?;
        let timestamp_us = c.i64("timestamp")?;
        let before = c.u64("state before")?;
        let after = c.u64("state after")?;
        c.finish("COMMIT")?;
        let has = flags & COMMIT_HAS_STATE != 0;
        Ok(Commit {
            txid,
            timestamp_us,
            state_before: has.then_some(before),
            state_after: has.then_some(after),
        })
    }
}

/// A table named by a record: by name, or by an id that an earlier record
/// bound to a name (logical RELATION records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableRef<'a> {
    /// `database.table`, or just `table`.
    Name(&'a str),
    /// An id defined by an earlier record of the same log.
    Id(u64),
}

/// What generic tools (`replog inspect`, filters, statistics) need to know
/// about a format's record.
pub trait RecordView {
    /// Name of the record's type, such as `INSERT` or `PAGE_IMAGE`.
    fn type_name(&self) -> &'static str;
    /// The table the record concerns, if any.
    fn table(&self) -> Option<TableRef<'_>> {
        None
    }
    /// When the record binds a table id to a name (a RELATION), both.
    fn defines_table(&self) -> Option<(u64, String)> {
        None
    }
    /// A short one-line description for table output.
    fn summary(&self) -> String;
}

/// A native format: how its record bodies decode.
pub trait Format {
    /// The kind this format has in segment headers.
    const KIND: LogKind;
    /// A decoded record, borrowing from the body.
    type Record<'a>: RecordView + Serialize;
    /// Decodes a format record body (`body[0]` is its type, at least
    /// [`rtype::FIRST_FORMAT`]); `offset` is the absolute offset of `body[0]`.
    fn decode(body: &[u8], offset: u64) -> Result<Self::Record<'_>>;
    /// Name of a record type byte (`"unknown"` when not defined).
    fn type_name(rtype: u8) -> &'static str;
    /// Refuses segments this reader cannot interpret (page format, page size).
    fn check_header(header: &SegmentHeader) -> Result<()> {
        let _ = header;
        Ok(())
    }
}

/// The decoded records of a whole segment held in memory (its first byte at
/// absolute offset `base`), with its transaction brackets checked: a BEGIN
/// only outside a transaction, a COMMIT only of the open transaction's txid,
/// a format record only inside one (unless its format allows it outside),
/// and no transaction left open. For small logs (samples, tests, documents);
/// a log on disk is read with [`LogReader`](crate::reader::LogReader) and
/// [`TxnReader`](crate::txn::TxnReader), which tell damage from a torn tail.
pub fn decode_segment<F: Format>(
    data: &[u8],
    base: u64,
) -> Result<(SegmentHeader, Vec<Record<'_, F::Record<'_>>>)> {
    let (header, frames) = crate::frame::FrameIter::new(data, base)?;
    if header.kind != F::KIND {
        return Err(Error::malformed(
            base,
            format!("a {:?} log, not {:?}", header.kind, F::KIND),
        ));
    }
    let mut open: Option<u64> = None;
    let mut out = Vec::new();
    for f in frames {
        let f = f?;
        let at = f.body_offset();
        let rec = decode_record::<F>(f.body, at)?;
        let misplaced = match &rec {
            Record::Begin(b) => open
                .replace(b.txid)
                .map(|t| format!("BEGIN inside transaction {t}")),
            Record::Commit(c) => match open.take() {
                Some(t) if t == c.txid => None,
                Some(t) => Some(format!("COMMIT of {} inside transaction {t}", c.txid)),
                None => Some(format!("COMMIT of {} outside a transaction", c.txid)),
            },
            Record::Data(_) => {
                let t = f.body.first().copied().unwrap_or(0);
                (open.is_none() && !F::KIND.allows_outside_transactions(t))
                    .then(|| "record outside a transaction".to_string())
            }
        };
        if let Some(m) = misplaced {
            return Err(Error::malformed(at, m));
        }
        out.push(rec);
    }
    if let Some(t) = open {
        return Err(Error::malformed(
            base + data.len() as u64,
            format!("transaction {t} not committed"),
        ));
    }
    Ok((header, out))
}

/// A decoded record of any format: a transaction boundary or a format record.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Record<'a, R> {
    /// BEGIN.
    Begin(Begin<'a>),
    /// COMMIT.
    Commit(Commit),
    /// A record of the format.
    Data(R),
}

/// Decodes any body of format `F`.
pub fn decode_record<F: Format>(body: &[u8], offset: u64) -> Result<Record<'_, F::Record<'_>>> {
    match body.first() {
        Some(&rtype::BEGIN) => Begin::decode(body, offset).map(Record::Begin),
        Some(&rtype::COMMIT) => Commit::decode(body, offset).map(Record::Commit),
        Some(&t) if t >= rtype::FIRST_FORMAT => F::decode(body, offset).map(Record::Data),
        Some(&t) => Err(Error::malformed(
            offset,
            format!("reserved record type 0x{t:02x}"),
        )),
        None => Err(Error::eof(offset, 1, "record type")),
    }
}

impl<R: RecordView> RecordView for Record<'_, R> {
    fn type_name(&self) -> &'static str {
        match self {
            Record::Begin(_) => "BEGIN",
            Record::Commit(_) => "COMMIT",
            Record::Data(r) => r.type_name(),
        }
    }
    fn table(&self) -> Option<TableRef<'_>> {
        match self {
            Record::Data(r) => r.table(),
            _ => None,
        }
    }
    fn defines_table(&self) -> Option<(u64, String)> {
        match self {
            Record::Data(r) => r.defines_table(),
            _ => None,
        }
    }
    fn summary(&self) -> String {
        match self {
            Record::Begin(b) => {
                let mut s = format!("txid={} server_id={}", b.txid, b.server_id);
                if !b.origin.is_empty() {
                    s.push_str(" origin=");
                    s.push_str(b.origin);
                }
                s
            }
            Record::Commit(c) => match (c.state_before, c.state_after) {
                (Some(b), Some(a)) => format!("txid={} state {b:016x} -> {a:016x}", c.txid),
                _ => format!("txid={}", c.txid),
            },
            Record::Data(r) => r.summary(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begin_and_commit_layouts() {
        let mut out = Vec::new();
        Begin {
            txid: 7,
            timestamp_us: 1,
            server_id: 2,
            origin: "0-1-7",
        }
        .encode(&mut out);
        #[rustfmt::skip]
        assert_eq!(out, [
            0x01,                                           // type BEGIN
            7, 0, 0, 0, 0, 0, 0, 0,                         // txid
            1, 0, 0, 0, 0, 0, 0, 0,                         // timestamp_us
            2, 0, 0, 0,                                     // server_id
            5, 0, b'0', b'-', b'1', b'-', b'7',             // origin
        ]);
        assert_eq!(Begin::decode(&out, 0).unwrap().origin, "0-1-7");
        out.clear();
        let c = Commit {
            txid: 7,
            timestamp_us: 3,
            state_before: Some(1),
            state_after: Some(2),
        };
        c.encode(&mut out);
        assert_eq!(out.len(), 34);
        assert_eq!(Commit::decode(&out, 0).unwrap(), c);
        out[1] = 0x80;
        assert_eq!(Commit::decode(&out, 100).unwrap_err().offset(), Some(101));
    }
}
