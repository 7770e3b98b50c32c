//! Change events from each kind of source, checked against what other
//! tools printed about the same logs: `replog inspect`'s golden listing of
//! the native sample, `mariadb-binlog -v` of MariaDB's ROW binlogs, and
//! PostgreSQL's test_decoding capture of the workload the pgoutput capture
//! holds.

use replog_core::reader::{ReaderOptions, SegmentInput};
use replog_core::txn::{TxnInput, TxnSource};
use replog_export::event::{Change, ChangeEvents, ChangeSink, Op, Position, Txn, TxnCounts};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One delivered event, as the tests compare them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    txid: u64,
    op: Op,
    table: String,
    lsn: u64,
}

/// A transaction as the PostgreSQL tests compare them: xid, commit time,
/// changes `(op, table)` in order.
type PgTxn = (u64, i64, Vec<(Op, String)>);

/// What [`Collect::end`] keeps of a transaction: position, commit time,
/// counts per table, total.
type Ended = (String, i64, BTreeMap<String, u64>, u64);

#[derive(Default)]
struct Collect {
    events: Vec<Seen>,
    /// Per transaction.
    txns: Vec<Ended>,
    /// Per event: the GTID of its transaction (binlogs).
    gtids: Vec<String>,
    open: bool,
    begun: u64,
}

impl ChangeSink for Collect {
    type Error = replog_core::Error;
    fn begin(&mut self, _tx: &Txn<'_>) -> Result<(), Self::Error> {
        assert!(!self.open, "begin inside a transaction");
        self.open = true;
        self.begun += 1;
        Ok(())
    }
    fn change(&mut self, tx: &Txn<'_>, c: &Change<'_>) -> Result<(), Self::Error> {
        assert!(self.open, "a change outside begin/end");
        // Every value decodes, one per column.
        if let Some(t) = c.table {
            for img in [c.after, c.before.map(|b| b.values)].into_iter().flatten() {
                assert_eq!(img.validate()?, t.columns.len());
            }
        }
        if let Position::Binlog { gtid, .. } = tx.position {
            self.gtids.push(gtid.unwrap_or("-").to_string());
        }
        self.events.push(Seen {
            txid: tx.txid(),
            op: c.op,
            table: c.table.map(|t| t.qualified_name()).unwrap_or_default(),
            lsn: c.lsn,
        });
        Ok(())
    }
    fn end(&mut self, tx: &Txn<'_>, counts: &TxnCounts<'_>) -> Result<(), Self::Error> {
        assert!(self.open);
        self.open = false;
        let per: BTreeMap<String, u64> = counts
            .tables
            .iter()
            .map(|(t, n)| (t.qualified_name(), *n))
            .collect();
        let pos = match tx.position {
            Position::Binlog { gtid, pos, file } => {
                format!("{} {file}:{pos}", gtid.unwrap_or("-"))
            }
            Position::Postgres { commit_lsn, xid } => format!("{commit_lsn} {xid}"),
            Position::Native { commit_lsn } => commit_lsn.to_string(),
        };
        self.txns
            .push((pos, tx.commit_time_us(), per, counts.total));
        Ok(())
    }
}

fn collect(source: &mut dyn TxnSource) -> Collect {
    let mut c = Collect::default();
    let d = ChangeEvents::new().run(source, &mut c).unwrap();
    assert!(!c.open);
    assert_eq!(d.transactions, c.begun);
    assert_eq!(d.changes, c.events.len() as u64);
    // The counts per table add up to the events of each transaction.
    for (_, _, per, total) in &c.txns {
        let ddl_free: u64 = per.values().sum();
        assert!(ddl_free <= *total);
    }
    c
}

#[test]
fn native_sample_events_are_inspects_row_records_in_order() {
    let path = root().join("fixtures/native/logical/sample.replog");
    let mut src = vec![SegmentInput::file(&path).unwrap()]
        .open(ReaderOptions::default())
        .unwrap();
    let got = collect(&mut *src);
    let golden =
        std::fs::read_to_string(root().join("fixtures/native/logical/expected/inspect.ndjson"))
            .unwrap();
    let mut want = Vec::new();
    let mut commits = BTreeMap::new();
    let mut names = BTreeMap::new();
    for line in golden.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (Some(ty), Some(txid)) = (v["type"].as_str(), v["txid"].as_u64()) else {
            continue;
        };
        let lsn = v["lsn"].as_u64().unwrap();
        let op = match ty {
            "INSERT" => Op::Create,
            "UPDATE" => Op::Update,
            "DELETE" => Op::Delete,
            "DDL" => Op::Ddl,
            "RELATION" => {
                let r = &v["record"];
                let name = format!(
                    "{}.{}",
                    r["database"].as_str().unwrap(),
                    r["table"].as_str().unwrap()
                );
                names.insert(r["relation_id"].as_u64().unwrap(), name);
                continue;
            }
            "TRUNCATE" => {
                // One event per table, in the record's order.
                for id in v["record"]["relation_ids"].as_array().unwrap() {
                    want.push(Seen {
                        txid,
                        op: Op::Truncate,
                        table: names[&id.as_u64().unwrap()].clone(),
                        lsn,
                    });
                }
                continue;
            }
            "COMMIT" => {
                commits.insert(lsn, v["record"]["timestamp_us"].as_i64().unwrap());
                continue;
            }
            _ => continue,
        };
        let table = if op == Op::Ddl {
            String::new()
        } else {
            v["table"].as_str().unwrap().to_string()
        };
        want.push(Seen {
            txid,
            op,
            table,
            lsn,
        });
    }
    assert!(want.len() > 5, "{want:?}");
    assert_eq!(got.events, want);
    // Transactions at their COMMIT's LSN with its time.
    for (pos, time, _, _) in &got.txns {
        let lsn: u64 = pos.parse().unwrap();
        assert_eq!(commits.get(&lsn), Some(time), "COMMIT at LSN {lsn}");
    }
}

/// A binlog row change: the GTID of its transaction, op, table.
type BinlogRow = (String, Op, String);

/// The row changes `mariadb-binlog -v` printed (`rows.txt`): per GTID, the
/// `### INSERT INTO` / `### UPDATE` / `### DELETE FROM` lines with their
/// table, in order, and the position (`# at N`) of each GTID event.
fn mariadb_binlog_rows(path: &Path) -> (Vec<BinlogRow>, BTreeMap<String, u64>) {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    let mut rows = Vec::new();
    let mut at_of = BTreeMap::new();
    let (mut gtid, mut at) = (String::new(), 0u64);
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("# at ") {
            at = n.trim().parse().unwrap();
        } else if let Some(i) = line.find("\tGTID ") {
            gtid = line[i + 6..].split(' ').next().unwrap().to_string();
            at_of.insert(gtid.clone(), at);
        } else if let Some(rest) = line.strip_prefix("### ") {
            let (op, table) = if let Some(t) = rest.strip_prefix("INSERT INTO ") {
                (Op::Create, t)
            } else if let Some(t) = rest.strip_prefix("UPDATE ") {
                (Op::Update, t)
            } else if let Some(t) = rest.strip_prefix("DELETE FROM ") {
                (Op::Delete, t)
            } else {
                continue;
            };
            rows.push((gtid.clone(), op, table.replace('`', "")));
        }
    }
    (rows, at_of)
}

#[test]
fn binlog_events_are_the_rows_mariadb_binlog_printed() {
    for workload in ["dml", "types"] {
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
        let got = collect(&mut *src);
        let (want, at_of) = mariadb_binlog_rows(&dir.join("rows.txt"));
        assert!(want.len() > 20, "{workload}: {}", want.len());
        // The row changes, in order, in the transactions of their GTIDs.
        let rows: Vec<BinlogRow> = got
            .events
            .iter()
            .zip(&got.gtids)
            .filter(|(e, _)| e.op != Op::Ddl)
            .map(|(e, g)| (g.clone(), e.op, e.table.clone()))
            .collect();
        assert_eq!(rows, want, "{workload}");
        // Each transaction's position is its GTID event's.
        for (pos, _, _, _) in &got.txns {
            let (gtid, at) = pos.split_once(' ').unwrap();
            let at: u64 = at.rsplit_once(':').unwrap().1.parse().unwrap();
            assert_eq!(at_of.get(gtid), Some(&at), "{workload}: {pos}");
        }
    }
}

/// test_decoding's capture of the workload: per committed transaction its
/// xid, commit time (µs since the Unix epoch) and changes `(op, table)`.
fn test_decoding(text: &str) -> Vec<PgTxn> {
    let mut out = Vec::new();
    let mut cur: Vec<(Op, String)> = Vec::new();
    for line in text.lines() {
        let data = line.splitn(3, '\t').nth(2).unwrap();
        if data.starts_with("BEGIN ") {
            cur.clear();
        } else if let Some(rest) = data.strip_prefix("COMMIT ") {
            let (xid, at) = rest.split_once(" (at ").unwrap();
            out.push((
                xid.parse().unwrap(),
                pg_time(at.trim_end_matches(')')),
                cur.clone(),
            ));
        } else if let Some(rest) = data.strip_prefix("table ") {
            let (tables, rest) = rest.split_once(": ").unwrap();
            let op = match rest.split(':').next().unwrap() {
                "INSERT" => Op::Create,
                "UPDATE" => Op::Update,
                "DELETE" => Op::Delete,
                "TRUNCATE" => Op::Truncate,
                o => panic!("{o}"),
            };
            for t in tables.split(", ") {
                cur.push((op, t.to_string()));
            }
        }
    }
    out
}

/// `2026-12-07 06:49:18.235993+00` as µs since the Unix epoch.
fn pg_time(s: &str) -> i64 {
    let s = s.strip_suffix("+00").unwrap();
    let (date, time) = s.split_once(' ').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    let days = replog_core::value::days_from_civil(d[0], d[1] as u32, d[2] as u32);
    let micros: i64 = format!("{frac:0<6}").parse().unwrap();
    (days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1_000_000 + micros
}

fn pg_capture(dir: &Path, name: &str) -> PathBuf {
    let src = root()
        .join("fixtures/postgres/logical/debian-15")
        .join(format!("{name}.zst"));
    let bytes = zstd::decode_all(std::fs::File::open(src).unwrap()).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The events of a PostgreSQL source grouped by transaction; checks
/// that each transaction's position names its xid and that its counts per
/// table are its events'.
fn pg_transactions(got: &Collect) -> Vec<PgTxn> {
    let mut by_tx: Vec<PgTxn> = Vec::new();
    for e in &got.events {
        if by_tx.last().is_none_or(|t| t.0 != e.txid) {
            by_tx.push((e.txid, 0, Vec::new()));
        }
        by_tx.last_mut().unwrap().2.push((e.op, e.table.clone()));
    }
    assert_eq!(by_tx.len(), got.txns.len());
    for (t, (pos, time, per, total)) in by_tx.iter_mut().zip(&got.txns) {
        t.1 = *time;
        // The position is PostgreSQL's: the commit LSN and the xid.
        let (_, xid) = pos.split_once(' ').unwrap();
        assert_eq!(xid, t.0.to_string());
        assert_eq!(*total as usize, t.2.len());
        let mut count = BTreeMap::new();
        for (_, table) in &t.2 {
            *count.entry(table.clone()).or_insert(0u64) += 1;
        }
        assert_eq!(&count, per, "xid {}", t.0);
    }
    by_tx
}

#[test]
fn pgoutput_events_are_the_changes_test_decoding_printed() {
    let dir = tempfile::tempdir().unwrap();
    let td = std::fs::read_to_string(pg_capture(dir.path(), "test_decoding.copy")).unwrap();
    let want: Vec<_> = test_decoding(&td)
        .into_iter()
        .filter(|t| !t.2.is_empty())
        .collect();
    assert!(want.len() > 10);
    for name in ["pgoutput-v1.copy", "pgoutput-v2-binary.recvlogical"] {
        let path = pg_capture(dir.path(), name);
        let input = replog_pglogical::PgLogicalInput::new(&path)
            .unwrap()
            .unwrap();
        let mut src = input.open(ReaderOptions::default()).unwrap();
        let got = collect(&mut *src);
        assert_eq!(pg_transactions(&got), want, "{name}");
    }
}

#[test]
fn wal_events_are_the_changes_test_decoding_printed() {
    let dir = tempfile::tempdir().unwrap();
    let td = std::fs::read_to_string(pg_capture(dir.path(), "test_decoding.copy")).unwrap();
    let want: Vec<_> = test_decoding(&td)
        .into_iter()
        .filter(|t| !t.2.is_empty())
        .collect();
    let fixture = root().join("fixtures/postgres/logical/debian-15");
    let mut segments = Vec::new();
    for name in ["000000010000000000000006", "000000010000000000000007"] {
        let bytes =
            zstd::decode_all(std::fs::File::open(fixture.join(format!("wal/{name}.zst"))).unwrap())
                .unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        segments.push(p);
    }
    let input = replog_pgheap::PgWalInput {
        segments,
        catalog: fixture.join("catalog.tsv"),
        spill_limit: None,
    };
    let mut src = replog_convert::source::LogInput::PgWal(input)
        .open(ReaderOptions::default())
        .unwrap();
    let got = collect(&mut *src);
    assert_eq!(pg_transactions(&got), want);
}

#[test]
fn damage_stops_the_events_unless_the_policy_accepts_it() {
    let log = std::fs::read(root().join("fixtures/native/logical/sample.replog")).unwrap();
    // Cut inside the last transaction: a torn tail.
    let cut = log[..log.len() - 10].to_vec();
    let open = |policy| {
        vec![SegmentInput::memory("cut", cut.clone())]
            .open(ReaderOptions {
                policy,
                ..ReaderOptions::default()
            })
            .unwrap()
    };
    let mut strict = open(replog_core::recovery::RecoveryPolicy::Strict);
    let err = ChangeEvents::new()
        .run(&mut *strict, &mut Collect::default())
        .unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    assert!(err.offset().is_some(), "{err}");
    let mut tolerant = open(replog_core::recovery::RecoveryPolicy::TolerateTail);
    let mut c = Collect::default();
    let d = ChangeEvents::new().run(&mut *tolerant, &mut c).unwrap();
    assert_eq!(d.tolerated_damage.len(), 1);
    // The valid prefix: every event of the whole log but the last
    // transaction's.
    let mut whole = vec![SegmentInput::memory("whole", log)]
        .open(ReaderOptions::default())
        .unwrap();
    let all = collect(&mut *whole);
    assert_eq!(c.txns.len() + 1, all.txns.len());
    assert_eq!(c.events[..], all.events[..c.events.len()]);
}

#[test]
fn a_statement_log_is_refused_with_what_to_do() {
    let path = root().join("fixtures/native/statement/sample.replog");
    let mut src = vec![SegmentInput::file(&path).unwrap()]
        .open(ReaderOptions::default())
        .unwrap();
    let err = ChangeEvents::new()
        .run(&mut *src, &mut Collect::default())
        .unwrap_err();
    assert!(err.to_string().contains("convert --to logical"), "{err}");
}
