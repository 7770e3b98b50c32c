//! The decoder: WAL records in, committed transactions of logical records
//! out.
//!
//! Row changes are decoded as their records are read (so TOAST chunks,
//! which precede the row that points to them, are at hand) and encoded as
//! logical INSERT / UPDATE / DELETE / TRUNCATE bodies into a buffer per
//! transaction id. Subtransactions are tied to their top-level transaction
//! by the records' top-level xid and by ASSIGNMENT records; a
//! subtransaction rolled back (an ABORT record naming it) loses its
//! changes. At COMMIT (or COMMIT PREPARED) the changes of the transaction
//! and of its committed subtransactions are handed out in WAL order; at
//! ABORT they are dropped and counted.

use crate::catalog::{Attr, Catalog, RelInfo};
use crate::heap::{self, Change, OldTuple};
use crate::history::AttrHistory;
use crate::tuple::{Datum, HeapTuple};
use crate::types;
use replog_core::Value;
use replog_logical::TupleBuf;
use replog_logical::{Column, Relation};
use replog_logical::{
    Delete, ImageKind, Insert, LogicalRecord, Message, OldImage, Truncate, Update,
};
use replog_pgtype::varlena::{self, ToastPointer, VarData};
use replog_pgwal::consts::rmgr;
use replog_pgwal::{Lsn, Record};
use std::borrow::Cow;
use std::collections::HashMap;

/// `FirstNormalObjectId`: OIDs and relation files below it are the
/// system's own.
const FIRST_NORMAL_OBJECT_ID: u32 = 16384;

/// PostgreSQL's epoch (2000-01-01) in Unix microseconds.
pub const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

/// Something that could not be decoded, named by relation and LSN.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Undecoded {
    /// Where (the first of them).
    pub lsn: Lsn,
    /// The relation (`schema.table`, or the relation file when unknown).
    pub relation: String,
    /// Why.
    pub reason: String,
    /// How many changes of committed transactions, in a row for this
    /// relation and reason.
    pub count: u64,
    /// Where the last of them is.
    pub last_lsn: Lsn,
}

impl Undecoded {
    fn new(lsn: Lsn, relation: String, reason: String) -> Undecoded {
        Undecoded {
            lsn,
            relation,
            reason,
            count: 1,
            last_lsn: lsn,
        }
    }
}

/// What decoding found besides the transactions.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Transactions committed with row changes (handed out).
    pub committed: u64,
    /// Committed transactions without row changes of user tables.
    pub empty: u64,
    /// Transactions (and prepared transactions) rolled back.
    pub aborted: u64,
    /// Row changes handed out.
    pub changes: u64,
    /// Changes of rolled-back (sub)transactions dropped.
    pub dropped_changes: u64,
    /// TOAST values whose chunks were not in the WAL range of their
    /// transaction (handed out as unchanged).
    pub toast_unknown: u64,
    /// UPDATE/DELETE without a before-image where one was needed
    /// (replica identity NOTHING, or `wal_level=replica`): not handed out.
    pub missing_old: u64,
    /// Changes of committed transactions that could not be decoded.
    pub undecoded: Vec<Undecoded>,
    /// Transactions still open at the end of the WAL (not handed out).
    pub open_at_end: u64,
    /// Rows a table rewrite copied (ALTER COLUMN TYPE, …) into its
    /// transient table's file (`pg_class.relrewrite` set), or wrote without
    /// their tuple for logical decoding in WAL whose other inserts have it
    /// (`wal_level=logical`): no row changes, which logical decoding skips
    /// too.
    pub rewrite_rows: u64,
    /// Bytes of open transactions' changes moved to temporary files
    /// because the buffered changes exceeded the limit.
    pub spilled_bytes: u64,
    /// Transactions that were (partly) moved to temporary files.
    pub spilled_transactions: u64,
    /// The most bytes of changes held in memory for open transactions at
    /// once (after spilling).
    pub peak_buffered: u64,
}

/// One buffered change: its LSN and relation OID (its encoded logical
/// record is in the reorder buffer).
#[derive(Debug, Clone, Copy)]
struct Item {
    lsn: u64,
    rel: u32,
    /// A speculative insertion taken back (super-delete).
    dropped: bool,
}

/// The chunks of one TOAST value seen so far: (chunk_seq, chunk_data).
type Chunks = Vec<(i32, Vec<u8>)>;

/// A transaction's state besides its changes.
#[derive(Debug, Default)]
struct TxnState {
    undecoded: Vec<Undecoded>,
    /// TOAST chunks by (TOAST table OID, chunk_id): (chunk_seq, data).
    toast: HashMap<(u32, u32), Chunks>,
    /// Subtransactions known to belong to this one.
    subxacts: Vec<u32>,
    /// Speculative insertions: (file, block, offset) → index of the change.
    speculative: Vec<(replog_pgwal::RelFileLocator, u32, u16, usize)>,
}

/// One transaction in the reorder buffer.
type TxnBuf = replog_pgreorder::Txn<Item, TxnState>;

/// A committed transaction, ready to be handed out: its changes are read
/// back one at a time ([`Committed::next_change`]), from memory or from
/// the reorder buffer's temporary file, never all at once.
#[derive(Debug)]
pub struct Committed {
    /// Top-level xid.
    pub xid: u32,
    /// LSN of the COMMIT (or COMMIT PREPARED) record.
    pub commit_lsn: Lsn,
    /// Commit time, Unix microseconds.
    pub commit_us: i64,
    /// Where the COMMIT record is: its file and offset (for messages).
    at: (String, u64),
    /// The changes not handed out yet, in WAL order.
    records: replog_pgreorder::Records<Item>,
}

impl Committed {
    /// The next change: relation OID (0 for a TRUNCATE, which names its
    /// relations), WAL LSN of the change and logical record body. An
    /// error when the temporary file cannot be read back.
    pub fn next_change(&mut self) -> Option<replog_core::Result<(u32, u64, &[u8])>> {
        let r = self.records.next()?;
        Some(match r {
            Ok((i, body)) => Ok((i.rel, i.lsn, body)),
            Err(e) => Err(replog_core::Error::io(
                e,
                format!(
                    "{} offset {} (LSN {}): reading transaction {} back from its temporary file",
                    self.at.0, self.at.1, self.commit_lsn, self.xid
                ),
            )),
        })
    }

    /// Changes not handed out yet.
    pub fn len(&self) -> usize {
        self.records.remaining()
    }

    /// No change left.
    pub fn is_empty(&self) -> bool {
        self.records.remaining() == 0
    }

    /// Bytes of its changes that are in a temporary file.
    pub fn spilled(&self) -> u64 {
        self.records.spilled()
    }
}

/// The decoder (see the module docs).
#[derive(Debug)]
pub struct Decoder {
    catalog: Catalog,
    history: AttrHistory,
    /// Each table as decoded at each schema version (shared, not cloned
    /// per change).
    views: HashMap<(u32, u32), std::sync::Arc<RelInfo>>,
    relmap: crate::relmap::RelMap,
    /// Open transactions (and subtransactions) by xid, and prepared ones
    /// waiting for COMMIT/ABORT PREPARED.
    txns: replog_pgreorder::Reorder<Item, TxnState>,
    top_of: HashMap<u32, u32>,
    report: Report,
    /// The change being decoded is in a relation file the table replaced
    /// inside the range (found through `relmap`, not the catalog).
    older_file: bool,
    /// An insert carrying its tuple for logical decoding was seen: the WAL
    /// is `wal_level=logical`, so an insert without is a rewrite's copy.
    logical_wal: bool,
    page: Vec<u8>,
    tuple: TupleBuf,
    old: TupleBuf,
}

/// A decoding error: position and message.
fn fail(rec: &Record<'_>, rel: &str, msg: impl std::fmt::Display) -> replog_core::Error {
    replog_core::Error::malformed(
        rec.offset,
        format!(
            "{} offset {} (LSN {}): {}{}{msg}",
            rec.file,
            rec.offset,
            rec.lsn,
            rel,
            if rel.is_empty() { "" } else { ": " }
        ),
    )
}

impl Decoder {
    /// A decoder using `catalog`.
    pub fn new(catalog: Catalog) -> Decoder {
        Decoder {
            relmap: crate::relmap::RelMap::new(&catalog),
            catalog,
            history: AttrHistory::default(),
            views: HashMap::new(),
            txns: replog_pgreorder::Reorder::new(),
            top_of: HashMap::new(),
            report: Report::default(),
            older_file: false,
            logical_wal: false,
            page: Vec::new(),
            tuple: TupleBuf::new(),
            old: TupleBuf::new(),
        }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// What decoding found so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Counts the transactions still open (call at the end of the WAL).
    pub fn finish(&mut self) -> &Report {
        self.report.open_at_end = self.txns.len() as u64;
        &self.report
    }

    /// Holds at most `bytes` of open transactions' changes in memory;
    /// beyond, the largest transactions' changes go to temporary files
    /// (default [`replog_pgreorder::DEFAULT_LIMIT`]).
    pub fn set_spill_limit(&mut self, bytes: usize) {
        self.txns.set_limit(bytes);
    }

    /// Buffers a change of `xid` encoded by `encode` (nothing is added
    /// when it cannot be encoded).
    fn push(
        &mut self,
        rec: &Record<'_>,
        xid: u32,
        rel: u32,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
    ) -> replog_core::Result<()> {
        push_change(
            &mut self.txns,
            &mut self.report,
            rec,
            String::new,
            xid,
            rel,
            encode,
        )
    }

    /// Decodes with the columns added inside the range left out before
    /// their addition ([`AttrHistory::scan`] of the same WAL).
    pub fn set_history(&mut self, history: AttrHistory) {
        self.history = history;
        self.views.clear();
    }

    /// The table with OID `oid` as it was at WAL position `lsn`: its schema
    /// version and its description.
    pub fn relation_at(&self, oid: u32, lsn: u64) -> Option<(u32, Cow<'_, RelInfo>)> {
        let r = self.catalog.by_oid(oid)?;
        Some(self.history.relation_at(r, lsn))
    }

    fn top(&self, xid: u32) -> u32 {
        let mut x = xid;
        // Chains are one level deep in practice; bounded anyway.
        for _ in 0..8 {
            match self.top_of.get(&x) {
                Some(&t) if t != x => x = t,
                _ => break,
            }
        }
        x
    }

    /// Feeds one record; returns the transaction it commits, if it commits
    /// one with changes.
    pub fn record(&mut self, rec: &Record<'_>) -> replog_core::Result<Option<Committed>> {
        if let Some(top) = rec.body.toplevel_xid {
            if top != 0 && rec.header.xid != 0 && top != rec.header.xid {
                self.assign(top, rec.header.xid);
            }
        }
        self.relmap.observe(rec);
        match rec.header.rmid {
            rmgr::HEAP | rmgr::HEAP2 => {
                self.heap(rec)?;
                Ok(None)
            }
            rmgr::XACT => self.xact(rec),
            rmgr::LOGICALMSG => self.message(rec),
            _ => Ok(None),
        }
    }

    /// A logical message (`pg_logical_emit_message`) of a database of the
    /// catalog: transactional ones join their transaction; the others are
    /// handed out at once, alone, as transaction 0.
    fn message(&mut self, rec: &Record<'_>) -> replog_core::Result<Option<Committed>> {
        if rec.header.info & 0xF0 != 0 {
            return Ok(None);
        }
        let d = rec.main_data();
        let bad = |m: &str| fail(rec, "", format!("logical message: {m}"));
        let db = u32_le(d, 0).ok_or_else(|| bad("too short"))?;
        if !self.catalog.has_database(db) {
            return Ok(None);
        }
        let transactional = *d.get(4).ok_or_else(|| bad("too short"))? != 0;
        let size = |at: usize| {
            d.get(at..at + 8)
                .and_then(|b| usize::try_from(u64::from_le_bytes(b.try_into().ok()?)).ok())
                .ok_or_else(|| bad("too short"))
        };
        let (prefix_len, len) = (size(8)?, size(16)?);
        let prefix = prefix_len
            .checked_add(24)
            .and_then(|end| d.get(24..end))
            .ok_or_else(|| bad("prefix past the record"))?;
        let content = (24 + prefix_len)
            .checked_add(len)
            .and_then(|end| d.get(24 + prefix_len..end))
            .ok_or_else(|| bad("content past the record"))?;
        let prefix = std::str::from_utf8(prefix.strip_suffix(&[0]).unwrap_or(prefix))
            .map_err(|_| bad("prefix is not UTF-8"))?;
        let m = LogicalRecord::Message(Message {
            transactional,
            prefix,
            content,
        });
        if transactional {
            self.push(rec, rec.header.xid, 0, |b| m.encode(b))?;
            return Ok(None);
        }
        let mut bytes = Vec::new();
        m.encode(&mut bytes).map_err(|e| bad(&e))?;
        // Logical decoding delivers a non-transactional message at the end
        // of its record.
        let item = Item {
            lsn: rec.end.0,
            rel: 0,
            dropped: false,
        };
        Ok(Some(Committed {
            xid: 0,
            commit_lsn: rec.end,
            commit_us: 0,
            at: (rec.file.to_string(), rec.offset),
            records: replog_pgreorder::Records::single(item, bytes),
        }))
    }

    fn assign(&mut self, top: u32, sub: u32) {
        if self.top_of.insert(sub, top).is_none() {
            self.txns.open(top).extra.subxacts.push(sub);
        }
    }

    fn xact(&mut self, rec: &Record<'_>) -> replog_core::Result<Option<Committed>> {
        let info = rec.header.info;
        let d = rec.main_data();
        match info & 0x70 {
            // ASSIGNMENT: xtop, nsubxacts, xsub[].
            0x50 => {
                let bad = || fail(rec, "", "ASSIGNMENT record too short");
                let top = u32_le(d, 0).ok_or_else(bad)?;
                let n = u32_le(d, 4).ok_or_else(bad)? as usize;
                let subs = n
                    .checked_mul(4)
                    .and_then(|l| d.get(8..8 + l))
                    .ok_or_else(bad)?;
                for s in subs.chunks_exact(4) {
                    self.assign(top, u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
                }
                Ok(None)
            }
            // PREPARE: the two-phase state (xid at offset 8, subxacts after
            // the fixed header and gid): merged now, kept until the end.
            0x10 => {
                let xid = if rec.header.xid != 0 {
                    rec.header.xid
                } else {
                    u32_le(d, 8).ok_or_else(|| fail(rec, "", "PREPARE record too short"))?
                };
                let buf = self
                    .take_merged(xid, &[])
                    .map_err(|e| spill_error(rec, e))?;
                self.txns
                    .prepare(xid, buf)
                    .map_err(|e| spill_error(rec, e))?;
                Ok(None)
            }
            _ => {
                let Some(end) = replog_pgwal::desc::xact_end(d, info, rec.version) else {
                    return Ok(None);
                };
                let (xid, buf) = if end.twophase_xid != 0 {
                    let x = end.twophase_xid;
                    let mut b = self.txns.take_prepared(x).unwrap_or_default();
                    let rest = self
                        .take_merged(x, end.subxacts)
                        .map_err(|e| spill_error(rec, e))?;
                    merge_into(&mut b, rest).map_err(|e| spill_error(rec, e))?;
                    (x, b)
                } else {
                    let x = rec.header.xid;
                    let b = self
                        .take_merged(x, end.subxacts)
                        .map_err(|e| spill_error(rec, e))?;
                    (x, b)
                };
                if !end.commit {
                    self.report.aborted += 1;
                    self.report.dropped_changes += buf.entries().len() as u64;
                    return Ok(None);
                }
                self.commit(xid, rec, end.timestamp, buf)
            }
        }
    }

    /// Takes the buffers of `xid`, of its known subtransactions and of
    /// `subxacts` (little-endian u32s), merged in WAL order.
    fn take_merged(&mut self, xid: u32, subxacts: &[u8]) -> std::io::Result<TxnBuf> {
        let mut buf = self.txns.take(xid).unwrap_or_default();
        let mut subs = std::mem::take(&mut buf.extra.subxacts);
        subs.extend(
            subxacts
                .chunks_exact(4)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]])),
        );
        for s in subs {
            self.top_of.remove(&s);
            if let Some(b) = self.txns.take(s) {
                merge_into(&mut buf, b)?;
            }
        }
        Ok(buf)
    }

    fn commit(
        &mut self,
        xid: u32,
        rec: &Record<'_>,
        ts: i64,
        buf: TxnBuf,
    ) -> replog_core::Result<Option<Committed>> {
        let (mut records, state) = buf.into_records();
        for u in state.undecoded {
            match self.report.undecoded.last_mut() {
                Some(l) if l.relation == u.relation && l.reason == u.reason => {
                    l.count += u.count;
                    l.last_lsn = u.last_lsn;
                }
                _ => self.report.undecoded.push(u),
            }
        }
        let entries = records.entries_mut();
        entries.retain(|e| !e.meta.dropped);
        if entries.is_empty() {
            self.report.empty += 1;
            return Ok(None);
        }
        // Subtransactions' changes were appended after their parent's.
        entries.sort_by_key(|e| e.meta.lsn);
        self.report.committed += 1;
        self.report.changes += entries.len() as u64;
        Ok(Some(Committed {
            xid,
            commit_lsn: rec.lsn,
            commit_us: ts.saturating_add(PG_EPOCH_UNIX_US),
            at: (rec.file.to_string(), rec.offset),
            records,
        }))
    }

    fn heap(&mut self, rec: &Record<'_>) -> replog_core::Result<()> {
        let xid = rec.header.xid;
        let mut page = std::mem::take(&mut self.page);
        let mut out: replog_core::Result<()> = Ok(());
        let res = heap::changes(rec, &mut page, |c| {
            if let Err(e) = self.change(rec, xid, c) {
                out = Err(e);
                return Err(String::new());
            }
            Ok(())
        });
        self.page = page;
        out?;
        res.map_err(|m| {
            let rel = rec
                .block(0)
                .map(|b| match self.rel_for_file(b.header.rel) {
                    Some(r) => r.qualified_name(),
                    None => format!("relation file {}", b.header.rel),
                })
                .unwrap_or_default();
            fail(rec, &rel, m)
        })
    }

    /// The relation whose file `loc` is: by the catalog file, or by a
    /// `pg_class` change seen in the range.
    fn rel_for_file(&self, loc: replog_pgwal::RelFileLocator) -> Option<&RelInfo> {
        self.catalog.by_file(loc).or_else(|| {
            let oid = self.relmap.oid_of(loc.rel)?;
            self.catalog
                .by_oid(oid)
                .filter(|r| r.db == loc.db && r.spc == loc.spc)
        })
    }

    fn change(&mut self, rec: &Record<'_>, xid: u32, c: Change<'_>) -> replog_core::Result<()> {
        let loc = match c {
            Change::SuperDelete { rel, block, off } => {
                if let Some(buf) = self.txns.get_mut(xid) {
                    if let Some(i) = buf
                        .extra
                        .speculative
                        .iter()
                        .position(|s| (s.0, s.1, s.2) == (rel, block, off))
                    {
                        let (.., item) = buf.extra.speculative.swap_remove(i);
                        if let Some(it) = buf.metas_mut().nth(item) {
                            it.dropped = true;
                        }
                    }
                }
                return Ok(());
            }
            Change::Insert { rel, .. }
            | Change::Update { rel, .. }
            | Change::Delete { rel, .. }
            | Change::Undecodable { rel, .. } => rel,
            Change::Truncate {
                relids,
                cascade,
                restart,
                ..
            } => {
                let mut ids = Vec::new();
                for r in relids.chunks_exact(4) {
                    let oid = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
                    match self.catalog.by_oid(oid) {
                        Some(info) if !info.is_system() && info.relkind != b't' => ids.push(oid),
                        Some(_) => {}
                        None => {
                            let u = Undecoded::new(
                                rec.lsn,
                                format!("OID {oid}"),
                                "TRUNCATE of a relation not in the catalog".into(),
                            );
                            self.txns.open(xid).extra.undecoded.push(u);
                        }
                    }
                }
                if ids.is_empty() {
                    return Ok(());
                }
                let t = LogicalRecord::Truncate(Truncate {
                    cascade,
                    restart_identity: restart,
                    relation_ids: ids,
                });
                return self.push(rec, xid, 0, |b| t.encode(b));
            }
        };
        if self.relmap.is_rewriting(loc.rel) {
            self.report.rewrite_rows += 1;
            return Ok(());
        }
        let Some(info) = self.rel_for_file(loc) else {
            // System catalogs keep files below FirstNormalObjectId (16384)
            // until rewritten; other databases' files are not ours.
            if loc.rel < FIRST_NORMAL_OBJECT_ID || !self.catalog.has_database(loc.db) {
                return Ok(());
            }
            let u = Undecoded::new(
                rec.lsn,
                format!("relation file {loc}"),
                "not in the catalog (created, rewritten or truncated after the catalog was \
                 taken, or the catalog is of another database)"
                    .into(),
            );
            self.txns.open(xid).extra.undecoded.push(u);
            return Ok(());
        };
        if info.is_system() {
            return Ok(());
        }
        let (oid, lsn) = (info.oid, rec.lsn.0);
        let version = self.history.columns_at(oid, lsn).0;
        let info = match self.views.get(&(oid, version)) {
            Some(v) => std::sync::Arc::clone(v),
            None => {
                let v = std::sync::Arc::new(self.history.relation_at(info, lsn).1.into_owned());
                self.views.insert((oid, version), std::sync::Arc::clone(&v));
                v
            }
        };
        if let Change::Insert { logical, .. } = c {
            if logical {
                self.logical_wal = true;
            } else if self.logical_wal {
                // A table rewrite's copy of a row (HEAP_INSERT_NO_LOGICAL).
                self.report.rewrite_rows += 1;
                return Ok(());
            }
        }
        if let Change::Undecodable { reason, .. } = c {
            let u = Undecoded::new(rec.lsn, info.qualified_name(), reason.into());
            self.txns.open(xid).extra.undecoded.push(u);
            return Ok(());
        }
        if info.relkind == b't' {
            if let Change::Insert { new, .. } = c {
                self.toast_chunk(rec, xid, &info, &new)?;
            }
            return Ok(());
        }
        // The table's name, for messages only (not made per change).
        let name = || info.qualified_name();
        let top = self.top(xid);
        self.older_file = self.catalog.by_file(loc).is_none();
        let result = match c {
            Change::Insert { new, .. } => self
                .row(rec, top, xid, &info, &new, false, true)
                .map_err(|m| fail(rec, &name(), m))?
                .then(|| {
                    LogicalRecord::Insert(Insert {
                        relation_id: info.oid,
                        new: self.tuple.as_tuple(),
                    })
                }),
            Change::Update { old, new, .. } => {
                let ok = self
                    .row(rec, top, xid, &info, &new, false, true)
                    .map_err(|m| fail(rec, &name(), m))?;
                let before = match old {
                    Some(o) => self
                        .old_image(rec, top, xid, &info, &o)
                        .map_err(|m| fail(rec, &name(), m))?,
                    None => None,
                };
                ok.then(|| {
                    LogicalRecord::Update(Update {
                        relation_id: info.oid,
                        before: before.map(|kind| OldImage {
                            kind,
                            values: self.old.as_tuple(),
                        }),
                        after: self.tuple.as_tuple(),
                    })
                })
            }
            Change::Delete { old, .. } => match old {
                None => {
                    self.report.missing_old += 1;
                    None
                }
                Some(o) => self
                    .old_image(rec, top, xid, &info, &o)
                    .map_err(|m| fail(rec, &name(), m))?
                    .map(|kind| {
                        LogicalRecord::Delete(Delete {
                            relation_id: info.oid,
                            before: OldImage {
                                kind,
                                values: self.old.as_tuple(),
                            },
                        })
                    }),
            },
            Change::Truncate { .. } | Change::Undecodable { .. } | Change::SuperDelete { .. } => {
                None
            }
        };
        let Some(r) = result else {
            return Ok(());
        };
        if let Change::Insert {
            speculative: Some((block, off)),
            ..
        } = c
        {
            let buf = self.txns.open(xid);
            let at = buf.entries().len();
            buf.extra.speculative.push((loc, block, off, at));
        }
        // Encoded straight into the transaction's buffer.
        push_change(
            &mut self.txns,
            &mut self.report,
            rec,
            name,
            xid,
            info.oid,
            |b| r.encode(b),
        )
    }

    /// Decodes the before-image into `self.old`; its kind, or `None` when
    /// it cannot be used (reported).
    fn old_image(
        &mut self,
        rec: &Record<'_>,
        top: u32,
        xid: u32,
        info: &RelInfo,
        o: &OldTuple<'_>,
    ) -> Result<Option<ImageKind>, String> {
        let kind = if o.key_only {
            ImageKind::Key
        } else {
            ImageKind::Full
        };
        let ok = self.row(rec, top, xid, info, &o.tuple, o.key_only, false)?;
        Ok(ok.then_some(kind))
    }

    /// Decodes `t` into `self.tuple` (or `self.old` when `!into_new`).
    /// With `key_only`, columns outside the replica identity are unchanged.
    /// False when the row cannot be decoded (reported in the transaction).
    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        rec: &Record<'_>,
        top: u32,
        xid: u32,
        info: &RelInfo,
        t: &HeapTuple<'_>,
        key_only: bool,
        into_new: bool,
    ) -> Result<bool, String> {
        let mut datums = Vec::with_capacity(info.attrs.len());
        if let Err(m) = t.datums(info, &mut datums) {
            if !self.older_file {
                return Err(m);
            }
            // A file the table had before it was rewritten or truncated
            // inside the range: its rows may have other column types than
            // the catalog's (damage looks the same: an error either way).
            return Err(format!(
                "{m}; the row is in a relation file the table replaced inside the range \
                 (TRUNCATE, or a rewrite: ALTER COLUMN TYPE, VACUUM FULL, CLUSTER): if a \
                 column's type changed, the catalog, taken after it, does not describe the \
                 row: take the catalog before the change"
            ));
        }
        let mut out = std::mem::take(if into_new {
            &mut self.tuple
        } else {
            &mut self.old
        });
        out.clear();
        let mut failed = None;
        for (a, d) in info.attrs.iter().zip(&datums) {
            if a.dropped {
                // A row written after DROP COLUMN stores NULL there: a value
                // means the row was written while the table had the column,
                // which the stream then carried and whose type the catalog
                // (taken after the drop) no longer has.
                if into_new && failed.is_none() && !matches!(d, Datum::Null | Datum::Missing) {
                    failed = Some(format!(
                        "written before its attribute {} was dropped inside the range \
                         (DROP COLUMN): the row had that column, whose type the catalog, \
                         taken after the drop, no longer has; take the catalog before the \
                         DROP COLUMN",
                        a.num
                    ));
                }
                continue;
            }
            if key_only && !info.ident.contains(&a.num) {
                out.push_unchanged()?;
                continue;
            }
            match self.value(top, xid, a, *d) {
                Ok(Some(v)) if a.named_type.is_some() => {
                    out.push_value(&types::described_value(v))?
                }
                Ok(Some(v)) => out.push_value(&v)?,
                Ok(None) => out.push_unchanged()?,
                Err(m) => {
                    failed = Some(format!("column {}: {m}", a.name));
                    out.push_unchanged()?;
                }
            }
        }
        if into_new {
            self.tuple = out;
        } else {
            self.old = out;
        }
        if let Some(reason) = failed {
            let u = Undecoded::new(rec.lsn, info.qualified_name(), reason);
            self.txns.open(xid).extra.undecoded.push(u);
            return Ok(false);
        }
        Ok(true)
    }

    /// The value of one datum; `None` for a TOAST value whose chunks are
    /// not in the transaction (unchanged / unknown).
    fn value<'d>(
        &mut self,
        top: u32,
        xid: u32,
        a: &Attr,
        d: Datum<'d>,
    ) -> Result<Option<Value<'d>>, String> {
        let ty = types::pg_type(a);
        let bytes = match d {
            Datum::Null => return Ok(Some(Value::Null)),
            Datum::Missing => {
                if !a.has_missing {
                    return Ok(Some(Value::Null));
                }
                let m = a.missing.as_deref().unwrap_or("");
                return types::missing_value(a, m).map(|v| Some(v.into_owned()));
            }
            Datum::Fixed(b) | Datum::CString(b) | Datum::Varlena(b) => b,
        };
        match replog_pgtype::from_datum(&a.name, &ty, bytes, &a.enum_labels) {
            Ok(replog_pgtype::Datum::Value(v)) => Ok(Some(v)),
            Ok(replog_pgtype::Datum::External(p)) => match self.detoast(top, xid, &p)? {
                Some(b) => replog_pgtype::from_payload(&a.name, &ty, Cow::Owned(b), &a.enum_labels)
                    .map(|v| Some(v.into_owned()))
                    .map_err(|e| e.to_string()),
                None => {
                    self.report.toast_unknown += 1;
                    Ok(None)
                }
            },
            Err(e) => Err(e.to_string()),
        }
    }

    /// Reassembles a TOAST value from the chunks its transaction wrote.
    fn detoast(&mut self, top: u32, xid: u32, p: &ToastPointer) -> Result<Option<Vec<u8>>, String> {
        let key = (p.toastrelid, p.valueid);
        let mut chunks = None;
        for x in [xid, top] {
            if let Some(c) = self
                .txns
                .get_mut(x)
                .and_then(|b| b.extra.toast.remove(&key))
            {
                chunks = Some(c);
                break;
            }
        }
        if chunks.is_none() {
            // The chunks may be in another subtransaction of the same top.
            let subs: Vec<u32> = self
                .txns
                .get(top)
                .map(|b| b.extra.subxacts.clone())
                .unwrap_or_default();
            for s in subs {
                if let Some(c) = self
                    .txns
                    .get_mut(s)
                    .and_then(|b| b.extra.toast.remove(&key))
                {
                    chunks = Some(c);
                    break;
                }
            }
        }
        let Some(mut chunks) = chunks else {
            return Ok(None);
        };
        chunks.sort_by_key(|c| c.0);
        let mut data = Vec::with_capacity(p.extsize as usize);
        for (i, (seq, c)) in chunks.iter().enumerate() {
            if usize::try_from(*seq).ok() != Some(i) {
                return Err(format!(
                    "TOAST value {} of relation {}: chunk {i} missing (found chunk_seq {seq})",
                    p.valueid, p.toastrelid
                ));
            }
            data.extend_from_slice(c);
        }
        if data.len() != p.extsize as usize {
            return Err(format!(
                "TOAST value {}: {} bytes of chunks where the pointer says {}",
                p.valueid,
                data.len(),
                p.extsize
            ));
        }
        if !p.compressed() {
            return Ok(Some(data));
        }
        let info = data
            .get(..4)
            .ok_or("compressed TOAST value shorter than its header")?;
        let info = u32::from_le_bytes([info[0], info[1], info[2], info[3]]);
        varlena::decompress(&data[4..], info & 0x3FFF_FFFF, p.method).map(Some)
    }

    fn toast_chunk(
        &mut self,
        rec: &Record<'_>,
        xid: u32,
        info: &RelInfo,
        t: &HeapTuple<'_>,
    ) -> replog_core::Result<()> {
        let name = info.qualified_name();
        let mut datums = Vec::with_capacity(3);
        t.datums(info, &mut datums)
            .map_err(|m| fail(rec, &name, m))?;
        let bad = |m: &str| fail(rec, &name, format!("TOAST chunk: {m}"));
        let (Some(Datum::Fixed(id)), Some(Datum::Fixed(seq)), Some(Datum::Varlena(v))) =
            (datums.first(), datums.get(1), datums.get(2))
        else {
            return Err(bad("not (chunk_id, chunk_seq, chunk_data)"));
        };
        let id = u32::from_le_bytes((*id).try_into().map_err(|_| bad("chunk_id"))?);
        let seq = i32::from_le_bytes((*seq).try_into().map_err(|_| bad("chunk_seq"))?);
        let data = match varlena::var_data(v).map_err(|m| bad(&m))? {
            VarData::Bytes(b) => b.into_owned(),
            VarData::External(_) => return Err(bad("chunk_data is itself external")),
        };
        self.txns
            .open(xid)
            .extra
            .toast
            .entry((info.oid, id))
            .or_default()
            .push((seq, data));
        Ok(())
    }
}

/// Buffers a change of `xid` to relation `rel` (of table `name`, for
/// messages) encoded by `encode` (nothing is added when it cannot be
/// encoded), and notes what the reorder buffer spilled.
fn push_change(
    txns: &mut replog_pgreorder::Reorder<Item, TxnState>,
    report: &mut Report,
    rec: &Record<'_>,
    name: impl FnOnce() -> String,
    xid: u32,
    rel: u32,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), String>,
) -> replog_core::Result<()> {
    let item = Item {
        lsn: rec.lsn.0,
        rel,
        dropped: false,
    };
    let r = txns.push(xid, item, encode);
    let s = txns.stats();
    report.spilled_bytes = s.spilled_bytes;
    report.spilled_transactions = s.spilled_transactions;
    report.peak_buffered = s.peak_buffered;
    match r {
        Ok(_) => Ok(()),
        Err(replog_pgreorder::PushError::Encode(m)) => Err(fail(rec, &name(), m)),
        Err(replog_pgreorder::PushError::Spill(e)) => Err(spill_error(rec, e)),
    }
}

/// A spill file that cannot be written or read back.
fn spill_error(rec: &Record<'_>, e: std::io::Error) -> replog_core::Error {
    replog_core::Error::io(
        e,
        format!(
            "{} offset {} (LSN {}): buffering a transaction in a temporary file",
            rec.file, rec.offset, rec.lsn
        ),
    )
}

fn merge_into(into: &mut TxnBuf, from: TxnBuf) -> std::io::Result<()> {
    let from = into.append(from)?;
    into.extra.undecoded.extend(from.undecoded);
    // A super-delete follows its speculative insert in the same
    // (sub)transaction: pending ones are not carried over.
    into.extra.toast.extend(from.toast);
    into.extra.subxacts.extend(from.subxacts);
    Ok(())
}

fn u32_le(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

/// The RELATION record describing `r` (its columns that are not dropped)
/// as schema version `version`.
pub fn relation_of(r: &RelInfo, version: u32) -> Relation<'_> {
    Relation {
        relation_id: r.oid,
        schema_version: version,
        database: &r.namespace,
        table: &r.name,
        columns: r
            .attrs
            .iter()
            .filter(|a| !a.dropped)
            .map(|a| {
                let mut c = Column::new(&a.name, types::column_type(a));
                // As pgoutput describes the table (and replog-pglogical
                // reads it), so that both routes give the same RELATION:
                // the replica identity's columns are the key (every column
                // for REPLICA IDENTITY FULL); only a primary key's or
                // identity index's columns are NOT NULL (the stream does
                // not carry attnotnull).
                c.key = r.ident.contains(&a.num);
                c.nullable = !c.key || r.replident == b'f';
                c
            })
            .collect(),
    }
}
