//! Transactions, atomicity, capture, apply conflicts, unsupported constructs.

use proptest::prelude::*;
use replog_store::{ErrorKind, RowChange, SimEnvironment, Store};

fn store() -> Store {
    let mut s = Store::new(SimEnvironment::default());
    s.execute_script(
        "CREATE DATABASE d; USE d;
         CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(8) NOT NULL, n DECIMAL(5,2) NULL, UNIQUE KEY uv (v));",
    )
    .unwrap();
    s
}

#[test]
fn rollback_restores_rows_and_digest_but_not_auto_increment() {
    let mut s = store();
    s.execute("INSERT INTO t (v) VALUES ('a')").unwrap();
    let d = s.digest();
    let before = s.dump_table("d", "t").unwrap();
    s.execute_script("BEGIN; INSERT INTO t (v) VALUES ('b'); UPDATE t SET v = 'z' WHERE id = 1; DELETE FROM t WHERE id = 2; ROLLBACK;")
        .unwrap();
    assert_eq!(s.digest(), d);
    assert_eq!(s.dump_table("d", "t").unwrap(), before);
    s.execute("INSERT INTO t (v) VALUES ('c')").unwrap();
    assert_eq!(s.dump_table("d", "t").unwrap(), "1\ta\tNULL\n3\tc\tNULL\n");
    // The rolled-back transaction left nothing in the capture.
    assert!(
        s.committed()
            .iter()
            .all(|t| t.statements.iter().all(|st| !st.sql.contains("'b'")))
    );
}

#[test]
fn failing_statement_leaves_nothing_of_itself() {
    let mut s = store();
    s.execute("INSERT INTO t (v) VALUES ('a')").unwrap();
    let n = s.committed().len();
    let e = s
        .execute("INSERT INTO t (v) VALUES ('b'), ('c'), ('a')")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DuplicateKey);
    assert_eq!(e.mysql_code(), Some(1062));
    assert_eq!(s.dump_table("d", "t").unwrap(), "1\ta\tNULL\n");
    assert_eq!(s.committed().len(), n);
    // Inside a transaction the earlier statements survive.
    s.execute("BEGIN").unwrap();
    s.execute("INSERT INTO t (v) VALUES ('x')").unwrap();
    assert!(
        s.execute("INSERT INTO t (v, n) VALUES ('y', 1), ('w', 1000)")
            .is_err()
    );
    s.execute("COMMIT").unwrap();
    let dump = s.dump_table("d", "t").unwrap();
    assert!(dump.contains("\tx\t") && !dump.contains("\ty\t"), "{dump}");
}

#[test]
fn strict_mode_errors() {
    let mut s = store();
    let k = |s: &mut Store, q: &str| s.execute(q).unwrap_err().kind();
    assert_eq!(
        k(&mut s, "INSERT INTO t (v, n) VALUES ('a', 1000.00)"),
        ErrorKind::OutOfRange
    );
    assert_eq!(
        k(&mut s, "INSERT INTO t (v) VALUES ('123456789')"),
        ErrorKind::OutOfRange
    );
    assert_eq!(
        k(&mut s, "INSERT INTO t (v) VALUES (NULL)"),
        ErrorKind::NotNull
    );
    assert_eq!(
        k(&mut s, "INSERT INTO t (n) VALUES (1)"),
        ErrorKind::NotNull
    );
    assert_eq!(
        k(&mut s, "INSERT INTO t (nope) VALUES (1)"),
        ErrorKind::UnknownColumn
    );
    assert_eq!(
        k(&mut s, "INSERT INTO nope VALUES (1)"),
        ErrorKind::UnknownTable
    );
    assert_eq!(
        k(&mut s, "INSERT INTO t (v) VALUES ('a', 'b')"),
        ErrorKind::ColumnCount
    );
    assert_eq!(
        k(&mut s, "INSERT INTO t (v, n) VALUES ('dz', 1 / 0)"),
        ErrorKind::DivisionByZero
    );
    assert_eq!(
        s.query("SELECT 1 / 0").unwrap().rows[0][0],
        replog_store::Datum::Null
    );
    s.execute("CREATE TABLE i (id TINYINT PRIMARY KEY)")
        .unwrap();
    assert_eq!(
        k(&mut s, "INSERT INTO i VALUES (128)"),
        ErrorKind::OutOfRange
    );
    assert_eq!(
        k(&mut s, "INSERT INTO i VALUES (9223372036854775807 + 1)"),
        ErrorKind::OutOfRange
    );
    // Decimal rounding on store is half away from zero.
    s.execute("INSERT INTO t (v, n) VALUES ('r1', 1.005), ('r2', -1.005), ('r3', 2.5e0)")
        .unwrap();
    let dump = s.dump_table("d", "t").unwrap();
    assert!(
        dump.contains("r1\t1.01") && dump.contains("r2\t-1.01") && dump.contains("r3\t2.50"),
        "{dump}"
    );
    // Case-insensitive comparison and unique keys under the default collation.
    assert_eq!(
        k(&mut s, "INSERT INTO t (v) VALUES ('R1')"),
        ErrorKind::DuplicateKey
    );
    assert_eq!(
        s.query("SELECT id FROM t WHERE v = 'R2'")
            .unwrap()
            .rows
            .len(),
        1
    );
}

#[test]
fn unsupported_constructs_are_clear_errors() {
    let mut s = store();
    s.execute("INSERT INTO t (v) VALUES ('a')").unwrap();
    for (q, what) in [
        ("SELECT v, NTILE(2) OVER (ORDER BY id) FROM t", "NTILE"),
        (
            "SELECT v, SUM(n) OVER (ORDER BY id ROWS 1 PRECEDING) FROM t",
            "window frame",
        ),
        (
            "SELECT v, COUNT(*) OVER w FROM t WINDOW w AS (ORDER BY id)",
            "named windows",
        ),
        (
            "CREATE TABLE cb (id INT PRIMARY KEY, v VARCHAR(5) COLLATE utf8mb4_bin)",
            "utf8mb4_bin",
        ),
        ("CREATE VIEW w AS SELECT 1", "CREATE VIEW"),
        ("CREATE TABLE g (id INT PRIMARY KEY, p POINT)", "POINT"),
        (
            "UPDATE t SET v = (SELECT MAX(u.v) FROM t AS u WHERE u.id < t.id) ORDER BY id LIMIT 1",
            "correlated",
        ),
        ("INSERT INTO t SET v = 'a'", "INSERT variant"),
        ("SELECT @@no_such_variable", "no_such_variable"),
    ] {
        let e = s.execute(q).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Unsupported), "{q}: {e:?}");
        let text = e.to_string();
        assert!(
            text.contains("unsupported") && text.contains(what),
            "{text}"
        );
    }
    assert_eq!(s.execute("SELEC 1").unwrap_err().kind(), ErrorKind::Parse);
    // Non-strict sql_mode: a value strict mode refuses is refused as
    // unsupported (MariaDB would store it adjusted), not as MariaDB's error.
    s.execute("CREATE TABLE short (id INT PRIMARY KEY, v VARCHAR(3))")
        .unwrap();
    let e = s
        .execute("INSERT INTO short VALUES (1, 'abcdef')")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfRange, "{e}");
    s.execute("SET SESSION sql_mode = ''").unwrap();
    let e = s
        .execute("INSERT INTO short VALUES (1, 'abcdef')")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("non-strict sql_mode"), "{e}");
    s.execute("INSERT INTO short VALUES (2, 'abc')").unwrap();
    s.execute("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE'")
        .unwrap();
    let e = s
        .execute("INSERT INTO short VALUES (3, 'abcdef')")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfRange, "{e}");
}

#[test]
fn unknown_session_settings_warn() {
    let mut s = store();
    let o = s.execute("SET sql_log_bin = 0").unwrap();
    assert_eq!(o.warnings.len(), 1);
    s.execute("SET NAMES utf8mb4").unwrap();
}

#[test]
fn capture_carries_statement_context() {
    let mut s = store();
    s.execute_script(
        "SET TIMESTAMP = 1700000000.5; SET @x = 'q';
         INSERT INTO t (v) VALUES (@x);
         INSERT INTO t (v, n) VALUES (CONCAT('r', LAST_INSERT_ID()), RAND());
         SET INSERT_ID = 50; INSERT INTO t (v) VALUES ('s');
         INSERT INTO t (v) VALUES (UUID()), (SUBSTRING(SYSDATE(), 1, 4));",
    )
    .err();
    let txs = s.committed();
    let stmts: Vec<_> = txs
        .iter()
        .flat_map(|t| &t.statements)
        .filter(|st| !st.is_ddl)
        .collect();
    let c0 = &stmts[0].context;
    assert_eq!(c0.timestamp_us, 1_700_000_000_500_000);
    assert_eq!(c0.database.as_deref(), Some("d"));
    assert_eq!(c0.insert_id, Some(1));
    assert_eq!(c0.user_vars.len(), 1);
    let c1 = &stmts[1].context;
    assert_eq!(c1.last_insert_id, Some(1));
    assert!(c1.rand_seed.is_some());
    assert_eq!(c1.insert_id, Some(2));
    assert_eq!(stmts[2].context.insert_id, Some(50));
    assert!(matches!(stmts[0].changes[0], RowChange::Insert { .. }));
}

#[test]
fn logical_apply_detects_conflicts() {
    let mut leader = store();
    leader.execute_script("INSERT INTO t (v) VALUES ('a'), ('b'); UPDATE t SET n = 1 WHERE v = 'a'; DELETE FROM t WHERE v = 'b';").unwrap();
    let txs = leader.committed().to_vec();
    let mut f = Store::new(SimEnvironment::default());
    for tx in &txs[..txs.len() - 2] {
        f.apply_transaction(tx).unwrap();
    }
    // Make the follower diverge, then the update must not apply.
    f.execute("UPDATE d.t SET n = 5 WHERE id = 1").unwrap();
    let d = f.digest();
    let e = f.apply_transaction(&txs[txs.len() - 2]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert!(e.to_string().contains("before-image mismatch"), "{e}");
    assert_eq!(f.digest(), d);
    // Re-applying an insert is a duplicate key.
    let e = f.apply_transaction(&txs[txs.len() - 3]).unwrap_err();
    assert!(e.to_string().contains("duplicate key"), "{e}");
    f.execute("DELETE FROM d.t WHERE id = 2").unwrap();
    let e = f.apply_transaction(&txs[txs.len() - 1]).unwrap_err();
    assert!(e.to_string().contains("missing row"), "{e}");
}

#[test]
fn now_is_fixed_per_statement_sysdate_is_not() {
    let mut s = Store::new(SimEnvironment::default().with_tick(1000));
    let r = s
        .query("SELECT NOW(6), NOW(6), SYSDATE(6), SYSDATE(6)")
        .unwrap();
    let row = &r.rows[0];
    assert_eq!(row[0], row[1]);
    assert_ne!(row[2], row[3]);
}

#[test]
fn digest_is_order_independent() {
    let mut a = store();
    let mut b = store();
    a.execute("INSERT INTO t (id, v) VALUES (1, 'a'), (2, 'b')")
        .unwrap();
    b.execute("INSERT INTO t (id, v) VALUES (2, 'b')").unwrap();
    b.execute("INSERT INTO t (id, v) VALUES (1, 'a')").unwrap();
    assert_eq!(a.digest(), b.digest());
    b.execute("UPDATE t SET v = 'c' WHERE id = 1").unwrap();
    assert_ne!(a.digest(), b.digest());
    b.execute("UPDATE t SET v = 'a' WHERE id = 1").unwrap();
    assert_eq!(a.digest(), b.digest());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Arbitrary text never panics the store.
    #[test]
    fn never_panics(sql in "\\PC{0,80}") {
        let mut s = store();
        let _ = s.execute_script(&sql);
        let _ = s.execute(&sql);
    }

    /// Statements assembled from SQL fragments never panic either.
    #[test]
    fn fragments_never_panic(parts in proptest::collection::vec(prop_oneof![
        Just("INSERT INTO t (v, n) VALUES "), Just("('a', 1)"), Just("(NULL, -1e308)"), Just(", "),
        Just("UPDATE t SET n = n * 99999 "), Just("WHERE "), Just("v LIKE '%_' "), Just("ORDER BY id DESC "),
        Just("LIMIT 1"), Just("DELETE FROM t "), Just("SELECT ROUND(n, -70), SUBSTRING(v, -5, 2) FROM t"),
        Just("CAST(1 AS CHAR)"), Just("18446744073709551615 + 1"), Just("-9223372036854775808 DIV -1"),
        Just("REPEAT('x', 99999999999)"), Just("'2024-02-30'"), Just("x'ff'"), Just(";"),
    ], 0..12)) {
        let mut s = store();
        let sql: String = parts.concat();
        let _ = s.execute_script(&sql);
    }
}

/// A statement transaction holding a trigger's DDL among DML: refused by
/// name and statement number (nothing applied), or, skipping, applied
/// without it and the skipped statement returned.
#[test]
fn unsupported_ddl_in_a_replayed_transaction_is_named_or_skipped() {
    let mut leader = store();
    leader
        .execute_script(
            "BEGIN; INSERT INTO t (v) VALUES ('a'); INSERT INTO t (v) VALUES ('b'); COMMIT;",
        )
        .unwrap();
    let mut tx = leader.committed().last().unwrap().clone();
    let mut trigger = tx.statements[0].clone();
    trigger.sql = "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW SET @x = 1".into();
    tx.statements.insert(1, trigger);

    let mut f = store();
    let e = f.replay_transaction(&tx).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(
        e.message() == "unsupported: CREATE TRIGGER at statement 2",
        "{e}"
    );
    assert_eq!(f.dump_table("d", "t").unwrap(), "");

    let skipped = f.replay_transaction_skipping(&tx, true).unwrap();
    assert_eq!(
        skipped.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["CREATE TRIGGER"]
    );
    assert_eq!(f.dump_table("d", "t").unwrap(), "1\ta\tNULL\n2\tb\tNULL\n");
    assert_eq!(f.digest(), leader.digest());
}

/// A table without a primary key keeps identical rows (MariaDB does);
/// statements see every copy; a logical follower applies a change to one
/// copy of the row its full before-image names, and a before-image no
/// row matches is a conflict.
#[test]
fn tables_without_a_primary_key_keep_duplicates() {
    let mut s = Store::new(SimEnvironment::default());
    s.execute_script(
        "CREATE DATABASE d; USE d;
         CREATE TABLE k (a INT, b VARCHAR(5));
         INSERT INTO k VALUES (1, 'x'), (1, 'x'), (2, 'y'), (1, 'Q'), (3, 'a'), (3, 'A');",
    )
    .unwrap();
    // Ordered by every column; 'a' and 'A' are different rows.
    assert_eq!(
        s.dump_table("d", "k").unwrap(),
        "1\tQ\n1\tx\n1\tx\n2\ty\n3\tA\n3\ta\n"
    );
    let r = s
        .execute("UPDATE k SET b = 'z' WHERE b = 'x' LIMIT 1")
        .unwrap();
    assert_eq!(r.affected_rows, 1);
    assert_eq!(
        s.execute("DELETE FROM k WHERE a = 3")
            .unwrap()
            .affected_rows,
        2
    );
    assert_eq!(s.dump_table("d", "k").unwrap(), "1\tQ\n1\tx\n1\tz\n2\ty\n");
    assert_eq!(
        s.execute("DELETE FROM k WHERE a = 1")
            .unwrap()
            .affected_rows,
        3
    );
    s.execute("INSERT INTO k SELECT * FROM k").unwrap();
    assert_eq!(s.dump_table("d", "k").unwrap(), "2\ty\n2\ty\n");

    let mut f = Store::new(SimEnvironment::default());
    for tx in s.committed() {
        f.apply_transaction(tx).unwrap();
    }
    assert_eq!(f.dump_table("d", "k").unwrap(), "2\ty\n2\ty\n");
    assert_eq!(f.digest(), s.digest());
    // A before-image no row matches.
    let t = std::sync::Arc::new(f.table_def("d", "k").unwrap().clone());
    let gone = RowChange::Delete {
        table: t,
        before: vec![
            replog_core::Value::Int(9),
            replog_core::Value::Text("q".into()),
        ],
    };
    let c = f
        .apply_row_change(&gone, replog_store::ConflictPolicy::Skip)
        .unwrap()
        .unwrap();
    assert_eq!(c.kind, replog_store::ConflictKind::MissingRow);
    assert!(c.key.contains("a=9"), "{c:?}");
}

/// ROLLBACK TO SAVEPOINT undoes the rows after it and drops their
/// statements from the captured transaction, so both followers reach the
/// leader's state; RENAME TABLE and DROP DATABASE replay too.
#[test]
fn savepoints_renames_and_dropped_databases_replay() {
    let mut leader = store();
    leader
        .execute_script(
            "BEGIN; INSERT INTO t (v) VALUES ('a'); SAVEPOINT s1;
             INSERT INTO t (v) VALUES ('b'); SAVEPOINT s2; UPDATE t SET n = 1;
             ROLLBACK TO SAVEPOINT s1; INSERT INTO t (v) VALUES ('c'); RELEASE SAVEPOINT s1;
             COMMIT;
             CREATE DATABASE e; CREATE TABLE e.x (id INT PRIMARY KEY);
             INSERT INTO e.x VALUES (1); RENAME TABLE e.x TO d.x, t TO t2;
             DROP DATABASE e;",
        )
        .unwrap();
    assert_eq!(
        leader.dump_table("d", "t2").unwrap(),
        "1\ta\tNULL\n3\tc\tNULL\n"
    );
    assert_eq!(leader.dump_table("d", "x").unwrap(), "1\n");
    assert!(!leader.databases().contains(&"e".to_string()));
    let e = leader.execute("ROLLBACK TO s1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownSavepoint);
    let tx = &leader.committed()[2];
    assert_eq!(tx.statements.len(), 2, "{tx:?}");

    let mut by_statement = store();
    let mut by_row = store();
    for tx in leader.committed().iter().skip(2) {
        by_statement.replay_transaction(tx).unwrap();
        by_row.apply_transaction(tx).unwrap();
    }
    assert_eq!(by_statement.digest(), leader.digest());
    assert_eq!(by_row.digest(), leader.digest());
}
