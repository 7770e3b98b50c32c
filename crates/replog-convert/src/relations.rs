//! Relations seen so far in a logical log, detached from the frames they
//! were read from, with the SQL fragments every row statement needs.

use replog_logical::{ColumnType, Relation};
use replog_schema::sql::{Dialect, pg_cast};
use std::collections::HashMap;
use std::rc::Rc;

/// One RELATION, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlRelation {
    /// Relation id.
    pub id: u32,
    /// Schema version.
    pub version: u32,
    /// `database.table` (or `table`), for messages.
    pub name: String,
    /// Column names, in table order.
    pub columns: Vec<String>,
    /// Indexes of the key columns.
    pub keys: Vec<usize>,
    /// The SQL dialect of the fragments below.
    pub dialect: Dialect,
    /// `` `db`.`t` `` (PostgreSQL: `"db"."t"`).
    pub sql_name: String,
    /// Each column's quoted name.
    pub sql_columns: Vec<String>,
    /// PostgreSQL: each column's literal cast
    /// ([`replog_schema::sql::pg_cast`]); empty for MariaDB.
    pub casts: Vec<Option<String>>,
    /// `INSERT INTO `db`.`t` (`a`, `b`) VALUES (`.
    pub insert_prefix: String,
    /// The RELATION record body as it was read (to write it again).
    pub body: Vec<u8>,
}

impl SqlRelation {
    /// Fails unless `t` (the `what` of a record at `lsn`) has one value per
    /// column of the relation.
    pub fn check_arity(
        &self,
        t: &replog_logical::Tuple<'_>,
        lsn: u64,
        what: &str,
    ) -> crate::error::Result<()> {
        if t.len() == self.columns.len() {
            return Ok(());
        }
        Err(crate::error::Error::new(
            crate::error::ErrorKind::Malformed,
            format!(
                "LSN {lsn}: {what} of {} has {} columns, its RELATION {}",
                self.name,
                t.len(),
                self.columns.len()
            ),
        ))
    }

    /// Appends the literal of `v`, a value of column `i`, in the
    /// relation's dialect.
    pub fn literal(
        &self,
        i: usize,
        v: &replog_core::Value<'_>,
        out: &mut String,
    ) -> Result<(), replog_schema::sql::NoLiteral> {
        let cast = self.casts.get(i).and_then(|c| c.as_deref());
        replog_schema::sql::push_literal_in(out, v, self.dialect, cast)
    }

    /// Detaches `r`, whose encoded body is `body`, with SQL fragments in
    /// the dialect of its server ([`Dialect::of`]).
    pub fn new(r: &Relation<'_>, body: &[u8]) -> SqlRelation {
        SqlRelation::in_dialect(r, body, Dialect::of(r))
    }

    /// Detaches `r`, whose encoded body is `body`, with SQL fragments in
    /// `dialect`.
    pub fn in_dialect(r: &Relation<'_>, body: &[u8], dialect: Dialect) -> SqlRelation {
        let mut sql_name = String::new();
        dialect.push_qualified(&mut sql_name, r.database, r.table);
        let sql_columns: Vec<String> = r
            .columns
            .iter()
            .map(|c| {
                let mut s = String::new();
                dialect.push_ident(&mut s, c.name);
                s
            })
            .collect();
        let casts = match dialect {
            Dialect::MariaDb => Vec::new(),
            Dialect::Postgres => r
                .columns
                .iter()
                .map(|c| match &c.ty {
                    ColumnType::Pg(t) => pg_cast(t),
                    _ => None,
                })
                .collect(),
        };
        let mut insert_prefix = format!("INSERT INTO {sql_name} (");
        insert_prefix.push_str(&sql_columns.join(", "));
        insert_prefix.push_str(") VALUES (");
        SqlRelation {
            id: r.relation_id,
            version: r.schema_version,
            name: r.qualified_name(),
            columns: r.columns.iter().map(|c| c.name.to_string()).collect(),
            keys: r.key_columns().collect(),
            dialect,
            sql_name,
            sql_columns,
            casts,
            insert_prefix,
            body: body.to_vec(),
        }
    }
}

/// The latest RELATION of every id, as a follower keeps them.
#[derive(Debug, Default)]
pub struct Relations {
    rels: HashMap<u32, Rc<SqlRelation>>,
}

impl Relations {
    /// Records a RELATION, its SQL in `dialect`; returns true when it
    /// differs from the one the id had.
    pub fn define(&mut self, r: &Relation<'_>, body: &[u8], dialect: Dialect) -> bool {
        if self
            .rels
            .get(&r.relation_id)
            .is_some_and(|old| old.body == body && old.dialect == dialect)
        {
            return false;
        }
        self.rels.insert(
            r.relation_id,
            Rc::new(SqlRelation::in_dialect(r, body, dialect)),
        );
        true
    }

    /// The relation an id is bound to.
    #[inline]
    pub fn get(&self, id: u32) -> Option<&Rc<SqlRelation>> {
        self.rels.get(&id)
    }
}
