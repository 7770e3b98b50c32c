//! Reading a run of segment files on several threads, with the result of
//! reading them in one pass.
//!
//! The files are cut into parts of consecutive segments. A thread reads a
//! part with a [`WalReader`] over that part's files *and all later ones*:
//! it skips the end of the record that runs into the part's first segment
//! (the previous part reads it whole), and reads past the part's last
//! segment up to the first record that starts in the next part. It hands
//! that record's LSN over unprocessed: the next part's first record must be
//! that record, which the reader of the previous part has already checked
//! against everything before it (prev-link, page addresses, continuation
//! lengths, timelines, segment names). So every check of a one-pass read is
//! made, and the first end or damage met, in WAL order, is the end or damage
//! of the whole run, classified as a one-pass read classifies it (each
//! reader sees every later file).
//!
//! Parts are handed to the caller in WAL order, at most `threads + 1`
//! parts ahead of the one it is consuming, so memory stays bounded by the
//! part size whatever the number of files.

use std::collections::BTreeMap;
use std::ops::{ControlFlow, Range};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

use crate::error::{Error, ErrorKind};
use crate::history::TimelineHistory;
use crate::reader::{SegmentInput, WalEnd, WalInfo, WalReader};
use crate::segment::SegmentName;
use crate::{Lsn, Record};

/// Largest segment file read in parts of their own (PostgreSQL's default
/// segment size); runs of larger segments are read in one pass, since a
/// part's results are held in memory until its turn.
const MAX_PART_FILE: u64 = 16 << 20;

/// Records after which a one-pass read hands its state to `consume`.
const BATCH: usize = 1024;

/// How a run of WAL read in parts ended.
#[derive(Debug, Default)]
pub struct Ending {
    /// The cluster's parameters, when a page was read.
    pub info: Option<WalInfo>,
    /// The normal end of WAL (when no damage was met first).
    pub end: Option<WalEnd>,
    /// Damage or an I/O error, the first in WAL order.
    pub error: Option<Error>,
    /// The callback stopped the reading.
    pub stopped: bool,
}

/// What one part's reading gave.
struct Part<S> {
    state: S,
    info: Option<WalInfo>,
    /// LSN of the first record read (the first the part processes).
    first: Option<Lsn>,
    /// The first record of the next part, reached and not processed.
    next: Option<Lsn>,
    end: Option<WalEnd>,
    error: Option<Error>,
    stopped: bool,
}

/// Splits `files` into parts of consecutive segments: one part unless every
/// file is a segment (by name, consecutive numbers, the same timeline) of
/// at most [`MAX_PART_FILE`] bytes.
fn parts(files: &[PathBuf], threads: usize) -> Vec<Range<usize>> {
    let whole: Vec<Range<usize>> = std::iter::once(0..files.len()).collect();
    if threads < 2 || files.len() < 2 {
        return whole;
    }
    let names: Option<Vec<SegmentName>> = files
        .iter()
        .map(|f| f.file_name()?.to_str().and_then(SegmentName::parse))
        .collect();
    let Some(names) = names else { return whole };
    let consecutive = names.windows(2).all(|w| {
        w[0].timeline == w[1].timeline
            && !w[0].partial
            && (u64::from(w[0].log) << 32 | u64::from(w[0].seg)) + 1
                == (u64::from(w[1].log) << 32 | u64::from(w[1].seg))
    });
    let small = files
        .iter()
        .all(|f| std::fs::metadata(f).is_ok_and(|m| m.is_file() && m.len() <= MAX_PART_FILE));
    if !consecutive || !small {
        return whole;
    }
    (0..files.len()).map(|i| i..i + 1).collect()
}

/// Reads `files` (consecutive segments in WAL order, as for
/// [`WalReader::open`]) on up to `threads` threads.
///
/// Each part's records go to `record` (on the part's thread) with a state
/// made by `init`; returning `Break` stops the reading before the next
/// record. The states are handed to `consume` in WAL order, on the calling
/// thread, which takes what it needs and leaves the state empty for reuse
/// by a later part; an error from it stops the reading and is returned. A
/// part is consumed only when every part before it ended cleanly at the
/// next part's first record, so `consume` sees exactly the records a
/// one-pass read would give, up to its end or first damage ([`Ending`]).
/// When the files are read in one pass (one thread, or files that are not
/// a run of consecutive segments of at most 16 MiB), `consume` is called
/// every 1024 records, so output can stream.
pub fn read_parts<S, E>(
    files: &[PathBuf],
    history: Option<&TimelineHistory>,
    threads: usize,
    init: impl Fn() -> S + Sync,
    record: impl Fn(&mut S, &Record<'_>) -> ControlFlow<()> + Sync,
    mut consume: impl FnMut(&mut S) -> Result<(), E>,
) -> Result<Ending, E>
where
    S: Send,
{
    let parts = &parts(files, threads);
    let read_part = |i: usize,
                     state: S,
                     cancel: &AtomicBool,
                     flush: &mut dyn FnMut(&mut S) -> bool|
     -> Part<S> {
        let r = &parts[i];
        let inputs = files[r.start..]
            .iter()
            .map(SegmentInput::path)
            .collect::<Vec<_>>();
        let mut reader = WalReader::new(inputs);
        if let Some(h) = history {
            reader = reader.with_history(h.clone());
        }
        let next_name = files
            .get(r.end)
            .and_then(|f| SegmentName::parse(f.file_name()?.to_str()?));
        let mut part = Part {
            state,
            info: None,
            first: None,
            next: None,
            end: None,
            error: None,
            stopped: false,
        };
        let mut boundary = None;
        let mut batch = 0;
        loop {
            match reader.next_record() {
                Ok(Some(rec)) => {
                    if boundary.is_none()
                        && let Some(n) = next_name
                    {
                        let seg = rec.segment_size;
                        boundary = Some(n.segno(seg).map_or(u64::MAX, |s| s * u64::from(seg)));
                    }
                    part.first.get_or_insert(rec.lsn);
                    if boundary.is_some_and(|b| rec.lsn.0 >= b) {
                        part.next = Some(rec.lsn);
                        break;
                    }
                    if record(&mut part.state, &rec).is_break() {
                        part.stopped = true;
                        break;
                    }
                    batch += 1;
                    if batch == BATCH {
                        batch = 0;
                        if !flush(&mut part.state) {
                            part.stopped = true;
                            break;
                        }
                    }
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                }
                Ok(None) => {
                    part.end = reader.end().cloned();
                    break;
                }
                Err(e) => {
                    part.error = Some(e);
                    break;
                }
            }
        }
        part.info = reader.info();
        part
    };

    let mut ending = Ending::default();
    if parts.len() == 1 {
        let mut failed = None;
        let mut flush = |s: &mut S| match consume(s) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        };
        let mut p = read_part(0, init(), &AtomicBool::new(false), &mut flush);
        if let Some(e) = failed {
            return Err(e);
        }
        ending.info = p.info;
        ending.end = p.end;
        ending.error = p.error;
        ending.stopped = p.stopped;
        consume(&mut p.state)?;
        return Ok(ending);
    }

    // Parts handed out, and consumed; workers stay within `ahead` parts of
    // the one being consumed.
    let ahead = threads + 1;
    let sched = Mutex::new((0usize, 0usize));
    // States consumed, for later parts to reuse.
    let spare: Mutex<Vec<S>> = Mutex::new(Vec::new());
    let wake = Condvar::new();
    let cancel = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Part<S>)>();
        for _ in 0..threads.min(parts.len()) {
            let tx = tx.clone();
            let (sched, wake, cancel, read_part, spare, init) =
                (&sched, &wake, &cancel, &read_part, &spare, &init);
            scope.spawn(move || {
                loop {
                    let i = {
                        let mut g = sched.lock().expect("scheduler lock");
                        while g.0 >= g.1 + ahead && !cancel.load(Ordering::Relaxed) {
                            g = wake.wait(g).expect("scheduler lock");
                        }
                        if g.0 >= parts.len() || cancel.load(Ordering::Relaxed) {
                            return;
                        }
                        g.0 += 1;
                        g.0 - 1
                    };
                    let state = spare.lock().expect("spare states").pop();
                    let state = state.unwrap_or_else(init);
                    let part = read_part(i, state, cancel, &mut |_| true);
                    if tx.send((i, part)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let stop = || {
            let _g = sched.lock().expect("scheduler lock");
            cancel.store(true, Ordering::Relaxed);
            wake.notify_all();
        };
        let mut done: BTreeMap<usize, Part<S>> = BTreeMap::new();
        let mut expected: Option<Lsn> = None;
        for i in 0..parts.len() {
            let mut p = loop {
                if let Some(p) = done.remove(&i) {
                    break p;
                }
                match rx.recv() {
                    Ok((k, p)) => {
                        done.insert(k, p);
                    }
                    Err(_) => unreachable!("part {i} was never read"),
                }
            };
            if ending.info.is_none() {
                ending.info = p.info;
            }
            if let Some(want) = expected
                && p.first != Some(want)
                && p.error.is_none()
            {
                // Cannot happen: both readers read the same pages.
                ending.error = Some(Error::new(
                    ErrorKind::Usage,
                    format!(
                        "parts read in parallel disagree: the record after {} is at {want}, but the next part starts at {}",
                        files[parts[i].start].display(),
                        p.first.map_or("its end".to_string(), |l| l.to_string())
                    ),
                ));
                stop();
                return Ok(ending);
            }
            let last = p.next.is_none() || i + 1 == parts.len();
            expected = p.next;
            ending.end = p.end;
            ending.error = p.error;
            ending.stopped = p.stopped;
            if let Err(e) = consume(&mut p.state) {
                stop();
                return Err(e);
            }
            spare.lock().expect("spare states").push(p.state);
            if last {
                stop();
                return Ok(ending);
            }
            let mut g = sched.lock().expect("scheduler lock");
            g.1 = i + 1;
            wake.notify_all();
        }
        Ok(ending)
    })
}
