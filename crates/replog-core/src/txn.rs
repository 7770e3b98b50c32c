//! Transactions: the one place where BEGIN … COMMIT frames are assembled
//! into whole committed transactions, for every consumer (replay, diff,
//! state diff, conversions, determinism).
//!
//! A [`TxnReader`] wraps a [`LogReader`] and yields [`TxnEvent`]s: segment
//! starts, damage, and each committed [`Transaction`] — its BEGIN fields,
//! its records in order and its COMMIT — borrowed from one arena that is
//! reused from transaction to transaction (no copy per record beyond the
//! one into the arena, no allocation once the arena has grown to the
//! largest transaction).
//!
//! What is handled here once, not in each consumer:
//! - **recovery**: the reader's [`RecoveryPolicy`](crate::recovery::RecoveryPolicy)
//!   decides which damage ends the log; a transaction open at a damaged
//!   place is dropped, never handed over in part;
//! - **state gaps**: a COMMIT whose `state_before` does not continue the
//!   digest chain is classified by the reader as damage
//!   ([`DamageKind::StateGap`]). When the reader goes on after it
//!   ([`ReaderOptions::continue_after_damage`](crate::reader::ReaderOptions)),
//!   its transaction is handed over whole with [`Transaction::gap`] set;
//! - **the uncommitted tail**: records after the last COMMIT are never
//!   handed over; [`TxnReader::summary`] reports them;
//! - **the end-of-log check**: [`TxnReader::intolerable`] is the first
//!   damage the policy does not accept (a state gap that was handed over
//!   excepted).
//!
//! Consumers either pull ([`TxnReader::next`], as `diff` does with two logs
//! in step) or implement [`Consume`] and let [`drive`] run the loop.
//!
//! ```
//! use replog_core::reader::{LogReader, ReaderOptions};
//! use replog_core::txn::{Consume, Flow, Transaction, TxnReader, drive};
//! use replog_core::writer::{LogWriter, WriterOptions};
//! use replog_core::{Begin, Commit, LogKind};
//!
//! let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Statement))?;
//! for txid in 1..=3 {
//!     w.begin(&Begin { txid, timestamp_us: 0, server_id: 1, origin: "" })?;
//!     w.append(&[0x10, txid as u8])?;
//!     w.commit(&Commit { txid, timestamp_us: 0, state_before: None, state_after: None })?;
//! }
//! let bytes = w.finish()?;
//!
//! struct Count(u64);
//! impl Consume for Count {
//!     type Error = replog_core::Error;
//!     fn transaction(&mut self, tx: &Transaction<'_>) -> Result<Flow, Self::Error> {
//!         self.0 += tx.records().len() as u64;
//!         Ok(Flow::Continue)
//!     }
//! }
//! let mut txns = TxnReader::new(LogReader::from_bytes(bytes, ReaderOptions::default()));
//! let mut count = Count(0);
//! drive(&mut txns, &mut count)?;
//! assert_eq!(count.0, 3);
//! assert!(txns.intolerable().is_none());
//! # Ok::<(), replog_core::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::reader::{Damage, DamageKind, Event, LogReader, ReaderOptions, SegmentInput, Summary};
use crate::record::{Begin, Commit, LogKind, rtype};
use crate::segment::SegmentHeader;
use std::borrow::BorrowMut;
use std::ops::Range;

/// One record of a transaction.
#[derive(Debug, Clone, Copy)]
pub struct TxRecord<'a> {
    /// Log position of its frame.
    pub lsn: u64,
    /// Absolute offset of its frame in its segment file.
    pub offset: u64,
    /// The body; its first byte is the record type (a format's type).
    pub body: &'a [u8],
}

impl TxRecord<'_> {
    /// Absolute offset of the body's first byte (what a format's `decode`
    /// takes).
    pub fn body_offset(&self) -> u64 {
        self.offset + crate::frame::FRAME_HEADER_LEN as u64
    }
}

#[derive(Debug, Clone)]
struct RecordAt {
    lsn: u64,
    offset: u64,
    body: Range<usize>,
}

/// The COMMIT of a transaction did not continue the state-digest chain:
/// transactions are missing before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateGap {
    /// The digest the chain expected (the previous `state_after`).
    pub expected: u64,
    /// The COMMIT's `state_before`.
    pub found: u64,
}

/// A committed transaction, borrowed from the [`TxnReader`]'s arena until
/// the next call.
#[derive(Debug, Clone, Copy)]
pub struct Transaction<'a> {
    /// BEGIN: transaction id, times, server id, origin.
    pub begin: Begin<'a>,
    /// LSN of the BEGIN frame.
    pub begin_lsn: u64,
    /// Offset of the BEGIN frame in its segment.
    pub begin_offset: u64,
    /// The COMMIT.
    pub commit: Commit,
    /// LSN of the COMMIT frame.
    pub commit_lsn: u64,
    /// Offset of the COMMIT frame in its segment.
    pub commit_offset: u64,
    /// LSN just past the COMMIT frame: where a follower that applied this
    /// transaction stands.
    pub end_lsn: u64,
    /// Index (among the reader's inputs) of the segment holding the COMMIT.
    pub segment: usize,
    /// Set when the COMMIT broke the state-digest chain.
    pub gap: Option<StateGap>,
    /// What kind of log the transaction was read from. From a binlog,
    /// `begin_offset` / `commit_offset` are binlog positions in the file
    /// `segment` names, the origin is `[<gtid> ]<file>:<pos>`, and the
    /// LSNs are those of the native log the import stands for: messages
    /// name [`Transaction::position`], not the LSN.
    pub source: SourceKind,
    /// Which piece of its transaction this is: the whole transaction,
    /// unless the consumer accepted pieces ([`TxnSource::accept_pieces`]).
    pub piece: Piece,
    arena: &'a [u8],
    /// Where the record bodies start in `arena` (the origin is before).
    base: usize,
    records: &'a [RecordAt],
}

impl<'a> Transaction<'a> {
    /// A transaction of `begin` and `commit` with no record, every
    /// position 0, read from a native log: a source sets the other fields
    /// and hands it over from its [`TxnArena`] ([`TxnArena::transaction`]).
    pub fn new(begin: Begin<'a>, commit: Commit) -> Transaction<'a> {
        Transaction {
            begin,
            begin_lsn: 0,
            begin_offset: 0,
            commit,
            commit_lsn: 0,
            commit_offset: 0,
            end_lsn: 0,
            segment: 0,
            gap: None,
            source: SourceKind::Native,
            piece: Piece::WHOLE,
            arena: &[],
            base: 0,
            records: &[],
        }
    }

    /// The transaction without its origin and records (kept by a source
    /// to hand it over again from its arena).
    pub fn detached(&self) -> Transaction<'static> {
        Transaction {
            begin: Begin {
                origin: "",
                ..self.begin
            },
            arena: &[],
            base: 0,
            records: &[],
            ..*self
        }
    }

    /// Transaction id.
    pub fn txid(&self) -> u64 {
        self.begin.txid
    }

    /// The records between BEGIN and COMMIT, in log order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = TxRecord<'a>> + 'a {
        let arena = self.arena;
        self.records.iter().map(move |r| TxRecord {
            lsn: r.lsn,
            offset: r.offset,
            body: arena.get(r.body.clone()).unwrap_or(&[]),
        })
    }

    /// The `i`-th record.
    pub fn record(&self, i: usize) -> Option<TxRecord<'a>> {
        let r = self.records.get(i)?;
        Some(TxRecord {
            lsn: r.lsn,
            offset: r.offset,
            body: self.arena.get(r.body.clone()).unwrap_or(&[]),
        })
    }

    /// Where the transaction is, for messages: the foreign log's position
    /// (`mariadb-bin.000001:1234`, with its GTID) when it came from one,
    /// else `LSN n` of its COMMIT.
    pub fn position(&self) -> String {
        match self.source {
            SourceKind::Native => format!("LSN {}", self.commit_lsn),
            SourceKind::Binlog => binlog_position(self.begin.origin),
            SourceKind::Postgres | SourceKind::PostgresWal => {
                format!("LSN {}", self.begin.origin)
            }
        }
    }

    /// The foreign log's position ([`Transaction::position`]) when the
    /// transaction came from one (a binlog, a PostgreSQL output); `None`
    /// for a replog log, whose positions are its LSNs.
    pub fn foreign_position(&self) -> Option<String> {
        (self.source != SourceKind::Native).then(|| self.position())
    }

    /// Where its record at `lsn` is, for messages: `LSN n` in a replog log,
    /// else the foreign log's position of the transaction (a binlog's
    /// records have no position of their own there).
    pub fn record_position(&self, lsn: u64) -> String {
        match self.source {
            SourceKind::Native => format!("LSN {lsn}"),
            _ => self.position(),
        }
    }

    /// Bytes of record bodies.
    pub fn body_bytes(&self) -> usize {
        self.arena.len().saturating_sub(self.base)
    }
}

/// About how many bytes of records a piece holds when a consumer takes
/// transactions in pieces and has no reason to choose otherwise
/// ([`TxnSource::accept_pieces`]).
pub const PIECE_BYTES: usize = 8 << 20;

/// Which piece of its transaction a handed-over [`Transaction`] holds.
///
/// A source hands a transaction over whole unless its consumer accepted
/// pieces ([`TxnSource::accept_pieces`]); then a transaction larger than the
/// piece size the consumer gave may come as several [`TxnEvent::Transaction`]s
/// in a row, each with the same BEGIN, COMMIT and positions and the next
/// records in order: indexes 0, 1, …, the last one marked `last`. Only the
/// last piece's COMMIT is the transaction's end: in the others
/// `commit_lsn` and `end_lsn` are 0 (the COMMIT frame is not made yet) and
/// the summary does not count it committed. Memory is so bounded by a
/// piece, not by the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Pieces of the transaction before this one.
    pub index: u32,
    /// Whether this piece ends the transaction.
    pub last: bool,
}

impl Piece {
    /// The whole transaction in one piece.
    pub const WHOLE: Piece = Piece {
        index: 0,
        last: true,
    };

    /// Whether this piece starts its transaction.
    pub fn first(&self) -> bool {
        self.index == 0
    }
}

/// What kind of log a [`Transaction`] was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SourceKind {
    /// A replog log: positions are LSNs.
    #[default]
    Native,
    /// A MySQL/MariaDB binlog: positions are `file:pos` (and GTIDs).
    Binlog,
    /// A PostgreSQL logical decoding output (pgoutput, test_decoding,
    /// wal2json): the LSNs are PostgreSQL's, the offsets the file's, the
    /// origin `<commit LSN> xid <xid>[ gid <gid>][ origin <name>]`.
    Postgres,
    /// PostgreSQL WAL decoded offline with its catalog: the LSNs and
    /// offsets are those of the native log the decoding stands for, the
    /// origin `<commit LSN> xid <xid>` PostgreSQL's.
    PostgresWal,
}

/// A binlog transaction's origin (`[<gtid> ]<file>:<pos>`) as a position
/// for messages: `file:pos (GTID g)`.
pub fn binlog_position(origin: &str) -> String {
    match origin.rsplit_once(' ') {
        Some((gtid, at)) => format!("{at} (GTID {gtid})"),
        None => origin.to_string(),
    }
}

/// What a [`TxnReader`] found next.
#[derive(Debug)]
pub enum TxnEvent<'a> {
    /// A segment starts; its header is valid.
    Segment {
        /// Index among the inputs.
        index: usize,
        /// Name of the segment.
        name: &'a str,
        /// The header.
        header: &'a SegmentHeader,
    },
    /// A damaged place (a state gap whose transaction follows as a
    /// [`TxnEvent::Transaction`] included).
    Damage(&'a Damage),
    /// A committed transaction.
    Transaction(Transaction<'a>),
}

struct Open {
    txid: u64,
    timestamp_us: i64,
    server_id: u32,
    lsn: u64,
    offset: u64,
}

/// Where a transaction is assembled: its BEGIN origin and record bodies in
/// one buffer that is reused from transaction to transaction (it grows only
/// to the largest transaction). [`TxnReader`] fills it from frames; a
/// foreign source (an imported binlog) encodes its records straight into
/// it, and both hand over [`Transaction`]s borrowed from it.
#[derive(Debug, Default)]
pub struct TxnArena {
    bytes: Vec<u8>,
    records: Vec<RecordAt>,
    origin_len: usize,
}

impl TxnArena {
    /// An empty arena.
    pub fn new() -> TxnArena {
        TxnArena::default()
    }

    /// Starts a transaction whose BEGIN carries `origin`: the previous
    /// transaction's bytes are forgotten (the capacity is kept).
    pub fn begin(&mut self, origin: &str) {
        self.bytes.clear();
        self.records.clear();
        self.bytes.extend_from_slice(origin.as_bytes());
        self.origin_len = origin.len();
    }

    /// Forgets the records (a piece handed over), keeping the origin.
    pub fn clear_records(&mut self) {
        self.bytes.truncate(self.origin_len);
        self.records.clear();
    }

    /// Bytes of record bodies held.
    pub fn body_bytes(&self) -> usize {
        self.bytes.len() - self.origin_len
    }

    /// Appends a record whose frame is at `lsn` / `offset`.
    pub fn push(&mut self, lsn: u64, offset: u64, body: &[u8]) {
        let s = self.bytes.len();
        self.bytes.extend_from_slice(body);
        self.records.push(RecordAt {
            lsn,
            offset,
            body: s..self.bytes.len(),
        });
    }

    /// Appends a record encoded by `encode` straight into the arena (no
    /// buffer of its own); returns the body's length. On error nothing is
    /// appended.
    pub fn push_with<E>(
        &mut self,
        lsn: u64,
        offset: u64,
        encode: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), E>,
    ) -> std::result::Result<usize, E> {
        let s = self.bytes.len();
        if let Err(e) = encode(&mut self.bytes) {
            self.bytes.truncate(s);
            return Err(e);
        }
        self.records.push(RecordAt {
            lsn,
            offset,
            body: s..self.bytes.len(),
        });
        Ok(self.bytes.len() - s)
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The transaction `head` describes (a [`Transaction::detached`]
    /// one), with the arena's origin and records.
    pub fn transaction(&self, head: &Transaction<'static>) -> Transaction<'_> {
        let origin =
            std::str::from_utf8(self.bytes.get(..self.origin_len).unwrap_or(&[])).unwrap_or("");
        Transaction {
            begin: Begin {
                origin,
                ..head.begin
            },
            arena: &self.bytes,
            base: self.origin_len,
            records: &self.records,
            ..*head
        }
    }
}

/// The transactions of a native log that a producer stands for without
/// writing it (an import, a decoding): it assembles each one in a
/// [`TxnArena`], numbers its frames as the log would
/// ([`Summary::count_virtual_frame`]) and keeps the [`Summary`]. Every
/// [`TxnProducer`] that makes its own records uses it.
#[derive(Debug)]
pub struct VirtualLog {
    arena: TxnArena,
    next_lsn: u64,
    begin_lsn: u64,
    summary: Summary,
    scratch: Vec<u8>,
    /// The BEGIN of the transaction being assembled (its origin is in the
    /// arena).
    begin: Begin<'static>,
    current: Option<Transaction<'static>>,
    /// Pieces of the open transaction handed over ([`VirtualLog::piece`]).
    pieces: u32,
    /// The arena holds a piece handed over: its records go before the
    /// next record is pushed.
    handed: bool,
}

impl Default for VirtualLog {
    fn default() -> VirtualLog {
        VirtualLog::new()
    }
}

impl VirtualLog {
    /// A log of one (virtual) segment starting at LSN 0.
    pub fn new() -> VirtualLog {
        VirtualLog {
            arena: TxnArena::new(),
            next_lsn: 0,
            begin_lsn: 0,
            summary: Summary {
                segments: 1,
                ..Summary::default()
            },
            scratch: Vec::new(),
            begin: Begin {
                txid: 0,
                timestamp_us: 0,
                server_id: 0,
                origin: "",
            },
            current: None,
            pieces: 0,
            handed: false,
        }
    }

    /// Starts a transaction with `begin` (the previous one is forgotten).
    pub fn begin(&mut self, begin: &Begin<'_>) {
        self.current = None;
        self.pieces = 0;
        self.handed = false;
        self.begin = Begin {
            origin: "",
            ..*begin
        };
        self.scratch.clear();
        begin.encode(&mut self.scratch);
        self.arena.begin(begin.origin);
        self.begin_lsn = self.frame(self.scratch.len());
    }

    /// Appends a record read at byte `offset` of the input.
    pub fn push(&mut self, offset: u64, body: &[u8]) {
        self.next_piece();
        self.arena.push(self.next_lsn, offset, body);
        self.frame(body.len());
    }

    /// Appends the record `encode` writes (nothing when it fails).
    pub fn push_with<E>(
        &mut self,
        offset: u64,
        encode: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.next_piece();
        let n = self.arena.push_with(self.next_lsn, offset, encode)?;
        self.frame(n);
        Ok(())
    }

    /// Ends the transaction started last with `commit`; `offset` is where
    /// the input holds it. It is then [`VirtualLog::made`].
    pub fn commit(&mut self, commit: Commit, offset: u64, source: SourceKind) {
        self.scratch.clear();
        commit.encode(&mut self.scratch);
        self.next_piece();
        let commit_lsn = self.frame(self.scratch.len());
        let s = &mut self.summary;
        s.commits += 1;
        s.first_lsn.get_or_insert(0);
        s.end_lsn = Some(self.next_lsn);
        s.committed_lsn = Some(self.next_lsn);
        if commit.state_after.is_some() {
            s.final_state = commit.state_after;
        }
        let mut head = Transaction::new(self.begin, commit);
        head.begin_lsn = self.begin_lsn;
        head.begin_offset = offset;
        head.commit_lsn = commit_lsn;
        head.commit_offset = offset;
        head.end_lsn = self.next_lsn;
        head.source = source;
        head.piece = Piece {
            index: self.pieces,
            last: true,
        };
        self.current = Some(head);
    }

    /// Bytes of record bodies of the open transaction held (since its
    /// BEGIN, or since its last piece was handed over).
    pub fn body_bytes(&self) -> usize {
        if self.handed {
            0
        } else {
            self.arena.body_bytes()
        }
    }

    /// Hands over the records pushed since the transaction's BEGIN (or its
    /// last piece) as a piece that is not its last ([`Piece`]): it is then
    /// [`VirtualLog::made`] with `commit` (which [`VirtualLog::commit`]
    /// will end it with), `offset` and `source`; its records are forgotten
    /// when the next one is pushed. Only for a consumer that accepted
    /// pieces ([`TxnSource::accept_pieces`]).
    pub fn piece(&mut self, commit: Commit, offset: u64, source: SourceKind) {
        self.next_piece();
        let mut head = Transaction::new(self.begin, commit);
        head.begin_lsn = self.begin_lsn;
        head.begin_offset = offset;
        head.commit_offset = offset;
        head.source = source;
        head.piece = Piece {
            index: self.pieces,
            last: false,
        };
        self.pieces += 1;
        self.handed = true;
        self.current = Some(head);
    }

    /// Drops the records of a piece handed over, before the next one.
    fn next_piece(&mut self) {
        if self.handed {
            self.handed = false;
            self.current = None;
            self.arena.clear_records();
        }
    }

    /// Forgets the transaction made last (none is made until the next
    /// [`VirtualLog::commit`]).
    pub fn clear(&mut self) {
        self.current = None;
    }

    /// The transaction committed last, unless cleared since.
    pub fn made(&self) -> Option<Transaction<'_>> {
        let head = self.current?;
        Some(self.arena.transaction(&head))
    }

    /// What the log holds so far.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Records `damage` in the input, placed after the frames made so far
    /// (its `lsn` and `record` are set here): it joins the summary, and
    /// [`Produced`] hands it over as a [`TxnEvent::Damage`]. A producer
    /// records damage its recovery policy accepts as the end of the input,
    /// then ends.
    pub fn damaged(&mut self, mut damage: Damage) {
        damage.lsn = self.next_lsn;
        damage.record = self.summary.frames;
        self.summary.damage_count += 1;
        if self.summary.damage.len() < 1000 {
            self.summary.damage.push(damage);
        }
    }

    fn frame(&mut self, len: usize) -> u64 {
        self.summary.count_virtual_frame(&mut self.next_lsn, len)
    }
}

/// Assembles the committed transactions of a log (see the module docs).
/// It owns its [`LogReader`], or borrows one (`TxnReader<&mut LogReader>`)
/// when the caller keeps the reader.
pub struct TxnReader<R: BorrowMut<LogReader> = LogReader> {
    reader: R,
    arena: TxnArena,
    open: Option<Open>,
    /// A state-gap COMMIT read with its damage event, handed over next.
    gap: Option<(Commit, u64, u64, u64, StateGap)>,
    /// State gaps whose transaction was handed over.
    gaps_delivered: u64,
    /// State gaps met.
    gaps: u64,
    segment: usize,
    kind: Option<LogKind>,
    ended: bool,
    /// The transaction handed over last, while it is in the arena.
    current: Option<Transaction<'static>>,
}

impl<R: BorrowMut<LogReader>> std::fmt::Debug for TxnReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnReader")
            .field("reader", self.reader.borrow())
            .field("arena", &self.arena.len())
            .finish()
    }
}

impl<R: BorrowMut<LogReader>> TxnReader<R> {
    /// Transactions of the log `reader` scans.
    pub fn new(reader: R) -> TxnReader<R> {
        TxnReader {
            reader,
            arena: TxnArena::new(),
            open: None,
            gap: None,
            gaps_delivered: 0,
            gaps: 0,
            segment: 0,
            kind: None,
            ended: false,
            current: None,
        }
    }

    /// The transaction the last call to [`TxnReader::next`] handed over,
    /// again (until `next` is called): for consumers that read a
    /// transaction ahead and apply it later (`diff --state` steps two logs).
    pub fn current(&self) -> Option<Transaction<'_>> {
        let c = self.current?;
        Some(self.arena.transaction(&c))
    }

    /// The kind of the log, once its first segment header was read.
    pub fn kind(&self) -> Option<LogKind> {
        self.kind.or_else(|| self.reader.borrow().kind())
    }

    /// The frame reader underneath.
    pub fn reader(&self) -> &LogReader {
        self.reader.borrow()
    }

    /// What the scan found so far (complete once [`TxnReader::next`]
    /// returned `None`): frames, commits, damage, the uncommitted tail.
    pub fn summary(&self) -> &Summary {
        self.reader.borrow().summary()
    }

    /// Gives up the assembler, returning the summary.
    pub fn into_summary(self) -> Summary {
        self.reader.borrow().summary().clone()
    }

    /// Gives up the assembler, returning the reader.
    pub fn into_reader(self) -> R {
        self.reader
    }

    /// Whether the log was read to its end (`next` returned `None`), as
    /// opposed to a consumer stopping early: only then is the summary's
    /// uncommitted tail the log's.
    pub fn at_end(&self) -> bool {
        self.ended
    }

    /// COMMITs that broke the state-digest chain.
    pub fn state_gaps(&self) -> u64 {
        self.gaps
    }

    /// The first damage the recovery policy does not accept, state gaps
    /// whose transaction was handed over excepted: the end-of-log check
    /// every consumer makes once the log is read.
    pub fn intolerable(&self) -> Option<&Damage> {
        let handed_over =
            |d: &Damage| self.gaps_delivered > 0 && matches!(d.kind, DamageKind::StateGap { .. });
        self.reader
            .borrow()
            .summary()
            .damage
            .iter()
            .find(|d| !d.tolerated && !handed_over(d))
    }

    /// The next event, or `None` at the end of the log.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<TxnEvent<'_>>> {
        self.current = None;
        if let Some((commit, lsn, offset, end_lsn, gap)) = self.gap.take() {
            self.gaps_delivered += 1;
            return Some(Ok(self.committed(commit, lsn, offset, end_lsn, Some(gap))));
        }
        loop {
            // Frames are taken into the arena while the reader is borrowed;
            // segment and damage events are returned by borrowing the
            // reader again afterwards.
            let step = match self.reader.borrow_mut().next() {
                None => {
                    self.ended = true;
                    return None;
                }
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(Event::Segment { index, header, .. })) => {
                    self.segment = index;
                    self.kind.get_or_insert(header.kind);
                    Step::Segment
                }
                Some(Ok(Event::Damage(d))) => Step::Damage(match d.kind {
                    DamageKind::StateGap { expected, found } if !d.tolerated => {
                        Some(StateGap { expected, found })
                    }
                    _ => None,
                }),
                Some(Ok(Event::Frame(f))) => match f.record_type() {
                    rtype::BEGIN => match Begin::decode(f.body, f.body_offset()) {
                        Ok(b) => {
                            self.arena.begin(b.origin);
                            self.open = Some(Open {
                                txid: b.txid,
                                timestamp_us: b.timestamp_us,
                                server_id: b.server_id,
                                lsn: f.lsn,
                                offset: f.offset,
                            });
                            continue;
                        }
                        Err(e) => return Some(Err(e)),
                    },
                    rtype::COMMIT => match Commit::decode(f.body, f.body_offset()) {
                        Ok(c) if self.open.is_some() => {
                            Step::Commit(c, f.lsn, f.offset, f.lsn + f.disk_len())
                        }
                        Ok(_) => continue,
                        Err(e) => return Some(Err(e)),
                    },
                    _ => {
                        if self.open.is_some() {
                            self.arena.push(f.lsn, f.offset, f.body);
                        }
                        continue;
                    }
                },
            };
            return match step {
                Step::Segment => {
                    let index = self.segment;
                    let reader: &LogReader = self.reader.borrow();
                    let header = reader.header()?;
                    let name = reader.segment_name(index).unwrap_or("");
                    Some(Ok(TxnEvent::Segment {
                        index,
                        name,
                        header,
                    }))
                }
                Step::Damage(gap) => {
                    if gap.is_some() {
                        self.gaps += 1;
                    }
                    match gap {
                        Some(gap)
                            if self.open.is_some()
                                && self.reader.borrow().gap_commit().is_some() =>
                        {
                            if let Err(e) = self.take_gap_commit(gap) {
                                return Some(Err(e));
                            }
                        }
                        // Whatever was open is cut by the damage.
                        _ => self.open = None,
                    }
                    self.reader
                        .borrow()
                        .last_damage()
                        .map(|d| Ok(TxnEvent::Damage(d)))
                }
                Step::Commit(c, lsn, offset, end) => {
                    Some(Ok(self.committed(c, lsn, offset, end, None)))
                }
            };
        }
    }

    fn take_gap_commit(&mut self, gap: StateGap) -> Result<()> {
        if let Some(f) = self.reader.borrow().gap_commit() {
            let c = Commit::decode(f.body, f.body_offset())?;
            self.gap = Some((c, f.lsn, f.offset, f.lsn + f.disk_len(), gap));
        }
        Ok(())
    }

    fn committed(
        &mut self,
        commit: Commit,
        lsn: u64,
        offset: u64,
        end_lsn: u64,
        gap: Option<StateGap>,
    ) -> TxnEvent<'_> {
        let open = self.open.take().unwrap_or(Open {
            txid: commit.txid,
            timestamp_us: commit.timestamp_us,
            server_id: 0,
            lsn,
            offset,
        });
        let mut c = Transaction::new(
            Begin {
                txid: open.txid,
                timestamp_us: open.timestamp_us,
                server_id: open.server_id,
                origin: "",
            },
            commit,
        );
        c.begin_lsn = open.lsn;
        c.begin_offset = open.offset;
        c.commit_lsn = lsn;
        c.commit_offset = offset;
        c.end_lsn = end_lsn;
        c.segment = self.segment;
        c.gap = gap;
        self.current = Some(c);
        TxnEvent::Transaction(self.arena.transaction(&c))
    }
}

enum Step {
    Segment,
    Damage(Option<StateGap>),
    Commit(Commit, u64, u64, u64),
}

/// What a consumer wants after a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on reading.
    Continue,
    /// Stop here: the rest of the log is not read (and its uncommitted
    /// tail, if any, is not the consumer's concern).
    Stop,
}

/// A consumer of whole transactions, driven by [`drive`] (the model is
/// raft-engine's `ReplayMachine`: the reader, its recovery policy and the
/// assembly live once; consumers receive whole units).
pub trait Consume {
    /// The consumer's error; reader errors convert into it.
    type Error: From<Error>;
    /// A segment starts (its header is valid).
    fn segment(
        &mut self,
        index: usize,
        name: &str,
        header: &SegmentHeader,
    ) -> std::result::Result<(), Self::Error> {
        let _ = (index, name, header);
        Ok(())
    }
    /// Damage was found (tolerated by the policy, or not: see
    /// [`Damage::tolerated`]).
    fn damage(&mut self, damage: &Damage) -> std::result::Result<(), Self::Error> {
        let _ = damage;
        Ok(())
    }
    /// A committed transaction.
    fn transaction(&mut self, tx: &Transaction<'_>) -> std::result::Result<Flow, Self::Error>;
}

/// A source of whole committed transactions: a native log through a
/// [`TxnReader`], or a foreign log imported as it is read (a MySQL/MariaDB
/// binlog: `replog_convert::source`). Every consumer reads through this
/// trait, so a new log source plugs in by implementing it.
///
/// The events and their order are the [`TxnReader`]'s: a
/// [`TxnEvent::Segment`] before the first transaction of each input,
/// [`TxnEvent::Damage`] where the recovery policy saw it, then the
/// transactions, borrowed from the source's [`TxnArena`] until the next
/// call.
pub trait TxnSource {
    /// The next event, or `None` at the end of the log.
    fn next(&mut self) -> Option<Result<TxnEvent<'_>>>;
    /// The transaction the last call to `next` handed over, again.
    fn current(&self) -> Option<Transaction<'_>>;
    /// The kind of native records the transactions hold, once known.
    fn kind(&self) -> Option<LogKind>;
    /// What the scan found so far: frames (records), commits, damage, the
    /// uncommitted tail.
    fn summary(&self) -> &Summary;
    /// The first damage the recovery policy does not accept (see
    /// [`TxnReader::intolerable`]).
    fn intolerable(&self) -> Option<&Damage>;
    /// Whether `next` returned `None` (the log was read to its end).
    fn at_end(&self) -> bool;
    /// COMMITs that broke the state-digest chain.
    fn state_gaps(&self) -> u64 {
        0
    }
    /// The consumer takes a large transaction in pieces of about `bytes`
    /// of records ([`Piece`]) rather than whole; call before the first
    /// `next`. A source that holds its transactions whole anyway (a native
    /// log's reader) ignores it and hands over whole transactions.
    fn accept_pieces(&mut self, bytes: usize) {
        let _ = bytes;
    }
}

/// A source that makes its transactions itself rather than reading them
/// from native frames: an imported binlog, a physical log decoded, heap
/// WAL decoded offline, a logical decoding stream. [`Produced`] makes it a
/// [`TxnSource`].
pub trait TxnProducer {
    /// The name and header of the (virtual) native log the transactions
    /// stand for: handed over first, as its only segment.
    fn segment(&self) -> (&str, &SegmentHeader);
    /// Makes the next committed transaction, handed over by
    /// [`TxnProducer::made`]; false at the end of the input.
    fn produce(&mut self) -> Result<bool>;
    /// The transaction the last [`TxnProducer::produce`] made.
    fn made(&self) -> Option<Transaction<'_>>;
    /// The kind of log the transactions' records belong to.
    fn kind(&self) -> LogKind;
    /// What was read so far (one segment, the transactions made).
    fn summary(&self) -> &Summary;
    /// [`TxnSource::accept_pieces`]: the consumer takes transactions in
    /// pieces of about `bytes` ([`VirtualLog::piece`]); ignored by a
    /// producer that makes whole transactions only.
    fn accept_pieces(&mut self, bytes: usize) {
        let _ = bytes;
    }
}

/// The one [`TxnSource`] over a [`TxnProducer`]: its segment first, then a
/// transaction per [`TxnProducer::produce`] until the end, or until an
/// error, which ends it. Damage the producer records in its summary
/// ([`VirtualLog::damaged`]) is handed over as [`TxnEvent::Damage`] after
/// the transaction made by the same call.
pub struct Produced<P> {
    producer: P,
    started: bool,
    ended: bool,
    failed: bool,
    made: bool,
    /// Damage of the summary handed over so far.
    damage_handed: usize,
}

impl<P: TxnProducer> std::fmt::Debug for Produced<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Produced")
            .field("segment", &self.producer.segment().0)
            .field("kind", &self.producer.kind())
            .field("ended", &self.ended)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<P: TxnProducer> Produced<P> {
    /// A source of `producer`'s transactions.
    pub fn new(producer: P) -> Produced<P> {
        Produced {
            producer,
            started: false,
            ended: false,
            failed: false,
            made: false,
            damage_handed: 0,
        }
    }

    /// The producer.
    pub fn producer(&self) -> &P {
        &self.producer
    }

    /// The producer, to change a setting between transactions.
    pub fn producer_mut(&mut self) -> &mut P {
        &mut self.producer
    }

    /// The producer, to be given up (its reports).
    pub fn into_producer(self) -> P {
        self.producer
    }
}

impl<P: TxnProducer> TxnSource for Produced<P> {
    fn next(&mut self) -> Option<Result<TxnEvent<'_>>> {
        self.made = false;
        if !self.started {
            self.started = true;
            let (name, header) = self.producer.segment();
            return Some(Ok(TxnEvent::Segment {
                index: 0,
                name,
                header,
            }));
        }
        if self.failed {
            return None;
        }
        if self.damage_handed < self.producer.summary().damage.len() {
            let i = self.damage_handed;
            self.damage_handed += 1;
            return Some(Ok(TxnEvent::Damage(&self.producer.summary().damage[i])));
        }
        if self.ended {
            return None;
        }
        match self.producer.produce() {
            Ok(true) => {
                self.made = true;
                self.producer.made().map(|t| Ok(TxnEvent::Transaction(t)))
            }
            Ok(false) => {
                self.ended = true;
                let i = self.damage_handed;
                let damage = self.producer.summary().damage.get(i)?;
                self.damage_handed += 1;
                Some(Ok(TxnEvent::Damage(damage)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }

    fn current(&self) -> Option<Transaction<'_>> {
        if self.made {
            self.producer.made()
        } else {
            None
        }
    }

    fn kind(&self) -> Option<LogKind> {
        Some(self.producer.kind())
    }

    fn summary(&self) -> &Summary {
        self.producer.summary()
    }

    fn intolerable(&self) -> Option<&Damage> {
        self.producer.summary().damage.iter().find(|d| !d.tolerated)
    }

    fn at_end(&self) -> bool {
        self.ended
    }

    fn accept_pieces(&mut self, bytes: usize) {
        self.producer.accept_pieces(bytes);
    }
}

impl<R: BorrowMut<LogReader>> TxnSource for TxnReader<R> {
    fn next(&mut self) -> Option<Result<TxnEvent<'_>>> {
        TxnReader::next(self)
    }
    fn current(&self) -> Option<Transaction<'_>> {
        TxnReader::current(self)
    }
    fn kind(&self) -> Option<LogKind> {
        TxnReader::kind(self)
    }
    fn summary(&self) -> &Summary {
        TxnReader::summary(self)
    }
    fn intolerable(&self) -> Option<&Damage> {
        TxnReader::intolerable(self)
    }
    fn at_end(&self) -> bool {
        TxnReader::at_end(self)
    }
    fn state_gaps(&self) -> u64 {
        TxnReader::state_gaps(self)
    }
}

impl<S: TxnSource + ?Sized> TxnSource for Box<S> {
    fn next(&mut self) -> Option<Result<TxnEvent<'_>>> {
        (**self).next()
    }
    fn current(&self) -> Option<Transaction<'_>> {
        (**self).current()
    }
    fn kind(&self) -> Option<LogKind> {
        (**self).kind()
    }
    fn summary(&self) -> &Summary {
        (**self).summary()
    }
    fn intolerable(&self) -> Option<&Damage> {
        (**self).intolerable()
    }
    fn at_end(&self) -> bool {
        (**self).at_end()
    }
    fn state_gaps(&self) -> u64 {
        (**self).state_gaps()
    }
    fn accept_pieces(&mut self, bytes: usize) {
        (**self).accept_pieces(bytes)
    }
}

/// Something a consumer opens as a [`TxnSource`] with the reader options
/// it needs (its recovery policy, whether it goes on after damage): the
/// segments of a native log, or a foreign log's opener. Library entry
/// points take this, so a command does not special-case foreign logs.
pub trait TxnInput {
    /// Opens the source.
    fn open(self, opts: ReaderOptions) -> Result<Box<dyn TxnSource>>;
}

impl TxnInput for Vec<SegmentInput> {
    fn open(self, opts: ReaderOptions) -> Result<Box<dyn TxnSource>> {
        Ok(Box::new(TxnReader::new(LogReader::new(self, opts))))
    }
}

impl TxnInput for Box<dyn TxnSource> {
    /// An already open source (its options were chosen when it was opened).
    fn open(self, _opts: ReaderOptions) -> Result<Box<dyn TxnSource>> {
        Ok(self)
    }
}

/// Feeds every event of `txns` to `consumer`, until the log ends or the
/// consumer stops. Returns whether the log was read to its end.
pub fn drive<S: TxnSource + ?Sized, C: Consume + ?Sized>(
    txns: &mut S,
    consumer: &mut C,
) -> std::result::Result<bool, C::Error> {
    while let Some(ev) = txns.next() {
        match ev? {
            TxnEvent::Segment {
                index,
                name,
                header,
            } => consumer.segment(index, name, header)?,
            TxnEvent::Damage(d) => consumer.damage(d)?,
            TxnEvent::Transaction(tx) => {
                if consumer.transaction(&tx)? == Flow::Stop {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::ReaderOptions;
    use crate::recovery::RecoveryPolicy;
    use crate::writer::{LogWriter, WriterOptions};

    fn log(states: &[(u64, u64)], records: usize) -> Vec<u8> {
        let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).unwrap();
        for (i, &(b, a)) in states.iter().enumerate() {
            let txid = i as u64 + 1;
            w.begin(&Begin {
                txid,
                timestamp_us: 5,
                server_id: 9,
                origin: "0-9-1",
            })
            .unwrap();
            for r in 0..records {
                w.append(&[0x10, txid as u8, r as u8]).unwrap();
            }
            w.commit(&Commit {
                txid,
                timestamp_us: 6,
                state_before: Some(b),
                state_after: Some(a),
            })
            .unwrap();
        }
        w.finish().unwrap()
    }

    fn collect(txns: &mut TxnReader) -> Vec<(u64, Vec<Vec<u8>>, Option<StateGap>)> {
        let mut out = Vec::new();
        while let Some(ev) = txns.next() {
            if let TxnEvent::Transaction(t) = ev.unwrap() {
                assert_eq!(t.begin.origin, "0-9-1");
                out.push((
                    t.txid(),
                    t.records().map(|r| r.body.to_vec()).collect(),
                    t.gap,
                ));
            }
        }
        out
    }

    #[test]
    fn whole_transactions_in_order_with_their_records() {
        for buffer_size in [0, 64] {
            let bytes = log(&[(1, 2), (2, 3)], 3);
            let opts = ReaderOptions {
                buffer_size,
                ..ReaderOptions::default()
            };
            // Both the in-memory (direct) and a buffered file-like path.
            let src = crate::reader::SegmentInput {
                name: "x".into(),
                source: Box::new(Unsliced(bytes)),
            };
            let mut txns = TxnReader::new(LogReader::new(vec![src], opts));
            let got = collect(&mut txns);
            assert_eq!(got.len(), 2);
            assert_eq!(
                got[1].1,
                vec![vec![0x10, 2, 0], vec![0x10, 2, 1], vec![0x10, 2, 2]]
            );
            assert!(txns.at_end() && txns.intolerable().is_none());
        }
    }

    /// Bytes without `as_slice`, so the reader goes through its buffer.
    struct Unsliced(Vec<u8>);
    impl crate::reader::Source for Unsliced {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.as_slice().read_at(offset, buf)
        }
    }

    #[test]
    fn a_state_gap_commit_is_handed_over_by_the_reader_when_it_goes_on() {
        // Transaction 2 starts from 7, not 2: one missing before it. Its
        // COMMIT body is not small: nothing may depend on its size.
        let bytes = log(&[(1, 2), (7, 8), (8, 9)], 700);
        for buffer_size in [0, 4096] {
            let opts = ReaderOptions {
                policy: RecoveryPolicy::Strict,
                continue_after_damage: true,
                buffer_size,
            };
            let src = crate::reader::SegmentInput {
                name: "x".into(),
                source: Box::new(Unsliced(bytes.clone())),
            };
            let mut txns = TxnReader::new(LogReader::new(vec![src], opts));
            let got = collect(&mut txns);
            assert_eq!(got.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2, 3]);
            assert_eq!(
                got[1].2,
                Some(StateGap {
                    expected: 2,
                    found: 7
                })
            );
            assert_eq!(got[1].1.len(), 700);
            assert_eq!(got[1].1[699], vec![0x10, 2, (699 % 256) as u8]);
            assert_eq!(txns.state_gaps(), 1);
            assert!(txns.intolerable().is_none());
        }
        // A reader that stops at damage does not hand it over, and the
        // end-of-log check names it.
        let mut txns = TxnReader::new(LogReader::from_bytes(bytes, ReaderOptions::default()));
        assert_eq!(collect(&mut txns).len(), 1);
        assert!(matches!(
            txns.intolerable().map(|d| &d.kind),
            Some(DamageKind::StateGap { .. })
        ));
    }

    #[test]
    fn a_torn_transaction_is_the_uncommitted_tail_never_handed_over() {
        let mut bytes = log(&[(1, 2), (2, 3)], 2);
        bytes.truncate(bytes.len() - 20);
        let opts = ReaderOptions {
            policy: RecoveryPolicy::TolerateTail,
            ..ReaderOptions::default()
        };
        let mut txns = TxnReader::new(LogReader::from_bytes(bytes, opts));
        assert_eq!(collect(&mut txns).len(), 1);
        assert!(txns.intolerable().is_none());
        assert_eq!(txns.summary().uncommitted.as_ref().map(|u| u.txid), Some(2));
    }

    #[test]
    fn a_consumer_can_stop() {
        struct First(Option<u64>);
        impl Consume for First {
            type Error = Error;
            fn transaction(&mut self, tx: &Transaction<'_>) -> Result<Flow> {
                self.0 = Some(tx.txid());
                Ok(Flow::Stop)
            }
        }
        let bytes = log(&[(1, 2), (2, 3)], 1);
        let mut txns = TxnReader::new(LogReader::from_bytes(bytes, ReaderOptions::default()));
        let mut c = First(None);
        assert!(!drive(&mut txns, &mut c).unwrap());
        assert_eq!(c.0, Some(1));
        assert!(!txns.at_end());
    }
}
