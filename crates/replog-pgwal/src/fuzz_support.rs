//! Entry points for the fuzz targets in `fuzz/fuzz_targets/` (and their
//! smoke tests under `cargo test`). None may panic, whatever the input.

use crate::consts::PgVersion;
use crate::image::restore_page;
use crate::record::{BlockHeader, RecordHeader, decode_record};
use crate::{Lsn, Record, SegmentInput, WalReader};

/// Reads `data` as the start of a segment (CRC checks off, so mutations
/// reach the record decoder), then as two segments split in the middle,
/// touching every part of every record: blocks, images restored, main
/// data, description.
pub fn fuzz_reader(data: &[u8]) {
    let whole = vec![SegmentInput::bytes("fuzz", data.to_vec())];
    drain(WalReader::new(whole).without_crc_checks());
    let mid = data.len() / 2;
    let split = vec![
        SegmentInput::bytes("000000010000000000000001", data[..mid].to_vec()),
        SegmentInput::bytes("000000010000000000000002", data[mid..].to_vec()),
    ];
    drain(WalReader::new(split));
}

fn drain(mut r: WalReader) {
    let mut page = Vec::new();
    let mut n = 0;
    while let Ok(Some(rec)) = r.next_record() {
        touch(&rec, &mut page);
        n += 1;
        if n > 100_000 {
            break;
        }
    }
    let _ = r.end();
}

fn touch(rec: &Record<'_>, page: &mut Vec<u8>) {
    let _ = rec.main_data().len();
    let _ = rec.record_type();
    let _ = rec.describe();
    for b in rec.blocks() {
        if let (Some(img), Some(stored)) = (&b.header.image, b.image) {
            let restored = restore_page(img, stored, rec.block_size, page);
            // `replog verify` relies on this: the reader's checks leave an
            // uncompressed image nothing that can fail.
            if img.compression == crate::ImageCompression::None {
                assert!(restored.is_ok(), "{restored:?}");
            }
        }
    }
}

/// Decodes `data[1..]` as one whole record of the version chosen by
/// `data[0]`, with block size 8192; then restores its images and describes it.
pub fn fuzz_blocks(data: &[u8]) {
    let Some((&sel, record)) = data.split_first() else {
        return;
    };
    let version = PgVersion::ALL[usize::from(sel) % PgVersion::ALL.len()];
    let mut blocks: Vec<BlockHeader> = Vec::new();
    let Ok(body) = decode_record(record, version, 8192, &mut blocks) else {
        return;
    };
    let Some(header) = RecordHeader::parse(record) else {
        return;
    };
    let rec = Record {
        lsn: Lsn(0),
        end: Lsn(0),
        header,
        bytes: crate::Bytes::Whole(record),
        body,
        block_headers: &blocks,
        version,
        block_size: 8192,
        segment_size: 16 << 20,
        file: "fuzz",
        offset: 0,
        timeline: 1,
    };
    touch(&rec, &mut Vec::new());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic generator for mutations.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn sample() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/postgres/debian-15/wal/000000010000000000000006.zst"
        );
        let seg = zstd::decode_all(std::fs::File::open(path).unwrap()).unwrap();
        seg[..64 * 1024].to_vec()
    }

    #[test]
    fn smoke_reader() {
        let base = sample();
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        fuzz_reader(&base);
        for _ in 0..200 {
            let mut d = base.clone();
            for _ in 0..1 + rng.next() % 8 {
                let i = (rng.next() as usize) % d.len();
                d[i] = rng.next() as u8;
            }
            if rng.next() % 4 == 0 {
                d.truncate((rng.next() as usize) % d.len());
            }
            fuzz_reader(&d);
        }
    }

    #[test]
    fn smoke_blocks() {
        // Records of the fixture as seeds, then mutated.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/postgres/debian-15/wal/000000010000000000000006.zst"
        );
        let base = zstd::decode_all(std::fs::File::open(path).unwrap()).unwrap();
        let mut r = WalReader::new(vec![SegmentInput::bytes("s", base)]);
        let mut seeds = Vec::new();
        while let Ok(Some(rec)) = r.next_record() {
            seeds.push(rec.bytes().to_vec());
            if seeds.len() == 150 {
                break;
            }
        }
        assert_eq!(seeds.len(), 150);
        let mut rng = XorShift(42);
        for s in &seeds {
            for _ in 0..4 {
                let mut d = vec![(rng.next() % 6) as u8];
                d.extend_from_slice(s);
                let n = d.len();
                for _ in 0..1 + rng.next() % 4 {
                    let i = 1 + (rng.next() as usize) % (n - 1);
                    d[i] = rng.next() as u8;
                }
                fuzz_blocks(&d);
            }
        }
    }
}
