//! `inspect` and `verify` of MySQL and MariaDB binlogs.
//!
//! Binlogs are read with a streaming reader over a buffered file, so memory
//! is bounded by the largest event whatever the file size.

use crate::Outcome;
use crate::cmd::{inspect, verify};
use crate::output::{JsonArray, OutputFormat, Progress, TableSink, ndjson, stats_table};
use anyhow::{Context, Result};
use replog_binlog::{Event, EventBody, ReadOptions, Row, StreamReader, TableMap};
use replog_core::recovery::{DamageClass, RecoveryPolicy};
use replog_core::{ErrorKind, Value};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn open(path: &Path, verify_checksums: bool) -> Result<StreamReader<BufReader<std::fs::File>>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let opts = ReadOptions {
        verify_checksums,
        ..ReadOptions::default()
    };
    StreamReader::with_options(BufReader::with_capacity(1 << 20, f), opts)
        .map_err(|e| anyhow::Error::new(e).context(path.display().to_string()))
}

/// The table an event concerns, from its table map (never from `USE`).
fn event_table(ev: &Event<'_>) -> Option<Arc<TableMap>> {
    match ev.body() {
        EventBody::TableMap(t) => Some(t.clone()),
        EventBody::Rows(r) => r.table.clone(),
        _ => None,
    }
}

/// The database an event concerns: the table map's for row events, the
/// default database for statements.
fn event_database<'e>(ev: &'e Event<'_>, table: Option<&'e Arc<TableMap>>) -> Option<String> {
    match (ev.body(), table) {
        (_, Some(t)) => Some(t.schema.clone()),
        (EventBody::Query(q), None) => Some(String::from_utf8_lossy(q.schema).into_owned()),
        _ => None,
    }
}

/// One line of at most `n` characters, control characters escaped, for a
/// table cell.
fn shorten(s: &str, n: usize) -> String {
    let one_line: String = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| {
            if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect();
    if one_line.chars().count() <= n {
        one_line
    } else {
        let mut t: String = one_line.chars().take(n).collect();
        t.push('…');
        t
    }
}

/// One line describing an event, as a person wants to read it.
fn detail(ev: &Event<'_>) -> String {
    match ev.body() {
        EventBody::FormatDescription(f) => {
            format!("server {} binlog v{}", f.server_version, f.binlog_version)
        }
        EventBody::Query(q) => {
            let db = String::from_utf8_lossy(q.schema);
            let sql = q.query_str();
            if db.is_empty() {
                sql.into_owned()
            } else {
                format!("[{db}] {sql}")
            }
        }
        EventBody::Rotate(r) => format!(
            "next file {} at {}",
            String::from_utf8_lossy(r.next_file),
            r.position
        ),
        EventBody::IntVar(i) => {
            let name = match i.kind {
                1 => "LAST_INSERT_ID",
                2 => "INSERT_ID",
                _ => "INTVAR",
            };
            format!("{name}={}", i.value)
        }
        EventBody::Rand(r) => format!("rand_seed1={} rand_seed2={}", r.seed1, r.seed2),
        EventBody::UserVar(u) => format!("@{}", String::from_utf8_lossy(u.name)),
        EventBody::Xid(x) => format!("COMMIT xid={x}"),
        EventBody::TableMap(t) => format!(
            "table_id={} {}.{} ({} columns)",
            t.table_id,
            t.schema,
            t.table,
            t.columns.len()
        ),
        EventBody::Rows(r) => match &r.table {
            Some(t) => format!("table_id={} {}.{}", r.table_id, t.schema, t.table),
            None => format!("table_id={}", r.table_id),
        },
        EventBody::Gtid(g) => g.gtid_string(),
        EventBody::MariaGtid(g) => format!("GTID {}-{}-{}", g.domain_id, ev.server_id(), g.seq_no),
        EventBody::GtidList(_) => String::new(),
        EventBody::PreviousGtids(set) => replog_binlog::events::gtid_set_string(set),
        EventBody::AnnotateRows(t) | EventBody::RowsQuery(t) => {
            String::from_utf8_lossy(t).into_owned()
        }
        EventBody::BinlogCheckpoint(f) => String::from_utf8_lossy(f).into_owned(),
        _ => String::new(),
    }
}

fn gtid_of(ev: &Event<'_>) -> Option<String> {
    match ev.body() {
        EventBody::Gtid(g) => Some(g.gtid_string()),
        EventBody::MariaGtid(g) => Some(format!("{}-{}-{}", g.domain_id, ev.server_id(), g.seq_no)),
        _ => None,
    }
}

/// Appends the column's name: from the table map's metadata, else `@N`.
fn push_column_name(out: &mut String, t: Option<&Arc<TableMap>>, col: u32) {
    match t
        .and_then(|t| t.columns.get(col as usize))
        .and_then(|c| c.name.as_deref())
    {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "@{}", col + 1);
        }
    }
}

/// Appends `(name=value, ...)` for a row image, values as SQL literals.
fn push_row_text(out: &mut String, t: Option<&Arc<TableMap>>, row: &Row<'_>) {
    out.push('(');
    for (i, (c, v)) in row.columns.iter().zip(&row.values).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_column_name(out, t, *c);
        out.push('=');
        push_sql_literal(out, v);
    }
    out.push(')');
}

/// Appends a value as a SQL literal (the one writer,
/// `replog_schema::sql`); a float with no literal (NaN, infinity) is shown
/// as it is.
fn push_sql_literal(out: &mut String, v: &Value<'_>) {
    if replog_schema::sql::push_literal(out, v).is_err() {
        let _ = write!(out, "{v}");
    }
}

/// A row image as a JSON object of column name to value, in column order,
/// serialized directly (no intermediate map).
struct RowJson<'a, 'r> {
    table: Option<&'a Arc<TableMap>>,
    row: &'a Row<'r>,
}

impl Serialize for RowJson<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.row.values.len()))?;
        let mut name = String::new();
        for (c, v) in self.row.columns.iter().zip(&self.row.values) {
            name.clear();
            push_column_name(&mut name, self.table, *c);
            m.serialize_entry(name.as_str(), v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct JsonRowChange<'a, 'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<RowJson<'a, 'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<RowJson<'a, 'r>>,
}

#[derive(Serialize)]
struct JsonEvent<'a, 'r> {
    file: &'a str,
    position: u64,
    end_position: u64,
    #[serde(rename = "type")]
    type_name: &'static str,
    size: u32,
    timestamp: u32,
    server_id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    gtid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table: Option<&'a str>,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<Vec<JsonRowChange<'a, 'r>>>,
}

/// Appends a number in decimal.
#[inline]
fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Appends an event time as `YYYY-MM-DD HH:MM:SS` (UTC).
fn push_utc(out: &mut String, secs: u32) {
    let _ = replog_core::value::format_timestamp(i64::from(secs) * 1_000_000, out);
}

fn table_ok(want: &Option<String>, t: Option<&Arc<TableMap>>) -> bool {
    match (want, t) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(w), Some(t)) => match w.split_once('.') {
            Some((db, name)) => t.schema == db && t.table == name,
            None => t.table == *w,
        },
    }
}

/// `replog inspect` of binlog files.
pub fn inspect(args: &inspect::Args, files: &[PathBuf], out: &mut dyn Write) -> Result<Outcome> {
    if args.hex {
        anyhow::bail!(
            "--hex is for replog's native logs; for binlogs use --format json, which includes positions and sizes"
        );
    }
    let mut sink_table = TableSink::new(
        vec![
            "FILE",
            "POS",
            "END",
            "TYPE",
            "SIZE",
            "TIME (UTC)",
            "SERVER",
            "DETAIL",
        ],
        &[1, 2, 4, 6],
    );
    let mut json = JsonArray::default();
    let mut stats: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    let total: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let mut progress = Progress::new(total);
    let mut done_before = 0u64;
    let mut printed = 0u64;
    let limit = args.limit.unwrap_or(u64::MAX);
    let mut found = false;
    'files: for path in files {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut reader = open(path, !args.no_verify)?;
        let mut gtid: Option<String> = None;
        while let Some(ev) = reader.next_event() {
            let ev = match ev {
                Ok(ev) => ev,
                Err(e) => {
                    let _ = out.flush();
                    progress.finish();
                    eprintln!("replog: {}: {e}", path.display());
                    found = true;
                    break;
                }
            };
            progress.update(done_before + ev.end_position());
            if let Some(g) = gtid_of(&ev) {
                gtid = Some(g);
            }
            if args.stop.is_some_and(|s| ev.position() >= s) {
                break;
            }
            let tmap = event_table(&ev);
            let ts = i64::from(ev.timestamp()) * 1_000_000;
            let db = event_database(&ev, tmap.as_ref());
            let keep = args.start.is_none_or(|s| ev.position() >= s)
                && args.start_time.is_none_or(|s| ts >= s)
                && args.stop_time.is_none_or(|s| ts < s)
                && (args.types.is_empty()
                    || args
                        .types
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(ev.type_name())))
                && args
                    .database
                    .as_ref()
                    .is_none_or(|want| db.as_deref() == Some(want.as_str()))
                && table_ok(&args.table, tmap.as_ref())
                && args
                    .gtid
                    .as_ref()
                    .is_none_or(|want| gtid.as_deref() == Some(want.as_str()));
            if !keep {
                continue;
            }
            printed += 1;
            if args.stats {
                let e = stats.entry(ev.type_name()).or_default();
                e.0 += 1;
                e.1 += u64::from(ev.size());
                continue;
            }
            let d = detail(&ev);
            match args.format {
                OutputFormat::Table => {
                    let t = &mut sink_table;
                    t.cell(&name);
                    t.cell_with(|s| push_u64(s, ev.position()));
                    t.cell_with(|s| push_u64(s, ev.end_position()));
                    t.cell(ev.type_name());
                    t.cell_with(|s| push_u64(s, u64::from(ev.size())));
                    t.cell_with(|s| push_utc(s, ev.timestamp()));
                    t.cell_with(|s| push_u64(s, u64::from(ev.server_id())));
                    t.cell(&shorten(&d, 100));
                    t.end_row(out)?;
                    if let (true, EventBody::Rows(r)) = (args.decode_rows, ev.body()) {
                        let tm = tmap.as_ref();
                        let mut it = r.rows();
                        let mut c = replog_binlog::rows::RowChange::default();
                        while let Some(res) = it.next_into(&mut c) {
                            match res {
                                Ok(()) => {}
                                Err(e) => {
                                    t.flush(out)?;
                                    let _ = out.flush();
                                    eprintln!("replog: {}: {e}", path.display());
                                    found = true;
                                    break;
                                }
                            }
                            for _ in 0..3 {
                                t.cell("");
                            }
                            t.cell("  row");
                            for _ in 0..3 {
                                t.cell("");
                            }
                            t.cell_with(|text| match (&c.before, &c.after) {
                                (None, Some(a)) => {
                                    text.push_str("insert ");
                                    push_row_text(text, tm, a);
                                }
                                (Some(b), None) => {
                                    text.push_str("delete ");
                                    push_row_text(text, tm, b);
                                }
                                (Some(b), Some(a)) => {
                                    text.push_str("update ");
                                    push_row_text(text, tm, b);
                                    text.push_str(" -> ");
                                    push_row_text(text, tm, a);
                                }
                                (None, None) => {}
                            });
                            t.end_row(out)?;
                        }
                    }
                }
                OutputFormat::Json | OutputFormat::Ndjson => {
                    let rows: Option<Vec<(Option<Row<'_>>, Option<Row<'_>>)>> =
                        match (args.decode_rows, ev.body()) {
                            (true, EventBody::Rows(r)) => {
                                let mut v = Vec::new();
                                for ch in r.rows() {
                                    match ch {
                                        Ok(c) => v.push((c.before, c.after)),
                                        Err(e) => {
                                            let _ = out.flush();
                                            eprintln!("replog: {}: {e}", path.display());
                                            found = true;
                                            break;
                                        }
                                    }
                                }
                                Some(v)
                            }
                            _ => None,
                        };
                    let t = tmap.as_ref();
                    let qualified = t.map(|t| format!("{}.{}", t.schema, t.table));
                    let rows_json = rows.as_ref().map(|v| {
                        v.iter()
                            .map(|(b, a)| JsonRowChange {
                                before: b.as_ref().map(|row| RowJson { table: t, row }),
                                after: a.as_ref().map(|row| RowJson { table: t, row }),
                            })
                            .collect()
                    });
                    let je = JsonEvent {
                        file: &name,
                        position: ev.position(),
                        end_position: ev.end_position(),
                        type_name: ev.type_name(),
                        size: ev.size(),
                        timestamp: ev.timestamp(),
                        server_id: ev.server_id(),
                        gtid: gtid.as_deref(),
                        database: db.as_deref(),
                        table: qualified.as_deref(),
                        detail: &d,
                        rows: rows_json,
                    };
                    if args.format == OutputFormat::Json {
                        json.push(out, &je)?
                    } else {
                        ndjson(out, &je)?
                    }
                }
            }
            if printed >= limit {
                break 'files;
            }
        }
        done_before += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    }
    progress.finish();
    if args.stats {
        print_stats(out, args.format, &stats)?;
    } else {
        match args.format {
            OutputFormat::Table => sink_table.flush(out)?,
            OutputFormat::Json => json.finish(out)?,
            OutputFormat::Ndjson => {}
        }
    }
    Ok(if found {
        Outcome::Found
    } else {
        Outcome::Clean
    })
}

fn print_stats(
    out: &mut dyn Write,
    format: OutputFormat,
    stats: &BTreeMap<&'static str, (u64, u64)>,
) -> Result<()> {
    let n: u64 = stats.values().map(|s| s.0).sum();
    let b: u64 = stats.values().map(|s| s.1).sum();
    #[derive(Serialize)]
    struct StatRow<'a> {
        #[serde(rename = "type")]
        type_name: &'a str,
        count: u64,
        bytes: u64,
    }
    match format {
        OutputFormat::Table => {
            let t = stats_table(stats.iter().map(|(k, (c, by))| (*k, *c, *by)));
            writeln!(out, "{t}")?;
        }
        OutputFormat::Json => {
            let rows: Vec<StatRow<'_>> = stats
                .iter()
                .map(|(k, (c, by))| StatRow {
                    type_name: k,
                    count: *c,
                    bytes: *by,
                })
                .collect();
            serde_json::to_writer_pretty(
                &mut *out,
                &serde_json::json!({"events": n, "bytes": b, "types": rows}),
            )?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => {
            for (k, (c, by)) in stats {
                ndjson(
                    out,
                    &StatRow {
                        type_name: k,
                        count: *c,
                        bytes: *by,
                    },
                )?;
            }
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct FileReport {
    file: String,
    events_ok: u64,
    rows_decoded: u64,
    /// Events whose next-position field is not their end offset (relay logs).
    positions_not_chained: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_unchained: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    damage: Option<BinlogDamage>,
}

#[derive(Serialize)]
struct BinlogDamage {
    offset: u64,
    class: DamageClass,
    tolerated: bool,
    message: String,
}

/// `replog verify` of binlog files: every checksum, the position chain, and
/// every row image decoded.
pub fn verify(args: &verify::Args, files: &[PathBuf], out: &mut dyn Write) -> Result<Outcome> {
    let policy: RecoveryPolicy = args.recovery.into();
    let mut reports = Vec::new();
    let mut ok = true;
    for (i, path) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut progress = Progress::new(len);
        let mut reader = open(path, true)?;
        let mut events_ok = 0u64;
        let mut rows = 0u64;
        let mut damage = None;
        let mut off_chain = 0u64;
        let mut first_off_chain = None;
        while let Some(ev) = reader.next_event() {
            let err = match ev {
                Err(e) => Some(e),
                Ok(ev) => {
                    progress.update(ev.end_position());
                    let mut err = None;
                    // Relay logs and copied logs carry the source's positions,
                    // so a next-position that does not follow is a note, not damage.
                    let next = u64::from(ev.header().next_position);
                    if next != 0 && next != ev.end_position() {
                        off_chain += 1;
                        first_off_chain.get_or_insert((ev.position(), next));
                    }
                    if let EventBody::Rows(r) = ev.body() {
                        let mut it = r.rows();
                        let mut c = replog_binlog::rows::RowChange::default();
                        while let Some(res) = it.next_into(&mut c) {
                            match res {
                                Ok(()) => rows += 1,
                                Err(e) => {
                                    err = Some(e);
                                    break;
                                }
                            }
                        }
                    }
                    if err.is_none() {
                        events_ok += 1;
                    }
                    err
                }
            };
            if let Some(e) = err {
                let torn = matches!(e.kind(), ErrorKind::UnexpectedEof { .. }) && last;
                let class = if torn {
                    DamageClass::TornTail
                } else {
                    DamageClass::Corrupt
                };
                let tolerated = policy.tolerates(class, last);
                ok &= tolerated;
                damage = Some(BinlogDamage {
                    offset: e.offset().unwrap_or(0),
                    class,
                    tolerated,
                    message: e.message().to_string(),
                });
                break;
            }
        }
        progress.finish();
        reports.push(FileReport {
            file: path.display().to_string(),
            events_ok,
            rows_decoded: rows,
            positions_not_chained: off_chain,
            first_unchained: first_off_chain.map(|(p, _)| p),
            damage,
        });
    }
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(
                &mut *out,
                &serde_json::json!({"ok": ok, "policy": policy, "files": reports}),
            )?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => {
            for r in &reports {
                ndjson(out, r)?;
            }
        }
        OutputFormat::Table => {
            for r in &reports {
                writeln!(
                    out,
                    "{}: binlog, {} events ok, {} invalid, {} row images decoded",
                    r.file,
                    r.events_ok,
                    u8::from(r.damage.is_some()),
                    r.rows_decoded
                )?;
                if let Some(p) = r.first_unchained {
                    writeln!(
                        out,
                        "note: {} events carry a next position that is not their end offset (first at offset {p}), as relay logs and copied logs do; not damage",
                        r.positions_not_chained
                    )?;
                }
                if let Some(d) = &r.damage {
                    let verdict = crate::cmd::verify::verdict(d.tolerated);
                    writeln!(
                        out,
                        "{verdict}: {} at offset {} (0x{:x}): {}",
                        d.class.describe(),
                        d.offset,
                        d.offset,
                        d.message
                    )?;
                }
            }
            writeln!(
                out,
                "result: {} (recovery policy {})",
                if ok { "OK" } else { "DAMAGED" },
                policy.name()
            )?;
        }
    }
    Ok(if ok { Outcome::Clean } else { Outcome::Found })
}
