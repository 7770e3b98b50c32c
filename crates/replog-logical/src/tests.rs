//! Layout, malformed-input and round-trip tests of the logical records.

use super::*;
use replog_core::record::{Record, RecordView, decode_record};
use replog_core::{ErrorKind, TableRef, Value};

fn enc(r: &LogicalRecord<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    r.encode(&mut out).unwrap();
    out
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
                .auto_increment(),
            Column::new("name", ColumnType::VarChar(40)),
        ],
    }
}

#[test]
fn relation_layout() {
    let r = LogicalRecord::Relation(items_relation());
    #[rustfmt::skip]
    let expected = [
        0x10,                                   // type RELATION
        0x01, 0x00, 0x00, 0x00,                 // relation id 1
        0x01, 0x00, 0x00, 0x00,                 // schema version 1
        0x04, 0x00, b's', b'h', b'o', b'p',     // database "shop"
        0x05, 0x00, b'i', b't', b'e', b'm', b's', // table "items"
        0x02, 0x00,                             // 2 columns
        0x02, 0x00, b'i', b'd',                 //   name "id"
        0x06,                                   //   flags KEY | AUTO_INCREMENT (not nullable)
        0x05, 0x00,                             //   BIGINT, signed
        0x04, 0x00, b'n', b'a', b'm', b'e',     //   name "name"
        0x01,                                   //   flags NULLABLE
        0x0A, 40, 0, 0, 0,                      //   VARCHAR(40)
    ];
    assert_eq!(enc(&r), expected);
    let back = LogicalRecord::decode(&expected, 0).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.defines_table(), Some((1, "shop.items".to_string())));
    assert_eq!(back.table(), Some(TableRef::Id(1)));
    assert_eq!(back.summary(), "rel=1 shop.items v1 (2 columns)");
    let LogicalRecord::Relation(rel) = back else {
        unreachable!()
    };
    assert_eq!(rel.key_columns().collect::<Vec<_>>(), [0]);
}

#[test]
fn insert_layout() {
    let row = TupleBuf::from_values([Value::Int(5), Value::Null]).unwrap();
    let r = LogicalRecord::Insert(Insert {
        relation_id: 1,
        new: row.as_tuple(),
    });
    #[rustfmt::skip]
    let expected = [
        0x11,                                   // type INSERT
        0x01, 0x00, 0x00, 0x00,                 // relation id 1
        0x02, 0x00,                             // tuple: 2 columns
        0x0A, 0x00, 0x00, 0x00,                 //        10 bytes
        0x02, 5, 0, 0, 0, 0, 0, 0, 0,           //        Int 5
        0x00,                                   //        NULL
    ];
    assert_eq!(enc(&r), expected);
    let back = LogicalRecord::decode(&expected, 0).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.validate().unwrap(), 2);
    assert_eq!(back.summary(), "rel=1 new=(5, NULL)");
    assert_eq!(
        serde_json::to_string(&back).unwrap(),
        r#"{"relation_id":1,"new":[5,null]}"#
    );
}

#[test]
fn update_layouts() {
    let key =
        TupleBuf::from_values([ColumnValue::Value(Value::Int(5)), ColumnValue::Unchanged]).unwrap();
    let after =
        TupleBuf::from_values([ColumnValue::Value(Value::Int(6)), ColumnValue::Unchanged]).unwrap();
    let r = LogicalRecord::Update(Update {
        relation_id: 1,
        before: Some(OldImage {
            kind: ImageKind::Key,
            values: key.as_tuple(),
        }),
        after: after.as_tuple(),
    });
    #[rustfmt::skip]
    let expected = [
        0x12,                                   // type UPDATE
        0x01, 0x00, 0x00, 0x00,                 // relation id 1
        0x01,                                   // before-image: key only
        0x02, 0x00, 0x0A, 0x00, 0x00, 0x00,     // before tuple: 2 columns, 10 bytes
        0x02, 5, 0, 0, 0, 0, 0, 0, 0,           //   Int 5
        0xFF,                                   //   unchanged (non-key column)
        0x02, 0x00, 0x0A, 0x00, 0x00, 0x00,     // after tuple: 2 columns, 10 bytes
        0x02, 6, 0, 0, 0, 0, 0, 0, 0,           //   Int 6
        0xFF,                                   //   unchanged, not sent
    ];
    assert_eq!(enc(&r), expected);
    assert_eq!(LogicalRecord::decode(&expected, 0).unwrap(), r);

    let r = LogicalRecord::Update(Update {
        relation_id: 2,
        before: None,
        after: after.as_tuple(),
    });
    #[rustfmt::skip]
    let expected = [
        0x12,                                   // type UPDATE
        0x02, 0x00, 0x00, 0x00,                 // relation id 2
        0x00,                                   // no before-image
        0x02, 0x00, 0x0A, 0x00, 0x00, 0x00,     // after tuple
        0x02, 6, 0, 0, 0, 0, 0, 0, 0,
        0xFF,
    ];
    assert_eq!(enc(&r), expected);
    let back = LogicalRecord::decode(&expected, 0).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.tuples().count(), 1);
}

#[test]
fn delete_truncate_ddl_message_layouts() {
    let full = TupleBuf::from_values([Value::Bool(true)]).unwrap();
    let r = LogicalRecord::Delete(Delete {
        relation_id: 3,
        before: OldImage {
            kind: ImageKind::Full,
            values: full.as_tuple(),
        },
    });
    #[rustfmt::skip]
    let expected = [
        0x13,                                   // type DELETE
        0x03, 0x00, 0x00, 0x00,                 // relation id 3
        0x02,                                   // before-image: full
        0x01, 0x00, 0x02, 0x00, 0x00, 0x00,     // 1 column, 2 bytes
        0x01, 0x01,                             //   Bool true
    ];
    assert_eq!(enc(&r), expected);
    assert_eq!(LogicalRecord::decode(&expected, 0).unwrap(), r);

    let r = LogicalRecord::Truncate(Truncate {
        cascade: false,
        restart_identity: true,
        relation_ids: vec![1, 0x0203],
    });
    #[rustfmt::skip]
    let expected = [
        0x14,                                   // type TRUNCATE
        0x02,                                   // flags: RESTART IDENTITY
        0x02, 0x00,                             // 2 relations
        0x01, 0x00, 0x00, 0x00,                 //   1
        0x03, 0x02, 0x00, 0x00,                 //   0x0203
    ];
    assert_eq!(enc(&r), expected);
    let back = LogicalRecord::decode(&expected, 0).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.table(), Some(TableRef::Id(1)));
    assert_eq!(back.summary(), "rels=1,515 RESTART IDENTITY");

    let r = LogicalRecord::Ddl(Ddl {
        database: "db",
        sql: "DROP TABLE t",
    });
    #[rustfmt::skip]
    let expected = [
        0x15,                                   // type DDL
        0x02, 0x00, b'd', b'b',                 // database "db"
        0x0C, 0x00, 0x00, 0x00,                 // SQL length 12
        b'D', b'R', b'O', b'P', b' ', b'T', b'A', b'B', b'L', b'E', b' ', b't',
    ];
    assert_eq!(enc(&r), expected);
    let back = LogicalRecord::decode(&expected, 0).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.table(), None);

    let r = LogicalRecord::Message(Message {
        transactional: true,
        prefix: "app",
        content: &[0xCA, 0xFE],
    });
    #[rustfmt::skip]
    let expected = [
        0x16,                                   // type MESSAGE
        0x01,                                   // flags: transactional
        0x03, 0x00, b'a', b'p', b'p',           // prefix "app"
        0x02, 0x00, 0x00, 0x00, 0xCA, 0xFE,     // content, 2 bytes
    ];
    assert_eq!(enc(&r), expected);
    let back = LogicalRecord::decode(&expected, 0).unwrap();
    assert_eq!(back, r);
    assert_eq!(
        serde_json::to_string(&back).unwrap(),
        r#"{"transactional":true,"prefix":"app","content_hex":"cafe"}"#
    );
}

#[test]
fn malformed_records_report_exact_offsets() {
    #[rustfmt::skip]
    let cases: [(&[u8], u64, &str); 9] = [
        // DELETE with before-image kind 0 (none is only for UPDATE): at the kind byte.
        (&[0x13, 1, 0, 0, 0, 0x00, 0, 0, 0, 0, 0, 0],             5_005, "before-image kind 0"),
        // UPDATE with before-image kind 3.
        (&[0x12, 1, 0, 0, 0, 0x03],                               5_005, "before-image kind 3"),
        // INSERT whose tuple declares 4 bytes but has 1: at the first column byte.
        (&[0x11, 1, 0, 0, 0, 1, 0, 4, 0, 0, 0, 0x00],             5_011, "unexpected end"),
        // INSERT followed by a stray byte after the tuple.
        (&[0x11, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xAA],             5_011, "trailing"),
        // TRUNCATE with an undefined flag bit.
        (&[0x14, 0x04, 0, 0],                                     5_001, "TRUNCATE flags"),
        // TRUNCATE declaring 2 ids, 1 present: at the ids.
        (&[0x14, 0x00, 2, 0, 1, 0, 0, 0],                         5_004, "unexpected end"),
        // MESSAGE with an undefined flag bit.
        (&[0x16, 0x80, 0, 0, 0, 0, 0, 0],                         5_001, "MESSAGE flags"),
        // RELATION column with an undefined flag bit: at the flags byte.
        (&[0x10, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, b't', 1, 0, 1, 0, b'c', 0x08, 0x17], 5_019, "column flags"),
        // Unknown record type: at the type byte.
        (&[0x30],                                                 5_000, "unknown logical record type 0x30"),
    ];
    for (body, off, msg) in cases {
        let e = LogicalRecord::decode(body, 5_000).unwrap_err();
        assert_eq!(e.offset(), Some(off), "{body:02x?}: {e}");
        assert!(e.to_string().contains(msg), "{e}");
    }
    let e = LogicalRecord::decode(&[0x30], 0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
}

#[test]
fn malformed_tuple_value_is_found_on_iteration() {
    #[rustfmt::skip]
    let body = [
        0x11,                                   // type INSERT              @ 100
        0x01, 0x00, 0x00, 0x00,                 // relation id
        0x02, 0x00, 0x03, 0x00, 0x00, 0x00,     // 2 columns, 3 bytes
        0x01, 0x02,                             // Bool 2 (invalid)         @ 111, payload @ 112
        0x00,                                   // NULL
    ];
    let r = LogicalRecord::decode(&body, 100).unwrap();
    let e = r.validate().unwrap_err();
    assert_eq!(e.offset(), Some(112));
    assert!(e.to_string().contains("bool byte 2"), "{e}");
}

#[test]
fn format_dispatch() {
    let body = enc(&LogicalRecord::Ddl(Ddl {
        database: "",
        sql: "CREATE TABLE t (a INT)",
    }));
    match decode_record::<LogicalFormat>(&body, 0).unwrap() {
        Record::Data(r) => {
            assert_eq!(r.type_name(), "DDL");
            assert_eq!(r.summary(), "CREATE TABLE t (a INT)");
        }
        other => panic!("{other:?}"),
    }
    for t in 0x10..=0x16 {
        assert_ne!(LogicalFormat::type_name(t), "unknown");
    }
    assert_eq!(LogicalFormat::type_name(0x17), "unknown");
}

#[test]
fn encode_failure_leaves_buffer_untouched() {
    let r = LogicalRecord::Relation(Relation {
        relation_id: 1,
        schema_version: 1,
        database: "d",
        table: "t",
        columns: vec![Column::new("b", ColumnType::Bit(0))],
    });
    let mut out = vec![1, 2, 3];
    assert!(r.encode(&mut out).is_err());
    assert_eq!(out, [1, 2, 3]);
}

mod prop {
    use super::*;
    use proptest::prelude::*;
    use replog_core::value::arb;

    fn arb_column_value() -> impl Strategy<Value = ColumnValue<'static>> {
        prop_oneof![1 => Just(ColumnValue::Unchanged), 9 => arb::value().prop_map(ColumnValue::Value)]
    }

    fn arb_tuple() -> impl Strategy<Value = Vec<ColumnValue<'static>>> {
        proptest::collection::vec(arb_column_value(), 0..12)
    }

    const NAMES: &[&str] = &["", "id", "name", "größe", "a b", "x'y", "k"];

    fn arb_type() -> impl Strategy<Value = ColumnType<'static>> {
        let name = proptest::sample::select(NAMES);
        let labels = proptest::collection::vec(
            proptest::sample::select(&["a", "b", "", "x y", "é"][..]),
            0..5,
        );
        prop_oneof![
            any::<bool>().prop_map(|unsigned| ColumnType::TinyInt { unsigned }),
            any::<bool>().prop_map(|unsigned| ColumnType::SmallInt { unsigned }),
            any::<bool>().prop_map(|unsigned| ColumnType::MediumInt { unsigned }),
            any::<bool>().prop_map(|unsigned| ColumnType::Int { unsigned }),
            any::<bool>().prop_map(|unsigned| ColumnType::BigInt { unsigned }),
            (1u8..=65)
                .prop_flat_map(|p| (Just(p), 0..=p))
                .prop_map(|(precision, scale)| ColumnType::Decimal { precision, scale }),
            Just(ColumnType::Float),
            Just(ColumnType::Double),
            any::<u32>().prop_map(ColumnType::Char),
            any::<u32>().prop_map(ColumnType::VarChar),
            Just(ColumnType::Text),
            Just(ColumnType::Blob),
            any::<u32>().prop_map(ColumnType::Binary),
            any::<u32>().prop_map(ColumnType::VarBinary),
            Just(ColumnType::Date),
            (0u8..=6).prop_map(ColumnType::Time),
            (0u8..=6).prop_map(ColumnType::DateTime),
            (0u8..=6).prop_map(ColumnType::Timestamp),
            Just(ColumnType::Year),
            labels.clone().prop_map(ColumnType::Enum),
            labels.prop_map(ColumnType::Set),
            (1u8..=64).prop_map(ColumnType::Bit),
            Just(ColumnType::Boolean),
            Just(ColumnType::Json),
            name.prop_map(ColumnType::Other),
        ]
    }

    fn arb_relation() -> impl Strategy<Value = Relation<'static>> {
        let col = (
            proptest::sample::select(NAMES),
            arb_type(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(name, ty, nullable, key, auto_increment)| Column {
                name,
                ty,
                nullable,
                key,
                auto_increment,
            });
        (
            any::<u32>(),
            any::<u32>(),
            proptest::sample::select(NAMES),
            proptest::sample::select(NAMES),
            proptest::collection::vec(col, 0..8),
        )
            .prop_map(
                |(relation_id, schema_version, database, table, columns)| Relation {
                    relation_id,
                    schema_version,
                    database,
                    table,
                    columns,
                },
            )
    }

    fn check_rows(
        kind: u8,
        rel: u32,
        before: Option<(bool, Vec<ColumnValue<'static>>)>,
        after: Vec<ColumnValue<'static>>,
    ) {
        let a = TupleBuf::from_values(after.clone()).unwrap();
        let b = before
            .as_ref()
            .map(|(k, v)| (*k, TupleBuf::from_values(v.clone()).unwrap()));
        let old = b.as_ref().map(|(key, t)| OldImage {
            kind: if *key {
                ImageKind::Key
            } else {
                ImageKind::Full
            },
            values: t.as_tuple(),
        });
        let r = match (kind % 3, old) {
            (0, _) => LogicalRecord::Insert(Insert {
                relation_id: rel,
                new: a.as_tuple(),
            }),
            (1, old) => LogicalRecord::Update(Update {
                relation_id: rel,
                before: old,
                after: a.as_tuple(),
            }),
            (_, Some(old)) => LogicalRecord::Delete(Delete {
                relation_id: rel,
                before: old,
            }),
            (_, None) => LogicalRecord::Delete(Delete {
                relation_id: rel,
                before: OldImage {
                    kind: ImageKind::Full,
                    values: a.as_tuple(),
                },
            }),
        };
        let body = enc(&r);
        let back = LogicalRecord::decode(&body, 64).unwrap();
        assert_eq!(back, r);
        back.validate().unwrap();
        // Every value comes back, not just the bytes.
        let tuples: Vec<_> = back.tuples().map(|t| t.to_vec().unwrap()).collect();
        let mut expected = Vec::new();
        match kind % 3 {
            0 => expected.push(after),
            1 => {
                expected.extend(before.map(|(_, v)| v));
                expected.push(after);
            }
            _ => expected.push(before.map(|(_, v)| v).unwrap_or(after)),
        }
        assert_eq!(tuples, expected);
    }

    proptest! {
        #[test]
        fn row_records_round_trip(kind in any::<u8>(), rel in any::<u32>(),
                                  before in proptest::option::of((any::<bool>(), arb_tuple())),
                                  after in arb_tuple()) {
            check_rows(kind, rel, before, after);
        }

        #[test]
        fn relation_round_trips(rel in arb_relation()) {
            let r = LogicalRecord::Relation(rel);
            let body = enc(&r);
            prop_assert_eq!(LogicalRecord::decode(&body, 0).unwrap(), r);
        }

        #[test]
        fn other_records_round_trip(ids in proptest::collection::vec(any::<u32>(), 0..6), cascade in any::<bool>(),
                                    restart in any::<bool>(), db in ".{0,8}", sql in ".{0,40}",
                                    content in proptest::collection::vec(any::<u8>(), 0..40), tx in any::<bool>()) {
            for r in [
                LogicalRecord::Truncate(Truncate { cascade, restart_identity: restart, relation_ids: ids.clone() }),
                LogicalRecord::Ddl(Ddl { database: &db, sql: &sql }),
                LogicalRecord::Message(Message { transactional: tx, prefix: &db, content: &content }),
            ] {
                let body = enc(&r);
                prop_assert_eq!(LogicalRecord::decode(&body, 0).unwrap(), r);
            }
        }
    }
}

#[test]
fn summary_never_cuts_a_date_or_number_and_marks_cut_text() {
    use replog_core::value::{Date, DateTime};
    let added = DateTime {
        date: Date {
            year: 2023,
            month: 11,
            day: 14,
        },
        hour: 22,
        minute: 13,
        second: 24,
        micro: 123_456,
    };
    let long = "a note longer than twenty-four characters";
    let row = TupleBuf::from_values([
        Value::Int(-1_234_567_890_123_456_789),
        Value::DateTime(added),
        Value::Text(long.into()),
    ])
    .unwrap();
    let r = LogicalRecord::Insert(Insert {
        relation_id: 1,
        new: row.as_tuple(),
    });
    assert_eq!(
        r.summary(),
        "rel=1 new=(-1234567890123456789, 2023-11-14 22:13:24.123456, 'a note longer than twent…')"
    );
}
