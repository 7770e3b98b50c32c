//! The CLI on the committed fixtures: golden output for every output mode,
//! and damaged copies of every fixture (each bit flipped at every frame,
//! every truncation) reported with the right exit status and offset.
//!
//! Golden files live in `fixtures/native/<kind>/expected/`; rerun with
//! `REPLOG_BLESS=1` to rewrite them after an intended change.

use replog::Verdict;
use replog_test_support::root;
use std::path::{Path, PathBuf};

replog_test_support::cli_harness!();

const KINDS: [&str; 3] = ["statement", "logical", "physical"];

fn fixture(kind: &str) -> PathBuf {
    root()
        .join("fixtures/native")
        .join(kind)
        .join("sample.replog")
}

fn check_golden(path: &Path, actual: &str) {
    replog_test_support::bless::check(path, actual.as_bytes());
}

#[test]
fn golden_outputs() {
    for kind in KINDS {
        let f = fixture(kind);
        let f = f.to_str().unwrap();
        let dir = root().join("fixtures/native").join(kind).join("expected");
        for (name, args) in [
            ("inspect.txt", vec!["inspect", f]),
            ("inspect.json", vec!["inspect", "--format", "json", f]),
            ("inspect.ndjson", vec!["inspect", "--format", "ndjson", f]),
            ("stats.txt", vec!["inspect", "--stats", f]),
            (
                "stats.json",
                vec!["inspect", "--stats", "--format", "json", f],
            ),
            ("hex.txt", vec!["inspect", "--hex", "--limit", "3", f]),
            ("verify.txt", vec!["verify", f]),
        ] {
            let (r, out) = run(&args);
            assert_eq!(r.unwrap(), Verdict::Clean, "{kind} {name}");
            // Paths differ between machines; golden files name the fixture relatively.
            let out = out.replace(&root().display().to_string(), "<root>");
            check_golden(&dir.join(name), &out);
            if name.ends_with(".json") {
                serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
            }
            if name.ends_with(".ndjson") {
                for line in out.lines() {
                    serde_json::from_str::<serde_json::Value>(line).expect("valid NDJSON");
                }
            }
        }
    }
}

/// Frame offsets of a fixture, from the zero-copy iterator.
fn frames(bytes: &[u8]) -> Vec<(u64, u64)> {
    let (_, it) = replog_core::frame::FrameIter::new(bytes, 0).unwrap();
    it.map(|f| f.unwrap())
        .map(|f| (f.offset, f.offset + f.disk_len()))
        .collect()
}

#[test]
fn a_flipped_bit_anywhere_is_damage_at_its_frame() {
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let bytes = std::fs::read(fixture(kind)).unwrap();
        let spans = frames(&bytes);
        // Every byte of a small fixture would take long in debug builds;
        // a stride that lands in every frame and every header field is enough.
        for i in (0..bytes.len()).step_by(7) {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            let p = dir.path().join(format!("{kind}-{i}.replog"));
            std::fs::write(&p, &b).unwrap();
            let (r, out) = run(&["verify", "--format", "json", p.to_str().unwrap()]);
            assert_eq!(r.unwrap(), Verdict::Found, "{kind}: flip at {i} not found");
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            let first = v["damage"][0]["offset"]
                .as_u64()
                .or_else(|| v["bad_records"][0]["offset"].as_u64());
            let expected = spans
                .iter()
                .find(|(a, z)| (*a..*z).contains(&(i as u64)))
                .map(|s| s.0);
            match expected {
                Some(frame_start) => assert_eq!(first, Some(frame_start), "{kind}: flip at {i}"),
                None => assert!(
                    first.is_some_and(|o| o < 80),
                    "{kind}: header flip at {i}: {out}"
                ),
            }
        }
    }
}

#[test]
fn a_truncated_copy_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let bytes = std::fs::read(fixture(kind)).unwrap();
        let spans = frames(&bytes);
        for &(start, end) in &spans {
            let cut = (start + end) / 2;
            let p = dir.path().join(format!("{kind}-cut{cut}.replog"));
            std::fs::write(&p, &bytes[..cut as usize]).unwrap();
            let path = p.to_str().unwrap();
            let (r, out) = run(&["verify", path]);
            assert_eq!(r.unwrap(), Verdict::Found, "{kind} cut at {cut}");
            assert!(
                out.contains(&format!("damage: torn tail at offset {start} ")),
                "{kind} cut at {cut}: {out}"
            );
            let (r, out) = run(&["verify", "--recovery", "tolerate-tail", path]);
            assert_eq!(r.unwrap(), Verdict::Clean, "{kind} cut at {cut}: {out}");
            assert!(out.contains("accepted by policy: torn tail"), "{out}");
            // inspect prints what precedes the tear and reports it.
            let (r, _) = run(&["inspect", path]);
            assert_eq!(r.unwrap(), Verdict::Found);
        }
    }
}

#[test]
fn filters_and_limits() {
    let f = fixture("logical");
    let f = f.to_str().unwrap();
    let (r, out) = run(&["inspect", "--format", "ndjson", "--type", "begin", f]);
    assert_eq!(r.unwrap(), Verdict::Clean);
    assert!(out.lines().count() > 0);
    assert!(out.lines().all(|l| l.contains("\"type\":\"BEGIN\"")));
    let (_, out) = run(&["inspect", "--format", "ndjson", "--limit", "2", f]);
    assert_eq!(out.lines().count(), 2);
    let (_, all) = run(&["inspect", "--format", "ndjson", f]);
    let second: serde_json::Value = serde_json::from_str(all.lines().nth(1).unwrap()).unwrap();
    let lsn = second["lsn"].as_u64().unwrap();
    let (_, out) = run(&[
        "inspect",
        "--format",
        "ndjson",
        "--start",
        &lsn.to_string(),
        f,
    ]);
    assert_eq!(out.lines().count(), all.lines().count() - 1);
    let (_, out) = run(&["inspect", "--format", "ndjson", "--txid", "1", f]);
    assert!(out.lines().all(|l| l.contains("\"txid\":1")));
    let (_, out) = run(&[
        "inspect",
        "--format",
        "ndjson",
        "--start-time",
        "2100-01-01",
        f,
    ]);
    assert_eq!(out.lines().count(), 0);
}

#[test]
fn foreign_files_are_errors_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "hello, this is not a log").unwrap();
    let (r, _) = run(&["verify", p.to_str().unwrap()]);
    assert!(r.unwrap_err().to_string().contains("not a replog log"));
}

#[test]
fn every_mysql_fixture_verifies_and_truncated_ones_fail_at_the_right_offset() {
    let dir = root().join("fixtures/mysql");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() || p.extension().is_some_and(|e| e == "md") {
            continue;
        }
        seen += 1;
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let (r, out) = run(&["verify", "--format", "json", p.to_str().unwrap()]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let expected_damage = match name.as_str() {
            "binlog_truncated_event.000001" => Some(4),
            "binlog_truncated_prev_gtid_event.000001" => Some(120),
            _ => None,
        };
        match expected_damage {
            None => assert_eq!(r.unwrap(), Verdict::Clean, "{name}: {out}"),
            Some(at) => {
                assert_eq!(r.unwrap(), Verdict::Found, "{name}");
                assert_eq!(v["files"][0]["damage"]["offset"], at, "{name}: {out}");
                assert_eq!(v["files"][0]["damage"]["class"], "torn-tail", "{name}");
            }
        }
        // inspect with decoded rows reads every fixture without an error.
        let (r, _) = run(&[
            "inspect",
            "--decode-rows",
            "--format",
            "ndjson",
            p.to_str().unwrap(),
        ]);
        assert_eq!(
            r.unwrap(),
            if expected_damage.is_some() {
                Verdict::Found
            } else {
                Verdict::Clean
            },
            "{name}"
        );
    }
    assert!(seen >= 20);
}

#[test]
fn binlog_event_positions_match_mariadb_binlog() {
    for run_dir in [
        "dml/row-full",
        "dml/statement",
        "types/row-minimal",
        "unsafe/mixed-full",
    ] {
        let d = root().join("fixtures/mariadb/out").join(run_dir);
        let events = std::fs::read_to_string(d.join("events.txt")).unwrap();
        let all: Vec<u64> = events
            .lines()
            .filter_map(|l| l.strip_prefix("# at "))
            .map(|n| n.trim().parse().unwrap())
            .collect();
        // events.txt lists mariadb-bin.000001 then .000002; each starts again at 4.
        let second = all
            .iter()
            .skip(1)
            .position(|&p| p == 4)
            .map_or(all.len(), |i| i + 1);
        let theirs = &all[..second];
        let bin = d.join("mariadb-bin.000001");
        let (r, out) = run(&["inspect", "--format", "ndjson", bin.to_str().unwrap()]);
        assert_eq!(r.unwrap(), Verdict::Clean);
        let ours: Vec<u64> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["position"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(ours, theirs, "{run_dir}");
    }
}

#[test]
fn binlog_damage_and_filters() {
    let bin = root().join("fixtures/mariadb/out/dml/row-full/mariadb-bin.000001");
    let bytes = std::fs::read(&bin).unwrap();
    let (_, out) = run(&["inspect", "--format", "ndjson", bin.to_str().unwrap()]);
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // A flipped byte inside an event is a checksum failure at that event.
    let victim = &events[events.len() / 2];
    let at = victim["position"].as_u64().unwrap() + 20;
    let mut b = bytes.clone();
    b[at as usize] ^= 0x01;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("flipped.000001");
    std::fs::write(&p, &b).unwrap();
    let (r, out) = run(&["verify", "--format", "json", p.to_str().unwrap()]);
    assert_eq!(r.unwrap(), Verdict::Found);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["files"][0]["damage"]["offset"], victim["position"],
        "{out}"
    );
    assert!(
        v["files"][0]["damage"]["message"]
            .as_str()
            .unwrap()
            .contains("CRC32 mismatch"),
        "{out}"
    );
    // Row filters use the table map's database and table, not USE.
    let (_, out) = run(&[
        "inspect",
        "--format",
        "ndjson",
        "--database",
        "w_dml",
        "--type",
        "write_rows_v1",
        bin.to_str().unwrap(),
    ]);
    assert!(out.lines().count() > 0);
    let (_, out) = run(&[
        "inspect",
        "--format",
        "ndjson",
        "--database",
        "elsewhere",
        bin.to_str().unwrap(),
    ]);
    assert_eq!(out.lines().count(), 0);
    let (_, out) = run(&[
        "inspect",
        "--format",
        "ndjson",
        "--table",
        "w_dml.accounts",
        "--decode-rows",
        bin.to_str().unwrap(),
    ]);
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["table"], "w_dml.accounts");
    }
    let (_, out) = run(&[
        "inspect",
        "--format",
        "ndjson",
        "--gtid",
        "0-1-3",
        bin.to_str().unwrap(),
    ]);
    assert!(out.lines().count() >= 3, "{out}");
    assert!(out.lines().all(|l| l.contains("\"gtid\":\"0-1-3\"")));
}

#[test]
fn binlog_golden_outputs() {
    let dir = root().join("fixtures/mysql/expected");
    for (name, args) in [
        ("json.binlog.inspect.txt", vec!["inspect", "--decode-rows"]),
        (
            "json.binlog.inspect.ndjson",
            vec!["inspect", "--decode-rows", "--format", "ndjson"],
        ),
        ("json.binlog.stats.txt", vec!["inspect", "--stats"]),
        ("json.binlog.verify.txt", vec!["verify"]),
    ] {
        let f = root().join("fixtures/mysql/json.binlog.000001");
        let mut a = args.clone();
        a.push(f.to_str().unwrap());
        let (r, out) = run(&a);
        assert_eq!(r.unwrap(), Verdict::Clean, "{name}");
        check_golden(
            &dir.join(name),
            &out.replace(&root().display().to_string(), "<root>"),
        );
    }
}

#[test]
fn determinism_flags_unsafe_statement_binlogs_only() {
    let out_dir = root().join("fixtures/mariadb/out");
    for (workload, expected) in [
        ("unsafe", Verdict::Found),
        ("dml", Verdict::Clean),
        ("txn", Verdict::Clean),
    ] {
        let bin = out_dir.join(workload).join("statement/mariadb-bin.000001");
        let (r, out) = run(&["determinism", "--format", "json", bin.to_str().unwrap()]);
        assert_eq!(r.unwrap(), expected, "{workload}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let unsafe_n = v["summary"]["unsafe_statements"].as_u64().unwrap();
        assert_eq!(unsafe_n > 0, expected == Verdict::Found, "{workload}");
    }
    // The native format sample has no unsafe statement. (It cannot be
    // replayed, having no CREATE DATABASE, so only the static verdict is
    // clean; tests/determinism.rs checks the dynamic one.)
    let (r, _) = run(&[
        "determinism",
        "--static",
        fixture("statement").to_str().unwrap(),
    ]);
    assert_eq!(r.unwrap(), Verdict::Clean);
}

/// `inspect --decode-rows` of a native logical log: its row changes with
/// column names (the columns and their types listed once per table
/// version); a flipped bit in a row record is damage: the rows before it
/// are printed, the damage reported, exit 1; with a statement log, the
/// refusal says to convert it first.
#[test]
fn decode_rows_of_a_logical_log_and_its_damage() {
    let path = fixture("logical");
    let p = path.to_str().unwrap();
    let (r, out) = run(&["inspect", "--decode-rows", p]);
    assert_eq!(r.unwrap(), Verdict::Clean, "{out}");
    let op = |l: &str| l.split('|').nth(3).unwrap_or("").trim().to_string();
    assert!(out.lines().any(|l| op(l) == "columns"), "{out}");
    let inserts = out.lines().filter(|l| op(l) == "insert").count();
    assert!(inserts > 0, "{out}");
    let (r, out) = run(&["inspect", "--decode-rows", "--format", "ndjson", p]);
    assert_eq!(r.unwrap(), Verdict::Clean);
    let changes: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        changes.iter().filter(|c| c["op"] == "insert").count(),
        inserts
    );
    assert!(changes.iter().all(|c| c["lsn"].is_u64()), "{out}");

    // Damage in the last frame's body: what precedes it is printed.
    let mut bytes = std::fs::read(&path).unwrap();
    let (last_start, last_end) = *frames(&bytes).last().unwrap();
    let at = usize::try_from((last_start + last_end) / 2).unwrap();
    bytes[at] ^= 0x10;
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("damaged.replog");
    std::fs::write(&damaged, &bytes).unwrap();
    let (r, out2) = run(&["inspect", "--decode-rows", damaged.to_str().unwrap()]);
    assert_eq!(r.unwrap(), Verdict::Found, "{out2}");
    assert!(out2.lines().count() > 2, "{out2}");

    let (r, _) = run(&[
        "inspect",
        "--decode-rows",
        fixture("statement").to_str().unwrap(),
    ]);
    let e = r.unwrap_err().to_string();
    assert!(e.contains("convert it to a logical log first"), "{e}");
}
