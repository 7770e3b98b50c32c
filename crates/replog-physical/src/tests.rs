//! Unit tests: layouts byte by byte, malformed input with exact offsets,
//! header checks, redo, round trips and the committed sample.

use crate::page::{self, page_lsn};
use crate::record::*;
use crate::*;
use replog_core::frame::{Checksummer, FRAME_HEADER_LEN, padded_len};
use replog_core::record::{Record, decode_record, rtype as core_rtype};
use replog_core::{ErrorKind, RecordView};
use std::collections::BTreeMap;

const AT: u64 = 1000;

fn err_at(body: &[u8]) -> (ErrorKind, u64, String) {
    let e = PhysicalRecord::decode(body, AT).unwrap_err();
    (e.kind(), e.offset().unwrap(), e.to_string())
}

// ---------------------------------------------------------------- layouts

#[rustfmt::skip]
const IMAGE: [u8; 33 + 8 + 4] = [
    0x10,                                           // type PAGE_IMAGE
    0x07, 0, 0, 0, 0, 0, 0, 0,                      // txid 7
    0x03, 0, 0, 0,                                  // page 3
    0x28, 0, 0, 0, 0, 0, 0, 0,                      // prev_lsn 40
    0x08, 0, 0, 0,                                  // hole_offset 8
    0xF4, 0x01, 0, 0,                               // hole_len 500
    0x0C, 0, 0, 0,                                  // image_len 12 (12 + 500 = 512)
    0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, // image[0..8]  (page LSN slot)
    0x01, 0x02, 0x03, 0x04,                         // image[8..12] (the page's last 4 bytes)
];

#[test]
fn page_image_layout() {
    let rec = PhysicalRecord::decode(&IMAGE, AT).unwrap();
    let PhysicalRecord::PageImage(img) = rec else {
        panic!("{rec:?}")
    };
    assert_eq!(img.offset, AT);
    assert_eq!(
        img.page,
        PageRef {
            txid: 7,
            page: 3,
            prev_lsn: 40
        }
    );
    assert_eq!((img.hole_offset, img.hole_len), (8, 500));
    assert_eq!(img.image, &IMAGE[33..]);
    // Zero-copy: the image points into the body.
    assert_eq!(img.image.as_ptr(), IMAGE[33..].as_ptr());
    assert_eq!(rec.to_body().unwrap(), IMAGE);
    assert_eq!(rec.type_name(), "PAGE_IMAGE");
    assert_eq!(
        rec.summary(),
        "page=3 txid=7 prev_lsn=40 image=12 bytes hole=8+500"
    );
}

#[rustfmt::skip]
const DELTA: [u8; 23 + 4 + 3 + 4 + 2] = [
    0x11,                                           // type PAGE_DELTA
    0x07, 0, 0, 0, 0, 0, 0, 0,                      // txid 7
    0x03, 0, 0, 0,                                  // page 3
    0x28, 0, 0, 0, 0, 0, 0, 0,                      // prev_lsn 40
    0x02, 0,                                        // 2 ranges
    0x10, 0, 0x03, 0, b'a', b'b', b'c',             // range: offset 16, len 3, "abc"
    0xFE, 0x01, 0x02, 0, 0xEE, 0xFF,                // range: offset 510, len 2
];

#[test]
fn page_delta_layout() {
    let rec = PhysicalRecord::decode(&DELTA, AT).unwrap();
    let PhysicalRecord::PageDelta(d) = rec else {
        panic!("{rec:?}")
    };
    assert_eq!(
        d.page,
        PageRef {
            txid: 7,
            page: 3,
            prev_lsn: 40
        }
    );
    let ranges: Vec<_> = d.ranges.iter().collect();
    assert_eq!(
        ranges,
        [
            DeltaRange {
                offset: 16,
                data: b"abc"
            },
            DeltaRange {
                offset: 510,
                data: &[0xEE, 0xFF]
            }
        ]
    );
    assert_eq!((d.ranges.len(), d.ranges.data_len()), (2, 5));
    let mut body = Vec::new();
    encode_delta(&mut body, &d.page, &ranges).unwrap();
    assert_eq!(body, DELTA);
    assert_eq!(rec.to_body().unwrap(), DELTA);
    assert_eq!(
        rec.summary(),
        "page=3 txid=7 prev_lsn=40 ranges=16+3:616263,510+2:eeff"
    );
}

#[rustfmt::skip]
const INIT: [u8; 22] = [
    0x12,                                           // type PAGE_INIT
    0x07, 0, 0, 0, 0, 0, 0, 0,                      // txid 7
    0x03, 0, 0, 0,                                  // page 3
    0, 0, 0, 0, 0, 0, 0, 0,                         // prev_lsn 0 (new page)
    0x02,                                           // page type 2
];

#[rustfmt::skip]
const FREE: [u8; 21] = [
    0x13,                                           // type PAGE_FREE
    0x07, 0, 0, 0, 0, 0, 0, 0,                      // txid 7
    0x03, 0, 0, 0,                                  // page 3
    0x30, 0, 0, 0, 0, 0, 0, 0,                      // prev_lsn 48
];

#[rustfmt::skip]
const CHECKPOINT: [u8; 29] = [
    0x14,                                           // type CHECKPOINT
    0x00, 0x01, 0, 0, 0, 0, 0, 0,                   // redo_lsn 256
    0x09, 0, 0, 0, 0, 0, 0, 0,                      // next_txid 9
    0x05, 0, 0, 0,                                  // page_count 5
    0x00, 0, 0, 0,                                  // catalog_root 0
    0xFF, 0xFF, 0xFF, 0xFF,                         // free_list_head: none
];

#[test]
fn init_free_checkpoint_layouts() {
    let init = PhysicalRecord::decode(&INIT, AT).unwrap();
    assert_eq!(
        init,
        PhysicalRecord::PageInit(PageInit {
            offset: AT,
            page: PageRef {
                txid: 7,
                page: 3,
                prev_lsn: 0
            },
            page_type: 2
        })
    );
    assert_eq!(init.to_body().unwrap(), INIT);
    let free = PhysicalRecord::decode(&FREE, AT).unwrap();
    assert_eq!(
        free,
        PhysicalRecord::PageFree(PageFree {
            offset: AT,
            page: PageRef {
                txid: 7,
                page: 3,
                prev_lsn: 48
            }
        })
    );
    assert_eq!(free.to_body().unwrap(), FREE);
    let cp = PhysicalRecord::decode(&CHECKPOINT, AT).unwrap();
    assert_eq!(
        cp,
        PhysicalRecord::Checkpoint(Checkpoint {
            offset: AT,
            redo_lsn: 256,
            next_txid: 9,
            page_count: 5,
            catalog_root: 0,
            free_list_head: NO_PAGE
        })
    );
    assert_eq!(cp.to_body().unwrap(), CHECKPOINT);
    assert_eq!(cp.page(), None);
    assert_eq!(
        cp.summary(),
        "redo_lsn=256 next_txid=9 page_count=5 catalog_root=0 free_list_head=none"
    );
    assert_eq!(PhysicalFormat::type_name(0x14), "CHECKPOINT");
    assert_eq!(PhysicalFormat::type_name(0x15), "unknown");
}

#[test]
fn json_is_compact() {
    let big = vec![0x42u8; 4096];
    let rec = PhysicalRecord::PageImage(PageImage {
        offset: 0,
        page: PageRef {
            txid: 1,
            page: 2,
            prev_lsn: 0,
        },
        hole_offset: 0,
        hole_len: 0,
        image: &big,
    });
    let j = serde_json::to_string(&rec).unwrap();
    assert!(j.len() < 250, "{j}");
    assert!(j.starts_with(r#"{"type":"PAGE_IMAGE","txid":1,"page":2,"prev_lsn":0,"hole_offset":0,"hole_len":0,"image":{"len":4096,"#), "{j}");
    let d = serde_json::to_string(&PhysicalRecord::decode(&DELTA, 0).unwrap()).unwrap();
    assert!(
        d.contains(r#""ranges":[{"offset":16,"data":{"len":3,"#),
        "{d}"
    );
}

// ---------------------------------------------------------------- malformed

#[test]
fn malformed_common() {
    assert_eq!(err_at(&[]).0, ErrorKind::UnexpectedEof { needed: 1 });
    assert_eq!(err_at(&[]).1, 1000);
    let (k, o, m) = err_at(&[0x1F]);
    assert_eq!((k, o), (ErrorKind::Unsupported, 1000));
    assert!(m.contains("unknown physical record type 0x1f"), "{m}");
    // Page number 0xffffffff.
    let mut b = FREE;
    b[9..13].fill(0xFF);
    assert_eq!(err_at(&b).1, 1009);
    // prev_lsn not a multiple of 8.
    let mut b = FREE;
    b[13] = 0x31;
    assert_eq!(err_at(&b).1, 1013);
    // Truncated inside the txid: the error names the field's first byte.
    let (k, o, m) = err_at(&FREE[..5]);
    assert_eq!((k, o), (ErrorKind::UnexpectedEof { needed: 4 }, 1001));
    assert!(m.contains("txid"), "{m}");
    // Trailing byte.
    let mut b = FREE.to_vec();
    b.push(0);
    let (k, o, m) = err_at(&b);
    assert_eq!((k, o), (ErrorKind::Malformed, 1021));
    assert!(m.contains("1 trailing bytes after PAGE_FREE"), "{m}");
}

#[test]
fn malformed_image() {
    // image_len + hole_len is not a page size.
    let mut b = IMAGE;
    b[25] = 0xF5; // hole 501
    let (k, o, m) = err_at(&b);
    assert_eq!((k, o), (ErrorKind::Malformed, 1029));
    assert!(m.contains("makes 513, not a page size"), "{m}");
    // Hole offset past the image.
    let mut b = IMAGE;
    b[21] = 13;
    assert_eq!(err_at(&b).1, 1021);
    // A hole offset without a hole.
    let mut img = vec![0u8; 33 + 512];
    img[..33].copy_from_slice(&IMAGE[..33]);
    img[25..29].fill(0); // hole_len 0
    img[29..33].copy_from_slice(&512u32.to_le_bytes());
    assert_eq!(err_at(&img).1, 1021);
    img[21] = 0;
    assert!(PhysicalRecord::decode(&img, AT).is_ok());
    // Image truncated: 2 bytes of 12 missing.
    let (k, o, _) = err_at(&IMAGE[..IMAGE.len() - 2]);
    assert_eq!((k, o), (ErrorKind::UnexpectedEof { needed: 2 }, 1033));
    // A huge declared length is refused before anything is sliced.
    let mut b = IMAGE;
    b[29..33].fill(0xFF);
    assert_eq!(err_at(&b).1, 1029);
}

#[test]
fn malformed_delta() {
    // First range starts inside the page LSN.
    let mut b = DELTA;
    b[23] = 7;
    let (k, o, m) = err_at(&b);
    assert_eq!((k, o), (ErrorKind::Malformed, 1023));
    assert!(m.contains("overlaps the page LSN"), "{m}");
    // Second range ends past 65536.
    let mut b = DELTA;
    b[30..32].copy_from_slice(&0xFFFFu16.to_le_bytes());
    assert_eq!(err_at(&b).1, 1032);
    // Second range's bytes cut short.
    assert_eq!(
        err_at(&DELTA[..DELTA.len() - 1]),
        (
            ErrorKind::UnexpectedEof { needed: 1 },
            1034,
            err_at(&DELTA[..35]).2
        )
    );
    // Declares 3 ranges, has 2.
    let mut b = DELTA;
    b[21] = 3;
    assert_eq!(err_at(&b).0, ErrorKind::UnexpectedEof { needed: 2 });
    assert_eq!(err_at(&b).1, 1036);
    // The encoder refuses the same.
    let p = PageRef {
        txid: 1,
        page: 1,
        prev_lsn: 0,
    };
    let mut out = vec![9];
    let e = encode_delta(
        &mut out,
        &p,
        &[DeltaRange {
            offset: 4,
            data: b"x",
        }],
    )
    .unwrap_err();
    assert_eq!(e.offset(), Some(23));
    assert_eq!(out, [9], "nothing is left behind on error");
}

#[test]
fn malformed_init_and_checkpoint() {
    let mut b = INIT;
    b[21] = 0;
    let (k, o, m) = err_at(&b);
    assert_eq!((k, o), (ErrorKind::Malformed, 1021));
    assert!(m.contains("page type 0"), "{m}");
    let mut b = CHECKPOINT;
    b[1] = 4;
    assert_eq!(err_at(&b).1, 1001);
    let mut b = CHECKPOINT;
    b[17..21].fill(0xFF);
    assert_eq!(err_at(&b).1, 1017);
    let mut b = CHECKPOINT;
    b[21] = 5; // catalog root 5 of 5 pages
    let (_, o, m) = err_at(&b);
    assert_eq!(o, 1021);
    assert!(
        m.contains("catalog root page 5 is not below the page count 5"),
        "{m}"
    );
    let mut b = CHECKPOINT;
    b[25..29].copy_from_slice(&[6, 0, 0, 0]);
    assert_eq!(err_at(&b).1, 1025);
    assert_eq!(
        err_at(&CHECKPOINT[..28]).0,
        ErrorKind::UnexpectedEof { needed: 1 }
    );
}

// ---------------------------------------------------------------- header

fn header(page_size: u32, page_format: u16) -> replog_core::SegmentHeader {
    let mut o = sample_options();
    o.page_size = page_size;
    o.page_format = page_format;
    let w = replog_core::writer::LogWriter::new(Vec::new(), &o).unwrap();
    w.header().clone()
}

#[test]
fn check_header_accepts_and_refuses() {
    for ps in [512, 4096, 8192, 65536] {
        PhysicalFormat::check_header(&header(ps, 1)).unwrap();
    }
    let e = PhysicalFormat::check_header(&header(4096, 2)).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ErrorKind::Unsupported, Some(68)));
    assert_eq!(
        e.message(),
        "log was written for page format 2; this reader understands page format 1"
    );
    for ps in [0, 256, 1000, 4097, 131072] {
        let e = PhysicalFormat::check_header(&header(ps, 1)).unwrap_err();
        assert_eq!(e.offset(), Some(64), "page size {ps}");
        assert!(
            e.message()
                .contains(&format!("page size {ps} is not supported"))
        );
    }
    let mut h = header(4096, 1);
    h.kind = replog_core::LogKind::Logical;
    assert_eq!(
        PhysicalFormat::check_header(&h).unwrap_err().kind(),
        ErrorKind::Mismatch
    );
}

// ---------------------------------------------------------------- redo

#[test]
fn redo_image_restores_the_hole() {
    let mut pg = vec![0x77u8; 512];
    page::set_page_lsn(&mut pg, 40);
    let rec = PhysicalRecord::decode(&IMAGE, AT).unwrap();
    assert_eq!(redo(&rec, 64, &mut pg).unwrap(), RedoOutcome::Applied);
    assert_eq!(
        page_lsn(&pg),
        64,
        "the page LSN is the record's, not the image's"
    );
    assert!(pg[8..508].iter().all(|&b| b == 0), "the hole is zeros");
    assert_eq!(&pg[508..], [1, 2, 3, 4]);
    // Idempotent: the same or an older record is skipped.
    let before = pg.clone();
    assert_eq!(
        redo(&rec, 64, &mut pg).unwrap(),
        RedoOutcome::Skipped { page_lsn: 64 }
    );
    assert_eq!(
        redo(&rec, 48, &mut pg).unwrap(),
        RedoOutcome::Skipped { page_lsn: 64 }
    );
    assert_eq!(pg, before);
    // A page of another size.
    let mut big = vec![0u8; 4096];
    let e = redo(&rec, 64, &mut big).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ErrorKind::Mismatch, Some(1029)));
    // A buffer that is no page size at all.
    let e = redo(&rec, 64, &mut [0u8; 100]).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ErrorKind::Mismatch, Some(AT)));
}

#[test]
fn redo_delta_checks_bounds_and_chain() {
    let rec = PhysicalRecord::decode(&DELTA, AT).unwrap();
    let mut pg = vec![0u8; 512];
    page::set_page_lsn(&mut pg, 40);
    assert_eq!(redo(&rec, 72, &mut pg).unwrap(), RedoOutcome::Applied);
    assert_eq!(&pg[16..19], b"abc");
    assert_eq!(&pg[510..], [0xEE, 0xFF]);
    assert_eq!(page_lsn(&pg), 72);
    assert_eq!(
        redo(&rec, 72, &mut pg).unwrap(),
        RedoOutcome::Skipped { page_lsn: 72 }
    );

    // The page missed the change at LSN 40: a gap in the page's chain.
    let mut pg = vec![0u8; 512];
    page::set_page_lsn(&mut pg, 32);
    let e = redo(&rec, 72, &mut pg).unwrap_err();
    assert_eq!(
        (e.kind(), e.offset()),
        (ErrorKind::Discontinuity, Some(1013))
    );
    assert!(
        e.message()
            .contains("expects page LSN 40 but the page has 32")
    );

    // Out of bounds: the second range (at 510, 2 bytes) fits 512 but the
    // same delta moved to 1022 does not; nothing is written.
    let mut b = DELTA;
    b[30..32].copy_from_slice(&1022u16.to_le_bytes());
    let rec = PhysicalRecord::decode(&b, AT).unwrap();
    let mut pg = vec![0u8; 512];
    page::set_page_lsn(&mut pg, 40);
    let e = redo(&rec, 72, &mut pg).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (ErrorKind::Malformed, Some(1030)));
    assert!(
        e.to_string()
            .contains("range 1022+2 of page 3 ends past the page size 512"),
        "{e}"
    );
    assert_eq!(page_lsn(&pg), 40);
    assert!(
        pg[8..].iter().all(|&x| x == 0),
        "a failed redo writes nothing"
    );
    // It fits a 1024-byte page.
    let mut pg = vec![0u8; 1024];
    page::set_page_lsn(&mut pg, 40);
    assert_eq!(redo(&rec, 72, &mut pg).unwrap(), RedoOutcome::Applied);
}

#[test]
fn redo_init_free_checkpoint() {
    let mut pg = vec![0x55u8; 512];
    page::set_page_lsn(&mut pg, 0);
    let init = PhysicalRecord::decode(&INIT, AT).unwrap();
    assert_eq!(redo(&init, 8, &mut pg).unwrap(), RedoOutcome::Applied);
    assert_eq!(page::page_type(&pg), 2);
    assert_eq!(page_lsn(&pg), 8);
    assert!(pg[9..].iter().all(|&x| x == 0));
    let free = PhysicalRecord::decode(&FREE, AT).unwrap();
    assert_eq!(redo(&free, 48, &mut pg).unwrap(), RedoOutcome::Applied);
    assert_eq!(page::page_type(&pg), page::PAGE_TYPE_FREE);
    assert_eq!(page_lsn(&pg), 48);
    let cp = PhysicalRecord::decode(&CHECKPOINT, AT).unwrap();
    assert_eq!(
        redo(&cp, 400, &mut pg).unwrap(),
        RedoOutcome::NotAPageRecord
    );
    assert_eq!(page_lsn(&pg), 48);
}

#[test]
fn encode_image_finds_the_hole() {
    let mut pg = vec![0u8; 4096];
    pg[..8].copy_from_slice(&24u64.to_le_bytes());
    pg[8] = 2;
    pg[16..40].fill(1);
    pg[4000..].fill(2);
    let p = PageRef {
        txid: 1,
        page: 9,
        prev_lsn: 24,
    };
    let mut body = Vec::new();
    encode_image(&mut body, &p, &pg).unwrap();
    assert_eq!(body.len(), IMAGE_HEADER_LEN + 40 + 96);
    let rec = PhysicalRecord::decode(&body, 0).unwrap();
    let PhysicalRecord::PageImage(img) = rec else {
        panic!()
    };
    assert_eq!((img.hole_offset, img.hole_len), (40, 3960));
    let mut out = vec![0xFFu8; 4096];
    page::set_page_lsn(&mut out, 24);
    redo(&rec, 32, &mut out).unwrap();
    page::set_page_lsn(&mut pg, 32);
    assert_eq!(out, pg);
    // A page without a long zero run is logged whole.
    let full = vec![1u8; 512];
    body.clear();
    encode_image(&mut body, &p, &full).unwrap();
    assert_eq!(body.len(), IMAGE_HEADER_LEN + 512);
}

// ---------------------------------------------------------------- round trips

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn page_ref() -> impl Strategy<Value = PageRef> {
        (any::<u64>(), 0..NO_PAGE, any::<u64>()).prop_map(|(txid, page, l)| PageRef {
            txid,
            page,
            prev_lsn: l & !7,
        })
    }

    proptest! {
        #[test]
        fn image_round_trip(p in page_ref(), shift in 0u32..8, hole in any::<u32>(), at in any::<u32>(), seed in any::<u8>()) {
            let size = 512u32 << shift;
            let hole_len = hole % size;
            let image_len = size - hole_len;
            let hole_offset = if hole_len == 0 { 0 } else { at % (image_len + 1) };
            let image: Vec<u8> = (0..image_len).map(|i| (i as u8).wrapping_mul(seed)).collect();
            let rec = PhysicalRecord::PageImage(PageImage { offset: 0, page: p, hole_offset, hole_len, image: &image });
            let body = rec.to_body().unwrap();
            prop_assert_eq!(PhysicalRecord::decode(&body, 0).unwrap(), rec);
        }

        #[test]
        fn delta_round_trip(p in page_ref(), ranges in proptest::collection::vec((8u16..4000, proptest::collection::vec(any::<u8>(), 0..96)), 0..12)) {
            let rs: Vec<DeltaRange<'_>> = ranges.iter().map(|(o, d)| DeltaRange { offset: *o, data: d }).collect();
            let mut body = Vec::new();
            encode_delta(&mut body, &p, &rs).unwrap();
            let rec = PhysicalRecord::decode(&body, 77).unwrap();
            let PhysicalRecord::PageDelta(d) = rec else { panic!() };
            prop_assert_eq!(d.page, p);
            prop_assert_eq!(d.ranges.iter().collect::<Vec<_>>(), rs);
            prop_assert_eq!(rec.to_body().unwrap(), body);
        }

        #[test]
        fn any_record_round_trip(data in proptest::collection::vec(any::<u8>(), 0..1200)) {
            crate::fuzz_support::fuzz_roundtrip(&data);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200), t in 0x10u8..0x16) {
            let mut d = data;
            d.insert(0, t);
            crate::fuzz_support::fuzz_decode(&d);
        }
    }
}

// ---------------------------------------------------------------- the sample

fn sample_bytes() -> (Vec<u8>, BTreeMap<u32, Vec<u8>>) {
    let mut w = replog_core::writer::LogWriter::new(Vec::new(), &sample_options()).unwrap();
    let pages = crate::sample::write_sample_pages(&mut w).unwrap();
    (w.finish().unwrap(), pages)
}

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/native/physical/sample.replog"
);

#[test]
fn sample_matches_fixture() {
    let (bytes, _) = sample_bytes();
    assert!(bytes.len() < 40 * 1024, "sample is {} bytes", bytes.len());
    replog_test_support::bless::check(std::path::Path::new(FIXTURE), &bytes);
}

/// The frames of one segment: (file offset of the body, LSN, body).
fn frames(seg: &[u8]) -> Vec<(u64, u64, &[u8])> {
    let h = replog_core::SegmentHeader::parse(seg, 0).unwrap();
    let ck = Checksummer::new(h.salt);
    let mut out = Vec::new();
    let mut pos = replog_core::segment::HEADER_LEN;
    let mut lsn = h.start_lsn;
    while pos < seg.len() {
        let len = u32::from_le_bytes(seg[pos..pos + 4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(seg[pos + 4..pos + 8].try_into().unwrap());
        let body = &seg[pos + FRAME_HEADER_LEN..pos + FRAME_HEADER_LEN + len];
        assert_eq!(crc, ck.frame_crc(lsn, body));
        out.push(((pos + FRAME_HEADER_LEN) as u64, lsn, body));
        pos += padded_len(len);
        lsn += padded_len(len) as u64;
    }
    out
}

/// Recovery as `formats/physical.md` specifies it: start at the last
/// CHECKPOINT's redo LSN; hold each transaction's page records until its
/// COMMIT; apply them in log order then; drop what never commits.
fn recover(
    seg: &[u8],
    mut pages: BTreeMap<u32, Vec<u8>>,
    page_size: usize,
) -> (BTreeMap<u32, Vec<u8>>, usize) {
    let fs = frames(seg);
    let mut redo_lsn = 0;
    for &(off, _, body) in &fs {
        if let Ok(Record::Data(PhysicalRecord::Checkpoint(c))) =
            decode_record::<PhysicalFormat>(body, off)
        {
            redo_lsn = c.redo_lsn;
        }
    }
    let mut open: BTreeMap<u64, Vec<(u64, PhysicalRecord<'_>)>> = BTreeMap::new();
    let mut applied = 0;
    for &(off, lsn, body) in fs.iter().filter(|f| f.1 >= redo_lsn) {
        match decode_record::<PhysicalFormat>(body, off).unwrap() {
            Record::Begin(b) => {
                open.insert(b.txid, Vec::new());
            }
            Record::Data(r) => {
                if let Some(t) = r.txid() {
                    open.entry(t).or_default().push((lsn, r));
                }
            }
            Record::Commit(c) => {
                for (lsn, r) in open.remove(&c.txid).unwrap_or_default() {
                    let pg = pages
                        .entry(r.page().unwrap())
                        .or_insert_with(|| vec![0; page_size]);
                    if redo(&r, lsn, pg).unwrap() == RedoOutcome::Applied {
                        applied += 1;
                    }
                }
            }
        }
    }
    (pages, applied)
}

#[test]
fn sample_replays_to_the_writer_pages() {
    let (bytes, expected) = sample_bytes();
    let h = replog_core::SegmentHeader::parse(&bytes, 0).unwrap();
    check_header(&h).unwrap();
    assert_eq!(bytes[0x40..0x46], [0x00, 0x10, 0, 0, 0x01, 0x00]);

    // Every record type appears, and every body decodes.
    let mut seen = std::collections::BTreeSet::new();
    for (off, _, body) in frames(&bytes) {
        decode_record::<PhysicalFormat>(body, off).unwrap();
        seen.insert(body[0]);
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            core_rtype::BEGIN,
            core_rtype::COMMIT,
            0x10,
            0x11,
            0x12,
            0x13,
            0x14
        ]
    );

    // From an empty store, full replay (the first checkpoint's redo LSN is 0
    // only because recovery here uses the last one: start from scratch by
    // replaying everything instead).
    let mut from_scratch = BTreeMap::new();
    for (off, lsn, body) in frames(&bytes) {
        if let Record::Data(r) = decode_record::<PhysicalFormat>(body, off).unwrap() {
            if let Some(p) = r.page() {
                redo(
                    &r,
                    lsn,
                    from_scratch.entry(p).or_insert_with(|| vec![0u8; 4096]),
                )
                .unwrap();
            }
        }
    }
    assert_eq!(from_scratch, expected);

    // Replaying again over the final pages changes nothing (idempotence).
    let (again, applied) = recover(&bytes, expected.clone(), 4096);
    assert_eq!(applied, 0);
    assert_eq!(again, expected);
}

#[test]
fn recovery_from_checkpoint_skips_uncommitted() {
    // The store's disk as of the second checkpoint: replay up to it.
    let (bytes, expected) = sample_bytes();
    let fs = frames(&bytes);
    let cp_lsn = fs
        .iter()
        .filter(|f| f.2[0] == rtype::CHECKPOINT)
        .map(|f| f.1)
        .next_back()
        .unwrap();
    let mut disk = BTreeMap::new();
    for &(off, lsn, body) in fs.iter().filter(|f| f.1 < cp_lsn) {
        if let Record::Data(r) = decode_record::<PhysicalFormat>(body, off).unwrap() {
            if let Some(p) = r.page() {
                redo(&r, lsn, disk.entry(p).or_insert_with(|| vec![0u8; 4096])).unwrap();
            }
        }
    }
    let (recovered, applied) = recover(&bytes, disk, 4096);
    assert_eq!(applied, 2, "transaction 3's PAGE_FREE and PAGE_DELTA");
    assert_eq!(recovered, expected);

    // A transaction that never commits leaves no trace.
    let mut o = sample_options();
    o.start_lsn = 0;
    let mut w = replog_core::writer::LogWriter::new(Vec::new(), &o).unwrap();
    crate::sample::write_sample_pages(&mut w).unwrap();
    w.begin(&replog_core::Begin {
        txid: 4,
        timestamp_us: 0,
        server_id: 1,
        origin: "",
    })
    .unwrap();
    let mut body = Vec::new();
    let pr = PageRef {
        txid: 4,
        page: 1,
        prev_lsn: page_lsn(&expected[&1]),
    };
    encode_delta(
        &mut body,
        &pr,
        &[DeltaRange {
            offset: 100,
            data: b"lost",
        }],
    )
    .unwrap();
    w.append(&body).unwrap();
    let crashed = w.finish().unwrap();
    let (recovered, applied) = recover(&crashed, expected.clone(), 4096);
    assert_eq!(applied, 0);
    assert_eq!(recovered, expected);
}

/// The framing reader lets exactly this format's CHECKPOINT stand between
/// transactions (physical.md §2, framing.md §4.3); its page records belong
/// to a transaction.
#[test]
fn only_checkpoint_may_stand_outside_a_transaction() {
    let kind = replog_core::LogKind::Physical;
    assert!(kind.allows_outside_transactions(rtype::CHECKPOINT));
    for t in [
        rtype::PAGE_IMAGE,
        rtype::PAGE_DELTA,
        rtype::PAGE_INIT,
        rtype::PAGE_FREE,
    ] {
        assert!(!kind.allows_outside_transactions(t), "0x{t:02x}");
    }
}
