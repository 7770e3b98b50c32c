//! `replog diff`: compare two logs record by record.

use crate::Outcome;
use crate::cmd::common::RecoveryArg;
use crate::input::Inputs;
use crate::output::{JsonArray, OutputFormat, TableSink, ndjson};
use anyhow::{Result, bail};
use replog_convert::diff::{DiffOptions, DiffSummary, Divergence, RecordSide, TxDiff, diff};
use serde_json::json;
use std::io::Write;

const HELP: &str = "\
Examples:
  replog diff leader/logical follower/logical
  replog diff a.replog b.replog --format json
  replog diff a.replog b.replog --format ndjson | jq 'select(.status)'

Committed transactions are aligned by txid (and, where txids stop
ascending, by position) and compared record by record: every record has
one encoding, so equal bytes are equal records. Printed: the first
divergent record on both sides (with the columns that differ, for logical
row records), every transaction that differs or is on one side only, and
counts of transactions only in A, only in B, different and the same.
Uncommitted tails are not compared. Both logs are streamed; memory is
bounded by the largest transaction.

Exit status:
  0  the logs hold the same committed transactions
  1  they differ
  2  usage or I/O error, damaged input, logs of different formats";

/// Arguments of `replog diff`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// First log: a file or a directory of segments.
    #[arg(value_name = "A")]
    pub a: String,
    /// Second log.
    #[arg(value_name = "B")]
    pub b: String,
    /// Which damage ends a log without an error.
    #[arg(long, value_enum, default_value = "strict")]
    pub recovery: RecoveryArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

fn side(s: &Option<RecordSide>) -> String {
    match s {
        None => "(none)".into(),
        Some(r) => {
            let mut t = format!("LSN {} (offset {}) {}", r.lsn, r.offset, r.type_name);
            if let Some(tb) = &r.table {
                t.push(' ');
                t.push_str(tb);
            }
            t.push_str(": ");
            t.push_str(&r.detail);
            t
        }
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn print_divergence(out: &mut dyn Write, d: &Divergence) -> std::io::Result<()> {
    writeln!(
        out,
        "first divergence: transaction {} / {}, record {}",
        d.txid_a.map_or("-".into(), |t| t.to_string()),
        d.txid_b.map_or("-".into(), |t| t.to_string()),
        d.index
    )?;
    writeln!(out, "  A: {}", side(&d.a))?;
    writeln!(out, "  B: {}", side(&d.b))?;
    for c in &d.columns {
        writeln!(out, "  column {}: A {} | B {}", c.column, c.a, c.b)?;
    }
    writeln!(out)
}

/// Runs `replog diff`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Outcome> {
    let ia = Inputs::resolve_native(std::slice::from_ref(&args.a))?;
    let ib = Inputs::resolve_native(std::slice::from_ref(&args.b))?;
    ia.require_native("diff")?;
    ib.require_native("diff")?;
    if let (Some(ka), Some(kb)) = (ia.kind, ib.kind)
        && ka != kb
    {
        bail!("A is a {ka} log and B a {kb} log; diff compares logs of one format");
    }
    let opts = DiffOptions {
        policy: args.recovery.into(),
    };
    let summary: DiffSummary;
    match args.format {
        OutputFormat::Table => {
            let mut sink = TableSink::new(
                vec!["STATUS", "TXID A", "TXID B", "LSN A", "LSN B", "RECORD"],
                &[1, 2, 3, 4, 5],
            );
            summary = diff(
                ia.segments()?,
                ib.segments()?,
                &opts,
                &mut |t: &TxDiff, d| {
                    if let Some(d) = d {
                        print_divergence(out, d)?;
                    }
                    let row = vec![
                        t.status.name().to_string(),
                        opt(t.txid_a),
                        opt(t.txid_b),
                        opt(t.lsn_a),
                        opt(t.lsn_b),
                        opt(t.record),
                    ];
                    sink.push(out, row)?;
                    Ok(())
                },
            )?;
            sink.flush(out)?;
            let mut t = crate::output::table(&["", "TRANSACTIONS"]);
            t.add_row(vec!["only in A".to_string(), summary.only_a.to_string()]);
            t.add_row(vec!["only in B".to_string(), summary.only_b.to_string()]);
            t.add_row(vec!["different".to_string(), summary.different.to_string()]);
            t.add_row(vec!["same".to_string(), summary.same.to_string()]);
            if summary.different + summary.only_a + summary.only_b > 0 {
                writeln!(out)?;
            }
            writeln!(out, "{t}")?;
            if summary.positional {
                writeln!(
                    out,
                    "txids do not ascend: transactions were aligned by position"
                )?;
            }
            for (l, u) in [("A", summary.uncommitted_a), ("B", summary.uncommitted_b)] {
                if let Some(t) = u {
                    writeln!(
                        out,
                        "uncommitted tail in {l}: transaction {t} (not compared)"
                    )?;
                }
            }
            writeln!(
                out,
                "result: {}",
                if summary.identical() {
                    "SAME"
                } else {
                    "DIFFERENT"
                }
            )?;
        }
        OutputFormat::Json => {
            out.write_all(b"{\"transactions\": ")?;
            let mut arr = JsonArray::default();
            summary = diff(ia.segments()?, ib.segments()?, &opts, &mut |t, _| {
                arr.push(out, t)?;
                Ok(())
            })?;
            arr.finish(out)?;
            out.write_all(b", \"summary\": ")?;
            serde_json::to_writer_pretty(&mut *out, &summary)?;
            writeln!(out, ", \"identical\": {}}}", summary.identical())?;
        }
        OutputFormat::Ndjson => {
            summary = diff(ia.segments()?, ib.segments()?, &opts, &mut |t, _| {
                ndjson(out, t)?;
                Ok(())
            })?;
            ndjson(
                out,
                &json!({ "summary": &summary, "identical": summary.identical() }),
            )?;
        }
    }
    Ok(if summary.identical() {
        Outcome::Clean
    } else {
        Outcome::Found
    })
}
