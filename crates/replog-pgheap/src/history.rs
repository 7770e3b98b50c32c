//! Columns added inside the WAL range (`ALTER TABLE … ADD COLUMN`).
//!
//! The catalog file describes the tables as they were when it was taken,
//! normally after the range; a column added inside the range did not exist
//! for the changes before it. Adding a column inserts its `pg_attribute`
//! row, a heap tuple like any other: [`AttrHistory::scan`] reads the WAL
//! once before decoding and notes, for every table of the catalog, the LSN
//! at which each attribute's row was inserted. A change at an earlier LSN
//! is then decoded with the attributes numbered below the first one added
//! after it ([`AttrHistory::columns_at`]), as the server's logical decoding
//! would describe the table then. Its schema version (RELATION
//! `schema_version`) is 1 at the start of the range (or at the table's
//! creation in the range: the transaction that inserted attribute 1) and
//! one more for each later transaction that added columns.
//!
//! The insert that counts is the last one for an attribute number (an
//! `ADD COLUMN` rolled back and done again inserts twice).

use crate::catalog::{Catalog, RelInfo};
use crate::tuple::Datum;
use replog_pgwal::WalReader;
use replog_pgwal::consts::rmgr;
use std::collections::HashMap;

/// One attribute's `pg_attribute` insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Added {
    num: i16,
    lsn: u64,
    xid: u32,
}

/// When attributes of the catalog's tables were added (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct AttrHistory {
    /// Table OID → its attributes' `pg_attribute` inserts, by LSN.
    added: HashMap<u32, Vec<Added>>,
}

impl AttrHistory {
    /// Reads `reader` to its end (or first error: the decoding pass reports
    /// it) and notes the `pg_attribute` inserts of `catalog`'s tables.
    pub fn scan(mut reader: WalReader, catalog: &Catalog) -> AttrHistory {
        let mut h = AttrHistory::default();
        let Some(pg_attribute) = catalog
            .relations
            .iter()
            .find(|r| r.is_system() && r.name == "pg_attribute")
        else {
            return h;
        };
        let pos = |n: &str| pg_attribute.attrs.iter().position(|a| a.name == n);
        let (Some(relid_at), Some(num_at)) = (pos("attrelid"), pos("attnum")) else {
            return h;
        };
        let loc = pg_attribute.locator();
        let mut page = Vec::new();
        while let Ok(Some(rec)) = reader.next_record() {
            if !matches!(rec.header.rmid, rmgr::HEAP | rmgr::HEAP2)
                || !rec.block_headers.iter().any(|b| b.rel == loc)
            {
                continue;
            }
            let (lsn, xid) = (rec.lsn.0, rec.header.xid);
            let _ = crate::heap::changes(&rec, &mut page, |c| {
                let crate::heap::Change::Insert { rel, new, .. } = c else {
                    return Ok(());
                };
                let mut datums = Vec::new();
                if rel != loc || new.datums(pg_attribute, &mut datums).is_err() {
                    return Ok(());
                }
                let fixed = |i: usize| match datums.get(i) {
                    Some(Datum::Fixed(b)) => Some(*b),
                    _ => None,
                };
                let (Some(relid), Some(num)) = (fixed(relid_at), fixed(num_at)) else {
                    return Ok(());
                };
                let (Ok(relid), Ok(num)) = (<[u8; 4]>::try_from(relid), <[u8; 2]>::try_from(num))
                else {
                    return Ok(());
                };
                let num = i16::from_le_bytes(num);
                h.note(u32::from_le_bytes(relid), num, lsn, xid, catalog);
                Ok(())
            });
        }
        h
    }

    /// Notes that attribute `num` of table `relid` was inserted at `lsn`
    /// by transaction `xid`.
    pub fn note(&mut self, relid: u32, num: i16, lsn: u64, xid: u32, catalog: &Catalog) {
        let user_table = catalog
            .by_oid(relid)
            .is_some_and(|r| !r.is_system() && r.relkind != b't');
        if num <= 0 || !user_table {
            return;
        }
        let v = self.added.entry(relid).or_default();
        match v.iter_mut().find(|a| a.num == num) {
            Some(e) if e.lsn < lsn => (e.lsn, e.xid) = (lsn, xid),
            Some(_) => {}
            None => v.push(Added { num, lsn, xid }),
        }
        v.sort_by_key(|a| a.lsn);
    }

    /// Attribute numbers of table `relid` added inside the range (after
    /// its creation, when it was created in the range).
    pub fn added_columns(&self, relid: u32) -> Vec<i16> {
        let Some(v) = self.added.get(&relid) else {
            return Vec::new();
        };
        let created = v.iter().find(|a| a.num == 1).map(|a| a.xid);
        v.iter()
            .filter(|a| Some(a.xid) != created)
            .map(|a| a.num)
            .collect()
    }

    /// The table's schema version at `lsn` and how many of its attributes
    /// (in `attnum` order) existed then; `None` for the count when all did.
    pub fn columns_at(&self, relid: u32, lsn: u64) -> (u32, Option<usize>) {
        let Some(v) = self.added.get(&relid) else {
            return (1, None);
        };
        let created = v.iter().find(|a| a.num == 1).map(|a| a.xid);
        // Transactions that added columns up to `lsn`, a run of inserts of
        // one transaction counted once (no allocation: this is per change).
        let mut steps = 0u32;
        let mut last = None;
        for a in v.iter().filter(|a| a.lsn <= lsn && Some(a.xid) != created) {
            if last != Some(a.xid) {
                steps = steps.saturating_add(1);
                last = Some(a.xid);
            }
        }
        let first_missing = v.iter().filter(|a| a.lsn > lsn).map(|a| a.num).min();
        let version = 1u32.saturating_add(steps);
        (version, first_missing.map(|n| (n - 1) as usize))
    }

    /// `r` as it was at `lsn`: its schema version and, when columns were
    /// added later, a copy without them.
    pub fn relation_at<'r>(
        &self,
        r: &'r RelInfo,
        lsn: u64,
    ) -> (u32, std::borrow::Cow<'r, RelInfo>) {
        match self.columns_at(r.oid, lsn) {
            (v, None) => (v, std::borrow::Cow::Borrowed(r)),
            (v, Some(n)) => {
                let mut c = r.clone();
                c.attrs.truncate(n);
                let live = |a: &i16| usize::try_from(*a).is_ok_and(|a| a <= n);
                c.ident.retain(live);
                c.pkey.retain(live);
                (v, std::borrow::Cow::Owned(c))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_added_later_are_left_out_before_their_insert() {
        let mut h = AttrHistory::default();
        let add = |num, lsn, xid| Added { num, lsn, xid };
        // Created in the range by xid 5 (two attributes in one record),
        // then a column added by xid 6 and one by xid 9.
        h.added.insert(
            7,
            vec![add(1, 10, 5), add(2, 10, 5), add(3, 100, 6), add(4, 200, 9)],
        );
        assert_eq!(h.columns_at(7, 5), (1, Some(0)));
        assert_eq!(h.columns_at(7, 50), (1, Some(2)));
        assert_eq!(h.columns_at(7, 100), (2, Some(3)));
        assert_eq!(h.columns_at(7, 150), (2, Some(3)));
        assert_eq!(h.columns_at(7, 200), (3, None));
        assert_eq!(h.columns_at(8, 0), (1, None));
        assert_eq!(h.added_columns(7), [3, 4]);
        assert!(h.added_columns(8).is_empty());
    }
}
