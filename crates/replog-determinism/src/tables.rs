//! The tables of the log as the rules see them: a projection of the one
//! catalog ([`replog_schema::catalog`]), which follows the log's own DDL.
//!
//! Rules such as "INSERT ... SELECT into a table with an auto-increment
//! column" or "ORDER BY over a unique NOT NULL key" depend on the target
//! table. The tracker is fed every statement of the log in order
//! ([`SchemaTracker::observe`]); `USE` selects the default database, and
//! DDL goes to the catalog (CREATE / DROP DATABASE, CREATE TABLE (also
//! `LIKE`), ALTER TABLE, RENAME TABLE, DROP TABLE). Other statements leave
//! it unchanged. A table the tracker never saw created, or whose last
//! change could not be followed, is unknown, and rules that need it report
//! that they could not decide.

use std::collections::BTreeMap;

use replog_schema::catalog::{Catalog, CatalogTable, DdlMode};
use replog_schema::{ColumnDefault, SqlType};
use serde::Serialize;
use sqlparser::ast::{ObjectName, Statement, Use};

/// What kind of value a column stores, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// TINYINT … BIGINT, BOOLEAN, BIT, YEAR: exact integers.
    Integer,
    /// DECIMAL / NUMERIC: exact fixed point.
    Decimal,
    /// FLOAT / DOUBLE / REAL: binary floating point.
    Float,
    /// CHAR, VARCHAR, TEXT, ENUM, SET, JSON.
    Text,
    /// BINARY, VARBINARY, BLOB.
    Binary,
    /// DATE, TIME, DATETIME, TIMESTAMP.
    Temporal,
    /// Anything else.
    Other,
}

impl ColumnKind {
    /// Integer or DECIMAL: a column where a floating-point value is rounded.
    pub fn is_exact_numeric(self) -> bool {
        matches!(self, ColumnKind::Integer | ColumnKind::Decimal)
    }

    fn of(ty: &SqlType) -> ColumnKind {
        match ty {
            SqlType::Int { .. } | SqlType::Bit(_) | SqlType::Year => ColumnKind::Integer,
            SqlType::Decimal { .. } => ColumnKind::Decimal,
            SqlType::Float | SqlType::Double => ColumnKind::Float,
            SqlType::Char(_)
            | SqlType::VarChar(_)
            | SqlType::Text(_)
            | SqlType::Enum(_)
            | SqlType::Set(_)
            | SqlType::Json => ColumnKind::Text,
            SqlType::Binary(_) | SqlType::VarBinary(_) | SqlType::Blob(_) => ColumnKind::Binary,
            SqlType::Date | SqlType::Time(_) | SqlType::DateTime(_) | SqlType::Timestamp(_) => {
                ColumnKind::Temporal
            }
            SqlType::Other(_) | SqlType::Pg(_) => ColumnKind::Other,
        }
    }
}

/// One column of a tracked table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnInfo {
    /// Column name as declared.
    pub name: String,
    /// The declared type as SQL text, such as `DECIMAL(12,2)`.
    pub sql_type: String,
    /// The kind of value the column stores.
    pub kind: ColumnKind,
    /// Whether the column accepts NULL.
    pub nullable: bool,
    /// `AUTO_INCREMENT`.
    pub auto_increment: bool,
    /// `DEFAULT CURRENT_TIMESTAMP` (or `NOW()` …): an INSERT that omits the
    /// column reads the statement time.
    pub default_now: bool,
    /// `ON UPDATE CURRENT_TIMESTAMP`: an UPDATE reads the statement time.
    pub on_update_now: bool,
}

/// A tracked table: columns, keys and engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableInfo {
    /// Database the table belongs to.
    pub database: String,
    /// Table name.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<ColumnInfo>,
    /// Column indexes of the primary key (empty: none).
    pub primary_key: Vec<usize>,
    /// Column indexes of every UNIQUE key (the primary key not included).
    pub unique_keys: Vec<Vec<usize>>,
    /// `ENGINE=…` when declared.
    pub engine: Option<String>,
}

impl TableInfo {
    /// Index of the column named `name` (case-insensitive).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The column named `name` (case-insensitive).
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.column_index(name).map(|i| &self.columns[i])
    }

    /// The auto-increment column, if any.
    pub fn auto_increment_column(&self) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.auto_increment)
    }

    /// Number of unique keys, the primary key included (what MySQL counts
    /// for `INSERT ... ON DUPLICATE KEY UPDATE` on several keys).
    pub fn unique_key_count(&self) -> usize {
        usize::from(!self.primary_key.is_empty()) + self.unique_keys.len()
    }

    /// Keys that identify a row: the primary key and every unique key whose
    /// columns are all NOT NULL (a unique key with a nullable column may
    /// hold several NULLs, so ordering by it is not total).
    pub fn identifying_keys(&self) -> impl Iterator<Item = &[usize]> {
        std::iter::once(self.primary_key.as_slice())
            .filter(|k| !k.is_empty())
            .chain(
                self.unique_keys
                    .iter()
                    .filter(|k| k.iter().all(|&i| !self.columns[i].nullable))
                    .map(Vec::as_slice),
            )
    }

    /// Whether a row order over `columns` (names) is total: they include
    /// every column of an identifying key.
    pub fn is_total_order(&self, columns: &[String]) -> bool {
        let idx: Vec<usize> = columns
            .iter()
            .filter_map(|c| self.column_index(c))
            .collect();
        self.identifying_keys()
            .any(|k| k.iter().all(|i| idx.contains(i)))
    }

    /// Whether the auto-increment column is part of a composite primary key
    /// without being its first column (MySQL's
    /// `BINLOG_STMT_UNSAFE_AUTOINC_NOT_FIRST`).
    pub fn autoinc_not_first_in_pk(&self) -> bool {
        let Some(ai) = self.columns.iter().position(|c| c.auto_increment) else {
            return false;
        };
        self.primary_key.len() > 1 && self.primary_key.contains(&ai) && self.primary_key[0] != ai
    }

    /// Whether the declared engine is known to be non-transactional.
    pub fn is_non_transactional(&self) -> bool {
        self.engine.as_deref().is_some_and(|e| {
            [
                "MyISAM",
                "MEMORY",
                "HEAP",
                "ARCHIVE",
                "CSV",
                "MERGE",
                "MRG_MyISAM",
                "Aria",
            ]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(e))
        })
    }
}

/// A change the tracker could not follow (the table is then unknown, so
/// rules that depend on it say they could not decide rather than guess).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaNote {
    /// The table concerned, `db.table`.
    pub table: String,
    /// What was not understood.
    pub message: String,
}

impl TableInfo {
    /// The rules' view of a catalog table.
    pub fn of(t: &CatalogTable) -> TableInfo {
        TableInfo {
            database: t.def.database.clone(),
            name: t.def.name.clone(),
            columns: t
                .columns()
                .map(|(c, d)| ColumnInfo {
                    name: c.name.clone(),
                    sql_type: d.type_text.clone(),
                    kind: ColumnKind::of(&c.ty),
                    nullable: c.nullable,
                    auto_increment: c.auto_increment,
                    default_now: c.default == ColumnDefault::CurrentTimestamp,
                    on_update_now: d.on_update_now,
                })
                .collect(),
            primary_key: t.def.primary_key.clone(),
            unique_keys: t
                .def
                .unique_keys
                .iter()
                .map(|u| u.columns.clone())
                .collect(),
            engine: t.engine.clone(),
        }
    }
}

/// Follows the schema of the log's tables, statement by statement.
#[derive(Debug, Clone)]
pub struct SchemaTracker {
    current_db: Option<String>,
    catalog: Catalog,
    /// The projection of every table the catalog knows for certain, by
    /// (database, table) as the catalog names them.
    tables: BTreeMap<(String, String), TableInfo>,
    notes: Vec<SchemaNote>,
}

impl Default for SchemaTracker {
    fn default() -> SchemaTracker {
        SchemaTracker {
            current_db: None,
            // A temporary table is what the session's later statements see.
            catalog: Catalog::new(DdlMode::Follow {
                temporary_tables: true,
            }),
            tables: BTreeMap::new(),
            notes: Vec::new(),
        }
    }
}

/// The last two parts of an object name: `(database, name)`.
pub(crate) fn split_name(name: &ObjectName) -> (Option<String>, String) {
    replog_schema::catalog::split_name(name)
}

impl SchemaTracker {
    /// An empty tracker (no database selected, no tables).
    pub fn new() -> SchemaTracker {
        SchemaTracker::default()
    }

    /// The database selected by the last `USE` (or set with
    /// [`SchemaTracker::set_database`]).
    pub fn current_database(&self) -> Option<&str> {
        self.current_db.as_deref()
    }

    /// Sets the default database, as a statement's captured context does.
    pub fn set_database(&mut self, db: Option<&str>) {
        if let Some(db) = db {
            self.current_db = Some(db.to_string());
        }
    }

    /// Changes the tracker could not follow, in log order.
    pub fn notes(&self) -> &[SchemaNote] {
        &self.notes
    }

    /// Every tracked table.
    pub fn tables(&self) -> impl Iterator<Item = &TableInfo> {
        self.tables.values()
    }

    /// The table `name` resolves to (qualified, or in `default_db`, or in
    /// the current database).
    pub fn table(&self, name: &ObjectName, default_db: Option<&str>) -> Option<&TableInfo> {
        let (db, t) = split_name(name);
        let db = db
            .as_deref()
            .or(default_db)
            .or(self.current_db.as_deref())?;
        self.lookup(db, &t)
    }

    /// Looks a table up by database and name (the exact name, else the one
    /// table whose name matches ignoring ASCII case).
    pub fn lookup(&self, db: &str, table: &str) -> Option<&TableInfo> {
        let t = self.catalog.table(db, table)?;
        self.tables
            .get(&(t.def.database.clone(), t.def.name.clone()))
    }

    /// Parses `sql` (MySQL dialect) and applies its schema effects. SQL that
    /// does not parse changes nothing.
    pub fn observe_sql(&mut self, sql: &str, default_db: Option<&str>) {
        if let Ok(stmts) = crate::analyze::parse(sql) {
            for s in &stmts {
                self.observe(s, default_db);
            }
        }
    }

    /// Applies the schema effects of one parsed statement. `default_db` is
    /// the statement's captured default database, if any.
    pub fn observe(&mut self, stmt: &Statement, default_db: Option<&str>) {
        if let Some(db) = default_db {
            self.current_db = Some(db.to_string());
        }
        if let Statement::Use(u) = stmt {
            if let Use::Object(n) | Use::Database(n) | Use::Schema(n) = u {
                self.current_db = Some(split_name(n).1);
            }
            return;
        }
        let changed = match self
            .catalog
            .apply_statement(stmt, self.current_db.as_deref())
        {
            Ok(change) => change.tables,
            // Following never fails but on a name it cannot read.
            Err(_) => Vec::new(),
        };
        self.notes
            .extend(self.catalog.take_notes().into_iter().map(|n| SchemaNote {
                table: n.table,
                message: n.message,
            }));
        for key in changed {
            match self.catalog.table(&key.0, &key.1) {
                Some(t) if t.def.database == key.0 && t.def.name == key.1 && !t.uncertain => {
                    self.tables.insert(key, TableInfo::of(t));
                }
                _ => {
                    self.tables.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(sqls: &[&str]) -> SchemaTracker {
        let mut t = SchemaTracker::new();
        for s in sqls {
            t.observe_sql(s, None);
        }
        t
    }

    #[test]
    fn create_alter_drop() {
        let t = tracker(&[
            "CREATE DATABASE d",
            "USE d",
            "CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, code VARCHAR(8) NOT NULL, n DECIMAL(5,2), UNIQUE KEY uk (code)) ENGINE=MyISAM",
            "ALTER TABLE t ADD COLUMN f DOUBLE NULL AFTER id",
        ]);
        let info = t.lookup("d", "T").unwrap();
        let names: Vec<&str> = info.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "f", "code", "n"]);
        assert_eq!(info.primary_key, [0]);
        assert_eq!(info.unique_keys, [vec![2]]);
        assert_eq!(info.unique_key_count(), 2);
        assert_eq!(info.auto_increment_column().unwrap().name, "id");
        assert_eq!(info.columns[1].kind, ColumnKind::Float);
        assert_eq!(info.columns[3].kind, ColumnKind::Decimal);
        assert!(info.is_non_transactional());
        assert!(info.is_total_order(&["code".into()]));
        assert!(!info.is_total_order(&["n".into()]));

        let t = tracker(&[
            "USE d",
            "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, UNIQUE (a))",
            "ALTER TABLE t DROP COLUMN a",
        ]);
        let info = t.lookup("d", "t").unwrap();
        assert!(info.unique_keys.is_empty());
        assert_eq!(info.unique_key_count(), 1);
        // a unique key with a nullable column does not order totally
        let t = tracker(&["CREATE TABLE d.u (a INT NULL, UNIQUE KEY (a))"]);
        assert!(!t.lookup("d", "u").unwrap().is_total_order(&["a".into()]));

        let t = tracker(&[
            "USE d",
            "CREATE TABLE t (id INT PRIMARY KEY)",
            "DROP TABLE t",
        ]);
        assert!(t.lookup("d", "t").is_none());
    }

    #[test]
    fn autoinc_not_first() {
        let t = tracker(&[
            "CREATE TABLE d.t (g INT NOT NULL, id INT NOT NULL AUTO_INCREMENT, PRIMARY KEY (g, id), KEY (id))",
        ]);
        assert!(t.lookup("d", "t").unwrap().autoinc_not_first_in_pk());
    }

    /// DROP INDEX and MODIFY … AFTER were not followed before the one
    /// catalog (the table was forgotten, its rules undecided); a change
    /// that really cannot be followed still makes the table unknown.
    #[test]
    fn drop_index_and_moves_are_followed_and_the_rest_is_noted() {
        let mut t = tracker(&[
            "USE d",
            "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL, UNIQUE KEY ua (a), UNIQUE KEY ub (b))",
            "ALTER TABLE t DROP INDEX ua",
            "ALTER TABLE t MODIFY b BIGINT NOT NULL AFTER id",
        ]);
        let info = t.lookup("d", "t").unwrap();
        let names: Vec<&str> = info.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "b", "a"]);
        assert_eq!(info.unique_keys, [vec![1]]);
        assert!(info.is_total_order(&["b".into()]));
        assert!(!info.is_total_order(&["a".into()]));
        assert!(t.notes().is_empty(), "{:?}", t.notes());
        t.observe_sql("ALTER TABLE t RENAME COLUMN nope TO x", None);
        assert!(t.lookup("d", "t").is_none());
        assert_eq!(t.notes().len(), 1);
        assert_eq!(t.notes()[0].table, "d.t");
    }
}
