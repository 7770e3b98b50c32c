//! Running `replog` commands in-process, as the CLI's tests do: arguments
//! as on a command line, output captured.
//!
//! The harness is a macro expanded in each test crate of `replog`, so this
//! crate does not depend on `replog` (which would make every crate that
//! uses [`crate::bless`] in its tests build the whole tool first).

/// Defines, in the calling test crate (which depends on `replog`, `clap`,
/// `anyhow` and `serde_json`):
///
/// - `run(args) -> (anyhow::Result<Verdict>, String)`: runs `replog ARGS…`,
///   returning the result and what it printed (panics if the arguments do
///   not parse);
/// - `json(args) -> (Verdict, serde_json::Value)`: the same, which must
///   succeed (exit 0 or 1), its output parsed as one JSON document;
/// - `error(args) -> String`: the error of a command that must fail
///   (exit 2), as the command line prints it;
///
/// `cli_harness!(record)` also defines
///
/// - `record(sql, dir) -> String`: `replog record` of a SQL file into
///   `dir` (every format, no fsync), returning the leader's digest;
/// - `record_text(sql, dir) -> String`: writes `sql` to
///   `dir/workload.sql` and records it into `dir/logs`.
#[macro_export]
macro_rules! cli_harness {
    (record) => {
        $crate::cli_harness!();

        #[allow(dead_code)]
        fn record(sql: &std::path::Path, dir: &std::path::Path) -> String {
            let (o, v) = json(&[
                "record",
                $crate::s(sql),
                "-o",
                $crate::s(dir),
                "--durability",
                "os",
                "--format",
                "json",
            ]);
            assert_eq!(o, replog::Verdict::Clean, "recording {}", sql.display());
            v["digest"].as_str().expect("digest").to_string()
        }

        #[allow(dead_code)]
        fn record_text(sql: &str, dir: &std::path::Path) -> String {
            std::fs::create_dir_all(dir).expect("creating the workload directory");
            let f = dir.join("workload.sql");
            std::fs::write(&f, sql).expect("writing the workload");
            record(&f, &dir.join("logs"))
        }
    };
    () => {
        #[allow(dead_code)]
        fn run(args: &[&str]) -> (anyhow::Result<replog::Verdict>, String) {
            let cli = <replog::Cli as clap::Parser>::try_parse_from(
                std::iter::once("replog").chain(args.iter().copied()),
            )
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
            let mut out = Vec::new();
            let r = replog::run(cli, &mut out);
            (r, String::from_utf8(out).expect("UTF-8 output"))
        }

        #[allow(dead_code)]
        fn json(args: &[&str]) -> (replog::Verdict, serde_json::Value) {
            let (r, out) = run(args);
            let o = r.unwrap_or_else(|e| panic!("{args:?}: {e:#}"));
            let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"));
            (o, v)
        }

        #[allow(dead_code)]
        fn error(args: &[&str]) -> String {
            match run(args) {
                (Err(e), _) => replog::error_text(&e),
                (Ok(o), out) => panic!("{args:?} succeeded ({o:?}) but should fail:\n{out}"),
            }
        }
    };
}
