//! Schema history: the tables of a binlog as the DDL earlier in the same
//! binlog leaves them, followed by the one DDL interpreter
//! ([`replog_schema::catalog`], in [`DdlMode::Follow`]) and seen through
//! [`HistTable`], the projection the importer needs (column names, types'
//! details, character data, primary key). Never consults a live server.

use replog_schema::MariaDbDialect;
use replog_schema::SqlType;
use replog_schema::catalog::{Catalog, CatalogTable, DdlMode};
use replog_schema::error::one_line as one_line_max;
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

/// A table as declared: a projection of the catalog's table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistTable {
    /// Columns in order.
    pub columns: Vec<HistColumn>,
    /// Primary key column indexes.
    pub primary_key: Vec<usize>,
    /// Some ALTER operation could not be followed: the definition may be off.
    pub uncertain: bool,
}

impl HistTable {
    /// The importer's view of a catalog table.
    pub fn of(t: &CatalogTable) -> HistTable {
        let columns = t
            .columns()
            .map(|(c, d)| {
                let declared_unsigned = d.type_text.to_ascii_uppercase().contains("UNSIGNED");
                let chars = match &c.ty {
                    SqlType::Char(_)
                    | SqlType::VarChar(_)
                    | SqlType::Text(_)
                    | SqlType::Enum(_)
                    | SqlType::Set(_) => {
                        let charset = d.charset.as_deref().unwrap_or("");
                        let collation = d.collation.as_deref().unwrap_or("");
                        if charset.starts_with("latin1") || collation.starts_with("latin1") {
                            Chars::Latin1
                        } else if charset == "binary" {
                            Chars::Binary
                        } else {
                            Chars::Text
                        }
                    }
                    SqlType::Binary(_) | SqlType::VarBinary(_) | SqlType::Blob(_) => Chars::Binary,
                    _ => Chars::None,
                };
                HistColumn {
                    name: c.name.clone(),
                    unsigned: declared_unsigned
                        || matches!(
                            c.ty,
                            SqlType::Int { unsigned: true, .. }
                                | SqlType::Decimal { unsigned: true, .. }
                        ),
                    boolean: matches!(c.ty, SqlType::Int { boolean: true, .. }),
                    json: c.ty == SqlType::Json,
                    labels: match &c.ty {
                        SqlType::Enum(l) | SqlType::Set(l) => Some(l.clone()),
                        _ => None,
                    },
                    length: match c.ty {
                        SqlType::Char(n)
                        | SqlType::VarChar(n)
                        | SqlType::Binary(n)
                        | SqlType::VarBinary(n) => Some(n),
                        _ => None,
                    },
                    chars,
                    auto_increment: c.auto_increment,
                }
            })
            .collect();
        HistTable {
            columns,
            primary_key: t.def.primary_key.clone(),
            uncertain: t.uncertain,
        }
    }

    /// Index of column `name` (case-insensitive, as MySQL).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }
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

/// The catalog of a binlog's tables, and their projections by (database,
/// table) as the catalog names them.
#[derive(Debug, Clone)]
pub struct SchemaHistory {
    catalog: Catalog,
    tables: HashMap<(String, String), HistTable>,
}

impl Default for SchemaHistory {
    fn default() -> SchemaHistory {
        SchemaHistory {
            // Row events never name a temporary table: a CREATE TEMPORARY
            // TABLE must not hide the real table of that name.
            catalog: Catalog::new(DdlMode::Follow {
                temporary_tables: false,
            }),
            tables: HashMap::new(),
        }
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
        let t = self.catalog.table(db, table)?;
        self.tables
            .get(&(t.def.database.clone(), t.def.name.clone()))
    }

    /// The catalog the history is a view of.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Number of tables known.
    pub fn len(&self) -> usize {
        self.catalog.len()
    }

    /// Whether no table is known.
    pub fn is_empty(&self) -> bool {
        self.catalog.is_empty()
    }

    /// Follows one statement run with default database `db`. Returns what
    /// it did; statements sqlparser cannot parse are classified by their
    /// leading keyword (and `notes` gets a line when DDL was not followed).
    pub fn apply(&mut self, db: &str, sql: &str, notes: &mut Vec<String>) -> DdlEffect {
        let kw = first_keyword(sql);
        if !is_ddl_keyword(&kw) {
            return DdlEffect::NotDdl;
        }
        let stmts = match Parser::parse_sql(&MariaDbDialect, sql) {
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
            match self.catalog.apply_statement(st, Some(db)) {
                Ok(change) => {
                    touched.extend(change.tables);
                    truncated.extend(change.truncated);
                }
                Err(e) => notes.push(format!(
                    "DDL not followed by the schema history ({e}): {}",
                    one_line(sql)
                )),
            }
        }
        for n in self.catalog.take_notes() {
            notes.push(format!("schema history, {}: {}", n.table, n.message));
        }
        for key in &touched {
            match self.catalog.table(&key.0, &key.1) {
                Some(t) if t.def.database == key.0 && t.def.name == key.1 => {
                    self.tables.insert(key.clone(), HistTable::of(t));
                }
                _ => {
                    self.tables.remove(key);
                }
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
    one_line_max(sql, 120)
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

    /// CREATE TABLE … LIKE was not followed before the one catalog (the
    /// table was dropped from the history with a note).
    #[test]
    fn create_like_copies_the_definition() {
        let mut h = SchemaHistory::new();
        let mut notes = Vec::new();
        h.apply(
            "d",
            "CREATE TABLE t (id INT UNSIGNED PRIMARY KEY, a CHAR(3) COLLATE latin1_swedish_ci)",
            &mut notes,
        );
        let effect = h.apply("d", "CREATE TABLE u LIKE t", &mut notes);
        assert_eq!(effect, DdlEffect::Ddl(vec![("d".into(), "u".into())]));
        assert_eq!(h.get("d", "u"), h.get("d", "t"));
        let u = h.get("d", "u").unwrap();
        assert!(u.columns[0].unsigned);
        assert_eq!(u.columns[1].chars, Chars::Latin1);
        assert_eq!(u.columns[1].length, Some(3));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(
            h.apply("d", "TRUNCATE TABLE u", &mut notes),
            DdlEffect::Truncate(vec![("d".into(), "u".into())])
        );
    }
}
