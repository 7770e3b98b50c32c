//! The Spark recipe (fixtures/spark/recipe.py): 8 logs fanned out over
//! Spark (`local[2]`), each task running `replog export --to parquet` on
//! its log, then Spark SQL answering fixtures/spark/queries.sql; every
//! answer must equal `replog query`'s over the same 8 logs on one machine.
//!
//! Needs Java 17 and pyspark (`.ci/run` installs them): with either
//! missing, the test prints why and passes without running. The Python
//! interpreter is `$REPLOG_SPARK_PYTHON` (a venv with pyspark), else
//! `python3`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Why the test cannot run here, if it cannot.
fn missing(python: &str) -> Option<String> {
    let java = Command::new("java").arg("-version").output();
    if !java.is_ok_and(|o| o.status.success()) {
        return Some("no Java runtime (`java -version` failed)".into());
    }
    let spark = Command::new(python).args(["-c", "import pyspark"]).output();
    if !spark.is_ok_and(|o| o.status.success()) {
        return Some(format!("{python} cannot import pyspark"));
    }
    None
}

/// The 8 logs: ROW binlogs of four workloads, full and minimal row images,
/// each copied under a name of its own (so `source_file` tells them
/// apart).
fn logs(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for workload in ["dml", "types", "txn", "ddl"] {
        for variant in ["row-full", "row-minimal"] {
            let from = root()
                .join("fixtures/mariadb/out")
                .join(workload)
                .join(variant)
                .join("mariadb-bin.000001");
            let to = dir.join(format!("{workload}-{variant}.000001"));
            std::fs::copy(&from, &to).unwrap();
            out.push(to.display().to_string());
        }
    }
    out
}

/// `replog query --format json SQL LOGS` as (columns, rows).
fn replog_query(sql: &str, logs: &[String]) -> (Vec<String>, Vec<Vec<serde_json::Value>>) {
    let mut args = vec!["replog", "query", "--format", "json", sql];
    args.extend(logs.iter().map(String::as_str));
    let cli = <replog::Cli as clap::Parser>::try_parse_from(args).unwrap();
    let mut out = Vec::new();
    let verdict = replog::run(cli, &mut out).unwrap();
    assert_eq!(verdict, replog::Verdict::Clean, "{sql}");
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let columns: Vec<String> = doc["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let rows = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| columns.iter().map(|c| r[c].clone()).collect())
        .collect();
    (columns, rows)
}

#[test]
fn spark_answers_equal_replog_query_over_8_logs() {
    let python = std::env::var("REPLOG_SPARK_PYTHON").unwrap_or_else(|_| "python3".into());
    if let Some(why) = missing(&python) {
        eprintln!("skipped: the Spark recipe needs Java 17 and pyspark: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let log_dir = tmp.path().join("logs");
    std::fs::create_dir(&log_dir).unwrap();
    let logs = logs(&log_dir);
    assert_eq!(logs.len(), 8);
    let out = Command::new(&python)
        .arg(root().join("fixtures/spark/recipe.py"))
        .arg("--replog")
        .arg(env!("CARGO_BIN_EXE_replog"))
        .arg("--work")
        .arg(tmp.path().join("work"))
        .arg("--queries")
        .arg(root().join("fixtures/spark/queries.sql"))
        .args(&logs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the recipe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let queries = std::fs::read_to_string(root().join("fixtures/spark/queries.sql")).unwrap();
    let n_queries = queries
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
        .split(';')
        .filter(|q| !q.trim().is_empty())
        .count();
    assert_eq!(answers.len(), n_queries);
    for a in &answers {
        let sql = a["query"].as_str().unwrap();
        let (columns, rows) = replog_query(sql, &logs);
        let spark_columns: Vec<String> = a["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(columns, spark_columns, "{sql}");
        let spark_rows: Vec<Vec<serde_json::Value>> = a["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().clone())
            .collect();
        assert!(!rows.is_empty(), "{sql}: no rows");
        assert_eq!(rows, spark_rows, "{sql}");
    }
}
