//! PostgreSQL WAL segments in `replog inspect` and `replog verify`.
//!
//! Inputs are recognised by their file names (`TTTTTTTTXXXXXXXXYYYYYYYY`,
//! optionally `.partial`) or by a WAL long page header at offset 0; a
//! directory is WAL when it holds segment files. The reading, checking and
//! statistics are `replog_pgwal`'s; this module only filters and prints.

use crate::Verdict;
use crate::cmd::{inspect, verify};
use crate::output::{JsonArray, OutputFormat, TableSink, ndjson};
use anyhow::{Context, Result, bail};
use replog_core::recovery::RecoveryPolicy;
use replog_pgwal::consts::{FORK_NAMES, XLP_LONG_HEADER};
use replog_pgwal::history::TimelineHistory;
use replog_pgwal::stats::WalStats;
use replog_pgwal::{Lsn, Record, RelFileLocator, WalReader, parallel, segment};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::ops::ControlFlow;
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
    /// Block references in detail, as `pg_waldump -b` prints them: each on
    /// a row of its own under its record (fork, and for a full-page image its
    /// hole and compression).
    #[arg(short = 'b', long)]
    pub bkp_details: bool,
    /// Write the full-page images of the records shown (after the filters
    /// and --limit) into DIR, decompressed and with their hole restored, one
    /// page per file, named as `pg_waldump --save-fullpage` (PostgreSQL 16)
    /// names them: `TIMELINE-LSNHI-LSNLO.SPC.DB.REL.BLK_FORK`. DIR is
    /// created when missing and must be empty.
    #[arg(long, value_name = "DIR")]
    pub save_fullpage: Option<PathBuf>,
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
        if a.table.is_some() || a.start_time.is_some() || a.stop_time.is_some() {
            bail!(
                "--table, --start-time and --stop-time do not apply to PostgreSQL WAL records (with --decode-rows and --catalog they select rows)"
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

/// The timeline history files in the directories of `files`, and the
/// history of the newest timeline among the segment files (when its file is
/// there): the reader checks the pages against it.
fn histories(
    files: &[PathBuf],
) -> replog_pgwal::Result<(Vec<TimelineHistory>, Option<TimelineHistory>)> {
    let dirs: std::collections::BTreeSet<&Path> = files
        .iter()
        .map(|f| {
            f.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        })
        .collect();
    let mut all = Vec::new();
    for d in dirs {
        all.extend(replog_pgwal::history::read_directory(d)?);
    }
    let newest = files
        .iter()
        .filter_map(|f| f.file_name()?.to_str())
        .filter_map(segment::SegmentName::parse)
        .map(|n| n.timeline)
        .max();
    let chosen = all.iter().find(|h| Some(h.timeline) == newest).cloned();
    Ok((all, chosen))
}

/// A reader over `files`, checking pages against the timeline history found
/// next to them; the histories read.
fn open_reader(files: &[PathBuf]) -> replog_pgwal::Result<(WalReader, Vec<TimelineHistory>)> {
    let (all, chosen) = histories(files)?;
    let mut reader = WalReader::open(files);
    if let Some(h) = chosen {
        reader = reader.with_history(h);
    }
    Ok((reader, all))
}

/// Threads that read WAL: `REPLOG_THREADS`, else the cores (at most 4).
fn threads() -> usize {
    std::env::var("REPLOG_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)))
}

/// `inspect --stats` with no `--limit` or `--save-fullpage`: parts of the
/// WAL counted on several threads (`replog_pgwal::parallel`), the counts
/// added in WAL order. (The listing is printed in one pass: a part's rows
/// would have to wait in memory for the parts before it.)
fn stats_in_parts(
    args: &inspect::Args,
    filter: &Filter,
    files: &[PathBuf],
    out: &mut dyn Write,
) -> Result<Verdict> {
    let policy: RecoveryPolicy = args.log.recovery.into();
    let chosen = match histories(files) {
        Ok((_, c)) => c,
        Err(e) => return report_damage(Some(e), policy),
    };
    let mut stats = WalStats::default();
    let ending = parallel::read_parts(
        files,
        chosen.as_ref(),
        threads(),
        WalStats::default,
        |s, rec| {
            if filter.end.is_some_and(|e| rec.lsn >= e) {
                return ControlFlow::Break(());
            }
            if filter.keeps(rec) {
                s.add(rec);
            }
            ControlFlow::Continue(())
        },
        |part| {
            stats.merge(part);
            *part = WalStats::default();
            Ok::<_, anyhow::Error>(())
        },
    )?;
    print_stats(out, args.report.format, &stats, args.pgwal.by_rmgr)?;
    report_damage(ending.error, policy)
}

/// `replog inspect` on PostgreSQL WAL.
pub fn inspect(args: &inspect::Args, files: &[PathBuf], out: &mut dyn Write) -> Result<Verdict> {
    let filter = Filter::new(args)?;
    if args.hex && args.report.format != OutputFormat::Table {
        bail!("--hex prints a table; it cannot be combined with --format json or ndjson");
    }
    if args.stats && args.pgwal.save_fullpage.is_none() && args.limit.is_none() {
        return stats_in_parts(args, &filter, files, out);
    }
    let policy: RecoveryPolicy = args.log.recovery.into();
    let mut saver = match &args.pgwal.save_fullpage {
        Some(dir) => Some(PageSaver::new(dir)?),
        None => None,
    };
    let mut reader = match open_reader(files) {
        Ok((r, _)) => r,
        Err(e) => return report_damage(Some(e), policy),
    };
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
        if let Some(s) = &mut saver
            && let Err(e) = s.save(&rec)
        {
            if e.downcast_ref::<replog_pgwal::Error>().is_some() {
                // A damaged image: damage, like any other.
                eprintln!("replog: {}: {e:#}", verify::verdict(false));
                return Ok(Verdict::Found);
            }
            return Err(e);
        }
        if args.stats {
            stats.add(&rec);
            continue;
        }
        desc.clear();
        if args.pgwal.bkp_details {
            describe_record(&rec, &mut desc);
        } else {
            describe_with_blocks(&rec, &mut desc);
        }
        match args.report.format {
            OutputFormat::Table => {
                // Written without the formatting machinery: listings
                // print millions of rows.
                table.cell_with(|t| rec.lsn.push_to(t));
                table.cell_with(|t| rec.header.prev.push_to(t));
                table.cell_with(|t| t.push_str(&rec.rmgr_name()));
                table.cell_with(|t| {
                    t.push_str(itoa::Buffer::new().format(rec.rec_len()));
                    t.push('/');
                    t.push_str(itoa::Buffer::new().format(rec.header.tot_len));
                });
                table.cell_with(|t| t.push_str(itoa::Buffer::new().format(rec.header.xid)));
                table.cell(&desc);
                table.end_row(out)?;
                if args.pgwal.bkp_details {
                    // pg_waldump -b's lines, each a row of its own.
                    for b in rec.block_headers {
                        for _ in 0..5 {
                            table.cell("");
                        }
                        table.cell_with(|t| replog_pgwal::desc::block_detail(&rec, b, t));
                        table.end_row(out)?;
                    }
                }
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
                if args.report.format == OutputFormat::Json {
                    json.push(out, &j)?;
                } else {
                    ndjson(out, &j)?;
                }
            }
        }
    };
    if args.stats {
        print_stats(out, args.report.format, &stats, args.pgwal.by_rmgr)?;
    } else if args.report.format == OutputFormat::Table {
        table.flush(out)?;
    } else if args.report.format == OutputFormat::Json {
        json.finish(out)?;
    }
    report_damage(damage, policy)
}

/// Prints the damage on standard error; the outcome under `policy`.
fn report_damage(damage: Option<replog_pgwal::Error>, policy: RecoveryPolicy) -> Result<Verdict> {
    let Some(e) = damage else {
        return Ok(Verdict::Clean);
    };
    let Some(class) = e.damage_class() else {
        return Err(anyhow::Error::new(e));
    };
    let tolerated = policy.tolerates(class, true);
    eprintln!("replog: {}: {e}", verify::verdict(tolerated));
    Ok(if tolerated {
        Verdict::Clean
    } else {
        Verdict::Found
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
    describe_record(rec, s);
    replog_pgwal::desc::block_refs(rec, s);
}

/// pg_waldump's `desc:` text without the block references.
fn describe_record(rec: &Record<'_>, s: &mut String) {
    match rec.record_type() {
        Some(t) => s.push_str(t),
        None => {
            let _ = write!(s, "UNKNOWN ({:x})", rec.header.info & 0xF0);
        }
    }
    s.push(' ');
    replog_pgwal::desc::describe(rec, s);
}

/// `--save-fullpage`: writes the restored full-page images of records.
struct PageSaver {
    dir: PathBuf,
    page: Vec<u8>,
}

impl PageSaver {
    /// Creates `dir` when missing; refuses one that is not empty (as
    /// pg_waldump does), so no earlier image is overwritten.
    fn new(dir: &Path) -> Result<PageSaver> {
        match std::fs::read_dir(dir) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    bail!(
                        "--save-fullpage: directory {} exists but is not empty",
                        dir.display()
                    );
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
                .with_context(|| format!("creating {}", dir.display()))?,
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("reading {}", dir.display())));
            }
        }
        Ok(PageSaver {
            dir: dir.to_path_buf(),
            page: Vec::new(),
        })
    }

    /// Writes every image of `rec`. An image that cannot be restored is a
    /// `replog_pgwal::Error` naming the record's place.
    fn save(&mut self, rec: &Record<'_>) -> Result<()> {
        for b in rec.blocks() {
            let (Some(img), Some(stored)) = (&b.header.image, b.image) else {
                continue;
            };
            let here = || {
                format!(
                    "record at {} block {} (in {} at offset {})",
                    rec.lsn, b.header.id, rec.file, rec.offset
                )
            };
            replog_pgwal::image::restore_page(img, stored, rec.block_size, &mut self.page)
                .map_err(|e| anyhow::Error::new(e).context(here()))?;
            let Some(name) =
                replog_pgwal::image::fullpage_file_name(rec.timeline, rec.lsn, b.header)
            else {
                let m = format!("invalid fork number {}", b.header.fork);
                return Err(anyhow::Error::new(replog_pgwal::Error::new(
                    replog_pgwal::ErrorKind::Image,
                    m,
                ))
                .context(here()));
            };
            let path = self.dir.join(name);
            std::fs::write(&path, &self.page)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    timelines: Vec<TimelineHistory>,
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

/// What `verify` counts in a part of the WAL.
#[derive(Default)]
struct VerifyCounts {
    records: u64,
    fpis: u64,
    first: Option<Lsn>,
    last_end: Option<Lsn>,
    /// A compressed image that cannot be restored: damage.
    bad_image: Option<DamageJson>,
    page: Vec<u8>,
}

impl VerifyCounts {
    /// Counts `rec` and restores its compressed images; `Break` on one
    /// that cannot be restored.
    fn add(&mut self, rec: &Record<'_>) -> ControlFlow<()> {
        self.first.get_or_insert(rec.lsn);
        self.last_end = Some(rec.end);
        self.records += 1;
        let mut bad_image = None;
        for h in rec.block_headers {
            let Some(img) = &h.image else { continue };
            self.fpis += 1;
            // The reader has checked that an uncompressed image fills the
            // page with its hole: only decompression can fail (and only it
            // needs the record's bytes).
            if img.compression == replog_pgwal::ImageCompression::None {
                continue;
            }
            let stored = &rec.bytes()[img.range.start as usize..img.range.end as usize];
            if let Err(e) =
                replog_pgwal::image::restore_page(img, stored, rec.block_size, &mut self.page)
            {
                bad_image = Some(format!(
                    "record at {} block {}: {} (in {} at offset {})",
                    rec.lsn, h.id, e, rec.file, rec.offset
                ));
            }
        }
        match bad_image {
            Some(m) => {
                self.bad_image = Some(DamageJson {
                    class: "corruption",
                    tolerated: false,
                    file: Some(rec.file.to_string()),
                    offset: Some(rec.offset),
                    lsn: Some(rec.lsn),
                    message: m,
                });
                ControlFlow::Break(())
            }
            None => ControlFlow::Continue(()),
        }
    }

    /// Adds the counts of a later part.
    fn merge(&mut self, later: VerifyCounts) {
        self.records += later.records;
        self.fpis += later.fpis;
        self.first = self.first.or(later.first);
        self.last_end = later.last_end.or(self.last_end);
        self.bad_image = self.bad_image.take().or(later.bad_image);
    }
}

/// `replog verify` on PostgreSQL WAL: every page header, continuation,
/// CRC, block reference layout and image, segment and timeline continuity.
/// Parts of the WAL are checked on several threads
/// (`replog_pgwal::parallel`), with the outcome of one pass.
pub fn verify(args: &verify::Args, files: &[PathBuf], out: &mut dyn Write) -> Result<Verdict> {
    let policy: RecoveryPolicy = args.log.recovery.into();
    let mut counts = VerifyCounts::default();
    let (ending, timelines) = match histories(files) {
        Ok((all, chosen)) => {
            let ending = parallel::read_parts(
                files,
                chosen.as_ref(),
                threads(),
                VerifyCounts::default,
                VerifyCounts::add,
                |part| {
                    counts.merge(std::mem::take(part));
                    Ok::<_, anyhow::Error>(())
                },
            )?;
            (ending, all)
        }
        Err(e) => (
            parallel::Ending {
                error: Some(e),
                ..Default::default()
            },
            Vec::new(),
        ),
    };
    let damage = match (counts.bad_image.take(), ending.error) {
        (Some(d), _) => Some(d),
        (None, None) => None,
        (None, Some(e)) => {
            let Some(class) = e.damage_class() else {
                return Err(anyhow::Error::new(e));
            };
            Some(DamageJson {
                class: class.describe(),
                tolerated: policy.tolerates(class, true),
                file: e.file().map(str::to_string),
                offset: e.offset(),
                lsn: e.lsn(),
                message: e.to_string(),
            })
        }
    };
    let ok = damage.as_ref().is_none_or(|d| d.tolerated);
    let end = ending.end;
    let report = VerifyReport {
        ok,
        policy,
        wal: ending.info,
        segments: files.len(),
        timelines,
        records_ok: counts.records,
        full_page_images: counts.fpis,
        first_lsn: counts.first,
        end_lsn: end.as_ref().map(|e| e.lsn()).or(counts.last_end),
        end,
        damage,
    };
    match args.report.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => ndjson(out, &report)?,
        OutputFormat::Table => print_verify(out, &report)?,
    }
    Ok(if ok { Verdict::Clean } else { Verdict::Found })
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
    for h in &r.timelines {
        write!(out, "timeline {} history ({}):", h.timeline, h.file)?;
        for e in &h.entries {
            write!(
                out,
                " timeline {} until {} ({});",
                e.parent, e.switchpoint, e.reason
            )?;
        }
        writeln!(out, " then timeline {}", h.timeline)?;
    }
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
    use crate::{Cli, Verdict};
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

    fn run(args: &[&str]) -> (anyhow::Result<Verdict>, String) {
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
        assert_eq!(r.unwrap(), Verdict::Clean);
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
        assert_eq!(r.unwrap(), Verdict::Clean, "{out}");
        assert!(out.contains("6495 records ok"), "{out}");
        assert!(out.contains("zeroed tail"), "{out}");
        // Cut the last segment inside its last record: a torn tail.
        let last = dir.path().join("000000010000000000000009");
        let mut bytes = std::fs::read(&last).unwrap();
        bytes.truncate(46_000);
        std::fs::write(&last, &bytes).unwrap();
        let (r, out) = run(&["verify", d]);
        assert_eq!(r.unwrap(), Verdict::Found, "{out}");
        assert!(out.contains("torn tail"), "{out}");
        let (r, out) = run(&["verify", "--recovery", "tolerate-tail", d]);
        assert_eq!(r.unwrap(), Verdict::Clean, "{out}");
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
        assert_eq!(r.unwrap(), Verdict::Found);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["damage"]["class"], "corruption");
        assert!(v["damage"]["offset"].as_u64().unwrap() <= 200_000);
    }

    fn waldump_bkp() -> String {
        String::from_utf8(
            zstd::decode_all(std::fs::File::open(fixture().join("waldump-bkp.txt.zst")).unwrap())
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn bkp_details_rows_are_pg_waldump_b_lines() {
        let dir = wal_dir();
        let d = dir.path().to_str().unwrap();
        let (r, out) = run(&["inspect", "-b", d]);
        assert_eq!(r.unwrap(), Verdict::Clean);
        let ours: Vec<&str> = rows(&out)
            .into_iter()
            .map(|l| l.rsplit("| ").next().unwrap())
            .filter(|c| c.starts_with("blkref #"))
            .collect();
        let bkp = waldump_bkp();
        let theirs: Vec<&str> = bkp.lines().filter_map(|l| l.strip_prefix('\t')).collect();
        assert!(theirs.len() > 6000);
        assert_eq!(ours, theirs);
        // The record rows no longer carry the short references.
        assert!(!out.contains(", blkref #"));
    }

    #[test]
    fn save_fullpage_writes_the_images_pg_waldump_lists() {
        let dir = wal_dir();
        let d = dir.path().to_str().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let save = tmp.path().join("pages");
        let s = save.to_str().unwrap();
        let (r, out) = run(&["inspect", "--stats", "--save-fullpage", s, d]);
        assert_eq!(r.unwrap(), Verdict::Clean, "{out}");
        // What pg_waldump -b lists: per image its record's LSN, block and
        // hole; the name --save-fullpage (16) gives it, on timeline 1.
        let bkp = waldump_bkp();
        let mut want = std::collections::BTreeMap::new();
        let mut lsn = 0u64;
        for l in bkp.lines() {
            if let Some(i) = l.find(", lsn: ") {
                let rest = &l[i + 7..];
                let text = &rest[..rest.find(',').unwrap()];
                lsn = replog_pgwal::Lsn::parse(text).unwrap().0;
            } else if let Some(b) = l.strip_prefix("\tblkref #")
                && b.contains("(FPW")
            {
                let w: Vec<&str> = b.split([' ', ',', ':']).filter(|w| !w.is_empty()).collect();
                // ["0", "rel", "1663/5/16390", "fork", "main", "blk", "2", "(FPW);", "hole", "offset", "36", "length", "8068", ...]
                let rel = w[2].replace('/', ".");
                let name = format!(
                    "00000001-{:08X}-{:08X}.{rel}.{}_{}",
                    lsn >> 32,
                    lsn as u32,
                    w[6],
                    w[4]
                );
                let hole = (w[10].parse::<u16>().unwrap(), w[12].parse::<u16>().unwrap());
                want.insert(name, hole);
            }
        }
        assert!(want.len() > 100, "{}", want.len());
        let mut got = std::collections::BTreeSet::new();
        for e in std::fs::read_dir(&save).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let page = std::fs::read(e.path()).unwrap();
            assert_eq!(page.len(), 8192, "{name}");
            let (off, len) = *want
                .get(&name)
                .unwrap_or_else(|| panic!("{name} not listed"));
            if len > 0 {
                // The restored hole lies between pd_lower and pd_upper.
                assert_eq!(u16::from_le_bytes([page[12], page[13]]), off, "{name}");
                assert_eq!(
                    u16::from_le_bytes([page[14], page[15]]),
                    off + len,
                    "{name}"
                );
                assert!(
                    page[off as usize..(off + len) as usize]
                        .iter()
                        .all(|&b| b == 0)
                );
            }
            got.insert(name);
        }
        assert_eq!(got.len(), want.len());
        // Filters choose the records whose images are saved; a directory
        // with files in it is refused.
        let (r, _) = run(&["inspect", "--save-fullpage", s, d]);
        assert!(r.unwrap_err().to_string().contains("not empty"));
        let save2 = tmp.path().join("fsm");
        let s2 = save2.to_str().unwrap();
        let (r, _) = run(&["inspect", "--fork", "fsm", "--save-fullpage", s2, d]);
        assert_eq!(r.unwrap(), Verdict::Clean);
        let n = std::fs::read_dir(&save2).unwrap().count();
        assert!(n > 0 && n < got.len(), "{n}");
    }

    #[test]
    fn timeline_history_files_are_shown_and_checked() {
        let dir = wal_dir();
        let d = dir.path().to_str().unwrap();
        let hist = dir.path().join("00000002.history");
        std::fs::write(&hist, "1\t0/9000000\tno recovery target specified\n").unwrap();
        let (r, out) = run(&["verify", d]);
        assert_eq!(r.unwrap(), Verdict::Clean, "{out}");
        assert!(
            out.contains("timeline 2 history") && out.contains("timeline 1 until 0/9000000"),
            "{out}"
        );
        let (_, out) = run(&["verify", "--format", "json", d]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["timelines"][0]["entries"][0]["switchpoint"], "0/9000000");
        // A malformed history is damage that names the file and line.
        std::fs::write(&hist, "1\t0/9000000\tx\n1\t0/9100000\ty\n").unwrap();
        let (r, out) = run(&["verify", d]);
        assert_eq!(r.unwrap(), Verdict::Found, "{out}");
        assert!(
            out.contains("00000002.history") && out.contains("line 2"),
            "{out}"
        );
        let (r, _) = run(&["inspect", "--limit", "1", d]);
        assert_eq!(r.unwrap(), Verdict::Found);
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
