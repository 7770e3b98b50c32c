//! `replog verify`: check every checksum, the frame chain, transaction
//! structure, segment continuity and every record body.

use crate::input::Inputs;
use crate::output::{OutputFormat, Progress, ndjson};
use crate::{Verdict, with_format};
use anyhow::Result;
use replog_core::Format;
use replog_core::reader::{Event, LogReader, ReaderOptions, Summary};
use replog_core::record::decode_record;
use replog_core::recovery::RecoveryPolicy;
use serde::Serialize;
use std::io::Write;

const HELP: &str = "\
Examples:
  replog verify fixtures/native/physical/sample.replog
  replog verify wal/                          # every segment of a log, in order
  replog verify --recovery tolerate-tail log.replog
  replog verify --format json log.replog
  replog verify mariadb-bin.000001 mariadb-bin.000002   # binlogs: checksums,
                                              # position chain, every row image
  replog verify pg_wal/                       # PostgreSQL WAL: page headers, CRCs,
                                              # continuations, images, segment chain
  replog verify changes.copy                  # a logical decoding output (pgoutput,
                                              # pg_recvlogical or COPY): every message

Recovery policies:
  strict         any damage is reported as damage (exit 1)
  tolerate-tail  a torn tail (short or zero-filled end) of the last segment
                 is accepted as the end of the log, and reported (exit 0)
  stop-at-first  the first damage of any kind ends the log there, and is
                 reported (exit 0); nothing after it is read

A transaction without COMMIT at the end (an uncommitted tail) is reported
but is not damage.

Environment:
  REPLOG_THREADS=N  PostgreSQL WAL is checked on N threads (default: the
                    cores, at most 4); 1 reads it in one pass. The result is
                    that of one pass whatever N is.

Exit status:
  0  no damage, or only damage the recovery policy accepts
  1  damage found
  2  usage or I/O error";

/// Arguments of `replog verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The log checked, and which damage is reported as its end rather
    /// than as damage.
    #[command(flatten)]
    pub log: crate::cmd::common::ReadLog,
    /// Output format.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
}

/// A malformed record body whose frame checksum was valid.
#[derive(Debug, Serialize)]
struct BadRecord {
    segment: String,
    offset: u64,
    lsn: u64,
    message: String,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    ok: bool,
    policy: RecoveryPolicy,
    kind: Option<replog_core::LogKind>,
    records_ok: u64,
    invalid: u64,
    #[serde(flatten)]
    summary: &'a Summary,
    bad_records: &'a [BadRecord],
}

/// Runs `replog verify`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    if let Some(files) = crate::cmd::pgwal::detect(&args.log.input.paths)? {
        return crate::cmd::pgwal::verify(args, &files, out);
    }
    let inputs = args.log.input.resolve()?;
    if inputs.detected == crate::input::Detected::Binlog {
        return crate::cmd::binlog::verify(args, &inputs, out);
    }
    if let Some(p) = &inputs.pglogical {
        return verify_pglogical(args, p, out);
    }
    inputs.require_native("verify")?;
    let total = crate::output::total_len(&inputs.files);
    let policy: RecoveryPolicy = args.log.recovery.into();
    let reader = LogReader::new(
        inputs.segments()?,
        ReaderOptions {
            policy,
            continue_after_damage: true,
            buffer_size: 0,
        },
    );
    let (summary, bad) = match inputs.kind {
        Some(kind) => with_format!(kind, F => check::<F>(reader, total)?),
        None => check_frames(reader, total)?,
    };
    let invalid = summary.damage_count + bad.len() as u64;
    let records_ok = summary.frames - bad.len() as u64;
    let ok = summary.acceptable() && bad.is_empty();
    let report = Report {
        ok,
        policy,
        kind: inputs.kind,
        records_ok,
        invalid,
        summary: &summary,
        bad_records: &bad,
    };
    match args.report.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => ndjson(out, &report)?,
        OutputFormat::Table => print_text(out, &inputs, &report)?,
    }
    Ok(Verdict::clean_if(ok))
}

/// `verify` of a logical decoding output: every message decoded and its
/// transactions assembled; the first malformed one is damage (exit 1).
fn verify_pglogical(
    args: &Args,
    input: &replog_pglogical::PgLogicalInput,
    out: &mut dyn Write,
) -> Result<Verdict> {
    use replog_core::error::ErrorKind;
    let (decoded, damage) = match input.to_logical_log() {
        Ok((_, c)) => (Some(c), None),
        Err(e) if matches!(e.kind(), ErrorKind::Io) => return Err(e.into()),
        Err(e) => (None, Some(e.to_string())),
    };
    let d = input.detected();
    let ok = damage.is_none();
    match args.report.format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            let doc = serde_json::json!({
                "ok": ok,
                "plugin": d.plugin.name(),
                "container": d.container.name(),
                "decoded": decoded,
                "damage": damage,
            });
            crate::output::json_doc(out, args.report.format, &doc)?;
        }
        OutputFormat::Table => {
            writeln!(out, "{} ({})", d.plugin.name(), d.container.name())?;
            if let Some(c) = decoded {
                writeln!(out, "{c}")?;
            }
            if let Some(m) = &damage {
                writeln!(out, "damage: {m}")?;
            }
            result_line(out, ok, args.log.recovery.into())?;
        }
    }
    Ok(Verdict::clean_if(ok))
}

fn check<F: Format>(mut reader: LogReader, total: u64) -> Result<(Summary, Vec<BadRecord>)> {
    let mut bad = Vec::new();
    let mut progress = Progress::new(total);
    let mut done = 0u64;
    let mut segment = String::new();
    while let Some(ev) = reader.next() {
        match ev? {
            Event::Segment { name, header, .. } => {
                segment = name.to_string();
                F::check_header(header)
                    .map_err(|e| anyhow::Error::new(e).context(name.to_string()))?;
            }
            Event::Frame(f) => {
                done += f.disk_len();
                progress.update(done);
                if let Err(e) = decode_record::<F>(f.body, f.body_offset()) {
                    if bad.len() < 1000 {
                        bad.push(BadRecord {
                            segment: segment.clone(),
                            offset: f.offset,
                            lsn: f.lsn,
                            message: e.to_string(),
                        });
                    }
                }
            }
            Event::Damage(_) => {}
        }
    }
    progress.finish();
    Ok((reader.into_summary(), bad))
}

fn check_frames(mut reader: LogReader, total: u64) -> Result<(Summary, Vec<BadRecord>)> {
    let mut progress = Progress::new(total);
    let mut done = 0u64;
    while let Some(ev) = reader.next() {
        if let Event::Frame(f) = ev? {
            done += f.disk_len();
            progress.update(done);
        }
    }
    progress.finish();
    Ok((reader.into_summary(), Vec::new()))
}

/// How a damaged place is judged in text output.
pub(crate) fn verdict(tolerated: bool) -> &'static str {
    if tolerated {
        "accepted by policy"
    } else {
        "damage"
    }
}

/// The last line of `verify`'s text output, for every kind of log.
pub(crate) fn result_line(
    out: &mut dyn Write,
    ok: bool,
    policy: RecoveryPolicy,
) -> std::io::Result<()> {
    writeln!(
        out,
        "result: {} (recovery policy {})",
        if ok { "OK" } else { "DAMAGED" },
        policy.name()
    )
}

fn print_text(out: &mut dyn Write, inputs: &Inputs, r: &Report<'_>) -> Result<()> {
    let s = r.summary;
    let kind = r.kind.map_or("unknown-kind".to_string(), |k| k.to_string());
    writeln!(
        out,
        "{kind} log, {} segment(s), {} committed transaction(s)",
        s.segments, s.commits
    )?;
    writeln!(out, "{} records ok, {} invalid", r.records_ok, r.invalid)?;
    if let (Some(a), Some(z)) = (s.first_lsn, s.end_lsn) {
        writeln!(
            out,
            "positions: LSN {a} to {z}; committed up to LSN {}",
            s.committed_lsn.unwrap_or(a)
        )?;
    }
    if let Some(st) = s.final_state {
        writeln!(out, "final state digest: {st:016x}")?;
    }
    for d in s.damage.iter().take(20) {
        let (verdict, class) = (verdict(d.tolerated), d.class.describe());
        writeln!(
            out,
            "{verdict}: {class} at offset {} (0x{:x}) of {}, LSN {}, record {}: {}",
            d.offset, d.offset, d.segment, d.lsn, d.record, d.kind
        )?;
        if let Some(at) = d.resumes_at {
            writeln!(out, "  next valid frame at offset {at}")?;
        }
    }
    if s.damage_count > 20 {
        writeln!(out, "... and {} more damaged places", s.damage_count - 20)?;
    }
    for b in r.bad_records.iter().take(20) {
        writeln!(
            out,
            "damage: malformed record at offset {} of {}, LSN {}: {}",
            b.offset, b.segment, b.lsn, b.message
        )?;
    }
    if let Some(u) = &s.uncommitted {
        writeln!(
            out,
            "uncommitted tail: transaction {} from LSN {} ({} records) has no COMMIT and is never replayed",
            u.txid, u.lsn, u.frames
        )?;
    }
    let _ = inputs;
    result_line(out, r.ok, r.policy)?;
    Ok(())
}
