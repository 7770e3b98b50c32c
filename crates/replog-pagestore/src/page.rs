//! Page layouts (page format 1, `formats/store.md` §7): page types, the
//! header page, slotted B+tree nodes and overflow pages.
//!
//! All multi-byte integers are little-endian. Bytes `0..8` (page LSN) and
//! byte `8` (page type) are the physical log's (`replog_physical::page`);
//! everything else is defined here. Functions never panic on bad contents:
//! reads of a damaged page report [`Corrupt`].

use std::fmt;

/// "No page" in page pointers (`replog_physical::NO_PAGE`).
pub const NONE: u32 = u32::MAX;

/// Page types (byte 8).
pub mod ptype {
    /// A free page (the log's page type 0).
    pub const FREE: u8 = 0;
    /// Page 0: the store header.
    pub const HEADER: u8 = 1;
    /// A B+tree leaf.
    pub const LEAF: u8 = 2;
    /// A B+tree branch (interior node).
    pub const BRANCH: u8 = 3;
    /// A page of an overflow chain.
    pub const OVERFLOW: u8 = 4;
}

/// Offset of the page type.
pub const TYPE_AT: usize = 8;
/// Offset of a free page's next-free pointer, and of an overflow page's next pointer.
pub const NEXT_AT: usize = 12;

/// Length of the node header (leaf and branch).
pub const NODE_HEADER: usize = 20;
/// Node: u16 number of cells.
pub const NSLOTS_AT: usize = 10;
/// Node: u32 start of the cell area.
pub const CELL_START_AT: usize = 12;
/// Branch: u32 leftmost child.
pub const CHILD0_AT: usize = 16;

/// Overflow page: u32 bytes of data in this page.
pub const OVF_LEN_AT: usize = 16;
/// Overflow page: first data byte.
pub const OVF_DATA_AT: usize = 20;

/// Header page fields.
pub mod header {
    /// Magic, 8 bytes.
    pub const MAGIC_AT: usize = 16;
    /// The magic.
    pub const MAGIC: [u8; 8] = *b"RPLGPAGE";
    /// u32 page size.
    pub const PAGE_SIZE_AT: usize = 24;
    /// u16 page-format version.
    pub const FORMAT_AT: usize = 28;
    /// u32 pages allocated.
    pub const PAGE_COUNT_AT: usize = 32;
    /// u32 first free page.
    pub const FREE_HEAD_AT: usize = 36;
    /// u32 root of the catalog B+tree.
    pub const CATALOG_ROOT_AT: usize = 40;
    /// u64 last table id handed out.
    pub const LAST_TABLE_ID_AT: usize = 44;
    /// End of the header fields.
    pub const END: usize = 52;
}

/// The header page's fields (page 0, `formats/store.md` §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Pages allocated.
    pub page_count: u32,
    /// First free page, or [`NONE`].
    pub free_head: u32,
    /// Root of the catalog B+tree.
    pub catalog_root: u32,
    /// The last table id handed out.
    pub last_table_id: u64,
}

impl Header {
    /// Reads and checks the header page `p` of a store of `page_size`-byte
    /// pages: page type, magic, page size, page format. The page pointers
    /// are not checked against the page count (the caller knows the pages).
    pub fn read(p: &[u8], page_size: usize) -> PResult<Header> {
        let t = p.get(TYPE_AT).copied().unwrap_or(ptype::FREE);
        if t != ptype::HEADER {
            return Err(corrupt(
                0,
                TYPE_AT,
                format!("page 0 has page type {t}, not a header page"),
            ));
        }
        if p.get(header::MAGIC_AT..header::MAGIC_AT + 8) != Some(&header::MAGIC[..]) {
            return Err(corrupt(0, header::MAGIC_AT, "bad magic"));
        }
        let field = |at: usize| rd_u32(p, at).ok_or_else(|| corrupt(0, at, "header past the page"));
        let ps = field(header::PAGE_SIZE_AT)? as usize;
        if ps != page_size {
            return Err(corrupt(
                0,
                header::PAGE_SIZE_AT,
                format!("header says page size {ps}, the pages are {page_size}"),
            ));
        }
        let fmt = rd_u16(p, header::FORMAT_AT).unwrap_or(0);
        if fmt != replog_physical::PAGE_FORMAT_VERSION {
            return Err(corrupt(
                0,
                header::FORMAT_AT,
                format!("page format {fmt} is not supported"),
            ));
        }
        Ok(Header {
            page_count: field(header::PAGE_COUNT_AT)?,
            free_head: field(header::FREE_HEAD_AT)?,
            catalog_root: field(header::CATALOG_ROOT_AT)?,
            last_table_id: rd_u64(p, header::LAST_TABLE_ID_AT)
                .ok_or_else(|| corrupt(0, header::LAST_TABLE_ID_AT, "header past the page"))?,
        })
    }

    /// Checks the header against the `count` pages the store has: the
    /// page count, and the free-list head and catalog root inside it.
    pub fn check_count(&self, count: usize) -> PResult<()> {
        if self.page_count as usize != count || count == 0 {
            return Err(corrupt(
                0,
                header::PAGE_COUNT_AT,
                format!(
                    "header counts {} pages, the store has {count}",
                    self.page_count
                ),
            ));
        }
        for (at, v) in [
            (header::FREE_HEAD_AT, self.free_head),
            (header::CATALOG_ROOT_AT, self.catalog_root),
        ] {
            if v != NONE && v >= self.page_count {
                return Err(corrupt(0, at, "page pointer past the end"));
            }
        }
        Ok(())
    }
}

/// Leaf cell kinds.
pub const CELL_INLINE: u8 = 0;
/// The value is in an overflow chain.
pub const CELL_OVERFLOW: u8 = 1;

/// Damage found in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    /// Page number.
    pub page: u32,
    /// Offset in the page.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "page {} offset {}: {}",
            self.page, self.offset, self.message
        )
    }
}

/// Result of page-level operations.
pub type PResult<T> = std::result::Result<T, Corrupt>;

#[cold]
pub(crate) fn corrupt(page: u32, offset: usize, message: impl Into<String>) -> Corrupt {
    Corrupt {
        page,
        offset,
        message: message.into(),
    }
}

#[inline]
pub(crate) fn rd_u16(p: &[u8], at: usize) -> Option<u16> {
    p.get(at..at + 2)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_le_bytes)
}

#[inline]
pub(crate) fn rd_u32(p: &[u8], at: usize) -> Option<u32> {
    p.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
}

#[inline]
pub(crate) fn rd_u64(p: &[u8], at: usize) -> Option<u64> {
    p.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
}

#[inline]
pub(crate) fn wr(p: &mut [u8], at: usize, b: &[u8]) {
    if let Some(d) = p.get_mut(at..at + b.len()) {
        d.copy_from_slice(b);
    }
}

/// A leaf cell's value: inline bytes or an overflow chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafValue<'a> {
    /// Stored in the cell.
    Inline(&'a [u8]),
    /// Stored in an overflow chain.
    Overflow {
        /// Total value length.
        len: u32,
        /// First overflow page.
        first: u32,
    },
}

/// A read-only view of a node page (leaf or branch).
#[derive(Clone, Copy)]
pub struct Node<'a> {
    /// Page number (for errors).
    pub no: u32,
    /// The page.
    pub p: &'a [u8],
}

impl<'a> Node<'a> {
    /// A view of page `no`, checking that it is a node with a sane header.
    pub fn new(no: u32, p: &'a [u8]) -> PResult<Node<'a>> {
        let t = p.get(TYPE_AT).copied().unwrap_or(0);
        if t != ptype::LEAF && t != ptype::BRANCH {
            return Err(corrupt(
                no,
                TYPE_AT,
                format!("page type {t} is not a B+tree node"),
            ));
        }
        let n = Node { no, p };
        let slots_end = NODE_HEADER + 2 * n.nslots();
        let cs = n.cell_start();
        if slots_end > cs || cs > p.len() {
            return Err(corrupt(
                no,
                NSLOTS_AT,
                format!("slot array end {slots_end} / cell area start {cs} do not fit the page"),
            ));
        }
        Ok(n)
    }

    /// Whether this is a leaf.
    pub fn is_leaf(&self) -> bool {
        self.p.get(TYPE_AT) == Some(&ptype::LEAF)
    }

    /// Number of cells.
    pub fn nslots(&self) -> usize {
        rd_u16(self.p, NSLOTS_AT).unwrap_or(0) as usize
    }

    /// Start of the cell area.
    pub fn cell_start(&self) -> usize {
        rd_u32(self.p, CELL_START_AT).unwrap_or(0) as usize
    }

    /// A branch's leftmost child.
    pub fn child0(&self) -> u32 {
        rd_u32(self.p, CHILD0_AT).unwrap_or(NONE)
    }

    fn slot(&self, i: usize) -> PResult<usize> {
        if i >= self.nslots() {
            return Err(corrupt(
                self.no,
                NSLOTS_AT,
                format!("cell {i} of a node of {} cells", self.nslots()),
            ));
        }
        let off = rd_u16(self.p, NODE_HEADER + 2 * i)
            .ok_or_else(|| corrupt(self.no, NODE_HEADER + 2 * i, "slot past the page"))?
            as usize;
        if off < self.cell_start() {
            return Err(corrupt(
                self.no,
                NODE_HEADER + 2 * i,
                format!("cell offset {off} is before the cell area"),
            ));
        }
        Ok(off)
    }

    /// The whole cell `i` (its bytes).
    #[inline]
    pub fn cell(&self, i: usize) -> PResult<&'a [u8]> {
        self.cell_at(i).map(|(_, c)| c)
    }

    /// Cell `i` and its offset in the page.
    fn cell_at(&self, i: usize) -> PResult<(usize, &'a [u8])> {
        let off = self.slot(i)?;
        let bad = || corrupt(self.no, off, "cell runs past the page");
        let klen = rd_u16(self.p, off).ok_or_else(bad)? as usize;
        let len = if self.is_leaf() {
            match self.p.get(off + 2).copied().ok_or_else(bad)? {
                CELL_INLINE => {
                    let vlen = rd_u32(self.p, off + 3 + klen).ok_or_else(bad)? as usize;
                    3 + klen + 4 + vlen
                }
                CELL_OVERFLOW => 3 + klen + 8,
                k => return Err(corrupt(self.no, off + 2, format!("unknown cell kind {k}"))),
            }
        } else {
            6 + klen
        };
        self.p.get(off..off + len).map(|c| (off, c)).ok_or_else(bad)
    }

    /// The key of cell `i`.
    #[inline]
    pub fn key(&self, i: usize) -> PResult<&'a [u8]> {
        let (off, c) = self.cell_at(i)?;
        cell_key(c, self.is_leaf()).ok_or_else(|| corrupt(self.no, off, "bad cell"))
    }

    /// The child of branch cell `i`.
    pub fn child(&self, i: usize) -> PResult<u32> {
        let (off, c) = self.cell_at(i)?;
        rd_u32(c, 2).ok_or_else(|| corrupt(self.no, off, "bad branch cell"))
    }

    /// The child a branch descends into at child index `ci` (0 = child0).
    pub fn child_at(&self, ci: usize) -> PResult<u32> {
        if ci == 0 {
            Ok(self.child0())
        } else {
            self.child(ci - 1)
        }
    }

    /// The value of leaf cell `i`.
    #[inline]
    pub fn value(&self, i: usize) -> PResult<LeafValue<'a>> {
        let (off, c) = self.cell_at(i)?;
        leaf_value(c).ok_or_else(|| corrupt(self.no, off, "bad leaf cell"))
    }

    /// Key and value of leaf cell `i`, with the whole cell.
    #[inline]
    pub fn entry(&self, i: usize) -> PResult<(&'a [u8], LeafValue<'a>, &'a [u8])> {
        let (off, c) = self.cell_at(i)?;
        let bad = || corrupt(self.no, off, "bad leaf cell");
        Ok((
            cell_key(c, true).ok_or_else(bad)?,
            leaf_value(c).ok_or_else(bad)?,
            c,
        ))
    }

    /// Whether leaf cell `i` keeps its value in an overflow chain (reads
    /// the cell's kind byte only; `false` for a branch or damage).
    #[inline]
    pub fn is_overflow(&self, i: usize) -> bool {
        self.is_leaf()
            && self
                .slot(i)
                .ok()
                .and_then(|off| self.p.get(off + 2))
                .is_some_and(|&k| k == CELL_OVERFLOW)
    }

    /// The free space between the slot array and the cell area: the only
    /// bytes of a node no reader looks at.
    pub fn free_space(&self) -> std::ops::Range<usize> {
        NODE_HEADER + 2 * self.nslots()..self.cell_start()
    }

    /// Binary search: `Ok(i)` if cell `i` has `key`, else `Err(insertion point)`.
    pub fn search(&self, key: &[u8]) -> PResult<Result<usize, usize>> {
        let (mut lo, mut hi) = (0usize, self.nslots());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid)?.cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(Ok(mid)),
            }
        }
        Ok(Err(lo))
    }

    /// Child index (0 = child0) of a branch to descend into for `key`: the
    /// number of separators `<= key`.
    pub fn child_index(&self, key: &[u8]) -> PResult<usize> {
        Ok(match self.search(key)? {
            Ok(i) => i + 1,
            Err(i) => i,
        })
    }

    /// Bytes in use: header, slots, live cells.
    pub fn used(&self) -> PResult<usize> {
        let mut u = NODE_HEADER + 2 * self.nslots();
        for i in 0..self.nslots() {
            u += self.cell(i)?.len();
        }
        Ok(u)
    }

    /// Every cell, copied.
    pub fn cells(&self) -> PResult<Vec<Vec<u8>>> {
        (0..self.nslots())
            .map(|i| self.cell(i).map(<[u8]>::to_vec))
            .collect()
    }
}

/// The key of a cell.
pub fn cell_key(c: &[u8], leaf: bool) -> Option<&[u8]> {
    let klen = rd_u16(c, 0)? as usize;
    let at = if leaf { 3 } else { 6 };
    c.get(at..at + klen)
}

/// The value of a leaf cell.
pub fn leaf_value(c: &[u8]) -> Option<LeafValue<'_>> {
    let klen = rd_u16(c, 0)? as usize;
    match *c.get(2)? {
        CELL_INLINE => {
            let vlen = rd_u32(c, 3 + klen)? as usize;
            c.get(7 + klen..7 + klen + vlen).map(LeafValue::Inline)
        }
        CELL_OVERFLOW => Some(LeafValue::Overflow {
            len: rd_u32(c, 3 + klen)?,
            first: rd_u32(c, 7 + klen)?,
        }),
        _ => None,
    }
}

/// A leaf cell with an inline value.
pub fn leaf_cell_inline(key: &[u8], val: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(7 + key.len() + val.len());
    c.extend_from_slice(&(key.len() as u16).to_le_bytes());
    c.push(CELL_INLINE);
    c.extend_from_slice(key);
    c.extend_from_slice(&(val.len() as u32).to_le_bytes());
    c.extend_from_slice(val);
    c
}

/// A leaf cell whose value is in an overflow chain.
pub fn leaf_cell_overflow(key: &[u8], len: u32, first: u32) -> Vec<u8> {
    let mut c = Vec::with_capacity(11 + key.len());
    c.extend_from_slice(&(key.len() as u16).to_le_bytes());
    c.push(CELL_OVERFLOW);
    c.extend_from_slice(key);
    c.extend_from_slice(&len.to_le_bytes());
    c.extend_from_slice(&first.to_le_bytes());
    c
}

/// A branch cell.
pub fn branch_cell(key: &[u8], child: u32) -> Vec<u8> {
    let mut c = Vec::with_capacity(6 + key.len());
    c.extend_from_slice(&(key.len() as u16).to_le_bytes());
    c.extend_from_slice(&child.to_le_bytes());
    c.extend_from_slice(key);
    c
}

/// Sets the child pointer of a branch cell.
pub fn set_branch_child(c: &mut [u8], child: u32) {
    wr(c, 2, &child.to_le_bytes());
}

// ----- mutation of a node page (the caller has checked it with Node::new) ---

fn set_nslots(p: &mut [u8], n: usize) {
    wr(p, NSLOTS_AT, &(n as u16).to_le_bytes());
}

fn set_cell_start(p: &mut [u8], v: usize) {
    wr(p, CELL_START_AT, &(v as u32).to_le_bytes());
}

/// Sets a branch's leftmost child.
pub fn set_child0(p: &mut [u8], child: u32) {
    wr(p, CHILD0_AT, &child.to_le_bytes());
}

/// Makes `p` an empty node of type `ty` (keeps the page LSN).
pub fn init_node(p: &mut [u8], ty: u8) {
    if let Some(rest) = p.get_mut(TYPE_AT..) {
        rest.fill(0);
    }
    if let Some(b) = p.get_mut(TYPE_AT) {
        *b = ty;
    }
    let len = p.len();
    set_nslots(p, 0);
    set_cell_start(p, len);
    if ty == ptype::BRANCH {
        set_child0(p, NONE);
    }
}

/// Rewrites node `p` (type kept) with `cells` in order; `child0` for a branch.
/// The cells must fit (callers check with [`fits`]).
pub fn rebuild(p: &mut [u8], cells: &[Vec<u8>], child0: u32) {
    let ty = p.get(TYPE_AT).copied().unwrap_or(ptype::LEAF);
    init_node(p, ty);
    if ty == ptype::BRANCH {
        set_child0(p, child0);
    }
    let mut end = p.len();
    for (i, c) in cells.iter().enumerate() {
        end -= c.len();
        wr(p, end, c);
        wr(p, NODE_HEADER + 2 * i, &(end as u16).to_le_bytes());
    }
    set_nslots(p, cells.len());
    set_cell_start(p, end);
}

/// Whether `cells` fit one node of `page_size`.
pub fn fits(page_size: usize, cells: &[Vec<u8>]) -> bool {
    NODE_HEADER + cells.iter().map(|c| c.len() + 2).sum::<usize>() <= page_size
}

/// Inserts `cell` as cell `i` of node page `p` (page `no`), compacting the
/// page if the contiguous free space is too small. Returns `false` (page
/// unchanged) when it does not fit at all.
pub fn insert_cell(no: u32, p: &mut [u8], i: usize, cell: &[u8]) -> PResult<bool> {
    let (n, cs, used) = {
        let node = Node::new(no, p)?;
        (node.nslots(), node.cell_start(), node.used()?)
    };
    if i > n {
        return Err(corrupt(no, NSLOTS_AT, "insert position past the cells"));
    }
    if used + cell.len() + 2 > p.len() {
        return Ok(false);
    }
    let mut cs = cs;
    if cs < NODE_HEADER + 2 * (n + 1) + cell.len() {
        // Enough space, but fragmented: compact in slot order.
        let (cells, c0) = {
            let node = Node::new(no, p)?;
            (node.cells()?, node.child0())
        };
        rebuild(p, &cells, c0);
        cs = Node::new(no, p)?.cell_start();
    }
    let off = cs - cell.len();
    wr(p, off, cell);
    let s = NODE_HEADER + 2 * i;
    let e = NODE_HEADER + 2 * n;
    p.copy_within(s..e, s + 2);
    wr(p, s, &(off as u16).to_le_bytes());
    set_nslots(p, n + 1);
    set_cell_start(p, off);
    Ok(true)
}

/// Removes cell `i` of node page `p`. The cell's bytes stay as garbage
/// unless they start the cell area, which then shrinks.
pub fn remove_cell(no: u32, p: &mut [u8], i: usize) -> PResult<()> {
    let (n, cs, off, len) = {
        let node = Node::new(no, p)?;
        if i >= node.nslots() {
            return Err(corrupt(no, NSLOTS_AT, "remove position past the cells"));
        }
        let c = node.cell(i)?;
        (node.nslots(), node.cell_start(), node.slot(i)?, c.len())
    };
    let s = NODE_HEADER + 2 * i;
    let e = NODE_HEADER + 2 * n;
    p.copy_within(s + 2..e, s);
    wr(p, e - 2, &[0, 0]);
    set_nslots(p, n - 1);
    if off == cs {
        if let Some(d) = p.get_mut(off..off + len) {
            d.fill(0);
        }
        set_cell_start(p, off + len);
    }
    Ok(())
}
