//! Reading in parts on several threads gives what one pass gives: the same
//! records in the same order, the same end, and the same first damage with
//! the same classification, wherever the damage is (in a part, at a part's
//! first page, in a record that runs from one part into the next).

mod common;

use std::ops::ControlFlow;
use std::path::PathBuf;

use common::*;
use replog_pgwal::WalReader;
use replog_pgwal::parallel::read_parts;

/// Per record its position, end, length and CRC.
fn line(rec: &replog_pgwal::Record<'_>) -> String {
    format!(
        "{} {} {} {:08X} {:?}",
        rec.lsn, rec.end, rec.header.tot_len, rec.header.crc, rec.body
    )
}

/// One pass: the records, then how it ended.
fn one_pass(paths: &[PathBuf]) -> Vec<String> {
    let mut r = WalReader::open(paths);
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => out.push(line(&rec)),
            Ok(None) => {
                out.push(format!("end {:?}", r.end()));
                return out;
            }
            Err(e) => {
                out.push(format!("error {:?} {e}", e.damage_class()));
                return out;
            }
        }
    }
}

/// In parts on `threads` threads: the records, how it ended, and the
/// number of parts consumed.
fn in_parts(paths: &[PathBuf], threads: usize) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut parts = 0;
    let ending = read_parts(
        paths,
        None,
        threads,
        Vec::new,
        |v: &mut Vec<String>, rec| {
            v.push(line(rec));
            ControlFlow::Continue(())
        },
        |v: &mut Vec<String>| {
            parts += 1;
            out.append(v);
            Ok::<_, ()>(())
        },
    )
    .unwrap();
    assert!(!ending.stopped);
    match ending.error {
        Some(e) => out.push(format!("error {:?} {e}", e.damage_class())),
        None => out.push(format!("end {:?}", ending.end.as_ref())),
    }
    (out, parts)
}

#[test]
fn parts_read_the_records_of_one_pass() {
    for dir in fixture_dirs() {
        let segs = segments(&dir);
        let (_tmp, paths) = write_dir(&segs);
        let want = one_pass(&paths);
        assert!(want.len() > 1000, "{}", dir.display());
        for threads in [2, 3] {
            let (got, parts) = in_parts(&paths, threads);
            assert_eq!(parts, segs.len(), "{}: one part per segment", dir.display());
            assert_eq!(got.len(), want.len(), "{} threads {threads}", dir.display());
            for (a, b) in got.iter().zip(&want) {
                assert_eq!(a, b, "{} threads {threads}", dir.display());
            }
        }
        // One thread: one pass, handed over every 1024 records.
        let (got, batches) = in_parts(&paths, 1);
        assert_eq!(got, want, "{}", dir.display());
        assert_eq!(
            batches,
            (want.len() - 1) / 1024 + 1 + usize::from((want.len() - 1) % 1024 == 0),
            "{}",
            dir.display()
        );
    }
}

#[test]
fn damage_anywhere_is_found_as_one_pass_finds_it() {
    let segs = segments(&fixtures().join("debian-15"));
    let seg = segs[0].1.len();
    // Page headers of segments (the first page of a part), the first
    // bytes after them (the end of a record begun in the previous part),
    // the middle and the end of segments, and spread positions.
    let mut places: Vec<(usize, usize)> = Vec::new();
    for s in 0..segs.len() {
        for off in [
            0,
            3,
            10,
            17,
            30,
            40,
            41,
            60,
            300,
            8192 + 2,
            8192 + 30,
            seg / 2,
            seg - 100,
        ] {
            places.push((s, off));
        }
    }
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        places.push(((x % segs.len() as u64) as usize, (x >> 8) as usize % seg));
    }
    let mut damaged = 0;
    for (s, off) in places {
        let mut d = segs.clone();
        d[s].1[off] ^= 0x08;
        let (_tmp, paths) = write_dir(&d);
        let want = one_pass(&paths);
        if want.last().unwrap().starts_with("error") {
            damaged += 1;
        }
        let (got, _) = in_parts(&paths, 2);
        assert_eq!(got.len(), want.len(), "flip at segment {s} offset {off}");
        assert_eq!(got.last(), want.last(), "flip at segment {s} offset {off}");
        assert_eq!(got, want, "flip at segment {s} offset {off}");
    }
    assert!(damaged > 40, "{damaged} flips found");
}

#[test]
fn truncated_and_missing_segments_end_as_one_pass_ends() {
    let segs = segments(&fixtures().join("debian-15"));
    for (s, cut) in [(1, 300_000), (1, 30), (2, 5000), (3, 100), (3, 40_000)] {
        let mut d = segs.clone();
        d[s].1.truncate(cut);
        let (_tmp, paths) = write_dir(&d);
        let want = one_pass(&paths);
        assert!(
            want.last().unwrap().starts_with("error"),
            "{:?}",
            want.last()
        );
        assert_eq!(in_parts(&paths, 2).0, want, "segment {s} cut at {cut}");
    }
    let mut d = segs.clone();
    d.remove(2);
    let (_tmp, paths) = write_dir(&d);
    let want = one_pass(&paths);
    assert!(
        want.last().unwrap().contains("missing or out of order"),
        "{:?}",
        want.last()
    );
    assert_eq!(in_parts(&paths, 2).0, want);
}

#[test]
fn a_callback_stops_the_reading_in_wal_order() {
    let segs = segments(&fixtures().join("debian-15"));
    let (_tmp, paths) = write_dir(&segs);
    let all = one_pass(&paths);
    // Stop at a record in the third segment: everything before it, in order.
    let stop = all.len() * 3 / 4;
    let stop_lsn = all[stop].split(' ').next().unwrap().to_string();
    let mut got = Vec::new();
    let ending = read_parts(
        &paths,
        None,
        2,
        Vec::new,
        |v: &mut Vec<String>, rec| {
            if rec.lsn.to_string() == stop_lsn {
                return ControlFlow::Break(());
            }
            v.push(line(rec));
            ControlFlow::Continue(())
        },
        |v: &mut Vec<String>| {
            got.append(v);
            Ok::<_, ()>(())
        },
    )
    .unwrap();
    assert!(ending.stopped && ending.error.is_none() && ending.end.is_none());
    assert_eq!(got, all[..stop]);
}
