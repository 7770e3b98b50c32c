//! Directory mode: a store recovered from its own WAL after simulated
//! crashes. The WAL is cut at every frame boundary and at byte offsets
//! inside frames, and its tail garbled (random bytes, zeros); every reopen
//! must hold exactly the transactions committed before the cut, continue
//! the WAL cleanly after them, and reopen again the same way.

use replog_core::reader::{Event, LogReader, ReaderOptions, segment_paths};
use replog_core::segment::HEADER_LEN;
use replog_core::writer::Durability;
use replog_core::{LogKind, Record};
use replog_pagestore::{Options, PageStore, WAL_DIR};
use replog_physical::PhysicalFormat;
use replog_store::snapshot::AppliedPosition;
use replog_store::{SimEnvironment, Storage, Store};
use replog_test_support::SmokeRng;
use std::path::{Path, PathBuf};

fn opts(page_size: usize, segment_size: u64) -> Options {
    let mut o = Options::with_page_size(page_size);
    o.checkpoint_every = 5;
    o.writer.durability = Durability::Os;
    o.writer.segment_size = segment_size;
    o
}

/// One SQL transaction of the workload.
fn txn(i: u32) -> String {
    match i % 5 {
        0 => format!(
            "INSERT INTO d.t VALUES ({i}, 'row {i}', '{}'), ({}, 'pair {i}', NULL);",
            "x".repeat((i as usize * 37) % 900),
            i + 10_000
        ),
        1 => format!(
            "BEGIN; UPDATE d.t SET v = CONCAT(v, '+') WHERE id < {i}; DELETE FROM d.t WHERE id = {}; COMMIT;",
            i.saturating_sub(6)
        ),
        2 => format!("INSERT INTO d.t VALUES ({i}, 'single', 'y');"),
        3 => format!(
            "UPDATE d.t SET big = REPEAT('z', {}) WHERE id = {};",
            i * 11,
            i - 3
        ),
        _ => format!("DELETE FROM d.t WHERE id = {};", i + 9_990),
    }
}

const SCHEMA: &str =
    "CREATE DATABASE d; CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(200) UNIQUE, big TEXT);";

/// Builds a store in `dir`; returns the digest after each committed WAL
/// transaction, keyed by the LSN just past its COMMIT.
fn build(dir: &Path, o: &Options, n: u32) -> Vec<(u64, u64)> {
    let (p, rec) = PageStore::open_dir(dir, o.clone()).unwrap();
    assert!(rec.created);
    let mut s = Store::with_storage(p, SimEnvironment::default());
    s.execute_script(SCHEMA).unwrap();
    for i in 1..=n {
        s.execute_script(&txn(i)).unwrap();
    }
    s.into_storage().finish().unwrap();
    wal_commits(dir)
}

/// (LSN past each COMMIT, state_after) of the WAL in `dir`.
fn wal_commits(dir: &Path) -> Vec<(u64, u64)> {
    let mut r = LogReader::open(&[dir.join(WAL_DIR)], ReaderOptions::default()).unwrap();
    let mut out = Vec::new();
    while let Some(ev) = r.next() {
        if let Event::Frame(f) = ev.unwrap()
            && let Record::Commit(c) =
                replog_core::record::decode_record::<PhysicalFormat>(f.body, 0).unwrap()
        {
            out.push((f.lsn + f.disk_len(), c.state_after.unwrap()));
        }
    }
    assert!(r.summary().damage.is_empty(), "{:?}", r.summary().damage);
    out
}

/// Frame boundaries (file offsets) of the single segment in `dir`.
fn boundaries(seg: &Path) -> Vec<u64> {
    let mut r = LogReader::open(&[seg.to_path_buf()], ReaderOptions::default()).unwrap();
    let mut out = vec![HEADER_LEN as u64];
    while let Some(ev) = r.next() {
        if let Event::Frame(f) = ev.unwrap() {
            out.push(HEADER_LEN as u64 + f.lsn + f.disk_len());
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join(WAL_DIR)).unwrap();
    for s in segment_paths(&from.join(WAL_DIR)).unwrap() {
        std::fs::copy(&s, to.join(WAL_DIR).join(s.file_name().unwrap())).unwrap();
    }
}

fn only_segment(dir: &Path) -> PathBuf {
    let s = segment_paths(&dir.join(WAL_DIR)).unwrap();
    assert_eq!(s.len(), 1);
    s[0].clone()
}

/// Reopens the crashed copy in `dir`: it must hold the last transaction
/// committed at or before `cut` (a file offset of the single segment),
/// take new transactions, and reopen cleanly with them.
fn check_reopen(dir: &Path, o: &Options, cut: u64, commits: &[(u64, u64)], what: &str) {
    let want = commits
        .iter()
        .rev()
        .find(|(end, _)| HEADER_LEN as u64 + end <= cut)
        .copied();
    // Read-only recovery first: it changes nothing and sees the same.
    let read = PageStore::read_dir(dir, o).unwrap_or_else(|e| panic!("{what}: {e}"));
    let read_digest = read.0.digest_all_tables();
    assert_eq!(read.1.end_lsn, want.map_or(0, |w| w.0), "{what}");
    let opened = PageStore::open_dir(dir, o.clone());
    let Some((end, digest)) = want else {
        // Not even the store's creation committed: a fresh store.
        assert_eq!(read_digest, 0);
        assert!(read.0.tables().is_empty() && read.0.position().is_none());
        let (p, rec) = opened.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(rec.created, "{what}");
        assert_eq!(p.digest_all_tables(), 0);
        return;
    };
    let (p, rec) = opened.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(!rec.created, "{what}");
    assert_eq!(rec.end_lsn, end, "{what}: continues after the wrong COMMIT");
    let mut s = Store::with_storage(p, SimEnvironment::default());
    assert_eq!(s.digest(), digest, "{what}: not the committed prefix");
    assert_eq!(read_digest, digest, "{what}: read_dir differs");
    // The WAL continues cleanly: one more transaction, reopen, same state.
    let r = s.execute_script(
        "CREATE DATABASE IF NOT EXISTS d; CREATE TABLE IF NOT EXISTS d.t (id INT PRIMARY KEY, v VARCHAR(200) UNIQUE, big TEXT); INSERT INTO d.t VALUES (777777, 'after crash', NULL);",
    );
    r.unwrap_or_else(|e| panic!("{what}: {e}"));
    let after = s.digest();
    s.into_storage().finish().unwrap();
    let (p, rec) = PageStore::open_dir(dir, o.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        !rec.cut_anything(),
        "{what}: reopened WAL has a tail: {rec:?}"
    );
    assert_eq!(
        Store::with_storage(p, SimEnvironment::default()).digest(),
        after,
        "{what}"
    );
    assert_eq!(wal_commits(dir).last().unwrap().1, after, "{what}");
}

trait DigestAll {
    fn digest_all_tables(&self) -> u64;
}

impl DigestAll for PageStore {
    fn digest_all_tables(&self) -> u64 {
        self.tables()
            .into_iter()
            .fold(0u64, |a, id| a.wrapping_add(self.digest(id)))
    }
}

#[test]
fn cut_at_every_frame_boundary_and_inside_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let o = opts(1024, 1 << 30);
    let base = tmp.path().join("base");
    let commits = build(&base, &o, 24);
    let seg = only_segment(&base);
    let bytes = std::fs::read(&seg).unwrap();
    let bounds = boundaries(&seg);
    assert!(bounds.len() > 100, "{} frames", bounds.len());
    let mut rng = SmokeRng::new(7);
    let mut cuts: Vec<u64> = Vec::new();
    for w in bounds.windows(2) {
        cuts.push(w[0]);
        let len = w[1] - w[0];
        cuts.push(w[0] + 1 + rng.below((len - 1) as usize) as u64);
    }
    cuts.push(bytes.len() as u64);
    cuts.extend([0, 7, HEADER_LEN as u64 - 1]);
    for (n, &cut) in cuts.iter().enumerate() {
        let d = tmp.path().join(format!("cut{n}"));
        copy_dir(&base, &d);
        let s = only_segment(&d);
        std::fs::write(&s, &bytes[..cut as usize]).unwrap();
        check_reopen(&d, &o, cut, &commits, &format!("cut at {cut}"));
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn garbled_tail_is_cut_but_damage_before_valid_frames_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let o = opts(1024, 1 << 30);
    let base = tmp.path().join("base");
    let commits = build(&base, &o, 12);
    let seg = only_segment(&base);
    let bytes = std::fs::read(&seg).unwrap();
    let bounds = boundaries(&seg);
    let mut rng = SmokeRng::new(11);
    for (n, w) in bounds.windows(2).enumerate().skip(3) {
        // The crash left garbage (or zeros) from inside frame n to the end
        // of what was being written: nothing valid after it.
        let from = w[0] + rng.below((w[1] - w[0]) as usize) as u64;
        let to = (w[1] + rng.below(200) as u64).min(bytes.len() as u64 + 64);
        let mut b = bytes[..from as usize].to_vec();
        for _ in from..to {
            b.push(if n % 3 == 0 { 0 } else { rng.below(256) as u8 });
        }
        let d = tmp.path().join(format!("garble{n}"));
        copy_dir(&base, &d);
        std::fs::write(only_segment(&d), &b).unwrap();
        check_reopen(
            &d,
            &o,
            from,
            &commits,
            &format!("garbled from {from} to {to}"),
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
    // A flipped byte in an early frame, with valid frames after it, is
    // corruption, not a torn write: refused, and nothing is cut.
    let d = tmp.path().join("corrupt");
    copy_dir(&base, &d);
    let mut b = bytes.clone();
    let at = bounds[5] as usize + 12;
    b[at] ^= 0x40;
    std::fs::write(only_segment(&d), &b).unwrap();
    let e = PageStore::open_dir(&d, o.clone()).unwrap_err().to_string();
    assert!(e.contains("refusing to recover"), "{e}");
    assert_eq!(std::fs::read(only_segment(&d)).unwrap(), b, "nothing cut");
    assert!(PageStore::read_dir(&d, &o).is_err());
}

#[test]
fn rotated_segments_torn_header_and_continuation() {
    let tmp = tempfile::tempdir().unwrap();
    let o = opts(512, 4096);
    let base = tmp.path().join("base");
    let commits = build(&base, &o, 30);
    let segs = segment_paths(&base.join(WAL_DIR)).unwrap();
    assert!(segs.len() > 3, "{} segments", segs.len());
    // A segment whose header was being written when the process died.
    let d = tmp.path().join("torn-header");
    copy_dir(&base, &d);
    let last_end = commits.last().unwrap().0;
    let name = replog_core::segment::segment_file_name(last_end + 4096);
    std::fs::write(d.join(WAL_DIR).join(&name), [0x89, b'R', b'P']).unwrap();
    let (p, rec) = PageStore::open_dir(&d, o.clone()).unwrap();
    assert!(rec.torn_tail.is_some(), "{rec:?}");
    assert!(
        !d.join(WAL_DIR).join(&name).exists(),
        "torn segment removed"
    );
    let mut s = Store::with_storage(p, SimEnvironment::default());
    assert_eq!(s.digest(), commits.last().unwrap().1);
    for i in 31..=45 {
        s.execute_script(&txn(i)).unwrap();
    }
    let want = s.digest();
    s.into_storage().finish().unwrap();
    let (p, rec) = PageStore::open_dir(&d, o.clone()).unwrap();
    assert!(!rec.cut_anything());
    assert_eq!(
        Store::with_storage(p, SimEnvironment::default()).digest(),
        want
    );
    // The reopened store's WAL, read as a log, redoes to the same state
    // with every COMMIT's digest checked and txids never reused.
    let (p, rep) = PageStore::from_wal_with(
        LogReader::open(&[d.join(WAL_DIR)], ReaderOptions::default()).unwrap(),
        &o,
        &replog_pagestore::RedoOptions {
            until: None,
            check_states: true,
        },
    )
    .unwrap();
    assert!(rep.state_mismatches.is_empty() && rep.state_gaps.is_empty());
    assert_eq!(
        Store::with_storage(p, SimEnvironment::default()).digest(),
        want
    );
    let mut txids = Vec::new();
    let mut r = LogReader::open(&[d.join(WAL_DIR)], ReaderOptions::default()).unwrap();
    while let Some(ev) = r.next() {
        if let Event::Frame(f) = ev.unwrap()
            && let Record::Begin(b) =
                replog_core::record::decode_record::<PhysicalFormat>(f.body, 0).unwrap()
        {
            txids.push(b.txid);
        }
    }
    assert!(txids.windows(2).all(|w| w[0] < w[1]), "{txids:?}");
}

#[test]
fn refuses_another_page_size_and_keeps_the_position_with_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("s");
    let o = opts(1024, 1 << 20);
    let (p, _) = PageStore::open_dir(&d, o.clone()).unwrap();
    assert_eq!(PageStore::dir_page_size(&d).unwrap(), Some(1024));
    let mut s = Store::with_storage(p, SimEnvironment::default());
    s.execute_script(SCHEMA).unwrap();
    assert_eq!(s.storage().position(), None);
    let pos = AppliedPosition {
        kind: Some(LogKind::Logical),
        log_id: [9; 16],
        applied_lsn: 4096,
        last_txid: 17,
        digest: 0,
    };
    s.storage().stage_position(&pos);
    s.execute("INSERT INTO d.t VALUES (1, 'a', NULL)").unwrap();
    let want = AppliedPosition {
        digest: s.digest(),
        ..pos
    };
    assert_eq!(s.storage().position(), Some(want));
    // A staged position is dropped by a rollback: not written.
    s.storage().stage_position(&AppliedPosition {
        last_txid: 18,
        ..pos
    });
    assert!(
        s.execute("INSERT INTO d.t VALUES (1, 'dup', NULL)")
            .is_err()
    );
    s.execute("INSERT INTO d.t VALUES (2, 'b', NULL)").unwrap();
    assert_eq!(s.storage().position(), Some(want));
    let digest = s.digest();
    s.into_storage().finish().unwrap();
    let (p, _) = PageStore::open_dir(&d, o.clone()).unwrap();
    assert_eq!(p.position(), Some(want));
    p.verify().unwrap();
    assert_eq!(
        Store::with_storage(p, SimEnvironment::default()).digest(),
        digest
    );
    let (p, _) = PageStore::read_dir(&d, &o).unwrap();
    assert_eq!(p.position(), Some(want));
    // Stores not in directory mode (a leader's, a conversion's) ignore
    // positions: their WAL stays exactly a leader's.
    let mut m = Store::with_storage(
        PageStore::new(o.clone()).unwrap(),
        SimEnvironment::default(),
    );
    m.storage().stage_position(&pos);
    m.execute_script(SCHEMA).unwrap();
    assert_eq!(m.storage().position(), None);
    let (r, _) = PageStore::from_wal_bytes(m.storage().wal_bytes().unwrap(), &o).unwrap();
    assert_eq!(r.position(), None);
    // Another page size is refused with a clear message.
    let e = PageStore::open_dir(&d, opts(4096, 1 << 20))
        .unwrap_err()
        .to_string();
    assert!(e.contains("1024-byte pages"), "{e}");
    // A WAL of another page format is refused.
    let seg = only_segment(&d);
    let mut b = std::fs::read(&seg).unwrap();
    let mut h = replog_core::segment::SegmentHeader::parse(&b, 0).unwrap();
    h.page_format += 1;
    b[..HEADER_LEN].copy_from_slice(&h.encode());
    std::fs::write(&seg, &b).unwrap();
    let e = PageStore::open_dir(&d, o).unwrap_err().to_string();
    assert!(e.contains("page format"), "{e}");
}

#[test]
fn inherent_commits_survive_a_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("s");
    let o = opts(8192, 1 << 20);
    let (mut p, _) = PageStore::open_dir(&d, o.clone()).unwrap();
    p.create_database("x").unwrap();
    p.commit().unwrap();
    p.finish().unwrap();
    let (p, rec) = PageStore::open_dir(&d, o).unwrap();
    assert!(!rec.created);
    assert!(p.database_exists("x"));
}

#[test]
fn page_image_shortens_recovery_and_a_stale_one_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let o = opts(1024, 1 << 30);
    let base = tmp.path().join("base");
    let (p, _) = PageStore::open_dir(&base, o.clone()).unwrap();
    let mut s = Store::with_storage(p, SimEnvironment::default());
    s.execute_script(SCHEMA).unwrap();
    for i in 1..=10 {
        s.execute_script(&txn(i)).unwrap();
    }
    assert!(s.storage().write_image().unwrap());
    let image_at = s.storage().wal_end_lsn();
    for i in 11..=20 {
        s.execute_script(&txn(i)).unwrap();
    }
    s.into_storage().finish().unwrap();
    let commits = wal_commits(&base);
    let image_end = commits
        .iter()
        .map(|c| c.0)
        .filter(|&e| e <= image_at)
        .max()
        .unwrap();
    assert!(base.join(replog_pagestore::IMAGE_FILE).is_file());
    // Reopened intact: from the image, redoing only what follows it.
    let (p, rec) = PageStore::read_dir(&base, &o).unwrap();
    assert_eq!(rec.image_lsn, Some(image_end));
    let all = commits.len() as u64;
    // (One segment: it is read from its start, but what the image holds
    // is passed over by page LSN instead of applied.)
    let full = PageStore::from_wal_paths(&[base.join(WAL_DIR)], &o)
        .unwrap()
        .1;
    assert!(
        rec.redo.applied < full.applied && rec.redo.skipped > 0,
        "{rec:?} vs {full:?}"
    );
    assert_eq!(
        Store::with_storage(p, SimEnvironment::default()).digest(),
        commits.last().unwrap().1
    );
    // Crashes at every frame boundary: before the image's LSN the image is
    // ahead of the WAL, is not used, and is removed; at or after it, it is.
    let seg = only_segment(&base);
    let bytes = std::fs::read(&seg).unwrap();
    for (n, cut) in boundaries(&seg).into_iter().enumerate().skip(1) {
        let d = tmp.path().join(format!("img{n}"));
        copy_dir(&base, &d);
        std::fs::copy(
            base.join(replog_pagestore::IMAGE_FILE),
            d.join(replog_pagestore::IMAGE_FILE),
        )
        .unwrap();
        std::fs::write(only_segment(&d), &bytes[..cut as usize]).unwrap();
        let (_, rec) = PageStore::read_dir(&d, &o).unwrap();
        let usable = cut >= HEADER_LEN as u64 + image_end;
        assert_eq!(rec.image_lsn.is_some(), usable, "cut at {cut}: {rec:?}");
        check_reopen(&d, &o, cut, &commits, &format!("image, cut at {cut}"));
        if !usable {
            assert!(
                !d.join(replog_pagestore::IMAGE_FILE).exists(),
                "cut at {cut}: stale image kept"
            );
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
    // A damaged image is ignored: the WAL alone rebuilds the store.
    let img = base.join(replog_pagestore::IMAGE_FILE);
    let mut b = std::fs::read(&img).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    std::fs::write(&img, &b).unwrap();
    let (p, rec) = PageStore::read_dir(&base, &o).unwrap();
    assert_eq!(rec.image_lsn, None);
    assert_eq!(rec.redo.transactions, all);
    assert_eq!(
        Store::with_storage(p, SimEnvironment::default()).digest(),
        commits.last().unwrap().1
    );
}

#[test]
fn page_images_are_written_at_checkpoints_as_the_wal_grows() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("s");
    let o = opts(4096, 256 << 10);
    let (p, _) = PageStore::open_dir(&d, o.clone()).unwrap();
    let mut s = Store::with_storage(p, SimEnvironment::default());
    s.execute_script(SCHEMA).unwrap();
    let mut i = 0;
    while s.storage().wal_end_lsn() < 4 << 20 && !d.join(replog_pagestore::IMAGE_FILE).exists() {
        i += 1;
        s.execute(&format!(
            "INSERT INTO d.t VALUES ({i}, 'v{i}', REPEAT('w', 2000))"
        ))
        .unwrap();
        if i % 3 == 0 {
            s.execute(&format!("DELETE FROM d.t WHERE id = {}", i - 1))
                .unwrap();
        }
    }
    assert!(
        d.join(replog_pagestore::IMAGE_FILE).is_file(),
        "no image after {i} rows"
    );
    let want = s.digest();
    s.into_storage().finish().unwrap();
    let (p, rec) = PageStore::open_dir(&d, o).unwrap();
    let image = rec.image_lsn.expect("recovery starts from the image");
    assert!(image > 1 << 20);
    // Only the segment holding the image's LSN and later ones are read.
    let total = wal_commits(&d).len() as u64;
    assert!(
        rec.redo.transactions * 2 < total,
        "{} of {total} transactions read",
        rec.redo.transactions
    );
    assert_eq!(
        Store::with_storage(p, SimEnvironment::default()).digest(),
        want
    );
}
