//! replog against a running PostgreSQL 15 (issue 17): logical streaming
//! from a slot into a follower store that is killed mid-stream and resumed
//! (it must reach the server's table contents, every transaction applied
//! exactly once), and physical streaming whose segments must equal the
//! server's own files and pg_receivewal's.
//!
//! Each test starts a private server (Debian's postgresql-15, as the
//! fixtures/postgres scripts do: the unprivileged user `postgres`, a
//! temporary directory, a loopback port, `wal_level=logical`, 1 MB
//! segments) and stops it at the end. Without the server the tests print
//! why and pass: `.ci/run` installs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = "/usr/lib/postgresql/15/bin";

struct Server {
    dir: PathBuf,
    port: u16,
    as_root: bool,
}

fn run_as_pg(as_root: bool, prog: &str, args: &[&str]) -> Output {
    let mut c = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", prog]);
        c
    } else {
        Command::new(prog)
    };
    c.args(args).output().expect("running a PostgreSQL program")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Server {
    /// A new server, or `None` (with the reason printed) when PostgreSQL 15
    /// is not installed.
    fn start(name: &str) -> Option<Server> {
        if !Path::new(BIN).join("postgres").exists() {
            eprintln!("skipped: PostgreSQL 15 is not installed ({BIN}; .ci/run installs it)");
            return None;
        }
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0\n"))
            .unwrap_or(false);
        if as_root
            && !Command::new("id")
                .arg("postgres")
                .output()
                .is_ok_and(|o| o.status.success())
        {
            eprintln!("skipped: running as root and there is no user `postgres` to run the server");
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "replog-pglive-{name}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        if as_root {
            assert!(
                Command::new("chown")
                    .arg("postgres")
                    .arg(&dir)
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let data = dir.join("data");
        let o = run_as_pg(
            as_root,
            &format!("{BIN}/initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "--wal-segsize=1",
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "--locale=C",
                "-E",
                "UTF8",
            ],
        );
        assert!(o.status.success(), "initdb: {o:?}");
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nlocal replication all trust\n\
             host all scram 127.0.0.1/32 scram-sha-256\nhost replication scram 127.0.0.1/32 scram-sha-256\n\
             host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let base = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        let log = dir.join("server.log");
        // The free port is found by binding and closing it, so another
        // test may take it before the server binds it: a start that fails
        // is retried on another port.
        let mut attempt = 0;
        let port = loop {
            attempt += 1;
            let port = free_port();
            let conf = format!(
                "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
                 wal_level = logical\nmax_wal_senders = 10\nmax_replication_slots = 10\n\
                 fsync = off\nautovacuum = off\nwal_keep_size = '1GB'\n\
                 password_encryption = 'scram-sha-256'\n",
                dir.display()
            );
            std::fs::write(data.join("postgresql.conf"), format!("{base}{conf}")).unwrap();
            let o = run_as_pg(
                as_root,
                &format!("{BIN}/pg_ctl"),
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-l",
                    log.to_str().unwrap(),
                    "-w",
                    "start",
                ],
            );
            if o.status.success() {
                break port;
            }
            assert!(
                attempt < 3,
                "pg_ctl start: {o:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Some(Server { dir, port, as_root })
    }

    /// Runs SQL with psql; returns its output (unaligned, tuples only).
    fn sql(&self, sql: &str) -> String {
        let o = Command::new(format!("{BIN}/psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-U", "postgres", "-c", sql])
            .output()
            .unwrap();
        assert!(o.status.success(), "psql {sql}: {o:?}");
        String::from_utf8(o.stdout).unwrap()
    }

    fn url(&self, user: &str, query: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/postgres{query}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = run_as_pg(
            self.as_root,
            &format!("{BIN}/pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn replog() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_replog"));
    c.env_remove("PGPASSWORD").env("HOME", "/nonexistent");
    c
}

fn ok(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{c:?}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The store's tables as `replog dump` prints them, against the server's
/// (same canonical TSV: `-- schema.table`, then rows ordered by key).
fn server_dump(s: &Server, tables: &[&str]) -> String {
    let mut out = String::new();
    for t in tables {
        out.push_str(&format!("-- public.{t}\n"));
        let rows = s.sql(&format!("COPY (SELECT * FROM {t} ORDER BY id) TO STDOUT"));
        out.push_str(&rows);
    }
    out
}

#[test]
fn logical_follower_killed_mid_stream_resumes_exactly_once() {
    let Some(s) = Server::start("logical") else {
        return;
    };
    // Large transactions are streamed in progress (pgoutput streaming).
    s.sql("ALTER SYSTEM SET logical_decoding_work_mem = '64kB'");
    s.sql("SELECT pg_reload_conf()");
    s.sql(
        "CREATE TABLE acct (id int PRIMARY KEY, owner text NOT NULL, balance bigint NOT NULL);\
         CREATE TABLE note (id int PRIMARY KEY, body text);",
    );
    let url = s.url(
        "postgres",
        "?slot=follow&publication=allt&proto=2&streaming=on",
    );
    // The slot and publication, made on request (nothing to stream yet).
    ok(replog().args(["inspect", &format!("{url}&create=1")]));
    // A workload: many small transactions and a few large ones (streamed
    // in progress past logical_decoding_work_mem), with updates, deletes
    // and a rolled-back transaction.
    s.sql(
        "INSERT INTO acct SELECT g, 'o' || g, g * 10 FROM generate_series(1, 2000) g;\
         INSERT INTO note SELECT g, repeat('x', g % 50) FROM generate_series(1, 300) g;",
    );
    s.sql(
        "DO $$ BEGIN FOR i IN 1..400 LOOP \
           UPDATE acct SET balance = balance + i WHERE id = i; \
           INSERT INTO note VALUES (1000 + i, 'n' || i); \
           IF i % 7 = 0 THEN DELETE FROM note WHERE id = 1000 + i - 3; END IF; \
           COMMIT; END LOOP; END $$;",
    );
    s.sql("BEGIN; DELETE FROM acct; ROLLBACK;");
    s.sql("UPDATE acct SET owner = owner || '!' WHERE id % 3 = 0;");

    let store = s.dir.join("store");
    // Killed at seeded moments, then resumed each time.
    let mut killed = 0;
    for delay_ms in [150u64, 400, 250, 700] {
        let mut child = replog()
            .args(["replay", &url, "--store"])
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        let st = child.wait().unwrap();
        assert!(st.success() || st.code().is_none(), "replay failed: {st:?}");
    }
    eprintln!("follower killed {killed} times mid-stream");
    // More work while the follower is down, then catch up to the end.
    s.sql("INSERT INTO acct VALUES (5001, 'late', 1); DELETE FROM note WHERE id < 50;");
    let report = ok(replog().args(["replay", &url, "--store"]).arg(&store));
    assert!(report.contains("applied"), "{report}");
    let dump = ok(replog().arg("dump").arg(&store));
    assert_eq!(dump, server_dump(&s, &["acct", "note"]));
    // Nothing is sent twice: another run applies nothing.
    let again = ok(replog()
        .args(["replay", &url, "--store"])
        .arg(&store)
        .args(["--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(v["applied"], 0, "{again}");
    // The slot is confirmed exactly to what the store holds.
    let confirmed =
        s.sql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'follow'");
    let (hi, lo) = confirmed.trim().split_once('/').unwrap();
    let confirmed =
        (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap();
    assert_eq!(v["applied_lsn"].as_u64(), Some(confirmed), "{again}");
}

#[test]
fn inspect_lists_the_stream_and_confirms_nothing() {
    let Some(s) = Server::start("inspect") else {
        return;
    };
    s.sql("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE ROLE scram LOGIN REPLICATION SUPERUSER PASSWORD 'pw-not-shown-7';");
    let url = s.url("scram", "?slot=look&publication=p&create=1");
    let pwfile = s.dir.join("pw");
    std::fs::write(&pwfile, "pw-not-shown-7\n").unwrap();
    ok(replog()
        .args(["inspect", &url, "--password-file"])
        .arg(&pwfile));
    s.sql("INSERT INTO t VALUES (1, 'a'), (2, 'b'); UPDATE t SET v = 'c' WHERE id = 1; DELETE FROM t WHERE id = 2;");
    let out = ok(replog()
        .args(["inspect", &url, "--format", "ndjson"])
        .env("PGPASSWORD", "pw-not-shown-7"));
    let types: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(types, ["RELATION", "INSERT", "INSERT", "UPDATE", "DELETE"]);
    // Inspect confirmed nothing: the same changes are listed again.
    let again = ok(replog()
        .args(["inspect", &url, "--format", "ndjson"])
        .env("PGPASSWORD", "pw-not-shown-7"));
    assert_eq!(again, out);
    // A wrong password: refused by the server, and no password printed.
    let o = replog()
        .args(["inspect", &url])
        .env("PGPASSWORD", "wrong-secret-9")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("28P01"), "{err}");
    assert!(
        !err.contains("wrong-secret-9") && !err.contains("pw-not-shown-7"),
        "{err}"
    );
    // No password at all: asked for, named where to give it.
    let o = replog().args(["inspect", &url]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("PGPASSWORD"));
}

#[test]
fn receive_wal_writes_the_servers_segments() {
    let Some(s) = Server::start("physical") else {
        return;
    };
    // pg_receivewal starts from this slot's position, replog from the
    // same LSN (--start).
    let start = s.sql("SELECT lsn FROM pg_create_physical_replication_slot('prw', true)");
    let first = s.sql(&format!("SELECT pg_walfile_name('{}')", start.trim()));
    s.sql("CREATE TABLE w (id int PRIMARY KEY, v text); INSERT INTO w SELECT g, repeat('v', 200) FROM generate_series(1, 12000) g;");
    s.sql("SELECT pg_switch_wal()");
    s.sql("INSERT INTO w VALUES (0, 'after the switch')");
    let wal = s.dir.join("received");
    let url = s.url("postgres", "");
    let out = ok(replog().args(["receive-wal", &url, "-D"]).arg(&wal).args([
        "--start",
        start.trim(),
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let completed: Vec<String> = v["completed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(completed.len() >= 3, "{out}");
    assert!(
        v["partial"].as_str().unwrap().ends_with(".partial"),
        "{out}"
    );
    // The segment holding the start, and every one after it, is the
    // server's file byte for byte.
    let first = first.trim();
    assert_eq!(completed[0], first, "{out}");
    for name in &completed {
        let ours = std::fs::read(wal.join(name)).unwrap();
        let theirs = std::fs::read(s.dir.join("data/pg_wal").join(name)).unwrap();
        assert!(ours == theirs, "{name} differs from the server's");
    }
    // pg_receivewal writes the same bytes.
    let prw = s.dir.join("pg_receivewal");
    std::fs::create_dir_all(&prw).unwrap();
    let endpos = v["end_lsn"].as_str().unwrap().to_string();
    let o = Command::new(format!("{BIN}/pg_receivewal"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &s.port.to_string(),
            "-U",
            "postgres",
            "-n",
            "-S",
            "prw",
            "-E",
            &endpos,
            "-D",
        ])
        .arg(&prw)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    for name in &completed {
        let theirs = std::fs::read(prw.join(name)).unwrap();
        assert!(
            std::fs::read(wal.join(name)).unwrap() == theirs,
            "{name} differs from pg_receivewal's"
        );
    }
    // replog reads them: every record's CRC and the chain, up to the end
    // of what was received.
    ok(replog()
        .args(["verify"])
        .args(completed.iter().map(|c| wal.join(c))));
    // A second run continues from the .partial segment.
    s.sql("INSERT INTO w VALUES (-1, 'more')");
    let out2 = ok(replog()
        .args(["receive-wal", &url, "-D"])
        .arg(&wal)
        .args(["--format", "json"]));
    let v2: serde_json::Value = serde_json::from_str(&out2).unwrap();
    assert_eq!(
        v2["start_lsn"].as_str().map(|l| l.to_string()),
        Some(format!(
            "0/{:X}",
            u64::from_str_radix(&v["partial"].as_str().unwrap()[16..24], 16).unwrap() << 20
        )),
        "{out2}"
    );
}

fn lsn(text: &str) -> u64 {
    let (hi, lo) = text.trim().split_once('/').unwrap();
    (u64::from_str_radix(hi, 16).unwrap() << 32) | u64::from_str_radix(lo, 16).unwrap()
}

#[test]
fn follow_applies_a_running_workload_and_ends_on_sigint() {
    let Some(s) = Server::start("follow") else {
        return;
    };
    s.sql("CREATE TABLE f (id int PRIMARY KEY, v text)");
    let url = s.url("postgres", "?slot=live&publication=pf&create=1");
    let store = s.dir.join("store");
    let child = replog()
        .args(["replay", &url, "--follow", "--store"])
        .arg(&store)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The slot exists once the follower has connected.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s
        .sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'live'")
        .trim()
        != "1"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the follower never created its slot"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for i in 0..60 {
        s.sql(&format!(
            "INSERT INTO f VALUES ({i}, 'v{i}'); UPDATE f SET v = v || '+' WHERE id = {};",
            i / 2
        ));
        if i % 10 == 9 {
            s.sql(&format!("DELETE FROM f WHERE id = {}", i - 5));
        }
    }
    // Every transaction ending after `before` is the marker's: once the slot
    // is confirmed past it, the follower has applied everything.
    let before = lsn(&s.sql("SELECT pg_current_wal_insert_lsn()"));
    s.sql("INSERT INTO f VALUES (-1, 'marker')");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let c =
            s.sql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'live'");
        if lsn(&c) > before {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the follower did not keep up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("stopped following after the transaction at"),
        "{err}"
    );
    assert_eq!(
        ok(replog().arg("dump").arg(&store)),
        server_dump(&s, &["f"])
    );
}
