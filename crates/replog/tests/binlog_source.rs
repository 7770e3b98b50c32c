//! Binlogs read as transactions (`replog_convert::source`): every command
//! that takes a binlog reads it with no temporary file, with the results of
//! the native log the same binlog converts to, and speaks of binlog
//! positions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_replog");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn replog(args: &[&str], tmpdir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("TMPDIR", tmpdir)
        .output()
        .unwrap()
}

/// `replog args` with the file `stdin` as its standard input.
fn replog_stdin(args: &[&str], tmpdir: &Path, stdin: &str) -> Output {
    Command::new(BIN)
        .args(args)
        .env("TMPDIR", tmpdir)
        .stdin(std::fs::File::open(stdin).unwrap())
        .output()
        .unwrap()
}

fn ok(args: &[&str], tmpdir: &Path, code: i32) -> String {
    check(args, replog(args, tmpdir), code)
}

fn ok_stdin(args: &[&str], tmpdir: &Path, stdin: &str, code: i32) -> String {
    check(args, replog_stdin(args, tmpdir, stdin), code)
}

fn check(args: &[&str], r: Output, code: i32) -> String {
    assert_eq!(
        r.status.code(),
        Some(code),
        "replog {args:?}: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    String::from_utf8(r.stdout).unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// A MIXED binlog (row events and data-changing statements) through
/// replay, dump, diff (both sides, --state and --failover) and convert
/// (every --to; the physical log it converts to, to SQL and statements)
/// and invert
/// with a TMPDIR in which nothing can be created, not even by root (a path
/// below a regular file): every command succeeds, and its results are
/// those of the logical log the binlog converts to (written first, with a
/// usable TMPDIR). Then the same binlog on standard input, read as a
/// stream: inspect, verify, replay, dump, diff and convert give the
/// results of the file, and invert, which reads a binlog backwards,
/// refuses it with a clear error.
#[test]
fn a_mixed_binlog_through_every_route_without_a_temporary_file() {
    let dir = root().join("fixtures/mariadb/out/unsafe/mixed-full");
    let b1 = dir.join("mariadb-bin.000001");
    let b2 = dir.join("mariadb-bin.000002");
    let (b1, b2) = (b1.to_str().unwrap(), b2.to_str().unwrap());
    let out = tempfile::tempdir().unwrap();
    let o = |name: &str| out.path().join(name).to_str().unwrap().to_string();
    let blocker = out.path().join("not-a-directory");
    std::fs::write(&blocker, b"").unwrap();
    let no_tmp = blocker.join("tmp");
    let usable = out.path();

    // The reference: the binlogs converted to a logical log.
    let logical = o("reference.replog");
    ok(
        &["convert", "--to", "logical", "-o", &logical, b1, b2],
        usable,
        0,
    );
    let want = json(&ok(
        &["replay", "--memory", "--format", "json", &logical],
        usable,
        0,
    ));

    // replay
    let got = json(&ok(
        &["replay", "--memory", "--format", "json", b1, b2],
        &no_tmp,
        0,
    ));
    for k in [
        "kind",
        "applied",
        "changes",
        "digest",
        "last_txid",
        "applied_lsn",
    ] {
        assert_eq!(got[k], want[k], "replay {k}");
    }
    assert_eq!(got["expected_digest"], got["digest"]);
    // dump
    assert_eq!(
        ok(&["dump", b1, b2], &no_tmp, 0),
        ok(&["dump", &logical], usable, 0)
    );
    // diff, the binlog on either side
    let l = logical.as_str();
    for (a, b) in [(l, b1), (b1, l), (b1, b1)] {
        let d = json(&ok(&["diff", "--format", "json", a, b], &no_tmp, 0));
        assert_eq!(d["identical"], true);
        assert_eq!(d["summary"]["same"], want["applied"]);
    }
    let s = ok(&["diff", "--state", b1, &logical], &no_tmp, 0);
    assert!(s.contains("result: SAME"), "{s}");
    let f = json(&ok(
        &["diff", "--failover", "--format", "json", b1, &logical],
        &no_tmp,
        0,
    ));
    assert_eq!(f["summary"]["transactions_a"], want["applied"]);
    assert_eq!(f["clean"], true);
    // convert, every --to
    let again = o("again.replog");
    ok(
        &["convert", "--to", "logical", "-o", &again, b1, b2],
        &no_tmp,
        0,
    );
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&logical).unwrap()
    );
    let sql = ok(&["convert", "--to", "sql", b1, b2], &no_tmp, 0);
    assert!(sql.contains("INSERT INTO"), "{sql}");
    let statement = o("s.replog");
    ok(
        &[
            "convert",
            "--to",
            "statement",
            "--drop-row-changes",
            "-o",
            &statement,
            b1,
            b2,
        ],
        &no_tmp,
        1,
    );
    assert!(Path::new(&statement).is_file());
    let physical = o("physical");
    ok(
        &["convert", "--to", "physical", "-o", &physical, b1, b2],
        &no_tmp,
        0,
    );
    assert_eq!(
        ok(&["dump", &physical], usable, 0),
        ok(&["dump", &logical], usable, 0)
    );
    // ... and that physical log decoded to SQL and to a statement log as
    // it is read, the same as through the logical log it decodes to
    let decoded = o("decoded.replog");
    ok(
        &["convert", "--to", "logical", "-o", &decoded, &physical],
        usable,
        0,
    );
    assert_eq!(
        ok(&["convert", "--to", "sql", &physical], &no_tmp, 0),
        ok(&["convert", "--to", "sql", &decoded], usable, 0)
    );
    let (st_physical, st_decoded) = (o("st-physical.replog"), o("st-decoded.replog"));
    ok(
        &[
            "convert",
            "--to",
            "statement",
            "-o",
            &st_physical,
            &physical,
        ],
        &no_tmp,
        0,
    );
    ok(
        &["convert", "--to", "statement", "-o", &st_decoded, &decoded],
        usable,
        0,
    );
    assert_eq!(
        ok(&["dump", &st_physical], usable, 0),
        ok(&["dump", &st_decoded], usable, 0)
    );
    // invert (flashback; the DDL left out: exit 1): the inverse of the
    // logical log the binlog converts to
    let (undo_binlog, undo_log) = (o("undo-binlog.replog"), o("undo-log.replog"));
    ok(
        &["invert", "--skip-ddl", "-o", &undo_binlog, b1, b2],
        &no_tmp,
        1,
    );
    ok(
        &["invert", "--skip-ddl", "-o", &undo_log, &logical],
        usable,
        1,
    );
    assert_eq!(
        std::fs::read(&undo_binlog).unwrap(),
        std::fs::read(&undo_log).unwrap()
    );
    // ... and a ROW binlog, read backwards from the binlog itself
    let row = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let undo_row = o("undo-row.replog");
    ok(
        &[
            "invert",
            "--skip-ddl",
            "-o",
            &undo_row,
            row.to_str().unwrap(),
        ],
        &no_tmp,
        1,
    );
    ok(&["verify", &undo_row], usable, 0);

    // The first binlog alone on standard input: the same results as the
    // file, with nothing written to a temporary file.
    let first = o("first.replog");
    ok(&["convert", "--to", "logical", "-o", &first, b1], usable, 0);
    let want = json(&ok(
        &["replay", "--memory", "--format", "json", &first],
        usable,
        0,
    ));
    let got = json(&ok_stdin(
        &["replay", "--memory", "--format", "json", "-"],
        &no_tmp,
        b1,
        0,
    ));
    for k in ["kind", "applied", "changes", "digest", "last_txid"] {
        assert_eq!(got[k], want[k], "replay of stdin: {k}");
    }
    assert_eq!(
        ok_stdin(&["dump", "-"], &no_tmp, b1, 0),
        ok(&["dump", &first], usable, 0)
    );
    // (Record by record, its BEGINs name the binlog `stdin`.)
    let s = ok_stdin(&["diff", "--state", &first, "-"], &no_tmp, b1, 0);
    assert!(s.contains("result: SAME"), "{s}");
    // (Its origins name the binlog `stdin`, as a file's name it.)
    assert_eq!(
        ok_stdin(&["convert", "--to", "sql", "-"], &no_tmp, b1, 0)
            .replace(" stdin:", " mariadb-bin.000001:"),
        ok(&["convert", "--to", "sql", b1], usable, 0)
    );
    let from_stdin = o("from-stdin.replog");
    ok_stdin(
        &["convert", "--to", "logical", "-o", &from_stdin, "-"],
        &no_tmp,
        b1,
        0,
    );
    assert_eq!(
        ok(&["dump", &from_stdin], usable, 0),
        ok(&["dump", &first], usable, 0)
    );
    let events = |listing: &str| listing.lines().count();
    let listed = ok_stdin(&["inspect", "--format", "ndjson", "-"], &no_tmp, b1, 0);
    assert_eq!(
        events(&listed),
        events(&ok(&["inspect", "--format", "ndjson", b1], usable, 0))
    );
    let v = json(&ok_stdin(
        &["verify", "--format", "json", "-"],
        &no_tmp,
        b1,
        0,
    ));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["files"][0]["file"], "- (stdin)", "{v}");
    // A native log on standard input is held in memory, not spooled.
    let native = json(&ok_stdin(
        &["replay", "--memory", "--format", "json", "-"],
        &no_tmp,
        &first,
        0,
    ));
    assert_eq!(native["digest"], want["digest"]);
    let r = replog_stdin(
        &["invert", "--skip-ddl", "-o", &o("undo-stdin.replog"), "-"],
        &no_tmp,
        b1,
    );
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("standard input cannot be read backwards"),
        "{err}"
    );
}

/// Replaying a binlog reports where it stands as a binlog position and
/// GTID (the last transaction's), not as an LSN of a log that does not
/// exist.
#[test]
fn replay_of_a_binlog_speaks_in_binlog_positions() {
    let b = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let b = b.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let text = ok(&["replay", "--memory", b], tmp.path(), 0);
    let line = text
        .lines()
        .find(|l| l.starts_with("position:"))
        .unwrap_or_default();
    assert!(
        line.contains("mariadb-bin.000001:") && line.contains("GTID 0-1-") && !line.contains("LSN"),
        "{text}"
    );
    let j = json(&ok(
        &["replay", "--memory", "--format", "json", b],
        tmp.path(),
        0,
    ));
    let at = j["binlog_position"].as_str().unwrap();
    let txid = j["last_txid"].as_u64().unwrap();
    assert!(at.ends_with(&format!("(GTID 0-1-{txid})")), "{at}");
}

/// Issue 11 item 15: `diff`, `diff --state` and `diff --failover` of
/// binlogs name binlog positions (`file:pos (GTID g)`), not the LSNs of the
/// native log the import stands for.
#[test]
fn diffs_of_binlogs_speak_in_binlog_positions() {
    let out = root().join("fixtures/mariadb/out");
    let f = |w: &str, fmt: &str| {
        out.join(w)
            .join(fmt)
            .join("mariadb-bin.000001")
            .display()
            .to_string()
    };
    let (full, minimal) = (f("dml", "row-full"), f("dml", "row-minimal"));
    let tmp = tempfile::tempdir().unwrap();
    let at = |s: &str| s.contains("mariadb-bin.000001:") && s.contains("(GTID 0-1-");

    // Record diff: the table's position columns and the first divergence.
    let text = ok(&["diff", &full, &minimal], tmp.path(), 1);
    assert!(
        text.contains("POSITION A") && text.contains("POSITION B"),
        "{text}"
    );
    assert!(!text.contains("LSN"), "{text}");
    let first = text
        .lines()
        .find(|l| l.trim_start().starts_with("A: "))
        .unwrap();
    assert!(at(first), "{text}");
    let j = json(&ok(
        &["diff", "--format", "json", &full, &minimal],
        tmp.path(),
        1,
    ));
    let tx = &j["transactions"][0];
    assert!(at(tx["position_a"].as_str().unwrap()), "{tx}");
    assert!(at(tx["position_b"].as_str().unwrap()), "{tx}");
    assert!(at(j["summary"]["first_divergence"]["a"]["position"]
        .as_str()
        .unwrap()));

    // State diff: the first divergence's transactions.
    let mixed = f("dml", "mixed-full");
    let text = ok(&["diff", "--state", &full, &mixed], tmp.path(), 1);
    let line = text
        .lines()
        .find(|l| l.starts_with("first divergence"))
        .unwrap();
    assert!(at(line) && !line.contains("LSN"), "{line}");

    // Failover: the lost transactions' column.
    let text = ok(
        &["diff", "--failover", &full, &f("txn", "row-full")],
        tmp.path(),
        1,
    );
    assert!(text.contains("| POSITION"), "{text}");
    let row = text.lines().find(|l| l.starts_with("| discarded")).unwrap();
    assert!(at(row), "{row}");
}
