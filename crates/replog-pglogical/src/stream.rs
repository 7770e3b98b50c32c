//! pgoutput messages from a live replication connection as a
//! [`TxnSource`](replog_core::txn::TxnSource): the same decoder,
//! assembler and reorder buffer as a capture file, fed one message at a
//! time by a [`MessageFeed`] (`replog_pgrepl`'s logical stream).

use crate::assemble::Assembler;
use crate::pgoutput::Framing;
use crate::source::{Bufs, PgState, count_handed_over, handle, with_lsn};
use replog_core::LogKind;
use replog_core::error::Result;
use replog_core::reader::Summary;
use replog_core::segment::{FORMAT_VERSION_PG, SegmentHeader};
use replog_core::txn::{Produced, Transaction, TxnProducer};

/// One pgoutput message as received.
#[derive(Debug, Clone, Copy)]
pub struct FedMessage<'a> {
    /// The message (exactly one).
    pub bytes: &'a [u8],
    /// Absolute offset of its first byte in the feed's byte stream (the
    /// connection's bytes), for errors.
    pub offset: u64,
    /// The WAL position the server sent it at (XLogData's start: the LSN
    /// of the record it was decoded from).
    pub lsn: u64,
}

/// Where a live source's messages come from, and who hears that a
/// transaction was consumed.
pub trait MessageFeed {
    /// The next message; `None` at the end of the stream.
    fn next_message(&mut self) -> Result<Option<FedMessage<'_>>>;

    /// The transaction handed over last, which ended at `end_lsn`, has
    /// been consumed: the consumer asked for the next one, so it has done
    /// (and, for a store, made durable) whatever it does with it.
    fn consumed(&mut self, end_lsn: u64);
}

/// A live pgoutput stream as a [`TxnSource`](replog_core::txn::TxnSource).
pub type PgStreamSource<F> = Produced<PgStreamTxns<F>>;

/// The transactions of a live pgoutput stream (see the module docs).
pub struct PgStreamTxns<F: MessageFeed> {
    feed: F,
    name: String,
    header: SegmentHeader,
    asm: Assembler,
    pg: PgState,
    bufs: Bufs,
    summary: Summary,
    /// End LSN of the transaction handed over last, not yet reported
    /// consumed.
    pending: Option<u64>,
}

/// The source over `feed`; `identity` names the stream the same way on
/// every connection (it makes the log's identity, which a store's
/// position keeps: server system identifier, database and slot).
pub fn stream_source<F: MessageFeed>(feed: F, identity: &str) -> PgStreamSource<F> {
    Produced::new(PgStreamTxns::new(feed, identity))
}

/// The segment header of the stream named `identity`: the same for every
/// connection to it.
fn header(identity: &str) -> SegmentHeader {
    SegmentHeader::of_virtual_log(
        LogKind::Logical,
        FORMAT_VERSION_PG,
        [identity.as_bytes()],
        None,
    )
}

/// The log identity of the stream named `identity` (what a store's
/// position records of the log it follows).
pub fn stream_log_id(identity: &str) -> [u8; 16] {
    header(identity).log_id
}

impl<F: MessageFeed> PgStreamTxns<F> {
    /// See [`stream_source`].
    pub fn new(feed: F, identity: &str) -> PgStreamTxns<F> {
        PgStreamTxns {
            feed,
            name: identity.to_string(),
            header: header(identity),
            asm: Assembler::new(),
            pg: PgState::default(),
            bufs: Bufs::default(),
            summary: Summary {
                segments: 1,
                ..Summary::default()
            },
            pending: None,
        }
    }

    /// The feed.
    pub fn feed(&self) -> &F {
        &self.feed
    }

    /// The feed, to change.
    pub fn feed_mut(&mut self) -> &mut F {
        &mut self.feed
    }

    /// What the assembly counted.
    pub fn counts(&self) -> crate::assemble::Counts {
        self.asm.counts
    }

    /// Holds at most `bytes` of open transactions' records in memory.
    pub fn set_spill_limit(&mut self, bytes: usize) {
        self.asm.set_spill_limit(bytes);
    }
}

impl<F: MessageFeed> TxnProducer for PgStreamTxns<F> {
    fn segment(&self) -> (&str, &SegmentHeader) {
        (&self.name, &self.header)
    }

    fn produce(&mut self) -> Result<bool> {
        if let Some(end) = self.pending.take() {
            self.feed.consumed(end);
        }
        self.asm.clear();
        loop {
            let Some(m) = self.feed.next_message()? else {
                self.asm.finish();
                return Ok(false);
            };
            let lsn_ctx = if m.lsn != 0 {
                Some(m.lsn)
            } else {
                self.pg.cur.map(|c| c.1)
            };
            let (msg, _) = self
                .pg
                .decoder
                .decode(m.bytes, m.offset, Framing::Exact)
                .map_err(|e| with_lsn(e, lsn_ctx))?;
            let done = handle(
                &mut self.pg,
                &mut self.asm,
                &mut self.bufs,
                msg,
                m.offset,
                m.lsn,
                &|o| o,
            )
            .map_err(|e| with_lsn(e, lsn_ctx))?;
            if done {
                break;
            }
        }
        let Some(tx) = self.asm.transaction() else {
            return Ok(false);
        };
        count_handed_over(&mut self.summary, &tx);
        let end_lsn = tx.end_lsn;
        self.pending = Some(end_lsn);
        Ok(true)
    }

    fn made(&self) -> Option<Transaction<'_>> {
        self.asm.transaction()
    }

    fn kind(&self) -> LogKind {
        LogKind::Logical
    }

    fn summary(&self) -> &Summary {
        &self.summary
    }
}
