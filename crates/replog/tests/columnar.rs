//! `replog query` and `replog export --to parquet` through the CLI: the
//! answers checked against what `mariadb-binlog -v` printed about the same
//! binlogs (rows.txt), damage handling, no partial dataset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> (replog::Verdict, String) {
    let mut all = vec!["replog"];
    all.extend(args);
    let cli = <replog::Cli as clap::Parser>::try_parse_from(all).unwrap();
    let mut out = Vec::new();
    let v = replog::run(cli, &mut out).unwrap();
    (v, String::from_utf8(out).unwrap())
}

/// `(table, op) -> count` of the row changes `mariadb-binlog -v` printed.
fn printed_counts(rows_txt: &Path) -> BTreeMap<(String, String), u64> {
    let text = String::from_utf8_lossy(&std::fs::read(rows_txt).unwrap()).into_owned();
    let mut m = BTreeMap::new();
    for line in text.lines() {
        for (p, op) in [
            ("### INSERT INTO ", "insert"),
            ("### UPDATE ", "update"),
            ("### DELETE FROM ", "delete"),
        ] {
            if let Some(t) = line.strip_prefix(p) {
                *m.entry((t.replace('`', ""), op.to_string())).or_insert(0) += 1;
            }
        }
    }
    m
}

#[test]
fn query_counts_per_table_are_the_rows_mariadb_binlog_printed() {
    for workload in ["dml", "types", "txn"] {
        let dir = root()
            .join("fixtures/mariadb/out")
            .join(workload)
            .join("row-full");
        let log = dir.join("mariadb-bin.000001");
        let (v, out) = run(&[
            "query",
            "--format",
            "ndjson",
            "SELECT database_name || '.' || table_name AS t, op, count(*) AS n \
             FROM changes GROUP BY 1, 2 ORDER BY 1, 2",
            log.to_str().unwrap(),
        ]);
        assert_eq!(v, replog::Verdict::Clean);
        let mut got = BTreeMap::new();
        let mut keys = Vec::new();
        for line in out.lines() {
            // Keys in the query's column order.
            assert!(line.starts_with("{\"t\": "), "{line}");
            let j: serde_json::Value = serde_json::from_str(line).unwrap();
            let k = (
                j["t"].as_str().unwrap().to_string(),
                j["op"].as_str().unwrap().to_string(),
            );
            keys.push(k.clone());
            got.insert(k, j["n"].as_u64().unwrap());
        }
        // ORDER BY held.
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(got, printed_counts(&dir.join("rows.txt")), "{workload}");
    }
}

#[test]
fn each_log_argument_is_a_log_of_its_own() {
    let a = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let b = root().join("fixtures/mariadb/out/types/row-full/mariadb-bin.000001");
    let count = |logs: &[&Path]| -> u64 {
        let mut args = vec![
            "query",
            "--format",
            "ndjson",
            "SELECT count(*) AS n FROM changes",
        ];
        args.extend(logs.iter().map(|p| p.to_str().unwrap()));
        let (_, out) = run(&args);
        serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["n"]
            .as_u64()
            .unwrap()
    };
    let (na, nb) = (count(&[&a]), count(&[&b]));
    assert!(na > 0 && nb > 0);
    assert_eq!(count(&[&a, &b]), na + nb);
}

#[test]
fn a_damaged_binlog_is_an_error_and_leaves_no_dataset() {
    let src = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let bytes = std::fs::read(&src).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("mariadb-bin.000001");
    // Cut in the middle of the log: its tail is torn.
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let cut_s = cut.to_str().unwrap();
    let sql = "SELECT count(*) AS n FROM changes";

    // query: an error naming the offset of the damage, nothing printed.
    let cli =
        <replog::Cli as clap::Parser>::try_parse_from(["replog", "query", sql, cut_s]).unwrap();
    let mut out = Vec::new();
    let e = replog::run(cli, &mut out).unwrap_err();
    assert!(format!("{e:#}").contains("offset"), "{e:#}");
    assert!(out.is_empty());

    // export: an error, no directory.
    let target = tmp.path().join("pq");
    let cli = <replog::Cli as clap::Parser>::try_parse_from([
        "replog",
        "export",
        "--to",
        "parquet",
        "-o",
        target.to_str().unwrap(),
        cut_s,
    ])
    .unwrap();
    assert!(replog::run(cli, &mut Vec::new()).is_err());
    assert!(!target.exists());
    // No staging directory left either.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");

    // --recovery tolerate-tail on a cut binlog is not tested here: the
    // binlog classification pass (Inputs::resolve_source) refuses the
    // truncated event before any recovery policy applies.
}
