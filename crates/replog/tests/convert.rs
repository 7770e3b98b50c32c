//! `convert`, `invert` and `diff` end to end on the reference store: every
//! MariaDB fixture workload is recorded, its logical log converted to
//! statements and replayed to the leader's digest; inverting twice gives
//! the original row records; replaying the inverse returns the store to
//! where it was; diff finds exactly the changes made to a copy; damaged
//! input leaves no output behind.

use replog::Verdict;
use replog_core::reader::{Event, LogReader, ReaderOptions, SegmentInput};
use replog_core::record::rtype;
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, LogKind, Value};
use replog_logical::{
    Column, ColumnType, ColumnValue, Delete, ImageKind, Insert, LogicalRecord, OldImage, Relation,
    TupleBuf,
};
use replog_test_support::{root, s};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::path::Path;

replog_test_support::cli_harness!();

/// Records workload `name` into `dir`; returns the leader's digest.
fn record(name: &str, dir: &Path) -> String {
    let sql = root().join(format!("fixtures/mariadb/workloads/{name}.sql"));
    let (o, v) = json(&[
        "record",
        s(&sql),
        "--out",
        s(dir),
        "--durability",
        "os",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean);
    v["digest"].as_str().unwrap().to_string()
}

fn replay_memory(log: &Path) -> Json {
    let (o, v) = json(&["replay", s(log), "--memory", "--format", "json"]);
    assert_eq!(o, Verdict::Clean, "{v}");
    assert_eq!(v["clean"], true, "{v}");
    v
}

const WORKLOADS: [&str; 5] = ["ddl", "dml", "txn", "types", "unsafe"];

#[test]
fn every_workload_converted_to_statements_replays_to_the_leader_digest() {
    for name in WORKLOADS {
        let tmp = tempfile::tempdir().unwrap();
        let digest = record(name, tmp.path());
        let logical = tmp.path().join("logical");
        let conv = tmp.path().join("converted.replog");
        let (o, report) = json(&[
            "convert",
            s(&logical),
            "--to",
            "statement",
            "-o",
            s(&conv),
            "--format",
            "json",
        ]);
        assert_eq!(o, Verdict::Clean, "{name}: {report}");
        let by_statement = replay_memory(&conv);
        let by_rows = replay_memory(&logical);
        assert_eq!(by_statement["digest"], Json::from(digest.clone()), "{name}");
        assert_eq!(by_rows["digest"], Json::from(digest.clone()), "{name}");
        assert_eq!(by_statement["kind"], "statement");
        // Every transaction's digest was checked against the leader's.
        assert_eq!(by_statement["applied"], by_rows["applied"], "{name}");
        assert_eq!(
            report["final_state"].as_u64().map(|d| format!("{d:016x}")),
            Some(digest)
        );
        // The SQL text form carries the same statements.
        let (o, sql) = run(&["convert", s(&logical), "--to", "sql"]);
        assert_eq!(o.unwrap(), Verdict::Clean);
        assert_eq!(
            sql.matches("START TRANSACTION;").count() as u64,
            report["transactions"].as_u64().unwrap()
        );
        assert!(!sql.contains("ROLLBACK"));
        // Converting twice gives the same bytes.
        let again = tmp.path().join("again.replog");
        run(&["convert", s(&logical), "--to", "statement", "-o", s(&again)])
            .0
            .unwrap();
        assert_eq!(
            std::fs::read(&conv).unwrap(),
            std::fs::read(&again).unwrap()
        );
    }
}

/// The row records of a logical log, per committed transaction, with the
/// COMMIT's timestamp and digests.
type TxRows = (i64, Option<u64>, Option<u64>, Vec<Vec<u8>>);

fn row_records(log: &Path) -> Vec<TxRows> {
    let files = replog_core::reader::segment_paths(log).unwrap();
    let inputs = files
        .iter()
        .map(|p| SegmentInput::file(p).unwrap())
        .collect();
    let mut r = LogReader::new(inputs, ReaderOptions::default());
    let mut out = Vec::new();
    let mut cur = Vec::new();
    while let Some(ev) = r.next() {
        if let Event::Frame(f) = ev.unwrap() {
            match f.record_type() {
                rtype::BEGIN => cur.clear(),
                rtype::COMMIT => {
                    let c = Commit::decode(f.body, 0).unwrap();
                    if !cur.is_empty() {
                        out.push((c.timestamp_us, c.state_before, c.state_after, cur.clone()));
                    }
                }
                t if (0x11..=0x13).contains(&t) => cur.push(f.body.to_vec()),
                _ => {}
            }
        }
    }
    out
}

#[test]
fn invert_twice_is_identity_and_replaying_the_inverse_returns_to_the_earlier_digest() {
    for name in ["dml", "txn", "types", "unsafe"] {
        let tmp = tempfile::tempdir().unwrap();
        let digest = record(name, tmp.path());
        let logical = tmp.path().join("logical");
        // By default CREATE TABLE is undone by DROP TABLE, other DDL is
        // left out and listed with its position (exit 1).
        let inv = tmp.path().join("inv.replog");
        let (o, rep) = json(&["invert", s(&logical), "-o", s(&inv), "--format", "json"]);
        assert!(rep["ddl_inverted"].as_u64().unwrap() > 0, "{name}: {rep}");
        let left = rep["ddl_left_out"].as_array().unwrap();
        assert_eq!(left.len() as u64, rep["ddl_skipped"].as_u64().unwrap());
        assert!(left.iter().all(|d| d["lsn"].is_u64()), "{rep}");
        assert_eq!(o == Verdict::Found, !left.is_empty(), "{name}: {rep}");
        std::fs::remove_file(&inv).unwrap();
        let (o, rep) = json(&[
            "invert",
            s(&logical),
            "--skip-ddl",
            "-o",
            s(&inv),
            "--format",
            "json",
        ]);
        assert_eq!(o, Verdict::Found, "DDL left out is reported");
        assert_eq!(
            rep["start_state"].as_u64().map(|d| format!("{d:016x}")),
            Some(digest.clone())
        );
        let inv2 = tmp.path().join("inv2.replog");
        let (o, _) = json(&["invert", s(&inv), "-o", s(&inv2), "--format", "json"]);
        assert_eq!(o, Verdict::Clean);
        let original = row_records(&logical);
        let inverse = row_records(&inv);
        let twice = row_records(&inv2);
        assert_eq!(original.len(), inverse.len(), "{name}");
        assert_eq!(original, twice, "{name}: invert of invert is the original");
        // The inverse undoes transactions in reverse order, digests swapped.
        for (o, i) in original.iter().zip(inverse.iter().rev()) {
            assert_eq!((o.1, o.2), (i.2, i.1));
            assert_eq!(o.3.len(), i.3.len());
        }
        // A follower at the end of the log replays the inverse back to the
        // state before the first row change, checking every COMMIT.
        let store = tmp.path().join("follower");
        let (o, v) = json(&[
            "replay",
            s(&logical),
            "--store",
            s(&store),
            "--format",
            "json",
        ]);
        assert_eq!(
            (o, v["digest"].as_str()),
            (Verdict::Clean, Some(digest.as_str()))
        );
        let (o, v) = json(&["replay", s(&inv), "--store", s(&store), "--format", "json"]);
        assert_eq!(o, Verdict::Clean, "{v}");
        assert_eq!(v["applied"].as_u64(), Some(inverse.len() as u64), "{v}");
        let before = original[0].1.map(|d| format!("{d:016x}"));
        assert_eq!(v["digest"].as_str(), before.as_deref(), "{name}");
    }
}

fn items_relation() -> Relation<'static> {
    Relation {
        relation_id: 1,
        schema_version: 1,
        database: "shop",
        table: "items",
        columns: vec![
            Column::new("id", ColumnType::BigInt { unsigned: false })
                .key()
                .not_null(),
            Column::new("name", ColumnType::VarChar(40)),
        ],
    }
}

/// A logical log of `records` in one transaction per record.
fn write_log(path: &Path, records: &[LogicalRecord<'_>]) {
    let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).unwrap();
    for (i, r) in records.iter().enumerate() {
        let txid = i as u64 + 1;
        w.begin(&Begin {
            txid,
            timestamp_us: 0,
            server_id: 1,
            origin: "",
        })
        .unwrap();
        let mut body = Vec::new();
        r.encode(&mut body).unwrap();
        w.append(&body).unwrap();
        w.commit(&Commit {
            txid,
            timestamp_us: 0,
            state_before: None,
            state_after: None,
        })
        .unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

#[test]
fn invert_refuses_key_only_images_naming_the_record() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("key-only.replog");
    let row = TupleBuf::from_values([Value::Int(7), Value::Text(Cow::Borrowed("x"))]).unwrap();
    let key =
        TupleBuf::from_values([ColumnValue::Value(Value::Int(7)), ColumnValue::Unchanged]).unwrap();
    write_log(
        &log,
        &[
            LogicalRecord::Relation(items_relation()),
            LogicalRecord::Insert(Insert {
                relation_id: 1,
                new: row.as_tuple(),
            }),
            LogicalRecord::Delete(Delete {
                relation_id: 1,
                before: OldImage {
                    kind: ImageKind::Key,
                    values: key.as_tuple(),
                },
            }),
        ],
    );
    let out = tmp.path().join("inv.replog");
    let (r, _) = run(&["invert", s(&log), "-o", s(&out)]);
    let e = format!("{:#}", r.unwrap_err());
    // Frames: 3 transactions; the DELETE is the second frame of the third.
    assert!(
        e.contains("DELETE on shop.items has a key-only before-image"),
        "{e}"
    );
    assert!(e.contains("transaction 3") && e.contains("at LSN"), "{e}");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no temp file left"
    );
    // Converting it is fine: the key is enough for a WHERE.
    let (o, sql) = run(&["convert", s(&log), "--to", "sql"]);
    assert_eq!(o.unwrap(), Verdict::Clean);
    assert!(
        sql.contains("DELETE FROM `shop`.`items` WHERE `id` = 7;"),
        "{sql}"
    );
}

#[test]
fn tables_without_keys_are_refused_unless_imprecise() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("nokey.replog");
    let mut rel = items_relation();
    rel.columns[0].key = false;
    let row = TupleBuf::from_values([Value::Int(7), Value::Text(Cow::Borrowed("it's"))]).unwrap();
    write_log(
        &log,
        &[
            LogicalRecord::Relation(rel),
            LogicalRecord::Delete(Delete {
                relation_id: 1,
                before: OldImage {
                    kind: ImageKind::Full,
                    values: row.as_tuple(),
                },
            }),
        ],
    );
    let out = tmp.path().join("out.replog");
    let (r, _) = run(&["convert", s(&log), "--to", "statement", "-o", s(&out)]);
    let e = format!("{:#}", r.unwrap_err());
    assert!(
        e.contains("DELETE on shop.items: the table has no key columns"),
        "{e}"
    );
    assert!(
        e.contains("--allow-imprecise") && e.contains("at LSN"),
        "{e}"
    );
    assert!(!out.exists());
    let (o, sql) = run(&["convert", s(&log), "--to", "sql", "--allow-imprecise"]);
    assert_eq!(o.unwrap(), Verdict::Found, "imprecise records are reported");
    assert!(
        sql.contains("DELETE FROM `shop`.`items` WHERE `id` <=> 7 AND `name` <=> 'it''s' LIMIT 1;"),
        "{sql}"
    );
}

/// Copies the logical log at `from` to `to` with the first INSERT's second
/// column changed to `new_name` and transaction `drop_txid` left out.
fn modified_copy(from: &Path, to: &Path, new_name: &str, drop_txid: u64) {
    let files = replog_core::reader::segment_paths(from).unwrap();
    let inputs = files
        .iter()
        .map(|p| SegmentInput::file(p).unwrap())
        .collect();
    let mut r = LogReader::new(inputs, ReaderOptions::default());
    let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).unwrap();
    let mut skipping = false;
    let mut changed = false;
    while let Some(ev) = r.next() {
        let Event::Frame(f) = ev.unwrap() else {
            continue;
        };
        match f.record_type() {
            rtype::BEGIN => {
                let b = Begin::decode(f.body, 0).unwrap();
                skipping = b.txid == drop_txid;
                if !skipping {
                    w.begin(&b).unwrap();
                }
            }
            rtype::COMMIT if !skipping => {
                w.commit(&Commit::decode(f.body, 0).unwrap()).unwrap();
            }
            _ if skipping => {}
            0x11 if !changed => {
                let Ok(LogicalRecord::Insert(ins)) = LogicalRecord::decode(f.body, 0) else {
                    panic!()
                };
                let mut vals = ins.new.to_vec().unwrap();
                vals[1] = ColumnValue::Value(Value::Text(Cow::Borrowed(new_name)));
                let t = TupleBuf::from_values(vals).unwrap();
                let mut body = Vec::new();
                LogicalRecord::Insert(Insert {
                    relation_id: ins.relation_id,
                    new: t.as_tuple(),
                })
                .encode(&mut body)
                .unwrap();
                w.append(&body).unwrap();
                changed = true;
            }
            _ => {
                w.append(f.body).unwrap();
            }
        }
    }
    std::fs::write(to, w.finish().unwrap()).unwrap();
}

#[test]
fn diff_finds_the_changed_row_and_the_dropped_transaction() {
    let tmp = tempfile::tempdir().unwrap();
    record("dml", tmp.path());
    let logical = tmp.path().join("logical");
    let (o, v) = json(&["diff", s(&logical), s(&logical), "--format", "json"]);
    assert_eq!(o, Verdict::Clean);
    assert_eq!(v["identical"], true);
    assert_eq!(v["summary"]["same"], v["summary"]["transactions_a"]);

    let copy = tmp.path().join("copy.replog");
    modified_copy(&logical, &copy, "alicia", 5);
    let (o, v) = json(&["diff", s(&logical), s(&copy), "--format", "json"]);
    assert_eq!(o, Verdict::Found);
    let sum = &v["summary"];
    assert_eq!(
        (
            sum["different"].as_u64(),
            sum["only_a"].as_u64(),
            sum["only_b"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(
        sum["same"].as_u64().unwrap() + 2,
        sum["transactions_a"].as_u64().unwrap()
    );
    let d = &sum["first_divergence"];
    assert_eq!(
        (
            d["txid_a"].as_u64(),
            d["txid_b"].as_u64(),
            d["index"].as_u64()
        ),
        (Some(3), Some(3), Some(1))
    );
    assert_eq!(d["a"]["type"], "INSERT");
    assert_eq!(d["a"]["table"], "w_dml.accounts");
    assert_eq!(d["columns"][0]["column"], "name");
    assert_eq!(
        (d["columns"][0]["a"].as_str(), d["columns"][0]["b"].as_str()),
        (Some("alice"), Some("alicia"))
    );
    let txs = v["transactions"].as_array().unwrap();
    assert_eq!(txs.len(), 2);
    assert_eq!(
        (txs[1]["status"].as_str(), txs[1]["txid_a"].as_u64()),
        (Some("only_a"), Some(5))
    );

    let (o, text) = run(&["diff", s(&logical), s(&copy)]);
    assert_eq!(o.unwrap(), Verdict::Found);
    assert!(
        text.contains("first divergence: transaction 3 / 3, record 1"),
        "{text}"
    );
    assert!(text.contains("column name: A alice | B alicia"), "{text}");
    assert!(text.contains("result: DIFFERENT"), "{text}");
    let (o, nd) = run(&["diff", s(&copy), s(&logical), "--format", "ndjson"]);
    assert_eq!(o.unwrap(), Verdict::Found);
    assert_eq!(nd.lines().count(), 3);
    assert!(nd.lines().nth(1).unwrap().contains("\"only_b\""), "{nd}");
}

#[test]
fn damaged_input_stops_with_the_offset_and_leaves_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    record("dml", tmp.path());
    let seg = replog_core::reader::segment_paths(&tmp.path().join("logical")).unwrap()[0].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    // A flipped byte in the middle: corruption at that frame.
    let corrupt = work.join("corrupt.replog");
    let mid = bytes.len() / 2;
    let mut c = bytes.clone();
    c[mid] ^= 0x40;
    std::fs::write(&corrupt, &c).unwrap();
    let out = work.join("out.replog");
    for cmd in [
        vec!["convert", s(&corrupt), "--to", "statement", "-o", s(&out)],
        vec!["convert", s(&corrupt), "--to", "sql", "-o", s(&out)],
        vec!["invert", s(&corrupt), "--skip-ddl", "-o", s(&out)],
    ] {
        let (r, _) = run(&cmd);
        let e = format!("{:#}", r.unwrap_err());
        assert!(
            e.contains("damaged") && e.contains("corruption") && e.contains("offset"),
            "{e}"
        );
        assert!(!out.exists(), "{cmd:?}");
        assert_eq!(
            std::fs::read_dir(&work).unwrap().count(),
            1,
            "{cmd:?}: no temp file left"
        );
    }
    // A torn tail (a crash mid-append): an error by default, the end of the
    // log with --recovery tolerate-tail.
    bytes.truncate(bytes.len() - 5);
    let torn = work.join("torn.replog");
    std::fs::write(&torn, &bytes).unwrap();
    let (r, _) = run(&["convert", s(&torn), "--to", "statement", "-o", s(&out)]);
    let e = format!("{:#}", r.unwrap_err());
    assert!(e.contains("torn tail") && e.contains("offset"), "{e}");
    assert!(!out.exists());
    let (o, v) = json(&[
        "convert",
        s(&torn),
        "--to",
        "statement",
        "-o",
        s(&out),
        "--recovery",
        "tolerate-tail",
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean);
    assert_eq!(v["damage"].as_array().unwrap().len(), 1);
    assert!(out.exists());
    let r = replay_memory(&out);
    assert_eq!(r["applied"], v["transactions"]);
    let (r, _) = run(&["diff", s(&corrupt), s(&torn)]);
    assert!(format!("{:#}", r.unwrap_err()).contains("log A is damaged"));
}

/// Statement → logical: every workload's statement log, executed on the
/// reference store, becomes a logical log that replays to the leader's
/// digest after every transaction and carries the same row changes as the
/// leader's own logical log. The unsafe workload's statements that the
/// store evaluated itself are named (exit 1), and nothing else is.
#[test]
fn every_workload_statement_log_to_logical_replays_to_the_leader_digest() {
    for name in WORKLOADS {
        let tmp = tempfile::tempdir().unwrap();
        let digest = record(name, tmp.path());
        let statement = tmp.path().join("statement");
        let conv = tmp.path().join("rows.replog");
        let (o, report) = json(&[
            "convert",
            s(&statement),
            "--to",
            "logical",
            "-o",
            s(&conv),
            "--format",
            "json",
        ]);
        let r = &report["executed"];
        let listed: Vec<String> = r["dependent"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["sql"].as_str().unwrap().to_string())
            .collect();
        if name == "unsafe" {
            assert_eq!(o, Verdict::Found, "{report:#}");
            for want in ["UUID()", "SYSDATE(6)", "LIMIT 2", "USER()"] {
                assert!(
                    listed.iter().any(|l| l.contains(want)),
                    "{want}: {listed:?}"
                );
            }
            // NOW(), RAND() and auto-increment values come from the
            // statement log's captured context: not listed.
            assert!(!listed.iter().any(|l| l.contains("NOW(")), "{listed:?}");
            assert!(!listed.iter().any(|l| l.contains("RAND()")), "{listed:?}");
        } else {
            assert_eq!(o, Verdict::Clean, "{name}: {report:#}");
            assert!(listed.is_empty(), "{name}: {listed:?}");
        }
        // Divergences from the leader's digests: none for the deterministic
        // workloads; for the unsafe one, only in transactions whose
        // statements are listed.
        let divergent: Vec<u64> = r["divergences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["txid"].as_u64().unwrap())
            .collect();
        let dependent_tx: Vec<u64> = r["dependent"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["txid"].as_u64().unwrap())
            .collect();
        if name == "unsafe" {
            assert!(!divergent.is_empty(), "UUID() cannot match the leader");
        }
        for t in &divergent {
            assert!(
                dependent_tx.contains(t),
                "{name}: txid {t} diverged unlisted"
            );
        }
        let by_rows = replay_memory(&conv);
        assert_eq!(by_rows["kind"], "logical");
        let want = if name == "unsafe" {
            format!("{:016x}", r["final_state"].as_u64().unwrap())
        } else {
            digest.clone()
        };
        assert_eq!(by_rows["digest"], Json::from(want), "{name}");
        // Same transactions, same row changes as the leader's own log.
        let ours = row_records(&conv);
        let leaders = row_records(&tmp.path().join("logical"));
        assert_eq!(ours.len(), leaders.len(), "{name}");
        for (a, b) in ours.iter().zip(&leaders) {
            if name != "unsafe" {
                assert_eq!((a.1, a.2), (b.1, b.2), "{name}: digests");
            }
            let rows = |t: &TxRows| t.3.iter().filter(|r| r[0] != 0x10).count();
            assert_eq!(rows(a), rows(b), "{name}: row records");
        }
    }
}

/// A statement log converted to a physical WAL names the statements whose
/// rows were the converter's own, as `--to logical` does, and exits 1
/// (issue 11 item 11); `replay` of it names them too. The deterministic
/// workloads list nothing.
#[test]
fn statement_log_to_physical_lists_what_to_logical_lists() {
    for name in ["dml", "unsafe"] {
        let tmp = tempfile::tempdir().unwrap();
        record(name, tmp.path());
        let statement = tmp.path().join("statement");
        let (o_logical, logical) = json(&[
            "convert",
            s(&statement),
            "--to",
            "logical",
            "-o",
            s(&tmp.path().join("rows.replog")),
            "--format",
            "json",
        ]);
        let (o_physical, physical) = json(&[
            "convert",
            s(&statement),
            "--to",
            "physical",
            "-o",
            s(&tmp.path().join("wal")),
            "--format",
            "json",
        ]);
        assert_eq!(o_physical, o_logical, "{name}: {physical:#}");
        let sqls = |v: &Json| -> Vec<(u64, String)> {
            v["dependent"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d["txid"].as_u64().unwrap(),
                        d["sql"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        let want = sqls(&logical["executed"]);
        assert_eq!(sqls(&physical), want, "{name}");
        assert_eq!(
            physical["dependent_total"],
            logical["executed"]["dependent_total"]
        );
        // replay stops at the first divergence from the leader's digests:
        // what it lists is where the lists begin.
        let (_, replayed) = json(&["replay", "--memory", "--format", "json", s(&statement)]);
        let listed = sqls(&replayed);
        assert_eq!(listed, want[..listed.len()], "{name}: replay");
        assert_eq!(listed.is_empty(), want.is_empty(), "{name}: replay");
        if name == "unsafe" {
            assert_eq!(o_physical, Verdict::Found);
            let reasons = physical["dependent"].to_string();
            assert!(
                reasons.contains("UUID(): the converter's own result"),
                "{reasons}"
            );
            let (_, text) = run(&["replay", "--memory", s(&statement)]);
            assert!(text.contains("from this follower's environment"), "{text}");
        } else {
            assert_eq!(o_physical, Verdict::Clean);
            assert!(want.is_empty());
        }
    }
}

#[test]
fn statement_to_logical_of_damaged_input_leaves_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    record("dml", tmp.path());
    let seg = replog_core::reader::segment_paths(&tmp.path().join("statement")).unwrap()[0].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let corrupt = work.join("corrupt.replog");
    std::fs::write(&corrupt, &bytes).unwrap();
    let out = work.join("out.replog");
    let (r, _) = run(&["convert", s(&corrupt), "--to", "logical", "-o", s(&out)]);
    let e = format!("{:#}", r.unwrap_err());
    assert!(e.contains("damaged") && e.contains("offset"), "{e}");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(&work).unwrap().count(),
        1,
        "no temp file left"
    );
}

/// `--base SNAPSHOT`: a statement log converted on top of a follower's
/// snapshot passes over what the snapshot holds, starts from its digest,
/// and its rows applied to the snapshot reach the leader's digest. A
/// snapshot of another history is reported as such.
#[test]
fn statement_to_logical_from_a_base_snapshot() {
    use replog_core::reader::{LogReader, ReaderOptions, SegmentInput};
    use replog_store::replay::{ReplayOptions, Until, replay};
    use replog_store::snapshot::{self, AppliedPosition};
    use replog_store::{SimEnvironment, Store};
    let reader_of = |log: &Path| {
        let inputs = replog_core::reader::segment_paths(log)
            .unwrap()
            .iter()
            .map(|p| SegmentInput::file(p).unwrap())
            .collect();
        LogReader::new(inputs, ReaderOptions::default())
    };
    let tmp = tempfile::tempdir().unwrap();
    let digest = record("dml", tmp.path());
    let statement = tmp.path().join("statement");
    // A follower that stopped after transaction 10.
    let mut follower = Store::new(SimEnvironment::default());
    let opts = ReplayOptions {
        until: Some(Until::Txid(10)),
        ..ReplayOptions::default()
    };
    let rep = replay(
        &mut follower,
        AppliedPosition::default(),
        &mut reader_of(&statement),
        &opts,
    )
    .unwrap();
    assert_eq!(rep.applied, 10);
    let snap = tmp.path().join("at10.snapshot");
    std::fs::write(&snap, snapshot::encode(&follower, &rep.position).unwrap()).unwrap();
    let out = tmp.path().join("rest.replog");
    let (o, v) = json(&[
        "convert",
        s(&statement),
        "--to",
        "logical",
        "--base",
        s(&snap),
        "-o",
        s(&out),
        "--format",
        "json",
    ]);
    assert_eq!(o, Verdict::Clean, "{v:#}");
    assert_eq!(v["executed"]["already_in_base"], 10);
    assert!(v["executed"]["start_mismatch"].is_null());
    // The rows, applied to the snapshot, reach the leader.
    let (pos, storage) = snapshot::decode(&std::fs::read(&snap).unwrap()).unwrap();
    let mut store = Store::with_storage(storage, SimEnvironment::default());
    let rep = replay(
        &mut store,
        pos,
        &mut reader_of(&out),
        &ReplayOptions::default(),
    )
    .unwrap();
    assert!(rep.clean(), "{rep:?}");
    assert!(rep.applied > 0);
    assert_eq!(format!("{:016x}", store.digest()), digest);
    // A snapshot of another history: the log does not continue from it.
    let other = tmp.path().join("other");
    record("txn", &other);
    let mut elsewhere = Store::new(SimEnvironment::default());
    let rep = replay(
        &mut elsewhere,
        AppliedPosition::default(),
        &mut reader_of(&other.join("statement")),
        &ReplayOptions::default(),
    )
    .unwrap();
    assert_ne!(elsewhere.digest(), 0);
    let mut pos = rep.position;
    pos.last_txid = 0;
    std::fs::write(&snap, snapshot::encode(&elsewhere, &pos).unwrap()).unwrap();
    let (r, text) = run(&[
        "convert",
        s(&statement),
        "--to",
        "logical",
        "--base",
        s(&snap),
        "-o",
        s(&tmp.path().join("x.replog")),
    ]);
    // Either the statements fail on the foreign tables (an error), or they
    // run and the mismatch is reported: never a silent success.
    match r {
        Ok(o) => {
            assert_eq!(o, Verdict::Found, "{text}");
            assert!(text.contains("does not continue from the base"), "{text}");
        }
        Err(e) => assert!(
            format!("{e:#}").contains("failed on the reference store"),
            "{e:#}"
        ),
    }
}
