//! `replog export`: every envelope from the command line, checked against
//! what other tools printed about the same logs, and its handling of
//! damage (no partial output by default; the valid prefix with
//! --recovery).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_replog");

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `mariadb-binlog -v`'s row changes (`rows.txt`) as (type, `db.table`),
/// in binlog order.
fn mariadb_rows(dir: &Path) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(&std::fs::read(dir.join("rows.txt")).unwrap()).into_owned();
    let mut rows = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("### ") else {
            continue;
        };
        for (prefix, kind) in [
            ("INSERT INTO ", "insert"),
            ("UPDATE ", "update"),
            ("DELETE FROM ", "delete"),
        ] {
            if let Some(t) = rest.strip_prefix(prefix) {
                rows.push((kind.to_string(), t.replace('`', "")));
            }
        }
    }
    rows
}

fn binlog_dir(workload: &str) -> std::path::PathBuf {
    root()
        .join("fixtures/mariadb/out")
        .join(workload)
        .join("row-full")
}

#[test]
fn every_envelope_carries_the_rows_mariadb_binlog_printed() {
    for workload in ["dml", "types"] {
        let dir = binlog_dir(workload);
        let want = mariadb_rows(&dir);
        let log = dir.to_str().unwrap();
        let (code, out, err) = run(&["export", log, "--to", "maxwell"]);
        assert_eq!(code, 0, "{err}");
        let rows = lines(&out);
        let got: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r["type"].as_str().unwrap().to_string(),
                    format!(
                        "{}.{}",
                        r["database"].as_str().unwrap(),
                        r["table"].as_str().unwrap()
                    ),
                )
            })
            .collect();
        assert_eq!(got, want, "maxwell {workload}");
        // One commit per transaction, on its last row; the rows before it
        // count up from xoffset 0.
        let mut expect_offset = 0;
        for r in &rows {
            if r["commit"] == true {
                assert!(r.get("xoffset").is_none());
                expect_offset = 0;
            } else {
                assert_eq!(r["xoffset"], expect_offset, "{r}");
                expect_offset += 1;
            }
        }
        assert_eq!(expect_offset, 0, "the last row commits");

        let (code, out, err) = run(&["export", log, "--to", "canal-json"]);
        assert_eq!(code, 0, "{err}");
        let got: Vec<(String, String)> = lines(&out)
            .iter()
            .filter(|r| r["isDdl"] == false)
            .map(|r| {
                (
                    r["type"].as_str().unwrap().to_lowercase(),
                    format!(
                        "{}.{}",
                        r["database"].as_str().unwrap(),
                        r["table"].as_str().unwrap()
                    ),
                )
            })
            .collect();
        assert_eq!(got, want, "canal-json {workload}");

        let (code, out, err) = run(&["export", log, "--to", "debezium", "--no-tombstones"]);
        assert_eq!(code, 0, "{err}");
        let ops = |op: &str| match op {
            "c" => "insert",
            "u" => "update",
            "d" => "delete",
            o => panic!("{o}"),
        };
        let recs = lines(&out);
        let got: Vec<(String, String)> = recs
            .iter()
            .map(|r| {
                let v = &r["value"];
                (
                    ops(v["op"].as_str().unwrap()).to_string(),
                    format!(
                        "{}.{}",
                        v["source"]["db"].as_str().unwrap(),
                        v["source"]["table"].as_str().unwrap()
                    ),
                )
            })
            .collect();
        // A key change is a delete and a create: compare the other rows.
        let changed_keys = recs
            .windows(2)
            .filter(|w| {
                w[0]["value"]["op"] == "d"
                    && w[1]["value"]["op"] == "c"
                    && w[0]["value"]["source"]["pos"] == w[1]["value"]["source"]["pos"]
                    && w[0]["value"]["source"]["row"] == w[1]["value"]["source"]["row"]
            })
            .count();
        assert_eq!(got.len(), want.len() + changed_keys, "debezium {workload}");
        // Topics are <prefix>.<db>.<table>.
        for r in &recs {
            let s = &r["value"]["source"];
            assert_eq!(
                r["topic"],
                format!(
                    "replog.{}.{}",
                    s["db"].as_str().unwrap(),
                    s["table"].as_str().unwrap()
                )
            );
            assert_eq!(s["connector"], "mysql");
        }
    }
}

#[test]
fn output_file_equals_standard_output_and_value_only_is_the_values() {
    let dir = binlog_dir("dml");
    let log = dir.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("out.ndjson");
    let args = [
        "export",
        log,
        "--to",
        "debezium",
        "--schemas",
        "--transactions",
    ];
    let (code, stdout, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let mut with_o = args.to_vec();
    with_o.extend(["-o", file.to_str().unwrap()]);
    let (code, report, err) = run(&with_o);
    assert_eq!(code, 0, "{err}");
    assert!(report.contains("exported"), "{report}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout);
    let mut value_only = args.to_vec();
    value_only.push("--value-only");
    let (code, values, err) = run(&value_only);
    assert_eq!(code, 0, "{err}");
    let full = lines(&stdout);
    let values = lines(&values);
    assert_eq!(full.len(), values.len());
    for (f, v) in full.iter().zip(&values) {
        assert_eq!(&f["value"], v);
    }
}

#[test]
fn a_damaged_log_leaves_no_output_unless_recovery_exports_its_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let log = std::fs::read(root().join("fixtures/native/logical/sample.replog")).unwrap();
    let cut = tmp.path().join("cut.replog");
    std::fs::write(&cut, &log[..log.len() - 10]).unwrap();
    let out = tmp.path().join("out.ndjson");
    let (code, _, err) = run(&[
        "export",
        cut.to_str().unwrap(),
        "--to",
        "debezium",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("offset"), "{err}");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no staging file left"
    );
    let (code, _, err) = run(&[
        "export",
        cut.to_str().unwrap(),
        "--to",
        "debezium",
        "--recovery",
        "tolerate-tail",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("damage"), "{err}");
    let prefix = lines(&std::fs::read_to_string(&out).unwrap());
    let (code, whole, err) = run(&[
        "export",
        root()
            .join("fixtures/native/logical/sample.replog")
            .to_str()
            .unwrap(),
        "--to",
        "debezium",
    ]);
    assert_eq!(code, 0, "{err}");
    let whole = lines(&whole);
    assert!(!prefix.is_empty() && prefix.len() < whole.len());
    assert_eq!(prefix[..], whole[..prefix.len()]);
}

#[test]
fn a_statement_log_exports_as_its_execution_into_a_logical_log() {
    // The same route as `convert --to logical` then `export`.
    let tmp = tempfile::tempdir().unwrap();
    let dir = root().join("fixtures/mariadb/out/dml/statement");
    let dir = dir.to_str().unwrap();
    let rows = tmp.path().join("rows.replog");
    let (code, _, err) = run(&[
        "convert",
        dir,
        "--to",
        "logical",
        "-o",
        rows.to_str().unwrap(),
    ]);
    assert!(code <= 1, "{err}");
    let (code, direct, err) = run(&["export", dir, "--to", "maxwell"]);
    assert_eq!(code, 0, "{err}");
    let (code, converted, err) = run(&["export", rows.to_str().unwrap(), "--to", "maxwell"]);
    assert_eq!(code, 0, "{err}");
    assert!(lines(&direct).len() > 20);
    assert_eq!(direct, converted);
}

#[test]
fn help_names_the_envelopes_and_says_where_times_come_from() {
    let (code, out, _) = run(&["export", "--help"]);
    assert_eq!(code, 0);
    for s in [
        "debezium",
        "maxwell",
        "canal-json",
        "Timestamps come from the log",
        "Examples:",
    ] {
        assert!(out.contains(s), "{s}: {out}");
    }
}

#[test]
fn a_snapshot_exports_as_read_rows_before_the_log() {
    // A store built from a binlog, its snapshot, then `export --snapshot`:
    // the read rows are the rows `replog dump` prints of the same store.
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let snap = tmp.path().join("f.snapshot");
    let log = binlog_dir("dml");
    let (code, _, err) = run(&[
        "replay",
        log.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[
        "snapshot",
        store.to_str().unwrap(),
        "-o",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, dump, err) = run(&["dump", "--format", "json", store.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let dump: serde_json::Value = serde_json::from_str(&dump).unwrap();
    // Each row as (table, column -> text), NULL as null.
    let mut want = Vec::new();
    for t in dump["tables"].as_array().unwrap() {
        let cols = t["columns"].as_array().unwrap();
        for row in t["rows"].as_array().unwrap() {
            let m: serde_json::Map<String, serde_json::Value> = cols
                .iter()
                .zip(row.as_array().unwrap())
                .map(|(c, v)| {
                    let v = if v == "NULL" {
                        serde_json::Value::Null
                    } else {
                        v.clone()
                    };
                    (c.as_str().unwrap().to_string(), v)
                })
                .collect();
            want.push((t["table"].as_str().unwrap().to_string(), m));
        }
    }
    assert!(want.len() > 5);
    let sample = root().join("fixtures/native/logical/sample.replog");
    let (code, out, err) = run(&[
        "export",
        "--snapshot",
        snap.to_str().unwrap(),
        sample.to_str().unwrap(),
        "--to",
        "canal-json",
    ]);
    assert_eq!(code, 0, "{err}");
    let recs = lines(&out);
    let got: Vec<(String, serde_json::Map<String, serde_json::Value>)> = recs[..want.len()]
        .iter()
        .map(|r| {
            (
                format!(
                    "{}.{}",
                    r["database"].as_str().unwrap(),
                    r["table"].as_str().unwrap()
                ),
                r["data"][0].as_object().unwrap().clone(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // Debezium: op r, snapshot true, no transaction; then the log's events.
    let (code, out, err) = run(&[
        "export",
        "--snapshot",
        snap.to_str().unwrap(),
        sample.to_str().unwrap(),
        "--to",
        "debezium",
        "--transactions",
    ]);
    assert_eq!(code, 0, "{err}");
    let recs = lines(&out);
    for r in &recs[..want.len()] {
        assert_eq!(r["value"]["op"], "r");
        assert_eq!(r["value"]["source"]["snapshot"], "true");
        assert!(r["value"]["transaction"].is_null());
    }
    assert_eq!(recs[want.len()]["topic"], "replog.transaction");
}
