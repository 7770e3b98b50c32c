//! The binlog a server sends to a replica, as the binlog files it holds:
//! a [`Feed`] whose files are read by replog's own binlog reader.
//!
//! Each event packet (`00` then the event, checksum included) is handed
//! to the reader as the bytes of the file it comes from, after the magic
//! replog supplies, so positions are the server's file positions. Events
//! that are not in the file are not handed over: heartbeats, and events
//! the server makes up for the replica (the artificial flag 0x20, or a
//! next-position of 0: the fake ROTATE naming the file, a fake
//! GTID_LIST). A real ROTATE ends the file; the next file starts with
//! the next event. Each event must start where the previous one ended
//! (from its next-position minus its length): a gap is an error naming
//! both positions. The dump ends at the server's end of the binlogs
//! (non-blocking dump, without `--follow`), or, following, on a stop
//! request ([`replog_core::follow::request_stop`]).

use crate::client::Client;
use crate::url::Source;
use crate::wire;
use replog_binlog::consts::event_type as et;
use replog_binlog::files::{Bytes, Feed, FileReader};
use replog_binlog::{MAGIC, ReadOptions, StreamReader};
use replog_core::{Error, Result};
use std::io::Read;
use std::sync::{Arc, Mutex};

/// LOG_EVENT_ARTIFICIAL_F: an event the server made up for the replica.
const ARTIFICIAL: u16 = 0x20;
const HEADER_LEN: usize = 19;

/// A server's binlogs, read as a replica (see the module docs).
pub struct Dump {
    src: Source,
    password: Vec<u8>,
    follow: bool,
    conn: Option<Arc<Mutex<Conn>>>,
}

impl std::fmt::Debug for Dump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Dump")
            .field("src", &self.src)
            .field("follow", &self.follow)
            .finish_non_exhaustive()
    }
}

impl Dump {
    /// The binlogs of `src` from its file and position; with `follow`,
    /// the dump waits for the server's new events (heartbeats keep the
    /// connection checked) until a stop is requested.
    pub fn new(src: Source, password: Vec<u8>, follow: bool) -> Dump {
        Dump {
            src,
            password,
            follow,
            conn: None,
        }
    }

    fn start(&mut self) -> Result<Arc<Mutex<Conn>>> {
        let src = &self.src;
        let at = |e: Error| e.context(format!("server {}", src.display()));
        let mut c = Client::connect(src, &self.password).map_err(at)?;
        let crc = c
            .query("SELECT @@global.binlog_checksum")
            .map_err(at)?
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .is_some_and(|v| !v.eq_ignore_ascii_case("NONE"));
        c.query("SET @master_binlog_checksum = @@global.binlog_checksum")
            .map_err(at)?;
        c.query("SET @mariadb_slave_capability = 4").map_err(at)?;
        if !src.heartbeat.is_zero() {
            c.query(&format!(
                "SET @master_heartbeat_period = {}",
                src.heartbeat.as_nanos()
            ))
            .map_err(at)?;
        }
        let file = match &src.file {
            Some(f) => f.clone(),
            None => c
                .query("SHOW BINARY LOGS")
                .map_err(at)?
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .ok_or_else(|| Error::malformed(0, "the server has no binary log (is log_bin on?)"))
                .map_err(at)?,
        };
        if src.pos != 4 {
            return Err(at(Error::new(
                replog_core::ErrorKind::Unsupported,
                0,
                format!(
                    "pos={}: reading from a server starts at the beginning of a binlog file (pos=4) for now",
                    src.pos
                ),
            )));
        }
        let register = wire::com_register_slave(src.server_id, "replog", &src.user, 0);
        c.simple(&register, "registering as a replica")
            .map_err(at)?;
        let flags =
            wire::DUMP_SEND_ANNOTATE_ROWS | if self.follow { 0 } else { wire::DUMP_NON_BLOCK };
        let dump = wire::com_binlog_dump(src.pos, flags, src.server_id, &file);
        c.command(&dump).map_err(at)?;
        Ok(Arc::new(Mutex::new(Conn {
            client: c,
            server: src.display(),
            crc,
            file,
            pos: 0,
            pending: Vec::new(),
            off: 0,
            state: State::Between,
            heartbeat: None,
            next_file: None,
        })))
    }
}

impl Feed for Dump {
    fn next_file(&mut self, opts: ReadOptions) -> Result<Option<(String, FileReader)>> {
        let conn = match &self.conn {
            Some(c) => c.clone(),
            None => {
                let c = self.start()?;
                self.conn = Some(c.clone());
                c
            }
        };
        let name = {
            let mut g = conn.lock().unwrap_or_else(|p| p.into_inner());
            if g.state == State::Done {
                return Ok(None);
            }
            g.state = State::Between;
            // The first event of the file tells its name (after any fake
            // ROTATE) and that there is a file at all.
            if !g.fill().map_err(|e| g.error(e))? {
                return Ok(None);
            }
            g.file.clone()
        };
        let r = StreamReader::with_options(Bytes::Stream(Box::new(DumpFile(conn))), opts)?;
        Ok(Some((name, r)))
    }

    fn live(&self) -> bool {
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a file's first event.
    Between,
    /// Inside a file.
    InFile,
    /// After a real ROTATE: the file is over.
    FileEnded,
    /// The server ended the dump, or a stop was requested.
    Done,
}

struct Conn {
    client: Client,
    server: String,
    crc: bool,
    /// The binlog being read and the end of the last event handed over.
    file: String,
    pos: u64,
    /// The bytes to hand over next (magic and/or one event).
    pending: Vec<u8>,
    off: usize,
    state: State,
    /// The server position the last heartbeat announced.
    heartbeat: Option<(String, u64)>,
    /// The file a real ROTATE named.
    next_file: Option<String>,
}

impl Conn {
    fn error(&self, e: std::io::Error) -> Error {
        let err = if e.get_ref().is_some_and(|i| i.is::<Error>()) {
            match e.into_inner().map(|b| b.downcast::<Error>()) {
                Some(Ok(b)) => *b,
                _ => Error::malformed(0, "reading the binlog"),
            }
        } else {
            Error::io(e, "reading the binlog")
        };
        err.context(format!(
            "server {} at binlog position {}:{}",
            self.server, self.file, self.pos
        ))
    }

    /// Loads the next event to hand over; `false` at the end of the file
    /// or of the dump.
    fn fill(&mut self) -> std::io::Result<bool> {
        let io = |e: Error| std::io::Error::other(e);
        loop {
            if matches!(self.state, State::FileEnded | State::Done) {
                return Ok(false);
            }
            let Some((at, p)) = self.client.r.next_packet().map_err(io)? else {
                // Stopped (or the server went away between packets).
                self.state = State::Done;
                if replog_core::follow::stop_requested() {
                    return Ok(false);
                }
                return Err(io(Error::new(
                    replog_core::ErrorKind::UnexpectedEof { needed: 4 },
                    self.client.r.offset(),
                    "the server closed the connection",
                )));
            };
            match p.first() {
                Some(0x00) => {}
                Some(0xff) => {
                    return Err(io(wire::server_error(p, at, "reading the binlog")));
                }
                _ if wire::is_eof(p) => {
                    self.state = State::Done;
                    return Ok(false);
                }
                _ => {
                    return Err(io(Error::malformed(
                        at,
                        format!(
                            "unexpected packet (first byte {:#04x}) in the binlog dump",
                            p[0]
                        ),
                    )));
                }
            }
            let ev = &p[1..];
            if ev.len() < HEADER_LEN {
                return Err(io(Error::malformed(
                    at + 1,
                    format!("an event of {} bytes, shorter than its header", ev.len()),
                )));
            }
            let type_code = ev[4];
            let len = u64::from(u32::from_le_bytes([ev[9], ev[10], ev[11], ev[12]]));
            let next = u64::from(u32::from_le_bytes([ev[13], ev[14], ev[15], ev[16]]));
            let flags = u16::from_le_bytes([ev[17], ev[18]]);
            if len != ev.len() as u64 {
                return Err(io(Error::malformed(
                    at + 1,
                    format!("event length {len} in a packet of {} bytes", ev.len()),
                )));
            }
            let text = body(self.crc, &ev[HEADER_LEN..]);
            if type_code == et::HEARTBEAT || type_code == et::HEARTBEAT_V2 {
                let name = String::from_utf8_lossy(text).into_owned();
                self.heartbeat = Some((name, next));
                continue;
            }
            if flags & ARTIFICIAL != 0 || next == 0 {
                if type_code == et::ROTATE && text.len() > 8 {
                    // The fake ROTATE: the file the next events come from.
                    self.file = String::from_utf8_lossy(&text[8..]).into_owned();
                }
                continue;
            }
            if self.state == State::Between {
                if let Some(name) = self.next_file.take() {
                    self.file = name;
                }
            }
            let start = next.saturating_sub(len);
            let expected = if self.state == State::Between {
                4
            } else {
                self.pos
            };
            if start != expected {
                return Err(io(Error::new(
                    replog_core::ErrorKind::Discontinuity,
                    at + 1,
                    format!(
                        "the server sent an event at {}:{start} where {}:{expected} was expected",
                        self.file, self.file
                    ),
                )));
            }
            self.pending.clear();
            self.off = 0;
            if self.state == State::Between {
                self.pending.extend_from_slice(&MAGIC);
                self.state = State::InFile;
            }
            self.pending.extend_from_slice(ev);
            self.pos = next;
            if type_code == et::ROTATE {
                if text.len() > 8 {
                    self.next_file = Some(String::from_utf8_lossy(&text[8..]).into_owned());
                }
                self.state = State::FileEnded;
            }
            return Ok(true);
        }
    }
}

/// An event body without its checksum.
fn body(crc: bool, body: &[u8]) -> &[u8] {
    if crc && body.len() >= 4 {
        &body[..body.len() - 4]
    } else {
        body
    }
}

/// One binlog file of the dump, as bytes.
struct DumpFile(Arc<Mutex<Conn>>);

impl Read for DumpFile {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if g.off >= g.pending.len() && !g.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(g.pending.len() - g.off);
        buf[..n].copy_from_slice(&g.pending[g.off..g.off + n]);
        g.off += n;
        Ok(n)
    }
}
