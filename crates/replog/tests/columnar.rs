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

/// `replog ARGS` as (exit status as a verdict or error, standard output).
fn try_run(args: &[&str]) -> (anyhow::Result<replog::Verdict>, String) {
    let mut all = vec!["replog"];
    all.extend(args);
    let cli = <replog::Cli as clap::Parser>::try_parse_from(all).unwrap();
    let mut out = Vec::new();
    let v = replog::run(cli, &mut out);
    (v, String::from_utf8(out).unwrap())
}

/// (offset, length) of every event of a binlog, read from the headers.
fn events(d: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut p = 4;
    while p + 19 <= d.len() {
        let len = u32::from_le_bytes(d[p + 9..p + 13].try_into().unwrap()) as usize;
        out.push((p, len));
        p += len;
    }
    out
}

/// The ROW binlog of the dml workload written as `name` into a directory
/// of its own under `dir` (so that every variant has the same file name).
fn write_binlog(dir: &Path, sub: &str, bytes: &[u8]) -> String {
    let d = dir.join(sub);
    std::fs::create_dir(&d).unwrap();
    let p = d.join("mariadb-bin.000001");
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

const ROWS_PER_TABLE: &str = "SELECT database_name || '.' || table_name AS t, op, count(*) AS n \
     FROM changes GROUP BY 1, 2 ORDER BY 1, 2";

/// A binlog cut inside an event (a torn tail): `query` exits 1 and prints
/// nothing, `export` fails and leaves nothing; under `--recovery
/// tolerate-tail` both read the valid prefix, exit 1, and give what they
/// give for the same binlog cut at the start of that event (a clean
/// binlog, whose last, unfinished transaction is left out alike).
#[test]
fn a_torn_binlog_exits_1_and_recovery_reads_its_valid_prefix() {
    let src = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let bytes = std::fs::read(&src).unwrap();
    let &(at, len) = events(&bytes)
        .iter()
        .find(|(p, l)| p + l > bytes.len() * 2 / 3)
        .unwrap();
    assert!(len > 20);
    let tmp = tempfile::tempdir().unwrap();
    let torn = write_binlog(tmp.path(), "torn", &bytes[..at + 10]);
    let clean = write_binlog(tmp.path(), "clean", &bytes[..at]);

    // query: damage is exit 1, nothing printed.
    let (v, out) = try_run(&["query", ROWS_PER_TABLE, &torn]);
    assert_eq!(v.unwrap(), replog::Verdict::Found);
    assert!(out.is_empty(), "{out}");
    // --recovery: the valid prefix, exit 1.
    let (v, prefix) = try_run(&[
        "query",
        "--recovery",
        "tolerate-tail",
        "--format",
        "ndjson",
        ROWS_PER_TABLE,
        &torn,
    ]);
    assert_eq!(v.unwrap(), replog::Verdict::Found);
    let (v, expected) = try_run(&["query", "--format", "ndjson", ROWS_PER_TABLE, &clean]);
    assert_eq!(v.unwrap(), replog::Verdict::Clean);
    assert_eq!(prefix, expected);
    let (_, whole) = try_run(&[
        "query",
        "--format",
        "ndjson",
        ROWS_PER_TABLE,
        src.to_str().unwrap(),
    ]);
    assert!(!prefix.is_empty() && prefix != whole, "{prefix}");

    // export: an error, no output file, no staging file.
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let target = out_dir.join("torn.ndjson");
    let (v, _) = try_run(&[
        "export",
        "--to",
        "debezium",
        "-o",
        target.to_str().unwrap(),
        &torn,
    ]);
    assert!(v.is_err());
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0);
    // --recovery: the valid prefix's events, exit 1.
    let (v, _) = try_run(&[
        "export",
        "--to",
        "debezium",
        "--recovery",
        "tolerate-tail",
        "-o",
        target.to_str().unwrap(),
        &torn,
    ]);
    assert_eq!(v.unwrap(), replog::Verdict::Found);
    let (v, expected) = try_run(&["export", "--to", "debezium", &clean]);
    assert_eq!(v.unwrap(), replog::Verdict::Clean);
    let got = std::fs::read_to_string(&target).unwrap();
    assert!(!got.is_empty());
    assert_eq!(got, expected);

    // export --to parquet: the same, as datasets.
    let pq = tmp.path().join("pq");
    let (v, _) = try_run(&[
        "export",
        "--to",
        "parquet",
        "-o",
        pq.to_str().unwrap(),
        &torn,
    ]);
    assert!(v.is_err());
    assert!(!pq.exists());
    let summary = |out: &str| -> serde_json::Value {
        let mut j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        j.as_object_mut().unwrap().remove("output");
        j.as_object_mut().unwrap().remove("tolerated_damage");
        j
    };
    let (v, got) = try_run(&[
        "export",
        "--to",
        "parquet",
        "--recovery",
        "tolerate-tail",
        "-o",
        pq.to_str().unwrap(),
        &torn,
    ]);
    assert_eq!(v.unwrap(), replog::Verdict::Found);
    assert!(pq.join("changes").is_dir());
    let pq_clean = tmp.path().join("pq-clean");
    let (v, expected) = try_run(&[
        "export",
        "--to",
        "parquet",
        "-o",
        pq_clean.to_str().unwrap(),
        &clean,
    ]);
    assert_eq!(v.unwrap(), replog::Verdict::Clean);
    assert_eq!(summary(&got), summary(&expected));
}

/// An event length damaged in the middle of the binlog, with valid events
/// after it: corruption, never a torn tail. `--recovery tolerate-tail`
/// does not accept it (query exits 1 with nothing printed, export fails);
/// `--recovery stop-at-first` reads up to it, as far as the same binlog
/// cut at the damaged event.
#[test]
fn damage_mid_binlog_is_not_passed_off_as_a_torn_tail() {
    let src = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let bytes = std::fs::read(&src).unwrap();
    let evs = events(&bytes);
    let &(at, _) = evs.iter().find(|(p, _)| *p > bytes.len() / 3).unwrap();
    let mut damaged = bytes.clone();
    damaged[at + 10] ^= 0x40;
    damaged[at + 11] ^= 0x01;
    let tmp = tempfile::tempdir().unwrap();
    let bad = write_binlog(tmp.path(), "bad", &damaged);
    let clean = write_binlog(tmp.path(), "clean", &bytes[..at]);

    for policy in ["strict", "tolerate-tail"] {
        let (v, out) = try_run(&["query", "--recovery", policy, ROWS_PER_TABLE, &bad]);
        assert_eq!(v.unwrap(), replog::Verdict::Found, "{policy}");
        assert!(out.is_empty(), "{policy}: {out}");
        let (v, _) = try_run(&["export", "--to", "maxwell", "--recovery", policy, &bad]);
        let e = v.unwrap_err();
        assert!(
            format!("{e:#}").contains(&format!("offset {at}")),
            "{policy}: {e:#}"
        );
    }
    // Through the command line: the query says it stopped, where, and
    // exits 1 with nothing on standard output; the export says it stopped
    // and exits 2 (a failed export).
    for (args, code, said) in [
        (
            vec!["query", ROWS_PER_TABLE, bad.as_str()],
            1,
            "the query stopped at damage",
        ),
        (
            vec!["export", "--to", "maxwell", bad.as_str()],
            2,
            "the export stopped at damage",
        ),
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_replog"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("offset {at}")),
            "{args:?}: {stderr}"
        );
        if args[0] == "query" {
            assert!(o.stdout.is_empty(), "{args:?}");
            assert!(!stderr.contains("export"), "{stderr}");
        }
    }
    let (v, prefix) = try_run(&[
        "query",
        "--recovery",
        "stop-at-first",
        "--format",
        "ndjson",
        ROWS_PER_TABLE,
        &bad,
    ]);
    assert_eq!(v.unwrap(), replog::Verdict::Found);
    let (_, expected) = try_run(&["query", "--format", "ndjson", ROWS_PER_TABLE, &clean]);
    assert!(!prefix.is_empty());
    assert_eq!(prefix, expected);
    let (v, got) = try_run(&[
        "export",
        "--to",
        "maxwell",
        "--recovery",
        "stop-at-first",
        &bad,
    ]);
    assert_eq!(v.unwrap(), replog::Verdict::Found);
    let (_, expected) = try_run(&["export", "--to", "maxwell", &clean]);
    assert_eq!(got, expected);
}
