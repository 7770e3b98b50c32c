//! The schema tracker: what the tables of the log look like at each
//! statement, learnt from the DDL of the log itself.
//!
//! Rules such as "INSERT ... SELECT into a table with an auto-increment
//! column" or "ORDER BY over a unique NOT NULL key" depend on the target
//! table. The tracker is fed every statement of the log in order
//! ([`SchemaTracker::observe`]) and understands `CREATE DATABASE`, `USE`,
//! `CREATE TABLE`, `ALTER TABLE ... ADD/DROP/MODIFY/CHANGE COLUMN`,
//! `ALTER TABLE ... ADD PRIMARY KEY/UNIQUE`, `RENAME TABLE`/`ALTER TABLE
//! ... RENAME` and `DROP TABLE`/`DROP DATABASE`. Other statements leave it
//! unchanged. A table the tracker never saw created is unknown, and rules
//! that need it report that they could not decide.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, DataType, Expr, ObjectName, ObjectType,
    Statement, TableConstraint, Use,
};

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

    fn of(ty: &DataType) -> ColumnKind {
        use DataType as D;
        match ty {
            D::TinyInt(_)
            | D::TinyIntUnsigned(_)
            | D::SmallInt(_)
            | D::SmallIntUnsigned(_)
            | D::MediumInt(_)
            | D::MediumIntUnsigned(_)
            | D::Int(_)
            | D::IntUnsigned(_)
            | D::Integer(_)
            | D::IntegerUnsigned(_)
            | D::BigInt(_)
            | D::BigIntUnsigned(_)
            | D::Bool
            | D::Boolean
            | D::Bit(_) => ColumnKind::Integer,
            D::Decimal(_) | D::DecimalUnsigned(_) | D::Numeric(_) | D::Dec(_) => {
                ColumnKind::Decimal
            }
            D::Float(_)
            | D::FloatUnsigned(_)
            | D::Double(_)
            | D::DoubleUnsigned(_)
            | D::DoublePrecision
            | D::Real => ColumnKind::Float,
            D::Char(_)
            | D::Varchar(_)
            | D::Text
            | D::TinyText
            | D::MediumText
            | D::LongText
            | D::Enum(..)
            | D::Set(_)
            | D::JSON
            | D::String(_)
            | D::Nvarchar(_)
            | D::CharacterVarying(_)
            | D::Character(_) => ColumnKind::Text,
            D::Binary(_)
            | D::Varbinary(_)
            | D::Blob(_)
            | D::TinyBlob
            | D::MediumBlob
            | D::LongBlob
            | D::Bytea => ColumnKind::Binary,
            D::Date | D::Time(..) | D::Datetime(_) | D::Timestamp(..) => ColumnKind::Temporal,
            D::Custom(name, _) if name.to_string().eq_ignore_ascii_case("YEAR") => {
                ColumnKind::Integer
            }
            _ => ColumnKind::Other,
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

/// A change the tracker could not follow (the table is then forgotten, so
/// rules that depend on it say they could not decide rather than guess).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaNote {
    /// The table concerned, `db.table`.
    pub table: String,
    /// What was not understood.
    pub message: String,
}

/// Follows the schema of the log's tables, statement by statement.
#[derive(Debug, Clone, Default)]
pub struct SchemaTracker {
    current_db: Option<String>,
    /// Keyed by lower-case `(database, table)`.
    tables: BTreeMap<(String, String), TableInfo>,
    notes: Vec<SchemaNote>,
}

fn key(db: &str, table: &str) -> (String, String) {
    (db.to_ascii_lowercase(), table.to_ascii_lowercase())
}

/// The last two parts of an object name: `(database, name)`.
pub(crate) fn split_name(name: &ObjectName) -> (Option<String>, String) {
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
        self.tables.get(&key(db, &t))
    }

    /// Looks a table up by database and name.
    pub fn lookup(&self, db: &str, table: &str) -> Option<&TableInfo> {
        self.tables.get(&key(db, table))
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
        match stmt {
            Statement::Use(u) => {
                let name = match u {
                    Use::Object(n) | Use::Database(n) | Use::Schema(n) => n,
                    _ => return,
                };
                self.current_db = Some(split_name(name).1);
            }
            Statement::CreateTable(ct) => {
                let Some(db) = self.db_of(&ct.name) else {
                    return;
                };
                let (_, name) = split_name(&ct.name);
                if ct.if_not_exists && self.tables.contains_key(&key(&db, &name)) {
                    return;
                }
                if let Some(like) = &ct.like {
                    let src = match like {
                        sqlparser::ast::CreateTableLikeKind::Parenthesized(l)
                        | sqlparser::ast::CreateTableLikeKind::Plain(l) => &l.name,
                    };
                    let Some(mut t) = self.table(src, Some(&db)).cloned() else {
                        self.forget(&db, &name, "CREATE TABLE ... LIKE an unknown table");
                        return;
                    };
                    t.database = db.clone();
                    t.name = name.clone();
                    self.tables.insert(key(&db, &name), t);
                    return;
                }
                let engine = engine_of(&ct.table_options);
                let t = build_table(&db, &name, &ct.columns, &ct.constraints, engine);
                self.tables.insert(key(&db, &name), t);
            }
            Statement::AlterTable(at) => {
                let Some(db) = self.db_of(&at.name) else {
                    return;
                };
                let (_, name) = split_name(&at.name);
                let k = key(&db, &name);
                let Some(mut t) = self.tables.remove(&k) else {
                    return;
                };
                let mut new_key = k;
                for op in &at.operations {
                    match alter(&mut t, op) {
                        Ok(Some((ndb, nname))) => {
                            let ndb = ndb.unwrap_or_else(|| db.clone());
                            t.database = ndb.clone();
                            t.name = nname.clone();
                            new_key = key(&ndb, &nname);
                        }
                        Ok(None) => {}
                        Err(msg) => {
                            self.notes.push(SchemaNote {
                                table: format!("{db}.{name}"),
                                message: msg,
                            });
                            return;
                        }
                    }
                }
                self.tables.insert(new_key, t);
            }
            Statement::RenameTable(renames) => {
                for r in renames {
                    let (Some(odb), Some(ndb)) = (self.db_of(&r.old_name), self.db_of(&r.new_name))
                    else {
                        continue;
                    };
                    let (_, old) = split_name(&r.old_name);
                    let (_, new) = split_name(&r.new_name);
                    if let Some(mut t) = self.tables.remove(&key(&odb, &old)) {
                        t.database = ndb.clone();
                        t.name = new.clone();
                        self.tables.insert(key(&ndb, &new), t);
                    }
                }
            }
            Statement::Drop {
                object_type, names, ..
            } => match object_type {
                ObjectType::Table => {
                    for n in names {
                        if let Some(db) = self.db_of(n) {
                            self.tables.remove(&key(&db, &split_name(n).1));
                        }
                    }
                }
                ObjectType::Database | ObjectType::Schema => {
                    for n in names {
                        let db = split_name(n).1.to_ascii_lowercase();
                        self.tables.retain(|(d, _), _| *d != db);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn db_of(&self, name: &ObjectName) -> Option<String> {
        split_name(name).0.or_else(|| self.current_db.clone())
    }

    fn forget(&mut self, db: &str, name: &str, why: &str) {
        self.tables.remove(&key(db, name));
        self.notes.push(SchemaNote {
            table: format!("{db}.{name}"),
            message: why.to_string(),
        });
    }
}

fn engine_of(options: &sqlparser::ast::CreateTableOptions) -> Option<String> {
    use sqlparser::ast::{CreateTableOptions as O, SqlOption};
    let list = match options {
        O::Plain(v) | O::With(v) | O::Options(v) | O::TableProperties(v) => v,
        O::None => return None,
    };
    list.iter().find_map(|o| match o {
        SqlOption::NamedParenthesizedList(l) if l.key.value.eq_ignore_ascii_case("ENGINE") => {
            l.name.as_ref().map(|n| n.value.clone())
        }
        _ => None,
    })
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

/// A column and whether it declared PRIMARY KEY / UNIQUE inline.
fn column(def: &ColumnDef) -> (ColumnInfo, bool, bool) {
    let mut c = ColumnInfo {
        name: def.name.value.clone(),
        sql_type: def.data_type.to_string(),
        kind: ColumnKind::of(&def.data_type),
        nullable: true,
        auto_increment: false,
        default_now: false,
        on_update_now: false,
    };
    let (mut pk, mut unique) = (false, false);
    for o in &def.options {
        match &o.option {
            ColumnOption::NotNull => c.nullable = false,
            ColumnOption::Null => c.nullable = true,
            ColumnOption::PrimaryKey(_) => pk = true,
            ColumnOption::Unique(_) => unique = true,
            ColumnOption::Default(e) => c.default_now = is_now(e),
            ColumnOption::OnUpdate(e) => c.on_update_now = is_now(e),
            ColumnOption::DialectSpecific(tokens)
                if tokens
                    .iter()
                    .any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")) =>
            {
                c.auto_increment = true;
            }
            _ => {}
        }
    }
    if pk {
        c.nullable = false;
    }
    (c, pk, unique)
}

fn key_columns(cols: &[sqlparser::ast::IndexColumn], columns: &[ColumnInfo]) -> Vec<usize> {
    cols.iter()
        .filter_map(|c| match &c.column.expr {
            Expr::Identifier(i) => columns
                .iter()
                .position(|col| col.name.eq_ignore_ascii_case(&i.value)),
            _ => None,
        })
        .collect()
}

fn build_table(
    db: &str,
    name: &str,
    defs: &[ColumnDef],
    constraints: &[TableConstraint],
    engine: Option<String>,
) -> TableInfo {
    let mut t = TableInfo {
        database: db.to_string(),
        name: name.to_string(),
        columns: Vec::new(),
        primary_key: Vec::new(),
        unique_keys: Vec::new(),
        engine,
    };
    for def in defs {
        add_column(&mut t, def, None);
    }
    for c in constraints {
        add_constraint(&mut t, c);
    }
    t
}

fn add_column(t: &mut TableInfo, def: &ColumnDef, at: Option<usize>) {
    let (col, pk, unique) = column(def);
    let at = at.unwrap_or(t.columns.len()).min(t.columns.len());
    t.columns.insert(at, col);
    let shift = |i: &mut usize| {
        if *i >= at {
            *i += 1;
        }
    };
    t.primary_key.iter_mut().for_each(shift);
    t.unique_keys.iter_mut().flatten().for_each(shift);
    if pk {
        t.primary_key = vec![at];
    }
    if unique {
        t.unique_keys.push(vec![at]);
    }
}

fn add_constraint(t: &mut TableInfo, c: &TableConstraint) {
    match c {
        TableConstraint::PrimaryKey(p) => {
            t.primary_key = key_columns(&p.columns, &t.columns);
            for &i in &t.primary_key {
                t.columns[i].nullable = false;
            }
        }
        TableConstraint::Unique(u) => {
            let cols = key_columns(&u.columns, &t.columns);
            if !cols.is_empty() {
                t.unique_keys.push(cols);
            }
        }
        _ => {}
    }
}

fn drop_column(t: &mut TableInfo, name: &str) -> Result<(), String> {
    let Some(at) = t.column_index(name) else {
        return Ok(());
    };
    t.columns.remove(at);
    // MySQL removes the column from every index, dropping indexes left empty.
    let fix = |k: &mut Vec<usize>| {
        k.retain(|&i| i != at);
        for i in k.iter_mut() {
            if *i > at {
                *i -= 1;
            }
        }
    };
    fix(&mut t.primary_key);
    t.unique_keys.iter_mut().for_each(fix);
    t.unique_keys.retain(|k| !k.is_empty());
    Ok(())
}

type Rename = Option<(Option<String>, String)>;

fn alter(t: &mut TableInfo, op: &AlterTableOperation) -> Result<Rename, String> {
    use sqlparser::ast::MySQLColumnPosition as P;
    let position = |t: &TableInfo, p: &Option<P>| -> Option<usize> {
        match p {
            None => None,
            Some(P::First) => Some(0),
            Some(P::After(c)) => t.column_index(&c.value).map(|i| i + 1),
        }
    };
    match op {
        AlterTableOperation::AddColumn {
            column_def,
            column_position,
            ..
        } if t.column_index(&column_def.name.value).is_none() => {
            let at = position(t, column_position);
            add_column(t, column_def, at);
        }
        AlterTableOperation::DropColumn { column_names, .. } => {
            for c in column_names {
                drop_column(t, &c.value)?;
            }
        }
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            column_position,
        }
        | AlterTableOperation::ChangeColumn {
            old_name: col_name,
            data_type,
            options,
            column_position,
            ..
        } => {
            let new_name = match op {
                AlterTableOperation::ChangeColumn { new_name, .. } => new_name.clone(),
                _ => col_name.clone(),
            };
            let Some(at) = t.column_index(&col_name.value) else {
                return Err(format!("ALTER of unknown column {}", col_name.value));
            };
            let def = ColumnDef {
                name: new_name,
                data_type: data_type.clone(),
                options: options
                    .iter()
                    .map(|o| sqlparser::ast::ColumnOptionDef {
                        name: None,
                        option: o.clone(),
                    })
                    .collect(),
            };
            let (col, pk, unique) = column(&def);
            if column_position.is_some() {
                return Err("MODIFY/CHANGE COLUMN with a new position".to_string());
            }
            let keep_nn = t.primary_key.contains(&at);
            t.columns[at] = col;
            if keep_nn {
                t.columns[at].nullable = false;
            }
            if pk {
                t.primary_key = vec![at];
            }
            if unique {
                t.unique_keys.push(vec![at]);
            }
        }
        AlterTableOperation::AddConstraint { constraint, .. } => add_constraint(t, constraint),
        AlterTableOperation::DropPrimaryKey { .. } => t.primary_key.clear(),
        AlterTableOperation::RenameTable { table_name } => {
            let name = match table_name {
                sqlparser::ast::RenameTableNameKind::As(n)
                | sqlparser::ast::RenameTableNameKind::To(n) => n,
            };
            let (db, n) = split_name(name);
            return Ok(Some((db, n)));
        }
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => {
            if let Some(i) = t.column_index(&old_column_name.value) {
                t.columns[i].name = new_column_name.value.clone();
            }
        }
        AlterTableOperation::DropIndex { .. }
        | AlterTableOperation::DropConstraint { .. }
        | AlterTableOperation::RenameConstraint { .. } => {
            return Err(format!(
                "{op}: key names are not tracked, so the remaining keys are unknown"
            ));
        }
        // Other operations (defaults, comments, indexes that are not
        // unique, table options) do not change what the rules look at.
        _ => {}
    }
    Ok(None)
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
}
