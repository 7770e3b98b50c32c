//! `writer::write_source` copies any transaction source as the native log it
//! stands for (its header's identity and version kept), and `reader::Spool`
//! holds what it writes in memory and gives the same bytes back; past its
//! limit it refuses to write (it never goes on in a temporary file).

use replog_core::reader::{ReaderOptions, SegmentInput, Spool};
use replog_core::segment::FORMAT_VERSION_PG;
use replog_core::txn::{
    Produced, SourceKind, TxnEvent, TxnInput, TxnProducer, TxnSource, VirtualLog,
};
use replog_core::writer::{LogWriter, WriterOptions, write_source};
use replog_core::{Begin, Commit, LogKind};

/// A statement-kind log of `n` transactions, each with records of
/// growing size, written with `opts`.
fn log(opts: &WriterOptions, n: u64) -> Vec<u8> {
    let mut w = LogWriter::new(Vec::new(), opts).unwrap();
    for t in 1..=n {
        w.begin(&Begin {
            txid: t,
            timestamp_us: t as i64 * 1000,
            server_id: 7,
            origin: "0-7-1",
        })
        .unwrap();
        for r in 0..3 {
            let mut body = vec![0x10u8];
            body.extend(std::iter::repeat_n(
                (t + r) as u8,
                (t as usize * 13 + r as usize) % 300,
            ));
            w.append(&body).unwrap();
        }
        w.commit(&Commit {
            txid: t,
            timestamp_us: t as i64 * 1000 + 5,
            state_before: None,
            state_after: None,
        })
        .unwrap();
    }
    w.finish().unwrap()
}

fn copy(bytes: Vec<u8>, spool_limit: usize) -> replog_core::Result<Vec<u8>> {
    let mut src = vec![SegmentInput::memory("in", bytes)]
        .open(ReaderOptions::default())
        .unwrap();
    let spool = write_source(src.as_mut(), Spool::new(spool_limit), |_| {})?;
    let source = spool.into_source();
    let mut out = vec![0u8; usize::try_from(source.len()).unwrap()];
    let mut at = 0;
    while at < out.len() {
        let n = source.read_at(at as u64, &mut out[at..]).unwrap();
        assert!(n > 0);
        at += n;
    }
    Ok(out)
}

#[test]
fn a_copied_log_is_the_same_log_and_a_full_spool_refuses_more() {
    let mut opts = WriterOptions::new(LogKind::Statement);
    opts.version = FORMAT_VERSION_PG;
    let original = log(&opts, 200);
    let in_memory = copy(original.clone(), original.len()).unwrap();
    // Header (identity, version) and every frame as they were.
    assert_eq!(in_memory, original);
    // One byte short: refused, by the spool's own error.
    let e = copy(original.clone(), original.len() - 1).unwrap_err();
    let io = std::error::Error::source(&e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .unwrap_or_else(|| panic!("{e}"));
    assert!(Spool::is_full(io), "{e}");
}

#[test]
fn the_copy_reads_back_transaction_by_transaction() {
    let original = log(&WriterOptions::new(LogKind::Statement), 20);
    let copied = copy(original, usize::MAX).unwrap();
    let mut src = vec![SegmentInput::memory("copy", copied)]
        .open(ReaderOptions::default())
        .unwrap();
    let mut txids = Vec::new();
    while let Some(ev) = src.next() {
        if let TxnEvent::Transaction(t) = ev.unwrap() {
            assert_eq!(t.records().count(), 3);
            txids.push(t.txid());
        }
    }
    assert_eq!(txids, (1..=20).collect::<Vec<_>>());
    assert!(src.intolerable().is_none());
}

#[test]
fn a_source_without_a_segment_is_an_error() {
    let mut src = Vec::<SegmentInput>::new()
        .open(ReaderOptions::default())
        .unwrap();
    let err = write_source(src.as_mut(), Vec::new(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("no log segment"), "{err}");
}

/// A producer of `n` transactions of `records` records each, built in a
/// [`VirtualLog`]; when the consumer accepts pieces (and `pieces` allows
/// them) it hands each transaction over in pieces of about that many
/// bytes.
struct Made {
    log: VirtualLog,
    header: replog_core::segment::SegmentHeader,
    pieces: bool,
    piece_bytes: Option<usize>,
    n: u64,
    records: usize,
    /// The transaction being made and its next record.
    at: Option<(u64, usize)>,
}

impl Made {
    fn new(n: u64, records: usize, pieces: bool) -> Made {
        Made {
            log: VirtualLog::new(),
            header: replog_core::segment::SegmentHeader::of_virtual_log(
                LogKind::Logical,
                FORMAT_VERSION_PG,
                [&b"made"[..]],
                None,
            ),
            pieces,
            piece_bytes: None,
            n,
            records,
            at: None,
        }
    }

    fn commit(t: u64) -> Commit {
        Commit {
            txid: t,
            timestamp_us: 9,
            state_before: None,
            state_after: None,
        }
    }
}

impl TxnProducer for Made {
    fn segment(&self) -> (&str, &replog_core::segment::SegmentHeader) {
        ("made", &self.header)
    }
    fn produce(&mut self) -> replog_core::Result<bool> {
        let (t, mut r) = match self.at {
            Some(at) => at,
            None => {
                let t = self.log.summary().commits + 1;
                if t > self.n {
                    return Ok(false);
                }
                self.log.begin(&Begin {
                    txid: t,
                    timestamp_us: 8,
                    server_id: 0,
                    origin: "o",
                });
                (t, 0)
            }
        };
        while r < self.records {
            let mut body = vec![0x20u8, t as u8];
            body.extend(std::iter::repeat_n(r as u8, r % 50));
            self.log.push(r as u64, &body);
            r += 1;
            if let Some(p) = self.piece_bytes.filter(|_| self.pieces) {
                if self.log.body_bytes() >= p && r < self.records {
                    self.log.piece(Made::commit(t), 0, SourceKind::Postgres);
                    self.at = Some((t, r));
                    return Ok(true);
                }
            }
        }
        self.at = None;
        self.log.commit(Made::commit(t), 0, SourceKind::Postgres);
        Ok(true)
    }
    fn made(&self) -> Option<replog_core::txn::Transaction<'_>> {
        self.log.made()
    }
    fn kind(&self) -> LogKind {
        LogKind::Logical
    }
    fn summary(&self) -> &replog_core::reader::Summary {
        self.log.summary()
    }
    fn accept_pieces(&mut self, bytes: usize) {
        self.piece_bytes = Some(bytes);
    }
}

/// A transaction handed over in pieces is written as the same log as
/// handed over whole; the pieces come in order, only the last one ends it.
#[test]
fn pieces_of_a_transaction_are_written_as_the_whole_transaction() {
    let whole = write_source(
        &mut Produced::new(Made::new(3, 500, false)),
        Vec::new(),
        |_| {},
    )
    .unwrap();
    let mut src = Produced::new(Made::new(3, 500, true));
    src.accept_pieces(1000);
    let mut seen = Vec::new();
    while let Some(ev) = src.next() {
        if let TxnEvent::Transaction(t) = ev.unwrap() {
            let first = t.records().next().map(|r| r.offset);
            seen.push((
                t.txid(),
                t.piece.index,
                t.piece.last,
                first,
                t.commit_lsn > 0,
            ));
        }
    }
    // 500 records of about 27 bytes: 14 pieces of at least 1,000 bytes.
    let t1: Vec<_> = seen.iter().filter(|s| s.0 == 1).collect();
    assert!(t1.len() > 10, "{seen:?}");
    for (i, s) in t1.iter().enumerate() {
        assert_eq!(
            (s.1, s.2, s.4),
            (i as u32, i + 1 == t1.len(), i + 1 == t1.len())
        );
    }
    assert_eq!(t1[0].3, Some(0));
    assert!(t1[1].3 > Some(0), "a piece holds the next records only");
    assert_eq!(src.summary().commits, 3);
    let mut pieced = Made::new(3, 500, true);
    pieced.accept_pieces(1000);
    let written = write_source(&mut Produced::new(pieced), Vec::new(), |_| {}).unwrap();
    assert_eq!(written, whole);
    // And read back: three transactions of 500 records, the LSNs those the
    // source gave.
    let mut back = vec![SegmentInput::memory("w", written)]
        .open(ReaderOptions::default())
        .unwrap();
    let mut n = 0;
    while let Some(ev) = back.next() {
        if let TxnEvent::Transaction(t) = ev.unwrap() {
            assert_eq!(t.records().count(), 500);
            n += 1;
        }
    }
    assert_eq!(n, 3);
    assert_eq!(back.summary().end_lsn, src.summary().end_lsn);
}
