//! Equivalence of every conversion route on random workloads: a generated
//! SQL workload (tables, multi-row inserts, updates, deletes, INSERT …
//! SELECT, transactions that commit or roll back, ALTER TABLE ADD/DROP
//! COLUMN, TRUNCATE, DROP/CREATE TABLE, large rows) is recorded by the
//! leader, and each of its logs, each conversion and conversions of
//! conversions replay to the leader's digest, checked at every COMMIT
//! (physical → logical decoding included).
//!
//! The workloads come from a seeded generator; a failure prints the seed
//! and the workload. `REPLOG_ROUTE_SEEDS=N` runs N seeds (default 12).

use clap::Parser;
use replog::{Cli, Verdict};
use replog_test_support::SmokeRng;
use replog_test_support::s;
use serde_json::Value as Json;
use std::fmt::Write as _;
use std::path::Path;

fn json(args: &[&str]) -> (Verdict, Json) {
    let mut all = vec!["replog"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let cli = Cli::try_parse_from(all).expect("arguments parse");
    let mut out = Vec::new();
    let o = replog::run(cli, &mut out).unwrap_or_else(|e| panic!("replog {args:?}: {e:#}"));
    (
        o,
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("replog {args:?}: {e}")),
    )
}

struct Table {
    name: String,
    extra: Vec<String>,
}

/// A random workload whose every statement succeeds and is deterministic
/// (it only depends on the captured context).
fn workload(seed: u64) -> String {
    let mut r = SmokeRng::new(seed);
    let mut sql = String::from("CREATE DATABASE r;\nUSE r;\n");
    let mut tables: Vec<Table> = Vec::new();
    let mut next_table = 0;
    let mut next_col = 0;
    let create = |sql: &mut String, tables: &mut Vec<Table>, next: &mut u32| {
        let name = format!("t{next}");
        *next += 1;
        let _ = writeln!(
            sql,
            "CREATE TABLE {name} (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL DEFAULT 0, \
             b VARCHAR(3000) NULL, c DECIMAL(10,2) NULL, d DATETIME(3) NULL);"
        );
        tables.push(Table {
            name,
            extra: Vec::new(),
        });
    };
    for _ in 0..1 + r.below(3) {
        create(&mut sql, &mut tables, &mut next_table);
    }
    let value_b = |r: &mut SmokeRng| match r.below(6) {
        0 => "NULL".to_string(),
        1 => format!("REPEAT('x', {})", 500 + r.below(2500)),
        _ => format!("'v{}'", r.below(1000)),
    };
    let dml = |r: &mut SmokeRng, t: &Table, tables: &[Table]| -> String {
        let n = &t.name;
        match r.below(9) {
            0..=2 => {
                let rows: Vec<String> = (0..1 + r.below(4))
                    .map(|_| {
                        let c = if r.below(4) == 0 {
                            "NULL".to_string()
                        } else {
                            format!("{}.{:02}", r.below(10_000), r.below(100))
                        };
                        format!("({}, {}, {c}, NOW(3))", r.below(100), value_b(r))
                    })
                    .collect();
                format!("INSERT INTO {n} (a, b, c, d) VALUES {};", rows.join(", "))
            }
            3 => format!(
                "UPDATE {n} SET a = a + {}, b = CONCAT(COALESCE(b, ''), 'y') WHERE id % {} = {};",
                1 + r.below(5),
                2 + r.below(3),
                r.below(2)
            ),
            4 => format!(
                "UPDATE {n} SET c = c + 1, b = {} WHERE a BETWEEN {} AND {} ORDER BY id LIMIT {};",
                value_b(r),
                r.below(50),
                50 + r.below(60),
                1 + r.below(3)
            ),
            5 => format!("DELETE FROM {n} WHERE id = {};", 1 + r.below(12)),
            6 => format!(
                "DELETE FROM {n} WHERE a < {} ORDER BY id LIMIT 2;",
                r.below(30)
            ),
            7 => {
                let from = &tables[r.below(tables.len())].name;
                format!(
                    "INSERT INTO {n} (a, b, c) SELECT a, b, c FROM {from} ORDER BY id LIMIT {};",
                    1 + r.below(4)
                )
            }
            _ => match t.extra.first() {
                Some(col) => format!("UPDATE {n} SET {col} = {col} + {};", 1 + r.below(9)),
                None => format!("UPDATE {n} SET d = NOW(3) WHERE id = {};", 1 + r.below(8)),
            },
        }
    };
    for t in &tables {
        let rows: Vec<String> = (0..3 + r.below(5))
            .map(|i| format!("({i}, {}, {}.50, NOW(3))", value_b(&mut r), r.below(500)))
            .collect();
        let _ = writeln!(
            sql,
            "INSERT INTO {} (a, b, c, d) VALUES {};",
            t.name,
            rows.join(", ")
        );
    }
    for _ in 0..30 + r.below(40) {
        if tables.is_empty() {
            create(&mut sql, &mut tables, &mut next_table);
        }
        let ti = r.below(tables.len());
        match r.below(20) {
            0..=10 => {
                let st = dml(&mut r, &tables[ti], &tables);
                sql.push_str(&st);
                sql.push('\n');
            }
            11..=13 => {
                sql.push_str("BEGIN;\n");
                for _ in 0..2 + r.below(3) {
                    let t = &tables[r.below(tables.len())];
                    let st = dml(&mut r, t, &tables);
                    sql.push_str(&st);
                    sql.push('\n');
                }
                sql.push_str(if r.below(3) == 0 {
                    "ROLLBACK;\n"
                } else {
                    "COMMIT;\n"
                });
            }
            14 => {
                let col = format!("e{next_col}");
                next_col += 1;
                let _ = writeln!(
                    sql,
                    "ALTER TABLE {} ADD COLUMN {col} INT NOT NULL DEFAULT {};",
                    tables[ti].name,
                    r.below(10)
                );
                tables[ti].extra.push(col);
            }
            15 => {
                if let Some(col) = tables[ti].extra.pop() {
                    let _ = writeln!(sql, "ALTER TABLE {} DROP COLUMN {col};", tables[ti].name);
                }
            }
            16 => {
                let _ = writeln!(sql, "TRUNCATE TABLE {};", tables[ti].name);
            }
            17 => {
                let t = tables.remove(ti);
                let _ = writeln!(sql, "DROP TABLE {};", t.name);
            }
            _ => create(&mut sql, &mut tables, &mut next_table),
        }
    }
    sql
}

/// Replays `log` in memory; every COMMIT's digest must match, and the
/// final digest is returned.
fn replay(log: &Path, what: &str) -> String {
    let (o, v) = json(&["replay", s(log), "--memory"]);
    assert_eq!(o, Verdict::Clean, "{what}: {v:#}");
    assert_eq!(v["clean"], true, "{what}: {v:#}");
    v["digest"].as_str().unwrap().to_string()
}

fn check_seed(seed: u64) {
    let sql = workload(seed);
    let tmp = tempfile::tempdir().unwrap();
    let w = tmp.path().join("w.sql");
    std::fs::write(&w, &sql).unwrap();
    let out = tmp.path().join("leader");
    let (o, rec) = json(&[
        "record",
        s(&w),
        "--out",
        s(&out),
        "--durability",
        "os",
        "--page-size",
        "1024",
    ]);
    assert_eq!(o, Verdict::Clean, "seed {seed}: {rec:#}\n{sql}");
    let digest = rec["digest"].as_str().unwrap().to_string();
    let p = |n: &str| tmp.path().join(n);
    let mut routes: Vec<(String, std::path::PathBuf)> = vec![
        ("statement".into(), out.join("statement")),
        ("logical".into(), out.join("logical")),
        ("physical".into(), out.join("physical")),
    ];
    let convert = |from: &Path, to: &str, dest: &Path| {
        let (o, v) = json(&["convert", s(from), "--to", to, "-o", s(dest)]);
        assert_eq!(
            o,
            Verdict::Clean,
            "seed {seed}: convert {from:?} --to {to}: {v:#}\n{sql}"
        );
    };
    convert(&out.join("logical"), "statement", &p("l2s.replog"));
    routes.push(("logical→statement".into(), p("l2s.replog")));
    convert(&out.join("statement"), "logical", &p("s2l.replog"));
    routes.push(("statement→logical".into(), p("s2l.replog")));
    convert(&out.join("logical"), "physical", &p("l2p"));
    routes.push(("logical→physical".into(), p("l2p")));
    convert(&out.join("statement"), "physical", &p("s2p"));
    routes.push(("statement→physical".into(), p("s2p")));
    convert(&p("s2l.replog"), "statement", &p("s2l2s.replog"));
    routes.push(("statement→logical→statement".into(), p("s2l2s.replog")));
    convert(&p("l2s.replog"), "logical", &p("l2s2l.replog"));
    routes.push(("logical→statement→logical".into(), p("l2s2l.replog")));
    convert(&out.join("physical"), "logical", &p("p2l.replog"));
    routes.push(("physical→logical".into(), p("p2l.replog")));
    convert(&p("s2p"), "logical", &p("s2p2l.replog"));
    routes.push(("statement→physical→logical".into(), p("s2p2l.replog")));
    convert(&p("p2l.replog"), "statement", &p("p2l2s.replog"));
    routes.push(("physical→logical→statement".into(), p("p2l2s.replog")));
    for (name, log) in &routes {
        assert_eq!(
            replay(log, &format!("seed {seed} {name}\n{sql}")),
            digest,
            "seed {seed}: route {name}\n{sql}"
        );
    }
}

#[test]
fn every_route_of_random_workloads_replays_to_the_leader_digest() {
    let n: u64 = std::env::var("REPLOG_ROUTE_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    for seed in 0..n {
        check_seed(0x5EED_0000 + seed);
    }
}
