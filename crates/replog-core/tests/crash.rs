//! Crash safety of the directory writer: a child process writes
//! transactions (fsync at every commit, small segments so that it rotates
//! often) and reports each acknowledged commit; it is killed with SIGKILL at
//! a random moment. The log must then hold every acknowledged transaction,
//! nothing damaged but at most a torn tail, and read cleanly under
//! `tolerate-tail`.

use replog_core::reader::{Event, LogReader, ReaderOptions};
use replog_core::recovery::{DamageClass, RecoveryPolicy};
use replog_core::writer::{DirWriter, Durability, WriterOptions};
use replog_core::{Begin, Commit, LogKind};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "REPLOG_CRASH_CHILD_DIR";

/// The child: writes until killed. Runs only when spawned by the parent.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut o = WriterOptions::new(LogKind::Logical);
    o.segment_size = 4096;
    o.durability = Durability::Commit;
    let mut w = DirWriter::create(std::path::Path::new(&dir), o).unwrap();
    let mut out = std::io::stdout().lock();
    for txid in 1.. {
        w.begin(&Begin {
            txid,
            timestamp_us: 0,
            server_id: 1,
            origin: "",
        })
        .unwrap();
        for i in 0..(txid % 5) {
            let body: Vec<u8> = std::iter::once(0x10)
                .chain((0..(40 + i * 13)).map(|b| b as u8))
                .collect();
            w.append(&body).unwrap();
        }
        w.commit(&Commit {
            txid,
            timestamp_us: 0,
            state_before: Some(txid - 1),
            state_after: Some(txid),
        })
        .unwrap();
        writeln!(out, "{txid}").unwrap();
        out.flush().unwrap();
    }
}

#[cfg(unix)]
#[test]
fn killed_writer_loses_no_acknowledged_commit() {
    let exe = std::env::current_exe().unwrap();
    let mut total_acked = 0;
    for (round, delay_ms) in [60u64, 150, 30, 250, 100, 200].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acked = 0u64;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(n) = line.trim().parse::<u64>() {
                    acked = n;
                }
            }
            acked
        });
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let acked = reader.join().unwrap();

        let opts = ReaderOptions {
            policy: RecoveryPolicy::TolerateTail,
            continue_after_damage: false,
            buffer_size: 0,
        };
        let mut r = LogReader::open(&[dir.path().to_path_buf()], opts).unwrap();
        let mut commits = Vec::new();
        while let Some(ev) = r.next() {
            if let Event::Frame(f) = ev.unwrap() {
                if f.record_type() == 0x02 {
                    commits.push(Commit::decode(f.body, f.body_offset()).unwrap().txid);
                }
            }
        }
        let s = r.into_summary();
        assert!(s.acceptable(), "round {round}: {:?}", s.damage);
        assert!(
            s.damage.iter().all(|d| d.class == DamageClass::TornTail),
            "round {round}: {:?}",
            s.damage
        );
        assert!(
            commits.len() as u64 >= acked,
            "round {round}: {acked} acknowledged, {} in the log",
            commits.len()
        );
        assert!(
            commits.iter().copied().eq(1..=commits.len() as u64),
            "round {round}: commits out of order"
        );
        eprintln!(
            "round {round}: killed after {delay_ms} ms, {acked} acknowledged, {} in the log",
            commits.len()
        );
        total_acked += acked;
    }
    // The test means something only if the child really got to write.
    assert!(total_acked > 0, "the child never acknowledged a commit");
}
