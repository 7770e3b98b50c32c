//! Directory mode: a store kept in a directory and recovered from its own
//! physical WAL (`formats/store.md` §11).
//!
//! ```text
//! DIR/
//!   wal/                  the store's physical WAL: segments named by
//!     0000….replog        start LSN (replog_core::writer::DirWriter)
//! ```
//!
//! Opening ([`PageStore::open_dir`]) redoes every committed transaction of
//! `DIR/wal/` onto empty pages, checks every tree, cuts whatever follows
//! the last COMMIT (an uncommitted transaction, a torn or garbled last
//! frame, a trailing CHECKPOINT, a segment whose header was being written)
//! and appends after it. Damage with valid frames after it, or in any
//! segment but the last, is not an interrupted write: it is refused.

use crate::wal::{self, RedoOptions, RedoReport, Sink};
use crate::{Options, PageStore};
use replog_core::reader::{DamageKind, LogReader, ReaderOptions, segment_paths};
use replog_core::recovery::RecoveryPolicy;
use replog_core::writer::{DirWriter, LogWriter};
use replog_core::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

/// Name of the WAL directory inside a store directory.
pub const WAL_DIR: &str = "wal";

/// What opening a store directory found and did.
#[derive(Debug, Clone, Default)]
pub struct DirRecovery {
    /// The directory held no store: an empty one was created.
    pub created: bool,
    /// What redo of the WAL did (empty when created).
    pub redo: RedoReport,
    /// Damage at the end of the WAL accepted as an interrupted write (and,
    /// by [`PageStore::open_dir`], cut).
    pub torn_tail: Option<String>,
    /// LSN where the WAL continues: just past the last committed
    /// transaction.
    pub end_lsn: u64,
}

impl DirRecovery {
    /// Whether anything followed the last committed transaction (an
    /// uncommitted transaction or a torn tail).
    pub fn cut_anything(&self) -> bool {
        self.torn_tail.is_some() || self.redo.uncommitted_txid.is_some()
    }
}

fn wal_segments(dir: &Path) -> Result<Vec<PathBuf>> {
    let wal = dir.join(WAL_DIR);
    if !wal.is_dir() {
        return Ok(Vec::new());
    }
    segment_paths(&wal)
}

/// Redoes the committed transactions of `dir`'s WAL. `None`: no WAL.
fn recover(dir: &Path, opts: &Options) -> Result<Option<(Vec<Vec<u8>>, DirRecovery)>> {
    if wal_segments(dir)?.is_empty() {
        return Ok(None);
    }
    let wal = dir.join(WAL_DIR);
    let mut reader = LogReader::open(
        std::slice::from_ref(&wal),
        ReaderOptions {
            policy: RecoveryPolicy::StopAtFirst,
            continue_after_damage: false,
            buffer_size: 0,
        },
    )?;
    let mut pages = Vec::new();
    let redo = wal::redo_log(
        &mut reader,
        opts.page_size,
        &mut pages,
        &RedoOptions::default(),
    )
    .map_err(|e| e.context(wal.display()))?;
    let mut torn_tail = None;
    for d in &reader.summary().damage {
        let interrupted = d.last_segment
            && d.resumes_at.is_none()
            && matches!(d.kind, DamageKind::Frame { .. } | DamageKind::Header { .. });
        if !interrupted {
            return Err(Error::new(
                ErrorKind::Malformed,
                d.offset,
                format!(
                    "{}: {} at offset {} (LSN {}): the store's WAL is damaged before its end, which an interrupted write cannot do; refusing to recover (see `replog verify {}`)",
                    d.segment,
                    d.kind,
                    d.offset,
                    d.lsn,
                    wal.display()
                ),
            ));
        }
        torn_tail = Some(format!(
            "{}: {} at offset {} (LSN {})",
            d.segment, d.kind, d.offset, d.lsn
        ));
    }
    let end_lsn = redo.committed_end_lsn;
    Ok(Some((
        pages,
        DirRecovery {
            created: false,
            redo,
            torn_tail,
            end_lsn,
        },
    )))
}

fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(e, format!("fsync of {}", dir.display())))?;
    let _ = dir;
    Ok(())
}

fn not_a_store(dir: &Path, e: String) -> Error {
    Error::new(
        ErrorKind::Malformed,
        0,
        format!(
            "{}: the WAL's pages do not form a store: {e}",
            dir.display()
        ),
    )
}

impl PageStore {
    /// Whether `dir` holds a page-store directory (a `wal/` with segments).
    pub fn is_store_dir(dir: &Path) -> bool {
        wal_segments(dir).is_ok_and(|s| !s.is_empty())
    }

    /// The page size of the store in `dir` (its first WAL segment's
    /// header); `None` when `dir` holds no store.
    pub fn dir_page_size(dir: &Path) -> Result<Option<usize>> {
        let Some(first) = wal_segments(dir)?.into_iter().next() else {
            return Ok(None);
        };
        let mut r = LogReader::open(&[first], ReaderOptions::default())?;
        Ok(r.next().and_then(|e| match e {
            Ok(replog_core::reader::Event::Segment { header, .. }) => {
                Some(header.page_size as usize)
            }
            _ => None,
        }))
    }

    /// Opens the store kept in directory `dir` (`formats/store.md` §11),
    /// creating it when `dir` holds none (`dir` is created if needed).
    ///
    /// An existing store is recovered from its own WAL, `dir/wal/`: every
    /// committed transaction is redone onto empty pages, every tree is
    /// checked, and what follows the last COMMIT (an uncommitted
    /// transaction, a torn or garbled last frame, a segment header torn
    /// while rotating, a trailing CHECKPOINT) is cut from the files before
    /// the WAL continues after that COMMIT
    /// (`replog_core::writer::DirWriter::open_append`). Damage that an
    /// interrupted append cannot explain — valid frames after it, or in a
    /// segment other than the last — is refused, as is a WAL of another
    /// page format or of a page size other than `opts.page_size`
    /// ([`PageStore::dir_page_size`] tells it).
    ///
    /// Durability follows `opts.writer.durability`: with
    /// `Durability::Commit` (the default) a commit returns after its
    /// COMMIT frame is fdatasync'ed, so an acknowledged commit survives a
    /// power loss; with `Durability::Os` it survives a crash of the
    /// process. Commits through the `Storage` hook continue the store's
    /// own txids after a reopen.
    pub fn open_dir(dir: &Path, opts: Options) -> Result<(PageStore, DirRecovery)> {
        Self::check_page_size(opts.page_size)?;
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(e, format!("creating {}", dir.display())))?;
        let wal = dir.join(WAL_DIR);
        let recovered = recover(dir, &opts)?;
        let (pages, rec) = match recovered {
            Some((pages, rec)) if !pages.is_empty() => (pages, rec),
            Some(_) => {
                // No committed transaction 0: creation itself was cut
                // short. Only a single segment can be left by that.
                let segs = wal_segments(dir)?;
                if segs.len() > 1 {
                    return Err(not_a_store(
                        dir,
                        "no committed transaction in several segments".into(),
                    ));
                }
                for s in segs {
                    std::fs::remove_file(&s)
                        .map_err(|e| Error::io(e, format!("removing {}", s.display())))?;
                }
                return Self::create_in(dir, &wal, opts);
            }
            None => return Self::create_in(dir, &wal, opts),
        };
        let last_state = rec.redo.last_commit.and_then(|c| c.2);
        let w = DirWriter::open_append(&wal, opts.writer_options(), rec.end_lsn, last_state)?;
        let next_txid = next_txid(&rec.redo);
        let s = Self::from_pages(pages, opts, Sink::Dir(w), next_txid, true)
            .map_err(|e| not_a_store(dir, e))?;
        s.inner.borrow_mut().dir_mode = true;
        Ok((s, rec))
    }

    fn create_in(dir: &Path, wal: &Path, opts: Options) -> Result<(PageStore, DirRecovery)> {
        let s = Self::create_dir(wal, opts)?;
        sync_dir(dir)?;
        s.inner.borrow_mut().dir_mode = true;
        let end_lsn = s.wal_end_lsn();
        Ok((
            s,
            DirRecovery {
                created: true,
                end_lsn,
                ..DirRecovery::default()
            },
        ))
    }

    /// The store kept in directory `dir`, recovered as
    /// [`PageStore::open_dir`] does but without changing any file: the
    /// tail is not cut and the store logs further changes nowhere (for
    /// reading: dump, snapshot). A WAL whose creation never committed reads
    /// as an empty store (as `open_dir` would start one). Fails when `dir`
    /// holds no store.
    pub fn read_dir(dir: &Path, opts: &Options) -> Result<(PageStore, DirRecovery)> {
        Self::check_page_size(opts.page_size)?;
        let Some((pages, rec)) = recover(dir, opts)? else {
            return Err(Error::new(
                ErrorKind::Malformed,
                0,
                format!(
                    "{}: holds no page store (no {WAL_DIR}/ segments)",
                    dir.display()
                ),
            ));
        };
        if pages.is_empty() {
            // Creation was cut short: what open_dir would start afresh.
            if wal_segments(dir)?.len() > 1 {
                return Err(not_a_store(
                    dir,
                    "no committed transaction in several segments".into(),
                ));
            }
            let s = Self::new(opts.clone())?;
            return Ok((s, rec));
        }
        let mut w = opts.writer_options();
        w.start_lsn = rec.end_lsn;
        let sink = Sink::Discard(LogWriter::new(std::io::sink(), &w)?);
        let next_txid = next_txid(&rec.redo);
        let s = Self::from_pages(pages, opts.clone(), sink, next_txid, true)
            .map_err(|e| not_a_store(dir, e))?;
        Ok((s, rec))
    }
}

fn next_txid(r: &RedoReport) -> u64 {
    r.max_txid
        .max(r.last_checkpoint.map_or(0, |c| c.2.saturating_sub(1)))
        .saturating_add(1)
}
