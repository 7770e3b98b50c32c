//! How commands take their inputs and name them in messages: standard
//! input (`-`), damaged headers, missing files.

use replog_test_support::cli::{error, json, record_text};
use replog_test_support::{root, s};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_replog");

const WORKLOAD: &str = "\
CREATE DATABASE shop;
USE shop;
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40), qty INT NOT NULL);
INSERT INTO items VALUES (1, 'pen', 3), (2, 'ink', 5);
UPDATE items SET qty = qty + 1 WHERE id = 2;
DELETE FROM items WHERE id = 1;
";

/// Runs the `replog` binary with `stdin` piped in; exit code, stdout, stderr.
fn run_with_stdin(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run_bin(args: &[&str]) -> (i32, String, String) {
    run_with_stdin(args, b"")
}

/// The one segment of a recorded log directory.
fn segment(dir: &Path) -> Vec<u8> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::read(&files[0]).unwrap()
}

#[test]
fn replay_and_dump_read_standard_input() {
    let tmp = tempfile::tempdir().unwrap();
    let digest = record_text(WORKLOAD, tmp.path());
    for kind in ["statement", "logical", "physical"] {
        let dir = tmp.path().join("logs").join(kind);
        let bytes = segment(&dir);
        let (code, out, err) =
            run_with_stdin(&["replay", "--memory", "-", "--format", "json"], &bytes);
        assert_eq!(code, 0, "{kind}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["digest"], digest.as_str(), "{kind}: {out}");
        let (code, from_stdin, err) = run_with_stdin(&["dump", "-"], &bytes);
        assert_eq!(code, 0, "{kind}: {err}");
        let (code, from_file, _) = run_bin(&["dump", s(&dir)]);
        assert_eq!(code, 0);
        assert_eq!(from_stdin, from_file, "{kind}");
        assert!(
            from_stdin.contains("-- shop.items\n2\tink\t6\n"),
            "{from_stdin}"
        );
    }
}

#[test]
fn messages_name_standard_input_not_a_temporary_file() {
    let (code, _, err) = run_with_stdin(&["replay", "--memory", "-"], b"not a log at all");
    assert_eq!(code, 2);
    assert!(err.contains("- (stdin): not a replog log"), "{err}");
    assert!(!err.contains("/tmp"), "{err}");
}

#[test]
fn a_damaged_segment_header_is_reported_with_its_offset_by_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("damaged.replog");
    let mut bytes = std::fs::read(root().join("fixtures/native/physical/sample.replog")).unwrap();
    // Inside the header, past the magic and the kind byte: its checksum
    // (at offset 76) no longer matches.
    bytes[20] ^= 0xff;
    std::fs::write(&f, &bytes).unwrap();
    let (_, v) = json(&["verify", s(&f), "--format", "json"]);
    let offset = v["damage"][0]["offset"].as_u64().unwrap();
    let e = error(&["replay", "--memory", s(&f)]);
    assert!(
        e.contains(&format!("at offset {offset}")),
        "verify says offset {offset}; replay: {e}"
    );
    // The offset is said once.
    assert_eq!(e.matches("offset").count(), 1, "{e}");
}

#[test]
fn a_missing_file_is_named_once_with_its_cause_once() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing-here.replog");
    for cmd in [
        vec!["replay", "--memory", s(&missing)],
        vec!["dump", s(&missing)],
        vec!["inspect", s(&missing)],
    ] {
        let (code, _, err) = run_bin(&cmd);
        assert_eq!(code, 2, "{cmd:?}");
        assert_eq!(
            err.matches("No such file or directory").count(),
            1,
            "{cmd:?}: {err}"
        );
    }
}

/// Every command that reads a log takes `--recovery` with the same default
/// (strict), every command that writes a file takes `-o/--output` (old
/// spellings still accepted), and `record` sets its clock with
/// `--clock-start` (`--start-time` filters in inspect).
#[test]
fn shared_arguments_mean_the_same_everywhere() {
    use clap::Parser;
    use replog::cmd::common::RecoveryArg;
    use replog::{Cli, Command};
    let parse = |args: &[&str]| {
        Cli::try_parse_from(std::iter::once("replog").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .command
    };
    let recovery = |c: Command| match c {
        Command::Inspect(a) => a.recovery.recovery,
        Command::Verify(a) => a.recovery.recovery,
        Command::Replay(a) => a.recovery.recovery,
        Command::Dump(a) => a.recovery.recovery,
        Command::Convert(a) => a.recovery.recovery,
        Command::Invert(a) => a.recovery.recovery,
        other => panic!("{other:?}"),
    };
    for args in [
        &["inspect", "l"][..],
        &["verify", "l"],
        &["replay", "l", "--memory"],
        &["dump", "l"],
        &["convert", "l", "--to", "sql"],
        &["invert", "l", "-o", "u"],
    ] {
        assert_eq!(recovery(parse(args)), RecoveryArg::Strict, "{args:?}");
    }
    for out in ["-o", "--output", "--out"] {
        let Command::Record(r) = parse(&["record", "w.sql", out, "dir"]) else {
            unreachable!()
        };
        assert_eq!(r.out, Path::new("dir"));
        let Command::Snapshot(a) = parse(&["snapshot", "store", out, "f"]) else {
            unreachable!()
        };
        assert_eq!(a.out, Path::new("f"));
    }
    for clock in ["--clock-start", "--start-time"] {
        let Command::Record(r) = parse(&["record", "w.sql", "-o", "d", clock, "@10"]) else {
            unreachable!()
        };
        assert_eq!(r.start_time, Some(10_000_000));
    }
    let help = Cli::try_parse_from(["replog", "record", "--help"])
        .unwrap_err()
        .to_string();
    assert!(help.contains("--clock-start"), "{help}");
    assert!(!help.contains("--start-time"), "{help}");
    let help = Cli::try_parse_from(["replog", "replay", "--help"])
        .unwrap_err()
        .to_string();
    assert!(help.contains("is strict: any damage"), "{help}");
    // Binlogs are read today, not "as they are added".
    let help = Cli::try_parse_from(["replog", "--help"])
        .unwrap_err()
        .to_string();
    assert!(
        help.contains("MySQL and MariaDB binlogs (binlog format v4)"),
        "{help}"
    );
}
