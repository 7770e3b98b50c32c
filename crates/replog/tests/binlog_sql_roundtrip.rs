//! `replog convert BINLOG --to sql` through a real MariaDB (issue 11 item
//! 4): `fixtures/mariadb/generate.sh --sql-roundtrip` converted every run's
//! binlogs to SQL, loaded the SQL into a fresh server and dumped its tables
//! into `out/<workload>/<run>/roundtrip/`. The SQL replog writes now must be
//! the SQL the server ran, and the server's tables after it the leader's,
//! cell for cell.

use replog_test_support::root;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_replog");

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_sql_mariadb_ran_is_what_replog_writes_and_gives_the_leaders_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = Vec::new();
    for w in ["dml", "ddl", "txn", "types"] {
        let wdir = root().join("fixtures/mariadb/out").join(w);
        let mut runs: Vec<_> = std::fs::read_dir(&wdir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("roundtrip").is_dir())
            .collect();
        runs.sort();
        for run in runs {
            let name = format!("{w}/{}", run.file_name().unwrap().to_string_lossy());
            let mut binlogs: Vec<String> = std::fs::read_dir(&run)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("mariadb-bin.0"))
                .collect();
            binlogs.sort();
            let sql = tmp.path().join(format!("{w}-{}.sql", checked.len()));
            let out = Command::new(BIN)
                .current_dir(&run)
                .arg("convert")
                .args(&binlogs)
                .args(["--to", "sql", "-o"])
                .arg(&sql)
                .output()
                .unwrap();
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let ran = std::fs::read(run.join("roundtrip/input.sql")).unwrap();
            assert!(
                std::fs::read(&sql).unwrap() == ran,
                "{name}: replog's SQL is not the SQL MariaDB ran (re-run \
                 fixtures/mariadb/generate.sh --sql-roundtrip)"
            );
            assert_eq!(
                files(&run.join("roundtrip/tables")),
                files(&run.join("tables")),
                "{name}: MariaDB's tables after replog's SQL are not the leader's"
            );
            assert_eq!(
                std::fs::read(run.join("roundtrip/schema.sql")).unwrap(),
                std::fs::read(run.join("schema.sql")).unwrap(),
                "{name}"
            );
            checked.push(name);
        }
    }
    // Four workloads, six binlog configurations each.
    assert_eq!(checked.len(), 24, "{checked:?}");
}
