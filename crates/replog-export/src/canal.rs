//! Canal's flat JSON as TiCDC's `canal-json` protocol writes it: one
//! object per row change (and per DDL statement).
//!
//! ```text
//! {"id":0,"database":"shop","table":"items","pkNames":["id"],"isDdl":false,
//!  "type":"UPDATE","es":1700000001000,"ts":1700000001000,"sql":"",
//!  "sqlType":{"id":-5,"price":3},"mysqlType":{"id":"bigint","price":"decimal(10,2)"},
//!  "old":[{"id":"2","price":"5.00"}],"data":[{"id":"2","price":"5.50"}]}
//! ```
//!
//! Every value is a string (NULL is `null`): numbers in plain decimal
//! notation, binary data as ISO-8859-1 text (one character per byte), as
//! Canal does; dates and times `YYYY-MM-DD HH:MM:SS[.ffffff]` (TIMESTAMP in
//! UTC); PostgreSQL's values as their text output. `old` is the whole row
//! before an UPDATE when the log carried it (else null), `data` the row
//! after (a DELETE: the row removed). `es` is the commit time in
//! milliseconds; `ts`, the time TiCDC built the message, is the commit time
//! too (from the log). `sqlType` holds the `java.sql.Types` codes of the
//! columns as TiCDC maps MySQL types (an unsigned integer too large for its
//! signed type promoted to the next one, as Canal does); `mysqlType` the
//! column's SQL type, lowercased. DDL: `isDdl` true, `sql` the statement,
//! `type` CREATE / ALTER / ERASE (DROP TABLE) / TRUNCATE / RENAME /
//! CINDEX / DINDEX / QUERY. A TRUNCATE record of a log (PostgreSQL) is
//! written as DDL `TRUNCATE TABLE`.

use crate::error::Error;
use crate::event::{Change, ChangeSink, Op, PerTable, Table, Txn, TxnCounts};
use crate::json;
use replog_core::Value;
use replog_logical::{ColumnType, ColumnValue, ImageKind, Tuple};
use std::fmt::Write as _;
use std::io::Write;
use std::rc::Rc;

/// `java.sql.Types` codes.
mod sql_type {
    pub const BIT: i32 = -7;
    pub const TINYINT: i32 = -6;
    pub const SMALLINT: i32 = 5;
    pub const INTEGER: i32 = 4;
    pub const BIGINT: i32 = -5;
    pub const REAL: i32 = 7;
    pub const DOUBLE: i32 = 8;
    pub const DECIMAL: i32 = 3;
    pub const CHAR: i32 = 1;
    pub const VARCHAR: i32 = 12;
    pub const DATE: i32 = 91;
    pub const TIME: i32 = 92;
    pub const TIMESTAMP: i32 = 93;
    pub const BLOB: i32 = 2004;
    pub const CLOB: i32 = 2005;
    pub const BOOLEAN: i32 = 16;
}

/// The `java.sql.Types` code TiCDC gives a column of type `ty` holding
/// `v` (unsigned integers beyond their signed range are promoted).
fn java_type(ty: &ColumnType<'_>, v: Option<&Value<'_>>) -> i32 {
    use sql_type as J;
    let big = |limit: u64| matches!(v, Some(Value::UInt(u)) if *u > limit);
    match ty {
        ColumnType::TinyInt { unsigned } => {
            if *unsigned && big(127) {
                J::SMALLINT
            } else {
                J::TINYINT
            }
        }
        ColumnType::SmallInt { unsigned } => {
            if *unsigned && big(32_767) {
                J::INTEGER
            } else {
                J::SMALLINT
            }
        }
        ColumnType::MediumInt { .. } => J::INTEGER,
        ColumnType::Int { unsigned } => {
            if *unsigned && big(2_147_483_647) {
                J::BIGINT
            } else {
                J::INTEGER
            }
        }
        ColumnType::BigInt { unsigned } => {
            if *unsigned && big(i64::MAX as u64) {
                J::DECIMAL
            } else {
                J::BIGINT
            }
        }
        ColumnType::Decimal { .. } => J::DECIMAL,
        ColumnType::Float => J::REAL,
        ColumnType::Double => J::DOUBLE,
        ColumnType::Char(_) => J::CHAR,
        ColumnType::VarChar(_) | ColumnType::Json | ColumnType::Year => J::VARCHAR,
        ColumnType::Text => J::CLOB,
        ColumnType::Blob
        | ColumnType::Binary(_)
        | ColumnType::VarBinary(_)
        | ColumnType::Other(_) => J::BLOB,
        ColumnType::Date => J::DATE,
        ColumnType::Time(_) => J::TIME,
        ColumnType::DateTime(_) | ColumnType::Timestamp(_) => J::TIMESTAMP,
        ColumnType::Enum(_) => J::INTEGER,
        ColumnType::Set(_) | ColumnType::Bit(_) => J::BIT,
        ColumnType::Boolean => J::TINYINT,
        ColumnType::Pg(p) => {
            use replog_logical::PgType as P;
            match p {
                P::Int2 => J::SMALLINT,
                P::Int4 => J::INTEGER,
                P::Int8 | P::Oid => J::BIGINT,
                P::Numeric(_) | P::Money => J::DECIMAL,
                P::Float4 => J::REAL,
                P::Float8 => J::DOUBLE,
                P::Bool => J::BOOLEAN,
                P::Bytea => J::BLOB,
                P::Date => J::DATE,
                P::Time(_) | P::TimeTz(_) => J::TIME,
                P::Timestamp(_) | P::TimestampTz(_) => J::TIMESTAMP,
                P::Char(_) => J::CHAR,
                P::Bit(_) | P::VarBit(_) => J::BIT,
                _ => J::VARCHAR,
            }
        }
    }
}

/// What is prepared once per table.
struct Prepared {
    types: Vec<ColumnType<'static>>,
    /// `"pkNames":[…]` … up to `"sql":""` is per row; this is the
    /// `mysqlType` object.
    mysql_type: Vec<u8>,
}

/// Writes Canal flat JSON as NDJSON.
pub struct Canal<W: Write> {
    out: json::Lines<W>,
    line: Vec<u8>,
    text: String,
    tables: PerTable<Prepared>,
}

impl<W: Write> Canal<W> {
    /// A writer of messages to `out`.
    pub fn new(out: W) -> Canal<W> {
        Canal {
            out: json::Lines::new(out),
            line: Vec::with_capacity(1024),
            text: String::new(),
            tables: PerTable::default(),
        }
    }

    /// Messages written so far.
    pub fn rows(&self) -> u64 {
        self.out.written()
    }

    /// The output, flushed.
    pub fn finish(self) -> std::io::Result<W> {
        self.out.finish()
    }

    fn prepared(&mut self, t: &Rc<Table>) -> usize {
        self.tables.prepare(t, |t| {
            let rel = t.relation();
            let mut mysql_type = vec![b'{'];
            for (i, c) in rel.columns.iter().enumerate() {
                if i > 0 {
                    mysql_type.push(b',');
                }
                json::string(&mut mysql_type, c.name);
                mysql_type.push(b':');
                json::string(&mut mysql_type, &c.ty.to_string().to_lowercase());
            }
            mysql_type.push(b'}');
            let types = rel.columns.iter().map(|c| static_type(&c.ty)).collect();
            Prepared { types, mysql_type }
        })
    }

    fn head(
        &mut self,
        database: &str,
        table: &str,
        t: Option<&Table>,
        ddl: bool,
        kind: &str,
        tx: &Txn<'_>,
    ) {
        let line = &mut self.line;
        line.clear();
        line.extend_from_slice(b"{\"id\":0,\"database\":");
        json::string(line, database);
        line.extend_from_slice(b",\"table\":");
        json::string(line, table);
        line.extend_from_slice(b",\"pkNames\":");
        match t {
            Some(t) if !t.keys.is_empty() => {
                line.push(b'[');
                for (k, &i) in t.keys.iter().enumerate() {
                    if k > 0 {
                        line.push(b',');
                    }
                    json::string(line, &t.columns[i].name);
                }
                line.push(b']');
            }
            _ => line.extend_from_slice(b"null"),
        }
        line.extend_from_slice(if ddl {
            b",\"isDdl\":true,\"type\":"
        } else {
            b",\"isDdl\":false,\"type\":"
        });
        json::string(line, kind);
        let ms = tx.commit_time_us().div_euclid(1000);
        line.extend_from_slice(b",\"es\":");
        json::int(line, ms);
        line.extend_from_slice(b",\"ts\":");
        json::int(line, ms);
    }

    fn row(&mut self, s: usize, t: &Table, row: &Tuple<'_>) -> Result<(), Error> {
        let mut line = std::mem::take(&mut self.line);
        line.extend_from_slice(b"[{");
        for (i, v) in row.values().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            json::string(&mut line, &t.columns[i].name);
            line.push(b':');
            match v? {
                ColumnValue::Value(Value::Null) | ColumnValue::Unchanged => {
                    line.extend_from_slice(b"null")
                }
                ColumnValue::Value(v) => self.value(&mut line, s, &v),
            }
        }
        line.extend_from_slice(b"}]");
        self.line = line;
        Ok(())
    }

    fn value(&mut self, out: &mut Vec<u8>, _s: usize, v: &Value<'_>) {
        self.text.clear();
        match v {
            Value::Bytes(b) => self.text.extend(b.iter().map(|&c| char::from(c))),
            Value::Bool(b) => self.text.push_str(if *b { "1" } else { "0" }),
            other => {
                let _ = write!(self.text, "{other}");
            }
        }
        json::string(out, &self.text);
    }

    fn emit(&mut self) -> std::io::Result<()> {
        self.line.push(b'}');
        self.out.write(&mut self.line)
    }
}

/// `ty` without borrowed names (enum and set labels, type names dropped:
/// only the kind matters for the `java.sql.Types` code).
fn static_type(ty: &ColumnType<'_>) -> ColumnType<'static> {
    match ty {
        ColumnType::Enum(_) => ColumnType::Enum(Vec::new()),
        ColumnType::Set(_) => ColumnType::Set(Vec::new()),
        ColumnType::Other(_) => ColumnType::Other(""),
        // Only the kind matters here: the types that carry names (and
        // arrays) are VARCHAR to Canal, as text is.
        ColumnType::Pg(p) => {
            ColumnType::Pg(p.without_names().unwrap_or(replog_logical::PgType::Text))
        }
        ColumnType::TinyInt { unsigned } => ColumnType::TinyInt {
            unsigned: *unsigned,
        },
        ColumnType::SmallInt { unsigned } => ColumnType::SmallInt {
            unsigned: *unsigned,
        },
        ColumnType::MediumInt { unsigned } => ColumnType::MediumInt {
            unsigned: *unsigned,
        },
        ColumnType::Int { unsigned } => ColumnType::Int {
            unsigned: *unsigned,
        },
        ColumnType::BigInt { unsigned } => ColumnType::BigInt {
            unsigned: *unsigned,
        },
        ColumnType::Decimal { precision, scale } => ColumnType::Decimal {
            precision: *precision,
            scale: *scale,
        },
        ColumnType::Float => ColumnType::Float,
        ColumnType::Double => ColumnType::Double,
        ColumnType::Char(n) => ColumnType::Char(*n),
        ColumnType::VarChar(n) => ColumnType::VarChar(*n),
        ColumnType::Text => ColumnType::Text,
        ColumnType::Blob => ColumnType::Blob,
        ColumnType::Binary(n) => ColumnType::Binary(*n),
        ColumnType::VarBinary(n) => ColumnType::VarBinary(*n),
        ColumnType::Date => ColumnType::Date,
        ColumnType::Time(p) => ColumnType::Time(*p),
        ColumnType::DateTime(p) => ColumnType::DateTime(*p),
        ColumnType::Timestamp(p) => ColumnType::Timestamp(*p),
        ColumnType::Year => ColumnType::Year,
        ColumnType::Bit(n) => ColumnType::Bit(*n),
        ColumnType::Boolean => ColumnType::Boolean,
        ColumnType::Json => ColumnType::Json,
    }
}

/// Canal's DDL event type of a statement.
fn ddl_type(sql: &str) -> &'static str {
    let up: Vec<String> = sql
        .split_whitespace()
        .take(3)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let w = |i: usize| up.get(i).map(String::as_str).unwrap_or("");
    match (w(0), w(1)) {
        ("CREATE", "TABLE") => "CREATE",
        ("CREATE", "INDEX") | ("CREATE", "UNIQUE") => "CINDEX",
        ("DROP", "INDEX") => "DINDEX",
        ("ALTER", "TABLE") => "ALTER",
        ("DROP", "TABLE") => "ERASE",
        ("TRUNCATE", _) => "TRUNCATE",
        ("RENAME", _) => "RENAME",
        _ => "QUERY",
    }
}

impl<W: Write> ChangeSink for Canal<W> {
    type Error = Error;

    fn change(&mut self, tx: &Txn<'_>, c: &Change<'_>) -> Result<(), Error> {
        let Some(t) = c.table else {
            let Some(d) = c.ddl else { return Ok(()) };
            self.head(d.database, "", None, true, ddl_type(d.sql), tx);
            self.line.extend_from_slice(b",\"sql\":");
            json::string(&mut self.line, d.sql);
            self.line.extend_from_slice(
                b",\"sqlType\":null,\"mysqlType\":null,\"old\":null,\"data\":null",
            );
            self.emit()?;
            return Ok(());
        };
        if c.op == Op::Truncate {
            self.head(&t.database, &t.table, None, true, "TRUNCATE", tx);
            self.line.extend_from_slice(b",\"sql\":");
            json::string(
                &mut self.line,
                &format!("TRUNCATE TABLE {}", t.qualified_name()),
            );
            self.line.extend_from_slice(
                b",\"sqlType\":null,\"mysqlType\":null,\"old\":null,\"data\":null",
            );
            self.emit()?;
            return Ok(());
        }
        let (kind, data, old) = match c.op {
            Op::Create | Op::Read => ("INSERT", c.after, None),
            Op::Update => (
                "UPDATE",
                c.after,
                c.before.filter(|b| b.kind == ImageKind::Full),
            ),
            Op::Delete => ("DELETE", c.before.map(|b| b.values), None),
            Op::Truncate | Op::Ddl => return Ok(()),
        };
        let Some(data) = data else { return Ok(()) };
        let s = self.prepared(t);
        self.head(&t.database, &t.table, Some(t), false, kind, tx);
        self.line.extend_from_slice(b",\"sql\":\"\",\"sqlType\":{");
        let p = self.tables.get(s).expect("prepared");
        for (i, v) in data.values().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            json::string(&mut self.line, &t.columns[i].name);
            self.line.push(b':');
            let v = v?;
            json::int(&mut self.line, i64::from(java_type(&p.types[i], v.value())));
        }
        self.line.extend_from_slice(b"},\"mysqlType\":");
        let mt = std::mem::take(&mut self.tables.get_mut(s).expect("prepared").mysql_type);
        self.line.extend_from_slice(&mt);
        self.tables.get_mut(s).expect("prepared").mysql_type = mt;
        self.line.extend_from_slice(b",\"old\":");
        match old {
            Some(o) => self.row(s, t, &o.values)?,
            None => self.line.extend_from_slice(b"null"),
        }
        self.line.extend_from_slice(b",\"data\":");
        self.row(s, t, &data)?;
        self.emit()?;
        Ok(())
    }

    fn end(&mut self, _tx: &Txn<'_>, _counts: &TxnCounts<'_>) -> Result<(), Error> {
        Ok(())
    }
}
