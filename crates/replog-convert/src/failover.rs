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
//! them with `replog convert --to logical` first).
//!
//! The two logs are replayed in step, one transaction of each at a time,
//! and a transaction waits in a window only until its match on the other
//! side turns up. Memory: the two stores, plus what the logs do not share
//! (the old leader's lost tail with the rows it inserted, a fingerprint
//! per transaction of the new leader's own) and the distance between the
//! shared transactions' places in the two logs. A is read once; B up to
//! three times (server ids, the walk, then its own inserts when keys may
//! be reused).

use crate::diff::ColumnDiff;
use crate::error::{Error, ErrorKind, Result};
use crate::state_diff::{
    AppliedTx, LogReplayer, column_diffs, encoded_key, key_text, reader_options, row_text,
};
use replog_core::LogKind;
use replog_core::recovery::RecoveryPolicy;
use replog_core::txn::{TxnEvent, TxnInput};
use replog_store::digest::row_hash;
use replog_store::{Row, RowChange, TableDef};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
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
    /// Its position in A's foreign log (`file:pos (GTID g)` for a
    /// binlog); absent for a replog log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
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

/// A transaction of one side not yet matched with one of the other.
#[derive(Default)]
struct Pending {
    txid: u64,
    server_id: u32,
    origin: String,
    lsn: u64,
    position: Option<String>,
    fingerprint: u128,
    /// Its origin key, when origins are trusted for it.
    origin_key: Option<u128>,
    changes: u64,
    summary: String,
    /// Rows it inserted (old leader's side).
    inserts: Vec<(Arc<TableDef>, Row)>,
}

/// The unmatched transactions of one side with one fingerprint, oldest
/// first (nearly always one: no allocation then).
enum Slot {
    One(u64),
    Many(VecDeque<u64>),
}

/// The unmatched transactions of one side, by sequence number in its log.
#[derive(Default)]
struct Window {
    /// Boxed: B-tree nodes of large values are mostly empty space.
    items: BTreeMap<u64, Box<Pending>>,
    by_origin: HashMap<u128, u64>,
    by_content: HashMap<u128, Slot>,
}

impl Window {
    fn insert(&mut self, seq: u64, origin: Option<u128>, mut p: Pending) {
        if let Some(k) = origin {
            self.by_origin.insert(k, seq);
        }
        p.origin_key = origin;
        match self.by_content.get_mut(&p.fingerprint) {
            None => {
                self.by_content.insert(p.fingerprint, Slot::One(seq));
            }
            Some(Slot::Many(q)) => q.push_back(seq),
            Some(slot) => {
                if let Slot::One(first) = *slot {
                    *slot = Slot::Many(VecDeque::from([first, seq]));
                }
            }
        }
        self.items.insert(seq, Box::new(p));
    }

    fn take_origin(&mut self, k: u128) -> Option<(u64, Box<Pending>)> {
        let seq = self.by_origin.remove(&k)?;
        let p = self.items.remove(&seq)?;
        // Its content entry goes too (nothing stale is kept).
        match self.by_content.get_mut(&p.fingerprint) {
            Some(Slot::One(s)) if *s == seq => {
                self.by_content.remove(&p.fingerprint);
            }
            Some(Slot::Many(q)) => {
                q.retain(|&s| s != seq);
                if q.is_empty() {
                    self.by_content.remove(&p.fingerprint);
                }
            }
            _ => {}
        }
        Some((seq, p))
    }

    /// The oldest unmatched transaction with fingerprint `fp` (entries
    /// already taken by origin are passed over).
    fn take_content(&mut self, fp: u128) -> Option<(u64, Box<Pending>)> {
        loop {
            let seq = match self.by_content.get_mut(&fp)? {
                Slot::One(seq) => {
                    let seq = *seq;
                    self.by_content.remove(&fp);
                    seq
                }
                Slot::Many(q) => match q.pop_front() {
                    Some(seq) => seq,
                    None => {
                        self.by_content.remove(&fp);
                        return None;
                    }
                },
            };
            if let Some(p) = self.items.remove(&seq) {
                if let Some(k) = p.origin_key
                    && self.by_origin.get(&k) == Some(&seq)
                {
                    self.by_origin.remove(&k);
                }
                return Some((seq, p));
            }
        }
    }
}

/// A row a discarded transaction inserted: its txid, the table, the row.
type Assigned = (u64, Arc<TableDef>, Row);

/// The origin key of a transaction: a hash of its server id and origin
/// text (none without an origin).
fn origin_key(t: &AppliedTx) -> Option<u128> {
    if t.origin.is_empty() {
        return None;
    }
    let mut h = Xxh3::new();
    h.update(&t.server_id.to_le_bytes());
    h.update(t.origin.as_bytes());
    Some(h.digest128())
}

fn replayer(label: &str, input: impl TxnInput, policy: RecoveryPolicy) -> Result<LogReplayer> {
    let mut r = LogReplayer::from_source(label, input.open(reader_options(policy))?, true);
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

/// The server ids of the log's committed transactions (their BEGINs;
/// nothing is replayed), and the last one.
fn server_ids(input: impl TxnInput, policy: RecoveryPolicy) -> Result<(Vec<u32>, Option<u32>)> {
    let mut txns = input.open(reader_options(policy))?;
    let (mut ids, mut last) = (Vec::new(), None);
    while let Some(ev) = txns.next() {
        if let TxnEvent::Transaction(t) = ev? {
            let id = t.begin.server_id;
            if !ids.contains(&id) {
                ids.push(id);
            }
            last = Some(id);
        }
    }
    Ok((ids, last))
}

/// Builds the failover report of old leader `a` and new leader `b`.
/// `open_b` opens B (B is read up to three times: its server
/// ids, the walk, and, when a discarded transaction inserted rows, its own
/// transactions' inserts). `on_lost` is called for every discarded or
/// diverged transaction of A in log order, `on_reused` for every reused
/// key in B's order.
///
/// Both logs are replayed in step, one transaction of each at a time; a
/// transaction is held only until its match on the other side turns up,
/// so memory is bounded by the two stores, the transactions the logs do
/// not share (the old leader's lost tail, the new leader's own, held as a
/// fingerprint each) and how far the shared ones are apart in the two
/// logs.
pub fn failover<A: TxnInput, B: TxnInput>(
    a: A,
    open_b: &mut dyn FnMut() -> Result<B>,
    opts: &FailoverOptions,
    on_lost: &mut dyn FnMut(&LostTx) -> Result<()>,
    on_reused: &mut dyn FnMut(&ReusedKey) -> Result<()>,
) -> Result<FailoverSummary> {
    let mut s = FailoverSummary::default();
    let (b_servers, b_last) = server_ids(open_b()?, opts.policy)?;
    s.new_leader_server_id = b_last;
    s.origin_matching = !opts.content_only;
    // Origins of server `id` identify transactions only when the new
    // leader's log also holds another server's (its own).
    let trusted = |id: u32| !opts.content_only && b_servers.iter().any(|&x| x != id);
    let mut ra = replayer("A", a, opts.policy)?;
    let mut rb = replayer("B", open_b()?, opts.policy)?;
    s.kind_a = ra.kind();
    s.kind_b = rb.kind();
    let (mut wa, mut wb) = (Window::default(), Window::default());
    // Diverged transactions of A, by sequence number.
    let mut diverged: BTreeMap<u64, LostTx> = BTreeMap::new();
    let mut noted: Vec<u32> = Vec::new();
    let (mut done_a, mut done_b) = (false, false);
    while !(done_a && done_b) {
        if !done_a {
            match ra.apply()? {
                None => done_a = true,
                Some(t) => {
                    let seq = s.transactions_a;
                    s.transactions_a += 1;
                    if let Some(f) = &t.failure {
                        s.failures.push(("A".into(), t.txid, f.clone()));
                    }
                    let ok = trusted(t.server_id);
                    if !ok && !opts.content_only && !noted.contains(&t.server_id) {
                        noted.push(t.server_id);
                        s.origin_matching = false;
                        s.notes.push(format!(
                            "every transaction of the new leader's log carries server id {}, the old leader's: origins are ambiguous, its transactions were matched by content only",
                            t.server_id
                        ));
                    }
                    let key = origin_key(&t).filter(|_| ok);
                    let fp = fingerprint(&t);
                    let lost = |t: &AppliedTx, fate, txid_b| LostTx {
                        fate,
                        txid: t.txid,
                        server_id: t.server_id,
                        origin: t.origin.clone(),
                        lsn: t.lsn,
                        position: t.position.clone(),
                        txid_b,
                        changes: (t.changes.len() + t.ddl.len()) as u64,
                        summary: describe(t),
                    };
                    if let Some((_, pb)) = key.and_then(|k| wb.take_origin(k)) {
                        if pb.fingerprint == fp {
                            s.replicated_by_origin += 1;
                        } else {
                            diverged.insert(seq, lost(&t, Fate::Diverged, Some(pb.txid)));
                        }
                    } else if wb.take_content(fp).is_some() {
                        s.replicated_by_content += 1;
                    } else {
                        let l = lost(&t, Fate::Discarded, None);
                        let inserts = t
                            .changes
                            .into_iter()
                            .filter_map(|c| match c {
                                RowChange::Insert { table, row } => Some((table, row)),
                                _ => None,
                            })
                            .collect();
                        wa.insert(
                            seq,
                            key,
                            Pending {
                                txid: l.txid,
                                server_id: l.server_id,
                                origin: l.origin,
                                lsn: l.lsn,
                                position: l.position,
                                fingerprint: fp,
                                origin_key: None,
                                changes: l.changes,
                                summary: l.summary,
                                inserts,
                            },
                        );
                    }
                }
            }
        }
        if !done_b {
            match rb.apply()? {
                None => done_b = true,
                Some(t) => {
                    let seq = s.transactions_b;
                    s.transactions_b += 1;
                    if let Some(f) = &t.failure {
                        s.failures.push(("B".into(), t.txid, f.clone()));
                    }
                    let key = origin_key(&t).filter(|_| trusted(t.server_id));
                    let fp = fingerprint(&t);
                    if let Some((sa, pa)) = key.and_then(|k| wa.take_origin(k)) {
                        if pa.fingerprint == fp {
                            s.replicated_by_origin += 1;
                        } else {
                            diverged.insert(
                                sa,
                                LostTx {
                                    fate: Fate::Diverged,
                                    txid: pa.txid,
                                    server_id: pa.server_id,
                                    origin: pa.origin,
                                    lsn: pa.lsn,
                                    position: pa.position,
                                    txid_b: Some(t.txid),
                                    changes: pa.changes,
                                    summary: pa.summary,
                                },
                            );
                        }
                    } else if wa.take_content(fp).is_some() {
                        s.replicated_by_content += 1;
                    } else {
                        wb.insert(
                            seq,
                            key,
                            Pending {
                                txid: t.txid,
                                fingerprint: fp,
                                ..Pending::default()
                            },
                        );
                    }
                }
            }
        }
    }
    drop((ra, rb));
    s.diverged = diverged.len() as u64;
    s.discarded = wa.items.len() as u64;
    s.new_leader_own = wb.items.len() as u64;
    // Lost transactions in A's order; the rows the discarded ones inserted.
    let mut assigned: HashMap<(String, Vec<u8>), Assigned> = HashMap::new();
    let mut discarded = std::mem::take(&mut wa.items).into_iter().peekable();
    let mut diverged = diverged.into_iter().peekable();
    loop {
        let take_discarded = match (discarded.peek(), diverged.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(x), Some(y)) => x.0 < y.0,
        };
        if !take_discarded {
            if let Some((_, l)) = diverged.next() {
                on_lost(&l)?;
            }
            continue;
        }
        let Some((_, p)) = discarded.next() else {
            break;
        };
        on_lost(&LostTx {
            fate: Fate::Discarded,
            txid: p.txid,
            server_id: p.server_id,
            origin: p.origin,
            lsn: p.lsn,
            position: p.position,
            txid_b: None,
            changes: p.changes,
            summary: p.summary,
        })?;
        for (table, row) in p.inserts {
            assigned
                .entry((table.qualified_name(), encoded_key(&table, &row)))
                .or_insert((p.txid, table, row));
        }
    }

    // B's own transactions inserting under a discarded key.
    if !assigned.is_empty() && !wb.items.is_empty() {
        let mut rb = replayer("B", open_b()?, opts.policy)?;
        let mut seq = 0u64;
        while let Some(t) = rb.apply()? {
            let own = wb.items.contains_key(&seq);
            seq += 1;
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
                let Some((txid_a, old_def, old_row)) = assigned.get(&k) else {
                    continue;
                };
                if matches!(c, RowChange::Update { before, .. } if encoded_key(def, before) == k.1)
                {
                    // An update of a row the new leader already had under
                    // that key: the key was assigned by an insert.
                    continue;
                }
                let columns = column_diffs(old_def, old_row, def, row);
                if columns.is_empty() {
                    continue;
                }
                s.reused_keys += 1;
                on_reused(&ReusedKey {
                    table: k.0.clone(),
                    key: key_text(def, row),
                    txid_a: *txid_a,
                    row_a: row_text(old_def, old_row),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(txid: u64, fp: u128) -> Pending {
        Pending {
            txid,
            fingerprint: fp,
            ..Pending::default()
        }
    }

    #[test]
    fn window_takes_the_oldest_of_equal_content_and_skips_origin_matches() {
        let mut w = Window::default();
        w.insert(0, Some(100), p(10, 7));
        w.insert(1, Some(101), p(11, 7));
        w.insert(2, Some(102), p(12, 7));
        w.insert(3, None, p(13, 8));
        assert_eq!(w.take_origin(100).map(|x| x.1.txid), Some(10));
        assert!(w.take_origin(100).is_none());
        assert_eq!(w.take_content(7).map(|x| x.1.txid), Some(11));
        assert_eq!(w.take_content(8).map(|x| x.1.txid), Some(13));
        assert!(w.take_content(8).is_none());
        assert_eq!(w.take_content(7).map(|x| x.0), Some(2));
        assert!(w.take_content(7).is_none());
        assert!(w.items.is_empty());
        // Nothing stale is left behind.
        assert!(w.by_origin.is_empty());
        assert!(w.by_content.is_empty());
    }
}
