//! What the leader captures per committed transaction: the statements with
//! their replay context (what a statement log carries) and the row changes
//! as executed (what a logical log carries).

use crate::env::MyRnd;
use crate::types::{Datum, Row, TableDef};
use std::sync::Arc;

/// The context a statement needs to replay identically, as MySQL's
/// statement binlog captures it (Query event fields, INTVAR, RAND and
/// User_var events). UUID() and SYSDATE() values are deliberately **not**
/// captured, exactly as MySQL does not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatementContext {
    /// Default database when the statement ran.
    pub database: Option<String>,
    /// Statement time (NOW()), µs since the epoch.
    pub timestamp_us: i64,
    /// Seeds of the session RAND() generator before the statement's first
    /// RAND() call without a seed (RAND event).
    pub rand_seed: Option<MyRnd>,
    /// First auto-increment value the statement generated (INTVAR INSERT_ID).
    pub insert_id: Option<u64>,
    /// Value LAST_INSERT_ID() returned in the statement (INTVAR
    /// LAST_INSERT_ID).
    pub last_insert_id: Option<u64>,
    /// User variables the statement read, with their values, in first-read
    /// order (User_var events). Names are lowercase, without `@`.
    pub user_vars: Vec<(String, Datum)>,
    /// CONNECTION_ID() when the statement read it (MySQL logs the session's
    /// `pseudo_thread_id` with every Query event).
    pub thread_id: Option<u64>,
}

/// One row change as executed.
#[derive(Debug, Clone, PartialEq)]
pub enum RowChange {
    /// A new row.
    Insert {
        /// The table's definition at the time.
        table: Arc<TableDef>,
        /// The row.
        row: Row,
    },
    /// A changed row (full before and after images).
    Update {
        /// The table's definition at the time.
        table: Arc<TableDef>,
        /// Before image.
        before: Row,
        /// After image.
        after: Row,
    },
    /// A removed row.
    Delete {
        /// The table's definition at the time.
        table: Arc<TableDef>,
        /// Before image.
        before: Row,
    },
    /// Every row removed (TRUNCATE).
    Truncate {
        /// The table's definition at the time.
        table: Arc<TableDef>,
    },
}

impl RowChange {
    /// The table the change is about.
    pub fn table(&self) -> &Arc<TableDef> {
        match self {
            RowChange::Insert { table, .. }
            | RowChange::Update { table, .. }
            | RowChange::Delete { table, .. }
            | RowChange::Truncate { table } => table,
        }
    }
}

/// A statement that changed (or could have changed) the store.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedStatement {
    /// The SQL text exactly as executed.
    pub sql: String,
    /// Its replay context.
    pub context: StatementContext,
    /// True for DDL (CREATE/DROP/ALTER/TRUNCATE, CREATE DATABASE): a
    /// logical log carries its text, and followers execute it.
    pub is_ddl: bool,
    /// Row changes in execution order (empty for DDL other than TRUNCATE).
    pub changes: Vec<RowChange>,
    /// Why a statement log cannot be trusted to replay this statement
    /// identically (`"UUID()"`, `"SYSDATE()"`, `"LIMIT without ORDER BY"`,
    /// …); empty when it is safe.
    pub unsafe_reasons: Vec<&'static str>,
}

/// A committed transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedTransaction {
    /// Transaction id, 1, 2, … in commit order.
    pub txid: u64,
    /// Time of the first statement, µs since the epoch.
    pub timestamp_us: i64,
    /// Statements in execution order.
    pub statements: Vec<CapturedStatement>,
    /// Store digest before the transaction.
    pub state_before: u64,
    /// Store digest after it.
    pub state_after: u64,
}

impl CommittedTransaction {
    /// Every row change of the transaction in order.
    pub fn changes(&self) -> impl Iterator<Item = &RowChange> {
        self.statements.iter().flat_map(|s| s.changes.iter())
    }

    /// True when this is a single DDL statement.
    pub fn is_ddl(&self) -> bool {
        self.statements.len() == 1 && self.statements[0].is_ddl
    }
}
