//! Replaying a leader's transactions: statement replay (captured
//! statements with their context) and the follower's row-change applier,
//! whose conflict policy is a parameter (`formats/store.md` §9.3).

use super::*;
use crate::storage::KeyConflict;

impl<S: Storage, E: Environment> Store<S, E> {
    /// Statement-based apply: executes a captured statement with its
    /// captured context (default database, timestamp, RAND seeds,
    /// INSERT_ID, LAST_INSERT_ID, user variables).
    pub fn replay_statement(&mut self, s: &CapturedStatement) -> Result<StatementResult> {
        self.next_context = Some(s.context.clone());
        self.execute(&s.sql)
    }

    /// Statement-based apply of a whole transaction: DDL alone, DML inside
    /// BEGIN … COMMIT (rolled back on the first error).
    pub fn replay_transaction(&mut self, tx: &CommittedTransaction) -> Result<()> {
        self.replay_transaction_skipping(tx, false).map(|_| ())
    }

    /// [`Store::replay_transaction`], passing over (when `skip_unsupported`)
    /// the statements about objects the store does not hold — stored
    /// routines, triggers, events, views, users, privileges
    /// ([`replog_schema::objects::non_table_ddl`]) — instead of failing on
    /// them: returns what was passed over, in order. Without
    /// `skip_unsupported` such a statement fails as
    /// `unsupported: CREATE TRIGGER at statement N` (N counts from 1 in
    /// the transaction).
    pub fn replay_transaction_skipping(
        &mut self,
        tx: &CommittedTransaction,
        skip_unsupported: bool,
    ) -> Result<Vec<replog_schema::objects::NonTableDdl>> {
        let mut skipped = Vec::new();
        let refused = |i: usize, s: &CapturedStatement| {
            replog_schema::objects::non_table_ddl(&s.sql).map(|ddl| {
                Error::unsupported(format_args!("{ddl} at statement {}", i + 1))
                    .with_statement(&s.sql)
            })
        };
        if tx.is_ddl() {
            let s = &tx.statements[0];
            if let Some(e) = refused(0, s) {
                if !skip_unsupported {
                    return Err(e);
                }
                skipped.extend(replog_schema::objects::non_table_ddl(&s.sql));
                return Ok(skipped);
            }
            return self.replay_statement(s).map(|_| skipped);
        }
        self.execute("BEGIN")?;
        for (i, s) in tx.statements.iter().enumerate() {
            let r = match refused(i, s) {
                Some(_) if skip_unsupported => {
                    skipped.extend(replog_schema::objects::non_table_ddl(&s.sql));
                    continue;
                }
                Some(e) => Err(e),
                None => self.replay_statement(s).map(|_| ()),
            };
            if let Err(e) = r {
                self.rollback_open();
                return Err(e);
            }
        }
        self.execute("COMMIT").map(|_| skipped)
    }

    /// Logical (row-based) apply of a transaction: DDL statements are
    /// executed from their text; row changes are applied by primary key with
    /// conflict detection. All or nothing.
    pub fn apply_transaction(&mut self, tx: &CommittedTransaction) -> Result<()> {
        if tx.is_ddl() {
            let s = &tx.statements[0];
            self.next_context = Some(StatementContext {
                database: s.context.database.clone(),
                timestamp_us: s.context.timestamp_us,
                ..StatementContext::default()
            });
            return self.execute(&s.sql).map(|_| ());
        }
        self.commit_open()?;
        let before = self.digest();
        self.open = Some(OpenTxn {
            statements: Vec::new(),
            state_before: before,
            timestamp_us: tx.timestamp_us,
            explicit: true,
            savepoints: Vec::new(),
        });
        for c in tx.changes() {
            if let Err(e) = self.apply_change(c) {
                self.rollback_open();
                return Err(e);
            }
        }
        // Applied changes are not re-captured as statements.
        self.open = None;
        self.commit_applied(Some(tx.txid), tx.timestamp_us, before)
    }

    /// Applies one row change by primary key. Errors with
    /// [`ErrorKind::Conflict`] on a duplicate key (insert), a missing row or
    /// a before-image mismatch (update, delete), or a schema mismatch:
    /// [`Store::apply_row_change`] under [`ConflictPolicy::Abort`], which
    /// changes nothing when it meets a conflict.
    pub fn apply_change(&mut self, c: &RowChange) -> Result<()> {
        match self.apply_row_change(c, ConflictPolicy::Abort)? {
            None => Ok(()),
            Some(conflict) => Err(Error::new(ErrorKind::Conflict, conflict.to_string())),
        }
    }

    /// Every table's definition, ordered by database then name: the schema
    /// a logical log announces after DDL.
    pub fn table_defs(&self) -> Vec<TableDef> {
        self.storage
            .tables()
            .into_iter()
            .filter_map(|id| self.storage.def(id).cloned())
            .collect()
    }

    /// Every database, created or not holding tables, in name order.
    pub fn databases(&self) -> Vec<String> {
        self.storage.databases()
    }

    /// The row of `db.table` whose primary key equals that of `image`
    /// (only the key columns of `image` are read).
    pub fn row_by_key(&self, db: &str, table: &str, image: &Row) -> Option<Row> {
        let id = self.storage.lookup(db, table)?;
        let def = self.storage.def(id)?;
        if image.len() != def.columns.len() {
            return None;
        }
        self.storage.get(id, &primary_key(def, image))
    }

    /// Starts applying a logged transaction's row changes (logical
    /// follower): any open transaction is committed first (a storage
    /// failure there leaves the storage refusing commits, which
    /// [`Store::apply_end`] then reports).
    pub fn apply_begin(&mut self, timestamp_us: i64) {
        let _ = self.commit_open();
        self.open = Some(OpenTxn {
            statements: Vec::new(),
            state_before: self.digest(),
            timestamp_us,
            explicit: true,
            savepoints: Vec::new(),
        });
    }

    /// Ends what [`Store::apply_begin`] started: keeps the changes
    /// (`commit`, also committing them in the storage) or undoes every one
    /// of them. A storage commit failure undoes them and is returned.
    pub fn apply_end(&mut self, commit: bool) -> Result<()> {
        if commit {
            // Applied changes are not re-captured as statements.
            match self.open.take() {
                Some(t) => self.commit_applied(None, t.timestamp_us, t.state_before),
                None => {
                    self.undo.clear();
                    Ok(())
                }
            }
        } else {
            self.rollback_open();
            Ok(())
        }
    }

    /// Creates or alters a table to match `def`, the table of a RELATION of
    /// a log that carries no DDL (PostgreSQL's streams): a missing database
    /// and table are created; a table whose columns or key differ is
    /// replaced, its rows kept column by column (by name; new columns
    /// NULL, dropped ones gone). Part of the open transaction's storage
    /// commit, not undone by a rollback.
    pub fn apply_table(&mut self, def: TableDef) -> Result<()> {
        self.defs.clear();
        if !self.storage.database_exists(&def.database) {
            self.storage.create_database(&def.database)?;
        }
        let Some(id) = self.storage.lookup(&def.database, &def.name) else {
            return self.storage.create_table(def).map(|_| ());
        };
        let old = self
            .storage
            .def(id)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::UnknownTable, "table vanished"))?;
        if old.columns == def.columns && old.primary_key == def.primary_key {
            return Ok(());
        }
        let map: Vec<Option<usize>> = def
            .columns
            .iter()
            .map(|c| old.columns.iter().position(|o| o.name == c.name))
            .collect();
        let rows: Vec<Row> = self
            .storage
            .keys(id)
            .iter()
            .filter_map(|k| self.storage.get(id, k))
            .map(|r| {
                map.iter()
                    .map(|m| m.and_then(|i| r.get(i).cloned()).unwrap_or(Value::Null))
                    .collect()
            })
            .collect();
        self.storage.replace_table(id, def, rows)
    }

    /// Runs a logged DDL statement (logical follower) with its default
    /// database and the transaction's time.
    pub fn apply_ddl(
        &mut self,
        database: Option<&str>,
        sql: &str,
        timestamp_us: i64,
    ) -> Result<()> {
        self.commit_open()?;
        self.next_context = Some(StatementContext {
            database: database.map(str::to_string),
            timestamp_us,
            ..StatementContext::default()
        });
        self.execute(sql).map(|_| ())
    }

    pub(super) fn key_text(def: &TableDef, row: &Row) -> String {
        // A table without a primary key: the row is named by every column.
        let every: Vec<usize>;
        let cols = if def.primary_key.is_empty() {
            every = (0..def.columns.len()).collect();
            &every
        } else {
            &def.primary_key
        };
        cols.iter()
            .map(|&i| {
                let v = row
                    .get(i)
                    .map_or_else(|| "?".into(), |v| dump::format_value(v, &def.columns[i].ty));
                format!("{}={v}", def.columns[i].name)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Removes, with undo, every row `row` collides with (ignoring the row
    /// whose key is `except`).
    pub(super) fn remove_colliding(
        &mut self,
        id: TableId,
        row: &Row,
        except: Option<&[u8]>,
    ) -> Result<()> {
        while let Some(c) = self.storage.find_conflict(id, row, except) {
            let old = self.storage.delete(id, &c.existing)?;
            self.undo.push(Undo::Deleted { id, row: old });
        }
        Ok(())
    }

    pub(super) fn insert_applied(&mut self, id: TableId, def: &TableDef, row: &Row) -> Result<()> {
        let key = self.storage.insert(id, row.clone())?;
        self.undo.push(Undo::Inserted { id, key });
        if let Some(ai) = def.auto_increment_column() {
            let n = match &row[ai] {
                Value::Int(i) => u64::try_from(*i).unwrap_or(0),
                Value::UInt(u) => *u,
                _ => 0,
            };
            if n >= self.storage.auto_increment(id) {
                self.storage.set_auto_increment(id, n.saturating_add(1));
            }
        }
        Ok(())
    }

    /// Applies one row change inside [`Store::apply_begin`] /
    /// [`Store::apply_end`], resolving a conflict by `policy`. Returns the
    /// conflict met, if any; under [`ConflictPolicy::Abort`] nothing is
    /// changed then and the caller is expected to roll back. Errors are
    /// failures that no policy resolves: an unknown table, or a change whose
    /// column count differs from the table's.
    pub fn apply_row_change(
        &mut self,
        c: &RowChange,
        policy: ConflictPolicy,
    ) -> Result<Option<Conflict>> {
        let t = c.table();
        let id = self.table_id(&t.database, &t.name)?;
        let def = self.arc_def(id)?;
        if def.columns.len() != t.columns.len() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "schema mismatch on {}: {} columns here, {} in the change",
                    def.qualified_name(),
                    def.columns.len(),
                    t.columns.len()
                ),
            ));
        }
        let conflict = |kind, row: &Row, index: Option<String>, change, resolution| Conflict {
            kind,
            table: def.qualified_name(),
            key: Self::key_text(&def, row),
            index,
            change,
            resolution,
        };
        let on = |forced: bool| match policy {
            ConflictPolicy::Abort => Resolution::Aborted,
            ConflictPolicy::Skip => Resolution::Skipped,
            ConflictPolicy::Overwrite if forced => Resolution::Overwritten,
            ConflictPolicy::Overwrite => Resolution::Skipped,
        };
        // An update's or delete's before-image that differs from the row.
        let mismatch = |cur: &Row, before: &Row, change| {
            (cur != before).then(|| {
                conflict(
                    ConflictKind::BeforeImageMismatch,
                    before,
                    None,
                    change,
                    on(true),
                )
            })
        };
        match c {
            RowChange::Insert { row, .. } => {
                if let Some(c) = self.storage.find_conflict(id, row, None) {
                    let r = on(true);
                    let k = Some(c.key_name);
                    let found = conflict(ConflictKind::DuplicateKey, row, k, "insert", r);
                    if r == Resolution::Overwritten {
                        self.remove_colliding(id, row, None)?;
                        self.insert_applied(id, &def, row)?;
                    }
                    return Ok(Some(found));
                }
                self.insert_applied(id, &def, row)?;
            }
            RowChange::Update { before, after, .. } => {
                let key = primary_key(&def, before);
                let Some(cur) = self.storage.get(id, &key) else {
                    let r = on(true);
                    if r == Resolution::Overwritten {
                        self.remove_colliding(id, after, None)?;
                        self.insert_applied(id, &def, after)?;
                    }
                    return Ok(Some(conflict(
                        ConflictKind::MissingRow,
                        before,
                        None,
                        "update",
                        r,
                    )));
                };
                let mut found = mismatch(&cur, before, "update");
                if found
                    .as_ref()
                    .is_some_and(|c| c.resolution != Resolution::Overwritten)
                {
                    return Ok(found);
                }
                if let Some(KeyConflict { key_name: k, .. }) =
                    self.storage.find_conflict(id, after, Some(&key))
                {
                    let r = on(true);
                    if r != Resolution::Overwritten {
                        return Ok(Some(conflict(
                            ConflictKind::DuplicateKey,
                            after,
                            Some(k),
                            "update",
                            r,
                        )));
                    }
                    self.remove_colliding(id, after, Some(&key))?;
                    found.get_or_insert(conflict(
                        ConflictKind::DuplicateKey,
                        after,
                        Some(k),
                        "update",
                        r,
                    ));
                }
                self.storage.update(id, &key, after.clone())?;
                self.undo.push(Undo::Updated {
                    id,
                    new_key: primary_key(&def, after),
                    old: cur,
                });
                return Ok(found);
            }
            RowChange::Delete { before, .. } => {
                let key = primary_key(&def, before);
                let Some(cur) = self.storage.get(id, &key) else {
                    return Ok(Some(conflict(
                        ConflictKind::MissingRow,
                        before,
                        None,
                        "delete",
                        on(false),
                    )));
                };
                let found = mismatch(&cur, before, "delete");
                if found
                    .as_ref()
                    .is_some_and(|c| c.resolution != Resolution::Overwritten)
                {
                    return Ok(found);
                }
                let old = self.storage.delete(id, &key)?;
                self.undo.push(Undo::Deleted { id, row: old });
                return Ok(found);
            }
            RowChange::Truncate { .. } => {
                for k in self.storage.keys(id) {
                    let old = self.storage.delete(id, &k)?;
                    self.undo.push(Undo::Deleted { id, row: old });
                }
                self.storage.set_auto_increment(id, 1);
            }
        }
        Ok(None)
    }
}
