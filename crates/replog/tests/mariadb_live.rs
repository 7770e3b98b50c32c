//! replog as a replica of a live MariaDB server (issue 17): a private
//! `mariadbd` started by the test ([`Server`]), read over the replication
//! protocol by `inspect mysql://…` and `replay mysql://… --store`, with
//! and without `--follow`, while a workload runs and the binlogs rotate.
//! Without mariadbd installed the tests print why and pass over the
//! server part (`.ci/run` installs it).

use replog_test_support::mariadb_server::Server;
use replog_test_support::s;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_replog");
const PASSWORD: &str = "s3cret-Pa55";

fn server() -> Option<Server> {
    let srv = Server::start()?;
    srv.sql(&format!(
        "SET sql_log_bin = 0;
         CREATE USER repl@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('{PASSWORD}');
         GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO repl@'%';
         SET sql_log_bin = 1;
         CREATE DATABASE w_live;
         CREATE TABLE w_live.t (id INT PRIMARY KEY, v VARCHAR(40), n BIGINT NOT NULL);"
    ));
    Some(srv)
}

fn url(srv: &Server, extra: &str) -> String {
    format!(
        "mysql://repl@127.0.0.1:{}?server-id=77&file=mariadb-bin.000001{extra}",
        srv.port
    )
}

fn replog(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("REPLOG_PASSWORD", PASSWORD)
        .env_remove("MYSQL_PWD")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A batch of the workload: inserts, updates of earlier rows, deletes.
fn batch(srv: &Server, round: u32) {
    let base = round * 10;
    let mut sql = String::from("BEGIN;");
    for i in 0..10 {
        sql.push_str(&format!(
            "INSERT INTO w_live.t VALUES ({}, 'row {}', {});",
            base + i,
            base + i,
            i64::from(base + i) * 1000
        ));
    }
    if round > 0 {
        sql.push_str(&format!(
            "UPDATE w_live.t SET n = n + 1, v = CONCAT(v, '!') WHERE id % 3 = 0 AND id < {base};\
             DELETE FROM w_live.t WHERE id = {};",
            base - 5
        ));
    }
    sql.push_str("COMMIT;");
    srv.sql(&sql);
}

fn stop(child: Child, signal: nix::sys::signal::Signal) -> Output {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, signal).unwrap();
    child.wait_with_output().unwrap()
}

/// Reading the server's binlogs over the wire gives the events of its
/// binlog files, byte for byte where it matters (positions, types,
/// details); without --follow the dump ends at the server's end.
#[test]
fn inspect_over_the_wire_equals_the_binlog_files() {
    let Some(srv) = server() else { return };
    for round in 0..3 {
        batch(&srv, round);
    }
    srv.sql("FLUSH BINARY LOGS");
    batch(&srv, 3);
    // Without file=: from the server's first binlog (SHOW BINARY LOGS).
    let first = format!("mysql://repl@127.0.0.1:{}?server-id=78", srv.port);
    let o = replog(&["inspect", "--format", "ndjson", &first]);
    assert!(o.status.success(), "{}", err(&o));
    // The files as the server holds them now (the last one still open).
    let dir = srv.binlog_dir();
    let files = [
        dir.join("mariadb-bin.000001"),
        dir.join("mariadb-bin.000002"),
    ];
    let f = replog(&["inspect", "--format", "ndjson", s(&files[0]), s(&files[1])]);
    assert!(f.status.success(), "{}", err(&f));
    assert_eq!(text(&o), text(&f));
    assert!(text(&o).contains("\"type\":\"Rotate\""), "{}", text(&o));
}

/// Replay as a follower: the store reaches the server's table while the
/// workload runs and the binlogs rotate; SIGTERM stops the follower with
/// the position of its last transaction; a restarted follower resumes
/// without applying anything twice, and catches up with later writes.
#[test]
fn replay_follows_the_server_and_resumes_exactly_once() {
    let Some(srv) = server() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("follower");
    let u = url(&srv, "&heartbeat=0.2");
    let spawn = || {
        Command::new(BIN)
            .args(["replay", "--follow", "--store", s(&store), &u])
            .env("REPLOG_PASSWORD", PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    batch(&srv, 0);
    let child = spawn();
    for round in 1..6 {
        batch(&srv, round);
        if round == 3 {
            srv.sql("FLUSH BINARY LOGS");
        }
    }
    // Stopped while the follower may still be catching up: wherever it
    // stands, it ends cleanly at a whole transaction.
    std::thread::sleep(Duration::from_millis(300));
    let first = stop(child, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(first.status.code(), Some(0), "{}", err(&first));
    assert!(err(&first).contains("stopped following"), "{}", err(&first));
    // `replog lag` against the server: what the first run did not apply
    // of the 8 transactions written so far (2 DDL, 6 batches).
    let first_applied: u64 = text(&first)
        .split("applied ")
        .nth(1)
        .and_then(|r| r.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{}", text(&first)));
    let lag = replog(&[
        "lag",
        "--store",
        s(&store),
        "--format",
        "json",
        &url(&srv, ""),
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&text(&lag)).unwrap_or_else(|e| panic!("{e}: {}", err(&lag)));
    assert_eq!(v["transactions"], 8 - first_applied, "{v}");
    assert_eq!(
        lag.status.code(),
        Some(if first_applied == 8 { 0 } else { 1 })
    );
    // Later writes, then a new follower run: it resumes and catches up.
    batch(&srv, 6);
    srv.sql("FLUSH BINARY LOGS");
    batch(&srv, 7);
    let expected = srv.table("w_live.t", "id");
    let child = spawn();
    let start = Instant::now();
    let dump = || {
        // The store is read while the follower holds it: replay commits
        // each transaction, so a dump sees a whole state.
        replog(&["dump", "--table", "w_live.t", s(&store)])
    };
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
        let d = dump();
        last = text(&d);
        if last == expected {
            break;
        }
    }
    let second = stop(child, nix::sys::signal::Signal::SIGINT);
    assert_eq!(second.status.code(), Some(0), "{}", err(&second));
    assert_eq!(
        last, expected,
        "the follower did not reach the server's table"
    );
    let report = text(&first) + &text(&second);
    // Every transaction applied once: the two runs together applied the
    // server's 8 batches and the table's creation.
    let applied: u64 = report
        .lines()
        .filter_map(|l| l.split("applied ").nth(1))
        .filter_map(|r| r.split(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(applied, 10, "{report}");
    assert_eq!(text(&dump()), expected);
}

/// Without a password, with a wrong one, and with one given in the URL:
/// clear errors that never print the password.
#[test]
fn password_errors_never_print_the_password() {
    let Some(srv) = server() else { return };
    let wrong = "Wr0ng-Secret-Value";
    let o = Command::new(BIN)
        .args(["inspect", &url(&srv, "")])
        .env("REPLOG_PASSWORD", wrong)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(e.contains("1045") && e.contains("repl"), "{e}");
    assert!(!e.contains(wrong) && !e.contains(PASSWORD), "{e}");
    // The password from a file.
    let tmp = tempfile::tempdir().unwrap();
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let o = Command::new(BIN)
        .args(["inspect", "--password-file", s(&pw), &url(&srv, "")])
        .env_remove("REPLOG_PASSWORD")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    // In the URL: refused without being repeated.
    let o = replog(&[
        "inspect",
        &format!("mysql://repl:{wrong}@127.0.0.1:{}?server-id=3", srv.port),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!err(&o).contains(wrong), "{}", err(&o));
}
