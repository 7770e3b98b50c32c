//! pgoutput, PostgreSQL's logical replication protocol (versions 1–4):
//! zero-copy decoding of one message.
//!
//! All integers are big-endian; strings are NUL-terminated UTF-8; LSNs are
//! u64; times are i64 microseconds since 2000-01-01 00:00:00 UTC. Inside a
//! streamed block (between Stream Start and Stream Stop, protocol 2 and
//! later) Relation, Type, Insert, Update, Delete, Truncate and Message carry
//! the streamed transaction's xid right after the type byte; the
//! [`Decoder`] keeps that state. The layouts are given in
//! `formats/pglogical.md` §2.

use replog_core::codec::Cursor as Be;
use replog_core::error::{Error, ErrorKind, Result};

/// Microseconds from the Unix epoch to PostgreSQL's epoch (2000-01-01).
pub const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

/// Tuple column kinds.
pub mod kind {
    /// NULL.
    pub const NULL: u8 = b'n';
    /// An unchanged TOASTed value: not sent.
    pub const UNCHANGED: u8 = b'u';
    /// The type's text output.
    pub const TEXT: u8 = b't';
    /// The type's binary (send) output.
    pub const BINARY: u8 = b'b';
}

/// One column of a [`TupleData`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datum<'a> {
    /// NULL (`n`).
    Null,
    /// Unchanged TOAST value (`u`): the value was not sent.
    Unchanged,
    /// Text output (`t`), not yet checked to be UTF-8.
    Text(&'a [u8]),
    /// Binary output (`b`).
    Binary(&'a [u8]),
}

/// The columns of one row, validated, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TupleData<'a> {
    /// Number of columns.
    pub natts: u16,
    raw: &'a [u8],
    offset: u64,
}

impl<'a> TupleData<'a> {
    fn read(c: &mut Be<'a>) -> Result<TupleData<'a>> {
        let at = c.offset();
        let natts = c.be_i16("tuple column count")?;
        let natts = u16::try_from(natts)
            .map_err(|_| Error::malformed(at, format!("negative tuple column count {natts}")))?;
        let offset = c.offset();
        let data = c.clone();
        for _ in 0..natts {
            let at = c.offset();
            match c.u8("tuple column kind")? {
                kind::NULL | kind::UNCHANGED => {}
                kind::TEXT | kind::BINARY => {
                    let lat = c.offset();
                    let len = c.be_i32("column value length")?;
                    let len = usize::try_from(len).map_err(|_| {
                        Error::malformed(lat, format!("negative column value length {len}"))
                    })?;
                    c.bytes(len, "column value")?;
                }
                k => {
                    return Err(Error::malformed(
                        at,
                        format!("tuple column kind 0x{k:02x} is not n, u, t or b"),
                    ));
                }
            }
        }
        let mut d = data;
        let raw = d.bytes((c.offset() - offset) as usize, "tuple")?;
        Ok(TupleData { natts, raw, offset })
    }

    /// Absolute offset of the first column.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The columns, in order, with the absolute offset of each.
    pub fn columns(&self) -> Columns<'a> {
        Columns {
            c: Be::new(self.raw, self.offset),
            left: self.natts,
        }
    }
}

/// Iterator over a validated [`TupleData`]'s columns.
#[derive(Debug, Clone)]
pub struct Columns<'a> {
    c: Be<'a>,
    left: u16,
}

impl<'a> Iterator for Columns<'a> {
    type Item = (u64, Datum<'a>);

    fn next(&mut self) -> Option<(u64, Datum<'a>)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let at = self.c.offset();
        // Validated by `TupleData::read`: these cannot fail.
        let d = match self.c.u8("kind").ok()? {
            kind::NULL => Datum::Null,
            kind::UNCHANGED => Datum::Unchanged,
            k => {
                let len = self.c.be_i32("length").ok()?;
                let v = self.c.bytes(usize::try_from(len).ok()?, "value").ok()?;
                if k == kind::TEXT {
                    Datum::Text(v)
                } else {
                    Datum::Binary(v)
                }
            }
        };
        Some((at, d))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

/// One column of a Relation message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelColumn<'a> {
    /// Part of the replica identity key (flag bit 1).
    pub key: bool,
    /// Column name.
    pub name: &'a str,
    /// Type OID.
    pub type_oid: u32,
    /// Type modifier (-1: none).
    pub typmod: i32,
}

/// Relation (`R`): a table's columns, sent before its first change and
/// again after it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationMsg<'a> {
    /// Streamed transaction (inside a stream block).
    pub xid: Option<u32>,
    /// The table's OID.
    pub relid: u32,
    /// Schema name (empty for `pg_catalog`).
    pub namespace: &'a str,
    /// Table name.
    pub name: &'a str,
    /// Replica identity: `d` default, `n` nothing, `f` full, `i` index.
    pub replident: u8,
    /// Number of columns.
    pub natts: u16,
    raw: &'a [u8],
    offset: u64,
}

impl<'a> RelationMsg<'a> {
    /// The columns, in order.
    pub fn columns(&self) -> impl Iterator<Item = RelColumn<'a>> + 'a {
        let mut c = Be::new(self.raw, self.offset);
        (0..self.natts).map_while(move |_| read_rel_column(&mut c).ok())
    }
}

fn read_rel_column<'a>(c: &mut Be<'a>) -> Result<RelColumn<'a>> {
    let flags = c.u8("column flags")?;
    let name = c.cstr("column name")?;
    let type_oid = c.be_u32("column type OID")?;
    let typmod = c.be_i32("column type modifier")?;
    Ok(RelColumn {
        key: flags & 1 != 0,
        name,
        type_oid,
        typmod,
    })
}

/// Which old row an Update or Delete carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldKind {
    /// `K`: the replica identity key's columns (others null).
    Key,
    /// `O`: the whole old row (REPLICA IDENTITY FULL).
    Full,
}

/// Begin Prepare, Prepare and Stream Prepare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrepareInfo<'a> {
    /// LSN of the PREPARE record.
    pub prepare_lsn: u64,
    /// LSN just past it.
    pub end_lsn: u64,
    /// Prepare time (µs since 2000-01-01).
    pub time: i64,
    /// Transaction id.
    pub xid: u32,
    /// Global transaction identifier.
    pub gid: &'a str,
}

/// A decoded pgoutput message, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgMessage<'a> {
    /// `B`: a transaction starts.
    Begin {
        /// LSN of its commit record.
        final_lsn: u64,
        /// Commit time (µs since 2000-01-01).
        commit_time: i64,
        /// Transaction id.
        xid: u32,
    },
    /// `C`: it commits.
    Commit {
        /// Flags (none defined).
        flags: u8,
        /// LSN of the commit record.
        commit_lsn: u64,
        /// LSN just past it.
        end_lsn: u64,
        /// Commit time.
        commit_time: i64,
    },
    /// `O`: the transaction came from another node.
    Origin {
        /// LSN of the commit on the origin server.
        lsn: u64,
        /// Origin name.
        name: &'a str,
    },
    /// `R`.
    Relation(RelationMsg<'a>),
    /// `Y`: a non-built-in type used by the next Relation.
    Type {
        /// Streamed transaction.
        xid: Option<u32>,
        /// Type OID.
        oid: u32,
        /// Schema.
        namespace: &'a str,
        /// Type name.
        name: &'a str,
    },
    /// `I`.
    Insert {
        /// Streamed transaction.
        xid: Option<u32>,
        /// Table OID.
        relid: u32,
        /// The new row.
        new: TupleData<'a>,
    },
    /// `U`.
    Update {
        /// Streamed transaction.
        xid: Option<u32>,
        /// Table OID.
        relid: u32,
        /// The old key or row, when sent.
        old: Option<(OldKind, TupleData<'a>)>,
        /// The new row.
        new: TupleData<'a>,
    },
    /// `D`.
    Delete {
        /// Streamed transaction.
        xid: Option<u32>,
        /// Table OID.
        relid: u32,
        /// The old key or row.
        old: (OldKind, TupleData<'a>),
    },
    /// `T`.
    Truncate {
        /// Streamed transaction.
        xid: Option<u32>,
        /// CASCADE (flag 1).
        cascade: bool,
        /// RESTART IDENTITY (flag 2).
        restart_identity: bool,
        /// Number of tables.
        count: u32,
        /// Their OIDs, 4 bytes each.
        relids: &'a [u8],
    },
    /// `M`: `pg_logical_emit_message`.
    Message {
        /// Streamed transaction.
        xid: Option<u32>,
        /// Emitted inside a transaction (flag 1).
        transactional: bool,
        /// LSN of the message record.
        lsn: u64,
        /// Prefix.
        prefix: &'a str,
        /// Content.
        content: &'a [u8],
    },
    /// `S` (v2): a block of a streamed transaction starts.
    StreamStart {
        /// Transaction id.
        xid: u32,
        /// Its first block.
        first: bool,
    },
    /// `E` (v2): the block ends.
    StreamStop,
    /// `c` (v2): a streamed transaction commits.
    StreamCommit {
        /// Transaction id.
        xid: u32,
        /// Flags (none defined).
        flags: u8,
        /// LSN of the commit record.
        commit_lsn: u64,
        /// LSN just past it.
        end_lsn: u64,
        /// Commit time.
        commit_time: i64,
    },
    /// `A` (v2): a streamed transaction or one of its subtransactions
    /// aborts.
    StreamAbort {
        /// Top-level transaction id.
        xid: u32,
        /// The aborted (sub)transaction; equal to `xid` for the whole.
        subxid: u32,
        /// Abort LSN and time (v4 with parallel streaming).
        abort: Option<(u64, i64)>,
    },
    /// `b` (v3): a prepared transaction's changes follow.
    BeginPrepare(PrepareInfo<'a>),
    /// `P` (v3): it is prepared.
    Prepare(PrepareInfo<'a>),
    /// `K` (v3): a prepared transaction commits.
    CommitPrepared {
        /// Flags.
        flags: u8,
        /// LSN of the COMMIT PREPARED record.
        commit_lsn: u64,
        /// LSN just past it.
        end_lsn: u64,
        /// Commit time.
        commit_time: i64,
        /// Transaction id.
        xid: u32,
        /// Global transaction identifier.
        gid: &'a str,
    },
    /// `r` (v3): a prepared transaction rolls back.
    RollbackPrepared {
        /// Flags.
        flags: u8,
        /// LSN just past the PREPARE.
        prepare_end_lsn: u64,
        /// LSN just past the ROLLBACK PREPARED.
        rollback_end_lsn: u64,
        /// Prepare time.
        prepare_time: i64,
        /// Rollback time.
        rollback_time: i64,
        /// Transaction id.
        xid: u32,
        /// Global transaction identifier.
        gid: &'a str,
    },
    /// `p` (v3): a streamed transaction is prepared.
    StreamPrepare(PrepareInfo<'a>),
}

impl PgMessage<'_> {
    /// The message type's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            PgMessage::Begin { .. } => "Begin",
            PgMessage::Commit { .. } => "Commit",
            PgMessage::Origin { .. } => "Origin",
            PgMessage::Relation(_) => "Relation",
            PgMessage::Type { .. } => "Type",
            PgMessage::Insert { .. } => "Insert",
            PgMessage::Update { .. } => "Update",
            PgMessage::Delete { .. } => "Delete",
            PgMessage::Truncate { .. } => "Truncate",
            PgMessage::Message { .. } => "Message",
            PgMessage::StreamStart { .. } => "Stream Start",
            PgMessage::StreamStop => "Stream Stop",
            PgMessage::StreamCommit { .. } => "Stream Commit",
            PgMessage::StreamAbort { .. } => "Stream Abort",
            PgMessage::BeginPrepare(_) => "Begin Prepare",
            PgMessage::Prepare(_) => "Prepare",
            PgMessage::CommitPrepared { .. } => "Commit Prepared",
            PgMessage::RollbackPrepared { .. } => "Rollback Prepared",
            PgMessage::StreamPrepare(_) => "Stream Prepare",
        }
    }
}

/// How a message ends in the input: exactly at the end of its slice (one
/// message per COPY row) or followed by more (pg_recvlogical's files, where
/// a newline follows each message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The slice is exactly one message.
    Exact,
    /// The message is followed by `\n` (and then the next message).
    Newline,
}

/// Decodes pgoutput messages one at a time, keeping whether a stream block
/// is open (which decides whether changes carry an xid).
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    in_stream: bool,
}

impl Decoder {
    /// A decoder outside any stream block.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Whether a stream block is open.
    pub fn in_stream(&self) -> bool {
        self.in_stream
    }

    /// Decodes the message at the start of `data`, whose first byte is at
    /// absolute offset `base`; returns it and its length in bytes (without
    /// any newline that follows). With [`Framing::Exact`], bytes left after
    /// the message are an error.
    pub fn decode<'a>(
        &mut self,
        data: &'a [u8],
        base: u64,
        framing: Framing,
    ) -> Result<(PgMessage<'a>, usize)> {
        let mut c = Be::new(data, base);
        let at = c.offset();
        let t = c.u8("message type")?;
        let sx = |c: &mut Be<'a>, in_stream: bool| -> Result<Option<u32>> {
            if in_stream {
                Ok(Some(c.be_u32("streamed transaction xid")?))
            } else {
                Ok(None)
            }
        };
        let msg = match t {
            b'B' => PgMessage::Begin {
                final_lsn: c.be_u64("final LSN")?,
                commit_time: c.be_i64("commit time")?,
                xid: c.be_u32("xid")?,
            },
            b'C' => PgMessage::Commit {
                flags: c.u8("commit flags")?,
                commit_lsn: c.be_u64("commit LSN")?,
                end_lsn: c.be_u64("end LSN")?,
                commit_time: c.be_i64("commit time")?,
            },
            b'O' => PgMessage::Origin {
                lsn: c.be_u64("origin LSN")?,
                name: c.cstr("origin name")?,
            },
            b'R' => {
                let xid = sx(&mut c, self.in_stream)?;
                let relid = c.be_u32("relation OID")?;
                let namespace = c.cstr("namespace")?;
                let name = c.cstr("relation name")?;
                let replident = c.u8("replica identity")?;
                let nat = c.offset();
                let natts = c.be_i16("column count")?;
                let natts = u16::try_from(natts)
                    .map_err(|_| Error::malformed(nat, format!("negative column count {natts}")))?;
                let offset = c.offset();
                let mut cols = c.clone();
                for _ in 0..natts {
                    read_rel_column(&mut c)?;
                }
                let raw = cols.bytes((c.offset() - offset) as usize, "columns")?;
                PgMessage::Relation(RelationMsg {
                    xid,
                    relid,
                    namespace,
                    name,
                    replident,
                    natts,
                    raw,
                    offset,
                })
            }
            b'Y' => PgMessage::Type {
                xid: sx(&mut c, self.in_stream)?,
                oid: c.be_u32("type OID")?,
                namespace: c.cstr("type namespace")?,
                name: c.cstr("type name")?,
            },
            b'I' => {
                let xid = sx(&mut c, self.in_stream)?;
                let relid = c.be_u32("relation OID")?;
                expect(&mut c, b'N', "new tuple marker N")?;
                PgMessage::Insert {
                    xid,
                    relid,
                    new: TupleData::read(&mut c)?,
                }
            }
            b'U' => {
                let xid = sx(&mut c, self.in_stream)?;
                let relid = c.be_u32("relation OID")?;
                let mat = c.offset();
                let old = match c.u8("tuple marker")? {
                    b'K' => Some((OldKind::Key, TupleData::read(&mut c)?)),
                    b'O' => Some((OldKind::Full, TupleData::read(&mut c)?)),
                    b'N' => None,
                    m => return Err(bad_marker(mat, m, "K, O or N")),
                };
                if old.is_some() {
                    expect(&mut c, b'N', "new tuple marker N")?;
                }
                PgMessage::Update {
                    xid,
                    relid,
                    old,
                    new: TupleData::read(&mut c)?,
                }
            }
            b'D' => {
                let xid = sx(&mut c, self.in_stream)?;
                let relid = c.be_u32("relation OID")?;
                let mat = c.offset();
                let k = match c.u8("tuple marker")? {
                    b'K' => OldKind::Key,
                    b'O' => OldKind::Full,
                    m => return Err(bad_marker(mat, m, "K or O")),
                };
                PgMessage::Delete {
                    xid,
                    relid,
                    old: (k, TupleData::read(&mut c)?),
                }
            }
            b'T' => {
                let xid = sx(&mut c, self.in_stream)?;
                let count = c.be_u32("relation count")?;
                let flags = c.u8("truncate flags")?;
                let n = usize::try_from(count)
                    .ok()
                    .and_then(|n| n.checked_mul(4))
                    .unwrap_or(usize::MAX);
                let relids = c.bytes(n, "truncated relation OIDs")?;
                PgMessage::Truncate {
                    xid,
                    cascade: flags & 1 != 0,
                    restart_identity: flags & 2 != 0,
                    count,
                    relids,
                }
            }
            b'M' => {
                let xid = sx(&mut c, self.in_stream)?;
                let flags = c.u8("message flags")?;
                let lsn = c.be_u64("message LSN")?;
                let prefix = c.cstr("message prefix")?;
                let lat = c.offset();
                let len = c.be_i32("message length")?;
                let len = usize::try_from(len)
                    .map_err(|_| Error::malformed(lat, format!("negative message length {len}")))?;
                PgMessage::Message {
                    xid,
                    transactional: flags & 1 != 0,
                    lsn,
                    prefix,
                    content: c.bytes(len, "message content")?,
                }
            }
            b'S' => {
                let xid = c.be_u32("xid")?;
                let first = c.u8("first segment flag")? != 0;
                self.in_stream = true;
                PgMessage::StreamStart { xid, first }
            }
            b'E' => {
                self.in_stream = false;
                PgMessage::StreamStop
            }
            b'c' => PgMessage::StreamCommit {
                xid: c.be_u32("xid")?,
                flags: c.u8("commit flags")?,
                commit_lsn: c.be_u64("commit LSN")?,
                end_lsn: c.be_u64("end LSN")?,
                commit_time: c.be_i64("commit time")?,
            },
            b'A' => {
                let xid = c.be_u32("xid")?;
                let subxid = c.be_u32("subtransaction xid")?;
                // v4 with parallel streaming adds the abort LSN and time:
                // present when the message goes on (not the end of an
                // exact slice, not the newline that ends a message).
                let more = match framing {
                    Framing::Exact => c.remaining() > 0,
                    Framing::Newline => c.remaining() > 0 && c.peek() != Some(b'\n'),
                };
                let abort = if more {
                    Some((c.be_u64("abort LSN")?, c.be_i64("abort time")?))
                } else {
                    None
                };
                PgMessage::StreamAbort { xid, subxid, abort }
            }
            b'b' => PgMessage::BeginPrepare(read_begin_prepare(&mut c)?),
            b'P' => PgMessage::Prepare(read_prepare(&mut c)?),
            b'p' => PgMessage::StreamPrepare(read_prepare(&mut c)?),
            b'K' => PgMessage::CommitPrepared {
                flags: c.u8("flags")?,
                commit_lsn: c.be_u64("commit LSN")?,
                end_lsn: c.be_u64("end LSN")?,
                commit_time: c.be_i64("commit time")?,
                xid: c.be_u32("xid")?,
                gid: c.cstr("gid")?,
            },
            b'r' => PgMessage::RollbackPrepared {
                flags: c.u8("flags")?,
                prepare_end_lsn: c.be_u64("prepare end LSN")?,
                rollback_end_lsn: c.be_u64("rollback end LSN")?,
                prepare_time: c.be_i64("prepare time")?,
                rollback_time: c.be_i64("rollback time")?,
                xid: c.be_u32("xid")?,
                gid: c.cstr("gid")?,
            },
            t => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    at,
                    format!("unknown pgoutput message type 0x{t:02x}{}", printable(t)),
                ));
            }
        };
        let len = (c.offset() - base) as usize;
        match framing {
            Framing::Exact if c.remaining() > 0 => Err(Error::malformed(
                c.offset(),
                format!(
                    "{} bytes after the end of a {} message",
                    c.remaining(),
                    msg.name()
                ),
            )),
            Framing::Newline if c.peek() != Some(b'\n') => Err(Error::malformed(
                c.offset(),
                format!(
                    "a {} message is not followed by the newline pg_recvlogical writes after each message",
                    msg.name()
                ),
            )),
            _ => Ok((msg, len)),
        }
    }
}

fn printable(t: u8) -> String {
    if t.is_ascii_graphic() {
        format!(" ({:?})", t as char)
    } else {
        String::new()
    }
}

fn expect(c: &mut Be<'_>, want: u8, what: &str) -> Result<()> {
    let at = c.offset();
    let m = c.u8(what)?;
    if m != want {
        return Err(bad_marker(at, m, what));
    }
    Ok(())
}

#[cold]
fn bad_marker(at: u64, m: u8, want: &str) -> Error {
    Error::malformed(
        at,
        format!(
            "tuple marker 0x{m:02x}{} where {want} was expected",
            printable(m)
        ),
    )
}

fn read_begin_prepare<'a>(c: &mut Be<'a>) -> Result<PrepareInfo<'a>> {
    Ok(PrepareInfo {
        prepare_lsn: c.be_u64("prepare LSN")?,
        end_lsn: c.be_u64("end LSN")?,
        time: c.be_i64("prepare time")?,
        xid: c.be_u32("xid")?,
        gid: c.cstr("gid")?,
    })
}

fn read_prepare<'a>(c: &mut Be<'a>) -> Result<PrepareInfo<'a>> {
    c.u8("prepare flags")?;
    read_begin_prepare(c)
}

/// Renders an LSN as PostgreSQL does: `0/16B3748`.
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

/// Parses PostgreSQL's LSN text `HI/LO` (hexadecimal).
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.split_once('/')?;
    let hi = u32::from_str_radix(hi, 16).ok()?;
    let lo = u32::from_str_radix(lo, 16).ok()?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}
