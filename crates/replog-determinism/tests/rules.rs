//! One test per rule, each with flagged and not-flagged counterparts.

use replog_determinism::{
    Analysis, ContextFlags, ContextItem, ReasonCode as C, SchemaTracker, Severity, StatementKind,
    analyze,
};

fn schema() -> SchemaTracker {
    let mut s = SchemaTracker::new();
    for sql in [
        "CREATE DATABASE d",
        "USE d",
        "CREATE TABLE plain (id INT NOT NULL PRIMARY KEY, grp CHAR(1) NOT NULL, n INT NOT NULL DEFAULT 0, price DECIMAL(10,2), f DOUBLE)",
        "CREATE TABLE auto (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, src INT, grp CHAR(1))",
        "CREATE TABLE two (id INT NOT NULL PRIMARY KEY, code VARCHAR(8) NOT NULL, hits INT NOT NULL DEFAULT 0, UNIQUE KEY uk (code))",
        "CREATE TABLE nullable_uk (a INT NULL, b INT, UNIQUE KEY (a))",
        "CREATE TABLE stamped (id INT PRIMARY KEY, v INT, created TIMESTAMP DEFAULT CURRENT_TIMESTAMP, changed TIMESTAMP NULL ON UPDATE CURRENT_TIMESTAMP)",
        "CREATE TABLE notfirst (g INT NOT NULL, id INT NOT NULL AUTO_INCREMENT, PRIMARY KEY (g, id), KEY (id))",
    ] {
        s.observe_sql(sql, None);
    }
    s
}

fn run(sql: &str, ctx: &ContextFlags) -> Analysis {
    analyze(sql, ctx, &schema()).unwrap_or_else(|e| panic!("{e}"))
}

fn raw(sql: &str) -> Analysis {
    run(sql, &ContextFlags::none())
}

fn full(sql: &str) -> Analysis {
    run(sql, &ContextFlags::all())
}

fn severity(a: &Analysis, code: C) -> Option<Severity> {
    a.find(code).map(|r| r.severity)
}

#[test]
fn system_functions_are_unsafe_regardless() {
    for (sql, f) in [
        (
            "INSERT INTO plain VALUES (1, 'a', 0, NULL, NULL) ON DUPLICATE KEY UPDATE grp = UUID()",
            "UUID()",
        ),
        ("UPDATE plain SET grp = LEFT(SYSDATE(6), 1)", "SYSDATE()"),
        ("UPDATE plain SET grp = USER()", "USER()"),
        ("UPDATE plain SET grp = CURRENT_USER", "CURRENT_USER()"),
        ("UPDATE plain SET n = FOUND_ROWS()", "FOUND_ROWS()"),
        (
            "DELETE FROM plain WHERE n IN (SELECT ROW_COUNT())",
            "ROW_COUNT()",
        ),
        (
            "UPDATE plain SET grp = CASE WHEN n > 0 THEN VERSION() ELSE 'x' END",
            "VERSION()",
        ),
    ] {
        let a = full(sql);
        let r = a
            .find(C::UnsafeSystemFunction)
            .unwrap_or_else(|| panic!("{sql}"));
        assert_eq!(r.severity, Severity::Unsafe, "{sql}");
        assert!(r.server_flags);
        assert_eq!(r.subject.as_deref(), Some(f));
        assert_eq!(r.mysql, Some("BINLOG_STMT_UNSAFE_SYSTEM_FUNCTION"));
        assert!(r.advice.contains("rows"));
        assert!(a.is_unsafe_regardless());
    }
    // Not flagged: ordinary functions.
    let a = raw("UPDATE plain SET grp = UPPER(LEFT(CONCAT('x', grp), 1))");
    assert!(!a.is_flagged(), "{a:?}");
}

#[test]
fn rand_needs_the_seed() {
    let a = raw("UPDATE plain SET f = RAND()");
    assert_eq!(
        severity(&a, C::NeedsRandSeed),
        Some(Severity::MissingContext)
    );
    assert_eq!(a.reasons[0].needs, Some(ContextItem::RandSeed));
    assert!(!a.server_flags());
    let seeded = ContextFlags {
        rand_seed: true,
        ..ContextFlags::none()
    };
    let a = run("UPDATE plain SET f = RAND()", &seeded);
    assert!(!a.is_flagged());
    assert_eq!(a.covered[0].code, C::NeedsRandSeed);
    // RAND(seed) is deterministic.
    assert!(!raw("UPDATE plain SET f = RAND(42)").is_flagged());
}

#[test]
fn time_functions_need_the_timestamp() {
    for sql in [
        "UPDATE plain SET grp = NOW()",
        "UPDATE plain SET grp = CURRENT_TIMESTAMP",
        "UPDATE plain SET grp = CURRENT_TIMESTAMP()",
        "UPDATE plain SET grp = CURDATE()",
        "UPDATE plain SET n = UNIX_TIMESTAMP()",
    ] {
        let a = raw(sql);
        assert_eq!(
            severity(&a, C::NeedsTimestamp),
            Some(Severity::MissingContext),
            "{sql}"
        );
        let ts = ContextFlags {
            timestamp: true,
            ..ContextFlags::none()
        };
        assert!(!run(sql, &ts).is_flagged(), "{sql}");
    }
    // UNIX_TIMESTAMP(expr) does not read the clock.
    assert!(!raw("UPDATE plain SET n = UNIX_TIMESTAMP('2024-01-01')").is_flagged());
    // NOW(6) needs microseconds: a binlog without Q_MICROSECONDS/Q_HRNOW
    // would not have them, a native timestamp always has them.
    let secs = ContextFlags {
        timestamp: true,
        ..ContextFlags::none()
    };
    assert!(run("UPDATE plain SET grp = NOW(6)", &secs).is_flagged());
    let micros = ContextFlags {
        timestamp: true,
        timestamp_micros: true,
        ..ContextFlags::none()
    };
    assert!(!run("UPDATE plain SET grp = NOW(6)", &micros).is_flagged());
}

#[test]
fn column_defaults_read_the_clock() {
    let a = raw("INSERT INTO stamped (id, v) VALUES (1, 1)");
    let r = a.find(C::NeedsTimestamp).unwrap();
    assert_eq!(r.subject.as_deref(), Some("stamped.created"));
    assert!(!raw("INSERT INTO stamped (id, v, created) VALUES (1, 1, '2024-01-01')").is_flagged());
    let a = raw("UPDATE stamped SET v = 2");
    assert_eq!(
        a.find(C::NeedsTimestamp).unwrap().subject.as_deref(),
        Some("stamped.changed")
    );
    assert!(!raw("UPDATE stamped SET v = 2, changed = '2024-01-01'").is_flagged());
    let a = raw("ALTER TABLE plain ADD COLUMN at DATETIME DEFAULT CURRENT_TIMESTAMP");
    assert_eq!(a.kind, StatementKind::Ddl);
    assert!(a.has(C::NeedsTimestamp));
}

#[test]
fn user_variables_need_their_values() {
    let a = raw("UPDATE plain SET n = @x WHERE id = @y");
    let subjects: Vec<_> = a
        .reasons
        .iter()
        .filter_map(|r| r.subject.as_deref())
        .collect();
    assert_eq!(subjects, ["@x", "@y"]);
    assert!(a.reasons.iter().all(|r| r.code == C::NeedsUserVariable));
    let mut only_x = ContextFlags::none();
    only_x.user_vars = Some(["x".to_string()].into());
    let a = run("UPDATE plain SET n = @x WHERE id = @y", &only_x);
    assert_eq!(a.reasons.len(), 1);
    assert_eq!(a.reasons[0].subject.as_deref(), Some("@y"));
    assert!(!full("UPDATE plain SET n = @x WHERE id = @y").is_flagged());
}

#[test]
fn last_insert_id_and_connection_id() {
    let a = raw("INSERT INTO plain (id, grp) VALUES (LAST_INSERT_ID(), 'a')");
    assert_eq!(
        severity(&a, C::NeedsLastInsertId),
        Some(Severity::MissingContext)
    );
    assert!(!raw("INSERT INTO plain (id, grp) VALUES (LAST_INSERT_ID(5), 'a')").is_flagged());
    let a = raw("INSERT INTO plain (id, grp) VALUES (CONNECTION_ID(), 'a')");
    assert_eq!(
        severity(&a, C::NeedsThreadId),
        Some(Severity::MissingContext)
    );
    let tid = ContextFlags {
        thread_id: true,
        ..ContextFlags::none()
    };
    assert!(
        !run(
            "INSERT INTO plain (id, grp) VALUES (CONNECTION_ID(), 'a')",
            &tid
        )
        .is_flagged()
    );
}

#[test]
fn auto_increment_needs_insert_id() {
    let a = raw("INSERT INTO auto (src) VALUES (1)");
    assert_eq!(
        severity(&a, C::NeedsInsertId),
        Some(Severity::MissingContext)
    );
    assert!(!a.has(C::NeedsAutoIncrementSettings)); // one row
    let a = raw("INSERT INTO auto (src) VALUES (1), (2)");
    assert!(a.has(C::NeedsInsertId) && a.has(C::NeedsAutoIncrementSettings));
    let a = raw("INSERT INTO auto (id, src) VALUES (NULL, 1)");
    assert!(a.has(C::NeedsInsertId));
    // Explicit ids generate nothing.
    assert!(!raw("INSERT INTO auto (id, src) VALUES (10, 1), (11, 2)").is_flagged());
    assert!(!raw("REPLACE INTO auto VALUES (10, 1, 'a')").is_flagged());
    let with_id = ContextFlags {
        insert_id: true,
        auto_increment: true,
        ..ContextFlags::none()
    };
    assert!(!run("INSERT INTO auto (src) VALUES (1), (2)", &with_id).is_flagged());
}

#[test]
fn autoinc_not_first_in_primary_key() {
    let a = full("INSERT INTO notfirst (g) VALUES (1)");
    assert_eq!(
        severity(&a, C::UnsafeAutoincNotFirst),
        Some(Severity::Unsafe)
    );
    assert!(!full("INSERT INTO auto (src) VALUES (1)").is_flagged());
}

#[test]
fn limit_with_and_without_a_key_order() {
    for sql in [
        "UPDATE plain SET n = 1 WHERE grp = 'a' LIMIT 2",
        "DELETE FROM plain WHERE grp = 'b' LIMIT 2",
        "UPDATE plain SET n = 1 ORDER BY grp LIMIT 1",
        "DELETE FROM nullable_uk ORDER BY a LIMIT 1",
        "DELETE FROM plain WHERE id IN (SELECT id FROM (SELECT id FROM plain LIMIT 1) x)",
    ] {
        let a = full(sql);
        assert_eq!(
            severity(&a, C::UnsafeLimit),
            Some(Severity::Unsafe),
            "{sql}"
        );
        assert!(a.server_flags());
    }
    for sql in [
        "UPDATE plain SET n = n + 10 ORDER BY id DESC LIMIT 1",
        "DELETE FROM plain ORDER BY plain.id LIMIT 3",
        "DELETE FROM two ORDER BY code LIMIT 1",
        "UPDATE plain p SET n = 0 ORDER BY p.id LIMIT 1",
    ] {
        let a = full(sql);
        // MariaDB flags every LIMIT; replog concludes deterministic.
        assert_eq!(
            severity(&a, C::UnsafeLimit),
            Some(Severity::ServerOnly),
            "{sql}"
        );
        assert!(
            a.server_flags() && a.is_flagged() && !a.is_unsafe(),
            "{sql}"
        );
    }
    assert!(!full("UPDATE plain SET n = 1 WHERE grp = 'a'").is_flagged());
    // A table the log never created: undecided, not a guess.
    let a = full("DELETE FROM elsewhere ORDER BY id LIMIT 1");
    assert_eq!(severity(&a, C::UnsafeLimit), Some(Severity::Undecided));
}

#[test]
fn insert_select_into_auto_increment() {
    let a = full("INSERT INTO auto (src, grp) SELECT id, grp FROM plain");
    assert_eq!(
        severity(&a, C::UnsafeWriteAutoincSelect),
        Some(Severity::Unsafe)
    );
    let a = full("INSERT INTO auto (src, grp) SELECT id, grp FROM plain ORDER BY id DESC");
    assert_eq!(
        severity(&a, C::UnsafeWriteAutoincSelect),
        Some(Severity::ServerOnly)
    );
    assert!(a.server_flags() && !a.is_unsafe());
    // Raw log: the generated ids also need INSERT_ID.
    let a = raw("INSERT INTO auto (src, grp) SELECT id, grp FROM plain ORDER BY id");
    assert!(a.has(C::NeedsInsertId) && a.has(C::NeedsAutoIncrementSettings));
    // No auto-increment column: nothing to flag.
    assert!(!full("INSERT INTO plain (id, grp) SELECT id, grp FROM two").is_flagged());
}

#[test]
fn insert_ignore_odku_replace_select() {
    let a = full("INSERT IGNORE INTO plain (id, grp) SELECT id, 'x' FROM two");
    assert_eq!(
        severity(&a, C::UnsafeInsertIgnoreSelect),
        Some(Severity::Unsafe)
    );
    let a = full("INSERT IGNORE INTO plain (id, grp) SELECT id, 'x' FROM two ORDER BY id");
    assert_eq!(
        severity(&a, C::UnsafeInsertIgnoreSelect),
        Some(Severity::ServerOnly)
    );
    let a = full(
        "INSERT INTO plain (id, grp) SELECT id, 'x' FROM two ON DUPLICATE KEY UPDATE n = n + 1",
    );
    assert_eq!(
        severity(&a, C::UnsafeInsertSelectUpdate),
        Some(Severity::Unsafe)
    );
    let a = full("REPLACE INTO plain (id, grp) SELECT id, 'x' FROM two");
    assert_eq!(severity(&a, C::UnsafeReplaceSelect), Some(Severity::Unsafe));
    let a = full("REPLACE INTO plain (id, grp) SELECT id, 'x' FROM two ORDER BY code");
    assert_eq!(
        severity(&a, C::UnsafeReplaceSelect),
        Some(Severity::ServerOnly)
    );
    assert!(!full("INSERT IGNORE INTO plain (id, grp) VALUES (1, 'a')").is_flagged());
}

#[test]
fn odku_on_one_or_two_unique_keys() {
    let a = full("INSERT INTO two VALUES (1, 'b', 0) ON DUPLICATE KEY UPDATE hits = hits + 1");
    let r = a.find(C::UnsafeInsertTwoKeys).unwrap();
    assert_eq!(r.severity, Severity::Unsafe);
    assert!(r.server_flags);
    assert_eq!(r.subject.as_deref(), Some("two"));
    let a = full(
        "INSERT INTO plain (id, grp) VALUES (1, 'a') ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
    );
    assert!(!a.is_flagged(), "{a:?}");
}

#[test]
fn update_ignore() {
    let a = full("UPDATE IGNORE two SET code = 'x' WHERE id > 1");
    assert_eq!(severity(&a, C::UnsafeUpdateIgnore), Some(Severity::Unsafe));
    let a = full("UPDATE IGNORE two SET code = 'x' ORDER BY id");
    assert_eq!(
        severity(&a, C::UnsafeUpdateIgnore),
        Some(Severity::ServerOnly)
    );
    assert!(!full("UPDATE two SET code = 'x' WHERE id > 1").is_flagged());
}

#[test]
fn system_variables() {
    let a = full("INSERT INTO plain (id, grp, n) VALUES (2, 'a', @@server_id)");
    let r = a.find(C::UnsafeSystemVariable).unwrap();
    assert_eq!(r.severity, Severity::Unsafe);
    assert_eq!(r.subject.as_deref(), Some("@@server_id"));
    let a = full("UPDATE plain SET grp = @@global.sql_mode");
    assert!(a.has(C::UnsafeSystemVariable));
    // Session variables the binlog carries: context-dependent.
    let a = raw("UPDATE plain SET grp = @@session.sql_mode");
    let r = a.find(C::NeedsSessionVariable).unwrap();
    assert_eq!(
        (r.severity, r.needs),
        (Severity::MissingContext, Some(ContextItem::SqlMode))
    );
    assert!(
        !full("UPDATE plain SET grp = @@sql_mode, n = @@auto_increment_increment").is_flagged()
    );
}

#[test]
fn skip_locked_nowait_and_system_tables() {
    let a = full(
        "INSERT INTO plain (id, grp) SELECT id, 'x' FROM two ORDER BY id FOR UPDATE SKIP LOCKED",
    );
    assert!(a.has(C::UnsafeSkipLocked));
    let a =
        full("INSERT INTO plain (id, grp) SELECT id, 'x' FROM two ORDER BY id FOR UPDATE NOWAIT");
    assert!(a.has(C::UnsafeNowait));
    let a =
        full("INSERT INTO plain (id, grp) SELECT thread_id, 'x' FROM performance_schema.threads");
    assert!(a.has(C::UnsafeSystemTable));
    assert!(!full("INSERT INTO plain (id, grp) SELECT id, 'x' FROM d.two").is_flagged());
}

#[test]
fn create_table_select_with_auto_increment() {
    let a = full(
        "CREATE TABLE copy (id INT AUTO_INCREMENT PRIMARY KEY, grp CHAR(1)) SELECT grp FROM plain",
    );
    assert_eq!(
        severity(&a, C::UnsafeCreateSelectAutoinc),
        Some(Severity::Unsafe)
    );
    let a = full(
        "CREATE TABLE copy (id INT AUTO_INCREMENT PRIMARY KEY, grp CHAR(1)) SELECT grp FROM plain ORDER BY id",
    );
    assert_eq!(
        severity(&a, C::UnsafeCreateSelectAutoinc),
        Some(Severity::ServerOnly)
    );
    let a = full("CREATE TABLE copy2 SELECT UUID() AS u");
    assert!(a.has(C::UnsafeSystemFunction));
    assert!(!full("CREATE TABLE copy3 SELECT id, grp FROM plain").is_flagged());
}

#[test]
fn float_computations_into_exact_columns() {
    // A C-library function's result rounded into DECIMAL or INT may differ
    // between platforms: reported, but not unsafe (no replica can show it).
    let a = full("UPDATE plain SET price = EXP(f) * 1.1");
    let r = a.find(C::ReplogFloatToExact).unwrap();
    assert_eq!(r.severity, Severity::Platform);
    assert!(!r.server_flags);
    assert_eq!(r.subject.as_deref(), Some("plain.price"));
    assert!(a.is_flagged() && !a.is_unsafe());
    let a = full("INSERT INTO plain (id, grp, n) VALUES (1, 'a', ROUND(EXP(2.5)))");
    assert_eq!(
        severity(&a, C::ReplogFloatToExact),
        Some(Severity::Platform)
    );
    // Issue 11 item 23: RAND(seed), SQRT and IEEE arithmetic are computed
    // alike by every server (MariaDB and a statement replica store the same
    // DECIMAL): not flagged.
    for sql in [
        "INSERT INTO plain (id, grp, price) VALUES (1, 'a', ROUND(RAND(7) * 100, 2))",
        "UPDATE plain SET price = f * 1.1",
        "UPDATE plain SET n = 1e0 / 3e0",
        "UPDATE plain SET price = SQRT(f) + 1",
    ] {
        assert!(!full(sql).has(C::ReplogFloatToExact), "{sql}");
    }
    // Float into a float column, exact arithmetic into DECIMAL, and a lone
    // float literal (parsed the same way everywhere) are fine.
    assert!(!full("UPDATE plain SET f = EXP(price)").is_flagged());
    assert!(!full("UPDATE plain SET price = price * 1.1").is_flagged());
    assert!(!full("UPDATE plain SET price = 1.5e0").is_flagged());
}

#[test]
fn session_and_ddl_statements_are_not_flagged() {
    for (sql, kind) in [
        ("SET @u = UUID()", StatementKind::Session),
        (
            "SELECT UUID(), NOW() FROM plain LIMIT 1",
            StatementKind::Session,
        ),
        ("BEGIN", StatementKind::Transaction),
        ("COMMIT", StatementKind::Transaction),
        ("CREATE TABLE z (id INT PRIMARY KEY)", StatementKind::Ddl),
        ("DROP TABLE plain", StatementKind::Ddl),
        ("TRUNCATE TABLE plain", StatementKind::Ddl),
    ] {
        let a = raw(sql);
        assert_eq!(a.kind, kind, "{sql}");
        assert!(!a.is_flagged(), "{sql}: {a:?}");
    }
}

#[test]
fn unparsable_sql_is_an_error_naming_the_statement() {
    let e = analyze(
        "INSERT INTO plain VALUES (1,",
        &ContextFlags::none(),
        &schema(),
    )
    .unwrap_err();
    assert!(e.statement.contains("INSERT INTO plain VALUES (1,"));
    let msg = e.to_string();
    assert!(
        msg.starts_with("cannot analyze statement `INSERT INTO plain VALUES (1,`"),
        "{msg}"
    );
    let e = analyze("FROBNICATE the database", &ContextFlags::none(), &schema()).unwrap_err();
    assert!(e.to_string().contains("FROBNICATE"));
}

#[test]
fn reasons_serialize_with_stable_codes() {
    let a = raw("UPDATE plain SET grp = UUID(), f = RAND() WHERE grp = 'a' LIMIT 1");
    let v = serde_json::to_value(&a).unwrap();
    let codes: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["UNSAFE_LIMIT", "UNSAFE_SYSTEM_FUNCTION", "NEEDS_RAND_SEED"]
    );
    assert_eq!(v["reasons"][0]["mysql"], "BINLOG_STMT_UNSAFE_LIMIT");
    assert_eq!(v["reasons"][2]["severity"], "missing_context");
    assert_eq!(v["reasons"][2]["needs"], "rand_seed");
    for c in replog_determinism::ReasonCode::ALL {
        assert_eq!(
            c.mysql_name().is_some(),
            c.as_str().starts_with("UNSAFE_"),
            "{c}"
        );
        assert_eq!(
            c.server_message().is_some(),
            c.mysql_name().is_some(),
            "{c}"
        );
    }
}
