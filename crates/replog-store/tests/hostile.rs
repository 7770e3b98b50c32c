//! Hostile SQL (issue 12): statements whose work or memory would grow
//! without bound — a cross join explosion, a recursive CTE without end, a
//! huge IN list, REPEAT of a trillion bytes, subqueries nested deep — end
//! in a clean error (or a bounded result), never an abort.

use replog_store::{ErrorKind, MAX_RECURSION_ROUNDS, MAX_RELATION_VALUES, SimEnvironment, Store};

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
