//! The streaming importer: binlog events to [`ImportedTransaction`]s.

use crate::history::{Chars, DdlEffect, SchemaHistory, first_keyword};
use crate::model::{
    Cell, ColumnDef, ImportedStatement, ImportedTransaction, LogicalOp, NamesFrom, RelationDef,
};
use crate::types::{column_type, fix_value};
use crate::{ImportOptions, ImportReport, TableReport};
use replog_binlog::events::{LOG_EVENT_SUPPRESS_USE_F, StatusVar, UserVarEvent};
use replog_binlog::files::FileReader;
use replog_binlog::{Event, EventBody, QueryEvent, RowsEvent, RowsKind, StreamReader, TableMap};
use replog_core::{Error, Result, Value};
use replog_logical::ImageKind;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;

/// Reads binlog files in order and yields one [`ImportedTransaction`] at a
/// time; memory is bounded by the largest transaction (plus the schema
/// history and one definition per table).
///
/// After an error the iterator ends. Errors name the binlog file and carry
/// the absolute position in it ([`Error::offset`]).
pub struct Importer {
    files: Vec<PathBuf>,
    /// Where the files come from: `files` on disk, or a server.
    feed: Box<dyn replog_binlog::files::Feed>,
    next_file: usize,
    reader: Option<FileReader>,
    st: State,
    failed: bool,
    finished: bool,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("files", &self.files)
            .field("next_file", &self.next_file)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Pending {
    insert_id: Option<u64>,
    last_insert_id: Option<u64>,
    rand: Option<(u64, u64)>,
    user_vars: Vec<(String, Value<'static>)>,
}

#[derive(Clone)]
struct Open {
    tx: ImportedTransaction,
    /// Inside BEGIN … COMMIT/XID: statements do not end the transaction.
    in_block: bool,
    /// The begin timestamp was refined by the first QUERY.
    begin_refined: bool,
}

#[derive(Clone)]
struct RelState {
    def: RelationDef,
}

#[derive(Clone)]
struct Cached {
    map: Arc<TableMap>,
    def: RelationDef,
    latin1: Vec<bool>,
}

struct State {
    opts: ImportOptions,
    file: String,
    next_txid: u64,
    cur: Option<Open>,
    pending: Pending,
    history: SchemaHistory,
    rels: HashMap<(String, String), RelState>,
    next_rel_id: u32,
    cache: HashMap<u64, Cached>,
    ready: VecDeque<ImportedTransaction>,
    report: ImportReport,
    notes_seen: HashSet<String>,
    tables: HashMap<String, usize>,
}

/// A QUERY event that opens or ends a transaction rather than being one
/// of its statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    Begin,
    StartTransaction,
    Commit,
    /// `ROLLBACK` (not `ROLLBACK TO SAVEPOINT`).
    Rollback,
    XaStart,
    XaEnd,
}

/// Whether the statement `sql` (first keyword `kw`) is transaction
/// control; `None` for a statement of the transaction.
pub(crate) fn control(kw: &str, sql: &str) -> Option<Control> {
    let upper_head: String = sql
        .trim_start()
        .chars()
        .take(24)
        .collect::<String>()
        .to_ascii_uppercase();
    match kw {
        "BEGIN" => Some(Control::Begin),
        "START" if upper_head.starts_with("START TRANSACTION") => Some(Control::StartTransaction),
        "COMMIT" => Some(Control::Commit),
        "ROLLBACK" if !upper_head.contains(" TO") => Some(Control::Rollback),
        "XA" if upper_head.starts_with("XA START") || upper_head.starts_with("XA BEGIN") => {
            Some(Control::XaStart)
        }
        "XA" if upper_head.starts_with("XA END") => Some(Control::XaEnd),
        _ => None,
    }
}

fn micros(ev: &Event<'_>, extra: u32) -> i64 {
    i64::from(ev.timestamp()) * 1_000_000 + i64::from(extra.min(999_999))
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A USER_VAR event's value in the value model.
pub(crate) fn user_var_value(u: &UserVarEvent<'_>) -> Value<'static> {
    let Some(v) = &u.value else {
        return Value::Null;
    };
    let b = v.value;
    let le8 = || {
        let mut a = [0u8; 8];
        for (i, x) in b.iter().take(8).enumerate() {
            a[i] = *x;
        }
        u64::from_le_bytes(a)
    };
    match v.value_type {
        0 => {
            if v.charset == u32::from(replog_binlog::consts::BINARY_CHARSET) {
                Value::Bytes(Cow::Owned(b.to_vec()))
            } else if u16::try_from(v.charset).is_ok_and(crate::types::is_latin1) {
                Value::Text(Cow::Owned(b.iter().map(|&c| char::from(c)).collect()))
            } else {
                match std::str::from_utf8(b) {
                    Ok(s) => Value::Text(Cow::Owned(s.to_string())),
                    Err(_) => Value::Bytes(Cow::Owned(b.to_vec())),
                }
            }
        }
        1 => Value::F64(f64::from_bits(le8())),
        2 => {
            if v.flags.is_some_and(|f| f & 1 != 0) {
                Value::UInt(le8())
            } else {
                Value::Int(le8() as i64)
            }
        }
        4 => {
            // precision, scale, packed decimal
            if b.len() >= 2 {
                let (p, s) = (b[0], b[1]);
                let size = replog_binlog::decimal::decimal_size(p, s);
                if let Some(txt) = b
                    .get(2..2 + size)
                    .and_then(|d| replog_binlog::decimal::decode_decimal(d, p, s))
                {
                    return Value::Decimal(Cow::Owned(txt));
                }
            }
            Value::Bytes(Cow::Owned(b.to_vec()))
        }
        _ => Value::Bytes(Cow::Owned(b.to_vec())),
    }
}

impl State {
    fn note(&mut self, n: String) {
        if self.notes_seen.insert(n.clone()) {
            self.report.notes.push(n);
        }
    }

    fn open(&mut self, ev: &Event<'_>, gtid: Option<String>, in_block: bool) {
        if let Some(o) = self.cur.take() {
            let at = format!("{}:{}", o.tx.file, o.tx.position);
            self.note(format!(
                "transaction at {at} has no COMMIT/XID before the next transaction; ended there"
            ));
            let ts = o.tx.begin_timestamp_us;
            self.cur = Some(o);
            self.finish(ts);
        }
        let txid = self.next_txid;
        self.next_txid += 1;
        self.cur = Some(Open {
            tx: ImportedTransaction {
                txid,
                gtid,
                server_id: ev.server_id(),
                file: self.file.clone(),
                position: ev.position(),
                begin_timestamp_us: micros(ev, 0),
                commit_timestamp_us: micros(ev, 0),
                statements: Vec::new(),
                logical: Vec::new(),
                rows_not_in_statements: 0,
                statements_not_in_logical: 0,
            },
            in_block,
            begin_refined: false,
        });
    }

    fn ensure_open(&mut self, ev: &Event<'_>, in_block: bool) {
        if self.cur.is_none() {
            self.open(ev, None, in_block);
        }
    }

    fn finish(&mut self, commit_us: i64) {
        let Some(o) = self.cur.take() else { return };
        let mut tx = o.tx;
        tx.commit_timestamp_us = commit_us.max(tx.begin_timestamp_us);
        self.report.transactions += 1;
        self.report.statements += tx.statements.len() as u64;
        self.report.rows_not_in_statement_log += tx.rows_not_in_statements;
        self.report.statements_not_in_logical_log += tx.statements_not_in_logical;
        self.ready.push_back(tx);
    }

    /// Called at the end of all input.
    fn end(&mut self) {
        if let Some(o) = self.cur.take() {
            self.report.incomplete_transactions += 1;
            self.note(format!(
                "transaction at {}:{} is not committed at the end of the input: left out",
                o.tx.file, o.tx.position
            ));
        }
    }

    fn handle(&mut self, ev: &Event<'_>) -> Result<()> {
        match ev.body() {
            EventBody::Gtid(g) => {
                let gtid = (!g.anonymous).then(|| g.gtid_string());
                self.open(ev, gtid, false);
                if let (Some(o), Some(ts)) = (self.cur.as_mut(), g.immediate_commit_timestamp) {
                    o.tx.commit_timestamp_us = i64::try_from(ts).unwrap_or(i64::MAX);
                }
            }
            EventBody::MariaGtid(g) => {
                let gtid = format!("{}-{}-{}", g.domain_id, ev.server_id(), g.seq_no);
                // Flag 1 (FL_STANDALONE): one statement, no BEGIN … COMMIT.
                self.open(ev, Some(gtid), g.flags & 1 == 0);
            }
            EventBody::IntVar(iv) => match iv.kind {
                1 => self.pending.last_insert_id = Some(iv.value),
                _ => self.pending.insert_id = Some(iv.value),
            },
            EventBody::Rand(r) => self.pending.rand = Some((r.seed1, r.seed2)),
            EventBody::UserVar(u) => {
                let name = lossy(u.name);
                let v = user_var_value(u);
                match self
                    .pending
                    .user_vars
                    .binary_search_by(|(n, _)| n.as_bytes().cmp(name.as_bytes()))
                {
                    Ok(i) => self.pending.user_vars[i].1 = v,
                    Err(i) => self.pending.user_vars.insert(i, (name, v)),
                }
            }
            EventBody::Query(q) => self.query(ev, q)?,
            EventBody::Xid(_) => {
                let ts = self.commit_ts(ev);
                self.finish(ts);
            }
            EventBody::XaPrepare(_) => {
                let ts = self.commit_ts(ev);
                self.finish(ts);
            }
            EventBody::Rows(r) => self.rows(ev, r)?,
            EventBody::TransactionPayload(tp) => {
                let data = tp.decompress()?;
                let mut inner = tp.events(&data);
                for e in inner.by_ref() {
                    self.handle(&e?)?;
                }
            }
            EventBody::Incident(i) => {
                let m = lossy(i.message);
                self.note(format!(
                    "INCIDENT event at {}:{} (kind {}): {m}",
                    self.file,
                    ev.position(),
                    i.kind
                ));
            }
            EventBody::StartEncryption(_) => {
                return Err(Error::new(
                    replog_core::ErrorKind::Unsupported,
                    ev.position(),
                    "encrypted binlog: events after START_ENCRYPTION cannot be read",
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn commit_ts(&self, ev: &Event<'_>) -> i64 {
        let here = micros(ev, 0);
        match &self.cur {
            // A MySQL GTID's immediate commit timestamp is more precise.
            Some(o) if o.tx.commit_timestamp_us > o.tx.begin_timestamp_us => {
                o.tx.commit_timestamp_us
            }
            _ => here,
        }
    }

    fn query(&mut self, ev: &Event<'_>, q: &QueryEvent<'_>) -> Result<()> {
        let sql = q.query_str().into_owned();
        let kw = first_keyword(&sql);
        let mut extra_us = 0u32;
        for sv in &q.status_vars {
            match sv {
                StatusVar::Microseconds(u) | StatusVar::HrNow(u) => extra_us = *u,
                _ => {}
            }
        }
        match control(&kw, &sql) {
            Some(Control::Begin) => {
                self.ensure_open(ev, true);
                if let Some(o) = self.cur.as_mut() {
                    o.in_block = true;
                    if !o.begin_refined {
                        o.tx.begin_timestamp_us = micros(ev, extra_us);
                        o.begin_refined = true;
                    }
                }
                self.pending = Pending::default();
                return Ok(());
            }
            Some(Control::StartTransaction | Control::XaStart) => {
                self.ensure_open(ev, true);
                if let Some(o) = self.cur.as_mut() {
                    o.in_block = true;
                }
                self.pending = Pending::default();
                return Ok(());
            }
            Some(Control::Commit) => {
                let ts = micros(ev, extra_us);
                self.pending = Pending::default();
                if self.cur.is_some() {
                    let ts = self.commit_ts(ev).max(ts);
                    self.finish(ts);
                }
                return Ok(());
            }
            Some(Control::Rollback) => {
                self.pending = Pending::default();
                if let Some(o) = &self.cur {
                    let at = format!("{}:{}", o.tx.file, o.tx.position);
                    self.note(format!(
                        "transaction at {at} ends with ROLLBACK (changes to non-transactional tables): imported as committed"
                    ));
                    self.finish(micros(ev, extra_us));
                }
                return Ok(());
            }
            Some(Control::XaEnd) => {
                self.pending = Pending::default();
                return Ok(());
            }
            None => {}
        }
        self.ensure_open(ev, false);
        // A statement logged with LOG_EVENT_SUPPRESS_USE_F (CREATE / DROP /
        // ALTER DATABASE) carries the database it names for filtering, not
        // as a default database to switch to: it may not exist yet.
        let database = (!q.schema.is_empty() && ev.header().flags & LOG_EVENT_SUPPRESS_USE_F == 0)
            .then(|| lossy(q.schema));
        let mut st = ImportedStatement {
            sql: sql.clone(),
            database: database.clone(),
            timestamp_us: Some(micros(ev, extra_us)),
            error_code: u32::from(q.error_code),
            server_id: ev.server_id(),
            thread_id: u64::from(q.thread_id),
            ..ImportedStatement::default()
        };
        let p = std::mem::take(&mut self.pending);
        st.insert_id = p.insert_id;
        st.last_insert_id = p.last_insert_id;
        st.rand_seed = p.rand;
        st.user_vars = p.user_vars;
        for sv in &q.status_vars {
            match sv {
                StatusVar::SqlMode(m) => st.sql_mode = Some(*m),
                StatusVar::TimeZone(z) => st.time_zone = Some(lossy(z)),
                StatusVar::AutoIncrement { increment, offset } => {
                    st.auto_increment = Some((*increment, *offset));
                }
                StatusVar::Charset {
                    client,
                    connection,
                    server,
                } => st.charset = Some((*client, *connection, *server)),
                _ => {}
            }
        }
        if st.insert_id.is_some() || st.last_insert_id.is_some() {
            self.report.statements_with_intvar += 1;
        }
        if st.rand_seed.is_some() {
            self.report.statements_with_rand += 1;
        }
        if !st.user_vars.is_empty() {
            self.report.statements_with_user_vars += 1;
        }
        // DDL: schema history and the logical DDL / TRUNCATE record.
        let db = database.clone().unwrap_or_default();
        let effect = if q.error_code == 0 {
            let mut notes = Vec::new();
            let e = self.history.apply(&db, &sql, &mut notes);
            for n in notes {
                self.note(n);
            }
            e
        } else if crate::history::is_ddl_keyword(&kw) {
            DdlEffect::Ddl(Vec::new())
        } else {
            DdlEffect::NotDdl
        };
        let logical = match effect {
            DdlEffect::NotDdl => None,
            DdlEffect::Ddl(_) => Some(LogicalOp::Ddl {
                database: db.clone(),
                sql: sql.clone(),
            }),
            DdlEffect::Truncate(tables) => {
                let ids: Option<Vec<u32>> = tables
                    .iter()
                    .map(|k| self.rels.get(k).map(|r| r.def.relation_id))
                    .collect();
                Some(match ids {
                    Some(relation_ids) if !relation_ids.is_empty() => {
                        LogicalOp::Truncate { relation_ids }
                    }
                    _ => LogicalOp::Ddl {
                        database: db.clone(),
                        sql: sql.clone(),
                    },
                })
            }
        };
        if logical.is_some() {
            self.cache.clear();
            self.report.ddl += 1;
        }
        let Some(o) = self.cur.as_mut() else {
            return Ok(());
        };
        if !o.begin_refined {
            o.tx.begin_timestamp_us = micros(ev, extra_us);
            o.begin_refined = true;
        }
        st.ddl = logical.is_some();
        st.logical_before = o.tx.logical.len();
        match logical {
            Some(op) => o.tx.logical.push(op),
            None => o.tx.statements_not_in_logical += 1,
        }
        o.tx.statements.push(st);
        if !o.in_block {
            let ts = micros(ev, extra_us);
            self.finish(ts);
        }
        Ok(())
    }

    fn build_def(&mut self, tm: &TableMap) -> (RelationDef, Vec<bool>) {
        let n = tm.columns.len();
        let hist = self.history.get(&tm.schema, &tm.table);
        let hist_ok = hist.filter(|h| h.columns.len() == n).cloned();
        let names_meta = tm.columns.iter().all(|c| c.name.is_some());
        let names_from = if names_meta {
            NamesFrom::TableMap
        } else if hist_ok.is_some() {
            NamesFrom::SchemaHistory
        } else {
            NamesFrom::Positional
        };
        let qn = tm.qualified_name();
        match (names_from, hist) {
            (NamesFrom::Positional, Some(h)) => self.note(format!(
                "{qn} has no column names in the table map and its CREATE TABLE in this log has {} columns, the table map {n}: columns named @1..@{n}",
                h.columns.len()
            )),
            (NamesFrom::Positional, None) => self.note(format!(
                "{qn} has no column names in the table map and no CREATE TABLE in this log: columns named @1..@{n}"
            )),
            (NamesFrom::SchemaHistory, _) if hist_ok.as_ref().is_some_and(|h| h.uncertain) => {
                self.note(format!(
                    "{qn}: column names from a schema history with DDL that could not be followed"
                ))
            }
            _ => {}
        }
        let pk: Vec<usize> = if !tm.primary_key.is_empty() {
            tm.primary_key.iter().map(|&(i, _)| i).collect()
        } else {
            hist_ok
                .as_ref()
                .map(|h| h.primary_key.clone())
                .unwrap_or_default()
        };
        let mut cols = Vec::with_capacity(n);
        let mut latin1 = Vec::with_capacity(n);
        for (i, c) in tm.columns.iter().enumerate() {
            let h = hist_ok.as_ref().and_then(|h| h.columns.get(i));
            let name = c
                .name
                .clone()
                .or_else(|| h.map(|h| h.name.clone()))
                .unwrap_or_else(|| format!("@{}", i + 1));
            latin1.push(h.is_some_and(|h| h.chars == Chars::Latin1));
            cols.push(ColumnDef {
                name,
                ty: column_type(c, h),
                nullable: c.nullable && !pk.contains(&i),
                key: pk.contains(&i),
                auto_increment: h.is_some_and(|h| h.auto_increment),
            });
        }
        if pk.is_empty() && n > 0 {
            self.note(format!(
                "{qn}: no primary key known (table map or schema history): no key columns in its RELATION"
            ));
        }
        (
            RelationDef {
                relation_id: 0,
                schema_version: 0,
                database: tm.schema.clone(),
                table: tm.table.clone(),
                columns: cols,
                names_from,
            },
            latin1,
        )
    }

    /// The relation for a table map; pushes a RELATION into the open
    /// transaction when the table is new to the log or its definition
    /// changed.
    fn relation(&mut self, tm: &Arc<TableMap>) -> (RelationDef, Vec<bool>) {
        let cached = self
            .cache
            .get(&tm.table_id)
            .filter(|c| Arc::ptr_eq(&c.map, tm) || *c.map == **tm);
        let (mut def, latin1) = match cached {
            Some(c) => (c.def.clone(), c.latin1.clone()),
            None => self.build_def(tm),
        };
        let key = (def.database.clone(), def.table.clone());
        let emit = match self.rels.get_mut(&key) {
            None => {
                self.next_rel_id += 1;
                def.relation_id = self.next_rel_id;
                def.schema_version = 1;
                self.rels.insert(key.clone(), RelState { def: def.clone() });
                true
            }
            Some(rs) if !rs.def.same_shape(&def) || rs.def.names_from != def.names_from => {
                def.relation_id = rs.def.relation_id;
                def.schema_version = rs.def.schema_version + 1;
                rs.def = def.clone();
                true
            }
            Some(rs) => {
                def.relation_id = rs.def.relation_id;
                def.schema_version = rs.def.schema_version;
                false
            }
        };
        if emit {
            let qn = format!("{}.{}", def.database, def.table);
            let is_new = !self.tables.contains_key(&qn);
            if is_new {
                self.tables.insert(qn.clone(), self.report.tables.len());
                self.report.tables.push(TableReport {
                    name: qn.clone(),
                    relation_id: def.relation_id,
                    schema_versions: 0,
                    names_from: def.names_from,
                    has_key: def.has_key(),
                    row_changes: 0,
                });
            }
            if let Some(&i) = self.tables.get(&qn) {
                let t = &mut self.report.tables[i];
                t.schema_versions = def.schema_version;
                t.names_from = def.names_from;
                t.has_key = def.has_key();
            }
            if let Some(o) = self.cur.as_mut() {
                o.tx.logical.push(LogicalOp::Relation(def.clone()));
            }
        }
        self.cache.insert(
            tm.table_id,
            Cached {
                map: tm.clone(),
                def: def.clone(),
                latin1: latin1.clone(),
            },
        );
        (def, latin1)
    }

    fn rows(&mut self, ev: &Event<'_>, r: &RowsEvent<'_>) -> Result<()> {
        self.ensure_open(ev, true);
        let Some(tm) = r.table.clone() else {
            return Err(Error::malformed(
                r.position,
                format!(
                    "rows event for table id {} without a TABLE_MAP event before it",
                    r.table_id
                ),
            ));
        };
        if r.column_count != tm.columns.len() {
            return Err(Error::malformed(
                r.position,
                format!(
                    "rows event has {} columns, its table map {} has {}",
                    r.column_count,
                    tm.qualified_name(),
                    tm.columns.len()
                ),
            ));
        }
        let (def, latin1) = self.relation(&tm);
        if !self.opts.decode_rows {
            return Ok(());
        }
        let n = def.columns.len();
        let key: Vec<usize> = def
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.key)
            .map(|(i, _)| i)
            .collect();
        let qn = format!("{}.{}", def.database, def.table);
        let mut ops = Vec::new();
        let mut notes = Vec::new();
        let image = |row: &replog_binlog::Row<'_>, notes: &mut Vec<String>| -> Vec<Cell> {
            let mut cells: Vec<Cell> = vec![None; n];
            for (j, (&col, v)) in row.columns.iter().zip(row.values.iter()).enumerate() {
                let col = col as usize;
                if col >= n {
                    continue;
                }
                if row.json_diffs.contains(&j) {
                    notes.push(format!(
                        "{qn}: JSON partial-update diffs are not applied: column {} sent as unchanged",
                        def.columns[col].name
                    ));
                    continue;
                }
                cells[col] = Some(fix_value(
                    v.clone(),
                    &tm.columns[col],
                    &def.columns[col].ty,
                    latin1[col],
                ));
            }
            cells
        };
        let before_kind = |cells: &mut Vec<Cell>, notes: &mut Vec<String>| -> ImageKind {
            if cells.iter().all(Option::is_some) {
                ImageKind::Full
            } else {
                if key.is_empty() || key.iter().any(|&k| cells[k].is_none()) {
                    notes.push(format!(
                        "{qn}: partial before image without the key columns: sent as a key-only image of the columns present"
                    ));
                } else {
                    for (i, c) in cells.iter_mut().enumerate() {
                        if !key.contains(&i) {
                            *c = None;
                        }
                    }
                }
                ImageKind::Key
            }
        };
        let mut count = 0u64;
        for change in r.rows() {
            let change = change?;
            count += 1;
            match r.kind {
                RowsKind::Write => {
                    let Some(after) = change.after.as_ref() else {
                        continue;
                    };
                    let cells = image(after, &mut notes);
                    if cells.iter().any(Option::is_none) {
                        notes.push(format!(
                            "{qn}: insert with a partial row image: missing columns imported as NULL"
                        ));
                    }
                    self.report.inserts += 1;
                    ops.push(LogicalOp::Insert {
                        relation_id: def.relation_id,
                        new: cells
                            .into_iter()
                            .map(|c| c.unwrap_or(Value::Null))
                            .collect(),
                    });
                }
                RowsKind::Update | RowsKind::PartialUpdate => {
                    let mut before = change.before.as_ref().map(|b| image(b, &mut notes));
                    let after = change
                        .after
                        .as_ref()
                        .map(|a| image(a, &mut notes))
                        .unwrap_or_else(|| vec![None; n]);
                    let b = before
                        .as_mut()
                        .map(|cells| (before_kind(cells, &mut notes), cells.clone()));
                    self.report.updates += 1;
                    ops.push(LogicalOp::Update {
                        relation_id: def.relation_id,
                        before: b,
                        after,
                    });
                }
                RowsKind::Delete => {
                    let Some(before) = change.before.as_ref() else {
                        continue;
                    };
                    let mut cells = image(before, &mut notes);
                    let kind = before_kind(&mut cells, &mut notes);
                    self.report.deletes += 1;
                    ops.push(LogicalOp::Delete {
                        relation_id: def.relation_id,
                        kind,
                        before: cells,
                    });
                }
            }
        }
        for n in notes {
            self.note(n);
        }
        self.report.row_changes += count;
        if let Some(&i) = self.tables.get(&qn) {
            self.report.tables[i].row_changes += count;
        }
        if let Some(o) = self.cur.as_mut() {
            o.tx.rows_not_in_statements += count;
            o.tx.logical.extend(ops);
        }
        Ok(())
    }
}

/// Where an [`Importer`] stood between two transactions, with what it
/// knew there (schema history, relation ids, table maps, the next txid):
/// an importer [resumed](Importer::resume) from it yields the transactions
/// that followed, exactly as the first importer did. A checkpoint's size is
/// that of the schema, not of the log.
#[derive(Clone)]
pub struct Checkpoint {
    /// Index (among the importer's paths) of the file to read next.
    file_index: usize,
    /// Offset of the next event in that file; `None`: at its start.
    position: Option<u64>,
    history: SchemaHistory,
    rels: HashMap<(String, String), RelState>,
    next_rel_id: u32,
    cache: HashMap<u64, Cached>,
    next_txid: u64,
    /// The transaction open there, without the records read before.
    open: Option<Open>,
    /// The binlog reader's table maps there (a checkpoint may fall between
    /// a TABLE_MAP and its rows events).
    maps: Vec<Arc<TableMap>>,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint")
            .field("file_index", &self.file_index)
            .field("position", &self.position)
            .field("next_txid", &self.next_txid)
            .field("open_txid", &self.open_txid())
            .finish_non_exhaustive()
    }
}

impl Checkpoint {
    /// Index of the binlog file the resumed importer reads first.
    pub fn file_index(&self) -> usize {
        self.file_index
    }

    /// Offset in that file of the first event it reads (`None`: the
    /// file's start).
    pub fn position(&self) -> Option<u64> {
        self.position
    }

    /// Txid of the first transaction the resumed importer opens.
    pub fn next_txid(&self) -> u64 {
        self.next_txid
    }

    /// The transaction open at the checkpoint (taken inside it), if any: a
    /// resumed importer yields it with the records read after the
    /// checkpoint only.
    pub fn open_txid(&self) -> Option<u64> {
        self.open.as_ref().map(|o| o.tx.txid)
    }
}

impl Importer {
    /// An importer over `paths`, read in the order given (binlog files of
    /// one server, e.g. `mysql-bin.000001 mysql-bin.000002`).
    pub fn new(paths: &[PathBuf], opts: &ImportOptions) -> Importer {
        Importer {
            files: paths.to_vec(),
            feed: Box::new(replog_binlog::files::Files::new(paths, opts.follow)),
            next_file: 0,
            reader: None,
            st: State {
                opts: opts.clone(),
                file: String::new(),
                next_txid: opts.first_txid,
                cur: None,
                pending: Pending::default(),
                history: SchemaHistory::new(),
                rels: HashMap::new(),
                next_rel_id: 0,
                cache: HashMap::new(),
                ready: VecDeque::new(),
                report: ImportReport::default(),
                notes_seen: HashSet::new(),
                tables: HashMap::new(),
            },
            failed: false,
            finished: false,
        }
    }

    /// Where the importer stands between two events, with what it knows
    /// there: `None` while a transaction waits to be taken or statement
    /// context (INTVAR, RAND, USER_VAR) is pending, and after an error or
    /// the end. A checkpoint may fall inside a transaction: the importer
    /// resumed from it yields that transaction with the records read after
    /// the checkpoint only.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        let st = &self.st;
        let idle = st.ready.is_empty()
            && st.pending.insert_id.is_none()
            && st.pending.last_insert_id.is_none()
            && st.pending.rand.is_none()
            && st.pending.user_vars.is_empty();
        if !idle || self.failed || self.finished {
            return None;
        }
        let (file_index, position) = match &self.reader {
            Some(r) => (self.next_file.checked_sub(1)?, Some(r.position())),
            None => (self.next_file, None),
        };
        Some(Checkpoint {
            file_index,
            position,
            history: st.history.clone(),
            rels: st.rels.clone(),
            next_rel_id: st.next_rel_id,
            cache: st.cache.clone(),
            next_txid: st.next_txid,
            maps: self
                .reader
                .as_ref()
                .map(|r| r.table_maps().cloned().collect())
                .unwrap_or_default(),
            open: st.cur.as_ref().map(|o| Open {
                tx: o.tx.clone_header(),
                in_block: o.in_block,
                begin_refined: o.begin_refined,
            }),
        })
    }

    /// Reads and handles one event (opening the next binlog file when one
    /// ends); completed transactions are then taken with
    /// [`Importer::take_transaction`]. `None` once all input is read (or
    /// after an error). Iterating the importer does both.
    pub fn read_event(&mut self) -> Option<Result<()>> {
        if self.failed || self.finished {
            return None;
        }
        if self.reader.is_none() {
            match self.open_next() {
                Ok(true) => {}
                Ok(false) => {
                    self.finished = true;
                    self.st.end();
                    return Some(Ok(()));
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let Importer { reader, st, .. } = self;
        let r = reader.as_mut()?;
        let mut file_done = false;
        let res = match r.next_event() {
            None => {
                file_done = true;
                Ok(())
            }
            Some(Err(e)) => Err(e),
            Some(Ok(ev)) => {
                let pos = ev.position();
                st.handle(&ev).map_err(|e| {
                    if e.offset().is_none() {
                        e.with_offset(pos)
                    } else {
                        e
                    }
                })
            }
        };
        if file_done {
            *reader = None;
        }
        if res.is_err() && self.st.opts.follow.is_some() && replog_core::follow::stop_requested() {
            // Stopped inside an event: the input ends at the last whole one.
            self.finished = true;
            self.st.end();
            return Some(Ok(()));
        }
        if let Err(e) = res {
            self.failed = true;
            let file = self.st.file.clone();
            return Some(Err(e.context(format!("binlog {file}"))));
        }
        Some(Ok(()))
    }

    /// A transaction completed by the events read so far, oldest first.
    pub fn take_transaction(&mut self) -> Option<ImportedTransaction> {
        self.st.ready.pop_front()
    }

    /// Closes the transaction still open and returns it with the records
    /// read since it opened (or since the checkpoint it was resumed from):
    /// for reading a binlog in pieces that end inside a transaction.
    pub fn take_open(&mut self) -> Option<ImportedTransaction> {
        self.st.cur.take().map(|o| o.tx)
    }

    /// An importer over the same `paths` that starts where `at` was taken,
    /// with `opts` (which may differ from the first importer's, e.g. in
    /// [`ImportOptions::decode_rows`]). Its report counts only what it
    /// reads itself.
    pub fn resume(paths: &[PathBuf], opts: &ImportOptions, at: &Checkpoint) -> Result<Importer> {
        let mut imp = Importer::new(paths, opts);
        imp.st.history = at.history.clone();
        imp.st.rels = at.rels.clone();
        imp.st.next_rel_id = at.next_rel_id;
        imp.st.cache = at.cache.clone();
        imp.st.next_txid = at.next_txid;
        imp.st.cur = at.open.clone();
        imp.next_file = at.file_index;
        imp.feed = Box::new(replog_binlog::files::Files::starting_at(
            paths,
            at.file_index,
            opts.follow,
        ));
        if let Some(pos) = at.position {
            if !imp.open_next()? {
                return Err(Error::new(
                    replog_core::ErrorKind::Io,
                    pos,
                    format!("no binlog file {} to resume in", at.file_index + 1),
                ));
            }
            let file = imp.st.file.clone();
            let Some(r) = imp.reader.as_mut() else {
                return Ok(imp);
            };
            // The format description comes first: it says how to read the rest.
            if pos > r.position() {
                match r.next_event() {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.context(format!("binlog {file}"))),
                    None => {
                        return Err(Error::new(
                            replog_core::ErrorKind::Io,
                            pos,
                            format!("binlog {file} ends before offset {pos}"),
                        ));
                    }
                }
            }
            if pos != r.position() {
                r.skip_to(pos)
                    .map_err(|e| e.context(format!("binlog {file}")))?;
            }
            // Inside a statement: the rows events to come need its table maps.
            for map in &at.maps {
                r.remember_table(map.clone());
            }
        }
        Ok(imp)
    }

    /// Where `e`, the error the import stopped at, lies when it is damage
    /// of the binlogs ([`replog_core::ErrorKind::is_damage`]); `None` for
    /// any other error (I/O, an unsupported binlog). The damage is a torn
    /// tail only when the file ends inside the event being framed (an
    /// unexpected end of input at the reader's position) and no plausible
    /// chain of events starts after it ([`StreamReader::find_next_event`]):
    /// damage with valid events after it, or inside an event that was read
    /// whole, is corruption.
    pub fn damage_at(&mut self, e: &Error) -> Result<Option<DamagePlace>> {
        if !e.kind().is_damage() {
            return Ok(None);
        }
        let index = self.next_file.saturating_sub(1);
        let Some(path) = self.files.get(index).cloned() else {
            return Ok(None);
        };
        let offset = e.offset().unwrap_or(0);
        let torn_tail = match &mut self.reader {
            Some(r)
                if matches!(e.kind(), replog_core::ErrorKind::UnexpectedEof { .. })
                    && r.position() == offset =>
            {
                r.find_next_event(offset + 1)
                    .map_err(|io| io.context(format!("binlog {}", path.display())))?
                    .is_none()
            }
            _ => false,
        };
        Ok(Some(DamagePlace {
            last_file: index + 1 == self.files.len(),
            path,
            offset,
            torn_tail,
        }))
    }

    /// Index of the binlog file being read and the offset of its next
    /// event (0 before the file is opened).
    pub fn position(&self) -> (usize, u64) {
        match &self.reader {
            Some(r) => (self.next_file.saturating_sub(1), r.position()),
            None => (self.next_file, 0),
        }
    }

    /// What was imported so far (complete once the iterator has ended).
    pub fn report(&self) -> &ImportReport {
        &self.st.report
    }

    /// The report, consuming the importer.
    pub fn into_report(self) -> ImportReport {
        self.st.report
    }

    /// The schema history built so far.
    pub fn schema_history(&self) -> &SchemaHistory {
        &self.st.history
    }

    /// An importer over the binlog files `feed` hands over (a server's,
    /// `replog_mysqlrepl`), in order. It cannot be checkpointed and
    /// resumed ([`Importer::resume`] reads files).
    pub fn from_feed(feed: Box<dyn replog_binlog::files::Feed>, opts: &ImportOptions) -> Importer {
        let mut imp = Importer::new(&[], opts);
        imp.feed = feed;
        imp
    }

    fn open_next(&mut self) -> Result<bool> {
        let Some((path, r)) = self.feed.next_file(self.st.opts.read)? else {
            return Ok(false);
        };
        self.next_file += 1;
        let name = std::path::Path::new(&path)
            .file_name()
            .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
        self.st.file = name.clone();
        self.st.report.files.push(name);
        self.reader = Some(r);
        Ok(true)
    }
}

impl Iterator for Importer {
    type Item = Result<ImportedTransaction>;

    fn next(&mut self) -> Option<Result<ImportedTransaction>> {
        loop {
            if let Some(t) = self.take_transaction() {
                return Some(Ok(t));
            }
            match self.read_event()? {
                Ok(()) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Where an import stopped at damage ([`Importer::damage_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagePlace {
    /// The binlog file.
    pub path: PathBuf,
    /// Absolute offset of the damage in it.
    pub offset: u64,
    /// Whether it is the last of the binlogs read.
    pub last_file: bool,
    /// Whether the damage is a torn tail (see [`Importer::damage_at`]).
    pub torn_tail: bool,
}

/// What a classification pass found in binlogs ([`classify`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BinlogShape {
    /// Row events (WRITE / UPDATE / DELETE_ROWS, any version).
    pub row_events: u64,
    /// Statements of transactions that are neither transaction control
    /// nor DDL: data-changing statements (STATEMENT or MIXED logging).
    pub dml_statements: u64,
    /// Whether the pass stopped early, once both were seen.
    pub stopped_early: bool,
    /// Whether the pass stopped at an event it could not read: the counts
    /// are those of the events before it, all that an import reads (the
    /// import meets the same damage, and its recovery policy decides
    /// whether the binlogs end there or the import fails).
    pub stopped_at_damage: bool,
}

impl BinlogShape {
    /// The native kind an import of these binlogs yields: logical when
    /// they carry row events, else statement.
    pub fn kind(&self) -> replog_core::LogKind {
        if self.row_events > 0 {
            replog_core::LogKind::Logical
        } else {
            replog_core::LogKind::Statement
        }
    }

    /// Row events and data-changing statements both: a MIXED binlog, whose
    /// statements must be executed to give their row changes.
    pub fn mixed(&self) -> bool {
        self.row_events > 0 && self.dml_statements > 0
    }
}

/// A classification pass over binlogs, before they are imported: counts
/// row events and data-changing QUERY events (by the statement's first
/// keyword, as the importer classifies them), without decoding rows,
/// building relations or verifying checksums (the import does). It stops
/// as soon as both kinds were seen, or at the first event it cannot read
/// ([`BinlogShape::stopped_at_damage`]; a file that cannot be opened is an
/// error). Reads every event once, sequentially, with
/// memory bounded by the largest event.
pub fn classify(paths: &[PathBuf], opts: &ImportOptions) -> Result<BinlogShape> {
    let mut shape = BinlogShape::default();
    let read = replog_binlog::ReadOptions {
        verify_checksums: false,
        ..opts.read
    };
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let f =
            File::open(path).map_err(|e| Error::io(e, format!("opening {}", path.display())))?;
        let mut r = match StreamReader::with_options(BufReader::with_capacity(1 << 16, f), read) {
            Ok(r) => r,
            Err(e) if e.kind().is_damage() => {
                shape.stopped_at_damage = true;
                return Ok(shape);
            }
            Err(e) => return Err(e.context(&name)),
        };
        while let Some(ev) = r.next_event() {
            let counted = match ev {
                // Followed: the last event may still be being written.
                Err(e)
                    if opts.follow.is_some()
                        && matches!(e.kind(), replog_core::ErrorKind::UnexpectedEof { .. }) =>
                {
                    break;
                }
                ev => ev.and_then(|ev| count_event(&ev, &mut shape)),
            };
            match counted {
                Ok(()) => {}
                Err(e) if e.kind().is_damage() => {
                    shape.stopped_at_damage = true;
                    return Ok(shape);
                }
                Err(e) => return Err(e.context(format!("binlog {name}"))),
            }
            if shape.mixed() {
                shape.stopped_early = true;
                return Ok(shape);
            }
        }
    }
    Ok(shape)
}

fn count_event(ev: &Event<'_>, shape: &mut BinlogShape) -> Result<()> {
    match ev.body() {
        EventBody::Rows(_) => shape.row_events += 1,
        EventBody::Query(q) => {
            let sql = q.query_str();
            let kw = first_keyword(&sql);
            if control(&kw, &sql).is_none() && !crate::history::is_ddl_keyword(&kw) {
                shape.dml_statements += 1;
            }
        }
        EventBody::TransactionPayload(tp) => {
            let data = tp.decompress()?;
            for e in tp.events(&data) {
                count_event(&e?, shape)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_var_values() {
        let mk = |t: u8, cs: u32, v: &'static [u8], flags| UserVarEvent {
            name: b"x",
            value: Some(replog_binlog::events::UserVarValue {
                value_type: t,
                charset: cs,
                value: v,
                flags,
            }),
        };
        assert_eq!(
            user_var_value(&mk(2, 63, &[5, 0, 0, 0, 0, 0, 0, 0], Some(0))),
            Value::Int(5)
        );
        assert_eq!(
            user_var_value(&mk(2, 63, &[255; 8], Some(1))),
            Value::UInt(u64::MAX)
        );
        assert_eq!(
            user_var_value(&mk(0, 45, b"abc", None)),
            Value::Text("abc".into())
        );
        assert_eq!(
            user_var_value(&UserVarEvent {
                name: b"x",
                value: None
            }),
            Value::Null
        );
    }
}
