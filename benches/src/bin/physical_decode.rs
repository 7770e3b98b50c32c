//! Throughput of physical → logical conversion (logical decoding,
//! `replog_convert::from_physical`) on a real page-engine WAL.
//!
//! ```text
//! physical_decode --wal FILE [--size 100M] [--page-size 8192] [--runs 3] [--out FILE] [--small]
//! ```
//!
//! `--small` generates single-row autocommit transactions (after 1,000
//! rows of set-up) instead: the worst case per byte, since every
//! transaction costs a BEGIN, a COMMIT and the pages it touches.
//!
//! When FILE does not exist, a WAL of at least `--size` bytes is generated
//! first: an OLTP-like workload run on the reference store over the page
//! engine (tables with a UNIQUE key, transactions of multi-row INSERTs,
//! UPDATEs by key and by range, DELETEs, a few large rows in overflow
//! chains), its WAL written to FILE. Then the WAL is converted `--runs`
//! times (to `--out`, else discarded) and the best MB/s of WAL input is
//! printed. Delete FILE afterwards.

use anyhow::{Context, Result, bail};
use replog_convert::from_physical::{FromPhysicalOptions, physical_to_logical};
use replog_core::reader::SegmentInput;
use replog_pagestore::{Options, PageStore};
use replog_store::{SimEnvironment, Store};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn parse_size(s: &str) -> Result<u64> {
    let (num, mul) = match s.char_indices().last() {
        Some((i, 'K' | 'k')) => (&s[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&s[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    Ok(num.parse::<u64>().with_context(|| format!("size {s:?}"))? * mul)
}

/// A deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn generate(path: &Path, size: u64, page_size: usize, small: bool) -> Result<()> {
    let pages = PageStore::new(Options {
        checkpoint_every: 1024,
        ..Options::with_page_size(page_size)
    })?;
    let mut s = Store::with_storage(pages, SimEnvironment::default());
    s.execute_script(
        "CREATE DATABASE bench; USE bench;
         CREATE TABLE accounts (id INT AUTO_INCREMENT PRIMARY KEY, owner VARCHAR(40) NOT NULL,
           email VARCHAR(60), balance DECIMAL(12,2) NOT NULL DEFAULT 0, note TEXT,
           updated DATETIME(3), UNIQUE KEY email (email));
         CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, account INT NOT NULL,
           kind VARCHAR(12) NOT NULL, amount DECIMAL(12,2), payload BLOB);",
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut accounts = 0u64;
    let mut sql = String::new();
    let mut tx = 0u64;
    loop {
        tx += 1;
        sql.clear();
        if small && accounts > 1000 {
            // One single-row statement per transaction (autocommit).
            let id = 1 + r.below(accounts);
            match r.below(4) {
                0 => {
                    accounts += 1;
                    let _ = write!(
                        sql,
                        "INSERT INTO accounts (owner, email, balance) VALUES ('o', 'user{accounts}@example.com', 1.00);"
                    );
                }
                1 => {
                    let _ = write!(sql, "DELETE FROM accounts WHERE id = {id};");
                }
                _ => {
                    let _ = write!(
                        sql,
                        "UPDATE accounts SET balance = balance + 1 WHERE id = {id};"
                    );
                }
            }
            s.execute_script(&sql)
                .map_err(|e| anyhow::anyhow!("transaction {tx}: {e}"))?;
            if tx % 2000 == 0 {
                let bytes = s.storage().wal_stats().body_bytes;
                eprint!(
                    "\rgenerating: {tx} transactions, {} MB of records",
                    bytes >> 20
                );
                if bytes >= size {
                    break;
                }
            }
            continue;
        }
        sql.push_str("BEGIN;");
        match r.below(10) {
            0..=3 => {
                let n = 20 + r.below(60);
                sql.push_str("INSERT INTO accounts (owner, email, balance, note, updated) VALUES ");
                for i in 0..n {
                    if i > 0 {
                        sql.push(',');
                    }
                    accounts += 1;
                    let note = if r.below(50) == 0 {
                        format!("REPEAT('n', {})", 2000 + r.below(12_000))
                    } else {
                        format!("'note {}'", r.below(1_000_000))
                    };
                    let _ = write!(
                        sql,
                        "('owner {}', 'user{accounts}@example.com', {}.{:02}, {note}, '2024-01-{:02} 10:00:00.123')",
                        r.below(100_000),
                        r.below(10_000),
                        r.below(100),
                        1 + r.below(28)
                    );
                }
                sql.push(';');
            }
            4..=6 => {
                let n = 10 + r.below(40);
                sql.push_str("INSERT INTO events (account, kind, amount, payload) VALUES ");
                for i in 0..n {
                    if i > 0 {
                        sql.push(',');
                    }
                    let _ = write!(
                        sql,
                        "({}, 'k{}', {}.50, REPEAT('p', {}))",
                        1 + r.below(accounts.max(1)),
                        r.below(8),
                        r.below(5000),
                        r.below(200)
                    );
                }
                sql.push(';');
            }
            7 | 8 => {
                for _ in 0..1 + r.below(8) {
                    let _ = write!(
                        sql,
                        "UPDATE accounts SET balance = balance + {}, updated = '2024-02-01 00:00:00' WHERE id = {};",
                        1 + r.below(100),
                        1 + r.below(accounts.max(1))
                    );
                }
                let lo = 1 + r.below(accounts.max(1));
                let _ = write!(
                    sql,
                    "UPDATE accounts SET note = CONCAT(note, '!') WHERE id BETWEEN {lo} AND {};",
                    lo + r.below(30)
                );
            }
            _ => {
                let lo = 1 + r.below(accounts.max(1));
                let _ = write!(
                    sql,
                    "DELETE FROM accounts WHERE id BETWEEN {lo} AND {}; DELETE FROM events WHERE account = {};",
                    lo + r.below(5),
                    1 + r.below(accounts.max(1))
                );
            }
        }
        sql.push_str("COMMIT;");
        s.execute_script(&sql)
            .map_err(|e| anyhow::anyhow!("transaction {tx}: {e}"))?;
        if tx % 2000 == 0 {
            let st = s.storage().wal_stats();
            let bytes = st.body_bytes;
            eprint!(
                "\rgenerating: {tx} transactions, {} MB of records",
                bytes >> 20
            );
            if bytes >= size {
                break;
            }
        }
    }
    let wal = s.storage().wal_bytes().context("the WAL")?;
    eprintln!(
        "\rgenerated {} transactions, a WAL of {} bytes ({} accounts)",
        tx,
        wal.len(),
        accounts
    );
    std::fs::write(path, &wal).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn main() -> Result<()> {
    let mut wal: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut size = 100u64 << 20;
    let mut page_size = 8192usize;
    let mut runs = 3;
    let mut small = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--wal" => wal = Some(PathBuf::from(val()?)),
            "--out" => out = Some(PathBuf::from(val()?)),
            "--size" => size = parse_size(&val()?)?,
            "--page-size" => page_size = val()?.parse()?,
            "--runs" => runs = val()?.parse()?,
            "--small" => small = true,
            other => bail!("unknown argument {other}"),
        }
    }
    let wal = wal.context("--wal FILE is required")?;
    if !wal.exists() {
        generate(&wal, size, page_size, small)?;
    }
    let len = std::fs::metadata(&wal)?.len();
    let mut best = f64::MAX;
    for run in 0..runs {
        let t = Instant::now();
        let input = vec![SegmentInput::file(&wal)?];
        let opts = FromPhysicalOptions::default();
        let report = match &out {
            Some(p) => {
                let f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(p)?);
                physical_to_logical(input, &opts, f)?.0
            }
            None => physical_to_logical(input, &opts, std::io::sink())?.0,
        };
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        println!(
            "run {run}: {len} bytes in {secs:.3} s = {:.1} MB/s; {} transactions, {} inserts, {} updates, {} deletes, {} notes",
            len as f64 / secs / 1e6,
            report.written,
            report.inserts,
            report.updates,
            report.deletes,
            report.notes_total
        );
    }
    println!(
        "best: {:.1} MB/s of WAL input ({len} bytes in {best:.3} s)",
        len as f64 / best / 1e6
    );
    Ok(())
}
