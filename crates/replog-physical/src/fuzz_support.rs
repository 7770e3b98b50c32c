//! Pure functions for fuzz targets (wired into cargo-fuzz elsewhere). Each
//! panics only when it finds a bug.
//!
//! - [`fuzz_decode`]: arbitrary bytes as a record body; whatever decodes must
//!   re-encode to the same bytes and redo onto a scratch page without panic.
//! - [`fuzz_roundtrip`]: a valid record built from the bytes must encode,
//!   decode to an equal record, and redo as specified.

use crate::page::{self, PAGE_LSN_LEN, RedoOutcome, redo};
use crate::record::{
    Checkpoint, DeltaRange, NO_PAGE, PageFree, PageImage, PageInit, PageRef, PhysicalRecord,
};
use replog_core::RecordView;

/// Decodes `data` as a physical record body at an arbitrary offset; if it
/// decodes, checks that it re-encodes to the same bytes, renders its summary,
/// and redoes it onto scratch pages of two sizes.
pub fn fuzz_decode(data: &[u8]) {
    let offset = 0x1_0000_0000;
    let Ok(rec) = PhysicalRecord::decode(data, offset) else {
        return;
    };
    let mut again = Vec::new();
    rec.encode(&mut again)
        .expect("a decoded record must encode");
    assert_eq!(again, data, "decode then encode must give the same bytes");
    let _ = rec.summary();
    for size in [512usize, 4096] {
        let mut scratch = vec![0u8; size];
        match redo(&rec, 8, &mut scratch) {
            Ok(RedoOutcome::Applied) => assert_eq!(page::page_lsn(&scratch), 8),
            Ok(_) => {}
            Err(e) => assert!(
                e.offset()
                    .is_some_and(|o| o >= offset && o < offset + data.len() as u64)
            ),
        }
    }
}

/// A little reader over fuzz bytes that yields zeros once they run out.
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn u64(&mut self) -> u64 {
        (self.u32() as u64) | ((self.u32() as u64) << 32)
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.pos += n;
        self.data.get(start..end).unwrap_or(&[])
    }
}

fn page_ref(b: &mut Bytes<'_>) -> PageRef {
    let page = match b.u32() {
        NO_PAGE => 0,
        p => p,
    };
    PageRef {
        txid: b.u64(),
        page,
        prev_lsn: b.u64() & !7,
    }
}

/// Builds a valid record from `data`, encodes it, decodes it back and checks
/// equality; then redoes it onto a page of the implied size and checks the
/// result byte by byte.
pub fn fuzz_roundtrip(data: &[u8]) {
    roundtrip(data);
}

/// [`fuzz_roundtrip`], returning the encoded body.
fn roundtrip(data: &[u8]) -> Vec<u8> {
    let mut b = Bytes { data, pos: 0 };
    let kind = b.u8() % 5;
    let page_size = 512usize << (b.u8() % 8);
    let mut image_buf = Vec::new();
    let mut ranges: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut body = Vec::new();
    let rec = match kind {
        0 => {
            let p = page_ref(&mut b);
            let hole_len = if b.u8() % 2 == 0 {
                0
            } else {
                b.u32() as usize % page_size
            };
            let image_len = page_size - hole_len;
            let hole_offset = if hole_len == 0 {
                0
            } else {
                b.u32() as usize % (image_len + 1)
            };
            let fill = b.take(image_len).to_vec();
            image_buf.extend_from_slice(&fill);
            image_buf.resize(image_len, 0xA5);
            PhysicalRecord::PageImage(PageImage {
                offset: 0,
                page: p,
                hole_offset: hole_offset as u32,
                hole_len: hole_len as u32,
                image: &image_buf,
            })
        }
        1 => {
            let p = page_ref(&mut b);
            let n = b.u8() % 8;
            for _ in 0..n {
                let off = PAGE_LSN_LEN + b.u16() as usize % (page_size - PAGE_LSN_LEN);
                let len = (b.u16() as usize % 64).min(page_size - off);
                let mut bytes = b.take(len).to_vec();
                bytes.resize(len, 0x5A);
                ranges.push((off as u16, bytes));
            }
            let rs: Vec<DeltaRange<'_>> = ranges
                .iter()
                .map(|(o, d)| DeltaRange {
                    offset: *o,
                    data: d,
                })
                .collect();
            crate::encode_delta(&mut body, &p, &rs).expect("valid delta encodes");
            let decoded = PhysicalRecord::decode(&body, 0).expect("encoded delta decodes");
            let PhysicalRecord::PageDelta(d) = decoded else {
                panic!("not a delta")
            };
            assert_eq!(d.page, p);
            assert_eq!(d.ranges.iter().collect::<Vec<_>>(), rs);
            check_redo(&decoded, page_size);
            return body;
        }
        2 => {
            let p = page_ref(&mut b);
            let page_type = b.u8().max(1);
            PhysicalRecord::PageInit(PageInit {
                offset: 0,
                page: p,
                page_type,
            })
        }
        3 => PhysicalRecord::PageFree(PageFree {
            offset: 0,
            page: page_ref(&mut b),
        }),
        _ => {
            let redo_lsn = b.u64() & !7;
            let next_txid = b.u64();
            let page_count = b.u32().min(NO_PAGE - 1);
            let pick = |v: u32| {
                if page_count == 0 || v % 3 == 0 {
                    NO_PAGE
                } else {
                    v % page_count
                }
            };
            let catalog_root = pick(b.u32());
            let free_list_head = pick(b.u32());
            PhysicalRecord::Checkpoint(Checkpoint {
                offset: 0,
                redo_lsn,
                next_txid,
                page_count,
                catalog_root,
                free_list_head,
            })
        }
    };
    rec.encode(&mut body).expect("valid record encodes");
    let back = PhysicalRecord::decode(&body, 0).expect("encoded record decodes");
    assert_eq!(back, rec);
    check_redo(&back, page_size);
    body
}

/// Redoes `rec` (at LSN `prev_lsn + 8`) onto a page whose LSN is its
/// `prev_lsn` and compares with a straightforward model.
fn check_redo(rec: &PhysicalRecord<'_>, page_size: usize) {
    let Some(pr) = rec.page_ref() else {
        let mut scratch = vec![0u8; page_size];
        assert_eq!(
            redo(rec, 8, &mut scratch).ok(),
            Some(RedoOutcome::NotAPageRecord)
        );
        return;
    };
    if pr.prev_lsn > u64::MAX - 8 {
        return;
    }
    let lsn = pr.prev_lsn + 8;
    let mut buf: Vec<u8> = (0..page_size).map(|i| (i * 7) as u8).collect();
    page::set_page_lsn(&mut buf, pr.prev_lsn);
    let mut model = buf.clone();
    match rec {
        PhysicalRecord::PageImage(r) => {
            let ho = r.hole_offset as usize;
            model.clear();
            model.extend_from_slice(&r.image[..ho]);
            model.resize(ho + r.hole_len as usize, 0);
            model.extend_from_slice(&r.image[ho..]);
        }
        PhysicalRecord::PageDelta(r) => {
            for d in r.ranges.iter() {
                let o = d.offset as usize;
                model[o..o + d.data.len()].copy_from_slice(d.data);
            }
        }
        PhysicalRecord::PageInit(r) => {
            model.fill(0);
            model[page::PAGE_TYPE_OFFSET] = r.page_type;
        }
        PhysicalRecord::PageFree(_) => model.fill(0),
        PhysicalRecord::Checkpoint(_) => unreachable!(),
    }
    page::set_page_lsn(&mut model, lsn);
    assert_eq!(
        redo(rec, lsn, &mut buf).expect("redo of a valid record"),
        RedoOutcome::Applied
    );
    assert!(buf == model, "redo differs from the model");
    // Idempotent.
    assert_eq!(
        redo(rec, lsn, &mut buf).ok(),
        Some(RedoOutcome::Skipped { page_lsn: lsn })
    );
    assert!(buf == model);
}

#[cfg(test)]
mod tests {
    use super::*;
    use replog_test_support::SmokeRng as Rng;

    /// Valid encodings to mutate, of every record type.
    fn seeds() -> Vec<Vec<u8>> {
        let mut rng = Rng::new(7);
        let mut out = Vec::new();
        for k in 0..5u8 {
            for _ in 0..4 {
                let mut d = rng.bytes_up_to(700);
                d.insert(0, k);
                d.insert(1, rng.next_u64() as u8 % 2);
                out.push(roundtrip(&d));
            }
        }
        out
    }

    #[test]
    fn smoke() {
        let mut rng = Rng::new(0x5EED);
        for _ in 0..300 {
            let d = rng.bytes_up_to(300);
            fuzz_decode(&d);
            fuzz_roundtrip(&d);
        }
        for seed in seeds() {
            fuzz_decode(&seed);
            for _ in 0..40 {
                let mut m = seed.clone();
                match rng.next_u64() % 4 {
                    0 => {
                        let i = rng.next_u64() as usize % m.len();
                        m[i] ^= 1 << (rng.next_u64() % 8);
                    }
                    1 => m.truncate(rng.next_u64() as usize % m.len()),
                    2 => m.push(rng.next_u64() as u8),
                    _ => {
                        let i = rng.next_u64() as usize % m.len();
                        m[i] = 0xff;
                    }
                }
                fuzz_decode(&m);
            }
        }
    }
}
