//! The dynamic measurement on native statement logs recorded by the
//! reference store, on logs without any unsafe construct, and on logical
//! logs (which must replay identically everywhere).

use std::collections::BTreeSet;
use std::path::PathBuf;

use replog_core::LogKind;
use replog_core::writer::{LogWriter, WriterOptions};
use replog_determinism::{
    DynamicOptions, DynamicRun, Report, analyze_statement_log, replica_specs, run_dynamic,
    verify_logical,
};
use replog_store::logwrite::{LogicalEncoder, StatementEncoder, write_transaction};
use replog_store::{SimEnvironment, Store, VisitOrder};

/// Every unsafe construct the store can replay, one per table.
const UNSAFE: &str = "
    CREATE DATABASE d; USE d;
    CREATE TABLE t_uuid (id INT PRIMARY KEY, u VARCHAR(36));
    CREATE TABLE t_sysdate (id INT PRIMARY KEY, s DATETIME(6));
    CREATE TABLE t_now (id INT PRIMARY KEY, n DATETIME(6));
    CREATE TABLE t_rand (id INT PRIMARY KEY, r DOUBLE);
    CREATE TABLE t_limit (id INT PRIMARY KEY, grp CHAR(1), flag INT);
    CREATE TABLE t_auto (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
    CREATE TABLE t_copy (id INT AUTO_INCREMENT PRIMARY KEY, src INT);
    CREATE TABLE t_src (id INT PRIMARY KEY, grp CHAR(1));
    INSERT INTO t_src VALUES (1,'a'),(2,'b'),(3,'b'),(4,'b');
    INSERT INTO t_limit VALUES (1,'a',0),(2,'a',0),(3,'a',0),(4,'b',0),(5,'b',0),(6,'a',0);
    INSERT INTO t_uuid VALUES (1, UUID());
    INSERT INTO t_sysdate VALUES (1, SYSDATE(6));
    INSERT INTO t_now VALUES (1, NOW(6));
    INSERT INTO t_rand VALUES (1, RAND());
    INSERT INTO t_auto (v) VALUES (1), (2);
    UPDATE t_limit SET flag = 1 WHERE grp = 'a' LIMIT 2;
    INSERT INTO t_copy (src) SELECT id FROM t_src WHERE grp = 'b';
";

/// Nothing unsafe: keys, ordered LIMITs, captured time and seeds.
const SAFE: &str = "
    CREATE DATABASE d; USE d;
    CREATE TABLE a (id INT AUTO_INCREMENT PRIMARY KEY, v INT, r DOUBLE, t DATETIME);
    CREATE TABLE b (id INT PRIMARY KEY, name VARCHAR(20));
    INSERT INTO a (v, r, t) VALUES (1, RAND(7), '2024-01-01 00:00:00');
    INSERT INTO a (v, r, t) VALUES (2, 0.5, NOW());
    INSERT INTO b VALUES (1, 'x'), (2, 'y'), (3, 'z');
    UPDATE b SET name = 'w' WHERE id = 2;
    DELETE FROM b ORDER BY id LIMIT 1;
    UPDATE a SET v = v + 1;
    INSERT INTO b SELECT id + 10, 'copy' FROM a ORDER BY id;
    BEGIN; INSERT INTO b VALUES (20, 'p'); UPDATE a SET v = 0 WHERE id = 1; COMMIT;
";

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "replog-determinism-dyn-{}-{name}.replog",
        std::process::id()
    ))
}

/// Runs `sql` on a leader and writes its statement (or logical) log.
fn record(sql: &str, kind: LogKind, name: &str) -> PathBuf {
    let mut leader = Store::new(SimEnvironment::default());
    leader.execute_script(sql).unwrap();
    let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(kind)).unwrap();
    let mut st = StatementEncoder::new(1);
    let mut lg = LogicalEncoder::new(1);
    for tx in leader.committed() {
        let enc = match kind {
            LogKind::Logical => lg.encode(tx, None).unwrap(),
            _ => st.encode(tx).unwrap(),
        };
        write_transaction(&mut w, &enc).unwrap();
    }
    let path = temp(name);
    std::fs::write(&path, w.finish().unwrap()).unwrap();
    path
}

fn measure(path: &PathBuf, opts: &DynamicOptions) -> (Report, DynamicRun) {
    let mut report = analyze_statement_log(std::slice::from_ref(path)).unwrap();
    if opts.ignore_context {
        report = report.without_context();
    }
    let run = run_dynamic(std::slice::from_ref(path), &report, opts).unwrap();
    (report, run)
}

/// Tables with a divergence of their own (not inherited).
fn diverged_tables(run: &DynamicRun) -> BTreeSet<String> {
    run.divergences
        .iter()
        .filter(|d| !d.inherited)
        .filter_map(|d| d.table.clone())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn each_unsafe_construct_diverges_and_captured_context_holds() {
    let path = record(UNSAFE, LogKind::Statement, "unsafe");
    let (report, run) = measure(&path, &DynamicOptions::default());
    assert_eq!(
        diverged_tables(&run),
        set(&["d.t_uuid", "d.t_sysdate", "d.t_limit", "d.t_copy"]),
        "{:#?}",
        run.divergences
    );
    let s = &run.summary;
    assert_eq!(s.replicas, 5);
    assert_eq!(s.diverged_not_flagged, 0, "{:#?}", run.divergences);
    assert_eq!(s.transactions, report.summary.transactions);
    assert!(s.transactions_identical > 0 && s.transactions_diverged > 0);
    assert!(s.identical_share > 0.0 && s.identical_share < 1.0);
    // The first divergence is the UUID() insert, reported with each
    // replica's value of row id=1.
    let uuid = &run.divergences[0];
    assert_eq!(uuid.table.as_deref(), Some("d.t_uuid"));
    assert!(uuid.sql.contains("UUID()"));
    assert!(uuid.flagged);
    assert_eq!(uuid.rows[0].key, "id=1");
    assert_eq!(uuid.rows[0].values.len(), 5);
    let values: BTreeSet<&String> = uuid.rows[0].values.iter().collect();
    assert_eq!(values.len(), 5, "every replica has its own UUID");
    assert_eq!(s.first_divergence.as_ref(), Some(&uuid.position));
    // The statements' verdicts are attached by index.
    let i = uuid.statement_index.unwrap();
    assert!(report.statements[i].sql.contains("UUID()"));
    assert_eq!(run.statement_diverged[i], Some(true));
    // LIMIT without ORDER BY: the forward replica (3) agrees with the
    // ordinary follower (0); reverse and shuffled ones do not.
    let specs = replica_specs(5, run.summary.seed);
    for d in run
        .divergences
        .iter()
        .filter(|d| d.table.as_deref() == Some("d.t_limit"))
    {
        for r in &d.replicas {
            assert_ne!(specs[*r].visit_order, VisitOrder::Forward, "{d:?}");
        }
    }
    // Replica 0 is the follower a statement log gets: it differs from the
    // leader only where UUID()/SYSDATE() differ.
    assert!(s.leader_mismatches > 0);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn ignoring_the_context_makes_now_and_rand_diverge() {
    let path = record(UNSAFE, LogKind::Statement, "unsafe-bare");
    let opts = DynamicOptions {
        ignore_context: true,
        ..DynamicOptions::default()
    };
    let (report, run) = measure(&path, &opts);
    let tables = diverged_tables(&run);
    for t in [
        "d.t_uuid",
        "d.t_sysdate",
        "d.t_limit",
        "d.t_now",
        "d.t_rand",
    ] {
        assert!(tables.contains(t), "{t}: {tables:?}");
    }
    assert!(run.summary.ignore_context);
    // The static analysis without context flags NOW() and RAND() too.
    assert!(report.context_ignored);
    assert_eq!(
        run.summary.diverged_not_flagged, 0,
        "{:#?}",
        run.divergences
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_safe_log_replays_identically_and_reaches_the_leader() {
    let path = record(SAFE, LogKind::Statement, "safe");
    for ignore_context in [false, true] {
        let opts = DynamicOptions {
            ignore_context,
            replicas: 6,
            ..DynamicOptions::default()
        };
        let (report, run) = measure(&path, &opts);
        if !ignore_context {
            assert!(!run.diverged(), "{:#?}", run.divergences);
            assert_eq!(
                run.summary.leader_mismatches, 0,
                "{:?}",
                run.leader_mismatches
            );
            assert_eq!(run.summary.transactions_identical, run.summary.transactions);
            assert_eq!(run.summary.identical_share, 1.0);
            assert_eq!(run.summary.first_divergence, None);
            assert!(
                run.statement_diverged.iter().all(|d| *d == Some(false)),
                "{:?}",
                run.statement_diverged
            );
            let unsafe_sql: Vec<_> = report
                .statements
                .iter()
                .filter(|s| s.is_unsafe())
                .map(|s| (&s.sql, &s.reasons))
                .collect();
            assert_eq!(report.summary.unsafe_statements, 0, "{unsafe_sql:#?}");
        } else {
            // NOW() now comes from each replica's own clock.
            let tables = diverged_tables(&run);
            assert_eq!(tables, set(&["d.a"]), "{:#?}", run.divergences);
            assert_eq!(run.summary.diverged_not_flagged, 0);
        }
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn the_seed_reproduces_the_run() {
    let path = record(UNSAFE, LogKind::Statement, "seed");
    let opts = DynamicOptions {
        seed: 99,
        ..DynamicOptions::default()
    };
    let json = |r: &DynamicRun| serde_json::to_string(r).unwrap();
    let (_, a) = measure(&path, &opts);
    let (_, b) = measure(&path, &opts);
    assert_eq!(json(&a), json(&b));
    assert_eq!(a.summary.seed, 99);
    let (_, c) = measure(&path, &DynamicOptions { seed: 100, ..opts });
    assert_ne!(json(&a), json(&c), "another seed, other UUIDs and clocks");
    // One replica replays but has nothing to compare with.
    let (_, one) = measure(
        &path,
        &DynamicOptions {
            replicas: 1,
            ..DynamicOptions::default()
        },
    );
    assert!(one.divergences.is_empty());
    assert_eq!(one.summary.transactions, a.summary.transactions);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn the_native_sample_does_not_diverge() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/native/statement/sample.replog");
    let (_, run) = measure(&path, &DynamicOptions::default());
    assert!(run.divergences.is_empty(), "{:#?}", run.divergences);
    assert!(run.summary.transactions > 0);
}

#[test]
fn logical_logs_replay_identically_on_every_replica() {
    let path = record(UNSAFE, LogKind::Logical, "logical");
    let check = verify_logical(std::slice::from_ref(&path), 5, 7).unwrap();
    assert!(
        check.clean(),
        "{:?} {:?}",
        check.defects,
        check.log_problems
    );
    assert_eq!(check.results.len(), 5);
    assert!(check.results.iter().all(|r| r.transactions > 10));
    assert!(
        check
            .results
            .iter()
            .all(|r| r.states_checked == r.transactions)
    );
    assert!(check.results[0].tables.contains_key("d.t_uuid"));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_logical_log_that_fails_alike_everywhere_is_a_log_problem() {
    // The format sample's tables live in a database it never creates: every
    // replica fails the same way, which is the log's problem, not a
    // difference between replicas.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/native/logical/sample.replog");
    let check = verify_logical(std::slice::from_ref(&path), 3, 1).unwrap();
    assert!(!check.clean());
    assert!(check.defects.is_empty(), "{:?}", check.defects);
    assert!(
        check
            .log_problems
            .iter()
            .any(|p| p.contains("Unknown database")),
        "{:?}",
        check.log_problems
    );
}

#[test]
fn the_table_shows_divergences_and_shouts_about_unflagged_ones() {
    let path = record(UNSAFE, LogKind::Statement, "render");
    let (mut report, run) = measure(&path, &DynamicOptions::default());
    report.attach_dynamic(run.clone(), false);
    let mut out = Vec::new();
    replog_determinism::render_table(&report, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("divergences:"), "{text}");
    assert!(text.contains("d.t_uuid"), "{text}");
    assert!(text.contains("DIVERGED"), "{text}");
    assert!(!text.contains("BUG:"), "{text}");
    // A run in which a statement the analysis found safe diverged.
    let mut bad = run;
    bad.summary.diverged_not_flagged = 2;
    report.attach_dynamic(bad, false);
    let mut out = Vec::new();
    replog_determinism::render_table(&report, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("BUG: 2 statement(s) diverged"), "{text}");
    std::fs::remove_file(&path).unwrap();
}

/// Issue 11 item 26: the replicas' progress is reported to the caller
/// (the command shows it on a terminal), up to every transaction compared.
#[test]
fn the_replay_reports_its_progress() {
    let path = record(SAFE, LogKind::Statement, "progress");
    let mut seen = Vec::new();
    let raw = replog_determinism::replay_on_replicas_reporting(
        std::slice::from_ref(&path),
        replog_determinism::LogSource::StatementLog,
        &DynamicOptions::default(),
        &mut |n| seen.push(n),
    )
    .unwrap();
    let report = replog_determinism::analyze_statement_log(std::slice::from_ref(&path)).unwrap();
    let run = raw.finish(&report);
    assert!(!seen.is_empty());
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(seen.last().copied(), Some(run.summary.transactions));
    std::fs::remove_file(&path).unwrap();
}
