//! A logical decoding output file as a [`TxnSource`] of logical
//! transactions.

use crate::assemble::{Assembler, ColDef, CommitInfo, PG_EPOCH_UNIX_US, Place, RelDef};
use crate::coltype::ColType;
use crate::file::{Container, CopyRow, CopyRows, Detected, Plugin, sniff};
use crate::pgoutput::{Datum, Decoder, Framing, OldKind, PgMessage, TupleData, lsn_text};
use replog_core::LogKind;
use replog_core::Value;
use replog_core::error::{Error, Result};
use replog_core::reader::{ReaderOptions, Summary};
use replog_core::segment::{FORMAT_VERSION_PG, SegmentHeader};
use replog_core::txn::{Produced, Transaction, TxnInput, TxnProducer, TxnSource};
use replog_logical::{
    Delete, ImageKind, Insert, LogicalRecord, Message, OldImage, Truncate, TupleBuf, Update,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A logical decoding output file, recognised ([`sniff`]).
#[derive(Debug, Clone)]
pub struct PgLogicalInput {
    path: PathBuf,
    detected: Detected,
    spill_limit: Option<usize>,
}

impl PgLogicalInput {
    /// The file at `path`, if [`sniff`] recognises it.
    pub fn new(path: &Path) -> Result<Option<PgLogicalInput>> {
        use std::io::Read;
        let mut head = Vec::with_capacity(crate::file::SNIFF_LEN);
        std::fs::File::open(path)
            .and_then(|f| f.take(crate::file::SNIFF_LEN as u64).read_to_end(&mut head))
            .map_err(|e| Error::io(e, format!("reading {}", path.display())))?;
        Ok(sniff(&head).map(|detected| PgLogicalInput {
            path: path.to_path_buf(),
            detected,
            spill_limit: None,
        }))
    }

    /// The file at `path` as `detected`.
    pub fn with(path: &Path, detected: Detected) -> PgLogicalInput {
        PgLogicalInput {
            path: path.to_path_buf(),
            detected,
            spill_limit: None,
        }
    }

    /// Opened, its source holds at most `bytes` of open transactions'
    /// changes in memory ([`PgLogicalTxns::set_spill_limit`]).
    pub fn with_spill_limit(mut self, bytes: usize) -> PgLogicalInput {
        self.spill_limit = Some(bytes);
        self
    }

    /// What the file holds.
    pub fn detected(&self) -> Detected {
        self.detected
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the source (the file is mapped, not read into memory).
    pub fn open_source(self) -> Result<PgLogicalSource> {
        let data = crate::file::Bytes::map(&self.path)
            .map_err(|e| Error::io(e, format!("reading {}", self.path.display())))?;
        let mut src = crate::source::source(data, self.detected, self.path.display().to_string());
        if let Some(l) = self.spill_limit {
            src.producer_mut().set_spill_limit(l);
        }
        Ok(src)
    }
}

impl PgLogicalInput {
    /// Its transactions written as one segment of a native logical log
    /// (format version 2), in memory: for the commands that read a log's
    /// segments. Its LSNs are the log's own; each transaction's origin
    /// keeps PostgreSQL's commit LSN and xid.
    /// Returns the log and what the assembly counted.
    pub fn to_logical_log(&self) -> Result<(Vec<u8>, crate::assemble::Counts)> {
        let mut src = self.clone().open_source()?;
        let log = replog_core::writer::write_source(&mut src, Vec::new(), |_| {})?;
        Ok((log, src.producer().counts()))
    }
}

impl TxnInput for PgLogicalInput {
    fn open(self, _opts: ReaderOptions) -> Result<Box<dyn TxnSource>> {
        Ok(Box::new(self.open_source()?))
    }
}

/// pgoutput decoding state.
#[derive(Debug, Default)]
pub(crate) struct PgState {
    pub(crate) decoder: Decoder,
    /// The open non-streamed transaction (Begin, Begin Prepare) and its
    /// final LSN.
    pub(crate) cur: Option<(u32, u64)>,
    /// The streamed transaction whose block is open.
    stream: Option<u32>,
    type_names: HashMap<u32, String>,
}

/// Row buffers, reused.
#[derive(Debug, Default)]
pub(crate) struct Bufs {
    pub(crate) old: TupleBuf,
    pub(crate) new: TupleBuf,
}

/// A logical decoding output as a [`TxnSource`] (see the crate docs).
pub type PgLogicalSource = Produced<PgLogicalTxns>;

/// The transactions of a logical decoding output, made one at a time
/// ([`TxnProducer`]; [`PgLogicalSource`] hands them over): a capture file's
/// messages ([`CaptureFile`]) or a live stream's
/// ([`crate::stream::Fed`]), decoded and assembled the same way.
pub struct PgTxns<M: Messages> {
    d: Decoding,
    messages: M,
    /// End LSN of the transaction handed over last, not yet reported
    /// consumed.
    pending: Option<u64>,
}

/// The transactions of a logical decoding output file.
pub type PgLogicalTxns = PgTxns<CaptureFile>;

/// What a logical decoding output is decoded into, whatever its messages
/// come from: the name and segment header the log is known by, the
/// pgoutput state, the transaction assembler and its row buffers, and the
/// summary.
pub struct Decoding {
    pub(crate) name: String,
    pub(crate) header: SegmentHeader,
    pub(crate) asm: Assembler,
    pub(crate) pg: PgState,
    pub(crate) bufs: Bufs,
    pub(crate) summary: Summary,
}

impl Decoding {
    pub(crate) fn new(name: String, header: SegmentHeader) -> Decoding {
        Decoding {
            name,
            header,
            asm: Assembler::new(),
            pg: PgState::default(),
            bufs: Bufs::default(),
            summary: Summary {
                segments: 1,
                ..Summary::default()
            },
        }
    }
}

/// Where a logical decoding output's messages come from.
pub trait Messages {
    /// Reads and handles one message into `d`; `None` at the end of the
    /// messages, else whether a transaction was handed over.
    fn step(&mut self, d: &mut Decoding) -> Option<Result<bool>>;

    /// The transaction handed over last, which ended at `end_lsn`, has
    /// been consumed: the consumer asked for the next one. The default
    /// does nothing.
    fn consumed(&mut self, end_lsn: u64) {
        let _ = end_lsn;
    }
}

/// The messages of a logical decoding output file (in memory or mapped).
pub struct CaptureFile {
    data: crate::file::Bytes,
    pos: usize,
    detected: Detected,
    text: crate::text::TextState,
    scratch: Vec<u8>,
    json_scratch: Vec<u8>,
}

impl<M: Messages> PgTxns<M> {
    pub(crate) fn over(d: Decoding, messages: M) -> PgTxns<M> {
        PgTxns {
            d,
            messages,
            pending: None,
        }
    }

    /// What the assembly counted (complete at the end).
    pub fn counts(&self) -> crate::assemble::Counts {
        self.d.asm.counts
    }

    /// Holds at most `bytes` of open transactions' records in memory;
    /// beyond, the largest go to temporary files (default
    /// [`replog_pgreorder::DEFAULT_LIMIT`]).
    pub fn set_spill_limit(&mut self, bytes: usize) {
        self.d.asm.set_spill_limit(bytes);
    }

    /// The current version of a relation.
    pub fn relation(&self, relid: u32) -> Option<&RelDef> {
        self.d.asm.current(relid)
    }

    /// Where the messages come from.
    pub fn messages(&self) -> &M {
        &self.messages
    }

    /// Where the messages come from, to change.
    pub fn messages_mut(&mut self) -> &mut M {
        &mut self.messages
    }
}

/// The source over `data` (a whole file, in memory or mapped) holding
/// `detected`; `name` names it in messages.
pub fn source(
    data: impl Into<crate::file::Bytes>,
    detected: Detected,
    name: String,
) -> PgLogicalSource {
    Produced::new(PgLogicalTxns::new(data, detected, name))
}

impl PgLogicalTxns {
    /// The transactions of `data` (a whole file, in memory or mapped)
    /// holding `detected`; `name` names it in messages.
    pub fn new(
        data: impl Into<crate::file::Bytes>,
        detected: Detected,
        name: String,
    ) -> PgLogicalTxns {
        // The same capture file gives the same log.
        let header = SegmentHeader::of_virtual_log(
            LogKind::Logical,
            FORMAT_VERSION_PG,
            [name.as_bytes()],
            None,
        );
        let file = CaptureFile {
            data: data.into(),
            pos: 0,
            detected,
            text: Default::default(),
            scratch: Vec::new(),
            json_scratch: Vec::new(),
        };
        PgTxns::over(Decoding::new(name, header), file)
    }

    /// What the file holds.
    pub fn detected(&self) -> Detected {
        self.messages.detected
    }
}

impl Messages for CaptureFile {
    /// Reads and handles one message; `None` at the end of the file, else
    /// whether a transaction was handed over.
    fn step(&mut self, d: &mut Decoding) -> Option<Result<bool>> {
        if self.pos >= self.data.len() {
            return None;
        }
        match self.detected.plugin {
            Plugin::PgOutput => self.step_pgoutput(d),
            _ => self.step_text(d),
        }
    }
}

impl CaptureFile {
    fn step_text(&mut self, d: &mut Decoding) -> Option<Result<bool>> {
        use crate::text::{Ctx, Unit, handle, unit_len};
        let plugin = self.detected.plugin;
        let (data, unit, next) = match self.detected.container {
            Container::RecvLogical => {
                let rest = &self.data[self.pos..];
                let (len, skip) = unit_len(plugin, rest);
                let unit = Unit {
                    at: self.pos as u64,
                    row: None,
                };
                (&rest[..len], unit, self.pos + skip)
            }
            c => {
                let (row, next) = match copy_row(&self.data, self.pos, c)? {
                    Ok(r) => r,
                    Err(e) => return Some(Err(e)),
                };
                let unit = Unit {
                    at: row.data_offset,
                    row: Some((row.lsn, row.xid)),
                };
                match row.data(false, &mut self.scratch) {
                    Ok(d) => (d, unit, next),
                    Err(e) => return Some(Err(with_lsn(e, Some(row.lsn)))),
                }
            }
        };
        self.pos = next;
        if data.iter().all(u8::is_ascii_whitespace) {
            return Some(Ok(false));
        }
        let cx = Ctx {
            st: &mut self.text,
            asm: &mut d.asm,
            bufs: &mut d.bufs,
            scratch: &mut self.json_scratch,
        };
        let r = handle(plugin, cx, data, unit);
        Some(r.map_err(|e| with_lsn(e, unit.row.map(|r| r.0))))
    }

    fn step_pgoutput(&mut self, d: &mut Decoding) -> Option<Result<bool>> {
        // (message bytes, where byte 0 of them is, hex digits before it
        // in the file (0: the bytes are the file's), row LSN, next position)
        let (bytes, base, hex_prefix, row_lsn, next) = match self.detected.container {
            Container::RecvLogical => (&self.data[self.pos..], self.pos as u64, 0, None, None),
            c => {
                let (row, next) = match copy_row(&self.data, self.pos, c)? {
                    Ok(r) => r,
                    Err(e) => return Some(Err(e)),
                };
                let prefix = if row.raw.starts_with(b"\\\\x") { 3 } else { 2 };
                let (base, lsn) = (row.data_offset, row.lsn);
                let data = match row.data(true, &mut self.scratch) {
                    Ok(d) => d,
                    Err(e) => return Some(Err(with_lsn(e, Some(lsn)))),
                };
                (data, base, prefix, Some(lsn), Some(next))
            }
        };
        let framing = if next.is_some() {
            Framing::Exact
        } else {
            Framing::Newline
        };
        let lsn_ctx = row_lsn.or(d.pg.cur.map(|c| c.1));
        // Offsets in hex-decoded bytes map back to their digits in the file.
        let map = move |o: u64| -> u64 {
            if hex_prefix == 0 {
                o
            } else {
                base + hex_prefix + 2 * o
            }
        };
        let decode_base = if hex_prefix == 0 { base } else { 0 };
        let r = match d.pg.decoder.decode(bytes, decode_base, framing) {
            Ok((msg, len)) => {
                let r = handle(
                    &mut d.pg,
                    &mut d.asm,
                    &mut d.bufs,
                    msg,
                    base,
                    row_lsn.unwrap_or(0),
                    &map,
                );
                match next {
                    Some(n) => self.pos = n,
                    None => self.pos += len + 1,
                }
                r
            }
            Err(e) => Err(remap(e, &map)),
        };
        Some(r.map_err(|e| with_lsn(e, lsn_ctx)))
    }
}

/// The COPY row at `pos` of `data`, and the position after it.
fn copy_row(data: &[u8], pos: usize, c: Container) -> Option<Result<(CopyRow<'_>, usize)>> {
    let mut rows = CopyRows::new(&data[pos..], pos as u64, c);
    let row = rows.next()?;
    Some(row.map(|r| (r, pos + rows.position())))
}

/// Rebuilds `e` with its offset mapped by `map`.
pub(crate) fn remap(e: Error, map: &dyn Fn(u64) -> u64) -> Error {
    match e.offset() {
        Some(o) => Error::new(e.kind(), map(o), e.message().to_string()),
        None => e,
    }
}

/// Adds the LSN to an error's message.
pub(crate) fn with_lsn(e: Error, lsn: Option<u64>) -> Error {
    match (lsn, e.offset()) {
        (Some(l), Some(o)) if l != 0 => Error::new(
            e.kind(),
            o,
            format!("{} (LSN {})", e.message(), lsn_text(l)),
        ),
        _ => e,
    }
}

/// Counts transaction `tx`, just handed over, in `summary` (its BEGIN and
/// COMMIT as frames, as a native log would hold them).
pub(crate) fn count_handed_over(summary: &mut Summary, tx: &Transaction<'_>) {
    summary.commits += 1;
    summary.frames += tx.records().len() as u64 + 2;
    summary.first_lsn.get_or_insert(tx.begin_lsn);
    summary.end_lsn = Some(tx.end_lsn);
    summary.committed_lsn = Some(tx.end_lsn);
}

/// The commit facts of transaction `xid` committed at `commit_lsn` (up to
/// `end_lsn`) at PostgreSQL time `commit_time`, by the message at `at`.
fn commit_info(xid: u32, commit_lsn: u64, end_lsn: u64, commit_time: i64, at: u64) -> CommitInfo {
    CommitInfo {
        xid,
        commit_lsn,
        end_lsn,
        time_us: pg_time(commit_time),
        offset: at,
    }
}

fn pg_time(t: i64) -> i64 {
    t.saturating_add(PG_EPOCH_UNIX_US)
}

/// Fills `buf` with the values of `t` for relation `def`; `key_only`: a
/// key image, whose non-key columns are unchanged.
fn fill(
    buf: &mut TupleBuf,
    def: &RelDef,
    t: &TupleData<'_>,
    key_only: bool,
    map: &dyn Fn(u64) -> u64,
) -> Result<()> {
    buf.clear();
    if usize::from(t.natts) != def.cols.len() {
        return Err(Error::malformed(
            map(t.offset()),
            format!(
                "a row of {} columns for {}, whose Relation has {}",
                t.natts,
                def.qualified(),
                def.cols.len()
            ),
        ));
    }
    for (col, (off, d)) in def.cols.iter().zip(t.columns()) {
        let bad = |m: String| {
            Error::malformed(
                map(off),
                format!("{} column {}: {m}", def.qualified(), col.name),
            )
        };
        let r = match d {
            Datum::Null if key_only && !col.key => buf.push_unchanged(),
            Datum::Null => buf.push_value(&Value::Null),
            Datum::Unchanged => buf.push_unchanged(),
            Datum::Text(b) => {
                let s =
                    std::str::from_utf8(b).map_err(|_| bad("text value is not UTF-8".into()))?;
                let v = col.ty.from_text(&col.name, s).map_err(bad)?;
                buf.push_value(&v)
            }
            Datum::Binary(b) => {
                let v = col.ty.from_binary(&col.name, b).map_err(bad)?;
                buf.push_value(&v)
            }
        };
        r.map_err(bad)?;
    }
    Ok(())
}

pub(crate) fn enc(r: LogicalRecord<'_>, out: &mut Vec<u8>, at: u64) -> Result<()> {
    r.encode(out).map_err(|m| Error::malformed(at, m))
}

fn rel_of<'a>(asm: &'a Assembler, relid: u32, at: u64, what: &str) -> Result<&'a RelDef> {
    asm.current(relid).ok_or_else(|| {
        Error::malformed(
            at,
            format!("{what} of relation {relid}, used before its Relation message"),
        )
    })
}

/// Handles one pgoutput message; true when a transaction was handed over.
pub(crate) fn handle(
    st: &mut PgState,
    asm: &mut Assembler,
    bufs: &mut Bufs,
    msg: PgMessage<'_>,
    at: u64,
    row_lsn: u64,
    map: &dyn Fn(u64) -> u64,
) -> Result<bool> {
    // The transaction a change belongs to: (top-level, subtransaction).
    let owner = |st: &PgState, xid: Option<u32>, what: &str| -> Result<(u32, u32, u64)> {
        match (xid, st.stream, st.cur) {
            (Some(x), Some(top), _) => Ok((top, x, row_lsn)),
            (None, None, Some((x, lsn))) => Ok((x, x, if row_lsn != 0 { row_lsn } else { lsn })),
            _ => Err(Error::malformed(
                at,
                format!("{what} outside any transaction (no Begin or Stream Start before it)"),
            )),
        }
    };
    match msg {
        PgMessage::Begin { final_lsn, xid, .. } => {
            if let Some((open, _)) = st.cur {
                return Err(Error::malformed(
                    at,
                    format!("Begin of transaction {xid} while transaction {open} is open"),
                ));
            }
            st.cur = Some((xid, final_lsn));
            asm.begin(xid, at);
        }
        PgMessage::BeginPrepare(p) => {
            st.cur = Some((p.xid, p.prepare_lsn));
            asm.begin(p.xid, at);
        }
        PgMessage::Commit {
            commit_lsn,
            end_lsn,
            commit_time,
            ..
        } => {
            let Some((xid, _)) = st.cur.take() else {
                return Err(Error::malformed(at, "Commit without a Begin"));
            };
            return asm.commit(
                commit_info(xid, commit_lsn, end_lsn, commit_time, at),
                false,
            );
        }
        PgMessage::Origin { name, .. } => {
            if let Some((x, _)) = st.cur {
                asm.set_origin(x, name);
            }
        }
        PgMessage::Type {
            oid,
            namespace,
            name,
            ..
        } => {
            // Named as test_decoding and wal2json spell it (and the heap
            // WAL decoder names it).
            st.type_names
                .insert(oid, replog_pgtype::type_name(namespace, name));
        }
        PgMessage::Relation(r) => {
            let full = r.replident == b'f';
            let cols = r
                .columns()
                .map(|c| ColDef {
                    name: c.name.to_string(),
                    ty: ColType::from_oid(
                        c.type_oid,
                        c.typmod,
                        st.type_names.get(&c.type_oid).map(String::as_str),
                    ),
                    // REPLICA IDENTITY FULL flags every column: the whole
                    // row identifies it (and may hold NULLs).
                    key: c.key,
                    nullable: !c.key || full,
                })
                .collect();
            let ns = if r.namespace.is_empty() {
                "pg_catalog"
            } else {
                r.namespace
            };
            asm.relation(r.relid, ns, r.name, cols, at)?;
        }
        PgMessage::Insert { xid, relid, new } => {
            let (top, sub, lsn) = owner(st, xid, "Insert")?;
            let def = rel_of(asm, relid, at, "Insert")?;
            let v = def.version;
            fill(&mut bufs.new, def, &new, false, map)?;
            let rec = LogicalRecord::Insert(Insert {
                relation_id: relid,
                new: bufs.new.as_tuple(),
            });
            asm.push(place(top, sub, lsn, at), &[(relid, v)], true, |o| {
                enc(rec, o, at)
            })?;
        }
        PgMessage::Update {
            xid,
            relid,
            old,
            new,
        } => {
            let (top, sub, lsn) = owner(st, xid, "Update")?;
            let def = rel_of(asm, relid, at, "Update")?;
            let v = def.version;
            let before = match old {
                Some((k, t)) => {
                    fill(&mut bufs.old, def, &t, k == OldKind::Key, map)?;
                    Some(OldImage {
                        kind: image(k),
                        values: bufs.old.as_tuple(),
                    })
                }
                None => None,
            };
            fill(&mut bufs.new, def, &new, false, map)?;
            let rec = LogicalRecord::Update(Update {
                relation_id: relid,
                before,
                after: bufs.new.as_tuple(),
            });
            asm.push(place(top, sub, lsn, at), &[(relid, v)], true, |o| {
                enc(rec, o, at)
            })?;
        }
        PgMessage::Delete { xid, relid, old } => {
            let (top, sub, lsn) = owner(st, xid, "Delete")?;
            let def = rel_of(asm, relid, at, "Delete")?;
            let v = def.version;
            fill(&mut bufs.old, def, &old.1, old.0 == OldKind::Key, map)?;
            let rec = LogicalRecord::Delete(Delete {
                relation_id: relid,
                before: OldImage {
                    kind: image(old.0),
                    values: bufs.old.as_tuple(),
                },
            });
            asm.push(place(top, sub, lsn, at), &[(relid, v)], true, |o| {
                enc(rec, o, at)
            })?;
        }
        PgMessage::Truncate {
            xid,
            cascade,
            restart_identity,
            relids,
            ..
        } => {
            let (top, sub, lsn) = owner(st, xid, "Truncate")?;
            let mut ids = Vec::with_capacity(relids.len() / 4);
            let mut refs = Vec::with_capacity(relids.len() / 4);
            for b in relids.chunks_exact(4) {
                let id = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let def = rel_of(asm, id, at, "Truncate")?;
                ids.push(id);
                refs.push((id, def.version));
            }
            let rec = LogicalRecord::Truncate(Truncate {
                cascade,
                restart_identity,
                relation_ids: ids,
            });
            asm.push(place(top, sub, lsn, at), &refs, false, |o| enc(rec, o, at))?;
        }
        PgMessage::Message {
            xid,
            transactional,
            lsn,
            prefix,
            content,
        } => {
            let rec = LogicalRecord::Message(Message {
                transactional,
                prefix,
                content,
            });
            if transactional {
                let (top, sub, _) = owner(st, xid, "Message")?;
                asm.push(place(top, sub, lsn, at), &[], false, |o| enc(rec, o, at))?;
            } else {
                return asm.standalone(lsn, at, |o| enc(rec, o, at));
            }
        }
        PgMessage::StreamStart { xid, .. } => {
            if let Some(open) = st.stream {
                return Err(Error::malformed(
                    at,
                    format!("Stream Start of transaction {xid} inside the block of {open}"),
                ));
            }
            st.stream = Some(xid);
            asm.begin(xid, at);
        }
        PgMessage::StreamStop => st.stream = None,
        PgMessage::StreamCommit {
            xid,
            commit_lsn,
            end_lsn,
            commit_time,
            ..
        } => {
            return asm.commit(
                commit_info(xid, commit_lsn, end_lsn, commit_time, at),
                false,
            );
        }
        PgMessage::StreamAbort { xid, subxid, .. } => asm.abort(xid, subxid, at)?,
        PgMessage::Prepare(p) => {
            st.cur = None;
            asm.prepare(p.xid, p.gid, at)?;
        }
        PgMessage::StreamPrepare(p) => asm.prepare(p.xid, p.gid, at)?,
        PgMessage::CommitPrepared {
            commit_lsn,
            end_lsn,
            commit_time,
            xid,
            ..
        } => {
            return asm.commit(commit_info(xid, commit_lsn, end_lsn, commit_time, at), true);
        }
        PgMessage::RollbackPrepared { xid, .. } => asm.rollback_prepared(xid),
    }
    Ok(false)
}

fn place(xid: u32, subxid: u32, lsn: u64, offset: u64) -> Place {
    Place {
        xid,
        subxid,
        lsn,
        offset,
    }
}

fn image(k: OldKind) -> ImageKind {
    match k {
        OldKind::Key => ImageKind::Key,
        OldKind::Full => ImageKind::Full,
    }
}

impl<M: Messages> TxnProducer for PgTxns<M> {
    fn segment(&self) -> (&str, &SegmentHeader) {
        (&self.d.name, &self.d.header)
    }

    fn produce(&mut self) -> Result<bool> {
        if let Some(end) = self.pending.take() {
            self.messages.consumed(end);
        }
        self.d.asm.clear();
        loop {
            match self.messages.step(&mut self.d) {
                None => {
                    self.d.asm.finish();
                    return Ok(false);
                }
                Some(Err(e)) => return Err(e),
                Some(Ok(false)) => {}
                Some(Ok(true)) => break,
            }
        }
        let Some(tx) = self.d.asm.transaction() else {
            return Ok(false);
        };
        count_handed_over(&mut self.d.summary, &tx);
        self.pending = Some(tx.end_lsn);
        Ok(true)
    }

    fn made(&self) -> Option<Transaction<'_>> {
        self.d.asm.transaction()
    }

    fn kind(&self) -> LogKind {
        LogKind::Logical
    }

    fn summary(&self) -> &Summary {
        &self.d.summary
    }
}
