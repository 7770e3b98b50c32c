//! Leader → native log → follower, in memory: every fixture workload
//! encoded as both logs replays to the leader's digest; logical records with
//! key-only or no before-images and unchanged columns (as other writers
//! send them) apply too; schema changes re-announce relations.

use replog_core::LogKind;
use replog_core::reader::{LogReader, ReaderOptions};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, Value};
use replog_logical::{ColumnValue, Delete, ImageKind, LogicalRecord, OldImage, TupleBuf, Update};
use replog_store::logwrite::{LogicalEncoder, StatementEncoder, write_transaction};
use replog_store::replay::{ReplayOptions, replay};
use replog_store::snapshot::AppliedPosition;
use replog_store::{SimEnvironment, Store};
use std::path::PathBuf;

fn workload(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../fixtures/mariadb/workloads/{name}.sql"));
    std::fs::read_to_string(p).unwrap()
}

/// Runs `sql` statement by statement, writing both logs as transactions
/// commit (as `replog record` does).
type Writer = LogWriter<Vec<u8>>;

fn lead(sql: &str) -> (Store, Vec<u8>, Vec<u8>) {
    let (s, a, b) = lead_open(sql);
    (s, a.finish().unwrap(), b.finish().unwrap())
}

fn lead_open(sql: &str) -> (Store, Writer, Writer) {
    let mut store = Store::new(SimEnvironment::default());
    let mut se = StatementEncoder::new(1);
    let mut le = LogicalEncoder::new(1);
    let mut sw = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Statement)).unwrap();
    let mut lw = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).unwrap();
    for s in replog_store::script::split(sql).unwrap() {
        store.execute(s).unwrap();
        for tx in store.take_committed() {
            let schema = tx.is_ddl().then(|| store.table_defs());
            write_transaction(&mut sw, &se.encode(&tx).unwrap()).unwrap();
            write_transaction(&mut lw, &le.encode(&tx, schema.as_deref()).unwrap()).unwrap();
        }
    }
    (store, sw, lw)
}

fn follow(log: Vec<u8>) -> (Store, replog_store::replay::ReplayReport) {
    let mut f = Store::new(SimEnvironment::new(3, 33));
    let mut r = LogReader::from_bytes(log, ReaderOptions::default());
    let rep = replay(
        &mut f,
        AppliedPosition::default(),
        &mut r,
        &ReplayOptions::default(),
    )
    .unwrap();
    (f, rep)
}

#[test]
fn deterministic_workloads_round_trip_through_both_logs() {
    for name in ["types", "dml", "ddl", "txn"] {
        let (leader, stmt, logical) = lead(&workload(name));
        for (kind, log) in [("statement", stmt), ("logical", logical)] {
            let (f, rep) = follow(log);
            assert!(rep.clean(), "{name} {kind}: {rep:?}");
            assert_eq!(f.digest(), leader.digest(), "{name} {kind}");
            for (db, t) in leader.table_names() {
                assert_eq!(
                    f.dump_table(&db, &t).unwrap(),
                    leader.dump_table(&db, &t).unwrap()
                );
            }
        }
    }
}

#[test]
fn alter_table_bumps_the_relation_version_in_the_ddl_transaction() {
    let (_, _, logical) = lead(
        "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY);
         INSERT INTO t VALUES (1); ALTER TABLE t ADD COLUMN v INT DEFAULT 7;
         INSERT INTO t VALUES (2, 3); DROP TABLE t; CREATE TABLE t (k INT PRIMARY KEY);
         INSERT INTO t VALUES (9);",
    );
    let mut r = LogReader::from_bytes(logical, ReaderOptions::default());
    let mut seen = Vec::new();
    while let Some(ev) = r.next() {
        if let replog_core::reader::Event::Frame(f) = ev.unwrap()
            && f.record_type() >= 0x10
        {
            match LogicalRecord::decode(f.body, 0).unwrap() {
                LogicalRecord::Relation(rel) => seen.push(format!(
                    "REL {} v{} {}",
                    rel.relation_id,
                    rel.schema_version,
                    rel.columns.len()
                )),
                LogicalRecord::Ddl(d) => seen.push(format!("DDL {}", d.sql)),
                other => seen.push(replog_logical::type_name(other.record_type()).to_string()),
            }
        }
    }
    assert_eq!(
        seen,
        [
            "DDL CREATE DATABASE d",
            "DDL CREATE TABLE t (id INT PRIMARY KEY)",
            "REL 1 v1 1",
            "INSERT",
            "DDL ALTER TABLE t ADD COLUMN v INT DEFAULT 7",
            "REL 1 v2 2",
            "INSERT",
            "DDL DROP TABLE t",
            "DDL CREATE TABLE t (k INT PRIMARY KEY)",
            "REL 2 v1 1",
            "INSERT",
        ]
    );
}

#[test]
fn key_only_and_missing_before_images_apply() {
    let (_, _, mut w) = lead_open(
        "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, a INT, b TEXT);
              INSERT INTO t VALUES (1, 10, 'x'), (2, 20, 'y'), (3, 30, 'z');",
    );
    // Append a transaction as a key-only writer would: UPDATE without a
    // before-image and an unchanged TEXT column, UPDATE with a key-only
    // image changing the key, DELETE with a key-only image.
    let tup = |vals: Vec<ColumnValue<'static>>| TupleBuf::from_values(vals).unwrap();
    let v = |i: i64| ColumnValue::Value(Value::Int(i));
    let u = ColumnValue::Unchanged;
    w.begin(&Begin {
        txid: 99,
        timestamp_us: 0,
        server_id: 2,
        origin: "",
    })
    .unwrap();
    let after1 = tup(vec![v(1), v(11), u.clone()]);
    let before2 = tup(vec![v(2), u.clone(), u.clone()]);
    let after2 = tup(vec![v(20), v(21), u.clone()]);
    let before3 = tup(vec![v(3), u.clone(), u.clone()]);
    for rec in [
        LogicalRecord::Update(Update {
            relation_id: 1,
            before: None,
            after: after1.as_tuple(),
        }),
        LogicalRecord::Update(Update {
            relation_id: 1,
            before: Some(OldImage {
                kind: ImageKind::Key,
                values: before2.as_tuple(),
            }),
            after: after2.as_tuple(),
        }),
        LogicalRecord::Delete(Delete {
            relation_id: 1,
            before: OldImage {
                kind: ImageKind::Key,
                values: before3.as_tuple(),
            },
        }),
    ] {
        let mut b = Vec::new();
        rec.encode(&mut b).unwrap();
        w.append(&b).unwrap();
    }
    w.commit(&Commit {
        txid: 99,
        timestamp_us: 0,
        state_before: None,
        state_after: None,
    })
    .unwrap();
    let mut r = LogReader::from_bytes(w.finish().unwrap(), ReaderOptions::default());
    let mut f = Store::new(SimEnvironment::default());
    let rep = replay(
        &mut f,
        AppliedPosition::default(),
        &mut r,
        &ReplayOptions::default(),
    )
    .unwrap();
    assert!(rep.clean(), "{rep:?}");
    assert_eq!(rep.position.last_txid, 99);
    assert_eq!(f.dump_table("d", "t").unwrap(), "1\t11\tx\n20\t21\ty\n");
}
