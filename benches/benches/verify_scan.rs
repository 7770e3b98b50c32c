//! Verify-scan throughput per format and frame-body size, beside raw CRC-32C
//! over the same buffer (criterion; the ratio table is printed by the
//! `ratio` binary, see `BENCHMARKS.md`).
//!
//! ```text
//! cargo bench -p replog-benches --bench verify_scan [-- FILTER]
//! ```
//!
//! Groups are `verify/<format>/<body bytes>`; functions are `raw_crc32c`,
//! `frame_iter` (a), `log_reader` (b) and `verify_decode` (c).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use replog_benches::{
    BENCH_LOG_BYTES, BODY_SIZES, KINDS, build_log, crc_only, frame_iter_scan, memory_reader,
    reader_scan, verify_scan_kind,
};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    for size in BODY_SIZES {
        for kind in KINDS {
            let name = format!("verify/{}/{size}", kind.name());
            // Build each 64 MiB log only when its group is selected.
            if !c_filter_matches(&name) {
                continue;
            }
            let (buf, _) = build_log(kind, size, BENCH_LOG_BYTES).expect("building log");
            let mut g = c.benchmark_group(&name);
            g.throughput(Throughput::Bytes(buf.len() as u64));
            g.bench_function("raw_crc32c", |b| b.iter(|| crc_only(black_box(&buf))));
            g.bench_function("frame_iter", |b| {
                b.iter(|| frame_iter_scan(black_box(&buf)).unwrap())
            });
            g.bench_function("log_reader", |b| {
                b.iter_batched(
                    || memory_reader(buf.clone()),
                    |mut r| {
                        reader_scan(&mut r).unwrap();
                        r // dropped outside the timing
                    },
                    BatchSize::PerIteration,
                )
            });
            g.bench_function("verify_decode", |b| {
                b.iter_batched(
                    || memory_reader(buf.clone()),
                    |mut r| {
                        verify_scan_kind(kind, &mut r).unwrap();
                        r
                    },
                    BatchSize::PerIteration,
                )
            });
            g.finish();
        }
    }
}

/// True unless a positional filter argument is given that matches neither
/// `name` nor any of its benchmarks (a plain substring test, enough to skip
/// building logs nobody asked for; criterion applies its own filter too).
fn c_filter_matches(name: &str) -> bool {
    let mut args = std::env::args().skip(1).peekable();
    let mut filters = Vec::new();
    while let Some(a) = args.next() {
        if a.starts_with("--") {
            // Options with a value.
            if matches!(
                a.as_str(),
                "--warm-up-time"
                    | "--measurement-time"
                    | "--sample-size"
                    | "--save-baseline"
                    | "--baseline"
                    | "--load-baseline"
                    | "--noise-threshold"
                    | "--significance-level"
                    | "--confidence-level"
                    | "--nresamples"
                    | "--output-format"
                    | "--color"
                    | "--profile-time"
                    | "--plotting-backend"
            ) {
                args.next();
            }
            continue;
        }
        filters.push(a);
    }
    filters.is_empty()
        || filters
            .iter()
            .any(|f| name.contains(f.as_str()) || f.contains(name))
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
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
