//! Bad input: a catalog file that does not match the WAL, and heap records
//! damaged inside (block data and main data, with CRC checks off so that
//! the damage reaches the heap decoder). Every failure is an error naming
//! the segment file, the record's offset, its LSN and the relation — never
//! a panic.

mod common;
use common::*;
use replog_core::txn::{TxnEvent, TxnSource};
use replog_pgheap::{Catalog, PgWalSource};
use replog_pgwal::consts::rmgr;
use replog_pgwal::{SegmentInput, WalReader};

fn reader(segs: &[(String, Vec<u8>)]) -> WalReader {
    WalReader::new(
        segs.iter()
            .map(|(n, b)| SegmentInput::reader(n, std::io::Cursor::new(b.clone())))
            .collect(),
    )
}

fn catalog_text() -> String {
    std::fs::read_to_string(fixture().join("catalog.tsv")).unwrap()
}

/// Decodes to the end or to the first error; the transactions read and
/// the error.
fn decode(src: &mut PgWalSource) -> (usize, Option<String>) {
    let mut n = 0;
    while let Some(ev) = src.next() {
        match ev {
            Ok(TxnEvent::Transaction(_)) => n += 1,
            Ok(_) => {}
            Err(e) => return (n, Some(e.to_string())),
        }
    }
    (n, None)
}

#[test]
fn a_catalog_missing_a_column_is_an_error_naming_relation_lsn_and_offset() {
    // The last attribute of public.types left out: its tuples have more
    // attributes than the catalog says.
    let text: String = catalog_text()
        .lines()
        .filter(|l| !(l.contains("\t\"types\"\t") && l.contains("\t27\t\"at\"\t")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(text.len(), catalog_text().len(), "the line was there");
    let catalog = Catalog::parse("catalog.tsv", text.as_bytes()).unwrap();
    let segs = segments();
    let mut src = replog_pgheap::source::source(reader(&segs), catalog, &[]);
    let (_, err) = decode(&mut src);
    let err = err.expect("an error");
    assert!(err.contains("public.types"), "{err}");
    assert!(err.contains("(LSN 0/"), "{err}");
    assert!(err.contains("000000010000000000000006 offset "), "{err}");
    assert!(err.contains("attributes"), "{err}");
}

#[test]
fn a_catalog_with_another_type_reports_the_rows_not_decoded() {
    // public.nokey.b (text) declared boolean, its layout (a varlena)
    // kept: every value is a varlena where a one-byte bool is expected.
    let text: String = catalog_text()
        .lines()
        .map(|l| {
            if l.contains("\t\"nokey\"\t") && l.contains("\t2\t\"b\"\t25\t") {
                format!("{}\n", l.replace("\t2\t\"b\"\t25\t", "\t2\t\"b\"\t16\t"))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(text, catalog_text());
    let catalog = Catalog::parse("catalog.tsv", text.as_bytes()).unwrap();
    let segs = segments();
    let mut src = replog_pgheap::source::source(reader(&segs), catalog, &[]);
    let (n, err) = decode(&mut src);
    assert!(err.is_none(), "{err:?}");
    assert!(n > 10);
    let r = src.producer().report();
    let u = r
        .undecoded
        .iter()
        .find(|u| u.relation == "public.nokey")
        .unwrap_or_else(|| panic!("{:?}", r.undecoded));
    assert!(u.reason.contains("column b"), "{u:?}");
    assert!(u.lsn.0 > 0 && u.count >= 1, "{u:?}");
}

/// A Heap/Heap2 record of a user relation (file number 16384 or more: the
/// catalog's tables, their TOAST tables and their files before a TRUNCATE)
/// without a full-page image, lying within one WAL page so that its bytes
/// are contiguous in the file.
struct HeapRec {
    seg: usize,
    off: usize,
    len: usize,
    /// For an INSERT: where its `xl_heap_header` is in the file.
    header_at: Option<usize>,
}

fn heap_records(segs: &[(String, Vec<u8>)]) -> Vec<HeapRec> {
    let mut r = reader(segs);
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        if !matches!(rec.header.rmid, rmgr::HEAP | rmgr::HEAP2) {
            continue;
        }
        let Some(b0) = rec.block(0) else { continue };
        if b0.header.rel.rel < 16384 {
            continue;
        }
        let (off, len) = (rec.offset as usize, rec.header.tot_len as usize);
        if off / 8192 != (off + len - 1) / 8192 || b0.header.image.is_some() {
            continue;
        }
        let seg = segs
            .iter()
            .position(|(n, _)| rec.file.ends_with(n.as_str()))
            .unwrap();
        // Block data, then main data, end the record.
        let insert = rec.header.rmid == rmgr::HEAP && rec.header.info & 0x70 == 0;
        let header_at = (insert && !b0.data.is_empty())
            .then(|| off + len - rec.main_data().len() - b0.data.len());
        out.push(HeapRec {
            seg,
            off,
            len,
            header_at,
        });
    }
    out
}

/// Decodes `segs` with bytes at `at` set by `set`, CRC checks off; the
/// error, which must name the position and the relation.
fn damaged(
    segs: &[(String, Vec<u8>)],
    catalog: &Catalog,
    seg: usize,
    at: usize,
    set: impl Fn(&mut [u8]),
) -> Option<String> {
    let mut bad = segs.to_vec();
    set(&mut bad[seg].1[at..]);
    let mut src =
        replog_pgheap::source::source(reader(&bad).without_crc_checks(), catalog.clone(), &[]);
    let (_, err) = decode(&mut src);
    let e = err?;
    assert!(
        e.contains(" offset ") && e.contains("(LSN 0/"),
        "byte {at}: {e}"
    );
    assert!(
        e.contains(": public.") || e.contains(": pg_toast.") || e.contains("relation file"),
        "byte {at}: no relation in: {e}"
    );
    Some(e)
}

#[test]
fn damaged_tuple_headers_are_errors_naming_relation_lsn_and_offset() {
    let segs = segments();
    let catalog = Catalog::parse("catalog.tsv", catalog_text().as_bytes()).unwrap();
    let inserts: Vec<HeapRec> = heap_records(&segs)
        .into_iter()
        .filter(|r| r.header_at.is_some())
        .collect();
    assert!(inserts.len() > 100, "{} inserts", inserts.len());
    for r in inserts.iter().step_by(inserts.len() / 12) {
        let at = r.header_at.unwrap();
        // More attributes than any table of the catalog has.
        let e = damaged(&segs, &catalog, r.seg, at, |b| {
            b[0] = 0xFF;
            b[1] |= 0x07;
        })
        .unwrap_or_else(|| panic!("natts 2047 at byte {at} not found"));
        assert!(e.contains("attributes"), "{e}");
        // t_hoff past the tuple.
        damaged(&segs, &catalog, r.seg, at + 4, |b| b[0] = 0xF8)
            .unwrap_or_else(|| panic!("t_hoff 248 at byte {} not found", at + 4));
    }
}

#[test]
fn damaged_heap_records_are_errors_with_position_never_panics() {
    let segs = segments();
    let catalog = Catalog::parse("catalog.tsv", catalog_text().as_bytes()).unwrap();
    let recs = heap_records(&segs);
    assert!(recs.len() > 1000, "{} heap records", recs.len());
    // 20 records of every kind spread over the WAL, each damaged in its
    // payload (block data and main data are the record's last bytes):
    // values may change unnoticed, but nothing panics and every error
    // names where and what (checked by `damaged`).
    for r in recs.iter().step_by(recs.len() / 20) {
        for (k, flip) in [(1usize, 0xFFu8), (r.len / 3, 0x80)] {
            if k < r.len - 24 {
                damaged(&segs, &catalog, r.seg, r.off + r.len - k, |b| b[0] ^= flip);
            }
        }
    }
}
