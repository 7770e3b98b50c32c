//! Heap WAL → logical transactions (criterion, `Throughput::Bytes` = WAL
//! bytes written): the WAL of `fixtures/postgres/logical/debian-15` (one
//! workload on PostgreSQL 15: every type, TOAST, a 1500-row transaction,
//! subtransactions, two-phase commit, catalog changes) decoded with its
//! catalog file by `replog_pgheap::source::open` — the `pg_attribute` pre-pass, the
//! WAL reader, heap tuples, values, transactions and RELATIONs — and every
//! change of every transaction read from the source, from files in the page
//! cache.
//!
//! ```text
//! cargo bench -p replog-benches --bench pgheap_rows
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use replog_core::txn::{TxnEvent, TxnSource};
use replog_pgheap::PgWalInput;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/postgres/logical/debian-15")
}

/// Decodes everything; (transactions, records).
fn decode(input: &PgWalInput) -> (u64, u64) {
    let mut src = replog_pgheap::source::open(input).expect("open");
    let (mut txns, mut recs) = (0, 0);
    while let Some(ev) = src.next() {
        if let TxnEvent::Transaction(t) = ev.expect("decode") {
            txns += 1;
            recs += t.records().count() as u64;
        }
    }
    (txns, recs)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut names: Vec<PathBuf> = std::fs::read_dir(fixture().join("wal"))
        .expect("fixture")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    let segments: Vec<PathBuf> = names
        .iter()
        .map(|p| {
            let out = dir.path().join(p.file_stem().expect("name"));
            let z = std::fs::read(p).expect("read");
            std::fs::write(&out, zstd::decode_all(&z[..]).expect("zstd")).expect("write");
            out
        })
        .collect();
    let input = PgWalInput {
        segments,
        catalog: fixture().join("catalog.tsv"),
        spill_limit: None,
    };
    // WAL written: from the first segment's start to the end LSN.
    let info = std::fs::read_to_string(fixture().join("info.txt")).expect("info.txt");
    let lsn = |key: &str| {
        let v = info
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .expect("LSN in info.txt");
        let (hi, lo) = v.split_once('/').expect("X/X");
        (u64::from_str_radix(hi, 16).expect("hex") << 32)
            | u64::from_str_radix(lo, 16).expect("hex")
    };
    let seg = 1u64 << 20;
    let written = lsn("end_lsn=") - lsn("start_lsn=") / seg * seg;
    let (txns, recs) = decode(&input);
    assert!(
        txns > 20 && recs > 1500,
        "{txns} transactions, {recs} records"
    );
    let mut g = c.benchmark_group("pgheap_rows");
    g.throughput(Throughput::Bytes(written));
    g.bench_function("wal_to_logical_transactions", |b| b.iter(|| decode(&input)));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
