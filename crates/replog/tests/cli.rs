//! The CLI on the committed fixtures: golden output for every output mode,
//! and damaged copies of every fixture (each bit flipped at every frame,
//! every truncation) reported with the right exit status and offset.
//!
//! Golden files live in `fixtures/native/<kind>/expected/`; rerun with
//! `REPLOG_BLESS=1` to rewrite them after an intended change.

use clap::Parser;
use replog::{Cli, Outcome};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const KINDS: [&str; 3] = ["statement", "logical", "physical"];

fn fixture(kind: &str) -> PathBuf {
    root()
        .join("fixtures/native")
        .join(kind)
        .join("sample.replog")
}

fn run(args: &[&str]) -> (anyhow::Result<Outcome>, String) {
    let cli = Cli::try_parse_from(std::iter::once("replog").chain(args.iter().copied()))
        .expect("arguments parse");
    let mut out = Vec::new();
    let r = replog::run(cli, &mut out);
    (r, String::from_utf8(out).expect("utf-8 output"))
}

fn check_golden(path: &Path, actual: &str) {
    if std::env::var_os("REPLOG_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{} is missing; rerun with REPLOG_BLESS=1", path.display()));
    assert!(
        expected == actual,
        "{} differs from the output; rerun with REPLOG_BLESS=1 if the change is intended.\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
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
            assert_eq!(r.unwrap(), Outcome::Clean, "{kind} {name}");
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
            assert_eq!(r.unwrap(), Outcome::Found, "{kind}: flip at {i} not found");
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
            assert_eq!(r.unwrap(), Outcome::Found, "{kind} cut at {cut}");
            assert!(
                out.contains(&format!("damage: torn tail at offset {start} ")),
                "{kind} cut at {cut}: {out}"
            );
            let (r, out) = run(&["verify", "--recovery", "tolerate-tail", path]);
            assert_eq!(r.unwrap(), Outcome::Clean, "{kind} cut at {cut}: {out}");
            assert!(out.contains("accepted by policy: torn tail"), "{out}");
            // inspect prints what precedes the tear and reports it.
            let (r, _) = run(&["inspect", path]);
            assert_eq!(r.unwrap(), Outcome::Found);
        }
    }
}

#[test]
fn filters_and_limits() {
    let f = fixture("logical");
    let f = f.to_str().unwrap();
    let (r, out) = run(&["inspect", "--format", "ndjson", "--type", "begin", f]);
    assert_eq!(r.unwrap(), Outcome::Clean);
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
