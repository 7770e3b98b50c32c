//! Imported transactions as executable SQL for replaying into a server.

use crate::model::{Cell, ImportedStatement, ImportedTransaction, LogicalOp, RelationDef};
use replog_core::{Error, ErrorKind, Result, Value};
use replog_schema::sql::{
    Escaping, NoLiteral, ident, push_ident, push_literal_escaped, push_qualified,
    push_string_escaped, push_user_var,
};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// Renders transactions as SQL, remembering the relations bound by earlier
/// transactions and the session settings already sent.
///
/// Statement transactions become their SQL preceded by the `SET` lines of
/// their context; row changes become INSERT / UPDATE / DELETE with
/// literals, UPDATE and DELETE with a primary-key `WHERE` (or, without a
/// known key, `<=>` on every before-image column, with a note). A
/// transaction is wrapped in `BEGIN;` … `COMMIT;` unless it is a single DDL
/// statement. No `ROLLBACK` is ever added.
///
/// Literals come from [`replog_schema::sql`], with string escapes that the
/// session's current `sql_mode` reads back exactly (`NO_BACKSLASH_ESCAPES`
/// included). A statement whose QUERY event asks for no `USE`
/// (`LOG_EVENT_SUPPRESS_USE_F`, as on `CREATE DATABASE`) is written without
/// one: its database may not exist yet.
#[derive(Debug, Default)]
pub struct SqlWriter {
    rels: HashMap<u32, RelationDef>,
    database: Option<String>,
    sql_mode: Option<u64>,
    time_zone: Option<String>,
    auto_increment: Option<(u16, u16)>,
    collations: Option<(u16, u16)>,
    thread_id: Option<u64>,
    notes: Vec<String>,
    seen: HashSet<String>,
}

impl SqlWriter {
    /// A writer with no relations known.
    pub fn new() -> SqlWriter {
        SqlWriter::default()
    }

    /// Notes collected so far (each once), such as UPDATEs without a key.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    fn note(&mut self, n: String) {
        if self.seen.insert(n.clone()) {
            self.notes.push(n);
        }
    }

    /// How string literals are escaped under the session's `sql_mode`.
    fn escaping(&self) -> Escaping {
        Escaping::for_sql_mode(self.sql_mode.unwrap_or(0))
    }

    fn literal(&self, v: &Value<'_>, out: &mut String) -> std::result::Result<(), NoLiteral> {
        push_literal_escaped(out, v, self.escaping())
    }

    fn statement(&mut self, s: &ImportedStatement, out: &mut String) -> Result<()> {
        if let Some(db) = &s.database
            && self.database.as_ref() != Some(db)
        {
            let _ = writeln!(out, "USE {};", ident(db));
            self.database = Some(db.clone());
        }
        if let Some(ts) = s.timestamp_us {
            let (sec, us) = (ts.div_euclid(1_000_000), ts.rem_euclid(1_000_000));
            if us == 0 {
                let _ = writeln!(out, "SET TIMESTAMP={sec};");
            } else {
                let _ = writeln!(out, "SET TIMESTAMP={sec}.{us:06};");
            }
        }
        if self.thread_id != Some(s.thread_id) {
            let _ = writeln!(out, "SET @@session.pseudo_thread_id={};", s.thread_id);
            self.thread_id = Some(s.thread_id);
        }
        if let Some(m) = s.sql_mode
            && self.sql_mode != Some(m)
        {
            let _ = writeln!(out, "SET @@session.sql_mode={m};");
            self.sql_mode = Some(m);
        }
        if let Some((inc, off)) = s.auto_increment
            && self.auto_increment != Some((inc, off))
        {
            let _ = writeln!(
                out,
                "SET @@session.auto_increment_increment={inc}, @@session.auto_increment_offset={off};"
            );
            self.auto_increment = Some((inc, off));
        }
        if let Some((_, conn, server)) = s.charset
            && self.collations != Some((conn, server))
        {
            let _ = writeln!(
                out,
                "SET @@session.collation_connection={conn}, @@session.collation_server={server};"
            );
            self.collations = Some((conn, server));
        }
        if let Some(tz) = &s.time_zone
            && self.time_zone.as_ref() != Some(tz)
        {
            out.push_str("SET @@session.time_zone=");
            push_string_escaped(out, tz, self.escaping());
            out.push_str(";\n");
            self.time_zone = Some(tz.clone());
        }
        if let Some(v) = s.insert_id {
            let _ = writeln!(out, "SET INSERT_ID={v};");
        }
        if let Some(v) = s.last_insert_id {
            let _ = writeln!(out, "SET LAST_INSERT_ID={v};");
        }
        if let Some((a, b)) = s.rand_seed {
            let _ = writeln!(
                out,
                "SET @@session.rand_seed1={a}, @@session.rand_seed2={b};"
            );
        }
        for (name, v) in &s.user_vars {
            out.push_str("SET ");
            push_user_var(out, name);
            out.push_str(" = ");
            self.literal(v, out)
                .map_err(|e| no_literal(format!("user variable @{name}: {e}")))?;
            out.push_str(";\n");
        }
        let sql = s.sql.trim_end();
        out.push_str(sql);
        if !sql.ends_with(';') {
            out.push(';');
        }
        out.push('\n');
        Ok(())
    }

    fn utc(&mut self, out: &mut String) {
        if self.time_zone.as_deref() != Some("+00:00") {
            out.push_str("SET @@session.time_zone='+00:00';\n");
            self.time_zone = Some("+00:00".into());
        }
    }

    /// Appends the literal for column `i` of `rel`, naming the table and
    /// column when the value has none.
    fn cell(&self, rel: &RelationDef, i: usize, v: &Value<'_>, out: &mut String) -> Result<()> {
        self.literal(v, out).map_err(|e| {
            let column = rel.columns.get(i).map_or("?", |c| c.name.as_str());
            no_literal(format!(
                "{}.{} column {column}: {e}",
                rel.database, rel.table
            ))
        })
    }

    fn where_clause(&mut self, rel: &RelationDef, image: &[Cell], out: &mut String) -> Result<()> {
        let key: Vec<usize> = rel
            .columns
            .iter()
            .enumerate()
            .filter(|(i, c)| c.key && image.get(*i).is_some_and(Option::is_some))
            .map(|(i, _)| i)
            .collect();
        let use_key = rel.has_key() && key.len() == rel.columns.iter().filter(|c| c.key).count();
        let cols: Vec<usize> = if use_key {
            key
        } else {
            self.note(format!(
                "{}.{}: no primary key known: UPDATE/DELETE match every before-image column",
                rel.database, rel.table
            ));
            (0..image.len()).filter(|&i| image[i].is_some()).collect()
        };
        out.push_str(" WHERE ");
        if cols.is_empty() {
            out.push_str("FALSE");
        }
        for (n, &i) in cols.iter().enumerate() {
            if n > 0 {
                out.push_str(" AND ");
            }
            push_ident(out, rel.columns.get(i).map_or("?", |c| c.name.as_str()));
            out.push_str(" <=> ");
            match image.get(i) {
                Some(Some(v)) => self.cell(rel, i, v, out)?,
                _ => out.push_str("NULL"),
            }
        }
        out.push_str(" LIMIT 1");
        Ok(())
    }

    fn op(&mut self, op: &LogicalOp, out: &mut String) -> Result<()> {
        let table = |rel: &RelationDef, out: &mut String| {
            push_qualified(out, &rel.database, &rel.table);
        };
        match op {
            LogicalOp::Relation(r) => {
                if r.names_from == crate::NamesFrom::Positional {
                    self.note(format!(
                        "{}.{}: column names unknown: the SQL uses `@1`..`@n`",
                        r.database, r.table
                    ));
                }
                self.rels.insert(r.relation_id, r.clone());
            }
            LogicalOp::Insert { relation_id, new } => {
                let Some(rel) = self.rels.get(relation_id).cloned() else {
                    return Ok(());
                };
                self.utc(out);
                out.push_str("INSERT INTO ");
                table(&rel, out);
                out.push_str(" (");
                for (i, c) in rel.columns.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    push_ident(out, &c.name);
                }
                out.push_str(") VALUES (");
                for (i, v) in new.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.cell(&rel, i, v, out)?;
                }
                out.push_str(");\n");
            }
            LogicalOp::Update {
                relation_id,
                before,
                after,
            } => {
                let Some(rel) = self.rels.get(relation_id).cloned() else {
                    return Ok(());
                };
                self.utc(out);
                out.push_str("UPDATE ");
                table(&rel, out);
                out.push_str(" SET ");
                let mut first = true;
                for (i, cell) in after.iter().enumerate() {
                    let Some(v) = cell else { continue };
                    if !first {
                        out.push_str(", ");
                    }
                    first = false;
                    push_ident(out, rel.columns.get(i).map_or("?", |c| c.name.as_str()));
                    out.push_str(" = ");
                    self.cell(&rel, i, v, out)?;
                }
                if first {
                    out.push_str("/* no column in the after image */ ");
                }
                let image = before.as_ref().map_or(after, |(_, b)| b);
                self.where_clause(&rel, image, out)?;
                out.push_str(";\n");
            }
            LogicalOp::Delete {
                relation_id,
                before,
                ..
            } => {
                let Some(rel) = self.rels.get(relation_id).cloned() else {
                    return Ok(());
                };
                self.utc(out);
                out.push_str("DELETE FROM ");
                table(&rel, out);
                self.where_clause(&rel, before, out)?;
                out.push_str(";\n");
            }
            LogicalOp::Truncate { relation_ids } => {
                for id in relation_ids {
                    if let Some(rel) = self.rels.get(id) {
                        out.push_str("TRUNCATE TABLE ");
                        table(rel, out);
                        out.push_str(";\n");
                    }
                }
            }
            LogicalOp::Ddl { database, sql } => {
                if !database.is_empty() && self.database.as_deref() != Some(database) {
                    let _ = writeln!(out, "USE {};", ident(database));
                    self.database = Some(database.clone());
                }
                let sql = sql.trim_end();
                out.push_str(sql);
                if !sql.ends_with(';') {
                    out.push(';');
                }
                out.push('\n');
            }
        }
        Ok(())
    }

    /// Appends one transaction; fails, naming the transaction, table and
    /// column, on a value that no SQL literal can represent (a NaN or
    /// infinite float: no server column holds one, and `NULL` in its place
    /// would change the data silently).
    pub fn write(&mut self, tx: &ImportedTransaction, out: &mut String) -> Result<()> {
        let at = out.len();
        self.write_transaction(tx, out).map_err(|e| {
            out.truncate(at);
            e.with_offset(tx.position).context(format!(
                "SQL for binlog {} transaction {}",
                tx.file, tx.txid
            ))
        })
    }

    fn write_transaction(&mut self, tx: &ImportedTransaction, out: &mut String) -> Result<()> {
        let _ = writeln!(out, "-- txid {} origin {}", tx.txid, tx.origin());
        let single_ddl = tx.statements.len() == 1
            && tx.statements[0].ddl
            && tx
                .logical
                .iter()
                .filter(|o| !matches!(o, LogicalOp::Relation(_)))
                .count()
                <= 1;
        if !single_ddl {
            out.push_str("BEGIN;\n");
        }
        // DDL statements are written with their context; their logical
        // record is skipped.
        let skip: HashSet<usize> = tx
            .statements
            .iter()
            .filter(|s| s.ddl)
            .map(|s| s.logical_before)
            .collect();
        let mut st = tx.statements.iter().peekable();
        for (i, op) in tx.logical.iter().enumerate() {
            while let Some(s) = st.next_if(|s| s.logical_before <= i) {
                self.statement(s, out)?;
            }
            if !skip.contains(&i) {
                self.op(op, out)?;
            }
        }
        for s in st {
            self.statement(s, out)?;
        }
        if !single_ddl {
            out.push_str("COMMIT;\n");
        }
        Ok(())
    }
}

/// A value with no SQL literal (the offset is the transaction's, set by
/// [`SqlWriter::write`]).
#[cold]
fn no_literal(message: String) -> Error {
    Error::new(ErrorKind::Unsupported, 0, message)
}

/// Renders `txs` (in log order, from the first: RELATIONs are sent once) as
/// SQL; returns the text and the notes, or the first value that has no SQL
/// literal.
pub fn to_sql<'a>(
    txs: impl IntoIterator<Item = &'a ImportedTransaction>,
) -> Result<(String, Vec<String>)> {
    let mut w = SqlWriter::new();
    let mut out = String::new();
    for tx in txs {
        w.write(tx, &mut out)?;
    }
    Ok((out, w.notes))
}
