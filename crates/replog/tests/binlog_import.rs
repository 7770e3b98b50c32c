//! MariaDB's own binlogs against replog's own leader: for every
//! deterministic fixture workload, the ROW binlogs (full, minimal and no
//! row metadata) and the STATEMENT binlog written by a real MariaDB server,
//! converted to native logs and replayed, reach exactly the state digest
//! that `replog record` reaches executing the same SQL.

use clap::Parser;
use replog::{Cli, Verdict};
use replog_test_support::root;
use std::path::{Path, PathBuf};

fn run_json(args: &[&str]) -> (Verdict, serde_json::Value) {
    let cli = Cli::try_parse_from(std::iter::once("replog").chain(args.iter().copied()))
        .expect("arguments parse");
    let mut out = Vec::new();
    let o = replog::run(cli, &mut out).unwrap_or_else(|e| panic!("replog {args:?}: {e:#}"));
    (
        o,
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("replog {args:?}: {e}")),
    )
}

#[test]
fn mariadb_binlogs_replay_to_the_leaders_digest() {
    let tmp = tempfile::tempdir().unwrap();
    for w in ["types", "dml", "ddl", "txn"] {
        let sql = root()
            .join("fixtures/mariadb/workloads")
            .join(format!("{w}.sql"));
        let rec = tmp.path().join(format!("{w}-leader"));
        let (_, leader) = run_json(&[
            "record",
            sql.to_str().unwrap(),
            "--out",
            rec.to_str().unwrap(),
            "--formats",
            "logical",
            "--durability",
            "os",
            "--format",
            "json",
        ]);
        let digest = leader["digest"].as_str().unwrap().to_string();
        for (run, to) in [
            ("row-full", "logical"),
            ("row-minimal", "logical"),
            ("row-no_log", "logical"),
            ("statement", "statement"),
        ] {
            let bin = root()
                .join("fixtures/mariadb/out")
                .join(w)
                .join(run)
                .join("mariadb-bin.000001");
            let out = tmp.path().join(format!("{w}-{run}.replog"));
            let (_, report) = run_json(&[
                "convert",
                bin.to_str().unwrap(),
                "--to",
                to,
                "-o",
                out.to_str().unwrap(),
                "--format",
                "json",
            ]);
            assert!(report["transactions"].as_u64().unwrap() > 0, "{w} {run}");
            let (o, replay) = run_json(&[
                "replay",
                out.to_str().unwrap(),
                "--memory",
                "--format",
                "json",
            ]);
            assert_eq!(o, Verdict::Clean, "{w} {run}: {replay}");
            assert_eq!(
                replay["digest"].as_str(),
                Some(digest.as_str()),
                "{w} {run}: imported binlog replays to another state"
            );
        }
    }
}

#[test]
fn binlog_to_sql_has_context_and_no_trailing_rollback() {
    let bin = root().join("fixtures/mariadb/out/unsafe/statement/mariadb-bin.000001");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("unsafe.sql");
    let (_, report) = run_json(&[
        "convert",
        bin.to_str().unwrap(),
        "--to",
        "sql",
        "-o",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(report["statements_with_rand"].as_u64().unwrap() > 0);
    let sql = std::fs::read_to_string(&out).unwrap();
    assert!(sql.contains("SET TIMESTAMP="));
    assert!(sql.contains("rand_seed1"));
    assert!(!sql.trim_end().ends_with("ROLLBACK;"));
}

fn run(args: &[&str]) -> anyhow::Result<Verdict> {
    let cli = Cli::try_parse_from(std::iter::once("replog").chain(args.iter().copied()))
        .expect("arguments parse");
    replog::run(cli, &mut Vec::new())
}

#[test]
fn invert_and_diff_accept_binlogs() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let bin = bin.to_str().unwrap();
    // Flashback of a ROW binlog, then its inverse again: the same row changes.
    let undo = tmp.path().join("undo.replog");
    let redo = tmp.path().join("redo.replog");
    let imported = tmp.path().join("imported.replog");
    run(&[
        "convert",
        bin,
        "--to",
        "logical",
        "-o",
        imported.to_str().unwrap(),
    ])
    .unwrap();
    run(&["invert", bin, "--skip-ddl", "-o", undo.to_str().unwrap()]).unwrap();
    assert_eq!(
        run(&["verify", undo.to_str().unwrap()]).unwrap(),
        Verdict::Clean
    );
    run(&[
        "invert",
        undo.to_str().unwrap(),
        "-o",
        redo.to_str().unwrap(),
    ])
    .unwrap();
    let rows = |p: &Path| -> Vec<serde_json::Value> {
        let cli = Cli::try_parse_from([
            "replog",
            "inspect",
            "--format",
            "ndjson",
            "--type",
            "insert",
            "--type",
            "update",
            "--type",
            "delete",
            p.to_str().unwrap(),
        ])
        .unwrap();
        let mut out = Vec::new();
        replog::run(cli, &mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["record"].clone())
            .collect()
    };
    let (a, b) = (rows(&imported), rows(&redo));
    assert_eq!(a.len(), 47);
    let strip = |v: &[serde_json::Value]| -> Vec<String> {
        v.iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("relation_id");
                r.to_string()
            })
            .collect()
    };
    assert_eq!(
        strip(&a),
        strip(&b),
        "invert of invert differs from the imported binlog's row changes"
    );
    // A binlog compared with itself is the same; with another server's run of the same workload it differs.
    assert_eq!(run(&["diff", bin, bin]).unwrap(), Verdict::Clean);
    let other = root().join("fixtures/mariadb/out/dml/row-minimal/mariadb-bin.000001");
    assert_eq!(
        run(&["diff", bin, other.to_str().unwrap()]).unwrap(),
        Verdict::Found
    );
    // A mixed binlog (row changes and DML statements) is one logical log:
    // its row changes can be undone (DDL left out on request).
    let mixed = root().join("fixtures/mariadb/out/unsafe/mixed-full/mariadb-bin.000001");
    let undo = tmp.path().join("undo.replog");
    // DDL: CREATE TABLE undone, the rest left out and listed (exit 1).
    let o = run(&[
        "invert",
        mixed.to_str().unwrap(),
        "-o",
        undo.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(o, Verdict::Found);
    std::fs::remove_file(&undo).unwrap();
    run(&[
        "invert",
        "--skip-ddl",
        mixed.to_str().unwrap(),
        "-o",
        undo.to_str().unwrap(),
    ])
    .unwrap();
    assert!(undo.exists());
}

/// Replaying MariaDB's STATEMENT binlog of the unsafe workload reproduces
/// MariaDB's contents for every table except those written with values a
/// binlog never captures (UUID(), SYSDATE()); RAND, NOW, user variables and
/// insert ids come from the binlog's captured context.
#[test]
fn statement_binlog_replay_matches_mariadb_except_uncaptured_values() {
    let dir = root().join("fixtures/mariadb/out/unsafe/statement");
    let bin = dir.join("mariadb-bin.000001");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir.join("tables")).unwrap() {
        let path = entry.unwrap().path();
        let table = path.file_stem().unwrap().to_string_lossy().into_owned();
        let cli = Cli::try_parse_from(["replog", "dump", "--table", &table, bin.to_str().unwrap()])
            .unwrap();
        let mut out = Vec::new();
        replog::run(cli, &mut out).unwrap();
        let ours: String = String::from_utf8(out)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("-- "))
            .map(|l| format!("{l}\n"))
            .collect();
        let theirs = std::fs::read_to_string(&path).unwrap();
        let uncaptured = table.ends_with(".t_uuid") || table.ends_with(".t_sysdate");
        assert_eq!(
            ours == theirs,
            !uncaptured,
            "{table}:\n--- replog\n{ours}--- MariaDB\n{theirs}"
        );
        checked += 1;
    }
    assert!(checked >= 10);
}

/// The dump of a binlog as replog replays it, one table, without comments.
fn dump_table(binlogs: &[PathBuf], table: &str) -> String {
    let mut args = vec![
        "replog".to_string(),
        "dump".into(),
        "--table".into(),
        table.into(),
    ];
    args.extend(binlogs.iter().map(|p| p.to_string_lossy().into_owned()));
    let cli = Cli::try_parse_from(args).unwrap();
    let mut out = Vec::new();
    replog::run(cli, &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-- "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A MIXED binlog is one log: its safe statements executed on the reference
/// store, its unsafe ones taken as the row events MariaDB logged instead.
/// Replayed, it reproduces MariaDB's contents for every table, UUID() and
/// SYSDATE() included — which the STATEMENT binlog of the same workload
/// cannot (see above).
#[test]
fn mixed_binlog_replay_matches_mariadb_for_every_table() {
    for run_dir in ["mixed-full", "mixed-minimal"] {
        let dir = root().join("fixtures/mariadb/out/unsafe").join(run_dir);
        let bins = vec![
            dir.join("mariadb-bin.000001"),
            dir.join("mariadb-bin.000002"),
        ];
        let mut checked = 0;
        for entry in std::fs::read_dir(dir.join("tables")).unwrap() {
            let path = entry.unwrap().path();
            let table = path.file_stem().unwrap().to_string_lossy().into_owned();
            let ours = dump_table(&bins, &table);
            let theirs = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                ours, theirs,
                "{run_dir} {table}:\n--- replog\n{ours}--- MariaDB\n{theirs}"
            );
            checked += 1;
        }
        assert!(checked >= 10, "{run_dir}: {checked} tables");
    }
}

/// The queries workload (joins, subqueries, derived tables, CTEs, UNION,
/// window functions, GROUP_CONCAT, multi-table UPDATE and DELETE): its
/// STATEMENT and MIXED binlogs, executed on the reference store, reach
/// MariaDB's own tables, every one of them.
#[test]
fn statement_and_mixed_binlogs_of_queries_replay_to_mariadbs_tables() {
    replays_to_mariadbs_tables("queries", 6);
}

/// Replays the STATEMENT and MIXED binlogs of `workload` on the reference
/// store and compares every table with MariaDB's dump (`tables` of them).
fn replays_to_mariadbs_tables(workload: &str, tables: usize) {
    for run_dir in ["statement", "mixed-minimal", "mixed-full"] {
        let dir = root()
            .join("fixtures/mariadb/out")
            .join(workload)
            .join(run_dir);
        let mut bins: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("mariadb-bin."))
            })
            .collect();
        bins.sort();
        let mut checked = 0;
        for entry in std::fs::read_dir(dir.join("tables")).unwrap() {
            let path = entry.unwrap().path();
            let table = path.file_stem().unwrap().to_string_lossy().into_owned();
            let ours = dump_table(&bins, &table);
            let theirs = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                ours, theirs,
                "{workload} {run_dir} {table}:\n--- replog\n{ours}--- MariaDB\n{theirs}"
            );
            checked += 1;
        }
        assert_eq!(checked, tables, "{workload} {run_dir}");
    }
}

/// The coverage workload (issue 12: a table without a primary key holding
/// duplicate rows, savepoints, CREATE / DROP DATABASE, RENAME TABLE of
/// several tables, ALTER TABLE … RENAME TO, TRUNCATE, multi-table DELETE,
/// INSERT … SELECT with joins, GROUP BY / HAVING, window functions and a
/// recursive CTE, functions of every family, REGEXP, the default
/// collation's case-insensitive unique key): its STATEMENT and MIXED
/// binlogs, executed on the reference
/// store, reach MariaDB's own tables, every one of them.
#[test]
fn statement_and_mixed_binlogs_of_the_coverage_workload_replay_to_mariadbs_tables() {
    replays_to_mariadbs_tables("coverage", 11);
}

/// Statement and mixed binlogs of the deterministic workloads, converted to
/// logical logs by executing them on the reference store, replay to the
/// digest that MariaDB's ROW binlog of the same workload reaches.
#[test]
fn statement_and_mixed_binlogs_to_logical_match_the_row_binlog() {
    let tmp = tempfile::tempdir().unwrap();
    for w in ["types", "dml", "ddl", "txn", "queries"] {
        let replay_digest = |log: &Path| -> String {
            let (_, v) = run_json(&[
                "replay",
                "--format",
                "json",
                "--memory",
                log.to_str().unwrap(),
            ]);
            v["digest"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| panic!("{v}"))
        };
        let row = root()
            .join("fixtures/mariadb/out")
            .join(w)
            .join("row-full/mariadb-bin.000001");
        let want = replay_digest(&row);
        for run_dir in ["statement", "mixed-minimal", "mixed-full"] {
            let bin = root()
                .join("fixtures/mariadb/out")
                .join(w)
                .join(run_dir)
                .join("mariadb-bin.000001");
            let out = tmp.path().join(format!("{w}-{run_dir}.replog"));
            let (o, report) = run_json(&[
                "convert",
                "--to",
                "logical",
                "--format",
                "json",
                bin.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ]);
            assert_eq!(o, Verdict::Clean, "{w} {run_dir}: {report:#}");
            assert!(
                report["executed"]["statements"].as_u64().unwrap() > 0,
                "{report:#}"
            );
            assert_eq!(replay_digest(&out), want, "{w} {run_dir}");
        }
    }
}

/// Issue 11 item 3: a ROW binlog converted to a statement log used to lose
/// every row change and exit 0. It is now refused with nothing written,
/// unless the user asks to drop the row changes (then exit 1, not 0).
#[test]
fn row_binlog_to_statement_log_never_drops_rows_silently() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let out = tmp.path().join("stmt.replog");
    let refused = run(&[
        "convert",
        bin.to_str().unwrap(),
        "--to",
        "statement",
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = format!(
        "{:#}",
        refused.expect_err("row changes cannot be dropped silently")
    );
    assert!(
        err.contains("cannot be carried by a statement log"),
        "{err}"
    );
    assert!(!out.exists(), "nothing may be written");
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "staging debris: {leftovers:?}");
    let dropped = run(&[
        "convert",
        bin.to_str().unwrap(),
        "--to",
        "statement",
        "--drop-row-changes",
        "-o",
        out.to_str().unwrap(),
    ])
    .unwrap();
    assert_eq!(
        dropped,
        Verdict::Found,
        "dropping row changes is not a clean run"
    );
    assert!(out.exists());
}
