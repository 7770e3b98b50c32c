//! The table model: one definition of a table (columns, types, defaults,
//! keys) for the reference store, its page store and snapshots, with the
//! logical format's view of it as a projection
//! ([`TableDef::to_relation_columns`]), and its one byte encoding
//! ([`TableDef::encode`] / [`TableDef::decode`], `formats/store.md` §7.6).

use replog_core::codec::{self, Cursor};
use replog_core::{Error, ErrorKind, Result, Value};

/// A column's SQL type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlType {
    /// TINYINT (1 byte) … BIGINT (8 bytes).
    Int {
        /// Storage width in bytes: 1, 2, 3, 4 or 8.
        bytes: u8,
        /// UNSIGNED.
        unsigned: bool,
        /// Declared as BOOLEAN/BOOL (a TINYINT(1)).
        boolean: bool,
    },
    /// DECIMAL(precision, scale) [UNSIGNED].
    Decimal {
        /// Total digits, 1..=65.
        precision: u8,
        /// Digits after the point, 0..=30.
        scale: u8,
        /// UNSIGNED (negative values are out of range).
        unsigned: bool,
    },
    /// FLOAT (binary32).
    Float,
    /// DOUBLE (binary64).
    Double,
    /// CHAR(n), n characters; trailing spaces are removed on store.
    Char(u32),
    /// VARCHAR(n), n characters.
    VarChar(u32),
    /// TINYTEXT/TEXT/MEDIUMTEXT/LONGTEXT, with the limit in bytes.
    Text(u64),
    /// BINARY(n): padded with zero bytes to n.
    Binary(u32),
    /// VARBINARY(n).
    VarBinary(u32),
    /// TINYBLOB/BLOB/MEDIUMBLOB/LONGBLOB, with the limit in bytes.
    Blob(u64),
    /// DATE.
    Date,
    /// TIME(fsp).
    Time(u8),
    /// DATETIME(fsp).
    DateTime(u8),
    /// TIMESTAMP(fsp), stored as UTC microseconds; 0 is the zero timestamp.
    Timestamp(u8),
    /// YEAR (1901..=2155, or 0).
    Year,
    /// ENUM(labels).
    Enum(Vec<String>),
    /// SET(labels).
    Set(Vec<String>),
    /// BIT(n), 1..=64.
    Bit(u8),
    /// JSON (MariaDB: LONGTEXT with a validity check), kept as text.
    Json,
    /// A PostgreSQL type: its logical-format descriptor
    /// ([`replog_logical::PgType::descriptor`]). Values are stored as the
    /// log carries them; text compares case-sensitively (PostgreSQL's
    /// deterministic collations).
    Pg(Vec<u8>),
    /// A type the reference store does not implement, by its declared text
    /// (`GEOMETRY`, `FLOAT UNSIGNED`, …): a catalog that follows a log's DDL
    /// keeps such columns; the store refuses them and the encoding has no
    /// place for them.
    Other(String),
}

impl SqlType {
    /// The type as replog's logical format describes it.
    pub fn to_column_type(&self) -> replog_logical::ColumnType<'_> {
        use replog_logical::ColumnType as C;
        match self {
            SqlType::Int {
                bytes, unsigned, ..
            } => {
                let unsigned = *unsigned;
                match bytes {
                    1 => C::TinyInt { unsigned },
                    2 => C::SmallInt { unsigned },
                    3 => C::MediumInt { unsigned },
                    4 => C::Int { unsigned },
                    _ => C::BigInt { unsigned },
                }
            }
            SqlType::Decimal {
                precision, scale, ..
            } => C::Decimal {
                precision: *precision,
                scale: *scale,
            },
            SqlType::Float => C::Float,
            SqlType::Double => C::Double,
            SqlType::Char(n) => C::Char(*n),
            SqlType::VarChar(n) => C::VarChar(*n),
            SqlType::Text(_) => C::Text,
            SqlType::Binary(n) => C::Binary(*n),
            SqlType::VarBinary(n) => C::VarBinary(*n),
            SqlType::Blob(_) => C::Blob,
            SqlType::Date => C::Date,
            SqlType::Time(f) => C::Time(*f),
            SqlType::DateTime(f) => C::DateTime(*f),
            SqlType::Timestamp(f) => C::Timestamp(*f),
            SqlType::Year => C::Year,
            SqlType::Enum(l) => C::Enum(l.iter().map(String::as_str).collect()),
            SqlType::Set(l) => C::Set(l.iter().map(String::as_str).collect()),
            SqlType::Bit(n) => C::Bit(*n),
            SqlType::Json => C::Json,
            SqlType::Other(t) => C::Other(t),
            SqlType::Pg(_) => C::Pg(self.pg_type().unwrap_or(replog_logical::PgType::Other("?"))),
        }
    }

    /// The SQL type of a PostgreSQL column type.
    pub fn pg(t: &replog_logical::PgType<'_>) -> std::result::Result<SqlType, String> {
        t.descriptor().map(SqlType::Pg)
    }

    /// The PostgreSQL type of a [`SqlType::Pg`] column.
    pub fn pg_type(&self) -> Option<replog_logical::PgType<'_>> {
        match self {
            SqlType::Pg(d) => replog_logical::PgType::from_descriptor(&mut Cursor::new(d, 0)).ok(),
            _ => None,
        }
    }

    /// The SQL type of a logical column type, as a table created from a
    /// RELATION holds it (MySQL's types as MariaDB declares them).
    pub fn from_column_type(t: &replog_logical::ColumnType<'_>) -> SqlType {
        use replog_logical::ColumnType as C;
        let int = |bytes, unsigned| SqlType::Int {
            bytes,
            unsigned,
            boolean: false,
        };
        match t {
            C::TinyInt { unsigned } => int(1, *unsigned),
            C::SmallInt { unsigned } => int(2, *unsigned),
            C::MediumInt { unsigned } => int(3, *unsigned),
            C::Int { unsigned } => int(4, *unsigned),
            C::BigInt { unsigned } => int(8, *unsigned),
            C::Boolean => SqlType::Int {
                bytes: 1,
                unsigned: false,
                boolean: true,
            },
            C::Decimal { precision, scale } => SqlType::Decimal {
                precision: *precision,
                scale: *scale,
                unsigned: false,
            },
            C::Float => SqlType::Float,
            C::Double => SqlType::Double,
            C::Char(n) => SqlType::Char(*n),
            C::VarChar(n) => SqlType::VarChar(*n),
            C::Text => SqlType::Text(u64::from(u32::MAX)),
            C::Blob => SqlType::Blob(u64::from(u32::MAX)),
            C::Binary(n) => SqlType::Binary(*n),
            C::VarBinary(n) => SqlType::VarBinary(*n),
            C::Date => SqlType::Date,
            C::Time(f) => SqlType::Time(*f),
            C::DateTime(f) => SqlType::DateTime(*f),
            C::Timestamp(f) => SqlType::Timestamp(*f),
            C::Year => SqlType::Year,
            C::Enum(l) => SqlType::Enum(l.iter().map(|s| s.to_string()).collect()),
            C::Set(l) => SqlType::Set(l.iter().map(|s| s.to_string()).collect()),
            C::Bit(n) => SqlType::Bit(*n),
            C::Json => SqlType::Json,
            C::Other(name) => SqlType::Other(name.to_string()),
            C::Pg(p) => SqlType::pg(p).unwrap_or_else(|_| SqlType::Other(p.to_string())),
        }
    }

    /// Whether values are compared as text under the case-insensitive
    /// default collation (utf8mb4_general_ci).
    pub fn is_ci_text(&self) -> bool {
        matches!(
            self,
            SqlType::Char(_)
                | SqlType::VarChar(_)
                | SqlType::Text(_)
                | SqlType::Enum(_)
                | SqlType::Set(_)
        )
    }
}

/// The default of a column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnDefault {
    /// No DEFAULT clause on a NOT NULL column: omitting it is an error in
    /// strict mode (unless AUTO_INCREMENT).
    Missing,
    /// A constant (NULL for nullable columns without a DEFAULT clause).
    Value(Value<'static>),
    /// DEFAULT CURRENT_TIMESTAMP / NOW(): the statement time.
    CurrentTimestamp,
    /// A default expression kept as text, not evaluated: a catalog that
    /// follows a log's DDL evaluates nothing; the store evaluates every
    /// default (and the encoding has no place for this).
    Expression(String),
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Name as declared.
    pub name: String,
    /// Type.
    pub ty: SqlType,
    /// NULL allowed.
    pub nullable: bool,
    /// Default.
    pub default: ColumnDefault,
    /// AUTO_INCREMENT.
    pub auto_increment: bool,
}

/// A UNIQUE key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueKey {
    /// Index name (`code`, `uk_code`, …; MySQL names an unnamed key after its
    /// first column).
    pub name: String,
    /// Column positions.
    pub columns: Vec<usize>,
}

/// A table's definition.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// Database.
    pub database: String,
    /// Table name.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<Column>,
    /// Primary-key column positions, in key order (never empty in the
    /// store; a catalog that follows a log keeps a table without one).
    pub primary_key: Vec<usize>,
    /// UNIQUE keys other than the primary key, in declaration order.
    pub unique_keys: Vec<UniqueKey>,
    /// Schema version: 1 at CREATE, incremented by each ALTER.
    pub version: u32,
}

impl TableDef {
    /// `database.table`.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.database, self.name)
    }

    /// Position of a column by case-insensitive name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Position of the AUTO_INCREMENT column.
    pub fn auto_increment_column(&self) -> Option<usize> {
        self.columns.iter().position(|c| c.auto_increment)
    }

    /// The table a RELATION describes (PostgreSQL's streams carry no DDL:
    /// a replayed log creates each table from its first RELATION): its
    /// columns, nullability, its key columns as the primary key (none
    /// flagged: a table without a primary key, whose rows the store
    /// identifies by their whole content, duplicates allowed); no
    /// defaults, no unique keys.
    pub fn from_relation(rel: &replog_logical::Relation<'_>) -> TableDef {
        TableDef {
            database: rel.database.to_string(),
            name: rel.table.to_string(),
            columns: rel
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.to_string(),
                    ty: SqlType::from_column_type(&c.ty),
                    nullable: c.nullable,
                    default: if c.nullable {
                        ColumnDefault::Value(Value::Null)
                    } else {
                        ColumnDefault::Missing
                    },
                    auto_increment: c.auto_increment,
                })
                .collect(),
            primary_key: rel.key_columns().collect(),
            unique_keys: Vec::new(),
            version: rel.schema_version.max(1),
        }
    }

    /// The logical format's RELATION record of this table, bound to
    /// `relation_id` at `schema_version`: the one place a RELATION is built
    /// from the table model.
    pub fn to_relation(
        &self,
        relation_id: u32,
        schema_version: u32,
    ) -> replog_logical::Relation<'_> {
        replog_logical::Relation {
            relation_id,
            schema_version,
            database: &self.database,
            table: &self.name,
            columns: self.to_relation_columns(),
        }
    }

    /// The logical format's description of this table's columns.
    pub fn to_relation_columns(&self) -> Vec<replog_logical::Column<'_>> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, c)| replog_logical::Column {
                name: &c.name,
                ty: c.ty.to_column_type(),
                nullable: c.nullable,
                key: self.primary_key.contains(&i),
                auto_increment: c.auto_increment,
            })
            .collect()
    }
}

// The one byte encoding of a table definition (`formats/store.md` §7.6),
// used by the page store's catalog entries and by store snapshots. Its
// layout is part of both file formats: a change here is a format version
// bump of each, with the spec's walk-through updated.
//
// definition = str database | str name | u32 version | count ncols |
//              column × ncols | count npk | u16 index × npk |
//              count nunique | (str name | count k | u16 index × k) × nunique
// column     = str name | u8 flags (bit 0 nullable, bit 1 AUTO_INCREMENT) |
//              type | default
// str = u16 length ‖ UTF-8; count = u16; integers little-endian.

/// Type tags of the encoding.
mod tag {
    pub const INT: u8 = 1;
    pub const DECIMAL: u8 = 2;
    pub const FLOAT: u8 = 3;
    pub const DOUBLE: u8 = 4;
    pub const CHAR: u8 = 5;
    pub const VARCHAR: u8 = 6;
    pub const TEXT: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const VARBINARY: u8 = 9;
    pub const BLOB: u8 = 10;
    pub const DATE: u8 = 11;
    pub const TIME: u8 = 12;
    pub const DATETIME: u8 = 13;
    pub const TIMESTAMP: u8 = 14;
    pub const YEAR: u8 = 15;
    pub const ENUM: u8 = 16;
    pub const SET: u8 = 17;
    pub const BIT: u8 = 18;
    pub const JSON: u8 = 19;
    pub const PG: u8 = 20;
}

/// Default kinds of the encoding.
mod default_kind {
    pub const MISSING: u8 = 0;
    pub const VALUE: u8 = 1;
    pub const CURRENT_TIMESTAMP: u8 = 2;
}

#[cold]
fn too_large(out: &[u8], what: String) -> Error {
    Error::new(ErrorKind::TooLarge, out.len() as u64, what)
}

#[cold]
fn not_storable(out: &[u8], what: String) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        out.len() as u64,
        format!("{what} has no encoding (the reference store does not hold it)"),
    )
}

fn put_str(out: &mut Vec<u8>, s: &str, what: &str) -> Result<()> {
    if !codec::fits_u16(s.as_bytes()) {
        return Err(too_large(
            out,
            format!("{what} longer than 65535 bytes: {s:.40}…"),
        ));
    }
    codec::put_bytes_u16(out, s.as_bytes());
    Ok(())
}

fn put_count(out: &mut Vec<u8>, n: usize, what: &str) -> Result<()> {
    let n = u16::try_from(n).map_err(|_| too_large(out, format!("{n} {what} (at most 65535)")))?;
    codec::put_u16(out, n);
    Ok(())
}

fn put_type(out: &mut Vec<u8>, t: &SqlType) -> Result<()> {
    match t {
        SqlType::Int {
            bytes,
            unsigned,
            boolean,
        } => out.extend([tag::INT, *bytes, u8::from(*unsigned), u8::from(*boolean)]),
        SqlType::Decimal {
            precision,
            scale,
            unsigned,
        } => out.extend([tag::DECIMAL, *precision, *scale, u8::from(*unsigned)]),
        SqlType::Float => out.push(tag::FLOAT),
        SqlType::Double => out.push(tag::DOUBLE),
        SqlType::Char(n) | SqlType::VarChar(n) | SqlType::Binary(n) | SqlType::VarBinary(n) => {
            out.push(match t {
                SqlType::Char(_) => tag::CHAR,
                SqlType::VarChar(_) => tag::VARCHAR,
                SqlType::Binary(_) => tag::BINARY,
                _ => tag::VARBINARY,
            });
            codec::put_u32(out, *n);
        }
        SqlType::Text(n) | SqlType::Blob(n) => {
            out.push(if matches!(t, SqlType::Text(_)) {
                tag::TEXT
            } else {
                tag::BLOB
            });
            codec::put_u64(out, *n);
        }
        SqlType::Date => out.push(tag::DATE),
        SqlType::Time(f) => out.extend([tag::TIME, *f]),
        SqlType::DateTime(f) => out.extend([tag::DATETIME, *f]),
        SqlType::Timestamp(f) => out.extend([tag::TIMESTAMP, *f]),
        SqlType::Year => out.push(tag::YEAR),
        SqlType::Enum(l) | SqlType::Set(l) => {
            out.push(if matches!(t, SqlType::Enum(_)) {
                tag::ENUM
            } else {
                tag::SET
            });
            put_count(out, l.len(), "labels")?;
            for s in l {
                put_str(out, s, "label")?;
            }
        }
        SqlType::Bit(n) => out.extend([tag::BIT, *n]),
        SqlType::Json => out.push(tag::JSON),
        SqlType::Pg(d) => {
            if !codec::fits_u16(d) {
                return Err(too_large(out, "PostgreSQL type descriptor".into()));
            }
            out.push(tag::PG);
            codec::put_bytes_u16(out, d);
        }
        SqlType::Other(name) => return Err(not_storable(out, format!("column type {name}"))),
    }
    Ok(())
}

fn bool_byte(c: &mut Cursor<'_>, what: &str) -> Result<bool> {
    let at = c.offset();
    match c.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(Error::malformed(at, format!("{what}: {b} is not 0 or 1"))),
    }
}

/// A capacity for `n` items each at least `min_len` bytes long: never more
/// than the bytes left can hold.
fn capacity(c: &Cursor<'_>, n: u16, min_len: usize) -> usize {
    usize::from(n).min(c.remaining() / min_len.max(1))
}

fn read_type(c: &mut Cursor<'_>) -> Result<SqlType> {
    let at = c.offset();
    Ok(match c.u8("type tag")? {
        tag::INT => SqlType::Int {
            bytes: c.u8("int bytes")?,
            unsigned: bool_byte(c, "unsigned")?,
            boolean: bool_byte(c, "boolean")?,
        },
        tag::DECIMAL => SqlType::Decimal {
            precision: c.u8("precision")?,
            scale: c.u8("scale")?,
            unsigned: bool_byte(c, "unsigned")?,
        },
        tag::FLOAT => SqlType::Float,
        tag::DOUBLE => SqlType::Double,
        tag::CHAR => SqlType::Char(c.u32("length")?),
        tag::VARCHAR => SqlType::VarChar(c.u32("length")?),
        tag::TEXT => SqlType::Text(c.u64("length")?),
        tag::BINARY => SqlType::Binary(c.u32("length")?),
        tag::VARBINARY => SqlType::VarBinary(c.u32("length")?),
        tag::BLOB => SqlType::Blob(c.u64("length")?),
        tag::DATE => SqlType::Date,
        tag::TIME => SqlType::Time(c.u8("fsp")?),
        tag::DATETIME => SqlType::DateTime(c.u8("fsp")?),
        tag::TIMESTAMP => SqlType::Timestamp(c.u8("fsp")?),
        tag::YEAR => SqlType::Year,
        t @ (tag::ENUM | tag::SET) => {
            let n = c.u16("label count")?;
            let mut l = Vec::with_capacity(capacity(c, n, 2));
            for _ in 0..n {
                l.push(c.str_u16("label")?.to_string());
            }
            if t == tag::ENUM {
                SqlType::Enum(l)
            } else {
                SqlType::Set(l)
            }
        }
        tag::BIT => SqlType::Bit(c.u8("bits")?),
        tag::JSON => SqlType::Json,
        tag::PG => {
            let d = c.bytes_u16("PostgreSQL type descriptor")?;
            replog_logical::PgType::from_descriptor(&mut Cursor::new(d, at + 3))?;
            SqlType::Pg(d.to_vec())
        }
        t => {
            return Err(Error::malformed(at, format!("unknown column type tag {t}")));
        }
    })
}

fn read_index(c: &mut Cursor<'_>, ncols: usize, what: &str) -> Result<usize> {
    let at = c.offset();
    let i = usize::from(c.u16(what)?);
    if i >= ncols {
        return Err(Error::malformed(
            at,
            format!("{what} {i} is not a column (table has {ncols})"),
        ));
    }
    Ok(i)
}

fn read_indexes(c: &mut Cursor<'_>, ncols: usize, what: &str) -> Result<Vec<usize>> {
    let n = c.u16(what)?;
    let mut v = Vec::with_capacity(capacity(c, n, 2));
    for _ in 0..n {
        v.push(read_index(c, ncols, what)?);
    }
    Ok(v)
}

impl TableDef {
    /// Appends the definition's encoding (`formats/store.md` §7.6). Fails
    /// when a name is longer than 65535 bytes or a list longer than 65535
    /// items, and for what only a followed catalog holds
    /// ([`SqlType::Other`], [`ColumnDefault::Expression`]); the error's
    /// offset is the position in `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        put_str(out, &self.database, "database name")?;
        put_str(out, &self.name, "table name")?;
        codec::put_u32(out, self.version);
        put_count(out, self.columns.len(), "columns")?;
        for c in &self.columns {
            put_str(out, &c.name, "column name")?;
            out.push(u8::from(c.nullable) | (u8::from(c.auto_increment) << 1));
            put_type(out, &c.ty)?;
            match &c.default {
                ColumnDefault::Missing => out.push(default_kind::MISSING),
                ColumnDefault::Value(v) => {
                    out.push(default_kind::VALUE);
                    let at = out.len();
                    v.encode(out)
                        .map_err(|m| Error::new(ErrorKind::TooLarge, at as u64, m))?;
                }
                ColumnDefault::CurrentTimestamp => out.push(default_kind::CURRENT_TIMESTAMP),
                ColumnDefault::Expression(e) => {
                    return Err(not_storable(out, format!("unevaluated default {e}")));
                }
            }
        }
        put_count(out, self.primary_key.len(), "primary-key columns")?;
        for &i in &self.primary_key {
            put_count(out, i, "columns")?;
        }
        put_count(out, self.unique_keys.len(), "unique keys")?;
        for u in &self.unique_keys {
            put_str(out, &u.name, "unique key name")?;
            put_count(out, u.columns.len(), "unique-key columns")?;
            for &i in &u.columns {
                put_count(out, i, "columns")?;
            }
        }
        Ok(())
    }

    /// Decodes a definition written by [`TableDef::encode`], checking every
    /// length, tag, flag and column index; errors name the absolute offset.
    pub fn decode(c: &mut Cursor<'_>) -> Result<TableDef> {
        let database = c.str_u16("database")?.to_string();
        let name = c.str_u16("table name")?.to_string();
        let version = c.u32("version")?;
        let n = c.u16("column count")?;
        // A column takes at least 5 bytes: name length, flags, tag, default.
        let mut columns = Vec::with_capacity(capacity(c, n, 5));
        for _ in 0..n {
            let name = c.str_u16("column name")?.to_string();
            let at = c.offset();
            let flags = c.u8("column flags")?;
            if flags & !3 != 0 {
                return Err(Error::malformed(
                    at,
                    format!("unknown column flags {flags:#04x}"),
                ));
            }
            let ty = read_type(c)?;
            let at = c.offset();
            let default = match c.u8("default kind")? {
                default_kind::MISSING => ColumnDefault::Missing,
                default_kind::VALUE => ColumnDefault::Value(Value::decode(c)?.into_owned()),
                default_kind::CURRENT_TIMESTAMP => ColumnDefault::CurrentTimestamp,
                k => return Err(Error::malformed(at, format!("unknown default kind {k}"))),
            };
            columns.push(Column {
                name,
                ty,
                nullable: flags & 1 != 0,
                default,
                auto_increment: flags & 2 != 0,
            });
        }
        // Empty for a table without a primary key (which has columns).
        let at = c.offset();
        let primary_key = read_indexes(c, columns.len(), "primary-key column")?;
        if columns.is_empty() {
            return Err(Error::malformed(at, "a table without columns"));
        }
        let nu = c.u16("unique key count")?;
        let mut unique_keys = Vec::with_capacity(capacity(c, nu, 4));
        for _ in 0..nu {
            let name = c.str_u16("unique key name")?.to_string();
            unique_keys.push(UniqueKey {
                name,
                columns: read_indexes(c, columns.len(), "unique-key column")?,
            });
        }
        Ok(TableDef {
            database,
            name,
            columns,
            primary_key,
            unique_keys,
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_logical::PgType;
    use std::borrow::Cow;

    /// `CREATE TABLE d.t (id INT UNSIGNED PRIMARY KEY, c VARCHAR(8)
    /// DEFAULT 'x', UNIQUE KEY uk (c))`.
    fn small() -> TableDef {
        TableDef {
            database: "d".into(),
            name: "t".into(),
            columns: vec![
                Column {
                    name: "id".into(),
                    ty: SqlType::Int {
                        bytes: 4,
                        unsigned: true,
                        boolean: false,
                    },
                    nullable: false,
                    default: ColumnDefault::Missing,
                    auto_increment: false,
                },
                Column {
                    name: "c".into(),
                    ty: SqlType::VarChar(8),
                    nullable: true,
                    default: ColumnDefault::Value(Value::Text(Cow::Borrowed("x"))),
                    auto_increment: false,
                },
            ],
            primary_key: vec![0],
            unique_keys: vec![UniqueKey {
                name: "uk".into(),
                columns: vec![1],
            }],
            version: 1,
        }
    }

    /// Every type, flag and default kind.
    fn every_type() -> TableDef {
        let types = [
            SqlType::Int {
                bytes: 1,
                unsigned: false,
                boolean: true,
            },
            SqlType::Int {
                bytes: 8,
                unsigned: true,
                boolean: false,
            },
            SqlType::Decimal {
                precision: 65,
                scale: 30,
                unsigned: true,
            },
            SqlType::Float,
            SqlType::Double,
            SqlType::Char(255),
            SqlType::VarChar(65535),
            SqlType::Text(u64::from(u32::MAX)),
            SqlType::Binary(16),
            SqlType::VarBinary(3),
            SqlType::Blob(255),
            SqlType::Date,
            SqlType::Time(6),
            SqlType::DateTime(3),
            SqlType::Timestamp(0),
            SqlType::Year,
            SqlType::Enum(vec!["a".into(), "b'c".into()]),
            SqlType::Set(vec![]),
            SqlType::Bit(64),
            SqlType::Json,
            pg(PgType::Numeric(Some((12, -2)))),
            pg(PgType::Array(Box::new(PgType::Enum {
                name: "public.mood",
                labels: vec!["sad", "it's \"odd\""],
            }))),
            pg(PgType::TimestampTz(None)),
        ];
        let defaults = [
            ColumnDefault::Missing,
            ColumnDefault::CurrentTimestamp,
            ColumnDefault::Value(Value::Null),
            ColumnDefault::Value(Value::Int(-5)),
        ];
        TableDef {
            database: "db é".into(),
            name: String::new(),
            columns: types
                .into_iter()
                .enumerate()
                .map(|(i, ty)| Column {
                    name: format!("c{i}"),
                    ty,
                    nullable: i % 2 == 0,
                    default: defaults[i % defaults.len()].clone(),
                    auto_increment: i == 1,
                })
                .collect(),
            primary_key: vec![1, 0],
            unique_keys: vec![
                UniqueKey {
                    name: "u1".into(),
                    columns: vec![2, 3, 4],
                },
                UniqueKey {
                    name: "u2".into(),
                    columns: vec![19],
                },
            ],
            version: 7,
        }
    }

    fn pg(t: PgType<'_>) -> SqlType {
        let s = SqlType::pg(&t).unwrap();
        assert_eq!(s.pg_type(), Some(t));
        s
    }

    fn round_trip(d: &TableDef) -> Vec<u8> {
        let mut b = vec![0xEE];
        d.encode(&mut b).unwrap();
        let mut c = Cursor::new(&b[1..], 1);
        let back = TableDef::decode(&mut c).unwrap();
        c.finish("definition").unwrap();
        assert_eq!(&back, d);
        // Encoding what was decoded gives the same bytes.
        let mut again = vec![0xEE];
        back.encode(&mut again).unwrap();
        assert_eq!(again, b);
        b.split_off(1)
    }

    #[test]
    fn round_trip_of_every_type_flag_and_default() {
        round_trip(&small());
        round_trip(&every_type());
    }

    /// The hex walk-through in `formats/store.md` §13, byte for byte.
    #[test]
    fn walk_through_of_the_spec() {
        let spec = include_str!("../../../formats/store.md");
        let section = &spec[spec.find("## 13. Table definitions").unwrap()..];
        let block = section.split("```text").nth(2).unwrap();
        let block = &block[..block.find("```").unwrap()];
        let mut want = Vec::new();
        for line in block.lines() {
            for w in line.split_whitespace() {
                match u8::from_str_radix(w, 16) {
                    Ok(b) if w.len() == 2 => want.push(b),
                    _ => break,
                }
            }
        }
        assert_eq!(round_trip(&small()), want);
    }

    #[test]
    fn every_truncation_and_bad_field_is_an_error_with_its_offset() {
        let mut b = Vec::new();
        every_type().encode(&mut b).unwrap();
        for n in 0..b.len() {
            let mut c = Cursor::new(&b[..n], 100);
            let e = TableDef::decode(&mut c).unwrap_err();
            assert!(e.offset().is_some_and(|o| o >= 100), "{n}: {e}");
        }
        let mut s = Vec::new();
        small().encode(&mut s).unwrap();
        // Offsets of: id's flags, its unsigned byte, c's type tag, the
        // primary key's column index, the unique key's column index.
        for (at, bad, what) in [
            (16, 0x04, "unknown column flags"),
            (19, 2, "unsigned: 2 is not 0 or 1"),
            (26, 99, "unknown column type tag 99"),
            (40, 2, "primary-key column 2 is not a column"),
            (50, 5, "unique-key column 5 is not a column"),
        ] {
            let mut x = s.clone();
            x[at] = bad;
            let e = TableDef::decode(&mut Cursor::new(&x, 1000)).unwrap_err();
            assert!(e.to_string().contains(what), "{at}: {e}");
            assert_eq!(e.offset(), Some(1000 + at as u64), "{at}: {e}");
        }
        // An empty primary key: a table without one.
        let mut d = small();
        d.primary_key.clear();
        let mut x = Vec::new();
        d.encode(&mut x).unwrap();
        assert_eq!(TableDef::decode(&mut Cursor::new(&x, 0)).unwrap(), d);
        // A PostgreSQL descriptor that does not decode: its first byte named.
        let mut d = small();
        d.columns[1].ty = pg(PgType::Text);
        let mut x = Vec::new();
        d.encode(&mut x).unwrap();
        let at = x.iter().position(|&b| b == tag::PG).unwrap();
        assert_eq!(x[at + 3], replog_logical::relation::pgcode::TEXT);
        x[at + 3] = 0xEE;
        let e = TableDef::decode(&mut Cursor::new(&x, 1000)).unwrap_err();
        assert_eq!(e.offset(), Some(1000 + at as u64 + 3), "{e}");
    }

    #[test]
    fn a_relation_of_postgresql_types_is_a_table() {
        use replog_logical::{Column as RelColumn, ColumnType, Relation};
        let col = |name, ty, key: bool| RelColumn {
            name,
            ty: ColumnType::Pg(ty),
            nullable: !key,
            key,
            auto_increment: false,
        };
        let mut rel = Relation {
            relation_id: 3,
            schema_version: 2,
            database: "public",
            table: "t",
            columns: vec![
                col("id", PgType::Uuid, true),
                col("v", PgType::VarChar(Some(10)), false),
            ],
        };
        let d = TableDef::from_relation(&rel);
        assert_eq!(
            (d.database.as_str(), d.name.as_str(), d.version),
            ("public", "t", 2)
        );
        assert_eq!(d.primary_key, [0]);
        assert_eq!(
            d.columns[1].ty.to_column_type().to_string(),
            "character varying(10)"
        );
        assert_eq!(d.columns[1].default, ColumnDefault::Value(Value::Null));
        assert_eq!(d.columns[0].default, ColumnDefault::Missing);
        round_trip(&d);
        // No replica-identity column: a table without a primary key.
        rel.columns[0].key = false;
        let d = TableDef::from_relation(&rel);
        assert!(d.primary_key.is_empty());
        round_trip(&d);
    }

    #[test]
    fn a_huge_count_allocates_nothing_it_cannot_fill() {
        // 65535 columns announced, none present.
        let b = [0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff];
        assert!(TableDef::decode(&mut Cursor::new(&b, 0)).is_err());
    }

    #[test]
    fn names_too_long_are_refused_when_encoding() {
        let mut d = small();
        d.name = "n".repeat(70_000);
        let e = d.encode(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("longer than 65535"), "{e}");
    }
}
