//! `replog record`'s report (issue 11 item 28): the statements of the
//! workload are accounted for as logged, failed or not logged, instead of
//! "31 statement(s) … from 32 statement(s)".

mod common;

use common::{root, run};
use replog::Verdict;

#[test]
fn every_workload_statement_is_accounted_for() {
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path().join("w.sql");
    // 7 statements: USE and SELECT change nothing, BEGIN/COMMIT are
    // transaction control, one INSERT fails, two are logged.
    std::fs::write(
        &w,
        "CREATE DATABASE d; USE d; SELECT 1;
         BEGIN; INSERT INTO nowhere VALUES (1); COMMIT;
         CREATE TABLE t (id INT PRIMARY KEY);",
    )
    .unwrap();
    let w = w.display().to_string();
    let out = tmp.path().join("a").display().to_string();
    let (r, text) = run(&[
        "record",
        &w,
        "--out",
        &out,
        "--durability",
        "os",
        "--continue-on-error",
    ]);
    assert_eq!(r.unwrap(), Verdict::Found, "{text}");
    assert!(
        text.starts_with(
            "ran 7 statement(s): 2 logged in 2 transaction(s) with 0 row change(s), 1 failed, 4 not logged"
        ),
        "{text}"
    );

    // The MariaDB fixture workload, in JSON: the counts add up.
    let dml = root().join("fixtures/mariadb/workloads/dml.sql");
    let sql = std::fs::read_to_string(&dml).unwrap();
    let n = replog_store::script::split(&sql).unwrap().len() as u64;
    let out = tmp.path().join("b").display().to_string();
    let (r, text) = run(&[
        "record",
        dml.to_str().unwrap(),
        "--out",
        &out,
        "--durability",
        "os",
        "--format",
        "json",
    ]);
    assert_eq!(r.unwrap(), Verdict::Clean, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["statements_in_workload"], n);
    let logged = v["statements"].as_u64().unwrap();
    let not_logged = v["statements_not_logged"].as_u64().unwrap();
    assert_eq!(logged + not_logged, n, "{text}");
    assert!(logged > 0 && not_logged > 0, "{text}");
}
