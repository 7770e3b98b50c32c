//! Running `replog` commands in-process, as the CLI's tests do: arguments
//! as on a command line, output captured.

use replog::{Cli, Outcome};
use serde_json::Value;
use std::path::Path;

/// Runs `replog ARGS…`; the command's result and what it printed.
/// Panics if the arguments do not parse.
pub fn run(args: &[&str]) -> (anyhow::Result<Outcome>, String) {
    let cli = <Cli as clap::Parser>::try_parse_from(
        std::iter::once("replog").chain(args.iter().copied()),
    )
    .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let mut out = Vec::new();
    let r = replog::run(cli, &mut out);
    (r, String::from_utf8(out).expect("UTF-8 output"))
}

/// Runs `replog ARGS…`, which must succeed (exit 0 or 1), and parses
/// its output as one JSON document.
pub fn json(args: &[&str]) -> (Outcome, Value) {
    let (r, out) = run(args);
    let o = r.unwrap_or_else(|e| panic!("{args:?}: {e:#}"));
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"));
    (o, v)
}

/// The error of `replog ARGS…`, which must fail (exit 2), as the command
/// line prints it.
pub fn error(args: &[&str]) -> String {
    match run(args) {
        (Err(e), _) => replog::error_text(&e),
        (Ok(o), out) => panic!("{args:?} succeeded ({o:?}) but should fail:\n{out}"),
    }
}

/// Runs `replog record` of the SQL file `sql` into `dir` (every format,
/// no fsync); returns the leader's final digest.
pub fn record(sql: &Path, dir: &Path) -> String {
    let (o, v) = json(&[
        "record",
        crate::s(sql),
        "--out",
        crate::s(dir),
        "--durability",
        "os",
        "--format",
        "json",
    ]);
    assert_eq!(o, Outcome::Clean, "recording {}", sql.display());
    v["digest"].as_str().expect("digest").to_string()
}

/// Writes `sql` to `dir/workload.sql` and records it into `dir/logs`;
/// returns the leader's final digest.
pub fn record_text(sql: &str, dir: &Path) -> String {
    std::fs::create_dir_all(dir).expect("creating the workload directory");
    let f = dir.join("workload.sql");
    std::fs::write(&f, sql).expect("writing the workload");
    record(&f, &dir.join("logs"))
}
