//! A store rebuilt from a physical WAL by page redo.

use crate::{Error, Result, environment};
use replog_core::LogKind;
use replog_core::reader::{Event, LogReader, ReaderOptions, SegmentInput};
use replog_core::recovery::RecoveryPolicy;
use replog_pagestore::{Options as PageOptions, PageStore, RedoOptions, RedoReport};
use replog_store::replay::Until;
use replog_store::snapshot::AppliedPosition;
use replog_store::{SimEnvironment, Store};
use std::path::Path;

/// A store rebuilt from a physical WAL, and what redo found.
pub struct PhysicalReplay {
    /// The follower, over the rebuilt pages.
    pub store: Store<PageStore, SimEnvironment>,
    /// What redo did.
    pub report: RedoReport,
    /// The segment header's log id.
    pub log_id: [u8; 16],
}

impl PhysicalReplay {
    /// The last applied COMMIT's state_after (the leader's digest there).
    pub fn expected_digest(&self) -> Option<u64> {
        self.report.last_commit.and_then(|c| c.2)
    }

    /// No state mismatch, no gap, and the store's digest is the leader's.
    pub fn clean(&self) -> bool {
        self.report.state_mismatches.is_empty()
            && self.report.state_gaps.is_empty()
            && self
                .expected_digest()
                .is_none_or(|d| d == self.store.digest())
    }

    /// Where the store stands in the log.
    pub fn position(&self) -> AppliedPosition {
        let (txid, lsn) = self.report.last_commit.map_or((0, 0), |c| (c.0, c.1));
        AppliedPosition {
            kind: Some(LogKind::Physical),
            log_id: self.log_id,
            // Just past the COMMIT frame (COMMIT bodies are 34 bytes: a
            // 40-byte padded frame).
            applied_lsn: if self.report.last_commit.is_some() {
                lsn + replog_core::frame::padded_len(34) as u64
            } else {
                0
            },
            last_txid: txid,
            digest: self.store.digest(),
        }
    }
}

/// Rebuilds a store from the physical WAL whose segments `open` gives
/// (called twice: once for the first segment header, which gives the page
/// size and log id, then for redo). `name` names the log in messages;
/// `page_size`, if given, must be the log's.
pub fn replay_physical(
    name: &Path,
    open: impl Fn() -> std::io::Result<Vec<SegmentInput>>,
    until: Option<Until>,
    page_size: Option<usize>,
    policy: RecoveryPolicy,
) -> Result<PhysicalReplay> {
    let reader_options = || ReaderOptions {
        policy,
        continue_after_damage: false,
        buffer_size: 0,
    };
    let segments = || open().map_err(|e| Error::io(name, e));
    let mut probe = LogReader::new(segments()?, reader_options());
    let header = match probe.next() {
        Some(Ok(Event::Segment { header, .. })) => header.clone(),
        Some(Err(e)) => return Err(Error::log(name, e)),
        Some(Ok(Event::Damage(d))) => {
            return Err(Error::refused(
                name,
                format!(
                    "no readable segment header: {} at offset {} of {}",
                    d.kind, d.offset, d.segment
                ),
            ));
        }
        _ => {
            return Err(Error::refused(name, "no readable segment header".into()));
        }
    };
    drop(probe);
    replog_physical::check_header(&header).map_err(|e| Error::log(name, e))?;
    let log_pages = header.page_size as usize;
    if let Some(want) = page_size
        && want != log_pages
    {
        return Err(Error::refused(
            name,
            format!("the log was written with {log_pages}-byte pages, not {want} (--page-size)"),
        ));
    }
    let reader = LogReader::new(segments()?, reader_options());
    let ropts = RedoOptions {
        until,
        check_states: true,
    };
    let (pages, report) =
        PageStore::from_wal_with(reader, &PageOptions::with_page_size(log_pages), &ropts)
            .map_err(|e| Error::refused(name, format!("physical redo: {e}")))?;
    Ok(PhysicalReplay {
        store: Store::with_storage(pages, environment()),
        report,
        log_id: header.log_id,
    })
}
