//! pgoutput captures of one workload on a real PostgreSQL 15
//! (`fixtures/postgres/logical/generate.sh`): every protocol version and
//! every file form must give the same committed transactions.

mod common;
use common::*;
use replog_logical::LogicalRecord;
use replog_pglogical::{Container, Plugin};

#[test]
fn every_pgoutput_capture_is_recognised() {
    for (name, container) in [
        ("pgoutput-v1.copy", Container::CopyText),
        ("pgoutput-v1.csv", Container::CopyCsv),
        ("pgoutput-v1.recvlogical", Container::RecvLogical),
        ("pgoutput-v2.copy", Container::CopyText),
        ("pgoutput-v2.recvlogical", Container::RecvLogical),
        ("pgoutput-v2-binary.copy", Container::CopyText),
        ("pgoutput-v2-binary.recvlogical", Container::RecvLogical),
        ("pgoutput-v3.copy", Container::CopyText),
        ("pgoutput-v3.recvlogical", Container::RecvLogical),
    ] {
        let d = open(name).producer().detected();
        assert_eq!(
            (d.plugin, d.container),
            (Plugin::PgOutput, container),
            "{name}"
        );
    }
}

#[test]
fn the_file_forms_of_one_capture_agree() {
    let copy = transactions(&mut open("pgoutput-v1.copy"));
    let csv = transactions(&mut open("pgoutput-v1.csv"));
    let recv = transactions(&mut open("pgoutput-v1.recvlogical"));
    assert!(copy.len() > 10, "{} transactions", copy.len());
    assert_eq!(copy, csv);
    assert_eq!(copy, recv);
}

#[test]
fn streamed_and_prepared_transactions_assemble_to_the_unstreamed_ones() {
    let v1 = transactions(&mut open("pgoutput-v1.copy"));
    for name in [
        "pgoutput-v2.copy",
        "pgoutput-v2.recvlogical",
        // Binary columns: every type's send form gives the value its text
        // output gives.
        "pgoutput-v2-binary.copy",
        "pgoutput-v2-binary.recvlogical",
        "pgoutput-v3.copy",
        "pgoutput-v3.recvlogical",
    ] {
        let mut src = open(name);
        let got = transactions(&mut src);
        // Two-phase: the prepared transaction carries its gid.
        let got: Vec<Tx> = got
            .into_iter()
            .map(|mut t| {
                if let Some(i) = t.origin.find(" gid ") {
                    t.origin.truncate(i);
                }
                t
            })
            .collect();
        assert_eq!(got.len(), v1.len(), "{name}");
        for (a, b) in v1.iter().zip(&got) {
            assert_eq!(a, b, "{name}: transaction {}", a.xid);
        }
        let c = src.producer().counts();
        // The large transaction rolled back after it was streamed, and the
        // rolled-back subtransaction of the one that committed.
        assert_eq!((c.aborted, c.aborted_subxacts), (1, 1), "{name}: {c:?}");
        if name.contains("v3") {
            assert_eq!(c.rolled_back_prepared, 1, "{name}");
        }
        assert_eq!(c.open_at_end, 0, "{name}");
    }
}

#[test]
fn the_streamed_transaction_holds_every_change() {
    let v2 = transactions(&mut open("pgoutput-v2.copy"));
    // 1500 inserts, the 1500 of the rolled-back savepoint dropped, 15
    // updates and 15 deletes.
    let big = v2
        .iter()
        .max_by_key(|t| t.records.len())
        .expect("transactions");
    let mut n = [0usize; 3];
    for r in &big.records {
        match LogicalRecord::decode(r, 0).expect("decodes") {
            LogicalRecord::Insert(_) => n[0] += 1,
            LogicalRecord::Update(_) => n[1] += 1,
            LogicalRecord::Delete(_) => n[2] += 1,
            _ => {}
        }
    }
    assert_eq!(n, [1500, 15, 15]);
}

/// The reorder buffer at a tiny memory limit moves the open transactions'
/// records to temporary files (rolled-back subtransactions cut from
/// them) and gives the same transactions as without a limit, for every
/// capture with streamed, prepared or interleaved transactions.
#[test]
fn spilling_to_temporary_files_changes_nothing() {
    for name in [
        "pgoutput-v1.copy",
        "pgoutput-v2.copy",
        "pgoutput-v2-binary.recvlogical",
        "pgoutput-v3.copy",
        "test_decoding-2pc.copy",
        "wal2json-v2.copy",
    ] {
        let mut all = open(name);
        let expected = transactions(&mut all);
        let mut small = open(name);
        small.producer_mut().set_spill_limit(1024);
        let got = transactions(&mut small);
        let (c, full) = (small.producer().counts(), all.producer().counts());
        assert_eq!(full.spilled_bytes, 0, "{name}");
        assert!(
            c.spilled_bytes > 50_000 && c.spilled_transactions >= 1,
            "{name}: {c:?}"
        );
        assert_eq!(got.len(), expected.len(), "{name}");
        for (a, b) in expected.iter().zip(&got) {
            assert_eq!(a, b, "{name}: transaction {}", a.xid);
        }
        let strip = |c: replog_pglogical::assemble::Counts| (c.committed, c.changes, c.aborted);
        assert_eq!(strip(c), strip(full), "{name}");
    }
}

/// A capture opened from its file is mapped, and reads as the same bytes
/// in memory do.
#[test]
fn a_mapped_file_reads_as_its_bytes_in_memory() {
    let data = load("pgoutput-v2.recvlogical");
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), &data).unwrap();
    let input = replog_pglogical::PgLogicalInput::new(tmp.path())
        .unwrap()
        .expect("recognised");
    let mut mapped = input.open_source().unwrap();
    assert_eq!(
        transactions(&mut mapped),
        transactions(&mut open("pgoutput-v2.recvlogical"))
    );
}

/// The same workload on the npm builds of PostgreSQL 13, 14, 16, 17 and 18
/// (`fixtures/postgres/logical/npm-*`): every protocol version the server
/// speaks assembles to the transactions of protocol 1, including a real
/// protocol 4 capture (16+: `pg_recvlogical -o proto_version=4 -o
/// streaming=parallel -o two_phase=on`, whose Stream Abort messages carry
/// the abort LSN and time).
#[test]
fn every_servers_protocol_versions_agree() {
    for (server, versions) in [
        ("npm-13", &[][..]),
        ("npm-14", &["pgoutput-v2.copy"][..]),
        (
            "npm-16",
            &[
                "pgoutput-v2.copy",
                "pgoutput-v3.copy",
                "pgoutput-v4.recvlogical",
            ][..],
        ),
        (
            "npm-17",
            &[
                "pgoutput-v2.copy",
                "pgoutput-v3.copy",
                "pgoutput-v4.recvlogical",
            ][..],
        ),
        (
            "npm-18",
            &[
                "pgoutput-v2.copy",
                "pgoutput-v3.copy",
                "pgoutput-v4.recvlogical",
            ][..],
        ),
    ] {
        let mut src = open_from(server, "pgoutput-v1.copy");
        let v1 = transactions(&mut src);
        assert!(v1.len() > 10, "{server}: {} transactions", v1.len());
        assert_eq!(src.producer().counts().open_at_end, 0, "{server}");
        for name in versions {
            let mut src = open_from(server, name);
            let got: Vec<Tx> = transactions(&mut src)
                .into_iter()
                .map(|mut t| {
                    if let Some(i) = t.origin.find(" gid ") {
                        t.origin.truncate(i);
                    }
                    t
                })
                .collect();
            assert_eq!(got.len(), v1.len(), "{server} {name}");
            for (a, b) in v1.iter().zip(&got) {
                assert_eq!(a, b, "{server} {name}: transaction {}", a.xid);
            }
            let c = src.producer().counts();
            // The streamed transaction rolled back whole, and the
            // rolled-back subtransaction of the one that committed.
            // PostgreSQL 18 sent nothing of the transaction that rolled
            // back whole (it was known aborted when it would have been
            // streamed), so there is no Stream Abort of it.
            let whole = u64::from(server != "npm-18");
            assert_eq!(
                (c.aborted, c.aborted_subxacts),
                (whole, 1),
                "{server} {name}: {c:?}"
            );
            if !name.contains("v2") {
                assert_eq!(c.rolled_back_prepared, 1, "{server} {name}");
            }
            assert_eq!(c.open_at_end, 0, "{server} {name}");
        }
    }
}
