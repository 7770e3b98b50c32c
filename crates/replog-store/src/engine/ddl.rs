//! DDL: statements that change the schema, run outside any open
//! transaction and captured as one transaction of their own.

use super::*;

impl<S: Storage, E: Environment> Store<S, E> {
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
        self.storage.commit(txid, st.now_us, before, after)?;
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
