//! B+tree splits and merges with many keys, overflow rows, the free list,
//! refusal of a WAL of another page format or page size, torn tails and
//! uncommitted tails, a no-panic smoke test of the WAL reader path, and the
//! page readers over every page source.

mod common;

use common::*;
use replog_core::segment::{HEADER_LEN, SegmentHeader};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, ErrorKind, Value};
use replog_pagestore::{Options, PageFile, PageList, PageSource, PageStore, btree, catalog, page};
use replog_physical::{DeltaRange, PageRef, encode_delta, encode_image, page::page_lsn};
use replog_store::{Storage, TableId};
use replog_test_support::SmokeRng;

fn store_with_table(page_size: usize) -> (PageStore, TableId) {
    let mut p = PageStore::new(Options::with_page_size(page_size)).unwrap();
    p.create_database("d").unwrap();
    let id = p.create_table(table_a("d", "t")).unwrap();
    p.commit().unwrap();
    (p, id)
}

fn row(i: i64, body_len: usize) -> Vec<Value<'static>> {
    vec![
        Value::Int(i),
        text(format!("code{i}")),
        text("b".repeat(body_len)),
    ]
}

fn key(p: &PageStore, id: TableId, i: i64) -> Vec<u8> {
    replog_store::storage::primary_key(p.def(id).unwrap(), &row(i, 0))
}

#[test]
fn splits_and_merges_with_many_keys() {
    let (mut p, id) = store_with_table(512);
    let mut rng = SmokeRng::new(42);
    let mut order: Vec<i64> = (0..4000).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for (n, &i) in order.iter().enumerate() {
        p.insert(id, row(i, 20)).unwrap();
        if n % 500 == 499 {
            p.commit().unwrap();
        }
    }
    p.commit().unwrap();
    p.verify().unwrap();
    let full = p.page_count();
    assert!(full > 300, "{full} pages for 4000 rows of 512-byte pages");
    let keys = p.keys(id);
    assert_eq!(keys.len(), 4000);
    assert!(keys.windows(2).all(|w| w[0] < w[1]));

    // Delete everything in another random order: merges and root collapse.
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for (n, &i) in order.iter().enumerate() {
        let k = key(&p, id, i);
        assert_eq!(p.delete(id, &k).unwrap(), row(i, 20));
        if n % 700 == 0 {
            p.commit().unwrap();
            p.verify().unwrap();
        }
    }
    p.commit().unwrap();
    p.verify().unwrap();
    assert_eq!(p.row_count(id), 0);
    assert_eq!(p.digest(id), 0);

    // Every page went back to the free list: refilling allocates nothing new.
    for &i in &order {
        p.insert(id, row(i, 20)).unwrap();
    }
    p.commit().unwrap();
    assert_eq!(p.page_count(), full, "free pages are reused");

    let (q, _) =
        PageStore::from_wal_bytes(p.wal_bytes().unwrap(), &Options::with_page_size(512)).unwrap();
    assert_eq!(q.committed_pages(), p.committed_pages());
    assert_eq!(q.keys(id), p.keys(id));
}

#[test]
fn overflow_rows_round_trip_and_free_their_pages() {
    let (mut p, id) = store_with_table(4096);
    // ~70 KiB, like the MEDIUMTEXT of the types fixture, and bigger.
    for (i, n) in [(1, 70_000), (2, 300_000), (3, 4000), (4, 10)] {
        p.insert(id, row(i, n)).unwrap();
    }
    p.commit().unwrap();
    let pages = p.page_count();
    assert!(pages > 90, "{pages}");
    assert_eq!(p.get(id, &key(&p, id, 2)), Some(row(2, 300_000)));
    // Replace the large values: old chains are freed and reused.
    for _ in 0..5 {
        p.update(id, &key(&p, id, 2), row(2, 299_000)).unwrap();
        p.update(id, &key(&p, id, 1), row(1, 71_000)).unwrap();
        p.commit().unwrap();
    }
    assert!(p.page_count() <= pages + 2, "{} > {pages}", p.page_count());
    p.verify().unwrap();
    let (q, rep) =
        PageStore::from_wal_bytes(p.wal_bytes().unwrap(), &Options::with_page_size(4096)).unwrap();
    assert_eq!(rep.transactions, 8);
    assert_eq!(q.get(id, &key(&p, id, 2)), Some(row(2, 299_000)));
    assert_eq!(q.digest(id), p.digest(id));
    // Delete all: everything but the header, catalog and two empty roots is free.
    for i in 1..=4 {
        p.delete(id, &key(&p, id, i)).unwrap();
    }
    p.commit().unwrap();
    p.verify().unwrap();
}

#[test]
fn rollback_discards_pages_and_catalog() {
    let (mut p, id) = store_with_table(512);
    p.insert(id, row(1, 10)).unwrap();
    p.commit().unwrap();
    let wal_before = p.wal_bytes().unwrap().len();
    let pages_before = p.committed_pages();
    for i in 2..200 {
        p.insert(id, row(i, 50)).unwrap();
    }
    p.create_database("e").unwrap();
    p.create_table(table_b("e", "x")).unwrap();
    p.set_auto_increment(id, 77);
    p.rollback().unwrap();
    assert_eq!(p.row_count(id), 1);
    assert!(!p.database_exists("e"));
    assert_eq!(p.tables(), vec![id]);
    assert_eq!(p.auto_increment(id), 1);
    assert_eq!(
        p.commit().unwrap(),
        None,
        "nothing to commit after rollback"
    );
    assert_eq!(p.wal_bytes().unwrap().len(), wal_before);
    assert_eq!(p.committed_pages(), pages_before);
    // The next change chains to the last committed page LSNs.
    p.insert(id, row(5, 10)).unwrap();
    p.commit().unwrap();
    let (q, _) =
        PageStore::from_wal_bytes(p.wal_bytes().unwrap(), &Options::with_page_size(512)).unwrap();
    assert_eq!(q.keys(id), p.keys(id));
}

#[test]
fn refuses_other_page_format_and_page_size() {
    let (mut p, id) = store_with_table(8192);
    p.insert(id, row(1, 10)).unwrap();
    p.commit().unwrap();
    let wal = p.wal_bytes().unwrap();

    let e = PageStore::from_wal_bytes(wal.clone(), &Options::with_page_size(4096)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
    assert!(e.to_string().contains("8192-byte pages"), "{e}");

    let mut h = SegmentHeader::parse(&wal, 0).unwrap();
    h.page_format = 2;
    let mut other = wal.clone();
    other[..HEADER_LEN].copy_from_slice(&h.encode());
    let e = PageStore::from_wal_bytes(other, &Options::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert_eq!(e.offset(), Some(68));
    assert!(e.to_string().contains("page format 2"), "{e}");

    assert!(PageStore::new(Options::with_page_size(1000)).is_err());
}

#[test]
fn torn_and_uncommitted_tails_are_reported_and_ignored() {
    let (mut p, id) = store_with_table(1024);
    p.insert(id, row(1, 10)).unwrap();
    p.commit().unwrap();
    let good = p.wal_bytes().unwrap();
    p.insert(id, row(2, 3000)).unwrap();
    p.commit().unwrap();
    let wal = p.wal_bytes().unwrap();
    let opts = Options::with_page_size(1024);
    // Cut inside the last transaction: it has no COMMIT.
    for cut in [wal.len() - 3, wal.len() - 40, good.len() + 45] {
        let (q, rep) = PageStore::from_wal_bytes(wal[..cut].to_vec(), &opts).unwrap();
        assert!(
            rep.torn_tail.is_some() || rep.uncommitted_txid.is_some(),
            "{cut}"
        );
        assert_eq!(q.row_count(id), 1);
        assert_eq!(q.keys(id), vec![key(&p, id, 1)]);
    }
}

/// Appends one committed transaction with `bodies` (page records of
/// `txid`) to a single-segment WAL, with valid frames.
fn append_txn(wal: &[u8], txid: u64, bodies: &[Vec<u8>]) -> Vec<u8> {
    let h = SegmentHeader::parse(wal, 0).unwrap();
    let mut o = WriterOptions::new(h.kind);
    o.log_id = h.log_id;
    o.salt = h.salt;
    o.page_size = h.page_size;
    o.page_format = h.page_format;
    o.start_lsn = h.start_lsn + (wal.len() - HEADER_LEN) as u64;
    let mut w = LogWriter::new(Vec::new(), &o).unwrap();
    w.begin(&Begin {
        txid,
        timestamp_us: 0,
        server_id: 9,
        origin: "fuzz",
    })
    .unwrap();
    for b in bodies {
        w.append(b).unwrap();
    }
    w.commit(&Commit {
        txid,
        timestamp_us: 0,
        state_before: None,
        state_after: None,
    })
    .unwrap();
    let tail = w.finish().unwrap();
    let mut out = wal.to_vec();
    out.extend_from_slice(&tail[HEADER_LEN..]);
    out
}

/// Reads everything a rebuilt store offers, and changes it a little.
fn exercise(mut q: PageStore) {
    for id in q.tables() {
        for k in q.keys(id) {
            let _ = q.get(id, &k);
        }
        let _ = q.insert(id, row(9999, 100));
        let _ = q.delete(id, &key(&q, id, 1));
    }
    let _ = q.commit();
    let _ = q.verify();
}

#[test]
fn wal_reader_path_does_not_panic() {
    let (mut p, id) = store_with_table(512);
    for i in 0..60 {
        p.insert(id, row(i, (i as usize * 37) % 900)).unwrap();
    }
    p.commit().unwrap();
    let wal = p.wal_bytes().unwrap();
    let pages = p.committed_pages();
    let opts = Options::with_page_size(512);
    let mut rng = SmokeRng::new(7);
    for round in 0..1500 {
        let input = match round % 3 {
            // Random and mutated logs (mostly refused by the framing).
            0 => rng.bytes_up_to(400),
            1 => rng.mutate(&wal),
            // Valid frames carrying a damaging, correctly chained page change.
            _ => {
                let no = rng.below(pages.len()) as u32;
                let prev = page_lsn(&pages[no as usize]);
                let r = PageRef {
                    txid: 1000,
                    page: no,
                    prev_lsn: prev,
                };
                let mut body = Vec::new();
                if rng.below(4) == 0 {
                    let mut img = pages[no as usize].clone();
                    let at = 8 + rng.below(504);
                    img[at] = rng.next_u64() as u8;
                    encode_image(&mut body, &r, &img).unwrap();
                } else {
                    let n = 1 + rng.below(12);
                    let data = rng.bytes(n);
                    let offset = 8 + rng.below(512 - 8 - data.len()) as u16;
                    encode_delta(
                        &mut body,
                        &r,
                        &[DeltaRange {
                            offset,
                            data: &data,
                        }],
                    )
                    .unwrap();
                }
                append_txn(&wal, 1000, &[body])
            }
        };
        if let Ok((q, _)) = PageStore::from_wal_bytes(input, &opts) {
            exercise(q);
        }
    }
}

#[test]
fn directory_wal_rebuilds_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = Options::with_page_size(1024);
    opts.writer.segment_size = 16 << 10;
    opts.writer.durability = replog_core::writer::Durability::Os;
    let mut p = PageStore::create_dir(dir.path(), opts.clone()).unwrap();
    p.create_database("d").unwrap();
    let id = p.create_table(table_a("d", "t")).unwrap();
    for i in 0..300 {
        p.insert(id, row(i, 200)).unwrap();
        if i % 10 == 9 {
            p.commit().unwrap();
        }
    }
    p.commit().unwrap();
    let segs = replog_core::reader::segment_paths(dir.path()).unwrap();
    assert!(segs.len() > 3, "{} segments", segs.len());
    let (q, rep) = PageStore::from_wal_paths(&[dir.path().to_path_buf()], &opts).unwrap();
    assert!(rep.torn_tail.is_none());
    assert_eq!(q.committed_pages(), p.committed_pages());
    assert_eq!(q.digest(id), p.digest(id));
}

/// What a page source says about a store: its header, the catalog's
/// digest and tables, and table `id`'s rows (key, encoded row) in key order.
type Contents = (page::Header, u64, usize, Vec<(Vec<u8>, Vec<u8>)>);

fn contents<'a, S: PageSource<'a>>(src: S, id: TableId) -> Contents {
    let h = src.header().unwrap();
    let cat = catalog::read_catalog(src, h.catalog_root, h.last_table_id, true).unwrap();
    let mut rows = Vec::new();
    btree::scan(src, cat.tables[&id].pk_root, &mut |k, v| {
        rows.push((k.to_vec(), btree::load_value(src, v)?));
        Ok(())
    })
    .unwrap();
    (h, cat.digest(), cat.tables.len(), rows)
}

/// The page readers over every source: a store's committed pages as a
/// list and as one page file read the same catalog and the same rows (the
/// store's own), overflow chains included; damage names its page.
#[test]
fn page_sources_read_the_same_store() {
    let (mut p, id) = store_with_table(1024);
    for i in 0..200 {
        p.insert(id, row(i, (i as usize * 53) % 3000)).unwrap();
    }
    p.commit().unwrap();
    let pages = p.committed_pages();
    let flat = pages.concat();
    let list = PageList::new(&pages, 1024);
    let file = PageFile::new(&flat, 1024).unwrap();
    let from_list = contents(list, id);
    assert_eq!(from_list, contents(file, id));
    let (h, digest, tables, rows) = from_list;
    assert_eq!((digest, tables), (p.digest(id), 1));
    // The rows are the store's, in key order, long ones in overflow chains.
    assert_eq!(rows.len(), 200);
    assert!(rows.iter().any(|(_, v)| v.len() > 1024));
    for (k, v) in &rows {
        let mut enc = Vec::new();
        catalog::encode_row(&p.get(id, k).unwrap(), &mut enc).unwrap();
        assert_eq!(&enc, v);
    }
    // Lookups through the file.
    let cat = catalog::read_catalog(file, h.catalog_root, h.last_table_id, false).unwrap();
    let root = cat.tables[&id].pk_root;
    let k77 = key(&p, id, 77);
    let want = rows.iter().find(|(k, _)| *k == k77).map(|(_, v)| v.clone());
    assert_eq!(btree::get(file, root, &k77).unwrap(), want);
    assert_eq!(btree::get(file, root, &key(&p, id, 7777)).unwrap(), None);
    // A page file cut short is not one; a node damaged behind the
    // checksums is an error naming the page, not a panic.
    assert!(PageFile::new(&flat[..flat.len() - 1], 1024).is_none());
    let leaf = (1..pages.len())
        .find(|&n| pages[n][page::TYPE_AT] == page::ptype::LEAF && n as u32 != h.catalog_root)
        .unwrap();
    let mut bad = pages.clone();
    bad[leaf][page::CELL_START_AT..page::CELL_START_AT + 4].copy_from_slice(&[0xff; 4]);
    let e = catalog::read_catalog(
        PageList::new(&bad, 1024),
        h.catalog_root,
        h.last_table_id,
        true,
    )
    .unwrap_err();
    assert!(
        e.contains(&format!("page {leaf} offset {}", page::NSLOTS_AT)),
        "{e}"
    );
}
