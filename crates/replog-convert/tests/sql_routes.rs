//! Issue 11 item 4 for the logical route: the SQL that `convert LOGICAL
//! --to sql` writes applies to an empty server and reproduces its tables.
//! Each MariaDB fixture ROW binlog is imported into a logical log,
//! converted to SQL text, and executed by the reference store from empty;
//! its tables must equal MariaDB's own dump.

use replog_convert::to_statement::{SqlTextSink, ToStatementOptions, logical_to_statement};
use replog_core::LogKind;
use replog_core::reader::SegmentInput;
use replog_core::writer::{LogWriter, WriterOptions};
use replog_import::{ImportOptions, import};
use replog_store::{SimEnvironment, Store};
use replog_test_support::mariadb::{binlogs_in as binlogs, run_dir};

#[test]
fn logical_sql_applies_to_an_empty_store_and_gives_mariadbs_tables() {
    let mut failures = Vec::new();
    for w in ["types", "dml", "ddl", "txn"] {
        for run in ["row-full", "row-minimal"] {
            let dir = run_dir(w, run);
            let mut l = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).unwrap();
            import(
                &binlogs(&dir),
                &ImportOptions::default(),
                None,
                Some(&mut l),
            )
            .unwrap();
            let logical = l.finish().unwrap();
            let mut sink = SqlTextSink::new(Vec::new());
            logical_to_statement(
                vec![SegmentInput::memory("imported", logical)],
                &ToStatementOptions::default(),
                &mut sink,
            )
            .unwrap();
            let sql = String::from_utf8(sink.into_inner()).unwrap();
            let mut store = Store::new(SimEnvironment::new(0, 1));
            if let Err(e) = store.execute_script(&sql) {
                failures.push(format!("{w}/{run}: {e}"));
                continue;
            }
            for e in std::fs::read_dir(dir.join("tables")).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                let (db, t) = name.split_once('.').unwrap();
                let want = std::fs::read_to_string(&p).unwrap();
                match store.dump_table(db, t) {
                    Ok(got) if got == want => {}
                    Ok(got) => failures.push(format!(
                        "{w}/{run} {name}: differs\n--- got\n{got}--- want\n{want}"
                    )),
                    Err(e) => failures.push(format!("{w}/{run} {name}: {e}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
