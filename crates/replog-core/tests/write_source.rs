//! `writer::write_source` copies any transaction source as the native log it
//! stands for (its header's identity and version kept), and `reader::Spool`
//! holds what it writes in memory and gives the same bytes back; past its
//! limit it refuses to write (it never goes on in a temporary file).

use replog_core::reader::{ReaderOptions, SegmentInput, Spool};
use replog_core::segment::FORMAT_VERSION_PG;
use replog_core::txn::{TxnEvent, TxnInput};
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
