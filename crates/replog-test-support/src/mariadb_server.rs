//! A private MariaDB server for tests that need a live one: Debian's
//! `mariadbd`, a fresh data directory in a temporary directory, a unix
//! socket there and TCP on a free loopback port, binlogs on (ROW, CRC32),
//! started as `fixtures/mariadb/generate.sh` starts its servers, and shut
//! down (killed if it does not stop) when dropped.
//!
//! [`Server::start`] returns `None`, after printing why, when `mariadbd`
//! is not installed: such tests pass over their server part with that
//! reason printed (`.ci/run` installs the packages, so CI runs them).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MARIADBD: &str = "/usr/sbin/mariadbd";

/// A running private server.
#[derive(Debug)]
pub struct Server {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
}

fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

impl Server {
    /// Starts a server with binlogs on, or says why it cannot (`None`).
    pub fn start() -> Option<Server> {
        if !Path::new(MARIADBD).exists() {
            eprintln!("SKIPPED: {MARIADBD} is not installed (apt-get install mariadb-server)");
            return None;
        }
        let install = tool("mariadb-install-db")?;
        let dir = tempfile::Builder::new()
            .prefix("replog-mariadbd.")
            .tempdir()
            .expect("temporary directory");
        for d in ["data", "binlog", "tmp"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        // The bootstrap gets the server's private tmpdir: with the shared
        // /tmp, two bootstraps running at once (tests run in parallel)
        // can collide on the temporary-table names MariaDB derives there,
        // and one of them aborts ("Could not remove temporary table").
        // A bootstrap that fails anyway is retried once on a clean data
        // directory before the test is failed.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let out = Command::new(&install)
                .args([
                    "--no-defaults".to_string(),
                    format!("--datadir={}", dir.path().join("data").display()),
                    format!("--tmpdir={}", dir.path().join("tmp").display()),
                    "--user=root".to_string(),
                    "--auth-root-authentication-method=normal".to_string(),
                    "--skip-test-db".to_string(),
                ])
                .output()
                .expect("running mariadb-install-db");
            if out.status.success() {
                break;
            }
            assert!(
                attempt < 3,
                "mariadb-install-db: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            eprintln!(
                "mariadb-install-db failed (attempt {attempt}), retrying: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let _ = std::fs::remove_dir_all(dir.path().join("data"));
            std::fs::create_dir_all(dir.path().join("data")).unwrap();
            std::thread::sleep(Duration::from_millis(500));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let p = |name: &str| dir.path().join(name).display().to_string();
        let child = Command::new(MARIADBD)
            .args([
                "--no-defaults".to_string(),
                format!("--datadir={}", p("data")),
                format!("--socket={}", p("sock")),
                format!("--port={port}"),
                "--bind-address=127.0.0.1".to_string(),
                format!("--pid-file={}", p("mariadbd.pid")),
                format!("--log-error={}", p("error.log")),
                format!("--tmpdir={}", p("tmp")),
                "--user=root".to_string(),
                "--server-id=1".to_string(),
                format!("--log-bin={}", p("binlog/mariadb-bin")),
                "--binlog-format=ROW".to_string(),
                "--binlog-checksum=CRC32".to_string(),
                "--character-set-server=utf8mb4".to_string(),
                "--collation-server=utf8mb4_general_ci".to_string(),
                "--default-time-zone=+00:00".to_string(),
                "--skip-name-resolve".to_string(),
                "--innodb-buffer-pool-size=32M".to_string(),
                "--innodb-log-file-size=16M".to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting mariadbd");
        let mut server = Server {
            dir,
            child: Some(child),
            port,
        };
        let start = Instant::now();
        loop {
            if let Some(c) = server.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    let log = std::fs::read_to_string(server.path("error.log")).unwrap_or_default();
                    panic!("mariadbd exited during startup ({status}):\n{log}");
                }
            }
            if server.path("sock").exists() && server.try_sql("SELECT 1").is_ok() {
                return Some(server);
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "mariadbd did not come up within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A path inside the server's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binlog directory.
    pub fn binlog_dir(&self) -> PathBuf {
        self.path("binlog")
    }

    fn try_sql(&self, sql: &str) -> Result<String, String> {
        let client = tool("mariadb").ok_or("the mariadb client is not installed")?;
        let out = Command::new(client)
            .args([
                "--no-defaults",
                &format!("--socket={}", self.path("sock").display()),
                "--user=root",
                "--batch",
                "--raw",
                "--skip-column-names",
                "-e",
                sql,
            ])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs `sql` as root over the socket; its output in batch form (tab
    /// separated, no column names). Panics on an error.
    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// A table's rows as `replog dump` prints them: `-- db.table` then
    /// the rows in primary-key order, tab separated.
    pub fn table(&self, qualified: &str, order_by: &str) -> String {
        let rows = self.sql(&format!("SELECT * FROM {qualified} ORDER BY {order_by}"));
        format!("-- {qualified}\n{rows}")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = self.try_sql("SHUTDOWN");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
