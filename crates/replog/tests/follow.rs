//! `--follow` on growing binlogs: a binlog written in pieces (cut inside
//! events), rotated to its successor, followed by `inspect` and `replay`
//! until SIGINT/SIGTERM; the result equals reading the finished files.

use replog_test_support::{root, s};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_replog");

fn fixture(run: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = root().join("fixtures/mariadb/out/dml").join(run);
    (
        std::fs::read(dir.join("mariadb-bin.000001")).unwrap(),
        std::fs::read(dir.join("mariadb-bin.000002")).unwrap(),
    )
}

/// Event end offsets of a binlog, from its event headers.
fn event_ends(binlog: &[u8]) -> Vec<usize> {
    replog_binlog::Events::new(binlog)
        .unwrap()
        .map(|e| e.unwrap().end_position() as usize)
        .collect()
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

/// Waits until `cond` holds (the follower keeps up), at most 30 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn spawn(args: &[&str], stdout: &Path) -> Child {
    Command::new(BIN)
        .args(args)
        .stdout(std::fs::File::create(stdout).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn stop(child: Child, signal: nix::sys::signal::Signal) -> (i32, String) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, signal).unwrap();
    let done = child.wait_with_output().unwrap();
    (
        done.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&done.stderr).into_owned(),
    )
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
}

fn run(args: &[&str]) -> String {
    let o = Command::new(BIN).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn inspect_follows_a_growing_binlog_across_its_rotation() {
    let (first, second) = fixture("row-full");
    let ends = event_ends(&first);
    let tmp = tempfile::tempdir().unwrap();
    let log: PathBuf = tmp.path().join("mariadb-bin.000001");
    let next = tmp.path().join("mariadb-bin.000002");
    let out = tmp.path().join("out.ndjson");
    // The magic and the first event, then a piece cut inside the fifth.
    append(&log, &first[..ends[0]]);
    let child = spawn(
        &["inspect", "--follow", "--format", "ndjson", s(&log)],
        &out,
    );
    wait_for("the first event", || lines(&out) == 1);
    let cut = ends[3] + 7;
    append(&log, &first[ends[0]..cut]);
    wait_for("four events", || lines(&out) == 4);
    // A torn tail is waited for, not reported nor listed.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lines(&out), 4);
    append(&log, &first[cut..]);
    wait_for("the whole first binlog", || lines(&out) == ends.len());
    std::fs::write(&next, &second).unwrap();
    let all = ends.len() + event_ends(&second).len();
    wait_for("the successor's events", || lines(&out) == all);
    let (code, stderr) = stop(child, nix::sys::signal::Signal::SIGINT);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "stopped following at mariadb-bin.000002:{}",
            second.len()
        )),
        "{stderr}"
    );
    let whole = run(&["inspect", "--format", "ndjson", s(&log), s(&next)]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), whole);
}

#[test]
fn a_tail_still_torn_when_the_server_moved_on_is_damage() {
    let (first, second) = fixture("row-full");
    let ends = event_ends(&first);
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("mariadb-bin.000001");
    let out = tmp.path().join("out.ndjson");
    let cut = ends[5] + 3;
    append(&log, &first[..cut]);
    let child = spawn(
        &["inspect", "--follow", "--format", "ndjson", s(&log)],
        &out,
    );
    wait_for("six events", || lines(&out) == 6);
    std::fs::write(tmp.path().join("mariadb-bin.000002"), &second).unwrap();
    wait_for("the successor's events", || {
        lines(&out) == 6 + event_ends(&second).len()
    });
    let (code, stderr) = stop(child, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("at offset {}", ends[5])) && stderr.contains("truncated"),
        "{stderr}"
    );
}

/// Applied transactions in a replay report.
fn applied(report: &str) -> u64 {
    report
        .split("applied ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no applied count in {report}"))
}

/// A MIXED binlog (statements executed, row events applied) replayed into
/// a store while it is written, the follower stopped by SIGTERM at seeded
/// moments (before, inside and after the rotation): it ends with exit 0
/// and the position of its last transaction, and a later run resumes from
/// there: every transaction applied exactly once, the store equal to a
/// replay of the finished binlogs.
#[test]
fn replay_follows_into_a_store_and_resumes_exactly_once() {
    let (first, second) = fixture("mixed-full");
    let ends = event_ends(&first);
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let (ref_log, ref_next) = (tmp.path().join("r.000001"), tmp.path().join("r.000002"));
    std::fs::write(&ref_log, &first).unwrap();
    std::fs::write(&ref_next, &second).unwrap();
    let whole = run(&[
        "replay",
        "--store",
        s(&reference),
        s(&ref_log),
        s(&ref_next),
    ]);
    let total = applied(&whole);
    let expected = run(&["dump", s(&reference)]);
    for (i, stop_after_ms) in [0u64, 150, 400].into_iter().enumerate() {
        let dir = tmp.path().join(format!("run{i}"));
        std::fs::create_dir(&dir).unwrap();
        let log = dir.join("mariadb-bin.000001");
        let next = dir.join("mariadb-bin.000002");
        let store = dir.join("follower");
        let out = dir.join("out.txt");
        let half = ends[ends.len() / 2] + 5;
        append(&log, &first[..half]);
        let child = spawn(&["replay", "--follow", "--store", s(&store), s(&log)], &out);
        std::thread::sleep(Duration::from_millis(100));
        append(&log, &first[half..]);
        std::thread::sleep(Duration::from_millis(stop_after_ms));
        std::fs::write(&next, &second).unwrap();
        std::thread::sleep(Duration::from_millis(stop_after_ms));
        let (code, stderr) = stop(child, nix::sys::signal::Signal::SIGTERM);
        assert_eq!(code, 0, "{stderr}");
        let report = std::fs::read_to_string(&out).unwrap();
        let n = applied(&report);
        match report
            .lines()
            .find_map(|l| l.strip_prefix("position: after the transaction at "))
        {
            Some(p) => {
                let p = p.split(" (last txid").next().unwrap();
                assert!(
                    stderr.contains(&format!("stopped following after the transaction at {p}")),
                    "{stderr}"
                );
            }
            None => assert!(stderr.contains("before the first transaction"), "{stderr}"),
        }
        let again = run(&["replay", "--store", s(&store), s(&log), s(&next)]);
        assert_eq!(n + applied(&again), total, "{report}\n{again}");
        assert_eq!(run(&["dump", s(&store)]), expected);
    }
}
