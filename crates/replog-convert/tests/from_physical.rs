//! Physical → logical (logical decoding): the logical log recovered from a
//! page engine's WAL replays to the leader's digest at every COMMIT, on
//! hand-written cases and on random workloads (inserts, updates, deletes,
//! UNIQUE keys, large rows in overflow chains, page splits and merges,
//! rollbacks, ALTER TABLE ADD/DROP COLUMN, TRUNCATE, DROP/CREATE TABLE).

use replog_convert::from_physical::{
    FromPhysicalOptions, FromPhysicalReport, create_table_sql, physical_bytes_to_logical,
};
use replog_core::reader::{LogReader, ReaderOptions, SegmentInput};
use replog_logical::LogicalRecord;
use replog_pagestore::{Options, PageStore};
use replog_store::replay::{ReplayOptions, replay};
use replog_store::snapshot::AppliedPosition;
use replog_store::{SimEnvironment, Store};
use replog_test_support::SmokeRng;
use std::fmt::Write as _;

/// Runs `statements` one by one on a page-engine leader (errors are part
/// of the workload: a failed statement is rolled back); returns the WAL,
/// the leader's digest and its dump.
fn lead(statements: &[String], page_size: usize) -> (Vec<u8>, u64, String) {
    let pages = PageStore::new(Options::with_page_size(page_size)).unwrap();
    let mut leader = Store::with_storage(pages, SimEnvironment::default());
    for s in statements {
        let _ = leader.execute(s);
    }
    let mut dump = Vec::new();
    leader.dump(&mut dump).unwrap();
    (
        leader.storage().wal_bytes().unwrap(),
        leader.digest(),
        String::from_utf8(dump).unwrap(),
    )
}

fn convert(wal: Vec<u8>) -> (Vec<u8>, FromPhysicalReport) {
    physical_bytes_to_logical(wal, &FromPhysicalOptions::default()).unwrap()
}

/// Replays a logical log on an in-memory store: must be clean (every
/// COMMIT's digest checked); returns the store's digest, dump and the
/// number of transactions applied.
fn follow(log: Vec<u8>, what: &str) -> (u64, String, u64) {
    let mut store = Store::new(SimEnvironment::default());
    let mut reader = LogReader::new(
        vec![SegmentInput::memory("converted", log)],
        ReaderOptions::default(),
    );
    let r = replay(
        &mut store,
        AppliedPosition::default(),
        &mut reader,
        &ReplayOptions::default(),
    )
    .unwrap();
    assert!(r.clean(), "{what}: replay not clean: {r:#?}");
    let mut dump = Vec::new();
    store.dump(&mut dump).unwrap();
    (store.digest(), String::from_utf8(dump).unwrap(), r.applied)
}

fn records(log: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    let mut reader = LogReader::new(
        vec![SegmentInput::memory("l", log.to_vec())],
        ReaderOptions::default(),
    );
    while let Some(ev) = reader.next() {
        if let replog_core::reader::Event::Frame(f) = ev.unwrap() {
            let t = f.record_type();
            if t >= 0x10 {
                let r = LogicalRecord::decode(f.body, f.body_offset()).unwrap();
                let text = match &r {
                    LogicalRecord::Ddl(d) => d.sql.to_string(),
                    _ => String::new(),
                };
                out.push((t, text));
            } else {
                out.push((t, String::new()));
            }
        }
    }
    out
}

fn check(statements: &[String], page_size: usize, what: &str) -> FromPhysicalReport {
    let (wal, digest, dump) = lead(statements, page_size);
    let (log, report) = convert(wal);
    let (d, follower_dump, applied) = follow(log, what);
    assert_eq!(d, digest, "{what}: digest");
    assert_eq!(follower_dump, dump, "{what}: tables");
    assert_eq!(applied, report.written, "{what}");
    assert_eq!(report.final_state, Some(digest), "{what}");
    report
}

fn lines(sql: &str) -> Vec<String> {
    sql.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn row_changes_and_schema_changes_are_recovered() {
    let sql = lines(
        "CREATE DATABASE shop;
         USE shop;
         CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, price DECIMAL(8,2) DEFAULT 1.50, note TEXT, UNIQUE KEY uname (name));
         INSERT INTO items (name, price, note) VALUES ('pen', 1.20, NULL), ('ink', 3.00, 'blue'), ('pad', 2.00, REPEAT('z', 3000));
         UPDATE items SET price = price + 1 WHERE id = 2;
         UPDATE items SET note = REPEAT('q', 2500) WHERE id = 3;
         DELETE FROM items WHERE id = 1;
         BEGIN;
         INSERT INTO items (name) VALUES ('tmp');
         DELETE FROM items WHERE name = 'tmp';
         UPDATE items SET name = 'INK2' WHERE id = 2;
         COMMIT;
         BEGIN;
         INSERT INTO items (name) VALUES ('gone');
         ROLLBACK;
         ALTER TABLE items ADD COLUMN qty INT NOT NULL DEFAULT 7 AFTER name;
         ALTER TABLE items DROP COLUMN note;
         CREATE TABLE t2 (a INT, b DATETIME(3) DEFAULT CURRENT_TIMESTAMP, c ENUM('x','y') NOT NULL DEFAULT 'y', PRIMARY KEY (a));
         INSERT INTO t2 (a) VALUES (1), (2);
         TRUNCATE TABLE items;
         INSERT INTO items (name) VALUES ('again');
         DROP TABLE t2;
         CREATE TABLE t2 (a INT PRIMARY KEY);
         INSERT INTO t2 VALUES (5);",
    );
    let report = check(&sql, 512, "hand-written");
    assert!(report.exact(), "{report:#?}");
    assert!(report.inserts >= 6 && report.updates >= 2 && report.deletes >= 1);
    assert!(report.ddl >= 7, "{report:#?}");
    // The statements' own order and the inserted-then-deleted row are not
    // carried; everything the pages show is.
    let (wal, _, _) = lead(&sql, 512);
    let (log, _) = convert(wal);
    let texts: Vec<String> = records(&log)
        .into_iter()
        .filter(|(t, _)| *t == 0x15)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(texts[0], "CREATE DATABASE `shop`");
    assert!(texts[1].starts_with("CREATE TABLE `shop`.`items` (`id` INT NOT NULL AUTO_INCREMENT"));
    assert!(
        texts.iter().any(|t| t
            == "ALTER TABLE `shop`.`items` ADD COLUMN `qty` INT NOT NULL DEFAULT 7 AFTER `name`"),
        "{texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t == "ALTER TABLE `shop`.`items` DROP COLUMN `note`")
    );
    assert!(texts.iter().any(|t| t == "DROP TABLE `shop`.`t2`"));
    let kinds: Vec<u8> = records(&log).into_iter().map(|(t, _)| t).collect();
    assert!(kinds.contains(&0x14), "TRUNCATE record expected");
}

/// A table without a primary key stores identical rows as one row with a
/// count of copies: adding, deleting and altering copies decodes to as
/// many row changes, and the follower ends with the leader's rows.
#[test]
fn identical_rows_of_a_keyless_table_are_each_a_row_change() {
    let sql = lines(
        "CREATE DATABASE d;
         USE d;
         CREATE TABLE bag (a INT, b VARCHAR(10));
         INSERT INTO bag VALUES (1, 'x'), (1, 'x'), (1, 'x'), (2, NULL);
         BEGIN;
         INSERT INTO bag VALUES (1, 'x'), (2, NULL);
         DELETE FROM bag WHERE a = 1 LIMIT 2;
         COMMIT;
         UPDATE bag SET b = 'y' WHERE a = 2 LIMIT 1;
         INSERT INTO bag VALUES (2, 'y'), (2, 'y');
         ALTER TABLE bag ADD COLUMN c INT NOT NULL DEFAULT 3;
         DELETE FROM bag WHERE b = 'y' LIMIT 1;
         INSERT INTO bag SELECT * FROM bag;",
    );
    let report = check(&sql, 512, "keyless copies");
    assert!(report.exact(), "{report:#?}");
    let (_, _, dump) = lead(&sql, 512);
    assert!(dump.matches("1\tx\t3").count() == 4, "{dump}");
}

#[test]
fn rendered_create_table_gives_the_same_definition() {
    let defs = [
        "CREATE TABLE d.a (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, b BOOLEAN DEFAULT 1, t TINYINT, s SMALLINT UNSIGNED NOT NULL DEFAULT 3, m MEDIUMINT, f FLOAT DEFAULT 1.1, g DOUBLE NOT NULL DEFAULT -2.5, dd DECIMAL(12,4) UNSIGNED DEFAULT 3.25)",
        "CREATE TABLE d.b (k VARCHAR(10) NOT NULL, n INT NOT NULL, c CHAR(3) DEFAULT 'ab', tx TEXT, tt TINYTEXT, mt MEDIUMTEXT, lt LONGTEXT, bi BINARY(4), vb VARBINARY(9) DEFAULT 'x', bl BLOB, lb LONGBLOB, PRIMARY KEY (n, k), UNIQUE KEY one (c), UNIQUE (bi, vb))",
        "CREATE TABLE d.c (id INT PRIMARY KEY, da DATE DEFAULT '2020-02-03', ti TIME(2) DEFAULT '-01:02:03.5', dt DATETIME(6) DEFAULT CURRENT_TIMESTAMP, ts TIMESTAMP(3) NULL DEFAULT '2021-01-01 00:00:00', y YEAR DEFAULT 2001, e ENUM('a','it''s','c') DEFAULT 'c', st SET('x','y','z') DEFAULT 'x,z', bt BIT(5) DEFAULT 3, j JSON, u VARCHAR(5) UNIQUE)",
    ];
    for sql in defs {
        let mut a = Store::new(SimEnvironment::default());
        a.execute("CREATE DATABASE d").unwrap();
        a.execute(sql).unwrap();
        let def = a.table_defs().into_iter().next().unwrap();
        let text = create_table_sql(&def).unwrap();
        let mut b = Store::new(SimEnvironment::default());
        b.execute("CREATE DATABASE d").unwrap();
        b.execute(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let def2 = b.table_defs().into_iter().next().unwrap();
        assert_eq!(def, def2, "{sql}\n→ {text}");
    }
}

#[test]
fn unique_values_swapped_in_one_transaction_replay_without_conflict() {
    let sql = lines(
        "CREATE DATABASE d;
         CREATE TABLE d.t (id INT PRIMARY KEY, u INT, v VARCHAR(5), UNIQUE KEY (u), UNIQUE KEY kv (v));
         INSERT INTO d.t VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c'), (4, 40, 'd');
         BEGIN;
         UPDATE d.t SET u = 99 WHERE id = 1;
         UPDATE d.t SET u = 10 WHERE id = 2;
         UPDATE d.t SET u = 20 WHERE id = 1;
         UPDATE d.t SET v = 'x' WHERE id = 4;
         INSERT INTO d.t VALUES (5, 40, 'd');
         UPDATE d.t SET v = 'D' WHERE id = 3;
         UPDATE d.t SET v = 'c' WHERE id = 5;
         COMMIT;
         BEGIN;
         UPDATE d.t SET u = 50 WHERE id = 3;
         UPDATE d.t SET u = 30 WHERE id = 4;
         COMMIT;",
    );
    let r = check(&sql, 512, "unique swaps");
    assert!(r.split_updates >= 2, "{r:#?}");
    assert!(!r.exact());
}

#[test]
fn damaged_and_torn_wal() {
    let sql = lines(
        "CREATE DATABASE d;
         CREATE TABLE d.t (id INT PRIMARY KEY, v TEXT);
         INSERT INTO d.t VALUES (1, 'a'), (2, 'b');
         UPDATE d.t SET v = 'c' WHERE id = 1;",
    );
    let (wal, _, _) = lead(&sql, 1024);
    // A flipped byte in the middle: an error naming the offset.
    let mut bad = wal.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x55;
    let e = physical_bytes_to_logical(bad, &FromPhysicalOptions::default()).unwrap_err();
    assert!(e.to_string().contains("offset"), "{e}");
    // A cut at the end: by default (strict) an error, tolerated with
    // tolerate-tail (the last transaction is then not converted).
    let cut = wal[..wal.len() - 5].to_vec();
    assert!(physical_bytes_to_logical(cut.clone(), &FromPhysicalOptions::default()).is_err());
    let (log, r) = physical_bytes_to_logical(
        cut,
        &FromPhysicalOptions {
            policy: replog_core::recovery::RecoveryPolicy::TolerateTail,
        },
    )
    .unwrap();
    assert!(!r.damage.is_empty() || r.uncommitted.is_some(), "{r:#?}");
    follow(log, "torn");
    // A logical log is refused.
    let (log, _) = convert(wal);
    assert!(physical_bytes_to_logical(log, &FromPhysicalOptions::default()).is_err());
}

struct T {
    name: String,
    extra: Vec<String>,
    has_u: bool,
}

/// A random workload: its statements may fail (a failed statement is
/// rolled back and is part of what the leader did).
fn workload(seed: u64) -> Vec<String> {
    let mut r = SmokeRng::new(seed);
    let mut out = vec!["CREATE DATABASE r".to_string(), "USE r".to_string()];
    let mut tables: Vec<T> = Vec::new();
    let mut next = 0;
    let mut next_col = 0;
    let mut create = |out: &mut Vec<String>, tables: &mut Vec<T>, r: &mut SmokeRng| {
        let name = format!("t{next}");
        next += 1;
        let has_u = r.below(2) == 0;
        out.push(format!(
            "CREATE TABLE {name} (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL DEFAULT 0, \
             b VARCHAR(3000) NULL, u INT NULL, c DECIMAL(10,2) NULL{})",
            if has_u { ", UNIQUE KEY uu (u)" } else { "" }
        ));
        tables.push(T {
            name,
            extra: Vec::new(),
            has_u,
        });
    };
    for _ in 0..1 + r.below(3) {
        create(&mut out, &mut tables, &mut r);
    }
    let b = |r: &mut SmokeRng| match r.below(6) {
        0 => "NULL".to_string(),
        1 => format!("REPEAT('x', {})", 200 + r.below(2500)),
        _ => format!("'v{}'", r.below(1000)),
    };
    let dml = |r: &mut SmokeRng, t: &T| -> String {
        let n = &t.name;
        match r.below(10) {
            0..=2 => {
                let rows: Vec<String> = (0..1 + r.below(6))
                    .map(|_| {
                        format!(
                            "({}, {}, {}, {}.{:02})",
                            r.below(100),
                            b(r),
                            if r.below(3) == 0 {
                                "NULL".into()
                            } else {
                                r.below(40).to_string()
                            },
                            r.below(1000),
                            r.below(100)
                        )
                    })
                    .collect();
                format!("INSERT INTO {n} (a, b, u, c) VALUES {}", rows.join(", "))
            }
            3 => format!(
                "UPDATE {n} SET a = a + {}, b = CONCAT(COALESCE(b, ''), 'y') WHERE id % {} = {}",
                1 + r.below(5),
                2 + r.below(3),
                r.below(2)
            ),
            4 => format!("UPDATE {n} SET b = {} WHERE id = {}", b(r), 1 + r.below(20)),
            5 => format!(
                "UPDATE {n} SET u = {} WHERE id = {}",
                r.below(40),
                1 + r.below(20)
            ),
            6 => format!("DELETE FROM {n} WHERE id = {}", 1 + r.below(20)),
            7 => format!("DELETE FROM {n} WHERE a < {}", r.below(40)),
            8 => format!(
                "UPDATE {n} SET id = id + 100 WHERE id = {}",
                1 + r.below(20)
            ),
            _ => match t.extra.first() {
                Some(col) => format!("UPDATE {n} SET {col} = {col} + 1"),
                None => format!("UPDATE {n} SET c = c + 1 WHERE a > {}", r.below(50)),
            },
        }
    };
    for _ in 0..40 + r.below(60) {
        if tables.is_empty() {
            create(&mut out, &mut tables, &mut r);
        }
        let ti = r.below(tables.len());
        match r.below(24) {
            0..=12 => {
                let s = dml(&mut r, &tables[ti]);
                out.push(s);
            }
            13..=16 => {
                out.push("BEGIN".into());
                for _ in 0..2 + r.below(6) {
                    let t = &tables[r.below(tables.len())];
                    out.push(dml(&mut r, t));
                }
                out.push(
                    if r.below(3) == 0 {
                        "ROLLBACK"
                    } else {
                        "COMMIT"
                    }
                    .into(),
                );
            }
            17 => {
                let col = format!("e{next_col}");
                next_col += 1;
                let pos = match r.below(3) {
                    0 => " FIRST".to_string(),
                    1 => " AFTER a".to_string(),
                    _ => String::new(),
                };
                out.push(format!(
                    "ALTER TABLE {} ADD COLUMN {col} INT NOT NULL DEFAULT {}{pos}",
                    tables[ti].name,
                    r.below(10)
                ));
                tables[ti].extra.push(col);
            }
            18 => {
                if let Some(col) = tables[ti].extra.pop() {
                    out.push(format!("ALTER TABLE {} DROP COLUMN {col}", tables[ti].name));
                } else if tables[ti].has_u {
                    out.push(format!("ALTER TABLE {} DROP COLUMN u", tables[ti].name));
                    tables[ti].has_u = false;
                }
            }
            19 => out.push(format!("TRUNCATE TABLE {}", tables[ti].name)),
            20 => {
                let t = tables.remove(ti);
                out.push(format!("DROP TABLE {}", t.name));
            }
            21 => out.push(format!("DELETE FROM {}", tables[ti].name)),
            _ => create(&mut out, &mut tables, &mut r),
        }
    }
    out
}

#[test]
fn random_workloads_replay_to_the_leaders_digest() {
    let n: u64 = std::env::var("REPLOG_FROM_PHYSICAL_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    for seed in 0..n {
        let sql = workload(0xF00D_0000 + seed);
        let page_size = [512, 1024, 4096][seed as usize % 3];
        let mut text = String::new();
        for s in &sql {
            let _ = writeln!(text, "{s};");
        }
        let r = check(
            &sql,
            page_size,
            &format!("seed {seed}, {page_size} B pages\n{text}"),
        );
        assert_eq!(r.alter_fixups, 0, "seed {seed}: {r:#?}");
        assert_eq!(r.recreated_tables, 0, "seed {seed}: {r:#?}");
    }
}

/// Trees three and four levels deep (512-byte pages, thousands of rows):
/// splits and merges under a root the transaction does not touch.
#[test]
fn deep_trees_split_and_merge_below_an_untouched_root() {
    let mut r = SmokeRng::new(7);
    let mut sql = lines(
        "CREATE DATABASE d;
         CREATE TABLE d.t (id INT PRIMARY KEY, k VARCHAR(30), v VARCHAR(200), UNIQUE KEY uk (k));",
    );
    for b in 0..60 {
        let rows: Vec<String> = (0..50)
            .map(|i| {
                let id = b * 50 + i;
                format!("({id}, 'key-{id}', REPEAT('v', {}))", r.below(60))
            })
            .collect();
        sql.push(format!("INSERT INTO d.t VALUES {}", rows.join(", ")));
    }
    for _ in 0..300 {
        sql.push("BEGIN".into());
        for _ in 0..1 + r.below(4) {
            let id = r.below(3500);
            sql.push(match r.below(4) {
                0 => format!(
                    "DELETE FROM d.t WHERE id BETWEEN {id} AND {}",
                    id + r.below(40)
                ),
                1 => format!(
                    "INSERT INTO d.t VALUES ({}, 'new-{id}', REPEAT('w', {}))",
                    3000 + id,
                    r.below(150)
                ),
                2 => format!(
                    "UPDATE d.t SET v = REPEAT('u', {}) WHERE id BETWEEN {id} AND {}",
                    r.below(200),
                    id + r.below(10)
                ),
                _ => format!("UPDATE d.t SET k = CONCAT(k, 'x') WHERE id = {id}"),
            });
        }
        sql.push("COMMIT".into());
    }
    let r = check(&sql, 512, "deep trees");
    assert!(r.exact(), "{r:#?}");
}

/// Re-frames `wal` with valid checksums, letting `mutate` change page
/// record bodies: damage the frame checks cannot see.
fn reframe(wal: &[u8], mutate: &mut dyn FnMut(&mut Vec<u8>)) -> Vec<u8> {
    use replog_core::reader::Event;
    use replog_core::writer::{LogWriter, WriterOptions};
    use replog_core::{Begin, Commit, LogKind};
    let mut reader = LogReader::new(
        vec![SegmentInput::memory("w", wal.to_vec())],
        ReaderOptions::default(),
    );
    let mut w: Option<LogWriter<Vec<u8>>> = None;
    while let Some(ev) = reader.next() {
        match ev.unwrap() {
            Event::Segment { header, .. } => {
                let mut o = WriterOptions::new(LogKind::Physical);
                o.page_size = header.page_size;
                o.page_format = header.page_format;
                w = Some(LogWriter::new(Vec::new(), &o).unwrap());
            }
            Event::Frame(f) => {
                let w = w.as_mut().unwrap();
                match f.record_type() {
                    0x01 => {
                        w.begin(&Begin::decode(f.body, 0).unwrap()).unwrap();
                    }
                    0x02 => {
                        w.commit(&Commit::decode(f.body, 0).unwrap()).unwrap();
                    }
                    _ => {
                        let mut b = f.body.to_vec();
                        mutate(&mut b);
                        if b.first().is_some_and(|&t| t >= 0x10) {
                            w.append(&b).unwrap();
                        }
                    }
                }
            }
            Event::Damage(d) => panic!("{d:?}"),
        }
    }
    w.unwrap().finish().unwrap()
}

/// Page contents damaged behind valid checksums: the converter reports an
/// error or converts, and never panics.
#[test]
fn damaged_pages_behind_valid_checksums_never_panic() {
    let sql = lines(
        "CREATE DATABASE d;
         CREATE TABLE d.t (id INT PRIMARY KEY, k VARCHAR(20), v TEXT, UNIQUE KEY (k));
         INSERT INTO d.t VALUES (1, 'a', REPEAT('x', 900)), (2, 'b', 'y'), (3, 'c', NULL);
         INSERT INTO d.t VALUES (4, 'd', 'z'), (5, 'e', REPEAT('w', 700)), (6, 'f', 'q');
         UPDATE d.t SET v = REPEAT('u', 800) WHERE id = 2;
         DELETE FROM d.t WHERE id = 1;
         ALTER TABLE d.t ADD COLUMN n INT NOT NULL DEFAULT 4;
         TRUNCATE TABLE d.t;
         INSERT INTO d.t VALUES (9, 'k', 'v', 1);
         DROP TABLE d.t;",
    );
    let (wal, _, _) = lead(&sql, 512);
    // Unchanged, the re-framed WAL converts.
    let same = reframe(&wal, &mut |_| {});
    physical_bytes_to_logical(same, &FromPhysicalOptions::default()).unwrap();
    let mut r = SmokeRng::new(99);
    let records = {
        let mut n = 0usize;
        reframe(&wal, &mut |_| n += 1);
        n
    };
    let (mut errors, mut ok) = (0, 0);
    for _ in 0..400 {
        let target = r.below(records);
        let (mut i, pos, val) = (0usize, r.below(1 << 16), r.below(256) as u8);
        let bad = reframe(&wal, &mut |b| {
            if i == target && b.len() > 21 {
                let at = 21 + pos % (b.len() - 21);
                b[at] = val;
            }
            i += 1;
        });
        match physical_bytes_to_logical(bad, &FromPhysicalOptions::default()) {
            Ok(_) => ok += 1,
            Err(_) => errors += 1,
        }
    }
    assert!(errors > 0 && ok > 0, "{errors} errors, {ok} conversions");
}
