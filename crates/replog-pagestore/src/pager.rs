//! The pager: committed pages, the open transaction's working copies,
//! page allocation with a free list, overflow chains, and the translation
//! of a transaction's page changes into physical log records.

use crate::page::{self, NONE, PResult, corrupt, header, ptype, rd_u32, wr};
use crate::read::{self, past_end};
use replog_physical::page::{page_lsn, page_type};
use replog_physical::{DeltaRange, PageRef, PhysicalRecord, encode_delta, encode_image};
use std::collections::BTreeMap;

/// Gaps of unchanged bytes shorter than this are folded into one delta
/// range (a range header costs 4 bytes).
const MERGE_GAP: usize = 8;

/// Pages in memory: the committed image of every page (exactly what redo of
/// the log produces) and the working copies of the pages the open
/// transaction changed (no-steal: they reach the committed set only at
/// commit, through redo of the records written for them).
#[derive(Debug, Clone)]
pub struct Pager {
    pub(crate) page_size: usize,
    pub(crate) committed: Vec<Vec<u8>>,
    pub(crate) dirty: BTreeMap<u32, Vec<u8>>,
    /// Working allocation state (written to the header page at commit).
    pub(crate) page_count: u32,
    pub(crate) free_head: u32,
    pub(crate) catalog_root: u32,
    pub(crate) last_table_id: u64,
}

impl Pager {
    /// An empty pager (no pages at all).
    pub fn new(page_size: usize) -> Pager {
        Pager {
            page_size,
            committed: Vec::new(),
            dirty: BTreeMap::new(),
            page_count: 0,
            free_head: NONE,
            catalog_root: NONE,
            last_table_id: 0,
        }
    }

    /// The current (working) contents of page `no`.
    pub fn get(&self, no: u32) -> PResult<&[u8]> {
        if no >= self.page_count {
            return Err(past_end(no, self.page_count));
        }
        if let Some(p) = self.dirty.get(&no) {
            return Ok(p);
        }
        self.committed
            .get(no as usize)
            .map(Vec::as_slice)
            .ok_or_else(|| corrupt(no, 0, "page missing"))
    }

    /// The working copy of page `no`, made on first change.
    pub fn get_mut(&mut self, no: u32) -> PResult<&mut [u8]> {
        if no >= self.page_count {
            return Err(corrupt(no, 0, "write past the end of the store"));
        }
        let size = self.page_size;
        let committed = &self.committed;
        Ok(self.dirty.entry(no).or_insert_with(|| {
            committed
                .get(no as usize)
                .cloned()
                .unwrap_or_else(|| vec![0; size])
        }))
    }

    /// A node page for writing, checked.
    pub fn node_mut(&mut self, no: u32) -> PResult<&mut [u8]> {
        let p = self.get_mut(no)?;
        page::Node::new(no, p)?;
        Ok(p)
    }

    /// Allocates a page of type `ty` (from the free list first); it starts as
    /// zeros with the type set (an empty node for leaf/branch types).
    pub fn alloc(&mut self, ty: u8) -> PResult<u32> {
        let no = if self.free_head != NONE {
            let no = self.free_head;
            let p = self.get(no)?;
            if page_type(p) != ptype::FREE {
                return Err(corrupt(no, page::TYPE_AT, "free-list page is not free"));
            }
            let next = rd_u32(p, page::NEXT_AT).unwrap_or(NONE);
            if next != NONE && next >= self.page_count {
                return Err(corrupt(no, page::NEXT_AT, "free-list link past the end"));
            }
            self.free_head = next;
            no
        } else {
            if self.page_count >= NONE - 1 {
                return Err(corrupt(self.page_count, 0, "store is full"));
            }
            self.page_count += 1;
            self.page_count - 1
        };
        let p = self.get_mut(no)?;
        if ty == ptype::LEAF || ty == ptype::BRANCH {
            page::init_node(p, ty);
        } else {
            if let Some(rest) = p.get_mut(page::TYPE_AT..) {
                rest.fill(0);
            }
            if let Some(b) = p.get_mut(page::TYPE_AT) {
                *b = ty;
            }
        }
        Ok(no)
    }

    /// Releases page `no` to the free list.
    pub fn free(&mut self, no: u32) -> PResult<()> {
        if no == 0 {
            return Err(corrupt(0, 0, "the header page cannot be freed"));
        }
        let head = self.free_head;
        let p = self.get_mut(no)?;
        if let Some(rest) = p.get_mut(page::TYPE_AT..) {
            rest.fill(0);
        }
        wr(p, page::NEXT_AT, &head.to_le_bytes());
        self.free_head = no;
        Ok(())
    }

    /// Bytes of data an overflow page holds.
    pub fn overflow_capacity(&self) -> usize {
        self.page_size - page::OVF_DATA_AT
    }

    /// Writes `data` to a new overflow chain; returns its first page.
    pub fn write_overflow(&mut self, data: &[u8]) -> PResult<u32> {
        let cap = self.overflow_capacity();
        let chunks: Vec<&[u8]> = data.chunks(cap).collect();
        let mut next = NONE;
        for c in chunks.iter().rev() {
            let no = self.alloc(ptype::OVERFLOW)?;
            let p = self.get_mut(no)?;
            wr(p, page::NEXT_AT, &next.to_le_bytes());
            wr(p, page::OVF_LEN_AT, &(c.len() as u32).to_le_bytes());
            wr(p, page::OVF_DATA_AT, c);
            next = no;
        }
        Ok(next)
    }

    /// Reads an overflow chain of `len` bytes.
    pub fn read_overflow(&self, first: u32, len: u32) -> PResult<Vec<u8>> {
        let mut out = Vec::new();
        read::read_overflow(self, first, len, &mut out)?;
        Ok(out)
    }

    /// Frees an overflow chain.
    pub fn free_overflow(&mut self, first: u32, len: u32) -> PResult<()> {
        let pages = read::OverflowChain::new(&*self, first, len)
            .map(|r| r.map(|(no, _)| no))
            .collect::<PResult<Vec<u32>>>()?;
        for no in pages {
            self.free(no)?;
        }
        Ok(())
    }

    /// Writes the allocation state into the header page (page 0) when it
    /// differs.
    pub fn sync_header(&mut self) -> PResult<()> {
        let fields: [(usize, Vec<u8>); 4] = [
            (
                header::PAGE_COUNT_AT,
                self.page_count.to_le_bytes().to_vec(),
            ),
            (header::FREE_HEAD_AT, self.free_head.to_le_bytes().to_vec()),
            (
                header::CATALOG_ROOT_AT,
                self.catalog_root.to_le_bytes().to_vec(),
            ),
            (
                header::LAST_TABLE_ID_AT,
                self.last_table_id.to_le_bytes().to_vec(),
            ),
        ];
        let cur = self.get(0)?;
        let same = fields
            .iter()
            .all(|(at, b)| cur.get(*at..*at + b.len()) == Some(b.as_slice()));
        if !same {
            let p = self.get_mut(0)?;
            for (at, b) in &fields {
                wr(p, *at, b);
            }
        }
        Ok(())
    }

    /// Reads the allocation state from the header page of the committed pages.
    pub fn load_header(&mut self) -> PResult<()> {
        let p = self
            .committed
            .first()
            .ok_or_else(|| corrupt(0, 0, "the store has no header page"))?;
        let h = page::Header::read(p, self.page_size)?;
        h.check_count(self.committed.len())?;
        let count = h.page_count;
        self.page_count = count;
        self.free_head = h.free_head;
        self.catalog_root = h.catalog_root;
        self.last_table_id = h.last_table_id;
        self.dirty.clear();
        Ok(())
    }

    /// Forgets the open transaction's changes.
    pub fn discard(&mut self) -> PResult<()> {
        self.dirty.clear();
        if self.committed.is_empty() {
            self.page_count = 0;
            self.free_head = NONE;
            self.catalog_root = NONE;
            self.last_table_id = 0;
            return Ok(());
        }
        self.load_header()
    }

    /// The physical records that turn the committed pages into the working
    /// ones, in page order; `append` writes one record body and returns its
    /// LSN (which the next record of the same page chains to).
    pub fn emit(
        &self,
        txid: u64,
        mut append: impl FnMut(&[u8]) -> replog_core::Result<u64>,
    ) -> replog_core::Result<Vec<(u64, Vec<u8>)>> {
        let zero = vec![0u8; self.page_size];
        let mut out = Vec::new();
        let mut body = Vec::new();
        for (&no, w) in &self.dirty {
            let c = self.committed.get(no as usize).unwrap_or(&zero);
            let mut prev = page_lsn(c);
            let mut rec = |body: &mut Vec<u8>, prev: &mut u64| -> replog_core::Result<()> {
                let lsn = append(body)?;
                out.push((lsn, std::mem::take(body)));
                *prev = lsn;
                Ok(())
            };
            let wt = page_type(w);
            let r = |prev| PageRef {
                txid,
                page: no,
                prev_lsn: prev,
            };
            // What the page holds before the ranges below apply: the
            // committed page, or zeros (with the type) after FREE / INIT.
            let mut reset: Option<Vec<u8>> = None;
            if wt == ptype::FREE && page_type(c) != ptype::FREE {
                PhysicalRecord::PageFree(replog_physical::PageFree {
                    offset: 0,
                    page: r(prev),
                })
                .encode(&mut body)?;
                rec(&mut body, &mut prev)?;
                reset = Some(zero.clone());
            } else if wt != ptype::FREE && wt != page_type(c) {
                PhysicalRecord::PageInit(replog_physical::PageInit {
                    offset: 0,
                    page: r(prev),
                    page_type: wt,
                })
                .encode(&mut body)?;
                rec(&mut body, &mut prev)?;
                let mut z = zero.clone();
                if let Some(b) = z.get_mut(page::TYPE_AT) {
                    *b = wt;
                }
                reset = Some(z);
            }
            let base_t: &[u8] = reset.as_deref().unwrap_or(c);
            let ranges = diff(base_t, w);
            if ranges.is_empty() {
                continue;
            }
            let delta_len = replog_physical::record::DELTA_HEADER_LEN
                + ranges.iter().map(|(s, e)| 4 + e - s).sum::<usize>();
            let (_, hole) = replog_physical::record::find_hole(w);
            let image_len = replog_physical::record::IMAGE_HEADER_LEN + w.len() - hole as usize;
            if delta_len <= image_len {
                let dr: Vec<DeltaRange<'_>> = ranges
                    .iter()
                    .map(|&(s, e)| DeltaRange {
                        offset: s as u16,
                        data: w.get(s..e).unwrap_or(&[]),
                    })
                    .collect();
                encode_delta(&mut body, &r(prev), &dr)?;
            } else {
                encode_image(&mut body, &r(prev), w)?;
            }
            rec(&mut body, &mut prev)?;
        }
        Ok(out)
    }
}

/// Changed byte ranges `[start, end)` of `new` against `old`, from offset 8
/// (the page LSN is redo's), gaps shorter than [`MERGE_GAP`] folded in.
fn diff(old: &[u8], new: &[u8]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let n = old.len().min(new.len());
    let mut i = replog_physical::page::PAGE_LSN_LEN;
    while i < n {
        if old.get(i) == new.get(i) {
            i += 1;
            continue;
        }
        let s = i;
        while i < n && old.get(i) != new.get(i) {
            i += 1;
        }
        match out.last_mut() {
            Some(last) if s - last.1 < MERGE_GAP => last.1 = i,
            _ => out.push((s, i)),
        }
    }
    // A range holds at most 65,535 bytes.
    let mut split = Vec::with_capacity(out.len());
    for (s, e) in out {
        let mut a = s;
        while a < e {
            let b = (a + u16::MAX as usize).min(e);
            split.push((a, b));
            a = b;
        }
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_merges_and_skips_lsn() {
        let old = vec![0u8; 64];
        let mut new = old.clone();
        new[0] = 9; // LSN bytes are ignored
        new[10] = 1;
        new[12] = 1;
        new[40] = 1;
        assert_eq!(diff(&old, &new), vec![(10, 13), (40, 41)]);
    }
}
