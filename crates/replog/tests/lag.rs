//! `replog lag`: a follower store stopped part way through MariaDB
//! binlogs, measured against them; the oracle is the binlogs' own events
//! as `replog inspect` lists them (GTIDs, positions, sizes, times).

use replog_test_support::{root, s};
use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_replog");

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new(BIN).args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn lag_counts_what_the_binlogs_hold_after_the_followers_transaction() {
    let dir = root().join("fixtures/mariadb/out/dml/row-full");
    let files: Vec<PathBuf> = ["mariadb-bin.000001", "mariadb-bin.000002"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    let (f1, f2) = (s(&files[0]), s(&files[1]));
    // The oracle: every event, in order, with its file, size, time and GTID.
    let (_, listing, _) = run(&["inspect", "--format", "ndjson", f1, f2]);
    let events: Vec<serde_json::Value> = listing
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut gtids: Vec<String> = Vec::new();
    for e in &events {
        if let Some(g) = e["gtid"].as_str() {
            if gtids.last().map(String::as_str) != Some(g) {
                gtids.push(g.to_string());
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    for until in [1usize, 5, 9] {
        let store = tmp.path().join(format!("f{until}"));
        let (code, report, err) = run(&[
            "replay",
            "--store",
            s(&store),
            "--until",
            &format!("txid:{until}"),
            f1,
            f2,
        ]);
        assert_eq!(code, Some(0), "{err}");
        let k: usize = report
            .split("(last txid ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{report}"));
        let (code, out, err) = run(&["lag", "--store", s(&store), "--format", "json", f1, f2]);
        assert_eq!(code, Some(1), "{out}{err}");
        let lag: serde_json::Value = serde_json::from_str(&out).unwrap();
        // Transactions: the GTIDs after the follower's (the k-th).
        assert_eq!(lag["transactions"], gtids.len() - k, "{out}");
        assert_eq!(lag["follower"]["txid"], k as u64);
        let mine = &gtids[k - 1];
        assert!(
            lag["follower"]["position"]
                .as_str()
                .unwrap()
                .starts_with(mine.as_str())
        );
        // Bytes: every event after the follower's last one up to the
        // leader's last transaction's last event, and the magic of each
        // binlog that starts in between (a trailing ROTATE is no
        // transaction the follower lacks).
        let in_tx =
            |e: &serde_json::Value, g: &str| e["gtid"].as_str() == Some(g) && e["type"] != "Rotate";
        let last = events.iter().rposition(|e| in_tx(e, mine)).unwrap();
        let end = events
            .iter()
            .rposition(|e| in_tx(e, gtids.last().unwrap()))
            .unwrap();
        let mut bytes = 0u64;
        for (i, e) in events.iter().enumerate().take(end + 1).skip(last + 1) {
            if e["file"] != events[i - 1]["file"] {
                bytes += 4;
            }
            bytes += e["size"].as_u64().unwrap();
        }
        assert_eq!(lag["bytes"], bytes, "{out}");
        // Seconds: the leader's last commit time minus the follower's.
        let ts = |i: usize| events[i]["timestamp"].as_i64().unwrap();
        let last_commit = events
            .iter()
            .rposition(|e| in_tx(e, gtids.last().unwrap()))
            .unwrap();
        assert_eq!(
            lag["seconds"].as_f64().unwrap(),
            (ts(last_commit) - ts(last)) as f64
        );
    }
    // Caught up: exit 0, nothing behind.
    let store = tmp.path().join("all");
    let (code, _, err) = run(&["replay", "--store", s(&store), f1, f2]);
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = run(&["lag", "--store", s(&store), f1, f2]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("behind:   0 transaction(s), 0 byte(s), "),
        "{out}"
    );
    assert!(
        out.contains(&format!("follower: txid {} at ", gtids.len())),
        "{out}"
    );
}

/// `--watch`: a line per measurement, each the same as a single `lag`
/// gives (nothing moves here), until SIGTERM, which ends it with status 0.
#[test]
fn watch_prints_a_line_per_measurement_until_sigterm() {
    let dir = root().join("fixtures/mariadb/out/dml/row-full");
    let (f1, f2) = (
        dir.join("mariadb-bin.000001"),
        dir.join("mariadb-bin.000002"),
    );
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("f");
    let (code, _, err) = run(&[
        "replay",
        "--store",
        s(&store),
        "--until",
        "txid:3",
        s(&f1),
        s(&f2),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (_, once, err) = run(&[
        "lag",
        "--store",
        s(&store),
        "--format",
        "json",
        s(&f1),
        s(&f2),
    ]);
    let once: serde_json::Value = serde_json::from_str(&once).unwrap_or_else(|_| panic!("{err}"));
    let out = tmp.path().join("watch.ndjson");
    let child = Command::new(BIN)
        .args([
            "lag",
            "--store",
            s(&store),
            "--watch=0.1",
            "--format",
            "ndjson",
            s(&f1),
            s(&f2),
        ])
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while std::fs::read_to_string(&out).unwrap().lines().count() < 3 {
        assert!(start.elapsed().as_secs() < 60, "fewer than 3 lines in 60 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["transactions"], once["transactions"], "{l}");
        assert_eq!(v["bytes"], once["bytes"], "{l}");
        assert_eq!(v["follower_txid"], once["follower"]["txid"], "{l}");
        assert!(v["time_us"].as_i64().unwrap() > 0);
    }
    // JSON (one document) cannot be a stream of measurements.
    let (code, _, err) = run(&[
        "lag",
        "--store",
        s(&store),
        "--watch",
        "--format",
        "json",
        s(&f1),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--watch"), "{err}");
}
