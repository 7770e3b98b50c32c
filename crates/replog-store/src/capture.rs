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

/// How many statements whose results were the executor's own are listed
/// in full in a report; the rest are counted.
pub const MAX_LISTED: usize = 100;

/// A statement whose result depended on what its executor (a converter, a
/// follower) supplied rather than on what its log carried.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DependentStatement {
    /// Transaction id.
    pub txid: u64,
    /// Where the statement is: `LSN n` in a native log, `file:position`
    /// of its transaction in a binlog.
    pub position: String,
    /// The statement (on one line, at most 200 characters).
    pub sql: String,
    /// What the executor supplied.
    pub reasons: Vec<String>,
}

impl DependentStatement {
    /// Why `executed` (a statement as the store ran it: its context
    /// records what it used) depended on its executor (`who`: "the
    /// converter", "the follower") rather than on `carried` (the statement
    /// as its log carried it): values the store made itself (UUID(),
    /// SYSDATE(), USER(), rows chosen by LIMIT without ORDER BY), and
    /// context the log did not carry (RAND seeds, auto-increment values,
    /// LAST_INSERT_ID(), user variables). `None` when it depended on
    /// nothing; `position` is only asked for otherwise.
    pub fn of(
        txid: u64,
        position: impl FnOnce() -> String,
        executed: &CapturedStatement,
        carried: Option<&CapturedStatement>,
        who: &str,
    ) -> Option<DependentStatement> {
        let mut reasons: Vec<String> = executed
            .unsafe_reasons
            .iter()
            .map(|r| format!("{r}: {who}'s own result"))
            .collect();
        let used = &executed.context;
        let carried = carried.map(|i| &i.context);
        if used.rand_seed.is_some() && carried.is_none_or(|c| c.rand_seed.is_none()) {
            reasons.push(format!("RAND() seeded by {who} (no RAND seeds in the log)"));
        }
        if used.insert_id.is_some() && carried.is_none_or(|c| c.insert_id.is_none()) {
            reasons.push(format!(
                "auto-increment values from {who}'s counters (no INSERT_ID in the log)"
            ));
        }
        if used.last_insert_id.is_some() && carried.is_none_or(|c| c.last_insert_id.is_none()) {
            reasons.push(format!(
                "LAST_INSERT_ID() from {who}'s session (not in the log)"
            ));
        }
        for (name, _) in &used.user_vars {
            if carried.is_none_or(|c| !c.user_vars.iter().any(|(n, _)| n == name)) {
                reasons.push(format!("@{name} from {who}'s session (not in the log)"));
            }
        }
        if reasons.is_empty() {
            return None;
        }
        Some(DependentStatement {
            txid,
            position: position(),
            sql: short_sql(&executed.sql),
            reasons,
        })
    }
}

/// `sql` on one line, cut to 200 characters with `…` where it was longer.
pub fn short_sql(sql: &str) -> String {
    let one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= 200 {
        one
    } else {
        let mut s: String = one.chars().take(199).collect();
        s.push('…');
        s
    }
}

/// Statements that depended on their executor: the first
/// [`MAX_LISTED`], and how many in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dependence {
    /// The first ones.
    pub dependent: Vec<DependentStatement>,
    /// How many in all.
    pub dependent_total: u64,
}

impl Dependence {
    /// Counts `d`, and lists it while fewer than [`MAX_LISTED`] are.
    pub fn note(&mut self, d: DependentStatement) {
        self.dependent_total += 1;
        if self.dependent.len() < MAX_LISTED {
            self.dependent.push(d);
        }
    }
}
