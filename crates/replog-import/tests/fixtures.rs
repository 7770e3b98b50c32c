//! The importer against the committed MariaDB and MySQL fixtures.

use replog_binlog::{EventBody, Events};
use replog_core::LogKind;
use replog_core::reader::{ReaderOptions, SegmentInput, scan};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_import::{
    ImportOptions, ImportReport, ImportedTransaction, Importer, LogicalOp, NamesFrom, import,
    to_sql,
};
use replog_test_support::mariadb::{binlogs_in as binlogs, run_dir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const RUNS: [&str; 6] = [
    "statement",
    "row-no_log",
    "row-minimal",
    "row-full",
    "mixed-minimal",
    "mixed-full",
];
const WORKLOADS: [&str; 5] = ["types", "dml", "ddl", "txn", "unsafe"];

fn collect(paths: &[PathBuf]) -> (Vec<ImportedTransaction>, ImportReport) {
    let mut imp = Importer::new(paths, &ImportOptions::default());
    let txs: Vec<_> = imp.by_ref().collect::<Result<_, _>>().unwrap();
    (txs, imp.into_report())
}

/// Writes both logs into memory and returns (statement, logical, report).
fn both(paths: &[PathBuf]) -> (Vec<u8>, Vec<u8>, ImportReport) {
    let mut s = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Statement)).unwrap();
    let mut l = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).unwrap();
    let rep = import(paths, &ImportOptions::default(), Some(&mut s), Some(&mut l)).unwrap();
    (s.finish().unwrap(), l.finish().unwrap(), rep)
}

fn verify(bytes: Vec<u8>, what: &str) -> u64 {
    let sum = scan(
        vec![SegmentInput::memory(what, bytes)],
        ReaderOptions::default(),
    )
    .unwrap();
    assert!(sum.acceptable(), "{what}: {:?}", sum.damage);
    assert!(sum.uncommitted.is_none(), "{what}");
    sum.commits
}

/// Per table: the column names and key flags of every RELATION, in order.
/// Column names and key flags of one RELATION.
type Shape = (Vec<String>, Vec<bool>);

fn relations(txs: &[ImportedTransaction]) -> BTreeMap<String, Vec<Shape>> {
    let mut m: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for tx in txs {
        for op in &tx.logical {
            if let LogicalOp::Relation(r) = op {
                m.entry(format!("{}.{}", r.database, r.table))
                    .or_default()
                    .push((
                        r.columns.iter().map(|c| c.name.clone()).collect(),
                        r.columns.iter().map(|c| c.key).collect(),
                    ));
            }
        }
    }
    m
}

#[test]
fn every_mariadb_run_imports_and_verifies() {
    for w in WORKLOADS {
        for run in RUNS {
            let dir = run_dir(w, run);
            let paths = binlogs(&dir);
            let (s, l, rep) = both(&paths);
            let sc = verify(s, "statement");
            let lc = verify(l, "logical");
            assert!(rep.transactions > 0, "{w}/{run}");
            assert_eq!(rep.incomplete_transactions, 0, "{w}/{run}");
            assert!(sc + lc >= rep.transactions, "{w}/{run}: {sc} + {lc}");
            if run.starts_with("row") {
                assert!(rep.row_changes > 0, "{w}/{run}");
                assert_eq!(rep.statements_not_in_logical_log, 0, "{w}/{run}");
            }
            if run == "statement" {
                assert_eq!(rep.row_changes, 0, "{w}/{run}");
            }
        }
    }
}

#[test]
fn row_full_names_and_keys_come_from_the_table_map() {
    for w in WORKLOADS {
        let (txs, rep) = collect(&binlogs(&run_dir(w, "row-full")));
        assert!(!rep.tables.is_empty());
        for t in &rep.tables {
            assert_eq!(t.names_from, NamesFrom::TableMap, "{w} {}", t.name);
            assert!(t.has_key, "{w} {}", t.name);
        }
        for (table, rels) in relations(&txs) {
            for (names, keys) in rels {
                assert!(names.iter().all(|n| !n.starts_with('@')), "{table}");
                assert!(keys.iter().any(|&k| k), "{table}: no key flag");
            }
        }
        // The key flags equal the table map's primary key.
        let data = std::fs::read(run_dir(w, "row-full").join("mariadb-bin.000001")).unwrap();
        let mut pk = BTreeMap::new();
        for ev in Events::new(&data).unwrap() {
            if let EventBody::TableMap(tm) = ev.unwrap().body() {
                let mut v = vec![false; tm.columns.len()];
                for &(i, _) in &tm.primary_key {
                    v[i] = true;
                }
                pk.insert(format!("{}.{}", tm.schema, tm.table), v);
            }
        }
        for (table, rels) in relations(&txs) {
            assert_eq!(&rels.last().unwrap().1, &pk[&table], "{w} {table}");
        }
    }
}

#[test]
fn minimal_and_no_log_names_come_from_the_schema_history() {
    for w in WORKLOADS {
        let (full, _) = collect(&binlogs(&run_dir(w, "row-full")));
        let full = relations(&full);
        for run in ["row-minimal", "row-no_log", "mixed-minimal"] {
            let (txs, rep) = collect(&binlogs(&run_dir(w, run)));
            for t in &rep.tables {
                assert_eq!(
                    t.names_from,
                    NamesFrom::SchemaHistory,
                    "{w}/{run} {}",
                    t.name
                );
            }
            assert!(
                !rep.notes.iter().any(|n| n.contains("@1..")),
                "{w}/{run}: {:?}",
                rep.notes
            );
            let got = relations(&txs);
            if run.starts_with("row") {
                assert_eq!(got, full, "{w}/{run}");
            } else {
                for (t, rels) in got {
                    assert_eq!(rels.last(), full[&t].last(), "{w}/{run} {t}");
                }
            }
        }
    }
}

/// Counts, straight from the binlog, the QUERY events preceded by INTVAR,
/// RAND and USER_VAR events.
fn context_events(path: &Path) -> (u64, u64, u64, u64) {
    let data = std::fs::read(path).unwrap();
    let (mut iv, mut rnd, mut uv, mut queries) = (0, 0, 0, 0);
    let (mut p_iv, mut p_rnd, mut p_uv) = (false, false, false);
    for ev in Events::new(&data).unwrap() {
        match ev.unwrap().body() {
            EventBody::IntVar(_) => p_iv = true,
            EventBody::Rand(_) => p_rnd = true,
            EventBody::UserVar(_) => p_uv = true,
            EventBody::Query(q) => {
                let s = q.query_str().trim().to_ascii_uppercase();
                if s != "BEGIN" && s != "COMMIT" {
                    queries += 1;
                    iv += u64::from(p_iv);
                    rnd += u64::from(p_rnd);
                    uv += u64::from(p_uv);
                }
                (p_iv, p_rnd, p_uv) = (false, false, false);
            }
            _ => {}
        }
    }
    (iv, rnd, uv, queries)
}

#[test]
fn statement_runs_carry_intvar_rand_and_user_var_context() {
    let mut total = (0, 0, 0);
    for w in WORKLOADS {
        let paths = binlogs(&run_dir(w, "statement"));
        let (txs, rep) = collect(&paths);
        let (iv, rnd, uv, queries) = paths
            .iter()
            .map(|p| context_events(p))
            .fold((0, 0, 0, 0), |a, b| {
                (a.0 + b.0, a.1 + b.1, a.2 + b.2, a.3 + b.3)
            });
        assert_eq!(rep.statements, queries, "{w}");
        assert_eq!(rep.statements_with_intvar, iv, "{w}");
        assert_eq!(rep.statements_with_rand, rnd, "{w}");
        assert_eq!(rep.statements_with_user_vars, uv, "{w}");
        total = (total.0 + iv, total.1 + rnd, total.2 + uv);
        let stmts: Vec<_> = txs.iter().flat_map(|t| &t.statements).collect();
        let with_ctx = stmts
            .iter()
            .filter(|s| s.insert_id.is_some() || s.last_insert_id.is_some())
            .count() as u64;
        assert_eq!(with_ctx, iv, "{w}");
        for s in &stmts {
            assert!(
                s.timestamp_us.is_some() && s.sql_mode.is_some(),
                "{w}: {}",
                s.sql
            );
        }
    }
    assert!(total.0 > 0 && total.1 > 0 && total.2 > 0, "{total:?}");
}

#[test]
fn unsafe_mixed_runs_fill_both_outputs() {
    for run in ["mixed-minimal", "mixed-full"] {
        let (txs, rep) = collect(&binlogs(&run_dir("unsafe", run)));
        assert!(
            rep.row_changes > 0 && rep.rows_not_in_statement_log > 0,
            "{run}"
        );
        assert!(rep.statements_not_in_logical_log > 0, "{run}");
        assert!(txs.iter().any(|t| !t.statements.is_empty()));
        assert!(txs.iter().any(|t| {
            t.logical
                .iter()
                .any(|o| matches!(o, LogicalOp::Insert { .. }))
        }));
    }
}

#[test]
fn transactions_keep_gtid_origin_and_timestamps() {
    let (txs, _) = collect(&binlogs(&run_dir("txn", "row-full")));
    let mut prev = 0;
    for t in &txs {
        assert_eq!(t.txid, prev + 1);
        prev = t.txid;
        let g = t.gtid.as_deref().unwrap();
        assert!(g.starts_with("0-1-"), "{g}");
        assert!(t.origin().starts_with(&format!("{g} mariadb-bin.00000")));
        assert_eq!(t.server_id, 1);
        assert!(t.begin_timestamp_us > 1_600_000_000_000_000);
        assert!(t.commit_timestamp_us >= t.begin_timestamp_us);
    }
    // BEGIN … COMMIT spanning two tables is one transaction.
    assert!(txs.iter().any(|t| {
        let tables: std::collections::HashSet<u32> = t
            .logical
            .iter()
            .filter_map(|o| match o {
                LogicalOp::Insert { relation_id, .. } => Some(*relation_id),
                _ => None,
            })
            .collect();
        tables.len() >= 2
    }));
}

#[test]
fn mysql_fixtures_import_except_the_truncated_ones() {
    let dir = root().join("fixtures/mysql");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if !p.is_file() {
            continue;
        }
        let data = std::fs::read(&p).unwrap();
        if !replog_binlog::is_binlog(&data) {
            continue;
        }
        n += 1;
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        // The reader's own first error, if any.
        let reader_err = Events::new(&data)
            .unwrap()
            .find_map(|e| e.err())
            .map(|e| e.offset());
        let res: Result<Vec<_>, _> =
            Importer::new(std::slice::from_ref(&p), &ImportOptions::default()).collect();
        if name.contains("truncated") {
            let e = res.expect_err(&name);
            assert!(e.to_string().contains(&name), "{e}");
            assert_eq!(Some(e.offset()), reader_err, "{name}: {e}");
        } else {
            let txs = res.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(reader_err.is_none(), "{name}");
            let (_, _, rep) = both(std::slice::from_ref(&p));
            to_sql(&txs).unwrap();
            assert!(rep.transactions as usize == txs.len(), "{name}");
        }
    }
    assert!(n >= 20, "{n}");
}

#[test]
fn to_sql_renders_context_and_keyed_row_changes() {
    let (txs, _) = collect(&binlogs(&run_dir("dml", "statement")));
    let (sql, _) = to_sql(&txs).unwrap();
    assert!(sql.contains("SET INSERT_ID="), "{sql}");
    assert!(sql.contains("SET TIMESTAMP="));
    assert!(!sql.contains("ROLLBACK"));
    let (txs, _) = collect(&binlogs(&run_dir("unsafe", "statement")));
    let (sql, _) = to_sql(&txs).unwrap();
    assert!(sql.contains("SET @@session.rand_seed1="), "{sql}");
    assert!(sql.contains("SET @d = "), "{sql}");
    let (txs, _) = collect(&binlogs(&run_dir("dml", "row-minimal")));
    let (sql, notes) = to_sql(&txs).unwrap();
    assert!(sql.contains("UPDATE `w_dml`."), "{sql}");
    assert!(sql.contains(" WHERE `id` <=> "), "{sql}");
    assert!(sql.contains("DELETE FROM `w_dml`."));
    assert!(notes.is_empty(), "{notes:?}");
}

/// "Replaying the ROW binlog into the reference store gives exactly
/// MariaDB's table contents."
#[test]
fn replaying_imported_row_logs_gives_mariadbs_tables() {
    use replog_store::replay::{ReplayOptions, replay};
    use replog_store::snapshot::AppliedPosition;
    use replog_store::{SimEnvironment, Store};
    let mut failures = Vec::new();
    for w in ["types", "dml", "ddl", "txn"] {
        for run in ["row-full", "row-minimal", "row-no_log"] {
            let dir = run_dir(w, run);
            let (_, logical, _) = both(&binlogs(&dir));
            let mut store = Store::new(SimEnvironment::new(0, 1));
            let mut r =
                replog_core::reader::LogReader::from_bytes(logical, ReaderOptions::default());
            let rep = replay(
                &mut store,
                AppliedPosition::default(),
                &mut r,
                &ReplayOptions::default(),
            )
            .unwrap();
            if !rep.clean() {
                failures.push(format!("{w}/{run}: {:?}", rep.failures));
                continue;
            }
            compare_tables(&store, &dir, &format!("{w}/{run}"), &[], &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Issue 11 item 4: "the SQL output of every route must apply cleanly to an
/// empty server and reproduce its tables". Every binlog of every run, as
/// SQL, executed by the reference store from empty: no statement fails
/// (the first was `USE ledgerdb` before `CREATE DATABASE ledgerdb`, from a
/// QUERY event flagged LOG_EVENT_SUPPRESS_USE_F) and the tables equal
/// MariaDB's (except where a real statement replica diverged too).
#[test]
fn binlog_sql_applies_to_an_empty_store_and_gives_mariadbs_tables() {
    use replog_store::{SimEnvironment, Store};
    let mut failures = Vec::new();
    for w in WORKLOADS {
        for run in RUNS {
            let dir = run_dir(w, run);
            let (txs, _) = collect(&binlogs(&dir));
            let (sql, _) = to_sql(&txs).unwrap();
            let mut store = Store::new(SimEnvironment::new(0, 1));
            if let Err(e) = store.execute_script(&sql) {
                failures.push(format!("{w}/{run}: {e}"));
                continue;
            }
            // Tables that a real MariaDB replica of this statement binlog
            // did not reproduce either (the fixture's divergence oracle).
            let diverged: Vec<String> = std::fs::read_to_string(dir.join("divergence.tsv"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.strip_suffix("\tyes"))
                .map(str::to_string)
                .collect();
            compare_tables(
                &store,
                &dir,
                &format!("{w}/{run}"),
                &diverged,
                &mut failures,
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Compares every table MariaDB dumped into `dir/tables` (except `skip`)
/// with the store's, adding a failure per difference.
fn compare_tables(
    store: &replog_store::Store<replog_store::MemStorage, replog_store::SimEnvironment>,
    dir: &Path,
    what: &str,
    skip: &[String],
    failures: &mut Vec<String>,
) {
    for e in std::fs::read_dir(dir.join("tables")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if skip.contains(&name) {
            continue;
        }
        let (db, t) = name.split_once('.').unwrap();
        let want = std::fs::read_to_string(&p).unwrap();
        match store.dump_table(db, t) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!(
                "{what} {name}: differs\n--- got\n{got}--- want\n{want}"
            )),
            Err(e) => failures.push(format!("{what} {name}: {e}")),
        }
    }
}

/// An importer resumed from a checkpoint taken after any event — between
/// transactions, between a TABLE_MAP and its rows events, inside a
/// transaction — yields what the first importer yielded from there: the
/// open transaction with the records after the checkpoint, then the rest.
#[test]
fn resumed_importers_continue_exactly_where_their_checkpoint_was_taken() {
    use replog_import::{ImportOptions, ImportedTransaction, Importer};
    for (w, run) in [
        ("types", "row-full"),
        ("dml", "mixed-full"),
        ("txn", "row-full"),
    ] {
        let paths = binlogs(&run_dir(w, run));
        let opts = ImportOptions::default();
        let all: Vec<ImportedTransaction> = Importer::new(&paths, &opts)
            .collect::<replog_core::Result<_>>()
            .unwrap();
        // Checkpoints after every event, each with the records yielded before it.
        let mut imp = Importer::new(&paths, &opts);
        let mut checkpoints = Vec::new();
        let mut done = 0usize;
        let mut inside = 0;
        loop {
            while imp.take_transaction().is_some() {
                done += 1;
            }
            if let Some(cp) = imp.checkpoint() {
                inside += usize::from(cp.open_txid().is_some());
                checkpoints.push((cp, done));
            }
            match imp.read_event() {
                None => break,
                Some(r) => r.unwrap(),
            }
        }
        assert!(
            inside > 10,
            "{w}/{run}: {inside} checkpoints inside transactions"
        );
        for (cp, done) in checkpoints.iter().step_by(3) {
            let rest: Vec<ImportedTransaction> = Importer::resume(&paths, &opts, cp)
                .unwrap()
                .collect::<replog_core::Result<_>>()
                .unwrap();
            let want = &all[*done..];
            assert_eq!(rest.len(), want.len(), "{w}/{run} {cp:?}");
            for (got, want) in rest.iter().zip(want) {
                assert_eq!(got.txid, want.txid);
                assert_eq!(got.position, want.position);
                // The open transaction: only the records after the checkpoint.
                assert!(want.logical.ends_with(&got.logical), "{w}/{run} {cp:?}");
                assert!(
                    want.statements.ends_with(&got.statements),
                    "{w}/{run} {cp:?}"
                );
                if cp.open_txid() != Some(got.txid) {
                    assert_eq!(got, want, "{w}/{run} {cp:?}");
                }
            }
        }
    }
}
