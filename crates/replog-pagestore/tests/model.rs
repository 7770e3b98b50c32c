//! Model-based test: the same random operations (DROP DATABASE among
//! them) on `PageStore` and on the store's `MemStorage` give the same results, contents and digests; after
//! every transaction, and for a store rebuilt from the physical WAL alone.
//! One table kind has no primary key, so identical rows (copies) occur.

mod common;

use common::*;
use replog_core::Value;
use replog_pagestore::{Options, PageStore};
use replog_store::storage::KeyConflict;
use replog_store::{MemStorage, Row, Storage, TableDef, TableId};
use replog_test_support::SmokeRng;

fn random_row(rng: &mut SmokeRng, def: &TableDef) -> Row {
    let big = |rng: &mut SmokeRng| -> usize {
        match rng.below(10) {
            0 => 2000 + rng.below(80_000),
            1..=3 => rng.below(300),
            _ => rng.below(40),
        }
    };
    if def.primary_key.is_empty() {
        // Few distinct rows, so identical ones (copies) are frequent; the
        // unique column mostly NULL (copies of a non-NULL one collide).
        let n = match rng.below(6) {
            0 => Value::Int(rng.below(20) as i64),
            _ => Value::Null,
        };
        // Some longer than a key may be: the row identity (the whole
        // content) is then stored cut and hashed.
        let note = match rng.below(5) {
            0 => Value::Null,
            1 => text("y".repeat(3000 + rng.below(3)) + &rng.below(2).to_string()),
            _ => text(format!("note {}", rng.below(3))),
        };
        let tag = match rng.below(3) {
            0 => text("A"),
            1 => text("a"),
            _ => Value::Null,
        };
        vec![tag, n, note]
    } else if def.columns.len() == 3 && def.unique_keys.len() == 1 {
        let code = match rng.below(4) {
            0 => Value::Null,
            _ => text(format!("c{}", rng.below(30))),
        };
        let n = big(rng);
        let body = if rng.below(8) == 0 {
            Value::Null
        } else {
            text("x".repeat(n) + &rng.below(1000).to_string())
        };
        vec![Value::Int(rng.below(200) as i64), code, body]
    } else {
        let n = big(rng);
        vec![
            text(format!("key-{}", rng.below(25))),
            Value::Int(rng.below(8) as i64 - 4),
            bytes(rng.bytes(n)),
        ]
    }
}

fn same_result<T: PartialEq + std::fmt::Debug>(
    a: Result<T, replog_store::Error>,
    b: Result<T, replog_store::Error>,
    ctx: &str,
) {
    match (a, b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "{ctx}"),
        (Err(x), Err(y)) => assert_eq!((x.kind(), x.message()), (y.kind(), y.message()), "{ctx}"),
        (x, y) => panic!("{ctx}: page store {x:?}, memory {y:?}"),
    }
}

fn run(seed: u64, page_size: usize, steps: usize) {
    let mut rng = SmokeRng::new(seed);
    let opts = Options {
        checkpoint_every: 5,
        ..Options::with_page_size(page_size)
    };
    let mut p = PageStore::new(opts.clone()).unwrap();
    let mut m = MemStorage::new();
    let mut snapshot = m.clone();
    let dbs = ["d", "e"];
    let mut names = 0;
    let mut inserted = 0;
    for step in 0..steps {
        let ctx = format!("seed {seed} step {step}");
        let ids: Vec<TableId> = m.tables();
        let pick = |rng: &mut SmokeRng| ids.get(rng.below(ids.len())).copied();
        match rng.below(100) {
            0..=1 => {
                let d = dbs[rng.below(2)];
                same_result(p.create_database(d), m.create_database(d), &ctx);
            }
            2..=4 => {
                names += 1;
                let d = dbs[rng.below(2)];
                let name = format!("t{}", names % 7);
                let def = match rng.below(3) {
                    0 => table_a(d, &name),
                    1 => table_b(d, &name),
                    _ => table_c(d, &name),
                };
                same_result(p.create_table(def.clone()), m.create_table(def), &ctx);
            }
            5 => {
                if rng.below(6) == 0 {
                    // DROP DATABASE: its tables go with it.
                    let d = dbs[rng.below(2)];
                    same_result(p.drop_database(d), m.drop_database(d), &ctx);
                } else if let Some(id) = pick(&mut rng) {
                    same_result(p.drop_table(id), m.drop_table(id), &ctx);
                }
            }
            6 => {
                if let Some(id) = pick(&mut rng) {
                    same_result(p.truncate(id), m.truncate(id), &ctx);
                }
            }
            7 => {
                // ALTER-like: a new version keeping the rows.
                if let Some(id) = pick(&mut rng) {
                    let mut def = m.def(id).unwrap().clone();
                    def.version += 1;
                    let mut rows: Vec<Row> =
                        m.keys(id).iter().filter_map(|k| m.get(id, k)).collect();
                    if rng.below(3) == 0 {
                        rows.push(random_row(&mut rng, &def));
                    }
                    same_result(
                        p.replace_table(id, def.clone(), rows.clone()),
                        m.replace_table(id, def, rows),
                        &ctx,
                    );
                }
            }
            8..=9 => {
                if let Some(id) = pick(&mut rng) {
                    let v = rng.below(1000) as u64;
                    p.set_auto_increment(id, v);
                    m.set_auto_increment(id, v);
                }
            }
            10..=49 => {
                if let Some(id) = pick(&mut rng) {
                    let row = random_row(&mut rng, m.def(id).unwrap());
                    // Keys as the page store stores them (a long row
                    // identity cut and hashed, store.md §7.6).
                    let max = replog_pagestore::btree::max_key(p.page_size());
                    let def = m.def(id).unwrap().clone();
                    let stored = |k: Vec<u8>| {
                        replog_pagestore::catalog::stored_key(&def, &k, max).into_owned()
                    };
                    assert_eq!(
                        p.find_conflict(id, &row, None),
                        m.find_conflict(id, &row, None).map(|c| KeyConflict {
                            existing: stored(c.existing),
                            ..c
                        }),
                        "{ctx}"
                    );
                    let r = m.insert(id, row.clone());
                    inserted += usize::from(r.is_ok());
                    let r = r.map(stored);
                    same_result(p.insert(id, row), r, &ctx);
                }
            }
            50..=64 => {
                if let Some(id) = pick(&mut rng) {
                    let keys = m.keys(id);
                    if let Some(k) = keys.get(rng.below(keys.len() + 1)) {
                        let row = random_row(&mut rng, m.def(id).unwrap());
                        same_result(p.update(id, k, row.clone()), m.update(id, k, row), &ctx);
                    }
                }
            }
            65..=84 => {
                if let Some(id) = pick(&mut rng) {
                    let keys = m.keys(id);
                    let k = keys
                        .get(rng.below(keys.len() + 1))
                        .cloned()
                        .unwrap_or_else(|| vec![1, 2, 3]);
                    same_result(p.delete(id, &k), m.delete(id, &k), &ctx);
                }
            }
            85..=94 => {
                p.commit().unwrap();
                snapshot = m.clone();
                assert_same(&p, &m, &dbs, &ctx);
                p.verify().unwrap_or_else(|e| panic!("{ctx}: {e}"));
            }
            _ => {
                p.rollback().unwrap();
                m = snapshot.clone();
                assert_same(&p, &m, &dbs, &ctx);
            }
        }
    }
    p.commit().unwrap();
    assert_same(&p, &m, &dbs, "end");
    p.verify().unwrap();

    // The physical WAL alone rebuilds the same store, page for page.
    let wal = p.wal_bytes().unwrap();
    let (q, rep) = PageStore::from_wal_bytes(wal, &opts).unwrap();
    assert!(rep.torn_tail.is_none() && rep.uncommitted_txid.is_none());
    assert_same(&q, &m, &dbs, "rebuilt");
    assert_eq!(q.committed_pages(), p.committed_pages(), "pages differ");
    let st = p.wal_stats();
    eprintln!(
        "seed {seed}: {inserted} inserts, {} pages, {st:?}",
        p.page_count()
    );
    assert!(inserted > 50 && st.checkpoints > 1 && st.deltas > 0);
}

#[test]
fn model_small_pages() {
    for seed in 0..6 {
        run(seed, 512, 700);
    }
}

#[test]
fn model_default_pages() {
    for seed in 100..104 {
        run(seed, 8192, 700);
    }
}

#[test]
fn model_4k_long() {
    run(7, 4096, 3000);
}
