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
use crate::frame::Frame;
use crate::reader::{Damage, DamageKind, Event, LogReader, Summary};
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
    arena: &'a [u8],
    records: &'a [RecordAt],
}

impl<'a> Transaction<'a> {
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

    /// Bytes of record bodies.
    pub fn body_bytes(&self) -> usize {
        self.arena.len()
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
    origin: Range<usize>,
    lsn: u64,
    offset: u64,
}

/// Assembles the committed transactions of a log (see the module docs).
/// It owns its [`LogReader`], or borrows one (`TxnReader<&mut LogReader>`)
/// when the caller keeps the reader.
pub struct TxnReader<R: BorrowMut<LogReader> = LogReader> {
    reader: R,
    arena: Vec<u8>,
    records: Vec<RecordAt>,
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
    current: Option<Current>,
}

#[derive(Clone, Copy)]
struct Current {
    txid: u64,
    timestamp_us: i64,
    server_id: u32,
    origin_len: usize,
    begin_lsn: u64,
    begin_offset: u64,
    commit: Commit,
    commit_lsn: u64,
    commit_offset: u64,
    end_lsn: u64,
    segment: usize,
    gap: Option<StateGap>,
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
            arena: Vec::new(),
            records: Vec::new(),
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
        Some(self.transaction(c))
    }

    fn transaction(&self, c: Current) -> Transaction<'_> {
        let origin =
            std::str::from_utf8(self.arena.get(..c.origin_len).unwrap_or(&[])).unwrap_or("");
        Transaction {
            begin: Begin {
                txid: c.txid,
                timestamp_us: c.timestamp_us,
                server_id: c.server_id,
                origin,
            },
            begin_lsn: c.begin_lsn,
            begin_offset: c.begin_offset,
            commit: c.commit,
            commit_lsn: c.commit_lsn,
            commit_offset: c.commit_offset,
            end_lsn: c.end_lsn,
            segment: c.segment,
            gap: c.gap,
            arena: &self.arena,
            records: &self.records,
        }
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
                            self.arena.clear();
                            self.records.clear();
                            self.arena.extend_from_slice(b.origin.as_bytes());
                            self.open = Some(Open {
                                txid: b.txid,
                                timestamp_us: b.timestamp_us,
                                server_id: b.server_id,
                                origin: 0..b.origin.len(),
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
                            push(&mut self.arena, &mut self.records, &f);
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
            origin: 0..0,
            lsn,
            offset,
        });
        let c = Current {
            txid: open.txid,
            timestamp_us: open.timestamp_us,
            server_id: open.server_id,
            origin_len: open.origin.len(),
            begin_lsn: open.lsn,
            begin_offset: open.offset,
            commit,
            commit_lsn: lsn,
            commit_offset: offset,
            end_lsn,
            segment: self.segment,
            gap,
        };
        self.current = Some(c);
        TxnEvent::Transaction(self.transaction(c))
    }
}

enum Step {
    Segment,
    Damage(Option<StateGap>),
    Commit(Commit, u64, u64, u64),
}

fn push(arena: &mut Vec<u8>, records: &mut Vec<RecordAt>, f: &Frame<'_>) {
    let s = arena.len();
    arena.extend_from_slice(f.body);
    records.push(RecordAt {
        lsn: f.lsn,
        offset: f.offset,
        body: s..arena.len(),
    });
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

/// Feeds every event of `txns` to `consumer`, until the log ends or the
/// consumer stops. Returns whether the log was read to its end.
pub fn drive<R: BorrowMut<LogReader>, C: Consume + ?Sized>(
    txns: &mut TxnReader<R>,
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
