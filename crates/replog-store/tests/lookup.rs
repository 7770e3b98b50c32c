//! Key lookups give exactly what a scan gives: every statement runs twice,
//! once as written (a pinned key is looked up) and once with `AND 0 + 0 = 0`
//! appended to its WHERE (arithmetic makes the engine scan), on two stores
//! fed the same statements; result sets, affected rows, errors, captured
//! changes and dumps must agree.

use proptest::prelude::*;
use replog_store::{SimEnvironment, Store, VisitOrder};

const SCHEMA: &str = "CREATE DATABASE d; USE d;
    CREATE TABLE t (id INT NOT NULL PRIMARY KEY, u BIGINT UNSIGNED, code VARCHAR(10), v INT, UNIQUE KEY uk_code (code), UNIQUE KEY uk_u (u));
    CREATE TABLE c (a INT NOT NULL, b VARCHAR(8) NOT NULL, v INT, PRIMARY KEY (a, b));";

fn stores(order: VisitOrder) -> (Store, Store) {
    let mk = || {
        let mut s =
            Store::new(SimEnvironment::new(1_700_000_000_000_000, 7).with_visit_order(order));
        s.execute_script(SCHEMA).unwrap();
        let mut sql = String::new();
        for i in 1..=40 {
            let code = if i % 7 == 0 {
                "NULL".to_string()
            } else {
                format!("'C{}'", i % 23 + i / 23 * 100)
            };
            let u = if i % 5 == 0 {
                "NULL".to_string()
            } else {
                (i * 3).to_string()
            };
            sql.push_str(&format!(
                "INSERT INTO t VALUES ({}, {u}, {code}, {});",
                i * 2 - 20,
                i % 4
            ));
            sql.push_str(&format!(
                "INSERT INTO c VALUES ({}, '{}', {});",
                i % 10,
                ["x", "Y", "z ", "w"][(i / 10) as usize % 4],
                i
            ));
        }
        s.execute_script(&sql).unwrap();
        s
    };
    (mk(), mk())
}

/// `sql` with ` AND 0 + 0 = 0` after its WHERE condition (before ORDER BY / LIMIT).
fn scanning(sql: &str) -> String {
    let cut = [" ORDER BY", " LIMIT"]
        .iter()
        .filter_map(|k| sql.find(k))
        .min()
        .unwrap_or(sql.len());
    format!("{} AND 0 + 0 = 0{}", &sql[..cut], &sql[cut..])
}

fn check(order: VisitOrder, statements: &[String]) {
    let (mut a, mut b) = stores(order);
    for s in statements {
        let ra = a.execute(s);
        let rb = b.execute(&scanning(s));
        match (&ra, &rb) {
            (Ok(x), Ok(y)) => {
                assert_eq!(x.affected_rows, y.affected_rows, "{s}");
                assert_eq!(
                    x.result.as_ref().map(|r| &r.rows),
                    y.result.as_ref().map(|r| &r.rows),
                    "{s}"
                );
            }
            (Err(x), Err(y)) => assert_eq!(x.kind(), y.kind(), "{s}"),
            _ => panic!("{s}: {ra:?} vs {rb:?}"),
        }
        let ca: Vec<_> = a
            .take_committed()
            .into_iter()
            .flat_map(|t| t.statements)
            .map(|s| s.changes)
            .collect();
        let cb: Vec<_> = b
            .take_committed()
            .into_iter()
            .flat_map(|t| t.statements)
            .map(|s| s.changes)
            .collect();
        assert_eq!(ca, cb, "{s}");
    }
    for t in ["t", "c"] {
        assert_eq!(a.dump_table("d", t).unwrap(), b.dump_table("d", t).unwrap());
    }
    assert_eq!(a.digest(), b.digest());
}

fn where_clause() -> impl Strategy<Value = String> {
    let int = -25i64..65;
    prop_oneof![
        int.clone().prop_map(|k| format!("id = {k}")),
        int.clone().prop_map(|k| format!("{k} = id AND v >= 1")),
        int.clone()
            .prop_map(|k| format!("(id = {k}) AND (v = 1 OR v IS NULL)")),
        prop::collection::vec(int.clone(), 0..6).prop_map(|ks| {
            let l: Vec<String> = ks.iter().map(|k| k.to_string()).collect();
            format!(
                "id IN ({}) AND v <> 3",
                if l.is_empty() {
                    "NULL".into()
                } else {
                    l.join(", ")
                }
            )
        }),
        prop::collection::vec(int.clone(), 1..6).prop_map(|ks| {
            let l: Vec<String> = ks.iter().map(|k| format!("'{k}'")).collect();
            format!("id IN ({})", l.join(", "))
        }),
        (0u64..130).prop_map(|k| format!("u = {k}")),
        (0u64..30).prop_map(|k| format!("u IN ({k}, {}, -{k}) AND id > -10", k * 3)),
        (0i64..30).prop_map(|k| format!("code = 'c{k}'")),
        (0i64..30).prop_map(|k| format!("code IN ('C{k} ', 'c{}', NULL)", k + 100)),
        (0i64..10, 0usize..5)
            .prop_map(|(a, b)| format!("a = {a} AND b = '{}'", ["X", "y", "z", "W ", "q"][b])),
        (prop::collection::vec(0i64..10, 1..4), 0usize..4).prop_map(|(a, b)| {
            let l: Vec<String> = a.iter().map(|k| k.to_string()).collect();
            format!(
                "a IN ({}) AND b IN ('x', '{}') AND v BETWEEN 3 AND 30",
                l.join(","),
                ["X", "y", "z", "w"][b]
            )
        }),
        (0i64..10).prop_map(|a| format!("a = {a}")),
        int.prop_map(|k| format!("id = {k} OR v = 2")),
    ]
}

fn statement() -> impl Strategy<Value = String> {
    let tail = prop_oneof![
        Just(String::new()),
        Just(" LIMIT 1".to_string()),
        Just(" LIMIT 2".to_string()),
        Just(" ORDER BY v DESC LIMIT 2".to_string()),
    ];
    (where_clause(), 0usize..4, tail, 0i64..100).prop_map(|(w, kind, tail, n)| {
        let table = if w.contains("a ") || w.starts_with("a") {
            "c"
        } else {
            "t"
        };
        match kind {
            0 | 1 => format!("SELECT * FROM {table} WHERE {w}{tail}"),
            2 => format!("UPDATE {table} SET v = {n} WHERE {w}{tail}"),
            _ => format!("DELETE FROM {table} WHERE {w}{tail}"),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn lookups_match_scans(statements in prop::collection::vec(statement(), 1..12), reverse in any::<bool>()) {
        check(if reverse { VisitOrder::Reverse } else { VisitOrder::Forward }, &statements);
    }
}

#[test]
fn lookups_match_scans_shuffled_and_edge_cases() {
    let s: Vec<String> = [
        "SELECT * FROM t WHERE id = 2",
        "SELECT * FROM t WHERE id = 2.0",
        "SELECT * FROM t WHERE id = '2'",
        "SELECT * FROM t WHERE id = -18 AND nosuch = 1",
        "SELECT * FROM t WHERE id = 1000 AND nosuch = 1",
        "SELECT * FROM t WHERE id = 9223372036854775808",
        "SELECT * FROM t WHERE id = -(-2)",
        "SELECT * FROM t WHERE id = TRUE",
        "SELECT * FROM t WHERE code = 'c3  '",
        "SELECT * FROM t WHERE code = 'C3' AND id = 6",
        "SELECT * FROM t WHERE u = 9 AND code = 'c3'",
        "SELECT * FROM t WHERE id = @x",
        "UPDATE t SET id = id + 1000 WHERE id IN (4, 6, 8) LIMIT 2",
        "UPDATE t SET code = 'C9' WHERE id = 10",
        "DELETE FROM t WHERE id IN (2, 4, 6, 1004, 1006) LIMIT 2",
        "DELETE FROM c WHERE a = 1 AND b = 'Y' LIMIT 1",
        "SELECT * FROM c WHERE (a, b) = (1, 'y')",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for order in [
        VisitOrder::Forward,
        VisitOrder::Reverse,
        VisitOrder::Shuffled,
    ] {
        check(order, &s);
    }
}
