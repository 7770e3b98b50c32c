//! Writing the physical WAL, and rebuilding pages from it (redo of
//! committed transactions, `formats/physical.md` §5).

use replog_core::reader::{Event, LogReader, ReaderOptions};
use replog_core::record::decode_record;
use replog_core::recovery::RecoveryPolicy;
use replog_core::writer::{DirWriter, LogWriter};
use replog_core::{Begin, Commit, Error, ErrorKind, Record, Result};
use replog_physical::{PhysicalFormat, PhysicalRecord, RedoOutcome, redo};

/// Where a store's WAL goes.
#[derive(Debug)]
pub(crate) enum Sink {
    /// One segment in memory.
    Memory(LogWriter<Vec<u8>>),
    /// A directory of segments.
    Dir(DirWriter),
    /// Nowhere (LSNs are still counted, so page LSNs stay meaningful).
    Discard(LogWriter<std::io::Sink>),
}

impl Sink {
    pub(crate) fn begin(&mut self, b: &Begin<'_>) -> Result<u64> {
        match self {
            Sink::Memory(w) => w.begin(b),
            Sink::Dir(w) => w.begin(b),
            Sink::Discard(w) => w.begin(b),
        }
    }

    pub(crate) fn append(&mut self, body: &[u8]) -> Result<u64> {
        match self {
            Sink::Memory(w) => w.append(body),
            Sink::Dir(w) => w.append(body),
            Sink::Discard(w) => w.append(body),
        }
    }

    pub(crate) fn commit(&mut self, c: &Commit) -> Result<u64> {
        match self {
            Sink::Memory(w) => w.commit(c),
            Sink::Dir(w) => w.commit(c),
            Sink::Discard(w) => w.commit(c),
        }
    }

    pub(crate) fn next_lsn(&self) -> u64 {
        match self {
            Sink::Memory(w) => w.next_lsn(),
            Sink::Dir(w) => w.next_lsn(),
            Sink::Discard(w) => w.next_lsn(),
        }
    }

    /// Writes a record between transactions (a CHECKPOINT) and hands it on.
    /// For a directory log it reaches the file with the next COMMIT.
    pub(crate) fn append_between(&mut self, body: &[u8]) -> Result<u64> {
        match self {
            Sink::Memory(w) => {
                let lsn = w.append(body)?;
                w.flush()?;
                Ok(lsn)
            }
            Sink::Dir(w) => w.append(body),
            Sink::Discard(w) => w.append(body),
        }
    }
}

/// What rebuilding pages from a physical WAL did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedoReport {
    /// Committed transactions replayed.
    pub transactions: u64,
    /// Page records applied.
    pub applied: u64,
    /// Page records skipped because the page already had them (page LSN).
    pub skipped: u64,
    /// Bytes of valid frames read.
    pub frame_bytes: u64,
    /// LSN just past the last valid frame.
    pub end_lsn: u64,
    /// Highest transaction id seen.
    pub max_txid: u64,
    /// The last CHECKPOINT: `(its LSN, redo_lsn, next_txid)`.
    pub last_checkpoint: Option<(u64, u64, u64)>,
    /// A torn tail that ended the log, as the reader described it (ignored).
    pub torn_tail: Option<String>,
    /// A transaction begun but never committed (not applied).
    pub uncommitted_txid: Option<u64>,
}

/// A page record held until its transaction commits: LSN, body, offset.
type HeldRecord = (u64, Vec<u8>, u64);

/// Applies every committed transaction of the log read by `reader` to
/// `pages` (page `n` is `pages[n]`; pages appear in order as the log
/// initialises them). Refuses a log of another page format or page size.
pub(crate) fn redo_log(
    reader: &mut LogReader,
    page_size: usize,
    pages: &mut Vec<Vec<u8>>,
) -> Result<RedoReport> {
    let mut rep = RedoReport::default();
    // The open transaction: txid and its page records (LSN, body, offset).
    let mut open: Option<(u64, Vec<HeldRecord>)> = None;
    while let Some(ev) = reader.next() {
        match ev? {
            Event::Segment { header, .. } => {
                replog_physical::check_header(header)?;
                if header.page_size as usize != page_size {
                    return Err(Error::new(
                        ErrorKind::Mismatch,
                        64,
                        format!(
                            "log was written with {}-byte pages; this store uses {page_size}-byte pages",
                            header.page_size
                        ),
                    ));
                }
            }
            Event::Damage(d) => {
                if d.tolerated {
                    rep.torn_tail = Some(d.to_error().to_string());
                } else {
                    return Err(d.to_error());
                }
            }
            Event::Frame(f) => {
                let at = f.body_offset();
                rep.frame_bytes += replog_core::frame::padded_len(f.body.len()) as u64;
                rep.end_lsn = f.lsn + replog_core::frame::padded_len(f.body.len()) as u64;
                match decode_record::<PhysicalFormat>(f.body, at)? {
                    Record::Begin(b) => {
                        if open.is_some() {
                            return Err(Error::malformed(at, "BEGIN inside a transaction"));
                        }
                        rep.max_txid = rep.max_txid.max(b.txid);
                        open = Some((b.txid, Vec::new()));
                    }
                    Record::Commit(c) => {
                        let Some((txid, recs)) = open.take() else {
                            return Err(Error::malformed(at, "COMMIT without BEGIN"));
                        };
                        if txid != c.txid {
                            return Err(Error::malformed(
                                at,
                                format!("COMMIT of txid {} closes txid {txid}", c.txid),
                            ));
                        }
                        for (lsn, body, off) in recs {
                            apply(&body, off, lsn, page_size, pages, &mut rep)?;
                        }
                        rep.transactions += 1;
                    }
                    Record::Data(PhysicalRecord::Checkpoint(cp)) => {
                        if open.is_some() {
                            return Err(Error::malformed(at, "CHECKPOINT inside a transaction"));
                        }
                        rep.last_checkpoint = Some((f.lsn, cp.redo_lsn, cp.next_txid));
                    }
                    Record::Data(r) => {
                        let Some((txid, recs)) = open.as_mut() else {
                            return Err(Error::malformed(at, "page record outside a transaction"));
                        };
                        if r.txid() != Some(*txid) {
                            return Err(Error::malformed(
                                at + 1,
                                format!("page record of txid {:?} inside txid {txid}", r.txid()),
                            ));
                        }
                        recs.push((f.lsn, f.body.to_vec(), at));
                    }
                }
            }
        }
    }
    rep.uncommitted_txid = open.map(|(t, _)| t);
    Ok(rep)
}

fn apply(
    body: &[u8],
    at: u64,
    lsn: u64,
    page_size: usize,
    pages: &mut Vec<Vec<u8>>,
    rep: &mut RedoReport,
) -> Result<()> {
    let rec = PhysicalRecord::decode(body, at)?;
    let Some(no) = rec.page() else {
        return Ok(());
    };
    let no = no as usize;
    if no > pages.len() {
        return Err(Error::malformed(
            at + 9,
            format!(
                "page {no} is past the end of the store ({} pages): pages are allocated in order",
                pages.len()
            ),
        ));
    }
    if no == pages.len() {
        pages.push(vec![0; page_size]);
    }
    let page = pages
        .get_mut(no)
        .ok_or_else(|| Error::malformed(at + 9, "page missing"))?;
    match redo(&rec, lsn, page)? {
        RedoOutcome::Applied => rep.applied += 1,
        RedoOutcome::Skipped { .. } => rep.skipped += 1,
        RedoOutcome::NotAPageRecord => {}
    }
    Ok(())
}

/// Reader options for recovery: a torn tail in the last segment ends the
/// log (and is reported); any other damage is an error.
pub(crate) fn reader_options() -> ReaderOptions {
    ReaderOptions {
        policy: RecoveryPolicy::TolerateTail,
        ..ReaderOptions::default()
    }
}
