//! PostgreSQL tables in the reference store: a logical log whose RELATIONs
//! carry PostgreSQL types (and no DDL, as PostgreSQL's streams) creates and
//! alters the tables; every type of `fixtures/postgres/types` (PostgreSQL
//! 15's own output) replays, dumps as the server printed it and digests;
//! keys compare as PostgreSQL compares them; unchanged TOAST columns of an
//! update keep the stored value.

use replog_core::reader::{LogReader, ReaderOptions};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, LogKind, Value};
use replog_logical::{
    Column, ColumnType, ColumnValue, Delete, ImageKind, Insert, LogicalRecord, OldImage, PgType,
    Relation, TupleBuf, Update,
};
use replog_store::replay::{ReplayOptions, ReplayReport, replay};
use replog_store::snapshot::AppliedPosition;
use replog_store::{SimEnvironment, Store, TableDef};
use replog_test_support::postgres::{TypeColumn, type_cells, type_columns, type_enums};

/// A logical log written record by record, one transaction at a time.
struct Log {
    w: LogWriter<Vec<u8>>,
    txid: u64,
}

impl Log {
    fn new() -> Log {
        Log {
            w: LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).unwrap(),
            txid: 0,
        }
    }

    fn tx(&mut self, recs: &[LogicalRecord<'_>]) {
        self.txid += 1;
        let txid = self.txid;
        let ts = 1_700_000_000_000_000 + txid as i64;
        self.w
            .begin(&Begin {
                txid,
                timestamp_us: ts,
                server_id: 1,
                origin: "",
            })
            .unwrap();
        for r in recs {
            let mut b = Vec::new();
            r.encode(&mut b).unwrap();
            self.w.append(&b).unwrap();
        }
        self.w
            .commit(&Commit {
                txid,
                timestamp_us: ts,
                state_before: None,
                state_after: None,
            })
            .unwrap();
    }

    fn replay(self) -> (Store, ReplayReport) {
        let mut store = Store::new(SimEnvironment::default());
        let mut r = LogReader::from_bytes(self.w.finish().unwrap(), ReaderOptions::default());
        let rep = replay(
            &mut store,
            AppliedPosition::default(),
            &mut r,
            &ReplayOptions::default(),
        )
        .unwrap();
        (store, rep)
    }
}

fn tup(vals: Vec<ColumnValue<'_>>) -> TupleBuf {
    TupleBuf::from_values(vals).unwrap()
}

fn val(v: Value<'_>) -> ColumnValue<'_> {
    ColumnValue::Value(v)
}

/// The RELATION of `public.table`; its first column is the (replica
/// identity) key when `keyed`.
fn relation<'a>(
    id: u32,
    version: u32,
    table: &'a str,
    keyed: bool,
    cols: &[(&'a str, PgType<'a>)],
) -> Relation<'a> {
    let columns = cols
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| Column {
            name,
            ty: ColumnType::Pg(ty.clone()),
            nullable: !(keyed && i == 0),
            key: keyed && i == 0,
            auto_increment: false,
        })
        .collect();
    Relation {
        relation_id: id,
        schema_version: version,
        database: "public",
        table,
        columns,
    }
}

fn insert<'a>(id: u32, t: &'a TupleBuf) -> LogicalRecord<'a> {
    LogicalRecord::Insert(Insert {
        relation_id: id,
        new: t.as_tuple(),
    })
}

/// The fixture table's column types as a source types them: built-in OIDs
/// by the mapping, enums by name with `labels`.
fn fixture_type<'a>(c: &'a TypeColumn, labels: &[&'a str]) -> PgType<'a> {
    replog_pgtype::column_type_or_enum(c.oid, c.typmod, &c.typname, c.elem, labels)
}

/// How each cell of the fixture reaches the log.
#[derive(Clone, Copy, Debug)]
enum Form {
    Text,
    Send,
}

/// The fixture table replayed from a log of one INSERT per row, each
/// value decoded from `form`; and the dump PostgreSQL's text output makes.
fn replay_fixture(form: Form) -> (Store, String) {
    let cols = type_columns();
    let enums = type_enums();
    let labels: Vec<&str> = enums.iter().map(|(_, l)| l.as_str()).collect();
    let types: Vec<PgType<'_>> = cols.iter().map(|c| fixture_type(c, &labels)).collect();
    assert_eq!(cols[0].name, "id");
    let named: Vec<(&str, PgType<'_>)> = cols
        .iter()
        .zip(&types)
        .map(|(c, t)| (c.name.as_str(), t.clone()))
        .collect();
    let rel = relation(7, 1, "types_t", true, &named);
    let cells = type_cells();
    let mut rows: Vec<(i32, Vec<ColumnValue<'_>>, Vec<String>)> = Vec::new();
    for cell in &cells {
        if cell.attnum == 1 {
            rows.push((cell.id, Vec::new(), Vec::new()));
        }
        let (_, vals, text) = rows.last_mut().unwrap();
        let (c, ty) = (&cols[cell.attnum - 1], &types[cell.attnum - 1]);
        let v = match (form, &cell.text, &cell.send) {
            (_, None, _) => Value::Null,
            (Form::Text, Some(t), _) => replog_pgtype::from_text(&c.name, ty, t).unwrap(),
            (Form::Send, _, Some(b)) => replog_pgtype::from_binary(&c.name, ty, b).unwrap(),
            (Form::Send, _, None) => panic!("row {} {}: no send form", cell.id, c.name),
        };
        vals.push(val(v));
        text.push(cell.text.clone().unwrap_or_else(|| "NULL".into()));
    }
    let bufs: Vec<TupleBuf> = rows.iter().map(|(_, v, _)| tup(v.clone())).collect();
    let mut log = Log::new();
    let mut recs = vec![LogicalRecord::Relation(rel)];
    recs.extend(bufs.iter().map(|b| insert(7, b)));
    log.tx(&recs);
    let (store, rep) = log.replay();
    assert!(rep.clean(), "{form:?}: {rep:?}");
    assert_eq!(rep.changes, rows.len() as u64);
    rows.sort_by_key(|r| r.0);
    let want: String = rows.iter().map(|(_, _, t)| t.join("\t") + "\n").collect();
    (store, want)
}

#[test]
fn every_postgresql_type_replays_and_dumps_as_the_server_prints_it() {
    let (from_text, want) = replay_fixture(Form::Text);
    let dump = from_text.dump_table("public", "types_t").unwrap();
    for (i, (got, want)) in dump.lines().zip(want.lines()).enumerate() {
        assert_eq!(got, want, "row {i}");
    }
    assert_eq!(dump, want);
    // The send forms decode to the same values: same dump, same digest.
    let (from_send, _) = replay_fixture(Form::Send);
    assert_eq!(from_send.dump_table("public", "types_t").unwrap(), want);
    assert_eq!(from_send.digest(), from_text.digest());
    assert_ne!(from_text.digest(), 0);
    // The table the RELATION made: the PostgreSQL types, kept exactly.
    let def = from_text.table_def("public", "types_t").unwrap();
    assert_eq!(def.primary_key, [0]);
    let cols = type_columns();
    for (c, f) in def.columns.iter().zip(&cols) {
        assert_eq!(
            c.ty.to_column_type().to_string(),
            f.format_type.replace("interval day to second", "interval"),
            "{}",
            c.name
        );
    }
}

#[test]
fn every_postgresql_type_counts_in_the_digest() {
    // Two rows that differ in one column only hash differently, for every
    // column and every pair of distinct values the server printed for it.
    let cols = type_columns();
    let enums = type_enums();
    let labels: Vec<&str> = enums.iter().map(|(_, l)| l.as_str()).collect();
    let types: Vec<PgType<'_>> = cols.iter().map(|c| fixture_type(c, &labels)).collect();
    let cells = type_cells();
    let mut pairs = 0;
    for (c, ty) in cols.iter().zip(&types).skip(1) {
        let rel = relation(
            1,
            1,
            "one",
            true,
            &[("id", PgType::Int4), (&c.name, ty.clone())],
        );
        let def = TableDef::from_relation(&rel);
        let mut seen: Vec<(&str, u64)> = Vec::new();
        for cell in cells.iter().filter(|x| x.attnum == c.attnum) {
            let v = match &cell.text {
                Some(t) => replog_pgtype::from_text(&c.name, ty, t).unwrap(),
                None => Value::Null,
            };
            let h = replog_store::digest::row_hash(&def, &vec![Value::Int(1), v.into_owned()]);
            let text = cell.text.as_deref().unwrap_or("NULL");
            for (t, other) in &seen {
                assert_eq!(*t == text, *other == h, "{}: {t:?} and {text:?}", c.name);
                pairs += 1;
            }
            seen.push((text, h));
        }
    }
    assert!(pairs > 200, "{pairs} pairs");
}

/// A table `k` of one key column of type `ty` and an int4 `v`; inserts
/// `keys` (text output forms) with v = 1, 2, …; returns the log.
fn key_table<'a>(ty: &PgType<'a>, keys: &[&str]) -> Log {
    let rel = relation(1, 1, "k", true, &[("k", ty.clone()), ("v", PgType::Int4)]);
    let bufs: Vec<TupleBuf> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let kv = replog_pgtype::from_text("k", ty, k).unwrap();
            tup(vec![val(kv), val(Value::Int(i as i64 + 1))])
        })
        .collect();
    let mut log = Log::new();
    let mut recs = vec![LogicalRecord::Relation(rel)];
    recs.extend(bufs.iter().map(|b| insert(1, b)));
    log.tx(&recs);
    log
}

#[test]
fn keys_compare_and_sort_as_postgresql_does() {
    // Each list is in PostgreSQL's order (ORDER BY k): the dump, in key
    // order, must list the rows so; then every row is updated through a
    // key-only before-image and one deleted.
    let cases: &[(PgType<'static>, &[&str])] = &[
        (
            PgType::Int4,
            &["-2147483648", "-10", "-9", "0", "9", "10", "2147483647"],
        ),
        (
            PgType::Int8,
            &["-9223372036854775808", "-1", "0", "9223372036854775807"],
        ),
        (
            PgType::Numeric(None),
            &[
                "-Infinity",
                "-1000",
                "-999.99",
                "-1.51",
                "-1.5",
                "-1",
                "-0.5",
                "0",
                "0.0001",
                "1",
                "1.5",
                "1.51",
                "999.99",
                "1000",
                "Infinity",
                "NaN",
            ],
        ),
        (PgType::Text, &["", "A", "B", "a", "a ", "ab", "b", "ünï"]),
        (PgType::VarChar(Some(10)), &["A", "Z", "a"]),
        (
            PgType::Uuid,
            &[
                "00000000-0000-0000-0000-000000000000",
                "0000000f-0000-0000-0000-000000000000",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "ffffffff-ffff-ffff-ffff-ffffffffffff",
            ],
        ),
        (
            PgType::Timestamp(None),
            &[
                "-infinity",
                "4713-01-01 00:00:00 BC",
                "1999-12-31 23:59:59.999999",
                "2000-01-01 00:00:00",
                "2000-01-01 00:00:00.000001",
                "294276-12-31 23:59:59.999999",
                "infinity",
            ],
        ),
        (
            PgType::TimestampTz(None),
            &[
                "-infinity",
                "1970-01-01 00:00:00+00",
                "2024-01-02 03:04:05.123456+00",
                "infinity",
            ],
        ),
        (
            PgType::Date,
            &["-infinity", "0044-03-15 BC", "2000-01-01", "infinity"],
        ),
    ];
    for (ty, keys) in cases {
        let mut log = key_table(ty, keys);
        // Update every row by its key alone (v += 100), delete the first.
        let kvs: Vec<Value<'_>> = keys
            .iter()
            .map(|k| replog_pgtype::from_text("k", ty, k).unwrap())
            .collect();
        let befores: Vec<TupleBuf> = kvs
            .iter()
            .map(|k| tup(vec![val(k.clone()), ColumnValue::Unchanged]))
            .collect();
        let afters: Vec<TupleBuf> = kvs
            .iter()
            .enumerate()
            .map(|(i, k)| tup(vec![val(k.clone()), val(Value::Int(i as i64 + 101))]))
            .collect();
        let mut recs: Vec<LogicalRecord<'_>> = befores
            .iter()
            .zip(&afters)
            .map(|(b, a)| {
                LogicalRecord::Update(Update {
                    relation_id: 1,
                    before: Some(OldImage {
                        kind: ImageKind::Key,
                        values: b.as_tuple(),
                    }),
                    after: a.as_tuple(),
                })
            })
            .collect();
        recs.push(LogicalRecord::Delete(Delete {
            relation_id: 1,
            before: OldImage {
                kind: ImageKind::Key,
                values: befores[0].as_tuple(),
            },
        }));
        log.tx(&recs);
        let (store, rep) = log.replay();
        assert!(rep.clean(), "{ty}: {rep:?}");
        let want: String = keys
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, k)| format!("{k}\t{}\n", i + 101))
            .collect();
        assert_eq!(store.dump_table("public", "k").unwrap(), want, "{ty}");
    }
}

#[test]
fn keys_equal_under_postgresql_equality_collide() {
    // numeric 1.5 = 1.50 and -2 = -2.000, character(4) 'ab' = 'ab  ';
    // text 'a' and 'A' are two keys (no case folding).
    let cases: &[(PgType<'static>, &str, &str)] = &[
        (PgType::Numeric(None), "1.5", "1.50"),
        (PgType::Numeric(None), "-2", "-2.000"),
        (PgType::Numeric(None), "0", "-0.00"),
        (PgType::Char(None), "ab", "ab  "),
    ];
    for (ty, a, b) in cases {
        let (_, rep) = key_table(ty, &[a, b]).replay();
        assert!(!rep.clean(), "{ty}: {a} and {b} must collide");
        assert_eq!(rep.conflicts.len(), 1, "{ty}: {rep:?}");
    }
    let (store, rep) = key_table(&PgType::Text, &["a", "A", "a "]).replay();
    assert!(rep.clean(), "{rep:?}");
    assert_eq!(
        store.dump_table("public", "k").unwrap(),
        "A\t2\na\t1\na \t3\n"
    );
}

#[test]
fn unchanged_toast_columns_keep_the_stored_value() {
    // PostgreSQL leaves an unchanged out-of-line value out of an UPDATE
    // ('u' in pgoutput): the after-image says Unchanged and the store
    // keeps its value, whether the before-image is missing (the key did
    // not change), key-only (the key changed) or full.
    let rel = relation(
        3,
        1,
        "toast_t",
        true,
        &[
            ("id", PgType::Int4),
            ("small", PgType::Int4),
            ("big", PgType::Text),
        ],
    );
    let big = |c: char| Value::Text(c.to_string().repeat(10_000).into());
    let u = || ColumnValue::Unchanged;
    let i = |n: i64| val(Value::Int(n));
    let rows = [
        tup(vec![i(1), i(10), val(big('x'))]),
        tup(vec![i(2), i(20), val(big('y'))]),
        tup(vec![i(3), i(30), val(big('z'))]),
    ];
    let after1 = tup(vec![i(1), i(11), u()]);
    let before2 = tup(vec![i(2), u(), u()]);
    let after2 = tup(vec![i(22), i(21), u()]);
    let before3 = tup(vec![i(3), i(30), val(big('z'))]);
    let after3 = tup(vec![i(3), i(31), u()]);
    let mut log = Log::new();
    let mut recs = vec![LogicalRecord::Relation(rel)];
    recs.extend(rows.iter().map(|r| insert(3, r)));
    log.tx(&recs);
    log.tx(&[
        LogicalRecord::Update(Update {
            relation_id: 3,
            before: None,
            after: after1.as_tuple(),
        }),
        LogicalRecord::Update(Update {
            relation_id: 3,
            before: Some(OldImage {
                kind: ImageKind::Key,
                values: before2.as_tuple(),
            }),
            after: after2.as_tuple(),
        }),
        LogicalRecord::Update(Update {
            relation_id: 3,
            before: Some(OldImage {
                kind: ImageKind::Full,
                values: before3.as_tuple(),
            }),
            after: after3.as_tuple(),
        }),
    ]);
    let (store, rep) = log.replay();
    assert!(rep.clean(), "{rep:?}");
    let s = |c: char| c.to_string().repeat(10_000);
    assert_eq!(
        store.dump_table("public", "toast_t").unwrap(),
        format!("1\t11\t{}\n3\t31\t{}\n22\t21\t{}\n", s('x'), s('z'), s('y'))
    );
}

#[test]
fn relations_create_alter_and_key_tables() {
    // A RELATION re-sent after ALTER TABLE (a column added, one dropped)
    // alters the table and keeps its rows; a table without replica
    // identity columns has no primary key: its rows are identified by
    // their whole content, and identical rows are kept.
    use PgType as P;
    let v1 = relation(
        5,
        1,
        "t",
        true,
        &[("id", P::Int8), ("a", P::Text), ("b", P::Bool)],
    );
    let v2 = relation(
        5,
        2,
        "t",
        true,
        &[("id", P::Int8), ("b", P::Bool), ("c", P::Uuid)],
    );
    let nokey = relation(6, 1, "nokey", false, &[("x", P::Int4), ("y", P::Text)]);
    let r1 = tup(vec![
        val(Value::Int(1)),
        val(Value::Text("one".into())),
        val(Value::Bool(true)),
    ]);
    let r2 = tup(vec![
        val(Value::Int(2)),
        val(Value::Bool(false)),
        val(Value::Uuid([0xab; 16])),
    ]);
    let n1 = tup(vec![val(Value::Int(1)), val(Value::Text("a".into()))]);
    let n2 = tup(vec![val(Value::Int(1)), val(Value::Null)]);
    let mut log = Log::new();
    log.tx(&[LogicalRecord::Relation(v1), insert(5, &r1)]);
    log.tx(&[
        LogicalRecord::Relation(v2),
        insert(5, &r2),
        LogicalRecord::Relation(nokey),
        insert(6, &n1),
        insert(6, &n2),
        insert(6, &n1),
    ]);
    let (store, rep) = log.replay();
    assert!(rep.clean(), "{rep:?}");
    assert_eq!(
        store.dump_table("public", "t").unwrap(),
        "1\tt\tNULL\n2\tf\tabababab-abab-abab-abab-abababababab\n"
    );
    let def = store.table_def("public", "t").unwrap();
    assert_eq!(def.columns[2].ty.to_column_type().to_string(), "uuid");
    assert_eq!(
        store.table_def("public", "nokey").unwrap().primary_key,
        [0usize; 0]
    );
    assert_eq!(
        store.dump_table("public", "nokey").unwrap(),
        "1\tNULL\n1\ta\n1\ta\n"
    );
}
