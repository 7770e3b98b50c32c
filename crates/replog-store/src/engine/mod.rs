//! The SQL engine: the [`Store`], its accessors and statement dispatch
//! ([`Store::execute`]); each job in a module of its own:
//!
//! - `session`: SET and the state a statement starts with;
//! - `txn`: transactions, commit with change capture, rollback, the undo log;
//! - `ddl`: schema changes, interpreted by the one DDL interpreter
//!   (`replog_schema::catalog`) on the store's definitions and run as
//!   transactions of their own;
//! - `dml`: INSERT / UPDATE / DELETE and the row lookups they share;
//! - `select`: queries;
//! - `apply`: statement replay and the follower's one row-change applier,
//!   whose conflict policy is a parameter.

use crate::capture::{CapturedStatement, CommittedTransaction, RowChange, StatementContext};
use crate::conflict::{Conflict, ConflictKind, ConflictPolicy, Resolution};
use crate::decimal::Decimal;
use crate::dump;
use crate::env::{Environment, MyRnd, SimEnvironment, VisitOrder};
use crate::error::{Error, ErrorKind, Result};
use crate::eval::{Ctx, Scope, Session, StmtState, compare};
use crate::lookup::{self, Probe};
use crate::script;
use crate::storage::{MemStorage, Storage, TableId, primary_key};
use crate::types::{Column, ColumnDefault, Datum, Row, SqlType, StoreAt, TableDef, store};
use replog_core::Value;
use sqlparser::ast::{
    Assignment, AssignmentTarget, Delete, Expr, FromTable, Insert, LimitClause, ObjectName,
    ObjectType, OnInsert, OrderByKind, OrderBySort, Query, SelectItem, SetExpr, Statement,
    TableFactor, TableObject, TableWithJoins, Update, Use,
};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

mod apply;
mod ddl;
mod dml;
mod multi;
mod select;
mod session;
mod txn;

use dml::{implicit_default, push_reason};
use select::cmp_sort_keys;
pub use select::{MAX_RECURSION_ROUNDS, MAX_RELATION_VALUES};
use txn::{OpenTxn, Undo};

/// Rows returned by a query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultSet {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Datum>>,
}

/// What executing one statement did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatementResult {
    /// Affected rows, as MySQL counts them (ODKU updates count 2, REPLACE
    /// counts deleted plus inserted rows).
    pub affected_rows: u64,
    /// Result of a query.
    pub result: Option<ResultSet>,
    /// Warnings and notes.
    pub warnings: Vec<String>,
}

/// The embedded store: a storage engine, an environment, one session.
///
/// ```
/// use replog_store::{Store, SimEnvironment};
/// let mut store = Store::new(SimEnvironment::default());
/// store.execute_script("CREATE DATABASE d; USE d;
///     CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10));
///     INSERT INTO t VALUES (2, 'b'), (1, 'a');").unwrap();
/// assert_eq!(store.dump_table("d", "t").unwrap(), "1\ta\n2\tb\n");
/// assert_eq!(store.committed().len(), 3);
/// ```
pub struct Store<S: Storage = MemStorage, E: Environment = SimEnvironment> {
    storage: S,
    env: E,
    session: Session,
    undo: Vec<Undo>,
    open: Option<OpenTxn>,
    committed: Vec<CommittedTransaction>,
    next_txid: u64,
    defs: BTreeMap<TableId, Arc<TableDef>>,
    next_context: Option<StatementContext>,
    parse_cache: crate::parse_cache::ParseCache,
    rows_read: u64,
}

/// `(database, table)` of a name, as the catalog reads it.
fn ident_name(name: &ObjectName) -> Result<(Option<String>, String)> {
    replog_schema::catalog::name_parts(name, replog_schema::catalog::DdlMode::Execute)
}

impl<E: Environment> Store<MemStorage, E> {
    /// An empty in-memory store.
    pub fn new(env: E) -> Store<MemStorage, E> {
        Store::with_storage(MemStorage::new(), env)
    }
}

impl<S: Storage, E: Environment> Store<S, E> {
    /// A store over a given storage engine. The session's RAND() seeds are
    /// drawn from the environment, as a server does at connect.
    pub fn with_storage(storage: S, mut env: E) -> Store<S, E> {
        let r = env.random_u64();
        let session = Session {
            database: None,
            user_vars: BTreeMap::new(),
            last_insert_id: 0,
            rand: MyRnd::new(r & 0xFFFF_FFFF, r >> 32),
            timestamp: None,
            insert_id: None,
            user: "root@localhost".into(),
            server_id: 1,
            autocommit: true,
            settings: BTreeMap::new(),
            max_allowed_packet: crate::functions::DEFAULT_MAX_ALLOWED_PACKET,
        };
        Store {
            storage,
            env,
            session,
            undo: Vec::new(),
            open: None,
            committed: Vec::new(),
            next_txid: 1,
            defs: BTreeMap::new(),
            next_context: None,
            parse_cache: crate::parse_cache::ParseCache::default(),
            rows_read: 0,
        }
    }

    /// How many rows statements have read from storage to test their WHERE
    /// (or to find the rows an UPDATE, DELETE or SELECT works on) since the
    /// store was made: what a plan visits, for tests and benchmarks.
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// The storage engine.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The storage engine, giving up the store (any open transaction is
    /// dropped uncommitted): e.g. to finish a page engine's WAL.
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// The environment.
    pub fn env_mut(&mut self) -> &mut E {
        &mut self.env
    }

    /// The session's current RAND() seeds.
    pub fn rand_seeds(&self) -> MyRnd {
        self.session.rand
    }

    /// Sets the session's RAND() seeds (what a RAND event does).
    pub fn set_rand_seeds(&mut self, r: MyRnd) {
        self.session.rand = r;
    }

    /// The session's `max_allowed_packet`, in bytes.
    pub fn max_allowed_packet(&self) -> u64 {
        self.session.max_allowed_packet
    }

    /// Sets `max_allowed_packet` (what `SET GLOBAL max_allowed_packet`
    /// does): the longest statement [`Store::execute`] accepts is one byte
    /// less (MariaDB counts the command byte of its packet), and a string
    /// function whose result would be longer returns NULL with warning
    /// 1301. MariaDB's range, 1 KiB to 1 GiB, rounded down to a multiple of
    /// 1 KiB; another value is an error naming the range.
    pub fn set_max_allowed_packet(&mut self, bytes: u64) -> Result<()> {
        use crate::functions::{MAX_MAX_ALLOWED_PACKET, MIN_MAX_ALLOWED_PACKET};
        if !(MIN_MAX_ALLOWED_PACKET..=MAX_MAX_ALLOWED_PACKET).contains(&bytes) {
            return Err(Error::new(
                ErrorKind::BadValue,
                format!(
                    "max_allowed_packet {bytes} is out of range: from {MIN_MAX_ALLOWED_PACKET} to {MAX_MAX_ALLOWED_PACKET} bytes"
                ),
            ));
        }
        self.session.max_allowed_packet = bytes / 1024 * 1024;
        Ok(())
    }

    /// Sets what USER()/CURRENT_USER() return.
    pub fn set_user(&mut self, user: &str) {
        self.session.user = user.to_string();
    }

    /// The default database.
    pub fn database(&self) -> Option<&str> {
        self.session.database.as_deref()
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.open.is_some()
    }

    /// Transactions committed so far (oldest first).
    pub fn committed(&self) -> &[CommittedTransaction] {
        &self.committed
    }

    /// Takes the committed transactions out of the store.
    pub fn take_committed(&mut self) -> Vec<CommittedTransaction> {
        std::mem::take(&mut self.committed)
    }

    /// The store digest: wrapping sum of every table digest.
    pub fn digest(&self) -> u64 {
        self.storage
            .tables()
            .into_iter()
            .fold(0u64, |a, id| a.wrapping_add(self.storage.digest(id)))
    }

    /// The digest of one table.
    pub fn table_digest(&self, db: &str, table: &str) -> Result<u64> {
        let id = self.table_id(db, table)?;
        Ok(self.storage.digest(id))
    }

    fn table_id(&self, db: &str, table: &str) -> Result<TableId> {
        self.storage.lookup(db, table).ok_or_else(|| {
            Error::new(
                ErrorKind::UnknownTable,
                format!("Table '{db}.{table}' doesn't exist"),
            )
        })
    }

    /// `db.table` of every table, in order.
    pub fn table_names(&self) -> Vec<(String, String)> {
        self.storage
            .tables()
            .into_iter()
            .filter_map(|id| {
                self.storage
                    .def(id)
                    .map(|d| (d.database.clone(), d.name.clone()))
            })
            .collect()
    }

    /// A table's definition.
    pub fn table_def(&self, db: &str, table: &str) -> Option<&TableDef> {
        self.storage
            .lookup(db, table)
            .and_then(|id| self.storage.def(id))
    }

    /// One table's rows in primary-key order as TSV, byte-identical to the
    /// MariaDB fixtures' `tables/<db>.<table>.tsv` (see `formats/store.md`).
    pub fn dump_table(&self, db: &str, table: &str) -> Result<String> {
        let id = self.table_id(db, table)?;
        let def = self
            .storage
            .def(id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownTable, "table vanished"))?;
        let mut out = String::new();
        for k in self.storage.keys(id) {
            if let Some(row) = self.storage.get(id, &k) {
                dump::push_row(def, &row, &mut out);
            }
        }
        Ok(out)
    }

    /// Every table: a `-- db.table` line then its TSV rows.
    pub fn dump(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        for (db, t) in self.table_names() {
            writeln!(w, "-- {db}.{t}")?;
            let s = self.dump_table(&db, &t).map_err(std::io::Error::other)?;
            w.write_all(s.as_bytes())?;
        }
        Ok(())
    }

    fn arc_def(&mut self, id: TableId) -> Result<Arc<TableDef>> {
        let def = self
            .storage
            .def(id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownTable, "table vanished"))?;
        // Every schema change goes through `ddl_with_changes`, which empties
        // this cache, so a cached definition is the storage's.
        if let Some(a) = self.defs.get(&id) {
            debug_assert!(**a == *def, "stale cached table definition");
            return Ok(a.clone());
        }
        let a = Arc::new(def.clone());
        self.defs.insert(id, a.clone());
        Ok(a)
    }

    fn resolve(&self, name: &ObjectName) -> Result<TableId> {
        let (db, t) = ident_name(name)?;
        let db = match db.or_else(|| self.session.database.clone()) {
            Some(d) => d,
            None => return Err(Error::new(ErrorKind::NoDatabase, "No database selected")),
        };
        self.table_id(&db, &t)
    }

    // ----- statements ------------------------------------------------

    /// Executes a script: statements separated by `;` (comments allowed).
    /// Stops at the first error, which names the statement.
    pub fn execute_script(&mut self, sql: &str) -> Result<Vec<StatementResult>> {
        script::split(sql)?
            .into_iter()
            .map(|s| self.execute(s))
            .collect()
    }

    /// Executes one statement.
    pub fn execute(&mut self, sql: &str) -> Result<StatementResult> {
        self.check_packet(sql)?;
        // Chains of operators nest as deep as the text is long.
        crate::deep::with_stack(sql.len(), || self.execute_on_stack(sql))
    }

    fn execute_on_stack(&mut self, sql: &str) -> Result<StatementResult> {
        let stmts =
            self.parse_cache.parse(sql).map_err(
                |e| match replog_schema::objects::non_table_ddl(sql) {
                    // A routine's body in MariaDB's dialect is not for the
                    // parser: named, not a parser error.
                    Some(ddl) => Error::unsupported(ddl).with_statement(sql),
                    None => Error::new(ErrorKind::Parse, e.to_string()).with_statement(sql),
                },
            )?;
        let [stmt] = stmts.as_slice() else {
            return Err(Error::new(
                ErrorKind::Parse,
                format!("expected one statement, found {}", stmts.len()),
            )
            .with_statement(sql));
        };
        let r = self.run(stmt, sql).map_err(|e| {
            // A value strict mode refuses (too long, out of range,
            // incorrect) is one non-strict MariaDB would have adjusted:
            // refused as unsupported, not passed off as MariaDB's error.
            match self.non_strict() {
                Some(mode)
                    if matches!(e.kind(), ErrorKind::OutOfRange | ErrorKind::BadValue)
                        && e.message().contains(" for column '") =>
                {
                    Error::unsupported(format!(
                        "non-strict sql_mode '{mode}' (the store applies strict mode; MariaDB would store an adjusted value with a warning): {}",
                        e.message()
                    ))
                    .with_statement(sql)
                }
                _ => e.with_statement(sql),
            }
        });
        self.next_context = None;
        r
    }

    /// MariaDB refuses a statement whose packet (a command byte and the
    /// text) reaches `max_allowed_packet` (never less than
    /// `net_buffer_length`, 16 KiB) with error 1153 and closes the
    /// connection; the store refuses it before reading it. A replayed
    /// statement (with a captured context) is bounded by
    /// `slave_max_allowed_packet`, 1 GiB, as on a replica.
    fn check_packet(&mut self, sql: &str) -> Result<()> {
        const NET_BUFFER_LENGTH: u64 = 16 << 10;
        let limit = if self.next_context.is_some() {
            crate::functions::MAX_MAX_ALLOWED_PACKET
        } else {
            self.session.max_allowed_packet.max(NET_BUFFER_LENGTH)
        };
        let packet = sql.len() as u64 + 1;
        if packet < limit {
            return Ok(());
        }
        self.next_context = None;
        Err(Error::new(
            ErrorKind::PacketTooLarge,
            format!(
                "Got a packet bigger than 'max_allowed_packet' bytes: a statement of {} bytes, max_allowed_packet is {} (raise it with SET GLOBAL max_allowed_packet = BYTES, at most {} bytes)",
                sql.len(),
                self.session.max_allowed_packet,
                crate::functions::MAX_MAX_ALLOWED_PACKET
            ),
        )
        .with_statement(sql))
    }

    /// Runs a query and returns its rows.
    pub fn query(&mut self, sql: &str) -> Result<ResultSet> {
        self.execute(sql)?
            .result
            .ok_or_else(|| Error::new(ErrorKind::Unsupported, "not a query").with_statement(sql))
    }

    fn run(&mut self, stmt: &Statement, sql: &str) -> Result<StatementResult> {
        match stmt {
            Statement::StartTransaction {
                modes,
                statements,
                exception,
                ..
            } => {
                if !modes.is_empty() || !statements.is_empty() || exception.is_some() {
                    return Err(Error::unsupported("transaction modes"));
                }
                self.commit_open()?;
                self.open = Some(OpenTxn {
                    statements: Vec::new(),
                    state_before: self.digest(),
                    timestamp_us: 0,
                    explicit: true,
                    savepoints: Vec::new(),
                });
                Ok(StatementResult::default())
            }
            Statement::Commit { chain: false, .. } => {
                self.commit_open()?;
                Ok(StatementResult::default())
            }
            Statement::Rollback {
                chain: false,
                savepoint: None,
            } => {
                self.rollback_open();
                Ok(StatementResult::default())
            }
            Statement::Rollback {
                chain: false,
                savepoint: Some(name),
            } => self.back_to_savepoint(&name.value, false),
            Statement::Savepoint { name } => self.savepoint(&name.value),
            Statement::ReleaseSavepoint { name } => self.back_to_savepoint(&name.value, true),
            Statement::Use(u) => {
                let name = match u {
                    Use::Object(n) | Use::Database(n) | Use::Schema(n) => n,
                    _ => return Err(Error::unsupported(format!("statement {stmt}"))),
                };
                let (None, db) = ident_name(name)? else {
                    return Err(Error::unsupported(format!("statement {stmt}")));
                };
                if !self.storage.database_exists(&db) {
                    return Err(Error::new(
                        ErrorKind::UnknownDatabase,
                        format!("Unknown database '{db}'"),
                    ));
                }
                self.session.database = Some(db);
                Ok(StatementResult::default())
            }
            Statement::Set(set) => self.set(set),
            // MariaDB's affected rows: 1 for a database created, the
            // number of tables for one dropped.
            Statement::CreateDatabase { db_name, .. } => {
                let existed = ident_name(db_name)
                    .map(|(_, d)| self.storage.database_exists(&d))
                    .unwrap_or(false);
                let mut r = self.schema_ddl(stmt, sql)?;
                r.affected_rows = u64::from(!existed);
                Ok(r)
            }
            Statement::Drop {
                object_type: ObjectType::Database | ObjectType::Schema,
                names,
                ..
            } => {
                let mut tables = 0;
                for n in names {
                    if let Ok((_, d)) = ident_name(n) {
                        tables +=
                            self.table_names().iter().filter(|(db, _)| *db == d).count() as u64;
                    }
                }
                let mut r = self.schema_ddl(stmt, sql)?;
                r.affected_rows = tables;
                Ok(r)
            }
            Statement::RenameTable(_)
            | Statement::CreateTable(_)
            | Statement::Drop {
                object_type: ObjectType::Table,
                cascade: false,
                restrict: false,
                purge: false,
                temporary: false,
                ..
            }
            | Statement::AlterTable(_) => self.schema_ddl(stmt, sql),
            Statement::Truncate(t) => {
                if t.table_names.len() > 1 {
                    // MariaDB's TRUNCATE takes one table.
                    return Err(Error::new(
                        ErrorKind::Parse,
                        "You have an error in your SQL syntax: TRUNCATE takes one table",
                    ));
                }
                if t.partitions.is_some()
                    || t.identity.is_some()
                    || t.cascade.is_some()
                    || t.on_cluster.is_some()
                {
                    return Err(Error::unsupported("TRUNCATE variant"));
                }
                let mut ids = Vec::new();
                for n in &t.table_names {
                    ids.push(self.resolve(&n.name)?);
                }
                let mut tables = Vec::new();
                for &id in &ids {
                    tables.push(self.arc_def(id)?);
                }
                self.ddl_with_changes(
                    sql,
                    tables
                        .into_iter()
                        .map(|table| RowChange::Truncate { table })
                        .collect(),
                    |s, _| {
                        for &id in &ids {
                            s.storage.truncate(id)?;
                        }
                        Ok(())
                    },
                )
            }
            Statement::Insert(ins) => self.dml(sql, |s, st, ch| {
                st.long_result_is_error = s.non_strict().is_none();
                s.insert(st, ch, ins)
            }),
            Statement::Update(u) => self.dml(sql, |s, st, ch| {
                st.long_result_is_error = s.non_strict().is_none();
                s.update(st, ch, u)
            }),
            Statement::Delete(d) => self.dml(sql, |s, st, ch| s.delete(st, ch, d)),
            Statement::Query(q) => {
                let mut st = self.start_statement(false);
                let rs = self.select(&mut st, q)?;
                Ok(StatementResult {
                    affected_rows: 0,
                    result: Some(rs),
                    warnings: st.warnings,
                })
            }
            other => {
                if let Some(ddl) = replog_schema::objects::non_table_ddl(sql) {
                    return Err(Error::unsupported(ddl));
                }
                let s = other.to_string();
                let head: String = s.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
                Err(Error::unsupported(format!("statement `{head} …`")))
            }
        }
    }

    // ----- row visits ------------------------------------------------

    // ----- INSERT / REPLACE ------------------------------------------

    // ----- UPDATE / DELETE -------------------------------------------

    // ----- SELECT ----------------------------------------------------

    // ----- follower paths ----------------------------------------------
}
