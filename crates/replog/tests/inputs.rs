//! How commands take their inputs and name them in messages: standard
//! input (`-`), damaged headers, missing files.

use replog::Verdict;
use replog_test_support::{root, s};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

replog_test_support::cli_harness!(record);

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
        Command::Inspect(a) => a.log.recovery.recovery,
        Command::Verify(a) => a.log.recovery.recovery,
        Command::Replay(a) => a.log.recovery.recovery,
        Command::Dump(a) => a.log.recovery.recovery,
        Command::Convert(a) => a.log.recovery.recovery,
        Command::Invert(a) => a.log.recovery.recovery,
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
    assert!(help.contains("binlogs (binlog format v4)"), "{help}");
    assert!(!help.contains("as they are added"), "{help}");
}

/// A filter that cannot match is a usage error (exit 2), never an empty
/// listing: unknown `--type` names, malformed GTIDs, `--txid` on a binlog
/// (its transactions have GTIDs), binlog-only filters on a native log.
/// On binlogs `--type` also takes the logical names insert/update/delete.
#[test]
fn filters_that_cannot_match_are_usage_errors() {
    use clap::Parser;
    let native = root().join("fixtures/native/logical/sample.replog");
    let binlog = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let e = error(&["inspect", "--type", "nonsense", s(&native)]);
    assert!(e.contains("--type nonsense") && e.contains("INSERT"), "{e}");
    let e = error(&["inspect", "--type", "nonsense", s(&binlog)]);
    assert!(
        e.contains("--type nonsense") && e.contains("Write_rows_v1"),
        "{e}"
    );
    let e = error(&["inspect", "--txid", "5", s(&binlog)]);
    assert!(e.contains("--gtid"), "{e}");
    // A table filter that names no table of the store.
    let e = error(&["dump", "--table", "nosuch", s(&binlog)]);
    assert!(
        e.contains("--table nosuch") && e.contains("w_dml.accounts"),
        "{e}"
    );
    let e = error(&["dump", "--table", "w_dml.nosuch", s(&binlog)]);
    assert!(e.contains("no such table"), "{e}");
    let e = error(&["inspect", "--gtid", "0-1-1", s(&native)]);
    assert!(e.contains("binlogs only"), "{e}");
    for bad in ["nonsense", "0-1", "0-1-x", "1234:5"] {
        let r = replog::Cli::try_parse_from(["replog", "inspect", "--gtid", bad, "x"]);
        assert!(r.is_err(), "--gtid {bad} accepted");
    }
    for good in ["0-1-42", "3e11fa47-71ca-11e1-9e33-c80aa9429562:23"] {
        let r = replog::Cli::try_parse_from(["replog", "inspect", "--gtid", good, "x"]);
        assert!(r.is_ok(), "--gtid {good} refused");
    }
    // `update` means the binlog's update row events, whatever their version.
    let (_, v) = json(&[
        "inspect",
        "--type",
        "update",
        "--format",
        "json",
        s(&binlog),
    ]);
    let rows = v.as_array().unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        let t = r["type"].as_str().unwrap();
        assert!(t.starts_with("Update_rows"), "{r}");
    }
    let (_, named) = json(&[
        "inspect",
        "--type",
        "Update_rows_v1",
        "--format",
        "json",
        s(&binlog),
    ]);
    assert_eq!(named.as_array().unwrap().len(), rows.len());
}

/// A conversion that stops names the transaction, its position and the
/// cause, not just "Divergence".
#[test]
fn a_stopped_conversion_names_transaction_position_and_cause() {
    // A statement the reference store does not execute stops it: named
    // with its transaction, binlog position and cause; nothing written.
    let tmp = tempfile::tempdir().unwrap();
    let binlog = root().join("fixtures/mariadb/out/routines/statement/mariadb-bin.000001");
    let out = tmp.path().join("converted");
    let e = error(&["convert", s(&binlog), "--to", "physical", "-o", s(&out)]);
    assert!(
        e.contains("conversion stopped: transaction 5 failed at mariadb-bin.000001:"),
        "{e}"
    );
    assert!(
        e.contains("(GTID 0-1-5): unsupported: CREATE PROCEDURE"),
        "{e}"
    );
    assert!(!e.contains("Failure;"), "{e}");
    assert!(!out.exists());

    // A divergence from the leader's digests (statements that used the
    // converter's own UUID()) does not stop it: reported, exit 1.
    record(
        &root().join("fixtures/mariadb/workloads/unsafe.sql"),
        tmp.path(),
    );
    let (o, v) = json(&[
        "convert",
        s(&tmp.path().join("statement")),
        "--to",
        "physical",
        "-o",
        s(&out),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Found);
    assert_eq!(v["clean"], false);
    assert!(v["divergences"].as_u64().unwrap() > 0, "{v:#}");
    assert!(out.is_dir());
}

/// Staging files and directories left by a killed conversion are removed
/// by the next one in the same directory; another process's are left.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_conversions_staging_debris_is_removed_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let digest = record_text(WORKLOAD, tmp.path());
    let logical = tmp.path().join("logs/logical");
    let dead = 999_999_999u32; // above Linux's largest process id
    let stale_dir = tmp.path().join(format!(".replog-convert-{dead}-AbCdEf"));
    let stale_file = tmp.path().join(format!(".undo.sql.tmp-{dead}"));
    std::fs::create_dir_all(stale_dir.join("wal")).unwrap();
    std::fs::write(&stale_file, b"partial").unwrap();
    let live = tmp
        .path()
        .join(format!(".other.sql.tmp-{}", std::process::id()));
    std::fs::write(&live, b"being written").unwrap();
    let out = tmp.path().join("converted");
    let (o, _) = json(&[
        "convert",
        s(&logical),
        "--to",
        "physical",
        "-o",
        s(&out),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean);
    assert!(
        !stale_dir.exists(),
        "staging directory of a dead process left"
    );
    assert!(!stale_file.exists(), "staging file of a dead process left");
    assert!(
        live.exists(),
        "a running process's staging file was removed"
    );
    let (_, v) = json(&["replay", s(&out), "--memory", "--format", "json"]);
    assert_eq!(v["digest"], digest.as_str());
    // Nothing of this run is left beside its output.
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".replog-convert-"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// Flashback as users expect it: a log with DDL is inverted (CREATE TABLE
/// undone by DROP TABLE, other DDL listed, exit 1), and one transaction or
/// a time range can be undone alone.
#[test]
fn invert_undoes_ddl_where_it_can_and_selected_transactions_only() {
    let tmp = tempfile::tempdir().unwrap();
    record_text(WORKLOAD, tmp.path());
    let log = tmp.path().join("logs/logical");
    // The whole log (the README's example): CREATE DATABASE cannot be
    // undone from the log and is listed; CREATE TABLE becomes DROP TABLE.
    let undo = tmp.path().join("undo.replog");
    let (o, rep) = json(&["invert", s(&log), "-o", s(&undo), "--format", "json"]);
    assert_eq!(o, Verdict::Found, "{rep}");
    assert_eq!(rep["ddl_inverted"], 1, "{rep}");
    assert_eq!(
        rep["ddl_left_out"][0]["sql"], "CREATE DATABASE shop",
        "{rep}"
    );
    let store = tmp.path().join("store");
    let (o, _) = json(&["replay", s(&log), "--store", s(&store), "--format", "json"]);
    assert_eq!(o, Verdict::Clean);
    let (o, v) = json(&["replay", s(&undo), "--store", s(&store), "--format", "json"]);
    assert_eq!(o, Verdict::Clean, "{v}");
    assert_eq!(
        run(&["dump", s(&store)]).1,
        "",
        "the table is dropped again"
    );
    // One transaction: the UPDATE alone is undone; the DELETE after it stays.
    let (_, recs) = json(&["inspect", s(&log), "--type", "update", "--format", "json"]);
    let txid = recs[0]["txid"].as_u64().unwrap().to_string();
    let one = tmp.path().join("one.replog");
    let (o, rep) = json(&[
        "invert",
        s(&log),
        "--txid",
        &txid,
        "-o",
        s(&one),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{rep}");
    assert_eq!(rep["transactions"], 1, "{rep}");
    assert!(rep["not_selected"].as_u64().unwrap() >= 4, "{rep}");
    let store = tmp.path().join("store-one");
    json(&["replay", s(&log), "--store", s(&store), "--format", "json"]);
    let (o, v) = json(&["replay", s(&one), "--store", s(&store), "--format", "json"]);
    assert_eq!(o, Verdict::Clean, "{v}");
    assert_eq!(run(&["dump", s(&store)]).1, "-- shop.items\n2\tink\t5\n");
    // A time range that holds nothing undoes nothing.
    let none = tmp.path().join("none.replog");
    let (_, rep) = json(&[
        "invert",
        s(&log),
        "--start-datetime",
        "2100-01-01",
        "-o",
        s(&none),
        "--format",
        "json",
    ]);
    assert_eq!(rep["transactions"], 0, "{rep}");
}

/// A directory of binlogs, or a binlog index file, is one log: the same
/// listing as the binlogs named one by one, in the index's order.
#[test]
fn a_directory_of_binlogs_or_an_index_file_is_accepted() {
    let dir = root().join("fixtures/mariadb/out/dml/row-full");
    let files = [
        dir.join("mariadb-bin.000001"),
        dir.join("mariadb-bin.000002"),
    ];
    let (_, listed) = json(&["inspect", s(&files[0]), s(&files[1]), "--format", "json"]);
    let (_, from_dir) = json(&["inspect", s(&dir), "--format", "json"]);
    assert_eq!(from_dir, listed);
    let tmp = tempfile::tempdir().unwrap();
    for f in &files {
        std::fs::copy(f, tmp.path().join(f.file_name().unwrap())).unwrap();
    }
    let index = tmp.path().join("mariadb-bin.index");
    std::fs::write(&index, "./mariadb-bin.000001\n./mariadb-bin.000002\n").unwrap();
    let (_, from_index) = json(&["inspect", s(&index), "--format", "json"]);
    assert_eq!(
        from_index.as_array().unwrap().len(),
        listed.as_array().unwrap().len()
    );
    // The directory holding the index is read in the index's order.
    let (_, dir_with_index) = json(&["inspect", s(tmp.path()), "--format", "json"]);
    assert_eq!(dir_with_index, from_index);
    let (o, _) = json(&["verify", s(tmp.path()), "--format", "json"]);
    assert_eq!(o, Verdict::Clean);
}

/// A statement log converts to SQL (its statements executed on the
/// reference store, their row changes written): the SQL recreates the
/// leader's tables.
#[test]
fn a_statement_log_converts_to_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let digest = record_text(WORKLOAD, tmp.path());
    let sql = tmp.path().join("out.sql");
    let (o, _) = json(&[
        "convert",
        s(&tmp.path().join("logs/statement")),
        "--to",
        "sql",
        "-o",
        s(&sql),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean);
    let again = tmp.path().join("again");
    let (o, v) = json(&[
        "record",
        s(&sql),
        "-o",
        s(&again),
        "--durability",
        "os",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean);
    assert_eq!(v["digest"], digest.as_str());
}

/// Issue 11 item 17: a conversion stopped by SIGTERM or SIGINT while it
/// writes removes its staging file itself (the next run did so only when
/// it wrote into the same directory), writes no output and exits 130.
#[cfg(target_os = "linux")]
#[test]
fn a_conversion_stopped_by_a_signal_leaves_no_staging_behind() {
    let tmp = tempfile::tempdir().unwrap();
    // Enough statements that replaying them takes a while after the
    // output is staged.
    let mut sql = String::from(
        "CREATE DATABASE big;\nUSE big;\nCREATE TABLE t (id INT PRIMARY KEY, v INT);\n",
    );
    for i in 0..4000 {
        sql.push_str(&format!("INSERT INTO t VALUES ({i}, {i});\n"));
    }
    let logs = tmp.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let workload = tmp.path().join("workload.sql");
    std::fs::write(&workload, sql).unwrap();
    let (o, _) = json(&[
        "record",
        s(&workload),
        "-o",
        s(&logs),
        "--formats",
        "statement",
        "--durability",
        "os",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean);
    let statement = logs.join("statement");
    for signal in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let dir = tmp.path().join(format!("out-{signal}"));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("converted.replog");
        let mut child = Command::new(BIN)
            .args(["convert", s(&statement), "--to", "logical", "-o", s(&out)])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let staged = dir.join(format!(".converted.replog.tmp-{}", child.id()));
        let mut waited = 0;
        while !staged.exists() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the conversion ended before its output was staged"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
            waited += 1;
            assert!(waited < 30_000, "no staging file appeared");
        }
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
        let done = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(130), "{signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        let left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(left.is_empty(), "{signal}: {left:?}");
    }
}

/// Issue 11 item 21 and the replay report: every route counts the same
/// row changes, DDL apart. A statement log's replay counted no row change
/// at all ("0 change(s)" for a DELETE); a logical log's and `--to
/// physical` counted DDL among them (47 where the binlog has 38).
#[test]
fn replay_and_conversions_count_the_same_row_changes() {
    let tmp = tempfile::tempdir().unwrap();
    record_text(WORKLOAD, tmp.path());
    let logs = tmp.path().join("logs");
    let (_, st) = json(&[
        "replay",
        "--memory",
        "--format",
        "json",
        s(&logs.join("statement")),
    ]);
    let (_, lg) = json(&[
        "replay",
        "--memory",
        "--format",
        "json",
        s(&logs.join("logical")),
    ]);
    let row_changes = lg["changes"].as_u64().unwrap();
    assert!(row_changes > 0, "{lg}");
    assert_eq!(st["changes"], lg["changes"], "statement vs logical replay");
    assert_eq!(st["ddl"], lg["ddl"], "statement vs logical replay");
    assert!(lg["ddl"].as_u64().unwrap() > 0, "{lg}");
    let (_, text) = run(&["replay", "--memory", s(&logs.join("statement"))]);
    assert!(
        text.contains(&format!("{row_changes} row change(s)")),
        "{text}"
    );

    // A ROW binlog: replay, --to physical and the import's report agree.
    let binlog = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let (_, rp) = json(&["replay", "--memory", "--format", "json", s(&binlog)]);
    let phys = tmp.path().join("phys");
    let (_, cp) = json(&[
        "convert",
        s(&binlog),
        "--to",
        "physical",
        "-o",
        s(&phys),
        "--format",
        "json",
    ]);
    let logical = tmp.path().join("row.replog");
    let (_, cl) = json(&[
        "convert",
        s(&binlog),
        "--to",
        "logical",
        "-o",
        s(&logical),
        "--format",
        "json",
    ]);
    assert_eq!(rp["changes"], cl["row_changes"], "{rp}\n{cl}");
    assert_eq!(cp["row_changes"], cl["row_changes"], "{cp}\n{cl}");
    assert_eq!(rp["ddl"], cl["ddl"], "{rp}\n{cl}");
    assert_eq!(cp["ddl"], cl["ddl"], "{cp}\n{cl}");
    // --to logical carried every row change: no word of a statement log.
    let again = tmp.path().join("row2.replog");
    let (_, text) = run(&["convert", s(&binlog), "--to", "logical", "-o", s(&again)]);
    assert!(!text.contains("not in"), "{text}");
    assert!(!text.contains("mixed binlog"), "{text}");
}

/// The replay report says why replay stopped after what stopped it, not a
/// bare "stopped: divergence" before it.
#[test]
fn replay_says_why_it_stopped_after_the_cause() {
    let tmp = tempfile::tempdir().unwrap();
    record(
        &root().join("fixtures/mariadb/workloads/unsafe.sql"),
        tmp.path(),
    );
    let (r, text) = run(&["replay", "--memory", s(&tmp.path().join("statement"))]);
    assert_eq!(r.unwrap(), Verdict::Found, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let cause = lines
        .iter()
        .position(|l| l.starts_with("divergence: ") || l.starts_with("failed: "))
        .unwrap_or_else(|| panic!("{text}"));
    let stop = lines
        .iter()
        .position(|l| l.starts_with("stopped"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(cause < stop, "{text}");
    assert!(!text.contains("stopped: divergence"), "{text}");
    assert!(!text.contains("stopped: failure"), "{text}");
}
