//! Hostile SQL (issue 12): statements whose work or memory would grow
//! without bound — a cross join explosion, a recursive CTE without end, a
//! huge IN list, REPEAT of a trillion bytes, subqueries nested deep — end
//! in a clean error (or a bounded result), never an abort.

use replog_store::{
    DEFAULT_MAX_ALLOWED_PACKET, ErrorKind, MAX_MAX_ALLOWED_PACKET, MAX_RECURSION_ROUNDS,
    MAX_RELATION_VALUES, SimEnvironment, Store,
};

fn store_with(rows: usize) -> Store<replog_store::MemStorage, SimEnvironment> {
    let mut s = Store::new(SimEnvironment::default());
    s.execute_script(&format!(
        "CREATE DATABASE d; USE d;
         CREATE TABLE t (id INT PRIMARY KEY, v INT);
         INSERT INTO t WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) SELECT n, n % 7 FROM s;"
    ))
    .unwrap();
    s
}

#[test]
fn a_cross_join_past_the_limit_is_refused() {
    let mut s = store_with(1000);
    assert_eq!(
        s.query("SELECT COUNT(*) FROM t").unwrap().rows[0][0].to_text(),
        Some("1000".into())
    );
    // 1000 × 1000 rows of 6 values (two columns and the row identity of
    // each side) pass the limit.
    const { assert!(1000 * 1000 * 6 > MAX_RELATION_VALUES) };
    let e = s
        .execute("SELECT COUNT(*) FROM t a CROSS JOIN t b")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfRange, "{e}");
    assert!(e.to_string().contains("MAX_RELATION_VALUES"), "{e}");
    // A join under the limit runs.
    let r = s
        .query("SELECT COUNT(*) FROM t a JOIN t b ON b.id = a.id + 1")
        .unwrap();
    assert_eq!(r.rows[0][0].to_text(), Some("999".into()));
    // The store is usable afterwards.
    s.execute("INSERT INTO t VALUES (5000, 1)").unwrap();
}

#[test]
fn a_recursive_cte_without_end_is_refused() {
    let mut s = store_with(3);
    let e = s
        .execute("WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s) SELECT COUNT(*) FROM s")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfRange, "{e}");
    assert!(
        e.to_string().contains(&MAX_RECURSION_ROUNDS.to_string()),
        "{e}"
    );
    // Nor in an INSERT … SELECT, which changes nothing then.
    let e = s
        .execute("INSERT INTO t WITH RECURSIVE s (n) AS (SELECT 10 UNION ALL SELECT n + 1 FROM s) SELECT n, 0 FROM s")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfRange, "{e}");
    assert_eq!(
        s.query("SELECT COUNT(*) FROM t").unwrap().rows[0][0].to_text(),
        Some("3".into())
    );
    // A UNION (not ALL) step that adds nothing new ends.
    let r = s
        .query("WITH RECURSIVE s (n) AS (SELECT 1 UNION SELECT 1 FROM s) SELECT COUNT(*) FROM s")
        .unwrap();
    assert_eq!(r.rows[0][0].to_text(), Some("1".into()));
}

#[test]
fn a_huge_in_list_and_repeat_are_bounded() {
    let mut s = store_with(10);
    let list = (0..200_000)
        .map(|i| (i * 3).to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let r = s
        .query(&format!("SELECT COUNT(*) FROM t WHERE id IN ({list})"))
        .unwrap();
    // 3, 6 and 9 are in the list.
    assert_eq!(r.rows[0][0].to_text(), Some("3".into()));
    // MariaDB: NULL with a warning past max_allowed_packet.
    let r = s.execute("SELECT REPEAT('x', 1e12)").unwrap();
    assert!(r.result.unwrap().rows[0][0].is_null());
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    // An IN subquery over a large relation is bounded by the same limit.
    let e = s
        .execute("SELECT COUNT(*) FROM t WHERE id IN (SELECT a.id FROM t a, t b, t c, t d, t e, t f, t g)")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfRange, "{e}");
}

#[test]
fn deeply_nested_subqueries_do_not_overflow_the_stack() {
    let mut s = store_with(3);
    let scalar = |depth: usize| {
        let mut q = "SELECT MAX(id) FROM t".to_string();
        for _ in 0..depth {
            q = format!("SELECT ({q}) + 1");
        }
        q
    };
    let derived = |depth: usize| {
        let mut q = "SELECT id FROM t".to_string();
        for _ in 0..depth {
            q = format!("SELECT * FROM ({q}) x");
        }
        q
    };
    let r = s.query(&scalar(10)).unwrap();
    assert_eq!(r.rows[0][0].to_text(), Some("13".into()));
    assert_eq!(s.query(&derived(10)).unwrap().rows.len(), 3);
    // Deeper than the parser's recursion limit: refused by it, cleanly.
    for q in [scalar(5000), derived(5000)] {
        let e = s.query(&q).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Parse, "{e}");
        assert!(e.to_string().contains("recursion limit"), "{e}");
    }
}

/// `SELECT LENGTH('xx…x')` of `n` x: a statement of `n + 17` bytes.
fn long_select(n: usize) -> String {
    format!("SELECT LENGTH('{}')", "x".repeat(n))
}

#[test]
fn a_statement_past_max_allowed_packet_is_refused() {
    // MariaDB 10.11.14, measured on a private server with PyMySQL: with the
    // default max_allowed_packet (16777216) a statement of 16777214 bytes
    // runs and one of 16777215 bytes fails with error 1153 (its packet,
    // a command byte and the text, reaches the limit); with SET GLOBAL
    // max_allowed_packet = 32768, 32766 bytes run and 32767 fail. A limit
    // under net_buffer_length (16 KiB) still lets 16 KiB statements in.
    let mut s = Store::new(SimEnvironment::default());
    assert_eq!(s.max_allowed_packet(), DEFAULT_MAX_ALLOWED_PACKET);
    assert_eq!(long_select(16_777_198).len(), 16_777_215);
    let e = s.execute(&long_select(16_777_198)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PacketTooLarge, "{e}");
    assert_eq!(e.mysql_code(), Some(1153));
    for part in [
        "Got a packet bigger than 'max_allowed_packet' bytes",
        "a statement of 16777215 bytes",
        "max_allowed_packet is 16777216",
        "SET GLOBAL max_allowed_packet = BYTES",
    ] {
        assert!(e.message().contains(part), "{part}: {e}");
    }
    // The statement is named, cut short.
    assert!(e.statement().is_some_and(|t| t.len() <= 200), "{e}");
    let r = s.query(&long_select(16_777_197)).unwrap();
    assert_eq!(r.rows[0][0].to_text(), Some("16777197".into()));

    let r = s.execute("SET GLOBAL max_allowed_packet = 32768").unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(s.max_allowed_packet(), 32768);
    let v = s
        .query("SELECT @@max_allowed_packet, @@global.max_allowed_packet")
        .unwrap();
    assert_eq!(v.rows[0][0].to_text(), Some("32768".into()));
    assert_eq!(v.rows[0][1].to_text(), Some("32768".into()));
    assert!(s.query(&long_select(32_749)).is_ok());
    let e = s.execute(&long_select(32_750)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PacketTooLarge, "{e}");
    assert!(e.message().contains("max_allowed_packet is 32768"), "{e}");

    // MariaDB's range and rounding, with its warning.
    let r = s.execute("SET GLOBAL max_allowed_packet = 1000").unwrap();
    assert_eq!(
        r.warnings,
        ["Truncated incorrect max_allowed_packet value: '1000'"]
    );
    assert_eq!(s.max_allowed_packet(), 1024);
    assert!(s.query(&long_select(16_384 - 19)).is_ok());
    assert!(s.execute(&long_select(16_384 - 18)).is_err());
    s.execute("SET @@global.max_allowed_packet = 2000000000")
        .unwrap();
    assert_eq!(s.max_allowed_packet(), MAX_MAX_ALLOWED_PACKET);
    s.execute("SET GLOBAL max_allowed_packet = DEFAULT")
        .unwrap();
    assert_eq!(s.max_allowed_packet(), DEFAULT_MAX_ALLOWED_PACKET);
    let e = s
        .execute("SET GLOBAL max_allowed_packet = 'abc'")
        .unwrap_err();
    assert!(e.message().contains("Incorrect argument type"), "{e}");
    // The session variable is read-only in MariaDB (error 1621).
    for sql in [
        "SET max_allowed_packet = 1048576",
        "SET SESSION max_allowed_packet = 1048576",
        "SET @@session.max_allowed_packet = 1048576",
    ] {
        let e = s.execute(sql).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadOnlyVariable, "{sql}: {e}");
        assert_eq!(e.mysql_code(), Some(1621));
        assert!(e.message().contains("Use SET GLOBAL"), "{e}");
    }
    assert!(s.set_max_allowed_packet(0).is_err());
    assert!(
        s.set_max_allowed_packet(MAX_MAX_ALLOWED_PACKET + 1)
            .is_err()
    );
    s.set_max_allowed_packet(100_000).unwrap();
    assert_eq!(s.max_allowed_packet(), 99_328);
}

#[test]
fn a_replayed_statement_is_bounded_by_the_replica_limit() {
    // A leader that raised its limit logs a statement longer than the
    // follower's: a replica takes it (slave_max_allowed_packet, 1 GiB).
    let mut leader = Store::new(SimEnvironment::default());
    leader.set_max_allowed_packet(1 << 20).unwrap();
    let insert = format!("INSERT INTO t VALUES (1, '{}')", "y".repeat(100_000));
    leader
        .execute_script("CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, v LONGTEXT)")
        .unwrap();
    leader.execute(&insert).unwrap();
    let mut follower = Store::new(SimEnvironment::new(0, 7));
    follower.set_max_allowed_packet(1024).unwrap();
    for tx in leader.committed() {
        follower.replay_transaction(tx).unwrap();
    }
    assert_eq!(follower.digest(), leader.digest());
    // Sent by a client, the same statement is refused.
    let e = follower.execute(&insert).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PacketTooLarge, "{e}");
}

#[test]
fn a_long_result_is_null_in_a_query_and_an_error_in_a_write() {
    // MariaDB's answers at 16 MiB are in the corpus (`limits`); here the
    // limit is lowered and raised.
    let mut s = store_with(2);
    s.execute_script(
        "SET GLOBAL max_allowed_packet = 1048576;
         CREATE TABLE big (id INT PRIMARY KEY, v LONGTEXT);
         INSERT INTO big VALUES (1, REPEAT('a', 1048576))",
    )
    .unwrap();
    let warning = |f: &str| {
        format!("Result of {f}() was larger than max_allowed_packet (1048576) - truncated")
    };
    for (sql, f) in [
        ("SELECT REPEAT('x', 1048577)", "repeat"),
        ("SELECT CONCAT(v, 'b') FROM big", "concat"),
        ("SELECT CONCAT_WS(',', v, '') FROM big", "concat_ws"),
        ("SELECT LPAD('', 262145, 'x')", "lpad"),
        ("SELECT RPAD('', 262145, 'x')", "rpad"),
        ("SELECT SPACE(1048577)", "space"),
        ("SELECT INSERT(v, 1, 0, 'x') FROM big", "insert"),
        ("SELECT REPLACE(v, 'a', 'aa') FROM big", "replace"),
    ] {
        let r = s.execute(sql).unwrap();
        assert!(r.result.unwrap().rows[0][0].is_null(), "{sql}");
        assert_eq!(r.warnings, [warning(f)], "{sql}");
    }
    // Under strict mode the warning is an error in INSERT and UPDATE
    // (1301), which change nothing; DELETE warns (MariaDB 10.11.14).
    for sql in [
        "INSERT INTO big VALUES (2, REPEAT('x', 1048577))",
        "INSERT INTO big SELECT 2, SPACE(id + 1048576) FROM big",
        "UPDATE big SET v = CONCAT(v, v)",
        "UPDATE big SET v = 'q' WHERE SPACE(id + 1048576) IS NULL",
    ] {
        let e = s.execute(sql).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ResultTooLong, "{sql}: {e}");
        assert_eq!(e.mysql_code(), Some(1301));
    }
    let r = s
        .execute("DELETE FROM t WHERE SPACE(id + 1048575) IS NULL")
        .unwrap();
    assert_eq!(r.affected_rows, 1);
    assert_eq!(r.warnings, [warning("space")]);
    assert_eq!(
        s.query("SELECT COUNT(*), LENGTH(MAX(v)) FROM big")
            .unwrap()
            .rows[0]
            .iter()
            .map(|d| d.to_text().unwrap())
            .collect::<Vec<_>>(),
        ["1", "1048576"]
    );
    // Raised, the same statements run.
    s.execute("SET GLOBAL max_allowed_packet = 4194304")
        .unwrap();
    s.execute("UPDATE big SET v = CONCAT(v, v)").unwrap();
    let r = s
        .query("SELECT LENGTH(v), LENGTH(REPEAT(v, 2)) FROM big")
        .unwrap();
    assert_eq!(r.rows[0][0].to_text(), Some("2097152".into()));
    assert_eq!(r.rows[0][1].to_text(), Some("4194304".into()));
}
