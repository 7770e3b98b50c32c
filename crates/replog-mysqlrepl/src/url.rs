//! `mysql://user@host:port?server-id=N&file=NAME&pos=N&heartbeat=SECONDS`:
//! where a replica connects and from which binlog position it reads.
//!
//! The password is never part of the URL (a URL with one is refused,
//! without repeating it): it comes from the environment or a file
//! (the command line's business).

use std::time::Duration;

/// A server to read binlogs from, parsed from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// User name.
    pub user: String,
    /// Host name or address.
    pub host: String,
    /// TCP port (default 3306).
    pub port: u16,
    /// The replica's server id, unique among the server's replicas.
    pub server_id: u32,
    /// First binlog file; `None`: the server's first binlog.
    pub file: Option<String>,
    /// Position in it (default 4, the first event).
    pub pos: u32,
    /// Heartbeat period the server is asked for (default 1 s; 0: none).
    pub heartbeat: Duration,
}

/// Whether `s` names a server rather than a file.
pub fn is_url(s: &str) -> bool {
    s.starts_with("mysql://") || s.starts_with("mariadb://")
}

impl Source {
    /// Parses a `mysql://` (or `mariadb://`) URL.
    pub fn parse(url: &str) -> Result<Source, String> {
        let rest = url
            .strip_prefix("mysql://")
            .or_else(|| url.strip_prefix("mariadb://"))
            .ok_or("a server URL starts with mysql:// or mariadb://")?;
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        let (user, hostport) = authority
            .rsplit_once('@')
            .ok_or("the URL names no user (mysql://USER@HOST:PORT?server-id=N)")?;
        if user.contains(':') {
            return Err(
                "the URL holds a password: give it in REPLOG_PASSWORD or MYSQL_PWD, or with --password-file, never on the command line"
                    .into(),
            );
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("bad port {p:?} in the URL"))?,
            ),
            None => (hostport, 3306),
        };
        if user.is_empty() || host.is_empty() {
            return Err("the URL needs a user and a host (mysql://USER@HOST:PORT)".into());
        }
        let mut src = Source {
            user: user.to_string(),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            server_id: 0,
            file: None,
            pos: 4,
            heartbeat: Duration::from_secs(1),
        };
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let bad = || format!("bad value {v:?} for {k} in the URL");
            match k {
                "server-id" | "server_id" => src.server_id = v.parse().map_err(|_| bad())?,
                "file" => src.file = Some(v.to_string()),
                "pos" => src.pos = v.parse().map_err(|_| bad())?,
                "heartbeat" => {
                    let secs: f64 = v.parse().map_err(|_| bad())?;
                    if !(0.0..=4_294_967.0).contains(&secs) {
                        return Err(bad());
                    }
                    src.heartbeat = Duration::from_secs_f64(secs);
                }
                "password" => {
                    return Err(
                        "the URL holds a password: give it in REPLOG_PASSWORD or MYSQL_PWD, or with --password-file"
                            .into(),
                    );
                }
                _ => {
                    return Err(format!(
                        "unknown URL parameter {k:?} (server-id, file, pos, heartbeat)"
                    ));
                }
            }
        }
        if src.server_id == 0 {
            return Err(
                "the URL needs server-id=N: the replica's id, unique among the server's replicas and different from the server's own"
                    .into(),
            );
        }
        if src.pos < 4 {
            return Err(format!("pos={} is before the first event (4)", src.pos));
        }
        Ok(src)
    }

    /// `user@host:port`, for messages.
    pub fn display(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let s =
            Source::parse("mysql://repl@127.0.0.1:3307?server-id=9&file=b.000002&pos=120").unwrap();
        assert_eq!(s.user, "repl");
        assert_eq!(
            (s.host.as_str(), s.port, s.server_id),
            ("127.0.0.1", 3307, 9)
        );
        assert_eq!((s.file.as_deref(), s.pos), (Some("b.000002"), 120));
        let s = Source::parse("mariadb://r@db?server-id=2&heartbeat=0.5").unwrap();
        assert_eq!((s.port, s.heartbeat), (3306, Duration::from_millis(500)));
        assert!(is_url("mysql://x") && !is_url("mysql-bin.000001"));
    }

    #[test]
    fn refuses_passwords_without_repeating_them() {
        for url in [
            "mysql://repl:hunter2@h:1?server-id=2",
            "mysql://repl@h:1?server-id=2&password=hunter2",
        ] {
            let e = Source::parse(url).unwrap_err();
            assert!(!e.contains("hunter2"), "{e}");
            assert!(e.contains("REPLOG_PASSWORD"), "{e}");
        }
        assert!(
            Source::parse("mysql://r@h")
                .unwrap_err()
                .contains("server-id")
        );
        assert!(Source::parse("mysql://r@h?server-id=2&pos=1").is_err());
    }
}
