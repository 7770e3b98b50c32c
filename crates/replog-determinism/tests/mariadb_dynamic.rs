//! The dynamic measurement against MariaDB itself.
//!
//! `fixtures/mariadb/out/unsafe/statement/divergence.tsv` says which tables
//! really diverged when MariaDB's own STATEMENT binlog of
//! `fixtures/mariadb/workloads/unsafe.sql` was replayed into a fresh
//! follower. replog's replicas must agree with that for UUID(), SYSDATE(),
//! RAND() with and without a seed, NOW() with a captured timestamp and
//! LIMIT without ORDER BY; and the deterministic workloads must not diverge
//! at all.

use replog_test_support::mariadb::binlogs;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use replog_determinism::{DynamicOptions, DynamicRun, Report, analyze_binlog, run_dynamic};
use replog_store::VisitOrder;

fn measure(paths: &[PathBuf], opts: &DynamicOptions) -> (Report, DynamicRun) {
    let mut report = analyze_binlog(paths).unwrap();
    if opts.ignore_context {
        report = report.without_context();
    }
    let run = run_dynamic(paths, &report, opts).unwrap();
    (report, run)
}

/// MariaDB's verdict per table (`w_unsafe.t_uuid` → true).
fn mariadb_divergence() -> BTreeMap<String, bool> {
    let text = std::fs::read_to_string(
        replog_test_support::mariadb::run_dir("unsafe", "statement").join("divergence.tsv"),
    )
    .unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let (t, d) = l.split_once('\t')?;
            Some((t.to_string(), d == "yes"))
        })
        .collect()
}

/// Tables where replog's replicas disagree, by cause of their own.
fn diverged(run: &DynamicRun) -> BTreeSet<String> {
    run.divergences
        .iter()
        .filter(|d| !d.inherited)
        .filter_map(|d| d.table.clone())
        .collect()
}

#[test]
fn replicas_agree_with_mariadbs_own_replay() {
    let paths = binlogs("unsafe", "statement");
    let (report, run) = measure(&paths, &DynamicOptions::default());
    let truth = mariadb_divergence();
    let ours = diverged(&run);
    // UUID(), SYSDATE(): diverged in MariaDB, diverge on the replicas.
    // RAND() (seeded, and unseeded with the binlog's RAND event) and NOW()
    // with the binlog's timestamp: stable in both.
    for t in ["t_uuid", "t_sysdate", "t_rand", "t_now"] {
        let name = format!("w_unsafe.{t}");
        assert_eq!(
            ours.contains(&name),
            truth[&name],
            "{name}: replog {}, MariaDB {}",
            ours.contains(&name),
            truth[&name]
        );
    }
    // LIMIT without ORDER BY: MariaDB's follower visits rows in primary-key
    // order, like its leader, so t_limit did not diverge. replog's forward
    // replicas agree with that; exactly the reverse and shuffled ones
    // diverge.
    assert!(!truth["w_unsafe.t_limit"]);
    let limit: Vec<_> = run
        .divergences
        .iter()
        .filter(|d| d.table.as_deref() == Some("w_unsafe.t_limit"))
        .collect();
    assert!(!limit.is_empty());
    let differing: BTreeSet<usize> = limit.iter().flat_map(|d| d.replicas.clone()).collect();
    let not_forward: BTreeSet<usize> = run
        .replicas
        .iter()
        .filter(|r| r.visit_order != VisitOrder::Forward)
        .map(|r| r.index)
        .collect();
    assert_eq!(differing, not_forward, "{limit:#?}");
    assert!(
        run.replicas
            .iter()
            .any(|r| r.index > 0 && r.visit_order == VisitOrder::Forward),
        "a perturbed forward replica is compared too"
    );
    // The first LIMIT divergence is the statement MariaDB warned about.
    assert!(limit[0].sql.contains("LIMIT 2") && limit[0].flagged);
    // t_uvar_real diverged in MariaDB only because mariadb-binlog printed
    // the DOUBLE user variable as text with about 14 significant digits,
    // which the follower read back rounded. replog replays the binlog's
    // binary USER_VAR value, so its replicas agree (and agree with the
    // leader): a difference of the text route, not of statement
    // replication.
    assert!(truth["w_unsafe.t_uvar_real"]);
    assert!(!ours.contains("w_unsafe.t_uvar_real"));
    // Every other table MariaDB kept identical is identical for every
    // forward replica too.
    for (t, d) in &truth {
        if !d && t != "w_unsafe.t_limit" && t != "w_unsafe.t_copy" {
            assert!(!ours.contains(t), "{t}");
        }
    }
    for d in &run.divergences {
        if d.table.as_deref() == Some("w_unsafe.t_copy") {
            assert!(d.replicas.iter().all(|r| not_forward.contains(r)), "{d:?}");
        }
    }
    // Nothing diverged that the static analysis did not flag.
    assert_eq!(
        run.summary.diverged_not_flagged, 0,
        "{:#?}",
        run.divergences
    );
    assert!(run.summary.flagged_and_diverged >= 4);
    assert!(report.summary.unsafe_statements >= run.summary.flagged_and_diverged);
}

#[test]
fn without_the_binlogs_context_rand_and_now_diverge() {
    let paths = binlogs("unsafe", "statement");
    let with = diverged(&measure(&paths, &DynamicOptions::default()).1);
    let opts = DynamicOptions {
        ignore_context: true,
        ..DynamicOptions::default()
    };
    let (report, run) = measure(&paths, &opts);
    let without = diverged(&run);
    for t in ["w_unsafe.t_rand", "w_unsafe.t_now"] {
        assert!(!with.contains(t) && without.contains(t), "{t}: {without:?}");
    }
    // The auto-increment table: its LAST_INSERT_ID() and insert ids now
    // come from each replica's session.
    assert!(without.contains("w_unsafe.t_auto"), "{without:?}");
    assert!(with.is_subset(&without), "{with:?} {without:?}");
    assert!(report.context_ignored);
    assert_eq!(
        run.summary.diverged_not_flagged, 0,
        "{:#?}",
        run.divergences
    );
}

#[test]
fn deterministic_workloads_do_not_diverge() {
    for workload in ["types", "dml", "ddl", "txn"] {
        for format in ["statement", "mixed-full", "mixed-minimal"] {
            let paths = binlogs(workload, format);
            let (report, run) = measure(&paths, &DynamicOptions::default());
            assert!(
                run.divergences.is_empty(),
                "{workload}/{format}: {:#?}",
                run.divergences
            );
            assert_eq!(run.summary.transactions_failed, 0, "{workload}/{format}");
            assert!(run.summary.statements > 0, "{workload}/{format}");
            assert_eq!(
                run.summary.statements, report.summary.statements,
                "{workload}/{format}: every statement replayed"
            );
        }
    }
}

#[test]
fn mixed_binlogs_of_the_unsafe_workload_do_not_diverge() {
    // MIXED logs the unsafe statements as rows: nothing left to diverge.
    for format in ["mixed-full", "mixed-minimal"] {
        let paths = binlogs("unsafe", format);
        let (_, run) = measure(&paths, &DynamicOptions::default());
        assert!(
            run.divergences.is_empty(),
            "{format}: {:#?}",
            run.divergences
        );
        assert_eq!(run.summary.transactions_failed, 0);
        assert!(run.summary.transactions > 30);
    }
}
