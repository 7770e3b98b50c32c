//! `replog convert --to physical`: a statement log, a logical log, or a
//! MariaDB binlog, turned into a physical WAL by replaying it into the page
//! engine, replays to the leader's digest; damaged input leaves no output.

use clap::Parser;
use replog::{Cli, Verdict};
use replog_test_support::root;

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

#[test]
fn every_route_to_physical_replays_to_the_leaders_digest() {
    let tmp = tempfile::tempdir().unwrap();
    for w in ["types", "dml", "ddl", "txn"] {
        let sql = root()
            .join("fixtures/mariadb/workloads")
            .join(format!("{w}.sql"));
        let rec = tmp.path().join(w);
        let (_, leader) = run(&[
            "record",
            sql.to_str().unwrap(),
            "--out",
            rec.to_str().unwrap(),
            "--formats",
            "statement,logical",
            "--durability",
            "os",
            "--format",
            "json",
        ])
        .unwrap();
        let digest = leader["digest"].as_str().unwrap().to_string();
        let binlog = root()
            .join("fixtures/mariadb/out")
            .join(w)
            .join("row-full/mariadb-bin.000001");
        for (name, input) in [
            ("statement", rec.join("statement")),
            ("logical", rec.join("logical")),
            ("binlog", binlog),
        ] {
            let wal = tmp.path().join(format!("{w}-{name}-wal"));
            let (o, _) = run(&[
                "convert",
                input.to_str().unwrap(),
                "--to",
                "physical",
                "-o",
                wal.to_str().unwrap(),
                "--page-size",
                "4096",
                "--format",
                "json",
            ])
            .unwrap();
            assert_eq!(o, Verdict::Clean, "{w} {name}");
            let (o, _) = run(&["verify", wal.to_str().unwrap(), "--format", "json"]).unwrap();
            assert_eq!(o, Verdict::Clean, "{w} {name}: the WAL does not verify");
            let (o, r) = run(&[
                "replay",
                wal.to_str().unwrap(),
                "--memory",
                "--format",
                "json",
            ])
            .unwrap();
            assert_eq!(o, Verdict::Clean, "{w} {name}: {r}");
            assert_eq!(r["digest"].as_str(), Some(digest.as_str()), "{w} {name}");
        }
    }
}

#[test]
fn damaged_input_leaves_no_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let sql = root().join("fixtures/mariadb/workloads/dml.sql");
    let rec = tmp.path().join("rec");
    run(&[
        "record",
        sql.to_str().unwrap(),
        "--out",
        rec.to_str().unwrap(),
        "--formats",
        "logical",
        "--durability",
        "os",
    ])
    .unwrap();
    let seg = std::fs::read_dir(rec.join("logical"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let bad = tmp.path().join("bad.replog");
    std::fs::write(&bad, &bytes).unwrap();
    let wal = tmp.path().join("wal");
    assert!(
        run(&[
            "convert",
            bad.to_str().unwrap(),
            "--to",
            "physical",
            "-o",
            wal.to_str().unwrap()
        ])
        .is_err()
    );
    assert!(
        !wal.exists(),
        "a half-written WAL was left under the final name"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".replog-convert-")
        })
        .collect();
    assert!(leftovers.is_empty(), "staging directory left behind");
}
