//! Physical → logical: **logical decoding** of the page engine's WAL.
//!
//! The row changes (schema changes included) are recovered from the page
//! changes alone, with the catalog the pages themselves hold
//! (`formats/store.md` §7): no side channel. The mapping from page changes
//! to row changes is specified in `formats/store.md` §12. This module
//! holds that logic only: pages, nodes, overflow chains, the header and
//! catalog entries are read with the page store's readers
//! (`replog_pagestore::read::PageSource`, implemented here for the pages
//! before and after a transaction).
//!
//! The converter keeps the committed page images, exactly as redo builds
//! them. For every committed WAL transaction it notes the pages the
//! transaction touches, saves their images, redoes the transaction
//! (`replog_physical::redo`) and decodes the difference:
//!
//! 1. **Catalog.** The catalog B+tree's touched leaves are compared before
//!    and after: a new database key is a `CREATE DATABASE`, a new table
//!    entry a `CREATE TABLE` (text rendered from the stored definition), a
//!    removed one a `DROP TABLE`, a changed definition an `ALTER TABLE …
//!    DROP COLUMN / ADD COLUMN` (the operations that turn the old column
//!    list into the new one). Each is a DDL record, followed by a RELATION
//!    for a created or altered table (column names, types, key columns from
//!    the definition). A table whose primary-key tree was replaced by a
//!    fresh empty tree (same definition, no rows) was truncated: a TRUNCATE
//!    record with RESTART IDENTITY.
//! 2. **Rows.** For every table whose tree pages were touched, the
//!    key → row contents of the touched leaves are compared before and
//!    after (overflow chains followed). A row that only moved between pages
//!    (split, merge) is on both sides with the same value and is no change;
//!    a key only before is a DELETE, only after an INSERT, on both sides
//!    with another value an UPDATE — with **full** before-images.
//!
//! Which tree a page belongs to is tracked incrementally: after each
//! transaction the trees it touched are walked from their roots through the
//! touched branch pages only, and a touched leaf not reached that way is
//! confirmed in its previous tree by a key descent. Memory is the store's
//! pages plus the largest transaction (its records and the images of the
//! pages it touches).
//!
//! **Order of the changes.** The WAL does not record statement order. In
//! a transaction the converter writes DDL first (CREATE DATABASE, DROP,
//! CREATE, ALTER), then TRUNCATEs, then the row changes table by table (by
//! table id), each table's in three phases: DELETEs, UPDATEs, INSERTs, each
//! phase in primary-key order; UPDATEs that move a UNIQUE key value to a
//! value another updated row gives up come after that row's UPDATE, and
//! UPDATEs that swap values in a cycle are written as a DELETE (in the
//! first phase) plus an INSERT (in the last; counted and noted). Every key
//! appears at most once per transaction and the rows left after each phase
//! satisfy every key, so a follower applies the changes without a conflict;
//! the state digest is a sum of row hashes (store.md §2), independent of
//! order, so after each COMMIT the follower's digest equals the leader's
//! `state_after` exactly.
//!
//! **Not carried** (page changes hold only the net effect of a
//! transaction): the order of the changes inside a transaction; a row
//! inserted and deleted in the same transaction (no trace); several
//! changes of one row (one UPDATE from the first image to the last); a
//! primary-key change (a DELETE and an INSERT); the DDL statements' own
//! text (rendered from the catalog: `IF NOT EXISTS`, expressions in
//! DEFAULT, comments are gone); the auto-increment counters (the rows carry
//! their values). These are listed in every report
//! ([`FromPhysicalReport::not_carried`]); instances the converter can see
//! (swapped UNIQUE values, an ALTER whose rows are not what its operations
//! give, a definition change no ALTER expresses) are counted and noted.
//!
//! Every COMMIT keeps the WAL's txid, timestamps and digests; the BEGIN its
//! timestamp and server id (origin `0-<server>-<txid>`, as the leader's
//! logical log). The store's creation (transaction 0) carries no change
//! and is not written. As a self-check, each table's decoded changes must
//! account for the change of the table digest its catalog entry holds, and
//! the sum of the table digests must be the COMMIT's `state_after`;
//! differences are noted.

use crate::error::{Error, ErrorKind, Result};
use crate::to_statement::{Note, derived_options};
use replog_core::codec::{self, Cursor};
use replog_core::reader::Summary;
use replog_core::reader::{Damage, LogReader, ReaderOptions, SegmentInput, UncommittedTail};
use replog_core::recovery::RecoveryPolicy;
use replog_core::segment::SegmentHeader;
use replog_core::txn::{Transaction, TxnArena, TxnEvent, TxnReader, TxnSource};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Commit, LogKind, Value};
use replog_logical::{Ddl, LogicalRecord, Truncate};
use replog_pagestore::btree;
use replog_pagestore::catalog::{CatalogKey, decode_entry, decode_entry_head};
use replog_pagestore::page::{Corrupt, Header, LeafValue, NONE, Node, ptype};
use replog_pagestore::read::{OverflowChain, PageSource, read_value};
use replog_physical::page::page_type;
use replog_physical::{PhysicalRecord, redo};
use replog_schema::sql::{push_ident, push_literal, push_string, qualified};
use replog_store::{Column, ColumnDefault, SqlType, TableDef};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

/// How to convert.
#[derive(Debug, Clone, Copy, Default)]
pub struct FromPhysicalOptions {
    /// Which damage of the input ends it without an error.
    pub policy: RecoveryPolicy,
}

/// What the page changes of a physical WAL cannot carry, in every
/// conversion (see the module documentation).
pub const NOT_CARRIED: &[&str] = &[
    "the order of the changes inside a transaction (written by table, then DELETE/UPDATE/INSERT, then key)",
    "rows inserted and deleted in the same transaction (no trace in the pages)",
    "several changes of one row in a transaction (one UPDATE from the first image to the last)",
    "primary-key changes (a DELETE and an INSERT)",
    "the DDL statements' text (rendered from the catalog's table definitions)",
    "auto-increment counters (the rows carry their values)",
];

/// What a physical → logical conversion did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FromPhysicalReport {
    /// Committed WAL transactions decoded (the store's creation included).
    pub transactions: u64,
    /// Transactions written to the logical log.
    pub written: u64,
    /// Page records redone.
    pub page_records: u64,
    /// INSERT records written.
    pub inserts: u64,
    /// UPDATE records written.
    pub updates: u64,
    /// DELETE records written.
    pub deletes: u64,
    /// TRUNCATE records written.
    pub truncates: u64,
    /// DDL records written.
    pub ddl: u64,
    /// RELATION records written.
    pub relations: u64,
    /// UPDATEs written as DELETE + INSERT (UNIQUE values swapped in a cycle).
    pub split_updates: u64,
    /// UPDATEs written after an ALTER because its rows were not what its
    /// operations give.
    pub alter_fixups: u64,
    /// Tables whose definition change no ALTER expresses: dropped,
    /// re-created and refilled.
    pub recreated_tables: u64,
    /// What page changes cannot carry (always the same list).
    pub not_carried: Vec<&'static str>,
    /// Remarks, the first 100.
    pub notes: Vec<Note>,
    /// Remarks in all.
    pub notes_total: u64,
    /// Bytes of input frames read.
    pub input_bytes: u64,
    /// The WAL's page size.
    pub page_size: u32,
    /// Pages in the store at the end.
    pub pages: u64,
    /// The transaction left open at the end of the input, not converted.
    pub uncommitted: Option<UncommittedTail>,
    /// Damage the recovery policy accepted as the end of the input.
    pub damage: Vec<Damage>,
    /// State digest after the last converted transaction.
    pub final_state: Option<u64>,
}

impl FromPhysicalReport {
    /// True when nothing beyond [`NOT_CARRIED`] was noted.
    pub fn exact(&self) -> bool {
        self.notes_total == 0
    }

    fn note(&mut self, lsn: u64, txid: u64, message: String) {
        self.notes_total += 1;
        if self.notes.len() < 100 {
            self.notes.push(Note { lsn, txid, message });
        }
    }
}

/// The physical WAL in `inputs` decoded into logical transactions, one at a
/// time: a [`TxnSource`] of the logical log the conversion stands for
/// (its segment header derived from the WAL's), so every consumer of
/// logical transactions reads a physical log with no file in between.
/// Damage of the WAL is handed over as the reader found it; the report
/// ([`FromPhysicalSource::report`]) grows as transactions are decoded.
pub struct FromPhysicalSource {
    txns: TxnReader,
    conv: Option<Converter>,
    report: FromPhysicalReport,
    opts: Option<WriterOptions>,
    header: SegmentHeader,
    /// The name of the WAL's first segment.
    name: String,
    /// The damage handed over last.
    damage: Option<Damage>,
    current: Option<Transaction<'static>>,
}

impl FromPhysicalSource {
    /// Opens the physical WAL in `inputs`.
    pub fn open(inputs: Vec<SegmentInput>, opts: &FromPhysicalOptions) -> FromPhysicalSource {
        FromPhysicalSource {
            txns: TxnReader::new(LogReader::new(
                inputs,
                ReaderOptions {
                    policy: opts.policy,
                    continue_after_damage: false,
                    buffer_size: 0,
                },
            )),
            conv: None,
            report: FromPhysicalReport {
                not_carried: NOT_CARRIED.to_vec(),
                ..FromPhysicalReport::default()
            },
            opts: None,
            header: WriterOptions::new(LogKind::Logical).header(),
            name: String::new(),
            damage: None,
            current: None,
        }
    }

    /// The writer options of the logical log the conversion stands for,
    /// once the first segment has been read.
    pub fn writer_options(&self) -> Option<&WriterOptions> {
        self.opts.as_ref()
    }

    /// What the conversion did so far.
    pub fn report(&self) -> &FromPhysicalReport {
        &self.report
    }

    /// The report once the WAL is read: input bytes, the uncommitted tail
    /// and the pages counted; fails if the WAL held no valid segment.
    pub fn finish(mut self) -> Result<FromPhysicalReport> {
        let Some(c) = &self.conv else {
            return Err(Error::new(
                ErrorKind::Damage,
                "the input holds no valid segment",
            ));
        };
        let summary = self.txns.summary();
        self.report.input_bytes = summary.frame_bytes;
        self.report.uncommitted = summary.uncommitted.clone();
        self.report.pages = c.pages.pages.len() as u64;
        Ok(self.report)
    }

    /// Checks a segment of the WAL: a physical log, of the first segment's
    /// page size. True for the first one.
    fn segment(&mut self, header: &SegmentHeader, name: &str) -> Result<bool> {
        if header.kind != LogKind::Physical {
            return Err(Error::new(
                ErrorKind::Mismatch,
                format!("{name}: a {} log, not a physical WAL", header.kind),
            ));
        }
        replog_physical::check_header(header).map_err(Error::from)?;
        match &self.conv {
            None => {
                let opts = derived_options(header, LogKind::Logical, b"physical->logical");
                self.header = opts.header();
                self.opts = Some(opts);
                self.report.page_size = header.page_size;
                self.conv = Some(Converter::new(header.page_size as usize));
                Ok(true)
            }
            Some(c) if c.pages.size != header.page_size as usize => Err(Error::new(
                ErrorKind::Mismatch,
                format!(
                    "{name}: {}-byte pages; the log started with {}-byte pages",
                    header.page_size, c.pages.size
                ),
            )
            .at(0, 64)),
            Some(_) => Ok(false),
        }
    }

    fn step(&mut self) -> Option<Result<Step>> {
        let ev = match self.txns.next()? {
            Ok(ev) => ev,
            Err(e) => return Some(Err(e.into())),
        };
        Some(match ev {
            TxnEvent::Segment { header, name, .. } => {
                let (header, name) = (header.clone(), name.to_string());
                match self.segment(&header, &name) {
                    Ok(true) => {
                        self.name = name;
                        Ok(Step::Segment)
                    }
                    Ok(false) => Ok(Step::Again),
                    Err(e) => Err(e),
                }
            }
            TxnEvent::Damage(d) => {
                if d.tolerated {
                    self.report.damage.push(d.clone());
                }
                self.damage = Some(d.clone());
                Ok(Step::Damage)
            }
            TxnEvent::Transaction(tx) => {
                let Some(c) = self.conv.as_mut() else {
                    return Some(Err(Error::new(
                        ErrorKind::Malformed,
                        "frame before any segment",
                    )));
                };
                let r = &mut self.report;
                match c.transaction(&tx, r) {
                    Err(e) => Err(e),
                    Ok(wrote) => {
                        r.transactions += 1;
                        r.page_records += tx.records().len() as u64;
                        if tx.commit.state_after.is_some() {
                            r.final_state = tx.commit.state_after;
                        }
                        if wrote {
                            self.current = Some(tx.detached());
                            Ok(Step::Transaction)
                        } else {
                            Ok(Step::Again)
                        }
                    }
                }
            }
        })
    }
}

/// What one event of the WAL became.
enum Step {
    Segment,
    Damage,
    Transaction,
    Again,
}

impl std::fmt::Debug for FromPhysicalSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FromPhysicalSource")
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl TxnSource for FromPhysicalSource {
    fn next(&mut self) -> Option<replog_core::Result<TxnEvent<'_>>> {
        self.current = None;
        loop {
            match self.step()? {
                Err(e) => return Some(Err(e.into())),
                Ok(Step::Again) => {}
                Ok(Step::Segment) => {
                    return Some(Ok(TxnEvent::Segment {
                        index: 0,
                        name: &self.name,
                        header: &self.header,
                    }));
                }
                Ok(Step::Damage) => return self.damage.as_ref().map(|d| Ok(TxnEvent::Damage(d))),
                Ok(Step::Transaction) => {
                    return self.current().map(|t| Ok(TxnEvent::Transaction(t)));
                }
            }
        }
    }

    fn current(&self) -> Option<Transaction<'_>> {
        let head = self.current?;
        Some(self.conv.as_ref()?.arena.transaction(&head))
    }

    fn kind(&self) -> Option<LogKind> {
        self.conv.as_ref().map(|_| LogKind::Logical)
    }

    fn summary(&self) -> &Summary {
        self.txns.summary()
    }

    fn intolerable(&self) -> Option<&Damage> {
        self.txns.intolerable()
    }

    fn at_end(&self) -> bool {
        self.txns.at_end()
    }
}

/// Converts the physical WAL in `inputs` to a native logical log written to
/// `out` (one segment). Returns the report and `out`, flushed.
pub fn physical_to_logical<W: Write>(
    inputs: Vec<SegmentInput>,
    opts: &FromPhysicalOptions,
    out: W,
) -> Result<(FromPhysicalReport, W)> {
    let mut source = FromPhysicalSource::open(inputs, opts);
    let mut out = Some(out);
    let mut w = None;
    while let Some(ev) = source.next() {
        match ev? {
            TxnEvent::Segment { .. } => {
                let o = source.writer_options().cloned();
                let (Some(o), Some(out)) = (o, out.take()) else {
                    continue;
                };
                w = Some(LogWriter::new(out, &o)?);
            }
            TxnEvent::Damage(d) => crate::error::stop_unless_tolerated(d)?,
            TxnEvent::Transaction(t) => {
                let Some(w) = w.as_mut() else { continue };
                w.write_transaction(&t)?;
            }
        }
    }
    crate::error::stop_if_intolerable(source.intolerable())?;
    let report = source.finish()?;
    let w = w.ok_or_else(|| Error::new(ErrorKind::Damage, "the input holds no valid segment"))?;
    Ok((report, w.finish()?))
}

/// [`physical_to_logical`] of a WAL held in memory; returns the logical log.
pub fn physical_bytes_to_logical(
    wal: Vec<u8>,
    opts: &FromPhysicalOptions,
) -> Result<(Vec<u8>, FromPhysicalReport)> {
    let (r, out) = physical_to_logical(
        vec![SegmentInput::memory("<memory>", wal)],
        opts,
        Vec::new(),
    )?;
    Ok((out, r))
}

// ----- pages ---------------------------------------------------------------

/// The catalog tree's owner id; a table's trees are `id << 8 | 2` (primary
/// key) and `id << 8 | (3 + i)` (unique key `i`); 0 is no tree.
const CATALOG: u64 = 1;

fn pk_owner(id: u64) -> u64 {
    (id << 8) | 2
}

fn uk_owner(id: u64, i: usize) -> u64 {
    (id << 8) | (3 + i as u64)
}

fn owner_table(o: u64) -> Option<u64> {
    (o >= 256).then_some(o >> 8)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Before,
    After,
}

/// The committed pages, the images of the pages the current transaction
/// touched as they were before it, and which tree every page belongs to.
struct Pages {
    size: usize,
    pages: Vec<Vec<u8>>,
    /// Tree of each page (as of the end of the previous transaction, then
    /// updated by the walks).
    owner: Vec<u64>,
    /// For an overflow page: the leaf holding the cell whose chain it is in.
    ovf_leaf: Vec<u32>,
    /// `gen` when touched by the current transaction.
    stamp: Vec<u64>,
    /// Index into `touched` / `before` for a touched page.
    slot: Vec<u32>,
    /// `gen` when reached by a walk of the current transaction.
    reach: Vec<u64>,
    tx_gen: u64,
    touched: Vec<u32>,
    /// Images of the touched pages before the transaction (only for the
    /// catalog's and primary-key trees' pages).
    before: Vec<Option<Vec<u8>>>,
    before_type: Vec<u8>,
    before_owner: Vec<u64>,
    pool: Vec<Vec<u8>>,
}

fn corrupt(e: Corrupt, txid: u64, lsn: u64) -> Error {
    Error::new(
        ErrorKind::Malformed,
        format!("the pages after transaction {txid} are damaged: {e}"),
    )
    .at(lsn, 0)
}

impl Pages {
    fn new(size: usize) -> Pages {
        Pages {
            size,
            pages: Vec::new(),
            owner: Vec::new(),
            ovf_leaf: Vec::new(),
            stamp: Vec::new(),
            slot: Vec::new(),
            reach: Vec::new(),
            tx_gen: 0,
            touched: Vec::new(),
            before: Vec::new(),
            before_type: Vec::new(),
            before_owner: Vec::new(),
            pool: Vec::new(),
        }
    }

    #[inline]
    fn is_touched(&self, p: u32) -> bool {
        self.stamp.get(p as usize) == Some(&self.tx_gen)
    }

    #[inline]
    fn page(&self, side: Side, p: u32) -> Option<&[u8]> {
        if side == Side::Before && self.is_touched(p) {
            let s = *self.slot.get(p as usize)? as usize;
            return self.before.get(s)?.as_deref();
        }
        self.pages.get(p as usize).map(Vec::as_slice)
    }

    /// The pages on one side of the transaction, for the page store's
    /// readers.
    #[inline]
    fn view(&self, side: Side) -> View<'_> {
        View { pages: self, side }
    }

    fn ptype(&self, side: Side, p: u32) -> u8 {
        if side == Side::Before && self.is_touched(p) {
            let s = self.slot.get(p as usize).copied().unwrap_or(u32::MAX) as usize;
            return self.before_type.get(s).copied().unwrap_or(ptype::FREE);
        }
        self.page(side, p).map_or(ptype::FREE, page_type)
    }

    /// Starts a transaction: forgets the previous one's images.
    fn start(&mut self) {
        self.tx_gen += 1;
        for b in self.before.drain(..).flatten() {
            self.pool.push(b);
        }
        self.touched.clear();
        self.before_type.clear();
        self.before_owner.clear();
    }

    /// Redoes one record found at `at` (marking its page touched, saving
    /// its image).
    fn apply(&mut self, rec: &PhysicalRecord<'_>, at: u64, lsn: u64) -> Result<()> {
        let Some(no) = rec.page() else {
            return Ok(());
        };
        let n = no as usize;
        if n > self.pages.len() {
            let why = if self.pages.is_empty() {
                "the log does not start with the store's creation (a physical log is decoded from an empty store)".to_string()
            } else {
                format!(
                    "page {no} is past the end of the store ({} pages): pages are allocated in order",
                    self.pages.len()
                )
            };
            return Err(Error::new(ErrorKind::Malformed, why).at(lsn, at + 9));
        }
        if !self.is_touched(no) {
            let o = self.owner.get(n).copied().unwrap_or(0);
            // Only the catalog's and the primary-key trees' contents are
            // compared; other pages need their type only.
            let wanted = o == CATALOG || (o >= 256 && o & 0xFF == 2);
            let btype = self.pages.get(n).map_or(ptype::FREE, |p| page_type(p));
            let img = if wanted && n < self.pages.len() {
                let mut b = self.pool.pop().unwrap_or_default();
                let src = &self.pages[n];
                b.resize(src.len(), 0);
                // A node's free space (between its slots and its cells)
                // is never read: copy the rest only.
                let free = match btype {
                    ptype::LEAF | ptype::BRANCH => {
                        Node::new(no, src).map_or(0..0, |n| n.free_space())
                    }
                    _ => 0..0,
                };
                b[..free.start].copy_from_slice(&src[..free.start]);
                b[free.end..].copy_from_slice(&src[free.end..]);
                Some(b)
            } else {
                None
            };
            if n == self.pages.len() {
                self.pages.push(vec![0; self.size]);
                self.owner.push(0);
                self.ovf_leaf.push(NONE);
                self.stamp.push(0);
                self.slot.push(0);
                self.reach.push(0);
            }
            self.stamp[n] = self.tx_gen;
            self.slot[n] = self.touched.len() as u32;
            self.touched.push(no);
            self.before.push(img);
            self.before_type.push(btype);
            self.before_owner.push(self.owner[n]);
        }
        redo(rec, lsn, &mut self.pages[n]).map_err(|e| Error::from(e).prefixed(lsn))?;
        Ok(())
    }

    fn node(&self, side: Side, no: u32) -> std::result::Result<Node<'_>, Corrupt> {
        self.view(side).node(no)
    }

    /// Walks tree `tree` through its touched branch pages, setting owners:
    /// from `root` when it is touched or `force`, and from every touched
    /// branch that was in the tree before and still is (`branches`: the
    /// touched pages that were branches of `tree`), so that a new node
    /// under an untouched root is reached through its touched parent.
    fn walk(
        &mut self,
        tree: u64,
        root: u32,
        force: bool,
        branches: &[u32],
    ) -> std::result::Result<(), Corrupt> {
        if root as usize >= self.pages.len() {
            return Err(Corrupt {
                page: root,
                offset: 0,
                message: "tree root past the end of the store".into(),
            });
        }
        let mut stack = Vec::new();
        if force || self.is_touched(root) {
            stack.push((root, 0usize));
        }
        for &b in branches {
            if b != root && self.ptype(Side::After, b) == ptype::BRANCH && self.in_tree(root, b)? {
                stack.push((b, 1));
            }
        }
        let mut kids = Vec::new();
        while let Some((no, depth)) = stack.pop() {
            btree::depth_check(no, depth)?;
            if self.reach[no as usize] == self.tx_gen && self.owner[no as usize] == tree {
                continue;
            }
            self.owner[no as usize] = tree;
            self.reach[no as usize] = self.tx_gen;
            kids.clear();
            {
                let n = self.node(Side::After, no)?;
                if n.is_leaf() {
                    continue;
                }
                for ci in 0..=n.nslots() {
                    kids.push(n.child_at(ci)?);
                }
            }
            for &c in &kids {
                if c as usize >= self.pages.len() {
                    return Err(Corrupt {
                        page: no,
                        offset: 0,
                        message: format!("child {c} past the end of the store"),
                    });
                }
                self.owner[c as usize] = tree;
                if self.is_touched(c) {
                    stack.push((c, depth + 1));
                }
            }
        }
        Ok(())
    }

    /// Whether node `p` (a leaf, or a branch) is in the tree rooted at
    /// `root` after the transaction.
    fn in_tree(&self, root: u32, p: u32) -> std::result::Result<bool, Corrupt> {
        btree::reaches(self.view(Side::After), root, p)
    }
}

/// One side of a transaction's pages as a [`PageSource`]: after it, the
/// redone pages; before it, the images saved of the pages it touched
/// (those of the catalog and the primary-key trees; another touched
/// page reads as damaged) and the redone pages for the others.
#[derive(Clone, Copy)]
struct View<'a> {
    pages: &'a Pages,
    side: Side,
}

impl<'a> PageSource<'a> for View<'a> {
    fn page_size(self) -> usize {
        self.pages.size
    }

    fn page_count(self) -> u32 {
        self.pages.pages.len() as u32
    }

    #[inline]
    fn page(self, no: u32) -> std::result::Result<&'a [u8], Corrupt> {
        self.pages.page(self.side, no).ok_or_else(|| Corrupt {
            page: no,
            offset: 0,
            message: if (no as usize) < self.pages.pages.len() {
                "the page's image before the transaction was not kept".into()
            } else {
                format!(
                    "page {no} is past the end of the store ({} pages)",
                    self.pages.pages.len()
                )
            },
        })
    }
}

/// Whether a page of the overflow chain at `first` was touched by the
/// transaction (read before it; stops quietly at damage).
fn chain_touched(pages: &Pages, first: u32, len: u32) -> bool {
    OverflowChain::new(pages.view(Side::Before), first, len)
        .map_while(Result::ok)
        .any(|(p, _)| pages.is_touched(p))
}

/// One key whose value differs between the two sides.
struct KeyChange<'a> {
    key: &'a [u8],
    before: Option<Cow<'a, [u8]>>,
    after: Option<Cow<'a, [u8]>>,
}

/// A cell found on a leaf: key, value, the whole cell.
type CellAt<'a> = (&'a [u8], LeafValue<'a>, &'a [u8]);

fn collect_cells<'a>(
    pages: &'a Pages,
    side: Side,
    leaves: &[u32],
    out: &mut Vec<CellAt<'a>>,
) -> std::result::Result<(), Corrupt> {
    // The leaves of one tree hold disjoint key ranges: in the order of
    // their first keys, their cells are in key order.
    let mut nodes: Vec<(&'a [u8], Node<'a>)> = Vec::with_capacity(leaves.len());
    for &no in leaves {
        let n = pages.node(side, no)?;
        if !n.is_leaf() || n.nslots() == 0 {
            continue;
        }
        nodes.push((n.key(0)?, n));
    }
    if nodes.len() > 1 {
        nodes.sort_unstable_by(|a, b| a.0.cmp(b.0));
    }
    for (_, n) in nodes {
        for i in 0..n.nslots() {
            let (k, v, c) = n.entry(i)?;
            // Within a leaf the slots are in key order (checked when the
            // store was built); across leaves, check.
            if i == 0 && out.last().is_some_and(|l| l.0 >= k) {
                return Err(Corrupt {
                    page: n.no,
                    offset: 0,
                    message: "keys out of order, or a key on two leaves of one tree".into(),
                });
            }
            out.push((k, v, c));
        }
    }
    Ok(())
}

/// Compares the key → value contents of `before` leaves (before the
/// transaction) and `after` leaves; `keep_equal` also returns keys whose
/// value did not change.
fn diff_leaves<'a>(
    pages: &'a Pages,
    before: &[u32],
    after: &[u32],
    keep_equal: bool,
) -> std::result::Result<Vec<KeyChange<'a>>, Corrupt> {
    let mut b = Vec::new();
    let mut a = Vec::new();
    collect_cells(pages, Side::Before, before, &mut b)?;
    collect_cells(pages, Side::After, after, &mut a)?;
    let load = |side: Side, v: LeafValue<'a>| -> std::result::Result<Cow<'a, [u8]>, Corrupt> {
        Ok(match v {
            LeafValue::Inline(x) => Cow::Borrowed(x),
            LeafValue::Overflow { .. } => read_value(pages.view(side), v)?,
        })
    };
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < b.len() || j < a.len() {
        // The same cell on both sides: same key, same inline value (an
        // overflow chain may still have changed).
        if !keep_equal
            && let (Some(x), Some(y)) = (b.get(i), a.get(j))
            && x.2 == y.2
            && matches!(x.1, LeafValue::Inline(_))
        {
            i += 1;
            j += 1;
            continue;
        }
        let ord = match (b.get(i), a.get(j)) {
            (Some(x), Some(y)) => x.0.cmp(y.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                out.push(KeyChange {
                    key: b[i].0,
                    before: Some(load(Side::Before, b[i].1)?),
                    after: None,
                });
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(KeyChange {
                    key: a[j].0,
                    before: None,
                    after: Some(load(Side::After, a[j].1)?),
                });
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (vb, va) = (b[i].1, a[j].1);
                let same = match (vb, va) {
                    (LeafValue::Inline(x), LeafValue::Inline(y)) => Some(x == y),
                    (
                        LeafValue::Overflow { len: l1, first: f1 },
                        LeafValue::Overflow { len: l2, first: f2 },
                    ) if l1 == l2 && f1 == f2 => (!chain_touched(pages, f1, l1)).then_some(true),
                    _ => None,
                };
                if same == Some(true) && !keep_equal {
                    i += 1;
                    j += 1;
                    continue;
                }
                let xb = load(Side::Before, vb)?;
                let xa = load(Side::After, va)?;
                if xb != xa || keep_equal {
                    out.push(KeyChange {
                        key: a[j].0,
                        before: Some(xb),
                        after: Some(xa),
                    });
                }
                i += 1;
                j += 1;
            }
        }
    }
    Ok(out)
}

// ----- catalog -------------------------------------------------------------

#[derive(Debug, Clone)]
struct TableState {
    def: TableDef,
    /// The entry's bytes from the definition on (unique roots excluded).
    def_bytes: Vec<u8>,
    pk_root: u32,
    unique_roots: Vec<u32>,
    digest: u64,
    /// Next auto-increment value.
    auto_inc: u64,
    /// `db.table\0`, the row-hash prefix.
    hash_prefix: Vec<u8>,
    /// Relation id and schema version announced in the output.
    rel: Option<(u32, u32)>,
}

fn table_state(b: &[u8], lsn: u64) -> Result<TableState> {
    let e = decode_entry(b, 0).map_err(|e| Error::from(e).prefixed(lsn))?;
    let def_at = decode_entry_head(b, 0)
        .map_err(|e| Error::from(e).prefixed(lsn))?
        .def_at;
    let mut hash_prefix = Vec::new();
    hash_prefix.extend_from_slice(e.def.database.as_bytes());
    hash_prefix.push(b'.');
    hash_prefix.extend_from_slice(e.def.name.as_bytes());
    hash_prefix.push(0);
    Ok(TableState {
        def: e.def,
        def_bytes: b.get(def_at..).unwrap_or_default().to_vec(),
        pk_root: e.pk_root,
        unique_roots: e.unique_roots,
        digest: e.digest,
        auto_inc: e.auto_inc,
        hash_prefix,
        rel: None,
    })
}

/// A catalog key with its value before and after a transaction.
type CatalogChange = (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

/// What a transaction did to one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TableFate {
    Created,
    Altered,
    Recreated,
    Truncated,
    Kept,
}

struct TableTx {
    fate: TableFate,
    /// The definition before an ALTER, with the column mapping.
    alter: Option<(TableDef, Vec<Option<usize>>)>,
    old_digest: u64,
}

// ----- DDL text ------------------------------------------------------------

fn push_type(s: &mut String, t: &SqlType) {
    use std::fmt::Write as _;
    let _ = match t {
        SqlType::Int {
            bytes,
            unsigned,
            boolean,
        } => {
            if *boolean && !*unsigned && *bytes == 1 {
                s.push_str("BOOLEAN");
            } else {
                s.push_str(match bytes {
                    1 => "TINYINT",
                    2 => "SMALLINT",
                    3 => "MEDIUMINT",
                    4 => "INT",
                    _ => "BIGINT",
                });
                if *unsigned {
                    s.push_str(" UNSIGNED");
                }
            }
            Ok(())
        }
        SqlType::Decimal {
            precision,
            scale,
            unsigned,
        } => write!(
            s,
            "DECIMAL({precision},{scale}){}",
            if *unsigned { " UNSIGNED" } else { "" }
        ),
        SqlType::Float => write!(s, "FLOAT"),
        SqlType::Double => write!(s, "DOUBLE"),
        SqlType::Char(n) => write!(s, "CHAR({n})"),
        SqlType::VarChar(n) => write!(s, "VARCHAR({n})"),
        SqlType::Text(n) => write!(
            s,
            "{}",
            match n {
                0..=255 => "TINYTEXT",
                256..=65_535 => "TEXT",
                65_536..=16_777_215 => "MEDIUMTEXT",
                _ => "LONGTEXT",
            }
        ),
        SqlType::Binary(n) => write!(s, "BINARY({n})"),
        SqlType::VarBinary(n) => write!(s, "VARBINARY({n})"),
        SqlType::Blob(n) => write!(
            s,
            "{}",
            match n {
                0..=255 => "TINYBLOB",
                256..=65_535 => "BLOB",
                65_536..=16_777_215 => "MEDIUMBLOB",
                _ => "LONGBLOB",
            }
        ),
        SqlType::Date => write!(s, "DATE"),
        SqlType::Time(f) => fsp(s, "TIME", *f),
        SqlType::DateTime(f) => fsp(s, "DATETIME", *f),
        SqlType::Timestamp(f) => fsp(s, "TIMESTAMP", *f),
        SqlType::Year => write!(s, "YEAR"),
        SqlType::Enum(l) | SqlType::Set(l) => {
            s.push_str(if matches!(t, SqlType::Enum(_)) {
                "ENUM("
            } else {
                "SET("
            });
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                push_string(s, x);
            }
            s.push(')');
            Ok(())
        }
        SqlType::Bit(n) => write!(s, "BIT({n})"),
        SqlType::Json => write!(s, "JSON"),
        SqlType::Other(t) => write!(s, "{t}"),
        SqlType::Pg(_) => write!(s, "{}", t.to_column_type()),
    };
}

fn fsp(s: &mut String, name: &str, f: u8) -> std::fmt::Result {
    use std::fmt::Write as _;
    if f == 0 {
        write!(s, "{name}")
    } else {
        write!(s, "{name}({f})")
    }
}

/// A column definition as CREATE TABLE / ADD COLUMN text.
fn push_column(s: &mut String, c: &Column) -> std::result::Result<(), String> {
    push_ident(s, &c.name);
    s.push(' ');
    push_type(s, &c.ty);
    s.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
    match &c.default {
        ColumnDefault::Missing => {}
        ColumnDefault::Value(Value::Null) => {}
        ColumnDefault::Value(v) => {
            s.push_str(" DEFAULT ");
            push_literal(s, v)?;
        }
        ColumnDefault::CurrentTimestamp => s.push_str(" DEFAULT CURRENT_TIMESTAMP"),
        ColumnDefault::Expression(e) => {
            s.push_str(" DEFAULT (");
            s.push_str(e);
            s.push(')');
        }
    }
    if c.auto_increment {
        s.push_str(" AUTO_INCREMENT");
    }
    Ok(())
}

fn push_col_list(s: &mut String, def: &TableDef, cols: &[usize]) {
    s.push('(');
    for (i, &c) in cols.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        push_ident(s, def.columns.get(c).map_or("?", |c| c.name.as_str()));
    }
    s.push(')');
}

/// `CREATE TABLE` text that gives the store exactly `def` (its version
/// aside).
pub fn create_table_sql(def: &TableDef) -> std::result::Result<String, String> {
    let mut s = String::from("CREATE TABLE ");
    s.push_str(&qualified(&def.database, &def.name));
    s.push_str(" (");
    for (i, c) in def.columns.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        push_column(&mut s, c)?;
    }
    if !def.primary_key.is_empty() {
        s.push_str(", PRIMARY KEY ");
        push_col_list(&mut s, def, &def.primary_key);
    }
    for u in &def.unique_keys {
        s.push_str(", UNIQUE KEY ");
        push_ident(&mut s, &u.name);
        s.push(' ');
        push_col_list(&mut s, def, &u.columns);
    }
    s.push(')');
    Ok(s)
}

/// The ALTER TABLE operations (drops, then adds in column order) that turn
/// `old` into `new`, checked by running the store's rules on the
/// definition; `None` when no sequence of DROP/ADD COLUMN does. Also
/// returns, for each new column, the old column it keeps.
fn alter_plan(old: &TableDef, new: &TableDef) -> Option<(Vec<String>, Vec<Option<usize>>)> {
    let mut src: Vec<Option<usize>> = Vec::with_capacity(new.columns.len());
    let mut next = 0;
    for c in &new.columns {
        match old.columns[next.min(old.columns.len())..]
            .iter()
            .position(|o| o == c)
        {
            Some(k) => {
                src.push(Some(next + k));
                next += k + 1;
            }
            None => src.push(None),
        }
    }
    let mut ops = Vec::new();
    // Simulate the store's ALTER on the definition.
    let mut cols = old.columns.clone();
    let mut pk = old.primary_key.clone();
    let mut uks = old.unique_keys.clone();
    for (i, c) in old.columns.iter().enumerate() {
        if src.contains(&Some(i)) {
            continue;
        }
        let at = cols.iter().position(|x| x.name == c.name)?;
        if pk.contains(&at) || cols.len() == 1 {
            return None;
        }
        cols.remove(at);
        let shift = |i: usize| if i > at { i - 1 } else { i };
        pk = pk.iter().map(|&i| shift(i)).collect();
        uks = uks
            .into_iter()
            .filter_map(|mut u| {
                u.columns = u
                    .columns
                    .iter()
                    .filter(|&&i| i != at)
                    .map(|&i| shift(i))
                    .collect();
                (!u.columns.is_empty()).then_some(u)
            })
            .collect();
        let mut op = String::from("DROP COLUMN ");
        push_ident(&mut op, &c.name);
        ops.push(op);
    }
    for (j, c) in new.columns.iter().enumerate() {
        if src[j].is_some() {
            continue;
        }
        if c.auto_increment || cols.iter().any(|x| x.name.eq_ignore_ascii_case(&c.name)) {
            return None;
        }
        let mut op = String::from("ADD COLUMN ");
        push_column(&mut op, c).ok()?;
        if j == 0 {
            op.push_str(" FIRST");
        } else {
            op.push_str(" AFTER ");
            push_ident(&mut op, &new.columns[j - 1].name);
        }
        ops.push(op);
        cols.insert(j, c.clone());
        let shift = |i: usize| if i >= j { i + 1 } else { i };
        pk = pk.iter().map(|&i| shift(i)).collect();
        for u in &mut uks {
            u.columns = u.columns.iter().map(|&i| shift(i)).collect();
        }
    }
    (cols == new.columns && pk == new.primary_key && uks == new.unique_keys).then_some((ops, src))
}

/// Splits an encoded row into its columns' byte ranges.
fn split_row(b: &[u8], ncols: usize) -> Option<Vec<std::ops::Range<usize>>> {
    let mut c = Cursor::new(b, 0);
    let mut out = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        let s = c.offset() as usize;
        Value::decode(&mut c).ok()?;
        out.push(s..c.offset() as usize);
    }
    c.is_empty().then_some(out)
}

/// Checks that `b` is `ncols` encoded values, exactly.
fn check_row(b: &[u8], ncols: usize) -> bool {
    let mut c = Cursor::new(b, 0);
    for _ in 0..ncols {
        if Value::decode(&mut c).is_err() {
            return false;
        }
    }
    c.is_empty()
}

// ----- the converter ---------------------------------------------------------

struct Converter {
    pages: Pages,
    /// The decoded transaction's logical records.
    arena: TxnArena,
    catalog_root: u32,
    dbs: BTreeSet<String>,
    tables: BTreeMap<u64, TableState>,
    /// Sum of the table digests.
    digest: u64,
    next_rel: u32,
    body: Vec<u8>,
    hash_buf: Vec<u8>,
}

/// One row change ready to be written: before and after images (encoded
/// rows).
enum RowOut<'a> {
    Insert(Cow<'a, [u8]>),
    Update(Cow<'a, [u8]>, Cow<'a, [u8]>),
    Delete(Cow<'a, [u8]>),
}

impl Converter {
    fn new(page_size: usize) -> Self {
        Converter {
            pages: Pages::new(page_size),
            arena: TxnArena::new(),
            catalog_root: NONE,
            dbs: BTreeSet::new(),
            tables: BTreeMap::new(),
            digest: 0,
            next_rel: 1,
            body: Vec::with_capacity(256),
            hash_buf: Vec::with_capacity(256),
        }
    }

    fn root_of(&self, tree: u64) -> Option<u32> {
        if tree == CATALOG {
            return Some(self.catalog_root);
        }
        let t = self.tables.get(&owner_table(tree)?)?;
        let k = tree & 0xFF;
        if k == 2 {
            Some(t.pk_root)
        } else {
            t.unique_roots.get((k - 3) as usize).copied()
        }
    }

    /// Decodes one committed transaction into the arena; false when it
    /// carries nothing to write (the store's creation).
    fn transaction(
        &mut self,
        tx: &Transaction<'_>,
        report: &mut FromPhysicalReport,
    ) -> Result<bool> {
        let (txid, cm, lsn) = (tx.txid(), &tx.commit, tx.commit_lsn);
        let cx = |e: Corrupt| corrupt(e, txid, lsn);
        self.pages.start();
        for r in tx.records() {
            let at = r.body_offset();
            let rec =
                PhysicalRecord::decode(r.body, at).map_err(|e| Error::from(e).prefixed(r.lsn))?;
            match rec.txid() {
                None => {
                    return Err(Error::new(
                        ErrorKind::Malformed,
                        "CHECKPOINT inside a transaction",
                    )
                    .at(r.lsn, r.offset));
                }
                Some(t) if t != txid => {
                    return Err(Error::new(
                        ErrorKind::Malformed,
                        format!("page record of txid {t} inside txid {txid}"),
                    )
                    .at(r.lsn, r.offset + 1));
                }
                Some(_) => self.pages.apply(&rec, at, r.lsn)?,
            }
        }
        let pg = &self.pages;
        // Before: which trees the touched pages were in.
        let mut before_leaves: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut extra: HashMap<u64, BTreeSet<u32>> = HashMap::new();
        let mut touched_trees: BTreeSet<u64> = BTreeSet::new();
        let mut branches: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, &p) in pg.touched.iter().enumerate() {
            let o = pg.before_owner[i];
            let t = pg.ptype(Side::Before, p);
            match t {
                ptype::LEAF | ptype::BRANCH | ptype::OVERFLOW => {
                    if o == 0 {
                        return Err(cx(Corrupt {
                            page: p,
                            offset: 0,
                            message: "a tree page of no known tree".into(),
                        }));
                    }
                    touched_trees.insert(o);
                    if t == ptype::BRANCH {
                        branches.entry(o).or_default().push(p);
                    }
                    if t == ptype::LEAF {
                        before_leaves.entry(o).or_default().push(p);
                    } else if t == ptype::OVERFLOW {
                        let l = pg.ovf_leaf[p as usize];
                        if l != NONE && !pg.is_touched(l) {
                            extra.entry(o).or_default().insert(l);
                        }
                    }
                }
                _ => {}
            }
        }
        // The catalog.
        let new_cat_root = match pg.pages.first() {
            Some(p0) if page_type(p0) == ptype::HEADER => {
                Header::read(p0, pg.size).map_err(cx)?.catalog_root
            }
            _ => NONE,
        };
        let mut after_attr: Vec<u64> = vec![0; pg.touched.len()];
        let mut out_ddl: Vec<(String, String, Option<u64>)> = Vec::new();
        let mut fates: BTreeMap<u64, TableTx> = BTreeMap::new();
        if new_cat_root != NONE
            && (touched_trees.contains(&CATALOG) || new_cat_root != self.catalog_root)
        {
            let force = new_cat_root != self.catalog_root;
            let b = branches.get(&CATALOG).map_or(&[][..], Vec::as_slice);
            self.pages
                .walk(CATALOG, new_cat_root, force, b)
                .map_err(cx)?;
            let pg = &self.pages;
            let mut after_leaves = Vec::new();
            for (i, &p) in pg.touched.iter().enumerate() {
                if pg.ptype(Side::After, p) != ptype::LEAF {
                    continue;
                }
                if pg.reach[p as usize] == pg.tx_gen && pg.owner[p as usize] == CATALOG
                    || pg.reach[p as usize] != pg.tx_gen
                        && pg.before_owner[i] == CATALOG
                        && pg.in_tree(new_cat_root, p).map_err(cx)?
                {
                    after_attr[i] = CATALOG;
                    after_leaves.push(p);
                }
            }
            let ex: Vec<u32> = extra
                .get(&CATALOG)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            let mut bl = before_leaves.get(&CATALOG).cloned().unwrap_or_default();
            bl.extend(&ex);
            after_leaves.extend(&ex);
            let changes: Vec<CatalogChange> = diff_leaves(pg, &bl, &after_leaves, false)
                .map_err(cx)?
                .into_iter()
                .map(|c| {
                    (
                        c.key.to_vec(),
                        c.before.map(Cow::into_owned),
                        c.after.map(Cow::into_owned),
                    )
                })
                .collect();
            self.catalog_root = new_cat_root;
            self.catalog(txid, lsn, changes, &mut out_ddl, &mut fates, report)?;
        }
        // Tables whose pages were touched keep their fate "Kept".
        for &o in &touched_trees {
            if let Some(t) = owner_table(o)
                && self.tables.contains_key(&t)
            {
                let d = self.tables[&t].digest;
                fates.entry(t).or_insert(TableTx {
                    fate: TableFate::Kept,
                    alter: None,
                    old_digest: d,
                });
            }
        }
        // Walk the trees of those tables.
        let walks: Vec<(u64, u32, bool)> = fates
            .iter()
            .filter_map(|(&id, f)| self.tables.get(&id).map(|t| (id, t, f)))
            .flat_map(|(id, t, f)| {
                let force = f.fate != TableFate::Kept;
                std::iter::once((pk_owner(id), t.pk_root, force)).chain(
                    t.unique_roots
                        .iter()
                        .enumerate()
                        .map(move |(i, &r)| (uk_owner(id, i), r, force)),
                )
            })
            .collect();
        for (tree, root, force) in walks {
            let b = branches.get(&tree).map_or(&[][..], Vec::as_slice);
            self.pages.walk(tree, root, force, b).map_err(cx)?;
        }
        // Attribute the touched leaves after the transaction.
        let mut after_leaves: HashMap<u64, Vec<u32>> = HashMap::new();
        {
            let pg = &self.pages;
            for (i, &p) in pg.touched.iter().enumerate() {
                if after_attr[i] != 0 || pg.ptype(Side::After, p) != ptype::LEAF {
                    continue;
                }
                let tree = if pg.reach[p as usize] == pg.tx_gen {
                    pg.owner[p as usize]
                } else {
                    let o = pg.before_owner[i];
                    match self.root_of(o) {
                        Some(r) if o != CATALOG && pg.in_tree(r, p).map_err(cx)? => o,
                        _ => 0,
                    }
                };
                if tree == 0 || tree == CATALOG {
                    return Err(cx(Corrupt {
                        page: p,
                        offset: 0,
                        message: "a leaf that no tree reaches".into(),
                    }));
                }
                after_attr[i] = tree;
                after_leaves.entry(tree).or_default().push(p);
            }
        }
        // Owners of the new leaves (and of their overflow chains).
        let mut ovf: Vec<(u32, u64, u32)> = Vec::new();
        {
            let pg = &self.pages;
            for (i, &p) in pg.touched.iter().enumerate() {
                let tree = after_attr[i];
                if tree == 0 {
                    continue;
                }
                let n = pg.node(Side::After, p).map_err(cx)?;
                for s in 0..n.nslots() {
                    if !n.is_overflow(s) {
                        continue;
                    }
                    if let Ok(LeafValue::Overflow { len, first }) = n.value(s) {
                        let chain = OverflowChain::new(pg.view(Side::After), first, len);
                        ovf.extend(chain.map_while(Result::ok).map(|(q, _)| (q, tree, p)));
                    }
                }
            }
        }
        for (i, &p) in self.pages.touched.clone().iter().enumerate() {
            if after_attr[i] != 0 {
                self.pages.owner[p as usize] = after_attr[i];
            }
        }
        for (q, tree, p) in ovf {
            self.pages.owner[q as usize] = tree;
            self.pages.ovf_leaf[q as usize] = p;
        }

        // ----- write ---------------------------------------------------------
        let mut wrote_any = false;
        let origin = format!("0-{}-{txid}", tx.begin.server_id);
        if txid != 0 || !out_ddl.is_empty() || !fates.is_empty() {
            self.arena.begin(&origin);
            wrote_any = true;
        }
        if !wrote_any {
            // The store's creation: check the digest chain all the same.
            self.check_state(cm, lsn, report);
            return Ok(false);
        }
        // DDL and RELATIONs.
        for (db, sql, rel_for) in &out_ddl {
            self.body.clear();
            LogicalRecord::Ddl(Ddl { database: db, sql })
                .encode(&mut self.body)
                .map_err(|m| Error::new(ErrorKind::CannotConvert, m).at(lsn, 0))?;
            self.arena.push(lsn, 0, &self.body);
            report.ddl += 1;
            if let Some(id) = rel_for {
                self.announce(*id, lsn, report)?;
            }
        }
        // TRUNCATEs.
        for (&id, f) in &fates {
            if f.fate == TableFate::Truncated {
                let rel = self.tables.get(&id).and_then(|t| t.rel).map(|r| r.0);
                let Some(rel) = rel else { continue };
                self.body.clear();
                LogicalRecord::Truncate(Truncate {
                    cascade: false,
                    restart_identity: true,
                    relation_ids: vec![rel],
                })
                .encode(&mut self.body)
                .map_err(|m| Error::new(ErrorKind::CannotConvert, m).at(lsn, 0))?;
                self.arena.push(lsn, 0, &self.body);
                report.truncates += 1;
            }
        }
        // Rows.
        for (&id, f) in &fates {
            if f.fate == TableFate::Truncated {
                let d = self.tables.get(&id).map_or(0, |t| t.digest);
                if d != 0 {
                    report.note(
                        lsn,
                        txid,
                        format!("table {id} looks truncated but its digest is {d:016x}, not 0"),
                    );
                }
                continue;
            }
            let tree = pk_owner(id);
            let mut bl = before_leaves.get(&tree).cloned().unwrap_or_default();
            let mut al = after_leaves.get(&tree).cloned().unwrap_or_default();
            if let Some(e) = extra.get(&tree) {
                bl.extend(e.iter().copied());
                al.extend(e.iter().copied());
            }
            self.rows(id, f, &bl, &al, txid, lsn, report)?;
        }
        report.written += 1;
        self.check_state(cm, lsn, report);
        Ok(true)
    }

    fn check_state(&mut self, cm: &Commit, lsn: u64, report: &mut FromPhysicalReport) {
        if let Some(a) = cm.state_after
            && a != self.digest
        {
            report.note(
                lsn,
                cm.txid,
                format!(
                    "the COMMIT's state_after is {a:016x}, the digests in the pages' catalog sum to {:016x}",
                    self.digest
                ),
            );
        }
    }

    /// Writes the RELATION of table `id` (new id, or a higher version).
    fn announce(&mut self, id: u64, lsn: u64, report: &mut FromPhysicalReport) -> Result<()> {
        let Some(t) = self.tables.get_mut(&id) else {
            return Ok(());
        };
        let (rel, version) = match t.rel {
            Some((r, v)) => (r, t.def.version.max(v + 1)),
            None => {
                let r = self.next_rel;
                self.next_rel += 1;
                (r, t.def.version.max(1))
            }
        };
        t.rel = Some((rel, version));
        self.body.clear();
        LogicalRecord::Relation(t.def.to_relation(rel, version))
            .encode(&mut self.body)
            .map_err(|m| Error::new(ErrorKind::CannotConvert, m).at(lsn, 0))?;
        self.arena.push(lsn, 0, &self.body);
        report.relations += 1;
        Ok(())
    }

    /// Applies the catalog's changes: databases and table entries.
    #[allow(clippy::too_many_arguments)]
    fn catalog(
        &mut self,
        txid: u64,
        lsn: u64,
        changes: Vec<CatalogChange>,
        ddl: &mut Vec<(String, String, Option<u64>)>,
        fates: &mut BTreeMap<u64, TableTx>,
        report: &mut FromPhysicalReport,
    ) -> Result<()> {
        let bad = |m: String| Error::new(ErrorKind::Malformed, m).at(lsn, 0);
        let mut create_db = Vec::new();
        let mut drop_db = Vec::new();
        let mut creates = Vec::new();
        let mut alters = Vec::new();
        for (key, before, after) in changes {
            let parsed = CatalogKey::parse(&key).map_err(|m| {
                bad(format!(
                    "catalog key {:02x?}: {m}",
                    &key[..key.len().min(9)]
                ))
            })?;
            match parsed {
                CatalogKey::Database(name) => {
                    let name = name.to_string();
                    match (before.is_some(), after.is_some()) {
                        (false, true) => {
                            self.dbs.insert(name.clone());
                            create_db.push(name);
                        }
                        (true, false) => {
                            self.dbs.remove(&name);
                            drop_db.push(name);
                        }
                        _ => {}
                    }
                }
                CatalogKey::Table(id) => {
                    if id >= 1 << 56 {
                        return Err(bad(format!("table id {id} out of range")));
                    }
                    match (before, after) {
                        (None, Some(a)) => {
                            let st = table_state(&a, lsn)?;
                            self.digest = self.digest.wrapping_add(st.digest);
                            self.tables.insert(id, st);
                            fates.insert(
                                id,
                                TableTx {
                                    fate: TableFate::Created,
                                    alter: None,
                                    old_digest: 0,
                                },
                            );
                            creates.push(id);
                        }
                        (Some(_), None) => {
                            if let Some(st) = self.tables.remove(&id) {
                                self.digest = self.digest.wrapping_sub(st.digest);
                                let mut s = String::from("DROP TABLE ");
                                s.push_str(&qualified(&st.def.database, &st.def.name));
                                ddl.push((st.def.database.clone(), s, None));
                            }
                        }
                        (Some(_), Some(a)) => {
                            let head = decode_entry_head(&a, 0)
                                .map_err(|e| Error::from(e).prefixed(lsn))?;
                            let Some(old) = self.tables.get(&id) else {
                                return Err(bad(format!(
                                    "table {id} changed but was never created"
                                )));
                            };
                            let old_digest = old.digest;
                            let old_auto_inc = old.auto_inc;
                            let def_changed = a.get(head.def_at..).unwrap_or_default()
                                != old.def_bytes.as_slice();
                            if def_changed {
                                let old_state = old.clone();
                                let mut st = table_state(&a, lsn)?;
                                st.rel = old_state.rel;
                                self.digest =
                                    self.digest.wrapping_sub(old_digest).wrapping_add(st.digest);
                                self.tables.insert(id, st);
                                alters.push((id, old_state));
                            } else {
                                // TRUNCATE empties the table and sets the
                                // counter back to 1; a DELETE never changes it.
                                let truncated =
                                    head.rows == 0 && head.auto_inc == 1 && old_auto_inc != 1;
                                let t =
                                    self.tables.get_mut(&id).ok_or_else(|| bad("gone".into()))?;
                                t.pk_root = head.pk_root;
                                t.unique_roots = head.unique_roots;
                                t.digest = head.digest;
                                t.auto_inc = head.auto_inc;
                                self.digest = self
                                    .digest
                                    .wrapping_sub(old_digest)
                                    .wrapping_add(head.digest);
                                fates.insert(
                                    id,
                                    TableTx {
                                        fate: if truncated {
                                            TableFate::Truncated
                                        } else {
                                            TableFate::Kept
                                        },
                                        alter: None,
                                        old_digest,
                                    },
                                );
                            }
                        }
                        (None, None) => {}
                    }
                }
                // A follower's replication position (store.md §11.3): the
                // store's own bookkeeping, not a change of the data.
                CatalogKey::Position => {}
            }
        }
        // CREATE DATABASE first, then drops (already queued), creates, alters.
        let mut front = Vec::new();
        for db in create_db {
            let mut s = String::from("CREATE DATABASE ");
            push_ident(&mut s, &db);
            front.push((String::new(), s, None));
        }
        ddl.splice(0..0, front);
        for id in creates {
            let t = &self.tables[&id];
            let sql = create_table_sql(&t.def)
                .map_err(|m| Error::new(ErrorKind::CannotConvert, m).at(lsn, 0))?;
            ddl.push((t.def.database.clone(), sql, Some(id)));
        }
        for (id, old) in alters {
            let new = self.tables[&id].clone();
            let db = new.def.database.clone();
            match alter_plan(&old.def, &new.def) {
                Some((ops, src)) => {
                    if !ops.is_empty() {
                        let mut s = String::from("ALTER TABLE ");
                        s.push_str(&qualified(&new.def.database, &new.def.name));
                        s.push(' ');
                        s.push_str(&ops.join(", "));
                        ddl.push((db, s, Some(id)));
                    }
                    fates.insert(
                        id,
                        TableTx {
                            fate: TableFate::Altered,
                            alter: Some((old.def.clone(), src)),
                            old_digest: old.digest,
                        },
                    );
                }
                None => {
                    let mut s = String::from("DROP TABLE ");
                    s.push_str(&qualified(&old.def.database, &old.def.name));
                    ddl.push((db.clone(), s, None));
                    let sql = create_table_sql(&new.def)
                        .map_err(|m| Error::new(ErrorKind::CannotConvert, m).at(lsn, 0))?;
                    ddl.push((db, sql, Some(id)));
                    if let Some(t) = self.tables.get_mut(&id) {
                        t.rel = None;
                    }
                    report.recreated_tables += 1;
                    report.note(
                        lsn,
                        txid,
                        format!(
                            "the definition change of {} is no ALTER TABLE ADD/DROP COLUMN: dropped, re-created and refilled",
                            new.def.qualified_name()
                        ),
                    );
                    fates.insert(
                        id,
                        TableTx {
                            fate: TableFate::Recreated,
                            alter: None,
                            old_digest: old.digest,
                        },
                    );
                }
            }
        }
        for db in drop_db {
            let mut s = String::from("DROP DATABASE ");
            push_ident(&mut s, &db);
            ddl.push((String::new(), s, None));
            report.note(
                lsn,
                txid,
                format!("database {db} was removed from the catalog (DROP DATABASE)"),
            );
        }
        Ok(())
    }

    /// Decodes and writes the row changes of table `id`.
    #[allow(clippy::too_many_arguments)]
    fn rows(
        &mut self,
        id: u64,
        f: &TableTx,
        before: &[u32],
        after: &[u32],
        txid: u64,
        lsn: u64,
        report: &mut FromPhysicalReport,
    ) -> Result<()> {
        let Some(t) = self.tables.get(&id) else {
            return Ok(());
        };
        let Some((rel, _)) = t.rel else {
            if before.is_empty() && after.is_empty() {
                return Ok(());
            }
            return Err(Error::new(
                ErrorKind::CannotConvert,
                format!(
                    "rows of {} before its table was created",
                    t.def.qualified_name()
                ),
            )
            .at(lsn, 0));
        };
        let keep_equal = matches!(f.fate, TableFate::Altered | TableFate::Recreated);
        let pages = &self.pages;
        let cx = |e: Corrupt| corrupt(e, txid, lsn);
        let changes = diff_leaves(pages, before, after, keep_equal).map_err(cx)?;
        let ncols = t.def.columns.len();
        let old_ncols = f.alter.as_ref().map_or(ncols, |(d, _)| d.columns.len());
        let changes = if t.def.primary_key.is_empty() {
            copies(changes, old_ncols, ncols, keep_equal).map_err(|e| e.at(lsn, 0))?
        } else {
            changes
        };
        // Self-check: the changes account for the table digest's change.
        let hash = |buf: &mut Vec<u8>, row: &[u8]| {
            buf.clear();
            buf.extend_from_slice(&t.hash_prefix);
            buf.extend_from_slice(row);
            xxhash_rust::xxh3::xxh3_64(buf)
        };
        let mut delta = 0u64;
        for c in &changes {
            if let Some(b) = &c.before {
                delta = delta.wrapping_sub(hash(&mut self.hash_buf, b));
            }
            if let Some(a) = &c.after {
                delta = delta.wrapping_add(hash(&mut self.hash_buf, a));
            }
        }
        if f.old_digest.wrapping_add(delta) != t.digest {
            report.note(
                lsn,
                txid,
                format!(
                    "the decoded changes of {} do not account for its digest change ({:016x} → {:016x})",
                    t.def.qualified_name(),
                    f.old_digest,
                    t.digest
                ),
            );
        }
        for c in &changes {
            let ok_b = c.before.as_ref().is_none_or(|b| check_row(b, old_ncols));
            let ok_a = c.after.as_ref().is_none_or(|a| check_row(a, ncols));
            if !ok_b || !ok_a {
                return Err(Error::new(
                    ErrorKind::Malformed,
                    format!(
                        "a row of {} in the pages is not {} encoded values",
                        t.def.qualified_name(),
                        if ok_b { ncols } else { old_ncols }
                    ),
                )
                .at(lsn, 0));
            }
        }
        let mut out: Vec<RowOut<'_>> = Vec::new();
        match f.fate {
            TableFate::Recreated | TableFate::Created => {
                for c in changes {
                    if let Some(a) = c.after {
                        out.push(RowOut::Insert(a));
                    }
                }
            }
            TableFate::Altered => {
                let (_, src) =
                    f.alter.as_ref().map(|(d, s)| (d, s)).ok_or_else(|| {
                        Error::new(ErrorKind::CannotConvert, "ALTER without a plan")
                    })?;
                // The value an added column has (the same in every row).
                let mut fill: Vec<Option<Vec<u8>>> = vec![None; ncols];
                if let Some(a) = changes.iter().find_map(|c| c.after.as_ref())
                    && let Some(r) = split_row(a, ncols)
                {
                    for (j, s) in src.iter().enumerate() {
                        if s.is_none() {
                            fill[j] = Some(a[r[j].clone()].to_vec());
                        }
                    }
                }
                let mut fixups = 0u64;
                for c in changes {
                    let predicted = c.before.as_ref().and_then(|b| {
                        let r = split_row(b, old_ncols)?;
                        let mut p = Vec::with_capacity(b.len() + 16);
                        for (j, s) in src.iter().enumerate() {
                            match s {
                                Some(i) => p.extend_from_slice(&b[r.get(*i)?.clone()]),
                                None => p.extend_from_slice(fill[j].as_deref()?),
                            }
                        }
                        Some(p)
                    });
                    match (predicted, c.after) {
                        (Some(p), Some(a)) => {
                            if p[..] != a[..] {
                                fixups += 1;
                                out.push(RowOut::Update(Cow::Owned(p), a));
                            }
                        }
                        (Some(p), None) => out.push(RowOut::Delete(Cow::Owned(p))),
                        (None, Some(a)) => out.push(RowOut::Insert(a)),
                        (None, None) => {
                            if c.before.is_some() {
                                return Err(Error::new(
                                    ErrorKind::Malformed,
                                    "a row that does not split into its columns",
                                )
                                .at(lsn, 0));
                            }
                        }
                    }
                }
                if fixups > 0 {
                    report.alter_fixups += fixups;
                    report.note(
                        lsn,
                        txid,
                        format!(
                            "{fixups} rows of {} after its ALTER are not what the ALTER's operations give: written as UPDATEs after it",
                            t.def.qualified_name()
                        ),
                    );
                }
            }
            TableFate::Truncated | TableFate::Kept => {
                let mut dels = Vec::new();
                let mut ups = Vec::new();
                let mut ins = Vec::new();
                for c in changes {
                    match (c.before, c.after) {
                        (Some(b), None) => dels.push(RowOut::Delete(b)),
                        (None, Some(a)) => ins.push(RowOut::Insert(a)),
                        (Some(b), Some(a)) => ups.push((b, a)),
                        (None, None) => {}
                    }
                }
                let (ups, split) = order_updates(&t.def, ups);
                if !split.is_empty() {
                    report.split_updates += split.len() as u64;
                    report.note(
                        lsn,
                        txid,
                        format!(
                            "{} UPDATEs of {} swap UNIQUE values in a cycle: written as DELETE + INSERT",
                            split.len(),
                            t.def.qualified_name()
                        ),
                    );
                }
                let mut split_ins = Vec::new();
                for (b, a) in split {
                    dels.push(RowOut::Delete(b));
                    split_ins.push(RowOut::Insert(a));
                }
                out.extend(dels);
                out.extend(ups.into_iter().map(|(b, a)| RowOut::Update(b, a)));
                out.extend(ins);
                out.extend(split_ins);
            }
        }
        let (nc, body, arena) = (ncols as u16, &mut self.body, &mut self.arena);
        for r in out {
            body.clear();
            match r {
                RowOut::Insert(a) => {
                    body.push(0x11);
                    codec::put_u32(body, rel);
                    tuple(body, nc, &a)?;
                    report.inserts += 1;
                }
                RowOut::Update(b, a) => {
                    body.push(0x12);
                    codec::put_u32(body, rel);
                    body.push(2);
                    tuple(body, nc, &b)?;
                    tuple(body, nc, &a)?;
                    report.updates += 1;
                }
                RowOut::Delete(b) => {
                    body.push(0x13);
                    codec::put_u32(body, rel);
                    body.push(2);
                    tuple(body, nc, &b)?;
                    report.deletes += 1;
                }
            }
            arena.push(lsn, 0, body);
        }
        Ok(())
    }
}

/// The changes of a table without a primary key, one per row copy: such a
/// table stores identical rows once with their number of copies
/// (`formats/store.md` §7.6), so a change of that number is as many
/// INSERTs or DELETEs of the row, and a row stored or removed with several
/// copies is several.
fn copies<'a>(
    changes: Vec<KeyChange<'a>>,
    old_ncols: usize,
    ncols: usize,
    keep_equal: bool,
) -> Result<Vec<KeyChange<'a>>> {
    fn split(v: Cow<'_, [u8]>, n: usize) -> Result<(Cow<'_, [u8]>, u32)> {
        let (len, copies) = {
            let (row, copies) = replog_pagestore::catalog::split_stored(&v, n, true, 0)?;
            (row.len(), copies)
        };
        Ok(match v {
            Cow::Borrowed(b) => (Cow::Borrowed(&b[..len]), copies),
            Cow::Owned(mut b) => {
                b.truncate(len);
                (Cow::Owned(b), copies)
            }
        })
    }
    let mut out = Vec::with_capacity(changes.len());
    for c in changes {
        let (before, nb) = match c.before {
            Some(b) => {
                let (r, n) = split(b, old_ncols)?;
                (Some(r), n)
            }
            None => (None, 0),
        };
        let (after, na) = match c.after {
            Some(a) => {
                let (r, n) = split(a, ncols)?;
                (Some(r), n)
            }
            None => (None, 0),
        };
        // Copies present before and after (kept where an ALTER rewrites
        // each; the same row is no change), then those removed or added.
        let both = nb.min(na);
        let same = !keep_equal && before == after;
        for _ in 0..if same { 0 } else { both } {
            out.push(KeyChange {
                key: c.key,
                before: before.clone(),
                after: after.clone(),
            });
        }
        for _ in both..nb {
            out.push(KeyChange {
                key: c.key,
                before: before.clone(),
                after: None,
            });
        }
        for _ in both..na {
            out.push(KeyChange {
                key: c.key,
                before: None,
                after: after.clone(),
            });
        }
    }
    Ok(out)
}

/// A logical tuple: column count, byte length, the values (the page's row
/// encoding is the tuple's column encoding).
fn tuple(out: &mut Vec<u8>, ncols: u16, row: &[u8]) -> Result<()> {
    let len = u32::try_from(row.len())
        .map_err(|_| Error::new(ErrorKind::CannotConvert, "a row over 4 GiB"))?;
    codec::put_u16(out, ncols);
    codec::put_u32(out, len);
    out.extend_from_slice(row);
    Ok(())
}

type Images<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// A row's UNIQUE key encodings (`None` where a column is NULL).
type UniqueValues = Vec<Option<Vec<u8>>>;

/// Orders a table's UPDATEs so that none takes a UNIQUE value another row
/// still holds: UPDATEs that keep every UNIQUE value first (key order),
/// then the others after the UPDATEs that give up the values they take.
/// Returns the ordered UPDATEs and those left in a cycle (to be written as
/// DELETE + INSERT).
fn order_updates<'a>(def: &TableDef, ups: Vec<Images<'a>>) -> (Vec<Images<'a>>, Vec<Images<'a>>) {
    if def.unique_keys.is_empty() || ups.len() < 2 {
        return (ups, Vec::new());
    }
    let n = def.columns.len();
    let keys = |b: &[u8]| -> Option<Vec<Option<Vec<u8>>>> {
        let row = replog_pagestore::catalog::decode_row(b, n, 0).ok()?;
        Some(
            def.unique_keys
                .iter()
                .map(|u| replog_store::storage::unique_key(&u.columns, &row))
                .collect(),
        )
    };
    let mut plain = Vec::new();
    let mut moving: Vec<(Images<'a>, UniqueValues, UniqueValues)> = Vec::new();
    for (b, a) in ups {
        match (keys(&b), keys(&a)) {
            (Some(kb), Some(ka)) if kb != ka => moving.push(((b, a), kb, ka)),
            _ => plain.push((b, a)),
        }
    }
    if moving.is_empty() {
        return (plain, Vec::new());
    }
    // Edge b → a: a takes a value b gives up.
    let mut holder: HashMap<(usize, &[u8]), usize> = HashMap::new();
    for (i, (_, kb, _)) in moving.iter().enumerate() {
        for (k, v) in kb.iter().enumerate() {
            if let Some(v) = v {
                holder.insert((k, v.as_slice()), i);
            }
        }
    }
    let m = moving.len();
    let mut indeg = vec![0usize; m];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); m];
    for (a, (_, kb, ka)) in moving.iter().enumerate() {
        for (k, v) in ka.iter().enumerate() {
            if let Some(v) = v
                && kb[k].as_ref() != Some(v)
                && let Some(&b) = holder.get(&(k, v.as_slice()))
                && b != a
            {
                succ[b].push(a);
                indeg[a] += 1;
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..m).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(m);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &s in &succ[i] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                ready.insert(s);
            }
        }
    }
    let mut done = vec![false; m];
    for &i in &order {
        done[i] = true;
    }
    let mut slots: Vec<Option<Images<'a>>> = moving.into_iter().map(|(x, _, _)| Some(x)).collect();
    for i in order {
        if let Some(x) = slots[i].take() {
            plain.push(x);
        }
    }
    let split = slots.into_iter().flatten().collect();
    (plain, split)
}

crate::error::input_end!(FromPhysicalReport);
