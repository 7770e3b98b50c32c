//! `replog snapshot`: a consistent snapshot of a follower store, recording
//! the log position it corresponds to, for setting up a new follower or as
//! the `--base` of a conversion.

use crate::Verdict;
use crate::output::{OutputFormat, ndjson};
use anyhow::Result;
use replog_convert::atomic::AtomicFile;
use replog_core::segment::hex;
use replog_follower::{open_store, read_page_store};
use replog_store::snapshot::{self, AppliedPosition};
use replog_store::storage::Storage;
use replog_store::{Environment, Store};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

const HELP: &str = "\
Examples:
  replog replay log/ --store follower/ --until txid:1000
  replog snapshot follower/ -o at-1000.snapshot
  replog replay log/ --store new-follower/ --from-snapshot at-1000.snapshot
  replog convert later.replog --to logical --base at-1000.snapshot -o rows.replog

STORE is a follower directory written by `replog replay --store`. It is read
as it stands, without changing any file: a page store is recovered from its
own WAL in memory (a torn tail is left out), an older store.snapshot
directory is loaded. The snapshot (formats/store.md) holds every database,
table definition, auto-increment counter and row, and the position of the
last transaction the store applied (log kind and id, LSN just past its
COMMIT, txid, digest). It is written under a temporary name and renamed
when complete.

A follower started from it (`replay --from-snapshot`) passes over the
transactions it already holds (by LSN in the same log, by txid in another
log of the same leader) and catches up from there.

Exit status:
  0  snapshot written
  2  STORE is not a follower store, or an I/O error";

/// Arguments of `replog snapshot`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// A follower store directory (`replog replay --store`).
    #[arg(value_name = "STORE")]
    pub store: PathBuf,
    /// The snapshot file to write.
    #[arg(short = 'o', long = "output", alias = "out", value_name = "FILE")]
    pub out: PathBuf,
    /// Output format.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
}

/// Runs `replog snapshot`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let dir = &args.store;
    crate::cmd::common::require_store(dir)?;
    if snapshot::path_in(dir).is_file() {
        let (store, pos) = open_store(Some(dir))?;
        write(args, &store, pos, out)
    } else {
        let f = read_page_store(dir)?;
        if let Some(t) = &f.recovery.torn_tail {
            eprintln!(
                "replog snapshot: {}: torn tail of the store's WAL left out: {t}",
                dir.display()
            );
        }
        write(args, &f.store, f.position, out)
    }
}

fn write<S: Storage, E: Environment>(
    args: &Args,
    store: &Store<S, E>,
    pos: AppliedPosition,
    out: &mut dyn Write,
) -> Result<Verdict> {
    let pos = AppliedPosition {
        digest: store.digest(),
        ..pos
    };
    let bytes = snapshot::encode(store, &pos).map_err(anyhow::Error::new)?;
    let mut f = AtomicFile::create(&args.out)?;
    f.write_all(&bytes)?;
    f.commit()?;
    let tables = store.table_names().len();
    let doc = json!({
        "snapshot": args.out.display().to_string(),
        "bytes": bytes.len(),
        "tables": tables,
        "log_kind": pos.kind.map(|k| k.to_string()),
        "log_id": hex(&pos.log_id),
        "applied_lsn": pos.applied_lsn,
        "last_txid": pos.last_txid,
        "digest": format!("{:016x}", pos.digest),
    });
    match args.report.format {
        OutputFormat::Table => writeln!(
            out,
            "snapshot {} ({} bytes, {} tables): after txid {} (LSN {} of the {} log {}), digest {:016x}",
            args.out.display(),
            bytes.len(),
            tables,
            pos.last_txid,
            pos.applied_lsn,
            pos.kind
                .map_or_else(|| "(none)".to_string(), |k| k.to_string()),
            hex(&pos.log_id),
            pos.digest
        )?,
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => ndjson(out, &doc)?,
    }
    Ok(Verdict::Clean)
}
