//! Writers: a single segment over any `Write`, and a directory writer that
//! rotates segments by size and makes commits durable.

use crate::error::{Error, ErrorKind, Result};
use crate::frame::{self, Checksummer};
use crate::record::{Begin, Commit, LogKind, rtype};
use crate::segment::{self, HEADER_LEN, SegmentHeader};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// When the directory writer forces data to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `fdatasync` after every COMMIT: an acknowledged commit survives a
    /// crash or power loss.
    #[default]
    Commit,
    /// Leave it to the operating system; data reaches the file at every
    /// COMMIT (it survives a process crash, not a power loss).
    Os,
}

/// How a log is written.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Kind of records.
    pub kind: LogKind,
    /// Identity of the log, the same in all its segments.
    pub log_id: [u8; 16],
    /// Identity of the writing store (0 when none).
    pub store_id: u64,
    /// Generation salt of the first segment (later segments derive theirs).
    pub salt: u64,
    /// Rotate to a new segment after a COMMIT once a segment reaches this size.
    pub segment_size: u64,
    /// When commits are forced to disk (directory writer).
    pub durability: Durability,
    /// Page size (physical logs).
    pub page_size: u32,
    /// Page-format version (physical logs).
    pub page_format: u16,
    /// Format version in every segment header: [`segment::FORMAT_VERSION`],
    /// or [`segment::FORMAT_VERSION_PG`] for logical logs that may hold
    /// PostgreSQL types.
    pub version: u8,
    /// LSN of the first frame.
    pub start_lsn: u64,
    /// Sequence number of the first segment.
    pub start_seq: u32,
    /// Store digest before the first transaction, when known.
    pub start_state: Option<u64>,
}

impl WriterOptions {
    /// Defaults for `kind`: a fresh log id and salt, 64 MiB segments,
    /// fsync at every commit.
    pub fn new(kind: LogKind) -> WriterOptions {
        let seed = fresh_seed();
        let a = xxhash_rust::xxh3::xxh3_64_with_seed(b"log-id-a", seed);
        let b = xxhash_rust::xxh3::xxh3_64_with_seed(b"log-id-b", seed);
        let mut log_id = [0u8; 16];
        log_id[..8].copy_from_slice(&a.to_le_bytes());
        log_id[8..].copy_from_slice(&b.to_le_bytes());
        WriterOptions {
            kind,
            log_id,
            store_id: 0,
            salt: xxhash_rust::xxh3::xxh3_64_with_seed(b"salt", seed),
            segment_size: 64 << 20,
            durability: Durability::Commit,
            page_size: 0,
            page_format: 0,
            version: segment::FORMAT_VERSION,
            start_lsn: 0,
            start_seq: 0,
            start_state: None,
        }
    }

    /// The segment header a writer with these options starts with.
    pub fn header(&self) -> SegmentHeader {
        SegmentHeader {
            kind: self.kind,
            version: self.version,
            seq: self.start_seq,
            log_id: self.log_id,
            store_id: self.store_id,
            salt: self.salt,
            start_lsn: self.start_lsn,
            start_state: self.start_state,
            page_size: self.page_size,
            page_format: self.page_format,
        }
    }
}

fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let local = 0u8;
    t ^ (u64::from(std::process::id()) << 32) ^ (&local as *const u8 as u64)
}

/// Writes one segment to any `Write`: the header, then frames.
///
/// Frames are buffered and handed to the inner writer at every COMMIT (and
/// whenever the buffer passes 1 MiB).
#[derive(Debug)]
pub struct LogWriter<W: Write> {
    inner: W,
    header: SegmentHeader,
    ck: Checksummer,
    buf: Vec<u8>,
    body: Vec<u8>,
    next_lsn: u64,
    open_txid: Option<u64>,
    last_state: Option<u64>,
    written: u64,
}

impl<W: Write> LogWriter<W> {
    /// Starts a segment on `inner` with `opts`.
    pub fn new(inner: W, opts: &WriterOptions) -> Result<LogWriter<W>> {
        Self::with_header(inner, opts.header())
    }

    fn with_header(mut inner: W, header: SegmentHeader) -> Result<LogWriter<W>> {
        if header.start_lsn % 8 != 0 {
            return Err(Error::malformed(0, "start LSN must be a multiple of 8"));
        }
        inner
            .write_all(&header.encode())
            .map_err(|e| Error::io(e, "writing segment header"))?;
        Ok(LogWriter {
            inner,
            ck: Checksummer::new(header.salt),
            next_lsn: header.start_lsn,
            last_state: header.start_state,
            header,
            buf: Vec::with_capacity(1 << 16),
            body: Vec::with_capacity(256),
            open_txid: None,
            written: HEADER_LEN as u64,
        })
    }

    /// The segment's header.
    pub fn header(&self) -> &SegmentHeader {
        &self.header
    }

    /// LSN the next frame will get.
    pub fn next_lsn(&self) -> u64 {
        self.next_lsn
    }

    /// Bytes of this segment written or buffered so far.
    pub fn segment_len(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    /// Id of the open transaction, if any.
    pub fn open_txid(&self) -> Option<u64> {
        self.open_txid
    }

    /// The store digest after the last commit that carried one.
    pub fn last_state(&self) -> Option<u64> {
        self.last_state
    }

    fn misuse(&self, msg: &str) -> Error {
        Error::new(ErrorKind::Malformed, self.segment_len(), msg.to_string())
    }

    fn push(&mut self, body: &[u8]) -> Result<u64> {
        if body.is_empty() || body.len() > frame::MAX_BODY_LEN as usize {
            return Err(self.misuse("record body must be 1 byte to 64 MiB"));
        }
        let lsn = self.next_lsn;
        frame::encode_frame(&mut self.buf, &self.ck, lsn, body);
        self.next_lsn += frame::padded_len(body.len()) as u64;
        if self.buf.len() >= 1 << 20 {
            self.flush()?;
        }
        Ok(lsn)
    }

    /// Writes BEGIN; returns its LSN.
    pub fn begin(&mut self, b: &Begin<'_>) -> Result<u64> {
        if self.open_txid.is_some() {
            return Err(self.misuse("BEGIN inside an open transaction"));
        }
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        b.encode(&mut body);
        let r = self.push(&body);
        self.body = body;
        self.open_txid = Some(b.txid);
        r
    }

    /// Writes a format record (`body[0]` is its type, at least 0x10); returns its LSN.
    pub fn append(&mut self, body: &[u8]) -> Result<u64> {
        match body.first() {
            Some(&t) if t >= rtype::FIRST_FORMAT => {}
            _ => return Err(self.misuse("format records start with a type byte >= 0x10")),
        }
        self.push(body)
    }

    /// Writes COMMIT and hands the transaction to the inner writer; returns
    /// the COMMIT's LSN.
    pub fn commit(&mut self, c: &Commit) -> Result<u64> {
        if self.open_txid != Some(c.txid) {
            return Err(self.misuse("COMMIT does not match the open transaction"));
        }
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        c.encode(&mut body);
        let r = self.push(&body);
        self.body = body;
        self.open_txid = None;
        if c.state_after.is_some() {
            self.last_state = c.state_after;
        }
        self.flush()?;
        r
    }

    /// Hands buffered frames to the inner writer.
    pub fn flush(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.inner
                .write_all(&self.buf)
                .map_err(|e| Error::io(e, "writing frames"))?;
            self.written += self.buf.len() as u64;
            self.buf.clear();
        }
        self.inner.flush().map_err(|e| Error::io(e, "flushing log"))
    }

    /// Writes a whole transaction as a source handed it over: its BEGIN,
    /// its records' bodies as they are, its COMMIT. Returns the COMMIT's
    /// LSN.
    pub fn write_transaction(&mut self, t: &crate::txn::Transaction<'_>) -> Result<u64> {
        self.begin(&t.begin)?;
        for r in t.records() {
            self.append(r.body)?;
        }
        self.commit(&t.commit)
    }

    /// Mutable access to the inner writer (flush first).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Flushes and returns the inner writer. An open transaction stays
    /// uncommitted in the log, as after a crash.
    pub fn finish(mut self) -> Result<W> {
        self.flush()?;
        Ok(self.inner)
    }
}

/// Writes the committed transactions of `src` to `out` as the native log
/// the source stands for: the kind, format version, log id, salt and start
/// state of the segment it announces first (so the same input always gives
/// the same bytes, and a log holding PostgreSQL types says version 2).
/// `on_transaction` is told the count after each one. A source that can
/// hands a large transaction over in pieces ([`crate::txn::Piece`]): each
/// is written and flushed as it comes, so memory is bounded by a piece, not
/// by the transaction. Damage is not
/// written; the caller asks [`crate::txn::TxnSource::intolerable`]. A
/// source that announces no segment is an error.
pub fn write_source<W: Write>(
    src: &mut dyn crate::txn::TxnSource,
    out: W,
    mut on_transaction: impl FnMut(u64),
) -> Result<W> {
    use crate::txn::TxnEvent;
    src.accept_pieces(crate::txn::PIECE_BYTES);
    let mut out = Some(out);
    let mut w: Option<LogWriter<W>> = None;
    let mut n = 0u64;
    while let Some(ev) = src.next() {
        match ev? {
            TxnEvent::Segment { header, .. } => {
                if let Some(inner) = out.take() {
                    let mut o = WriterOptions::new(header.kind);
                    o.version = header.version;
                    o.log_id = header.log_id;
                    o.salt = header.salt;
                    o.start_state = header.start_state;
                    w = Some(LogWriter::new(inner, &o)?);
                }
            }
            TxnEvent::Transaction(tx) => {
                let Some(w) = w.as_mut() else {
                    return Err(Error::new(
                        ErrorKind::Malformed,
                        0,
                        "a transaction before the log's first segment header",
                    ));
                };
                if tx.piece.first() {
                    w.begin(&tx.begin)?;
                }
                for r in tx.records() {
                    w.append(r.body)?;
                }
                if tx.piece.last {
                    w.commit(&tx.commit)?;
                    n += 1;
                    on_transaction(n);
                } else {
                    // The piece leaves memory now; the COMMIT comes with
                    // the last one.
                    w.flush()?;
                }
            }
            TxnEvent::Damage(_) => {}
        }
    }
    match w {
        Some(w) => w.finish(),
        None => Err(Error::new(
            ErrorKind::Malformed,
            0,
            "the input holds no log segment to write",
        )),
    }
}

/// A whole one-segment log in memory: a [`LogWriter`] over a `Vec`, filled
/// by `write`, flushed.
pub fn write_to_vec(
    opts: &WriterOptions,
    write: impl FnOnce(&mut LogWriter<Vec<u8>>) -> Result<()>,
) -> Result<Vec<u8>> {
    let mut w = LogWriter::new(Vec::new(), opts)?;
    write(&mut w)?;
    w.finish()
}

/// Writes a log as a directory of segments named by start LSN, rotating after
/// a COMMIT once the segment reaches `segment_size`.
#[derive(Debug)]
pub struct DirWriter {
    dir: PathBuf,
    opts: WriterOptions,
    seg: LogWriter<File>,
}

impl DirWriter {
    /// Creates `dir` (if needed) and the first segment. Fails if a segment
    /// with the same name exists.
    pub fn create(dir: &Path, opts: WriterOptions) -> Result<DirWriter> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(e, format!("creating {}", dir.display())))?;
        let seg = Self::open_segment(dir, opts.header())?;
        sync_dir(dir)?;
        Ok(DirWriter {
            dir: dir.to_path_buf(),
            opts,
            seg,
        })
    }

    /// Reopens the directory log in `dir` to append after `end_lsn`, the
    /// end of its last committed transaction as recovery found it (the LSN
    /// just past that COMMIT frame). Everything after `end_lsn` is cut: the
    /// segment holding `end_lsn` (the newest one whose start LSN is at most
    /// `end_lsn`) is truncated there, and newer segments — frames past
    /// `end_lsn`, or a header torn while rotating — are deleted. The file
    /// and the directory are synced before anything new is written, so a
    /// crash during reopening leaves a log that recovers the same way.
    ///
    /// The kept segment's header (log id, salt, page size, …) continues;
    /// from `opts` only `segment_size` and `durability` are used.
    /// `last_state` is the store digest at `end_lsn` (carried into the next
    /// rotated segment's header). Fails when no segment of `dir` starts at
    /// or before `end_lsn`, when a segment with an unreadable header comes
    /// before the kept one, or when the kept segment is shorter than
    /// `end_lsn` (the caller's recovery and the files disagree).
    pub fn open_append(
        dir: &Path,
        opts: WriterOptions,
        end_lsn: u64,
        last_state: Option<u64>,
    ) -> Result<DirWriter> {
        if end_lsn % 8 != 0 {
            return Err(Error::malformed(0, "end LSN must be a multiple of 8"));
        }
        let paths = crate::reader::segment_paths(dir)?;
        // (path, header) in name order; None: unreadable header.
        let mut segs = Vec::with_capacity(paths.len());
        for p in paths {
            let mut head = Vec::with_capacity(HEADER_LEN);
            File::open(&p)
                .and_then(|f| {
                    use std::io::Read;
                    f.take(HEADER_LEN as u64).read_to_end(&mut head)
                })
                .map_err(|e| Error::io(e, format!("reading {}", p.display())))?;
            segs.push((p, SegmentHeader::parse(&head, 0).ok()));
        }
        let keep = segs
            .iter()
            .rposition(|(_, h)| h.as_ref().is_some_and(|h| h.start_lsn <= end_lsn))
            .ok_or_else(|| {
                Error::malformed(
                    0,
                    format!(
                        "{}: no segment starts at or before LSN {end_lsn}",
                        dir.display()
                    ),
                )
            })?;
        if let Some((p, _)) = segs[..keep].iter().find(|(_, h)| h.is_none()) {
            return Err(Error::malformed(
                0,
                format!("{}: segment header is unreadable", p.display()),
            ));
        }
        let (path, header) = &segs[keep];
        let Some(header) = header.clone() else {
            return Err(Error::malformed(0, "segment header vanished"));
        };
        let len = HEADER_LEN as u64 + (end_lsn - header.start_lsn);
        let file = File::options()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(e, format!("opening {}", path.display())))?;
        let have = file
            .metadata()
            .map_err(|e| Error::io(e, format!("reading {}", path.display())))?
            .len();
        if have < len {
            return Err(Error::malformed(
                have,
                format!(
                    "{}: {have} bytes, but LSN {end_lsn} is at offset {len}",
                    path.display()
                ),
            ));
        }
        if have > len {
            file.set_len(len)
                .and_then(|()| file.sync_all())
                .map_err(|e| Error::io(e, format!("truncating {}", path.display())))?;
        }
        for (p, _) in &segs[keep + 1..] {
            std::fs::remove_file(p)
                .map_err(|e| Error::io(e, format!("removing {}", p.display())))?;
        }
        sync_dir(dir)?;
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(len))
            .map_err(|e| Error::io(e, format!("seeking in {}", path.display())))?;
        let seg = LogWriter {
            inner: file,
            ck: Checksummer::new(header.salt),
            next_lsn: end_lsn,
            last_state: last_state.or(header.start_state),
            header,
            buf: Vec::with_capacity(1 << 16),
            body: Vec::with_capacity(256),
            open_txid: None,
            written: len,
        };
        Ok(DirWriter {
            dir: dir.to_path_buf(),
            opts,
            seg,
        })
    }

    fn open_segment(dir: &Path, header: SegmentHeader) -> Result<LogWriter<File>> {
        let path = dir.join(header.file_name());
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(e, format!("creating {}", path.display())))?;
        LogWriter::with_header(file, header)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The header of the segment being written (log id, salt, page size…).
    pub fn header(&self) -> &SegmentHeader {
        self.seg.header()
    }

    /// LSN the next frame will get.
    pub fn next_lsn(&self) -> u64 {
        self.seg.next_lsn()
    }

    /// Writes BEGIN.
    pub fn begin(&mut self, b: &Begin<'_>) -> Result<u64> {
        self.seg.begin(b)
    }

    /// Writes a format record.
    pub fn append(&mut self, body: &[u8]) -> Result<u64> {
        self.seg.append(body)
    }

    /// Writes COMMIT, makes it durable as configured, and rotates if the
    /// segment is full.
    pub fn commit(&mut self, c: &Commit) -> Result<u64> {
        let lsn = self.seg.commit(c)?;
        if self.opts.durability == Durability::Commit {
            self.seg
                .get_mut()
                .sync_data()
                .map_err(|e| Error::io(e, "fsync of log segment"))?;
        }
        if self.seg.segment_len() >= self.opts.segment_size {
            self.rotate()?;
        }
        Ok(lsn)
    }

    fn rotate(&mut self) -> Result<()> {
        let old = &self.seg.header;
        let header = SegmentHeader {
            seq: old.seq + 1,
            start_lsn: self.seg.next_lsn(),
            start_state: self.seg.last_state(),
            salt: xxhash_rust::xxh3::xxh3_64_with_seed(
                &old.salt.to_le_bytes(),
                u64::from(old.seq) + 1,
            ),
            ..old.clone()
        };
        let next = Self::open_segment(&self.dir, header)?;
        let prev = std::mem::replace(&mut self.seg, next);
        let f = prev.finish()?;
        f.sync_all()
            .map_err(|e| Error::io(e, "fsync of finished segment"))?;
        sync_dir(&self.dir)
    }

    /// Flushes and syncs the current segment.
    pub fn finish(self) -> Result<()> {
        let f = self.seg.finish()?;
        f.sync_all()
            .map_err(|e| Error::io(e, "fsync of log segment"))
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(e, format!("fsync of {}", dir.display())))?;
    }
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_misuse() {
        let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Statement)).unwrap();
        assert!(w.append(&[0x10]).is_ok());
        assert!(w.append(&[0x01]).is_err());
        assert!(
            w.commit(&Commit {
                txid: 1,
                timestamp_us: 0,
                state_before: None,
                state_after: None
            })
            .is_err()
        );
        w.begin(&Begin {
            txid: 1,
            timestamp_us: 0,
            server_id: 1,
            origin: "",
        })
        .unwrap();
        assert!(
            w.begin(&Begin {
                txid: 2,
                timestamp_us: 0,
                server_id: 1,
                origin: ""
            })
            .is_err()
        );
        let lsn = w
            .commit(&Commit {
                txid: 1,
                timestamp_us: 0,
                state_before: None,
                state_after: None,
            })
            .unwrap();
        assert_eq!(lsn, 16 + 32);
        let bytes = w.finish().unwrap();
        assert_eq!(bytes.len() as u64, HEADER_LEN as u64 + lsn + 48);
    }
}

#[cfg(test)]
mod append_tests {
    use super::*;
    use crate::reader::{Event, LogReader, ReaderOptions};

    fn tx(w: &mut DirWriter, txid: u64, n: usize) -> u64 {
        w.begin(&Begin {
            txid,
            timestamp_us: 0,
            server_id: 1,
            origin: "",
        })
        .unwrap();
        for i in 0..n {
            w.append(&[0x10, txid as u8, i as u8]).unwrap();
        }
        w.commit(&Commit {
            txid,
            timestamp_us: 0,
            state_before: Some(txid - 1),
            state_after: Some(txid),
        })
        .unwrap();
        w.next_lsn()
    }

    /// (txid of every COMMIT, damage count) of the log in `dir`.
    fn commits(dir: &Path) -> (Vec<u64>, usize) {
        let mut r = LogReader::open(&[dir.to_path_buf()], ReaderOptions::default()).unwrap();
        let mut out = Vec::new();
        while let Some(ev) = r.next() {
            if let Event::Frame(f) = ev.unwrap()
                && f.record_type() == rtype::COMMIT
            {
                out.push(Commit::decode(f.body, 0).unwrap().txid);
            }
        }
        (out, r.summary().damage.len())
    }

    #[test]
    fn reopens_after_a_cut_and_continues_cleanly() {
        let tmp = std::env::temp_dir().join(format!("replog-append-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let mut o = WriterOptions::new(LogKind::Statement);
        o.segment_size = 400; // rotate every few transactions
        o.durability = Durability::Os;
        let mut w = DirWriter::create(&tmp, o.clone()).unwrap();
        let mut ends = vec![0];
        for t in 1..=12 {
            ends.push(tx(&mut w, t, 3));
        }
        // An uncommitted transaction and a garbage tail after it.
        w.begin(&Begin {
            txid: 13,
            timestamp_us: 0,
            server_id: 1,
            origin: "",
        })
        .unwrap();
        w.append(&[0x10, 1, 2]).unwrap();
        w.seg.flush().unwrap();
        drop(w);
        let segs = crate::reader::segment_paths(&tmp).unwrap();
        assert!(segs.len() > 3, "the test needs rotation");
        // Cut back to the end of transaction 5 and append more.
        let mut w = DirWriter::open_append(&tmp, o.clone(), ends[5], Some(5)).unwrap();
        assert_eq!(w.next_lsn(), ends[5]);
        assert!(crate::reader::segment_paths(&tmp).unwrap().len() < segs.len());
        for t in 6..=9 {
            tx(&mut w, t, 1);
        }
        w.finish().unwrap();
        assert_eq!(commits(&tmp), ((1..=9).collect::<Vec<_>>(), 0));
        // A wrong end is refused, not silently accepted.
        assert!(DirWriter::open_append(&tmp, o.clone(), 1 << 40, None).is_err());
        assert!(DirWriter::open_append(&tmp, o, 12, None).is_err());
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
