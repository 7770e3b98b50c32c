//! Inverting a logical log (MariaDB's flashback): the log that undoes it,
//! transaction by transaction in reverse order.
//!
//! | record | its inverse |
//! |---|---|
//! | INSERT new | DELETE with the full before-image `new` |
//! | DELETE before (full) | INSERT `before` |
//! | UPDATE before (full) → after | UPDATE `after` (unchanged columns filled from `before`) → `before` (the columns unchanged in `after` stay unchanged) |
//! | RELATION | written again before the first row record that needs it |
//! | MESSAGE | dropped |
//! | CREATE TABLE (not `… SELECT`) | DROP TABLE: undone in reverse order, the table is empty again when its CREATE is reached |
//! | other DDL | left out and listed in the report (with `skip_ddl`: every DDL left out) |
//! | TRUNCATE | refused: the removed rows are not in the log |
//!
//! Inverting twice gives the original row records back, byte for byte.
//!
//! A [`Selection`] inverts only some transactions (by txid, origin such as
//! a binlog GTID, LSN range or time range), as `mysqlbinlog --flashback`
//! users pick them; the inverse COMMITs then carry no state digests, since
//! the store the inverse is applied to has the later, unselected
//! transactions too.
//!
//! Each inverse transaction gets a new txid (after the input's largest, so
//! that a follower that applied the input accepts it as new), the original
//! timestamps, origin `undo:TXID`, and the original COMMIT's state digests
//! swapped: it leads from the original's `state_after` back to its
//! `state_before`.
//!
//! Memory is bounded by the largest transaction: a first pass checks every
//! record and keeps the position of each committed transaction (three
//! integers) and the relations' history; a second pass reads the
//! transactions backwards by position, one at a time.

use crate::error::{Error, ErrorKind, Result};
use crate::relations::SqlRelation;
use crate::to_statement::derived_options;
use replog_core::frame::{Checksummer, Step, padded_len, read_frame};
use replog_core::reader::{
    Damage, Event, LogReader, ReaderOptions, SegmentInput, Source, UncommittedTail, read_full_at,
};
use replog_core::record::rtype;
use replog_core::recovery::RecoveryPolicy;
use replog_core::segment::HEADER_LEN;
use replog_core::writer::LogWriter;
use replog_core::{Begin, Commit, LogKind, SegmentHeader};
use replog_logical::{
    ColumnValue, Delete, ImageKind, Insert, LogicalRecord, OldImage, Relation, Tuple, TupleBuf,
    Update,
};
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;

/// How to invert.
#[derive(Debug, Clone, Default)]
pub struct InvertOptions {
    /// Which damage of the input ends it without an error.
    pub policy: RecoveryPolicy,
    /// Leave every DDL record out (the inverse then undoes row changes
    /// only); by default a CREATE TABLE is undone by a DROP TABLE and other
    /// DDL is left out and listed.
    pub skip_ddl: bool,
    /// Txid of the first inverse transaction (default: the input's largest + 1).
    pub first_txid: Option<u64>,
    /// Which committed transactions to invert (default: all).
    pub select: Selection,
    /// Binlogs only: bytes of binlog between two checkpoints of the first
    /// pass, i.e. how much the second pass decodes and holds at a time
    /// (default, and `None`: 8 MiB).
    pub binlog_stretch: Option<u64>,
    /// The input is a log that stands for a foreign one (a PostgreSQL
    /// capture or WAL read through [`crate::source::LogInput::into_segments`]):
    /// a transaction that cannot be inverted is named by its BEGIN's
    /// origin (PostgreSQL's commit LSN and xid), not by the LSN and offset
    /// of a log the user never saw.
    pub name_by_origin: bool,
}

/// Which committed transactions of the input to invert: those that pass
/// every given test (none given: all).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these txids.
    pub txids: Vec<u64>,
    /// Only transactions whose BEGIN names one of these origins, whole or
    /// its first word (an imported binlog's transactions have origin
    /// `GTID FILE:POS`: the GTID selects them).
    pub origins: Vec<String>,
    /// Only transactions whose BEGIN is at or after this LSN.
    pub start_lsn: Option<u64>,
    /// Only transactions whose COMMIT is before this LSN.
    pub stop_lsn: Option<u64>,
    /// Only transactions that began at or after this time (µs since the epoch).
    pub start_time: Option<i64>,
    /// Only transactions that began before this time (µs since the epoch).
    pub stop_time: Option<i64>,
}

impl Selection {
    /// Whether every transaction is selected.
    pub fn is_all(&self) -> bool {
        self.txids.is_empty()
            && self.origins.is_empty()
            && self.start_lsn.is_none()
            && self.stop_lsn.is_none()
            && self.start_time.is_none()
            && self.stop_time.is_none()
    }

    /// The tests known at a transaction's BEGIN (at `lsn`).
    fn begins(&self, b: &Begin<'_>, lsn: u64) -> bool {
        (self.txids.is_empty() || self.txids.contains(&b.txid))
            && (self.origins.is_empty()
                || self
                    .origins
                    .iter()
                    .any(|o| o == b.origin || b.origin.split(' ').next() == Some(o.as_str())))
            && self.start_lsn.is_none_or(|s| lsn >= s)
            && self.start_time.is_none_or(|s| b.timestamp_us >= s)
            && self.stop_time.is_none_or(|s| b.timestamp_us < s)
    }
}

/// A DDL statement the inverse did not undo.
#[derive(Debug, Clone, Serialize)]
pub struct DdlLeftOut {
    /// The transaction holding it.
    pub txid: u64,
    /// Its LSN.
    pub lsn: u64,
    /// The statement.
    pub sql: String,
}

/// The DDL that undoes `sql` (run in `database`), when there is one: a
/// CREATE TABLE without SELECT is undone by dropping the table, which is
/// empty again once every later row change has been undone.
fn undo_ddl(database: &str, sql: &str) -> Option<String> {
    let words: Vec<&str> = sql.split_whitespace().collect();
    let upper = |i: usize| words.get(i).map(|w| w.to_ascii_uppercase());
    if upper(0)? != "CREATE" {
        return None;
    }
    let mut i = 1;
    if upper(i).as_deref() == Some("TEMPORARY") {
        return None;
    }
    if upper(i).as_deref() != Some("TABLE") {
        return None;
    }
    i += 1;
    if upper(i).as_deref() == Some("IF") {
        // IF NOT EXISTS: the table may have been there before.
        return None;
    }
    if words.iter().any(|w| w.eq_ignore_ascii_case("SELECT")) {
        return None;
    }
    // The name: `db`.`t`, db.t, `t` or t, up to a parenthesis or blank.
    let rest = words[i..].join(" ");
    let name_end = rest.find(['(', ' ']).unwrap_or(rest.len());
    let name = &rest[..name_end];
    let parts: Vec<String> = name
        .split('.')
        .map(|p| p.trim_matches('`').replace("``", "`"))
        .collect();
    let (db, table) = match parts.as_slice() {
        [t] if !t.is_empty() && !database.is_empty() => (database.to_string(), t.clone()),
        [d, t] if !d.is_empty() && !t.is_empty() => (d.clone(), t.clone()),
        _ => return None,
    };
    if name.matches('`').count() % 2 != 0 || name.contains(['"', '\'']) {
        return None;
    }
    Some(format!(
        "DROP TABLE {}",
        replog_schema::sql::qualified(&db, &table)
    ))
}

/// What an inversion did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InvertReport {
    /// Committed input transactions.
    pub input_transactions: u64,
    /// Inverse transactions written.
    pub transactions: u64,
    /// Row records inverted.
    pub rows: u64,
    /// RELATION records written.
    pub relations: u64,
    /// DDL records left out (`skip_ddl`, or DDL that cannot be undone).
    pub ddl_skipped: u64,
    /// DDL records undone (CREATE TABLE by DROP TABLE).
    pub ddl_inverted: u64,
    /// The DDL left out (not with `skip_ddl`), in input order.
    pub ddl_left_out: Vec<DdlLeftOut>,
    /// Committed input transactions not selected (see [`Selection`]).
    pub not_selected: u64,
    /// MESSAGE records dropped.
    pub messages_dropped: u64,
    /// Input transactions with no row change, not written.
    pub empty_skipped: u64,
    /// Bytes of the largest input transaction (what the second pass holds).
    pub largest_transaction: u64,
    /// Txids of the inverse transactions: first and last.
    pub txids: Option<(u64, u64)>,
    /// Digest the inverse starts from (the input's final state), when known.
    pub start_state: Option<u64>,
    /// Digest the inverse ends at (the state before the first inverted transaction).
    pub final_state: Option<u64>,
    /// The transaction left open at the end of the input, not inverted.
    pub uncommitted: Option<UncommittedTail>,
    /// Damage the recovery policy accepted as the end of the input.
    pub damage: Vec<Damage>,
}

/// Lets two readers share one source.
pub(crate) struct Shared(pub(crate) Rc<dyn Source>);

impl Source for Shared {
    fn len(&self) -> u64 {
        self.0.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read_at(offset, buf)
    }
    fn as_slice(&self) -> Option<&[u8]> {
        self.0.as_slice()
    }
}

#[derive(Debug, Clone, Copy)]
struct TxPos {
    seg: u32,
    start: u64,
    end: u64,
}

/// Relation versions by id, each with the LSN where it took effect.
#[derive(Default)]
struct History {
    by_id: HashMap<u32, Vec<(u64, Rc<SqlRelation>)>>,
}

impl History {
    fn define(&mut self, r: &Relation<'_>, body: &[u8], lsn: u64) {
        let v = self.by_id.entry(r.relation_id).or_default();
        if v.last().is_some_and(|(_, old)| old.body == body) {
            return;
        }
        v.push((lsn, Rc::new(SqlRelation::new(r, body))));
    }

    /// The relation `id` was bound to at `lsn`.
    fn at(&self, id: u32, lsn: u64) -> Option<&Rc<SqlRelation>> {
        let v = self.by_id.get(&id)?;
        let n = v.partition_point(|(l, _)| *l < lsn);
        n.checked_sub(1).map(|i| &v[i].1)
    }
}

fn check_tuple(t: &Tuple<'_>, rel: &SqlRelation, lsn: u64, what: &str) -> Result<()> {
    rel.check_arity(t, lsn, what)?;
    t.validate().map_err(|e| Error::from(e).prefixed(lsn))?;
    Ok(())
}

/// Checks one record of a committed-or-not transaction in the first pass;
/// returns why it cannot be inverted.
fn check_record(
    rec: &LogicalRecord<'_>,
    hist: &History,
    lsn: u64,
    offset: u64,
    loc: &Locate<'_>,
) -> Result<Option<Error>> {
    let rel_of = |id: u32| -> Result<Rc<SqlRelation>> {
        hist.at(id, lsn).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::Malformed,
                format!("relation {id} is used before any RELATION defines it"),
            )
            .at(lsn, offset)
        })
    };
    let rel = match rec {
        LogicalRecord::Insert(i) => {
            let rel = rel_of(i.relation_id)?;
            check_tuple(&i.new, &rel, lsn, "INSERT")?;
            rel
        }
        LogicalRecord::Update(u) => {
            let rel = rel_of(u.relation_id)?;
            check_tuple(&u.after, &rel, lsn, "UPDATE after-image")?;
            if let Some(b) = &u.before {
                check_tuple(&b.values, &rel, lsn, "UPDATE before-image")?;
            }
            rel
        }
        LogicalRecord::Delete(d) => {
            let rel = rel_of(d.relation_id)?;
            check_tuple(&d.before.values, &rel, lsn, "DELETE before-image")?;
            rel
        }
        LogicalRecord::Truncate(_) => {
            return Ok(not_invertible(rec, "").map(|m| loc.refuse(lsn, offset, m)));
        }
        _ => return Ok(None),
    };
    Ok(not_invertible(rec, &rel.name).map(|m| loc.refuse(lsn, offset, m)))
}

/// Why `rec` cannot be undone from the log, if it cannot (`rel`: its
/// table, for the message): a TRUNCATE, or an UPDATE or DELETE whose
/// before-image is missing or key-only. The one place both passes and
/// every input ask.
fn not_invertible(rec: &LogicalRecord<'_>, rel: &str) -> Option<String> {
    const FULL: &str = "invert needs full before-images (MySQL binlog_row_image=FULL, PostgreSQL REPLICA IDENTITY FULL)";
    let (what, image) = match rec {
        LogicalRecord::Update(u) => ("UPDATE", u.before.as_ref().map(|b| b.kind)),
        LogicalRecord::Delete(d) => ("DELETE", Some(d.before.kind)),
        LogicalRecord::Truncate(_) => {
            return Some(
                "TRUNCATE removes rows that the log does not carry; it cannot be undone from the log"
                    .into(),
            );
        }
        _ => return None,
    };
    match image {
        None => Some(format!("{what} on {rel} has no before-image; {FULL}")),
        Some(ImageKind::Key) => Some(format!(
            "{what} on {rel} has a key-only before-image; {FULL}"
        )),
        Some(_) => None,
    }
}

/// Inverts the logical log in `inputs`, writing the inverse log to `out`;
/// returns the report and `out`.
pub fn invert<W: Write>(
    inputs: Vec<SegmentInput>,
    opts: &InvertOptions,
    out: W,
) -> Result<(InvertReport, W)> {
    let sources: Vec<(String, Rc<dyn Source>)> = inputs
        .into_iter()
        .map(|i| (i.name, Rc::from(i.source)))
        .collect();
    // Pass 1: positions of committed transactions, relation history, checks.
    let mut reader = LogReader::new(
        sources
            .iter()
            .map(|(name, s)| SegmentInput {
                name: name.clone(),
                source: Box::new(Shared(s.clone())),
            })
            .collect(),
        ReaderOptions {
            policy: opts.policy,
            continue_after_damage: false,
            buffer_size: 0,
        },
    );
    let mut report = InvertReport::default();
    let mut segs: Vec<Option<SegmentHeader>> = vec![None; sources.len()];
    let mut first_header: Option<SegmentHeader> = None;
    let mut cur_seg = 0u32;
    let mut txs: Vec<TxPos> = Vec::new();
    let mut hist = History::default();
    // (start offset, txid, problem, selected so far)
    let mut open: Option<(u64, u64, Option<Error>, bool)> = None;
    // Its name for messages where the input stands for a foreign log.
    let mut open_what = String::new();
    let everything = opts.select.is_all();
    let mut max_txid = 0u64;
    let mut first_state: Option<u64> = None;
    while let Some(ev) = reader.next() {
        match ev? {
            Event::Segment {
                index,
                name,
                header,
            } => {
                if header.kind != LogKind::Logical {
                    return Err(Error::new(
                        ErrorKind::Mismatch,
                        format!(
                            "{name}: a {} log; only logical logs can be inverted",
                            header.kind
                        ),
                    ));
                }
                if let Some(s) = segs.get_mut(index) {
                    *s = Some(header.clone());
                }
                first_header.get_or_insert_with(|| header.clone());
                cur_seg = index as u32;
            }
            Event::Damage(d) => {
                if !d.tolerated {
                    return Err(Error::new(
                        ErrorKind::Damage,
                        format!("input is damaged; nothing written: {}", d.to_error()),
                    ));
                }
                report.damage.push(d.clone());
            }
            Event::Frame(f) => match f.record_type() {
                rtype::BEGIN => {
                    let b = Begin::decode(f.body, f.body_offset())?;
                    let selected = opts.select.begins(&b, f.lsn);
                    open = Some((f.offset, b.txid, None, selected));
                    open_what = if opts.name_by_origin {
                        origin_what(&b)
                    } else {
                        format!("transaction {}", b.txid)
                    };
                }
                rtype::COMMIT => {
                    let c = Commit::decode(f.body, f.body_offset())?;
                    if let Some((start, txid, problem, selected)) = open.take() {
                        max_txid = max_txid.max(txid);
                        if !selected || opts.select.stop_lsn.is_some_and(|s| f.lsn >= s) {
                            report.not_selected += 1;
                            continue;
                        }
                        if let Some(e) = problem {
                            return Err(e);
                        }
                        let end = f.offset + f.disk_len();
                        report.largest_transaction = report.largest_transaction.max(end - start);
                        txs.push(TxPos {
                            seg: cur_seg,
                            start,
                            end,
                        });
                        max_txid = max_txid.max(txid);
                        if first_state.is_none() {
                            first_state = c.state_before;
                        }
                    }
                }
                _ => {
                    let rec = LogicalRecord::decode(f.body, f.body_offset())
                        .map_err(|e| Error::from(e).prefixed(f.lsn))?;
                    if let LogicalRecord::Relation(r) = &rec {
                        hist.define(r, f.body, f.lsn);
                    }
                    if let Some((_, _, problem, true)) = open.as_mut()
                        && problem.is_none()
                    {
                        let loc = if opts.name_by_origin {
                            Locate::Foreign(&open_what)
                        } else {
                            Locate::Native(&open_what)
                        };
                        *problem = check_record(&rec, &hist, f.lsn, f.offset, &loc)?;
                    }
                }
            },
        }
    }
    let summary = reader.into_summary();
    if let Some(d) = summary.damage.iter().find(|d| !d.tolerated) {
        return Err(Error::new(
            ErrorKind::Damage,
            format!("input is damaged; nothing written: {}", d.to_error()),
        ));
    }
    let Some(first_header) = first_header else {
        return Err(Error::new(
            ErrorKind::Damage,
            "the input holds no valid segment",
        ));
    };
    report.uncommitted = summary.uncommitted.clone();
    report.input_transactions = txs.len() as u64 + report.not_selected;
    // A selection's inverse starts from a state no COMMIT of the input
    // names (the later transactions stay applied): no digests.
    if everything {
        report.start_state = summary.final_state;
        report.final_state = first_state;
    }

    // Pass 2: transactions backwards.
    let mut wopts = derived_options(&first_header, LogKind::Logical, b"invert");
    wopts.start_state = report.start_state;
    let mut inv = InverseWriter::new(
        LogWriter::new(out, &wopts)?,
        opts,
        opts.first_txid.unwrap_or(max_txid + 1),
    );
    let mut buf: Vec<u8> = Vec::new();
    let mut frames: Vec<(u64, u64, std::ops::Range<usize>)> = Vec::new();
    for pos in txs.iter().rev() {
        let (name, src) = &sources[pos.seg as usize];
        let Some(header) = segs[pos.seg as usize].as_ref() else {
            continue;
        };
        let ck = Checksummer::new(header.salt);
        let len = usize::try_from(pos.end - pos.start).unwrap_or(usize::MAX);
        buf.resize(len, 0);
        let got = read_full_at(&**src, pos.start, &mut buf)
            .map_err(|e| Error::io(e, format!("reading {name}")))?;
        if got < len {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{name} became shorter between the two passes"),
            ));
        }
        frames.clear();
        let mut p = 0usize;
        while p < len {
            let offset = pos.start + p as u64;
            let lsn = header.start_lsn + (offset - HEADER_LEN as u64);
            match read_frame(&buf[p..], offset, lsn, &ck, true) {
                Step::Frame(f) => {
                    let b = p + 8;
                    frames.push((lsn, offset, b..b + f.body.len()));
                    p += padded_len(f.body.len());
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!("{name} changed between the two passes"),
                    )
                    .at(lsn, offset));
                }
            }
        }
        let (Some(first), Some(last)) = (frames.first(), frames.last()) else {
            continue;
        };
        let begin = Begin::decode(&buf[first.2.clone()], first.1 + 8)?;
        let commit = Commit::decode(&buf[last.2.clone()], last.1 + 8)?;
        let records = frames[1..frames.len() - 1]
            .iter()
            .rev()
            .map(|(lsn, offset, range)| (*lsn, *offset, &buf[range.clone()]));
        // A whole transaction: one part, then its end.
        let what;
        let locate = if opts.name_by_origin {
            what = origin_what(&begin);
            Locate::Foreign(&what)
        } else {
            what = format!("transaction {}", begin.txid);
            Locate::Native(&what)
        };
        inv.part(
            &mut report,
            &begin,
            &commit,
            records,
            &|id, lsn| hist.at(id, lsn).cloned(),
            &locate,
        )?;
        inv.end(&mut report)?;
    }
    let out = inv.finish(&mut report)?;
    Ok((report, out))
}

/// Binlog bytes between two checkpoints of the first pass over binlogs:
/// the second pass decodes and holds one such piece at a time.
const PIECE_BYTES: u64 = 8 << 20;

/// Inverts MySQL/MariaDB binlogs (flashback, as `mysqlbinlog --flashback`
/// does) straight from the binlog files, without an intermediate log, with
/// memory bounded by one piece of the binlog (8 MiB by default), however
/// large its transactions.
///
/// A first pass reads the binlogs without decoding rows: it counts the
/// committed transactions, notes the tables they use (their RELATIONs) and
/// takes a checkpoint of the importer every 8 MiB of binlog — between two
/// events, also inside a transaction. The second pass takes the pieces
/// last first: each is imported again from its checkpoint with its rows
/// decoded, and its records are inverted last first. A transaction that
/// spans pieces is met tail first: its inverse stays open from its last
/// piece back to its first. A second thread decodes the next piece while
/// one is inverted and written (two pieces in memory at most).
///
/// Binlogs whose transactions hold data-changing statements (STATEMENT or
/// MIXED format) have no row images for those changes: they are first
/// converted to one logical log by executing the statements on the
/// reference store ([`crate::to_logical::binlog_to_logical`]), kept in
/// memory, and that log is inverted (memory then grows with the log).
///
/// Selection by LSN does not apply to binlogs (refused); `--gtid`
/// ([`Selection::origins`]) selects a transaction by its GTID.
pub fn invert_binlog<W: Write>(
    paths: &[std::path::PathBuf],
    opts: &InvertOptions,
    out: W,
) -> Result<(InvertReport, W)> {
    use replog_import::{Checkpoint, ImportOptions, ImportedTransaction, Importer, LogicalOp};
    if opts.select.start_lsn.is_some() || opts.select.stop_lsn.is_some() {
        return Err(Error::new(
            ErrorKind::Mismatch,
            "start and stop positions are LSNs of a native log; select binlog transactions by GTID or time",
        ));
    }
    let selected = |tx: &ImportedTransaction, origin: &str| {
        opts.select.begins(
            &Begin {
                txid: tx.txid,
                timestamp_us: tx.begin_timestamp_us,
                server_id: tx.server_id,
                origin,
            },
            0,
        )
    };
    // Pass 1: transactions, relations and checkpoints; rows not decoded.
    let light = ImportOptions {
        decode_rows: false,
        ..ImportOptions::default()
    };
    let mut imp = Importer::new(paths, &light);
    let mut hist = History::default();
    let mut report = InvertReport::default();
    let Some(first) = imp.checkpoint() else {
        return Err(Error::new(
            ErrorKind::Io,
            "the binlog importer cannot start",
        ));
    };
    // Each checkpoint with the importer's position there.
    let mut pieces: Vec<(Checkpoint, (usize, u64))> = vec![(first, imp.position())];
    let piece_bytes = opts.binlog_stretch.unwrap_or(PIECE_BYTES);
    let mut max_txid = 0u64;
    let mut body = Vec::new();
    loop {
        while let Some(tx) = imp.take_transaction() {
            max_txid = max_txid.max(tx.txid);
            if tx.statements_not_in_logical > 0 {
                // Statement-based changes: no row images in the binlog.
                let (_, _, log) = crate::to_logical::binlog_to_logical(
                    paths,
                    Default::default(),
                    Vec::new(),
                    |_| {},
                )?;
                let name = paths
                    .first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                return invert(vec![SegmentInput::memory(name, log)], opts, out);
            }
            for op in &tx.logical {
                if let LogicalOp::Relation(_) = op {
                    body.clear();
                    op.encode(&mut body).map_err(|m| {
                        Error::new(ErrorKind::Malformed, format!("{}: {m}", tx.origin()))
                    })?;
                    if let LogicalRecord::Relation(r) = LogicalRecord::decode(&body, 0)? {
                        hist.define(&r, &body, 2 * tx.txid);
                    }
                }
            }
            report.input_transactions += 1;
            if !selected(&tx, &tx.origin()) {
                report.not_selected += 1;
            }
        }
        let here = imp.position();
        let mark = pieces.last().map_or(here, |p| p.1);
        if (here.0 != mark.0 || here.1.saturating_sub(mark.1) >= piece_bytes)
            && let Some(at) = imp.checkpoint()
        {
            pieces.push((at, here));
        }
        match imp.read_event() {
            None => break,
            Some(r) => r?,
        }
    }

    // Pass 2: pieces last first, each decoded again from its checkpoint.
    let h = crate::source::binlog_header(paths, LogKind::Logical, None);
    let wopts = crate::to_statement::derived_from(&h.log_id, h.salt, LogKind::Logical, b"invert");
    let mut inv = InverseWriter::new(
        LogWriter::new(out, &wopts)?,
        opts,
        opts.first_txid.unwrap_or(max_txid + 1),
    );
    // One thread decodes the pieces, last first, while this one inverts and
    // writes the piece decoded before: two pieces in memory at most.
    std::thread::scope(|scope| -> Result<()> {
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Result<DecodedPiece>>(1);
        let (empty_tx, empty_rx) = std::sync::mpsc::channel::<DecodedPiece>();
        let pieces = &pieces;
        scope.spawn(move || {
            for i in (0..pieces.len()).rev() {
                let mut piece = empty_rx.try_recv().unwrap_or_default();
                let stop = pieces.get(i + 1).map(|p| p.1);
                let r = piece.decode(paths, &pieces[i].0, stop).map(|()| piece);
                let failed = r.is_err();
                if full_tx.send(r).is_err() || failed {
                    return;
                }
            }
        });
        for piece in full_rx {
            let piece = piece?;
            report.largest_transaction = report.largest_transaction.max(piece.arena.len() as u64);
            let DecodedPiece {
                arena,
                ends,
                parts,
                began_before,
            } = &piece;
            for (n, (tx, records, ends_here)) in parts.iter().enumerate().rev() {
                let origin = tx.origin();
                if !selected(tx, &origin) {
                    continue;
                }
                let key = 2 * tx.txid + 1;
                let records = records.clone().rev().map(|r| {
                    let s = r.checked_sub(1).map_or(0, |j| ends[j]);
                    (key, 0u64, &arena[s..ends[r]])
                });
                let what = format!("binlog transaction {origin}");
                match (ends_here, inv.open_txid()) {
                    (true, None) => {}
                    (false, Some(t)) if t == tx.txid => {}
                    // Read up to the end of the input without its COMMIT: not inverted.
                    (false, None) => continue,
                    _ => {
                        return Err(Error::new(
                            ErrorKind::Io,
                            format!("the binlog changed between the two passes (at {what})"),
                        ));
                    }
                }
                inv.part(
                    &mut report,
                    &Begin {
                        txid: tx.txid,
                        timestamp_us: tx.begin_timestamp_us,
                        server_id: tx.server_id,
                        origin: &origin,
                    },
                    &Commit {
                        txid: tx.txid,
                        timestamp_us: tx.commit_timestamp_us,
                        state_before: None,
                        state_after: None,
                    },
                    records,
                    &|id, lsn| hist.at(id, lsn).cloned(),
                    &Locate::Foreign(&what),
                )?;
                // Its first part: the transaction began in this piece.
                if *began_before != Some(tx.txid) || n > 0 {
                    inv.end(&mut report)?;
                }
            }
            // Its buffers serve a later piece.
            let _ = empty_tx.send(piece);
        }
        Ok(())
    })?;
    if inv.open_txid().is_some() {
        return Err(Error::new(
            ErrorKind::Io,
            "the binlog changed between the two passes (a transaction has no start)",
        ));
    }
    let out = inv.finish(&mut report)?;
    Ok((report, out))
}

/// One piece of binlog as the second pass of [`invert_binlog`] decodes it.
#[derive(Default)]
struct DecodedPiece {
    /// The record bodies, one after the other.
    arena: Vec<u8>,
    /// Where each record ends in the arena.
    ends: Vec<usize>,
    /// The piece's transactions or parts of them: the transaction (without
    /// its records), its records (indexes into `ends`), whether it ends in
    /// this piece.
    parts: Vec<(
        replog_import::ImportedTransaction,
        std::ops::Range<usize>,
        bool,
    )>,
    /// The transaction open where the piece starts.
    began_before: Option<u64>,
}

impl DecodedPiece {
    /// Decodes the piece from checkpoint `at` up to position `stop` (the
    /// next checkpoint's; `None`: the end of the input).
    fn decode(
        &mut self,
        paths: &[std::path::PathBuf],
        at: &replog_import::Checkpoint,
        stop: Option<(usize, u64)>,
    ) -> Result<()> {
        use replog_import::{ImportOptions, ImportedTransaction, Importer};
        self.arena.clear();
        self.ends.clear();
        self.parts.clear();
        self.began_before = at.open_txid();
        let mut imp = Importer::resume(paths, &ImportOptions::default(), at)?;
        let mut keep = |mut tx: ImportedTransaction, ends_here: bool| -> Result<()> {
            let first = self.ends.len();
            for op in &tx.logical {
                op.encode(&mut self.arena).map_err(|m| {
                    Error::new(ErrorKind::Malformed, format!("{}: {m}", tx.origin()))
                })?;
                self.ends.push(self.arena.len());
            }
            tx.logical = Vec::new();
            self.parts.push((tx, first..self.ends.len(), ends_here));
            Ok(())
        };
        loop {
            while let Some(tx) = imp.take_transaction() {
                keep(tx, true)?;
            }
            if stop == Some(imp.position()) {
                break;
            }
            match imp.read_event() {
                None => break,
                Some(r) => r?,
            }
        }
        if stop.is_some()
            && let Some(tx) = imp.take_open()
        {
            keep(tx, false)?;
        }
        Ok(())
    }
}

/// A transaction of a log that stands for a foreign one, named by its
/// BEGIN's origin (a PostgreSQL source's `<commit LSN> xid <xid>`).
fn origin_what(b: &Begin<'_>) -> String {
    if b.origin.is_empty() {
        format!("transaction {}", b.txid)
    } else {
        format!("transaction {} (LSN {})", b.txid, b.origin)
    }
}

/// How errors name the place of a record: a native log's LSN and offset,
/// or the foreign transaction it was imported from (a binlog's, a
/// PostgreSQL source's).
enum Locate<'a> {
    /// A native log: `what` names the transaction; records by LSN and offset.
    Native(&'a str),
    /// A foreign log's transaction (`what`: a binlog's GTID and file:pos,
    /// a PostgreSQL source's commit LSN and xid).
    Foreign(&'a str),
}

impl Locate<'_> {
    fn what(&self) -> &str {
        match self {
            Locate::Native(w) | Locate::Foreign(w) => w,
        }
    }

    fn place(&self, e: Error, lsn: u64, offset: u64) -> Error {
        match self {
            Locate::Native(_) => e.at(lsn, offset),
            Locate::Foreign(w) => Error::new(e.kind(), format!("{w}: {}", e.message())),
        }
    }

    fn refuse(&self, lsn: u64, offset: u64, msg: String) -> Error {
        let e = Error::new(
            ErrorKind::CannotInvert,
            format!("cannot invert {}: {msg}", self.what()),
        );
        match self {
            Locate::Native(_) => e.at(lsn, offset),
            Locate::Foreign(_) => e,
        }
    }
}

/// Writes inverse transactions, one input transaction at a time, whatever
/// the input is read from: the one place where records are inverted.
struct InverseWriter<'o, W: Write> {
    w: LogWriter<W>,
    opts: &'o InvertOptions,
    everything: bool,
    next_txid: u64,
    emitted: HashMap<u32, (Rc<SqlRelation>, u32)>,
    arena: Vec<u8>,
    ends: Vec<usize>,
    scratch: TupleBuf,
    scratch2: TupleBuf,
    left_out: Vec<DdlLeftOut>,
    open: Option<OpenInverse>,
}

/// The inverse of an input transaction, while its parts are written.
struct OpenInverse {
    /// The input transaction's txid, BEGIN time and server id.
    txid: u64,
    timestamp_us: i64,
    server_id: u32,
    /// The input transaction's COMMIT.
    commit: Commit,
    /// The inverse's txid, once its BEGIN is written.
    inverse_txid: Option<u64>,
    /// Records written.
    rows: u64,
}

impl<'o, W: Write> InverseWriter<'o, W> {
    fn new(w: LogWriter<W>, opts: &'o InvertOptions, next_txid: u64) -> Self {
        InverseWriter {
            w,
            opts,
            everything: opts.select.is_all(),
            next_txid,
            emitted: HashMap::new(),
            arena: Vec::new(),
            ends: Vec::new(),
            scratch: TupleBuf::new(),
            scratch2: TupleBuf::new(),
            left_out: Vec::new(),
            open: None,
        }
    }

    /// The txid (in the input) of the transaction whose inverse is open.
    fn open_txid(&self) -> Option<u64> {
        self.open.as_ref().map(|o| o.txid)
    }

    /// Writes the inverse of records of one transaction, last first (a
    /// transaction may come in parts, its last part first), each with its
    /// LSN (or the key the relations are looked up by) and offset; `rel_at`
    /// gives the relation an id is bound to there. The inverse BEGIN is
    /// written before its first record; [`InverseWriter::end`] ends it.
    fn part<'r>(
        &mut self,
        report: &mut InvertReport,
        begin: &Begin<'_>,
        commit: &Commit,
        records: impl Iterator<Item = (u64, u64, &'r [u8])>,
        rel_at: &dyn Fn(u32, u64) -> Option<Rc<SqlRelation>>,
        loc: &Locate<'_>,
    ) -> Result<()> {
        let opts = self.opts;
        if self.open.is_none() {
            self.open = Some(OpenInverse {
                txid: begin.txid,
                timestamp_us: begin.timestamp_us,
                server_id: begin.server_id,
                commit: *commit,
                inverse_txid: None,
                rows: 0,
            });
        }
        self.arena.clear();
        self.ends.clear();
        let mut rows = 0u64;
        for (lsn, offset, body) in records {
            let rec = LogicalRecord::decode(body, offset + 8)
                .map_err(|e| loc.place(e.into(), lsn, offset))?;
            let rel_id = match &rec {
                LogicalRecord::Insert(i) => i.relation_id,
                LogicalRecord::Update(u) => u.relation_id,
                LogicalRecord::Delete(d) => d.relation_id,
                LogicalRecord::Ddl(d) => {
                    let undo = (!opts.skip_ddl)
                        .then(|| undo_ddl(d.database, d.sql))
                        .flatten();
                    match undo {
                        Some(sql) => {
                            LogicalRecord::Ddl(replog_logical::Ddl {
                                database: d.database,
                                sql: &sql,
                            })
                            .encode(&mut self.arena)
                            .map_err(|m| {
                                loc.place(Error::new(ErrorKind::Malformed, m), lsn, offset)
                            })?;
                            self.ends.push(self.arena.len());
                            report.ddl_inverted += 1;
                            rows += 1;
                        }
                        None => {
                            report.ddl_skipped += 1;
                            if !opts.skip_ddl {
                                self.left_out.push(DdlLeftOut {
                                    txid: begin.txid,
                                    lsn,
                                    sql: d.sql.to_string(),
                                });
                            }
                        }
                    }
                    continue;
                }
                LogicalRecord::Message(_) => {
                    report.messages_dropped += 1;
                    continue;
                }
                LogicalRecord::Relation(_) => continue,
                LogicalRecord::Truncate(_) => {
                    let why = not_invertible(&rec, "").unwrap_or_default();
                    return Err(loc.refuse(lsn, offset, why));
                }
            };
            let Some(rel) = rel_at(rel_id, lsn) else {
                return Err(loc.place(
                    Error::new(
                        ErrorKind::Malformed,
                        format!("relation {rel_id} is used before any RELATION defines it"),
                    ),
                    lsn,
                    offset,
                ));
            };
            // The relation this row needs, unless the inverse already has it.
            let prev = self.emitted.get(&rel_id);
            if !prev.is_some_and(|(r, _)| Rc::ptr_eq(r, &rel)) {
                let last_version = prev.map(|(_, v)| *v);
                let version = match last_version {
                    Some(v) if rel.version <= v => v + 1,
                    _ => rel.version,
                };
                if version == rel.version {
                    self.arena.extend_from_slice(&rel.body);
                } else {
                    let LogicalRecord::Relation(mut r) = LogicalRecord::decode(&rel.body, 0)?
                    else {
                        return Err(Error::new(ErrorKind::Malformed, "RELATION expected"));
                    };
                    r.schema_version = version;
                    LogicalRecord::Relation(r)
                        .encode(&mut self.arena)
                        .map_err(|m| Error::new(ErrorKind::Malformed, m))?;
                }
                self.ends.push(self.arena.len());
                report.relations += 1;
                self.emitted.insert(rel_id, (rel.clone(), version));
            }
            if let Some(why) = not_invertible(&rec, &rel.name) {
                return Err(loc.refuse(lsn, offset, why));
            }
            let inverse = match rec {
                LogicalRecord::Insert(i) => LogicalRecord::Delete(Delete {
                    relation_id: i.relation_id,
                    before: OldImage {
                        kind: ImageKind::Full,
                        values: i.new,
                    },
                }),
                LogicalRecord::Delete(d) => LogicalRecord::Insert(Insert {
                    relation_id: d.relation_id,
                    new: d.before.values,
                }),
                LogicalRecord::Update(u) => {
                    // A full before-image: not_invertible said so above.
                    let Some(before) = u.before else {
                        return Err(Error::new(
                            ErrorKind::Malformed,
                            "UPDATE without before-image",
                        ));
                    };
                    let after: Vec<ColumnValue<'_>> = u.after.to_vec()?;
                    if after.iter().all(|c| matches!(c, ColumnValue::Value(_))) {
                        LogicalRecord::Update(Update {
                            relation_id: u.relation_id,
                            before: Some(OldImage {
                                kind: ImageKind::Full,
                                values: u.after,
                            }),
                            after: before.values,
                        })
                    } else {
                        // Unchanged columns of the after-image: the new
                        // before-image takes them from the old one, and the
                        // new after-image sends them as unchanged.
                        let old = before.values.to_vec()?;
                        self.scratch.clear();
                        self.scratch2.clear();
                        for (a, b) in after.iter().zip(&old) {
                            let (x, y) = match a {
                                ColumnValue::Unchanged => (b, &ColumnValue::Unchanged),
                                v => (v, b),
                            };
                            self.scratch
                                .push(x)
                                .map_err(|m| Error::new(ErrorKind::Malformed, m))?;
                            self.scratch2
                                .push(y)
                                .map_err(|m| Error::new(ErrorKind::Malformed, m))?;
                        }
                        LogicalRecord::Update(Update {
                            relation_id: u.relation_id,
                            before: Some(OldImage {
                                kind: ImageKind::Full,
                                values: self.scratch.as_tuple(),
                            }),
                            after: self.scratch2.as_tuple(),
                        })
                    }
                }
                _ => continue,
            };
            inverse
                .encode(&mut self.arena)
                .map_err(|m| loc.place(Error::new(ErrorKind::Malformed, m), lsn, offset))?;
            self.ends.push(self.arena.len());
            rows += 1;
        }
        if self.ends.is_empty() {
            return Ok(());
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(());
        };
        open.rows += rows;
        if open.inverse_txid.is_none() {
            let txid = self.next_txid;
            self.next_txid += 1;
            open.inverse_txid = Some(txid);
            let origin = format!("undo:{}", open.txid);
            self.w.begin(&Begin {
                txid,
                timestamp_us: open.timestamp_us,
                server_id: open.server_id,
                origin: &origin,
            })?;
        }
        let mut s = 0;
        for &e in &self.ends {
            self.w.append(&self.arena[s..e])?;
            s = e;
        }
        Ok(())
    }

    /// Ends the inverse of the open transaction: its COMMIT, or nothing
    /// when it had no row change to undo.
    fn end(&mut self, report: &mut InvertReport) -> Result<()> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let Some(txid) = open.inverse_txid else {
            report.empty_skipped += 1;
            return Ok(());
        };
        let (state_before, state_after) = if self.everything {
            (open.commit.state_after, open.commit.state_before)
        } else {
            (None, None)
        };
        self.w.commit(&Commit {
            txid,
            timestamp_us: open.commit.timestamp_us,
            state_before,
            state_after,
        })?;
        report.transactions += 1;
        report.rows += open.rows;
        report.txids = Some((report.txids.map_or(txid, |t| t.0), txid));
        Ok(())
    }

    /// Ends the inverse log; the DDL left out goes into the report in input order.
    fn finish(mut self, report: &mut InvertReport) -> Result<W> {
        self.left_out.reverse();
        report.ddl_left_out = std::mem::take(&mut self.left_out);
        Ok(self.w.finish()?)
    }
}

#[cfg(test)]
mod ddl_tests {
    use super::undo_ddl;

    #[test]
    fn create_table_is_undone_by_drop_table_and_nothing_else_is() {
        assert_eq!(
            undo_ddl("shop", "CREATE TABLE items (id INT PRIMARY KEY)").as_deref(),
            Some("DROP TABLE `shop`.`items`")
        );
        assert_eq!(
            undo_ddl("", "create table `a``b`.t2(id int)").as_deref(),
            Some("DROP TABLE `a``b`.`t2`")
        );
        for kept in [
            "CREATE TABLE t2 AS SELECT * FROM t",
            "CREATE TABLE IF NOT EXISTS t (id INT)",
            "CREATE TEMPORARY TABLE t (id INT)",
            "ALTER TABLE t ADD COLUMN c INT",
            "DROP TABLE t",
            "CREATE DATABASE shop",
        ] {
            assert_eq!(undo_ddl("shop", kept), None, "{kept}");
        }
        // No default database and an unqualified name: nothing to drop.
        assert_eq!(undo_ddl("", "CREATE TABLE t (id INT)"), None);
    }
}
