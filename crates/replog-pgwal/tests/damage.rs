//! Damage to real WAL is always found: bit flips anywhere in the written
//! WAL, truncations, missing and reordered segments; a zeroed tail is not
//! damage.

mod common;

use common::*;
use replog_core::recovery::DamageClass;
use replog_pgwal::{ErrorKind, Lsn, SegmentInput, WalEnd, WalReader};

fn debian() -> Vec<(String, Vec<u8>)> {
    segments(&fixtures().join("debian-15"))
}

/// Reads everything; the error if any.
fn read(segs: &[(String, Vec<u8>)]) -> Result<(usize, WalEnd), replog_pgwal::Error> {
    let mut r = WalReader::new(inputs(segs));
    let mut n = 0;
    while r.next_record()?.is_some() {
        n += 1;
    }
    Ok((n, r.end().cloned().unwrap()))
}

/// The WAL byte range that records occupy: from the first record to the end
/// of WAL, without the unused rest of the segment after XLOG_SWITCH.
fn written_ranges(segs: &[(String, Vec<u8>)]) -> (u64, Vec<(u64, u64)>) {
    let mut r = WalReader::new(inputs(segs));
    let mut ranges = Vec::new();
    let mut first = None;
    let mut start = 0;
    let mut seg_lsn = 0;
    while let Some(rec) = r.next_record().unwrap() {
        if first.is_none() {
            first = Some(rec.lsn.0);
            start = rec.lsn.0;
            let seg = u64::from(r_info(&rec));
            seg_lsn = rec.lsn.0 / seg * seg;
        }
        if rec.record_type() == Some("SWITCH") && rec.rmgr_name() == "XLOG" {
            ranges.push((start, rec.lsn.0 + u64::from(rec.header.tot_len)));
            start = rec.end.0;
        }
    }
    ranges.push((start, r.end().unwrap().lsn().0));
    (seg_lsn, ranges)
}

fn r_info(rec: &replog_pgwal::Record<'_>) -> u32 {
    // 1 MB segments in every fixture.
    let _ = rec;
    1 << 20
}

#[test]
fn clean_fixture_ends_in_a_zeroed_tail() {
    let (n, end) = read(&debian()).unwrap();
    assert!(n > 6000);
    match end {
        WalEnd::ZeroedTail {
            file, unused_files, ..
        } => {
            assert_eq!(file, "000000010000000000000009");
            assert!(unused_files.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_bit_flip_in_written_wal_is_detected_at_or_before_it() {
    let segs = debian();
    let (seg_lsn, ranges) = written_ranges(&segs);
    let total: u64 = ranges.iter().map(|(a, b)| b - a).sum();
    let samples = 160u64;
    let mut detected = 0;
    for i in 0..samples {
        // Spread the flips over the written bytes, a different bit each time.
        let mut k = total * i / samples + (i * 7919) % 97;
        let mut lsn = 0;
        for &(a, b) in &ranges {
            if k < b - a {
                lsn = a + k;
                break;
            }
            k -= b - a;
        }
        let seg = ((lsn - seg_lsn) >> 20) as usize;
        let off = (lsn % (1 << 20)) as usize;
        let mut damaged = segs.clone();
        damaged[seg].1[off] ^= 1 << (i % 8);
        let e = read(&damaged).expect_err(&format!(
            "flip at {} (segment {seg} offset {off}) not detected",
            Lsn(lsn)
        ));
        let at = e.lsn().unwrap_or_else(|| panic!("no LSN in {e}"));
        assert!(
            at.0 <= lsn,
            "flip at {} reported later, at {at}: {e}",
            Lsn(lsn)
        );
        assert!(e.offset().is_some() && e.file().is_some(), "{e}");
        detected += 1;
    }
    assert_eq!(detected, samples);
}

#[test]
fn a_flip_with_valid_records_after_it_is_corruption() {
    let mut segs = debian();
    // Inside the first records of the second segment: plenty follows.
    segs[1].1[40 + 30] ^= 0x10;
    let e = read(&segs).unwrap_err();
    assert_eq!(e.damage_class(), Some(DamageClass::Corrupt), "{e}");
}

#[test]
fn truncating_the_last_segment_is_a_torn_tail_and_a_middle_one_corruption() {
    let segs = debian();
    let last = segs.len() - 1;
    let end_off = (read(&segs).unwrap().1.lsn().0 % (1 << 20)) as usize;
    for cut in [100usize, 8192, 8192 + 5000, 40_000, end_off - 3] {
        let mut s = segs.clone();
        s[last].1.truncate(cut);
        let e = read(&s).unwrap_err();
        assert_eq!(
            e.damage_class(),
            Some(DamageClass::TornTail),
            "cut at {cut}: {e}"
        );
        assert_eq!(e.kind(), ErrorKind::Truncated, "cut at {cut}: {e}");
        assert!(e.file().unwrap().ends_with("09"), "{e}");
    }
    // Cut in the zeros after the end of WAL: nothing written is lost.
    let mut s = segs.clone();
    s[last].1.truncate(end_off + 4096);
    assert!(matches!(read(&s).unwrap().1, WalEnd::ZeroedTail { .. }));
    let mut s = segs.clone();
    s[1].1.truncate(300_000);
    let e = read(&s).unwrap_err();
    assert_eq!(e.damage_class(), Some(DamageClass::Corrupt), "{e}");
    assert_eq!(e.offset(), Some(300_000), "{e}");
}

#[test]
fn missing_or_reordered_segments_are_gaps() {
    let segs = debian();
    let mut s = segs.clone();
    s.remove(2);
    let e = read(&s).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Gap, "{e}");
    assert!(e.to_string().contains("000000010000000000000008"), "{e}");
    let mut s = segs.clone();
    s.swap(1, 2);
    assert_eq!(read(&s).unwrap_err().kind(), ErrorKind::Gap);
}

#[test]
fn unknown_page_magic_is_refused_with_the_magic_and_offset() {
    let mut segs = debian();
    segs[0].1[0] = 0x99;
    let e = read(&segs).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownVersion);
    assert!(e.message().contains("0xD199"), "{e}");
    assert_eq!(e.offset(), Some(0));
}

#[test]
fn a_huge_record_length_does_not_allocate_before_its_bytes_exist() {
    // A record claiming 1000 MB at the end of the WAL: the reader must stop
    // at the missing continuation without reserving the claimed length.
    let mut segs = debian();
    let last = segs.len() - 1;
    let (n, end) = read(&segs).unwrap();
    assert!(n > 0);
    let off = (end.lsn().0 % (1 << 20)) as usize;
    let seg = &mut segs[last].1;
    seg[off..off + 4].copy_from_slice(&(1000u32 << 20).to_le_bytes());
    let e = read(&segs).unwrap_err();
    assert_eq!(e.damage_class(), Some(DamageClass::TornTail), "{e}");
}

#[test]
fn segment_files_and_partial_files_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let segs = debian();
    for (i, (name, bytes)) in segs.iter().enumerate() {
        let name = if i + 1 == segs.len() {
            format!("{name}.partial")
        } else {
            name.clone()
        };
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    std::fs::write(dir.path().join("00000002.history"), b"1\t0/0\tno reason\n").unwrap();
    let files = replog_pgwal::segment::list_directory(dir.path()).unwrap();
    assert_eq!(files.len(), segs.len());
    let mut r = WalReader::open(&files);
    let mut n = 0;
    while r.next_record().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, read(&segs).unwrap().0);
    let _ = SegmentInput::path(&files[0]);
}
