//! B+trees of byte-string keys over [`Pager`] pages: leaves hold the values
//! (inline, or in an overflow chain when the cell would be too large),
//! branches hold separator keys and child pointers. Insert splits a full
//! node at its byte midpoint; delete merges an under-full node (less than a
//! quarter used) into a sibling when both fit one page, and a root branch
//! left with no separator is replaced by its only child.

use crate::page::{
    self, LeafValue, NONE, Node, PResult, branch_cell, cell_key, corrupt, fits, leaf_cell_inline,
    leaf_cell_overflow, leaf_value, ptype,
};
use crate::pager::Pager;
use crate::read::{self, PageSource};

/// Deepest tree accepted (a damaged tree must not recurse forever).
pub const MAX_DEPTH: usize = 48;

/// The largest cell (2-byte slot included) a node of `page_size` takes, so
/// that a node that overflows by one cell always splits into two that fit.
pub fn max_cell(page_size: usize) -> usize {
    (page_size - page::NODE_HEADER) / 4 - 2
}

/// The longest key a tree of `page_size` accepts.
pub fn max_key(page_size: usize) -> usize {
    max_cell(page_size) - 13
}

/// Creates an empty tree; returns its root.
pub fn create(pg: &mut Pager) -> PResult<u32> {
    pg.alloc(ptype::LEAF)
}

/// A node of the pager (for the writers, which hold `&mut Pager`).
fn node(pg: &Pager, no: u32) -> PResult<Node<'_>> {
    pg.node(no)
}

/// Refuses a descent deeper than [`MAX_DEPTH`] at page `no`.
pub fn depth_check(no: u32, depth: usize) -> PResult<()> {
    if depth > MAX_DEPTH {
        return Err(corrupt(no, 0, "B+tree deeper than 48 levels (a loop?)"));
    }
    Ok(())
}

/// Reads a leaf value.
pub fn load_value<'a, S: PageSource<'a>>(src: S, v: LeafValue<'a>) -> PResult<Vec<u8>> {
    read::read_value(src, v).map(std::borrow::Cow::into_owned)
}

/// The leaf a descent from `root` with `key` ends at.
pub fn leaf_for<'a, S: PageSource<'a>>(src: S, root: u32, key: &[u8]) -> PResult<Node<'a>> {
    let mut no = root;
    for depth in 0.. {
        depth_check(no, depth)?;
        let n = src.node(no)?;
        if n.is_leaf() {
            return Ok(n);
        }
        no = n.child_at(n.child_index(key)?)?;
    }
    unreachable!("the depth check ends the descent")
}

/// Whether node `target` is in the tree rooted at `root`: a descent from
/// `root` with `target`'s first key passes through it (an empty node is in
/// the tree only as its root). A damaged node on the way means no.
pub fn reaches<'a, S: PageSource<'a>>(src: S, root: u32, target: u32) -> PResult<bool> {
    let node = src.node(target)?;
    if node.nslots() == 0 {
        return Ok(root == target);
    }
    let key = node.key(0)?;
    let mut no = root;
    for _ in 0..=MAX_DEPTH {
        if no == target {
            return Ok(true);
        }
        let Ok(n) = src.node(no) else {
            return Ok(false);
        };
        if n.is_leaf() {
            return Ok(false);
        }
        no = n.child_at(n.child_index(key)?)?;
    }
    Ok(false)
}

/// The value stored under `key`.
pub fn get<'a, S: PageSource<'a>>(src: S, root: u32, key: &[u8]) -> PResult<Option<Vec<u8>>> {
    let n = leaf_for(src, root, key)?;
    match n.search(key)? {
        Ok(i) => load_value(src, n.value(i)?).map(Some),
        Err(_) => Ok(None),
    }
}

/// Whether `key` is present (no value read).
pub fn contains<'a, S: PageSource<'a>>(src: S, root: u32, key: &[u8]) -> PResult<bool> {
    Ok(leaf_for(src, root, key)?.search(key)?.is_ok())
}

/// Visits every entry in key order; checks that keys strictly increase.
pub fn scan<'a, S: PageSource<'a>>(
    src: S,
    root: u32,
    f: &mut dyn FnMut(&'a [u8], LeafValue<'a>) -> PResult<()>,
) -> PResult<()> {
    let mut last: Option<&'a [u8]> = None;
    scan_rec(src, root, 0, &mut last, f)
}

fn scan_rec<'a, S: PageSource<'a>>(
    src: S,
    no: u32,
    depth: usize,
    last: &mut Option<&'a [u8]>,
    f: &mut dyn FnMut(&'a [u8], LeafValue<'a>) -> PResult<()>,
) -> PResult<()> {
    depth_check(no, depth)?;
    let n = src.node(no)?;
    if n.is_leaf() {
        for i in 0..n.nslots() {
            let (k, v, _) = n.entry(i)?;
            if last.is_some_and(|l| l >= k) {
                return Err(corrupt(no, 0, "keys out of order"));
            }
            f(k, v)?;
            *last = Some(k);
        }
        return Ok(());
    }
    for ci in 0..=n.nslots() {
        scan_rec(src, n.child_at(ci)?, depth + 1, last, f)?;
    }
    Ok(())
}

/// Every page of the tree (nodes and overflow chains), for freeing.
fn collect_pages(pg: &Pager, no: u32, depth: usize, out: &mut Vec<(u32, u32, u32)>) -> PResult<()> {
    depth_check(no, depth)?;
    let n = node(pg, no)?;
    if n.is_leaf() {
        for i in 0..n.nslots() {
            if let LeafValue::Overflow { len, first } = n.value(i)? {
                out.push((NONE, first, len));
            }
        }
    } else {
        for ci in 0..=n.nslots() {
            collect_pages(pg, n.child_at(ci)?, depth + 1, out)?;
        }
    }
    out.push((no, NONE, 0));
    Ok(())
}

/// Frees every page of a tree.
pub fn free_tree(pg: &mut Pager, root: u32) -> PResult<()> {
    let mut pages = Vec::new();
    collect_pages(pg, root, 0, &mut pages)?;
    for (no, first, len) in pages {
        if no == NONE {
            pg.free_overflow(first, len)?;
        } else {
            pg.free(no)?;
        }
    }
    Ok(())
}

/// The leaf cell for `key` → `val`, spilling the value to an overflow chain
/// when the cell would exceed [`max_cell`].
fn make_leaf_cell(pg: &mut Pager, key: &[u8], val: &[u8]) -> PResult<Vec<u8>> {
    if key.len() > max_key(pg.page_size) {
        return Err(corrupt(NONE, 0, "key too long"));
    }
    if 7 + key.len() + val.len() + 2 <= max_cell(pg.page_size) {
        return Ok(leaf_cell_inline(key, val));
    }
    let len = u32::try_from(val.len()).map_err(|_| corrupt(NONE, 0, "value over 4 GiB"))?;
    let first = pg.write_overflow(val)?;
    Ok(leaf_cell_overflow(key, len, first))
}

fn free_cell_value(pg: &mut Pager, cell: &[u8]) -> PResult<()> {
    if let Some(LeafValue::Overflow { len, first }) = leaf_value(cell) {
        pg.free_overflow(first, len)?;
    }
    Ok(())
}

/// Inserts or replaces `key` → `val`; returns the (possibly new) root and
/// the previous value.
pub fn insert(
    pg: &mut Pager,
    root: u32,
    key: &[u8],
    val: &[u8],
) -> PResult<(u32, Option<Vec<u8>>)> {
    let cell = make_leaf_cell(pg, key, val)?;
    let mut old = None;
    let split = insert_rec(pg, root, key, &cell, 0, &mut old)?;
    let Some((sep, right)) = split else {
        return Ok((root, old));
    };
    let new_root = pg.alloc(ptype::BRANCH)?;
    let p = pg.get_mut(new_root)?;
    page::rebuild(p, &[branch_cell(&sep, right)], root);
    Ok((new_root, old))
}

type Split = Option<(Vec<u8>, u32)>;

fn insert_rec(
    pg: &mut Pager,
    no: u32,
    key: &[u8],
    cell: &[u8],
    depth: usize,
    old: &mut Option<Vec<u8>>,
) -> PResult<Split> {
    depth_check(no, depth)?;
    let (leaf, pos, child) = {
        let n = node(pg, no)?;
        if n.is_leaf() {
            (true, n.search(key)?, NONE)
        } else {
            let ci = n.child_index(key)?;
            (false, Err(ci), n.child_at(ci)?)
        }
    };
    if leaf {
        let i = match pos {
            Ok(i) => {
                let prev = node(pg, no)?.cell(i)?.to_vec();
                if let Some(v) = leaf_value(&prev) {
                    *old = Some(load_value(&*pg, v)?);
                }
                free_cell_value(pg, &prev)?;
                page::remove_cell(no, pg.node_mut(no)?, i)?;
                i
            }
            Err(i) => i,
        };
        return add_cell(pg, no, i, cell);
    }
    let ci = pos.err().unwrap_or(0);
    match insert_rec(pg, child, key, cell, depth + 1, old)? {
        None => Ok(None),
        Some((sep, right)) => add_cell(pg, no, ci, &branch_cell(&sep, right)),
    }
}

/// Adds `cell` at position `i` of node `no`, splitting it when full;
/// returns the separator and new right node of a split.
fn add_cell(pg: &mut Pager, no: u32, i: usize, cell: &[u8]) -> PResult<Split> {
    if page::insert_cell(no, pg.node_mut(no)?, i, cell)? {
        return Ok(None);
    }
    let (leaf, mut cells, child0) = {
        let n = node(pg, no)?;
        (n.is_leaf(), n.cells()?, n.child0())
    };
    if i > cells.len() {
        return Err(corrupt(no, 0, "insert position past the cells"));
    }
    cells.insert(i, cell.to_vec());
    if cells.len() < 3 {
        return Err(corrupt(no, 0, "a node that cannot hold three cells"));
    }
    // Split at the byte midpoint, both halves non-empty.
    let total: usize = cells.iter().map(|c| c.len() + 2).sum();
    let mut acc = 0;
    let mut m = 1;
    for (j, c) in cells.iter().enumerate() {
        acc += c.len() + 2;
        if acc >= total / 2 {
            m = j + 1;
            break;
        }
    }
    let m = m.clamp(1, cells.len().saturating_sub(1).max(1));
    let right = pg.alloc(if leaf { ptype::LEAF } else { ptype::BRANCH })?;
    if leaf {
        let sep = cell_key(&cells[m], true)
            .ok_or_else(|| corrupt(no, 0, "bad cell"))?
            .to_vec();
        let (l, r) = cells.split_at(m);
        if !fits(pg.page_size, l) || !fits(pg.page_size, r) {
            return Err(corrupt(no, 0, "split halves do not fit"));
        }
        page::rebuild(pg.get_mut(no)?, l, NONE);
        page::rebuild(pg.get_mut(right)?, r, NONE);
        Ok(Some((sep, right)))
    } else {
        // The middle cell moves up; its child becomes the right node's child0.
        let m = m.min(cells.len().saturating_sub(2)).max(1);
        let mid = &cells[m];
        let sep = cell_key(mid, false)
            .ok_or_else(|| corrupt(no, 0, "bad cell"))?
            .to_vec();
        let mid_child = page::rd_u32(mid, 2).unwrap_or(NONE);
        let l = &cells[..m];
        let r = &cells[m + 1..];
        if !fits(pg.page_size, l) || !fits(pg.page_size, r) {
            return Err(corrupt(no, 0, "split halves do not fit"));
        }
        page::rebuild(pg.get_mut(no)?, l, child0);
        page::rebuild(pg.get_mut(right)?, r, mid_child);
        Ok(Some((sep, right)))
    }
}

/// Removes `key`; returns the (possibly new) root and the removed value.
pub fn delete(pg: &mut Pager, root: u32, key: &[u8]) -> PResult<(u32, Option<Vec<u8>>)> {
    let old = delete_rec(pg, root, key, 0)?;
    let mut root = root;
    // A root branch without separators is replaced by its only child.
    loop {
        let n = node(pg, root)?;
        if n.is_leaf() || n.nslots() > 0 {
            break;
        }
        let child = n.child0();
        pg.free(root)?;
        root = child;
    }
    Ok((root, old))
}

fn delete_rec(pg: &mut Pager, no: u32, key: &[u8], depth: usize) -> PResult<Option<Vec<u8>>> {
    depth_check(no, depth)?;
    let (leaf, pos, ci, child) = {
        let n = node(pg, no)?;
        if n.is_leaf() {
            (true, n.search(key)?, 0, NONE)
        } else {
            let ci = n.child_index(key)?;
            (false, Err(0), ci, n.child_at(ci)?)
        }
    };
    if leaf {
        let Ok(i) = pos else { return Ok(None) };
        let cell = node(pg, no)?.cell(i)?.to_vec();
        let v = leaf_value(&cell).ok_or_else(|| corrupt(no, 0, "bad leaf cell"))?;
        let val = load_value(&*pg, v)?;
        free_cell_value(pg, &cell)?;
        page::remove_cell(no, pg.node_mut(no)?, i)?;
        return Ok(Some(val));
    }
    let r = delete_rec(pg, child, key, depth + 1)?;
    if r.is_some() {
        rebalance(pg, no, ci)?;
    }
    Ok(r)
}

/// After a delete below child `ci` of branch `no`: merges that child with a
/// sibling when it is less than a quarter full and the two fit one page.
fn rebalance(pg: &mut Pager, no: u32, ci: usize) -> PResult<()> {
    let (nchildren, child) = {
        let n = node(pg, no)?;
        (n.nslots() + 1, n.child_at(ci)?)
    };
    if node(pg, child)?.used()? * 4 >= pg.page_size || nchildren < 2 {
        return Ok(());
    }
    let (li, ri) = if ci > 0 { (ci - 1, ci) } else { (0, 1) };
    let (left, right, sep) = {
        let n = node(pg, no)?;
        (n.child_at(li)?, n.child_at(ri)?, n.key(ri - 1)?.to_vec())
    };
    let (leaf, mut cells, l0) = {
        let l = node(pg, left)?;
        (l.is_leaf(), l.cells()?, l.child0())
    };
    let (rcells, r0, rleaf) = {
        let r = node(pg, right)?;
        (r.cells()?, r.child0(), r.is_leaf())
    };
    if leaf != rleaf {
        return Err(corrupt(right, 0, "siblings at different levels"));
    }
    if !leaf {
        cells.push(branch_cell(&sep, r0));
    }
    cells.extend(rcells);
    if !fits(pg.page_size, &cells) {
        return Ok(());
    }
    page::rebuild(pg.get_mut(left)?, &cells, l0);
    pg.free(right)?;
    page::remove_cell(no, pg.node_mut(no)?, ri - 1)?;
    Ok(())
}

/// Checks a whole tree: node types, key order, separators bounding their
/// subtrees, equal leaf depth, overflow chains. Returns the entry count.
pub fn check<'a, S: PageSource<'a>>(src: S, root: u32) -> PResult<u64> {
    let mut leaf_depth = None;
    check_rec(src, root, 0, None, None, &mut leaf_depth)
}

fn check_rec<'a, S: PageSource<'a>>(
    src: S,
    no: u32,
    depth: usize,
    lo: Option<&[u8]>,
    hi: Option<&[u8]>,
    leaf_depth: &mut Option<usize>,
) -> PResult<u64> {
    depth_check(no, depth)?;
    let n = src.node(no)?;
    let mut prev: Option<&[u8]> = None;
    for i in 0..n.nslots() {
        let k = n.key(i)?;
        if prev.is_some_and(|p| p >= k) || lo.is_some_and(|l| k < l) || hi.is_some_and(|h| k >= h) {
            return Err(corrupt(no, 0, "keys out of order"));
        }
        prev = Some(k);
    }
    if n.is_leaf() {
        if *leaf_depth.get_or_insert(depth) != depth {
            return Err(corrupt(no, 0, "leaves at different depths"));
        }
        for i in 0..n.nslots() {
            if let LeafValue::Overflow { len, first } = n.value(i)? {
                for piece in read::OverflowChain::new(src, first, len) {
                    piece?;
                }
            }
        }
        return Ok(n.nslots() as u64);
    }
    let mut total = 0;
    for ci in 0..=n.nslots() {
        let clo = if ci == 0 { lo } else { Some(n.key(ci - 1)?) };
        let chi = if ci == n.nslots() {
            hi
        } else {
            Some(n.key(ci)?)
        };
        total += check_rec(src, n.child_at(ci)?, depth + 1, clo, chi, leaf_depth)?;
    }
    Ok(total)
}
