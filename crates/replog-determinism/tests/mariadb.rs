//! Agreement with the MariaDB 10.11 oracle (`fixtures/mariadb`): replog
//! flags every statement MariaDB flagged with note 1592 in the STATEMENT
//! binlogs, predicts exactly MariaDB's set, and raises no "unsafe regardless"
//! alarm on the deterministic workloads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use replog_determinism::{
    LogSource, ReasonCode as C, Report, Severity, StatementPosition, analyze_binlog, analyze_paths,
    analyze_statement_log, render_table,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One line, single spaces, no trailing `;` (the binlog holds the text
/// without it, warnings.tsv with it).
fn normalize(sql: &str) -> String {
    let s = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    s.trim_end_matches(';').trim_end().to_string()
}

/// The statements MariaDB flagged with note 1592, with the message.
fn warned(workload: &str) -> Vec<(String, String)> {
    let path = root().join(format!(
        "fixtures/mariadb/out/{workload}/statement/warnings.tsv"
    ));
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.get(3) == Some(&"1592")).then(|| (normalize(f[5]), f[4].to_string()))
        })
        .collect()
}

fn binlog(workload: &str) -> Report {
    let p = root().join(format!(
        "fixtures/mariadb/out/{workload}/statement/mariadb-bin.000001"
    ));
    analyze_binlog(&[p]).unwrap()
}

/// The reason code replog maps a MariaDB 1592 message to.
fn code_for_message(msg: &str) -> C {
    [
        C::UnsafeSystemFunction,
        C::UnsafeSystemVariable,
        C::UnsafeLimit,
        C::UnsafeWriteAutoincSelect,
        C::UnsafeInsertTwoKeys,
    ]
    .into_iter()
    .find(|c| msg.contains(c.server_message().unwrap()))
    .unwrap_or_else(|| panic!("unexpected MariaDB message {msg}"))
}

#[test]
fn every_statement_mariadb_flagged_is_flagged() {
    for w in ["unsafe", "dml", "types", "ddl", "txn"] {
        let report = binlog(w);
        assert_eq!(report.source, LogSource::Binlog);
        assert_eq!(
            report.summary.not_analyzed,
            0,
            "{w}: {:#?}",
            report
                .statements
                .iter()
                .filter(|s| s.error.is_some())
                .collect::<Vec<_>>()
        );
        let warned = warned(w);
        for (sql, msg) in &warned {
            let st = report
                .statements
                .iter()
                .find(|s| normalize(&s.sql) == *sql)
                .unwrap_or_else(|| panic!("{w}: warned statement not in the binlog: {sql}"));
            assert!(
                st.is_flagged(),
                "{w}: MariaDB flagged, replog did not: {sql}"
            );
            assert!(
                st.server_flags(),
                "{w}: replog does not predict MariaDB's flag: {sql}"
            );
            let code = code_for_message(msg);
            let r = st
                .reasons
                .iter()
                .find(|r| r.code == code && r.server_flags)
                .unwrap_or_else(|| panic!("{w}: {sql}: expected {code}, got {:?}", st.reasons));
            assert!(msg.contains(r.code.server_message().unwrap()));
        }
        // Exact agreement: nothing else is predicted as flagged by MariaDB.
        let warned: BTreeSet<&str> = warned.iter().map(|(s, _)| s.as_str()).collect();
        for st in report.statements.iter().filter(|s| s.server_flags()) {
            assert!(
                warned.contains(normalize(&st.sql).as_str()),
                "{w}: replog predicts a MariaDB flag that MariaDB did not raise: {} {:?}",
                st.sql,
                st.reasons
            );
        }
        assert_eq!(report.summary.server_flagged as usize, warned.len(), "{w}");
    }
}

#[test]
fn unsafe_workload_details() {
    let report = binlog("unsafe");
    let find = |needle: &str| {
        report
            .statements
            .iter()
            .find(|s| normalize(&s.sql) == needle)
            .or_else(|| report.statements.iter().find(|s| s.sql.contains(needle)))
            .unwrap_or_else(|| panic!("{needle}"))
    };
    // Where replog and MariaDB differ: MariaDB flags LIMIT with ORDER BY id
    // and INSERT ... SELECT ... ORDER BY id (over the source's primary key);
    // replog reports the flag and concludes both are deterministic.
    for needle in [
        "UPDATE t_limit SET flag = flag + 10 ORDER BY id DESC LIMIT 1",
        "SELECT id, grp FROM t_limit ORDER BY id DESC",
    ] {
        let st = find(needle);
        assert!(
            st.server_flags() && !st.is_unsafe(),
            "{needle}: {:?}",
            st.reasons
        );
        assert!(
            st.reasons
                .iter()
                .all(|r| r.severity == Severity::ServerOnly)
        );
    }
    for needle in [
        "UUID()",
        "SYSDATE(6)",
        "WHERE grp = 'a' LIMIT 2",
        "WHERE grp = 'b' LIMIT 2",
        "INSERT INTO t_copy (src_id, grp) SELECT id, grp FROM t_limit",
        "INSERT INTO t_odku VALUES (1, 'b', 0) ON DUPLICATE KEY UPDATE hits = hits + 1",
        "USER()",
        "@@server_id",
    ] {
        let st = find(needle);
        assert!(st.is_unsafe(), "{needle}: {:?}", st.reasons);
    }
    // What MariaDB does not flag because the binlog captured the context:
    // replog agrees, and shows the captured context as covered.
    for (needle, code) in [
        ("VALUES (1, RAND())", C::NeedsRandSeed),
        ("VALUES (1, NOW(6), NOW())", C::NeedsTimestamp),
        ("VALUES (3, NOW(6), CURRENT_TIMESTAMP)", C::NeedsTimestamp),
        ("VALUES (1, @i, @s, @d)", C::NeedsUserVariable),
        ("(LAST_INSERT_ID(), 'ref-first')", C::NeedsLastInsertId),
        ("(CONNECTION_ID(), 'conn')", C::NeedsThreadId),
        (
            "INSERT INTO t_auto (src) VALUES ('first')",
            C::NeedsInsertId,
        ),
    ] {
        let st = find(needle);
        assert!(!st.is_flagged(), "{needle}: {:?}", st.reasons);
        assert!(
            st.covered.iter().any(|r| r.code == code),
            "{needle}: {:?}",
            st.covered
        );
    }
    // The INSERT_ID the binlog captured in Intvar events is visible.
    let st = find("INSERT INTO t_auto (src) VALUES ('first')");
    assert!(st.context.insert_id && st.context.complete);
    let st = find("VALUES (1, @i, @s, @d)");
    let vars: Vec<&str> = st
        .context
        .user_vars
        .as_ref()
        .unwrap()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(vars, ["d", "i", "s"]);
    // Positions and GTIDs.
    let st = find("UUID()");
    assert!(
        matches!(&st.position, StatementPosition::Binlog { file, offset } if file == "mariadb-bin.000001" && *offset > 4)
    );
    assert!(st.gtid.as_deref().is_some_and(|g| g.starts_with("0-1-")));
    // Divergence: the tables that really diverged on statement replay hold
    // statements replog calls unsafe regardless (t_uvar_real diverged only
    // through mariadb-binlog's text rendering of REAL user variables; see
    // fixtures/mariadb/README.md).
    let div = std::fs::read_to_string(
        root().join("fixtures/mariadb/out/unsafe/statement/divergence.tsv"),
    )
    .unwrap();
    for line in div.lines().skip(1) {
        let (table, diverged) = line.split_once('\t').unwrap();
        let t = table.trim_start_matches("w_unsafe.");
        if diverged == "yes" && t != "t_uvar_real" {
            assert!(
                report
                    .statements
                    .iter()
                    .any(|s| s.sql.contains(&format!("INTO {t} "))
                        && s.reasons.iter().any(|r| r.severity == Severity::Unsafe)),
                "{t} diverged but no statement writing it is unsafe"
            );
        }
    }
    let s = &report.summary;
    assert_eq!(s.server_flagged, 12);
    assert_eq!(s.server_only, 2);
    assert_eq!(s.unsafe_statements, 10);
    assert_eq!(s.missing_context, 0);
    assert!(s.transactions_flagged >= 10 && s.transactions >= s.transactions_flagged);
}

/// The deterministic workloads raise no "unsafe regardless" alarm. There is
/// no exception today; an exception must be listed here with its reason.
#[test]
fn deterministic_workloads_have_no_false_alarms() {
    const EXCEPTIONS: &[(&str, &str)] = &[];
    for w in ["types", "dml", "ddl", "txn"] {
        let report = binlog(w);
        assert!(report.summary.statements > 5, "{w}");
        for st in &report.statements {
            if EXCEPTIONS.iter().any(|(x, _)| st.sql.contains(x)) {
                continue;
            }
            assert!(
                !st.reasons.iter().any(|r| r.severity == Severity::Unsafe),
                "{w}: false alarm on {}: {:?}",
                st.sql,
                st.reasons
            );
            assert!(!st.is_flagged(), "{w}: {}: {:?}", st.sql, st.reasons);
        }
        assert_eq!(report.summary.flagged, 0, "{w}");
    }
    // dml generates auto-increment values: the Intvar events cover them.
    let report = binlog("dml");
    assert!(
        report
            .summary
            .covered_by_reason
            .get("NEEDS_INSERT_ID")
            .copied()
            .unwrap_or(0)
            >= 4
    );
}

#[test]
fn native_statement_log_sample() {
    let p = root().join("fixtures/native/statement/sample.replog");
    let report = analyze_statement_log(std::slice::from_ref(&p)).unwrap();
    assert_eq!(report.source, LogSource::StatementLog);
    let same = analyze_paths(&[p]).unwrap();
    assert_eq!(same.source, LogSource::StatementLog);
    assert!(report.summary.statements >= 4, "{:#?}", report.summary);
    assert_eq!(report.summary.not_analyzed, 0, "{:#?}", report.statements);
    for st in &report.statements {
        assert!(matches!(st.position, StatementPosition::Lsn { .. }));
        assert!(st.txid.is_some());
    }
    let json = serde_json::to_string_pretty(&report).unwrap();
    assert!(json.contains("\"summary\""));
    let mut out = Vec::new();
    render_table(&report, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("statements"), "{text}");
}

#[test]
fn dispatch_on_magic_and_render() {
    let p = root().join("fixtures/mariadb/out/unsafe/statement/mariadb-bin.000001");
    let report = analyze_paths(&[p]).unwrap();
    assert_eq!(report.source, LogSource::Binlog);
    let mut out = Vec::new();
    render_table(&report, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("UNSAFE_SYSTEM_FUNCTION (UUID())"), "{text}");
    assert!(text.contains("server-only"), "{text}");
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v["summary"]["by_reason"]["UNSAFE_INSERT_TWO_KEYS"], 3);
    assert_eq!(v["statements"][0]["position"]["kind"], "binlog");
}

#[test]
fn missing_files_are_errors() {
    let e = analyze_binlog(&[root().join("no/such/file")]).unwrap_err();
    assert!(e.to_string().contains("no/such/file"), "{e}");
    assert!(analyze_paths(&[]).is_err());
}
