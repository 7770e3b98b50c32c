//! Writing the physical WAL, and rebuilding pages from it (redo of
//! committed transactions, `formats/physical.md` §5).

use replog_core::reader::{Event, LogReader, ReaderOptions};
use replog_core::record::decode_record;
use replog_core::recovery::RecoveryPolicy;
use replog_core::writer::{DirWriter, LogWriter};
use replog_core::{Begin, Commit, Error, ErrorKind, Record, Result};
use replog_physical::{PhysicalFormat, PhysicalRecord, RedoOutcome, redo};
use replog_store::replay::Until;

/// How [`crate::PageStore::from_wal_with`] rebuilds a store.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedoOptions {
    /// Stop before the first transaction past this point (`--until`): a
    /// COMMIT at or after an LSN, a txid above one, a COMMIT at or after a
    /// time. The log after it is not read.
    pub until: Option<Until>,
    /// After every committed transaction, read the catalog of the redone
    /// pages and compare the store digest (the sum of the table digests)
    /// with the COMMIT's `state_after` ([`RedoReport::state_mismatches`]).
    /// Costs one catalog scan per transaction.
    pub check_states: bool,
}

/// A COMMIT whose `state_after` is not the digest of the redone pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateMismatch {
    /// The transaction.
    pub txid: u64,
    /// Its COMMIT's LSN.
    pub lsn: u64,
    /// The COMMIT's `state_after`.
    pub expected: u64,
    /// The digest of the catalog after redo.
    pub actual: u64,
}

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
    /// The log's page size (first segment header).
    pub page_size: u32,
    /// The last transaction applied: `(txid, COMMIT LSN, state_after)`.
    pub last_commit: Option<(u64, u64, Option<u64>)>,
    /// Redo stopped at [`RedoOptions::until`].
    pub stopped_at_until: bool,
    /// COMMITs whose `state_before` is not the previous COMMIT's
    /// `state_after`: `(txid, COMMIT LSN)`.
    pub state_gaps: Vec<(u64, u64)>,
    /// With [`RedoOptions::check_states`]: COMMITs whose `state_after`
    /// differs from the redone pages' digest.
    pub state_mismatches: Vec<StateMismatch>,
    /// Transactions whose `state_after` was compared with the pages.
    pub states_checked: u64,
    /// LSN just past the last applied COMMIT frame (0: none): where a
    /// reopened store's WAL continues.
    pub committed_end_lsn: u64,
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
    ropts: &RedoOptions,
) -> Result<RedoReport> {
    let mut rep = RedoReport::default();
    let mut last_state: Option<u64> = None;
    // The open transaction: txid and its page records (LSN, body, offset).
    let mut open: Option<(u64, Vec<HeldRecord>)> = None;
    while let Some(ev) = reader.next() {
        match ev? {
            Event::Segment { header, .. } => {
                replog_physical::check_header(header)?;
                if rep.page_size == 0 {
                    rep.page_size = header.page_size;
                }
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
                        let stop = match ropts.until {
                            Some(Until::Lsn(n)) => f.lsn >= n,
                            Some(Until::Txid(n)) => c.txid > n,
                            Some(Until::Time(t)) => c.timestamp_us >= t,
                            None => false,
                        };
                        if stop {
                            rep.stopped_at_until = true;
                            break;
                        }
                        if let (Some(prev), Some(before)) = (last_state, c.state_before)
                            && prev != before
                        {
                            rep.state_gaps.push((c.txid, f.lsn));
                        }
                        if c.state_after.is_some() {
                            last_state = c.state_after;
                        }
                        for (lsn, body, off) in recs {
                            apply(&body, off, lsn, page_size, pages, &mut rep)?;
                        }
                        rep.transactions += 1;
                        rep.last_commit = Some((c.txid, f.lsn, c.state_after));
                        rep.committed_end_lsn = f.lsn + f.disk_len();
                        if ropts.check_states
                            && let Some(expected) = c.state_after
                            && !pages.is_empty()
                        {
                            let actual = crate::pages_digest(pages, page_size)
                                .map_err(|m| Error::malformed(at, m))?;
                            rep.states_checked += 1;
                            if actual != expected {
                                rep.state_mismatches.push(StateMismatch {
                                    txid: c.txid,
                                    lsn: f.lsn,
                                    expected,
                                    actual,
                                });
                            }
                        }
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
    if !rep.stopped_at_until {
        rep.uncommitted_txid = open.map(|(t, _)| t);
    }
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
