//! `postgres://` URLs and where their password comes from.
//!
//! ```text
//! postgres://USER@HOST:PORT/DBNAME?slot=S&publication=P&proto=N&create=1
//! ```
//!
//! A password is never taken from the URL (a command line is visible to
//! every user of the machine): it comes from `PGPASSWORD`, from a file
//! (`--password-file`), or from `~/.pgpass` (`PGPASSFILE`), and only when
//! the server asks for one. A URL holding a password is refused without
//! repeating it.

use replog_core::error::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

/// What a `postgres://` URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgUrl {
    /// Host name or address; a path (starting with `/`) is the directory of
    /// a unix socket.
    pub host: String,
    /// Port (default 5432).
    pub port: u16,
    /// User (default: `$PGUSER`, else `$USER`).
    pub user: String,
    /// Database (default: the user's name).
    pub dbname: String,
    /// `slot=`: the logical replication slot (physical streaming: an
    /// optional physical slot).
    pub slot: Option<String>,
    /// `publication=`: pgoutput's publication names (comma-separated).
    pub publications: Vec<String>,
    /// `proto=`: pgoutput protocol version (1–4, default 1).
    pub proto_version: u32,
    /// `streaming=on|off|parallel`: pgoutput's streaming of large
    /// transactions in progress (protocol 2 and later).
    pub streaming: Option<String>,
    /// `create=1`: create the slot (and the publication, `FOR ALL TABLES`)
    /// when missing.
    pub create: bool,
}

impl std::fmt::Display for PgUrl {
    /// The URL without any secret (there is none in it), for messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(
            f,
            "postgres://{}@{}:{}/{}",
            self.user, host, self.port, self.dbname
        )?;
        if let Some(s) = &self.slot {
            write!(f, "?slot={s}")?;
        }
        Ok(())
    }
}

fn usage(m: impl Into<String>) -> Error {
    Error::unplaced(ErrorKind::Malformed, m)
}

/// Decodes `%XX` escapes.
fn unescape(s: &str, what: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| usage(format!("bad %-escape in the URL's {what}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| usage(format!("the URL's {what} is not UTF-8")))
}

fn env_user() -> String {
    std::env::var("PGUSER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "postgres".into())
}

/// Whether `s` looks like a PostgreSQL URL (`postgres://`, `postgresql://`).
pub fn is_pg_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

impl PgUrl {
    /// Parses `s`. A password in it is refused (and not repeated).
    pub fn parse(s: &str) -> Result<PgUrl> {
        let rest = s
            .strip_prefix("postgres://")
            .or_else(|| s.strip_prefix("postgresql://"))
            .ok_or_else(|| usage("a PostgreSQL URL starts with postgres://"))?;
        let (main, query) = match rest.split_once('?') {
            Some((m, q)) => (m, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match main.split_once('/') {
            Some((a, p)) => (a, p),
            None => (main, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if userinfo.is_some_and(|u| u.contains(':')) {
            return Err(usage(
                "the URL holds a password: give it in PGPASSWORD, --password-file or ~/.pgpass, never on the command line",
            ));
        }
        let user = match userinfo {
            Some(u) if !u.is_empty() => unescape(u, "user")?,
            _ => env_user(),
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            let (h, p) = h
                .split_once(']')
                .ok_or_else(|| usage("unclosed [ in the URL's host"))?;
            (h.to_string(), p.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (unescape(h, "host")?, Some(p)),
                None => (unescape(hostport, "host")?, None),
            }
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| usage(format!("bad port {p:?} in the URL")))?,
            None => 5432,
        };
        let dbname = if path.is_empty() {
            user.clone()
        } else {
            unescape(path, "database")?
        };
        let mut url = PgUrl {
            host: if host.is_empty() {
                "localhost".into()
            } else {
                host
            },
            port,
            user,
            dbname,
            slot: None,
            publications: Vec::new(),
            proto_version: 1,
            streaming: None,
            create: false,
        };
        for kv in query.unwrap_or("").split('&').filter(|kv| !kv.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let v = unescape(v, k)?;
            match k {
                "slot" => url.slot = Some(v),
                "publication" => {
                    url.publications = v.split(',').map(str::to_string).collect();
                }
                "proto" | "proto_version" => {
                    url.proto_version = match v.parse::<u32>() {
                        Ok(n @ 1..=4) => n,
                        _ => return Err(usage(format!("proto={v}: pgoutput has versions 1 to 4"))),
                    }
                }
                "streaming" => match v.as_str() {
                    "on" | "off" | "parallel" => url.streaming = Some(v),
                    _ => return Err(usage(format!("streaming={v}: on, off or parallel"))),
                },
                "create" => url.create = matches!(v.as_str(), "1" | "true" | "yes" | "on"),
                "password" => {
                    return Err(usage(
                        "the URL holds a password: give it in PGPASSWORD, --password-file or ~/.pgpass, never on the command line",
                    ));
                }
                // Connection options of libpq that change nothing here.
                "sslmode" if v == "disable" || v == "prefer" || v == "allow" => {}
                _ => return Err(usage(format!("unknown URL parameter {k:?}"))),
            }
        }
        if url.publications.iter().any(|p| !is_identifier(p))
            || url.slot.as_deref().is_some_and(|s| !is_identifier(s))
        {
            return Err(usage(
                "slot and publication names are lower-case letters, digits and _",
            ));
        }
        Ok(url)
    }
}

/// Slot names allow exactly this (PostgreSQL's ReplicationSlotValidateName);
/// publications are held to the same, so both can be written into
/// replication commands without quoting.
fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Where the password comes from, looked at only when the server asks.
#[derive(Debug, Clone, Default)]
pub enum Password {
    /// `PGPASSWORD`, else the password file (`PGPASSFILE`, else
    /// `~/.pgpass`).
    #[default]
    Environment,
    /// The first line of this file.
    File(PathBuf),
}

impl Password {
    /// The password for `url`, or `None` when there is none to give.
    pub fn resolve(&self, url: &PgUrl) -> Result<Option<String>> {
        match self {
            Password::File(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Error::io(e, format!("reading password file {}", p.display())))?;
                Ok(Some(text.lines().next().unwrap_or("").to_string()))
            }
            Password::Environment => {
                if let Ok(p) = std::env::var("PGPASSWORD") {
                    return Ok(Some(p));
                }
                let file = std::env::var_os("PGPASSFILE")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")));
                match file.and_then(|f| std::fs::read_to_string(f).ok()) {
                    Some(text) => Ok(pgpass_lookup(&text, url)),
                    None => Ok(None),
                }
            }
        }
    }
}

/// The password of the first `host:port:database:user:password` line of a
/// password file matching `url` (`*` matches anything; `\:` and `\\` are
/// escapes). Replication connections match the database `replication`
/// too, as libpq does for physical ones.
pub fn pgpass_lookup(text: &str, url: &PgUrl) -> Option<String> {
    let port = url.port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::with_capacity(5);
        let mut cur = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => cur.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        if fields.len() != 5 {
            continue;
        }
        let m = |f: &str, v: &str| f == "*" || f == v;
        let host_ok =
            m(&fields[0], &url.host) || (url.host.starts_with('/') && fields[0] == "localhost");
        if host_ok
            && m(&fields[1], &port)
            && (m(&fields[2], &url.dbname) || fields[2] == "replication")
            && m(&fields[3], &url.user)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_logical_url() {
        let u = PgUrl::parse(
            "postgres://rep@127.0.0.1:5433/app?slot=s1&publication=p1,p2&proto=2&streaming=on&create=1",
        )
        .unwrap();
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, 5433);
        assert_eq!(u.user, "rep");
        assert_eq!(u.dbname, "app");
        assert_eq!(u.slot.as_deref(), Some("s1"));
        assert_eq!(u.publications, ["p1", "p2"]);
        assert_eq!(u.proto_version, 2);
        assert_eq!(u.streaming.as_deref(), Some("on"));
        assert!(u.create);
        assert_eq!(u.to_string(), "postgres://rep@127.0.0.1:5433/app?slot=s1");
    }

    #[test]
    fn a_unix_socket_directory_is_an_escaped_host() {
        let u = PgUrl::parse("postgres://u@%2Ftmp%2Fpg:5439/d").unwrap();
        assert_eq!(u.host, "/tmp/pg");
        assert_eq!(u.port, 5439);
    }

    #[test]
    fn a_password_in_the_url_is_refused_and_not_repeated() {
        for url in [
            "postgres://rep:hunter2secret@h/db",
            "postgres://rep@h/db?password=hunter2secret",
        ] {
            let e = PgUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains("PGPASSWORD"), "{e}");
            assert!(!e.contains("hunter2secret"), "{e}");
        }
    }

    #[test]
    fn bad_parameters_are_refused() {
        for (url, why) in [
            ("postgres://u@h/d?proto=5", "versions 1 to 4"),
            ("postgres://u@h/d?slot=Bad-Name", "lower-case"),
            ("postgres://u@h:x/d", "bad port"),
            ("postgres://u@h/d?colour=red", "unknown URL parameter"),
            ("mysql://u@h/d", "postgres://"),
        ] {
            let e = PgUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
    }

    #[test]
    fn pgpass_matches_wildcards_and_escapes() {
        let u = PgUrl::parse("postgres://rep@db.example:5433/app").unwrap();
        let text = "# comment\nother:5433:app:rep:no\n*:5433:*:rep:pa\\:ss\n*:*:*:*:later\n";
        assert_eq!(pgpass_lookup(text, &u).as_deref(), Some("pa:ss"));
        assert_eq!(pgpass_lookup("x:1:y:z:w\n", &u), None);
    }
}
