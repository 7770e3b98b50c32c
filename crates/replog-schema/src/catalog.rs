//! The catalog: the one interpreter of DDL.
//!
//! Every route that learns tables from SQL text goes through
//! [`interpret`]: the reference store executing CREATE / DROP / ALTER on its
//! storage, the binlog importer following the DDL of a binlog, and the
//! determinism checker following the DDL of a statement log. What differs
//! between them is a policy ([`DdlMode`]) and where the definitions live
//! ([`Definitions`]): the store keeps them with its rows, the others in a
//! [`Catalog`] in memory.
//!
//! Statements: CREATE / DROP DATABASE, CREATE TABLE (also `LIKE`), DROP
//! TABLE, ALTER TABLE (ADD / DROP / CHANGE / MODIFY / RENAME COLUMN, ADD /
//! DROP PRIMARY KEY, ADD UNIQUE, DROP INDEX, RENAME TO, and the operations
//! that change nothing a definition holds), RENAME TABLE and TRUNCATE.
//! Tables are described by the one table model ([`TableDef`]); what a log
//! declares beyond it (the type as written, character set, `ON UPDATE`,
//! engine) is kept next to it in a [`CatalogTable`].
//!
//! ```
//! use replog_schema::catalog::{Catalog, DdlMode};
//! let mut c = Catalog::new(DdlMode::Execute);
//! c.apply("CREATE DATABASE shop", None).unwrap();
//! c.apply("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))", Some("shop")).unwrap();
//! c.apply("ALTER TABLE items ADD COLUMN price DECIMAL(8,2) AFTER id", Some("shop")).unwrap();
//! let t = c.table("shop", "items").unwrap();
//! assert_eq!(t.def.columns[1].name, "price");
//! assert_eq!(t.def.version, 2);
//! let e = c.apply("DROP TABLE shop.nope", None).unwrap_err();
//! assert_eq!(e.to_string(), "Unknown table 'shop.nope' (in statement: DROP TABLE shop.nope)");
//! ```

use crate::dialect::MariaDbDialect;
use crate::error::{SqlError, SqlErrorKind};
use crate::table::{Column, ColumnDefault, SqlType, TableDef, UniqueKey};
use replog_core::Value;
use sqlparser::ast::{
    AlterTableOperation, CharacterLength, ColumnDef, ColumnOption, CreateTableLikeKind,
    CreateTableOptions, DataType, ExactNumberInfo, Expr, IndexColumn, MySQLColumnPosition,
    ObjectName, ObjectType, RenameTableNameKind, SqlOption, Statement, TableConstraint,
    TimezoneInfo,
};
use sqlparser::parser::Parser;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// How DDL is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DdlMode {
    /// As the reference store executes it: MariaDB's errors (unknown or
    /// existing tables, bad definitions), and a refusal of whatever the
    /// store does not implement. A table without a primary key has the
    /// store's implicit row identity (its whole content).
    Execute,
    /// Following the DDL of a log, whose statements succeeded on their
    /// server: nothing fails. A change that cannot be followed marks its
    /// table [`CatalogTable::uncertain`] and leaves a [`CatalogNote`].
    Follow {
        /// Whether CREATE TEMPORARY TABLE defines a table (it does for the
        /// statements of its session; row events never name one).
        temporary_tables: bool,
    },
}

/// How a column was declared, beyond what the table model holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnDeclaration {
    /// The type as written, such as `DECIMAL(12,2)` or `INT UNSIGNED`.
    pub type_text: String,
    /// `CHARACTER SET`, lower-case.
    pub charset: Option<String>,
    /// `COLLATE`, lower-case.
    pub collation: Option<String>,
    /// `ON UPDATE CURRENT_TIMESTAMP` (or `NOW()` …).
    pub on_update_now: bool,
}

/// A table of the catalog: its definition in the one table model, and what
/// its DDL declared beyond it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogTable {
    /// The definition. In a followed catalog, `primary_key` is empty when
    /// the log declared none, and types or defaults the store does not
    /// implement are [`SqlType::Other`] and [`ColumnDefault::Expression`].
    pub def: TableDef,
    /// One declaration per column of `def`, in the same order.
    pub declared: Vec<ColumnDeclaration>,
    /// `ENGINE=…` when declared.
    pub engine: Option<String>,
    /// Some change could not be followed: the definition may be off.
    pub uncertain: bool,
}

impl CatalogTable {
    /// A table known only by its definition (declarations are the types'
    /// defaults).
    pub fn from_def(def: TableDef) -> CatalogTable {
        let declared = def
            .columns
            .iter()
            .map(|_| ColumnDeclaration::default())
            .collect();
        CatalogTable {
            def,
            declared,
            engine: None,
            uncertain: false,
        }
    }

    /// Each column with its declaration.
    pub fn columns(&self) -> impl Iterator<Item = (&Column, &ColumnDeclaration)> {
        static NONE: ColumnDeclaration = ColumnDeclaration {
            type_text: String::new(),
            charset: None,
            collation: None,
            on_update_now: false,
        };
        self.def
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c, self.declared.get(i).unwrap_or(&NONE)))
    }

    /// Inserts a column at `at`, shifting the keys.
    fn insert_column(&mut self, at: usize, col: Column, decl: ColumnDeclaration) {
        let at = at.min(self.def.columns.len());
        self.def.columns.insert(at, col);
        self.declared.insert(at.min(self.declared.len()), decl);
        let shift = |i: &mut usize| {
            if *i >= at {
                *i += 1;
            }
        };
        self.def.primary_key.iter_mut().for_each(shift);
        for u in &mut self.def.unique_keys {
            u.columns.iter_mut().for_each(shift);
        }
    }

    /// Removes the column at `at` from the table and from every key,
    /// dropping unique keys left empty (as MySQL does).
    fn remove_column(&mut self, at: usize) -> (Column, ColumnDeclaration) {
        let col = self.def.columns.remove(at);
        let decl = if at < self.declared.len() {
            self.declared.remove(at)
        } else {
            ColumnDeclaration::default()
        };
        let fix = |k: &mut Vec<usize>| {
            k.retain(|&i| i != at);
            for i in k.iter_mut() {
                if *i > at {
                    *i -= 1;
                }
            }
        };
        fix(&mut self.def.primary_key);
        for u in &mut self.def.unique_keys {
            fix(&mut u.columns);
        }
        self.def.unique_keys.retain(|u| !u.columns.is_empty());
        (col, decl)
    }

    /// Moves the column at `from` to position `to` (counted after its
    /// removal), keeping its place in every key.
    fn move_column(&mut self, from: usize, to: usize) {
        let in_pk: Vec<usize> = (0..self.def.primary_key.len())
            .filter(|&k| self.def.primary_key[k] == from)
            .collect();
        let in_unique: Vec<(usize, usize)> = self
            .def
            .unique_keys
            .iter()
            .enumerate()
            .flat_map(|(u, k)| {
                k.columns
                    .iter()
                    .enumerate()
                    .filter(|&(_, &c)| c == from)
                    .map(move |(p, _)| (u, p))
            })
            .collect();
        let saved_pk = self.def.primary_key.clone();
        let saved_unique: Vec<Vec<usize>> = self
            .def
            .unique_keys
            .iter()
            .map(|u| u.columns.clone())
            .collect();
        // Remap every other column's index through removal and insertion.
        let remap = |i: usize| {
            let i = if i > from { i - 1 } else { i };
            if i >= to { i + 1 } else { i }
        };
        let col = self.def.columns.remove(from);
        let decl = if from < self.declared.len() {
            self.declared.remove(from)
        } else {
            ColumnDeclaration::default()
        };
        let to = to.min(self.def.columns.len());
        self.def.columns.insert(to, col);
        self.declared.insert(to.min(self.declared.len()), decl);
        self.def.primary_key = saved_pk
            .iter()
            .enumerate()
            .map(|(k, &i)| if in_pk.contains(&k) { to } else { remap(i) })
            .collect();
        for (u, cols) in saved_unique.into_iter().enumerate() {
            self.def.unique_keys[u].columns = cols
                .iter()
                .enumerate()
                .map(|(p, &i)| {
                    if in_unique.contains(&(u, p)) {
                        to
                    } else {
                        remap(i)
                    }
                })
                .collect();
        }
    }
}

/// A change a followed catalog could not make exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogNote {
    /// The table concerned, `db.table`.
    pub table: String,
    /// What was not followed.
    pub message: String,
}

/// What one statement did to the tables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchemaChange {
    /// The statement is DDL the catalog interprets.
    pub ddl: bool,
    /// `(database, table)` of every table created, altered, dropped or
    /// renamed (a rename lists the old name, then the new), in order: the
    /// name the catalog holds when the table exists (which may differ in
    /// case from the statement's), else the statement's.
    pub tables: Vec<(String, String)>,
    /// `(database, table)` of every table truncated.
    pub truncated: Vec<(String, String)>,
}

/// Where a column of an altered table comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnSource {
    /// The column at this position before the change.
    Kept(usize),
    /// A new column: existing rows take its default.
    Added,
}

/// One ALTER TABLE operation's result.
#[derive(Debug)]
pub struct AlteredTable<'a> {
    /// Database of the table.
    pub database: &'a str,
    /// Name of the table.
    pub name: &'a str,
    /// Its new definition.
    pub table: CatalogTable,
    /// Where each column of the new definition comes from.
    pub sources: &'a [ColumnSource],
}

/// Where table definitions live, and the policy they are changed under:
/// the in-memory [`Catalog`], or the reference store's storage (which
/// rebuilds rows on ALTER).
pub trait Definitions {
    /// The error of a change (the catalog's errors convert into it).
    type Error: From<SqlError>;
    /// The policy.
    fn mode(&self) -> DdlMode;
    /// Whether database `db` exists.
    fn database_exists(&self, db: &str) -> bool;
    /// The table `db.name`.
    fn table(&self, db: &str, name: &str) -> Option<Cow<'_, CatalogTable>>;
    /// `(database, table)` of every table of database `db`.
    fn tables_in(&self, db: &str) -> Vec<(String, String)>;
    /// CREATE DATABASE (the database does not exist).
    fn create_database(&mut self, db: &str) -> Result<(), Self::Error>;
    /// DROP DATABASE, with its tables (the database exists).
    fn drop_database(&mut self, db: &str) -> Result<(), Self::Error>;
    /// CREATE TABLE (no table of that name exists, unless following).
    fn create_table(&mut self, table: CatalogTable) -> Result<(), Self::Error>;
    /// DROP TABLE (the table exists).
    fn drop_table(&mut self, db: &str, name: &str) -> Result<(), Self::Error>;
    /// ALTER TABLE (the table exists).
    fn alter_table(&mut self, altered: AlteredTable<'_>) -> Result<(), Self::Error>;
    /// RENAME TABLE (the table exists).
    fn rename_table(
        &mut self,
        db: &str,
        name: &str,
        new_db: &str,
        new_name: &str,
    ) -> Result<(), Self::Error>;
    /// The value of a `DEFAULT` expression for `column` (not
    /// `CURRENT_TIMESTAMP`, which the interpreter handles).
    fn eval_default(&mut self, expr: &Expr, column: &Column) -> Result<ColumnDefault, Self::Error>;
    /// A change that could not be followed exactly ([`DdlMode::Follow`]).
    fn note(&mut self, note: CatalogNote);
}

/// Tables and databases in memory, changed by [`Catalog::apply`].
#[derive(Debug, Clone)]
pub struct Catalog {
    mode: DdlMode,
    databases: BTreeSet<String>,
    tables: BTreeMap<(String, String), CatalogTable>,
    notes: Vec<CatalogNote>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new(mode: DdlMode) -> Catalog {
        Catalog {
            mode,
            databases: BTreeSet::new(),
            tables: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    /// Parses `sql` (MySQL dialect) and applies every statement in it, run
    /// with default database `default_db`. Errors name the statement.
    pub fn apply(&mut self, sql: &str, default_db: Option<&str>) -> Result<SchemaChange, SqlError> {
        let stmts = Parser::parse_sql(&MariaDbDialect, sql)
            .map_err(|e| SqlError::new(SqlErrorKind::Parse, e.to_string()).with_statement(sql))?;
        let mut all = SchemaChange::default();
        for st in &stmts {
            let c = self
                .apply_statement(st, default_db)
                .map_err(|e| e.with_statement(sql))?;
            all.ddl |= c.ddl;
            all.tables.extend(c.tables);
            all.truncated.extend(c.truncated);
        }
        Ok(all)
    }

    /// Applies one parsed statement.
    pub fn apply_statement(
        &mut self,
        stmt: &Statement,
        default_db: Option<&str>,
    ) -> Result<SchemaChange, SqlError> {
        interpret(self, stmt, default_db)
    }

    /// The policy.
    pub fn mode(&self) -> DdlMode {
        self.mode
    }

    /// The table `db.name`: the exact name, else the one table whose name
    /// matches ignoring ASCII case.
    pub fn table(&self, db: &str, name: &str) -> Option<&CatalogTable> {
        if let Some(t) = self.tables.get(&(db.to_string(), name.to_string())) {
            return Some(t);
        }
        let mut it = self
            .tables
            .iter()
            .filter(|((d, n), _)| d.eq_ignore_ascii_case(db) && n.eq_ignore_ascii_case(name));
        match (it.next(), it.next()) {
            (Some((_, t)), None) => Some(t),
            _ => None,
        }
    }

    /// Every table, by (database, name).
    pub fn tables(&self) -> impl Iterator<Item = &CatalogTable> {
        self.tables.values()
    }

    /// Number of tables.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether there is no table.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Changes not followed exactly, in order.
    pub fn notes(&self) -> &[CatalogNote] {
        &self.notes
    }

    /// Takes the notes gathered so far.
    pub fn take_notes(&mut self) -> Vec<CatalogNote> {
        std::mem::take(&mut self.notes)
    }

    fn key_of(&self, db: &str, name: &str) -> Option<(String, String)> {
        let t = self.table(db, name)?;
        Some((t.def.database.clone(), t.def.name.clone()))
    }
}

impl Definitions for Catalog {
    type Error = SqlError;

    fn mode(&self) -> DdlMode {
        self.mode
    }

    fn database_exists(&self, db: &str) -> bool {
        self.databases.contains(db)
    }

    fn table(&self, db: &str, name: &str) -> Option<Cow<'_, CatalogTable>> {
        Catalog::table(self, db, name).map(Cow::Borrowed)
    }

    fn tables_in(&self, db: &str) -> Vec<(String, String)> {
        self.tables
            .keys()
            .filter(|(d, _)| d.eq_ignore_ascii_case(db))
            .cloned()
            .collect()
    }

    fn create_database(&mut self, db: &str) -> Result<(), SqlError> {
        self.databases.insert(db.to_string());
        Ok(())
    }

    fn drop_database(&mut self, db: &str) -> Result<(), SqlError> {
        self.databases.retain(|d| !d.eq_ignore_ascii_case(db));
        self.tables.retain(|(d, _), _| !d.eq_ignore_ascii_case(db));
        Ok(())
    }

    fn create_table(&mut self, table: CatalogTable) -> Result<(), SqlError> {
        let db = &table.def.database;
        if self.mode == DdlMode::Execute && !self.databases.contains(db) {
            return Err(SqlError::new(
                SqlErrorKind::UnknownDatabase,
                format!("Unknown database '{db}'"),
            ));
        }
        // Replaces a table of exactly this name (CREATE TABLE when following).
        self.tables
            .insert((db.clone(), table.def.name.clone()), table);
        Ok(())
    }

    fn drop_table(&mut self, db: &str, name: &str) -> Result<(), SqlError> {
        if let Some(k) = self.key_of(db, name) {
            self.tables.remove(&k);
        }
        Ok(())
    }

    fn alter_table(&mut self, altered: AlteredTable<'_>) -> Result<(), SqlError> {
        if let Some(k) = self.key_of(altered.database, altered.name) {
            self.tables.insert(k, altered.table);
        }
        Ok(())
    }

    fn rename_table(
        &mut self,
        db: &str,
        name: &str,
        new_db: &str,
        new_name: &str,
    ) -> Result<(), SqlError> {
        let Some(k) = self.key_of(db, name) else {
            return Ok(());
        };
        if self.mode == DdlMode::Execute && !self.databases.contains(new_db) {
            return Err(SqlError::new(
                SqlErrorKind::UnknownDatabase,
                format!("Unknown database '{new_db}'"),
            ));
        }
        if let Some(mut t) = self.tables.remove(&k) {
            t.def.database = new_db.to_string();
            t.def.name = new_name.to_string();
            self.tables
                .insert((new_db.to_string(), new_name.to_string()), t);
        }
        Ok(())
    }

    fn eval_default(&mut self, expr: &Expr, _column: &Column) -> Result<ColumnDefault, SqlError> {
        Ok(match expr {
            Expr::Value(v) if matches!(v.value, sqlparser::ast::Value::Null) => {
                ColumnDefault::Value(Value::Null)
            }
            e => ColumnDefault::Expression(e.to_string()),
        })
    }

    fn note(&mut self, note: CatalogNote) {
        self.notes.push(note);
    }
}

// ----- names ---------------------------------------------------------------

/// The last two parts of an object name, `(database, name)`, as a
/// followed catalog reads them (a part that is not an identifier by its
/// text).
pub fn split_name(name: &ObjectName) -> (Option<String>, String) {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p.as_ident() {
            Some(i) => i.value.clone(),
            None => p.to_string(),
        })
        .collect();
    match parts.as_slice() {
        [.., db, t] => (Some(db.clone()), t.clone()),
        [t] => (None, t.clone()),
        [] => (None, String::new()),
    }
}

/// `(database, table)` of a name. Executing, every part must be an
/// identifier and there are at most two; following, the last two parts.
pub fn name_parts(name: &ObjectName, mode: DdlMode) -> Result<(Option<String>, String), SqlError> {
    if mode != DdlMode::Execute {
        return Ok(split_name(name));
    }
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(|i| i.value.clone()))
        .collect::<Option<_>>()
        .ok_or_else(|| SqlError::unsupported(format!("name {name}")))?;
    match parts.as_slice() {
        [t] => Ok((None, t.clone())),
        [d, t] => Ok((Some(d.clone()), t.clone())),
        _ => Err(SqlError::unsupported(format!("name {name}"))),
    }
}

/// `(database, table)` of a table name, in `default_db` when unqualified.
/// `None` (following) or an error (executing) without a database.
fn resolve(
    name: &ObjectName,
    default_db: Option<&str>,
    mode: DdlMode,
) -> Result<Option<(String, String)>, SqlError> {
    let (db, t) = name_parts(name, mode)?;
    match db.or_else(|| default_db.map(str::to_string)) {
        Some(d) => Ok(Some((d, t))),
        None if mode == DdlMode::Execute => Err(SqlError::new(
            SqlErrorKind::NoDatabase,
            "No database selected",
        )),
        None => Ok(None),
    }
}

/// The name the target holds for `db.name`, when it holds the table.
fn held_name<D: Definitions>(target: &D, db: &str, name: &str) -> Option<(String, String)> {
    target
        .table(db, name)
        .map(|t| (t.def.database.clone(), t.def.name.clone()))
}

fn unknown_table(db: &str, t: &str) -> SqlError {
    SqlError::new(
        SqlErrorKind::UnknownTable,
        format!("Table '{db}.{t}' doesn't exist"),
    )
}

// ----- types and columns ---------------------------------------------------

fn bad(message: impl Into<String>) -> SqlError {
    SqlError::new(SqlErrorKind::BadDefinition, message)
}

fn char_len(l: &Option<CharacterLength>, default: u32) -> Result<u32, SqlError> {
    match l {
        None => Ok(default),
        Some(CharacterLength::IntegerLength { length, .. }) => {
            u32::try_from(*length).map_err(|_| bad("column length too large"))
        }
        Some(CharacterLength::Max) => Err(SqlError::unsupported("length MAX")),
    }
}

fn decimal_info(info: &ExactNumberInfo, unsigned: bool) -> Result<SqlType, SqlError> {
    let (p, s) = match info {
        ExactNumberInfo::None => (10, 0),
        ExactNumberInfo::Precision(p) => (*p, 0),
        ExactNumberInfo::PrecisionAndScale(p, s) => (*p, u64::try_from(*s).unwrap_or(u64::MAX)),
    };
    if p == 0 || p > 65 || s > 30 || s > p {
        return Err(bad(format!("DECIMAL({p},{s}) out of range")));
    }
    Ok(SqlType::Decimal {
        precision: p as u8,
        scale: s as u8,
        unsigned,
    })
}

fn fsp(f: &Option<u64>) -> Result<u8, SqlError> {
    match f {
        None => Ok(0),
        Some(n) if *n <= 6 => Ok(*n as u8),
        Some(n) => Err(bad(format!("too big precision {n}; maximum is 6"))),
    }
}

fn int(bytes: u8, unsigned: bool) -> SqlType {
    SqlType::Int {
        bytes,
        unsigned,
        boolean: false,
    }
}

/// The table model's type of a declared data type, as the reference store
/// accepts it (MariaDB's limits; an error for anything else).
pub fn sql_type(dt: &DataType) -> Result<SqlType, SqlError> {
    Ok(match dt {
        DataType::TinyInt(_) => int(1, false),
        DataType::TinyIntUnsigned(_) => int(1, true),
        DataType::SmallInt(_) => int(2, false),
        DataType::SmallIntUnsigned(_) => int(2, true),
        DataType::MediumInt(_) => int(3, false),
        DataType::MediumIntUnsigned(_) => int(3, true),
        DataType::Int(_) | DataType::Integer(_) => int(4, false),
        DataType::IntUnsigned(_) | DataType::IntegerUnsigned(_) => int(4, true),
        DataType::BigInt(_) => int(8, false),
        DataType::BigIntUnsigned(_) => int(8, true),
        DataType::Bool | DataType::Boolean => SqlType::Int {
            bytes: 1,
            unsigned: false,
            boolean: true,
        },
        DataType::Decimal(i) | DataType::Numeric(i) | DataType::Dec(i) => decimal_info(i, false)?,
        DataType::DecimalUnsigned(i) | DataType::DecUnsigned(i) => decimal_info(i, true)?,
        DataType::Float(_) => SqlType::Float,
        DataType::Double(_) | DataType::DoublePrecision | DataType::Real => SqlType::Double,
        DataType::Char(l) | DataType::Character(l) => SqlType::Char(char_len(l, 1)?),
        DataType::Varchar(l) | DataType::CharacterVarying(l) | DataType::CharVarying(l) => {
            match l {
                None => return Err(bad("VARCHAR needs a length")),
                Some(_) => SqlType::VarChar(char_len(l, 0)?),
            }
        }
        DataType::TinyText => SqlType::Text(255),
        DataType::Text => SqlType::Text(65_535),
        DataType::MediumText => SqlType::Text(16_777_215),
        DataType::LongText => SqlType::Text(4_294_967_295),
        DataType::Binary(l) => SqlType::Binary(l.map_or(Ok(1), |n| {
            u32::try_from(n).map_err(|_| bad("BINARY too long"))
        })?),
        DataType::Varbinary(l) => match l {
            Some(sqlparser::ast::BinaryLength::IntegerLength { length }) => {
                SqlType::VarBinary(u32::try_from(*length).map_err(|_| bad("VARBINARY too long"))?)
            }
            _ => return Err(bad("VARBINARY needs a length")),
        },
        DataType::TinyBlob => SqlType::Blob(255),
        DataType::Blob(_) => SqlType::Blob(65_535),
        DataType::MediumBlob => SqlType::Blob(16_777_215),
        DataType::LongBlob => SqlType::Blob(4_294_967_295),
        DataType::Date => SqlType::Date,
        DataType::Time(f, TimezoneInfo::None) => SqlType::Time(fsp(f)?),
        DataType::Datetime(f) => SqlType::DateTime(fsp(f)?),
        DataType::Timestamp(f, TimezoneInfo::None) => SqlType::Timestamp(fsp(f)?),
        DataType::Enum(members, _) => {
            let labels: Vec<String> = members
                .iter()
                .map(|m| match m {
                    sqlparser::ast::EnumMember::Name(n)
                    | sqlparser::ast::EnumMember::NamedValue(n, _) => n.clone(),
                })
                .collect();
            if labels.is_empty() {
                return Err(bad("ENUM without labels"));
            }
            SqlType::Enum(labels)
        }
        DataType::Set(labels) => {
            if labels.is_empty() || labels.len() > 64 {
                return Err(bad("SET needs 1 to 64 members"));
            }
            SqlType::Set(labels.clone())
        }
        DataType::Bit(n) => {
            let n = n.unwrap_or(1);
            if n == 0 || n > 64 {
                return Err(bad(format!("BIT({n}) out of range")));
            }
            SqlType::Bit(n as u8)
        }
        DataType::JSON => SqlType::Json,
        DataType::Custom(name, args)
            if args.is_empty() && name.to_string().eq_ignore_ascii_case("YEAR") =>
        {
            SqlType::Year
        }
        other => return Err(SqlError::unsupported(format!("column type {other}"))),
    })
}

/// The type of a column whose DDL is followed: as [`sql_type`], and for
/// what the store does not implement the nearest type it does, or
/// [`SqlType::Other`].
fn followed_type(dt: &DataType) -> SqlType {
    if let Ok(t) = sql_type(dt) {
        return t;
    }
    match dt {
        DataType::FloatUnsigned(_) => SqlType::Float,
        DataType::DoubleUnsigned(_) => SqlType::Double,
        DataType::Nvarchar(l @ Some(_)) => match char_len(l, 0) {
            Ok(n) => SqlType::VarChar(n),
            Err(_) => SqlType::Other(dt.to_string()),
        },
        DataType::String(_) => SqlType::Text(65_535),
        DataType::Bytea => SqlType::Blob(65_535),
        other => SqlType::Other(other.to_string()),
    }
}

fn is_now(e: &Expr) -> bool {
    let name = match e {
        Expr::Function(f) => f.name.to_string(),
        Expr::Identifier(i) if i.quote_style.is_none() => i.value.clone(),
        _ => return false,
    };
    matches!(
        name.to_ascii_uppercase().as_str(),
        "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIME" | "LOCALTIMESTAMP"
    )
}

fn is_auto_increment(tokens: &[sqlparser::tokenizer::Token], mode: DdlMode) -> bool {
    let is = |t: &sqlparser::tokenizer::Token| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT");
    match mode {
        DdlMode::Execute => tokens.len() == 1 && is(&tokens[0]),
        DdlMode::Follow { .. } => tokens.iter().any(is),
    }
}

/// A column built from its definition, with whether it declared PRIMARY
/// KEY / UNIQUE inline.
struct BuiltColumn {
    column: Column,
    declared: ColumnDeclaration,
    primary_key: bool,
    unique: bool,
}

fn build_column<D: Definitions>(
    target: &mut D,
    name: &str,
    data_type: &DataType,
    options: &[&ColumnOption],
) -> Result<BuiltColumn, D::Error> {
    let mode = target.mode();
    let execute = mode == DdlMode::Execute;
    let ty = if execute {
        sql_type(data_type)?
    } else {
        followed_type(data_type)
    };
    let mut declared = ColumnDeclaration {
        type_text: data_type.to_string(),
        ..ColumnDeclaration::default()
    };
    let mut nullable = true;
    let mut default_expr: Option<&Expr> = None;
    let mut auto_increment = false;
    let (mut pk, mut unique) = (false, false);
    for o in options {
        match o {
            ColumnOption::Null => nullable = true,
            ColumnOption::NotNull => nullable = false,
            ColumnOption::Default(e) => default_expr = Some(e),
            ColumnOption::PrimaryKey(_) => pk = true,
            ColumnOption::Unique(_) => unique = true,
            ColumnOption::CharacterSet(cs) => {
                let cs = cs.to_string().to_ascii_lowercase();
                if execute && cs == "binary" {
                    return Err(SqlError::unsupported(
                        "CHARACTER SET binary (the store compares text under utf8mb4_general_ci only)",
                    )
                    .into());
                }
                declared.charset = Some(cs);
            }
            ColumnOption::Collation(c) => {
                let c = c.to_string().to_ascii_lowercase();
                // Case-sensitive and binary collations compare differently
                // from the one the store implements: refused, not ignored.
                if execute && !c.trim_matches('`').ends_with("_ci") {
                    return Err(SqlError::unsupported(format!(
                        "COLLATE {c} (the store compares text under utf8mb4_general_ci only)"
                    ))
                    .into());
                }
                declared.collation = Some(c);
            }
            ColumnOption::Comment(_) => {}
            ColumnOption::DialectSpecific(tokens) if is_auto_increment(tokens, mode) => {
                auto_increment = true;
            }
            ColumnOption::OnUpdate(e) if !execute => declared.on_update_now = is_now(e),
            other if execute => {
                return Err(SqlError::unsupported(format!("column option {other}")).into());
            }
            _ => {}
        }
    }
    if pk {
        nullable = false;
    }
    if execute && auto_increment && !matches!(ty, SqlType::Int { .. }) {
        return Err(bad(format!("Incorrect column specifier for column '{name}'")).into());
    }
    let mut column = Column {
        name: name.to_string(),
        ty,
        nullable,
        default: ColumnDefault::Missing,
        auto_increment,
    };
    let invalid_default = || bad(format!("Invalid default value for '{name}'"));
    column.default = match default_expr {
        None if nullable => ColumnDefault::Value(Value::Null),
        None => ColumnDefault::Missing,
        Some(e) if is_now(e) => {
            if execute && !matches!(column.ty, SqlType::DateTime(_) | SqlType::Timestamp(_)) {
                return Err(invalid_default().into());
            }
            ColumnDefault::CurrentTimestamp
        }
        Some(e) => {
            let d = target.eval_default(e, &column)?;
            if execute && d == ColumnDefault::Value(Value::Null) && !nullable {
                return Err(invalid_default().into());
            }
            d
        }
    };
    Ok(BuiltColumn {
        column,
        declared,
        primary_key: pk,
        unique,
    })
}

fn build_column_def<D: Definitions>(
    target: &mut D,
    def: &ColumnDef,
) -> Result<BuiltColumn, D::Error> {
    let options: Vec<&ColumnOption> = def.options.iter().map(|o| &o.option).collect();
    build_column(target, &def.name.value, &def.data_type, &options)
}

/// Column positions of a key. Executing: an unknown column is an error;
/// following: `None`.
fn key_columns(
    cols: &[IndexColumn],
    columns: &[Column],
    mode: DdlMode,
) -> Result<Option<Vec<usize>>, SqlError> {
    let mut out = Vec::with_capacity(cols.len());
    for c in cols {
        let found = match &c.column.expr {
            Expr::Identifier(i) => match columns
                .iter()
                .position(|col| col.name.eq_ignore_ascii_case(&i.value))
            {
                Some(p) => Some(p),
                None if mode == DdlMode::Execute => {
                    return Err(SqlError::new(
                        SqlErrorKind::UnknownColumn,
                        format!("Key column '{}' doesn't exist in table", i.value),
                    ));
                }
                None => None,
            },
            other if mode == DdlMode::Execute => {
                return Err(SqlError::unsupported(format!("key part {other}")));
            }
            _ => None,
        };
        match found {
            Some(p) => out.push(p),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

fn unique_key_name(
    u: &sqlparser::ast::UniqueConstraint,
    columns: &[Column],
    first: usize,
) -> String {
    u.index_name
        .as_ref()
        .or(u.name.as_ref())
        .map(|i| i.value.clone())
        .unwrap_or_else(|| columns[first].name.clone())
}

/// Applies a table-level PRIMARY KEY / UNIQUE constraint. Returns false
/// when following and a key column is unknown.
fn add_constraint(
    t: &mut CatalogTable,
    c: &TableConstraint,
    mode: DdlMode,
) -> Result<bool, SqlError> {
    let execute = mode == DdlMode::Execute;
    match c {
        TableConstraint::PrimaryKey(p) => {
            if execute && !t.def.primary_key.is_empty() {
                return Err(bad("Multiple primary key defined"));
            }
            let Some(cols) = key_columns(&p.columns, &t.def.columns, mode)? else {
                return Ok(false);
            };
            for &i in &cols {
                let col = &mut t.def.columns[i];
                col.nullable = false;
                if col.default == ColumnDefault::Value(Value::Null) {
                    col.default = ColumnDefault::Missing;
                }
            }
            t.def.primary_key = cols;
        }
        TableConstraint::Unique(u) => {
            if let Some(cols) = key_columns(&u.columns, &t.def.columns, mode)?
                && let Some(&first) = cols.first()
            {
                let name = unique_key_name(u, &t.def.columns, first);
                t.def.unique_keys.push(UniqueKey {
                    name,
                    columns: cols,
                });
            }
        }
        other if execute => {
            return Err(SqlError::unsupported(format!("table constraint {other}")));
        }
        _ => {}
    }
    Ok(true)
}

fn engine_of(options: &CreateTableOptions) -> Option<String> {
    let list = match options {
        CreateTableOptions::Plain(v)
        | CreateTableOptions::With(v)
        | CreateTableOptions::Options(v)
        | CreateTableOptions::TableProperties(v) => v,
        CreateTableOptions::None => return None,
    };
    list.iter().find_map(|o| match o {
        SqlOption::NamedParenthesizedList(l) if l.key.value.eq_ignore_ascii_case("ENGINE") => {
            l.name.as_ref().map(|n| n.value.clone())
        }
        _ => None,
    })
}

/// Builds a table from CREATE TABLE's column list and constraints.
fn build_table<D: Definitions>(
    target: &mut D,
    db: &str,
    name: &str,
    columns: &[ColumnDef],
    constraints: &[TableConstraint],
    engine: Option<String>,
) -> Result<CatalogTable, D::Error> {
    let mode = target.mode();
    let execute = mode == DdlMode::Execute;
    let mut t = CatalogTable::from_def(TableDef {
        database: db.to_string(),
        name: name.to_string(),
        columns: Vec::new(),
        primary_key: Vec::new(),
        unique_keys: Vec::new(),
        version: 1,
    });
    t.engine = engine;
    for c in columns {
        let b = build_column_def(target, c)?;
        if execute
            && t.def
                .columns
                .iter()
                .any(|x| x.name.eq_ignore_ascii_case(&b.column.name))
        {
            return Err(bad(format!("Duplicate column name '{}'", b.column.name)).into());
        }
        let i = t.def.columns.len();
        if b.primary_key {
            if execute && !t.def.primary_key.is_empty() {
                return Err(bad("Multiple primary key defined").into());
            }
            t.def.primary_key = vec![i];
        }
        if b.unique {
            t.def.unique_keys.push(UniqueKey {
                name: b.column.name.clone(),
                columns: vec![i],
            });
        }
        t.def.columns.push(b.column);
        t.declared.push(b.declared);
    }
    for c in constraints {
        if !add_constraint(&mut t, c, mode)? {
            t.uncertain = true;
            target.note(CatalogNote {
                table: format!("{db}.{name}"),
                message: format!("key not followed (unknown column): {c}"),
            });
        }
    }
    if execute {
        if let Some(a) = t.def.columns.iter().position(|c| c.auto_increment)
            && t.def.primary_key.is_empty()
            && !t
                .def
                .unique_keys
                .iter()
                .any(|u| u.columns.first() == Some(&a))
        {
            return Err(bad(
                "Incorrect table definition; there can be only one auto column and it must be defined as a key",
            )
            .into());
        }
        if t.def.columns.iter().filter(|c| c.auto_increment).count() > 1 {
            return Err(
                bad("Incorrect table definition; there can be only one auto column").into(),
            );
        }
    }
    Ok(t)
}

// ----- ALTER TABLE -----------------------------------------------------------

/// What one ALTER operation did.
enum AlterStep {
    /// The definition changed; where each column comes from.
    Changed(Vec<ColumnSource>),
    /// Nothing a definition holds changed.
    Unchanged,
    /// RENAME TO (database when qualified, name).
    Renamed(Option<String>, String),
    /// Following: the operation could not be followed.
    NotFollowed,
}

fn kept(n: usize) -> Vec<ColumnSource> {
    (0..n).map(ColumnSource::Kept).collect()
}

/// Where FIRST / AFTER c / (nothing: last) puts a column in `t`, counted
/// without the column at `without` (a column being moved). An unknown
/// column is an error.
fn position(
    t: &CatalogTable,
    p: &Option<MySQLColumnPosition>,
    without: Option<usize>,
) -> Result<usize, SqlError> {
    let len = t.def.columns.len() - usize::from(without.is_some());
    match p {
        None => Ok(len),
        Some(MySQLColumnPosition::First) => Ok(0),
        Some(MySQLColumnPosition::After(c)) => match t.def.column_index(&c.value) {
            Some(i) if Some(i) != without => Ok(if without.is_some_and(|w| i > w) {
                i
            } else {
                i + 1
            }),
            _ => Err(SqlError::new(
                SqlErrorKind::UnknownColumn,
                format!("Unknown column '{}' in 'table definition'", c.value),
            )),
        },
    }
}

fn alter_step<D: Definitions>(
    target: &mut D,
    t: &mut CatalogTable,
    op: &AlterTableOperation,
) -> Result<AlterStep, D::Error> {
    let mode = target.mode();
    let execute = mode == DdlMode::Execute;
    let n = t.def.columns.len();
    match op {
        AlterTableOperation::AddColumn {
            column_def,
            column_position,
            if_not_exists,
            ..
        } => {
            if t.def.column_index(&column_def.name.value).is_some() {
                if *if_not_exists {
                    return Ok(AlterStep::Unchanged);
                }
                if execute {
                    return Err(
                        bad(format!("Duplicate column name '{}'", column_def.name.value)).into(),
                    );
                }
                return Ok(AlterStep::NotFollowed);
            }
            let b = build_column_def(target, column_def)?;
            if execute && (b.primary_key || b.unique || b.column.auto_increment) {
                return Err(SqlError::unsupported(
                    "ADD COLUMN with PRIMARY KEY / UNIQUE / AUTO_INCREMENT",
                )
                .into());
            }
            let at = match position(t, column_position, None) {
                Ok(at) => at,
                Err(e) if execute => return Err(e.into()),
                Err(_) => return Ok(AlterStep::NotFollowed),
            };
            let name = b.column.name.clone();
            t.insert_column(at, b.column, b.declared);
            if b.primary_key {
                t.def.primary_key = vec![at];
            }
            if b.unique {
                t.def.unique_keys.push(UniqueKey {
                    name,
                    columns: vec![at],
                });
            }
            let mut sources = kept(n);
            sources.insert(at, ColumnSource::Added);
            Ok(AlterStep::Changed(sources))
        }
        AlterTableOperation::DropColumn {
            column_names,
            if_exists,
            ..
        } => {
            if execute && column_names.len() != 1 {
                return Err(SqlError::unsupported("DROP COLUMN of several columns").into());
            }
            let mut sources = kept(n);
            let mut followed = true;
            for c in column_names {
                let Some(at) = t.def.column_index(&c.value) else {
                    if *if_exists {
                        continue;
                    }
                    if execute {
                        return Err(SqlError::new(
                            SqlErrorKind::UnknownColumn,
                            format!("Can't DROP COLUMN `{}`; check that it exists", c.value),
                        )
                        .into());
                    }
                    followed = false;
                    continue;
                };
                if execute {
                    if t.def.primary_key.contains(&at) {
                        return Err(SqlError::unsupported("dropping a primary-key column").into());
                    }
                    if t.def.columns.len() == 1 {
                        return Err(bad("You can't delete all columns with ALTER TABLE").into());
                    }
                }
                t.remove_column(at);
                sources.remove(at);
            }
            if !followed {
                return Ok(AlterStep::NotFollowed);
            }
            if sources.len() == n {
                return Ok(AlterStep::Unchanged);
            }
            Ok(AlterStep::Changed(sources))
        }
        AlterTableOperation::RenameTable { table_name } => {
            let n = match table_name {
                RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => n,
            };
            let (db, name) = name_parts(n, mode)?;
            Ok(AlterStep::Renamed(db, name))
        }
        _ if execute => Err(SqlError::unsupported(format!("ALTER TABLE operation {op}")).into()),
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => match t.def.column_index(&old_column_name.value) {
            Some(i) => {
                t.def.columns[i].name = new_column_name.value.clone();
                Ok(AlterStep::Changed(kept(n)))
            }
            None => Ok(AlterStep::NotFollowed),
        },
        AlterTableOperation::ChangeColumn {
            old_name,
            new_name,
            data_type,
            options,
            column_position,
        } => replace_column(
            target,
            t,
            &old_name.value,
            &new_name.value,
            data_type,
            options,
            column_position,
        ),
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            column_position,
        } => replace_column(
            target,
            t,
            &col_name.value,
            &col_name.value,
            data_type,
            options,
            column_position,
        ),
        AlterTableOperation::AddConstraint { constraint, .. } => {
            if add_constraint(t, constraint, mode)? {
                Ok(AlterStep::Changed(kept(n)))
            } else {
                Ok(AlterStep::NotFollowed)
            }
        }
        AlterTableOperation::DropPrimaryKey { .. } => {
            t.def.primary_key.clear();
            Ok(AlterStep::Changed(kept(n)))
        }
        AlterTableOperation::DropIndex { name }
        | AlterTableOperation::DropConstraint { name, .. } => {
            let before = t.def.unique_keys.len();
            t.def
                .unique_keys
                .retain(|u| !u.name.eq_ignore_ascii_case(&name.value));
            Ok(if t.def.unique_keys.len() == before {
                AlterStep::Unchanged
            } else {
                AlterStep::Changed(kept(n))
            })
        }
        AlterTableOperation::RenameConstraint { old_name, new_name } => {
            for u in &mut t.def.unique_keys {
                if u.name.eq_ignore_ascii_case(&old_name.value) {
                    u.name = new_name.value.clone();
                }
            }
            Ok(AlterStep::Changed(kept(n)))
        }
        // What a definition does not hold: defaults set or dropped, foreign
        // keys, algorithm and lock clauses, counters, partitions.
        AlterTableOperation::DropForeignKey { .. }
        | AlterTableOperation::AlterColumn { .. }
        | AlterTableOperation::Algorithm { .. }
        | AlterTableOperation::Lock { .. }
        | AlterTableOperation::AutoIncrement { .. }
        | AlterTableOperation::AddPartitions { .. }
        | AlterTableOperation::DropPartitions { .. }
        | AlterTableOperation::RenamePartitions { .. } => Ok(AlterStep::Unchanged),
        _ => Ok(AlterStep::NotFollowed),
    }
}

/// CHANGE / MODIFY COLUMN (following only).
fn replace_column<D: Definitions>(
    target: &mut D,
    t: &mut CatalogTable,
    old: &str,
    new: &str,
    data_type: &DataType,
    options: &[ColumnOption],
    pos: &Option<MySQLColumnPosition>,
) -> Result<AlterStep, D::Error> {
    let Some(at) = t.def.column_index(old) else {
        return Ok(AlterStep::NotFollowed);
    };
    let opts: Vec<&ColumnOption> = options.iter().collect();
    let mut b = build_column(target, new, data_type, &opts)?;
    let n = t.def.columns.len();
    if t.def.primary_key.contains(&at) {
        b.column.nullable = false;
    }
    t.def.columns[at] = b.column;
    if at < t.declared.len() {
        t.declared[at] = b.declared;
    }
    let mut sources = kept(n);
    let mut now_at = at;
    if pos.is_some() {
        let Ok(to) = position(t, pos, Some(at)) else {
            return Ok(AlterStep::NotFollowed);
        };
        t.move_column(at, to);
        let s = sources.remove(at);
        sources.insert(to, s);
        now_at = to;
    }
    if b.primary_key {
        t.def.primary_key = vec![now_at];
    }
    if b.unique {
        t.def.unique_keys.push(UniqueKey {
            name: new.to_string(),
            columns: vec![now_at],
        });
    }
    Ok(AlterStep::Changed(sources))
}

// ----- the interpreter -------------------------------------------------------

/// Refuses, before anything runs, the statement forms the reference store
/// does not execute (so an unsupported statement does not commit an open
/// transaction). Statements that are not DDL pass.
pub fn refuse_unsupported(stmt: &Statement) -> Result<(), SqlError> {
    match stmt {
        Statement::CreateTable(ct)
            if ct.or_replace
                || ct.temporary
                || ct.query.is_some()
                || ct.like.is_some()
                || ct.clone.is_some() =>
        {
            Err(SqlError::unsupported(
                "CREATE TABLE variant (OR REPLACE / TEMPORARY / AS SELECT / LIKE)",
            ))
        }
        Statement::AlterTable(at)
            if at.if_exists || at.only || at.on_cluster.is_some() || at.location.is_some() =>
        {
            Err(SqlError::unsupported("ALTER TABLE variant"))
        }
        Statement::Truncate(t)
            if t.partitions.is_some()
                || t.identity.is_some()
                || t.cascade.is_some()
                || t.on_cluster.is_some() =>
        {
            Err(SqlError::unsupported("TRUNCATE variant"))
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            cascade,
            restrict,
            purge,
            temporary,
            ..
        } if *cascade || *restrict || *purge || *temporary => {
            Err(SqlError::unsupported("DROP TABLE variant"))
        }
        _ => Ok(()),
    }
}

/// Interprets one statement run with default database `default_db`
/// against `target`: the one DDL interpreter. Statements that are not DDL
/// change nothing (`SchemaChange::ddl` is false).
pub fn interpret<D: Definitions>(
    target: &mut D,
    stmt: &Statement,
    default_db: Option<&str>,
) -> Result<SchemaChange, D::Error> {
    let mode = target.mode();
    let execute = mode == DdlMode::Execute;
    if execute {
        refuse_unsupported(stmt)?;
    }
    let mut change = SchemaChange {
        ddl: true,
        ..SchemaChange::default()
    };
    match stmt {
        Statement::CreateDatabase {
            db_name,
            if_not_exists,
            ..
        } => {
            let (qualifier, db) = name_parts(db_name, mode)?;
            if qualifier.is_some() && execute {
                return Err(SqlError::unsupported("qualified database name").into());
            }
            if target.database_exists(&db) {
                if *if_not_exists || !execute {
                    return Ok(change);
                }
                return Err(SqlError::new(
                    SqlErrorKind::DatabaseExists,
                    format!("Can't create database '{db}'; database exists"),
                )
                .into());
            }
            target.create_database(&db)?;
        }
        Statement::CreateTable(ct) => {
            let Some((db, name)) = resolve(&ct.name, default_db, mode)? else {
                return Ok(change);
            };
            if ct.temporary
                && mode
                    == (DdlMode::Follow {
                        temporary_tables: false,
                    })
            {
                return Ok(change);
            }
            if target.table(&db, &name).is_some() {
                if ct.if_not_exists {
                    return Ok(change);
                }
                if execute {
                    return Err(SqlError::new(
                        SqlErrorKind::TableExists,
                        format!("Table '{name}' already exists"),
                    )
                    .into());
                }
            }
            change.tables.push((db.clone(), name.clone()));
            if let Some(like) = &ct.like {
                // Following only: executing refused it above.
                let src = match like {
                    CreateTableLikeKind::Parenthesized(l) | CreateTableLikeKind::Plain(l) => {
                        &l.name
                    }
                };
                let copy = resolve(src, Some(&db), mode)?
                    .and_then(|(d, n)| target.table(&d, &n).map(Cow::into_owned));
                match copy {
                    Some(mut t) => {
                        t.def.database = db;
                        t.def.name = name;
                        t.def.version = 1;
                        target.create_table(t)?;
                    }
                    None => {
                        target.drop_table(&db, &name)?;
                        target.note(CatalogNote {
                            table: format!("{db}.{name}"),
                            message: "CREATE TABLE ... LIKE an unknown table".to_string(),
                        });
                    }
                }
                return Ok(change);
            }
            if ct.columns.is_empty() && !execute {
                target.drop_table(&db, &name)?;
                target.note(CatalogNote {
                    table: format!("{db}.{name}"),
                    message: "CREATE TABLE without a column list (AS SELECT) not followed"
                        .to_string(),
                });
                return Ok(change);
            }
            let t = build_table(
                target,
                &db,
                &name,
                &ct.columns,
                &ct.constraints,
                engine_of(&ct.table_options),
            )?;
            target.create_table(t)?;
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            if_exists,
            names,
            ..
        } => {
            for n in names {
                let Some((db, name)) = resolve(n, default_db, mode)? else {
                    continue;
                };
                match held_name(target, &db, &name) {
                    Some(held) => {
                        target.drop_table(&held.0, &held.1)?;
                        change.tables.push(held);
                    }
                    None if execute && !if_exists => {
                        return Err(SqlError::new(
                            SqlErrorKind::UnknownTable,
                            format!("Unknown table '{n}'"),
                        )
                        .into());
                    }
                    None => change.tables.push((db, name)),
                }
            }
        }
        Statement::Drop {
            object_type: ObjectType::Database | ObjectType::Schema,
            if_exists,
            names,
            ..
        } => {
            for n in names {
                let (_, db) = name_parts(n, mode)?;
                let tables = target.tables_in(&db);
                if execute && !target.database_exists(&db) {
                    if *if_exists {
                        continue;
                    }
                    return Err(SqlError::new(
                        SqlErrorKind::UnknownDatabase,
                        format!("Can't drop database '{db}'; database doesn't exist"),
                    )
                    .into());
                }
                target.drop_database(&db)?;
                change.tables.extend(tables);
            }
        }
        Statement::AlterTable(at) => {
            let Some((mut db, mut name)) = resolve(&at.name, default_db, mode)? else {
                return Ok(change);
            };
            let Some(t) = target.table(&db, &name) else {
                if execute {
                    return Err(unknown_table(&db, &name).into());
                }
                change.tables.push((db, name));
                return Ok(change);
            };
            let mut t = t.into_owned();
            (db, name) = (t.def.database.clone(), t.def.name.clone());
            for op in &at.operations {
                let before = t.clone();
                match alter_step(target, &mut t, op)? {
                    AlterStep::Changed(sources) => {
                        t.def.version = t.def.version.saturating_add(1);
                        target.alter_table(AlteredTable {
                            database: &db,
                            name: &name,
                            table: t.clone(),
                            sources: &sources,
                        })?;
                    }
                    AlterStep::Unchanged => {}
                    AlterStep::Renamed(new_db, new_name) => {
                        // An unqualified new name is in the current database.
                        let new_db = new_db
                            .or_else(|| default_db.map(str::to_string))
                            .unwrap_or_else(|| db.clone());
                        if mode == DdlMode::Execute {
                            if !target.database_exists(&new_db) {
                                return Err(SqlError::new(
                                    SqlErrorKind::UnknownDatabase,
                                    format!("Unknown database '{new_db}'"),
                                )
                                .into());
                            }
                            if target.table(&new_db, &new_name).is_some() {
                                return Err(SqlError::new(
                                    SqlErrorKind::TableExists,
                                    format!("Table '{new_name}' already exists"),
                                )
                                .into());
                            }
                        }
                        target.rename_table(&db, &name, &new_db, &new_name)?;
                        change.tables.push((db, name));
                        (db, name) = (new_db, new_name);
                        t.def.database = db.clone();
                        t.def.name = name.clone();
                    }
                    AlterStep::NotFollowed => {
                        t = before;
                        t.uncertain = true;
                        let n = t.def.columns.len();
                        target.alter_table(AlteredTable {
                            database: &db,
                            name: &name,
                            table: t.clone(),
                            sources: &kept(n),
                        })?;
                        target.note(CatalogNote {
                            table: format!("{db}.{name}"),
                            message: format!("ALTER TABLE operation not followed: {op}"),
                        });
                    }
                }
            }
            change.tables.push((db, name));
        }
        Statement::RenameTable(list) => {
            for r in list {
                let (Some((odb, old)), Some((ndb, new))) = (
                    resolve(&r.old_name, default_db, mode)?,
                    resolve(&r.new_name, default_db, mode)?,
                ) else {
                    continue;
                };
                match held_name(target, &odb, &old) {
                    None if execute => return Err(unknown_table(&odb, &old).into()),
                    None => change.tables.push((odb, old)),
                    Some(held) => {
                        if execute && target.table(&ndb, &new).is_some() {
                            return Err(SqlError::new(
                                SqlErrorKind::TableExists,
                                format!("Table '{new}' already exists"),
                            )
                            .into());
                        }
                        target.rename_table(&held.0, &held.1, &ndb, &new)?;
                        change.tables.push(held);
                    }
                }
                change.tables.push((ndb, new));
            }
        }
        Statement::Truncate(t) => {
            for n in &t.table_names {
                let Some((db, name)) = resolve(&n.name, default_db, mode)? else {
                    continue;
                };
                match held_name(target, &db, &name) {
                    Some(held) => change.truncated.push(held),
                    None if execute => return Err(unknown_table(&db, &name).into()),
                    None => change.truncated.push((db, name)),
                }
            }
        }
        _ => change.ddl = false,
    }
    Ok(change)
}

#[cfg(test)]
mod tests;
