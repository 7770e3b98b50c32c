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
//! Range shapes (`--ranges N`, default 2,000; the cliff): after the
//! INSERTs and UPDATEs, N statements each of `UPDATE … WHERE id BETWEEN K
//! AND K+9`, `UPDATE … WHERE id >= K AND id <= K+9`, `DELETE … WHERE id > K
//! ORDER BY id LIMIT 1` (the first row after K) and `UPDATE … WHERE c = N
//! ORDER BY id LIMIT 1` (the first row with that `c` in key order), timed
//! per shape (SQLite: the sum of its `.timer on` CPU readings over the
//! shape's statements, the preceding workload run untimed first).
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

/// The range shapes: `(name, statements, script)`, `n` statements each.
fn range_workload(rows: usize, n: usize) -> Vec<(&'static str, usize, String)> {
    let mut rng = Rng(7);
    let mut between = String::new();
    let mut cmp = String::new();
    let mut first_after = String::new();
    let mut ordered = String::new();
    for _ in 0..n {
        let k = 1 + rng.next() % (rows as u64 - 9);
        between.push_str(&format!(
            "UPDATE t SET a = a + 1 WHERE id BETWEEN {k} AND {};\n",
            k + 9
        ));
        let k = 1 + rng.next() % (rows as u64 - 9);
        cmp.push_str(&format!(
            "UPDATE t SET c = {} WHERE id >= {k} AND id <= {};\n",
            rng.next() % 1000,
            k + 9
        ));
        let k = rng.next() % rows as u64;
        first_after.push_str(&format!(
            "DELETE FROM t WHERE id > {k} ORDER BY id LIMIT 1;\n"
        ));
        ordered.push_str(&format!(
            "UPDATE t SET a = a - 1 WHERE c = {} ORDER BY id LIMIT 1;\n",
            rng.next() % 1000
        ));
    }
    vec![
        ("`UPDATE … WHERE id BETWEEN K AND K+9`", n, between),
        ("`UPDATE … WHERE id >= K AND id <= K+9`", n, cmp),
        (
            "`DELETE … WHERE id > K ORDER BY id LIMIT 1`",
            n,
            first_after,
        ),
        ("`UPDATE … WHERE c = N ORDER BY id LIMIT 1`", n, ordered),
    ]
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

/// Runs `sqlite3 :memory:` on a script whose timed part follows `.timer
/// on`; returns the sum of the user + sys readings of "Run Time: real R
/// user U sys S" (the real time has millisecond resolution; CPU time can
/// only flatter SQLite against replog's wall-clock time).
fn sqlite_timed_statements(path: &Path) -> Option<Duration> {
    let f = std::fs::File::open(path).ok()?;
    let out = Command::new("sqlite3")
        .arg(":memory:")
        .stdin(f)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let secs: f64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("Run Time: real "))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let at = |k: &str| {
                w.iter()
                    .position(|x| *x == k)
                    .and_then(|i| w.get(i + 1)?.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            at("user") + at("sys")
        })
        .sum();
    Some(Duration::from_secs_f64(secs))
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
    let n_ranges = arg(&args, "--ranges", 2_000);
    let (ins, upd) = workload(rows, updates);
    let ranges = range_workload(rows, n_ranges);
    let dir: PathBuf =
        std::env::temp_dir().join(format!("replog-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");

    // replog: statements in memory.
    let (mut t_ins, mut t_upd) = (Vec::new(), Vec::new());
    let mut t_ranges: Vec<Vec<Duration>> = vec![Vec::new(); ranges.len()];
    let mut range_reads = vec![0u64; ranges.len()];
    for _ in 0..reps {
        let mut s = new_store();
        t_ins.push(run_replog(&mut s, &ins));
        t_upd.push(run_replog(&mut s, &upd));
        let id = s.storage().lookup("d", "t").expect("table");
        assert_eq!(s.storage().row_count(id), rows);
        for (i, (_, _, sql)) in ranges.iter().enumerate() {
            let before = s.rows_read();
            t_ranges[i].push(run_replog(&mut s, sql));
            range_reads[i] = s.rows_read() - before;
        }
    }
    // The SQL front end alone: split + parse of every INSERT (no execution).
    let mut t_parse = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        for s in replog_store::script::split(&ins).expect("split") {
            let p = sqlparser::parser::Parser::parse_sql(&replog_schema::MariaDbDialect, s);
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
    // One file per range shape: everything before it untimed, then it with
    // SQLite's own per-statement timer (a few thousand statements are too
    // short for subtracting whole runs on a shared machine).
    let mut f_ranges = Vec::new();
    let mut text = format!("{SQLITE_SCHEMA}{ins}{upd}");
    for (i, (_, _, sql)) in ranges.iter().enumerate() {
        let f = dir.join(format!("range{i}.sql"));
        std::fs::write(&f, format!("{text}.timer on\n{sql}")).expect("write");
        text.push_str(sql);
        f_ranges.push(f);
    }
    let mut sq = (Vec::new(), Vec::new(), Vec::new());
    let mut sq_ranges: Vec<Vec<Duration>> = vec![Vec::new(); ranges.len()];
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
        for (i, f) in f_ranges.iter().enumerate() {
            if let Some(t) = sqlite_timed_statements(f) {
                sq_ranges[i].push(t);
            }
        }
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
    // Range shapes: SQLite's time is the sum of its timer's readings.
    for (i, (name, n, _)) in ranges.iter().enumerate() {
        let (b, m) = stats(t_ranges[i].clone());
        let peer = (!sq_ranges[i].is_empty()).then(|| stats(sq_ranges[i].clone()));
        row(name, *n, b, m, peer);
    }
    println!(
        "rows read from storage per range statement (last rep): {}",
        range_reads
            .iter()
            .map(|r| format!("{:.1}", *r as f64 / n_ranges.max(1) as f64))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if sqlite.is_none() {
        println!("(sqlite3 not found on PATH: no comparison)");
    }
}
