//! Reading pages wherever they live: [`PageSource`], one trait for the
//! store's [`Pager`], a list of page buffers (the pages a redo of the WAL
//! builds), a page file or page image held in memory ([`PageFile`]), and the
//! images a logical decoder keeps of the pages before and after a
//! transaction. The B+tree readers ([`crate::btree`]), overflow chains
//! ([`OverflowChain`], [`read_value`]) and the catalog reader
//! ([`crate::catalog::read_catalog`]) are written once over it.
//!
//! Modelled on `object`'s `ReadRef`: a source is a small `Copy` handle
//! (usually a reference) whose pages borrow from what it refers to, so a
//! node or a value read through it outlives the handle.
//!
//! Every read is bounds-checked; damage is a [`Corrupt`] naming the page
//! and the offset in it, never a panic.

use crate::page::{self, Corrupt, LeafValue, NONE, Node, PResult, corrupt, ptype, rd_u32};
use crate::pager::Pager;
use std::borrow::Cow;

/// Where a store's pages are read from.
pub trait PageSource<'a>: Copy {
    /// The page size in bytes.
    fn page_size(self) -> usize;

    /// Pages the source holds (numbers `0..page_count`).
    fn page_count(self) -> u32;

    /// The bytes of page `no`: exactly [`PageSource::page_size`] of them.
    /// A page the source does not hold is [`Corrupt`] at offset 0.
    fn page(self, no: u32) -> PResult<&'a [u8]>;

    /// Page `no` as a B+tree node (leaf or branch), its header checked.
    #[inline]
    fn node(self, no: u32) -> PResult<Node<'a>> {
        Node::new(no, self.page(no)?)
    }

    /// The page type of page `no` (byte 8).
    #[inline]
    fn page_type(self, no: u32) -> PResult<u8> {
        Ok(replog_physical::page::page_type(self.page(no)?))
    }

    /// The header page (page 0), checked ([`page::Header::read`]).
    fn header(self) -> PResult<page::Header> {
        page::Header::read(self.page(0)?, self.page_size())
    }
}

#[cold]
pub(crate) fn past_end(no: u32, count: u32) -> Corrupt {
    corrupt(
        no,
        0,
        format!("page {no} is past the end of the store ({count} pages)"),
    )
}

impl<'a> PageSource<'a> for &'a Pager {
    fn page_size(self) -> usize {
        self.page_size
    }

    fn page_count(self) -> u32 {
        self.page_count
    }

    /// The working copy when the open transaction changed the page, else
    /// the committed page.
    #[inline]
    fn page(self, no: u32) -> PResult<&'a [u8]> {
        self.get(no)
    }
}

/// Pages held as one buffer each (page `n` is `pages[n]`): the committed
/// pages of a store, the pages a redo of the WAL builds.
#[derive(Debug, Clone, Copy)]
pub struct PageList<'a> {
    pages: &'a [Vec<u8>],
    page_size: usize,
}

impl<'a> PageList<'a> {
    /// A source over `pages`, each `page_size` bytes (a page of another
    /// length reads as damaged).
    pub fn new(pages: &'a [Vec<u8>], page_size: usize) -> PageList<'a> {
        PageList { pages, page_size }
    }
}

impl<'a> PageSource<'a> for PageList<'a> {
    fn page_size(self) -> usize {
        self.page_size
    }

    fn page_count(self) -> u32 {
        u32::try_from(self.pages.len()).unwrap_or(NONE)
    }

    #[inline]
    fn page(self, no: u32) -> PResult<&'a [u8]> {
        let p = self
            .pages
            .get(no as usize)
            .ok_or_else(|| past_end(no, self.page_count()))?;
        if p.len() != self.page_size {
            return Err(corrupt(
                no,
                0,
                format!(
                    "page of {} bytes; the store's pages are {}",
                    p.len(),
                    self.page_size
                ),
            ));
        }
        Ok(p)
    }
}

/// Pages laid end to end in one buffer, page `n` at byte `n × page_size`
/// (`formats/store.md` §7.1): a page file, or the pages of a page image
/// (§11.4) read into memory.
#[derive(Debug, Clone, Copy)]
pub struct PageFile<'a> {
    bytes: &'a [u8],
    page_size: usize,
}

impl<'a> PageFile<'a> {
    /// A source over `bytes`; `None` unless `page_size` is a page size
    /// (a power of two from 512 to 65,536) and `bytes` whole pages.
    pub fn new(bytes: &'a [u8], page_size: usize) -> Option<PageFile<'a>> {
        (replog_physical::page::is_valid_page_size(page_size as u64)
            && bytes.len() % page_size == 0
            && bytes.len() / page_size <= NONE as usize)
            .then_some(PageFile { bytes, page_size })
    }

    /// Every page, copied into its own buffer.
    pub fn to_page_list(self) -> Vec<Vec<u8>> {
        self.bytes
            .chunks_exact(self.page_size)
            .map(<[u8]>::to_vec)
            .collect()
    }
}

impl<'a> PageSource<'a> for PageFile<'a> {
    fn page_size(self) -> usize {
        self.page_size
    }

    fn page_count(self) -> u32 {
        (self.bytes.len() / self.page_size) as u32
    }

    #[inline]
    fn page(self, no: u32) -> PResult<&'a [u8]> {
        let at = no as usize * self.page_size;
        self.bytes
            .get(at..at + self.page_size)
            .ok_or_else(|| past_end(no, self.page_count()))
    }
}

/// The pages of an overflow chain of `len` bytes, in order, checked as they
/// are read (`formats/store.md` §7.4): each is an overflow page holding
/// 1 to `page_size − 20` bytes, no more than the value has left, and the
/// chain ends exactly when the value does. Yields `(page number, data)`;
/// after an error it yields nothing more.
#[derive(Debug, Clone)]
pub struct OverflowChain<'a, S> {
    src: S,
    next: u32,
    /// The page whose next pointer `next` is (`NONE` at the start).
    prev: u32,
    left: usize,
    steps: u32,
    done: bool,
    _p: std::marker::PhantomData<&'a [u8]>,
}

impl<'a, S: PageSource<'a>> OverflowChain<'a, S> {
    /// The chain of a `len`-byte value starting at page `first`.
    pub fn new(src: S, first: u32, len: u32) -> Self {
        OverflowChain {
            src,
            next: first,
            prev: NONE,
            left: len as usize,
            steps: 0,
            done: false,
            _p: std::marker::PhantomData,
        }
    }

    fn step(&mut self) -> PResult<Option<(u32, &'a [u8])>> {
        let no = self.next;
        // Where the pointer to `no` is: the previous page's next field.
        let link = |m: String| match self.prev {
            NONE => corrupt(no, 0, m),
            p => corrupt(p, page::NEXT_AT, m),
        };
        if self.left == 0 {
            if no != NONE {
                return Err(link(format!(
                    "overflow chain longer than its value: next page {no} after the last byte"
                )));
            }
            return Ok(None);
        }
        if no == NONE {
            return Err(link(format!(
                "overflow chain ends {} bytes before its value does",
                self.left
            )));
        }
        if self.steps >= self.src.page_count() {
            return Err(corrupt(no, 0, "overflow chain loops"));
        }
        self.steps += 1;
        let p = self.src.page(no)?;
        let t = replog_physical::page::page_type(p);
        if t != ptype::OVERFLOW {
            return Err(corrupt(
                no,
                page::TYPE_AT,
                format!("page type {t} in an overflow chain (not an overflow page)"),
            ));
        }
        let cap = self.src.page_size().saturating_sub(page::OVF_DATA_AT);
        let n = rd_u32(p, page::OVF_LEN_AT)
            .ok_or_else(|| corrupt(no, page::OVF_LEN_AT, "overflow length past the page"))?
            as usize;
        if n == 0 || n > cap || n > self.left {
            return Err(corrupt(
                no,
                page::OVF_LEN_AT,
                format!(
                    "overflow length {n} (the page holds 1 to {cap}, the value has {} left)",
                    self.left
                ),
            ));
        }
        let data = p
            .get(page::OVF_DATA_AT..page::OVF_DATA_AT + n)
            .ok_or_else(|| corrupt(no, page::OVF_DATA_AT, "overflow data past the page"))?;
        self.left -= n;
        self.prev = no;
        self.next = rd_u32(p, page::NEXT_AT)
            .ok_or_else(|| corrupt(no, page::NEXT_AT, "next pointer past the page"))?;
        Ok(Some((no, data)))
    }
}

impl<'a, S: PageSource<'a>> Iterator for OverflowChain<'a, S> {
    type Item = PResult<(u32, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.step();
        self.done = !matches!(r, Ok(Some(_)));
        r.transpose()
    }
}

/// Appends the `len`-byte value of the overflow chain at `first` to `out`.
pub fn read_overflow<'a, S: PageSource<'a>>(
    src: S,
    first: u32,
    len: u32,
    out: &mut Vec<u8>,
) -> PResult<()> {
    // The reservation is bounded by what the source can hold.
    let cap = (src.page_count() as usize).saturating_mul(src.page_size());
    out.reserve((len as usize).min(cap));
    for piece in OverflowChain::new(src, first, len) {
        out.extend_from_slice(piece?.1);
    }
    Ok(())
}

/// A leaf value: borrowed when inline, read from its chain otherwise.
pub fn read_value<'a, S: PageSource<'a>>(src: S, v: LeafValue<'a>) -> PResult<Cow<'a, [u8]>> {
    match v {
        LeafValue::Inline(b) => Ok(Cow::Borrowed(b)),
        LeafValue::Overflow { len, first } => {
            let mut out = Vec::new();
            read_overflow(src, first, len, &mut out)?;
            Ok(Cow::Owned(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overflow_page(size: usize, next: u32, data: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; size];
        p[page::TYPE_AT] = ptype::OVERFLOW;
        p[page::NEXT_AT..page::NEXT_AT + 4].copy_from_slice(&next.to_le_bytes());
        p[page::OVF_LEN_AT..page::OVF_LEN_AT + 4]
            .copy_from_slice(&(data.len() as u32).to_le_bytes());
        p[page::OVF_DATA_AT..page::OVF_DATA_AT + data.len()].copy_from_slice(data);
        p
    }

    #[test]
    fn chains_read_the_same_from_a_list_and_a_file() {
        let pages = vec![
            vec![0u8; 512],
            overflow_page(512, 2, b"hello "),
            overflow_page(512, NONE, b"world"),
        ];
        let flat: Vec<u8> = pages.concat();
        let list = PageList::new(&pages, 512);
        let file = PageFile::new(&flat, 512).unwrap();
        let mut a = Vec::new();
        let mut b = Vec::new();
        read_overflow(list, 1, 11, &mut a).unwrap();
        read_overflow(file, 1, 11, &mut b).unwrap();
        assert_eq!(a, b"hello world");
        assert_eq!(a, b);
        let nos: Vec<u32> = OverflowChain::new(list, 1, 11)
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(nos, [1, 2]);
    }

    #[test]
    fn damaged_chains_name_the_page_and_offset() {
        let mut pages = vec![
            vec![0u8; 512],
            overflow_page(512, 2, b"hello "),
            overflow_page(512, NONE, b"world"),
        ];
        let src = PageList::new(&pages, 512);
        // Value shorter than the chain: the second page says 5, 1 is left.
        let e = read_overflow(src, 1, 7, &mut Vec::new()).unwrap_err();
        assert_eq!((e.page, e.offset), (2, page::OVF_LEN_AT));
        // Value longer than the chain.
        let e = read_overflow(src, 1, 20, &mut Vec::new()).unwrap_err();
        assert_eq!((e.page, e.offset), (2, page::NEXT_AT));
        assert!(e.message.contains("9 bytes before"), "{e}");
        // A next pointer after the last byte.
        let e = read_overflow(src, 1, 6, &mut Vec::new()).unwrap_err();
        assert_eq!((e.page, e.offset), (1, page::NEXT_AT));
        // A loop.
        pages[2] = overflow_page(512, 1, b"world");
        let src = PageList::new(&pages, 512);
        let e = read_overflow(src, 1, 4000, &mut Vec::new()).unwrap_err();
        assert!(e.message.contains("loops"), "{e}");
        // Not an overflow page.
        let e = read_overflow(src, 0, 3, &mut Vec::new()).unwrap_err();
        assert_eq!((e.page, e.offset), (0, page::TYPE_AT));
        // A page of the wrong size in a list.
        pages[2].truncate(100);
        let src = PageList::new(&pages, 512);
        let e = read_overflow(src, 1, 11, &mut Vec::new()).unwrap_err();
        assert_eq!((e.page, e.offset), (2, 0));
    }

    #[test]
    fn a_page_file_must_be_whole_pages() {
        assert!(PageFile::new(&[0u8; 1000], 512).is_none());
        assert!(PageFile::new(&[0u8; 1024], 500).is_none());
        let f = PageFile::new(&[0u8; 1024], 512).unwrap();
        assert_eq!(f.page_count(), 2);
        assert_eq!(f.page(2).unwrap_err().page, 2);
    }
}
