//! Transactions of a logical decoding stream in commit order, as logical
//! records in a [`TxnArena`].
//!
//! A decoding stream is not one transaction after another: streamed
//! transactions (pgoutput 2+, test_decoding `stream-changes`) arrive in
//! blocks interleaved with others and commit later; prepared transactions
//! (pgoutput 3+) arrive at PREPARE and commit (or roll back) later. Each
//! open transaction's records are encoded as they arrive into the reorder
//! buffer ([`replog_pgreorder`], shared with heap WAL decoding, which
//! moves them to temporary files beyond its memory limit), keyed by the
//! top-level xid; at its commit they are copied into the arena and the
//! transaction is handed over. Aborted streamed
//! transactions, rolled-back subtransactions and rolled-back prepared
//! transactions are dropped and counted.
//!
//! These streams carry no DDL: a RELATION record is put before the first
//! record (in the output, that is in commit order) that uses a relation, or
//! a version of it whose columns differ from the one last put out.

use crate::coltype::ColType;
use replog_core::error::{Error, ErrorKind, Result};
use replog_core::txn::{SourceKind, Transaction, TxnArena};
use replog_core::{Begin, Commit};
use replog_logical::{Column, ColumnType, Relation};
use replog_pgreorder::{Mark, PushError, Reorder};
use std::collections::HashMap;
use std::ops::Range;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
pub use crate::pgoutput::PG_EPOCH_UNIX_US;

/// One column of a relation version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColDef {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: ColType,
    /// Part of the key (replica identity; every column for REPLICA
    /// IDENTITY FULL).
    pub key: bool,
    /// May be NULL: what the stream cannot say is nullable (only the
    /// columns of a primary key or replica identity index are known NOT
    /// NULL).
    pub nullable: bool,
}

/// One version of a relation's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelDef {
    /// Relation id (pgoutput: the table's OID; otherwise assigned in order
    /// of first appearance).
    pub relid: u32,
    /// Version: 1, then one more each time the columns change.
    pub version: u32,
    /// Schema.
    pub schema: String,
    /// Table.
    pub name: String,
    /// Columns.
    pub cols: Vec<ColDef>,
    /// The RELATION record's body.
    encoded: Vec<u8>,
}

impl RelDef {
    fn encode(&mut self) -> std::result::Result<(), String> {
        let rel = Relation {
            relation_id: self.relid,
            schema_version: self.version,
            database: &self.schema,
            table: &self.name,
            columns: self
                .cols
                .iter()
                .map(|c| Column {
                    name: &c.name,
                    ty: ColumnType::Pg(c.ty.pg().into_owned()),
                    nullable: c.nullable,
                    key: c.key,
                    auto_increment: false,
                })
                .collect(),
        };
        self.encoded.clear();
        replog_logical::LogicalRecord::Relation(rel).encode(&mut self.encoded)
    }

    /// `schema.table`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

/// One buffered record: its LSN, the offset of its message and the
/// relations it uses (in the transaction's `rel_refs`).
#[derive(Debug, Clone)]
struct PRec {
    lsn: u64,
    offset: u64,
    rels: Range<usize>,
}

/// An open transaction's state besides its records.
#[derive(Debug, Default)]
struct Pending {
    rel_refs: Vec<(u32, u32)>,
    /// (subxid, where the transaction stood before its first change,
    /// relation references before it).
    subxacts: Vec<(u32, Mark, usize)>,
    begin_offset: u64,
    begin_lsn: Option<u64>,
    origin: Option<String>,
    gid: Option<String>,
}

/// What the assembler counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Transactions handed over.
    pub committed: u64,
    /// Streamed transactions aborted (whole).
    pub aborted: u64,
    /// Subtransactions of streamed transactions rolled back.
    pub aborted_subxacts: u64,
    /// Prepared transactions rolled back.
    pub rolled_back_prepared: u64,
    /// Row changes (insert, update, delete) handed over.
    pub changes: u64,
    /// Transactions still open (or prepared) at the end.
    pub open_at_end: u64,
    /// Bytes of open transactions' records moved to temporary files
    /// (beyond the reorder buffer's memory limit).
    pub spilled_bytes: u64,
    /// Transactions (partly) moved to temporary files.
    pub spilled_transactions: u64,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} committed transaction(s), {} row change(s); {} streamed transaction(s) \
             aborted, {} subtransaction(s) rolled back, {} prepared transaction(s) rolled \
             back, {} open at the end",
            self.committed,
            self.changes,
            self.aborted,
            self.aborted_subxacts,
            self.rolled_back_prepared,
            self.open_at_end
        )
    }
}

/// Where a record comes from.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    /// Its top-level transaction.
    pub xid: u32,
    /// Its subtransaction (`xid` when not known or the top level).
    pub subxid: u32,
    /// Its LSN (0: not known; the commit LSN is used).
    pub lsn: u64,
    /// Absolute offset of the message it comes from.
    pub offset: u64,
}

/// Commit facts of a transaction to hand over.
#[derive(Debug, Clone, Copy)]
pub struct CommitInfo {
    /// Transaction id.
    pub xid: u32,
    /// LSN of the commit record.
    pub commit_lsn: u64,
    /// LSN just past it.
    pub end_lsn: u64,
    /// Commit time, µs since the Unix epoch.
    pub time_us: i64,
    /// Absolute offset of the message that committed it.
    pub offset: u64,
}

/// The assembler (see the module docs).
#[derive(Debug, Default)]
pub struct Assembler {
    current: HashMap<u32, u32>,
    versions: HashMap<(u32, u32), RelDef>,
    by_name: HashMap<(String, String), u32>,
    next_relid: u32,
    emitted: HashMap<u32, u32>,
    /// Open and prepared transactions.
    txns: Reorder<PRec, Pending>,
    arena: TxnArena,
    head: Option<Transaction<'static>>,
    /// What was counted.
    pub counts: Counts,
    origin: String,
}

impl Assembler {
    /// An empty assembler.
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// Declares relation `relid` with these columns (pgoutput's Relation);
    /// returns its version (a new one when the columns changed).
    pub fn relation(
        &mut self,
        relid: u32,
        schema: &str,
        name: &str,
        cols: Vec<ColDef>,
        at: u64,
    ) -> Result<u32> {
        if let Some(&v) = self.current.get(&relid)
            && let Some(d) = self.versions.get(&(relid, v))
            && d.schema == schema
            && d.name == name
            && d.cols == cols
        {
            return Ok(v);
        }
        let version = self.current.get(&relid).map_or(1, |v| v + 1);
        let mut def = RelDef {
            relid,
            version,
            schema: schema.to_string(),
            name: name.to_string(),
            cols,
            encoded: Vec::new(),
        };
        def.encode()
            .map_err(|m| Error::malformed(at, format!("relation {}: {m}", def.qualified())))?;
        self.current.insert(relid, version);
        self.versions.insert((relid, version), def);
        Ok(version)
    }

    /// The relation a stream without OIDs (test_decoding, wal2json) names
    /// `schema.name` with these columns: its id is assigned at first sight.
    pub fn relation_by_name(
        &mut self,
        schema: &str,
        name: &str,
        cols: Vec<ColDef>,
        at: u64,
    ) -> Result<(u32, u32)> {
        let key = (schema.to_string(), name.to_string());
        let relid = match self.by_name.get(&key) {
            Some(&r) => r,
            None => {
                self.next_relid += 1;
                self.by_name.insert(key, self.next_relid);
                self.next_relid
            }
        };
        // Streams without OIDs describe columns with each change: a change
        // naming fewer columns than known (wal2json skips none, test_decoding
        // none) is still the same version when names and types agree.
        let v = self.relation(relid, schema, name, cols, at)?;
        Ok((relid, v))
    }

    /// The current version of the relation a stream without OIDs names
    /// `schema.name`.
    pub fn by_name(&self, schema: &str, name: &str) -> Option<&RelDef> {
        let id = self
            .by_name
            .iter()
            .find(|((s, n), _)| s == schema && n == name)?
            .1;
        self.current(*id)
    }

    /// The current version of relation `relid`.
    pub fn current(&self, relid: u32) -> Option<&RelDef> {
        let v = self.current.get(&relid)?;
        self.versions.get(&(relid, *v))
    }

    /// Holds at most `bytes` of open transactions' records in memory;
    /// beyond, the largest go to temporary files (default
    /// [`replog_pgreorder::DEFAULT_LIMIT`]).
    pub fn set_spill_limit(&mut self, bytes: usize) {
        self.txns.set_limit(bytes);
    }

    /// Opens transaction `xid` (Begin, Begin Prepare, a stream's first
    /// block). Opening one already open keeps it.
    pub fn begin(&mut self, xid: u32, offset: u64) {
        if !self.txns.is_open(xid) {
            self.txns.open(xid).extra.begin_offset = offset;
        }
    }

    /// Whether `xid` is open.
    pub fn is_open(&self, xid: u32) -> bool {
        self.txns.is_open(xid)
    }

    /// Sets the origin of transaction `xid`.
    pub fn set_origin(&mut self, xid: u32, origin: &str) {
        if let Some(p) = self.txns.get_mut(xid) {
            p.extra.origin = Some(origin.to_string());
        }
    }

    /// Appends a record to open transaction `xid` (changes of subtransaction
    /// `subxid`, for streamed ones), encoded by `encode`, that uses the
    /// relations `rels` (id, version).
    pub fn push(
        &mut self,
        place: Place,
        rels: &[(u32, u32)],
        change: bool,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let Place {
            xid,
            subxid,
            lsn,
            offset,
        } = place;
        let p = self.txns.get_mut(xid).ok_or_else(|| {
            Error::malformed(
                offset,
                format!(
                    "a change of transaction {xid}, which is not open (no Begin or Stream Start)"
                ),
            )
        })?;
        if subxid != xid && !p.extra.subxacts.iter().any(|s| s.0 == subxid) {
            let (mark, refs) = (p.mark(), p.extra.rel_refs.len());
            p.extra.subxacts.push((subxid, mark, refs));
        }
        let r0 = p.extra.rel_refs.len();
        let meta = PRec {
            lsn,
            offset,
            rels: r0..r0 + rels.len(),
        };
        let pushed = self.txns.push(xid, meta, encode);
        let stats = self.txns.stats();
        self.counts.spilled_bytes = stats.spilled_bytes;
        self.counts.spilled_transactions = stats.spilled_transactions;
        match pushed {
            Err(PushError::Encode(e)) => return Err(e),
            Err(PushError::Spill(e)) => return Err(spill_error(offset, e)),
            Ok(_) => {}
        }
        if let Some(p) = self.txns.get_mut(xid) {
            p.extra.begin_lsn.get_or_insert(lsn);
            p.extra.rel_refs.extend_from_slice(rels);
        }
        if change {
            self.counts.changes += 1;
        }
        Ok(())
    }

    /// Aborts (sub)transaction `subxid` of streamed transaction `xid`:
    /// the whole when they are equal, else the subtransaction's changes
    /// and every change after them.
    pub fn abort(&mut self, xid: u32, subxid: u32, offset: u64) -> Result<()> {
        if xid == subxid {
            if self.txns.take(xid).is_some() {
                self.counts.aborted += 1;
            }
            return Ok(());
        }
        if let Some(p) = self.txns.get_mut(xid)
            && let Some(i) = p.extra.subxacts.iter().position(|s| s.0 == subxid)
        {
            let (_, mark, refs) = p.extra.subxacts[i];
            p.extra.rel_refs.truncate(refs);
            p.extra.subxacts.truncate(i);
            self.txns
                .truncate(xid, mark)
                .map_err(|e| spill_error(offset, e))?;
            self.counts.aborted_subxacts += 1;
        }
        Ok(())
    }

    /// Transaction `xid` is prepared as `gid`: it waits for COMMIT PREPARED
    /// or ROLLBACK PREPARED.
    pub fn prepare(&mut self, xid: u32, gid: &str, offset: u64) -> Result<()> {
        let mut p = self.txns.take(xid).ok_or_else(|| {
            Error::malformed(
                offset,
                format!("Prepare of transaction {xid}, which is not open"),
            )
        })?;
        p.extra.gid = Some(gid.to_string());
        self.txns
            .prepare(xid, p)
            .map_err(|e| spill_error(offset, e))
    }

    /// A prepared transaction rolls back.
    pub fn rollback_prepared(&mut self, xid: u32) {
        if self.txns.take_prepared(xid).is_some() {
            self.counts.rolled_back_prepared += 1;
        }
    }

    /// Hands over open transaction `c.xid` (`prepared`: a prepared one).
    /// Returns false when it holds no record (an empty transaction is not
    /// handed over).
    pub fn commit(&mut self, c: CommitInfo, prepared: bool) -> Result<bool> {
        let p = if prepared {
            self.txns.take_prepared(c.xid)
        } else {
            self.txns.take(c.xid)
        };
        let p = p.ok_or_else(|| {
            Error::malformed(
                c.offset,
                format!(
                    "commit of transaction {} at LSN {}, which is not {}",
                    c.xid,
                    crate::pgoutput::lsn_text(c.commit_lsn),
                    if prepared { "prepared" } else { "open" }
                ),
            )
        })?;
        if p.is_empty() {
            return Ok(false);
        }
        // Read back record by record (a spilled one through a window of
        // its file), never whole.
        let (mut recs, p) = p.into_records();
        self.origin.clear();
        use std::fmt::Write;
        let _ = write!(
            self.origin,
            "{} xid {}",
            crate::pgoutput::lsn_text(c.commit_lsn),
            c.xid
        );
        if let Some(g) = &p.gid {
            let _ = write!(self.origin, " gid {g}");
        }
        if let Some(o) = &p.origin {
            let _ = write!(self.origin, " origin {o}");
        }
        self.arena.begin(&self.origin);
        while let Some(rec) = recs.next() {
            let (r, body) = rec.map_err(|e| spill_error(c.offset, e))?;
            let Some(rel_refs) = p.rel_refs.get(r.rels.clone()) else {
                return Err(Error::new(
                    ErrorKind::Mismatch,
                    r.offset,
                    "transaction buffer shorter than its records",
                ));
            };
            for &(relid, v) in rel_refs {
                if self.emitted.get(&relid) != Some(&v) {
                    let def = self.versions.get(&(relid, v)).ok_or_else(|| {
                        Error::new(
                            ErrorKind::Mismatch,
                            r.offset,
                            format!("relation {relid} version {v} unknown"),
                        )
                    })?;
                    let lsn = if r.lsn == 0 { c.commit_lsn } else { r.lsn };
                    self.arena.push(lsn, r.offset, &def.encoded);
                    self.emitted.insert(relid, v);
                }
            }
            let lsn = if r.lsn == 0 { c.commit_lsn } else { r.lsn };
            self.arena.push(lsn, r.offset, body);
        }
        let begin = Begin {
            txid: u64::from(c.xid),
            timestamp_us: c.time_us,
            server_id: 0,
            origin: "",
        };
        let commit = Commit {
            txid: u64::from(c.xid),
            timestamp_us: c.time_us,
            state_before: None,
            state_after: None,
        };
        let mut head = Transaction::new(begin, commit).detached();
        head.begin_lsn = p.begin_lsn.unwrap_or(c.commit_lsn);
        head.begin_offset = p.begin_offset;
        head.commit_lsn = c.commit_lsn;
        head.commit_offset = c.offset;
        head.end_lsn = c.end_lsn;
        head.source = SourceKind::Postgres;
        self.head = Some(head);
        self.counts.committed += 1;
        Ok(true)
    }

    /// A record outside any transaction (a non-transactional message) as a
    /// transaction of its own, with xid 0.
    pub fn standalone(
        &mut self,
        lsn: u64,
        offset: u64,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<()>,
    ) -> Result<bool> {
        const XID: u32 = 0;
        self.txns.take(XID);
        self.begin(XID, offset);
        let place = Place {
            xid: XID,
            subxid: XID,
            lsn,
            offset,
        };
        self.push(place, &[], false, encode)?;
        self.commit(
            CommitInfo {
                xid: XID,
                commit_lsn: lsn,
                end_lsn: lsn,
                time_us: 0,
                offset,
            },
            false,
        )
    }

    /// The transaction handed over last.
    pub fn transaction(&self) -> Option<Transaction<'_>> {
        Some(self.arena.transaction(self.head.as_ref()?))
    }

    /// Forgets the transaction handed over last.
    pub fn clear(&mut self) {
        self.head = None;
    }

    /// Counts transactions still open or prepared (at the end).
    pub fn finish(&mut self) {
        self.counts.open_at_end = self.txns.len() as u64;
    }
}

/// A temporary file of the reorder buffer that cannot be written or read
/// back, while handling the message at `offset`.
fn spill_error(offset: u64, e: std::io::Error) -> Error {
    Error::io(
        e,
        format!("offset {offset}: buffering a transaction in a temporary file"),
    )
}
