//! The failover report: what a failover from an old leader (log A) to a
//! new leader (log B) discards, and which primary keys both leaders handed
//! out for different rows.
//!
//! What a real deployment has: the new leader was an asynchronous
//! follower, so its log holds the prefix of the old leader's transactions
//! it had applied (re-logged: under the old leader's identity when
//! replication keeps the origin, as GTIDs do, or under its own), followed
//! by the transactions it ran itself after promotion. Its txids are its
//! own and may collide with the old leader's, so txids alone identify
//! nothing.
//!
//! Each committed transaction of A is looked for in B:
//!
//! 1. **by origin**: a transaction of B whose BEGIN carries the same
//!    server id and origin text (a GTID) — trusted only when B also holds
//!    transactions of another server id (the new leader's own). When every
//!    transaction of B carries the old leader's server id, the two servers
//!    may share one id (origins are then ambiguous: the new leader's own
//!    transactions would pass for the old leader's), so that transaction
//!    is matched by content only, with a note;
//! 2. **by content**: a transaction of B, not yet matched, with the same
//!    row changes (table, kind, before and after images, in order) and DDL
//!    text — the fingerprint is the same whichever format logged it, since
//!    statement logs are replayed on a reference store to obtain their row
//!    changes.
//!
//! An A transaction found by origin with other content was replicated but
//! applied differently (reported as `diverged`). One found by neither is
//! **discarded** by the failover. Every row a discarded transaction
//! inserted is remembered by table and primary key; B's own transactions
//! (those matched to nothing of A) that insert a row under one of those
//! keys with different values **reuse the key** — the auto-increment
//! reuse of GitHub's 2012 incident.
//!
//! Works for statement and logical logs in any combination (both are
//! replayed onto reference stores); physical logs are refused (convert
//! them with `replog convert --to logical` first). Memory: the two stores,
//! a fingerprint per transaction of B, and the rows the discarded
//! transactions inserted. B is read twice, A once.

use crate::diff::ColumnDiff;
use crate::error::{Error, ErrorKind, Result};
use crate::state_diff::{AppliedTx, LogReplayer, column_diffs, encoded_key, key_text, row_text};
use replog_core::LogKind;
use replog_core::reader::SegmentInput;
use replog_core::recovery::RecoveryPolicy;
use replog_store::digest::row_hash;
use replog_store::{Row, RowChange, TableDef};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use xxhash_rust::xxh3::Xxh3;

/// How to build the failover report.
#[derive(Debug, Clone, Copy, Default)]
pub struct FailoverOptions {
    /// Which damage of either log ends it without an error.
    pub policy: RecoveryPolicy,
    /// Do not match transactions by origin, only by content.
    pub content_only: bool,
}

/// What became of one of the old leader's transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// Not on the new leader: the failover discards it.
    Discarded,
    /// On the new leader under the same origin, with other row changes.
    Diverged,
}

impl Fate {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Fate::Discarded => "discarded",
            Fate::Diverged => "diverged",
        }
    }
}

/// An old-leader transaction that the new leader does not have as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostTx {
    /// What became of it.
    pub fate: Fate,
    /// Its txid in A.
    pub txid: u64,
    /// Server id (BEGIN).
    pub server_id: u32,
    /// Origin (BEGIN).
    pub origin: String,
    /// LSN of its BEGIN in A.
    pub lsn: u64,
    /// The txid in B it was matched with by origin (Diverged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txid_b: Option<u64>,
    /// Row changes and DDL statements it made.
    pub changes: u64,
    /// What it did, e.g. `3 insert(s) into d.t, 1 update(s) of d.u`.
    pub summary: String,
}

/// A primary key that both leaders assigned to different rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReusedKey {
    /// `database.table`.
    pub table: String,
    /// The key, `col=value, …`.
    pub key: String,
    /// The discarded old-leader transaction that inserted it.
    pub txid_a: u64,
    /// Its row there.
    pub row_a: String,
    /// The new leader's transaction that inserted it again.
    pub txid_b: u64,
    /// Its row there.
    pub row_b: String,
    /// Columns that differ.
    pub columns: Vec<ColumnDiff>,
}

/// What the failover report found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FailoverSummary {
    /// Kind of the old leader's log.
    pub kind_a: Option<LogKind>,
    /// Kind of the new leader's log.
    pub kind_b: Option<LogKind>,
    /// Committed transactions of the old leader.
    pub transactions_a: u64,
    /// Committed transactions of the new leader.
    pub transactions_b: u64,
    /// Old-leader transactions found on the new leader by origin.
    pub replicated_by_origin: u64,
    /// Found by content.
    pub replicated_by_content: u64,
    /// Found by origin with other content.
    pub diverged: u64,
    /// Not on the new leader.
    pub discarded: u64,
    /// The new leader's own transactions (matched to nothing of A).
    pub new_leader_own: u64,
    /// Keys both leaders assigned to different rows.
    pub reused_keys: u64,
    /// Whether origins were used to match.
    pub origin_matching: bool,
    /// The server id of B's last transaction (the new leader's own, once
    /// it has written).
    pub new_leader_server_id: Option<u32>,
    /// Transactions that failed on replay (side, txid, why).
    pub failures: Vec<(String, u64, String)>,
    /// Remarks.
    pub notes: Vec<String>,
}

impl FailoverSummary {
    /// True when the failover loses nothing: no discarded or diverged
    /// transaction and no reused key.
    pub fn clean(&self) -> bool {
        self.discarded == 0 && self.diverged == 0 && self.reused_keys == 0
    }
}

/// The content fingerprint of an applied transaction.
fn fingerprint(t: &AppliedTx) -> u128 {
    let mut h = Xxh3::new();
    let image = |def: &TableDef, r: &Row, h: &mut Xxh3| {
        h.update(&row_hash(def, r).to_le_bytes());
    };
    for (db, sql) in &t.ddl {
        h.update(b"D");
        h.update(db.as_bytes());
        h.update(&[0]);
        h.update(sql.as_bytes());
        h.update(&[0]);
    }
    for c in &t.changes {
        let def = c.table();
        h.update(def.database.as_bytes());
        h.update(b".");
        h.update(def.name.as_bytes());
        h.update(&[0]);
        match c {
            RowChange::Insert { row, .. } => {
                h.update(b"I");
                image(def, row, &mut h);
            }
            RowChange::Update { before, after, .. } => {
                h.update(b"U");
                image(def, before, &mut h);
                image(def, after, &mut h);
            }
            RowChange::Delete { before, .. } => {
                h.update(b"X");
                image(def, before, &mut h);
            }
            RowChange::Truncate { .. } => h.update(b"T"),
        }
    }
    h.digest128()
}

fn describe(t: &AppliedTx) -> String {
    // (kind, table) → count, in first-seen order.
    let mut counts: Vec<((&'static str, String), u64)> = Vec::new();
    let mut add = |k: &'static str, table: String| {
        if let Some(e) = counts.iter_mut().find(|e| e.0.0 == k && e.0.1 == table) {
            e.1 += 1;
        } else {
            counts.push(((k, table), 1));
        }
    };
    for _ in &t.ddl {
        add("DDL", String::new());
    }
    for c in &t.changes {
        let table = c.table().qualified_name();
        match c {
            RowChange::Insert { .. } => add("insert(s) into", table),
            RowChange::Update { .. } => add("update(s) of", table),
            RowChange::Delete { .. } => add("delete(s) from", table),
            RowChange::Truncate { .. } => add("truncate(s) of", table),
        }
    }
    if counts.is_empty() {
        return "no changes".into();
    }
    counts
        .into_iter()
        .map(|((k, table), n)| {
            if table.is_empty() {
                format!("{n} {k} statement(s)")
            } else {
                format!("{n} {k} {table}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

struct BTx {
    txid: u64,
    fingerprint: u128,
    claimed: bool,
}

type OriginKey = (u32, String);

fn origin_key(t: &AppliedTx) -> Option<OriginKey> {
    (!t.origin.is_empty()).then(|| (t.server_id, t.origin.clone()))
}

/// A row a discarded transaction inserted.
struct Assigned {
    txid: u64,
    def: Arc<TableDef>,
    row: Row,
}

fn replayer(label: &str, segs: Vec<SegmentInput>, policy: RecoveryPolicy) -> Result<LogReplayer> {
    let mut r = LogReplayer::new(label, segs, policy, true);
    match r.probe()? {
        Some(LogKind::Physical) | None => Err(Error::new(
            ErrorKind::Mismatch,
            format!(
                "log {label}: the failover report needs row changes: give a statement or logical log (convert a physical log with `replog convert --to logical`)"
            ),
        )),
        Some(_) => Ok(r),
    }
}

/// Builds the failover report of old leader `a` and new leader `b`.
/// `open_b` opens B's segments (B is read twice). `on_lost` is called for
/// every discarded or diverged transaction of A in log order, `on_reused`
/// for every reused key in B's order.
pub fn failover(
    a: Vec<SegmentInput>,
    open_b: &mut dyn FnMut() -> Result<Vec<SegmentInput>>,
    opts: &FailoverOptions,
    on_lost: &mut dyn FnMut(&LostTx) -> Result<()>,
    on_reused: &mut dyn FnMut(&ReusedKey) -> Result<()>,
) -> Result<FailoverSummary> {
    let mut s = FailoverSummary::default();
    // Pass 1: B's transactions, their origins and fingerprints.
    let mut rb = replayer("B", open_b()?, opts.policy)?;
    s.kind_b = rb.kind();
    let mut btx: Vec<BTx> = Vec::new();
    let mut by_origin: HashMap<OriginKey, Vec<usize>> = HashMap::new();
    let mut by_content: HashMap<u128, Vec<usize>> = HashMap::new();
    let mut b_server = None;
    let mut b_servers: Vec<u32> = Vec::new();
    while let Some(t) = rb.apply()? {
        if !b_servers.contains(&t.server_id) {
            b_servers.push(t.server_id);
        }
        if let Some(f) = &t.failure {
            s.failures.push(("B".into(), t.txid, f.clone()));
        }
        let fp = fingerprint(&t);
        let i = btx.len();
        if let Some(k) = origin_key(&t) {
            by_origin.entry(k).or_default().push(i);
        }
        by_content.entry(fp).or_default().push(i);
        b_server = Some(t.server_id);
        btx.push(BTx {
            txid: t.txid,
            fingerprint: fp,
            claimed: false,
        });
    }
    drop(rb);
    s.transactions_b = btx.len() as u64;
    s.new_leader_server_id = b_server;

    // Pass 2: each of A's transactions looked for in B.
    let mut ra = replayer("A", a, opts.policy)?;
    s.kind_a = ra.kind();
    let mut assigned: HashMap<(String, Vec<u8>), Assigned> = HashMap::new();
    let mut noted: Vec<u32> = Vec::new();
    s.origin_matching = !opts.content_only;
    while let Some(t) = ra.apply()? {
        s.transactions_a += 1;
        if let Some(f) = &t.failure {
            s.failures.push(("A".into(), t.txid, f.clone()));
        }
        let mut origin_ok = !opts.content_only;
        if origin_ok && b_servers.iter().all(|&id| id == t.server_id) {
            origin_ok = false;
            s.origin_matching = false;
            if !noted.contains(&t.server_id) {
                noted.push(t.server_id);
                s.notes.push(format!(
                    "every transaction of the new leader's log carries server id {}, the old leader's: origins are ambiguous, its transactions were matched by content only",
                    t.server_id
                ));
            }
        }
        let fp = fingerprint(&t);
        let mut diverged_with = None;
        if origin_ok
            && let Some(k) = origin_key(&t)
            && let Some(list) = by_origin.get_mut(&k)
            && let Some(pos) = list.iter().position(|&i| !btx[i].claimed)
        {
            let i = list.remove(pos);
            btx[i].claimed = true;
            if btx[i].fingerprint == fp {
                s.replicated_by_origin += 1;
                continue;
            }
            diverged_with = Some(btx[i].txid);
        }
        if diverged_with.is_none()
            && let Some(list) = by_content.get_mut(&fp)
        {
            list.retain(|&i| !btx[i].claimed);
            if !list.is_empty() {
                let i = list.remove(0);
                btx[i].claimed = true;
                s.replicated_by_content += 1;
                continue;
            }
        }
        let fate = if diverged_with.is_some() {
            s.diverged += 1;
            Fate::Diverged
        } else {
            s.discarded += 1;
            Fate::Discarded
        };
        on_lost(&LostTx {
            fate,
            txid: t.txid,
            server_id: t.server_id,
            origin: t.origin.clone(),
            lsn: t.lsn,
            txid_b: diverged_with,
            changes: (t.changes.len() + t.ddl.len()) as u64,
            summary: describe(&t),
        })?;
        if fate == Fate::Discarded {
            for c in &t.changes {
                if let RowChange::Insert { table, row } = c {
                    assigned
                        .entry((table.qualified_name(), encoded_key(table, row)))
                        .or_insert_with(|| Assigned {
                            txid: t.txid,
                            def: table.clone(),
                            row: row.clone(),
                        });
                }
            }
        }
    }
    drop(ra);
    s.new_leader_own = btx.iter().filter(|b| !b.claimed).count() as u64;

    // Pass 3: B's own transactions inserting under a discarded key.
    if !assigned.is_empty() && s.new_leader_own > 0 {
        let mut rb = replayer("B", open_b()?, opts.policy)?;
        let mut i = 0usize;
        while let Some(t) = rb.apply()? {
            let own = btx.get(i).is_some_and(|b| !b.claimed);
            i += 1;
            if !own {
                continue;
            }
            for c in &t.changes {
                let (def, row) = match c {
                    RowChange::Insert { table, row } => (table, row),
                    RowChange::Update { table, after, .. } => (table, after),
                    _ => continue,
                };
                let k = (def.qualified_name(), encoded_key(def, row));
                let Some(old) = assigned.get(&k) else {
                    continue;
                };
                if matches!(c, RowChange::Update { before, .. } if encoded_key(def, before) == k.1)
                {
                    // An update of a row the new leader already had under
                    // that key: the key was assigned by an insert.
                    continue;
                }
                let columns = column_diffs(&old.def, &old.row, def, row);
                if columns.is_empty() {
                    continue;
                }
                s.reused_keys += 1;
                on_reused(&ReusedKey {
                    table: k.0.clone(),
                    key: key_text(def, row),
                    txid_a: old.txid,
                    row_a: row_text(&old.def, &old.row),
                    txid_b: t.txid,
                    row_b: row_text(def, row),
                    columns,
                })?;
                // Report each key once.
                assigned.remove(&k);
            }
        }
    }
    Ok(s)
}
