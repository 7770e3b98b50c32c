//! The two PostgreSQL routes to the same rows give the same store: the WAL
//! of each server of `fixtures/postgres/logical/` (PostgreSQL 13 to 18)
//! decoded with its catalog, and pgoutput's capture of the same range
//! (protocol 1), each replayed into a reference store, give tables with the
//! same definitions (names, types, nullability, keys) and the same digests.
//! (Before they agreed, an enum column was `mood` with its labels and enum
//! values from the WAL, `public.mood` with text values from pgoutput;
//! nullability came from `attnotnull` on one side and the key flags on the
//! other.)

mod common;
use common::*;
use replog_core::txn::TxnSource;
use replog_store::conflict::ConflictPolicy;
use replog_store::replay::{ReplayOptions, replay_source};
use replog_store::snapshot::AppliedPosition;
use replog_store::{SimEnvironment, Store};

fn replay(src: &mut dyn TxnSource) -> Store {
    let mut store = Store::new(SimEnvironment::default());
    let opts = ReplayOptions {
        on_conflict: ConflictPolicy::Overwrite,
        ..ReplayOptions::default()
    };
    let rep = replay_source(&mut store, AppliedPosition::default(), src, &opts).unwrap();
    assert!(rep.stopped.is_none(), "{rep:?}");
    assert!(rep.applied > 10, "{rep:?}");
    store
}

/// Each table's columns as `name type null|not null [key]`.
fn columns(store: &Store, db: &str, table: &str) -> Vec<String> {
    let def = store.table_def(db, table).expect("table");
    def.columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{} {:?} {}{}",
                c.name,
                c.ty.to_column_type(),
                if c.nullable { "null" } else { "not null" },
                if def.primary_key.contains(&i) {
                    " key"
                } else {
                    ""
                }
            )
        })
        .collect()
}

#[test]
fn wal_and_pgoutput_replay_to_the_same_store_digest() {
    for server in SERVERS {
        same_store(server);
    }
}

fn same_store(server: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut wal = replog_pgheap::source::open(&wal_input_of(server, dir.path())).unwrap();
    let wal = replay(&mut wal);
    let p = dir.path().join("pgoutput-v1.copy");
    std::fs::write(&p, unzstd(&fixture_of(server).join("pgoutput-v1.copy.zst"))).unwrap();
    let input = replog_pglogical::PgLogicalInput::new(&p)
        .unwrap()
        .expect("pgoutput capture recognised");
    let pgo = replay(&mut input.open_source().unwrap());

    let names = wal.table_names();
    assert_eq!(names, pgo.table_names(), "{server}");
    assert!(names.len() >= 5, "{server}: {names:?}");
    let mut differ = Vec::new();
    for (db, t) in &names {
        let (a, b) = (columns(&wal, db, t), columns(&pgo, db, t));
        if a != b {
            differ.push(format!(
                "{server} {db}.{t} columns:\n  wal {a:?}\n  pgo {b:?}"
            ));
        }
        let (a, b) = (
            wal.table_digest(db, t).unwrap(),
            pgo.table_digest(db, t).unwrap(),
        );
        if a != b {
            differ.push(format!(
                "{server} {db}.{t} digest: wal {a:016x}, pgoutput {b:016x}"
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert_eq!(wal.digest(), pgo.digest(), "{server}");
}
