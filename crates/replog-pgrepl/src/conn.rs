//! A replication connection: socket, startup, authentication, simple
//! queries (replication commands are simple queries), and the CopyBoth
//! sub-protocol. Messages are framed here (a length is checked before any
//! byte of the body is stored, and the body is stored only as it arrives);
//! frontend messages, MD5 and SCRAM-SHA-256 come from `postgres-protocol`.

use crate::url::{Password, PgUrl};
use bytes::{Buf, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use replog_core::error::{Error, ErrorKind, Result};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// The largest backend message accepted: PostgreSQL's own limit on a
/// single allocation (1 GB) plus headers.
pub const MAX_MESSAGE: usize = (1 << 30) + 1024;

/// Which walsender a connection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `replication=database`: logical replication in the URL's database.
    Logical,
    /// `replication=true`: physical replication.
    Physical,
}

enum Sock {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Sock {
    fn set_read_timeout(&self, d: Option<Duration>) -> std::io::Result<()> {
        match self {
            Sock::Tcp(s) => s.set_read_timeout(d),
            Sock::Unix(s) => s.set_read_timeout(d),
        }
    }
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Sock::Tcp(s) => s.read(b),
            Sock::Unix(s) => s.read(b),
        }
    }
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Sock::Tcp(s) => s.write_all(b),
            Sock::Unix(s) => s.write_all(b),
        }
    }
}

/// One backend message: its type byte, its body, and the absolute offset
/// of its type byte in the bytes received on the connection.
#[derive(Debug)]
pub struct Frame {
    /// Message type.
    pub tag: u8,
    /// Body (without type and length).
    pub body: BytesMut,
    /// Offset of the type byte in the connection's byte stream.
    pub offset: u64,
}

impl Frame {
    /// Offset of the body's first byte.
    pub fn body_offset(&self) -> u64 {
        self.offset + 5
    }
}

/// A server error (ErrorResponse): severity, SQLSTATE and message.
#[derive(Debug, Clone, Default)]
pub struct ServerError {
    /// ERROR, FATAL, PANIC.
    pub severity: String,
    /// SQLSTATE.
    pub code: String,
    /// The primary message.
    pub message: String,
    /// The detail, if any.
    pub detail: Option<String>,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.code, self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

/// A replication connection.
pub struct Conn {
    sock: Sock,
    rbuf: BytesMut,
    wbuf: BytesMut,
    /// Bytes received before `rbuf[0]`.
    consumed: u64,
    /// The URL (without secrets), for messages.
    pub url: PgUrl,
    /// `server_version` as reported at startup.
    pub server_version: String,
    timeout: Option<Duration>,
}

fn io_err(e: std::io::Error, url: &PgUrl, what: &str) -> Error {
    Error::io(e, format!("{url}: {what}"))
}

impl Conn {
    /// Connects to `url` and authenticates (trust, password, MD5 or
    /// SCRAM-SHA-256, the password from `password` when the server asks).
    pub fn connect(url: &PgUrl, password: &Password, mode: Mode) -> Result<Conn> {
        let sock = if url.host.starts_with('/') {
            let path = format!("{}/.s.PGSQL.{}", url.host, url.port);
            Sock::Unix(UnixStream::connect(&path).map_err(|e| io_err(e, url, "connecting"))?)
        } else {
            let s = TcpStream::connect((url.host.as_str(), url.port))
                .map_err(|e| io_err(e, url, "connecting"))?;
            let _ = s.set_nodelay(true);
            Sock::Tcp(s)
        };
        let mut c = Conn {
            sock,
            rbuf: BytesMut::with_capacity(1 << 16),
            wbuf: BytesMut::with_capacity(1024),
            consumed: 0,
            url: url.clone(),
            server_version: String::new(),
            timeout: None,
        };
        let replication = match mode {
            Mode::Logical => "database",
            Mode::Physical => "true",
        };
        let params = [
            ("user", url.user.as_str()),
            ("database", url.dbname.as_str()),
            ("replication", replication),
            ("application_name", "replog"),
            ("client_encoding", "UTF8"),
        ];
        frontend::startup_message(params, &mut c.wbuf)
            .map_err(|e| io_err(e, url, "writing the startup message"))?;
        c.send()?;
        c.authenticate(password)?;
        // Parameters, key data, then ReadyForQuery.
        loop {
            let f = c.frame()?;
            match f.tag {
                b'S' => {
                    if let Some((k, v)) = parameter(&f.body)
                        && k == "server_version"
                    {
                        c.server_version = v;
                    }
                }
                b'K' | b'N' => {}
                b'Z' => return Ok(c),
                b'E' => return Err(c.server_error(&f, "starting the session")),
                t => return Err(c.unexpected(&f, t, "starting the session")),
            }
        }
    }

    fn authenticate(&mut self, password: &Password) -> Result<()> {
        let mut scram: Option<ScramSha256> = None;
        loop {
            let f = self.frame()?;
            match f.tag {
                b'E' => return Err(self.server_error(&f, "authenticating")),
                b'R' => {}
                t => return Err(self.unexpected(&f, t, "authenticating")),
            }
            let msg = self.parse_backend(&f)?;
            match msg {
                Message::AuthenticationOk => return Ok(()),
                Message::AuthenticationCleartextPassword => {
                    let pw = self.password(password)?;
                    frontend::password_message(pw.as_bytes(), &mut self.wbuf)
                        .map_err(|e| io_err(e, &self.url, "writing the password message"))?;
                    self.send()?;
                }
                Message::AuthenticationMd5Password(b) => {
                    let pw = self.password(password)?;
                    let h = md5_hash(self.url.user.as_bytes(), pw.as_bytes(), b.salt());
                    frontend::password_message(h.as_bytes(), &mut self.wbuf)
                        .map_err(|e| io_err(e, &self.url, "writing the password message"))?;
                    self.send()?;
                }
                Message::AuthenticationSasl(b) => {
                    let mut mechs = b.mechanisms();
                    let mut found = false;
                    while let Some(m) = mechs
                        .next()
                        .map_err(|e| self.protocol(&f, format!("SASL mechanisms: {e}")))?
                    {
                        found |= m == SCRAM_SHA_256;
                    }
                    if !found {
                        return Err(self.protocol(
                            &f,
                            "the server offers no SASL mechanism replog speaks (SCRAM-SHA-256 without channel binding)".into(),
                        ));
                    }
                    let pw = self.password(password)?;
                    let s = ScramSha256::new(pw.as_bytes(), ChannelBinding::unsupported());
                    frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), &mut self.wbuf)
                        .map_err(|e| io_err(e, &self.url, "writing the SASL response"))?;
                    self.send()?;
                    scram = Some(s);
                }
                Message::AuthenticationSaslContinue(b) => {
                    let s = scram
                        .as_mut()
                        .ok_or_else(|| self.protocol(&f, "SASL continue before SASL".into()))?;
                    s.update(b.data())
                        .map_err(|e| self.protocol(&f, format!("SCRAM: {e}")))?;
                    frontend::sasl_response(s.message(), &mut self.wbuf)
                        .map_err(|e| io_err(e, &self.url, "writing the SASL response"))?;
                    self.send()?;
                }
                Message::AuthenticationSaslFinal(b) => {
                    let s = scram
                        .as_mut()
                        .ok_or_else(|| self.protocol(&f, "SASL final before SASL".into()))?;
                    s.finish(b.data()).map_err(|e| {
                        self.protocol(
                            &f,
                            format!("SCRAM: the server's proof does not verify: {e}"),
                        )
                    })?;
                }
                _ => {
                    return Err(self.protocol(
                        &f,
                        "the server asks for an authentication method replog does not speak (trust, password, md5 and SCRAM-SHA-256 are)".into(),
                    ));
                }
            }
        }
    }

    fn password(&self, p: &Password) -> Result<String> {
        p.resolve(&self.url)?.ok_or_else(|| {
            Error::unplaced(
                ErrorKind::Mismatch,
                format!(
                    "{}: the server asks for a password; give it in PGPASSWORD, --password-file or ~/.pgpass",
                    self.url
                ),
            )
        })
    }

    fn parse_backend(&self, f: &Frame) -> Result<Message> {
        let mut whole = BytesMut::with_capacity(f.body.len() + 5);
        whole.extend_from_slice(&[f.tag]);
        whole.extend_from_slice(&((f.body.len() + 4) as u32).to_be_bytes());
        whole.extend_from_slice(&f.body);
        match Message::parse(&mut whole) {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(self.protocol(f, "message shorter than its length".into())),
            Err(e) => Err(self.protocol(f, format!("message type {:?}: {e}", char::from(f.tag)))),
        }
    }

    /// The server's major version (`server_version` `15.18 (Debian …)`
    /// gives 15; 0 when unknown).
    pub fn server_major(&self) -> u32 {
        let digits: String = self
            .server_version
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap_or(0)
    }

    /// An error about message `f`, naming its offset.
    pub fn protocol(&self, f: &Frame, m: String) -> Error {
        Error::new(ErrorKind::Malformed, f.offset, format!("{}: {m}", self.url))
    }

    fn unexpected(&self, f: &Frame, t: u8, when: &str) -> Error {
        self.protocol(
            f,
            format!("unexpected message type {:?} while {when}", char::from(t)),
        )
    }

    /// The ErrorResponse `f` as an error.
    pub fn server_error(&self, f: &Frame, when: &str) -> Error {
        let e = error_fields(&f.body);
        Error::new(
            ErrorKind::Mismatch,
            f.offset,
            format!("{}: the server refused {when}: {e}", self.url),
        )
    }

    /// Bytes received so far (the offset of the next message).
    pub fn position(&self) -> u64 {
        self.consumed
    }

    fn send(&mut self) -> Result<()> {
        let r = self.sock.write_all(&self.wbuf);
        self.wbuf.clear();
        r.map_err(|e| io_err(e, &self.url, "sending"))
    }

    /// Sends `data` as one CopyData message.
    pub fn send_copy_data(&mut self, data: &[u8]) -> Result<()> {
        frontend::CopyData::new(data)
            .map_err(|e| io_err(e, &self.url, "writing CopyData"))?
            .write(&mut self.wbuf);
        self.send()
    }

    /// Sends CopyDone.
    pub fn send_copy_done(&mut self) -> Result<()> {
        frontend::copy_done(&mut self.wbuf);
        self.send()
    }

    /// Sends Terminate (the end of the session).
    pub fn terminate(mut self) {
        frontend::terminate(&mut self.wbuf);
        let _ = self.send();
    }

    /// The next message, waiting for it.
    pub fn frame(&mut self) -> Result<Frame> {
        self.set_timeout(None)?;
        loop {
            if let Some(f) = self.poll_frame(None)? {
                return Ok(f);
            }
        }
    }

    fn set_timeout(&mut self, d: Option<Duration>) -> Result<()> {
        if self.timeout != d {
            self.sock
                .set_read_timeout(d)
                .map_err(|e| io_err(e, &self.url, "setting a read timeout"))?;
            self.timeout = d;
        }
        Ok(())
    }

    /// The next message, or `None` when none is complete within `wait`
    /// (`None`: wait indefinitely). What was read of a message stays
    /// buffered for the next call.
    pub fn poll_frame(&mut self, wait: Option<Duration>) -> Result<Option<Frame>> {
        self.set_timeout(wait)?;
        loop {
            if self.rbuf.len() >= 5 {
                let len =
                    u32::from_be_bytes([self.rbuf[1], self.rbuf[2], self.rbuf[3], self.rbuf[4]])
                        as usize;
                if !(4..=MAX_MESSAGE).contains(&len) {
                    return Err(Error::new(
                        ErrorKind::TooLarge,
                        self.consumed + 1,
                        format!(
                            "{}: message type {:?} declares length {len} (4 to {MAX_MESSAGE} allowed)",
                            self.url,
                            char::from(self.rbuf[0])
                        ),
                    ));
                }
                if self.rbuf.len() > len {
                    let tag = self.rbuf[0];
                    let mut whole = self.rbuf.split_to(len + 1);
                    whole.advance(5);
                    let f = Frame {
                        tag,
                        body: whole,
                        offset: self.consumed,
                    };
                    self.consumed += len as u64 + 1;
                    return Ok(Some(f));
                }
            }
            // Read what has arrived, at most up to 1 MiB beyond what is
            // buffered: storage grows only with bytes received.
            let have = self.rbuf.len();
            self.rbuf.resize(have + (1 << 16).max(have.min(1 << 20)), 0);
            match self.sock.read(&mut self.rbuf[have..]) {
                Ok(0) => {
                    self.rbuf.truncate(have);
                    return Err(Error::new(
                        ErrorKind::UnexpectedEof { needed: 1 },
                        self.consumed + have as u64,
                        format!("{}: the server closed the connection", self.url),
                    ));
                }
                Ok(n) => self.rbuf.truncate(have + n),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    self.rbuf.truncate(have);
                    return Ok(None);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    self.rbuf.truncate(have);
                }
                Err(e) => {
                    self.rbuf.truncate(have);
                    return Err(io_err(e, &self.url, "receiving"));
                }
            }
        }
    }

    /// Runs `sql` as a simple query; returns the rows of its (last)
    /// result, each column as text (`None`: NULL).
    pub fn query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        frontend::query(sql, &mut self.wbuf)
            .map_err(|e| io_err(e, &self.url, "writing a query"))?;
        self.send()?;
        let mut rows = Vec::new();
        let mut err = None;
        loop {
            let f = self.frame()?;
            match f.tag {
                b'T' => rows.clear(),
                b'D' => rows.push(self.data_row(&f)?),
                b'C' | b'N' | b'I' | b'S' => {}
                b'E' => err = Some(self.server_error(&f, &format!("`{sql}`"))),
                b'Z' => return err.map_or(Ok(rows), Err),
                t => return Err(self.unexpected(&f, t, &format!("running `{sql}`"))),
            }
        }
    }

    fn data_row(&self, f: &Frame) -> Result<Vec<Option<String>>> {
        let Message::DataRow(d) = self.parse_backend(f)? else {
            return Err(self.protocol(f, "not a DataRow".into()));
        };
        let buf = d.buffer();
        let mut out = Vec::new();
        let mut ranges = d.ranges();
        while let Some(r) = ranges
            .next()
            .map_err(|e| self.protocol(f, format!("DataRow: {e}")))?
        {
            out.push(match r {
                None => None,
                Some(r) => Some(
                    std::str::from_utf8(&buf[r])
                        .map_err(|_| self.protocol(f, "DataRow column not UTF-8".into()))?
                        .to_string(),
                ),
            });
        }
        Ok(out)
    }

    /// Sends a replication command that starts CopyBoth
    /// (`START_REPLICATION`) and waits for CopyBothResponse.
    pub fn start_copy_both(&mut self, command: &str) -> Result<()> {
        frontend::query(command, &mut self.wbuf)
            .map_err(|e| io_err(e, &self.url, "writing a command"))?;
        self.send()?;
        loop {
            let f = self.frame()?;
            match f.tag {
                b'W' => return Ok(()),
                b'N' | b'S' => {}
                b'E' => {
                    let e = self.server_error(&f, &format!("`{command}`"));
                    return Err(e);
                }
                t => return Err(self.unexpected(&f, t, &format!("starting `{command}`"))),
            }
        }
    }
}

/// `name\0value\0`.
fn parameter(b: &[u8]) -> Option<(String, String)> {
    let mut it = b.split(|&c| c == 0);
    let k = std::str::from_utf8(it.next()?).ok()?;
    let v = std::str::from_utf8(it.next()?).ok()?;
    Some((k.to_string(), v.to_string()))
}

/// The fields of an ErrorResponse or NoticeResponse body.
pub fn error_fields(b: &[u8]) -> ServerError {
    let mut e = ServerError::default();
    for f in b.split(|&c| c == 0) {
        let Some((&t, v)) = f.split_first() else {
            continue;
        };
        let v = String::from_utf8_lossy(v).into_owned();
        match t {
            b'S' => e.severity = v,
            b'C' => e.code = v,
            b'M' => e.message = v,
            b'D' => e.detail = Some(v),
            _ => {}
        }
    }
    e
}
