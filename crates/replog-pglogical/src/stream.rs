//! pgoutput messages from a live replication connection as a
//! [`TxnSource`](replog_core::txn::TxnSource): the same decoder,
//! assembler and reorder buffer as a capture file, fed one message at a
//! time by a [`MessageFeed`] (`replog_pgrepl`'s logical stream).

use crate::pgoutput::Framing;
use crate::source::{Decoding, Messages, PgTxns, handle, with_lsn};
use replog_core::LogKind;
use replog_core::error::Result;
use replog_core::segment::{FORMAT_VERSION_PG, SegmentHeader};
use replog_core::txn::Produced;

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
pub type PgStreamTxns<F> = PgTxns<Fed<F>>;

/// A live stream's messages, as its [`MessageFeed`] gives them.
pub struct Fed<F: MessageFeed> {
    feed: F,
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
        PgTxns::over(
            Decoding::new(identity.to_string(), header(identity)),
            Fed { feed },
        )
    }

    /// The feed.
    pub fn feed(&self) -> &F {
        &self.messages().feed
    }

    /// The feed, to change.
    pub fn feed_mut(&mut self) -> &mut F {
        &mut self.messages_mut().feed
    }
}

impl<F: MessageFeed> Messages for Fed<F> {
    fn step(&mut self, d: &mut Decoding) -> Option<Result<bool>> {
        let m = match self.feed.next_message() {
            Ok(Some(m)) => m,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        let lsn_ctx = if m.lsn != 0 {
            Some(m.lsn)
        } else {
            d.pg.cur.map(|c| c.1)
        };
        let handled = match d.pg.decoder.decode(m.bytes, m.offset, Framing::Exact) {
            Ok((msg, _)) => handle(
                &mut d.pg,
                &mut d.asm,
                &mut d.bufs,
                msg,
                m.offset,
                m.lsn,
                &|o| o,
            ),
            Err(e) => Err(e),
        };
        Some(handled.map_err(|e| with_lsn(e, lsn_ctx)))
    }

    fn consumed(&mut self, end_lsn: u64) {
        self.feed.consumed(end_lsn);
    }
}
