//! `replog inspect --decode-rows` of every input that is not a binlog (a
//! native logical log, PostgreSQL WAL with its catalog, a logical decoding
//! capture): each row change with its table's column names, and the column
//! types once per table version, from the change-event layer
//! (`replog_export::event`) that every exporter reads. Binlogs keep their
//! event listing (`cmd/binlog.rs`), where rows follow their row events.

use crate::Verdict;
use crate::cmd::inspect::Args;
use crate::output::{OutputFormat, TableSink, ndjson};
use anyhow::{Result, bail};
use replog_core::Value;
use replog_core::reader::ReaderOptions;
use replog_core::txn::TxnInput;
use replog_export::event::{Change, ChangeEvents, ChangeSink, Op, PerTable, Position, Table, Txn};
use replog_logical::{ColumnValue, ImageKind};
use serde::Serialize;
use std::io::Write;

/// Runs `inspect --decode-rows` on a non-binlog input.
pub fn inspect(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    for (given, flag) in [
        (args.stats, "--stats"),
        (args.hex, "--hex"),
        (args.start.is_some(), "--start"),
        (args.stop.is_some(), "--stop"),
        (args.gtid.is_some(), "--gtid"),
        (args.database.is_some(), "--database"),
        (args.no_verify, "--no-verify"),
    ] {
        if given {
            bail!("{flag} cannot be combined with --decode-rows on this input (binlogs only)");
        }
    }
    let inputs = args.log.input.resolve_source()?;
    inputs.require_transactions("inspect --decode-rows")?;
    let types = args
        .types
        .iter()
        .map(|t| match t.to_ascii_lowercase().as_str() {
            "insert" => Ok(Op::Create),
            "update" => Ok(Op::Update),
            "delete" => Ok(Op::Delete),
            "truncate" => Ok(Op::Truncate),
            "ddl" => Ok(Op::Ddl),
            other => bail!(
                "--type {other}: with --decode-rows the types are insert, update, delete, truncate and ddl"
            ),
        })
        .collect::<Result<Vec<Op>>>()?;
    let mut source = inputs.txn_input()?.open(ReaderOptions {
        policy: args.log.recovery.into(),
        ..ReaderOptions::default()
    })?;
    let mut sink = RowSink {
        out,
        format: args.report.format,
        table: TableSink::new(vec!["LSN", "XID", "OP", "TABLE", "ROW"], &[1]),
        json_first: true,
        filter: Filter {
            txid: args.txid,
            table: args.table.clone(),
            types,
            start_time: args.start_time,
            stop_time: args.stop_time,
        },
        limit: args.limit.unwrap_or(u64::MAX),
        printed: 0,
        columns: PerTable::default(),
    };
    let result = ChangeEvents::new().run(&mut *source, &mut sink);
    sink.finish()?;
    match result {
        Ok(delivered) => {
            for d in &delivered.tolerated_damage {
                eprintln!("replog: the log ends at damage: {}", d.to_error());
            }
            Ok(Verdict::clean_if(delivered.tolerated_damage.is_empty()))
        }
        Err(SinkError::Full) => Ok(Verdict::Clean),
        // Damage the recovery policy does not accept: reported, exit 1.
        Err(SinkError::Log(e)) if source.intolerable().is_some() => {
            eprintln!("replog: {e}");
            Ok(Verdict::Found)
        }
        Err(SinkError::Log(e)) => Err(e.into()),
        Err(SinkError::Io(e)) => Err(e.into()),
    }
}

/// Which changes are printed.
struct Filter {
    txid: Option<u64>,
    table: Option<String>,
    types: Vec<Op>,
    start_time: Option<i64>,
    stop_time: Option<i64>,
}

impl Filter {
    fn wants(&self, tx: &Txn<'_>, c: &Change<'_>) -> bool {
        let time = tx.commit_time_us();
        self.txid.is_none_or(|t| t == tx.txid())
            && (self.types.is_empty() || self.types.contains(&c.op))
            && self.start_time.is_none_or(|s| time >= s)
            && self.stop_time.is_none_or(|s| time < s)
            && self.table.as_deref().is_none_or(|want| {
                c.table
                    .is_some_and(|t| t.table == want || t.qualified_name() == want)
            })
    }
}

enum SinkError {
    Log(replog_core::Error),
    Io(std::io::Error),
    /// `--limit` reached.
    Full,
}

impl From<replog_core::Error> for SinkError {
    fn from(e: replog_core::Error) -> SinkError {
        SinkError::Log(e)
    }
}

impl From<std::io::Error> for SinkError {
    fn from(e: std::io::Error) -> SinkError {
        SinkError::Io(e)
    }
}

/// What is kept per table version: its columns as `name type[ key]`.
struct Columns {
    names: Vec<String>,
    types: Vec<String>,
    announced: bool,
}

impl Columns {
    fn of(t: &Table) -> Columns {
        Columns {
            names: t.columns.iter().map(|c| c.name.clone()).collect(),
            types: t.column_types().iter().map(|ty| ty.to_string()).collect(),
            announced: false,
        }
    }
}

struct RowSink<'o> {
    out: &'o mut dyn Write,
    format: OutputFormat,
    table: TableSink,
    json_first: bool,
    filter: Filter,
    limit: u64,
    printed: u64,
    columns: PerTable<Columns>,
}

/// One change as JSON (one line of NDJSON, one element of the JSON array).
#[derive(Serialize)]
struct JsonChange<'a> {
    /// PostgreSQL sources: `X/X`; native logs: the LSN as a number.
    lsn: serde_json::Value,
    xid: u64,
    commit_time_us: i64,
    op: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    table: Option<String>,
    /// Column name → its type's SQL spelling.
    #[serde(skip_serializing_if = "Option::is_none")]
    types: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ddl: Option<&'a str>,
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Create | Op::Read => "insert",
        Op::Update => "update",
        Op::Delete => "delete",
        Op::Truncate => "truncate",
        Op::Ddl => "ddl",
    }
}

fn lsn_text(tx: &Txn<'_>, lsn: u64) -> String {
    match tx.position {
        Position::Postgres { .. } => format!("{:X}/{:X}", lsn >> 32, lsn as u32),
        _ => lsn.to_string(),
    }
}

/// A value in a table cell: text-like values quoted SQL-style, the rest
/// as the value model prints them.
fn push_cell_value(s: &mut String, v: &ColumnValue<'_>) {
    use std::fmt::Write as _;
    match v {
        ColumnValue::Unchanged => s.push_str("(unchanged)"),
        ColumnValue::Value(
            v @ (Value::Text(_) | Value::Enum(_) | Value::Set(_) | Value::Json(_)),
        ) => {
            s.push('\'');
            s.push_str(&v.to_string().replace('\'', "''"));
            s.push('\'');
        }
        ColumnValue::Value(v) => {
            let _ = write!(s, "{v}");
        }
    }
}

/// A row image as `(name=value, …)`; a key-only image (`key_only`) shows
/// only the key columns it carries.
fn push_image<'v>(
    s: &mut String,
    names: &[String],
    values: impl Iterator<Item = replog_core::Result<ColumnValue<'v>>>,
    key_only: bool,
) -> replog_core::Result<()> {
    s.push('(');
    let mut first = true;
    for (name, v) in names.iter().zip(values) {
        let v = v?;
        if key_only && v == ColumnValue::Unchanged {
            continue;
        }
        if !first {
            s.push_str(", ");
        }
        first = false;
        s.push_str(name);
        s.push('=');
        push_cell_value(s, &v);
    }
    s.push(')');
    Ok(())
}

/// A row image as a JSON object by column name; a key-only image
/// (`key_only`) holds only the key columns it carries, a column whose value
/// the log did not send is `{"unchanged": true}`.
fn image_json<'v>(
    names: &[String],
    values: impl Iterator<Item = replog_core::Result<ColumnValue<'v>>>,
    key_only: bool,
) -> replog_core::Result<serde_json::Map<String, serde_json::Value>> {
    let mut m = serde_json::Map::new();
    for (name, v) in names.iter().zip(values) {
        let j = match v? {
            ColumnValue::Unchanged if key_only => continue,
            ColumnValue::Unchanged => serde_json::json!({ "unchanged": true }),
            ColumnValue::Value(v) => serde_json::to_value(&v).unwrap_or(serde_json::Value::Null),
        };
        m.insert(name.clone(), j);
    }
    Ok(m)
}

impl RowSink<'_> {
    fn finish(&mut self) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Table => self.table.flush(self.out),
            OutputFormat::Json => {
                if self.json_first {
                    self.out.write_all(b"[\n")?;
                }
                self.out.write_all(b"\n]\n")
            }
            OutputFormat::Ndjson => Ok(()),
        }
    }

    fn table_row(&mut self, tx: &Txn<'_>, c: &Change<'_>) -> Result<(), SinkError> {
        let lsn = lsn_text(tx, c.lsn);
        let name = c.table.map(|t| t.qualified_name()).unwrap_or_default();
        if let Some(t) = c.table {
            let serial = self.columns.prepare(t, Columns::of);
            let cols = self.columns.get_mut(serial).expect("prepared");
            if !cols.announced {
                cols.announced = true;
                let mut text = String::new();
                for (i, (n, ty)) in cols.names.iter().zip(&cols.types).enumerate() {
                    if i > 0 {
                        text.push_str(", ");
                    }
                    text.push_str(n);
                    text.push(' ');
                    text.push_str(ty);
                    if t.keys.contains(&i) {
                        text.push_str(" key");
                    }
                }
                self.table.push(
                    self.out,
                    vec![
                        lsn.clone(),
                        tx.txid().to_string(),
                        "columns".into(),
                        name.clone(),
                        text,
                    ],
                )?;
            }
        }
        let mut text = String::new();
        if let Some(t) = c.table {
            let serial = self.columns.prepare(t, Columns::of);
            let names = &self.columns.get(serial).expect("prepared").names;
            if let Some(b) = &c.before {
                let key_only = b.kind == ImageKind::Key;
                push_image(&mut text, names, c.before_values(), key_only)?;
            }
            if c.after.is_some() {
                if c.before.is_some() {
                    text.push_str(" -> ");
                }
                push_image(&mut text, names, c.after_values(), false)?;
            }
        }
        if let Some(d) = &c.ddl {
            text.push_str(d.sql);
        }
        self.table.push(
            self.out,
            vec![lsn, tx.txid().to_string(), op_name(c.op).into(), name, text],
        )?;
        Ok(())
    }

    fn json_row(&mut self, tx: &Txn<'_>, c: &Change<'_>) -> Result<(), SinkError> {
        let lsn = match tx.position {
            Position::Postgres { .. } => serde_json::Value::from(lsn_text(tx, c.lsn)),
            _ => serde_json::Value::from(c.lsn),
        };
        let mut j = JsonChange {
            lsn,
            xid: tx.txid(),
            commit_time_us: tx.commit_time_us(),
            op: op_name(c.op),
            table: c.table.map(|t| t.qualified_name()),
            types: None,
            key: None,
            before: None,
            after: None,
            ddl: c.ddl.as_ref().map(|d| d.sql),
        };
        if let Some(t) = c.table {
            let serial = self.columns.prepare(t, Columns::of);
            let cols = self.columns.get(serial).expect("prepared");
            j.types = Some(
                cols.names
                    .iter()
                    .zip(&cols.types)
                    .map(|(n, ty)| (n.clone(), serde_json::Value::from(ty.as_str())))
                    .collect(),
            );
            j.key = Some(
                t.keys
                    .iter()
                    .filter_map(|&k| cols.names.get(k))
                    .map(String::as_str)
                    .collect(),
            );
            if let Some(b) = &c.before {
                let key_only = b.kind == ImageKind::Key;
                j.before = Some(image_json(&cols.names, c.before_values(), key_only)?);
            }
            if c.after.is_some() {
                j.after = Some(image_json(&cols.names, c.after_values(), false)?);
            }
        }
        if self.format == OutputFormat::Ndjson {
            ndjson(self.out, &j)?;
        } else {
            self.out
                .write_all(if self.json_first { b"[\n" } else { b",\n" })?;
            self.json_first = false;
            serde_json::to_writer(&mut *self.out, &j).map_err(std::io::Error::other)?;
        }
        Ok(())
    }
}

impl ChangeSink for RowSink<'_> {
    type Error = SinkError;

    fn change(&mut self, tx: &Txn<'_>, c: &Change<'_>) -> Result<(), SinkError> {
        if !self.filter.wants(tx, c) {
            return Ok(());
        }
        if self.printed >= self.limit {
            return Err(SinkError::Full);
        }
        self.printed += 1;
        match self.format {
            OutputFormat::Table => self.table_row(tx, c),
            OutputFormat::Json | OutputFormat::Ndjson => self.json_row(tx, c),
        }
    }
}
