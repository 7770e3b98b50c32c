//! Relation files that change inside the WAL range: `pg_class` rows are
//! themselves heap tuples, so a table created, truncated or rewritten in
//! the range shows its new `relfilenode` in a `pg_class` INSERT or UPDATE.
//!
//! The catalog file describes the tables at the time it was taken (usually
//! after the range), so a table truncated in the range has, before the
//! TRUNCATE, a file the catalog does not name. [`RelMap`] follows
//! `pg_class`'s tuples through the WAL (from full-page images and from
//! INSERT / UPDATE / HOT_UPDATE records, rebuilding prefix/suffix
//! compressed updates from the old tuple) and maps every file a table of
//! the catalog had to that table's OID.
//!
//! `pg_class` is a system catalog, so its records carry the tuple data
//! only when the page has no image in the record, and its updates may be
//! compressed against the old tuple: the old tuple must have been seen
//! (an image of its page after a checkpoint, or its own record). Decoding
//! from a checkpoint's redo point guarantees that.

use crate::catalog::{Catalog, RelInfo};
use crate::tuple::{Datum, HeapTuple, T_BITS_OFFSET};
use replog_pgwal::Record;
use replog_pgwal::consts::rmgr;
use std::collections::HashMap;

/// Follows `pg_class` (see the module docs).
#[derive(Debug, Default)]
pub struct RelMap {
    /// `pg_class`'s file and layout (None: the catalog has no pg_class).
    pg_class: Option<RelInfo>,
    /// Index of the `oid` and `relfilenode` attributes.
    oid_at: usize,
    relfilenode_at: usize,
    /// Index of `relrewrite` (11 and later).
    relrewrite_at: Option<usize>,
    /// Files that belong, as last seen, to the transient table of a
    /// rewrite (`relrewrite` set: ALTER COLUMN TYPE, ADD COLUMN with a
    /// volatile default, …) until the rewritten table takes them over.
    rewriting: std::collections::HashSet<u32>,
    /// Tuples of `pg_class` by (block, offset): whole on-page tuples.
    tuples: HashMap<(u32, u16), Vec<u8>>,
    /// Relation file number → relation OID, as seen in the range.
    files: HashMap<u32, u32>,
    page: Vec<u8>,
}

impl RelMap {
    /// Follows the `pg_class` of `catalog`.
    pub fn new(catalog: &Catalog) -> RelMap {
        let pg_class = catalog
            .relations
            .iter()
            .find(|r| r.is_system() && r.name == "pg_class")
            .cloned();
        let pos = |name: &str| {
            pg_class
                .as_ref()
                .and_then(|r| r.attrs.iter().position(|a| a.name == name))
        };
        match (pos("oid"), pos("relfilenode")) {
            (Some(oid_at), Some(relfilenode_at)) => RelMap {
                relrewrite_at: pos("relrewrite"),
                pg_class,
                oid_at,
                relfilenode_at,
                ..RelMap::default()
            },
            _ => RelMap::default(),
        }
    }

    /// The OID of the relation whose file was `rel` (in the database and
    /// tablespace the catalog gives that relation).
    pub fn oid_of(&self, rel: u32) -> Option<u32> {
        self.files.get(&rel).copied()
    }

    /// Whether file `rel` is, now, the file of a rewrite's transient table:
    /// rows written to it are the rewrite's copies, no row change (logical
    /// decoding skips them too).
    pub fn is_rewriting(&self, rel: u32) -> bool {
        self.rewriting.contains(&rel)
    }

    /// Looks at a record: refreshes the tuples of `pg_class` pages it has
    /// images of, and follows a `pg_class` INSERT or UPDATE. Damage in
    /// `pg_class` records is not fatal: the rows of the tables concerned
    /// are then reported as not in the catalog.
    pub fn observe(&mut self, rec: &Record<'_>) {
        let Some(pg_class) = &self.pg_class else {
            return;
        };
        let loc = pg_class.locator();
        if !rec
            .block_headers
            .iter()
            .any(|b| b.rel == loc && b.fork == 0)
        {
            return;
        }
        for b in rec.blocks() {
            if b.header.rel != loc || b.header.fork != 0 {
                continue;
            }
            if let (Some(h), Some(stored)) = (&b.header.image, b.image) {
                if replog_pgwal::image::restore_page(h, stored, rec.block_size, &mut self.page)
                    .is_ok()
                {
                    let blk = b.header.block;
                    self.tuples.retain(|(bl, _), _| *bl != blk);
                    for (off, item) in page_items(&self.page) {
                        self.tuples.insert((blk, off), item.to_vec());
                    }
                }
            }
        }
        if rec.header.rmid != rmgr::HEAP {
            return;
        }
        let Some(b0) = rec.block(0) else { return };
        if b0.header.rel != loc {
            return;
        }
        let d = rec.main_data();
        let new = match rec.header.info & 0x70 {
            0x00 => {
                let Some(off) = u16_at(d, 0) else { return };
                let key = (b0.header.block, off);
                if !b0.data.is_empty() {
                    if let Some(t) = rebuild(b0.data, None) {
                        self.tuples.insert(key, t);
                    }
                }
                key
            }
            0x20 | 0x40 => {
                let (Some(old_off), Some(new_off), Some(&flags)) =
                    (u16_at(d, 4), u16_at(d, 12), d.get(7))
                else {
                    return;
                };
                let key = (b0.header.block, new_off);
                if !b0.data.is_empty() {
                    let old_blk = rec.block(1).map_or(b0.header.block, |b| b.header.block);
                    let old = self.tuples.get(&(old_blk, old_off));
                    match rebuild_update(b0.data, flags, old.map(Vec::as_slice)) {
                        Some(t) => {
                            self.tuples.insert(key, t);
                        }
                        None => return,
                    }
                }
                key
            }
            _ => return,
        };
        if let Some((oid, file, rewrite)) = self.decode(new) {
            if file != 0 {
                self.files.insert(file, oid);
                if rewrite {
                    self.rewriting.insert(file);
                } else {
                    self.rewriting.remove(&file);
                }
            }
        }
    }

    /// The OID, the file and whether `relrewrite` is set.
    fn decode(&self, key: (u32, u16)) -> Option<(u32, u32, bool)> {
        let t = HeapTuple::from_page_item(self.tuples.get(&key)?)?;
        let mut datums = Vec::new();
        t.datums(self.pg_class.as_ref()?, &mut datums).ok()?;
        let u = |d: Option<&Datum<'_>>| match d {
            Some(Datum::Fixed(b)) => Some(u32::from_le_bytes((*b).try_into().ok()?)),
            _ => None,
        };
        let rewrite = self
            .relrewrite_at
            .and_then(|i| u(datums.get(i)))
            .is_some_and(|r| r != 0);
        Some((
            u(datums.get(self.oid_at))?,
            u(datums.get(self.relfilenode_at))?,
            rewrite,
        ))
    }
}

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

/// The normal items of a heap page: (offset number, item bytes).
fn page_items(page: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let lower = u16_at(page, 12).map_or(24, usize::from);
    let n = lower.saturating_sub(24) / 4;
    (0..n).filter_map(move |i| {
        let lp = 24 + 4 * i;
        let w = u32::from_le_bytes(page.get(lp..lp + 4)?.try_into().ok()?);
        let (off, flags, len) = ((w & 0x7FFF) as usize, (w >> 15) & 3, (w >> 17) as usize);
        if flags != 1 || len < T_BITS_OFFSET {
            return None;
        }
        Some((u16::try_from(i + 1).ok()?, page.get(off..off + len)?))
    })
}

/// A whole on-page tuple from `xl_heap_header` + the bytes from `t_bits`
/// (`data`), with `middle` replacing the user data when given.
fn rebuild(data: &[u8], user: Option<&[u8]>) -> Option<Vec<u8>> {
    let t = HeapTuple::from_header(data)?;
    let mut v = vec![0u8; T_BITS_OFFSET];
    v[18..20].copy_from_slice(&t.infomask2.to_le_bytes());
    v[20..22].copy_from_slice(&t.infomask.to_le_bytes());
    v[22] = t.hoff;
    match user {
        None => v.extend_from_slice(t.bytes),
        Some(u) => {
            let bitmap = t
                .bytes
                .get(..usize::from(t.hoff).checked_sub(T_BITS_OFFSET)?)?;
            v.extend_from_slice(bitmap);
            v.extend_from_slice(u);
        }
    }
    Some(v)
}

/// The new tuple of an UPDATE's block 0 data, its prefix and suffix taken
/// from `old` (a whole on-page tuple) when the record compressed them away.
fn rebuild_update(data: &[u8], flags: u8, old: Option<&[u8]>) -> Option<Vec<u8>> {
    let mut at = 0;
    let mut prefix = 0usize;
    let mut suffix = 0usize;
    if flags & 0x20 != 0 {
        prefix = usize::from(u16_at(data, at)?);
        at += 2;
    }
    if flags & 0x40 != 0 {
        suffix = usize::from(u16_at(data, at)?);
        at += 2;
    }
    let data = data.get(at..)?;
    if prefix == 0 && suffix == 0 {
        return rebuild(data, None);
    }
    let old = HeapTuple::from_page_item(old?)?;
    let old_user = old.data().ok()?;
    let t = HeapTuple::from_header(data)?;
    let middle = t
        .bytes
        .get(usize::from(t.hoff).checked_sub(T_BITS_OFFSET)?..)?;
    let mut user = Vec::with_capacity(prefix + middle.len() + suffix);
    user.extend_from_slice(old_user.get(..prefix)?);
    user.extend_from_slice(middle);
    user.extend_from_slice(old_user.get(old_user.len().checked_sub(suffix)?..)?);
    rebuild(data, Some(&user))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole on-page tuple: header (t_hoff 24, no nulls) and user data.
    fn on_page(user: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 24];
        v[18..20].copy_from_slice(&3u16.to_le_bytes());
        v[22] = 24;
        v.extend_from_slice(user);
        v
    }

    #[test]
    fn rebuilds_prefix_and_suffix_compressed_updates() {
        let old: Vec<u8> = (0u8..40).collect();
        let mut new = old.clone();
        new[10..14].copy_from_slice(&[0xAA, 0xBB, 0xCC, 0xDD]);
        // As PostgreSQL logs it: prefix 10, suffix 26, then xl_heap_header,
        // the bitmap part (t_hoff - 23 = 1 byte), the changed middle.
        let mut data = Vec::new();
        data.extend_from_slice(&10u16.to_le_bytes());
        data.extend_from_slice(&26u16.to_le_bytes());
        data.extend_from_slice(&3u16.to_le_bytes());
        data.extend_from_slice(&0u16.to_le_bytes());
        data.push(24);
        data.push(0);
        data.extend_from_slice(&new[10..14]);
        let got = rebuild_update(&data, 0x60, Some(&on_page(&old))).expect("rebuilt");
        assert_eq!(got, on_page(&new));
        // Without the old tuple, or with one too short, nothing is made up.
        assert_eq!(rebuild_update(&data, 0x60, None), None);
        assert_eq!(
            rebuild_update(&data, 0x60, Some(&on_page(&old[..20]))),
            None
        );
    }

    #[test]
    fn lists_the_normal_items_of_a_page() {
        let mut page = vec![0u8; 8192];
        let item = on_page(&[1, 2, 3, 4]);
        let at = 8192 - item.len();
        page[at..].copy_from_slice(&item);
        // pd_lower after two line pointers: one unused, one normal.
        page[12..14].copy_from_slice(&32u16.to_le_bytes());
        let lp = (at as u32) | (1 << 15) | ((item.len() as u32) << 17);
        page[28..32].copy_from_slice(&lp.to_le_bytes());
        let items: Vec<_> = page_items(&page).collect();
        assert_eq!(items, vec![(2u16, &item[..])]);
    }
}
