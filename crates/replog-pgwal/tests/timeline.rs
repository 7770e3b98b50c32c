//! A real switch from timeline 1 to timeline 2 (`fixtures/postgres/timeline`,
//! Debian's PostgreSQL 15 after archive recovery): the directory is read
//! across the switch as PostgreSQL reads it, every record equal to
//! pg_waldump's listing of each timeline, and missing segments, wrong
//! histories and segments of the wrong timeline are damage.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use replog_pgwal::desc::waldump_line;
use replog_pgwal::history::{self, TimelineHistory};
use replog_pgwal::{ErrorKind, Lsn, WalEnd, WalReader, segment};

fn fixture() -> PathBuf {
    fixtures().join("timeline/debian-15")
}

/// The fixture's WAL directory, decompressed into a temporary directory
/// (segments, the `.partial` one and `00000002.history`).
fn wal_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture().join("wal")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        match name.strip_suffix(".zst") {
            Some(stem) => {
                let bytes = zstd::decode_all(std::fs::File::open(&p).unwrap()).unwrap();
                std::fs::write(dir.path().join(stem), bytes).unwrap();
            }
            None => {
                std::fs::copy(&p, dir.path().join(&name)).unwrap();
            }
        }
    }
    dir
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect()
}

/// The history of timeline 2 in `dir`.
fn history_2(dir: &Path) -> TimelineHistory {
    let all = history::read_directory(dir).unwrap();
    assert_eq!(all.len(), 1);
    all.into_iter().next().unwrap()
}

fn lsn_of(line: &str) -> Lsn {
    let at = line.find("lsn: ").unwrap() + 5;
    Lsn::parse(line[at..].split(',').next().unwrap()).unwrap()
}

/// pg_waldump's lines for the WAL of timeline 2's history: timeline 1's
/// listing (up to its end, which is the switch point), then timeline 2's
/// from the switch point on (its first segment begins with the copy of
/// timeline 1's WAL before the switch point).
fn oracle(switch: Lsn) -> Vec<String> {
    let one = read_zst(&fixture().join("waldump-1.txt.zst"));
    let two = read_zst(&fixture().join("waldump-2.txt.zst"));
    let mut lines: Vec<String> = one.lines().map(str::to_string).collect();
    assert!(lines.iter().all(|l| lsn_of(l) < switch));
    let before = lines.len();
    lines.extend(
        two.lines()
            .filter(|l| lsn_of(l) >= switch)
            .map(str::to_string),
    );
    assert!(
        before > 1000 && lines.len() > before + 1000,
        "{before} {}",
        lines.len()
    );
    lines
}

/// Every record of the reader, as pg_waldump's lines; the error that ended
/// it, if any.
fn read_all(mut r: WalReader) -> (Vec<String>, Option<replog_pgwal::Error>, WalReader) {
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => {
                let mut s = String::new();
                waldump_line(&rec, &mut s);
                out.push(s);
            }
            Ok(None) => return (out, None, r),
            Err(e) => return (out, Some(e), r),
        }
    }
}

#[test]
fn the_directory_is_read_across_the_switch_like_pg_waldump() {
    let dir = wal_dir();
    let h = history_2(dir.path());
    assert_eq!(h.timeline, 2);
    assert_eq!(h.entries.len(), 1);
    assert_eq!(h.entries[0].parent, 1);
    let switch = h.entries[0].switchpoint;
    assert_eq!(switch.to_string(), info(&fixture(), "switch_point"));
    // Segment 8 exists on both timelines: timeline 2's complete file is
    // read, not timeline 1's .partial one.
    let files = segment::list_directory(dir.path()).unwrap();
    assert_eq!(
        names(&files),
        [
            "000000010000000000000006",
            "000000010000000000000007",
            "000000020000000000000008",
            "000000020000000000000009",
            "00000002000000000000000A",
        ]
    );
    let (ours, err, r) = read_all(WalReader::open(&files).with_history(h));
    assert!(err.is_none(), "{err:?}");
    let theirs = oracle(switch);
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "record {i}");
    }
    // Both sides of the switch: timeline 1's end-of-WAL shutdown checkpoint
    // and the end-of-recovery checkpoint that starts timeline 2.
    assert!(theirs.iter().any(|l| l.contains("tli 1; prev tli 1")));
    let first2 = theirs.iter().find(|l| lsn_of(l) == switch).unwrap();
    assert!(first2.contains("CHECKPOINT_SHUTDOWN") && first2.contains("tli 2; prev tli 1"));
    // pg_waldump stops where the WAL of timeline 2 ends: so does the reader
    // (the rest of the last segment is left over from a recycled one).
    let stderr = std::fs::read_to_string(fixture().join("waldump-2.stderr")).unwrap();
    let end = r.end().unwrap();
    assert!(
        stderr.contains(&format!("invalid record length at {}:", end.lsn())),
        "{end:?} / {stderr}"
    );
    assert!(matches!(
        end,
        WalEnd::ZeroedTail { .. } | WalEnd::Recycled { .. }
    ));
    assert_eq!(r.info().unwrap().timeline, 1);
}

#[test]
fn the_btree_metapage_records_equal_pg_waldump() {
    let dir = wal_dir();
    let h = history_2(dir.path());
    let switch = h.entries[0].switchpoint;
    let files = segment::list_directory(dir.path()).unwrap();
    let (ours, _, _) = read_all(WalReader::open(&files).with_history(h));
    let all = oracle(switch);
    for kind in [
        "UNLINK_PAGE_META",
        "INSERT_META",
        "MARK_PAGE_HALFDEAD",
        "NEWROOT",
    ] {
        let of_kind = |l: &&String| l.contains(&format!("desc: {kind} "));
        let theirs: Vec<&String> = all.iter().filter(of_kind).collect();
        assert!(!theirs.is_empty(), "no {kind} in the fixture");
        let mine: Vec<&String> = ours.iter().filter(of_kind).collect();
        assert_eq!(mine, theirs, "{kind}");
    }
}

#[test]
fn without_the_history_the_timelines_still_only_increase() {
    let dir = wal_dir();
    std::fs::remove_file(dir.path().join("00000002.history")).unwrap();
    let files = segment::list_directory(dir.path()).unwrap();
    let (ours, err, _) = read_all(WalReader::open(&files));
    assert!(err.is_none(), "{err:?}");
    assert_eq!(ours, oracle(switch_point()));
}

fn switch_point() -> Lsn {
    Lsn::parse(&info(&fixture(), "switch_point")).unwrap()
}

#[test]
fn a_history_that_puts_the_switch_elsewhere_is_damage() {
    let dir = wal_dir();
    let switch = switch_point();
    let files = segment::list_directory(dir.path()).unwrap();
    // Earlier: pages of timeline 1 after the claimed switch point.
    let early = Lsn(switch.0 - 0x10_0000);
    let text = format!("1\t{early}\tclaimed\n");
    let h = TimelineHistory::parse(2, "00000002.history", &text).unwrap();
    let (_, err, _) = read_all(WalReader::open(&files).with_history(h));
    let e = err.expect("damage");
    assert_eq!(e.kind(), ErrorKind::History, "{e}");
    let page = early.0.div_ceil(8192) * 8192;
    assert_eq!(e.lsn(), Some(Lsn(page)), "{e}");
    assert!(e.to_string().contains("000000010000000000000007"), "{e}");
    assert!(e.to_string().contains("puts"), "{e}");
    // Later: the first page of timeline 2 is before the claimed switch.
    let late = Lsn(switch.0 + 0x10_0000);
    let text = format!("1\t{late}\tclaimed\n");
    let h = TimelineHistory::parse(2, "00000002.history", &text).unwrap();
    let (ours, err, _) = read_all(WalReader::open(&files).with_history(h));
    let e = err.expect("damage");
    assert_eq!(e.kind(), ErrorKind::History, "{e}");
    assert!(
        e.lsn().unwrap() > switch && e.lsn().unwrap() < Lsn(switch.0 + 8192),
        "{e}"
    );
    assert!(ours.iter().all(|l| lsn_of(l) < Lsn(switch.0 + 8192)));
    // A history of timeline 3 that does not contain timeline 2 at all.
    let h = TimelineHistory::parse(3, "00000003.history", "1\t0/8000A0\tx\n").unwrap();
    let (_, err, _) = read_all(WalReader::open(&files).with_history(h));
    assert_eq!(err.expect("damage").kind(), ErrorKind::History);
}

#[test]
fn a_missing_segment_is_damage_naming_where() {
    // Timeline 1's segment 7 is missing: 6 is followed by timeline 2's 8.
    let dir = wal_dir();
    std::fs::remove_file(dir.path().join("000000010000000000000007")).unwrap();
    let files = segment::list_directory(dir.path()).unwrap();
    let h = history_2(dir.path());
    let (ours, err, _) = read_all(WalReader::open(&files).with_history(h));
    let e = err.expect("damage");
    assert_eq!(e.kind(), ErrorKind::Gap, "{e}");
    assert!(ours.iter().all(|l| lsn_of(l) < Lsn(0x70_0000)));
    assert!(e.file().is_some() && e.lsn().is_some(), "{e}");

    // Timeline 2's segment 8 is missing: timeline 1's .partial one is read
    // in its place, its WAL ends at the switch point, and timeline 2's
    // segment 9 continues a history that is not there.
    let dir = wal_dir();
    std::fs::remove_file(dir.path().join("000000020000000000000008")).unwrap();
    let files = segment::list_directory(dir.path()).unwrap();
    assert_eq!(names(&files)[2], "000000010000000000000008.partial");
    let h = history_2(dir.path());
    let (ours, err, _) = read_all(WalReader::open(&files).with_history(h));
    let e = err.expect("damage");
    assert_eq!(e.kind(), ErrorKind::Gap, "{e}");
    assert!(e.to_string().contains("later segment continues it"), "{e}");
    assert!(
        e.to_string().contains("000000010000000000000008.partial"),
        "{e}"
    );
    assert_eq!(e.lsn(), Some(switch_point()), "{e}");
    assert_eq!(lsn_of(ours.last().unwrap()), Lsn(0x80_0028));
}

#[test]
fn a_segment_of_the_wrong_timeline_is_damage() {
    // Timeline 1's .partial segment 8 under timeline 2's name: its pages
    // after the switch point are timeline 1's recycled leftovers, and
    // timeline 2's segment 9 continues what it does not hold.
    let dir = wal_dir();
    let d = dir.path();
    std::fs::rename(
        d.join("000000010000000000000008.partial"),
        d.join("000000020000000000000008"),
    )
    .unwrap();
    let files = segment::list_directory(d).unwrap();
    let (_, err, _) = read_all(WalReader::open(&files).with_history(history_2(d)));
    assert_eq!(err.expect("damage").kind(), ErrorKind::Gap);

    // Timeline 2's segment 9 named as timeline 1's, after timeline 2's 8:
    // a segment of timeline 1 after the switch.
    let dir = wal_dir();
    let d = dir.path();
    std::fs::rename(
        d.join("000000020000000000000009"),
        d.join("000000010000000000000009"),
    )
    .unwrap();
    let files = segment::list_directory(d).unwrap();
    assert_eq!(names(&files)[3], "000000010000000000000009");
    let (ours, err, _) = read_all(WalReader::open(&files).with_history(history_2(d)));
    let e = err.expect("damage");
    assert_eq!(e.kind(), ErrorKind::PageHeader, "{e}");
    assert!(
        e.to_string()
            .contains("page of timeline 2 in a file of timeline 1"),
        "{e}"
    );
    assert!(e.to_string().contains("000000010000000000000009"), "{e}");
    assert_eq!(e.lsn(), Some(Lsn(0x90_0000)), "{e}");
    assert!(ours.iter().all(|l| lsn_of(l) < Lsn(0x90_0000)));
}
