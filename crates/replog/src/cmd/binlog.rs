//! `inspect` and `verify` of MySQL and MariaDB binlogs.
//!
//! Binlogs are read with a streaming reader over a buffered file, so memory
//! is bounded by the largest event whatever the file size.

use crate::Verdict;
use crate::cmd::{inspect, verify};
use crate::input::{Inputs, STDIN_NAME};
use crate::output::{JsonArray, OutputFormat, Progress, TableSink, ndjson, stats_table};
use anyhow::Result;
use replog_binlog::files::Feed;
use replog_binlog::{Column, Event, EventBody, Layout, ReadOptions, Row, TableMap};
use replog_core::recovery::{DamageClass, RecoveryPolicy};
use replog_core::{ErrorKind, Value};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

fn open(path: &Path, verify_checksums: bool) -> Result<replog_binlog::files::FileReader> {
    let opts = ReadOptions {
        verify_checksums,
        ..ReadOptions::default()
    };
    replog_binlog::files::open(path, opts, None)
        .map_err(anyhow::Error::new)?
        .ok_or_else(|| anyhow::anyhow!("{}: not opened", path.display()))
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
    let mut out = String::new();
    push_shortened(&mut out, s, n);
    out
}

/// Appends `s` on one line (runs of whitespace as one space, none at the
/// ends; control characters as U+FFFD), cut to `n` characters and `…` when
/// longer. Reads `s` only up to the cut: an Annotate_rows statement of
/// megabytes costs what its first `n` characters cost.
fn push_shortened(out: &mut String, s: &str, n: usize) {
    let mut count = 0;
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() {
            space = count > 0;
            continue;
        }
        for c in [space.then_some(' '), Some(c)].into_iter().flatten() {
            if count == n {
                out.push('…');
                return;
            }
            out.push(if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            });
            count += 1;
        }
        space = false;
    }
}

/// One line describing an event, as a person wants to read it.
fn detail<'e>(ev: &'e Event<'_>) -> Cow<'e, str> {
    Cow::Owned(match ev.body() {
        EventBody::FormatDescription(f) => {
            format!("server {} binlog v{}", f.server_version, f.binlog_version)
        }
        EventBody::Query(q) => {
            let db = String::from_utf8_lossy(q.schema);
            let sql = q.query_str();
            if db.is_empty() {
                return sql;
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
        EventBody::MariaGtid(g) => {
            let mut s = format!("GTID {}-{}-{}", g.domain_id, ev.server_id(), g.seq_no);
            if let Some(cid) = g.commit_id {
                let _ = write!(s, " cid={cid}");
            }
            for w in g.flag_words() {
                s.push(' ');
                s.push_str(w);
            }
            s
        }
        EventBody::GtidList(l) => {
            let mut s = String::from("[");
            for (i, (domain, server, seq)) in l.gtids.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let _ = write!(s, "{domain}-{server}-{seq}");
            }
            s.push(']');
            s
        }
        EventBody::Incident(i) => format!("LOST_EVENTS {}", String::from_utf8_lossy(i.message)),
        EventBody::PreviousGtids(set) => replog_binlog::events::gtid_set_string(set),
        EventBody::AnnotateRows(t) | EventBody::RowsQuery(t) => {
            return String::from_utf8_lossy(t);
        }
        EventBody::BinlogCheckpoint(f) => String::from_utf8_lossy(f).into_owned(),
        _ => String::new(),
    })
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

/// Appends `(name=value, ...)` for a row image, values as SQL literals
/// shown as `mariadb-binlog -v` shows them (see [`push_column_value`]), on
/// one line: newlines, tabs, carriage returns and NULs in text are escaped
/// as `\n`, `\t`, `\r`, `\0` (backslashes and quotes already are), as
/// MariaDB's batch output does, so that a table row never breaks.
fn push_row_text(out: &mut String, t: Option<&Arc<TableMap>>, row: &Row<'_>) {
    let start = out.len();
    out.push('(');
    for (i, (c, v)) in row.columns.iter().zip(&row.values).enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_column_name(out, t, *c);
        out.push('=');
        push_column_value(out, t.and_then(|t| t.columns.get(*c as usize)), v);
    }
    out.push(')');
    escape_line_breaks(out, start);
}

/// Escapes `\n`, `\t`, `\r` and NUL in `out[from..]` (allocates only
/// when one is present).
fn escape_line_breaks(out: &mut String, from: usize) {
    if !out.as_bytes()[from..]
        .iter()
        .any(|&b| matches!(b, b'\n' | b'\t' | b'\r' | 0))
    {
        return;
    }
    let tail = out.split_off(from);
    for ch in tail.chars() {
        match ch {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
}

/// Appends a value of `col` as `mariadb-binlog -v` shows it where the
/// column type says more than the value: an integer that reads negative in
/// a binlog without signedness metadata (MariaDB's default
/// `binlog_row_metadata=NO_LOG`) also shows its unsigned reading, `-1
/// (255)`, since the sign is unknown; DATETIME(n), TIME(n) and TIMESTAMP(n)
/// have exactly n fractional digits (`.891` for DATETIME(3), `00:00:00.000`).
/// Everything else is a SQL literal.
fn push_column_value(out: &mut String, col: Option<&Column>, v: &Value<'_>) {
    match (col.map(|c| (c.layout, c.unsigned)), v) {
        (Some((Layout::Int { bytes }, None)), Value::Int(n)) if *n < 0 => {
            let bits = 8 * u32::from(bytes);
            let unsigned = if bits >= 64 {
                *n as u64
            } else {
                (*n as u64) & ((1u64 << bits) - 1)
            };
            out.push_str(itoa::Buffer::new().format(*n));
            out.push_str(" (");
            out.push_str(itoa::Buffer::new().format(unsigned));
            out.push(')');
        }
        (
            Some((
                Layout::Time2 { fsp } | Layout::DateTime2 { fsp } | Layout::Timestamp2 { fsp },
                _,
            )),
            Value::Time(_) | Value::DateTime(_) | Value::Timestamp(_),
        ) => {
            out.push('\'');
            push_temporal_with_fsp(out, v, fsp);
            out.push('\'');
        }
        _ => push_sql_literal(out, v),
    }
}

/// Appends a temporal value with exactly `fsp` fractional digits.
fn push_temporal_with_fsp(out: &mut String, v: &Value<'_>, fsp: u8) {
    let micro = match v {
        Value::Time(us) => (us.unsigned_abs() % 1_000_000) as u32,
        Value::DateTime(d) => d.micro,
        Value::Timestamp(us) => us.rem_euclid(1_000_000) as u32,
        _ => 0,
    };
    let _ = write!(out, "{v}");
    if micro != 0 {
        // The canonical form ends with ".ffffff" when there is a fraction.
        out.truncate(out.len() - 7);
    }
    if fsp > 0 {
        let mut digits = [b'0'; 6];
        let mut m = micro.min(999_999);
        for d in digits.iter_mut().rev() {
            *d = b'0' + (m % 10) as u8;
            m /= 10;
        }
        out.push('.');
        for &d in &digits[..usize::from(fsp.min(6))] {
            out.push(char::from(d));
        }
    }
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

/// `replog inspect` of binlog files, or of a binlog on standard input.
pub fn inspect(args: &inspect::Args, inputs: &Inputs, out: &mut dyn Write) -> Result<Verdict> {
    if let Some(stdin) = inputs.stdin_binlog() {
        if args.follow.follow {
            anyhow::bail!(
                "{STDIN_NAME}: --follow reads binlog files as they grow, not standard input"
            );
        }
        return inspect_feed(args, &mut *(stdin.open)(), 0, out);
    }
    let follow = args.follow.start();
    let mut feed = replog_binlog::files::Files::new(&inputs.files, follow);
    let total = crate::output::total_len(&inputs.files);
    inspect_feed(args, &mut feed, total, out)
}

/// `replog inspect` of the binlogs `feed` hands over (files, or a
/// server's), `total` bytes long if known (for progress; 0 if not).
pub fn inspect_feed(
    args: &inspect::Args,
    feed: &mut dyn Feed,
    total: u64,
    out: &mut dyn Write,
) -> Result<Verdict> {
    if args.hex && args.report.format != OutputFormat::Table {
        anyhow::bail!("--hex prints a table; it cannot be combined with --format json or ndjson");
    }
    let mut sink_hex = TableSink::new(vec!["OFFSET", "BYTES", "MEANING"], &[]);
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
    let mut progress = Progress::new(total);
    let mut done_before = 0u64;
    let mut printed = 0u64;
    let limit = args.limit.unwrap_or(u64::MAX);
    let mut found = false;
    let following = args.follow.follow;
    let live = feed.live();
    let opts = ReadOptions {
        verify_checksums: !args.no_verify,
        ..ReadOptions::default()
    };
    // Where a follower stopped: the end of the last event read, its GTID.
    let mut reached: Option<(String, u64)> = None;
    let mut gtid: Option<String> = None;
    'files: loop {
        let Some((path, mut reader)) = feed.next_file(opts).map_err(anyhow::Error::new)? else {
            break;
        };
        let path = Path::new(&path);
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        gtid = None;
        // Whether the events carry a CRC32, from the last format description.
        let mut crc = false;
        if args.hex {
            inspect::hex_rows(&mut sink_hex, out, 0, &replog_binlog::MAGIC, "binlog magic")?;
        }
        loop {
            if (following || live) && replog_binlog::files::caught_up(&reader) {
                // About to wait for the server: show what was read.
                sink_table.flush(out)?;
                sink_hex.flush(out)?;
                out.flush()?;
            }
            let Some(ev) = reader.next_event() else {
                break;
            };
            let ev = match ev {
                Ok(ev) => ev,
                // Stopped inside an event: the end of the last whole one.
                Err(_) if (following || live) && replog_core::follow::stop_requested() => break,
                Err(e) => {
                    let _ = out.flush();
                    progress.finish();
                    eprintln!("replog: {}: {e}", path.display());
                    found = true;
                    // A server's dump cannot go on past an error.
                    if live {
                        break 'files;
                    }
                    break;
                }
            };
            progress.update(done_before + ev.end_position());
            reached = Some((name.clone(), ev.end_position()));
            if let EventBody::FormatDescription(f) = ev.body() {
                crc = f.has_crc32();
            }
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
            if args.hex {
                hex_event(&mut sink_hex, out, &ev, crc, &d)?;
                if printed >= limit {
                    break 'files;
                }
                continue;
            }
            match args.report.format {
                OutputFormat::Table => {
                    let t = &mut sink_table;
                    t.cell(&name);
                    t.cell_with(|s| push_u64(s, ev.position()));
                    t.cell_with(|s| push_u64(s, ev.end_position()));
                    t.cell(ev.type_name());
                    t.cell_with(|s| push_u64(s, u64::from(ev.size())));
                    t.cell_with(|s| push_utc(s, ev.timestamp()));
                    t.cell_with(|s| push_u64(s, u64::from(ev.server_id())));
                    t.cell_with(|s| push_shortened(s, &d, 100));
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
                    if args.report.format == OutputFormat::Json {
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
    if following {
        if let Some((file, pos)) = &reached {
            let g = gtid
                .as_deref()
                .map(|g| format!(" (GTID {g})"))
                .unwrap_or_default();
            eprintln!("replog: stopped following at {file}:{pos}{g}");
        }
    }
    if args.stats {
        print_stats(out, args.report.format, &stats)?;
    } else if args.hex {
        sink_hex.flush(out)?;
    } else {
        match args.report.format {
            OutputFormat::Table => sink_table.flush(out)?,
            OutputFormat::Json => json.finish(out)?,
            OutputFormat::Ndjson => {}
        }
    }
    Ok(Verdict::clean_if(!found))
}

/// Names of the common-header flags (`LOG_EVENT_*_F`).
fn header_flag_names(flags: u16) -> String {
    const NAMES: [(u16, &str); 8] = [
        (0x1, "BINLOG_IN_USE"),
        (0x4, "THREAD_SPECIFIC"),
        (0x8, "SUPPRESS_USE"),
        (0x20, "ARTIFICIAL"),
        (0x40, "RELAY_LOG"),
        (0x80, "IGNORABLE"),
        (0x100, "NO_FILTER"),
        (0x200, "MTS_ISOLATE"),
    ];
    let mut s = format!("flags 0x{flags:04x}");
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if !names.is_empty() {
        let _ = write!(s, " ({})", names.join(", "));
    }
    s
}

/// `inspect --hex` of one event: the common header field by field, the
/// format description's fields, the body with the event's detail, and the
/// checksum.
fn hex_event(
    t: &mut TableSink,
    out: &mut dyn Write,
    ev: &Event<'_>,
    crc: bool,
    detail: &str,
) -> std::io::Result<()> {
    let raw = ev.raw();
    let p = ev.position();
    let h = ev.header();
    let mut time = String::new();
    push_utc(&mut time, h.timestamp);
    let raw_type = raw[4];
    let type_meaning = if raw_type == h.type_code {
        format!("type {} ({})", raw_type, ev.type_name())
    } else {
        format!(
            "type {} (pre-GA numbering: {} {})",
            raw_type,
            h.type_code,
            ev.type_name()
        )
    };
    let header_fields: [(usize, usize, String); 6] = [
        (
            0,
            4,
            format!(
                "{} event at {p}: timestamp {} ({time} UTC)",
                ev.type_name(),
                h.timestamp
            ),
        ),
        (4, 5, type_meaning),
        (5, 9, format!("server id {}", h.server_id)),
        (9, 13, format!("event length {}", h.event_length)),
        (13, 17, format!("next position {}", h.next_position)),
        (17, 19, header_flag_names(h.flags)),
    ];
    for (a, z, m) in &header_fields {
        inspect::hex_rows(t, out, p + *a as u64, &raw[*a..*z], m)?;
    }
    let hl = replog_binlog::events::HEADER_LEN;
    let (body_end, tail): (usize, Option<String>) = match ev.body() {
        EventBody::FormatDescription(f) => {
            let n = raw.len();
            let lens_end = if f.checksum_alg.is_some() { n - 5 } else { n };
            let fields: [(usize, usize, String); 5] = [
                (hl, hl + 2, format!("binlog version {}", f.binlog_version)),
                (
                    hl + 2,
                    hl + 52,
                    format!("server version {}", f.server_version),
                ),
                (hl + 52, hl + 56, format!("created {}", f.create_timestamp)),
                (
                    hl + 56,
                    hl + 57,
                    format!("common header length {}", f.header_len),
                ),
                (
                    hl + 57,
                    lens_end,
                    format!("post-header lengths of {} event types", lens_end - hl - 57),
                ),
            ];
            for (a, z, m) in &fields {
                inspect::hex_rows(t, out, p + *a as u64, &raw[*a..*z], m)?;
            }
            if let Some(alg) = f.checksum_alg {
                let name = match alg {
                    0 => "off",
                    1 => "CRC32",
                    _ => "unknown",
                };
                inspect::hex_rows(
                    t,
                    out,
                    p + lens_end as u64,
                    &raw[lens_end..lens_end + 1],
                    &format!("checksum algorithm {alg} ({name})"),
                )?;
                (n - 4, Some("CRC32".to_string()))
            } else {
                (n, None)
            }
        }
        _ => {
            if crc && raw.len() >= hl + 4 {
                inspect::hex_rows(
                    t,
                    out,
                    p + hl as u64,
                    &raw[hl..raw.len() - 4],
                    &shorten(detail, 100),
                )?;
                (raw.len() - 4, Some("CRC32".to_string()))
            } else {
                inspect::hex_rows(t, out, p + hl as u64, &raw[hl..], &shorten(detail, 100))?;
                (raw.len(), None)
            }
        }
    };
    if let Some(name) = tail {
        let b = &raw[body_end..];
        let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        inspect::hex_rows(t, out, p + body_end as u64, b, &format!("{name} 0x{v:08x}"))?;
    }
    Ok(())
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
    /// Whether the events carry CRC32 checksums (from the format
    /// description); without them only the structure can be checked.
    checksums: bool,
    /// What was checked: `checksums and structure` or `structure only`.
    checked: &'static str,
    /// Events whose next-position field is not their end offset (relay logs).
    positions_not_chained: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_unchained: Option<u64>,
    /// The first damage.
    #[serde(skip_serializing_if = "Option::is_none")]
    damage: Option<BinlogDamage>,
    /// Damage found after resynchronising past the first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    more_damage: Vec<BinlogDamage>,
}

#[derive(Serialize)]
struct BinlogDamage {
    offset: u64,
    class: DamageClass,
    tolerated: bool,
    message: String,
    /// Where reading resumed: the next offset at which a plausible chain
    /// of events starts (absent when nothing valid follows).
    #[serde(skip_serializing_if = "Option::is_none")]
    resumed_at: Option<u64>,
}

/// At most this many damaged places are reported per file.
const MAX_DAMAGE_REPORTS: usize = 100;

/// `replog verify` of binlog files: every checksum, the position chain, and
/// every row image decoded. After damage, the reader looks for the next
/// plausible chain of events and goes on from there.
pub fn verify(args: &verify::Args, inputs: &Inputs, out: &mut dyn Write) -> Result<Verdict> {
    let policy: RecoveryPolicy = args.log.recovery.into();
    let mut reports = Vec::new();
    let mut ok = true;
    let files = &inputs.files;
    // A binlog on standard input is read as it comes: a damaged event
    // ends it there, as a stream cannot be searched for the next event.
    let stdin = inputs.stdin_binlog();
    for (i, path) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let name = inputs.name(i);
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut progress = Progress::new(len);
        let mut reader = match &stdin {
            Some(stdin) => (stdin.open)()
                .next_file(ReadOptions {
                    verify_checksums: true,
                    ..ReadOptions::default()
                })?
                .map(|(_, r)| r)
                .ok_or_else(|| anyhow::anyhow!("{name}: no binlog"))?,
            None => open(path, true)?,
        };
        let mut events_ok = 0u64;
        let mut rows = 0u64;
        let mut damages: Vec<BinlogDamage> = Vec::new();
        let mut off_chain = 0u64;
        let mut first_off_chain = None;
        loop {
            let start = reader.position();
            let Some(ev) = reader.next_event() else { break };
            let mut framed = true;
            let err = match ev {
                Err(e) => {
                    framed = false;
                    Some(e)
                }
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
            let Some(e) = err else { continue };
            // Damage is a torn tail only when nothing valid follows it: look
            // for the next plausible chain of events (after an event that
            // parsed but holds a bad row image, just past it; otherwise one
            // byte past the damaged event's start, as its length may be the
            // damaged field) and go on reading from there.
            let resume = if framed {
                Ok(Some(reader.position()).filter(|&p| p < len))
            } else if stdin.is_some() {
                Ok(None)
            } else {
                reader.find_next_event(start + 1)
            }
            .map_err(|io| anyhow::Error::new(io).context(name.clone()))?;
            let torn = resume.is_none() && matches!(e.kind(), ErrorKind::UnexpectedEof { .. });
            let class = if torn {
                DamageClass::TornTail
            } else {
                DamageClass::Corrupt
            };
            let tolerated = policy.tolerates(class, last);
            ok &= tolerated;
            // Stop-at-first ends the log at the first damage.
            let resume = resume.filter(|_| policy != RecoveryPolicy::StopAtFirst);
            damages.push(BinlogDamage {
                offset: e.offset().unwrap_or(start),
                class,
                tolerated,
                message: e.message().to_string(),
                resumed_at: resume,
            });
            match resume {
                Some(p) if damages.len() < MAX_DAMAGE_REPORTS => reader.skip_to(p)?,
                _ => break,
            }
        }
        progress.finish();
        let checksums = reader.format().has_crc32();
        let mut damages = damages.into_iter();
        reports.push(FileReport {
            file: name,
            events_ok,
            rows_decoded: rows,
            checksums,
            checked: if checksums {
                "checksums and structure"
            } else {
                "structure only"
            },
            positions_not_chained: off_chain,
            first_unchained: first_off_chain.map(|(p, _)| p),
            damage: damages.next(),
            more_damage: damages.collect(),
        });
    }
    match args.report.format {
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
                    usize::from(r.damage.is_some()) + r.more_damage.len(),
                    r.rows_decoded
                )?;
                if !r.checksums {
                    writeln!(
                        out,
                        "note: no checksums: structure only (event framing, headers, positions and row images were checked; a changed value inside an event cannot be detected)"
                    )?;
                }
                if let Some(p) = r.first_unchained {
                    writeln!(
                        out,
                        "note: {} events carry a next position that is not their end offset (first at offset {p}), as relay logs and copied logs do; not damage",
                        r.positions_not_chained
                    )?;
                }
                for d in r.damage.iter().chain(&r.more_damage) {
                    let verdict = crate::cmd::verify::verdict(d.tolerated);
                    write!(
                        out,
                        "{verdict}: {} at offset {} (0x{:x}): {}",
                        d.class.describe(),
                        d.offset,
                        d.offset,
                        d.message
                    )?;
                    match d.resumed_at {
                        Some(p) => {
                            writeln!(out, "; valid events follow, reading resumed at offset {p}")?
                        }
                        None => writeln!(out)?,
                    }
                }
            }
            crate::cmd::verify::result_line(out, ok, policy)?;
        }
    }
    Ok(Verdict::clean_if(ok))
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_binlog::{Events, RowsKind};
    use std::path::Path;

    /// Per row image of `rows.txt` (`mariadb-binlog -v`): (column number
    /// from 1, printed value) of every `###   @N=value` line.
    fn printed_images(text: &str) -> Vec<Vec<(u32, String)>> {
        let mut out: Vec<Vec<(u32, String)>> = Vec::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("### ") else {
                continue;
            };
            if rest.trim() == "SET" || rest.trim() == "WHERE" {
                out.push(Vec::new());
            } else if let Some(v) = rest.strip_prefix("  @")
                && let Some((n, val)) = v.split_once('=')
                && let (Ok(n), Some(img)) = (n.parse(), out.last_mut())
            {
                img.push((n, val.to_string()));
            }
        }
        out
    }

    /// Integers and DATETIME(n)/TIME(n)/TIMESTAMP(n) as `mariadb-binlog -v`
    /// prints them: exactly in the binlog without signedness metadata
    /// (`-1 (255)`), the one reading the metadata selects where there is
    /// some, and the declared number of fractional digits everywhere.
    #[test]
    fn values_as_mariadb_binlog_shows_them() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mariadb/out");
        let mut compared = 0;
        for run in ["types/row-no_log", "types/row-full", "types/row-minimal"] {
            let dir = root.join(run);
            let text = std::fs::read(dir.join("rows.txt")).unwrap();
            let theirs = printed_images(&String::from_utf8_lossy(&text));
            let mut ours: Vec<Vec<(u32, Column, String)>> = Vec::new();
            for file in ["mariadb-bin.000001", "mariadb-bin.000002"] {
                let data = std::fs::read(dir.join(file)).unwrap();
                for ev in Events::new(&data).unwrap() {
                    let ev = ev.unwrap();
                    let EventBody::Rows(r) = ev.body() else {
                        continue;
                    };
                    let t = r.table.clone().unwrap();
                    for ch in r.rows() {
                        let ch = ch.unwrap();
                        let images = match r.kind {
                            RowsKind::Write => vec![ch.after.unwrap()],
                            RowsKind::Delete => vec![ch.before.unwrap()],
                            _ => vec![ch.before.unwrap(), ch.after.unwrap()],
                        };
                        for img in images {
                            ours.push(
                                img.iter()
                                    .map(|(c, v)| {
                                        let col = t.columns[c].clone();
                                        let mut s = String::new();
                                        push_column_value(&mut s, Some(&col), v);
                                        (c as u32 + 1, col, s)
                                    })
                                    .collect(),
                            );
                        }
                    }
                }
            }
            assert_eq!(ours.len(), theirs.len(), "{run}");
            for (o, t) in ours.iter().zip(&theirs) {
                for ((n, col, mine), (tn, printed)) in o.iter().zip(t) {
                    assert_eq!(n, tn, "{run}");
                    if printed == "NULL" {
                        continue;
                    }
                    match col.layout {
                        Layout::Int { .. } => match (col.unsigned, printed.split_once(" (")) {
                            (None, _) | (_, None) => assert_eq!(mine, printed, "{run} @{n}"),
                            (Some(true), Some((_, u))) => {
                                assert_eq!(mine, u.trim_end_matches(')'), "{run} @{n}")
                            }
                            (Some(false), Some((s, _))) => assert_eq!(mine, s, "{run} @{n}"),
                        },
                        Layout::Time2 { .. } | Layout::DateTime2 { .. } => {
                            assert_eq!(mine, printed, "{run} @{n}")
                        }
                        // mariadb-binlog prints TIMESTAMP as seconds since
                        // the epoch; the fraction has the same digits.
                        Layout::Timestamp2 { fsp } => {
                            let frac = |s: &str| {
                                s.trim_matches('\'')
                                    .split_once('.')
                                    .map(|(_, f)| f.to_string())
                                    .unwrap_or_default()
                            };
                            assert_eq!(frac(mine), frac(printed), "{run} @{n}");
                            assert_eq!(frac(mine).len(), usize::from(fsp), "{run} @{n}");
                        }
                        _ => continue,
                    }
                    compared += 1;
                }
            }
        }
        assert!(compared > 100, "{compared}");
    }

    /// The shortened detail is the whole text collapsed to one line and
    /// then cut, as it was computed before it stopped at the cut.
    #[test]
    fn shortening_reads_only_up_to_the_cut_and_equals_collapsing_first() {
        fn collapsed_then_cut(s: &str, n: usize) -> String {
            let one_line: String = s
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
                .collect();
            if one_line.chars().count() <= n {
                one_line
            } else {
                one_line.chars().take(n).chain(['…']).collect()
            }
        }
        let parts = [
            "", " ", "  \n\t", "a", "bc", "é", "\u{1}", "\u{2003}", "xyz ", "\r\n",
        ];
        let mut seed = 1u64;
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..(seed % 9) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                s.push_str(parts[(seed >> 33) as usize % parts.len()]);
            }
            for n in 0..8 {
                assert_eq!(shorten(&s, n), collapsed_then_cut(&s, n), "{s:?} {n}");
            }
        }
    }

    #[test]
    fn row_text_stays_on_one_line() {
        let tm = TableMap::from_parts(1, "d", "t", &[15], &[255, 0]).unwrap();
        let row = Row {
            columns: &[0],
            values: vec![Value::Text("a\nb\tc\\d'e\r\0".into())],
            json_diffs: Vec::new(),
        };
        let mut s = String::new();
        push_row_text(&mut s, Some(&Arc::new(tm)), &row);
        // One line whatever the SQL writer does with quotes.
        assert!(!s.contains(['\n', '\t', '\r', '\0']), "{s}");
        assert!(s.starts_with(r"(@1='a\nb\tc\\d"), "{s}");
        assert!(s.ends_with(r"e\r\0')"), "{s}");
    }
}
