//! Long chains of operators (issue 11 item 1): sqlparser nests them as deep
//! as they are long. The store evaluates them, plans key lookups through
//! them and drops them on the test harness's 2 MiB threads, and refuses a
//! statement nested deeper than its limit with a clean error.

use replog_store::deep::MAX_EXPR_DEPTH;
use replog_store::{SimEnvironment, Store};

fn store() -> Store<replog_store::MemStorage, SimEnvironment> {
    let mut s = Store::new(SimEnvironment::default());
    s.execute_script(
        "CREATE DATABASE d; USE d;
         CREATE TABLE t (id INT PRIMARY KEY, v BIGINT, n INT);
         INSERT INTO t VALUES (1, 0, NULL), (2, 0, NULL), (3, 0, 5), (4, 0, NULL);",
    )
    .unwrap();
    s
}

fn terms(n: usize, f: impl Fn(usize) -> String, sep: &str) -> String {
    (0..n).map(f).collect::<Vec<_>>().join(sep)
}

#[test]
fn ten_thousand_terms() {
    let mut s = store();
    // Arithmetic: 10,000 terms, evaluated left to right.
    let plus = terms(10_000, |i| (i % 7).to_string(), " + ");
    let expected: i64 = (0..10_000).map(|i| (i % 7) as i64).sum();
    assert_eq!(
        s.execute(&format!("UPDATE t SET v = {plus} WHERE id < 3"))
            .unwrap()
            .affected_rows,
        2
    );
    // The same shape again (the parse cache must not keep deep shapes).
    s.execute(&format!("UPDATE t SET v = {plus} WHERE id < 3"))
        .unwrap();
    // A chain of ANDs with the primary key among its terms: planned as a
    // key lookup, evaluated on the candidate.
    let and = terms(10_000, |i| format!("id > -{i}"), " AND ");
    let r = s
        .execute(&format!("UPDATE t SET v = v + 1 WHERE {and} AND id = 2"))
        .unwrap();
    assert_eq!(r.affected_rows, 1);
    // ORs, short-circuit: the last term matches row 3 only.
    let or = terms(10_000, |i| format!("id = {}", 100 + i), " OR ");
    let r = s
        .execute(&format!("DELETE FROM t WHERE {or} OR n = 5"))
        .unwrap();
    assert_eq!(r.affected_rows, 1);
    // Postfix forms chain too: ((n IS NULL) IS NULL) IS NULL …
    let is_null = format!("n{}", " IS NULL".repeat(10_001));
    let rs = s
        .query(&format!("SELECT id FROM t WHERE {is_null} ORDER BY id"))
        .unwrap();
    // n IS NULL is 1 or 0, never NULL: every further IS NULL is 0.
    assert!(rs.rows.is_empty(), "{:?}", rs.rows);
    assert_eq!(
        s.dump_table("d", "t").unwrap(),
        format!(
            "1\t{expected}\tNULL\n2\t{}\tNULL\n4\t0\tNULL\n",
            expected + 1
        )
    );
}

#[test]
fn deeper_than_the_limit_is_refused() {
    let mut s = store();
    let plus = vec!["1"; MAX_EXPR_DEPTH + 2].join(" + ");
    let e = s
        .execute(&format!("UPDATE t SET v = {plus}"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("expression too deep"), "{e}");
    // Nothing changed, and the store goes on.
    assert_eq!(s.execute("UPDATE t SET v = 1").unwrap().affected_rows, 4);
}
