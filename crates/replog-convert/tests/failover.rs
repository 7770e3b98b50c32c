//! A failover with asynchronous replication, simulated on reference
//! stores: the old leader runs a workload with an AUTO_INCREMENT table and
//! logs it; a follower applies only a prefix (replication lag), is
//! promoted, and runs its own inserts as the new leader, logging the
//! replicated prefix and its own transactions. The failover report must
//! name exactly the old leader's transactions past the prefix and the keys
//! both leaders assigned to different rows — the ground truth is taken
//! from the stores' own captured transactions, not from the report's
//! replay. Also: the state diff of two logs of different formats of one
//! workload, and of a leader and the lagging follower.

use replog_convert::failover::{FailoverOptions, Fate, LostTx, ReusedKey, failover};
use replog_convert::state_diff::{RowStatus, StateInput, StateOptions, state_diff};
use replog_core::LogKind;
use replog_core::Value;
use replog_core::reader::SegmentInput;
use replog_core::writer::{LogWriter, WriterOptions};
use replog_store::logwrite::{LogicalEncoder, StatementEncoder, write_transaction};
use replog_store::{CommittedTransaction, RowChange, SimEnvironment, Store};
use std::collections::{BTreeMap, BTreeSet};

/// A log being written in one format by one server.
struct Log {
    kind: LogKind,
    w: LogWriter<Vec<u8>>,
    st: StatementEncoder,
    lo: LogicalEncoder,
}

impl Log {
    fn new(kind: LogKind, server_id: u32) -> Log {
        Log {
            kind,
            w: LogWriter::new(Vec::new(), &WriterOptions::new(kind)).unwrap(),
            st: StatementEncoder::new(server_id),
            lo: LogicalEncoder::new(server_id),
        }
    }

    /// Logs `tx`; `origin`: re-log under another server's identity (as
    /// GTID-preserving replication does).
    fn write<S: replog_store::Storage>(
        &mut self,
        store: &Store<S, SimEnvironment>,
        tx: &CommittedTransaction,
        origin: Option<(u32, u64)>,
    ) {
        let mut enc = match self.kind {
            LogKind::Statement => self.st.encode(tx).unwrap(),
            _ => self.lo.encode(tx, Some(&store.table_defs())).unwrap(),
        };
        if let Some((server, txid)) = origin {
            enc.server_id = server;
            enc.origin = format!("0-{server}-{txid}");
        }
        write_transaction(&mut self.w, &enc).unwrap();
    }

    fn finish(self) -> Vec<u8> {
        self.w.finish().unwrap()
    }
}

fn seg(name: &str, bytes: &[u8]) -> Vec<SegmentInput> {
    vec![SegmentInput::memory(name, bytes.to_vec())]
}

/// The ids inserted into d.t by `txs`, with the row's name.
fn inserted(txs: &[CommittedTransaction]) -> BTreeMap<i64, (u64, String)> {
    let mut out = BTreeMap::new();
    for tx in txs {
        for c in tx.changes() {
            if let RowChange::Insert { table, row } = c
                && table.name == "t"
            {
                let (Value::Int(id), Value::Text(name)) = (&row[0], &row[1]) else {
                    panic!("unexpected row {row:?}");
                };
                out.insert(*id, (tx.txid, name.to_string()));
            }
        }
    }
    out
}

struct Failover {
    /// The old leader's logs (statement, logical).
    a: BTreeMap<&'static str, Vec<u8>>,
    /// The new leader's logs: replicated prefix re-logged under the old
    /// leader's origin, and under its own.
    b_origin: BTreeMap<&'static str, Vec<u8>>,
    b_own: BTreeMap<&'static str, Vec<u8>>,
    /// Old leader's transactions past the prefix (the discarded ones).
    discarded: BTreeSet<u64>,
    /// Keys (id) both assigned: (old leader's txid, new leader's txid).
    reused: BTreeMap<i64, (u64, u64)>,
    /// The follower's log at promotion (the prefix only), logical.
    follower_at_promotion: Vec<u8>,
}

fn simulate(prefix: usize) -> Failover {
    let mut leader = Store::new(SimEnvironment::default());
    let mut a_st = Log::new(LogKind::Statement, 1);
    let mut a_lo = Log::new(LogKind::Logical, 1);
    let mut leader_txs = Vec::new();
    let mut sql = vec![
        "CREATE DATABASE d".to_string(),
        "CREATE TABLE d.t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, n INT)"
            .into(),
        "CREATE TABLE d.audit (k INT PRIMARY KEY, note VARCHAR(20))".into(),
    ];
    for i in 1..=10 {
        sql.push(format!("INSERT INTO d.t (name, n) VALUES ('old-{i}', {i})"));
    }
    sql.push("UPDATE d.t SET n = 100 WHERE id = 3".into());
    // The tail the follower never receives: inserts 11..15 (one
    // multi-row), an update and an audit row.
    sql.push("INSERT INTO d.t (name, n) VALUES ('old-11', 11)".into());
    sql.push("INSERT INTO d.t (name, n) VALUES ('old-12', 12), ('old-13', 13)".into());
    sql.push("UPDATE d.t SET n = n + 1 WHERE id <= 2".into());
    sql.push("INSERT INTO d.audit VALUES (1, 'gone')".into());
    sql.push("INSERT INTO d.t (name, n) VALUES ('old-14', 14)".into());
    sql.push("INSERT INTO d.t (name, n) VALUES ('old-15', 15)".into());
    for s in &sql {
        leader.execute(s).unwrap();
        for tx in leader.take_committed() {
            a_st.write(&leader, &tx, None);
            a_lo.write(&leader, &tx, None);
            leader_txs.push(tx);
        }
    }
    assert!(prefix < leader_txs.len());

    // The follower applies the prefix from the statement log's content
    // (statement-based apply), capturing what it did, as a server with
    // log_slave_updates logs it.
    let mut follower = Store::new(SimEnvironment::new(1_700_000_000_000_000, 7));
    let mut b_origin = [
        Log::new(LogKind::Statement, 2),
        Log::new(LogKind::Logical, 2),
    ];
    let mut b_own = [
        Log::new(LogKind::Statement, 2),
        Log::new(LogKind::Logical, 2),
    ];
    let mut f_lo = Log::new(LogKind::Logical, 2);
    for tx in &leader_txs[..prefix] {
        follower.replay_transaction(tx).unwrap();
        for ftx in follower.take_committed() {
            for l in &mut b_origin {
                l.write(&follower, &ftx, Some((1, tx.txid)));
            }
            for l in &mut b_own {
                l.write(&follower, &ftx, None);
            }
            f_lo.write(&follower, &ftx, None);
        }
    }
    let follower_at_promotion = f_lo.finish();
    // Promotion: the new leader's own writes. Its auto-increment counter
    // stands where replication left it, so it hands out 11, 12, 13 again.
    let mut own_txs = Vec::new();
    for s in [
        "INSERT INTO d.t (name, n) VALUES ('new-a', 1)",
        "INSERT INTO d.t (name, n) VALUES ('new-b', 2), ('new-c', 3)",
        "UPDATE d.t SET n = 7 WHERE id = 4",
        "INSERT INTO d.audit VALUES (2, 'new')",
    ] {
        follower.execute(s).unwrap();
        for tx in follower.take_committed() {
            for l in b_origin.iter_mut().chain(b_own.iter_mut()) {
                l.write(&follower, &tx, None);
            }
            own_txs.push(tx);
        }
    }
    let names = ["statement", "logical"];
    let finish = |logs: [Log; 2]| -> BTreeMap<&'static str, Vec<u8>> {
        names.into_iter().zip(logs.map(Log::finish)).collect()
    };
    let discarded: BTreeSet<u64> = leader_txs[prefix..].iter().map(|t| t.txid).collect();
    let old = inserted(&leader_txs[prefix..]);
    let new = inserted(&own_txs);
    let reused = old
        .iter()
        .filter_map(|(id, (ta, na))| {
            let (tb, nb) = new.get(id)?;
            (na != nb).then_some((*id, (*ta, *tb)))
        })
        .collect();
    Failover {
        a: names
            .into_iter()
            .zip([a_st.finish(), a_lo.finish()])
            .collect(),
        b_origin: finish(b_origin),
        b_own: finish(b_own),
        discarded,
        reused,
        follower_at_promotion,
    }
}

fn report(
    a: &[u8],
    b: &[u8],
    content_only: bool,
) -> (
    replog_convert::failover::FailoverSummary,
    Vec<LostTx>,
    Vec<ReusedKey>,
) {
    let mut lost = Vec::new();
    let mut reused = Vec::new();
    let s = failover(
        seg("a", a),
        &mut || Ok(seg("b", b)),
        &FailoverOptions {
            content_only,
            ..FailoverOptions::default()
        },
        &mut |l| {
            lost.push(l.clone());
            Ok(())
        },
        &mut |r| {
            reused.push(r.clone());
            Ok(())
        },
    )
    .unwrap();
    (s, lost, reused)
}

#[test]
fn failover_report_finds_discarded_transactions_and_reused_keys() {
    let prefix = 14; // 3 DDL, 10 inserts, 1 update
    let f = simulate(prefix);
    assert_eq!(f.discarded.len(), 6);
    assert_eq!(
        f.reused.keys().copied().collect::<Vec<_>>(),
        vec![11, 12, 13]
    );
    let mut cases = 0;
    for (an, a) in &f.a {
        for (variant, logs) in [("origin kept", &f.b_origin), ("own origin", &f.b_own)] {
            for (bn, b) in logs {
                for content_only in [false, true] {
                    let what = format!("A {an}, B {bn} ({variant}), content only {content_only}");
                    let (s, lost, reused) = report(a, b, content_only);
                    assert!(!s.clean(), "{what}");
                    let got: BTreeSet<u64> = lost.iter().map(|l| l.txid).collect();
                    assert_eq!(got, f.discarded, "{what}: discarded");
                    assert!(lost.iter().all(|l| l.fate == Fate::Discarded), "{what}");
                    assert_eq!(s.discarded, 6, "{what}");
                    assert_eq!(s.diverged, 0, "{what}");
                    assert_eq!(s.transactions_a, 20, "{what}");
                    assert_eq!(s.transactions_b, prefix as u64 + 4, "{what}");
                    assert_eq!(s.new_leader_own, 4, "{what}");
                    let by = s.replicated_by_origin + s.replicated_by_content;
                    assert_eq!(by, prefix as u64, "{what}");
                    if variant == "origin kept" && !content_only {
                        assert_eq!(s.replicated_by_origin, prefix as u64, "{what}");
                    } else {
                        assert_eq!(s.replicated_by_origin, 0, "{what}");
                    }
                    let got: BTreeMap<String, (u64, u64)> = reused
                        .iter()
                        .map(|r| (r.key.clone(), (r.txid_a, r.txid_b)))
                        .collect();
                    let want: BTreeMap<String, (u64, u64)> = f
                        .reused
                        .iter()
                        .map(|(id, t)| (format!("id={id}"), *t))
                        .collect();
                    assert_eq!(got, want, "{what}: reused keys");
                    for r in &reused {
                        assert_eq!(r.table, "d.t");
                        assert!(r.row_a.contains("name=old-"), "{what}: {r:?}");
                        assert!(r.row_b.contains("name=new-"), "{what}: {r:?}");
                        assert!(r.columns.iter().any(|c| c.column == "name"), "{what}");
                    }
                    // The discarded multi-row insert is described as such.
                    assert!(
                        lost.iter().any(|l| l.summary == "2 insert(s) into d.t"),
                        "{what}: {lost:?}"
                    );
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 16);
}

#[test]
fn no_lag_loses_nothing() {
    // The follower had everything: nothing discarded, nothing reused,
    // even though its own inserts continue the same table.
    let f = simulate(19);
    assert_eq!(f.discarded.len(), 1);
    let (s, lost, _) = report(&f.a["logical"], &f.b_own["logical"], false);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0].summary, "1 insert(s) into d.t");
    assert_eq!(s.reused_keys, 1);
    // Against the whole old log re-logged by a follower that got all of it.
    let full = simulate(19);
    let (s2, lost2, reused2) = report(&full.a["statement"], &full.a["logical"], false);
    assert!(s2.clean(), "{s2:?} {lost2:?} {reused2:?}");
    // One server id on both sides: origins are ambiguous, content decides.
    assert!(!s2.origin_matching);
    assert_eq!(s2.replicated_by_content, 20);
    assert!(
        s2.notes[0].contains("matched by content only"),
        "{:?}",
        s2.notes
    );
}

#[test]
fn physical_logs_are_refused() {
    let f = simulate(14);
    // A logical log in the place of a physical one is fine; a physical
    // segment header is refused with a clear message.
    let w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Physical)).unwrap();
    let bytes = w.finish().unwrap();
    let err = failover(
        seg("a", &f.a["logical"]),
        &mut || Ok(seg("b", &bytes)),
        &FailoverOptions::default(),
        &mut |_| Ok(()),
        &mut |_| Ok(()),
    )
    .expect_err("a physical log is refused");
    assert!(err.to_string().contains("statement or logical"), "{err}");
}

fn state(
    a: StateInput,
    b: StateInput,
) -> (
    replog_convert::state_diff::StateSummary,
    Vec<replog_convert::state_diff::DifferingRow>,
) {
    let mut rows = Vec::new();
    let s = state_diff(a, b, &StateOptions::default(), &mut |_| Ok(()), &mut |r| {
        rows.push(r.clone());
        Ok(())
    })
    .unwrap();
    (s, rows)
}

#[test]
fn state_diff_of_formats_and_of_the_lagging_follower() {
    let f = simulate(14);
    // Statement and logical logs of one leader: the same after every step.
    let (s, rows) = state(
        StateInput::Log(seg("a", &f.a["statement"])),
        StateInput::Log(seg("b", &f.a["logical"])),
    );
    assert!(s.identical(), "{s:?}");
    assert!(rows.is_empty());
    assert_eq!(s.steps, 20);
    assert_eq!(s.paired, 20);
    // The old leader against the follower at promotion: equal through
    // txid 14, then the old leader's txid 15 makes the first difference;
    // at the end rows 11..15 are only in A, rows 1 and 2 differ in n.
    let (s, rows) = state(
        StateInput::Log(seg("a", &f.a["logical"])),
        StateInput::Log(seg("b", &f.follower_at_promotion)),
    );
    assert!(!s.identical());
    let d = s.first_divergence.as_ref().expect("a divergence");
    assert_eq!((d.txid_a, d.txid_b), (Some(15), None));
    assert_eq!(d.tables, vec!["d.t".to_string()]);
    assert_eq!(s.only_a, 6);
    assert_eq!(s.paired, 14);
    let only_a: Vec<&str> = rows
        .iter()
        .filter(|r| r.status == RowStatus::OnlyA)
        .map(|r| r.key.as_str())
        .collect();
    assert_eq!(
        only_a,
        vec!["k=1", "id=11", "id=12", "id=13", "id=14", "id=15"]
    );
    let diff: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .filter(|r| r.status == RowStatus::Different)
        .flat_map(|r| {
            r.columns.iter().map(|c| {
                (
                    r.key.as_str(),
                    c.column.as_str(),
                    c.a.as_str(),
                    c.b.as_str(),
                )
            })
        })
        .collect();
    assert_eq!(diff, vec![("id=1", "n", "2", "1"), ("id=2", "n", "3", "2")]);
    assert_eq!(s.stores.tables_different, 2);
}

#[test]
fn snapshot_stores_load_and_compare() {
    use replog_convert::state_diff::load_store;
    use replog_store::snapshot::{AppliedPosition, save};
    let f = simulate(14);
    let tmp = tempfile::tempdir().unwrap();
    assert!(load_store(tmp.path()).unwrap().is_none());
    // The follower at promotion, saved as a snapshot, against the old
    // leader's statement log: rows 11..15, the audit row and the two
    // updated rows differ; against its own log it is the same.
    let mut follower = Store::new(SimEnvironment::default());
    let mut r = replog_store::replay::replay(
        &mut follower,
        AppliedPosition::default(),
        &mut replog_core::reader::LogReader::new(
            seg("f", &f.follower_at_promotion),
            Default::default(),
        ),
        &Default::default(),
    )
    .unwrap();
    assert!(r.clean());
    r.position.digest = follower.digest();
    save(tmp.path(), &follower, &r.position).unwrap();
    let store = || StateInput::Store(Box::new(load_store(tmp.path()).unwrap().expect("a store")));
    let (s, rows) = state(store(), StateInput::Log(seg("a", &f.a["statement"])));
    assert!(!s.identical());
    assert_eq!(s.a.store_last_txid, Some(14));
    assert_eq!(s.steps, 0);
    assert_eq!(rows.len(), 8, "{rows:?}");
    assert!(rows.iter().all(|r| r.status != RowStatus::OnlyA));
    let (s, rows) = state(store(), StateInput::Log(seg("f", &f.follower_at_promotion)));
    assert!(s.identical(), "{s:?} {rows:?}");
}

/// Statement-based replication of UUID(): the follower's row differs from
/// the leader's, under the same origin. The failover report calls that
/// transaction diverged (the new leader has it, applied differently), not
/// discarded; matched by content only, it is discarded.
#[test]
fn statement_replication_of_uuid_diverges() {
    let mut leader = Store::new(SimEnvironment::default());
    let mut a = Log::new(LogKind::Logical, 1);
    let mut txs = Vec::new();
    for s in [
        "CREATE DATABASE d",
        "CREATE TABLE d.t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, n INT)",
        "INSERT INTO d.t (name, n) VALUES ('plain', 1)",
        "INSERT INTO d.t (name, n) VALUES (UUID(), 2)",
        "INSERT INTO d.t (name, n) VALUES ('plain', 3)",
    ] {
        leader.execute(s).unwrap();
        for tx in leader.take_committed() {
            a.write(&leader, &tx, None);
            txs.push(tx);
        }
    }
    let mut follower = Store::new(SimEnvironment::new(1_700_000_000_000_000, 99));
    let mut b = Log::new(LogKind::Logical, 2);
    for tx in &txs {
        follower.replay_transaction(tx).unwrap();
        for ftx in follower.take_committed() {
            b.write(&follower, &ftx, Some((1, tx.txid)));
        }
    }
    // Promoted, the follower writes under its own server id.
    follower
        .execute("INSERT INTO d.t (name, n) VALUES ('own', 4)")
        .unwrap();
    for tx in follower.take_committed() {
        b.write(&follower, &tx, None);
    }
    let (a, b) = (a.finish(), b.finish());
    let (s, lost, reused) = report(&a, &b, false);
    assert_eq!((s.diverged, s.discarded), (1, 0), "{s:?}");
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].fate, Fate::Diverged);
    assert_eq!((lost[0].txid, lost[0].txid_b), (4, Some(4)));
    assert!(reused.is_empty());
    assert_eq!(s.replicated_by_origin, 4);
    let (s, lost, reused) = report(&a, &b, true);
    assert_eq!((s.diverged, s.discarded), (0, 1), "{s:?}");
    assert_eq!(lost[0].txid, 4);
    // By content only, the follower's copy of transaction 4 is matched to
    // nothing and counts as its own, inserting id=2 with another name.
    assert_eq!(s.new_leader_own, 2);
    assert_eq!(reused.len(), 1);
    assert_eq!(reused[0].key, "id=2");
}
