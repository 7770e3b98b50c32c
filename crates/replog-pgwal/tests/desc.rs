//! Descriptions equal pg_waldump's text, line for line (Debian 15), and
//! pg_walinspect's description column (the npm builds of 15 to 18).

mod common;

use common::*;
use replog_pgwal::WalReader;
use replog_pgwal::desc::{block_details, waldump_line, waldump_line_detailed};

/// The managers whose descriptions are implemented and checked.
const DESCRIBED: [&str; 10] = [
    "XLOG",
    "Transaction",
    "Storage",
    "Standby",
    "Heap",
    "Heap2",
    "Btree",
    "Sequence",
    "LogicalMessage",
    "Database",
];

#[test]
fn every_listing_line_equals_pg_waldump() {
    let dir = fixtures().join("debian-15");
    let text = read_zst(&dir.join("waldump.txt.zst"));
    let segs = segments(&dir);
    let mut r = WalReader::new(inputs(&segs));
    let mut lines = text.lines();
    let (mut full, mut n) = (0, 0);
    let mut ours = String::new();
    while let Some(rec) = r.next_record().unwrap() {
        let theirs = lines.next().expect("as many lines as records");
        ours.clear();
        waldump_line(&rec, &mut ours);
        n += 1;
        if DESCRIBED.contains(&rec.rmgr_name().as_ref()) {
            assert_eq!(ours, theirs, "record {n}");
            full += 1;
        } else {
            let cut = theirs.find("desc: ").unwrap() + 6;
            let kind_end = theirs[cut..].find(' ').map_or(theirs.len(), |i| cut + i);
            assert_eq!(&ours[..kind_end], &theirs[..kind_end], "record {n}");
        }
    }
    assert!(lines.next().is_none());
    assert!(full > 6000, "{full} of {n}");
}

#[test]
fn block_details_equal_pg_waldump_b() {
    let dir = fixtures().join("debian-15");
    let text = read_zst(&dir.join("waldump-bkp.txt.zst"));
    let segs = segments(&dir);
    let mut r = WalReader::new(inputs(&segs));
    let mut lines = text.lines().peekable();
    let (mut blocks, mut compressed, mut n) = (0, 0, 0);
    let mut ours = String::new();
    while let Some(rec) = r.next_record().unwrap() {
        n += 1;
        // pg_waldump's lines of this record: its header line, then its
        // block lines (they start with a tab).
        let mut theirs = vec![lines.next().expect("as many records").to_string()];
        while let Some(l) = lines.next_if(|l| l.starts_with('\t')) {
            theirs.push(l.to_string());
        }
        ours.clear();
        waldump_line_detailed(&rec, &mut ours);
        let ours: Vec<&str> = ours.split('\n').collect();
        assert_eq!(ours.len(), theirs.len(), "record {n} at {}", rec.lsn);
        // The header line's description is checked by the test above.
        for (a, b) in ours[1..].iter().zip(&theirs[1..]) {
            assert_eq!(a, b, "record {n} at {}", rec.lsn);
            blocks += 1;
            compressed += usize::from(b.contains("compression saved"));
        }
        let mut d = String::new();
        block_details(&rec, &mut d);
        assert_eq!(d, ours[1..].join("\n"));
    }
    assert!(lines.next().is_none());
    assert!(blocks > 6000 && compressed > 20, "{blocks} {compressed}");
}

#[test]
fn descriptions_equal_pg_walinspect_15() {
    let checked = check_walinspect(&fixtures().join("npm-15"));
    let n: usize = checked.values().sum();
    assert!(n > 3000, "{n}");
}

/// Checks every record of a described manager in `dir` against
/// pg_walinspect's description; returns how many of each `rmgr kind`.
fn check_walinspect(dir: &std::path::Path) -> std::collections::BTreeMap<String, usize> {
    let rows = csv(&read_zst(&dir.join("walinspect-records.csv.zst")));
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let (c_lsn, c_rmgr, c_type, c_desc) = (
        col("start_lsn"),
        col("resource_manager"),
        col("record_type"),
        col("description"),
    );
    let segs = segments(dir);
    let mut r = WalReader::new(inputs(&segs));
    let mut by_lsn = std::collections::HashMap::new();
    while let Some(rec) = r.next_record().unwrap() {
        by_lsn.insert(rec.lsn, rec.describe());
    }
    let mut checked = std::collections::BTreeMap::new();
    for row in &rows[1..] {
        if !DESCRIBED.contains(&row[c_rmgr].as_str()) {
            continue;
        }
        let lsn = replog_pgwal::Lsn::parse(&row[c_lsn]).unwrap();
        assert_eq!(
            backend_timestamps(&by_lsn[&lsn]),
            row[c_desc],
            "{}: {} {} at {lsn}",
            dir.display(),
            row[c_rmgr],
            row[c_type]
        );
        *checked
            .entry(format!("{} {}", row[c_rmgr], row[c_type]))
            .or_insert(0) += 1;
    }
    checked
}

#[test]
fn descriptions_equal_pg_walinspect_16_to_18() {
    for v in [16, 17, 18] {
        let checked = check_walinspect(&fixtures().join(format!("npm-{v}")));
        // The records of pruning, freezing, vacuum and index deletion are
        // among them (16 logs PRUNE, VACUUM and FREEZE_PAGE; 17 replaced
        // them with PRUNE_ON_ACCESS, PRUNE_VACUUM_SCAN and
        // PRUNE_VACUUM_CLEANUP).
        let heap2: &[&str] = if v == 16 {
            &["PRUNE", "VACUUM", "FREEZE_PAGE"]
        } else {
            &[
                "PRUNE_ON_ACCESS",
                "PRUNE_VACUUM_SCAN",
                "PRUNE_VACUUM_CLEANUP",
            ]
        };
        let kinds = heap2
            .iter()
            .map(|k| format!("Heap2 {k}"))
            .chain(["Btree VACUUM".into(), "Btree DELETE".into()]);
        for k in kinds {
            assert!(checked.contains_key(&k), "{v}: {k} in {checked:?}");
        }
        for m in ["Transaction", "XLOG", "Standby", "Heap"] {
            assert!(checked.keys().any(|k| k.starts_with(m)), "{v}: {m}");
        }
    }
}

/// The second workload (`workload-vacuum.sql`): index page deletion and
/// reuse, posting lists updated by VACUUM and split by inserts, a
/// speculative insertion and a lock that follows an update.
#[test]
fn vacuum_descriptions_equal_pg_walinspect_16_to_18() {
    for v in [16, 17, 18] {
        let dir = fixtures().join(format!("vacuum/npm-{v}"));
        let checked = check_walinspect(&dir);
        // Among the VACUUM records checked, some update posting lists.
        let text = read_zst(&dir.join("walinspect-records.csv.zst"));
        assert!(text.contains("updated: [{ off: "), "{v}");
        for k in [
            "Btree MARK_PAGE_HALFDEAD",
            "Btree UNLINK_PAGE",
            "Btree REUSE_PAGE",
            "Btree META_CLEANUP",
            "Btree INSERT_POST",
            "Btree VACUUM",
            "Heap HEAP_CONFIRM",
            "Heap2 LOCK_UPDATED",
        ] {
            assert!(checked.contains_key(k), "{v}: {k} in {checked:?}");
        }
    }
}

/// PostgreSQL 13's Heap2 CLEAN, FREEZE_PAGE and CLEANUP_INFO (no oracle of
/// 13 has descriptions: checked against the records themselves).
#[test]
fn heap2_descriptions_of_13() {
    let dir = fixtures().join("npm-13");
    let segs = segments(&dir);
    let mut r = WalReader::new(inputs(&segs));
    let mut seen = std::collections::BTreeMap::new();
    while let Some(rec) = r.next_record().unwrap() {
        if rec.rmgr_name() != "Heap2" {
            continue;
        }
        let kind = rec.record_type().unwrap();
        let d = rec.describe();
        let w: Vec<&str> = d.split(' ').collect();
        match kind {
            "CLEAN" | "CLEANUP_INFO" => {
                assert_eq!(w.len(), 2, "{d}");
                assert_eq!(w[0], "remxid", "{d}");
                assert!(w[1].parse::<u32>().unwrap() < 100_000, "{d}");
            }
            "FREEZE_PAGE" => {
                assert_eq!(&w[..2], ["cutoff", "xid"], "{d}");
                assert_eq!(w[3], "ntuples", "{d}");
                // The frozen tuples are the block's data, 12 bytes each.
                let n: u32 = w[4].parse().unwrap();
                let b = rec.block(0).unwrap();
                if b.image.is_none() {
                    assert_eq!(b.data.len() as u32, 12 * n, "{d}");
                }
            }
            _ => continue,
        }
        *seen.entry(kind).or_insert(0) += 1;
    }
    assert!(
        seen.contains_key("CLEAN") && seen.contains_key("FREEZE_PAGE"),
        "{seen:?}"
    );
}

/// The server prints timestamps as `2026-12-07 01:12:40.2006+00` (trailing
/// zeros of the fraction dropped), pg_waldump as `… 01:12:40.200600 UTC`.
fn backend_timestamps(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(" UTC") {
        let (head, tail) = rest.split_at(i);
        let frac_start = head.rfind('.').filter(|&d| head.len() - d == 7);
        match frac_start {
            Some(d) => {
                let frac = head[d + 1..].trim_end_matches('0');
                out.push_str(&head[..d]);
                if !frac.is_empty() {
                    out.push('.');
                    out.push_str(frac);
                }
            }
            None => out.push_str(head),
        }
        out.push_str("+00");
        rest = &tail[4..];
    }
    out.push_str(rest);
    out
}
