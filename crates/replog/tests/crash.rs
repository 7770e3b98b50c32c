//! Crash safety of the leader and the follower as processes: `replog record`
//! and `replog replay --store` are killed with SIGKILL at many moments.
//! After each kill the logs hold exactly a committed prefix of the workload
//! (their replay equals the uninterrupted leader at the same transaction),
//! and a follower restarted after a kill ends at the same digest as an
//! uninterrupted replay.

#![cfg(unix)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

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
        "statement,logical",
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
                "statement,logical",
            ],
            ms,
        );
        for kind in ["statement", "logical"] {
            let log = out.join(kind);
            if !log.exists() || std::fs::read_dir(&log).unwrap().next().is_none() {
                continue;
            }
            let log = log.to_str().unwrap();
            let r = json(&["replay", log, "--memory", "--format", "json"]);
            assert!(
                r["divergences"].as_array().unwrap().is_empty(),
                "round {round} {kind}: {r}"
            );
            assert!(
                r["conflicts"].as_array().unwrap().is_empty(),
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

    // The follower: it catches up part of the way (its store persists that
    // position), is killed during the next run, and is restarted: it must
    // resume from the persisted position and end at the leader's digest.
    for (round, ms) in [5u64, 15, 30, 60].into_iter().enumerate() {
        let store = tmp.path().join(format!("store{round}"));
        let store = store.to_str().unwrap();
        let part = total * (round as u64 + 1) / 5;
        let until = format!("txid:{part}");
        let r = json(&[
            "replay",
            full_logical,
            "--store",
            store,
            "--until",
            &until,
            "--format",
            "json",
        ]);
        assert_eq!(r["last_txid"].as_u64(), Some(part), "round {round}: {r}");
        kill_after(&["replay", full_logical, "--store", store], ms);
        let r = json(&["replay", full_logical, "--store", store, "--format", "json"]);
        assert_eq!(
            r["digest"].as_str(),
            Some(digest.as_str()),
            "round {round}: {r}"
        );
        assert!(
            r["divergences"].as_array().unwrap().is_empty(),
            "round {round}: {r}"
        );
        assert_eq!(r["last_txid"].as_u64(), Some(total), "round {round}");
        let resumed = r["already_applied"].as_u64().unwrap_or(0);
        assert!(
            resumed >= part,
            "round {round}: resumed from {resumed}, persisted {part}"
        );
        eprintln!(
            "follower round {round}: persisted {part}, killed after {ms} ms, resumed with {resumed} of {total} already applied"
        );
    }
}
