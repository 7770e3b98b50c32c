//! Schema knowledge that every replog route shares, below the reference
//! store, the binlog importer, the converters and the determinism checker.
//!
//! - [`table`]: the table model ([`TableDef`], its columns, types and keys)
//!   that the reference store, its page store and snapshots share, with the
//!   logical format's view of it as a projection, and its one byte encoding
//!   (`formats/store.md` §13).
//! - [`catalog`]: the one interpreter of DDL ([`catalog::interpret`]),
//!   used by the reference store on its storage and, through an in-memory
//!   [`Catalog`], by the binlog importer and the determinism checker to
//!   follow a log's own DDL.
//! - [`dialect`]: the one SQL dialect ([`MariaDbDialect`]) every route
//!   parses MariaDB statements with: sqlparser's MySQL dialect plus the
//!   MariaDB forms it does not read (`!x`, `a MOD b`, `REGEXP NULL`,
//!   compound INTERVAL and EXTRACT units).
//! - [`error`]: the one error of SQL work ([`SqlError`]), shared by the
//!   catalog and the reference store.
//! - [`objects`]: what a DDL statement is about when it is not a table
//!   (routines, triggers, events, views, users, privileges), told from its
//!   first words even where the SQL parser cannot read it.
//! - [`sql`]: the one writer of SQL text for values and names — MariaDB
//!   literals that read back as exactly the value a log carries, and
//!   backquoted identifiers. Every route that prints SQL uses it.
//!
//! ```
//! use replog_core::Value;
//! use replog_schema::sql;
//! let mut s = String::from("INSERT INTO ");
//! sql::push_qualified(&mut s, "db", "t");
//! s.push_str(" VALUES (");
//! sql::push_literal(&mut s, &Value::Text("it's".into())).unwrap();
//! s.push(')');
//! assert_eq!(s, "INSERT INTO `db`.`t` VALUES ('it''s')");
//! ```

pub mod catalog;
pub mod dialect;
pub mod error;
pub mod objects;
pub mod sql;
pub mod table;

pub use catalog::{Catalog, CatalogTable, DdlMode};
pub use dialect::MariaDbDialect;
pub use error::{SqlError, SqlErrorKind};
pub use table::{Column, ColumnDefault, SqlType, TableDef, UniqueKey};
