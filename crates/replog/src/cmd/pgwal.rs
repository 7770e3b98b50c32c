//! PostgreSQL WAL segments in `replog inspect` and `replog verify`.
//!
//! Inputs are recognised by their file names (`TTTTTTTTXXXXXXXXYYYYYYYY`,
//! optionally `.partial`) or by a WAL long page header at offset 0; a
//! directory is WAL when it holds segment files. The reading, checking and
//! statistics are `replog_pgwal`'s; this module only filters and prints.

use crate::Outcome;
use crate::cmd::{inspect, verify};
use crate::output::{JsonArray, OutputFormat, TableSink, ndjson};
use anyhow::{Context, Result, bail};
use replog_core::recovery::RecoveryPolicy;
use replog_pgwal::consts::{FORK_NAMES, XLP_LONG_HEADER};
use replog_pgwal::stats::WalStats;
use replog_pgwal::{Lsn, Record, RelFileLocator, WalReader, segment};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Options of `replog inspect` that only PostgreSQL WAL has.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "PostgreSQL WAL")]
pub struct WalArgs {
    /// Only records at or after this LSN (`X/X`, as PostgreSQL prints them).
    #[arg(long, value_name = "LSN", value_parser = parse_lsn)]
    pub start_lsn: Option<Lsn>,
    /// Stop before the first record at or after this LSN.
    #[arg(long, value_name = "LSN", value_parser = parse_lsn)]
    pub end_lsn: Option<Lsn>,
    /// Only records of this resource manager (repeatable; `Heap`, `Btree`, …).
    #[arg(long, value_name = "RMGR")]
    pub rmgr: Vec<String>,
    /// Only records that reference this relation (`TABLESPACE/DATABASE/RELFILENODE`).
    #[arg(long, value_name = "T/D/R", value_parser = parse_rel)]
    pub relation: Option<RelFileLocator>,
    /// Only records that reference this block number.
    #[arg(long, value_name = "N")]
    pub block: Option<u32>,
    /// Only records that reference a block of this fork (`main`, `fsm`, `vm`, `init`).
    #[arg(long, value_name = "FORK", value_parser = parse_fork)]
    pub fork: Option<u8>,
    /// Only records with a full-page image.
    #[arg(long)]
    pub fpi_only: bool,
    /// With --stats: one row per resource manager (pg_waldump --stats)
    /// instead of per record type (pg_waldump --stats=record).
    #[arg(long)]
    pub by_rmgr: bool,
}

fn parse_lsn(s: &str) -> Result<Lsn, String> {
    Lsn::parse(s)
        .ok_or_else(|| format!("bad LSN {s:?}: expected X/X in hexadecimal, e.g. 0/16B3748"))
}

fn parse_rel(s: &str) -> Result<RelFileLocator, String> {
    let mut it = s.split('/').map(|p| p.parse::<u32>());
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(Ok(spc)), Some(Ok(db)), Some(Ok(rel)), None) => Ok(RelFileLocator { spc, db, rel }),
        _ => Err(format!(
            "bad relation {s:?}: expected TABLESPACE/DATABASE/RELFILENODE, e.g. 1663/5/16384"
        )),
    }
}

fn parse_fork(s: &str) -> Result<u8, String> {
    FORK_NAMES
        .iter()
        .position(|f| f.eq_ignore_ascii_case(s))
        .map(|i| i as u8)
        .or_else(|| s.parse::<u8>().ok().filter(|&n| n < 4))
        .ok_or_else(|| format!("bad fork {s:?}: expected main, fsm, vm or init"))
}

/// The WAL segment files `paths` name, or `None` when they are not
/// PostgreSQL WAL.
pub fn detect(paths: &[String]) -> Result<Option<Vec<PathBuf>>> {
    let mut files = Vec::new();
    let mut wal = 0;
    for p in paths {
        let path = Path::new(p);
        if p == "-" {
            return Ok(None);
        }
        if path.is_dir() {
            let has_segments = std::fs::read_dir(path)
                .with_context(|| format!("reading directory {p}"))?
                .filter_map(|e| e.ok())
                .any(|e| segment::is_segment_path(&e.path()));
            if !has_segments {
                return Ok(None);
            }
            files.extend(segment::list_directory(path).map_err(anyhow::Error::new)?);
            wal += 1;
        } else if segment::is_segment_path(path) || looks_like_wal(path)? {
            files.push(path.to_path_buf());
            wal += 1;
        }
    }
    if wal == 0 {
        return Ok(None);
    }
    if wal != paths.len() {
        bail!("PostgreSQL WAL cannot be mixed with other logs in one command");
    }
    Ok(Some(files))
}

/// A long page header at offset 0: a magic of the 0xD0xx/0xD1xx family and
/// the long-header flag.
fn looks_like_wal(path: &Path) -> Result<bool> {
    let mut head = [0u8; 4];
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    if f.read(&mut head)
        .with_context(|| format!("reading {}", path.display()))?
        < 4
    {
        return Ok(false);
    }
    let magic = u16::from_le_bytes([head[0], head[1]]);
    let info = u16::from_le_bytes([head[2], head[3]]);
    Ok(magic & 0xFE00 == 0xD000 && info & XLP_LONG_HEADER != 0 && info & !0xF == 0)
}

/// Filters of `inspect`, resolved.
struct Filter {
    start: Option<Lsn>,
    end: Option<Lsn>,
    rmgrs: Vec<String>,
    types: Vec<String>,
    xid: Option<u64>,
    relation: Option<RelFileLocator>,
    block: Option<u32>,
    fork: Option<u8>,
    fpi_only: bool,
}

impl Filter {
    fn new(a: &inspect::Args) -> Result<Filter> {
        let w = &a.pgwal;
        for r in &w.rmgr {
            if !replog_pgwal::consts::RMGR_NAMES
                .iter()
                .any(|n| n.eq_ignore_ascii_case(r))
            {
                bail!(
                    "unknown resource manager {r:?}; known: {}",
                    replog_pgwal::consts::RMGR_NAMES.join(", ")
                );
            }
        }
        if a.table.is_some() || a.start_time.is_some() || a.stop_time.is_some() || a.decode_rows {
            bail!(
                "--table, --start-time, --stop-time and --decode-rows do not apply to PostgreSQL WAL yet"
            );
        }
        Ok(Filter {
            start: w.start_lsn.or(a.start.map(Lsn)),
            end: w.end_lsn.or(a.stop.map(Lsn)),
            rmgrs: w.rmgr.clone(),
            types: a.types.clone(),
            xid: a.txid,
            relation: w.relation,
            block: w.block,
            fork: w.fork,
            fpi_only: w.fpi_only,
        })
    }

    fn keeps(&self, r: &Record<'_>) -> bool {
        if self.start.is_some_and(|s| r.lsn < s) {
            return false;
        }
        if !self.rmgrs.is_empty()
            && !self
                .rmgrs
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&r.rmgr_name()))
        {
            return false;
        }
        if !self.types.is_empty() {
            let t = r.record_type().unwrap_or("UNKNOWN");
            if !self.types.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                return false;
            }
        }
        if self.xid.is_some_and(|x| u64::from(r.header.xid) != x) {
            return false;
        }
        if self.relation.is_some() || self.block.is_some() || self.fork.is_some() || self.fpi_only {
            return r.block_headers.iter().any(|b| {
                self.relation.is_none_or(|rel| b.rel == rel)
                    && self.block.is_none_or(|n| b.block == n)
                    && self.fork.is_none_or(|f| b.fork == f)
                    && (!self.fpi_only || b.image.is_some())
            });
        }
        true
    }
}

/// One record for JSON output.
#[derive(Serialize)]
struct RecordJson<'a> {
    lsn: Lsn,
    end: Lsn,
    prev: Lsn,
    xid: u32,
    rmgr: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    info: u8,
    total_len: u32,
    rec_len: u32,
    fpi_len: u32,
    main_data_len: usize,
    crc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    toplevel_xid: Option<u32>,
    description: &'a str,
    blocks: &'a [replog_pgwal::BlockHeader],
    file: &'a str,
    offset: u64,
}

/// `replog inspect` on PostgreSQL WAL.
pub fn inspect(args: &inspect::Args, files: &[PathBuf], out: &mut dyn Write) -> Result<Outcome> {
    let filter = Filter::new(args)?;
    if args.hex && args.format != OutputFormat::Table {
        bail!("--hex prints a table; it cannot be combined with --format json or ndjson");
    }
    let policy: RecoveryPolicy = args.recovery.into();
    let mut reader = WalReader::open(files);
    let mut stats = WalStats::default();
    let mut table = TableSink::new(
        vec!["LSN", "PREV", "RMGR", "REC/TOT", "XID", "DESCRIPTION"],
        &[3, 4],
    );
    let mut json = JsonArray::default();
    let mut desc = String::new();
    let mut shown = 0u64;
    let damage = loop {
        let rec = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        if filter.end.is_some_and(|e| rec.lsn >= e) {
            break None;
        }
        if !filter.keeps(&rec) {
            continue;
        }
        if args.limit.is_some_and(|l| shown >= l) {
            break None;
        }
        shown += 1;
        if args.stats {
            stats.add(&rec);
            continue;
        }
        desc.clear();
        describe_with_blocks(&rec, &mut desc);
        match args.format {
            OutputFormat::Table => {
                table.cell_with(|t| {
                    let _ = write!(t, "{}", rec.lsn);
                });
                table.cell_with(|t| {
                    let _ = write!(t, "{}", rec.header.prev);
                });
                table.cell_with(|t| t.push_str(&rec.rmgr_name()));
                table.cell_with(|t| {
                    let _ = write!(t, "{}/{}", rec.rec_len(), rec.header.tot_len);
                });
                table.cell_with(|t| {
                    let _ = write!(t, "{}", rec.header.xid);
                });
                table.cell(&desc);
                table.end_row(out)?;
                if args.hex {
                    table.flush(out)?;
                    hex_dump(out, &rec)?;
                }
            }
            OutputFormat::Json | OutputFormat::Ndjson => {
                let j = RecordJson {
                    lsn: rec.lsn,
                    end: rec.end,
                    prev: rec.header.prev,
                    xid: rec.header.xid,
                    rmgr: &rec.rmgr_name(),
                    kind: rec.record_type().unwrap_or("UNKNOWN"),
                    info: rec.header.info,
                    total_len: rec.header.tot_len,
                    rec_len: rec.rec_len(),
                    fpi_len: rec.body.fpi_len,
                    main_data_len: rec.main_data().len(),
                    crc: format!("{:08X}", rec.header.crc),
                    origin: rec.body.origin,
                    toplevel_xid: rec.body.toplevel_xid,
                    description: &desc,
                    blocks: rec.block_headers,
                    file: rec.file,
                    offset: rec.offset,
                };
                if args.format == OutputFormat::Json {
                    json.push(out, &j)?;
                } else {
                    ndjson(out, &j)?;
                }
            }
        }
    };
    if args.stats {
        print_stats(out, args.format, &stats, args.pgwal.by_rmgr)?;
    } else if args.format == OutputFormat::Table {
        table.flush(out)?;
    } else if args.format == OutputFormat::Json {
        json.finish(out)?;
    }
    report_damage(damage, policy)
}

/// Prints the damage on standard error; the outcome under `policy`.
fn report_damage(damage: Option<replog_pgwal::Error>, policy: RecoveryPolicy) -> Result<Outcome> {
    let Some(e) = damage else {
        return Ok(Outcome::Clean);
    };
    let Some(class) = e.damage_class() else {
        return Err(anyhow::Error::new(e));
    };
    let tolerated = policy.tolerates(class, true);
    eprintln!("replog: {}: {e}", verify::verdict(tolerated));
    Ok(if tolerated {
        Outcome::Clean
    } else {
        Outcome::Found
    })
}

fn print_stats(
    out: &mut dyn Write,
    format: OutputFormat,
    stats: &WalStats,
    by_rmgr: bool,
) -> Result<()> {
    match format {
        OutputFormat::Table => stats.write_pg_waldump(!by_rmgr, out)?,
        OutputFormat::Json | OutputFormat::Ndjson => {
            #[derive(Serialize)]
            struct StatsJson {
                start: Option<Lsn>,
                end: Lsn,
                groups: Vec<replog_pgwal::stats::StatRow>,
                total: replog_pgwal::stats::StatEntry,
            }
            let j = StatsJson {
                start: stats.start,
                end: stats.end,
                groups: stats.rows(!by_rmgr),
                total: stats.total(),
            };
            if format == OutputFormat::Json {
                serde_json::to_writer_pretty(&mut *out, &j)?;
                writeln!(out)?;
            } else {
                for g in &j.groups {
                    ndjson(out, g)?;
                }
            }
        }
    }
    Ok(())
}

/// pg_waldump's `desc:` text: record type, description, block references.
pub fn describe_with_blocks(rec: &Record<'_>, s: &mut String) {
    match rec.record_type() {
        Some(t) => s.push_str(t),
        None => {
            let _ = write!(s, "UNKNOWN ({:x})", rec.header.info & 0xF0);
        }
    }
    s.push(' ');
    replog_pgwal::desc::describe(rec, s);
    replog_pgwal::desc::block_refs(rec, s);
}

fn hex_dump(out: &mut dyn Write, rec: &Record<'_>) -> Result<()> {
    for (i, chunk) in rec.bytes().chunks(16).enumerate() {
        let mut line = String::with_capacity(80);
        let _ = write!(line, "  {:>6}  ", i * 16);
        for b in chunk {
            let _ = write!(line, "{b:02x} ");
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[derive(Serialize)]
struct VerifyReport {
    ok: bool,
    policy: RecoveryPolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    wal: Option<replog_pgwal::WalInfo>,
    segments: usize,
    records_ok: u64,
    full_page_images: u64,
    first_lsn: Option<Lsn>,
    end_lsn: Option<Lsn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<replog_pgwal::WalEnd>,
    #[serde(skip_serializing_if = "Option::is_none")]
    damage: Option<DamageJson>,
}

#[derive(Serialize)]
struct DamageJson {
    class: &'static str,
    tolerated: bool,
    file: Option<String>,
    offset: Option<u64>,
    lsn: Option<Lsn>,
    message: String,
}

/// `replog verify` on PostgreSQL WAL: every page header, continuation,
/// CRC, block reference layout and image, segment and timeline continuity.
pub fn verify(args: &verify::Args, files: &[PathBuf], out: &mut dyn Write) -> Result<Outcome> {
    let policy: RecoveryPolicy = args.recovery.into();
    let mut reader = WalReader::open(files);
    let (mut records, mut fpis) = (0u64, 0u64);
    let (mut first, mut last_end) = (None, None);
    let mut page = Vec::new();
    let damage = loop {
        match reader.next_record() {
            Ok(Some(rec)) => {
                first.get_or_insert(rec.lsn);
                last_end = Some(rec.end);
                records += 1;
                let mut bad_image = None;
                for h in rec.block_headers {
                    let Some(img) = &h.image else { continue };
                    fpis += 1;
                    // The reader has checked that an uncompressed image
                    // fills the page with its hole: only decompression can
                    // fail (and only it needs the record's bytes).
                    if img.compression == replog_pgwal::ImageCompression::None {
                        continue;
                    }
                    let stored = &rec.bytes()[img.range.start as usize..img.range.end as usize];
                    if let Err(e) =
                        replog_pgwal::image::restore_page(img, stored, rec.block_size, &mut page)
                    {
                        bad_image = Some(format!(
                            "record at {} block {}: {} (in {} at offset {})",
                            rec.lsn, h.id, e, rec.file, rec.offset
                        ));
                    }
                }
                if let Some(m) = bad_image {
                    break Some(DamageJson {
                        class: "corruption",
                        tolerated: false,
                        file: Some(rec.file.to_string()),
                        offset: Some(rec.offset),
                        lsn: Some(rec.lsn),
                        message: m,
                    });
                }
            }
            Ok(None) => break None,
            Err(e) => {
                let Some(class) = e.damage_class() else {
                    return Err(anyhow::Error::new(e));
                };
                break Some(DamageJson {
                    class: class.describe(),
                    tolerated: policy.tolerates(class, true),
                    file: e.file().map(str::to_string),
                    offset: e.offset(),
                    lsn: e.lsn(),
                    message: e.to_string(),
                });
            }
        }
    };
    let ok = damage.as_ref().is_none_or(|d| d.tolerated);
    let end = reader.end().cloned();
    let report = VerifyReport {
        ok,
        policy,
        wal: reader.info(),
        segments: files.len(),
        records_ok: records,
        full_page_images: fpis,
        first_lsn: first,
        end_lsn: end.as_ref().map(|e| e.lsn()).or(last_end),
        end,
        damage,
    };
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => ndjson(out, &report)?,
        OutputFormat::Table => print_verify(out, &report)?,
    }
    Ok(if ok { Outcome::Clean } else { Outcome::Found })
}

fn print_verify(out: &mut dyn Write, r: &VerifyReport) -> Result<()> {
    if let Some(w) = &r.wal {
        writeln!(
            out,
            "{} WAL, system id {}, segment size {} bytes, page size {}, timeline {}",
            w.version, w.system_id, w.segment_size, w.page_size, w.timeline
        )?;
    }
    writeln!(
        out,
        "{} segment file(s), {} records ok, {} full-page images",
        r.segments, r.records_ok, r.full_page_images
    )?;
    if let (Some(a), Some(z)) = (r.first_lsn, r.end_lsn) {
        writeln!(out, "positions: LSN {a} to {z}")?;
    }
    match &r.end {
        Some(replog_pgwal::WalEnd::ZeroedTail {
            file,
            offset,
            unused_files,
            ..
        }) => {
            writeln!(
                out,
                "end of WAL: zeroed tail of {file} from offset {offset} (a segment being written)"
            )?;
            if !unused_files.is_empty() {
                writeln!(
                    out,
                    "  {} later file(s) hold no WAL of this history (preallocated or recycled)",
                    unused_files.len()
                )?;
            }
        }
        Some(replog_pgwal::WalEnd::Recycled { file, offset, .. }) => {
            writeln!(
                out,
                "end of WAL: {file} from offset {offset} holds pages of an older, recycled segment"
            )?;
        }
        Some(replog_pgwal::WalEnd::EndOfInput { .. }) => {
            writeln!(out, "end of WAL: end of the last segment")?
        }
        None => {}
    }
    if let Some(d) = &r.damage {
        writeln!(out, "{}: {}", verify::verdict(d.tolerated), d.message)?;
    }
    writeln!(
        out,
        "result: {} (recovery policy {})",
        if r.ok { "OK" } else { "DAMAGED" },
        r.policy.name()
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{Cli, Outcome};
    use clap::Parser;
    use std::path::{Path, PathBuf};

    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/postgres/debian-15")
    }

    /// The Debian 15 segments, decompressed into a temporary directory.
    fn wal_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for e in std::fs::read_dir(fixture().join("wal")).unwrap() {
            let p = e.unwrap().path();
            let bytes = zstd::decode_all(std::fs::File::open(&p).unwrap()).unwrap();
            std::fs::write(dir.path().join(p.file_stem().unwrap()), bytes).unwrap();
        }
        dir
    }

    fn run(args: &[&str]) -> (anyhow::Result<Outcome>, String) {
        let mut argv = vec!["replog"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).unwrap();
        let mut out = Vec::new();
        let r = crate::run(cli, &mut out);
        (r, String::from_utf8(out).unwrap())
    }

    fn waldump_lines() -> Vec<String> {
        let text =
            zstd::decode_all(std::fs::File::open(fixture().join("waldump.txt.zst")).unwrap())
                .unwrap();
        String::from_utf8(text)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Listed records (table rows after the two header lines of each chunk).
    fn rows(table: &str) -> Vec<&str> {
        table
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| LSN"))
            .collect()
    }

    #[test]
    fn stats_equal_pg_waldump_files() {
        let dir = wal_dir();
        let d = dir.path().to_str().unwrap();
        let (r, out) = run(&["inspect", "--stats", d]);
        assert_eq!(r.unwrap(), Outcome::Clean);
        assert_eq!(
            out,
            std::fs::read_to_string(fixture().join("waldump-stats-record.txt")).unwrap()
        );
        let (_, out) = run(&["inspect", "--stats", "--by-rmgr", d]);
        assert_eq!(
            out,
            std::fs::read_to_string(fixture().join("waldump-stats.txt")).unwrap()
        );
    }

    #[test]
    fn filters_select_what_pg_waldump_shows() {
        let dir = wal_dir();
        let d = dir.path().to_str().unwrap();
        let lines = waldump_lines();
        let count = |pred: &dyn Fn(&str) -> bool| lines.iter().filter(|l| pred(l)).count();
        let (_, out) = run(&["inspect", "--rmgr", "heap", "--rmgr", "Heap2", d]);
        let want = count(&|l| l.starts_with("rmgr: Heap ") || l.starts_with("rmgr: Heap2 "));
        assert_eq!(rows(&out).len(), want);
        let (_, out) = run(&["inspect", "--type", "delete", "--rmgr", "Heap", d]);
        assert_eq!(
            rows(&out).len(),
            count(&|l| l.starts_with("rmgr: Heap ") && l.contains("desc: DELETE "))
        );
        let (_, out) = run(&["inspect", "--fpi-only", d]);
        assert_eq!(rows(&out).len(), count(&|l| l.contains(" FPW")));
        let (_, out) = run(&["inspect", "--relation", "1663/5/16390", "--block", "2", d]);
        let want = count(&|l| {
            l.contains("rel 1663/5/16390 blk 2,") || l.ends_with("rel 1663/5/16390 blk 2")
        });
        assert!(want > 10);
        assert_eq!(rows(&out).len(), want);
        let (_, out) = run(&["inspect", "--fork", "vm", d]);
        assert_eq!(rows(&out).len(), count(&|l| l.contains(" fork vm ")));
        let (_, out) = run(&["inspect", "--txid", "730", d]);
        assert_eq!(rows(&out).len(), count(&|l| l.contains("tx:        730,")));
        let (_, out) = run(&[
            "inspect",
            "--start-lsn",
            "0/6706F8",
            "--end-lsn",
            "0/670778",
            d,
        ]);
        let r = rows(&out);
        assert_eq!(r.len(), 2, "{out}");
        assert!(
            r[0].starts_with("| 0/6706F8 |") && r[1].starts_with("| 0/670738 |"),
            "{out}"
        );
        let (_, out) = run(&["inspect", "--limit", "3", "--format", "ndjson", d]);
        assert_eq!(out.lines().count(), 3);
        let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(first["lsn"], "0/600100");
        assert_eq!(first["rmgr"], "Standby");
    }

    #[test]
    fn verify_finds_damage_and_applies_the_recovery_policy() {
        let dir = wal_dir();
        let d = dir.path().to_str().unwrap();
        let (r, out) = run(&["verify", d]);
        assert_eq!(r.unwrap(), Outcome::Clean, "{out}");
        assert!(out.contains("6495 records ok"), "{out}");
        assert!(out.contains("zeroed tail"), "{out}");
        // Cut the last segment inside its last record: a torn tail.
        let last = dir.path().join("000000010000000000000009");
        let mut bytes = std::fs::read(&last).unwrap();
        bytes.truncate(46_000);
        std::fs::write(&last, &bytes).unwrap();
        let (r, out) = run(&["verify", d]);
        assert_eq!(r.unwrap(), Outcome::Found, "{out}");
        assert!(out.contains("torn tail"), "{out}");
        let (r, out) = run(&["verify", "--recovery", "tolerate-tail", d]);
        assert_eq!(r.unwrap(), Outcome::Clean, "{out}");
        // A flipped byte in the middle: corruption, whatever the policy short
        // of stop-at-first.
        let mid = dir.path().join("000000010000000000000006");
        let mut bytes = std::fs::read(&mid).unwrap();
        bytes[200_000] ^= 0x40;
        std::fs::write(&mid, &bytes).unwrap();
        let (r, out) = run(&[
            "verify",
            "--recovery",
            "tolerate-tail",
            "--format",
            "json",
            d,
        ]);
        assert_eq!(r.unwrap(), Outcome::Found);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["damage"]["class"], "corruption");
        assert!(v["damage"]["offset"].as_u64().unwrap() <= 200_000);
    }

    #[test]
    fn unknown_page_magic_is_an_error_naming_it() {
        let dir = wal_dir();
        let first = dir.path().join("000000010000000000000006");
        let mut bytes = std::fs::read(&first).unwrap();
        bytes[1] = 0xD0;
        bytes[0] = 0x42;
        std::fs::write(&first, &bytes).unwrap();
        let (r, _) = run(&["verify", first.to_str().unwrap()]);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("0xD042") && e.contains("offset 0"), "{e}");
    }
}
