//! `replog query`: SQL over the change events of any log, in process with
//! DataFusion (`replog_columnar::query`).

use crate::Verdict;
use crate::output::{OutputFormat, table};
use anyhow::Result;
use replog_columnar::query::{LogSpec, QueryLog, QueryResult, cell_text, json_value, query};
use replog_core::reader::ReaderOptions;
use replog_core::txn::TxnInput;
use std::io::Write;
use std::sync::{Arc, Mutex};

const HELP: &str = "\
The log is the table `changes`: one row per row change (INSERT, UPDATE,
DELETE; a TRUNCATE is one row per table), in commit order, with columns

  source_file    the binlog, segment or capture the change was read from
  position       the transaction's position: binlog file:pos, PostgreSQL
                 commit LSN (X/X), `LSN n` of a native log's COMMIT
  gtid           the binlog transaction's GTID (else NULL)
  lsn            the LSN of the change's record
  commit_time    commit time on the leader (UTC timestamp, µs)
  txid           transaction id
  seq            the change's index in its transaction, from 0
  op             insert, update, delete or truncate
  database_name, table_name
  key            the primary key (PostgreSQL without one: every column)
                 as a JSON object
  before, after  the row before and after, JSON objects (NULL when the log
                 has no such image; columns the log did not send are left
                 out)

the same columns as the generic Parquet dataset of `replog export --to
parquet`. Each LOG is a log of its own (a file, a directory of segments or
of binlogs, a binlog index); `changes` holds their changes one log after
the other. The log is streamed, never loaded: memory is what the query
keeps (its groups, its sorted rows). SQL is DataFusion's dialect (close to
PostgreSQL's; date_trunc, date_bin, regexp_*, string functions).

Examples:
  # which transactions touched orders between 10:00 and 10:05
  replog query \"SELECT DISTINCT txid, position FROM changes
    WHERE table_name = 'orders'
      AND commit_time >= '2024-05-01T10:00:00Z' AND commit_time < '2024-05-01T10:05:00Z'
    ORDER BY txid\" mysql-bin.000042

  # rows per table per minute
  replog query \"SELECT table_name, date_trunc('minute', commit_time) AS minute, count(*) AS n
    FROM changes GROUP BY 1, 2 ORDER BY 2, 1\" binlogs/

  # largest transactions
  replog query --format ndjson \"SELECT txid, count(*) AS changes FROM changes
    GROUP BY txid ORDER BY changes DESC, txid LIMIT 10\" /tmp/dml/logical

Output: --format table (default) prints an aligned table; json one
document {\"columns\": [...], \"rows\": [{...}]}; ndjson one object per row.
Numbers and booleans are JSON numbers and booleans, NULL is null, anything
else (timestamps as YYYY-MM-DDTHH:MM:SS[.ffffff]Z) is text.

Exit status:
  0  the query ran over the whole log
  1  the log is damaged: by default nothing is printed; with --recovery
     stop-at-first or tolerate-tail, damage the policy accepts ends the
     log, the query answers over its valid prefix and the damage is
     named on standard error
  2  usage or I/O error, or the query is not valid SQL";

/// Arguments of `replog query`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The SQL query, over the table `changes`.
    #[arg(value_name = "SQL")]
    pub sql: String,
    /// The log read, and which damage ends it without an error.
    #[command(flatten)]
    pub log: crate::cmd::common::ReadLog,
    /// Output format.
    #[command(flatten)]
    pub output: crate::cmd::common::Output,
}

/// The log of `input` as `replog_columnar` reads it: opened afresh (with
/// `policy`) on the thread of each scan.
pub fn log_spec(
    input: &crate::cmd::common::Input,
    policy: replog_core::recovery::RecoveryPolicy,
) -> Result<LogSpec> {
    let inputs = input.resolve_source()?;
    inputs.require_transactions("query")?;
    let files = inputs
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let inputs = Arc::new(Mutex::new(inputs));
    let open = move || -> replog_columnar::Result<Box<dyn replog_core::txn::TxnSource>> {
        let input = inputs
            .lock()
            .map_err(|_| replog_columnar::Error::Content("the log's inputs are poisoned".into()))?
            .txn_input()
            .map_err(|e| replog_columnar::Error::Content(crate::error_text(&e)))?;
        Ok(input.open(ReaderOptions {
            policy,
            continue_after_damage: false,
            buffer_size: 0,
        })?)
    };
    Ok(LogSpec {
        open: Arc::new(open),
        files,
    })
}

/// The logs of `replog query`: each LOG argument a log of its own.
pub fn query_logs(
    input: &crate::cmd::common::Input,
    policy: replog_core::recovery::RecoveryPolicy,
) -> Result<QueryLog> {
    let logs = input
        .paths
        .iter()
        .map(|p| {
            let one = crate::cmd::common::Input {
                paths: vec![p.clone()],
                ..input.clone()
            };
            log_spec(&one, policy)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(QueryLog {
        logs,
        stack_size: replog_store::deep::STATEMENT_STACK,
        batch_rows: 8192,
    })
}

/// Runs `replog query`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let log = query_logs(&args.log.input, args.log.recovery.into())?;
    let result = match query(&args.sql, log) {
        Ok(r) => r,
        Err(e) if e.is_damage() => {
            eprintln!(
                "replog query: the query stopped at damage in the log, nothing printed \
                 (--recovery answers over the valid prefix): {e}"
            );
            return Ok(Verdict::Found);
        }
        Err(e) => return Err(anyhow::Error::new(e)),
    };
    write_result(&result, args.output.format, out)?;
    for d in &result.tolerated_damage {
        eprintln!("replog: the log ends at damage, queried up to it: {d}");
    }
    Ok(Verdict::clean_if(result.tolerated_damage.is_empty()))
}

/// Prints a query's rows in `format`.
pub fn write_result(r: &QueryResult, format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    let names: Vec<&str> = r
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    match format {
        OutputFormat::Table => {
            let mut t = table(&names);
            for b in &r.batches {
                for row in 0..b.num_rows() {
                    let cells = b
                        .columns()
                        .iter()
                        .map(|c| cell_text(c, row))
                        .collect::<replog_columnar::Result<Vec<String>>>()?;
                    t.add_row(cells);
                }
            }
            writeln!(out, "{t}")?;
        }
        OutputFormat::Json | OutputFormat::Ndjson => {
            // Objects written by hand: keys in the query's column order.
            let ndjson = format == OutputFormat::Ndjson;
            if !ndjson {
                out.write_all(b"{\"columns\": ")?;
                serde_json::to_writer(&mut *out, &names)?;
                out.write_all(b",\n \"rows\": [")?;
            }
            let mut first = true;
            for b in &r.batches {
                for row in 0..b.num_rows() {
                    if !ndjson {
                        out.write_all(if first { b"\n  " } else { b",\n  " })?;
                    }
                    first = false;
                    out.write_all(b"{")?;
                    for (i, (name, c)) in names.iter().zip(b.columns()).enumerate() {
                        if i > 0 {
                            out.write_all(b", ")?;
                        }
                        serde_json::to_writer(&mut *out, name)?;
                        out.write_all(b": ")?;
                        serde_json::to_writer(&mut *out, &json_value(c, row)?)?;
                    }
                    out.write_all(if ndjson { b"}\n" } else { b"}" })?;
                }
            }
            if !ndjson {
                out.write_all(b"\n]}\n")?;
            }
        }
    }
    Ok(())
}
