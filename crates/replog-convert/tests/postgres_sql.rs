//! A logical log of PostgreSQL tables as SQL: PostgreSQL's dialect by
//! default (its names, typed literals, TRUNCATE options, ctid targeting of
//! keyless rows), MariaDB's when asked. The literals themselves are checked
//! against PostgreSQL 15 in replog-schema's `tests/pg_literals.rs`.

use replog_convert::to_statement::{
    SqlTextSink, StatementSink, ToStatementOptions, logical_to_statement,
};
use replog_core::reader::SegmentInput;
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, LogKind, Value};
use replog_logical::{
    Column, ColumnType, ColumnValue, Delete, ImageKind, Insert, LogicalRecord, OldImage, PgType,
    Relation, Truncate, TupleBuf, Update,
};
use replog_schema::sql::Dialect;

fn col<'a>(name: &'a str, ty: PgType<'a>, key: bool) -> Column<'a> {
    Column {
        name,
        ty: ColumnType::Pg(ty),
        nullable: !key,
        key,
        auto_increment: false,
    }
}

/// `public."my t"` (id int4 key, ts timestamptz, b bytea, a int4[], m mood)
/// and the keyless `public.nk` (x numeric, y text): one INSERT, an UPDATE
/// by key with an unchanged column, a DELETE, a keyless UPDATE with its
/// full before-image, a TRUNCATE … RESTART IDENTITY CASCADE.
fn log() -> Vec<u8> {
    let mood = PgType::Enum {
        name: "mood",
        labels: vec!["sad", "happy"],
    };
    let t = Relation {
        relation_id: 1,
        schema_version: 1,
        database: "public",
        table: "my t",
        columns: vec![
            col("id", PgType::Int4, true),
            col("ts", PgType::TimestampTz(None), false),
            col("b", PgType::Bytea, false),
            col("a", PgType::Array(Box::new(PgType::Int4)), false),
            col("m", mood, false),
        ],
    };
    let nk = Relation {
        relation_id: 2,
        schema_version: 1,
        database: "public",
        table: "nk",
        columns: vec![
            col("x", PgType::Numeric(None), false),
            col("y", PgType::Text, false),
        ],
    };
    let v = ColumnValue::Value;
    let tup = |vals: Vec<ColumnValue<'static>>| TupleBuf::from_values(vals).unwrap();
    let row = tup(vec![
        v(Value::Int(1)),
        v(Value::PgTimestampTz(86_400_000_000)),
        v(Value::Bytes(vec![0x0a, 0x5c].into())),
        v(Value::Text("{1,NULL}".into())),
        v(Value::Enum("sad".into())),
    ]);
    let key_only = |id: i64| {
        let mut vals = vec![ColumnValue::Unchanged; 5];
        vals[0] = v(Value::Int(id));
        tup(vals)
    };
    let key = key_only(1);
    let after = tup(vec![
        v(Value::Int(2)),
        v(Value::Null),
        ColumnValue::Unchanged,
        v(Value::Text("{}".into())),
        v(Value::Enum("happy".into())),
    ]);
    let del = key_only(2);
    let nk_before = tup(vec![
        v(Value::Decimal("1.50".into())),
        v(Value::Text("it's".into())),
    ]);
    let nk_after = tup(vec![
        v(Value::Decimal("2".into())),
        v(Value::Text("it's".into())),
    ]);
    let recs = [
        LogicalRecord::Relation(t),
        LogicalRecord::Relation(nk),
        LogicalRecord::Insert(Insert {
            relation_id: 1,
            new: row.as_tuple(),
        }),
        LogicalRecord::Update(Update {
            relation_id: 1,
            before: Some(OldImage {
                kind: ImageKind::Key,
                values: key.as_tuple(),
            }),
            after: after.as_tuple(),
        }),
        LogicalRecord::Delete(Delete {
            relation_id: 1,
            before: OldImage {
                kind: ImageKind::Key,
                values: del.as_tuple(),
            },
        }),
        LogicalRecord::Update(Update {
            relation_id: 2,
            before: Some(OldImage {
                kind: ImageKind::Full,
                values: nk_before.as_tuple(),
            }),
            after: nk_after.as_tuple(),
        }),
        LogicalRecord::Truncate(Truncate {
            cascade: true,
            restart_identity: true,
            relation_ids: vec![1, 2],
        }),
    ];
    let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).unwrap();
    w.begin(&Begin {
        txid: 7,
        timestamp_us: 0,
        server_id: 0,
        origin: "",
    })
    .unwrap();
    for r in &recs {
        let mut b = Vec::new();
        r.encode(&mut b).unwrap();
        w.append(&b).unwrap();
    }
    w.commit(&Commit {
        txid: 7,
        timestamp_us: 0,
        state_before: None,
        state_after: None,
    })
    .unwrap();
    w.finish().unwrap()
}

fn sql(dialect: Option<Dialect>) -> String {
    let mut sink = SqlTextSink::new(Vec::new());
    let opts = ToStatementOptions {
        allow_imprecise: true,
        dialect,
        ..ToStatementOptions::default()
    };
    let report =
        logical_to_statement(vec![SegmentInput::memory("pg", log())], &opts, &mut sink).unwrap();
    sink.finish().unwrap();
    assert_eq!(report.statements, 6);
    String::from_utf8(sink.into_inner()).unwrap()
}

#[test]
fn postgresql_tables_are_written_in_postgresql_sql() {
    let got = sql(None);
    let body = &got[got.find("START TRANSACTION;\n").unwrap()..];
    assert!(
        got.starts_with("-- Converted by replog") && got.contains("SET TimeZone = 'UTC';\n"),
        "{got}"
    );
    assert_eq!(
        body,
        "START TRANSACTION;\n\
         INSERT INTO \"public\".\"my t\" (\"id\", \"ts\", \"b\", \"a\", \"m\") VALUES (1, \
         '2000-01-02 00:00:00+00'::timestamptz, '\\x0a5c'::bytea, '{1,NULL}'::int4[], 'sad');\n\
         UPDATE \"public\".\"my t\" SET \"id\" = 2, \"ts\" = NULL, \"a\" = '{}'::int4[], \
         \"m\" = 'happy' WHERE \"id\" = 1;\n\
         DELETE FROM \"public\".\"my t\" WHERE \"id\" = 2;\n\
         UPDATE \"public\".\"nk\" SET \"x\" = 2 WHERE ctid = (SELECT ctid FROM \"public\".\"nk\" \
         WHERE \"x\" IS NOT DISTINCT FROM 1.50 AND \"y\" IS NOT DISTINCT FROM 'it''s' LIMIT 1);\n\
         TRUNCATE TABLE \"public\".\"my t\" RESTART IDENTITY CASCADE;\n\
         TRUNCATE TABLE \"public\".\"nk\" RESTART IDENTITY CASCADE;\n\
         COMMIT;\n"
    );
    assert_eq!(sql(Some(Dialect::Postgres)), got);
}

#[test]
fn mariadb_sql_when_asked() {
    let got = sql(Some(Dialect::MariaDb));
    assert!(got.contains("SET time_zone = '+00:00';\n"), "{got}");
    assert!(
        got.contains("INSERT INTO `public`.`my t` (`id`, `ts`, `b`, `a`, `m`) VALUES (1, '2000-01-02 00:00:00+00', X'0A5C', '{1,NULL}', 'sad');"),
        "{got}"
    );
    assert!(
        got.contains("WHERE `x` <=> 1.50 AND `y` <=> 'it''s' LIMIT 1;"),
        "{got}"
    );
}
