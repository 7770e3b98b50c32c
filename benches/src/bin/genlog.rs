//! Writes a large native log for the peak-memory test (`benches/rss.sh`).
//!
//! ```text
//! genlog --kind physical|logical|statement --size 2G [--body 4096] --out FILE
//! genlog --kind physical --size 2G --dir DIR      # 64 MiB segments (DirWriter)
//! ```
//!
//! A single segment is written with `LogWriter` over a `BufWriter<File>`;
//! with `--dir`, a directory of 64 MiB segments with `DirWriter` and
//! `Durability::Os`.

use anyhow::{Context, Result, bail};
use replog_benches::{LogStats, options, parse_kind, write_log};
use replog_core::writer::{DirWriter, LogWriter};
use replog_core::{Begin, Commit};
use std::io::BufWriter;
use std::path::PathBuf;

fn parse_size(s: &str) -> Result<u64> {
    let (num, mul) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&s[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    Ok(num.parse::<u64>().with_context(|| format!("size {s:?}"))? * mul)
}

fn main() -> Result<()> {
    let mut kind = None;
    let mut size = None;
    let mut body = 4096usize;
    let mut out: Option<PathBuf> = None;
    let mut dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--kind" => kind = Some(parse_kind(&val()?)?),
            "--size" => size = Some(parse_size(&val()?)?),
            "--body" => body = val()?.parse()?,
            "--out" => out = Some(PathBuf::from(val()?)),
            "--dir" => dir = Some(PathBuf::from(val()?)),
            other => bail!("unknown argument {other}"),
        }
    }
    let kind = kind.context("--kind is required")?;
    let size = size.context("--size is required")?;
    let t = std::time::Instant::now();
    let st: LogStats = match (out, dir) {
        (Some(path), None) => {
            let f = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut w = LogWriter::new(BufWriter::with_capacity(1 << 20, f), &options(kind))?;
            let st = write_log(&mut w, kind, body, size)?;
            let f = w.finish()?.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            st
        }
        (None, Some(path)) => write_dir(&path, kind, body, size)?,
        _ => bail!("give exactly one of --out FILE or --dir DIR"),
    };
    eprintln!(
        "genlog: {kind} log, {} bytes, {} transactions, {} records of {} B, in {:.1} s",
        st.bytes,
        st.transactions,
        st.records,
        st.body_len,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A directory of 64 MiB segments: the same content as `write_log`, written
/// through `DirWriter` one transaction at a time.
fn write_dir(
    dir: &std::path::Path,
    kind: replog_core::LogKind,
    body: usize,
    size: u64,
) -> Result<LogStats> {
    // Generate transactions into an in-memory segment in batches and replay
    // their frames through the directory writer.
    let mut w = DirWriter::create(dir, options(kind))?;
    let mut total = LogStats::default();
    let mut written = 0u64;
    let batch = 64u64 << 20;
    let mut txid_base = 0u64;
    while written < size {
        let mut mem = LogWriter::new(Vec::new(), &options(kind))?;
        let st = write_log(&mut mem, kind, body, batch.min(size - written))?;
        let bytes = mem.finish()?;
        let (_, frames) = replog_core::frame::FrameIter::new(&bytes, 0)?;
        for f in frames {
            let f = f?;
            match f.record_type() {
                replog_core::record::rtype::BEGIN => {
                    let b = Begin::decode(f.body, 0)?;
                    w.begin(&Begin {
                        txid: b.txid + txid_base,
                        ..b
                    })?;
                }
                replog_core::record::rtype::COMMIT => {
                    let c = Commit::decode(f.body, 0)?;
                    w.commit(&Commit {
                        txid: c.txid + txid_base,
                        ..c
                    })?;
                }
                _ => {
                    w.append(f.body)?;
                }
            }
        }
        txid_base += st.transactions;
        written += st.bytes;
        total.transactions += st.transactions;
        total.records += st.records;
        total.body_len = st.body_len;
    }
    w.finish()?;
    total.bytes = written;
    Ok(total)
}
