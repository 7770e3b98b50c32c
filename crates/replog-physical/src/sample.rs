//! A small deterministic physical log (the committed fixture
//! `fixtures/native/physical/sample.replog`), written the way the reference
//! store writes: every change is logged, then redone onto the in-memory page,
//! so that page LSNs and previous-LSN chains are exactly what a store produces.

use crate::page::{PAGE_HEADER_LEN, redo};
use crate::record::{Checkpoint, DeltaRange, NO_PAGE, PageFree, PageInit, PageRef, PhysicalRecord};
use crate::{PAGE_FORMAT_VERSION, encode_delta, encode_image};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, Error, LogKind, Result};
use std::collections::BTreeMap;
use std::io::Write;

/// Log id of the sample log.
pub const SAMPLE_LOG_ID: [u8; 16] = *b"replog-physical1";
/// Salt of the sample log.
pub const SAMPLE_SALT: u64 = 0x5048_5953_4943_414c; // "PHYSICAL"
/// Page size of the sample log.
const SAMPLE_PAGE_SIZE: usize = 4096;
const T0: i64 = 1_700_000_000_000_000;

/// The fixed options the committed sample was written with: page size 4096,
/// page format 1, fixed log id and salt, store id 1, start LSN 0.
pub fn sample_options() -> WriterOptions {
    let mut o = WriterOptions::new(LogKind::Physical);
    o.log_id = SAMPLE_LOG_ID;
    o.salt = SAMPLE_SALT;
    o.store_id = 1;
    o.page_size = SAMPLE_PAGE_SIZE as u32;
    o.page_format = PAGE_FORMAT_VERSION;
    o.start_lsn = 0;
    o.start_seq = 0;
    o.start_state = None;
    o
}

/// A toy store: pages in memory, every change logged then redone.
struct Sim<'w, W: Write> {
    w: &'w mut LogWriter<W>,
    pages: BTreeMap<u32, Vec<u8>>,
    body: Vec<u8>,
    txid: u64,
    ts: i64,
}

impl<W: Write> Sim<'_, W> {
    fn page_lsn(&self, page: u32) -> u64 {
        self.pages
            .get(&page)
            .map_or(0, |p| crate::page::page_lsn(p))
    }

    fn pref(&self, page: u32) -> PageRef {
        PageRef {
            txid: self.txid,
            page,
            prev_lsn: self.page_lsn(page),
        }
    }

    fn log_and_redo(&mut self) -> Result<u64> {
        let lsn = self.w.append(&self.body)?;
        let rec = PhysicalRecord::decode(&self.body, 0)?;
        if let Some(p) = rec.page() {
            let buf = self
                .pages
                .entry(p)
                .or_insert_with(|| vec![0; SAMPLE_PAGE_SIZE]);
            redo(&rec, lsn, buf)?;
        }
        Ok(lsn)
    }

    fn begin(&mut self, txid: u64) -> Result<()> {
        self.txid = txid;
        self.ts += 1_000;
        let origin = format!("sample-{txid}");
        self.w.begin(&Begin {
            txid,
            timestamp_us: self.ts,
            server_id: 1,
            origin: &origin,
        })?;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        self.ts += 250;
        self.w.commit(&Commit {
            txid: self.txid,
            timestamp_us: self.ts,
            state_before: None,
            state_after: None,
        })?;
        Ok(())
    }

    fn init(&mut self, page: u32, page_type: u8) -> Result<u64> {
        self.body.clear();
        let r = PhysicalRecord::PageInit(PageInit {
            offset: 0,
            page: self.pref(page),
            page_type,
        });
        r.encode(&mut self.body)?;
        self.log_and_redo()
    }

    fn free(&mut self, page: u32) -> Result<u64> {
        self.body.clear();
        PhysicalRecord::PageFree(PageFree {
            offset: 0,
            page: self.pref(page),
        })
        .encode(&mut self.body)?;
        self.log_and_redo()
    }

    fn delta(&mut self, page: u32, ranges: &[DeltaRange<'_>]) -> Result<u64> {
        self.body.clear();
        let p = self.pref(page);
        encode_delta(&mut self.body, &p, ranges)?;
        self.log_and_redo()
    }

    /// Logs the page as it would be after `edit`, as a hole-removed image.
    fn image(&mut self, page: u32, edit: impl FnOnce(&mut [u8])) -> Result<u64> {
        let p = self.pref(page);
        let mut content = self
            .pages
            .get(&page)
            .cloned()
            .unwrap_or_else(|| vec![0; SAMPLE_PAGE_SIZE]);
        edit(&mut content);
        self.body.clear();
        encode_image(&mut self.body, &p, &content)?;
        self.log_and_redo()
    }

    fn checkpoint(
        &mut self,
        redo_lsn: u64,
        next_txid: u64,
        catalog_root: u32,
        free_list_head: u32,
    ) -> Result<u64> {
        let page_count = self.pages.keys().next_back().map_or(0, |&p| p + 1);
        self.body.clear();
        PhysicalRecord::Checkpoint(Checkpoint {
            offset: 0,
            redo_lsn,
            next_txid,
            page_count,
            catalog_root,
            free_list_head,
        })
        .encode(&mut self.body)?;
        self.log_and_redo()
    }
}

/// A catalog entry as the sample store lays it out: `u16 len | name | u32 root page`.
fn catalog_entry(name: &str, root: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(name.len() as u16).to_le_bytes());
    v.extend_from_slice(name.as_bytes());
    v.extend_from_slice(&root.to_le_bytes());
    v
}

/// Writes the sample log into `w`, which should have been created with
/// [`sample_options`] (any options work; the fixture uses those).
///
/// Contents: a CHECKPOINT (empty store), then transaction 1 creates the
/// catalog page 0 and a table page 1 (PAGE_INIT + PAGE_DELTA), transaction 2
/// rewrites page 1 as a hole-removed PAGE_IMAGE, changes it with a delta and
/// initialises page 2, a second CHECKPOINT, then transaction 3 frees page 2
/// and updates the catalog. Every record type appears; every transaction
/// commits.
pub fn write_sample<W: Write>(w: &mut LogWriter<W>) -> Result<()> {
    write_sample_pages(w).map(|_| ())
}

/// [`write_sample`], returning the final contents of every page.
pub(crate) fn write_sample_pages<W: Write>(w: &mut LogWriter<W>) -> Result<BTreeMap<u32, Vec<u8>>> {
    if w.open_txid().is_some() {
        return Err(Error::malformed(
            w.segment_len(),
            "write_sample needs a writer outside a transaction",
        ));
    }
    let mut s = Sim {
        w,
        pages: BTreeMap::new(),
        body: Vec::with_capacity(8192),
        txid: 0,
        ts: T0,
    };
    let h = PAGE_HEADER_LEN as u16;

    let start = s.w.next_lsn();
    s.checkpoint(start, 1, NO_PAGE, NO_PAGE)?;

    // Transaction 1: catalog page 0 naming table "users" rooted at page 1.
    s.begin(1)?;
    s.init(0, 1)?;
    let entry = catalog_entry("users", 1);
    s.delta(
        0,
        &[
            DeltaRange {
                offset: h,
                data: &1u16.to_le_bytes(),
            },
            DeltaRange {
                offset: h + 2,
                data: &entry,
            },
        ],
    )?;
    s.init(1, 2)?;
    s.delta(
        1,
        &[
            DeltaRange {
                offset: h,
                data: &2u16.to_le_bytes(),
            },
            DeltaRange {
                offset: 4096 - 16,
                data: b"row1:alice,30\0\0\0",
            },
            DeltaRange {
                offset: 4096 - 32,
                data: b"row2:bob,41\0\0\0\0\0",
            },
        ],
    )?;
    s.commit()?;

    // Transaction 2: compact page 1 (a full image with the free space as a
    // hole), then add a row with a delta, and allocate page 2.
    s.begin(2)?;
    s.image(1, |p| {
        p[16..18].copy_from_slice(&3u16.to_le_bytes());
        p[18..24].copy_from_slice(b"slots!");
        p[4096 - 48..4096 - 32].copy_from_slice(b"row3:carol,27\0\0\0");
    })?;
    s.delta(
        1,
        &[
            DeltaRange {
                offset: h,
                data: &4u16.to_le_bytes(),
            },
            DeltaRange {
                offset: 4096 - 64,
                data: b"row4:dave,35\0\0\0\0",
            },
        ],
    )?;
    s.init(2, 2)?;
    s.commit()?;

    // A checkpoint after everything so far is on disk.
    let redo_lsn = s.w.next_lsn();
    s.checkpoint(redo_lsn, 3, 0, NO_PAGE)?;

    // Transaction 3: drop page 2 and record it in the catalog.
    s.begin(3)?;
    s.free(2)?;
    s.delta(
        0,
        &[DeltaRange {
            offset: h + 2 + entry.len() as u16,
            data: &2u32.to_le_bytes(),
        }],
    )?;
    s.commit()?;

    s.w.flush()?;
    Ok(s.pages)
}
