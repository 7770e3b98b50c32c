//! Transactions and undo: the open transaction, commit (with change
//! capture and the state digest), rollback and the undo log.

use super::*;
use crate::storage::StorageCommit;

#[derive(Debug)]
pub(super) enum Undo {
    Inserted {
        id: TableId,
        key: Vec<u8>,
    },
    Deleted {
        id: TableId,
        row: Row,
    },
    Updated {
        id: TableId,
        new_key: Vec<u8>,
        old: Row,
    },
}

#[derive(Debug)]
pub(super) struct OpenTxn {
    pub(super) statements: Vec<CapturedStatement>,
    pub(super) state_before: u64,
    pub(super) timestamp_us: i64,
    pub(super) explicit: bool,
    /// SAVEPOINTs, oldest first: the name, the undo log's length and the
    /// number of captured statements when it was set.
    pub(super) savepoints: Vec<(String, usize, usize)>,
}

impl<S: Storage, E: Environment> Store<S, E> {
    /// Commits the open transaction, if any: one with statements gets the
    /// next txid, is captured and committed in the storage; one holding only
    /// applied row changes (a follower's) is committed in the storage; an
    /// empty one is rolled back in the storage. A storage commit failure
    /// rolls the transaction back and is returned.
    pub(super) fn commit_open(&mut self) -> Result<()> {
        let Some(t) = self.open.take() else {
            self.undo.clear();
            return Ok(());
        };
        if t.statements.is_empty() {
            if self.undo.is_empty() {
                self.storage.rollback();
                return Ok(());
            }
            return self.commit_applied(None, t.timestamp_us, t.state_before);
        }
        let txid = self.next_txid;
        let after = self.digest();
        if let Err(e) = self.storage.commit(&StorageCommit {
            txid,
            timestamp_us: t.timestamp_us,
            state_before: t.state_before,
            state_after: after,
        }) {
            self.undo_to(0);
            self.storage.rollback();
            return Err(e);
        }
        self.undo.clear();
        self.next_txid += 1;
        self.committed.push(CommittedTransaction {
            txid,
            timestamp_us: t.timestamp_us,
            statements: t.statements,
            state_before: t.state_before,
            state_after: after,
        });
        Ok(())
    }

    /// Commits applied (not captured) row changes in the storage, under the
    /// leader's txid when known; on failure they are undone.
    pub(super) fn commit_applied(
        &mut self,
        txid: Option<u64>,
        timestamp_us: i64,
        state_before: u64,
    ) -> Result<()> {
        let txid = txid.unwrap_or(self.next_txid);
        self.next_txid = self.next_txid.max(txid.saturating_add(1));
        let after = self.digest();
        if let Err(e) = self.storage.commit(&StorageCommit {
            txid,
            timestamp_us,
            state_before,
            state_after: after,
        }) {
            self.undo_to(0);
            self.storage.rollback();
            return Err(e);
        }
        self.undo.clear();
        Ok(())
    }

    /// SAVEPOINT: marks the open transaction's state (a savepoint of the
    /// same name is replaced). Outside a transaction under autocommit it
    /// does nothing (MariaDB's behaviour); with autocommit off it starts
    /// one.
    pub(super) fn savepoint(&mut self, name: &str) -> Result<StatementResult> {
        if self.open.is_none() {
            if self.session.autocommit {
                return Ok(StatementResult::default());
            }
            self.open = Some(OpenTxn {
                statements: Vec::new(),
                state_before: self.digest(),
                timestamp_us: 0,
                explicit: false,
                savepoints: Vec::new(),
            });
        }
        let mark = self.undo.len();
        if let Some(t) = self.open.as_mut() {
            t.savepoints
                .retain(|(n, _, _)| !n.eq_ignore_ascii_case(name));
            t.savepoints
                .push((name.to_string(), mark, t.statements.len()));
        }
        Ok(StatementResult::default())
    }

    /// ROLLBACK TO SAVEPOINT (`release` false: undoes everything after it,
    /// which stays set, and forgets later ones) or RELEASE SAVEPOINT
    /// (forgets it and later ones). The statements undone are no longer
    /// part of the transaction the logs get.
    pub(super) fn back_to_savepoint(
        &mut self,
        name: &str,
        release: bool,
    ) -> Result<StatementResult> {
        let found = self.open.as_ref().and_then(|t| {
            t.savepoints
                .iter()
                .position(|(n, _, _)| n.eq_ignore_ascii_case(name))
        });
        let Some(i) = found else {
            return Err(Error::new(
                ErrorKind::UnknownSavepoint,
                format!("SAVEPOINT {name} does not exist"),
            ));
        };
        if release {
            if let Some(t) = self.open.as_mut() {
                t.savepoints.truncate(i);
            }
            return Ok(StatementResult::default());
        }
        let (mark, statements) = match self.open.as_mut() {
            Some(t) => {
                t.savepoints.truncate(i + 1);
                let (_, m, s) = t.savepoints[i];
                t.statements.truncate(s);
                (m, s)
            }
            None => (0, 0),
        };
        let _ = statements;
        self.undo_to(mark);
        Ok(StatementResult::default())
    }

    pub(super) fn rollback_open(&mut self) {
        self.undo_to(0);
        self.open = None;
        self.storage.rollback();
    }

    pub(super) fn undo_to(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let Some(u) = self.undo.pop() else { break };
            // Undo reverses operations that succeeded, so they succeed.
            let _ = match u {
                Undo::Inserted { id, key } => self.storage.delete(id, &key).map(|_| ()),
                Undo::Deleted { id, row } => self.storage.insert(id, row).map(|_| ()),
                Undo::Updated { id, new_key, old } => {
                    self.storage.update(id, &new_key, old).map(|_| ())
                }
            };
        }
    }
}
