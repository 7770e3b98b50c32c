//! A **page-based storage engine** for the reference store
//! (`replog_store::Storage`) that writes replog's **physical WAL** and can be
//! rebuilt from that WAL alone.
//!
//! - Everything lives in fixed-size pages (default 8 KiB, a power of two
//!   from 512 to 65,536): page 0 is the store header, the catalog (databases,
//!   table definitions, tree roots, auto-increment counters, digests) is a
//!   B+tree, every table has a primary-key B+tree (order-preserving key →
//!   encoded row, large rows in overflow chains) and one B+tree per unique
//!   key (unique key → primary key); released pages form a free list. The
//!   layout is specified in `formats/store.md` §7 and defined in code once,
//!   in [`page`].
//! - Pages are read through [`PageSource`] ([`read`]), implemented for the
//!   store's pager, for a list of page buffers ([`PageList`]: the pages a
//!   redo of the WAL builds) and for a page file or image in memory
//!   ([`PageFile`]); the logical decoding of physical logs
//!   (`replog_convert::from_physical`) implements it for the pages before
//!   and after a transaction. The B+tree readers ([`btree`]), overflow
//!   chains ([`read::OverflowChain`]) and the catalog reader
//!   ([`catalog::read_catalog`]) are written once over it.
//! - A transaction's page changes are kept in memory (no-steal). At
//!   [`PageStore::commit`] they become PAGE_INIT / PAGE_DELTA / PAGE_IMAGE /
//!   PAGE_FREE records between BEGIN and COMMIT (with the store digests
//!   before and after), and only then reach the committed pages — through
//!   `replog_physical::redo` of those very records, so the leader's pages
//!   are byte for byte what a follower's redo produces. A CHECKPOINT follows
//!   every [`Options::checkpoint_every`] commits.
//!   [`PageStore::rollback`] discards them.
//! - [`PageStore::from_wal_bytes`] / [`PageStore::from_wal_paths`] rebuild a
//!   store — schema included — from the WAL alone, refusing a WAL of another
//!   page format or page size.
//!
//! The SQL layer (`replog_store::Store`) drives transactions through its own
//! undo log and tells the engine where they end through the `Storage`
//! hooks: `Storage::commit` writes one WAL transaction per store transaction
//! under the store's txid (DDL's implicit commit of an open transaction and
//! the DDL itself are two; a transaction with no page change still writes
//! BEGIN/COMMIT), `Storage::rollback` discards pages without logging
//! (auto-increment counters survive, as in the SQL layer). The inherent
//! [`PageStore::commit`] / [`PageStore::rollback`] remain for driving the
//! engine directly.
//!
//! ```
//! use replog_pagestore::{Options, PageStore};
//! use replog_store::{SimEnvironment, Store};
//!
//! let mut leader = Store::with_storage(PageStore::new(Options::default())?, SimEnvironment::default());
//! leader.execute_script("
//!     CREATE DATABASE shop; USE shop;
//!     CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) UNIQUE);
//!     INSERT INTO items (name) VALUES ('pen'), ('ink');
//! ").unwrap();
//!
//! // A follower built from the physical WAL alone.
//! let wal = leader.storage().wal_bytes().unwrap();
//! let (pages, report) = PageStore::from_wal_bytes(wal, &Options::default())?;
//! assert!(report.torn_tail.is_none());
//! let follower = Store::with_storage(pages, SimEnvironment::default());
//! assert_eq!(follower.dump_table("shop", "items").unwrap(), "1\tpen\n2\tink\n");
//! assert_eq!(follower.digest(), leader.digest());
//! # Ok::<(), replog_core::Error>(())
//! ```
#![deny(missing_docs)]

pub mod btree;
pub mod catalog;
mod dir;
pub mod page;
pub mod pager;
pub mod read;
mod wal;

pub use dir::{DirRecovery, IMAGE_FILE, WAL_DIR};
pub use page::Corrupt;
pub use read::{PageFile, PageList, PageSource};
pub use wal::{RedoOptions, RedoReport, StateMismatch};

use catalog::{Catalog, TableEntry};
use page::{NONE, ptype};
use pager::Pager;
use replog_core::reader::{LogReader, SegmentInput};
use replog_core::writer::{DirWriter, LogWriter, WriterOptions};
use replog_core::{Begin, Commit, LogKind};
use replog_physical::{Checkpoint, PAGE_FORMAT_VERSION, PhysicalRecord};
use replog_store::digest::row_hash;
use replog_store::snapshot::AppliedPosition;
use replog_store::storage::{
    KeyConflict, StorageCommit, duplicate_key_error, primary_key, unique_key,
};
use replog_store::{Environment, Error, ErrorKind, Row, Storage, Store, TableDef, TableId};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use wal::Sink;

/// A record written for a commit: its LSN and body.
type LoggedRecord = (u64, Vec<u8>);

/// How a [`PageStore`] is laid out and logged.
#[derive(Debug, Clone)]
pub struct Options {
    /// Page size in bytes: a power of two from 512 to 65,536.
    pub page_size: usize,
    /// Write a CHECKPOINT after this many commits (0: never).
    pub checkpoint_every: u64,
    /// Server id written in BEGIN records.
    pub server_id: u32,
    /// The WAL's writer options; `kind`, `page_size` and `page_format` are
    /// set by the store.
    pub writer: WriterOptions,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            page_size: 8192,
            checkpoint_every: 64,
            server_id: 1,
            writer: WriterOptions::new(LogKind::Physical),
        }
    }
}

impl Options {
    /// Default options with another page size.
    pub fn with_page_size(page_size: usize) -> Options {
        Options {
            page_size,
            ..Options::default()
        }
    }

    fn writer_options(&self) -> WriterOptions {
        let mut w = self.writer.clone();
        w.kind = LogKind::Physical;
        w.page_size = self.page_size as u32;
        w.page_format = PAGE_FORMAT_VERSION;
        w
    }
}

/// What a commit writes into BEGIN and COMMIT besides the digests.
#[derive(Debug, Clone, Default)]
pub struct CommitInfo {
    /// Transaction time, µs since the epoch.
    pub timestamp_us: i64,
    /// Free-form origin written in BEGIN.
    pub origin: String,
}

/// Counters of what the store wrote to its WAL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Transactions written.
    pub commits: u64,
    /// Page records written, by type: image, delta, init, free.
    pub images: u64,
    /// PAGE_DELTA records.
    pub deltas: u64,
    /// PAGE_INIT records.
    pub inits: u64,
    /// PAGE_FREE records.
    pub frees: u64,
    /// CHECKPOINT records.
    pub checkpoints: u64,
    /// Bytes of page-record bodies.
    pub body_bytes: u64,
}

#[derive(Debug)]
struct Inner {
    pager: Pager,
    sink: Sink,
    next_txid: u64,
    dirty_tables: BTreeSet<TableId>,
    dirty_dbs: BTreeSet<String>,
    /// Store digest at the last commit.
    last_state: u64,
    since_checkpoint: u64,
    failed: Option<String>,
    stats: WalStats,
    /// Position staged for the next commit (`Storage::stage_position`).
    /// Boxed, like `position`, to keep the store small.
    staged: Option<Box<AppliedPosition>>,
    /// The committed position (catalog key 0x03).
    position: Option<Box<AppliedPosition>>,
    /// A store of `open_dir`: commits through the `Storage` hook continue
    /// the store's own txids (the SQL layer counts from 1 in every
    /// process), and staged replication positions are kept (other stores
    /// ignore them, so their WAL is exactly a leader's).
    dir_mode: bool,
    /// A directory store's page image (`open_dir` only).
    image: Option<Box<dir::ImageState>>,
}

/// The page-based storage engine. See the crate documentation.
#[derive(Debug)]
pub struct PageStore {
    opts: Options,
    cat: Catalog,
    inner: RefCell<Inner>,
}

fn core_err(e: Corrupt) -> replog_core::Error {
    replog_core::Error::new(
        replog_core::ErrorKind::Malformed,
        0,
        format!("page store: {e}"),
    )
}

fn store_err(e: Corrupt) -> Error {
    Error::new(ErrorKind::Storage, format!("page store damaged: {e}"))
}

fn unknown(id: TableId) -> Error {
    Error::new(ErrorKind::UnknownTable, format!("no table with id {id}"))
}

#[cold]
fn damaged(e: replog_core::Error) -> Error {
    Error::new(ErrorKind::Storage, format!("page store damaged: {e}"))
}

#[cold]
fn missing_row() -> Error {
    Error::new(ErrorKind::Conflict, "no row with that primary key")
}

impl PageStore {
    /// A new, empty store whose WAL is kept in memory ([`PageStore::wal_bytes`]).
    /// The log starts with a CHECKPOINT of the empty store, then transaction
    /// 0, which creates the header page and the catalog (the SQL layer's
    /// transactions are numbered from 1).
    pub fn new(opts: Options) -> replog_core::Result<PageStore> {
        Self::check_page_size(opts.page_size)?;
        let w = LogWriter::new(Vec::new(), &opts.writer_options())?;
        Self::create_with(opts, Sink::Memory(w))
    }

    /// A new, empty store whose WAL is written to the directory `dir` as
    /// rotating segments (`replog_core::writer::DirWriter`).
    pub fn create_dir(dir: &Path, opts: Options) -> replog_core::Result<PageStore> {
        Self::check_page_size(opts.page_size)?;
        let w = DirWriter::create(dir, opts.writer_options())?;
        Self::create_with(opts, Sink::Dir(w))
    }

    fn check_page_size(n: usize) -> replog_core::Result<()> {
        if !replog_physical::page::is_valid_page_size(n as u64) {
            return Err(replog_core::Error::new(
                replog_core::ErrorKind::Unsupported,
                0,
                format!("page size {n} is not a power of two from 512 to 65536"),
            ));
        }
        Ok(())
    }

    fn create_with(opts: Options, mut sink: Sink) -> replog_core::Result<PageStore> {
        let cp = PhysicalRecord::Checkpoint(Checkpoint {
            offset: 0,
            redo_lsn: sink.next_lsn(),
            next_txid: 0,
            page_count: 0,
            catalog_root: NONE,
            free_list_head: NONE,
        });
        sink.append_between(&cp.to_body()?)?;
        let mut pager = Pager::new(opts.page_size);
        let hdr = pager.alloc(ptype::HEADER).map_err(core_err)?;
        {
            let p = pager.get_mut(hdr).map_err(core_err)?;
            page::wr(p, page::header::MAGIC_AT, &page::header::MAGIC);
            page::wr(
                p,
                page::header::PAGE_SIZE_AT,
                &(opts.page_size as u32).to_le_bytes(),
            );
            page::wr(
                p,
                page::header::FORMAT_AT,
                &PAGE_FORMAT_VERSION.to_le_bytes(),
            );
        }
        pager.catalog_root = btree::create(&mut pager).map_err(core_err)?;
        let s = PageStore {
            opts,
            cat: Catalog::default(),
            inner: RefCell::new(Inner {
                pager,
                sink,
                next_txid: 0,
                dirty_tables: BTreeSet::new(),
                dirty_dbs: BTreeSet::new(),
                last_state: 0,
                since_checkpoint: 0,
                failed: None,
                stats: WalStats {
                    checkpoints: 1,
                    ..WalStats::default()
                },
                staged: None,
                position: None,
                dir_mode: false,
                image: None,
            }),
        };
        s.commit_with(&CommitInfo {
            timestamp_us: 0,
            origin: "create store".into(),
        })?;
        Ok(s)
    }

    /// Rebuilds a store from a physical WAL held in memory (one segment, or
    /// several concatenated is not supported: use [`PageStore::from_wal_paths`]).
    /// `opts.page_size` must equal the log's page size.
    pub fn from_wal_bytes(
        bytes: Vec<u8>,
        opts: &Options,
    ) -> replog_core::Result<(PageStore, RedoReport)> {
        let reader = LogReader::new(
            vec![SegmentInput::memory("<memory>", bytes)],
            wal::reader_options(),
        );
        Self::from_wal(reader, opts)
    }

    /// Rebuilds a store from the physical WAL at `paths` (segment files or
    /// directories of segments, in order).
    pub fn from_wal_paths(
        paths: &[PathBuf],
        opts: &Options,
    ) -> replog_core::Result<(PageStore, RedoReport)> {
        let reader = LogReader::open(paths, wal::reader_options())?;
        Self::from_wal(reader, opts)
    }

    /// Rebuilds a store from the physical WAL read by `reader`: every
    /// committed transaction is redone onto empty pages with
    /// `replog_physical::redo`, then the catalog and every tree are loaded
    /// and checked (tree order, row decoding, row counts and digests).
    /// The rebuilt store logs further changes nowhere (LSNs continue from
    /// the end of the log).
    pub fn from_wal(
        reader: LogReader,
        opts: &Options,
    ) -> replog_core::Result<(PageStore, RedoReport)> {
        Self::from_wal_with(reader, opts, &RedoOptions::default())
    }

    /// [`PageStore::from_wal`] with a stopping point and per-commit digest
    /// checks ([`RedoOptions`]).
    pub fn from_wal_with(
        mut reader: LogReader,
        opts: &Options,
        ropts: &RedoOptions,
    ) -> replog_core::Result<(PageStore, RedoReport)> {
        Self::check_page_size(opts.page_size)?;
        let mut pages = Vec::new();
        let rep = wal::redo_log(&mut reader, opts.page_size, &mut pages, ropts)?;
        if pages.is_empty() {
            return Err(replog_core::Error::new(
                replog_core::ErrorKind::Malformed,
                0,
                "the log holds no committed store (page 0 is never written)",
            ));
        }
        let mut w = opts.writer_options();
        w.start_lsn = rep.end_lsn;
        let sink = Sink::Discard(LogWriter::new(std::io::sink(), &w)?);
        let next_txid = rep
            .max_txid
            .max(rep.last_checkpoint.map_or(0, |c| c.2.saturating_sub(1)))
            .saturating_add(1);
        let s = Self::from_pages(pages, opts.clone(), sink, next_txid, true).map_err(|e| {
            replog_core::Error::new(
                replog_core::ErrorKind::Malformed,
                0,
                format!("the log's pages do not form a store: {e}"),
            )
        })?;
        Ok((s, rep))
    }

    fn from_pages(
        pages: Vec<Vec<u8>>,
        opts: Options,
        sink: Sink,
        next_txid: u64,
        verify: bool,
    ) -> std::result::Result<PageStore, String> {
        let mut pager = Pager::new(opts.page_size);
        pager.committed = pages;
        pager.load_header().map_err(|e| e.to_string())?;
        let cat = load_catalog(&pager, verify)?;
        let last_state = cat
            .tables
            .values()
            .fold(0u64, |a, t| a.wrapping_add(t.digest));
        let position = cat.position.map(Box::new);
        Ok(PageStore {
            opts,
            cat,
            inner: RefCell::new(Inner {
                pager,
                sink,
                next_txid,
                dirty_tables: BTreeSet::new(),
                dirty_dbs: BTreeSet::new(),
                last_state,
                since_checkpoint: 0,
                failed: None,
                stats: WalStats::default(),
                staged: None,
                position,
                dir_mode: false,
                image: None,
            }),
        })
    }

    /// The page size.
    pub fn page_size(&self) -> usize {
        self.opts.page_size
    }

    /// Pages allocated (committed and open transaction).
    pub fn page_count(&self) -> u32 {
        self.inner.try_borrow().map_or(0, |i| i.pager.page_count)
    }

    /// The committed pages, each as the physical WAL's redo produces it.
    pub fn committed_pages(&self) -> Vec<Vec<u8>> {
        self.inner
            .try_borrow()
            .map(|i| i.pager.committed.clone())
            .unwrap_or_default()
    }

    /// What the store wrote to its WAL so far.
    pub fn wal_stats(&self) -> WalStats {
        self.inner.try_borrow().map(|i| i.stats).unwrap_or_default()
    }

    /// The WAL written so far, for a store created by [`PageStore::new`]
    /// (`None` for a directory log or a rebuilt store).
    pub fn wal_bytes(&self) -> Option<Vec<u8>> {
        let mut i = self.inner.try_borrow_mut().ok()?;
        match &mut i.sink {
            Sink::Memory(w) => {
                w.flush().ok()?;
                Some(w.get_mut().clone())
            }
            _ => None,
        }
    }

    /// Hands everything written to the WAL to its destination and closes
    /// it: a directory log's last segment is flushed and synced (a
    /// CHECKPOINT written after the last COMMIT reaches the file only
    /// here). Uncommitted changes are dropped.
    pub fn finish(self) -> replog_core::Result<()> {
        match self.inner.into_inner().sink {
            Sink::Dir(w) => w.finish(),
            Sink::Memory(_) | Sink::Discard(_) => Ok(()),
        }
    }

    /// The LSN the WAL's next record would get (its end so far).
    pub fn wal_end_lsn(&self) -> u64 {
        self.inner.try_borrow().map_or(0, |i| i.sink.next_lsn())
    }

    /// Whether the open transaction changed anything yet.
    pub fn has_changes(&self) -> bool {
        self.inner.try_borrow().is_ok_and(|i| {
            !i.pager.dirty.is_empty() || !i.dirty_tables.is_empty() || !i.dirty_dbs.is_empty()
        })
    }

    /// Commits the open transaction with default [`CommitInfo`].
    pub fn commit(&self) -> replog_core::Result<Option<u64>> {
        self.commit_with(&CommitInfo::default())
    }

    /// Commits the open transaction: writes its page changes to the WAL
    /// between BEGIN and COMMIT (state digests: the store digest at the
    /// previous commit and now), then applies those records to the committed
    /// pages with `replog_physical::redo`. Returns the COMMIT's LSN, or
    /// `None` when no page changed (nothing is written).
    ///
    /// Takes `&self` so it can be called through `Store::storage()`. A WAL
    /// write error leaves the store refusing further commits.
    pub fn commit_with(&self, info: &CommitInfo) -> replog_core::Result<Option<u64>> {
        self.commit_txn(None, info, false)
    }

    /// Commits the open transaction as transaction `txid` (later ones
    /// continue from `txid + 1`), writing BEGIN / COMMIT even when no page
    /// changed, so the WAL holds one transaction per store transaction.
    /// This is what the [`Storage::commit`] hook does. Returns the COMMIT's
    /// LSN.
    pub fn commit_as(&self, txid: u64, info: &CommitInfo) -> replog_core::Result<u64> {
        self.commit_txn(Some(txid), info, true)
            .map(|l| l.unwrap_or_default())
    }

    fn commit_txn(
        &self,
        txid: Option<u64>,
        info: &CommitInfo,
        force: bool,
    ) -> replog_core::Result<Option<u64>> {
        let mut guard = self.inner.try_borrow_mut().map_err(|_| {
            replog_core::Error::new(replog_core::ErrorKind::Malformed, 0, "store busy")
        })?;
        let inner = &mut *guard;
        if let Some(f) = &inner.failed {
            return Err(replog_core::Error::new(
                replog_core::ErrorKind::Malformed,
                0,
                format!("store refuses commits after a WAL failure: {f}"),
            ));
        }
        // 1. The catalog's changed entries, then the header page.
        for id in std::mem::take(&mut inner.dirty_tables) {
            let key = catalog::table_key(id);
            let root = inner.pager.catalog_root;
            let (root, _) = match self.cat.tables.get(&id) {
                Some(e) => {
                    let v = catalog::encode_entry(e).map_err(|m| {
                        replog_core::Error::new(replog_core::ErrorKind::Malformed, 0, m)
                    })?;
                    btree::insert(&mut inner.pager, root, &key, &v)
                }
                None => btree::delete(&mut inner.pager, root, &key),
            }
            .map_err(core_err)?;
            inner.pager.catalog_root = root;
        }
        for db in std::mem::take(&mut inner.dirty_dbs) {
            let key = catalog::db_key(&db);
            let root = inner.pager.catalog_root;
            let (root, _) = if self.cat.names.has_database(&db) {
                btree::insert(&mut inner.pager, root, &key, &[])
            } else {
                btree::delete(&mut inner.pager, root, &key)
            }
            .map_err(core_err)?;
            inner.pager.catalog_root = root;
        }
        let after = self.digest_all();
        let mut new_position = None;
        if let Some(mut p) = inner.staged.take().map(|b| *b) {
            p.digest = after;
            let root = inner.pager.catalog_root;
            let (root, _) = btree::insert(
                &mut inner.pager,
                root,
                catalog::POSITION_KEY,
                &catalog::encode_position(&p),
            )
            .map_err(core_err)?;
            inner.pager.catalog_root = root;
            new_position = Some(p);
        }
        inner.pager.sync_header().map_err(core_err)?;
        let pager = &inner.pager;
        let changed = pager.dirty.iter().any(|(&no, w)| {
            pager
                .committed
                .get(no as usize)
                .is_none_or(|c| c.get(8..) != w.get(8..))
        });
        if !changed {
            inner.pager.dirty.clear();
            if !force {
                return Ok(None);
            }
        }
        // 2. The log.
        let txid = match txid {
            Some(t) if inner.dir_mode => t.max(inner.next_txid),
            Some(t) => t,
            None => inner.next_txid,
        };
        let r = Self::write_txn(inner, txid, info, self.opts.server_id, after);
        let (records, lsn) = match r {
            Ok(x) => x,
            Err(e) => {
                inner.failed = Some(e.to_string());
                return Err(e);
            }
        };
        inner.next_txid = inner.next_txid.max(txid.saturating_add(1));
        let committed_end = inner.sink.next_lsn();
        // 3. The committed pages, by redo of the records just written.
        for (lsn, body) in &records {
            let rec = PhysicalRecord::decode(body, 0)?;
            match &rec {
                PhysicalRecord::PageImage(_) => inner.stats.images += 1,
                PhysicalRecord::PageDelta(_) => inner.stats.deltas += 1,
                PhysicalRecord::PageInit(_) => inner.stats.inits += 1,
                PhysicalRecord::PageFree(_) => inner.stats.frees += 1,
                PhysicalRecord::Checkpoint(_) => {}
            }
            inner.stats.body_bytes += body.len() as u64;
            let no = rec.page().unwrap_or(NONE) as usize;
            let pages = &mut inner.pager.committed;
            while pages.len() <= no && no != NONE as usize {
                pages.push(vec![0; self.opts.page_size]);
            }
            if let Some(p) = pages.get_mut(no) {
                replog_physical::redo(&rec, *lsn, p)?;
            }
        }
        #[cfg(debug_assertions)]
        for (no, w) in &inner.pager.dirty {
            let c = inner.pager.committed.get(*no as usize);
            debug_assert_eq!(
                c.and_then(|c| c.get(8..)),
                w.get(8..),
                "page {no} after redo differs from the working copy"
            );
        }
        inner.pager.dirty.clear();
        inner.last_state = after;
        if let Some(p) = new_position {
            inner.position = Some(Box::new(p));
        }
        inner.stats.commits += 1;
        inner.since_checkpoint += 1;
        if let Some(img) = inner.image.as_mut() {
            img.committed_end = committed_end;
        }
        if self.opts.checkpoint_every > 0 && inner.since_checkpoint >= self.opts.checkpoint_every {
            Self::checkpoint_inner(inner)?;
            // A directory store also writes its page image, once the WAL
            // has grown by at least half the image's size since the last
            // one (so images cost at most two bytes written per WAL byte).
            let due = inner.image.as_deref().is_some_and(|img| {
                let size = inner.pager.committed.len() as u64 * self.opts.page_size as u64;
                img.committed_end.saturating_sub(img.lsn)
                    >= (size / 2).max(dir::IMAGE_MIN_WAL_BYTES)
            });
            // The image only saves work at the next open: failing to write
            // it loses nothing (the WAL has everything).
            if due {
                let _ = Self::image_inner(inner, self.opts.page_size);
            }
        }
        Ok(Some(lsn))
    }

    fn write_txn(
        inner: &mut Inner,
        txid: u64,
        info: &CommitInfo,
        server_id: u32,
        after: u64,
    ) -> replog_core::Result<(Vec<LoggedRecord>, u64)> {
        inner.sink.begin(&Begin {
            txid,
            timestamp_us: info.timestamp_us,
            server_id,
            origin: &info.origin,
        })?;
        let sink = &mut inner.sink;
        let records = inner.pager.emit(txid, |b| sink.append(b))?;
        let lsn = inner.sink.commit(&Commit {
            txid,
            timestamp_us: info.timestamp_us,
            state_before: Some(inner.last_state),
            state_after: Some(after),
        })?;
        Ok((records, lsn))
    }

    /// Writes a CHECKPOINT now (between transactions). Every committed change
    /// is already in the committed pages, so `redo_lsn` is the checkpoint's
    /// own LSN.
    pub fn checkpoint(&self) -> replog_core::Result<u64> {
        let mut guard = self.inner.try_borrow_mut().map_err(|_| {
            replog_core::Error::new(replog_core::ErrorKind::Malformed, 0, "store busy")
        })?;
        Self::checkpoint_inner(&mut guard)
    }

    fn checkpoint_inner(inner: &mut Inner) -> replog_core::Result<u64> {
        // The committed header (not the working one) describes the pages.
        let (count, free, root) = match inner.pager.committed.first() {
            None => (0, NONE, NONE),
            Some(h) => page::Header::read(h, inner.pager.page_size)
                .map_or((0, NONE, 0), |h| (h.page_count, h.free_head, 0)),
        };
        let cp = PhysicalRecord::Checkpoint(Checkpoint {
            offset: 0,
            redo_lsn: inner.sink.next_lsn(),
            next_txid: inner.next_txid,
            page_count: count,
            catalog_root: root,
            free_list_head: free,
        });
        let lsn = inner.sink.append_between(&cp.to_body()?)?;
        inner.since_checkpoint = 0;
        inner.stats.checkpoints += 1;
        Ok(lsn)
    }

    /// Writes the page image of a directory store now (between
    /// transactions): the committed pages at the WAL's last COMMIT, written
    /// atomically to `DIR/pages.image`, from which the next open redoes only
    /// the WAL after it (`formats/store.md` §11.2). Returns false for a
    /// store that is not a directory store. Images are also written
    /// automatically at CHECKPOINTs once the WAL has grown by half the
    /// image's size (at least 1 MiB) since the last.
    pub fn write_image(&self) -> replog_core::Result<bool> {
        let mut guard = self.inner.try_borrow_mut().map_err(|_| {
            replog_core::Error::new(replog_core::ErrorKind::Malformed, 0, "store busy")
        })?;
        Self::image_inner(&mut guard, self.opts.page_size)
    }

    fn image_inner(inner: &mut Inner, page_size: usize) -> replog_core::Result<bool> {
        let Some(img) = inner.image.as_deref() else {
            return Ok(false);
        };
        let end = img.committed_end;
        dir::write_image(
            img,
            page_size,
            end,
            inner.next_txid,
            inner.last_state,
            &inner.pager.committed,
        )?;
        if let Some(img) = inner.image.as_mut() {
            img.lsn = end;
        }
        Ok(true)
    }

    /// Discards the open transaction's changes (pages and catalog).
    pub fn rollback(&mut self) -> replog_core::Result<()> {
        let inner = self.inner.get_mut();
        inner.pager.discard().map_err(core_err)?;
        inner.dirty_tables.clear();
        inner.dirty_dbs.clear();
        self.cat = load_catalog(&inner.pager, false)
            .map_err(|m| replog_core::Error::new(replog_core::ErrorKind::Malformed, 0, m))?;
        Ok(())
    }

    fn digest_all(&self) -> u64 {
        self.cat
            .tables
            .values()
            .fold(0u64, |a, t| a.wrapping_add(t.digest))
    }

    /// Checks every tree of the committed pages (structure, key order, row
    /// decoding, row counts, digests, unique indexes); call it between
    /// transactions. Returns the first problem.
    pub fn verify(&self) -> std::result::Result<(), String> {
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| "store busy".to_string())?;
        let mut pager = inner.pager.clone();
        pager.discard().map_err(|e| e.to_string())?;
        load_catalog(&pager, true).map(|_| ())
    }

    fn entry(&self, id: TableId) -> Result<&TableEntry, Error> {
        self.cat.tables.get(&id).ok_or_else(|| unknown(id))
    }

    fn conflict_in(
        pager: &Pager,
        t: &TableEntry,
        row: &Row,
        except: Option<&[u8]>,
    ) -> Result<Option<KeyConflict>, Error> {
        let pk = primary_key(&t.def, row);
        let except =
            except.map(|k| catalog::stored_key(&t.def, k, btree::max_key(pager.page_size())));
        let except = except.as_deref();
        // A table without a primary key holds identical rows as copies of
        // one stored row: its implicit row identity never conflicts.
        if !t.def.primary_key.is_empty()
            && except != Some(pk.as_slice())
            && btree::contains(pager, t.pk_root, &pk).map_err(store_err)?
        {
            return Ok(Some(KeyConflict {
                key_name: "PRIMARY".into(),
                existing: pk,
            }));
        }
        for (u, &root) in t.def.unique_keys.iter().zip(&t.unique_roots) {
            if let Some(k) = unique_key(&u.columns, row)
                && let Some(owner) = btree::get(pager, root, &k).map_err(store_err)?
                && except != Some(owner.as_slice())
            {
                return Ok(Some(KeyConflict {
                    key_name: u.name.clone(),
                    existing: owner,
                }));
            }
        }
        Ok(None)
    }

    fn check_key_len(&self, k: &[u8]) -> Result<(), Error> {
        let max = btree::max_key(self.opts.page_size);
        if k.len() > max {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("Specified key was too long; max key length is {max} bytes"),
            ));
        }
        Ok(())
    }

    /// Adds a row known not to collide (in a table without a primary key,
    /// one more copy of an identical row where there is one).
    fn link(&mut self, id: TableId, row: &Row) -> Result<Vec<u8>, Error> {
        let t = self.cat.tables.get_mut(&id).ok_or_else(|| unknown(id))?;
        let inner = self.inner.get_mut();
        let pk = catalog::row_key(&t.def, row, btree::max_key(self.opts.page_size));
        let mut bytes = Vec::new();
        catalog::encode_row(row, &mut bytes).map_err(|m| Error::new(ErrorKind::BadValue, m))?;
        let keyless = t.def.primary_key.is_empty();
        let mut copies = 1;
        if keyless && let Some(old) = btree::get(&inner.pager, t.pk_root, &pk).map_err(store_err)? {
            let (_, n) =
                catalog::split_stored(&old, t.def.columns.len(), true, 0).map_err(damaged)?;
            copies = n.checked_add(1).ok_or_else(|| {
                Error::new(
                    ErrorKind::OutOfRange,
                    "more than 4,294,967,295 identical rows",
                )
            })?;
            catalog::put_copies(&mut bytes, copies);
        }
        let (root, _) =
            btree::insert(&mut inner.pager, t.pk_root, &pk, &bytes).map_err(store_err)?;
        t.pk_root = root;
        t.digest = t.digest.wrapping_add(row_hash(&t.def, row));
        t.rows += 1;
        inner.dirty_tables.insert(id);
        if copies > 1 {
            // The copies share the first one's unique index entries.
            return Ok(pk);
        }
        for (u, r) in t.def.unique_keys.iter().zip(t.unique_roots.iter_mut()) {
            if let Some(k) = unique_key(&u.columns, row) {
                let (nr, _) = btree::insert(&mut inner.pager, *r, &k, &pk).map_err(store_err)?;
                *r = nr;
            }
        }
        Ok(pk)
    }

    /// Removes the row with primary key `key` (in a table without a
    /// primary key, one copy of it).
    fn unlink(&mut self, id: TableId, key: &[u8]) -> Result<Row, Error> {
        let t = self.cat.tables.get_mut(&id).ok_or_else(|| unknown(id))?;
        let inner = self.inner.get_mut();
        let key = &*catalog::stored_key(&t.def, key, btree::max_key(self.opts.page_size));
        let keyless = t.def.primary_key.is_empty();
        let ncols = t.def.columns.len();
        if keyless && let Some(b) = btree::get(&inner.pager, t.pk_root, key).map_err(store_err)? {
            let (row, n) = catalog::split_stored(&b, ncols, true, 0).map_err(damaged)?;
            if n > 1 {
                let mut bytes = row.to_vec();
                catalog::put_copies(&mut bytes, n - 1);
                let row = catalog::decode_row(row, ncols, 0).map_err(damaged)?;
                let (root, _) =
                    btree::insert(&mut inner.pager, t.pk_root, key, &bytes).map_err(store_err)?;
                t.pk_root = root;
                t.digest = t.digest.wrapping_sub(row_hash(&t.def, &row));
                t.rows = t.rows.saturating_sub(1);
                inner.dirty_tables.insert(id);
                return Ok(row);
            }
        }
        let (root, old) = btree::delete(&mut inner.pager, t.pk_root, key).map_err(store_err)?;
        t.pk_root = root;
        let old = old.ok_or_else(missing_row)?;
        let (row, _) = catalog::decode_stored(&old, ncols, keyless, 0).map_err(damaged)?;
        for (u, r) in t.def.unique_keys.iter().zip(t.unique_roots.iter_mut()) {
            if let Some(k) = unique_key(&u.columns, &row) {
                let (nr, _) = btree::delete(&mut inner.pager, *r, &k).map_err(store_err)?;
                *r = nr;
            }
        }
        t.digest = t.digest.wrapping_sub(row_hash(&t.def, &row));
        t.rows = t.rows.saturating_sub(1);
        inner.dirty_tables.insert(id);
        Ok(row)
    }

    fn check_row_keys(&self, def: &TableDef, row: &Row) -> Result<(), Error> {
        self.check_key_len(&catalog::row_key(
            def,
            row,
            btree::max_key(self.opts.page_size),
        ))?;
        for u in &def.unique_keys {
            if let Some(k) = unique_key(&u.columns, row) {
                self.check_key_len(&k)?;
            }
        }
        Ok(())
    }

    fn free_table_trees(&mut self, id: TableId) -> Result<(), Error> {
        let t = self.entry(id)?;
        let roots: Vec<u32> = std::iter::once(t.pk_root)
            .chain(t.unique_roots.iter().copied())
            .collect();
        let inner = self.inner.get_mut();
        for r in roots {
            btree::free_tree(&mut inner.pager, r).map_err(store_err)?;
        }
        Ok(())
    }

    fn new_trees(&mut self, n_unique: usize) -> Result<(u32, Vec<u32>), Error> {
        let pager = &mut self.inner.get_mut().pager;
        let pk = btree::create(pager).map_err(store_err)?;
        let mut u = Vec::with_capacity(n_unique);
        for _ in 0..n_unique {
            u.push(btree::create(pager).map_err(store_err)?);
        }
        Ok((pk, u))
    }
}

/// The store digest (sum of the catalog's table digests) of committed
/// pages, read from the header page and the catalog tree.
pub(crate) fn pages_digest(
    pages: &[Vec<u8>],
    page_size: usize,
) -> std::result::Result<u64, String> {
    let src = read::PageList::new(pages, page_size);
    let h = src.header().map_err(|e| e.to_string())?;
    h.check_count(pages.len()).map_err(|e| e.to_string())?;
    let c = catalog::read_catalog(src, h.catalog_root, h.last_table_id, false)?;
    Ok(c.digest())
}

/// Reads the pager's catalog ([`catalog::read_catalog`]).
fn load_catalog(pager: &Pager, verify: bool) -> std::result::Result<Catalog, String> {
    catalog::read_catalog(pager, pager.catalog_root, pager.last_table_id, verify)
}

impl Storage for PageStore {
    /// Keeps `pos` for the next commit, which writes it into the catalog
    /// (key 0x03) in the same WAL transaction as the changes. Only a store
    /// opened by [`PageStore::open_dir`] keeps positions; the others
    /// (a leader's, a conversion's) ignore them.
    fn stage_position(&self, pos: &AppliedPosition) {
        if let Ok(mut i) = self.inner.try_borrow_mut()
            && i.dir_mode
        {
            i.staged = Some(Box::new(*pos));
        }
    }

    fn position(&self) -> Option<AppliedPosition> {
        self.inner
            .try_borrow()
            .ok()
            .and_then(|i| i.position.as_deref().copied())
    }

    fn create_database(&mut self, name: &str) -> Result<(), Error> {
        let k = catalog::db_key(name);
        self.check_key_len(&k)?;
        self.cat.names.create_database(name)?;
        self.inner.get_mut().dirty_dbs.insert(name.to_string());
        Ok(())
    }

    fn database_exists(&self, name: &str) -> bool {
        self.cat.names.has_database(name)
    }

    fn databases(&self) -> Vec<String> {
        self.cat.names.databases()
    }

    fn lookup(&self, db: &str, name: &str) -> Option<TableId> {
        self.cat.names.lookup(db, name)
    }

    fn def(&self, id: TableId) -> Option<&TableDef> {
        self.cat.tables.get(&id).map(|t| &t.def)
    }

    fn tables(&self) -> Vec<TableId> {
        self.cat.names.tables()
    }

    fn create_table(&mut self, def: TableDef) -> Result<TableId, Error> {
        self.cat.names.check_free(&def.database, &def.name)?;
        def.encode(&mut Vec::new())
            .map_err(|e| Error::new(ErrorKind::BadDefinition, e.message()))?;
        let (pk_root, unique_roots) = self.new_trees(def.unique_keys.len())?;
        let inner = self.inner.get_mut();
        inner.pager.last_table_id += 1;
        let id = inner.pager.last_table_id;
        inner.dirty_tables.insert(id);
        self.cat.names.insert(&def.database, &def.name, id);
        self.cat.tables.insert(
            id,
            TableEntry {
                def,
                pk_root,
                unique_roots,
                auto_inc: 1,
                digest: 0,
                rows: 0,
            },
        );
        Ok(id)
    }

    fn drop_table(&mut self, id: TableId) -> Result<(), Error> {
        if !self.cat.tables.contains_key(&id) {
            return Err(missing_row());
        }
        self.free_table_trees(id)?;
        if let Some(t) = self.cat.tables.remove(&id) {
            self.cat.names.remove(&t.def.database, &t.def.name);
        }
        self.inner.get_mut().dirty_tables.insert(id);
        Ok(())
    }

    fn drop_database(&mut self, name: &str) -> Result<(), Error> {
        for id in self.cat.names.tables_to_drop(name)? {
            self.drop_table(id)?;
        }
        // The commit deletes the catalog entry of a database no longer
        // in the set.
        self.cat.names.drop_database(name);
        self.inner.get_mut().dirty_dbs.insert(name.to_string());
        Ok(())
    }

    fn replace_table(&mut self, id: TableId, def: TableDef, rows: Vec<Row>) -> Result<(), Error> {
        self.entry(id)?;
        // Check everything before changing anything, in MemStorage's order.
        let mut pks = BTreeSet::new();
        let mut uks: Vec<BTreeSet<Vec<u8>>> = vec![BTreeSet::new(); def.unique_keys.len()];
        for r in &rows {
            self.check_row_keys(&def, r)?;
            catalog::encode_row(r, &mut Vec::new())
                .map_err(|m| Error::new(ErrorKind::BadValue, m))?;
            if !def.primary_key.is_empty() && pks.contains(&primary_key(&def, r)) {
                return Err(duplicate_key_error(&def, "PRIMARY", r));
            }
            for (u, set) in def.unique_keys.iter().zip(&uks) {
                if let Some(k) = unique_key(&u.columns, r)
                    && set.contains(&k)
                {
                    return Err(duplicate_key_error(&def, &u.name, r));
                }
            }
            pks.insert(primary_key(&def, r));
            for (u, set) in def.unique_keys.iter().zip(uks.iter_mut()) {
                if let Some(k) = unique_key(&u.columns, r) {
                    set.insert(k);
                }
            }
        }
        def.encode(&mut Vec::new())
            .map_err(|e| Error::new(ErrorKind::BadDefinition, e.message()))?;
        self.free_table_trees(id)?;
        let (pk_root, unique_roots) = self.new_trees(def.unique_keys.len())?;
        if let Some(t) = self.cat.tables.get_mut(&id) {
            if (&t.def.database, &t.def.name) != (&def.database, &def.name) {
                self.cat.names.remove(&t.def.database, &t.def.name);
                self.cat.names.insert(&def.database, &def.name, id);
            }
            t.def = def;
            t.pk_root = pk_root;
            t.unique_roots = unique_roots;
            t.digest = 0;
            t.rows = 0;
        }
        self.inner.get_mut().dirty_tables.insert(id);
        for r in rows {
            self.link(id, &r)?;
        }
        Ok(())
    }

    fn truncate(&mut self, id: TableId) -> Result<(), Error> {
        let n = self.entry(id)?.def.unique_keys.len();
        self.free_table_trees(id)?;
        let (pk_root, unique_roots) = self.new_trees(n)?;
        if let Some(t) = self.cat.tables.get_mut(&id) {
            t.pk_root = pk_root;
            t.unique_roots = unique_roots;
            t.digest = 0;
            t.rows = 0;
            t.auto_inc = 1;
        }
        self.inner.get_mut().dirty_tables.insert(id);
        Ok(())
    }

    fn get(&self, id: TableId, key: &[u8]) -> Option<Row> {
        let t = self.cat.tables.get(&id)?;
        let inner = self.inner.try_borrow().ok()?;
        let key = catalog::stored_key(&t.def, key, btree::max_key(self.opts.page_size));
        let b = btree::get(&inner.pager, t.pk_root, &key).ok()??;
        let keyless = t.def.primary_key.is_empty();
        catalog::decode_stored(&b, t.def.columns.len(), keyless, 0)
            .ok()
            .map(|(row, _)| row)
    }

    fn keys(&self, id: TableId) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let (Some(t), Ok(inner)) = (self.cat.tables.get(&id), self.inner.try_borrow()) else {
            return out;
        };
        let (keyless, ncols) = (t.def.primary_key.is_empty(), t.def.columns.len());
        let pager = &inner.pager;
        let _ = btree::scan(pager, t.pk_root, &mut |k, v| {
            // A row of a keyless table is listed once per copy.
            let copies = if keyless {
                let b = read::read_value(pager, v)?;
                catalog::split_stored(&b, ncols, true, 0).map_or(1, |(_, n)| n)
            } else {
                1
            };
            out.extend(std::iter::repeat_n(k, copies as usize).map(<[u8]>::to_vec));
            Ok(())
        });
        out
    }

    fn row_count(&self, id: TableId) -> usize {
        self.cat
            .tables
            .get(&id)
            .map_or(0, |t| usize::try_from(t.rows).unwrap_or(usize::MAX))
    }

    fn find_conflict(&self, id: TableId, row: &Row, except: Option<&[u8]>) -> Option<KeyConflict> {
        let t = self.cat.tables.get(&id)?;
        let inner = self.inner.try_borrow().ok()?;
        Self::conflict_in(&inner.pager, t, row, except).ok()?
    }

    fn insert(&mut self, id: TableId, row: Row) -> Result<Vec<u8>, Error> {
        let t = self.cat.tables.get(&id).ok_or_else(|| unknown(id))?;
        if let Some(c) = Self::conflict_in(&self.inner.get_mut().pager, t, &row, None)? {
            let name = c.key_name;
            return Err(duplicate_key_error(&t.def, &name, &row));
        }
        self.check_row_keys(&t.def, &row)?;
        self.link(id, &row)
    }

    fn delete(&mut self, id: TableId, key: &[u8]) -> Result<Row, Error> {
        self.entry(id)?;
        self.unlink(id, key)
    }

    fn update(&mut self, id: TableId, key: &[u8], row: Row) -> Result<Row, Error> {
        let t = self.cat.tables.get(&id).ok_or_else(|| unknown(id))?;
        let pager = &self.inner.get_mut().pager;
        let stored = catalog::stored_key(&t.def, key, btree::max_key(pager.page_size()));
        if !btree::contains(pager, t.pk_root, &stored).map_err(store_err)? {
            return Err(missing_row());
        }
        if let Some(c) = Self::conflict_in(pager, t, &row, Some(key))? {
            let name = c.key_name;
            return Err(duplicate_key_error(&t.def, &name, &row));
        }
        self.check_row_keys(&t.def, &row)?;
        catalog::encode_row(&row, &mut Vec::new())
            .map_err(|m| Error::new(ErrorKind::BadValue, m))?;
        let old = self.unlink(id, key)?;
        self.link(id, &row)?;
        Ok(old)
    }

    fn auto_increment(&self, id: TableId) -> u64 {
        self.cat.tables.get(&id).map_or(1, |t| t.auto_inc)
    }

    fn set_auto_increment(&mut self, id: TableId, next: u64) {
        if let Some(t) = self.cat.tables.get_mut(&id) {
            t.auto_inc = next;
            self.inner.get_mut().dirty_tables.insert(id);
        }
    }

    fn digest(&self, id: TableId) -> u64 {
        self.cat.tables.get(&id).map_or(0, |t| t.digest)
    }

    /// Writes the transaction's page changes to the WAL as transaction
    /// `txid` ([`PageStore::commit_as`]); the COMMIT carries the engine's
    /// own digests, which are the store's.
    fn commit(&mut self, c: &StorageCommit) -> Result<(), Error> {
        let info = CommitInfo {
            timestamp_us: c.timestamp_us,
            origin: format!("store txid {}", c.txid),
        };
        debug_assert_eq!(c.state_after, self.digest_all(), "store and engine digests");
        self.commit_as(c.txid, &info)
            .map(|_| ())
            .map_err(|e| Error::new(ErrorKind::Storage, format!("WAL: {e}")))
    }

    /// Discards the transaction's pages without logging anything, keeping
    /// the auto-increment counters (the SQL layer does not roll them back).
    fn rollback(&mut self) {
        self.inner.get_mut().staged = None;
        if !self.has_changes() {
            return;
        }
        let counters: Vec<(TableId, u64)> = self
            .cat
            .tables
            .iter()
            .map(|(&id, t)| (id, t.auto_inc))
            .collect();
        if let Err(e) = PageStore::rollback(self) {
            self.inner.get_mut().failed = Some(format!("rollback failed: {e}"));
            return;
        }
        for (id, n) in counters {
            if let Some(t) = self.cat.tables.get_mut(&id)
                && t.auto_inc != n
            {
                t.auto_inc = n;
                self.inner.get_mut().dirty_tables.insert(id);
            }
        }
    }
}

/// Runs `sql` statement by statement on a store backed by a [`PageStore`].
/// The store commits the engine itself through the [`Storage`] hooks (one
/// WAL transaction per store transaction, rollbacks unlogged), so this is
/// `Store::execute_script`; it is kept for its callers.
pub fn execute_committing<E: Environment>(
    store: &mut Store<PageStore, E>,
    sql: &str,
) -> Result<Vec<replog_store::StatementResult>, Error> {
    store.execute_script(sql)
}
