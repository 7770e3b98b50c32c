//! Physical-redo throughput (ignored; run with
//! `cargo test --release -p replog-pagestore --test throughput -- --ignored --nocapture`).

mod common;

use common::*;
use replog_core::Value;
use replog_pagestore::{Options, PageStore, RedoOptions};
use replog_store::Storage;
use std::time::Instant;

#[test]
#[ignore]
fn redo_throughput() {
    let opts = Options::default();
    let mut p = PageStore::new(opts.clone()).unwrap();
    p.create_database("d").unwrap();
    let id = p.create_table(table_a("d", "t")).unwrap();
    let t = Instant::now();
    for i in 0..200_000i64 {
        let k = (i * 7919) % 200_000;
        p.insert(
            id,
            vec![
                Value::Int(k),
                text(format!("c{k}")),
                text("v".repeat((k % 300) as usize)),
            ],
        )
        .unwrap();
        if i % 20 == 19 {
            p.commit().unwrap();
        }
    }
    p.commit().unwrap();
    let write = t.elapsed();
    let wal = p.wal_bytes().unwrap();
    let mb = wal.len() as f64 / 1e6;
    let t = Instant::now();
    let (q, rep) = PageStore::from_wal_bytes(wal, &opts).unwrap();
    let redo = t.elapsed();
    assert_eq!(q.row_count(id), 200_000);
    // As `replog replay` does it: per-COMMIT state checks, segment reader.
    let wal2 = p.wal_bytes().unwrap();
    let t = Instant::now();
    let reader = replog_core::reader::LogReader::new(
        vec![replog_core::reader::SegmentInput::memory("<memory>", wal2)],
        replog_core::reader::ReaderOptions::default(),
    );
    let ropts = RedoOptions {
        until: None,
        check_states: true,
    };
    let (_, rep2) = PageStore::from_wal_with(reader, &opts, &ropts).unwrap();
    let checked = t.elapsed();
    assert!(rep2.state_mismatches.is_empty());
    let data: u64 = p.committed_pages().len().saturating_mul(opts.page_size) as u64;
    eprintln!(
        "with per-COMMIT state checks: {:.2} s = {:.0} MB/s; store {:.1} MB of pages ({} pages)",
        checked.as_secs_f64(),
        mb / checked.as_secs_f64(),
        data as f64 / 1e6,
        p.page_count()
    );
    eprintln!(
        "write: {:.2} s; WAL {mb:.1} MB, {} txs, {} records applied; rebuild (redo + full verify): {:.2} s = {:.0} MB/s; {:?}",
        write.as_secs_f64(),
        rep.transactions,
        rep.applied,
        redo.as_secs_f64(),
        mb / redo.as_secs_f64(),
        p.wal_stats()
    );
}
