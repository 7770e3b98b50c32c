//! Logical row decoding rate (criterion, `Throughput::Elements` = rows):
//! small INSERT rows (BIGINT, BIGINT, short TEXT, NULL) decoded and every
//! value iterated, the way a follower does.
//!
//! ```text
//! cargo bench -p replog-benches --bench logical_rows
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use replog_benches::{build_rows_log, decode_rows, decode_rows_no_crc, insert_bodies};
use std::hint::black_box;
use std::time::Duration;

const ROWS: u64 = 1_000_000;

fn bench(c: &mut Criterion) {
    let buf = build_rows_log(ROWS).expect("building log");
    let bodies = insert_bodies(&buf).expect("slicing bodies");
    let mut g = c.benchmark_group("logical_rows");
    g.throughput(Throughput::Elements(ROWS));
    g.bench_function("frame_iter_decode_values", |b| {
        b.iter(|| {
            let t = decode_rows(black_box(&buf)).unwrap();
            assert_eq!(t.rows, ROWS);
            t
        })
    });
    g.bench_function("decode_values_no_crc", |b| {
        b.iter(|| decode_rows_no_crc(black_box(&bodies)).unwrap())
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
