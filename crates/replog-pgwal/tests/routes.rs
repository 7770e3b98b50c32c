//! Every route to the bytes gives the same records: segment files mapped
//! window by window (small windows, so records straddle windows and
//! segments), and the same segments read from memory in chunks.

mod common;

use common::*;
use replog_pgwal::{SegmentInput, WalReader};

/// What a reader yields: per record its position, header and bytes, then
/// how it ended (or the error).
fn trace(mut r: WalReader) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => out.push(format!(
                "{} {} {} {:08X} {:?} {:?} {}",
                rec.lsn,
                rec.end,
                rec.header.tot_len,
                rec.header.crc,
                rec.body,
                rec.block_headers,
                rec.bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            )),
            Ok(None) => {
                out.push(format!("end {:?}", r.end()));
                return out;
            }
            Err(e) => {
                out.push(format!("error {e}"));
                return out;
            }
        }
    }
}

/// Names in errors and ends are the paths: compare with the same names.
fn by_name(segs: &[(String, Vec<u8>)], paths: &[std::path::PathBuf]) -> Vec<SegmentInput> {
    segs.iter()
        .zip(paths)
        .map(|((_, b), p)| SegmentInput::bytes(&p.display().to_string(), b.clone()))
        .collect()
}

#[test]
fn mapped_windows_and_memory_read_the_same_records() {
    for dir in fixture_dirs() {
        let segs = segments(&dir);
        let (_tmp, paths) = write_dir(&segs);
        let read = trace(WalReader::new(by_name(&segs, &paths)));
        assert!(read.len() > 1000, "{}", dir.display());
        for window in [64 << 10, 192 << 10, 8 << 20] {
            let mapped = trace(WalReader::open(&paths).with_window(window));
            assert_eq!(
                mapped.len(),
                read.len(),
                "{} window {window}",
                dir.display()
            );
            for (a, b) in mapped.iter().zip(&read) {
                assert_eq!(a, b, "{} window {window}", dir.display());
            }
        }
    }
}

#[test]
fn damage_in_a_record_across_windows_is_found_the_same_way() {
    let dir = fixtures().join("debian-15");
    let mut segs = segments(&dir);
    // A byte in the middle of the second segment's second 64 KiB window
    // boundary region: inside a record that straddles pages.
    segs[1].1[128 * 1024 + 100] ^= 0x20;
    let (_tmp, paths) = write_dir(&segs);
    let read = trace(WalReader::new(by_name(&segs, &paths)));
    let last = read.last().unwrap();
    assert!(last.starts_with("error "), "{last}");
    for window in [64 << 10, 8 << 20] {
        let mapped = trace(WalReader::open(&paths).with_window(window));
        assert_eq!(mapped.last(), read.last(), "window {window}");
        assert_eq!(mapped.len(), read.len(), "window {window}");
    }
}
