//! pgoutput decoding rate (criterion, `Throughput::Elements` = row
//! changes): a `pg_recvlogical` file of 1M inserts of small rows (bigint,
//! bigint, short text, NULL), 1000 per transaction, read by
//! `PgLogicalSource` into logical transactions (every value parsed by
//! `replog-pgtype`, every record encoded into the arena), in pgoutput's
//! text and binary column forms.
//!
//! ```text
//! cargo bench -p replog-benches --bench pglogical
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use replog_core::txn::{TxnEvent, TxnSource};
use replog_pglogical::{Container, Detected, Plugin};
use std::hint::black_box;
use std::time::Duration;

const ROWS: u64 = 1_000_000;
const PER_TXN: u64 = 1000;

fn cstr(m: &mut Vec<u8>, s: &str) {
    m.extend_from_slice(s.as_bytes());
    m.push(0);
}

/// A pg_recvlogical file of `ROWS` inserts (`binary`: send forms).
fn stream(binary: bool) -> Vec<u8> {
    let mut f = Vec::with_capacity(ROWS as usize * 64);
    let mut lsn: u64 = 0x0100_0000;
    let mut xid: u32 = 1000;
    let mut row = 0u64;
    while row < ROWS {
        xid += 1;
        f.push(b'B');
        f.extend_from_slice(&(lsn + 0x10_0000).to_be_bytes());
        f.extend_from_slice(&800_000_000_000_000i64.to_be_bytes());
        f.extend_from_slice(&xid.to_be_bytes());
        f.push(b'\n');
        if row == 0 {
            f.push(b'R');
            f.extend_from_slice(&16_384u32.to_be_bytes());
            cstr(&mut f, "public");
            cstr(&mut f, "t");
            f.push(b'd');
            f.extend_from_slice(&4i16.to_be_bytes());
            for (flags, name, oid) in [(1u8, "id", 20u32), (0, "n", 20), (0, "s", 25), (0, "x", 25)]
            {
                f.push(flags);
                cstr(&mut f, name);
                f.extend_from_slice(&oid.to_be_bytes());
                f.extend_from_slice(&(-1i32).to_be_bytes());
            }
            f.push(b'\n');
        }
        for _ in 0..PER_TXN.min(ROWS - row) {
            row += 1;
            f.push(b'I');
            f.extend_from_slice(&16_384u32.to_be_bytes());
            f.push(b'N');
            f.extend_from_slice(&4i16.to_be_bytes());
            let n = (row * 7919) as i64;
            let text = format!("row {row}");
            if binary {
                for v in [row as i64, n] {
                    f.push(b'b');
                    f.extend_from_slice(&8i32.to_be_bytes());
                    f.extend_from_slice(&v.to_be_bytes());
                }
                f.push(b'b');
            } else {
                for v in [row.to_string(), n.to_string()] {
                    f.push(b't');
                    f.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    f.extend_from_slice(v.as_bytes());
                }
                f.push(b't');
            }
            f.extend_from_slice(&(text.len() as i32).to_be_bytes());
            f.extend_from_slice(text.as_bytes());
            f.push(b'n');
            f.push(b'\n');
        }
        lsn += 0x10_0000;
        f.push(b'C');
        f.push(0);
        f.extend_from_slice(&lsn.to_be_bytes());
        f.extend_from_slice(&(lsn + 0x30).to_be_bytes());
        f.extend_from_slice(&800_000_000_000_000i64.to_be_bytes());
        f.push(b'\n');
    }
    f
}

/// Reads the file to its end; returns the row changes handed over.
fn decode(data: &[u8]) -> u64 {
    let det = Detected {
        plugin: Plugin::PgOutput,
        container: Container::RecvLogical,
    };
    let mut src = replog_pglogical::source::source(data.to_vec(), det, "bench".into());
    let mut records = 0u64;
    while let Some(ev) = src.next() {
        if let TxnEvent::Transaction(t) = ev.expect("decodes") {
            records += t.records().len() as u64;
        }
    }
    black_box(records);
    src.producer().counts().changes
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pglogical");
    g.throughput(Throughput::Elements(ROWS))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (name, binary) in [
        ("pgoutput_text_to_logical", false),
        ("pgoutput_binary_to_logical", true),
    ] {
        let data = stream(binary);
        assert_eq!(decode(&data), ROWS);
        g.bench_function(name, |b| b.iter(|| decode(black_box(&data))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
