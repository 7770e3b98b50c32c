//! Schema history: table definitions rebuilt from the DDL statements seen
//! earlier in the same binlog (CREATE TABLE, ALTER TABLE ADD / DROP /
//! CHANGE / MODIFY / RENAME COLUMN, ADD / DROP PRIMARY KEY, RENAME TO,
//! RENAME TABLE, DROP TABLE, DROP DATABASE), parsed with sqlparser's MySQL
//! dialect. Never consults a live server.

use sqlparser::ast::{
    AlterTableOperation, CharacterLength, ColumnDef as SqlColumnDef, ColumnOption, DataType,
    ExactNumberInfo, Expr, MySQLColumnPosition, ObjectName, ObjectType, RenameTableNameKind,
    Statement, TableConstraint,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use std::collections::HashMap;

/// Character data encoding of a history column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chars {
    /// Not character data, or unknown.
    None,
    /// Binary strings.
    Binary,
    /// latin1.
    Latin1,
    /// Any other character set (UTF-8 assumed).
    Text,
}

/// A column as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistColumn {
    /// Name.
    pub name: String,
    /// Integer types: UNSIGNED.
    pub unsigned: bool,
    /// BOOLEAN / BOOL (TINYINT(1) in MySQL).
    pub boolean: bool,
    /// JSON.
    pub json: bool,
    /// ENUM labels or SET members.
    pub labels: Option<Vec<String>>,
    /// Declared length (characters for CHAR/VARCHAR, bytes for BINARY).
    pub length: Option<u32>,
    /// Character data kind.
    pub chars: Chars,
    /// AUTO_INCREMENT.
    pub auto_increment: bool,
}

/// A table as declared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistTable {
    /// Columns in order.
    pub columns: Vec<HistColumn>,
    /// Primary key column indexes.
    pub primary_key: Vec<usize>,
    /// Some ALTER operation could not be followed: the definition may be off.
    pub uncertain: bool,
}

/// What a statement did to the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DdlEffect {
    /// Not DDL.
    NotDdl,
    /// DDL that affects the tables listed (`(db, table)`), possibly none.
    Ddl(Vec<(String, String)>),
    /// TRUNCATE TABLE of these tables.
    Truncate(Vec<(String, String)>),
}

/// Table definitions by (database, table), case-sensitive names.
#[derive(Debug, Default, Clone)]
pub struct SchemaHistory {
    tables: HashMap<(String, String), HistTable>,
}

fn split_name(name: &ObjectName, default_db: &str) -> Option<(String, String)> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(|i| i.value.clone()))
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [t] => Some((default_db.to_string(), t.clone())),
        [d, t] => Some((d.clone(), t.clone())),
        _ => None,
    }
}

fn char_len(l: &Option<CharacterLength>) -> Option<u32> {
    match l {
        Some(CharacterLength::IntegerLength { length, .. }) => u32::try_from(*length).ok(),
        _ => None,
    }
}

fn column(def_type: &DataType, name: &str, options: &[&ColumnOption]) -> HistColumn {
    let mut c = HistColumn {
        name: name.to_string(),
        unsigned: false,
        boolean: false,
        json: false,
        labels: None,
        length: None,
        chars: Chars::None,
        auto_increment: false,
    };
    match def_type {
        DataType::TinyIntUnsigned(_)
        | DataType::SmallIntUnsigned(_)
        | DataType::MediumIntUnsigned(_)
        | DataType::IntUnsigned(_)
        | DataType::IntegerUnsigned(_)
        | DataType::BigIntUnsigned(_)
        | DataType::DecimalUnsigned(_)
        | DataType::DecUnsigned(_) => c.unsigned = true,
        DataType::Bool | DataType::Boolean => c.boolean = true,
        DataType::JSON => c.json = true,
        DataType::Char(l) | DataType::Character(l) => {
            c.length = char_len(l).or(Some(1));
            c.chars = Chars::Text;
        }
        DataType::Varchar(l) | DataType::CharacterVarying(l) | DataType::CharVarying(l) => {
            c.length = char_len(l);
            c.chars = Chars::Text;
        }
        DataType::TinyText | DataType::Text | DataType::MediumText | DataType::LongText => {
            c.chars = Chars::Text;
        }
        DataType::Binary(l) => {
            c.length = l.and_then(|n| u32::try_from(n).ok()).or(Some(1));
            c.chars = Chars::Binary;
        }
        DataType::Varbinary(l) => {
            if let Some(sqlparser::ast::BinaryLength::IntegerLength { length }) = l {
                c.length = u32::try_from(*length).ok();
            }
            c.chars = Chars::Binary;
        }
        DataType::TinyBlob | DataType::Blob(_) | DataType::MediumBlob | DataType::LongBlob => {
            c.chars = Chars::Binary;
        }
        DataType::Enum(members, _) => {
            c.labels = Some(
                members
                    .iter()
                    .map(|m| match m {
                        sqlparser::ast::EnumMember::Name(n) => n.clone(),
                        sqlparser::ast::EnumMember::NamedValue(n, _) => n.clone(),
                    })
                    .collect(),
            );
            c.chars = Chars::Text;
        }
        DataType::Set(labels) => {
            c.labels = Some(labels.clone());
            c.chars = Chars::Text;
        }
        DataType::Decimal(ExactNumberInfo::None) => {}
        _ => {}
    }
    let text = def_type.to_string().to_ascii_uppercase();
    if text.contains("UNSIGNED") {
        c.unsigned = true;
    }
    for o in options {
        match o {
            ColumnOption::CharacterSet(cs) => {
                let cs = cs.to_string().to_ascii_lowercase();
                if c.chars == Chars::Text {
                    c.chars = if cs.starts_with("latin1") {
                        Chars::Latin1
                    } else if cs == "binary" {
                        Chars::Binary
                    } else {
                        Chars::Text
                    };
                }
            }
            ColumnOption::Collation(coll) => {
                let coll = coll.to_string().to_ascii_lowercase();
                if c.chars == Chars::Text && coll.starts_with("latin1") {
                    c.chars = Chars::Latin1;
                }
            }
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
    c
}

fn is_inline_pk(o: &ColumnOption) -> bool {
    matches!(o, ColumnOption::PrimaryKey(_))
}

fn col_from_def(d: &SqlColumnDef) -> (HistColumn, bool) {
    let opts: Vec<&ColumnOption> = d.options.iter().map(|o| &o.option).collect();
    let pk = opts.iter().any(|o| is_inline_pk(o));
    (column(&d.data_type, &d.name.value, &opts), pk)
}

fn key_columns(cols: &[sqlparser::ast::IndexColumn], table: &HistTable) -> Option<Vec<usize>> {
    cols.iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(i) => table.index_of(&i.value),
            _ => None,
        })
        .collect()
}

impl HistTable {
    /// Index of column `name` (case-insensitive, as MySQL).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    fn insert_at(&mut self, at: usize, c: HistColumn) {
        let at = at.min(self.columns.len());
        self.columns.insert(at, c);
        for k in &mut self.primary_key {
            if *k >= at {
                *k += 1;
            }
        }
    }

    fn remove(&mut self, at: usize) {
        self.columns.remove(at);
        self.primary_key.retain(|&k| k != at);
        for k in &mut self.primary_key {
            if *k > at {
                *k -= 1;
            }
        }
    }

    fn position(&self, p: &Option<MySQLColumnPosition>) -> Option<usize> {
        match p {
            None => Some(self.columns.len()),
            Some(MySQLColumnPosition::First) => Some(0),
            Some(MySQLColumnPosition::After(c)) => self.index_of(&c.value).map(|i| i + 1),
        }
    }

    /// Applies one ALTER operation; false when it could not be followed.
    fn alter(&mut self, op: &AlterTableOperation) -> bool {
        match op {
            AlterTableOperation::AddColumn {
                column_def,
                column_position,
                if_not_exists,
                ..
            } => {
                if self.index_of(&column_def.name.value).is_some() {
                    return *if_not_exists;
                }
                let (c, pk) = col_from_def(column_def);
                let Some(at) = self.position(column_position) else {
                    return false;
                };
                self.insert_at(at, c);
                if pk {
                    self.primary_key = vec![at];
                }
                true
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                let mut ok = true;
                for n in column_names {
                    match self.index_of(&n.value) {
                        Some(i) => self.remove(i),
                        None => ok &= *if_exists,
                    }
                }
                ok
            }
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => match self.index_of(&old_column_name.value) {
                Some(i) => {
                    self.columns[i].name = new_column_name.value.clone();
                    true
                }
                None => false,
            },
            AlterTableOperation::ChangeColumn {
                old_name,
                new_name,
                data_type,
                options,
                column_position,
                ..
            } => self.replace_column(
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
            } => self.replace_column(
                &col_name.value,
                &col_name.value,
                data_type,
                options,
                column_position,
            ),
            AlterTableOperation::AddConstraint { constraint, .. } => match constraint {
                TableConstraint::PrimaryKey(p) => match key_columns(&p.columns, self) {
                    Some(k) => {
                        self.primary_key = k;
                        true
                    }
                    None => false,
                },
                _ => true,
            },
            AlterTableOperation::DropPrimaryKey { .. } => {
                self.primary_key.clear();
                true
            }
            AlterTableOperation::DropIndex { .. }
            | AlterTableOperation::DropConstraint { .. }
            | AlterTableOperation::DropForeignKey { .. }
            | AlterTableOperation::AlterColumn { .. } => true,
            _ => false,
        }
    }

    fn replace_column(
        &mut self,
        old: &str,
        new: &str,
        data_type: &DataType,
        options: &[ColumnOption],
        pos: &Option<MySQLColumnPosition>,
    ) -> bool {
        let Some(i) = self.index_of(old) else {
            return false;
        };
        let opts: Vec<&ColumnOption> = options.iter().collect();
        let c = column(data_type, new, &opts);
        if pos.is_none() {
            self.columns[i] = c;
            return true;
        }
        let was_key = self.primary_key.contains(&i);
        self.remove(i);
        let Some(at) = self.position(pos) else {
            return false;
        };
        self.insert_at(at, c);
        if was_key {
            self.primary_key.push(at);
        }
        true
    }
}

/// Leading keyword of a statement, upper-cased (skipping comments).
pub fn first_keyword(sql: &str) -> String {
    let mut s = sql.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("/*") {
            // Keep executable comments' content (`/*!50000 ... */`).
            if rest.starts_with('!') || rest.starts_with("M!") {
                s = rest
                    .trim_start_matches("M!")
                    .trim_start_matches('!')
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .trim_start();
                continue;
            }
            match rest.find("*/") {
                Some(e) => s = rest[e + 2..].trim_start(),
                None => return String::new(),
            }
        } else if s.starts_with("--") || s.starts_with('#') {
            match s.find('\n') {
                Some(e) => s = s[e + 1..].trim_start(),
                None => return String::new(),
            }
        } else {
            break;
        }
    }
    s.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// Whether a statement is DDL by its leading keyword.
pub fn is_ddl_keyword(kw: &str) -> bool {
    matches!(
        kw,
        "CREATE" | "ALTER" | "DROP" | "RENAME" | "TRUNCATE" | "ANALYZE" | "OPTIMIZE" | "REPAIR"
    )
}

impl SchemaHistory {
    /// An empty history.
    pub fn new() -> SchemaHistory {
        SchemaHistory::default()
    }

    /// The definition of `db.table`, if known.
    pub fn get(&self, db: &str, table: &str) -> Option<&HistTable> {
        self.tables.get(&(db.to_string(), table.to_string()))
    }

    /// Number of tables known.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether no table is known.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Follows one statement run with default database `db`. Returns what
    /// it did; statements sqlparser cannot parse are classified by their
    /// leading keyword (and `notes` gets a line when DDL was not followed).
    pub fn apply(&mut self, db: &str, sql: &str, notes: &mut Vec<String>) -> DdlEffect {
        let kw = first_keyword(sql);
        if !is_ddl_keyword(&kw) {
            return DdlEffect::NotDdl;
        }
        let parsed = Parser::parse_sql(&MySqlDialect {}, sql);
        let stmts = match parsed {
            Ok(s) => s,
            Err(e) => {
                if matches!(kw.as_str(), "CREATE" | "ALTER" | "DROP" | "RENAME") {
                    let lower = sql.to_ascii_lowercase();
                    if lower.contains(" table ") || lower.contains("table\n") {
                        notes.push(format!(
                            "DDL not understood by the schema history ({e}): {}",
                            one_line(sql)
                        ));
                    }
                }
                return DdlEffect::Ddl(Vec::new());
            }
        };
        let mut touched = Vec::new();
        let mut truncated = Vec::new();
        for st in &stmts {
            match st {
                Statement::CreateTable(ct) => {
                    let Some(key) = split_name(&ct.name, db) else {
                        continue;
                    };
                    if ct.if_not_exists && self.tables.contains_key(&key) {
                        continue;
                    }
                    if ct.temporary {
                        continue;
                    }
                    let mut t = HistTable::default();
                    let mut pk = Vec::new();
                    for (i, cd) in ct.columns.iter().enumerate() {
                        let (c, is_pk) = col_from_def(cd);
                        if is_pk {
                            pk.push(i);
                        }
                        t.columns.push(c);
                    }
                    for c in &ct.constraints {
                        if let TableConstraint::PrimaryKey(p) = c {
                            match key_columns(&p.columns, &t) {
                                Some(k) => pk = k,
                                None => t.uncertain = true,
                            }
                        }
                    }
                    t.primary_key = pk;
                    if ct.columns.is_empty() {
                        // CREATE TABLE ... LIKE / AS SELECT: not followed.
                        t.uncertain = true;
                        notes.push(format!(
                            "CREATE TABLE without column list not followed: {}",
                            one_line(sql)
                        ));
                        self.tables.remove(&key);
                    } else {
                        self.tables.insert(key.clone(), t);
                    }
                    touched.push(key);
                }
                Statement::AlterTable(at) => {
                    let Some(mut key) = split_name(&at.name, db) else {
                        continue;
                    };
                    let Some(mut t) = self.tables.remove(&key) else {
                        touched.push(key);
                        continue;
                    };
                    for op in &at.operations {
                        if let AlterTableOperation::RenameTable { table_name } = op {
                            let n = match table_name {
                                RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => n,
                            };
                            if let Some(k) = split_name(n, &key.0) {
                                touched.push(key.clone());
                                key = k;
                            }
                            continue;
                        }
                        if !t.alter(op) {
                            t.uncertain = true;
                            notes.push(format!(
                                "ALTER TABLE operation not followed by the schema history: {op}"
                            ));
                        }
                    }
                    self.tables.insert(key.clone(), t);
                    touched.push(key);
                }
                Statement::Drop {
                    object_type, names, ..
                } => match object_type {
                    ObjectType::Table => {
                        for n in names {
                            if let Some(k) = split_name(n, db) {
                                self.tables.remove(&k);
                                touched.push(k);
                            }
                        }
                    }
                    ObjectType::Database | ObjectType::Schema => {
                        for n in names {
                            let d = n.to_string().trim_matches('`').to_string();
                            let gone: Vec<_> =
                                self.tables.keys().filter(|k| k.0 == d).cloned().collect();
                            for k in gone {
                                self.tables.remove(&k);
                                touched.push(k);
                            }
                        }
                    }
                    _ => {}
                },
                Statement::RenameTable(list) => {
                    for r in list {
                        let (Some(old), Some(new)) =
                            (split_name(&r.old_name, db), split_name(&r.new_name, db))
                        else {
                            continue;
                        };
                        if let Some(t) = self.tables.remove(&old) {
                            self.tables.insert(new.clone(), t);
                        }
                        touched.push(old);
                        touched.push(new);
                    }
                }
                Statement::Truncate(t) => {
                    for n in &t.table_names {
                        if let Some(k) = split_name(&n.name, db) {
                            truncated.push(k);
                        }
                    }
                }
                _ => {}
            }
        }
        if !truncated.is_empty() && touched.is_empty() {
            return DdlEffect::Truncate(truncated);
        }
        DdlEffect::Ddl(touched)
    }
}

/// The statement on one line, cut to 120 characters, for notes.
pub fn one_line(sql: &str) -> String {
    let s: String = sql
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(120)
        .collect();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_alter_drop() {
        let mut h = SchemaHistory::new();
        let mut notes = Vec::new();
        h.apply(
            "d",
            "CREATE TABLE t (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, a VARCHAR(10) CHARACTER SET latin1, e ENUM('x','y'), b BLOB)",
            &mut notes,
        );
        let t = h.get("d", "t").unwrap();
        assert_eq!(t.columns.len(), 4);
        assert_eq!(t.primary_key, vec![0]);
        assert!(t.columns[0].unsigned && t.columns[0].auto_increment);
        assert_eq!(t.columns[1].chars, Chars::Latin1);
        assert_eq!(t.columns[2].labels.as_deref().unwrap(), ["x", "y"]);
        assert_eq!(t.columns[3].chars, Chars::Binary);
        h.apply("d", "ALTER TABLE t ADD COLUMN z INT FIRST", &mut notes);
        assert_eq!(h.get("d", "t").unwrap().primary_key, vec![1]);
        h.apply("d", "ALTER TABLE t DROP COLUMN a", &mut notes);
        let names: Vec<_> = h
            .get("d", "t")
            .unwrap()
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect();
        assert_eq!(names, ["z", "id", "e", "b"]);
        h.apply("d", "RENAME TABLE t TO u", &mut notes);
        assert!(h.get("d", "t").is_none() && h.get("d", "u").is_some());
        h.apply("x", "DROP TABLE d.u", &mut notes);
        assert!(h.is_empty());
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(first_keyword("/* c */ /*!40101 CREATE */ x"), "CREATE");
    }
}
