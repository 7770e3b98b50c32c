//! A follower of a replog log: the reference store a log is applied to,
//! where it is kept, and where it stands.
//!
//! The `replog` commands `replay`, `dump`, `snapshot` and `convert` all
//! need the same things: a store with the follower's environment, opened
//! from (or created in) a directory and recovered from its own WAL, or
//! loaded from the older snapshot directory format; the position it stands
//! at; a new follower seeded from a snapshot file; and a store rebuilt from
//! a physical WAL by page redo. This crate holds them, so the command-line
//! tool only parses arguments and renders reports.
//!
//! Why a crate of its own: a follower joins the engine of `replog-store`
//! (SQL, row changes, snapshots, positions) with the page storage of
//! `replog-pagestore`, which depends on `replog-store`; the store cannot
//! hold it without a cycle, and the page store is about pages and its
//! WAL, not about which log a follower applies or how it is seeded.
//!
//! ```no_run
//! use replog_core::writer::Durability;
//! let dir = std::path::Path::new("follower");
//! let f = replog_follower::open_page_store(dir, None, Durability::Commit)?;
//! println!("at txid {}", f.position.last_txid);
//! # Ok::<(), replog_follower::Error>(())
//! ```
#![deny(missing_docs)]

mod error;
mod physical;

pub use error::{Error, Result};
pub use physical::{PhysicalReplay, replay_physical};

use replog_core::writer::Durability;
use replog_pagestore::{DirRecovery, Options as PageOptions, PageStore};
use replog_store::snapshot::{self, AppliedPosition};
use replog_store::storage::Storage;
use replog_store::{SimEnvironment, Store};
use std::path::Path;

/// The environment of a follower store: deterministic, and deliberately
/// not the leader's (UUID() and SYSDATE() differ on replay, as on a server).
pub fn environment() -> SimEnvironment {
    SimEnvironment::new(1_700_000_000_000_000, 0x5EED_F011_0000_0001)
}

/// A follower store in memory: the store.snapshot in `dir` (the snapshot
/// directory of earlier versions) when there is one, else empty.
pub fn open_store(dir: Option<&Path>) -> Result<(Store, AppliedPosition)> {
    if let Some(d) = dir
        && let Some((pos, st)) = snapshot::load(d).map_err(|e| Error::log(d, e))?
    {
        return Ok((Store::with_storage(st, environment()), pos));
    }
    Ok((Store::new(environment()), AppliedPosition::default()))
}

/// A follower kept in a page-store directory.
pub struct PageFollower {
    /// The store.
    pub store: Store<PageStore, SimEnvironment>,
    /// Where it stands in the log it follows (its digest is the store's).
    pub position: AppliedPosition,
    /// What opening the directory recovered.
    pub recovery: DirRecovery,
}

fn page_options(dir: &Path, page_size: Option<usize>) -> Result<PageOptions> {
    let have = PageStore::dir_page_size(dir).map_err(|e| Error::log(dir, e))?;
    let size = match (have, page_size) {
        (Some(h), Some(w)) if h != w => {
            return Err(Error::refused(
                dir,
                format!("the store uses {h}-byte pages, not {w} (--page-size)"),
            ));
        }
        (Some(h), _) => h,
        (None, w) => w.unwrap_or(PageOptions::default().page_size),
    };
    Ok(PageOptions::with_page_size(size))
}

fn follower(store: Store<PageStore, SimEnvironment>, recovery: DirRecovery) -> PageFollower {
    let position = store
        .storage()
        .position()
        .map(|p| AppliedPosition {
            digest: store.digest(),
            ..p
        })
        .unwrap_or_default();
    PageFollower {
        store,
        position,
        recovery,
    }
}

/// Opens the page store kept in `dir` (`formats/store.md` §11), creating
/// it (pages of `page_size` bytes, default 8192) or recovering it from its
/// own WAL; its position is where catch-up resumes.
pub fn open_page_store(
    dir: &Path,
    page_size: Option<usize>,
    durability: Durability,
) -> Result<PageFollower> {
    let mut o = page_options(dir, page_size)?;
    o.writer.durability = durability;
    // Small segments: an open reads the page image and only the segment
    // holding its position onwards.
    o.writer.segment_size = 4 << 20;
    let (ps, rec) = PageStore::open_dir(dir, o).map_err(|e| Error::log(dir, e))?;
    Ok(follower(Store::with_storage(ps, environment()), rec))
}

/// The page store kept in `dir`, recovered without changing any file (for
/// reading it: `replog dump`, `replog snapshot`).
pub fn read_page_store(dir: &Path) -> Result<PageFollower> {
    let o = page_options(dir, None)?;
    let (ps, rec) = PageStore::read_dir(dir, &o).map_err(|e| Error::log(dir, e))?;
    Ok(follower(Store::with_storage(ps, environment()), rec))
}

/// Whether `dir` holds a follower store (a page store or a snapshot).
pub fn is_store_dir(dir: &Path) -> bool {
    snapshot::path_in(dir).is_file() || PageStore::is_store_dir(dir)
}

/// Whether `dir` holds a store with contents or a position (a page store
/// whose creation committed nothing else does not count).
pub fn holds_data(dir: &Path) -> Result<bool> {
    if snapshot::path_in(dir).exists() {
        return Ok(true);
    }
    if !PageStore::is_store_dir(dir) {
        return Ok(false);
    }
    let f = read_page_store(dir)?;
    Ok(f.position.kind.is_some() || !f.store.databases().is_empty())
}

/// Copies every database, table definition, auto-increment counter and row
/// of `src` into the empty store `dst`, committed as one transaction of its
/// WAL together with `pos`.
pub fn copy_store<S: Storage>(src: &S, dst: &mut PageStore, pos: &AppliedPosition) -> Result<()> {
    let e = |e: replog_store::Error| Error::Write(e.to_string());
    for db in src.databases() {
        if !dst.database_exists(&db) {
            dst.create_database(&db).map_err(e)?;
        }
    }
    for id in src.tables() {
        let Some(def) = src.def(id) else { continue };
        let nid = dst.create_table(def.clone()).map_err(e)?;
        dst.set_auto_increment(nid, src.auto_increment(id));
        for k in src.keys(id) {
            if let Some(row) = src.get(id, &k) {
                dst.insert(nid, row).map_err(e)?;
            }
        }
    }
    let digest = dst
        .tables()
        .into_iter()
        .fold(0u64, |a, id| a.wrapping_add(dst.digest(id)));
    dst.stage_position(pos);
    let commit = replog_store::storage::StorageCommit {
        txid: 1,
        timestamp_us: 0,
        state_before: 0,
        state_after: digest,
    };
    Storage::commit(dst, &commit).map_err(e)
}

/// A new follower in `dir`, its contents and position those of the snapshot
/// file `file` (`replog snapshot`), ready to catch up from that position.
/// `dir` must not hold a store with data yet.
pub fn seed_from_snapshot(
    dir: &Path,
    file: &Path,
    page_size: Option<usize>,
    durability: Durability,
) -> Result<PageFollower> {
    if holds_data(dir)? {
        return Err(Error::refused(
            dir,
            "already holds a store; --from-snapshot starts a new follower".into(),
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let (pos, snap) = snapshot::decode(&bytes).map_err(|e| Error::log(file, e))?;
    let f = open_page_store(dir, page_size, durability)?;
    let mut ps = f.store.into_storage();
    copy_store(&snap, &mut ps, &pos)?;
    let store = Store::with_storage(ps, environment());
    let position = AppliedPosition {
        digest: store.digest(),
        ..pos
    };
    Ok(PageFollower {
        store,
        position,
        recovery: f.recovery,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_directory_is_created_empty_and_holds_no_data() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("f");
        assert!(!is_store_dir(&dir));
        let f = open_page_store(&dir, Some(4096), Durability::Os).unwrap();
        assert!(f.recovery.created);
        assert_eq!(f.position, AppliedPosition::default());
        f.store.into_storage().finish().unwrap();
        assert!(is_store_dir(&dir));
        assert!(!holds_data(&dir).unwrap());
        let err = open_page_store(&dir, Some(8192), Durability::Os)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("4096-byte pages, not 8192"), "{err}");
    }

    #[test]
    fn a_missing_snapshot_file_is_named_once() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("none.snapshot");
        let err = seed_from_snapshot(&tmp.path().join("f"), &missing, None, Durability::Os)
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with(&missing.display().to_string()), "{err}");
        assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    }
}
