//! `replog export --to parquet DIR`: the change events of a log as Parquet
//! datasets (`replog_columnar::parquet_out`), written into a staging
//! directory next to DIR and renamed to DIR when complete.

use crate::Verdict;
use crate::input::Inputs;
use anyhow::{Result, bail};
use replog_columnar::parquet_out::{ParquetOptions, export_parquet};
use replog_core::txn::TxnSource;
use replog_export::event::ChangeEvents;
use std::io::Write;
use std::path::Path;

/// Exports the changes `events` makes of `source` (read from `inputs`)
/// under `target`, built in a staging directory next to it and renamed
/// when complete; prints a one-line summary to `out`. A damaged log
/// leaves nothing (an error); damage the recovery policy accepts ends the
/// export there (exit 1, named on standard error).
pub fn export(
    source: &mut dyn TxnSource,
    inputs: &Inputs,
    events: &mut ChangeEvents,
    target: Option<&Path>,
    out: &mut dyn Write,
) -> Result<Verdict> {
    let Some(target) = target else {
        bail!("--to parquet writes a directory: give it with -o DIR");
    };
    if target.exists() {
        bail!(
            "{}: already exists; --to parquet writes a new directory",
            target.display()
        );
    }
    let files: Vec<String> = inputs
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", parent.display()))?;
    let staging = replog_convert::atomic::staging_dir(parent).map_err(|e| {
        anyhow::anyhow!("creating a staging directory in {}: {e}", parent.display())
    })?;
    let dir = staging.path().join("parquet");
    let stats = export_parquet(events, source, &files, &dir, ParquetOptions::default())
        .map_err(|e| crate::cmd::export::stopped(anyhow::Error::new(e), "nothing written"))?;
    std::fs::rename(&dir, target)
        .map_err(|e| anyhow::anyhow!("moving the datasets to {}: {e}", target.display()))?;
    for d in &stats.read.tolerated_damage {
        eprintln!("replog: the log ends at damage, exported up to it: {d}");
    }
    let tolerated = stats.read.tolerated_damage.len();
    let doc = serde_json::json!({
        "output": target.display().to_string(),
        "transactions": stats.read.transactions,
        "row_changes": stats.read.rows,
        "tables": stats.tables,
        "files": stats.files,
        "tolerated_damage": tolerated,
    });
    serde_json::to_writer(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(Verdict::clean_if(tolerated == 0))
}
