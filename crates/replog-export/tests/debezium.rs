//! replog's Debezium export of PostgreSQL changes equals what Debezium's
//! own PostgreSQL connector (3.6, pgoutput, Kafka Connect's JSON converter
//! with schemas) emitted for the same changes (`fixtures/debezium/`, made
//! by its generate.sh), record for record and field for field, in each
//! decimal handling and time precision mode the fixture captured.
//!
//! Removed from both sides before comparing, and only these:
//! - the envelope's `ts_ms`, `ts_us`, `ts_ns`: the time Debezium processed
//!   the event (replog writes the commit time there);
//! - `source.version`: which connector wrote the event (Debezium's
//!   version, replog's).
//!
//! From captures that do not carry each change's own LSN (a
//! `pg_recvlogical` file, which keeps the messages but not the WAL
//! positions of their frames; the WAL decoded with its catalog, whose
//! decoder gives a transaction's commit LSN) these are removed too, as
//! they are the positions of single changes and transaction starts:
//! `source.lsn`, `source.sequence`, the event's `transaction.id` and the
//! BEGIN record's `id` (key and value). The WAL route also loses the END
//! record's `id` (the commit record's end LSN: its decoder gives the
//! commit record's start).
//!
//! pgoutput does not carry a REPLICA IDENTITY FULL table's primary key nor
//! an enum's labels; Debezium asks the server's catalog for them, replog
//! reads the catalog file of the same server (`--catalog`, the WAL
//! route's), so both routes are exported with it.

use replog_core::reader::ReaderOptions;
use replog_core::txn::TxnInput;
use replog_export::debezium::{Debezium, DecimalMode, Options, TimePrecision};
use replog_export::event::ChangeEvents;
use replog_export::pgcatalog::PgCatalogHints;
use serde_json::Value as J;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/debezium/out")
}

fn unzstd(name: &str, dir: &Path) -> PathBuf {
    let bytes =
        zstd::decode_all(std::fs::File::open(fixture().join(format!("{name}.zst"))).unwrap())
            .unwrap();
    let p = dir.join(name.rsplit('/').next().unwrap());
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The modes the fixture captured: file, decimal mode, time precision.
const MODES: [(&str, DecimalMode, TimePrecision); 3] = [
    (
        "debezium-precise",
        DecimalMode::Precise,
        TimePrecision::Adaptive,
    ),
    (
        "debezium-string",
        DecimalMode::String,
        TimePrecision::AdaptiveTimeMicroseconds,
    ),
    (
        "debezium-double",
        DecimalMode::Double,
        TimePrecision::Connect,
    ),
];

fn options(decimal: DecimalMode, time: TimePrecision) -> Options {
    Options {
        prefix: "oracle".into(),
        database: "oracle".into(),
        decimal,
        time: Some(time),
        schemas: true,
        tombstones: true,
        transactions: true,
        ..Options::default()
    }
}

fn export(input: replog_convert::source::LogInput, o: Options) -> Vec<J> {
    let mut src = input.open(ReaderOptions::default()).unwrap();
    let mut w = Debezium::new(Vec::new(), o);
    let catalog = replog_pgheap::catalog::Catalog::load(&fixture().join("catalog.tsv")).unwrap();
    ChangeEvents::new()
        .with_hints(Box::new(PgCatalogHints::new(catalog)))
        .run(&mut *src, &mut w)
        .unwrap();
    let out = w.finish().unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn debezium(name: &str, dir: &Path) -> Vec<J> {
    let text = std::fs::read_to_string(unzstd(&format!("{name}.ndjson"), dir)).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn remove(v: &mut J, path: &[&str]) {
    let mut cur = v;
    for p in &path[..path.len() - 1] {
        match cur.get_mut(*p) {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(o) = cur.as_object_mut() {
        o.remove(path[path.len() - 1]);
    }
}

/// Removes the fields the module docs list.
fn scrub(records: &mut [J], lsn_fields: bool, commit_end: bool) {
    for r in records.iter_mut() {
        for f in ["ts_ms", "ts_us", "ts_ns"] {
            remove(r, &["value", "payload", f]);
        }
        remove(r, &["value", "payload", "source", "version"]);
        if lsn_fields {
            remove(r, &["value", "payload", "source", "lsn"]);
            remove(r, &["value", "payload", "source", "sequence"]);
            remove(r, &["value", "payload", "transaction", "id"]);
            let status = &r["value"]["payload"]["status"];
            if status == "BEGIN" || (commit_end && status == "END") {
                remove(r, &["key", "payload", "id"]);
                remove(r, &["value", "payload", "id"]);
            }
        }
    }
}

/// Numbers compared by value (Java and Rust write some doubles
/// differently: `1.0E20` and `1e20`).
fn same(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64() && x.is_f64() == y.is_f64(),
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The first place where `a` and `b` differ, for the failure message.
fn first_difference(a: &J, b: &J, path: &str) -> Option<String> {
    match (a, b) {
        (J::Object(x), J::Object(y)) => {
            for k in y.keys().chain(x.keys()) {
                let (p, q) = (x.get(k).unwrap_or(&J::Null), y.get(k).unwrap_or(&J::Null));
                if !x.contains_key(k) || !y.contains_key(k) {
                    return Some(format!("{path}.{k}: {p} vs {q}"));
                }
                if let Some(d) = first_difference(p, q, &format!("{path}.{k}")) {
                    return Some(d);
                }
            }
            None
        }
        (J::Array(x), J::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]"))),
        _ if same(a, b) => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

fn compare(mut got: Vec<J>, mut want: Vec<J>, lsn_fields: bool, commit_end: bool, what: &str) {
    scrub(&mut got, lsn_fields, commit_end);
    scrub(&mut want, lsn_fields, commit_end);
    if std::env::var_os("DEBUG_ALL").is_some() {
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            if let Some(d) = first_difference(g, w, "") {
                eprintln!("{what}: record {i}: {d}");
            }
        }
    }
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if let Some(d) = first_difference(g, w, "") {
            panic!("{what}: record {i} differs at {d}\nreplog:   {g}\ndebezium: {w}");
        }
    }
    assert_eq!(got.len(), want.len(), "{what}: record count");
}

#[test]
fn pgoutput_copy_capture_exports_what_debezium_emitted() {
    let dir = tempfile::tempdir().unwrap();
    let copy = unzstd("pgoutput.copy", dir.path());
    for (name, decimal, time) in MODES {
        let want = debezium(name, dir.path());
        let input = replog_pglogical::PgLogicalInput::new(&copy)
            .unwrap()
            .unwrap();
        let got = export(
            replog_convert::source::LogInput::PgLogical(input),
            options(decimal, time),
        );
        compare(got, want, false, false, name);
    }
}

#[test]
fn pg_recvlogical_capture_exports_what_debezium_emitted() {
    let dir = tempfile::tempdir().unwrap();
    let recv = unzstd("pgoutput.recvlogical", dir.path());
    let (name, decimal, time) = MODES[0];
    let want = debezium(name, dir.path());
    let input = replog_pglogical::PgLogicalInput::new(&recv)
        .unwrap()
        .unwrap();
    let got = export(
        replog_convert::source::LogInput::PgLogical(input),
        options(decimal, time),
    );
    compare(got, want, true, false, name);
}

#[test]
fn wal_with_its_catalog_exports_what_debezium_emitted() {
    let dir = tempfile::tempdir().unwrap();
    let mut segments = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(fixture().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        segments.push(unzstd(
            &format!("wal/{}", n.trim_end_matches(".zst")),
            dir.path(),
        ));
    }
    let input = replog_pgheap::PgWalInput {
        segments,
        catalog: fixture().join("catalog.tsv"),
        spill_limit: None,
    };
    let (name, decimal, time) = MODES[0];
    let want = debezium(name, dir.path());
    let got = export(
        replog_convert::source::LogInput::PgWal(input),
        options(decimal, time),
    );
    compare(got, want, true, true, name);
}
