//! `replog convert PHYSICAL --to logical|statement|sql` (logical decoding):
//! the physical WAL of every fixture workload — recorded by the leader, or
//! made from MariaDB's binlog by `convert --to physical` — decodes into a
//! logical log that replays to the same digest at every COMMIT, and so do
//! conversions of the conversion; a damaged WAL stops with its offset,
//! exit 2, and leaves no output.

use clap::Parser;
use replog::{Cli, Verdict};
use replog_test_support::{root, s};
use std::path::Path;

fn run(args: &[&str]) -> anyhow::Result<(Verdict, serde_json::Value)> {
    let cli = Cli::try_parse_from(std::iter::once("replog").chain(args.iter().copied()))
        .expect("arguments parse");
    let mut out = Vec::new();
    let o = replog::run(cli, &mut out)?;
    Ok((
        o,
        serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null),
    ))
}

fn json(args: &[&str]) -> (Verdict, serde_json::Value) {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--format", "json"]);
    run(&all).unwrap_or_else(|e| panic!("replog {args:?}: {e:#}"))
}

/// Replays `log` in memory: clean, every COMMIT checked; its digest.
fn replay(log: &Path, what: &str) -> String {
    let (o, v) = json(&["replay", s(log), "--memory"]);
    assert_eq!(o, Verdict::Clean, "{what}: {v:#}");
    v["digest"].as_str().unwrap().to_string()
}

/// Decodes `wal` and converts the result further; every output replays to
/// `digest`.
fn check_routes(wal: &Path, dir: &Path, digest: &str, what: &str) {
    let logical = dir.join("decoded.replog");
    let (o, v) = json(&["convert", s(wal), "--to", "logical", "-o", s(&logical)]);
    assert_eq!(o, Verdict::Clean, "{what}: {v:#}");
    assert!(
        v["decoded"]["written"].as_u64().unwrap() > 0,
        "{what}: {v:#}"
    );
    assert_eq!(
        v["decoded"]["final_state"]
            .as_u64()
            .map(|d| format!("{d:016x}"))
            .as_deref(),
        Some(digest),
        "{what}"
    );
    let (o, _) = json(&["verify", s(&logical)]);
    assert_eq!(o, Verdict::Clean, "{what}: the decoded log does not verify");
    assert_eq!(
        replay(&logical, &format!("{what}: physical→logical")),
        digest
    );
    // Conversions of the conversion.
    let stmt = dir.join("decoded-statement.replog");
    let (o, v) = json(&["convert", s(wal), "--to", "statement", "-o", s(&stmt)]);
    assert_eq!(o, Verdict::Clean, "{what}: {v:#}");
    assert_eq!(
        replay(&stmt, &format!("{what}: physical→logical→statement")),
        digest
    );
    let stmt2 = dir.join("decoded-l2s.replog");
    let (o, v) = json(&["convert", s(&logical), "--to", "statement", "-o", s(&stmt2)]);
    assert_eq!(o, Verdict::Clean, "{what}: {v:#}");
    assert_eq!(
        std::fs::read(&stmt).unwrap(),
        std::fs::read(&stmt2).unwrap(),
        "{what}"
    );
    let wal2 = dir.join("decoded-wal");
    let (o, v) = json(&["convert", s(&logical), "--to", "physical", "-o", s(&wal2)]);
    assert_eq!(o, Verdict::Clean, "{what}: {v:#}");
    assert_eq!(
        replay(&wal2, &format!("{what}: physical→logical→physical")),
        digest
    );
    let sql = dir.join("decoded.sql");
    let (o, _) = json(&["convert", s(wal), "--to", "sql", "-o", s(&sql)]);
    assert_eq!(o, Verdict::Clean, "{what}");
    assert!(std::fs::read_to_string(&sql).unwrap().contains("COMMIT;"));
}

#[test]
fn fixture_workloads_decode_to_the_leaders_digest() {
    let tmp = tempfile::tempdir().unwrap();
    for (w, page) in [
        ("types", "8192"),
        ("dml", "1024"),
        ("ddl", "512"),
        ("txn", "4096"),
        ("unsafe", "8192"),
    ] {
        let sql = root().join(format!("fixtures/mariadb/workloads/{w}.sql"));
        let rec = tmp.path().join(w);
        let (o, leader) = json(&[
            "record",
            s(&sql),
            "--out",
            s(&rec),
            "--durability",
            "os",
            "--page-size",
            page,
        ]);
        assert_eq!(o, Verdict::Clean, "{w}: {leader:#}");
        let digest = leader["digest"].as_str().unwrap().to_string();
        let dir = tmp.path().join(format!("{w}-routes"));
        std::fs::create_dir(&dir).unwrap();
        check_routes(&rec.join("physical"), &dir, &digest, w);
    }
}

#[test]
fn mariadb_binlogs_through_the_page_engine_decode_to_the_same_digest() {
    let tmp = tempfile::tempdir().unwrap();
    for w in ["types", "dml", "ddl", "txn"] {
        let binlog = root()
            .join("fixtures/mariadb/out")
            .join(w)
            .join("row-full/mariadb-bin.000001");
        let wal = tmp.path().join(format!("{w}-wal"));
        let (o, v) = json(&[
            "convert",
            s(&binlog),
            "--to",
            "physical",
            "-o",
            s(&wal),
            "--page-size",
            "2048",
        ]);
        assert_eq!(o, Verdict::Clean, "{w}: {v:#}");
        let digest = replay(&wal, &format!("{w}: MariaDB → physical"));
        let dir = tmp.path().join(format!("{w}-routes"));
        std::fs::create_dir(&dir).unwrap();
        check_routes(&wal, &dir, &digest, &format!("MariaDB {w}"));
    }
}

#[test]
fn damaged_wal_exits_2_with_the_offset_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let sql = root().join("fixtures/mariadb/workloads/dml.sql");
    let rec = tmp.path().join("rec");
    let (o, _) = json(&["record", s(&sql), "--out", s(&rec), "--durability", "os"]);
    assert_eq!(o, Verdict::Clean);
    let seg = std::fs::read_dir(rec.join("physical"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x41;
    let bad = tmp.path().join("bad.replog");
    std::fs::write(&bad, &bytes).unwrap();
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    for to in ["logical", "statement", "sql"] {
        let target = out_dir.join(format!("x.{to}"));
        let e = run(&["convert", s(&bad), "--to", to, "-o", s(&target)])
            .expect_err("a damaged WAL is an error");
        let msg = format!("{e:#}");
        assert!(msg.contains("offset"), "{to}: {msg}");
        let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
        assert!(left.is_empty(), "{to}: {left:?}");
        // The command itself: exit 2, the offset on standard error.
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_replog"))
            .args(["convert", s(&bad), "--to", to, "-o", s(&target)])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{to}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("offset"), "{to}: {err}");
        let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
        assert!(left.is_empty(), "{to}: {left:?}");
    }
}

/// A WAL of many segments (rotation after a COMMIT) decodes as one log.
#[test]
fn a_wal_of_many_segments_decodes_as_one_log() {
    let tmp = tempfile::tempdir().unwrap();
    let sql = root().join("fixtures/mariadb/workloads/dml.sql");
    let rec = tmp.path().join("rec");
    let (o, leader) = json(&[
        "record",
        s(&sql),
        "--out",
        s(&rec),
        "--durability",
        "os",
        "--page-size",
        "1024",
        "--segment-size",
        "1024",
    ]);
    assert_eq!(o, Verdict::Clean, "{leader:#}");
    let segments = std::fs::read_dir(rec.join("physical")).unwrap().count();
    assert!(segments > 1, "{segments} segments");
    let digest = leader["digest"].as_str().unwrap().to_string();
    let dir = tmp.path().join("routes");
    std::fs::create_dir(&dir).unwrap();
    check_routes(&rec.join("physical"), &dir, &digest, "many segments");
}
