//! `replog inspect`: list a log's records, or statistics per record type.

use crate::cmd::common::parse_time;
use crate::output::{JsonArray, OutputFormat, Progress, TableSink, ndjson, stats_table};
use crate::{Verdict, with_format};
use anyhow::{Result, bail};
use replog_core::reader::{Event, LogReader, ReaderOptions};
use replog_core::record::{Record, RecordView, TableRef, decode_record, rtype};
use replog_core::segment::{HEADER_LEN, hex};
use replog_core::{Format, LogKind};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

const HELP: &str = "\
Examples:
  replog inspect fixtures/native/logical/sample.replog
  replog inspect --stats wal/                      # a directory of segments
  replog inspect --format ndjson log.replog | jq .
  replog inspect --type insert --table shop.orders log.replog
  replog inspect --hex --limit 4 log.replog        # offset | bytes | meaning
  cat log.replog | replog inspect -
  replog inspect mariadb-bin.000001                # a MySQL/MariaDB binlog
  replog inspect --decode-rows --table shop.orders mysql-bin.000042
  replog inspect --decode-rows pg_wal/ --catalog catalog.tsv  # rows from PostgreSQL WAL
  replog inspect --decode-rows --format ndjson pgoutput.copy  # a pg_recvlogical/COPY capture
  replog inspect --stats --start-datetime '2024-05-01 12:00:00' mysql-bin.000042
  replog inspect --stats pg_wal/                   # PostgreSQL WAL: pg_waldump --stats=record
  replog inspect --rmgr Heap --relation 1663/5/16384 --fpi-only 000000010000000000000003
  replog inspect 'postgres://rep@127.0.0.1:5432/app?slot=s&publication=p&create=1'
                                                   # a server's logical slot (pgoutput);
                                                   # confirms nothing to the slot

Positions are LSNs (log positions, which continue across segments); OFFSET
is the byte offset inside the segment file. Times are UTC.

Environment:
  REPLOG_THREADS=N  PostgreSQL WAL is counted (--stats) on N threads (default: the
                    cores, at most 4); 1 reads it in one pass. The result is
                    that of one pass whatever N is.

Exit status:
  0  the log was read to its end without damage
  1  damage was found (reported on standard error)
  2  usage or I/O error";

/// Arguments of `replog inspect`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The log listed, and which damage ends it without an error.
    #[command(flatten)]
    pub log: crate::cmd::common::ReadLog,
    /// Output format of the listing.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
    /// Print counts, bytes and percentages per record type instead of records.
    #[arg(long, conflicts_with = "hex")]
    pub stats: bool,
    /// Print offset | bytes | meaning rows (table output only).
    #[arg(long)]
    pub hex: bool,
    /// Skip records before this position (an LSN; for binlogs a file offset).
    #[arg(long, value_name = "POS", visible_alias = "start-position")]
    pub start: Option<u64>,
    /// Stop at the first record at or after this position.
    #[arg(long, value_name = "POS", visible_alias = "stop-position")]
    pub stop: Option<u64>,
    /// Only transactions (binlogs: events) that began at or after this time (UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time, visible_alias = "start-datetime")]
    pub start_time: Option<i64>,
    /// Only transactions (binlogs: events) that began before this time (UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_time, visible_alias = "stop-datetime")]
    pub stop_time: Option<i64>,
    /// Only records of this transaction.
    #[arg(long)]
    pub txid: Option<u64>,
    /// Only records about this table (`db.table` or `table`).
    #[arg(long)]
    pub table: Option<String>,
    /// Only records of these types (repeatable; case-insensitive), e.g. `insert`.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Print at most this many records.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Show the values of every row change with column names. Binlogs:
    /// under their row events (names from the table map's metadata, else
    /// `@1..@n`). Logical logs, PostgreSQL WAL (with --catalog) and logical
    /// decoding captures: one line per change (LSN, xid, op, table, row)
    /// and the columns with their types once per table version.
    #[arg(long)]
    pub decode_rows: bool,
    /// Binlogs: only events of this database (row events: the table map's
    /// database, not `USE`; statements: their default database).
    #[arg(long, value_name = "DB")]
    pub database: Option<String>,
    /// Binlogs: only events of the transaction with this GTID
    /// (`0-1-42` for MariaDB, `UUID:N` for MySQL).
    #[arg(long, value_parser = parse_gtid)]
    pub gtid: Option<String>,
    /// Binlogs: do not verify event checksums.
    #[arg(long)]
    pub no_verify: bool,
    /// Options for PostgreSQL WAL.
    #[command(flatten)]
    pub pgwal: crate::cmd::pgwal::WalArgs,
    /// Binlogs and PostgreSQL URLs: keep listing as the server writes.
    #[command(flatten)]
    pub follow: crate::cmd::common::FollowArg,
}

/// Parses `--gtid`: a MariaDB GTID `DOMAIN-SERVER-SEQ` or a MySQL GTID
/// `UUID:N`.
pub fn parse_gtid(s: &str) -> Result<String, String> {
    let number = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let mariadb = {
        let parts: Vec<&str> = s.split('-').collect();
        parts.len() == 3 && parts.iter().all(|p| number(p))
    };
    let mysql = s.split_once(':').is_some_and(|(uuid, n)| {
        number(n)
            && uuid.len() == 36
            && uuid.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            })
    });
    if mariadb || mysql {
        Ok(s.to_string())
    } else {
        Err(format!(
            "not a GTID: {s:?} (MariaDB: DOMAIN-SERVER-SEQ such as 0-1-42; MySQL: UUID:N)"
        ))
    }
}

/// The names `--type` may give for a binlog: every event type's name, and
/// the logical names insert, update and delete for the row events.
fn binlog_types(wanted: &[String]) -> Result<Vec<String>> {
    let mut names: Vec<&'static str> = (0..=u8::MAX)
        .map(replog_binlog::type_name)
        .filter(|n| *n != "Unknown")
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Vec::new();
    for w in wanted {
        let row_prefix = match w.to_ascii_lowercase().as_str() {
            "insert" => Some("write_rows"),
            "update" => Some("update_rows"),
            "delete" => Some("delete_rows"),
            _ => None,
        };
        let before = out.len();
        out.extend(
            names
                .iter()
                .filter(|n| {
                    n.eq_ignore_ascii_case(w)
                        || row_prefix.is_some_and(|p| n.to_ascii_lowercase().starts_with(p))
                })
                .map(|n| n.to_string()),
        );
        if out.len() == before {
            bail!(
                "--type {w}: not a binlog event type (insert, update, delete, or one of: {})",
                names.join(", ")
            );
        }
    }
    Ok(out)
}

/// Refuses a `--type` that names no record type of `F`.
fn check_types<F: Format>(kind: LogKind, wanted: &[String]) -> Result<()> {
    let mut names: Vec<&'static str> = (0..=u8::MAX)
        .map(type_name::<F>)
        .filter(|n| *n != "unknown")
        .collect();
    names.dedup();
    for w in wanted {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(w)) {
            bail!(
                "--type {w}: not a record type of a {kind} log (one of: {})",
                names.join(", ")
            );
        }
    }
    Ok(())
}

/// Runs `replog inspect`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    if let Some(url) = crate::cmd::pglive::server_url(&args.log.input)? {
        let follow = args.follow.start().is_some();
        return crate::cmd::pglive::inspect(args, &url, follow, out);
    }
    if let Some((src, password)) = args.log.input.server()? {
        let mut args = args.clone();
        args.types = binlog_types(&args.types)?;
        let following = args.follow.start().is_some();
        let mut dump = replog_mysqlrepl::feed::Dump::new(src, password, following);
        return crate::cmd::binlog::inspect_feed(&args, &mut dump, 0, out);
    }
    if let Some(files) = crate::cmd::pgwal::detect(&args.log.input.paths)? {
        if args.follow.follow {
            bail!(
                "--follow reads MySQL/MariaDB binlogs and servers (mysql:// and postgres:// URLs) only, for now; \
                 to follow a PostgreSQL server's WAL as it is written, use `replog receive-wal`"
            );
        }
        if args.decode_rows {
            // The rows of the WAL, decoded with its --catalog.
            return crate::cmd::rows::inspect(args, out);
        }
        return crate::cmd::pgwal::inspect(args, &files, out);
    }
    let inputs = args.log.input.resolve()?;
    if args.decode_rows && inputs.detected != crate::input::Detected::Binlog {
        return crate::cmd::rows::inspect(args, out);
    }
    if inputs.detected == crate::input::Detected::Binlog {
        if args.txid.is_some() {
            bail!(
                "--txid selects a transaction of a native log; in a binlog select one with --gtid, or with --start-position and --stop-position"
            );
        }
        let mut args = args.clone();
        args.types = binlog_types(&args.types)?;
        return crate::cmd::binlog::inspect(&args, &inputs, out);
    }
    if args.follow.follow {
        bail!(
            "{}: --follow reads MySQL/MariaDB binlogs only, for now",
            inputs.name(0)
        );
    }
    for (given, flag) in [
        (args.gtid.is_some(), "--gtid"),
        (args.database.is_some(), "--database"),
        (args.no_verify, "--no-verify"),
    ] {
        if given {
            bail!("{flag} applies to MySQL/MariaDB binlogs only; this is a native log");
        }
    }
    inputs.require_native("inspect")?;
    let Some(kind) = inputs.kind else {
        bail!(
            "{}: the segment header is damaged; cannot tell which format the log holds (try `replog verify`)",
            inputs.name(0)
        );
    };
    with_format!(kind, F => check_types::<F>(kind, &args.types))?;
    if args.hex && args.report.format != OutputFormat::Table {
        bail!("--hex prints a table; it cannot be combined with --format json or ndjson");
    }
    let total = crate::output::total_len(&inputs.files);
    let reader = LogReader::new(
        inputs.segments()?,
        ReaderOptions {
            policy: args.log.recovery.into(),
            continue_after_damage: false,
            buffer_size: 0,
        },
    );
    with_format!(kind, F => inspect::<F>(reader, kind, args, total, out))
}

#[derive(Serialize)]
struct JsonRow<'a, R: Serialize> {
    lsn: u64,
    offset: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    txid: Option<u64>,
    #[serde(rename = "type")]
    type_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    table: Option<&'a str>,
    record: &'a R,
}

#[derive(Default)]
struct TypeStats {
    count: u64,
    bytes: u64,
}

enum Sink {
    Table(TableSink),
    Json(JsonArray),
    Ndjson,
    Hex(TableSink),
    Stats(BTreeMap<&'static str, TypeStats>),
}

struct Filters<'a> {
    args: &'a Args,
    types: Vec<String>,
}

impl Filters<'_> {
    fn needs_decode(&self) -> bool {
        self.args.table.is_some() || !self.args.types.is_empty()
    }
    fn type_ok(&self, name: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t.eq_ignore_ascii_case(name))
    }
    fn table_ok(&self, table: Option<&str>) -> bool {
        match (&self.args.table, table) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(want), Some(have)) => {
                have == want || have.rsplit_once('.').is_some_and(|(_, t)| t == want)
            }
        }
    }
}

fn inspect<F: Format>(
    mut reader: LogReader,
    kind: LogKind,
    args: &Args,
    total: u64,
    out: &mut dyn Write,
) -> Result<Verdict> {
    let filters = Filters {
        args,
        types: args.types.clone(),
    };
    let mut sink = if args.stats {
        Sink::Stats(BTreeMap::new())
    } else if args.hex {
        Sink::Hex(TableSink::new(vec!["OFFSET", "BYTES", "MEANING"], &[0]))
    } else {
        match args.report.format {
            OutputFormat::Table => Sink::Table(TableSink::new(
                vec!["LSN", "OFFSET", "TXID", "TYPE", "SIZE", "TABLE", "DETAIL"],
                &[0, 1, 2, 4],
            )),
            OutputFormat::Json => Sink::Json(JsonArray::default()),
            OutputFormat::Ndjson => Sink::Ndjson,
        }
    };
    let mut tables: HashMap<u64, String> = HashMap::new();
    let mut tx: Option<(u64, i64)> = None;
    let mut printed = 0u64;
    let mut found = false;
    let mut progress = Progress::new(total);
    let mut done_bytes = 0u64;
    let limit = args.limit.unwrap_or(u64::MAX);
    let mut hex_ck = replog_core::frame::Checksummer::new(0);
    'scan: while let Some(ev) = reader.next() {
        let ev = ev?;
        let frame = match ev {
            Event::Segment { name, header, .. } => {
                F::check_header(header)
                    .map_err(|e| anyhow::Error::new(e).context(name.to_string()))?;
                hex_ck = replog_core::frame::Checksummer::new(header.salt);
                if let Sink::Hex(t) = &mut sink {
                    hex_header(t, out, header)?;
                }
                continue;
            }
            Event::Damage(d) => {
                let _ = out.flush();
                progress.finish();
                eprintln!("replog: {}", d.to_error());
                if !d.tolerated {
                    found = true;
                }
                continue;
            }
            Event::Frame(f) => f,
        };
        done_bytes += frame.disk_len();
        progress.update(done_bytes);
        if args.stop.is_some_and(|s| frame.lsn >= s) {
            break;
        }
        let t = frame.record_type();
        // Transaction context, from the BEGIN bodies only.
        if t == rtype::BEGIN {
            if let Ok(b) = replog_core::Begin::decode(frame.body, frame.body_offset()) {
                tx = Some((b.txid, b.timestamp_us));
            }
        }
        let txid = tx.map(|(id, _)| id);
        let in_window = args.start.is_none_or(|s| frame.lsn >= s)
            && args.txid.is_none_or(|want| txid == Some(want))
            && args
                .start_time
                .is_none_or(|s| tx.is_some_and(|(_, ts)| ts >= s))
            && args
                .stop_time
                .is_none_or(|s| tx.is_some_and(|(_, ts)| ts < s));
        let fast_stats = matches!(sink, Sink::Stats(_)) && !filters.needs_decode();
        if fast_stats {
            if in_window {
                if let Sink::Stats(m) = &mut sink {
                    let e = m.entry(type_name::<F>(t)).or_default();
                    e.count += 1;
                    e.bytes += frame.disk_len();
                }
            }
        } else {
            let rec = match decode_record::<F>(frame.body, frame.body_offset()) {
                Ok(r) => r,
                Err(e) => {
                    let _ = out.flush();
                    progress.finish();
                    eprintln!("replog: malformed record: {e}");
                    found = true;
                    break 'scan;
                }
            };
            if let Some((id, name)) = rec.defines_table() {
                tables.insert(id, name);
            }
            let table = match rec.table() {
                Some(TableRef::Name(n)) => Some(n),
                Some(TableRef::Id(id)) => tables.get(&id).map(String::as_str),
                None => None,
            };
            if in_window && filters.type_ok(rec.type_name()) && filters.table_ok(table) {
                printed += 1;
                let crc = if args.hex {
                    hex_ck.frame_crc(frame.lsn, frame.body)
                } else {
                    0
                };
                emit::<F>(&mut sink, out, &frame, crc, txid, table, &rec)?;
                if printed >= limit {
                    break;
                }
            }
        }
        if t == rtype::COMMIT {
            tx = None;
        }
    }
    progress.finish();
    let summary = reader.summary().clone();
    match sink {
        Sink::Table(mut t) | Sink::Hex(mut t) => t.flush(out)?,
        Sink::Json(a) => a.finish(out)?,
        Sink::Ndjson => {}
        Sink::Stats(m) => print_stats(out, kind, args.report.format, &m, &summary)?,
    }
    if let Some(u) = &summary.uncommitted {
        eprintln!(
            "replog: note: transaction {} (from LSN {}, {} records) has no COMMIT: an uncommitted tail, never replayed",
            u.txid, u.lsn, u.frames
        );
    }
    Ok(Verdict::clean_if(!found))
}

fn type_name<F: Format>(t: u8) -> &'static str {
    match t {
        rtype::BEGIN => "BEGIN",
        rtype::COMMIT => "COMMIT",
        t => F::type_name(t),
    }
}

fn emit<F: Format>(
    sink: &mut Sink,
    out: &mut dyn Write,
    frame: &replog_core::frame::Frame<'_>,
    crc: u32,
    txid: Option<u64>,
    table: Option<&str>,
    rec: &Record<'_, F::Record<'_>>,
) -> Result<()> {
    let json_row = || JsonRow {
        lsn: frame.lsn,
        offset: frame.offset,
        txid,
        type_name: rec.type_name(),
        table,
        record: rec,
    };
    match sink {
        Sink::Table(t) => t.push(
            out,
            vec![
                frame.lsn.to_string(),
                frame.offset.to_string(),
                txid.map(|t| t.to_string()).unwrap_or_default(),
                rec.type_name().to_string(),
                frame.body.len().to_string(),
                table.unwrap_or("").to_string(),
                rec.summary(),
            ],
        )?,
        Sink::Json(a) => a.push(out, &json_row())?,
        Sink::Ndjson => ndjson(out, &json_row())?,
        Sink::Hex(t) => hex_frame(
            t,
            out,
            frame,
            crc,
            &format!("{} {}", rec.type_name(), rec.summary()),
        )?,
        Sink::Stats(m) => {
            let e = m.entry(rec.type_name()).or_default();
            e.count += 1;
            e.bytes += frame.disk_len();
        }
    }
    Ok(())
}

pub(crate) fn hex_rows(
    t: &mut TableSink,
    out: &mut dyn Write,
    offset: u64,
    bytes: &[u8],
    meaning: &str,
) -> std::io::Result<()> {
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let hexs: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let m = if i == 0 {
            meaning.to_string()
        } else {
            String::new()
        };
        t.push(
            out,
            vec![format!("{:08x}", offset + 16 * i as u64), hexs.join(" "), m],
        )?;
    }
    Ok(())
}

fn hex_header(
    t: &mut TableSink,
    out: &mut dyn Write,
    h: &replog_core::SegmentHeader,
) -> std::io::Result<()> {
    let b = h.encode();
    let state = h
        .start_state
        .map_or("none".to_string(), |s| format!("{s:016x}"));
    let fields: [(usize, usize, String); 7] = [
        (0, 8, "magic".to_string()),
        (
            8,
            16,
            format!(
                "kind={} version={} header_len={HEADER_LEN} seq={}",
                h.kind, h.version, h.seq
            ),
        ),
        (16, 32, format!("log id {}", hex(&h.log_id))),
        (
            32,
            48,
            format!("store id {}, salt {:016x}", h.store_id, h.salt),
        ),
        (
            48,
            64,
            format!("start LSN {}, start state {state}", h.start_lsn),
        ),
        (
            64,
            76,
            format!(
                "page size {}, page format {}, flags, reserved",
                h.page_size, h.page_format
            ),
        ),
        (76, 80, "header CRC-32C".to_string()),
    ];
    for (a, z, m) in fields {
        hex_rows(t, out, a as u64, &b[a..z], &m)?;
    }
    Ok(())
}

fn hex_frame(
    t: &mut TableSink,
    out: &mut dyn Write,
    f: &replog_core::frame::Frame<'_>,
    crc: u32,
    meaning: &str,
) -> std::io::Result<()> {
    let mut hdr = Vec::with_capacity(8);
    hdr.extend_from_slice(&(f.body.len() as u32).to_le_bytes());
    hdr.extend_from_slice(&crc.to_le_bytes());
    let note = format!(
        "frame at LSN {}: body length {}, CRC-32C {crc:08x}",
        f.lsn,
        f.body.len()
    );
    hex_rows(t, out, f.offset, &hdr, &note)?;
    hex_rows(t, out, f.body_offset(), f.body, meaning)?;
    let pad = f.disk_len() as usize - 8 - f.body.len();
    if pad > 0 {
        hex_rows(
            t,
            out,
            f.body_offset() + f.body.len() as u64,
            &vec![0u8; pad],
            "padding",
        )?;
    }
    Ok(())
}

#[derive(Serialize)]
struct StatRow<'a> {
    #[serde(rename = "type")]
    type_name: &'a str,
    count: u64,
    count_pct: f64,
    bytes: u64,
    bytes_pct: f64,
}

fn print_stats(
    out: &mut dyn Write,
    kind: LogKind,
    format: OutputFormat,
    m: &BTreeMap<&'static str, TypeStats>,
    summary: &replog_core::reader::Summary,
) -> Result<()> {
    let n: u64 = m.values().map(|s| s.count).sum();
    let b: u64 = m.values().map(|s| s.bytes).sum();
    let pct = |x: u64, w: u64| {
        if w == 0 {
            0.0
        } else {
            (x as f64 * 10000.0 / w as f64).round() / 100.0
        }
    };
    let rows: Vec<StatRow<'_>> = m
        .iter()
        .map(|(k, s)| StatRow {
            type_name: k,
            count: s.count,
            count_pct: pct(s.count, n),
            bytes: s.bytes,
            bytes_pct: pct(s.bytes, b),
        })
        .collect();
    match format {
        OutputFormat::Table => {
            let t = stats_table(m.iter().map(|(k, s)| (*k, s.count, s.bytes)));
            writeln!(
                out,
                "{kind} log: {} segment(s), {} committed transaction(s)",
                summary.segments, summary.commits
            )?;
            writeln!(out, "{t}")?;
        }
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "kind": kind, "segments": summary.segments, "commits": summary.commits,
                "records": n, "bytes": b, "types": rows,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => {
            for r in &rows {
                ndjson(out, r)?;
            }
        }
    }
    Ok(())
}
