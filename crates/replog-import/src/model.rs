//! Owned results of an import: transactions holding statement and logical
//! records that no longer borrow from the binlog, and their encodings into
//! replog's native record bodies.

use replog_core::Value;
use replog_logical::{
    Column, ColumnType, Ddl, Delete, ImageKind, Insert, LogicalRecord, OldImage, Relation,
    Truncate, TupleBuf, Update,
};
use replog_statement::{AutoIncrement, Charset, Context, RandSeed, Statement};
use serde::Serialize;

/// One binlog transaction, converted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedTransaction {
    /// Transaction id: a counter in binlog order, starting at
    /// [`crate::ImportOptions::first_txid`].
    pub txid: u64,
    /// The GTID (`0-1-42` for MariaDB, `uuid:gno` for MySQL), when logged.
    pub gtid: Option<String>,
    /// Server id of the transaction's first event.
    pub server_id: u32,
    /// Binlog file name (without directory) of the first event.
    pub file: String,
    /// Position of the transaction's first event (its GTID event, or its
    /// `BEGIN` / first event without one).
    pub position: u64,
    /// Start time, µs since the Unix epoch.
    pub begin_timestamp_us: i64,
    /// Commit time, µs since the Unix epoch.
    pub commit_timestamp_us: i64,
    /// STATEMENT records, in binlog order.
    pub statements: Vec<ImportedStatement>,
    /// Logical records (RELATION, INSERT, UPDATE, DELETE, TRUNCATE, DDL), in
    /// binlog order.
    pub logical: Vec<LogicalOp>,
    /// Row changes of this transaction that the statement output leaves out.
    pub rows_not_in_statements: u64,
    /// DML statements of this transaction that the logical output leaves out.
    pub statements_not_in_logical: u64,
}

impl ImportedTransaction {
    /// A copy of the transaction's header fields (ids, position, times),
    /// without its records.
    pub(crate) fn clone_header(&self) -> ImportedTransaction {
        ImportedTransaction {
            txid: self.txid,
            gtid: self.gtid.clone(),
            server_id: self.server_id,
            file: self.file.clone(),
            position: self.position,
            begin_timestamp_us: self.begin_timestamp_us,
            commit_timestamp_us: self.commit_timestamp_us,
            statements: Vec::new(),
            logical: Vec::new(),
            rows_not_in_statements: 0,
            statements_not_in_logical: 0,
        }
    }

    /// The origin text of the BEGIN record: `<gtid> <file>:<position>`, or
    /// `<file>:<position>` without a GTID.
    pub fn origin(&self) -> String {
        match &self.gtid {
            Some(g) => format!("{g} {}:{}", self.file, self.position),
            None => format!("{}:{}", self.file, self.position),
        }
    }

    /// The native record body of each of [`ImportedTransaction::logical`],
    /// in order; an error names the transaction's binlog position.
    pub fn logical_bodies(&self) -> replog_core::Result<Vec<Vec<u8>>> {
        self.logical
            .iter()
            .map(|op| {
                let mut b = Vec::new();
                op.encode(&mut b).map(|()| b).map_err(|m| {
                    replog_core::Error::malformed(
                        self.position,
                        format!("{}:{}: {m}", self.file, self.position),
                    )
                })
            })
            .collect()
    }

    /// The transaction in binlog order, for executing it: runs of
    /// statements (a DDL statement alone) and runs of row-event records
    /// between them. A DDL statement's own logical record (at its
    /// `logical_before` index) is left out of the rows, so it is not
    /// applied twice.
    pub fn parts(&self) -> Vec<TxPart> {
        let ddl_records: Vec<usize> = self
            .statements
            .iter()
            .filter(|s| s.ddl)
            .map(|s| s.logical_before)
            .collect();
        let n = self.logical.len();
        let mut parts = Vec::new();
        let mut next = 0usize;
        let rows = |parts: &mut Vec<TxPart>, next: &mut usize, upto: usize| {
            let upto = upto.min(n);
            let r: Vec<usize> = (*next..upto).filter(|i| !ddl_records.contains(i)).collect();
            *next = (*next).max(upto);
            if !r.is_empty() {
                parts.push(TxPart::Rows(r));
            }
        };
        for (i, s) in self.statements.iter().enumerate() {
            rows(&mut parts, &mut next, s.logical_before);
            if s.ddl {
                next = next.max(s.logical_before + 1);
            }
            match parts.last_mut() {
                Some(TxPart::Statements(list))
                    if !s.ddl && !list.iter().any(|&j| self.statements[j].ddl) =>
                {
                    list.push(i);
                }
                _ => parts.push(TxPart::Statements(vec![i])),
            }
        }
        rows(&mut parts, &mut next, n);
        parts
    }
}

/// A piece of an [`ImportedTransaction`] in binlog order
/// ([`ImportedTransaction::parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxPart {
    /// Indexes into `statements` of statements that run together (a DDL
    /// statement is always alone).
    Statements(Vec<usize>),
    /// Indexes into `logical` of row-event records applied together.
    Rows(Vec<usize>),
}

/// A statement with the replay context the binlog carried for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportedStatement {
    /// SQL text as logged.
    pub sql: String,
    /// Default database, when the QUERY event had one.
    pub database: Option<String>,
    /// Statement time: event timestamp plus `Q_MICROSECONDS` / `Q_HRNOW`.
    pub timestamp_us: Option<i64>,
    /// RAND event seeds.
    pub rand_seed: Option<(u64, u64)>,
    /// INTVAR INSERT_ID.
    pub insert_id: Option<u64>,
    /// INTVAR LAST_INSERT_ID.
    pub last_insert_id: Option<u64>,
    /// USER_VAR events before the statement, sorted by name, unique.
    pub user_vars: Vec<(String, Value<'static>)>,
    /// `Q_SQL_MODE`.
    pub sql_mode: Option<u64>,
    /// `Q_TIME_ZONE`.
    pub time_zone: Option<String>,
    /// `Q_AUTO_INCREMENT` (increment, offset).
    pub auto_increment: Option<(u16, u16)>,
    /// `Q_CHARSET` (client, connection, server).
    pub charset: Option<(u16, u16, u16)>,
    /// Error code the statement ended with on the source.
    pub error_code: u32,
    /// Server id from the event header.
    pub server_id: u32,
    /// Connection (pseudo thread) id.
    pub thread_id: u64,
    /// Whether this is a DDL statement (also in the logical output, as the
    /// record at index `logical_before`).
    pub ddl: bool,
    /// How many of the transaction's logical records precede this statement
    /// in the binlog (the interleaving of statements and row events in
    /// MIXED logs).
    pub logical_before: usize,
}

impl ImportedStatement {
    /// The native STATEMENT record, borrowing from `self`.
    pub fn as_statement(&self) -> Statement<'_> {
        let mut ctx = Context {
            database: self.database.as_deref(),
            timestamp_us: self.timestamp_us,
            rand_seed: self
                .rand_seed
                .map(|(seed1, seed2)| RandSeed { seed1, seed2 }),
            insert_id: self.insert_id,
            last_insert_id: self.last_insert_id,
            user_vars: Some(Vec::new()),
            sql_mode: self.sql_mode,
            sql_mode_text: None,
            time_zone: self.time_zone.as_deref(),
            auto_increment: self
                .auto_increment
                .map(|(increment, offset)| AutoIncrement { increment, offset }),
            charset: self.charset.map(|(client, connection, server)| Charset {
                client,
                connection,
                server,
            }),
            error_code: Some(self.error_code),
            server_id: Some(self.server_id),
            thread_id: Some(self.thread_id),
        };
        for (n, v) in &self.user_vars {
            ctx.set_user_var(n, v.clone());
        }
        Statement::new(&self.sql).with_context(ctx)
    }
}

/// An owned column type (see [`ColumnType`], which borrows its labels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TypeSpec {
    /// A type without strings (never `Enum`, `Set` or `Other`).
    Plain(#[serde(serialize_with = "ser_type")] ColumnType<'static>),
    /// ENUM with its labels.
    Enum(Vec<String>),
    /// SET with its members.
    Set(Vec<String>),
    /// Any other type by name.
    Other(String),
}

fn ser_type<S: serde::Serializer>(t: &ColumnType<'static>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{t:?}"))
}

impl TypeSpec {
    /// The logical column type, borrowing labels from `self`.
    pub fn column_type(&self) -> ColumnType<'_> {
        match self {
            TypeSpec::Plain(t) => t.clone(),
            TypeSpec::Enum(l) => ColumnType::Enum(l.iter().map(String::as_str).collect()),
            TypeSpec::Set(l) => ColumnType::Set(l.iter().map(String::as_str).collect()),
            TypeSpec::Other(n) => ColumnType::Other(n),
        }
    }
}

/// Where a relation's column names came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NamesFrom {
    /// TABLE_MAP optional metadata (`binlog_row_metadata=FULL`).
    TableMap,
    /// CREATE/ALTER TABLE statements earlier in the same log.
    SchemaHistory,
    /// Neither: `@1..@n`.
    Positional,
}

/// One column of an imported relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnDef {
    /// Name (`@n` when unknown).
    pub name: String,
    /// Type.
    pub ty: TypeSpec,
    /// Accepts NULL (from the table map's null bitmap).
    pub nullable: bool,
    /// Part of the primary key.
    pub key: bool,
    /// AUTO_INCREMENT (schema history only).
    pub auto_increment: bool,
}

/// An owned RELATION.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelationDef {
    /// Relation id.
    pub relation_id: u32,
    /// Schema version, from 1.
    pub schema_version: u32,
    /// Database.
    pub database: String,
    /// Table.
    pub table: String,
    /// Columns in table order.
    pub columns: Vec<ColumnDef>,
    /// Where the names came from.
    pub names_from: NamesFrom,
}

impl RelationDef {
    /// The native RELATION record.
    pub fn as_relation(&self) -> Relation<'_> {
        Relation {
            relation_id: self.relation_id,
            schema_version: self.schema_version,
            database: &self.database,
            table: &self.table,
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: &c.name,
                    ty: c.ty.column_type(),
                    nullable: c.nullable,
                    key: c.key,
                    auto_increment: c.auto_increment,
                })
                .collect(),
        }
    }

    /// Whether the relation has a primary key.
    pub fn has_key(&self) -> bool {
        self.columns.iter().any(|c| c.key)
    }

    /// Same definition, ignoring id and version.
    pub(crate) fn same_shape(&self, other: &RelationDef) -> bool {
        self.database == other.database
            && self.table == other.table
            && self.columns == other.columns
    }
}

/// An owned tuple column: `None` is "unchanged / not sent".
pub type Cell = Option<Value<'static>>;

/// An owned logical record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "UPPERCASE")]
pub enum LogicalOp {
    /// RELATION, sent before the first use of a table in the log and
    /// again with a higher schema version when its definition changes.
    Relation(RelationDef),
    /// INSERT.
    Insert {
        /// Relation id.
        relation_id: u32,
        /// New row.
        new: Vec<Value<'static>>,
    },
    /// UPDATE.
    Update {
        /// Relation id.
        relation_id: u32,
        /// Before image: kind and columns (`None` = unchanged).
        before: Option<(ImageKind, Vec<Cell>)>,
        /// After image (`None` = unchanged / not in the binlog's image).
        after: Vec<Cell>,
    },
    /// DELETE.
    Delete {
        /// Relation id.
        relation_id: u32,
        /// Before image kind.
        kind: ImageKind,
        /// Before image columns.
        before: Vec<Cell>,
    },
    /// TRUNCATE of relations already bound in the log.
    Truncate {
        /// Relation ids.
        relation_ids: Vec<u32>,
    },
    /// DDL text.
    Ddl {
        /// Default database of the statement.
        database: String,
        /// SQL text.
        sql: String,
    },
}

fn tuple(cells: &[Cell]) -> Result<TupleBuf, String> {
    let mut t = TupleBuf::new();
    for c in cells {
        match c {
            Some(v) => t.push_value(v)?,
            None => t.push_unchanged()?,
        }
    }
    Ok(t)
}

impl LogicalOp {
    /// Name of the record type.
    pub fn type_name(&self) -> &'static str {
        match self {
            LogicalOp::Relation(_) => "RELATION",
            LogicalOp::Insert { .. } => "INSERT",
            LogicalOp::Update { .. } => "UPDATE",
            LogicalOp::Delete { .. } => "DELETE",
            LogicalOp::Truncate { .. } => "TRUNCATE",
            LogicalOp::Ddl { .. } => "DDL",
        }
    }

    /// Appends the native logical record body to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), String> {
        match self {
            LogicalOp::Relation(r) => LogicalRecord::Relation(r.as_relation()).encode(out),
            LogicalOp::Insert { relation_id, new } => {
                let t = TupleBuf::from_values(new.iter().cloned())?;
                LogicalRecord::Insert(Insert {
                    relation_id: *relation_id,
                    new: t.as_tuple(),
                })
                .encode(out)
            }
            LogicalOp::Update {
                relation_id,
                before,
                after,
            } => {
                let b = match before {
                    Some((k, cells)) => Some((*k, tuple(cells)?)),
                    None => None,
                };
                let a = tuple(after)?;
                LogicalRecord::Update(Update {
                    relation_id: *relation_id,
                    before: b.as_ref().map(|(kind, t)| OldImage {
                        kind: *kind,
                        values: t.as_tuple(),
                    }),
                    after: a.as_tuple(),
                })
                .encode(out)
            }
            LogicalOp::Delete {
                relation_id,
                kind,
                before,
            } => {
                let b = tuple(before)?;
                LogicalRecord::Delete(Delete {
                    relation_id: *relation_id,
                    before: OldImage {
                        kind: *kind,
                        values: b.as_tuple(),
                    },
                })
                .encode(out)
            }
            LogicalOp::Truncate { relation_ids } => LogicalRecord::Truncate(Truncate {
                cascade: false,
                restart_identity: false,
                relation_ids: relation_ids.clone(),
            })
            .encode(out),
            LogicalOp::Ddl { database, sql } => {
                LogicalRecord::Ddl(Ddl { database, sql }).encode(out)
            }
        }
    }
}
