//! Physical round trip of the MariaDB fixture workloads: the reference store
//! runs each workload over a `PageStore` (and, for comparison, over
//! `MemStorage`); a fresh store rebuilt from the physical WAL alone must
//! dump and digest exactly like the leader, page for page.

use replog_pagestore::{Options, PageStore, execute_committing};
use replog_store::{SimEnvironment, Store};
use std::path::PathBuf;

fn workload(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../fixtures/mariadb/workloads/{name}.sql"));
    std::fs::read_to_string(p).unwrap()
}

fn dump<S: replog_store::Storage>(s: &Store<S>) -> String {
    let mut out = Vec::new();
    s.dump(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn round_trip(name: &str, page_size: usize) {
    let sql = workload(name);
    let opts = Options {
        checkpoint_every: 10,
        ..Options::with_page_size(page_size)
    };
    let mut mem = Store::new(SimEnvironment::default());
    mem.execute_script(&sql)
        .unwrap_or_else(|e| panic!("{name}: {e}"));

    let mut leader = Store::with_storage(
        PageStore::new(opts.clone()).unwrap(),
        SimEnvironment::default(),
    );
    execute_committing(&mut leader, &sql).unwrap_or_else(|e| panic!("{name}/{page_size}: {e}"));
    assert!(!leader.in_transaction());
    assert_eq!(dump(&leader), dump(&mem), "{name}: page store vs memory");
    assert_eq!(leader.digest(), mem.digest(), "{name}: digest");
    leader.storage().verify().unwrap();

    let wal = leader.storage().wal_bytes().unwrap();
    let wal_len = wal.len();
    let (rebuilt, rep) = PageStore::from_wal_bytes(wal, &opts).unwrap();
    assert!(rep.torn_tail.is_none() && rep.uncommitted_txid.is_none());
    // One WAL transaction per store transaction, plus transaction 0 (the
    // store's creation), with the same txids.
    assert_eq!(
        rep.transactions,
        leader.committed().len() as u64 + 1,
        "{name}"
    );
    assert_eq!(
        rep.last_commit.map(|c| c.0),
        Some(leader.committed().last().map_or(0, |t| t.txid))
    );
    assert!(rep.state_gaps.is_empty(), "{name}: {:?}", rep.state_gaps);
    assert_eq!(
        rebuilt.committed_pages(),
        leader.storage().committed_pages()
    );
    let follower = Store::with_storage(rebuilt, SimEnvironment::new(3, 4));
    assert_eq!(dump(&follower), dump(&leader), "{name}: rebuilt dump");
    assert_eq!(follower.digest(), leader.digest(), "{name}: rebuilt digest");
    for (db, t) in leader.table_names() {
        assert_eq!(follower.table_def(&db, &t), leader.table_def(&db, &t));
    }
    // The COMMIT records carry the store digest chain.
    let last = leader.committed().last().map(|t| t.state_after);
    assert_eq!(last, Some(leader.digest()));
    eprintln!(
        "{name}/{page_size}: {} store txs, WAL {wal_len} bytes, {} pages, {:?}",
        leader.committed().len(),
        leader.storage().page_count(),
        leader.storage().wal_stats()
    );
}

#[test]
fn fixtures_round_trip_8k() {
    for w in ["types", "dml", "ddl", "txn", "unsafe"] {
        round_trip(w, 8192);
    }
}

#[test]
fn fixtures_round_trip_4k_and_64k() {
    for w in ["types", "dml", "ddl", "txn", "unsafe"] {
        round_trip(w, 4096);
        round_trip(w, 65536);
    }
}

#[test]
fn fixtures_round_trip_512() {
    for w in ["types", "dml", "ddl", "txn", "unsafe"] {
        round_trip(w, 512);
    }
}
