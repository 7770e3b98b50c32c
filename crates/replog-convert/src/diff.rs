//! Record-level diff of two logs of the same format.
//!
//! Committed transactions are aligned by txid (both logs are read in step;
//! while txids ascend, a txid missing on one side is a transaction only in
//! the other) and compared record by record, byte for byte (every format
//! has exactly one encoding per record, so equal bytes mean equal records).
//! The first divergent record is described on both sides, with the columns
//! that differ for logical row records. When a log's txids stop ascending,
//! the rest is aligned by position.
//!
//! Memory is bounded by the largest transaction of each side.

use crate::error::{Error, ErrorKind, Result};
use replog_core::reader::ReaderOptions;
use replog_core::record::{RecordView, TableRef, decode_record};
use replog_core::recovery::RecoveryPolicy;
use replog_core::txn::{TxnEvent, TxnInput, TxnSource};
use replog_core::{Format, LogKind};
use replog_logical::{ColumnValue, LogicalRecord};
use serde::Serialize;
use std::collections::HashMap;
use std::ops::Range;

/// How to diff.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// Which damage of either input ends it without an error.
    pub policy: RecoveryPolicy,
}

/// How a transaction compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// Identical on both sides.
    Same,
    /// On both sides, with different records.
    Different,
    /// Only in the first log.
    OnlyA,
    /// Only in the second log.
    OnlyB,
}

impl TxStatus {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            TxStatus::Same => "same",
            TxStatus::Different => "different",
            TxStatus::OnlyA => "only in A",
            TxStatus::OnlyB => "only in B",
        }
    }
}

/// One record, described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordSide {
    /// Its LSN.
    pub lsn: u64,
    /// Its transaction's position in the foreign log it came from
    /// (`file:pos (GTID g)` for a binlog); absent for a replog log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Absolute offset of its frame in its segment file.
    pub offset: u64,
    /// Record type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Table, when the record names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// One-line description.
    pub detail: String,
}

/// A column whose value differs between two row records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnDiff {
    /// `column`, or `before.column` for before-images.
    pub column: String,
    /// Value in A.
    pub a: String,
    /// Value in B.
    pub b: String,
}

/// The first place where the logs differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirstDifference {
    /// Transaction in A.
    pub txid_a: Option<u64>,
    /// Transaction in B.
    pub txid_b: Option<u64>,
    /// Index of the record within the transaction (0 is the BEGIN).
    pub index: u64,
    /// The record in A (none: A has no such record or transaction).
    pub a: Option<RecordSide>,
    /// The record in B.
    pub b: Option<RecordSide>,
    /// Columns that differ (logical row records of the same table).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnDiff>,
}

/// A transaction that is not the same on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxDiff {
    /// How it compares.
    pub status: TxStatus,
    /// Txid in A.
    pub txid_a: Option<u64>,
    /// Txid in B.
    pub txid_b: Option<u64>,
    /// LSN of its BEGIN in A.
    pub lsn_a: Option<u64>,
    /// LSN of its BEGIN in B.
    pub lsn_b: Option<u64>,
    /// Its position in A's foreign log (`file:pos (GTID g)` for a
    /// binlog); absent for a replog log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_a: Option<String>,
    /// Its position in B's foreign log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_b: Option<String>,
    /// Index of the first differing record (Different only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
}

/// What the diff found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffSummary {
    /// Kind of the logs.
    pub kind: Option<LogKind>,
    /// Committed transactions in A.
    pub transactions_a: u64,
    /// Committed transactions in B.
    pub transactions_b: u64,
    /// Identical transactions.
    pub same: u64,
    /// Transactions on both sides with different records.
    pub different: u64,
    /// Transactions only in A.
    pub only_a: u64,
    /// Transactions only in B.
    pub only_b: u64,
    /// Alignment fell back to positions because txids stopped ascending.
    pub positional: bool,
    /// The first divergent record.
    pub first_divergence: Option<FirstDifference>,
    /// State-digest gaps in A (transactions missing before a COMMIT).
    pub state_gaps_a: u64,
    /// State-digest gaps in B.
    pub state_gaps_b: u64,
    /// Txid of an uncommitted tail in A (not compared).
    pub uncommitted_a: Option<u64>,
    /// Txid of an uncommitted tail in B (not compared).
    pub uncommitted_b: Option<u64>,
}

impl DiffSummary {
    /// True when the logs hold the same committed transactions.
    pub fn identical(&self) -> bool {
        self.different == 0 && self.only_a == 0 && self.only_b == 0
    }
}

#[derive(Default)]
struct Tx {
    txid: u64,
    /// The foreign log's position, when it came from one.
    at: Option<String>,
    data: Vec<u8>,
    frames: Vec<(u64, u64, Range<usize>)>,
}

impl Tx {
    fn body(&self, i: usize) -> Option<&[u8]> {
        self.frames.get(i).map(|f| &self.data[f.2.clone()])
    }
    fn lsn(&self) -> u64 {
        self.frames.first().map_or(0, |f| f.0)
    }
}

struct Side {
    label: &'static str,
    txns: Box<dyn TxnSource>,
    kind: Option<LogKind>,
    /// Logical logs: relation id → (table, column names).
    names: HashMap<u32, (String, Vec<String>)>,
    commits: u64,
    last_txid: Option<u64>,
    /// Txids stopped ascending.
    descending: bool,
}

impl Side {
    /// Reads the next committed transaction into `tx` (its BEGIN, records
    /// and COMMIT, as the frames to compare); false at the end.
    fn next(&mut self, tx: &mut Tx) -> Result<bool> {
        while let Some(ev) = self.txns.next() {
            match ev? {
                // A segment of another kind is damage (a discontinuity),
                // reported by the reader.
                TxnEvent::Segment { header, .. } => {
                    self.kind.get_or_insert(header.kind);
                }
                // A state gap is a difference to report, not a reason to
                // stop: its transaction comes next.
                TxnEvent::Damage(d) => crate::error::stop_at_damage(self.label, d)?,
                TxnEvent::Transaction(t) => {
                    tx.txid = t.txid();
                    tx.at = t.foreign_position();
                    tx.data.clear();
                    tx.frames.clear();
                    t.begin.encode(&mut tx.data);
                    tx.frames
                        .push((t.begin_lsn, t.begin_offset, 0..tx.data.len()));
                    for r in t.records() {
                        if r.body.first() == Some(&replog_logical::rtype::RELATION)
                            && self.kind == Some(LogKind::Logical)
                            && let Ok(LogicalRecord::Relation(rel)) =
                                LogicalRecord::decode(r.body, r.body_offset())
                        {
                            self.names.insert(
                                rel.relation_id,
                                (
                                    rel.qualified_name(),
                                    rel.columns.iter().map(|c| c.name.to_string()).collect(),
                                ),
                            );
                        }
                        let s = tx.data.len();
                        tx.data.extend_from_slice(r.body);
                        tx.frames.push((r.lsn, r.offset, s..tx.data.len()));
                    }
                    let s = tx.data.len();
                    t.commit.encode(&mut tx.data);
                    tx.frames
                        .push((t.commit_lsn, t.commit_offset, s..tx.data.len()));
                    self.commits += 1;
                    if self.last_txid.is_some_and(|l| tx.txid <= l) {
                        self.descending = true;
                    }
                    self.last_txid = Some(tx.txid);
                    return Ok(true);
                }
            }
        }
        if let Some(d) = self.txns.intolerable() {
            return Err(crate::error::damaged_log(self.label, d));
        }
        Ok(false)
    }

    fn describe(&self, tx: &Tx, i: usize) -> Option<RecordSide> {
        let (lsn, offset, range) = tx.frames.get(i)?.clone();
        let body = &tx.data[range];
        let (type_name, table, detail) = match self.kind.unwrap_or(LogKind::Statement) {
            LogKind::Statement => view::<replog_statement::StatementFormat>(body, offset),
            LogKind::Logical => view::<replog_logical::LogicalFormat>(body, offset),
            LogKind::Physical => view::<replog_physical::PhysicalFormat>(body, offset),
        };
        let table = table.map(|t| match t {
            Ok(name) => name,
            Err(id) => self
                .names
                .get(&(id as u32))
                .map_or_else(|| format!("rel {id}"), |n| n.0.clone()),
        });
        Some(RecordSide {
            lsn,
            position: tx.at.clone(),
            offset,
            type_name,
            table,
            detail,
        })
    }
}

type Viewed = (String, Option<std::result::Result<String, u64>>, String);

fn view<F: Format>(body: &[u8], offset: u64) -> Viewed {
    match decode_record::<F>(body, offset + 8) {
        Ok(r) => {
            let table = match r.table() {
                Some(TableRef::Name(n)) => Some(Ok(n.to_string())),
                Some(TableRef::Id(id)) => Some(Err(id)),
                None => None,
            };
            (r.type_name().to_string(), table, r.summary())
        }
        Err(e) => ("malformed".into(), None, e.to_string()),
    }
}

/// Columns that differ between two logical row records of the same type
/// and relation.
fn column_diffs(a: &[u8], b: &[u8], names: Option<&(String, Vec<String>)>) -> Vec<ColumnDiff> {
    let (Ok(ra), Ok(rb)) = (LogicalRecord::decode(a, 0), LogicalRecord::decode(b, 0)) else {
        return Vec::new();
    };
    if ra.record_type() != rb.record_type() || ra.relation_id() != rb.relation_id() {
        return Vec::new();
    }
    let ta: Vec<_> = ra.tuples().collect();
    let tb: Vec<_> = rb.tuples().collect();
    let images = ta.len().min(tb.len());
    let mut out = Vec::new();
    for (n, (x, y)) in ta.iter().zip(&tb).enumerate() {
        let (Ok(xs), Ok(ys)) = (x.to_vec(), y.to_vec()) else {
            continue;
        };
        let prefix = if images == 2 && n == 0 { "before." } else { "" };
        for (i, (p, q)) in xs.iter().zip(&ys).enumerate() {
            if p != q {
                let col = names
                    .and_then(|n| n.1.get(i).cloned())
                    .unwrap_or_else(|| format!("@{}", i + 1));
                let show = |c: &ColumnValue<'_>| match c {
                    ColumnValue::Unchanged => "~".to_string(),
                    ColumnValue::Value(v) => v.to_string(),
                };
                out.push(ColumnDiff {
                    column: format!("{prefix}{col}"),
                    a: show(p),
                    b: show(q),
                });
            }
        }
    }
    out
}

/// Compares the logs `a` and `b`, calling `on_tx` for every transaction
/// that is not the same on both sides, in log order.
pub fn diff(
    a: impl TxnInput,
    b: impl TxnInput,
    opts: &DiffOptions,
    on_tx: &mut dyn FnMut(&TxDiff, Option<&FirstDifference>) -> Result<()>,
) -> Result<DiffSummary> {
    let ropts = ReaderOptions {
        policy: opts.policy,
        // State gaps are differences; other damage still stops the diff.
        continue_after_damage: true,
        buffer_size: 0,
    };
    let side = |label, txns| Side {
        label,
        txns,
        kind: None,
        names: HashMap::new(),
        commits: 0,
        last_txid: None,
        descending: false,
    };
    let mut sa = side("A", a.open(ropts)?);
    let mut sb = side("B", b.open(ropts)?);
    let mut s = DiffSummary::default();
    let (mut ta, mut tb) = (Tx::default(), Tx::default());
    let mut has_a = sa.next(&mut ta)?;
    let mut has_b = sb.next(&mut tb)?;
    if let (Some(ka), Some(kb)) = (sa.kind, sb.kind)
        && ka != kb
    {
        return Err(Error::new(
            ErrorKind::Mismatch,
            format!("A is a {ka} log and B a {kb} log; diff compares logs of one format"),
        ));
    }
    s.kind = sa.kind.or(sb.kind);
    loop {
        s.positional |= sa.descending || sb.descending;
        let status = match (has_a, has_b) {
            (false, false) => break,
            (true, false) => TxStatus::OnlyA,
            (false, true) => TxStatus::OnlyB,
            (true, true) if s.positional || ta.txid == tb.txid => TxStatus::Same,
            (true, true) if ta.txid < tb.txid => TxStatus::OnlyA,
            (true, true) => TxStatus::OnlyB,
        };
        let mut first_diff: Option<usize> = None;
        let status = if status == TxStatus::Same {
            let n = ta.frames.len().max(tb.frames.len());
            first_diff = (0..n).find(|&i| ta.body(i) != tb.body(i));
            if first_diff.is_some() {
                TxStatus::Different
            } else {
                TxStatus::Same
            }
        } else {
            status
        };
        let in_a = matches!(
            status,
            TxStatus::Same | TxStatus::Different | TxStatus::OnlyA
        );
        let in_b = matches!(
            status,
            TxStatus::Same | TxStatus::Different | TxStatus::OnlyB
        );
        if status == TxStatus::Same {
            s.same += 1;
        } else {
            match status {
                TxStatus::Different => s.different += 1,
                TxStatus::OnlyA => s.only_a += 1,
                _ => s.only_b += 1,
            }
            let idx = first_diff.unwrap_or(0);
            let new_div = s.first_divergence.is_none().then(|| {
                let columns = match (status, s.kind) {
                    (TxStatus::Different, Some(LogKind::Logical)) => {
                        match (ta.body(idx), tb.body(idx)) {
                            (Some(x), Some(y)) => {
                                let rel = LogicalRecord::decode(x, 0)
                                    .ok()
                                    .and_then(|r| r.relation_id());
                                column_diffs(x, y, rel.and_then(|r| sa.names.get(&r)))
                            }
                            _ => Vec::new(),
                        }
                    }
                    _ => Vec::new(),
                };
                FirstDifference {
                    txid_a: in_a.then_some(ta.txid),
                    txid_b: in_b.then_some(tb.txid),
                    index: idx as u64,
                    a: if in_a { sa.describe(&ta, idx) } else { None },
                    b: if in_b { sb.describe(&tb, idx) } else { None },
                    columns,
                }
            });
            let d = TxDiff {
                status,
                txid_a: in_a.then_some(ta.txid),
                txid_b: in_b.then_some(tb.txid),
                lsn_a: in_a.then(|| ta.lsn()),
                lsn_b: in_b.then(|| tb.lsn()),
                position_a: if in_a { ta.at.clone() } else { None },
                position_b: if in_b { tb.at.clone() } else { None },
                record: first_diff.map(|i| i as u64),
            };
            on_tx(&d, new_div.as_ref())?;
            if new_div.is_some() {
                s.first_divergence = new_div;
            }
        }
        if in_a {
            has_a = sa.next(&mut ta)?;
        }
        if in_b {
            has_b = sb.next(&mut tb)?;
        }
    }
    s.state_gaps_a = sa.txns.state_gaps();
    s.state_gaps_b = sb.txns.state_gaps();
    s.transactions_a = sa.commits;
    s.transactions_b = sb.commits;
    s.uncommitted_a = sa.txns.summary().uncommitted.as_ref().map(|u| u.txid);
    s.uncommitted_b = sb.txns.summary().uncommitted.as_ref().map(|u| u.txid);
    Ok(s)
}
