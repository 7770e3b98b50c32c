//! `replog diff --state` and `replog diff --failover` end to end: logs
//! recorded by `replog record` from SQL, stores saved by
//! `replog replay --store`, MariaDB's binlogs; every output format and
//! exit status.

use replog::Verdict;
use replog_test_support::{root, s};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

replog_test_support::cli_harness!();

/// Records `sql` into `dir/logs` (statement, logical and physical logs).
fn record(sql: &str, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let f = dir.join("workload.sql");
    std::fs::write(&f, sql).unwrap();
    let logs = dir.join("logs");
    let (o, _) = json(&[
        "record",
        s(&f),
        "--out",
        s(&logs),
        "--durability",
        "os",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean);
    logs
}

const WORKLOAD: &str = "\
CREATE DATABASE d;
USE d;
CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, n INT);
INSERT INTO t (name, n) VALUES ('a', 1), ('b', 2);
INSERT INTO t (name, n) VALUES ('c', 3);
UPDATE t SET n = 20 WHERE id = 2;
CREATE TABLE u (k INT PRIMARY KEY, v VARCHAR(10));
INSERT INTO u VALUES (1, 'x'), (2, 'y');
DELETE FROM t WHERE id = 1;
INSERT INTO t (name, n) VALUES ('d', 4);
";

/// The txid of the statement starting with `prefix` in a script where
/// every statement but USE is one autocommit transaction, 1, 2, ….
fn txid_of(sql: &str, prefix: &str) -> u64 {
    let stmts: Vec<&str> = sql
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("USE "))
        .collect();
    stmts.iter().position(|l| l.starts_with(prefix)).unwrap() as u64 + 1
}

#[test]
fn logs_of_every_format_of_one_workload_are_state_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = record(WORKLOAD, tmp.path());
    let kinds = ["statement", "logical", "physical"];
    for a in kinds {
        for b in kinds {
            let (o, v) = json(&[
                "diff",
                "--state",
                s(&logs.join(a)),
                s(&logs.join(b)),
                "--format",
                "json",
            ]);
            assert_eq!(o, Verdict::Clean, "{a} vs {b}: {v}");
            assert_eq!(v["identical"], true);
            assert_eq!(v["rows"].as_array().unwrap().len(), 0);
            assert_eq!(v["summary"]["steps"], 9, "{a} vs {b}");
            assert_eq!(v["summary"]["paired"], 9, "{a} vs {b}");
            assert_eq!(v["summary"]["stores"]["tables_same"], 2);
            assert_eq!(v["summary"]["a"]["digest"], v["summary"]["b"]["digest"]);
        }
    }
    // The record-level diff refuses logs of different formats (exit 2).
    let (r, _) = run(&["diff", s(&logs.join("statement")), s(&logs.join("logical"))]);
    assert!(r.is_err());
}

#[test]
fn a_modified_log_differs_at_the_right_transaction_table_key_and_values() {
    let tmp = tempfile::tempdir().unwrap();
    let a = record(WORKLOAD, &tmp.path().join("a"));
    // B: the UPDATE wrote 21, and B also has a table A lacks; A's DELETE
    // is missing from B, so row id=1 is only in B.
    let modified = WORKLOAD
        .replace("SET n = 20", "SET n = 21")
        .replace("DELETE FROM t WHERE id = 1;\n", "")
        + "CREATE TABLE extra (k INT PRIMARY KEY);\nINSERT INTO extra VALUES (7);\n";
    let b = record(&modified, &tmp.path().join("b"));
    let update_txid = txid_of(WORKLOAD, "UPDATE");
    for (ka, kb) in [
        ("logical", "logical"),
        ("statement", "physical"),
        ("physical", "logical"),
    ] {
        let what = format!("A {ka}, B {kb}");
        let (o, v) = json(&[
            "diff",
            "--state",
            s(&a.join(ka)),
            s(&b.join(kb)),
            "--format",
            "json",
        ]);
        assert_eq!(o, Verdict::Found, "{what}");
        assert_eq!(v["identical"], false);
        let d = &v["summary"]["first_divergence"];
        assert_eq!(d["txid_a"], update_txid, "{what}: {d}");
        assert_eq!(d["txid_b"], update_txid, "{what}: {d}");
        if ka != "physical" && kb != "physical" {
            assert_eq!(d["tables"], serde_json::json!(["d.t"]), "{what}");
        }
        let rows = v["rows"].as_array().unwrap();
        let different: Vec<&Json> = rows.iter().filter(|r| r["status"] == "different").collect();
        assert_eq!(different.len(), 1, "{what}: {rows:?}");
        assert_eq!(different[0]["table"], "d.t");
        assert_eq!(different[0]["key"], "id=2");
        assert_eq!(different[0]["columns"][0]["column"], "n");
        assert_eq!(different[0]["columns"][0]["a"], "20");
        assert_eq!(different[0]["columns"][0]["b"], "21");
        let only_b: Vec<(&str, &str)> = rows
            .iter()
            .filter(|r| r["status"] == "only_b")
            .map(|r| (r["table"].as_str().unwrap(), r["key"].as_str().unwrap()))
            .collect();
        assert_eq!(only_b, vec![("d.t", "id=1")], "{what}");
        assert_eq!(v["tables"].as_array().unwrap().len(), 2, "{what}");
        assert_eq!(v["summary"]["stores"]["tables_only_b"], 1);
        assert!(
            v["tables"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["table"] == "d.extra" && t["status"] == "only_b" && t["rows_b"] == 1),
            "{what}: {}",
            v["tables"]
        );
    }
    // Table output names the row and both values; NDJSON is one object a
    // line ending with the summary.
    let (r, out) = run(&[
        "diff",
        "--state",
        s(&a.join("logical")),
        s(&b.join("statement")),
    ]);
    assert_eq!(r.unwrap(), Verdict::Found);
    assert!(
        out.contains("| d.t   | id=2 | different | n      | 20 | 21"),
        "{out}"
    );
    assert!(
        out.contains(&format!("first divergence: after step {update_txid} (transaction {update_txid} in A, {update_txid} in B")),
        "{out}"
    );
    assert!(out.contains("result: DIFFERENT"), "{out}");
    let (r, out) = run(&[
        "diff",
        "--state",
        s(&a.join("logical")),
        s(&b.join("statement")),
        "--format",
        "ndjson",
    ]);
    assert_eq!(r.unwrap(), Verdict::Found);
    let lines: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.iter().filter(|l| l.get("row").is_some()).count(), 2);
    assert_eq!(lines.iter().filter(|l| l.get("table").is_some()).count(), 2);
    assert_eq!(lines.last().unwrap()["identical"], false);
}

#[test]
fn stores_saved_by_replay_compare_with_stores_and_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let a = record(WORKLOAD, &tmp.path().join("a"));
    let b = record(
        &WORKLOAD.replace("('c', 3)", "('c', 30)"),
        &tmp.path().join("b"),
    );
    let (sa, sb) = (tmp.path().join("store-a"), tmp.path().join("store-b"));
    for (log, dir) in [(a.join("statement"), &sa), (b.join("logical"), &sb)] {
        let (r, _) = run(&["replay", s(&log), "--store", s(dir)]);
        assert_eq!(r.unwrap(), Verdict::Clean);
    }
    let (o, v) = json(&["diff", "--state", s(&sa), s(&sb), "--format", "json"]);
    assert_eq!(o, Verdict::Found);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["key"], "id=3");
    assert_eq!(rows[0]["columns"][0]["a"], "3");
    assert_eq!(rows[0]["columns"][0]["b"], "30");
    let source = v["summary"]["a"]["source"].as_str().unwrap();
    assert!(
        source.starts_with("snapshot") || source.starts_with("page store"),
        "{source}"
    );
    // The store's recorded position: the last of the 9 transactions.
    assert_eq!(v["summary"]["a"]["store_last_txid"], 9, "{v}");
    // A store against the physical log it was not made from, but of the
    // same leader: the same state.
    let (o, v) = json(&[
        "diff",
        "--state",
        s(&sa),
        s(&a.join("physical")),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v}");
    assert_eq!(v["summary"]["steps"], 0);
    let (o, _) = json(&[
        "diff",
        "--state",
        s(&b.join("logical")),
        s(&sa),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Found);
}

#[test]
fn mariadb_binlogs_against_native_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let sql = std::fs::read_to_string(root().join("fixtures/mariadb/workloads/dml.sql")).unwrap();
    let logs = record(&sql, tmp.path());
    let bin = |run: &str| {
        root()
            .join("fixtures/mariadb/out/dml")
            .join(run)
            .join("mariadb-bin.000001")
    };
    // MariaDB's ROW binlog does not log statements that changed nothing, so
    // its transactions are numbered differently: aligned by state, every
    // state is the same.
    let (o, v) = json(&[
        "diff",
        "--state",
        s(&bin("row-full")),
        s(&logs.join("physical")),
        "--align",
        "state",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v}");
    assert!(v["summary"]["steps"].as_u64().unwrap() > 5);
    // The STATEMENT binlog against the logical log: by txid.
    let (o, v) = json(&[
        "diff",
        "--state",
        s(&bin("statement")),
        s(&logs.join("logical")),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v}");
}

/// The old leader ran the shared prefix then its own tail; the new leader
/// (a follower that had applied the prefix) ran the prefix then its own
/// inserts. Both recorded with one server id: matched by content.
#[test]
fn failover_report_on_recorded_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = "\
CREATE DATABASE shop;
USE shop;
CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item VARCHAR(20) NOT NULL);
INSERT INTO orders (item) VALUES ('pen'), ('ink');
INSERT INTO orders (item) VALUES ('pad');
";
    let old_tail = "\
INSERT INTO orders (item) VALUES ('cup');
UPDATE orders SET item = 'quill' WHERE id = 1;
INSERT INTO orders (item) VALUES ('mug'), ('jar');
";
    let new_tail = "\
INSERT INTO orders (item) VALUES ('hat');
INSERT INTO orders (item) VALUES ('mug');
INSERT INTO orders (item) VALUES ('box');
";
    let a = record(&format!("{prefix}{old_tail}"), &tmp.path().join("old"));
    let b = record(&format!("{prefix}{new_tail}"), &tmp.path().join("new"));
    // Old leader txids 5, 6, 7 (the tail) never reached the new leader.
    // Keys: old 4=cup, 5=mug, 6=jar; new 4=hat, 5=mug, 6=box: 4 and 6 are
    // reused for other rows, 5 holds the same row on both.
    for (ka, kb) in [
        ("logical", "logical"),
        ("statement", "logical"),
        ("logical", "statement"),
    ] {
        let what = format!("A {ka}, B {kb}");
        let (o, v) = json(&[
            "diff",
            "--failover",
            s(&a.join(ka)),
            s(&b.join(kb)),
            "--format",
            "json",
        ]);
        assert_eq!(o, Verdict::Found, "{what}");
        let lost: Vec<u64> = v["lost"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["txid"].as_u64().unwrap())
            .collect();
        assert_eq!(lost, vec![5, 6, 7], "{what}: {v}");
        let reused: Vec<(&str, u64, u64)> = v["reused_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["key"].as_str().unwrap(),
                    r["txid_a"].as_u64().unwrap(),
                    r["txid_b"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(reused, vec![("id=4", 5, 5), ("id=6", 7, 7)], "{what}: {v}");
        assert_eq!(v["summary"]["replicated_by_content"], 4);
        assert_eq!(v["summary"]["new_leader_own"], 3);
        assert_eq!(v["summary"]["origin_matching"], false);
    }
    let (r, out) = run(&[
        "diff",
        "--failover",
        s(&a.join("logical")),
        s(&b.join("logical")),
    ]);
    assert_eq!(r.unwrap(), Verdict::Found);
    assert!(out.contains("discarded"), "{out}");
    assert!(out.contains("item=cup"), "{out}");
    assert!(out.contains("item=hat"), "{out}");
    assert!(out.contains("result: WRITES LOST"), "{out}");
    let (r, out) = run(&[
        "diff",
        "--failover",
        s(&a.join("logical")),
        s(&b.join("logical")),
        "--format",
        "ndjson",
    ]);
    assert_eq!(r.unwrap(), Verdict::Found);
    let lines: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.iter().filter(|l| l.get("lost").is_some()).count(), 3);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.get("reused_key").is_some())
            .count(),
        2
    );
    // The old leader's log against itself (logical vs statement): nothing lost.
    let (o, v) = json(&[
        "diff",
        "--failover",
        s(&a.join("statement")),
        s(&a.join("logical")),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v}");
    // A physical log is refused (exit 2).
    let (r, _) = run(&[
        "diff",
        "--failover",
        s(&a.join("physical")),
        s(&b.join("logical")),
    ]);
    let e = r.expect_err("physical refused");
    assert!(format!("{e:#}").contains("statement or logical"), "{e:#}");
}

#[test]
fn a_torn_log_is_an_error_unless_its_tail_is_tolerated() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = record(WORKLOAD, tmp.path());
    let torn = tmp.path().join("torn");
    std::fs::create_dir_all(&torn).unwrap();
    let mut segs: Vec<PathBuf> = std::fs::read_dir(logs.join("logical"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segs.sort();
    for p in &segs {
        std::fs::copy(p, torn.join(p.file_name().unwrap())).unwrap();
    }
    // Cut the last COMMIT short.
    let last = torn.join(segs.last().unwrap().file_name().unwrap());
    let len = std::fs::metadata(&last).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
    f.set_len(len - 10).unwrap();
    for mode in ["--state", "--failover"] {
        let (r, _) = run(&["diff", mode, s(&logs.join("statement")), s(&torn)]);
        let e = r.expect_err("strict: damage is an error");
        assert!(format!("{e:#}").contains("damaged"), "{mode}: {e:#}");
    }
    // Tolerated, the torn transaction (the last INSERT) is not applied: B
    // lacks it.
    let (o, v) = json(&[
        "diff",
        "--state",
        s(&logs.join("statement")),
        s(&torn),
        "--recovery",
        "tolerate-tail",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Found);
    assert_eq!(v["summary"]["only_a"], 1);
    assert_eq!(v["summary"]["first_divergence"]["txid_a"], 9);
    assert_eq!(v["rows"][0]["status"], "only_a");
    assert_eq!(v["rows"][0]["key"], "id=4");
    let (o, v) = json(&[
        "diff",
        "--failover",
        s(&logs.join("statement")),
        s(&torn),
        "--recovery",
        "tolerate-tail",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Found);
    assert_eq!(v["lost"][0]["txid"], 9);
    assert_eq!(v["summary"]["discarded"], 1);
}
