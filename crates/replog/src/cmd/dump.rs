//! `replog dump`: every table's rows in primary-key order, in the canonical
//! text of `formats/store.md` §3, from a log (replayed in memory) or a
//! follower store directory.

use crate::Outcome;
use crate::cmd::common::RecoveryArg;
use crate::cmd::replay::{print_physical, replay_inputs, replay_physical};
use crate::input::{Detected, Inputs};
use crate::output::ndjson;
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

TSV output is `-- db.table` then one line per row, values separated by a
TAB, exactly as MariaDB's fixtures (tables/*.tsv) print them. NDJSON prints
one object per row: {\"table\": \"db.t\", \"values\": [\"1\", \"NULL\", ...]}.
A log is replayed as `replog replay --memory --keep-going` would (a physical
log by page redo); problems are reported on standard error. A store
directory (`replay --store`) is read as it stands: a page store is
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
    /// `-- db.table` headers and TSV rows.
    #[default]
    Tsv,
    /// One JSON object per row.
    Ndjson,
}

/// Arguments of `replog dump`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// A log (files or directories of segments) or a store directory.
    #[arg(required = true, value_name = "LOG|STORE")]
    pub paths: Vec<String>,
    /// Only this table (`db.table`); repeatable.
    #[arg(long, value_name = "DB.TABLE")]
    pub table: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DumpFormat,
}

/// Prints `store`'s tables.
pub fn write_dump<S: Storage, E: Environment>(
    store: &Store<S, E>,
    tables: &[String],
    format: DumpFormat,
    out: &mut dyn Write,
) -> Result<()> {
    let st = store.storage();
    for (db, t) in store.table_names() {
        let name = format!("{db}.{t}");
        if !tables.is_empty() && !tables.contains(&name) {
            continue;
        }
        match format {
            DumpFormat::Tsv => {
                writeln!(out, "-- {name}")?;
                out.write_all(store.dump_table(&db, &t)?.as_bytes())?;
            }
            DumpFormat::Ndjson => {
                let Some(id) = st.lookup(&db, &t) else {
                    continue;
                };
                let Some(def) = st.def(id) else { continue };
                for k in st.keys(id) {
                    let Some(row) = st.get(id, &k) else { continue };
                    let values: Vec<String> = row
                        .iter()
                        .zip(&def.columns)
                        .map(|(v, c)| format_value(v, &c.ty))
                        .collect();
                    ndjson(out, &json!({"table": name, "values": values}))?;
                }
            }
        }
    }
    Ok(())
}

/// Runs `replog dump`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let store_dir = match args.paths.as_slice() {
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
        return Ok(Outcome::Clean);
    }
    let mut outcome = Outcome::Clean;
    let inputs = match store_dir {
        None => Some(Inputs::resolve_native(&args.paths)?),
        Some(_) => None,
    };
    if let Some(inputs) = &inputs {
        if inputs.detected != Detected::Binlog && inputs.kind == Some(LogKind::Physical) {
            let p = replay_physical(inputs, None, None, RecoveryArg::TolerateTail)?;
            let r = &p.report;
            if !p.clean() || r.torn_tail.is_some() || r.uncommitted_txid.is_some() {
                if !p.clean() {
                    outcome = Outcome::Found;
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
            let r = replay_inputs(inputs, &mut store, start, &opts, RecoveryArg::TolerateTail)?;
            if !r.clean() {
                outcome = Outcome::Found;
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
