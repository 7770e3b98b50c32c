//! PostgreSQL servers as inputs: `replog inspect URL`, `replog replay URL
//! --store DIR` (logical streaming from a slot with pgoutput) and `replog
//! receive-wal URL -D DIR` (physical streaming into WAL segments). The
//! protocol is `replog_pgrepl`'s; the decoding is `replog_pglogical`'s, as
//! for capture files.

use crate::Verdict;
use crate::output::{JsonArray, OutputFormat, TableSink, json_doc, ndjson};
use anyhow::{Context, Result, bail};
use replog_core::Format;
use replog_core::record::{RecordView, TableRef};
use replog_core::txn::{TxnEvent, TxnSource};
use replog_logical::LogicalFormat;
use replog_pgrepl::copy::lsn_text;
use replog_pgrepl::logical::{LogicalOptions, LogicalStream, Session};
use replog_pgrepl::physical::{ReceiveOptions, receive_wal};
use replog_pgrepl::url::{Password, PgUrl, is_pg_url};
use replog_store::replay::{ReplayOptions, ReplayReport, replay_source};
use replog_store::snapshot::AppliedPosition;
use replog_store::storage::Storage;
use replog_store::{Environment, Store};
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// The server URL given as the one input, if it is one.
pub fn server_url(input: &crate::cmd::common::Input) -> Result<Option<PgUrl>> {
    match input.paths.as_slice() {
        [p] if is_pg_url(p) => Ok(Some(PgUrl::parse(p)?)),
        ps if ps.iter().any(|p| is_pg_url(p)) => {
            bail!("a PostgreSQL server URL is read alone, not with other inputs")
        }
        _ => Ok(None),
    }
}

/// Where the password comes from (`--password-file`, else the
/// environment).
pub fn password(input: &crate::cmd::common::Input) -> Password {
    match &input.password_file {
        Some(f) => Password::File(f.clone()),
        None => Password::Environment,
    }
}

/// `replog inspect URL`: the stream's transactions, record by record, as
/// they arrive. Inspecting confirms nothing: the slot keeps what was read.
pub fn inspect(
    args: &crate::cmd::inspect::Args,
    url: &PgUrl,
    follow: bool,
    out: &mut dyn Write,
) -> Result<Verdict> {
    if args.stats || args.hex {
        bail!("--stats and --hex read files; a server stream is listed record by record");
    }
    // Inspecting confirms nothing: the slot keeps what was read.
    let opts = LogicalOptions {
        follow,
        ..LogicalOptions::default()
    };
    let stream = LogicalStream::start(url, &password(&args.log.input), &opts)?;
    let id = stream.identity().to_string();
    let mut src = replog_pglogical::stream_source(stream, &id);
    if let Some(l) = args.log.input.spill_limit {
        src.producer_mut().set_spill_limit(l);
    }
    #[derive(serde::Serialize)]
    struct Row<'a> {
        lsn: String,
        xid: u64,
        #[serde(rename = "type")]
        type_name: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        table: Option<&'a str>,
        record: &'a <LogicalFormat as Format>::Record<'a>,
    }
    let mut table = TableSink::new(vec!["LSN", "XID", "TYPE", "TABLE", "DETAIL"], &[1]);
    let mut json = JsonArray::default();
    let mut names: HashMap<u64, String> = HashMap::new();
    let limit = args.limit.unwrap_or(u64::MAX);
    let mut printed = 0u64;
    'txns: while let Some(ev) = src.next() {
        let TxnEvent::Transaction(tx) = ev.map_err(anyhow::Error::new)? else {
            continue;
        };
        let xid = tx.txid();
        for r in tx.records() {
            let rec = LogicalFormat::decode(r.body, r.body_offset())?;
            if let Some((id, name)) = rec.defines_table() {
                names.insert(id, name);
            }
            let t = match rec.table() {
                Some(TableRef::Name(n)) => Some(n),
                Some(TableRef::Id(id)) => names.get(&id).map(String::as_str),
                None => None,
            };
            let row = Row {
                lsn: lsn_text(r.lsn),
                xid,
                type_name: rec.type_name(),
                table: t,
                record: &rec,
            };
            match args.report.format {
                OutputFormat::Table => table.push(
                    out,
                    vec![
                        row.lsn.clone(),
                        xid.to_string(),
                        row.type_name.to_string(),
                        t.unwrap_or("").to_string(),
                        rec.summary(),
                    ],
                )?,
                OutputFormat::Json => json.push(out, &row)?,
                OutputFormat::Ndjson => ndjson(out, &row)?,
            }
            printed += 1;
            if printed >= limit {
                break 'txns;
            }
        }
        if follow {
            if args.report.format == OutputFormat::Table {
                table.flush(out)?;
            }
            out.flush()?;
        }
    }
    match args.report.format {
        OutputFormat::Table => table.flush(out)?,
        OutputFormat::Json => json.finish(out)?,
        OutputFormat::Ndjson => {}
    }
    let feed = src.producer().feed();
    eprintln!(
        "replog: {}: read to LSN {} ({} transactions; nothing confirmed to the slot)",
        url,
        lsn_text(feed.server_lsn()),
        src.producer().counts().committed
    );
    Ok(Verdict::Clean)
}

/// `replog replay URL --store DIR`: applies the stream's transactions to
/// `store`, which stands at `start`. Streaming starts from the store's
/// position when it follows this slot (transactions it holds are not sent
/// again); each transaction is confirmed to the server only once the
/// store has committed it (with its position).
pub fn replay<S: Storage, E: Environment>(
    url: &PgUrl,
    input: &crate::cmd::common::Input,
    follow: bool,
    store: &mut Store<S, E>,
    start: AppliedPosition,
    opts: &ReplayOptions,
) -> Result<ReplayReport> {
    // The log identity needs the server's system identifier: connect,
    // then decide where to start.
    let mut session = Session::connect(url, &password(input))?;
    let identity = session.identity();
    let log_id = replog_pglogical::stream::stream_log_id(&identity);
    let from = if start.kind.is_some() {
        if start.log_id != log_id {
            bail!(
                "the store follows another log (log id {}), not {url} ({identity})",
                replog_core::segment::hex(&start.log_id),
            );
        }
        if let Some(confirmed) = session.confirmed_flush()?
            && confirmed > start.applied_lsn
        {
            bail!(
                "slot {} has confirmed LSN {}, past the store's position {}: the transactions between were consumed elsewhere and cannot be streamed again",
                url.slot.as_deref().unwrap_or(""),
                lsn_text(confirmed),
                lsn_text(start.applied_lsn)
            );
        }
        start.applied_lsn
    } else {
        0
    };
    let stream = session.stream(&LogicalOptions {
        start: from,
        follow,
        confirm: true,
        ..LogicalOptions::default()
    })?;
    let mut src = replog_pglogical::stream_source(stream, &identity);
    if let Some(l) = input.spill_limit {
        src.producer_mut().set_spill_limit(l);
    }
    let report = replay_source(store, start, &mut src, opts).map_err(anyhow::Error::new)?;
    Ok(report)
}

/// Arguments of `replog receive-wal`.
#[derive(Debug, clap::Args)]
#[command(after_help = RECEIVE_HELP)]
pub struct ReceiveArgs {
    /// The server: postgres://USER@HOST:PORT/DBNAME[?slot=PHYSICAL_SLOT].
    #[arg(value_name = "URL")]
    pub url: String,
    /// Directory the segments are written to (created if needed).
    #[arg(short = 'D', long = "directory", value_name = "DIR")]
    pub dir: PathBuf,
    /// A file whose first line is the password (else PGPASSWORD or
    /// ~/.pgpass).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Keep streaming after the server's WAL end at the start, until
    /// SIGINT or SIGTERM (what was received is then synced).
    #[arg(long)]
    pub follow: bool,
    /// Where to start (an LSN, X/Y) when DIR holds no segment of the
    /// server's timeline: the start of the segment holding it (default:
    /// the server's current WAL end).
    #[arg(long, value_name = "LSN", value_parser = parse_lsn_arg)]
    pub start: Option<u64>,
    /// Output format of the summary.
    #[command(flatten)]
    pub report: crate::cmd::common::Output,
}

const RECEIVE_HELP: &str = "\
Examples:
  PGPASSWORD=... replog receive-wal postgres://rep@127.0.0.1:5432/postgres -D wal/
  replog receive-wal 'postgres://rep@127.0.0.1/postgres?slot=archive' -D wal/ --follow
  replog verify wal/                   # the segments received

Streams WAL with START_REPLICATION PHYSICAL and writes it as pg_receivewal
does: the segment being received is NAME.partial (already the full segment
size, zeros after what has arrived); once complete it is synced and renamed
to NAME. A directory that already holds segments of the server's timeline
is continued: from the start of its .partial segment, else after its last
complete one; an empty directory starts at the segment holding --start, else
the server's current WAL end. Without --follow, streaming stops once the server's WAL end
as it was at the start has been received and synced (the segment holding it
stays .partial). The password comes from PGPASSWORD, --password-file or
~/.pgpass, never from the command line.

Exit status:
  0  the WAL up to the stop position was received and synced
  2  usage, connection, server or I/O error (the LSN reached is named)";

fn parse_lsn_arg(s: &str) -> Result<u64, String> {
    replog_pgrepl::copy::parse_lsn(s)
        .ok_or_else(|| format!("{s:?} is not an LSN (X/Y, hexadecimal)"))
}

/// Runs `replog receive-wal`.
pub fn receive(args: &ReceiveArgs, out: &mut dyn Write) -> Result<Verdict> {
    let url = PgUrl::parse(&args.url)?;
    let password = match &args.password_file {
        Some(f) => Password::File(f.clone()),
        None => Password::Environment,
    };
    if args.follow {
        // SIGINT and SIGTERM then stop streaming (what was received is
        // synced) instead of ending the process.
        replog_core::follow::start();
    }
    let opts = ReceiveOptions {
        dir: args.dir.clone(),
        follow: args.follow,
        start: args.start,
        status_interval: Duration::from_secs(10),
    };
    let r =
        receive_wal(&url, &password, &opts).with_context(|| format!("receiving WAL from {url}"))?;
    let v = json!({
        "server": url.to_string(),
        "system_id": r.system.as_ref().map(|s| s.system_id.clone()),
        "timeline": r.system.as_ref().map(|s| s.timeline),
        "segment_size": r.segment_size,
        "start_lsn": lsn_text(r.start),
        "end_lsn": lsn_text(r.end),
        "completed": r.completed,
        "partial": r.partial,
    });
    match args.report.format {
        OutputFormat::Table => {
            writeln!(
                out,
                "received WAL {} .. {} into {} ({} segments completed{})",
                lsn_text(r.start),
                lsn_text(r.end),
                args.dir.display(),
                r.completed.len(),
                r.partial
                    .as_deref()
                    .map(|p| format!(", {p} open"))
                    .unwrap_or_default()
            )?;
        }
        f => json_doc(out, f, &v)?,
    }
    Ok(Verdict::Clean)
}
