//! Reading records from a sequence of segments.
//!
//! The reader maps each segment file into memory a window of [`WINDOW`]
//! bytes at a time (a segment given as a reader is read in chunks of whole
//! pages into one reused buffer instead), so resident memory stays small
//! whatever the segment size. A record that lies within one page is handed
//! out as a slice of the window or buffer, without copying; a record that straddles pages (or
//! segments) is gathered into a second reused buffer, which grows only as
//! the record's bytes are actually found, so a damaged `xl_tot_len` cannot
//! make it allocate.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use replog_core::reader::read_full;
use replog_core::recovery::DamageClass;

use crate::consts::*;
use crate::error::{Error, ErrorKind, Result};
use crate::record::{BlockHeader, Lsn, RecordBody, RecordHeader, decode_head, record_crc};
use crate::segment::SegmentName;
use crate::{Bytes, Record};

/// Bytes read from a segment at a time (a multiple of every page size).
const CHUNK: usize = 1 << 20;

/// Bytes of a segment file mapped at a time (a multiple of every page size
/// and of the system's page size).
const WINDOW: u64 = 8 << 20;

/// Bytes mapped first of a segment file after the first one.
const FIRST_WINDOW: u64 = 512 << 10;

/// The bytes of the current chunk: the mapped segment, or the read buffer.
macro_rules! chunk {
    ($s:expr) => {
        match &$s.map {
            Some(m) => &m[..],
            None => &$s.buf[..],
        }
    };
}

/// Where the WAL bytes of one segment come from.
pub struct SegmentInput {
    name: Arc<str>,
    file_name: Option<SegmentName>,
    source: Source,
}

enum Source {
    Path(PathBuf),
    Reader(Box<dyn Read + Send>),
}

impl SegmentInput {
    /// A segment file; its name is checked against its page addresses when
    /// it is a segment name.
    pub fn path(path: impl Into<PathBuf>) -> SegmentInput {
        let path = path.into();
        let file_name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(SegmentName::parse);
        SegmentInput {
            name: Arc::from(path.display().to_string()),
            file_name,
            source: Source::Path(path),
        }
    }

    /// A segment read from `reader`, shown as `name` in errors (checked like
    /// a file name when it is one).
    pub fn reader(name: &str, reader: impl Read + Send + 'static) -> SegmentInput {
        let base = Path::new(name)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(name);
        SegmentInput {
            name: Arc::from(name),
            file_name: SegmentName::parse(base),
            source: Source::Reader(Box::new(reader)),
        }
    }

    /// A segment held in memory.
    pub fn bytes(name: &str, bytes: Vec<u8>) -> SegmentInput {
        SegmentInput::reader(name, std::io::Cursor::new(bytes))
    }

    /// The name shown in errors.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What the long page header of the first segment says about the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WalInfo {
    /// Version recognised from the page magic.
    pub version: PgVersion,
    /// Database system identifier.
    pub system_id: u64,
    /// Segment size in bytes.
    pub segment_size: u32,
    /// WAL page size in bytes (also taken as the data page size).
    pub page_size: u32,
    /// Timeline of the first page read.
    pub timeline: u32,
}

/// How the WAL ended when the reader returned `None`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum WalEnd {
    /// Zeros from the end of the last record to the end of the segment: a
    /// segment still being written, or one past the end of WAL.
    ZeroedTail {
        /// Where the next record would start.
        lsn: Lsn,
        /// File holding it.
        file: String,
        /// Offset in that file.
        offset: u64,
        /// Files after it that hold no WAL of this history (preallocated
        /// or recycled segments).
        unused_files: Vec<String>,
    },
    /// The next page belongs to an older segment this file was recycled
    /// from: the end of WAL, as PostgreSQL sees it.
    Recycled {
        /// Where the next record would start.
        lsn: Lsn,
        /// File holding it.
        file: String,
        /// Offset in that file.
        offset: u64,
        /// Files after it that hold no WAL of this history.
        unused_files: Vec<String>,
    },
    /// The last input ended exactly at the end of a segment.
    EndOfInput {
        /// Where the next record would start.
        lsn: Lsn,
    },
}

impl WalEnd {
    /// The LSN where the WAL ends.
    pub fn lsn(&self) -> Lsn {
        match self {
            WalEnd::ZeroedTail { lsn, .. }
            | WalEnd::Recycled { lsn, .. }
            | WalEnd::EndOfInput { lsn } => *lsn,
        }
    }
}

struct Current {
    name: Arc<str>,
    file_name: Option<SegmentName>,
    reader: Box<dyn Read + Send>,
    /// LSN of the segment's first byte.
    seg_lsn: u64,
    /// Bytes of the segment read so far (chunk ends here).
    read: u64,
    /// The reader reached the end of the input.
    eof: bool,
    /// The segment file, when it is mapped window by window
    /// (`WalReader::map`) rather than read through `reader`, and its length.
    mapped: Option<(std::fs::File, u64)>,
}

/// Where the record being returned lies.
enum Loc {
    /// `chunk[s..e]`.
    Chunk(usize, usize),
    /// In `pieces` of the chunk, copied together only when asked for.
    Pieces,
    /// Copied into `assembly` (it crossed a window or segment boundary).
    Assembled,
}

/// A record being gathered across pages.
struct Partial {
    lsn: u64,
    /// Offset of its first byte in its file, and that file (`None`: the
    /// current segment, for a record within one page: this spares counting
    /// references to the name on every record).
    offset: u64,
    file: Option<Arc<str>>,
    timeline: u32,
    tot_len: u32,
    /// Bytes found so far.
    gathered: usize,
    /// They are in `assembly` (else in `pieces` of the chunk).
    copied: bool,
}

/// Reads the records of consecutive WAL segments, in order.
///
/// This is a lending iterator: each [`Record`] borrows from the reader and
/// must be dropped before the next call to [`next_record`](Self::next_record).
/// See the [crate docs](crate) for an example.
pub struct WalReader {
    inputs: std::vec::IntoIter<SegmentInput>,
    cur: Option<Current>,
    info: Option<WalInfo>,
    /// Read buffer of segments that are not mapped.
    buf: Vec<u8>,
    /// The current window of a mapped segment file: then the chunk.
    map: Option<memmap2::Mmap>,
    chunk_len: usize,
    /// Offset in the segment of `chunk[0]`.
    chunk_off: u64,
    /// Position in `chunk`.
    pos: usize,
    /// End of the current page in `chunk` (header parsed up to here).
    page_end: usize,
    assembly: Vec<u8>,
    /// Ranges of the chunk holding a record that straddles pages.
    pieces: Vec<std::ops::Range<usize>>,
    /// Such a record copied together, when asked for (`Record::bytes`).
    lazy: std::cell::OnceCell<Vec<u8>>,
    /// The buffer `lazy` reuses.
    spare: std::cell::RefCell<Vec<u8>>,
    partial: Option<Partial>,
    /// Bytes of a record begun before the first segment still to skip.
    skip_rem: u32,
    /// Records have been read (the start is no longer mid-record).
    started: bool,
    prev: Option<Lsn>,
    last_tli: u32,
    /// After XLOG_SWITCH: the rest of the segment holds no records.
    switch_pending: bool,
    blocks: Vec<BlockHeader>,
    body: RecordBody,
    header: Option<RecordHeader>,
    loc: Loc,
    rec_lsn: u64,
    rec_end: u64,
    rec_file: Arc<str>,
    rec_offset: u64,
    rec_timeline: u32,
    end: Option<WalEnd>,
    /// A page header has been read (a continuation is no longer the start).
    began_skip: bool,
    failed: bool,
    verify_crc: bool,
    /// Bytes of a segment file mapped at a time.
    window: u64,
    /// The history of the timeline read, when known.
    history: Option<crate::history::TimelineHistory>,
}

impl WalReader {
    /// A reader over `inputs`, which must be consecutive segments of one
    /// cluster in WAL order.
    pub fn new(inputs: Vec<SegmentInput>) -> WalReader {
        WalReader {
            inputs: inputs.into_iter(),
            cur: None,
            info: None,
            buf: Vec::new(),
            map: None,
            chunk_len: 0,
            chunk_off: 0,
            pos: 0,
            page_end: 0,
            assembly: Vec::new(),
            pieces: Vec::new(),
            lazy: std::cell::OnceCell::new(),
            spare: std::cell::RefCell::new(Vec::new()),
            partial: None,
            skip_rem: 0,
            started: false,
            prev: None,
            last_tli: 0,
            switch_pending: false,
            blocks: Vec::new(),
            body: RecordBody::default(),
            header: None,
            loc: Loc::Assembled,
            rec_lsn: 0,
            rec_end: 0,
            rec_file: Arc::from(""),
            rec_offset: 0,
            rec_timeline: 0,
            end: None,
            began_skip: false,
            failed: false,
            verify_crc: true,
            window: WINDOW,
            history: None,
        }
    }

    /// A reader over segment files, given in WAL order.
    pub fn open(paths: &[PathBuf]) -> WalReader {
        WalReader::new(paths.iter().map(SegmentInput::path).collect())
    }

    /// Skips CRC checks (for fuzzing, where mutations would never get past
    /// them).
    #[doc(hidden)]
    pub fn without_crc_checks(mut self) -> WalReader {
        self.verify_crc = false;
        self
    }

    /// Maps segment files `bytes` at a time instead of 8 MiB (a multiple
    /// of 64 KiB; for tests of records that cross windows).
    #[doc(hidden)]
    pub fn with_window(mut self, bytes: u64) -> WalReader {
        assert!(
            bytes > 0 && bytes % (64 << 10) == 0,
            "window of {bytes} bytes"
        );
        self.window = bytes;
        self
    }

    /// Checks every page's timeline against `history` (the history of the
    /// timeline read): a page must carry the timeline the history puts its
    /// address on.
    pub fn with_history(mut self, history: crate::history::TimelineHistory) -> WalReader {
        self.history = Some(history);
        self
    }

    /// The cluster's parameters, known once the first page has been read.
    pub fn info(&self) -> Option<WalInfo> {
        self.info
    }

    /// How the WAL ended, once [`next_record`](Self::next_record) has
    /// returned `Ok(None)`.
    pub fn end(&self) -> Option<&WalEnd> {
        self.end.as_ref()
    }

    /// The next record; `Ok(None)` at the normal end of WAL (see
    /// [`end`](Self::end)). An error is damage (with its
    /// [`damage_class`](Error::damage_class)) or an I/O error, and ends the
    /// reading.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>> {
        if self.failed || self.end.is_some() {
            return Ok(None);
        }
        if let Some(v) = self.lazy.take() {
            *self.spare.get_mut() = v;
        }
        match self.advance() {
            Ok(true) => {
                let info = self.info.expect("a record implies a page header");
                let bytes = match self.loc {
                    Loc::Chunk(s, e) => Bytes::Whole(&chunk!(self)[s..e]),
                    Loc::Assembled => Bytes::Whole(&self.assembly[..]),
                    Loc::Pieces => Bytes::Pieces {
                        chunk: chunk!(self),
                        pieces: &self.pieces,
                        cell: &self.lazy,
                        spare: &self.spare,
                    },
                };
                Ok(Some(Record {
                    lsn: Lsn(self.rec_lsn),
                    end: Lsn(self.rec_end),
                    header: self.header.expect("header of the record"),
                    bytes,
                    body: self.body.clone(),
                    block_headers: &self.blocks,
                    version: info.version,
                    block_size: info.page_size,
                    segment_size: info.segment_size,
                    file: &self.rec_file,
                    offset: self.rec_offset,
                    timeline: self.rec_timeline,
                }))
            }
            Ok(false) => Ok(None),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    /// Timeline of the current segment: from its file name, else from its
    /// last page header.
    fn cur_timeline(&self) -> u32 {
        self.cur
            .as_ref()
            .and_then(|c| c.file_name)
            .map_or(self.last_tli, |n| n.timeline)
    }

    fn cur_name(&self) -> Arc<str> {
        self.cur
            .as_ref()
            .map(|c| c.name.clone())
            .unwrap_or_else(|| Arc::from(""))
    }

    /// Segment offset and LSN of `chunk[pos]`.
    fn where_(&self, pos: usize) -> (u64, Lsn) {
        let off = self.chunk_off + pos as u64;
        let base = self.cur.as_ref().map_or(0, |c| c.seg_lsn);
        (off, Lsn(base + off))
    }

    fn err_at(&self, pos: usize, kind: ErrorKind, msg: String) -> Error {
        let (off, lsn) = self.where_(pos);
        Error::new(kind, msg)
            .in_file(Some(self.cur_name()))
            .at(off, lsn)
    }

    /// Moves to the next record; true when one is ready.
    fn advance(&mut self) -> Result<bool> {
        if self.switch_pending {
            // The rest of the segment after XLOG_SWITCH holds no records.
            self.switch_pending = false;
            let seg = self.segment_size();
            if let Some(c) = &mut self.cur {
                c.eof = true;
                c.read = seg;
            }
            self.pos = self.chunk_len;
            self.page_end = self.chunk_len;
        }
        loop {
            if self.pos >= self.chunk_len {
                if !self.load_chunk()? {
                    return self.finish_input();
                }
                continue;
            }
            if self.pos >= self.page_end {
                if !self.page_header()? {
                    return Ok(false);
                }
                continue;
            }
            if self.skip_rem > 0 {
                let n = (self.skip_rem as usize).min(self.page_end - self.pos);
                self.skip_rem -= n as u32;
                self.pos += n;
                if self.skip_rem == 0 {
                    if !self.padding_is_zero(self.pos) {
                        return self.damage(
                            self.pos,
                            ErrorKind::Record,
                            "non-zero padding after a record".into(),
                        );
                    }
                    self.pos = align(self.pos).min(self.page_end);
                }
                continue;
            }
            if let Some(p) = &mut self.partial {
                let missing = p.tot_len as usize - p.gathered;
                let n = missing.min(self.page_end - self.pos);
                if p.copied {
                    self.assembly
                        .extend_from_slice(&chunk!(self)[self.pos..self.pos + n]);
                } else {
                    self.pieces.push(self.pos..self.pos + n);
                }
                p.gathered += n;
                self.pos += n;
                if p.gathered == p.tot_len as usize {
                    if !self.padding_is_zero(self.pos) {
                        return self.damage(
                            self.pos,
                            ErrorKind::Record,
                            "non-zero padding after a record".into(),
                        );
                    }
                    let p = self.partial.take().expect("partial record");
                    let end = self.where_(align(self.pos)).1;
                    self.pos = align(self.pos).min(self.page_end);
                    self.rec_lsn = p.lsn;
                    self.rec_end = end.0;
                    self.rec_file = p.file.clone().expect("file of a straddling record");
                    self.rec_offset = p.offset;
                    self.rec_timeline = p.timeline;
                    self.loc = if p.copied {
                        Loc::Assembled
                    } else {
                        Loc::Pieces
                    };
                    if let Err(e) = self.finish_record(&p) {
                        return self.classify(e, self.pos);
                    }
                    return Ok(true);
                }
                continue;
            }
            // A record starts here.
            let room = self.page_end - self.pos;
            if room < 4 {
                let m = format!("segment file ends {room} bytes into a record header");
                return self.damage(self.pos, ErrorKind::Truncated, m);
            }
            let tot_len = u32::from_le_bytes(
                chunk!(self)[self.pos..self.pos + 4]
                    .try_into()
                    .expect("4 bytes"),
            );
            if tot_len == 0 {
                return self.end_of_wal(self.pos);
            }
            if (tot_len as usize) < RECORD_HEADER || tot_len > MAX_RECORD_SIZE {
                let m = format!("invalid record length {tot_len}");
                return self.damage(self.pos, ErrorKind::Record, m);
            }
            // Start loading where the next record begins while this one is
            // checked.
            touch(chunk!(self), self.pos + tot_len as usize);
            if room >= RECORD_HEADER {
                let h = RecordHeader::parse(&chunk!(self)[self.pos..]).expect("24 bytes");
                if let Err(m) = self.check_header(&h) {
                    return self.damage(self.pos, ErrorKind::Record, m);
                }
            }
            let (off, lsn) = self.where_(self.pos);
            let mut p = Partial {
                lsn: lsn.0,
                offset: off,
                file: None,
                timeline: self.cur_timeline(),
                tot_len,
                gathered: 0,
                copied: false,
            };
            if tot_len as usize <= room {
                let (s, e) = (self.pos, self.pos + tot_len as usize);
                if !self.padding_is_zero(e) {
                    return self.damage(
                        e,
                        ErrorKind::Record,
                        "non-zero padding after a record".into(),
                    );
                }
                self.pos = align(e).min(self.page_end);
                self.rec_lsn = lsn.0;
                self.rec_end = self.where_(align(e)).1.0;
                if let Some(c) = &self.cur
                    && !Arc::ptr_eq(&self.rec_file, &c.name)
                {
                    self.rec_file = c.name.clone();
                }
                self.rec_offset = off;
                self.rec_timeline = p.timeline;
                self.loc = Loc::Chunk(s, e);
                if let Err(e) = self.finish_record(&p) {
                    let e = e.in_file(Some(self.cur_name()));
                    return self.classify(e, s + 8);
                }
                return Ok(true);
            }
            // Straddles the page: gather it, growing only with bytes found.
            self.pieces.clear();
            self.pieces.push(self.pos..self.page_end);
            p.file = Some(self.cur_name());
            self.partial = Some(Partial {
                gathered: self.page_end - self.pos,
                ..p
            });
            self.pos = self.page_end;
        }
    }

    /// PostgreSQL zeroes WAL pages before filling them, so the bytes that
    /// align a record's end are zero.
    fn padding_is_zero(&self, end: usize) -> bool {
        let stop = align(end).min(self.page_end).min(self.chunk_len);
        chunk!(self)[end.min(stop)..stop].iter().all(|&b| b == 0)
    }

    fn segment_size(&self) -> u64 {
        self.info.map_or(u64::MAX, |i| u64::from(i.segment_size))
    }

    fn check_header(&self, h: &RecordHeader) -> std::result::Result<(), String> {
        let info = self.info.expect("page header read");
        if h.rmid > info.version.max_rmgr_id()
            || (h.rmid >= rmgr::BUILTIN_COUNT && h.rmid < rmgr::MIN_CUSTOM)
        {
            return Err(format!("invalid resource manager id {}", h.rmid));
        }
        if let Some(prev) = self.prev
            && h.prev != prev
        {
            return Err(format!(
                "record with incorrect prev-link {} (previous record at {prev})",
                h.prev
            ));
        }
        Ok(())
    }

    /// Checks a complete record's header, CRC and block references. The
    /// error is not yet classified.
    fn finish_record(&mut self, p: &Partial) -> Result<()> {
        if matches!(self.loc, Loc::Pieces) && self.pieces[0].len() < RECORD_HEADER {
            // The record header itself straddles pages.
            self.copy_pieces();
        }
        let bytes = match self.loc {
            Loc::Chunk(s, e) => &chunk!(self)[s..e],
            Loc::Pieces => &chunk!(self)[self.pieces[0].clone()],
            Loc::Assembled => &self.assembly[..],
        };
        let h = RecordHeader::parse(bytes).expect("record of at least 24 bytes");
        let info = self.info.expect("page header read");
        let at = |e: Error, rel: u64| -> Error {
            let lsn = lsn_at(p.lsn, rel, info);
            // A record within one page is in the current segment: the
            // caller names it.
            e.in_file(p.file.clone())
                .at(lsn % u64::from(info.segment_size), Lsn(lsn))
        };
        if let Err(m) = self.check_header(&h) {
            return Err(at(Error::new(ErrorKind::Record, m), 0));
        }
        if self.verify_crc {
            let crc = match self.loc {
                Loc::Pieces => {
                    let chunk = chunk!(self);
                    let mut crc = crate::crc::crc32c(&bytes[RECORD_HEADER..]);
                    for r in &self.pieces[1..] {
                        crc = crate::crc::crc32c_append(crc, &chunk[r.clone()]);
                    }
                    crate::crc::crc32c_append(crc, &bytes[..20])
                }
                _ => record_crc(bytes),
            };
            if crc != h.crc {
                let m = format!(
                    "incorrect record CRC-32C 0x{:08X}, computed 0x{crc:08X}",
                    h.crc
                );
                return Err(at(Error::new(ErrorKind::Checksum, m), 0));
            }
        }
        let mut decoded = decode_head(
            bytes,
            h.tot_len as usize,
            info.version,
            info.page_size,
            &mut self.blocks,
        );
        if let Ok(None) = decoded {
            // The block headers run onto the next page.
            self.copy_pieces();
            decoded = decode_head(
                &self.assembly,
                h.tot_len as usize,
                info.version,
                info.page_size,
                &mut self.blocks,
            );
        }
        match decoded {
            Ok(Some(body)) => self.body = body,
            Ok(None) => unreachable!("the whole record was decoded"),
            Err(e) => {
                let rel = e.offset().unwrap_or(0);
                return Err(at(Error::new(e.kind(), e.message().to_string()), rel));
            }
        }
        self.header = Some(h);
        self.prev = Some(Lsn(p.lsn));
        self.started = true;
        if h.rmid == rmgr::XLOG && h.info & 0xF0 == 0x40 {
            // XLOG_SWITCH: the record ends its segment.
            self.switch_pending = true;
            let seg = u64::from(info.segment_size);
            self.rec_end = (p.lsn / seg + 1) * seg;
        }
        Ok(())
    }

    /// Reads the next chunk of the current segment, or opens the next
    /// segment. False when there is no more input.
    fn load_chunk(&mut self) -> Result<bool> {
        if self.read_chunk()? {
            return Ok(true);
        }
        // The current segment is done: it must have been complete.
        let seg = self.segment_size();
        if let Some(cur) = &self.cur
            && cur.read < seg
        {
            let m = format!("segment file ends after {} of {seg} bytes", cur.read);
            let class = if self.inputs.len() > 0 {
                DamageClass::Corrupt
            } else {
                DamageClass::TornTail
            };
            let e = Error::new(ErrorKind::Truncated, m)
                .in_file(Some(cur.name.clone()))
                .at(cur.read, Lsn(cur.seg_lsn.wrapping_add(cur.read)));
            return Err(e.classed(class));
        }
        let Some(input) = self.inputs.next() else {
            return Ok(false);
        };
        let seg_lsn = match &self.cur {
            Some(c) => c.seg_lsn + seg,
            None => u64::MAX,
        };
        if let (Some(name), Some(info)) = (input.file_name, self.info)
            && seg_lsn != u64::MAX
            && name.segno(info.segment_size) != Some(seg_lsn / seg)
        {
            let want = SegmentName::format(self.last_tli, seg_lsn / seg, info.segment_size);
            let m = format!("expected segment {want} next: segments are missing or out of order");
            let e = Error::new(ErrorKind::Gap, m)
                .in_file(Some(input.name.clone()))
                .at(0, Lsn(seg_lsn));
            return Err(e.classed(DamageClass::Corrupt));
        }
        self.map = None;
        let mut mapped = None;
        let reader: Box<dyn Read + Send> = match input.source {
            Source::Path(p) => {
                let io = |e| Error::io(e, &input.name);
                let file = std::fs::File::open(&p).map_err(io)?;
                let len = file.metadata().map_err(io)?.len();
                mapped = Some((file, len));
                Box::new(std::io::empty())
            }
            Source::Reader(r) => r,
        };
        self.cur = Some(Current {
            name: input.name.clone(),
            file_name: input.file_name,
            reader,
            seg_lsn,
            read: 0,
            eof: false,
            mapped,
        });
        self.chunk_len = 0;
        self.chunk_off = 0;
        self.pos = 0;
        self.page_end = 0;
        self.load_chunk()
    }

    /// Copies the pieces of the record being gathered (or just gathered)
    /// into `assembly`, before the chunk they are in goes.
    fn copy_pieces(&mut self) {
        let done = matches!(self.loc, Loc::Pieces);
        let gathering = self.partial.as_ref().is_some_and(|p| !p.copied);
        if !(done || gathering) {
            return;
        }
        self.assembly.clear();
        for r in &self.pieces {
            self.assembly.extend_from_slice(&chunk!(self)[r.clone()]);
        }
        self.pieces.clear();
        if let Some(p) = &mut self.partial {
            p.copied = true;
        }
        if done {
            self.loc = Loc::Assembled;
        }
    }

    /// Reads the next chunk of the current segment; false at its end.
    fn read_chunk(&mut self) -> Result<bool> {
        if self.partial.as_ref().is_some_and(|p| !p.copied) {
            self.copy_pieces();
        }
        let seg = self.segment_size();
        let Some(cur) = &mut self.cur else {
            return Ok(false);
        };
        if cur.eof {
            return Ok(false);
        }
        let want = (CHUNK as u64).min(seg.saturating_sub(cur.read)) as usize;
        if want == 0 {
            cur.eof = true;
            return Ok(false);
        }
        if let Some((file, len)) = &cur.mapped {
            // A segment after the first starts with a smaller window: a
            // reader of a part (`crate::parallel`) reads only the start of
            // the next part's first segment, and mapping costs per page.
            let window = if cur.read == 0 && seg != u64::MAX {
                self.window.min(FIRST_WINDOW)
            } else {
                self.window
            };
            let n = window
                .min(seg.saturating_sub(cur.read))
                .min(len.saturating_sub(cur.read));
            self.map = None;
            if n == 0 {
                cur.eof = true;
                return Ok(false);
            }
            self.map = Some(map_window(file, cur.read, n).map_err(|e| Error::io(e, &cur.name))?);
            self.chunk_off = cur.read;
            cur.read += n;
            self.chunk_len = n as usize;
            self.pos = 0;
            self.page_end = 0;
            return Ok(true);
        }
        if self.buf.len() < CHUNK {
            self.buf.resize(CHUNK, 0);
        }
        let n = read_full(&mut cur.reader, &mut self.buf[..want])
            .map_err(|e| Error::io(e, &cur.name))?;
        self.chunk_off = cur.read;
        cur.read += n as u64;
        self.chunk_len = n;
        self.pos = 0;
        self.page_end = 0;
        if n < want {
            cur.eof = true;
        }
        Ok(n > 0)
    }

    /// Reads and checks the page header at `pos`; false at the end of WAL.
    fn page_header(&mut self) -> Result<bool> {
        let pos = self.pos;
        let seg_off = self.chunk_off + pos as u64;
        let first = seg_off == 0;
        let hdr_len = if first {
            LONG_PAGE_HEADER
        } else {
            SHORT_PAGE_HEADER
        };
        let avail = self.chunk_len - pos;
        if chunk!(self)[pos..pos + avail.min(hdr_len)]
            .iter()
            .all(|&b| b == 0)
        {
            return self.end_of_wal(pos);
        }
        if avail < hdr_len {
            let m = format!("segment file ends {avail} bytes into a page header");
            return self.damage(pos, ErrorKind::Truncated, m);
        }
        let b = &chunk!(self)[pos..pos + hdr_len];
        let magic = u16::from_le_bytes([b[0], b[1]]);
        let flags = u16::from_le_bytes([b[2], b[3]]);
        let tli = le32(&b[4..]);
        let pageaddr = le64(&b[8..]);
        let rem_len = le32(&b[16..]);
        let version = match self.info {
            None => match PgVersion::from_magic(magic) {
                Some(v) => v,
                None => {
                    let m = format!(
                        "unknown WAL page magic 0x{magic:04X} (PostgreSQL 13 to 18 use 0xD106, 0xD10D, 0xD110, 0xD113, 0xD116, 0xD118)"
                    );
                    return Err(self.err_at(pos, ErrorKind::UnknownVersion, m));
                }
            },
            Some(i) => {
                if magic != i.version.magic() {
                    let m = format!(
                        "invalid page magic 0x{magic:04X} ({} uses 0x{:04X})",
                        i.version,
                        i.version.magic()
                    );
                    return self.damage(pos, ErrorKind::PageHeader, m);
                }
                i.version
            }
        };
        if b[20..24] != [0; 4] {
            return self.damage(
                pos,
                ErrorKind::PageHeader,
                "non-zero padding in the page header".into(),
            );
        }
        if flags & !XLP_ALL_FLAGS != 0 {
            return self.damage(
                pos,
                ErrorKind::PageHeader,
                format!("invalid page flags 0x{flags:04X}"),
            );
        }
        if first != (flags & XLP_LONG_HEADER != 0) {
            let m = if first {
                "first page of a segment without the long header"
            } else {
                "long header on a page inside a segment"
            };
            return self.damage(pos, ErrorKind::PageHeader, m.to_string());
        }
        if first {
            let sysid = le64(&b[24..]);
            let seg_size = le32(&b[32..]);
            let page_size = le32(&b[36..]);
            if !seg_size.is_power_of_two()
                || !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&seg_size)
            {
                return self.damage(
                    pos,
                    ErrorKind::PageHeader,
                    format!("invalid segment size {seg_size}"),
                );
            }
            if !page_size.is_power_of_two() || !(1024..=65536).contains(&page_size) {
                return self.damage(
                    pos,
                    ErrorKind::PageHeader,
                    format!("invalid WAL page size {page_size}"),
                );
            }
            match self.info {
                None => {
                    if pageaddr % u64::from(seg_size) != 0 {
                        let m = format!(
                            "segment starts at {}, not a segment boundary",
                            Lsn(pageaddr)
                        );
                        return self.damage(pos, ErrorKind::PageHeader, m);
                    }
                    self.info = Some(WalInfo {
                        version,
                        system_id: sysid,
                        segment_size: seg_size,
                        page_size,
                        timeline: tli,
                    });
                    let cur = self.cur.as_mut().expect("a segment is open");
                    cur.seg_lsn = pageaddr;
                    if cur.mapped.is_some() && cur.read > u64::from(seg_size) {
                        // Mapped before the segment size was known: bytes
                        // past the segment's end are not WAL.
                        cur.read = u64::from(seg_size);
                        self.chunk_len = seg_size as usize;
                    }
                    if let Some(name) = cur.file_name
                        && name.segno(seg_size) != Some(pageaddr / u64::from(seg_size))
                    {
                        let m = format!(
                            "file name does not match the segment's address {}",
                            Lsn(pageaddr)
                        );
                        return Err(self
                            .err_at(pos, ErrorKind::Gap, m)
                            .classed(DamageClass::Corrupt));
                    }
                }
                Some(i) => {
                    if (sysid, seg_size, page_size) != (i.system_id, i.segment_size, i.page_size) {
                        let m = format!(
                            "segment of another cluster: system id {sysid}, segment size {seg_size}, page size {page_size} (first segment: {}, {}, {})",
                            i.system_id, i.segment_size, i.page_size
                        );
                        return Err(self
                            .err_at(pos, ErrorKind::Gap, m)
                            .classed(DamageClass::Corrupt));
                    }
                }
            }
        }
        let expected = self.cur.as_ref().map_or(0, |c| c.seg_lsn) + seg_off;
        if pageaddr != expected {
            if pageaddr < expected && self.partial.is_none() {
                // Left over from the segment this file was recycled from.
                return self.recycled_end(pos);
            }
            let m = format!(
                "unexpected page address {} (expected {})",
                Lsn(pageaddr),
                Lsn(expected)
            );
            return self.damage(pos, ErrorKind::PageHeader, m);
        }
        if tli < self.last_tli {
            let m = format!("out-of-sequence timeline {tli} after {}", self.last_tli);
            return self.damage(pos, ErrorKind::PageHeader, m);
        }
        if let Some(name) = self.cur.as_ref().and_then(|c| c.file_name)
            && tli > name.timeline
        {
            let m = format!(
                "page of timeline {tli} in a file of timeline {}",
                name.timeline
            );
            return self.damage(pos, ErrorKind::PageHeader, m);
        }
        if let Some(h) = &self.history {
            let want = h.timeline_of(Lsn(pageaddr));
            if tli != want {
                let m = format!(
                    "page of timeline {tli}, but the history of timeline {} ({}) puts {} on timeline {want}",
                    h.timeline,
                    h.file,
                    Lsn(pageaddr)
                );
                return self.damage(pos, ErrorKind::History, m);
            }
        }
        self.last_tli = tli;
        let cont = flags & XLP_FIRST_IS_CONTRECORD != 0;
        if let Some(p) = &self.partial {
            if !cont {
                if flags & XLP_FIRST_IS_OVERWRITE_CONTRECORD != 0 {
                    // The rest of the record was never written; PostgreSQL
                    // abandoned it and continued here.
                    self.partial = None;
                } else {
                    let m = format!(
                        "record at {} continues on this page, which has no continuation flag",
                        Lsn(p.lsn)
                    );
                    return self.damage(pos, ErrorKind::Continuation, m);
                }
            } else {
                let missing = p.tot_len - p.gathered as u32;
                if rem_len != missing {
                    let m = format!(
                        "continuation of {rem_len} bytes, the record at {} needs {missing}",
                        Lsn(p.lsn)
                    );
                    return self.damage(pos, ErrorKind::Continuation, m);
                }
            }
        } else if cont {
            if self.skip_rem > 0 {
                if rem_len != self.skip_rem {
                    let m = format!(
                        "continuation of {rem_len} bytes, {} expected",
                        self.skip_rem
                    );
                    return self.damage(pos, ErrorKind::Continuation, m);
                }
            } else if !self.started && self.prev.is_none() && !self.began_skip {
                // The first page read ends a record begun before it.
                self.skip_rem = rem_len;
            } else {
                let m = format!("unexpected continuation of {rem_len} bytes");
                return self.damage(pos, ErrorKind::Continuation, m);
            }
            if rem_len == 0 {
                return self.damage(
                    pos,
                    ErrorKind::Continuation,
                    "continuation of 0 bytes".to_string(),
                );
            }
        }
        self.began_skip = true;
        let page = self.info.expect("set above").page_size as usize;
        // Start loading the rest of the page and the next one.
        touch(chunk!(self), pos + 4096);
        touch(chunk!(self), pos + page);
        self.pos = pos + hdr_len;
        self.page_end = (pos + page).min(self.chunk_len);
        Ok(true)
    }

    /// No more input.
    fn finish_input(&mut self) -> Result<bool> {
        if let Some(p) = &self.partial {
            let m = format!(
                "input ends inside a record of {} bytes ({} present)",
                p.tot_len, p.gathered
            );
            let info = self.info.expect("page read");
            let lsn = p.lsn;
            let e = Error::new(ErrorKind::Truncated, m)
                .in_file(p.file.clone())
                .at(lsn % u64::from(info.segment_size), Lsn(lsn));
            return Err(e.classed(DamageClass::TornTail));
        }
        let lsn = match &self.cur {
            Some(c) => Lsn(c.seg_lsn.wrapping_add(self.segment_size())),
            None => return Err(Error::new(ErrorKind::Usage, "no WAL input")),
        };
        self.end = Some(WalEnd::EndOfInput { lsn });
        Ok(false)
    }

    /// A zero record length or an all-zero page header at `pos`: the normal
    /// end of WAL if nothing but zeros follows, damage otherwise.
    fn end_of_wal(&mut self, pos: usize) -> Result<bool> {
        let (off, lsn) = self.where_(pos);
        let name = self.cur_name();
        if let Some(p) = &self.partial {
            let m = format!(
                "record at {} of {} bytes is cut short by zeros",
                Lsn(p.lsn),
                p.tot_len
            );
            return self.damage(pos, ErrorKind::Truncated, m);
        }
        let scan = self.scan_rest(pos)?;
        if let Some(valid) = scan.valid {
            let m =
                format!("zeros where a record should start, but a valid record follows at {valid}");
            let e = Error::new(ErrorKind::Record, m)
                .in_file(Some(name))
                .at(off, lsn);
            return Err(e.classed(DamageClass::Corrupt));
        }
        if !scan.zero {
            let m = "zeros where a record should start, then non-zero bytes".to_string();
            let e = Error::new(ErrorKind::Record, m)
                .in_file(Some(name))
                .at(off, lsn);
            return Err(e.classed(DamageClass::TornTail));
        }
        let unused_files = self.unused_files(lsn)?;
        self.end = Some(WalEnd::ZeroedTail {
            lsn,
            file: name.to_string(),
            offset: off,
            unused_files,
        });
        Ok(false)
    }

    fn recycled_end(&mut self, pos: usize) -> Result<bool> {
        let (off, lsn) = self.where_(pos);
        let name = self.cur_name();
        let scan = self.scan_rest(pos)?;
        if let Some(valid) = scan.valid {
            let m = format!("page of an older segment, but a valid record follows at {valid}");
            let e = Error::new(ErrorKind::PageHeader, m)
                .in_file(Some(name))
                .at(off, lsn);
            return Err(e.classed(DamageClass::Corrupt));
        }
        let unused_files = self.unused_files(lsn)?;
        self.end = Some(WalEnd::Recycled {
            lsn,
            file: name.to_string(),
            offset: off,
            unused_files,
        });
        Ok(false)
    }

    /// Damage at `pos`: an error classified by what follows it.
    fn damage(&mut self, pos: usize, kind: ErrorKind, message: String) -> Result<bool> {
        let e = self.err_at(pos, kind, message);
        self.classify(e, pos + 8)
    }

    /// Corruption when a valid record follows `from` (in this segment or a
    /// later input), a torn tail otherwise.
    fn classify(&mut self, e: Error, from: usize) -> Result<bool> {
        let scan = self.scan_rest(from)?;
        let mut valid = scan.valid;
        if valid.is_none() {
            valid = self.later_input_valid()?;
        }
        Err(match valid {
            Some(lsn) => e
                .classed(DamageClass::Corrupt)
                .note(format!("a valid record follows at {lsn}")),
            None => e.classed(DamageClass::TornTail),
        })
    }

    /// Scans the rest of the current segment from `from` (consuming it):
    /// whether it is all zeros (pages recycled from older segments count as
    /// zeros), and the first valid record found.
    fn scan_rest(&mut self, from: usize) -> Result<Scan> {
        let Some(info) = self.info else {
            return Ok(Scan {
                zero: false,
                valid: None,
            });
        };
        let page = info.page_size as usize;
        let seg_lsn = self.cur.as_ref().map_or(0, |c| c.seg_lsn);
        let mut zero = true;
        let mut p = from.min(self.chunk_len);
        let mut in_damaged_page = true;
        loop {
            while p < self.chunk_len {
                let seg_off = self.chunk_off + p as u64;
                let in_page = (seg_off % page as u64) as usize;
                let page_start = p - in_page;
                let page_end = (page_start + page).min(self.chunk_len);
                let mut start = p;
                if in_page == 0 || !in_damaged_page {
                    // A fresh page: look at its header first.
                    in_damaged_page = false;
                    let bytes = &chunk!(self)[page_start..page_end];
                    if bytes.iter().all(|&b| b == 0) {
                        p = page_end;
                        continue;
                    }
                    let hdr = if seg_off - in_page as u64 == 0 {
                        LONG_PAGE_HEADER
                    } else {
                        SHORT_PAGE_HEADER
                    };
                    let ok_header = bytes.len() >= hdr
                        && u16::from_le_bytes([bytes[0], bytes[1]]) == info.version.magic()
                        && u16::from_le_bytes([bytes[2], bytes[3]]) & !XLP_ALL_FLAGS == 0;
                    let addr = if bytes.len() >= 16 {
                        le64(&bytes[8..])
                    } else {
                        0
                    };
                    let expected = seg_lsn + seg_off - in_page as u64;
                    if ok_header && addr < expected {
                        p = page_end; // recycled
                        continue;
                    }
                    if !(ok_header && addr == expected) || bytes[hdr..].iter().any(|&b| b != 0) {
                        zero = false;
                    }
                    if !(ok_header && addr == expected) {
                        p = page_end;
                        continue;
                    }
                    start = page_start + hdr;
                } else if chunk!(self)[p..page_end].iter().any(|&b| b != 0) {
                    zero = false;
                }
                in_damaged_page = false;
                let mut q = align(start);
                while q + RECORD_HEADER <= page_end {
                    let h = RecordHeader::parse(&chunk!(self)[q..]).expect("24 bytes");
                    let len = h.tot_len as usize;
                    if len >= RECORD_HEADER
                        && q + len <= page_end
                        && h.rmid <= info.version.max_rmgr_id()
                        && record_crc(&chunk!(self)[q..q + len]) == h.crc
                    {
                        return Ok(Scan {
                            zero,
                            valid: Some(Lsn(seg_lsn + self.chunk_off + q as u64)),
                        });
                    }
                    q += 8;
                }
                p = page_end;
            }
            if !self.read_chunk()? {
                break;
            }
            p = 0;
            in_damaged_page = false;
        }
        Ok(Scan { zero, valid: None })
    }

    /// Whether a later input holds WAL continuing this history (a valid
    /// first page at a later address): the LSN of its first page.
    fn later_input_valid(&mut self) -> Result<Option<Lsn>> {
        let Some(info) = self.info else {
            return Ok(None);
        };
        let here = self.cur.as_ref().map_or(0, |c| c.seg_lsn);
        for input in self.inputs.by_ref() {
            let name = input.name.clone();
            let mut r: Box<dyn Read + Send> = match input.source {
                Source::Path(p) => {
                    Box::new(std::fs::File::open(&p).map_err(|e| Error::io(e, &name))?)
                }
                Source::Reader(r) => r,
            };
            let mut h = [0u8; LONG_PAGE_HEADER];
            let n = read_full(&mut r, &mut h).map_err(|e| Error::io(e, &name))?;
            if n == LONG_PAGE_HEADER && u16::from_le_bytes([h[0], h[1]]) == info.version.magic() {
                let addr = le64(&h[8..]);
                if addr > here && le64(&h[24..]) == info.system_id {
                    return Ok(Some(Lsn(addr)));
                }
            }
        }
        Ok(None)
    }

    /// After a clean end at `lsn`: the remaining inputs must not continue
    /// the WAL; returns their names.
    fn unused_files(&mut self, lsn: Lsn) -> Result<Vec<String>> {
        let names: Vec<String> = self
            .inputs
            .as_slice()
            .iter()
            .map(|i| i.name.to_string())
            .collect();
        if let Some(valid) = self.later_input_valid()? {
            let m = format!("WAL ends at {lsn} but a later segment continues it at {valid}");
            let e = Error::new(ErrorKind::Gap, m).in_file(Some(self.cur_name()));
            let off = lsn.0 % self.segment_size();
            return Err(e.at(off, lsn).classed(DamageClass::Corrupt));
        }
        Ok(names)
    }
}

/// Maps `len` bytes of a segment file at `offset`, read-only.
///
/// Mapping spares copying every byte out of the page cache, which costs more
/// than all the checking. The reader treats the mapped bytes like bytes read:
/// every length is bounds-checked before use and every record is CRC-checked,
/// so bytes that PostgreSQL rewrites while they are read (a recycled segment
/// being overwritten) are damage, never a wrong access. PostgreSQL never
/// truncates a segment file, which is what would fault on access.
///
/// The pages are not populated when mapped (`MAP_POPULATE` walks the range
/// page by page): the first touch of a page faults in it and its neighbours
/// (the kernel's fault-around, 64 KiB by default), which costs less CPU time
/// in all (AMD EPYC, 1.5 GB of WAL in the page cache: 1 thread, median of 6
/// runs, 574 ms against 627 ms).
#[allow(unsafe_code)]
fn map_window(file: &std::fs::File, offset: u64, len: u64) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: a read-only mapping of a range the file held when it was
    // opened; see above for files changed by another process while mapped.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len as usize)
            .map(file)?
    };
    Ok(map)
}

/// Asks for the cache line of the byte at `at` (when there is one) so that
/// it is being loaded while the reader works on the bytes before it: reading
/// WAL is bound by memory, and the first touch of a line after a record or a
/// page boundary is where the reader would wait. On x86-64 a prefetch
/// instruction, which does not wait for the line (a load whose value is used
/// holds the reader up until the line arrives); elsewhere such a load.
#[inline]
fn touch(chunk: &[u8], at: usize) {
    let Some(rest) = chunk.get(at..).filter(|r| !r.is_empty()) else {
        return;
    };
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch reads no memory and never faults; the address
        // is that of a byte of `chunk`.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(rest.as_ptr().cast())
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::hint::black_box(rest[0]);
}

fn align(pos: usize) -> usize {
    (pos + 7) & !7
}

/// The LSN of byte `rel` of a record that starts at `start`, skipping the
/// page headers the record crosses.
fn lsn_at(start: u64, rel: u64, info: WalInfo) -> u64 {
    let page = u64::from(info.page_size);
    let seg = u64::from(info.segment_size);
    let mut lsn = start;
    let mut left = rel;
    loop {
        let page_end = (lsn / page + 1) * page;
        let room = page_end - lsn;
        if left < room {
            return lsn + left;
        }
        left -= room;
        let hdr = if page_end % seg == 0 {
            LONG_PAGE_HEADER
        } else {
            SHORT_PAGE_HEADER
        };
        lsn = page_end + hdr as u64;
    }
}

struct Scan {
    zero: bool,
    valid: Option<Lsn>,
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}
