//! `replog determinism`: exit codes, output formats and the check that
//! logical and physical logs replay identically on every replica.

use replog::Verdict;
use replog_test_support::root;

/// The binlogs of a MariaDB fixture run, as arguments.
fn binlogs(workload: &str, run: &str) -> Vec<String> {
    replog_test_support::mariadb::binlogs(workload, run)
        .iter()
        .map(|p| p.display().to_string())
        .collect()
}

replog_test_support::cli_harness!();

fn with<'a>(args: &[&'a str], paths: &'a [String]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(paths.iter().map(String::as_str));
    v
}

#[test]
fn unsafe_binlog_diverges_with_exit_1_and_lists_rows() {
    let paths = binlogs("unsafe", "statement");
    let (r, out) = run(&with(&["determinism"], &paths));
    assert_eq!(r.unwrap(), Verdict::Found);
    assert!(out.contains("divergences:"), "{out}");
    assert!(out.contains("w_unsafe.t_uuid"), "{out}");
    assert!(out.contains("DIVERGED"), "{out}");
    assert!(out.contains("replicas (seed "), "{out}");
    assert!(out.contains("advice: "), "{out}");
    assert!(!out.contains("BUG:"), "{out}");

    let (r, out) = run(&with(
        &[
            "determinism",
            "--format",
            "json",
            "--seed",
            "7",
            "--replicas",
            "3",
        ],
        &paths,
    ));
    assert_eq!(r.unwrap(), Verdict::Found);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let d = &v["dynamic"];
    assert_eq!(d["summary"]["seed"], 7);
    assert_eq!(d["summary"]["replicas"], 3);
    assert_eq!(d["replicas"].as_array().unwrap().len(), 3);
    let uuid = d["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["table"] == "w_unsafe.t_uuid")
        .expect("t_uuid diverges");
    assert_eq!(uuid["rows"][0]["values"].as_array().unwrap().len(), 3);
    assert_eq!(uuid["position"]["file"], "mariadb-bin.000001");
    // Per statement verdicts.
    let st = v["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sql"].as_str().unwrap().contains("UUID()"))
        .unwrap();
    assert_eq!(st["diverged"], true);
}

#[test]
fn static_only_keeps_the_old_verdict() {
    let paths = binlogs("unsafe", "statement");
    let (r, out) = run(&with(
        &["determinism", "--static", "--format", "json"],
        &paths,
    ));
    assert_eq!(r.unwrap(), Verdict::Found);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v.get("dynamic").is_none());
    assert!(v["summary"]["unsafe_statements"].as_u64().unwrap() > 0);
}

#[test]
fn deterministic_binlogs_are_clean() {
    for w in ["types", "dml", "ddl", "txn"] {
        let paths = binlogs(w, "statement");
        let (r, out) = run(&with(&["determinism", "--format", "json"], &paths));
        assert_eq!(r.unwrap(), Verdict::Clean, "{w}: {out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["dynamic"]["summary"]["transactions_diverged"], 0, "{w}");
        assert_eq!(v["dynamic"]["summary"]["identical_share"], 1.0, "{w}");
        assert_eq!(v["dynamic"]["summary"]["transactions_failed"], 0, "{w}");
    }
}

#[test]
fn compare_context_shows_what_the_context_prevents() {
    let paths = binlogs("unsafe", "statement");
    let (r, out) = run(&with(&["determinism", "--compare-context"], &paths));
    // The exit code is the run with the log's context.
    assert_eq!(r.unwrap(), Verdict::Found);
    assert!(out.contains("without context"), "{out}");
    assert!(out.contains("the log's context prevents"), "{out}");
    let (r, out) = run(&with(
        &["determinism", "--compare-context", "--format", "json"],
        &paths,
    ));
    assert_eq!(r.unwrap(), Verdict::Found);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let with_n = v["dynamic"]["summary"]["statements_diverged"]
        .as_u64()
        .unwrap();
    let without_n = v["without_context"]["summary"]["statements_diverged"]
        .as_u64()
        .unwrap();
    assert!(without_n > with_n, "{with_n} {without_n}");
    let now = v["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sql"].as_str().unwrap().starts_with("INSERT INTO t_now"))
        .unwrap();
    assert_eq!(now["diverged"], false);
    assert_eq!(now["diverged_without_context"], true);

    // --ignore-context alone: the run and the static analysis both treat
    // the log as carrying no context.
    let (r, out) = run(&with(
        &["determinism", "--ignore-context", "--format", "json"],
        &paths,
    ));
    assert_eq!(r.unwrap(), Verdict::Found);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["context_ignored"], true);
    assert_eq!(v["dynamic"]["summary"]["ignore_context"], true);
    let tables: Vec<&str> = v["dynamic"]["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["table"].as_str())
        .collect();
    assert!(tables.contains(&"w_unsafe.t_rand"), "{tables:?}");
}

#[test]
fn ndjson_lists_divergences_then_the_summary() {
    let paths = binlogs("unsafe", "statement");
    let (r, out) = run(&with(&["determinism", "--format", "ndjson"], &paths));
    assert_eq!(r.unwrap(), Verdict::Found);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|l| l.get("divergence").is_some()));
    let last = lines.last().unwrap();
    assert!(last["dynamic"]["statements_diverged"].as_u64().unwrap() > 0);
}

#[test]
fn logical_and_physical_logs_replay_identically() {
    let dir = tempfile::tempdir().unwrap();
    for w in ["dml", "unsafe"] {
        let input = binlogs(w, "statement");
        for kind in ["logical", "physical"] {
            let out_path = dir.path().join(format!("{w}.{kind}.replog"));
            let mut args = vec!["convert"];
            args.extend(input.iter().map(String::as_str));
            args.extend(["--to", kind, "-o", out_path.to_str().unwrap()]);
            let (r, _) = run(&args);
            r.unwrap();
            let (r, out) = run(&["determinism", out_path.to_str().unwrap()]);
            assert_eq!(r.unwrap(), Verdict::Clean, "{w} {kind}: {out}");
            assert!(out.contains("every replica replayed identically"), "{out}");
            let (r, out) = run(&[
                "determinism",
                "--format",
                "json",
                "--replicas",
                "3",
                out_path.to_str().unwrap(),
            ]);
            assert_eq!(r.unwrap(), Verdict::Clean);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["kind"], kind);
            let results = v["results"].as_array().unwrap();
            assert_eq!(results.len(), 3);
            assert!(results[0]["transactions"].as_u64().unwrap() > 5);
            assert!(results[0]["states_checked"].as_u64().unwrap() > 5, "{kind}");
            assert_eq!(results[0]["digest"], results[2]["digest"]);
        }
    }
    // A logical log that does not replay anywhere is reported (exit 1).
    let sample = root().join("fixtures/native/logical/sample.replog");
    let (r, out) = run(&["determinism", sample.to_str().unwrap()]);
    assert_eq!(r.unwrap(), Verdict::Found, "{out}");
    assert!(out.contains("every replica: "), "{out}");
}

/// A statement log whose transactions fail on every replica (the native
/// format sample has no CREATE DATABASE) was not measured: exit 1, with the
/// failures counted, never a clean "no divergence".
#[test]
fn transactions_failing_everywhere_are_not_a_clean_result() {
    let sample = root().join("fixtures/native/statement/sample.replog");
    let (r, out) = run(&["determinism", sample.to_str().unwrap()]);
    assert_eq!(r.unwrap(), Verdict::Found, "{out}");
    assert!(
        out.contains("transactions failing on every replica"),
        "{out}"
    );
    let (r, out) = run(&["determinism", "--static", sample.to_str().unwrap()]);
    assert!(r.is_ok(), "{out}");
}

/// Issue 11 item 13: files that are no log at all were analyzed as an empty
/// statement log, "no statement flagged", exit 0.
#[test]
fn files_that_are_no_log_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    let random = tmp.path().join("random");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&random, bytes).unwrap();
    let text = tmp.path().join("passwd");
    std::fs::write(&text, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    for f in [&empty, &random, &text] {
        let f = f.display().to_string();
        for args in [
            vec!["determinism", f.as_str()],
            vec!["determinism", "--static", f.as_str()],
        ] {
            let (r, out) = run(&args);
            let e = format!("{:#}", r.expect_err(&out));
            assert!(
                e.contains(&f) && e.contains("neither a replog log nor a MySQL/MariaDB binlog"),
                "{e}"
            );
        }
    }
}

/// Issue 11 item 20: a divergence of rows that were identical on every
/// replica, by a statement reading no diverged table, happens on its own;
/// one that changes rows an earlier statement made differ, or reads a
/// table with such rows, comes after an earlier divergence.
#[test]
fn divergences_on_their_own_are_not_labelled_inherited() {
    let paths = binlogs("unsafe", "statement");
    let (r, out) = run(&with(&["determinism", "--format", "json"], &paths));
    assert_eq!(r.unwrap(), Verdict::Found);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let divergences = v["dynamic"]["divergences"].as_array().unwrap();
    let inherited = |prefix: &str| {
        let d = divergences
            .iter()
            .find(|d| d["sql"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no divergence of {prefix}: {out}"));
        d["inherited"].as_bool().unwrap()
    };
    // The first UPDATE … LIMIT changes rows of group a differently; the
    // DELETE … LIMIT of group b rows (identical everywhere) diverges on its
    // own.
    assert!(!inherited(
        "UPDATE t_limit SET flag = 1 WHERE grp = 'a' LIMIT"
    ));
    assert!(!inherited("DELETE FROM t_limit WHERE grp = 'b' LIMIT 2"));
    // Rows that already differ, and a copy of the diverged table.
    assert!(inherited("UPDATE t_limit SET flag = flag + 10"));
    assert!(inherited("INSERT INTO t_copy"));
}

/// Issue 11 item 20: positions are never wrapped inside `file:offset`.
#[test]
fn table_positions_are_not_wrapped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, p) in binlogs("unsafe", "statement").iter().enumerate() {
        let to = tmp.path().join(format!(
            "statement-minimal-from-a-long-named-server.{:06}",
            i + 1
        ));
        std::fs::copy(p, &to).unwrap();
        paths.push(to.display().to_string());
    }
    let (r, out) = run(&with(&["determinism"], &paths));
    assert_eq!(r.unwrap(), Verdict::Found);
    let mut seen = 0;
    for line in out
        .lines()
        .filter(|l| l.starts_with('|') && l.contains("statement-minimal"))
    {
        let cell = line
            .split('|')
            .map(str::trim)
            .find(|c| c.contains("statement-minimal"))
            .unwrap();
        let (name, offset) = cell.rsplit_once(':').unwrap_or((cell, ""));
        assert!(
            name.ends_with("-server.000001") || name.ends_with("-server.000002"),
            "{line}"
        );
        assert!(
            !offset.is_empty() && offset.bytes().all(|b| b.is_ascii_digit()),
            "{line}"
        );
        seen += 1;
    }
    assert!(seen > 5, "{out}");
}

/// A native statement log with a damaged frame in the middle: the static
/// analysis noted the damage as a remark and went on (exit 0); the replicas
/// refused the log. Both are an error naming the offset `verify` reports,
/// and the checksum values are said once.
#[test]
fn damaged_statement_log_is_an_error_with_its_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(root().join("fixtures/native/statement/sample.replog")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    let damaged = tmp.path().join("damaged.replog");
    std::fs::write(&damaged, bytes).unwrap();
    let f = damaged.display().to_string();
    let (o, v) = json(&["verify", "--format", "json", &f]);
    assert_eq!(o, Verdict::Found);
    let offset = v["damage"][0]["offset"].as_u64().unwrap();
    for args in [
        vec!["determinism", f.as_str()],
        vec!["determinism", "--static", f.as_str()],
        vec!["determinism", "--static", "--format", "json", f.as_str()],
    ] {
        let e = error(&args);
        assert!(e.contains(&f), "{args:?}: {e}");
        assert!(e.contains(&format!("at offset {offset},")), "{args:?}: {e}");
        assert_eq!(e.matches("stored 0x").count(), 1, "{args:?}: {e}");
    }
}
