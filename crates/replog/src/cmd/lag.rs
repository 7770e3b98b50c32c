//! `replog lag`: how far a follower store stands behind the binlogs it
//! follows (files, or a server read as a replica), in transactions, bytes
//! of binlog and seconds of commit time.

use crate::Verdict;
use crate::output::{OutputFormat, json_doc};
use anyhow::{Result, bail};
use replog_binlog::files::Feed;
use replog_follower::{open_store, read_page_store};
use replog_import::{ImportOptions, Importer};
use replog_store::snapshot;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

const HELP: &str = "\
Examples:
  replog lag --store follower/ binlogs/mariadb-bin.index
  replog lag --store follower/ 'mysql://repl@127.0.0.1:3306?server-id=99&file=mariadb-bin.000001'
  replog lag --store follower/ --format json binlogs/
  replog lag --store follower/ --watch=2 binlogs/       # a line every 2 s

The leader's binlogs are read from their first file to their end (a
server's: to its current end), without applying anything; the store's
last applied transaction (its txid, as `replay --store` numbers the
binlogs' transactions) is found among them. Behind it:
  transactions  the transactions the leader committed after it,
  bytes         the binlog bytes written after it, up to the end of the
                leader's last transaction,
  seconds       the leader's last commit time minus its commit time.
A store that follows these binlogs must have been started from their first
file (as `replay --store` does).

With --watch, the measurement is made again every SECONDS (default 1; at
least as long as one measurement took, so a large binlog does not keep a
core busy) and printed as one line (one JSON object per line with
--format ndjson) until SIGINT or SIGTERM, which end it with status 0. Each
measurement reads the binlogs and the store's position anew: a follower
running meanwhile (`replay --follow --store`) is seen moving.

Exit status:
  0  the store is not behind
  1  the store is behind
  2  usage or I/O error";

/// Arguments of `replog lag`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The follower store (`replog replay --store DIR`).
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// The leader's binlogs: files, a directory, an index, or a server URL.
    #[command(flatten)]
    pub input: crate::cmd::common::Input,
    /// Output format.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
    /// Measure again every SECONDS (`--watch=2`; default 1) until SIGINT/SIGTERM, a line
    /// each.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, require_equals = true, default_missing_value = "1")]
    pub watch: Option<f64>,
}

/// A transaction of the leader's binlogs.
#[derive(Debug, Clone, Default)]
struct At {
    txid: u64,
    position: String,
    commit_us: i64,
}

impl At {
    fn json(&self) -> serde_json::Value {
        json!({
            "txid": self.txid,
            "position": self.position,
            "commit_time_us": self.commit_us,
        })
    }
}

/// What `replog lag` found.
#[derive(Debug, Default)]
struct Lag {
    follower: Option<At>,
    leader: Option<At>,
    transactions: u64,
    bytes: u64,
}

impl Lag {
    fn seconds(&self) -> f64 {
        match (&self.follower, &self.leader) {
            (_, None) => 0.0,
            (Some(f), Some(l)) if self.transactions > 0 => {
                (l.commit_us - f.commit_us).max(0) as f64 / 1e6
            }
            _ => 0.0,
        }
    }
}

/// Reads the leader's binlogs and measures how far `last_txid` stands
/// behind their end.
fn measure(feed: Box<dyn Feed>, last_txid: u64) -> Result<Lag> {
    let mut imp = Importer::from_feed(
        feed,
        &ImportOptions {
            decode_rows: false,
            ..ImportOptions::default()
        },
    );
    let mut lag = Lag::default();
    let mut behind = last_txid == 0;
    let mut at = imp.position();
    // Bytes read since the follower's transaction; what counts is up to
    // the end of the leader's last transaction (a ROTATE or STOP event
    // after it is no transaction the follower lacks).
    let mut read = 0u64;
    while let Some(step) = imp.read_event() {
        step.map_err(anyhow::Error::new)?;
        let now = imp.position();
        if behind && now != at && now.1 != 0 {
            // Bytes read: within a file, or from the start of the next.
            read += if now.0 == at.0 {
                now.1.saturating_sub(at.1)
            } else {
                now.1
            };
        }
        at = now;
        while let Some(tx) = imp.take_transaction() {
            let here = At {
                txid: tx.txid,
                position: tx.origin(),
                commit_us: tx.commit_timestamp_us,
            };
            if tx.txid <= last_txid {
                behind = tx.txid == last_txid || behind;
                lag.follower = Some(here);
            } else {
                lag.transactions += 1;
                lag.leader = Some(here);
                lag.bytes = read;
            }
        }
    }
    if last_txid > 0 && lag.follower.as_ref().map(|f| f.txid) != Some(last_txid) {
        bail!(
            "the store's last transaction (txid {last_txid}) is not in these binlogs: \
             does the store follow them, from their first file?"
        );
    }
    Ok(lag)
}

/// Measures once: the store's position now, against the binlogs as they
/// are now.
fn measure_now(args: &Args) -> Result<Lag> {
    let dir = &args.store;
    crate::cmd::common::require_store(dir)?;
    let position = if snapshot::path_in(dir).is_file() {
        open_store(Some(dir))?.1
    } else {
        read_page_store(dir)?.position
    };
    let feed: Box<dyn Feed> = match args.input.server()? {
        Some((src, password)) => Box::new(replog_mysqlrepl::feed::Dump::new(src, password, false)),
        None => {
            let inputs = args.input.resolve()?;
            if inputs.detected != crate::input::Detected::Binlog {
                bail!(
                    "{}: `replog lag` measures against MySQL/MariaDB binlogs (files or a server)",
                    inputs.name(0)
                );
            }
            match inputs.stdin_binlog() {
                Some(stdin) => (stdin.open)(),
                None => Box::new(replog_binlog::files::Files::new(&inputs.files, None)),
            }
        }
    };
    measure(feed, position.last_txid)
}

/// Runs `replog lag`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    if let Some(every) = args.watch {
        return watch(args, every, out);
    }
    let lag = measure_now(args)?;
    let seconds = lag.seconds();
    match args.report.format {
        OutputFormat::Table => {
            match &lag.follower {
                Some(f) => writeln!(
                    out,
                    "follower: txid {} at {}, committed {}",
                    f.txid,
                    f.position,
                    time(f.commit_us)
                )?,
                None => writeln!(out, "follower: nothing applied yet")?,
            }
            match &lag.leader {
                Some(l) => writeln!(
                    out,
                    "leader:   txid {} at {}, committed {}",
                    l.txid,
                    l.position,
                    time(l.commit_us)
                )?,
                None => writeln!(out, "leader:   no transaction after the follower's")?,
            }
            writeln!(
                out,
                "behind:   {} transaction(s), {} byte(s), {seconds:.3} s",
                lag.transactions, lag.bytes
            )?;
        }
        OutputFormat::Json | OutputFormat::Ndjson => {
            let v = json!({
                "follower": lag.follower.as_ref().map(At::json),
                "leader": lag.leader.as_ref().map(At::json),
                "transactions": lag.transactions,
                "bytes": lag.bytes,
                "seconds": seconds,
            });
            json_doc(out, args.report.format, &v)?;
        }
    }
    Ok(Verdict::clean_if(lag.transactions == 0))
}

/// `--watch`: a measurement every `every` seconds, a line each, until a
/// stop is requested (SIGINT/SIGTERM).
fn watch(args: &Args, every: f64, out: &mut dyn Write) -> Result<Verdict> {
    if !(every.is_finite() && (0.01..=86_400.0).contains(&every)) {
        bail!("--watch {every}: give the seconds between two measurements, from 0.01 to 86400");
    }
    if args.report.format == OutputFormat::Json {
        bail!("--watch prints a line per measurement: use --format table or ndjson");
    }
    if args.input.paths.iter().any(|p| p == "-") {
        bail!(
            "{}: --watch reads the binlogs again for every measurement; standard input is read once: give the files",
            crate::input::STDIN_NAME
        );
    }
    replog_core::follow::start();
    let every = std::time::Duration::from_secs_f64(every);
    while !replog_core::follow::stop_requested() {
        let began = std::time::Instant::now();
        let lag = measure_now(args)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        match args.report.format {
            OutputFormat::Ndjson => {
                let v = json!({
                    "time_us": now,
                    "follower_txid": lag.follower.as_ref().map(|f| f.txid),
                    "leader_txid": lag.leader.as_ref().map(|l| l.txid),
                    "transactions": lag.transactions,
                    "bytes": lag.bytes,
                    "seconds": lag.seconds(),
                });
                writeln!(out, "{v}")?;
            }
            _ => writeln!(
                out,
                "{}  follower txid {}  behind: {} transaction(s), {} byte(s), {:.3} s",
                time(now),
                lag.follower.as_ref().map_or(0, |f| f.txid),
                lag.transactions,
                lag.bytes,
                lag.seconds()
            )?,
        }
        out.flush()?;
        // Wait at least as long as the measurement took.
        let wait = every.max(began.elapsed());
        let until = std::time::Instant::now() + wait;
        while !replog_core::follow::stop_requested() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    Ok(Verdict::Clean)
}

fn time(us: i64) -> String {
    let mut s = String::new();
    let _ = replog_core::value::format_timestamp(us, &mut s);
    s
}
