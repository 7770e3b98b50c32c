//! Flashback straight from MariaDB binlogs (`invert_binlog`): the same
//! inverse records as inverting the logical log the binlogs convert to,
//! whatever the stretch the second pass decodes at a time; selection by
//! GTID; refusals named by binlog position and GTID.

use replog_convert::ErrorKind;
use replog_convert::invert::{InvertOptions, Selection, invert, invert_binlog};
use replog_convert::to_logical::binlog_to_logical;
use replog_core::reader::{LogReader, ReaderOptions, SegmentInput};
use replog_core::txn::{TxnEvent, TxnReader};
use std::path::PathBuf;

/// The binlogs of a MariaDB fixture run, `WORKLOAD/RUN`.
fn binlogs(dir: &str) -> Vec<PathBuf> {
    let (workload, run) = dir.split_once('/').expect("WORKLOAD/RUN");
    replog_test_support::mariadb::binlogs(workload, run)
}

/// Each transaction of a log: its BEGIN's txid, timestamp, server id and
/// origin, and its record bodies (RELATION, row changes, DDL).
type Txn = (u64, i64, u32, String, Vec<Vec<u8>>);

fn transactions(log: Vec<u8>) -> Vec<Txn> {
    let mut txns = TxnReader::new(LogReader::from_bytes(log, ReaderOptions::default()));
    let mut out = Vec::new();
    while let Some(ev) = txns.next() {
        if let TxnEvent::Transaction(tx) = ev.unwrap() {
            out.push((
                tx.begin.txid,
                tx.begin.timestamp_us,
                tx.begin.server_id,
                tx.begin.origin.to_string(),
                tx.records().map(|r| r.body.to_vec()).collect(),
            ));
        }
    }
    assert!(txns.intolerable().is_none());
    out
}

fn skip_ddl() -> InvertOptions {
    InvertOptions {
        skip_ddl: true,
        ..InvertOptions::default()
    }
}

#[test]
fn binlog_flashback_equals_inverting_the_converted_log_at_any_stretch() {
    for dir in ["dml/row-full", "types/row-full", "txn/row-full"] {
        let paths = binlogs(dir);
        // The reference: the binlogs converted to a logical log, inverted.
        let (_, _, log) =
            binlog_to_logical(&paths, Default::default(), Vec::new(), |_| {}).unwrap();
        let (want_report, want) = invert(
            vec![SegmentInput::memory("converted", log)],
            &skip_ddl(),
            Vec::new(),
        )
        .unwrap();
        let want = transactions(want);
        assert!(want.len() > 3, "{dir}: {} inverse transactions", want.len());
        let mut outputs = Vec::new();
        // 1 byte: a checkpoint after every transaction (and across files).
        for stretch in [None, Some(1), Some(700)] {
            let opts = InvertOptions {
                binlog_stretch: stretch,
                ..skip_ddl()
            };
            let (report, got) = invert_binlog(&paths, &opts, Vec::new()).unwrap();
            assert_eq!(report.rows, want_report.rows, "{dir} {stretch:?}");
            assert_eq!(report.transactions, want_report.transactions);
            assert_eq!(report.ddl_skipped, want_report.ddl_skipped);
            assert_eq!(transactions(got.clone()), want, "{dir} {stretch:?}");
            outputs.push(got);
        }
        assert!(
            outputs.windows(2).all(|w| w[0] == w[1]),
            "{dir}: the output depends on the stretch"
        );
    }
}

#[test]
fn binlog_flashback_selects_by_gtid() {
    let paths = binlogs("dml/row-full");
    let (_, all) = invert_binlog(&paths, &skip_ddl(), Vec::new()).unwrap();
    let all = transactions(all);
    // The last transaction written is the inverse of the first with rows.
    let (_, _, _, origin, records) = all.last().unwrap().clone();
    let undone_txid: u64 = origin.strip_prefix("undo:").unwrap().parse().unwrap();
    // Its GTID: the origin of the imported transaction with that txid.
    let (_, _, log) = binlog_to_logical(&paths, Default::default(), Vec::new(), |_| {}).unwrap();
    let imported = transactions(log);
    let gtid = imported
        .iter()
        .find(|t| t.0 == undone_txid)
        .map(|t| t.3.split(' ').next().unwrap().to_string())
        .unwrap();
    assert!(gtid.starts_with("0-1-"), "{gtid}");
    let opts = InvertOptions {
        select: Selection {
            origins: vec![gtid.clone()],
            ..Selection::default()
        },
        ..skip_ddl()
    };
    let (report, one) = invert_binlog(&paths, &opts, Vec::new()).unwrap();
    let one = transactions(one);
    assert_eq!(one.len(), 1, "--gtid {gtid}");
    assert_eq!(one[0].3, format!("undo:{undone_txid}"));
    // The same row changes (the selection's inverse defines its table first).
    let rows = |v: &[Vec<u8>]| -> Vec<Vec<u8>> {
        v.iter()
            .filter(|b| {
                !matches!(
                    replog_logical::LogicalRecord::decode(b, 0),
                    Ok(replog_logical::LogicalRecord::Relation(_))
                )
            })
            .cloned()
            .collect()
    };
    assert!(!rows(&records).is_empty());
    assert_eq!(rows(&one[0].4), rows(&records));
    assert_eq!(report.not_selected, report.input_transactions - 1);
}

#[test]
fn binlog_flashback_refusal_names_the_binlog_position() {
    // A TRUNCATE removes rows the binlog does not carry.
    let paths = binlogs("ddl/row-full");
    let e = invert_binlog(&paths, &skip_ddl(), Vec::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CannotInvert);
    let m = e.to_string();
    assert!(m.contains("binlog transaction 0-1-"), "{m}");
    assert_eq!(m.matches("mariadb-bin.000001:").count(), 1, "{m}");
    assert!(m.contains("TRUNCATE"), "{m}");
    assert!(!m.contains("LSN"), "{m}");
    // LSN ranges belong to native logs.
    let opts = InvertOptions {
        select: Selection {
            start_lsn: Some(1),
            ..Selection::default()
        },
        ..skip_ddl()
    };
    let e = invert_binlog(&binlogs("dml/row-full"), &opts, Vec::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
}
