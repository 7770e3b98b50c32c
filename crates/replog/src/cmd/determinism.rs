//! `replog determinism`: which statements of a statement log (or a MySQL /
//! MariaDB binlog in statement or mixed format) may replay differently on a
//! follower, and why.

use crate::Outcome;
use crate::output::{OutputFormat, ndjson};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;

const HELP: &str = "\
This version analyses statements statically: each statement that is unsafe
for statement-based replication is flagged with its reasons, named after
MySQL's categories (UNSAFE_SYSTEM_FUNCTION, UNSAFE_LIMIT,
UNSAFE_WRITE_AUTOINC_SELECT, UNSAFE_INSERT_TWO_KEYS, ...) or replog's own
(REPLOG_FLOAT_TO_EXACT), and with the context the log captured for it
(timestamp, RAND seeds, insert ids, user variables). A statement that needs
context the log did not capture (NEEDS_TIMESTAMP, NEEDS_RAND_SEED, ...) is
unsafe too. Replaying on perturbed replicas (the dynamic measurement) is not
implemented yet.

Examples:
  replog determinism fixtures/native/statement/sample.replog
  replog determinism fixtures/mariadb/out/unsafe/statement/mariadb-bin.000001
  replog determinism --format json mysql-bin.000042 | jq .summary

Exit status:
  0  no statement is unsafe
  1  at least one statement may replay differently
  2  usage or I/O error";

/// Arguments of `replog determinism`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// A native statement log (files or a directory of segments) or binlog files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format (`ndjson`: one line per statement, then the summary).
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// Runs `replog determinism`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let report = replog_determinism::analyze_paths(&args.paths)?;
    match args.format {
        OutputFormat::Table => {
            let mut buf = Vec::new();
            replog_determinism::render_table(&report, &mut buf)?;
            out.write_all(&buf)?;
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => {
            for s in &report.statements {
                ndjson(out, s)?;
            }
            ndjson(out, &serde_json::json!({ "summary": &report.summary }))?;
        }
    }
    Ok(if report.summary.unsafe_statements > 0 {
        Outcome::Found
    } else {
        Outcome::Clean
    })
}
