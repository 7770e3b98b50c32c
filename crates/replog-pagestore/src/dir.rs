//! Directory mode: a store kept in a directory and recovered from its own
//! physical WAL (`formats/store.md` §11).
//!
//! ```text
//! DIR/
//!   wal/                  the store's physical WAL: segments named by
//!     0000….replog        start LSN (replog_core::writer::DirWriter)
//!   pages.image           the committed pages at one COMMIT (a checkpoint;
//!                         optional, written as the WAL grows)
//! ```
//!
//! Opening ([`PageStore::open_dir`]) redoes every committed transaction of
//! `DIR/wal/` onto empty pages (or onto the page image, from the segment
//! holding its LSN on), checks every tree, cuts whatever follows
//! the last COMMIT (an uncommitted transaction, a torn or garbled last
//! frame, a trailing CHECKPOINT, a segment whose header was being written)
//! and appends after it. Damage with valid frames after it, or in any
//! segment but the last, is not an interrupted write: it is refused.

use crate::read::PageSource;
use crate::wal::{self, RedoOptions, RedoReport, Sink};
use crate::{Options, PageStore};
use replog_core::reader::{DamageKind, LogReader, ReaderOptions, SegmentInput, segment_paths};
use replog_core::recovery::RecoveryPolicy;
use replog_core::segment::{HEADER_LEN, SegmentHeader};
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
    /// The page image recovery started from (its WAL LSN); `None`: the
    /// whole WAL was redone (no image, or one that was not usable).
    pub image_lsn: Option<u64>,
    /// Store digest at `end_lsn`.
    last_state: Option<u64>,
    /// The store's next own txid.
    next_txid: u64,
}

impl DirRecovery {
    /// The recovery that `redo` of the WAL made (from the page image
    /// `image`, when one was used), with the torn tail it accepted.
    fn redone(
        redo: RedoReport,
        torn_tail: Option<String>,
        image: Option<&ImageHeader>,
    ) -> DirRecovery {
        let redone_state = redo.last_commit.and_then(|c| c.2);
        let (end_lsn, last_state, next) = match image {
            None => (redo.committed_end_lsn, redone_state, next_txid(&redo)),
            Some(h) => (
                redo.committed_end_lsn.max(h.lsn),
                // The image's own state unless a transaction followed it.
                if redo.committed_end_lsn > h.lsn {
                    redone_state
                } else {
                    Some(h.last_state)
                },
                next_txid(&redo).max(h.next_txid),
            ),
        };
        DirRecovery {
            created: false,
            torn_tail,
            end_lsn,
            image_lsn: image.map(|h| h.lsn),
            last_state,
            next_txid: next,
            redo,
        }
    }

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

/// Judges the damage that ended the WAL: an interrupted write is accepted
/// (and described), anything else refused.
fn judge(reader: &LogReader, wal: &Path) -> Result<Option<String>> {
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
    Ok(torn_tail)
}

fn recovery_reader(inputs: Vec<SegmentInput>) -> LogReader {
    LogReader::new(
        inputs,
        ReaderOptions {
            policy: RecoveryPolicy::StopAtFirst,
            continue_after_damage: false,
            buffer_size: 0,
        },
    )
}

/// Redoes the WAL segments `segs` of `dir` into `pages`: the reader (for
/// its summary), the redo report and the torn tail judged.
fn redo_segments(
    dir: &Path,
    segs: &[PathBuf],
    opts: &Options,
    pages: &mut Vec<Vec<u8>>,
) -> Result<(LogReader, RedoReport, Option<String>)> {
    let wal = dir.join(WAL_DIR);
    let inputs = segs
        .iter()
        .map(|p| SegmentInput::file(p))
        .collect::<Result<Vec<_>>>()?;
    let mut reader = recovery_reader(inputs);
    let redo = wal::redo_log(&mut reader, opts.page_size, pages, &RedoOptions::default())
        .map_err(|e| e.context(wal.display()))?;
    let torn_tail = judge(&reader, &wal)?;
    Ok((reader, redo, torn_tail))
}

/// Redoes the committed transactions of `dir`'s WAL, from the page image
/// when there is a usable one. `None`: no WAL.
fn recover(dir: &Path, opts: &Options) -> Result<Option<(Vec<Vec<u8>>, DirRecovery)>> {
    let segs = wal_segments(dir)?;
    if segs.is_empty() {
        return Ok(None);
    }
    if let Some((h, pages)) = read_image(dir, opts.page_size)
        && let Some(r) = recover_from_image(dir, opts, &segs, h, pages)?
    {
        return Ok(Some(r));
    }
    let mut pages = Vec::new();
    let (_, redo, torn_tail) = redo_segments(dir, &segs, opts, &mut pages)?;
    Ok(Some((pages, DirRecovery::redone(redo, torn_tail, None))))
}

/// Recovery from the page image `h`/`pages`: redo from the segment holding
/// the image's LSN (records the image already has are passed over by page
/// LSN). `None` when the image does not fit the WAL (another log, or the
/// WAL does not reach its LSN): the whole WAL is redone instead.
fn recover_from_image(
    dir: &Path,
    opts: &Options,
    segs: &[PathBuf],
    h: ImageHeader,
    mut pages: Vec<Vec<u8>>,
) -> Result<Option<(Vec<Vec<u8>>, DirRecovery)>> {
    let mut from = None;
    for (i, p) in segs.iter().enumerate() {
        let mut head = Vec::with_capacity(HEADER_LEN);
        std::fs::File::open(p)
            .and_then(|f| {
                use std::io::Read;
                f.take(HEADER_LEN as u64).read_to_end(&mut head)
            })
            .map_err(|e| Error::io(e, format!("reading {}", p.display())))?;
        match SegmentHeader::parse(&head, 0) {
            Ok(sh) if sh.start_lsn <= h.lsn => from = Some((i, sh)),
            _ => break,
        }
    }
    let Some((i, sh)) = from else {
        return Ok(None);
    };
    if sh.log_id != h.log_id {
        return Ok(None);
    }
    let (reader, redo, torn_tail) = redo_segments(dir, &segs[i..], opts, &mut pages)?;
    if reader.summary().end_lsn.unwrap_or(sh.start_lsn) < h.lsn {
        // The image is ahead of the WAL (its tail was lost): not usable.
        return Ok(None);
    }
    Ok(Some((
        pages,
        DirRecovery::redone(redo, torn_tail, Some(&h)),
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
        let image = dir.join(IMAGE_FILE);
        if rec.image_lsn.is_none() && image.exists() {
            // Not usable (ahead of the WAL, damaged, another log): gone
            // before the WAL is cut, so it can never be taken for a later
            // state.
            std::fs::remove_file(&image)
                .map_err(|e| Error::io(e, format!("removing {}", image.display())))?;
            sync_dir(dir)?;
        }
        let w = DirWriter::open_append(&wal, opts.writer_options(), rec.end_lsn, rec.last_state)?;
        let log_id = w.header().log_id;
        let s = Self::from_pages(pages, opts, Sink::Dir(w), rec.next_txid, true)
            .map_err(|e| not_a_store(dir, e))?;
        {
            let mut i = s.inner.borrow_mut();
            i.dir_mode = true;
            i.image = Some(Box::new(ImageState {
                dir: dir.to_path_buf(),
                log_id,
                lsn: rec.image_lsn.unwrap_or(0),
                committed_end: rec.end_lsn,
            }));
        }
        Ok((s, rec))
    }

    fn create_in(dir: &Path, wal: &Path, opts: Options) -> Result<(PageStore, DirRecovery)> {
        let _ = std::fs::remove_file(dir.join(IMAGE_FILE));
        let s = Self::create_dir(wal, opts)?;
        sync_dir(dir)?;
        let end_lsn = s.wal_end_lsn();
        {
            let mut i = s.inner.borrow_mut();
            i.dir_mode = true;
            let log_id = match &i.sink {
                Sink::Dir(w) => w.header().log_id,
                _ => [0; 16],
            };
            i.image = Some(Box::new(ImageState {
                dir: dir.to_path_buf(),
                log_id,
                lsn: 0,
                committed_end: end_lsn,
            }));
        }
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
        let s = Self::from_pages(pages, opts.clone(), sink, rec.next_txid, true)
            .map_err(|e| not_a_store(dir, e))?;
        Ok((s, rec))
    }
}

fn next_txid(r: &RedoReport) -> u64 {
    r.max_txid
        .max(r.last_checkpoint.map_or(0, |c| c.2.saturating_sub(1)))
        .saturating_add(1)
}

/// Name of the checkpointed page image inside a store directory.
pub const IMAGE_FILE: &str = "pages.image";
/// The page image's magic: `\x89RPLPAGE`.
pub const IMAGE_MAGIC: [u8; 8] = *b"\x89RPLPAGE";
const IMAGE_HEADER_LEN: usize = 60;
/// A page image is written at a CHECKPOINT once the WAL has grown by at
/// least this much, and by at least half the image's size, since the last.
pub const IMAGE_MIN_WAL_BYTES: u64 = 1 << 20;

/// Where a directory store's page image stands (kept in the store).
#[derive(Debug, Clone)]
pub(crate) struct ImageState {
    /// The store directory.
    pub(crate) dir: PathBuf,
    /// The WAL's log id.
    pub(crate) log_id: [u8; 16],
    /// WAL LSN of the last image written or loaded (0: none).
    pub(crate) lsn: u64,
    /// WAL LSN just past the last COMMIT (where an image may stand).
    pub(crate) committed_end: u64,
}

/// A page image's header fields.
#[derive(Debug, Clone, Copy)]
struct ImageHeader {
    page_size: u32,
    log_id: [u8; 16],
    lsn: u64,
    next_txid: u64,
    last_state: u64,
}

/// Writes `pages` as `dir`'s page image at WAL LSN `lsn` (a committed end),
/// atomically: a temporary file, fsync, rename, fsync of the directory.
pub(crate) fn write_image(
    img: &ImageState,
    page_size: usize,
    lsn: u64,
    next_txid: u64,
    last_state: u64,
    pages: &[Vec<u8>],
) -> Result<()> {
    use std::io::Write;
    let mut head = Vec::with_capacity(IMAGE_HEADER_LEN);
    head.extend_from_slice(&IMAGE_MAGIC);
    head.extend_from_slice(&1u16.to_le_bytes());
    head.extend_from_slice(&replog_physical::PAGE_FORMAT_VERSION.to_le_bytes());
    head.extend_from_slice(&(page_size as u32).to_le_bytes());
    head.extend_from_slice(&img.log_id);
    head.extend_from_slice(&lsn.to_le_bytes());
    head.extend_from_slice(&next_txid.to_le_bytes());
    head.extend_from_slice(&last_state.to_le_bytes());
    head.extend_from_slice(&(pages.len() as u32).to_le_bytes());
    let mut crc = crc32c::crc32c(&head);
    let tmp = img.dir.join(format!("{IMAGE_FILE}.tmp"));
    let io = |e| Error::io(e, format!("writing {}", tmp.display()));
    let f = std::fs::File::create(&tmp).map_err(io)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    w.write_all(&head).map_err(io)?;
    for p in pages {
        crc = crc32c::crc32c_append(crc, p);
        w.write_all(p).map_err(io)?;
    }
    w.write_all(&crc.to_le_bytes()).map_err(io)?;
    let f = w.into_inner().map_err(|e| io(e.into_error()))?;
    f.sync_all().map_err(io)?;
    drop(f);
    let dst = img.dir.join(IMAGE_FILE);
    std::fs::rename(&tmp, &dst)
        .map_err(|e| Error::io(e, format!("renaming to {}", dst.display())))?;
    sync_dir(&img.dir)
}

/// Reads `dir`'s page image; `None` when there is none or it is not
/// usable (damaged, another page size or format): the WAL alone then
/// rebuilds the store.
fn read_image(dir: &Path, page_size: usize) -> Option<(ImageHeader, Vec<Vec<u8>>)> {
    let b = std::fs::read(dir.join(IMAGE_FILE)).ok()?;
    if b.len() < IMAGE_HEADER_LEN + 4 || b[..8] != IMAGE_MAGIC {
        return None;
    }
    let (data, crc) = b.split_at(b.len() - 4);
    if crc32c::crc32c(data).to_le_bytes() != crc {
        return None;
    }
    let u16_at = |i: usize| u16::from_le_bytes([data[i], data[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().unwrap_or([0; 4]));
    let u64_at = |i: usize| u64::from_le_bytes(data[i..i + 8].try_into().unwrap_or([0; 8]));
    if u16_at(8) != 1
        || u16_at(10) != replog_physical::PAGE_FORMAT_VERSION
        || u32_at(12) as usize != page_size
    {
        return None;
    }
    let mut log_id = [0u8; 16];
    log_id.copy_from_slice(&data[16..32]);
    let h = ImageHeader {
        page_size: u32_at(12),
        log_id,
        lsn: u64_at(32),
        next_txid: u64_at(40),
        last_state: u64_at(48),
    };
    let n = u32_at(56) as usize;
    let body = crate::read::PageFile::new(data.get(IMAGE_HEADER_LEN..)?, page_size)?;
    if n != body.page_count() as usize || n == 0 {
        return None;
    }
    let pages = body.to_page_list();
    let _ = h.page_size;
    Some((h, pages))
}
