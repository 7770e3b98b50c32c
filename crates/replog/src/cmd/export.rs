//! `replog export`: a log's row changes as CDC envelopes (Debezium,
//! Maxwell, Canal JSON), one JSON document per line.

use crate::Verdict;
use crate::input::Detected;
use anyhow::{Context, Result, bail};
use replog_convert::atomic::AtomicFile;
use replog_core::reader::ReaderOptions;
use replog_core::txn::{TxnInput, TxnSource};
use replog_export::debezium::{self, Debezium, DecimalMode, TimePrecision};
use replog_export::event::{ChangeEvents, ChangeSink, Delivered};
use replog_export::{canal::Canal, maxwell::Maxwell};
use std::io::Write;
use std::path::PathBuf;

const HELP: &str = "\
Examples:
  replog export mariadb-bin.000001 --to debezium > changes.ndjson
  replog export binlogs/ --to debezium --schemas --transactions -o changes.ndjson
  replog export rows.replog --to maxwell --position --primary-key
  replog export mysql-bin.000042 --to canal-json | kafkacat -P -t shop
  replog export capture.pgoutput --to debezium --topic-prefix dbserver1 \\
      --database shop --catalog catalog.tsv --decimal-handling string
  replog export pg_wal/ --catalog catalog.tsv --to debezium --value-only
  replog export --snapshot at-txid-10.snapshot rest.replog --to debezium

Every source exports the same way: native logical logs, MySQL/MariaDB
binlogs (a STATEMENT or MIXED binlog, or a native statement log, is first
executed on the reference store, as `convert --to logical` does), physical
logs (decoded to rows), PostgreSQL WAL (with --catalog) and PostgreSQL
logical decoding captures (pgoutput, test_decoding, wal2json). Changes come
in commit order, one line per record.

--to debezium writes each record as {\"topic\", \"key\", \"value\"} (or the
value alone with --value-only): the PostgreSQL connector's shape for
PostgreSQL tables, the MySQL connector's for MySQL/MariaDB tables; topics
<prefix>.<schema or database>.<table>; a tombstone (null value) after each
delete unless --no-tombstones; an update that changes the key as a delete,
its tombstone and a create; TRUNCATE as op t. --schemas wraps key and value
in Kafka Connect's {\"schema\", \"payload\"}; --transactions adds BEGIN and
END records on <prefix>.transaction and each event's transaction block.
For pgoutput captures, --catalog (the catalog file of the same server, as
for WAL) gives what pgoutput does not carry: a REPLICA IDENTITY FULL
table's primary key and enum labels.

--snapshot SNAPSHOT (a store snapshot, `replog snapshot`) exports an
initial state first: its rows as snapshot reads (Debezium op r with
source.snapshot \"true\" and no transaction block, Maxwell
bootstrap-insert, Canal INSERT), their time the snapshot file's
modification time (a snapshot records none).

--to maxwell writes Maxwell's rows ({database, table, type, ts, xid,
commit|xoffset, data, old}; --position adds position, gtid, server_id;
--primary-key adds primary_key and primary_key_columns). --to canal-json
writes Canal's flat JSON as TiCDC emits it (values as strings, sqlType,
mysqlType, old, data; DDL with isDdl true).

Timestamps come from the log: every time field is the transaction's commit
time as the log recorded it. (Debezium and TiCDC put the time they processed
an event in the envelope's ts_ms / ts; an export of a log has the commit
time there too.)

The output is written under a temporary name next to OUT and renamed when
complete. A damaged log stops the export with the offset of the damage and
leaves no OUT behind (exit 2); --recovery tolerate-tail or stop-at-first
exports the valid prefix and exits 1, naming the damage on standard error.

--to parquet -o DIR writes Parquet datasets (formats/columnar.md):
DIR/changes/date=YYYY-MM-DD/ (every change: position, gtid, lsn,
commit_time, txid, op, database_name, table_name, key/before/after as
JSON; the table `changes` of `replog query`) and
DIR/tables/table=DB.TABLE/date=YYYY-MM-DD/ (one table's changes,
before_<col>/after_<col> in typed columns), hive-partitioned by commit
date (UTC), row groups bounded in memory; DIR must not exist.

Exit status:
  0  every change exported
  1  exported the valid prefix of a damaged log (--recovery)
  2  nothing written: damaged log, a value the envelope cannot carry,
     usage or I/O error";

/// The envelope of `replog export --to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Envelope {
    /// Debezium's change events (3.x; PostgreSQL and MySQL connectors).
    Debezium,
    /// Maxwell's daemon rows.
    Maxwell,
    /// Canal's flat JSON, as TiCDC's canal-json protocol writes it.
    CanalJson,
    /// Parquet datasets in the directory -o names (see below).
    Parquet,
}

/// `--decimal-handling` (Debezium's `decimal.handling.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DecimalArg {
    /// The unscaled value's bytes in base64 (Kafka Connect's Decimal).
    #[default]
    Precise,
    /// The decimal's text.
    String,
    /// A double (inexact).
    Double,
}

/// `--time-precision` (Debezium's `time.precision.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeArg {
    /// By column precision: milliseconds or microseconds.
    Adaptive,
    /// As adaptive, TIME always in microseconds.
    AdaptiveTimeMicroseconds,
    /// Kafka Connect's Date, Time, Timestamp (milliseconds).
    Connect,
}

/// Arguments of `replog export`.
#[derive(Debug, clap::Args)]
#[command(after_help = HELP)]
pub struct Args {
    /// The log read, and which damage ends it without an error.
    #[command(flatten)]
    pub log: crate::cmd::common::ReadLog,
    /// The envelope.
    #[arg(long, value_enum)]
    pub to: Envelope,
    /// Output file (standard output without it).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Debezium: the topics' prefix and source.name (topic.prefix).
    #[arg(long, default_value = "replog", value_name = "NAME")]
    pub topic_prefix: String,
    /// Debezium: source.db of PostgreSQL events (captures and WAL do not
    /// name their database).
    #[arg(long, default_value = "", value_name = "NAME")]
    pub database: String,
    /// Debezium: key and value as Kafka Connect's {"schema", "payload"}.
    #[arg(long)]
    pub schemas: bool,
    /// Debezium: BEGIN/END records on <prefix>.transaction and each
    /// event's transaction block.
    #[arg(long)]
    pub transactions: bool,
    /// Debezium: no tombstone after deletes.
    #[arg(long)]
    pub no_tombstones: bool,
    /// Debezium: each record's value alone, not {"topic","key","value"}.
    #[arg(long)]
    pub value_only: bool,
    /// Debezium: how decimals are written.
    #[arg(long, value_enum, default_value_t)]
    pub decimal_handling: DecimalArg,
    /// Debezium: how times are written (default: each connector's own,
    /// adaptive for PostgreSQL, adaptive-time-microseconds for MySQL).
    #[arg(long, value_enum)]
    pub time_precision: Option<TimeArg>,
    /// An initial state to export first, as snapshot rows (Debezium op
    /// `r`, Maxwell `bootstrap-insert`, Canal INSERT): a store snapshot
    /// (`replog snapshot`), such as the state the log continues from.
    #[arg(long, value_name = "SNAPSHOT")]
    pub snapshot: Option<PathBuf>,
    /// Maxwell: add position, gtid and server_id.
    #[arg(long)]
    pub position: bool,
    /// Maxwell: add primary_key and primary_key_columns.
    #[arg(long)]
    pub primary_key: bool,
}

/// Runs `replog export`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let inputs = args.log.input.resolve_source()?;
    let mut source = open(args, &inputs)?;
    let mut events = ChangeEvents::new();
    if let Some(c) = &args.log.input.catalog {
        let catalog = replog_pgheap::catalog::Catalog::load(c)
            .with_context(|| format!("reading the catalog {}", c.display()))?;
        events = events.with_hints(Box::new(replog_export::pgcatalog::PgCatalogHints::new(
            catalog,
        )));
    }
    if args.to == Envelope::Parquet {
        return crate::cmd::parquet::export(
            &mut *source,
            &inputs,
            &mut events,
            args.output.as_deref(),
            out,
        );
    }
    let delivered = match &args.output {
        Some(path) => {
            let file = AtomicFile::create(path)?;
            let (d, file) = export(args, &mut *source, &mut events, file)
                .map_err(|e| stopped(e, "nothing written"))?;
            file.commit()?;
            d
        }
        None => {
            export(args, &mut *source, &mut events, &mut *out)
                .map_err(|e| stopped(e, "the output ends before it"))?
                .0
        }
    };
    for d in &delivered.tolerated_damage {
        eprintln!(
            "replog: the log ends at damage, exported up to it: {}",
            d.to_error()
        );
    }
    if let Some(path) = &args.output {
        writeln!(
            out,
            "exported {} transactions, {} changes to {}",
            delivered.transactions,
            delivered.changes,
            path.display()
        )?;
    }
    Ok(Verdict::clean_if(delivered.tolerated_damage.is_empty()))
}

/// The error `e` that ended an export: damage the recovery policy did not
/// accept is said to have stopped it (`what` tells what became of the
/// output), and where `--recovery` would take it.
pub fn stopped(e: anyhow::Error, what: &str) -> anyhow::Error {
    if crate::is_damage(&e) {
        e.context(format!(
            "the export stopped at damage in the log, {what} \
             (--recovery exports the valid prefix)"
        ))
    } else {
        e
    }
}

/// Runs the export into `w` with the envelope's writer; returns what was
/// delivered and `w`.
fn export<W: Write>(
    args: &Args,
    source: &mut dyn TxnSource,
    events: &mut ChangeEvents,
    w: W,
) -> Result<(Delivered, W)> {
    let mut snapshot = match &args.snapshot {
        Some(p) => Some(snapshot_log(p)?),
        None => None,
    };
    let mut drive = |events: &mut ChangeEvents,
                     source: &mut dyn TxnSource,
                     sink: &mut dyn ChangeSinkDyn|
     -> Result<Delivered> {
        if let Some(s) = snapshot.as_mut() {
            sink.run_snapshot(events, &mut **s)?;
        }
        sink.run(events, source)
    };
    Ok(match args.to {
        Envelope::Debezium => {
            let o = debezium::Options {
                prefix: args.topic_prefix.clone(),
                database: args.database.clone(),
                decimal: match args.decimal_handling {
                    DecimalArg::Precise => DecimalMode::Precise,
                    DecimalArg::String => DecimalMode::String,
                    DecimalArg::Double => DecimalMode::Double,
                },
                time: args.time_precision.map(|t| match t {
                    TimeArg::Adaptive => TimePrecision::Adaptive,
                    TimeArg::AdaptiveTimeMicroseconds => TimePrecision::AdaptiveTimeMicroseconds,
                    TimeArg::Connect => TimePrecision::Connect,
                }),
                schemas: args.schemas,
                tombstones: !args.no_tombstones,
                transactions: args.transactions,
                value_only: args.value_only,
                ..debezium::Options::default()
            };
            let mut sink = Debezium::new(w, o);
            let d = drive(events, source, &mut sink)?;
            (d, sink.finish()?)
        }
        Envelope::Maxwell => {
            let o = replog_export::maxwell::Options {
                position: args.position,
                primary_key: args.primary_key,
            };
            let mut sink = Maxwell::new(w, o);
            let d = drive(events, source, &mut sink)?;
            (d, sink.finish()?)
        }
        Envelope::CanalJson => {
            let mut sink = Canal::new(w);
            let d = drive(events, source, &mut sink)?;
            (d, sink.finish()?)
        }
        Envelope::Parquet => bail!("--to parquet writes a directory (crate::cmd::parquet)"),
    })
}

/// A change sink behind `dyn`: the envelopes' writers run alike.
trait ChangeSinkDyn {
    fn run(&mut self, events: &mut ChangeEvents, source: &mut dyn TxnSource) -> Result<Delivered>;
    fn run_snapshot(
        &mut self,
        events: &mut ChangeEvents,
        source: &mut dyn TxnSource,
    ) -> Result<Delivered>;
}

impl<S: ChangeSink<Error = replog_export::Error>> ChangeSinkDyn for S {
    fn run(&mut self, events: &mut ChangeEvents, source: &mut dyn TxnSource) -> Result<Delivered> {
        events.run(source, self).map_err(anyhow::Error::new)
    }
    fn run_snapshot(
        &mut self,
        events: &mut ChangeEvents,
        source: &mut dyn TxnSource,
    ) -> Result<Delivered> {
        events
            .run_snapshot(source, self)
            .map_err(anyhow::Error::new)
    }
}

/// A store snapshot as a logical log of one transaction: each table's
/// RELATION and its rows as INSERTs (in primary-key order), its txid the
/// snapshot's last applied transaction, its time the file's modification
/// time (a snapshot records none).
fn snapshot_log(path: &std::path::Path) -> Result<Box<dyn TxnSource>> {
    use replog_core::writer::{LogWriter, WriterOptions};
    use replog_core::{Begin, Commit, LogKind};
    use replog_logical::{Insert, LogicalRecord, TupleBuf};
    use replog_store::storage::Storage;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (position, storage) = replog_store::snapshot::decode(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a usable snapshot: {e}", path.display()))?;
    let time_us = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_micros() as i64);
    let mut opts = WriterOptions::new(LogKind::Logical);
    opts.version = replog_core::segment::MAX_FORMAT_VERSION;
    let mut w = LogWriter::new(Vec::new(), &opts)?;
    let txid = position.last_txid;
    w.begin(&Begin {
        txid,
        timestamp_us: time_us,
        server_id: 0,
        origin: "",
    })?;
    let mut body = Vec::new();
    for (n, id) in storage.tables().into_iter().enumerate() {
        let Some(def) = storage.def(id) else { continue };
        let relid = u32::try_from(n + 1).unwrap_or(u32::MAX);
        body.clear();
        LogicalRecord::Relation(def.to_relation(relid, 1))
            .encode(&mut body)
            .map_err(|m| anyhow::anyhow!("{}: {m}", def.name))?;
        w.append(&body)?;
        for key in storage.keys(id) {
            let Some(row) = storage.get(id, &key) else {
                continue;
            };
            let t = TupleBuf::from_values(row).map_err(|m| anyhow::anyhow!("{}: {m}", def.name))?;
            body.clear();
            LogicalRecord::Insert(Insert {
                relation_id: relid,
                new: t.as_tuple(),
            })
            .encode(&mut body)
            .map_err(|m| anyhow::anyhow!("{}: {m}", def.name))?;
            w.append(&body)?;
        }
    }
    w.commit(&Commit {
        txid,
        timestamp_us: time_us,
        state_before: None,
        state_after: None,
    })?;
    let log = w.finish()?;
    let seg = replog_core::reader::SegmentInput::memory(path.display().to_string(), log);
    Ok(vec![seg].open(ReaderOptions::default())?)
}

/// The transactions of the input, as logical records: statement logs and
/// STATEMENT/MIXED binlogs executed on the reference store, physical logs
/// decoded.
fn open(args: &Args, inputs: &crate::input::Inputs) -> Result<Box<dyn TxnSource>> {
    inputs.require_transactions("export")?;
    let policy = args.log.recovery.into();
    let opts = ReaderOptions {
        policy,
        continue_after_damage: false,
        buffer_size: 0,
    };
    if let Some(b) = &inputs.binlog {
        if b.kind() == replog_core::LogKind::Statement {
            return Ok(Box::new(
                b.clone()
                    .with_policy(policy)
                    .open_executed(Default::default()),
            ));
        }
        return Ok(inputs.txn_input()?.open(opts)?);
    }
    if matches!(inputs.detected, Detected::Native(_)) {
        match inputs.kind {
            Some(replog_core::LogKind::Statement) => {
                // Executed on the reference store in memory, as `convert
                // --to sql` of a statement log does.
                let (_, logical) = replog_convert::to_logical::statement_to_logical(
                    inputs.segments()?,
                    policy,
                    Default::default(),
                    Vec::new(),
                )?;
                let seg = replog_core::reader::SegmentInput::memory(inputs.name(0), logical);
                return Ok(vec![seg].open(opts)?);
            }
            Some(replog_core::LogKind::Physical) => {
                let o = replog_convert::from_physical::FromPhysicalOptions { policy };
                return Ok(Box::new(
                    replog_convert::from_physical::FromPhysicalSource::open(inputs.segments()?, &o),
                ));
            }
            Some(replog_core::LogKind::Logical) => {}
            None => bail!(
                "{}: the log's kind is unreadable{}",
                inputs.name(0),
                inputs
                    .first_damage()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
        }
    }
    Ok(inputs.txn_input()?.open(opts)?)
}
