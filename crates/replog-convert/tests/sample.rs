//! The committed logical sample (every record type, column type and value
//! kind) converted to SQL, compared with a golden file
//! (`REPLOG_BLESS=1 cargo test -p replog-convert` rewrites it); the inverter
//! on the sample; and the conversion throughput on a generated log
//! (`cargo test --release -p replog-convert -- --ignored --nocapture`).

use replog_convert::ErrorKind;
use replog_convert::invert::{InvertOptions, invert};
use replog_convert::to_statement::{
    SqlTextSink, StatementSink, ToStatementOptions, logical_bytes_to_statement,
    logical_to_statement,
};
use replog_core::reader::SegmentInput;
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, LogKind, Value};
use replog_logical::sample::{sample_options, write_sample};
use replog_logical::{
    Column, ColumnType, ImageKind, Insert, LogicalRecord, OldImage, Relation, TupleBuf, Update,
};
use std::borrow::Cow;
use std::path::Path;

fn sample() -> Vec<u8> {
    let mut w = LogWriter::new(Vec::new(), &sample_options()).unwrap();
    write_sample(&mut w).unwrap();
    w.finish().unwrap()
}

#[test]
fn sample_as_sql_matches_golden() {
    let mut sink = SqlTextSink::new(Vec::new());
    let report = logical_to_statement(
        vec![SegmentInput::memory("sample", sample())],
        &ToStatementOptions::default(),
        &mut sink,
    )
    .unwrap();
    sink.finish().unwrap();
    assert_eq!(report.transactions, 7);
    assert_eq!(report.messages_dropped, 2);
    assert_eq!(report.key_only_images, 2);
    let sql = sink.into_inner();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/sample.sql");
    replog_test_support::bless::check(&golden, &sql);
}

#[test]
fn sample_as_statement_log_is_deterministic() {
    let (a, ra) = logical_bytes_to_statement(sample(), &ToStatementOptions::default()).unwrap();
    let (b, _) = logical_bytes_to_statement(sample(), &ToStatementOptions::default()).unwrap();
    assert_eq!(a, b);
    assert_eq!(ra.statements, 14);
}

#[test]
fn invert_refuses_the_sample_at_its_first_update_without_full_image() {
    let opts = InvertOptions {
        skip_ddl: true,
        ..InvertOptions::default()
    };
    let e = invert(
        vec![SegmentInput::memory("sample", sample())],
        &opts,
        Vec::new(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CannotInvert);
    // formats/logical.md 13.6: the first UPDATE of transaction 3 is the frame
    // at offset 0x268, LSN 0x268 - 80.
    assert_eq!(e.offset(), Some(0x268));
    assert_eq!(e.lsn(), Some(0x268 - 80));
    assert!(
        e.to_string()
            .contains("UPDATE on shop.items has no before-image"),
        "{e}"
    );
}

/// A log of `txs` transactions of `rows` INSERTs and UPDATEs each on a
/// five-column table.
fn generated(txs: u64, rows: u64) -> Vec<u8> {
    let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).unwrap();
    let rel = Relation {
        relation_id: 1,
        schema_version: 1,
        database: "bench",
        table: "orders",
        columns: vec![
            Column::new("id", ColumnType::BigInt { unsigned: false })
                .key()
                .not_null(),
            Column::new("customer", ColumnType::VarChar(64)),
            Column::new(
                "amount",
                ColumnType::Decimal {
                    precision: 12,
                    scale: 2,
                },
            ),
            Column::new("status", ColumnType::VarChar(16)),
            Column::new("created", ColumnType::DateTime(6)),
        ],
    };
    let mut body = Vec::new();
    let mut id = 0i64;
    for t in 0..txs {
        w.begin(&Begin {
            txid: t + 1,
            timestamp_us: 0,
            server_id: 1,
            origin: "",
        })
        .unwrap();
        if t == 0 {
            body.clear();
            LogicalRecord::Relation(rel.clone())
                .encode(&mut body)
                .unwrap();
            w.append(&body).unwrap();
        }
        for r in 0..rows {
            id += 1;
            let amount = format!("{}.{:02}", id % 10_000, id % 100);
            let name = format!("customer number {}", id % 977);
            let row = |status: &'static str| {
                TupleBuf::from_values([
                    Value::Int(id),
                    Value::Text(Cow::Owned(name.clone())),
                    Value::Decimal(Cow::Owned(amount.clone())),
                    Value::Text(Cow::Borrowed(status)),
                    Value::Timestamp(1_700_000_000_000_000 + id),
                ])
                .unwrap()
            };
            body.clear();
            if r % 2 == 0 {
                LogicalRecord::Insert(Insert {
                    relation_id: 1,
                    new: row("new").as_tuple(),
                })
                .encode(&mut body)
                .unwrap();
            } else {
                let (b, a) = (row("new"), row("shipped"));
                LogicalRecord::Update(Update {
                    relation_id: 1,
                    before: Some(OldImage {
                        kind: ImageKind::Full,
                        values: b.as_tuple(),
                    }),
                    after: a.as_tuple(),
                })
                .encode(&mut body)
                .unwrap();
            }
            w.append(&body).unwrap();
        }
        w.commit(&Commit {
            txid: t + 1,
            timestamp_us: 0,
            state_before: None,
            state_after: None,
        })
        .unwrap();
    }
    w.finish().unwrap()
}

#[test]
fn generated_log_converts() {
    let log = generated(10, 10);
    let (_, r) = logical_bytes_to_statement(log, &ToStatementOptions::default()).unwrap();
    assert_eq!((r.inserts, r.updates), (50, 50));
}

#[test]
#[ignore = "throughput measurement; run in release"]
fn throughput_logical_to_statement() {
    let log = generated(20_000, 50);
    let mb = log.len() as f64 / 1e6;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.replog");
    std::fs::write(&input, &log).unwrap();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let out =
            std::io::BufWriter::new(std::fs::File::create(dir.path().join("out.replog")).unwrap());
        let mut sink = replog_convert::to_statement::NativeStatementSink::new(out);
        let r = logical_to_statement(
            vec![SegmentInput::file(&input).unwrap()],
            &ToStatementOptions::default(),
            &mut sink,
        )
        .unwrap();
        sink.finish().unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "logical -> statement: {mb:.1} MB, {} rows in {s:.3} s: {:.0} MB/s, {:.2} M rows/s",
            r.inserts + r.updates,
            mb / s,
            (r.inserts + r.updates) as f64 / s / 1e6
        );
    }
}
