//! `replog determinism`: which statements of a statement log (or a MySQL /
//! MariaDB binlog in statement or mixed format) may replay differently on a
//! follower, and why (static analysis), and which actually do when the log
//! is replayed on perturbed replicas (dynamic measurement). Logical and
//! physical logs are checked to replay identically on every replica.

use crate::Verdict;
use crate::input::Detected;
use crate::output::{OutputFormat, ndjson};
use anyhow::{Context, Result, bail};
use replog_core::LogKind;
use replog_determinism::{DEFAULT_SEED, DynamicOptions, LogSource, Report};
use std::io::Write;

const HELP: &str = "\
Static analysis: each statement that is unsafe for statement-based
replication is flagged with its reasons, named after MySQL's categories
(UNSAFE_SYSTEM_FUNCTION, UNSAFE_LIMIT, UNSAFE_WRITE_AUTOINC_SELECT,
UNSAFE_INSERT_TWO_KEYS, ...) or replog's own (REPLOG_FLOAT_TO_EXACT), with
the context the log captured for it (timestamp, RAND seeds, insert ids, user
variables). A statement that needs context the log did not capture
(NEEDS_TIMESTAMP, NEEDS_RAND_SEED, ...) is unsafe too.

Dynamic measurement (unless --static): the log is replayed on --replicas
reference stores in parallel, each with its own environment: replica 0 is
an ordinary follower (primary-key visit order, the default clock); the
others have their clocks offset (up to a day) and drifting, their own
random seeds and UUID sequences, and visit unordered rows in reverse or
shuffled order. After every transaction each table's digest change is
compared; where replicas disagree, the statement, the table, the primary
keys of the differing rows and each replica's row are reported. A
statement that diverges but was not flagged is reported loudly as a bug.
Everything is reproducible from the printed --seed.

--skip-unsupported passes over the statements about stored routines,
triggers, events and views, which the store does not run (counted in the
report), instead of failing their transactions on every replica.

--ignore-context replays as if the log carried no timestamps, RAND seeds,
insert ids, LAST_INSERT_ID, user variables or thread ids (each replica
takes them from its own clock, random source and session; the static
analysis is made without them too). --compare-context runs both and shows
them side by side: how much divergence the captured context prevents.

A logical log or a physical WAL is replayed on every replica and must
reach the same digests (per COMMIT and at the end); any difference is a
defect of replog.

Examples:
  replog determinism fixtures/native/statement/sample.replog
  replog determinism fixtures/mariadb/out/unsafe/statement/mariadb-bin.00000*
  replog determinism --compare-context --replicas 7 --seed 42 mysql-bin.000042
  replog determinism --static --format json mysql-bin.000042 | jq .summary
  replog determinism --skip-unsupported mariadb-bin.000001
  replog determinism --format json fixtures/native/logical/sample.replog

Exit status:
  0  no divergence (with --static: no unsafe statement; logical and
     physical logs: every replica identical)
  1  the replicas diverged (with --compare-context: in the run with the
     log's context), or transactions failed on every replica (they were
     not measured), or with --static an unsafe statement was found, or a
     logical/physical log did not replay identically
  2  usage or I/O error";

/// Arguments of `replog determinism`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The log read: a native statement, logical or physical log, or
    /// binlogs.
    #[command(flatten)]
    pub input: crate::cmd::common::Input,
    /// Output format of the report.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
    /// Only the static analysis; no replay.
    #[arg(long = "static", conflicts_with_all = ["ignore_context", "compare_context"])]
    pub static_only: bool,
    /// Number of replicas of the dynamic measurement.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub replicas: u64,
    /// Seed of the replicas' environments (default: a fixed seed, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replay (and analyze) as if the log carried no context.
    #[arg(long, conflicts_with = "compare_context")]
    pub ignore_context: bool,
    /// Replay with and without the log's context and show both.
    #[arg(long)]
    pub compare_context: bool,
    /// Pass over statements about stored routines, triggers, events and
    /// views (which the store does not run), counted, instead of failing
    /// their transactions.
    #[arg(long)]
    pub skip_unsupported: bool,
}

/// Runs `replog determinism`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let inputs = args.input.resolve()?;
    if inputs.detected == Detected::Unknown {
        // Neither magic: an empty file, a text file, random bytes.
        bail!(
            "{}: neither a replog log nor a MySQL/MariaDB binlog (no replog segment magic or binlog magic at offset 0)",
            inputs.files[0].display()
        );
    }
    inputs.require_files("determinism", "replays the log once per replica")?;
    let files = inputs.files.clone();
    let seed = args.seed.unwrap_or(DEFAULT_SEED);
    let replicas = usize::try_from(args.replicas).unwrap_or(5);
    if inputs.detected != Detected::Binlog
        && let Some(kind @ (LogKind::Logical | LogKind::Physical)) = inputs.kind
    {
        let check = if kind == LogKind::Logical {
            replog_determinism::verify_logical(&files, replicas, seed)?
        } else {
            replog_determinism::verify_physical(&files, replicas, seed)?
        };
        match args.report.format {
            OutputFormat::Table => {
                let mut buf = Vec::new();
                replog_determinism::render_identity(&check, &mut buf)?;
                out.write_all(&buf)?;
            }
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut *out, &check)?;
                writeln!(out)?;
            }
            OutputFormat::Ndjson => {
                for r in &check.results {
                    ndjson(out, r)?;
                }
                ndjson(out, &serde_json::json!({ "defects": &check.defects }))?;
            }
        }
        return Ok(Verdict::clean_if(check.clean()));
    }
    let source = if inputs.detected == Detected::Binlog {
        LogSource::Binlog
    } else {
        LogSource::StatementLog
    };
    let opts = DynamicOptions {
        replicas,
        seed,
        ignore_context: args.ignore_context,
        skip_unsupported: args.skip_unsupported,
    };
    // The static analysis runs meanwhile the replicas replay: the replay
    // needs its report only to be joined to it.
    let (report, raw) = std::thread::scope(|s| -> Result<_> {
        let analysis = replog_store::deep::thread_builder("analysis")
            .spawn_scoped(s, || replog_determinism::analyze_paths(&files))
            .context("starting the analysis thread")?;
        let raw = if args.static_only {
            None
        } else {
            // On a terminal: how many transactions the replicas agreed on.
            let mut progress = crate::output::Progress::counting("transactions compared");
            let run =
                replog_determinism::replay_on_replicas_reporting(&files, source, &opts, &mut |n| {
                    progress.update(n)
                });
            progress.finish();
            Some(run)
        };
        let report = analysis
            .join()
            .map_err(|_| anyhow::anyhow!("the static analysis panicked"))??;
        Ok((report, raw.transpose()?))
    })?;
    let mut report = if args.ignore_context {
        report.without_context()
    } else {
        report
    };
    if let Some(raw) = raw {
        let run = raw.finish(&report);
        if args.compare_context {
            let bare = report.without_context();
            let opts = DynamicOptions {
                ignore_context: true,
                ..opts
            };
            let without = replog_determinism::run_dynamic(&files, &bare, &opts)?;
            report.attach_dynamic(without, true);
        }
        report.attach_dynamic(run, false);
    }
    write_report(&report, args.report.format, out)?;
    if args.report.format == OutputFormat::Table
        && let Some(d) = &report.dynamic
    {
        crate::cmd::common::print_counted(
            out,
            crate::cmd::common::SKIPPED_UNSUPPORTED,
            &d.summary.unsupported_skipped,
        )?;
    }
    let found = if args.static_only {
        report.summary.unsafe_statements > 0
    } else {
        // A transaction that failed on every replica was not measured.
        report.diverged()
            || report
                .dynamic
                .as_ref()
                .is_some_and(|d| d.summary.transactions_failed > 0)
    };
    Ok(Verdict::clean_if(!found))
}

fn write_report(report: &Report, format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    match format {
        OutputFormat::Table => {
            let mut buf = Vec::new();
            replog_determinism::render_table(report, &mut buf)?;
            out.write_all(&buf)?;
        }
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, report)?;
            writeln!(out)?;
        }
        OutputFormat::Ndjson => {
            for s in &report.statements {
                ndjson(out, s)?;
            }
            for run in report.dynamic.iter().chain(&report.without_context) {
                for d in &run.divergences {
                    ndjson(
                        out,
                        &serde_json::json!({
                            "divergence": d,
                            "ignore_context": run.summary.ignore_context,
                        }),
                    )?;
                }
            }
            ndjson(
                out,
                &serde_json::json!({
                    "summary": &report.summary,
                    "dynamic": report.dynamic.as_ref().map(|r| &r.summary),
                    "without_context": report.without_context.as_ref().map(|r| &r.summary),
                }),
            )?;
        }
    }
    Ok(())
}
