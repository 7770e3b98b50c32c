//! Long work shows progress on standard error (issue 11 item 26). Progress
//! is shown on a terminal, or with `REPLOG_PROGRESS=always`, which these
//! tests set: every route that reads a whole log must report how far it
//! got, and nothing of it may reach standard output or the result.

use replog_test_support::root;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_replog");

/// Runs replog with progress forced on; returns (exit code, stdout,
/// stderr).
fn run(args: &[&str], progress: bool) -> (i32, Vec<u8>, String) {
    let mut c = Command::new(BIN);
    c.args(args);
    if progress {
        c.env("REPLOG_PROGRESS", "always");
    } else {
        c.env_remove("REPLOG_PROGRESS");
    }
    let o = c.output().expect("replog runs");
    (
        o.status.code().unwrap_or(-1),
        o.stdout,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn binlogs(workload: &str, format: &str) -> Vec<String> {
    let dir = root()
        .join("fixtures/mariadb/out")
        .join(workload)
        .join(format);
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("mariadb-bin."))
        })
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

/// A byte progress line: `read / total (pct%)`.
fn shows_bytes(stderr: &str) -> bool {
    stderr.contains(" / ") && stderr.contains("%)")
}

fn file(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn converting_binlogs_shows_progress_through_their_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str])] = &[
        ("row-full", "logical", &[]),
        ("row-full", "sql", &[]),
        ("statement", "statement", &[]),
        // MIXED to logical executes its statements on the store.
        ("mixed-full", "logical", &[]),
    ];
    for (format, to, extra) in cases {
        let files = binlogs("dml", format);
        let out = file(tmp.path(), &format!("{format}-{to}.out"));
        let mut args: Vec<&str> = vec!["convert"];
        args.extend(files.iter().map(String::as_str));
        args.extend(["--to", to, "-o", &out]);
        args.extend(extra.iter());
        let (code, stdout, stderr) = run(&args, true);
        assert!(
            code == 0 || code == 1,
            "{format} --to {to}: exit {code}: {stderr}"
        );
        assert!(
            shows_bytes(&stderr),
            "{format} --to {to}: no progress on stderr: {stderr:?}"
        );
        assert!(
            !String::from_utf8_lossy(&stdout).contains('%'),
            "{format} --to {to}: progress reached stdout"
        );
        // Without the variable (and no terminal) there is none.
        std::fs::remove_file(&out).unwrap();
        let (_, _, quiet) = run(&args, false);
        assert!(!quiet.contains('%'), "{format} --to {to}: {quiet:?}");
    }
}

#[test]
fn physical_redo_and_statement_execution_show_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = tmp.path().join("rec");
    let sql = root().join("fixtures/mariadb/workloads/dml.sql");
    let (code, _, stderr) = run(
        &[
            "record",
            sql.to_str().unwrap(),
            "--out",
            rec.to_str().unwrap(),
            "--formats",
            "physical,statement",
            "--durability",
            "os",
        ],
        true,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(shows_bytes(&stderr), "record: {stderr:?}");

    let physical = rec.join("physical");
    let (code, _, stderr) = run(&["replay", physical.to_str().unwrap(), "--memory"], true);
    assert_eq!(code, 0, "{stderr}");
    assert!(shows_bytes(&stderr), "redo: {stderr:?}");

    let statement = rec.join("statement");
    let out = file(tmp.path(), "s.logical");
    let (code, _, stderr) = run(
        &[
            "convert",
            statement.to_str().unwrap(),
            "--to",
            "logical",
            "-o",
            &out,
        ],
        true,
    );
    assert!(code == 0 || code == 1, "{stderr}");
    assert!(shows_bytes(&stderr), "statement: {stderr:?}");
}

#[test]
fn replaying_binlogs_counts_the_transactions_read() {
    let files = binlogs("dml", "row-full");
    let mut args: Vec<&str> = vec!["replay"];
    args.extend(files.iter().map(String::as_str));
    args.push("--memory");
    let (code, stdout, stderr) = run(&args, true);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("transactions read"), "{stderr:?}");
    assert!(!String::from_utf8_lossy(&stdout).contains("transactions read"));
}
