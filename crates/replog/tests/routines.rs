//! Stored routines, triggers, views and events in real MariaDB binlogs
//! (`fixtures/mariadb/workloads/routines.sql`, made by
//! `fixtures/mariadb/generate.sh routines`). A row-based follower passes
//! their DDL over, counted, and reaches MariaDB's own tables (the trigger's
//! and the procedure's changes are in the row events); a follower that
//! executes statements refuses them by name at their binlog position,
//! never with a parser error.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_replog");

fn run_dir(run: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../fixtures/mariadb/out/routines/{run}"))
}

fn binlogs(run: &str) -> Vec<String> {
    replog_test_support::mariadb::binlogs("routines", run)
        .iter()
        .map(|p| p.display().to_string())
        .collect()
}

fn replog(args: &[&str], run: &str) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .args(binlogs(run))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Where `mariadb-binlog` puts the GTID event of `gtid` (`# at N` before it).
fn gtid_position(run: &str, gtid: &str) -> u64 {
    let events = std::fs::read_to_string(run_dir(run).join("events.txt")).unwrap();
    let mut at = None;
    for line in events.lines() {
        if let Some(n) = line.strip_prefix("# at ") {
            at = n.trim().parse().ok();
        } else if line.contains(&format!("GTID {gtid} ")) {
            return at.unwrap();
        }
    }
    panic!("{run}: no GTID {gtid}")
}

/// MariaDB's final tables, as `replog dump` prints them.
fn mariadb_tables(run: &str) -> String {
    let mut out = String::new();
    for t in ["w_routines.acct", "w_routines.audit"] {
        let rows = std::fs::read_to_string(run_dir(run).join(format!("tables/{t}.tsv"))).unwrap();
        out.push_str(&format!("-- {t}\n{rows}"));
    }
    out
}

#[test]
fn row_binlogs_with_routines_replay_to_mariadbs_tables() {
    for run in ["row-full", "row-minimal", "row-no_log"] {
        let (code, text, err) = replog(&["dump"], run);
        assert_eq!(code, Some(0), "{run}: {err}");
        assert_eq!(text, mariadb_tables(run), "{run}");
        // The audit rows were written by the trigger: the row events hold them.
        assert!(
            text.contains("-- w_routines.audit\n1\t1\t7\n"),
            "{run}: {text}"
        );

        let (code, text, err) = replog(&["replay", "--memory", "--format", "json"], run);
        assert_eq!(code, Some(0), "{run}: {err}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let passed = &v["non_table_ddl_passed_over"];
        for (what, n) in [
            ("CREATE PROCEDURE", 1),
            ("DROP PROCEDURE", 1),
            ("CREATE FUNCTION", 1),
            ("CREATE TRIGGER", 1),
            ("DROP TRIGGER", 1),
            ("CREATE VIEW", 1),
            ("ALTER VIEW", 1),
            ("DROP VIEW", 1),
            ("CREATE EVENT", 1),
            ("DROP EVENT", 1),
            ("DROP FUNCTION", 1),
        ] {
            assert_eq!(passed[what], n, "{run}: {what}: {text}");
        }
        // CREATE DATABASE and the two CREATE TABLEs.
        assert_eq!(v["ddl"], 3, "{run}: {text}");

        let (code, text, err) = replog(&["replay", "--memory"], run);
        assert_eq!(code, Some(0), "{run}: {err}");
        assert!(
            text.contains("passed over (no rows; the row records carry their effects): 1 × ALTER VIEW, 1 × CREATE EVENT"),
            "{run}: {text}"
        );
    }
}

/// Issue 11 item 10: the route that stopped at CREATE PROCEDURE
/// (`convert BINLOG --to physical`) converts a ROW binlog with routines,
/// says what it passed over, and its WAL redoes to MariaDB's tables.
#[test]
fn row_binlogs_with_routines_convert_to_a_physical_log() {
    for run in ["row-full", "row-no_log"] {
        let tmp = tempfile::tempdir().unwrap();
        let wal = tmp.path().join("wal");
        let wal = wal.to_str().unwrap();
        let (code, text, err) = replog(&["convert", "--to", "physical", "-o", wal], run);
        assert_eq!(code, Some(0), "{run}: {text}{err}");
        assert!(
            text.contains(
                "passed over (no rows; the row records carry their effects): 1 × ALTER VIEW"
            ),
            "{run}: {text}"
        );
        let out = Command::new(BIN).args(["dump", wal]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{run}");
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            mariadb_tables(run),
            "{run}"
        );
        let (code, text, err) = replog(
            &[
                "convert",
                "--to",
                "physical",
                "--format",
                "json",
                "-o",
                &format!("{wal}2"),
            ],
            run,
        );
        assert_eq!(code, Some(0), "{run}: {err}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["non_table_ddl_passed_over"]["CREATE PROCEDURE"], 1,
            "{text}"
        );
    }
}

#[test]
fn a_statement_binlog_stops_at_the_procedure_by_name_and_position() {
    let (code, text, err) = replog(&["replay", "--memory"], "statement");
    assert_eq!(code, Some(1), "{text}{err}");
    let at = gtid_position("statement", "0-1-5");
    assert!(
        text.contains(&format!(
            "failed: transaction 5 at mariadb-bin.000001:{at} (GTID 0-1-5): unsupported: CREATE PROCEDURE"
        )),
        "{text}"
    );
    assert!(!text.contains("parser error"), "{text}");
}

/// A MIXED binlog logs the statements a procedure ran (its parameters as
/// `NAME_CONST`), which the store executes; the procedure's DDL is passed
/// over; a statement calling a stored function is refused by name.
#[test]
fn a_mixed_binlog_runs_the_procedures_statements_and_names_the_stored_function() {
    for run in ["mixed-full", "mixed-minimal"] {
        let (code, text, err) = replog(&["replay", "--memory"], run);
        assert_eq!(code, Some(2), "{run}: {text}");
        let at = gtid_position(run, "0-1-8");
        assert!(
            err.contains(&format!(
                "mariadb-bin.000001:{at} (GTID 0-1-8): transaction 8 failed on the reference store: unsupported: function FEE()"
            )),
            "{run}: {err}"
        );
    }
}

/// `--skip-unsupported` passes the procedure's and the function's DDL
/// over, counted in the report (table and JSON), applies the statements
/// the procedure ran, and stops at the next statement the store cannot
/// run (the stored function's call), which is not DDL and so not skipped.
#[test]
fn a_statement_binlog_skips_the_routines_ddl_when_asked() {
    let (code, text, err) = replog(
        &[
            "replay",
            "--memory",
            "--skip-unsupported",
            "--format",
            "json",
        ],
        "statement",
    );
    assert_eq!(code, Some(1), "{text}{err}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["unsupported_skipped"]["CREATE PROCEDURE"], 1, "{text}");
    assert_eq!(v["unsupported_skipped"]["CREATE FUNCTION"], 1, "{text}");
    let failures = v["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{text}");
    let message = failures[0]["message"].as_str().unwrap();
    assert!(message.contains("unsupported: function FEE()"), "{text}");
    // The procedure's UPDATE (CALL credit(2, 25)) was applied before.
    assert!(v["changes"].as_u64().unwrap() >= 4, "{text}");

    let (code, text, _) = replog(&["replay", "--memory", "--skip-unsupported"], "statement");
    assert_eq!(code, Some(1));
    assert!(
        text.contains(
            "skipped (unsupported by the store, --skip-unsupported): 1 × CREATE FUNCTION, 1 × CREATE PROCEDURE"
        ),
        "{text}"
    );
}

/// `determinism --skip-unsupported` passes the routines', trigger's,
/// view's and event's DDL over on every replica, counted (JSON and table),
/// instead of failing their transactions on every replica.
#[test]
fn determinism_skips_the_routines_ddl_when_asked() {
    let summary = |extra: &[&str]| {
        let mut args = vec!["determinism", "--replicas", "2", "--format", "json"];
        args.extend_from_slice(extra);
        let (code, text, err) = replog(&args, "statement");
        assert!(matches!(code, Some(0 | 1)), "{text}{err}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["dynamic"]["summary"].clone()
    };
    let without = summary(&[]);
    let with = summary(&["--skip-unsupported"]);
    assert_eq!(
        without["unsupported_skipped"],
        serde_json::json!({}),
        "{without}"
    );
    for kind in [
        "CREATE PROCEDURE",
        "CREATE FUNCTION",
        "CREATE TRIGGER",
        "DROP VIEW",
    ] {
        assert_eq!(with["unsupported_skipped"][kind], 1, "{kind}: {with}");
    }
    let failed = |s: &serde_json::Value| s["transactions_failed"].as_u64().unwrap();
    assert!(failed(&with) < failed(&without), "{with}\n{without}");

    let (_, text, _) = replog(
        &["determinism", "--replicas", "2", "--skip-unsupported"],
        "statement",
    );
    assert!(
        text.contains("skipped (unsupported by the store, --skip-unsupported): ")
            && text.contains("1 × CREATE TRIGGER"),
        "{text}"
    );
}
