//! Native statement logs: a raw log (no context) against the same log with
//! the context captured.

use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, LogKind};
use replog_determinism::{ReasonCode, Severity, analyze_statement_log};
use replog_statement::{Context, RandSeed, Statement};

const SQL: &[&str] = &[
    "CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, r DOUBLE, grp CHAR(1))",
    "INSERT INTO t (r, grp) VALUES (RAND(), 'a')",
    "DELETE FROM t WHERE grp = 'a' LIMIT 1",
    "INSERT INTO t (r, grp) VALUES (1, 'a'",
];

fn write_log(name: &str, with_context: bool) -> std::path::PathBuf {
    let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Statement)).unwrap();
    for (i, sql) in SQL.iter().enumerate() {
        let txid = i as u64 + 1;
        w.begin(&Begin {
            txid,
            timestamp_us: 0,
            server_id: 1,
            origin: "",
        })
        .unwrap();
        let mut ctx = Context {
            database: Some("d"),
            ..Context::default()
        };
        if with_context {
            ctx.rand_seed = Some(RandSeed { seed1: 1, seed2: 2 });
            ctx.insert_id = Some(1);
        }
        let mut body = Vec::new();
        Statement::new(sql)
            .with_context(ctx)
            .encode(&mut body)
            .unwrap();
        w.append(&body).unwrap();
        w.commit(&Commit {
            txid,
            timestamp_us: 0,
            state_before: None,
            state_after: None,
        })
        .unwrap();
    }
    let bytes = w.finish().unwrap();
    let path = std::env::temp_dir().join(format!(
        "replog-determinism-{}-{name}.replog",
        std::process::id()
    ));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn raw_and_captured_native_logs() {
    let raw = write_log("raw", false);
    let report = analyze_statement_log(std::slice::from_ref(&raw)).unwrap();
    std::fs::remove_file(&raw).unwrap();
    let ins = &report.statements[1];
    assert_eq!(ins.txid, Some(2));
    assert_eq!(ins.database.as_deref(), Some("d"));
    let codes: Vec<_> = ins.reasons.iter().map(|r| (r.code, r.severity)).collect();
    assert!(
        codes.contains(&(ReasonCode::NeedsRandSeed, Severity::MissingContext)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(ReasonCode::NeedsInsertId, Severity::MissingContext)),
        "{codes:?}"
    );
    assert!(report.statements[2].is_unsafe());
    // The unparsable statement is reported, not fatal.
    let bad = &report.statements[3];
    assert!(
        bad.error
            .as_deref()
            .is_some_and(|e| e.contains("INSERT INTO t (r, grp) VALUES (1, 'a'"))
    );
    assert_eq!(report.summary.not_analyzed, 1);
    assert_eq!(report.summary.missing_context, 1);
    assert_eq!(report.summary.transactions, 4);
    assert_eq!(report.summary.transactions_unsafe, 2);

    let full = write_log("full", true);
    let report = analyze_statement_log(std::slice::from_ref(&full)).unwrap();
    std::fs::remove_file(&full).unwrap();
    assert!(
        !report.statements[1].is_flagged(),
        "{:?}",
        report.statements[1].reasons
    );
    assert_eq!(report.statements[1].covered.len(), 2);
    assert!(report.statements[2].is_unsafe()); // LIMIT: unsafe regardless
}
