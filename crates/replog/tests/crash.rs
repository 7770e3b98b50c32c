//! Crash safety of the leader and the follower as processes: `replog record`
//! and `replog replay --store` are killed with SIGKILL at many moments.
//! After each kill the leader's three logs (statement, logical, physical
//! WAL) hold exactly a committed prefix of the workload (their replay
//! equals the uninterrupted leader at the same transaction). The follower
//! is a page-store directory: after each kill (at moments drawn from a
//! fixed seed) it holds exactly the leader's state after the transaction
//! its persisted position names, that position never goes back, and the
//! restarted replay ends at the digest of an uninterrupted one.

#![cfg(unix)]

use replog_core::Commit;
use replog_core::reader::{Event, LogReader, ReaderOptions};
use replog_core::record::rtype;
use replog_pagestore::{Options as PageOptions, PageStore};
use replog_store::storage::Storage;
use replog_store::{SimEnvironment, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_replog");

fn workload(dir: &Path, rows: u32) -> PathBuf {
    let mut sql = String::from(
        "CREATE DATABASE crash;\nUSE crash;\nCREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL, s VARCHAR(40));\n",
    );
    for i in 1..=rows {
        sql.push_str(&format!(
            "INSERT INTO t VALUES ({i}, {}, 'row {i}');\n",
            i * 7
        ));
        if i % 4 == 0 {
            sql.push_str(&format!("BEGIN;\nUPDATE t SET v = v + 1 WHERE id = {};\nDELETE FROM t WHERE id = {};\nCOMMIT;\n", i - 1, i - 2));
        }
    }
    let p = dir.join("workload.sql");
    std::fs::write(&p, sql).unwrap();
    p
}

fn json(args: &[&str]) -> Value {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "replog {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "replog {args:?}: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Bytes of WAL segments in a store directory.
fn wal_bytes(store: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(store.join(replog_pagestore::WAL_DIR)) else {
        return 0;
    };
    rd.filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Runs replog and SIGKILLs it once `store`'s WAL reaches `bytes`; false
/// when it finished first.
fn kill_at_growth(args: &[&str], store: &Path, bytes: u64) -> bool {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if wal_bytes(store) >= bytes || start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill(); // SIGKILL
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_micros(300));
    }
}

fn kill_after(args: &[&str], ms: u64) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    let _ = child.kill(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn killed_leader_leaves_a_committed_prefix_and_killed_follower_catches_up() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(tmp.path(), 600);
    let w = w.to_str().unwrap();
    let full = tmp.path().join("full");
    let rec = json(&[
        "record",
        w,
        "--out",
        full.to_str().unwrap(),
        "--formats",
        "statement,logical,physical",
        "--format",
        "json",
    ]);
    let digest = rec["digest"].as_str().unwrap().to_string();
    let full_logical = full.join("logical");
    let full_logical = full_logical.to_str().unwrap();
    let total = json(&["replay", full_logical, "--memory", "--format", "json"])["last_txid"]
        .as_u64()
        .unwrap();

    let mut interrupted = 0;
    for (round, ms) in [30u64, 80, 150, 250, 400, 600].into_iter().enumerate() {
        let out = tmp.path().join(format!("killed{round}"));
        kill_after(
            &[
                "record",
                w,
                "--out",
                out.to_str().unwrap(),
                "--formats",
                "statement,logical,physical",
            ],
            ms,
        );
        for kind in ["statement", "logical", "physical"] {
            let log = out.join(kind);
            if !log.exists() || std::fs::read_dir(&log).unwrap().next().is_none() {
                continue;
            }
            let log = log.to_str().unwrap();
            let out = Command::new(BIN)
                .args(["replay", log, "--memory", "--format", "json"])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            if kind == "physical"
                && out.status.code() == Some(2)
                && err.contains("no committed store")
            {
                // Killed before the WAL's transaction 0 (the store's creation) committed.
                continue;
            }
            assert!(
                out.status.code().is_some_and(|c| c <= 1),
                "round {round} {kind}: {err}"
            );
            let r: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(
                r["divergences"].as_array().unwrap().is_empty(),
                "round {round} {kind}: {r}"
            );
            assert!(
                r["conflicts"].as_array().is_none_or(|a| a.is_empty()),
                "round {round} {kind}: {r}"
            );
            let n = r["last_txid"].as_u64().unwrap_or(0);
            if n == 0 {
                continue;
            }
            // The killed log's state equals the uninterrupted leader's at the same transaction.
            let until = format!("txid:{n}");
            let expected = json(&[
                "replay",
                full_logical,
                "--memory",
                "--until",
                &until,
                "--format",
                "json",
            ]);
            assert_eq!(
                r["digest"], expected["digest"],
                "round {round} {kind}: killed log is not a committed prefix"
            );
            if n < total {
                interrupted += 1;
            }
            eprintln!(
                "leader round {round} {kind}: killed after {ms} ms with {n} of {total} transactions committed"
            );
        }
    }
    assert!(
        interrupted > 0,
        "no kill landed before the workload finished; the test proved nothing"
    );

    follower_rounds(tmp.path(), &full, &digest, total);
}

/// A deterministic generator of kill moments (xorshift64*).
struct Moments(u64);

impl Moments {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

/// The leader's state digest after each transaction: txid → the COMMIT's
/// state_after, read from the log itself.
fn leader_states(log: &Path) -> BTreeMap<u64, u64> {
    let mut r = LogReader::open(&[log.to_path_buf()], ReaderOptions::default()).unwrap();
    let mut out = BTreeMap::new();
    while let Some(ev) = r.next() {
        if let Event::Frame(f) = ev.unwrap()
            && f.record_type() == rtype::COMMIT
        {
            let c = Commit::decode(f.body, 0).unwrap();
            out.insert(c.txid, c.state_after.unwrap());
        }
    }
    out
}

/// What a killed follower's directory holds, read without changing it:
/// the store must be exactly the leader's state after the transaction its
/// position names (nothing half-applied), and that position never goes
/// back (nothing acknowledged is lost). Returns the position's txid.
fn check_prefix(store: &Path, states: &BTreeMap<u64, u64>, before: u64, what: &str) -> u64 {
    if !PageStore::is_store_dir(store) {
        assert_eq!(before, 0, "{what}: the store vanished");
        return 0;
    }
    let Some(size) = PageStore::dir_page_size(store).unwrap() else {
        // Killed while the first segment's header was being written: the
        // store's creation was cut short (open_dir creates it again).
        assert_eq!(
            before, 0,
            "{what}: the store's first segment lost its header"
        );
        return 0;
    };
    let (ps, rec) = PageStore::read_dir(store, &PageOptions::with_page_size(size))
        .unwrap_or_else(|e| panic!("{what}: the killed store does not recover: {e}"));
    ps.verify()
        .unwrap_or_else(|e| panic!("{what}: damaged store: {e}"));
    let pos = ps.position();
    let digest = Store::with_storage(ps, SimEnvironment::default()).digest();
    let txid = match pos {
        None => {
            assert_eq!(digest, 0, "{what}: rows without a position");
            0
        }
        Some(p) => {
            assert_eq!(p.digest, digest, "{what}: position and data disagree");
            assert_eq!(
                states.get(&p.last_txid),
                Some(&digest),
                "{what}: the store is not the leader's state after txid {}",
                p.last_txid
            );
            p.last_txid
        }
    };
    assert!(
        txid >= before,
        "{what}: position went back from {before} to {txid}"
    );
    if rec.cut_anything() {
        eprintln!("{what}: recovery will cut {rec:?}");
    }
    txid
}

/// The follower (`replog replay --store DIR`, a page store) is killed at
/// many moments, from a fixed seed: during its first run, during catch-up,
/// switching between the statement and the logical log of the same leader.
/// After every kill its directory holds exactly a committed prefix; the
/// run that finally completes ends at the digest of an uninterrupted
/// replay.
fn follower_rounds(tmp: &Path, full: &Path, digest: &str, total: u64) {
    let logs = [full.join("logical"), full.join("statement")];
    let states = leader_states(&logs[0]);
    assert_eq!(
        states,
        leader_states(&logs[1]),
        "both logs carry the same states"
    );
    assert_eq!(states.len() as u64, total);
    // The uninterrupted replay: its digest, and how many bytes of WAL it
    // writes, the measure of progress kills are placed by.
    let clean = tmp.join("uninterrupted");
    let r = json(&[
        "replay",
        logs[0].to_str().unwrap(),
        "--store",
        clean.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r["digest"].as_str(), Some(digest));
    let full_wal = wal_bytes(&clean);
    let mut moments = Moments(0x5EED_C4A5_0000_0003);
    let mut interrupted = 0;
    let mut kills = 0;
    for round in 0..4 {
        let store = tmp.join(format!("follower{round}"));
        let st = store.to_str().unwrap();
        let durability = if round == 3 { "os" } else { "commit" };
        let mut persisted = 0;
        for k in 0..4 {
            let log = logs[(round + k) % 2].to_str().unwrap();
            let args = ["replay", log, "--store", st, "--durability", durability];
            // Most kills land once the store's WAL has grown by a seeded
            // share of what is left to write (wherever the process then
            // is: applying, committing, fsyncing); every fourth lands a
            // few milliseconds after the start (opening, recovery,
            // passing over applied transactions).
            let what = if (k + round) % 4 == 3 {
                let ms = moments.below(40);
                kill_after(&args, ms);
                format!("round {round} kill {k} after {ms} ms")
            } else {
                let have = wal_bytes(&store);
                let grow = 1 + moments.below(full_wal.saturating_sub(have).max(2));
                let landed = kill_at_growth(&args, &store, have + grow);
                format!("round {round} kill {k} at +{grow} WAL bytes (landed: {landed})")
            };
            kills += 1;
            let now = check_prefix(&store, &states, persisted, &what);
            if now < total {
                interrupted += 1;
            }
            eprintln!("{what}: store at txid {now} of {total}");
            persisted = now;
            if now == total {
                break;
            }
        }
        // Restarted without a kill: it resumes from the persisted position
        // and ends where the uninterrupted replay ended.
        let log = logs[round % 2].to_str().unwrap();
        let r = json(&["replay", log, "--store", st, "--format", "json"]);
        assert_eq!(r["digest"].as_str(), Some(digest), "round {round}: {r}");
        assert!(r["divergences"].as_array().unwrap().is_empty(), "{r}");
        assert!(r["failures"].as_array().unwrap().is_empty(), "{r}");
        assert_eq!(r["last_txid"].as_u64(), Some(total), "round {round}: {r}");
        assert_eq!(
            r["already_applied"].as_u64(),
            Some(persisted),
            "round {round}: resumed elsewhere than the persisted position: {r}"
        );
        // And the directory now reads back as that state.
        assert_eq!(check_prefix(&store, &states, persisted, "final"), total);
    }
    assert!(
        interrupted >= 4,
        "only {interrupted} of {kills} kills landed before the end; the test proved little"
    );
}
