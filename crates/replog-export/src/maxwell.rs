//! Maxwell's daemon JSON: one object per row change, as Maxwell writes it
//! to Kafka or stdout.
//!
//! ```text
//! {"database":"shop","table":"items","type":"update","ts":1700000001,
//!  "xid":3,"xoffset":0,"position":"mariadb-bin.000001:1234","gtid":"0-1-3",
//!  "server_id":1,"primary_key":[2],"primary_key_columns":["id"],
//!  "data":{"id":2,"price":"5.50"},"old":{"price":"5.00"}}
//! ```
//!
//! `type` is `insert`, `update` or `delete`; `ts` the commit time in
//! seconds (from the log); `xid` the transaction id; the last row of a
//! transaction carries `"commit":true`, the others their `xoffset` (0, 1,
//! …); `old` holds the previous value of each column the update changed
//! (only when the log carried the whole row before). `position`, `gtid`,
//! `server_id` with [`Options::position`], `primary_key` and
//! `primary_key_columns` with [`Options::primary_key`]. Values keep their
//! JSON types: integers and decimals as numbers, JSON columns embedded,
//! SET as an array of labels, binary data in base64, dates and times as
//! `YYYY-MM-DD HH:MM:SS[.ffffff]` text (TIMESTAMP in UTC), PostgreSQL's
//! other types as their text output. TRUNCATE and DDL are not written
//! (Maxwell reports schema changes on its own stream).

use crate::error::Error;
use crate::event::{Change, ChangeSink, Op, Position, Table, Txn, TxnCounts};
use crate::json;
use replog_core::Value;
use replog_logical::{ColumnValue, ImageKind, Tuple};
use std::fmt::Write as _;
use std::io::Write;
use std::rc::Rc;

/// What the Maxwell writer adds to each row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `position`, `gtid` and `server_id` (`output_binlog_position`,
    /// `output_gtid_position`, `output_server_id`).
    pub position: bool,
    /// `primary_key` and `primary_key_columns` (`output_primary_keys`,
    /// `output_primary_key_columns`).
    pub primary_key: bool,
}

/// Writes Maxwell rows as NDJSON.
pub struct Maxwell<W: Write> {
    out: json::Lines<W>,
    o: Options,
    line: Vec<u8>,
    text: String,
    /// The change held back until the next one tells whether it is the
    /// transaction's last: (rendered row without its ending, xoffset).
    pending: Option<Vec<u8>>,
    xoffset: u64,
}

impl<W: Write> Maxwell<W> {
    /// A writer of rows to `out`.
    pub fn new(out: W, o: Options) -> Maxwell<W> {
        Maxwell {
            out: json::Lines::new(out),
            o,
            line: Vec::with_capacity(1024),
            text: String::new(),
            pending: None,
            xoffset: 0,
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.out.written()
    }

    /// The output, flushed.
    pub fn finish(self) -> std::io::Result<W> {
        self.out.finish()
    }

    /// Writes the held-back row, as the transaction's last or not.
    fn flush_pending(&mut self, last: bool) -> std::io::Result<()> {
        let Some(mut row) = self.pending.take() else {
            return Ok(());
        };
        // The row was rendered up to `"xid":N`; then commit or xoffset,
        // then the rest kept in `line`.
        let split = row.iter().position(|&b| b == 0).unwrap_or(row.len());
        let rest = row.split_off(split);
        if last {
            row.extend_from_slice(b",\"commit\":true");
        } else {
            row.extend_from_slice(b",\"xoffset\":");
            json::uint(&mut row, self.xoffset);
            self.xoffset += 1;
        }
        row.extend_from_slice(rest.get(1..).unwrap_or(&[]));
        self.out.write(&mut row)
    }

    fn row_object(&mut self, out: &mut Vec<u8>, t: &Table, row: &Tuple<'_>) -> Result<(), Error> {
        out.push(b'{');
        let mut first = true;
        for (i, v) in row.values().enumerate() {
            let v = match v? {
                ColumnValue::Value(v) => v,
                // Not sent by the log: left out, as Maxwell leaves out what
                // the binlog image does not hold.
                ColumnValue::Unchanged => continue,
            };
            if !first {
                out.push(b',');
            }
            first = false;
            json::string(out, &t.columns[i].name);
            out.push(b':');
            self.value(out, &v);
        }
        out.push(b'}');
        Ok(())
    }

    fn value(&mut self, out: &mut Vec<u8>, v: &Value<'_>) {
        match v {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(i) => json::int(out, *i),
            Value::UInt(u) => json::uint(out, *u),
            Value::F32(f) => json::f32(out, *f),
            Value::F64(f) => json::f64(out, *f),
            Value::Decimal(d) => out.extend_from_slice(d.as_bytes()),
            Value::Json(j) => out.extend_from_slice(j.as_bytes()),
            Value::Bytes(b) => json::base64(out, b),
            Value::Set(s) => {
                out.push(b'[');
                for (k, l) in s.split(',').filter(|l| !l.is_empty()).enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    json::string(out, l);
                }
                out.push(b']');
            }
            Value::Text(s) | Value::Enum(s) => json::string(out, s),
            other => {
                self.text.clear();
                let _ = write!(self.text, "{other}");
                json::string(out, &self.text);
            }
        }
    }

    fn change_row(&mut self, tx: &Txn<'_>, c: &Change<'_>, t: &Rc<Table>) -> Result<(), Error> {
        let (kind, data, old) = match c.op {
            Op::Create => ("insert", c.after, None),
            // Maxwell's bootstrap rows.
            Op::Read => ("bootstrap-insert", c.after, None),
            Op::Update => (
                "update",
                c.after,
                c.before.filter(|b| b.kind == ImageKind::Full),
            ),
            Op::Delete => ("delete", c.before.map(|b| b.values), None),
            Op::Truncate | Op::Ddl => return Ok(()),
        };
        let Some(data) = data else { return Ok(()) };
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.extend_from_slice(b"{\"database\":");
        json::string(&mut line, &t.database);
        line.extend_from_slice(b",\"table\":");
        json::string(&mut line, &t.table);
        line.extend_from_slice(b",\"type\":");
        json::string(&mut line, kind);
        line.extend_from_slice(b",\"ts\":");
        json::int(&mut line, tx.commit_time_us().div_euclid(1_000_000));
        line.extend_from_slice(b",\"xid\":");
        json::uint(&mut line, tx.txid());
        // Where commit / xoffset go, once known.
        line.push(0);
        if self.o.position {
            match tx.position {
                Position::Binlog { file, pos, gtid } => {
                    line.extend_from_slice(b",\"position\":");
                    json::string(&mut line, &format!("{file}:{pos}"));
                    if let Some(g) = gtid {
                        line.extend_from_slice(b",\"gtid\":");
                        json::string(&mut line, g);
                    }
                }
                Position::Postgres { commit_lsn, .. } => {
                    line.extend_from_slice(b",\"position\":");
                    json::string(
                        &mut line,
                        &format!("{:X}/{:X}", commit_lsn >> 32, commit_lsn & 0xffff_ffff),
                    );
                }
                Position::Native { commit_lsn } => {
                    line.extend_from_slice(b",\"position\":");
                    json::string(&mut line, &commit_lsn.to_string());
                }
            }
            line.extend_from_slice(b",\"server_id\":");
            json::uint(&mut line, u64::from(tx.server_id()));
        }
        if self.o.primary_key {
            line.extend_from_slice(b",\"primary_key\":[");
            let vals: Vec<Value<'_>> = data
                .values()
                .enumerate()
                .filter(|(i, _)| t.keys.contains(i))
                .map(|(_, v)| v.map(|v| v.value().cloned().unwrap_or(Value::Null)))
                .collect::<Result<_, _>>()?;
            for (k, v) in vals.iter().enumerate() {
                if k > 0 {
                    line.push(b',');
                }
                self.value(&mut line, v);
            }
            line.extend_from_slice(b"],\"primary_key_columns\":[");
            for (k, &i) in t.keys.iter().enumerate() {
                if k > 0 {
                    line.push(b',');
                }
                json::string(&mut line, &t.columns[i].name);
            }
            line.push(b']');
        }
        line.extend_from_slice(b",\"data\":");
        self.row_object(&mut line, t, &data)?;
        if let Some(old) = old {
            // The previous value of each column the update changed.
            line.extend_from_slice(b",\"old\":{");
            let mut first = true;
            for (i, (b, a)) in old.values.values().zip(data.values()).enumerate() {
                let (ColumnValue::Value(b), a) = (b?, a?) else {
                    continue;
                };
                if a.value() == Some(&b) {
                    continue;
                }
                if !first {
                    line.push(b',');
                }
                first = false;
                json::string(&mut line, &t.columns[i].name);
                line.push(b':');
                self.value(&mut line, &b);
            }
            line.push(b'}');
        }
        line.push(b'}');
        self.flush_pending(false)?;
        self.pending = Some(line);
        Ok(())
    }
}

impl<W: Write> ChangeSink for Maxwell<W> {
    type Error = Error;

    fn begin(&mut self, _tx: &Txn<'_>) -> Result<(), Error> {
        self.xoffset = 0;
        Ok(())
    }

    fn change(&mut self, tx: &Txn<'_>, c: &Change<'_>) -> Result<(), Error> {
        match c.table {
            Some(t) => self.change_row(tx, c, t),
            None => Ok(()),
        }
    }

    fn end(&mut self, _tx: &Txn<'_>, _counts: &TxnCounts<'_>) -> Result<(), Error> {
        self.flush_pending(true)?;
        Ok(())
    }
}
