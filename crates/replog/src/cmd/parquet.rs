//! `replog export --to parquet DIR`: the change events of a log as Parquet
//! datasets (`replog_columnar::parquet_out`), written into a staging
//! directory next to DIR and renamed to DIR when complete.

use crate::Verdict;
use anyhow::{Result, bail};
use replog_columnar::parquet_out::{ParquetOptions, export_parquet};
use replog_core::reader::ReaderOptions;
use replog_core::recovery::RecoveryPolicy;
use replog_core::txn::TxnInput;
use std::io::Write;
use std::path::Path;

/// Help of the Parquet export, for the export command's `--help`.
pub const PARQUET_HELP: &str = "\
--to parquet DIR writes two kinds of datasets (formats/columnar.md):
  DIR/changes/date=YYYY-MM-DD/part-NNNNN.parquet
      every row change: source_file, position, gtid, lsn, commit_time, txid,
      seq, op, database_name, table_name, and key/before/after as JSON text
      (the table `changes` of `replog query`);
  DIR/tables/table=DB.TABLE/date=YYYY-MM-DD/part-NNNNN.parquet
      one dataset per table: the same metadata, then before_<col> and
      after_<col> in each column's own type (integers, decimals, dates,
      timestamps, binary, text).
`date` is the commit date (UTC); both are hive-partitioned, so Spark,
Trino, DuckDB or DataFusion read them as partitioned tables. Row groups
are cut for streaming: memory stays bounded however large the log. DIR
must not exist: it is built under a temporary name and renamed when
complete; a damaged log exports nothing (exit 1) unless --recovery
stop-at-first (or tolerate-tail) exports its valid prefix.";

/// Exports the log `input` (read with `policy`) under `target`; prints a
/// summary (JSON) to `out`.
pub fn export(
    input: &crate::cmd::common::Input,
    policy: RecoveryPolicy,
    target: &Path,
    out: &mut dyn Write,
) -> Result<Verdict> {
    if target.exists() {
        bail!(
            "{}: already exists; --to parquet writes a new directory",
            target.display()
        );
    }
    let inputs = input.resolve_source()?;
    inputs.require_transactions("export")?;
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
    replog_convert::atomic::remove_debris(parent);
    let staging = tempfile::Builder::new()
        .prefix(&replog_convert::atomic::staging_prefix())
        .tempdir_in(parent)
        .map_err(|e| {
            anyhow::anyhow!("creating a staging directory in {}: {e}", parent.display())
        })?;
    let dir = staging.path().join("parquet");
    let mut source = inputs.txn_input_with_progress()?.open(ReaderOptions {
        policy,
        continue_after_damage: false,
        buffer_size: 0,
    })?;
    let stats = match export_parquet(&mut *source, &files, &dir, ParquetOptions::default()) {
        Ok(s) => s,
        Err(e @ replog_columnar::Error::Log(_)) => {
            eprintln!("replog export: {e}; nothing written");
            return Ok(Verdict::Found);
        }
        Err(e) => return Err(anyhow::Error::new(e).context("nothing written")),
    };
    std::fs::rename(&dir, target)
        .map_err(|e| anyhow::anyhow!("moving the datasets to {}: {e}", target.display()))?;
    let tolerated = source.summary().damage.iter().filter(|d| d.tolerated).count();
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
