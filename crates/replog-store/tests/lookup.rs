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
        int.clone().prop_map(|k| format!("id = {k} OR v = 2")),
        // Ranges of the primary key, of a unique key, of a key's prefix.
        (int.clone(), int.clone()).prop_map(|(a, b)| format!("id BETWEEN {a} AND {b}")),
        (int.clone(), int.clone()).prop_map(|(a, b)| format!("id >= {a} AND id <= {b} AND v <> 1")),
        (int.clone(), int.clone()).prop_map(|(a, b)| format!("id > {a} AND {b} > id")),
        int.clone().prop_map(|a| format!("id < {a}")),
        int.clone().prop_map(|a| format!("{a} <= id")),
        int.clone()
            .prop_map(|a| format!("id NOT BETWEEN {a} AND 10")),
        int.clone()
            .prop_map(|a| format!("id BETWEEN '{a}' AND {}", a + 9)),
        (int.clone(), int.clone()).prop_map(|(a, b)| format!("id BETWEEN {a} AND {b}.5")),
        (int.clone(), int.clone()).prop_map(|(a, b)| format!("id > {a} OR id < {b}")),
        (-5i64..130, -5i64..130).prop_map(|(a, b)| format!("u BETWEEN {a} AND {b}")),
        (-5i64..130).prop_map(|a| format!("u > {a} AND id < 30")),
        (-2i64..12, -2i64..12).prop_map(|(a, b)| format!("a BETWEEN {a} AND {b}")),
        (0i64..10, 0usize..4)
            .prop_map(|(a, b)| format!("a = {a} AND b > '{}'", ["X", "y", "z", "w"][b])),
        (prop::collection::vec(0i64..10, 1..4), 0i64..40).prop_map(|(a, v)| {
            let l: Vec<String> = a.iter().map(|k| k.to_string()).collect();
            format!("a IN ({}) AND v > {v}", l.join(","))
        }),
    ]
}

fn statement() -> impl Strategy<Value = String> {
    let tail = prop_oneof![
        Just(String::new()),
        Just(" LIMIT 1".to_string()),
        Just(" LIMIT 2".to_string()),
        Just(" ORDER BY v DESC LIMIT 2".to_string()),
        // ORDER BY the primary key: walked in key order.
        Just(" ORDER BY {pk} LIMIT 3".to_string()),
        Just(" ORDER BY {pk-desc} LIMIT 2".to_string()),
        Just(" ORDER BY {pk} LIMIT 0".to_string()),
    ];
    (where_clause(), 0usize..4, tail, 0i64..100).prop_map(|(w, kind, tail, n)| {
        let table = if w.contains("a ") || w.starts_with("a") {
            "c"
        } else {
            "t"
        };
        let (pk, pk_desc) = if table == "c" {
            ("a, b", "a DESC, b DESC")
        } else {
            ("id", "id DESC")
        };
        let tail = tail.replace("{pk}", pk).replace("{pk-desc}", pk_desc);
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

/// A table of ids 1..=1000 (and a composite-key one of 10 × 100 rows).
fn counted_store(order: VisitOrder) -> Store {
    let mut s = Store::new(SimEnvironment::new(1_700_000_000_000_000, 7).with_visit_order(order));
    s.execute_script(
        "CREATE DATABASE d; USE d;
         CREATE TABLE t (id INT NOT NULL PRIMARY KEY, u INT UNSIGNED, v INT, UNIQUE KEY uk_u (u));
         CREATE TABLE c (a INT NOT NULL, b INT NOT NULL, v INT, PRIMARY KEY (a, b));",
    )
    .unwrap();
    let mut sql = String::new();
    for i in 1..=1000 {
        sql.push_str(&format!(
            "INSERT INTO t VALUES ({i}, {}, {});",
            i * 3,
            i % 7
        ));
        sql.push_str(&format!(
            "INSERT INTO c VALUES ({}, {}, {i});",
            i % 10,
            i / 10
        ));
    }
    s.execute_script(&sql).unwrap();
    s
}

/// Rows a statement reads from storage, and its affected rows.
fn reads(s: &mut Store, sql: &str) -> (u64, u64) {
    let before = s.rows_read();
    let r = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = r.result.map_or(r.affected_rows, |rs| rs.rows.len() as u64);
    (s.rows_read() - before, n)
}

/// The plan of each range shape, by the rows it reads: only the rows in
/// the range (a scan reads all 1,000).
#[test]
fn ranges_read_only_their_rows() {
    for order in [VisitOrder::Forward, VisitOrder::Reverse] {
        let mut s = counted_store(order);
        for (sql, read, rows) in [
            (
                "UPDATE t SET v = 101 WHERE id BETWEEN 100 AND 199",
                100,
                100,
            ),
            (
                "UPDATE t SET v = 102 WHERE id >= 100 AND id <= 199 AND v = 101",
                100,
                100,
            ),
            ("DELETE FROM t WHERE id > 990", 10, 10),
            ("SELECT * FROM t WHERE 985 <= id", 6, 6),
            ("SELECT * FROM t WHERE id < 11 AND id > 0", 10, 10),
            ("SELECT * FROM t WHERE id BETWEEN 5 AND 1", 0, 0),
            ("SELECT * FROM t WHERE u BETWEEN 30 AND 59", 10, 10),
            ("SELECT * FROM t WHERE u > 2940", 10, 10),
            ("UPDATE c SET v = 100 WHERE a = 5", 100, 100),
            (
                "UPDATE c SET v = 101 WHERE a = 5 AND b BETWEEN 10 AND 19",
                10,
                10,
            ),
            ("SELECT * FROM c WHERE a BETWEEN 2 AND 3", 200, 200),
            ("SELECT * FROM c WHERE a IN (1, 3) AND b < 5", 10, 10),
            ("UPDATE t SET v = 103 ORDER BY id LIMIT 5", 5, 5),
            (
                "DELETE FROM t WHERE id < 500 ORDER BY id DESC LIMIT 5",
                5,
                5,
            ),
            (
                "UPDATE t SET v = 104 WHERE id > 200 AND v = 4 ORDER BY id LIMIT 3",
                21,
                3,
            ),
            ("DELETE FROM c WHERE a = 7 ORDER BY a, b LIMIT 4", 4, 4),
            // Not by the index: a scan reads every row.
            ("SELECT * FROM t WHERE id + 0 BETWEEN 100 AND 199", 985, 100),
            (
                "SELECT * FROM t WHERE id BETWEEN 100 AND 199 OR v = 9",
                985,
                100,
            ),
            ("UPDATE t SET v = 105 ORDER BY v, id LIMIT 1", 985, 1),
        ] {
            assert_eq!(reads(&mut s, sql), (read, rows), "{sql} ({order:?})");
        }
    }
}

/// Statements without a WHERE, ordered by the key: walked in key order
/// they pick the rows sorting every row picks (`ORDER BY id + 0` sorts).
#[test]
fn order_by_key_limit_matches_sorting() {
    for order in [VisitOrder::Forward, VisitOrder::Reverse] {
        let mut a = counted_store(order);
        let mut b = counted_store(order);
        for (fast, sorted) in [
            (
                "SELECT id, v FROM t ORDER BY id LIMIT 7",
                "SELECT id, v FROM t ORDER BY id + 0 LIMIT 7",
            ),
            (
                "SELECT id FROM t ORDER BY id DESC LIMIT 3",
                "SELECT id FROM t ORDER BY id + 0 DESC LIMIT 3",
            ),
            (
                "DELETE FROM t ORDER BY id LIMIT 3",
                "DELETE FROM t ORDER BY id + 0 LIMIT 3",
            ),
            (
                "UPDATE t SET v = 9 ORDER BY id DESC LIMIT 2",
                "UPDATE t SET v = 9 ORDER BY id + 0 DESC LIMIT 2",
            ),
            (
                "DELETE FROM c ORDER BY a DESC, b DESC LIMIT 5",
                "DELETE FROM c ORDER BY a + 0 DESC, b DESC LIMIT 5",
            ),
            (
                "UPDATE c SET v = 1 ORDER BY a, b LIMIT 150",
                "UPDATE c SET v = 1 ORDER BY a + 0, b LIMIT 150",
            ),
        ] {
            let (x, y) = (a.execute(fast).unwrap(), b.execute(sorted).unwrap());
            assert_eq!(x.affected_rows, y.affected_rows, "{fast}");
            assert_eq!(x.result.map(|r| r.rows), y.result.map(|r| r.rows), "{fast}");
        }
        for t in ["t", "c"] {
            assert_eq!(a.dump_table("d", t).unwrap(), b.dump_table("d", t).unwrap());
        }
    }
}

/// Rows applied from a log may hold an integer key value of the other
/// signedness (its encoding sorts elsewhere): then ranges probe both forms
/// and ORDER BY the key sorts, and results stay those of a scan.
#[test]
fn foreign_signedness_keeps_scan_results() {
    use replog_core::Value;
    use replog_store::{MemStorage, Storage};
    let mk = || {
        let mut st: MemStorage = counted_store(VisitOrder::Forward).into_storage();
        let id = st.lookup("d", "t").unwrap();
        assert!(st.canonical_int_keys(id));
        for (k, u) in [(2000u64, 1u64), (3, 2), (0, 4)] {
            st.insert(
                id,
                vec![Value::UInt(k), Value::Int(u as i64 + 5000), Value::Int(7)],
            )
            .unwrap();
        }
        assert!(!st.canonical_int_keys(id));
        let mut s = Store::with_storage(st, SimEnvironment::new(1_700_000_000_000_000, 7));
        s.execute("USE d").unwrap();
        s
    };
    let (mut a, mut b) = (mk(), mk());
    for s in [
        "SELECT id, v FROM t WHERE id BETWEEN 1 AND 5",
        "SELECT id, v FROM t WHERE id > 995",
        "SELECT id, u FROM t WHERE u BETWEEN 5000 AND 5010",
        "SELECT id, v FROM t WHERE id = 3",
        "DELETE FROM t WHERE id < 1000 ORDER BY id DESC LIMIT 3",
        "UPDATE t SET v = 100 WHERE v = 7 ORDER BY id LIMIT 2",
    ] {
        let (x, y) = (a.execute(s).unwrap(), b.execute(&scanning(s)).unwrap());
        assert_eq!(x.affected_rows, y.affected_rows, "{s}");
        assert_eq!(x.result.map(|r| r.rows), y.result.map(|r| r.rows), "{s}");
    }
    assert_eq!(
        a.dump_table("d", "t").unwrap(),
        b.dump_table("d", "t").unwrap()
    );
}
