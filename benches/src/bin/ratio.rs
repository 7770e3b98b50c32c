//! Prints verify-scan throughput beside raw CRC-32C over the same bytes, and
//! the logical row-decoding rate: the figures of `BENCHMARKS.md`.
//!
//! ```text
//! cargo run --release -p replog-benches --bin ratio [-- --reps 7 --mib 64 --skip-rows --skip-verify
//!     --kind physical --body 4096 --buffer-kib 256 --rows 1000000]
//! ```
//!
//! Every figure is the best of `--reps` runs (wall clock), taken in the same
//! process with the measurements of one log interleaved, so that noise from
//! other work on the machine hits the CRC baseline and the scans alike.

use anyhow::{Result, bail};
use replog_benches::{
    BODY_SIZES, KINDS, best_of, build_log, build_rows_log, copy_only, crc_only, decode_rows,
    decode_rows_no_crc, frame_iter_scan, frame_iter_verify_kind, insert_bodies, memory_reader_with,
    parse_kind, reader_scan, verify_scan_kind,
};
use replog_core::LogKind;
use std::hint::black_box;

fn main() -> Result<()> {
    let mut reps = 7usize;
    let mut mib = 64usize;
    let mut rows = 1_000_000u64;
    let (mut do_rows, mut do_verify) = (true, true);
    let mut filter = Filter::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().unwrap_or_default().parse()?,
            "--mib" => mib = args.next().unwrap_or_default().parse()?,
            "--rows" => rows = args.next().unwrap_or_default().parse()?,
            "--skip-rows" => do_rows = false,
            "--kind" => filter
                .kinds
                .push(parse_kind(&args.next().unwrap_or_default())?),
            "--body" => filter.sizes.push(args.next().unwrap_or_default().parse()?),
            "--buffer-kib" => {
                filter.buffer = args.next().unwrap_or_default().parse::<usize>()? << 10
            }
            "--skip-verify" => do_verify = false,
            "--bench" => {} // passed by `cargo bench`
            other => bail!("unknown argument {other}"),
        }
    }
    if do_verify {
        verify_table(reps, mib << 20, &filter)?;
    }
    if do_rows {
        rows_table(reps, rows)?;
    }
    Ok(())
}

/// Which logs to measure, and the reader's buffer size.
#[derive(Default)]
struct Filter {
    kinds: Vec<LogKind>,
    sizes: Vec<usize>,
    buffer: usize,
}

fn gbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e9
}

fn verify_table(reps: usize, target: usize, filter: &Filter) -> Result<()> {
    println!(
        "Verify-scan throughput vs raw CRC-32C over the same buffer (GB/s = 1e9 B/s, best of {reps})"
    );
    println!(
        "{:<9} {:>6} {:>7} {:>8} {:>8} {:>6} | {:>8} {:>6} | {:>9} {:>6} | {:>8} {:>6} | {:>7} {:>6}",
        "format",
        "body",
        "MiB",
        "frames",
        "CRC",
        "copy",
        "FrameIt",
        "ratio",
        "LogReadr",
        "ratio",
        "verify",
        "ratio",
        "FI+dec",
        "ratio"
    );
    if filter.buffer != 0 {
        println!("LogReader buffer: {} KiB", filter.buffer >> 10);
    }
    for size in BODY_SIZES {
        for kind in KINDS {
            if !(filter.kinds.is_empty() || filter.kinds.contains(&kind))
                || !(filter.sizes.is_empty() || filter.sizes.contains(&size))
            {
                continue;
            }
            let (buf, st) = build_log(kind, size, target)?;
            let len = buf.len();
            let frames = frame_iter_scan(&buf)?;
            let (mut crc, mut it, mut rd, mut vf) = (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
            let (mut cp, mut fv) = (f64::MAX, f64::MAX);
            let chunk = if filter.buffer == 0 {
                1 << 20
            } else {
                filter.buffer
            };
            // Interleave the four measurements, one run each per round.
            for _ in 0..reps {
                crc = crc.min(best_of(1, || (), |()| crc_only(black_box(&buf))));
                cp = cp.min(best_of(1, || (), |()| copy_only(black_box(&buf), chunk)));
                it = it.min(best_of(
                    1,
                    || (),
                    |()| frame_iter_scan(black_box(&buf)).expect("frame scan"),
                ));
                fv = fv.min(best_of(
                    1,
                    || (),
                    |()| frame_iter_verify_kind(kind, black_box(&buf)).expect("frame verify"),
                ));
                rd = rd.min(best_of(
                    1,
                    || memory_reader_with(buf.clone(), filter.buffer),
                    |mut r| {
                        let n = reader_scan(&mut r).expect("reader scan");
                        assert_eq!(n, frames);
                        r
                    },
                ));
                vf = vf.min(best_of(
                    1,
                    || memory_reader_with(buf.clone(), filter.buffer),
                    |mut r| {
                        let n = verify_scan_kind(kind, &mut r).expect("verify scan");
                        assert_eq!(n, frames);
                        r
                    },
                ));
            }
            let c = gbps(len, crc);
            let (i, r, v) = (gbps(len, it), gbps(len, rd), gbps(len, vf));
            println!(
                "{:<9} {:>6} {:>7.1} {:>8} {:>8.2} {:>6.2} | {:>8.2} {:>6.2} | {:>9.2} {:>6.2} | {:>8.2} {:>6.2} | {:>7.2} {:>6.2}",
                kind.name(),
                st.body_len,
                len as f64 / (1 << 20) as f64,
                frames,
                c,
                gbps(len, cp),
                i,
                i / c,
                r,
                r / c,
                v,
                v / c,
                gbps(len, fv),
                gbps(len, fv) / c
            );
        }
    }
    println!(
        "CRC = crc32c::crc32c(whole buffer); copy = the buffer read through Source::read_at into the \
         reader-sized buffer, no checksums; FrameIt = (a) FrameIter; LogReadr = (b) LogReader over \
         SegmentInput::memory; verify = (c) LogReader + decode_record::<F> (what `replog verify` does); \
         FI+dec = (d) FrameIter + decode_record::<F> on the buffer itself (a zero-copy reader estimate); \
         ratio = scan / CRC."
    );
    Ok(())
}

fn rows_table(reps: usize, rows: u64) -> Result<()> {
    let buf = build_rows_log(rows)?;
    let bodies = insert_bodies(&buf)?;
    assert_eq!(bodies.len() as u64, rows);
    let (mut full, mut dec) = (f64::MAX, f64::MAX);
    for _ in 0..reps {
        full = full.min(best_of(
            1,
            || (),
            |()| {
                let t = decode_rows(black_box(&buf)).expect("decode rows");
                assert_eq!(t.rows, rows);
                t
            },
        ));
        dec = dec.min(best_of(
            1,
            || (),
            |()| decode_rows_no_crc(black_box(&bodies)).expect("decode rows"),
        ));
    }
    println!();
    println!(
        "Logical row decoding: {rows} INSERT rows (BIGINT, BIGINT, TEXT 8 chars, NULL), {:.1} B/frame, best of {reps}, one thread",
        buf.len() as f64 / rows as f64
    );
    println!(
        "  FrameIter (CRC) + decode + iterate values: {:>6.1} M rows/s",
        rows as f64 / full / 1e6
    );
    println!(
        "  decode + iterate values (no CRC):          {:>6.1} M rows/s",
        rows as f64 / dec / 1e6
    );
    Ok(())
}
