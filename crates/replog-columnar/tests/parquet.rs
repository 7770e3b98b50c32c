//! Parquet datasets read back with the `parquet` crate and compared with
//! what `mariadb-binlog -v` printed about the same binlogs (`rows.txt`):
//! every row change in order, in the transaction of its GTID, and the
//! values of the typed integer columns.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use replog_columnar::parquet_out::{ParquetOptions, export_parquet};
use replog_core::reader::ReaderOptions;
use replog_core::txn::TxnInput;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One row change as `mariadb-binlog -v` printed it: GTID, op, table, and
/// the `@N=` values of its row after (INSERT) or before (DELETE).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Printed {
    gtid: String,
    op: &'static str,
    table: String,
    values: Vec<String>,
}

fn mariadb_binlog_rows(path: &Path) -> Vec<Printed> {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    let mut rows: Vec<Printed> = Vec::new();
    let mut gtid = String::new();
    let mut in_set = false;
    for line in text.lines() {
        if let Some(i) = line.find("\tGTID ") {
            gtid = line[i + 6..].split(' ').next().unwrap().to_string();
            continue;
        }
        let Some(rest) = line.strip_prefix("### ") else {
            in_set = false;
            continue;
        };
        let op_table = [
            ("INSERT INTO ", "insert"),
            ("UPDATE ", "update"),
            ("DELETE FROM ", "delete"),
        ]
        .iter()
        .find_map(|(p, op)| rest.strip_prefix(p).map(|t| (*op, t)));
        if let Some((op, t)) = op_table {
            rows.push(Printed {
                gtid: gtid.clone(),
                op,
                table: t.replace('`', ""),
                values: Vec::new(),
            });
            in_set = false;
            continue;
        }
        match rest.trim() {
            // The image an INSERT sets or a DELETE matches on.
            "SET" => in_set = rows.last().is_some_and(|r| r.op == "insert"),
            "WHERE" => in_set = rows.last().is_some_and(|r| r.op == "delete"),
            v if in_set && v.starts_with('@') => {
                let value = v.split_once('=').unwrap().1.to_string();
                rows.last_mut().unwrap().values.push(value);
            }
            _ => {}
        }
    }
    rows
}

fn read_dir(dir: &Path) -> Vec<RecordBatch> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let r = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f).unwrap())
            .unwrap()
            .build()
            .unwrap();
        out.extend(r.map(Result::unwrap));
    }
    out
}

fn text(b: &RecordBatch, col: &str, row: usize) -> Option<String> {
    let c = b.column_by_name(col).unwrap();
    (!c.is_null(row)).then(|| c.as_string::<i32>().value(row).to_string())
}

fn export(workload: &str, opts: ParquetOptions) -> (tempfile::TempDir, Vec<Printed>) {
    let dir = root()
        .join("fixtures/mariadb/out")
        .join(workload)
        .join("row-full");
    let files: Vec<PathBuf> = ["mariadb-bin.000001", "mariadb-bin.000002"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    let input = replog_convert::source::BinlogInput::new(&files).unwrap();
    let mut src = input.open(ReaderOptions::default()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut events = replog_export::event::ChangeEvents::new();
    let stats = export_parquet(&mut events, &mut *src, &names, out.path(), opts).unwrap();
    let want = mariadb_binlog_rows(&dir.join("rows.txt"));
    assert_eq!(stats.read.rows, want.len() as u64, "{workload}");
    (out, want)
}

#[test]
fn the_generic_dataset_holds_every_row_mariadb_binlog_printed_in_order() {
    for workload in ["dml", "types"] {
        // Small batches and row groups: many batches per file.
        let opts = ParquetOptions {
            batch_rows: 7,
            row_group_rows: 16,
            ..ParquetOptions::default()
        };
        let (out, want) = export(workload, opts);
        let batches = read_dir(&out.path().join("changes"));
        let mut got = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                got.push((
                    text(b, "gtid", r).unwrap(),
                    text(b, "op", r).unwrap(),
                    format!(
                        "{}.{}",
                        text(b, "database_name", r).unwrap(),
                        text(b, "table_name", r).unwrap()
                    ),
                    text(b, "source_file", r).unwrap(),
                ));
            }
        }
        // One day of commits: one file, rows in log order.
        let want: Vec<(String, String, String, String)> = want
            .iter()
            .map(|p| {
                (
                    p.gtid.clone(),
                    p.op.to_string(),
                    p.table.clone(),
                    "mariadb-bin.000001".to_string(),
                )
            })
            .collect();
        assert_eq!(got, want, "{workload}");
    }
}

#[test]
fn typed_integer_columns_hold_the_values_mariadb_binlog_printed() {
    let (out, want) = export("types", ParquetOptions::default());
    let table = out.path().join("tables/table=w_types.ints");
    let batches = read_dir(&table);
    let want: Vec<&Printed> = want
        .iter()
        .filter(|p| p.table == "w_types.ints" && p.op == "insert")
        .collect();
    let mut got_rows = 0;
    let mut k = 0;
    for b in &batches {
        let schema = b.schema();
        let after: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| schema.field(i).name().starts_with("after_"))
            .collect();
        for r in 0..b.num_rows() {
            if text(b, "op", r).as_deref() != Some("insert") {
                continue;
            }
            let printed = want[k];
            k += 1;
            got_rows += 1;
            assert_eq!(after.len(), printed.values.len());
            for (&i, v) in after.iter().zip(&printed.values) {
                let c = b.column(i);
                // `-1 (255)`: the signed reading, then the unsigned one.
                let (signed, unsigned) = match v.split_once(" (") {
                    Some((s, u)) => (s.to_string(), u.trim_end_matches(')').to_string()),
                    None => (v.clone(), v.clone()),
                };
                let got = match c.data_type() {
                    _ if c.is_null(r) => "NULL".to_string(),
                    DataType::Int64 => c.as_primitive::<Int64Type>().value(r).to_string(),
                    DataType::UInt64 => c.as_primitive::<UInt64Type>().value(r).to_string(),
                    DataType::Boolean => u8::from(c.as_boolean().value(r)).to_string(),
                    other => panic!("{}: {other}", schema.field(i).name()),
                };
                let want = if c.data_type() == &DataType::UInt64 {
                    unsigned
                } else {
                    signed
                };
                assert_eq!(got, want, "{} row {k}", schema.field(i).name());
            }
        }
    }
    assert!(got_rows >= 3);
    assert_eq!(got_rows, want.len());
}
