//! The one reorder buffer of replog's PostgreSQL sources.
//!
//! A PostgreSQL change stream interleaves transactions: heap WAL holds
//! every backend's records as they were written, and a logical decoding
//! stream holds streamed transactions in blocks and prepared transactions
//! until they commit. Both sources encode each change as it is read
//! (a logical record body) and keep it with its transaction until the
//! transaction commits or rolls back, as PostgreSQL's own reorder buffer
//! (`reorderbuffer.c`) does.
//!
//! [`Reorder`] holds those transactions by xid, open ones and prepared
//! ones. Each is a [`Txn`]: its entries (a source's metadata `M` and where
//! the encoded bytes are) and a [`spill::SpillBuf`] of the bytes, plus
//! whatever else the source keeps per transaction (`X`). When the bytes
//! held in memory by all of them exceed the limit ([`DEFAULT_LIMIT`],
//! 256 MiB, or [`Reorder::set_limit`]), the largest in-memory parts move to
//! temporary files. A transaction taken out at its commit is read back
//! record by record ([`Txn::into_records`]: its file through a window of
//! [`spill::READ_WINDOW`] bytes), or whole ([`Txn::into_parts`]). Memory is
//! so bounded by the limit plus the window (and each entry's few bytes of
//! metadata), or plus the transaction when it is read back whole.
//!
//! ```
//! use replog_pgreorder::Reorder;
//!
//! let mut r: Reorder<u64, ()> = Reorder::new();
//! r.set_limit(4);
//! r.push(7, 100, |b| { b.extend_from_slice(b"abc"); Ok::<_, ()>(()) }).unwrap();
//! r.push(7, 101, |b| { b.extend_from_slice(b"de"); Ok::<_, ()>(()) }).unwrap();
//! assert_eq!(r.stats().spilled_bytes, 5);
//! let (entries, _, bytes) = r.take(7).unwrap().into_parts().unwrap();
//! let bodies: Vec<_> = entries.iter().map(|e| (e.meta, e.body(&bytes).unwrap())).collect();
//! assert_eq!(bodies, [(100, &b"abc"[..]), (101, &b"de"[..])]);
//! ```
#![deny(missing_docs)]

pub mod spill;

use spill::{SpillBuf, SpillReader};
use std::collections::HashMap;

/// The default limit of bytes buffered in memory for open transactions.
pub const DEFAULT_LIMIT: usize = 256 << 20;

/// One buffered record: the source's metadata and where its bytes are.
#[derive(Debug, Clone, Copy)]
pub struct Entry<M> {
    /// The source's metadata (LSN, relation, …).
    pub meta: M,
    start: u64,
    len: u32,
}

impl<M> Entry<M> {
    /// Its bytes in the transaction's bytes ([`Txn::into_parts`]); `None`
    /// when they are not there.
    pub fn body<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        bytes.get(self.range()?)
    }

    /// Where its bytes are in the transaction's bytes
    /// ([`Txn::into_parts`]); `None` when that is beyond memory.
    pub fn range(&self) -> Option<std::ops::Range<usize>> {
        let start = usize::try_from(self.start).ok()?;
        Some(start..start.checked_add(self.len as usize)?)
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether it has no byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Where a transaction stood ([`Txn::mark`]), to roll back to
/// ([`Reorder::truncate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    entries: usize,
    bytes: u64,
}

/// One transaction's records and the source's own state `X`.
#[derive(Debug)]
pub struct Txn<M, X> {
    entries: Vec<Entry<M>>,
    bytes: SpillBuf,
    /// The source's own state of the transaction.
    pub extra: X,
}

impl<M, X: Default> Default for Txn<M, X> {
    fn default() -> Self {
        Txn {
            entries: Vec::new(),
            bytes: SpillBuf::default(),
            extra: X::default(),
        }
    }
}

impl<M, X> Txn<M, X> {
    /// The entries, in the order they were pushed.
    pub fn entries(&self) -> &[Entry<M>] {
        &self.entries
    }

    /// The entries' metadata, to change (their bytes stay).
    pub fn metas_mut(&mut self) -> impl Iterator<Item = &mut M> {
        self.entries.iter_mut().map(|e| &mut e.meta)
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held in memory.
    pub fn in_memory(&self) -> usize {
        self.bytes.in_memory()
    }

    /// Bytes moved to its temporary file.
    pub fn spilled(&self) -> u64 {
        self.bytes.spilled()
    }

    /// Where it stands now.
    pub fn mark(&self) -> Mark {
        Mark {
            entries: self.entries.len(),
            bytes: self.bytes.len(),
        }
    }

    /// Appends `other`'s entries and bytes after its own (reading
    /// `other`'s file back unless `self` is empty); `other`'s state is
    /// given back to merge.
    pub fn append(&mut self, other: Txn<M, X>) -> std::io::Result<X> {
        let base = self.bytes.len();
        self.bytes.append(other.bytes)?;
        self.entries.extend(other.entries.into_iter().map(|mut e| {
            e.start += base;
            e
        }));
        Ok(other.extra)
    }

    /// Its records, to read back one at a time in the order of
    /// [`Records::entries_mut`] (pushed order unless changed), and its
    /// state.
    pub fn into_records(self) -> (Records<M>, X) {
        (
            Records {
                entries: self.entries,
                next: 0,
                bytes: SpillReader::new(self.bytes),
            },
            self.extra,
        )
    }

    /// Its entries, its state and all its bytes in memory (its file read
    /// back): each entry's [`Entry::body`] is in the bytes.
    pub fn into_parts(self) -> std::io::Result<(Vec<Entry<M>>, X, Vec<u8>)> {
        let bytes = self.bytes.into_vec()?;
        Ok((self.entries, self.extra, bytes))
    }
}

/// A transaction's records read back one at a time ([`Txn::into_records`]):
/// from memory, or from its temporary file through a bounded window.
#[derive(Debug)]
pub struct Records<M> {
    entries: Vec<Entry<M>>,
    next: usize,
    bytes: SpillReader,
}

impl<M: Clone> Records<M> {
    /// Records of one body held in memory, with `meta`.
    pub fn single(meta: M, body: Vec<u8>) -> Records<M> {
        let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
        let mut buf = SpillBuf::default();
        *buf.tail() = body;
        Records {
            entries: vec![Entry {
                meta,
                start: 0,
                len,
            }],
            next: 0,
            bytes: SpillReader::new(buf),
        }
    }

    /// The entries not read yet, to reorder or filter before reading.
    pub fn entries_mut(&mut self) -> &mut Vec<Entry<M>> {
        if self.next > 0 {
            self.entries.drain(..self.next);
            self.next = 0;
        }
        &mut self.entries
    }

    /// Records not read yet.
    pub fn remaining(&self) -> usize {
        self.entries.len() - self.next
    }

    /// Bytes of the transaction in its temporary file (0: all in memory).
    pub fn spilled(&self) -> u64 {
        self.bytes.spilled()
    }

    /// The next record: its metadata and body; an error when its bytes
    /// cannot be read back (the file shorter than written, or the entry
    /// beyond the buffer).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<std::io::Result<(M, &[u8])>> {
        let e = self.entries.get(self.next)?;
        let (meta, start, len) = (e.meta.clone(), e.start, e.len());
        self.next += 1;
        Some(self.bytes.get(start, len).map(|b| (meta, b)))
    }
}

/// Why [`Reorder::push`] failed.
#[derive(Debug)]
pub enum PushError<E> {
    /// The record could not be encoded (nothing was added).
    Encode(E),
    /// A temporary file could not be written (the record was added).
    Spill(std::io::Error),
}

/// What spilling did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpillStats {
    /// Bytes moved to temporary files.
    pub spilled_bytes: u64,
    /// Transactions (partly) moved to temporary files.
    pub spilled_transactions: u64,
    /// The most bytes held in memory at once (after spilling).
    pub peak_buffered: u64,
}

/// Open and prepared transactions by xid (see the crate docs).
#[derive(Debug)]
pub struct Reorder<M, X> {
    open: HashMap<u32, Txn<M, X>>,
    prepared: HashMap<u32, Txn<M, X>>,
    /// Bytes held in memory by the transactions in the two maps.
    buffered: usize,
    limit: usize,
    stats: SpillStats,
}

impl<M, X: Default> Default for Reorder<M, X> {
    fn default() -> Self {
        Reorder::new()
    }
}

impl<M, X: Default> Reorder<M, X> {
    /// An empty buffer with the default limit.
    pub fn new() -> Reorder<M, X> {
        Reorder {
            open: HashMap::new(),
            prepared: HashMap::new(),
            buffered: 0,
            limit: DEFAULT_LIMIT,
            stats: SpillStats::default(),
        }
    }

    /// Holds at most `bytes` of the transactions' records in memory;
    /// beyond, the largest in-memory parts go to temporary files.
    pub fn set_limit(&mut self, bytes: usize) {
        self.limit = bytes;
    }

    /// What spilling did so far.
    pub fn stats(&self) -> SpillStats {
        self.stats
    }

    /// Open transaction `xid`, opened (empty) when it is not.
    pub fn open(&mut self, xid: u32) -> &mut Txn<M, X> {
        self.open.entry(xid).or_default()
    }

    /// Open transaction `xid`, if it is.
    pub fn get(&self, xid: u32) -> Option<&Txn<M, X>> {
        self.open.get(&xid)
    }

    /// Open transaction `xid`, if it is (to change its state; records are
    /// added by [`Reorder::push`]).
    pub fn get_mut(&mut self, xid: u32) -> Option<&mut Txn<M, X>> {
        self.open.get_mut(&xid)
    }

    /// Whether `xid` is open.
    pub fn is_open(&self, xid: u32) -> bool {
        self.open.contains_key(&xid)
    }

    /// Open and prepared transactions.
    pub fn len(&self) -> usize {
        self.open.len() + self.prepared.len()
    }

    /// Whether no transaction is open or prepared.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a record with `meta`, encoded by `encode`, to transaction
    /// `xid` (opened when it is not); returns its length. Spills when
    /// memory exceeds the limit.
    pub fn push<E>(
        &mut self,
        xid: u32,
        meta: M,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<usize, PushError<E>> {
        let t = self.open.entry(xid).or_default();
        let start = t.bytes.len();
        let tail = t.bytes.tail();
        let before = tail.len();
        if let Err(e) = encode(tail) {
            tail.truncate(before);
            return Err(PushError::Encode(e));
        }
        let n = tail.len() - before;
        t.entries.push(Entry {
            meta,
            start,
            len: u32::try_from(n).unwrap_or(u32::MAX),
        });
        self.grew(n).map_err(PushError::Spill)?;
        Ok(n)
    }

    /// Rolls open transaction `xid` back to `mark`: the entries and bytes
    /// pushed since are dropped.
    pub fn truncate(&mut self, xid: u32, mark: Mark) -> std::io::Result<()> {
        let Some(t) = self.open.get_mut(&xid) else {
            return Ok(());
        };
        let before = t.bytes.in_memory();
        t.entries.truncate(mark.entries);
        let r = t.bytes.truncate(mark.bytes);
        self.buffered = self
            .buffered
            .saturating_sub(before.saturating_sub(t.bytes.in_memory()));
        r
    }

    /// Takes open transaction `xid` out.
    pub fn take(&mut self, xid: u32) -> Option<Txn<M, X>> {
        let t = self.open.remove(&xid)?;
        self.released(&t);
        Some(t)
    }

    /// Keeps `t` as prepared transaction `xid` (replacing one prepared
    /// under the same xid). Spills when memory exceeds the limit.
    pub fn prepare(&mut self, xid: u32, t: Txn<M, X>) -> std::io::Result<()> {
        let n = t.bytes.in_memory();
        if let Some(old) = self.prepared.insert(xid, t) {
            self.released(&old);
        }
        self.grew(n)
    }

    /// Takes prepared transaction `xid` out.
    pub fn take_prepared(&mut self, xid: u32) -> Option<Txn<M, X>> {
        let t = self.prepared.remove(&xid)?;
        self.released(&t);
        Some(t)
    }

    /// Counts `n` more bytes in memory and spills the largest in-memory
    /// parts while the total exceeds the limit.
    fn grew(&mut self, n: usize) -> std::io::Result<()> {
        self.buffered += n;
        while self.buffered > self.limit {
            let Some(t) = self
                .open
                .values_mut()
                .chain(self.prepared.values_mut())
                .max_by_key(|t| t.bytes.in_memory())
            else {
                break;
            };
            if t.bytes.in_memory() == 0 {
                break;
            }
            if t.bytes.spilled() == 0 {
                self.stats.spilled_transactions += 1;
            }
            let moved = t.bytes.spill()?;
            self.buffered = self.buffered.saturating_sub(moved);
            self.stats.spilled_bytes += moved as u64;
        }
        self.stats.peak_buffered = self.stats.peak_buffered.max(self.buffered as u64);
        Ok(())
    }

    /// A transaction leaves the maps: its bytes no longer count.
    fn released(&mut self, t: &Txn<M, X>) {
        debug_assert!(self.buffered >= t.bytes.in_memory());
        self.buffered = self.buffered.saturating_sub(t.bytes.in_memory());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(r: &mut Reorder<u32, ()>, xid: u32, meta: u32, body: &[u8]) {
        r.push(xid, meta, |b| {
            b.extend_from_slice(body);
            Ok::<_, ()>(())
        })
        .unwrap();
    }

    fn bodies(t: Txn<u32, ()>) -> Vec<(u32, Vec<u8>)> {
        let (entries, (), bytes) = t.into_parts().unwrap();
        entries
            .iter()
            .map(|e| (e.meta, e.body(&bytes).unwrap().to_vec()))
            .collect()
    }

    /// The same pushes, truncations, merges and preparations at every
    /// limit give the same transactions; the small limits spill.
    #[test]
    fn every_limit_gives_the_same_transactions() {
        let run = |limit: usize| {
            let mut r: Reorder<u32, ()> = Reorder::new();
            r.set_limit(limit);
            push(&mut r, 1, 10, b"one");
            push(&mut r, 2, 20, b"two-two");
            let m = r.get(1).unwrap().mark();
            push(&mut r, 1, 11, b"rolled back");
            push(&mut r, 2, 21, b"2");
            r.truncate(1, m).unwrap();
            push(&mut r, 1, 12, b"kept");
            push(&mut r, 3, 30, b"sub of 2");
            let sub = r.take(3).unwrap();
            let mut two = r.take(2).unwrap();
            two.append(sub).unwrap();
            r.prepare(2, two).unwrap();
            push(&mut r, 1, 13, b"last");
            let one = bodies(r.take(1).unwrap());
            let two = bodies(r.take_prepared(2).unwrap());
            assert!(r.is_empty());
            assert_eq!(r.buffered, 0);
            (one, two, r.stats())
        };
        let (one, two, stats) = run(DEFAULT_LIMIT);
        assert_eq!(stats.spilled_bytes, 0);
        assert_eq!(
            one,
            [
                (10, b"one".to_vec()),
                (12, b"kept".to_vec()),
                (13, b"last".to_vec())
            ]
        );
        assert_eq!(
            two,
            [
                (20, b"two-two".to_vec()),
                (21, b"2".to_vec()),
                (30, b"sub of 2".to_vec())
            ]
        );
        for limit in [0, 1, 4, 8, 16] {
            let (o, t, s) = run(limit);
            assert!(s.spilled_bytes > 0, "limit {limit}");
            assert!(s.peak_buffered <= limit as u64, "{s:?}");
            assert_eq!((&o, &t), (&one, &two), "limit {limit}");
        }
    }

    /// Read back one at a time, a spilled transaction gives the bodies it
    /// gives whole, in any order of its entries.
    #[test]
    fn records_read_back_one_at_a_time_equal_the_whole() {
        let build = |limit: usize| {
            let mut r: Reorder<u32, ()> = Reorder::new();
            r.set_limit(limit);
            for i in 0..200u32 {
                let body: Vec<u8> = (0..i % 13).map(|j| (i + j) as u8).collect();
                push(&mut r, 1 + i % 2, i, &body);
            }
            let two = r.take(2).unwrap();
            let mut one = r.take(1).unwrap();
            one.append(two).unwrap();
            one
        };
        let mut want = bodies(build(DEFAULT_LIMIT));
        assert_eq!(want.len(), 200);
        want.sort_by_key(|w| std::cmp::Reverse(w.0));
        for limit in [0, 7, DEFAULT_LIMIT] {
            let (mut recs, ()) = build(limit).into_records();
            assert_eq!(recs.spilled() > 0, limit < DEFAULT_LIMIT, "limit {limit}");
            recs.entries_mut()
                .sort_by_key(|e| std::cmp::Reverse(e.meta));
            let mut got = Vec::new();
            while let Some(x) = recs.next() {
                let (m, b) = x.unwrap();
                got.push((m, b.to_vec()));
            }
            assert_eq!(got, want, "limit {limit}");
            assert_eq!(recs.remaining(), 0);
        }
        let mut one = Records::single(5u32, b"body".to_vec());
        assert_eq!(one.next().unwrap().unwrap(), (5, &b"body"[..]));
        assert!(one.next().is_none());
    }

    #[test]
    fn a_failed_encoding_adds_nothing() {
        let mut r: Reorder<u32, ()> = Reorder::new();
        push(&mut r, 1, 1, b"a");
        let e = r.push(1, 2, |b| {
            b.extend_from_slice(b"partial");
            Err("bad")
        });
        assert!(matches!(e, Err(PushError::Encode("bad"))));
        assert_eq!(bodies(r.take(1).unwrap()), [(1, b"a".to_vec())]);
    }
}
