//! MariaDB's own binlogs against replog's own leader: for every
//! deterministic fixture workload, the ROW binlogs (full, minimal and no
//! row metadata) and the STATEMENT binlog written by a real MariaDB server,
//! converted to native logs and replayed, reach exactly the state digest
//! that `replog record` reaches executing the same SQL.

use clap::Parser;
use replog::{Cli, Outcome};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_json(args: &[&str]) -> (Outcome, serde_json::Value) {
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
            assert_eq!(o, Outcome::Clean, "{w} {run}: {replay}");
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
