//! Reference-store throughput, with SQLite as the peer.
//!
//! `cargo bench -p replog-store --bench store -- [--rows N] [--updates N] [--reps N]`
//!
//! Generates one workload (single-row INSERTs with varied values in shuffled
//! key order, then `UPDATE … WHERE id = K` by primary key), and measures:
//!
//! - replog executing the SQL text in memory (`script::split` + `Store::execute`
//!   per statement, autocommit, change capture on; committed transactions are
//!   drained every 1,024 statements as `replog record` does);
//! - logical apply: the same workload recorded as a logical log in memory,
//!   then `replay::replay` (decode + apply) into an empty store;
//! - `sqlite3 :memory:` reading the same DML text from a file; process start,
//!   schema creation and file opening are excluded by subtracting the time of
//!   a run of the preceding part of the script: INSERTs = (schema + INSERTs)
//!   − (schema only); UPDATEs = (schema + INSERTs + UPDATEs) − (schema +
//!   INSERTs). SQLite's table is `id INTEGER PRIMARY KEY` (the rowid: rows
//!   clustered by key, as in InnoDB and in the reference store).
//!
//! Each figure is the best (and the median) of `--reps` runs.

use replog_core::LogKind;
use replog_core::reader::{LogReader, ReaderOptions, SegmentInput};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_store::logwrite::{LogicalEncoder, write_transaction};
use replog_store::replay::{ReplayOptions, replay};
use replog_store::snapshot::AppliedPosition;
use replog_store::{SimEnvironment, Storage, Store};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REPLOG_SCHEMA: &str = "CREATE DATABASE d; USE d; \
    CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a BIGINT NOT NULL, b VARCHAR(40) NOT NULL, c INT)";
/// SQLite's clustered form of the same table (`INTEGER PRIMARY KEY` is the
/// rowid, as InnoDB's and replog's primary key is the row order).
const SQLITE_SCHEMA: &str = "CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY, a BIGINT NOT NULL, b VARCHAR(40) NOT NULL, c INT);\n";

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn workload(rows: usize, updates: usize) -> (String, String) {
    let mut rng = Rng(42);
    let mut ids: Vec<usize> = (1..=rows).collect();
    for i in (1..ids.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    let mut ins = String::with_capacity(rows * 64);
    for id in ids {
        let a = rng.next() as i64 >> 12;
        let len = 4 + (rng.next() % 28) as usize;
        let b: String = (0..len)
            .map(|k| char::from(b'a' + ((rng.next() >> (k % 8)) % 26) as u8))
            .collect();
        let c = if rng.next() % 5 == 0 {
            "NULL".to_string()
        } else {
            (rng.next() % 1000).to_string()
        };
        ins.push_str(&format!("INSERT INTO t VALUES ({id}, {a}, '{b}', {c});\n"));
    }
    let mut upd = String::with_capacity(updates * 48);
    for _ in 0..updates {
        let id = 1 + rng.next() % rows as u64;
        upd.push_str(&format!(
            "UPDATE t SET a = a + 1, c = {} WHERE id = {id};\n",
            rng.next() % 1000
        ));
    }
    (ins, upd)
}

fn new_store() -> Store {
    let mut s = Store::new(SimEnvironment::default());
    s.execute_script(REPLOG_SCHEMA).expect("schema");
    s.take_committed();
    s
}

/// Executes every statement of `sql`; returns the time taken.
fn run_replog(store: &mut Store, sql: &str) -> Duration {
    let t = Instant::now();
    let stmts = replog_store::script::split(sql).expect("split");
    for (i, s) in stmts.iter().enumerate() {
        store.execute(s).expect("execute");
        if i % 1024 == 1023 {
            store.take_committed();
        }
    }
    store.take_committed();
    t.elapsed()
}

fn record_logical(ins: &str, upd: &str) -> (Vec<u8>, u64, u64) {
    let mut store = Store::new(SimEnvironment::default());
    let mut enc = LogicalEncoder::new(1);
    let mut w = LogWriter::new(Vec::new(), &WriterOptions::new(LogKind::Logical)).expect("writer");
    let mut changes = 0u64;
    for script in [REPLOG_SCHEMA, ins, upd] {
        for s in replog_store::script::split(script).expect("split") {
            store.execute(s).expect("execute");
            for tx in store.take_committed() {
                changes += tx
                    .statements
                    .iter()
                    .filter(|s| !s.is_ddl)
                    .map(|s| s.changes.len() as u64)
                    .sum::<u64>();
                let schema = store.table_defs();
                write_transaction(&mut w, &enc.encode(&tx, Some(&schema)).expect("encode"))
                    .expect("write");
            }
        }
    }
    (w.finish().expect("finish"), changes, store.digest())
}

fn sqlite_time(path: &Path) -> Option<Duration> {
    let f = std::fs::File::open(path).ok()?;
    let t = Instant::now();
    let st = Command::new("sqlite3")
        .arg(":memory:")
        .stdin(f)
        .stdout(Stdio::null())
        .status()
        .ok()?;
    let d = t.elapsed();
    st.success().then_some(d)
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[0], v[v.len() / 2])
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows = arg(&args, "--rows", 100_000);
    let updates = arg(&args, "--updates", 20_000);
    let reps = arg(&args, "--reps", 5).max(1);
    let (ins, upd) = workload(rows, updates);
    let dir: PathBuf =
        std::env::temp_dir().join(format!("replog-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");

    // replog: statements in memory.
    let (mut t_ins, mut t_upd) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let mut s = new_store();
        t_ins.push(run_replog(&mut s, &ins));
        t_upd.push(run_replog(&mut s, &upd));
        let id = s.storage().lookup("d", "t").expect("table");
        assert_eq!(s.storage().row_count(id), rows);
    }
    // The SQL front end alone: split + parse of every INSERT (no execution).
    let mut t_parse = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for s in replog_store::script::split(&ins).expect("split") {
            let p = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::MySqlDialect {}, s);
            std::hint::black_box(p.expect("parse"));
        }
        t_parse.push(t.elapsed());
    }
    // replog: logical apply (decode + apply).
    let (log, changes, digest) = record_logical(&ins, &upd);
    let mut t_log = Vec::new();
    for _ in 0..reps {
        let mut s = Store::new(SimEnvironment::default());
        let input = vec![SegmentInput::memory("bench", log.clone())];
        let t = Instant::now();
        let mut reader = LogReader::new(input, ReaderOptions::default());
        let rep = replay(
            &mut s,
            AppliedPosition::default(),
            &mut reader,
            &ReplayOptions::default(),
        )
        .expect("replay");
        t_log.push(t.elapsed());
        assert!(rep.clean(), "replay not clean");
        assert_eq!(s.digest(), digest);
    }
    // SQLite: same DML text; subtract the run of the preceding script part.
    let f_schema = dir.join("schema.sql");
    let f_ins = dir.join("inserts.sql");
    let f_upd = dir.join("updates.sql");
    std::fs::write(&f_schema, SQLITE_SCHEMA).expect("write");
    std::fs::write(&f_ins, format!("{SQLITE_SCHEMA}{ins}")).expect("write");
    std::fs::write(&f_upd, format!("{SQLITE_SCHEMA}{ins}{upd}")).expect("write");
    let mut sq = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let (Some(a), Some(b), Some(c)) = (
            sqlite_time(&f_schema),
            sqlite_time(&f_ins),
            sqlite_time(&f_upd),
        ) else {
            break;
        };
        sq.0.push(a);
        sq.1.push(b);
        sq.2.push(c);
    }
    let _ = std::fs::remove_dir_all(&dir);

    let (ib, im) = stats(t_ins);
    let (ub, um) = stats(t_upd);
    let (lb, lm) = stats(t_log);
    let (pb, pm) = stats(t_parse);
    println!(
        "rows {rows}, updates {updates}, reps {reps}; log {} B, {changes} row changes",
        log.len()
    );
    println!(
        "| measure | replog best | replog median | SQLite best | SQLite median | ratio (best/best) |"
    );
    println!("|---|---|---|---|---|---|");
    let sqlite = (!sq.0.is_empty()).then(|| {
        let (s0, _) = stats(sq.0.clone());
        let (s1, s1m) = stats(sq.1.clone());
        let (s2, s2m) = stats(sq.2.clone());
        // Insert part: (schema+inserts) − schema; update part: all − (schema+inserts).
        (
            s1.saturating_sub(s0),
            s1m.saturating_sub(s0),
            s2.saturating_sub(s1),
            s2m.saturating_sub(s1m),
        )
    });
    let row =
        |name: &str, n: usize, b: Duration, m: Duration, peer: Option<(Duration, Duration)>| {
            let peer_txt = match peer {
                Some((pb, pm)) => format!(
                    "{:.0}/s | {:.0}/s | **{:.2}×**",
                    rate(n, pb),
                    rate(n, pm),
                    rate(n, b) / rate(n, pb)
                ),
                None => "– | – | –".to_string(),
            };
            println!(
                "| {name} | {:.0}/s | {:.0}/s | {peer_txt} |",
                rate(n, b),
                rate(n, m)
            );
        };
    row(
        "single-row INSERT statements",
        rows,
        ib,
        im,
        sqlite.map(|s| (s.0, s.1)),
    );
    row(
        "UPDATE … WHERE id = K statements",
        updates,
        ub,
        um,
        sqlite.map(|s| (s.2, s.3)),
    );
    row(
        "logical row changes applied (decode + apply)",
        changes as usize,
        lb,
        lm,
        None,
    );
    row(
        "(front end only: split + parse of the INSERTs)",
        rows,
        pb,
        pm,
        None,
    );
    if sqlite.is_none() {
        println!("(sqlite3 not found on PATH: no comparison)");
    }
}
