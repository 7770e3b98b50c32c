//! A connection to a MySQL/MariaDB server as a replica: connect and
//! authenticate, run the session statements a replica needs, register,
//! and ask for the binlog from a file and position.

use crate::url::Source;
use crate::wire::{self, AuthReply, PacketReader};
use replog_core::{Error, ErrorKind, Result};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long a read waits before looking at the stop flag again.
const POLL: Duration = Duration::from_millis(200);

/// The largest packet payload accepted: an event of the largest size a
/// server writes (`max_allowed_packet` is at most 1 GiB).
pub const MAX_PACKET: usize = 1 << 30;

/// A socket whose reads give up (end of input) once a stop is requested
/// ([`replog_core::follow::request_stop`]), and otherwise wait as long as
/// the server takes.
#[derive(Debug)]
pub struct Patient(pub TcpStream);

impl Read for Patient {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if replog_core::follow::stop_requested() {
                        return Ok(0);
                    }
                }
                r => return r,
            }
        }
    }
}

/// A connected, authenticated session.
#[derive(Debug)]
pub struct Client {
    pub(crate) r: PacketReader<Patient>,
    w: TcpStream,
    /// The server's version string.
    pub server_version: String,
    out: Vec<u8>,
}

impl Client {
    /// Connects to `src` and authenticates with `password` (never part
    /// of any message).
    pub fn connect(src: &Source, password: &[u8]) -> Result<Client> {
        let addr = format!("{}:{}", src.host, src.port);
        let stream =
            TcpStream::connect(&addr).map_err(|e| Error::io(e, format!("connecting to {addr}")))?;
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(POLL))
            .map_err(|e| Error::io(e, "setting the socket's read timeout"))?;
        let w = stream
            .try_clone()
            .map_err(|e| Error::io(e, "cloning the socket"))?;
        let mut c = Client {
            r: PacketReader::new(Patient(stream), MAX_PACKET),
            w,
            server_version: String::new(),
            out: Vec::new(),
        };
        let (at, p) = c.packet("the server's handshake")?;
        let hs = wire::parse_handshake(&p, at)?;
        c.server_version = hs.server_version.clone();
        let (plugin, auth) = answer(&hs.auth_plugin, password, &hs.scramble, at)?;
        let resp = wire::handshake_response(&src.user, &auth, &plugin, hs.capabilities);
        c.send_next(&resp)?;
        for _ in 0..4 {
            let (at, p) = c.packet("the answer to authentication")?;
            match wire::parse_auth_reply(&p, at)
                .map_err(|e| e.context(format!("as user {:?}", src.user)))?
            {
                AuthReply::Ok => return Ok(c),
                AuthReply::Switch { plugin, data } => {
                    let (_, auth) = answer(&plugin, password, &data, at)?;
                    c.send_next(&auth)?;
                }
                AuthReply::More(_) => {
                    return Err(Error::malformed(
                        at,
                        format!(
                            "the server continues authentication with method {:?}, which is not supported",
                            hs.auth_plugin
                        ),
                    ));
                }
            }
        }
        Err(Error::malformed(
            c.r.offset(),
            "authentication did not end after four exchanges",
        ))
    }

    /// The next packet (connection end is an error saying what was awaited).
    pub(crate) fn packet(&mut self, what: &str) -> Result<(u64, Vec<u8>)> {
        match self.r.next_packet()? {
            Some((at, p)) => Ok((at, p.to_vec())),
            None => Err(Error::new(
                ErrorKind::UnexpectedEof { needed: 4 },
                self.r.offset(),
                format!("the server closed the connection while replog waited for {what}"),
            )),
        }
    }

    /// Sends `payload` with the sequence number that follows the last
    /// packet read.
    fn send_next(&mut self, payload: &[u8]) -> Result<()> {
        self.out.clear();
        self.r.seq = wire::frame(&mut self.out, payload, self.r.seq);
        self.w
            .write_all(&self.out)
            .map_err(|e| Error::io(e, "writing to the server").with_offset(self.r.offset()))
    }

    /// Sends a command (sequence number 0).
    pub(crate) fn command(&mut self, payload: &[u8]) -> Result<()> {
        self.r.seq = 0;
        self.send_next(payload)
    }

    /// Runs `sql` and returns its rows (none for a statement).
    pub fn query(&mut self, sql: &str) -> Result<wire::Rows> {
        self.command(&wire::com_query(sql))?;
        let first = self.packet("a query's result")?;
        let rows = wire::read_result_set((first.0, &first.1), || self.packet("a query's result"));
        rows.map_err(|e| e.context(format!("running {sql:?}")))
    }

    /// Runs a command that answers OK.
    pub(crate) fn simple(&mut self, payload: &[u8], doing: &str) -> Result<()> {
        self.command(payload)?;
        let (at, p) = self.packet(doing)?;
        match p.first() {
            Some(0x00) => Ok(()),
            Some(0xff) => Err(wire::server_error(&p, at, doing)),
            _ => Err(Error::malformed(at, format!("{doing}: expected OK"))),
        }
    }
}

/// The authentication answer for `plugin`.
fn answer(plugin: &str, password: &[u8], data: &[u8], at: u64) -> Result<(String, Vec<u8>)> {
    match plugin {
        "mysql_native_password" | "" => Ok((
            "mysql_native_password".to_string(),
            wire::native_password(password, data),
        )),
        other => Err(Error::new(
            ErrorKind::Unsupported,
            at,
            format!(
                "the server asks for authentication method {other:?}; replog speaks mysql_native_password only (create the replication user with it)"
            ),
        )),
    }
}
