//! Every MySQL fixture parses to the end; known values decode as expected.
mod common;

use common::*;
use replog_binlog::ReadOptions;
use replog_core::Value;

const TRUNCATED: [&str; 2] = [
    "binlog_truncated_event.000001",
    "binlog_truncated_prev_gtid_event.000001",
];

fn all_fixtures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    v.sort();
    v
}

#[test]
fn dump_all() {
    for name in all_fixtures() {
        let data = read_fixture(&name);
        let (w, err) = walk(&data, ReadOptions::default());
        println!(
            "== {name}: {} events, {} inner, {} row changes, err={:?}",
            w.events.len(),
            w.inner.len(),
            w.changes.len(),
            err.as_ref().map(|e| e.to_string())
        );
        for (p, t, n) in &w.events {
            println!("   {p} {t} {n}");
        }
        for c in w.changes.iter().take(6) {
            println!("   {c:?}");
        }
    }
}

#[test]
fn dump_one() {
    let Ok(name) = std::env::var("FIX") else {
        return;
    };
    let data = read_fixture(&name);
    let (w, err) = walk(&data, ReadOptions::default());
    for q in &w.queries {
        println!("Q {q}");
    }
    for c in &w.changes {
        println!(
            "{} {} before={:?}\n    after={:?}",
            c.position, c.table, c.before, c.after
        );
    }
    println!("err={err:?}");
}

#[test]
fn every_fixture_parses_to_the_end_with_every_row_decoded() {
    let mut checked = 0;
    for name in all_fixtures() {
        if TRUNCATED.contains(&name.as_str()) {
            continue;
        }
        let data = read_fixture(&name);
        for verify in [true, false] {
            let (w, err) = walk(
                &data,
                ReadOptions {
                    verify_checksums: verify,
                    ..ReadOptions::default()
                },
            );
            assert!(err.is_none(), "{name}: {}", err.unwrap());
            assert!(!w.events.is_empty(), "{name}: no events");
            let last = w.events.last().unwrap();
            assert!(last.0 < data.len() as u64, "{name}");
        }
        // The streaming reader sees the same events.
        let (w, _) = walk(&data, ReadOptions::default());
        let mut s = replog_binlog::StreamReader::new(&data[..]).unwrap();
        let mut seen = Vec::new();
        while let Some(ev) = s.next_event() {
            let ev = ev.unwrap();
            seen.push((ev.position(), ev.type_code(), ev.type_name()));
        }
        assert_eq!(seen, w.events, "{name}: streaming differs");
        assert_eq!(s.position(), data.len() as u64);
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} fixtures");
}

#[test]
fn truncated_fixtures_fail_at_the_right_offset() {
    // 14 bytes: magic + 10 bytes of the first event header at offset 4.
    let data = read_fixture("binlog_truncated_event.000001");
    let (w, err) = walk(&data, ReadOptions::default());
    let err = err.expect("must fail");
    assert!(w.events.is_empty());
    assert_eq!(err.offset(), Some(4));
    assert_eq!(
        err.kind(),
        replog_core::ErrorKind::UnexpectedEof { needed: 9 }
    );
    assert!(err.to_string().contains("truncated event header"), "{err}");
    // FDE at 4..120 is whole; the PREVIOUS_GTIDS header at 120 is cut after 9 bytes.
    let data = read_fixture("binlog_truncated_prev_gtid_event.000001");
    let (w, err) = walk(&data, ReadOptions::default());
    let err = err.expect("must fail");
    assert_eq!(w.events, vec![(4, 15, "Format_desc")]);
    assert_eq!(err.offset(), Some(120));
    assert_eq!(
        err.kind(),
        replog_core::ErrorKind::UnexpectedEof { needed: 10 }
    );
    // Same through the streaming reader.
    let mut s = replog_binlog::StreamReader::new(&data[..]).unwrap();
    assert!(s.next_event().unwrap().is_ok());
    assert_eq!(s.next_event().unwrap().unwrap_err().offset(), Some(120));
    assert!(s.next_event().is_none());
}

#[test]
fn corrupted_checksum_is_reported_with_the_event_position() {
    let mut data = read_fixture("json.binlog.000001");
    // Flip the last byte of the statement text of the QUERY event at 235
    // (it ends at 491 with a 4-byte CRC).
    data[491 - 5] ^= 0x01;
    let (_, err) = walk(&data, ReadOptions::default());
    let err = err.unwrap();
    assert_eq!(err.offset(), Some(235));
    assert!(
        matches!(err.kind(), replog_core::ErrorKind::Checksum { .. }),
        "{err}"
    );
    // Without verification the walk goes on (only the text changed).
    let (_, err) = walk(
        &data,
        ReadOptions {
            verify_checksums: false,
            ..ReadOptions::default()
        },
    );
    assert!(err.is_none());
}

fn json_of(v: &Value<'_>) -> serde_json::Value {
    match v {
        Value::Json(s) => serde_json::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}")),
        other => panic!("not JSON: {other:?}"),
    }
}

#[test]
fn json_documents() {
    let data = read_fixture("json.binlog.000001");
    let (w, err) = walk(&data, ReadOptions::default());
    assert!(err.is_none());
    assert_eq!(w.changes.len(), 18);
    let first = w.changes[0].after.as_ref().unwrap();
    assert_eq!(first[0].1, Value::Int(1));
    assert_eq!(
        json_of(&first[1].1),
        serde_json::json!({"age": 24, "data": "xxxxxxxxxx", "name": "Joe"})
    );
    assert_eq!(first[2].1, Value::Text("Joe".into()));
    // Updates: age + 1.
    let upd = &w.changes[6];
    assert_eq!(json_of(&upd.before.as_ref().unwrap()[1].1)["age"], 24);
    assert_eq!(json_of(&upd.after.as_ref().unwrap()[1].1)["age"], 25);
    // Partial JSON updates (PARTIAL_UPDATE_ROWS): REPLACE $.age with 26.
    let part = &w.changes[12];
    let after = part.after.as_ref().unwrap();
    let Value::Bytes(raw) = &after[0].1 else {
        panic!("{after:?}")
    };
    let diffs = replog_binlog::json::decode_json_diffs(raw).unwrap();
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].op, replog_binlog::json::JsonDiffOp::Replace);
    assert_eq!(diffs[0].path, "$.age");
    assert_eq!(diffs[0].value.as_deref(), Some("26"));
}

#[test]
fn json_opaque_values() {
    let data = read_fixture("json-opaque.binlog");
    let (w, _) = walk(&data, ReadOptions::default());
    let docs: Vec<serde_json::Value> = w
        .changes
        .iter()
        .map(|c| json_of(&c.after.as_ref().unwrap()[0].1))
        .collect();
    assert_eq!(docs[0], serde_json::json!({"a": "base64:type15:VQ=="}));
    assert_eq!(docs[1], serde_json::json!({"b": "2012-03-18"}));
    assert_eq!(
        docs[2],
        serde_json::json!({"c": "2012-03-18 11:30:45.000000"})
    );
    assert_eq!(docs[3], serde_json::json!({"c": "87:31:46.654321"}));
    assert_eq!(docs[4], serde_json::json!({"d": 123.456}));
    assert_eq!(docs[5].to_string(), r#"{"e":9.00}"#.replace("9.00", "9.0"));
    assert_eq!(docs[6], serde_json::json!({"e": [0, 1, true, false]}));
    assert_eq!(docs[7], serde_json::json!({"e": null}));
}

#[test]
fn enum_set_and_long_strings() {
    let data = read_fixture("mysql-enum-string-set.000001");
    let (w, _) = walk(&data, ReadOptions::default());
    let ins = w.changes[0].after.as_ref().unwrap();
    assert_eq!(ins[2].1, Value::Enum("var1".into()));
    assert_eq!(ins[3].1, Value::Set("one,three".into()));
    assert_eq!(ins[4].1, Value::Text("0123456789".into()));
    let Value::Text(f2) = &ins[1].1 else { panic!() };
    // VARCHAR(300): values longer than 255 bytes use a 2-byte length.
    assert!(
        f2.len() > 255 && f2.starts_with("0123456789"),
        "{}",
        f2.len()
    );
    let upd = w.changes[1].after.as_ref().unwrap();
    assert_eq!(upd[0].1, Value::Text("field1".into()));
    assert_eq!(upd[2].1, Value::Enum("variant2".into()));
    assert_eq!(upd[3].1, Value::Set("two,four".into()));
    assert!(w.changes[2].after.is_none() && w.changes[2].before.is_some());
}

#[test]
fn bit_time_and_vector_values() {
    let (w, _) = walk(
        &read_fixture("mysql_type_bit.000001"),
        ReadOptions::default(),
    );
    let row = w.changes[0].after.as_ref().unwrap();
    assert_eq!(row[0].1, Value::UInt(0b100));
    assert_eq!(row[1].1, Value::Text("foo".into()));
    assert_eq!(row[2].1, Value::UInt(0b100000));
    // TIME -507:48:27 (MySQL test "time_issue").
    let (w, _) = walk(&read_fixture("time_issue.000001"), ReadOptions::default());
    assert_eq!(
        w.changes[0].after.as_ref().unwrap()[0].1,
        Value::Time(-((507 * 3600 + 48 * 60 + 27) * 1_000_000))
    );
    assert_eq!(
        w.changes[0].after.as_ref().unwrap()[0].1.to_string(),
        "-507:48:27"
    );
    // VECTOR columns are bytes of little-endian floats.
    let (w, _) = walk(&read_fixture("vector.binlog"), ReadOptions::default());
    let row = w.changes.iter().find_map(|c| {
        let a = c.after.as_ref()?;
        matches!(a.get(1), Some((_, Value::Bytes(_)))).then_some(a.clone())
    });
    let row = row.expect("a vector row");
    assert_eq!(
        row[1].1,
        Value::Bytes(vec![205, 204, 140, 63, 205, 204, 12, 64, 51, 51, 83, 64].into())
    );
}

#[test]
fn gtids_and_tagged_gtid_sets() {
    use replog_binlog::EventBody;
    let data = read_fixture("binlog_transaction_with_GTID_TAG.000001");
    let mut found = (false, false);
    for ev in replog_binlog::Events::new(&data).unwrap() {
        let ev = ev.unwrap();
        match ev.body() {
            EventBody::PreviousGtids(set) => {
                assert_eq!(
                    replog_binlog::events::gtid_set_string(set),
                    "55778904-0299-11f1-b1b8-4ef0c4956feb:1-13,55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:1-2"
                );
                found.0 = true;
            }
            EventBody::Gtid(g) if g.tag.is_some() => {
                assert_eq!(
                    g.gtid_string(),
                    "55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3"
                );
                found.1 = true;
            }
            _ => {}
        }
    }
    assert_eq!(found, (true, true));
}

#[test]
fn compressed_transaction_payload() {
    let (w, err) = walk(
        &read_fixture("transaction_compression.000001"),
        ReadOptions::default(),
    );
    assert!(err.is_none());
    // Query(BEGIN), Table_map, Write_rows, Xid inside the payload at 274.
    assert_eq!(w.inner, vec![(274, 2), (274, 19), (274, 30), (274, 16)]);
    assert_eq!(w.changes[0].after.as_ref().unwrap()[0].1, Value::Int(1));
}

#[test]
fn mariadb_fixture() {
    let (w, err) = walk(&read_fixture("mariadb-bin.000001"), ReadOptions::default());
    assert!(err.is_none());
    let names: Vec<&str> = w.events.iter().map(|e| e.2).collect();
    assert_eq!(
        names,
        [
            "Format_desc",
            "Gtid_list",
            "Binlog_checkpoint",
            "Gtid",
            "Annotate_rows",
            "Table_map",
            "Write_rows_v1",
            "Xid",
            "Gtid",
            "Annotate_rows",
            "Table_map",
            "Write_rows_v1",
            "Xid"
        ]
    );
    let row = w.changes[0].after.as_ref().unwrap();
    assert_eq!(row[0].1, Value::Int(62));
    assert_eq!(row[2].1, Value::Enum("JSON".into()));
    assert_eq!(row[4].1, Value::Timestamp(1_650_493_084_000_000));
}
