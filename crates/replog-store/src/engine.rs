//! The SQL engine: statement dispatch, DML/DDL execution, transactions with
//! an undo log, change capture and the follower apply paths.

use crate::capture::{CapturedStatement, CommittedTransaction, RowChange, StatementContext};
use crate::conflict::{Conflict, ConflictKind, ConflictPolicy, Resolution};
use crate::decimal::Decimal;
use crate::dump;
use crate::env::{Environment, MyRnd, SimEnvironment, VisitOrder};
use crate::error::{Error, ErrorKind, Result};
use crate::eval::{Ctx, Scope, Session, StmtState, compare};
use crate::lookup::{self, Probe};
use crate::schema;
use crate::script;
use crate::storage::{MemStorage, Storage, TableId, primary_key};
use crate::types::{Column, ColumnDefault, Datum, Row, SqlType, StoreAt, TableDef, store};
use replog_core::Value;
use sqlparser::ast::{
    AlterTableOperation, Assignment, AssignmentTarget, Delete, Expr, FromTable, Insert,
    LimitClause, MySQLColumnPosition as ColumnPosition, ObjectName, ObjectType, OnInsert,
    OrderByKind, OrderBySort, Query, SelectItem, SetExpr, Statement, TableFactor, TableObject,
    TableWithJoins, Update, Use,
};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

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
pub struct Outcome {
    /// Affected rows, as MySQL counts them (ODKU updates count 2, REPLACE
    /// counts deleted plus inserted rows).
    pub affected_rows: u64,
    /// Result of a query.
    pub result: Option<ResultSet>,
    /// Warnings and notes.
    pub warnings: Vec<String>,
}

#[derive(Debug)]
enum Undo {
    Inserted {
        id: TableId,
        key: Vec<u8>,
    },
    Deleted {
        id: TableId,
        row: Row,
    },
    Updated {
        id: TableId,
        new_key: Vec<u8>,
        old: Row,
    },
}

#[derive(Debug)]
struct OpenTxn {
    statements: Vec<CapturedStatement>,
    state_before: u64,
    timestamp_us: i64,
    explicit: bool,
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
}

fn ident_name(name: &ObjectName) -> Result<(Option<String>, String)> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(|i| i.value.clone()))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::unsupported(format!("name {name}")))?;
    match parts.as_slice() {
        [t] => Ok((None, t.clone())),
        [d, t] => Ok((Some(d.clone()), t.clone())),
        _ => Err(Error::unsupported(format!("name {name}"))),
    }
}

fn implicit_default(c: &Column) -> Value<'static> {
    match &c.ty {
        SqlType::Int { unsigned: true, .. } | SqlType::Year | SqlType::Bit(_) => Value::UInt(0),
        SqlType::Int { .. } => Value::Int(0),
        SqlType::Decimal { scale, .. } => Value::Decimal(Cow::Owned(
            Decimal::zero().round_to(u32::from(*scale)).to_string(),
        )),
        SqlType::Float => Value::F32(0.0),
        SqlType::Double => Value::F64(0.0),
        SqlType::Char(_) | SqlType::VarChar(_) | SqlType::Text(_) => Value::Text(Cow::Borrowed("")),
        SqlType::Json => Value::Json(Cow::Borrowed("")),
        SqlType::Binary(n) => Value::Bytes(Cow::Owned(vec![0; *n as usize])),
        SqlType::VarBinary(_) | SqlType::Blob(_) => Value::Bytes(Cow::Borrowed(b"")),
        SqlType::Date => Value::Date(crate::types::ZERO_DATETIME.date),
        SqlType::Time(_) => Value::Time(0),
        SqlType::DateTime(_) => Value::DateTime(crate::types::ZERO_DATETIME),
        SqlType::Timestamp(_) => Value::Timestamp(0),
        SqlType::Enum(l) => Value::Enum(Cow::Owned(l.first().cloned().unwrap_or_default())),
        SqlType::Set(_) => Value::Set(Cow::Borrowed("")),
    }
}

fn not_null_error(c: &Column) -> Error {
    Error::new(
        ErrorKind::NotNull,
        format!("Column '{}' cannot be null", c.name),
    )
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
        }
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
    pub fn execute_script(&mut self, sql: &str) -> Result<Vec<Outcome>> {
        script::split(sql)?
            .into_iter()
            .map(|s| self.execute(s))
            .collect()
    }

    /// Executes one statement.
    pub fn execute(&mut self, sql: &str) -> Result<Outcome> {
        // Chains of operators nest as deep as the text is long.
        crate::deep::with_stack(sql.len(), || self.execute_on_stack(sql))
    }

    fn execute_on_stack(&mut self, sql: &str) -> Result<Outcome> {
        let stmts = self
            .parse_cache
            .parse(sql)
            .map_err(|e| Error::new(ErrorKind::Parse, e.to_string()).with_statement(sql))?;
        let [stmt] = stmts.as_slice() else {
            return Err(Error::new(
                ErrorKind::Parse,
                format!("expected one statement, found {}", stmts.len()),
            )
            .with_statement(sql));
        };
        let r = self.run(stmt, sql).map_err(|e| e.with_statement(sql));
        self.next_context = None;
        r
    }

    /// Runs a query and returns its rows.
    pub fn query(&mut self, sql: &str) -> Result<ResultSet> {
        self.execute(sql)?
            .result
            .ok_or_else(|| Error::new(ErrorKind::Unsupported, "not a query").with_statement(sql))
    }

    fn run(&mut self, stmt: &Statement, sql: &str) -> Result<Outcome> {
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
                });
                Ok(Outcome::default())
            }
            Statement::Commit { chain: false, .. } => {
                self.commit_open()?;
                Ok(Outcome::default())
            }
            Statement::Rollback {
                chain: false,
                savepoint: None,
            } => {
                self.rollback_open();
                Ok(Outcome::default())
            }
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
                Ok(Outcome::default())
            }
            Statement::Set(set) => self.set(set),
            Statement::CreateDatabase {
                db_name,
                if_not_exists,
                ..
            } => self.ddl(sql, |s, _| {
                let (None, db) = ident_name(db_name)? else {
                    return Err(Error::unsupported("qualified database name"));
                };
                if *if_not_exists && s.storage.database_exists(&db) {
                    return Ok(());
                }
                s.storage.create_database(&db)
            }),
            Statement::CreateTable(ct) => {
                if ct.or_replace
                    || ct.temporary
                    || ct.query.is_some()
                    || ct.like.is_some()
                    || ct.clone.is_some()
                {
                    return Err(Error::unsupported(
                        "CREATE TABLE variant (OR REPLACE / TEMPORARY / AS SELECT / LIKE)",
                    ));
                }
                self.ddl(sql, |s, _| {
                    let (db, name) = ident_name(&ct.name)?;
                    let db = db
                        .or_else(|| s.session.database.clone())
                        .ok_or_else(|| Error::new(ErrorKind::NoDatabase, "No database selected"))?;
                    if s.storage.lookup(&db, &name).is_some() {
                        if ct.if_not_exists {
                            return Ok(());
                        }
                        return Err(Error::new(
                            ErrorKind::TableExists,
                            format!("Table '{name}' already exists"),
                        ));
                    }
                    let mut st = StmtState::default();
                    let (session, env) = (&mut s.session, &mut s.env);
                    let mut eval_default = |e: &Expr| {
                        let mut cx = Ctx {
                            session,
                            env,
                            stmt: &mut st,
                        };
                        cx.eval(e, &Scope::default())
                    };
                    let def = schema::table_def(
                        &db,
                        &name,
                        &ct.columns,
                        &ct.constraints,
                        &mut eval_default,
                    )?;
                    s.storage.create_table(def).map(|_| ())
                })
            }
            Statement::Drop {
                object_type: ObjectType::Table,
                if_exists,
                names,
                cascade: false,
                restrict: false,
                purge: false,
                temporary: false,
                ..
            } => self.ddl(sql, |s, _| {
                for n in names {
                    match s.resolve(n) {
                        Ok(id) => s.storage.drop_table(id)?,
                        Err(e) if e.kind() == ErrorKind::UnknownTable => {
                            if !if_exists {
                                return Err(Error::new(
                                    ErrorKind::UnknownTable,
                                    format!("Unknown table '{n}'"),
                                ));
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }),
            Statement::AlterTable(at) => {
                if at.if_exists || at.only || at.on_cluster.is_some() || at.location.is_some() {
                    return Err(Error::unsupported("ALTER TABLE variant"));
                }
                self.ddl(sql, |s, now| {
                    let id = s.resolve(&at.name)?;
                    for op in &at.operations {
                        s.alter(id, op, now)?;
                    }
                    Ok(())
                })
            }
            Statement::Truncate(t) => {
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
            Statement::Insert(ins) => self.dml(sql, |s, st, ch| s.insert(st, ch, ins)),
            Statement::Update(u) => self.dml(sql, |s, st, ch| s.update(st, ch, u)),
            Statement::Delete(d) => self.dml(sql, |s, st, ch| s.delete(st, ch, d)),
            Statement::Query(q) => {
                let mut st = self.start_statement(false);
                let rs = self.select(&mut st, q)?;
                Ok(Outcome {
                    affected_rows: 0,
                    result: Some(rs),
                    warnings: st.warnings,
                })
            }
            other => {
                let s = other.to_string();
                let head: String = s.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
                Err(Error::unsupported(format!("statement `{head} …`")))
            }
        }
    }

    fn set(&mut self, set: &sqlparser::ast::Set) -> Result<Outcome> {
        use sqlparser::ast::Set as S;
        let pairs: Vec<(String, &Expr)> = match set {
            S::SingleAssignment {
                scope: _,
                hivevar: false,
                variable,
                values,
            } => {
                let [v] = values.as_slice() else {
                    return Err(Error::unsupported("SET with several values"));
                };
                vec![(variable.to_string(), v)]
            }
            S::MultipleAssignments { assignments } => assignments
                .iter()
                .map(|a| (a.name.to_string(), &a.value))
                .collect(),
            S::SetNames { .. } | S::SetNamesDefault {} => {
                return Ok(Outcome {
                    warnings: vec!["SET NAMES ignored".into()],
                    ..Outcome::default()
                });
            }
            other => return Err(Error::unsupported(format!("statement {other}"))),
        };
        let mut out = Outcome::default();
        let mut st = self.start_statement(false);
        for (name, value) in pairs {
            let is_default = matches!(value, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("DEFAULT"));
            if let Some(var) = name.strip_prefix('@').filter(|n| !n.starts_with('@')) {
                let mut cx = Ctx {
                    session: &mut self.session,
                    env: &mut self.env,
                    stmt: &mut st,
                };
                let v = cx.eval(value, &Scope::default())?;
                let key = var.trim_matches('`').to_ascii_lowercase();
                self.session.user_vars.insert(key, v);
                continue;
            }
            let lname = name.trim_start_matches('@').to_ascii_lowercase();
            let lname = lname
                .strip_prefix("session.")
                .or_else(|| lname.strip_prefix("local."))
                .unwrap_or(&lname)
                .to_string();
            let v = if is_default {
                Datum::Null
            } else {
                let mut cx = Ctx {
                    session: &mut self.session,
                    env: &mut self.env,
                    stmt: &mut st,
                };
                match value {
                    // ON / OFF and other bare words.
                    Expr::Identifier(i) if i.quote_style.is_none() && !i.value.starts_with('@') => {
                        Datum::Str(i.value.clone())
                    }
                    _ => cx.eval(value, &Scope::default())?,
                }
            };
            match lname.as_str() {
                "autocommit" => {
                    let on = match &v {
                        Datum::Str(s) => s.eq_ignore_ascii_case("ON") || s == "1",
                        d => d.truth() == Some(true),
                    } || is_default;
                    if on && !self.session.autocommit {
                        self.commit_open()?;
                    }
                    self.session.autocommit = on;
                }
                "timestamp" => {
                    self.session.timestamp = if is_default || v.is_null() {
                        None
                    } else {
                        let d = v.to_decimal().ok_or_else(|| {
                            Error::new(
                                ErrorKind::BadValue,
                                "Incorrect argument type to variable 'timestamp'",
                            )
                        })?;
                        let us = d
                            .mul(&Decimal::from_i64(1_000_000))
                            .and_then(|x| x.to_i128())
                            .and_then(|x| i64::try_from(x).ok());
                        Some(us.ok_or_else(|| {
                            Error::new(ErrorKind::BadValue, "timestamp out of range")
                        })?)
                    };
                }
                "insert_id" => {
                    self.session.insert_id = if is_default {
                        None
                    } else {
                        u64::try_from(v.to_i64()).ok()
                    }
                }
                "last_insert_id" => {
                    self.session.last_insert_id = u64::try_from(v.to_i64()).unwrap_or(0)
                }
                "rand_seed1" => {
                    self.session.rand.seed1 = v.to_i64().clamp(0, i64::from(u32::MAX)) as u32
                }
                "rand_seed2" => {
                    self.session.rand.seed2 = v.to_i64().clamp(0, i64::from(u32::MAX)) as u32
                }
                "server_id" => self.session.server_id = u64::try_from(v.to_i64()).unwrap_or(0),
                // CONNECTION_ID() of the statements that follow (what a
                // binlog's QUERY events carry): kept with the settings,
                // read by `start_statement`.
                "pseudo_thread_id" => {
                    let id = if is_default {
                        None
                    } else {
                        u64::try_from(v.to_i64()).ok()
                    };
                    match id {
                        Some(id) => self.session.settings.insert(lname, id.to_string()),
                        None => self.session.settings.remove(&lname),
                    };
                }
                other => {
                    let shown = v.to_text().unwrap_or_else(|| "DEFAULT".into());
                    out.warnings.push(format!(
                        "unknown session setting '{other}' recorded and ignored"
                    ));
                    self.session.settings.insert(other.to_string(), shown);
                }
            }
        }
        Ok(out)
    }

    fn start_statement(&mut self, write: bool) -> StmtState {
        let ctx = self.next_context.take();
        if let Some(c) = &ctx {
            self.session.database.clone_from(&c.database);
            if let Some(r) = c.rand_seed {
                self.session.rand = r;
            }
            if let Some(l) = c.last_insert_id {
                self.session.last_insert_id = l;
            }
            for (n, v) in &c.user_vars {
                self.session.user_vars.insert(n.clone(), v.clone());
            }
        }
        let now_us = match &ctx {
            Some(c) => c.timestamp_us,
            None => self
                .session
                .timestamp
                .unwrap_or_else(|| self.env.now_micros()),
        };
        let insert_id = match &ctx {
            Some(c) => c.insert_id,
            None => self.session.insert_id.take(),
        };
        StmtState {
            now_us,
            ctx: StatementContext {
                database: self.session.database.clone(),
                timestamp_us: now_us,
                ..StatementContext::default()
            },
            strict_div: write,
            insert_id_forced: insert_id,
            replay_thread_id: ctx.as_ref().and_then(|c| c.thread_id).or_else(|| {
                self.session
                    .settings
                    .get("pseudo_thread_id")
                    .and_then(|id| id.parse().ok())
            }),
            ..StmtState::default()
        }
    }

    /// Commits the open transaction, if any: one with statements gets the
    /// next txid, is captured and committed in the storage; one holding only
    /// applied row changes (a follower's) is committed in the storage; an
    /// empty one is rolled back in the storage. A storage commit failure
    /// rolls the transaction back and is returned.
    fn commit_open(&mut self) -> Result<()> {
        let Some(t) = self.open.take() else {
            self.undo.clear();
            return Ok(());
        };
        if t.statements.is_empty() {
            if self.undo.is_empty() {
                self.storage.rollback();
                return Ok(());
            }
            return self.commit_applied(None, t.timestamp_us, t.state_before);
        }
        let txid = self.next_txid;
        let after = self.digest();
        if let Err(e) = self
            .storage
            .commit(txid, t.timestamp_us, t.state_before, after)
        {
            self.undo_to(0);
            self.storage.rollback();
            return Err(e);
        }
        self.undo.clear();
        self.next_txid += 1;
        self.committed.push(CommittedTransaction {
            txid,
            timestamp_us: t.timestamp_us,
            statements: t.statements,
            state_before: t.state_before,
            state_after: after,
        });
        Ok(())
    }

    /// Commits applied (not captured) row changes in the storage, under the
    /// leader's txid when known; on failure they are undone.
    fn commit_applied(
        &mut self,
        txid: Option<u64>,
        timestamp_us: i64,
        state_before: u64,
    ) -> Result<()> {
        let txid = txid.unwrap_or(self.next_txid);
        self.next_txid = self.next_txid.max(txid.saturating_add(1));
        let after = self.digest();
        if let Err(e) = self.storage.commit(txid, timestamp_us, state_before, after) {
            self.undo_to(0);
            self.storage.rollback();
            return Err(e);
        }
        self.undo.clear();
        Ok(())
    }

    fn rollback_open(&mut self) {
        self.undo_to(0);
        self.open = None;
        self.storage.rollback();
    }

    fn undo_to(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let Some(u) = self.undo.pop() else { break };
            // Undo reverses operations that succeeded, so they succeed.
            let _ = match u {
                Undo::Inserted { id, key } => self.storage.delete(id, &key).map(|_| ()),
                Undo::Deleted { id, row } => self.storage.insert(id, row).map(|_| ()),
                Undo::Updated { id, new_key, old } => {
                    self.storage.update(id, &new_key, old).map(|_| ())
                }
            };
        }
    }

    fn ddl(&mut self, sql: &str, f: impl FnOnce(&mut Self, i64) -> Result<()>) -> Result<Outcome> {
        self.ddl_with_changes(sql, Vec::new(), f)
    }

    fn ddl_with_changes(
        &mut self,
        sql: &str,
        changes: Vec<RowChange>,
        f: impl FnOnce(&mut Self, i64) -> Result<()>,
    ) -> Result<Outcome> {
        // DDL commits any open transaction first (implicit commit), then
        // commits itself: two transactions in the storage too.
        self.commit_open()?;
        let st = self.start_statement(true);
        let before = self.digest();
        let shape = |s: &Self| (s.digest(), s.table_defs(), s.databases());
        let shape_before = shape(self);
        self.defs.clear();
        let res = f(self, st.now_us);
        self.defs.clear();
        if let Err(e) = res {
            // A DDL that failed without changing anything leaves nothing to
            // keep; one that failed halfway (e.g. DROP TABLE a, missing)
            // keeps its changes, which go with the next commit.
            if shape(self) == shape_before {
                self.storage.rollback();
            }
            return Err(e);
        }
        let txid = self.next_txid;
        let after = self.digest();
        self.storage.commit(txid, st.now_us, before, after)?;
        self.next_txid += 1;
        self.committed.push(CommittedTransaction {
            txid,
            timestamp_us: st.now_us,
            statements: vec![CapturedStatement {
                sql: sql.to_string(),
                context: st.ctx,
                is_ddl: true,
                changes,
                unsafe_reasons: Vec::new(),
            }],
            state_before: before,
            state_after: after,
        });
        Ok(Outcome::default())
    }

    fn dml(
        &mut self,
        sql: &str,
        f: impl FnOnce(&mut Self, &mut StmtState, &mut Vec<RowChange>) -> Result<u64>,
    ) -> Result<Outcome> {
        let mut st = self.start_statement(true);
        if self.open.is_none() {
            self.open = Some(OpenTxn {
                statements: Vec::new(),
                state_before: self.digest(),
                timestamp_us: st.now_us,
                explicit: false,
            });
        }
        if let Some(t) = self.open.as_mut()
            && t.statements.is_empty()
        {
            t.timestamp_us = st.now_us;
        }
        let mark = self.undo.len();
        let mut changes = Vec::new();
        match f(self, &mut st, &mut changes) {
            Ok(affected) => {
                if let Some(v) = st.first_generated {
                    self.session.last_insert_id = v;
                    st.ctx.insert_id = Some(st.insert_id_forced.map_or(v, |_| v));
                }
                if let Some(v) = st.set_last_insert_id {
                    self.session.last_insert_id = v;
                }
                st.ctx.insert_id = st.first_generated;
                let captured = CapturedStatement {
                    sql: sql.to_string(),
                    context: st.ctx,
                    is_ddl: false,
                    changes,
                    unsafe_reasons: st.unsafe_reasons,
                };
                let autocommit = self.session.autocommit;
                if let Some(t) = self.open.as_mut() {
                    t.statements.push(captured);
                    if !t.explicit && autocommit {
                        self.commit_open()?;
                    }
                }
                Ok(Outcome {
                    affected_rows: affected,
                    result: None,
                    warnings: st.warnings,
                })
            }
            Err(e) => {
                self.undo_to(mark);
                if let Some(t) = &self.open
                    && !t.explicit
                    && self.session.autocommit
                {
                    self.open = None;
                    self.storage.rollback();
                }
                Err(e)
            }
        }
    }

    // ----- row visits ------------------------------------------------

    fn visit_keys(&mut self, id: TableId) -> Vec<Vec<u8>> {
        let mut keys = self.storage.keys(id);
        match self.env.visit_order() {
            VisitOrder::Forward => {}
            VisitOrder::Reverse => keys.reverse(),
            VisitOrder::Shuffled => {
                for i in (1..keys.len()).rev() {
                    let j = (self.env.random_u64() % (i as u64 + 1)) as usize;
                    keys.swap(i, j);
                }
            }
        }
        keys
    }

    /// Rows of `id` matching `selection` in visit order: `(primary key,
    /// row)`. A WHERE that pins the primary key or a unique key visits only
    /// the rows with those keys (see `lookup`), in the order a scan would.
    fn candidate_rows(
        &mut self,
        st: &mut StmtState,
        id: TableId,
        def: &TableDef,
        selection: Option<&Expr>,
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        let keys = match selection.and_then(|w| self.probe_keys(st, id, def, w)) {
            Some(keys) => keys,
            None => self.visit_keys(id),
        };
        let mut out = Vec::new();
        for k in keys {
            let Some(row) = self.storage.get(id, &k) else {
                continue;
            };
            if let Some(w) = selection {
                let mut cx = Ctx {
                    session: &mut self.session,
                    env: &mut self.env,
                    stmt: st,
                };
                if cx
                    .eval(
                        w,
                        &Scope {
                            row: Some((def, &row)),
                            ..Scope::default()
                        },
                    )?
                    .truth()
                    != Some(true)
                {
                    continue;
                }
            }
            out.push((k, row));
        }
        Ok(out)
    }

    /// The primary keys to visit for a WHERE that pins a key, in visit
    /// order; `None` to scan.
    fn probe_keys(
        &mut self,
        st: &mut StmtState,
        id: TableId,
        def: &TableDef,
        w: &Expr,
    ) -> Option<Vec<Vec<u8>>> {
        let order = self.env.visit_order();
        if order == VisitOrder::Shuffled && !self.env.shuffle_key_lookups() {
            return None;
        }
        let probes = {
            let mut cx = Ctx {
                session: &mut self.session,
                env: &mut self.env,
                stmt: st,
            };
            lookup::plan(def, w, &mut |e| cx.eval(e, &Scope::default()).ok())?
        };
        let mut keys: Vec<Vec<u8>> = probes
            .into_iter()
            .filter_map(|p| match p {
                Probe::Primary(k) => Some(k),
                Probe::Unique(i, k) => self.storage.unique_lookup(id, i, &k),
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        match order {
            VisitOrder::Forward => {}
            VisitOrder::Reverse => keys.reverse(),
            VisitOrder::Shuffled => {
                // Only with `shuffle_key_lookups`: the pinned keys in a
                // random order, as `visit_keys` shuffles a scan.
                for i in (1..keys.len()).rev() {
                    let j = (self.env.random_u64() % (i as u64 + 1)) as usize;
                    keys.swap(i, j);
                }
            }
        }
        Some(keys)
    }

    /// Rows of `id` matching `selection`, ordered and limited:
    /// `(primary key, row)`.
    fn matching_rows(
        &mut self,
        st: &mut StmtState,
        id: TableId,
        def: &TableDef,
        selection: Option<&Expr>,
        order_by: &[sqlparser::ast::OrderByExpr],
        limit: Option<&Expr>,
    ) -> Result<Vec<(Vec<u8>, Row)>> {
        let mut out = self.candidate_rows(st, id, def, selection)?;
        if !order_by.is_empty() {
            let mut keyed = Vec::with_capacity(out.len());
            for (k, row) in out {
                let mut sort_keys = Vec::new();
                for o in order_by {
                    let mut cx = Ctx {
                        session: &mut self.session,
                        env: &mut self.env,
                        stmt: st,
                    };
                    sort_keys.push(cx.eval(
                        &o.expr,
                        &Scope {
                            row: Some((def, &row)),
                            ..Scope::default()
                        },
                    )?);
                }
                keyed.push((sort_keys, k, row));
            }
            let desc: Vec<bool> = order_by
                .iter()
                .map(|o| matches!(o.options.sort, Some(OrderBySort::Desc)))
                .collect();
            keyed.sort_by(|a, b| cmp_sort_keys(&a.0, &b.0, &desc));
            out = keyed.into_iter().map(|(_, k, r)| (k, r)).collect();
        }
        if let Some(l) = limit {
            if order_by.is_empty() {
                push_reason(st, "LIMIT without ORDER BY");
            }
            let n = self.limit_value(st, l)?;
            out.truncate(n);
        }
        Ok(out)
    }

    fn limit_value(&mut self, st: &mut StmtState, l: &Expr) -> Result<usize> {
        let mut cx = Ctx {
            session: &mut self.session,
            env: &mut self.env,
            stmt: st,
        };
        let v = cx.eval(l, &Scope::default())?;
        match v {
            Datum::Int(i) if i >= 0 => Ok(usize::try_from(i).unwrap_or(usize::MAX)),
            Datum::UInt(u) => Ok(usize::try_from(u).unwrap_or(usize::MAX)),
            _ => Err(Error::new(
                ErrorKind::BadValue,
                "LIMIT needs a non-negative integer",
            )),
        }
    }

    // ----- INSERT / REPLACE ------------------------------------------

    fn insert(
        &mut self,
        st: &mut StmtState,
        changes: &mut Vec<RowChange>,
        ins: &Insert,
    ) -> Result<u64> {
        if ins.or.is_some()
            || ins.table_alias.is_some()
            || ins.overwrite
            || !ins.assignments.is_empty()
            || ins.partitioned.is_some()
            || !ins.after_columns.is_empty()
            || ins.returning.is_some()
            || ins.insert_alias.is_some()
            || ins.settings.is_some()
            || ins.format_clause.is_some()
            || matches!(ins.on, Some(OnInsert::OnConflict(_)))
        {
            return Err(Error::unsupported(
                "INSERT variant (SET / aliases / RETURNING / ON CONFLICT / PARTITION)",
            ));
        }
        let TableObject::TableName(name) = &ins.table else {
            return Err(Error::unsupported("INSERT INTO a table function"));
        };
        let id = self.resolve(name)?;
        let def = self.arc_def(id)?;
        let targets: Vec<usize> = if ins.columns.is_empty() {
            (0..def.columns.len()).collect()
        } else {
            ins.columns
                .iter()
                .map(|c| {
                    let n =
                        c.0.last()
                            .and_then(|p| p.as_ident())
                            .map(|i| i.value.clone())
                            .unwrap_or_default();
                    def.column_index(&n).ok_or_else(|| {
                        Error::new(
                            ErrorKind::UnknownColumn,
                            format!("Unknown column '{n}' in 'field list'"),
                        )
                    })
                })
                .collect::<Result<_>>()?
        };
        let source = ins
            .source
            .as_ref()
            .ok_or_else(|| Error::unsupported("INSERT without VALUES or SELECT"))?;
        // Source rows: expressions (VALUES) or materialized datums (SELECT).
        enum Src<'q> {
            Exprs(Vec<&'q [Expr]>),
            Rows(Vec<Vec<Datum>>),
        }
        let src = match source.body.as_ref() {
            SetExpr::Values(v)
                if source.order_by.is_none()
                    && source.limit_clause.is_none()
                    && source.with.is_none() =>
            {
                Src::Exprs(v.rows.iter().map(|r| r.content.as_slice()).collect())
            }
            _ => {
                let ordered = source.order_by.is_some();
                let rs = self.select(st, source)?;
                if !ordered {
                    push_reason(st, "INSERT ... SELECT without ORDER BY");
                }
                Src::Rows(rs.rows)
            }
        };
        let n = match &src {
            Src::Exprs(r) => r.len(),
            Src::Rows(r) => r.len(),
        };
        let mut affected = 0u64;
        for i in 0..n {
            let given: Vec<Option<Datum>> = match &src {
                Src::Exprs(rows) => {
                    let r = rows[i];
                    if r.len() != targets.len() {
                        return Err(Error::new(
                            ErrorKind::ColumnCount,
                            format!("Column count doesn't match value count at row {}", i + 1),
                        ));
                    }
                    let mut out = Vec::with_capacity(r.len());
                    for e in r {
                        if matches!(e, Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("DEFAULT"))
                        {
                            out.push(None);
                        } else {
                            let mut cx = Ctx {
                                session: &mut self.session,
                                env: &mut self.env,
                                stmt: st,
                            };
                            out.push(Some(cx.eval(e, &Scope::default())?));
                        }
                    }
                    out
                }
                Src::Rows(rows) => {
                    if rows[i].len() != targets.len() {
                        return Err(Error::new(
                            ErrorKind::ColumnCount,
                            format!("Column count doesn't match value count at row {}", i + 1),
                        ));
                    }
                    rows[i].iter().cloned().map(Some).collect()
                }
            };
            let row = self.build_row(st, id, &def, &targets, given, i + 1)?;
            affected += self.insert_row(st, changes, id, &def, row, ins)?;
        }
        Ok(affected)
    }

    fn build_row(
        &mut self,
        st: &mut StmtState,
        id: TableId,
        def: &TableDef,
        targets: &[usize],
        given: Vec<Option<Datum>>,
        row_no: usize,
    ) -> Result<Row> {
        let mut slots: Vec<Option<Option<Datum>>> = vec![None; def.columns.len()];
        for (&c, v) in targets.iter().zip(given) {
            slots[c] = Some(v);
        }
        let mut row = Vec::with_capacity(def.columns.len());
        for (ci, col) in def.columns.iter().enumerate() {
            let at = StoreAt {
                column: col,
                row: row_no,
            };
            let explicit = match &slots[ci] {
                Some(Some(d)) => Some(d.clone()),
                _ => None,
            };
            if col.auto_increment {
                let v = match &explicit {
                    Some(d) if !d.is_null() => store(d, &at)?,
                    _ => Value::Null,
                };
                let n = match &v {
                    Value::Int(i) => u64::try_from(*i).ok(),
                    Value::UInt(u) => Some(*u),
                    _ => None,
                };
                match n {
                    Some(n) if n > 0 => {
                        let cur = self.storage.auto_increment(id);
                        if n >= cur {
                            self.storage.set_auto_increment(id, n.saturating_add(1));
                        }
                        row.push(v);
                    }
                    _ => {
                        let next = match st.insert_id_forced.take() {
                            Some(f) => f,
                            None => self.storage.auto_increment(id),
                        };
                        let stored = store(&Datum::UInt(next), &at).map_err(|_| {
                            Error::new(
                                ErrorKind::OutOfRange,
                                "Failed to read auto-increment value from storage engine",
                            )
                        })?;
                        let cur = self.storage.auto_increment(id);
                        if next >= cur {
                            self.storage.set_auto_increment(id, next.saturating_add(1));
                        }
                        st.first_generated.get_or_insert(next);
                        row.push(stored);
                    }
                }
                continue;
            }
            let v = match explicit {
                Some(d) => {
                    if d.is_null() && !col.nullable {
                        return Err(not_null_error(col));
                    }
                    store(&d, &at)?
                }
                None => match &col.default {
                    ColumnDefault::Value(v) => v.clone(),
                    ColumnDefault::CurrentTimestamp => store(
                        &Datum::DateTime(crate::types::timestamp_to_datetime(st.now_us)),
                        &at,
                    )?,
                    ColumnDefault::Missing => {
                        return Err(Error::new(
                            ErrorKind::NotNull,
                            format!("Field '{}' doesn't have a default value", col.name),
                        ));
                    }
                },
            };
            row.push(v);
        }
        Ok(row)
    }

    fn insert_row(
        &mut self,
        st: &mut StmtState,
        changes: &mut Vec<RowChange>,
        id: TableId,
        def: &Arc<TableDef>,
        row: Row,
        ins: &Insert,
    ) -> Result<u64> {
        let Some((key_name, existing)) = self.storage.find_conflict(id, &row, None) else {
            let key = self.storage.insert(id, row.clone())?;
            self.undo.push(Undo::Inserted { id, key });
            changes.push(RowChange::Insert {
                table: def.clone(),
                row,
            });
            return Ok(1);
        };
        if ins.replace_into {
            let mut affected = 0;
            let mut conflict = Some((key_name, existing));
            while let Some((_, k)) = conflict {
                let old = self.storage.delete(id, &k)?;
                self.undo.push(Undo::Deleted {
                    id,
                    row: old.clone(),
                });
                changes.push(RowChange::Delete {
                    table: def.clone(),
                    before: old,
                });
                affected += 1;
                conflict = self.storage.find_conflict(id, &row, None);
            }
            let key = self.storage.insert(id, row.clone())?;
            self.undo.push(Undo::Inserted { id, key });
            changes.push(RowChange::Insert {
                table: def.clone(),
                row,
            });
            return Ok(affected + 1);
        }
        if let Some(OnInsert::DuplicateKeyUpdate(assignments)) = &ins.on {
            if !def.unique_keys.is_empty() {
                push_reason(
                    st,
                    "ON DUPLICATE KEY UPDATE on a table with several unique keys",
                );
            }
            let Some(old) = self.storage.get(id, &existing) else {
                return Err(Error::new(ErrorKind::Conflict, "conflicting row vanished"));
            };
            let new = self.assign(st, def, &old, assignments, Some(&row), 1)?;
            if new == old {
                return Ok(0);
            }
            self.storage.update(id, &existing, new.clone())?;
            self.undo.push(Undo::Updated {
                id,
                new_key: primary_key(def, &new),
                old: old.clone(),
            });
            changes.push(RowChange::Update {
                table: def.clone(),
                before: old,
                after: new,
            });
            return Ok(2);
        }
        if ins.ignore {
            let shown = def
                .primary_key
                .iter()
                .map(|&i| row[i].to_string())
                .collect::<Vec<_>>()
                .join("-");
            st.warnings
                .push(format!("Duplicate entry '{shown}' for key '{key_name}'"));
            return Ok(0);
        }
        // Produce the storage engine's duplicate-key error.
        self.storage.insert(id, row).map(|_| 0)
    }

    /// Applies SET assignments to a row, left to right, each seeing the
    /// previous ones (MySQL's single-table UPDATE semantics).
    fn assign(
        &mut self,
        st: &mut StmtState,
        def: &TableDef,
        old: &Row,
        assignments: &[Assignment],
        values_row: Option<&Row>,
        row_no: usize,
    ) -> Result<Row> {
        let mut new = old.clone();
        for a in assignments {
            let AssignmentTarget::ColumnName(c) = &a.target else {
                return Err(Error::unsupported("tuple assignment"));
            };
            let cname =
                c.0.last()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.value.clone())
                    .unwrap_or_default();
            let ci = def.column_index(&cname).ok_or_else(|| {
                Error::new(
                    ErrorKind::UnknownColumn,
                    format!("Unknown column '{cname}' in 'field list'"),
                )
            })?;
            let col = &def.columns[ci];
            let d = if matches!(&a.value, Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("DEFAULT"))
            {
                match &col.default {
                    ColumnDefault::Value(v) => Datum::from_value(v),
                    ColumnDefault::CurrentTimestamp => {
                        Datum::DateTime(crate::types::timestamp_to_datetime(st.now_us))
                    }
                    ColumnDefault::Missing => Datum::from_value(&implicit_default(col)),
                }
            } else {
                let mut cx = Ctx {
                    session: &mut self.session,
                    env: &mut self.env,
                    stmt: st,
                };
                cx.eval(
                    &a.value,
                    &Scope {
                        row: Some((def, &new)),
                        values_row,
                        aliases: None,
                    },
                )?
            };
            if d.is_null() && !col.nullable {
                return Err(not_null_error(col));
            }
            new[ci] = store(
                &d,
                &StoreAt {
                    column: col,
                    row: row_no,
                },
            )?;
        }
        Ok(new)
    }

    // ----- UPDATE / DELETE -------------------------------------------

    fn single_table(&self, t: &TableWithJoins) -> Result<TableId> {
        if !t.joins.is_empty() {
            return Err(Error::unsupported("multi-table UPDATE/DELETE (joins)"));
        }
        match &t.relation {
            TableFactor::Table {
                name,
                args: None,
                with_hints,
                partitions,
                ..
            } if with_hints.is_empty() && partitions.is_empty() => self.resolve(name),
            other => Err(Error::unsupported(format!("table reference {other}"))),
        }
    }

    fn update(
        &mut self,
        st: &mut StmtState,
        changes: &mut Vec<RowChange>,
        u: &Update,
    ) -> Result<u64> {
        if u.from.is_some() || u.returning.is_some() || u.or.is_some() || u.output.is_some() {
            return Err(Error::unsupported("UPDATE variant (FROM / RETURNING / OR)"));
        }
        let id = self.single_table(&u.table)?;
        let def = self.arc_def(id)?;
        let rows = self.matching_rows(
            st,
            id,
            &def,
            u.selection.as_ref(),
            &u.order_by,
            u.limit.as_ref(),
        )?;
        let mut affected = 0;
        for (n, (key, old)) in rows.into_iter().enumerate() {
            let new = self.assign(st, &def, &old, &u.assignments, None, n + 1)?;
            if new == old {
                continue;
            }
            self.storage.update(id, &key, new.clone())?;
            self.undo.push(Undo::Updated {
                id,
                new_key: primary_key(&def, &new),
                old: old.clone(),
            });
            changes.push(RowChange::Update {
                table: def.clone(),
                before: old,
                after: new,
            });
            affected += 1;
        }
        Ok(affected)
    }

    fn delete(
        &mut self,
        st: &mut StmtState,
        changes: &mut Vec<RowChange>,
        d: &Delete,
    ) -> Result<u64> {
        if !d.tables.is_empty() || d.using.is_some() || d.returning.is_some() || d.output.is_some()
        {
            return Err(Error::unsupported("multi-table DELETE / USING / RETURNING"));
        }
        let tables = match &d.from {
            FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
        };
        let [t] = tables.as_slice() else {
            return Err(Error::unsupported("DELETE from several tables"));
        };
        let id = self.single_table(t)?;
        let def = self.arc_def(id)?;
        let rows = self.matching_rows(
            st,
            id,
            &def,
            d.selection.as_ref(),
            &d.order_by,
            d.limit.as_ref(),
        )?;
        let mut affected = 0;
        for (key, _) in rows {
            let old = self.storage.delete(id, &key)?;
            self.undo.push(Undo::Deleted {
                id,
                row: old.clone(),
            });
            changes.push(RowChange::Delete {
                table: def.clone(),
                before: old,
            });
            affected += 1;
        }
        Ok(affected)
    }

    // ----- SELECT ----------------------------------------------------

    fn select(&mut self, st: &mut StmtState, q: &Query) -> Result<ResultSet> {
        if q.with.is_some()
            || q.fetch.is_some()
            || !q.locks.is_empty()
            || q.for_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            return Err(Error::unsupported(
                "query clause (WITH / FETCH / FOR / locking)",
            ));
        }
        let SetExpr::Select(sel) = q.body.as_ref() else {
            return Err(Error::unsupported(
                "query body other than a single SELECT (UNION / VALUES / subquery)",
            ));
        };
        let group_empty = matches!(&sel.group_by, sqlparser::ast::GroupByExpr::Expressions(v, m) if v.is_empty() && m.is_empty());
        if sel.distinct.is_some()
            || sel.top.is_some()
            || sel.into.is_some()
            || !group_empty
            || sel.having.is_some()
            || !sel.lateral_views.is_empty()
            || sel.qualify.is_some()
            || !sel.named_window.is_empty()
            || sel.prewhere.is_some()
        {
            return Err(Error::unsupported(
                "SELECT clause (DISTINCT / GROUP BY / HAVING / INTO / windows)",
            ));
        }
        let table = match sel.from.as_slice() {
            [] => None,
            [t] => {
                let id = self.single_table(t)?;
                Some((id, self.arc_def(id)?))
            }
            _ => return Err(Error::unsupported("SELECT from several tables")),
        };
        let order: Vec<sqlparser::ast::OrderByExpr> = match &q.order_by {
            None => Vec::new(),
            Some(o) => match &o.kind {
                OrderByKind::Expressions(v) => v.clone(),
                OrderByKind::All(_) => return Err(Error::unsupported("ORDER BY ALL")),
            },
        };
        let (limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) if limit_by.is_empty() => (limit.clone(), offset.as_ref().map(|o| o.value.clone())),
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit.clone()), Some(offset.clone()))
            }
            Some(_) => return Err(Error::unsupported("LIMIT BY")),
        };
        // Candidate rows.
        let source: Vec<Row> = match &table {
            None => vec![Vec::new()],
            Some((id, def)) => self
                .candidate_rows(st, *id, def, sel.selection.as_ref())?
                .into_iter()
                .map(|(_, row)| row)
                .collect(),
        };
        if table.is_none() && sel.selection.is_some() {
            return Err(Error::unsupported("WHERE without FROM"));
        }
        // Projection.
        let mut columns = Vec::new();
        let empty_def = TableDef {
            database: String::new(),
            name: String::new(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique_keys: Vec::new(),
            version: 0,
        };
        let def_ref: &TableDef = table.as_ref().map_or(&empty_def, |(_, d)| d);
        for item in &sel.projection {
            if let SelectItem::UnnamedExpr(Expr::Function(f))
            | SelectItem::ExprWithAlias {
                expr: Expr::Function(f),
                ..
            } = item
            {
                let n = f.name.to_string().to_ascii_uppercase();
                if matches!(
                    n.as_str(),
                    "COUNT"
                        | "SUM"
                        | "AVG"
                        | "MIN"
                        | "MAX"
                        | "GROUP_CONCAT"
                        | "BIT_AND"
                        | "BIT_OR"
                        | "STD"
                        | "VARIANCE"
                ) {
                    return Err(Error::unsupported(format!("aggregate function {n}()")));
                }
            }
            match item {
                SelectItem::UnnamedExpr(e) => columns.push(e.to_string()),
                SelectItem::ExprWithAlias { alias, .. } => columns.push(alias.value.clone()),
                SelectItem::Wildcard(_) => {
                    columns.extend(def_ref.columns.iter().map(|c| c.name.clone()))
                }
                other => return Err(Error::unsupported(format!("select item {other}"))),
            }
        }
        let mut out: Vec<(Vec<Datum>, Vec<Datum>)> = Vec::new();
        for row in &source {
            let scope = Scope {
                row: table.as_ref().map(|(_, d)| (&**d, row)),
                ..Scope::default()
            };
            let mut vals = Vec::new();
            for item in &sel.projection {
                let mut cx = Ctx {
                    session: &mut self.session,
                    env: &mut self.env,
                    stmt: st,
                };
                match item {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        vals.push(cx.eval(e, &scope)?)
                    }
                    _ => vals.extend(row.iter().map(Datum::from_value)),
                }
            }
            let mut keys = Vec::new();
            for o in &order {
                let k = match &o.expr {
                    Expr::Value(v) if matches!(v.value, sqlparser::ast::Value::Number(..)) => {
                        let sqlparser::ast::Value::Number(n, _) = &v.value else {
                            unreachable!()
                        };
                        let i: usize = n
                            .parse()
                            .map_err(|_| Error::unsupported("ORDER BY position"))?;
                        vals.get(i.wrapping_sub(1)).cloned().ok_or_else(|| {
                            Error::new(
                                ErrorKind::UnknownColumn,
                                format!("Unknown column '{i}' in 'order clause'"),
                            )
                        })?
                    }
                    e => {
                        let mut cx = Ctx {
                            session: &mut self.session,
                            env: &mut self.env,
                            stmt: st,
                        };
                        cx.eval(
                            e,
                            &Scope {
                                aliases: Some((&columns, &vals)),
                                ..scope
                            },
                        )?
                    }
                };
                keys.push(k);
            }
            out.push((keys, vals));
        }
        if !order.is_empty() {
            let desc: Vec<bool> = order
                .iter()
                .map(|o| matches!(o.options.sort, Some(OrderBySort::Desc)))
                .collect();
            out.sort_by(|a, b| cmp_sort_keys(&a.0, &b.0, &desc));
        }
        let mut rows: Vec<Vec<Datum>> = out.into_iter().map(|(_, v)| v).collect();
        if let Some(o) = offset {
            let n = self.limit_value(st, &o)?;
            rows.drain(..n.min(rows.len()));
        }
        if let Some(l) = limit {
            if order.is_empty() && table.is_some() {
                push_reason(st, "LIMIT without ORDER BY");
            }
            let n = self.limit_value(st, &l)?;
            rows.truncate(n);
        }
        Ok(ResultSet { columns, rows })
    }

    // ----- ALTER -----------------------------------------------------

    fn alter(&mut self, id: TableId, op: &AlterTableOperation, now_us: i64) -> Result<()> {
        let def = self
            .storage
            .def(id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownTable, "table vanished"))?
            .clone();
        let keys = self.storage.keys(id);
        let rows: Vec<Row> = keys
            .iter()
            .filter_map(|k| self.storage.get(id, k))
            .collect();
        let mut new_def = def.clone();
        new_def.version = def.version.saturating_add(1);
        let new_rows: Vec<Row> = match op {
            AlterTableOperation::AddColumn {
                column_def,
                column_position,
                if_not_exists,
                ..
            } => {
                if def.column_index(&column_def.name.value).is_some() {
                    if *if_not_exists {
                        return Ok(());
                    }
                    return Err(Error::new(
                        ErrorKind::BadDefinition,
                        format!("Duplicate column name '{}'", column_def.name.value),
                    ));
                }
                let mut st = StmtState {
                    now_us,
                    ..StmtState::default()
                };
                let (session, env) = (&mut self.session, &mut self.env);
                let mut eval_default = |e: &Expr| {
                    let mut cx = Ctx {
                        session,
                        env,
                        stmt: &mut st,
                    };
                    cx.eval(e, &Scope::default())
                };
                let (col, pk, unique) = schema::column(column_def, &mut eval_default)?;
                if pk || unique || col.auto_increment {
                    return Err(Error::unsupported(
                        "ADD COLUMN with PRIMARY KEY / UNIQUE / AUTO_INCREMENT",
                    ));
                }
                let at = match column_position {
                    None => def.columns.len(),
                    Some(ColumnPosition::First) => 0,
                    Some(ColumnPosition::After(c)) => {
                        def.column_index(&c.value).map(|i| i + 1).ok_or_else(|| {
                            Error::new(
                                ErrorKind::UnknownColumn,
                                format!("Unknown column '{}' in 'table definition'", c.value),
                            )
                        })?
                    }
                };
                let fill = match &col.default {
                    ColumnDefault::Value(v) => v.clone(),
                    ColumnDefault::CurrentTimestamp => store(
                        &Datum::DateTime(crate::types::timestamp_to_datetime(now_us)),
                        &StoreAt {
                            column: &col,
                            row: 1,
                        },
                    )?,
                    ColumnDefault::Missing => implicit_default(&col),
                };
                new_def.columns.insert(at, col);
                let shift = |i: usize| if i >= at { i + 1 } else { i };
                new_def.primary_key = def.primary_key.iter().map(|&i| shift(i)).collect();
                for u in &mut new_def.unique_keys {
                    u.columns = u.columns.iter().map(|&i| shift(i)).collect();
                }
                rows.into_iter()
                    .map(|mut r| {
                        r.insert(at, fill.clone());
                        r
                    })
                    .collect()
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                let [c] = column_names.as_slice() else {
                    return Err(Error::unsupported("DROP COLUMN of several columns"));
                };
                let Some(at) = def.column_index(&c.value) else {
                    if *if_exists {
                        return Ok(());
                    }
                    return Err(Error::new(
                        ErrorKind::UnknownColumn,
                        format!("Can't DROP COLUMN `{}`; check that it exists", c.value),
                    ));
                };
                if def.primary_key.contains(&at) {
                    return Err(Error::unsupported("dropping a primary-key column"));
                }
                if def.columns.len() == 1 {
                    return Err(Error::new(
                        ErrorKind::BadDefinition,
                        "You can't delete all columns with ALTER TABLE",
                    ));
                }
                new_def.columns.remove(at);
                let shift = |i: usize| if i > at { i - 1 } else { i };
                new_def.primary_key = def.primary_key.iter().map(|&i| shift(i)).collect();
                new_def.unique_keys = def
                    .unique_keys
                    .iter()
                    .filter_map(|u| {
                        let cols: Vec<usize> = u
                            .columns
                            .iter()
                            .filter(|&&i| i != at)
                            .map(|&i| shift(i))
                            .collect();
                        (!cols.is_empty()).then(|| crate::types::UniqueKey {
                            name: u.name.clone(),
                            columns: cols,
                        })
                    })
                    .collect();
                rows.into_iter()
                    .map(|mut r| {
                        r.remove(at);
                        r
                    })
                    .collect()
            }
            other => return Err(Error::unsupported(format!("ALTER TABLE operation {other}"))),
        };
        self.storage.replace_table(id, new_def, new_rows)
    }

    // ----- follower paths ----------------------------------------------

    /// Statement-based apply: executes a captured statement with its
    /// captured context (default database, timestamp, RAND seeds,
    /// INSERT_ID, LAST_INSERT_ID, user variables).
    pub fn replay_statement(&mut self, s: &CapturedStatement) -> Result<Outcome> {
        self.next_context = Some(s.context.clone());
        self.execute(&s.sql)
    }

    /// Statement-based apply of a whole transaction: DDL alone, DML inside
    /// BEGIN … COMMIT (rolled back on the first error).
    pub fn replay_transaction(&mut self, tx: &CommittedTransaction) -> Result<()> {
        if tx.is_ddl() {
            return self.replay_statement(&tx.statements[0]).map(|_| ());
        }
        self.execute("BEGIN")?;
        for s in &tx.statements {
            if let Err(e) = self.replay_statement(s) {
                self.rollback_open();
                return Err(e);
            }
        }
        self.execute("COMMIT").map(|_| ())
    }

    /// Logical (row-based) apply of a transaction: DDL statements are
    /// executed from their text; row changes are applied by primary key with
    /// conflict detection. All or nothing.
    pub fn apply_transaction(&mut self, tx: &CommittedTransaction) -> Result<()> {
        if tx.is_ddl() {
            let s = &tx.statements[0];
            self.next_context = Some(StatementContext {
                database: s.context.database.clone(),
                timestamp_us: s.context.timestamp_us,
                ..StatementContext::default()
            });
            return self.execute(&s.sql).map(|_| ());
        }
        self.commit_open()?;
        let before = self.digest();
        self.open = Some(OpenTxn {
            statements: Vec::new(),
            state_before: before,
            timestamp_us: tx.timestamp_us,
            explicit: true,
        });
        for c in tx.changes() {
            if let Err(e) = self.apply_change(c) {
                self.rollback_open();
                return Err(e);
            }
        }
        // Applied changes are not re-captured as statements.
        self.open = None;
        self.commit_applied(Some(tx.txid), tx.timestamp_us, before)
    }

    /// Applies one row change by primary key. Errors with
    /// [`ErrorKind::Conflict`] on a duplicate key (insert), a missing row or
    /// a before-image mismatch (update, delete), or a schema mismatch:
    /// [`Store::apply_row_change`] under [`ConflictPolicy::Abort`], which
    /// changes nothing when it meets a conflict.
    pub fn apply_change(&mut self, c: &RowChange) -> Result<()> {
        match self.apply_row_change(c, ConflictPolicy::Abort)? {
            None => Ok(()),
            Some(conflict) => Err(Error::new(ErrorKind::Conflict, conflict.to_string())),
        }
    }
}

impl<S: Storage, E: Environment> Store<S, E> {
    /// Every table's definition, ordered by database then name: the schema
    /// a logical log announces after DDL.
    pub fn table_defs(&self) -> Vec<TableDef> {
        self.storage
            .tables()
            .into_iter()
            .filter_map(|id| self.storage.def(id).cloned())
            .collect()
    }

    /// Every database, created or not holding tables, in name order.
    pub fn databases(&self) -> Vec<String> {
        self.storage.databases()
    }

    /// The row of `db.table` whose primary key equals that of `image`
    /// (only the key columns of `image` are read).
    pub fn row_by_key(&self, db: &str, table: &str, image: &Row) -> Option<Row> {
        let id = self.storage.lookup(db, table)?;
        let def = self.storage.def(id)?;
        if image.len() != def.columns.len() {
            return None;
        }
        self.storage.get(id, &primary_key(def, image))
    }

    /// Starts applying a logged transaction's row changes (logical
    /// follower): any open transaction is committed first (a storage
    /// failure there leaves the storage refusing commits, which
    /// [`Store::apply_end`] then reports).
    pub fn apply_begin(&mut self, timestamp_us: i64) {
        let _ = self.commit_open();
        self.open = Some(OpenTxn {
            statements: Vec::new(),
            state_before: self.digest(),
            timestamp_us,
            explicit: true,
        });
    }

    /// Ends what [`Store::apply_begin`] started: keeps the changes
    /// (`commit`, also committing them in the storage) or undoes every one
    /// of them. A storage commit failure undoes them and is returned.
    pub fn apply_end(&mut self, commit: bool) -> Result<()> {
        if commit {
            // Applied changes are not re-captured as statements.
            match self.open.take() {
                Some(t) => self.commit_applied(None, t.timestamp_us, t.state_before),
                None => {
                    self.undo.clear();
                    Ok(())
                }
            }
        } else {
            self.rollback_open();
            Ok(())
        }
    }

    /// Runs a logged DDL statement (logical follower) with its default
    /// database and the transaction's time.
    pub fn apply_ddl(
        &mut self,
        database: Option<&str>,
        sql: &str,
        timestamp_us: i64,
    ) -> Result<()> {
        self.commit_open()?;
        self.next_context = Some(StatementContext {
            database: database.map(str::to_string),
            timestamp_us,
            ..StatementContext::default()
        });
        self.execute(sql).map(|_| ())
    }

    fn key_text(def: &TableDef, row: &Row) -> String {
        def.primary_key
            .iter()
            .map(|&i| {
                let v = row
                    .get(i)
                    .map_or_else(|| "?".into(), |v| dump::format_value(v, &def.columns[i].ty));
                format!("{}={v}", def.columns[i].name)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Removes, with undo, every row `row` collides with (ignoring the row
    /// whose key is `except`).
    fn remove_colliding(&mut self, id: TableId, row: &Row, except: Option<&[u8]>) -> Result<()> {
        while let Some((_, k)) = self.storage.find_conflict(id, row, except) {
            let old = self.storage.delete(id, &k)?;
            self.undo.push(Undo::Deleted { id, row: old });
        }
        Ok(())
    }

    fn insert_applied(&mut self, id: TableId, def: &TableDef, row: &Row) -> Result<()> {
        let key = self.storage.insert(id, row.clone())?;
        self.undo.push(Undo::Inserted { id, key });
        if let Some(ai) = def.auto_increment_column() {
            let n = match &row[ai] {
                Value::Int(i) => u64::try_from(*i).unwrap_or(0),
                Value::UInt(u) => *u,
                _ => 0,
            };
            if n >= self.storage.auto_increment(id) {
                self.storage.set_auto_increment(id, n.saturating_add(1));
            }
        }
        Ok(())
    }

    /// Applies one row change inside [`Store::apply_begin`] /
    /// [`Store::apply_end`], resolving a conflict by `policy`. Returns the
    /// conflict met, if any; under [`ConflictPolicy::Abort`] nothing is
    /// changed then and the caller is expected to roll back. Errors are
    /// failures that no policy resolves: an unknown table, or a change whose
    /// column count differs from the table's.
    pub fn apply_row_change(
        &mut self,
        c: &RowChange,
        policy: ConflictPolicy,
    ) -> Result<Option<Conflict>> {
        let t = c.table();
        let id = self.table_id(&t.database, &t.name)?;
        let def = self.arc_def(id)?;
        if def.columns.len() != t.columns.len() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "schema mismatch on {}: {} columns here, {} in the change",
                    def.qualified_name(),
                    def.columns.len(),
                    t.columns.len()
                ),
            ));
        }
        let conflict = |kind, row: &Row, index: Option<String>, change, resolution| Conflict {
            kind,
            table: def.qualified_name(),
            key: Self::key_text(&def, row),
            index,
            change,
            resolution,
        };
        let on = |forced: bool| match policy {
            ConflictPolicy::Abort => Resolution::Aborted,
            ConflictPolicy::Skip => Resolution::Skipped,
            ConflictPolicy::Overwrite if forced => Resolution::Overwritten,
            ConflictPolicy::Overwrite => Resolution::Skipped,
        };
        match c {
            RowChange::Insert { row, .. } => {
                if let Some((k, _)) = self.storage.find_conflict(id, row, None) {
                    let r = on(true);
                    let found = conflict(ConflictKind::DuplicateKey, row, Some(k), "insert", r);
                    if r == Resolution::Overwritten {
                        self.remove_colliding(id, row, None)?;
                        self.insert_applied(id, &def, row)?;
                    }
                    return Ok(Some(found));
                }
                self.insert_applied(id, &def, row)?;
            }
            RowChange::Update { before, after, .. } => {
                let key = primary_key(&def, before);
                let Some(cur) = self.storage.get(id, &key) else {
                    let r = on(true);
                    if r == Resolution::Overwritten {
                        self.remove_colliding(id, after, None)?;
                        self.insert_applied(id, &def, after)?;
                    }
                    return Ok(Some(conflict(
                        ConflictKind::MissingRow,
                        before,
                        None,
                        "update",
                        r,
                    )));
                };
                let mut found = None;
                if cur != *before {
                    let r = on(true);
                    found = Some(conflict(
                        ConflictKind::BeforeImageMismatch,
                        before,
                        None,
                        "update",
                        r,
                    ));
                    if r != Resolution::Overwritten {
                        return Ok(found);
                    }
                }
                if let Some((k, _)) = self.storage.find_conflict(id, after, Some(&key)) {
                    let r = on(true);
                    if r != Resolution::Overwritten {
                        return Ok(Some(conflict(
                            ConflictKind::DuplicateKey,
                            after,
                            Some(k),
                            "update",
                            r,
                        )));
                    }
                    self.remove_colliding(id, after, Some(&key))?;
                    found.get_or_insert(conflict(
                        ConflictKind::DuplicateKey,
                        after,
                        Some(k),
                        "update",
                        r,
                    ));
                }
                self.storage.update(id, &key, after.clone())?;
                self.undo.push(Undo::Updated {
                    id,
                    new_key: primary_key(&def, after),
                    old: cur,
                });
                return Ok(found);
            }
            RowChange::Delete { before, .. } => {
                let key = primary_key(&def, before);
                let Some(cur) = self.storage.get(id, &key) else {
                    return Ok(Some(conflict(
                        ConflictKind::MissingRow,
                        before,
                        None,
                        "delete",
                        on(false),
                    )));
                };
                let mut found = None;
                if cur != *before {
                    let r = on(true);
                    found = Some(conflict(
                        ConflictKind::BeforeImageMismatch,
                        before,
                        None,
                        "delete",
                        r,
                    ));
                    if r != Resolution::Overwritten {
                        return Ok(found);
                    }
                }
                let old = self.storage.delete(id, &key)?;
                self.undo.push(Undo::Deleted { id, row: old });
                return Ok(found);
            }
            RowChange::Truncate { .. } => {
                for k in self.storage.keys(id) {
                    let old = self.storage.delete(id, &k)?;
                    self.undo.push(Undo::Deleted { id, row: old });
                }
                self.storage.set_auto_increment(id, 1);
            }
        }
        Ok(None)
    }
}

fn push_reason(st: &mut StmtState, r: &'static str) {
    if !st.unsafe_reasons.contains(&r) {
        st.unsafe_reasons.push(r);
    }
}

fn cmp_sort_keys(a: &[Datum], b: &[Datum], desc: &[bool]) -> Ordering {
    for ((x, y), d) in a.iter().zip(b).zip(desc) {
        // NULLs sort first ascending (MySQL).
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => compare(x, y).unwrap_or(Ordering::Equal),
        };
        let o = if *d { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}
