//! Reading logs: a streaming scanner over one or more segments whose memory
//! does not grow with the log, and the damage classification every command
//! shares.
//!
//! [`LogReader`] yields [`Event`]s: the start of each segment, each valid
//! frame (borrowed from an internal buffer that grows only to the largest
//! frame), and each damage found, classified as a torn tail or corruption
//! and judged against the [`RecoveryPolicy`]. After the last event,
//! [`LogReader::summary`] tells where the log ends, which transactions were
//! committed and whether an uncommitted tail was left.

use crate::error::{Error, Result};
use crate::frame::{self, Checksummer, FRAME_HEADER_LEN, Frame, FrameFault, MAX_BODY_LEN, Step};
use crate::record::{Commit, LogKind, rtype};
use crate::recovery::{DamageClass, RecoveryPolicy};
use crate::segment::{self, HEADER_LEN, SegmentHeader};
use serde::Serialize;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Random-access bytes a reader scans: a file, or memory.
pub trait Source {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// True when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read.
    /// It may return fewer bytes than asked for anywhere; 0 means end of data.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
    /// The whole data, when it already is in memory: the reader then takes
    /// frames straight from it, without copying.
    fn as_slice(&self) -> Option<&[u8]> {
        None
    }
}

/// Reads from `r` until `buf` is full or the input ends, retrying reads
/// that were interrupted; returns the bytes read (fewer than `buf.len()`
/// only at the end of the input).
pub fn read_full<R: std::io::Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads at `offset` until `buf` is full or the data ends; returns the bytes read.
pub fn read_full_at(src: &dyn Source, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        let n = src.read_at(offset + done as u64, &mut buf[done..])?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

impl Source for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(<[u8]>::len(self));
        let src = &self[start..];
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self)
    }
}

impl Source for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        Some(self)
    }
}

/// A file and its length at open time.
#[derive(Debug)]
pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> Result<FileSource> {
        let file =
            File::open(path).map_err(|e| Error::io(e, format!("opening {}", path.display())))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(e, format!("reading metadata of {}", path.display())))?
            .len();
        Ok(FileSource { file, len })
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.len.saturating_sub(offset)).unwrap_or(usize::MAX));
        let mut done = 0;
        while done < want {
            #[cfg(unix)]
            let n = std::os::unix::fs::FileExt::read_at(
                &self.file,
                &mut buf[done..want],
                offset + done as u64,
            )?;
            #[cfg(not(unix))]
            let n = std::os::windows::fs::FileExt::seek_read(
                &self.file,
                &mut buf[done..want],
                offset + done as u64,
            )?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }
}

/// Bytes written once and then read at random, for a log that has to be
/// read twice but comes from a source that can be read only once: held in
/// memory, at most `limit` bytes. Writing more fails (an I/O error of kind
/// [`std::io::ErrorKind::OutOfMemory`] naming the limit): nothing goes to a
/// temporary file, so memory is bounded and no file is written behind the
/// caller's back.
#[derive(Debug)]
pub struct Spool {
    mem: Vec<u8>,
    limit: usize,
}

impl Spool {
    /// A spool that holds up to `limit` bytes.
    pub fn new(limit: usize) -> Spool {
        Spool {
            mem: Vec::new(),
            limit,
        }
    }

    /// Whether `e` is the error of a write past the limit.
    pub fn is_full(e: &std::io::Error) -> bool {
        e.kind() == std::io::ErrorKind::OutOfMemory
    }

    /// The bytes written, as a source.
    pub fn into_source(self) -> Box<dyn Source> {
        Box::new(self.mem)
    }
}

impl std::io::Write for Spool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.mem.len().saturating_add(buf.len()) > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                format!("more than the {} bytes held in memory", self.limit),
            ));
        }
        self.mem.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One segment to scan: a name for messages, and its bytes.
pub struct SegmentInput {
    /// Path or other name shown in messages.
    pub name: String,
    /// The bytes.
    pub source: Box<dyn Source>,
}

impl std::fmt::Debug for SegmentInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentInput")
            .field("name", &self.name)
            .finish()
    }
}

impl SegmentInput {
    /// A segment held in memory.
    pub fn memory(name: impl Into<String>, bytes: Vec<u8>) -> SegmentInput {
        SegmentInput {
            name: name.into(),
            source: Box::new(bytes),
        }
    }

    /// A segment file.
    pub fn file(path: &Path) -> Result<SegmentInput> {
        Ok(SegmentInput {
            name: path.display().to_string(),
            source: Box::new(FileSource::open(path)?),
        })
    }
}

/// The segment files of a log at `path`: the file itself, or every
/// `*.replog` file of a directory in name (that is, position) order.
pub fn segment_paths(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(e, format!("{}", path.display())))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let rd =
        std::fs::read_dir(path).map_err(|e| Error::io(e, format!("listing {}", path.display())))?;
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(e, format!("listing {}", path.display())))?;
        let p = entry.path();
        if p.extension().is_some_and(|x| x == segment::EXTENSION) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// What was wrong at a damaged place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum DamageKind {
    /// A frame could not be read.
    Frame {
        /// Why.
        #[serde(flatten)]
        fault: FrameFault,
    },
    /// The segment header could not be read.
    Header {
        /// Why.
        message: String,
    },
    /// A segment does not follow on from the one before (kind, log id,
    /// sequence or position).
    Discontinuity {
        /// Why.
        message: String,
    },
    /// Valid frames in an impossible order (COMMIT without BEGIN, ...).
    Structure {
        /// Why.
        message: String,
    },
    /// A COMMIT's state-before digest differs from the previous state-after:
    /// transactions are missing between them.
    StateGap {
        /// The digest the chain expected.
        expected: u64,
        /// The digest the COMMIT carries.
        found: u64,
    },
    /// An input that is not a native log (a binlog) holds an event its
    /// reader cannot read.
    Event {
        /// Why, in the words of that input's reader.
        message: String,
    },
}

impl std::fmt::Display for DamageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DamageKind::Frame { fault } => write!(f, "{fault}"),
            DamageKind::Header { message }
            | DamageKind::Discontinuity { message }
            | DamageKind::Structure { message }
            | DamageKind::Event { message } => f.write_str(message),
            DamageKind::StateGap { expected, found } => write!(
                f,
                "state digest chain broken: transaction starts from {found:016x}, previous ended at {expected:016x}"
            ),
        }
    }
}

/// A damaged place in a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// Name of the segment.
    pub segment: String,
    /// Absolute offset in the segment file.
    pub offset: u64,
    /// Log position at that offset.
    pub lsn: u64,
    /// Index of the frame that would have been read next, counted over the log.
    pub record: u64,
    /// What was wrong.
    #[serde(flatten)]
    pub kind: DamageKind,
    /// Torn tail or corruption.
    pub class: DamageClass,
    /// Whether the damage is in the last segment.
    pub last_segment: bool,
    /// Whether the recovery policy accepts this as the end of the log.
    pub tolerated: bool,
    /// Offset of the next valid frame of the same segment, when one was found.
    pub resumes_at: Option<u64>,
}

impl Damage {
    /// An error describing this damage.
    pub fn to_error(&self) -> Error {
        let kind = match &self.kind {
            DamageKind::Frame {
                fault: FrameFault::Checksum { expected, actual },
            } => crate::ErrorKind::Checksum {
                expected: *expected,
                actual: *actual,
            },
            DamageKind::Frame {
                fault: FrameFault::ShortBody { .. } | FrameFault::ShortHeader { .. },
            } => crate::ErrorKind::UnexpectedEof { needed: 0 },
            DamageKind::Event { .. } if self.class == DamageClass::TornTail => {
                crate::ErrorKind::UnexpectedEof { needed: 0 }
            }
            DamageKind::Discontinuity { .. } | DamageKind::StateGap { .. } => {
                crate::ErrorKind::Discontinuity
            }
            _ => crate::ErrorKind::Malformed,
        };
        let class = match self.class {
            DamageClass::TornTail => "torn tail",
            DamageClass::Corrupt => "corruption",
        };
        // A checksum error shows both values itself (ErrorKind::Checksum).
        let what = match &self.kind {
            DamageKind::Frame {
                fault: FrameFault::Checksum { .. },
            } => "frame checksum mismatch".to_string(),
            k => k.to_string(),
        };
        Error::new(
            kind,
            self.offset,
            format!("{}: {class}: {what}", self.segment),
        )
        .with_record(self.record)
    }
}

/// Transactions begun but not committed when the log ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UncommittedTail {
    /// LSN of the BEGIN.
    pub lsn: u64,
    /// Transaction id.
    pub txid: u64,
    /// Valid frames after the last COMMIT.
    pub frames: u64,
}

/// Where a scanned log ends and what it holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Segments scanned.
    pub segments: u64,
    /// Valid frames.
    pub frames: u64,
    /// Bytes of valid frames, padding included.
    pub frame_bytes: u64,
    /// Committed transactions.
    pub commits: u64,
    /// LSN of the first frame.
    pub first_lsn: Option<u64>,
    /// LSN just past the last valid frame.
    pub end_lsn: Option<u64>,
    /// LSN just past the last COMMIT: where a follower that replayed the log stands.
    pub committed_lsn: Option<u64>,
    /// Store digest after the last commit that carried one.
    pub final_state: Option<u64>,
    /// A transaction left open at the end.
    pub uncommitted: Option<UncommittedTail>,
    /// Damaged places found (the first 1,000).
    pub damage: Vec<Damage>,
    /// Damaged places found in all.
    pub damage_count: u64,
}

impl Summary {
    /// Counts a frame of the native log a source stands for without
    /// reading one (an import, a decoding): its body is `len` bytes, it
    /// starts at `*next_lsn`, which moves past it. Returns its LSN.
    pub fn count_virtual_frame(&mut self, next_lsn: &mut u64, len: usize) -> u64 {
        let lsn = *next_lsn;
        let padded = crate::frame::padded_len(len) as u64;
        *next_lsn += padded;
        self.frames += 1;
        self.frame_bytes += padded;
        lsn
    }

    /// True when no damage was found that the policy does not tolerate.
    pub fn acceptable(&self) -> bool {
        self.damage.iter().all(|d| d.tolerated)
    }
}

/// Options of a [`LogReader`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReaderOptions {
    /// The recovery policy that judges damage.
    pub policy: RecoveryPolicy,
    /// Keep scanning after damage the policy does not tolerate (as `verify`
    /// does, to count everything); otherwise the scan stops there.
    pub continue_after_damage: bool,
    /// Read-buffer size in bytes (0: 1 MiB). The buffer grows only to hold
    /// the largest frame.
    pub buffer_size: usize,
}

/// What a [`LogReader`] found next.
#[derive(Debug)]
pub enum Event<'a> {
    /// A segment starts; its header is valid.
    Segment {
        /// Index among the inputs.
        index: usize,
        /// Name of the segment.
        name: &'a str,
        /// The header.
        header: &'a SegmentHeader,
    },
    /// A valid frame.
    Frame(Frame<'a>),
    /// A damaged place.
    Damage(&'a Damage),
}

const READ_CHUNK: usize = 1 << 20;

enum Next {
    End,
    Error(Error),
    Damage,
    Segment(usize),
    Frame(FrameAt),
}

/// Where a frame just read is: its body at `start..start + len` of the
/// buffer, or of the source itself when `direct`.
#[derive(Clone, Copy)]
struct FrameAt {
    direct: bool,
    start: usize,
    len: usize,
    offset: u64,
    lsn: u64,
}

enum State {
    NextSegment,
    InSegment,
    Done,
}

/// Scans the segments of one log in order.
pub struct LogReader {
    inputs: Vec<SegmentInput>,
    opts: ReaderOptions,
    state: State,
    seg: usize,
    header: Option<SegmentHeader>,
    first_header: Option<SegmentHeader>,
    ck: Checksummer,
    buf: Vec<u8>,
    buf_off: u64,
    buf_pos: usize,
    buf_end: usize,
    pos: u64,
    expected_next: Option<(u32, u64)>,
    open_tx: Option<(u64, u64)>,
    frames_since_commit: u64,
    /// Records outside a transaction are not reported (again): one was
    /// reported since the last BEGIN, or damage since then may have taken
    /// the BEGIN they belong to (reported once, as that damage).
    strays_explained: bool,
    last_state: Option<u64>,
    summary: Summary,
    last_damage: Option<Damage>,
    /// The valid COMMIT frame the last damage event (a state gap) is about.
    gap_frame: Option<FrameAt>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("segment", &self.seg)
            .field("pos", &self.pos)
            .finish()
    }
}

impl LogReader {
    /// A reader over `inputs`, the segments of one log in order.
    pub fn new(inputs: Vec<SegmentInput>, opts: ReaderOptions) -> LogReader {
        LogReader {
            inputs,
            opts,
            state: State::NextSegment,
            seg: 0,
            header: None,
            first_header: None,
            ck: Checksummer::new(0),
            buf: Vec::new(),
            buf_off: 0,
            buf_pos: 0,
            buf_end: 0,
            pos: 0,
            expected_next: None,
            open_tx: None,
            frames_since_commit: 0,
            strays_explained: false,
            last_state: None,
            summary: Summary::default(),
            last_damage: None,
            gap_frame: None,
            scratch: Vec::new(),
        }
    }

    /// A reader over the log at each path (files or directories of segments).
    pub fn open(paths: &[PathBuf], opts: ReaderOptions) -> Result<LogReader> {
        let mut inputs = Vec::new();
        for p in paths {
            for s in segment_paths(p)? {
                inputs.push(SegmentInput::file(&s)?);
            }
        }
        Ok(LogReader::new(inputs, opts))
    }

    /// A reader over one segment in memory.
    pub fn from_bytes(bytes: Vec<u8>, opts: ReaderOptions) -> LogReader {
        LogReader::new(vec![SegmentInput::memory("<memory>", bytes)], opts)
    }

    /// The header of the segment being read.
    pub fn header(&self) -> Option<&SegmentHeader> {
        self.header.as_ref()
    }

    /// The name of input segment `index`.
    pub fn segment_name(&self, index: usize) -> Option<&str> {
        self.inputs.get(index).map(|s| s.name.as_str())
    }

    /// The damage the event just returned was about (until the next event).
    pub fn last_damage(&self) -> Option<&Damage> {
        self.last_damage.as_ref()
    }

    /// The kind of the log, once its first header has been read.
    pub fn kind(&self) -> Option<LogKind> {
        self.first_header.as_ref().map(|h| h.kind)
    }

    /// What the scan found so far; complete once `next` returned `None`.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Consumes the reader, returning the summary.
    pub fn into_summary(self) -> Summary {
        self.summary
    }

    fn is_last_segment(&self) -> bool {
        self.seg + 1 >= self.inputs.len()
    }

    fn lsn_at(&self, offset: u64) -> u64 {
        let h = self.header.as_ref().map_or(0, |h| h.start_lsn);
        h + offset.saturating_sub(HEADER_LEN as u64)
    }

    fn record_damage(
        &mut self,
        offset: u64,
        kind: DamageKind,
        class: DamageClass,
        resumes_at: Option<u64>,
    ) {
        if !matches!(kind, DamageKind::StateGap { .. }) {
            self.strays_explained = true;
        }
        let last = self.is_last_segment();
        let d = Damage {
            segment: self
                .inputs
                .get(self.seg)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            offset,
            lsn: self.lsn_at(offset),
            record: self.summary.frames,
            kind,
            class,
            last_segment: last,
            tolerated: self.opts.policy.tolerates(class, last),
            resumes_at,
        };
        self.summary.damage_count += 1;
        if self.summary.damage.len() < 1000 {
            self.summary.damage.push(d.clone());
        }
        let stop_all = d.tolerated || !self.opts.continue_after_damage;
        match (stop_all, resumes_at) {
            (true, _) => {
                self.state = State::Done;
                self.finish();
            }
            (false, Some(at)) => self.seek(at),
            (false, None) => self.state = State::NextSegment,
        }
        if matches!(self.state, State::NextSegment) {
            self.seg += 1;
        }
        self.last_damage = Some(d);
    }

    fn seek(&mut self, at: u64) {
        self.pos = at;
        self.buf_pos = 0;
        self.buf_end = 0;
        self.buf_off = at;
    }

    fn start_segment(&mut self) -> Option<Result<()>> {
        let Some(input) = self.inputs.get(self.seg) else {
            self.finish();
            self.state = State::Done;
            return None;
        };
        self.summary.segments += 1;
        let mut hdr = [0u8; HEADER_LEN];
        let n = match read_full_at(&*input.source, 0, &mut hdr) {
            Ok(n) => n,
            Err(e) => return Some(Err(Error::io(e, format!("reading {}", input.name)))),
        };
        let header = match SegmentHeader::parse(&hdr[..n], 0) {
            Ok(h) => h,
            Err(e) => {
                self.header = None;
                // The damage record carries the offset: the message does not
                // repeat it.
                let msg = e.cause();
                let off = e.offset().unwrap_or(0);
                // A crash while a new segment was being created leaves a last
                // segment shorter than its header (or zero-filled): a torn tail.
                let short = matches!(e.kind(), crate::ErrorKind::UnexpectedEof { .. })
                    || (n < HEADER_LEN && hdr[..n].iter().all(|&b| b == 0));
                let class = if short && self.is_last_segment() && self.seg > 0 {
                    DamageClass::TornTail
                } else {
                    DamageClass::Corrupt
                };
                self.record_damage(off, DamageKind::Header { message: msg }, class, None);
                return Some(Ok(()));
            }
        };
        if let Some(first) = &self.first_header {
            let problem = if header.kind != first.kind {
                Some(format!(
                    "segment holds a {} log, the first segment a {} log",
                    header.kind, first.kind
                ))
            } else if header.log_id != first.log_id {
                Some("segment belongs to another log (log id differs)".to_string())
            } else if let Some((seq, lsn)) = self.expected_next {
                if header.seq != seq {
                    Some(format!(
                        "segment sequence {} follows {}: segments are missing",
                        header.seq,
                        seq.wrapping_sub(1)
                    ))
                } else if header.start_lsn != lsn {
                    Some(format!(
                        "segment starts at LSN {}, the previous one ended at LSN {lsn}",
                        header.start_lsn
                    ))
                } else {
                    None
                }
            } else {
                None
            };
            if let Some(message) = problem {
                self.header = Some(header);
                self.record_damage(
                    48,
                    DamageKind::Discontinuity { message },
                    DamageClass::Corrupt,
                    Some(HEADER_LEN as u64),
                );
                if !matches!(self.state, State::Done) {
                    self.state = State::InSegment;
                    self.ck = Checksummer::new(self.header.as_ref().map_or(0, |h| h.salt));
                }
                return Some(Ok(()));
            }
        } else {
            self.first_header = Some(header.clone());
        }
        if let (Some(expected), Some(start)) = (self.last_state, header.start_state) {
            if expected != start && self.summary.commits > 0 {
                self.header = Some(header.clone());
                self.record_damage(
                    56,
                    DamageKind::StateGap {
                        expected,
                        found: start,
                    },
                    DamageClass::Corrupt,
                    Some(HEADER_LEN as u64),
                );
            }
        }
        if self.last_state.is_none() {
            self.last_state = header.start_state;
        }
        self.ck = Checksummer::new(header.salt);
        self.expected_next = None;
        self.header = Some(header);
        self.seek(HEADER_LEN as u64);
        if !matches!(self.state, State::Done) {
            self.state = State::InSegment;
        }
        Some(Ok(()))
    }

    fn finish(&mut self) {
        if let Some((lsn, txid)) = self.open_tx {
            self.summary.uncommitted = Some(UncommittedTail {
                lsn,
                txid,
                frames: self.frames_since_commit,
            });
        }
        self.summary.final_state = self.last_state;
    }

    /// Fills the buffer so that at least `need` bytes from `pos` are present,
    /// or up to end of file. Returns whether the buffer reaches end of file.
    fn fill(&mut self, need: usize) -> Result<bool> {
        let Some(input) = self.inputs.get(self.seg) else {
            return Ok(true);
        };
        let len = input.source.len();
        if self.buf_pos > 0 {
            self.buf.copy_within(self.buf_pos..self.buf_end, 0);
            self.buf_end -= self.buf_pos;
            self.buf_off += self.buf_pos as u64;
            self.buf_pos = 0;
        }
        let chunk = if self.opts.buffer_size == 0 {
            READ_CHUNK
        } else {
            self.opts.buffer_size
        };
        let want = need.max(chunk);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        while self.buf_end < need.max(1) || self.buf_end < chunk {
            let at = self.buf_off + self.buf_end as u64;
            if at >= len {
                break;
            }
            let n = input
                .source
                .read_at(at, &mut self.buf[self.buf_end..])
                .map_err(|e| Error::io(e, format!("reading {}", input.name)))?;
            if n == 0 {
                break;
            }
            self.buf_end += n;
            if self.buf_end >= self.buf.len() {
                break;
            }
        }
        Ok(self.buf_off + self.buf_end as u64 >= len)
    }

    fn frame_at(&self, at: FrameAt) -> Frame<'_> {
        let all = if at.direct {
            self.inputs
                .get(self.seg)
                .and_then(|i| i.source.as_slice())
                .unwrap_or(&[])
        } else {
            &self.buf
        };
        let body = all.get(at.start..at.start + at.len).unwrap_or(&[]);
        Frame {
            offset: at.offset,
            lsn: at.lsn,
            body,
        }
    }

    /// The COMMIT frame that the event just returned, a
    /// [`DamageKind::StateGap`], is about: a whole, valid frame whose
    /// `state_before` does not continue the digest chain (transactions are
    /// missing before it). `None` after any other event, once the next
    /// event was asked for, and when the reader stops at the damage. Readers that go on after such damage (see
    /// [`crate::txn`]) hand the transaction over with its gap.
    pub fn gap_commit(&self) -> Option<Frame<'_>> {
        self.gap_frame.map(|at| self.frame_at(at))
    }

    /// The next event, or `None` at the end of the log.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Event<'_>>> {
        match self.advance() {
            Next::End => None,
            Next::Error(e) => Some(Err(e)),
            Next::Damage => self.last_damage.as_ref().map(|d| Ok(Event::Damage(d))),
            Next::Segment(index) => {
                let name = self.inputs.get(index).map_or("", |s| s.name.as_str());
                self.header.as_ref().map(|header| {
                    Ok(Event::Segment {
                        index,
                        name,
                        header,
                    })
                })
            }
            Next::Frame(at) => Some(Ok(Event::Frame(self.frame_at(at)))),
        }
    }

    fn advance(&mut self) -> Next {
        self.gap_frame = None;
        loop {
            match self.state {
                State::Done => return Next::End,
                State::NextSegment => {
                    self.last_damage = None;
                    let before = self.seg;
                    match self.start_segment() {
                        None => return Next::End,
                        Some(Err(e)) => return Next::Error(e),
                        Some(Ok(())) if self.last_damage.is_some() => return Next::Damage,
                        Some(Ok(())) if self.header.is_some() => return Next::Segment(before),
                        Some(Ok(())) => {}
                    }
                }
                State::InSegment => {
                    self.last_damage = None;
                    match self.step() {
                        Err(e) => {
                            self.state = State::Done;
                            return Next::Error(e);
                        }
                        Ok(Some(at)) => return Next::Frame(at),
                        Ok(None) if self.last_damage.is_some() => return Next::Damage,
                        Ok(None) => {}
                    }
                }
            }
        }
    }

    /// Reads one frame; returns where its body is (in the source itself or
    /// in the buffer), or `None` when the segment ended or damage was
    /// recorded.
    fn step(&mut self) -> Result<Option<FrameAt>> {
        let lsn = self.lsn_at(self.pos);
        let direct = self
            .inputs
            .get(self.seg)
            .is_some_and(|i| i.source.as_slice().is_some());
        let mut eof = direct;
        let mut need = FRAME_HEADER_LEN;
        loop {
            if !direct && self.buf_end - self.buf_pos < need && !eof {
                eof = self.fill(need)?;
            }
            let pos = usize::try_from(self.pos).unwrap_or(usize::MAX);
            let (window, base) = if direct {
                let all = self
                    .inputs
                    .get(self.seg)
                    .and_then(|i| i.source.as_slice())
                    .unwrap_or(&[]);
                (all.get(pos..).unwrap_or(&[]), pos)
            } else {
                (&self.buf[self.buf_pos..self.buf_end], self.buf_pos)
            };
            match frame::read_frame(window, self.pos, lsn, &self.ck, eof) {
                Step::NeedMore { needed } => {
                    // read_frame only asks for more when the window does not reach EOF.
                    need = needed;
                    eof = self.fill(need)?;
                }
                Step::End => {
                    self.end_segment();
                    return Ok(None);
                }
                Step::Frame(f) => {
                    let body_len = f.body.len();
                    let disk = frame::padded_len(body_len);
                    let body_type = f.body.first().copied().unwrap_or(0);
                    let begin_txid = f
                        .body
                        .get(1..9)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_le_bytes);
                    let commit = if body_type == rtype::COMMIT {
                        Commit::decode(f.body, f.body_offset()).ok()
                    } else {
                        None
                    };
                    let start = base + FRAME_HEADER_LEN;
                    let offset = self.pos;
                    if let Some(problem) =
                        self.track(body_type, begin_txid, commit, lsn, disk as u64)
                    {
                        if matches!(problem, DamageKind::StateGap { .. }) {
                            // A whole, valid COMMIT: kept for `gap_commit`
                            // until the next event (the bytes stay in the
                            // buffer until then).
                            self.gap_frame = Some(FrameAt {
                                direct,
                                start,
                                len: body_len,
                                offset,
                                lsn,
                            });
                        }
                        self.record_damage(
                            offset,
                            problem,
                            DamageClass::Corrupt,
                            Some(offset + disk as u64),
                        );
                        if matches!(self.state, State::InSegment) {
                            self.seek(offset + disk as u64);
                        } else {
                            // The log ends at the damage: nothing after it
                            // (this COMMIT included) is read.
                            self.gap_frame = None;
                        }
                        return Ok(None);
                    }
                    if !direct {
                        self.buf_pos += disk;
                    }
                    self.pos += disk as u64;
                    return Ok(Some(FrameAt {
                        direct,
                        start,
                        len: body_len,
                        offset,
                        lsn,
                    }));
                }
                Step::Fault(fault) => {
                    self.classify(fault)?;
                    return Ok(None);
                }
            }
        }
    }

    fn end_segment(&mut self) {
        let end_lsn = self.lsn_at(self.pos);
        if let Some(h) = &self.header {
            self.expected_next = Some((h.seq.wrapping_add(1), end_lsn));
        }
        self.seg += 1;
        self.state = State::NextSegment;
    }

    /// Follows transaction structure; returns a problem if the frame cannot
    /// be where it is.
    fn track(
        &mut self,
        t: u8,
        begin_txid: Option<u64>,
        commit: Option<Commit>,
        lsn: u64,
        disk: u64,
    ) -> Option<DamageKind> {
        match t {
            rtype::BEGIN => {
                if let Some((_, txid)) = self.open_tx {
                    return Some(DamageKind::Structure {
                        message: format!("BEGIN while transaction {txid} is open"),
                    });
                }
                let txid = begin_txid.unwrap_or(0);
                self.open_tx = Some((lsn, txid));
                self.strays_explained = false;
                self.frames_since_commit = 0;
            }
            rtype::COMMIT => {
                let Some(c) = commit else {
                    return Some(DamageKind::Structure {
                        message: "malformed COMMIT record".into(),
                    });
                };
                let problem = match self.open_tx {
                    Some((_, txid)) if txid == c.txid => match (self.last_state, c.state_before) {
                        (Some(expected), Some(found)) if expected != found => {
                            Some(DamageKind::StateGap { expected, found })
                        }
                        _ => None,
                    },
                    Some((_, txid)) => Some(DamageKind::Structure {
                        message: format!("COMMIT of transaction {} while {txid} is open", c.txid),
                    }),
                    None => Some(DamageKind::Structure {
                        message: format!("COMMIT of transaction {} without BEGIN", c.txid),
                    }),
                };
                // The chain continues from this commit either way, so one
                // damaged place is reported once, not at every later commit.
                if c.state_after.is_some() {
                    self.last_state = c.state_after;
                }
                self.open_tx = None;
                if problem.is_some() {
                    return problem;
                }
                self.summary.commits += 1;
                self.summary.committed_lsn = Some(lsn + disk);
            }
            t if self.open_tx.is_none() => {
                let kind = self.header.as_ref().map(|h| h.kind);
                if !kind.is_some_and(|k| k.allows_outside_transactions(t)) && !self.strays_explained
                {
                    return Some(DamageKind::Structure {
                        message: format!("record of type 0x{t:02x} outside a transaction"),
                    });
                }
            }
            _ => {}
        }
        self.count(lsn, disk);
        None
    }

    fn count(&mut self, lsn: u64, disk: u64) {
        self.summary.frames += 1;
        self.summary.frame_bytes += disk;
        self.summary.first_lsn.get_or_insert(lsn);
        self.summary.end_lsn = Some(lsn + disk);
        if self.open_tx.is_some() {
            self.frames_since_commit += 1;
        }
    }

    fn classify(&mut self, fault: FrameFault) -> Result<()> {
        let Some(input) = self.inputs.get(self.seg) else {
            return Ok(());
        };
        let src = &*input.source;
        let len = src.len();
        let at = self.pos;
        let start_lsn = self.header.as_ref().map_or(0, |h| h.start_lsn);
        let ck = self.ck;
        let zero_tail = || all_zero(src, at, len);
        let mut resync =
            |from: u64| find_valid_frame(src, from, len, start_lsn, &ck, &mut self.scratch);
        let (class, resume) = match fault {
            FrameFault::ShortHeader { .. } => (DamageClass::TornTail, None),
            FrameFault::ZeroLength => {
                if zero_tail()? {
                    (DamageClass::TornTail, None)
                } else {
                    (DamageClass::Corrupt, resync(at + 8)?)
                }
            }
            FrameFault::ShortBody { .. } => match resync(at + 8)? {
                Some(p) => (DamageClass::Corrupt, Some(p)),
                None => (DamageClass::TornTail, None),
            },
            FrameFault::TooLarge { .. } | FrameFault::Checksum { .. } | FrameFault::BadPadding => {
                (DamageClass::Corrupt, resync(at + 8)?)
            }
        };
        let class = if class == DamageClass::TornTail && !self.is_last_segment() {
            DamageClass::Corrupt
        } else {
            class
        };
        self.record_damage(at, DamageKind::Frame { fault }, class, resume);
        Ok(())
    }
}

fn all_zero(src: &dyn Source, from: u64, to: u64) -> Result<bool> {
    let mut buf = vec![0u8; 64 << 10];
    let mut at = from;
    while at < to {
        let n = read_full_at(src, at, &mut buf).map_err(|e| Error::io(e, "reading log"))?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

/// Budget of body bytes checksummed while looking for the next valid frame.
const RESYNC_BUDGET: u64 = 256 << 20;

/// Looks for the next valid frame of the segment at 8-aligned offsets from
/// `from`. A valid frame proves that data was written after the damage.
fn find_valid_frame(
    src: &dyn Source,
    from: u64,
    len: u64,
    start_lsn: u64,
    ck: &Checksummer,
    scratch: &mut Vec<u8>,
) -> Result<Option<u64>> {
    let header = HEADER_LEN as u64;
    let mut p = header + (from.saturating_sub(header)).div_ceil(8) * 8;
    let mut spent = 0u64;
    let mut window = vec![0u8; READ_CHUNK];
    while p + FRAME_HEADER_LEN as u64 <= len && spent < RESYNC_BUDGET {
        let n = read_full_at(src, p, &mut window).map_err(|e| Error::io(e, "reading log"))?;
        if n < FRAME_HEADER_LEN {
            break;
        }
        let mut i = 0usize;
        while i + FRAME_HEADER_LEN <= n {
            let at = p + i as u64;
            let blen = u32::from_le_bytes([window[i], window[i + 1], window[i + 2], window[i + 3]]);
            let total = frame::padded_len(blen as usize) as u64;
            let plausible = blen > 0 && blen <= MAX_BODY_LEN && at + total <= len;
            if plausible {
                let t = if i + FRAME_HEADER_LEN < n {
                    window[i + FRAME_HEADER_LEN]
                } else {
                    0
                };
                let typed = t == rtype::BEGIN
                    || t == rtype::COMMIT
                    || t >= rtype::FIRST_FORMAT
                    || i + FRAME_HEADER_LEN >= n;
                if typed {
                    spent += u64::from(blen);
                    let lsn = start_lsn + (at - header);
                    let whole: &[u8] = if i + total as usize <= n {
                        &window[i..i + total as usize]
                    } else {
                        scratch.resize(total as usize, 0);
                        let got = read_full_at(src, at, scratch)
                            .map_err(|e| Error::io(e, "reading log"))?;
                        &scratch[..got]
                    };
                    if let Step::Frame(_) = frame::read_frame(whole, at, lsn, ck, true) {
                        return Ok(Some(at));
                    }
                    if spent >= RESYNC_BUDGET {
                        break;
                    }
                }
            }
            i += 8;
        }
        p += (i as u64).max(8);
    }
    Ok(None)
}

/// Scans a whole log and returns its summary.
pub fn scan(inputs: Vec<SegmentInput>, opts: ReaderOptions) -> Result<Summary> {
    let mut r = LogReader::new(inputs, opts);
    while let Some(ev) = r.next() {
        ev?;
    }
    Ok(r.into_summary())
}
