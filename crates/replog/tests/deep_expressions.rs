//! Issue 11 item 1: statements with long chains of operators (MariaDB logs
//! `DELETE … WHERE id > -0 AND id > -1 AND …` with 10,000 terms and
//! executes it) nest 10,000 levels deep in sqlparser's tree. Every command
//! that runs or analyzes them used to overflow its stack and abort; they
//! run now, on the test harness's 2 MiB threads too, and a statement nested
//! deeper than the store's limit is refused with a clean error.

mod common;

use common::{root, run};
use replog::Verdict;
use replog_core::LogKind;
use replog_core::writer::{DirWriter, WriterOptions};
use replog_store::logwrite::{StatementEncoder, write_transaction};
use replog_store::{SimEnvironment, Store};
use std::path::Path;

fn and_chain(n: usize) -> String {
    let terms: Vec<String> = (0..n).map(|i| format!("id > -{i}")).collect();
    terms.join(" AND ")
}

fn plus_chain(n: usize) -> String {
    vec!["1"; n].join(" + ")
}

const SETUP: &str = "CREATE DATABASE d; USE d;
CREATE TABLE t (id INT PRIMARY KEY, v BIGINT, w INT);
INSERT INTO t VALUES (1, 0, 0), (2, 0, 0), (3, 0, 0);";

fn workload(dir: &Path) -> String {
    let sql = format!(
        "{SETUP}
UPDATE t SET v = {} WHERE id < 3;
UPDATE t SET w = 7 WHERE {} AND id <> 3;
DELETE FROM t WHERE {} AND id = 1;
",
        plus_chain(10_000),
        and_chain(10_000),
        and_chain(10_000),
    );
    let path = dir.join("deep.sql");
    std::fs::write(&path, sql).unwrap();
    path.display().to_string()
}

#[test]
fn ten_thousand_term_chains_run_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(tmp.path());
    let out = tmp.path().join("logs");
    let out_s = out.display().to_string();
    let (r, text) = run(&["record", &w, "--out", &out_s, "--durability", "os"]);
    assert_eq!(r.unwrap(), Verdict::Clean, "{text}");

    let expected = "-- d.t\n2\t10000\t7\n3\t0\t0\n";
    let statement = out.join("statement").display().to_string();
    let logical = out.join("logical").display().to_string();
    for log in [&statement, &logical] {
        let (r, text) = run(&["dump", log]);
        assert_eq!(r.unwrap(), Verdict::Clean);
        assert_eq!(text, expected, "{log}");
    }

    let (r, text) = run(&["replay", &statement, "--memory"]);
    assert_eq!(r.unwrap(), Verdict::Clean, "{text}");
    assert!(text.contains("matches the leader"), "{text}");

    let converted = tmp.path().join("rows.replog").display().to_string();
    let (r, text) = run(&["convert", &statement, "--to", "logical", "-o", &converted]);
    assert_eq!(r.unwrap(), Verdict::Clean, "{text}");
    let (r, text) = run(&["dump", &converted]);
    assert_eq!(r.unwrap(), Verdict::Clean);
    assert_eq!(text, expected);

    // Static analysis and five replicas: every statement analyzed, none
    // flagged, no replica diverges.
    for args in [
        vec!["determinism", "--static", "--format", "json", &statement],
        vec!["determinism", "--format", "json", &statement],
    ] {
        let (r, text) = run(&args);
        assert_eq!(r.unwrap(), Verdict::Clean, "{args:?}: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["summary"]["not_analyzed"], 0, "{args:?}: {text}");
        assert_eq!(v["summary"]["statements"], 6, "{args:?}: {text}");
    }
}

/// A statement log whose transaction 1 creates the table and whose
/// transaction 2 holds `sql`.
fn statement_log(dir: &Path, sql: &str) -> String {
    let mut store = Store::new(SimEnvironment::default());
    store.execute_script(SETUP).unwrap();
    store.execute("UPDATE t SET v = 1").unwrap();
    let mut txs = store.take_committed();
    let last = txs.last_mut().unwrap();
    last.statements[0].sql = sql.to_string();
    let dir = dir.join("statement");
    let mut w = DirWriter::create(&dir, WriterOptions::new(LogKind::Statement)).unwrap();
    let mut enc = StatementEncoder::new(1);
    for tx in &txs {
        write_transaction(&mut w, &enc.encode(tx).unwrap()).unwrap();
    }
    w.finish().unwrap();
    dir.display().to_string()
}

#[test]
fn deeper_than_the_limit_is_a_clean_error() {
    let depth = replog_store::deep::MAX_EXPR_DEPTH + 1;
    let sql = format!("UPDATE t SET v = {}", plus_chain(depth + 1));
    let tmp = tempfile::tempdir().unwrap();

    // record: the statement is named, exit status 2.
    let w = tmp.path().join("w.sql");
    std::fs::write(&w, format!("{SETUP}\n{sql};\n")).unwrap();
    let out = tmp.path().join("logs").display().to_string();
    let (r, _) = run(&["record", w.to_str().unwrap(), "--out", &out]);
    let e = format!("{:#}", r.unwrap_err());
    assert!(e.contains("statement 5 (line 4)"), "{e}");
    assert!(e.contains("expression too deep"), "{e}");

    // replay of a statement log holding it: a failed transaction.
    let log = statement_log(tmp.path(), &sql);
    let (r, text) = run(&["replay", &log, "--memory"]);
    assert_eq!(r.unwrap(), Verdict::Found, "{text}");
    assert!(text.contains("expression too deep"), "{text}");

    // determinism: the statement is reported as not analyzed.
    let (r, text) = run(&["determinism", "--static", "--format", "json", &log]);
    r.unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["summary"]["not_analyzed"], 1, "{text}");
    assert!(text.contains("expression too deep"), "{text}");
}

/// The real thing: MariaDB 10.11's STATEMENT binlog of a DELETE with a
/// 10,000-term WHERE (`fixtures/mariadb/workloads/deep.sql`, made by
/// `fixtures/mariadb/generate.sh deep`). Every command that aborted on it
/// runs, and the replayed table is MariaDB's own.
#[test]
fn mariadb_statement_binlog_with_a_ten_thousand_term_delete() {
    let dir = root().join("fixtures/mariadb/out/deep/statement");
    let binlogs: Vec<String> = ["mariadb-bin.000001", "mariadb-bin.000002"]
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect();
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .map(|a| a.to_string())
            .chain(binlogs.iter().cloned())
            .collect()
    };
    let run_with = |args: &[&str]| {
        let v = with(args);
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        run(&v)
    };
    let mariadb = std::fs::read_to_string(dir.join("tables/w_deep.t.tsv")).unwrap();
    let (r, text) = run_with(&["dump"]);
    assert_eq!(r.unwrap(), Verdict::Clean, "{text}");
    assert_eq!(text, format!("-- w_deep.t\n{mariadb}"));
    let (r, text) = run_with(&["replay", "--memory"]);
    assert_eq!(r.unwrap(), Verdict::Clean, "{text}");
    for args in [
        &["determinism", "--static", "--format", "json"][..],
        &["determinism", "--format", "json"][..],
    ] {
        let (r, text) = run_with(args);
        assert_eq!(r.unwrap(), Verdict::Clean, "{args:?}: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["summary"]["not_analyzed"], 0, "{text}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let rows = tmp.path().join("rows.replog").display().to_string();
    let (r, text) = run_with(&["convert", "--to", "logical", "-o", &rows]);
    assert_eq!(r.unwrap(), Verdict::Clean, "{text}");
    let (r, text) = run(&["dump", &rows]);
    assert_eq!(r.unwrap(), Verdict::Clean);
    assert_eq!(text, format!("-- w_deep.t\n{mariadb}"));
}
