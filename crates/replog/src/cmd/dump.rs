//! `replog dump`: every table's rows in primary-key order, in the canonical
//! text of `formats/store.md` §3, from a log (replayed in memory) or a
//! follower store directory.

use crate::Verdict;
use crate::cmd::replay::{print_physical, replay_inputs, replay_physical};
use crate::input::Detected;
use crate::output::{ndjson, table};
use anyhow::Result;
use replog_core::LogKind;
use replog_follower::{is_store_dir, open_store, read_page_store};
use replog_store::dump::format_value;
use replog_store::replay::ReplayOptions;
use replog_store::snapshot;
use replog_store::storage::Storage;
use replog_store::{Environment, Store};
use serde_json::json;
use std::io::Write;
use std::path::Path;

const HELP: &str = "\
Examples:
  replog dump /tmp/dml/logical                # replay the log in memory, print
  replog dump follower/                       # a `replay --store` directory
  replog dump --format ndjson --table w_dml.items /tmp/dml/statement
  replog dump /tmp/dml/physical               # page redo of a physical WAL

TSV output (the default) is `-- db.table` then one line per row, values
separated by a TAB, as MariaDB's batch output (`mariadb -B`) prints them:
NUL, backslash, TAB and newline inside a value are written `\\0`, `\\\\`,
`\\t`, `\\n`, so every row is one line. --format table prints one aligned
table per table with its column names (escaped the same way); json one
document {\"tables\": [{\"table\", \"columns\", \"rows\"}]}; ndjson one object
per row: {\"table\": \"db.t\", \"values\": [\"1\", \"NULL\", ...]} (JSON
values are never escaped beyond JSON's own rules). --table takes `db.table`
or a bare table name (in every database).

A log is replayed as `replog replay --memory --keep-going` would (a
physical log by page redo; --recovery as for replay, strict by default);
problems are reported on standard error. A store directory
(`replay --store`) is read as it stands: a page store is
recovered from its WAL in memory without changing any file (a torn tail is
reported on standard error), a store.snapshot is loaded.

Exit status:
  0  the dump is the leader's state
  1  replaying the log found a conflict, divergence or damage (the dump is
     printed as far as replay got)
  2  usage or I/O error";

/// `--format` values of dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DumpFormat {
    /// `-- db.table` headers and TSV rows (special characters escaped).
    #[default]
    Tsv,
    /// One aligned table per table, with column names.
    Table,
    /// One JSON document: every table with its columns and rows.
    Json,
    /// One JSON object per row.
    Ndjson,
}

/// Appends `v` to `out` escaped as MariaDB's batch output (`mariadb -B`)
/// escapes values: NUL, backslash, TAB and newline become `\0`, `\\`,
/// `\t`, `\n`, so every row is one line and splits on TAB.
fn push_escaped(out: &mut String, v: &str) {
    let mut rest = v;
    while let Some(i) = rest.find(['\0', '\\', '\t', '\n']) {
        out.push_str(&rest[..i]);
        out.push_str(match rest.as_bytes()[i] {
            0 => "\\0",
            b'\\' => "\\\\",
            b'\t' => "\\t",
            _ => "\\n",
        });
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// Whether the table `db`.`t` is selected by `filters` (`db.table`, or a
/// bare table name in any database; none: every table).
fn selected(filters: &[String], db: &str, t: &str) -> bool {
    filters.is_empty()
        || filters.iter().any(|f| match f.split_once('.') {
            Some((fd, ft)) => fd == db && ft == t,
            None => f == t,
        })
}

/// Prints `store`'s tables.
pub fn write_dump<S: Storage, E: Environment>(
    store: &Store<S, E>,
    tables: &[String],
    format: DumpFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let st = store.storage();
    let names = store.table_names();
    // A filter that names no table is a usage error, not an empty dump.
    for f in tables {
        if !names
            .iter()
            .any(|(db, t)| selected(std::slice::from_ref(f), db, t))
        {
            anyhow::bail!(
                "--table {f}: no such table in the store (tables: {})",
                names
                    .iter()
                    .map(|(db, t)| format!("{db}.{t}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let mut json_tables = Vec::new();
    let mut line = String::new();
    for (db, t) in names {
        if !selected(tables, &db, &t) {
            continue;
        }
        let name = format!("{db}.{t}");
        let Some(id) = st.lookup(&db, &t) else {
            continue;
        };
        let Some(def) = st.def(id) else { continue };
        let columns: Vec<&str> = def.columns.iter().map(|c| c.name.as_str()).collect();
        let mut rows = Vec::new();
        match format {
            DumpFormat::Tsv => writeln!(out, "-- {name}")?,
            DumpFormat::Table => writeln!(out, "{name}:")?,
            _ => {}
        }
        let mut sink = (format == DumpFormat::Table).then(|| table(&columns));
        for k in st.keys(id) {
            let Some(row) = st.get(id, &k) else { continue };
            let values = row
                .iter()
                .zip(&def.columns)
                .map(|(v, c)| format_value(v, &c.ty));
            match format {
                DumpFormat::Tsv => {
                    line.clear();
                    for (i, v) in values.enumerate() {
                        if i > 0 {
                            line.push('\t');
                        }
                        push_escaped(&mut line, &v);
                    }
                    line.push('\n');
                    out.write_all(line.as_bytes())?;
                }
                DumpFormat::Table => {
                    let cells: Vec<String> = values
                        .map(|v| {
                            line.clear();
                            push_escaped(&mut line, &v);
                            line.clone()
                        })
                        .collect();
                    if let Some(t) = sink.as_mut() {
                        t.add_row(cells);
                    }
                }
                DumpFormat::Json => rows.push(values.collect::<Vec<_>>()),
                DumpFormat::Ndjson => {
                    let values: Vec<String> = values.collect();
                    ndjson(out, &json!({"table": name, "values": values}))?;
                }
            }
        }
        if let Some(t) = sink {
            writeln!(out, "{t}")?;
        }
        if format == DumpFormat::Json {
            json_tables.push(json!({"table": name, "columns": columns, "rows": rows}));
        }
    }
    if format == DumpFormat::Json {
        serde_json::to_writer_pretty(&mut *out, &json!({ "tables": json_tables }))?;
        writeln!(out)?;
    }
    Ok(())
}

/// Arguments of `replog dump`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The log read (or one follower store directory, `replay --store`),
    /// and which damage ends it without an error.
    #[command(flatten)]
    pub log: crate::cmd::common::ReadLog,
    /// Only this table (`db.table`, or `table` in any database); repeatable.
    #[arg(long, value_name = "DB.TABLE")]
    pub table: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DumpFormat,
}

/// Runs `replog dump`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let store_dir = match args.log.input.paths.as_slice() {
        [p] if is_store_dir(Path::new(p)) => Some(Path::new(p)),
        _ => None,
    };
    if let Some(dir) = store_dir
        && !snapshot::path_in(dir).is_file()
    {
        let f = read_page_store(dir)?;
        if let Some(t) = &f.recovery.torn_tail {
            eprintln!(
                "replog dump: {}: torn tail of the store's WAL not read: {t}",
                dir.display()
            );
        }
        write_dump(&f.store, &args.table, args.format, out)?;
        return Ok(Verdict::Clean);
    }
    let mut outcome = Verdict::Clean;
    let inputs = match store_dir {
        None => Some(args.log.input.resolve_source()?),
        Some(_) => None,
    };
    if let Some(inputs) = &inputs {
        if inputs.detected != Detected::Binlog && inputs.kind == Some(LogKind::Physical) {
            let p = replay_physical(inputs, None, None, args.log.recovery.into())?;
            let r = &p.report;
            if !p.clean() || r.torn_tail.is_some() || r.uncommitted_txid.is_some() {
                if !p.clean() {
                    outcome = Verdict::Found;
                }
                let mut msg = Vec::new();
                print_physical(&mut msg, &p)?;
                eprint!("replog dump: {}", String::from_utf8_lossy(&msg));
            }
            write_dump(&p.store, &args.table, args.format, out)?;
            return Ok(outcome);
        }
    }
    let store = match (store_dir, &inputs) {
        (Some(dir), _) => open_store(Some(dir))?.0,
        (None, None) => unreachable!("a log was resolved when no store directory was given"),
        (None, Some(inputs)) => {
            let (mut store, start) = open_store(None)?;
            let opts = ReplayOptions {
                keep_going: true,
                ..ReplayOptions::default()
            };
            let r = replay_inputs(inputs, &mut store, start, &opts, args.log.recovery.into())?;
            if !r.clean() {
                outcome = Verdict::Found;
                let mut msg = Vec::new();
                crate::cmd::replay::print_report(&mut msg, &r, store.digest())?;
                eprint!("replog dump: {}", String::from_utf8_lossy(&msg));
            }
            store
        }
    };
    write_dump(&store, &args.table, args.format, out)?;
    Ok(outcome)
}
