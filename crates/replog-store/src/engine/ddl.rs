//! DDL: statements that change the schema, run outside any open
//! transaction and captured as one transaction of their own. What a
//! statement does to the tables is decided by the one DDL interpreter
//! ([`replog_schema::catalog::interpret`]); the store's part is its
//! storage: definitions kept with the rows, rows rebuilt on ALTER TABLE.

use super::*;
use replog_schema::catalog::{
    self, AlteredTable, CatalogNote, CatalogTable, ColumnSource, DdlMode, Definitions,
};

impl<S: Storage, E: Environment> Store<S, E> {
    /// CREATE DATABASE, CREATE / DROP / ALTER TABLE, through the catalog's
    /// interpreter.
    pub(super) fn schema_ddl(&mut self, stmt: &Statement, sql: &str) -> Result<StatementResult> {
        // Refused before the implicit commit, so that an unsupported
        // statement leaves an open transaction open.
        catalog::refuse_unsupported(stmt)?;
        self.ddl(sql, |s, now_us| {
            let default_db = s.session.database.clone();
            let mut defs = StoreDefinitions { store: s, now_us };
            catalog::interpret(&mut defs, stmt, default_db.as_deref()).map(|_| ())
        })
    }

    pub(super) fn ddl(
        &mut self,
        sql: &str,
        f: impl FnOnce(&mut Self, i64) -> Result<()>,
    ) -> Result<StatementResult> {
        self.ddl_with_changes(sql, Vec::new(), f)
    }

    pub(super) fn ddl_with_changes(
        &mut self,
        sql: &str,
        changes: Vec<RowChange>,
        f: impl FnOnce(&mut Self, i64) -> Result<()>,
    ) -> Result<StatementResult> {
        // DDL commits any open transaction first (implicit commit), then
        // commits itself: two transactions in the storage too.
        self.commit_open()?;
        let st = self.start_statement(true);
        let before = self.digest();
        let shape = |s: &Self| (s.digest(), s.table_defs(), s.databases());
        let shape_before = shape(self);
        self.defs.clear();
        let res = f(self, st.now_us);
        self.defs.clear();
        if let Err(e) = res {
            // A DDL that failed without changing anything leaves nothing to
            // keep; one that failed halfway (e.g. DROP TABLE a, missing)
            // keeps its changes, which go with the next commit.
            if shape(self) == shape_before {
                self.storage.rollback();
            }
            return Err(e);
        }
        let txid = self.next_txid;
        let after = self.digest();
        self.storage.commit(&crate::storage::StorageCommit {
            txid,
            timestamp_us: st.now_us,
            state_before: before,
            state_after: after,
        })?;
        self.next_txid += 1;
        self.committed.push(CommittedTransaction {
            txid,
            timestamp_us: st.now_us,
            statements: vec![CapturedStatement {
                sql: sql.to_string(),
                context: st.ctx,
                is_ddl: true,
                changes,
                unsafe_reasons: Vec::new(),
            }],
            state_before: before,
            state_after: after,
        });
        Ok(StatementResult::default())
    }
}

/// The store's table definitions as the one DDL interpreter sees them
/// ([`replog_schema::catalog::interpret`]): kept by the storage with the
/// rows, which ALTER TABLE rebuilds.
struct StoreDefinitions<'a, S: Storage, E: Environment> {
    store: &'a mut Store<S, E>,
    /// NOW() of the statement, µs.
    now_us: i64,
}

impl<S: Storage, E: Environment> StoreDefinitions<'_, S, E> {
    fn id(&self, db: &str, name: &str) -> Result<TableId> {
        self.store.table_id(db, name)
    }
}

impl<S: Storage, E: Environment> Definitions for StoreDefinitions<'_, S, E> {
    type Error = Error;

    fn mode(&self) -> DdlMode {
        DdlMode::Execute
    }

    fn database_exists(&self, db: &str) -> bool {
        self.store.storage.database_exists(db)
    }

    fn table(&self, db: &str, name: &str) -> Option<Cow<'_, CatalogTable>> {
        let def = self.store.table_def(db, name)?;
        Some(Cow::Owned(CatalogTable::from_def(def.clone())))
    }

    fn tables_in(&self, db: &str) -> Vec<(String, String)> {
        let mut names = self.store.table_names();
        names.retain(|(d, _)| d == db);
        names
    }

    fn create_database(&mut self, db: &str) -> Result<()> {
        self.store.storage.create_database(db)
    }

    fn drop_database(&mut self, db: &str) -> Result<()> {
        self.store.storage.drop_database(db)?;
        if self.store.session.database.as_deref() == Some(db) {
            // MariaDB: no default database any more.
            self.store.session.database = None;
        }
        Ok(())
    }

    fn create_table(&mut self, table: CatalogTable) -> Result<()> {
        self.store.storage.create_table(table.def).map(|_| ())
    }

    fn drop_table(&mut self, db: &str, name: &str) -> Result<()> {
        let id = self.id(db, name)?;
        self.store.storage.drop_table(id)
    }

    fn alter_table(&mut self, altered: AlteredTable<'_>) -> Result<()> {
        let id = self.id(altered.database, altered.name)?;
        let (def, sources) = (altered.table.def, altered.sources);
        let mut fills = Vec::with_capacity(sources.len());
        for (c, s) in def.columns.iter().zip(sources) {
            fills.push(match s {
                ColumnSource::Kept(_) => None,
                ColumnSource::Added => Some(match &c.default {
                    ColumnDefault::Value(v) => v.clone(),
                    ColumnDefault::CurrentTimestamp => store(
                        &Datum::DateTime(crate::types::timestamp_to_datetime(self.now_us)),
                        &StoreAt { column: c, row: 1 },
                    )?,
                    ColumnDefault::Missing => implicit_default(c),
                    ColumnDefault::Expression(e) => {
                        return Err(Error::unsupported(format!("unevaluated default {e}")));
                    }
                }),
            });
        }
        let storage = &self.store.storage;
        let rows: Vec<Row> = storage
            .keys(id)
            .iter()
            .filter_map(|k| storage.get(id, k))
            .map(|old| {
                sources
                    .iter()
                    .zip(&fills)
                    .map(|(s, fill)| match (s, fill) {
                        (ColumnSource::Kept(i), _) => old.get(*i).cloned().unwrap_or(Value::Null),
                        (ColumnSource::Added, Some(v)) => v.clone(),
                        (ColumnSource::Added, None) => Value::Null,
                    })
                    .collect()
            })
            .collect();
        self.store.storage.replace_table(id, def, rows)
    }

    fn rename_table(&mut self, db: &str, name: &str, new_db: &str, new_name: &str) -> Result<()> {
        let id = self.id(db, name)?;
        self.store
            .storage
            .rename_table(id, new_db, new_name)
            .map(|_| ())
    }

    fn eval_default(&mut self, expr: &Expr, column: &Column) -> Result<ColumnDefault> {
        let mut st = StmtState {
            now_us: self.now_us,
            ..StmtState::default()
        };
        let s = &mut *self.store;
        let mut cx = Ctx {
            session: &mut s.session,
            env: &mut s.env,
            stmt: &mut st,
        };
        let d = cx.eval(expr, &Scope::default())?;
        if d.is_null() {
            return Ok(ColumnDefault::Value(Value::Null));
        }
        let v = store(&d, &StoreAt { column, row: 0 }).map_err(|_| {
            Error::new(
                ErrorKind::BadDefinition,
                format!("Invalid default value for '{}'", column.name),
            )
        })?;
        Ok(ColumnDefault::Value(v))
    }

    fn note(&mut self, _note: CatalogNote) {}
}
