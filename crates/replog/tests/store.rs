//! `record`, `replay` and `dump` end to end on the reference store: every
//! MariaDB fixture workload is recorded as all three native logs (statement,
//! logical, physical WAL of the page engine), verified, and replayed by each
//! log to the leader's digest and MariaDB's tables; a crashed log applies
//! only committed transactions; conflicts under each policy; `--until`;
//! follower catch-up from a snapshot; physical page sizes and page-format
//! refusal.

use replog::Verdict;
use replog_pagestore::{Options as PageOptions, PageStore};
use replog_store::snapshot;
use replog_store::storage::Storage;
use replog_store::{SimEnvironment, Store};
use replog_test_support::{root, s};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

replog_test_support::cli_harness!(record);

/// `-- db.table` sections of a TSV dump.
fn sections(dump: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in dump.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("-- ") {
            let name = name.trim_end().to_string();
            out.insert(name.clone(), String::new());
            cur = Some(name);
        } else if let Some(c) = &cur {
            out.get_mut(c).unwrap().push_str(line);
        }
    }
    out
}

fn mariadb_tables(name: &str) -> BTreeMap<String, String> {
    let dir = root().join(format!("fixtures/mariadb/out/{name}/statement/tables"));
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
            (stem, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// `replog dump`'s TSV, each table's rows as MariaDB's raw batch output
/// prints them (the dump escapes `\0`, `\\`, `\t`, `\n` as `mariadb -B`
/// does; the fixtures were written with `--raw`).
fn dump(path: &Path) -> (Verdict, BTreeMap<String, String>) {
    let (r, out) = run(&["dump", s(path)]);
    let mut raw = sections(&out);
    for rows in raw.values_mut() {
        *rows = unescape(rows);
    }
    (r.unwrap(), raw)
}

/// Undoes `mariadb -B` escaping.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('\0'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => panic!("a dangling backslash in {s:?}"),
        }
    }
    out
}

#[test]
fn fixture_workloads_replay_to_the_leader_and_mariadb() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["types", "dml", "ddl", "txn", "unsafe"] {
        let sql = root().join(format!("fixtures/mariadb/workloads/{name}.sql"));
        let dir = tmp.path().join(name);
        let leader = record(&sql, &dir);
        for kind in ["statement", "logical", "physical"] {
            let log = dir.join(kind);
            let (o, _) = run(&["verify", s(&log)]);
            assert_eq!(o.unwrap(), Verdict::Clean, "{name} {kind}: verify");
        }
        // The physical WAL: page redo reaches the leader, every COMMIT's
        // state checked, one WAL transaction per store transaction (+ 0).
        let (o, pv) = json(&[
            "replay",
            s(&dir.join("physical")),
            "--memory",
            "--format",
            "json",
        ]);
        assert_eq!(o, Verdict::Clean, "{name}: physical replay {pv}");
        assert_eq!(pv["digest"], leader.as_str(), "{name}: physical digest");
        assert_eq!(pv["expected_digest"], leader.as_str());
        assert_eq!(pv["states_checked"], pv["applied"]);
        let commits = |k: &str| {
            records(&dir.join(k))
                .iter()
                .filter(|r| r.2 == "COMMIT")
                .map(|r| r.3.unwrap())
                .collect::<Vec<_>>()
        };
        let mut physical_txids = commits("physical");
        assert_eq!(
            physical_txids.remove(0),
            0,
            "{name}: txid 0 creates the store"
        );
        assert_eq!(physical_txids, commits("statement"), "{name}: txids");
        let (_, physical_dump) = dump(&dir.join("physical"));
        let (o, lv) = json(&[
            "replay",
            s(&dir.join("logical")),
            "--memory",
            "--format",
            "json",
        ]);
        assert_eq!(o, Verdict::Clean, "{name}: logical replay {lv}");
        assert_eq!(lv["digest"], leader.as_str(), "{name}: logical digest");
        assert_eq!(lv["expected_digest"], leader.as_str());
        let (_, logical_dump) = dump(&dir.join("logical"));
        assert_eq!(physical_dump, logical_dump, "{name}: physical dump");
        let (o, sv) = json(&[
            "replay",
            s(&dir.join("statement")),
            "--memory",
            "--keep-going",
            "--format",
            "json",
        ]);
        let (_, statement_dump) = dump(&dir.join("statement"));
        if name == "unsafe" {
            // UUID() and SYSDATE() are not in a statement log: exactly
            // those two transactions diverge, and only their tables differ.
            assert_eq!(o, Verdict::Found);
            let divergent: Vec<u64> = sv["divergences"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["txid"].as_u64().unwrap())
                .collect();
            assert_eq!(divergent.len(), 2, "{sv}");
            for (t, rows) in &logical_dump {
                let differs = statement_dump[t] != *rows;
                let expected = t.ends_with(".t_uuid") || t.ends_with(".t_sysdate");
                assert_eq!(differs, expected, "{t}");
            }
            continue;
        }
        assert_eq!(o, Verdict::Clean, "{name}: statement replay {sv}");
        assert_eq!(sv["digest"], leader.as_str(), "{name}: statement digest");
        assert_eq!(statement_dump, logical_dump, "{name}: dumps");
        let want = mariadb_tables(name);
        assert_eq!(
            logical_dump.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        for (t, rows) in &want {
            assert_eq!(&logical_dump[t], rows, "{name}: {t} differs from MariaDB");
        }
    }
}

/// The inspect rows of a log: (lsn, offset, type, txid).
fn records(log: &Path) -> Vec<(u64, u64, String, Option<u64>)> {
    let (_, v) = json(&["inspect", s(log), "--format", "json"]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["lsn"].as_u64().unwrap(),
                r["offset"].as_u64().unwrap(),
                r["type"].as_str().unwrap().to_string(),
                r["txid"].as_u64(),
            )
        })
        .collect()
}

fn single_segment(log: &Path) -> PathBuf {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(log)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(segs.len(), 1);
    segs.pop().unwrap()
}

#[test]
fn crashed_log_applies_committed_transactions_only_and_catches_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("txn");
    let leader = record(&root().join("fixtures/mariadb/workloads/txn.sql"), &dir);
    for kind in ["logical", "statement"] {
        let log = dir.join(kind);
        let recs = records(&log);
        // The first transaction with at least two records after BEGIN.
        let (bi, _) = recs
            .iter()
            .enumerate()
            .find(|(i, r)| r.2 == "BEGIN" && recs[i + 1].2 != "COMMIT" && recs[i + 2].2 != "COMMIT")
            .unwrap();
        let txid = recs[bi].3.unwrap();
        let committed_before = recs[..bi].iter().filter(|r| r.2 == "COMMIT").count() as u64;
        let seg = single_segment(&log);
        let bytes = std::fs::read(&seg).unwrap();
        // Cut at a frame boundary inside the transaction, and in the middle
        // of a frame (a torn write).
        for (cut, torn) in [(recs[bi + 2].1, false), (recs[bi + 2].1 + 5, true)] {
            let crashed = tmp.path().join(format!("{kind}-crash-{cut}"));
            std::fs::create_dir_all(&crashed).unwrap();
            std::fs::write(
                crashed.join(seg.file_name().unwrap()),
                &bytes[..cut as usize],
            )
            .unwrap();
            let (o, v) = json(&[
                "replay",
                s(&crashed),
                "--memory",
                "--recovery",
                "tolerate-tail",
                "--format",
                "json",
            ]);
            assert_eq!(o, Verdict::Clean, "{v}");
            assert_eq!(v["applied"], committed_before);
            assert_eq!(v["uncommitted"]["txid"], txid, "{v}");
            assert_eq!(v["digest"], v["expected_digest"]);
            assert_eq!(v["damage"].as_array().unwrap().len(), usize::from(torn));
            // A torn tail is damage under --recovery strict.
            // Strict by default (as every command): the torn tail is damage.
            let (o, _) = json(&["replay", s(&crashed), "--memory", "--format", "json"]);
            assert_eq!(o, if torn { Verdict::Found } else { Verdict::Clean });
            // Follower catch-up: the crashed log into a store, then the full
            // log: only the missing transactions are applied.
            let store = tmp.path().join(format!("{kind}-store-{cut}"));
            let (o, _) = json(&[
                "replay",
                s(&crashed),
                "--store",
                s(&store),
                "--recovery",
                "tolerate-tail",
                "--format",
                "json",
            ]);
            assert_eq!(o, Verdict::Clean);
            let (o, v) = json(&["replay", s(&log), "--store", s(&store), "--format", "json"]);
            assert_eq!(o, Verdict::Clean, "{v}");
            assert_eq!(v["already_applied"], committed_before);
            assert_eq!(v["digest"], leader.as_str());
            // Nothing left to do.
            let (o, v) = json(&["replay", s(&log), "--store", s(&store), "--format", "json"]);
            assert_eq!(o, Verdict::Clean);
            assert_eq!(v["applied"], 0);
            // The store dumps like the log.
            assert_eq!(dump(&store), dump(&log));
        }
    }
}

#[test]
fn until_txid_lsn_and_time_and_snapshot_catch_up_across_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dml");
    let leader = record(&root().join("fixtures/mariadb/workloads/dml.sql"), &dir);
    let logical = dir.join("logical");
    let statement = dir.join("statement");
    let (o, a) = json(&[
        "replay",
        s(&logical),
        "--memory",
        "--until",
        "txid:10",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean);
    assert_eq!(a["applied"], 10);
    assert_eq!(a["last_txid"], 10);
    assert_eq!(a["stopped"], "until");
    // The statement log reaches the same state at the same txid.
    let (o, b) = json(&[
        "replay",
        s(&statement),
        "--memory",
        "--until",
        "txid:10",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean);
    assert_eq!(a["digest"], b["digest"]);
    assert_ne!(a["digest"], leader.as_str());
    // The same point by position: commits before the next transaction.
    let lsn = format!("lsn:{}", a["applied_lsn"]);
    let (_, c) = json(&[
        "replay",
        s(&logical),
        "--memory",
        "--until",
        &lsn,
        "--format",
        "json",
    ]);
    assert_eq!(c["last_txid"], 10);
    assert_eq!(c["digest"], a["digest"]);
    // By time: the simulated clock starts at 2023-11-14 22:13:20 and ticks
    // 1 µs per reading, so everything is before 22:13:21.
    let (_, d) = json(&[
        "replay",
        s(&logical),
        "--memory",
        "--until",
        "2023-11-14 22:13:21",
        "--format",
        "json",
    ]);
    assert_eq!(d["digest"], leader.as_str());
    let (_, e) = json(&[
        "replay",
        s(&logical),
        "--memory",
        "--until",
        "2023-11-14",
        "--format",
        "json",
    ]);
    assert_eq!(e["applied"], 0);
    // Snapshot at txid 10 from the logical log, caught up from the
    // statement log (another log of the same leader: resumed by txid).
    let store = tmp.path().join("follower");
    json(&[
        "replay",
        s(&logical),
        "--store",
        s(&store),
        "--until",
        "txid:10",
        "--format",
        "json",
    ]);
    let (o, f) = json(&[
        "replay",
        s(&statement),
        "--store",
        s(&store),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{f}");
    assert_eq!(f["already_applied"], 10);
    assert_eq!(f["digest"], leader.as_str());
}

const CONFLICT_WORKLOAD: &str = "
CREATE DATABASE d;
USE d;
CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10));
INSERT INTO t VALUES (1, 'a'), (2, 'b');
INSERT INTO t VALUES (3, 'c');
UPDATE t SET v = 'bb' WHERE id = 2;
DELETE FROM t WHERE id = 1;
INSERT INTO t VALUES (4, 'd');
";

/// A follower at txid 3 (after the first INSERT) with local writes: a
/// stray row 3, row 2 changed, row 1 deleted. The follower is a page-store
/// directory; the local writes are committed to it directly (as a program
/// writing to the follower would), leaving its replication position at
/// txid 3.
fn tampered_follower(log: &Path, dir: &Path) {
    json(&[
        "replay",
        s(log),
        "--store",
        s(dir),
        "--until",
        "txid:3",
        "--format",
        "json",
    ]);
    let (ps, _) = PageStore::open_dir(dir, PageOptions::default()).unwrap();
    let pos = ps.position().unwrap();
    assert_eq!(pos.last_txid, 3);
    let mut store = Store::with_storage(ps, SimEnvironment::default());
    store
        .execute_script(
            "INSERT INTO d.t VALUES (3, 'stray'); UPDATE d.t SET v = 'local' WHERE id = 2;
             DELETE FROM d.t WHERE id = 1;",
        )
        .unwrap();
    let ps = store.into_storage();
    assert_eq!(ps.position(), Some(pos), "local writes move no position");
    ps.finish().unwrap();
}

#[test]
fn legacy_snapshot_directory_still_catches_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dml");
    let leader = record(&root().join("fixtures/mariadb/workloads/dml.sql"), &dir);
    let pages = tmp.path().join("pages");
    json(&[
        "replay",
        s(&dir.join("logical")),
        "--store",
        s(&pages),
        "--until",
        "txid:10",
        "--format",
        "json",
    ]);
    // A store.snapshot directory as earlier versions wrote it.
    let (ps, _) = PageStore::read_dir(&pages, &PageOptions::default()).unwrap();
    let pos = ps.position().unwrap();
    let legacy = tmp.path().join("legacy");
    let store = Store::with_storage(ps, SimEnvironment::default());
    snapshot::save(&legacy, &store, &pos).unwrap();
    let (o, v) = json(&[
        "replay",
        s(&dir.join("statement")),
        "--store",
        s(&legacy),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v}");
    assert_eq!(v["already_applied"], 10, "{v}");
    assert_eq!(v["digest"], leader.as_str());
    assert!(v.get("store").is_none(), "stays a snapshot: {v}");
    assert!(!legacy.join(replog_pagestore::WAL_DIR).exists());
    let (after, _) = snapshot::load(&legacy).unwrap().unwrap();
    assert_eq!(after.last_txid, v["last_txid"].as_u64().unwrap());
    // dump reads both kinds of directory.
    assert_eq!(dump(&legacy), dump(&dir.join("logical")));
    let (o, _) = run(&["dump", s(&pages)]);
    assert_eq!(o.unwrap(), Verdict::Clean);
}

#[test]
fn conflicts_under_each_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let leader = record_text(CONFLICT_WORKLOAD, tmp.path());
    let log = tmp.path().join("logs/logical");
    let recs = records(&log);
    let lsn_of = |txid: u64, ty: &str| {
        recs.iter()
            .find(|r| r.3 == Some(txid) && r.2 == ty)
            .unwrap()
            .0
    };

    // abort: stops at the duplicate key, the store stays at txid 3.
    let dir = tmp.path().join("abort");
    tampered_follower(&log, &dir);
    let (o, v) = json(&["replay", s(&log), "--store", s(&dir), "--format", "json"]);
    assert_eq!(o, Verdict::Found);
    assert_eq!(
        v["stopped"], "gap",
        "the local writes are noticed first: {v}"
    );
    let (o, v) = json(&[
        "replay",
        s(&log),
        "--store",
        s(&dir),
        "--keep-going",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Found);
    assert_eq!(v["stopped"], "conflict");
    let c = &v["conflicts"][0];
    assert_eq!(c["kind"], "duplicate key");
    assert_eq!(c["table"], "d.t");
    assert_eq!(c["key"], "id=3");
    assert_eq!(c["lsn"], lsn_of(4, "INSERT"));
    assert_eq!(c["resolution"], "aborted");
    assert_eq!(v["last_txid"], 3);
    let (r, text) = run(&["replay", s(&log), "--store", s(&dir), "--keep-going"]);
    assert_eq!(r.unwrap(), Verdict::Found);
    assert!(
        text.contains("duplicate key on insert of d.t key (id=3)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("| {} ", lsn_of(4, "INSERT"))),
        "{text}"
    );
    let (_, rows) = dump(&dir);
    assert_eq!(rows["d.t"], "2\tlocal\n3\tstray\n");

    // skip: every conflict is reported and left alone.
    let dir = tmp.path().join("skip");
    tampered_follower(&log, &dir);
    let (o, v) = json(&[
        "replay",
        s(&log),
        "--store",
        s(&dir),
        "--on-conflict",
        "skip",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Found);
    let kinds: Vec<(&str, &str)> = v["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap(),
                c["resolution"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("duplicate key", "skipped"),
            ("before-image mismatch", "skipped"),
            ("missing row", "skipped")
        ]
    );
    assert_eq!(v["last_txid"], 7);
    let (_, rows) = dump(&dir);
    assert_eq!(rows["d.t"], "2\tlocal\n3\tstray\n4\td\n");

    // overwrite: the leader's images win; the store ends at the leader's state.
    let dir = tmp.path().join("overwrite");
    tampered_follower(&log, &dir);
    let (o, v) = json(&[
        "replay",
        s(&log),
        "--store",
        s(&dir),
        "--on-conflict",
        "overwrite",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Found, "conflicts are reported");
    let kinds: Vec<&str> = v["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["resolution"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["overwritten", "overwritten", "skipped"]);
    assert_eq!(v["digest"], leader.as_str());
    let (_, rows) = dump(&dir);
    assert_eq!(rows["d.t"], "2\tbb\n3\tc\n4\td\n");

    // A statement log has no row images to overwrite with.
    let (r, _) = run(&[
        "replay",
        s(&tmp.path().join("logs/statement")),
        "--memory",
        "--on-conflict",
        "overwrite",
    ]);
    assert!(r.unwrap_err().to_string().contains("row images"));
}

#[test]
fn record_names_the_failing_statement() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("bad.sql");
    std::fs::write(
        &f,
        "CREATE DATABASE d;\nUSE d;\nCREATE TABLE t (id INT PRIMARY KEY);\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n",
    )
    .unwrap();
    let out = tmp.path().join("a");
    let (r, _) = run(&["record", s(&f), "--out", s(&out), "--durability", "os"]);
    let e = format!("{:#}", r.unwrap_err());
    assert!(e.contains("statement 5 (line 5)"), "{e}");
    assert!(e.contains("Duplicate entry"), "{e}");
    let out = tmp.path().join("b");
    let (r, text) = run(&[
        "record",
        s(&f),
        "--out",
        s(&out),
        "--durability",
        "os",
        "--continue-on-error",
    ]);
    assert_eq!(r.unwrap(), Verdict::Found);
    assert!(text.contains("failed: statement 5 (line 5)"), "{text}");
    let (_, rows) = dump(&out.join("logical"));
    assert_eq!(rows["d.t"], "1\n2\n");
    // Recording over an existing log is refused.
    let (r, _) = run(&["record", s(&f), "--out", s(&out), "--continue-on-error"]);
    assert!(r.unwrap_err().to_string().contains("already holds"));
}

#[test]
fn physical_log_that_is_not_a_store_is_refused_clearly() {
    // The format sample's pages are not a page-engine store.
    let f = root().join("fixtures/native/physical/sample.replog");
    let (r, _) = run(&["replay", s(&f), "--memory"]);
    assert!(
        r.unwrap_err().to_string().contains("do not form a store"),
        "physical replay must say why it is refused"
    );
}

#[test]
fn crashed_physical_wal_applies_committed_transactions_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("txn");
    record(&root().join("fixtures/mariadb/workloads/txn.sql"), &dir);
    let log = dir.join("physical");
    let recs = records(&log);
    let seg = single_segment(&log);
    let bytes = std::fs::read(&seg).unwrap();
    let mut checked = 0;
    // Every transaction with at least two records after BEGIN, cut at a
    // frame boundary inside it and in the middle of a frame.
    for (bi, _) in recs.iter().enumerate().filter(|(i, r)| {
        // Transaction 0 creates the store: a cut inside it leaves no store.
        r.2 == "BEGIN" && r.3 != Some(0) && recs[i + 1].2 != "COMMIT" && recs[i + 2].2 != "COMMIT"
    }) {
        let txid = recs[bi].3.unwrap();
        let committed: Vec<&(u64, u64, String, Option<u64>)> =
            recs[..bi].iter().filter(|r| r.2 == "COMMIT").collect();
        for (cut, torn) in [(recs[bi + 2].1, false), (recs[bi + 2].1 + 5, true)] {
            let crashed = tmp.path().join(format!("crash-{cut}"));
            std::fs::create_dir_all(&crashed).unwrap();
            std::fs::write(
                crashed.join(seg.file_name().unwrap()),
                &bytes[..cut as usize],
            )
            .unwrap();
            // Strict by default: a torn tail is an error.
            let (o, _) = run(&["replay", s(&crashed), "--memory", "--format", "json"]);
            assert_eq!(o.is_err(), torn);
            let (o, v) = json(&[
                "replay",
                s(&crashed),
                "--memory",
                "--recovery",
                "tolerate-tail",
                "--format",
                "json",
            ]);
            assert_eq!(o, Verdict::Clean, "{v}");
            assert_eq!(v["applied"], committed.len(), "{v}");
            assert_eq!(v["last_txid"], committed.last().unwrap().3.unwrap());
            assert_eq!(v["uncommitted"]["txid"], txid, "{v}");
            assert_eq!(v["torn_tail"].is_string(), torn, "{v}");
            assert_eq!(v["digest"], v["expected_digest"]);
            // The same state as the full log replayed up to the last
            // committed transaction.
            let until = format!("txid:{}", committed.last().unwrap().3.unwrap());
            let (_, full) = json(&[
                "replay",
                s(&log),
                "--memory",
                "--until",
                &until,
                "--format",
                "json",
                "--dump",
            ]);
            let (_, cut_dump) = json(&[
                "replay",
                s(&crashed),
                "--memory",
                "--recovery",
                "tolerate-tail",
                "--format",
                "json",
                "--dump",
            ]);
            assert_eq!(full["stopped"], "until");
            assert_eq!(full["dump"], cut_dump["dump"]);
            assert_eq!(full["digest"], v["digest"]);
            checked += 1;
        }
    }
    assert!(checked >= 4, "{checked}");
}

#[test]
fn physical_page_sizes_format_refusal_and_store() {
    let tmp = tempfile::tempdir().unwrap();
    let sql = root().join("fixtures/mariadb/workloads/dml.sql");
    let base = tmp.path().join("base");
    let leader = record(&sql, &base);
    let (_, base_dump) = dump(&base.join("logical"));
    // Another page size replays to the same store.
    for ps in ["512", "65536"] {
        let out = tmp.path().join(format!("ps{ps}"));
        let (o, v) = json(&[
            "record",
            s(&sql),
            "--out",
            s(&out),
            "--formats",
            "physical",
            "--page-size",
            ps,
            "--durability",
            "os",
            "--format",
            "json",
        ]);
        assert_eq!(o, Verdict::Clean);
        assert_eq!(v["digest"], leader.as_str());
        assert_eq!(v["physical"]["page_size"], ps.parse::<u64>().unwrap());
        assert!(!out.join("statement").exists());
        let log = out.join("physical");
        let (o, _) = run(&["verify", s(&log)]);
        assert_eq!(o.unwrap(), Verdict::Clean);
        let (o, pv) = json(&["replay", s(&log), "--memory", "--format", "json"]);
        assert_eq!(o, Verdict::Clean, "{pv}");
        assert_eq!(pv["page_size"], ps.parse::<u64>().unwrap());
        assert_eq!(pv["digest"], leader.as_str());
        assert_eq!(dump(&log).1, base_dump);
        // Asking for another page size is refused.
        let (r, _) = run(&["replay", s(&log), "--memory", "--page-size", "8192"]);
        let e = r.unwrap_err().to_string();
        assert!(e.contains(&format!("{ps}-byte pages")), "{e}");
    }
    // A forged page-format version (header re-written with a valid CRC).
    let log = base.join("physical");
    let seg = single_segment(&log);
    let mut bytes = std::fs::read(&seg).unwrap();
    let mut h = replog_core::segment::SegmentHeader::parse(&bytes, 0).unwrap();
    h.page_format += 1;
    bytes[..replog_core::segment::HEADER_LEN].copy_from_slice(&h.encode());
    let forged = tmp.path().join("forged");
    std::fs::create_dir_all(&forged).unwrap();
    std::fs::write(forged.join(seg.file_name().unwrap()), &bytes).unwrap();
    let (r, _) = run(&["verify", s(&forged)]);
    assert!(format!("{:#}", r.unwrap_err()).contains("page format 2"));
    let (r, _) = run(&["replay", s(&forged), "--memory"]);
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("page format") || e.contains("page-format"),
        "{e}"
    );
    let (r, _) = run(&["dump", s(&forged)]);
    assert!(r.is_err());
    // --store: a rebuilt store is saved as a snapshot another log of the
    // same leader catches up from; a store is not continued by a WAL.
    let store = tmp.path().join("store");
    let (o, v) = json(&[
        "replay",
        s(&log),
        "--store",
        s(&store),
        "--until",
        "txid:10",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v}");
    assert_eq!(v["last_txid"], 10);
    let (o, v) = json(&[
        "replay",
        s(&base.join("logical")),
        "--store",
        s(&store),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v}");
    assert_eq!(v["already_applied"], 10, "{v}");
    assert_eq!(v["digest"], leader.as_str());
    let (r, _) = run(&["replay", s(&log), "--store", s(&store)]);
    assert!(r.unwrap_err().to_string().contains("already holds a store"));
}

#[test]
fn dump_formats() {
    let tmp = tempfile::tempdir().unwrap();
    record_text(
        "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(5), b VARBINARY(4));
         INSERT INTO t VALUES (2, 'x\\ty', NULL), (1, NULL, 'ab'), (3, 'a\\nb\\\\c', NULL);",
        tmp.path(),
    );
    let log = tmp.path().join("logs/logical");
    let (r, tsv) = run(&["dump", s(&log)]);
    assert_eq!(r.unwrap(), Verdict::Clean);
    // TAB, newline and backslash inside values are escaped as `mariadb -B`
    // does: one line per row, three fields per line.
    assert_eq!(
        tsv,
        "-- d.t\n1\tNULL\t0x6162\n2\tx\\ty\tNULL\n3\ta\\nb\\\\c\tNULL\n"
    );
    assert!(
        tsv.lines().skip(1).all(|l| l.split('\t').count() == 3),
        "{tsv}"
    );
    // A bare table name selects the table in any database, as inspect's
    // --table does; db.table too; another name nothing.
    assert_eq!(run(&["dump", "--table", "t", s(&log)]).1, tsv);
    assert_eq!(run(&["dump", "--table", "d.t", s(&log)]).1, tsv);
    assert_eq!(run(&["dump", "--table", "u", s(&log)]).1, "");
    let (_, nd) = run(&["dump", "--format", "ndjson", s(&log)]);
    let rows: Vec<Json> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["values"], serde_json::json!(["2", "x\ty", "NULL"]));
    assert_eq!(rows[0]["table"], "d.t");
    let (_, doc) = json(&["dump", "--format", "json", s(&log)]);
    assert_eq!(doc["tables"][0]["table"], "d.t");
    assert_eq!(
        doc["tables"][0]["columns"],
        serde_json::json!(["id", "v", "b"])
    );
    assert_eq!(
        doc["tables"][0]["rows"][2],
        serde_json::json!(["3", "a\nb\\c", "NULL"])
    );
    let (_, t) = run(&["dump", "--format", "table", s(&log)]);
    assert!(t.starts_with("d.t:\n"), "{t}");
    assert!(t.contains("| id | v "), "{t}");
    assert!(t.contains("| x\\ty "), "{t}");
}

/// Setting up a new follower from a snapshot: a follower stopped at txid
/// 12, its snapshot, a new follower started from it catches up from that
/// position (by LSN on the same log, by txid on the leader's other log)
/// and ends at the leader's digest; the snapshot is refused for a
/// directory that already holds a store.
#[test]
fn snapshot_then_a_new_follower_catches_up_from_it() {
    let tmp = tempfile::tempdir().unwrap();
    let leader = tmp.path().join("leader");
    let digest = record(&root().join("fixtures/mariadb/workloads/dml.sql"), &leader);
    let a = tmp.path().join("a");
    let (o, v) = json(&[
        "replay",
        s(&leader.join("logical")),
        "--store",
        s(&a),
        "--durability",
        "os",
        "--until",
        "txid:12",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v}");
    let snap = tmp.path().join("at12.snapshot");
    let (o, v) = json(&["snapshot", s(&a), "--out", s(&snap), "--format", "json"]);
    assert_eq!(o, Verdict::Clean);
    assert_eq!(v["last_txid"], 12, "{v}");
    assert_eq!(v["log_kind"], "logical", "{v}");
    for (log, dir) in [("logical", "b"), ("statement", "c")] {
        let d = tmp.path().join(dir);
        let (o, v) = json(&[
            "replay",
            s(&leader.join(log)),
            "--store",
            s(&d),
            "--from-snapshot",
            s(&snap),
            "--durability",
            "os",
            "--format",
            "json",
        ]);
        assert_eq!(o, Verdict::Clean, "{log}: {v}");
        assert_eq!(v["already_applied"], 12, "{log}: {v}");
        assert_eq!(v["digest"], Json::from(digest.clone()), "{log}: {v}");
        // The new follower is an ordinary store: it reopens where it is.
        let (o, v) = json(&[
            "replay",
            s(&leader.join(log)),
            "--store",
            s(&d),
            "--format",
            "json",
        ]);
        assert_eq!(o, Verdict::Clean, "{v}");
        assert_eq!(v["applied"], 0, "{v}");
    }
    let (r, _) = run(&[
        "replay",
        s(&leader.join("logical")),
        "--store",
        s(&a),
        "--from-snapshot",
        s(&snap),
    ]);
    assert!(format!("{:#}", r.unwrap_err()).contains("already holds a store"));
    // A damaged snapshot is refused with a clear error.
    let mut bytes = std::fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&snap, &bytes).unwrap();
    let (r, _) = run(&[
        "replay",
        s(&leader.join("logical")),
        "--store",
        s(&tmp.path().join("d")),
        "--from-snapshot",
        s(&snap),
    ]);
    assert!(format!("{:#}", r.unwrap_err()).contains("checksum"));
}

/// Issue 11 item 28: a follower seeded from a snapshot of another log's
/// follower reports a position in the log it reads, even when every
/// transaction was already in the snapshot.
#[test]
fn a_follower_seeded_from_another_logs_snapshot_reports_its_own_position() {
    let tmp = tempfile::tempdir().unwrap();
    let leader = tmp.path().join("leader");
    record(&root().join("fixtures/mariadb/workloads/dml.sql"), &leader);
    let a = tmp.path().join("a");
    let (o, v) = json(&[
        "replay",
        s(&leader.join("statement")),
        "--store",
        s(&a),
        "--durability",
        "os",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v}");
    let statement_lsn = v["applied_lsn"].as_u64().unwrap();
    let snap = tmp.path().join("s.snapshot");
    let (o, _) = json(&["snapshot", s(&a), "--out", s(&snap), "--format", "json"]);
    assert_eq!(o, Verdict::Clean);
    // The logical log's own end, from a plain replay of it.
    let (_, plain) = json(&[
        "replay",
        s(&leader.join("logical")),
        "--memory",
        "--format",
        "json",
    ]);
    let logical_lsn = plain["applied_lsn"].as_u64().unwrap();
    assert_ne!(statement_lsn, logical_lsn);
    let (o, v) = json(&[
        "replay",
        s(&leader.join("logical")),
        "--store",
        s(&tmp.path().join("b")),
        "--from-snapshot",
        s(&snap),
        "--durability",
        "os",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v}");
    assert_eq!(v["applied"], 0, "{v}");
    assert_eq!(v["kind"], "logical", "{v}");
    assert_eq!(v["applied_lsn"].as_u64(), Some(logical_lsn), "{v}");
    assert_eq!(v["last_txid"], plain["last_txid"], "{v}");
}
