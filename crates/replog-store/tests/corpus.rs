//! SQL coverage measured on MariaDB's own results: every statement of the
//! corpus (`fixtures/mariadb/corpus/<family>.sql`) runs on the store, in
//! the session `fixtures/mariadb/corpus.py` gave it on MariaDB (its own
//! database `c_<family>`, `SET TIMESTAMP = 1700000000`), and its result is
//! compared with MariaDB's (`fixtures/mariadb/out/corpus/<family>.jsonl`):
//! the rows (each cell as the server's text), the affected-row count, or
//! that it failed, and the warnings that change a result (1301: a string
//! function's result longer than `max_allowed_packet`, which is NULL).
//!
//! A statement MariaDB executes either gives the same result on the store
//! (**matches**), is refused by the store as `unsupported: …`
//! (**refused**), or gives another result or another error (**differs**).
//! A statement MariaDB refuses must fail on the store too.
//!
//! The per-family counts are the coverage table of the store's README
//! (between the `corpus` markers) and every differing statement is listed
//! in `tests/corpus/differences.txt`, every refused one with the store's
//! message in `tests/corpus/refused.txt`: all are checked here, so a change
//! of coverage, better or worse, shows in review. `REPLOG_BLESS=1`
//! rewrites them after an intended change.

use replog_store::{Datum, ErrorKind, SimEnvironment, Store};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn results_dir() -> PathBuf {
    root().join("../../fixtures/mariadb/out/corpus")
}

/// A cell as corpus.py writes MariaDB's: text, NULL as `None`, bytes that
/// are not UTF-8 as `0x` + uppercase hex.
fn cell(d: &Datum) -> Option<String> {
    match d {
        Datum::Null => None,
        Datum::Bytes(b) => Some(match std::str::from_utf8(b) {
            Ok(s) => s.to_string(),
            Err(_) => format!(
                "0x{}",
                b.iter().map(|x| format!("{x:02X}")).collect::<String>()
            ),
        }),
        other => other.to_text(),
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    statements: usize,
    executed: usize,
    matches: usize,
    refused: usize,
    differs: usize,
    errors: usize,
    errors_matched: usize,
}

fn shorten(s: &str, n: usize) -> String {
    let one = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= n {
        one
    } else {
        format!("{}…", one.chars().take(n).collect::<String>())
    }
}

fn run_family(family: &str, text: &str, diffs: &mut String, refused: &mut String) -> Counts {
    let mut s = Store::new(SimEnvironment::default());
    s.execute_script(&format!(
        "CREATE DATABASE c_{family}; USE c_{family}; SET TIMESTAMP = 1700000000"
    ))
    .unwrap();
    let mut c = Counts::default();
    for line in text.lines() {
        let rec: Value = serde_json::from_str(line).unwrap();
        let sql = rec["sql"].as_str().unwrap();
        let n = rec["n"].as_u64().unwrap();
        let want = &rec["result"];
        c.statements += 1;
        let got = s.execute(sql);
        let mut differ = |why: String| {
            writeln!(diffs, "{family} #{n}: {}\n    {why}", shorten(sql, 100)).unwrap();
        };
        if let Some(code) = want.get("error") {
            c.errors += 1;
            match got {
                Err(_) => c.errors_matched += 1,
                Ok(_) => differ(format!("MariaDB: error {code}; store: no error")),
            }
            continue;
        }
        c.executed += 1;
        let r = match got {
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                c.refused += 1;
                writeln!(
                    refused,
                    "{family} #{n}: {}\n    {}",
                    shorten(sql, 100),
                    shorten(e.message(), 120)
                )
                .unwrap();
                continue;
            }
            Err(e) => {
                c.differs += 1;
                differ(format!(
                    "MariaDB: {want}; store: {}",
                    shorten(e.message(), 120)
                ));
                continue;
            }
            Ok(r) => r,
        };
        let same = match (want.get("rows"), &r.result) {
            (Some(rows), Some(rs)) => {
                let mine: Vec<Vec<Option<String>>> = rs
                    .rows
                    .iter()
                    .map(|row| row.iter().map(cell).collect())
                    .collect();
                let theirs: Vec<Vec<Option<String>>> =
                    serde_json::from_value(rows.clone()).unwrap();
                if mine == theirs {
                    Ok(())
                } else {
                    Err(format!(
                        "MariaDB: {}; store: {}",
                        shorten(&rows.to_string(), 160),
                        shorten(&serde_json::to_string(&mine).unwrap(), 160)
                    ))
                }
            }
            (None, None) => {
                let a = want["affected"].as_u64().unwrap();
                if a == r.affected_rows {
                    Ok(())
                } else {
                    Err(format!("MariaDB: {a} affected; store: {}", r.affected_rows))
                }
            }
            (Some(_), None) => Err("MariaDB: rows; store: no result set".into()),
            (None, Some(_)) => Err("MariaDB: no result set; store: rows".into()),
        };
        // A warning that changes a result: a string function's result
        // longer than max_allowed_packet (1301, the value is NULL).
        let same = same.and_then(|()| {
            let theirs: Vec<&str> = rec["warnings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|w| w[0].as_u64() == Some(1301))
                .filter_map(|w| w[1].as_str())
                .collect();
            let mine: Vec<&str> = r
                .warnings
                .iter()
                .map(String::as_str)
                .filter(|w| w.contains("was larger than max_allowed_packet"))
                .collect();
            if mine == theirs {
                Ok(())
            } else {
                Err(format!("MariaDB warns {theirs:?}; store warns {mine:?}"))
            }
        });
        match same {
            Ok(()) => c.matches += 1,
            Err(why) => {
                c.differs += 1;
                differ(why);
            }
        }
    }
    c
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "–".into()
    } else {
        format!("{:.1}%", a as f64 * 100.0 / b as f64)
    }
}

#[test]
fn the_corpus_gives_mariadbs_results() {
    let mut families: Vec<String> = std::fs::read_dir(results_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name()?.to_str()?.strip_suffix(".jsonl")?.to_string();
            Some(name)
        })
        .collect();
    families.sort();
    assert!(families.len() >= 10, "{families:?}");
    let mut table = String::from(
        "| family | statements | MariaDB executes | store matches | refused (unsupported) | differs | MariaDB errors (store errors too) |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut diffs = String::new();
    let mut refused = String::new();
    let mut total = Counts::default();
    for f in &families {
        let text = std::fs::read_to_string(results_dir().join(format!("{f}.jsonl"))).unwrap();
        let c = run_family(f, &text, &mut diffs, &mut refused);
        writeln!(
            table,
            "| {f} | {} | {} | {} | {} | {} | {} ({}) |",
            c.statements, c.executed, c.matches, c.refused, c.differs, c.errors, c.errors_matched
        )
        .unwrap();
        total.statements += c.statements;
        total.executed += c.executed;
        total.matches += c.matches;
        total.refused += c.refused;
        total.differs += c.differs;
        total.errors += c.errors;
        total.errors_matched += c.errors_matched;
    }
    writeln!(
        table,
        "| **all** | {} | {} | {} ({}) | {} ({}) | {} ({}) | {} ({}) |",
        total.statements,
        total.executed,
        total.matches,
        pct(total.matches, total.executed),
        total.refused,
        pct(total.refused, total.executed),
        total.differs,
        pct(total.differs, total.executed),
        total.errors,
        total.errors_matched
    )
    .unwrap();

    // The README's table is this one.
    let readme_path = root().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (begin, end) = ("<!-- corpus:begin -->\n", "<!-- corpus:end -->");
    let (head, rest) = readme.split_once(begin).expect("README: corpus markers");
    let (old, tail) = rest.split_once(end).expect("README: corpus end marker");
    if old != table {
        if replog_test_support::bless::blessing() {
            std::fs::write(&readme_path, format!("{head}{begin}{table}{end}{tail}")).unwrap();
        } else {
            panic!(
                "the coverage table in {} is not the measured one; rerun with REPLOG_BLESS=1 if the change is intended.\n--- measured:\n{table}--- README:\n{old}",
                readme_path.display()
            );
        }
    }
    replog_test_support::bless::check(
        &root().join("tests/corpus/differences.txt"),
        diffs.as_bytes(),
    );
    replog_test_support::bless::check(&root().join("tests/corpus/refused.txt"), refused.as_bytes());
}
